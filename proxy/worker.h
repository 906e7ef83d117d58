/* worker: one shoal-proxy worker thread -- its libevent loop, its own
 * SO_REUSEPORT listeners, its clients, its backend connections, its pool of
 * request objects, its retry queue and its counters. Nothing in a worker is
 * shared with another worker on the request path; the only cross-thread
 * traffic is the notification eventfd (new slot map, new config, CLIENT
 * KILL, stop) and the client registry that CLIENT LIST / KILL read under a
 * per-worker mutex.
 *
 * Each loop iteration runs every ready event (client reads route requests
 * into backend buffers, backend reads route replies into client buffers),
 * then flushes: one write per dirty backend, one write per dirty client. */
#ifndef SHOAL_PROXY_WORKER_H
#define SHOAL_PROXY_WORKER_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "config.h"
#include "proxy.h"
#include "slotmap.h"
#include "topology.h"
#include "util.h"

struct event_base;
struct event;
typedef struct backend backend;
typedef struct be_node be_node;

/* Per-worker counters; written by the owner only (ST_INC), read by INFO on
 * any worker with relaxed loads. */
typedef struct proxy_stats {
    uint64_t conns_accepted, conns_rejected;
    uint64_t commands, local_commands;
    uint64_t net_in, net_out;
    uint64_t moved, ask, tryagain, clusterdown, loading;
    uint64_t retries;             /* requests re-sent after a wait */
    uint64_t budget_exhausted;    /* the client got the error after the budget */
    uint64_t be_connects, be_connect_fail, be_conn_lost, be_timeouts;
    uint64_t be_failed_requests;  /* "connection lost" replies made up by the proxy */
    uint64_t be_auth_errors;
    uint64_t obuf_kills;
    uint64_t proto_errors;
    uint64_t io_coalesce_naps;    /* worker naps (io-coalesce-us) */
    uint64_t *calls, *usec, *failed; /* per command id */
} proxy_stats;

#define ST_ADD(w, f, n) __atomic_store_n(&(w)->st.f, (w)->st.f + (n), __ATOMIC_RELAXED)
#define ST_INC(w, f) ST_ADD(w, f, 1)
#define ST_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

enum { WN_MAP = 1, WN_CONFIG = 2, WN_KILL = 4, WN_STOP = 8 };

struct proxy_worker {
    int id;
    pthread_t thread;
    struct event_base *base;
    int n_listen;
    int listen_fd[16];
    struct event *listen_ev[16];
    /* notifications from other threads */
    int notify_fd;                 /* eventfd */
    struct event *notify_ev;
    atomic_int notify_flags;       /* WN_* */
    /* config snapshot in use by this worker (refcounted) */
    proxy_config *cfg;
    /* slot map: read section open from the first lookup of an iteration to
     * its end, so a snapshot stays valid through the callbacks that use it */
    slotmap_reader *reader;
    const slotmap *map;
    int in_section;
    uint64_t map_version;          /* version the node cache was built for */
    be_node **map_nodes;           /* map node index -> be_node (cache) */
    uint32_t map_nodes_cap;
    be_node **slot_hint;           /* MOVED targets not yet in the map (or NULL) */
    /* backends */
    be_node *nodes;                /* every node this worker talked to */
    backend *dirty_be;             /* to flush at the end of the iteration */
    backend *all_be;               /* every connection, leases included */
    /* clients */
    proxy_client *dirty_cl;        /* to flush at the end of the iteration */
    proxy_client *closing;         /* to free at the end of the iteration */
    proxy_client *held;            /* output held back for a pipeline's rest */
    struct event *hold_ev;         /* bounds how long output is held */
    pthread_mutex_t reg_lock;      /* guards the registry links and names */
    proxy_client *clients;         /* registry (CLIENT LIST) */
    int n_clients;
    /* requests */
    proxy_req *free_reqs;          /* pool */
    int n_free_reqs;
    proxy_req *retry_head, *retry_tail; /* waiting to be re-routed, in order */
    struct event *retry_ev;
    long long retry_armed_us;      /* when retry_ev fires, 0 if not armed */
    proxy_req *deferred, *deferred_tail; /* completions to run after this iteration */
    buf_t scratch;                 /* re-encoded inline commands etc. */
    int stop;
    int cron_ticks;
    struct event *cron_ev;
    struct event *kick_ev;         /* zero timer: more work without sleeping */
    long long now_us;              /* monotonic, refreshed per callback batch */
    /* io-coalesce-us: client reads, and clients that read something per ms */
    uint64_t client_reads;
    busy_meter busy;
    unsigned rr;                   /* round robin for ANY routes and replicas */
    proxy_stats st;
};

/* Process-wide state (set up by main.c before the workers start). */
typedef struct proxy_server {
    proxy_config *_Atomic cfg;     /* current snapshot (main thread swaps it) */
    proxy_config *boot_cfg;        /* as loaded at start (static keys) */
    const char *config_path;
    topology *topo;
    proxy_worker **workers;
    int n_workers;
    char node_id[41];              /* the one node the proxy pretends to be */
    long long start_ms;
    char executable[1024];
    atomic_int n_clients;          /* for maxclients */
    atomic_uint_fast64_t next_client_id;
    atomic_uint_fast64_t topology_changes;
    atomic_int stopping;
} proxy_server;

extern proxy_server psrv;

/* Check that the listening addresses are free (before any worker binds
 * them with SO_REUSEPORT). 0, or -1 with err. */
int worker_probe_listen(const proxy_config *cfg, char *err, size_t errlen);
/* Create a worker: its event base, listeners (bind/port of cfg, with
 * SO_REUSEPORT) and map reader. Returns NULL with err. */
proxy_worker *worker_new(int id, proxy_config *cfg, char *err, size_t errlen);
int worker_start(proxy_worker *w);
void worker_notify(proxy_worker *w, int flags);
/* Stop the thread and wait for it (idempotent). */
void worker_stop(proxy_worker *w);
/* Stop if running, then free. */
void worker_join_free(proxy_worker *w);

/* The current map for this iteration (opens the read section). */
const slotmap *worker_map(proxy_worker *w);
/* be_node for a node index of the current map (cached per map version). */
be_node *worker_map_node(proxy_worker *w, int idx);

/* Request pool. */
proxy_req *worker_req_new(proxy_worker *w);
void worker_req_free(proxy_worker *w, proxy_req *r);

/* Schedule a retry of r (not in any backend FIFO) at due_us (monotonic). */
void worker_retry_add(proxy_worker *w, proxy_req *r, long long due_us);
void worker_retry_remove(proxy_worker *w, proxy_req *r);
/* Run a completion after the current iteration's callbacks. */
void worker_defer(proxy_worker *w, proxy_req *r);

void worker_mark_be_dirty(proxy_worker *w, backend *b);
void worker_mark_client_dirty(proxy_worker *w, proxy_client *c);
/* A client read something (io-coalesce-us counts reads and busy clients). */
void worker_note_active(proxy_worker *w, proxy_client *c);
/* The client's ready output waits for the rest of its pipeline (see
 * client_flush); after at most `us` it is looked at again. */
void worker_hold_client(proxy_worker *w, proxy_client *c, long long us);
/* Take a client off the held list (it is being freed). */
void worker_unhold_client(proxy_worker *w, proxy_client *c);

/* Registry of clients (for CLIENT LIST / KILL). */
void worker_register_client(proxy_worker *w, proxy_client *c);
void worker_unregister_client(proxy_worker *w, proxy_client *c);

#endif
