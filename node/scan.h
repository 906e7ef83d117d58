/* scan: what SCAN, HSCAN, SSCAN and ZSCAN share: their options and the
 * cursor walk over a hashtable-encoded value. */
#ifndef SHOAL_SCAN_H
#define SHOAL_SCAN_H
#include <stddef.h>
#include "client.h"
#include "dict.h"

typedef struct scan_opts {
    long long count;           /* COUNT, default 10 */
    const char *pat;           /* MATCH; NULL for none (or "*", which matches all) */
    size_t patlen;
    const char *type;          /* TYPE (SCAN only); NULL for none */
    size_t typelen;
} scan_opts;

/* The options from argv[first]: MATCH, COUNT and, if allow_type, TYPE.
 * Replies Redis's error and returns -1 for a bad one. */
int scan_parse_opts(client *c, int first, int allow_type, scan_opts *o);

/* Whether s passes MATCH. */
int scan_match(const scan_opts *o, const char *s, size_t len);

/* Buckets to visit before giving up on reaching COUNT entries: like Redis,
 * 10x COUNT, so a sparse table still answers quickly. */
long long scan_max_buckets(const scan_opts *o);

/* HSCAN/SSCAN/ZSCAN of a hashtable: collects about COUNT entries from
 * cursor, keeps those that pass MATCH in *out (xmalloc'd, the caller frees;
 * *n of them) and returns the cursor for the next call (0 = done). */
unsigned long scan_dict(dict *d, unsigned long cursor, const scan_opts *o,
                        const dict_entry ***out, size_t *n);

/* The reply's first element (the cursor) and the header of its second,
 * n entries; n < 0 leaves that header to the caller (reply_defer). */
void scan_reply_head(client *c, unsigned long long cursor, long long n);

#endif
