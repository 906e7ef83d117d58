/* server: process-wide state of shoal-node (one instance, `srv`). */
#ifndef SHOAL_SERVER_H
#define SHOAL_SERVER_H
#include <stdint.h>
#include <stddef.h>
#include "util.h"

struct event_base;
struct client;

typedef struct server_stats {
    long long commands, connections, rejected_conns;
    long long expired_keys, evicted_keys, expired_stale_perc;
    long long keyspace_hits, keyspace_misses;
    long long net_input_bytes, net_output_bytes;
    long long error_replies;
    long long unexpected_error_replies;
    long long client_qbuf_limit_disconnections, client_obuf_limit_disconnections;
    long long total_reads, total_writes;
    long long io_coalesce_naps;   /* naps taken instead of sleeping in epoll_wait */
    long long blocked_keys_served;
} server_stats;

struct server {
    struct event_base *base;
    char       runid[41];
    long long  start_ms;
    long long  now_ms;            /* cached clock, refreshed per event */
    uint32_t   lruclock;          /* seconds, 24-bit wrap (LRU/LFU) */
    long long  dirty;             /* changes since start: commands bump it */
    long long  dirty_at_save;
    long long  lastsave;
    struct client *clients;       /* doubly linked list */
    size_t     nclients;
    /* Clients that sent something in the current / last whole millisecond
     * (io-coalesce: nap only when many are active, see server_run_loop). */
    busy_meter busy;
    uint64_t   next_client_id;
    struct client *pending_writes;/* clients with output to flush */
    struct client *current;       /* client whose command is executing */
    int        shutdown_asap;
    long long  pause_end_ms;      /* CLIENT PAUSE */
    int        pause_all;         /* 1 = ALL, 0 = WRITE */
    int        blocked_clients;
    int        pubsub_clients;
    int        loading;
    int        active_expire_disabled; /* DEBUG SET-ACTIVE-EXPIRE 0 */
    server_stats stat;
    int        listen_port;
    int        hz;
    double     stat_peak_memory;
    size_t     peak_memory;
};

extern struct server srv;

/* Updates srv.now_ms and the LRU clock; call at each event. */
void server_update_clock(void);
/* Flushes every client's pending output. */
void server_flush_pending(void);
/* Work done once per loop iteration after all ready events ran and before
 * the loop waits again (Redis's beforeSleep): deferred cluster work, then
 * the replies of every client served in this iteration. */
void server_before_sleep(void);
/* Counts c among the clients active this millisecond (io-coalesce). */
void server_note_active(struct client *c);
/* Runs the event loop until shutdown. */
void server_run_loop(void);
/* Orderly shutdown from SHUTDOWN or a signal. */
void server_shutdown(void);

#endif
