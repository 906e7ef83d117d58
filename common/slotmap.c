/* slotmap: immutable cluster snapshots -- builder (the §9.2 per-slot
 * highest-configEpoch rule), lookups, text description, and the
 * epoch-based publication/reclamation domain explained in slotmap.h. */
#define _GNU_SOURCE /* qsort_r */
#include "slotmap.h"
#include "mem.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOT_BYTES (SLOTMAP_NSLOTS / 8)

/* ======================================================================
 * Lookups
 * ====================================================================== */

int slotmap_find(const slotmap *m, const char *id)
{
    int lo = 0, hi = (int)m->n_nodes - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = memcmp(m->nodes[mid].id, id, SLOTMAP_IDLEN);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

int slotmap_next_range(const slotmap *m, int *from, slotmap_range *r)
{
    int s = *from;
    if (s < 0 || s >= SLOTMAP_NSLOTS) return 0;
    int owner = m->slots[s], e = s;
    while (e + 1 < SLOTMAP_NSLOTS && m->slots[e + 1] == owner) e++;
    r->start = s;
    r->end = e;
    r->node = owner;
    *from = e + 1;
    return 1;
}

int slotmap_equal(const slotmap *a, const slotmap *b)
{
    if (a == b) return 1;
    if (!a || !b) return 0;
    if (a->n_nodes != b->n_nodes || a->current_epoch != b->current_epoch) return 0;
    if (memcmp(a->slots, b->slots, sizeof(a->slots)) != 0) return 0;
    for (uint32_t i = 0; i < a->n_nodes; i++) {
        const slotmap_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (strcmp(x->id, y->id) || strcmp(x->ip, y->ip) || x->port != y->port ||
            x->cport != y->cport || x->role != y->role || x->flags != y->flags ||
            x->config_epoch != y->config_epoch || strcmp(x->master_id, y->master_id))
            return 0;
    }
    return 1;
}

size_t slotmap_flags_str(uint8_t flags, char *out, size_t cap)
{
    static const struct { uint8_t bit; const char *name; } names[] = {
        { SLOTMAP_F_PFAIL, "fail?" }, { SLOTMAP_F_FAIL, "fail" }, { SLOTMAP_F_NOREPLY, "noreply" },
    };
    size_t len = 0;
    if (cap == 0) return 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(flags & names[i].bit)) continue;
        int n = snprintf(out + len, cap - len, "%s%s", len ? "," : "", names[i].name);
        if (n < 0 || (size_t)n >= cap - len) break;
        len += (size_t)n;
    }
    if (len == 0) len = (size_t)snprintf(out, cap, "-");
    return len;
}

void slotmap_describe(const slotmap *m, buf_t *out, long long now_ms)
{
    if (!m) {
        buf_append_str(out, "version:0\r\nsource:none\r\n");
        return;
    }
    uint32_t masters = 0, assigned = 0;
    for (uint32_t i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].role == SLOTMAP_MASTER) masters++;
        assigned += m->nodes[i].n_slots;
    }
    buf_printf(out, "version:%llu\r\nsource:%s\r\nage_ms:%lld\r\ncurrent_epoch:%llu\r\n"
               "nodes:%u\r\nmasters:%u\r\nslots_assigned:%u\r\n",
               (unsigned long long)m->version, m->source,
               now_ms > m->created_ms ? now_ms - m->created_ms : 0,
               (unsigned long long)m->current_epoch, m->n_nodes, masters, assigned);
    for (uint32_t i = 0; i < m->n_nodes; i++) {
        const slotmap_node *n = &m->nodes[i];
        char fl[32];
        slotmap_flags_str(n->flags, fl, sizeof(fl));
        buf_printf(out, "node:%s %s:%u@%u ", n->id, n->ip[0] ? n->ip : "?", n->port, n->cport);
        if (n->role == SLOTMAP_MASTER)
            buf_printf(out, "master epoch=%llu flags=%s replicas=%u slots=",
                       (unsigned long long)n->config_epoch, fl, n->n_replicas);
        else
            buf_printf(out, "replica of=%s epoch=%llu flags=%s slots=",
                       n->master_id[0] ? n->master_id : "?",
                       (unsigned long long)n->config_epoch, fl);
        int from = 0, any = 0;
        slotmap_range r;
        while (n->n_slots && slotmap_next_range(m, &from, &r)) {
            if (r.node != (int)i) continue;
            if (r.start == r.end) buf_printf(out, "%s%d", any ? "," : "", r.start);
            else buf_printf(out, "%s%d-%d", any ? "," : "", r.start, r.end);
            any = 1;
        }
        buf_append_str(out, any ? "\r\n" : "-\r\n");
    }
}

void slotmap_free(slotmap *m)
{
    if (!m) return;
    xfree(m->nodes);
    xfree(m->replica_idx);
    xfree(m);
}

/* ======================================================================
 * Builder
 * ====================================================================== */

typedef struct bnode {
    char     id[SLOTMAP_IDLEN + 1];
    char     ip[SLOTMAP_IPLEN + 1];
    uint16_t port, cport;
    uint8_t  role, flags;
    char     master_id[SLOTMAP_IDLEN + 1];
    uint64_t epoch;
    uint8_t *claim;          /* SLOT_BYTES, allocated on the first claim */
} bnode;

struct slotmap_builder {
    bnode   *n;
    int      count, cap;
    uint64_t current_epoch;
};

slotmap_builder *slotmap_builder_new(void)
{
    return xcalloc(1, sizeof(slotmap_builder));
}

void slotmap_builder_reset(slotmap_builder *b)
{
    for (int i = 0; i < b->count; i++) xfree(b->n[i].claim);
    b->count = 0;
    b->current_epoch = 0;
}

void slotmap_builder_free(slotmap_builder *b)
{
    if (!b) return;
    slotmap_builder_reset(b);
    xfree(b->n);
    xfree(b);
}

/* Same acceptance as a node's own lookup: 40 chars of [0-9a-z]. */
static int id_ok(const char *id)
{
    if (!id) return 0;
    for (int i = 0; i < SLOTMAP_IDLEN; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return 0;
    }
    return 1;
}

static void copy_str(char *dst, const char *src, size_t cap)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

int slotmap_builder_node(slotmap_builder *b, const char *id, const char *ip,
                         uint16_t port, uint16_t cport)
{
    if (!id_ok(id)) return -1;
    int i;
    for (i = 0; i < b->count; i++)
        if (memcmp(b->n[i].id, id, SLOTMAP_IDLEN) == 0) break;
    if (i == b->count) {
        if (b->count >= SLOTMAP_MAX_NODES) return -1;
        if (b->count == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 16;
            b->n = xrealloc(b->n, (size_t)b->cap * sizeof(bnode));
        }
        bnode *n = &b->n[b->count++];
        memset(n, 0, sizeof(*n));
        memcpy(n->id, id, SLOTMAP_IDLEN);
        n->role = SLOTMAP_MASTER;
    }
    bnode *n = &b->n[i];
    copy_str(n->ip, ip, sizeof(n->ip));
    n->port = port;
    n->cport = cport;
    return i;
}

static bnode *bget(slotmap_builder *b, int idx)
{
    return idx >= 0 && idx < b->count ? &b->n[idx] : NULL;
}

void slotmap_builder_master(slotmap_builder *b, int idx, uint64_t config_epoch)
{
    bnode *n = bget(b, idx);
    if (!n) return;
    n->role = SLOTMAP_MASTER;
    n->master_id[0] = '\0';
    n->epoch = config_epoch;
}

void slotmap_builder_replica(slotmap_builder *b, int idx, const char *master_id,
                             uint64_t config_epoch)
{
    bnode *n = bget(b, idx);
    if (!n) return;
    n->role = SLOTMAP_REPLICA;
    n->epoch = config_epoch;
    if (id_ok(master_id)) {
        memcpy(n->master_id, master_id, SLOTMAP_IDLEN);
        n->master_id[SLOTMAP_IDLEN] = '\0';
    } else {
        n->master_id[0] = '\0';
    }
}

void slotmap_builder_flags(slotmap_builder *b, int idx, uint8_t flags)
{
    bnode *n = bget(b, idx);
    if (n) n->flags = flags;
}

static uint8_t *claim_of(bnode *n)
{
    if (!n->claim) n->claim = xcalloc(1, SLOT_BYTES);
    return n->claim;
}

void slotmap_builder_claim_bitmap(slotmap_builder *b, int idx, const uint8_t *bitmap)
{
    bnode *n = bget(b, idx);
    if (!n || !bitmap) return;
    uint8_t *c = claim_of(n);
    for (int i = 0; i < SLOT_BYTES; i++) c[i] |= bitmap[i];
}

void slotmap_builder_claim_range(slotmap_builder *b, int idx, int start, int end)
{
    bnode *n = bget(b, idx);
    if (!n) return;
    if (start < 0) start = 0;
    if (end >= SLOTMAP_NSLOTS) end = SLOTMAP_NSLOTS - 1;
    if (start > end) return;
    uint8_t *c = claim_of(n);
    for (int s = start; s <= end; s++) c[s >> 3] |= (uint8_t)(1u << (s & 7));
}

void slotmap_builder_current_epoch(slotmap_builder *b, uint64_t epoch)
{
    if (epoch > b->current_epoch) b->current_epoch = epoch;
}

/* qsort_r (glibc) keeps build() reentrant: several builders may run on
 * different threads. */
static int cmp_bidx(const void *x, const void *y, void *ctx)
{
    const slotmap_builder *b = ctx;
    return memcmp(b->n[*(const int *)x].id, b->n[*(const int *)y].id, SLOTMAP_IDLEN);
}

static void sort_by_id(slotmap_builder *b, int *order)
{
    for (int i = 0; i < b->count; i++) order[i] = i;
    if (b->count > 1) qsort_r(order, (size_t)b->count, sizeof(int), cmp_bidx, b);
}

slotmap *slotmap_builder_build(slotmap_builder *b, const slotmap *prev, const char *source)
{
    slotmap *m = xcalloc(1, sizeof(slotmap));
    int n = b->count;
    int *order = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    sort_by_id(b, order);

    m->n_nodes = (uint32_t)n;
    m->nodes = xcalloc((size_t)(n ? n : 1), sizeof(slotmap_node));
    m->current_epoch = b->current_epoch;
    copy_str(m->source, source ? source : "", sizeof(m->source));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->created_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    for (int i = 0; i < n; i++) {
        const bnode *s = &b->n[order[i]];
        slotmap_node *d = &m->nodes[i];
        memcpy(d->id, s->id, sizeof(d->id));
        memcpy(d->ip, s->ip, sizeof(d->ip));
        d->port = s->port;
        d->cport = s->cport;
        d->role = s->role;
        d->flags = s->flags;
        d->master = -1;
        d->config_epoch = s->epoch;
        if (s->role == SLOTMAP_REPLICA) memcpy(d->master_id, s->master_id, sizeof(d->master_id));
        if (s->epoch > m->current_epoch) m->current_epoch = s->epoch;
    }

    /* prev's owner of each slot, as an index into the new node array, if
     * that node is still a master here. */
    int16_t *prev_owner = NULL;
    if (prev && prev->n_nodes) {
        int16_t *remap = xmalloc(sizeof(int16_t) * prev->n_nodes);
        for (uint32_t i = 0; i < prev->n_nodes; i++) {
            int j = slotmap_find(m, prev->nodes[i].id);
            remap[i] = (int16_t)(j >= 0 && m->nodes[j].role == SLOTMAP_MASTER ? j : -1);
        }
        prev_owner = xmalloc(sizeof(int16_t) * SLOTMAP_NSLOTS);
        for (int s = 0; s < SLOTMAP_NSLOTS; s++)
            prev_owner[s] = prev->slots[s] >= 0 && (uint32_t)prev->slots[s] < prev->n_nodes
                            ? remap[prev->slots[s]] : -1;
        xfree(remap);
    }

    /* §9.2: per slot, the highest configEpoch among claiming masters. Nodes
     * are visited in ID order, so an equal-epoch tie keeps the smaller ID
     * unless the challenger is prev's owner. */
    uint64_t *best = xcalloc(SLOTMAP_NSLOTS, sizeof(uint64_t));
    for (int s = 0; s < SLOTMAP_NSLOTS; s++) m->slots[s] = SLOTMAP_NO_NODE;
    for (int i = 0; i < n; i++) {
        const bnode *s = &b->n[order[i]];
        if (s->role != SLOTMAP_MASTER || !s->claim) continue;
        for (int byte = 0; byte < SLOT_BYTES; byte++) {
            uint8_t bits = s->claim[byte];
            while (bits) {
                int bit = __builtin_ctz(bits);
                bits &= (uint8_t)(bits - 1);
                int slot = byte * 8 + bit;
                int cur = m->slots[slot];
                if (cur < 0 || s->epoch > best[slot] ||
                    (s->epoch == best[slot] && prev_owner && prev_owner[slot] == i && cur != i)) {
                    m->slots[slot] = (int16_t)i;
                    best[slot] = s->epoch;
                }
            }
        }
    }
    xfree(best);
    if (prev_owner) {
        for (int s = 0; s < SLOTMAP_NSLOTS; s++)
            if (m->slots[s] < 0 && prev_owner[s] >= 0) m->slots[s] = prev_owner[s];
        xfree(prev_owner);
    }
    for (int s = 0; s < SLOTMAP_NSLOTS; s++)
        if (m->slots[s] >= 0) m->nodes[m->slots[s]].n_slots++;

    /* Replicas attach to their master when it is a master in this map. */
    uint32_t total = 0;
    for (int i = 0; i < n; i++) {
        slotmap_node *r = &m->nodes[i];
        if (r->role != SLOTMAP_REPLICA || !r->master_id[0]) continue;
        int j = slotmap_find(m, r->master_id);
        if (j < 0 || j == i || m->nodes[j].role != SLOTMAP_MASTER) continue;
        r->master = j;
        m->nodes[j].n_replicas++;
        total++;
    }
    m->replica_idx = xmalloc(sizeof(int32_t) * (total ? total : 1));
    uint32_t pos = 0;
    for (int i = 0; i < n; i++) {
        slotmap_node *ms = &m->nodes[i];
        if (ms->role != SLOTMAP_MASTER || !ms->n_replicas) continue;
        ms->replicas = m->replica_idx + pos;
        pos += ms->n_replicas;
        ms->n_replicas = 0; /* refilled below, in ID order */
    }
    for (int i = 0; i < n; i++) {
        const slotmap_node *r = &m->nodes[i];
        if (r->master < 0) continue;
        slotmap_node *ms = &m->nodes[r->master];
        ((int32_t *)ms->replicas)[ms->n_replicas++] = i;
    }
    xfree(order);
    atomic_init(&m->refs, 0);
    return m;
}

/* ======================================================================
 * Publication and reclamation (design: slotmap.h)
 * ====================================================================== */

/* 128 bytes per reader: each reader's hot word sits alone in its 64-byte
 * line whatever the base alignment, so workers never share a line. */
struct slotmap_reader {
    _Atomic uint64_t active;   /* epoch at section start; 0 = not reading */
    atomic_int       in_use;
    int              depth;    /* nesting, touched only by the owner thread */
    slotmap_domain  *d;
    char             pad[128 - 8 - 4 - 4 - sizeof(void *)];
};

struct slotmap_domain {
    _Atomic(slotmap *) current;
    _Atomic uint64_t   epoch;     /* starts at 1: 0 means "idle" in a reader */
    _Atomic uint64_t   version;
    slotmap_reader    *readers;   /* n_readers + 1; the last one is internal */
    int                n_readers;
    pthread_mutex_t    wlock;     /* publish / reclaim / the retired list */
    pthread_mutex_t    alock;     /* the internal reader of slotmap_acquire */
    slotmap           *retired;
    size_t             n_retired;
};

slotmap_domain *slotmap_domain_new(int max_readers)
{
    if (max_readers < 0) max_readers = 0;
    slotmap_domain *d = xcalloc(1, sizeof(*d));
    d->n_readers = max_readers;
    d->readers = xcalloc((size_t)max_readers + 1, sizeof(slotmap_reader));
    for (int i = 0; i <= max_readers; i++) {
        atomic_init(&d->readers[i].active, 0);
        atomic_init(&d->readers[i].in_use, 0);
        d->readers[i].d = d;
    }
    atomic_store(&d->readers[max_readers].in_use, 1);
    atomic_init(&d->current, NULL);
    atomic_init(&d->epoch, 1);
    atomic_init(&d->version, 0);
    pthread_mutex_init(&d->wlock, NULL);
    pthread_mutex_init(&d->alock, NULL);
    return d;
}

void slotmap_domain_free(slotmap_domain *d)
{
    if (!d) return;
    slotmap_free(atomic_load(&d->current));
    for (slotmap *m = d->retired, *next; m; m = next) {
        next = m->retired_next;
        slotmap_free(m);
    }
    pthread_mutex_destroy(&d->wlock);
    pthread_mutex_destroy(&d->alock);
    xfree(d->readers);
    xfree(d);
}

static size_t reclaim_locked(slotmap_domain *d)
{
    uint64_t min = UINT64_MAX;
    for (int i = 0; i <= d->n_readers; i++) {
        uint64_t a = atomic_load(&d->readers[i].active);
        if (a && a < min) min = a;
    }
    slotmap **pp = &d->retired;
    while (*pp) {
        slotmap *m = *pp;
        /* Every active reader started at an epoch >= the retire tag, i.e.
         * after the swap, and no acquired pin is left. */
        if (m->retire_epoch <= min && atomic_load(&m->refs) == 0) {
            *pp = m->retired_next;
            slotmap_free(m);
            d->n_retired--;
        } else {
            pp = &m->retired_next;
        }
    }
    return d->n_retired;
}

uint64_t slotmap_domain_publish(slotmap_domain *d, slotmap *m)
{
    pthread_mutex_lock(&d->wlock);
    uint64_t v = atomic_load(&d->version) + 1;
    m->version = v;                      /* not yet visible: plain write is fine */
    slotmap *old = atomic_exchange(&d->current, m);
    atomic_store(&d->version, v);
    if (old) {
        old->retire_epoch = atomic_fetch_add(&d->epoch, 1) + 1;
        old->retired_next = d->retired;
        d->retired = old;
        d->n_retired++;
    }
    reclaim_locked(d);
    pthread_mutex_unlock(&d->wlock);
    return v;
}

size_t slotmap_domain_reclaim(slotmap_domain *d)
{
    pthread_mutex_lock(&d->wlock);
    size_t left = reclaim_locked(d);
    pthread_mutex_unlock(&d->wlock);
    return left;
}

uint64_t slotmap_domain_version(const slotmap_domain *d)
{
    return atomic_load(&((slotmap_domain *)d)->version);
}

slotmap_reader *slotmap_reader_register(slotmap_domain *d)
{
    for (int i = 0; i < d->n_readers; i++) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&d->readers[i].in_use, &expect, 1)) {
            d->readers[i].depth = 0;
            atomic_store(&d->readers[i].active, 0);
            return &d->readers[i];
        }
    }
    return NULL;
}

void slotmap_reader_unregister(slotmap_reader *r)
{
    if (!r) return;
    r->depth = 0;
    atomic_store(&r->active, 0);
    atomic_store(&r->in_use, 0);
}

const slotmap *slotmap_read_begin(slotmap_reader *r)
{
    slotmap_domain *d = r->d;
    if (r->depth++ == 0) {
        /* Announce first, then load: a writer that swaps after our load
         * sees our epoch (< its retire tag) and waits for us. */
        atomic_store(&r->active, atomic_load(&d->epoch));
    }
    return atomic_load(&d->current);
}

void slotmap_read_end(slotmap_reader *r)
{
    if (r->depth > 0 && --r->depth == 0) atomic_store(&r->active, 0);
}

const slotmap *slotmap_acquire(slotmap_domain *d)
{
    slotmap_reader *r = &d->readers[d->n_readers];
    pthread_mutex_lock(&d->alock);
    slotmap *m = (slotmap *)slotmap_read_begin(r);
    if (m) atomic_fetch_add(&m->refs, 1);   /* before the section ends */
    slotmap_read_end(r);
    pthread_mutex_unlock(&d->alock);
    return m;
}

void slotmap_release(const slotmap *m)
{
    if (m) atomic_fetch_sub(&((slotmap *)m)->refs, 1);
}
