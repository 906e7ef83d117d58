/* quicklist: linked list of listpack nodes (see quicklist.h). */
#include "quicklist.h"
#include "listpack.h"
#include "mem.h"
#include <string.h>

#define QL_SIZE_SAFETY 8192              /* cap for nodes under a positive fill */
#define QL_MAX_FILL 32768
static const size_t ql_size_levels[] = { 4096, 8192, 16384, 32768, 65536 };

/* ---- Nodes ---- */

static ql_node *node_new(unsigned char *lp, uint32_t count)
{
    ql_node *n = xmalloc(sizeof(*n));
    n->prev = n->next = NULL;
    n->lp = lp;
    n->sz = (uint32_t)lp_bytes(lp);
    n->count = count;
    return n;
}

static inline void node_sync(ql_node *n) { n->sz = (uint32_t)lp_bytes(n->lp); }

/* Links n after `after` (NULL = as the new head). */
static void link_after(quicklist *ql, ql_node *after, ql_node *n)
{
    n->prev = after;
    n->next = after ? after->next : ql->head;
    if (n->next) n->next->prev = n; else ql->tail = n;
    if (after) after->next = n; else ql->head = n;
    ql->len++;
}

static void unlink_free(quicklist *ql, ql_node *n)
{
    if (n->prev) n->prev->next = n->next; else ql->head = n->next;
    if (n->next) n->next->prev = n->prev; else ql->tail = n->prev;
    ql->len--;
    ql->count -= n->count;
    lp_free(n->lp);
    xfree(n);
}

static int size_ok(int fill, size_t sz)
{
    if (fill >= 0) return sz <= QL_SIZE_SAFETY;
    return sz <= ql_size_levels[-fill - 1];
}

/* Can n take one more entry of `add` bytes? A node always takes its
 * first entry, however big. */
static int allow_insert(const quicklist *ql, const ql_node *n, size_t add)
{
    if (!n) return 0;
    if (n->count == 0) return 1;
    if (ql->fill >= 0 && n->count >= (uint32_t)ql->fill) return 0;
    return size_ok(ql->fill, (size_t)n->sz + add);
}

/* Merges b into a when the result fits (a and b adjacent, a first). */
static void try_merge(quicklist *ql, ql_node *a, ql_node *b)
{
    if (!a || !b) return;
    if (ql->fill >= 0 && a->count + b->count > (uint32_t)ql->fill) return;
    if (!size_ok(ql->fill, (size_t)a->sz + b->sz - LP_HDR_SIZE - 1)) return;
    a->lp = lp_concat(a->lp, b->lp);
    a->count += b->count;
    node_sync(a);
    ql->count += b->count;       /* unlink_free subtracts them again */
    unlink_free(ql, b);
}

/* ---- Whole list ---- */

quicklist *ql_new(int fill)
{
    quicklist *ql = xmalloc(sizeof(*ql));
    ql->head = ql->tail = NULL;
    ql->count = ql->len = 0;
    ql_set_fill(ql, fill);
    return ql;
}

void ql_set_fill(quicklist *ql, int fill)
{
    if (fill > QL_MAX_FILL) fill = QL_MAX_FILL;
    else if (fill < -5) fill = -5;
    else if (fill == 0) fill = 1;
    ql->fill = fill;
}

void ql_free(quicklist *ql)
{
    if (!ql) return;
    ql_node *n = ql->head;
    while (n) {
        ql_node *next = n->next;
        lp_free(n->lp);
        xfree(n);
        n = next;
    }
    xfree(ql);
}

quicklist *ql_dup(const quicklist *ql)
{
    quicklist *c = ql_new(ql->fill);
    for (ql_node *n = ql->head; n; n = n->next) {
        link_after(c, c->tail, node_new(lp_dup(n->lp), n->count));
        c->count += n->count;
    }
    return c;
}

size_t ql_mem_usage(const quicklist *ql)
{
    size_t sz = mem_alloc_size(ql);
    for (ql_node *n = ql->head; n; n = n->next)
        sz += mem_alloc_size(n) + mem_alloc_size(n->lp);
    return sz;
}

void ql_append_listpack(quicklist *ql, unsigned char *lp)
{
    unsigned long c = lp_length(lp);
    if (c == 0) { lp_free(lp); return; }
    link_after(ql, ql->tail, node_new(lp, (uint32_t)c));
    ql->count += c;
}

/* ---- Ends ---- */

void ql_push(quicklist *ql, int where, const void *s, size_t len)
{
    size_t add = lp_entry_size_str(s, len);
    ql_node *n = where == QL_HEAD ? ql->head : ql->tail;
    if (!allow_insert(ql, n, add)) {
        ql_node *m = node_new(lp_new(), 0);
        link_after(ql, where == QL_HEAD ? NULL : ql->tail, m);
        n = m;
    }
    n->lp = where == QL_HEAD ? lp_prepend(n->lp, s, len) : lp_append(n->lp, s, len);
    n->count++;
    node_sync(n);
    ql->count++;
}

static void fill_entry(ql_entry *e, ql_node *n, unsigned char *p)
{
    lp_val v;
    lp_get(p, &v);
    e->node = n;
    e->p = p;
    e->s = v.s;
    e->len = v.len;
    e->v = v.v;
}

int ql_peek(quicklist *ql, int where, ql_entry *e)
{
    ql_node *n = where == QL_HEAD ? ql->head : ql->tail;
    if (!n) return 0;
    fill_entry(e, n, where == QL_HEAD ? lp_first(n->lp) : lp_last(n->lp));
    return 1;
}

/* Deletes the entry at p in n, dropping n if it becomes empty. Returns 1
 * if the node was freed. *p follows lp_delete's rule otherwise. */
static int node_del(quicklist *ql, ql_node *n, unsigned char **p)
{
    if (n->count == 1) { unlink_free(ql, n); return 1; }
    n->lp = lp_delete(n->lp, p);
    n->count--;
    node_sync(n);
    ql->count--;
    return 0;
}

char *ql_pop(quicklist *ql, int where, size_t *len)
{
    ql_entry e;
    char buf[LP_INTBUF_SIZE];
    if (!ql_peek(ql, where, &e)) return NULL;
    const char *s = ql_entry_str(&e, len, buf);
    char *copy = xmemdup(s, *len);
    ql_del_entry(ql, &e);
    return copy;
}

int ql_pop_discard(quicklist *ql, int where)
{
    ql_entry e;
    if (!ql_peek(ql, where, &e)) return 0;
    ql_del_entry(ql, &e);
    return 1;
}

void ql_del_entry(quicklist *ql, ql_entry *e)
{
    unsigned char *p = e->p;
    node_del(ql, e->node, &p);
}

/* ---- Index access ---- */

/* Finds the node holding index and the entry's position inside it. */
static int locate(quicklist *ql, long index, ql_node **np, unsigned char **pp)
{
    unsigned long i;
    ql_node *n;
    if (index >= 0) {
        if ((unsigned long)index >= ql->count) return 0;
        i = (unsigned long)index;
        for (n = ql->head; i >= n->count; n = n->next) i -= n->count;
        *pp = lp_seek(n->lp, (long)i);
    } else {
        if ((unsigned long)(-(index + 1)) >= ql->count) return 0;
        i = (unsigned long)(-(index + 1));
        for (n = ql->tail; i >= n->count; n = n->prev) i -= n->count;
        *pp = lp_seek(n->lp, -(long)i - 1);
    }
    *np = n;
    return 1;
}

int ql_index(quicklist *ql, long index, ql_entry *e)
{
    ql_node *n;
    unsigned char *p;
    if (!locate(ql, index, &n, &p)) return 0;
    fill_entry(e, n, p);
    return 1;
}

const char *ql_entry_str(const ql_entry *e, size_t *len, char *intbuf)
{
    return lp_get_str(e->p, len, intbuf);
}

int ql_entry_eq(const ql_entry *e, const void *s, size_t len)
{
    return lp_eq(e->p, s, len);
}

/* ---- Insert / replace ---- */

/* Inserts next to entry p of node n, splitting n when it is full and the
 * position is inside it. */
static void insert_at(quicklist *ql, ql_node *n, unsigned char *p, int where,
                      const void *s, size_t len)
{
    size_t add = lp_entry_size_str(s, len);
    int at_tail = where == QL_AFTER && lp_next(n->lp, p) == NULL;
    int at_head = where == QL_BEFORE && lp_prev(n->lp, p) == NULL;

    if (allow_insert(ql, n, add)) {
        n->lp = lp_insert(n->lp, p, where == QL_AFTER ? LP_AFTER : LP_BEFORE, s, len, NULL);
        n->count++;
        node_sync(n);
    } else if (at_tail && allow_insert(ql, n->next, add)) {
        n = n->next;
        n->lp = lp_prepend(n->lp, s, len);
        n->count++;
        node_sync(n);
    } else if (at_head && allow_insert(ql, n->prev, add)) {
        n = n->prev;
        n->lp = lp_append(n->lp, s, len);
        n->count++;
        node_sync(n);
    } else if (at_tail || at_head) {
        ql_node *m = node_new(lp_append(lp_new(), s, len), 1);
        link_after(ql, at_tail ? n : n->prev, m);
    } else {
        /* Split: n keeps the entries before the insertion point, m the rest. */
        unsigned char *cut = where == QL_AFTER ? lp_next(n->lp, p) : p;
        unsigned char *rest = lp_split(&n->lp, cut);
        uint32_t keep = (uint32_t)lp_length(n->lp);
        ql_node *m = node_new(rest, n->count - keep);
        n->count = keep;
        node_sync(n);
        link_after(ql, n, m);
        if (allow_insert(ql, n, add)) {
            n->lp = lp_append(n->lp, s, len);
            n->count++;
            node_sync(n);
        } else if (allow_insert(ql, m, add)) {
            m->lp = lp_prepend(m->lp, s, len);
            m->count++;
            node_sync(m);
        } else {
            link_after(ql, n, node_new(lp_append(lp_new(), s, len), 1));
        }
        /* Keep nodes dense: the split halves may fit with their neighbours. */
        try_merge(ql, m, m->next);
        try_merge(ql, n->prev, n);
    }
    ql->count++;
}

void ql_insert(quicklist *ql, ql_entry *e, int where, const void *s, size_t len)
{
    insert_at(ql, e->node, e->p, where, s, len);
}

void ql_replace_entry(quicklist *ql, ql_entry *e, const void *s, size_t len)
{
    ql_node *n = e->node;
    unsigned char *p = e->p;
    size_t add = lp_entry_size_str(s, len), old = lp_entry_bytes(p);
    if (n->count == 1 || size_ok(ql->fill, (size_t)n->sz - old + add)) {
        n->lp = lp_replace(n->lp, &p, s, len);
        node_sync(n);
        return;
    }
    /* The new value does not fit in this node: delete, then insert at the
     * same place (insert_at splits the node as needed). */
    unsigned char *prev = lp_prev(n->lp, p);
    size_t prev_off = prev ? (size_t)(prev - n->lp) : 0;
    node_del(ql, n, &p);            /* count >= 2: the node survives */
    if (prev) insert_at(ql, n, n->lp + prev_off, QL_AFTER, s, len);
    else insert_at(ql, n, p, QL_BEFORE, s, len);
}

int ql_replace_at(quicklist *ql, long index, const void *s, size_t len)
{
    ql_entry e;
    if (!ql_index(ql, index, &e)) return 0;
    ql_replace_entry(ql, &e, s, len);
    return 1;
}

/* ---- Range delete ---- */

unsigned long ql_del_range(quicklist *ql, long start, unsigned long count)
{
    if (start < 0) {
        unsigned long back = (unsigned long)(-(start + 1)) + 1;   /* no overflow at LONG_MIN */
        start = back > ql->count ? 0 : (long)(ql->count - back);   /* clamped to the head */
    }
    if ((unsigned long)start >= ql->count || count == 0) return 0;
    if (count > ql->count - (unsigned long)start) count = ql->count - (unsigned long)start;

    unsigned long off = (unsigned long)start, left = count;
    ql_node *n = ql->head;
    while (off >= n->count) { off -= n->count; n = n->next; }
    while (left) {
        ql_node *next = n->next;
        unsigned long del = n->count - off;
        if (del > left) del = left;
        if (off == 0 && del == n->count) {
            unlink_free(ql, n);
        } else {
            n->lp = lp_delete_range(n->lp, (long)off, del);
            n->count -= (uint32_t)del;
            node_sync(n);
            ql->count -= del;
        }
        left -= del;
        off = 0;
        n = next;
    }
    return count;
}

/* ---- Iteration ---- */

void ql_iter_init(ql_iter *it, quicklist *ql, int dir)
{
    it->ql = ql;
    it->dir = dir;
    it->node = dir == QL_FWD ? ql->head : ql->tail;
    it->cur = NULL;
}

int ql_iter_init_at(ql_iter *it, quicklist *ql, int dir, long index)
{
    ql_node *n;
    unsigned char *p;
    it->ql = ql;
    it->dir = dir;
    it->cur = NULL;
    if (!locate(ql, index, &n, &p)) { it->node = NULL; return 0; }
    it->node = n;
    /* Position "just before" p in the iteration direction. */
    it->cur = dir == QL_FWD ? lp_prev(n->lp, p) : lp_next(n->lp, p);
    return 1;
}

int ql_next(ql_iter *it, ql_entry *e)
{
    while (it->node) {
        ql_node *n = it->node;
        unsigned char *p;
        if (!it->cur) p = it->dir == QL_FWD ? lp_first(n->lp) : lp_last(n->lp);
        else p = it->dir == QL_FWD ? lp_next(n->lp, it->cur) : lp_prev(n->lp, it->cur);
        if (p) {
            it->cur = p;
            fill_entry(e, n, p);
            return 1;
        }
        it->node = it->dir == QL_FWD ? n->next : n->prev;
        it->cur = NULL;
    }
    return 0;
}

void ql_iter_del(ql_iter *it, ql_entry *e)
{
    ql_node *n = e->node;
    unsigned char *p = e->p;
    ql_node *after = it->dir == QL_FWD ? n->next : n->prev;
    unsigned char *prev = lp_prev(n->lp, p);
    size_t prev_off = prev ? (size_t)(prev - n->lp) : 0;
    size_t off = (size_t)(p - n->lp);
    if (node_del(it->ql, n, &p)) {
        it->node = after;
        it->cur = NULL;
        return;
    }
    /* Forward: resume after the entry before the deleted one. Backward:
     * resume before whatever now sits at the deleted offset (possibly the
     * end byte, for which lp_prev yields the last entry). */
    if (it->dir == QL_FWD) it->cur = prev ? n->lp + prev_off : NULL;
    else it->cur = n->lp + off;
}
