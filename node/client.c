/* client: creation, teardown and introspection of client connections. */
#include "client.h"
#include "blocking.h"
#include "db.h"
#include "kv.h"
#include "mem.h"
#include "multi.h"
#include "pubsub.h"
#include "server.h"
#include "util.h"
#include "config.h"
#include "cmdtable.h"
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

client *client_new(int fd)
{
    client *c = xcalloc(1, sizeof(*c));
    c->id = ++srv.next_client_id;
    c->fd = fd;
    c->proto = 2;
    c->db = db_get(0);
    buf_init(&c->qbuf);
    buf_init(&c->obuf);
    resp_parser_init(&c->parser, cfg.proto_max_bulk_len);
    c->ctime_ms = c->last_ms = srv.now_ms;
    if (!cfg.requirepass || !*cfg.requirepass) c->flags |= CLIENT_AUTHENTICATED;
    c->next = srv.clients;
    if (srv.clients) srv.clients->prev = c;
    srv.clients = c;
    srv.nclients++;
    return c;
}

void owned_cmd_free(owned_cmd *o)
{
    for (int i = 0; i < o->argc; i++) xfree(o->argv[i]);
    xfree(o->argv);
    xfree(o->argvlen);
    memset(o, 0, sizeof(*o));
}

void client_own_argv(client *c, owned_cmd *dst)
{
    owned_cmd tmp = {0};
    tmp.cmd = c->cmd;
    tmp.argc = c->argc;
    tmp.argv = xmalloc(sizeof(char *) * (size_t)(c->argc ? c->argc : 1));
    tmp.argvlen = xmalloc(sizeof(size_t) * (size_t)(c->argc ? c->argc : 1));
    for (int i = 0; i < c->argc; i++) {
        tmp.argv[i] = xmemdup(c->argv[i], c->argvlen[i]);
        tmp.argvlen[i] = c->argvlen[i];
    }
    if (dst == &c->owned) {
        owned_cmd_free(&c->owned);
        c->owned = tmp;
        c->argv = (const char **)c->owned.argv;
        c->argvlen = c->owned.argvlen;
    } else {
        *dst = tmp;
    }
}

void client_close_async(client *c)
{
    c->flags |= CLIENT_CLOSE_ASAP;
}

void client_free(client *c)
{
    if (c->flags & CLIENT_IN_LOOP) {
        c->flags |= CLIENT_CLOSE_ASAP;
        return;
    }
    if (c->flags & CLIENT_BLOCKED) blocking_unblock(c, 0);
    blocking_client_freed(c);
    multi_reset(c);
    multi_unwatch_all(c);
    pubsub_client_freed(c);
    if (c->flags & CLIENT_PENDING_WRITE) {
        client **pp = &srv.pending_writes;
        while (*pp && *pp != c) pp = &(*pp)->pw_next;
        if (*pp) *pp = c->pw_next;
    }
    if (c->prev) c->prev->next = c->next;
    else srv.clients = c->next;
    if (c->next) c->next->prev = c->prev;
    srv.nclients--;
    if (srv.current == c) srv.current = NULL;
    if (c->rev) event_free(c->rev);
    if (c->wev) event_free(c->wev);
    if (c->fd >= 0) close(c->fd);
    buf_free(&c->qbuf);
    buf_free(&c->obuf);
    resp_parser_free(&c->parser);
    owned_cmd_free(&c->owned);
    xfree(c->name);
    xfree(c->lib_name);
    xfree(c->lib_ver);
    xfree(c);
}

client *client_by_id(uint64_t id)
{
    for (client *c = srv.clients; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

int client_subscription_count(client *c)
{
    return (int)((c->channels ? kvt_size(c->channels) : 0) +
                 (c->patterns ? kvt_size(c->patterns) : 0) +
                 (c->shard_channels ? kvt_size(c->shard_channels) : 0));
}

static void flag_chars(client *c, char *out)
{
    char *p = out;
    if (c->flags & CLIENT_MULTI) *p++ = 'x';
    if (c->flags & CLIENT_BLOCKED) *p++ = 'b';
    if (c->flags & CLIENT_DIRTY_CAS) *p++ = 'd';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) *p++ = 'c';
    if (c->flags & CLIENT_CLOSE_ASAP) *p++ = 'A';
    if (c->flags & CLIENT_PUBSUB) *p++ = 'P';
    if (c->flags & CLIENT_READONLY) *p++ = 'r';
    if (c->flags & CLIENT_NO_EVICT) *p++ = 'e';
    if (p == out) *p++ = 'N';
    *p = 0;
}

void client_info_line(client *c, buf_t *out)
{
    char flags[16];
    flag_chars(c, flags);
    const char *cmd = "NULL";
    char full[96];
    if (c->lastcmd) cmd = cmd_fullname(c->lastcmd, full, sizeof(full));
    buf_printf(out,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d "
               "sub=%d psub=%d ssub=%d multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu multi-mem=0 "
               "rbs=%zu rbp=%zu obl=0 oll=0 omem=%zu tot-mem=%zu events=r cmd=%s user=default "
               "redir=-1 resp=%d",
               (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
               (srv.now_ms - c->ctime_ms) / 1000, (srv.now_ms - c->last_ms) / 1000, flags,
               c->db ? c->db->id : 0,
               c->channels ? (int)kvt_size(c->channels) : 0,
               c->patterns ? (int)kvt_size(c->patterns) : 0,
               c->shard_channels ? (int)kvt_size(c->shard_channels) : 0,
               (c->flags & CLIENT_MULTI) ? c->mcount : -1,
               buf_unread(&c->qbuf), c->qbuf.cap - c->qbuf.len, (size_t)0,
               c->qbuf.cap, c->qbuf.len, c->obuf.len - c->obuf_written,
               sizeof(*c) + c->qbuf.cap + c->obuf.cap, cmd, c->proto);
}
