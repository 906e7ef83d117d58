/* resp_scan: finds where one complete RESP reply ends, without building
 * objects. The proxy forwards backend replies as bytes: it only needs to
 * know each reply's length to match it to the request that caused it, so a
 * scanner is cheaper than a reply parser (hiredis's redisReader builds an
 * object tree per reply that would be thrown away at once).
 *
 * Handles RESP2 and RESP3: simple strings/errors/integers (+ - :), bulk
 * strings ($), arrays (*), and RESP3 maps (%), sets (~), pushes (>),
 * attributes (|, which prefix the value they describe and are part of its
 * bytes), doubles (,), booleans (#), nulls (_), big numbers ((), blob
 * errors (!) and verbatim strings (=), nested to any depth. Streamed
 * aggregates/strings (RESP3 '?' counts) are refused: Redis never sends them.
 *
 * Incremental: a reply arriving over many reads is scanned once; the state
 * remembers the position and the open aggregates. */
#ifndef SHOAL_RESP_SCAN_H
#define SHOAL_RESP_SCAN_H
#include <stddef.h>

enum { RESP_SCAN_MORE = 0, RESP_SCAN_DONE = 1, RESP_SCAN_ERR = -1 };

typedef struct resp_scanner {
    size_t pos;         /* next byte to look at, relative to the reply start */
    size_t need;        /* hint: total bytes the reply needs at least */
    int depth;          /* open aggregates */
    int cap;
    long long *left;    /* per open aggregate: elements still expected;
                         * bit 62 set marks an attribute (not an element) */
    long long max_bulk; /* refuse longer bulks (0 = no limit) */
    const char *err;    /* set on RESP_SCAN_ERR */
} resp_scanner;

void resp_scanner_init(resp_scanner *s);
void resp_scanner_free(resp_scanner *s);
/* Forget any partial progress (the next scan starts a new reply). */
void resp_scanner_reset(resp_scanner *s);
/* Scan data[0..len), where data is the start of the reply (the same start
 * on every call until DONE). Returns RESP_SCAN_DONE with *reply_len set and
 * the scanner reset for the next reply; RESP_SCAN_MORE when more bytes are
 * needed (s->need may tell how many in total); RESP_SCAN_ERR on bytes that
 * are not RESP (s->err says why). */
int resp_scan(resp_scanner *s, const char *data, size_t len, size_t *reply_len);

/* One-shot: length of the complete reply at data, 0 if incomplete, -1 if
 * malformed. Handy to walk the elements of a reply already known to be
 * complete (e.g. a sub-reply of an array: skip the header line yourself). */
long long resp_scan_one(const char *data, size_t len);

/* Length of the header line of the value at data ("*3\r\n" -> 4), 0 if no
 * CRLF yet. With *count (may be NULL) set to the number parsed after the
 * type byte (-1 for null aggregates; 0 when the type has no number). */
size_t resp_scan_header(const char *data, size_t len, long long *count);

#endif
