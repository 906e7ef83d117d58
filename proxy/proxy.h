/* proxy.h: the internal API between the shoal-proxy core and its command
 * modules -- proxy/fanout.c (multi-key commands split by node, whole-cluster
 * commands) and proxy/lease.c (MULTI/EXEC/WATCH, blocking commands,
 * SUBSCRIBE & co. on a dedicated backend connection).
 *
 * Threads: everything here runs on one worker thread, the one that owns the
 * client. Nothing is thread-safe across workers and nothing needs to be: a
 * client, its requests, its sub-requests and its leases all live on the
 * worker that accepted the client. No call blocks.
 *
 * Model:
 * - Every command a client sends becomes a proxy_req in the client's FIFO.
 *   Replies reach the client strictly in FIFO order, whenever each request
 *   completes. A module that receives a request must complete it exactly
 *   once (proxy_req_done / _reply / _error), now or later.
 * - A module talks to the cluster with sub-requests: commands sent to the
 *   master of a slot (MOVED/ASK/TRYAGAIN/CLUSTERDOWN absorbed by the core,
 *   exactly as for plain commands) or to a given node. Each sub-request calls
 *   its callback exactly once, always later (never from inside the call that
 *   created it), with the complete reply bytes -- which may be an error the
 *   proxy made up ("-ERR shoal-proxy: ...") when the node is unreachable or
 *   the retry budget ran out.
 * - Requests are reference counted by the core: a parent stays valid until
 *   it is completed AND all its sub-requests have called back, even if the
 *   client disconnects meanwhile (proxy_req_client() then returns NULL, and
 *   completing the request just discards the reply).
 * - Stateful modes use a lease: a dedicated, authenticated backend connection
 *   whose every reply (pushes included) goes to the module's callback.
 *
 * Module entry points: the core calls these if they are linked in (weak
 * references; without the module, the commands get a clear error):
 *   void fanout_init(void);   void lease_init(void);     at startup, before
 *                             the workers start (may call proxy_route_set)
 *   void fanout_dispatch(proxy_req *r, const proxy_cmd *cmd);
 *                             PROXY_ROUTE_SPLIT and PROXY_ROUTE_ALL commands
 *   void lease_dispatch(proxy_req *r, const proxy_cmd *cmd);
 *                             PROXY_ROUTE_LEASE commands
 */
#ifndef SHOAL_PROXY_H
#define SHOAL_PROXY_H
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "cmdtable.h"
#include "slotmap.h"

typedef struct proxy_worker proxy_worker;
typedef struct proxy_client proxy_client;
typedef struct proxy_req proxy_req;
typedef struct proxy_lease proxy_lease;

/* ---- Routing ------------------------------------------------------------
 * Each command id (cmd_meta.id; subcommands have their own) has one route
 * kind, looked up once per request. */
enum proxy_route_kind {
    PROXY_ROUTE_UNKNOWN = 0, /* not a Redis 7.0 command */
    PROXY_ROUTE_KEY,     /* all keys in one slot -> that slot's master (or a replica
                          * for read-only commands, per read-policy); CROSSSLOT
                          * otherwise; no key at all -> any master */
    PROXY_ROUTE_ANY,     /* keyless, node-independent -> any master (TIME, PUBLISH) */
    PROXY_ROUTE_SLOTARG, /* slot number in argv[2] (CLUSTER COUNTKEYSINSLOT/GETKEYSINSLOT) */
    PROXY_ROUTE_LOCAL,   /* answered by the proxy itself (cmd_local.c) */
    PROXY_ROUTE_SPLIT,   /* fanout_dispatch: split by node, merge in order */
    PROXY_ROUTE_ALL,     /* fanout_dispatch: every master */
    PROXY_ROUTE_LEASE,   /* lease_dispatch: dedicated connection */
    PROXY_ROUTE_DENY,    /* refused through the proxy (SHUTDOWN, REPLICAOF, ...) */
    PROXY_ROUTE__COUNT
};

/* A parsed client command, as a module sees it. Everything is borrowed and
 * valid only during the call it is passed to: copy what you keep. */
typedef struct proxy_cmd {
    const cmd_meta *meta;      /* the command (the subcommand for containers);
                                * NULL for an unknown command */
    int kind;                  /* enum proxy_route_kind */
    int arity_ok;              /* 0: the core would answer "wrong number of arguments" */
    int argc;
    const char *const *argv;
    const size_t *argvlen;
    const char *raw;           /* the request as RESP multibulk bytes ... */
    size_t rawlen;             /* ... (inline requests are re-encoded) */
} proxy_cmd;

/* Change the route kind of a command ("get", "config|set"); only from a
 * module's *_init. Returns 0, or -1 if the name is unknown. */
int proxy_route_set(const char *fullname, int kind);
int proxy_route_get(const cmd_meta *m);

/* The slot shared by all keys of cmd: >= 0; PROXY_SLOT_NOKEYS when the
 * command has no key; PROXY_SLOT_CROSS when keys hash to different slots;
 * PROXY_SLOT_BADARGS when keys can't be located (bad numkeys...). */
#define PROXY_SLOT_NOKEYS  (-1)
#define PROXY_SLOT_CROSS   (-2)
#define PROXY_SLOT_BADARGS (-3)
int proxy_cmd_slot(const proxy_cmd *cmd);

/* Redis's texts, for modules that refuse things the same way. */
#define PROXY_ERR_CROSSSLOT "CROSSSLOT Keys in request don't hash to the same slot"

/* ---- Requests ------------------------------------------------------------ */
proxy_client *proxy_req_client(proxy_req *r);  /* NULL once the client is gone */
proxy_worker *proxy_req_worker(proxy_req *r);
int proxy_req_proto(proxy_req *r);             /* client protocol, 2 or 3 */
/* One pointer for the module's per-request state (starts NULL; the module
 * frees what it hangs here, typically when it completes the request or
 * when the last sub-request calls back). */
void **proxy_req_udata(proxy_req *r);
/* The buffer the reply is built in (empty at first); write with the
 * resp_w_* writers using proxy_req_proto(r), then proxy_req_done. */
buf_t *proxy_req_out(proxy_req *r);
void proxy_req_done(proxy_req *r);
/* Shorthands: append bytes / "-<msg>\r\n" to the reply, then done. */
void proxy_req_reply(proxy_req *r, const char *bytes, size_t len);
void proxy_req_error(proxy_req *r, const char *msg);
/* Ask the client connection to be closed once this reply is written
 * (QUIT-like). Call before done. */
void proxy_req_close_after(proxy_req *r);

/* ---- Sub-requests -------------------------------------------------------- */
/* reply: one complete RESP reply (borrowed, valid during the call). */
typedef void proxy_sub_cb(proxy_req *parent, void *arg, const char *reply, size_t len);

#define PROXY_SUB_RESP2 0x1 /* use a RESP2 connection whatever the client speaks
                             * (default: the client's protocol, so replies can be
                             * passed through as they are) */
#define PROXY_SUB_READ  0x2 /* read-only: may go to a replica per read-policy */

/* To the master of slot (0..16383), redirections absorbed. Returns 0 (cb will
 * be called), or -1 on bad arguments (cb will not be called). */
int proxy_sub_slot(proxy_req *parent, int slot, int flags,
                   int argc, const char *const *argv, const size_t *argvlen,
                   proxy_sub_cb *cb, void *arg);
/* Same with a ready RESP multibulk command (e.g. cmd->raw). */
int proxy_sub_slot_raw(proxy_req *parent, int slot, int flags,
                       const char *raw, size_t rawlen, proxy_sub_cb *cb, void *arg);
/* To one node (a node of proxy_map(); only its ip and port are used, so the
 * pointer need not outlive the call). No redirection is followed: a MOVED
 * reaches cb as it is; TRYAGAIN/CLUSTERDOWN and unreachable nodes are
 * retried within the budget. */
int proxy_sub_node(proxy_req *parent, const slotmap_node *node, int flags,
                   int argc, const char *const *argv, const size_t *argvlen,
                   proxy_sub_cb *cb, void *arg);
int proxy_sub_node_raw(proxy_req *parent, const slotmap_node *node, int flags,
                       const char *raw, size_t rawlen, proxy_sub_cb *cb, void *arg);

/* ---- Cluster map --------------------------------------------------------- */
/* The current snapshot (NULL before the first one). Valid until the current
 * callback returns: look it up again in every callback, never keep node
 * pointers across callbacks. */
const slotmap *proxy_map(proxy_worker *w);

/* ---- Clients ------------------------------------------------------------- */
uint64_t proxy_client_id(const proxy_client *c);
int proxy_client_proto(const proxy_client *c);
proxy_worker *proxy_client_worker(proxy_client *c);

/* A mode hook (MULTI queueing, subscriber mode): while set, every command the
 * client sends -- after the protocol and authentication checks, before
 * routing, unknown commands and wrong arities included (see proxy_cmd) -- is
 * offered to fn first. fn returns 1 if it took the request (it will complete
 * r), 0 to let the core handle it as usual. fn NULL clears the hook. */
typedef int proxy_client_hook(proxy_req *r, const proxy_cmd *cmd, void *arg);
void proxy_client_set_hook(proxy_client *c, proxy_client_hook *fn, void *arg);
/* Called once when the client goes away (before its requests are orphaned),
 * so a module can release its leases. One per client; fn NULL clears. */
typedef void proxy_client_close_fn(proxy_client *c, void *arg);
void proxy_client_on_close(proxy_client *c, proxy_client_close_fn *fn, void *arg);
/* Out-of-band bytes (pub/sub messages) for the client, delivered after every
 * reply to requests it sent before this call. */
void proxy_client_push(proxy_client *c, const char *bytes, size_t len);
/* Counters CLIENT LIST shows (sub=, psub=, ssub=, multi=: -1 when not in
 * MULTI, else the number of queued commands); PROXY_KEEP leaves one as is.
 * sub/psub/ssub > 0 also selects the pubsub output-buffer limit. */
#define PROXY_KEEP (-2)
void proxy_client_set_modes(proxy_client *c, int sub, int psub, int ssub, int multi);

/* ---- Leases: dedicated backend connections ------------------------------- */
/* reply: one complete reply or push (borrowed, valid during the call). */
typedef void proxy_lease_reply_cb(proxy_lease *l, void *arg, const char *reply, size_t len);
/* The connection failed or dropped (why: text for an error reply). The lease
 * is dead: release it. Not called after proxy_lease_release. */
typedef void proxy_lease_close_cb(proxy_lease *l, void *arg, const char *why);

/* Opens a connection to ip:port speaking proto (2 or 3), authenticated with
 * the backend credentials (and READONLY when the read policy needs it).
 * Commands sent before it is connected are buffered. Never NULL. */
proxy_lease *proxy_lease_open(proxy_worker *w, const char *ip, int port, int proto,
                              proxy_lease_reply_cb *on_reply, proxy_lease_close_cb *on_close,
                              void *arg);
void proxy_lease_send(proxy_lease *l, int argc, const char *const *argv, const size_t *argvlen);
void proxy_lease_send_raw(proxy_lease *l, const char *raw, size_t len);
/* Close the connection and free the lease (no callback afterwards). */
void proxy_lease_release(proxy_lease *l);
/* "ip:port" of the leased node. */
const char *proxy_lease_addr(const proxy_lease *l);

/* ---- Misc ---------------------------------------------------------------- */
/* The text of the proxy's own INFO sections (server, clients, memory, stats,
 * cluster, commandstats, errorstats) as INFO [section...] would select
 * them -- the bulk's content, without the $len header. argv[0] is "info". */
void proxy_info_text(proxy_worker *w, buf_t *out, int argc, const char *const *argv,
                     const size_t *argvlen);
/* Encode argv as a RESP multibulk command. */
void proxy_encode_cmd(buf_t *out, int argc, const char *const *argv, const size_t *argvlen);

#endif
