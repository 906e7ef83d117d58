#include "mem.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Relaxed atomics: the node's data path is one thread, but helper threads
 * (lazy free, the proxy's workers) allocate too. */
static size_t used;

static void oom(size_t n)
{
    fprintf(stderr, "shoal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    __atomic_add_fetch(&used, malloc_usable_size(p), __ATOMIC_RELAXED);
    return p;
}

void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) oom(n * sz);
    __atomic_add_fetch(&used, malloc_usable_size(p), __ATOMIC_RELAXED);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    size_t nw = malloc_usable_size(q);
    if (nw >= old) __atomic_add_fetch(&used, nw - old, __ATOMIC_RELAXED);
    else __atomic_sub_fetch(&used, old - nw, __ATOMIC_RELAXED);
    return q;
}

void xfree(void *p)
{
    if (!p) return;
    __atomic_sub_fetch(&used, malloc_usable_size(p), __ATOMIC_RELAXED);
    free(p);
}

char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s));
}

void *xmemdup(const void *p, size_t n)
{
    char *q = xmalloc(n + 1);
    if (n) memcpy(q, p, n);
    q[n] = '\0';
    return q;
}

size_t mem_used(void)
{
    return __atomic_load_n(&used, __ATOMIC_RELAXED);
}

size_t mem_alloc_size(const void *p)
{
    return p ? malloc_usable_size((void *)p) : 0;
}

size_t mem_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2) rss = 0;
    fclose(f);
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}
