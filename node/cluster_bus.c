#define _GNU_SOURCE
/* cluster_bus: the Redis 7.0 cluster bus of shoal-node (§1, §3-§9 of
 * shared/bus-protocol.md).
 *
 * Listens on the bus port, keeps one outbound link per known node (opened
 * by the cron) plus the inbound links peers open to us, frames the byte
 * stream into messages (common/busproto does the wire format), processes
 * each message in the order a 7.0 node does (handshake, epochs, roles,
 * slots, gossip, FAIL, UPDATE, Pub/Sub), builds every message we send, and
 * runs the 100 ms cron: handshake timeouts, reconnects, pings, link
 * refresh, PFAIL checks and state re-evaluation.
 *
 * Hostile input: the claimed length is checked before anything is sized
 * from it and the receive buffer only grows with bytes that actually
 * arrived; framing errors close the link, undecodable messages are
 * dropped, and the link survives. */
#include "cluster.h"
#include "config.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "pubsub.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK (16 * 1024)
#define MAX_BUS_LISTENERS 16
#define MAX_ACCEPTS_PER_EVENT 1000
/* Receive buffers above this are released once drained (after a big
 * PUBLISH) instead of being kept for the link's lifetime. */
#define RCVBUF_KEEP (64 * 1024)

struct cluster_link {
    cluster_link *prev, *next;     /* every link, for shutdown */
    long long ctime_ms;
    int       fd;
    int       inbound;             /* accepted (the peer's outbound link) */
    int       connecting;          /* outbound, connect() in progress */
    int       busy;                /* its callback is running: defer release */
    int       dead;                /* freed; memory released when not busy */
    cluster_node *node;            /* outbound: always; inbound: once known */
    struct event *rev, *wev;
    buf_t     sndbuf, rcvbuf;
};

static cluster_link *all_links;
static int lfds[MAX_BUS_LISTENERS];
static struct event *levs[MAX_BUS_LISTENERS];
static int nlisten;

static void send_ping(cluster_link *l, uint16_t type);

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static long long node_timeout(void)
{
    return cfg.cluster_node_timeout > 0 ? cfg.cluster_node_timeout : 15000;
}

/* Copy a received IP text field: at most 45 characters plus NUL. */
static void copy_ip(char *dst, const char *src)
{
    size_t n = strnlen(src, BUS_IPLEN - 1);
    memcpy(dst, src, n);
    memset(dst + n, 0, BUS_IPLEN + 1 - n);
}

static int sock_ip(int fd, int peer, char *out)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    out[0] = '\0';
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl) : getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (rc < 0) return -1;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, BUS_IPLEN);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, BUS_IPLEN);
    else
        return -1;
    return 0;
}

/* Only IP texts go into the node table: an address from the wire is
 * printed into CLUSTER NODES and nodes.conf, where junk would break the
 * file for the next start. */
static int ip_text_ok(const char *ip)
{
    struct in6_addr a6;
    struct in_addr a4;
    char tmp[BUS_IPLEN + 1];
    copy_ip(tmp, ip);
    return inet_pton(AF_INET, tmp, &a4) == 1 || inet_pton(AF_INET6, tmp, &a6) == 1;
}

/* The sender's address: its announced myip, else the socket peer.
 * -1 if neither is known (the peer may already be gone). */
static int node_ip_from(cluster_link *l, const char *myip, char *out)
{
    char ip[BUS_IPLEN + 1];
    if (myip[0] && ip_text_ok(myip)) {
        copy_ip(out, myip);
        return 0;
    }
    if (sock_ip(l->fd, 1, ip) < 0 || !ip[0]) return -1;
    copy_ip(out, ip);
    return 0;
}

/* ---- links ------------------------------------------------------------------ */

static void on_link_read(evutil_socket_t fd, short what, void *arg);
static void on_link_write(evutil_socket_t fd, short what, void *arg);

static cluster_link *link_new(int fd, int inbound, cluster_node *node)
{
    cluster_link *l = xcalloc(1, sizeof(*l));
    l->ctime_ms = srv.now_ms;
    l->fd = fd;
    l->inbound = inbound;
    l->node = node;
    buf_init(&l->sndbuf);
    buf_init(&l->rcvbuf);
    l->rev = event_new(srv.base, fd, EV_READ | EV_PERSIST, on_link_read, l);
    l->wev = event_new(srv.base, fd, EV_WRITE | EV_PERSIST, on_link_write, l);
    l->next = all_links;
    if (all_links) all_links->prev = l;
    all_links = l;
    return l;
}

static void link_release(cluster_link *l)
{
    buf_free(&l->sndbuf);
    buf_free(&l->rcvbuf);
    xfree(l);
}

void cluster_link_free(cluster_link *l)
{
    if (!l || l->dead) return;
    l->dead = 1;
    if (l->node) {
        if (l->node->link == l) l->node->link = NULL;
        if (l->node->inbound_link == l) l->node->inbound_link = NULL;
        l->node = NULL;
    }
    if (l->rev) event_free(l->rev);
    if (l->wev) event_free(l->wev);
    l->rev = l->wev = NULL;
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
    if (l->prev) l->prev->next = l->next;
    else if (all_links == l) all_links = l->next;
    if (l->next) l->next->prev = l->prev;
    l->prev = l->next = NULL;
    /* A callback on this link is still running: it releases the memory. */
    if (!l->busy) link_release(l);
}

void cluster_free_node_links(cluster_node *n)
{
    if (n->link) cluster_link_free(n->link);
    if (n->inbound_link) cluster_link_free(n->inbound_link);
}

/* An inbound link belongs to the node whose messages arrive on it. */
static void attach_inbound(cluster_link *l, cluster_node *n)
{
    if (l->node == n) return;
    if (l->node && l->node->inbound_link == l) l->node->inbound_link = NULL;
    /* A reconnecting peer may open a new link before we see the old one
     * close: the old one is left to die on its own, as Redis does, but
     * forgets the node so it never points to a freed one. */
    if (n->inbound_link && n->inbound_link != l) n->inbound_link->node = NULL;
    n->inbound_link = l;
    l->node = n;
}

static void link_want_write(cluster_link *l)
{
    if (!l->dead && !l->connecting && l->wev) event_add(l->wev, NULL);
}

static void link_append(cluster_link *l, const void *p, size_t n, uint16_t type)
{
    if (!l || l->dead) return;
    buf_append(&l->sndbuf, p, n);
    if (type < BUS_MSG_TYPE_COUNT) cluster->stats_sent[type]++;
    link_want_write(l);
}

static void link_send(cluster_link *l, const bus_msg *m)
{
    if (!l || l->dead) return;
    const char *why = NULL;
    if (bus_encode_buf(m, &l->sndbuf, &why) != BUS_OK) {
        log_warning("Cluster bus: cannot encode a %s message: %s", bus_type_name(m->h.type), why ? why : "?");
        return;
    }
    if (m->h.type < BUS_MSG_TYPE_COUNT) cluster->stats_sent[m->h.type]++;
    link_want_write(l);
}

static void link_flush(cluster_link *l)
{
    buf_t *b = &l->sndbuf;
    while (buf_unread(b)) {
        ssize_t w = write(l->fd, buf_rptr(b), buf_unread(b));
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            log_verbose("Error writing to node link: %s", strerror(errno));
            cluster_link_free(l);
            return;
        }
        buf_consume(b, (size_t)w);
    }
    event_del(l->wev);
    /* Idle links hold no send memory (CLUSTER LINKS shows 0, as Redis). */
    buf_free(b);
    buf_init(b);
}

static void link_finish_connect(cluster_link *l)
{
    cluster_node *n = l->node;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err) {
        if (n) log_verbose("Connection with Node %.40s at %s:%d failed: %s", n->name, n->ip, n->cport, strerror(err));
        cluster_link_free(l);
        return;
    }
    l->connecting = 0;
    event_add(l->rev, NULL);
    if (!n) return;
    /* First packet: MEET for a node we were told to meet, else PING. Keep
     * an older pending ping time so failure detection is not reset by a
     * reconnect. */
    long long old_ping = n->ping_sent_ms;
    send_ping(l, (n->flags & BUS_NODE_MEET) ? BUS_MSG_MEET : BUS_MSG_PING);
    if (old_ping) n->ping_sent_ms = old_ping;
    n->flags &= ~BUS_NODE_MEET;
    log_debug("Connecting with Node %.40s at %s:%d", n->name, n->ip, n->cport);
    link_flush(l);
}

static void on_link_write(evutil_socket_t fd, short what, void *arg)
{
    cluster_link *l = arg;
    server_update_clock();
    l->busy++;
    if (l->connecting) link_finish_connect(l);
    else link_flush(l);
    l->busy--;
    if (l->dead && !l->busy) link_release(l);
}

static int addr_parse(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
    memset(ss, 0, sizeof(*ss));
    if (port <= 0 || port > 65535) return -1;
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
    return -1;
}

/* Non-blocking connect from the cron. The link exists (and the node shows
 * "connected") while connecting, as in Redis. */
static void link_connect(cluster_node *n)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int fd = -1;
    const char *why = "invalid address";
    if (addr_parse(n->ip, n->cport, &ss, &sl) == 0) {
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)) {
            why = strerror(errno);
            if (fd >= 0) close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        /* Synchronous failure: pretend a ping is pending so an unreachable
         * node still times out. */
        if (n->ping_sent_ms == 0) n->ping_sent_ms = srv.now_ms;
        log_debug("Unable to connect to Cluster Node [%s]:%d -> %s", n->ip, n->cport, why);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    cluster_link *l = link_new(fd, 0, n);
    l->connecting = 1;
    n->link = l;
    event_add(l->wev, NULL);
}

/* ---- listener ------------------------------------------------------------------ */

static void on_bus_accept(evutil_socket_t lfd, short what, void *arg)
{
    server_update_clock();
    for (int i = 0; i < MAX_ACCEPTS_PER_EVENT; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_verbose("Error accepting cluster node: %s", strerror(errno));
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int idle = (int)(node_timeout() / 1000 * 2), intvl, cnt = 3;
        if (idle < 1) idle = 1;
        intvl = idle / 3 ? idle / 3 : 1;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
        cluster_link *l = link_new(fd, 1, NULL);
        event_add(l->rev, NULL);
        if (log_level() <= LOG_VERBOSE) {
            char ip[BUS_IPLEN + 1];
            sock_ip(fd, 1, ip);
            log_verbose("Accepting cluster node connection from %s", ip);
        }
    }
}

int cluster_bus_listen(char *err, size_t errlen)
{
    static const char *def_bind[] = {"127.0.0.1", NULL};
    const char **addrs = cfg.bind.n ? (const char **)cfg.bind.v : def_bind;
    int n = cfg.bind.n ? cfg.bind.n : 1;
    long long port = config_cluster_bus_port();
    if (port <= 0 || port > 65535) {
        snprintf(err, errlen, "invalid cluster bus port %lld", port);
        return -1;
    }
    for (int i = 0; i < n && nlisten < MAX_BUS_LISTENERS; i++) {
        const char *a = addrs[i];
        int optional = a[0] == '-';
        if (optional) a++;
        if (strcmp(a, "*") == 0) a = "0.0.0.0";
        else if (strcmp(a, "::*") == 0) a = "::";
        struct sockaddr_storage ss;
        socklen_t sl;
        if (addr_parse(a, (int)port, &ss, &sl) < 0) {
            snprintf(err, errlen, "invalid bind address '%s'", a);
            return -1;
        }
        int one = 1;
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) goto syserr;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, (int)(cfg.tcp_backlog > 0 ? cfg.tcp_backlog : 511)) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            if (optional) continue;
            goto syserr;
        }
        lfds[nlisten] = fd;
        levs[nlisten] = event_new(srv.base, fd, EV_READ | EV_PERSIST, on_bus_accept, NULL);
        event_add(levs[nlisten], NULL);
        nlisten++;
        continue;
    syserr:
        snprintf(err, errlen, "Could not create cluster bus listening socket %s:%lld: %s", a, port, strerror(errno));
        return -1;
    }
    return 0;
}

void cluster_bus_close(void)
{
    for (int i = 0; i < nlisten; i++) {
        event_free(levs[i]);
        close(lfds[i]);
    }
    nlisten = 0;
    while (all_links) cluster_link_free(all_links);
}

/* ---- building messages -------------------------------------------------------- */

/* §3: a replica advertises its master's slots and configEpoch. */
static void build_hdr(bus_msg *m, uint16_t type)
{
    cluster_node *me = cluster->myself;
    cluster_node *master = ((me->flags & BUS_NODE_SLAVE) && me->master) ? me->master : me;
    bus_msg_init(m, type);
    m->h.port = (uint16_t)(cfg.cluster_announce_port ? cfg.cluster_announce_port : cfg.port);
    m->h.pport = 0;
    m->h.cport = (uint16_t)(cfg.cluster_announce_bus_port ? cfg.cluster_announce_bus_port : config_cluster_bus_port());
    m->h.current_epoch = cluster->current_epoch;
    m->h.config_epoch = master->config_epoch;
    /* Replication offsets come with replication (a later issue). */
    m->h.offset = 0;
    memcpy(m->h.sender, me->name, BUS_NAMELEN);
    memcpy(m->h.myslots, master->slots, BUS_SLOT_BYTES);
    if (me->master) memcpy(m->h.slaveof, me->master->name, BUS_NAMELEN);
    if (cfg.cluster_announce_ip && *cfg.cluster_announce_ip) copy_ip(m->h.myip, cfg.cluster_announce_ip);
    m->h.flags = me->flags;
    m->h.state = (uint8_t)cluster->state;
}

static void fill_gossip(bus_gossip *g, const cluster_node *n)
{
    memset(g, 0, sizeof(*g));
    memcpy(g->nodename, n->name, BUS_NAMELEN);
    g->ping_sent = (uint32_t)(n->ping_sent_ms / 1000);
    g->pong_received = (uint32_t)(n->pong_received_ms / 1000);
    copy_ip(g->ip, n->ip);
    g->port = (uint16_t)n->port;
    g->cport = (uint16_t)n->cport;
    g->flags = n->flags;
    g->pport = (uint16_t)n->pport;
}

/* PING/PONG/MEET with gossip (§7.2). Each packet describes a random tenth
 * of the nodes (at least 3): with ~N/10 entries per packet and several
 * packets per node pair inside the 2 x node-timeout report validity, a
 * failing node gets reported by a majority of masters in time. Every PFAIL
 * node is added on top so suspicions spread fast. */
static void send_ping(cluster_link *l, uint16_t type)
{
    if (!l || l->dead) return;
    cluster_node *me = cluster->myself;
    int known = (int)kvt_size(cluster->nodes);
    int freshnodes = known - 2;
    int wanted = known / 10;
    if (wanted < 3) wanted = 3;
    if (wanted > freshnodes) wanted = freshnodes;
    if (wanted < 0) wanted = 0;

    int npfail = 0;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *n = e->val;
        if ((n->flags & BUS_NODE_PFAIL) && !(n->flags & (BUS_NODE_HANDSHAKE | BUS_NODE_NOADDR))) npfail++;
    }
    bus_gossip *g = xmalloc(sizeof(*g) * (size_t)(wanted + npfail + 1));
    cluster_node **added = xmalloc(sizeof(*added) * (size_t)(wanted + 1));

    if (!l->inbound && type == BUS_MSG_PING && l->node) l->node->ping_sent_ms = srv.now_ms;

    int count = 0, tries = wanted * 3;
    while (freshnodes > 0 && count < wanted && tries-- > 0) {
        kv *r = kvt_random(cluster->nodes);
        if (!r) break;
        cluster_node *n = r->val;
        if (n == me || (n->flags & BUS_NODE_PFAIL)) continue;
        if ((n->flags & (BUS_NODE_HANDSHAKE | BUS_NODE_NOADDR)) || (!n->link && n->numslots == 0)) {
            freshnodes--;   /* not exact, but bounds the loop cheaply (as Redis) */
            continue;
        }
        int dup = 0;
        for (int i = 0; i < count && !dup; i++) dup = added[i] == n;
        if (dup) continue;
        fill_gossip(&g[count], n);
        added[count++] = n;
        freshnodes--;
    }
    if (npfail) {
        kvt_iter_init(&it, cluster->nodes);
        while ((e = kvt_iter_next(&it)) != NULL && npfail > 0) {
            cluster_node *n = e->val;
            if (!(n->flags & BUS_NODE_PFAIL) || (n->flags & (BUS_NODE_HANDSHAKE | BUS_NODE_NOADDR))) continue;
            fill_gossip(&g[count++], n);
            npfail--;
        }
    }

    bus_msg m;
    bus_ext ext;
    build_hdr(&m, type);
    m.u.ping.gossip = g;
    m.u.ping.n_gossip = (uint32_t)count;
    /* 7.0 peers know only the hostname extension; send it only when set. */
    if (me->hostname && *me->hostname) {
        bus_ext_hostname(&ext, me->hostname);
        m.u.ping.ext = &ext;
        m.u.ping.n_ext = 1;
    }
    link_send(l, &m);
    xfree(g);
    xfree(added);
}

/* Encode once, queue on every established peer link. */
static void broadcast(const bus_msg *m)
{
    buf_t b;
    buf_init(&b);
    const char *why = NULL;
    if (bus_encode_buf(m, &b, &why) != BUS_OK) {
        log_warning("Cluster bus: cannot encode a %s message: %s", bus_type_name(m->h.type), why ? why : "?");
        buf_free(&b);
        return;
    }
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *n = e->val;
        if (!n->link || (n->flags & (BUS_NODE_MYSELF | BUS_NODE_HANDSHAKE))) continue;
        link_append(n->link, buf_rptr(&b), buf_unread(&b), m->h.type);
    }
    buf_free(&b);
}

void cluster_broadcast_fail(cluster_node *n)
{
    bus_msg m;
    build_hdr(&m, BUS_MSG_FAIL);
    memcpy(m.u.fail.nodename, n->name, BUS_NAMELEN);
    broadcast(&m);
}

static void broadcast_pong(int local_replicas_only)
{
    cluster_node *me = cluster->myself;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *n = e->val;
        if (!n->link || n == me || (n->flags & BUS_NODE_HANDSHAKE)) continue;
        if (local_replicas_only) {
            int local = (n->flags & BUS_NODE_SLAVE) && n->master &&
                        (n->master == me || n->master == me->master);
            if (!local) continue;
        }
        send_ping(n->link, BUS_MSG_PONG);
    }
}

void cluster_broadcast_pong(void) { broadcast_pong(0); }
void cluster_broadcast_pong_local_replicas(void) { broadcast_pong(1); }

void cluster_send_update(cluster_link *l, cluster_node *n)
{
    if (!l) return;
    bus_msg m;
    build_hdr(&m, BUS_MSG_UPDATE);
    m.u.update.config_epoch = n->config_epoch;
    memcpy(m.u.update.nodename, n->name, BUS_NAMELEN);
    /* Slots the owner stopped claiming are not vouched for (§9.2). */
    for (int s = 0; s < CLUSTER_SLOTS; s++)
        if (bus_slot_get(n->slots, (unsigned)s) && !cluster_slot_owner_not_claiming(s))
            bus_slot_set(m.u.update.slots, (unsigned)s);
    link_send(l, &m);
}

void cluster_propagate_publish(const char *ch, size_t chlen, const char *msg, size_t msglen, int sharded)
{
    if (!cluster || !cluster->myself) return;
    if (chlen > UINT32_MAX || msglen > UINT32_MAX) return;
    bus_msg m;
    build_hdr(&m, sharded ? BUS_MSG_PUBLISHSHARD : BUS_MSG_PUBLISH);
    m.u.publish.channel = (const uint8_t *)ch;
    m.u.publish.channel_len = (uint32_t)chlen;
    m.u.publish.message = (const uint8_t *)msg;
    m.u.publish.message_len = (uint32_t)msglen;
    if (!sharded) {
        broadcast(&m);
        return;
    }
    /* Sharded: only the other nodes of my shard (its master and replicas). */
    cluster_node *me = cluster->myself;
    cluster_node *master = (me->flags & BUS_NODE_MASTER) ? me : me->master;
    if (!master) return;
    buf_t b;
    buf_init(&b);
    if (bus_encode_buf(&m, &b, NULL) != BUS_OK) {
        buf_free(&b);
        return;
    }
    if (master != me && master->link)
        link_append(master->link, buf_rptr(&b), buf_unread(&b), BUS_MSG_PUBLISHSHARD);
    for (int i = 0; i < master->nreplicas; i++) {
        cluster_node *r = master->replicas[i];
        if (r != me && r->link) link_append(r->link, buf_rptr(&b), buf_unread(&b), BUS_MSG_PUBLISHSHARD);
    }
    buf_free(&b);
}

int cluster_start_handshake(const char *ip, int port, int cport)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (port <= 0 || port > 65535 || cport <= 0 || cport > 65535) return -1;
    if (addr_parse(ip, port, &ss, &sl) < 0) return -1;
    char norm[BUS_IPLEN + 1] = {0};
    if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, norm, BUS_IPLEN);
    else inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, norm, BUS_IPLEN);

    /* Already meeting that address: nothing to do (still a success). */
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *n = e->val;
        if ((n->flags & BUS_NODE_HANDSHAKE) && strcasecmp(n->ip, norm) == 0 && n->port == port && n->cport == cport)
            return 0;
    }
    cluster_node *n = cluster_node_new(NULL, BUS_NODE_HANDSHAKE | BUS_NODE_MEET);
    copy_ip(n->ip, norm);
    n->port = port;
    n->cport = cport;
    cluster_add_node(n);
    return 0;
}

/* ---- processing received messages ------------------------------------------------- */

/* A known node talks to us from a new address (§6): adopt it and drop our
 * outbound link so the cron reconnects there. Never frees `l`. */
static int update_address(cluster_node *n, cluster_link *l, const bus_hdr *h)
{
    if (l == n->link) return 0;
    char ip[BUS_IPLEN + 1];
    if (node_ip_from(l, h->myip, ip) < 0) return 0;
    if (n->port == h->port && n->cport == h->cport && n->pport == h->pport && strcmp(ip, n->ip) == 0) return 0;
    copy_ip(n->ip, ip);
    n->port = h->port;
    n->pport = h->pport;
    n->cport = h->cport;
    if (n->link) cluster_link_free(n->link);
    n->flags &= ~BUS_NODE_NOADDR;
    log_warning("Address updated for node %.40s, now %s:%d", n->name, n->ip, n->port);
    return 1;
}

static int has_report_from(cluster_node *n, cluster_node *reporter)
{
    for (int i = 0; i < n->nreports; i++)
        if (n->reports[i].reporter == reporter) return 1;
    return 0;
}

/* §7.4. sender is NULL for a MEET from an unknown node: then only the
 * sender-independent parts run (no reports, no new nodes). */
static void process_gossip(const bus_msg *m, cluster_node *sender)
{
    cluster_node *me = cluster->myself;
    for (uint32_t i = 0; i < m->u.ping.n_gossip; i++) {
        const bus_gossip *g = &m->u.ping.gossip[i];
        uint16_t flags = g->flags;
        cluster_node *n = cluster_lookup(g->nodename, BUS_NAMELEN);
        if (n) {
            if (sender && (sender->flags & BUS_NODE_MASTER) && n != me) {
                if (flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL)) {
                    if (cluster_fail_report_add(n, sender))
                        log_verbose("Node %.40s reported node %.40s as not reachable.", sender->name, n->name);
                    cluster_mark_failing_if_needed(n);
                } else if (has_report_from(n, sender)) {
                    cluster_fail_report_del(n, sender);
                    log_verbose("Node %.40s reported node %.40s is back online.", sender->name, n->name);
                }
            }
            /* A node we have no doubt about: trust a fresher pong time
             * seen by others (at most 500 ms in our future). */
            if (!(flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL)) && n->ping_sent_ms == 0 &&
                cluster_fail_report_count(n) == 0) {
                long long pong = (long long)g->pong_received * 1000;
                if (pong <= srv.now_ms + 500 && pong > n->pong_received_ms) n->pong_received_ms = pong;
            }
            /* We can't reach it but someone else can, at another address. */
            if ((n->flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL)) && !(flags & BUS_NODE_NOADDR) && ip_text_ok(g->ip) &&
                !(flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL)) &&
                (strcasecmp(n->ip, g->ip) != 0 || n->port != g->port || n->cport != g->cport)) {
                if (n->link) cluster_link_free(n->link);
                copy_ip(n->ip, g->ip);
                n->port = g->port;
                n->pport = g->pport;
                n->cport = g->cport;
                n->flags &= ~BUS_NODE_NOADDR;
            }
        } else if (sender && !(flags & BUS_NODE_NOADDR) && bus_nodeid_valid(g->nodename, BUS_NAMELEN) &&
                   ip_text_ok(g->ip) &&
                   ((flags & (BUS_NODE_MASTER | BUS_NODE_SLAVE)) == BUS_NODE_MASTER ||
                    (flags & (BUS_NODE_MASTER | BUS_NODE_SLAVE)) == BUS_NODE_SLAVE) &&
                   !cluster_blacklist_exists(g->nodename)) {
            /* Only a known sender can introduce nodes: two clusters never
             * merge because of a stray address. Local-only flags (never
             * gossiped by a real node) are not taken. */
            n = cluster_node_new(g->nodename,
                                 flags & (uint16_t)~(BUS_NODE_MYSELF | BUS_NODE_HANDSHAKE | BUS_NODE_MEET));
            copy_ip(n->ip, g->ip);
            n->port = g->port;
            n->pport = g->pport;
            n->cport = g->cport;
            cluster_add_node(n);
            cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
        }
    }
}

/* What cluster-announce-hostname accepts: [A-Za-z0-9.-], < 256 chars.
 * Anything else would corrupt CLUSTER NODES / nodes.conf lines. */
static int hostname_ok(const uint8_t *h, uint32_t len)
{
    if (len >= 256) return 0;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* Extensions: HOSTNAME is the only 7.0 type; no HOSTNAME means none. */
static void process_ext(const bus_msg *m, cluster_node *sender)
{
    const uint8_t *host = NULL;
    uint32_t hlen = 0;
    for (uint32_t i = 0; i < m->u.ping.n_ext; i++) {
        const bus_ext *x = &m->u.ping.ext[i];
        if (x->type == BUS_EXT_HOSTNAME) {
            host = x->data;
            hlen = x->data_len;
        } else {
            log_warning("Received unknown extension type %d", x->type);
        }
    }
    if (host && !hostname_ok(host, hlen)) {
        log_verbose("Ignoring an invalid hostname from node %.40s", sender->name);
        return;
    }
    if (host && hlen == 0) host = NULL;
    if (!host && !sender->hostname) return;
    if (host && sender->hostname && strlen(sender->hostname) == hlen && memcmp(sender->hostname, host, hlen) == 0)
        return;
    xfree(sender->hostname);
    sender->hostname = host ? xmemdup(host, hlen) : NULL;
    cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
}

/* Handshake completion / ID check on our outbound link (§6). Returns 1 if
 * processing must stop (the link or its node went away). */
static int check_outbound_identity(cluster_link *l, const bus_hdr *h, cluster_node *known)
{
    cluster_node *ln = l->node;
    if (!ln) return 1;
    if (ln->flags & BUS_NODE_HANDSHAKE) {
        if (known) {
            /* We met a node we already know: refresh its address, drop the
             * placeholder (and with it this link). If it is us, just drop. */
            if (known != cluster->myself) {
                log_verbose("Handshake: we already know node %.40s, updating the address if needed.", known->name);
                if (update_address(known, l, h)) cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE);
            }
            cluster_del_node(ln);
            return 1;
        }
        if (!bus_nodeid_valid(h->sender, BUS_NAMELEN)) return 1; /* let the handshake time out */
        cluster_rename_node(ln, h->sender);
        log_debug("Handshake with node %.40s completed.", ln->name);
        ln->flags &= ~BUS_NODE_HANDSHAKE;
        /* The role as the header states it (never both bits). */
        ln->flags |= bus_name_is_null(h->slaveof) ? BUS_NODE_MASTER : BUS_NODE_SLAVE;
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
        return 0;
    }
    if (memcmp(ln->name, h->sender, BUS_NAMELEN) != 0) {
        /* Someone else answers at that address now. */
        log_debug("PONG contains mismatching sender ID. About node %.40s added %lld ms ago, having flags %d",
                  ln->name, srv.now_ms - ln->ctime_ms, ln->flags);
        ln->flags |= BUS_NODE_NOADDR;
        ln->ip[0] = '\0';
        ln->port = ln->pport = ln->cport = 0;
        cluster_link_free(l);
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
        return 1;
    }
    return 0;
}

/* §7.3 step 6: the sender's role as it announces it. */
static void update_role(cluster_node *sender, const bus_hdr *h)
{
    if (bus_name_is_null(h->slaveof)) {
        cluster_set_node_as_master(sender);
        return;
    }
    cluster_node *master = cluster_lookup(h->slaveof, BUS_NAMELEN);
    if (sender->flags & BUS_NODE_MASTER) {
        /* A master turned into a replica. */
        cluster_del_node_slots(sender);
        sender->flags &= ~(BUS_NODE_MASTER | BUS_NODE_MIGRATE_TO);
        sender->flags |= BUS_NODE_SLAVE;
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE);
    } else if (!(sender->flags & BUS_NODE_SLAVE)) {
        sender->flags |= BUS_NODE_SLAVE;   /* learned without a role (gossip) */
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
    }
    if (master && master != sender && !(master->flags & BUS_NODE_HANDSHAKE) && sender->master != master) {
        cluster_set_master(sender, master);
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
    }
}

/* §7.3 step 7: slot claims. */
static void check_slots(cluster_node *sender, const bus_hdr *h, uint64_t sender_cfg)
{
    cluster_node *sender_master = (sender->flags & BUS_NODE_MASTER) ? sender : sender->master;
    if (!sender_master || memcmp(sender_master->slots, h->myslots, BUS_SLOT_BYTES) == 0) return;
    if (sender->flags & BUS_NODE_MASTER) cluster_update_slots_config(sender, sender_cfg, h->myslots);
    /* The sender claims a slot someone newer owns: tell it (first owner only). */
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!bus_slot_get(h->myslots, (unsigned)s)) continue;
        cluster_node *owner = cluster->slots[s];
        if (!owner || owner == sender) continue;
        if (owner->config_epoch > sender_cfg) {
            log_verbose("Node %.40s has old slots configuration, sending an UPDATE message about %.40s",
                        sender->name, owner->name);
            cluster_send_update(sender->link, owner);
            break;
        }
    }
}

static void process_packet(cluster_link *l, const bus_msg *m)
{
    const bus_hdr *h = &m->h;
    uint16_t type = h->type;
    long long now = srv.now_ms;
    cluster_node *me = cluster->myself;
    int pingish = type == BUS_MSG_PING || type == BUS_MSG_PONG || type == BUS_MSG_MEET;

    cluster_node *known = cluster_lookup(h->sender, BUS_NAMELEN);
    /* Messages claiming our own ID are never trusted as a known peer. */
    cluster_node *sender = known == me ? NULL : known;
    if (sender && l->inbound) attach_inbound(l, sender);
    if (sender) sender->data_received_ms = now;

    uint64_t sender_cfg = 0;
    if (sender && !(sender->flags & BUS_NODE_HANDSHAKE)) {
        if (h->current_epoch > cluster->current_epoch) cluster->current_epoch = h->current_epoch;
        sender_cfg = h->config_epoch;
        if (sender_cfg > sender->config_epoch) {
            sender->config_epoch = sender_cfg;
            cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_FSYNC_CONFIG);
        }
        sender->repl_offset = (long long)h->offset;
    }

    if (type == BUS_MSG_PING || type == BUS_MSG_MEET) {
        /* Peers reach us at the address they MEET us on: learn it (or from
         * any PING while we know none), unless we announce one. */
        if ((type == BUS_MSG_MEET || !me->ip[0]) && !(cfg.cluster_announce_ip && *cfg.cluster_announce_ip)) {
            char ip[BUS_IPLEN + 1];
            if (sock_ip(l->fd, 0, ip) == 0 && strcmp(ip, me->ip) != 0) {
                copy_ip(me->ip, ip);
                log_warning("IP address for this node updated to %s", me->ip);
                cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
            }
        }
        /* MEET is the only way in for an unknown node (a PING from one
         * just gets its PONG): placeholder now, details from its PONGs. */
        char ip[BUS_IPLEN + 1];
        if (!known && type == BUS_MSG_MEET && node_ip_from(l, h->myip, ip) == 0) {
            cluster_node *n = cluster_node_new(NULL, BUS_NODE_HANDSHAKE);
            copy_ip(n->ip, ip);
            n->port = h->port;
            n->pport = h->pport;
            n->cport = h->cport;
            cluster_add_node(n);
            cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
            process_gossip(m, NULL);
        }
        send_ping(l, BUS_MSG_PONG);
    }

    if (pingish) {
        if (!l->inbound && check_outbound_identity(l, h, known)) return;
        if (sender) {
            sender->flags = (uint16_t)((sender->flags & ~BUS_NODE_NOFAILOVER) | (h->flags & BUS_NODE_NOFAILOVER));
            if (type == BUS_MSG_PING && !(sender->flags & BUS_NODE_HANDSHAKE) && update_address(sender, l, h))
                cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE);
        }
        if (!l->inbound && type == BUS_MSG_PONG && l->node) {
            cluster_node *ln = l->node;
            ln->pong_received_ms = now;
            ln->ping_sent_ms = 0;
            if (ln->flags & BUS_NODE_PFAIL) {
                ln->flags &= ~BUS_NODE_PFAIL;
                cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE);
            } else if (ln->flags & BUS_NODE_FAIL) {
                cluster_clear_fail_if_needed(ln);
            }
        }
        if (!sender) return;
        update_role(sender, h);
        check_slots(sender, h, sender_cfg);
        if ((me->flags & BUS_NODE_MASTER) && (sender->flags & BUS_NODE_MASTER) && sender_cfg == me->config_epoch)
            cluster_handle_epoch_collision(sender);
        process_gossip(m, sender);
        process_ext(m, sender);
        return;
    }

    switch (type) {
    case BUS_MSG_FAIL: {
        if (!sender) {
            log_notice("Ignoring FAIL message from unknown node %.40s about %.40s", h->sender, m->u.fail.nodename);
            return;
        }
        cluster_node *failing = cluster_lookup(m->u.fail.nodename, BUS_NAMELEN);
        if (failing && !(failing->flags & (BUS_NODE_FAIL | BUS_NODE_MYSELF))) {
            log_notice("FAIL message received from %.40s about %.40s", h->sender, m->u.fail.nodename);
            failing->flags |= BUS_NODE_FAIL;
            failing->fail_time_ms = now;
            failing->flags &= ~BUS_NODE_PFAIL;
            cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE);
        }
        return;
    }
    case BUS_MSG_PUBLISH:
    case BUS_MSG_PUBLISHSHARD:
        if (!sender) return;
        if (type == BUS_MSG_PUBLISH)
            pubsub_publish((const char *)m->u.publish.channel, m->u.publish.channel_len,
                           (const char *)m->u.publish.message, m->u.publish.message_len);
        else
            pubsub_publish_shard((const char *)m->u.publish.channel, m->u.publish.channel_len,
                                 (const char *)m->u.publish.message, m->u.publish.message_len);
        return;
    case BUS_MSG_FAILOVER_AUTH_REQUEST:
    case BUS_MSG_FAILOVER_AUTH_ACK:
    case BUS_MSG_MFSTART:
        /* Elections and manual failover are a later issue: counted, ignored. */
        return;
    case BUS_MSG_UPDATE: {
        if (!sender) return;
        cluster_node *n = cluster_lookup(m->u.update.nodename, BUS_NAMELEN);
        if (!n || n->config_epoch >= m->u.update.config_epoch) return;
        cluster_set_node_as_master(n);   /* no-op for a master */
        n->config_epoch = m->u.update.config_epoch;
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_FSYNC_CONFIG);
        cluster_update_slots_config(n, m->u.update.config_epoch, m->u.update.slots);
        return;
    }
    case BUS_MSG_MODULE:
        return;   /* no modules */
    default:
        log_warning("Received unknown packet type: %d", type);
        return;
    }
}

/* ---- reading --------------------------------------------------------------------- */

/* Largest frame we accept: a PUBLISH of two maximal bulks. Other types
 * are held to BUS_FRAME_MAX_DEFAULT once their type is known. */
static uint32_t frame_cap(void)
{
    unsigned long long cap = BUS_HDR_LEN + 8 + 2ULL * (unsigned long long)(cfg.proto_max_bulk_len > 0 ? cfg.proto_max_bulk_len : 512LL << 20);
    if (cap > UINT32_MAX) cap = UINT32_MAX;
    if (cap < BUS_FRAME_MAX_DEFAULT) cap = BUS_FRAME_MAX_DEFAULT;
    return (uint32_t)cap;
}

static int type_may_be_big(uint16_t t)
{
    return t == BUS_MSG_PUBLISH || t == BUS_MSG_PUBLISHSHARD || t == BUS_MSG_MODULE;
}

static void handle_frame(cluster_link *l, const uint8_t *p, uint32_t totlen)
{
    uint16_t type = rd16(p + BUS_OFF_TYPE);
    if (type < BUS_MSG_TYPE_COUNT) cluster->stats_received[type]++;
    bus_msg m;
    const char *why = NULL;
    int rc = bus_decode(p, totlen, &m, &why);
    if (rc == BUS_ERR_VERSION) return;   /* other protocol versions: ignored */
    if (rc != BUS_OK) {
        log_warning("Received invalid %s packet of length %u: %s", bus_type_name(type), totlen, why ? why : bus_strerror(rc));
        return;
    }
    process_packet(l, &m);
    bus_msg_free(&m);
}

static void process_input(cluster_link *l)
{
    buf_t *rb = &l->rcvbuf;
    uint32_t cap = frame_cap();
    while (!l->dead && buf_unread(rb)) {
        const uint8_t *p = (const uint8_t *)buf_rptr(rb);
        size_t avail = buf_unread(rb);
        uint32_t totlen = 0;
        const char *why = NULL;
        int rc = bus_frame(p, avail, cap, &totlen, &why);
        if (rc < 0) {
            log_warning("Bad message length or signature received from Cluster bus (%s).", why ? why : bus_strerror(rc));
            cluster_link_free(l);
            return;
        }
        if (rc == BUS_FRAME_NEED_MORE) {
            if (totlen > BUS_FRAME_MAX_DEFAULT && avail >= BUS_OFF_TYPE + 2 &&
                !type_may_be_big(rd16(p + BUS_OFF_TYPE))) {
                log_warning("Bad message length received from Cluster bus (%u bytes for a %s message).",
                            totlen, bus_type_name(rd16(p + BUS_OFF_TYPE)));
                cluster_link_free(l);
            }
            return;
        }
        handle_frame(l, p, totlen);
        buf_consume(rb, totlen);
    }
    if (!l->dead && buf_unread(rb) == 0 && rb->cap > RCVBUF_KEEP) {
        buf_free(rb);
        buf_init(rb);
    }
}

static void link_read(cluster_link *l)
{
    buf_t *rb = &l->rcvbuf;
    if (rb->off) buf_compact(rb);
    /* Grow only by what is read: a claimed length never sizes the buffer. */
    buf_reserve(rb, READ_CHUNK);
    ssize_t n = read(l->fd, rb->p + rb->len, READ_CHUNK);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        log_verbose("I/O error reading from node link: %s", strerror(errno));
        cluster_link_free(l);
        return;
    }
    if (n == 0) {
        log_verbose("I/O error reading from node link: connection closed");
        cluster_link_free(l);
        return;
    }
    rb->len += (size_t)n;
    process_input(l);
}

static void on_link_read(evutil_socket_t fd, short what, void *arg)
{
    cluster_link *l = arg;
    server_update_clock();
    l->busy++;
    link_read(l);
    l->busy--;
    if (l->dead && !l->busy) link_release(l);
}

/* ---- cron (§7.1) ------------------------------------------------------------------- */

void cluster_cron(void)
{
    static unsigned long long iteration;
    if (!cluster || !cluster->myself) return;
    iteration++;
    cluster_update_myself_announced();

    long long now = srv.now_ms;
    long long timeout = node_timeout();
    long long handshake_timeout = timeout < 1000 ? 1000 : timeout;
    cluster_node *me = cluster->myself;

    /* Handshake timeouts and reconnects. Expired placeholders are deleted
     * after the walk: the iterator tolerates nothing else. */
    cluster_node **expired = NULL;
    int nexpired = 0;
    cluster->stats_pfail_nodes = 0;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *n = e->val;
        if (n->flags & (BUS_NODE_MYSELF | BUS_NODE_NOADDR)) continue;
        if (n->flags & BUS_NODE_PFAIL) cluster->stats_pfail_nodes++;
        if ((n->flags & BUS_NODE_HANDSHAKE) && now - n->ctime_ms > handshake_timeout) {
            expired = xrealloc(expired, sizeof(*expired) * (size_t)(nexpired + 1));
            expired[nexpired++] = n;
            continue;
        }
        if (!n->link) link_connect(n);
    }
    for (int i = 0; i < nexpired; i++) cluster_del_node(expired[i]);
    xfree(expired);

    /* About once a second: ping the stalest of 5 random nodes. */
    if (iteration % 10 == 0) {
        cluster_node *min_node = NULL;
        for (int j = 0; j < 5; j++) {
            kv *r = kvt_random(cluster->nodes);
            if (!r) break;
            cluster_node *n = r->val;
            if (!n->link || n->ping_sent_ms != 0) continue;
            if (n->flags & (BUS_NODE_MYSELF | BUS_NODE_HANDSHAKE)) continue;
            if (!min_node || n->pong_received_ms < min_node->pong_received_ms) min_node = n;
        }
        if (min_node) {
            log_debug("Pinging node %.40s", min_node->name);
            send_ping(min_node->link, BUS_MSG_PING);
        }
    }

    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *n = e->val;
        if (n == me || (n->flags & (BUS_NODE_MYSELF | BUS_NODE_NOADDR | BUS_NODE_HANDSHAKE))) continue;
        long long ping_delay = now - n->ping_sent_ms;
        long long data_delay = now - n->data_received_ms;
        /* Link looks stuck (old enough, ping unanswered, no traffic at
         * all): drop it, the next tick reconnects. */
        if (n->link && now - n->link->ctime_ms > timeout && n->ping_sent_ms &&
            ping_delay > timeout / 2 && data_delay > timeout / 2)
            cluster_link_free(n->link);
        /* Nobody should wait more than half the timeout for a ping. */
        if (n->link && n->ping_sent_ms == 0 && now - n->pong_received_ms > timeout / 2)
            send_ping(n->link, BUS_MSG_PING);
    }

    cluster_check_pfail();
    if ((cluster->todo & CLUSTER_TODO_UPDATE_STATE) || cluster->state == CLUSTER_FAIL) cluster_update_state();
}

/* ---- CLUSTER LINKS ------------------------------------------------------------------ */

static void reply_link(client *c, cluster_link *l)
{
    char events[3], *p = events;
    if (!l->connecting) *p++ = 'r';
    if (buf_unread(&l->sndbuf)) *p++ = 'w';
    *p = '\0';
    reply_map(c, 6);
    reply_bulk_cstr(c, "direction");
    reply_bulk_cstr(c, l->inbound ? "from" : "to");
    reply_bulk_cstr(c, "node");
    reply_bulk(c, l->node->name, BUS_NAMELEN);
    reply_bulk_cstr(c, "create-time");
    reply_int(c, l->ctime_ms);
    reply_bulk_cstr(c, "events");
    reply_bulk_cstr(c, events);
    reply_bulk_cstr(c, "send-buffer-allocated");
    reply_int(c, (long long)l->sndbuf.cap);
    reply_bulk_cstr(c, "send-buffer-used");
    reply_int(c, (long long)buf_unread(&l->sndbuf));
}

void cluster_reply_links(client *c)
{
    size_t mark = reply_defer(c);
    long long n = 0;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *node = e->val;
        if (node->link) {
            reply_link(c, node->link);
            n++;
        }
        if (node->inbound_link) {
            reply_link(c, node->inbound_link);
            n++;
        }
    }
    reply_defer_set(c, mark, '*', n);
}
