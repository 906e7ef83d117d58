/* client: one connection — its buffers, protocol state, and modes
 * (MULTI, blocked, pub/sub). Reading/writing lives in net.c. */
#ifndef SHOAL_CLIENT_H
#define SHOAL_CLIENT_H
#include <stdint.h>
#include <stddef.h>
#include "buf.h"
#include "resp.h"

struct event;
struct db;
struct cmd_meta;
typedef struct kvtable kvtable;

enum {
    CLIENT_MULTI = 1 << 0,         /* inside MULTI */
    CLIENT_DIRTY_CAS = 1 << 1,     /* a WATCHed key changed */
    CLIENT_DIRTY_EXEC = 1 << 2,    /* a command failed while queueing */
    CLIENT_BLOCKED = 1 << 3,       /* waiting on keys (BLPOP...) */
    CLIENT_PUBSUB = 1 << 4,        /* RESP2 subscriber context */
    CLIENT_CLOSE_AFTER_REPLY = 1 << 5,
    CLIENT_CLOSE_ASAP = 1 << 6,
    CLIENT_AUTHENTICATED = 1 << 7,
    CLIENT_REPLY_OFF = 1 << 8,     /* CLIENT REPLY OFF */
    CLIENT_REPLY_SKIP_NEXT = 1 << 9,
    CLIENT_REPLY_SKIP = 1 << 10,   /* skip the reply of the current command */
    CLIENT_PENDING_WRITE = 1 << 11,/* on the pending-write list */
    CLIENT_PAUSED = 1 << 12,       /* held by CLIENT PAUSE */
    CLIENT_READONLY = 1 << 13,     /* cluster READONLY */
    CLIENT_ASKING = 1 << 14,       /* cluster ASKING */
    CLIENT_EXECUTING = 1 << 15,    /* inside EXEC */
    CLIENT_REEXEC = 1 << 16,       /* blocked command being retried */
    CLIENT_NO_EVICT = 1 << 17,
    CLIENT_IN_LOOP = 1 << 18,      /* its commands are being processed: defer free */
    CLIENT_PROTECTED = 1 << 19,
};

/* A command kept beyond the query buffer's life (MULTI queue, blocked). */
typedef struct owned_cmd {
    const struct cmd_meta *cmd;
    int     argc;
    char  **argv;
    size_t *argvlen;
} owned_cmd;

typedef struct client {
    uint64_t   id;
    int        fd;
    uint32_t   flags;
    int        proto;            /* 2 or 3 (HELLO) */
    struct db *db;
    struct event *rev, *wev;     /* libevent read / write events */

    buf_t       qbuf;            /* query buffer */
    resp_parser parser;
    buf_t       obuf;            /* replies not yet written */
    size_t      obuf_written;    /* bytes of obuf already sent */

    /* The command being executed: borrowed views into qbuf, or into
     * `owned` when the command outlives the buffer. */
    int          argc;
    const char **argv;
    size_t      *argvlen;
    const struct cmd_meta *cmd, *lastcmd;
    owned_cmd    owned;          /* argv copy for a blocked command */

    char      *name;             /* CLIENT SETNAME */
    char      *lib_name, *lib_ver;
    char       addr[64], laddr[64];
    long long  ctime_ms, last_ms; /* connected at, last interaction */
    long long  active_ms;        /* the millisecond srv.busy last counted it in */
    long long  obuf_soft_since;  /* when the soft output limit was first exceeded */
    int        resp_err_sent;

    /* MULTI */
    owned_cmd *mqueue;
    int        mcount, mcap;
    void      *watched;          /* keys this client WATCHes; owned by multi.c */

    /* blocking: see blocking.c */
    void      *bstate;
    /* pub/sub: see pubsub.c */
    kvtable   *channels, *patterns, *shard_channels; /* names -> NULL */

    struct client *prev, *next;  /* all clients */
    struct client *pw_next;      /* pending-write list */
} client;

/* Views of the current args; valid for the command's execution. */
#define ARG(c, i) ((c)->argv[i])
#define ARGLEN(c, i) ((c)->argvlen[i])

client *client_new(int fd);
/* Closes the connection and frees the client (deferred if it is the one
 * whose input is being processed). */
void client_free(client *c);
void client_close_async(client *c);
/* Copies the current argv into owned storage (before blocking/queueing). */
void client_own_argv(client *c, owned_cmd *dst);
void owned_cmd_free(owned_cmd *o);
/* CLIENT LIST / INFO line for one client. */
void client_info_line(client *c, buf_t *out);
client *client_by_id(uint64_t id);
/* Number of pub/sub subscriptions (channels + patterns + shard channels). */
int client_subscription_count(client *c);

#endif
