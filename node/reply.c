/* reply: handler-facing reply functions (see reply.h). */
#include "reply.h"
#include "cmdtable.h"
#include "errstats.h"
#include "obj.h"
#include "server.h"
#include "util.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SKIPPING(c) ((c)->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP))

/* Every reply lands here: queue the client for the end-of-event flush. */
static inline buf_t *out(client *c)
{
    if (!(c->flags & CLIENT_PENDING_WRITE)) {
        c->flags |= CLIENT_PENDING_WRITE;
        c->pw_next = srv.pending_writes;
        srv.pending_writes = c;
    }
    return &c->obuf;
}

void reply_schedule(client *c) { (void)out(c); }

void reply_ok(client *c) { if (!SKIPPING(c)) buf_append(out(c), "+OK\r\n", 5); }
void reply_status(client *c, const char *s) { if (!SKIPPING(c)) resp_w_status_cstr(out(c), s); }

void reply_error(client *c, const char *msg)
{
    errstats_count(msg);
    srv.stat.error_replies++;
    if (SKIPPING(c)) return;
    resp_w_error_cstr(out(c), msg);
}

void reply_errorf(client *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_error(c, msg);
}

void reply_wrongtype(client *c) { reply_error(c, ERR_WRONGTYPE); }
void reply_syntax_err(client *c) { reply_error(c, ERR_SYNTAX); }

void reply_arity_err(client *c)
{
    char name[96];
    reply_errorf(c, "ERR wrong number of arguments for '%s' command",
                 c->cmd ? cmd_fullname(c->cmd, name, sizeof(name)) : "?");
}

void reply_int(client *c, long long v)
{
    if (SKIPPING(c)) return;
    buf_t *b = out(c);
    /* The two most common integer replies, without formatting. */
    if (v == 0) buf_append(b, ":0\r\n", 4);
    else if (v == 1) buf_append(b, ":1\r\n", 4);
    else resp_w_int(b, v);
}

void reply_bulk(client *c, const void *p, size_t len) { if (!SKIPPING(c)) resp_w_bulk(out(c), p, len); }
void reply_bulk_cstr(client *c, const char *s) { if (!SKIPPING(c)) resp_w_bulk_cstr(out(c), s); }
void reply_bulk_ll(client *c, long long v) { if (!SKIPPING(c)) resp_w_bulk_ll(out(c), v); }

void reply_bulk_kv_str(client *c, const kv *e)
{
    char tmp[24];
    size_t len;
    const char *p = str_get(e, &len, tmp);
    reply_bulk(c, p, len);
}

void reply_null(client *c) { if (!SKIPPING(c)) resp_w_null(out(c), c->proto); }
void reply_null_array(client *c) { if (!SKIPPING(c)) resp_w_null_array(out(c), c->proto); }
void reply_array(client *c, long long n) { if (!SKIPPING(c)) resp_w_array(out(c), n); }
void reply_map(client *c, long long n) { if (!SKIPPING(c)) resp_w_map(out(c), c->proto, n); }
void reply_set(client *c, long long n) { if (!SKIPPING(c)) resp_w_set(out(c), c->proto, n); }
void reply_push(client *c, long long n) { if (!SKIPPING(c)) resp_w_push(out(c), c->proto, n); }
void reply_double(client *c, double d) { if (!SKIPPING(c)) resp_w_double(out(c), c->proto, d); }
void reply_bool(client *c, int v) { if (!SKIPPING(c)) resp_w_bool(out(c), c->proto, v); }
void reply_verbatim(client *c, const char *p, size_t len) { if (!SKIPPING(c)) resp_w_verbatim(out(c), c->proto, p, len); }
void reply_empty_array(client *c) { if (!SKIPPING(c)) buf_append(out(c), "*0\r\n", 4); }
void reply_raw(client *c, const void *p, size_t len) { if (!SKIPPING(c)) buf_append(out(c), p, len); }

/* A skipped reply has no mark to fill: (size_t)-1 means "nothing". */
size_t reply_defer(client *c) { return SKIPPING(c) ? (size_t)-1 : resp_w_defer(out(c)); }

void reply_defer_set(client *c, size_t mark, char type, long long n)
{
    if (mark == (size_t)-1) return;
    resp_w_defer_fill(&c->obuf, mark, c->proto, type, n);
}

int arg_ll(client *c, int i, long long *v)
{
    if (str_to_ll(ARG(c, i), ARGLEN(c, i), v)) return 0;
    reply_error(c, ERR_NOT_INT);
    return -1;
}

int arg_ll_range(client *c, int i, long long min, long long max, long long *v, const char *errmsg)
{
    if (str_to_ll(ARG(c, i), ARGLEN(c, i), v) && *v >= min && *v <= max) return 0;
    reply_error(c, errmsg ? errmsg : ERR_NOT_INT);
    return -1;
}

int arg_double(client *c, int i, double *v)
{
    if (str_to_double(ARG(c, i), ARGLEN(c, i), v)) return 0;
    reply_error(c, ERR_NOT_FLOAT);
    return -1;
}

int arg_ldouble(client *c, int i, long double *v)
{
    if (str_to_ldouble(ARG(c, i), ARGLEN(c, i), v)) return 0;
    reply_error(c, ERR_NOT_FLOAT);
    return -1;
}

int arg_timeout(client *c, int i, long long *deadline)
{
    double secs;
    if (!str_to_double(ARG(c, i), ARGLEN(c, i), &secs)) {
        reply_error(c, ERR_TIMEOUT_BAD);
        return -1;
    }
    /* Redis converts to integer milliseconds; values that overflow that
     * (inf, 1e300) come out negative there, so they get the same error. */
    if (secs < 0 || isinf(secs) || secs * 1000.0 > 9.2e18) {
        reply_error(c, ERR_TIMEOUT_NEG);
        return -1;
    }
    /* Redis rounds up: 0.0001 s is a 1 ms wait, not "forever". */
    long long ms = (long long)ceil(secs * 1000.0);
    *deadline = ms > 0 ? srv.now_ms + ms : 0;
    return 0;
}

/* Redis reads the cursor with strtoul: an optional sign, leading zeros
 * and even an empty string (cursor 0) are accepted, "-N" wraps around;
 * a leading space, trailing junk or overflow is an error. */
int arg_scan_cursor(client *c, int i, unsigned long long *cursor)
{
    const char *p = ARG(c, i), *end = p + ARGLEN(c, i);
    unsigned long long v = 0;
    int neg = 0, ok = 1;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p++ == '-';
        if (p == end) ok = 0; /* a lone sign converts nothing */
    }
    for (; p < end && ok; p++) {
        if (*p < '0' || *p > '9') ok = 0;
        else if (v > (~0ULL - (unsigned)(*p - '0')) / 10) ok = 0;
        else v = v * 10 + (unsigned)(*p - '0');
    }
    if (!ok) {
        reply_error(c, "ERR invalid cursor");
        return -1;
    }
    *cursor = neg ? 0 - v : v;
    return 0;
}
