/* skiplist: sorted-set skiplist with spans, range specs, and the zset_big
 * pairing of dict + skiplist (see skiplist.h). */
#include "skiplist.h"
#include "mem.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Comparisons and range specs ---- */

int zsl_cmp_str(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Parses one score bound as Redis does: strtod over the whole string
 * (leading spaces and hex accepted, overflow gives +-inf), NaN refused. */
static int parse_score(const char *s, size_t len, double *out, int *ex)
{
    char small[64];
    *ex = 0;
    if (len && s[0] == '(') { *ex = 1; s++; len--; }
    char *buf = len < sizeof(small) ? small : xmalloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    int ok = *end == '\0' && !isnan(v);
    if (buf != small) xfree(buf);
    if (ok) *out = v;
    return ok;
}

int zrange_parse(const char *min, size_t minlen, const char *max, size_t maxlen, zrangespec *r)
{
    return parse_score(min, minlen, &r->min, &r->minex) &&
           parse_score(max, maxlen, &r->max, &r->maxex);
}

static int parse_lex(const char *s, size_t len, const char **out, size_t *outlen, int *kind, int *ex)
{
    *ex = 0;
    *kind = ZLEX_STR;
    *out = NULL;
    *outlen = 0;
    if (len == 0) return 0;
    switch (s[0]) {
    case '+': if (len != 1) return 0; *kind = ZLEX_PLUS_INF; return 1;
    case '-': if (len != 1) return 0; *kind = ZLEX_MINUS_INF; return 1;
    case '(': *ex = 1; /* fall through */
    case '[': *out = s + 1; *outlen = len - 1; return 1;
    default: return 0;
    }
}

int zlex_parse(const char *min, size_t minlen, const char *max, size_t maxlen, zlexrangespec *r)
{
    return parse_lex(min, minlen, &r->min, &r->minlen, &r->minkind, &r->minex) &&
           parse_lex(max, maxlen, &r->max, &r->maxlen, &r->maxkind, &r->maxex);
}

int zrange_gte_min(double v, const zrangespec *r) { return r->minex ? v > r->min : v >= r->min; }
int zrange_lte_max(double v, const zrangespec *r) { return r->maxex ? v < r->max : v <= r->max; }

int zrange_is_empty(const zrangespec *r)
{
    return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}

int zlex_gte_min(const char *s, size_t len, const zlexrangespec *r)
{
    if (r->minkind == ZLEX_MINUS_INF) return 1;
    if (r->minkind == ZLEX_PLUS_INF) return 0;
    int c = zsl_cmp_str(s, len, r->min, r->minlen);
    return r->minex ? c > 0 : c >= 0;
}

int zlex_lte_max(const char *s, size_t len, const zlexrangespec *r)
{
    if (r->maxkind == ZLEX_PLUS_INF) return 1;
    if (r->maxkind == ZLEX_MINUS_INF) return 0;
    int c = zsl_cmp_str(s, len, r->max, r->maxlen);
    return r->maxex ? c < 0 : c <= 0;
}

int zlex_is_empty(const zlexrangespec *r)
{
    if (r->minkind == ZLEX_PLUS_INF || r->maxkind == ZLEX_MINUS_INF) return 1;
    if (r->minkind == ZLEX_MINUS_INF || r->maxkind == ZLEX_PLUS_INF) return 0;
    int c = zsl_cmp_str(r->min, r->minlen, r->max, r->maxlen);
    return c > 0 || (c == 0 && (r->minex || r->maxex));
}

/* ---- Skiplist core ---- */

static uint64_t zsl_rng = 0x6a09e667f3bcc909ULL;

/* Level 1 + k with probability 3/4 * (1/4)^k: two more zero bits per level. */
static int random_level(void)
{
    uint64_t x = zsl_rng;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    zsl_rng = x;
    uint64_t r = (x * 0x2545f4914f6cdd1dULL) | (1ULL << 63);
    int lvl = 1 + __builtin_ctzll(r) / 2;
    return lvl > ZSL_MAXLEVEL ? ZSL_MAXLEVEL : lvl;
}

static zsl_node *node_new(int level, double score, dict_entry *de)
{
    zsl_node *n = xmalloc(sizeof(zsl_node) + (size_t)level * sizeof(struct zsl_level));
    n->score = score;
    n->de = de;
    n->backward = NULL;
    return n;
}

zskiplist *zsl_new(void)
{
    zskiplist *z = xmalloc(sizeof(*z));
    z->level = 1;
    z->length = 0;
    z->tail = NULL;
    z->header = node_new(ZSL_MAXLEVEL, 0, NULL);
    for (int i = 0; i < ZSL_MAXLEVEL; i++) {
        z->header->level[i].forward = NULL;
        z->header->level[i].span = 0;
    }
    return z;
}

void zsl_free(zskiplist *z)
{
    if (!z) return;
    zsl_node *n = z->header->level[0].forward;
    while (n) {
        zsl_node *next = n->level[0].forward;
        xfree(n);
        n = next;
    }
    xfree(z->header);
    xfree(z);
}

/* Does node n sort before (score, ele)? */
static inline int before(const zsl_node *n, double score, const char *ele, size_t len)
{
    if (n->score != score) return n->score < score;
    size_t nl;
    const char *ne = zsl_ele(n, &nl);
    return zsl_cmp_str(ne, nl, ele, len) < 0;
}

/* Links node x (with `lvl` levels) at its place for (x->score, member). */
static void link_node(zskiplist *z, zsl_node *x, int lvl)
{
    zsl_node *update[ZSL_MAXLEVEL], *p = z->header;
    unsigned long rank[ZSL_MAXLEVEL];
    size_t len;
    const char *ele = zsl_ele(x, &len);

    for (int i = z->level - 1; i >= 0; i--) {
        rank[i] = i == z->level - 1 ? 0 : rank[i + 1];
        while (p->level[i].forward && before(p->level[i].forward, x->score, ele, len)) {
            rank[i] += p->level[i].span;
            p = p->level[i].forward;
        }
        update[i] = p;
    }
    if (lvl > z->level) {
        for (int i = z->level; i < lvl; i++) {
            rank[i] = 0;
            update[i] = z->header;
            update[i]->level[i].span = z->length;
        }
        z->level = lvl;
    }
    for (int i = 0; i < lvl; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        /* update[i] used to span past x's spot; split that span at x. */
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = lvl; i < z->level; i++) update[i]->level[i].span++;
    x->backward = update[0] == z->header ? NULL : update[0];
    if (x->level[0].forward) x->level[0].forward->backward = x;
    else z->tail = x;
    z->length++;
}

zsl_node *zsl_insert(zskiplist *z, double score, dict_entry *de)
{
    int lvl = random_level();
    zsl_node *x = node_new(lvl, score, de);
    link_node(z, x, lvl);
    return x;
}

/* Unlinks x given the rightmost nodes before it on each level; returns
 * how many levels x had. */
static int unlink_node(zskiplist *z, zsl_node *x, zsl_node **update)
{
    int lvl = 0;
    for (int i = 0; i < z->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
            lvl = i + 1;
        } else {
            update[i]->level[i].span -= 1;
        }
    }
    if (x->level[0].forward) x->level[0].forward->backward = x->backward;
    else z->tail = x->backward;
    while (z->level > 1 && !z->header->level[z->level - 1].forward) z->level--;
    z->length--;
    return lvl;
}

/* Fills update[] for (score, ele); returns the node with exactly that
 * score and member, or NULL. */
static zsl_node *find_update(zskiplist *z, double score, const char *ele, size_t len,
                             zsl_node **update)
{
    zsl_node *p = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (p->level[i].forward && before(p->level[i].forward, score, ele, len))
            p = p->level[i].forward;
        update[i] = p;
    }
    p = p->level[0].forward;
    if (p && p->score == score) {
        size_t nl;
        const char *ne = zsl_ele(p, &nl);
        if (nl == len && memcmp(ne, ele, len) == 0) return p;
    }
    return NULL;
}

int zsl_delete(zskiplist *z, double score, const char *ele, size_t len)
{
    zsl_node *update[ZSL_MAXLEVEL];
    zsl_node *x = find_update(z, score, ele, len, update);
    if (!x) return 0;
    unlink_node(z, x, update);
    xfree(x);
    return 1;
}

void zsl_delete_node(zskiplist *z, zsl_node *n)
{
    size_t len;
    const char *ele = zsl_ele(n, &len);
    zsl_delete(z, n->score, ele, len);
}

zsl_node *zsl_update_score(zskiplist *z, zsl_node *n, double newscore)
{
    size_t len;
    const char *ele = zsl_ele(n, &len);
    zsl_node *prev = n->backward, *next = n->level[0].forward;
    /* Still between its neighbours: just change the score. */
    if ((!prev || before(prev, newscore, ele, len)) &&
        (!next || !before(next, newscore, ele, len))) {
        n->score = newscore;
        return n;
    }
    zsl_node *update[ZSL_MAXLEVEL];
    find_update(z, n->score, ele, len, update);
    int lvl = unlink_node(z, n, update);
    n->score = newscore;
    link_node(z, n, lvl);
    return n;
}

unsigned long zsl_rank(zskiplist *z, double score, const char *ele, size_t len)
{
    zsl_node *p = z->header;
    unsigned long rank = 0;
    for (int i = z->level - 1; i >= 0; i--) {
        while (p->level[i].forward && before(p->level[i].forward, score, ele, len)) {
            rank += p->level[i].span;
            p = p->level[i].forward;
        }
    }
    p = p->level[0].forward;
    if (p && p->score == score) {
        size_t nl;
        const char *ne = zsl_ele(p, &nl);
        if (nl == len && memcmp(ne, ele, len) == 0) return rank + 1;
    }
    return 0;
}

zsl_node *zsl_by_rank(zskiplist *z, unsigned long rank)
{
    if (rank == 0 || rank > z->length) return NULL;
    zsl_node *p = z->header;
    unsigned long traversed = 0;
    for (int i = z->level - 1; i >= 0; i--) {
        while (p->level[i].forward && traversed + p->level[i].span <= rank) {
            traversed += p->level[i].span;
            p = p->level[i].forward;
        }
        if (traversed == rank) return p;
    }
    return NULL;
}

/* ---- Ranges ---- */

static int in_range(zskiplist *z, const zrangespec *r)
{
    if (zrange_is_empty(r)) return 0;
    zsl_node *first = z->header->level[0].forward;
    return z->tail && zrange_gte_min(z->tail->score, r) && first && zrange_lte_max(first->score, r);
}

zsl_node *zsl_first_in_range(zskiplist *z, const zrangespec *r)
{
    if (!in_range(z, r)) return NULL;
    zsl_node *p = z->header;
    for (int i = z->level - 1; i >= 0; i--)
        while (p->level[i].forward && !zrange_gte_min(p->level[i].forward->score, r))
            p = p->level[i].forward;
    p = p->level[0].forward;
    return p && zrange_lte_max(p->score, r) ? p : NULL;
}

zsl_node *zsl_last_in_range(zskiplist *z, const zrangespec *r)
{
    if (!in_range(z, r)) return NULL;
    zsl_node *p = z->header;
    for (int i = z->level - 1; i >= 0; i--)
        while (p->level[i].forward && zrange_lte_max(p->level[i].forward->score, r))
            p = p->level[i].forward;
    return p != z->header && zrange_gte_min(p->score, r) ? p : NULL;
}

static int node_gte_lex_min(const zsl_node *n, const zlexrangespec *r)
{
    size_t len;
    const char *e = zsl_ele(n, &len);
    return zlex_gte_min(e, len, r);
}

static int node_lte_lex_max(const zsl_node *n, const zlexrangespec *r)
{
    size_t len;
    const char *e = zsl_ele(n, &len);
    return zlex_lte_max(e, len, r);
}

static int in_lex_range(zskiplist *z, const zlexrangespec *r)
{
    if (zlex_is_empty(r)) return 0;
    zsl_node *first = z->header->level[0].forward;
    return z->tail && node_gte_lex_min(z->tail, r) && first && node_lte_lex_max(first, r);
}

zsl_node *zsl_first_in_lex_range(zskiplist *z, const zlexrangespec *r)
{
    if (!in_lex_range(z, r)) return NULL;
    zsl_node *p = z->header;
    for (int i = z->level - 1; i >= 0; i--)
        while (p->level[i].forward && !node_gte_lex_min(p->level[i].forward, r))
            p = p->level[i].forward;
    p = p->level[0].forward;
    return p && node_lte_lex_max(p, r) ? p : NULL;
}

zsl_node *zsl_last_in_lex_range(zskiplist *z, const zlexrangespec *r)
{
    if (!in_lex_range(z, r)) return NULL;
    zsl_node *p = z->header;
    for (int i = z->level - 1; i >= 0; i--)
        while (p->level[i].forward && node_lte_lex_max(p->level[i].forward, r))
            p = p->level[i].forward;
    return p != z->header && node_gte_lex_min(p, r) ? p : NULL;
}

/* Deletes nodes from x on (all after the same update[] predecessors)
 * while keep_going says so, removing their dict entries too. */
static unsigned long delete_run(zskiplist *z, zsl_node *x, zsl_node **update, dict *d,
                                int (*keep_going)(const zsl_node *, const void *, unsigned long),
                                const void *arg, unsigned long rank)
{
    unsigned long removed = 0;
    while (x && keep_going(x, arg, rank + removed)) {
        zsl_node *next = x->level[0].forward;
        unlink_node(z, x, update);
        if (d) {
            dict_unlink_entry(d, x->de);
            dict_free_entry(x->de);
        }
        xfree(x);
        removed++;
        x = next;
    }
    return removed;
}

static int score_keep(const zsl_node *x, const void *arg, unsigned long rank)
{
    (void)rank;
    return zrange_lte_max(x->score, arg);
}

static int lex_keep(const zsl_node *x, const void *arg, unsigned long rank)
{
    (void)rank;
    return node_lte_lex_max(x, arg);
}

static int rank_keep(const zsl_node *x, const void *arg, unsigned long rank)
{
    (void)x;
    return rank <= *(const unsigned long *)arg;
}

unsigned long zsl_delete_range_by_score(zskiplist *z, const zrangespec *r, dict *d)
{
    zsl_node *update[ZSL_MAXLEVEL], *p = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (p->level[i].forward && !zrange_gte_min(p->level[i].forward->score, r))
            p = p->level[i].forward;
        update[i] = p;
    }
    return delete_run(z, p->level[0].forward, update, d, score_keep, r, 0);
}

unsigned long zsl_delete_range_by_lex(zskiplist *z, const zlexrangespec *r, dict *d)
{
    if (zlex_is_empty(r)) return 0;
    zsl_node *update[ZSL_MAXLEVEL], *p = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (p->level[i].forward && !node_gte_lex_min(p->level[i].forward, r))
            p = p->level[i].forward;
        update[i] = p;
    }
    return delete_run(z, p->level[0].forward, update, d, lex_keep, r, 0);
}

unsigned long zsl_delete_range_by_rank(zskiplist *z, unsigned long start, unsigned long end, dict *d)
{
    if (start == 0) start = 1;
    if (start > end) return 0;
    zsl_node *update[ZSL_MAXLEVEL], *p = z->header;
    unsigned long traversed = 0;
    for (int i = z->level - 1; i >= 0; i--) {
        while (p->level[i].forward && traversed + p->level[i].span < start) {
            traversed += p->level[i].span;
            p = p->level[i].forward;
        }
        update[i] = p;
    }
    return delete_run(z, p->level[0].forward, update, d, rank_keep, &end, traversed + 1);
}

/* ---- zset_big ---- */

zset_big *zsb_new(void)
{
    zset_big *z = xmalloc(sizeof(*z));
    z->dict = dict_new(DICT_MAP);
    z->zsl = zsl_new();
    return z;
}

void zsb_free(zset_big *z)
{
    if (!z) return;
    dict_free(z->dict, NULL);
    zsl_free(z->zsl);
    xfree(z);
}

zset_big *zsb_dup(const zset_big *src)
{
    zset_big *z = zsb_new();
    dict_expand(z->dict, zsb_len(src));
    /* Walking from the tail and inserting lowest-last keeps each insert at
     * the head of the new list: short searches. */
    for (zsl_node *n = src->zsl->tail; n; n = n->backward) {
        size_t len;
        const char *m = zsl_ele(n, &len);
        dict_entry *de = dict_add(z->dict, m, len);
        dict_set_p(de, zsl_insert(z->zsl, n->score, de));
    }
    return z;
}

zsl_node *zsb_find(zset_big *z, const char *m, size_t len)
{
    dict_entry *de = dict_find(z->dict, m, len);
    return de ? dict_get_p(de) : NULL;
}

int zsb_set(zset_big *z, const char *m, size_t len, double score)
{
    int existed;
    dict_entry *de = dict_add_or_find(z->dict, m, len, &existed);
    if (existed) {
        zsl_node *n = dict_get_p(de);
        if (n->score != score) zsl_update_score(z->zsl, n, score);
        return 0;
    }
    dict_set_p(de, zsl_insert(z->zsl, score, de));
    return 1;
}

int zsb_del(zset_big *z, const char *m, size_t len)
{
    dict_entry *de = dict_unlink(z->dict, m, len);
    if (!de) return 0;
    zsl_node *n = dict_get_p(de);
    zsl_delete(z->zsl, n->score, m, len);   /* n's member lives in de: free de after */
    dict_free_entry(de);
    return 1;
}

size_t zsb_mem_usage(const zset_big *z)
{
    size_t sz = mem_alloc_size(z) + mem_alloc_size(z->zsl) + mem_alloc_size(z->zsl->header) +
                dict_overhead(z->dict);
    for (zsl_node *n = z->zsl->header->level[0].forward; n; n = n->level[0].forward)
        sz += mem_alloc_size(n) + mem_alloc_size(n->de);
    return sz;
}
