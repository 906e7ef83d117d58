/* listpack: Redis-format compact entry sequence (see listpack.h for the
 * layout and the pointer rules). Every write goes through splice(), which
 * replaces one byte range with at most one freshly encoded entry. */
#include "listpack.h"
#include "mem.h"
#include "util.h"
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "listpack.c assumes a little-endian host"
#endif

#define LP_EOF 0xFF
#define LP_COUNT_UNKNOWN 65535

/* Encoding first bytes. */
#define ENC_UINT7_MASK 0x80   /* 0xxxxxxx */
#define ENC_STR6   0x80       /* 10xxxxxx */
#define ENC_INT13  0xC0       /* 110xxxxx yyyyyyyy */
#define ENC_STR12  0xE0       /* 1110xxxx yyyyyyyy */
#define ENC_STR32  0xF0
#define ENC_INT16  0xF1
#define ENC_INT24  0xF2
#define ENC_INT32  0xF3
#define ENC_INT64  0xF4

static inline uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t rd16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline void wr32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wr16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }

static inline size_t total_bytes(const unsigned char *lp) { return rd32(lp); }

/* Size of an entry's encoding + data, from its first bytes. 0 for the end
 * byte or an unused encoding. */
static inline size_t enc_data_len(const unsigned char *p)
{
    unsigned char b = p[0];
    if (b < 0x80) return 1;
    if (b < 0xC0) return 1 + (size_t)(b & 0x3F);
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 2 + (((size_t)(b & 0x0F) << 8) | p[1]);
    switch (b) {
    case ENC_STR32: return 5 + (size_t)rd32(p + 1);
    case ENC_INT16: return 3;
    case ENC_INT24: return 4;
    case ENC_INT32: return 5;
    case ENC_INT64: return 9;
    default: return 0;
    }
}

static inline size_t backlen_size(size_t l)
{
    if (l < 128) return 1;
    if (l < 16384) return 2;
    if (l < 2097152) return 3;
    if (l < 268435456) return 4;
    return 5;
}

/* Writes l as a backlen of backlen_size(l) bytes at p: the rightmost byte
 * holds the low 7 bits; every byte but the leftmost has its top bit set,
 * meaning "more bytes to the left". */
static inline void backlen_write(unsigned char *p, size_t l)
{
    size_t n = backlen_size(l);
    for (size_t i = n; i-- > 0;) {
        p[i] = (unsigned char)(l & 127) | (i == 0 ? 0 : 128);
        l >>= 7;
    }
}

/* Reads the backlen that ends at p (inclusive); *nbytes gets its size. */
static inline size_t backlen_read(const unsigned char *p, size_t *nbytes)
{
    size_t v = 0, shift = 0, n = 0;
    for (;;) {
        v |= (size_t)(*p & 127) << shift;
        n++;
        if (!(*p & 128) || n == 5) break;
        shift += 7;
        p--;
    }
    *nbytes = n;
    return v;
}

static inline size_t entry_size(const unsigned char *p)
{
    size_t l = enc_data_len(p);
    return l + backlen_size(l);
}

/* Encodes an integer as the shortest encoding; returns its length (<= 9). */
static size_t enc_int(unsigned char *buf, long long v)
{
    if (v >= 0 && v <= 127) { buf[0] = (unsigned char)v; return 1; }
    if (v >= -4096 && v <= 4095) {
        unsigned u = v < 0 ? (unsigned)(8192 + v) : (unsigned)v;
        buf[0] = (unsigned char)(ENC_INT13 | (u >> 8));
        buf[1] = (unsigned char)(u & 0xFF);
        return 2;
    }
    if (v >= INT16_MIN && v <= INT16_MAX) {
        int16_t x = (int16_t)v; buf[0] = ENC_INT16; memcpy(buf + 1, &x, 2); return 3;
    }
    if (v >= -8388608 && v <= 8388607) {
        uint32_t u = (uint32_t)(int32_t)v;
        buf[0] = ENC_INT24; buf[1] = u & 0xFF; buf[2] = (u >> 8) & 0xFF; buf[3] = (u >> 16) & 0xFF;
        return 4;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
        int32_t x = (int32_t)v; buf[0] = ENC_INT32; memcpy(buf + 1, &x, 4); return 5;
    }
    buf[0] = ENC_INT64; memcpy(buf + 1, &v, 8);
    return 9;
}

/* Encodes a string header for len bytes; returns its length (1, 2 or 5). */
static size_t enc_str_hdr(unsigned char *buf, size_t len)
{
    if (len < 64) { buf[0] = (unsigned char)(ENC_STR6 | len); return 1; }
    if (len < 4096) {
        buf[0] = (unsigned char)(ENC_STR12 | (len >> 8));
        buf[1] = (unsigned char)(len & 0xFF);
        return 2;
    }
    buf[0] = ENC_STR32;
    wr32(buf + 1, (uint32_t)len);
    return 5;
}

/* Canonical-integer test used for every string written: "123" -> 123. */
static inline int str_as_int(const void *s, size_t len, long long *v)
{
    if (len == 0 || len > 20) return 0;
    const char *c = s;
    if (!((c[0] >= '0' && c[0] <= '9') || c[0] == '-')) return 0;
    return str_to_ll(c, len, v);
}

static void count_add(unsigned char *lp, long delta)
{
    uint16_t c = rd16(lp + 4);
    if (c == LP_COUNT_UNKNOWN) return;
    long n = (long)c + delta;
    wr16(lp + 4, n >= LP_COUNT_UNKNOWN ? LP_COUNT_UNKNOWN : (uint16_t)n);
}

/* Replaces oldlen bytes at offset off with one entry made of hdr + payload
 * + backlen (or with nothing when hdr is NULL), and adjusts the count.
 * payload may point into lp: it is copied out first in that case. */
static unsigned char *splice(unsigned char *lp, size_t off, size_t oldlen,
                             const unsigned char *hdr, size_t hlen,
                             const void *payload, size_t plen, long count_delta)
{
    size_t total = total_bytes(lp);
    size_t elen = hdr ? hlen + plen + backlen_size(hlen + plen) : 0;
    size_t newtotal = total - oldlen + elen;
    size_t tail = total - off - oldlen;     /* bytes after the range, end byte included */
    void *tmp = NULL;

    if (plen && (uintptr_t)payload >= (uintptr_t)lp && (uintptr_t)payload < (uintptr_t)lp + total) {
        tmp = xmalloc(plen);
        memcpy(tmp, payload, plen);
        payload = tmp;
    }
    if (elen > oldlen) {
        lp = xrealloc(lp, newtotal);
        memmove(lp + off + elen, lp + off + oldlen, tail);
    } else if (elen < oldlen) {
        memmove(lp + off + elen, lp + off + oldlen, tail);
        lp = xrealloc(lp, newtotal);
    }
    if (hdr) {
        unsigned char *w = lp + off;
        memcpy(w, hdr, hlen);
        if (plen) memcpy(w + hlen, payload, plen);
        backlen_write(w + hlen + plen, hlen + plen);
    }
    wr32(lp, (uint32_t)newtotal);
    if (count_delta) count_add(lp, count_delta);
    xfree(tmp);
    return lp;
}

/* Writes a string (or the integer it spells) as one entry in place of
 * [off, off+oldlen). */
static unsigned char *splice_str(unsigned char *lp, size_t off, size_t oldlen,
                                 const void *s, size_t len, long delta)
{
    unsigned char hdr[9];
    long long v;
    if (str_as_int(s, len, &v))
        return splice(lp, off, oldlen, hdr, enc_int(hdr, v), NULL, 0, delta);
    return splice(lp, off, oldlen, hdr, enc_str_hdr(hdr, len), s, len, delta);
}

static unsigned char *splice_int(unsigned char *lp, size_t off, size_t oldlen,
                                 long long v, long delta)
{
    unsigned char hdr[9];
    return splice(lp, off, oldlen, hdr, enc_int(hdr, v), NULL, 0, delta);
}

/* ---- Basics ---- */

unsigned char *lp_new(void)
{
    unsigned char *lp = xmalloc(LP_HDR_SIZE + 1);
    wr32(lp, LP_HDR_SIZE + 1);
    wr16(lp + 4, 0);
    lp[LP_HDR_SIZE] = LP_EOF;
    return lp;
}

void lp_free(unsigned char *lp) { xfree(lp); }

unsigned char *lp_dup(const unsigned char *lp)
{
    size_t n = total_bytes(lp);
    unsigned char *c = xmalloc(n);
    memcpy(c, lp, n);
    return c;
}

unsigned char *lp_from_blob(const void *blob, size_t size)
{
    unsigned char *c = xmalloc(size);
    memcpy(c, blob, size);
    return c;
}

size_t lp_bytes(const unsigned char *lp) { return total_bytes(lp); }

unsigned long lp_length(unsigned char *lp)
{
    uint16_t c = rd16(lp + 4);
    if (c != LP_COUNT_UNKNOWN) return c;
    unsigned long n = 0;
    for (unsigned char *p = lp + LP_HDR_SIZE; *p != LP_EOF; p += entry_size(p)) n++;
    if (n < LP_COUNT_UNKNOWN) wr16(lp + 4, (uint16_t)n);
    return n;
}

int lp_safe_to_add(const unsigned char *lp, size_t add)
{
    size_t cur = lp ? total_bytes(lp) : 0;
    return cur + add <= LP_MAX_SAFE_SIZE;
}

size_t lp_entry_bytes(const unsigned char *p) { return entry_size(p); }

size_t lp_entry_size_str(const void *s, size_t len)
{
    unsigned char hdr[9];
    long long v;
    size_t l = str_as_int(s, len, &v) ? enc_int(hdr, v) : enc_str_hdr(hdr, len) + len;
    return l + backlen_size(l);
}

/* ---- Positions ---- */

unsigned char *lp_first(unsigned char *lp)
{
    unsigned char *p = lp + LP_HDR_SIZE;
    return *p == LP_EOF ? NULL : p;
}

unsigned char *lp_last(unsigned char *lp)
{
    return lp_prev(lp, lp + total_bytes(lp) - 1);
}

unsigned char *lp_next(unsigned char *lp, unsigned char *p)
{
    (void)lp;
    p += entry_size(p);
    return *p == LP_EOF ? NULL : p;
}

unsigned char *lp_prev(unsigned char *lp, unsigned char *p)
{
    if (p <= lp + LP_HDR_SIZE) return NULL;
    size_t nb;
    size_t l = backlen_read(p - 1, &nb);
    return p - nb - l;
}

unsigned char *lp_seek(unsigned char *lp, long index)
{
    unsigned long n = lp_length(lp);
    if (index < 0) index += (long)n;
    if (index < 0 || (unsigned long)index >= n) return NULL;
    unsigned char *p;
    if ((unsigned long)index <= n / 2) {
        p = lp + LP_HDR_SIZE;
        for (long i = 0; i < index; i++) p += entry_size(p);
    } else {
        p = lp_last(lp);
        for (unsigned long i = n - 1; i > (unsigned long)index; i--) p = lp_prev(lp, p);
    }
    return p;
}

/* ---- Reading ---- */

void lp_get(const unsigned char *p, lp_val *out)
{
    unsigned char b = p[0];
    out->s = NULL;
    out->len = 0;
    if (b < 0x80) { out->v = b; return; }
    if (b < 0xC0) { out->s = p + 1; out->len = b & 0x3F; return; }
    if (b < 0xE0) {
        unsigned u = ((unsigned)(b & 0x1F) << 8) | p[1];
        out->v = u >= 4096 ? (long long)u - 8192 : (long long)u;
        return;
    }
    if (b < 0xF0) { out->s = p + 2; out->len = ((size_t)(b & 0x0F) << 8) | p[1]; return; }
    switch (b) {
    case ENC_STR32: out->s = p + 5; out->len = rd32(p + 1); return;
    case ENC_INT16: { int16_t x; memcpy(&x, p + 1, 2); out->v = x; return; }
    case ENC_INT24: {
        uint32_t u = (uint32_t)p[1] | ((uint32_t)p[2] << 8) | ((uint32_t)p[3] << 16);
        out->v = (u & 0x800000) ? (long long)u - 0x1000000 : (long long)u;
        return;
    }
    case ENC_INT32: { int32_t x; memcpy(&x, p + 1, 4); out->v = x; return; }
    case ENC_INT64: { int64_t x; memcpy(&x, p + 1, 8); out->v = x; return; }
    default: out->v = 0; return;   /* not reachable on a valid listpack */
    }
}

const char *lp_get_str(const unsigned char *p, size_t *len, char *intbuf)
{
    lp_val e;
    lp_get(p, &e);
    if (e.s) { *len = e.len; return (const char *)e.s; }
    *len = (size_t)ll_to_str(intbuf, e.v);
    return intbuf;
}

int lp_is_int(const unsigned char *p, long long *v)
{
    lp_val e;
    lp_get(p, &e);
    if (e.s) return 0;
    if (v) *v = e.v;
    return 1;
}

int lp_get_ll(const unsigned char *p, long long *v)
{
    lp_val e;
    lp_get(p, &e);
    if (!e.s) { *v = e.v; return 1; }
    return str_to_ll((const char *)e.s, e.len, v);
}

int lp_get_double(const unsigned char *p, double *v)
{
    lp_val e;
    lp_get(p, &e);
    if (!e.s) { *v = (double)e.v; return 1; }
    return str_to_double((const char *)e.s, e.len, v);
}

int lp_eq(const unsigned char *p, const void *s, size_t len)
{
    lp_val e;
    lp_get(p, &e);
    if (e.s) return e.len == len && (len == 0 || memcmp(e.s, s, len) == 0);
    long long v;
    return str_as_int(s, len, &v) && v == e.v;
}

int lp_cmp_str(const unsigned char *p, const void *s, size_t len)
{
    char buf[LP_INTBUF_SIZE];
    size_t el;
    const char *es = lp_get_str(p, &el, buf);
    size_t m = el < len ? el : len;
    int c = m ? memcmp(es, s, m) : 0;
    if (c) return c;
    return el < len ? -1 : el > len ? 1 : 0;
}

unsigned char *lp_find(unsigned char *lp, unsigned char *p, const void *s, size_t len,
                       unsigned skip)
{
    int sint = -1;          /* is s a canonical integer? decided on first need */
    long long sv = 0;
    unsigned left = 0;
    (void)lp;
    if (!p) return NULL;
    while (*p != LP_EOF) {
        if (left == 0) {
            unsigned char b = p[0];
            if (b >= 0x80 && b < 0xC0) {        /* short string: the common case */
                if ((size_t)(b & 0x3F) == len && memcmp(p + 1, s, len) == 0) return p;
            } else {
                lp_val e;
                lp_get(p, &e);
                if (e.s) {
                    if (e.len == len && memcmp(e.s, s, len) == 0) return p;
                } else {
                    if (sint < 0) sint = str_as_int(s, len, &sv);
                    if (sint && sv == e.v) return p;
                }
            }
            left = skip;
        } else {
            left--;
        }
        p += entry_size(p);
    }
    return NULL;
}

/* ---- Writing ---- */

unsigned char *lp_append(unsigned char *lp, const void *s, size_t len)
{
    return splice_str(lp, total_bytes(lp) - 1, 0, s, len, 1);
}

unsigned char *lp_append_int(unsigned char *lp, long long v)
{
    return splice_int(lp, total_bytes(lp) - 1, 0, v, 1);
}

unsigned char *lp_prepend(unsigned char *lp, const void *s, size_t len)
{
    return splice_str(lp, LP_HDR_SIZE, 0, s, len, 1);
}

unsigned char *lp_prepend_int(unsigned char *lp, long long v)
{
    return splice_int(lp, LP_HDR_SIZE, 0, v, 1);
}

static size_t insert_off(unsigned char *lp, unsigned char *p, int where)
{
    if (!p) return total_bytes(lp) - 1;
    size_t off = (size_t)(p - lp);
    return where == LP_AFTER ? off + entry_size(p) : off;
}

unsigned char *lp_insert(unsigned char *lp, unsigned char *p, int where,
                         const void *s, size_t len, unsigned char **newp)
{
    size_t off = insert_off(lp, p, where);
    lp = splice_str(lp, off, 0, s, len, 1);
    if (newp) *newp = lp + off;
    return lp;
}

unsigned char *lp_insert_int(unsigned char *lp, unsigned char *p, int where,
                             long long v, unsigned char **newp)
{
    size_t off = insert_off(lp, p, where);
    lp = splice_int(lp, off, 0, v, 1);
    if (newp) *newp = lp + off;
    return lp;
}

unsigned char *lp_replace(unsigned char *lp, unsigned char **p, const void *s, size_t len)
{
    size_t off = (size_t)(*p - lp);
    lp = splice_str(lp, off, entry_size(*p), s, len, 0);
    *p = lp + off;
    return lp;
}

unsigned char *lp_replace_int(unsigned char *lp, unsigned char **p, long long v)
{
    size_t off = (size_t)(*p - lp);
    lp = splice_int(lp, off, entry_size(*p), v, 0);
    *p = lp + off;
    return lp;
}

unsigned char *lp_delete(unsigned char *lp, unsigned char **p)
{
    size_t off = (size_t)(*p - lp);
    lp = splice(lp, off, entry_size(*p), NULL, 0, NULL, 0, -1);
    *p = lp[off] == LP_EOF ? NULL : lp + off;
    return lp;
}

unsigned char *lp_delete_range_at(unsigned char *lp, unsigned char *p, unsigned long num)
{
    if (!p || num == 0) return lp;
    unsigned char *q = p;
    unsigned long n = 0;
    while (n < num && *q != LP_EOF) { q += entry_size(q); n++; }
    return splice(lp, (size_t)(p - lp), (size_t)(q - p), NULL, 0, NULL, 0, -(long)n);
}

unsigned char *lp_delete_range(unsigned char *lp, long index, unsigned long num)
{
    return lp_delete_range_at(lp, lp_seek(lp, index), num);
}

unsigned char *lp_concat(unsigned char *a, const unsigned char *b)
{
    size_t ta = total_bytes(a), tb = total_bytes(b);
    uint16_t ca = rd16(a + 4), cb = rd16(b + 4);
    a = xrealloc(a, ta + tb - LP_HDR_SIZE - 1);
    memcpy(a + ta - 1, b + LP_HDR_SIZE, tb - LP_HDR_SIZE); /* b's end byte included */
    wr32(a, (uint32_t)(ta + tb - LP_HDR_SIZE - 1));
    unsigned long c = (unsigned long)ca + cb;
    wr16(a + 4, (ca == LP_COUNT_UNKNOWN || cb == LP_COUNT_UNKNOWN || c >= LP_COUNT_UNKNOWN)
                    ? LP_COUNT_UNKNOWN : (uint16_t)c);
    return a;
}

unsigned char *lp_split(unsigned char **lpp, unsigned char *p)
{
    unsigned char *lp = *lpp;
    size_t off = (size_t)(p - lp), total = total_bytes(lp);
    size_t moved_bytes = total - 1 - off;
    unsigned long moved = 0;
    for (unsigned char *q = p; *q != LP_EOF; q += entry_size(q)) moved++;
    unsigned char *b = xmalloc(LP_HDR_SIZE + moved_bytes + 1);
    memcpy(b + LP_HDR_SIZE, p, moved_bytes + 1);     /* with the end byte */
    wr32(b, (uint32_t)(LP_HDR_SIZE + moved_bytes + 1));
    wr16(b + 4, moved >= LP_COUNT_UNKNOWN ? LP_COUNT_UNKNOWN : (uint16_t)moved);
    *lpp = splice(lp, off, moved_bytes, NULL, 0, NULL, 0, -(long)moved);
    return b;
}

/* ---- Validation ---- */

int lp_validate(const unsigned char *lp, size_t size, int deep, unsigned long *count)
{
    if (size < LP_HDR_SIZE + 1 || size > UINT32_MAX) return 0;
    if (total_bytes(lp) != size || lp[size - 1] != LP_EOF) return 0;
    if (!deep) return 1;
    const unsigned char *p = lp + LP_HDR_SIZE, *end = lp + size - 1;
    unsigned long n = 0;
    while (p < end) {
        unsigned char b = *p;
        size_t avail = (size_t)(end - p), need;
        if (b < 0xC0 || (b >= ENC_INT16 && b <= ENC_INT64)) need = 1;
        else if (b < 0xF0) need = 2;
        else if (b == ENC_STR32) need = 5;
        else return 0;                      /* unused encoding or a stray end byte */
        if (need > avail) return 0;
        size_t l = enc_data_len(p);
        if (l > avail) return 0;
        size_t bl = backlen_size(l);
        if (bl > avail - l) return 0;
        /* The backlen must be the canonical one, or lp_prev would misread. */
        const unsigned char *q = p + l;
        size_t v = 0;
        for (size_t i = 0; i < bl; i++) {
            if (((q[i] & 128) != 0) != (i != 0)) return 0;
            v = (v << 7) | (q[i] & 127);
        }
        if (v != l) return 0;
        p += l + bl;
        n++;
    }
    uint16_t hc = rd16(lp + 4);
    /* "unknown" may stay in the header after deletions bring the count back down. */
    if (hc != LP_COUNT_UNKNOWN && hc != n) return 0;
    if (count) *count = n;
    return 1;
}
