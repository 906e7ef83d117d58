/* intset: sorted integer array with on-demand cell widening (see intset.h). */
#include "intset.h"
#include "mem.h"
#include <string.h>

struct intset {
    uint32_t enc;       /* bytes per cell: 2, 4 or 8 */
    uint32_t len;
    unsigned char cells[];
};

#define IS_HDR ((size_t)offsetof(intset, cells))

/* A small private PRNG: cheap and needs no locking (random() has a lock). */
static uint64_t is_rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t is_rand(void)
{
    uint64_t x = is_rng_state;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    is_rng_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

int intset_value_width(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

/* Cell access with memcpy: cells are not aligned for their width in general. */
static inline int64_t cell_get(const unsigned char *c, uint32_t enc, uint32_t pos)
{
    if (enc == 2) { int16_t v; memcpy(&v, c + (size_t)pos * 2, 2); return v; }
    if (enc == 4) { int32_t v; memcpy(&v, c + (size_t)pos * 4, 4); return v; }
    int64_t v; memcpy(&v, c + (size_t)pos * 8, 8); return v;
}

static inline void cell_set(unsigned char *c, uint32_t enc, uint32_t pos, int64_t v)
{
    if (enc == 2) { int16_t x = (int16_t)v; memcpy(c + (size_t)pos * 2, &x, 2); }
    else if (enc == 4) { int32_t x = (int32_t)v; memcpy(c + (size_t)pos * 4, &x, 4); }
    else memcpy(c + (size_t)pos * 8, &v, 8);
}

intset *intset_new(void)
{
    intset *is = xmalloc(IS_HDR);
    is->enc = 2;
    is->len = 0;
    return is;
}

void intset_free(intset *is) { xfree(is); }

intset *intset_dup(const intset *is)
{
    size_t n = intset_blob_len(is);
    intset *c = xmalloc(n);
    memcpy(c, is, n);
    return c;
}

static intset *resize(intset *is, uint32_t len)
{
    return xrealloc(is, IS_HDR + (size_t)len * is->enc);
}

/* Binary search: returns 1 and the position if found, else 0 and the
 * position where v would be inserted. */
static int search(const intset *is, int64_t v, uint32_t *pos)
{
    uint32_t lo = 0, hi = is->len;
    if (is->len == 0) { *pos = 0; return 0; }
    /* Fast paths for appends/prepends, the common case when loading sorted data. */
    if (v > cell_get(is->cells, is->enc, is->len - 1)) { *pos = is->len; return 0; }
    if (v < cell_get(is->cells, is->enc, 0)) { *pos = 0; return 0; }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t m = cell_get(is->cells, is->enc, mid);
        if (m == v) { *pos = mid; return 1; }
        if (m < v) lo = mid + 1; else hi = mid;
    }
    *pos = lo;
    return 0;
}

/* Widen every cell to `enc` and add v, which is out of the old range and
 * so goes at one end. Cells are rewritten back to front so none is
 * overwritten before it is read. */
static intset *upgrade_and_add(intset *is, int64_t v)
{
    uint32_t old = is->enc, len = is->len;
    int prepend = v < 0;
    is = xrealloc(is, IS_HDR + (size_t)(len + 1) * (size_t)intset_value_width(v));
    is->enc = (uint32_t)intset_value_width(v);
    for (uint32_t i = len; i-- > 0;)
        cell_set(is->cells, is->enc, i + (prepend ? 1 : 0), cell_get(is->cells, old, i));
    cell_set(is->cells, is->enc, prepend ? 0 : len, v);
    is->len = len + 1;
    return is;
}

intset *intset_add(intset *is, int64_t v, int *added)
{
    uint32_t pos;
    if (added) *added = 0;
    if ((uint32_t)intset_value_width(v) > is->enc) {
        if (added) *added = 1;
        return upgrade_and_add(is, v);
    }
    if (search(is, v, &pos)) return is;
    is = resize(is, is->len + 1);
    if (pos < is->len)
        memmove(is->cells + (size_t)(pos + 1) * is->enc, is->cells + (size_t)pos * is->enc,
                (size_t)(is->len - pos) * is->enc);
    cell_set(is->cells, is->enc, pos, v);
    is->len++;
    if (added) *added = 1;
    return is;
}

intset *intset_remove(intset *is, int64_t v, int *removed)
{
    uint32_t pos;
    if (removed) *removed = 0;
    if ((uint32_t)intset_value_width(v) > is->enc || !search(is, v, &pos)) return is;
    if (pos < is->len - 1)
        memmove(is->cells + (size_t)pos * is->enc, is->cells + (size_t)(pos + 1) * is->enc,
                (size_t)(is->len - pos - 1) * is->enc);
    is->len--;
    if (removed) *removed = 1;
    return resize(is, is->len);
}

int intset_find(const intset *is, int64_t v)
{
    uint32_t pos;
    return (uint32_t)intset_value_width(v) <= is->enc && search(is, v, &pos);
}

uint32_t intset_len(const intset *is) { return is->len; }

int intset_get(const intset *is, uint32_t pos, int64_t *v)
{
    if (pos >= is->len) return 0;
    *v = cell_get(is->cells, is->enc, pos);
    return 1;
}

int64_t intset_random(const intset *is)
{
    return cell_get(is->cells, is->enc, (uint32_t)(is_rand() % is->len));
}

int64_t intset_min(const intset *is) { return cell_get(is->cells, is->enc, 0); }
int64_t intset_max(const intset *is) { return cell_get(is->cells, is->enc, is->len - 1); }

size_t intset_blob_len(const intset *is) { return IS_HDR + (size_t)is->len * is->enc; }

int intset_validate(const void *blob, size_t size, int deep)
{
    intset hdr;
    if (size < IS_HDR) return 0;
    memcpy(&hdr, blob, IS_HDR);
    if (hdr.enc != 2 && hdr.enc != 4 && hdr.enc != 8) return 0;
    if ((size - IS_HDR) / hdr.enc != hdr.len || (size - IS_HDR) % hdr.enc) return 0;
    if (!deep) return 1;
    const unsigned char *c = (const unsigned char *)blob + IS_HDR;
    for (uint32_t i = 1; i < hdr.len; i++)
        if (cell_get(c, hdr.enc, i - 1) >= cell_get(c, hdr.enc, i)) return 0;
    return 1;
}

intset *intset_from_blob(const void *blob, size_t size)
{
    intset *is = xmalloc(size);
    memcpy(is, blob, size);
    return is;
}
