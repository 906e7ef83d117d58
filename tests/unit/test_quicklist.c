/* Unit tests for node/quicklist.c: randomized operations against an array
 * model under several fill settings, node-shape invariants, iteration with
 * deletion in both directions, and big elements. */
#include "unit.h"
#include "quicklist.h"
#include "listpack.h"
#include "mem.h"
#include "util.h"
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

typedef struct mstr { char *s; size_t len; } mstr;
typedef struct model { mstr *a; size_t n, cap; } model;

static void m_insert(model *m, size_t pos, const char *s, size_t len)
{
    if (m->n == m->cap) { m->cap = m->cap ? m->cap * 2 : 64; m->a = realloc(m->a, m->cap * sizeof(mstr)); }
    memmove(m->a + pos + 1, m->a + pos, (m->n - pos) * sizeof(mstr));
    m->a[pos].s = malloc(len + 1);
    memcpy(m->a[pos].s, s, len);
    m->a[pos].len = len;
    m->n++;
}

static void m_delete(model *m, size_t pos, size_t num)
{
    for (size_t i = pos; i < pos + num; i++) free(m->a[i].s);
    memmove(m->a + pos, m->a + pos + num, (m->n - pos - num) * sizeof(mstr));
    m->n -= num;
}

static void m_free(model *m)
{
    for (size_t i = 0; i < m->n; i++) free(m->a[i].s);
    free(m->a);
    m->a = NULL;
    m->n = m->cap = 0;
}

static int entry_is(const ql_entry *e, const mstr *s)
{
    char buf[LP_INTBUF_SIZE];
    size_t l;
    const char *p = ql_entry_str(e, &l, buf);
    return l == s->len && memcmp(p, s->s, l) == 0;
}

/* Node shape: cached counts and sizes right, no empty nodes, limits kept
 * (a node over the size limit must hold a single element). */
static int shape_ok(quicklist *ql)
{
    static const size_t lim[] = { 4096, 8192, 16384, 32768, 65536 };
    unsigned long total = 0, nodes = 0;
    ql_node *prev = NULL;
    for (ql_node *n = ql->head; n; prev = n, n = n->next) {
        if (n->prev != prev) return 0;
        if (n->count == 0 || n->count != lp_length(n->lp) || n->sz != lp_bytes(n->lp)) return 0;
        if (!lp_validate(n->lp, n->sz, 1, NULL)) return 0;
        size_t limit = ql->fill >= 0 ? 8192 : lim[-ql->fill - 1];
        if (ql->fill > 0 && n->count > (uint32_t)ql->fill) return 0;
        if (n->sz > limit && n->count > 1) return 0;
        total += n->count;
        nodes++;
    }
    return prev == ql->tail && total == ql->count && nodes == ql->len;
}

static int same(quicklist *ql, model *m)
{
    if (ql_count(ql) != m->n) return 0;
    ql_iter it;
    ql_entry e;
    size_t i = 0;
    ql_iter_init(&it, ql, QL_FWD);
    while (ql_next(&it, &e)) if (i >= m->n || !entry_is(&e, &m->a[i++])) return 0;
    if (i != m->n) return 0;
    ql_iter_init(&it, ql, QL_BWD);
    while (ql_next(&it, &e)) if (i == 0 || !entry_is(&e, &m->a[--i])) return 0;
    return i == 0 && shape_ok(ql);
}

static char vbuf[20000];
static size_t rand_value(void)
{
    size_t len;
    switch (rnd() % 8) {
    case 0: return (size_t)ll_to_str(vbuf, (long long)(rnd() % 1000));
    case 1: return (size_t)ll_to_str(vbuf, (long long)rnd());
    case 2: len = rnd() % 3000; break;
    case 3: len = rnd() % 100 == 0 ? 9000 + rnd() % 9000 : rnd() % 300; break;
    default: len = rnd() % 30; break;
    }
    for (size_t i = 0; i < len; i++) vbuf[i] = (char)('a' + rnd() % 26);
    return len;
}

static void run_random(int fill, int ops)
{
    quicklist *ql = ql_new(fill);
    model m = { 0 };
    for (int op = 0; op < ops; op++) {
        size_t len = rand_value();
        /* Weights: growth wins on average so lists reach hundreds of
         * elements over many nodes, then get halved. */
        static const unsigned char pick[20] = { 0, 0, 1, 1, 1, 2, 3, 4, 5, 6,
                                                7, 8, 9, 9, 10, 11, 12, 4, 7, 1 };
        unsigned what = pick[rnd() % 20];
        if (m.n > 600) what = 13;
        if (m.n == 0 && what >= 4) what = rnd() % 2;
        switch (what) {
        case 0: case 1: {                        /* push */
            int head = what == 0;
            ql_push(ql, head ? QL_HEAD : QL_TAIL, vbuf, len);
            m_insert(&m, head ? 0 : m.n, vbuf, len);
            break;
        }
        case 2: case 3: {                        /* pop */
            int head = what == 2;
            size_t l;
            char *s = ql_pop(ql, head ? QL_HEAD : QL_TAIL, &l);
            if (!m.n) { CHECK(s == NULL); break; }
            size_t pos = head ? 0 : m.n - 1;
            CHECK(s && l == m.a[pos].len && memcmp(s, m.a[pos].s, l) == 0 && s[l] == '\0');
            xfree(s);
            m_delete(&m, pos, 1);
            break;
        }
        case 4: {                                /* index from both ends */
            size_t at = rnd() % m.n;
            ql_entry e;
            CHECK(ql_index(ql, (long)at, &e) && entry_is(&e, &m.a[at]));
            CHECK(ql_index(ql, (long)at - (long)m.n, &e) && entry_is(&e, &m.a[at]));
            CHECK(!ql_index(ql, (long)m.n, &e));
            CHECK(!ql_index(ql, -(long)m.n - 1, &e));
            break;
        }
        case 5: case 6: {                        /* LSET */
            size_t at = rnd() % m.n;
            CHECK(ql_replace_at(ql, rnd() & 1 ? (long)at : (long)at - (long)m.n, vbuf, len));
            free(m.a[at].s);
            m.a[at].s = malloc(len + 1);
            memcpy(m.a[at].s, vbuf, len);
            m.a[at].len = len;
            break;
        }
        case 7: case 8: case 9: {                /* LINSERT */
            size_t at = rnd() % m.n;
            ql_entry e;
            int after = what == 9;
            CHECK(ql_index(ql, (long)at, &e));
            ql_insert(ql, &e, after ? QL_AFTER : QL_BEFORE, vbuf, len);
            m_insert(&m, at + (after ? 1 : 0), vbuf, len);
            break;
        }
        case 10: {                               /* LTRIM-like range delete */
            long start = (long)(rnd() % (m.n + 2)) - 1;
            unsigned long num = rnd() % 6;
            size_t s0 = start < 0 ? m.n - 1 : (size_t)start;
            unsigned long del = ql_del_range(ql, start, num);
            size_t want = s0 >= m.n ? 0 : (num > m.n - s0 ? m.n - s0 : num);
            CHECK_EQ_INT(del, want);
            if (want) m_delete(&m, s0, want);
            break;
        }
        case 11: case 12: {                      /* LREM-like: iterate and delete */
            int fwd = what == 11;
            ql_iter it;
            ql_entry e;
            char c = (char)('a' + rnd() % 26);
            ql_iter_init(&it, ql, fwd ? QL_FWD : QL_BWD);
            size_t i = fwd ? 0 : m.n;
            while (ql_next(&it, &e)) {
                size_t pos = fwd ? i++ : --i;
                CHECK(entry_is(&e, &m.a[pos]));
                if (m.a[pos].len && m.a[pos].s[0] == c) {
                    ql_iter_del(&it, &e);
                    m_delete(&m, pos, 1);
                    if (fwd) i--;
                }
            }
            CHECK_EQ_INT(i, fwd ? m.n : 0);
            break;
        }
        default: {                               /* shrink a big list */
            size_t num = m.n / 2;
            CHECK_EQ_INT(ql_del_range(ql, 0, num), num);
            m_delete(&m, 0, num);
            break;
        }
        }
        if (op % 64 == 0) CHECK(same(ql, &m));
    }
    CHECK(same(ql, &m));
    /* LRANGE-style partial iteration from an index, both directions. */
    for (int t = 0; t < 20 && m.n; t++) {
        size_t at = rnd() % m.n;
        ql_iter it;
        ql_entry e;
        CHECK(ql_iter_init_at(&it, ql, QL_FWD, (long)at));
        for (size_t i = at; i < m.n && i < at + 50; i++) CHECK(ql_next(&it, &e) && entry_is(&e, &m.a[i]));
        CHECK(ql_iter_init_at(&it, ql, QL_BWD, (long)at - (long)m.n));
        for (size_t i = at + 1; i-- > 0 && i + 50 > at;) CHECK(ql_next(&it, &e) && entry_is(&e, &m.a[i]));
    }
    ql_iter it;
    CHECK(!ql_iter_init_at(&it, ql, QL_FWD, (long)m.n));
    quicklist *c = ql_dup(ql);
    CHECK(same(c, &m));
    ql_free(c);
    ql_free(ql);
    m_free(&m);
}

TEST(test_random_fills)
{
    int fills[] = { -2, -1, -5, 1, 2, 5, 128 };
    for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++) run_random(fills[i], 15000);
}

TEST(test_push_pop_basic)
{
    quicklist *ql = ql_new(3);
    CHECK_EQ_INT(ql_count(ql), 0);
    CHECK(!ql_pop_discard(ql, QL_HEAD));
    size_t l;
    CHECK(ql_pop(ql, QL_TAIL, &l) == NULL);
    char buf[32];
    for (int i = 0; i < 10; i++) {
        int n = ll_to_str(buf, i);
        ql_push(ql, QL_TAIL, buf, (size_t)n);
    }
    CHECK_EQ_INT(ql->len, 4);                    /* 3 + 3 + 3 + 1 */
    ql_entry e;
    CHECK(ql_peek(ql, QL_HEAD, &e) && !e.s && e.v == 0);
    CHECK(ql_peek(ql, QL_TAIL, &e) && !e.s && e.v == 9);
    CHECK(ql_entry_eq(&e, "9", 1));
    CHECK(ql_pop_discard(ql, QL_HEAD));
    char *s = ql_pop(ql, QL_HEAD, &l);
    CHECK(l == 1 && s[0] == '1');
    xfree(s);
    CHECK_EQ_INT(ql_count(ql), 8);
    CHECK(shape_ok(ql));
    /* Extreme indexes. */
    ql_iter it;
    CHECK(!ql_index(ql, LONG_MIN, &e) && !ql_index(ql, LONG_MAX, &e));
    CHECK(!ql_iter_init_at(&it, ql, QL_BWD, LONG_MIN));
    CHECK(!ql_replace_at(ql, LONG_MIN, "x", 1));
    CHECK_EQ_INT(ql_del_range(ql, LONG_MAX, 5), 0);
    CHECK_EQ_INT(ql_del_range(ql, LONG_MIN, 1), 1);         /* clamped to the head */
    CHECK(ql_peek(ql, QL_HEAD, &e) && e.v == 3);
    CHECK_EQ_INT(ql_del_range(ql, -2, ULONG_MAX), 2);
    CHECK(ql_peek(ql, QL_TAIL, &e) && e.v == 7);
    CHECK_EQ_INT(ql_count(ql), 5);
    CHECK(shape_ok(ql));
    ql_free(ql);
}

TEST(test_fill_limits)
{
    /* -2 = 8 KiB nodes: 100-byte elements pack ~75 per node. */
    quicklist *ql = ql_new(-2);
    char v[100];
    memset(v, 'x', sizeof(v));
    for (int i = 0; i < 1000; i++) ql_push(ql, QL_TAIL, v, sizeof(v));
    CHECK(ql->len >= 12 && ql->len <= 15);
    CHECK(shape_ok(ql));
    /* A big element gets its own node and does not block later pushes. */
    char *big = malloc(20000);
    memset(big, 'B', 20000);
    ql_push(ql, QL_TAIL, big, 20000);
    ql_push(ql, QL_TAIL, v, sizeof(v));
    CHECK(shape_ok(ql));
    ql_entry e;
    CHECK(ql_index(ql, -2, &e) && e.len == 20000);
    /* Replacing a small element with a huge one inside a full node splits it. */
    CHECK(ql_replace_at(ql, 500, big, 20000));
    CHECK(ql_index(ql, 500, &e) && e.len == 20000);
    CHECK(ql_index(ql, 499, &e) && e.len == 100);
    CHECK(ql_index(ql, 501, &e) && e.len == 100);
    CHECK(shape_ok(ql));
    CHECK_EQ_INT(ql_count(ql), 1002);
    CHECK(ql_mem_usage(ql) > 1000 * 100);
    free(big);
    ql_set_fill(ql, 1000000);
    CHECK_EQ_INT(ql->fill, 32768);
    ql_set_fill(ql, -9);
    CHECK_EQ_INT(ql->fill, -5);
    ql_free(ql);
}

TEST(test_adopt_listpack)
{
    quicklist *ql = ql_new(-2);
    unsigned char *lp = lp_new();
    lp = lp_append(lp, "a", 1);
    lp = lp_append(lp, "b", 1);
    ql_append_listpack(ql, lp);
    ql_append_listpack(ql, lp_new());            /* empty: dropped */
    ql_push(ql, QL_TAIL, "c", 1);
    CHECK_EQ_INT(ql_count(ql), 3);
    ql_entry e;
    CHECK(ql_index(ql, 2, &e) && e.len == 1 && e.s[0] == 'c');
    CHECK(shape_ok(ql));
    ql_free(ql);
}

TEST(test_iter_delete_everything)
{
    for (int dir = 0; dir < 2; dir++) {
        quicklist *ql = ql_new(4);
        char buf[32];
        for (int i = 0; i < 50; i++) ql_push(ql, QL_TAIL, buf, (size_t)ll_to_str(buf, i));
        ql_iter it;
        ql_entry e;
        int seen = 0;
        ql_iter_init(&it, ql, dir);
        while (ql_next(&it, &e)) {
            CHECK(!e.s && e.v == (dir == QL_FWD ? seen : 49 - seen));
            seen++;
            ql_iter_del(&it, &e);
        }
        CHECK_EQ_INT(seen, 50);
        CHECK_EQ_INT(ql_count(ql), 0);
        CHECK(ql->head == NULL && ql->tail == NULL && ql->len == 0);
        ql_free(ql);
    }
}

/* Every xmalloc'd byte was given back (mem.c counts them). */
static size_t mem_base;
TEST(test_no_leaks) { CHECK_EQ_INT(mem_used(), mem_base); }

int main(void)
{
    mem_base = mem_used();
    RUN(test_push_pop_basic);
    RUN(test_fill_limits);
    RUN(test_adopt_listpack);
    RUN(test_iter_delete_everything);
    RUN(test_random_fills);
    RUN(test_no_leaks);
    return UNIT_DONE();
}
