/* dict: chained hash table with incremental rehashing and entries that
 * embed their key (and, for DICT_BYTES, their value). See dict.h. */
#include "dict.h"
#include "mem.h"
#include "util.h"
#include <string.h>

#define DICT_MIN_SIZE 4
#define DICT_FORCE_RATIO 5
#define ENTRY_HDR ((size_t)offsetof(dict_entry, data))

struct dict {
    dict_entry **tb[2];
    unsigned long size[2];     /* 0 or a power of two */
    unsigned long used[2];
    long rehashidx;            /* -1 = not rehashing */
    int pause;                 /* >0 inside dict_scan callbacks: no rehash steps */
    int kind;
};

static int dict_resize_allowed = 1;
void dict_set_resize_allowed(int allowed) { dict_resize_allowed = allowed; }

static uint64_t dict_rng = 0x2545f4914f6cdd1dULL;
static inline uint64_t drand(void)
{
    uint64_t x = dict_rng;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    dict_rng = x;
    return x * 0x9e3779b97f4a7c15ULL;
}

static inline int rehashing(const dict *d) { return d->rehashidx != -1; }
/* hash_bytes' low bits cluster for short similar keys: spread them (see kv.c). */
static inline uint64_t key_hash(const void *key, size_t klen)
{
    uint64_t h = hash_bytes(key, klen);
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    return h ^ (h >> 32);
}
static inline uint64_t entry_hash(const dict_entry *e) { return key_hash(dict_key(e), dict_klen(e)); }
static inline int key_eq(const dict_entry *e, const void *key, size_t klen)
{
    return dict_klen(e) == klen && memcmp(dict_key(e), key, klen) == 0;
}

/* Bytes of an entry's fixed part before the key, by kind. */
static inline size_t pre_key(int kind) { return kind == DICT_SET ? 0 : kind == DICT_MAP ? 8 : 4; }

/* A new entry with room for `extra` value bytes after the key (BYTES). */
static dict_entry *entry_new(int kind, const void *key, size_t klen, size_t extra)
{
    dict_entry *e = xmalloc(ENTRY_HDR + pre_key(kind) + klen + extra);
    e->next = NULL;
    e->hdr = (uint32_t)klen | ((uint32_t)kind << 30);
    if (kind == DICT_MAP) memset(e->data, 0, 8);
    else if (kind == DICT_BYTES) memset(e->data, 0, 4);
    if (klen) memcpy(e->data + pre_key(kind), key, klen);
    return e;
}

void dict_free_entry(dict_entry *e) { xfree(e); }

dict *dict_new(int kind)
{
    dict *d = xcalloc(1, sizeof(*d));
    d->rehashidx = -1;
    d->kind = kind;
    return d;
}

void dict_clear(dict *d, void (*free_val)(dict_entry *e))
{
    for (int j = 0; j < 2; j++) {
        for (unsigned long i = 0; i < d->size[j] && d->used[j]; i++) {
            dict_entry *e = d->tb[j][i];
            while (e) {
                dict_entry *next = e->next;
                if (free_val) free_val(e);
                xfree(e);
                d->used[j]--;
                e = next;
            }
        }
        xfree(d->tb[j]);
        d->tb[j] = NULL;
        d->size[j] = d->used[j] = 0;
    }
    d->rehashidx = -1;
}

void dict_free(dict *d, void (*free_val)(dict_entry *e))
{
    if (!d) return;
    dict_clear(d, free_val);
    xfree(d);
}

int dict_kind(const dict *d) { return d->kind; }
size_t dict_size(const dict *d) { return d->used[0] + d->used[1]; }

size_t dict_overhead(const dict *d)
{
    return mem_alloc_size(d) + (d->size[0] + d->size[1]) * sizeof(dict_entry *);
}

/* ---- Resizing ---- */

static int rehash(dict *d, int n)
{
    unsigned long empty_visits = (unsigned long)n * 10;
    if (!rehashing(d) || d->pause) return 0;
    unsigned long mask1 = d->size[1] - 1;
    while (n-- > 0 && d->used[0]) {
        while (!d->tb[0][d->rehashidx]) {
            d->rehashidx++;
            if (--empty_visits == 0) return 1;
        }
        dict_entry *e = d->tb[0][d->rehashidx];
        while (e) {
            dict_entry *next = e->next;
            unsigned long idx = entry_hash(e) & mask1;
            e->next = d->tb[1][idx];
            d->tb[1][idx] = e;
            d->used[0]--;
            d->used[1]++;
            e = next;
        }
        d->tb[0][d->rehashidx++] = NULL;
    }
    if (d->used[0] == 0) {
        xfree(d->tb[0]);
        d->tb[0] = d->tb[1];
        d->size[0] = d->size[1];
        d->used[0] = d->used[1];
        d->tb[1] = NULL;
        d->size[1] = d->used[1] = 0;
        d->rehashidx = -1;
        return 0;
    }
    return 1;
}

static void resize(dict *d, unsigned long want)
{
    if (rehashing(d)) return;
    unsigned long s = DICT_MIN_SIZE;
    while (s < want && s < (1UL << 62)) s <<= 1;
    if (s == d->size[0]) return;
    dict_entry **tb = xcalloc(s, sizeof(*tb));
    if (!d->tb[0]) {
        d->tb[0] = tb;
        d->size[0] = s;
        return;
    }
    d->tb[1] = tb;
    d->size[1] = s;
    d->rehashidx = 0;
}

void dict_expand(dict *d, size_t n)
{
    if (n > d->size[0]) resize(d, n);
}

static void grow_if_needed(dict *d)
{
    if (rehashing(d)) return;
    if (d->size[0] == 0) { resize(d, DICT_MIN_SIZE); return; }
    if (d->used[0] >= d->size[0] &&
        (dict_resize_allowed || d->used[0] / d->size[0] >= DICT_FORCE_RATIO))
        resize(d, d->used[0] + 1);
}

/* After a delete: start shrinking when under 10% full, and finish a
 * rehash whose old table has just been emptied by deletes (otherwise both
 * bucket arrays would linger until the next operation). */
static void shrink_if_needed(dict *d)
{
    if (d->pause) return;
    if (rehashing(d) && d->used[0] == 0) rehash(d, 0);
    if (!rehashing(d) && dict_resize_allowed && d->size[0] > DICT_MIN_SIZE &&
        d->used[0] * 10 < d->size[0]) {
        resize(d, d->used[0]);
        if (d->used[0] == 0) rehash(d, 0);      /* nothing to move: switch now */
    }
}

/* ---- Lookup ---- */

/* Finds key; *refp (if not NULL) receives the link that points at it, and
 * *tabp the table. While rehashing, tb[0] buckets below rehashidx are
 * known to be empty and skipped. */
static dict_entry *lookup(dict *d, const void *key, size_t klen, uint64_t h,
                          dict_entry ***refp, int *tabp)
{
    for (int j = 0; j < 2; j++) {
        unsigned long idx = h & (d->size[j] - 1);
        if (!(j == 0 && rehashing(d) && (long)idx < d->rehashidx)) {
            dict_entry **ref = &d->tb[j][idx];
            for (dict_entry *e = *ref; e; ref = &e->next, e = e->next) {
                if (key_eq(e, key, klen)) {
                    if (refp) *refp = ref;
                    if (tabp) *tabp = j;
                    return e;
                }
            }
        }
        if (!rehashing(d)) break;
    }
    return NULL;
}

dict_entry *dict_find(dict *d, const void *key, size_t klen)
{
    if (d->used[0] + d->used[1] == 0) return NULL;
    if (rehashing(d)) rehash(d, 1);
    return lookup(d, key, klen, key_hash(key, klen), NULL, NULL);
}

static dict_entry *insert_new(dict *d, const void *key, size_t klen, uint64_t h, size_t extra)
{
    grow_if_needed(d);
    int j = rehashing(d) ? 1 : 0;
    unsigned long idx = h & (d->size[j] - 1);
    dict_entry *e = entry_new(d->kind, key, klen, extra);
    e->next = d->tb[j][idx];
    d->tb[j][idx] = e;
    d->used[j]++;
    return e;
}

dict_entry *dict_add(dict *d, const void *key, size_t klen)
{
    if (rehashing(d)) rehash(d, 1);
    return insert_new(d, key, klen, key_hash(key, klen), 0);
}

dict_entry *dict_add_or_find(dict *d, const void *key, size_t klen, int *existed)
{
    if (rehashing(d)) rehash(d, 1);
    uint64_t h = key_hash(key, klen);
    dict_entry *e = d->used[0] + d->used[1] ? lookup(d, key, klen, h, NULL, NULL) : NULL;
    if (existed) *existed = e != NULL;
    return e ? e : insert_new(d, key, klen, h, 0);
}

dict_entry *dict_unlink(dict *d, const void *key, size_t klen)
{
    dict_entry **ref;
    int j;
    if (d->used[0] + d->used[1] == 0) return NULL;
    if (rehashing(d)) rehash(d, 1);
    dict_entry *e = lookup(d, key, klen, key_hash(key, klen), &ref, &j);
    if (!e) return NULL;
    *ref = e->next;
    e->next = NULL;
    d->used[j]--;
    shrink_if_needed(d);
    return e;
}

/* The link that points at entry e (which must be in d). */
static dict_entry **ref_of(dict *d, dict_entry *e, int *tabp)
{
    uint64_t h = entry_hash(e);
    for (int j = 0; j < 2; j++) {
        if (!d->tb[j]) continue;
        dict_entry **ref = &d->tb[j][h & (d->size[j] - 1)];
        for (; *ref; ref = &(*ref)->next)
            if (*ref == e) { *tabp = j; return ref; }
    }
    return NULL;
}

void dict_unlink_entry(dict *d, dict_entry *e)
{
    int j;
    dict_entry **ref = ref_of(d, e, &j);
    if (!ref) return;
    *ref = e->next;
    e->next = NULL;
    d->used[j]--;
    if (rehashing(d)) rehash(d, 1);
    shrink_if_needed(d);
}

int dict_delete(dict *d, const void *key, size_t klen)
{
    dict_entry *e = dict_unlink(d, key, klen);
    if (!e) return 0;
    xfree(e);
    return 1;
}

/* ---- DICT_BYTES values ---- */

/* Writes the value into e (allocated big enough), given its link. */
static dict_entry *store_bytes(dict_entry **ref, dict_entry *e, const void *v, size_t vlen)
{
    size_t klen = dict_klen(e), need = ENTRY_HDR + 4 + klen + vlen;
    size_t have = mem_alloc_size(e);
    /* Keep the block if it fits and is not mostly slack. */
    if (need > have || need + 64 < have / 2) {
        void *tmp = NULL;
        if (vlen && (uintptr_t)v >= (uintptr_t)e && (uintptr_t)v < (uintptr_t)e + have) {
            tmp = xmalloc(vlen);          /* the new value lives in the old one */
            memcpy(tmp, v, vlen);
            v = tmp;
        }
        e = xrealloc(e, need);
        *ref = e;
        uint32_t l = (uint32_t)vlen;
        memcpy(e->data, &l, 4);
        if (vlen) memcpy(e->data + 4 + klen, v, vlen);
        xfree(tmp);
        return e;
    }
    uint32_t l = (uint32_t)vlen;
    memcpy(e->data, &l, 4);
    if (vlen) memmove(e->data + 4 + klen, v, vlen);
    return e;
}

dict_entry *dict_set_bytes(dict *d, dict_entry *e, const void *v, size_t vlen)
{
    int j;
    dict_entry **ref = ref_of(d, e, &j);
    return store_bytes(ref, e, v, vlen);
}

dict_entry *dict_upsert_bytes(dict *d, const void *key, size_t klen,
                              const void *v, size_t vlen, int *created)
{
    dict_entry **ref;
    int j;
    if (rehashing(d)) rehash(d, 1);
    uint64_t h = key_hash(key, klen);
    dict_entry *e = d->used[0] + d->used[1] ? lookup(d, key, klen, h, &ref, &j) : NULL;
    if (created) *created = e == NULL;
    if (!e) {
        /* Sized for the value up front: one allocation per new field. */
        e = insert_new(d, key, klen, h, vlen);
        uint32_t l = (uint32_t)vlen;
        memcpy(e->data, &l, 4);
        if (vlen) memcpy(e->data + 4 + klen, v, vlen);
        return e;
    }
    return store_bytes(ref, e, v, vlen);
}

/* ---- Copy ---- */

dict *dict_dup(const dict *src, void (*dup_val)(dict_entry *copy, const dict_entry *orig))
{
    dict *d = dict_new(src->kind);
    dict_expand(d, dict_size(src));
    for (int j = 0; j < 2; j++) {
        for (unsigned long i = 0; i < src->size[j]; i++) {
            for (const dict_entry *e = src->tb[j][i]; e; e = e->next) {
                size_t klen = dict_klen(e), n = ENTRY_HDR + pre_key(src->kind) + klen;
                if (src->kind == DICT_BYTES) { size_t vl; dict_bytes(e, &vl); n += vl; }
                uint64_t h = entry_hash(e);
                dict_entry *c = xmalloc(n);
                memcpy(c, e, n);
                unsigned long idx = h & (d->size[0] - 1);
                c->next = d->tb[0][idx];
                d->tb[0][idx] = c;
                d->used[0]++;
                if (dup_val) dup_val(c, e);
            }
        }
    }
    return d;
}

/* ---- SCAN ---- */

static inline unsigned long rev_bits(unsigned long v)
{
    v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
    v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
    return __builtin_bswap64(v);
}

static void scan_bucket(const dict_entry *e, void (*fn)(void *, const dict_entry *), void *ctx)
{
    while (e) {
        const dict_entry *next = e->next;
        fn(ctx, e);
        e = next;
    }
}

/* Reverse-binary cursor: see kvt_scan in kv.c for why this is complete. */
unsigned long dict_scan(dict *d, unsigned long v,
                        void (*fn)(void *ctx, const dict_entry *e), void *ctx)
{
    if (d->used[0] + d->used[1] == 0) return 0;
    d->pause++;
    if (!rehashing(d)) {
        unsigned long m0 = d->size[0] - 1;
        scan_bucket(d->tb[0][v & m0], fn, ctx);
        v |= ~m0;
        v = rev_bits(v);
        v++;
        v = rev_bits(v);
    } else {
        int s = d->size[0] <= d->size[1] ? 0 : 1, l = 1 - s;
        unsigned long ms = d->size[s] - 1, ml = d->size[l] - 1;
        scan_bucket(d->tb[s][v & ms], fn, ctx);
        do {
            scan_bucket(d->tb[l][v & ml], fn, ctx);
            v |= ~ml;
            v = rev_bits(v);
            v++;
            v = rev_bits(v);
        } while (v & (ms ^ ml));
    }
    d->pause--;
    return v;
}

/* ---- Random ---- */

static dict_entry *live_bucket(dict *d, unsigned long r)
{
    if (!rehashing(d)) return d->tb[0][r & (d->size[0] - 1)];
    unsigned long n0 = d->size[0] - (unsigned long)d->rehashidx;
    return r < n0 ? d->tb[0][d->rehashidx + r] : d->tb[1][r - n0];
}

dict_entry *dict_random(dict *d)
{
    if (d->used[0] + d->used[1] == 0) return NULL;
    if (rehashing(d)) rehash(d, 1);
    unsigned long range = rehashing(d)
        ? d->size[0] - (unsigned long)d->rehashidx + d->size[1] : d->size[0];
    /* Uniform (bucket, slot) with rejection: see kvt_random. */
    for (int tries = 0; tries < 256; tries++) {
        dict_entry *e = live_bucket(d, drand() % range);
        if (!e) continue;
        unsigned long len = 0;
        for (dict_entry *x = e; x; x = x->next) len++;
        /* Slot drawn from [0, 8): uniform over (bucket, slot) as long as no
         * chain is longer than 8, which the load factor makes rare. */
        unsigned long slot = drand() % (len < 8 ? 8 : len);
        if (slot >= len) continue;
        while (slot--) e = e->next;
        return e;
    }
    for (;;) {
        dict_entry *e = live_bucket(d, drand() % range);
        if (!e) continue;
        unsigned long len = 0;
        for (dict_entry *x = e; x; x = x->next) len++;
        unsigned long slot = drand() % len;
        while (slot--) e = e->next;
        return e;
    }
}

unsigned long dict_sample(dict *d, dict_entry **out, unsigned long count)
{
    unsigned long total = d->used[0] + d->used[1];
    if (count == 0 || total == 0) return 0;
    if (count > total) count = total;
    if (rehashing(d)) rehash(d, count > 100 ? 100 : (int)count);
    int ntab = rehashing(d) ? 2 : 1;
    unsigned long maxmask = d->size[0] - 1;
    if (ntab == 2 && d->size[1] - 1 > maxmask) maxmask = d->size[1] - 1;
    unsigned long i = drand() & maxmask, empty = 0, stored = 0;
    unsigned long steps = count * 10;
    while (stored < count && steps-- > 0) {
        for (int j = 0; j < ntab; j++) {
            if (ntab == 2 && j == 0 && (long)i < d->rehashidx) {
                if (i >= d->size[1]) i = (unsigned long)d->rehashidx;
                else continue;
            }
            if (i >= d->size[j]) continue;
            dict_entry *e = d->tb[j][i];
            if (!e) {
                if (++empty >= 5 && empty > count) { i = drand() & maxmask; empty = 0; }
                continue;
            }
            empty = 0;
            for (; e && stored < count; e = e->next) out[stored++] = e;
            if (stored == count) return stored;
        }
        i = (i + 1) & maxmask;
    }
    return stored;
}

/* A small open-addressing set of pointers, to reject repeated picks. */
typedef struct ptrset { uintptr_t *slot; unsigned long mask; } ptrset;

static int ptrset_add(ptrset *s, const void *p)
{
    uintptr_t v = (uintptr_t)p;
    unsigned long i = (unsigned long)((v >> 4) * 0x9e3779b97f4a7c15ULL) & s->mask;
    while (s->slot[i]) {
        if (s->slot[i] == v) return 0;
        i = (i + 1) & s->mask;
    }
    s->slot[i] = v;
    return 1;
}

unsigned long dict_random_distinct(dict *d, dict_entry **out, unsigned long count)
{
    unsigned long size = dict_size(d);
    if (count > size) count = size;
    if (count == 0) return 0;
    if (count * 3 > size) {
        /* A big share of the dict: take everything, then a partial shuffle. */
        dict_entry **all = count == size ? out : xmalloc(size * sizeof(*all));
        dict_iter it;
        dict_entry *e;
        unsigned long n = 0;
        dict_iter_init(&it, d);
        while ((e = dict_iter_next(&it))) all[n++] = e;
        for (unsigned long i = 0; i < count; i++) {
            unsigned long k = i + (unsigned long)(drand() % (n - i));
            dict_entry *t = all[i]; all[i] = all[k]; all[k] = t;
        }
        if (all != out) {
            memcpy(out, all, count * sizeof(*out));
            xfree(all);
        }
        return count;
    }
    /* A small share: draw and drop repeats (at most 1.5 draws per pick). */
    ptrset s;
    unsigned long cap = 16;
    while (cap < count * 2) cap <<= 1;
    s.slot = xcalloc(cap, sizeof(uintptr_t));
    s.mask = cap - 1;
    unsigned long n = 0;
    while (n < count) {
        dict_entry *e = dict_random(d);
        if (ptrset_add(&s, e)) out[n++] = e;
    }
    xfree(s.slot);
    return n;
}

/* ---- Iteration ---- */

void dict_iter_init(dict_iter *it, dict *d)
{
    while (rehashing(d) && !d->pause) rehash(d, 1000);
    it->d = d;
    it->table = 0;
    it->bucket = 0;
    it->cur = it->next = NULL;
}

dict_entry *dict_iter_next(dict_iter *it)
{
    dict *d = it->d;
    for (;;) {
        if (it->next) {
            it->cur = it->next;
            it->next = it->cur->next;
            return it->cur;
        }
        if (it->table > 1) { it->cur = NULL; return NULL; }
        if (it->bucket >= d->size[it->table]) {
            it->table++;
            it->bucket = 0;
            continue;
        }
        it->next = d->tb[it->table][it->bucket++];
    }
}

void dict_iter_delete(dict_iter *it)
{
    dict *d = it->d;
    dict_entry *e = it->cur;
    if (!e) return;
    dict_entry **ref = NULL;
    if (it->bucket - 1 < d->size[it->table]) {
        ref = &d->tb[it->table][it->bucket - 1];
        while (*ref && *ref != e) ref = &(*ref)->next;
    }
    if (ref && *ref) {
        *ref = e->next;
        d->used[it->table]--;
    } else {
        dict_unlink_entry(d, e);    /* the dict was resized behind our back (misuse): stay safe */
    }
    xfree(e);
    it->cur = NULL;
}
