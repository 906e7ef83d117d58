/* multi: MULTI/EXEC/DISCARD and WATCH/UNWATCH.
 * WATCH keeps two indexes: per db, key -> clients watching it (so a write
 * finds its watchers in O(1)), and per client the list of its watched
 * keys (so UNWATCH and disconnect are cheap). */
#include "multi.h"
#include "clist.h"
#include "cmd.h"
#include "mem.h"
#include "reply.h"
#include "server.h"
#include <string.h>

/* existed: present and live when WATCHed. expired: present but already
 * logically expired then, so its deletion by expiry is no change. */
typedef struct wkey { int dbid; char *key; size_t klen; int existed, expired; } wkey;
typedef struct wlist { int n, cap; wkey *v; } wlist;

static long long nwatched_keys; /* distinct (db, key) pairs watched by anyone */

long long multi_watched_key_count(void) { return nwatched_keys; }

void multi_queue(client *c)
{
    if (c->mcount == c->mcap) {
        c->mcap = c->mcap ? c->mcap * 2 : 8;
        c->mqueue = xrealloc(c->mqueue, sizeof(owned_cmd) * (size_t)c->mcap);
    }
    owned_cmd *o = &c->mqueue[c->mcount++];
    client_own_argv(c, o);
    o->cmd = c->cmd;
    reply_status(c, "QUEUED");
}

void multi_reset(client *c)
{
    for (int i = 0; i < c->mcount; i++) owned_cmd_free(&c->mqueue[i]);
    xfree(c->mqueue);
    c->mqueue = NULL;
    c->mcount = c->mcap = 0;
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS);
}

static void touch_list(clist *l)
{
    for (int i = 0; i < l->n; i++) l->v[i]->flags |= CLIENT_DIRTY_CAS;
}

static wkey *find_wkey(client *c, int dbid, const char *key, size_t klen)
{
    wlist *w = c->watched;
    for (int i = 0; w && i < w->n; i++)
        if (w->v[i].dbid == dbid && w->v[i].klen == klen && memcmp(w->v[i].key, key, klen) == 0)
            return &w->v[i];
    return NULL;
}

/* Redis 7.0's rule: a key that was already expired when WATCHed counts as
 * missing, so its deletion (by expiry, active or lazy) changes nothing for
 * that watcher; any other touch, such as a new value, does. */
void multi_touch_key(db *d, const char *key, size_t klen)
{
    if (!d->watched) return;
    kv *e = kvt_find(d->watched, key, klen);
    if (!e) return;
    clist *l = e->val;
    int gone = db_peek(d, key, klen) == NULL;
    for (int i = 0; i < l->n; i++) {
        wkey *wk = find_wkey(l->v[i], d->id, key, klen);
        if (wk && wk->expired) {
            wk->expired = 0; /* from now on it is simply missing */
            if (gone) continue;
        }
        l->v[i]->flags |= CLIENT_DIRTY_CAS;
    }
}

void multi_touch_db(db *d)
{
    if (!d->watched) return;
    kvt_iter it;
    kvt_iter_init(&it, d->watched);
    for (kv *e; (e = kvt_iter_next(&it));) touch_list(e->val);
}

void multi_unwatch_all(client *c)
{
    wlist *w = c->watched;
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        db *d = db_get(w->v[i].dbid);
        kv *e = d && d->watched ? kvt_find(d->watched, w->v[i].key, w->v[i].klen) : NULL;
        if (e) {
            clist_remove(e->val, c);
            if (((clist *)e->val)->n == 0) {
                clist_free(e->val);
                kv *u = kvt_unlink(d->watched, w->v[i].key, w->v[i].klen);
                kvt_free_entry(d->watched, u);
                nwatched_keys--;
            }
        }
        xfree(w->v[i].key);
    }
    xfree(w->v);
    xfree(w);
    c->watched = NULL;
}

static void watch_key(client *c, const char *key, size_t klen)
{
    if (find_wkey(c, c->db->id, key, klen)) return;
    wlist *w = c->watched;
    if (!w) w = c->watched = xcalloc(1, sizeof(wlist));
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->v = xrealloc(w->v, sizeof(wkey) * (size_t)w->cap);
    }
    db *d = c->db;
    kv *cur = db_peek(d, key, klen);
    long long when = cur ? db_get_expire(d, cur) : -1;
    int live = cur && (when < 0 || when > srv.now_ms);
    w->v[w->n++] = (wkey){d->id, xmemdup(key, klen), klen, live, cur && !live};
    if (!d->watched) d->watched = kvt_new();
    kv *e = kvt_find(d->watched, key, klen);
    if (!e) {
        e = kvt_add(d->watched, key, klen);
        nwatched_keys++;
        e->val = clist_new();
    }
    clist_push(e->val, c);
}

/* A key that existed when WATCHed and has logically expired since is a
 * change too (Redis 7.0 behaviour), even if nobody touched it yet. */
static int watched_key_expired(client *c)
{
    wlist *w = c->watched;
    if (!w) return 0;
    for (int i = 0; i < w->n; i++) {
        if (!w->v[i].existed) continue;
        db *d = db_get(w->v[i].dbid);
        kv *e = db_peek(d, w->v[i].key, w->v[i].klen);
        if (!e) continue;
        long long when = db_get_expire(d, e);
        if (when >= 0 && when <= srv.now_ms) return 1;
    }
    return 0;
}

static void multi_cmd(client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->flags |= CLIENT_MULTI;
    reply_ok(c);
}

static void discard_cmd(client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    multi_reset(c);
    multi_unwatch_all(c);
    reply_ok(c);
}

static void exec_cmd(client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (c->flags & CLIENT_DIRTY_EXEC) {
        reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        multi_reset(c);
        multi_unwatch_all(c);
        return;
    }
    if ((c->flags & CLIENT_DIRTY_CAS) || watched_key_expired(c)) {
        reply_null_array(c);
        multi_reset(c);
        multi_unwatch_all(c);
        return;
    }
    multi_unwatch_all(c);
    /* Run the queue. The EXEC command's own argv is restored afterwards
     * because the dispatcher still refers to it. */
    int argc = c->argc;
    const char **argv = c->argv;
    size_t *argvlen = c->argvlen;
    const cmd_meta *self = c->cmd;
    owned_cmd *q = c->mqueue;
    int n = c->mcount;
    c->mqueue = NULL;
    c->mcount = c->mcap = 0;
    c->flags &= ~CLIENT_MULTI;
    c->flags |= CLIENT_EXECUTING;
    reply_array(c, n);
    for (int i = 0; i < n; i++) {
        c->argc = q[i].argc;
        c->argv = (const char **)q[i].argv;
        c->argvlen = q[i].argvlen;
        c->cmd = q[i].cmd;
        cmd_call(c);
    }
    c->flags &= ~CLIENT_EXECUTING;
    for (int i = 0; i < n; i++) owned_cmd_free(&q[i]);
    xfree(q);
    c->argc = argc;
    c->argv = argv;
    c->argvlen = argvlen;
    c->cmd = self;
}

static void watch_cmd(client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++) watch_key(c, ARG(c, i), ARGLEN(c, i));
    reply_ok(c);
}

static void unwatch_cmd(client *c)
{
    multi_unwatch_all(c);
    c->flags &= ~CLIENT_DIRTY_CAS;
    reply_ok(c);
}

const cmd_binding multi_commands[] = {
    {"multi", multi_cmd},
    {"exec", exec_cmd},
    {"discard", discard_cmd},
    {"watch", watch_cmd},
    {"unwatch", unwatch_cmd},
    {NULL, NULL},
};
