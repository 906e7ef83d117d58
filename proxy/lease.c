/* lease: the shoal-proxy client modes that need a backend connection of
 * their own (proxy.h "leases"): transactions, blocking commands and
 * pub/sub. Everything here runs on the client's worker thread.
 *
 * Transactions. MULTI is answered +OK at once and the client's commands go
 * through a mode hook. The first command with a key fixes the slot: a lease
 * to that slot's master is opened and gets MULTI plus the keyless commands
 * queued so far (their +QUEUED were given locally; the node's are dropped);
 * from then on commands are passed to the lease and its +QUEUED passed
 * back. A command for another slot is refused with CROSSSLOT and flags the
 * transaction, so EXEC answers EXECABORT, as Redis does for any queueing
 * error. WATCH (before MULTI) opens the lease and fixes the slot. EXEC,
 * DISCARD and UNWATCH are sent on the lease, which is released once their
 * reply is back. A MOVED/ASK inside the transaction means the slot left the
 * node: the client gets a clear error and the transaction aborts.
 *
 * Blocking commands (BLPOP ... BZMPOP, XREAD/XREADGROUP BLOCK) run on a
 * lease to the slot's master, so they never hold up the shared
 * connections; a MOVED/ASK (the map was stale) is followed a few times,
 * since a redirected command did not run. The lease is released with the
 * reply; a client's pipelined blocking commands to one node share it, so
 * the node runs them in order as Redis would.
 *
 * Pub/sub. SUBSCRIBE/PSUBSCRIBE go to one lease (PUBLISH reaches every
 * node; clients are spread over the masters by client ID); SSUBSCRIBE to a
 * lease per node holding the channels' slots. The module keeps the set of
 * names the client is subscribed to as Redis will see it once the queued
 * commands ran, which tells how many confirmation frames each command gets
 * (UNSUBSCRIBE without arguments gets one per channel), whether RESP2's
 * subscribed-mode restrictions apply right now, and CLIENT LIST's counters.
 * Frames are passed through as the nodes send them (RESP2 arrays or RESP3
 * pushes: leases speak the client's protocol), except that shard frames'
 * counts are rewritten to the client's total over its shard leases; a
 * message that arrives while a command is pending on its lease is put
 * before that command's confirmations, as the node sent it. A lease whose
 * names are all gone is released.
 *
 * A lost lease: pending commands get an error (nothing is retried: it may
 * have run); a transaction then aborts at EXEC (a WATCH-only lease makes the
 * next EXEC fail as if a watched key changed), and lost subscriptions are
 * announced with unsubscribe frames, as Redis does for shard channels whose
 * slot moved away. */
#include "proxy.h"
#include "mem.h"
#include "resp.h"
#include "resp_scan.h"
#include "util.h"
#include <stdio.h>
#include <string.h>

#define BLOCK_MAX_REDIRECTS 5
#define UNHEALTHY (SLOTMAP_F_PFAIL | SLOTMAP_F_FAIL | SLOTMAP_F_NOREPLY)
#define EXECABORT_MSG "EXECABORT Transaction discarded because of previous errors."

static const cmd_meta *M_MULTI, *M_EXEC, *M_DISCARD, *M_WATCH, *M_UNWATCH, *M_QUIT, *M_RESET,
    *M_PING, *M_SUBSCRIBE, *M_PSUBSCRIBE, *M_SSUBSCRIBE, *M_UNSUBSCRIBE, *M_PUNSUBSCRIBE,
    *M_SUNSUBSCRIBE;

/* ---- a set of names (channels / patterns) --------------------------------------- */

typedef struct sset_e { char *s; size_t len; void *val; } sset_e;
typedef struct sset { sset_e *t; size_t cap, n, used; } sset;
static char sset_tomb;
#define TOMB (&sset_tomb)

static size_t sset_slot(const sset *st, const char *s, size_t len, int *found)
{
    size_t mask = st->cap - 1, i = (size_t)hash_bytes(s, len) & mask, tomb = (size_t)-1;
    for (;;) {
        sset_e *e = &st->t[i];
        if (!e->s) {
            *found = 0;
            return tomb != (size_t)-1 ? tomb : i;
        }
        if (e->s == TOMB) {
            if (tomb == (size_t)-1) tomb = i;
        } else if (e->len == len && !memcmp(e->s, s, len)) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static void sset_grow(sset *st)
{
    sset old = *st;
    st->cap = old.cap ? old.cap * 2 : 16;
    while (st->cap < (old.n + 1) * 2) st->cap *= 2;
    st->t = xcalloc(st->cap, sizeof(sset_e));
    st->n = st->used = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.t[i].s || old.t[i].s == TOMB) continue;
        int f;
        size_t k = sset_slot(st, old.t[i].s, old.t[i].len, &f);
        st->t[k] = old.t[i];
        st->n++;
        st->used++;
    }
    xfree(old.t);
}

static sset_e *sset_find(const sset *st, const char *s, size_t len)
{
    if (!st->n) return NULL;
    int f;
    size_t k = sset_slot(st, s, len, &f);
    return f ? &st->t[k] : NULL;
}

/* 1 if added, 0 if it was there. */
static int sset_add(sset *st, const char *s, size_t len, void *val)
{
    if ((st->used + 1) * 4 > st->cap * 3) sset_grow(st);
    int f;
    size_t k = sset_slot(st, s, len, &f);
    if (f) return 0;
    if (!st->t[k].s) st->used++;
    st->t[k].s = xmemdup(s, len);
    st->t[k].len = len;
    st->t[k].val = val;
    st->n++;
    return 1;
}

static void sset_del_entry(sset *st, sset_e *e)
{
    xfree(e->s);
    e->s = TOMB;
    e->len = 0;
    e->val = NULL;
    st->n--;
}

static void sset_clear(sset *st)
{
    for (size_t i = 0; i < st->cap; i++)
        if (st->t[i].s && st->t[i].s != TOMB) xfree(st->t[i].s);
    xfree(st->t);
    memset(st, 0, sizeof(*st));
}

/* ---- state ----------------------------------------------------------------------- */

enum { LZ_TXN, LZ_BLOCK, LZ_PUBSUB };

/* What to do with one reply on a transaction / blocking lease. */
enum {
    TA_SWALLOW,   /* the client was answered already (MULTI's OK, early QUEUED) */
    TA_PASS,      /* pass it on */
    TA_QUEUED,    /* a queued command: pass; a redirection aborts the transaction */
    TA_WATCH,     /* pass; a redirection means the WATCH did not happen */
    TA_EXEC,      /* pass; a redirection means nothing ran */
    TA_EXECABORT, /* answer EXECABORT (the lease got DISCARD) */
    TA_NULL,      /* answer a null array: EXEC after a lost WATCH */
    TA_BLOCK,     /* a blocking command: pass; follow a redirection */
};

typedef struct texp {
    struct texp *next;
    proxy_req *r;
    int act;
    char *raw;          /* TA_BLOCK: the command, for a redirection */
    size_t rawlen;
    int redirects;
} texp;

/* Pub/sub frame kinds. */
enum { PK_NONE = 0, PK_SUB, PK_PSUB, PK_SSUB, PK_UNSUB, PK_PUNSUB, PK_SUNSUB,
       PK_MESSAGE, PK_PMESSAGE, PK_SMESSAGE };
static const char *const pk_name[] = {"", "subscribe", "psubscribe", "ssubscribe", "unsubscribe",
                                      "punsubscribe", "sunsubscribe", "message", "pmessage", "smessage"};

/* One client pub/sub command (may wait on several leases). */
typedef struct psreq {
    proxy_req *r;
    int ops;            /* psops still pending */
    int kind;           /* PK_SUB/PSUB/SSUB: names added are rolled back on error */
    int nadded;
    char **added;
    size_t *addlen;
} psreq;

typedef struct psop {
    struct psop *next;
    psreq *pr;          /* NULL: frames nobody waits for */
    int kind;           /* frame kind expected; PK_NONE: one reply of any kind */
    int frames;
} psop;

typedef struct lc lc;

typedef struct lz {
    int type;
    lc *owner;
    proxy_lease *l;
    char ip[SLOTMAP_IPLEN + 1];
    int port;
    int proto;
    int closing;        /* release once nothing is pending */
    struct lz *next;    /* owner's list */
    /* transactions and blocking commands */
    int slot;
    texp *thead, *ttail;
    /* pub/sub */
    psop *phead, *ptail;
    long long nch, npat, nsh; /* as the node's frames say */
    long long pred_sh;        /* shard names in the owner's set that live here */
} lz;

struct lc {
    proxy_client *c;
    proxy_worker *w;
    lz *leases;
    int hooked;
    /* transaction */
    int in_multi, multi_abort, tx_dead, watch_lost;
    int nqueued;
    lz *tx;             /* the WATCH / MULTI lease, NULL before the slot is fixed */
    buf_t pre;          /* keyless commands queued before that */
    int npre;
    /* pub/sub */
    lz *ps_main;        /* SUBSCRIBE / PSUBSCRIBE */
    sset chans, pats, shards; /* shards: val = the lz */
};

/* proxy.h has no per-client pointer for modules: a per-worker map from
 * client to state (every call for a client happens on its worker). */
static __thread struct { proxy_client *k; lc *v; } *lcmap;
static __thread size_t lcmap_cap, lcmap_n;

static size_t lcmap_pos(proxy_client *c)
{
    return (size_t)(((uintptr_t)c >> 4) * 0x9e3779b97f4a7c15ULL) & (lcmap_cap - 1);
}

static lc *lcmap_get(proxy_client *c)
{
    if (!lcmap_n) return NULL;
    for (size_t i = lcmap_pos(c);; i = (i + 1) & (lcmap_cap - 1)) {
        if (!lcmap[i].k) return NULL;
        if (lcmap[i].k == c) return lcmap[i].v;
    }
}

static void lcmap_put(proxy_client *c, lc *v)
{
    if ((lcmap_n + 1) * 2 > lcmap_cap) {
        size_t oc = lcmap_cap;
        void *old = lcmap;
        lcmap_cap = oc ? oc * 2 : 64;
        lcmap = xcalloc(lcmap_cap, sizeof(*lcmap));
        lcmap_n = 0;
        for (size_t i = 0; i < oc; i++) {
            typeof(lcmap) o = old;
            if (o[i].k) lcmap_put(o[i].k, o[i].v);
        }
        xfree(old);
    }
    size_t i = lcmap_pos(c);
    while (lcmap[i].k) i = (i + 1) & (lcmap_cap - 1);
    lcmap[i].k = c;
    lcmap[i].v = v;
    lcmap_n++;
}

static void lcmap_del(proxy_client *c)
{
    if (!lcmap_n) return;
    size_t i = lcmap_pos(c);
    while (lcmap[i].k && lcmap[i].k != c) i = (i + 1) & (lcmap_cap - 1);
    if (!lcmap[i].k) return;
    lcmap[i].k = NULL;
    lcmap_n--;
    if (!lcmap_n) {
        /* nobody in a mode on this worker: give the table back */
        xfree(lcmap);
        lcmap = NULL;
        lcmap_cap = 0;
        return;
    }
    /* re-place the rest of the cluster (linear probing without tombstones) */
    for (size_t j = (i + 1) & (lcmap_cap - 1); lcmap[j].k; j = (j + 1) & (lcmap_cap - 1)) {
        proxy_client *k = lcmap[j].k;
        lc *v = lcmap[j].v;
        lcmap[j].k = NULL;
        lcmap_n--;
        lcmap_put(k, v);
    }
}

static void lc_on_close(proxy_client *c, void *arg);
static int lc_hook(proxy_req *r, const proxy_cmd *cmd, void *arg);

static lc *lc_get(proxy_req *r)
{
    proxy_client *c = proxy_req_client(r);
    if (!c) return NULL;
    lc *l = lcmap_get(c);
    if (l) return l;
    l = xcalloc(1, sizeof(*l));
    l->c = c;
    l->w = proxy_client_worker(c);
    buf_init(&l->pre);
    lcmap_put(c, l);
    proxy_client_on_close(c, lc_on_close, l);
    return l;
}

static int subscribed(const lc *l)
{
    return l->chans.n + l->pats.n + l->shards.n > 0;
}

static void update_modes(lc *l)
{
    proxy_client_set_modes(l->c, (int)l->chans.n, (int)l->pats.n, (int)l->shards.n, PROXY_KEEP);
}

/* The hook is on while a mode needs to see the client's commands. */
static void update_hook(lc *l)
{
    int need = l->in_multi || l->tx || subscribed(l);
    if (need == l->hooked) return;
    l->hooked = need;
    proxy_client_set_hook(l->c, need ? lc_hook : NULL, need ? l : NULL);
}

/* ---- helpers ---------------------------------------------------------------------- */

static int is_error(const char *p, size_t len)
{
    return len > 0 && (p[0] == '-' || p[0] == '!');
}

static int is_redirect(const char *p, size_t len)
{
    return (len > 7 && !memcmp(p, "-MOVED ", 7)) || (len > 5 && !memcmp(p, "-ASK ", 5));
}

/* "-MOVED 3999 127.0.0.1:6381\r\n": slot and address (ip written to ip). */
static int parse_redirect(const char *p, size_t len, int *slot, char *ip, size_t iplen, int *port)
{
    const char *end = p + len;
    while (end > p && (end[-1] == '\r' || end[-1] == '\n')) end--;
    const char *sp1 = memchr(p, ' ', (size_t)(end - p));
    if (!sp1) return 0;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
    if (!sp2) return 0;
    long long s, pt;
    if (!str_to_ll(sp1 + 1, (size_t)(sp2 - sp1 - 1), &s)) return 0;
    const char *addr = sp2 + 1, *colon = NULL;
    for (const char *q = addr; q < end; q++)
        if (*q == ':') colon = q;
    if (!colon || !str_to_ll(colon + 1, (size_t)(end - colon - 1), &pt) || pt <= 0 || pt > 65535) return 0;
    size_t il = (size_t)(colon - addr);
    if (il >= iplen) return 0;
    memcpy(ip, addr, il);
    ip[il] = 0;
    *slot = (int)s;
    *port = (int)pt;
    return 1;
}

/* The master serving slot in the current map, or NULL. */
static const slotmap_node *slot_master(lc *l, int slot)
{
    const slotmap *m = proxy_map(l->w);
    return m ? slotmap_owner(m, (unsigned)slot) : NULL;
}

/* Masters serving slots, in first-slot order; returns how many. */
static int masters_of(const slotmap *m, int *idx)
{
    int n = 0, from = 0;
    slotmap_range rg;
    while (slotmap_next_range(m, &from, &rg)) {
        if (rg.node < 0) continue;
        int seen = 0;
        for (int i = 0; i < n && !seen; i++) seen = idx[i] == rg.node;
        if (!seen) idx[n++] = rg.node;
    }
    return n;
}

/* A master for keyless work: the k-th (mod count) in first-slot order,
 * skipping unhealthy ones when a healthy one exists. */
static const slotmap_node *pick_master(lc *l, uint64_t k)
{
    const slotmap *m = proxy_map(l->w);
    if (!m || !m->n_nodes) return NULL;
    int *idx = xmalloc(sizeof(int) * m->n_nodes);
    int n = masters_of(m, idx);
    const slotmap_node *res = NULL;
    for (int i = 0; i < n && !res; i++) {
        const slotmap_node *nd = &m->nodes[idx[(k + (uint64_t)i) % (uint64_t)n]];
        if (!(nd->flags & UNHEALTHY)) res = nd;
    }
    if (!res && n) res = &m->nodes[idx[k % (uint64_t)n]];
    xfree(idx);
    return res;
}

static void err_reply(proxy_req *r, const char *fmt, const char *a)
{
    char msg[512];
    snprintf(msg, sizeof(msg), fmt, a);
    proxy_req_error(r, msg);
}

/* ---- leases ------------------------------------------------------------------------- */

static void t_on_reply(proxy_lease *pl, void *arg, const char *reply, size_t len);
static void t_on_close(proxy_lease *pl, void *arg, const char *why);
static void ps_on_reply(proxy_lease *pl, void *arg, const char *reply, size_t len);
static void ps_on_close(proxy_lease *pl, void *arg, const char *why);

static lz *lz_open(lc *l, int type, const char *ip, int port, int proto)
{
    lz *z = xcalloc(1, sizeof(*z));
    z->type = type;
    z->owner = l;
    snprintf(z->ip, sizeof(z->ip), "%s", ip);
    z->port = port;
    z->proto = proto == 3 ? 3 : 2;
    z->slot = -1;
    if (type == LZ_PUBSUB)
        z->l = proxy_lease_open(l->w, ip, port, z->proto, ps_on_reply, ps_on_close, z);
    else
        z->l = proxy_lease_open(l->w, ip, port, z->proto, t_on_reply, t_on_close, z);
    z->next = l->leases;
    l->leases = z;
    return z;
}

static void lz_unlink(lz *z)
{
    lc *l = z->owner;
    for (lz **pp = &l->leases; *pp; pp = &(*pp)->next)
        if (*pp == z) {
            *pp = z->next;
            break;
        }
    if (l->tx == z) l->tx = NULL;
    if (l->ps_main == z) l->ps_main = NULL;
}

/* Release the connection and free z; nothing may be pending on it. */
static void lz_destroy(lz *z)
{
    lz_unlink(z);
    if (z->l) proxy_lease_release(z->l);
    while (z->thead) {
        texp *e = z->thead;
        z->thead = e->next;
        xfree(e->raw);
        xfree(e);
    }
    while (z->phead) {
        psop *o = z->phead;
        z->phead = o->next;
        xfree(o);
    }
    xfree(z);
}

static void t_push(lz *z, proxy_req *r, int act)
{
    texp *e = xcalloc(1, sizeof(*e));
    e->r = r;
    e->act = act;
    if (z->ttail) z->ttail->next = e;
    else z->thead = e;
    z->ttail = e;
}

static void t_send(lz *z, const char *raw, size_t len, proxy_req *r, int act)
{
    proxy_lease_send_raw(z->l, raw, len);
    t_push(z, r, act);
}

static void t_send_word(lz *z, const char *word, proxy_req *r, int act)
{
    const char *av[1] = {word};
    size_t al[1] = {strlen(word)};
    proxy_lease_send(z->l, 1, av, al);
    t_push(z, r, act);
}

/* Done with a transaction lease: released once its replies are in. */
static void lz_finish(lz *z)
{
    lc *l = z->owner;
    if (l->tx == z) l->tx = NULL;
    z->closing = 1;
    if (!z->thead && !z->phead) lz_destroy(z);
}

/* ---- transactions --------------------------------------------------------------------- */

static void end_multi(lc *l)
{
    l->in_multi = l->multi_abort = l->tx_dead = l->watch_lost = 0;
    l->nqueued = 0;
    l->pre.len = 0;
    l->npre = 0;
    if (l->pre.cap > 65536) buf_reset(&l->pre, 0);
    proxy_client_set_modes(l->c, PROXY_KEEP, PROXY_KEEP, PROXY_KEEP, -1);
    update_hook(l);
}

/* Open the transaction lease on the master of slot; in MULTI it gets MULTI
 * and the keyless commands queued so far. 0, or -1 with r answered. */
static int tx_open(lc *l, int slot, const slotmap_node *nd, proxy_req *r)
{
    if (!nd) nd = slot_master(l, slot);
    if (!nd) {
        if (l->in_multi) l->multi_abort = 1;
        proxy_req_error(r, "CLUSTERDOWN Hash slot not served");
        return -1;
    }
    lz *z = lz_open(l, LZ_TXN, nd->ip, nd->port, proxy_req_proto(r));
    z->slot = slot;
    l->tx = z;
    if (l->in_multi) {
        t_send_word(z, "MULTI", NULL, TA_SWALLOW);
        if (l->npre) {
            proxy_lease_send_raw(z->l, l->pre.p, l->pre.len);
            for (int i = 0; i < l->npre; i++) t_push(z, NULL, TA_SWALLOW);
            l->pre.len = 0;
            l->npre = 0;
        }
    }
    return 0;
}

static void multi_queued(lc *l)
{
    l->nqueued++;
    proxy_client_set_modes(l->c, PROXY_KEEP, PROXY_KEEP, PROXY_KEEP, l->nqueued);
}

static void multi_refuse(lc *l, proxy_req *r, const char *msg)
{
    l->multi_abort = 1;
    proxy_req_error(r, msg);
}

/* Local commands that mean the same on the transaction's node. */
static int local_ok_in_multi(const cmd_meta *m)
{
    const cmd_meta *top = m->parent ? m->parent : m;
    return !strcmp(top->name, "ping") || !strcmp(top->name, "echo") || !strcmp(top->name, "select") ||
           !strcmp(top->name, "command");
}

static void do_exec(lc *l, proxy_req *r)
{
    lz *z = l->tx;
    if (l->tx_dead || l->multi_abort) {
        if (z) {
            t_send_word(z, "DISCARD", r, TA_EXECABORT);
            lz_finish(z);
        } else {
            proxy_req_error(r, EXECABORT_MSG);
        }
    } else if (l->watch_lost) {
        if (z) {
            t_send_word(z, "DISCARD", r, TA_NULL);
            lz_finish(z);
        } else {
            resp_w_null_array(proxy_req_out(r), proxy_req_proto(r));
            proxy_req_done(r);
        }
    } else if (!z && !l->npre) {
        proxy_req_reply(r, "*0\r\n", 4);
    } else {
        if (!z) {
            /* keyless transaction: any master runs it */
            const slotmap_node *nd = pick_master(l, proxy_client_id(l->c));
            if (tx_open(l, -1, nd, r) < 0) {
                end_multi(l);
                return;
            }
            z = l->tx;
        }
        t_send_word(z, "EXEC", r, TA_EXEC);
        lz_finish(z);
    }
    end_multi(l);
}

static void do_discard(lc *l, proxy_req *r)
{
    if (l->tx) {
        lz *z = l->tx;
        t_send_word(z, "DISCARD", r, TA_PASS);
        lz_finish(z);
    } else {
        proxy_req_reply(r, "+OK\r\n", 5);
    }
    end_multi(l);
}

/* Everything the client sends between MULTI and EXEC/DISCARD. */
static int multi_hook(lc *l, proxy_req *r, const proxy_cmd *cmd)
{
    const cmd_meta *m = cmd->meta;
    if (!m || !cmd->arity_ok) {
        l->multi_abort = 1; /* the core words the error; EXEC aborts, as in Redis */
        return 0;
    }
    if (m == M_QUIT) return 0;
    if (m == M_RESET) return -1; /* the caller tears everything down */
    if (m == M_EXEC) {
        do_exec(l, r);
        return 1;
    }
    if (m == M_DISCARD) {
        do_discard(l, r);
        return 1;
    }
    if (m == M_MULTI) {
        proxy_req_error(r, "ERR MULTI calls can not be nested");
        return 1;
    }
    if (m == M_WATCH) {
        proxy_req_error(r, "ERR WATCH inside MULTI is not allowed");
        return 1;
    }
    if (m->flags & CMD_F_NO_MULTI) {
        multi_refuse(l, r, "ERR Command not allowed inside a transaction");
        return 1;
    }
    if (l->tx_dead) {
        proxy_req_error(r, "ERR shoal-proxy: the connection to the transaction's node was lost; "
                           "EXEC will abort");
        return 1;
    }
    char fn[96], msg[256];
    cmd_fullname(m, fn, sizeof(fn));
    int kind = cmd->kind;
    if (m->flags & CMD_F_PUBSUB && kind == PROXY_ROUTE_LEASE) kind = PROXY_ROUTE_DENY;
    if (kind == PROXY_ROUTE_LOCAL && !local_ok_in_multi(m)) kind = PROXY_ROUTE_DENY;
    if (kind == PROXY_ROUTE_ALL || kind == PROXY_ROUTE_DENY || kind == PROXY_ROUTE_UNKNOWN) {
        snprintf(msg, sizeof(msg), "ERR shoal-proxy: '%s' is not supported inside MULTI", fn);
        multi_refuse(l, r, msg);
        return 1;
    }
    int slot = PROXY_SLOT_NOKEYS;
    if (kind != PROXY_ROUTE_LOCAL && kind != PROXY_ROUTE_ANY && kind != PROXY_ROUTE_SLOTARG)
        slot = proxy_cmd_slot(cmd);
    if (slot == PROXY_SLOT_CROSS) {
        multi_refuse(l, r, PROXY_ERR_CROSSSLOT);
        return 1;
    }
    if (slot >= 0) {
        if (!l->tx) {
            if (tx_open(l, slot, NULL, r) < 0) return 1;
        } else if (l->tx->slot != slot) {
            multi_refuse(l, r, PROXY_ERR_CROSSSLOT);
            return 1;
        }
    }
    if (l->tx) {
        t_send(l->tx, cmd->raw, cmd->rawlen, r, TA_QUEUED);
    } else {
        /* no slot yet: kept until one is known (or EXEC) */
        buf_append(&l->pre, cmd->raw, cmd->rawlen);
        l->npre++;
        proxy_req_reply(r, "+QUEUED\r\n", 9);
    }
    multi_queued(l);
    return 1;
}

static void multi_cmd(lc *l, proxy_req *r)
{
    l->in_multi = 1;
    l->multi_abort = l->tx_dead = 0;
    l->nqueued = 0;
    if (l->tx) t_send_word(l->tx, "MULTI", NULL, TA_SWALLOW);
    proxy_client_set_modes(l->c, PROXY_KEEP, PROXY_KEEP, PROXY_KEEP, 0);
    update_hook(l);
    proxy_req_reply(r, "+OK\r\n", 5);
}

static void watch_cmd(lc *l, proxy_req *r, const proxy_cmd *cmd)
{
    int slot = proxy_cmd_slot(cmd);
    if (slot < 0) {
        proxy_req_error(r, slot == PROXY_SLOT_CROSS ? PROXY_ERR_CROSSSLOT
                                                    : "ERR shoal-proxy: cannot locate WATCH's keys");
        return;
    }
    if (l->tx && l->tx->slot != slot) {
        proxy_req_error(r, PROXY_ERR_CROSSSLOT);
        return;
    }
    if (!l->tx && tx_open(l, slot, NULL, r) < 0) return;
    t_send(l->tx, cmd->raw, cmd->rawlen, r, TA_WATCH);
    update_hook(l);
}

static void unwatch_cmd(lc *l, proxy_req *r)
{
    l->watch_lost = 0;
    if (l->tx) {
        lz *z = l->tx;
        t_send_word(z, "UNWATCH", r, TA_PASS);
        lz_finish(z);
    } else {
        proxy_req_reply(r, "+OK\r\n", 5);
    }
    update_hook(l);
}

/* A transaction lease's reply arrived. */
static void t_txn_reply(lz *z, texp *e, const char *p, size_t len)
{
    lc *l = z->owner;
    proxy_req *r = e->r;
    char msg[512];
    int redirect = is_redirect(p, len);
    int slot = -1, port = 0;
    char ip[SLOTMAP_IPLEN + 1] = "?";
    if (redirect) parse_redirect(p, len, &slot, ip, sizeof(ip), &port);
    switch (e->act) {
    case TA_SWALLOW:
        if (redirect && l->tx == z && l->in_multi) l->multi_abort = 1;
        return;
    case TA_QUEUED:
        if (redirect) {
            if (l->tx == z && l->in_multi) l->multi_abort = 1;
            snprintf(msg, sizeof(msg), "ERR shoal-proxy: slot %d moved to %s:%d during the "
                     "transaction; EXEC will abort", slot, ip, port);
            proxy_req_error(r, msg);
            return;
        }
        proxy_req_reply(r, p, len);
        return;
    case TA_WATCH:
        if (redirect) {
            /* the node did not watch anything: an EXEC must not succeed */
            if (l->tx == z) l->watch_lost = 1;
            snprintf(msg, sizeof(msg), "ERR shoal-proxy: slot %d moved to %s:%d; the keys are "
                     "not watched (a later EXEC will fail)", slot, ip, port);
            proxy_req_error(r, msg);
            return;
        }
        proxy_req_reply(r, p, len);
        return;
    case TA_EXEC:
        if (redirect) {
            snprintf(msg, sizeof(msg), "EXECABORT Transaction discarded because slot %d moved to "
                     "%s:%d (shoal-proxy); nothing was executed", slot, ip, port);
            proxy_req_error(r, msg);
            return;
        }
        proxy_req_reply(r, p, len);
        return;
    case TA_EXECABORT:
        proxy_req_error(r, EXECABORT_MSG);
        return;
    case TA_NULL:
        resp_w_null_array(proxy_req_out(r), proxy_req_proto(r));
        proxy_req_done(r);
        return;
    case TA_PASS:
    default:
        proxy_req_reply(r, p, len);
        return;
    }
}

/* ---- blocking commands ------------------------------------------------------------------ */

static lz *block_lease(lc *l, const char *ip, int port, int proto)
{
    for (lz *z = l->leases; z; z = z->next)
        if (z->type == LZ_BLOCK && !z->closing && z->port == port && z->proto == proto &&
            !strcmp(z->ip, ip))
            return z;
    return lz_open(l, LZ_BLOCK, ip, port, proto);
}

static void block_send(lc *l, texp *e, const char *ip, int port, int asking)
{
    lz *z = block_lease(l, ip, port, proxy_req_proto(e->r));
    if (asking) t_send_word(z, "ASKING", NULL, TA_SWALLOW);
    proxy_lease_send_raw(z->l, e->raw, e->rawlen);
    e->next = NULL;
    if (z->ttail) z->ttail->next = e;
    else z->thead = e;
    z->ttail = e;
}

static void block_cmd(lc *l, proxy_req *r, const proxy_cmd *cmd)
{
    int slot = proxy_cmd_slot(cmd);
    if (slot == PROXY_SLOT_CROSS) {
        proxy_req_error(r, PROXY_ERR_CROSSSLOT);
        return;
    }
    if (slot < 0) slot = 0; /* keys not found: a node words the error */
    const slotmap_node *nd = slot_master(l, slot);
    if (!nd) {
        proxy_req_error(r, proxy_map(l->w) ? "CLUSTERDOWN Hash slot not served"
                                           : "CLUSTERDOWN shoal-proxy has no slot map yet (no seed reachable)");
        return;
    }
    texp *e = xcalloc(1, sizeof(*e));
    e->r = r;
    e->act = TA_BLOCK;
    e->raw = xmemdup(cmd->raw, cmd->rawlen);
    e->rawlen = cmd->rawlen;
    block_send(l, e, nd->ip, nd->port, 0);
}

/* 1 if e was re-sent elsewhere (it now belongs to another lease). */
static int block_redirect(lc *l, texp *e, const char *p, size_t len)
{
    int slot, port;
    char ip[SLOTMAP_IPLEN + 1];
    if (!is_redirect(p, len) || e->redirects >= BLOCK_MAX_REDIRECTS ||
        !parse_redirect(p, len, &slot, ip, sizeof(ip), &port))
        return 0;
    e->redirects++;
    block_send(l, e, ip, port, p[1] == 'A');
    return 1;
}

/* ---- transaction and blocking leases: replies and loss ------------------------------------ */

static void t_on_reply(proxy_lease *pl, void *arg, const char *reply, size_t len)
{
    lz *z = arg;
    lc *l = z->owner;
    (void)pl;
    texp *e = z->thead;
    if (!e) return; /* nothing asked: ignore */
    z->thead = e->next;
    if (!z->thead) z->ttail = NULL;
    if (e->act == TA_BLOCK) {
        if (block_redirect(l, e, reply, len)) {
            e = NULL;
        } else {
            proxy_req_reply(e->r, reply, len);
        }
    } else if (e->r || e->act == TA_SWALLOW) {
        t_txn_reply(z, e, reply, len);
    }
    if (e) {
        xfree(e->raw);
        xfree(e);
    }
    if (!z->thead && (z->closing || z->type == LZ_BLOCK)) lz_destroy(z);
}

static void t_on_close(proxy_lease *pl, void *arg, const char *why)
{
    lz *z = arg;
    lc *l = z->owner;
    (void)pl;
    char msg[512];
    snprintf(msg, sizeof(msg), "ERR %s", why);
    /* Nothing is retried: each command may have run. */
    while (z->thead) {
        texp *e = z->thead;
        z->thead = e->next;
        if (e->r) proxy_req_error(e->r, msg);
        xfree(e->raw);
        xfree(e);
    }
    z->ttail = NULL;
    if (l->tx == z) {
        if (l->in_multi) l->tx_dead = 1;
        else l->watch_lost = 1;
    }
    lz_destroy(z);
    update_hook(l);
}

/* ---- pub/sub ------------------------------------------------------------------------------ */

typedef struct psframe {
    int kind;                 /* PK_* or PK_NONE (not a pub/sub frame) */
    const char *name;         /* channel / pattern, NULL for a null */
    size_t namelen;
    long long count;
} psframe;

static int pk_lookup(const char *s, size_t n)
{
    for (int k = PK_SUB; k <= PK_SMESSAGE; k++)
        if (strlen(pk_name[k]) == n && !memcmp(pk_name[k], s, n)) return k;
    return PK_NONE;
}

static void parse_frame(const char *p, size_t len, psframe *f)
{
    memset(f, 0, sizeof(*f));
    long long n, bl;
    if (len < 4 || (p[0] != '*' && p[0] != '>')) return;
    size_t h = resp_scan_header(p, len, &n);
    if (!h || n < 1 || p[h] != '$') return;
    size_t h2 = resp_scan_header(p + h, len - h, &bl);
    if (!h2 || bl < 0 || h + h2 + (size_t)bl + 2 > len) return;
    int kind = pk_lookup(p + h + h2, (size_t)bl);
    if (kind == PK_NONE) return;
    if (kind >= PK_MESSAGE) {
        f->kind = kind;
        return;
    }
    if (n != 3) return;
    size_t pos = h + h2 + (size_t)bl + 2;
    long long el = resp_scan_one(p + pos, len - pos);
    if (el <= 0) return;
    if (p[pos] == '$') {
        size_t h3 = resp_scan_header(p + pos, len - pos, &bl);
        if (bl >= 0) {
            f->name = p + pos + h3;
            f->namelen = (size_t)bl;
        }
    }
    pos += (size_t)el;
    if (p[pos] != ':' || !str_to_ll(p + pos + 1, len - pos - 3, &f->count)) return;
    f->kind = kind;
}

/* [kind, name|null, count] in the client's protocol. */
static void write_frame(buf_t *b, int proto, int kind, const char *name, size_t nlen, long long count)
{
    resp_w_push(b, proto, 3);
    resp_w_bulk_cstr(b, pk_name[kind]);
    if (name) resp_w_bulk(b, name, nlen);
    else resp_w_null(b, proto);
    resp_w_int(b, count);
}

static long long total_shard_count(lc *l)
{
    long long t = 0;
    for (lz *z = l->leases; z; z = z->next)
        if (z->type == LZ_PUBSUB) t += z->nsh;
    return t;
}

/* Bytes for the client: into the pending request's reply (so they keep
 * their place before its frames), else out of band. A RESP3 push for a
 * client that went back to RESP2 (HELLO 2 while subscribed) becomes an
 * array. */
static void ps_deliver(lc *l, psreq *pr, const char *p, size_t len)
{
    int conv = len && p[0] == '>' && proxy_client_proto(l->c) == 2;
    if (pr) {
        buf_t *out = proxy_req_out(pr->r);
        size_t at = out->len;
        buf_append(out, p, len);
        if (conv) out->p[at] = '*';
        return;
    }
    if (!conv) {
        proxy_client_push(l->c, p, len);
        return;
    }
    char *tmp = xmemdup(p, len);
    tmp[0] = '*';
    proxy_client_push(l->c, tmp, len);
    xfree(tmp);
}

static psreq *psreq_new(proxy_req *r, int kind)
{
    psreq *pr = xcalloc(1, sizeof(*pr));
    pr->r = r;
    pr->kind = kind;
    return pr;
}

static void psreq_free(psreq *pr)
{
    for (int i = 0; i < pr->nadded; i++) xfree(pr->added[i]);
    xfree(pr->added);
    xfree(pr->addlen);
    xfree(pr);
}

static void psreq_added(psreq *pr, const char *s, size_t len)
{
    pr->added = xrealloc(pr->added, sizeof(char *) * (size_t)(pr->nadded + 1));
    pr->addlen = xrealloc(pr->addlen, sizeof(size_t) * (size_t)(pr->nadded + 1));
    pr->added[pr->nadded] = xmemdup(s, len);
    pr->addlen[pr->nadded++] = len;
}

static void ps_push_op(lz *z, psreq *pr, int kind, int frames)
{
    psop *o = xcalloc(1, sizeof(*o));
    o->pr = pr;
    o->kind = kind;
    o->frames = frames;
    if (pr) pr->ops++;
    if (z->ptail) z->ptail->next = o;
    else z->phead = o;
    z->ptail = o;
}

/* The head op of z is complete. */
static void ps_pop_op(lz *z)
{
    psop *o = z->phead;
    z->phead = o->next;
    if (!z->phead) z->ptail = NULL;
    psreq *pr = o->pr;
    xfree(o);
    if (pr && --pr->ops == 0) {
        proxy_req_done(pr->r);
        psreq_free(pr);
    }
}

/* Remove names an erroring subscribe added. */
static void ps_rollback(lc *l, psreq *pr)
{
    sset *st = pr->kind == PK_SUB ? &l->chans : pr->kind == PK_PSUB ? &l->pats
             : pr->kind == PK_SSUB ? &l->shards : NULL;
    if (!st) return;
    for (int i = 0; i < pr->nadded; i++) {
        sset_e *e = sset_find(st, pr->added[i], pr->addlen[i]);
        if (!e) continue;
        if (st == &l->shards && e->val) ((lz *)e->val)->pred_sh--;
        sset_del_entry(st, e);
    }
    pr->nadded = 0;
    update_modes(l);
}

static int ps_needed(lz *z)
{
    lc *l = z->owner;
    if (z->closing) return 0;
    return z->pred_sh > 0 || (z == l->ps_main && l->chans.n + l->pats.n > 0);
}

static void ps_check_release(lz *z)
{
    lc *l = z->owner;
    if (z->phead || ps_needed(z)) return;
    lz_destroy(z);
    update_hook(l);
}

static void ps_on_reply(proxy_lease *pl, void *arg, const char *p, size_t len)
{
    lz *z = arg;
    lc *l = z->owner;
    (void)pl;
    psop *op = z->phead;
    psframe f;
    parse_frame(p, len, &f);
    if (f.kind >= PK_MESSAGE) {
        if (!z->closing || op) ps_deliver(l, op ? op->pr : NULL, p, len);
        return;
    }
    if (f.kind != PK_NONE) {
        switch (f.kind) {
        case PK_SUB: case PK_UNSUB: z->nch = f.count - z->npat; break;
        case PK_PSUB: case PK_PUNSUB: z->npat = f.count - z->nch; break;
        default: z->nsh = f.count; break;
        }
        if (z->nch < 0) z->nch = 0;
        if (z->npat < 0) z->npat = 0;
        buf_t tmp;
        buf_init(&tmp);
        const char *bytes = p;
        size_t blen = len;
        if (f.kind == PK_SSUB || f.kind == PK_SUNSUB) {
            /* the client's count is over all its shard leases */
            write_frame(&tmp, p[0] == '>' ? 3 : 2, f.kind, f.name, f.namelen, total_shard_count(l));
            bytes = tmp.p;
            blen = tmp.len;
        }
        if (op && op->kind == f.kind) {
            if (op->pr) ps_deliver(l, op->pr, bytes, blen);
            if (--op->frames <= 0) ps_pop_op(z);
        } else {
            /* unsolicited: a node dropping shard channels whose slot moved */
            if (f.kind == PK_SUNSUB && f.name) {
                sset_e *e = sset_find(&l->shards, f.name, f.namelen);
                if (e && e->val == z) {
                    z->pred_sh--;
                    sset_del_entry(&l->shards, e);
                    update_modes(l);
                }
            }
            if (!z->closing) ps_deliver(l, op ? op->pr : NULL, bytes, blen);
        }
        buf_free(&tmp);
        ps_check_release(z);
        return;
    }
    /* an error, or the reply to something else */
    if (!op) return;
    if (op->pr) {
        if (is_error(p, len)) ps_rollback(l, op->pr);
        ps_deliver(l, op->pr, p, len);
    }
    ps_pop_op(z);
    ps_check_release(z);
}

static void ps_on_close(proxy_lease *pl, void *arg, const char *why)
{
    lz *z = arg;
    lc *l = z->owner;
    (void)pl;
    char msg[512];
    snprintf(msg, sizeof(msg), "-ERR %s\r\n", why);
    while (z->phead) {
        if (z->phead->pr) ps_deliver(l, z->phead->pr, msg, strlen(msg));
        ps_pop_op(z);
    }
    /* The subscriptions it held are gone: say so, as Redis does when it
     * drops shard channels. */
    int proto = proxy_client_proto(l->c);
    buf_t b;
    buf_init(&b);
    if (z == l->ps_main && !z->closing) {
        long long left = (long long)(l->chans.n + l->pats.n);
        sset *sets[2] = {&l->chans, &l->pats};
        for (int s = 0; s < 2; s++)
            for (size_t i = 0; i < sets[s]->cap; i++) {
                sset_e *e = &sets[s]->t[i];
                if (!e->s || e->s == TOMB) continue;
                write_frame(&b, proto, s ? PK_PUNSUB : PK_UNSUB, e->s, e->len, --left);
                sset_del_entry(sets[s], e);
            }
    }
    if (z->pred_sh > 0) {
        long long left = (long long)l->shards.n;
        for (size_t i = 0; i < l->shards.cap; i++) {
            sset_e *e = &l->shards.t[i];
            if (!e->s || e->s == TOMB || e->val != z) continue;
            write_frame(&b, proto, PK_SUNSUB, e->s, e->len, --left);
            sset_del_entry(&l->shards, e);
        }
        z->pred_sh = 0;
    }
    if (b.len) proxy_client_push(l->c, b.p, b.len);
    buf_free(&b);
    z->nsh = 0;
    lz_destroy(z);
    update_modes(l);
    update_hook(l);
}

static lz *ps_lease_at(lc *l, const char *ip, int port, int proto)
{
    for (lz *z = l->leases; z; z = z->next)
        if (z->type == LZ_PUBSUB && !z->closing && z->port == port && !strcmp(z->ip, ip)) return z;
    return lz_open(l, LZ_PUBSUB, ip, port, proto);
}

static lz *ps_main_get(lc *l, proxy_req *r)
{
    if (l->ps_main) return l->ps_main;
    const slotmap_node *nd = pick_master(l, proxy_client_id(l->c));
    if (!nd) return NULL;
    /* share a shard lease to the same node if there is one */
    l->ps_main = ps_lease_at(l, nd->ip, nd->port, proxy_req_proto(r));
    return l->ps_main;
}

/* Confirmations made here (the client is not subscribed to anything the
 * command names on any node): one frame per name, or one null frame. */
static void ps_local_reply(lc *l, proxy_req *r, const proxy_cmd *cmd, int kind, long long count)
{
    buf_t *out = proxy_req_out(r);
    int proto = proxy_req_proto(r);
    if (cmd->argc < 2) write_frame(out, proto, kind, NULL, 0, count);
    for (int i = 1; i < cmd->argc; i++) write_frame(out, proto, kind, cmd->argv[i], cmd->argvlen[i], count);
    proxy_req_done(r);
    (void)l;
}

static void ps_subscribe(lc *l, proxy_req *r, const proxy_cmd *cmd, int kind)
{
    lz *z = ps_main_get(l, r);
    if (!z) {
        proxy_req_error(r, "CLUSTERDOWN shoal-proxy has no slot map yet (no seed reachable)");
        return;
    }
    psreq *pr = psreq_new(r, kind);
    sset *st = kind == PK_SUB ? &l->chans : &l->pats;
    for (int i = 1; i < cmd->argc; i++)
        if (sset_add(st, cmd->argv[i], cmd->argvlen[i], z)) psreq_added(pr, cmd->argv[i], cmd->argvlen[i]);
    proxy_lease_send_raw(z->l, cmd->raw, cmd->rawlen);
    ps_push_op(z, pr, kind, cmd->argc - 1);
    update_modes(l);
    update_hook(l);
}

static void ps_unsubscribe(lc *l, proxy_req *r, const proxy_cmd *cmd, int kind)
{
    sset *st = kind == PK_UNSUB ? &l->chans : &l->pats;
    lz *z = l->ps_main;
    if (!z) {
        ps_local_reply(l, r, cmd, kind, (long long)(l->chans.n + l->pats.n));
        return;
    }
    int frames;
    if (cmd->argc > 1) {
        for (int i = 1; i < cmd->argc; i++) {
            sset_e *e = sset_find(st, cmd->argv[i], cmd->argvlen[i]);
            if (e) sset_del_entry(st, e);
        }
        frames = cmd->argc - 1;
    } else {
        frames = st->n ? (int)st->n : 1;
        for (size_t i = 0; i < st->cap; i++)
            if (st->t[i].s && st->t[i].s != TOMB) sset_del_entry(st, &st->t[i]);
    }
    proxy_lease_send_raw(z->l, cmd->raw, cmd->rawlen);
    ps_push_op(z, psreq_new(r, kind), kind, frames);
    update_modes(l);
}

static void ps_ssubscribe(lc *l, proxy_req *r, const proxy_cmd *cmd)
{
    int slot = proxy_cmd_slot(cmd);
    if (slot < 0) {
        proxy_req_error(r, slot == PROXY_SLOT_CROSS ? PROXY_ERR_CROSSSLOT
                                                    : "ERR shoal-proxy: cannot locate the channels' slot");
        return;
    }
    const slotmap_node *nd = slot_master(l, slot);
    if (!nd) {
        proxy_req_error(r, "CLUSTERDOWN Hash slot not served");
        return;
    }
    lz *z = ps_lease_at(l, nd->ip, nd->port, proxy_req_proto(r));
    psreq *pr = psreq_new(r, PK_SSUB);
    for (int i = 1; i < cmd->argc; i++)
        if (sset_add(&l->shards, cmd->argv[i], cmd->argvlen[i], z)) {
            z->pred_sh++;
            psreq_added(pr, cmd->argv[i], cmd->argvlen[i]);
        }
    proxy_lease_send_raw(z->l, cmd->raw, cmd->rawlen);
    ps_push_op(z, pr, PK_SSUB, cmd->argc - 1);
    update_modes(l);
    update_hook(l);
}

static void ps_sunsubscribe(lc *l, proxy_req *r, const proxy_cmd *cmd)
{
    if (cmd->argc > 1) {
        int slot = proxy_cmd_slot(cmd);
        if (slot == PROXY_SLOT_CROSS) {
            proxy_req_error(r, PROXY_ERR_CROSSSLOT);
            return;
        }
        lz *z = NULL;
        for (int i = 1; i < cmd->argc && !z; i++) {
            sset_e *e = sset_find(&l->shards, cmd->argv[i], cmd->argvlen[i]);
            if (e) z = e->val;
        }
        if (!z) {
            ps_local_reply(l, r, cmd, PK_SUNSUB, total_shard_count(l));
            return;
        }
        for (int i = 1; i < cmd->argc; i++) {
            sset_e *e = sset_find(&l->shards, cmd->argv[i], cmd->argvlen[i]);
            if (!e) continue;
            lz *o = e->val;
            o->pred_sh--;
            if (o != z) {
                /* subscribed on another node (its slot moved meanwhile) */
                const char *av[2] = {"SUNSUBSCRIBE", e->s};
                size_t al[2] = {12, e->len};
                proxy_lease_send(o->l, 2, av, al);
                ps_push_op(o, NULL, PK_SUNSUB, 1);
            }
            sset_del_entry(&l->shards, e);
        }
        proxy_lease_send_raw(z->l, cmd->raw, cmd->rawlen);
        ps_push_op(z, psreq_new(r, PK_SUNSUB), PK_SUNSUB, cmd->argc - 1);
        update_modes(l);
        return;
    }
    psreq *pr = NULL;
    for (lz *z = l->leases; z; z = z->next) {
        if (z->type != LZ_PUBSUB || z->closing || z->pred_sh <= 0) continue;
        if (!pr) pr = psreq_new(r, PK_SUNSUB);
        proxy_lease_send_raw(z->l, cmd->raw, cmd->rawlen);
        ps_push_op(z, pr, PK_SUNSUB, (int)z->pred_sh);
        z->pred_sh = 0;
    }
    if (!pr) {
        ps_local_reply(l, r, cmd, PK_SUNSUB, 0);
        return;
    }
    for (size_t i = 0; i < l->shards.cap; i++)
        if (l->shards.t[i].s && l->shards.t[i].s != TOMB) sset_del_entry(&l->shards, &l->shards.t[i]);
    update_modes(l);
}

/* ---- RESET, the hook, closing --------------------------------------------------------------- */

/* RESET: no transaction, no watch, no subscription (the core does the rest). */
static void lc_reset(lc *l)
{
    if (l->tx) lz_finish(l->tx);
    end_multi(l);
    for (lz *z = l->leases, *nx; z; z = nx) {
        nx = z->next;
        if (z->type != LZ_PUBSUB) continue;
        z->closing = 1;
        z->pred_sh = 0;
        if (!z->phead) lz_destroy(z);
    }
    l->ps_main = NULL;
    sset_clear(&l->chans);
    sset_clear(&l->pats);
    sset_clear(&l->shards);
    update_modes(l);
    update_hook(l);
}

static int lc_hook(proxy_req *r, const proxy_cmd *cmd, void *arg)
{
    lc *l = arg;
    const cmd_meta *m = cmd->meta;
    if (l->in_multi) {
        int rc = multi_hook(l, r, cmd);
        if (rc >= 0) return rc;
        lc_reset(l); /* RESET */
        return 0;
    }
    if (!m || !cmd->arity_ok) return 0;
    if (m == M_RESET) {
        lc_reset(l);
        return 0;
    }
    if (subscribed(l) && proxy_req_proto(r) == 2) {
        if (m == M_SUBSCRIBE || m == M_PSUBSCRIBE || m == M_SSUBSCRIBE || m == M_UNSUBSCRIBE ||
            m == M_PUNSUBSCRIBE || m == M_SUNSUBSCRIBE || m == M_QUIT)
            return 0;
        if (m == M_PING) {
            /* RESP2 subscribers get PING as a ["pong", arg] frame */
            buf_t *out = proxy_req_out(r);
            resp_w_array(out, 2);
            resp_w_bulk(out, "pong", 4);
            if (cmd->argc > 1) resp_w_bulk(out, cmd->argv[1], cmd->argvlen[1]);
            else resp_w_bulk(out, "", 0);
            proxy_req_done(r);
            return 1;
        }
        char fn[96];
        err_reply(r, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                     "RESET are allowed in this context", cmd_fullname(m, fn, sizeof(fn)));
        return 1;
    }
    return 0;
}

static void late_cb(proxy_req *parent, void *arg, const char *reply, size_t len)
{
    (void)arg;
    (void)reply;
    (void)len;
    proxy_req_error(parent, "ERR shoal-proxy: client closed");
}

/* Complete r from a later loop iteration. Completing a request from inside
 * the close callback would put the client on the worker's dirty list while
 * it is being freed (the core then touches freed memory), so the
 * completion rides on a sub-request's callback instead, which is always
 * called later, once the request is orphaned. A PING to slot 0's master
 * (or the core's own error when there is none) is the cheapest carrier. */
static void complete_later(proxy_req *r)
{
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    if (proxy_sub_slot_raw(r, 0, 0, ping, sizeof(ping) - 1, late_cb, NULL) < 0)
        proxy_req_error(r, "ERR shoal-proxy: client closed"); /* not reached */
}

static void lc_on_close(proxy_client *c, void *arg)
{
    lc *l = arg;
    /* The client is gone: close every lease, which also makes a node
     * unblock or forget this client's commands, and complete what was
     * pending (the replies go nowhere, but each request must complete). */
    while (l->leases) {
        lz *z = l->leases;
        while (z->thead) {
            texp *e = z->thead;
            z->thead = e->next;
            if (e->r) complete_later(e->r);
            xfree(e->raw);
            xfree(e);
        }
        z->ttail = NULL;
        while (z->phead) {
            psop *o = z->phead;
            z->phead = o->next;
            psreq *pr = o->pr;
            xfree(o);
            if (pr && --pr->ops == 0) {
                complete_later(pr->r);
                psreq_free(pr);
            }
        }
        z->ptail = NULL;
        lz_destroy(z);
    }
    proxy_client_set_hook(c, NULL, NULL);
    proxy_client_on_close(c, NULL, NULL);
    sset_clear(&l->chans);
    sset_clear(&l->pats);
    sset_clear(&l->shards);
    buf_free(&l->pre);
    lcmap_del(c);
    xfree(l);
}

/* ---- entry points ---------------------------------------------------------------------------- */

static const char *const lease_cmds[] = {
    "multi", "exec", "discard", "watch", "unwatch",
    "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
    "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
};

static const cmd_meta *meta(const char *name)
{
    return cmd_lookup_full(name, strlen(name));
}

void lease_init(void)
{
    for (size_t i = 0; i < sizeof(lease_cmds) / sizeof(lease_cmds[0]); i++)
        proxy_route_set(lease_cmds[i], PROXY_ROUTE_LEASE);
    M_MULTI = meta("multi");
    M_EXEC = meta("exec");
    M_DISCARD = meta("discard");
    M_WATCH = meta("watch");
    M_UNWATCH = meta("unwatch");
    M_QUIT = meta("quit");
    M_RESET = meta("reset");
    M_PING = meta("ping");
    M_SUBSCRIBE = meta("subscribe");
    M_PSUBSCRIBE = meta("psubscribe");
    M_SSUBSCRIBE = meta("ssubscribe");
    M_UNSUBSCRIBE = meta("unsubscribe");
    M_PUNSUBSCRIBE = meta("punsubscribe");
    M_SUNSUBSCRIBE = meta("sunsubscribe");
}

void lease_dispatch(proxy_req *r, const proxy_cmd *cmd)
{
    lc *l = lc_get(r);
    const cmd_meta *m = cmd->meta;
    if (!l) {
        proxy_req_error(r, "ERR shoal-proxy: client closed");
        return;
    }
    if (m == M_MULTI) multi_cmd(l, r);
    else if (m == M_EXEC) proxy_req_error(r, "ERR EXEC without MULTI");
    else if (m == M_DISCARD) proxy_req_error(r, "ERR DISCARD without MULTI");
    else if (m == M_WATCH) watch_cmd(l, r, cmd);
    else if (m == M_UNWATCH) unwatch_cmd(l, r);
    else if (m == M_SUBSCRIBE) ps_subscribe(l, r, cmd, PK_SUB);
    else if (m == M_PSUBSCRIBE) ps_subscribe(l, r, cmd, PK_PSUB);
    else if (m == M_UNSUBSCRIBE) ps_unsubscribe(l, r, cmd, PK_UNSUB);
    else if (m == M_PUNSUBSCRIBE) ps_unsubscribe(l, r, cmd, PK_PUNSUB);
    else if (m == M_SSUBSCRIBE) ps_ssubscribe(l, r, cmd);
    else if (m == M_SUNSUBSCRIBE) ps_sunsubscribe(l, r, cmd);
    else block_cmd(l, r, cmd); /* BLPOP & co, XREAD/XREADGROUP BLOCK */
}
