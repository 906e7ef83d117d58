#define _GNU_SOURCE
/* net: the socket side of the node. One libevent loop; each readable
 * client is read, every complete command in its buffer is executed, and
 * the replies go out with one write per client per event (pipelines cost
 * one syscall, not one per command). */
#include "net.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "reply.h"
#include "server.h"
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Read size per read(): Redis's PROTO_IOBUF_LEN. Big bulks are read
 * straight into a buffer sized for them. */
#define IOBUF_LEN (16 * 1024)
#define MAX_LISTENERS 16
/* Accept at most this many connections per event so a connection storm
 * can't starve established clients. */
#define MAX_ACCEPTS_PER_EVENT 1000

static int lfds[MAX_LISTENERS];
static struct event *levs[MAX_LISTENERS];
static int nlisten;

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);

static void sock_name(int fd, int peer, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &sl) : getsockname(fd, (struct sockaddr *)&ss, &sl)) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
            port = ntohs(s->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
            port = ntohs(s->sin6_port);
        }
    }
    snprintf(out, cap, "%s:%d", host, port);
}

client *net_client_attach(int fd)
{
    int one = 1;
    evutil_make_socket_nonblocking(fd);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (cfg.tcp_keepalive > 0) {
        int idle = (int)cfg.tcp_keepalive, intvl = idle / 3 ? (int)(idle / 3) : 1, cnt = 3;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    }
    client *c = client_new(fd);
    sock_name(fd, 1, c->addr, sizeof(c->addr));
    sock_name(fd, 0, c->laddr, sizeof(c->laddr));
    c->rev = event_new(srv.base, fd, EV_READ | EV_PERSIST, on_readable, c);
    c->wev = event_new(srv.base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
    event_add(c->rev, NULL);
    return c;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    server_update_clock();
    for (int i = 0; i < MAX_ACCEPTS_PER_EVENT; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warning("accept: %s", strerror(errno));
            break;
        }
        srv.stat.connections++;
        if (srv.nclients >= (size_t)cfg.maxclients) {
            static const char msg[] = "-ERR max number of clients reached\r\n";
            ssize_t w = write(fd, msg, sizeof(msg) - 1);
            (void)w;
            close(fd);
            srv.stat.rejected_conns++;
            continue;
        }
        net_client_attach(fd);
    }
}

int net_listen(char *err, size_t errlen)
{
    static const char *def_bind[] = {"127.0.0.1", NULL};
    const char **addrs = cfg.bind.n ? (const char **)cfg.bind.v : def_bind;
    int n = cfg.bind.n ? cfg.bind.n : 1;
    for (int i = 0; i < n && nlisten < MAX_LISTENERS; i++) {
        const char *a = addrs[i];
        int optional = a[0] == '-';   /* "-::1": skip if unavailable, as Redis */
        if (optional) a++;
        /* Redis's wildcards: "*" is every IPv4 address, "::*" every IPv6 one. */
        if (strcmp(a, "*") == 0) a = "0.0.0.0";
        else if (strcmp(a, "::*") == 0) a = "::";
        struct sockaddr_storage ss;
        socklen_t sl;
        memset(&ss, 0, sizeof(ss));
        if (strchr(a, ':')) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons((uint16_t)cfg.port);
            if (inet_pton(AF_INET6, a, &s6->sin6_addr) != 1) goto bad;
            sl = sizeof(*s6);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            s4->sin_family = AF_INET;
            s4->sin_port = htons((uint16_t)cfg.port);
            if (inet_pton(AF_INET, a, &s4->sin_addr) != 1) goto bad;
            sl = sizeof(*s4);
        }
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0) goto syserr;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, (int)cfg.tcp_backlog) < 0) {
            close(fd);
            if (optional) continue;
            goto syserr;
        }
        lfds[nlisten] = fd;
        levs[nlisten] = event_new(srv.base, fd, EV_READ | EV_PERSIST, on_accept, NULL);
        event_add(levs[nlisten], NULL);
        nlisten++;
        continue;
    bad:
        snprintf(err, errlen, "invalid bind address '%s'", a);
        return -1;
    syserr:
        snprintf(err, errlen, "could not listen on %s:%lld: %s", a, (long long)cfg.port, strerror(errno));
        return -1;
    }
    return 0;
}

void net_close_listeners(void)
{
    for (int i = 0; i < nlisten; i++) {
        event_free(levs[i]);
        close(lfds[i]);
    }
    nlisten = 0;
}

/* Protocol errors are answered with Redis's text, then the connection is
 * closed: the stream can't be resynchronised. */
static void protocol_error(client *c)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "ERR %s", c->parser.err);
    log_verbose("protocol error from client %s: %s", c->addr, c->parser.err);
    c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT);
    reply_error(c, msg);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    buf_consume(&c->qbuf, buf_unread(&c->qbuf));
}

/* Executes every complete command in the query buffer. */
static void process_input(client *c)
{
    c->flags |= CLIENT_IN_LOOP;
    while (buf_unread(&c->qbuf) &&
           !(c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED | CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP))) {
        size_t used;
        c->parser.unauth = !(c->flags & CLIENT_AUTHENTICATED);
        int r = resp_parse(&c->parser, buf_rptr(&c->qbuf), buf_unread(&c->qbuf), &used);
        if (r == RESP_INCOMPLETE) break;
        if (r == RESP_PROTO_ERR) {
            protocol_error(c);
            break;
        }
        c->argc = c->parser.argc;
        c->argv = c->parser.argv;
        c->argvlen = c->parser.argvlen;
        c->last_ms = srv.now_ms;
        if (c->flags & CLIENT_REPLY_SKIP_NEXT) {
            c->flags = (c->flags & ~CLIENT_REPLY_SKIP_NEXT) | CLIENT_REPLY_SKIP;
        }
        int st = cmd_process(c);
        c->flags &= ~CLIENT_REPLY_SKIP;
        if (st < 0 && (c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED))) {
            /* The command now lives in c->owned; drop it from the buffer. */
            buf_consume(&c->qbuf, used);
            resp_parser_reset(&c->parser);
            break;
        }
        buf_consume(&c->qbuf, used);
        resp_parser_reset(&c->parser);
        c->argc = 0;
    }
    c->flags &= ~CLIENT_IN_LOOP;
}

/* A client held by CLIENT PAUSE: run its saved command, then go on
 * with the rest of its input. */
void net_run_held_command(client *c)
{
    c->flags |= CLIENT_IN_LOOP;
    c->argc = c->owned.argc;
    c->argv = (const char **)c->owned.argv;
    c->argvlen = c->owned.argvlen;
    int st = cmd_process(c);
    c->flags &= ~CLIENT_IN_LOOP;
    if (!(st < 0 && (c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED)))) {
        owned_cmd_free(&c->owned);
        c->argc = 0;
    }
    net_resume_client(c);
}

void net_resume_client(client *c)
{
    if (!(c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED))) process_input(c);
    if (c->flags & CLIENT_CLOSE_ASAP) client_free(c);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    client *c = arg;
    server_update_clock();
    size_t want = IOBUF_LEN;
    /* Reading a big bulk: size the buffer for it once instead of growing
     * it 16 KiB at a time. */
    if (c->parser.bulklen >= 32 * 1024 && c->parser.need > buf_unread(&c->qbuf))
        want = c->parser.need - buf_unread(&c->qbuf);
    buf_reserve(&c->qbuf, want);
    ssize_t n = read(fd, c->qbuf.p + c->qbuf.len, want);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        client_free(c);
        return;
    }
    c->qbuf.len += (size_t)n;
    srv.stat.net_input_bytes += n;
    srv.stat.total_reads++;
    server_note_active(c);
    if (cfg.client_query_buffer_limit && buf_unread(&c->qbuf) > (size_t)cfg.client_query_buffer_limit) {
        log_warning("closing client %s: query buffer over client-query-buffer-limit", c->addr);
        srv.stat.client_qbuf_limit_disconnections++;
        client_free(c);
        return;
    }
    if (!(c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED))) process_input(c);
    if (c->flags & CLIENT_CLOSE_ASAP) client_free(c);
    /* Replies go out in server_before_sleep, after every ready client of
     * this loop iteration was read: one write per client per iteration. */
}

int net_write(client *c)
{
    while (c->obuf_written < c->obuf.len) {
        ssize_t n = write(c->fd, c->obuf.p + c->obuf_written, c->obuf.len - c->obuf_written);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) break;
            client_free(c);
            return -1;
        }
        c->obuf_written += (size_t)n;
        srv.stat.net_output_bytes += n;
        srv.stat.total_writes++;
    }
    if (c->obuf_written == c->obuf.len) {
        /* Keep a modest buffer around; free a big one a reply left behind. */
        c->obuf_written = 0;
        buf_reset(&c->obuf, 64 * 1024);
        event_del(c->wev);
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
            client_free(c);
            return -1;
        }
    } else {
        event_add(c->wev, NULL);
    }
    return 0;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    server_update_clock();
    net_write(arg);
}
