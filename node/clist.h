/* clist: a small growable array of client pointers (waiters on a key,
 * watchers of a key, subscribers of a channel). Order is insertion
 * order, which gives blocked clients their FIFO service. */
#ifndef SHOAL_CLIST_H
#define SHOAL_CLIST_H
#include <string.h>
#include "mem.h"

struct client;
typedef struct clist {
    int n, cap;
    struct client **v;
} clist;

static inline clist *clist_new(void) { return xcalloc(1, sizeof(clist)); }
static inline void clist_free(clist *l) { if (l) { xfree(l->v); xfree(l); } }
static inline void clist_push(clist *l, struct client *c)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = xrealloc(l->v, sizeof(*l->v) * (size_t)l->cap);
    }
    l->v[l->n++] = c;
}
/* Removes the first occurrence, keeping order; returns 1 if found. */
static inline int clist_remove(clist *l, struct client *c)
{
    for (int i = 0; i < l->n; i++) {
        if (l->v[i] == c) {
            memmove(&l->v[i], &l->v[i + 1], sizeof(*l->v) * (size_t)(l->n - i - 1));
            l->n--;
            return 1;
        }
    }
    return 0;
}
static inline int clist_has(const clist *l, const struct client *c)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == c) return 1;
    return 0;
}
#endif
