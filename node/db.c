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

/* The table a key lives in: the db's single table, or its slot's table
 * in cluster mode (created when create != 0). */
static kvtable *table_for(db *d, const char *key, size_t klen, int create)
{
    if (!d->slot_keys) return d->keys;
    int slot = key_hash_slot(key, klen);
    if (!d->slot_keys[slot] && create) d->slot_keys[slot] = kvt_new();
    return d->slot_keys[slot];
}

static kv *find_key(db *d, const char *key, size_t klen)
{
    kvtable *t = table_for(d, key, klen, 0);
    return t ? kvt_find(t, key, klen) : NULL;
}

void db_enable_slots(void)
{
    db *d = &dbs[0];
    if (d->slot_keys) return;
    d->slot_keys = xcalloc(SLOT_COUNT, sizeof(kvtable *));
    /* Move any keys already there (there are none at start). */
    kvt_iter it;
    kvt_iter_init(&it, d->keys);
    for (kv *e; (e = kvt_iter_next(&it));) {
        kv *n = kvt_add(table_for(d, e->key, e->klen, 1), e->key, e->klen);
        n->val = e->val;
        n->type = e->type;
        n->enc = e->enc;
        n->lru = e->lru;
        n->has_expire = e->has_expire;
        kvt_free_entry(kvt_unlink(d->keys, e->key, e->klen));
    }
    kvt_free(d->keys, NULL);
    d->keys = NULL;
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
    kv *x = kvt_unlink(d->expires, e->key, e->klen);
    if (x) kvt_free_entry(x);
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
    kv *u = kvt_unlink(table_for(d, e->key, e->klen, 0), e->key, e->klen);
    d->nkeys--;
    obj_free_entry_value(u);
    kvt_free_entry(u);
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
    kv *e = kvt_add(table_for(d, key, klen, 1), key, klen);
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
size_t db_expires_count(db *d) { return kvt_size(d->expires); }

void db_flush(db *d)
{
    multi_touch_db(d);
    if (d->slot_keys) {
        for (int s = 0; s < SLOT_COUNT; s++) {
            if (d->slot_keys[s]) kvt_free(d->slot_keys[s], free_value);
            d->slot_keys[s] = NULL;
        }
    } else {
        kvt_free(d->keys, free_value);
        d->keys = kvt_new();
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
        kv *e = NULL;
        if (!d->nkeys) return NULL;
        if (!d->slot_keys) {
            e = kvt_random(d->keys);
        } else {
            /* Random slot among the non-empty ones, then a key in it:
             * slightly favours keys of sparse slots, as Redis 7.0 does. */
            for (int k = 0; k < 64 * SLOT_COUNT && !e; k++) {
                kvtable *t = d->slot_keys[rand() % SLOT_COUNT];
                if (t && kvt_size(t)) e = kvt_random(t);
            }
        }
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
        if (dbs[i].keys) {
            kvt_rehash_step(dbs[i].keys, 100);
            kvt_maybe_shrink(dbs[i].keys);
        }
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

void db_iter_init(db_iter *it, db *d)
{
    it->d = d;
    it->slot = -1;
    it->started = 0;
}

kv *db_iter_next(db_iter *it)
{
    db *d = it->d;
    if (!d->slot_keys) {
        if (!it->started) {
            kvt_iter_init(&it->it, d->keys);
            it->started = 1;
        }
        return kvt_iter_next(&it->it);
    }
    for (;;) {
        if (it->slot >= 0 && it->started) {
            kv *e = kvt_iter_next(&it->it);
            if (e) return e;
        }
        do {
            it->slot++;
        } while (it->slot < SLOT_COUNT && (!d->slot_keys[it->slot] || !kvt_size(d->slot_keys[it->slot])));
        if (it->slot >= SLOT_COUNT) return NULL;
        kvt_iter_init(&it->it, d->slot_keys[it->slot]);
        it->started = 1;
    }
}

unsigned long long db_scan(db *d, unsigned long long cursor, void (*fn)(void *ctx, kv *e), void *ctx)
{
    if (!d->slot_keys) return kvt_scan(d->keys, cursor, fn, ctx);
    int slot = (int)(cursor & (SLOT_COUNT - 1));
    unsigned long long tc = cursor >> 14;
    /* Skip empty slots in one call so a sparse db still makes progress. */
    while (!d->slot_keys[slot] || !kvt_size(d->slot_keys[slot])) {
        if (++slot == SLOT_COUNT) return 0;
        tc = 0;
    }
    tc = kvt_scan(d->slot_keys[slot], tc, fn, ctx);
    if (tc == 0) {
        if (++slot == SLOT_COUNT) return 0;
        return (unsigned long long)slot;
    }
    return (tc << 14) | (unsigned long long)slot;
}

int db_sample_keys(db *d, kv **out, int count)
{
    if (!d->slot_keys) return kvt_sample(d->keys, out, count);
    if (!d->nkeys) return 0;
    for (int tries = 0; tries < 1024; tries++) {
        kvtable *t = d->slot_keys[rand() % SLOT_COUNT];
        if (t && kvt_size(t)) return kvt_sample(t, out, count);
    }
    return 0;
}

size_t db_slot_count(int slot)
{
    db *d = &dbs[0];
    if (!d->slot_keys || slot < 0 || slot >= SLOT_COUNT || !d->slot_keys[slot]) return 0;
    return kvt_size(d->slot_keys[slot]);
}

int db_slot_keys(int slot, int max, void (*fn)(void *ctx, kv *e), void *ctx)
{
    db *d = &dbs[0];
    if (!d->slot_keys || slot < 0 || slot >= SLOT_COUNT || !d->slot_keys[slot]) return 0;
    kvt_iter it;
    kvt_iter_init(&it, d->slot_keys[slot]);
    int n = 0;
    for (kv *e; n < max && (e = kvt_iter_next(&it)); n++) fn(ctx, e);
    return n;
}

size_t db_slot_delete_keys(int slot)
{
    db *d = &dbs[0];
    if (!d->slot_keys || slot < 0 || slot >= SLOT_COUNT || !d->slot_keys[slot]) return 0;
    size_t n = 0;
    kvtable *t = d->slot_keys[slot];
    while (kvt_size(t)) {
        kvt_iter it;
        kvt_iter_init(&it, t);
        kv *e = kvt_iter_next(&it);
        char *key = xmemdup(e->key, e->klen);
        size_t klen = e->klen;
        const char *argv[2] = {"DEL", key};
        size_t argl[2] = {3, klen};
        delete_entry(d, e);
        cmd_also_propagate(0, 2, argv, argl);
        db_signal_modified(d, key, klen);
        xfree(key);
        n++;
    }
    return n;
}
