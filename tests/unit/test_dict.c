/* Unit tests for node/dict.c: the three entry kinds, a randomized run
 * against a model through grows/shrinks/rehashing, inline byte values
 * that move, SCAN completeness while resizing, iteration with deletion,
 * random entries / distinct random subsets, and copies. */
#include "unit.h"
#include "dict.h"
#include "mem.h"
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng = 0xfeedfacecafebeefULL;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static size_t key_of(char *buf, unsigned id) { return (size_t)sprintf(buf, "m%u", id); }
static unsigned id_of(const dict_entry *e)
{
    char buf[32];
    size_t l = dict_klen(e);
    memcpy(buf, dict_key(e), l);
    buf[l] = 0;
    return (unsigned)strtoul(buf + 1, NULL, 10);
}

TEST(test_kinds_and_layout)
{
    dict *s = dict_new(DICT_SET), *m = dict_new(DICT_MAP), *b = dict_new(DICT_BYTES);
    dict_entry *e = dict_add(s, "hello", 5);
    CHECK(dict_entry_kind(e) == DICT_SET && dict_klen(e) == 5 && memcmp(dict_key(e), "hello", 5) == 0);
    CHECK(mem_alloc_size(e) <= 24);              /* 12 + 5 bytes: smallest malloc chunk */
    e = dict_add(m, "k", 1);
    CHECK(dict_get_p(e) == NULL && dict_get_i(e) == 0);
    dict_set_d(e, 3.25);
    CHECK(dict_get_d(e) == 3.25);
    dict_set_i(e, INT64_MIN);
    CHECK(dict_get_i(e) == INT64_MIN);
    dict_set_p(e, m);
    CHECK(dict_get_p(e) == m && memcmp(dict_key(e), "k", 1) == 0);
    int created;
    e = dict_upsert_bytes(b, "field", 5, "value", 5, &created);
    CHECK(created);
    size_t vl;
    const char *v = dict_bytes(e, &vl);
    CHECK(vl == 5 && memcmp(v, "value", 5) == 0 && memcmp(dict_key(e), "field", 5) == 0);
    e = dict_upsert_bytes(b, "field", 5, "", 0, &created);
    CHECK(!created && dict_bytes(e, &vl) && vl == 0);
    CHECK(dict_find(b, "field", 5) == e);
    CHECK(dict_find(s, "", 0) == NULL);
    dict_add(s, "", 0);
    CHECK(dict_find(s, "", 0) != NULL);
    CHECK_EQ_INT(dict_size(s), 2);
    CHECK(dict_delete(s, "", 0) && !dict_delete(s, "", 0));
    CHECK_EQ_INT(dict_kind(b), DICT_BYTES);
    dict_free(s, NULL); dict_free(m, NULL); dict_free(b, NULL);
}

/* ---- randomized BYTES dict vs model ---- */

typedef struct mval { int present; size_t len; char *v; dict_entry *e; } mval;

TEST(test_random_bytes_vs_model)
{
    enum { N = 5000 };
    dict *d = dict_new(DICT_BYTES);
    mval *m = calloc(N, sizeof(mval));
    size_t n = 0;
    char k[32], v[400];
    for (int op = 0; op < 200000; op++) {
        int phase = (op / 40000) % 2;
        unsigned id = (unsigned)(rnd() % N);
        size_t kl = key_of(k, id);
        unsigned what = (unsigned)(rnd() % 8);
        if (phase == 1 && what < 5) what = 7;        /* drain: mostly deletes */
        if (what <= 3) {                             /* HSET */
            size_t vl = rnd() % 8 == 0 ? rnd() % 400 : rnd() % 24;
            for (size_t i = 0; i < vl; i++) v[i] = (char)rnd();
            int created;
            dict_entry *e = dict_upsert_bytes(d, k, kl, v, vl, &created);
            CHECK_EQ_INT(created, !m[id].present);
            if (!m[id].present) n++;
            m[id].present = 1;
            m[id].e = e;
            free(m[id].v);
            m[id].v = malloc(vl + 1);
            memcpy(m[id].v, v, vl);
            m[id].len = vl;
        } else if (what == 4 && m[id].present) {     /* set through an entry */
            dict_entry *e = dict_find(d, k, kl);
            CHECK(e == m[id].e);
            size_t vl = rnd() % 100;
            for (size_t i = 0; i < vl; i++) v[i] = (char)('A' + i % 26);
            e = dict_set_bytes(d, e, v, vl);
            m[id].e = e;
            free(m[id].v);
            m[id].v = malloc(vl + 1);
            memcpy(m[id].v, v, vl);
            m[id].len = vl;
        } else if (what <= 6) {                      /* HGET */
            dict_entry *e = dict_find(d, k, kl);
            CHECK(e == (m[id].present ? m[id].e : NULL));
            if (e) {
                size_t vl;
                const char *p = dict_bytes(e, &vl);
                CHECK(vl == m[id].len && memcmp(p, m[id].v, vl) == 0);
            }
        } else {                                     /* HDEL */
            int del = dict_delete(d, k, kl);
            CHECK_EQ_INT(del, m[id].present);
            if (m[id].present) n--;
            m[id].present = 0;
            m[id].e = NULL;
        }
        CHECK_EQ_INT(dict_size(d), n);
        if (op % 10000 == 0) {
            unsigned bad = 0;
            for (unsigned i = 0; i < N; i++) {
                dict_entry *e = dict_find(d, k, key_of(k, i));
                if (e != (m[i].present ? m[i].e : NULL)) bad++;
            }
            CHECK_EQ_INT(bad, 0);
        }
    }
    /* Shrinking happened on the way down: overhead tracks the size. */
    CHECK(dict_overhead(d) < mem_alloc_size(d) + (n * 2 + 64) * sizeof(void *) * 2 + 4096 * 8);
    dict *c = dict_dup(d, NULL);
    CHECK_EQ_INT(dict_size(c), n);
    for (unsigned i = 0; i < N; i++) {
        dict_entry *e = dict_find(c, k, key_of(k, i));
        CHECK((e != NULL) == m[i].present);
        if (e) {
            size_t vl;
            const char *p = dict_bytes(e, &vl);
            CHECK(vl == m[i].len && memcmp(p, m[i].v, vl) == 0);
        }
    }
    dict_free(c, NULL);
    for (unsigned i = 0; i < N; i++) free(m[i].v);
    free(m);
    dict_free(d, NULL);
}

/* Values pointing into the entry itself (HSET f <current value of f>). */
TEST(test_bytes_self_alias)
{
    dict *d = dict_new(DICT_BYTES);
    char big[300];
    memset(big, 'x', sizeof(big));
    dict_entry *e = dict_upsert_bytes(d, "f", 1, big, sizeof(big), NULL);
    size_t vl;
    const char *v = dict_bytes(e, &vl);
    e = dict_set_bytes(d, e, v + 100, 10);        /* shrinks: realloc path */
    v = dict_bytes(e, &vl);
    CHECK(vl == 10 && memcmp(v, big, 10) == 0);
    e = dict_set_bytes(d, e, v + 2, 5);           /* in place, overlapping */
    v = dict_bytes(e, &vl);
    CHECK(vl == 5 && memcmp(v, big, 5) == 0);
    CHECK(dict_find(d, "f", 1) == e);
    dict_free(d, NULL);
}

/* ---- SCAN ---- */

typedef struct scan_ctx { unsigned char *seen; } scan_ctx;
static void scan_cb(void *ctx, const dict_entry *e) { ((scan_ctx *)ctx)->seen[id_of(e)] = 1; }

static void scan_under_churn(int grow)
{
    enum { STABLE = 2000, EXTRA = 30000 };
    dict *d = dict_new(DICT_SET);
    char k[32];
    for (unsigned i = 0; i < STABLE; i++) dict_add(d, k, key_of(k, i));
    unsigned next = STABLE, del = STABLE;
    if (!grow) for (; next < STABLE + EXTRA; next++) dict_add(d, k, key_of(k, next));
    scan_ctx c = { calloc(STABLE + EXTRA, 1) };
    unsigned long cur = 0;
    unsigned steps = 0;
    do {
        cur = dict_scan(d, cur, scan_cb, &c);
        steps++;
        if (grow) {
            for (int j = 0; j < 15 && next < STABLE + EXTRA; j++) dict_add(d, k, key_of(k, next++));
        } else {
            for (int j = 0; j < 30 && del < STABLE + EXTRA; j++) dict_delete(d, k, key_of(k, del++));
        }
    } while (cur && steps < 10000000);
    unsigned missing = 0;
    for (unsigned i = 0; i < STABLE; i++) if (!c.seen[i]) missing++;
    CHECK_EQ_INT(missing, 0);
    free(c.seen);
    dict_free(d, NULL);
}

TEST(test_scan_grow) { scan_under_churn(1); }
TEST(test_scan_shrink) { scan_under_churn(0); }

/* ---- Iteration ---- */

static int freed;
static void free_val(dict_entry *e) { freed++; xfree(dict_get_p(e)); }

TEST(test_iter_delete)
{
    dict *d = dict_new(DICT_MAP);
    char k[32];
    for (unsigned i = 0; i < 1025; i++) {       /* 1025: a rehash is in flight */
        dict_entry *e = dict_add(d, k, key_of(k, i));
        dict_set_p(e, xmalloc(16));
    }
    unsigned char *seen = calloc(1025, 1);
    dict_iter it;
    dict_entry *e;
    unsigned n = 0, dup = 0;
    dict_iter_init(&it, d);
    while ((e = dict_iter_next(&it))) {
        unsigned id = id_of(e);
        if (seen[id]) dup++;
        seen[id] = 1;
        n++;
        if (id % 2) { xfree(dict_get_p(e)); dict_iter_delete(&it); }
    }
    CHECK_EQ_INT(n, 1025);
    CHECK_EQ_INT(dup, 0);
    CHECK_EQ_INT(dict_size(d), 513);
    for (unsigned i = 0; i < 1025; i++) CHECK((dict_find(d, k, key_of(k, i)) != NULL) == (i % 2 == 0));
    /* unlink + free, and unlink by entry. */
    e = dict_unlink(d, "m0", 2);
    CHECK(e && id_of(e) == 0);
    xfree(dict_get_p(e));
    dict_free_entry(e);
    e = dict_find(d, "m2", 2);
    dict_unlink_entry(d, e);
    xfree(dict_get_p(e));
    dict_free_entry(e);
    CHECK(dict_find(d, "m2", 2) == NULL);
    CHECK_EQ_INT(dict_size(d), 511);
    freed = 0;
    dict_clear(d, free_val);
    CHECK_EQ_INT(freed, 511);
    CHECK_EQ_INT(dict_size(d), 0);
    dict_add(d, "again", 5);
    CHECK(dict_find(d, "again", 5) != NULL);
    dict_free(d, NULL);
    free(seen);
}

/* ---- Random ---- */

TEST(test_random_fair)
{
    dict *d = dict_new(DICT_SET);
    char k[32];
    enum { K = 100, DRAWS = 100000 };
    for (unsigned i = 0; i < K; i++) dict_add(d, k, key_of(k, i));
    unsigned hits[K] = { 0 };
    for (int i = 0; i < DRAWS; i++) hits[id_of(dict_random(d))]++;
    unsigned lo = DRAWS, hi = 0;
    for (unsigned i = 0; i < K; i++) { if (hits[i] < lo) lo = hits[i]; if (hits[i] > hi) hi = hits[i]; }
    if (!(lo > 700 && hi < 1200)) fprintf(stderr, "lo %u hi %u\n", lo, hi);
    CHECK(lo > 700 && hi < 1200);
    dict_free(d, NULL);
}

static void check_distinct(dict *d, unsigned size, unsigned long count)
{
    dict_entry **out = malloc(sizeof(*out) * (count + 1));
    unsigned long want = count < size ? count : size;
    unsigned *hits = calloc(size, sizeof(unsigned));
    int rounds = 3000;
    for (int r = 0; r < rounds; r++) {
        unsigned long got = dict_random_distinct(d, out, count);
        CHECK_EQ_INT(got, want);
        unsigned char *seen = calloc(size, 1);
        for (unsigned long i = 0; i < got; i++) {
            unsigned id = id_of(out[i]);
            CHECK(!seen[id]);
            seen[id] = 1;
            hits[id]++;
        }
        free(seen);
    }
    /* Each element is picked with probability want/size per round. */
    double exp = (double)rounds * want / size;
    for (unsigned i = 0; i < size; i++) CHECK(hits[i] > exp * 0.75 && hits[i] < exp * 1.25 + 5);
    free(hits);
    free(out);
}

TEST(test_random_distinct)
{
    dict *d = dict_new(DICT_SET);
    char k[32];
    for (unsigned i = 0; i < 60; i++) dict_add(d, k, key_of(k, i));
    check_distinct(d, 60, 5);       /* sparse: draw and reject repeats */
    check_distinct(d, 60, 30);      /* dense: shuffle everything */
    check_distinct(d, 60, 60);
    check_distinct(d, 60, 1000);    /* more than the size: all of them */
    dict_entry *out[8];
    CHECK_EQ_INT(dict_random_distinct(d, out, 0), 0);
    dict *e = dict_new(DICT_SET);
    CHECK_EQ_INT(dict_random_distinct(e, out, 5), 0);
    CHECK(dict_random(e) == NULL);
    CHECK_EQ_INT(dict_sample(e, out, 5), 0);
    CHECK_EQ_INT(dict_scan(e, 0, scan_cb, NULL), 0);
    dict_free(e, NULL);
    /* Sampling: distinct live entries. */
    for (int r = 0; r < 100; r++) {
        unsigned long n = dict_sample(d, out, 8);
        CHECK(n >= 1 && n <= 8);
        for (unsigned long i = 0; i < n; i++) {
            CHECK(dict_find(d, dict_key(out[i]), dict_klen(out[i])) == out[i]);
            for (unsigned long j = 0; j < i; j++) CHECK(out[i] != out[j]);
        }
    }
    dict_free(d, NULL);
}

TEST(test_expand_and_resize_policy)
{
    dict *d = dict_new(DICT_SET);
    dict_expand(d, 100);
    size_t ov = dict_overhead(d);
    char k[32];
    for (unsigned i = 0; i < 128; i++) dict_add(d, k, key_of(k, i));
    CHECK_EQ_INT(dict_overhead(d), ov);
    dict_set_resize_allowed(0);
    for (unsigned i = 128; i < 600; i++) dict_add(d, k, key_of(k, i));
    CHECK_EQ_INT(dict_overhead(d), ov);
    for (unsigned i = 600; i < 700; i++) dict_add(d, k, key_of(k, i));
    CHECK(dict_overhead(d) > ov);
    dict_set_resize_allowed(1);
    for (unsigned i = 0; i < 700; i++) CHECK(dict_find(d, k, key_of(k, i)) != NULL);
    for (unsigned i = 0; i < 700; i++) CHECK(dict_delete(d, k, key_of(k, i)));
    CHECK_EQ_INT(dict_size(d), 0);
    if (!(dict_overhead(d) <= mem_alloc_size(d) + 64 * sizeof(void *))) fprintf(stderr, "ov %zu\n", dict_overhead(d));
    CHECK(dict_overhead(d) <= mem_alloc_size(d) + 64 * sizeof(void *));
    dict_free(d, NULL);
}

/* Every xmalloc'd byte was given back (mem.c counts them). */
static size_t mem_base;
TEST(test_no_leaks) { CHECK_EQ_INT(mem_used(), mem_base); }

int main(void)
{
    mem_base = mem_used();
    RUN(test_kinds_and_layout);
    RUN(test_random_bytes_vs_model);
    RUN(test_bytes_self_alias);
    RUN(test_scan_grow);
    RUN(test_scan_shrink);
    RUN(test_iter_delete);
    RUN(test_random_fair);
    RUN(test_random_distinct);
    RUN(test_expand_and_resize_policy);
    RUN(test_no_leaks);
    return UNIT_DONE();
}
