/* t_set.c: the set type — SADD ... SSCAN, the set algebra commands — and
 * its obj_type_ops.
 *
 * A set whose members are all canonical 64-bit integers is an intset
 * (encoding "intset") while it has at most set-max-intset-entries members;
 * otherwise it is a DICT_SET dict ("hashtable"). It never converts back,
 * as in Redis 7.0 (which has no listpack sets). */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "dict.h"
#include "intset.h"
#include "mem.h"
#include "obj.h"
#include "reply.h"
#include "scan.h"
#include "server.h"
#include "util.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------
 * Randomness for SPOP / SRANDMEMBER (xorshift64*, seeded lazily). */

static uint64_t set_rng;

static uint64_t set_rand64(void)
{
    if (!set_rng) set_rng = ((uint64_t)time_us() ^ ((uint64_t)getpid() << 32)) | 1;
    set_rng ^= set_rng >> 12;
    set_rng ^= set_rng << 25;
    set_rng ^= set_rng >> 27;
    return set_rng * 0x2545F4914F6CDD1DULL;
}

static uint64_t set_rand_below(uint64_t n) { return n ? set_rand64() % n : 0; }

/* ---------------------------------------------------------------------
 * A set value apart from its key (results of SINTER & co. are built in
 * one before they are stored or replied). */

typedef struct setv {
    int   enc;     /* OBJ_ENC_INTSET or OBJ_ENC_HT */
    void *val;     /* intset* or dict* (DICT_SET) */
} setv;

static setv sv_of(const kv *e)
{
    setv s = {(int)e->enc, e->val};
    return s;
}

static void sv_store(kv *e, const setv *s)
{
    e->enc = (uint32_t)s->enc;
    e->val = s->val;
}

static setv sv_new_int(void)
{
    setv s = {OBJ_ENC_INTSET, intset_new()};
    return s;
}

static setv sv_new_ht(void)
{
    setv s = {OBJ_ENC_HT, dict_new(DICT_SET)};
    return s;
}

static void sv_free(setv *s)
{
    if (!s->val) return;
    if (s->enc == OBJ_ENC_INTSET) intset_free(s->val);
    else dict_free(s->val, NULL);
    s->val = NULL;
}

static size_t sv_size(const setv *s)
{
    if (!s->val) return 0;   /* a missing key in set algebra */
    return s->enc == OBJ_ENC_INTSET ? intset_len(s->val) : dict_size(s->val);
}

/* A member as an integer, if it is one the intset can hold. */
static int set_member_int(const char *m, size_t len, long long *v)
{
    return len <= 20 && str_to_ll(m, len, v);
}

static void sv_convert(setv *s, size_t hint)
{
    intset *is = s->val;
    dict *d = dict_new(DICT_SET);
    uint32_t n = intset_len(is);
    dict_expand(d, hint > n ? hint : n);
    for (uint32_t i = 0; i < n; i++) {
        int64_t v;
        char buf[24];
        intset_get(is, i, &v);
        dict_add(d, buf, (size_t)ll_to_str(buf, v));
    }
    intset_free(is);
    s->enc = OBJ_ENC_HT;
    s->val = d;
}

/* Adds a member; 1 if it was new. Converts an intset that gets a
 * non-integer or grows past set-max-intset-entries. */
static int sv_add(setv *s, const char *m, size_t len)
{
    if (s->enc == OBJ_ENC_INTSET) {
        long long v;
        if (set_member_int(m, len, &v)) {
            int added;
            s->val = intset_add(s->val, v, &added);
            if (added && (long long)intset_len(s->val) > cfg.set_max_intset_entries) sv_convert(s, 0);
            return added;
        }
        sv_convert(s, 0);
    }
    int existed;
    dict_add_or_find(s->val, m, len, &existed);
    return !existed;
}

/* Same, for a member known as an integer. */
static int sv_add_int(setv *s, long long v)
{
    if (s->enc == OBJ_ENC_INTSET) {
        int added;
        s->val = intset_add(s->val, v, &added);
        if (added && (long long)intset_len(s->val) > cfg.set_max_intset_entries) sv_convert(s, 0);
        return added;
    }
    char buf[24];
    int existed;
    dict_add_or_find(s->val, buf, (size_t)ll_to_str(buf, v), &existed);
    return !existed;
}

static int sv_remove(setv *s, const char *m, size_t len)
{
    if (s->enc == OBJ_ENC_INTSET) {
        long long v;
        int removed = 0;
        if (set_member_int(m, len, &v)) s->val = intset_remove(s->val, v, &removed);
        return removed;
    }
    return dict_delete(s->val, m, len);
}

/* Membership; isint/v say whether the caller also knows m as an
 * integer (then no parsing for intsets). */
static int sv_has(const setv *s, const char *m, size_t len, int isint, long long v)
{
    if (s->enc == OBJ_ENC_INTSET) {
        if (!isint && !set_member_int(m, len, &v)) return 0;
        return intset_find(s->val, v);
    }
    return dict_find(s->val, m, len) != NULL;
}

/* Iteration over either encoding. Members come as bytes (integers
 * rendered into the iterator's buffer) plus, for intsets, the integer. */
typedef struct set_iter {
    setv s;
    uint32_t pos;
    dict_iter di;
    char buf[24];
} set_iter;

static void set_iter_init(set_iter *it, const setv *s)
{
    it->s = *s;
    it->pos = 0;
    if (s->enc == OBJ_ENC_HT) dict_iter_init(&it->di, s->val);
}

static int set_iter_next(set_iter *it, const char **m, size_t *len, int *isint, long long *v)
{
    if (it->s.enc == OBJ_ENC_INTSET) {
        int64_t x;
        if (it->pos >= intset_len(it->s.val)) return 0;
        intset_get(it->s.val, it->pos++, &x);
        *v = x;
        *isint = 1;
        *len = (size_t)ll_to_str(it->buf, x);
        *m = it->buf;
        return 1;
    }
    dict_entry *de = dict_iter_next(&it->di);
    if (!de) return 0;
    *m = dict_key(de);
    *len = dict_klen(de);
    *isint = 0;
    return 1;
}

/* Reply one intset member. */
static void set_reply_int(client *c, long long v)
{
    char buf[24];
    reply_bulk(c, buf, (size_t)ll_to_str(buf, v));
}

static void set_reply_de(client *c, const dict_entry *de) { reply_bulk(c, dict_key(de), dict_klen(de)); }

/* Key at argv[i]: 0 with *out (NULL if absent), -1 after WRONGTYPE. */
static int set_key(client *c, int i, int write, kv **out)
{
    kv *e = write ? db_lookup_write(c->db, ARG(c, i), ARGLEN(c, i))
                  : db_lookup_read(c->db, ARG(c, i), ARGLEN(c, i));
    if (e && e->type != OBJ_SET) {
        reply_wrongtype(c);
        return -1;
    }
    *out = e;
    return 0;
}

/* ---------------------------------------------------------------------
 * Single-key commands. */

static void sadd_cmd(client *c)
{
    kv *e;
    if (set_key(c, 1, 1, &e) < 0) return;
    long long added = 0;
    setv s;
    if (e) {
        s = sv_of(e);
    } else {
        long long v;
        s = set_member_int(ARG(c, 2), ARGLEN(c, 2), &v) ? sv_new_int() : sv_new_ht();
    }
    for (int i = 2; i < c->argc; i++) added += sv_add(&s, ARG(c, i), ARGLEN(c, i));
    if (e) sv_store(e, &s);
    else db_add(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_SET, s.enc, s.val);
    srv.dirty += added;
    reply_int(c, added);
}

static void srem_cmd(client *c)
{
    kv *e;
    if (set_key(c, 1, 1, &e) < 0) return;
    long long removed = 0;
    if (e) {
        setv s = sv_of(e);
        for (int i = 2; i < c->argc && sv_size(&s); i++) removed += sv_remove(&s, ARG(c, i), ARGLEN(c, i));
        sv_store(e, &s);
        if (removed) db_delete_if_empty(c->db, e, sv_size(&s));
    }
    srv.dirty += removed;
    reply_int(c, removed);
}

static void scard_cmd(client *c)
{
    kv *e;
    if (set_key(c, 1, 0, &e) < 0) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    setv s = sv_of(e);
    reply_int(c, (long long)sv_size(&s));
}

static void sismember_cmd(client *c)
{
    kv *e;
    if (set_key(c, 1, 0, &e) < 0) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    setv s = sv_of(e);
    reply_int(c, sv_has(&s, ARG(c, 2), ARGLEN(c, 2), 0, 0));
}

static void smismember_cmd(client *c)
{
    kv *e;
    if (set_key(c, 1, 0, &e) < 0) return;
    reply_array(c, c->argc - 2);
    setv s = {0, NULL};
    if (e) s = sv_of(e);
    for (int i = 2; i < c->argc; i++) reply_int(c, e && sv_has(&s, ARG(c, i), ARGLEN(c, i), 0, 0));
}

/* Replies every member of s as a RESP3 set / RESP2 array. */
static void set_reply_all(client *c, const setv *s)
{
    set_iter it;
    const char *m;
    size_t len;
    int isint;
    long long v;
    reply_set(c, (long long)sv_size(s));
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &len, &isint, &v)) reply_bulk(c, m, len);
}

static void smembers_cmd(client *c)
{
    kv *e;
    if (set_key(c, 1, 0, &e) < 0) return;
    if (!e) {
        reply_set(c, 0);
        return;
    }
    setv s = sv_of(e);
    set_reply_all(c, &s);
}

static void smove_cmd(client *c)
{
    kv *src = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    kv *dst = db_lookup_write(c->db, ARG(c, 2), ARGLEN(c, 2));
    const char *m = ARG(c, 3);
    size_t len = ARGLEN(c, 3);
    /* Redis's order: a missing source wins over a wrong-typed destination. */
    if (!src) {
        reply_int(c, 0);
        return;
    }
    if (src->type != OBJ_SET || (dst && dst->type != OBJ_SET)) {
        reply_wrongtype(c);
        return;
    }
    setv s = sv_of(src);
    if (src == dst) {
        reply_int(c, sv_has(&s, m, len, 0, 0));
        return;
    }
    if (!sv_remove(&s, m, len)) {
        reply_int(c, 0);
        return;
    }
    sv_store(src, &s);
    srv.dirty++;
    db_delete_if_empty(c->db, src, sv_size(&s));
    setv d;
    if (dst) {
        d = sv_of(dst);
    } else {
        long long v;
        d = set_member_int(m, len, &v) ? sv_new_int() : sv_new_ht();
    }
    if (sv_add(&d, m, len)) srv.dirty++;
    if (dst) sv_store(dst, &d);
    else db_add(c->db, ARG(c, 2), ARGLEN(c, 2), OBJ_SET, d.enc, d.val);
    reply_int(c, 1);
}

/* ---------------------------------------------------------------------
 * SPOP / SRANDMEMBER */

/* Redis's error for a count outside -LONG_MAX..LONG_MAX. */
#define ERR_RANGE_SIGNED \
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"

/* Picks k distinct positions of 0..n-1 in increasing order (selection
 * sampling), calling fn for each. */
static void set_pick_positions(uint32_t n, uint32_t k, void (*fn)(void *ctx, uint32_t pos), void *ctx)
{
    uint32_t need = k;
    for (uint32_t i = 0; i < n && need; i++) {
        if (set_rand_below(n - i) < need) {
            fn(ctx, i);
            need--;
        }
    }
}

typedef struct pick_ctx {
    client *c;
    intset *is;
    unsigned char *mark;   /* SPOP: positions chosen */
} pick_ctx;

static void pick_reply(void *ctx, uint32_t pos)
{
    pick_ctx *p = ctx;
    int64_t v;
    intset_get(p->is, pos, &v);
    set_reply_int(p->c, v);
}

static void pick_mark(void *ctx, uint32_t pos)
{
    pick_ctx *p = ctx;
    p->mark[pos] = 1;
}

static void srandmember_count(client *c, long long l)
{
    kv *e;
    if (set_key(c, 1, 0, &e) < 0) return;
    if (!e) {
        reply_empty_array(c);
        return;
    }
    setv s = sv_of(e);
    size_t size = sv_size(&s);
    if (l == 0) {
        reply_empty_array(c);
        return;
    }
    if (l < 0) {
        unsigned long long count = (unsigned long long)-l;
        reply_array(c, (long long)count);
        if (s.enc == OBJ_ENC_INTSET) {
            while (count--) set_reply_int(c, intset_random(s.val));
        } else {
            while (count--) set_reply_de(c, dict_random(s.val));
        }
        return;
    }
    if ((unsigned long long)l >= size) {
        set_iter it;
        const char *m;
        size_t len;
        int isint;
        long long v;
        reply_array(c, (long long)size);
        set_iter_init(&it, &s);
        while (set_iter_next(&it, &m, &len, &isint, &v)) reply_bulk(c, m, len);
        return;
    }
    reply_array(c, l);
    if (s.enc == OBJ_ENC_INTSET) {
        pick_ctx p = {c, s.val, NULL};
        set_pick_positions(intset_len(s.val), (uint32_t)l, pick_reply, &p);
    } else {
        dict_entry **out = xmalloc((size_t)l * sizeof(*out));
        unsigned long got = dict_random_distinct(s.val, out, (unsigned long)l);
        for (unsigned long i = 0; i < got; i++) set_reply_de(c, out[i]);
        xfree(out);
    }
}

static void srandmember_cmd(client *c)
{
    if (c->argc > 3) {
        reply_syntax_err(c);
        return;
    }
    if (c->argc == 3) {
        long long l;
        if (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &l)) {
            reply_error(c, ERR_NOT_INT);
            return;
        }
        if (l == LLONG_MIN) {
            reply_error(c, ERR_RANGE_SIGNED);
            return;
        }
        srandmember_count(c, l);
        return;
    }
    kv *e;
    if (set_key(c, 1, 0, &e) < 0) return;
    if (!e) {
        reply_null(c);
        return;
    }
    if (e->enc == OBJ_ENC_INTSET) set_reply_int(c, intset_random(e->val));
    else set_reply_de(c, dict_random(e->val));
}

/* Propagation of SPOP: "SREM key m..." built from the members popped. */
typedef struct srem_prop {
    const char **argv;
    size_t *argl;
    char *ints;       /* rendered integers (24 bytes each) */
    int argc;
} srem_prop;

static void srem_prop_init(srem_prop *p, client *c, size_t n, int with_ints)
{
    p->argv = xmalloc((n + 2) * sizeof(*p->argv));
    p->argl = xmalloc((n + 2) * sizeof(*p->argl));
    p->ints = with_ints ? xmalloc(n * 24) : NULL;
    p->argv[0] = "SREM";
    p->argl[0] = 4;
    p->argv[1] = ARG(c, 1);
    p->argl[1] = ARGLEN(c, 1);
    p->argc = 2;
}

static void srem_prop_add(srem_prop *p, const char *m, size_t len)
{
    p->argv[p->argc] = m;
    p->argl[p->argc++] = len;
}

static void srem_prop_add_int(srem_prop *p, long long v)
{
    char *b = p->ints + (size_t)(p->argc - 2) * 24;
    srem_prop_add(p, b, (size_t)ll_to_str(b, v));
}

static void srem_prop_done(srem_prop *p, client *c)
{
    cmd_rewrite_propagated(c, p->argc, p->argv, p->argl);
    xfree(p->argv);
    xfree(p->argl);
    xfree(p->ints);
}

static void spop_count(client *c)
{
    long long l;
    if (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &l) || l < 0) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    kv *e;
    if (set_key(c, 1, 1, &e) < 0) return;
    if (!e || l == 0) {
        reply_set(c, 0);
        return;
    }
    setv s = sv_of(e);
    size_t size = sv_size(&s);
    if ((unsigned long long)l >= size) {
        /* Everything goes: reply it all, delete the key, replay as DEL. */
        set_reply_all(c, &s);
        const char *argv[2] = {"DEL", ARG(c, 1)};
        size_t argl[2] = {3, ARGLEN(c, 1)};
        cmd_rewrite_propagated(c, 2, argv, argl);
        db_delete(c->db, ARG(c, 1), ARGLEN(c, 1));
        srv.dirty += (long long)size;
        return;
    }
    srem_prop prop;
    reply_set(c, l);
    if (s.enc == OBJ_ENC_INTSET) {
        /* Mark the chosen positions, reply them, and rebuild the intset
         * from the others (sorted appends: O(n log n) overall). */
        uint32_t n = intset_len(s.val);
        pick_ctx p = {c, s.val, xcalloc(n, 1)};
        set_pick_positions(n, (uint32_t)l, pick_mark, &p);
        srem_prop_init(&prop, c, (size_t)l, 1);
        intset *keep = intset_new();
        for (uint32_t i = 0; i < n; i++) {
            int64_t v;
            intset_get(s.val, i, &v);
            if (p.mark[i]) {
                set_reply_int(c, v);
                srem_prop_add_int(&prop, v);
            } else {
                keep = intset_add(keep, v, NULL);
            }
        }
        srem_prop_done(&prop, c);
        xfree(p.mark);
        intset_free(s.val);
        s.val = keep;
        sv_store(e, &s);
    } else {
        dict_entry **out = xmalloc((size_t)l * sizeof(*out));
        unsigned long got = dict_random_distinct(s.val, out, (unsigned long)l);
        srem_prop_init(&prop, c, got, 0);
        for (unsigned long i = 0; i < got; i++) {
            set_reply_de(c, out[i]);
            srem_prop_add(&prop, dict_key(out[i]), dict_klen(out[i]));
        }
        srem_prop_done(&prop, c);   /* copies the members before they are freed */
        for (unsigned long i = 0; i < got; i++) {
            dict_unlink_entry(s.val, out[i]);
            dict_free_entry(out[i]);
        }
        xfree(out);
    }
    srv.dirty += l;
}

static void spop_cmd(client *c)
{
    if (c->argc > 3) {
        reply_syntax_err(c);
        return;
    }
    if (c->argc == 3) {
        spop_count(c);
        return;
    }
    kv *e;
    if (set_key(c, 1, 1, &e) < 0) return;
    if (!e) {
        reply_null(c);
        return;
    }
    setv s = sv_of(e);
    const char *argv[3] = {"SREM", ARG(c, 1), NULL};
    size_t argl[3] = {4, ARGLEN(c, 1), 0};
    char buf[24];
    if (s.enc == OBJ_ENC_INTSET) {
        long long v = intset_random(s.val);
        argl[2] = (size_t)ll_to_str(buf, v);
        argv[2] = buf;
        reply_bulk(c, buf, argl[2]);
        cmd_rewrite_propagated(c, 3, argv, argl);
        s.val = intset_remove(s.val, v, NULL);
    } else {
        dict_entry *de = dict_random(s.val);
        argv[2] = dict_key(de);
        argl[2] = dict_klen(de);
        reply_bulk(c, argv[2], argl[2]);
        cmd_rewrite_propagated(c, 3, argv, argl);
        dict_unlink_entry(s.val, de);
        dict_free_entry(de);
    }
    sv_store(e, &s);
    srv.dirty++;
    db_delete_if_empty(c->db, e, sv_size(&s));
}

/* ---------------------------------------------------------------------
 * Set algebra: SINTER / SINTERCARD / SUNION / SDIFF and the STORE forms. */

/* Looks up n keys from argv[first]: sets[i] (zeroed val if absent).
 * Returns the number of missing keys, or -1 after a WRONGTYPE reply.
 * Reads count hits/misses; STORE commands use write lookups as Redis. */
static int set_lookup_many(client *c, int first, int n, setv *sets, int write)
{
    int missing = 0;
    for (int i = 0; i < n; i++) {
        kv *e;
        if (set_key(c, first + i, write, &e) < 0) return -1;
        if (e) {
            sets[i] = sv_of(e);
        } else {
            sets[i].enc = OBJ_ENC_INTSET;
            sets[i].val = NULL;
            missing++;
        }
    }
    return missing;
}

static int cmp_by_size(const void *a, const void *b)
{
    size_t x = sv_size(a), y = sv_size(b);
    return x < y ? -1 : x > y;
}

static int cmp_by_size_desc(const void *a, const void *b) { return cmp_by_size(b, a); }

/* Intersection of n non-empty sets, smallest first. For each member of
 * the result, calls emit (when set) and counts; stops at limit (0 = none). */
static long long set_inter(setv *sets, int n, long long limit,
                           void (*emit)(void *ctx, const char *m, size_t len, int isint, long long v), void *ctx)
{
    qsort(sets, (size_t)n, sizeof(*sets), cmp_by_size);
    set_iter it;
    const char *m;
    size_t len;
    int isint;
    long long v, count = 0;
    set_iter_init(&it, &sets[0]);
    while (set_iter_next(&it, &m, &len, &isint, &v)) {
        int j;
        for (j = 1; j < n; j++) {
            if (sets[j].val == sets[0].val) continue;   /* same key twice */
            if (!sv_has(&sets[j], m, len, isint, v)) break;
        }
        if (j < n) continue;
        if (emit) emit(ctx, m, len, isint, v);
        if (++count == limit) break;
    }
    return count;
}

/* Result sinks: reply directly, or build a set to store. */
static void emit_reply(void *ctx, const char *m, size_t len, int isint, long long v)
{
    reply_bulk(ctx, m, len);
}

static void emit_build(void *ctx, const char *m, size_t len, int isint, long long v)
{
    if (isint) sv_add_int(ctx, v);
    else sv_add(ctx, m, len);
}

/* Stores a built result at dstkey (argv[1]) or deletes it when empty;
 * replies the cardinality. */
static void set_store_result(client *c, setv *res)
{
    size_t n = res->val ? sv_size(res) : 0;
    if (n == 0) {
        sv_free(res);
        if (db_delete(c->db, ARG(c, 1), ARGLEN(c, 1))) srv.dirty++;
        reply_int(c, 0);
        return;
    }
    db_set(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_SET, res->enc, res->val, 0);
    srv.dirty++;
    reply_int(c, (long long)n);
}

static void sinter_generic(client *c, int first, int n, int store)
{
    setv *sets = xmalloc((size_t)n * sizeof(*sets));
    int missing = set_lookup_many(c, first, n, sets, store);
    if (missing < 0) goto done;
    if (missing > 0) {
        if (store) {
            setv none = {OBJ_ENC_INTSET, NULL};
            set_store_result(c, &none);
        } else {
            reply_set(c, 0);
        }
        goto done;
    }
    if (store) {
        setv res = sv_new_int();
        set_inter(sets, n, 0, emit_build, &res);
        set_store_result(c, &res);
    } else {
        size_t mark = reply_defer(c);
        long long cnt = set_inter(sets, n, 0, emit_reply, c);
        reply_defer_set(c, mark, '~', cnt);
    }
done:
    xfree(sets);
}

static void sinter_cmd(client *c) { sinter_generic(c, 1, c->argc - 1, 0); }
static void sinterstore_cmd(client *c) { sinter_generic(c, 2, c->argc - 2, 1); }

static void sintercard_cmd(client *c)
{
    long long numkeys, limit = 0;
    if (!str_to_ll(ARG(c, 1), ARGLEN(c, 1), &numkeys) || numkeys < 1) {
        reply_error(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_is(ARG(c, j), ARGLEN(c, j), "limit") && j + 1 < c->argc) {
            j++;
            if (!str_to_ll(ARG(c, j), ARGLEN(c, j), &limit) || limit < 0) {
                reply_error(c, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_syntax_err(c);
            return;
        }
    }
    int n = (int)numkeys;
    setv *sets = xmalloc((size_t)n * sizeof(*sets));
    int missing = set_lookup_many(c, 2, n, sets, 0);
    if (missing == 0) reply_int(c, set_inter(sets, n, limit, NULL, NULL));
    else if (missing > 0) reply_int(c, 0);
    xfree(sets);
}

enum { SET_UNION, SET_DIFF };

static void set_add_all(setv *res, const setv *s)
{
    set_iter it;
    const char *m;
    size_t len;
    int isint;
    long long v;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &len, &isint, &v)) {
        if (isint) sv_add_int(res, v);
        else sv_add(res, m, len);
    }
}

static void set_remove_all(setv *res, const setv *s)
{
    set_iter it;
    const char *m;
    size_t len;
    int isint;
    long long v;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &len, &isint, &v) && sv_size(res)) {
        if (res->enc == OBJ_ENC_INTSET && isint) res->val = intset_remove(res->val, v, NULL);
        else sv_remove(res, m, len);
    }
}

/* SDIFF by checking each member of the first set against the others
 * (bigger sets first: a member is more likely found early). */
static long long set_diff_lookup(setv *sets, int n,
                                 void (*emit)(void *ctx, const char *m, size_t len, int isint, long long v),
                                 void *ctx)
{
    set_iter it;
    const char *m;
    size_t len;
    int isint;
    long long v, cnt = 0;
    if (n > 2) qsort(sets + 1, (size_t)(n - 1), sizeof(*sets), cmp_by_size_desc);
    set_iter_init(&it, &sets[0]);
    while (set_iter_next(&it, &m, &len, &isint, &v)) {
        int j;
        for (j = 1; j < n; j++) {
            if (!sets[j].val) continue;
            if (sets[j].val == sets[0].val || sv_has(&sets[j], m, len, isint, v)) break;
        }
        if (j < n) continue;
        emit(ctx, m, len, isint, v);
        cnt++;
    }
    return cnt;
}

static void sunion_diff_generic(client *c, int first, int n, int store, int op)
{
    setv *sets = xmalloc((size_t)n * sizeof(*sets));
    setv res = {OBJ_ENC_INTSET, NULL};
    if (set_lookup_many(c, first, n, sets, store) < 0) goto done;

    res = sv_new_int();
    if (op == SET_UNION) {
        for (int i = 0; i < n; i++)
            if (sets[i].val) set_add_all(&res, &sets[i]);
    } else if (sets[0].val) {
        /* Redis's cost model picks the algorithm (and so, for STORE, the
         * result's encoding path): N*M/2 lookups vs. copying the first
         * set and removing every member of the others. */
        size_t work1 = 0, work2 = 0, first_size = sv_size(&sets[0]);
        for (int i = 0; i < n; i++) {
            if (!sets[i].val) continue;
            work1 += first_size;
            work2 += sv_size(&sets[i]);
        }
        if (work1 / 2 <= work2) {
            if (!store) {
                /* Straight into the reply, no copy. */
                size_t mark = reply_defer(c);
                long long cnt = set_diff_lookup(sets, n, emit_reply, c);
                reply_defer_set(c, mark, '~', cnt);
                sv_free(&res);
                goto done;
            }
            set_diff_lookup(sets, n, emit_build, &res);
        } else {
            set_add_all(&res, &sets[0]);
            for (int i = 1; i < n && sv_size(&res); i++)
                if (sets[i].val) set_remove_all(&res, &sets[i]);
        }
    }
    if (store) {
        set_store_result(c, &res);
    } else {
        set_reply_all(c, &res);
        sv_free(&res);
    }
done:
    xfree(sets);
}

static void sunion_cmd(client *c) { sunion_diff_generic(c, 1, c->argc - 1, 0, SET_UNION); }
static void sunionstore_cmd(client *c) { sunion_diff_generic(c, 2, c->argc - 2, 1, SET_UNION); }
static void sdiff_cmd(client *c) { sunion_diff_generic(c, 1, c->argc - 1, 0, SET_DIFF); }
static void sdiffstore_cmd(client *c) { sunion_diff_generic(c, 2, c->argc - 2, 1, SET_DIFF); }

/* ---------------------------------------------------------------------
 * SSCAN */

static void sscan_cmd(client *c)
{
    unsigned long long cursor;
    kv *e;
    if (arg_scan_cursor(c, 2, &cursor) < 0) return;
    if (set_key(c, 1, 0, &e) < 0) return;
    if (!e) {
        scan_reply_head(c, 0, 0);
        return;
    }
    scan_opts o;
    if (scan_parse_opts(c, 3, 0, &o) < 0) return;
    if (e->enc == OBJ_ENC_INTSET) {
        /* Intsets are returned whole, with cursor 0, as Redis does. */
        intset *is = e->val;
        uint32_t n = intset_len(is);
        long long cnt = 0;
        size_t mark = 0;
        scan_reply_head(c, 0, o.pat ? -1 : (long long)n);
        if (o.pat) mark = reply_defer(c);
        for (uint32_t i = 0; i < n; i++) {
            int64_t v;
            char buf[24];
            intset_get(is, i, &v);
            int len = ll_to_str(buf, v);
            if (!scan_match(&o, buf, (size_t)len)) continue;
            reply_bulk(c, buf, (size_t)len);
            cnt++;
        }
        if (o.pat) reply_defer_set(c, mark, '*', cnt);
        return;
    }
    const dict_entry **v;
    size_t keep;
    unsigned long cur = scan_dict(e->val, (unsigned long)cursor, &o, &v, &keep);
    scan_reply_head(c, cur, (long long)keep);
    for (size_t i = 0; i < keep; i++) set_reply_de(c, v[i]);
    xfree(v);
}

const cmd_binding set_commands[] = {
    {"sadd", sadd_cmd},           {"srem", srem_cmd},               {"scard", scard_cmd},
    {"sismember", sismember_cmd}, {"smismember", smismember_cmd},   {"smembers", smembers_cmd},
    {"srandmember", srandmember_cmd}, {"spop", spop_cmd},           {"smove", smove_cmd},
    {"sinter", sinter_cmd},       {"sintercard", sintercard_cmd},   {"sinterstore", sinterstore_cmd},
    {"sunion", sunion_cmd},       {"sunionstore", sunionstore_cmd}, {"sdiff", sdiff_cmd},
    {"sdiffstore", sdiffstore_cmd}, {"sscan", sscan_cmd},
    {NULL, NULL},
};

/* ---------------------------------------------------------------------
 * obj_type_ops */

static void set_free_val(int enc, void *val)
{
    setv s = {enc, val};
    sv_free(&s);
}

static void *set_dup_val(int enc, const void *val)
{
    if (enc == OBJ_ENC_INTSET) return intset_dup(val);
    return dict_dup(val, NULL);
}

static size_t set_mem_usage(int enc, const void *val)
{
    if (enc == OBJ_ENC_INTSET) return mem_alloc_size(val);
    size_t total = dict_overhead(val);
    dict_iter it;
    dict_entry *de;
    dict_iter_init(&it, (dict *)val);
    while ((de = dict_iter_next(&it))) total += mem_alloc_size(de);
    return total;
}

static const char *set_enc_name(int enc, const void *val)
{
    (void)val;
    return enc == OBJ_ENC_INTSET ? "intset" : "hashtable";
}

/* DUMP body: varint count, then per member varint len + bytes. */
static void set_serialize(int enc, const void *val, buf_t *out)
{
    setv s = {enc, (void *)val};
    set_iter it;
    const char *m;
    size_t len;
    int isint;
    long long v;
    buf_append_varint(out, sv_size(&s));
    set_iter_init(&it, &s);
    while (set_iter_next(&it, &m, &len, &isint, &v)) {
        buf_append_varint(out, len);
        buf_append(out, m, len);
    }
}

static int set_deserialize(const char *data, size_t n, int *enc, void **val)
{
    const unsigned char *p = (const unsigned char *)data, *end = p + n;
    unsigned long long count;
    /* Each member needs at least one length byte: bounds count before allocating. */
    if (!varint_read(&p, end, &count) || count == 0 || count > (unsigned long long)(end - p)) return -1;
    const unsigned char *start = p;
    int ints = (long long)count <= cfg.set_max_intset_entries;
    for (unsigned long long i = 0; i < count; i++) {
        unsigned long long l;
        long long v;
        if (!varint_read(&p, end, &l) || l > (unsigned long long)(end - p) || l > DICT_MAX_KEY) return -1;
        if (ints && !set_member_int((const char *)p, (size_t)l, &v)) ints = 0;
        p += l;
    }
    if (p != end) return -1;
    p = start;
    setv s = ints ? sv_new_int() : sv_new_ht();
    if (!ints) dict_expand(s.val, (size_t)count);
    for (unsigned long long i = 0; i < count; i++) {
        unsigned long long l = 0;
        varint_read(&p, end, &l);
        if (!sv_add(&s, (const char *)p, (size_t)l)) {   /* duplicate: corrupt payload */
            sv_free(&s);
            return -1;
        }
        p += l;
    }
    *enc = s.enc;
    *val = s.val;
    return 0;
}

const obj_type_ops set_type_ops = {
    "set", set_free_val, set_dup_val, set_mem_usage, set_enc_name, set_serialize, set_deserialize,
};
