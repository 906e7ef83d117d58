/* zset: the sorted-set value and its two encodings, shared by the zset
 * command files (t_zset.c, zset_range.c, zset_setops.c).
 *
 *  - OBJ_ENC_LISTPACK: a listpack of member,score,member,score... ordered by
 *    (score, member bytes). A score is stored as an integer entry when it is
 *    integral and within +-LLONG_MAX/2 (as Redis does, so -0 becomes 0),
 *    else as its "%.17g" text ("inf", "-inf" included).
 *  - OBJ_ENC_SKIPLIST: a zset_big (dict + skiplist, see skiplist.h).
 * A zset starts as a listpack and is converted once it holds more than
 * zset-max-listpack-entries members or a member longer than
 * zset-max-listpack-value bytes; it never converts back (except results
 * of the *STORE commands, which pick their encoding from their size). */
#ifndef SHOAL_ZSET_H
#define SHOAL_ZSET_H
#include <stddef.h>
#include "client.h"
#include "kv.h"
#include "listpack.h"
#include "obj.h"
#include "skiplist.h"

/* ---- Listpack encoding ---- */

/* Score of a score entry. */
double         zlp_score(const unsigned char *sp);
/* Member entry of m (NULL if absent); *score (may be NULL) gets its score. */
unsigned char *zlp_find(unsigned char *lp, const char *m, size_t len, double *score);
/* Inserts a member that is not there yet at its ordered place. */
unsigned char *zlp_insert(unsigned char *lp, const char *m, size_t len, double score);
/* Appends a pair (the caller guarantees the order). */
unsigned char *zlp_append(unsigned char *lp, const char *m, size_t len, double score);
/* Prepends a pair (the caller guarantees the order). */
unsigned char *zlp_prepend(unsigned char *lp, const char *m, size_t len, double score);

/* ---- Values (enc, val) independent of the encoding ---- */

/* A value for a new key that will first receive a member of length
 * first_len: a listpack unless the config rules it out. */
void   zs_new_value(size_t first_len, int *enc, void **val);
size_t zs_length(const kv *e);
/* 1 and *score if m is a member. */
int    zs_score(kv *e, const char *m, size_t len, double *score);

/* ZADD input flags and output flags. */
enum { ZADD_IN_INCR = 1, ZADD_IN_NX = 2, ZADD_IN_XX = 4, ZADD_IN_GT = 8, ZADD_IN_LT = 16 };
enum { ZADD_OUT_NOP = 1, ZADD_OUT_NAN = 2, ZADD_OUT_ADDED = 4, ZADD_OUT_UPDATED = 8 };
/* Adds / updates one member with ZADD semantics; converts the encoding
 * when needed. Returns 0 if the result would be NaN (nothing changed),
 * else 1 with *out flags and *newscore (INCR result). */
int    zs_add(kv *e, double score, const char *m, size_t len, int in, int *out, double *newscore);
/* Removes m; 1 if it was there. The caller deletes the key when empty. */
int    zs_del(kv *e, const char *m, size_t len);
/* 0-based rank of m from the low end (or the high end when rev), -1 if
 * absent; *score (may be NULL) gets its score. */
long   zs_rank(kv *e, const char *m, size_t len, int rev, double *score);
/* listpack -> skiplist. */
void   zs_convert_to_big(kv *e);

/* ---- Ordered iteration ---- */

typedef struct zs_iter {
    int enc;
    int rev;                  /* walking from high to low */
    unsigned char *lp, *p;    /* listpack: p is a member entry or NULL */
    zsl_node *n;              /* skiplist: current node or NULL */
} zs_iter;

typedef struct zs_item {
    const char *m;            /* member bytes (valid until the next change) */
    size_t len;
    double score;
    char buf[LP_INTBUF_SIZE]; /* integer members of a listpack render here */
} zs_item;

static inline int zs_iter_valid(const zs_iter *it)
{
    return it->enc == OBJ_ENC_LISTPACK ? it->p != NULL : it->n != NULL;
}
/* Positions it at 0-based rank `rank` counted from the start of the walk
 * direction (rank 0 + rev = the highest element); invalid if out of range. */
void zs_iter_at_rank(zs_iter *it, kv *e, unsigned long rank, int rev);
/* First element in the score / lex range in the walk direction. */
void zs_iter_score(zs_iter *it, kv *e, const zrangespec *r, int rev);
void zs_iter_lex(zs_iter *it, kv *e, const zlexrangespec *r, int rev);
void zs_iter_get(const zs_iter *it, zs_item *out);
void zs_iter_next(zs_iter *it);
/* Skips n elements (fast for skiplists). */
void zs_iter_skip(zs_iter *it, kv *e, unsigned long n);

/* ---- Range counts and deletions ---- */

unsigned long zs_count_score(kv *e, const zrangespec *r);
unsigned long zs_count_lex(kv *e, const zlexrangespec *r);
/* 0-based inclusive ranks, already clamped to [0, len). */
unsigned long zs_del_rank(kv *e, unsigned long start, unsigned long end);
unsigned long zs_del_score(kv *e, const zrangespec *r);
unsigned long zs_del_lex(kv *e, const zlexrangespec *r);

/* ---- Building a result value (the *STORE commands) ---- */

/* Accumulates members arriving in order (ascending, or descending with
 * rev) and picks the encoding from the final size. */
typedef struct zs_builder {
    int enc;
    void *val;
    int rev;
    size_t count;
} zs_builder;
void zs_builder_init(zs_builder *b, int rev);
void zs_builder_add(zs_builder *b, const char *m, size_t len, double score);
/* Converts a zset_big into the compact encoding when it is small enough:
 * maxlen is the longest member, totlen the sum of member lengths. */
void zs_big_finish(zset_big *z, size_t maxlen, size_t totlen, int *enc, void **val);

/* ---- Replies ---- */

/* One element of a range reply: member, and its score when withscores
 * (a [member, score] pair in RESP3). */
void zs_reply_elem(client *c, const char *m, size_t len, double score, int withscores);
/* Array header for n elements, with or without scores. */
void zs_reply_elems_len(client *c, long long n, int withscores);

/* ---- Command handlers living outside t_zset.c ---- */

void zrange_cmd(client *c);
void zrangestore_cmd(client *c);
void zrevrange_cmd(client *c);
void zrangebyscore_cmd(client *c);
void zrevrangebyscore_cmd(client *c);
void zrangebylex_cmd(client *c);
void zrevrangebylex_cmd(client *c);
void zcount_cmd(client *c);
void zlexcount_cmd(client *c);
void zremrangebyrank_cmd(client *c);
void zremrangebyscore_cmd(client *c);
void zremrangebylex_cmd(client *c);
void zunion_cmd(client *c);
void zinter_cmd(client *c);
void zdiff_cmd(client *c);
void zunionstore_cmd(client *c);
void zinterstore_cmd(client *c);
void zdiffstore_cmd(client *c);
void zintercard_cmd(client *c);

#endif
