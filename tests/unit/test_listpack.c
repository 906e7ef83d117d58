/* Unit tests for node/listpack.c: integer/string encoding edge cases,
 * byte costs, a randomized run against an array model, big counts,
 * split/concat, and validation of corrupted blobs. */
#include "unit.h"
#include "listpack.h"
#include "mem.h"
#include "util.h"
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng = 0x1234567887654321ULL;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static int entry_is(const unsigned char *p, const char *s, size_t len)
{
    char buf[LP_INTBUF_SIZE];
    size_t l;
    const char *e = lp_get_str(p, &l, buf);
    return l == len && memcmp(e, s, len) == 0;
}

TEST(test_empty)
{
    unsigned char *lp = lp_new();
    CHECK_EQ_INT(lp_bytes(lp), 7);
    CHECK_EQ_INT(lp_length(lp), 0);
    CHECK(lp_first(lp) == NULL);
    CHECK(lp_last(lp) == NULL);
    CHECK(lp_seek(lp, 0) == NULL);
    CHECK(lp_seek(lp, -1) == NULL);
    CHECK(lp_seek(lp, LONG_MIN) == NULL && lp_seek(lp, LONG_MAX) == NULL);
    CHECK(lp_find(lp, lp_first(lp), "a", 1, 0) == NULL);
    CHECK(lp_validate(lp, lp_bytes(lp), 1, NULL));
    lp = lp_delete_range(lp, 0, 5);
    CHECK_EQ_INT(lp_length(lp), 0);
    lp_free(lp);
}

TEST(test_int_edges)
{
    /* Strings that must become integers, with their exact entry sizes. */
    struct { const char *s; size_t bytes; } ints[] = {
        { "0", 2 }, { "1", 2 }, { "127", 2 }, { "128", 3 }, { "-1", 3 },
        { "4095", 3 }, { "-4096", 3 }, { "4096", 4 }, { "-4097", 4 },
        { "32767", 4 }, { "-32768", 4 }, { "32768", 5 }, { "-32769", 5 },
        { "8388607", 5 }, { "-8388608", 5 }, { "8388608", 6 }, { "-8388609", 6 },
        { "2147483647", 6 }, { "-2147483648", 6 }, { "2147483648", 10 },
        { "-2147483649", 10 },
        { "9223372036854775807", 10 }, { "-9223372036854775808", 10 },
    };
    /* Strings that must stay strings. */
    const char *strs[] = {
        "", "-0", "01", "+1", " 1", "1 ", "-", "00", "1.0", "1e3", "0x10", "-01",
        "9223372036854775808", "-9223372036854775809", "12345678901234567890",
        "123456789012345678901", "99999999999999999999", "abc", "\xff\x00z",
    };
    unsigned char *lp = lp_new();
    size_t nints = sizeof(ints) / sizeof(ints[0]), nstrs = sizeof(strs) / sizeof(strs[0]);
    for (size_t i = 0; i < nints; i++) {
        size_t before = lp_bytes(lp), len = strlen(ints[i].s);
        CHECK_EQ_INT(lp_entry_size_str(ints[i].s, len), ints[i].bytes);
        lp = lp_append(lp, ints[i].s, len);
        CHECK_EQ_INT(lp_bytes(lp) - before, ints[i].bytes);
        unsigned char *p = lp_last(lp);
        long long v;
        CHECK(lp_is_int(p, &v));
        long long want;
        CHECK(str_to_ll(ints[i].s, len, &want) && v == want);
        CHECK(entry_is(p, ints[i].s, len));
        CHECK(lp_eq(p, ints[i].s, len));
    }
    for (size_t i = 0; i < nstrs; i++) {
        size_t len = i == nstrs - 1 ? 3 : strlen(strs[i]);
        lp = lp_append(lp, strs[i], len);
        unsigned char *p = lp_last(lp);
        CHECK(!lp_is_int(p, NULL));
        CHECK(entry_is(p, strs[i], len));
        CHECK(lp_eq(p, strs[i], len));
    }
    lp = lp_append_int(lp, INT64_MIN);
    lp = lp_append_int(lp, INT64_MAX);
    lp = lp_prepend_int(lp, -5);
    CHECK_EQ_INT(lp_length(lp), nints + nstrs + 3);
    long long v;
    CHECK(lp_is_int(lp_seek(lp, -2), &v) && v == INT64_MIN);
    CHECK(lp_is_int(lp_seek(lp, -1), &v) && v == INT64_MAX);
    CHECK(lp_is_int(lp_seek(lp, 0), &v) && v == -5);
    CHECK(entry_is(lp_seek(lp, -2), "-9223372036854775808", 20));
    /* "123" costs 2 bytes, as promised. */
    size_t b = lp_bytes(lp);
    lp = lp_append(lp, "123", 3);
    CHECK_EQ_INT(lp_bytes(lp) - b, 2);
    /* Walk backwards and forwards agree. */
    unsigned long n = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) n++;
    CHECK_EQ_INT(n, lp_length(lp));
    n = 0;
    for (unsigned char *p = lp_last(lp); p; p = lp_prev(lp, p)) n++;
    CHECK_EQ_INT(n, lp_length(lp));
    /* find compares ints by value, strings by bytes. */
    CHECK(lp_find(lp, lp_first(lp), "-32769", 6, 0) != NULL);
    CHECK(lp_find(lp, lp_first(lp), "-0", 2, 0) != NULL);
    CHECK(lp_find(lp, lp_first(lp), "0", 1, 0) == lp_seek(lp, 1));
    CHECK(lp_find(lp, lp_first(lp), "nope", 4, 0) == NULL);
    CHECK(lp_validate(lp, lp_bytes(lp), 1, NULL));
    lp_free(lp);
}

TEST(test_string_sizes)
{
    size_t lens[] = { 0, 1, 63, 64, 4095, 4096, 5000, 70000 };
    unsigned char *lp = lp_new();
    char *big = malloc(70000);
    for (size_t i = 0; i < 70000; i++) big[i] = (char)('a' + i % 26);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t l = lens[i], before = lp_bytes(lp);
        size_t hdr = l < 64 ? 1 : l < 4096 ? 2 : 5;
        size_t el = hdr + l;
        size_t bl = el < 128 ? 1 : el < 16384 ? 2 : el < 2097152 ? 3 : 4;
        lp = lp_append(lp, big, l);
        CHECK_EQ_INT(lp_bytes(lp) - before, hdr + l + bl);
        CHECK_EQ_INT(lp_entry_size_str(big, l), hdr + l + bl);
        CHECK_EQ_INT(lp_entry_bytes(lp_last(lp)), hdr + l + bl);
    }
    size_t k = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p), k++) CHECK(entry_is(p, big, lens[k]));
    k = sizeof(lens) / sizeof(lens[0]);
    for (unsigned char *p = lp_last(lp); p; p = lp_prev(lp, p)) CHECK(entry_is(p, big, lens[--k]));
    CHECK_EQ_INT(k, 0);
    /* Replace a big string with a small one and back. */
    unsigned char *p = lp_seek(lp, 6);
    lp = lp_replace(lp, &p, "x", 1);
    CHECK(entry_is(p, "x", 1));
    CHECK(entry_is(lp_next(lp, p), big, 70000));
    lp = lp_replace(lp, &p, big, 4096);
    CHECK(entry_is(p, big, 4096));
    CHECK(lp_validate(lp, lp_bytes(lp), 1, NULL));
    free(big);
    lp_free(lp);
}

/* ---- randomized model ---- */

typedef struct mstr { char *s; size_t len; } mstr;

static void rand_value(char *buf, size_t *len)
{
    static const char *edge[] = { "0", "-0", "01", "-1", "127", "128", "-4096", "-4097",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "",
        "12345678901234567890", "foo", "bar" };
    switch (rnd() % 6) {
    case 0: { const char *e = edge[rnd() % 15]; *len = strlen(e); memcpy(buf, e, *len); return; }
    case 1: *len = (size_t)ll_to_str(buf, (long long)(rnd() % 1000) - 500); return;
    case 2: *len = (size_t)ll_to_str(buf, (long long)rnd()); return;
    case 3: case 4: {
        *len = rnd() % 20;
        for (size_t i = 0; i < *len; i++) buf[i] = (char)('a' + rnd() % 3);
        return;
    }
    default: {
        *len = rnd() % 8 == 0 ? 4000 + rnd() % 600 : rnd() % 200;
        for (size_t i = 0; i < *len; i++) buf[i] = (char)(rnd() & 0xff);
        return;
    }
    }
}

static int model_matches(unsigned char *lp, mstr *m, size_t n)
{
    if (lp_length(lp) != n) return 0;
    size_t i = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p), i++)
        if (i >= n || !entry_is(p, m[i].s, m[i].len)) return 0;
    if (i != n) return 0;
    for (unsigned char *p = lp_last(lp); p; p = lp_prev(lp, p)) {
        if (i == 0) return 0;
        i--;
        if (!entry_is(p, m[i].s, m[i].len)) return 0;
    }
    return i == 0 && lp_validate(lp, lp_bytes(lp), 1, NULL);
}

TEST(test_random_vs_model)
{
    enum { CAP = 4000 };
    mstr *m = calloc(CAP, sizeof(mstr));
    size_t n = 0;
    char *buf = malloc(8192);
    unsigned char *lp = lp_new();
    for (int op = 0; op < 30000; op++) {
        size_t len;
        rand_value(buf, &len);
        int what = (int)(rnd() % 9);
        if (n > 300) what = 9;                  /* keep it small enough to be quick */
        if (what <= 1 || n == 0) {              /* append / prepend */
            int front = what == 1;
            lp = front ? lp_prepend(lp, buf, len) : lp_append(lp, buf, len);
            size_t pos = front ? 0 : n;
            memmove(m + pos + 1, m + pos, (n - pos) * sizeof(mstr));
            m[pos].s = malloc(len + 1); memcpy(m[pos].s, buf, len); m[pos].len = len;
            n++;
        } else if (what <= 4) {                 /* insert before/after a random entry */
            size_t at = rnd() % n;
            int after = what == 4;
            unsigned char *p = lp_seek(lp, (rnd() & 1) ? (long)at : (long)at - (long)n), *np;
            lp = lp_insert(lp, p, after ? LP_AFTER : LP_BEFORE, buf, len, &np);
            size_t pos = at + (after ? 1 : 0);
            CHECK(entry_is(np, buf, len));
            memmove(m + pos + 1, m + pos, (n - pos) * sizeof(mstr));
            m[pos].s = malloc(len + 1); memcpy(m[pos].s, buf, len); m[pos].len = len;
            n++;
        } else if (what == 5) {                 /* replace */
            size_t at = rnd() % n;
            unsigned char *p = lp_seek(lp, (long)at);
            lp = lp_replace(lp, &p, buf, len);
            CHECK(entry_is(p, buf, len));
            free(m[at].s);
            m[at].s = malloc(len + 1); memcpy(m[at].s, buf, len); m[at].len = len;
        } else if (what == 6) {                 /* delete one */
            size_t at = rnd() % n;
            unsigned char *p = lp_seek(lp, (long)at);
            lp = lp_delete(lp, &p);
            free(m[at].s);
            memmove(m + at, m + at + 1, (n - at - 1) * sizeof(mstr));
            n--;
            if (at < n) CHECK(p && entry_is(p, m[at].s, m[at].len));
            else CHECK(p == NULL);
        } else if (what == 7) {                 /* find with skip */
            size_t at = rnd() % n;
            unsigned skip = (unsigned)(rnd() % 3);
            unsigned char *p = lp_find(lp, lp_first(lp), m[at].s, m[at].len, skip);
            /* The model's answer: first index i % (skip+1) == 0 matching. */
            long want = -1;
            for (size_t i = 0; i < n; i += skip + 1)
                if (m[i].len == m[at].len && memcmp(m[i].s, m[at].s, m[i].len) == 0) { want = (long)i; break; }
            CHECK(want < 0 ? p == NULL : p == lp_seek(lp, want));
        } else if (what == 8) {                 /* delete a range */
            size_t at = rnd() % n, num = rnd() % 5;
            lp = lp_delete_range(lp, (long)at, num);
            if (num > n - at) num = n - at;
            for (size_t i = at; i < at + num; i++) free(m[i].s);
            memmove(m + at, m + at + num, (n - at - num) * sizeof(mstr));
            n -= num;
        } else {                                /* delete a lot from the front */
            size_t num = n / 2;
            unsigned char *p = lp_first(lp);
            lp = lp_delete_range_at(lp, p, num);
            for (size_t i = 0; i < num; i++) free(m[i].s);
            memmove(m, m + num, (n - num) * sizeof(mstr));
            n -= num;
        }
        CHECK_EQ_INT(lp_length(lp), n);
        if (n) {
            size_t at = rnd() % n;
            CHECK(entry_is(lp_seek(lp, (long)at), m[at].s, m[at].len));
            CHECK(entry_is(lp_seek(lp, (long)at - (long)n), m[at].s, m[at].len));
        }
        if (op % 50 == 0) CHECK(model_matches(lp, m, n));
    }
    CHECK(model_matches(lp, m, n));
    for (size_t i = 0; i < n; i++) free(m[i].s);
    free(m);
    free(buf);
    lp_free(lp);
}

TEST(test_pairs_find_skip)
{
    /* field,value pairs where values collide with field names. */
    unsigned char *lp = lp_new();
    lp = lp_append(lp, "a", 1); lp = lp_append(lp, "b", 1);
    lp = lp_append(lp, "b", 1); lp = lp_append(lp, "10", 2);
    lp = lp_append(lp, "10", 2); lp = lp_append(lp, "a", 1);
    unsigned char *p = lp_find(lp, lp_first(lp), "b", 1, 1);
    CHECK(p == lp_seek(lp, 2));
    p = lp_find(lp, lp_first(lp), "10", 2, 1);
    CHECK(p == lp_seek(lp, 4));
    CHECK(entry_is(lp_next(lp, p), "a", 1));
    CHECK(lp_find(lp, lp_first(lp), "zz", 2, 1) == NULL);
    /* Searching values only: start at the first value. */
    p = lp_find(lp, lp_seek(lp, 1), "a", 1, 1);
    CHECK(p == lp_seek(lp, 5));
    long long v;
    double d;
    CHECK(lp_get_ll(lp_seek(lp, 3), &v) && v == 10);
    CHECK(!lp_get_ll(lp_seek(lp, 0), &v));
    CHECK(lp_get_double(lp_seek(lp, 3), &d) && d == 10.0);
    lp = lp_append(lp, "1.5", 3);
    CHECK(lp_get_double(lp_last(lp), &d) && d == 1.5);
    CHECK(lp_cmp_str(lp_seek(lp, 3), "10", 2) == 0);
    CHECK(lp_cmp_str(lp_seek(lp, 3), "9", 1) < 0);     /* "10" < "9" as bytes */
    CHECK(lp_cmp_str(lp_seek(lp, 0), "aa", 2) < 0);
    CHECK(lp_cmp_str(lp_seek(lp, 0), "", 0) > 0);
    lp_free(lp);
}

TEST(test_self_alias)
{
    /* Arguments pointing into the listpack itself (LMOVE on one list). */
    unsigned char *lp = lp_new();
    mstr m[64];
    size_t n = 0;
    char big[300];
    memset(big, 'q', sizeof(big));
    lp = lp_append(lp, big, sizeof(big));
    m[n].s = big; m[n++].len = sizeof(big);
    lp = lp_append(lp, "hello", 5);
    m[n].s = "hello"; m[n++].len = 5;
    for (int i = 0; i < 20; i++) {
        lp_val e;
        lp_get(lp_first(lp), &e);
        lp = lp_append(lp, e.s, e.len);
        m[n++] = m[0];
        lp_get(lp_seek(lp, 1), &e);
        lp = lp_prepend(lp, e.s, e.len);
        memmove(m + 1, m, n * sizeof(mstr));
        m[0] = m[2];
        n++;
        unsigned char *p = lp_seek(lp, 1);
        lp_get(lp_last(lp), &e);
        lp = lp_replace(lp, &p, e.s, e.len);
        m[1] = m[n - 1];
    }
    CHECK(model_matches(lp, m, n));
    lp_free(lp);
}

TEST(test_big_count)
{
    /* Past 65534 entries the header count is "unknown" and gets recounted. */
    unsigned char *lp = lp_new(), *chunk = lp_new();
    for (int i = 0; i < 1000; i++) chunk = lp_append_int(chunk, i % 100);
    for (int i = 0; i < 70; i++) lp = lp_concat(lp, chunk);    /* fast under ASan */
    lp_free(chunk);
    CHECK_EQ_INT(lp_length(lp), 70000);
    unsigned long c;
    CHECK(lp_validate(lp, lp_bytes(lp), 1, &c) && c == 70000);
    CHECK(lp_is_int(lp_seek(lp, 69999), NULL));
    lp = lp_delete_range(lp, 0, 10000);
    CHECK_EQ_INT(lp_length(lp), 60000);         /* walked, then cached again */
    CHECK(lp_validate(lp, lp_bytes(lp), 1, &c) && c == 60000);
    long long v;
    CHECK(lp_is_int(lp_seek(lp, -1), &v) && v == 69999 % 100);
    lp = lp_delete_range(lp, -10, 100);
    CHECK_EQ_INT(lp_length(lp), 59990);
    lp_free(lp);
}

TEST(test_split_concat)
{
    unsigned char *a = lp_new();
    for (int i = 0; i < 10; i++) a = lp_append_int(a, i * 1000);
    unsigned char *b = lp_split(&a, lp_seek(a, 4));
    CHECK_EQ_INT(lp_length(a), 4);
    CHECK_EQ_INT(lp_length(b), 6);
    long long v;
    CHECK(lp_is_int(lp_last(a), &v) && v == 3000);
    CHECK(lp_is_int(lp_first(b), &v) && v == 4000);
    CHECK(lp_validate(a, lp_bytes(a), 1, NULL) && lp_validate(b, lp_bytes(b), 1, NULL));
    a = lp_concat(a, b);
    CHECK_EQ_INT(lp_length(a), 10);
    int i = 0;
    for (unsigned char *p = lp_first(a); p; p = lp_next(a, p), i++)
        CHECK(lp_is_int(p, &v) && v == i * 1000);
    CHECK(lp_validate(a, lp_bytes(a), 1, NULL));
    unsigned char *c = lp_split(&a, lp_first(a));   /* everything moves */
    CHECK_EQ_INT(lp_length(a), 0);
    CHECK_EQ_INT(lp_length(c), 10);
    unsigned char *d = lp_dup(c);
    CHECK(lp_bytes(d) == lp_bytes(c) && memcmp(c, d, lp_bytes(c)) == 0);
    lp_free(a); lp_free(b); lp_free(c); lp_free(d);
}

/* Walks a listpack that validated, every way the API allows. */
static void walk_all(unsigned char *lp)
{
    char buf[LP_INTBUF_SIZE];
    size_t len, n = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) { lp_get_str(p, &len, buf); n++; }
    for (unsigned char *p = lp_last(lp); p; p = lp_prev(lp, p)) { lp_get_str(p, &len, buf); n--; }
    CHECK_EQ_INT(n, 0);
    lp_find(lp, lp_first(lp), "x", 1, 1);
}

TEST(test_validate_corrupt)
{
    unsigned char *lp = lp_new();
    char big[5000];
    memset(big, 'z', sizeof(big));
    lp = lp_append(lp, "hello", 5);
    lp = lp_append(lp, "-123456", 7);
    lp = lp_append(lp, big, 100);
    lp = lp_append(lp, big, 4500);
    lp = lp_append(lp, "9223372036854775807", 19);
    lp = lp_append(lp, "7", 1);
    size_t n = lp_bytes(lp);
    CHECK(lp_validate(lp, n, 1, NULL));
    CHECK(!lp_validate(lp, n - 1, 0, NULL));
    CHECK(!lp_validate(lp, 3, 0, NULL));
    unsigned char *blob = malloc(n);
    /* Wrong count in the header. */
    memcpy(blob, lp, n); blob[4] = 5;
    CHECK(lp_validate(blob, n, 0, NULL) && !lp_validate(blob, n, 1, NULL));
    /* Unknown count is fine. */
    memcpy(blob, lp, n); blob[4] = 0xff; blob[5] = 0xff;
    CHECK(lp_validate(blob, n, 1, NULL));
    /* A string length running past the end. */
    memcpy(blob, lp, n); blob[6] = 0xBF;
    CHECK(!lp_validate(blob, n, 1, NULL));
    /* An unused encoding. */
    memcpy(blob, lp, n); blob[6] = 0xF7;
    CHECK(!lp_validate(blob, n, 1, NULL));
    /* Missing end byte. */
    memcpy(blob, lp, n); blob[n - 1] = 0;
    CHECK(!lp_validate(blob, n, 0, NULL));
    free(blob);
    /* Random single/multi byte corruption: whatever validates must be safe
     * to walk (ASan watches); whatever does not is rejected. */
    int accepted = 0;
    for (int t = 0; t < 3000; t++) {
        unsigned char *c = malloc(n);
        memcpy(c, lp, n);
        int flips = 1 + (int)(rnd() % 3);
        for (int f = 0; f < flips; f++) c[rnd() % n] = (unsigned char)rnd();
        if (lp_validate(c, n, 1, NULL)) {
            accepted++;
            unsigned char *own = lp_from_blob(c, n);
            walk_all(own);
            lp_free(own);
        }
        free(c);
    }
    CHECK(accepted > 0);        /* flips inside string bytes are harmless */
    /* Truncations. */
    for (size_t cut = 1; cut < n; cut += 7) {
        unsigned char *c = malloc(cut);
        memcpy(c, lp, cut);
        CHECK(!lp_validate(c, cut, 1, NULL));
        free(c);
    }
    lp_free(lp);
}

/* A listpack captured from Redis 7.0.15 (DUMP of an RPUSH'ed list, with
 * rdbcompression off): the same entries must encode byte for byte alike,
 * so DUMP payloads and RDB listpacks can be exchanged. The 70 'x' bytes of
 * the last entry are filled in below. */
static const unsigned char redis_head[] = {
    0x99, 0x00, 0x00, 0x00, 0x10, 0x00, 0x81, 0x61, 0x02, 0x7b, 0x01, 0xdf,
    0xff, 0x02, 0xd0, 0x00, 0x02, 0xcf, 0xff, 0x02, 0xf1, 0xff, 0x7f, 0x03,
    0xf1, 0x00, 0x80, 0x03, 0xf2, 0xff, 0xff, 0x7f, 0x04, 0xf3, 0xff, 0xff,
    0x7f, 0xff, 0x05, 0xf4, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x09, 0xf4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x09, 0xf4,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x09, 0x82, 0x30, 0x31,
    0x03, 0x82, 0x2d, 0x30, 0x03, 0x80, 0x01, 0xe0, 0x46,
};
static const unsigned char redis_tail[] = { 0x48, 0xff };

TEST(test_redis_format)
{
    unsigned char blob[256];
    size_t n = sizeof(redis_head) + 70 + sizeof(redis_tail);
    memcpy(blob, redis_head, sizeof(redis_head));
    memset(blob + sizeof(redis_head), 'x', 70);
    memcpy(blob + sizeof(redis_head) + 70, redis_tail, sizeof(redis_tail));
    unsigned long count = 0;
    CHECK(lp_validate(blob, n, 1, &count));
    CHECK_EQ_INT(count, 16);
    const char *vals[] = { "a", "123", "-1", "-4096", "4095", "32767", "-32768", "8388607",
        "-8388609", "2147483648", "9223372036854775807", "-9223372036854775808", "01", "-0", "" };
    char x[70];
    memset(x, 'x', sizeof(x));
    unsigned char *lp = lp_new();
    for (int i = 0; i < 15; i++) lp = lp_append(lp, vals[i], strlen(vals[i]));
    lp = lp_append(lp, x, sizeof(x));
    CHECK_EQ_INT(lp_bytes(lp), n);
    CHECK(memcmp(lp, blob, n) == 0);
    int i = 0;
    for (unsigned char *p = lp_first(blob); p; p = lp_next(blob, p), i++)
        CHECK(i < 15 ? entry_is(p, vals[i], strlen(vals[i])) : entry_is(p, x, sizeof(x)));
    lp_free(lp);
}

/* Every xmalloc'd byte was given back (mem.c counts them). */
static size_t mem_base;
TEST(test_no_leaks) { CHECK_EQ_INT(mem_used(), mem_base); }

int main(void)
{
    mem_base = mem_used();
    RUN(test_redis_format);
    RUN(test_empty);
    RUN(test_int_edges);
    RUN(test_string_sizes);
    RUN(test_random_vs_model);
    RUN(test_pairs_find_skip);
    RUN(test_self_alias);
    RUN(test_big_count);
    RUN(test_split_concat);
    RUN(test_validate_corrupt);
    RUN(test_no_leaks);
    return UNIT_DONE();
}
