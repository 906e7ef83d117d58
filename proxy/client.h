/* client: one client session of shoal-proxy. Reads and parses requests
 * (common/resp.h), hands each to the router, keeps the per-client FIFO of
 * requests and writes the replies strictly in request order; enforces the
 * output buffer limit, the in-flight cap (stops reading while too much is
 * pending), idle timeout and protocol errors.
 *
 * Also defines proxy_req (a request in flight: a client command, a module's
 * sub-request, or an internal handshake command) since client.c, router.c
 * and backend.c all handle it. */
#ifndef SHOAL_PROXY_CLIENT_H
#define SHOAL_PROXY_CLIENT_H
#include <stdatomic.h>
#include <stdint.h>
#include "buf.h"
#include "proxy.h"
#include "resp.h"

typedef struct backend backend;
typedef struct be_node be_node;

enum { RQ_NEW = 0, RQ_INFLIGHT, RQ_WAIT, RQ_DONE };
enum { RQT_CLIENT = 0, RQT_SUB, RQT_INTERNAL };
enum { RQT_SLOT = 0, RQT_NODE, RQT_ANY };            /* targets */
enum { RQI_NONE = 0, RQI_AUTH, RQI_HELLO, RQI_READONLY, RQI_ASKING }; /* internal kinds */

#define RQF_READ        0x01  /* read-only: replicas allowed per policy */
#define RQF_CLOSE_AFTER 0x02  /* close the client after this reply */
#define RQF_ORPHAN      0x04  /* the client went away */
#define RQF_ASKING      0x08  /* next send goes to ->node with ASKING first */
#define RQF_NOREDIRECT  0x10  /* node-targeted sub: MOVED/ASK go to the callback */
#define RQF_COMPLETED   0x20  /* completion already run (parents) */
#define RQF_PUSH        0x40  /* out-of-band bytes queued by proxy_client_push */

struct proxy_req {
    proxy_worker *w;
    proxy_client *c;          /* owner client (NULL for sub/internal, or once orphaned) */
    proxy_req *cnext;         /* client FIFO */
    proxy_req *bnext;         /* backend FIFO, retry list or deferred list */
    proxy_req *rprev;         /* retry list (doubly linked) */
    backend *be;              /* backend whose FIFO holds it */
    uint64_t seq;             /* its bytes in be's output stream */
    uint32_t len;
    uint32_t refs;
    uint8_t state;            /* RQ_* */
    uint8_t type;             /* RQT_* */
    uint8_t target;           /* RQT_SLOT / RQT_NODE / RQT_ANY */
    uint8_t internal;         /* RQI_* */
    uint8_t flags;            /* RQF_* */
    uint8_t redirects;
    uint8_t proto;            /* backend connection protocol (2/3) */
    uint8_t client_proto;     /* client protocol when the request arrived */
    int slot;                 /* RQT_SLOT */
    int cmd_id;               /* for stats; -1 if none */
    be_node *node;            /* RQT_NODE target, or the ASK target */
    long long t_start_us;     /* arrival (latency and retry budget) */
    long long t_sent_us;      /* queued on its current backend (timeouts) */
    int retry_ms;             /* current backoff */
    long long retry_due_us;
    buf_t req;                /* request bytes while not on a backend */
    buf_t out;                /* the reply, until it is this request's turn */
    /* sub-requests */
    proxy_req *parent;
    proxy_sub_cb *cb;
    void *cbarg;
    void *udata;              /* module state (proxy_req_udata) */
};

typedef struct proxy_client {
    proxy_worker *w;
    uint64_t id;
    int fd;
    struct event *rev, *wev;
    int reading;              /* rev added */
    int writing;              /* wev added */
    buf_t qbuf;
    resp_parser parser;
    buf_t wbuf;
    proxy_req *head, *tail;   /* FIFO of pending requests */
    int npending;
    size_t reply_avg;         /* moving average of reply sizes (flow control) */
    int proto;
    int authed;
    int flags;
    char *name;               /* CLIENT SETNAME (under w->reg_lock) */
    char addr[64], laddr[64];
    long long ctime_ms, last_ms;
    long long active_ms;      /* the millisecond w->busy last counted it in */
    int last_cmd_id;
    long long soft_since_ms;  /* output over the soft limit since, 0 if not */
    int sub, psub, ssub, multi; /* counters shown by CLIENT LIST */
    proxy_client_hook *hook;
    void *hook_arg;
    proxy_client_close_fn *on_close;
    void *on_close_arg;
    struct proxy_client *dirty_next, *close_next, *held_next;
    struct proxy_client *reg_prev, *reg_next;
    atomic_int killed;        /* CLIENT KILL from any worker */
} proxy_client;

#define CL_DIRTY       0x01
#define CL_CLOSE_ASAP  0x02   /* free at the end of the iteration, no more output */
#define CL_CLOSE_AFTER 0x04   /* close once wbuf is written */
#define CL_PAUSED      0x08   /* reading stopped: too many pending requests */
#define CL_CLOSING     0x10   /* on w->closing */
#define CL_NOREAD      0x20   /* QUIT or protocol error: read nothing more */
#define CL_HELD        0x40   /* on w->held (output waits for its pipeline) */

/* Takes over an accepted, non-blocking socket. */
void client_new(proxy_worker *w, int fd);
/* Free now (end of iteration): orphan in-flight requests, unregister. */
void client_free(proxy_client *c);
/* Mark for closing at the end of the iteration (why: logged at verbose). */
void client_close_async(proxy_client *c, const char *why);
/* Write as much of wbuf as the socket takes; arm the write event if not all. */
void client_flush(proxy_client *c);
/* Enforce output limits; 1 if the client was closed. */
int client_check_obuf(proxy_client *c);

/* Append a request to the client's FIFO (takes a reference). */
void client_fifo_push(proxy_client *c, proxy_req *r);
/* A client request's reply is complete in r->out (or given here): deliver
 * it in order. Drops the FIFO's reference when it leaves the FIFO. */
void client_req_complete(proxy_req *r, const char *reply, size_t len);
/* Account a reply for INFO (per-command calls, latency, failures). */
void client_count_reply(proxy_worker *w, int cmd_id, long long t_start_us, const char *reply, size_t len);

/* Release a reference; frees the request when the last one goes. */
void req_release(proxy_req *r);

/* Re-check queued reads after the worker resumes a paused client. */
void client_resume(proxy_client *c);

#endif
