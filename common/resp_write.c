/* resp_write: reply encoding. RESP3 types are downgraded to their RESP2
 * equivalents when proto is 2, exactly as Redis 7.0 does. */
#include "resp.h"
#include "util.h"
#include <string.h>

static inline void put_hdr(buf_t *b, char t, long long n)
{
    buf_reserve(b, 24);
    char *w = b->p + b->len;
    *w++ = t;
    w += ll_to_str(w, n);
    *w++ = '\r';
    *w++ = '\n';
    b->len = (size_t)(w - b->p);
}

static inline void put_line(buf_t *b, char t, const char *s, size_t len)
{
    buf_reserve(b, len + 3);
    char *w = b->p + b->len;
    *w++ = t;
    memcpy(w, s, len);
    w += len;
    *w++ = '\r';
    *w++ = '\n';
    b->len = (size_t)(w - b->p);
}

void resp_w_status(buf_t *b, const char *s, size_t len) { put_line(b, '+', s, len); }
void resp_w_status_cstr(buf_t *b, const char *s) { put_line(b, '+', s, strlen(s)); }

void resp_w_error(buf_t *b, const char *s, size_t len)
{
    /* Error lines must stay one line: newlines would break framing. */
    buf_reserve(b, len + 3);
    char *w = b->p + b->len;
    *w++ = '-';
    for (size_t i = 0; i < len; i++) *w++ = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    *w++ = '\r';
    *w++ = '\n';
    b->len = (size_t)(w - b->p);
}

void resp_w_error_cstr(buf_t *b, const char *s) { resp_w_error(b, s, strlen(s)); }
void resp_w_int(buf_t *b, long long v) { put_hdr(b, ':', v); }

void resp_w_bulk(buf_t *b, const void *p, size_t len)
{
    buf_reserve(b, len + 26);
    char *w = b->p + b->len;
    *w++ = '$';
    w += ull_to_str(w, len);
    *w++ = '\r';
    *w++ = '\n';
    memcpy(w, p, len);
    w += len;
    *w++ = '\r';
    *w++ = '\n';
    b->len = (size_t)(w - b->p);
}

void resp_w_bulk_cstr(buf_t *b, const char *s) { resp_w_bulk(b, s, strlen(s)); }

void resp_w_bulk_ll(buf_t *b, long long v)
{
    char tmp[24];
    int n = ll_to_str(tmp, v);
    resp_w_bulk(b, tmp, (size_t)n);
}

void resp_w_null(buf_t *b, int proto)
{
    if (proto >= 3) buf_append(b, "_\r\n", 3);
    else buf_append(b, "$-1\r\n", 5);
}

void resp_w_null_array(buf_t *b, int proto)
{
    if (proto >= 3) buf_append(b, "_\r\n", 3);
    else buf_append(b, "*-1\r\n", 5);
}

void resp_w_array(buf_t *b, long long n) { put_hdr(b, '*', n); }
void resp_w_map(buf_t *b, int proto, long long n) { if (proto >= 3) put_hdr(b, '%', n); else put_hdr(b, '*', n * 2); }
void resp_w_set(buf_t *b, int proto, long long n) { put_hdr(b, proto >= 3 ? '~' : '*', n); }
void resp_w_push(buf_t *b, int proto, long long n) { put_hdr(b, proto >= 3 ? '>' : '*', n); }

void resp_w_double(buf_t *b, int proto, double d)
{
    char tmp[128];
    int n = double_to_str(tmp, d);
    if (proto >= 3) put_line(b, ',', tmp, (size_t)n);
    else resp_w_bulk(b, tmp, (size_t)n);
}

void resp_w_bool(buf_t *b, int proto, int v)
{
    if (proto >= 3) buf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
    else buf_append(b, v ? ":1\r\n" : ":0\r\n", 4);
}

void resp_w_verbatim(buf_t *b, int proto, const char *p, size_t len)
{
    if (proto < 3) { resp_w_bulk(b, p, len); return; }
    put_hdr(b, '=', (long long)len + 4);
    buf_append(b, "txt:", 4);
    buf_append(b, p, len);
    buf_append(b, "\r\n", 2);
}

size_t resp_w_defer(buf_t *b) { return b->len; }

void resp_w_defer_fill(buf_t *b, size_t mark, int proto, char type, long long n)
{
    char tmp[32];
    if (proto < 3) {
        if (type == '%') n *= 2;
        type = '*';
    }
    tmp[0] = type;
    int k = 1 + ll_to_str(tmp + 1, n);
    tmp[k++] = '\r';
    tmp[k++] = '\n';
    buf_insert(b, mark, tmp, (size_t)k);
}
