/* router: route table, request routing, redirection handling, retries and
 * sub-requests (see router.h). */
#include "router.h"
#include "log.h"
#include "mem.h"
#include "slot.h"
#include "util.h"
#include "worker.h"
#include <stdio.h>
#include <string.h>

/* The modules, when linked in. */
extern void fanout_init(void) __attribute__((weak));
extern void lease_init(void) __attribute__((weak));
extern void fanout_dispatch(proxy_req *r, const proxy_cmd *cmd) __attribute__((weak));
extern void lease_dispatch(proxy_req *r, const proxy_cmd *cmd) __attribute__((weak));

/* Backoff for requests waiting on TRYAGAIN, CLUSTERDOWN, LOADING or an
 * unreachable node: 5 ms doubling to 100 ms, and at once when a new slot
 * map arrives (worker.c), within retry-max-ms in total. The cap keeps a
 * failover's recovery visible to clients within ~100 ms of the map change
 * even if no notification got through. */
#define RETRY_FIRST_MS 5
#define RETRY_MAX_STEP_MS 100

static uint8_t *route_kind; /* by command id */
static int route_n;

/* ---- the route table ---------------------------------------------------- */

static const struct { const char *name; int kind; } route_table[] = {
    /* answered by the proxy */
    {"ping", PROXY_ROUTE_LOCAL}, {"echo", PROXY_ROUTE_LOCAL}, {"quit", PROXY_ROUTE_LOCAL},
    {"select", PROXY_ROUTE_LOCAL}, {"hello", PROXY_ROUTE_LOCAL}, {"auth", PROXY_ROUTE_LOCAL},
    {"reset", PROXY_ROUTE_LOCAL}, {"readonly", PROXY_ROUTE_LOCAL}, {"readwrite", PROXY_ROUTE_LOCAL},
    {"asking", PROXY_ROUTE_LOCAL}, {"info", PROXY_ROUTE_LOCAL}, {"role", PROXY_ROUTE_LOCAL},
    {"command", PROXY_ROUTE_LOCAL}, {"command|count", PROXY_ROUTE_LOCAL}, {"command|info", PROXY_ROUTE_LOCAL},
    {"command|docs", PROXY_ROUTE_LOCAL}, {"command|list", PROXY_ROUTE_LOCAL},
    {"command|getkeys", PROXY_ROUTE_LOCAL}, {"command|getkeysandflags", PROXY_ROUTE_LOCAL},
    {"command|help", PROXY_ROUTE_ANY},
    {"client|setname", PROXY_ROUTE_LOCAL}, {"client|getname", PROXY_ROUTE_LOCAL},
    {"client|id", PROXY_ROUTE_LOCAL}, {"client|list", PROXY_ROUTE_LOCAL}, {"client|info", PROXY_ROUTE_LOCAL},
    {"client|kill", PROXY_ROUTE_LOCAL}, {"client|no-evict", PROXY_ROUTE_LOCAL},
    {"client|getredir", PROXY_ROUTE_LOCAL}, {"client|trackinginfo", PROXY_ROUTE_DENY},
    {"client|tracking", PROXY_ROUTE_DENY}, {"client|caching", PROXY_ROUTE_DENY},
    {"client|reply", PROXY_ROUTE_DENY}, {"client|unblock", PROXY_ROUTE_DENY},
    {"client|pause", PROXY_ROUTE_ALL}, {"client|unpause", PROXY_ROUTE_ALL}, {"client|help", PROXY_ROUTE_ANY},
    {"cluster|slots", PROXY_ROUTE_LOCAL}, {"cluster|shards", PROXY_ROUTE_LOCAL},
    {"cluster|nodes", PROXY_ROUTE_LOCAL}, {"cluster|info", PROXY_ROUTE_LOCAL},
    {"cluster|keyslot", PROXY_ROUTE_LOCAL}, {"cluster|myid", PROXY_ROUTE_LOCAL},
    {"cluster|countkeysinslot", PROXY_ROUTE_SLOTARG}, {"cluster|getkeysinslot", PROXY_ROUTE_SLOTARG},
    {"cluster|help", PROXY_ROUTE_ANY},
    {"acl|whoami", PROXY_ROUTE_LOCAL},
    /* any master will do */
    {"time", PROXY_ROUTE_ANY}, {"lastsave", PROXY_ROUTE_ANY}, {"lolwut", PROXY_ROUTE_ANY},
    {"publish", PROXY_ROUTE_ANY}, /* cluster-wide: every node forwards it */
    {"config|get", PROXY_ROUTE_ANY}, {"config|help", PROXY_ROUTE_ANY},
    {"function|list", PROXY_ROUTE_ANY}, {"function|dump", PROXY_ROUTE_ANY},
    {"swapdb", PROXY_ROUTE_ANY}, /* refused by the node with Redis's cluster-mode error */
    /* every master (fanout module) */
    {"dbsize", PROXY_ROUTE_ALL}, {"keys", PROXY_ROUTE_ALL}, {"scan", PROXY_ROUTE_ALL},
    {"randomkey", PROXY_ROUTE_ALL}, {"flushall", PROXY_ROUTE_ALL}, {"flushdb", PROXY_ROUTE_ALL},
    {"script|load", PROXY_ROUTE_ALL}, {"script|flush", PROXY_ROUTE_ALL},
    {"script|exists", PROXY_ROUTE_ALL}, {"script|kill", PROXY_ROUTE_ALL},
    {"function|load", PROXY_ROUTE_ALL}, {"function|delete", PROXY_ROUTE_ALL},
    {"function|flush", PROXY_ROUTE_ALL}, {"function|restore", PROXY_ROUTE_ALL},
    {"function|kill", PROXY_ROUTE_ALL}, {"function|stats", PROXY_ROUTE_ALL},
    {"config|set", PROXY_ROUTE_ALL}, {"config|resetstat", PROXY_ROUTE_ALL},
    {"config|rewrite", PROXY_ROUTE_ALL},
    {"pubsub|channels", PROXY_ROUTE_ALL}, {"pubsub|numsub", PROXY_ROUTE_ALL},
    {"pubsub|numpat", PROXY_ROUTE_ALL}, {"pubsub|shardchannels", PROXY_ROUTE_ALL},
    {"pubsub|shardnumsub", PROXY_ROUTE_ALL},
    {"save", PROXY_ROUTE_ALL}, {"bgsave", PROXY_ROUTE_ALL}, {"bgrewriteaof", PROXY_ROUTE_ALL},
    {"memory|purge", PROXY_ROUTE_ALL}, {"slowlog|get", PROXY_ROUTE_ALL},
    {"slowlog|len", PROXY_ROUTE_ALL}, {"slowlog|reset", PROXY_ROUTE_ALL},
    /* split by node, merged in order (fanout module) */
    {"mget", PROXY_ROUTE_SPLIT}, {"mset", PROXY_ROUTE_SPLIT}, {"del", PROXY_ROUTE_SPLIT},
    {"unlink", PROXY_ROUTE_SPLIT}, {"exists", PROXY_ROUTE_SPLIT}, {"touch", PROXY_ROUTE_SPLIT},
    /* dedicated connection (lease module) */
    {"multi", PROXY_ROUTE_LEASE}, {"exec", PROXY_ROUTE_LEASE}, {"discard", PROXY_ROUTE_LEASE},
    {"watch", PROXY_ROUTE_LEASE}, {"unwatch", PROXY_ROUTE_LEASE},
    {"subscribe", PROXY_ROUTE_LEASE}, {"psubscribe", PROXY_ROUTE_LEASE},
    {"ssubscribe", PROXY_ROUTE_LEASE}, {"unsubscribe", PROXY_ROUTE_LEASE},
    {"punsubscribe", PROXY_ROUTE_LEASE}, {"sunsubscribe", PROXY_ROUTE_LEASE},
    {"blpop", PROXY_ROUTE_LEASE}, {"brpop", PROXY_ROUTE_LEASE}, {"brpoplpush", PROXY_ROUTE_LEASE},
    {"blmove", PROXY_ROUTE_LEASE}, {"blmpop", PROXY_ROUTE_LEASE}, {"bzpopmin", PROXY_ROUTE_LEASE},
    {"bzpopmax", PROXY_ROUTE_LEASE}, {"bzmpop", PROXY_ROUTE_LEASE},
    /* XREAD / XREADGROUP: KEY by default (from their keys), LEASE with BLOCK */
    /* refused: they act on one node's server state or would wedge a shared
     * connection */
    {"monitor", PROXY_ROUTE_DENY}, {"shutdown", PROXY_ROUTE_DENY}, {"replicaof", PROXY_ROUTE_DENY},
    {"slaveof", PROXY_ROUTE_DENY}, {"sync", PROXY_ROUTE_DENY}, {"psync", PROXY_ROUTE_DENY},
    {"replconf", PROXY_ROUTE_DENY}, {"debug", PROXY_ROUTE_DENY}, {"failover", PROXY_ROUTE_DENY},
    {"wait", PROXY_ROUTE_DENY}, {"migrate", PROXY_ROUTE_DENY},
    {"acl|setuser", PROXY_ROUTE_DENY}, {"acl|deluser", PROXY_ROUTE_DENY},
    {"acl|load", PROXY_ROUTE_DENY}, {"acl|save", PROXY_ROUTE_DENY},
    {"script|debug", PROXY_ROUTE_DENY},
};

static int has_key_args(const cmd_meta *m)
{
    if (m->getkeys != CMD_GK_SPECS) return 1;
    for (int i = 0; i < m->key_specs_n; i++)
        if (!(m->key_specs[i].flags & CMD_KS_NOT_KEY)) return 1;
    return 0;
}

static int default_kind(const cmd_meta *m)
{
    if (has_key_args(m)) return PROXY_ROUTE_KEY;
    if (m->key_specs_n) return PROXY_ROUTE_KEY;       /* shard channels */
    if (m->flags & CMD_F_ADMIN) return PROXY_ROUTE_DENY; /* one node's server state */
    /* the remaining subcommands of CLUSTER manage one node */
    if (m->parent && !strcmp(m->parent->name, "cluster")) return PROXY_ROUTE_DENY;
    if (m->parent && !strcmp(m->parent->name, "module")) return PROXY_ROUTE_DENY;
    return PROXY_ROUTE_ANY;
}

int proxy_route_set(const char *fullname, int kind)
{
    const cmd_meta *m = cmd_lookup_full(fullname, strlen(fullname));
    if (!m || kind <= PROXY_ROUTE_UNKNOWN || kind >= PROXY_ROUTE__COUNT) return -1;
    route_kind[m->id] = (uint8_t)kind;
    return 0;
}

int proxy_route_get(const cmd_meta *m)
{
    return (m->id >= 0 && m->id < route_n) ? route_kind[m->id] : PROXY_ROUTE_UNKNOWN;
}

void router_init(void)
{
    cmd_table_init();
    route_n = cmd_count_all();
    route_kind = xcalloc((size_t)route_n, 1);
    for (int i = 0; i < route_n; i++) {
        const cmd_meta *m = cmd_by_id(i);
        if (m) route_kind[i] = (uint8_t)default_kind(m);
    }
    for (size_t i = 0; i < sizeof(route_table) / sizeof(route_table[0]); i++)
        if (proxy_route_set(route_table[i].name, route_table[i].kind) < 0)
            log_warning("route table: unknown command '%s'", route_table[i].name);
    if (fanout_init) fanout_init();
    if (lease_init) lease_init();
}

const char *router_kind_name(int kind)
{
    static const char *const n[] = {"unknown", "key", "any", "slotarg", "local", "split", "all", "lease", "deny"};
    return kind >= 0 && kind < PROXY_ROUTE__COUNT ? n[kind] : "?";
}

/* ---- slots ------------------------------------------------------------------- */

int proxy_cmd_slot(const proxy_cmd *cmd)
{
    const cmd_meta *m = cmd->meta;
    int argc = cmd->argc;
    int slot = PROXY_SLOT_NOKEYS;
    if (!m) return PROXY_SLOT_BADARGS;
    /* Fast path: a fixed key range (GET, SET's key, MSET's pairs...). */
    if (m->getkeys == CMD_GK_SPECS && !(m->flags & CMD_F_MOVABLEKEYS) && m->first_key > 0 && cmd->arity_ok) {
        int last = m->last_key < 0 ? argc + m->last_key : m->last_key;
        int step = m->key_step > 0 ? m->key_step : 1;
        if (last >= argc) last = argc - 1;
        for (int i = m->first_key; i <= last; i += step) {
            int s = key_hash_slot(cmd->argv[i], cmd->argvlen[i]);
            if (slot < 0) slot = s;
            else if (s != slot) return PROXY_SLOT_CROSS;
        }
        return slot;
    }
    cmd_keyref small[32], *refs = small;
    int n = cmd_get_keys_ex(m, argc, cmd->argv, cmd->argvlen, CMD_GETKEYS_NOT_KEYS, refs, 32);
    if (n > 32) {
        refs = xmalloc(sizeof(*refs) * (size_t)n);
        n = cmd_get_keys_ex(m, argc, cmd->argv, cmd->argvlen, CMD_GETKEYS_NOT_KEYS, refs, n);
    }
    if (n < 0) slot = PROXY_SLOT_BADARGS;
    for (int i = 0; i < n; i++) {
        int s = key_hash_slot(cmd->argv[refs[i].pos], cmd->argvlen[refs[i].pos]);
        if (slot < 0) slot = s;
        else if (s != slot) { slot = PROXY_SLOT_CROSS; break; }
    }
    if (refs != small) xfree(refs);
    return slot;
}

/* ---- choosing a node ---------------------------------------------------------- */

#define UNHEALTHY (SLOTMAP_F_PFAIL | SLOTMAP_F_FAIL | SLOTMAP_F_NOREPLY)

static be_node *node_for_slot(proxy_worker *w, int slot, int read)
{
    if (w->slot_hint && w->slot_hint[slot]) return w->slot_hint[slot];
    const slotmap *m = worker_map(w);
    if (!m) return NULL;
    int idx = m->slots[slot];
    if (idx < 0) return NULL;
    int policy = w->cfg->read_policy;
    if (read && policy != PROXY_READ_MASTER) {
        const slotmap_node *mn = &m->nodes[idx];
        int pick = -1, any = -1;
        unsigned n = mn->n_replicas;
        for (unsigned k = 0; k < n; k++) {
            int ri = mn->replicas[(w->rr + k) % n];
            if (any < 0) any = ri;
            if (!(m->nodes[ri].flags & UNHEALTHY)) { pick = ri; break; }
        }
        w->rr++;
        if (pick < 0 && policy == PROXY_READ_REPLICA) pick = any;
        if (pick >= 0) {
            be_node *bn = worker_map_node(w, pick);
            if (bn) return bn;
        }
    }
    return worker_map_node(w, idx);
}

static be_node *any_master(proxy_worker *w)
{
    const slotmap *m = worker_map(w);
    if (!m || !m->n_nodes) return NULL;
    int fallback = -1;
    for (uint32_t k = 0; k < m->n_nodes; k++) {
        uint32_t i = (w->rr + k) % m->n_nodes;
        const slotmap_node *n = &m->nodes[i];
        if (n->role != SLOTMAP_MASTER || !n->n_slots) continue;
        if (fallback < 0) fallback = (int)i;
        if (!(n->flags & UNHEALTHY)) {
            w->rr++;
            return worker_map_node(w, (int)i);
        }
    }
    w->rr++;
    return fallback >= 0 ? worker_map_node(w, fallback) : NULL;
}

static void hint_set(proxy_worker *w, int slot, be_node *n)
{
    if (!w->slot_hint) w->slot_hint = xcalloc(SLOTMAP_NSLOTS, sizeof(be_node *));
    w->slot_hint[slot & (SLOTMAP_NSLOTS - 1)] = n;
}

/* ---- sending and waiting ------------------------------------------------------- */

static int budget_left(proxy_req *r)
{
    return r->w->now_us - r->t_start_us < r->w->cfg->retry_max_ms * 1000;
}

/* Keep r (its bytes in r->req, the error it would get in r->out) for a
 * later attempt, or give up when the budget is spent. */
static void park(proxy_req *r, const char *bytes, size_t len, const char *err, size_t errlen,
                 long long not_before_us)
{
    proxy_worker *w = r->w;
    if (bytes != r->req.p) {
        r->req.len = 0;
        buf_append(&r->req, bytes, len);
    }
    if (err) {
        r->out.len = 0;
        if (errlen && err[0] == '-') buf_append(&r->out, err, errlen);
        else resp_w_error(&r->out, err, errlen ? errlen : strlen(err));
    }
    if (!budget_left(r)) {
        ST_INC(w, budget_exhausted);
        r->state = RQ_NEW;
        worker_defer(w, r); /* router_finish with r->out, after this callback */
        return;
    }
    r->retry_ms = r->retry_ms ? r->retry_ms * 2 : RETRY_FIRST_MS;
    if (r->retry_ms > RETRY_MAX_STEP_MS) r->retry_ms = RETRY_MAX_STEP_MS;
    long long due = w->now_us + (long long)r->retry_ms * 1000;
    if (not_before_us > due) due = not_before_us;
    long long deadline = r->t_start_us + w->cfg->retry_max_ms * 1000;
    if (due > deadline) due = deadline;
    worker_retry_add(w, r, due);
}

void router_send(proxy_req *r, const char *bytes, size_t len)
{
    proxy_worker *w = r->w;
    be_node *n = NULL;
    const char *err = NULL;
    if (r->flags & RQF_ASKING) {
        n = r->node;
    } else if (r->target == RQT_SLOT) {
        n = node_for_slot(w, r->slot, r->flags & RQF_READ);
        if (!n) err = worker_map(w) ? "CLUSTERDOWN Hash slot not served"
                                    : "CLUSTERDOWN shoal-proxy has no slot map yet (no seed reachable)";
    } else if (r->target == RQT_NODE) {
        n = r->node;
    } else {
        n = any_master(w);
        if (!n) err = "CLUSTERDOWN shoal-proxy has no slot map yet (no seed reachable)";
    }
    /* Sub-requests use their client's connection too, so a part of a split
     * command can't be overtaken by the client's later commands. */
    proxy_req *owner = r;
    while (!owner->c && owner->parent) owner = owner->parent;
    backend *b = n ? be_get(n, r->proto, owner->c ? owner->c->id : w->rr++) : NULL;
    if (!b) {
        char msg[256];
        if (n) {
            snprintf(msg, sizeof(msg), "ERR shoal-proxy: node %s unreachable (%s)", n->addr,
                     n->last_error[0] ? n->last_error : "connect failed");
            err = msg;
        }
        park(r, bytes, len, err, 0, n ? n->down_until_us : 0);
        return;
    }
    /* read-policy may have changed since this connection was made */
    if ((r->flags & RQF_READ) && w->cfg->read_policy != PROXY_READ_MASTER) be_ensure_readonly(b);
    if (r->flags & RQF_ASKING) {
        static const char *const av[1] = {"ASKING"};
        static const size_t al[1] = {6};
        be_enqueue_internal(b, RQI_ASKING, 1, av, al);
        r->flags &= ~RQF_ASKING;
    }
    be_enqueue(b, r, bytes, len);
    if (bytes == r->req.p) r->req.len = 0;
}

void router_retry(proxy_req *r)
{
    ST_INC(r->w, retries);
    r->state = RQ_NEW;
    router_send(r, r->req.p, r->req.len);
}

void router_conn_lost(proxy_req *r, int written, const char *why)
{
    proxy_worker *w = r->w;
    if (written) {
        r->out.len = 0;
        resp_w_error_cstr(&r->out, why);
        r->state = RQ_NEW;
        worker_defer(w, r);
        return;
    }
    /* Not on the wire: route it again from scratch (ASK state included)
     * on the next loop iteration, when the map may know better. */
    r->flags &= ~RQF_ASKING;
    r->out.len = 0;
    resp_w_error_cstr(&r->out, why);
    if (!budget_left(r)) {
        ST_INC(w, budget_exhausted);
        r->state = RQ_NEW;
        worker_defer(w, r);
        return;
    }
    worker_retry_add(w, r, w->now_us);
}

void router_finish(proxy_req *r, const char *reply, size_t len)
{
    switch (r->type) {
    case RQT_CLIENT:
        if (r->flags & RQF_COMPLETED) return; /* completed twice: ignore */
        r->flags |= RQF_COMPLETED;
        if (r->c) client_req_complete(r, reply, len);
        req_release(r);
        break;
    case RQT_SUB:
        r->cb(r->parent, r->cbarg, reply ? reply : r->out.p, reply ? len : r->out.len);
        req_release(r);
        break;
    default:
        req_release(r);
        break;
    }
}

/* ---- replies: redirections ------------------------------------------------------ */

static int starts(const char *p, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len > n && memcmp(p, word, n) == 0;
}

/* "-MOVED 3999 127.0.0.1:6381\r\n" / "-ASK ...": slot and node. */
static be_node *parse_redirect(proxy_worker *w, const char *reply, size_t len, int *slot)
{
    const char *end = reply + len - 2; /* before CRLF */
    const char *sp1 = memchr(reply, ' ', (size_t)(end - reply));
    if (!sp1) return NULL;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
    if (!sp2) return NULL;
    long long s;
    if (!str_to_ll(sp1 + 1, (size_t)(sp2 - sp1 - 1), &s) || s < 0 || s >= SLOTMAP_NSLOTS) return NULL;
    *slot = (int)s;
    return be_node_from_addr(w, sp2 + 1, (size_t)(end - sp2 - 1));
}

void router_on_reply(backend *b, proxy_req *r, const char *reqbytes, const char *reply, size_t len)
{
    proxy_worker *w = r->w;
    if (len > 3 && reply[0] == '-') {
        int moved = starts(reply, len, "-MOVED "), ask = !moved && starts(reply, len, "-ASK ");
        if (moved || ask) {
            if (moved) {
                ST_INC(w, moved);
                topology_refresh_now(psrv.topo);
            } else {
                ST_INC(w, ask);
            }
            int slot = -1;
            be_node *n;
            if ((r->flags & RQF_NOREDIRECT) || r->redirects >= w->cfg->max_redirects ||
                !(n = parse_redirect(w, reply, len, &slot)))
                goto finish;
            r->redirects++;
            /* Copy the bytes first: re-sending may grow this connection's
             * buffer, and reqbytes points into it. */
            r->req.len = 0;
            buf_append(&r->req, reqbytes, r->len);
            if (moved) {
                if (r->target == RQT_SLOT) {
                    hint_set(w, slot, n);
                } else {
                    r->target = RQT_NODE;
                    r->node = n;
                }
            } else {
                r->node = n;
                r->flags |= RQF_ASKING;
            }
            r->state = RQ_NEW;
            router_send(r, r->req.p, r->req.len);
            return;
        }
        int tryagain = starts(reply, len, "-TRYAGAIN");
        int down = !tryagain && starts(reply, len, "-CLUSTERDOWN");
        int loading = !tryagain && !down && starts(reply, len, "-LOADING");
        if (tryagain || down || loading) {
            if (tryagain) ST_INC(w, tryagain);
            else if (down) ST_INC(w, clusterdown);
            else ST_INC(w, loading);
            if (down) topology_refresh_now(psrv.topo);
            if (budget_left(r)) {
                r->state = RQ_NEW;
                park(r, reqbytes, r->len, reply, len, 0);
                return;
            }
            ST_INC(w, budget_exhausted);
        }
    }
finish:
    r->out.len = 0; /* drop an error kept from an earlier attempt */
    router_finish(r, reply, len);
}

/* ---- dispatch of client commands --------------------------------------------------- */

static int has_block_arg(const proxy_cmd *cmd)
{
    for (int i = 1; i < cmd->argc; i++)
        if (arg_is(cmd->argv[i], cmd->argvlen[i], "block")) return 1;
    return 0;
}

static void refuse(proxy_req *r, const char *fmt, const proxy_cmd *cmd)
{
    char name[96], msg[256];
    cmd_fullname(cmd->meta, name, sizeof(name));
    snprintf(msg, sizeof(msg), fmt, name);
    proxy_req_error(r, msg);
}

void router_dispatch(proxy_client *c, proxy_req *r, const proxy_cmd *cmd)
{
    const cmd_meta *m = cmd->meta;
    int kind = cmd->kind;
    int slot;
    if (kind == PROXY_ROUTE_KEY && (m->flags & CMD_F_BLOCKING) && has_block_arg(cmd))
        kind = PROXY_ROUTE_LEASE; /* XREAD/XREADGROUP ... BLOCK */
    switch (kind) {
    case PROXY_ROUTE_KEY:
        slot = proxy_cmd_slot(cmd);
        if (slot == PROXY_SLOT_CROSS) {
            proxy_req_error(r, PROXY_ERR_CROSSSLOT);
            return;
        }
        if (slot >= 0) {
            r->target = RQT_SLOT;
            r->slot = slot;
        } else {
            r->target = RQT_ANY; /* no key: any master (or the node's own error) */
        }
        if (m->flags & CMD_F_READONLY) r->flags |= RQF_READ;
        router_send(r, cmd->raw, cmd->rawlen);
        return;
    case PROXY_ROUTE_ANY:
        r->target = RQT_ANY;
        router_send(r, cmd->raw, cmd->rawlen);
        return;
    case PROXY_ROUTE_SLOTARG: {
        long long s;
        if (cmd->argc > 2 && str_to_ll(cmd->argv[2], cmd->argvlen[2], &s) && s >= 0 && s < SLOTMAP_NSLOTS) {
            r->target = RQT_SLOT;
            r->slot = (int)s;
        } else {
            r->target = RQT_ANY; /* the node words the error */
        }
        router_send(r, cmd->raw, cmd->rawlen);
        return;
    }
    case PROXY_ROUTE_SPLIT:
        /* Keys in one slot need no splitting: the fast path. */
        slot = proxy_cmd_slot(cmd);
        if (slot >= 0) {
            r->target = RQT_SLOT;
            r->slot = slot;
            if (m->flags & CMD_F_READONLY) r->flags |= RQF_READ;
            router_send(r, cmd->raw, cmd->rawlen);
            return;
        }
        if (fanout_dispatch) {
            fanout_dispatch(r, cmd);
            return;
        }
        refuse(r, "CROSSSLOT Keys in request don't hash to the same slot (shoal-proxy was built "
                  "without the fanout module that splits '%s')", cmd);
        return;
    case PROXY_ROUTE_ALL:
        if (fanout_dispatch) {
            fanout_dispatch(r, cmd);
            return;
        }
        refuse(r, "ERR shoal-proxy: '%s' runs on every master, which needs the fanout module "
                  "(not built in)", cmd);
        return;
    case PROXY_ROUTE_LEASE:
        if (lease_dispatch) {
            lease_dispatch(r, cmd);
            return;
        }
        refuse(r, "ERR shoal-proxy: '%s' needs a dedicated connection, which needs the lease "
                  "module (not built in)", cmd);
        return;
    case PROXY_ROUTE_DENY:
        refuse(r, "ERR shoal-proxy: '%s' is not supported through the proxy", cmd);
        return;
    default:
        refuse(r, "ERR shoal-proxy: no route for '%s'", cmd);
        return;
    }
    (void)c;
}

/* ---- proxy.h: sub-requests ------------------------------------------------------------- */

static proxy_req *sub_new(proxy_req *parent, int flags, proxy_sub_cb *cb, void *arg)
{
    proxy_worker *w = parent->w;
    proxy_req *r = worker_req_new(w);
    r->type = RQT_SUB;
    r->parent = parent;
    parent->refs++;
    r->cb = cb;
    r->cbarg = arg;
    r->client_proto = parent->client_proto;
    r->proto = (flags & PROXY_SUB_RESP2) ? 2 : parent->client_proto;
    if (flags & PROXY_SUB_READ) r->flags |= RQF_READ;
    return r;
}

int proxy_sub_slot_raw(proxy_req *parent, int slot, int flags, const char *raw, size_t rawlen,
                       proxy_sub_cb *cb, void *arg)
{
    if (!parent || !cb || slot < 0 || slot >= SLOTMAP_NSLOTS || !raw || !rawlen) return -1;
    proxy_req *r = sub_new(parent, flags, cb, arg);
    r->target = RQT_SLOT;
    r->slot = slot;
    buf_append(&r->req, raw, rawlen); /* raw may be the client's buffer: keep our own */
    router_send(r, r->req.p, r->req.len);
    return 0;
}

int proxy_sub_slot(proxy_req *parent, int slot, int flags, int argc, const char *const *argv,
                   const size_t *argvlen, proxy_sub_cb *cb, void *arg)
{
    if (!parent || !cb || slot < 0 || slot >= SLOTMAP_NSLOTS || argc < 1) return -1;
    proxy_req *r = sub_new(parent, flags, cb, arg);
    r->target = RQT_SLOT;
    r->slot = slot;
    proxy_encode_cmd(&r->req, argc, argv, argvlen);
    router_send(r, r->req.p, r->req.len);
    return 0;
}

static int sub_node(proxy_req *parent, const slotmap_node *node, int flags, proxy_sub_cb *cb, void *arg,
                    proxy_req **out)
{
    if (!parent || !cb || !node || !node->ip[0] || !node->port) return -1;
    proxy_req *r = sub_new(parent, flags, cb, arg);
    r->target = RQT_NODE;
    r->node = be_node_get(parent->w, node->ip, node->port);
    r->flags |= RQF_NOREDIRECT;
    *out = r;
    return 0;
}

int proxy_sub_node(proxy_req *parent, const slotmap_node *node, int flags, int argc,
                   const char *const *argv, const size_t *argvlen, proxy_sub_cb *cb, void *arg)
{
    proxy_req *r;
    if (argc < 1 || sub_node(parent, node, flags, cb, arg, &r) < 0) return -1;
    proxy_encode_cmd(&r->req, argc, argv, argvlen);
    router_send(r, r->req.p, r->req.len);
    return 0;
}

int proxy_sub_node_raw(proxy_req *parent, const slotmap_node *node, int flags, const char *raw,
                       size_t rawlen, proxy_sub_cb *cb, void *arg)
{
    proxy_req *r;
    if (!raw || !rawlen || sub_node(parent, node, flags, cb, arg, &r) < 0) return -1;
    buf_append(&r->req, raw, rawlen);
    router_send(r, r->req.p, r->req.len);
    return 0;
}

const slotmap *proxy_map(proxy_worker *w)
{
    return worker_map(w);
}
