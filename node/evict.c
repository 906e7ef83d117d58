/* evict: maxmemory eviction and the LRU/LFU access bookkeeping kept in
 * each key's 24-bit lru field.
 *  - LRU: the field is the LRU clock (seconds, wrapping at 2^24).
 *  - LFU: high 16 bits = last decrement time in minutes, low 8 bits = a
 *    logarithmic access counter (Redis's Morris-counter scheme: the
 *    counter rises with probability 1/((c - 5) * lfu-log-factor + 1) and
 *    decays by one per lfu-decay-time minutes of no access).
 * Eviction samples maxmemory-samples keys per db and evicts the best
 * candidate, repeating until under the limit: approximate, as in Redis. */
#include "evict.h"
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "mem.h"
#include "obj.h"
#include "server.h"
#include <stdlib.h>
#include <string.h>

#define LFU_INIT_VAL 5
#define LRU_CLOCK_MAX ((1u << 24) - 1)

int evict_policy_is_lfu(void)
{
    return cfg.maxmemory_policy == CFG_EVICT_ALLKEYS_LFU || cfg.maxmemory_policy == CFG_EVICT_VOLATILE_LFU;
}

static uint32_t lfu_minutes(void) { return (uint32_t)((srv.now_ms / 60000) & 0xFFFF); }

uint32_t evict_initial_lru(void)
{
    if (evict_policy_is_lfu()) return (lfu_minutes() << 8) | LFU_INIT_VAL;
    return srv.lruclock & LRU_CLOCK_MAX;
}

/* The counter after decay for the minutes since it was last touched. */
static unsigned lfu_decayed(const kv *e)
{
    unsigned ldt = e->lru >> 8, counter = e->lru & 255;
    unsigned now = lfu_minutes();
    unsigned elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
    unsigned periods = cfg.lfu_decay_time ? elapsed / (unsigned)cfg.lfu_decay_time : 0;
    return periods > counter ? 0 : counter - periods;
}

void evict_touch(kv *e)
{
    if (!evict_policy_is_lfu()) {
        e->lru = srv.lruclock & LRU_CLOCK_MAX;
        return;
    }
    unsigned counter = lfu_decayed(e);
    if (counter < 255) {
        double r = (double)rand() / RAND_MAX;
        double base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
        if (r < 1.0 / (base * (double)cfg.lfu_log_factor + 1)) counter++;
    }
    e->lru = (lfu_minutes() << 8) | counter;
}

long long evict_idle_seconds(const kv *e)
{
    uint32_t now = srv.lruclock & LRU_CLOCK_MAX;
    return now >= e->lru ? now - e->lru : (LRU_CLOCK_MAX - e->lru) + now;
}

int evict_lfu_freq(kv *e) { return (int)lfu_decayed(e); }

static int volatile_policy(void)
{
    int p = cfg.maxmemory_policy;
    return p == CFG_EVICT_VOLATILE_LRU || p == CFG_EVICT_VOLATILE_LFU || p == CFG_EVICT_VOLATILE_RANDOM ||
           p == CFG_EVICT_VOLATILE_TTL;
}

/* Higher is a better eviction candidate. */
static double score(db *d, kv *e, long long when)
{
    switch (cfg.maxmemory_policy) {
    case CFG_EVICT_ALLKEYS_LRU:
    case CFG_EVICT_VOLATILE_LRU: return (double)evict_idle_seconds(e);
    case CFG_EVICT_ALLKEYS_LFU:
    case CFG_EVICT_VOLATILE_LFU: return 255.0 - lfu_decayed(e);
    case CFG_EVICT_VOLATILE_TTL: return -(double)when;
    default: return (double)rand();
    }
}

/* Samples each db once and keeps the best candidate in *best. Returns the
 * number of keys the sampled tables hold (0: nothing left to evict). */
static size_t sample_round(int vol, kv **best, db **best_db, double *best_score)
{
    int samples = cfg.maxmemory_samples > 0 ? (int)cfg.maxmemory_samples : 5;
    if (samples > 64) samples = 64;
    kv *pick[64];
    size_t total = 0;
    for (int i = 0; i < db_count(); i++) {
        db *d = db_get(i);
        /* Keys through the db API (one table, or one per slot in cluster
         * mode); TTLs live in the single expires table either way. */
        size_t size = vol ? kvt_size(d->expires) : db_size(d);
        if (size == 0) continue;
        total += size;
        int n = vol ? kvt_sample(d->expires, pick, samples) : db_sample_keys(d, pick, samples);
        for (int k = 0; k < n; k++) {
            kv *e = pick[k];
            long long when = -1;
            if (vol) {
                when = (long long)(intptr_t)e->val;
                e = db_peek(d, e->key, e->klen);
                if (!e) continue;
            }
            double s = score(d, e, when);
            if (!*best || s > *best_score) {
                *best = e;
                *best_db = d;
                *best_score = s;
            }
        }
    }
    return total;
}

/* Finds and deletes one key; returns 0 on success, -1 if no candidate. */
static int evict_one(void)
{
    db *best_db = NULL;
    kv *best = NULL;
    double best_score = 0;
    int vol = volatile_policy();
    /* Sampling walks a few consecutive buckets and can come back empty
     * from a sparse table: sample again rather than give up while keys
     * remain (Redis retries the same way). */
    for (int round = 0; !best; round++) {
        if (sample_round(vol, &best, &best_db, &best_score) == 0) return -1;
        if (round == 64 && !best) {
            /* Pathologically sparse: take any key of the first non-empty db. */
            for (int i = 0; i < db_count() && !best; i++) {
                db *d = db_get(i);
                kv *e = NULL;
                if (vol) {
                    e = kvt_random(d->expires);
                    if (e) e = db_peek(d, e->key, e->klen);
                } else if (db_size(d)) {
                    db_iter it; /* first key of the walk: any key will do */
                    db_iter_init(&it, d);
                    e = db_iter_next(&it);
                }
                if (e) {
                    best = e;
                    best_db = d;
                }
            }
            if (!best) return -1;
        }
    }
    size_t klen = best->klen;
    char *key = xmemdup(best->key, klen);
    const char *argv[2] = {"DEL", key};
    size_t argl[2] = {3, klen};
    db_delete(best_db, key, klen);
    srv.stat.evicted_keys++;
    cmd_also_propagate(best_db->id, 2, argv, argl);
    db_signal_modified(best_db, key, klen);
    xfree(key);
    return 0;
}

int evict_free_memory(void)
{
    if (!cfg.maxmemory || srv.loading) return 0;
    /* Guard against spinning forever if freeing doesn't lower the count
     * (e.g. memory held by client buffers): bounded work per call. */
    for (int i = 0; i < 100000 && mem_used() > (size_t)cfg.maxmemory; i++) {
        if (cfg.maxmemory_policy == CFG_EVICT_NOEVICTION) return -1;
        if (evict_one() < 0) return -1;
    }
    return mem_used() > (size_t)cfg.maxmemory ? -1 : 0;
}
