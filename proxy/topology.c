/* topology: the cluster observer thread (see topology.h). It keeps one
 * outbound bus link per known node, PINGs it every interval as an unknown
 * sender, folds PONG headers and gossip into a node table, resolves the slot
 * map with slotmap's builder and publishes a snapshot when it changed.
 * Bootstrap/fallback through CLUSTER SHARDS or CLUSTER SLOTS (hiredis). */
#define _GNU_SOURCE
#include "topology.h"
#include "busproto.h"
#include "log.h"
#include "mem.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* A reconnect waits interval << fails, capped here: a dead node costs one
 * refused connect per second at most, and a restarted one is found fast. */
#define TOPO_MAX_BACKOFF_MS 1000
/* How often the forget rule runs. */
#define TOPO_FORGET_CHECK_MS 1000
/* Rate limit for bootstraps asked for by topology_refresh_now. */
#define TOPO_REFRESH_BOOTSTRAP_MS 1000
/* Delay between the first change and the rebuild it causes: short next to
 * a ping interval, long enough to fold one round of PONGs into one map. */
#define TOPO_REBUILD_DELAY_MS 5
/* Bootstrap addresses tried per pass besides the seeds (known nodes). */
#define TOPO_BOOTSTRAP_EXTRA 3

enum { LINK_CONNECTING = 1, LINK_UP = 2 };

typedef struct tnode tnode;

/* One outbound TCP connection to a node's bus port. */
typedef struct tlink {
    struct bufferevent *bev;
    struct topology *t;
    tnode     *node;          /* who we think answers there; moves on an ID change */
    int        state;         /* LINK_CONNECTING / LINK_UP */
    long long  start_ms;      /* connect started (mono) */
    long long  ping_ms;       /* oldest unanswered PING (mono), 0 if none */
    long long  last_ping_ms;  /* last PING sent (mono) */
} tlink;

/* What the observer knows about one node. */
struct tnode {
    char      id[SLOTMAP_IDLEN + 1];   /* "" for a seed whose ID is not known yet */
    char      ip[SLOTMAP_IPLEN + 1];   /* "" once the address is known to be stale */
    uint16_t  port, cport;
    uint8_t   role;                    /* SLOTMAP_MASTER / SLOTMAP_REPLICA */
    uint8_t   role_from_pong;          /* role came from the node itself */
    char      master_id[SLOTMAP_IDLEN + 1];
    uint64_t  config_epoch;
    uint8_t   claim[BUS_SLOT_BYTES];   /* slots it last said it serves (masters) */
    uint8_t   has_claim;
    uint8_t   noreply;                 /* our own PING/connect failed last */
    uint8_t   flags;                   /* SLOTMAP_F_* as last computed */
    long long created_ms, pong_ms, mention_ms;   /* mono */
    long long fail_rep_ms, pfail_rep_ms, ok_rep_ms; /* latest gossip reports (mono) */
    int       fails;                   /* consecutive link failures */
    long long next_connect_ms;
    tlink    *lk;                      /* NULL: no connection */
};

typedef struct seed {
    char     host[256];
    uint16_t port, cport;              /* cport 0: port + 10000 */
} seed;

struct topology {
    topology_config cfg;
    seed      *seeds;
    int        n_seeds;
    char      *username, *password;
    char       my_id[BUS_NAMELEN + 1];
    uint8_t    ping_msg[BUS_HDR_LEN];  /* our PING, encoded once */
    size_t     ping_len;
    int        tick_ms, hold_ms;

    slotmap_domain  *dom;
    slotmap_builder *builder;
    const slotmap   *last;             /* what we published last (owned by dom;
                                        * only this thread publishes, so it stays valid) */
    const char      *next_source;

    tnode    **nodes;                  /* every node, placeholders included */
    int        n_nodes, cap_nodes;
    tnode    **by_id;                  /* identified nodes, sorted by id */
    int        n_by_id, cap_by_id;
    uint64_t   current_epoch;

    struct event_base *base;
    struct event *tick_ev, *wake_ev, *rebuild_ev;
    int        wake_fd;
    pthread_t  thread;
    int        running;
    atomic_int stop_flag, refresh_flag;

    long long  started_ms, last_pong_ms, last_bootstrap_try_ms, last_forget_ms;

    pthread_mutex_t lock;              /* ready flag */
    pthread_cond_t  cond;
    int        ready;

    struct {
        _Atomic uint64_t pings_sent, pongs_received, connects, connect_failures, link_drops,
            frame_errors, decode_errors, bootstraps, bootstrap_failures, publishes, refreshes,
            known_nodes, links_up;
        _Atomic long long last_pong_wall_ms, last_bootstrap_wall_ms;
    } st;
};

#define STAT_INC(t, f) atomic_fetch_add_explicit(&(t)->st.f, 1, memory_order_relaxed)

static long long now_ms(void) { return mono_us() / 1000; }

static void mark_dirty(topology *t);
static void link_close(topology *t, tlink *lk);
static void make_ping(topology *t);

/* ======================================================================
 * Node table
 * ====================================================================== */

static int by_id_pos(const topology *t, const char *id, int *found)
{
    int lo = 0, hi = t->n_by_id - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = memcmp(t->by_id[mid]->id, id, SLOTMAP_IDLEN);
        if (c == 0) { *found = 1; return mid; }
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    *found = 0;
    return lo;
}

static tnode *node_find(const topology *t, const char *id)
{
    int found, i = by_id_pos(t, id, &found);
    return found ? t->by_id[i] : NULL;
}

static void index_add(topology *t, tnode *n)
{
    int found, i = by_id_pos(t, n->id, &found);
    if (found) return;
    if (t->n_by_id == t->cap_by_id) {
        t->cap_by_id = t->cap_by_id ? t->cap_by_id * 2 : 16;
        t->by_id = xrealloc(t->by_id, sizeof(tnode *) * (size_t)t->cap_by_id);
    }
    memmove(&t->by_id[i + 1], &t->by_id[i], sizeof(tnode *) * (size_t)(t->n_by_id - i));
    t->by_id[i] = n;
    t->n_by_id++;
}

static void index_del(topology *t, tnode *n)
{
    if (!n->id[0]) return;
    int found, i = by_id_pos(t, n->id, &found);
    if (!found || t->by_id[i] != n) return;
    memmove(&t->by_id[i], &t->by_id[i + 1], sizeof(tnode *) * (size_t)(t->n_by_id - i - 1));
    t->n_by_id--;
}

static void copy_fixed(char *dst, const char *src, size_t cap)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

/* New node; id may be NULL for a seed placeholder. */
static tnode *node_new(topology *t, const char *id, const char *ip, uint16_t port, uint16_t cport)
{
    tnode *n = xcalloc(1, sizeof(tnode));
    if (id) {
        memcpy(n->id, id, SLOTMAP_IDLEN);
        n->id[SLOTMAP_IDLEN] = '\0';
    }
    copy_fixed(n->ip, ip, sizeof(n->ip));
    n->port = port;
    n->cport = cport ? cport : (uint16_t)(port + 10000);
    n->role = SLOTMAP_MASTER;
    n->created_ms = n->mention_ms = now_ms();
    if (t->n_nodes == t->cap_nodes) {
        t->cap_nodes = t->cap_nodes ? t->cap_nodes * 2 : 16;
        t->nodes = xrealloc(t->nodes, sizeof(tnode *) * (size_t)t->cap_nodes);
    }
    t->nodes[t->n_nodes++] = n;
    if (id) index_add(t, n);
    atomic_store(&t->st.known_nodes, (uint64_t)t->n_by_id);
    return n;
}

static void node_remove(topology *t, tnode *n)
{
    if (n->lk) link_close(t, n->lk);
    index_del(t, n);
    for (int i = 0; i < t->n_nodes; i++) {
        if (t->nodes[i] != n) continue;
        t->nodes[i] = t->nodes[--t->n_nodes];
        break;
    }
    xfree(n);
    atomic_store(&t->st.known_nodes, (uint64_t)t->n_by_id);
}

/* Health from gossip reports: the most recent kind of report wins, but a
 * fail (or fail?) report is only overridden by a healthy one that came more
 * than hold_ms later. Gossipers clear their flags at slightly different
 * times; without the hold the flag would flicker (and republish) while the
 * cluster converges. No reports at all: the last state stays. */
static uint8_t node_flags(const topology *t, const tnode *n)
{
    uint8_t f = 0;
    if (n->fail_rep_ms && !(n->ok_rep_ms > n->fail_rep_ms + t->hold_ms)) f |= SLOTMAP_F_FAIL;
    else if (n->pfail_rep_ms && !(n->ok_rep_ms > n->pfail_rep_ms + t->hold_ms) &&
             n->pfail_rep_ms >= n->fail_rep_ms)
        f |= SLOTMAP_F_PFAIL;
    if (n->noreply) f |= SLOTMAP_F_NOREPLY;
    return f;
}

static void node_update_flags(topology *t, tnode *n)
{
    uint8_t f = node_flags(t, n);
    if (f != n->flags) {
        n->flags = f;
        if (n->id[0]) mark_dirty(t);
    }
}

/* ======================================================================
 * Links
 * ====================================================================== */

static int make_sockaddr(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof(*a4);
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof(*a6);
        return 0;
    }
    return -1;
}

static void update_links_up(topology *t)
{
    uint64_t up = 0;
    for (int i = 0; i < t->n_nodes; i++)
        if (t->nodes[i]->lk && t->nodes[i]->lk->state == LINK_UP) up++;
    atomic_store(&t->st.links_up, up);
}

static void link_close(topology *t, tlink *lk)
{
    if (lk->node) lk->node->lk = NULL;
    if (lk->bev) bufferevent_free(lk->bev);
    xfree(lk);
    update_links_up(t);
}

static long long backoff_ms(const topology *t, int fails)
{
    long long b = t->cfg.ping_interval_ms < 50 ? 50 : t->cfg.ping_interval_ms;
    int shift = fails > 1 ? fails - 1 : 0;
    if (shift > 10) shift = 10;
    b <<= shift;
    return b > TOPO_MAX_BACKOFF_MS ? TOPO_MAX_BACKOFF_MS : b;
}

/* A link failed (connect refused/timed out, reset, PONG timeout, bad
 * frame): drop it, back off, and flag the node until it answers again. */
static void link_fail(topology *t, tlink *lk, const char *why)
{
    tnode *n = lk->node;
    if (lk->state == LINK_CONNECTING) STAT_INC(t, connect_failures);
    else STAT_INC(t, link_drops);
    if (n) {
        log_debug("topology: bus link to %s:%u (%.8s) failed: %s", n->ip, n->cport,
                  n->id[0] ? n->id : "seed", why);
        n->fails++;
        n->next_connect_ms = now_ms() + backoff_ms(t, n->fails);
        n->noreply = 1;
        node_update_flags(t, n);
    }
    link_close(t, lk);
}

static void send_ping(topology *t, tlink *lk)
{
    long long now = now_ms();
    if (bufferevent_write(lk->bev, t->ping_msg, t->ping_len) != 0) return;
    if (!lk->ping_ms) lk->ping_ms = now;
    lk->last_ping_ms = now;
    STAT_INC(t, pings_sent);
}

static void handle_pong(topology *t, tlink *lk, const bus_msg *m);

static void link_read_cb(struct bufferevent *bev, void *arg)
{
    tlink *lk = arg;
    topology *t = lk->t;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t have = evbuffer_get_length(in);
        if (have < 8) return;
        uint8_t head[8];
        uint32_t totlen = 0;
        const char *reason = NULL;
        evbuffer_copyout(in, head, 8);
        if (bus_frame(head, 8, 0, &totlen, &reason) < 0) {
            /* Not a cluster bus (or garbage): a 7.0 node closes such links too. */
            STAT_INC(t, frame_errors);
            link_fail(t, lk, reason ? reason : "bad frame");
            return;
        }
        if (have < totlen) return;
        const uint8_t *p = evbuffer_pullup(in, totlen);
        bus_msg m;
        if (bus_decode(p, totlen, &m, &reason) == BUS_OK) {
            /* Only PONGs answer us; anything else on this link is ignored. */
            if (m.h.type == BUS_MSG_PONG) handle_pong(t, lk, &m);
            bus_msg_free(&m);
        } else {
            STAT_INC(t, decode_errors);
        }
        evbuffer_drain(in, totlen);
    }
}

static void link_event_cb(struct bufferevent *bev, short what, void *arg)
{
    tlink *lk = arg;
    topology *t = lk->t;
    if (what & BEV_EVENT_CONNECTED) {
        lk->state = LINK_UP;
        STAT_INC(t, connects);
        update_links_up(t);
        send_ping(t, lk);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        const char *why = (what & BEV_EVENT_EOF) ? "closed by peer"
                          : (what & BEV_EVENT_TIMEOUT) ? "timeout"
                          : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
        link_fail(t, lk, why);
    }
}

/* Non-blocking connect to n's bus port; the tick enforces the timeout. */
static void link_start(topology *t, tnode *n)
{
    long long now = now_ms();
    struct sockaddr_storage ss;
    socklen_t len;
    if (!n->ip[0] || !n->cport || make_sockaddr(n->ip, n->cport, &ss, &len) != 0) {
        n->fails++;
        n->next_connect_ms = now + TOPO_MAX_BACKOFF_MS;
        return;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        n->next_connect_ms = now + TOPO_MAX_BACKOFF_MS;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    tlink *lk = xcalloc(1, sizeof(tlink));
    lk->t = t;
    lk->node = n;
    lk->state = LINK_CONNECTING;
    lk->start_ms = now;
    n->lk = lk;
    lk->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!lk->bev) {
        close(fd);
        link_fail(t, lk, "bufferevent_socket_new failed");
        return;
    }
    bufferevent_setcb(lk->bev, link_read_cb, NULL, link_event_cb, lk);
    bufferevent_enable(lk->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(lk->bev, (struct sockaddr *)&ss, (int)len) != 0)
        link_fail(t, lk, "connect failed");
}

/* The link's connection belongs to target from now on (it answered with
 * target's ID). A link target already had is dropped. */
static void link_move(topology *t, tlink *lk, tnode *target)
{
    if (lk->node == target) return;
    if (target->lk) link_close(t, target->lk);
    if (lk->node) lk->node->lk = NULL;
    lk->node = target;
    target->lk = lk;
}

/* ======================================================================
 * PONG and gossip processing
 * ====================================================================== */

static int name_eq(const char *a, const char *b) { return memcmp(a, b, SLOTMAP_IDLEN) == 0; }

/* One gossip entry from a PONG (§5.1, §7.4 as it applies to an observer). */
static void handle_gossip(topology *t, const bus_gossip *g, long long now)
{
    if (!bus_nodeid_valid(g->nodename, BUS_NAMELEN)) return;
    if (name_eq(g->nodename, t->my_id)) {
        make_ping(t);   /* a member has our ID: take another (see make_ping) */
        return;
    }
    /* A handshake name is temporary and a noaddr node cannot be reached. */
    if (g->flags & (BUS_NODE_HANDSHAKE | BUS_NODE_NOADDR)) return;
    uint16_t port = g->pport ? g->pport : g->port; /* plaintext port in TLS clusters */
    tnode *x = node_find(t, g->nodename);
    if (!x) {
        if (!g->ip[0] || !port) return;
        x = node_new(t, g->nodename, g->ip, port, g->cport);
        x->role = (g->flags & BUS_NODE_SLAVE) ? SLOTMAP_REPLICA : SLOTMAP_MASTER;
        log_verbose("topology: learned node %.40s at %s:%u@%u from gossip", x->id, x->ip, x->port, x->cport);
        link_start(t, x);
        mark_dirty(t);
    } else {
        x->mention_ms = now;
        /* A node we cannot reach may have moved: take the gossiped address
         * (the cluster does the same for PFAIL/FAIL nodes, §7.4). */
        int healthy = x->lk && x->lk->state == LINK_UP && !x->noreply;
        if (!healthy && g->ip[0] && port && g->cport &&
            (strcmp(x->ip, g->ip) != 0 || x->port != port || x->cport != g->cport)) {
            copy_fixed(x->ip, g->ip, sizeof(x->ip));
            x->port = port;
            x->cport = g->cport;
            x->next_connect_ms = now;
            if (x->lk && x->lk->state == LINK_CONNECTING) link_close(t, x->lk);
            mark_dirty(t);
        }
        if (!x->role_from_pong) {
            uint8_t role = (g->flags & BUS_NODE_SLAVE) ? SLOTMAP_REPLICA : SLOTMAP_MASTER;
            if (role != x->role) {
                x->role = role;
                mark_dirty(t);
            }
        }
    }
    if (g->flags & BUS_NODE_FAIL) x->fail_rep_ms = now;
    else if (g->flags & BUS_NODE_PFAIL) x->pfail_rep_ms = now;
    else x->ok_rep_ms = now;
    node_update_flags(t, x);
}

/* The node at the other end of lk answered. Its header is authoritative
 * for its own ID, role, master, configEpoch and slots (§3, §7.3). */
static void handle_pong(topology *t, tlink *lk, const bus_msg *m)
{
    const bus_hdr *h = &m->h;
    long long now = now_ms();
    tnode *n = lk->node;
    if (!n || !bus_nodeid_valid(h->sender, BUS_NAMELEN)) {
        STAT_INC(t, decode_errors);
        return;
    }
    if (name_eq(h->sender, t->my_id)) {
        make_ping(t);
        return;
    }
    STAT_INC(t, pongs_received);
    t->last_pong_ms = now;
    atomic_store(&t->st.last_pong_wall_ms, time_ms());

    if (!n->id[0] || !name_eq(n->id, h->sender)) {
        /* A seed placeholder learns its ID, or a different node now
         * answers at this address (restarted with a new ID). */
        tnode *target = node_find(t, h->sender);
        if (!n->id[0] && !target) {
            memcpy(n->id, h->sender, SLOTMAP_IDLEN);
            n->id[SLOTMAP_IDLEN] = '\0';
            index_add(t, n);
            atomic_store(&t->st.known_nodes, (uint64_t)t->n_by_id);
            target = n;
        } else {
            if (n->id[0])
                log_notice("topology: %s:%u@%u now answers as %.40s (was %.40s)",
                           n->ip, n->port, n->cport, h->sender, n->id);
            if (!target) target = node_new(t, h->sender, n->ip, n->port, n->cport);
            copy_fixed(target->ip, n->ip, sizeof(target->ip));
            target->port = n->port;
            target->cport = n->cport;
            link_move(t, lk, target);
            if (!n->id[0]) {
                node_remove(t, n);
            } else {
                n->ip[0] = '\0';     /* its old address is someone else's now */
                n->noreply = 1;
                node_update_flags(t, n);
            }
        }
        n = target;
        mark_dirty(t);
    }

    int changed = 0;
    uint8_t role = bus_name_is_null(h->slaveof) ? SLOTMAP_MASTER : SLOTMAP_REPLICA;
    char master_id[SLOTMAP_IDLEN + 1] = "";
    if (role == SLOTMAP_REPLICA) {
        memcpy(master_id, h->slaveof, SLOTMAP_IDLEN);
        master_id[SLOTMAP_IDLEN] = '\0';
    }
    if (role != n->role || strcmp(master_id, n->master_id) != 0) {
        n->role = role;
        memcpy(n->master_id, master_id, sizeof(master_id));
        changed = 1;
    }
    n->role_from_pong = 1;
    /* A replica's header carries its master's configEpoch (§3). */
    if (h->config_epoch != n->config_epoch) {
        n->config_epoch = h->config_epoch;
        changed = 1;
    }
    if (h->current_epoch > t->current_epoch) {
        t->current_epoch = h->current_epoch;
        changed = 1;
    }
    uint16_t port = h->pport ? h->pport : h->port;
    if (port && port != n->port) { n->port = port; changed = 1; }
    if (h->cport && h->cport != n->cport) { n->cport = h->cport; changed = 1; }
    if (h->myip[0] && strcmp(h->myip, n->ip) != 0) {   /* cluster-announce-ip */
        copy_fixed(n->ip, h->myip, sizeof(n->ip));
        changed = 1;
    }
    if (role == SLOTMAP_MASTER) {
        if (!n->has_claim || memcmp(n->claim, h->myslots, BUS_SLOT_BYTES) != 0) {
            memcpy(n->claim, h->myslots, BUS_SLOT_BYTES);
            n->has_claim = 1;
            changed = 1;
        }
    } else if (n->has_claim) {
        n->has_claim = 0;   /* replicas advertise their master's slots, not claims */
        changed = 1;
    }
    n->pong_ms = now;
    n->fails = 0;
    lk->ping_ms = 0;
    if (n->noreply) {
        n->noreply = 0;
        node_update_flags(t, n);
    }
    if (changed) mark_dirty(t);

    for (uint32_t i = 0; i < m->u.ping.n_gossip; i++) handle_gossip(t, &m->u.ping.gossip[i], now);
}

/* ======================================================================
 * Snapshot building and publishing
 * ====================================================================== */

static void rebuild(topology *t)
{
    if (t->n_by_id == 0 && !t->last) return;   /* nothing learned yet */
    slotmap_builder *b = t->builder;
    slotmap_builder_reset(b);
    for (int i = 0; i < t->n_by_id; i++) {
        tnode *n = t->by_id[i];
        int x = slotmap_builder_node(b, n->id, n->ip, n->port, n->cport);
        if (x < 0) continue;
        if (n->role == SLOTMAP_MASTER) {
            slotmap_builder_master(b, x, n->config_epoch);
            if (n->has_claim) slotmap_builder_claim_bitmap(b, x, n->claim);
        } else {
            slotmap_builder_replica(b, x, n->master_id, n->config_epoch);
        }
        slotmap_builder_flags(b, x, n->flags);
    }
    slotmap_builder_current_epoch(b, t->current_epoch);
    slotmap *m = slotmap_builder_build(b, t->last, t->next_source);
    t->next_source = "bus";
    if (t->last && slotmap_equal(m, t->last)) {
        slotmap_free(m);
        return;
    }
    slotmap_domain_publish(t->dom, m);
    t->last = m;
    STAT_INC(t, publishes);
    log_verbose("topology: published map version %llu (%s, %u nodes)",
                (unsigned long long)m->version, m->source, m->n_nodes);
    if (t->cfg.on_publish) t->cfg.on_publish(m, t->cfg.on_publish_arg);
    pthread_mutex_lock(&t->lock);
    if (!t->ready) {
        t->ready = 1;
        pthread_cond_broadcast(&t->cond);
    }
    pthread_mutex_unlock(&t->lock);
}

static void rebuild_cb(evutil_socket_t fd, short what, void *arg)
{
    rebuild(arg);
}

/* Coalesce: changes within TOPO_REBUILD_DELAY_MS lead to one rebuild (the
 * PONGs of one ping round arrive within about a millisecond of each other). */
static void mark_dirty(topology *t)
{
    if (t->rebuild_ev && !evtimer_pending(t->rebuild_ev, NULL)) {
        struct timeval tv = { 0, TOPO_REBUILD_DELAY_MS * 1000 };
        evtimer_add(t->rebuild_ev, &tv);
    }
}

/* ======================================================================
 * Bootstrap: CLUSTER SHARDS / CLUSTER SLOTS over hiredis
 * ====================================================================== */

typedef struct boot_node {
    char id[SLOTMAP_IDLEN + 1];
    char ip[SLOTMAP_IPLEN + 1];
    uint16_t port;
    int  master, fail;
    char master_id[SLOTMAP_IDLEN + 1];
    uint8_t slots[BUS_SLOT_BYTES];
} boot_node;

typedef struct boot_info {
    boot_node *n;
    int count, cap;
} boot_info;

static boot_node *boot_get(boot_info *bi, const char *id, size_t idlen)
{
    if (idlen != SLOTMAP_IDLEN) return NULL;
    for (int i = 0; i < bi->count; i++)
        if (memcmp(bi->n[i].id, id, SLOTMAP_IDLEN) == 0) return &bi->n[i];
    if (bi->count == bi->cap) {
        bi->cap = bi->cap ? bi->cap * 2 : 16;
        bi->n = xrealloc(bi->n, sizeof(boot_node) * (size_t)bi->cap);
    }
    boot_node *b = &bi->n[bi->count++];
    memset(b, 0, sizeof(*b));
    memcpy(b->id, id, SLOTMAP_IDLEN);
    return b;
}

static int reply_str(const redisReply *r, const char **s, size_t *len)
{
    if (!r) return 0;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        *s = r->str;
        *len = r->len;
        return 1;
    }
    return 0;
}

static int reply_int(const redisReply *r, long long *v)
{
    if (!r) return 0;
    if (r->type == REDIS_REPLY_INTEGER) { *v = r->integer; return 1; }
    if (r->type == REDIS_REPLY_STRING) return str_to_ll(r->str, r->len, v); /* 7.0.0 SHARDS */
    return 0;
}

static int reply_is(const redisReply *r, const char *word)
{
    const char *s;
    size_t len;
    return reply_str(r, &s, &len) && len == strlen(word) && strncasecmp(s, word, len) == 0;
}

/* RESP2 (all hiredis 0.14 speaks) sends maps as flat key/value arrays. */
static const redisReply *map_get(const redisReply *r, const char *key)
{
    if (!r || r->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (reply_is(r->element[i], key)) return r->element[i + 1];
    return NULL;
}

static void copy_reply_str(char *dst, size_t cap, const redisReply *r, const char *dflt)
{
    const char *s;
    size_t len;
    if (reply_str(r, &s, &len) && len > 0 && len < cap && !(len == 1 && s[0] == '?')) {
        memcpy(dst, s, len);
        dst[len] = '\0';
    } else {
        copy_fixed(dst, dflt, cap);
    }
}

static void set_slot_range(uint8_t *bm, long long a, long long b)
{
    if (a < 0) a = 0;
    if (b >= SLOTMAP_NSLOTS) b = SLOTMAP_NSLOTS - 1;
    for (long long s = a; s <= b; s++) bus_slot_set(bm, (unsigned)s);
}

/* CLUSTER SHARDS (§18): one element per master: slots [a,b,...] and nodes
 * (master first). Returns 0 if the reply had the expected shape. */
static int parse_shards(const redisReply *r, const char *host, boot_info *bi)
{
    if (r->type != REDIS_REPLY_ARRAY) return -1;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *sh = r->element[i];
        const redisReply *slots = map_get(sh, "slots"), *nodes = map_get(sh, "nodes");
        if (!nodes || nodes->type != REDIS_REPLY_ARRAY) return -1;
        boot_node *master = NULL;
        for (size_t j = 0; j < nodes->elements; j++) {
            const redisReply *nd = nodes->element[j];
            const char *id;
            size_t idlen;
            long long port = 0;
            if (!reply_str(map_get(nd, "id"), &id, &idlen)) return -1;
            boot_node *b = boot_get(bi, id, idlen);
            if (!b) continue;
            if (!reply_int(map_get(nd, "port"), &port) || port <= 0 || port > 65535) continue;
            b->port = (uint16_t)port;
            copy_reply_str(b->ip, sizeof(b->ip), map_get(nd, "ip"), host);
            b->master = reply_is(map_get(nd, "role"), "master");
            b->fail = reply_is(map_get(nd, "health"), "fail");
            if (b->master && !master) master = b;
        }
        if (!master) continue;
        for (size_t j = 0; j < nodes->elements; j++) {
            const char *id;
            size_t idlen;
            if (!reply_str(map_get(nodes->element[j], "id"), &id, &idlen)) continue;
            boot_node *b = boot_get(bi, id, idlen);
            if (b && b != master && !b->master) memcpy(b->master_id, master->id, sizeof(b->master_id));
        }
        if (slots && slots->type == REDIS_REPLY_ARRAY) {
            for (size_t k = 0; k + 1 < slots->elements; k += 2) {
                long long a, e;
                if (reply_int(slots->element[k], &a) && reply_int(slots->element[k + 1], &e))
                    set_slot_range(master->slots, a, e);
            }
        }
    }
    return 0;
}

/* CLUSTER SLOTS (§17): [start, end, master [ip, port, id, ...], replicas...]. */
static int parse_slots(const redisReply *r, const char *host, boot_info *bi)
{
    if (r->type != REDIS_REPLY_ARRAY) return -1;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *rg = r->element[i];
        long long a, e;
        if (rg->type != REDIS_REPLY_ARRAY || rg->elements < 3 ||
            !reply_int(rg->element[0], &a) || !reply_int(rg->element[1], &e))
            return -1;
        boot_node *master = NULL;
        for (size_t j = 2; j < rg->elements; j++) {
            const redisReply *nd = rg->element[j];
            const char *id;
            size_t idlen;
            long long port;
            if (nd->type != REDIS_REPLY_ARRAY || nd->elements < 3) return -1;
            if (!reply_str(nd->element[2], &id, &idlen) || !reply_int(nd->element[1], &port)) continue;
            boot_node *b = boot_get(bi, id, idlen);
            if (!b || port <= 0 || port > 65535) continue;
            b->port = (uint16_t)port;
            copy_reply_str(b->ip, sizeof(b->ip), nd->element[0], host);
            if (j == 2) {
                b->master = 1;
                master = b;
                set_slot_range(b->slots, a, e);
            } else if (master) {
                b->master = 0;
                memcpy(b->master_id, master->id, sizeof(b->master_id));
            }
        }
    }
    return 0;
}

/* Ask one address. Returns 0 with bi filled, or -1. */
static int bootstrap_query(topology *t, const char *host, uint16_t port, boot_info *bi, const char **src)
{
    struct timeval tv = { t->cfg.redis_timeout_ms / 1000, (t->cfg.redis_timeout_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    int rc = -1;
    if (!c || c->err) {
        log_verbose("topology: bootstrap: cannot connect to %s:%u: %s", host, port,
                    c ? c->errstr : "out of memory");
        goto out;
    }
    redisSetTimeout(c, tv);
    if (t->password) {
        redisReply *a = t->username ? redisCommand(c, "AUTH %s %s", t->username, t->password)
                                    : redisCommand(c, "AUTH %s", t->password);
        int ok = a && a->type != REDIS_REPLY_ERROR;
        if (a) freeReplyObject(a);
        if (!ok) {
            log_warning("topology: bootstrap: AUTH failed on %s:%u", host, port);
            goto out;
        }
    }
    redisReply *r = redisCommand(c, "CLUSTER SHARDS");
    if (r && r->type == REDIS_REPLY_ARRAY && parse_shards(r, host, bi) == 0) {
        *src = "CLUSTER SHARDS";
        rc = 0;
    } else if (r && r->type == REDIS_REPLY_ERROR) {
        /* Before 7.0 (or a node that lacks it): the older command. */
        freeReplyObject(r);
        bi->count = 0;
        r = redisCommand(c, "CLUSTER SLOTS");
        if (r && r->type == REDIS_REPLY_ARRAY && parse_slots(r, host, bi) == 0) {
            *src = "CLUSTER SLOTS";
            rc = 0;
        }
    }
    if (rc != 0)
        log_verbose("topology: bootstrap: %s:%u gave no usable cluster map%s%s", host, port,
                    r && r->type == REDIS_REPLY_ERROR ? ": " : "",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : "");
    if (r) freeReplyObject(r);
out:
    if (c) redisFree(c);
    return rc;
}

static uint16_t seed_cport_for(const topology *t, const char *ip, uint16_t port)
{
    for (int i = 0; i < t->n_seeds; i++)
        if (t->seeds[i].cport && t->seeds[i].port == port && strcmp(t->seeds[i].host, ip) == 0)
            return t->seeds[i].cport;
    return 0;
}

/* A bootstrap reply is one node's complete, current view: it replaces
 * every claim we hold (they are older), keeps the configEpochs we know
 * (epochs only grow; SHARDS/SLOTS do not carry them). */
static void bootstrap_apply(topology *t, const boot_info *bi)
{
    long long now = now_ms();
    for (int i = 0; i < t->n_nodes; i++) t->nodes[i]->has_claim = 0;
    for (int i = 0; i < bi->count; i++) {
        const boot_node *b = &bi->n[i];
        if (!b->port || !b->ip[0]) continue;
        tnode *n = node_find(t, b->id);
        uint16_t cport = seed_cport_for(t, b->ip, b->port);
        if (!n) {
            n = node_new(t, b->id, b->ip, b->port, cport);
        } else if (!(n->lk && n->lk->state == LINK_UP) &&
                   (strcmp(n->ip, b->ip) != 0 || n->port != b->port)) {
            copy_fixed(n->ip, b->ip, sizeof(n->ip));
            n->port = b->port;
            n->cport = cport ? cport : (uint16_t)(b->port + 10000);
        }
        n->role = b->master ? SLOTMAP_MASTER : SLOTMAP_REPLICA;
        if (b->master) n->master_id[0] = '\0';
        else memcpy(n->master_id, b->master_id, sizeof(n->master_id));
        if (b->master) {
            memcpy(n->claim, b->slots, BUS_SLOT_BYTES);
            n->has_claim = 1;
        }
        n->mention_ms = now;
        if (b->fail) n->fail_rep_ms = now;
        else n->ok_rep_ms = now;
        node_update_flags(t, n);
    }
}

/* Synchronous, bounded: seeds first, then a few known nodes; no new address
 * is tried after 2 x redis_timeout_ms, so the observer loop is blocked for
 * at most that plus one attempt (connect + two commands). */
static int bootstrap(topology *t, const char *why)
{
    long long start = now_ms();
    t->last_bootstrap_try_ms = start;
    boot_info bi = { 0 };
    const char *src = NULL;
    char host[sizeof(t->seeds[0].host)];
    int ok = 0;
    int n_try = t->n_seeds + TOPO_BOOTSTRAP_EXTRA;
    for (int i = 0, extra = 0; i < n_try && !ok; i++) {
        /* Budget: no new attempt once two timeouts' worth have gone by. */
        if (i > 0 && now_ms() - start > 2LL * t->cfg.redis_timeout_ms) break;
        uint16_t port;
        if (i < t->n_seeds) {
            snprintf(host, sizeof(host), "%s", t->seeds[i].host);
            port = t->seeds[i].port;
        } else {
            /* Known nodes, starting at a rotating offset so repeated
             * fallbacks do not always ask the same dead node. */
            if (t->n_by_id == 0) break;
            tnode *n = t->by_id[(int)((start / 1000 + extra++) % t->n_by_id)];
            if (!n->ip[0] || !n->port) continue;
            snprintf(host, sizeof(host), "%s", n->ip);
            port = n->port;
        }
        bi.count = 0;
        if (bootstrap_query(t, host, port, &bi, &src) == 0 && bi.count > 0) ok = 1;
    }
    if (ok) {
        bootstrap_apply(t, &bi);
        t->next_source = "bootstrap";
        STAT_INC(t, bootstraps);
        atomic_store(&t->st.last_bootstrap_wall_ms, time_ms());
        log_notice("topology: bootstrap (%s) from %s: %s, %d nodes", why, host, src, bi.count);
        mark_dirty(t);
    } else {
        STAT_INC(t, bootstrap_failures);
        log_warning("topology: bootstrap (%s) failed: no seed or known node answered", why);
    }
    xfree(bi.n);
    /* The loop was blocked: give pending PINGs a fresh timeout window. */
    long long now = now_ms();
    for (int i = 0; i < t->n_nodes; i++)
        if (t->nodes[i]->lk && t->nodes[i]->lk->ping_ms) t->nodes[i]->lk->ping_ms = now;
    return ok ? 0 : -1;
}

/* Seeds become placeholders (no ID yet) so the bus can find the cluster
 * even when no seed answers CLUSTER SHARDS/SLOTS. */
static void add_seed_placeholders(topology *t)
{
    for (int i = 0; i < t->n_seeds; i++) {
        const seed *s = &t->seeds[i];
        char ip[SLOTMAP_IPLEN + 1] = "";
        struct sockaddr_storage ss;
        socklen_t len;
        if (make_sockaddr(s->host, 1, &ss, &len) == 0) {
            copy_fixed(ip, s->host, sizeof(ip));
        } else {
            struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
            if (getaddrinfo(s->host, NULL, &hints, &res) != 0 || !res) continue;
            void *addr = res->ai_family == AF_INET6
                         ? (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                         : (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
            inet_ntop(res->ai_family, addr, ip, sizeof(ip));
            freeaddrinfo(res);
        }
        int dup = 0;
        for (int j = 0; j < t->n_nodes; j++) {
            tnode *n = t->nodes[j];
            if (!n->id[0] && strcmp(n->ip, ip) == 0 && n->port == s->port) dup = 1;
        }
        if (!dup && ip[0]) node_new(t, NULL, ip, s->port, s->cport);
    }
}

/* ======================================================================
 * Periodic work and wakeups
 * ====================================================================== */

/* Forget nodes that left: nobody gossips about them, they serve no slot in
 * the map, and either they stopped answering or they are slot-less masters
 * (a node removed with del-node is reset and still answers, alone). A
 * live replica is kept even unmentioned: in clusters of 2 gossip is empty. */
static void forget_nodes(topology *t, long long now)
{
    long long fm = t->cfg.forget_ms;
    for (int i = t->n_nodes - 1; i >= 0; i--) {
        tnode *n = t->nodes[i];
        if (!n->id[0]) {
            if (t->n_by_id > 0 && now - n->created_ms > fm) node_remove(t, n);
            continue;
        }
        if (now - n->mention_ms <= fm) continue;
        if (t->last) {
            int x = slotmap_find(t->last, n->id);
            if (x >= 0 && t->last->nodes[x].n_slots > 0) continue;
        }
        int silent = now - (n->pong_ms ? n->pong_ms : n->created_ms) > fm;
        if (!silent && n->role == SLOTMAP_REPLICA) continue;
        log_notice("topology: forgetting node %.40s (%s:%u): gone from gossip", n->id, n->ip, n->port);
        node_remove(t, n);
        mark_dirty(t);
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    topology *t = arg;
    long long now = now_ms();
    for (int i = 0; i < t->n_nodes; i++) {
        tnode *n = t->nodes[i];
        tlink *lk = n->lk;
        if (!lk) {
            if (now >= n->next_connect_ms) link_start(t, n);
        } else if (lk->state == LINK_CONNECTING) {
            if (now - lk->start_ms > t->cfg.connect_timeout_ms) link_fail(t, lk, "connect timeout");
        } else if (lk->ping_ms && now - lk->ping_ms > t->cfg.pong_timeout_ms) {
            link_fail(t, lk, "no PONG");
        } else if (!lk->ping_ms && now - lk->last_ping_ms >= t->cfg.ping_interval_ms - t->tick_ms / 2) {
            send_ping(t, lk);
        }
    }
    if (now - t->last_forget_ms >= TOPO_FORGET_CHECK_MS) {
        t->last_forget_ms = now;
        forget_nodes(t, now);
    }
    /* Fallback when the bus has been silent: measured against the ping
     * cadence so that long intervals do not look like silence. */
    long long quiet = t->cfg.fallback_ms;
    if (quiet < t->cfg.ping_interval_ms + t->cfg.pong_timeout_ms)
        quiet = t->cfg.ping_interval_ms + t->cfg.pong_timeout_ms;
    long long heard = t->last_pong_ms > t->started_ms ? t->last_pong_ms : t->started_ms;
    if (now - heard > quiet && now - t->last_bootstrap_try_ms > quiet) {
        bootstrap(t, "bus silent");
        if (t->n_by_id == 0) add_seed_placeholders(t);
    }
    slotmap_domain_reclaim(t->dom);
}

static void do_refresh(topology *t)
{
    long long now = now_ms();
    int up = 0;
    STAT_INC(t, refreshes);
    for (int i = 0; i < t->n_nodes; i++) {
        tnode *n = t->nodes[i];
        if (!n->lk) {
            n->fails = 0;
            n->next_connect_ms = now;
            link_start(t, n);
        } else if (n->lk->state == LINK_UP) {
            send_ping(t, n->lk);   /* even with one pending: we want news from now on */
            up++;
        }
    }
    if (!up && now - t->last_bootstrap_try_ms > TOPO_REFRESH_BOOTSTRAP_MS) {
        bootstrap(t, "refresh, no bus link");
        if (t->n_by_id == 0) add_seed_placeholders(t);
    }
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    topology *t = arg;
    uint64_t v;
    while (read(fd, &v, sizeof(v)) > 0) {}
    if (atomic_load(&t->stop_flag)) {
        event_base_loopbreak(t->base);
        return;
    }
    if (atomic_exchange(&t->refresh_flag, 0)) do_refresh(t);
}

static void *observer_main(void *arg)
{
    topology *t = arg;
    log_set_role('X');
    t->started_ms = now_ms();
    if (bootstrap(t, "start") != 0) add_seed_placeholders(t);
    rebuild(t);
    for (int i = 0; i < t->n_nodes; i++) link_start(t, t->nodes[i]);
    if (!atomic_load(&t->stop_flag)) event_base_dispatch(t->base);
    return NULL;
}

/* ======================================================================
 * Public API
 * ====================================================================== */

void topology_config_init(topology_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ping_interval_ms = 100;
    cfg->connect_timeout_ms = 1000;
    cfg->pong_timeout_ms = 2000;
    cfg->redis_timeout_ms = 1000;
    cfg->fallback_ms = 5000;
    cfg->forget_ms = 60000;
    cfg->max_readers = 64;
}

/* "host:port", "[v6]:port", "host:port@cport". */
static int parse_seed(const char *s, seed *out)
{
    memset(out, 0, sizeof(*out));
    const char *at = strchr(s, '@');
    size_t len = at ? (size_t)(at - s) : strlen(s);
    const char *colon;
    const char *host = s;
    size_t hostlen;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close + 1 >= s + len || close[1] != ':') return -1;
        host = s + 1;
        hostlen = (size_t)(close - s - 1);
        colon = close + 1;
    } else {
        colon = NULL;
        for (const char *p = s; p < s + len; p++)
            if (*p == ':') colon = p;
        if (!colon) return -1;
        hostlen = (size_t)(colon - s);
    }
    long long port, cport = 0;
    if (hostlen == 0 || hostlen >= sizeof(out->host)) return -1;
    if (!str_to_ll(colon + 1, (size_t)(s + len - colon - 1), &port) || port <= 0 || port > 65535) return -1;
    if (at && (!str_to_ll(at + 1, strlen(at + 1), &cport) || cport <= 0 || cport > 65535)) return -1;
    if (!at && port + 10000 > 65535) return -1;   /* the bus port would not exist */
    memcpy(out->host, host, hostlen);
    out->host[hostlen] = '\0';
    out->port = (uint16_t)port;
    out->cport = (uint16_t)cport;
    return 0;
}

/* Our PING, encoded once and resent as is. The sender ID is 160 random
 * bits; should a node or gossip entry ever show the same ID we pick a new
 * one (new_identity), since a node would take a PING carrying its own ID
 * as coming from itself. */
static void make_ping(topology *t)
{
    random_hex(t->my_id, BUS_NAMELEN);
    t->my_id[BUS_NAMELEN] = '\0';
    bus_msg m;
    bus_msg_init(&m, BUS_MSG_PING);
    /* Unknown-sender PING (§6, §24): nodes answer it with a PONG and
     * process nothing else in it. Everything that could describe us is
     * zero: no ports to connect back to, no slots, no epochs (a node never
     * adopts a currentEpoch from an unknown sender, but zero is safe even
     * if one did), flags 0 (claims neither master -- no vote, no slot
     * owner -- nor replica). Never MEET: that would make us a member. */
    memcpy(m.h.sender, t->my_id, BUS_NAMELEN);
    m.h.flags = 0;
    m.h.state = BUS_STATE_OK;
    size_t written = 0;
    if (bus_encode(&m, t->ping_msg, sizeof(t->ping_msg), &written, NULL) != BUS_OK) written = 0;
    t->ping_len = written;
}

topology *topology_new(const topology_config *cfg, char *err, size_t errlen)
{
    if (cfg->n_seeds <= 0 || !cfg->seeds) {
        snprintf(err, errlen, "no seed nodes given");
        return NULL;
    }
    if (cfg->ping_interval_ms < 1 || cfg->connect_timeout_ms < 1 || cfg->pong_timeout_ms < 1 ||
        cfg->redis_timeout_ms < 1 || cfg->fallback_ms < 1 || cfg->forget_ms < 1 || cfg->max_readers < 0) {
        snprintf(err, errlen, "topology timings must be positive");
        return NULL;
    }
    topology *t = xcalloc(1, sizeof(topology));
    t->cfg = *cfg;
    t->seeds = xcalloc((size_t)cfg->n_seeds, sizeof(seed));
    for (int i = 0; i < cfg->n_seeds; i++) {
        if (!cfg->seeds[i] || parse_seed(cfg->seeds[i], &t->seeds[i]) != 0) {
            snprintf(err, errlen, "bad seed address '%s' (want host:port or host:port@busport)",
                     cfg->seeds[i] ? cfg->seeds[i] : "");
            xfree(t->seeds);
            xfree(t);
            return NULL;
        }
    }
    t->n_seeds = cfg->n_seeds;
    t->cfg.seeds = NULL;
    t->username = cfg->username ? xstrdup(cfg->username) : NULL;
    t->password = cfg->password ? xstrdup(cfg->password) : NULL;
    t->cfg.username = t->username;
    t->cfg.password = t->password;
    make_ping(t);
    /* Tick often enough that a PING goes out close to its interval. */
    t->tick_ms = cfg->ping_interval_ms / 4;
    if (t->tick_ms < 5) t->tick_ms = 5;
    if (t->tick_ms > 100) t->tick_ms = 100;
    t->hold_ms = 2 * cfg->ping_interval_ms;
    if (t->hold_ms < 1000) t->hold_ms = 1000;
    if (t->hold_ms > 10000) t->hold_ms = 10000;
    t->dom = slotmap_domain_new(cfg->max_readers);
    t->builder = slotmap_builder_new();
    t->next_source = "bus";
    t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    atomic_init(&t->stop_flag, 0);
    atomic_init(&t->refresh_flag, 0);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    if (t->wake_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        topology_free(t);
        return NULL;
    }
    return t;
}

int topology_start(topology *t)
{
    if (t->running) return 0;
    t->base = event_base_new();
    if (!t->base) return -1;
    struct timeval tv = { t->tick_ms / 1000, (t->tick_ms % 1000) * 1000 };
    t->tick_ev = event_new(t->base, -1, EV_PERSIST, tick_cb, t);
    t->wake_ev = event_new(t->base, t->wake_fd, EV_READ | EV_PERSIST, wake_cb, t);
    t->rebuild_ev = evtimer_new(t->base, rebuild_cb, t);
    if (!t->tick_ev || !t->wake_ev || !t->rebuild_ev || event_add(t->tick_ev, &tv) != 0 ||
        event_add(t->wake_ev, NULL) != 0)
        return -1;
    atomic_store(&t->stop_flag, 0);
    if (pthread_create(&t->thread, NULL, observer_main, t) != 0) return -1;
    t->running = 1;
    return 0;
}

int topology_wait_ready(topology *t, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&t->lock);
    while (!t->ready && timeout_ms > 0)
        if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) != 0) break;
    int r = t->ready;
    pthread_mutex_unlock(&t->lock);
    return r;
}

static void wake(topology *t)
{
    uint64_t one = 1;
    ssize_t w = write(t->wake_fd, &one, sizeof(one));
    (void)w; /* EAGAIN only when the counter is saturated: already awake */
}

void topology_stop(topology *t)
{
    if (!t->running) return;
    atomic_store(&t->stop_flag, 1);
    wake(t);
    pthread_join(t->thread, NULL);
    t->running = 0;
}

void topology_refresh_now(topology *t)
{
    /* One write per burst: later callers see the flag already set. */
    if (atomic_exchange(&t->refresh_flag, 1) == 0) wake(t);
}

void topology_free(topology *t)
{
    if (!t) return;
    topology_stop(t);
    while (t->n_nodes) node_remove(t, t->nodes[t->n_nodes - 1]);
    if (t->tick_ev) event_free(t->tick_ev);
    if (t->wake_ev) event_free(t->wake_ev);
    if (t->rebuild_ev) event_free(t->rebuild_ev);
    if (t->base) event_base_free(t->base);
    if (t->wake_fd >= 0) close(t->wake_fd);
    slotmap_builder_free(t->builder);
    slotmap_domain_free(t->dom);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    xfree(t->nodes);
    xfree(t->by_id);
    xfree(t->seeds);
    xfree(t->username);
    xfree(t->password);
    xfree(t);
}

const slotmap *topology_current(topology *t) { return slotmap_acquire(t->dom); }
void topology_release(topology *t, const slotmap *m) { slotmap_release(m); }
slotmap_reader *topology_reader_register(topology *t) { return slotmap_reader_register(t->dom); }
slotmap_domain *topology_domain(topology *t) { return t->dom; }
const char *topology_observer_id(const topology *t) { return t->my_id; }

void topology_get_stats(topology *t, topology_stats *s)
{
    memset(s, 0, sizeof(*s));
#define LD(f) s->f = atomic_load_explicit(&t->st.f, memory_order_relaxed)
    LD(pings_sent); LD(pongs_received); LD(connects); LD(connect_failures); LD(link_drops);
    LD(frame_errors); LD(decode_errors); LD(bootstraps); LD(bootstrap_failures);
    LD(publishes); LD(refreshes); LD(known_nodes); LD(links_up);
#undef LD
    s->last_pong_ms = atomic_load(&t->st.last_pong_wall_ms);
    s->last_bootstrap_ms = atomic_load(&t->st.last_bootstrap_wall_ms);
}

void topology_describe(topology *t, buf_t *out)
{
    topology_stats s;
    topology_get_stats(t, &s);
    long long now = time_ms();
    buf_printf(out, "observer_id:%s\r\nping_interval_ms:%d\r\nknown_nodes:%llu\r\nlinks_up:%llu\r\n"
               "pings_sent:%llu\r\npongs_received:%llu\r\nconnects:%llu\r\nconnect_failures:%llu\r\n"
               "link_drops:%llu\r\nframe_errors:%llu\r\ndecode_errors:%llu\r\nbootstraps:%llu\r\n"
               "bootstrap_failures:%llu\r\npublishes:%llu\r\nrefreshes:%llu\r\n"
               "last_pong_age_ms:%lld\r\n",
               t->my_id, t->cfg.ping_interval_ms, (unsigned long long)s.known_nodes,
               (unsigned long long)s.links_up, (unsigned long long)s.pings_sent,
               (unsigned long long)s.pongs_received, (unsigned long long)s.connects,
               (unsigned long long)s.connect_failures, (unsigned long long)s.link_drops,
               (unsigned long long)s.frame_errors, (unsigned long long)s.decode_errors,
               (unsigned long long)s.bootstraps, (unsigned long long)s.bootstrap_failures,
               (unsigned long long)s.publishes, (unsigned long long)s.refreshes,
               s.last_pong_ms ? now - s.last_pong_ms : -1);
    const slotmap *m = topology_current(t);
    slotmap_describe(m, out, now);
    topology_release(t, m);
}
