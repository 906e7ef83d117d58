/* kv: one key of the keyspace, and the hash table that holds them.
 *
 * The key bytes live inside the entry (one allocation per key, no separate
 * key string), and the entry carries the value's type, encoding and the
 * LRU/LFU clock, so a string key costs one entry plus its value. Entries
 * never move once inserted: pointers to them stay valid until deleted.
 * Incremental rehashing spreads the cost of growing a big table over
 * many operations, as Redis does. */
#ifndef SHOAL_KV_H
#define SHOAL_KV_H
#include <stddef.h>
#include <stdint.h>

typedef struct kv {
    struct kv *next;          /* hash chain */
    void      *val;           /* type-specific payload, see obj.h */
    uint32_t   lru : 24;      /* LRU clock (seconds) or LFU (16-bit time + 8-bit counter) */
    uint32_t   type : 4;      /* OBJ_STRING, OBJ_LIST, ... */
    uint32_t   enc : 4;       /* OBJ_ENC_... */
    uint32_t   klen : 31;
    uint32_t   has_expire : 1;/* an entry in the db's expires table exists */
    char       key[];         /* klen bytes, then a NUL (handy for logs) */
} kv;

typedef struct kvtable kvtable;

kvtable *kvt_new(void);
/* A table whose entries each carry `prefix` bytes (a multiple of 16) just
 * before them, for the owner's own per-entry links (the db's slot lists). */
kvtable *kvt_new_prefixed(size_t prefix);
size_t   kvt_prefix(const kvtable *t);
/* Bytes allocated for entry e (its prefix included). */
size_t   kvt_entry_size(const kvtable *t, const kv *e);
/* Frees every entry; free_val (may be NULL) releases each entry's value first. */
void     kvt_free(kvtable *t, void (*free_val)(kv *e));
size_t   kvt_size(const kvtable *t);
/* Bytes used by the bucket arrays (for MEMORY/INFO). */
size_t   kvt_overhead(const kvtable *t);
kv      *kvt_find(kvtable *t, const char *key, size_t klen);
/* Adds a new entry for a key that must not exist; val NULL, type/enc 0. */
kv      *kvt_add(kvtable *t, const char *key, size_t klen);
/* Unlinks the entry for key and returns it (caller frees it with kvt_free_entry
 * after releasing its value), or NULL if absent. */
kv      *kvt_unlink(kvtable *t, const char *key, size_t klen);
void     kvt_free_entry(const kvtable *t, kv *e);  /* NULL is a no-op */
/* SCAN: visits every entry of the buckets at `cursor`, returns the next
 * cursor (0 when done). Reverse-binary cursor increments guarantee that an
 * element present for the whole scan is returned at least once, even if
 * the table grows or shrinks between calls. fn may unlink and free the
 * entry it is given (lazy expiry), but must not touch other entries. */
unsigned long long kvt_scan(kvtable *t, unsigned long long cursor,
                            void (*fn)(void *ctx, kv *e), void *ctx);
/* A random entry (NULL if empty). */
kv      *kvt_random(kvtable *t);
/* Up to `count` entries sampled from consecutive random buckets (for
 * eviction and active expiry); returns how many were stored in out. */
int      kvt_sample(kvtable *t, kv **out, int count);
/* Do up to n buckets of pending incremental rehash; returns 1 if more remains. */
int      kvt_rehash_step(kvtable *t, int n);
/* Shrink the table if it is mostly empty (called from the cron). */
void     kvt_maybe_shrink(kvtable *t);
/* Pre-sizes the table for n keys (e.g. before loading a dump). */
void     kvt_expand(kvtable *t, size_t n);
/* Process-wide: 0 discourages growing/shrinking (while a fork child
 * shares memory, as Redis does); tables still grow past load factor 5. */
void     kvt_set_resize_allowed(int allowed);
/* Full iteration. Deleting the entry just returned (kvt_unlink +
 * kvt_free_entry) is allowed; adding entries, or running kvt_maybe_shrink,
 * during an iteration is not. kvt_iter_init finishes any pending rehash so
 * nothing moves during the walk; stopping early needs no cleanup. */
typedef struct kvt_iter { kvtable *t; int table; size_t bucket; kv *next; } kvt_iter;
void     kvt_iter_init(kvt_iter *it, kvtable *t);
kv      *kvt_iter_next(kvt_iter *it);

#endif
