/* db: the keyspace of one logical database — key lookup with lazy
 * expiry, TTLs, and the signals a write sends to WATCH and blocked
 * clients. Command code reads and writes keys only through here. */
#ifndef SHOAL_DB_H
#define SHOAL_DB_H
#include <stddef.h>
#include "kv.h"

typedef struct db {
    int       id;
    kvtable  *keys;        /* all keys */
    kv      **slot_head;   /* cluster mode (db 0): each slot's keys, a list
                            * threaded through the entries' prefix headers;
                            * NULL in standalone mode */
    size_t   *slot_count;  /* cluster mode: keys per slot */
    size_t    nkeys;       /* total keys */
    kvtable  *expires;     /* same key bytes -> absolute ms in e->val */
    kvtable  *blocking;    /* key -> clist of clients blocked on it (blocking.c) */
    kvtable  *watched;     /* key -> clist of clients WATCHing it (multi.c) */
    unsigned long long expire_cursor; /* active-expiry scan position */
    long long avg_ttl;
} db;

struct client;

void db_init_all(int n);
db  *db_get(int id);          /* NULL if out of range */
int  db_count(void);

/* Lookups expire the key lazily first. _read counts keyspace hits/misses
 * and bumps the LRU/LFU clock; _write does neither (as Redis). */
kv  *db_lookup_read(db *d, const char *key, size_t klen);
kv  *db_lookup_write(db *d, const char *key, size_t klen);
/* Lookup without side effects (no expiry, no stats): for TYPE-less peeks. */
kv  *db_peek(db *d, const char *key, size_t klen);
/* Adds a new key (must not exist) with the given value; returns the entry. */
kv  *db_add(db *d, const char *key, size_t klen, int type, int enc, void *val);
/* Replace the value of an existing entry (frees the old one). TTL kept. */
void db_replace_value(db *d, kv *e, int type, int enc, void *val);
/* SET semantics: create or overwrite; clears the TTL unless keepttl. */
kv  *db_set(db *d, const char *key, size_t klen, int type, int enc, void *val, int keepttl);
/* Bytes allocated for the entry itself (key, header, links; not the value). */
size_t db_entry_size(db *d, const kv *e);
/* Deletes key; returns 1 if it existed. */
int  db_delete(db *d, const char *key, size_t klen);
/* Removes a key whose value became empty (last list element popped...). */
void db_delete_if_empty(db *d, kv *e, size_t remaining);

/* TTL: absolute unix ms; -1 = none. */
long long db_get_expire(db *d, const kv *e);
void db_set_expire(db *d, kv *e, long long when_ms);
int  db_persist(db *d, kv *e);    /* 1 if a TTL was removed */
/* Deletes the key if its TTL has passed (counts expired_keys); 1 if it did. */
int  db_expire_if_needed(db *d, kv *e);

size_t db_size(db *d);
size_t db_expires_count(db *d);
void db_flush(db *d);              /* drops every key of this db */
void db_swap(int a, int b);        /* SWAPDB */
kv  *db_random_key(db *d);         /* a non-expired random key or NULL */

/* Whole-keyspace walks. */
typedef struct db_iter { kvt_iter it; } db_iter;
void db_iter_init(db_iter *it, db *d);
kv  *db_iter_next(db_iter *it);   /* deleting the returned key is allowed */
/* SCAN step over the whole db; same guarantees as kvt_scan. */
unsigned long long db_scan(db *d, unsigned long long cursor, void (*fn)(void *ctx, kv *e), void *ctx);
/* Up to count entries sampled from the db (eviction). */
int  db_sample_keys(db *d, kv **out, int count);

/* Cluster mode: the keys of one hash slot (db 0). */
size_t db_slot_count(int slot);
/* Calls fn for up to max keys of the slot; returns how many. */
int  db_slot_keys(int slot, int max, void (*fn)(void *ctx, kv *e), void *ctx);
/* Deletes every key of the slot (it moved to another node). */
size_t db_slot_delete_keys(int slot);
/* Starts db 0's per-slot key lists; called once at start in cluster mode. */
void db_enable_slots(void);

/* Active expiry: one cycle over all dbs, bounded by time_budget_us. */
void db_active_expire_cycle(long long time_budget_us);
/* Incremental rehash / shrink work from the cron. */
void db_cron(void);

/* A write changed `key`: invalidate WATCHers and wake clients blocked on
 * it. The dispatcher calls this for the keys of every write that changed
 * something; code deleting keys behind a command's back (expiry, eviction,
 * FLUSHDB) calls it too. */
void db_signal_modified(db *d, const char *key, size_t klen);

#endif
