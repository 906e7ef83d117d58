/* router: decides where each request goes and what happens to its reply.
 * A table gives every command id a route kind (proxy.h) once at start; a
 * client command is then answered locally, sent to the master (or a
 * replica, per read-policy) of its keys' slot, handed to the fanout or
 * lease module, or refused. Replies come back through router_on_reply,
 * which absorbs MOVED (refresh the map, re-send to the named node), ASK
 * (ASKING + re-send to the target once), TRYAGAIN / CLUSTERDOWN / LOADING
 * and unreachable nodes (bounded retries with backoff), so a client sees
 * an error only when the budget (max-redirects, retry-max-ms) runs out.
 * Also implements the sub-request part of proxy.h. */
#ifndef SHOAL_PROXY_ROUTER_H
#define SHOAL_PROXY_ROUTER_H
#include <stddef.h>
#include "backend.h"
#include "client.h"
#include "proxy.h"

/* Build the route table and run the modules' init hooks (main thread,
 * before the workers start). */
void router_init(void);

/* A complete command from c (auth, arity... already checked by client.c);
 * r is its request, already in c's FIFO. */
void router_dispatch(proxy_client *c, proxy_req *r, const proxy_cmd *cmd);

/* Send r to its target now; bytes is a complete RESP command (it may be
 * r->req itself). Parks r for a retry when the target is unknown or down. */
void router_send(proxy_req *r, const char *bytes, size_t len);
/* r's reply arrived on b (r already popped from b's FIFO; reqbytes are its
 * bytes, valid during the call). */
void router_on_reply(backend *b, proxy_req *r, const char *reqbytes, const char *reply, size_t len);
/* r's connection was lost. written: its bytes reached the socket (it may
 * have run) -> error reply; else its bytes are in r->req -> retried. */
void router_conn_lost(proxy_req *r, int written, const char *why);
/* The retry time of r (in the worker's retry list) has come, or the map
 * changed: try to send it again (or give up when the budget is spent). */
void router_retry(proxy_req *r);
/* Final reply for r (client request or sub-request): deliver it and drop
 * the routing reference. reply NULL means "what is in r->out". */
void router_finish(proxy_req *r, const char *reply, size_t len);

/* Name of a route kind, for errors and PROXY INFO. */
const char *router_kind_name(int kind);

#endif
