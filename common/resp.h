/* resp: the RESP request parser (multibulk and inline) and the reply
 * writer (RESP2, and RESP3 when proto == 3). Shared by node and proxy. */
#ifndef SHOAL_RESP_H
#define SHOAL_RESP_H
#include <stddef.h>
#include "buf.h"

/* ---- Request parser -------------------------------------------------
 * Streaming: call resp_parse() with the unread bytes of the query buffer.
 * It keeps its progress, so a command arriving in many reads is scanned
 * once. Arguments are recorded as offsets relative to the start of the
 * command (the `data` passed in), so the caller may move the buffer
 * between calls as long as the command's first byte stays first. */
enum { RESP_INCOMPLETE = 0, RESP_DONE = 1, RESP_PROTO_ERR = -1 };

typedef struct resp_parser {
    /* limits */
    long long max_bulk;     /* proto-max-bulk-len */
    size_t    max_inline;   /* longest inline line (64 KiB in Redis) */
    int       unauth;       /* client not authenticated yet: tiny limits */
    /* progress of the command being parsed */
    int       multibulk;    /* -1 unknown yet, 0 inline, >0 number of args */
    int       argc;         /* args completed so far */
    long long bulklen;      /* length of the bulk being read, -1 if header */
    size_t    pos;          /* scan position relative to command start */
    size_t    need;         /* total bytes the current bulk needs (hint) */
    int       argcap;
    size_t   *argoff;       /* argument offsets from command start */
    size_t   *arglen;
    const char *err;        /* set on RESP_PROTO_ERR: Redis's message */
    char        errbuf[64];
    /* filled on RESP_DONE: borrowed views, valid until the caller moves
     * the buffer or calls resp_parse again */
    const char **argv;
    size_t     *argvlen;
    char       *scratch;    /* inline args after unquoting (owned) */
    size_t      scratch_cap;
} resp_parser;

void resp_parser_init(resp_parser *p, long long max_bulk);
void resp_parser_free(resp_parser *p);
/* Parse from data[0..len). On RESP_DONE, *consumed is the command's total
 * length and argoff/arglen/argc describe it; call resp_parser_reset before
 * the next command. An empty inline line yields RESP_DONE with argc 0.
 * On RESP_INCOMPLETE, `need` may say how many bytes in total the command
 * needs at least (so the caller can size its buffer once). */
int  resp_parse(resp_parser *p, const char *data, size_t len, size_t *consumed);
void resp_parser_reset(resp_parser *p);

/* ---- Reply writer ---------------------------------------------------
 * All functions append to a buf_t. `proto` is 2 or 3. */
void resp_w_status(buf_t *b, const char *s, size_t len);   /* +s */
void resp_w_status_cstr(buf_t *b, const char *s);
void resp_w_error(buf_t *b, const char *s, size_t len);    /* -s (full text) */
void resp_w_error_cstr(buf_t *b, const char *s);
void resp_w_int(buf_t *b, long long v);                    /* :v */
void resp_w_bulk(buf_t *b, const void *p, size_t len);     /* $len p */
void resp_w_bulk_cstr(buf_t *b, const char *s);
void resp_w_bulk_ll(buf_t *b, long long v);                /* integer as bulk */
void resp_w_null(buf_t *b, int proto);                     /* $-1 | _ */
void resp_w_null_array(buf_t *b, int proto);               /* *-1 | _ */
void resp_w_array(buf_t *b, long long n);                  /* *n */
void resp_w_map(buf_t *b, int proto, long long n);         /* %n | *2n */
void resp_w_set(buf_t *b, int proto, long long n);         /* ~n | *n */
void resp_w_push(buf_t *b, int proto, long long n);        /* >n | *n */
void resp_w_double(buf_t *b, int proto, double d);         /* ,d | bulk */
void resp_w_bool(buf_t *b, int proto, int v);              /* #t/#f | :1/:0 */
void resp_w_verbatim(buf_t *b, int proto, const char *p, size_t len); /* =txt: | bulk */
/* A header whose count is not known yet: resp_w_defer() returns a mark;
 * resp_w_defer_fill() inserts "<type><n>\r\n" there later. type is one of
 * '*', '%', '~', '>' and is downgraded for proto 2 ('%' doubles n). */
size_t resp_w_defer(buf_t *b);
void resp_w_defer_fill(buf_t *b, size_t mark, int proto, char type, long long n);

#endif
