/* Unit tests for node/dump.c: the CRC-64, the payload envelope (version
 * and checksum checks), and the robustness of every type's deserializer
 * against mutated and random bodies that carry a valid checksum (run the
 * ASan build, build/san/test_dump, to catch memory errors). */
#include "unit.h"
#include "config.h"
#include "dict.h"
#include "intset.h"
#include "listpack.h"
#include "mem.h"
#include "obj.h"
#include "quicklist.h"
#include "skiplist.h"
#include <stdint.h>
#include <stdlib.h>

/* dump.c's public functions (no header of its own yet). */
uint64_t dump_crc64(uint64_t crc, const void *p, size_t n);
int dump_serialize(const kv *e, buf_t *out);
int dump_verify(const char *p, size_t n);
int dump_deserialize(const char *p, size_t n, int *type, int *enc, void **val);

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static kv *mk_kv(int type, int enc, void *val)
{
    kv *e = xcalloc(1, sizeof(kv) + 2);
    e->type = (uint32_t)type;
    e->enc = (uint32_t)enc;
    e->val = val;
    return e;
}

static void free_kv(kv *e)
{
    if (e->val || e->enc == OBJ_ENC_INT) obj_ops(e->type)->free_val(e->enc, e->val);
    xfree(e);
}

/* Rewrites the trailer's checksum after the body was tampered with. */
static void fix_crc(char *p, size_t n)
{
    uint64_t crc = dump_crc64(0, p, n - 8);
    for (int i = 0; i < 8; i++) p[n - 8 + i] = (char)(crc >> (8 * i));
}

TEST(crc64_check_value)
{
    /* CRC-64/XZ check value. */
    CHECK(dump_crc64(0, "123456789", 9) == 0x995DC9BBDF1939FAULL);
    /* Incremental == one shot. */
    uint64_t a = dump_crc64(dump_crc64(0, "1234", 4), "56789", 5);
    CHECK(a == 0x995DC9BBDF1939FAULL);
    CHECK(dump_crc64(0, "", 0) == 0);
}

static int types_ready(int t)
{
    const obj_type_ops *o = obj_ops(t);
    return o && o->serialize && o->deserialize && o->free_val;
}

TEST(envelope_checks)
{
    if (!types_ready(OBJ_STRING)) return;
    kv *e = mk_kv(OBJ_STRING, 0, NULL);
    str_set_value(e, "hello world", 11);
    buf_t b;
    buf_init(&b);
    CHECK(dump_serialize(e, &b) == 0);
    CHECK(dump_verify(b.p, b.len));
    int t, enc;
    void *v;
    CHECK(dump_deserialize(b.p, b.len, &t, &enc, &v) == 0);
    CHECK(t == OBJ_STRING);
    kv *e2 = mk_kv(t, enc, v);
    char s1[24], s2[24];
    size_t l1, l2;
    const char *p1 = str_get(e, &l1, s1), *p2 = str_get(e2, &l2, s2);
    CHECK(l1 == l2 && memcmp(p1, p2, l1) == 0);
    free_kv(e2);

    /* Any flipped bit is caught by the checksum or the version. */
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b.p[i] ^= (char)(1 << bit);
            CHECK(dump_deserialize(b.p, b.len, &t, &enc, &v) == -1);
            b.p[i] ^= (char)(1 << bit);
        }
    }
    /* Truncations. */
    for (size_t n = 0; n < b.len; n++) CHECK(dump_deserialize(b.p, n, &t, &enc, &v) == -1);
    /* A checksummed payload with an unknown type byte is a format error. */
    b.p[0] = 9;
    fix_crc(b.p, b.len);
    CHECK(dump_deserialize(b.p, b.len, &t, &enc, &v) == -2);
    /* Wrong version with a right checksum: refused as a version error. */
    b.p[0] = OBJ_STRING;
    b.p[b.len - 10] = 7;
    fix_crc(b.p, b.len);
    CHECK(dump_deserialize(b.p, b.len, &t, &enc, &v) == -1);
    buf_free(&b);
    free_kv(e);
}

/* Sample values of each type in each encoding (only types whose ops exist). */
static int make_samples(kv **out, int max)
{
    int n = 0;
    char buf[64];
    if (types_ready(OBJ_STRING) && n + 2 <= max) {
        kv *e = mk_kv(OBJ_STRING, 0, NULL);
        str_set_value(e, "12345", 5);
        out[n++] = e;
        e = mk_kv(OBJ_STRING, 0, NULL);
        str_set_value(e, "some string value", 17);
        out[n++] = e;
    }
    if (types_ready(OBJ_LIST) && n + 2 <= max) {
        quicklist *ql = ql_new(-2);
        for (int i = 0; i < 300; i++) {
            int l = snprintf(buf, sizeof(buf), i % 3 ? "item-%d" : "%d", i);
            ql_push(ql, QL_TAIL, buf, (size_t)l);
        }
        out[n++] = mk_kv(OBJ_LIST, OBJ_ENC_QUICKLIST, ql);
        ql = ql_new(-2);
        ql_push(ql, QL_TAIL, "a", 1);
        ql_push(ql, QL_TAIL, "17", 2);
        out[n++] = mk_kv(OBJ_LIST, OBJ_ENC_QUICKLIST, ql);
    }
    if (types_ready(OBJ_SET) && n + 2 <= max) {
        intset *is = intset_new();
        for (int i = 0; i < 20; i++) is = intset_add(is, i * 1000003LL - 5, NULL);
        out[n++] = mk_kv(OBJ_SET, OBJ_ENC_INTSET, is);
        dict *d = dict_new(DICT_SET);
        for (int i = 0; i < 200; i++) {
            int l = snprintf(buf, sizeof(buf), "m%d", i);
            dict_add(d, buf, (size_t)l);
        }
        out[n++] = mk_kv(OBJ_SET, OBJ_ENC_HT, d);
    }
    if (types_ready(OBJ_ZSET) && n + 2 <= max) {
        unsigned char *lp = lp_new();
        for (int i = 0; i < 5; i++) {
            int l = snprintf(buf, sizeof(buf), "z%d", i);
            lp = lp_append(lp, buf, (size_t)l);
            l = snprintf(buf, sizeof(buf), "%d.5", i);
            lp = lp_append(lp, buf, (size_t)l);
        }
        out[n++] = mk_kv(OBJ_ZSET, OBJ_ENC_LISTPACK, lp);
        zset_big *z = zsb_new();
        for (int i = 0; i < 200; i++) {
            int l = snprintf(buf, sizeof(buf), "member:%d", i);
            zsb_set(z, buf, (size_t)l, i * 0.25 - 3);
        }
        out[n++] = mk_kv(OBJ_ZSET, OBJ_ENC_SKIPLIST, z);
    }
    if (types_ready(OBJ_HASH) && n + 2 <= max) {
        unsigned char *lp = lp_new();
        for (int i = 0; i < 5; i++) {
            int l = snprintf(buf, sizeof(buf), "f%d", i);
            lp = lp_append(lp, buf, (size_t)l);
            l = snprintf(buf, sizeof(buf), "%d", i * 7);
            lp = lp_append(lp, buf, (size_t)l);
        }
        out[n++] = mk_kv(OBJ_HASH, OBJ_ENC_LISTPACK, lp);
        dict *d = dict_new(DICT_BYTES);
        for (int i = 0; i < 600; i++) {   /* above hash-max-listpack-entries */
            int l = snprintf(buf, sizeof(buf), "field%d", i);
            dict_upsert_bytes(d, buf, (size_t)l, "value", 5, NULL);
        }
        out[n++] = mk_kv(OBJ_HASH, OBJ_ENC_HT, d);
    }
    return n;
}

/* Element count of a value, whatever its encoding. */
static long long val_len(const kv *e)
{
    switch (e->enc) {
    case OBJ_ENC_QUICKLIST: return (long long)ql_count(e->val);
    case OBJ_ENC_LISTPACK: return (long long)lp_length(e->val);
    case OBJ_ENC_INTSET: return intset_len(e->val);
    case OBJ_ENC_HT: return (long long)dict_size(e->val);
    case OBJ_ENC_SKIPLIST: return (long long)zsb_len(e->val);
    }
    char tmp[24];
    size_t l;
    str_get(e, &l, tmp);
    return (long long)l;
}

TEST(roundtrip_all_samples)
{
    kv *s[16];
    int n = make_samples(s, 16);
    for (int i = 0; i < n; i++) {
        buf_t a, b;
        buf_init(&a);
        buf_init(&b);
        CHECK(dump_serialize(s[i], &a) == 0);
        int t, enc;
        void *v;
        CHECK(dump_deserialize(a.p, a.len, &t, &enc, &v) == 0);
        CHECK(t == (int)s[i]->type);
        kv *e2 = mk_kv(t, enc, v);
        /* Same size; strings are byte-identical (aggregates may come back
         * in another internal order, e.g. a dict rebuilt). */
        CHECK(val_len(e2) == val_len(s[i]));
        if (val_len(e2) != val_len(s[i])) fprintf(stderr, "  sample %d type %d enc %d->%d len %lld->%lld\n", i, (int)s[i]->type, (int)s[i]->enc, enc, val_len(s[i]), val_len(e2));
        CHECK(dump_serialize(e2, &b) == 0);
        if (t == OBJ_STRING) CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
        free_kv(e2);
        buf_free(&a);
        buf_free(&b);
    }
    for (int i = 0; i < n; i++) free_kv(s[i]);
}

/* Mutated bodies with a valid checksum: deserialize must either refuse
 * or return a value that can be re-serialized and freed. */
TEST(fuzz_mutated_bodies)
{
    kv *s[16];
    int n = make_samples(s, 16);
    for (int i = 0; i < n; i++) {
        buf_t a;
        buf_init(&a);
        dump_serialize(s[i], &a);
        char *m = xmalloc(a.len + 64);
        for (int round = 0; round < 3000; round++) {
            size_t len = a.len;
            memcpy(m, a.p, len);
            int muts = 1 + (int)(rnd() % 4);
            for (int k = 0; k < muts; k++) {
                size_t body = len - 12;
                if (body == 0) break;
                size_t pos = 2 + rnd() % body;
                switch (rnd() % 4) {
                case 0: m[pos] ^= (char)(1 << (rnd() % 8)); break;
                case 1: m[pos] = (char)rnd(); break;
                case 2: m[pos] = (char)(rnd() % 2 ? 0xFF : 0); break;
                case 3: /* truncate the body */
                    memmove(m + pos, m + len - 10, 10);
                    len = pos + 10;
                    break;
                }
            }
            fix_crc(m, len);
            int t, enc;
            void *v;
            if (dump_deserialize(m, len, &t, &enc, &v) == 0) {
                kv *e2 = mk_kv(t, enc, v);
                buf_t b;
                buf_init(&b);
                dump_serialize(e2, &b);
                buf_free(&b);
                free_kv(e2);
            }
        }
        xfree(m);
        buf_free(&a);
    }
    for (int i = 0; i < n; i++) free_kv(s[i]);
}

/* Entirely random bodies for every type byte. */
TEST(fuzz_random_bodies)
{
    char m[600];
    for (int round = 0; round < 20000; round++) {
        size_t body = rnd() % 500;
        m[0] = (char)(rnd() % OBJ_TYPE_COUNT);
        m[1] = 1;
        for (size_t k = 0; k < body; k++) m[2 + k] = (char)(rnd() % 3 ? rnd() % 16 : rnd());
        size_t len = 2 + body + 10;
        m[len - 10] = 1;
        m[len - 9] = 0;
        fix_crc(m, len);
        int t, enc;
        void *v;
        if (dump_deserialize(m, len, &t, &enc, &v) == 0) {
            kv *e2 = mk_kv(t, enc, v);
            free_kv(e2);
        }
    }
}

int main(void)
{
    char *argv[] = {"test_dump", NULL};
    char err[256];
    config_load_args(1, argv, err, sizeof(err));
    RUN(crc64_check_value);
    RUN(envelope_checks);
    RUN(roundtrip_all_samples);
    RUN(fuzz_mutated_bodies);
    RUN(fuzz_random_bodies);
    return UNIT_DONE();
}
