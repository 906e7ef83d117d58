/* cluster_redir: which node must serve a command in cluster mode
 * (bus-protocol.md §13). Every key of the command — of every queued
 * command for EXEC — must hash to one slot; that slot's owner, its open
 * (migrating/importing) state, ASKING/READONLY and the cluster state
 * decide between running here, MOVED, ASK, TRYAGAIN, CROSSSLOT and
 * CLUSTERDOWN. The dispatcher (node/cmd.c) asks before running or
 * queueing a command and replies with cluster_reply_redirect. */
#include "cluster.h"
#include "client.h"
#include "cmdtable.h"
#include "config.h"
#include "db.h"
#include "mem.h"
#include "reply.h"
#include "server.h"
#include "slot.h"
#include <stdio.h>
#include <string.h>

/* Commands with special routing, resolved once (this runs per command). */
static const cmd_meta *m_exec, *m_migrate, *m_spublish, *m_ssubscribe, *m_sunsubscribe;

static void resolve_names(void)
{
    if (m_exec) return;
    m_migrate = cmd_lookup("migrate", 7);
    m_spublish = cmd_lookup("spublish", 8);
    m_ssubscribe = cmd_lookup("ssubscribe", 10);
    m_sunsubscribe = cmd_lookup("sunsubscribe", 12);
    m_exec = cmd_lookup("exec", 4);
}

/* Sharded pub/sub routes by channel (a NOT_KEY argument). */
static int is_pubsubshard(const cmd_meta *m)
{
    return m == m_spublish || m == m_ssubscribe || m == m_sunsubscribe;
}

/* A key counts as present only if it exists and is not logically
 * expired; nothing is deleted or counted here (pure peek). */
static int key_present(const char *key, size_t klen)
{
    db *d = db_get(0);
    kv *e = d ? db_peek(d, key, klen) : NULL;
    if (!e) return 0;
    long long when = db_get_expire(d, e);
    return when < 0 || when > srv.now_ms;
}

/* What the slot walk over all commands found. */
typedef struct redir_scan {
    const char *firstkey;
    size_t firstlen;
    int slot;
    cluster_node *owner;
    int migrating, importing, multiple_keys;
    int missing, existing;
    int any_write;
    int err;                   /* REDIR_CROSS_SLOT / REDIR_DOWN_UNBOUND */
} redir_scan;

/* Folds the keys of one command into the scan; 0, or -1 on an error
 * that ends the scan (s->err set). */
static int scan_command(redir_scan *s, const cmd_meta *m, int argc, const char *const *argv,
                        const size_t *argvlen)
{
    cmd_keyref refs[32], *r = refs;
    int shard = is_pubsubshard(m);
    int search = shard ? CMD_GETKEYS_NOT_KEYS : 0;
    int n = cmd_get_keys_ex(m, argc, argv, argvlen, search, refs, 32);
    if (n > 32) {
        r = xmalloc(sizeof(*r) * (size_t)n);
        n = cmd_get_keys_ex(m, argc, argv, argvlen, search, r, n);
    }
    if (m->flags & CMD_F_WRITE) s->any_write = 1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *key = argv[r[i].pos];
        size_t klen = argvlen[r[i].pos];
        int slot = key_hash_slot(key, klen);
        if (!s->firstkey) {
            s->firstkey = key;
            s->firstlen = klen;
            s->slot = slot;
            s->owner = cluster->slots[slot];
            /* Unbound slot: the cluster is down for this request even if
             * the state evaluation has not caught up yet. */
            if (!s->owner) { s->err = REDIR_DOWN_UNBOUND; rc = -1; break; }
            if (s->owner == cluster->myself && cluster->migrating_to[slot]) s->migrating = 1;
            else if (cluster->importing_from[slot]) s->importing = 1;
        } else if (klen != s->firstlen || memcmp(key, s->firstkey, klen) != 0) {
            if (slot != s->slot) { s->err = REDIR_CROSS_SLOT; rc = -1; break; }
            s->multiple_keys = 1;
        }
        /* During resharding only a request whose keys are all here (or
         * all gone) can be answered consistently. Channels are served by
         * the source until the slot is closed, so they are not counted. */
        if ((s->migrating || s->importing) && !shard) {
            if (key_present(key, klen)) s->existing++;
            else s->missing++;
        }
    }
    if (r != refs) xfree(r);
    return rc;
}

cluster_node *cluster_get_node_by_query(struct client *c, const struct cmd_meta *cmd, int argc,
                                        const char **argv, const size_t *argvlen, int *slot, int *err_code)
{
    *err_code = REDIR_NONE;
    if (slot) *slot = 0;
    if (!cluster || !cluster->myself) return NULL;

    resolve_names();
    redir_scan s = {0};
    int shard = is_pubsubshard(cmd);
    if (cmd == m_exec) {
        /* EXEC outside MULTI just errors; inside, every queued command
         * must agree on one slot, exactly as if it were one command. */
        if (!c || !(c->flags & CLIENT_MULTI)) return NULL;
        for (int i = 0; i < c->mcount; i++) {
            owned_cmd *q = &c->mqueue[i];
            if (!q->cmd) continue;
            if (scan_command(&s, q->cmd, q->argc, (const char *const *)q->argv, q->argvlen) < 0) break;
        }
    } else {
        scan_command(&s, cmd, argc, argv, argvlen);
    }
    if (s.err) {
        *err_code = s.err;
        return NULL;
    }
    /* No keys at all: any node can serve it. */
    if (!s.owner) return NULL;

    if (cluster->state != CLUSTER_OK) {
        /* Sharded pub/sub stays available (cluster-allow-pubsubshard-when-down
         * defaults to yes). Reads may be allowed while down; writes never. */
        if (!shard) {
            if (!cfg.cluster_allow_reads_when_down) {
                *err_code = REDIR_DOWN_STATE;
                return NULL;
            }
            if (s.any_write) {
                *err_code = REDIR_DOWN_RO_STATE;
                return NULL;
            }
        }
    }
    if (slot) *slot = s.slot;

    /* MIGRATE moves keys out of an open slot: always local. */
    if ((s.migrating || s.importing) && cmd == m_migrate) return NULL;

    if (s.migrating && s.missing) {
        /* Some keys already moved, some not: no node has them all. */
        if (s.existing) {
            *err_code = REDIR_UNSTABLE;
            return NULL;
        }
        *err_code = REDIR_ASK;
        return cluster->migrating_to[s.slot];
    }

    if (s.importing && c && ((c->flags & CLIENT_ASKING) || (cmd->flags & CMD_F_ASKING))) {
        if (s.multiple_keys && s.missing) {
            *err_code = REDIR_UNSTABLE;
            return NULL;
        }
        return NULL;
    }

    /* A replica serves reads of its master's slots to READONLY clients. */
    cluster_node *me = cluster->myself;
    if (c && ((c->flags & CLIENT_READONLY) || shard) && !s.any_write &&
        (me->flags & BUS_NODE_SLAVE) && me->master == s.owner)
        return NULL;

    if (s.owner == me) return NULL;
    *err_code = REDIR_MOVED;
    return s.owner;
}

void cluster_reply_redirect(struct client *c, cluster_node *n, int slot, int err_code)
{
    switch (err_code) {
    case REDIR_CROSS_SLOT:
        reply_error(c, "CROSSSLOT Keys in request don't hash to the same slot");
        break;
    case REDIR_UNSTABLE:
        reply_error(c, "TRYAGAIN Multiple keys request during rehashing of slot");
        break;
    case REDIR_DOWN_STATE:
        reply_error(c, "CLUSTERDOWN The cluster is down");
        break;
    case REDIR_DOWN_RO_STATE:
        reply_error(c, "CLUSTERDOWN The cluster is down and only accepts read commands");
        break;
    case REDIR_DOWN_UNBOUND:
        reply_error(c, "CLUSTERDOWN Hash slot not served");
        break;
    case REDIR_MOVED:
    case REDIR_ASK:
        if (!n) {   /* cannot happen; never send a malformed redirect */
            reply_error(c, "CLUSTERDOWN Hash slot not served");
            break;
        }
        reply_errorf(c, "%s %d %s:%d", err_code == REDIR_ASK ? "ASK" : "MOVED", slot,
                     cluster_node_endpoint(n), n->port);
        break;
    default:
        break;
    }
}

int cluster_redirect_blocked_client(struct client *c, const char *key, size_t klen)
{
    if (!cluster || !cluster->myself) return 0;
    /* Down: even a reads-when-down cluster would need a write to wake
     * the client, which may never come. */
    if (cluster->state == CLUSTER_FAIL) {
        cluster_reply_redirect(c, NULL, 0, REDIR_DOWN_STATE);
        return 1;
    }
    if (!key) return 0;
    int slot = key_hash_slot(key, klen);
    cluster_node *owner = cluster->slots[slot], *me = cluster->myself;
    const cmd_meta *m = c->cmd ? c->cmd : c->lastcmd;
    if ((c->flags & CLIENT_READONLY) && m && !(m->flags & CMD_F_WRITE) &&
        (me->flags & BUS_NODE_SLAVE) && me->master == owner)
        owner = me;
    if (owner == me || cluster->importing_from[slot]) return 0;
    if (!owner) cluster_reply_redirect(c, NULL, 0, REDIR_DOWN_UNBOUND);
    else cluster_reply_redirect(c, owner, slot, REDIR_MOVED);
    return 1;
}
