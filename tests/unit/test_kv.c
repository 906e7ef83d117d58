/* Unit tests for node/kv.c: randomized add/find/unlink against a bitmap
 * model through grows, shrinks and incremental rehashing; SCAN
 * completeness while the table resizes; iteration with deletion; random
 * key fairness and sampling. */
#include "unit.h"
#include "kv.h"
#include "mem.h"
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng = 0x0123456789abcdefULL;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static size_t key_of(char *buf, unsigned id) { return (size_t)sprintf(buf, "key:%u", id); }
static unsigned id_of(const kv *e) { return (unsigned)strtoul(e->key + 4, NULL, 10); }

TEST(test_basic)
{
    kvtable *t = kvt_new();
    CHECK_EQ_INT(kvt_size(t), 0);
    CHECK(kvt_find(t, "a", 1) == NULL);
    CHECK(kvt_unlink(t, "a", 1) == NULL);
    CHECK(kvt_random(t) == NULL);
    kv *out[4];
    CHECK_EQ_INT(kvt_sample(t, out, 4), 0);
    CHECK_EQ_INT(kvt_scan(t, 0, NULL, NULL), 0);
    kv *e = kvt_add(t, "hello", 5);
    CHECK(e->klen == 5 && memcmp(e->key, "hello", 6) == 0 && e->val == NULL && e->type == 0);
    kv *z = kvt_add(t, "", 0);                       /* the empty key is a key */
    kv *b = kvt_add(t, "a\0b", 3);                   /* binary-safe */
    CHECK(kvt_find(t, "hello", 5) == e);
    CHECK(kvt_find(t, "", 0) == z);
    CHECK(kvt_find(t, "a\0b", 3) == b);
    CHECK(kvt_find(t, "a", 1) == NULL);
    CHECK(kvt_find(t, "hell", 4) == NULL);
    CHECK_EQ_INT(kvt_size(t), 3);
    CHECK(kvt_unlink(t, "hello", 5) == e);
    kvt_free_entry(t, e);
    CHECK(kvt_find(t, "hello", 5) == NULL);
    CHECK_EQ_INT(kvt_size(t), 2);
    CHECK(kvt_overhead(t) > 0);
    kvt_free(t, NULL);
}

static int freed_vals;
static void free_val(kv *e) { freed_vals++; xfree(e->val); }

TEST(test_random_vs_model)
{
    enum { N = 20000 };
    kvtable *t = kvt_new();
    kv **model = calloc(N, sizeof(kv *));
    size_t n = 0;
    char k[32];
    for (int op = 0; op < 300000; op++) {
        /* Phases: grow to ~N/2, then drain to ~0, so the table both grows
         * and shrinks, with rehashes in flight during lookups. */
        int phase = (op / 60000) % 2;
        unsigned id = (unsigned)(rnd() % N);
        size_t kl = key_of(k, id);
        int add = phase == 0 ? rnd() % 4 != 0 : rnd() % 4 == 0;
        if (add) {
            kv *e = kvt_find(t, k, kl);
            CHECK(e == model[id]);
            if (!e) {
                e = kvt_add(t, k, kl);
                e->val = xmalloc(8);
                e->type = 3;
                model[id] = e;
                n++;
            }
        } else {
            kv *e = kvt_unlink(t, k, kl);
            CHECK(e == model[id]);
            if (e) {
                CHECK(e->type == 3);
                xfree(e->val);
                kvt_free_entry(t, e);
                model[id] = NULL;
                n--;
            }
        }
        CHECK_EQ_INT(kvt_size(t), n);
        if (op % 1000 == 0) kvt_maybe_shrink(t);
        if (op % 5000 == 0) {
            unsigned bad = 0;
            for (unsigned i = 0; i < N; i++) {
                size_t l = key_of(k, i);
                if (kvt_find(t, k, l) != model[i]) bad++;
            }
            CHECK_EQ_INT(bad, 0);
        }
    }
    freed_vals = 0;
    kvt_free(t, free_val);
    CHECK_EQ_INT(freed_vals, n);
    free(model);
}

/* ---- SCAN ---- */

typedef struct scan_ctx { unsigned char *seen; unsigned calls; } scan_ctx;
static void scan_cb(void *ctx, kv *e)
{
    scan_ctx *c = ctx;
    unsigned id = id_of(e);
    c->seen[id] = 1;
    c->calls++;
}

/* Keys [0, stable) stay for the whole scan; between calls the test adds
 * or removes other keys to force growth or shrinking mid-scan. */
static void scan_under_churn(int grow)
{
    enum { STABLE = 3000, EXTRA = 40000 };
    kvtable *t = kvt_new();
    char k[32];
    for (unsigned i = 0; i < STABLE; i++) kvt_add(t, k, key_of(k, i));
    unsigned next_extra = STABLE;
    if (!grow) {
        /* Start big, then delete the extras during the scan: shrinks. */
        for (; next_extra < STABLE + EXTRA; next_extra++) kvt_add(t, k, key_of(k, next_extra));
    }
    scan_ctx c = { calloc(STABLE + EXTRA, 1), 0 };
    unsigned long long cur = 0;
    unsigned steps = 0, del_extra = STABLE;
    do {
        cur = kvt_scan(t, cur, scan_cb, &c);
        steps++;
        if (grow) {
            for (int j = 0; j < 20 && next_extra < STABLE + EXTRA; j++)
                kvt_add(t, k, key_of(k, next_extra++));
        } else {
            for (int j = 0; j < 40 && del_extra < STABLE + EXTRA; j++) {
                kv *e = kvt_unlink(t, k, key_of(k, del_extra++));
                if (e) kvt_free_entry(t, e);
            }
            kvt_maybe_shrink(t);
        }
    } while (cur != 0 && steps < 10000000);
    unsigned missing = 0;
    for (unsigned i = 0; i < STABLE; i++) if (!c.seen[i]) missing++;
    CHECK_EQ_INT(missing, 0);
    CHECK(cur == 0);
    free(c.seen);
    kvt_free(t, NULL);
}

TEST(test_scan_grow) { scan_under_churn(1); }
TEST(test_scan_shrink) { scan_under_churn(0); }

TEST(test_scan_static_exact)
{
    /* Without changes, every key is returned exactly once. */
    kvtable *t = kvt_new();
    char k[32];
    for (unsigned i = 0; i < 5000; i++) kvt_add(t, k, key_of(k, i));
    scan_ctx c = { calloc(5000, 1), 0 };
    unsigned long long cur = 0;
    do cur = kvt_scan(t, cur, scan_cb, &c); while (cur);
    CHECK_EQ_INT(c.calls, 5000);
    free(c.seen);
    kvt_free(t, NULL);
}

static void scan_delete_cb(void *ctx, kv *e)
{
    kvtable *t = ctx;
    if (id_of(e) % 2 == 0) kvt_free_entry(t, kvt_unlink(t, e->key, e->klen));
}

TEST(test_scan_delete_in_callback)
{
    kvtable *t = kvt_new();
    char k[32];
    for (unsigned i = 0; i < 3000; i++) kvt_add(t, k, key_of(k, i));
    for (unsigned i = 3000; i < 6000; i++) kvt_add(t, k, key_of(k, i));   /* rehash likely in flight */
    unsigned long long cur = 0;
    do cur = kvt_scan(t, cur, scan_delete_cb, t); while (cur);
    CHECK_EQ_INT(kvt_size(t), 3000);
    for (unsigned i = 0; i < 6000; i++) CHECK((kvt_find(t, k, key_of(k, i)) != NULL) == (i % 2 == 1));
    kvt_free(t, NULL);
}

/* ---- Iteration ---- */

TEST(test_iter_with_delete)
{
    kvtable *t = kvt_new();
    char k[32];
    /* 4097 keys: the table has just started growing, so a rehash is in
     * flight when the iteration begins. */
    for (unsigned i = 0; i < 4097; i++) kvt_add(t, k, key_of(k, i));
    unsigned char *seen = calloc(4097, 1);
    kvt_iter it;
    kv *e;
    unsigned n = 0, dup = 0;
    kvt_iter_init(&it, t);
    while ((e = kvt_iter_next(&it))) {
        unsigned id = id_of(e);
        if (seen[id]) dup++;
        seen[id] = 1;
        n++;
        if (id % 3 == 0) kvt_free_entry(t, kvt_unlink(t, e->key, e->klen));
    }
    CHECK_EQ_INT(n, 4097);
    CHECK_EQ_INT(dup, 0);
    CHECK_EQ_INT(kvt_size(t), 4097 - 1366);
    /* A second full walk sees exactly the survivors. */
    n = 0;
    kvt_iter_init(&it, t);
    while ((e = kvt_iter_next(&it))) { CHECK(id_of(e) % 3 != 0); n++; }
    CHECK_EQ_INT(n, kvt_size(t));
    /* Stopping early needs no cleanup: the table still rehashes/grows. */
    kvt_iter_init(&it, t);
    kvt_iter_next(&it);
    for (unsigned i = 5000; i < 20000; i++) kvt_add(t, k, key_of(k, i));
    while (kvt_rehash_step(t, 100)) {}
    CHECK(kvt_overhead(t) >= 16384 * sizeof(void *));
    free(seen);
    kvt_free(t, NULL);
}

/* ---- Random ---- */

TEST(test_random_fair)
{
    kvtable *t = kvt_new();
    char k[32];
    enum { K = 200, DRAWS = 200000 };
    for (unsigned i = 0; i < K; i++) kvt_add(t, k, key_of(k, i));
    unsigned *hits = calloc(K, sizeof(unsigned));
    for (int i = 0; i < DRAWS; i++) hits[id_of(kvt_random(t))]++;
    unsigned lo = DRAWS, hi = 0;
    for (unsigned i = 0; i < K; i++) { if (hits[i] < lo) lo = hits[i]; if (hits[i] > hi) hi = hits[i]; }
    /* Expected 1000 each; chains of up to 3 are exactly fair, longer ones
     * (rare) get 3/len. Picking a bucket then an entry would give ~1250
     * for lone keys and ~625 for pairs. */
    if (!(lo > 700 && hi < 1200)) fprintf(stderr, "lo %u hi %u\n", lo, hi);
    CHECK(lo > 700 && hi < 1200);
    /* Sparse table (many deletions, no shrink): still returns live keys. */
    for (unsigned i = 1; i < K; i++) kvt_free_entry(t, kvt_unlink(t, k, key_of(k, i)));
    for (int i = 0; i < 100; i++) CHECK(id_of(kvt_random(t)) == 0);
    free(hits);
    kvt_free(t, NULL);
    /* Mid-rehash: 1025 keys just outgrew 1024 buckets. */
    t = kvt_new();
    for (unsigned i = 0; i < 1025; i++) kvt_add(t, k, key_of(k, i));
    unsigned char *seen = calloc(1025, 1);
    unsigned distinct = 0;
    for (int i = 0; i < 30000; i++) {
        kv *e = kvt_random(t);
        CHECK(kvt_find(t, e->key, e->klen) == e);
        if (!seen[id_of(e)]) { seen[id_of(e)] = 1; distinct++; }
    }
    CHECK(distinct > 1000);
    free(seen);
    kvt_free(t, NULL);
}

TEST(test_sample)
{
    kvtable *t = kvt_new();
    char k[32];
    for (unsigned i = 0; i < 1000; i++) kvt_add(t, k, key_of(k, i));
    kv *out[64];
    for (int round = 0; round < 200; round++) {
        int n = kvt_sample(t, out, 16);
        CHECK(n > 0 && n <= 16);
        for (int i = 0; i < n; i++) {
            CHECK(kvt_find(t, out[i]->key, out[i]->klen) == out[i]);
            for (int j = 0; j < i; j++) CHECK(out[i] != out[j]);
        }
        if (round == 100) for (unsigned i = 1000; i < 1100; i++) kvt_add(t, k, key_of(k, i));
    }
    CHECK_EQ_INT(kvt_sample(t, out, 64), 64);
    kvtable *small = kvt_new();
    kvt_add(small, "x", 1);
    CHECK_EQ_INT(kvt_sample(small, out, 10), 1);
    kvt_free(small, NULL);
    kvt_free(t, NULL);
}

TEST(test_expand)
{
    kvtable *t = kvt_new();
    kvt_expand(t, 1000);
    CHECK_EQ_INT(kvt_overhead(t) >= 1024 * sizeof(void *), 1);
    char k[32];
    size_t ov = kvt_overhead(t);
    for (unsigned i = 0; i < 1000; i++) kvt_add(t, k, key_of(k, i));
    CHECK_EQ_INT(kvt_overhead(t), ov);         /* no rehash needed */
    kvt_set_resize_allowed(0);
    for (unsigned i = 1000; i < 3000; i++) kvt_add(t, k, key_of(k, i));
    CHECK_EQ_INT(kvt_overhead(t), ov);         /* load 3 < 5: stays */
    for (unsigned i = 3000; i < 6000; i++) kvt_add(t, k, key_of(k, i));
    CHECK(kvt_overhead(t) > ov);               /* past 5: forced */
    kvt_set_resize_allowed(1);
    for (unsigned i = 0; i < 6000; i++) CHECK(kvt_find(t, k, key_of(k, i)) != NULL);
    kvt_free(t, NULL);
}

/* Every xmalloc'd byte was given back (mem.c counts them). */
static size_t mem_base;
/* Entries of a prefixed table carry the owner's header just before them:
 * it is writable, 16-aligned, survives rehashing (entries never move) and
 * is freed with the entry. */
TEST(test_prefixed)
{
    typedef struct { void *a, *b; } hdr;
    kvtable *t = kvt_new_prefixed(sizeof(hdr));
    CHECK_EQ_INT(kvt_prefix(t), sizeof(hdr));
    char k[32];
    kv *ents[2000];
    for (unsigned i = 0; i < 2000; i++) {
        ents[i] = kvt_add(t, k, key_of(k, i));
        CHECK(((uintptr_t)ents[i] & 15) == 0);
        size_t sz = kvt_entry_size(t, ents[i]);
        CHECK(sz >= sizeof(hdr) + offsetof(kv, key) + ents[i]->klen + 1 && sz < 128);
        hdr *h = (hdr *)ents[i] - 1;
        h->a = ents[i];
        h->b = (void *)(uintptr_t)i;
    }
    while (kvt_rehash_step(t, 1000)) {}
    for (unsigned i = 0; i < 2000; i++) {
        kv *e = kvt_find(t, k, key_of(k, i));
        CHECK(e == ents[i]);
        hdr *h = (hdr *)e - 1;
        CHECK(h->a == e && (uintptr_t)h->b == i);
    }
    for (unsigned i = 0; i < 2000; i += 2) kvt_free_entry(t, kvt_unlink(t, k, key_of(k, i)));
    CHECK_EQ_INT(kvt_size(t), 1000);
    kvt_free_entry(t, NULL);
    kvt_free(t, NULL);
}

TEST(test_no_leaks) { CHECK_EQ_INT(mem_used(), mem_base); }

int main(void)
{
    mem_base = mem_used();
    RUN(test_basic);
    RUN(test_random_vs_model);
    RUN(test_scan_grow);
    RUN(test_scan_shrink);
    RUN(test_scan_static_exact);
    RUN(test_scan_delete_in_callback);
    RUN(test_iter_with_delete);
    RUN(test_random_fair);
    RUN(test_sample);
    RUN(test_expand);
    RUN(test_prefixed);
    RUN(test_no_leaks);
    return UNIT_DONE();
}
