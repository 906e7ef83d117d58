/* t_hll.c: HyperLogLog — PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
 *
 * An HLL is a plain string value in Redis's documented layout, so counts
 * and bytes match Redis for the same inputs and GET/SET/DUMP move HLLs
 * around like any string:
 *
 *   header (16 bytes): "HYLL", encoding (0 dense, 1 sparse), 3 unused
 *   bytes, then the cached cardinality as 8 little-endian bytes whose top
 *   bit set means "stale".
 *   dense:  16384 registers of 6 bits, register i at bit i*6, least
 *           significant bits first.
 *   sparse: run-length opcodes — ZERO 00xxxxxx (1..64 zero registers),
 *           XZERO 01xxxxxx yyyyyyyy (1..16384 zero registers), VAL
 *           1vvvvvxx (1..4 registers of value 1..32).
 *
 * An element's 64-bit MurmurHash64A (seed 0xadc83b19) picks the register
 * with its low 14 bits; the register keeps the maximum over its elements
 * of 1 + the number of trailing zero bits of the remaining 50 bits. The
 * cardinality comes from the register histogram with Ertl's improved
 * estimator ("New cardinality estimation algorithms for HyperLogLog
 * sketches", 2017), as Redis 7 does.
 *
 * Sparse updates split the covering opcode and then merge equal adjacent
 * VAL opcodes in a short window after the change — the same canonical
 * steps Redis takes, which keeps the bytes identical. A sparse HLL turns
 * dense when a register needs a value above 32 or the string would grow
 * past hll-sparse-max-bytes. Stored bytes may come from SET, so every
 * reader validates the opcodes and never reads or writes out of bounds. */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "mem.h"
#include "obj.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* From t_string.c (obj.h belongs to the core; see the report). */
sstr *str_new_raw(size_t len);

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_P_MASK (HLL_REGISTERS - 1)
#define HLL_BITS 6
#define HLL_REG_MAX ((1 << HLL_BITS) - 1)
#define HLL_HDR 16
#define HLL_DENSE_SIZE (HLL_HDR + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_DENSE 0
#define HLL_SPARSE 1
#define HLL_ENC_BYTE 4
#define HLL_CARD_BYTE 8
#define HLL_ALPHA_INF 0.721347520444481703680 /* 1 / (2 ln 2) */

#define SP_IS_ZERO(p) (((*(p)) & 0xc0) == 0x00)
#define SP_IS_XZERO(p) (((*(p)) & 0xc0) == 0x40)
#define SP_IS_VAL(p) ((*(p)) & 0x80)
#define SP_ZERO_LEN(p) (((*(p)) & 0x3f) + 1)
#define SP_XZERO_LEN(p) (((((*(p)) & 0x3f) << 8) | (*((p) + 1))) + 1)
#define SP_VAL_VALUE(p) ((((*(p)) >> 2) & 0x1f) + 1)
#define SP_VAL_LEN(p) (((*(p)) & 0x3) + 1)
#define SP_VAL_MAX_VALUE 32
#define SP_VAL_MAX_LEN 4
#define SP_ZERO_MAX_LEN 64

#define ERR_NOT_HLL "WRONGTYPE Key is not a valid HyperLogLog string value."
#define ERR_INVALID_HLL "INVALIDOBJ Corrupted HLL object detected"

static uint8_t sp_val(int value, int len) { return (uint8_t)(0x80 | ((value - 1) << 2) | (len - 1)); }
static uint8_t sp_zero(int len) { return (uint8_t)(len - 1); }
static void sp_xzero(uint8_t *p, int len)
{
    p[0] = (uint8_t)(0x40 | ((len - 1) >> 8));
    p[1] = (uint8_t)((len - 1) & 0xff);
}

/* ---- hashing ---------------------------------------------------------- */

/* MurmurHash64A (Austin Appleby, public domain), blocks read little-endian. */
static uint64_t murmur64a(const unsigned char *p, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = seed ^ ((uint64_t)len * m);
    size_t nblocks = len / 8;
    for (size_t b = 0; b < nblocks; b++, p += 8) {
        uint64_t k = 0;
        for (int i = 7; i >= 0; i--) k = (k << 8) | p[i];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    size_t tail = len & 7;
    if (tail) {
        for (size_t i = tail; i-- > 0;) h ^= (uint64_t)p[i] << (8 * i);
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* Register index and its candidate value (1..51) for an element. */
static int hll_pattern(const unsigned char *ele, size_t len, long *index)
{
    uint64_t h = murmur64a(ele, len, 0xadc83b19ULL);
    *index = (long)(h & HLL_P_MASK);
    h >>= HLL_P;
    h |= 1ULL << HLL_Q; /* bounds the count at Q + 1 */
    return __builtin_ctzll(h) + 1;
}

/* ---- dense registers -------------------------------------------------- */

/* A register spans at most two bytes; when it starts at bit 0..2 of a byte
 * it fits in that byte alone, and the next byte is not touched (for the
 * last register there is none). */
static int dense_get(const uint8_t *r, long i)
{
    unsigned long byte = (unsigned long)i * HLL_BITS / 8, fb = ((unsigned long)i * HLL_BITS) & 7;
    unsigned v = (unsigned)r[byte] >> fb;
    if (fb > 8 - HLL_BITS) v |= (unsigned)r[byte + 1] << (8 - fb);
    return (int)(v & HLL_REG_MAX);
}

static void dense_set(uint8_t *r, long i, int v)
{
    unsigned long byte = (unsigned long)i * HLL_BITS / 8, fb = ((unsigned long)i * HLL_BITS) & 7;
    r[byte] &= (uint8_t)~(HLL_REG_MAX << fb);
    r[byte] |= (uint8_t)(v << fb);
    if (fb > 8 - HLL_BITS) {
        r[byte + 1] &= (uint8_t)~(HLL_REG_MAX >> (8 - fb));
        r[byte + 1] |= (uint8_t)(v >> (8 - fb));
    }
}

static int dense_update(uint8_t *r, long i, int count)
{
    if (dense_get(r, i) >= count) return 0;
    dense_set(r, i, count);
    return 1;
}

/* ---- objects ---------------------------------------------------------- */

static uint8_t *hll_bytes(kv *e) { return (uint8_t *)((sstr *)e->val)->data; }

static void hll_invalidate_cache(kv *e) { hll_bytes(e)[HLL_CARD_BYTE + 7] |= 0x80; }

/* A new, empty sparse HLL: one XZERO covering every register. */
static sstr *hll_new(void)
{
    sstr *s = str_new_raw(HLL_HDR + 2);
    memcpy(s->data, "HYLL", 4);
    s->data[HLL_ENC_BYTE] = HLL_SPARSE;
    sp_xzero((uint8_t *)s->data + HLL_HDR, HLL_REGISTERS);
    return s;
}

/* Checks that a key holds something that looks like an HLL; replies
 * the matching error and returns -1 otherwise. */
static int hll_check(client *c, kv *e)
{
    if (e->type != OBJ_STRING) {
        reply_wrongtype(c);
        return -1;
    }
    const sstr *s = e->val;
    if (e->enc != OBJ_ENC_RAW || s->len < HLL_HDR || memcmp(s->data, "HYLL", 4) != 0 ||
        (uint8_t)s->data[HLL_ENC_BYTE] > HLL_SPARSE ||
        ((uint8_t)s->data[HLL_ENC_BYTE] == HLL_DENSE && s->len != HLL_DENSE_SIZE)) {
        reply_error(c, ERR_NOT_HLL);
        return -1;
    }
    return 0;
}

/* Walks sparse opcodes. Returns the opcode length (1 or 2) and sets
 * *zero / *value / *run, or 0 for a truncated XZERO. */
static int sp_next(const uint8_t *p, const uint8_t *end, int *value, long *run)
{
    if (SP_IS_ZERO(p)) { *value = 0; *run = SP_ZERO_LEN(p); return 1; }
    if (SP_IS_VAL(p)) { *value = SP_VAL_VALUE(p); *run = SP_VAL_LEN(p); return 1; }
    if (p + 1 >= end) return 0;
    *value = 0;
    *run = SP_XZERO_LEN(p);
    return 2;
}

/* Rewrites a sparse HLL as dense (cache bytes kept). -1 if the opcodes
 * don't cover exactly the 16384 registers. */
static int hll_to_dense(kv *e)
{
    sstr *s = e->val;
    if (s->data[HLL_ENC_BYTE] == HLL_DENSE) return 0;
    sstr *d = str_new_raw(HLL_DENSE_SIZE);
    memcpy(d->data, s->data, HLL_HDR);
    d->data[HLL_ENC_BYTE] = HLL_DENSE;
    uint8_t *regs = (uint8_t *)d->data + HLL_HDR;
    const uint8_t *p = (uint8_t *)s->data + HLL_HDR, *end = (uint8_t *)s->data + s->len;
    long idx = 0;
    while (p < end) {
        int v, n;
        long run;
        if (!(n = sp_next(p, end, &v, &run))) break;
        if (idx + run > HLL_REGISTERS) break;
        if (v)
            for (long k = 0; k < run; k++) dense_set(regs, idx + k, v);
        idx += run;
        p += n;
    }
    if (idx != HLL_REGISTERS || p != end) {
        sstr_free(d);
        return -1;
    }
    sstr_free(s);
    e->val = d;
    return 0;
}

/* Raises register `index` of a sparse HLL to `count`. Returns 1 if it
 * changed, 0 if not, -1 for corrupt data. May turn the HLL dense. */
static int sparse_set(kv *e, long index, int count)
{
    if (count > SP_VAL_MAX_VALUE) goto promote;
    sstr *s = e->val;
    uint32_t len = s->len;
    /* The worst split (XZERO -> XZERO VAL XZERO) adds 3 bytes: make room
     * first so the pointers below stay valid. */
    if (sstr_cap(s) < (size_t)len + 3) {
        s = sstr_grow(s, (size_t)len + 3);
        s->len = len;
        e->val = s;
    }
    uint8_t *base = (uint8_t *)s->data + HLL_HDR, *end = (uint8_t *)s->data + len;
    uint8_t *p = base, *prev = NULL;
    long first = 0, run = 0;
    int value = 0, oplen = 0;
    /* Find the opcode covering the register. */
    while (p < end) {
        if (!(oplen = sp_next(p, end, &value, &run))) return -1;
        if (index <= first + run - 1) break;
        prev = p;
        p += oplen;
        first += run;
    }
    if (p >= end) return -1;
    int is_val = SP_IS_VAL(p) != 0;
    if (is_val) {
        if (value >= count) return 0;
        if (run == 1) { *p = sp_val(count, 1); goto updated; }
    } else if (oplen == 1 && run == 1) {
        *p = sp_val(count, 1);
        goto updated;
    }
    {
        /* Split the opcode into [before] VAL(count) [after]. */
        uint8_t seq[5], *n = seq;
        long last = first + run - 1;
        long before = index - first, after = last - index;
        if (before) {
            if (is_val) *n++ = sp_val(value, (int)before);
            else if (before > SP_ZERO_MAX_LEN) { sp_xzero(n, (int)before); n += 2; }
            else *n++ = sp_zero((int)before);
        }
        *n++ = sp_val(count, 1);
        if (after) {
            if (is_val) *n++ = sp_val(value, (int)after);
            else if (after > SP_ZERO_MAX_LEN) { sp_xzero(n, (int)after); n += 2; }
            else *n++ = sp_zero((int)after);
        }
        int seqlen = (int)(n - seq), delta = seqlen - oplen;
        if (delta > 0 && (long long)len + delta > cfg.hll_sparse_max_bytes) goto promote;
        uint8_t *next = p + oplen;
        if (delta && next < end) memmove(next + delta, next, (size_t)(end - next));
        memcpy(p, seq, (size_t)seqlen);
        end += delta;
        s->len = (uint32_t)((long)len + delta);
    }
updated:
    /* Merge equal adjacent VAL opcodes in a window of 5 opcodes starting
     * just before the change. */
    p = prev ? prev : base;
    for (int scan = 5; p < end && scan-- > 0;) {
        if (SP_IS_XZERO(p)) { p += 2; continue; }
        if (SP_IS_ZERO(p)) { p++; continue; }
        if (p + 1 < end && SP_IS_VAL(p + 1) && SP_VAL_VALUE(p) == SP_VAL_VALUE(p + 1)) {
            int l = SP_VAL_LEN(p) + SP_VAL_LEN(p + 1);
            if (l <= SP_VAL_MAX_LEN) {
                p[1] = sp_val(SP_VAL_VALUE(p), l);
                memmove(p, p + 1, (size_t)(end - p - 1));
                end--;
                s->len--;
                continue; /* try the merged opcode with its new neighbour */
            }
        }
        p++;
    }
    hll_invalidate_cache(e);
    return 1;
promote:
    if (hll_to_dense(e)) return -1;
    return dense_update(hll_bytes(e) + HLL_HDR, index, count);
}

static int hll_set(kv *e, long index, int count)
{
    uint8_t *b = hll_bytes(e);
    if (b[HLL_ENC_BYTE] == HLL_DENSE) return dense_update(b + HLL_HDR, index, count);
    return sparse_set(e, index, count);
}

static int hll_add(kv *e, const char *ele, size_t len)
{
    long index;
    int count = hll_pattern((const unsigned char *)ele, len, &index);
    return hll_set(e, index, count);
}

/* max[i] = MAX(max[i], register i). -1 for corrupt sparse data. */
static int hll_merge(uint8_t *max, const sstr *s)
{
    const uint8_t *b = (const uint8_t *)s->data;
    if (b[HLL_ENC_BYTE] == HLL_DENSE) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            int v = dense_get(b + HLL_HDR, i);
            if (v > max[i]) max[i] = (uint8_t)v;
        }
        return 0;
    }
    const uint8_t *p = b + HLL_HDR, *end = b + s->len;
    long idx = 0;
    while (p < end) {
        int v, n;
        long run;
        if (!(n = sp_next(p, end, &v, &run))) return -1;
        if (idx + run > HLL_REGISTERS) return -1;
        for (long k = 0; v && k < run; k++)
            if (v > max[idx + k]) max[idx + k] = (uint8_t)v;
        idx += run;
        p += n;
    }
    return idx == HLL_REGISTERS ? 0 : -1;
}

/* ---- estimation ------------------------------------------------------- */

static double hll_tau(double x)
{
    if (x == 0. || x == 1.) return 0.;
    double zp, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (zp != z);
    return z / 3;
}

static double hll_sigma(double x)
{
    if (x == 1.) return INFINITY;
    double zp, y = 1, z = x;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (zp != z);
    return z;
}

/* Ertl's estimator over the histogram of register values. The float
 * operations keep Redis's order so results match it exactly. */
static uint64_t hll_estimate(const int *histo)
{
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma(histo[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

/* Cardinality of one stored HLL; *invalid set for corrupt sparse data. */
static uint64_t hll_count(const sstr *s, int *invalid)
{
    int histo[64] = {0};
    const uint8_t *b = (const uint8_t *)s->data;
    if (b[HLL_ENC_BYTE] == HLL_DENSE) {
        for (long i = 0; i < HLL_REGISTERS; i++) histo[dense_get(b + HLL_HDR, i)]++;
    } else {
        const uint8_t *p = b + HLL_HDR, *end = b + s->len;
        long idx = 0;
        while (p < end) {
            int v, n;
            long run;
            if (!(n = sp_next(p, end, &v, &run))) break;
            histo[v] += (int)run;
            idx += run;
            p += n;
            if (idx > HLL_REGISTERS) break; /* keeps the counters bounded */
        }
        if (idx != HLL_REGISTERS || p != end) *invalid = 1;
    }
    return hll_estimate(histo);
}

static uint64_t hll_count_raw(const uint8_t *max)
{
    int histo[64] = {0};
    for (long i = 0; i < HLL_REGISTERS; i++) histo[max[i]]++;
    return hll_estimate(histo);
}

/* ---- commands --------------------------------------------------------- */

static void pfadd_cmd(client *c)
{
    kv *e = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    long long updated = 0;
    if (!e) {
        e = db_add(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, OBJ_ENC_RAW, hll_new());
        updated++;
    } else if (hll_check(c, e)) {
        return;
    }
    for (int j = 2; j < c->argc; j++) {
        int r = hll_add(e, ARG(c, j), ARGLEN(c, j));
        if (r < 0) {
            srv.dirty += updated; /* what was already changed still replicates */
            reply_error(c, ERR_INVALID_HLL);
            return;
        }
        updated += r;
    }
    if (updated) {
        hll_invalidate_cache(e);
        srv.dirty += updated;
    }
    reply_int(c, updated ? 1 : 0);
}

static void pfcount_cmd(client *c)
{
    if (c->argc > 2) {
        /* Several keys: count the union, nothing cached. */
        uint8_t *max = xcalloc(1, HLL_REGISTERS);
        for (int j = 1; j < c->argc; j++) {
            kv *e = db_lookup_read(c->db, ARG(c, j), ARGLEN(c, j));
            if (!e) continue;
            if (hll_check(c, e)) goto out;
            if (hll_merge(max, e->val)) {
                reply_error(c, ERR_INVALID_HLL);
                goto out;
            }
        }
        reply_int(c, (long long)hll_count_raw(max));
    out:
        xfree(max);
        return;
    }
    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!e) { reply_int(c, 0); return; }
    if (hll_check(c, e)) return;
    uint8_t *card = hll_bytes(e) + HLL_CARD_BYTE;
    uint64_t n = 0;
    if (!(card[7] & 0x80)) {
        for (int i = 7; i >= 0; i--) n = (n << 8) | card[i];
    } else {
        int invalid = 0;
        n = hll_count(e->val, &invalid);
        if (invalid) {
            reply_error(c, ERR_INVALID_HLL);
            return;
        }
        for (int i = 0; i < 8; i++) card[i] = (uint8_t)(n >> (8 * i));
        /* Storing the cache changes the value: replicate it like Redis. */
        srv.dirty++;
        cmd_rewrite_propagated(c, c->argc, c->argv, c->argvlen);
    }
    reply_int(c, (long long)n);
}

static void pfmerge_cmd(client *c)
{
    uint8_t *max = xcalloc(1, HLL_REGISTERS);
    int use_dense = 0;
    /* The destination's own registers are part of the union. */
    for (int j = 1; j < c->argc; j++) {
        kv *e = db_lookup_read(c->db, ARG(c, j), ARGLEN(c, j));
        if (!e) continue;
        if (hll_check(c, e)) goto out;
        if (hll_bytes(e)[HLL_ENC_BYTE] == HLL_DENSE) use_dense = 1;
        if (hll_merge(max, e->val)) {
            reply_error(c, ERR_INVALID_HLL);
            goto out;
        }
    }
    kv *d = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!d) d = db_add(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, OBJ_ENC_RAW, hll_new());
    if (use_dense && hll_to_dense(d)) {
        reply_error(c, ERR_INVALID_HLL);
        goto out;
    }
    for (long i = 0; i < HLL_REGISTERS; i++) {
        if (max[i] && hll_set(d, i, max[i]) < 0) {
            reply_error(c, ERR_INVALID_HLL);
            goto out;
        }
    }
    hll_invalidate_cache(d);
    srv.dirty++;
    reply_ok(c);
out:
    xfree(max);
}

/* "Z:n" XZERO, "z:n" ZERO, "v:value,len" VAL, space separated. */
static void pfdebug_decode(client *c, kv *e)
{
    const sstr *s = e->val;
    const uint8_t *p = (const uint8_t *)s->data + HLL_HDR, *end = (const uint8_t *)s->data + s->len;
    buf_t out;
    buf_init(&out);
    while (p < end) {
        int v, n;
        long run;
        if (!(n = sp_next(p, end, &v, &run))) break;
        if (SP_IS_VAL(p)) buf_printf(&out, "v:%d,%ld ", v, run);
        else buf_printf(&out, "%s:%ld ", n == 2 ? "Z" : "z", run);
        p += n;
    }
    size_t len = out.len;
    if (len && out.p[len - 1] == ' ') len--;
    reply_bulk(c, out.p ? out.p : "", len);
    buf_free(&out);
}

static void pfdebug_cmd(client *c)
{
    const char *sub = ARG(c, 1);
    size_t sl = ARGLEN(c, 1);
    kv *e = db_lookup_write(c->db, ARG(c, 2), ARGLEN(c, 2));
    if (!e) { reply_error(c, "ERR The specified key does not exist"); return; }
    if (hll_check(c, e)) return;
    int dense = hll_bytes(e)[HLL_ENC_BYTE] == HLL_DENSE;
    if (arg_is(sub, sl, "getreg")) {
        if (!dense) {
            if (hll_to_dense(e)) { reply_error(c, ERR_INVALID_HLL); return; }
            srv.dirty++; /* the encoding change replicates */
        }
        const uint8_t *regs = hll_bytes(e) + HLL_HDR;
        reply_array(c, HLL_REGISTERS);
        for (long i = 0; i < HLL_REGISTERS; i++) reply_int(c, dense_get(regs, i));
    } else if (arg_is(sub, sl, "decode")) {
        if (dense) { reply_error(c, "ERR HLL encoding is not sparse"); return; }
        pfdebug_decode(c, e);
    } else if (arg_is(sub, sl, "encoding")) {
        reply_status(c, dense ? "dense" : "sparse");
    } else if (arg_is(sub, sl, "todense")) {
        if (!dense) {
            if (hll_to_dense(e)) { reply_error(c, ERR_INVALID_HLL); return; }
            srv.dirty++;
        }
        reply_int(c, dense ? 0 : 1);
    } else {
        reply_errorf(c, "ERR Unknown PFDEBUG subcommand '%.*s'", (int)(sl > 128 ? 128 : sl), sub);
    }
}

/* PFSELFTEST: register packing round trips, and sparse vs dense giving
 * the same registers and count for the same elements. */
static void pfselftest_cmd(client *c)
{
    uint8_t *regs = xcalloc(1, HLL_DENSE_SIZE - HLL_HDR);
    uint8_t *ref = xmalloc(HLL_REGISTERS);
    uint64_t seed = (uint64_t)time_us();
    const char *fail = NULL;
    for (int round = 0; round < 64 && !fail; round++) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            ref[i] = (uint8_t)((seed >> 33) & HLL_REG_MAX);
            dense_set(regs, i, ref[i]);
        }
        for (long i = 0; i < HLL_REGISTERS; i++)
            if (dense_get(regs, i) != ref[i]) { fail = "TESTFAILED Register error"; break; }
    }
    kv *sp = xcalloc(1, sizeof(kv)), *dn = xcalloc(1, sizeof(kv));
    sp->type = dn->type = OBJ_STRING;
    sp->enc = dn->enc = OBJ_ENC_RAW;
    sp->val = hll_new();
    dn->val = hll_new();
    hll_to_dense(dn);
    long long saved = cfg.hll_sparse_max_bytes;
    cfg.hll_sparse_max_bytes = 1 << 20; /* keep `sp` sparse as long as values allow */
    for (int i = 0; i < 2000 && !fail; i++) {
        char ele[64];
        int n = snprintf(ele, sizeof(ele), "selftest:%d:%llu", i, (unsigned long long)seed);
        if (hll_add(sp, ele, (size_t)n) < 0 || hll_add(dn, ele, (size_t)n) < 0) fail = "TESTFAILED add error";
    }
    cfg.hll_sparse_max_bytes = saved;
    if (!fail) {
        memset(ref, 0, HLL_REGISTERS);
        uint8_t *ref2 = xcalloc(1, HLL_REGISTERS);
        int inv = 0;
        if (hll_merge(ref, sp->val) || hll_merge(ref2, dn->val) || memcmp(ref, ref2, HLL_REGISTERS))
            fail = "TESTFAILED sparse and dense registers differ";
        else if (hll_count(sp->val, &inv) != hll_count(dn->val, &inv) || inv)
            fail = "TESTFAILED sparse and dense counts differ";
        xfree(ref2);
    }
    sstr_free(sp->val);
    sstr_free(dn->val);
    xfree(sp);
    xfree(dn);
    xfree(regs);
    xfree(ref);
    if (fail) reply_errorf(c, "ERR %s", fail);
    else reply_ok(c);
}

const cmd_binding hll_commands[] = {
    {"pfadd", pfadd_cmd},
    {"pfcount", pfcount_cmd},
    {"pfmerge", pfmerge_cmd},
    {"pfdebug", pfdebug_cmd},
    {"pfselftest", pfselftest_cmd},
    {NULL, NULL},
};
