/* scan: the options and cursor walk SCAN, HSCAN, SSCAN and ZSCAN share. */
#include "scan.h"
#include "mem.h"
#include "reply.h"
#include "util.h"
#include <limits.h>

int scan_parse_opts(client *c, int first, int allow_type, scan_opts *o)
{
    *o = (scan_opts){.count = 10};
    for (int i = first; i < c->argc; i += 2) {
        const char *name = ARG(c, i);
        size_t nlen = ARGLEN(c, i);
        if (i + 1 >= c->argc) {
            reply_syntax_err(c);
            return -1;
        }
        if (arg_is(name, nlen, "count")) {
            if (arg_ll(c, i + 1, &o->count) < 0) return -1;
            if (o->count < 1) {
                reply_syntax_err(c);
                return -1;
            }
        } else if (arg_is(name, nlen, "match")) {
            o->pat = ARG(c, i + 1);
            o->patlen = ARGLEN(c, i + 1);
            if (o->patlen == 1 && o->pat[0] == '*') o->pat = NULL; /* matches everything */
        } else if (allow_type && arg_is(name, nlen, "type")) {
            o->type = ARG(c, i + 1);
            o->typelen = ARGLEN(c, i + 1);
        } else {
            reply_syntax_err(c);
            return -1;
        }
    }
    return 0;
}

int scan_match(const scan_opts *o, const char *s, size_t len)
{
    return !o->pat || glob_match(o->pat, o->patlen, s, len, 0);
}

long long scan_max_buckets(const scan_opts *o)
{
    return o->count > LLONG_MAX / 10 ? LLONG_MAX : o->count * 10;
}

typedef struct dict_acc {
    const dict_entry **v;
    size_t n, cap;
} dict_acc;

static void collect(void *ctx, const dict_entry *de)
{
    dict_acc *a = ctx;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = de;
}

unsigned long scan_dict(dict *d, unsigned long cursor, const scan_opts *o,
                        const dict_entry ***out, size_t *n)
{
    dict_acc acc = {NULL, 0, 0};
    long long left = scan_max_buckets(o);
    do {
        cursor = dict_scan(d, cursor, collect, &acc);
    } while (cursor && --left > 0 && (long long)acc.n < o->count);
    size_t keep = 0;
    for (size_t i = 0; i < acc.n; i++)
        if (scan_match(o, dict_key(acc.v[i]), dict_klen(acc.v[i]))) acc.v[keep++] = acc.v[i];
    *out = acc.v;
    *n = keep;
    return cursor;
}

void scan_reply_head(client *c, unsigned long long cursor, long long n)
{
    char cb[24];
    int cbl = ull_to_str(cb, cursor);
    reply_array(c, 2);
    reply_bulk(c, cb, (size_t)cbl);
    if (n >= 0) reply_array(c, n);
}
