/* Unit tests for node/skiplist.c: range-spec parsing and bounds, and a
 * randomized zset_big run against a sorted-array model checking order,
 * spans, ranks, score/lex ranges and range deletions. */
#include "unit.h"
#include "skiplist.h"
#include "mem.h"
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng = 0xabcdef0123456789ULL;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

#define S(x) x, sizeof(x) - 1

TEST(test_parse_score)
{
    zrangespec r;
    CHECK(zrange_parse(S("1.5"), S("(3"), &r) && r.min == 1.5 && !r.minex && r.max == 3 && r.maxex);
    CHECK(zrange_parse(S("-inf"), S("+inf"), &r) && isinf(r.min) && r.min < 0 && isinf(r.max) && r.max > 0);
    CHECK(zrange_parse(S("(-inf"), S("inf"), &r) && r.minex);
    CHECK(zrange_parse(S(""), S("1"), &r) && r.min == 0);        /* as Redis: strtod("") */
    CHECK(zrange_parse(S("("), S("1"), &r) && r.min == 0 && r.minex);
    CHECK(zrange_parse(S(" 1"), S("1e400"), &r) && r.min == 1 && isinf(r.max));
    CHECK(zrange_parse(S("0x10"), S("2"), &r) && r.min == 16);
    CHECK(!zrange_parse(S("1 "), S("2"), &r));
    CHECK(!zrange_parse(S("nan"), S("2"), &r));
    CHECK(!zrange_parse(S("1"), S("(nan"), &r));
    CHECK(!zrange_parse(S("a"), S("2"), &r));
    CHECK(!zrange_parse(S("1"), S("(("), &r));
    char big[400];                               /* 1.1e399: overflows to inf */
    memset(big, '1', sizeof(big));
    CHECK(zrange_parse(big, sizeof(big), S("2"), &r) && isinf(r.min));
    zrange_parse(S("(1"), S("1"), &r);
    CHECK(zrange_is_empty(&r));
    zrange_parse(S("1"), S("1"), &r);
    CHECK(!zrange_is_empty(&r) && zrange_gte_min(1, &r) && zrange_lte_max(1, &r));
    zrange_parse(S("2"), S("1"), &r);
    CHECK(zrange_is_empty(&r));
    zrange_parse(S("(1"), S("(2"), &r);
    CHECK(!zrange_gte_min(1, &r) && zrange_gte_min(1.5, &r) && !zrange_lte_max(2, &r));
}

TEST(test_parse_lex)
{
    zlexrangespec r;
    CHECK(zlex_parse(S("-"), S("+"), &r) && r.minkind == ZLEX_MINUS_INF && r.maxkind == ZLEX_PLUS_INF);
    CHECK(!zlex_is_empty(&r) && zlex_gte_min(S(""), &r) && zlex_lte_max(S("zzz"), &r));
    CHECK(zlex_parse(S("+"), S("-"), &r) && zlex_is_empty(&r));
    CHECK(zlex_parse(S("[a"), S("(b"), &r) && r.minlen == 1 && !r.minex && r.maxex);
    CHECK(zlex_gte_min(S("a"), &r) && !zlex_gte_min(S(""), &r) && zlex_lte_max(S("az"), &r) && !zlex_lte_max(S("b"), &r));
    CHECK(zlex_parse(S("["), S("+"), &r) && r.minlen == 0 && zlex_gte_min(S(""), &r));
    CHECK(zlex_parse(S("(a"), S("[a"), &r) && zlex_is_empty(&r));
    CHECK(zlex_parse(S("[a"), S("[a"), &r) && !zlex_is_empty(&r));
    CHECK(zlex_parse(S("[b"), S("[a"), &r) && zlex_is_empty(&r));
    CHECK(!zlex_parse(S("a"), S("+"), &r));
    CHECK(!zlex_parse(S("--"), S("+"), &r));
    CHECK(!zlex_parse(S("-"), S("++"), &r));
    CHECK(!zlex_parse(S(""), S("+"), &r));
    CHECK(zsl_cmp_str(S("a"), S("ab")) < 0 && zsl_cmp_str(S("b"), S("ab")) > 0 && zsl_cmp_str(S(""), S("")) == 0);
    CHECK(zsl_cmp_str(S("\xff"), S("a")) > 0);   /* bytes compare unsigned */
}

/* ---- model ---- */

typedef struct melem { double score; char m[16]; size_t len; } melem;
typedef struct zmodel { melem a[2000]; size_t n; } zmodel;

static int elem_cmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2)
{
    if (s1 != s2) return s1 < s2 ? -1 : 1;
    return zsl_cmp_str(m1, l1, m2, l2);
}

static long model_find(zmodel *m, const char *mem, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->a[i].len == len && memcmp(m->a[i].m, mem, len) == 0) return (long)i;
    return -1;
}

static void model_remove(zmodel *m, size_t i)
{
    memmove(m->a + i, m->a + i + 1, (m->n - i - 1) * sizeof(melem));
    m->n--;
}

static void model_insert(zmodel *m, double score, const char *mem, size_t len)
{
    size_t i = 0;
    while (i < m->n && elem_cmp(m->a[i].score, m->a[i].m, m->a[i].len, score, mem, len) < 0) i++;
    memmove(m->a + i + 1, m->a + i, (m->n - i) * sizeof(melem));
    m->a[i].score = score;
    memcpy(m->a[i].m, mem, len);
    m->a[i].len = len;
    m->n++;
}

/* Skiplist structure: order, back links, tail, spans at every level, and
 * the dict pointing at the right nodes. */
static int structure_ok(zset_big *z, zmodel *m)
{
    zskiplist *l = z->zsl;
    if (l->length != m->n || dict_size(z->dict) != m->n) return 0;
    size_t i = 0;
    zsl_node *prev = NULL;
    for (zsl_node *n = zsl_first(l); n; prev = n, n = zsl_next(n), i++) {
        size_t len;
        const char *e = zsl_ele(n, &len);
        if (i >= m->n || n->score != m->a[i].score || len != m->a[i].len || memcmp(e, m->a[i].m, len)) return 0;
        if (n->backward != prev) return 0;
        dict_entry *de = dict_find(z->dict, e, len);
        if (de != n->de || dict_get_p(de) != n) return 0;
    }
    if (l->tail != prev || i != m->n) return 0;
    /* Spans: on each level, the sum of spans from the header to the end of
     * the chain equals the rank of the last node on that level. */
    for (int lv = 0; lv < l->level; lv++) {
        unsigned long rank = 0;
        for (zsl_node *n = l->header; n->level[lv].forward; n = n->level[lv].forward) {
            rank += n->level[lv].span;
            if (zsl_node_rank(l, n->level[lv].forward) != rank) return 0;
        }
    }
    for (int lv = l->level; lv < ZSL_MAXLEVEL; lv++) if (l->header->level[lv].forward) return 0;
    return 1;
}

static double rand_score(void)
{
    switch (rnd() % 6) {
    case 0: return (double)(rnd() % 5);                /* many ties: member order matters */
    case 1: return -INFINITY;
    case 2: return INFINITY;
    default: return ((double)(rnd() % 20000) - 10000) / 7.0;
    }
}

static size_t rand_member(char *buf)
{
    size_t len = rnd() % 4;                             /* includes "" and short prefixes */
    for (size_t i = 0; i < len; i++) buf[i] = (char)("ab\xff"[rnd() % 3]);
    if (rnd() % 3) len = (size_t)sprintf(buf, "m%u", (unsigned)(rnd() % 1000));
    return len;
}

static void rand_range(zrangespec *r)
{
    double a = rand_score(), b = rand_score();
    if (rnd() % 4 && a > b) { double t = a; a = b; b = t; }
    r->min = a; r->max = b;
    r->minex = (int)(rnd() % 2); r->maxex = (int)(rnd() % 2);
}

static void rand_lex(zlexrangespec *r, char *b1, char *b2)
{
    size_t l1 = rand_member(b1), l2 = rand_member(b2);
    r->min = b1; r->minlen = l1; r->max = b2; r->maxlen = l2;
    r->minkind = rnd() % 5 == 0 ? ZLEX_MINUS_INF : rnd() % 10 == 0 ? ZLEX_PLUS_INF : ZLEX_STR;
    r->maxkind = rnd() % 5 == 0 ? ZLEX_PLUS_INF : rnd() % 10 == 0 ? ZLEX_MINUS_INF : ZLEX_STR;
    r->minex = (int)(rnd() % 2); r->maxex = (int)(rnd() % 2);
}

static int m_in_range(const melem *e, const zrangespec *r)
{
    return zrange_gte_min(e->score, r) && zrange_lte_max(e->score, r);
}
static int m_in_lex(const melem *e, const zlexrangespec *r)
{
    return zlex_gte_min(e->m, e->len, r) && zlex_lte_max(e->m, e->len, r);
}

TEST(test_random_vs_model)
{
    static zmodel m;
    zset_big *z = zsb_new();
    char buf[32], b1[32], b2[32];
    m.n = 0;
    for (int op = 0; op < 25000; op++) {
        size_t len = rand_member(buf);
        unsigned what = (unsigned)(rnd() % 15);
        if (m.n > 1500) what = 15;
        if (what <= 5) {                                   /* ZADD / update */
            double s = rand_score();
            long i = model_find(&m, buf, len);
            int added = zsb_set(z, buf, len, s);
            CHECK_EQ_INT(added, i < 0);
            if (i >= 0) model_remove(&m, (size_t)i);
            model_insert(&m, s, buf, len);
        } else if (what <= 7) {                            /* ZREM */
            long i = model_find(&m, buf, len);
            CHECK_EQ_INT(zsb_del(z, buf, len), i >= 0);
            if (i >= 0) model_remove(&m, (size_t)i);
        } else if (what == 8) {                            /* ZSCORE + ZRANK */
            long i = model_find(&m, buf, len);
            zsl_node *n = zsb_find(z, buf, len);
            CHECK((n != NULL) == (i >= 0));
            if (n) {
                CHECK(n->score == m.a[i].score);
                CHECK_EQ_INT(zsl_rank(z->zsl, n->score, buf, len), i + 1);
            } else {
                CHECK_EQ_INT(zsl_rank(z->zsl, 0, buf, len), 0);
            }
        } else if (what == 9 && m.n) {                     /* by rank */
            size_t i = rnd() % m.n;
            zsl_node *n = zsl_by_rank(z->zsl, i + 1);
            size_t l;
            const char *e = zsl_ele(n, &l);
            CHECK(n && n->score == m.a[i].score && l == m.a[i].len && memcmp(e, m.a[i].m, l) == 0);
            CHECK(zsl_by_rank(z->zsl, 0) == NULL && zsl_by_rank(z->zsl, m.n + 1) == NULL);
        } else if (what == 10) {                           /* score range ends */
            zrangespec r;
            rand_range(&r);
            long first = -1, last = -1;
            for (size_t i = 0; i < m.n; i++) if (m_in_range(&m.a[i], &r)) { if (first < 0) first = (long)i; last = (long)i; }
            zsl_node *f = zsl_first_in_range(z->zsl, &r), *l = zsl_last_in_range(z->zsl, &r);
            CHECK(first < 0 ? f == NULL : f == zsl_by_rank(z->zsl, (unsigned long)first + 1));
            CHECK(last < 0 ? l == NULL : l == zsl_by_rank(z->zsl, (unsigned long)last + 1));
        } else if (what == 11) {                           /* lex range ends (all scores equal below) */
            zlexrangespec r;
            rand_lex(&r, b1, b2);
            /* Lex ranges assume equal scores: test on a same-score copy. */
            zset_big *lz = zsb_new();
            static zmodel lm;
            lm.n = 0;
            for (size_t i = 0; i < m.n; i++) {
                zsb_set(lz, m.a[i].m, m.a[i].len, 0);
                model_insert(&lm, 0, m.a[i].m, m.a[i].len);
            }
            long first = -1, last = -1;
            for (size_t i = 0; i < lm.n; i++) if (m_in_lex(&lm.a[i], &r)) { if (first < 0) first = (long)i; last = (long)i; }
            zsl_node *f = zsl_first_in_lex_range(lz->zsl, &r), *l = zsl_last_in_lex_range(lz->zsl, &r);
            CHECK(first < 0 ? f == NULL : f == zsl_by_rank(lz->zsl, (unsigned long)first + 1));
            CHECK(last < 0 ? l == NULL : l == zsl_by_rank(lz->zsl, (unsigned long)last + 1));
            if (rnd() % 2) {
                unsigned long del = zsl_delete_range_by_lex(lz->zsl, &r, lz->dict);
                unsigned long want = first < 0 ? 0 : (unsigned long)(last - first + 1);
                CHECK_EQ_INT(del, want);
                if (want) memmove(lm.a + first, lm.a + last + 1, (lm.n - (size_t)last - 1) * sizeof(melem)), lm.n -= want;
                CHECK(structure_ok(lz, &lm));
            }
            zsb_free(lz);
        } else if (what == 12) {                           /* ZREMRANGEBYSCORE */
            zrangespec r;                                  /* narrow: the set keeps growing */
            r.min = rand_score();
            r.max = r.min + (double)(rnd() % 3);
            r.minex = (int)(rnd() % 2); r.maxex = (int)(rnd() % 2);
            unsigned long want = 0;
            for (size_t i = m.n; i-- > 0;) if (m_in_range(&m.a[i], &r)) { model_remove(&m, i); want++; }
            CHECK_EQ_INT(zsl_delete_range_by_score(z->zsl, &r, z->dict), want);
        } else if (what == 13 && m.n) {                    /* ZREMRANGEBYRANK */
            unsigned long a = rnd() % m.n + 1, b = a + rnd() % 2;
            unsigned long want = 0;
            for (unsigned long i = a; i <= b && i <= m.n; i++) want++;
            CHECK_EQ_INT(zsl_delete_range_by_rank(z->zsl, a, b, z->dict), want);
            for (unsigned long i = 0; i < want; i++) model_remove(&m, a - 1);
        } else if (what == 14) {                           /* ZINCRBY-like small moves */
            long i = m.n ? (long)(rnd() % m.n) : -1;
            if (i >= 0) {
                melem e = m.a[i];
                double ns = e.score + ((double)(rnd() % 5) - 2);
                if (isnan(ns)) ns = 0;
                CHECK_EQ_INT(zsb_set(z, e.m, e.len, ns), 0);
                model_remove(&m, (size_t)i);
                model_insert(&m, ns, e.m, e.len);
            }
        } else if (what == 15) {                           /* shrink */
            unsigned long want = m.n / 2;
            if (want) {
                CHECK_EQ_INT(zsl_delete_range_by_rank(z->zsl, 1, want, z->dict), want);
                for (unsigned long i = 0; i < want; i++) model_remove(&m, 0);
            }
        }
        if (op % 500 == 0) CHECK(structure_ok(z, &m));
    }
    CHECK(structure_ok(z, &m));
    zset_big *c = zsb_dup(z);
    CHECK(structure_ok(c, &m));
    CHECK(zsb_mem_usage(c) > m.n * 40);
    zsb_free(c);
    zsb_free(z);
}

TEST(test_many_levels)
{
    /* 100k sequential inserts: deep levels, rank/by_rank at scale. */
    zset_big *z = zsb_new();
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        size_t l = (size_t)sprintf(buf, "%08d", i);
        zsb_set(z, buf, l, (double)(i / 3));
    }
    CHECK(z->zsl->level > 5);
    int bad = 0;
    for (int i = 0; i < 100000; i += 997) {
        size_t l = (size_t)sprintf(buf, "%08d", i);
        zsl_node *n = zsb_find(z, buf, l);
        if (!n || zsl_node_rank(z->zsl, n) != (unsigned long)i + 1 || zsl_by_rank(z->zsl, (unsigned long)i + 1) != n) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    zrangespec r = { 10, 20, 1, 0 };
    zsl_node *f = zsl_first_in_range(z->zsl, &r), *la = zsl_last_in_range(z->zsl, &r);
    CHECK(f && f->score == 11 && zsl_node_rank(z->zsl, f) == 34);
    CHECK(la && la->score == 20 && zsl_node_rank(z->zsl, la) == 63);
    CHECK_EQ_INT(zsl_delete_range_by_score(z->zsl, &r, z->dict), 30);
    CHECK_EQ_INT(zsb_len(z), 100000 - 30);
    CHECK_EQ_INT(dict_size(z->dict), 100000 - 30);
    /* Moving the first element to the end keeps the same node. */
    zsl_node *first = zsl_first(z->zsl);
    CHECK(zsl_update_score(z->zsl, first, 1e9) == first && zsl_last(z->zsl) == first);
    CHECK(zsl_node_rank(z->zsl, first) == zsb_len(z));
    zsb_free(z);
}

TEST(test_delete_node)
{
    zset_big *z = zsb_new();
    zsb_set(z, S("a"), 1);
    zsb_set(z, S("b"), 2);
    zsb_set(z, S("c"), 3);
    /* Using the pieces directly: remove b from both structures. */
    dict_entry *de = dict_unlink(z->dict, S("b"));
    zsl_delete_node(z->zsl, dict_get_p(de));
    dict_free_entry(de);
    CHECK_EQ_INT(zsb_len(z), 2);
    CHECK(!zsl_delete(z->zsl, 2, S("b")));
    CHECK(zsl_by_rank(z->zsl, 2)->score == 3);
    zsb_set(z, S("a"), 1);                      /* same score: no change */
    CHECK_EQ_INT(zsb_len(z), 2);
    zsb_free(z);
}

/* Every xmalloc'd byte was given back (mem.c counts them). */
static size_t mem_base;
TEST(test_no_leaks) { CHECK_EQ_INT(mem_used(), mem_base); }

int main(void)
{
    mem_base = mem_used();
    RUN(test_parse_score);
    RUN(test_parse_lex);
    RUN(test_random_vs_model);
    RUN(test_many_levels);
    RUN(test_delete_node);
    RUN(test_no_leaks);
    return UNIT_DONE();
}
