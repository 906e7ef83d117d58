/* pubsub: SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE, PUBLISH/SPUBLISH and PUBSUB.
 * Server side: name -> clist of subscribers (kvtable per kind). Client
 * side: the set of names it is subscribed to, so counts and UNSUBSCRIBE
 * with no arguments are cheap. */
#include "pubsub.h"
#include "clist.h"
#include "cluster.h"
#include "cmd.h"
#include "kv.h"
#include "mem.h"
#include "reply.h"
#include "server.h"
#include "slot.h"
#include "util.h"
#include <string.h>

enum { PS_CHANNEL, PS_PATTERN, PS_SHARD, PS_KINDS };
static kvtable *subs[PS_KINDS];   /* name -> clist */
static const char *const sub_word[PS_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_word[PS_KINDS] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

static kvtable **client_set(client *c, int kind)
{
    return kind == PS_CHANNEL ? &c->channels : kind == PS_PATTERN ? &c->patterns : &c->shard_channels;
}

/* The count in (un)subscribe replies: shard subscriptions are counted on
 * their own, channels and patterns together (Redis 7.0). */
static long long reply_count(client *c, int kind)
{
    if (kind == PS_SHARD) return c->shard_channels ? (long long)kvt_size(c->shard_channels) : 0;
    return (c->channels ? (long long)kvt_size(c->channels) : 0) + (c->patterns ? (long long)kvt_size(c->patterns) : 0);
}

static void update_mode(client *c)
{
    int n = client_subscription_count(c);
    if (n && !(c->flags & CLIENT_PUBSUB)) {
        c->flags |= CLIENT_PUBSUB;
        srv.pubsub_clients++;
    } else if (!n && (c->flags & CLIENT_PUBSUB)) {
        c->flags &= ~CLIENT_PUBSUB;
        srv.pubsub_clients--;
    }
}

static void notify(client *c, const char *word, const char *name, size_t nlen, long long count)
{
    reply_push(c, 3);
    reply_bulk_cstr(c, word);
    if (name) reply_bulk(c, name, nlen);
    else reply_null(c);
    reply_int(c, count);
}

static void subscribe(client *c, int kind, const char *name, size_t nlen)
{
    kvtable **mine = client_set(c, kind);
    if (!*mine) *mine = kvt_new();
    if (!kvt_find(*mine, name, nlen)) {
        kvt_add(*mine, name, nlen);
        if (!subs[kind]) subs[kind] = kvt_new();
        kv *e = kvt_find(subs[kind], name, nlen);
        if (!e) {
            e = kvt_add(subs[kind], name, nlen);
            e->val = clist_new();
        }
        clist_push(e->val, c);
    }
    update_mode(c);
    notify(c, sub_word[kind], name, nlen, reply_count(c, kind));
}

/* Removes one subscription; returns 1 if the client had it. */
static int unsubscribe(client *c, int kind, const char *name, size_t nlen, int notify_client)
{
    kvtable *mine = *client_set(c, kind);
    int had = 0;
    if (mine) {
        kv *m = kvt_unlink(mine, name, nlen);
        if (m) {
            kvt_free_entry(mine, m);
            had = 1;
            kv *e = kvt_find(subs[kind], name, nlen);
            if (e) {
                clist_remove(e->val, c);
                if (((clist *)e->val)->n == 0) {
                    clist_free(e->val);
                    kvt_free_entry(subs[kind], kvt_unlink(subs[kind], name, nlen));
                }
            }
        }
    }
    update_mode(c);
    if (notify_client) notify(c, unsub_word[kind], name, nlen, reply_count(c, kind));
    return had;
}

static void unsubscribe_all(client *c, int kind, int notify_client)
{
    kvtable *mine = *client_set(c, kind);
    size_t n = mine ? kvt_size(mine) : 0;
    if (n == 0) {
        if (notify_client) notify(c, unsub_word[kind], NULL, 0, reply_count(c, kind));
        return;
    }
    /* Copy the names in one walk (unsubscribing edits the table being
     * walked), then drop them one by one: linear in the subscriptions. */
    char **names = xmalloc(sizeof(char *) * n);
    size_t *lens = xmalloc(sizeof(size_t) * n), k = 0;
    kvt_iter it;
    kvt_iter_init(&it, mine);
    for (kv *e; k < n && (e = kvt_iter_next(&it));) {
        names[k] = xmemdup(e->key, e->klen);
        lens[k++] = e->klen;
    }
    for (size_t i = 0; i < k; i++) {
        unsubscribe(c, kind, names[i], lens[i], notify_client);
        xfree(names[i]);
    }
    xfree(names);
    xfree(lens);
}

void pubsub_client_freed(client *c)
{
    for (int k = 0; k < PS_KINDS; k++) {
        unsubscribe_all(c, k, 0);
        kvtable **mine = client_set(c, k);
        if (*mine) kvt_free(*mine, NULL);
        *mine = NULL;
    }
}

static void deliver(client *c, const char *word, const char *pat, size_t patlen,
                    const char *ch, size_t chlen, const char *msg, size_t msglen)
{
    /* A push to another client: bypass CLIENT REPLY OFF of that client? No:
     * Redis delivers messages regardless of the receiver's reply mode. */
    uint32_t saved = c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP);
    c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP);
    reply_push(c, pat ? 4 : 3);
    reply_bulk_cstr(c, word);
    if (pat) reply_bulk(c, pat, patlen);
    reply_bulk(c, ch, chlen);
    reply_bulk(c, msg, msglen);
    c->flags |= saved;
}

static long long publish_kind(int kind, const char *ch, size_t chlen, const char *msg, size_t msglen)
{
    long long n = 0;
    int ck = kind == PS_SHARD ? PS_SHARD : PS_CHANNEL;
    kv *e = subs[ck] ? kvt_find(subs[ck], ch, chlen) : NULL;
    if (e) {
        clist *l = e->val;
        for (int i = 0; i < l->n; i++)
            deliver(l->v[i], ck == PS_SHARD ? "smessage" : "message", NULL, 0, ch, chlen, msg, msglen);
        n += l->n;
    }
    if (kind != PS_SHARD && subs[PS_PATTERN]) {
        kvt_iter it;
        kvt_iter_init(&it, subs[PS_PATTERN]);
        for (kv *p; (p = kvt_iter_next(&it));) {
            if (!glob_match(p->key, p->klen, ch, chlen, 0)) continue;
            clist *l = p->val;
            for (int i = 0; i < l->n; i++) deliver(l->v[i], "pmessage", p->key, p->klen, ch, chlen, msg, msglen);
            n += l->n;
        }
    }
    return n;
}

long long pubsub_publish(const char *ch, size_t chlen, const char *msg, size_t msglen)
{
    return publish_kind(PS_CHANNEL, ch, chlen, msg, msglen);
}

long long pubsub_publish_shard(const char *ch, size_t chlen, const char *msg, size_t msglen)
{
    return publish_kind(PS_SHARD, ch, chlen, msg, msglen);
}

/* Cluster mode: this shard lost `slot`; its shard-channel subscribers are
 * told "sunsubscribe", as Redis does, and follow the slot elsewhere. */
void pubsub_drop_shard_channels_in_slot(int slot)
{
    if (!subs[PS_SHARD]) return;
    for (;;) {
        kv *found = NULL;
        kvt_iter it;
        kvt_iter_init(&it, subs[PS_SHARD]);
        for (kv *e; (e = kvt_iter_next(&it));)
            if (key_hash_slot(e->key, e->klen) == slot) { found = e; break; }
        if (!found) return;
        char *name = xmemdup(found->key, found->klen);
        size_t nlen = found->klen;
        clist *l = found->val;
        while (l && l->n) {
            client *c = l->v[0];
            unsubscribe(c, PS_SHARD, name, nlen, 1);
            kv *again = kvt_find(subs[PS_SHARD], name, nlen);
            l = again ? again->val : NULL;
        }
        xfree(name);
    }
}

size_t pubsub_channel_count(void) { return subs[PS_CHANNEL] ? kvt_size(subs[PS_CHANNEL]) : 0; }
size_t pubsub_pattern_count(void) { return subs[PS_PATTERN] ? kvt_size(subs[PS_PATTERN]) : 0; }
size_t pubsub_shard_channel_count(void) { return subs[PS_SHARD] ? kvt_size(subs[PS_SHARD]) : 0; }

/* (P|S)SUBSCRIBE is allowed inside MULTI too (the confirmations become
 * EXEC's reply elements), as in Redis 7.0 for ordinary clients. */
static void sub_generic(client *c, int kind)
{
    for (int i = 1; i < c->argc; i++) subscribe(c, kind, ARG(c, i), ARGLEN(c, i));
}

static void unsub_generic(client *c, int kind)
{
    if (c->argc == 1) unsubscribe_all(c, kind, 1);
    else
        for (int i = 1; i < c->argc; i++) unsubscribe(c, kind, ARG(c, i), ARGLEN(c, i), 1);
}

static void subscribe_cmd(client *c) { sub_generic(c, PS_CHANNEL); }
static void psubscribe_cmd(client *c) { sub_generic(c, PS_PATTERN); }
static void ssubscribe_cmd(client *c) { sub_generic(c, PS_SHARD); }
static void unsubscribe_cmd(client *c) { unsub_generic(c, PS_CHANNEL); }
static void punsubscribe_cmd(client *c) { unsub_generic(c, PS_PATTERN); }
static void sunsubscribe_cmd(client *c) { unsub_generic(c, PS_SHARD); }

/* In cluster mode PUBLISH reaches every node over the bus (§20) and
 * SPUBLISH the nodes of the channel's shard; the reply counts local
 * receivers only, as in Redis. */
static void publish_cmd(client *c)
{
    if (cluster) cluster_propagate_publish(ARG(c, 1), ARGLEN(c, 1), ARG(c, 2), ARGLEN(c, 2), 0);
    reply_int(c, publish_kind(PS_CHANNEL, ARG(c, 1), ARGLEN(c, 1), ARG(c, 2), ARGLEN(c, 2)));
}

static void spublish_cmd(client *c)
{
    if (cluster) cluster_propagate_publish(ARG(c, 1), ARGLEN(c, 1), ARG(c, 2), ARGLEN(c, 2), 1);
    reply_int(c, publish_kind(PS_SHARD, ARG(c, 1), ARGLEN(c, 1), ARG(c, 2), ARGLEN(c, 2)));
}

static void list_channels(client *c, int kind)
{
    const char *pat = c->argc > 2 ? ARG(c, 2) : NULL;
    size_t plen = c->argc > 2 ? ARGLEN(c, 2) : 0;
    if (c->argc > 3) {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try PUBSUB HELP.",
                     (int)(ARGLEN(c, 1) > 128 ? 128 : ARGLEN(c, 1)), ARG(c, 1));
        return;
    }
    size_t mark = reply_defer(c);
    long long n = 0;
    if (subs[kind]) {
        kvt_iter it;
        kvt_iter_init(&it, subs[kind]);
        for (kv *e; (e = kvt_iter_next(&it));) {
            if (pat && !glob_match(pat, plen, e->key, e->klen, 0)) continue;
            reply_bulk(c, e->key, e->klen);
            n++;
        }
    }
    reply_defer_set(c, mark, '*', n);
}

static void numsub(client *c, int kind)
{
    /* A flat name/count array even in RESP3 (Redis 7.0 does not send a map). */
    reply_array(c, 2 * (long long)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        kv *e = subs[kind] ? kvt_find(subs[kind], ARG(c, i), ARGLEN(c, i)) : NULL;
        reply_bulk(c, ARG(c, i), ARGLEN(c, i));
        reply_int(c, e ? ((clist *)e->val)->n : 0);
    }
}

static void pubsub_channels_cmd(client *c) { list_channels(c, PS_CHANNEL); }
static void pubsub_shardchannels_cmd(client *c) { list_channels(c, PS_SHARD); }
static void pubsub_numsub_cmd(client *c) { numsub(c, PS_CHANNEL); }
static void pubsub_shardnumsub_cmd(client *c) { numsub(c, PS_SHARD); }
static void pubsub_numpat_cmd(client *c) { reply_int(c, (long long)pubsub_pattern_count()); }

static void pubsub_help_cmd(client *c)
{
    static const char *lines[] = {
        "PUBSUB <subcommand> [<arg> ...]. Subcommands:",
        "CHANNELS [<pattern>] -- active channels, optionally filtered by a glob pattern.",
        "NUMPAT -- how many pattern subscriptions exist.",
        "NUMSUB [<channel> ...] -- subscriber count of each channel (patterns not counted).",
        "SHARDCHANNELS [<pattern>] -- active shard channels, optionally filtered.",
        "SHARDNUMSUB [<shardchannel> ...] -- subscriber count of each shard channel.",
        "HELP -- this text.",
    };
    int n = (int)(sizeof(lines) / sizeof(lines[0]));
    reply_array(c, n);
    for (int i = 0; i < n; i++) reply_status(c, lines[i]);
}

const cmd_binding pubsub_commands[] = {
    {"subscribe", subscribe_cmd},
    {"psubscribe", psubscribe_cmd},
    {"ssubscribe", ssubscribe_cmd},
    {"unsubscribe", unsubscribe_cmd},
    {"punsubscribe", punsubscribe_cmd},
    {"sunsubscribe", sunsubscribe_cmd},
    {"publish", publish_cmd},
    {"spublish", spublish_cmd},
    {"pubsub|channels", pubsub_channels_cmd},
    {"pubsub|shardchannels", pubsub_shardchannels_cmd},
    {"pubsub|numsub", pubsub_numsub_cmd},
    {"pubsub|shardnumsub", pubsub_shardnumsub_cmd},
    {"pubsub|numpat", pubsub_numpat_cmd},
    {"pubsub|help", pubsub_help_cmd},
    {NULL, NULL},
};
