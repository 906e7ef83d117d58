/* server: the shared state, the clock, the end-of-event output flush and
 * the periodic cron (expiry, rehash, timeouts, unpause). */
#include "server.h"
#include "blocking.h"
#include "client.h"
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "net.h"
#include "util.h"
#include <event2/event.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>

struct server srv;

void server_update_clock(void)
{
    srv.now_ms = time_ms();
    /* LRU clock in seconds, 24 bits: wraps every ~194 days, like Redis. */
    srv.lruclock = (uint32_t)((srv.now_ms / 1000) & 0xFFFFFF);
}

/* client-output-buffer-limit: hard limit closes at once; soft limit closes
 * when exceeded continuously for soft_seconds. Class: pubsub clients use
 * the pubsub limits, everyone else the normal ones. */
static int obuf_over_limit(client *c)
{
    size_t pending = c->obuf.len - c->obuf_written;
    const struct cfg_obuf_limit *l = &cfg.obuf_limits.c[client_subscription_count(c) ? CFG_CLIENT_PUBSUB : CFG_CLIENT_NORMAL];
    if (l->hard && pending >= (size_t)l->hard) return 1;
    if (l->soft && pending >= (size_t)l->soft) {
        if (!c->obuf_soft_since) c->obuf_soft_since = srv.now_ms;
        else if (srv.now_ms - c->obuf_soft_since >= l->soft_seconds * 1000) return 1;
    } else {
        c->obuf_soft_since = 0;
    }
    return 0;
}

void server_flush_pending(void)
{
    while (srv.pending_writes) {
        client *c = srv.pending_writes;
        srv.pending_writes = c->pw_next;
        c->pw_next = NULL;
        c->flags &= ~CLIENT_PENDING_WRITE;
        if (c->flags & CLIENT_CLOSE_ASAP) {
            client_free(c);
            continue;
        }
        if (obuf_over_limit(c)) {
            log_warning("closing client %s: over client-output-buffer-limit", c->addr);
            srv.stat.client_obuf_limit_disconnections++;
            client_free(c);
            continue;
        }
        net_write(c);
    }
}

void server_before_sleep(void)
{
    /* nodes.conf is saved (and fsynced) before any reply that depends on
     * the change goes out. */
    if (cluster) cluster_do_before_sleep();
    server_flush_pending();
}

void server_note_active(client *c) { busy_note(&srv.busy, srv.now_ms, &c->active_ms); }

/* An empty poll naps only when many clients sent something in the last
 * millisecond and this many reads came in since we last slept. With a few
 * clients a nap would just be their latency. Two or more reads in one poll
 * are worth a look without blocking. */
#define COALESCE_MIN_CLIENTS 16
#define COALESCE_NAP_READS 8
#define COALESCE_PROBE_READS 2

void server_run_loop(void)
{
    /* Interrupt moderation for many small requests. With dozens of clients
     * each sending one command at a time, sleeping in epoll_wait means being
     * woken for the first command that arrives, handling a few, and sleeping
     * again: each wake-up is paid by the client's write (a cross-CPU wake,
     * dear in a VM). So while many clients are busy, an empty poll naps for
     * io-coalesce-us on a timer nobody has to wake, and the next poll takes
     * the whole batch that arrived meanwhile. Pipelined load rarely finds the
     * poll empty, so it rarely naps. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* the default 50 us slack would dwarf the nap */
    long long busy = 0;   /* reads since we last slept */
    int probe = 0;        /* poll without blocking (busy enough to nap instead) */
    while (!srv.shutdown_asap) {
        long long r0 = srv.stat.total_reads;
        if (event_base_loop(srv.base, probe ? EVLOOP_NONBLOCK : EVLOOP_ONCE) < 0) break;
        server_before_sleep();
        long long got = srv.stat.total_reads - r0;
        if (probe && !got) {
            if (busy >= COALESCE_NAP_READS && srv.busy.prev >= COALESCE_MIN_CLIENTS) {
                struct timespec ts = {0, cfg.io_coalesce_us * 1000};
                nanosleep(&ts, NULL);
                srv.stat.io_coalesce_naps++;
            }
            busy = 0;
            probe = 0;
            continue;
        }
        if (!probe) busy = 0;  /* we slept in epoll_wait */
        busy += got;
        probe = cfg.io_coalesce_us > 0 && busy >= COALESCE_PROBE_READS;
    }
}

void server_shutdown(void)
{
    srv.shutdown_asap = 1;
    event_base_loopbreak(srv.base);
}
