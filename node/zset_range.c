/* zset_range: the range commands of sorted sets — the unified ZRANGE
 * (BYSCORE/BYLEX/REV/LIMIT/WITHSCORES), ZRANGESTORE, the older ZREVRANGE /
 * Z[REV]RANGEBYSCORE / Z[REV]RANGEBYLEX forms, ZCOUNT, ZLEXCOUNT and
 * ZREMRANGEBYRANK/SCORE/LEX. One parser and one walker serve them all,
 * following Redis 7.0's argument order and error texts. */
#include "db.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include "zset.h"
#include <limits.h>

#define ERR_SCORE_RANGE "ERR min or max is not a float"
#define ERR_LEX_RANGE "ERR min or max not valid string range item"

enum { ZR_AUTO = -1, ZR_RANK = 0, ZR_SCORE = 1, ZR_LEX = 2 };
enum { ZD_AUTO = -1, ZD_FWD = 0, ZD_REV = 1 };

/* Where range elements go: the client, or a result value (ZRANGESTORE). */
typedef struct zsink {
    client *c;
    int withscores;
    zs_builder *b;
    long long n;
} zsink;

static void sink_emit(zsink *s, const zs_item *it)
{
    if (s->b) zs_builder_add(s->b, it->m, it->len, it->score);
    else zs_reply_elem(s->c, it->m, it->len, it->score, s->withscores);
    s->n++;
}

/* Walks from `it` emitting up to limit (<0 = all) elements while they stay
 * in range (inrange NULL: no bound check). */
static void walk(zsink *s, zs_iter *it, long long limit,
                 int (*inrange)(const zs_item *, const void *), const void *range)
{
    zs_item item;
    for (; zs_iter_valid(it) && limit != 0; zs_iter_next(it), limit--) {
        zs_iter_get(it, &item);
        if (inrange && !inrange(&item, range)) break;
        sink_emit(s, &item);
    }
}

typedef struct score_bound { const zrangespec *r; int rev; } score_bound;
typedef struct lex_bound { const zlexrangespec *r; int rev; } lex_bound;

/* The far bound of the walk: max going up, min going down. */
static int score_inrange(const zs_item *it, const void *p)
{
    const score_bound *b = p;
    return b->rev ? zrange_gte_min(it->score, b->r) : zrange_lte_max(it->score, b->r);
}

static int lex_inrange(const zs_item *it, const void *p)
{
    const lex_bound *b = p;
    return b->rev ? zlex_gte_min(it->m, it->len, b->r) : zlex_lte_max(it->m, it->len, b->r);
}

/* Clamps Redis-style rank indexes; 0 if the range is empty. */
static int clamp_ranks(long long *start, long long *end, long long llen)
{
    if (*start < 0) *start += llen;
    if (*end < 0) *end += llen;
    if (*start < 0) *start = 0;
    if (*start > *end || *start >= llen) return 0;
    if (*end >= llen) *end = llen - 1;
    return 1;
}

/* ZRANGE and friends. keyidx is the source key; dstidx >= 0 makes it
 * ZRANGESTORE. type/dir are fixed by the older commands, ZR_AUTO/ZD_AUTO
 * let the options choose. */
static void zrange_generic(client *c, int keyidx, int dstidx, int type, int dir)
{
    int minidx = keyidx + 1, maxidx = keyidx + 2, withscores = 0;
    long long offset = 0, limit = -1;
    for (int j = keyidx + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        const char *a = ARG(c, j);
        size_t l = ARGLEN(c, j);
        if (dstidx < 0 && arg_is(a, l, "withscores")) {
            withscores = 1;
        } else if (arg_is(a, l, "limit") && left >= 2) {
            if (arg_ll(c, j + 1, &offset) < 0 || arg_ll(c, j + 2, &limit) < 0) return;
            j += 2;
        } else if (dir == ZD_AUTO && arg_is(a, l, "rev")) {
            dir = ZD_REV;
        } else if (type == ZR_AUTO && arg_is(a, l, "bylex")) {
            type = ZR_LEX;
        } else if (type == ZR_AUTO && arg_is(a, l, "byscore")) {
            type = ZR_SCORE;
        } else {
            reply_syntax_err(c);
            return;
        }
    }
    if (dir == ZD_AUTO) dir = ZD_FWD;
    if (type == ZR_AUTO) type = ZR_RANK;
    if ((offset != 0 || limit != -1) && type == ZR_RANK) {
        reply_error(c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && type == ZR_LEX) {
        reply_error(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    int rev = dir == ZD_REV;
    if (rev && type != ZR_RANK) {
        int t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    long long start = 0, end = 0;
    zrangespec sr;
    zlexrangespec lr;
    if (type == ZR_RANK) {
        if (arg_ll(c, minidx, &start) < 0 || arg_ll(c, maxidx, &end) < 0) return;
    } else if (type == ZR_SCORE) {
        if (!zrange_parse(ARG(c, minidx), ARGLEN(c, minidx), ARG(c, maxidx), ARGLEN(c, maxidx), &sr)) {
            reply_error(c, ERR_SCORE_RANGE);
            return;
        }
    } else if (!zlex_parse(ARG(c, minidx), ARGLEN(c, minidx), ARG(c, maxidx), ARGLEN(c, maxidx), &lr)) {
        reply_error(c, ERR_LEX_RANGE);
        return;
    }

    kv *e = db_lookup_read(c->db, ARG(c, keyidx), ARGLEN(c, keyidx));
    if (e && e->type != OBJ_ZSET) {
        reply_wrongtype(c);
        return;
    }
    zs_builder b;
    zsink s = {c, withscores, NULL, 0};
    if (dstidx >= 0) {
        zs_builder_init(&b, rev);
        s.b = &b;
    }
    if (e) {
        zs_iter it;
        if (type == ZR_RANK) {
            long long llen = (long long)zs_length(e);
            if (clamp_ranks(&start, &end, llen)) {
                if (!s.b) zs_reply_elems_len(c, end - start + 1, withscores);
                zs_iter_at_rank(&it, e, (unsigned long)start, rev);
                walk(&s, &it, end - start + 1, NULL, NULL);
            } else if (!s.b) {
                reply_empty_array(c);
            }
        } else {
            size_t mark = s.b ? 0 : reply_defer(c);
            /* A negative offset skips past everything, as in Redis. */
            if (offset >= 0) {
                if (type == ZR_SCORE) {
                    score_bound sb = {&sr, rev};
                    zs_iter_score(&it, e, &sr, rev);
                    zs_iter_skip(&it, e, (unsigned long)offset);
                    walk(&s, &it, limit, score_inrange, &sb);
                } else {
                    lex_bound lb = {&lr, rev};
                    zs_iter_lex(&it, e, &lr, rev);
                    zs_iter_skip(&it, e, (unsigned long)offset);
                    walk(&s, &it, limit, lex_inrange, &lb);
                }
            }
            if (!s.b) reply_defer_set(c, mark, '*', withscores && c->proto == 2 ? s.n * 2 : s.n);
        }
    } else if (!s.b) {
        reply_empty_array(c);
    }
    if (!s.b) return;
    /* ZRANGESTORE: an empty result deletes the destination. */
    if (s.n > 0) {
        db_set(c->db, ARG(c, dstidx), ARGLEN(c, dstidx), OBJ_ZSET, b.enc, b.val, 0);
        srv.dirty++;
    } else {
        zset_type_ops.free_val(b.enc, b.val);
        if (db_delete(c->db, ARG(c, dstidx), ARGLEN(c, dstidx))) srv.dirty++;
    }
    reply_int(c, s.n);
}

void zrange_cmd(client *c) { zrange_generic(c, 1, -1, ZR_AUTO, ZD_AUTO); }
void zrangestore_cmd(client *c) { zrange_generic(c, 2, 1, ZR_AUTO, ZD_AUTO); }
void zrevrange_cmd(client *c) { zrange_generic(c, 1, -1, ZR_RANK, ZD_REV); }
void zrangebyscore_cmd(client *c) { zrange_generic(c, 1, -1, ZR_SCORE, ZD_FWD); }
void zrevrangebyscore_cmd(client *c) { zrange_generic(c, 1, -1, ZR_SCORE, ZD_REV); }
void zrangebylex_cmd(client *c) { zrange_generic(c, 1, -1, ZR_LEX, ZD_FWD); }
void zrevrangebylex_cmd(client *c) { zrange_generic(c, 1, -1, ZR_LEX, ZD_REV); }

/* ---- Counting ---- */

static int lookup_read_zset(client *c, kv **e)
{
    *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (*e && (*e)->type != OBJ_ZSET) {
        reply_wrongtype(c);
        return -1;
    }
    return 0;
}

void zcount_cmd(client *c)
{
    zrangespec r;
    kv *e;
    if (!zrange_parse(ARG(c, 2), ARGLEN(c, 2), ARG(c, 3), ARGLEN(c, 3), &r)) {
        reply_error(c, ERR_SCORE_RANGE);
        return;
    }
    if (lookup_read_zset(c, &e) < 0) return;
    reply_int(c, e ? (long long)zs_count_score(e, &r) : 0);
}

void zlexcount_cmd(client *c)
{
    zlexrangespec r;
    kv *e;
    if (!zlex_parse(ARG(c, 2), ARGLEN(c, 2), ARG(c, 3), ARGLEN(c, 3), &r)) {
        reply_error(c, ERR_LEX_RANGE);
        return;
    }
    if (lookup_read_zset(c, &e) < 0) return;
    reply_int(c, e ? (long long)zs_count_lex(e, &r) : 0);
}

/* ---- ZREMRANGEBY* ---- */

static void zremrange_generic(client *c, int type)
{
    long long start = 0, end = 0;
    zrangespec sr;
    zlexrangespec lr;
    if (type == ZR_RANK) {
        if (arg_ll(c, 2, &start) < 0 || arg_ll(c, 3, &end) < 0) return;
    } else if (type == ZR_SCORE) {
        if (!zrange_parse(ARG(c, 2), ARGLEN(c, 2), ARG(c, 3), ARGLEN(c, 3), &sr)) {
            reply_error(c, ERR_SCORE_RANGE);
            return;
        }
    } else if (!zlex_parse(ARG(c, 2), ARGLEN(c, 2), ARG(c, 3), ARGLEN(c, 3), &lr)) {
        reply_error(c, ERR_LEX_RANGE);
        return;
    }
    kv *e = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (e && e->type != OBJ_ZSET) {
        reply_wrongtype(c);
        return;
    }
    unsigned long deleted = 0;
    if (e) {
        if (type == ZR_RANK) {
            if (clamp_ranks(&start, &end, (long long)zs_length(e)))
                deleted = zs_del_rank(e, (unsigned long)start, (unsigned long)end);
        } else if (type == ZR_SCORE) {
            deleted = zs_del_score(e, &sr);
        } else {
            deleted = zs_del_lex(e, &lr);
        }
        if (deleted) {
            srv.dirty += (long long)deleted;
            db_delete_if_empty(c->db, e, zs_length(e));
        }
    }
    reply_int(c, (long long)deleted);
}

void zremrangebyrank_cmd(client *c) { zremrange_generic(c, ZR_RANK); }
void zremrangebyscore_cmd(client *c) { zremrange_generic(c, ZR_SCORE); }
void zremrangebylex_cmd(client *c) { zremrange_generic(c, ZR_LEX); }
