/* resp_scan: reply-length scanner for RESP2/RESP3 (see resp_scan.h). */
#include "resp_scan.h"
#include "mem.h"
#include <string.h>

#define ATTR_BIT (1LL << 62)
/* Deeper nesting than this is not a reply any server sends; refusing it
 * bounds the scanner's memory on garbage input. */
#define MAX_DEPTH (1 << 16)
/* Aggregate counts beyond this can't be real replies (and 2n must not
 * overflow for maps). */
#define MAX_COUNT (1LL << 40)

void resp_scanner_init(resp_scanner *s)
{
    memset(s, 0, sizeof(*s));
}

void resp_scanner_free(resp_scanner *s)
{
    xfree(s->left);
    memset(s, 0, sizeof(*s));
}

void resp_scanner_reset(resp_scanner *s)
{
    s->pos = 0;
    s->need = 0;
    s->depth = 0;
    s->err = NULL;
}

/* Parses [-]digits in p[0..n); 1 on success. */
static int scan_num(const char *p, size_t n, long long *out)
{
    int neg = 0;
    long long v = 0;
    if (n && *p == '-') { neg = 1; p++; n--; }
    if (n == 0 || n > 18) return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = neg ? -v : v;
    return 1;
}

static int push(resp_scanner *s, long long n)
{
    if (s->depth == s->cap) {
        if (s->cap >= MAX_DEPTH) return -1;
        int nc = s->cap ? s->cap * 2 : 8;
        s->left = xrealloc(s->left, sizeof(long long) * (size_t)nc);
        s->cap = nc;
    }
    s->left[s->depth++] = n;
    return 0;
}

static int fail(resp_scanner *s, const char *why)
{
    s->err = why;
    return RESP_SCAN_ERR;
}

int resp_scan(resp_scanner *s, const char *data, size_t len, size_t *reply_len)
{
    size_t pos = s->pos;
    s->need = 0;
    for (;;) {
        if (pos >= len) goto more;
        char t = data[pos];
        const char *cr = memchr(data + pos, '\r', len - pos);
        if (!cr || (size_t)(cr - data) + 1 >= len) goto more;
        if (cr[1] != '\n') return fail(s, "missing LF after CR");
        size_t numlen = (size_t)(cr - data) - pos - 1;
        size_t lineend = (size_t)(cr - data) + 2;
        long long n = 0;
        switch (t) {
        case '+': case '-': case ':': case ',': case '#': case '_': case '(':
            pos = lineend;
            break;
        case '$': case '!': case '=':
            if (!scan_num(data + pos + 1, numlen, &n)) return fail(s, "bad bulk length");
            if (n == -1 && t == '$') { pos = lineend; break; }
            if (n < 0) return fail(s, "bad bulk length");
            if (s->max_bulk && n > s->max_bulk) return fail(s, "bulk too long");
            if (len < lineend + (size_t)n + 2) {
                s->need = lineend + (size_t)n + 2;
                goto more;
            }
            if (data[lineend + n] != '\r' || data[lineend + n + 1] != '\n')
                return fail(s, "bulk not terminated by CRLF");
            pos = lineend + (size_t)n + 2;
            break;
        case '*': case '~': case '>': case '%': case '|':
            if (!scan_num(data + pos + 1, numlen, &n)) return fail(s, "bad aggregate length");
            pos = lineend;
            if (n == -1 && t == '*') break;         /* null array: one element */
            if (n < 0 || n > MAX_COUNT) return fail(s, "bad aggregate length");
            if (t == '%' || t == '|') n *= 2;
            if (n == 0) {
                if (t == '|') continue;            /* empty attribute: value follows */
                break;                             /* empty aggregate: one element */
            }
            if (push(s, t == '|' ? (n | ATTR_BIT) : n) < 0) return fail(s, "nesting too deep");
            continue;                              /* its elements follow */
        default:
            return fail(s, "unknown type byte");
        }
        /* One element finished: close every aggregate it completes. */
        for (;;) {
            if (s->depth == 0) {
                *reply_len = pos;
                resp_scanner_reset(s);
                return RESP_SCAN_DONE;
            }
            long long *l = &s->left[s->depth - 1];
            long long attr = *l & ATTR_BIT;
            long long cnt = (*l & ~ATTR_BIT) - 1;
            if (cnt > 0) { *l = cnt | attr; break; }
            s->depth--;
            if (attr) break; /* an attribute is not an element: its value follows */
        }
    }
more:
    s->pos = pos;
    return RESP_SCAN_MORE;
}

long long resp_scan_one(const char *data, size_t len)
{
    resp_scanner s;
    size_t n = 0;
    resp_scanner_init(&s);
    int r = resp_scan(&s, data, len, &n);
    resp_scanner_free(&s);
    if (r == RESP_SCAN_DONE) return (long long)n;
    return r == RESP_SCAN_ERR ? -1 : 0;
}

size_t resp_scan_header(const char *data, size_t len, long long *count)
{
    const char *cr = len > 1 ? memchr(data, '\r', len) : NULL;
    if (!cr || (size_t)(cr - data) + 1 >= len) return 0;
    if (count) {
        long long v = 0;
        if (!scan_num(data + 1, (size_t)(cr - data) - 1, &v)) v = 0;
        *count = v;
    }
    return (size_t)(cr - data) + 2;
}
