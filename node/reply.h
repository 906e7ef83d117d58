/* reply: what command handlers call to answer a client. Wraps the RESP
 * writer with the client's protocol version, CLIENT REPLY modes, error
 * statistics and output-buffer limits. */
#ifndef SHOAL_REPLY_H
#define SHOAL_REPLY_H
#include <stddef.h>
#include "client.h"
#include "kv.h"

/* Redis 7.0's shared error texts. */
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_NO_KEY "ERR no such key"
#define ERR_OVERFLOW "ERR increment or decrement would overflow"
#define ERR_OUT_OF_RANGE "ERR index out of range"
#define ERR_BAD_DB "ERR DB index is out of range"
#define ERR_TIMEOUT_NEG "ERR timeout is negative"
#define ERR_TIMEOUT_BAD "ERR timeout is not a float or out of range"

void reply_ok(client *c);                                 /* +OK */
void reply_status(client *c, const char *s);              /* +s */
void reply_error(client *c, const char *msg);             /* full text incl. prefix, e.g. "ERR ..." */
void reply_errorf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_wrongtype(client *c);
void reply_syntax_err(client *c);
void reply_arity_err(client *c);                          /* uses c->cmd's full name */
void reply_int(client *c, long long v);
void reply_bulk(client *c, const void *p, size_t len);
void reply_bulk_cstr(client *c, const char *s);
void reply_bulk_ll(client *c, long long v);
void reply_bulk_kv_str(client *c, const struct kv *e);    /* a string value */
void reply_null(client *c);                               /* nil bulk / RESP3 null */
void reply_null_array(client *c);                         /* nil array / RESP3 null */
void reply_array(client *c, long long n);
void reply_map(client *c, long long n);                   /* n pairs */
void reply_set(client *c, long long n);
void reply_push(client *c, long long n);
void reply_double(client *c, double d);
void reply_bool(client *c, int v);
void reply_verbatim(client *c, const char *p, size_t len);
void reply_empty_array(client *c);
/* Deferred-length aggregates: mark = reply_defer(c); ...; reply_defer_set(c, mark, '*', n). */
size_t reply_defer(client *c);
void reply_defer_set(client *c, size_t mark, char type, long long n);
/* Raw protocol bytes (already encoded). */
void reply_raw(client *c, const void *p, size_t len);
/* Appends to c's output even if c is not the current client (pub/sub,
 * unblocking): queues c for writing. */
void reply_schedule(client *c);

/* Argument parsing that replies with Redis's error on failure.
 * Return 0 on success, -1 after replying an error. */
int arg_ll(client *c, int i, long long *out);
/* A SCAN-family cursor, read as Redis does (strtoul); replies the error. */
int arg_scan_cursor(client *c, int i, unsigned long long *cursor);
int arg_ll_range(client *c, int i, long long min, long long max, long long *out, const char *errmsg);
int arg_double(client *c, int i, double *out);
int arg_ldouble(client *c, int i, long double *out);
/* Blocking-command timeout in seconds (float) -> absolute ms, 0 = forever. */
int arg_timeout(client *c, int i, long long *deadline_ms);

#endif
