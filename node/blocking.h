/* blocking: clients waiting on keys (BLPOP, BZPOPMIN, BLMOVE...). A
 * blocked client keeps its command; when one of its keys is written the
 * command is simply run again, in FIFO order of blocking, until it no
 * longer needs to wait. */
#ifndef SHOAL_BLOCKING_H
#define SHOAL_BLOCKING_H
#include <stddef.h>
#include "client.h"
#include "db.h"

/* Blocks c on the given key arguments (argv indexes) until deadline_ms
 * (0 = forever). Called by a handler that found nothing to serve; the
 * handler must not reply. Inside MULTI/EXEC, handlers must not block:
 * they reply with the timeout result instead (check blocking_allowed). */
void blocking_block(client *c, int nkeys, const int *keypos, long long deadline_ms);
int  blocking_allowed(client *c);
/* A write touched key: if clients wait on it, queue it for serving. */
void blocking_signal_key(db *d, const char *key, size_t klen);
/* Retries the commands of clients whose keys became ready. */
void blocking_serve_ready(void);
/* Ends the wait: reply the timeout result (timeout != 0) or nothing. */
void blocking_unblock(client *c, int timeout);
/* CLIENT UNBLOCK id [TIMEOUT|ERROR] */
int  blocking_unblock_by_id(uint64_t id, int with_error);
void blocking_client_freed(client *c);
int  blocking_key_count(void);
#endif
