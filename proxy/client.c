/* client: client sessions of shoal-proxy (see client.h). */
#include "client.h"
#include "backend.h"
#include "cmd_local.h"
#include "log.h"
#include "mem.h"
#include "router.h"
#include "util.h"
#include "worker.h"
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Flow control. A client's requests in flight are capped by a window, and
 * reading stops while the window is full or too much output waits: the
 * proxy's memory per client stays bounded, and a client that pipelines
 * hundreds of requests for big values can't put hundreds of megabytes on a
 * backend connection that other clients share (their replies would queue
 * behind). The window is the reply-bytes budget divided by the client's
 * average reply size (a moving average that starts pessimistic, at
 * REPLY_AVG_START, so a first burst is small), between PENDING_MIN and
 * PENDING_MAX requests. Reading resumes when half the window is free. */
#define PENDING_MAX  1024
#define PENDING_MIN  16
#define INFLIGHT_BYTES (4u << 20)
#define REPLY_AVG_START (128u << 10)
#define WBUF_PAUSE   (8u << 20)
#define WBUF_LOW     (1u << 20)
/* Read size; larger when a big argument is known to be coming. */
#define READ_CHUNK   16384
/* Output limits are checked when a reply leaves more than this pending. */
#define OBUF_CHECK_MIN 65536
/* Buffers shrink back to this after a big request or reply. */
#define BUF_KEEP     65536
/* While input waits behind a barrier, reading goes on (so a hang-up is
 * seen, e.g. during BLPOP) until this much is queued unparsed. */
#define QBUF_WAIT_MAX (1u << 20)

/* Barrier: a request routed to a lease (MULTI/EXEC/WATCH, blocking commands,
 * SUBSCRIBE...) runs on another backend connection than the client's other
 * commands, so it is only dispatched once nothing of the client is pending,
 * and nothing after it is dispatched until it completes; the bytes after it
 * wait unparsed in qbuf. The barrier request is then always the FIFO head.
 * (Flag bit kept here: client.h's RQF_* leave 0x80 free.) */
#define RQF_BARRIER  0x80

static int barrier_blocked(const proxy_client *c)
{
    return c->head && (c->head->flags & RQF_BARRIER);
}

/* ---- references and the FIFO ------------------------------------------ */

void req_release(proxy_req *r)
{
    if (--r->refs > 0) return;
    proxy_req *parent = r->parent;
    worker_req_free(r->w, r);
    if (parent) req_release(parent);
}

void client_fifo_push(proxy_client *c, proxy_req *r)
{
    r->refs++;
    r->cnext = NULL;
    if (c->tail) c->tail->cnext = r;
    else c->head = r;
    c->tail = r;
    c->npending++;
}

static int window(const proxy_client *c)
{
    size_t avg = c->reply_avg ? c->reply_avg : 1;
    size_t w = INFLIGHT_BYTES / avg;
    return w < PENDING_MIN ? PENDING_MIN : w > PENDING_MAX ? PENDING_MAX : (int)w;
}

static int can_resume(const proxy_client *c)
{
    return c->npending <= window(c) / 2 && buf_unread(&c->wbuf) <= WBUF_LOW && !barrier_blocked(c);
}

static void maybe_resume_later(proxy_client *c)
{
    if ((c->flags & CL_PAUSED) && can_resume(c)) worker_mark_client_dirty(c->w, c);
}

static void fifo_pop_head(proxy_client *c)
{
    proxy_req *r = c->head;
    c->head = r->cnext;
    if (!c->head) c->tail = NULL;
    r->cnext = NULL;
    c->npending--;
    if (r->flags & RQF_CLOSE_AFTER) c->flags |= CL_CLOSE_AFTER;
    req_release(r);
}

void client_count_reply(proxy_worker *w, int cmd_id, long long t_start_us, const char *reply, size_t len)
{
    if (cmd_id < 0) return;
    ST_INC(w, calls[cmd_id]);
    ST_ADD(w, usec[cmd_id], (uint64_t)(w->now_us > t_start_us ? w->now_us - t_start_us : 0));
    if (len && (reply[0] == '-' || reply[0] == '!')) ST_INC(w, failed[cmd_id]);
}

void client_req_complete(proxy_req *r, const char *reply, size_t len)
{
    proxy_client *c = r->c;
    proxy_worker *w = r->w;
    if (!reply) {
        reply = r->out.p;
        len = r->out.len;
    }
    client_count_reply(w, r->cmd_id, r->t_start_us, reply, len);
    /* moving average of reply sizes, 1/8 weight to the new one */
    c->reply_avg = c->reply_avg - c->reply_avg / 8 + len / 8;
    if (c->head != r) {
        /* An earlier request is still out: keep the reply until its turn. */
        if (reply != r->out.p) buf_append(&r->out, reply, len);
        r->state = RQ_DONE;
        return;
    }
    if (!(c->flags & CL_CLOSE_ASAP)) buf_append(&c->wbuf, reply, len);
    r->state = RQ_DONE;
    fifo_pop_head(c);
    while (c->head && c->head->state == RQ_DONE) {
        proxy_req *n = c->head;
        if (!(c->flags & CL_CLOSE_ASAP)) buf_append(&c->wbuf, n->out.p, n->out.len);
        fifo_pop_head(c);
    }
    worker_mark_client_dirty(w, c);
    /* Output limits: only worth checking once output piles up. */
    if (buf_unread(&c->wbuf) >= OBUF_CHECK_MIN && client_check_obuf(c)) return;
    maybe_resume_later(c);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void on_read(evutil_socket_t fd, short ev, void *arg);
static void on_write(evutil_socket_t fd, short ev, void *arg);

static void fmt_addr(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
    }
    snprintf(out, cap, "%s:%d", ip, port);
}

void client_new(proxy_worker *w, int fd)
{
    proxy_client *c = xcalloc(1, sizeof(*c));
    c->w = w;
    c->fd = fd;
    c->id = atomic_fetch_add(&psrv.next_client_id, 1);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) fmt_addr(&ss, c->addr, sizeof(c->addr));
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) fmt_addr(&ss, c->laddr, sizeof(c->laddr));
    resp_parser_init(&c->parser, w->cfg->proto_max_bulk_len);
    c->authed = w->cfg->requirepass[0] == '\0';
    c->parser.unauth = !c->authed;
    c->proto = 2;
    c->multi = -1;
    c->last_cmd_id = -1;
    c->reply_avg = REPLY_AVG_START;
    c->ctime_ms = c->last_ms = w->now_us / 1000;
    atomic_init(&c->killed, 0);
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    event_add(c->rev, NULL);
    c->reading = 1;
    worker_register_client(w, c);
}

void client_close_async(proxy_client *c, const char *why)
{
    if (c->flags & CL_CLOSING) return;
    log_verbose("client id=%llu addr=%s closed: %s", (unsigned long long)c->id, c->addr, why);
    c->flags |= CL_CLOSE_ASAP | CL_CLOSING;
    if (c->reading) event_del(c->rev);
    if (c->writing) event_del(c->wev);
    c->reading = c->writing = 0;
    c->close_next = c->w->closing;
    c->w->closing = c;
}

void client_free(proxy_client *c)
{
    proxy_worker *w = c->w;
    if (c->on_close) {
        proxy_client_close_fn *fn = c->on_close;
        c->on_close = NULL;
        fn(c, c->on_close_arg);
    }
    /* Requests still out stay alive until their replies come back (their
     * bytes are on a connection's stream); they just have nowhere to go. */
    for (proxy_req *r = c->head, *nx; r; r = nx) {
        nx = r->cnext;
        r->c = NULL;
        r->cnext = NULL;
        r->flags |= RQF_ORPHAN;
        if (r->state == RQ_WAIT && r->type == RQT_CLIENT) {
            worker_retry_remove(w, r);
            req_release(r); /* its routing reference */
        }
        req_release(r);     /* the FIFO's */
    }
    c->head = c->tail = NULL;
    worker_unhold_client(w, c);
    worker_unregister_client(w, c);
    event_free(c->rev);
    event_free(c->wev);
    close(c->fd);
    buf_free(&c->qbuf);
    buf_free(&c->wbuf);
    resp_parser_free(&c->parser);
    xfree(c->name);
    atomic_fetch_sub(&psrv.n_clients, 1);
    xfree(c);
}

/* ---- output ---------------------------------------------------------------- */

int client_check_obuf(proxy_client *c)
{
    const proxy_obuf_limit *l = (c->sub || c->psub || c->ssub) ? &c->w->cfg->obuf.pubsub
                                                               : &c->w->cfg->obuf.normal;
    size_t used = buf_unread(&c->wbuf);
    long long now = c->w->now_us / 1000;
    int over = 0;
    if (l->hard && (long long)used >= l->hard) over = 1;
    if (l->soft && (long long)used >= l->soft) {
        if (!c->soft_since_ms) c->soft_since_ms = now;
        else if (now - c->soft_since_ms >= l->soft_seconds * 1000) over = 1;
    } else {
        c->soft_since_ms = 0;
    }
    if (over) {
        log_warning("client id=%llu addr=%s closed for overcoming of output buffer limits (%zu bytes)",
                    (unsigned long long)c->id, c->addr, used);
        ST_INC(c->w, obuf_kills);
        client_close_async(c, "output buffer limit");
        return 1;
    }
    return 0;
}

static void after_drain(proxy_client *c)
{
    if (c->wbuf.cap > BUF_KEEP) buf_reset(&c->wbuf, BUF_KEEP);
    if ((c->flags & CL_CLOSE_AFTER) && !c->head) {
        client_close_async(c, "close after reply");
        return;
    }
    if (c->flags & CL_PAUSED) client_resume(c);
}

/* Replies of a pipeline come back from several nodes in different loop
 * iterations. Writing each completed prefix as it appears costs the client
 * and the proxy a syscall per part; so while the oldest pending request is
 * an ordinary forwarded one, on a backend for less than COALESCE_US (its
 * reply is on its way, and its completion marks us dirty again), the ready
 * prefix waits for it, up to COALESCE_MAX bytes; a timer flushes it anyway
 * once COALESCE_US have passed (a slow node). Lease, fanout, retried and
 * blocking requests never hold replies back. */
#define COALESCE_MAX   65536
#define COALESCE_US    2000
static int hold_output(const proxy_client *c)
{
    const proxy_req *h = c->head;
    return h && h->state == RQ_INFLIGHT && h->be && h->type == RQT_CLIENT &&
           !(h->flags & RQF_BARRIER) && buf_unread(&c->wbuf) < COALESCE_MAX &&
           c->w->now_us - h->t_sent_us < COALESCE_US;
}

void client_flush(proxy_client *c)
{
    if (c->writing || (c->flags & CL_CLOSE_ASAP)) return;
    if (hold_output(c)) {
        worker_hold_client(c->w, c, COALESCE_US - (c->w->now_us - c->head->t_sent_us) + 1);
        return;
    }
    size_t n = buf_unread(&c->wbuf);
    if (n) {
        ssize_t wr = write(c->fd, buf_rptr(&c->wbuf), n);
        if (wr > 0) {
            ST_ADD(c->w, net_out, (uint64_t)wr);
            buf_consume(&c->wbuf, (size_t)wr);
        } else if (wr < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            client_close_async(c, strerror(errno));
            return;
        }
    }
    if (buf_unread(&c->wbuf)) {
        if (client_check_obuf(c)) return;
        event_add(c->wev, NULL);
        c->writing = 1;
        return;
    }
    c->soft_since_ms = 0;
    after_drain(c);
}

static void on_write(evutil_socket_t fd, short ev, void *arg)
{
    proxy_client *c = arg;
    c->w->now_us = mono_us();
    size_t n = buf_unread(&c->wbuf);
    if (n) {
        ssize_t wr = write(c->fd, buf_rptr(&c->wbuf), n);
        if (wr > 0) {
            ST_ADD(c->w, net_out, (uint64_t)wr);
            buf_consume(&c->wbuf, (size_t)wr);
        } else if (wr < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            client_close_async(c, strerror(errno));
            return;
        }
    }
    if (buf_unread(&c->wbuf)) {
        client_check_obuf(c);
        return;
    }
    event_del(c->wev);
    c->writing = 0;
    c->soft_since_ms = 0;
    after_drain(c);
}

/* ---- input ------------------------------------------------------------------ */

static proxy_req *new_client_req(proxy_client *c, const cmd_meta *m)
{
    proxy_req *r = worker_req_new(c->w);
    r->type = RQT_CLIENT;
    r->c = c;
    r->cmd_id = m ? m->id : -1;
    r->proto = r->client_proto = (uint8_t)c->proto;
    client_fifo_push(c, r);
    return r;
}

/* Where a reply produced right now goes: straight into the output buffer
 * when nothing is pending before it (the common case), else into a request
 * of its own so it waits its turn. */
static buf_t *local_out(proxy_client *c, proxy_req **rp, const cmd_meta *m)
{
    if (!*rp && !c->head) return &c->wbuf;
    if (!*rp) *rp = new_client_req(c, m);
    return &(*rp)->out;
}

static void local_done(proxy_client *c, proxy_req *r, const cmd_meta *m, size_t mark, int close_after)
{
    proxy_worker *w = c->w;
    if (r) {
        if (close_after) r->flags |= RQF_CLOSE_AFTER;
        router_finish(r, NULL, 0);
        return;
    }
    if (m) client_count_reply(w, m->id, w->now_us, c->wbuf.p + mark, c->wbuf.len - mark);
    if (close_after) c->flags |= CL_CLOSE_AFTER;
    worker_mark_client_dirty(w, c);
    if (c->wbuf.len - c->wbuf.off > 0 && c->w->cfg->obuf.normal.hard) client_check_obuf(c);
}

static void local_error(proxy_client *c, proxy_req *r, const cmd_meta *m, const char *msg, int close_after)
{
    buf_t *out = local_out(c, &r, m);
    size_t mark = out->len;
    resp_w_error_cstr(out, msg);
    local_done(c, r, m, mark, close_after);
}

/* Redis's text: the name, then the first args quoted; the quoted list stops
 * growing once it reaches 128 bytes and each arg is cut to what is left. */
static void unknown_command_msg(char *msg, size_t cap, int argc, const char *const *argv, const size_t *lens)
{
    char args[300];
    size_t al = 0;
    args[0] = 0;
    for (int i = 1; i < argc && al < 128; i++) {
        int room = 128 - (int)al;
        int take = (int)lens[i] < room ? (int)lens[i] : room;
        al += (size_t)snprintf(args + al, sizeof(args) - al, "'%.*s' ", take, argv[i]);
    }
    snprintf(msg, cap, "ERR unknown command '%.*s', with args beginning with: %s",
             (int)(lens[0] > 128 ? 128 : lens[0]), argv[0], args);
}

/* Does this command need the barrier? Lease-routed ones, including
 * XREAD/XREADGROUP with BLOCK (router.c routes those to a lease too). */
static int needs_barrier(const cmd_meta *m, int kind, int argc, const char *const *argv, const size_t *lens)
{
    if (kind == PROXY_ROUTE_LEASE) return 1;
    if (kind == PROXY_ROUTE_KEY && (m->flags & CMD_F_BLOCKING)) {
        for (int i = 1; i < argc; i++)
            if (arg_is(argv[i], lens[i], "block")) return 1;
    }
    return 0;
}

/* Returns 1 when the command must wait for the client's pending requests
 * (barrier): nothing was done, the caller keeps it unparsed. */
static int handle_command(proxy_client *c, const char *raw, size_t rawlen)
{
    proxy_worker *w = c->w;
    resp_parser *p = &c->parser;
    int argc = p->argc;
    const char *const *argv = (const char *const *)p->argv;
    const size_t *lens = p->argvlen;
    proxy_req *r = NULL;
    char msg[512];

    const cmd_meta *top = cmd_lookup(argv[0], lens[0]);
    const cmd_meta *m = top;
    if (top && top->subcmds_n && argc >= 2) m = cmd_lookup_sub(top, argv[1], lens[1]);
    proxy_cmd cmd = {
        .meta = m, .kind = m ? proxy_route_get(m) : PROXY_ROUTE_UNKNOWN,
        .arity_ok = m ? cmd_arity_ok(m, argc) : 0,
        .argc = argc, .argv = argv, .argvlen = lens, .raw = raw, .rawlen = rawlen,
    };
    int barrier = m && needs_barrier(m, cmd.kind, argc, argv, lens);
    if (barrier && c->head) return 1;
    ST_INC(w, commands);
    c->last_ms = w->now_us / 1000;
    __atomic_store_n(&c->last_cmd_id, m ? m->id : -1, __ATOMIC_RELAXED);

    if (c->hook) {
        r = new_client_req(c, m);
        if (c->hook(r, &cmd, c->hook_arg)) goto done;
    }
    /* Redis's order: existence, arity, then authentication. */
    if (!top && arg_is(argv[0], lens[0], "proxy")) {
        if (!c->authed) {
            local_error(c, r, NULL, "NOAUTH Authentication required.", 0);
            goto done;
        }
        buf_t *out = local_out(c, &r, NULL);
        size_t mark = out->len;
        local_proxy_cmd(c, argc, argv, lens, out);
        local_done(c, r, NULL, mark, 0);
        goto done;
    }
    if (!top) {
        unknown_command_msg(msg, sizeof(msg), argc, argv, lens);
        local_error(c, r, NULL, msg, 0);
        goto done;
    }
    if (!m) {
        char up[64];
        size_t n = 0;
        for (; top->name[n] && n < sizeof(up) - 1; n++)
            up[n] = (char)(top->name[n] >= 'a' && top->name[n] <= 'z' ? top->name[n] - 32 : top->name[n]);
        up[n] = 0;
        snprintf(msg, sizeof(msg), "ERR unknown subcommand '%.*s'. Try %s HELP.",
                 (int)(lens[1] > 128 ? 128 : lens[1]), argv[1], up);
        local_error(c, r, NULL, msg, 0);
        goto done;
    }
    if (!cmd.arity_ok) {
        char fn[96];
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command",
                 cmd_fullname(m, fn, sizeof(fn)));
        local_error(c, r, m, msg, 0);
        goto done;
    }
    if (!c->authed && !(m->flags & CMD_F_NO_AUTH)) {
        local_error(c, r, m, "NOAUTH Authentication required.", 0);
        goto done;
    }
    if (cmd.kind == PROXY_ROUTE_LOCAL) {
        ST_INC(w, local_commands);
        buf_t *out = local_out(c, &r, m);
        size_t mark = out->len;
        int close_after = 0;
        local_exec(c, &cmd, out, &close_after);
        if (close_after) {
            c->flags |= CL_NOREAD;
            if (c->reading) { event_del(c->rev); c->reading = 0; }
        }
        local_done(c, r, m, mark, close_after);
        goto done;
    }
    if (!r) r = new_client_req(c, m);
    router_dispatch(c, r, &cmd);
done:
    /* The FIFO was empty: a head now is this request, still out. */
    if (barrier && c->head) c->head->flags |= RQF_BARRIER;
    return 0;
}

static void protocol_error(proxy_client *c, const char *err)
{
    char msg[160];
    ST_INC(c->w, proto_errors);
    log_verbose("client id=%llu addr=%s: %s", (unsigned long long)c->id, c->addr, err);
    snprintf(msg, sizeof(msg), "ERR %s", err);
    c->flags |= CL_NOREAD;
    if (c->reading) { event_del(c->rev); c->reading = 0; }
    local_error(c, NULL, NULL, msg, 1);
}

static void pause_reading(proxy_client *c)
{
    c->flags |= CL_PAUSED;
    if (c->reading) {
        event_del(c->rev);
        c->reading = 0;
    }
}

static void process_input(proxy_client *c)
{
    proxy_worker *w = c->w;
    while (!(c->flags & (CL_CLOSE_ASAP | CL_CLOSE_AFTER | CL_NOREAD | CL_PAUSED)) &&
           buf_unread(&c->qbuf)) {
        if (c->npending >= window(c) || buf_unread(&c->wbuf) > WBUF_PAUSE) {
            pause_reading(c);
            return;
        }
        if (barrier_blocked(c)) {
            c->flags |= CL_PAUSED; /* client_req_complete resumes us; reading goes on */
            break;
        }
        size_t consumed = 0;
        int rc = resp_parse(&c->parser, buf_rptr(&c->qbuf), buf_unread(&c->qbuf), &consumed);
        if (rc == RESP_INCOMPLETE) break;
        if (rc == RESP_PROTO_ERR) {
            protocol_error(c, c->parser.err);
            return;
        }
        if (c->parser.argc > 0) {
            int wait;
            if (c->parser.multibulk > 0) {
                wait = handle_command(c, buf_rptr(&c->qbuf), consumed);
            } else {
                /* Inline command: nodes get it as a proper multibulk. */
                w->scratch.len = 0;
                proxy_encode_cmd(&w->scratch, c->parser.argc, (const char *const *)c->parser.argv,
                                 c->parser.argvlen);
                wait = handle_command(c, w->scratch.p, w->scratch.len);
            }
            if (wait) {
                /* Barrier: parsed again once the FIFO is empty. */
                resp_parser_reset(&c->parser);
                c->parser.unauth = !c->authed;
                c->flags |= CL_PAUSED;
                break;
            }
        }
        buf_consume(&c->qbuf, consumed);
        resp_parser_reset(&c->parser);
        c->parser.unauth = !c->authed;
    }
    if (!buf_unread(&c->qbuf) && c->qbuf.cap > BUF_KEEP) buf_reset(&c->qbuf, BUF_KEEP);
}

void client_resume(proxy_client *c)
{
    if (!(c->flags & CL_PAUSED) || (c->flags & CL_CLOSE_ASAP)) return;
    if (!can_resume(c)) return;
    c->flags &= ~CL_PAUSED;
    if (!(c->flags & CL_NOREAD) && !c->reading) {
        event_add(c->rev, NULL);
        c->reading = 1;
    }
    process_input(c);
}

static void on_read(evutil_socket_t fd, short ev, void *arg)
{
    proxy_client *c = arg;
    proxy_worker *w = c->w;
    w->now_us = mono_us();
    size_t want = READ_CHUNK;
    size_t unread = buf_unread(&c->qbuf);
    if (c->parser.need > unread && c->parser.need - unread > want) want = c->parser.need - unread;
    buf_reserve(&c->qbuf, want);
    ssize_t n = read(fd, c->qbuf.p + c->qbuf.len, c->qbuf.cap - c->qbuf.len);
    if (n > 0) {
        c->qbuf.len += (size_t)n;
        ST_ADD(w, net_in, (uint64_t)n);
        worker_note_active(w, c);
        process_input(c);
        /* Waiting behind a barrier: stop reading once enough is queued. */
        if ((c->flags & CL_PAUSED) && c->reading && buf_unread(&c->qbuf) >= QBUF_WAIT_MAX) {
            event_del(c->rev);
            c->reading = 0;
        }
    } else if (n == 0) {
        client_close_async(c, "closed by peer");
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        client_close_async(c, strerror(errno));
    }
}

/* ---- proxy.h: requests ---------------------------------------------------- */

proxy_client *proxy_req_client(proxy_req *r) { return r->c; }
proxy_worker *proxy_req_worker(proxy_req *r) { return r->w; }
int proxy_req_proto(proxy_req *r) { return r->client_proto; }
void **proxy_req_udata(proxy_req *r) { return &r->udata; }
buf_t *proxy_req_out(proxy_req *r) { return &r->out; }
void proxy_req_close_after(proxy_req *r) { r->flags |= RQF_CLOSE_AFTER; }

void proxy_req_done(proxy_req *r)
{
    router_finish(r, NULL, 0);
}

void proxy_req_reply(proxy_req *r, const char *bytes, size_t len)
{
    buf_append(&r->out, bytes, len);
    router_finish(r, NULL, 0);
}

void proxy_req_error(proxy_req *r, const char *msg)
{
    resp_w_error_cstr(&r->out, msg);
    router_finish(r, NULL, 0);
}

/* ---- proxy.h: clients -------------------------------------------------------- */

uint64_t proxy_client_id(const proxy_client *c) { return c->id; }
int proxy_client_proto(const proxy_client *c) { return c->proto; }
proxy_worker *proxy_client_worker(proxy_client *c) { return c->w; }

void proxy_client_set_hook(proxy_client *c, proxy_client_hook *fn, void *arg)
{
    c->hook = fn;
    c->hook_arg = arg;
}

void proxy_client_on_close(proxy_client *c, proxy_client_close_fn *fn, void *arg)
{
    c->on_close = fn;
    c->on_close_arg = arg;
}

void proxy_client_push(proxy_client *c, const char *bytes, size_t len)
{
    if (c->flags & CL_CLOSE_ASAP) return;
    if (!c->head) {
        buf_append(&c->wbuf, bytes, len);
        worker_mark_client_dirty(c->w, c);
        client_check_obuf(c);
        return;
    }
    proxy_req *r = new_client_req(c, NULL);
    r->flags |= RQF_PUSH;
    buf_append(&r->out, bytes, len);
    r->state = RQ_DONE;
    req_release(r); /* no routing: only the FIFO holds it */
}

void proxy_client_set_modes(proxy_client *c, int sub, int psub, int ssub, int multi)
{
    if (sub != PROXY_KEEP) __atomic_store_n(&c->sub, sub, __ATOMIC_RELAXED);
    if (psub != PROXY_KEEP) __atomic_store_n(&c->psub, psub, __ATOMIC_RELAXED);
    if (ssub != PROXY_KEEP) __atomic_store_n(&c->ssub, ssub, __ATOMIC_RELAXED);
    if (multi != PROXY_KEEP) __atomic_store_n(&c->multi, multi, __ATOMIC_RELAXED);
}

void proxy_encode_cmd(buf_t *out, int argc, const char *const *argv, const size_t *argvlen)
{
    resp_w_array(out, argc);
    for (int i = 0; i < argc; i++) resp_w_bulk(out, argv[i], argvlen[i]);
}
