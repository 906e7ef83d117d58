/* blocking: see blocking.h. Waiters per key are kept in FIFO order in
 * db->blocking (key -> clist). A write to such a key puts it on the ready
 * list; after the command, each waiter's own command is run again in
 * order: it either serves itself (and the client is unblocked) or finds
 * nothing and keeps its place in line. */
#include "blocking.h"
#include "clist.h"
#include "cmd.h"
#include "cmdtable.h"
#include "mem.h"
#include "net.h"
#include "obj.h"
#include "reply.h"
#include "server.h"
#include <event2/event.h>
#include <string.h>

typedef struct bstate {
    int      dbid;
    int      nkeys;
    char   **keys;
    size_t  *klens;
    int      want_type;     /* OBJ_LIST or OBJ_ZSET */
    int      reblocked;     /* set when a retried command blocked again */
    struct event *timer;
} bstate;

typedef struct ready_key { int dbid; char *key; size_t klen; } ready_key;
static ready_key *ready;
static int nready, capready;
static int serving;
static int nblocked_keys;

int blocking_key_count(void) { return nblocked_keys; }

int blocking_allowed(client *c)
{
    return !(c->flags & (CLIENT_EXECUTING | CLIENT_MULTI));
}

/* The type a blocked command waits for: sorted-set pops wait for zsets. */
static int wanted_type(const cmd_meta *m)
{
    return (m->name[0] == 'b' && m->name[1] == 'z') ? OBJ_ZSET : OBJ_LIST;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    client *c = arg;
    server_update_clock();
    blocking_unblock(c, 1);
    net_resume_client(c);
}

void blocking_block(client *c, int nkeys, const int *keypos, long long deadline_ms)
{
    if (c->flags & CLIENT_REEXEC) {
        /* A retry that found nothing: keep the original place in line. */
        ((bstate *)c->bstate)->reblocked = 1;
        return;
    }
    bstate *b = xcalloc(1, sizeof(*b));
    db *d = c->db;
    b->dbid = d->id;
    b->want_type = wanted_type(c->cmd);
    b->keys = xmalloc(sizeof(char *) * (size_t)nkeys);
    b->klens = xmalloc(sizeof(size_t) * (size_t)nkeys);
    if (!d->blocking) d->blocking = kvt_new();
    for (int i = 0; i < nkeys; i++) {
        const char *k = ARG(c, keypos[i]);
        size_t kl = ARGLEN(c, keypos[i]);
        int dup = 0;
        for (int j = 0; j < b->nkeys; j++)
            if (b->klens[j] == kl && memcmp(b->keys[j], k, kl) == 0) dup = 1;
        if (dup) continue;
        b->keys[b->nkeys] = xmemdup(k, kl);
        b->klens[b->nkeys] = kl;
        b->nkeys++;
        kv *e = kvt_find(d->blocking, k, kl);
        if (!e) {
            e = kvt_add(d->blocking, k, kl);
            e->val = clist_new();
            nblocked_keys++;
        }
        clist_push(e->val, c);
    }
    if (deadline_ms > 0) {
        long long ms = deadline_ms - srv.now_ms;
        if (ms < 0) ms = 0;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        b->timer = evtimer_new(srv.base, on_timeout, c);
        evtimer_add(b->timer, &tv);
    }
    c->bstate = b;
    c->flags |= CLIENT_BLOCKED;
    srv.blocked_clients++;
    client_own_argv(c, &c->owned);
}

static void remove_waiter(client *c)
{
    bstate *b = c->bstate;
    db *d = db_get(b->dbid);
    for (int i = 0; i < b->nkeys; i++) {
        kv *e = d->blocking ? kvt_find(d->blocking, b->keys[i], b->klens[i]) : NULL;
        if (e) {
            clist_remove(e->val, c);
            if (((clist *)e->val)->n == 0) {
                clist_free(e->val);
                kvt_free_entry(d->blocking, kvt_unlink(d->blocking, b->keys[i], b->klens[i]));
                nblocked_keys--;
            }
        }
        xfree(b->keys[i]);
    }
    if (b->timer) event_free(b->timer);
    xfree(b->keys);
    xfree(b->klens);
    xfree(b);
    c->bstate = NULL;
}

/* The reply a blocking command gives when its timeout expires: a null
 * array for every blocking command in Redis 7.0, BLMOVE included. */
static void reply_timeout(client *c) { reply_null_array(c); }

void blocking_unblock(client *c, int timeout)
{
    if (!(c->flags & CLIENT_BLOCKED)) return;
    remove_waiter(c);
    c->flags &= ~(CLIENT_BLOCKED | CLIENT_REEXEC);
    srv.blocked_clients--;
    if (timeout) {
        reply_timeout(c);
        cmd_stats_of(c->cmd)->calls++;
    }
    owned_cmd_free(&c->owned);
    c->argc = 0;
}

int blocking_unblock_by_id(uint64_t id, int with_error)
{
    client *c = client_by_id(id);
    if (!c || !(c->flags & CLIENT_BLOCKED)) return 0;
    if (with_error) {
        blocking_unblock(c, 0);
        reply_error(c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else {
        blocking_unblock(c, 1);
    }
    /* Its pipelined input resumes on the next event for this client. */
    net_resume_client(c);
    return 1;
}

void blocking_client_freed(client *c)
{
    if (c->bstate) {
        remove_waiter(c);
        if (c->flags & CLIENT_BLOCKED) srv.blocked_clients--;
        c->flags &= ~CLIENT_BLOCKED;
    }
}

void blocking_signal_key(db *d, const char *key, size_t klen)
{
    if (!d->blocking || !kvt_find(d->blocking, key, klen)) return;
    for (int i = 0; i < nready; i++)
        if (ready[i].dbid == d->id && ready[i].klen == klen && memcmp(ready[i].key, key, klen) == 0) return;
    if (nready == capready) {
        capready = capready ? capready * 2 : 8;
        ready = xrealloc(ready, sizeof(*ready) * (size_t)capready);
    }
    ready[nready++] = (ready_key){d->id, xmemdup(key, klen), klen};
}

/* Retry the waiters of one ready key, oldest first, while the key still
 * holds a value of the type they wait for. */
static void serve_key(ready_key *rk)
{
    db *d = db_get(rk->dbid);
    for (;;) {
        kv *e = d->blocking ? kvt_find(d->blocking, rk->key, rk->klen) : NULL;
        if (!e) return;
        clist *l = e->val;
        int progressed = 0;
        for (int i = 0; i < l->n; i++) {
            client *c = l->v[i];
            bstate *b = c->bstate;
            kv *val = db_peek(d, rk->key, rk->klen);
            if (!val || (int)val->type != b->want_type) return;
            b->reblocked = 0;
            c->flags |= CLIENT_REEXEC;
            c->argc = c->owned.argc;
            c->argv = (const char **)c->owned.argv;
            c->argvlen = c->owned.argvlen;
            c->cmd = c->owned.cmd ? c->owned.cmd : c->cmd;
            cmd_call(c);
            c->flags &= ~CLIENT_REEXEC;
            if (b->reblocked) continue;
            /* Served: the client leaves every list it waited in. */
            srv.stat.blocked_keys_served++;
            remove_waiter(c);
            c->flags &= ~CLIENT_BLOCKED;
            srv.blocked_clients--;
            owned_cmd_free(&c->owned);
            c->argc = 0;
            net_resume_client(c);
            progressed = 1;
            break; /* the list changed under us: start over */
        }
        if (!progressed) return;
    }
}

void blocking_serve_ready(void)
{
    if (serving || nready == 0) return;
    serving = 1;
    /* Serving may make more keys ready (BLMOVE pushes): loop until calm. */
    while (nready) {
        ready_key *batch = ready;
        int n = nready;
        ready = NULL;
        nready = capready = 0;
        for (int i = 0; i < n; i++) {
            serve_key(&batch[i]);
            xfree(batch[i].key);
        }
        xfree(batch);
    }
    serving = 0;
}
