/* t_string.c: the string type — its obj_type_ops, and the string
 * commands (GET/SET family, counters, ranges, LCS).
 *
 * Values are either OBJ_ENC_INT (a canonical integer kept inside the
 * entry, no allocation) or OBJ_ENC_RAW (an sstr). OBJECT ENCODING must
 * tell Redis's "embstr" from "raw" although Shoal has a single string
 * layout: Redis reports "embstr" for short strings created whole (SET,
 * MSET, INCRBYFLOAT...) and "raw" once a command edited the bytes in place
 * (APPEND, SETRANGE, SETBIT, PFADD...). Shoal marks the edited kind by
 * capacity: str_writable() gives every edited string room for at least
 * STR_RAW_MIN_CAP bytes, while strings built whole by sstr_new() for
 * <= 44 bytes always have less (their allocation is at most 48 bytes).
 * The cost is a few dozen bytes on short edited strings. */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "mem.h"
#include "obj.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <limits.h>
#include <math.h>
#include <string.h>

#define STR_EMBSTR_MAX 44    /* Redis's embstr size limit */
#define STR_RAW_MIN_CAP 64   /* capacity that marks an edited ("raw") string */

/* ---- helpers shared with t_bitmap.c and t_hll.c ----------------------- */

/* Largest string a command may build: proto-max-bulk-len, bounded by
 * what sstr's 32-bit length can hold (with slack for BITFIELD, which
 * may reach a few bytes past its last offset). */
#define STR_HARD_MAX ((long long)UINT32_MAX - 64)
size_t str_max_len(void)
{
    long long lim = cfg.proto_max_bulk_len;
    if (lim <= 0 || lim > STR_HARD_MAX) lim = STR_HARD_MAX;
    return (size_t)lim;
}

/* Replies Redis's error and returns -1 if a string of old + add bytes
 * would exceed the limit (callers pass values far below 2^63). */
int str_check_len(client *c, unsigned long long old, unsigned long long add)
{
    if (old + add > str_max_len()) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

/* A zero-filled edited string of len bytes. */
sstr *str_new_raw(size_t len)
{
    size_t cap = len < STR_RAW_MIN_CAP ? STR_RAW_MIN_CAP : len;
    sstr *s = xcalloc(1, sizeof(sstr) + cap);
    s->len = (uint32_t)len;
    return s;
}

/* Makes e's string value editable in place and at least minlen bytes
 * long (new bytes zeroed): int values become bytes, short strings get
 * the "raw" capacity. Returns the sstr (also stored in e->val). */
sstr *str_writable(kv *e, size_t minlen)
{
    sstr *s;
    if (e->enc == OBJ_ENC_INT) {
        char tmp[24];
        size_t n = (size_t)ll_to_str(tmp, obj_val_to_int(e->val));
        s = str_new_raw(n > minlen ? n : minlen);
        memcpy(s->data, tmp, n);
        e->enc = OBJ_ENC_RAW;
        e->val = s;
        return s;
    }
    s = e->val;
    if (sstr_cap(s) < STR_RAW_MIN_CAP) {
        size_t want = minlen > STR_RAW_MIN_CAP ? minlen : STR_RAW_MIN_CAP;
        s = xrealloc(s, sizeof(sstr) + want);
    }
    if (minlen > s->len) s = sstr_grow(s, minlen);
    e->val = s;
    return s;
}

/* The value to store for bytes p/len the way SET does: canonical
 * integers inline, anything else as an sstr. */
static void *str_make_value(const char *p, size_t len, int *enc)
{
    long long v;
    if (len <= 20 && str_to_ll(p, len, &v)) {
        *enc = OBJ_ENC_INT;
        return obj_int_to_val(v);
    }
    *enc = OBJ_ENC_RAW;
    return sstr_new(p, len);
}

/* ---- obj_type_ops ----------------------------------------------------- */

static void string_free(int enc, void *val)
{
    if (enc != OBJ_ENC_INT) sstr_free(val);
}

static void *string_dup(int enc, const void *val)
{
    if (enc == OBJ_ENC_INT) return (void *)val;
    const sstr *s = val;
    if (sstr_cap(s) >= STR_RAW_MIN_CAP && s->len <= STR_EMBSTR_MAX) {
        sstr *d = str_new_raw(s->len); /* keep the "raw" mark */
        memcpy(d->data, s->data, s->len);
        return d;
    }
    return sstr_new(s->data, s->len);
}

static size_t string_mem(int enc, const void *val)
{
    return enc == OBJ_ENC_INT ? 0 : mem_alloc_size(val);
}

static const char *string_enc_name(int enc, const void *val)
{
    if (enc == OBJ_ENC_INT) return "int";
    const sstr *s = val;
    return s->len <= STR_EMBSTR_MAX && sstr_cap(s) < STR_RAW_MIN_CAP ? "embstr" : "raw";
}

/* DUMP body: one tag byte, then 'i' + 8-byte little-endian integer, or
 * 'e' (embstr kind) / 'r' (raw kind) + the bytes. */
static void string_serialize(int enc, const void *val, buf_t *out)
{
    if (enc == OBJ_ENC_INT) {
        uint64_t v = (uint64_t)obj_val_to_int(val);
        char b[9];
        b[0] = 'i';
        for (int i = 0; i < 8; i++) b[1 + i] = (char)(v >> (8 * i));
        buf_append(out, b, 9);
        return;
    }
    const sstr *s = val;
    buf_append(out, string_enc_name(enc, val)[0] == 'e' ? "e" : "r", 1);
    buf_append(out, s->data, s->len);
}

static int string_deserialize(const char *p, size_t n, int *enc, void **val)
{
    if (n < 1) return -1;
    if (p[0] == 'i') {
        if (n != 9) return -1;
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v |= (uint64_t)(unsigned char)p[1 + i] << (8 * i);
        *enc = OBJ_ENC_INT;
        *val = obj_int_to_val((long long)v);
        return 0;
    }
    if ((p[0] != 'e' && p[0] != 'r') || n - 1 > UINT32_MAX) return -1;
    sstr *s;
    if (p[0] == 'r') {
        s = str_new_raw(n - 1);
        memcpy(s->data, p + 1, n - 1);
    } else {
        s = sstr_new(p + 1, n - 1);
    }
    *enc = OBJ_ENC_RAW;
    *val = s;
    return 0;
}

const obj_type_ops string_type_ops = {
    "string", string_free, string_dup, string_mem, string_enc_name,
    string_serialize, string_deserialize,
};

/* ---- reading ---------------------------------------------------------- */

/* Looks a key up for reading; replies WRONGTYPE and returns -1 for a
 * non-string. *out is NULL for a missing key. */
static int lookup_str_read(client *c, int i, kv **out)
{
    kv *e = db_lookup_read(c->db, ARG(c, i), ARGLEN(c, i));
    if (e && e->type != OBJ_STRING) {
        reply_wrongtype(c);
        return -1;
    }
    *out = e;
    return 0;
}

static void get_cmd(client *c)
{
    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!e) reply_null(c);
    else if (e->type != OBJ_STRING) reply_wrongtype(c);
    else reply_bulk_kv_str(c, e);
}

static void strlen_cmd(client *c)
{
    kv *e;
    if (lookup_str_read(c, 1, &e)) return;
    if (!e) { reply_int(c, 0); return; }
    if (e->enc == OBJ_ENC_INT) {
        long long v = obj_val_to_int(e->val);
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        reply_int(c, ull_digits(u) + (v < 0));
    } else {
        reply_int(c, ((sstr *)e->val)->len);
    }
}

static void mget_cmd(client *c)
{
    reply_array(c, c->argc - 1);
    for (int i = 1; i < c->argc; i++) {
        kv *e = db_lookup_read(c->db, ARG(c, i), ARGLEN(c, i));
        if (!e || e->type != OBJ_STRING) reply_null(c);
        else reply_bulk_kv_str(c, e);
    }
}

static void getrange_cmd(client *c)
{
    long long start, end;
    if (arg_ll(c, 2, &start) || arg_ll(c, 3, &end)) return;
    kv *e;
    if (lookup_str_read(c, 1, &e)) return;
    if (!e) { reply_bulk(c, "", 0); return; }
    char tmp[24];
    size_t len;
    const char *p = str_get(e, &len, tmp);
    long long n = (long long)len;
    if (start < 0 && end < 0 && start > end) { reply_bulk(c, "", 0); return; }
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= n) end = n - 1;
    if (n == 0 || start > end) { reply_bulk(c, "", 0); return; }
    reply_bulk(c, p + start, (size_t)(end - start + 1));
}

/* ---- SET and friends -------------------------------------------------- */

enum {
    SET_NX = 1 << 0, SET_XX = 1 << 1, SET_GET = 1 << 2, SET_KEEPTTL = 1 << 3,
    SET_EX = 1 << 4, SET_PX = 1 << 5, SET_EXAT = 1 << 6, SET_PXAT = 1 << 7,
    SET_PERSIST = 1 << 8,
};
#define SET_ANY_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

/* Parses SET's (is_getex = 0) or GETEX's options from argument `from`.
 * Options may repeat; conflicting ones are a syntax error, as in Redis.
 * *exp_idx gets the argument index of the expire value (0 if none). */
static int parse_set_opts(client *c, int from, int is_getex, int *flags, int *exp_idx)
{
    *flags = 0;
    *exp_idx = 0;
    for (int j = from; j < c->argc; j++) {
        const char *a = ARG(c, j);
        size_t l = ARGLEN(c, j);
        int has_next = j + 1 < c->argc, f = *flags;
        if (!is_getex && arg_is(a, l, "nx") && !(f & SET_XX)) {
            *flags |= SET_NX;
        } else if (!is_getex && arg_is(a, l, "xx") && !(f & SET_NX)) {
            *flags |= SET_XX;
        } else if (!is_getex && arg_is(a, l, "get")) {
            *flags |= SET_GET;
        } else if (!is_getex && arg_is(a, l, "keepttl") && !(f & (SET_PERSIST | SET_ANY_EXPIRE))) {
            *flags |= SET_KEEPTTL;
        } else if (is_getex && arg_is(a, l, "persist") && !(f & (SET_KEEPTTL | SET_ANY_EXPIRE))) {
            *flags |= SET_PERSIST;
        } else if (has_next && (arg_is(a, l, "ex") || arg_is(a, l, "px") ||
                                arg_is(a, l, "exat") || arg_is(a, l, "pxat"))) {
            int which = arg_is(a, l, "ex") ? SET_EX : arg_is(a, l, "px") ? SET_PX
                      : arg_is(a, l, "exat") ? SET_EXAT : SET_PXAT;
            /* The same unit may repeat (last wins); another unit may not. */
            if (f & (SET_KEEPTTL | SET_PERSIST | (SET_ANY_EXPIRE & ~which))) {
                reply_syntax_err(c);
                return -1;
            }
            *flags |= which;
            *exp_idx = ++j;
        } else {
            reply_syntax_err(c);
            return -1;
        }
    }
    return 0;
}

/* The absolute expire time in ms for the value at argument i, with
 * Redis's checks and its "invalid expire time in '<cmd>' command" error. */
static int parse_expire(client *c, int i, int flags, const char *cmdname, long long *when)
{
    long long v;
    if (arg_ll(c, i, &v)) return -1;
    int secs = flags & (SET_EX | SET_EXAT), rel = flags & (SET_EX | SET_PX);
    if (v <= 0 || (secs && v > LLONG_MAX / 1000)) goto bad;
    if (secs) v *= 1000;
    if (rel) {
        if (v > LLONG_MAX - srv.now_ms) goto bad;
        v += srv.now_ms;
    }
    *when = v;
    return 0;
bad:
    reply_errorf(c, "ERR invalid expire time in '%s' command", cmdname);
    return -1;
}

/* Propagates SET key value PXAT when: a relative expiry must replay as
 * an absolute one, and Redis 7.0 writes every expiring SET/SETEX/PSETEX
 * in this one form (options such as NX/GET dropped, as they already
 * took effect). */
static void propagate_set_pxat(client *c, int keyi, int vali, long long when)
{
    char ms[24];
    const char *argv[5] = {"SET", ARG(c, keyi), ARG(c, vali), "PXAT", ms};
    size_t argl[5] = {3, ARGLEN(c, keyi), ARGLEN(c, vali), 4, 0};
    argl[4] = (size_t)ll_to_str(ms, when);
    cmd_rewrite_propagated(c, 5, argv, argl);
}

/* The common part of SET/SETEX/PSETEX: stores argv[vali] at argv[keyi]
 * honouring NX/XX/GET/KEEPTTL and an optional expire. */
static void set_generic(client *c, int keyi, int vali, int flags, int exp_idx, const char *cmdname)
{
    long long when = 0;
    if (exp_idx && parse_expire(c, exp_idx, flags, cmdname, &when)) return;
    const char *key = ARG(c, keyi);
    size_t klen = ARGLEN(c, keyi);
    if (flags & SET_GET) {
        kv *old;
        if (lookup_str_read(c, keyi, &old)) return;
        if (old) reply_bulk_kv_str(c, old);
        else reply_null(c);
    }
    kv *e = db_lookup_write(c->db, key, klen);
    if ((flags & SET_NX && e) || (flags & SET_XX && !e)) {
        if (!(flags & SET_GET)) reply_null(c);
        return;
    }
    int enc;
    void *val = str_make_value(ARG(c, vali), ARGLEN(c, vali), &enc);
    if (e) {
        db_set(c->db, key, klen, OBJ_STRING, enc, val, flags & SET_KEEPTTL);
    } else {
        e = db_add(c->db, key, klen, OBJ_STRING, enc, val);
    }
    srv.dirty++;
    if (exp_idx) {
        db_set_expire(c->db, e, when);
        propagate_set_pxat(c, keyi, vali, when);
    }
    if (!(flags & SET_GET)) reply_ok(c);
}

static void set_cmd(client *c)
{
    int flags = 0, exp_idx = 0;
    if (c->argc > 3 && parse_set_opts(c, 3, 0, &flags, &exp_idx)) return;
    if (c->argc == 3) {
        /* Plain SET: the hot path, no option parsing. */
        int enc;
        void *val = str_make_value(ARG(c, 2), ARGLEN(c, 2), &enc);
        db_set(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, enc, val, 0);
        srv.dirty++;
        reply_ok(c);
        return;
    }
    set_generic(c, 1, 2, flags, exp_idx, "set");
}

static void setex_cmd(client *c) { set_generic(c, 1, 3, SET_EX, 2, "setex"); }
static void psetex_cmd(client *c) { set_generic(c, 1, 3, SET_PX, 2, "psetex"); }

static void setnx_cmd(client *c)
{
    if (db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1))) {
        reply_int(c, 0);
        return;
    }
    int enc;
    void *val = str_make_value(ARG(c, 2), ARGLEN(c, 2), &enc);
    db_add(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, enc, val);
    srv.dirty++;
    reply_int(c, 1);
}

static void getex_cmd(client *c)
{
    int flags, exp_idx;
    if (parse_set_opts(c, 2, 1, &flags, &exp_idx)) return;
    kv *e;
    if (lookup_str_read(c, 1, &e)) return;
    if (!e) { reply_null(c); return; }
    long long when = 0;
    /* Redis validates the expire only once the key is known to exist. */
    if (exp_idx && parse_expire(c, exp_idx, flags, "getex", &when)) return;
    reply_bulk_kv_str(c, e);
    const char *key = ARG(c, 1);
    size_t klen = ARGLEN(c, 1);
    if (exp_idx && when <= srv.now_ms && !srv.loading) {
        /* Already expired: delete now and replicate the deletion. */
        const char *argv[2] = {cfg.lazyfree_lazy_expire ? "UNLINK" : "DEL", key};
        size_t argl[2] = {strlen(argv[0]), klen};
        db_delete(c->db, key, klen);
        cmd_rewrite_propagated(c, 2, argv, argl);
        srv.dirty++;
    } else if (exp_idx) {
        char ms[24];
        const char *argv[3] = {"PEXPIREAT", key, ms};
        size_t argl[3] = {9, klen, 0};
        argl[2] = (size_t)ll_to_str(ms, when);
        db_set_expire(c->db, e, when);
        cmd_rewrite_propagated(c, 3, argv, argl);
        srv.dirty++;
    } else if (flags & SET_PERSIST) {
        if (db_persist(c->db, e)) {
            const char *argv[2] = {"PERSIST", key};
            size_t argl[2] = {7, klen};
            cmd_rewrite_propagated(c, 2, argv, argl);
            srv.dirty++;
        }
    }
}

static void getdel_cmd(client *c)
{
    kv *e;
    if (lookup_str_read(c, 1, &e)) return;
    if (!e) { reply_null(c); return; }
    reply_bulk_kv_str(c, e);
    db_delete(c->db, ARG(c, 1), ARGLEN(c, 1));
    const char *argv[2] = {"DEL", ARG(c, 1)};
    size_t argl[2] = {3, ARGLEN(c, 1)};
    cmd_rewrite_propagated(c, 2, argv, argl);
    srv.dirty++;
}

static void getset_cmd(client *c)
{
    kv *e;
    if (lookup_str_read(c, 1, &e)) return;
    if (e) reply_bulk_kv_str(c, e);
    else reply_null(c);
    int enc;
    void *val = str_make_value(ARG(c, 2), ARGLEN(c, 2), &enc);
    db_set(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, enc, val, 0);
    srv.dirty++;
    const char *argv[3] = {"SET", ARG(c, 1), ARG(c, 2)};
    size_t argl[3] = {3, ARGLEN(c, 1), ARGLEN(c, 2)};
    cmd_rewrite_propagated(c, 3, argv, argl);
}

static int mset_arity_ok(client *c)
{
    if (c->argc % 2 == 0) {
        reply_arity_err(c);
        return 0;
    }
    return 1;
}

static void mset_store_all(client *c)
{
    for (int i = 1; i < c->argc; i += 2) {
        int enc;
        void *val = str_make_value(ARG(c, i + 1), ARGLEN(c, i + 1), &enc);
        db_set(c->db, ARG(c, i), ARGLEN(c, i), OBJ_STRING, enc, val, 0);
    }
    srv.dirty += (c->argc - 1) / 2;
}

static void mset_cmd(client *c)
{
    if (!mset_arity_ok(c)) return;
    mset_store_all(c);
    reply_ok(c);
}

static void msetnx_cmd(client *c)
{
    if (!mset_arity_ok(c)) return;
    for (int i = 1; i < c->argc; i += 2) {
        if (db_lookup_write(c->db, ARG(c, i), ARGLEN(c, i))) {
            reply_int(c, 0);
            return;
        }
    }
    mset_store_all(c);
    reply_int(c, 1);
}

/* ---- editing ---------------------------------------------------------- */

static void append_cmd(client *c)
{
    kv *e = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    size_t add = ARGLEN(c, 2);
    if (!e) {
        /* A new key is stored as SET would store it (so "1" is an int). */
        int enc;
        void *val = str_make_value(ARG(c, 2), add, &enc);
        db_add(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, enc, val);
        srv.dirty++;
        reply_int(c, (long long)add);
        return;
    }
    if (e->type != OBJ_STRING) { reply_wrongtype(c); return; }
    char tmp[24];
    size_t old;
    str_get(e, &old, tmp);
    if (str_check_len(c, old, add)) return;
    sstr *s = str_writable(e, old + add);
    memcpy(s->data + old, ARG(c, 2), add);
    srv.dirty++;
    reply_int(c, s->len);
}

static void setrange_cmd(client *c)
{
    long long off;
    if (arg_ll(c, 2, &off)) return;
    if (off < 0) { reply_error(c, "ERR offset is out of range"); return; }
    const char *val = ARG(c, 3);
    size_t vlen = ARGLEN(c, 3);
    kv *e = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!e) {
        if (vlen == 0) { reply_int(c, 0); return; }
        if (str_check_len(c, (unsigned long long)off, vlen)) return;
        sstr *s = str_new_raw((size_t)off + vlen);
        memcpy(s->data + off, val, vlen);
        db_add(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, OBJ_ENC_RAW, s);
        srv.dirty++;
        reply_int(c, s->len);
        return;
    }
    if (e->type != OBJ_STRING) { reply_wrongtype(c); return; }
    char tmp[24];
    size_t old;
    str_get(e, &old, tmp);
    if (vlen == 0) { reply_int(c, (long long)old); return; }
    if (str_check_len(c, (unsigned long long)off, vlen)) return;
    sstr *s = str_writable(e, (size_t)off + vlen);
    memcpy(s->data + off, val, vlen);
    srv.dirty++;
    reply_int(c, s->len);
}

/* ---- counters --------------------------------------------------------- */

static void incr_generic(client *c, long long by)
{
    kv *e = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    long long v = 0;
    if (e) {
        if (e->type != OBJ_STRING) { reply_wrongtype(c); return; }
        if (e->enc == OBJ_ENC_INT) {
            v = obj_val_to_int(e->val);
        } else {
            const sstr *s = e->val;
            if (!str_to_ll(s->data, s->len, &v)) { reply_error(c, ERR_NOT_INT); return; }
        }
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        reply_error(c, ERR_OVERFLOW);
        return;
    }
    v += by;
    if (!e) db_add(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, OBJ_ENC_INT, obj_int_to_val(v));
    else if (e->enc == OBJ_ENC_INT) e->val = obj_int_to_val(v); /* in place, no allocation */
    else db_replace_value(c->db, e, OBJ_STRING, OBJ_ENC_INT, obj_int_to_val(v));
    srv.dirty++;
    reply_int(c, v);
}

static void incr_cmd(client *c) { incr_generic(c, 1); }
static void decr_cmd(client *c) { incr_generic(c, -1); }

static void incrby_cmd(client *c)
{
    long long by;
    if (arg_ll(c, 2, &by)) return;
    incr_generic(c, by);
}

static void decrby_cmd(client *c)
{
    long long by;
    if (arg_ll(c, 2, &by)) return;
    if (by == LLONG_MIN) { reply_error(c, "ERR decrement would overflow"); return; }
    incr_generic(c, -by);
}

/* str_to_ldouble, also refusing embedded NULs (strtold would stop at
 * one and accept the prefix). */
static int parse_ldouble(const char *p, size_t len, long double *out)
{
    return memchr(p, 0, len) == NULL && str_to_ldouble(p, len, out);
}

static void incrbyfloat_cmd(client *c)
{
    kv *e = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    long double v = 0, by;
    if (e) {
        if (e->type != OBJ_STRING) { reply_wrongtype(c); return; }
        char tmp[24];
        size_t len;
        const char *p = str_get(e, &len, tmp);
        if (!parse_ldouble(p, len, &v)) { reply_error(c, ERR_NOT_FLOAT); return; }
    }
    if (!parse_ldouble(ARG(c, 2), ARGLEN(c, 2), &by)) { reply_error(c, ERR_NOT_FLOAT); return; }
    v += by;
    if (isnan(v) || isinf(v)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[5200];
    int n = ldouble_to_str(buf, sizeof(buf), v);
    if (n <= 0) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    /* Stored as bytes like Redis (OBJECT ENCODING says embstr), TTL kept. */
    db_set(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, OBJ_ENC_RAW, sstr_new(buf, (size_t)n), 1);
    srv.dirty++;
    reply_bulk(c, buf, (size_t)n);
    /* Replay the exact result, not the float arithmetic. */
    const char *argv[4] = {"SET", ARG(c, 1), buf, "KEEPTTL"};
    size_t argl[4] = {3, ARGLEN(c, 1), (size_t)n, 7};
    cmd_rewrite_propagated(c, 4, argv, argl);
}

/* ---- LCS -------------------------------------------------------------- */

/* Writes one IDX match: [[a_start, a_end], [b_start, b_end]] (+ length). */
static void lcs_emit_match(client *c, uint32_t a0, uint32_t b0, uint32_t len, int withlen)
{
    reply_array(c, withlen ? 3 : 2);
    reply_array(c, 2);
    reply_int(c, a0);
    reply_int(c, a0 + len - 1);
    reply_array(c, 2);
    reply_int(c, b0);
    reply_int(c, b0 + len - 1);
    if (withlen) reply_int(c, len);
}

static void lcs_cmd(client *c)
{
    kv *ka = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    kv *kb = db_lookup_read(c->db, ARG(c, 2), ARGLEN(c, 2));
    if ((ka && ka->type != OBJ_STRING) || (kb && kb->type != OBJ_STRING)) {
        reply_error(c, "ERR The specified keys must contain string values");
        return;
    }
    int getlen = 0, getidx = 0, withlen = 0;
    long long minlen = 0;
    for (int j = 3; j < c->argc; j++) {
        const char *o = ARG(c, j);
        size_t ol = ARGLEN(c, j);
        if (arg_is(o, ol, "idx")) getidx = 1;
        else if (arg_is(o, ol, "len")) getlen = 1;
        else if (arg_is(o, ol, "withmatchlen")) withlen = 1;
        else if (arg_is(o, ol, "minmatchlen") && j + 1 < c->argc) {
            if (arg_ll(c, ++j, &minlen)) return;
            if (minlen < 0) minlen = 0;
        } else {
            reply_syntax_err(c);
            return;
        }
    }
    if (getidx && getlen) {
        reply_error(c, "ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    char ta[24], tb[24];
    size_t alen = 0, blen = 0;
    const char *a = ka ? str_get(ka, &alen, ta) : "";
    const char *b = kb ? str_get(kb, &blen, tb) : "";
    if (alen >= UINT32_MAX - 1 || blen >= UINT32_MAX - 1) {
        reply_error(c, "ERR String too long for LCS");
        return;
    }
    /* dp[i*(blen+1)+j] = LCS length of a[0..i) and b[0..j). */
    unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
    unsigned long long bytes = cells * sizeof(uint32_t);
    if (bytes / sizeof(uint32_t) != cells || bytes > (unsigned long long)cfg.proto_max_bulk_len) {
        reply_error(c, "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    uint32_t *dp = xmalloc((size_t)bytes);
    size_t w = blen + 1;
    for (size_t i = 0; i <= alen; i++) {
        for (size_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0) dp[i * w + j] = 0;
            else if (a[i - 1] == b[j - 1]) dp[i * w + j] = dp[(i - 1) * w + j - 1] + 1;
            else {
                uint32_t up = dp[(i - 1) * w + j], left = dp[i * w + j - 1];
                dp[i * w + j] = up > left ? up : left;
            }
        }
    }
    uint32_t total = dp[alen * w + blen];
    if (getlen) {
        reply_int(c, total);
        xfree(dp);
        return;
    }
    /* Walk back from the end collecting the common bytes and, for IDX,
     * the maximal runs that are contiguous in both strings (reported
     * from the last to the first, as Redis does). */
    char *res = getidx ? NULL : xmalloc(total ? total : 1);
    size_t mark = 0;
    long long nmatch = 0;
    if (getidx) {
        reply_map(c, 2);
        reply_bulk(c, "matches", 7);
        mark = reply_defer(c);
    }
    size_t i = alen, j = blen, k = total;
    uint32_t run = 0, ra = 0, rb = 0; /* current run: length and start positions */
    while (i > 0 && j > 0) {
        int close_run = 0;
        if (a[i - 1] == b[j - 1]) {
            if (res) res[--k] = a[i - 1];
            ra = (uint32_t)(i - 1);
            rb = (uint32_t)(j - 1);
            run++;
            if (ra == 0 || rb == 0) close_run = 1;
            i--;
            j--;
        } else {
            if (dp[(i - 1) * w + j] > dp[i * w + j - 1]) i--;
            else j--;
            if (run) close_run = 1;
        }
        if (close_run) {
            if (getidx && (minlen == 0 || run >= (unsigned long long)minlen)) {
                lcs_emit_match(c, ra, rb, run, withlen);
                nmatch++;
            }
            run = 0;
        }
    }
    xfree(dp);
    if (getidx) {
        reply_defer_set(c, mark, '*', nmatch);
        reply_bulk(c, "len", 3);
        reply_int(c, total);
    } else {
        reply_bulk(c, res, total);
        xfree(res);
    }
}

const cmd_binding string_commands[] = {
    {"get", get_cmd},
    {"set", set_cmd},
    {"setnx", setnx_cmd},
    {"setex", setex_cmd},
    {"psetex", psetex_cmd},
    {"getex", getex_cmd},
    {"getdel", getdel_cmd},
    {"getset", getset_cmd},
    {"mget", mget_cmd},
    {"mset", mset_cmd},
    {"msetnx", msetnx_cmd},
    {"append", append_cmd},
    {"strlen", strlen_cmd},
    {"incr", incr_cmd},
    {"decr", decr_cmd},
    {"incrby", incrby_cmd},
    {"decrby", decrby_cmd},
    {"incrbyfloat", incrbyfloat_cmd},
    {"getrange", getrange_cmd},
    {"substr", getrange_cmd},
    {"setrange", setrange_cmd},
    {"lcs", lcs_cmd},
    {NULL, NULL},
};
