/* kv: the keyspace hash table (see kv.h). Chained buckets, power-of-two
 * sizes, and two tables while an incremental rehash moves entries from
 * tb[0] to tb[1] a few buckets per operation. Entries never move in memory:
 * rehashing only relinks them. */
#include "kv.h"
#include "mem.h"
#include "util.h"
#include <string.h>

#define KVT_MIN_SIZE 4
#define KVT_FORCE_RATIO 5     /* grow even when resizing is discouraged */

struct kvtable {
    kv **tb[2];
    unsigned long size[2];    /* 0 or a power of two */
    unsigned long used[2];
    long rehashidx;           /* next tb[0] bucket to move; -1 = not rehashing */
    int pause;                /* >0: no rehash steps (inside kvt_scan) */
    size_t prefix;            /* caller's header bytes before each entry */
};

static int kvt_resize_allowed = 1;

void kvt_set_resize_allowed(int allowed) { kvt_resize_allowed = allowed; }

static uint64_t kv_rng = 0x853c49e6748fea9bULL;
static inline uint64_t kv_rand(void)
{
    uint64_t x = kv_rng;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    kv_rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static inline int rehashing(const kvtable *t) { return t->rehashidx != -1; }

/* Buckets use the low bits of the hash, and hash_bytes' low bits cluster
 * for short keys that differ in a few bytes ("key:1".."key:199" filled
 * 14 of 256 buckets with 5 keys each); one xor-multiply-xor round spreads
 * them to the expected distribution for ~1 ns. */
static inline uint64_t key_hash(const char *key, size_t klen)
{
    uint64_t h = hash_bytes(key, klen);
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    return h ^ (h >> 32);
}
static inline uint64_t kv_hash(const kv *e) { return key_hash(e->key, e->klen); }

kvtable *kvt_new(void)
{
    kvtable *t = xcalloc(1, sizeof(*t));
    t->rehashidx = -1;
    return t;
}

kvtable *kvt_new_prefixed(size_t prefix)
{
    kvtable *t = kvt_new();
    t->prefix = prefix;
    return t;
}

size_t kvt_prefix(const kvtable *t) { return t->prefix; }

size_t kvt_entry_size(const kvtable *t, const kv *e) { return mem_alloc_size((const char *)e - t->prefix); }

void kvt_free_entry(const kvtable *t, kv *e)
{
    if (e) xfree((char *)e - t->prefix);
}

void kvt_free(kvtable *t, void (*free_val)(kv *e))
{
    if (!t) return;
    for (int j = 0; j < 2; j++) {
        for (unsigned long i = 0; i < t->size[j]; i++) {
            kv *e = t->tb[j][i];
            while (e) {
                kv *next = e->next;
                if (free_val) free_val(e);
                kvt_free_entry(t, e);
                e = next;
            }
        }
        xfree(t->tb[j]);
    }
    xfree(t);
}

size_t kvt_size(const kvtable *t) { return t->used[0] + t->used[1]; }

size_t kvt_overhead(const kvtable *t)
{
    return sizeof(*t) + (t->size[0] + t->size[1]) * sizeof(kv *);
}

/* Moves up to n buckets from tb[0] to tb[1], looking at no more than
 * 10*n empty buckets so one call stays cheap. */
static int rehash(kvtable *t, int n)
{
    unsigned long empty_visits = (unsigned long)n * 10;
    if (!rehashing(t) || t->pause) return 0;
    unsigned long mask1 = t->size[1] - 1;
    while (n-- > 0 && t->used[0]) {
        while (!t->tb[0][t->rehashidx]) {
            t->rehashidx++;
            if (--empty_visits == 0) return 1;
        }
        kv *e = t->tb[0][t->rehashidx];
        while (e) {
            kv *next = e->next;
            unsigned long idx = kv_hash(e) & mask1;
            e->next = t->tb[1][idx];
            t->tb[1][idx] = e;
            t->used[0]--;
            t->used[1]++;
            e = next;
        }
        t->tb[0][t->rehashidx++] = NULL;
    }
    if (t->used[0] == 0) {
        xfree(t->tb[0]);
        t->tb[0] = t->tb[1];
        t->size[0] = t->size[1];
        t->used[0] = t->used[1];
        t->tb[1] = NULL;
        t->size[1] = t->used[1] = 0;
        t->rehashidx = -1;
        return 0;
    }
    return 1;
}

int kvt_rehash_step(kvtable *t, int n) { return rehash(t, n); }

static unsigned long next_pow2(unsigned long n)
{
    unsigned long s = KVT_MIN_SIZE;
    while (s < n && s < (1UL << 62)) s <<= 1;
    return s;
}

/* Starts moving to a table of at least `want` buckets. */
static void resize(kvtable *t, unsigned long want)
{
    if (rehashing(t)) return;
    unsigned long s = next_pow2(want);
    if (s == t->size[0]) return;
    kv **tb = xcalloc(s, sizeof(kv *));
    if (!t->tb[0]) {
        t->tb[0] = tb;
        t->size[0] = s;
        return;
    }
    t->tb[1] = tb;
    t->size[1] = s;
    t->rehashidx = 0;
}

void kvt_expand(kvtable *t, size_t n)
{
    if (n > t->size[0]) resize(t, n);
}

static void grow_if_needed(kvtable *t)
{
    if (rehashing(t)) return;
    if (t->size[0] == 0) { resize(t, KVT_MIN_SIZE); return; }
    if (t->used[0] >= t->size[0] &&
        (kvt_resize_allowed || t->used[0] / t->size[0] >= KVT_FORCE_RATIO))
        resize(t, t->used[0] + 1);
}

void kvt_maybe_shrink(kvtable *t)
{
    if (rehashing(t) || t->pause || !kvt_resize_allowed) return;
    if (t->size[0] > KVT_MIN_SIZE && t->used[0] * 10 < t->size[0]) {
        resize(t, t->used[0]);
        if (t->used[0] == 0) rehash(t, 0);      /* nothing to move: switch now */
    }
}

kv *kvt_find(kvtable *t, const char *key, size_t klen)
{
    if (t->used[0] + t->used[1] == 0) return NULL;
    if (rehashing(t)) rehash(t, 1);
    uint64_t h = key_hash(key, klen);
    for (int j = 0; j < 2; j++) {
        unsigned long idx = h & (t->size[j] - 1);
        /* Buckets below rehashidx in tb[0] are already empty. */
        if (!(j == 0 && rehashing(t) && (long)idx < t->rehashidx)) {
            for (kv *e = t->tb[j][idx]; e; e = e->next)
                if (e->klen == klen && memcmp(e->key, key, klen) == 0) return e;
        }
        if (!rehashing(t)) break;
    }
    return NULL;
}

kv *kvt_add(kvtable *t, const char *key, size_t klen)
{
    if (rehashing(t)) rehash(t, 1);
    grow_if_needed(t);
    int j = rehashing(t) ? 1 : 0;
    unsigned long idx = key_hash(key, klen) & (t->size[j] - 1);
    kv *e = (kv *)((char *)xmalloc(t->prefix + offsetof(kv, key) + klen + 1) + t->prefix);
    e->val = NULL;
    e->lru = 0;
    e->type = 0;
    e->enc = 0;
    e->klen = (uint32_t)klen;
    e->has_expire = 0;
    if (klen) memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    e->next = t->tb[j][idx];
    t->tb[j][idx] = e;
    t->used[j]++;
    return e;
}

kv *kvt_unlink(kvtable *t, const char *key, size_t klen)
{
    if (t->used[0] + t->used[1] == 0) return NULL;
    if (rehashing(t)) rehash(t, 1);
    uint64_t h = key_hash(key, klen);
    for (int j = 0; j < 2; j++) {
        unsigned long idx = h & (t->size[j] - 1);
        if (!(j == 0 && rehashing(t) && (long)idx < t->rehashidx)) {
            kv **ref = &t->tb[j][idx];
            for (kv *e = *ref; e; ref = &e->next, e = e->next) {
                if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
                    *ref = e->next;
                    e->next = NULL;
                    t->used[j]--;
                    /* Deletes emptied the old table: drop it now. */
                    if (rehashing(t) && t->used[0] == 0) rehash(t, 0);
                    return e;
                }
            }
        }
        if (!rehashing(t)) break;
    }
    return NULL;
}

/* ---- SCAN ---- */

static inline unsigned long rev_bits(unsigned long v)
{
    v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
    v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
    return __builtin_bswap64(v);
}

/* Calls fn for each entry of a chain; next is read first so fn may
 * unlink (and free) the entry it is given. */
static void scan_bucket(kv *e, void (*fn)(void *, kv *), void *ctx)
{
    while (e) {
        kv *next = e->next;
        fn(ctx, e);
        e = next;
    }
}

/* The cursor counts up in bit-reversed order over the high bits, so
 * buckets visited under one table size map to buckets already visited
 * under a doubled or halved size: nothing present throughout is missed. */
unsigned long long kvt_scan(kvtable *t, unsigned long long cursor,
                            void (*fn)(void *ctx, kv *e), void *ctx)
{
    unsigned long v = (unsigned long)cursor;
    if (t->used[0] + t->used[1] == 0) return 0;
    t->pause++;
    if (!rehashing(t)) {
        unsigned long m0 = t->size[0] - 1;
        scan_bucket(t->tb[0][v & m0], fn, ctx);
        v |= ~m0;
        v = rev_bits(v);
        v++;
        v = rev_bits(v);
    } else {
        int s = t->size[0] <= t->size[1] ? 0 : 1, l = 1 - s;
        unsigned long ms = t->size[s] - 1, ml = t->size[l] - 1;
        scan_bucket(t->tb[s][v & ms], fn, ctx);
        /* Then every bucket of the larger table that folds onto it. */
        do {
            scan_bucket(t->tb[l][v & ml], fn, ctx);
            v |= ~ml;
            v = rev_bits(v);
            v++;
            v = rev_bits(v);
        } while (v & (ms ^ ml));
    }
    t->pause--;
    return v;
}

/* ---- Random / sampling ---- */

/* Bucket number r of the live range: tb[0] from rehashidx, then tb[1]. */
static kv *live_bucket(kvtable *t, unsigned long r)
{
    if (!rehashing(t)) return t->tb[0][r & (t->size[0] - 1)];
    unsigned long n0 = t->size[0] - (unsigned long)t->rehashidx;
    return r < n0 ? t->tb[0][t->rehashidx + r] : t->tb[1][r - n0];
}

kv *kvt_random(kvtable *t)
{
    if (t->used[0] + t->used[1] == 0) return NULL;
    if (rehashing(t)) rehash(t, 1);
    unsigned long range = rehashing(t)
        ? t->size[0] - (unsigned long)t->rehashidx + t->size[1] : t->size[0];
    /* Pick (bucket, slot in 0..2) uniformly and retry when the slot is
     * empty: every entry of a chain of up to 3 is equally likely, and
     * longer chains are rare at load factor <= 1. */
    for (int tries = 0; tries < 256; tries++) {
        kv *e = live_bucket(t, kv_rand() % range);
        if (!e) continue;
        unsigned long len = 0;
        for (kv *x = e; x; x = x->next) len++;
        unsigned long slot = kv_rand() % (len < 8 ? 8 : len);
        if (slot >= len) continue;
        while (slot--) e = e->next;
        return e;
    }
    /* Very sparse table: any non-empty bucket, then any entry of it. */
    for (;;) {
        kv *e = live_bucket(t, kv_rand() % range);
        if (!e) continue;
        unsigned long len = 0;
        for (kv *x = e; x; x = x->next) len++;
        unsigned long slot = kv_rand() % len;
        while (slot--) e = e->next;
        return e;
    }
}

int kvt_sample(kvtable *t, kv **out, int count)
{
    unsigned long total = t->used[0] + t->used[1];
    if (count <= 0 || total == 0) return 0;
    if ((unsigned long)count > total) count = (int)total;
    if (rehashing(t)) rehash(t, count);
    int ntab = rehashing(t) ? 2 : 1;
    unsigned long maxmask = t->size[0] - 1;
    if (ntab == 2 && t->size[1] - 1 > maxmask) maxmask = t->size[1] - 1;
    unsigned long i = kv_rand() & maxmask, empty = 0;
    long steps = (long)count * 10;
    int stored = 0;
    while (stored < count && steps-- > 0) {
        for (int j = 0; j < ntab; j++) {
            /* tb[0] below rehashidx is empty: skip it (jump ahead when tb[1]
             * cannot have bucket i either). */
            if (ntab == 2 && j == 0 && (long)i < t->rehashidx) {
                if (i >= t->size[1]) i = (unsigned long)t->rehashidx;
                else continue;
            }
            if (i >= t->size[j]) continue;
            kv *e = t->tb[j][i];
            if (!e) {
                /* A long empty run: jump somewhere else. */
                if (++empty >= 5 && empty > (unsigned long)count) {
                    i = kv_rand() & maxmask;
                    empty = 0;
                }
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

/* ---- Iteration ---- */

void kvt_iter_init(kvt_iter *it, kvtable *t)
{
    /* Finishing a pending rehash first means nothing moves while we walk
     * (deletes do not start one), so no entry is missed or seen twice. */
    while (rehashing(t) && !t->pause) rehash(t, 1000);
    it->t = t;
    it->table = 0;
    it->bucket = 0;
    it->next = NULL;
}

kv *kvt_iter_next(kvt_iter *it)
{
    kvtable *t = it->t;
    for (;;) {
        if (it->next) {
            kv *e = it->next;
            it->next = e->next;
            return e;
        }
        if (it->table > 1) return NULL;
        if (it->bucket >= t->size[it->table]) {
            it->table++;
            it->bucket = 0;
            continue;
        }
        it->next = t->tb[it->table][it->bucket++];
    }
}
