/* evict: maxmemory enforcement with Redis's sampled eviction policies. */
#ifndef SHOAL_EVICT_H
#define SHOAL_EVICT_H
#include <stdint.h>
#include "kv.h"

/* Frees keys per maxmemory-policy until used memory is under maxmemory.
 * Returns 0 if under the limit (or no limit), -1 if it could not get there. */
int  evict_free_memory(void);
/* Access bookkeeping for a key (LRU clock or LFU counter). */
void evict_touch(kv *e);
/* Initial LRU/LFU field for a new key. */
uint32_t evict_initial_lru(void);
/* OBJECT IDLETIME (seconds) and OBJECT FREQ. */
long long evict_idle_seconds(const kv *e);
int evict_lfu_freq(kv *e);
int evict_policy_is_lfu(void);
#endif
