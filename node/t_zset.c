/* t_zset: sorted-set commands on single members and pops — ZADD, ZINCRBY,
 * ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZPOPMIN/MAX, ZMPOP, the
 * blocking pops, ZRANDMEMBER and ZSCAN — plus the family's binding table.
 * Ranges live in zset_range.c, unions/intersections in zset_setops.c, the
 * value itself in zset.c. */
#include "blocking.h"
#include "cmd.h"
#include "db.h"
#include "dict.h"
#include "mem.h"
#include "reply.h"
#include "scan.h"
#include "server.h"
#include "util.h"
#include "zset.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ERR_NAN "ERR resulting score is not a number (NaN)"

/* Looks a key up for reading; replies WRONGTYPE and returns -1 if it holds
 * something else. *out is NULL when the key does not exist. */
static int lookup_zset(client *c, int i, int write, kv **out)
{
    kv *e = write ? db_lookup_write(c->db, ARG(c, i), ARGLEN(c, i))
                  : db_lookup_read(c->db, ARG(c, i), ARGLEN(c, i));
    if (e && e->type != OBJ_ZSET) {
        reply_wrongtype(c);
        return -1;
    }
    *out = e;
    return 0;
}

/* ---- ZADD / ZINCRBY ---- */

/* A zset for key argument i, created (empty) if missing. */
static kv *zset_for_write(client *c, int i, kv *e, size_t first_len)
{
    if (e) return e;
    int enc;
    void *val;
    zs_new_value(first_len, &enc, &val);
    return db_add(c->db, ARG(c, i), ARGLEN(c, i), OBJ_ZSET, enc, val);
}

static void zadd_cmd(client *c)
{
    int in = 0, ch = 0, j = 2;
    for (; j < c->argc; j++) {
        const char *a = ARG(c, j);
        size_t l = ARGLEN(c, j);
        if (arg_is(a, l, "nx")) in |= ZADD_IN_NX;
        else if (arg_is(a, l, "xx")) in |= ZADD_IN_XX;
        else if (arg_is(a, l, "ch")) ch = 1;
        else if (arg_is(a, l, "incr")) in |= ZADD_IN_INCR;
        else if (arg_is(a, l, "gt")) in |= ZADD_IN_GT;
        else if (arg_is(a, l, "lt")) in |= ZADD_IN_LT;
        else break;
    }
    int nargs = c->argc - j;
    if (nargs == 0 || nargs % 2) {
        reply_syntax_err(c);
        return;
    }
    int n = nargs / 2;
    if ((in & ZADD_IN_NX) && (in & ZADD_IN_XX)) {
        reply_error(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    int gt = in & ZADD_IN_GT, lt = in & ZADD_IN_LT, nx = in & ZADD_IN_NX;
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if ((in & ZADD_IN_INCR) && n > 1) {
        reply_error(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    /* Every score is checked before anything is added. */
    double small[16], *scores = n <= 16 ? small : xmalloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (!str_to_double(ARG(c, j + 2 * i), ARGLEN(c, j + 2 * i), &scores[i])) {
            reply_error(c, ERR_NOT_FLOAT);
            goto done;
        }
    }
    kv *e;
    if (lookup_zset(c, 1, 1, &e) < 0) goto done;
    long long added = 0, updated = 0, processed = 0;
    double newscore = 0;
    if (!e && (in & ZADD_IN_XX)) goto reply;
    e = zset_for_write(c, 1, e, ARGLEN(c, j + 1));
    for (int i = 0; i < n; i++) {
        int out;
        if (!zs_add(e, scores[i], ARG(c, j + 2 * i + 1), ARGLEN(c, j + 2 * i + 1), in, &out, &newscore)) {
            srv.dirty += added + updated;
            db_delete_if_empty(c->db, e, zs_length(e));
            reply_error(c, ERR_NAN);
            goto done;
        }
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
        if (!(out & ZADD_OUT_NOP)) processed++;
    }
    srv.dirty += added + updated;
    db_delete_if_empty(c->db, e, zs_length(e));
reply:
    if (in & ZADD_IN_INCR) {
        if (processed) reply_double(c, newscore);
        else reply_null(c);
    } else {
        reply_int(c, ch ? added + updated : added);
    }
done:
    if (scores != small) xfree(scores);
}

static void zincrby_cmd(client *c)
{
    double incr, newscore = 0;
    if (arg_double(c, 2, &incr) < 0) return;
    kv *e;
    if (lookup_zset(c, 1, 1, &e) < 0) return;
    e = zset_for_write(c, 1, e, ARGLEN(c, 3));
    int out;
    if (!zs_add(e, incr, ARG(c, 3), ARGLEN(c, 3), ZADD_IN_INCR, &out, &newscore)) {
        db_delete_if_empty(c->db, e, zs_length(e));
        reply_error(c, ERR_NAN);
        return;
    }
    srv.dirty++;
    reply_double(c, newscore);
}

/* ---- Single-member commands ---- */

static void zrem_cmd(client *c)
{
    kv *e;
    if (lookup_zset(c, 1, 1, &e) < 0) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    long long deleted = 0;
    for (int i = 2; i < c->argc; i++) {
        deleted += zs_del(e, ARG(c, i), ARGLEN(c, i));
        if (zs_length(e) == 0) break;
    }
    srv.dirty += deleted;
    db_delete_if_empty(c->db, e, zs_length(e));
    reply_int(c, deleted);
}

static void zcard_cmd(client *c)
{
    kv *e;
    if (lookup_zset(c, 1, 0, &e) < 0) return;
    reply_int(c, e ? (long long)zs_length(e) : 0);
}

static void zscore_cmd(client *c)
{
    kv *e;
    double s;
    if (lookup_zset(c, 1, 0, &e) < 0) return;
    if (e && zs_score(e, ARG(c, 2), ARGLEN(c, 2), &s)) reply_double(c, s);
    else reply_null(c);
}

static void zmscore_cmd(client *c)
{
    kv *e;
    double s;
    if (lookup_zset(c, 1, 0, &e) < 0) return;
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        if (e && zs_score(e, ARG(c, i), ARGLEN(c, i), &s)) reply_double(c, s);
        else reply_null(c);
    }
}

static void zrank_generic(client *c, int rev)
{
    kv *e;
    if (lookup_zset(c, 1, 0, &e) < 0) return;
    long r = e ? zs_rank(e, ARG(c, 2), ARGLEN(c, 2), rev, NULL) : -1;
    if (r < 0) reply_null(c);
    else reply_int(c, r);
}

static void zrank_cmd(client *c) { zrank_generic(c, 0); }
static void zrevrank_cmd(client *c) { zrank_generic(c, 1); }

/* ---- Pops ---- */

/* Makes the write replay as "ZPOPMIN|ZPOPMAX key [count]". */
static void propagate_as_zpop(client *c, int keyidx, int max, long long count)
{
    char num[24];
    const char *argv[3] = {max ? "ZPOPMAX" : "ZPOPMIN", ARG(c, keyidx), num};
    size_t lens[3] = {7, ARGLEN(c, keyidx), 0};
    lens[2] = (size_t)ll_to_str(num, count);
    cmd_rewrite_propagated(c, count < 0 ? 2 : 3, argv, lens);
}

/* Pops from key argument ki (a non-empty zset e) and replies in the shape
 * Redis uses: count -1 is the single-element form; emitkey puts the key
 * first (blocking pops, ZMPOP); nested makes [member, score] pairs. */
static void zpop_reply(client *c, int ki, kv *e, int max, long long count, int emitkey, int nested)
{
    if (count == 0) {
        reply_empty_array(c);
        return;
    }
    if (count < 0) count = 1;
    long long llen = (long long)zs_length(e);
    long long n = count > llen ? llen : count;
    if (!nested && !emitkey) {
        reply_array(c, n * 2);
    } else if (nested && !emitkey) {
        reply_array(c, n);
    } else if (!nested) {
        reply_array(c, n * 2 + 1);
        reply_bulk(c, ARG(c, ki), ARGLEN(c, ki));
    } else {
        reply_array(c, 2);
        reply_bulk(c, ARG(c, ki), ARGLEN(c, ki));
        reply_array(c, n);
    }
    for (long long i = 0; i < n; i++) {
        zs_iter it;
        zs_item item;
        zs_iter_at_rank(&it, e, 0, max);
        zs_iter_get(&it, &item);
        if (nested) reply_array(c, 2);
        reply_bulk(c, item.m, item.len);
        reply_double(c, item.score);
        if (e->enc == OBJ_ENC_LISTPACK) e->val = lp_delete_range(e->val, max ? -2 : 0, 2);
        else zsb_del(e->val, item.m, item.len);
        srv.dirty++;
    }
    db_delete_if_empty(c->db, e, zs_length(e));
}

/* The first existing key among keys[0..n), or -1 after WRONGTYPE (0 with
 * *found = -1 when none exists). A retried blocked command skips keys of
 * another type, as Redis serves a waiter only from the key that became ready. */
static int first_zset(client *c, const int *keys, int n, int *found, kv **out)
{
    *found = -1;
    for (int i = 0; i < n; i++) {
        kv *e = db_lookup_write(c->db, ARG(c, keys[i]), ARGLEN(c, keys[i]));
        if (!e) continue;
        if (e->type != OBJ_ZSET) {
            if (c->flags & CLIENT_REEXEC) continue;
            reply_wrongtype(c);
            return -1;
        }
        *found = keys[i];
        *out = e;
        return 0;
    }
    return 0;
}

static void zpop_minmax(client *c, int max)
{
    if (c->argc > 3) {
        reply_syntax_err(c);
        return;
    }
    long long count = -1;
    if (c->argc == 3 && (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &count) || count < 0)) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    int key = 1, found;
    kv *e;
    if (first_zset(c, &key, 1, &found, &e) < 0) return;
    if (found < 0) {
        reply_empty_array(c);
        return;
    }
    zpop_reply(c, 1, e, max, count, 0, c->proto > 2 && count != -1);
}

static void zpopmin_cmd(client *c) { zpop_minmax(c, 0); }
static void zpopmax_cmd(client *c) { zpop_minmax(c, 1); }

/* Serves a blocking pop from the first non-empty key, or blocks. */
static void bzpop_generic(client *c, const int *keys, int nkeys, int max, long long count,
                          int nested, long long deadline)
{
    int found;
    kv *e;
    if (first_zset(c, keys, nkeys, &found, &e) < 0) return;
    if (found >= 0) {
        zpop_reply(c, found, e, max, count, 1, nested);
        propagate_as_zpop(c, found, max, count);
        return;
    }
    if (!blocking_allowed(c)) {
        reply_null_array(c);
        return;
    }
    blocking_block(c, nkeys, keys, deadline);
}

static void bzpop_minmax(client *c, int max)
{
    long long deadline;
    if (arg_timeout(c, c->argc - 1, &deadline) < 0) return;
    int nkeys = c->argc - 2, small[16];
    int *keys = nkeys <= 16 ? small : xmalloc(sizeof(int) * (size_t)nkeys);
    for (int i = 0; i < nkeys; i++) keys[i] = i + 1;
    bzpop_generic(c, keys, nkeys, max, -1, 0, deadline);
    if (keys != small) xfree(keys);
}

static void bzpopmin_cmd(client *c) { bzpop_minmax(c, 0); }
static void bzpopmax_cmd(client *c) { bzpop_minmax(c, 1); }

/* ZMPOP numkeys key... MIN|MAX [COUNT n] and BZMPOP timeout numkeys ... */
static void zmpop_generic(client *c, int numidx, int block)
{
    long long numkeys, count = -1;
    if (!str_to_ll(ARG(c, numidx), ARGLEN(c, numidx), &numkeys) || numkeys < 1) {
        reply_error(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys >= c->argc - numidx - 1) {
        reply_syntax_err(c);
        return;
    }
    int whereidx = numidx + (int)numkeys + 1, max;
    if (arg_is(ARG(c, whereidx), ARGLEN(c, whereidx), "min")) max = 0;
    else if (arg_is(ARG(c, whereidx), ARGLEN(c, whereidx), "max")) max = 1;
    else {
        reply_syntax_err(c);
        return;
    }
    for (int j = whereidx + 1; j < c->argc; j++) {
        if (count == -1 && arg_is(ARG(c, j), ARGLEN(c, j), "count") && j + 1 < c->argc) {
            j++;
            if (!str_to_ll(ARG(c, j), ARGLEN(c, j), &count) || count < 1) {
                reply_error(c, "ERR count should be greater than 0");
                return;
            }
        } else {
            reply_syntax_err(c);
            return;
        }
    }
    if (count == -1) count = 1;
    long long deadline = 0;
    if (block && arg_timeout(c, 1, &deadline) < 0) return;
    int nkeys = (int)numkeys, small[16];
    int *keys = nkeys <= 16 ? small : xmalloc(sizeof(int) * (size_t)nkeys);
    for (int i = 0; i < nkeys; i++) keys[i] = numidx + 1 + i;
    if (block) {
        bzpop_generic(c, keys, nkeys, max, count, 1, deadline);
    } else {
        int found;
        kv *e;
        if (first_zset(c, keys, nkeys, &found, &e) == 0) {
            if (found < 0) {
                reply_null_array(c);
            } else {
                zpop_reply(c, found, e, max, count, 1, 1);
                propagate_as_zpop(c, found, max, count);
            }
        }
    }
    if (keys != small) xfree(keys);
}

static void zmpop_cmd(client *c) { zmpop_generic(c, 1, 0); }
static void bzmpop_cmd(client *c) { zmpop_generic(c, 2, 1); }

/* ---- ZRANDMEMBER ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    if (!rng_state) rng_state = (uint64_t)time_us() * 0x9E3779B97F4A7C15ULL | 1;
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* One random element (uniform). */
static void random_elem(kv *e, zs_item *out)
{
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned long n = zs_length(e);
        unsigned char *p = lp_seek(e->val, (long)(rnd() % n) * 2);
        out->m = lp_get_str(p, &out->len, out->buf);
        out->score = zlp_score(lp_next(e->val, p));
    } else {
        dict_entry *de = dict_random(((zset_big *)e->val)->dict);
        zsl_node *node = dict_get_p(de);
        out->m = zsl_ele(node, &out->len);
        out->score = node->score;
    }
}

static void zrandmember_count(client *c, long long count, int withscores)
{
    if (withscores && (count < -LLONG_MAX / 2 || count > LLONG_MAX / 2)) {
        reply_error(c, "ERR value is out of range");
        return;
    }
    kv *e;
    if (lookup_zset(c, 1, 0, &e) < 0) return;
    if (!e || count == 0) {
        reply_empty_array(c);
        return;
    }
    unsigned long size = zs_length(e);
    int uniq = count > 0;
    unsigned long long n = uniq ? (unsigned long long)count : (unsigned long long)-count;
    zs_item item;
    if (!uniq || n == 1) {
        /* Repeats allowed: independent draws. */
        zs_reply_elems_len(c, (long long)n, withscores);
        if (e->enc == OBJ_ENC_LISTPACK && n > 8) {
            /* Index the pairs once instead of seeking for every draw. */
            unsigned char **idx = xmalloc(sizeof(*idx) * size), *p = lp_first(e->val);
            for (unsigned long i = 0; i < size; i++, p = lp_next(e->val, lp_next(e->val, p))) idx[i] = p;
            for (unsigned long long i = 0; i < n; i++) {
                p = idx[rnd() % size];
                item.m = lp_get_str(p, &item.len, item.buf);
                item.score = withscores ? zlp_score(lp_next(e->val, p)) : 0;
                zs_reply_elem(c, item.m, item.len, item.score, withscores);
            }
            xfree(idx);
            return;
        }
        for (unsigned long long i = 0; i < n; i++) {
            random_elem(e, &item);
            zs_reply_elem(c, item.m, item.len, item.score, withscores);
        }
        return;
    }
    zs_iter it;
    if (n >= size) {
        /* The whole set, in order. */
        zs_reply_elems_len(c, (long long)size, withscores);
        for (zs_iter_at_rank(&it, e, 0, 0); zs_iter_valid(&it); zs_iter_next(&it)) {
            zs_iter_get(&it, &item);
            zs_reply_elem(c, item.m, item.len, item.score, withscores);
        }
        return;
    }
    zs_reply_elems_len(c, (long long)n, withscores);
    if (e->enc == OBJ_ENC_LISTPACK) {
        /* Selection sampling: each pair taken with probability need/left. */
        unsigned long need = (unsigned long)n, left = size;
        for (zs_iter_at_rank(&it, e, 0, 0); zs_iter_valid(&it) && need; zs_iter_next(&it), left--) {
            if (rnd() % left >= need) continue;
            need--;
            zs_iter_get(&it, &item);
            zs_reply_elem(c, item.m, item.len, item.score, withscores);
        }
        return;
    }
    dict_entry **picked = xmalloc(sizeof(*picked) * (size_t)n);
    unsigned long got = dict_random_distinct(((zset_big *)e->val)->dict, picked, (unsigned long)n);
    for (unsigned long i = 0; i < got; i++) {
        zsl_node *node = dict_get_p(picked[i]);
        item.m = zsl_ele(node, &item.len);
        zs_reply_elem(c, item.m, item.len, node->score, withscores);
    }
    xfree(picked);
}

static void zrandmember_cmd(client *c)
{
    if (c->argc >= 3) {
        long long count;
        if (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &count)) {
            reply_error(c, ERR_NOT_INT);
            return;
        }
        if (count < -LLONG_MAX) {
            reply_error(c, "ERR value is out of range, value must between -9223372036854775807 and "
                           "9223372036854775807");
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !arg_is(ARG(c, 3), ARGLEN(c, 3), "withscores"))) {
            reply_syntax_err(c);
            return;
        }
        zrandmember_count(c, count, c->argc == 4);
        return;
    }
    kv *e;
    if (lookup_zset(c, 1, 0, &e) < 0) return;
    if (!e) {
        reply_null(c);
        return;
    }
    zs_item item;
    random_elem(e, &item);
    reply_bulk(c, item.m, item.len);
}

/* ---- ZSCAN ---- */

static void zscan_cmd(client *c)
{
    unsigned long long cursor;
    if (arg_scan_cursor(c, 2, &cursor) < 0) return;
    kv *e;
    if (lookup_zset(c, 1, 0, &e) < 0) return;
    if (!e) {
        scan_reply_head(c, 0, 0);
        return;
    }
    scan_opts o;
    if (scan_parse_opts(c, 3, 0, &o) < 0) return;
    char ibuf[LP_INTBUF_SIZE], sbuf[128];
    size_t mark;
    long long n = 0;
    if (e->enc == OBJ_ENC_LISTPACK) {
        /* Small sets are returned whole, scores as stored (like Redis). */
        scan_reply_head(c, 0, -1);
        mark = reply_defer(c);
        unsigned char *lp = e->val;
        for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
            size_t ml, sl;
            const char *m = lp_get_str(p, &ml, ibuf);
            if (!scan_match(&o, m, ml)) continue;
            reply_bulk(c, m, ml);
            const char *s = lp_get_str(lp_next(lp, p), &sl, sbuf);
            reply_bulk(c, s, sl);
            n += 2;
        }
        reply_defer_set(c, mark, '*', n);
        return;
    }
    const dict_entry **v;
    size_t keep;
    cursor = scan_dict(((zset_big *)e->val)->dict, (unsigned long)cursor, &o, &v, &keep);
    scan_reply_head(c, cursor, (long long)keep * 2);
    for (size_t i = 0; i < keep; i++) {
        reply_bulk(c, dict_key(v[i]), dict_klen(v[i]));
        zsl_node *node = dict_get_p(v[i]);
        reply_bulk(c, sbuf, (size_t)double_to_str(sbuf, node->score));
    }
    xfree(v);
}

const cmd_binding zset_commands[] = {
    {"zadd", zadd_cmd},
    {"zincrby", zincrby_cmd},
    {"zrem", zrem_cmd},
    {"zcard", zcard_cmd},
    {"zscore", zscore_cmd},
    {"zmscore", zmscore_cmd},
    {"zrank", zrank_cmd},
    {"zrevrank", zrevrank_cmd},
    {"zpopmin", zpopmin_cmd},
    {"zpopmax", zpopmax_cmd},
    {"bzpopmin", bzpopmin_cmd},
    {"bzpopmax", bzpopmax_cmd},
    {"zmpop", zmpop_cmd},
    {"bzmpop", bzmpop_cmd},
    {"zrandmember", zrandmember_cmd},
    {"zscan", zscan_cmd},
    {"zrange", zrange_cmd},
    {"zrangestore", zrangestore_cmd},
    {"zrevrange", zrevrange_cmd},
    {"zrangebyscore", zrangebyscore_cmd},
    {"zrevrangebyscore", zrevrangebyscore_cmd},
    {"zrangebylex", zrangebylex_cmd},
    {"zrevrangebylex", zrevrangebylex_cmd},
    {"zcount", zcount_cmd},
    {"zlexcount", zlexcount_cmd},
    {"zremrangebyrank", zremrangebyrank_cmd},
    {"zremrangebyscore", zremrangebyscore_cmd},
    {"zremrangebylex", zremrangebylex_cmd},
    {"zunion", zunion_cmd},
    {"zinter", zinter_cmd},
    {"zdiff", zdiff_cmd},
    {"zunionstore", zunionstore_cmd},
    {"zinterstore", zinterstore_cmd},
    {"zdiffstore", zdiffstore_cmd},
    {"zintercard", zintercard_cmd},
    {NULL, NULL},
};
