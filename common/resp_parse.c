/* resp_parse: streaming parser for client requests, multibulk and inline.
 * Error texts are Redis 7.0's, since clients and tests match on them. */
#include "resp.h"
#include "mem.h"
#include "util.h"
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Redis refuses header lines and inline requests longer than this
 * (PROTO_INLINE_MAX_SIZE) rather than buffering without bound. */
#define INLINE_MAX (64 * 1024)
/* Redis's cap on the multibulk count: it must fit an int. Argument
 * arrays are grown as arguments arrive, never sized from the claim. */
#define MULTIBULK_MAX INT_MAX

void resp_parser_init(resp_parser *p, long long max_bulk)
{
    memset(p, 0, sizeof(*p));
    p->max_bulk = max_bulk;
    p->max_inline = INLINE_MAX;
    resp_parser_reset(p);
}

void resp_parser_free(resp_parser *p)
{
    xfree(p->argoff);
    xfree(p->arglen);
    xfree(p->argv);
    xfree(p->argvlen);
    xfree(p->scratch);
    memset(p, 0, sizeof(*p));
}

void resp_parser_reset(resp_parser *p)
{
    p->multibulk = -1;
    p->argc = 0;
    p->bulklen = -1;
    p->pos = 0;
    p->need = 0;
    p->err = NULL;
}

static void ensure_args(resp_parser *p, int n)
{
    if (n <= p->argcap) return;
    int cap = p->argcap ? p->argcap : 8;
    while (cap < n) cap *= 2;
    p->argoff = xrealloc(p->argoff, sizeof(size_t) * cap);
    p->arglen = xrealloc(p->arglen, sizeof(size_t) * cap);
    p->argv = xrealloc(p->argv, sizeof(char *) * cap);
    p->argvlen = xrealloc(p->argvlen, sizeof(size_t) * cap);
    p->argcap = cap;
}

static int fail(resp_parser *p, const char *msg)
{
    p->err = msg;
    return RESP_PROTO_ERR;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Split an inline line into args with redis-cli's quoting rules
 * ("..." with escapes, '...' literal). Writes unquoted bytes to scratch. */
static int split_inline(resp_parser *p, const char *s, size_t n)
{
    if (p->scratch_cap < n + 1) {
        p->scratch = xrealloc(p->scratch, n + 1);
        p->scratch_cap = n + 1;
    }
    char *out = p->scratch;
    size_t i = 0, o = 0;
    int argc = 0;
    while (1) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v'))
            i++;
        if (i >= n) break;
        size_t start = o;
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            if (inq) {
                if (i >= n) return -1;
                if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
                    out[o++] = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
                    i += 3;
                } else if (s[i] == '\\' && i + 1 < n) {
                    char c;
                    i++;
                    switch (s[i]) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = s[i]; break;
                    }
                    out[o++] = c;
                } else if (s[i] == '"') {
                    /* closing quote must be followed by a space or the end */
                    if (i + 1 < n && s[i + 1] != ' ' && s[i + 1] != '\t') return -1;
                    done = 1;
                } else {
                    out[o++] = s[i];
                }
            } else if (insq) {
                if (i >= n) return -1;
                if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\'') {
                    i++;
                    out[o++] = '\'';
                } else if (s[i] == '\'') {
                    if (i + 1 < n && s[i + 1] != ' ' && s[i + 1] != '\t') return -1;
                    done = 1;
                } else {
                    out[o++] = s[i];
                }
            } else {
                if (i >= n) { done = 1; break; }
                switch (s[i]) {
                case ' ': case '\n': case '\r': case '\t': case '\0':
                    done = 1;
                    break;
                case '"': inq = 1; break;
                case '\'': insq = 1; break;
                default: out[o++] = s[i]; break;
                }
            }
            if (i < n) i++;
        }
        ensure_args(p, argc + 1);
        p->argoff[argc] = start;
        p->arglen[argc] = o - start;
        argc++;
    }
    p->argc = argc;
    for (int k = 0; k < argc; k++) {
        p->argv[k] = p->scratch + p->argoff[k];
        p->argvlen[k] = p->arglen[k];
    }
    return 0;
}

static int parse_inline(resp_parser *p, const char *data, size_t len, size_t *consumed)
{
    const char *nl = memchr(data, '\n', len);
    if (!nl) {
        if (len > p->max_inline) return fail(p, "Protocol error: too big inline request");
        return RESP_INCOMPLETE;
    }
    size_t linelen = (size_t)(nl - data);
    size_t end = linelen;
    if (end && data[end - 1] == '\r') end--;
    if (split_inline(p, data, end) < 0)
        return fail(p, "Protocol error: unbalanced quotes in request");
    *consumed = linelen + 1;
    return RESP_DONE;
}

/* Reads a "<prefix><number>\r\n" line at data+pos; returns 1 with *v set
 * and *next after the line, 0 if incomplete, -1 if not a number. */
static int read_len_line(const char *data, size_t len, size_t pos, long long *v, size_t *next, size_t maxline)
{
    /* Fast path, the usual line: 1 to 19 digits, the first not a zero, then
     * CR. Anything else ("0", a sign, leading zeros, junk, no CR yet) takes
     * the general path below, which has the exact rules. Every request
     * header goes through here, so memchr + str_to_ll showed in profiles. */
    size_t i = pos + 1, end = len - pos > 20 ? pos + 20 : len;
    if (i < end && data[i] >= '1' && data[i] <= '9') {
        unsigned long long n = 0; /* at most 19 digits: no overflow */
        while (i < end && data[i] >= '0' && data[i] <= '9') n = n * 10 + (unsigned)(data[i++] - '0');
        if (i < end && data[i] == '\r' && n <= LLONG_MAX) {
            if (i + 1 >= len) return 0;
            *v = (long long)n;
            *next = i + 2;
            return 1;
        }
    }
    const char *cr = memchr(data + pos, '\r', len - pos);
    if (!cr) return (len - pos > maxline) ? -2 : 0;
    size_t e = (size_t)(cr - data);
    if (e + 1 >= len) return 0; /* need the \n */
    if (!str_to_ll(data + pos + 1, e - pos - 1, v)) return -1;
    *next = e + 2;
    return 1;
}

int resp_parse(resp_parser *p, const char *data, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (p->multibulk < 0) {
        if (len == 0) return RESP_INCOMPLETE;
        if (data[0] != '*') {
            p->multibulk = 0;
        } else {
            long long n;
            size_t next;
            int r = read_len_line(data, len, 0, &n, &next, p->max_inline);
            if (r == 0) return RESP_INCOMPLETE;
            if (r == -2) return fail(p, "Protocol error: too big mbulk count string");
            if (r < 0 || n > MULTIBULK_MAX) return fail(p, "Protocol error: invalid multibulk length");
            /* Before AUTH, Redis accepts only small commands, so an
             * unauthenticated peer can't make the server buffer much. */
            if (p->unauth && n > 10) return fail(p, "Protocol error: unauthenticated multibulk length");
            if (n <= 0) {
                /* "*0" or "*-1": an empty command, silently skipped */
                p->argc = 0;
                *consumed = next;
                return RESP_DONE;
            }
            p->multibulk = (int)n;
            p->pos = next;
            p->argc = 0;
            p->bulklen = -1;
            ensure_args(p, (int)(n < 1024 ? n : 1024));
        }
    }
    if (p->multibulk == 0) return parse_inline(p, data, len, consumed);

    while (p->argc < p->multibulk) {
        if (p->bulklen < 0) {
            if (p->pos >= len) return RESP_INCOMPLETE;
            if (data[p->pos] != '$') {
                /* Redis prints the offending byte in its message */
                snprintf(p->errbuf, sizeof(p->errbuf), "Protocol error: expected '$', got '%c'", data[p->pos]);
                return fail(p, p->errbuf);
            }
            long long bl;
            size_t next;
            int r = read_len_line(data, len, p->pos, &bl, &next, p->max_inline);
            if (r == 0) return RESP_INCOMPLETE;
            if (r == -2) return fail(p, "Protocol error: too big bulk count string");
            if (r < 0 || bl < 0 || bl > p->max_bulk) return fail(p, "Protocol error: invalid bulk length");
            if (p->unauth && bl > 16384) return fail(p, "Protocol error: unauthenticated bulk length");
            p->bulklen = bl;
            p->pos = next;
            p->need = next + (size_t)bl + 2;
        }
        if (len < p->pos + (size_t)p->bulklen + 2) return RESP_INCOMPLETE;
        ensure_args(p, p->argc + 1);
        p->argoff[p->argc] = p->pos;
        p->arglen[p->argc] = (size_t)p->bulklen;
        p->argc++;
        p->pos += (size_t)p->bulklen + 2;
        p->bulklen = -1;
        p->need = 0;
    }
    for (int k = 0; k < p->argc; k++) {
        p->argv[k] = data + p->argoff[k];
        p->argvlen[k] = p->arglen[k];
    }
    *consumed = p->pos;
    return RESP_DONE;
}
