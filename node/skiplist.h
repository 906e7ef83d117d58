/* skiplist: the ordered half of a big sorted set, plus the score / lex
 * range specs the zset commands share with the listpack encoding.
 *
 * A big zset is a dict (DICT_MAP: member -> zsl_node*) plus a skiplist
 * ordered by (score, member bytes) with span counts for O(log n) rank.
 * The member bytes are stored ONCE, in the dict entry; a skiplist node
 * points at its dict entry (node->de) instead of copying the member, and
 * the dict entry's value points back at the node. zset_big below bundles
 * the two and keeps them consistent; use it unless you need the pieces.
 *
 * Node pointers are stable: zsl_update_score keeps the same node, so the
 * dict's pointer never needs fixing. zsl_* functions never free dict
 * entries except the delete-range ones, which take the dict. */
#ifndef SHOAL_SKIPLIST_H
#define SHOAL_SKIPLIST_H
#include <stddef.h>
#include "dict.h"

#define ZSL_MAXLEVEL 32

typedef struct zsl_node {
    double score;
    dict_entry *de;                    /* member = dict_key(de), dict_klen(de) */
    struct zsl_node *backward;         /* previous node at level 0 (NULL for the first) */
    struct zsl_level {
        struct zsl_node *forward;
        unsigned long span;            /* level-0 steps to forward */
    } level[];
} zsl_node;

typedef struct zskiplist {
    zsl_node *header, *tail;           /* header is a sentinel, not an element */
    unsigned long length;
    int level;
} zskiplist;

/* Member bytes of a node. */
static inline const char *zsl_ele(const zsl_node *n, size_t *len)
{
    *len = dict_klen(n->de);
    return dict_key(n->de);
}
/* First element (lowest), or NULL; walk with n->level[0].forward. */
static inline zsl_node *zsl_first(const zskiplist *z) { return z->header->level[0].forward; }
static inline zsl_node *zsl_last(const zskiplist *z) { return z->tail; }
static inline zsl_node *zsl_next(const zsl_node *n) { return n->level[0].forward; }
static inline zsl_node *zsl_prev(const zsl_node *n) { return n->backward; }

/* ---- Range specs (parsed from client arguments) ---- */

/* ZRANGEBYSCORE-style bounds: "1.5", "(1.5" (exclusive), "-inf", "+inf". */
typedef struct zrangespec {
    double min, max;
    int minex, maxex;                  /* 1 = exclusive */
} zrangespec;

/* ZRANGEBYLEX-style bounds: "[abc" inclusive, "(abc" exclusive, "-" and "+"
 * the infinities. The strings point into the parsed arguments (not copied):
 * keep those alive while the spec is used. */
enum { ZLEX_STR = 0, ZLEX_MINUS_INF = -1, ZLEX_PLUS_INF = 1 };
typedef struct zlexrangespec {
    const char *min, *max;
    size_t minlen, maxlen;
    int minkind, maxkind;              /* ZLEX_STR or an infinity */
    int minex, maxex;
} zlexrangespec;

/* Return 1 on success, 0 on a bad argument: reply
 * "ERR min or max is not a float" / "ERR min or max not valid string range item". */
int zrange_parse(const char *min, size_t minlen, const char *max, size_t maxlen, zrangespec *r);
int zlex_parse(const char *min, size_t minlen, const char *max, size_t maxlen, zlexrangespec *r);
/* Bound tests (also for walking listpack-encoded zsets). */
int zrange_gte_min(double v, const zrangespec *r);
int zrange_lte_max(double v, const zrangespec *r);
int zrange_is_empty(const zrangespec *r);           /* no value can match */
int zlex_gte_min(const char *s, size_t len, const zlexrangespec *r);
int zlex_lte_max(const char *s, size_t len, const zlexrangespec *r);
int zlex_is_empty(const zlexrangespec *r);
/* Byte order used for members: memcmp, then shorter first. */
int zsl_cmp_str(const char *a, size_t alen, const char *b, size_t blen);

/* ---- Skiplist ---- */

zskiplist *zsl_new(void);
/* Frees the nodes (not the dict entries they point to) and z. */
void      zsl_free(zskiplist *z);
/* Inserts (score, member of de); the member must not be in z yet. The
 * caller stores the returned node in the dict entry (dict_set_p). */
zsl_node *zsl_insert(zskiplist *z, double score, dict_entry *de);
/* Unlinks and frees the node with this score and member; 1 if found. */
int       zsl_delete(zskiplist *z, double score, const char *ele, size_t len);
/* Unlinks and frees node n (must be in z). */
void      zsl_delete_node(zskiplist *z, zsl_node *n);
/* Moves n to newscore, keeping the same node (returned for convenience). */
zsl_node *zsl_update_score(zskiplist *z, zsl_node *n, double newscore);
/* 1-based rank of (score, member), 0 if absent. */
unsigned long zsl_rank(zskiplist *z, double score, const char *ele, size_t len);
static inline unsigned long zsl_node_rank(zskiplist *z, const zsl_node *n)
{
    size_t len;
    const char *ele = zsl_ele(n, &len);
    return zsl_rank(z, n->score, ele, len);
}
/* Node at 1-based rank, NULL if out of range. */
zsl_node *zsl_by_rank(zskiplist *z, unsigned long rank);
/* First / last node whose score is in range, or NULL. */
zsl_node *zsl_first_in_range(zskiplist *z, const zrangespec *r);
zsl_node *zsl_last_in_range(zskiplist *z, const zrangespec *r);
/* Same by member, for lex ranges (meaningful when all scores are equal). */
zsl_node *zsl_first_in_lex_range(zskiplist *z, const zlexrangespec *r);
zsl_node *zsl_last_in_lex_range(zskiplist *z, const zlexrangespec *r);
/* Delete every node in range from z AND its entry from d (the DICT_MAP
 * holding the members); return how many. Ranks are 1-based, inclusive. */
unsigned long zsl_delete_range_by_score(zskiplist *z, const zrangespec *r, dict *d);
unsigned long zsl_delete_range_by_lex(zskiplist *z, const zlexrangespec *r, dict *d);
unsigned long zsl_delete_range_by_rank(zskiplist *z, unsigned long start, unsigned long end, dict *d);

/* ---- zset_big: dict + skiplist kept in step (OBJ_ENC_SKIPLIST) ---- */

typedef struct zset_big {
    dict *dict;                        /* DICT_MAP: member -> zsl_node* */
    zskiplist *zsl;
} zset_big;

zset_big *zsb_new(void);
void      zsb_free(zset_big *z);
zset_big *zsb_dup(const zset_big *z);
static inline unsigned long zsb_len(const zset_big *z) { return z->zsl->length; }
/* The node of a member, or NULL (its score is node->score). */
zsl_node *zsb_find(zset_big *z, const char *m, size_t len);
/* Adds a member or moves it to a new score. Returns 1 if added, 0 if it
 * existed (score updated when different). */
int       zsb_set(zset_big *z, const char *m, size_t len, double score);
/* Removes a member; 1 if it existed. */
int       zsb_del(zset_big *z, const char *m, size_t len);
/* Bytes allocated (structs, buckets, entries, nodes): MEMORY USAGE. */
size_t    zsb_mem_usage(const zset_big *z);

#endif
