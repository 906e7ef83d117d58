/* sort: SORT and SORT_RO — the elements of a list, set or sorted set
 * ordered numerically or by bytes (ALPHA), optionally by the values of
 * other keys (BY pattern: '*' is replaced by the element, "->field" reads a
 * hash field), a window of the result (LIMIT), other keys fetched per
 * element (GET), and the result stored as a list (STORE).
 *
 * Elements are not copied: the sort vector holds views into the source
 * value (and into the keys BY read). That is safe because nothing is
 * written until the very end, and lookups in between can only delete
 * keys that were already expired (time is frozen during a command).
 * Integer-encoded elements (intset, listpack) are rendered once into an
 * arena so every element can be compared as bytes. */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "dict.h"
#include "intset.h"
#include "listpack.h"
#include "mem.h"
#include "obj.h"
#include "quicklist.h"
#include "reply.h"
#include "server.h"
#include "skiplist.h"
#include "util.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One element to sort. `s` is the element's bytes; `cmp` the ALPHA BY
 * value (NULL when the BY key is missing); `score` the numeric key. The
 * *_arena flags mark views that are arena offsets until fixed up. */
typedef struct sort_item {
    const char *s;
    size_t len;
    const char *cmp;
    size_t cmplen;
    double score;
    long long iv;
    unsigned s_arena : 1, cmp_arena : 1;
} sort_item;

/* A BY / GET pattern, pre-split: "#", or prefix '*' postfix ["->" field]. */
typedef struct sort_pat {
    const char *p;
    size_t len;
    int is_self;          /* "#": the element itself */
    long star;            /* offset of the first '*', -1 if none */
    const char *field;    /* hash field after "->", NULL if none */
    size_t flen;
    size_t postlen;       /* bytes between '*' and "->" (or the end) */
} sort_pat;

typedef struct sort_vec {
    sort_item *v;
    size_t n, cap;
    buf_t arena;          /* rendered integers (elements) */
} sort_vec;

/* ------------------------------------------------------------------ */
/* Patterns and lookups                                                */

static void pat_init(sort_pat *sp, const char *p, size_t len)
{
    memset(sp, 0, sizeof(*sp));
    sp->p = p;
    sp->len = len;
    sp->is_self = len == 1 && p[0] == '#';
    const char *star = memchr(p, '*', len);
    sp->star = star ? star - p : -1;
    if (!star) return;
    size_t after = (size_t)(star - p) + 1;
    /* The first "->" after the '*' with a non-empty field name marks a
     * hash access; otherwise "->" is just part of the key name. */
    for (size_t i = after; i + 2 < len; i++) {
        if (p[i] == '-' && p[i + 1] == '>') {
            sp->field = p + i + 2;
            sp->flen = len - i - 2;
            sp->postlen = i - after;
            return;
        }
    }
    sp->postlen = len - after;
}

/* The value the pattern names for element (el, elen): the element itself
 * for "#", a string key's value, or a hash field's value. Returns 1 with a
 * view (integers rendered into ib, 24 bytes), 0 when missing. */
static int pat_lookup(client *c, const sort_pat *sp, const char *el, size_t elen,
                      const char **out, size_t *outlen, char *ib)
{
    if (sp->is_self) {
        *out = el;
        *outlen = elen;
        return 1;
    }
    if (sp->star < 0) return 0;   /* a fixed key makes no sense per element */
    size_t pre = (size_t)sp->star, klen = pre + elen + sp->postlen;
    char small[256];
    char *key = klen <= sizeof(small) ? small : xmalloc(klen);
    memcpy(key, sp->p, pre);
    memcpy(key + pre, el, elen);
    memcpy(key + pre + elen, sp->p + pre + 1, sp->postlen);
    kv *e = db_lookup_read(c->db, key, klen);
    if (key != small) xfree(key);
    if (!e) return 0;
    if (!sp->field) {
        if (e->type != OBJ_STRING) return 0;
        *out = str_get(e, outlen, ib);
        return 1;
    }
    if (e->type != OBJ_HASH) return 0;
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        unsigned char *p = lp_find(lp, lp_first(lp), sp->field, sp->flen, 1);
        if (!p || !(p = lp_next(lp, p))) return 0;
        *out = lp_get_str(p, outlen, ib);
        return 1;
    }
    if (e->enc == OBJ_ENC_HT && dict_kind(e->val) == DICT_BYTES) {
        dict_entry *de = dict_find(e->val, sp->field, sp->flen);
        if (!de) return 0;
        *out = dict_bytes(de, outlen);
        return 1;
    }
    return 0;
}

/* A score as Redis reads one: strtod over the bytes up to the first NUL,
 * which must consume them all, no overflow, no NaN (so "" is 0 and
 * leading spaces or hex are accepted, exactly as Redis does). */
static int sort_parse_score(const char *s, size_t len, double *out)
{
    const char *nul = memchr(s, 0, len);
    if (nul) len = (size_t)(nul - s);
    char small[128];
    char *tmp = len < sizeof(small) ? small : xmalloc(len + 1);
    memcpy(tmp, s, len);
    tmp[len] = 0;
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    int ok = *end == 0 && errno != ERANGE && !isnan(d);
    if (tmp != small) xfree(tmp);
    *out = d;
    return ok;
}

/* ------------------------------------------------------------------ */
/* Loading the vector                                                  */

static sort_item *vec_push(sort_vec *sv)
{
    if (sv->n == sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 16;
        sv->v = xrealloc(sv->v, sv->cap * sizeof(sort_item));
    }
    sort_item *it = &sv->v[sv->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

static void vec_push_str(sort_vec *sv, const void *s, size_t len)
{
    sort_item *it = vec_push(sv);
    it->s = s;
    it->len = len;
}

static void vec_push_int(sort_vec *sv, long long v)
{
    char tmp[24];
    sort_item *it = vec_push(sv);
    it->len = (size_t)ll_to_str(tmp, v);
    it->s = (const char *)(uintptr_t)sv->arena.len;
    it->s_arena = 1;
    it->iv = v;
    buf_append(&sv->arena, tmp, it->len);
}

static void vec_push_lp(sort_vec *sv, const unsigned char *p)
{
    lp_val lv;
    lp_get(p, &lv);
    if (lv.s) vec_push_str(sv, lv.s, lv.len);
    else vec_push_int(sv, lv.v);
}

/* Arena offsets become pointers once the arena stops growing. */
static void vec_fix_arena(sort_vec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        if (sv->v[i].s_arena) sv->v[i].s = sv->arena.p + (uintptr_t)sv->v[i].s;
}

static long long sort_len(const kv *e)
{
    switch (e->type) {
    case OBJ_LIST:
        if (e->enc == OBJ_ENC_QUICKLIST) return (long long)ql_count(e->val);
        return (long long)lp_length(e->val);
    case OBJ_SET:
        if (e->enc == OBJ_ENC_INTSET) return intset_len(e->val);
        if (e->enc == OBJ_ENC_HT) return (long long)dict_size(e->val);
        return (long long)lp_length(e->val);
    case OBJ_ZSET:
        if (e->enc == OBJ_ENC_SKIPLIST) return (long long)zsb_len(e->val);
        return (long long)lp_length(e->val) / 2;
    }
    return 0;
}

/* `count` elements of a list or sorted set in their native order from
 * position `start` (counted from the tail / highest score when desc). */
static void load_range(sort_vec *sv, kv *e, long long start, long long count, int desc)
{
    long long len = sort_len(e);
    if (count <= 0 || start < 0 || start >= len) return;
    if (e->type == OBJ_LIST && e->enc == OBJ_ENC_QUICKLIST) {
        ql_iter it;
        ql_entry qe;
        ql_iter_init_at(&it, e->val, desc ? QL_BWD : QL_FWD, desc ? -1 - (long)start : (long)start);
        while (count-- > 0 && ql_next(&it, &qe)) {
            if (qe.s) vec_push_str(sv, qe.s, qe.len);
            else vec_push_int(sv, qe.v);
        }
    } else if (e->type == OBJ_LIST) {
        unsigned char *lp = e->val;
        unsigned char *p = lp_seek(lp, desc ? -1 - (long)start : (long)start);
        for (; p && count-- > 0; p = desc ? lp_prev(lp, p) : lp_next(lp, p)) vec_push_lp(sv, p);
    } else if (e->enc == OBJ_ENC_SKIPLIST) {
        zset_big *z = e->val;
        zsl_node *n = zsl_by_rank(z->zsl, (unsigned long)(desc ? len - start : start + 1));
        for (; n && count-- > 0; n = desc ? zsl_prev(n) : zsl_next(n)) {
            size_t l;
            const char *m = zsl_ele(n, &l);
            vec_push_str(sv, m, l);
        }
    } else {
        /* listpack zset: member, score, member, score... by score */
        unsigned char *lp = e->val;
        unsigned char *p = lp_seek(lp, desc ? -2 - 2 * (long)start : 2 * (long)start);
        while (p && count-- > 0) {
            vec_push_lp(sv, p);
            if (desc) {
                p = lp_prev(lp, p);
                p = p ? lp_prev(lp, p) : NULL;
            } else {
                p = lp_next(lp, p);
                p = p ? lp_next(lp, p) : NULL;
            }
        }
    }
}

static void load_all(sort_vec *sv, kv *e)
{
    if (e->type != OBJ_SET) {
        load_range(sv, e, 0, sort_len(e), 0);
    } else if (e->enc == OBJ_ENC_INTSET) {
        int64_t v;
        for (uint32_t i = 0; intset_get(e->val, i, &v); i++) vec_push_int(sv, v);
    } else if (e->enc == OBJ_ENC_HT) {
        dict_iter it;
        dict_iter_init(&it, e->val);
        for (dict_entry *de; (de = dict_iter_next(&it));) vec_push_str(sv, dict_key(de), dict_klen(de));
    } else {
        unsigned char *lp = e->val;
        for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) vec_push_lp(sv, p);
    }
}

/* ------------------------------------------------------------------ */
/* Ordering                                                            */

typedef struct sort_opts {
    int desc, alpha, store, bypattern;
} sort_opts;

/* Byte order, shorter first on a common prefix (STORE and tie-breaks). */
static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

/* strcoll() in the C locale, which stops at the first NUL as Redis's
 * non-STORE ALPHA sort does. */
static int cmp_coll(const char *a, size_t al, const char *b, size_t bl)
{
    const char *n;
    if ((n = memchr(a, 0, al))) al = (size_t)(n - a);
    if ((n = memchr(b, 0, bl))) bl = (size_t)(n - b);
    return cmp_bytes(a, al, b, bl);
}

static int item_cmp(const sort_item *x, const sort_item *y, const sort_opts *o)
{
    int r;
    if (!o->alpha) {
        if (x->score > y->score) r = 1;
        else if (x->score < y->score) r = -1;
        else r = cmp_bytes(x->s, x->len, y->s, y->len);  /* deterministic ties */
    } else if (o->bypattern) {
        if (!x->cmp || !y->cmp) r = x->cmp == y->cmp ? 0 : (!x->cmp ? -1 : 1);
        else if (o->store) r = cmp_bytes(x->cmp, x->cmplen, y->cmp, y->cmplen);
        else r = cmp_coll(x->cmp, x->cmplen, y->cmp, y->cmplen);
    } else if (o->store) {
        r = cmp_bytes(x->s, x->len, y->s, y->len);
    } else {
        r = cmp_coll(x->s, x->len, y->s, y->len);
    }
    return o->desc ? -r : r;
}

/* Stable merge sort: equal items keep their load order, which is what
 * Redis's libc qsort (a merge sort in glibc) gives for lists. */
static void sort_items(sort_item *v, size_t n, const sort_opts *o)
{
    if (n < 2) return;
    const size_t run = 16;
    for (size_t lo = 0; lo < n; lo += run) {           /* insertion-sorted runs */
        size_t hi = lo + run < n ? lo + run : n;
        for (size_t i = lo + 1; i < hi; i++) {
            sort_item t = v[i];
            size_t j = i;
            while (j > lo && item_cmp(&v[j - 1], &t, o) > 0) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = t;
        }
    }
    if (n <= run) return;
    sort_item *tmp = xmalloc(n * sizeof(sort_item)), *src = v, *dst = tmp;
    for (size_t w = run; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = item_cmp(&src[j], &src[i], o) < 0 ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        sort_item *s = src;
        src = dst;
        dst = s;
    }
    if (src != v) memcpy(v, src, n * sizeof(sort_item));
    xfree(tmp);
}

/* ------------------------------------------------------------------ */
/* The command                                                         */

/* The STORE result, built the way the list type builds lists: one
 * listpack while it fits a single quicklist node under
 * list-max-listpack-size, a quicklist beyond. (Mirrors t_list.c's rule;
 * that module exports no builder.) */
typedef struct sort_out {
    int enc;
    void *val;
    size_t maxb;          /* node byte limit */
    unsigned long maxc;   /* node entry limit */
    long long n;
} sort_out;

static void out_init(sort_out *o)
{
    static const size_t levels[] = {4096, 8192, 16384, 32768, 65536};
    long long f = cfg.list_max_listpack_size;
    if (f >= 0) {
        o->maxb = 8192;
        o->maxc = f == 0 ? 1 : (unsigned long)(f > 32768 ? 32768 : f);
    } else {
        o->maxb = levels[(f < -5 ? 5 : -f) - 1];
        o->maxc = ULONG_MAX;
    }
    o->enc = OBJ_ENC_LISTPACK;
    o->val = lp_new();
    o->n = 0;
}

static void out_push(sort_out *o, const char *s, size_t len)
{
    o->n++;
    if (o->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = o->val;
        if (lp_bytes(lp) + lp_entry_size_str(s, len) <= o->maxb && lp_length(lp) + 1 <= o->maxc) {
            o->val = lp_append(lp, s, len);
            return;
        }
        quicklist *ql = ql_new((int)cfg.list_max_listpack_size);
        ql_append_listpack(ql, lp);   /* adopted as the first node (freed if empty) */
        o->val = ql;
        o->enc = OBJ_ENC_QUICKLIST;
    }
    ql_push(o->val, QL_TAIL, s, len);
}

/* Stores the result under dst, replacing whatever it held (TTL
 * included); an empty result deletes dst instead. */
static void sort_store(client *c, const char *dst, size_t dlen, sort_out *o)
{
    if (o->n > 0) {
        db_set(c->db, dst, dlen, OBJ_LIST, o->enc, o->val, 0);
        srv.dirty += o->n;
    } else {
        obj_ops(OBJ_LIST)->free_val(o->enc, o->val);
        if (db_delete(c->db, dst, dlen)) srv.dirty++;
    }
    reply_int(c, o->n);
}

static void sort_generic(client *c, int readonly)
{
    sort_opts o = {0, 0, 0, 0};
    long long lstart = 0, lcount = -1;
    int dontsort = 0, nget = 0, by_idx = 0, store_idx = 0;
    sort_pat by, *gets = NULL;

    /* Options, left to right; the first bad one is the error reported. */
    for (int j = 2; j < c->argc; j++) {
        const char *a = ARG(c, j);
        size_t al = ARGLEN(c, j);
        int left = c->argc - j - 1;
        if (arg_is(a, al, "asc")) {
            o.desc = 0;
        } else if (arg_is(a, al, "desc")) {
            o.desc = 1;
        } else if (arg_is(a, al, "alpha")) {
            o.alpha = 1;
        } else if (arg_is(a, al, "limit") && left >= 2) {
            if (arg_ll(c, j + 1, &lstart) < 0 || arg_ll(c, j + 2, &lcount) < 0) goto done;
            j += 2;
        } else if (!readonly && arg_is(a, al, "store") && left >= 1) {
            store_idx = ++j;
        } else if (arg_is(a, al, "by") && left >= 1) {
            by_idx = ++j;
            /* A pattern without '*' (e.g. "nosort") means: don't sort. */
            dontsort = memchr(ARG(c, j), '*', ARGLEN(c, j)) == NULL;
            if (!dontsort && cfg.cluster_enabled) {
                reply_error(c, "ERR BY option of SORT denied in Cluster mode.");
                goto done;
            }
        } else if (arg_is(a, al, "get") && left >= 1) {
            /* Redis 7.0 refuses every GET in cluster mode, even GET #. */
            if (cfg.cluster_enabled) {
                reply_error(c, "ERR GET option of SORT denied in Cluster mode.");
                goto done;
            }
            if (!gets) gets = xmalloc(sizeof(sort_pat) * (size_t)c->argc);
            j++;
            pat_init(&gets[nget++], ARG(c, j), ARGLEN(c, j));
        } else {
            reply_syntax_err(c);
            goto done;
        }
    }

    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (e && e->type != OBJ_LIST && e->type != OBJ_SET && e->type != OBJ_ZSET) {
        reply_wrongtype(c);
        goto done;
    }
    o.store = store_idx != 0;
    if (by_idx && !dontsort) {
        o.bypattern = 1;
        pat_init(&by, ARG(c, by_idx), ARGLEN(c, by_idx));
    }
    /* An unsorted set would come out in hash order: for a stored result
     * make it deterministic by sorting ALPHA (as Redis does). */
    if (dontsort && e && e->type == OBJ_SET && o.store) {
        dontsort = 0;
        o.alpha = 1;
        o.bypattern = 0;
    }

    long long len = e ? sort_len(e) : 0;
    long long start = lstart < 0 ? 0 : lstart, end;
    if (lcount < 0) end = len - 1;
    else end = lcount > LLONG_MAX - start ? LLONG_MAX : start + lcount - 1;
    if (start >= len) {
        start = len - 1;
        end = len - 2;
    }
    if (end >= len) end = len - 1;

    sort_vec sv = {0};
    buf_init(&sv.arena);
    if (e && dontsort && (e->type == OBJ_LIST || e->type == OBJ_ZSET)) {
        /* Native order: load just the window (LIMIT applied here). */
        if (end >= start) load_range(&sv, e, start, end - start + 1, o.desc);
        end -= start;
        start = 0;
    } else if (e) {
        load_all(&sv, e);
    }
    vec_fix_arena(&sv);

    int conv_err = 0;
    buf_t cmparena;
    buf_init(&cmparena);
    if (!dontsort) {
        for (size_t i = 0; i < sv.n; i++) {
            sort_item *it = &sv.v[i];
            const char *bv = it->s;
            size_t bl = it->len;
            char ib[24];
            if (o.bypattern && !pat_lookup(c, &by, it->s, it->len, &bv, &bl, ib)) continue;
            if (o.alpha) {
                if (!o.bypattern) continue;
                if (bv == ib) {   /* rendered integer: keep a copy */
                    it->cmp = (const char *)(uintptr_t)cmparena.len;
                    it->cmp_arena = 1;
                    buf_append(&cmparena, ib, bl);
                } else {
                    it->cmp = bv;
                }
                it->cmplen = bl;
            } else if (!o.bypattern && it->s_arena) {
                it->score = (double)it->iv;
            } else if (!sort_parse_score(bv, bl, &it->score)) {
                conv_err = 1;
            }
        }
        for (size_t i = 0; i < sv.n; i++)
            if (sv.v[i].cmp_arena) sv.v[i].cmp = cmparena.p + (uintptr_t)sv.v[i].cmp;
        if (!conv_err) sort_items(sv.v, sv.n, &o);
    }

    long long outn = end - start + 1;
    if (outn < 0) outn = 0;
    if (nget) outn *= nget;
    if (conv_err) {
        reply_error(c, "ERR One or more scores can't be converted into double");
    } else if (!o.store) {
        reply_array(c, outn);
        for (long long j = start; j <= end; j++) {
            sort_item *it = &sv.v[j];
            if (!nget) reply_bulk(c, it->s, it->len);
            for (int g = 0; g < nget; g++) {
                const char *v;
                size_t vl;
                char ib[24];
                if (pat_lookup(c, &gets[g], it->s, it->len, &v, &vl, ib)) reply_bulk(c, v, vl);
                else reply_null(c);
            }
        }
    } else {
        sort_out out;
        out_init(&out);
        for (long long j = start; j <= end; j++) {
            sort_item *it = &sv.v[j];
            if (!nget) out_push(&out, it->s, it->len);
            for (int g = 0; g < nget; g++) {
                const char *v = "";
                size_t vl = 0;
                char ib[24];
                if (!pat_lookup(c, &gets[g], it->s, it->len, &v, &vl, ib)) vl = 0;
                out_push(&out, v, vl);
            }
        }
        sort_store(c, ARG(c, store_idx), ARGLEN(c, store_idx), &out);
    }
    xfree(sv.v);
    buf_free(&sv.arena);
    buf_free(&cmparena);
done:
    xfree(gets);
}

static void sort_cmd(client *c) { sort_generic(c, 0); }
static void sort_ro_cmd(client *c) { sort_generic(c, 1); }

const cmd_binding sort_commands[] = {
    {"sort", sort_cmd},
    {"sort_ro", sort_ro_cmd},
    {NULL, NULL},
};
