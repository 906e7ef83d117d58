/* dump: DUMP and RESTORE (and RESTORE-ASKING), and the serialized-value
 * envelope they share with anything else that ships values around
 * (MIGRATE later).
 *
 * Payload layout (Shoal's own, shaped like Redis's so that the same
 * corruption checks apply):
 *     type (1 byte, OBJ_*) | format version (1 byte) | body |
 *     format version (2 bytes, LE) | CRC-64 of everything before (8 bytes, LE)
 * The body is the type's obj_type_ops.serialize output; deserialize
 * validates it fully. A payload whose version or checksum is wrong is
 * refused before any type code sees it; a well-checksummed payload with a
 * bad body is "Bad data format". */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "dict.h"
#include "evict.h"
#include "intset.h"
#include "listpack.h"
#include "mem.h"
#include "obj.h"
#include "quicklist.h"
#include "reply.h"
#include "server.h"
#include "skiplist.h"
#include "util.h"
#include <limits.h>
#include <string.h>

#define DUMP_VERSION 1          /* bump when any type's body format changes */
#define DUMP_TRAILER 10         /* 2-byte version + 8-byte checksum */
#define DUMP_LRU_CLOCK_MAX ((1u << 24) - 1)   /* the kv lru field's range (as evict.c) */

enum { DUMP_OK = 0, DUMP_ERR_CHECKSUM = -1, DUMP_ERR_FORMAT = -2 };

/* ------------------------------------------------------------------ */
/* CRC-64 (ECMA-182 polynomial, reflected, init and final xor all ones:
 * the "CRC-64/XZ" variant). Byte-at-a-time table, built on first use. */

static uint64_t crc64_table[256];
static int crc64_ready;

static void crc64_init(void)
{
    const uint64_t poly = 0xC96C5795D7870F42ULL;
    for (int i = 0; i < 256; i++) {
        uint64_t r = (uint64_t)i;
        for (int b = 0; b < 8; b++) r = (r & 1) ? (r >> 1) ^ poly : r >> 1;
        crc64_table[i] = r;
    }
    crc64_ready = 1;
}

/* CRC of p[0..n), continuing from crc (start with 0). */
uint64_t dump_crc64(uint64_t crc, const void *p, size_t n)
{
    if (!crc64_ready) crc64_init();
    const unsigned char *s = p;
    crc = ~crc;
    while (n--) crc = crc64_table[(crc ^ *s++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------------ */
/* Envelope                                                            */

/* Appends the DUMP payload of e's value to out. Returns 0, or -1 if the
 * value's type has no serializer (nothing appended). */
int dump_serialize(const kv *e, buf_t *out)
{
    const obj_type_ops *ops = obj_ops(e->type);
    if (!ops || !ops->serialize) return -1;
    size_t base = out->len;
    unsigned char hdr[2] = {(unsigned char)e->type, DUMP_VERSION};
    buf_append(out, hdr, 2);
    ops->serialize(e->enc, e->val, out);
    unsigned char tr[DUMP_TRAILER];
    tr[0] = DUMP_VERSION & 0xFF;
    tr[1] = (DUMP_VERSION >> 8) & 0xFF;
    buf_append(out, tr, 2);
    uint64_t crc = dump_crc64(0, out->p + base, out->len - base);
    for (int i = 0; i < 8; i++) tr[2 + i] = (unsigned char)(crc >> (8 * i));
    buf_append(out, tr + 2, 8);
    return 0;
}

/* 1 if the payload's trailer version and checksum are right. */
int dump_verify(const char *p, size_t n)
{
    if (n < 2 + DUMP_TRAILER) return 0;
    const unsigned char *t = (const unsigned char *)p + n - DUMP_TRAILER;
    unsigned ver = t[0] | (unsigned)t[1] << 8;
    if (ver != DUMP_VERSION || (unsigned char)p[1] != DUMP_VERSION) return 0;
    uint64_t want = 0;
    for (int i = 0; i < 8; i++) want |= (uint64_t)t[2 + i] << (8 * i);
    return dump_crc64(0, p, n - 8) == want;
}

/* Encodings a type may legitimately come back with. */
static int enc_valid(int type, int enc)
{
    switch (type) {
    case OBJ_STRING: return enc == OBJ_ENC_RAW || enc == OBJ_ENC_INT;
    case OBJ_LIST: return enc == OBJ_ENC_QUICKLIST || enc == OBJ_ENC_LISTPACK;
    case OBJ_SET: return enc == OBJ_ENC_INTSET || enc == OBJ_ENC_HT || enc == OBJ_ENC_LISTPACK;
    case OBJ_ZSET: return enc == OBJ_ENC_SKIPLIST || enc == OBJ_ENC_LISTPACK;
    case OBJ_HASH: return enc == OBJ_ENC_HT || enc == OBJ_ENC_LISTPACK;
    }
    return 0;
}

/* An empty aggregate must never enter the keyspace. */
static int value_is_empty(int type, int enc, void *val)
{
    if (type == OBJ_STRING) return 0;
    if (!val) return 1;
    switch (enc) {
    case OBJ_ENC_QUICKLIST: return ql_count(val) == 0;
    case OBJ_ENC_LISTPACK: return lp_length(val) == 0;
    case OBJ_ENC_INTSET: return intset_len(val) == 0;
    case OBJ_ENC_HT: return dict_size(val) == 0;
    case OBJ_ENC_SKIPLIST: return zsb_len(val) == 0;
    }
    return 1;
}

/* Decodes a DUMP payload. Returns DUMP_OK with *type, *enc and *val set
 * (the caller owns val), DUMP_ERR_CHECKSUM or DUMP_ERR_FORMAT. */
int dump_deserialize(const char *p, size_t n, int *type, int *enc, void **val)
{
    if (!dump_verify(p, n)) return DUMP_ERR_CHECKSUM;
    int t = (unsigned char)p[0];
    const obj_type_ops *ops = t < OBJ_TYPE_COUNT ? obj_ops(t) : NULL;
    if (!ops || !ops->deserialize) return DUMP_ERR_FORMAT;
    int e = -1;
    void *v = NULL;
    if (ops->deserialize(p + 2, n - 2 - DUMP_TRAILER, &e, &v) != 0) return DUMP_ERR_FORMAT;
    if (!enc_valid(t, e) || value_is_empty(t, e, v)) {
        if (ops->free_val && (v || e == OBJ_ENC_INT)) ops->free_val(e, v);
        return DUMP_ERR_FORMAT;
    }
    *type = t;
    *enc = e;
    *val = v;
    return DUMP_OK;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

static void dump_cmd(client *c)
{
    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!e) {
        reply_null(c);
        return;
    }
    buf_t b;
    buf_init(&b);
    if (dump_serialize(e, &b) < 0) reply_error(c, "ERR DUMP is not supported for this type yet");
    else reply_bulk(c, b.p, b.len);
    buf_free(&b);
}

/* IDLETIME / FREQ: set the key's LRU or LFU field as Redis does — only the
 * one the current maxmemory-policy uses is applied. */
static void restore_set_lru(kv *e, long long idle, long long freq)
{
    if (evict_policy_is_lfu()) {
        if (freq >= 0) e->lru = (uint32_t)((((srv.now_ms / 60000) & 0xFFFF) << 8) | (unsigned long long)freq);
    } else if (idle >= 0) {
        long long clock = srv.lruclock & DUMP_LRU_CLOCK_MAX;
        long long abs = clock - idle % DUMP_LRU_CLOCK_MAX;
        if (abs < 0) abs += DUMP_LRU_CLOCK_MAX;   /* the clock wraps */
        e->lru = (uint32_t)abs;
    }
}

static void restore_cmd(client *c)
{
    int replace = 0, absttl = 0;
    long long ttl, idle = -1, freq = -1;

    for (int j = 4; j < c->argc; j++) {
        const char *a = ARG(c, j);
        size_t al = ARGLEN(c, j);
        int more = c->argc - j - 1;
        if (arg_is(a, al, "replace")) {
            replace = 1;
        } else if (arg_is(a, al, "absttl")) {
            absttl = 1;
        } else if (arg_is(a, al, "idletime") && more >= 1 && freq == -1) {
            if (arg_ll(c, j + 1, &idle) < 0) return;
            if (idle < 0) {
                reply_error(c, "ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
            j++;
        } else if (arg_is(a, al, "freq") && more >= 1 && idle == -1) {
            if (arg_ll(c, j + 1, &freq) < 0) return;
            if (freq < 0 || freq > 255) {
                reply_error(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            j++;
        } else {
            reply_syntax_err(c);
            return;
        }
    }

    const char *key = ARG(c, 1);
    size_t klen = ARGLEN(c, 1);
    if (!replace && db_lookup_write(c->db, key, klen)) {
        reply_error(c, "BUSYKEY Target key name already exists.");
        return;
    }
    if (arg_ll(c, 2, &ttl) < 0) return;
    if (ttl < 0) {
        reply_error(c, "ERR Invalid TTL value, must be >= 0");
        return;
    }

    int type, enc;
    void *val;
    int r = dump_deserialize(ARG(c, 3), ARGLEN(c, 3), &type, &enc, &val);
    if (r == DUMP_ERR_CHECKSUM) {
        reply_error(c, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    if (r != DUMP_OK) {
        reply_error(c, "ERR Bad data format");
        return;
    }

    int deleted = replace && db_delete(c->db, key, klen);
    if (ttl && !absttl) ttl = ttl > LLONG_MAX - srv.now_ms ? LLONG_MAX : ttl + srv.now_ms;
    if (ttl && ttl <= srv.now_ms && !srv.loading) {
        /* Already expired: the key is not created; a replaced key is gone. */
        obj_ops(type)->free_val(enc, val);
        if (deleted) {
            const char *argv[2] = {"DEL", key};
            size_t argl[2] = {3, klen};
            cmd_rewrite_propagated(c, 2, argv, argl);
            srv.dirty++;
        }
        reply_ok(c);
        return;
    }
    kv *e = db_add(c->db, key, klen, type, enc, val);
    if (ttl) {
        db_set_expire(c->db, e, ttl);
        if (!absttl) {
            /* Replicas must not depend on their own clock: replay the
             * absolute expiry time with ABSTTL. */
            int n = c->argc + 1;
            const char **argv = xmalloc(sizeof(char *) * (size_t)n);
            size_t *argl = xmalloc(sizeof(size_t) * (size_t)n);
            char ms[24];
            for (int i = 0; i < c->argc; i++) {
                argv[i] = ARG(c, i);
                argl[i] = ARGLEN(c, i);
            }
            argv[2] = ms;
            argl[2] = (size_t)ll_to_str(ms, ttl);
            argv[n - 1] = "ABSTTL";
            argl[n - 1] = 6;
            cmd_rewrite_propagated(c, n, argv, argl);
            xfree(argv);
            xfree(argl);
        }
    }
    restore_set_lru(e, idle, freq);
    srv.dirty++;
    reply_ok(c);
}

const cmd_binding dump_commands[] = {
    {"dump", dump_cmd},
    {"restore", restore_cmd},
    {"restore-asking", restore_cmd},
    {NULL, NULL},
};
