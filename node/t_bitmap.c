/* t_bitmap.c: bit commands over string values — SETBIT, GETBIT, BITCOUNT,
 * BITPOS, BITOP and BITFIELD(_RO), with Redis 7.0's replies and errors.
 *
 * Bits are numbered from the most significant bit of the first byte, and
 * bytes past the end of a string read as zero. Int-encoded strings are
 * read through their decimal form and turned into bytes before a write. */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "mem.h"
#include "obj.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <limits.h>
#include <string.h>

/* From t_string.c (obj.h belongs to the core; see the report). */
size_t str_max_len(void);
sstr *str_new_raw(size_t len);
sstr *str_writable(kv *e, size_t minlen);

#define ERR_BIT_OFFSET "ERR bit offset is not an integer or out of range"

/* A bit offset argument: plain, or "#N" (N * bits) where hash_bits > 0.
 * It must address a byte below proto-max-bulk-len. */
static int bit_offset_arg(client *c, int i, int hash_bits, uint64_t *out)
{
    const char *p = ARG(c, i);
    size_t len = ARGLEN(c, i);
    int hash = hash_bits > 0 && len > 0 && p[0] == '#';
    long long v;
    if (!str_to_ll(p + hash, len - (size_t)hash, &v) || v < 0) goto bad;
    if (hash) {
        if (v > LLONG_MAX / hash_bits) goto bad;
        v *= hash_bits;
    }
    if ((unsigned long long)(v >> 3) >= str_max_len()) goto bad;
    *out = (uint64_t)v;
    return 0;
bad:
    reply_error(c, ERR_BIT_OFFSET);
    return -1;
}

/* Read-only bytes of a string entry (NULL entry = empty). */
static const unsigned char *bytes_of(const kv *e, size_t *len, char scratch[24])
{
    if (!e) { *len = 0; return (const unsigned char *)""; }
    return (const unsigned char *)str_get(e, len, scratch);
}

/* Looks a key up for a bit write, creating it (empty) if missing, and
 * makes it at least `bytes` long. NULL after replying WRONGTYPE. */
static sstr *lookup_for_bit_write(client *c, size_t bytes, int *created)
{
    kv *e = db_lookup_write(c->db, ARG(c, 1), ARGLEN(c, 1));
    *created = 0;
    if (!e) {
        sstr *s = str_new_raw(bytes);
        db_add(c->db, ARG(c, 1), ARGLEN(c, 1), OBJ_STRING, OBJ_ENC_RAW, s);
        *created = 1;
        return s;
    }
    if (e->type != OBJ_STRING) {
        reply_wrongtype(c);
        return NULL;
    }
    return str_writable(e, bytes);
}

static void setbit_cmd(client *c)
{
    uint64_t off;
    if (bit_offset_arg(c, 2, 0, &off)) return;
    const char *v = ARG(c, 3);
    if (ARGLEN(c, 3) != 1 || (v[0] != '0' && v[0] != '1')) {
        reply_error(c, "ERR bit is not an integer or out of range");
        return;
    }
    int created;
    sstr *s = lookup_for_bit_write(c, (size_t)(off >> 3) + 1, &created);
    if (!s) return;
    unsigned char *byte = (unsigned char *)s->data + (off >> 3);
    int shift = 7 - (int)(off & 7);
    int old = (*byte >> shift) & 1;
    if (v[0] == '1') *byte |= (unsigned char)(1 << shift);
    else *byte &= (unsigned char)~(1 << shift);
    srv.dirty++; /* always, as Redis: the reply says nothing about change */
    reply_int(c, old);
}

static void getbit_cmd(client *c)
{
    uint64_t off;
    if (bit_offset_arg(c, 2, 0, &off)) return;
    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (e && e->type != OBJ_STRING) { reply_wrongtype(c); return; }
    char tmp[24];
    size_t len;
    const unsigned char *p = bytes_of(e, &len, tmp);
    uint64_t byte = off >> 3;
    reply_int(c, byte < len ? (p[byte] >> (7 - (off & 7))) & 1 : 0);
}

/* Parses an optional BYTE|BIT unit argument; -1 after a syntax error. */
static int unit_arg(client *c, int i, int *isbit)
{
    if (arg_is(ARG(c, i), ARGLEN(c, i), "bit")) *isbit = 1;
    else if (arg_is(ARG(c, i), ARGLEN(c, i), "byte")) *isbit = 0;
    else { reply_syntax_err(c); return -1; }
    return 0;
}

/* Clamps a start/end pair (negative = from the end) to [0, total-1]. */
static void clamp_range(long long *start, long long *end, long long total)
{
    if (*start < 0) *start += total;
    if (*end < 0) *end += total;
    if (*start < 0) *start = 0;
    if (*end < 0) *end = 0;
    if (*end >= total) *end = total - 1;
}

static long long popcount_bytes(const unsigned char *p, size_t n)
{
    long long cnt = 0;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        cnt += __builtin_popcountll(w);
        p += 8;
        n -= 8;
    }
    while (n--) cnt += __builtin_popcount(*p++);
    return cnt;
}

static int bit_at(const unsigned char *p, uint64_t bit)
{
    return (p[bit >> 3] >> (7 - (bit & 7))) & 1;
}

static void bitcount_cmd(client *c)
{
    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    /* Redis answers 0 for a missing key before looking at the range. */
    if (!e) { reply_int(c, 0); return; }
    if (e->type != OBJ_STRING) { reply_wrongtype(c); return; }
    char tmp[24];
    size_t len;
    const unsigned char *p = bytes_of(e, &len, tmp);
    long long start = 0, end = (long long)len - 1;
    int isbit = 0;
    if (c->argc == 4 || c->argc == 5) {
        if (arg_ll(c, 2, &start) || arg_ll(c, 3, &end)) return;
        if (c->argc == 5 && unit_arg(c, 4, &isbit)) return;
        if (start < 0 && end < 0 && start > end) { reply_int(c, 0); return; }
        clamp_range(&start, &end, isbit ? (long long)len * 8 : (long long)len);
    } else if (c->argc != 2) {
        reply_syntax_err(c);
        return;
    }
    if (start > end) { reply_int(c, 0); return; }
    if (!isbit) {
        reply_int(c, popcount_bytes(p + start, (size_t)(end - start + 1)));
        return;
    }
    /* Bit range: partial first/last bytes bit by bit, whole bytes between. */
    long long cnt = 0, b = start;
    while (b <= end && (b & 7)) cnt += bit_at(p, (uint64_t)b++);
    long long whole_end = (end + 1) & ~7LL; /* first bit of the partial tail byte */
    if (b < whole_end) {
        cnt += popcount_bytes(p + (b >> 3), (size_t)((whole_end - b) >> 3));
        b = whole_end;
    }
    while (b <= end) cnt += bit_at(p, (uint64_t)b++);
    reply_int(c, cnt);
}

/* First bit equal to `bit` in bit positions [from, to], or -1. */
static long long find_bit(const unsigned char *p, long long from, long long to, int bit)
{
    long long b = from;
    while (b <= to && (b & 7)) {
        if (bit_at(p, (uint64_t)b) == bit) return b;
        b++;
    }
    unsigned char skip = bit ? 0x00 : 0xff; /* bytes holding no wanted bit */
    while (b + 7 <= to) {
        /* Whole words first: most of a long bitmap is skippable. */
        if (b + 63 <= to) {
            uint64_t w;
            memcpy(&w, p + (b >> 3), 8);
            if (w == (bit ? 0ULL : ~0ULL)) { b += 64; continue; }
        }
        if (p[b >> 3] == skip) { b += 8; continue; }
        break;
    }
    for (; b <= to; b++)
        if (bit_at(p, (uint64_t)b) == bit) return b;
    return -1;
}

static void bitpos_cmd(client *c)
{
    long long bit;
    if (arg_ll(c, 2, &bit)) return;
    if (bit != 0 && bit != 1) {
        reply_error(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
    if (!e) { reply_int(c, bit ? -1 : 0); return; }
    if (e->type != OBJ_STRING) { reply_wrongtype(c); return; }
    char tmp[24];
    size_t len;
    const unsigned char *p = bytes_of(e, &len, tmp);
    long long start = 0, end = (long long)len - 1;
    int isbit = 0, end_given = 0;
    if (c->argc >= 4 && c->argc <= 6) {
        if (arg_ll(c, 3, &start)) return;
        if (c->argc == 6 && unit_arg(c, 5, &isbit)) return;
        if (c->argc >= 5) {
            if (arg_ll(c, 4, &end)) return;
            end_given = 1;
        }
        clamp_range(&start, &end, isbit ? (long long)len * 8 : (long long)len);
    } else if (c->argc != 3) {
        reply_syntax_err(c);
        return;
    }
    if (start > end) { reply_int(c, -1); return; }
    long long from = isbit ? start : start * 8, to = isbit ? end : end * 8 + 7;
    long long pos = find_bit(p, from, to, (int)bit);
    /* Looking for a 0 without an explicit end: the string is taken as
     * padded with zeros, so the answer is the first bit past the range. */
    if (pos < 0 && bit == 0 && !end_given) pos = to + 1;
    reply_int(c, pos);
}

static void bitop_cmd(client *c)
{
    const char *op = ARG(c, 1);
    size_t oplen = ARGLEN(c, 1);
    enum { OP_AND, OP_OR, OP_XOR, OP_NOT } kind;
    if (arg_is(op, oplen, "and")) kind = OP_AND;
    else if (arg_is(op, oplen, "or")) kind = OP_OR;
    else if (arg_is(op, oplen, "xor")) kind = OP_XOR;
    else if (arg_is(op, oplen, "not")) kind = OP_NOT;
    else { reply_syntax_err(c); return; }
    int nsrc = c->argc - 3;
    if (kind == OP_NOT && nsrc != 1) {
        reply_error(c, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    /* Source views stay valid: nothing is written until the result is built. */
    const unsigned char **src = xmalloc(sizeof(*src) * (size_t)nsrc);
    size_t *lens = xmalloc(sizeof(size_t) * (size_t)nsrc);
    char (*tmps)[24] = xmalloc(sizeof(*tmps) * (size_t)nsrc);
    size_t maxlen = 0;
    for (int i = 0; i < nsrc; i++) {
        kv *e = db_lookup_read(c->db, ARG(c, 3 + i), ARGLEN(c, 3 + i));
        if (e && e->type != OBJ_STRING) {
            reply_wrongtype(c);
            goto out;
        }
        src[i] = bytes_of(e, &lens[i], tmps[i]);
        if (lens[i] > maxlen) maxlen = lens[i];
    }
    if (maxlen == 0) {
        db_delete(c->db, ARG(c, 2), ARGLEN(c, 2));
        srv.dirty++;
        reply_int(c, 0);
        goto out;
    }
    sstr *res = str_new_raw(maxlen);
    unsigned char *r = (unsigned char *)res->data;
    if (kind == OP_NOT) {
        for (size_t k = 0; k < maxlen; k++) r[k] = (unsigned char)~src[0][k];
    } else {
        /* Missing bytes of shorter sources count as zero. */
        memcpy(r, src[0], lens[0]);
        for (int i = 1; i < nsrc; i++) {
            size_t k = 0;
            if (kind == OP_AND) {
                for (; k < lens[i]; k++) r[k] &= src[i][k];
                memset(r + k, 0, maxlen - k);
            } else if (kind == OP_OR) {
                for (; k < lens[i]; k++) r[k] |= src[i][k];
            } else {
                for (; k < lens[i]; k++) r[k] ^= src[i][k];
            }
        }
        if (kind == OP_AND && lens[0] < maxlen) memset(r + lens[0], 0, maxlen - lens[0]);
    }
    db_set(c->db, ARG(c, 2), ARGLEN(c, 2), OBJ_STRING, OBJ_ENC_RAW, res, 0);
    srv.dirty++;
    reply_int(c, (long long)maxlen);
out:
    xfree(src);
    xfree(lens);
    xfree(tmps);
}

/* ---- BITFIELD --------------------------------------------------------- */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { BF_WRAP, BF_SAT, BF_FAIL };

typedef struct bf_op {
    uint64_t offset;
    long long value;   /* SET value / INCRBY increment */
    int kind, sign, bits, overflow;
} bf_op;

/* "i<1..64>" or "u<1..63>". */
static int bf_type_arg(client *c, int i, int *sign, int *bits)
{
    const char *p = ARG(c, i);
    size_t len = ARGLEN(c, i);
    long long b;
    if (len >= 2 && (p[0] == 'i' || p[0] == 'u') && str_to_ll(p + 1, len - 1, &b)) {
        *sign = p[0] == 'i'; /* lowercase only, as Redis */
        if (b >= 1 && ((*sign && b <= 64) || (!*sign && b <= 63))) {
            *bits = (int)b;
            return 0;
        }
    }
    reply_error(c, "ERR Invalid bitfield type. Use something like i16 u8. "
                   "Note that u64 is not supported but i64 is.");
    return -1;
}

/* Reads `bits` bits at `off` as an unsigned number (bytes past len are 0). */
static uint64_t bf_read(const unsigned char *p, size_t len, uint64_t off, int bits)
{
    uint64_t v = 0;
    for (int i = 0; i < bits; i++) {
        uint64_t b = off + (uint64_t)i, byte = b >> 3;
        int bit = byte < len ? (p[byte] >> (7 - (b & 7))) & 1 : 0;
        v = (v << 1) | (uint64_t)bit;
    }
    return v;
}

static void bf_write(unsigned char *p, uint64_t off, int bits, uint64_t v)
{
    for (int i = 0; i < bits; i++) {
        uint64_t b = off + (uint64_t)i;
        int bit = (int)((v >> (bits - 1 - i)) & 1);
        unsigned char m = (unsigned char)(1 << (7 - (b & 7)));
        if (bit) p[b >> 3] |= m;
        else p[b >> 3] &= (unsigned char)~m;
    }
}

/* The field as a signed/unsigned number. */
static __int128 bf_value(uint64_t raw, int sign, int bits)
{
    if (sign && bits < 64 && (raw >> (bits - 1)) & 1) raw |= ~0ULL << bits;
    return sign ? (__int128)(int64_t)raw : (__int128)raw;
}

/* Fits the exact result r into the field, per the overflow policy.
 * Returns 0 and the stored raw bits, or -1 for FAIL on overflow. */
static int bf_fit(__int128 r, int sign, int bits, int policy, uint64_t *out)
{
    __int128 lo, hi;
    if (sign) {
        hi = ((__int128)1 << (bits - 1)) - 1;
        lo = -hi - 1;
    } else {
        lo = 0;
        hi = ((__int128)1 << bits) - 1;
    }
    uint64_t mask = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
    if (r >= lo && r <= hi) {
        *out = (uint64_t)r & mask;
        return 0;
    }
    if (policy == BF_FAIL) return -1;
    if (policy == BF_SAT) *out = (uint64_t)(r > hi ? hi : lo) & mask;
    else *out = (uint64_t)r & mask; /* WRAP: keep the low bits */
    return 0;
}

static void reply_bf_value(client *c, uint64_t raw, int sign, int bits)
{
    reply_int(c, (long long)bf_value(raw, sign, bits));
}

static void bitfield_generic(client *c, int ro)
{
    int cap = (c->argc - 2) / 3 + 1, n = 0, policy = BF_WRAP, writes = 0;
    bf_op *ops = xmalloc(sizeof(bf_op) * (size_t)cap);
    uint64_t highest = 0; /* highest bit a write touches */
    for (int j = 2; j < c->argc; j++) {
        const char *a = ARG(c, j);
        size_t al = ARGLEN(c, j);
        int rem = c->argc - j - 1, kind;
        if (arg_is(a, al, "get") && rem >= 2) kind = BF_GET;
        else if (arg_is(a, al, "set") && rem >= 3) kind = BF_SET;
        else if (arg_is(a, al, "incrby") && rem >= 3) kind = BF_INCRBY;
        else if (arg_is(a, al, "overflow") && rem >= 1) {
            const char *o = ARG(c, ++j);
            size_t ol = ARGLEN(c, j);
            if (arg_is(o, ol, "wrap")) policy = BF_WRAP;
            else if (arg_is(o, ol, "sat")) policy = BF_SAT;
            else if (arg_is(o, ol, "fail")) policy = BF_FAIL;
            else { reply_error(c, "ERR Invalid OVERFLOW type specified"); goto out; }
            continue;
        } else {
            reply_syntax_err(c);
            goto out;
        }
        bf_op *op = &ops[n];
        op->kind = kind;
        op->overflow = policy;
        op->value = 0;
        if (bf_type_arg(c, j + 1, &op->sign, &op->bits)) goto out;
        if (bit_offset_arg(c, j + 2, op->bits, &op->offset)) goto out;
        if (kind != BF_GET) {
            writes++;
            if (op->offset + (uint64_t)op->bits - 1 > highest) highest = op->offset + (uint64_t)op->bits - 1;
            if (arg_ll(c, j + 3, &op->value)) goto out;
            j += 3;
        } else {
            j += 2;
        }
        n++;
    }
    const unsigned char *rp;
    size_t rlen;
    char tmp[24];
    sstr *s = NULL;
    int created = 0;
    if (!writes) {
        kv *e = db_lookup_read(c->db, ARG(c, 1), ARGLEN(c, 1));
        if (e && e->type != OBJ_STRING) { reply_wrongtype(c); goto out; }
        rp = bytes_of(e, &rlen, tmp);
    } else {
        if (ro) {
            reply_error(c, "ERR BITFIELD_RO only supports the GET subcommand");
            goto out;
        }
        /* The string grows to cover every write, even one that FAIL
         * later refuses (as Redis does). */
        s = lookup_for_bit_write(c, (size_t)(highest >> 3) + 1, &created);
        if (!s) goto out;
        rp = (const unsigned char *)s->data;
        rlen = s->len;
    }
    long long changes = 0;
    reply_array(c, n);
    for (int i = 0; i < n; i++) {
        bf_op *op = &ops[i];
        uint64_t old = bf_read(rp, rlen, op->offset, op->bits), nw;
        if (op->kind == BF_GET) {
            reply_bf_value(c, old, op->sign, op->bits);
            continue;
        }
        __int128 r;
        if (op->kind == BF_SET)
            /* An unsigned field takes the value's 64 bits as unsigned (so -1 is 2^64-1). */
            r = op->sign ? (__int128)op->value : (__int128)(uint64_t)op->value;
        else
            r = bf_value(old, op->sign, op->bits) + op->value;
        if (bf_fit(r, op->sign, op->bits, op->overflow, &nw)) {
            reply_null(c);
            continue;
        }
        bf_write((unsigned char *)s->data, op->offset, op->bits, nw);
        changes++;
        if (op->kind == BF_SET) reply_bf_value(c, old, op->sign, op->bits);
        else reply_bf_value(c, nw, op->sign, op->bits);
    }
    /* A created key counts as a change too, so it reaches replicas. */
    if (changes || created) srv.dirty += changes ? changes : 1;
out:
    xfree(ops);
}

static void bitfield_cmd(client *c) { bitfield_generic(c, 0); }
static void bitfield_ro_cmd(client *c) { bitfield_generic(c, 1); }

const cmd_binding bitmap_commands[] = {
    {"setbit", setbit_cmd},
    {"getbit", getbit_cmd},
    {"bitcount", bitcount_cmd},
    {"bitpos", bitpos_cmd},
    {"bitop", bitop_cmd},
    {"bitfield", bitfield_cmd},
    {"bitfield_ro", bitfield_ro_cmd},
    {NULL, NULL},
};
