/* mem: allocation wrappers that keep a running count of bytes in use.
 * Every allocation of keyspace data goes through these so that
 * INFO used_memory and maxmemory eviction see the true figure. */
#ifndef SHOAL_MEM_H
#define SHOAL_MEM_H
#include <stddef.h>

void *xmalloc(size_t n);          /* aborts on OOM: there is no sane recovery */
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
void  xfree(void *p);             /* NULL is fine */
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t n); /* copies n bytes and adds a NUL */
size_t mem_used(void);            /* bytes currently allocated (usable sizes) */
size_t mem_alloc_size(const void *p); /* usable size of one allocation */
size_t mem_rss(void);             /* process resident set size, from /proc */

#endif
