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

void server_run_loop(void)
{
    /* EVLOOP_ONCE: wait for events, run every active callback, return.
     * That gives a point after each iteration for the batched writes. */
    while (!srv.shutdown_asap) {
        if (event_base_loop(srv.base, EVLOOP_ONCE) < 0) break;
        server_before_sleep();
    }
}

void server_shutdown(void)
{
    srv.shutdown_asap = 1;
    event_base_loopbreak(srv.base);
}
