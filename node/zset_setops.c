/* zset_setops: ZUNION, ZINTER, ZDIFF, their *STORE forms and ZINTERCARD.
 * Inputs may be sorted sets or plain sets (every set member scores 1).
 * Results are built in a zset_big (ordered as they are replied) and a
 * stored result switches to a listpack when small enough, like Redis. */
#include "db.h"
#include "dict.h"
#include "intset.h"
#include "mem.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include "zset.h"
#include "cmdtable.h"
#include <math.h>
#include <string.h>

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

/* One input: a zset or a set value (e NULL for a missing key). */
typedef struct zsrc {
    kv *e;
    double weight;
    unsigned long len;
} zsrc;

static unsigned long src_len(const kv *e)
{
    if (!e) return 0;
    if (e->type == OBJ_ZSET) return zs_length(e);
    switch (e->enc) {
    case OBJ_ENC_INTSET: return intset_len(e->val);
    case OBJ_ENC_LISTPACK: return lp_length(e->val);
    default: return dict_size(e->val);
    }
}

/* Walks any input, yielding members with their scores (1 for sets). */
typedef struct src_iter {
    kv *e;
    zs_iter zi;
    uint32_t pos;
    dict_iter di;
    unsigned char *p;
} src_iter;

static void src_iter_init(src_iter *it, kv *e)
{
    memset(it, 0, sizeof(*it));
    it->e = e;
    if (e->type == OBJ_ZSET) zs_iter_at_rank(&it->zi, e, 0, 0);
    else if (e->enc == OBJ_ENC_LISTPACK) it->p = lp_first(e->val);
    else if (e->enc == OBJ_ENC_HT) dict_iter_init(&it->di, e->val);
}

static int src_next(src_iter *it, zs_item *out)
{
    kv *e = it->e;
    if (e->type == OBJ_ZSET) {
        if (!zs_iter_valid(&it->zi)) return 0;
        zs_iter_get(&it->zi, out);
        zs_iter_next(&it->zi);
        return 1;
    }
    out->score = 1.0;
    if (e->enc == OBJ_ENC_INTSET) {
        int64_t v;
        if (!intset_get(e->val, it->pos++, &v)) return 0;
        out->len = (size_t)ll_to_str(out->buf, v);
        out->m = out->buf;
        return 1;
    }
    if (e->enc == OBJ_ENC_LISTPACK) {
        if (!it->p) return 0;
        out->m = lp_get_str(it->p, &out->len, out->buf);
        it->p = lp_next(e->val, it->p);
        return 1;
    }
    dict_entry *de = dict_iter_next(&it->di);
    if (!de) return 0;
    out->m = dict_key(de);
    out->len = dict_klen(de);
    return 1;
}

static int src_find(kv *e, const char *m, size_t len, double *score)
{
    if (e->type == OBJ_ZSET) return zs_score(e, m, len, score);
    *score = 1.0;
    if (e->enc == OBJ_ENC_INTSET) {
        long long v;
        return str_to_ll(m, len, &v) && intset_find(e->val, v);
    }
    if (e->enc == OBJ_ENC_LISTPACK) return lp_find(e->val, lp_first(e->val), m, len, 0) != NULL;
    return dict_find(e->val, m, len) != NULL;
}

static void aggregate(double *target, double val, int agg)
{
    if (agg == AGG_SUM) {
        *target = *target + val;
        /* inf + -inf: Redis's convention is 0. */
        if (isnan(*target)) *target = 0.0;
    } else if (agg == AGG_MIN) {
        *target = val < *target ? val : *target;
    } else {
        *target = val > *target ? val : *target;
    }
}

/* Adds a member known to be new to the result, tracking sizes. */
static void result_add(zset_big *z, const zs_item *it, double score, size_t *maxlen, size_t *totlen)
{
    zsb_set(z, it->m, it->len, score);
    if (it->len > *maxlen) *maxlen = it->len;
    *totlen += it->len;
}

static void do_union(zsrc *src, int n, int agg, zset_big *z, size_t *maxlen, size_t *totlen)
{
    dict_expand(z->dict, src[n - 1].len);
    zs_item item;
    for (int i = 0; i < n; i++) {
        if (!src[i].len) continue;
        src_iter it;
        src_iter_init(&it, src[i].e);
        while (src_next(&it, &item)) {
            double score = src[i].weight * item.score;
            if (isnan(score)) score = 0;
            zsl_node *node = zsb_find(z, item.m, item.len);
            if (!node) {
                result_add(z, &item, score, maxlen, totlen);
                continue;
            }
            double cur = node->score;
            aggregate(&cur, score, agg);
            /* Equal values keep their place; still store cur (0 vs -0). */
            if (cur != node->score) zsl_update_score(z->zsl, node, cur);
            else node->score = cur;
        }
    }
}

/* Intersection into z, or only its size (up to limit, 0 = no limit) when
 * z is NULL. */
static unsigned long do_inter(zsrc *src, int n, int agg, zset_big *z, unsigned long limit,
                              size_t *maxlen, size_t *totlen)
{
    unsigned long card = 0;
    if (!src[0].len) return 0;
    src_iter it;
    zs_item item;
    src_iter_init(&it, src[0].e);
    while (src_next(&it, &item)) {
        double score = src[0].weight * item.score, value;
        if (isnan(score)) score = 0;
        int j;
        for (j = 1; j < n; j++) {
            if (src[j].e == src[0].e) {
                value = item.score * src[j].weight;
                aggregate(&score, value, agg);
            } else if (src_find(src[j].e, item.m, item.len, &value)) {
                value *= src[j].weight;
                aggregate(&score, value, agg);
            } else {
                break;
            }
        }
        if (j < n) continue;
        if (!z) {
            card++;
            if (limit && card >= limit) break;
        } else {
            result_add(z, &item, score, maxlen, totlen);
        }
    }
    return card;
}

static void do_diff(zsrc *src, int n, zset_big *z, size_t *maxlen, size_t *totlen)
{
    if (!src[0].len) return;
    src_iter it;
    zs_item item;
    src_iter_init(&it, src[0].e);
    while (src_next(&it, &item)) {
        double dummy;
        int j;
        for (j = 1; j < n; j++)
            if (src[j].len && src_find(src[j].e, item.m, item.len, &dummy)) break;
        if (j == n) result_add(z, &item, item.score, maxlen, totlen);
    }
}

/* The shared body: numidx is the numkeys argument, dstidx the destination
 * (-1 when replying), card_only for ZINTERCARD. */
static void setop_generic(client *c, int dstidx, int numidx, int op, int card_only)
{
    long long numkeys;
    if (arg_ll(c, numidx, &numkeys) < 0) return;
    if (numkeys < 1) {
        reply_errorf(c, "ERR at least 1 input key is needed for '%s' command", c->cmd->fullname);
        return;
    }
    if (numkeys > c->argc - (numidx + 1)) {
        reply_syntax_err(c);
        return;
    }
    int n = (int)numkeys, j = numidx + 1;
    zsrc *src = xcalloc((size_t)n, sizeof(*src));
    for (int i = 0; i < n; i++, j++) {
        kv *e = dstidx >= 0 ? db_lookup_write(c->db, ARG(c, j), ARGLEN(c, j))
                            : db_lookup_read(c->db, ARG(c, j), ARGLEN(c, j));
        if (e && e->type != OBJ_ZSET && e->type != OBJ_SET) {
            reply_wrongtype(c);
            goto out;
        }
        src[i].e = e;
        src[i].len = src_len(e);
        src[i].weight = 1.0;
    }
    int agg = AGG_SUM, withscores = 0;
    unsigned long long limit = 0;
    while (j < c->argc) {
        int remaining = c->argc - j;
        const char *a = ARG(c, j);
        size_t l = ARGLEN(c, j);
        if (op != OP_DIFF && !card_only && remaining >= n + 1 && arg_is(a, l, "weights")) {
            j++;
            for (int i = 0; i < n; i++, j++) {
                if (!str_to_double(ARG(c, j), ARGLEN(c, j), &src[i].weight)) {
                    reply_error(c, "ERR weight value is not a float");
                    goto out;
                }
            }
        } else if (op != OP_DIFF && !card_only && remaining >= 2 && arg_is(a, l, "aggregate")) {
            j++;
            if (arg_is(ARG(c, j), ARGLEN(c, j), "sum")) agg = AGG_SUM;
            else if (arg_is(ARG(c, j), ARGLEN(c, j), "min")) agg = AGG_MIN;
            else if (arg_is(ARG(c, j), ARGLEN(c, j), "max")) agg = AGG_MAX;
            else {
                reply_syntax_err(c);
                goto out;
            }
            j++;
        } else if (dstidx < 0 && !card_only && arg_is(a, l, "withscores")) {
            j++;
            withscores = 1;
        } else if (card_only && remaining >= 2 && arg_is(a, l, "limit")) {
            long long v;
            if (!str_to_ll(ARG(c, j + 1), ARGLEN(c, j + 1), &v) || v < 0) {
                reply_error(c, "ERR LIMIT can't be negative");
                goto out;
            }
            limit = (unsigned long long)v;
            j += 2;
        } else {
            reply_syntax_err(c);
            goto out;
        }
    }
    if (op != OP_DIFF) {
        /* Smallest first (stable, as Redis's sort is in practice): the
         * intersection then probes the fewest members, and sums add up in
         * the same order as Redis. */
        for (int a = 1; a < n; a++) {
            zsrc t = src[a];
            int b = a - 1;
            for (; b >= 0 && src[b].len > t.len; b--) src[b + 1] = src[b];
            src[b + 1] = t;
        }
    }
    if (card_only) {
        reply_int(c, (long long)do_inter(src, n, agg, NULL, (unsigned long)limit, NULL, NULL));
        goto out;
    }
    zset_big *z = zsb_new();
    size_t maxlen = 0, totlen = 0;
    if (op == OP_UNION) do_union(src, n, agg, z, &maxlen, &totlen);
    else if (op == OP_INTER) do_inter(src, n, agg, z, 0, &maxlen, &totlen);
    else do_diff(src, n, z, &maxlen, &totlen);

    unsigned long len = zsb_len(z);
    if (dstidx >= 0) {
        if (len) {
            int enc;
            void *val;
            zs_big_finish(z, maxlen, totlen, &enc, &val);
            db_set(c->db, ARG(c, dstidx), ARGLEN(c, dstidx), OBJ_ZSET, enc, val, 0);
            srv.dirty++;
        } else {
            zsb_free(z);
            if (db_delete(c->db, ARG(c, dstidx), ARGLEN(c, dstidx))) srv.dirty++;
        }
        reply_int(c, (long long)len);
        goto out;
    }
    zs_reply_elems_len(c, (long long)len, withscores);
    for (zsl_node *x = zsl_first(z->zsl); x; x = zsl_next(x)) {
        size_t ml;
        const char *m = zsl_ele(x, &ml);
        zs_reply_elem(c, m, ml, x->score, withscores);
    }
    zsb_free(z);
out:
    xfree(src);
}

void zunion_cmd(client *c) { setop_generic(c, -1, 1, OP_UNION, 0); }
void zinter_cmd(client *c) { setop_generic(c, -1, 1, OP_INTER, 0); }
void zdiff_cmd(client *c) { setop_generic(c, -1, 1, OP_DIFF, 0); }
void zunionstore_cmd(client *c) { setop_generic(c, 1, 2, OP_UNION, 0); }
void zinterstore_cmd(client *c) { setop_generic(c, 1, 2, OP_INTER, 0); }
void zdiffstore_cmd(client *c) { setop_generic(c, 1, 2, OP_DIFF, 0); }
void zintercard_cmd(client *c) { setop_generic(c, -1, 1, OP_INTER, 1); }
