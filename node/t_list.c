/* t_list.c: the list type — LPUSH/RPUSH/LPOP/.../LMPOP, the blocking
 * BLPOP/BRPOP/BLMOVE/BRPOPLPUSH/BLMPOP, and list_type_ops.
 *
 * Encoding: a list is one listpack (OBJ_ENC_LISTPACK) while it would fit
 * in a single quicklist node under list-max-listpack-size, and a
 * quicklist (OBJ_ENC_QUICKLIST) beyond that. A quicklist that shrinks to
 * one node of at most half the limit goes back to a listpack; the gap
 * between the two thresholds keeps a list at the boundary from converting
 * back and forth on every push/pop.
 *
 * Blocking: a blocking pop that finds nothing calls blocking_block and
 * replies nothing; the kernel re-runs the handler (CLIENT_REEXEC) when one
 * of its keys is written. Served blocking commands propagate as their
 * non-blocking form. */
#include "blocking.h"
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "listpack.h"
#include "mem.h"
#include "obj.h"
#include "quicklist.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <limits.h>
#include <string.h>

#define LIST_SIZE_SAFETY 8192      /* byte cap of a node under a positive fill */
#define LIST_MAX_FILL 32768
static const size_t list_size_levels[] = {4096, 8192, 16384, 32768, 65536};

#define ERR_MUST_BE_POSITIVE "ERR value is out of range, must be positive"

/* ------------------------------------------------------------------ */
/* Encoding limits and conversions                                     */

/* The byte and entry limits of one node under the current config. */
static void list_limits(size_t *bytes, unsigned long *count)
{
    long long f = cfg.list_max_listpack_size;
    if (f >= 0) {
        *bytes = LIST_SIZE_SAFETY;
        *count = f == 0 ? 1 : (unsigned long)(f > LIST_MAX_FILL ? LIST_MAX_FILL : f);
    } else {
        if (f < -5) f = -5;
        *bytes = list_size_levels[-f - 1];
        *count = ULONG_MAX;
    }
}

static unsigned long list_len(const kv *e)
{
    if (e->enc == OBJ_ENC_LISTPACK) return lp_length(e->val);
    return ql_count(e->val);
}

static void list_to_quicklist(kv *e)
{
    quicklist *ql = ql_new((int)cfg.list_max_listpack_size);
    ql_append_listpack(ql, e->val);      /* adopted as the only node */
    e->val = ql;
    e->enc = OBJ_ENC_QUICKLIST;
}

/* Would a listpack of `bytes` bytes and `count` entries exceed a node? */
static int list_lp_too_big(size_t bytes, unsigned long count)
{
    size_t maxb;
    unsigned long maxc;
    list_limits(&maxb, &maxc);
    return bytes > maxb || count > maxc;
}

/* After a removal: back to a listpack when the list got small enough. */
static void list_try_shrink(kv *e)
{
    if (e->enc != OBJ_ENC_QUICKLIST) return;
    quicklist *ql = e->val;
    if (ql->len != 1) return;
    size_t maxb;
    unsigned long maxc;
    list_limits(&maxb, &maxc);
    if (ql->head->sz > maxb / 2 || ql->count > maxc / 2) return;
    unsigned char *lp = ql->head->lp;
    ql->head->lp = NULL;                 /* keep it out of ql_free */
    ql_free(ql);
    e->val = lp;
    e->enc = OBJ_ENC_LISTPACK;
}

/* A new empty list under key (the caller pushes at least one element). */
static kv *list_create(db *d, const char *key, size_t klen)
{
    return db_add(d, key, klen, OBJ_LIST, OBJ_ENC_LISTPACK, lp_new());
}

/* Deletes the key if the list became empty, else maybe shrinks it. */
static void list_after_removal(db *d, kv *e)
{
    if (list_len(e) == 0) db_delete_if_empty(d, e, 0);
    else list_try_shrink(e);
}

/* ------------------------------------------------------------------ */
/* Element access                                                      */

static void list_push(kv *e, int where, const char *s, size_t len)
{
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        if (!list_lp_too_big(lp_bytes(lp) + lp_entry_size_str(s, len), lp_length(lp) + 1)) {
            e->val = where == QL_HEAD ? lp_prepend(lp, s, len) : lp_append(lp, s, len);
            return;
        }
        list_to_quicklist(e);
    }
    ql_push(e->val, where, s, len);
}

static void reply_lp_entry(client *c, const unsigned char *p)
{
    lp_val v;
    lp_get(p, &v);
    if (v.s) reply_bulk(c, v.s, v.len);
    else reply_bulk_ll(c, v.v);
}

static void reply_ql_entry(client *c, const ql_entry *qe)
{
    if (qe->s) reply_bulk(c, qe->s, qe->len);
    else reply_bulk_ll(c, qe->v);
}

/* Replies with the head/tail element and removes it (list not empty). */
static void list_pop_reply(client *c, kv *e, int where)
{
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        unsigned char *p = where == QL_HEAD ? lp_first(lp) : lp_last(lp);
        reply_lp_entry(c, p);
        e->val = lp_delete(lp, &p);
    } else {
        ql_entry qe;
        ql_peek(e->val, where, &qe);
        reply_ql_entry(c, &qe);
        ql_pop_discard(e->val, where);
    }
}

/* Removes the head/tail element (list not empty) and returns its bytes:
 * in buf when they fit in cap (>= LP_INTBUF_SIZE), else in an xmalloc'd
 * block the caller frees (the returned pointer then differs from buf). */
static char *list_pop_copy(kv *e, int where, char *buf, size_t cap, size_t *len)
{
    const char *s;
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        unsigned char *p = where == QL_HEAD ? lp_first(lp) : lp_last(lp);
        s = lp_get_str(p, len, buf);
    } else {
        ql_entry qe;
        ql_peek(e->val, where, &qe);
        s = ql_entry_str(&qe, len, buf);
    }
    char *out = buf;
    if (s != buf) {
        if (*len > cap) out = xmalloc(*len);
        memcpy(out, s, *len);
    }
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        unsigned char *p = where == QL_HEAD ? lp_first(lp) : lp_last(lp);
        e->val = lp_delete(lp, &p);
    } else {
        ql_pop_discard(e->val, where);
    }
    return out;
}

/* ------------------------------------------------------------------ */
/* Iteration over either encoding, with deletion of the current entry */

typedef struct list_iter {
    kv *e;
    int dir;                     /* QL_FWD / QL_BWD */
    int positioned;              /* `next` holds the entry to return next */
    unsigned char *cur, *next;   /* listpack positions */
    ql_iter qi;
    ql_entry qe;
} list_iter;

/* Starts at index (negative from the tail); 0 if it is out of range. */
static int list_iter_init(list_iter *it, kv *e, int dir, long index)
{
    it->e = e;
    it->dir = dir;
    it->cur = NULL;
    if (e->enc == OBJ_ENC_LISTPACK) {
        it->next = lp_seek(e->val, index);
        it->positioned = 1;
        return it->next != NULL;
    }
    return ql_iter_init_at(&it->qi, e->val, dir, index);
}

static int list_iter_next(list_iter *it)
{
    if (it->e->enc != OBJ_ENC_LISTPACK) return ql_next(&it->qi, &it->qe);
    unsigned char *lp = it->e->val;
    if (it->positioned) {
        it->cur = it->next;
        it->positioned = 0;
    } else if (it->cur) {
        it->cur = it->dir == QL_FWD ? lp_next(lp, it->cur) : lp_prev(lp, it->cur);
    }
    return it->cur != NULL;
}

static void list_iter_reply(client *c, list_iter *it)
{
    if (it->e->enc == OBJ_ENC_LISTPACK) reply_lp_entry(c, it->cur);
    else reply_ql_entry(c, &it->qe);
}

static int list_iter_eq(list_iter *it, const char *s, size_t len)
{
    if (it->e->enc == OBJ_ENC_LISTPACK) return lp_eq(it->cur, s, len);
    return ql_entry_eq(&it->qe, s, len);
}

/* Deletes the current entry; iteration continues with the one after it. */
static void list_iter_del(list_iter *it)
{
    if (it->e->enc != OBJ_ENC_LISTPACK) {
        ql_iter_del(&it->qi, &it->qe);
        return;
    }
    unsigned char *p = it->cur;
    unsigned char *lp = lp_delete(it->e->val, &p);
    it->e->val = lp;
    /* p is now the entry that followed (forward) or NULL at the end. */
    if (it->dir == QL_FWD) it->next = p;
    else it->next = p ? lp_prev(lp, p) : lp_last(lp);
    it->positioned = 1;
}

/* ------------------------------------------------------------------ */
/* Argument helpers                                                    */

/* LEFT -> QL_HEAD, RIGHT -> QL_TAIL; syntax error otherwise. */
static int arg_where(client *c, int i, int *where)
{
    if (arg_is(ARG(c, i), ARGLEN(c, i), "left")) *where = QL_HEAD;
    else if (arg_is(ARG(c, i), ARGLEN(c, i), "right")) *where = QL_TAIL;
    else {
        reply_syntax_err(c);
        return -1;
    }
    return 0;
}

/* Blocks on argv[first .. first+n-1]. */
static void list_block(client *c, int first, int n, long long deadline)
{
    int small[16] = {0};
    int *pos = n <= 16 ? small : xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) pos[i] = first + i;
    blocking_block(c, n, pos, deadline);
    if (pos != small) xfree(pos);
}

static kv *lookup_list_read(client *c, int i, int *wrong)
{
    kv *e = db_lookup_read(c->db, ARG(c, i), ARGLEN(c, i));
    *wrong = e && e->type != OBJ_LIST;
    if (*wrong) reply_wrongtype(c);
    return e;
}

static kv *lookup_list_write(client *c, int i, int *wrong)
{
    kv *e = db_lookup_write(c->db, ARG(c, i), ARGLEN(c, i));
    *wrong = e && e->type != OBJ_LIST;
    if (*wrong) reply_wrongtype(c);
    return e;
}

/* ------------------------------------------------------------------ */
/* Push / pop                                                          */

static void push_generic(client *c, int where, int only_existing)
{
    int wrong;
    kv *e = lookup_list_write(c, 1, &wrong);
    if (wrong) return;
    if (!e) {
        if (only_existing) {
            reply_int(c, 0);
            return;
        }
        e = list_create(c->db, ARG(c, 1), ARGLEN(c, 1));
    }
    for (int j = 2; j < c->argc; j++) list_push(e, where, ARG(c, j), ARGLEN(c, j));
    srv.dirty += c->argc - 2;
    reply_int(c, (long long)list_len(e));
}

static void lpush_cmd(client *c) { push_generic(c, QL_HEAD, 0); }
static void rpush_cmd(client *c) { push_generic(c, QL_TAIL, 0); }
static void lpushx_cmd(client *c) { push_generic(c, QL_HEAD, 1); }
static void rpushx_cmd(client *c) { push_generic(c, QL_TAIL, 1); }

/* Replies an array of up to n elements popped from where (RPOP order is
 * tail first) and removes them. */
static void list_pop_range_reply(client *c, kv *e, int where, unsigned long n)
{
    list_iter it;
    reply_array(c, (long long)n);
    list_iter_init(&it, e, where == QL_HEAD ? QL_FWD : QL_BWD, where == QL_HEAD ? 0 : -1);
    for (unsigned long i = 0; i < n && list_iter_next(&it); i++) list_iter_reply(c, &it);
    long start = where == QL_HEAD ? 0 : -(long)n;
    if (e->enc == OBJ_ENC_LISTPACK) e->val = lp_delete_range(e->val, start, n);
    else ql_del_range(e->val, start, n);
}

static void pop_generic(client *c, int where)
{
    long long count = 0;
    int has_count = c->argc == 3, wrong;
    if (c->argc > 3) {
        reply_arity_err(c);
        return;
    }
    if (has_count && (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &count) || count < 0)) {
        reply_error(c, ERR_MUST_BE_POSITIVE);
        return;
    }
    kv *e = lookup_list_write(c, 1, &wrong);
    if (wrong) return;
    if (!e) {
        if (has_count) reply_null_array(c);
        else reply_null(c);
        return;
    }
    if (has_count && count == 0) {
        reply_empty_array(c);
        return;
    }
    if (!has_count) {
        list_pop_reply(c, e, where);
        srv.dirty++;
    } else {
        unsigned long len = list_len(e);
        unsigned long n = (unsigned long long)count < len ? (unsigned long)count : len;
        list_pop_range_reply(c, e, where, n);
        srv.dirty += (long long)n;
    }
    list_after_removal(c->db, e);
}

static void lpop_cmd(client *c) { pop_generic(c, QL_HEAD); }
static void rpop_cmd(client *c) { pop_generic(c, QL_TAIL); }

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static void llen_cmd(client *c)
{
    int wrong;
    kv *e = lookup_list_read(c, 1, &wrong);
    if (wrong) return;
    reply_int(c, e ? (long long)list_len(e) : 0);
}

static void lindex_cmd(client *c)
{
    int wrong;
    long long index;
    kv *e = lookup_list_read(c, 1, &wrong);
    if (wrong) return;
    if (!e) {
        reply_null(c);
        return;
    }
    if (arg_ll(c, 2, &index)) return;
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *p = lp_seek(e->val, (long)index);
        if (p) reply_lp_entry(c, p);
        else reply_null(c);
    } else {
        ql_entry qe;
        if (ql_index(e->val, (long)index, &qe)) reply_ql_entry(c, &qe);
        else reply_null(c);
    }
}

/* Normalizes LRANGE/LTRIM style bounds; 0 if the range is empty. */
static int list_range(long long llen, long long *start, long long *end)
{
    if (*start < 0) *start += llen;
    if (*end < 0) *end += llen;
    if (*start < 0) *start = 0;
    if (*start > *end || *start >= llen) return 0;
    if (*end >= llen) *end = llen - 1;
    return 1;
}

static void lrange_cmd(client *c)
{
    long long start, end;
    int wrong;
    if (arg_ll(c, 2, &start) || arg_ll(c, 3, &end)) return;
    kv *e = lookup_list_read(c, 1, &wrong);
    if (wrong) return;
    if (!e || !list_range((long long)list_len(e), &start, &end)) {
        reply_empty_array(c);
        return;
    }
    long long n = end - start + 1;
    list_iter it;
    reply_array(c, n);
    list_iter_init(&it, e, QL_FWD, (long)start);
    while (n-- > 0 && list_iter_next(&it)) list_iter_reply(c, &it);
}

static void lpos_cmd(client *c)
{
    long long rank = 1, count = -1, maxlen = 0;
    for (int j = 3; j < c->argc; j++) {
        const char *opt = ARG(c, j);
        size_t ol = ARGLEN(c, j);
        int more = j + 1 < c->argc;
        if (more && arg_is(opt, ol, "rank")) {
            if (arg_ll(c, ++j, &rank)) return;
            if (rank == 0) {
                reply_error(c, "ERR RANK can't be zero: use 1 to start from the first match, "
                               "2 from the second ... or use negative to start from the end of the list");
                return;
            }
        } else if (more && arg_is(opt, ol, "count")) {
            j++;
            if (!str_to_ll(ARG(c, j), ARGLEN(c, j), &count) || count < 0) {
                reply_error(c, "ERR COUNT can't be negative");
                return;
            }
        } else if (more && arg_is(opt, ol, "maxlen")) {
            j++;
            if (!str_to_ll(ARG(c, j), ARGLEN(c, j), &maxlen) || maxlen < 0) {
                reply_error(c, "ERR MAXLEN can't be negative");
                return;
            }
        } else {
            reply_syntax_err(c);
            return;
        }
    }
    int dir = QL_FWD;
    /* Negative rank searches from the tail. Redis 7.0 accepts LLONG_MIN,
     * which then matches from the first hit on (kept as is). */
    if (rank < 0) {
        dir = QL_BWD;
        if (rank != LLONG_MIN) rank = -rank;
    }
    int wrong;
    kv *e = lookup_list_read(c, 1, &wrong);
    if (wrong) return;
    if (!e) {
        if (count != -1) reply_empty_array(c);
        else reply_null(c);
        return;
    }
    size_t mark = count != -1 ? reply_defer(c) : 0;
    long long llen = (long long)list_len(e), index = 0, matches = 0, found = -1, nreplied = 0;
    const char *ele = ARG(c, 2);
    size_t elen = ARGLEN(c, 2);
    list_iter it;
    list_iter_init(&it, e, dir, dir == QL_FWD ? 0 : -1);
    while ((maxlen == 0 || index < maxlen) && list_iter_next(&it)) {
        if (list_iter_eq(&it, ele, elen)) {
            matches++;
            if (matches >= rank) {
                found = dir == QL_FWD ? index : llen - index - 1;
                if (count == -1) break;
                nreplied++;
                reply_int(c, found);
                /* matches - rank + 1, wrapping as Redis's arithmetic does. */
                long long got = (long long)((unsigned long long)matches - (unsigned long long)rank + 1);
                if (count && got >= count) break;
            }
        }
        index++;
    }
    if (count != -1) reply_defer_set(c, mark, '*', nreplied);
    else if (found != -1) reply_int(c, found);
    else reply_null(c);
}

/* ------------------------------------------------------------------ */
/* In-place changes                                                    */

static void lset_cmd(client *c)
{
    int wrong;
    long long index;
    kv *e = lookup_list_write(c, 1, &wrong);
    if (wrong) return;
    if (!e) {
        reply_error(c, ERR_NO_KEY);
        return;
    }
    if (arg_ll(c, 2, &index)) return;
    const char *s = ARG(c, 3);
    size_t len = ARGLEN(c, 3);
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        unsigned char *p = lp_seek(lp, (long)index);
        if (!p) {
            reply_error(c, ERR_OUT_OF_RANGE);
            return;
        }
        size_t newbytes = lp_bytes(lp) - lp_entry_bytes(p) + lp_entry_size_str(s, len);
        if (!list_lp_too_big(newbytes, lp_length(lp))) {
            e->val = lp_replace(lp, &p, s, len);
            goto done;
        }
        list_to_quicklist(e);
    }
    if (!ql_replace_at(e->val, (long)index, s, len)) {
        reply_error(c, ERR_OUT_OF_RANGE);
        return;
    }
    list_try_shrink(e);   /* a big element replaced by a small one */
done:
    srv.dirty++;
    reply_ok(c);
}

static void ltrim_cmd(client *c)
{
    long long start, end;
    int wrong;
    if (arg_ll(c, 2, &start) || arg_ll(c, 3, &end)) return;
    kv *e = lookup_list_write(c, 1, &wrong);
    if (wrong) return;
    if (!e) {
        reply_ok(c);
        return;
    }
    long long llen = (long long)list_len(e), ltrim, rtrim;
    if (list_range(llen, &start, &end)) {
        ltrim = start;
        rtrim = llen - end - 1;
    } else {
        ltrim = llen;
        rtrim = 0;
    }
    if (e->enc == OBJ_ENC_LISTPACK) {
        if (ltrim) e->val = lp_delete_range(e->val, 0, (unsigned long)ltrim);
        if (rtrim) e->val = lp_delete_range(e->val, -(long)rtrim, (unsigned long)rtrim);
    } else {
        if (ltrim) ql_del_range(e->val, 0, (unsigned long)ltrim);
        if (rtrim) ql_del_range(e->val, -(long)rtrim, (unsigned long)rtrim);
    }
    srv.dirty += ltrim + rtrim;
    list_after_removal(c->db, e);
    reply_ok(c);
}

static void lrem_cmd(client *c)
{
    long long toremove, removed = 0;
    int wrong;
    if (arg_ll(c, 2, &toremove)) return;
    kv *e = lookup_list_write(c, 1, &wrong);
    if (wrong) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    const char *s = ARG(c, 3);
    size_t len = ARGLEN(c, 3);
    int dir = toremove < 0 ? QL_BWD : QL_FWD;
    /* |LLONG_MIN| does not fit: any count beyond the length means "all". */
    unsigned long long limit = toremove < 0 ? (unsigned long long)(-(toremove + 1)) + 1
                                            : (unsigned long long)toremove;
    list_iter it;
    list_iter_init(&it, e, dir, dir == QL_FWD ? 0 : -1);
    while (list_iter_next(&it)) {
        if (!list_iter_eq(&it, s, len)) continue;
        list_iter_del(&it);
        removed++;
        if (limit && (unsigned long long)removed == limit) break;
    }
    if (removed) {
        srv.dirty += removed;
        list_after_removal(c->db, e);
    }
    reply_int(c, removed);
}

static void linsert_cmd(client *c)
{
    int where, wrong;
    if (arg_is(ARG(c, 2), ARGLEN(c, 2), "before")) where = QL_BEFORE;
    else if (arg_is(ARG(c, 2), ARGLEN(c, 2), "after")) where = QL_AFTER;
    else {
        reply_syntax_err(c);
        return;
    }
    kv *e = lookup_list_write(c, 1, &wrong);
    if (wrong) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    const char *pivot = ARG(c, 3), *s = ARG(c, 4);
    size_t plen = ARGLEN(c, 3), len = ARGLEN(c, 4);
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        if (list_lp_too_big(lp_bytes(lp) + lp_entry_size_str(s, len), lp_length(lp) + 1)) {
            list_to_quicklist(e);
        } else {
            unsigned char *p = lp_find(lp, lp_first(lp), pivot, plen, 0);
            if (!p) {
                reply_int(c, -1);
                return;
            }
            e->val = lp_insert(lp, p, where == QL_AFTER ? LP_AFTER : LP_BEFORE, s, len, NULL);
            srv.dirty++;
            reply_int(c, (long long)list_len(e));
            return;
        }
    }
    ql_iter it;
    ql_entry qe;
    ql_iter_init(&it, e->val, QL_FWD);
    while (ql_next(&it, &qe)) {
        if (ql_entry_eq(&qe, pivot, plen)) {
            ql_insert(e->val, &qe, where, s, len);
            srv.dirty++;
            reply_int(c, (long long)list_len(e));
            return;
        }
    }
    reply_int(c, -1);
}

/* ------------------------------------------------------------------ */
/* LMOVE and friends                                                   */

/* Moves one element of src (a non-empty list at argv[1]) to the list at
 * argv[2] and replies it. Replies WRONGTYPE (and returns -1) when the
 * destination is not a list. */
static int move_one(client *c, kv *src, int wherefrom, int whereto)
{
    int wrong;
    db *d = c->db;
    kv *dst = lookup_list_write(c, 2, &wrong);
    if (wrong) return -1;
    char buf[256];
    size_t len;
    char *v = list_pop_copy(src, wherefrom, buf, sizeof(buf), &len);
    /* src == dst is fine: the key still exists while it is momentarily empty. */
    if (!dst) dst = list_create(d, ARG(c, 2), ARGLEN(c, 2));
    list_push(dst, whereto, v, len);
    reply_bulk(c, v, len);
    if (v != buf) xfree(v);
    srv.dirty++;
    list_after_removal(d, src);
    return 0;
}

static void lmove_generic(client *c, int wherefrom, int whereto)
{
    int wrong;
    kv *src = lookup_list_write(c, 1, &wrong);
    if (wrong) return;
    if (!src) {
        reply_null(c);
        return;
    }
    move_one(c, src, wherefrom, whereto);
}

static void lmove_cmd(client *c)
{
    int wf, wt;
    if (arg_where(c, 3, &wf) || arg_where(c, 4, &wt)) return;
    lmove_generic(c, wf, wt);
}

static void rpoplpush_cmd(client *c) { lmove_generic(c, QL_TAIL, QL_HEAD); }

/* BLMOVE / BRPOPLPUSH: timeout at argv[tidx]. */
static void blmove_generic(client *c, int wherefrom, int whereto, int tidx)
{
    long long deadline;
    int wrong;
    if (arg_timeout(c, tidx, &deadline)) return;
    kv *src = lookup_list_write(c, 1, &wrong);
    if (wrong) return;
    if (!src) {
        if (blocking_allowed(c)) list_block(c, 1, 1, deadline);
        else reply_null(c);
        return;
    }
    if (move_one(c, src, wherefrom, whereto)) return;
    if (tidx == 5) {
        const char *av[5] = {"LMOVE", ARG(c, 1), ARG(c, 2), ARG(c, 3), ARG(c, 4)};
        size_t al[5] = {5, ARGLEN(c, 1), ARGLEN(c, 2), ARGLEN(c, 3), ARGLEN(c, 4)};
        cmd_rewrite_propagated(c, 5, av, al);
    } else {
        const char *av[3] = {"RPOPLPUSH", ARG(c, 1), ARG(c, 2)};
        size_t al[3] = {9, ARGLEN(c, 1), ARGLEN(c, 2)};
        cmd_rewrite_propagated(c, 3, av, al);
    }
}

static void blmove_cmd(client *c)
{
    int wf, wt;
    if (arg_where(c, 3, &wf) || arg_where(c, 4, &wt)) return;
    blmove_generic(c, wf, wt, 5);
}

static void brpoplpush_cmd(client *c) { blmove_generic(c, QL_TAIL, QL_HEAD, 3); }

/* ------------------------------------------------------------------ */
/* Blocking pops and LMPOP                                             */

/* BLPOP/BRPOP key [key ...] timeout */
static void bpop_generic(client *c, int where)
{
    long long deadline;
    if (arg_timeout(c, c->argc - 1, &deadline)) return;
    /* A retry serves only from keys that hold lists now; Redis likewise
     * ignores a waited-on key that became another type. */
    int retry = (c->flags & CLIENT_REEXEC) != 0;
    for (int j = 1; j < c->argc - 1; j++) {
        kv *e = db_lookup_write(c->db, ARG(c, j), ARGLEN(c, j));
        if (!e) continue;
        if (e->type != OBJ_LIST) {
            if (retry) continue;
            reply_wrongtype(c);
            return;
        }
        reply_array(c, 2);
        reply_bulk(c, ARG(c, j), ARGLEN(c, j));
        list_pop_reply(c, e, where);
        srv.dirty++;
        list_after_removal(c->db, e);
        const char *av[2] = {where == QL_HEAD ? "LPOP" : "RPOP", ARG(c, j)};
        size_t al[2] = {4, ARGLEN(c, j)};
        cmd_rewrite_propagated(c, 2, av, al);
        return;
    }
    if (blocking_allowed(c)) list_block(c, 1, c->argc - 2, deadline);
    else reply_null_array(c);
}

static void blpop_cmd(client *c) { bpop_generic(c, QL_HEAD); }
static void brpop_cmd(client *c) { bpop_generic(c, QL_TAIL); }

/* [B]LMPOP: numkeys at argv[nidx], then the keys, LEFT|RIGHT [COUNT n].
 * BLMPOP's timeout (argv[1]) is checked after these, as Redis does. */
static void lmpop_generic(client *c, int nidx, int blocking)
{
    long long numkeys, count = -1, deadline = 0;
    int where;
    if (!str_to_ll(ARG(c, nidx), ARGLEN(c, nidx), &numkeys) || numkeys <= 0) {
        reply_error(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys >= c->argc - nidx - 1) {
        reply_syntax_err(c);
        return;
    }
    int widx = nidx + (int)numkeys + 1;
    if (arg_where(c, widx, &where)) return;
    for (int j = widx + 1; j < c->argc; j++) {
        if (count == -1 && j + 1 < c->argc && arg_is(ARG(c, j), ARGLEN(c, j), "count")) {
            j++;
            if (!str_to_ll(ARG(c, j), ARGLEN(c, j), &count) || count <= 0) {
                reply_error(c, "ERR count should be greater than 0");
                return;
            }
        } else {
            reply_syntax_err(c);
            return;
        }
    }
    if (count == -1) count = 1;
    if (blocking && arg_timeout(c, 1, &deadline)) return;
    int retry = (c->flags & CLIENT_REEXEC) != 0;
    for (int j = nidx + 1; j < widx; j++) {
        kv *e = db_lookup_write(c->db, ARG(c, j), ARGLEN(c, j));
        if (!e) continue;
        if (e->type != OBJ_LIST) {
            if (retry) continue;
            reply_wrongtype(c);
            return;
        }
        unsigned long len = list_len(e);
        unsigned long n = (unsigned long long)count < len ? (unsigned long)count : len;
        reply_array(c, 2);
        reply_bulk(c, ARG(c, j), ARGLEN(c, j));
        list_pop_range_reply(c, e, where, n);
        srv.dirty += (long long)n;
        list_after_removal(c->db, e);
        /* Propagated as [LR]POP key n. */
        char nbuf[24];
        int nl = ll_to_str(nbuf, (long long)n);
        const char *av[3] = {where == QL_HEAD ? "LPOP" : "RPOP", ARG(c, j), nbuf};
        size_t al[3] = {4, ARGLEN(c, j), (size_t)nl};
        cmd_rewrite_propagated(c, 3, av, al);
        return;
    }
    if (blocking && blocking_allowed(c)) list_block(c, nidx + 1, (int)numkeys, deadline);
    else reply_null_array(c);
}

static void lmpop_cmd(client *c) { lmpop_generic(c, 1, 0); }
static void blmpop_cmd(client *c) { lmpop_generic(c, 2, 1); }

const cmd_binding list_commands[] = {
    {"lpush", lpush_cmd},       {"rpush", rpush_cmd},         {"lpushx", lpushx_cmd},
    {"rpushx", rpushx_cmd},     {"lpop", lpop_cmd},           {"rpop", rpop_cmd},
    {"llen", llen_cmd},         {"lindex", lindex_cmd},       {"lset", lset_cmd},
    {"lrange", lrange_cmd},     {"ltrim", ltrim_cmd},         {"lrem", lrem_cmd},
    {"linsert", linsert_cmd},   {"lpos", lpos_cmd},           {"lmove", lmove_cmd},
    {"rpoplpush", rpoplpush_cmd}, {"lmpop", lmpop_cmd},       {"blpop", blpop_cmd},
    {"brpop", brpop_cmd},       {"blmove", blmove_cmd},       {"brpoplpush", brpoplpush_cmd},
    {"blmpop", blmpop_cmd},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ */
/* obj_type_ops                                                        */

static void list_free_val(int enc, void *val)
{
    if (!val) return;
    if (enc == OBJ_ENC_LISTPACK) lp_free(val);
    else ql_free(val);
}

static void *list_dup_val(int enc, const void *val)
{
    if (enc == OBJ_ENC_LISTPACK) return lp_dup(val);
    return ql_dup(val);
}

static size_t list_mem_usage(int enc, const void *val)
{
    if (enc == OBJ_ENC_LISTPACK) return mem_alloc_size(val);
    return ql_mem_usage(val);
}

static const char *list_enc_name(int enc, const void *val)
{
    /* Redis 7.0 reports every list as a quicklist (a single listpack
     * node inside); Shoal stores small lists as a bare listpack but
     * answers as 7.0 does. */
    (void)val;
    (void)enc;
    return "quicklist";
}

/* DUMP body: varint count, then per element varint length + bytes
 * (integer entries rendered in decimal). */
static void list_serialize(int enc, const void *val, buf_t *out)
{
    kv tmp;
    tmp.enc = (uint32_t)enc;
    tmp.val = (void *)val;
    list_iter it;
    char intbuf[LP_INTBUF_SIZE];
    buf_append_varint(out, list_len(&tmp));
    list_iter_init(&it, &tmp, QL_FWD, 0);
    while (list_iter_next(&it)) {
        size_t len;
        const char *s = enc == OBJ_ENC_LISTPACK ? lp_get_str(it.cur, &len, intbuf)
                                                : ql_entry_str(&it.qe, &len, intbuf);
        buf_append_varint(out, len);
        buf_append(out, s, len);
    }
}

static int list_deserialize(const char *data, size_t n, int *enc, void **val)
{
    const unsigned char *p = (const unsigned char *)data, *end = p + n, *start;
    unsigned long long count, len;
    /* Each element takes at least its length byte: bounds count up front. */
    if (!varint_read(&p, end, &count) || count == 0 || count > (unsigned long long)(end - p))
        return -1;
    start = p;
    for (unsigned long long i = 0; i < count; i++) {
        if (!varint_read(&p, end, &len) || len > (unsigned long long)(end - p) ||
            len > LP_MAX_SAFE_SIZE)
            return -1;
        p += len;
    }
    if (p != end) return -1;
    kv tmp;
    tmp.enc = OBJ_ENC_LISTPACK;
    tmp.val = lp_new();
    for (p = start; p < end;) {
        varint_read(&p, end, &len);
        list_push(&tmp, QL_TAIL, (const char *)p, (size_t)len);
        p += len;
    }
    *enc = (int)tmp.enc;
    *val = tmp.val;
    return 0;
}

const obj_type_ops list_type_ops = {
    "list", list_free_val, list_dup_val, list_mem_usage, list_enc_name, list_serialize, list_deserialize,
};
