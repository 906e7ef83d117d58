/* cmd: command dispatch. Every command from a client (or from EXEC, or a
 * retried blocked command) goes through cmd_call, which is therefore the
 * one place that counts statistics, signals WATCH/blocked clients for the
 * keys a write touched, and hands the write to the propagation hook. */
#include "cmd.h"
#include "blocking.h"
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "evict.h"
#include "log.h"
#include "mem.h"
#include "multi.h"
#include "reply.h"
#include "server.h"
#include "slowlog.h"
#include "util.h"
#include <stdio.h>
#include <string.h>

/* Binding arrays exported by the command modules. */
extern const cmd_binding string_commands[], bitmap_commands[], hll_commands[],
    list_commands[], hash_commands[], set_commands[], zset_commands[],
    keys_commands[], server_commands[], client_commands[], pubsub_commands[],
    multi_commands[], conn_commands[], slowlog_commands[], info_commands[], sort_commands[], dump_commands[],
    cluster_commands[];

static const cmd_binding *const all_bindings[] = {
    string_commands, bitmap_commands, hll_commands, list_commands,
    hash_commands, set_commands, zset_commands, keys_commands,
    server_commands, client_commands, pubsub_commands, multi_commands,
    conn_commands, slowlog_commands, info_commands, sort_commands, dump_commands,
    cluster_commands, NULL,
};

static cmd_handler *handlers;   /* indexed by cmd_meta id */
static cmd_stats *stats;
static propagate_hook prop_hook;
static int keys_signaled;   /* the handler signalled its changed keys itself */
static long long propagated;
static owned_cmd prop_override;
static int has_override;

void cmd_init(void)
{
    int n = cmd_count_all();
    handlers = xcalloc((size_t)n, sizeof(*handlers));
    stats = xcalloc((size_t)n, sizeof(*stats));
    for (int b = 0; all_bindings[b]; b++) {
        for (const cmd_binding *cb = all_bindings[b]; cb->name; cb++) {
            const char *bar = strchr(cb->name, '|');
            const cmd_meta *m;
            if (bar) {
                const cmd_meta *parent = cmd_lookup(cb->name, (size_t)(bar - cb->name));
                m = parent ? cmd_lookup_sub(parent, bar + 1, strlen(bar + 1)) : NULL;
            } else {
                m = cmd_lookup(cb->name, strlen(cb->name));
            }
            if (!m) {
                log_warning("command table has no entry for '%s'", cb->name);
                continue;
            }
            handlers[m->id] = cb->fn;
        }
    }
}

cmd_handler cmd_handler_of(const cmd_meta *m) { return m ? handlers[m->id] : NULL; }
cmd_stats *cmd_stats_of(const cmd_meta *m) { return &stats[m->id]; }
void cmd_stats_reset(void) { memset(stats, 0, sizeof(*stats) * (size_t)cmd_count_all()); }
void cmd_set_propagate_hook(propagate_hook h) { prop_hook = h; }
long long cmd_propagated_count(void) { return propagated; }

static void fill_owned(owned_cmd *o, int argc, const char **argv, const size_t *argvlen)
{
    owned_cmd_free(o);
    o->argc = argc;
    o->argv = xmalloc(sizeof(char *) * (size_t)(argc ? argc : 1));
    o->argvlen = xmalloc(sizeof(size_t) * (size_t)(argc ? argc : 1));
    for (int i = 0; i < argc; i++) {
        o->argv[i] = xmemdup(argv[i], argvlen[i]);
        o->argvlen[i] = argvlen[i];
    }
}

void cmd_rewrite_propagated(client *c, int argc, const char **argv, const size_t *argvlen)
{
    fill_owned(&prop_override, argc, argv, argvlen);
    has_override = 1;
}

void cmd_also_propagate(int dbid, int argc, const char **argv, const size_t *argvlen)
{
    propagated++;
    if (prop_hook) prop_hook(dbid, argc, argv, argvlen);
}

/* Unknown command text, Redis style: the name, then the first args
 * quoted; the quoted list stops growing once it reaches 128 bytes and
 * each arg is cut to what is left of those 128. */
static void reply_unknown(client *c)
{
    char args[300];
    size_t al = 0;
    args[0] = 0;
    for (int i = 1; i < c->argc && al < 128; i++) {
        int room = 128 - (int)al;
        int take = (int)ARGLEN(c, i) < room ? (int)ARGLEN(c, i) : room;
        al += (size_t)snprintf(args + al, sizeof(args) - al, "'%.*s' ", take, ARG(c, i));
    }
    char msg[512];
    snprintf(msg, sizeof(msg), "ERR unknown command '%.*s', with args beginning with: %s",
             (int)(ARGLEN(c, 0) > 128 ? 128 : ARGLEN(c, 0)), ARG(c, 0), args);
    reply_error(c, msg);
}

static int is_cmd(const cmd_meta *m, const char *name) { return strcmp(m->name, name) == 0; }

/* Commands allowed while a RESP2 client is in subscriber mode. */
static int allowed_in_pubsub(const cmd_meta *m)
{
    static const char *ok[] = {"ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                               "psubscribe", "punsubscribe", "quit", "reset", NULL};
    const cmd_meta *top = m->parent ? m->parent : m;
    for (int i = 0; ok[i]; i++)
        if (is_cmd(top, ok[i])) return 1;
    return 0;
}

static void flag_exec_error(client *c)
{
    if (c->flags & CLIENT_MULTI) c->flags |= CLIENT_DIRTY_EXEC;
}

/* A command refused before running. A refused EXEC ends the transaction
 * (Redis: "EXECABORT Transaction discarded because of: <reason>"). */
static void reject(client *c, const cmd_meta *m, const char *msg)
{
    if (m) stats[m->id].rejected++;
    if (m && is_cmd(m, "exec")) {   /* even outside MULTI, as Redis */
        multi_reset(c);
        multi_unwatch_all(c);
        reply_errorf(c, "EXECABORT Transaction discarded because of: %s", strncmp(msg, "ERR ", 4) ? msg : msg + 4);
        return;
    }
    flag_exec_error(c);
    reply_error(c, msg);
}

/* CLIENT PAUSE WRITE holds writes, and an EXEC whose queue has one. */
static int is_write_like(client *c, const cmd_meta *m)
{
    if (m->flags & (CMD_F_WRITE | CMD_F_MAY_REPLICATE)) return 1;
    if (is_cmd(m, "exec"))
        for (int i = 0; i < c->mcount; i++)
            if (c->mqueue[i].cmd->flags & (CMD_F_WRITE | CMD_F_MAY_REPLICATE)) return 1;
    return 0;
}

int cmd_process(client *c)
{
    if (c->argc == 0) return 0;
    const cmd_meta *m = cmd_lookup(ARG(c, 0), ARGLEN(c, 0));
    if (!m || (!handlers[m->id] && m->subcmds_n == 0)) {
        flag_exec_error(c);
        reply_unknown(c);
        return 0;
    }
    if (m->subcmds_n > 0 && c->argc >= 2) {
        const cmd_meta *sub = cmd_lookup_sub(m, ARG(c, 1), ARGLEN(c, 1));
        if (!sub || !handlers[sub->id]) {
            char msg[300], up[64];
            size_t k;
            for (k = 0; m->name[k] && k < sizeof(up) - 1; k++) up[k] = (char)(m->name[k] >= 'a' && m->name[k] <= 'z' ? m->name[k] - 32 : m->name[k]);
            up[k] = 0;
            snprintf(msg, sizeof(msg), "ERR unknown subcommand '%.*s'. Try %s HELP.",
                     (int)(ARGLEN(c, 1) > 128 ? 128 : ARGLEN(c, 1)), ARG(c, 1), up);
            flag_exec_error(c);
            reply_error(c, msg);
            return 0;
        }
        m = sub;
    }
    c->cmd = m;
    if ((m->arity > 0 && c->argc != m->arity) || c->argc < -m->arity) {
        char msg[160], name[96];
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command",
                 cmd_fullname(m, name, sizeof(name)));
        reject(c, m, msg);
        return 0;
    }
    if (cfg.requirepass && *cfg.requirepass && !(c->flags & CLIENT_AUTHENTICATED) &&
        !(m->flags & CMD_F_NO_AUTH)) {
        reject(c, m, "NOAUTH Authentication required.");
        return 0;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->proto == 2 && !allowed_in_pubsub(m)) {
        char msg[256], name[96];
        snprintf(msg, sizeof(msg), "ERR Can't execute '%s': only (P|S)SUBSCRIBE / "
                 "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                 cmd_fullname(m, name, sizeof(name)));
        reject(c, m, msg);
        return 0;
    }
    if (cluster) {
        /* §13: run here, or MOVED/ASK/CROSSSLOT/TRYAGAIN/CLUSTERDOWN. */
        int slot = 0, code = REDIR_NONE;
        cluster_node *n = cluster_get_node_by_query(c, m, c->argc, c->argv, c->argvlen, &slot, &code);
        if (code != REDIR_NONE) {
            stats[m->id].rejected++;
            if (is_cmd(m, "exec") && (c->flags & CLIENT_MULTI)) {
                multi_reset(c);
                multi_unwatch_all(c);
            } else {
                flag_exec_error(c);
            }
            cluster_reply_redirect(c, n, slot, code);
            if (!(c->flags & CLIENT_MULTI) && !is_cmd(m, "asking")) c->flags &= ~CLIENT_ASKING;
            return 0;
        }
    }
    if (c->flags & CLIENT_MULTI) {
        const cmd_meta *top = m->parent ? m->parent : m;
        if (!is_cmd(top, "exec") && !is_cmd(top, "discard") && !is_cmd(top, "multi") &&
            !is_cmd(top, "watch") && !is_cmd(top, "quit") && !is_cmd(top, "reset")) {
            if (m->flags & CMD_F_NO_MULTI) {
                reject(c, m, "ERR Command not allowed inside a transaction");
                return 0;
            }
            if ((m->flags & CMD_F_DENYOOM) && cfg.maxmemory && evict_free_memory() < 0) {
                reject(c, m, "OOM command not allowed when used memory > 'maxmemory'.");
                return 0;
            }
            multi_queue(c);
            return 0;
        }
    }
    if ((m->flags & CMD_F_DENYOOM) && cfg.maxmemory && evict_free_memory() < 0) {
        reject(c, m, "OOM command not allowed when used memory > 'maxmemory'.");
        return 0;
    }
    if (srv.pause_end_ms > srv.now_ms && !(c->flags & CLIENT_EXECUTING) &&
        (srv.pause_all || is_write_like(c, m))) {
        /* CLIENT PAUSE: hold the client; the cron resumes it. */
        client_own_argv(c, &c->owned);
        c->flags |= CLIENT_PAUSED;
        return -1;
    }
    cmd_call(c);
    /* ASKING is good for one command (the whole MULTI if inside one). */
    if (!(c->flags & CLIENT_MULTI) && !is_cmd(m, "asking")) c->flags &= ~CLIENT_ASKING;
    if (c->flags & (CLIENT_BLOCKED | CLIENT_CLOSE_ASAP)) return -1;
    return 0;
}

/* Keys of a write that changed data: wake WATCHers and blocked clients.
 * Keys the command only reads (SORT's source, ZUNIONSTORE's inputs) are
 * skipped: nothing changed there. */
static void signal_keys(client *c)
{
    cmd_keyref refs[64], *r = refs;
    int n = cmd_get_keys_ex(c->cmd, c->argc, c->argv, c->argvlen, 0, refs, 64);
    if (n > 64) {
        r = xmalloc(sizeof(cmd_keyref) * (size_t)n);
        n = cmd_get_keys_ex(c->cmd, c->argc, c->argv, c->argvlen, 0, r, n);
    }
    for (int i = 0; i < n; i++) {
        if ((r[i].flags & (CMD_KS_RO | CMD_KS_RW | CMD_KS_OW | CMD_KS_RM)) == CMD_KS_RO) continue;
        db_signal_modified(c->db, ARG(c, r[i].pos), ARGLEN(c, r[i].pos));
    }
    if (r != refs) xfree(r);
}

void cmd_keys_signaled(client *c) { keys_signaled = 1; }

void cmd_call(client *c)
{
    const cmd_meta *m = c->cmd;
    long long dirty0 = srv.dirty, errs0 = srv.stat.error_replies;
    int dbid = c->db->id;
    client *prev = srv.current;
    srv.current = c;
    has_override = 0;
    keys_signaled = 0;
    c->lastcmd = m;
    long long t0 = mono_us();
    handlers[m->id](c);
    long long dur = mono_us() - t0;
    srv.current = prev;

    cmd_stats *st = &stats[m->id];
    if (!(c->flags & CLIENT_BLOCKED)) {
        st->calls++;
        st->usec += dur;
        if (srv.stat.error_replies != errs0) st->failed++;
    }
    srv.stat.commands++;
    if (srv.dirty != dirty0) {
        /* Only worth finding the keys when someone waits on or watches one. */
        if (!keys_signaled && (multi_watched_key_count() || blocking_key_count())) signal_keys(c);
        if (m->flags & CMD_F_WRITE || has_override) {
            propagated++;
            if (prop_hook) {
                if (has_override)
                    prop_hook(dbid, prop_override.argc, (const char **)prop_override.argv, prop_override.argvlen);
                else
                    prop_hook(dbid, c->argc, c->argv, c->argvlen);
            }
        }
    }
    if (has_override) {
        owned_cmd_free(&prop_override);
        has_override = 0;
    }
    if (cfg.slowlog_log_slower_than >= 0 && dur >= cfg.slowlog_log_slower_than &&
        !(m->flags & CMD_F_SKIP_SLOWLOG) && !(c->flags & CLIENT_BLOCKED))
        slowlog_push(c, c->argc, c->argv, c->argvlen, dur);
    if (!(c->flags & CLIENT_EXECUTING)) blocking_serve_ready();
}
