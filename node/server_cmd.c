/* server_cmd: server administration — CONFIG, DBSIZE, FLUSHDB/FLUSHALL,
 * SWAPDB, TIME, LASTSAVE, COMMAND, MEMORY, DEBUG, SHUTDOWN. */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "errstats.h"
#include "mem.h"
#include "multi.h"
#include "obj.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- CONFIG --------------------------------------------------------- */

typedef struct cfg_emit { client *c; long long n; } cfg_emit;

static void emit_pair(void *ctx, const char *name, const char *value)
{
    cfg_emit *e = ctx;
    reply_bulk_cstr(e->c, name);
    reply_bulk_cstr(e->c, value);
    e->n++;
}

static void config_get_cmd(client *c)
{
    cfg_emit e = {c, 0};
    size_t mark = reply_defer(c);
    config_get_multi(c->argc - 2, c->argv + 2, c->argvlen + 2, emit_pair, &e);
    reply_defer_set(c, mark, '%', e.n);
}

static void config_set_cmd(client *c)
{
    char err[512];
    int n = c->argc - 2;
    if (n % 2) {
        reply_syntax_err(c);
        return;
    }
    const char **names = xmalloc(sizeof(char *) * (size_t)n);
    const char **vals = xmalloc(sizeof(char *) * (size_t)n);
    size_t *nl = xmalloc(sizeof(size_t) * (size_t)n), *vl = xmalloc(sizeof(size_t) * (size_t)n);
    for (int i = 0; i < n / 2; i++) {
        names[i] = ARG(c, 2 + 2 * i);
        nl[i] = ARGLEN(c, 2 + 2 * i);
        vals[i] = ARG(c, 3 + 2 * i);
        vl[i] = ARGLEN(c, 3 + 2 * i);
    }
    if (config_set_multi(n / 2, names, nl, vals, vl, err, sizeof(err)) < 0) reply_error(c, err);
    else reply_ok(c);
    xfree(names);
    xfree(vals);
    xfree(nl);
    xfree(vl);
}

static void config_resetstat_cmd(client *c)
{
    memset(&srv.stat, 0, sizeof(srv.stat));
    cmd_stats_reset();
    errstats_reset();
    srv.peak_memory = mem_used();
    reply_ok(c);
}

static void config_rewrite_cmd(client *c)
{
    if (!cfg.config_file) reply_error(c, "ERR The server is running without a config file");
    else reply_error(c, "ERR CONFIG REWRITE is not supported: Shoal's config file is YAML, edit it directly");
}

static void help_reply(client *c, const char *const *lines, int n)
{
    reply_array(c, n);
    for (int i = 0; i < n; i++) reply_status(c, lines[i]);
}

static void config_help_cmd(client *c)
{
    static const char *const l[] = {
        "CONFIG <subcommand> [<arg> ...]. Subcommands:",
        "GET <pattern> [<pattern> ...] -- parameters matching the glob patterns, with values.",
        "SET <name> <value> [<name> <value> ...] -- change runtime parameters, all or none.",
        "RESETSTAT -- zero the statistics INFO reports.",
        "REWRITE -- not supported (the config file is YAML).",
        "HELP -- this text.",
    };
    help_reply(c, l, 6);
}

/* ---- keyspace-wide -------------------------------------------------- */

static void dbsize_cmd(client *c) { reply_int(c, (long long)db_size(c->db)); }

static int flush_args(client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(ARG(c, 1), ARGLEN(c, 1), "SYNC") &&
                        !arg_is(ARG(c, 1), ARGLEN(c, 1), "ASYNC"))) {
        reply_syntax_err(c);
        return -1;
    }
    return 0;
}

/* ASYNC is accepted; the flush itself is synchronous (documented). */
static void flushdb_cmd(client *c)
{
    if (flush_args(c) < 0) return;
    srv.dirty += (long long)db_size(c->db) + 1;
    db_flush(c->db);
    reply_ok(c);
}

static void flushall_cmd(client *c)
{
    if (flush_args(c) < 0) return;
    for (int i = 0; i < db_count(); i++) {
        srv.dirty += (long long)db_size(db_get(i));
        db_flush(db_get(i));
    }
    srv.dirty++;
    reply_ok(c);
}

/* Clients blocked on keys of d stay with d's index when the keyspaces
 * are swapped: the keys they wait for may exist now, so signal those
 * (Redis does the same scan after SWAPDB). */
static void wake_blocked_after_swap(db *d)
{
    if (!d->blocking || !kvt_size(d->blocking)) return;
    size_t n = 0, cap = kvt_size(d->blocking);
    char **keys = xmalloc(sizeof(char *) * cap);
    size_t *lens = xmalloc(sizeof(size_t) * cap);
    kvt_iter it;
    kvt_iter_init(&it, d->blocking);
    for (kv *e; (e = kvt_iter_next(&it)) && n < cap;) {
        if (!db_peek(d, e->key, e->klen)) continue;
        keys[n] = xmemdup(e->key, e->klen);
        lens[n++] = e->klen;
    }
    /* Signal after the walk: serving may change d->blocking. */
    for (size_t i = 0; i < n; i++) {
        db_signal_modified(d, keys[i], lens[i]);
        xfree(keys[i]);
    }
    xfree(keys);
    xfree(lens);
}

static void swapdb_cmd(client *c)
{
    long long a, b;
    if (cfg.cluster_enabled) {
        reply_error(c, "ERR SWAPDB is not allowed in cluster mode");
        return;
    }
    if (!str_to_ll(ARG(c, 1), ARGLEN(c, 1), &a) || a < INT32_MIN || a > INT32_MAX) {
        reply_error(c, "ERR invalid first DB index");
        return;
    }
    if (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &b) || b < INT32_MIN || b > INT32_MAX) {
        reply_error(c, "ERR invalid second DB index");
        return;
    }
    if (!db_get((int)a) || !db_get((int)b)) {
        reply_error(c, ERR_BAD_DB);
        return;
    }
    if (a != b) {
        db_swap((int)a, (int)b);
        wake_blocked_after_swap(db_get((int)a));
        wake_blocked_after_swap(db_get((int)b));
    }
    srv.dirty++;
    reply_ok(c);
}

static void time_cmd(client *c)
{
    long long us = time_us();
    reply_array(c, 2);
    reply_bulk_ll(c, us / 1000000);
    reply_bulk_ll(c, us % 1000000);
}

static void lastsave_cmd(client *c) { reply_int(c, srv.lastsave); }

static void shutdown_cmd(client *c)
{
    int nosave = 0, save = 0, abort_ = 0, other = 0;
    for (int i = 1; i < c->argc; i++) {
        const char *a = ARG(c, i);
        size_t l = ARGLEN(c, i);
        if (arg_is(a, l, "NOSAVE")) nosave = 1;
        else if (arg_is(a, l, "SAVE")) save = 1;
        else if (arg_is(a, l, "NOW") || arg_is(a, l, "FORCE")) other = 1;
        else if (arg_is(a, l, "ABORT")) abort_ = 1;
        else {
            reply_syntax_err(c);
            return;
        }
    }
    /* ABORT takes no other flag, and SAVE contradicts NOSAVE (Redis rule). */
    if ((abort_ && (nosave || save || other)) || (nosave && save)) {
        reply_syntax_err(c);
        return;
    }
    if (abort_) {
        reply_error(c, "ERR No shutdown in progress.");
        return;
    }
    /* Nothing to save yet (no persistence): stop now. The client gets no
     * reply, as with Redis (the connection just closes). */
    server_shutdown();
}

/* ---- COMMAND -------------------------------------------------------- */

/* The cmdtable writers append to the output buffer directly: a client
 * with CLIENT REPLY OFF/SKIP must not get those bytes. reply_array() or
 * reply_defer() has already queued the client for writing. */
static buf_t *raw_out(client *c)
{
    static buf_t sink;
    if (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) {
        sink.len = 0;
        return &sink;
    }
    return &c->obuf;
}

static int implemented(const cmd_meta *m)
{
    if (cmd_handler_of(m)) return 1;
    for (int i = 0; i < m->subcmds_n; i++)
        if (cmd_handler_of(&m->subcmds[i])) return 1;
    return 0;
}

static void command_cmd(client *c)
{
    size_t mark = reply_defer(c);
    long long n = 0;
    for (int i = 0; i < cmd_table_len; i++) {
        if (!implemented(&cmd_table[i])) continue;
        cmd_write_info(raw_out(c), c->proto, &cmd_table[i]);
        n++;
    }
    reply_defer_set(c, mark, '*', n);
}

static void command_count_cmd(client *c)
{
    long long n = 0;
    for (int i = 0; i < cmd_table_len; i++) n += implemented(&cmd_table[i]);
    reply_int(c, n);
}

static void command_info_cmd(client *c)
{
    if (c->argc == 2) {
        command_cmd(c);
        return;
    }
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const cmd_meta *m = cmd_lookup_full(ARG(c, i), ARGLEN(c, i));
        if (m && implemented(m)) cmd_write_info(raw_out(c), c->proto, m);
        else reply_null(c); /* Redis 7.0 sends a null bulk here, not a null array */
    }
}

static void command_docs_cmd(client *c)
{
    size_t mark = reply_defer(c);
    long long n = 0;
    if (c->argc == 2) {
        for (int i = 0; i < cmd_table_len; i++) {
            if (!implemented(&cmd_table[i])) continue;
            cmd_write_docs(raw_out(c), c->proto, &cmd_table[i]);
            n++;
        }
    } else {
        for (int i = 2; i < c->argc; i++) {
            const cmd_meta *m = cmd_lookup_full(ARG(c, i), ARGLEN(c, i));
            if (!m || !implemented(m)) continue;
            cmd_write_docs(raw_out(c), c->proto, m);
            n++;
        }
    }
    reply_defer_set(c, mark, '%', n);
}

/* 1 if the command can take keys at all: a key spec that finds real keys
 * (not only NOT_KEY channels) or a dedicated key scanner. */
static int has_key_args(const cmd_meta *m)
{
    if (m->getkeys != CMD_GK_SPECS) return 1;
    for (int i = 0; i < m->key_specs_n; i++)
        if (!(m->key_specs[i].flags & CMD_KS_NOT_KEY)) return 1;
    return 0;
}

/* Resolves the command named in argv[2..] for GETKEYS, with Redis's checks
 * in Redis's order; replies on error. */
static const cmd_meta *getkeys_target(client *c)
{
    const cmd_meta *m = cmd_lookup(ARG(c, 2), ARGLEN(c, 2));
    if (m && m->subcmds_n && c->argc > 3) m = cmd_lookup_sub(m, ARG(c, 3), ARGLEN(c, 3));
    if (!m) {
        reply_error(c, "ERR Invalid command specified");
        return NULL;
    }
    if (!has_key_args(m)) {
        reply_error(c, "ERR The command has no key arguments");
        return NULL;
    }
    if (!cmd_arity_ok(m, c->argc - 2)) {
        reply_error(c, "ERR Invalid number of arguments specified for command");
        return NULL;
    }
    return m;
}

static void command_getkeys_generic(client *c, int with_flags)
{
    const cmd_meta *m = getkeys_target(c);
    if (!m) return;
    cmd_keyref small[64], *refs = small;
    int n = cmd_get_keys_ex(m, c->argc - 2, c->argv + 2, c->argvlen + 2, 0, refs, 64);
    if (n > 64) {
        refs = xmalloc(sizeof(cmd_keyref) * (size_t)n);
        n = cmd_get_keys_ex(m, c->argc - 2, c->argv + 2, c->argvlen + 2, 0, refs, n);
    }
    if (n <= 0) {
        /* No keys found: fine for commands whose keys are optional (EVAL
         * with numkeys 0), malformed arguments for the others. */
        if (m->flags & CMD_F_NO_MANDATORY_KEYS) reply_empty_array(c);
        else reply_error(c, "ERR Invalid arguments specified for command");
    } else {
        reply_array(c, n);
        for (int i = 0; i < n; i++) {
            if (with_flags) {
                reply_array(c, 2);
                reply_bulk(c, ARG(c, 2 + refs[i].pos), ARGLEN(c, 2 + refs[i].pos));
                cmd_write_keyspec_flags(raw_out(c), c->proto, refs[i].flags);
            } else {
                reply_bulk(c, ARG(c, 2 + refs[i].pos), ARGLEN(c, 2 + refs[i].pos));
            }
        }
    }
    if (refs != small) xfree(refs);
}

static void command_getkeys_cmd(client *c) { command_getkeys_generic(c, 0); }
static void command_getkeysandflags_cmd(client *c) { command_getkeys_generic(c, 1); }

static void list_one(client *c, const cmd_meta *m, int filter, const char *arg, size_t alen, long long *n)
{
    char name[96];
    cmd_fullname(m, name, sizeof(name));
    if (!implemented(m)) return;
    int ok = 1;
    if (filter == 1) ok = glob_match(arg, alen, name, strlen(name), 1);
    else if (filter == 2) {
        int cat = cmd_acl_cat_lookup(arg, alen);
        ok = cat >= 0 && (m->acl & (1u << cat));
    } else if (filter == 3) ok = 0; /* MODULE: no modules */
    if (ok) {
        reply_bulk_cstr(c, name);
        (*n)++;
    }
}

static void command_list_cmd(client *c)
{
    int filter = 0;
    const char *arg = NULL;
    size_t alen = 0;
    if (c->argc == 5 && arg_is(ARG(c, 2), ARGLEN(c, 2), "FILTERBY")) {
        if (arg_is(ARG(c, 3), ARGLEN(c, 3), "PATTERN")) filter = 1;
        else if (arg_is(ARG(c, 3), ARGLEN(c, 3), "ACLCAT")) filter = 2;
        else if (arg_is(ARG(c, 3), ARGLEN(c, 3), "MODULE")) filter = 3;
        arg = ARG(c, 4);
        alen = ARGLEN(c, 4);
    }
    if (c->argc != 2 && !filter) {
        reply_syntax_err(c);
        return;
    }
    size_t mark = reply_defer(c);
    long long n = 0;
    for (int i = 0; i < cmd_table_len; i++) {
        list_one(c, &cmd_table[i], filter, arg, alen, &n);
        for (int k = 0; k < cmd_table[i].subcmds_n; k++) list_one(c, &cmd_table[i].subcmds[k], filter, arg, alen, &n);
    }
    reply_defer_set(c, mark, '*', n);
}

static void command_help_cmd(client *c)
{
    static const char *const l[] = {
        "COMMAND <subcommand> [<arg> ...]. Subcommands:",
        "(no subcommand) -- details of every command.",
        "COUNT -- number of commands.",
        "INFO [<command-name> ...] -- details of the named commands.",
        "DOCS [<command-name> ...] -- documentation facts (group, since) of commands.",
        "GETKEYS <full-command> -- the key arguments of a full command line.",
        "GETKEYSANDFLAGS <full-command> -- the same, with key-spec flags.",
        "LIST [FILTERBY (MODULE <name>|ACLCAT <cat>|PATTERN <glob>)] -- command names.",
        "HELP -- this text.",
    };
    help_reply(c, l, 9);
}

/* ---- MEMORY --------------------------------------------------------- */

static void memory_usage_cmd(client *c)
{
    /* SAMPLES only bounds how much of a big value Redis inspects; Shoal's
     * sizes are exact, so the count is validated and then unused. */
    for (int i = 3; i < c->argc; i++) {
        long long samples;
        if (arg_is(ARG(c, i), ARGLEN(c, i), "SAMPLES") && i + 1 < c->argc) {
            if (arg_ll(c, i + 1, &samples) < 0) return;
            if (samples < 0) {
                reply_syntax_err(c);
                return;
            }
            i++;
        } else {
            reply_syntax_err(c);
            return;
        }
    }
    kv *e = db_lookup_write(c->db, ARG(c, 2), ARGLEN(c, 2));
    if (!e) {
        reply_null(c);
        return;
    }
    size_t n = db_entry_size(c->db, e) + obj_ops(e->type)->mem_usage(e->enc, e->val);
    reply_int(c, (long long)n);
}

static void memory_stats_cmd(client *c)
{
    reply_map(c, 4);
    reply_bulk_cstr(c, "peak.allocated");
    reply_int(c, (long long)srv.peak_memory);
    reply_bulk_cstr(c, "total.allocated");
    reply_int(c, (long long)mem_used());
    reply_bulk_cstr(c, "keys.count");
    long long keys = 0;
    for (int i = 0; i < db_count(); i++) keys += (long long)db_size(db_get(i));
    reply_int(c, keys);
    reply_bulk_cstr(c, "rss");
    reply_int(c, (long long)mem_rss());
}

static void memory_doctor_cmd(client *c) { reply_verbatim(c, "Sam, I have no memory problems", 30); }
static void memory_purge_cmd(client *c) { reply_ok(c); }
static void memory_malloc_stats_cmd(client *c) { reply_verbatim(c, "Stats not supported for the current allocator", 45); }

static void memory_help_cmd(client *c)
{
    static const char *const l[] = {
        "MEMORY <subcommand> [<arg> ...]. Subcommands:",
        "USAGE <key> [SAMPLES <count>] -- bytes used by a key and its value.",
        "STATS -- memory figures of the server.",
        "DOCTOR, MALLOC-STATS, PURGE -- accepted for compatibility.",
        "HELP -- this text.",
    };
    help_reply(c, l, 5);
}

/* ---- DEBUG ---------------------------------------------------------- */

static void debug_cmd(client *c)
{
    if (c->argc >= 3 && arg_is(ARG(c, 1), ARGLEN(c, 1), "SLEEP")) {
        /* Redis reads the seconds with strtod and ignores junk: "abc" is 0. */
        double secs = 0;
        if (!str_to_double(ARG(c, 2), ARGLEN(c, 2), &secs) || secs != secs) secs = 0;
        if (secs > 3600) secs = 3600;
        struct timespec ts = {(time_t)secs, (long)((secs - (long long)secs) * 1e9)};
        if (secs > 0) nanosleep(&ts, NULL);
        reply_ok(c);
    } else if (c->argc >= 3 && c->argc <= 5 && arg_is(ARG(c, 1), ARGLEN(c, 1), "POPULATE")) {
        long long count, size = 0;
        const char *prefix = "key";
        size_t plen = 3;
        static const char *const not_pos = "ERR value is out of range, must be positive";
        if (arg_ll_range(c, 2, 0, LLONG_MAX, &count, not_pos) < 0) return;
        if (c->argc >= 4) {
            prefix = ARG(c, 3);
            plen = ARGLEN(c, 3);
        }
        if (c->argc >= 5 && arg_ll_range(c, 4, 0, 512LL * 1024 * 1024, &size, not_pos) < 0) return;
        char key[256], val[128];
        long long added = 0;
        for (long long i = 0; i < count; i++) {
            int kl = snprintf(key, sizeof(key), "%.*s:%lld", (int)(plen > 200 ? 200 : plen), prefix, i);
            if (db_lookup_write(c->db, key, (size_t)kl)) continue; /* existing keys are kept */
            int vl = snprintf(val, sizeof(val), "value:%lld", i);
            kv *e = db_add(c->db, key, (size_t)kl, OBJ_STRING, OBJ_ENC_RAW, NULL);
            if (size > 0) {
                /* "value:N" cut or zero-padded to exactly size bytes, as Redis. */
                sstr *s = sstr_new_len((size_t)size);
                memcpy(s->data, val, (size_t)vl < (size_t)size ? (size_t)vl : (size_t)size);
                e->val = s;
            } else {
                str_set_value(e, val, (size_t)vl);
            }
            added++;
        }
        srv.dirty += added;
        reply_ok(c);
    } else if (c->argc == 3 && arg_is(ARG(c, 1), ARGLEN(c, 1), "SET-ACTIVE-EXPIRE")) {
        srv.active_expire_disabled = !(ARGLEN(c, 2) == 1 && ARG(c, 2)[0] == '1');
        reply_ok(c);
    } else if (c->argc == 3 && arg_is(ARG(c, 1), ARGLEN(c, 1), "OBJECT")) {
        kv *e = db_lookup_write(c->db, ARG(c, 2), ARGLEN(c, 2));
        if (!e) {
            reply_error(c, ERR_NO_KEY);
            return;
        }
        char line[256];
        snprintf(line, sizeof(line), "Value at:%p refcount:1 encoding:%s serializedlength:0 lru:%u lru_seconds_idle:0",
                 (void *)e, obj_ops(e->type)->enc_name(e->enc, e->val), (unsigned)e->lru);
        reply_status(c, line);
    } else if (c->argc == 2 && arg_is(ARG(c, 1), ARGLEN(c, 1), "HELP")) {
        static const char *const l[] = {
            "DEBUG <subcommand> [<arg> ...]. Subcommands:",
            "SLEEP <seconds> -- block the server for a while.",
            "POPULATE <count> [<prefix>] [<size>] -- create count string keys prefix:N.",
            "OBJECT <key> -- low-level details of a key.",
            "SET-ACTIVE-EXPIRE <0|1> -- switch the active expiry cycle off or on.",
            "HELP -- this text.",
        };
        help_reply(c, l, 6);
    } else {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try DEBUG HELP.",
                     (int)(c->argc > 1 ? ARGLEN(c, 1) : 0), c->argc > 1 ? ARG(c, 1) : "");
    }
}

const cmd_binding server_commands[] = {
    {"config|get", config_get_cmd},
    {"config|set", config_set_cmd},
    {"config|resetstat", config_resetstat_cmd},
    {"config|rewrite", config_rewrite_cmd},
    {"config|help", config_help_cmd},
    {"dbsize", dbsize_cmd},
    {"flushdb", flushdb_cmd},
    {"flushall", flushall_cmd},
    {"swapdb", swapdb_cmd},
    {"time", time_cmd},
    {"lastsave", lastsave_cmd},
    {"shutdown", shutdown_cmd},
    {"command", command_cmd},
    {"command|count", command_count_cmd},
    {"command|info", command_info_cmd},
    {"command|docs", command_docs_cmd},
    {"command|getkeys", command_getkeys_cmd},
    {"command|getkeysandflags", command_getkeysandflags_cmd},
    {"command|list", command_list_cmd},
    {"command|help", command_help_cmd},
    {"memory|usage", memory_usage_cmd},
    {"memory|stats", memory_stats_cmd},
    {"memory|doctor", memory_doctor_cmd},
    {"memory|purge", memory_purge_cmd},
    {"memory|malloc-stats", memory_malloc_stats_cmd},
    {"memory|help", memory_help_cmd},
    {"debug", debug_cmd},
    {NULL, NULL},
};
