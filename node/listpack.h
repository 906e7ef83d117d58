/* listpack: a compact, contiguous sequence of entries, each a byte string
 * or a 64-bit integer, walkable in both directions. Small hashes
 * (field,value,field,value...), small sorted sets (member,score,...),
 * and every quicklist node are listpacks.
 *
 * The byte format is Redis's listpack format, so blobs are interchangeable:
 *     uint32 total_bytes | uint16 count | entry... | 0xFF
 * where count == 65535 means "unknown, count by walking", and each entry is
 *     encoding+data | backlen (1..5 bytes, the size of encoding+data,
 *                             readable from right to left)
 * Integers take 1 (0..127), 2 (-4096..4095), 3, 4, 5 or 9 bytes plus a
 * 1-byte backlen. A string that is a canonical integer ("123", "-5", but
 * not "0123", "-0", "+1" or " 1") is stored as that integer, so "123" costs
 * 2 bytes; reading it back yields the integer, and its decimal rendering is
 * byte-identical to the original string.
 *
 * Ownership and pointer rules:
 *  - A listpack is one xmalloc block (unsigned char *), owned by the caller,
 *    freed with lp_free.
 *  - Every function that changes a listpack takes the old pointer and
 *    returns the new one (the block may have moved); the old pointer and
 *    EVERY entry pointer (`p`) into it are invalid afterwards, except the
 *    ones a function explicitly hands back (e.g. *newp, *p).
 *  - String views returned by lp_get/lp_get_str point into the listpack
 *    and are valid only until its next modification.
 *  - String arguments may point anywhere, even into the same listpack.
 *  - An entry position `p` is a pointer to the first byte of an entry; NULL
 *    means "none" (past the end / before the start).
 * Sizes: entries up to 2^32-6 bytes, total up to 4 GiB; callers keep well
 * below (lp_safe_to_add). */
#ifndef SHOAL_LISTPACK_H
#define SHOAL_LISTPACK_H
#include <stddef.h>
#include <stdint.h>

#define LP_INTBUF_SIZE 21      /* scratch for rendering an integer entry */
#define LP_BEFORE 0
#define LP_AFTER  1
#define LP_HDR_SIZE 6
#define LP_MAX_SAFE_SIZE (1u << 30)   /* refuse to grow a listpack beyond 1 GiB */

/* A decoded entry: a string view when s != NULL (len bytes, pointer into
 * the listpack, NOT NUL-terminated), else the integer v. */
typedef struct lp_val {
    const unsigned char *s;
    size_t len;
    long long v;
} lp_val;

/* An empty listpack. */
unsigned char *lp_new(void);
void           lp_free(unsigned char *lp);
unsigned char *lp_dup(const unsigned char *lp);
/* Total bytes of the blob (header + entries + end byte). */
size_t         lp_bytes(const unsigned char *lp);
/* Number of entries: O(1) from the header; walks (and re-caches) only when
 * there are 65535 or more. */
unsigned long  lp_length(unsigned char *lp);
/* 1 if growing lp by `add` bytes keeps it under LP_MAX_SAFE_SIZE. */
int            lp_safe_to_add(const unsigned char *lp, size_t add);
/* Bytes the entry at p occupies (encoding, data and backlen). */
size_t         lp_entry_bytes(const unsigned char *p);
/* Exact bytes an entry for this string would take once stored (string or
 * integer encoding, backlen included); used to enforce node size limits. */
size_t         lp_entry_size_str(const void *s, size_t len);

/* ---- Positions (no allocation, O(1) except lp_seek) ---- */
unsigned char *lp_first(unsigned char *lp);          /* NULL if empty */
unsigned char *lp_last(unsigned char *lp);           /* NULL if empty */
unsigned char *lp_next(unsigned char *lp, unsigned char *p); /* NULL after last */
/* Entry before p (NULL before first). p may also be the end byte, which
 * yields the last entry. */
unsigned char *lp_prev(unsigned char *lp, unsigned char *p);
/* Entry at index (0-based; negative counts from the end, -1 = last);
 * NULL if out of range. Walks from the nearer end. */
unsigned char *lp_seek(unsigned char *lp, long index);

/* ---- Reading an entry ---- */
void           lp_get(const unsigned char *p, lp_val *out);
/* The entry as bytes: strings point into the listpack, integers are
 * rendered into intbuf (LP_INTBUF_SIZE bytes). Not NUL-terminated. */
const char    *lp_get_str(const unsigned char *p, size_t *len, char *intbuf);
/* 1 if the entry is integer-encoded (the int is stored in *v if v). */
int            lp_is_int(const unsigned char *p, long long *v);
/* The entry as an integer: int-encoded, or a string parsing as one
 * (Redis rules). Returns 1 on success, 0 if not an integer. */
int            lp_get_ll(const unsigned char *p, long long *v);
/* The entry as a double (strings parsed like a zset score). 1 on success. */
int            lp_get_double(const unsigned char *p, double *v);
/* 1 if the entry equals the string s (integers compare by value). */
int            lp_eq(const unsigned char *p, const void *s, size_t len);
/* Compares the entry's bytes (integers rendered) with s like memcmp and
 * then by length: <0, 0, >0. For lexicographic zset ranges. */
int            lp_cmp_str(const unsigned char *p, const void *s, size_t len);

/* ---- Searching ---- */
/* Starting at p, compares p, skips `skip` entries, compares the next one,
 * and so on: with skip == 1 from lp_first it looks at the fields of a
 * field/value listpack only. Returns the matching entry or NULL. */
unsigned char *lp_find(unsigned char *lp, unsigned char *p, const void *s, size_t len,
                       unsigned skip);

/* ---- Writing (each returns the possibly moved listpack) ---- */
unsigned char *lp_append(unsigned char *lp, const void *s, size_t len);
unsigned char *lp_append_int(unsigned char *lp, long long v);
unsigned char *lp_prepend(unsigned char *lp, const void *s, size_t len);
unsigned char *lp_prepend_int(unsigned char *lp, long long v);
/* Inserts before or after (LP_BEFORE / LP_AFTER) entry p; p NULL appends.
 * *newp (may be NULL) receives the position of the new entry. */
unsigned char *lp_insert(unsigned char *lp, unsigned char *p, int where,
                         const void *s, size_t len, unsigned char **newp);
unsigned char *lp_insert_int(unsigned char *lp, unsigned char *p, int where,
                             long long v, unsigned char **newp);
/* Replaces entry *p with a new value; *p is updated to the new entry. */
unsigned char *lp_replace(unsigned char *lp, unsigned char **p, const void *s, size_t len);
unsigned char *lp_replace_int(unsigned char *lp, unsigned char **p, long long v);
/* Deletes entry *p; *p becomes the entry that followed it (NULL if none). */
unsigned char *lp_delete(unsigned char *lp, unsigned char **p);
/* Deletes num entries starting at index (negative counts from the end);
 * stops at the end. */
unsigned char *lp_delete_range(unsigned char *lp, long index, unsigned long num);
/* Deletes num entries starting at entry p (stops at the end). */
unsigned char *lp_delete_range_at(unsigned char *lp, unsigned char *p, unsigned long num);
/* Appends every entry of b to a (b is unchanged, still owned by the caller). */
unsigned char *lp_concat(unsigned char *a, const unsigned char *b);
/* Moves entries p..last out of *lp into a new listpack (returned, owned by
 * the caller); *lp keeps the entries before p and may move. p must be an
 * entry of *lp. */
unsigned char *lp_split(unsigned char **lp, unsigned char *p);

/* ---- Untrusted input ---- */
/* Checks a blob of `size` bytes, e.g. from RESTORE: header size and end
 * byte; with deep != 0 also every entry's encoding, bounds and backlen,
 * and the header count. Returns 1 if every function here is safe on it
 * (copy it into an xmalloc block first, e.g. lp_from_blob). On success
 * *count (may be NULL) gets the number of entries (deep only). */
int            lp_validate(const unsigned char *blob, size_t size, int deep,
                           unsigned long *count);
unsigned char *lp_from_blob(const void *blob, size_t size);

#endif
