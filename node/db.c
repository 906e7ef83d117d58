/* db: keyspace operations over kvtable, with lazy and active expiry. */
#include "db.h"
#include "blocking.h"
#include "cmd.h"
#include "evict.h"
#include "mem.h"
#include "multi.h"
#include "obj.h"
#include "server.h"
#include "slot.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

static db *dbs;
static int ndbs;

void db_init_all(int n)
{
    ndbs = n;
    dbs = xcalloc((size_t)n, sizeof(db));
    for (int i = 0; i < n; i++) {
        dbs[i].id = i;
        dbs[i].keys = kvt_new();
        dbs[i].expires = kvt_new();
    }
}

db *db_get(int id) { return (id >= 0 && id < ndbs) ? &dbs[id] : NULL; }
int db_count(void) { return ndbs; }

static void free_value(kv *e) { obj_free_entry_value(e); }

/* Cluster mode keeps every key in the one table, like standalone mode, so a
 * lookup costs what it costs there (bucket, entry: no per-slot table to
 * reach first, which random keys over thousands of slots miss in cache).
 * The keys of one slot (COUNTKEYSINSLOT, GETKEYSINSLOT, dropping a slot
 * that moved away) are a doubly linked list threaded through a header
 * that the table allocates just before each entry. */
typedef struct slot_links {
    kv *prev, *next;
} slot_links;

static inline slot_links *links_of(kv *e) { return (slot_links *)e - 1; }

static void slot_link(db *d, kv *e)
{
    int slot = key_hash_slot(e->key, e->klen);
    slot_links *l = links_of(e);
    l->prev = NULL;
    l->next = d->slot_head[slot];
    if (l->next) links_of(l->next)->prev = e;
    d->slot_head[slot] = e;
    d->slot_count[slot]++;
}

static void slot_unlink(db *d, kv *e)
{
    int slot = key_hash_slot(e->key, e->klen);
    slot_links *l = links_of(e);
    if (l->prev) links_of(l->prev)->next = l->next;
    else d->slot_head[slot] = l->next;
    if (l->next) links_of(l->next)->prev = l->prev;
    d->slot_count[slot]--;
}

static kv *find_key(db *d, const char *key, size_t klen) { return kvt_find(d->keys, key, klen); }

void db_enable_slots(void)
{
    db *d = &dbs[0];
    if (d->slot_head) return;
    d->slot_head = xcalloc(SLOT_COUNT, sizeof(kv *));
    d->slot_count = xcalloc(SLOT_COUNT, sizeof(size_t));
    /* Entries of the new table carry the links; move any keys already
     * there (there are none at start). */
    kvtable *old = d->keys;
    d->keys = kvt_new_prefixed(sizeof(slot_links));
    kvt_iter it;
    kvt_iter_init(&it, old);
    for (kv *e; (e = kvt_iter_next(&it));) {
        kv *n = kvt_add(d->keys, e->key, e->klen);
        n->val = e->val;
        n->type = e->type;
        n->enc = e->enc;
        n->lru = e->lru;
        n->has_expire = e->has_expire;
        slot_link(d, n);
        kvt_free_entry(old, kvt_unlink(old, e->key, e->klen));
    }
    kvt_free(old, NULL);
}

long long db_get_expire(db *d, const kv *e)
{
    if (!e->has_expire) return -1;
    kv *x = kvt_find(d->expires, e->key, e->klen);
    return x ? (long long)(intptr_t)x->val : -1;
}

static void remove_expire(db *d, kv *e)
{
    if (!e->has_expire) return;
    kvt_free_entry(d->expires, kvt_unlink(d->expires, e->key, e->klen));
    e->has_expire = 0;
}

void db_set_expire(db *d, kv *e, long long when)
{
    kv *x = e->has_expire ? kvt_find(d->expires, e->key, e->klen) : NULL;
    if (!x) x = kvt_add(d->expires, e->key, e->klen);
    x->val = (void *)(intptr_t)when;
    e->has_expire = 1;
}

int db_persist(db *d, kv *e)
{
    if (!e->has_expire) return 0;
    remove_expire(d, e);
    return 1;
}

/* Deletes an entry that is known to exist (value freed). */
static void delete_entry(db *d, kv *e)
{
    remove_expire(d, e);
    if (d->slot_head) slot_unlink(d, e);
    kv *u = kvt_unlink(d->keys, e->key, e->klen);
    d->nkeys--;
    obj_free_entry_value(u);
    kvt_free_entry(d->keys, u);
}

int db_expire_if_needed(db *d, kv *e)
{
    if (!e->has_expire || srv.loading) return 0;
    long long when = db_get_expire(d, e);
    if (when < 0 || when > srv.now_ms) return 0;
    /* Expired: delete, and replicate the deletion as an explicit DEL so
     * replicas and the AOF never depend on their own clocks. */
    const char *argv[2] = {"DEL", e->key};
    size_t argl[2] = {3, e->klen};
    char keycopy_small[128];
    char *key = e->klen < sizeof(keycopy_small) ? keycopy_small : xmalloc(e->klen);
    size_t klen = e->klen;
    memcpy(key, e->key, klen);
    argv[1] = key;
    delete_entry(d, e);
    srv.stat.expired_keys++;
    cmd_also_propagate(d->id, 2, argv, argl);
    db_signal_modified(d, key, klen);
    if (key != keycopy_small) xfree(key);
    return 1;
}

kv *db_peek(db *d, const char *key, size_t klen) { return find_key(d, key, klen); }

kv *db_lookup_write(db *d, const char *key, size_t klen)
{
    kv *e = find_key(d, key, klen);
    if (e && db_expire_if_needed(d, e)) return NULL;
    return e;
}

kv *db_lookup_read(db *d, const char *key, size_t klen)
{
    kv *e = db_lookup_write(d, key, klen);
    if (e) {
        srv.stat.keyspace_hits++;
        evict_touch(e);
    } else {
        srv.stat.keyspace_misses++;
    }
    return e;
}

kv *db_add(db *d, const char *key, size_t klen, int type, int enc, void *val)
{
    kv *e = kvt_add(d->keys, key, klen);
    if (d->slot_head) slot_link(d, e);
    d->nkeys++;
    e->type = (uint32_t)type;
    e->enc = (uint32_t)enc;
    e->val = val;
    e->lru = evict_initial_lru();
    return e;
}

void db_replace_value(db *d, kv *e, int type, int enc, void *val)
{
    obj_free_entry_value(e);
    e->type = (uint32_t)type;
    e->enc = (uint32_t)enc;
    e->val = val;
}

kv *db_set(db *d, const char *key, size_t klen, int type, int enc, void *val, int keepttl)
{
    kv *e = db_lookup_write(d, key, klen);
    if (!e) return db_add(d, key, klen, type, enc, val);
    db_replace_value(d, e, type, enc, val);
    if (!keepttl) remove_expire(d, e);
    evict_touch(e);
    return e;
}

int db_delete(db *d, const char *key, size_t klen)
{
    kv *e = db_lookup_write(d, key, klen);
    if (!e) return 0;
    delete_entry(d, e);
    return 1;
}

void db_delete_if_empty(db *d, kv *e, size_t remaining)
{
    if (remaining == 0) delete_entry(d, e);
}

size_t db_size(db *d) { return d->nkeys; }
size_t db_entry_size(db *d, const kv *e) { return kvt_entry_size(d->keys, e); }
size_t db_expires_count(db *d) { return kvt_size(d->expires); }

void db_flush(db *d)
{
    multi_touch_db(d);
    size_t prefix = kvt_prefix(d->keys);
    kvt_free(d->keys, free_value);
    d->keys = prefix ? kvt_new_prefixed(prefix) : kvt_new();
    if (d->slot_head) {
        memset(d->slot_head, 0, SLOT_COUNT * sizeof(kv *));
        memset(d->slot_count, 0, SLOT_COUNT * sizeof(size_t));
    }
    kvt_free(d->expires, NULL);
    d->expires = kvt_new();
    d->nkeys = 0;
    d->avg_ttl = 0;
}

void db_swap(int a, int b)
{
    db tmp = dbs[a];
    multi_touch_db(&dbs[a]);
    multi_touch_db(&dbs[b]);
    /* Keys move, but blocked/watching clients stay with the db index. */
    dbs[a].keys = dbs[b].keys;
    dbs[a].nkeys = dbs[b].nkeys;
    dbs[a].expires = dbs[b].expires;
    dbs[a].avg_ttl = dbs[b].avg_ttl;
    dbs[b].keys = tmp.keys;
    dbs[b].nkeys = tmp.nkeys;
    dbs[b].expires = tmp.expires;
    dbs[b].avg_ttl = tmp.avg_ttl;
}

kv *db_random_key(db *d)
{
    /* A few tries: if every try hits an expired key, say so rather than
     * loop forever on a db of expired keys. */
    for (int tries = 0; tries < 100; tries++) {
        if (!d->nkeys) return NULL;
        kv *e = kvt_random(d->keys);
        if (!e) return NULL;
        if (!db_expire_if_needed(d, e)) return e;
    }
    return NULL;
}

/* Active expiry, Redis's adaptive sampling: take 20 keys with a TTL per
 * round, delete the expired ones, and repeat while more than a quarter of
 * a sample was expired and the time budget allows. */
#define EXPIRE_SAMPLE 20
void db_active_expire_cycle(long long budget_us)
{
    long long start = mono_us();
    for (int i = 0; i < ndbs; i++) {
        db *d = &dbs[i];
        int rounds = 0;
        while (kvt_size(d->expires) > 0) {
            kv *sample[EXPIRE_SAMPLE];
            int n = kvt_sample(d->expires, sample, EXPIRE_SAMPLE);
            int expired = 0;
            /* Copy keys first: deleting invalidates sample entries. */
            char *keys[EXPIRE_SAMPLE];
            size_t lens[EXPIRE_SAMPLE];
            long long whens[EXPIRE_SAMPLE];
            for (int k = 0; k < n; k++) {
                keys[k] = xmemdup(sample[k]->key, sample[k]->klen);
                lens[k] = sample[k]->klen;
                whens[k] = (long long)(intptr_t)sample[k]->val;
            }
            for (int k = 0; k < n; k++) {
                if (whens[k] <= srv.now_ms) {
                    kv *e = find_key(d, keys[k], lens[k]);
                    if (e && db_expire_if_needed(d, e)) expired++;
                }
                xfree(keys[k]);
            }
            rounds++;
            if (n == 0 || expired * 4 < n) break;
            if ((rounds & 15) == 0 && mono_us() - start > budget_us) return;
        }
    }
}

void db_cron(void)
{
    for (int i = 0; i < ndbs; i++) {
        kvt_rehash_step(dbs[i].keys, 100);
        kvt_maybe_shrink(dbs[i].keys);
        kvt_rehash_step(dbs[i].expires, 100);
        kvt_maybe_shrink(dbs[i].expires);
    }
}

void db_signal_modified(db *d, const char *key, size_t klen)
{
    if (d->watched) multi_touch_key(d, key, klen);
    if (d->blocking) blocking_signal_key(d, key, klen);
}

/* ---- whole-db walks --------------------------------------------------- */

void db_iter_init(db_iter *it, db *d) { kvt_iter_init(&it->it, d->keys); }

kv *db_iter_next(db_iter *it) { return kvt_iter_next(&it->it); }

unsigned long long db_scan(db *d, unsigned long long cursor, void (*fn)(void *ctx, kv *e), void *ctx)
{
    return kvt_scan(d->keys, cursor, fn, ctx);
}

int db_sample_keys(db *d, kv **out, int count) { return kvt_sample(d->keys, out, count); }

static int slot_ok(const db *d, int slot) { return d->slot_head && slot >= 0 && slot < SLOT_COUNT; }

size_t db_slot_count(int slot)
{
    db *d = &dbs[0];
    return slot_ok(d, slot) ? d->slot_count[slot] : 0;
}

int db_slot_keys(int slot, int max, void (*fn)(void *ctx, kv *e), void *ctx)
{
    db *d = &dbs[0];
    if (!slot_ok(d, slot)) return 0;
    int n = 0;
    for (kv *e = d->slot_head[slot]; e && n < max; e = links_of(e)->next, n++) fn(ctx, e);
    return n;
}

size_t db_slot_delete_keys(int slot)
{
    db *d = &dbs[0];
    if (!slot_ok(d, slot)) return 0;
    size_t n = 0;
    for (kv *e; (e = d->slot_head[slot]) != NULL; n++) {
        char *key = xmemdup(e->key, e->klen);
        size_t klen = e->klen;
        const char *argv[2] = {"DEL", key};
        size_t argl[2] = {3, klen};
        delete_entry(d, e);
        cmd_also_propagate(0, 2, argv, argl);
        db_signal_modified(d, key, klen);
        xfree(key);
    }
    return n;
}
