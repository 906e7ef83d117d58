/* Unit tests for the sorted-set value layer (node/zset.c): ordering in both
 * encodings, ZADD flag semantics, conversion, ranks, range deletion, and
 * DUMP-body round trips plus hostile-input validation. */
#include "unit.h"
#include "config.h"
#include "mem.h"
#include "obj.h"
#include "buf.h"
#include "zset.h"
#include <math.h>
#include <stdlib.h>

static kv *new_zset(void)
{
    kv *e = xcalloc(1, sizeof(kv) + 1);
    e->type = OBJ_ZSET;
    int enc;
    void *val;
    zs_new_value(1, &enc, &val);
    e->enc = (uint32_t)enc;
    e->val = val;
    return e;
}

static void free_zset(kv *e)
{
    zset_type_ops.free_val(e->enc, e->val);
    xfree(e);
}

static int add(kv *e, double s, const char *m, int in, int *out, double *ns)
{
    return zs_add(e, s, m, strlen(m), in, out, ns);
}

/* Checks the whole order and that (score, member) strictly increases. */
static int ordered(kv *e)
{
    zs_iter it;
    zs_item a, b;
    int first = 1;
    size_t n = 0;
    char prev[256];
    size_t plen = 0;
    double ps = 0;
    for (zs_iter_at_rank(&it, e, 0, 0); zs_iter_valid(&it); zs_iter_next(&it), n++) {
        zs_iter_get(&it, &a);
        if (!first && (a.score < ps || (a.score == ps && zsl_cmp_str(prev, plen, a.m, a.len) >= 0)))
            return 0;
        first = 0;
        memcpy(prev, a.m, a.len);
        plen = a.len;
        ps = a.score;
    }
    (void)b;
    return n == zs_length(e);
}

TEST(test_add_flags)
{
    kv *e = new_zset();
    int out;
    double ns;
    CHECK(add(e, 1, "a", 0, &out, &ns) && (out & ZADD_OUT_ADDED));
    CHECK(add(e, 1, "a", 0, &out, &ns) && !(out & (ZADD_OUT_ADDED | ZADD_OUT_UPDATED)));
    CHECK(add(e, 5, "a", ZADD_IN_NX, &out, &ns) && (out & ZADD_OUT_NOP));
    CHECK(add(e, 5, "b", ZADD_IN_XX, &out, &ns) && (out & ZADD_OUT_NOP));
    CHECK(add(e, 0, "a", ZADD_IN_GT, &out, &ns) && (out & ZADD_OUT_NOP));
    CHECK(add(e, 3, "a", ZADD_IN_GT, &out, &ns) && (out & ZADD_OUT_UPDATED));
    CHECK(add(e, 2, "a", ZADD_IN_INCR, &out, &ns) && ns == 5);
    CHECK(add(e, INFINITY, "a", ZADD_IN_INCR, &out, &ns) && isinf(ns));
    CHECK(!add(e, -INFINITY, "a", ZADD_IN_INCR, &out, &ns) && (out & ZADD_OUT_NAN));
    double s;
    CHECK(zs_score(e, "a", 1, &s) && isinf(s) && s > 0);
    CHECK_EQ_INT(zs_length(e), 1);
    free_zset(e);
}

TEST(test_order_and_conversion)
{
    cfg.zset_max_listpack_entries = 16;
    kv *e = new_zset();
    int out;
    char m[32];
    for (int i = 0; i < 40; i++) {
        snprintf(m, sizeof(m), "%d", (i * 7919) % 40);   /* integer-looking members too */
        add(e, (double)((i * 31) % 5) / 2, m, 0, &out, NULL);
        CHECK(ordered(e));
        if (i == 15) CHECK_EQ_INT(e->enc, OBJ_ENC_LISTPACK);
    }
    CHECK_EQ_INT(e->enc, OBJ_ENC_SKIPLIST);
    CHECK_EQ_INT(zs_length(e), 40);
    CHECK_EQ_INT(zs_rank(e, "0", 1, 0, NULL), 0);
    CHECK_EQ_INT(zs_rank(e, "0", 1, 1, NULL), 39);
    CHECK_EQ_INT(zs_rank(e, "nope", 4, 0, NULL), -1);
    zrangespec r = {0.5, 1.5, 0, 1};
    unsigned long cnt = zs_count_score(e, &r);
    CHECK_EQ_INT(zs_del_score(e, &r), cnt);
    CHECK(ordered(e));
    CHECK_EQ_INT(zs_count_score(e, &r), 0);
    CHECK_EQ_INT(zs_del_rank(e, 0, 4), 5);
    CHECK(ordered(e));
    free_zset(e);
    cfg.zset_max_listpack_entries = 128;
}

TEST(test_listpack_scores)
{
    kv *e = new_zset();
    int out;
    double vals[] = {0.1, -0.0, 1e20, 123456789012345678.0, -INFINITY, INFINITY, 4.5, -7};
    const char *ms[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (int i = 0; i < 8; i++) add(e, vals[i], ms[i], 0, &out, NULL);
    CHECK_EQ_INT(e->enc, OBJ_ENC_LISTPACK);
    CHECK(ordered(e));
    for (int i = 0; i < 8; i++) {
        double s;
        CHECK(zs_score(e, ms[i], 1, &s) && s == vals[i]);
    }
    double s;
    zs_score(e, "b", 1, &s);
    CHECK(!signbit(s));   /* listpack drops the sign of zero, as Redis does */
    zs_convert_to_big(e);
    CHECK(ordered(e));
    CHECK_EQ_INT(zs_length(e), 8);
    free_zset(e);
}

TEST(test_lex)
{
    kv *e = new_zset();
    int out;
    const char *ms[] = {"a", "b", "c", "aa", "ab", "10", "2", "zz"};
    for (int i = 0; i < 8; i++) add(e, 0, ms[i], 0, &out, NULL);
    zlexrangespec r;
    CHECK(zlex_parse("[a", 2, "(b", 2, &r));
    CHECK_EQ_INT(zs_count_lex(e, &r), 3);
    zs_iter it;
    zs_item item;
    zs_iter_lex(&it, e, &r, 1);
    zs_iter_get(&it, &item);
    CHECK_MEM(item.m, item.len, "ab");
    CHECK_EQ_INT(zs_del_lex(e, &r), 3);
    CHECK_EQ_INT(zs_length(e), 5);
    zs_convert_to_big(e);
    CHECK(zlex_parse("-", 1, "+", 1, &r));
    CHECK_EQ_INT(zs_count_lex(e, &r), 5);
    free_zset(e);
}

static void roundtrip(kv *e)
{
    buf_t b;
    buf_init(&b);
    zset_type_ops.serialize(e->enc, e->val, &b);
    int enc;
    void *val;
    CHECK(zset_type_ops.deserialize(b.p, b.len, &enc, &val) == 0);
    CHECK_EQ_INT(enc, e->enc);
    kv *f = xcalloc(1, sizeof(kv) + 1);
    f->type = OBJ_ZSET;
    f->enc = (uint32_t)enc;
    f->val = val;
    CHECK_EQ_INT(zs_length(f), zs_length(e));
    CHECK(ordered(f));
    free_zset(f);
    /* Every truncation and many single-byte corruptions must be refused
     * or yield a valid zset — never crash (run under ASan). */
    for (size_t cut = 0; cut < b.len; cut++) {
        if (zset_type_ops.deserialize(b.p, cut, &enc, &val) == 0) zset_type_ops.free_val(enc, val);
    }
    srand(7);
    for (int k = 0; k < 2000; k++) {
        size_t pos = (size_t)rand() % b.len;
        char old = b.p[pos];
        b.p[pos] = (char)rand();
        if (zset_type_ops.deserialize(b.p, b.len, &enc, &val) == 0) {
            kv g = {.type = OBJ_ZSET, .enc = (uint32_t)enc, .val = val};
            CHECK(ordered(&g));
            zset_type_ops.free_val(enc, val);
        }
        b.p[pos] = old;
    }
    buf_free(&b);
}

TEST(test_serialize)
{
    kv *e = new_zset();
    int out;
    char m[32];
    for (int i = 0; i < 20; i++) {
        snprintf(m, sizeof(m), "m%d", i);
        add(e, i / 3.0, m, 0, &out, NULL);
    }
    roundtrip(e);
    for (int i = 0; i < 300; i++) {
        snprintf(m, sizeof(m), "%d", i);
        add(e, -i, m, 0, &out, NULL);
    }
    CHECK_EQ_INT(e->enc, OBJ_ENC_SKIPLIST);
    roundtrip(e);
    free_zset(e);
    int enc;
    void *val;
    CHECK(zset_type_ops.deserialize("", 0, &enc, &val) < 0);
    CHECK(zset_type_ops.deserialize("\0\0\0\0", 4, &enc, &val) < 0);   /* empty zset */
    CHECK(zset_type_ops.deserialize("\xff\xff\xff\xff", 4, &enc, &val) < 0);
}

int main(void)
{
    cfg.zset_max_listpack_entries = 128;
    cfg.zset_max_listpack_value = 64;
    RUN(test_add_flags);
    RUN(test_order_and_conversion);
    RUN(test_listpack_scores);
    RUN(test_lex);
    RUN(test_serialize);
    return UNIT_DONE();
}
