/* topology: the proxy's cluster observer. One thread with its own libevent
 * event_base keeps a TCP connection to every known node's cluster bus port,
 * sends it a PING (never MEET) every ping interval, and learns the cluster
 * from the PONGs: each PONG states its sender's ID, role, master, configEpoch
 * and the slots it serves, and its gossip names other nodes (address, ports,
 * fail?/fail). Nodes answer a PING from an unknown sender without adding it
 * to their node table (bus-protocol.md §6, §24), so the observer never shows
 * up in CLUSTER NODES. The slot map is resolved with the cluster's own rule
 * (slotmap.h: highest configEpoch per slot) and published as an immutable
 * slotmap snapshot only when something changed.
 *
 * Bootstrap and fallback: CLUSTER SHARDS (CLUSTER SLOTS if SHARDS is not
 * understood) from the first reachable seed, with hiredis (synchronous,
 * bounded timeouts); run at start, and again when no PONG arrived from any
 * node for fallback_ms.
 *
 * Threads: topology_new/start/stop/free from one controlling thread;
 * topology_refresh_now, topology_current/release, topology_reader_register
 * and topology_describe from any thread. */
#ifndef SHOAL_TOPOLOGY_H
#define SHOAL_TOPOLOGY_H
#include <stdint.h>
#include "buf.h"
#include "slotmap.h"

typedef struct topology topology;

typedef struct topology_config {
    /* "host:port" client addresses of cluster nodes (IPv6 as "[addr]:port");
     * "host:port@cport" also gives the bus port (default port + 10000). */
    const char *const *seeds;
    int n_seeds;
    int ping_interval_ms;   /* PING every node this often; default 100 */
    int connect_timeout_ms; /* bus connect; default 1000 */
    int pong_timeout_ms;    /* PING unanswered this long: drop the link; default 2000 */
    int redis_timeout_ms;   /* hiredis connect and command timeout; default 1000 */
    int fallback_ms;        /* no PONG from anyone this long: bootstrap again; default 5000 */
    int forget_ms;          /* drop a slot-less node nobody mentions for this long; default 60000 */
    int max_readers;        /* reader slots for worker threads; default 64 */
    const char *username;   /* AUTH for the bootstrap connection (NULL: none) */
    const char *password;
    /* Called on the observer thread right after each publish (may be NULL).
     * The snapshot is valid for the duration of the call. */
    void (*on_publish)(const slotmap *m, void *arg);
    void *on_publish_arg;
} topology_config;

/* Fill cfg with the defaults above (seeds left empty). */
void topology_config_init(topology_config *cfg);

/* Validate cfg and copy what it needs (seeds, credentials). Returns NULL
 * with a message in err on a bad seed or value. Nothing runs yet. */
topology *topology_new(const topology_config *cfg, char *err, size_t errlen);
/* Start the observer thread (bootstrap, then the bus). 0 or -1. */
int topology_start(topology *t);
/* Block until a first snapshot is published or timeout_ms passes
 * (0 = don't wait). Returns 1 if a snapshot exists. */
int topology_wait_ready(topology *t, int timeout_ms);
/* Stop and join the observer thread (idempotent). */
void topology_stop(topology *t);
/* Stop if running, then free everything. No reader may be in a section and
 * no acquired snapshot may still be held. */
void topology_free(topology *t);

/* Ask for fresh information now (after a MOVED, a lost backend link...):
 * the observer pings every node at once, reconnects dead links without
 * waiting for their backoff, and bootstraps if no link is up. Any thread,
 * never blocks, coalesces bursts. */
void topology_refresh_now(topology *t);

/* The current snapshot, pinned until topology_release (NULL before the
 * first one). Any thread; takes a short mutex, so workers should prefer a
 * reader (below) on the request path. */
const slotmap *topology_current(topology *t);
void topology_release(topology *t, const slotmap *m);
/* Worker fast path: a reader slot for slotmap_read_begin/end (lock-free).
 * NULL when all cfg.max_readers slots are taken. */
slotmap_reader *topology_reader_register(topology *t);
slotmap_domain *topology_domain(topology *t);

/* The observer's random 40-hex sender ID (never a cluster member). */
const char *topology_observer_id(const topology *t);

typedef struct topology_stats {
    uint64_t pings_sent, pongs_received, connects, connect_failures;
    uint64_t link_drops;       /* timeouts, resets, bad frames */
    uint64_t frame_errors, decode_errors;
    uint64_t bootstraps, bootstrap_failures, publishes, refreshes;
    uint64_t known_nodes, links_up;
    long long last_pong_ms;    /* wall clock of the last PONG, 0 if none */
    long long last_bootstrap_ms;
} topology_stats;
void topology_get_stats(topology *t, topology_stats *st);

/* Text for PROXY TOPOLOGY: the observer's ID and counters, then the current
 * map (slotmap_describe: version, source, age, nodes, roles, slot ranges).
 * Any thread. */
void topology_describe(topology *t, buf_t *out);

#endif
