/* dict: a generic hash table keyed by binary strings, for the big
 * encodings of hashes, sets and sorted sets and for internal maps
 * (pub/sub channels, blocked keys...).
 *
 * Each entry is ONE allocation holding the key bytes (not NUL-terminated)
 * and, depending on the dict's kind fixed at creation:
 *   DICT_SET   - no value (sets): 12 bytes + key.
 *   DICT_MAP   - an 8-byte value, pointer / double / int64 (zset member ->
 *                skiplist node, channel -> client list...): 20 bytes + key.
 *   DICT_BYTES - a byte-string value stored inline (hash field -> value):
 *                16 bytes + key + value. Setting a value may move the entry.
 * Incremental rehashing (one bucket step per find/add/delete), power-of-
 * two sizes, grow at load factor 1, shrink below 10% on delete.
 *
 * Pointer rules: an entry pointer stays valid until that entry is deleted,
 * except that dict_set_bytes / dict_upsert_bytes may return a new address
 * for a DICT_BYTES entry (the old pointer is then invalid). Key and value
 * views (dict_key, dict_bytes) live as long as the entry.
 * Ownership: the dict owns its entries; a DICT_MAP value is the caller's
 * business (free it before deleting the entry, or pass free_val). */
#ifndef SHOAL_DICT_H
#define SHOAL_DICT_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct dict dict;

enum { DICT_SET = 0, DICT_MAP = 1, DICT_BYTES = 2 };

/* Longest key (30 bits of the entry header); callers keep keys under it
 * (proto-max-bulk-len is 512 MB by default). BYTES values may reach 4 GB. */
#define DICT_MAX_KEY ((1u << 30) - 1)

typedef union dict_val {
    void   *p;
    double  d;
    int64_t i;
} dict_val;

/* Layout is private to dict.c: use the accessors below. */
typedef struct dict_entry {
    struct dict_entry *next;
    uint32_t hdr;              /* key length | kind << 30 */
    unsigned char data[];      /* SET: key; MAP: value(8), key; BYTES: vlen(4), key, value */
} dict_entry;

static inline int dict_entry_kind(const dict_entry *e) { return (int)(e->hdr >> 30); }
static inline size_t dict_klen(const dict_entry *e) { return e->hdr & DICT_MAX_KEY; }
/* The key bytes (klen of them, no NUL). */
static inline const char *dict_key(const dict_entry *e)
{
    unsigned k = e->hdr >> 30;           /* SET 0, MAP 8, BYTES 4 bytes of value header */
    return (const char *)e->data + (k & 1) * 8 + (k & 2) * 2;
}
/* DICT_MAP values (the 8 bytes are unaligned, hence memcpy). */
static inline dict_val dict_get_val(const dict_entry *e) { dict_val v; memcpy(&v, e->data, 8); return v; }
static inline void  *dict_get_p(const dict_entry *e) { return dict_get_val(e).p; }
static inline double dict_get_d(const dict_entry *e) { return dict_get_val(e).d; }
static inline int64_t dict_get_i(const dict_entry *e) { return dict_get_val(e).i; }
static inline void dict_set_val(dict_entry *e, dict_val v) { memcpy(e->data, &v, 8); }
static inline void dict_set_p(dict_entry *e, void *p) { dict_val v; v.p = p; dict_set_val(e, v); }
static inline void dict_set_d(dict_entry *e, double d) { dict_val v; v.d = d; dict_set_val(e, v); }
static inline void dict_set_i(dict_entry *e, int64_t i) { dict_val v; v.i = i; dict_set_val(e, v); }
/* DICT_BYTES value: *vlen bytes (no NUL). */
static inline const char *dict_bytes(const dict_entry *e, size_t *vlen)
{
    uint32_t l;
    memcpy(&l, e->data, 4);
    *vlen = l;
    return (const char *)e->data + 4 + dict_klen(e);
}

dict    *dict_new(int kind);
/* Frees every entry (free_val, may be NULL, is called on each first) and d. */
void     dict_free(dict *d, void (*free_val)(dict_entry *e));
/* Removes every entry, keeps d usable (and empty, with no buckets). */
void     dict_clear(dict *d, void (*free_val)(dict_entry *e));
/* Deep copy. dup_val (may be NULL) fixes up each copied entry's value:
 * without it a DICT_MAP copy shares the 8 value bytes verbatim. */
dict    *dict_dup(const dict *d, void (*dup_val)(dict_entry *copy, const dict_entry *orig));
int      dict_kind(const dict *d);
size_t   dict_size(const dict *d);
/* Struct plus bucket arrays; entries are mem_alloc_size(entry) each. */
size_t   dict_overhead(const dict *d);
/* Pre-sizes for n entries (e.g. when converting from a listpack). */
void     dict_expand(dict *d, size_t n);
/* Process-wide switch, as kvt_set_resize_allowed. */
void     dict_set_resize_allowed(int allowed);

/* Lookup; NULL if absent. */
dict_entry *dict_find(dict *d, const void *key, size_t klen);
/* Adds a key that must not exist; the value is zero (MAP) / empty (BYTES). */
dict_entry *dict_add(dict *d, const void *key, size_t klen);
/* Finds the key or adds it (value zero / empty); *existed tells which. */
dict_entry *dict_add_or_find(dict *d, const void *key, size_t klen, int *existed);
/* Unlinks the entry for key and returns it (the caller releases any value,
 * then calls dict_free_entry), or NULL if absent. */
dict_entry *dict_unlink(dict *d, const void *key, size_t klen);
/* Unlinks a known entry (e.g. found through a skiplist node). */
void     dict_unlink_entry(dict *d, dict_entry *e);
void     dict_free_entry(dict_entry *e);
/* Unlinks and frees; returns 1 if the key existed. (The value is not
 * released: use dict_unlink for MAP values that own memory.)
 * dict_unlink / dict_unlink_entry / dict_delete may start shrinking the
 * table: while iterating, delete with dict_iter_delete instead. */
int      dict_delete(dict *d, const void *key, size_t klen);

/* DICT_BYTES: sets e's value; returns the entry's possibly new address. */
dict_entry *dict_set_bytes(dict *d, dict_entry *e, const void *v, size_t vlen);
/* DICT_BYTES: HSET in one lookup; *created (may be NULL) = 1 if new. */
dict_entry *dict_upsert_bytes(dict *d, const void *key, size_t klen,
                              const void *v, size_t vlen, int *created);

/* SSCAN/HSCAN/ZSCAN: calls fn on the entries of the bucket(s) at cursor
 * and returns the next cursor (0 = done). Every entry present for the
 * whole scan is returned at least once, across resizes and rehashing;
 * some may be returned twice. fn must not change the dict. */
unsigned long dict_scan(dict *d, unsigned long cursor,
                        void (*fn)(void *ctx, const dict_entry *e), void *ctx);

/* A random entry, close to uniform (NULL if empty). */
dict_entry *dict_random(dict *d);
/* Up to count DISTINCT entries from a random stretch of buckets: cheap,
 * not uniform (for eviction-style sampling). Returns how many. */
unsigned long dict_sample(dict *d, dict_entry **out, unsigned long count);
/* min(count, size) distinct entries, each subset equally likely
 * (SRANDMEMBER / SPOP / HRANDFIELD / ZRANDMEMBER with a positive count),
 * in random order. Returns how many were stored in out. For a negative
 * count (repeats allowed) call dict_random in a loop. */
unsigned long dict_random_distinct(dict *d, dict_entry **out, unsigned long count);

/* Full iteration. Deleting the entry just returned is allowed through
 * dict_iter_delete (only); nothing else may change the dict meanwhile.
 * dict_iter_init completes any pending rehash, so nothing moves during the
 * walk; stopping early needs no cleanup. */
typedef struct dict_iter {
    dict *d;
    int table;
    unsigned long bucket;
    dict_entry *cur, *next;
} dict_iter;
void        dict_iter_init(dict_iter *it, dict *d);
dict_entry *dict_iter_next(dict_iter *it);
/* Unlinks and frees the entry last returned (release its value first). */
void        dict_iter_delete(dict_iter *it);

#endif
