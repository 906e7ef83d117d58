#include "buf.h"
#include "mem.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void buf_init(buf_t *b) { memset(b, 0, sizeof(*b)); }

void buf_free(buf_t *b)
{
    xfree(b->p);
    memset(b, 0, sizeof(*b));
}

void buf_reserve(buf_t *b, size_t extra)
{
    if (b->cap - b->len >= extra) return;
    /* Reclaim the consumed prefix before growing. */
    if (b->off && b->cap - (b->len - b->off) >= extra && b->off >= b->len / 2) {
        buf_compact(b);
        if (b->cap - b->len >= extra) return;
    }
    size_t need = b->len + extra;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) ncap = ncap < (1u << 20) ? ncap * 2 : ncap + ncap / 2;
    b->p = xrealloc(b->p, ncap);
    b->cap = ncap;
}

void buf_append(buf_t *b, const void *data, size_t n)
{
    if (!n) return;
    buf_reserve(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void buf_append_str(buf_t *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_consume(buf_t *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len) b->off = b->len = 0;
}

void buf_compact(buf_t *b)
{
    if (!b->off) return;
    memmove(b->p, b->p + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
}

void buf_insert(buf_t *b, size_t pos, const void *data, size_t n)
{
    buf_reserve(b, n);
    memmove(b->p + pos + n, b->p + pos, b->len - pos);
    memcpy(b->p + pos, data, n);
    b->len += n;
}

void buf_reset(buf_t *b, size_t keep)
{
    b->off = b->len = 0;
    if (b->cap > keep) { xfree(b->p); b->p = NULL; b->cap = 0; }
}

void buf_append_varint(buf_t *b, unsigned long long v)
{
    unsigned char tmp[10];
    int n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    buf_append(b, tmp, (size_t)n);
}

int varint_read(const unsigned char **p, const unsigned char *end, unsigned long long *out)
{
    unsigned long long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return 0;
        unsigned char c = *(*p)++;
        v |= (unsigned long long)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}
