/* cmd_local: commands shoal-proxy answers itself (see cmd_local.h). Error
 * texts are Redis 7.0's: clients and tests match on them. */
#include "cmd_local.h"
#include "backend.h"
#include "log.h"
#include "mem.h"
#include "router.h"
#include "slot.h"
#include "util.h"
#include "worker.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#define PROXY_VERSION "0.1.0"
#define REDIS_VERSION "7.0.15"

#define ARG(i) cmd->argv[i]
#define LEN(i) cmd->argvlen[i]
#define IS(i, w) arg_is(cmd->argv[i], cmd->argvlen[i], w)

static void err(buf_t *out, const char *msg) { resp_w_error_cstr(out, msg); }
static void ok(buf_t *out) { buf_append(out, "+OK\r\n", 5); }

/* The address this client reached us on: what CLUSTER SLOTS & co. announce. */
static void my_ip(const proxy_client *c, char *ip, size_t cap)
{
    const char *colon = strrchr(c->laddr, ':');
    size_t n = colon ? (size_t)(colon - c->laddr) : 0;
    if (!n || n >= cap) {
        snprintf(ip, cap, "127.0.0.1");
        return;
    }
    memcpy(ip, c->laddr, n);
    ip[n] = 0;
}

static int my_port(const proxy_client *c)
{
    return (int)psrv.boot_cfg->port;
}

/* ---- AUTH / HELLO ------------------------------------------------------- */

/* 1 if user/pass open the proxy (the only user is "default"). */
static int check_pass(const proxy_client *c, const char *user, size_t ulen, const char *pass, size_t plen)
{
    const char *rp = c->w->cfg->requirepass;
    if (user && !arg_is(user, ulen, "default")) return 0;
    if (!rp[0]) return 1; /* nopass */
    return strlen(rp) == plen && memcmp(rp, pass, plen) == 0;
}

static void set_authed(proxy_client *c)
{
    c->authed = 1;
    c->parser.unauth = 0;
}

static void auth_cmd(proxy_client *c, const proxy_cmd *cmd, buf_t *out)
{
    if (cmd->argc > 3) {
        err(out, "ERR syntax error");
        return;
    }
    if (cmd->argc == 2 && !c->w->cfg->requirepass[0]) {
        err(out, "ERR AUTH <password> called without any password configured for the default user. "
                 "Are you sure your configuration is correct?");
        return;
    }
    int good = cmd->argc == 2 ? check_pass(c, NULL, 0, ARG(1), LEN(1))
                              : check_pass(c, ARG(1), LEN(1), ARG(2), LEN(2));
    if (!good) {
        err(out, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    set_authed(c);
    ok(out);
}

static int valid_name(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '!' || s[i] > '~') return 0;
    return 1;
}

static void set_name(proxy_client *c, const char *s, size_t n)
{
    char *nn = n ? xmemdup(s, n) : NULL;
    pthread_mutex_lock(&c->w->reg_lock);
    char *old = c->name;
    c->name = nn;
    pthread_mutex_unlock(&c->w->reg_lock);
    xfree(old);
}

static void hello_cmd(proxy_client *c, const proxy_cmd *cmd, buf_t *out)
{
    long long ver = c->proto;
    int i = 1;
    const char *user = NULL, *pass = NULL, *name = NULL;
    size_t ulen = 0, plen = 0, nlen = 0;
    if (cmd->argc >= 2) {
        if (!str_to_ll(ARG(1), LEN(1), &ver)) {
            err(out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        i = 2;
    }
    for (; i < cmd->argc; i++) {
        int more = cmd->argc - i - 1;
        if (IS(i, "auth") && more >= 2) {
            user = ARG(i + 1); ulen = LEN(i + 1);
            pass = ARG(i + 2); plen = LEN(i + 2);
            i += 2;
        } else if (IS(i, "setname") && more >= 1) {
            name = ARG(i + 1); nlen = LEN(i + 1);
            i += 1;
        } else {
            char msg[200];
            snprintf(msg, sizeof(msg), "ERR Syntax error in HELLO option '%.*s'", (int)(LEN(i) > 128 ? 128 : LEN(i)), ARG(i));
            err(out, msg);
            return;
        }
    }
    if (cmd->argc >= 2 && (ver < 2 || ver > 3)) {
        err(out, "NOPROTO unsupported protocol version");
        return;
    }
    if (user) {
        if (!check_pass(c, user, ulen, pass, plen)) {
            err(out, "WRONGPASS invalid username-password pair or user is disabled.");
            return;
        }
        set_authed(c);
    }
    if (!c->authed) {
        err(out, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH "
                 "<user> <pass> option can be used to authenticate the client and select the RESP protocol "
                 "version at the same time");
        return;
    }
    if (name) {
        if (!valid_name(name, nlen)) {
            err(out, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        set_name(c, name, nlen);
    }
    /* Replies to requests already sent keep the protocol they were sent
     * with (their backend connection's); from here on, this one. */
    __atomic_store_n(&c->proto, (int)ver, __ATOMIC_RELAXED);
    int p = c->proto;
    resp_w_map(out, p, 7);
    resp_w_bulk_cstr(out, "server"); resp_w_bulk_cstr(out, "redis");
    resp_w_bulk_cstr(out, "version"); resp_w_bulk_cstr(out, REDIS_VERSION);
    resp_w_bulk_cstr(out, "proto"); resp_w_int(out, p);
    resp_w_bulk_cstr(out, "id"); resp_w_int(out, (long long)c->id);
    resp_w_bulk_cstr(out, "mode"); resp_w_bulk_cstr(out, "cluster");
    resp_w_bulk_cstr(out, "role"); resp_w_bulk_cstr(out, "master");
    resp_w_bulk_cstr(out, "modules"); resp_w_array(out, 0);
}

/* ---- CLIENT ------------------------------------------------------------------- */

static void client_line(const proxy_client *x, buf_t *out, long long now_ms)
{
    char cmdname[96] = "NULL";
    int id = __atomic_load_n(&x->last_cmd_id, __ATOMIC_RELAXED);
    const cmd_meta *m = id >= 0 ? cmd_by_id(id) : NULL;
    if (m) cmd_fullname(m, cmdname, sizeof(cmdname));
    int sub = __atomic_load_n(&x->sub, __ATOMIC_RELAXED), psub = __atomic_load_n(&x->psub, __ATOMIC_RELAXED);
    int ssub = __atomic_load_n(&x->ssub, __ATOMIC_RELAXED), multi = __atomic_load_n(&x->multi, __ATOMIC_RELAXED);
    char flags[8];
    int fl = 0;
    if (sub || psub || ssub) flags[fl++] = 'P';
    if (multi >= 0) flags[fl++] = 'x';
    if (!fl) flags[fl++] = 'N';
    flags[fl] = 0;
    size_t qlen = __atomic_load_n(&x->qbuf.len, __ATOMIC_RELAXED);
    size_t qoff = __atomic_load_n(&x->qbuf.off, __ATOMIC_RELAXED);
    size_t qcap = __atomic_load_n(&x->qbuf.cap, __ATOMIC_RELAXED);
    size_t olen = __atomic_load_n(&x->wbuf.len, __ATOMIC_RELAXED);
    size_t ooff = __atomic_load_n(&x->wbuf.off, __ATOMIC_RELAXED);
    size_t ocap = __atomic_load_n(&x->wbuf.cap, __ATOMIC_RELAXED);
    long long last = __atomic_load_n(&x->last_ms, __ATOMIC_RELAXED);
    size_t q = qlen >= qoff ? qlen - qoff : 0, o = olen >= ooff ? olen - ooff : 0;
    buf_printf(out,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=0 sub=%d psub=%d ssub=%d "
               "multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=0 obl=0 oll=0 omem=%zu "
               "tot-mem=%zu events=r cmd=%s user=default redir=-1 resp=%d\n",
               (unsigned long long)x->id, x->addr, x->laddr, x->fd, x->name ? x->name : "",
               (now_ms - x->ctime_ms) / 1000, now_ms > last ? (now_ms - last) / 1000 : 0, flags, sub, psub, ssub,
               multi, q, qcap >= qlen ? qcap - qlen : 0, qcap, o, qcap + ocap + sizeof(*x), cmdname,
               __atomic_load_n(&x->proto, __ATOMIC_RELAXED));
}

enum { KT_ANY = -1, KT_NORMAL = 0, KT_PUBSUB = 1, KT_OTHER = 2 };

static int client_type(const proxy_client *x)
{
    return (__atomic_load_n(&x->sub, __ATOMIC_RELAXED) || __atomic_load_n(&x->psub, __ATOMIC_RELAXED) ||
            __atomic_load_n(&x->ssub, __ATOMIC_RELAXED)) ? KT_PUBSUB : KT_NORMAL;
}

static int parse_type(const char *s, size_t n)
{
    if (arg_is(s, n, "normal")) return KT_NORMAL;
    if (arg_is(s, n, "pubsub")) return KT_PUBSUB;
    if (arg_is(s, n, "master") || arg_is(s, n, "replica") || arg_is(s, n, "slave")) return KT_OTHER;
    return -2;
}

static void client_list(proxy_client *c, const proxy_cmd *cmd, buf_t *out)
{
    int type = KT_ANY;
    unsigned long long *ids = NULL;
    int nids = 0;
    if (cmd->argc == 4 && IS(2, "type")) {
        type = parse_type(ARG(3), LEN(3));
        if (type == -2) {
            char msg[200];
            snprintf(msg, sizeof(msg), "ERR Unknown client type '%.*s'", (int)(LEN(3) > 100 ? 100 : LEN(3)), ARG(3));
            err(out, msg);
            return;
        }
    } else if (cmd->argc >= 4 && IS(2, "id")) {
        ids = xmalloc(sizeof(*ids) * (size_t)(cmd->argc - 3));
        for (int i = 3; i < cmd->argc; i++) {
            long long v;
            if (!str_to_ll(ARG(i), LEN(i), &v) || v <= 0) {
                xfree(ids);
                err(out, "ERR Invalid client ID");
                return;
            }
            ids[nids++] = (unsigned long long)v;
        }
    } else if (cmd->argc != 2) {
        err(out, "ERR syntax error");
        return;
    }
    buf_t text;
    buf_init(&text);
    long long now = c->w->now_us / 1000;
    for (int k = 0; k < psrv.n_workers; k++) {
        proxy_worker *w = psrv.workers[k];
        pthread_mutex_lock(&w->reg_lock);
        for (proxy_client *x = w->clients; x; x = x->reg_next) {
            if (type != KT_ANY && client_type(x) != type) continue;
            if (nids) {
                int hit = 0;
                for (int i = 0; i < nids; i++) hit |= ids[i] == x->id;
                if (!hit) continue;
            }
            client_line(x, &text, now);
        }
        pthread_mutex_unlock(&w->reg_lock);
    }
    xfree(ids);
    resp_w_verbatim(out, c->proto, text.p ? text.p : "", text.len);
    buf_free(&text);
}

/* CLIENT KILL addr | CLIENT KILL <filter> <value> ... */
static void client_kill(proxy_client *c, const proxy_cmd *cmd, buf_t *out)
{
    const char *addr = NULL, *laddr = NULL;
    size_t alen = 0, llen = 0;
    long long id = 0;
    int type = KT_ANY, skipme = 1, old_form = cmd->argc == 3;
    if (old_form) {
        addr = ARG(2);
        alen = LEN(2);
        skipme = 0;
    } else {
        if ((cmd->argc - 2) % 2) {
            err(out, "ERR syntax error");
            return;
        }
        for (int i = 2; i < cmd->argc; i += 2) {
            if (IS(i, "id")) {
                if (!str_to_ll(ARG(i + 1), LEN(i + 1), &id) || id <= 0) {
                    err(out, "ERR client-id should be greater than 0");
                    return;
                }
            } else if (IS(i, "addr")) {
                addr = ARG(i + 1); alen = LEN(i + 1);
            } else if (IS(i, "laddr")) {
                laddr = ARG(i + 1); llen = LEN(i + 1);
            } else if (IS(i, "type")) {
                type = parse_type(ARG(i + 1), LEN(i + 1));
                if (type == -2) {
                    char msg[200];
                    snprintf(msg, sizeof(msg), "ERR Unknown client type '%.*s'",
                             (int)(LEN(i + 1) > 100 ? 100 : LEN(i + 1)), ARG(i + 1));
                    err(out, msg);
                    return;
                }
            } else if (IS(i, "user")) {
                if (!arg_is(ARG(i + 1), LEN(i + 1), "default")) {
                    char msg[200];
                    snprintf(msg, sizeof(msg), "ERR No such user '%.*s'", (int)(LEN(i + 1) > 100 ? 100 : LEN(i + 1)),
                             ARG(i + 1));
                    err(out, msg);
                    return;
                }
            } else if (IS(i, "skipme")) {
                if (IS(i + 1, "yes")) skipme = 1;
                else if (IS(i + 1, "no")) skipme = 0;
                else {
                    err(out, "ERR syntax error");
                    return;
                }
            } else {
                err(out, "ERR syntax error");
                return;
            }
        }
    }
    long long killed = 0;
    for (int k = 0; k < psrv.n_workers; k++) {
        proxy_worker *w = psrv.workers[k];
        int here = 0;
        pthread_mutex_lock(&w->reg_lock);
        for (proxy_client *x = w->clients; x; x = x->reg_next) {
            if (id && x->id != (unsigned long long)id) continue;
            if (addr && (strlen(x->addr) != alen || memcmp(x->addr, addr, alen))) continue;
            if (laddr && (strlen(x->laddr) != llen || memcmp(x->laddr, laddr, llen))) continue;
            if (type != KT_ANY && client_type(x) != type) continue;
            if (skipme && x == c) continue;
            atomic_store(&x->killed, 1);
            killed++;
            here = 1;
        }
        pthread_mutex_unlock(&w->reg_lock);
        if (here) worker_notify(w, WN_KILL);
    }
    if (old_form) {
        if (killed) ok(out);
        else err(out, "ERR No such client");
    } else {
        resp_w_int(out, killed);
    }
}

static void client_cmd(proxy_client *c, const proxy_cmd *cmd, buf_t *out)
{
    const char *sub = cmd->meta->name;
    if (!strcmp(sub, "setname")) {
        if (!valid_name(ARG(2), LEN(2))) {
            err(out, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        set_name(c, ARG(2), LEN(2));
        ok(out);
    } else if (!strcmp(sub, "getname")) {
        if (c->name) resp_w_bulk_cstr(out, c->name);
        else resp_w_null(out, c->proto);
    } else if (!strcmp(sub, "id")) {
        resp_w_int(out, (long long)c->id);
    } else if (!strcmp(sub, "info")) {
        buf_t line;
        buf_init(&line);
        pthread_mutex_lock(&c->w->reg_lock);
        client_line(c, &line, c->w->now_us / 1000);
        pthread_mutex_unlock(&c->w->reg_lock);
        resp_w_verbatim(out, c->proto, line.p, line.len);
        buf_free(&line);
    } else if (!strcmp(sub, "list")) {
        client_list(c, cmd, out);
    } else if (!strcmp(sub, "kill")) {
        client_kill(c, cmd, out);
    } else if (!strcmp(sub, "no-evict")) {
        if (IS(2, "on") || IS(2, "off")) ok(out);
        else err(out, "ERR syntax error");
    } else if (!strcmp(sub, "getredir")) {
        resp_w_int(out, -1);
    } else {
        err(out, "ERR shoal-proxy: unsupported CLIENT subcommand");
    }
}

/* ---- COMMAND ------------------------------------------------------------------ */

static int has_key_args(const cmd_meta *m)
{
    if (m->getkeys != CMD_GK_SPECS) return 1;
    for (int i = 0; i < m->key_specs_n; i++)
        if (!(m->key_specs[i].flags & CMD_KS_NOT_KEY)) return 1;
    return 0;
}

static void command_getkeys(proxy_client *c, const proxy_cmd *cmd, buf_t *out, int with_flags)
{
    int argc = cmd->argc - 2;
    const char *const *argv = cmd->argv + 2;
    const size_t *lens = cmd->argvlen + 2;
    const cmd_meta *m = cmd_lookup(argv[0], lens[0]);
    if (m && m->subcmds_n && argc > 1) m = cmd_lookup_sub(m, argv[1], lens[1]);
    if (!m) { err(out, "ERR Invalid command specified"); return; }
    if (!has_key_args(m)) { err(out, "ERR The command has no key arguments"); return; }
    if (!cmd_arity_ok(m, argc)) { err(out, "ERR Invalid number of arguments specified for command"); return; }
    cmd_keyref small[64], *refs = small;
    int n = cmd_get_keys_ex(m, argc, argv, lens, 0, refs, 64);
    if (n > 64) {
        refs = xmalloc(sizeof(cmd_keyref) * (size_t)n);
        n = cmd_get_keys_ex(m, argc, argv, lens, 0, refs, n);
    }
    if (n <= 0) {
        if (m->flags & CMD_F_NO_MANDATORY_KEYS) resp_w_array(out, 0);
        else err(out, "ERR Invalid arguments specified for command");
    } else {
        resp_w_array(out, n);
        for (int i = 0; i < n; i++) {
            if (with_flags) {
                resp_w_array(out, 2);
                resp_w_bulk(out, argv[refs[i].pos], lens[refs[i].pos]);
                cmd_write_keyspec_flags(out, c->proto, refs[i].flags);
            } else {
                resp_w_bulk(out, argv[refs[i].pos], lens[refs[i].pos]);
            }
        }
    }
    if (refs != small) xfree(refs);
}

static void command_list(proxy_client *c, const proxy_cmd *cmd, buf_t *out)
{
    int filter = 0;
    const char *arg = NULL;
    size_t alen = 0;
    if (cmd->argc == 5 && IS(2, "filterby")) {
        if (IS(3, "pattern")) filter = 1;
        else if (IS(3, "aclcat")) filter = 2;
        else if (IS(3, "module")) filter = 3;
        arg = ARG(4);
        alen = LEN(4);
    }
    if (cmd->argc != 2 && !filter) {
        err(out, "ERR syntax error");
        return;
    }
    size_t mark = resp_w_defer(out);
    long long n = 0;
    for (int i = 0; i < cmd_table_len; i++) {
        for (int k = -1; k < cmd_table[i].subcmds_n; k++) {
            const cmd_meta *m = k < 0 ? &cmd_table[i] : &cmd_table[i].subcmds[k];
            char name[96];
            cmd_fullname(m, name, sizeof(name));
            int keep = 1;
            if (filter == 1) keep = glob_match(arg, alen, name, strlen(name), 1);
            else if (filter == 2) {
                int cat = cmd_acl_cat_lookup(arg, alen);
                keep = cat >= 0 && (m->acl & (1u << cat));
            } else if (filter == 3) keep = 0;
            if (keep) {
                resp_w_bulk_cstr(out, name);
                n++;
            }
        }
    }
    resp_w_defer_fill(out, mark, c->proto, '*', n);
}

static void command_cmd(proxy_client *c, const proxy_cmd *cmd, buf_t *out)
{
    const char *sub = cmd->meta->parent ? cmd->meta->name : "";
    int p = c->proto;
    if (!*sub || (!strcmp(sub, "info") && cmd->argc == 2)) {
        resp_w_array(out, cmd_table_len);
        for (int i = 0; i < cmd_table_len; i++) cmd_write_info(out, p, &cmd_table[i]);
    } else if (!strcmp(sub, "count")) {
        resp_w_int(out, cmd_table_len);
    } else if (!strcmp(sub, "info")) {
        resp_w_array(out, cmd->argc - 2);
        for (int i = 2; i < cmd->argc; i++) {
            const cmd_meta *m = cmd_lookup_full(ARG(i), LEN(i));
            if (m) cmd_write_info(out, p, m);
            else resp_w_null(out, p);
        }
    } else if (!strcmp(sub, "docs")) {
        size_t mark = resp_w_defer(out);
        long long n = 0;
        if (cmd->argc == 2) {
            for (int i = 0; i < cmd_table_len; i++, n++) cmd_write_docs(out, p, &cmd_table[i]);
        } else {
            for (int i = 2; i < cmd->argc; i++) {
                const cmd_meta *m = cmd_lookup_full(ARG(i), LEN(i));
                if (!m) continue;
                cmd_write_docs(out, p, m);
                n++;
            }
        }
        resp_w_defer_fill(out, mark, p, '%', n);
    } else if (!strcmp(sub, "getkeys")) {
        command_getkeys(c, cmd, out, 0);
    } else if (!strcmp(sub, "getkeysandflags")) {
        command_getkeys(c, cmd, out, 1);
    } else if (!strcmp(sub, "list")) {
        command_list(c, cmd, out);
    } else {
        err(out, "ERR shoal-proxy: unsupported COMMAND subcommand");
    }
}

/* ---- CLUSTER (the proxy as one node owning every slot) --------------------------- */

static int map_complete(proxy_worker *w)
{
    const slotmap *m = worker_map(w);
    if (!m) return 0;
    for (int s = 0; s < SLOTMAP_NSLOTS; s++)
        if (m->slots[s] < 0) return 0;
    return 1;
}

static void cluster_cmd(proxy_client *c, const proxy_cmd *cmd, buf_t *out)
{
    const char *sub = cmd->meta->name;
    int p = c->proto;
    char ip[64];
    my_ip(c, ip, sizeof(ip));
    int port = my_port(c);
    if (!strcmp(sub, "slots")) {
        resp_w_array(out, 1);
        resp_w_array(out, 3);
        resp_w_int(out, 0);
        resp_w_int(out, SLOTMAP_NSLOTS - 1);
        resp_w_array(out, 4);
        resp_w_bulk_cstr(out, ip);
        resp_w_int(out, port);
        resp_w_bulk_cstr(out, psrv.node_id);
        resp_w_map(out, p, 0);
    } else if (!strcmp(sub, "shards")) {
        resp_w_array(out, 1);
        resp_w_map(out, p, 2);
        resp_w_bulk_cstr(out, "slots");
        resp_w_array(out, 2);
        resp_w_int(out, 0);
        resp_w_int(out, SLOTMAP_NSLOTS - 1);
        resp_w_bulk_cstr(out, "nodes");
        resp_w_array(out, 1);
        resp_w_map(out, p, 7);
        resp_w_bulk_cstr(out, "id"); resp_w_bulk_cstr(out, psrv.node_id);
        resp_w_bulk_cstr(out, "port"); resp_w_int(out, port);
        resp_w_bulk_cstr(out, "ip"); resp_w_bulk_cstr(out, ip);
        resp_w_bulk_cstr(out, "endpoint"); resp_w_bulk_cstr(out, ip);
        resp_w_bulk_cstr(out, "role"); resp_w_bulk_cstr(out, "master");
        resp_w_bulk_cstr(out, "replication-offset"); resp_w_int(out, 0);
        resp_w_bulk_cstr(out, "health"); resp_w_bulk_cstr(out, "online");
    } else if (!strcmp(sub, "nodes")) {
        char line[256];
        int n = snprintf(line, sizeof(line), "%s %s:%d@0 myself,master - 0 0 1 connected 0-%d\n", psrv.node_id,
                         ip, port, SLOTMAP_NSLOTS - 1);
        resp_w_verbatim(out, p, line, (size_t)n);
    } else if (!strcmp(sub, "info")) {
        buf_t t;
        buf_init(&t);
        int okmap = map_complete(c->w);
        const slotmap *m = worker_map(c->w);
        unsigned long long epoch = m ? (unsigned long long)m->current_epoch : 0;
        buf_printf(&t,
                   "cluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n"
                   "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\n"
                   "cluster_size:1\r\ncluster_current_epoch:%llu\r\ncluster_my_epoch:%llu\r\n"
                   "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
                   "total_cluster_links_buffer_limit_exceeded:0\r\n",
                   okmap ? "ok" : "fail", SLOTMAP_NSLOTS, okmap ? SLOTMAP_NSLOTS : 0, epoch, epoch);
        resp_w_verbatim(out, p, t.p, t.len);
        buf_free(&t);
    } else if (!strcmp(sub, "keyslot")) {
        resp_w_int(out, key_hash_slot(ARG(2), LEN(2)));
    } else if (!strcmp(sub, "myid")) {
        resp_w_bulk_cstr(out, psrv.node_id);
    } else {
        err(out, "ERR shoal-proxy: unsupported CLUSTER subcommand");
    }
}

/* ---- INFO --------------------------------------------------------------------------- */

static uint64_t sum_stat(size_t off)
{
    uint64_t s = 0;
    for (int k = 0; k < psrv.n_workers; k++) {
        const uint64_t *p = (const uint64_t *)((const char *)&psrv.workers[k]->st + off);
        s += __atomic_load_n(p, __ATOMIC_RELAXED);
    }
    return s;
}
#define SUM(f) sum_stat(offsetof(proxy_stats, f))

static void human_bytes(char *b, size_t cap, double n)
{
    const char *u = "BKMGTP";
    int i = 0;
    while (n >= 1024 && i < 5) { n /= 1024; i++; }
    if (i == 0) snprintf(b, cap, "%.0fB", n);
    else snprintf(b, cap, "%.2f%c", n, u[i]);
}

static void info_server(buf_t *t)
{
    struct utsname un;
    uname(&un);
    long long now = time_ms();
    long long up = (now - psrv.start_ms) / 1000;
    buf_printf(t,
               "# Server\r\nredis_version:%s\r\nshoal_proxy_version:%s\r\nredis_mode:cluster\r\n"
               "os:%s %s %s\r\narch_bits:%d\r\nmultiplexing_api:epoll\r\nprocess_id:%d\r\n"
               "run_id:%s\r\ntcp_port:%lld\r\nserver_time_usec:%lld\r\nuptime_in_seconds:%lld\r\n"
               "uptime_in_days:%lld\r\nexecutable:%s\r\nconfig_file:%s\r\nproxy_threads:%d\r\n\r\n",
               REDIS_VERSION, PROXY_VERSION, un.sysname, un.release, un.machine, (int)(sizeof(void *) * 8),
               (int)getpid(), psrv.node_id, psrv.boot_cfg->port, time_us(), up, up / 86400, psrv.executable,
               psrv.config_path ? psrv.config_path : "", psrv.n_workers);
}

static void info_clients(buf_t *t)
{
    long long pubsub = 0;
    for (int k = 0; k < psrv.n_workers; k++) {
        proxy_worker *w = psrv.workers[k];
        pthread_mutex_lock(&w->reg_lock);
        for (proxy_client *x = w->clients; x; x = x->reg_next) pubsub += client_type(x) == KT_PUBSUB;
        pthread_mutex_unlock(&w->reg_lock);
    }
    proxy_config *cfg = atomic_load(&psrv.cfg);
    buf_printf(t, "# Clients\r\nconnected_clients:%d\r\nmaxclients:%lld\r\nblocked_clients:0\r\npubsub_clients:%lld\r\n\r\n",
               atomic_load(&psrv.n_clients), cfg->maxclients, pubsub);
}

static void info_memory(buf_t *t)
{
    char h1[32], h2[32];
    size_t used = mem_used(), rss = mem_rss();
    human_bytes(h1, sizeof(h1), (double)used);
    human_bytes(h2, sizeof(h2), (double)rss);
    buf_printf(t, "# Memory\r\nused_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
                  "used_memory_rss_human:%s\r\nmaxmemory:0\r\n\r\n", used, h1, rss, h2);
}

static void info_stats(buf_t *t)
{
    buf_printf(t,
               "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
               "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\nrejected_connections:%llu\r\n"
               "local_commands:%llu\r\nredirections_moved:%llu\r\nredirections_ask:%llu\r\n"
               "retries_tryagain:%llu\r\nretries_clusterdown:%llu\r\nretries_loading:%llu\r\n"
               "requests_retried:%llu\r\nretry_budget_exhausted:%llu\r\nbackend_connects:%llu\r\n"
               "backend_connect_failures:%llu\r\nbackend_connections_lost:%llu\r\nbackend_timeouts:%llu\r\n"
               "backend_errors:%llu\r\nbackend_auth_errors:%llu\r\nclient_output_limit_disconnections:%llu\r\n"
               "client_protocol_errors:%llu\r\ntopology_changes:%llu\r\nio_coalesce_naps:%llu\r\n\r\n",
               (unsigned long long)SUM(conns_accepted), (unsigned long long)SUM(commands),
               (unsigned long long)SUM(net_in), (unsigned long long)SUM(net_out),
               (unsigned long long)SUM(conns_rejected), (unsigned long long)SUM(local_commands),
               (unsigned long long)SUM(moved), (unsigned long long)SUM(ask), (unsigned long long)SUM(tryagain),
               (unsigned long long)SUM(clusterdown), (unsigned long long)SUM(loading),
               (unsigned long long)SUM(retries), (unsigned long long)SUM(budget_exhausted),
               (unsigned long long)SUM(be_connects), (unsigned long long)SUM(be_connect_fail),
               (unsigned long long)SUM(be_conn_lost), (unsigned long long)SUM(be_timeouts),
               (unsigned long long)SUM(be_failed_requests), (unsigned long long)SUM(be_auth_errors),
               (unsigned long long)SUM(obuf_kills), (unsigned long long)SUM(proto_errors),
               (unsigned long long)atomic_load(&psrv.topology_changes), (unsigned long long)SUM(io_coalesce_naps));
}

static void info_cpu(buf_t *t)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    buf_printf(t, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n\r\n", (long)ru.ru_stime.tv_sec,
               (long)ru.ru_stime.tv_usec, (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
}

static void info_proxy(buf_t *t)
{
    int up = 0, total = 0, leased = 0;
    /* backend lists belong to their workers: counts are approximate reads */
    for (int k = 0; k < psrv.n_workers; k++) {
        int u, tt, l;
        be_count(psrv.workers[k], &u, &tt, &l);
        up += u; total += tt; leased += l;
    }
    proxy_config *cfg = atomic_load(&psrv.cfg);
    const slotmap *m = topology_current(psrv.topo);
    int masters = 0, covered = 0;
    if (m) {
        for (uint32_t i = 0; i < m->n_nodes; i++) masters += m->nodes[i].role == SLOTMAP_MASTER && m->nodes[i].n_slots;
        for (int s = 0; s < SLOTMAP_NSLOTS; s++) covered += m->slots[s] >= 0;
    }
    topology_stats ts;
    topology_get_stats(psrv.topo, &ts);
    buf_printf(t,
               "# Proxy\r\nthreads:%d\r\nbackend_connections_per_node:%lld\r\nbackend_connections_up:%d\r\n"
               "backend_connections_total:%d\r\nleased_connections:%d\r\nread_policy:%s\r\n"
               "max_redirects:%lld\r\nretry_max_ms:%lld\r\nrequest_timeout_ms:%lld\r\n"
               "topology_version:%llu\r\ntopology_source:%s\r\ntopology_age_ms:%lld\r\n"
               "topology_nodes:%u\r\ntopology_masters:%d\r\ntopology_slots_covered:%d\r\n"
               "topology_pings_sent:%llu\r\ntopology_pongs_received:%llu\r\ntopology_links_up:%llu\r\n"
               "topology_bootstraps:%llu\r\n\r\n",
               psrv.n_workers, psrv.boot_cfg->backend_connections, up, total, leased,
               proxy_read_policy_name(cfg->read_policy), cfg->max_redirects, cfg->retry_max_ms,
               cfg->request_timeout_ms, m ? (unsigned long long)m->version : 0ULL, m ? m->source : "none",
               m ? time_ms() - m->created_ms : -1LL, m ? m->n_nodes : 0u, masters, covered,
               (unsigned long long)ts.pings_sent, (unsigned long long)ts.pongs_received,
               (unsigned long long)ts.links_up, (unsigned long long)ts.bootstraps);
    if (m) topology_release(psrv.topo, m);
}

static void info_commandstats(buf_t *t)
{
    buf_printf(t, "# Commandstats\r\n");
    int n = cmd_count_all();
    for (int id = 0; id < n; id++) {
        uint64_t calls = 0, usec = 0, failed = 0;
        for (int k = 0; k < psrv.n_workers; k++) {
            proxy_stats *st = &psrv.workers[k]->st;
            calls += __atomic_load_n(&st->calls[id], __ATOMIC_RELAXED);
            usec += __atomic_load_n(&st->usec[id], __ATOMIC_RELAXED);
            failed += __atomic_load_n(&st->failed[id], __ATOMIC_RELAXED);
        }
        if (!calls) continue;
        char name[96];
        cmd_fullname(cmd_by_id(id), name, sizeof(name));
        buf_printf(t, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=0,failed_calls=%llu\r\n",
                   name, (unsigned long long)calls, (unsigned long long)usec, (double)usec / (double)calls,
                   (unsigned long long)failed);
    }
    buf_printf(t, "\r\n");
}

void proxy_info_text(proxy_worker *w, buf_t *out, int argc, const char *const *argv, const size_t *argvlen)
{
    enum { S_SERVER = 1, S_CLIENTS = 2, S_MEMORY = 4, S_STATS = 8, S_REPL = 16, S_CPU = 32, S_PROXY = 64,
           S_CLUSTER = 128, S_KEYSPACE = 256, S_CMDSTATS = 512 };
    static const struct { const char *name; int bits; } names[] = {
        {"server", S_SERVER}, {"clients", S_CLIENTS}, {"memory", S_MEMORY}, {"stats", S_STATS},
        {"replication", S_REPL}, {"cpu", S_CPU}, {"proxy", S_PROXY}, {"cluster", S_CLUSTER},
        {"keyspace", S_KEYSPACE}, {"commandstats", S_CMDSTATS},
    };
    int def = S_SERVER | S_CLIENTS | S_MEMORY | S_STATS | S_REPL | S_CPU | S_PROXY | S_CLUSTER | S_KEYSPACE;
    int sel = argc <= 1 ? def : 0;
    for (int i = 1; i < argc; i++) {
        if (arg_is(argv[i], argvlen[i], "default")) sel |= def;
        else if (arg_is(argv[i], argvlen[i], "all") || arg_is(argv[i], argvlen[i], "everything"))
            sel |= def | S_CMDSTATS;
        else
            for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
                if (arg_is(argv[i], argvlen[i], names[k].name)) sel |= names[k].bits;
    }
    (void)w;
    size_t start = out->len;
    if (sel & S_SERVER) info_server(out);
    if (sel & S_CLIENTS) info_clients(out);
    if (sel & S_MEMORY) info_memory(out);
    if (sel & S_STATS) info_stats(out);
    if (sel & S_REPL) buf_printf(out, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
    if (sel & S_CPU) info_cpu(out);
    if (sel & S_PROXY) info_proxy(out);
    if (sel & S_CLUSTER) buf_printf(out, "# Cluster\r\ncluster_enabled:1\r\n\r\n");
    if (sel & S_KEYSPACE) buf_printf(out, "# Keyspace\r\n\r\n");
    if (sel & S_CMDSTATS) info_commandstats(out);
    /* Redis ends without the last blank line */
    if (out->len >= start + 2 && out->p[out->len - 1] == '\n' && out->p[out->len - 3] == '\n') out->len -= 2;
}

static void info_cmd(proxy_client *c, const proxy_cmd *cmd, buf_t *out)
{
    buf_t t;
    buf_init(&t);
    proxy_info_text(c->w, &t, cmd->argc, cmd->argv, cmd->argvlen);
    resp_w_verbatim(out, c->proto, t.p ? t.p : "", t.len);
    buf_free(&t);
}

/* ---- PROXY ----------------------------------------------------------------------------- */

struct emit_ctx { buf_t *out; long long n; };

static void emit_pair(void *ctx, const char *name, const char *value)
{
    struct emit_ctx *e = ctx;
    resp_w_bulk_cstr(e->out, name);
    resp_w_bulk_cstr(e->out, value);
    e->n++;
}

void local_proxy_cmd(proxy_client *c, int argc, const char *const *argv, const size_t *lens, buf_t *out)
{
    int p = c->proto;
    if (argc >= 2 && arg_is(argv[1], lens[1], "topology") && argc == 2) {
        buf_t t;
        buf_init(&t);
        topology_describe(psrv.topo, &t);
        resp_w_verbatim(out, p, t.p ? t.p : "", t.len);
        buf_free(&t);
    } else if (argc >= 2 && arg_is(argv[1], lens[1], "info")) {
        const char *av[2] = {"info", "proxy"};
        size_t al[2] = {4, 5};
        buf_t t;
        buf_init(&t);
        if (argc == 2) proxy_info_text(c->w, &t, 2, av, al);
        else proxy_info_text(c->w, &t, argc - 1, argv + 1, lens + 1);
        resp_w_verbatim(out, p, t.p ? t.p : "", t.len);
        buf_free(&t);
    } else if (argc >= 4 && arg_is(argv[1], lens[1], "config") && arg_is(argv[2], lens[2], "get")) {
        size_t mark = resp_w_defer(out);
        struct emit_ctx e = {out, 0};
        conf_get_multi(proxy_config_keys, c->w->cfg, argc - 3, argv + 3, lens + 3, emit_pair, &e);
        resp_w_defer_fill(out, mark, p, '%', e.n);
    } else if (argc == 3 && arg_is(argv[1], lens[1], "route")) {
        const cmd_meta *m = cmd_lookup_full(argv[2], lens[2]);
        if (!m) resp_w_null(out, p);
        else resp_w_bulk_cstr(out, router_kind_name(proxy_route_get(m)));
    } else if (argc == 2 && arg_is(argv[1], lens[1], "help")) {
        static const char *const l[] = {
            "PROXY <subcommand> [<arg> ...]. Subcommands:",
            "TOPOLOGY -- the slot map the proxy routes with: version, source, age, nodes, slots.",
            "INFO [<section> ...] -- the proxy's INFO sections (default: proxy).",
            "CONFIG GET <pattern> [<pattern> ...] -- the proxy's configuration.",
            "ROUTE <command> -- how the proxy routes a command (key, any, local, split, all, lease, deny).",
            "HELP -- this text.",
        };
        resp_w_array(out, 6);
        for (int i = 0; i < 6; i++) resp_w_status_cstr(out, l[i]);
    } else {
        char msg[200];
        snprintf(msg, sizeof(msg), "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try PROXY HELP.",
                 argc >= 2 ? (int)(lens[1] > 100 ? 100 : lens[1]) : 0, argc >= 2 ? argv[1] : "");
        err(out, msg);
    }
}

/* ---- dispatch --------------------------------------------------------------------------- */

void local_exec(proxy_client *c, const proxy_cmd *cmd, buf_t *out, int *close_after)
{
    const cmd_meta *m = cmd->meta;
    const cmd_meta *top = m->parent ? m->parent : m;
    const char *name = top->name;
    long long v;
    switch (name[0]) {
    case 'p':
        if (!strcmp(name, "ping")) {
            if (cmd->argc > 2) err(out, "ERR wrong number of arguments for 'ping' command");
            else if (cmd->argc == 2) resp_w_bulk(out, ARG(1), LEN(1));
            else buf_append(out, "+PONG\r\n", 7);
            return;
        }
        break;
    case 'e':
        if (!strcmp(name, "echo")) { resp_w_bulk(out, ARG(1), LEN(1)); return; }
        break;
    case 'q':
        if (!strcmp(name, "quit")) { ok(out); *close_after = 1; return; }
        break;
    case 's':
        if (!strcmp(name, "select")) {
            if (!str_to_ll(ARG(1), LEN(1), &v)) err(out, "ERR value is not an integer or out of range");
            else if (v != 0) err(out, "ERR SELECT is not allowed in cluster mode");
            else ok(out);
            return;
        }
        break;
    case 'h':
        if (!strcmp(name, "hello")) { hello_cmd(c, cmd, out); return; }
        break;
    case 'a':
        if (!strcmp(name, "auth")) { auth_cmd(c, cmd, out); return; }
        if (!strcmp(name, "asking")) { ok(out); return; }
        if (!strcmp(name, "acl")) { resp_w_bulk_cstr(out, "default"); return; } /* ACL WHOAMI */
        break;
    case 'r':
        if (!strcmp(name, "reset")) {
            __atomic_store_n(&c->proto, 2, __ATOMIC_RELAXED);
            set_name(c, NULL, 0);
            c->authed = c->w->cfg->requirepass[0] == '\0';
            c->parser.unauth = !c->authed;
            buf_append(out, "+RESET\r\n", 8);
            return;
        }
        if (!strcmp(name, "readonly") || !strcmp(name, "readwrite")) { ok(out); return; }
        if (!strcmp(name, "role")) {
            resp_w_array(out, 3);
            resp_w_bulk_cstr(out, "master");
            resp_w_int(out, 0);
            resp_w_array(out, 0);
            return;
        }
        break;
    case 'c':
        if (!strcmp(name, "client")) { client_cmd(c, cmd, out); return; }
        if (!strcmp(name, "command")) { command_cmd(c, cmd, out); return; }
        if (!strcmp(name, "cluster")) { cluster_cmd(c, cmd, out); return; }
        break;
    case 'i':
        if (!strcmp(name, "info")) { info_cmd(c, cmd, out); return; }
        break;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "ERR shoal-proxy: no local handler for '%s'", m->fullname);
    err(out, msg);
}
