/* backend: connections from a worker to cluster nodes (see backend.h). */
#include "backend.h"
#include "client.h"
#include "log.h"
#include "mem.h"
#include "router.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 16384
/* The answered prefix of the output stream is dropped once it is this big
 * and at least half the buffer (memmove cost stays linear overall). */
#define COMPACT_MIN 65536
/* An idle connection's buffers shrink back to this. */
#define BUF_KEEP 65536
/* Reconnect backoff after failed connects: 50 ms doubling up to 500 ms, so
 * a dead node costs little and a restarted one is back within half a
 * second (a promoted replica is found through the map, not through this). */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 500

struct proxy_lease {
    backend *b;
    proxy_lease_reply_cb *on_reply;
    proxy_lease_close_cb *on_close;
    void *arg;
    int dead;
};

static void on_be_read(evutil_socket_t fd, short ev, void *arg);
static void on_be_write(evutil_socket_t fd, short ev, void *arg);

/* ---- nodes --------------------------------------------------------------- */

be_node *be_node_get(proxy_worker *w, const char *ip, int port)
{
    for (be_node *n = w->nodes; n; n = n->next)
        if (n->port == port && !strcmp(n->ip, ip)) return n;
    be_node *n = xcalloc(1, sizeof(*n));
    n->w = w;
    snprintf(n->ip, sizeof(n->ip), "%s", ip);
    n->port = port;
    snprintf(n->addr, sizeof(n->addr), "%s:%d", ip, port);
    n->next = w->nodes;
    w->nodes = n;
    return n;
}

be_node *be_node_from_addr(proxy_worker *w, const char *addr, size_t len)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (addr[i] == ':') colon = addr + i;
    if (!colon || colon == addr) return NULL;
    long long port;
    if (!str_to_ll(colon + 1, (size_t)(addr + len - colon - 1), &port) || port < 1 || port > 65535) return NULL;
    const char *ip = addr;
    size_t iplen = (size_t)(colon - addr);
    if (iplen >= 2 && ip[0] == '[' && ip[iplen - 1] == ']') { ip++; iplen -= 2; }
    char buf[SLOTMAP_IPLEN + 1];
    if (iplen == 0 || iplen >= sizeof(buf)) return NULL;
    memcpy(buf, ip, iplen);
    buf[iplen] = 0;
    return be_node_get(w, buf, (int)port);
}

/* ---- connections ------------------------------------------------------------ */

static backend *be_alloc(proxy_worker *w, be_node *n, int proto)
{
    backend *b = xcalloc(1, sizeof(*b));
    b->w = w;
    b->node = n;
    b->proto = proto;
    b->fd = -1;
    b->conn_idx = -1;
    resp_scanner_init(&b->sc);
    b->all_next = w->all_be;
    if (w->all_be) w->all_be->all_prev = b;
    w->all_be = b;
    return b;
}

static void be_destroy(backend *b)
{
    proxy_worker *w = b->w;
    if (b->all_prev) b->all_prev->all_next = b->all_next;
    else w->all_be = b->all_next;
    if (b->all_next) b->all_next->all_prev = b->all_prev;
    buf_free(&b->wbuf);
    buf_free(&b->rbuf);
    resp_scanner_free(&b->sc);
    xfree(b);
}

/* Commands every new connection starts with; their replies are eaten here. */
static void queue_handshake(backend *b)
{
    const proxy_config *cfg = b->w->cfg;
    if (cfg->backend_password[0]) {
        const char *av[3];
        size_t al[3];
        int ac = 0;
        av[ac] = "AUTH"; al[ac++] = 4;
        if (cfg->backend_user[0]) { av[ac] = cfg->backend_user; al[ac] = strlen(av[ac]); ac++; }
        av[ac] = cfg->backend_password; al[ac] = strlen(av[ac]); ac++;
        be_enqueue_internal(b, RQI_AUTH, ac, av, al);
    }
    if (b->proto == 3) {
        const char *av[2] = {"HELLO", "3"};
        size_t al[2] = {5, 1};
        be_enqueue_internal(b, RQI_HELLO, 2, av, al);
    }
    b->readonly = 0;
    if (cfg->read_policy != PROXY_READ_MASTER) be_ensure_readonly(b);
}

void be_ensure_readonly(backend *b)
{
    /* Harmless on a master; lets a replica serve the reads we send it. */
    static const char *const av[1] = {"READONLY"};
    static const size_t al[1] = {8};
    if (b->readonly) return;
    be_enqueue_internal(b, RQI_READONLY, 1, av, al);
    b->readonly = 1;
}

static int resolve(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *sl = sizeof(*s4);
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*s6);
        return 0;
    }
    /* A hostname (cluster-announce-hostname setups): rare, resolved
     * synchronously. */
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(ip, ps, &hints, &res) != 0 || !res) return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sl = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Start a non-blocking connect. On failure the connection is closed (its
 * queue handled as a lost connection) and -1 returned. */
static int be_connect(backend *b)
{
    proxy_worker *w = b->w;
    struct sockaddr_storage ss;
    socklen_t sl;
    const char *why = NULL;
    int fd = -1;
    b->connect_start_us = w->now_us;
    b->state = BE_CONNECTING;
    if (resolve(b->node->ip, b->node->port, &ss, &sl) < 0) {
        why = "cannot resolve address";
        goto fail;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        why = strerror(errno);
        goto fail;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        why = strerror(errno);
        close(fd);
        goto fail;
    }
    b->fd = fd;
    b->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_be_read, b);
    b->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_be_write, b);
    event_add(b->wev, NULL); /* writable = connected (or failed) */
    b->writing = 1;
    ST_INC(w, be_connects);
    return 0;
fail:
    be_close(b, why);
    return -1;
}

backend *be_get(be_node *n, int proto, uint64_t hint)
{
    proxy_worker *w = n->w;
    int pi = proto == 3;
    int nconn = (int)psrv.boot_cfg->backend_connections;
    if (nconn < 1) nconn = 1;
    if (nconn > BE_MAX_CONNS) nconn = BE_MAX_CONNS;
    int i = nconn == 1 ? 0 : (int)(hint % (uint64_t)nconn);
    backend *b = n->conns[pi][i];
    if (b && b->state != BE_DOWN) return b;
    if (n->down_until_us > w->now_us) return NULL;
    if (!b) {
        b = be_alloc(w, n, pi ? 3 : 2);
        b->conn_idx = i;
        n->conns[pi][i] = b;
    }
    queue_handshake(b);
    if (be_connect(b) < 0) return NULL;
    return b;
}

/* ---- queueing ------------------------------------------------------------------ */

static void link_tail(backend *b, proxy_req *r)
{
    r->bnext = NULL;
    r->be = b;
    if (b->tail) b->tail->bnext = r;
    else b->head = r;
    b->tail = r;
    b->inflight++;
}

void be_enqueue(backend *b, proxy_req *r, const char *bytes, size_t len)
{
    r->seq = b->wbase + b->wbuf.len;
    r->len = (uint32_t)len;
    buf_append(&b->wbuf, bytes, len);
    r->state = RQ_INFLIGHT;
    r->t_sent_us = b->w->now_us;
    link_tail(b, r);
    worker_mark_be_dirty(b->w, b);
}

void be_enqueue_internal(backend *b, int kind, int argc, const char *const *argv, const size_t *argvlen)
{
    proxy_req *r = worker_req_new(b->w);
    r->type = RQT_INTERNAL;
    r->internal = (uint8_t)kind;
    r->seq = b->wbase + b->wbuf.len;
    proxy_encode_cmd(&b->wbuf, argc, argv, argvlen);
    r->len = (uint32_t)(b->wbase + b->wbuf.len - r->seq);
    r->state = RQ_INFLIGHT;
    r->t_sent_us = b->w->now_us;
    link_tail(b, r);
    worker_mark_be_dirty(b->w, b);
}

const char *be_req_bytes(backend *b, const proxy_req *r)
{
    return b->wbuf.p + (r->seq - b->wbase);
}

/* ---- writing ---------------------------------------------------------------------- */

static int be_write_some(backend *b)
{
    size_t off = (size_t)(b->sent - b->wbase);
    size_t n = b->wbuf.len - off;
    if (!n) return 0;
    ssize_t wr = write(b->fd, b->wbuf.p + off, n);
    if (wr > 0) {
        b->sent += (uint64_t)wr;
        return 0;
    }
    if (wr < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
    return -1;
}

static void be_compact(backend *b)
{
    uint64_t end = b->wbase + b->wbuf.len;
    uint64_t keep = b->head ? b->head->seq : end;
    if (keep > b->sent) keep = b->sent; /* lease bytes not written yet */
    size_t drop = (size_t)(keep - b->wbase);
    if (drop == b->wbuf.len) {
        b->wbuf.len = 0;
        b->wbase = keep;
        if (b->wbuf.cap > BUF_KEEP) buf_reset(&b->wbuf, BUF_KEEP);
    } else if (drop >= COMPACT_MIN && drop * 2 >= b->wbuf.len) {
        memmove(b->wbuf.p, b->wbuf.p + drop, b->wbuf.len - drop);
        b->wbuf.len -= drop;
        b->wbase = keep;
    }
}

void be_flush(backend *b)
{
    if (b->conn_idx < 0 && !b->lease) {
        /* a released lease: its connection is closed, free it here, where
         * no list still points at it */
        be_destroy(b);
        return;
    }
    if (b->state == BE_DOWN) {
        /* a new lease connects here; a failure reaches its close callback */
        if (b->lease && !b->lease_tried) {
            b->lease_tried = 1;
            be_connect(b);
        }
        return;
    }
    if (b->state != BE_UP || b->writing) return;
    if (be_write_some(b) < 0) {
        be_close(b, strerror(errno));
        return;
    }
    if (b->sent < b->wbase + b->wbuf.len) {
        event_add(b->wev, NULL);
        b->writing = 1;
    }
}

static void on_be_write(evutil_socket_t fd, short ev, void *arg)
{
    backend *b = arg;
    proxy_worker *w = b->w;
    w->now_us = mono_us();
    if (b->state == BE_CONNECTING) {
        int err = 0;
        socklen_t sl = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0) err = errno;
        if (err) {
            be_close(b, strerror(err));
            return;
        }
        b->state = BE_UP;
        b->ever_up = 1;
        b->node->fail_streak = 0;
        b->node->down_until_us = 0;
        event_add(b->rev, NULL);
        log_verbose("worker %d: connected to %s (RESP%d%s)", w->id, b->node->addr, b->proto,
                    b->lease ? ", leased" : "");
    }
    if (be_write_some(b) < 0) {
        be_close(b, strerror(errno));
        return;
    }
    if (b->sent == b->wbase + b->wbuf.len) {
        event_del(b->wev);
        b->writing = 0;
    }
}

/* ---- reading ------------------------------------------------------------------------ */

static void internal_reply(backend *b, proxy_req *r, const char *reply, size_t len)
{
    static const char *const names[] = {"", "AUTH", "HELLO", "READONLY", "ASKING"};
    if (len && (reply[0] == '-' || reply[0] == '!')) {
        int n = (int)len - 2;
        if (n > 200) n = 200;
        log_warning("node %s: %s failed: %.*s", b->node->addr, names[r->internal % 5], n, reply + 1);
        if (r->internal == RQI_AUTH) ST_INC(b->w, be_auth_errors);
    }
    req_release(r);
}

static proxy_req *pop_head(backend *b)
{
    proxy_req *r = b->head;
    if (!r) return NULL;
    b->head = r->bnext;
    if (!b->head) b->tail = NULL;
    r->bnext = NULL;
    r->be = NULL;
    b->inflight--;
    return r;
}

static void on_be_read(evutil_socket_t fd, short ev, void *arg)
{
    backend *b = arg;
    proxy_worker *w = b->w;
    w->now_us = mono_us();
    size_t want = READ_CHUNK;
    size_t unread = buf_unread(&b->rbuf);
    if (b->sc.need > unread && b->sc.need - unread > want) want = b->sc.need - unread;
    buf_reserve(&b->rbuf, want);
    ssize_t n = read(fd, b->rbuf.p + b->rbuf.len, b->rbuf.cap - b->rbuf.len);
    if (n == 0) {
        be_close(b, "connection closed by the node");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) be_close(b, strerror(errno));
        return;
    }
    b->rbuf.len += (size_t)n;
    b->in_read = 1;
    for (;;) {
        size_t rl = 0;
        const char *p = buf_rptr(&b->rbuf);
        int rc = resp_scan(&b->sc, p, buf_unread(&b->rbuf), &rl);
        if (rc == RESP_SCAN_MORE) break;
        if (rc == RESP_SCAN_ERR) {
            log_warning("node %s sent a malformed reply (%s): closing", b->node->addr, b->sc.err);
            b->close_pending = 1;
            snprintf(b->close_why, sizeof(b->close_why), "malformed reply from the node");
            break;
        }
        if (p[0] == '>' && !b->lease) {
            /* a push on a shared connection belongs to nobody */
        } else if (b->head && b->head->type == RQT_INTERNAL) {
            internal_reply(b, pop_head(b), p, rl);
        } else if (b->lease) {
            lease_backend_reply(b->lease, p, rl);
        } else {
            proxy_req *r = b->head;
            if (!r) {
                b->close_pending = 1;
                snprintf(b->close_why, sizeof(b->close_why), "reply without a request");
                break;
            }
            pop_head(b);
            router_on_reply(b, r, be_req_bytes(b, r), p, rl);
        }
        buf_consume(&b->rbuf, rl);
        if (b->close_pending) break;
    }
    b->in_read = 0;
    if (b->close_pending) {
        b->close_pending = 0;
        be_close(b, b->close_why);
        return;
    }
    be_compact(b);
    if (!buf_unread(&b->rbuf) && b->rbuf.cap > BUF_KEEP) buf_reset(&b->rbuf, BUF_KEEP);
}

/* ---- closing ------------------------------------------------------------------------ */

void be_close(backend *b, const char *why)
{
    proxy_worker *w = b->w;
    if (b->in_read) {
        b->close_pending = 1;
        snprintf(b->close_why, sizeof(b->close_why), "%s", why);
        return;
    }
    if (b->state == BE_DOWN) return;
    int was_up = b->ever_up;
    if (b->rev) { event_free(b->rev); b->rev = NULL; }
    if (b->wev) { event_free(b->wev); b->wev = NULL; }
    if (b->fd >= 0) close(b->fd);
    b->fd = -1;
    b->state = BE_DOWN;
    b->writing = 0;
    b->ever_up = 0;
    be_node *n = b->node;
    if (b->quiet) {
        /* a released lease: nothing went wrong */
    } else if (was_up) {
        ST_INC(w, be_conn_lost);
        log_warning("worker %d: connection to %s lost: %s", w->id, n->addr, why);
    } else {
        ST_INC(w, be_connect_fail);
        n->fail_streak++;
        long long ms = BACKOFF_MIN_MS;
        for (int i = 1; i < n->fail_streak && ms < BACKOFF_MAX_MS; i++) ms *= 2;
        if (ms > BACKOFF_MAX_MS) ms = BACKOFF_MAX_MS;
        n->down_until_us = w->now_us + ms * 1000;
        if (n->fail_streak == 1) log_warning("worker %d: cannot connect to %s: %s", w->id, n->addr, why);
    }
    if (!b->quiet) snprintf(n->last_error, sizeof(n->last_error), "%s", why);
    char msg[256];
    snprintf(msg, sizeof(msg), "ERR shoal-proxy: connection lost to node %s (%s)", n->addr, why);
    /* Detach the queue and save the bytes of unwritten requests, so the
     * connection is clean (and may reconnect) before anyone hears of it;
     * then settle each request in order. */
    proxy_req *list = b->head;
    b->head = b->tail = NULL;
    b->inflight = 0;
    for (proxy_req *r = list; r; r = r->bnext) {
        r->be = NULL;
        if (r->type != RQT_INTERNAL && r->seq + r->len > b->sent) {
            r->req.len = 0;
            buf_append(&r->req, be_req_bytes(b, r), r->len);
            r->state = RQ_NEW;
        }
    }
    uint64_t sent = b->sent;
    b->wbase += b->wbuf.len;
    b->wbuf.len = 0;
    b->sent = b->wbase;
    if (b->wbuf.cap > BUF_KEEP) buf_reset(&b->wbuf, BUF_KEEP);
    buf_reset(&b->rbuf, BUF_KEEP);
    resp_scanner_reset(&b->sc);
    while (list) {
        proxy_req *r = list;
        list = r->bnext;
        r->bnext = NULL;
        if (r->type == RQT_INTERNAL) {
            req_release(r);
            continue;
        }
        /* A request whose bytes were all written may have run: it gets an
         * error. One not (fully) written cannot have run: it is retried. */
        int written = r->seq + r->len <= sent;
        if (written) ST_INC(w, be_failed_requests);
        router_conn_lost(r, written, msg);
    }
    if (b->lease) lease_backend_closed(b->lease, msg + 4);
    if (!b->quiet) topology_refresh_now(psrv.topo);
}

void be_cron(proxy_worker *w)
{
    long long now = w->now_us;
    long long ct = w->cfg->connect_timeout_ms * 1000;
    long long rt = w->cfg->request_timeout_ms * 1000;
    for (backend *b = w->all_be, *nx; b; b = nx) {
        nx = b->all_next;
        if (b->state == BE_CONNECTING && now - b->connect_start_us > ct) {
            ST_INC(w, be_timeouts);
            be_close(b, "connect timeout");
        } else if (b->state == BE_UP && !b->lease && rt > 0 && b->head && now - b->head->t_sent_us > rt) {
            /* A node that stops answering would hold every request queued
             * behind this one: give up on the connection. */
            ST_INC(w, be_timeouts);
            be_close(b, "request timeout");
        }
    }
}

void be_shutdown(proxy_worker *w)
{
    while (w->all_be) {
        backend *b = w->all_be;
        b->lease = NULL;
        b->quiet = 1;
        be_close(b, "shutdown");
        if (b->dirty) {
            /* drop it from the dirty list */
            backend **pp = &w->dirty_be;
            while (*pp && *pp != b) pp = &(*pp)->dirty_next;
            if (*pp) *pp = b->dirty_next;
        }
        if (b->conn_idx >= 0) b->node->conns[b->proto == 3][b->conn_idx] = NULL;
        be_destroy(b);
    }
}

void be_count(proxy_worker *w, int *up, int *total, int *leased)
{
    *up = *total = *leased = 0;
    for (backend *b = w->all_be; b; b = b->all_next) {
        (*total)++;
        if (b->state == BE_UP) (*up)++;
        if (b->lease) (*leased)++;
    }
}

/* ---- leases ---------------------------------------------------------------------------- */

backend *be_new_leased(proxy_worker *w, be_node *n, int proto, proxy_lease *l)
{
    backend *b = be_alloc(w, n, proto);
    b->lease = l;
    queue_handshake(b);
    /* connected at the end of the iteration (be_flush), so that a failure
     * reaches the module through its callback, never inside its own call */
    worker_mark_be_dirty(w, b);
    return b;
}

void lease_backend_reply(proxy_lease *l, const char *reply, size_t len)
{
    if (!l->dead) l->on_reply(l, l->arg, reply, len);
}

void lease_backend_closed(proxy_lease *l, const char *why)
{
    if (l->dead) return;
    l->dead = 1;
    if (l->on_close) l->on_close(l, l->arg, why);
}

proxy_lease *proxy_lease_open(proxy_worker *w, const char *ip, int port, int proto,
                              proxy_lease_reply_cb *on_reply, proxy_lease_close_cb *on_close, void *arg)
{
    proxy_lease *l = xcalloc(1, sizeof(*l));
    l->on_reply = on_reply;
    l->on_close = on_close;
    l->arg = arg;
    l->b = be_new_leased(w, be_node_get(w, ip, port), proto == 3 ? 3 : 2, l);
    return l;
}

void proxy_lease_send_raw(proxy_lease *l, const char *raw, size_t len)
{
    if (l->dead) return;
    buf_append(&l->b->wbuf, raw, len);
    worker_mark_be_dirty(l->b->w, l->b);
}

void proxy_lease_send(proxy_lease *l, int argc, const char *const *argv, const size_t *argvlen)
{
    if (l->dead) return;
    proxy_encode_cmd(&l->b->wbuf, argc, argv, argvlen);
    worker_mark_be_dirty(l->b->w, l->b);
}

void proxy_lease_release(proxy_lease *l)
{
    backend *b = l->b;
    b->lease = NULL;   /* no callbacks from now on */
    b->quiet = 1;
    l->dead = 1;
    if (b->in_read) {
        b->close_pending = 1;
        snprintf(b->close_why, sizeof(b->close_why), "lease released");
    } else {
        be_close(b, "lease released");
    }
    /* freed by be_flush at the end of the iteration (conn_idx < 0, no lease) */
    worker_mark_be_dirty(b->w, b);
    xfree(l);
}

const char *proxy_lease_addr(const proxy_lease *l)
{
    return l->b->node->addr;
}
