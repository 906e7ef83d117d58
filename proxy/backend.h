/* backend: a worker's connections to cluster nodes. Per node (be_node, keyed
 * by address), backend-connections multiplexed, pipelined connections per
 * protocol (RESP2, and RESP3 for HELLO 3 clients -- made lazily), each
 * carrying many clients' requests; replies are matched to requests in FIFO
 * order and framed with common/resp_scan (bytes are forwarded as they are).
 *
 * Output stream: requests are appended to the connection's write buffer
 * and stay there until their reply arrives (a request's bytes are at a
 * fixed stream offset, seq), so a redirected request is re-sent from there
 * without a second copy on the normal path. The prefix before the oldest
 * unanswered request is dropped as replies come in.
 *
 * Connection loss: requests already written get "-ERR ... connection lost"
 * (they may have run); the ones not yet written go back to the router. A
 * node that does not answer within request-timeout-ms is treated as lost,
 * so a hung node never hangs the proxy.
 *
 * Leases: a backend can also be owned by a proxy_lease (proxy.h), whose
 * callback then gets every reply. */
#ifndef SHOAL_PROXY_BACKEND_H
#define SHOAL_PROXY_BACKEND_H
#include <stdint.h>
#include "buf.h"
#include "resp_scan.h"
#include "slotmap.h"
#include "worker.h"

#define BE_MAX_CONNS 16

enum { BE_DOWN = 0, BE_CONNECTING, BE_UP };

struct be_node {
    proxy_worker *w;
    char ip[SLOTMAP_IPLEN + 1];
    int port;
    char addr[SLOTMAP_IPLEN + 8];          /* "ip:port" */
    backend *conns[2][BE_MAX_CONNS];       /* [0] RESP2, [1] RESP3 */
    long long down_until_us;               /* connect failed: not before this */
    int fail_streak;                       /* consecutive failed connects */
    char last_error[128];
    be_node *next;
};

struct backend {
    proxy_worker *w;
    be_node *node;
    int proto;
    int conn_idx;                          /* in node->conns, -1 for a lease */
    proxy_lease *lease;                    /* owner, for leased connections */
    int fd;
    struct event *rev, *wev;
    int state;                             /* BE_* */
    int writing;                           /* wev added */
    int ever_up;                           /* this connection got connected */
    int in_read;                           /* inside the read callback */
    int close_pending;                     /* closed while in_read */
    int quiet;                             /* closing on purpose: no log, no refresh */
    int lease_tried;                       /* a lease connects once, never again */
    int readonly;                          /* READONLY sent on this connection */
    char close_why[128];
    buf_t wbuf;                            /* p[0] is stream offset wbase */
    uint64_t wbase;
    uint64_t sent;                         /* stream offset written so far */
    buf_t rbuf;
    resp_scanner sc;
    proxy_req *head, *tail;                /* requests awaiting replies, in order */
    int inflight;
    long long connect_start_us;
    int dirty;
    backend *dirty_next;
    backend *all_prev, *all_next;          /* worker's list of every backend */
};

/* Find or create the worker's entry for ip:port. */
be_node *be_node_get(proxy_worker *w, const char *ip, int port);
/* "ip:port" as in a MOVED reply (IPv6 has no brackets there: the port is
 * after the last colon). NULL if malformed. */
be_node *be_node_from_addr(proxy_worker *w, const char *addr, size_t len);
/* A connection to n for protocol proto, chosen by hint among the
 * backend-connections ones; connects lazily. NULL while the node is in its
 * reconnect backoff after failed connects (or if connect() fails at once). */
backend *be_get(be_node *n, int proto, uint64_t hint);

/* Queue r's bytes (a complete RESP command) and r itself at the tail. */
void be_enqueue(backend *b, proxy_req *r, const char *bytes, size_t len);
/* Queue an internal command (AUTH, HELLO, READONLY, ASKING) whose reply
 * the proxy consumes. */
void be_enqueue_internal(backend *b, int kind, int argc, const char *const *argv, const size_t *argvlen);
/* Queue READONLY unless this connection already sent it (replica reads). */
void be_ensure_readonly(backend *b);
/* Bytes of r, which is in b's FIFO or was just popped from it. */
const char *be_req_bytes(backend *b, const proxy_req *r);

/* Write what is pending (end of iteration). */
void be_flush(backend *b);
/* Close: fail written requests, hand unwritten ones back to the router. */
void be_close(backend *b, const char *why);
/* Connect and request timeouts; run by the worker's cron. */
void be_cron(proxy_worker *w);
/* Close everything (worker exit). */
void be_shutdown(proxy_worker *w);

/* Lease plumbing for proxy.h's proxy_lease_*. */
backend *be_new_leased(proxy_worker *w, be_node *n, int proto, proxy_lease *l);
void lease_backend_reply(proxy_lease *l, const char *reply, size_t len);
void lease_backend_closed(proxy_lease *l, const char *why);

/* Counters for INFO: connections up / total across the worker. */
void be_count(proxy_worker *w, int *up, int *total, int *leased);

#endif
