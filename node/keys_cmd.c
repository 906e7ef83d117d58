/* keys_cmd: commands over keys regardless of type — DEL, EXISTS, TYPE,
 * RENAME, COPY, MOVE, KEYS, SCAN, RANDOMKEY, the EXPIRE family and
 * OBJECT. */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "evict.h"
#include "mem.h"
#include "obj.h"
#include "reply.h"
#include "scan.h"
#include "server.h"
#include "util.h"
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* A db index argument: Redis parses it as a C int, with its own error for
 * an integer outside that range. */
static int arg_db_index(client *c, int i, long long *out)
{
    if (arg_ll(c, i, out) < 0) return -1;
    if (*out < INT32_MIN || *out > INT32_MAX) {
        reply_error(c, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return -1;
    }
    return 0;
}

static void del_generic(client *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++) {
        if (db_delete(c->db, ARG(c, i), ARGLEN(c, i))) {
            db_signal_modified(c->db, ARG(c, i), ARGLEN(c, i));
            n++;
        }
    }
    /* Only the keys that existed changed: a WATCH on a missing one holds. */
    cmd_keys_signaled(c);
    srv.dirty += n;
    reply_int(c, n);
}

static void exists_cmd(client *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        if (db_lookup_read(c->db, ARG(c, i), ARGLEN(c, i))) n++;
    reply_int(c, n);
}

static void touch_cmd(client *c) { exists_cmd(c); }

static void type_cmd(client *c)
{
    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    reply_status(c, e ? obj_ops(e->type)->name : "none");
}

/* Moves the value of src (in sdb) to a new key dst in ddb, keeping the
 * TTL. dst must not exist. */
static void move_value(db *sdb, kv *src, db *ddb, const char *dst, size_t dlen)
{
    long long when = db_get_expire(sdb, src);
    kv *n = db_add(ddb, dst, dlen, src->type, src->enc, src->val);
    n->lru = src->lru;
    if (when >= 0) db_set_expire(ddb, n, when);
    /* The value now belongs to n: detach it before deleting src. */
    src->val = NULL;
    src->type = OBJ_STRING;
    src->enc = OBJ_ENC_RAW;
    char small[128];
    char *key = src->klen < sizeof(small) ? small : xmalloc(src->klen);
    size_t klen = src->klen;
    memcpy(key, src->key, klen);
    db_delete(sdb, key, klen);
    if (key != small) xfree(key);
}

static void rename_generic(client *c, int nx)
{
    kv *src = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!src) {
        reply_error(c, ERR_NO_KEY);
        return;
    }
    int same = ARGLEN(c, 1) == ARGLEN(c, 2) && memcmp(ARG(c, 1), ARG(c, 2), ARGLEN(c, 1)) == 0;
    if (same) {
        if (nx) reply_int(c, 0);
        else reply_ok(c);
        return;
    }
    if (db_lookup_write(c->db, ARG(c, 2), ARGLEN(c, 2))) {
        if (nx) {
            reply_int(c, 0);
            return;
        }
        db_delete(c->db, ARG(c, 2), ARGLEN(c, 2));
    }
    move_value(c->db, src, c->db, ARG(c, 2), ARGLEN(c, 2));
    srv.dirty++;
    if (nx) reply_int(c, 1);
    else reply_ok(c);
}

static void rename_cmd(client *c) { rename_generic(c, 0); }
static void renamenx_cmd(client *c) { rename_generic(c, 1); }

static void move_cmd(client *c)
{
    long long dbid;
    if (cfg.cluster_enabled) {
        reply_error(c, "ERR MOVE is not allowed in cluster mode");
        return;
    }
    if (arg_db_index(c, 2, &dbid) < 0) return;
    db *dst = db_get((int)dbid);
    if (!dst) {
        reply_error(c, ERR_BAD_DB);
        return;
    }
    if (dst == c->db) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    kv *src = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!src || db_lookup_write(dst, ARG(c, 1), ARGLEN(c, 1))) {
        reply_int(c, 0);
        return;
    }
    move_value(c->db, src, dst, ARG(c, 1), ARGLEN(c, 1));
    db_signal_modified(dst, ARG(c, 1), ARGLEN(c, 1));
    srv.dirty++;
    reply_int(c, 1);
}

static void copy_cmd(client *c)
{
    db *dst = c->db;
    int replace = 0;
    for (int i = 3; i < c->argc; i++) {
        if (arg_is(ARG(c, i), ARGLEN(c, i), "REPLACE")) {
            replace = 1;
        } else if (arg_is(ARG(c, i), ARGLEN(c, i), "DB") && i + 1 < c->argc) {
            long long id;
            if (arg_db_index(c, i + 1, &id) < 0) return;
            dst = db_get((int)id);
            if (!dst) {
                reply_error(c, ERR_BAD_DB);
                return;
            }
            if (cfg.cluster_enabled && id != 0) {
                reply_error(c, "ERR Copying to another database is not allowed in cluster mode");
                return;
            }
            i++;
        } else {
            reply_syntax_err(c);
            return;
        }
    }
    if (dst == c->db && ARGLEN(c, 1) == ARGLEN(c, 2) && memcmp(ARG(c, 1), ARG(c, 2), ARGLEN(c, 1)) == 0) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    kv *src = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!src) {
        reply_int(c, 0);
        return;
    }
    if (db_lookup_write(dst, ARG(c, 2), ARGLEN(c, 2))) {
        if (!replace) {
            reply_int(c, 0);
            return;
        }
        db_delete(dst, ARG(c, 2), ARGLEN(c, 2));
    }
    long long when = db_get_expire(c->db, src);
    void *val = obj_ops(src->type)->dup_val(src->enc, src->val);
    kv *n = db_add(dst, ARG(c, 2), ARGLEN(c, 2), src->type, src->enc, val);
    if (when >= 0) db_set_expire(dst, n, when);
    if (dst != c->db) db_signal_modified(dst, ARG(c, 2), ARGLEN(c, 2));
    srv.dirty++;
    reply_int(c, 1);
}

static void keys_cmd(client *c)
{
    const char *pat = ARG(c, 1);
    size_t plen = ARGLEN(c, 1);
    int all = plen == 1 && pat[0] == '*';
    size_t mark = reply_defer(c);
    long long n = 0;
    db_iter it;
    db_iter_init(&it, c->db);
    for (kv *e; (e = db_iter_next(&it));) {
        if (!all && !glob_match(pat, plen, e->key, e->klen, 0)) continue;
        if (e->has_expire) {
            long long when = db_get_expire(c->db, e);
            if (when >= 0 && when <= srv.now_ms) continue; /* logically gone */
        }
        reply_bulk(c, e->key, e->klen);
        n++;
    }
    reply_defer_set(c, mark, '*', n);
}

/* ---- SCAN ----------------------------------------------------------- */

typedef struct scan_acc { kv **v; int n, cap; } scan_acc;

static void scan_collect(void *ctx, kv *e)
{
    scan_acc *a = ctx;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = xrealloc(a->v, sizeof(kv *) * (size_t)a->cap);
    }
    a->v[a->n++] = e;
}

static void scan_cmd(client *c)
{
    unsigned long long cursor;
    scan_opts o;
    if (arg_scan_cursor(c, 1, &cursor) < 0) return;
    if (scan_parse_opts(c, 2, 1, &o) < 0) return;
    scan_acc acc = {0};
    long long left = scan_max_buckets(&o); /* why: scan.h */
    do {
        cursor = db_scan(c->db, cursor, scan_collect, &acc);
    } while (cursor && --left > 0 && acc.n < o.count);
    /* Copy names before filtering: lazy expiry may delete entries. */
    char **names = xmalloc(sizeof(char *) * (size_t)(acc.n ? acc.n : 1));
    size_t *lens = xmalloc(sizeof(size_t) * (size_t)(acc.n ? acc.n : 1));
    int keep = 0;
    for (int i = 0; i < acc.n; i++) {
        kv *e = acc.v[i];
        if (!scan_match(&o, e->key, e->klen)) continue;
        if (o.type && !arg_is(o.type, o.typelen, obj_ops(e->type)->name)) continue;
        names[keep] = xmemdup(e->key, e->klen);
        lens[keep++] = e->klen;
    }
    xfree(acc.v);
    scan_reply_head(c, cursor, -1);
    size_t mark = reply_defer(c);
    long long n = 0;
    for (int i = 0; i < keep; i++) {
        if (db_lookup_write(c->db, names[i], lens[i])) {
            reply_bulk(c, names[i], lens[i]);
            n++;
        }
        xfree(names[i]);
    }
    reply_defer_set(c, mark, '*', n);
    xfree(names);
    xfree(lens);
}

static void randomkey_cmd(client *c)
{
    kv *e = db_random_key(c->db);
    if (e) reply_bulk(c, e->key, e->klen);
    else reply_null(c);
}

/* ---- EXPIRE family -------------------------------------------------- */

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

/* unit_ms: 1000 for seconds, 1; absolute: the argument is a unix time. */
static void expire_generic(client *c, long long unit_ms, int absolute)
{
    long long v;
    int flags = 0;
    for (int i = 3; i < c->argc; i++) {
        if (arg_is(ARG(c, i), ARGLEN(c, i), "NX")) flags |= EXP_NX;
        else if (arg_is(ARG(c, i), ARGLEN(c, i), "XX")) flags |= EXP_XX;
        else if (arg_is(ARG(c, i), ARGLEN(c, i), "GT")) flags |= EXP_GT;
        else if (arg_is(ARG(c, i), ARGLEN(c, i), "LT")) flags |= EXP_LT;
        else {
            reply_errorf(c, "ERR Unsupported option %.*s", (int)ARGLEN(c, i), ARG(c, i));
            return;
        }
    }
    if ((flags & EXP_NX) && (flags & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if ((flags & EXP_GT) && (flags & EXP_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    if (arg_ll(c, 2, &v) < 0) return;
    char name[32];
    snprintf(name, sizeof(name), "%s", c->cmd->name);
    /* Overflow checks: the result must fit in signed milliseconds. */
    if ((unit_ms == 1000 && (v > LLONG_MAX / 1000 || v < LLONG_MIN / 1000))) goto invalid;
    long long when = v * unit_ms;
    if (!absolute) {
        if ((when > 0 && srv.now_ms > LLONG_MAX - when)) goto invalid;
        when += srv.now_ms;
    }
    kv *e = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!e) {
        reply_int(c, 0);
        return;
    }
    long long cur = db_get_expire(c->db, e);
    if (flags) {
        if ((flags & EXP_NX) && cur != -1) goto no;
        if ((flags & EXP_XX) && cur == -1) goto no;
        /* A key without TTL counts as an infinite TTL for GT/LT. */
        if ((flags & EXP_GT) && (cur == -1 || when <= cur)) goto no;
        if ((flags & EXP_LT) && cur != -1 && when >= cur) goto no;
    }
    if (when <= srv.now_ms) {
        /* In the past: the key is deleted now, propagated as DEL. */
        db_delete(c->db, ARG(c, 1), ARGLEN(c, 1));
        const char *argv[2] = {"DEL", ARG(c, 1)};
        size_t argl[2] = {3, ARGLEN(c, 1)};
        cmd_rewrite_propagated(c, 2, argv, argl);
        srv.dirty++;
        reply_int(c, 1);
        return;
    }
    db_set_expire(c->db, e, when);
    {
        char ts[24];
        int tl = ll_to_str(ts, when);
        const char *argv[3] = {"PEXPIREAT", ARG(c, 1), ts};
        size_t argl[3] = {9, ARGLEN(c, 1), (size_t)tl};
        cmd_rewrite_propagated(c, 3, argv, argl);
    }
    srv.dirty++;
    reply_int(c, 1);
    return;
no:
    reply_int(c, 0);
    return;
invalid:
    reply_errorf(c, "ERR invalid expire time in '%s' command", name);
}

static void expire_cmd(client *c) { expire_generic(c, 1000, 0); }
static void pexpire_cmd(client *c) { expire_generic(c, 1, 0); }
static void expireat_cmd(client *c) { expire_generic(c, 1000, 1); }
static void pexpireat_cmd(client *c) { expire_generic(c, 1, 1); }

/* mode: 0 TTL, 1 PTTL, 2 EXPIRETIME, 3 PEXPIRETIME */
static void ttl_generic(client *c, int mode)
{
    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!e) {
        reply_int(c, -2);
        return;
    }
    long long when = db_get_expire(c->db, e);
    if (when < 0) {
        reply_int(c, -1);
        return;
    }
    long long ttl = when - srv.now_ms;
    if (ttl < 0) ttl = 0;
    switch (mode) {
    case 0: reply_int(c, (ttl + 500) / 1000); break;
    case 1: reply_int(c, ttl); break;
    case 2: reply_int(c, when / 1000); break;
    default: reply_int(c, when); break;
    }
}

static void ttl_cmd(client *c) { ttl_generic(c, 0); }
static void pttl_cmd(client *c) { ttl_generic(c, 1); }
static void expiretime_cmd(client *c) { ttl_generic(c, 2); }
static void pexpiretime_cmd(client *c) { ttl_generic(c, 3); }

static void persist_cmd(client *c)
{
    kv *e = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (e && db_persist(c->db, e)) {
        srv.dirty++;
        reply_int(c, 1);
    } else {
        reply_int(c, 0);
    }
}

/* ---- OBJECT --------------------------------------------------------- */

static kv *object_key(client *c)
{
    kv *e = db_lookup_write(c->db, ARG(c, 2), ARGLEN(c, 2));
    if (!e) reply_null(c);
    return e;
}

static void object_encoding_cmd(client *c)
{
    kv *e = object_key(c);
    if (e) reply_bulk_cstr(c, obj_ops(e->type)->enc_name(e->enc, e->val));
}

static void object_refcount_cmd(client *c)
{
    kv *e = object_key(c);
    /* Redis shares small integers (refcount INT_MAX); everything else is 1. */
    if (e) reply_int(c, (e->enc == OBJ_ENC_INT && obj_val_to_int(e->val) >= 0 &&
                         obj_val_to_int(e->val) < 10000) ? 2147483647 : 1);
}

static void object_idletime_cmd(client *c)
{
    kv *e = object_key(c);
    if (!e) return;
    if (evict_policy_is_lfu()) {
        reply_error(c, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
                       "when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        return;
    }
    reply_int(c, evict_idle_seconds(e));
}

static void object_freq_cmd(client *c)
{
    kv *e = object_key(c);
    if (!e) return;
    if (!evict_policy_is_lfu()) {
        reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
                       "note that when switching between policies at runtime LRU and LFU data will take some "
                       "time to adjust.");
        return;
    }
    reply_int(c, evict_lfu_freq(e));
}

static void object_help_cmd(client *c)
{
    static const char *lines[] = {
        "OBJECT <subcommand> [<arg> ...]. Subcommands:",
        "ENCODING <key> -- internal encoding of the key's value.",
        "FREQ <key> -- access frequency (LFU policies only).",
        "IDLETIME <key> -- seconds since the last access (LRU policies only).",
        "REFCOUNT <key> -- reference count of the value.",
        "HELP -- this text.",
    };
    int n = (int)(sizeof(lines) / sizeof(lines[0]));
    reply_array(c, n);
    for (int i = 0; i < n; i++) reply_status(c, lines[i]);
}

const cmd_binding keys_commands[] = {
    {"del", del_generic},
    {"unlink", del_generic},
    {"exists", exists_cmd},
    {"touch", touch_cmd},
    {"type", type_cmd},
    {"rename", rename_cmd},
    {"renamenx", renamenx_cmd},
    {"move", move_cmd},
    {"copy", copy_cmd},
    {"keys", keys_cmd},
    {"scan", scan_cmd},
    {"randomkey", randomkey_cmd},
    {"expire", expire_cmd},
    {"pexpire", pexpire_cmd},
    {"expireat", expireat_cmd},
    {"pexpireat", pexpireat_cmd},
    {"ttl", ttl_cmd},
    {"pttl", pttl_cmd},
    {"expiretime", expiretime_cmd},
    {"pexpiretime", pexpiretime_cmd},
    {"persist", persist_cmd},
    {"object|encoding", object_encoding_cmd},
    {"object|refcount", object_refcount_cmd},
    {"object|idletime", object_idletime_cmd},
    {"object|freq", object_freq_cmd},
    {"object|help", object_help_cmd},
    {NULL, NULL},
};
