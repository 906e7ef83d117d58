/* cron: periodic housekeeping — active expiry, incremental rehash, idle
 * client timeouts, resuming paused clients, memory peak, eviction after a
 * maxmemory change. */
#include "cron.h"
#include "client.h"
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "evict.h"
#include "mem.h"
#include "net.h"
#include "server.h"
#include <event2/event.h>

static struct event *tick, *cluster_tick;

static void resume_paused(void)
{
    if (srv.pause_end_ms > srv.now_ms) return;
    srv.pause_end_ms = 0;
    for (client *c = srv.clients, *next; c; c = next) {
        next = c->next;
        if (!(c->flags & CLIENT_PAUSED)) continue;
        c->flags &= ~CLIENT_PAUSED;
        /* Run the held command, then whatever followed it. */
        extern void net_run_held_command(client *c);
        net_run_held_command(c);
    }
}

static void close_idle_clients(void)
{
    if (cfg.timeout <= 0) return;
    for (client *c = srv.clients, *next; c; c = next) {
        next = c->next;
        if (c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED)) continue;
        if (client_subscription_count(c)) continue;
        if (srv.now_ms - c->last_ms > cfg.timeout * 1000) client_free(c);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    server_update_clock();
    int hz = srv.hz > 0 ? srv.hz : 10;
    /* Redis gives active expiry 25% of each cron period. */
    if (!srv.active_expire_disabled) db_active_expire_cycle(1000000 / hz / 4);
    db_cron();
    close_idle_clients();
    resume_paused();
    size_t used = mem_used();
    if (used > srv.peak_memory) srv.peak_memory = used;
    if (cfg.maxmemory) evict_free_memory();
}

void cron_set_hz(int hz)
{
    if (hz < 1) hz = 1;
    if (hz > 500) hz = 500;
    srv.hz = hz;
    if (!tick) return;
    struct timeval tv = {0, 1000000 / hz};
    event_add(tick, &tv);
}

/* The cluster bus has its own 100 ms cron (§7.1), whatever hz is. */
static void on_cluster_tick(evutil_socket_t fd, short what, void *arg)
{
    server_update_clock();
    cluster_cron();
}

void cron_start(void)
{
    if (cluster) {
        struct timeval tv = {0, 100000};
        cluster_tick = event_new(srv.base, -1, EV_PERSIST, on_cluster_tick, NULL);
        event_add(cluster_tick, &tv);
    }
    tick = event_new(srv.base, -1, EV_PERSIST, on_tick, NULL);
    cron_set_hz((int)cfg.hz);
}
