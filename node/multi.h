/* multi: MULTI/EXEC queues and WATCH (optimistic locking). */
#ifndef SHOAL_MULTI_H
#define SHOAL_MULTI_H
#include <stddef.h>
#include "client.h"
#include "db.h"

/* Queues the current command of a client in MULTI; replies QUEUED. */
void multi_queue(client *c);
/* Marks every client WATCHing key as dirty (EXEC will fail). */
void multi_touch_key(db *d, const char *key, size_t klen);
/* Same for every watched key of db d (FLUSHDB, SWAPDB). */
void multi_touch_db(db *d);
void multi_reset(client *c);        /* drops the queue and the MULTI state */
void multi_unwatch_all(client *c);
long long multi_watched_key_count(void);
#endif
