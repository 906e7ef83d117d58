/* worker: a shoal-proxy worker thread (see worker.h). */
#define _GNU_SOURCE
#include "worker.h"
#include "backend.h"
#include "client.h"
#include "log.h"
#include "mem.h"
#include "router.h"
#include "util.h"
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

proxy_server psrv;

/* Pooled request objects per worker: enough for deep pipelines of many
 * clients without returning memory to malloc on every request. */
#define REQ_POOL_MAX 8192
/* Buffers of pooled requests keep this much capacity. */
#define REQ_BUF_KEEP 16384
/* Cron period: connect/request timeouts, idle clients. */
#define CRON_MS 100

static int open_listener(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char ps[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(ps, sizeof(ps), "%d", port);
    const char *h = host;
    if (!strcmp(h, "*")) h = "0.0.0.0";
    int rc = getaddrinfo(h, ps, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "bind %s:%d: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        /* Every worker listens on its own socket; the kernel spreads new
         * connections over them, so accept never needs a lock. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 511) == 0) break;
        snprintf(err, errlen, "bind %s:%d: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int worker_probe_listen(const proxy_config *cfg, char *err, size_t errlen)
{
    /* SO_REUSEPORT would let a second proxy (or anything else of ours)
     * share the port silently; a plain bind first fails if anyone holds it. */
    for (int i = 0; i < cfg->bind.n; i++) {
        struct addrinfo hints, *res = NULL;
        char ps[16];
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        snprintf(ps, sizeof(ps), "%lld", cfg->port);
        const char *h = strcmp(cfg->bind.v[i], "*") ? cfg->bind.v[i] : "0.0.0.0";
        int rc = getaddrinfo(h, ps, &hints, &res);
        if (rc != 0) {
            snprintf(err, errlen, "bind %s:%lld: %s", cfg->bind.v[i], cfg->port, gai_strerror(rc));
            return -1;
        }
        int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1, ok = fd >= 0;
        if (ok) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
            ok = bind(fd, res->ai_addr, res->ai_addrlen) == 0;
            if (!ok) snprintf(err, errlen, "bind %s:%lld: %s", cfg->bind.v[i], cfg->port, strerror(errno));
            close(fd);
        } else {
            snprintf(err, errlen, "socket: %s", strerror(errno));
        }
        freeaddrinfo(res);
        if (!ok) return -1;
    }
    return 0;
}

static void on_accept(evutil_socket_t lfd, short ev, void *arg)
{
    proxy_worker *w = arg;
    w->now_us = mono_us();
    for (int i = 0; i < 64; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_warning("accept: %s", strerror(errno));
            return;
        }
        int n = atomic_fetch_add(&psrv.n_clients, 1);
        if (n >= w->cfg->maxclients) {
            atomic_fetch_sub(&psrv.n_clients, 1);
            static const char msg[] = "-ERR max number of clients reached\r\n";
            ssize_t wr = write(fd, msg, sizeof(msg) - 1);
            (void)wr;
            close(fd);
            ST_INC(w, conns_rejected);
            continue;
        }
        ST_INC(w, conns_accepted);
        client_new(w, fd);
    }
}

/* ---- request pool ---------------------------------------------------- */

proxy_req *worker_req_new(proxy_worker *w)
{
    proxy_req *r = w->free_reqs;
    if (r) {
        w->free_reqs = r->bnext;
        w->n_free_reqs--;
        buf_t keep_req = r->req, keep_out = r->out;
        memset(r, 0, sizeof(*r));
        r->req = keep_req;
        r->out = keep_out;
    } else {
        r = xcalloc(1, sizeof(*r));
    }
    r->w = w;
    r->cmd_id = -1;
    r->slot = -1;
    r->proto = 2;
    r->client_proto = 2;
    r->refs = 1;
    r->t_start_us = w->now_us;
    return r;
}

void worker_req_free(proxy_worker *w, proxy_req *r)
{
    if (w->n_free_reqs >= REQ_POOL_MAX) {
        buf_free(&r->req);
        buf_free(&r->out);
        xfree(r);
        return;
    }
    buf_reset(&r->req, REQ_BUF_KEEP);
    buf_reset(&r->out, REQ_BUF_KEEP);
    r->bnext = w->free_reqs;
    w->free_reqs = r;
    w->n_free_reqs++;
}

/* ---- retry queue ------------------------------------------------------ */

static void arm_retry(proxy_worker *w, long long due)
{
    if (w->retry_armed_us && w->retry_armed_us <= due) return;
    long long d = due - w->now_us;
    if (d < 0) d = 0;
    struct timeval tv = {(time_t)(d / 1000000), (suseconds_t)(d % 1000000)};
    evtimer_add(w->retry_ev, &tv);
    w->retry_armed_us = due;
}

void worker_retry_add(proxy_worker *w, proxy_req *r, long long due_us)
{
    r->state = RQ_WAIT;
    r->retry_due_us = due_us;
    r->bnext = NULL;
    r->rprev = w->retry_tail;
    if (w->retry_tail) w->retry_tail->bnext = r;
    else w->retry_head = r;
    w->retry_tail = r;
    arm_retry(w, due_us);
}

void worker_retry_remove(proxy_worker *w, proxy_req *r)
{
    if (r->rprev) r->rprev->bnext = r->bnext;
    else w->retry_head = r->bnext;
    if (r->bnext) r->bnext->rprev = r->rprev;
    else w->retry_tail = r->rprev;
    r->bnext = r->rprev = NULL;
}

/* Run every waiting request that is due (all of them when force: the map
 * changed, so a parked request may have somewhere to go now). */
static void run_retries(proxy_worker *w, int force)
{
    proxy_req *due = NULL, *due_tail = NULL;
    long long next = 0;
    w->now_us = mono_us();
    for (proxy_req *r = w->retry_head, *nx; r; r = nx) {
        nx = r->bnext;
        if (force || r->retry_due_us <= w->now_us) {
            worker_retry_remove(w, r);
            if (due_tail) due_tail->bnext = r;
            else due = r;
            due_tail = r;
        } else if (!next || r->retry_due_us < next) {
            next = r->retry_due_us;
        }
    }
    w->retry_armed_us = 0;
    evtimer_del(w->retry_ev);
    if (next) arm_retry(w, next);
    while (due) {
        proxy_req *r = due;
        due = r->bnext;
        r->bnext = NULL;
        router_retry(r);
    }
}

static void on_retry_timer(evutil_socket_t fd, short ev, void *arg)
{
    proxy_worker *w = arg;
    w->retry_armed_us = 0;
    run_retries(w, 0);
}

void worker_defer(proxy_worker *w, proxy_req *r)
{
    r->bnext = NULL;
    if (w->deferred_tail) w->deferred_tail->bnext = r;
    else w->deferred = r;
    w->deferred_tail = r;
}

/* ---- dirty lists ---------------------------------------------------------- */

void worker_mark_be_dirty(proxy_worker *w, backend *b)
{
    if (b->dirty) return;
    b->dirty = 1;
    b->dirty_next = w->dirty_be;
    w->dirty_be = b;
}

void worker_mark_client_dirty(proxy_worker *w, proxy_client *c)
{
    /* a closing client is about to be freed: it must not sit on a list */
    if (c->flags & (CL_DIRTY | CL_CLOSE_ASAP)) return;
    c->flags |= CL_DIRTY;
    c->dirty_next = w->dirty_cl;
    w->dirty_cl = c;
}

void worker_hold_client(proxy_worker *w, proxy_client *c, long long us)
{
    if (c->flags & CL_HELD) return;
    c->flags |= CL_HELD;
    c->held_next = w->held;
    w->held = c;
    if (!evtimer_pending(w->hold_ev, NULL)) {
        struct timeval tv = {0, (suseconds_t)us};
        evtimer_add(w->hold_ev, &tv);
    }
}

void worker_unhold_client(proxy_worker *w, proxy_client *c)
{
    if (!(c->flags & CL_HELD)) return;
    for (proxy_client **pp = &w->held; *pp; pp = &(*pp)->held_next)
        if (*pp == c) {
            *pp = c->held_next;
            break;
        }
    c->flags &= ~CL_HELD;
    c->held_next = NULL;
}

/* Held output's time is up: flush (client_flush holds again only for a
 * newer pipeline head). */
static void on_hold_timer(evutil_socket_t fd, short ev, void *arg)
{
    proxy_worker *w = arg;
    (void)fd; (void)ev;
    w->now_us = mono_us();
    while (w->held) {
        proxy_client *c = w->held;
        w->held = c->held_next;
        c->held_next = NULL;
        c->flags &= ~CL_HELD;
        worker_mark_client_dirty(w, c);
    }
}

/* ---- slot map -------------------------------------------------------------- */

static void rebuild_node_cache(proxy_worker *w, const slotmap *m)
{
    if (m->n_nodes > w->map_nodes_cap) {
        w->map_nodes = xrealloc(w->map_nodes, sizeof(be_node *) * m->n_nodes);
        w->map_nodes_cap = m->n_nodes;
    }
    for (uint32_t i = 0; i < m->n_nodes; i++) {
        const slotmap_node *n = &m->nodes[i];
        w->map_nodes[i] = (n->ip[0] && n->port) ? be_node_get(w, n->ip, n->port) : NULL;
    }
    /* MOVED hints were for the old map; the new one knows better or the
     * next MOVED will say so again. */
    if (w->slot_hint) memset(w->slot_hint, 0, sizeof(be_node *) * SLOTMAP_NSLOTS);
    w->map_version = m->version;
}

const slotmap *worker_map(proxy_worker *w)
{
    if (!w->in_section) {
        w->map = slotmap_read_begin(w->reader);
        w->in_section = 1;
        if (w->map && w->map->version != w->map_version) rebuild_node_cache(w, w->map);
    }
    return w->map;
}

be_node *worker_map_node(proxy_worker *w, int idx)
{
    const slotmap *m = worker_map(w);
    if (!m || idx < 0 || (uint32_t)idx >= m->n_nodes) return NULL;
    return w->map_nodes[idx];
}

/* ---- registry ---------------------------------------------------------------- */

void worker_register_client(proxy_worker *w, proxy_client *c)
{
    pthread_mutex_lock(&w->reg_lock);
    c->reg_prev = NULL;
    c->reg_next = w->clients;
    if (w->clients) w->clients->reg_prev = c;
    w->clients = c;
    w->n_clients++;
    pthread_mutex_unlock(&w->reg_lock);
}

void worker_unregister_client(proxy_worker *w, proxy_client *c)
{
    pthread_mutex_lock(&w->reg_lock);
    if (c->reg_prev) c->reg_prev->reg_next = c->reg_next;
    else w->clients = c->reg_next;
    if (c->reg_next) c->reg_next->reg_prev = c->reg_prev;
    w->n_clients--;
    pthread_mutex_unlock(&w->reg_lock);
}

/* ---- notifications ----------------------------------------------------------- */

void worker_notify(proxy_worker *w, int flags)
{
    atomic_fetch_or(&w->notify_flags, flags);
    uint64_t one = 1;
    ssize_t n = write(w->notify_fd, &one, sizeof(one));
    (void)n;
}

static void adopt_config(proxy_worker *w)
{
    proxy_config *nc = atomic_load(&psrv.cfg);
    if (nc == w->cfg) return;
    proxy_config_ref(nc);
    proxy_config *old = w->cfg;
    w->cfg = nc;
    proxy_config_unref(old);
}

static void on_notify(evutil_socket_t fd, short ev, void *arg)
{
    proxy_worker *w = arg;
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
    int flags = atomic_exchange(&w->notify_flags, 0);
    w->now_us = mono_us();
    if (flags & WN_CONFIG) adopt_config(w);
    if (flags & WN_KILL) {
        for (proxy_client *c = w->clients; c; c = c->reg_next)
            if (atomic_load(&c->killed)) client_close_async(c, "killed");
    }
    if (flags & WN_MAP) run_retries(w, 1);
    if (flags & WN_STOP) {
        w->stop = 1;
        event_base_loopbreak(w->base);
    }
}

static void on_cron(evutil_socket_t fd, short ev, void *arg)
{
    proxy_worker *w = arg;
    w->now_us = mono_us();
    be_cron(w);
    /* Idle clients: once a second is precise enough for a seconds setting. */
    if (++w->cron_ticks % (1000 / CRON_MS) == 0 && w->cfg->timeout > 0) {
        long long now = w->now_us / 1000; /* last_ms is monotonic too */
        for (proxy_client *c = w->clients; c; c = c->reg_next)
            if (!c->npending && !c->sub && !c->psub && !c->ssub &&
                now - c->last_ms > w->cfg->timeout * 1000)
                client_close_async(c, "idle timeout");
    }
    /* Soft output limits need time to pass without new output. */
    for (proxy_client *c = w->clients; c; c = c->reg_next)
        if (c->soft_since_ms) client_check_obuf(c);
    slotmap_domain_reclaim(topology_domain(psrv.topo));
}

/* ---- the loop ------------------------------------------------------------------ */

/* Work queued by this iteration's callbacks, in an order that lets each
 * step feed the next: completions, then backend writes (requests), then
 * client writes (replies), then clients to close. */
static void after_iteration(proxy_worker *w)
{
    w->now_us = mono_us();
    int round;
    for (round = 0; round < 16; round++) {
        while (w->deferred) {
            proxy_req *r = w->deferred;
            w->deferred = r->bnext;
            if (!w->deferred) w->deferred_tail = NULL;
            r->bnext = NULL;
            router_finish(r, NULL, 0);
        }
        while (w->dirty_cl) {
            proxy_client *c = w->dirty_cl;
            w->dirty_cl = c->dirty_next;
            c->flags &= ~CL_DIRTY;
            if (c->flags & CL_CLOSE_ASAP) continue;
            if (c->flags & CL_PAUSED) client_resume(c);
            if (!(c->flags & CL_CLOSE_ASAP)) client_flush(c);
        }
        while (w->dirty_be) {
            backend *b = w->dirty_be;
            w->dirty_be = b->dirty_next;
            b->dirty = 0;
            be_flush(b);
        }
        /* Freeing a client may wake a module (its close hook), which may
         * complete things: hence inside the loop. */
        while (w->closing) {
            proxy_client *c = w->closing;
            w->closing = c->close_next;
            client_free(c);
        }
        if (!w->deferred && !w->dirty_cl && !w->dirty_be) break;
    }
    /* Work left after many rounds (a module ping-ponging): come back at once
     * instead of sleeping on it. */
    if (round == 16) {
        struct timeval zero = {0, 0};
        evtimer_add(w->kick_ev, &zero);
    }
    if (w->in_section) {
        slotmap_read_end(w->reader);
        w->in_section = 0;
        w->map = NULL;
    }
}

static void on_kick(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd; (void)ev; (void)arg; /* after_iteration does the work */
}

/* ---- io-coalesce-us --------------------------------------------------------- */

void worker_note_active(proxy_worker *w, proxy_client *c)
{
    w->client_reads++;
    busy_note(&w->busy, w->now_us / 1000, &c->active_ms);
}

/* Nap only while this many clients sent something in the last whole
 * millisecond, and only after an iteration that read fewer than this many
 * clients: a few clients, or pipelines that fill each read, never wait. */
#define COALESCE_MIN_CLIENTS 16
#define COALESCE_FEW_READS 16

/* Interrupt moderation, as shoal-node's io-coalesce-us. With dozens of
 * clients each sending one command at a time, the loop wakes for the few
 * that have arrived, sends them to the nodes (one small write per node,
 * each waking a node that then preempts us) and goes round again for the
 * next few. A short nap after such a thin iteration lets the next one take
 * many clients at once: fewer backend writes per request, fewer node
 * wake-ups, fewer preemptions. Measured in docs/performance.md. */
static void maybe_nap(proxy_worker *w, uint64_t reads)
{
    long long us = w->cfg->io_coalesce_us;
    if (us <= 0 || reads == 0 || reads >= COALESCE_FEW_READS) return;
    if (w->busy.prev < COALESCE_MIN_CLIENTS) return;
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
    ST_INC(w, io_coalesce_naps);
}

static void *worker_main(void *arg)
{
    proxy_worker *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "shoal-w%d", w->id);
    pthread_setname_np(pthread_self(), name);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* this thread's naps: the 50 us default slack would double them */
    while (!w->stop) {
        uint64_t r0 = w->client_reads;
        event_base_loop(w->base, EVLOOP_ONCE);
        after_iteration(w);
        maybe_nap(w, w->client_reads - r0);
    }
    /* Exit: close clients and backends. */
    for (proxy_client *c = w->clients; c; c = c->reg_next) client_close_async(c, "shutdown");
    after_iteration(w);
    be_shutdown(w);
    after_iteration(w);
    return NULL;
}

proxy_worker *worker_new(int id, proxy_config *cfg, char *err, size_t errlen)
{
    proxy_worker *w = xcalloc(1, sizeof(*w));
    w->id = id;
    proxy_config_ref(cfg);
    w->cfg = cfg;
    pthread_mutex_init(&w->reg_lock, NULL);
    atomic_init(&w->notify_flags, 0);
    buf_init(&w->scratch);
    struct event_config *ec = event_config_new();
    /* One thread per base: libevent's own locks would only cost time. */
    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
    w->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!w->base) {
        snprintf(err, errlen, "event_base_new failed");
        goto fail;
    }
    for (int i = 0; i < cfg->bind.n && i < 16; i++) {
        int fd = open_listener(cfg->bind.v[i], (int)cfg->port, err, errlen);
        if (fd < 0) goto fail;
        w->listen_fd[w->n_listen] = fd;
        w->listen_ev[w->n_listen] = event_new(w->base, fd, EV_READ | EV_PERSIST, on_accept, w);
        event_add(w->listen_ev[w->n_listen], NULL);
        w->n_listen++;
    }
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->notify_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    w->notify_ev = event_new(w->base, w->notify_fd, EV_READ | EV_PERSIST, on_notify, w);
    event_add(w->notify_ev, NULL);
    w->retry_ev = evtimer_new(w->base, on_retry_timer, w);
    w->kick_ev = evtimer_new(w->base, on_kick, w);
    w->hold_ev = evtimer_new(w->base, on_hold_timer, w);
    w->cron_ev = event_new(w->base, -1, EV_PERSIST, on_cron, w);
    struct timeval tv = {0, CRON_MS * 1000};
    event_add(w->cron_ev, &tv);
    w->reader = topology_reader_register(psrv.topo);
    if (!w->reader) {
        snprintf(err, errlen, "no slot map reader left for worker %d", id);
        goto fail;
    }
    int n = cmd_count_all();
    w->st.calls = xcalloc((size_t)n, sizeof(uint64_t));
    w->st.usec = xcalloc((size_t)n, sizeof(uint64_t));
    w->st.failed = xcalloc((size_t)n, sizeof(uint64_t));
    w->now_us = mono_us();
    return w;
fail:
    worker_join_free(w);
    return NULL;
}

int worker_start(proxy_worker *w)
{
    return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void worker_stop(proxy_worker *w)
{
    if (!w->thread) return;
    worker_notify(w, WN_STOP);
    pthread_join(w->thread, NULL);
    w->thread = 0;
}

void worker_join_free(proxy_worker *w)
{
    if (!w) return;
    worker_stop(w);
    for (int i = 0; i < w->n_listen; i++) {
        event_free(w->listen_ev[i]);
        close(w->listen_fd[i]);
    }
    if (w->notify_ev) event_free(w->notify_ev);
    if (w->notify_fd > 0) close(w->notify_fd);
    if (w->retry_ev) event_free(w->retry_ev);
    if (w->kick_ev) event_free(w->kick_ev);
    if (w->hold_ev) event_free(w->hold_ev);
    if (w->cron_ev) event_free(w->cron_ev);
    while (w->free_reqs) {
        proxy_req *r = w->free_reqs;
        w->free_reqs = r->bnext;
        buf_free(&r->req);
        buf_free(&r->out);
        xfree(r);
    }
    while (w->nodes) {
        be_node *n = w->nodes;
        w->nodes = n->next;
        xfree(n);
    }
    if (w->reader) slotmap_reader_unregister(w->reader);
    if (w->base) event_base_free(w->base);
    xfree(w->map_nodes);
    xfree(w->slot_hint);
    xfree(w->st.calls);
    xfree(w->st.usec);
    xfree(w->st.failed);
    buf_free(&w->scratch);
    proxy_config_unref(w->cfg);
    pthread_mutex_destroy(&w->reg_lock);
    xfree(w);
}
