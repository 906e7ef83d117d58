/* quicklist: the list type's storage. A doubly linked list of listpack
 * nodes, each holding up to `fill` entries (Redis's list-max-listpack-size
 * meaning: positive = at most that many entries per node, and never more
 * than 8 KiB unless a single entry is bigger; -1..-5 = at most 4/8/16/32/64
 * KiB per node). Pushes/pops at either end are O(1); access by index walks
 * whole nodes using their cached counts.
 *
 * Not implemented: LZF compression of inner nodes (list-compress-depth) and
 * Redis's "plain" nodes for >1 GiB elements; an element of any size simply
 * gets a node of its own when it does not fit.
 *
 * Ownership: the quicklist owns its nodes and their listpacks; values
 * passed in are copied. A value may point into the same quicklist only for
 * ql_push (e.g. LMOVE rotating one list: peek, push, then pop_discard);
 * insert/replace need values from elsewhere. A ql_entry is a view into a
 * node: its string pointer and position are valid until the next change to
 * the quicklist, except through the iterator functions that say otherwise. */
#ifndef SHOAL_QUICKLIST_H
#define SHOAL_QUICKLIST_H
#include <stddef.h>
#include <stdint.h>

#define QL_HEAD 0          /* `where` for push/pop/peek */
#define QL_TAIL 1
#define QL_FWD 0           /* iteration: head -> tail */
#define QL_BWD 1           /*            tail -> head */
#define QL_BEFORE 0        /* insert position relative to an entry */
#define QL_AFTER 1
#define QL_DEFAULT_FILL (-2)  /* Redis default: 8 KiB nodes */

typedef struct ql_node {
    struct ql_node *prev, *next;
    unsigned char *lp;          /* the entries */
    uint32_t sz;                /* lp bytes, cached */
    uint32_t count;             /* entries in lp, cached */
} ql_node;

typedef struct quicklist {
    ql_node *head, *tail;
    unsigned long count;        /* total entries */
    unsigned long len;          /* nodes */
    int fill;
} quicklist;

/* One element: a string view when s != NULL (len bytes, pointing into the
 * node, NOT NUL-terminated), else the integer v. node/p locate it. */
typedef struct ql_entry {
    ql_node *node;
    unsigned char *p;
    const unsigned char *s;
    size_t len;
    long long v;
} ql_entry;

typedef struct ql_iter {
    quicklist *ql;
    ql_node *node;
    unsigned char *cur;         /* last entry returned in node, NULL = none yet */
    int dir;
} ql_iter;

quicklist *ql_new(int fill);
void       ql_free(quicklist *ql);
quicklist *ql_dup(const quicklist *ql);
/* Clamps to -5..32768 (0 behaves as 1); applies to future inserts. */
void       ql_set_fill(quicklist *ql, int fill);
static inline unsigned long ql_count(const quicklist *ql) { return ql->count; }
/* Bytes allocated for the structure, nodes and listpacks (MEMORY USAGE). */
size_t     ql_mem_usage(const quicklist *ql);
/* Adopts a listpack (e.g. a node loaded from a dump) as a new tail node;
 * an empty one is freed. The quicklist owns it afterwards. */
void       ql_append_listpack(quicklist *ql, unsigned char *lp);

/* Pushes a copy of s at the head or tail. */
void       ql_push(quicklist *ql, int where, const void *s, size_t len);
/* The head or tail element (no removal); 0 if empty. */
int        ql_peek(quicklist *ql, int where, ql_entry *e);
/* Removes the head or tail element and returns a NUL-terminated xmalloc'd
 * copy of it (integers rendered; caller xfree's it), or NULL if empty. */
char      *ql_pop(quicklist *ql, int where, size_t *len);
/* Removes the head or tail element without copying it; 0 if empty.
 * (LPOP can peek, write the reply, then call this.) */
int        ql_pop_discard(quicklist *ql, int where);

/* Element at index (negative counts from the tail); 0 if out of range. */
int        ql_index(quicklist *ql, long index, ql_entry *e);
/* Renders an entry as bytes (integers into intbuf, 21 bytes). */
const char *ql_entry_str(const ql_entry *e, size_t *len, char *intbuf);
/* 1 if the entry equals s (integers compare by value, like listpack). */
int        ql_entry_eq(const ql_entry *e, const void *s, size_t len);
/* Replaces the element at index (LSET); 0 if out of range. */
int        ql_replace_at(quicklist *ql, long index, const void *s, size_t len);
/* Replaces entry e (from ql_index/ql_peek/ql_next); e is invalid after. */
void       ql_replace_entry(quicklist *ql, ql_entry *e, const void *s, size_t len);
/* Inserts s before or after entry e (LINSERT); e and iterators are invalid after. */
void       ql_insert(quicklist *ql, ql_entry *e, int where, const void *s, size_t len);
/* Deletes entry e (from ql_index/ql_peek); e is invalid after. Use
 * ql_iter_del instead while iterating. */
void       ql_del_entry(quicklist *ql, ql_entry *e);
/* Deletes up to count elements starting at index start (negative counts
 * from the tail, and a start before the head is clamped to the head);
 * returns how many were deleted. */
unsigned long ql_del_range(quicklist *ql, long start, unsigned long count);

/* Iteration. ql_next fills e and returns 1, or returns 0 at the end.
 * While iterating, the only change allowed is ql_iter_del on the entry
 * just returned; iteration then continues with the element that followed
 * it in the iteration direction. No cleanup is needed to stop early. */
void       ql_iter_init(ql_iter *it, quicklist *ql, int dir);
/* Starts so that the first ql_next returns the element at index; returns
 * 0 (and an exhausted iterator) if index is out of range. */
int        ql_iter_init_at(ql_iter *it, quicklist *ql, int dir, long index);
int        ql_next(ql_iter *it, ql_entry *e);
void       ql_iter_del(ql_iter *it, ql_entry *e);

#endif
