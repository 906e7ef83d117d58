/* zset: the sorted-set value in its two encodings (see zset.h) — listpack
 * primitives, encoding-independent operations, iteration, range deletion,
 * result building, and the type operations (free/dup/size/DUMP). */
#include "zset.h"
#include "config.h"
#include "dict.h"
#include "mem.h"
#include "obj.h"
#include "reply.h"
#include "util.h"
#include <limits.h>
#include <math.h>
#include <string.h>

/* ---- Listpack encoding ---- */

/* Integral scores within +-LLONG_MAX/2 are stored as integers, like Redis
 * (whose listpack holds the same text either way). */
static int score_as_ll(double d, long long *v)
{
    if (!(d >= -(double)(LLONG_MAX / 2) && d <= (double)(LLONG_MAX / 2))) return 0;
    long long l = (long long)d;
    if ((double)l != d) return 0;
    *v = l;
    return 1;
}

double zlp_score(const unsigned char *sp)
{
    lp_val v;
    lp_get(sp, &v);
    if (!v.s) return (double)v.v;
    double d = 0;
    str_to_double((const char *)v.s, v.len, &d);
    return d;
}

unsigned char *zlp_find(unsigned char *lp, const char *m, size_t len, double *score)
{
    unsigned char *p = lp_find(lp, lp_first(lp), m, len, 1);
    if (p && score) *score = zlp_score(lp_next(lp, p));
    return p;
}

/* Inserts the score entry after (where = LP_AFTER) / before entry p, or
 * appends when p is NULL. */
static unsigned char *insert_score(unsigned char *lp, unsigned char *p, int where, double score,
                                   unsigned char **newp)
{
    long long v;
    if (score_as_ll(score, &v)) return lp_insert_int(lp, p, where, v, newp);
    char buf[128];
    int n = double_to_str(buf, score);
    return lp_insert(lp, p, where, buf, (size_t)n, newp);
}

unsigned char *zlp_insert(unsigned char *lp, const char *m, size_t len, double score)
{
    unsigned char *p = lp_first(lp);
    while (p) {
        unsigned char *sp = lp_next(lp, p);
        double s = zlp_score(sp);
        if (s > score || (s == score && lp_cmp_str(p, m, len) > 0)) break;
        p = lp_next(lp, sp);
    }
    unsigned char *mp;
    if (p) {
        lp = lp_insert(lp, p, LP_BEFORE, m, len, &mp);
        return insert_score(lp, mp, LP_AFTER, score, NULL);
    }
    return zlp_append(lp, m, len, score);
}

unsigned char *zlp_append(unsigned char *lp, const char *m, size_t len, double score)
{
    lp = lp_append(lp, m, len);
    return insert_score(lp, NULL, LP_AFTER, score, NULL);
}

unsigned char *zlp_prepend(unsigned char *lp, const char *m, size_t len, double score)
{
    unsigned char *first = lp_first(lp), *sp;
    if (!first) return zlp_append(lp, m, len, score);
    lp = insert_score(lp, first, LP_BEFORE, score, &sp);
    return lp_insert(lp, sp, LP_BEFORE, m, len, NULL);
}

/* Deletes the pair whose member entry is p. */
static unsigned char *zlp_delete_pair(unsigned char *lp, unsigned char *p)
{
    return lp_delete_range_at(lp, p, 2);
}

/* ---- Values ---- */

void zs_new_value(size_t first_len, int *enc, void **val)
{
    if (cfg.zset_max_listpack_entries == 0 || (long long)first_len > cfg.zset_max_listpack_value) {
        *enc = OBJ_ENC_SKIPLIST;
        *val = zsb_new();
    } else {
        *enc = OBJ_ENC_LISTPACK;
        *val = lp_new();
    }
}

size_t zs_length(const kv *e)
{
    if (e->enc == OBJ_ENC_LISTPACK) return lp_length(e->val) / 2;
    return zsb_len(e->val);
}

int zs_score(kv *e, const char *m, size_t len, double *score)
{
    if (e->enc == OBJ_ENC_LISTPACK) return zlp_find(e->val, m, len, score) != NULL;
    zsl_node *n = zsb_find(e->val, m, len);
    if (!n) return 0;
    *score = n->score;
    return 1;
}

void zs_convert_to_big(kv *e)
{
    if (e->enc != OBJ_ENC_LISTPACK) return;
    unsigned char *lp = e->val;
    zset_big *z = zsb_new();
    dict_expand(z->dict, lp_length(lp) / 2);
    char buf[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(lp); p; ) {
        size_t len;
        const char *m = lp_get_str(p, &len, buf);
        unsigned char *sp = lp_next(lp, p);
        zsb_set(z, m, len, zlp_score(sp));
        p = lp_next(lp, sp);
    }
    lp_free(lp);
    e->val = z;
    e->enc = OBJ_ENC_SKIPLIST;
}

int zs_add(kv *e, double score, const char *m, size_t len, int in, int *out, double *newscore)
{
    int incr = in & ZADD_IN_INCR, nx = in & ZADD_IN_NX, xx = in & ZADD_IN_XX;
    int gt = in & ZADD_IN_GT, lt = in & ZADD_IN_LT;
    double cur;
    *out = 0;
    if (isnan(score)) {
        *out = ZADD_OUT_NAN;
        return 0;
    }
    if (zs_score(e, m, len, &cur)) {
        if (nx) {
            *out |= ZADD_OUT_NOP;
            return 1;
        }
        if (incr) {
            score += cur;
            if (isnan(score)) {
                *out |= ZADD_OUT_NAN;
                return 0;
            }
        }
        if ((lt && score >= cur) || (gt && score <= cur)) {
            *out |= ZADD_OUT_NOP;
            return 1;
        }
        if (newscore) *newscore = score;
        if (score != cur) {
            if (e->enc == OBJ_ENC_LISTPACK) {
                unsigned char *p = zlp_find(e->val, m, len, NULL);
                e->val = zlp_delete_pair(e->val, p);
                e->val = zlp_insert(e->val, m, len, score);
            } else {
                zsb_set(e->val, m, len, score);
            }
            *out |= ZADD_OUT_UPDATED;
        }
        return 1;
    }
    if (xx) {
        *out |= ZADD_OUT_NOP;
        return 1;
    }
    if (e->enc == OBJ_ENC_LISTPACK) {
        if ((long long)zs_length(e) + 1 > cfg.zset_max_listpack_entries ||
            (long long)len > cfg.zset_max_listpack_value || !lp_safe_to_add(e->val, len + 32))
            zs_convert_to_big(e);
    }
    if (e->enc == OBJ_ENC_LISTPACK) e->val = zlp_insert(e->val, m, len, score);
    else zsb_set(e->val, m, len, score);
    if (newscore) *newscore = score;
    *out |= ZADD_OUT_ADDED;
    return 1;
}

int zs_del(kv *e, const char *m, size_t len)
{
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *p = zlp_find(e->val, m, len, NULL);
        if (!p) return 0;
        e->val = zlp_delete_pair(e->val, p);
        return 1;
    }
    return zsb_del(e->val, m, len);
}

long zs_rank(kv *e, const char *m, size_t len, int rev, double *score)
{
    unsigned long llen = zs_length(e);
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        long rank = 0;
        for (unsigned char *p = lp_first(lp); p; rank++) {
            unsigned char *sp = lp_next(lp, p);
            if (lp_eq(p, m, len)) {
                if (score) *score = zlp_score(sp);
                return rev ? (long)llen - 1 - rank : rank;
            }
            p = lp_next(lp, sp);
        }
        return -1;
    }
    zset_big *z = e->val;
    zsl_node *n = zsb_find(z, m, len);
    if (!n) return -1;
    if (score) *score = n->score;
    unsigned long r = zsl_node_rank(z->zsl, n);   /* 1-based */
    return rev ? (long)(llen - r) : (long)(r - 1);
}

/* ---- Iteration ---- */

static void iter_init(zs_iter *it, kv *e, int rev)
{
    memset(it, 0, sizeof(*it));
    it->enc = e->enc;
    it->rev = rev;
    if (e->enc == OBJ_ENC_LISTPACK) it->lp = e->val;
}

void zs_iter_at_rank(zs_iter *it, kv *e, unsigned long rank, int rev)
{
    iter_init(it, e, rev);
    unsigned long llen = zs_length(e);
    if (rank >= llen) return;
    unsigned long fwd = rev ? llen - 1 - rank : rank;
    if (e->enc == OBJ_ENC_LISTPACK) it->p = lp_seek(it->lp, (long)(fwd * 2));
    else it->n = zsl_by_rank(((zset_big *)e->val)->zsl, fwd + 1);
}

void zs_iter_get(const zs_iter *it, zs_item *out)
{
    if (it->enc == OBJ_ENC_LISTPACK) {
        out->m = lp_get_str(it->p, &out->len, out->buf);
        out->score = zlp_score(lp_next(it->lp, it->p));
    } else {
        out->m = zsl_ele(it->n, &out->len);
        out->score = it->n->score;
    }
}

void zs_iter_next(zs_iter *it)
{
    if (it->enc == OBJ_ENC_LISTPACK) {
        if (!it->p) return;
        if (it->rev) {
            unsigned char *sp = lp_prev(it->lp, it->p);
            it->p = sp ? lp_prev(it->lp, sp) : NULL;
        } else {
            it->p = lp_next(it->lp, lp_next(it->lp, it->p));
        }
    } else if (it->n) {
        it->n = it->rev ? zsl_prev(it->n) : zsl_next(it->n);
    }
}

void zs_iter_skip(zs_iter *it, kv *e, unsigned long n)
{
    if (n == 0) return;
    if (it->enc == OBJ_ENC_LISTPACK) {
        while (n-- && it->p) zs_iter_next(it);
        return;
    }
    if (!it->n) return;
    /* Skiplists jump by rank instead of walking. */
    zset_big *z = e->val;
    unsigned long r = zsl_node_rank(z->zsl, it->n);
    if (it->rev) it->n = n >= r ? NULL : zsl_by_rank(z->zsl, r - n);
    else it->n = n > z->zsl->length - r ? NULL : zsl_by_rank(z->zsl, r + n);
}

/* The listpack member entry of the last pair, or NULL. */
static unsigned char *lp_last_member(unsigned char *lp)
{
    unsigned char *sp = lp_last(lp);
    return sp ? lp_prev(lp, sp) : NULL;
}

void zs_iter_score(zs_iter *it, kv *e, const zrangespec *r, int rev)
{
    iter_init(it, e, rev);
    if (zrange_is_empty(r)) return;
    if (e->enc != OBJ_ENC_LISTPACK) {
        zskiplist *zsl = ((zset_big *)e->val)->zsl;
        it->n = rev ? zsl_last_in_range(zsl, r) : zsl_first_in_range(zsl, r);
        return;
    }
    unsigned char *lp = it->lp;
    if (!rev) {
        for (unsigned char *p = lp_first(lp); p; ) {
            unsigned char *sp = lp_next(lp, p);
            double s = zlp_score(sp);
            if (zrange_gte_min(s, r)) {
                if (zrange_lte_max(s, r)) it->p = p;
                return;
            }
            p = lp_next(lp, sp);
        }
    } else {
        for (unsigned char *p = lp_last_member(lp); p; ) {
            unsigned char *sp = lp_next(lp, p);
            double s = zlp_score(sp);
            if (zrange_lte_max(s, r)) {
                if (zrange_gte_min(s, r)) it->p = p;
                return;
            }
            sp = lp_prev(lp, p);
            p = sp ? lp_prev(lp, sp) : NULL;
        }
    }
}

void zs_iter_lex(zs_iter *it, kv *e, const zlexrangespec *r, int rev)
{
    iter_init(it, e, rev);
    if (zlex_is_empty(r)) return;
    if (e->enc != OBJ_ENC_LISTPACK) {
        zskiplist *zsl = ((zset_big *)e->val)->zsl;
        it->n = rev ? zsl_last_in_lex_range(zsl, r) : zsl_first_in_lex_range(zsl, r);
        return;
    }
    unsigned char *lp = it->lp;
    char buf[LP_INTBUF_SIZE];
    size_t len;
    const char *m;
    if (!rev) {
        for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
            m = lp_get_str(p, &len, buf);
            if (zlex_gte_min(m, len, r)) {
                if (zlex_lte_max(m, len, r)) it->p = p;
                return;
            }
        }
    } else {
        for (unsigned char *p = lp_last_member(lp); p; ) {
            m = lp_get_str(p, &len, buf);
            if (zlex_lte_max(m, len, r)) {
                if (zlex_gte_min(m, len, r)) it->p = p;
                return;
            }
            unsigned char *sp = lp_prev(lp, p);
            p = sp ? lp_prev(lp, sp) : NULL;
        }
    }
}

/* ---- Range counts and deletions ---- */

unsigned long zs_count_score(kv *e, const zrangespec *r)
{
    zs_iter it;
    zs_iter_score(&it, e, r, 0);
    if (!zs_iter_valid(&it)) return 0;
    if (e->enc != OBJ_ENC_LISTPACK) {
        zskiplist *zsl = ((zset_big *)e->val)->zsl;
        zsl_node *last = zsl_last_in_range(zsl, r);
        return zsl_node_rank(zsl, last) - zsl_node_rank(zsl, it.n) + 1;
    }
    unsigned long n = 0;
    zs_item item;
    for (; zs_iter_valid(&it); zs_iter_next(&it), n++) {
        item.score = zlp_score(lp_next(it.lp, it.p));
        if (!zrange_lte_max(item.score, r)) break;
    }
    return n;
}

unsigned long zs_count_lex(kv *e, const zlexrangespec *r)
{
    zs_iter it;
    zs_iter_lex(&it, e, r, 0);
    if (!zs_iter_valid(&it)) return 0;
    if (e->enc != OBJ_ENC_LISTPACK) {
        zskiplist *zsl = ((zset_big *)e->val)->zsl;
        zsl_node *last = zsl_last_in_lex_range(zsl, r);
        return zsl_node_rank(zsl, last) - zsl_node_rank(zsl, it.n) + 1;
    }
    unsigned long n = 0;
    zs_item item;
    for (; zs_iter_valid(&it); zs_iter_next(&it), n++) {
        item.m = lp_get_str(it.p, &item.len, item.buf);
        if (!zlex_lte_max(item.m, item.len, r)) break;
    }
    return n;
}

unsigned long zs_del_rank(kv *e, unsigned long start, unsigned long end)
{
    if (e->enc == OBJ_ENC_LISTPACK) {
        e->val = lp_delete_range(e->val, (long)(start * 2), (end - start + 1) * 2);
        return end - start + 1;
    }
    zset_big *z = e->val;
    return zsl_delete_range_by_rank(z->zsl, start + 1, end + 1, z->dict);
}

unsigned long zs_del_score(kv *e, const zrangespec *r)
{
    if (e->enc != OBJ_ENC_LISTPACK) {
        zset_big *z = e->val;
        return zrange_is_empty(r) ? 0 : zsl_delete_range_by_score(z->zsl, r, z->dict);
    }
    zs_iter it;
    zs_iter_score(&it, e, r, 0);
    if (!zs_iter_valid(&it)) return 0;
    unsigned char *first = it.p;
    unsigned long n = 0;
    for (; zs_iter_valid(&it); zs_iter_next(&it), n++)
        if (!zrange_lte_max(zlp_score(lp_next(it.lp, it.p)), r)) break;
    e->val = lp_delete_range_at(e->val, first, n * 2);
    return n;
}

unsigned long zs_del_lex(kv *e, const zlexrangespec *r)
{
    if (e->enc != OBJ_ENC_LISTPACK) {
        zset_big *z = e->val;
        return zlex_is_empty(r) ? 0 : zsl_delete_range_by_lex(z->zsl, r, z->dict);
    }
    zs_iter it;
    zs_iter_lex(&it, e, r, 0);
    if (!zs_iter_valid(&it)) return 0;
    unsigned char *first = it.p;
    unsigned long n = 0;
    zs_item item;
    for (; zs_iter_valid(&it); zs_iter_next(&it), n++) {
        item.m = lp_get_str(it.p, &item.len, item.buf);
        if (!zlex_lte_max(item.m, item.len, r)) break;
    }
    e->val = lp_delete_range_at(e->val, first, n * 2);
    return n;
}

/* ---- Result building ---- */

void zs_builder_init(zs_builder *b, int rev)
{
    memset(b, 0, sizeof(*b));
    b->rev = rev;
    b->enc = OBJ_ENC_LISTPACK;
    b->val = lp_new();
}

void zs_builder_add(zs_builder *b, const char *m, size_t len, double score)
{
    if (b->enc == OBJ_ENC_LISTPACK &&
        ((long long)b->count + 1 > cfg.zset_max_listpack_entries ||
         (long long)len > cfg.zset_max_listpack_value || !lp_safe_to_add(b->val, len + 32))) {
        kv tmp = {.enc = OBJ_ENC_LISTPACK, .val = b->val, .type = OBJ_ZSET};
        zs_convert_to_big(&tmp);
        b->enc = OBJ_ENC_SKIPLIST;
        b->val = tmp.val;
    }
    if (b->enc == OBJ_ENC_LISTPACK)
        b->val = b->rev ? zlp_prepend(b->val, m, len, score) : zlp_append(b->val, m, len, score);
    else
        zsb_set(b->val, m, len, score);
    b->count++;
}

void zs_big_finish(zset_big *z, size_t maxlen, size_t totlen, int *enc, void **val)
{
    unsigned long n = zsb_len(z);
    if ((long long)n <= cfg.zset_max_listpack_entries && (long long)maxlen <= cfg.zset_max_listpack_value &&
        totlen + n * 32 < LP_MAX_SAFE_SIZE) {
        unsigned char *lp = lp_new();
        for (zsl_node *x = zsl_first(z->zsl); x; x = zsl_next(x)) {
            size_t len;
            const char *m = zsl_ele(x, &len);
            lp = zlp_append(lp, m, len, x->score);
        }
        zsb_free(z);
        *enc = OBJ_ENC_LISTPACK;
        *val = lp;
        return;
    }
    *enc = OBJ_ENC_SKIPLIST;
    *val = z;
}

/* ---- Replies ---- */

void zs_reply_elems_len(client *c, long long n, int withscores)
{
    reply_array(c, withscores && c->proto == 2 ? n * 2 : n);
}

void zs_reply_elem(client *c, const char *m, size_t len, double score, int withscores)
{
    if (withscores && c->proto > 2) reply_array(c, 2);
    reply_bulk(c, m, len);
    if (withscores) reply_double(c, score);
}

/* ---- Type operations ---- */

static void zset_free_val(int enc, void *val)
{
    if (enc == OBJ_ENC_LISTPACK) lp_free(val);
    else zsb_free(val);
}

static void *zset_dup_val(int enc, const void *val)
{
    if (enc == OBJ_ENC_LISTPACK) return lp_dup(val);
    return zsb_dup(val);
}

static size_t zset_mem_usage(int enc, const void *val)
{
    if (enc == OBJ_ENC_LISTPACK) return mem_alloc_size(val);
    return zsb_mem_usage(val);
}

static const char *zset_enc_name(int enc, const void *val)
{
    (void)val;
    return enc == OBJ_ENC_LISTPACK ? "listpack" : "skiplist";
}

/* DUMP body: u32 count, then count times { u32 member length, member
 * bytes, 8-byte IEEE-754 score }, all little-endian, in ascending order. */
static void put_u32(buf_t *out, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    buf_append(out, b, 4);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_double(buf_t *out, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(u >> (8 * i));
    buf_append(out, b, 8);
}

static double get_double(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static void zset_serialize(int enc, const void *val, buf_t *out)
{
    kv tmp = {.enc = (uint32_t)enc, .val = (void *)val, .type = OBJ_ZSET};
    put_u32(out, (uint32_t)zs_length(&tmp));
    zs_iter it;
    zs_item item;
    for (zs_iter_at_rank(&it, &tmp, 0, 0); zs_iter_valid(&it); zs_iter_next(&it)) {
        zs_iter_get(&it, &item);
        put_u32(out, (uint32_t)item.len);
        buf_append(out, item.m, item.len);
        put_double(out, item.score);
    }
}

static int zset_deserialize(const char *data, size_t n, int *enc, void **val)
{
    const unsigned char *p = (const unsigned char *)data, *end = p + n;
    if (n < 4) return -1;
    uint32_t count = get_u32(p);
    p += 4;
    /* Each pair takes at least 12 bytes: reject absurd counts up front. */
    if (count == 0 || count > (n - 4) / 12) return -1;
    /* Validate everything first (bounds, order, NaN, lengths), then build. */
    size_t maxlen = 0, totlen = 0;
    const unsigned char *q = p, *prevm = NULL;
    uint32_t prevlen = 0;
    double prevs = 0;
    for (uint32_t i = 0; i < count; i++) {
        if ((size_t)(end - q) < 4) return -1;
        uint32_t len = get_u32(q);
        q += 4;
        if ((size_t)(end - q) < (size_t)len + 8 || len > DICT_MAX_KEY) return -1;
        double s = get_double(q + len);
        if (isnan(s)) return -1;
        /* Strictly ascending (score, member): also rules out a member
         * appearing twice with the same score. */
        if (prevm && (s < prevs || (s == prevs && zsl_cmp_str((const char *)prevm, prevlen,
                                                              (const char *)q, len) >= 0)))
            return -1;
        prevm = q;
        prevlen = len;
        prevs = s;
        if (len > maxlen) maxlen = len;
        totlen += len;
        q += len + 8;
    }
    if (q != end) return -1;
    /* Build a zset_big (it catches a member repeated with another score),
     * then let the size decide the encoding. */
    zset_big *z = zsb_new();
    dict_expand(z->dict, count);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len = get_u32(p);
        p += 4;
        if (!zsb_set(z, (const char *)p, len, get_double(p + len))) {
            zsb_free(z);
            return -1;
        }
        p += len + 8;
    }
    zs_big_finish(z, maxlen, totlen, enc, val);
    return 0;
}

const obj_type_ops zset_type_ops = {
    "zset", zset_free_val, zset_dup_val, zset_mem_usage, zset_enc_name,
    zset_serialize, zset_deserialize,
};
