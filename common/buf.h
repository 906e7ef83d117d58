/* buf: a growable byte buffer with a read offset, used for query buffers,
 * reply buffers and bus frames. Owner calls buf_free. */
#ifndef SHOAL_BUF_H
#define SHOAL_BUF_H
#include <stddef.h>

typedef struct buf {
    char  *p;     /* data starts at p + off */
    size_t off;   /* bytes already consumed from the front */
    size_t len;   /* bytes written, counted from p (so unread = len - off) */
    size_t cap;
} buf_t;

void buf_init(buf_t *b);
void buf_free(buf_t *b);
/* Make room for at least `extra` more bytes after len. */
void buf_reserve(buf_t *b, size_t extra);
void buf_append(buf_t *b, const void *data, size_t n);
void buf_append_str(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Unread bytes. */
static inline size_t buf_unread(const buf_t *b) { return b->len - b->off; }
static inline char *buf_rptr(const buf_t *b) { return b->p + b->off; }
/* Mark n bytes read; resets to empty when everything was read. */
void buf_consume(buf_t *b, size_t n);
/* Move unread bytes to the front (keeps memory, drops the consumed prefix). */
void buf_compact(buf_t *b);
/* Insert n bytes at absolute position pos (<= len), shifting the tail. */
void buf_insert(buf_t *b, size_t pos, const void *data, size_t n);
/* LEB128-style varint (7 bits a byte, low bits first), used by the DUMP
 * bodies of the aggregate types. varint_read returns 1 and advances *p, or
 * 0 if the bytes end or the value exceeds 64 bits. */
void buf_append_varint(buf_t *b, unsigned long long v);
int  varint_read(const unsigned char **p, const unsigned char *end, unsigned long long *out);
/* Drop everything; free the memory when it grew beyond keep bytes. */
void buf_reset(buf_t *b, size_t keep);

#endif
