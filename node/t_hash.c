/* t_hash.c: the hash type — HSET/HGET/... HSCAN — and its obj_type_ops.
 *
 * A small hash is one listpack of field,value,field,value... (encoding
 * "listpack"): no per-hash side structures, so 10 small fields cost one
 * ~170-byte block. It becomes a dict of DICT_BYTES entries ("hashtable",
 * value stored inline with the field) once it holds more than
 * hash-max-listpack-entries fields or any field/value is longer than
 * hash-max-listpack-value bytes; it never converts back, as in Redis. */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "dict.h"
#include "listpack.h"
#include "mem.h"
#include "obj.h"
#include "reply.h"
#include "scan.h"
#include "server.h"
#include "util.h"
#include <limits.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------
 * Randomness for HRANDFIELD (xorshift64*, seeded lazily: quality is
 * plenty for sampling and it never blocks). */

static uint64_t hash_rng;

static uint64_t hash_rand64(void)
{
    if (!hash_rng) hash_rng = ((uint64_t)time_us() ^ ((uint64_t)getpid() << 32)) | 1;
    hash_rng ^= hash_rng >> 12;
    hash_rng ^= hash_rng << 25;
    hash_rng ^= hash_rng >> 27;
    return hash_rng * 0x2545F4914F6CDD1DULL;
}

static uint64_t hash_rand_below(uint64_t n) { return n ? hash_rand64() % n : 0; }

/* ---------------------------------------------------------------------
 * Encoding-independent primitives. */

static size_t hash_len(const kv *e)
{
    if (e->enc == OBJ_ENC_LISTPACK) return lp_length(e->val) / 2;
    return dict_size(e->val);
}

/* Converts a listpack hash to a dict (sized for its fields up front). */
static void hash_convert(kv *e)
{
    unsigned char *lp = e->val;
    dict *d = dict_new(DICT_BYTES);
    char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
    dict_expand(d, lp_length(lp) / 2);
    for (unsigned char *p = lp_first(lp); p;) {
        size_t fl, vl;
        unsigned char *q = lp_next(lp, p);
        const char *f = lp_get_str(p, &fl, fb);
        const char *v = lp_get_str(q, &vl, vb);
        dict_upsert_bytes(d, f, fl, v, vl, NULL);
        p = lp_next(lp, q);
    }
    lp_free(lp);
    e->val = d;
    e->enc = OBJ_ENC_HT;
}

/* The value entry of field f in a listpack hash, or NULL. */
static unsigned char *hash_lp_find(unsigned char *lp, const char *f, size_t fl)
{
    unsigned char *p = lp_find(lp, lp_first(lp), f, fl, 1);
    return p ? lp_next(lp, p) : NULL;
}

/* Looks up field f: 1 and the value bytes (integers rendered into ib,
 * LP_INTBUF_SIZE bytes), or 0 if absent. */
static int hash_get(kv *e, const char *f, size_t fl, const char **v, size_t *vl, char *ib)
{
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *p = hash_lp_find(e->val, f, fl);
        if (!p) return 0;
        *v = lp_get_str(p, vl, ib);
        return 1;
    }
    dict_entry *de = dict_find(e->val, f, fl);
    if (!de) return 0;
    *v = dict_bytes(de, vl);
    return 1;
}

static int hash_exists(kv *e, const char *f, size_t fl)
{
    if (e->enc == OBJ_ENC_LISTPACK) return lp_find(e->val, lp_first(e->val), f, fl, 1) != NULL;
    return dict_find(e->val, f, fl) != NULL;
}

/* Sets field f to v; returns 1 if the field is new. Converts the hash
 * first when the strings are too long for a listpack, and after adding
 * when it has too many fields. */
static int hash_set(kv *e, const char *f, size_t fl, const char *v, size_t vl)
{
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        if ((long long)fl > cfg.hash_max_listpack_value || (long long)vl > cfg.hash_max_listpack_value ||
            !lp_safe_to_add(lp, fl + vl + 22)) {
            hash_convert(e);
        } else {
            unsigned char *p = hash_lp_find(lp, f, fl);
            if (p) {
                e->val = lp_replace(lp, &p, v, vl);
                return 0;
            }
            lp = lp_append(lp, f, fl);
            e->val = lp_append(lp, v, vl);
            if ((long long)(lp_length(e->val) / 2) > cfg.hash_max_listpack_entries) hash_convert(e);
            return 1;
        }
    }
    int created;
    dict_upsert_bytes(e->val, f, fl, v, vl, &created);
    return created;
}

/* Removes field f; returns 1 if it was there. */
static int hash_del(kv *e, const char *f, size_t fl)
{
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        unsigned char *p = lp_find(lp, lp_first(lp), f, fl, 1);
        if (!p) return 0;
        e->val = lp_delete_range_at(lp, p, 2);
        return 1;
    }
    return dict_delete(e->val, f, fl);
}

/* Walks every field/value pair of either encoding. */
typedef struct hash_iter {
    int enc;
    unsigned char *lp, *p;
    dict_iter di;
    char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
} hash_iter;

static void hash_iter_init(hash_iter *it, int enc, void *val)
{
    it->enc = enc;
    if (enc == OBJ_ENC_LISTPACK) {
        it->lp = val;
        it->p = lp_first(val);
    } else {
        dict_iter_init(&it->di, val);
    }
}

static int hash_iter_next(hash_iter *it, const char **f, size_t *fl, const char **v, size_t *vl)
{
    if (it->enc == OBJ_ENC_LISTPACK) {
        if (!it->p) return 0;
        unsigned char *q = lp_next(it->lp, it->p);
        *f = lp_get_str(it->p, fl, it->fb);
        *v = lp_get_str(q, vl, it->vb);
        it->p = lp_next(it->lp, q);
        return 1;
    }
    dict_entry *de = dict_iter_next(&it->di);
    if (!de) return 0;
    *f = dict_key(de);
    *fl = dict_klen(de);
    *v = dict_bytes(de, vl);
    return 1;
}

/* Key argv[1]: 0 with *out (NULL if absent), or -1 after a WRONGTYPE reply. */
static int hash_key(client *c, int write, kv **out)
{
    kv *e = write ? db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1))
                  : db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (e && e->type != OBJ_HASH) {
        reply_wrongtype(c);
        return -1;
    }
    *out = e;
    return 0;
}

static kv *hash_create(client *c)
{
    return db_add(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_HASH, OBJ_ENC_LISTPACK, lp_new());
}

/* ---------------------------------------------------------------------
 * Commands. */

static void hset_generic(client *c, int hmset)
{
    kv *e;
    if (c->argc % 2) {
        reply_arity_err(c);
        return;
    }
    if (hash_key(c, 1, &e) < 0) return;
    if (!e) e = hash_create(c);
    long long created = 0;
    for (int i = 2; i < c->argc; i += 2)
        created += hash_set(e, ARG(c, i), ARGLEN(c, i), ARG(c, i + 1), ARGLEN(c, i + 1));
    srv.dirty += (c->argc - 2) / 2;
    if (hmset) reply_ok(c);
    else reply_int(c, created);
}

static void hset_cmd(client *c) { hset_generic(c, 0); }
static void hmset_cmd(client *c) { hset_generic(c, 1); }

static void hsetnx_cmd(client *c)
{
    kv *e;
    if (hash_key(c, 1, &e) < 0) return;
    if (e && hash_exists(e, ARG(c, 2), ARGLEN(c, 2))) {
        reply_int(c, 0);
        return;
    }
    if (!e) e = hash_create(c);
    hash_set(e, ARG(c, 2), ARGLEN(c, 2), ARG(c, 3), ARGLEN(c, 3));
    srv.dirty++;
    reply_int(c, 1);
}

static void hget_cmd(client *c)
{
    kv *e;
    const char *v;
    size_t vl;
    char ib[LP_INTBUF_SIZE];
    if (hash_key(c, 0, &e) < 0) return;
    if (e && hash_get(e, ARG(c, 2), ARGLEN(c, 2), &v, &vl, ib)) reply_bulk(c, v, vl);
    else reply_null(c);
}

static void hmget_cmd(client *c)
{
    kv *e;
    if (hash_key(c, 0, &e) < 0) return;
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const char *v;
        size_t vl;
        char ib[LP_INTBUF_SIZE];
        if (e && hash_get(e, ARG(c, i), ARGLEN(c, i), &v, &vl, ib)) reply_bulk(c, v, vl);
        else reply_null(c);
    }
}

static void hdel_cmd(client *c)
{
    kv *e;
    if (hash_key(c, 1, &e) < 0) return;
    long long deleted = 0;
    if (e) {
        for (int i = 2; i < c->argc; i++) {
            if (hash_del(e, ARG(c, i), ARGLEN(c, i))) {
                deleted++;
                if (hash_len(e) == 0) break;
            }
        }
        if (deleted) db_delete_if_empty(c->db, e, hash_len(e));
    }
    srv.dirty += deleted;
    reply_int(c, deleted);
}

static void hlen_cmd(client *c)
{
    kv *e;
    if (hash_key(c, 0, &e) < 0) return;
    reply_int(c, e ? (long long)hash_len(e) : 0);
}

static void hstrlen_cmd(client *c)
{
    kv *e;
    const char *v;
    size_t vl;
    char ib[LP_INTBUF_SIZE];
    if (hash_key(c, 0, &e) < 0) return;
    reply_int(c, e && hash_get(e, ARG(c, 2), ARGLEN(c, 2), &v, &vl, ib) ? (long long)vl : 0);
}

static void hexists_cmd(client *c)
{
    kv *e;
    if (hash_key(c, 0, &e) < 0) return;
    reply_int(c, e && hash_exists(e, ARG(c, 2), ARGLEN(c, 2)));
}

enum { HASH_KEYS = 1, HASH_VALS = 2 };

static void hash_getall(client *c, int what)
{
    kv *e;
    if (hash_key(c, 0, &e) < 0) return;
    if (!e) {
        if (what == (HASH_KEYS | HASH_VALS)) reply_map(c, 0);
        else reply_empty_array(c);
        return;
    }
    long long n = (long long)hash_len(e);
    if (what == (HASH_KEYS | HASH_VALS)) reply_map(c, n);
    else reply_array(c, n);
    hash_iter it;
    const char *f, *v;
    size_t fl, vl;
    hash_iter_init(&it, e->enc, e->val);
    while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
        if (what & HASH_KEYS) reply_bulk(c, f, fl);
        if (what & HASH_VALS) reply_bulk(c, v, vl);
    }
}

static void hgetall_cmd(client *c) { hash_getall(c, HASH_KEYS | HASH_VALS); }
static void hkeys_cmd(client *c) { hash_getall(c, HASH_KEYS); }
static void hvals_cmd(client *c) { hash_getall(c, HASH_VALS); }

static void hincrby_cmd(client *c)
{
    long long incr, cur = 0;
    kv *e;
    if (arg_ll(c, 3, &incr) < 0) return;
    if (hash_key(c, 1, &e) < 0) return;
    const char *f = ARG(c, 2);
    size_t fl = ARGLEN(c, 2);
    unsigned char *p = NULL;
    dict_entry *de = NULL;
    if (e && e->enc == OBJ_ENC_LISTPACK) {
        p = hash_lp_find(e->val, f, fl);
        if (p && !lp_get_ll(p, &cur)) {
            reply_error(c, "ERR hash value is not an integer");
            return;
        }
    } else if (e) {
        de = dict_find(e->val, f, fl);
        if (de) {
            size_t vl;
            const char *v = dict_bytes(de, &vl);
            if (!str_to_ll(v, vl, &cur)) {
                reply_error(c, "ERR hash value is not an integer");
                return;
            }
        }
    }
    if ((incr < 0 && cur < 0 && incr < LLONG_MIN - cur) || (incr > 0 && cur > 0 && incr > LLONG_MAX - cur)) {
        reply_error(c, ERR_OVERFLOW);
        return;
    }
    cur += incr;
    if (p) {
        e->val = lp_replace_int(e->val, &p, cur);
    } else {
        char buf[24];
        int n = ll_to_str(buf, cur);
        if (de) {
            dict_set_bytes(e->val, de, buf, (size_t)n);
        } else {
            if (!e) e = hash_create(c);
            hash_set(e, f, fl, buf, (size_t)n);
        }
    }
    srv.dirty++;
    reply_int(c, cur);
}

static void hincrbyfloat_cmd(client *c)
{
    long double incr, cur = 0;
    kv *e;
    if (arg_ldouble(c, 3, &incr) < 0) return;
    if (isnan(incr) || isinf(incr)) {
        reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    if (hash_key(c, 1, &e) < 0) return;
    const char *f = ARG(c, 2), *v;
    size_t fl = ARGLEN(c, 2), vl;
    char ib[LP_INTBUF_SIZE];
    if (e && hash_get(e, f, fl, &v, &vl, ib) && !str_to_ldouble(v, vl, &cur)) {
        reply_error(c, "ERR hash value is not a float");
        return;
    }
    cur += incr;
    if (isnan(cur) || isinf(cur)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[5120];   /* long doubles render to at most ~5000 characters */
    int n = ldouble_to_str(buf, sizeof(buf), cur);
    if (!e) e = hash_create(c);
    hash_set(e, f, fl, buf, (size_t)n);
    srv.dirty++;
    reply_bulk(c, buf, (size_t)n);
    /* Replay the result, not the increment: float sums must not drift
     * between this node and its replicas / AOF. */
    const char *argv[4] = {"HSET", ARG(c, 1), f, buf};
    size_t argl[4] = {4, ARGLEN(c, 1), fl, (size_t)n};
    cmd_rewrite_propagated(c, 4, argv, argl);
}

/* ---------------------------------------------------------------------
 * HRANDFIELD */

/* One field (and value) of an HRANDFIELD reply. */
static void hrand_emit(client *c, int withvalues, const char *f, size_t fl, const char *v, size_t vl)
{
    if (withvalues && c->proto == 3) reply_array(c, 2);
    reply_bulk(c, f, fl);
    if (withvalues) reply_bulk(c, v, vl);
}

static void hrand_emit_lp(client *c, int withvalues, unsigned char *lp, unsigned char *fp)
{
    char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
    size_t fl, vl = 0;
    const char *f = lp_get_str(fp, &fl, fb), *v = NULL;
    if (withvalues) v = lp_get_str(lp_next(lp, fp), &vl, vb);
    hrand_emit(c, withvalues, f, fl, v, vl);
}

static void hrand_emit_de(client *c, int withvalues, const dict_entry *de)
{
    size_t vl;
    const char *v = dict_bytes(de, &vl);
    hrand_emit(c, withvalues, dict_key(de), dict_klen(de), v, vl);
}

static void hrandfield_count(client *c, long long l, int withvalues)
{
    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!e) {
        reply_empty_array(c);
        return;
    }
    if (e->type != OBJ_HASH) {
        reply_wrongtype(c);
        return;
    }
    unsigned long long count = l < 0 ? (unsigned long long)-l : (unsigned long long)l;
    size_t size = hash_len(e);
    if (count == 0) {
        reply_empty_array(c);
        return;
    }
    int flat = withvalues && c->proto == 2;

    if (l < 0) {
        /* Repeats allowed: independent uniform picks. */
        reply_array(c, flat ? (long long)count * 2 : (long long)count);
        if (e->enc == OBJ_ENC_LISTPACK) {
            unsigned char *lp = e->val, **idx = xmalloc(size * sizeof(*idx));
            size_t i = 0;
            for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) idx[i++] = p;
            while (count--) hrand_emit_lp(c, withvalues, lp, idx[hash_rand_below(size)]);
            xfree(idx);
        } else {
            while (count--) hrand_emit_de(c, withvalues, dict_random(e->val));
        }
        return;
    }
    if (count >= size) {
        /* The whole hash, in its own order. */
        hash_iter it;
        const char *f, *v;
        size_t fl, vl;
        reply_array(c, flat ? (long long)size * 2 : (long long)size);
        hash_iter_init(&it, e->enc, e->val);
        while (hash_iter_next(&it, &f, &fl, &v, &vl)) hrand_emit(c, withvalues, f, fl, v, vl);
        return;
    }
    reply_array(c, flat ? (long long)count * 2 : (long long)count);
    if (e->enc == OBJ_ENC_LISTPACK) {
        /* Selection sampling (Knuth's algorithm S): one pass, each subset
         * of `count` fields equally likely, no allocation. */
        unsigned char *lp = e->val;
        size_t left = size, need = count;
        for (unsigned char *p = lp_first(lp); p && need; p = lp_next(lp, lp_next(lp, p)), left--) {
            if (hash_rand_below(left) < need) {
                hrand_emit_lp(c, withvalues, lp, p);
                need--;
            }
        }
    } else {
        dict_entry **out = xmalloc(count * sizeof(*out));
        unsigned long got = dict_random_distinct(e->val, out, (unsigned long)count);
        for (unsigned long i = 0; i < got; i++) hrand_emit_de(c, withvalues, out[i]);
        xfree(out);
    }
}

static void hrandfield_cmd(client *c)
{
    if (c->argc >= 3) {
        long long l;
        if (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &l)) {
            reply_error(c, ERR_NOT_INT);
            return;
        }
        if (l == LLONG_MIN) {
            reply_error(c, "ERR value is out of range, value must between -9223372036854775807 and "
                           "9223372036854775807");
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !arg_is(ARG(c, 3), ARGLEN(c, 3), "withvalues"))) {
            reply_syntax_err(c);
            return;
        }
        int withvalues = c->argc == 4;
        /* The flat RESP2 reply has 2*count elements: keep that representable. */
        if (withvalues && (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2)) {
            reply_error(c, "ERR value is out of range");
            return;
        }
        hrandfield_count(c, l, withvalues);
        return;
    }
    kv *e;
    if (hash_key(c, 0, &e) < 0) return;
    if (!e) {
        reply_null(c);
        return;
    }
    if (e->enc == OBJ_ENC_LISTPACK) {
        unsigned char *lp = e->val;
        hrand_emit_lp(c, 0, lp, lp_seek(lp, (long)(2 * hash_rand_below(hash_len(e)))));
    } else {
        hrand_emit_de(c, 0, dict_random(e->val));
    }
}

/* ---------------------------------------------------------------------
 * HSCAN */

static void hscan_cmd(client *c)
{
    unsigned long long cursor;
    kv *e;
    if (arg_scan_cursor(c, 2, &cursor) < 0) return;
    if (hash_key(c, 0, &e) < 0) return;
    if (!e) {
        scan_reply_head(c, 0, 0);
        return;
    }
    scan_opts o;
    if (scan_parse_opts(c, 3, 0, &o) < 0) return;
    if (e->enc == OBJ_ENC_LISTPACK) {
        /* Small hashes are returned whole, with cursor 0, as Redis does. */
        unsigned char *lp = e->val;
        size_t mark = 0;
        long long n = 0;
        char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
        scan_reply_head(c, 0, o.pat ? -1 : (long long)hash_len(e) * 2);
        if (o.pat) mark = reply_defer(c);
        for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
            size_t fl, vl;
            const char *f = lp_get_str(p, &fl, fb);
            if (!scan_match(&o, f, fl)) continue;
            const char *v = lp_get_str(lp_next(lp, p), &vl, vb);
            reply_bulk(c, f, fl);
            reply_bulk(c, v, vl);
            n += 2;
        }
        if (o.pat) reply_defer_set(c, mark, '*', n);
        return;
    }
    const dict_entry **v;
    size_t keep;
    unsigned long cur = scan_dict(e->val, (unsigned long)cursor, &o, &v, &keep);
    scan_reply_head(c, cur, (long long)keep * 2);
    for (size_t i = 0; i < keep; i++) {
        size_t vl;
        const char *val = dict_bytes(v[i], &vl);
        reply_bulk(c, dict_key(v[i]), dict_klen(v[i]));
        reply_bulk(c, val, vl);
    }
    xfree(v);
}

const cmd_binding hash_commands[] = {
    {"hset", hset_cmd},         {"hmset", hmset_cmd},       {"hsetnx", hsetnx_cmd},
    {"hget", hget_cmd},         {"hmget", hmget_cmd},       {"hdel", hdel_cmd},
    {"hlen", hlen_cmd},         {"hstrlen", hstrlen_cmd},   {"hexists", hexists_cmd},
    {"hkeys", hkeys_cmd},       {"hvals", hvals_cmd},       {"hgetall", hgetall_cmd},
    {"hincrby", hincrby_cmd},   {"hincrbyfloat", hincrbyfloat_cmd},
    {"hrandfield", hrandfield_cmd}, {"hscan", hscan_cmd},
    {NULL, NULL},
};

/* ---------------------------------------------------------------------
 * obj_type_ops */

static void hash_free_val(int enc, void *val)
{
    if (!val) return;
    if (enc == OBJ_ENC_LISTPACK) lp_free(val);
    else dict_free(val, NULL);
}

static void *hash_dup_val(int enc, const void *val)
{
    if (enc == OBJ_ENC_LISTPACK) return lp_dup(val);
    return dict_dup(val, NULL);
}

static size_t hash_mem_usage(int enc, const void *val)
{
    if (enc == OBJ_ENC_LISTPACK) return mem_alloc_size(val);
    size_t total = dict_overhead(val);
    dict_iter it;
    dict_entry *de;
    dict_iter_init(&it, (dict *)val);
    while ((de = dict_iter_next(&it))) total += mem_alloc_size(de);
    return total;
}

static const char *hash_enc_name(int enc, const void *val)
{
    (void)val;
    return enc == OBJ_ENC_LISTPACK ? "listpack" : "hashtable";
}

/* DUMP body: varint count, then per pair varint len + field bytes,
 * varint len + value bytes. */
static void hash_serialize(int enc, const void *val, buf_t *out)
{
    hash_iter it;
    const char *f, *v;
    size_t fl, vl;
    kv tmp;
    tmp.enc = (uint32_t)enc;
    tmp.val = (void *)val;
    buf_append_varint(out, hash_len(&tmp));
    hash_iter_init(&it, enc, (void *)val);
    while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
        buf_append_varint(out, fl);
        buf_append(out, f, fl);
        buf_append_varint(out, vl);
        buf_append(out, v, vl);
    }
}

/* Reads one length-prefixed string; 0 if it runs past the end. */
static int hash_get_str(const unsigned char **p, const unsigned char *end, const char **s, size_t *len)
{
    unsigned long long l;
    if (!varint_read(p, end, &l) || l > (unsigned long long)(end - *p) || l > DICT_MAX_KEY) return 0;
    *s = (const char *)*p;
    *len = (size_t)l;
    *p += l;
    return 1;
}

static int hash_deserialize(const char *data, size_t n, int *enc, void **val)
{
    const unsigned char *p = (const unsigned char *)data, *end = p + n;
    unsigned long long count;
    const char *f, *v;
    size_t fl, vl;
    /* Each pair needs at least two length bytes: bounds count before any allocation. */
    if (!varint_read(&p, end, &count) || count == 0 || count > (unsigned long long)(end - p) / 2) return -1;
    /* First pass: well-formed, and small enough for a listpack? */
    const unsigned char *start = p;
    int small = (long long)count <= cfg.hash_max_listpack_entries;
    for (unsigned long long i = 0; i < count; i++) {
        if (!hash_get_str(&p, end, &f, &fl) || !hash_get_str(&p, end, &v, &vl)) return -1;
        if ((long long)fl > cfg.hash_max_listpack_value || (long long)vl > cfg.hash_max_listpack_value) small = 0;
    }
    if (p != end) return -1;
    p = start;
    kv tmp;
    if (small) {
        tmp.enc = OBJ_ENC_LISTPACK;
        tmp.val = lp_new();
    } else {
        tmp.enc = OBJ_ENC_HT;
        tmp.val = dict_new(DICT_BYTES);
        dict_expand(tmp.val, (size_t)count);
    }
    for (unsigned long long i = 0; i < count; i++) {
        hash_get_str(&p, end, &f, &fl);
        hash_get_str(&p, end, &v, &vl);
        if (hash_exists(&tmp, f, fl)) {    /* duplicate field: corrupt payload */
            hash_free_val((int)tmp.enc, tmp.val);
            return -1;
        }
        hash_set(&tmp, f, fl, v, vl);
    }
    *enc = (int)tmp.enc;
    *val = tmp.val;
    return 0;
}

const obj_type_ops hash_type_ops = {
    "hash", hash_free_val, hash_dup_val, hash_mem_usage, hash_enc_name, hash_serialize, hash_deserialize,
};
