/* intset: a sorted array of distinct 64-bit integers, stored with the
 * narrowest of 16/32/64-bit cells that fits every member (the set is
 * upgraded in place when a wider value arrives, never downgraded).
 * Used for small sets whose members are all integers (set-max-intset-entries).
 *
 * Layout (one allocation, little-endian, same as Redis's so that a blob
 * can be validated and adopted as is):
 *     uint32 encoding (2, 4 or 8 = bytes per cell) | uint32 length | cells...
 *
 * Ownership: an intset is one xmalloc block owned by the caller. Functions
 * that grow or shrink it take the old pointer and return the new one (the
 * old one must not be used after). */
#ifndef SHOAL_INTSET_H
#define SHOAL_INTSET_H
#include <stddef.h>
#include <stdint.h>

typedef struct intset intset;

/* An empty set (16-bit encoding). Free with intset_free. */
intset  *intset_new(void);
void     intset_free(intset *is);
/* Deep copy. */
intset  *intset_dup(const intset *is);

/* Adds v; *added (may be NULL) is set to 1 if it was not there. May move. */
intset  *intset_add(intset *is, int64_t v, int *added);
/* Removes v; *removed (may be NULL) is set to 1 if it was there. May move. */
intset  *intset_remove(intset *is, int64_t v, int *removed);
/* 1 if v is a member (binary search). */
int      intset_find(const intset *is, int64_t v);
/* Number of members. */
uint32_t intset_len(const intset *is);
/* Member at position pos in ascending order (0-based); 0 if out of range. */
int      intset_get(const intset *is, uint32_t pos, int64_t *v);
/* A uniformly random member; the set must not be empty. */
int64_t  intset_random(const intset *is);
/* Smallest / largest member; the set must not be empty. */
int64_t  intset_min(const intset *is);
int64_t  intset_max(const intset *is);
/* Bytes of the serialized form (header + cells): what DUMP would copy. */
size_t   intset_blob_len(const intset *is);
/* Bytes needed to store v (2, 4 or 8). */
int      intset_value_width(int64_t v);
/* Checks an untrusted blob of `size` bytes (e.g. from RESTORE): header and
 * size agree; with deep != 0 also that members are strictly increasing.
 * Returns 1 if it is safe to use as an intset (after copying it into an
 * xmalloc block, e.g. with intset_from_blob). */
int      intset_validate(const void *blob, size_t size, int deep);
/* Copies a blob (already validated) into a new intset. */
intset  *intset_from_blob(const void *blob, size_t size);

#endif
