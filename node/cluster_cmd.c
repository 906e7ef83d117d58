/* cluster_cmd: the CLUSTER command family and READONLY / READWRITE /
 * ASKING, with Redis 7.0's reply shapes and error texts (clients and
 * redis-cli --cluster parse them). The node table, epochs and bus live
 * in cluster_state.c / cluster_bus.c; this file only validates arguments,
 * applies the change through their API and schedules the persistence
 * (nodes.conf is saved before the loop sleeps, i.e. before the reply is
 * written: the todo flags). In non-cluster mode every command here
 * answers "ERR This instance has cluster support disabled". */
#include "cluster.h"
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "reply.h"
#include "server.h"
#include "slot.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_DISABLED "ERR This instance has cluster support disabled"
#define ERR_BAD_SLOT "ERR Invalid or out of range slot"

/* Every handler starts with this: 1 (after replying) if cluster mode is off. */
static int disabled(client *c)
{
    if (cluster && cluster->myself) return 0;
    reply_error(c, ERR_DISABLED);
    return 1;
}

/* Redis's catch-all for a known subcommand with the wrong argument count
 * (the table's arity is looser than some subcommands). */
static void reply_subcmd_syntax(client *c)
{
    reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CLUSTER HELP.",
                 (int)(ARGLEN(c, 1) > 128 ? 128 : ARGLEN(c, 1)), ARG(c, 1));
}

static int is_replica(const cluster_node *n) { return (n->flags & BUS_NODE_SLAVE) != 0; }

/* Slot argument: -1 after replying the error. */
static int arg_slot(client *c, int i)
{
    long long v;
    if (!str_to_ll(ARG(c, i), ARGLEN(c, i), &v) || v < 0 || v >= CLUSTER_SLOTS) {
        reply_error(c, ERR_BAD_SLOT);
        return -1;
    }
    return (int)v;
}

static cluster_node *arg_node(client *c, int i)
{
    return cluster_lookup(ARG(c, i), ARGLEN(c, i));
}

static void reply_unknown_node(client *c, int i, const char *prefix)
{
    reply_errorf(c, "ERR %s %.*s", prefix, (int)(ARGLEN(c, i) > 256 ? 256 : ARGLEN(c, i)), ARG(c, i));
}

static int db0_empty(void)
{
    db *d = db_get(0);
    return !d || db_size(d) == 0;
}

/* ------------------------------------------------------------------------
 * Introspection: INFO, NODES, MYID, SLOTS, SHARDS, REPLICAS, LINKS */

static void cluster_info_cmd(client *c)
{
    if (disabled(c)) return;
    int assigned = 0, ok = 0, pfail = 0, fail = 0;
    for (int j = 0; j < CLUSTER_SLOTS; j++) {
        cluster_node *n = cluster->slots[j];
        if (!n) continue;
        assigned++;
        if (n->flags & BUS_NODE_FAIL) fail++;
        else if (n->flags & BUS_NODE_PFAIL) pfail++;
        else ok++;
    }
    cluster_node *me = cluster->myself;
    uint64_t myepoch = (is_replica(me) && me->master) ? me->master->config_epoch : me->config_epoch;
    buf_t b;
    buf_init(&b);
    buf_printf(&b,
               "cluster_state:%s\r\n"
               "cluster_slots_assigned:%d\r\n"
               "cluster_slots_ok:%d\r\n"
               "cluster_slots_pfail:%d\r\n"
               "cluster_slots_fail:%d\r\n"
               "cluster_known_nodes:%zu\r\n"
               "cluster_size:%d\r\n"
               "cluster_current_epoch:%llu\r\n"
               "cluster_my_epoch:%llu\r\n",
               cluster->state == CLUSTER_OK ? "ok" : "fail", assigned, ok, pfail, fail,
               kvt_size(cluster->nodes), cluster->size,
               (unsigned long long)cluster->current_epoch, (unsigned long long)myepoch);
    /* Per message type, only the non-zero counters, sent then received. */
    long long tot = 0;
    for (int t = 0; t < BUS_MSG_TYPE_COUNT; t++) {
        if (!cluster->stats_sent[t]) continue;
        tot += cluster->stats_sent[t];
        buf_printf(&b, "cluster_stats_messages_%s_sent:%lld\r\n", bus_type_name((uint16_t)t), cluster->stats_sent[t]);
    }
    buf_printf(&b, "cluster_stats_messages_sent:%lld\r\n", tot);
    tot = 0;
    for (int t = 0; t < BUS_MSG_TYPE_COUNT; t++) {
        if (!cluster->stats_received[t]) continue;
        tot += cluster->stats_received[t];
        buf_printf(&b, "cluster_stats_messages_%s_received:%lld\r\n", bus_type_name((uint16_t)t),
                   cluster->stats_received[t]);
    }
    buf_printf(&b, "cluster_stats_messages_received:%lld\r\n", tot);
    /* No per-link send-buffer cap yet, so never exceeded. */
    buf_printf(&b, "total_cluster_links_buffer_limit_exceeded:0\r\n");
    reply_verbatim(c, b.p, b.len);
    buf_free(&b);
}

static void cluster_nodes_cmd(client *c)
{
    if (disabled(c)) return;
    buf_t b;
    buf_init(&b);
    cluster_nodes_text(&b, 0);
    reply_verbatim(c, b.p, b.len);
    buf_free(&b);
}

static void cluster_myid_cmd(client *c)
{
    if (disabled(c)) return;
    reply_bulk(c, cluster->myself->name, BUS_NAMELEN);
}

/* CLUSTER SLOTS lists a replica only while it is usable for reads. */
static int replica_available(const cluster_node *r)
{
    return !(r->flags & BUS_NODE_FAIL) && r->repl_offset != 0;
}

/* [endpoint, port, id, {other networking metadata}] */
static void reply_slots_node(client *c, const cluster_node *n)
{
    const char *ep = cluster_node_endpoint(n);
    reply_array(c, 4);
    if (ep) reply_bulk_cstr(c, ep);
    else reply_null(c);
    reply_int(c, n->port);
    reply_bulk(c, n->name, BUS_NAMELEN);
    int show_ip = !ep || strcmp(ep, n->ip) != 0;
    int show_host = n->hostname && *n->hostname && (!ep || strcmp(ep, n->hostname) != 0);
    reply_map(c, show_ip + show_host);
    if (show_ip) {
        reply_bulk_cstr(c, "ip");
        reply_bulk_cstr(c, n->ip);
    }
    if (show_host) {
        reply_bulk_cstr(c, "hostname");
        reply_bulk_cstr(c, n->hostname);
    }
}

static void cluster_slots_cmd(client *c)
{
    if (disabled(c)) return;
    /* Contiguous runs of one owner, in slot order. */
    size_t mark = reply_defer(c);
    long long ranges = 0;
    int j = 0;
    while (j < CLUSTER_SLOTS) {
        cluster_node *n = cluster->slots[j];
        if (!n) { j++; continue; }
        int start = j;
        while (j < CLUSTER_SLOTS && cluster->slots[j] == n) j++;
        int avail = 0;
        for (int r = 0; r < n->nreplicas; r++) avail += replica_available(n->replicas[r]);
        reply_array(c, 3 + avail);
        reply_int(c, start);
        reply_int(c, j - 1);
        reply_slots_node(c, n);
        for (int r = 0; r < n->nreplicas; r++)
            if (replica_available(n->replicas[r])) reply_slots_node(c, n->replicas[r]);
        ranges++;
    }
    reply_defer_set(c, mark, '*', ranges);
}

static void reply_shard_node(client *c, const cluster_node *n)
{
    size_t mark = reply_defer(c);
    long long fields = 0;
    reply_bulk_cstr(c, "id");
    reply_bulk(c, n->name, BUS_NAMELEN);
    fields++;
    if (n->port) {
        reply_bulk_cstr(c, "port");
        reply_int(c, n->port);
        fields++;
    }
    reply_bulk_cstr(c, "ip");
    reply_bulk_cstr(c, n->ip);
    fields++;
    const char *ep = cluster_node_endpoint(n);
    reply_bulk_cstr(c, "endpoint");
    if (ep) reply_bulk_cstr(c, ep);
    else reply_null(c);
    fields++;
    if (n->hostname && *n->hostname) {
        reply_bulk_cstr(c, "hostname");
        reply_bulk_cstr(c, n->hostname);
        fields++;
    }
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, is_replica(n) ? "replica" : "master");
    fields++;
    reply_bulk_cstr(c, "replication-offset");
    reply_int(c, n->repl_offset);
    fields++;
    reply_bulk_cstr(c, "health");
    if (n->flags & BUS_NODE_FAIL) reply_bulk_cstr(c, "fail");
    else if (is_replica(n) && n->repl_offset == 0) reply_bulk_cstr(c, "loading");
    else reply_bulk_cstr(c, "online");
    fields++;
    reply_defer_set(c, mark, '%', fields);
}

static int cmp_node_ptr(const void *a, const void *b)
{
    return memcmp((*(cluster_node *const *)a)->name, (*(cluster_node *const *)b)->name, BUS_NAMELEN);
}

/* Masters (with or without slots), in node ID order. Caller frees. */
static cluster_node **masters_sorted(int *count)
{
    size_t cap = kvt_size(cluster->nodes);
    cluster_node **v = xmalloc(sizeof(*v) * (cap ? cap : 1));
    int n = 0;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) && (size_t)n < cap) {
        cluster_node *node = e->val;
        if (node->flags & BUS_NODE_MASTER) v[n++] = node;
    }
    qsort(v, (size_t)n, sizeof(*v), cmp_node_ptr);
    *count = n;
    return v;
}

static void cluster_shards_cmd(client *c)
{
    if (disabled(c)) return;
    int nm;
    cluster_node **masters = masters_sorted(&nm);
    reply_array(c, nm);
    for (int i = 0; i < nm; i++) {
        cluster_node *m = masters[i];
        reply_map(c, 2);
        reply_bulk_cstr(c, "slots");
        size_t mark = reply_defer(c);
        long long items = 0;
        int j = 0;
        while (j < CLUSTER_SLOTS) {
            if (cluster->slots[j] != m) { j++; continue; }
            int start = j;
            while (j < CLUSTER_SLOTS && cluster->slots[j] == m) j++;
            reply_int(c, start);
            reply_int(c, j - 1);
            items += 2;
        }
        reply_defer_set(c, mark, '*', items);
        reply_bulk_cstr(c, "nodes");
        reply_array(c, 1 + m->nreplicas);
        reply_shard_node(c, m);
        for (int r = 0; r < m->nreplicas; r++) reply_shard_node(c, m->replicas[r]);
    }
    xfree(masters);
}

static void cluster_replicas_cmd(client *c)
{
    if (disabled(c)) return;
    cluster_node *n = arg_node(c, 2);
    if (!n) {
        reply_unknown_node(c, 2, "Unknown node");
        return;
    }
    if (is_replica(n)) {
        reply_error(c, "ERR The specified node is not a master");
        return;
    }
    reply_array(c, n->nreplicas);
    buf_t b;
    buf_init(&b);
    for (int r = 0; r < n->nreplicas; r++) {
        b.len = b.off = 0;
        cluster_node_text(&b, n->replicas[r]);
        reply_bulk(c, b.p, b.len);
    }
    buf_free(&b);
}

static void cluster_links_cmd(client *c)
{
    if (disabled(c)) return;
    cluster_reply_links(c);
}

static void cluster_count_failure_reports_cmd(client *c)
{
    if (disabled(c)) return;
    cluster_node *n = arg_node(c, 2);
    if (!n) {
        reply_unknown_node(c, 2, "Unknown node");
        return;
    }
    reply_int(c, cluster_fail_report_count(n));
}

/* ------------------------------------------------------------------------
 * Keys and slots: KEYSLOT, COUNTKEYSINSLOT, GETKEYSINSLOT */

static void cluster_keyslot_cmd(client *c)
{
    if (disabled(c)) return;
    reply_int(c, key_hash_slot(ARG(c, 2), ARGLEN(c, 2)));
}

static void cluster_countkeysinslot_cmd(client *c)
{
    if (disabled(c)) return;
    long long slot;
    if (arg_ll(c, 2, &slot) < 0) return;
    if (slot < 0 || slot >= CLUSTER_SLOTS) {
        reply_error(c, "ERR Invalid slot");
        return;
    }
    reply_int(c, (long long)db_slot_count((int)slot));
}

static void reply_key_cb(void *ctx, kv *e)
{
    reply_bulk((client *)ctx, e->key, e->klen);
}

static void cluster_getkeysinslot_cmd(client *c)
{
    if (disabled(c)) return;
    long long slot, max;
    if (arg_ll(c, 2, &slot) < 0 || arg_ll(c, 3, &max) < 0) return;
    if (slot < 0 || slot >= CLUSTER_SLOTS || max < 0) {
        reply_error(c, "ERR Invalid slot or number of keys");
        return;
    }
    size_t mark = reply_defer(c);
    int n = db_slot_keys((int)slot, max > INT_MAX ? INT_MAX : (int)max, reply_key_cb, c);
    reply_defer_set(c, mark, '*', n);
}

/* ------------------------------------------------------------------------
 * Slot assignment: ADDSLOTS[RANGE], DELSLOTS[RANGE], FLUSHSLOTS, SETSLOT */

/* Checks slots start..end for ADD (must be free) or DEL (must be bound)
 * and that none repeats; seen[] accumulates over the whole command. */
static int check_slots(client *c, uint8_t *seen, int del, int start, int end)
{
    for (int s = start; s <= end; s++) {
        if (del && !cluster->slots[s]) {
            reply_errorf(c, "ERR Slot %d is already unassigned", s);
            return -1;
        }
        if (!del && cluster->slots[s]) {
            reply_errorf(c, "ERR Slot %d is already busy", s);
            return -1;
        }
        if (seen[s]++) {
            reply_errorf(c, "ERR Slot %d specified multiple times", s);
            return -1;
        }
    }
    return 0;
}

static void apply_slots(client *c, const uint8_t *seen, int del)
{
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!seen[s]) continue;
        /* Owning (or giving up) a slot ends any import of it. */
        cluster->importing_from[s] = NULL;
        if (del) cluster_del_slot(s);
        else cluster_add_slot(cluster->myself, s);
    }
    cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE_CONFIG);
    reply_ok(c);
}

static void slots_generic(client *c, int del)
{
    if (disabled(c)) return;
    /* All arguments must parse before any is checked for ownership. */
    for (int i = 2; i < c->argc; i++)
        if (arg_slot(c, i) < 0) return;
    uint8_t *seen = xcalloc(CLUSTER_SLOTS, 1);
    for (int i = 2; i < c->argc; i++) {
        int s = arg_slot(c, i);
        if (check_slots(c, seen, del, s, s) < 0) {
            xfree(seen);
            return;
        }
    }
    apply_slots(c, seen, del);
    xfree(seen);
}

static void slots_range_generic(client *c, int del)
{
    if (disabled(c)) return;
    if (c->argc % 2 == 1) {
        reply_arity_err(c);
        return;
    }
    uint8_t *seen = xcalloc(CLUSTER_SLOTS, 1);
    for (int i = 2; i < c->argc; i += 2) {
        int start = arg_slot(c, i), end;
        if (start < 0 || (end = arg_slot(c, i + 1)) < 0) goto out;
        if (start > end) {
            reply_errorf(c, "ERR start slot number %d is greater than end slot number %d", start, end);
            goto out;
        }
        if (check_slots(c, seen, del, start, end) < 0) goto out;
    }
    apply_slots(c, seen, del);
out:
    xfree(seen);
}

static void cluster_addslots_cmd(client *c) { slots_generic(c, 0); }
static void cluster_delslots_cmd(client *c) { slots_generic(c, 1); }
static void cluster_addslotsrange_cmd(client *c) { slots_range_generic(c, 0); }
static void cluster_delslotsrange_cmd(client *c) { slots_range_generic(c, 1); }

static void cluster_flushslots_cmd(client *c)
{
    if (disabled(c)) return;
    if (!db0_empty()) {
        reply_error(c, "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
        return;
    }
    cluster_del_node_slots(cluster->myself);
    cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE_CONFIG);
    reply_ok(c);
}

/* SETSLOT <slot> NODE <id>: bind the slot, the last step of a resharding. */
static int setslot_node(client *c, int slot)
{
    cluster_node *me = cluster->myself, *n = arg_node(c, 4);
    if (!n) {
        reply_unknown_node(c, 4, "Unknown node");
        return -1;
    }
    if (is_replica(n)) {
        reply_error(c, "ERR Target node is not a master");
        return -1;
    }
    size_t keys = db_slot_count(slot);
    if (cluster->slots[slot] == me && n != me && keys != 0) {
        reply_errorf(c, "ERR Can't assign hashslot %d to a different node while I still hold keys for "
                     "this hash slot.", slot);
        return -1;
    }
    /* Nothing left to migrate: the slot is no longer open here. */
    if (keys == 0 && cluster->migrating_to[slot]) cluster->migrating_to[slot] = NULL;

    int was_mine = cluster->slots[slot] == me;
    cluster_del_slot(slot);
    cluster_add_slot(n, slot);

    /* A master that gave away its last slot follows it (Redis's default
     * cluster-allow-replica-migration yes). */
    if (was_mine && n != me && me->numslots == 0) {
        log_warning("Configuration changed: I lost all my slots, becoming a replica of %.40s", n->name);
        cluster_set_my_master(n);
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC_CONFIG);
    }

    /* Closing an import: claim the slot with a new configEpoch so the
     * rest of the cluster accepts the change (a collision, if any, is
     * fixed by the §9.3 rule), and tell everybody now. */
    if (n == me && cluster->importing_from[slot]) {
        if (cluster_bump_epoch_without_consensus())
            log_warning("configEpoch updated after importing slot %d", slot);
        cluster->importing_from[slot] = NULL;
        cluster_broadcast_pong();
    }
    return 0;
}

static void cluster_setslot_cmd(client *c)
{
    if (disabled(c)) return;
    cluster_node *me = cluster->myself;
    if (is_replica(me)) {
        reply_error(c, "ERR Please use SETSLOT only with masters.");
        return;
    }
    int slot = arg_slot(c, 2);
    if (slot < 0) return;
    const char *act = ARG(c, 3);
    size_t al = ARGLEN(c, 3);
    if (arg_is(act, al, "migrating") && c->argc == 5) {
        if (cluster->slots[slot] != me) {
            reply_errorf(c, "ERR I'm not the owner of hash slot %d", slot);
            return;
        }
        cluster_node *n = arg_node(c, 4);
        if (!n) { reply_unknown_node(c, 4, "I don't know about node"); return; }
        if (is_replica(n)) { reply_error(c, "ERR Target node is not a master"); return; }
        cluster->migrating_to[slot] = n;
    } else if (arg_is(act, al, "importing") && c->argc == 5) {
        if (cluster->slots[slot] == me) {
            reply_errorf(c, "ERR I'm already the owner of hash slot %d", slot);
            return;
        }
        cluster_node *n = arg_node(c, 4);
        if (!n) { reply_unknown_node(c, 4, "I don't know about node"); return; }
        if (is_replica(n)) { reply_error(c, "ERR Target node is not a master"); return; }
        cluster->importing_from[slot] = n;
    } else if (arg_is(act, al, "stable") && c->argc == 4) {
        cluster->importing_from[slot] = NULL;
        cluster->migrating_to[slot] = NULL;
    } else if (arg_is(act, al, "node") && c->argc == 5) {
        if (setslot_node(c, slot) < 0) return;
    } else {
        reply_error(c, "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
        return;
    }
    cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE);
    reply_ok(c);
}

/* ------------------------------------------------------------------------
 * Membership and epochs: MEET, FORGET, RESET, SAVECONFIG,
 * SET-CONFIG-EPOCH, BUMPEPOCH */

static int valid_ip(const char *ip)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, ip, tmp) == 1 || inet_pton(AF_INET6, ip, tmp) == 1;
}

static void cluster_meet_cmd(client *c)
{
    if (disabled(c)) return;
    if (c->argc != 4 && c->argc != 5) {
        reply_subcmd_syntax(c);
        return;
    }
    long long port, cport;
    if (!str_to_ll(ARG(c, 3), ARGLEN(c, 3), &port)) {
        reply_errorf(c, "ERR Invalid TCP base port specified: %.*s", (int)(ARGLEN(c, 3) > 128 ? 128 : ARGLEN(c, 3)), ARG(c, 3));
        return;
    }
    if (c->argc == 5) {
        if (!str_to_ll(ARG(c, 4), ARGLEN(c, 4), &cport)) {
            reply_errorf(c, "ERR Invalid TCP bus port specified: %.*s", (int)(ARGLEN(c, 4) > 128 ? 128 : ARGLEN(c, 4)), ARG(c, 4));
            return;
        }
    } else {
        cport = port + 10000;
    }
    char ip[BUS_IPLEN + 1];
    int ok = ARGLEN(c, 2) <= BUS_IPLEN && !memchr(ARG(c, 2), 0, ARGLEN(c, 2));
    if (ok) {
        memcpy(ip, ARG(c, 2), ARGLEN(c, 2));
        ip[ARGLEN(c, 2)] = 0;
        ok = valid_ip(ip) && port > 0 && port <= 65535 && cport > 0 && cport <= 65535;
    }
    if (!ok || cluster_start_handshake(ip, (int)port, (int)cport) < 0) {
        reply_errorf(c, "ERR Invalid node address specified: %.*s:%.*s",
                     (int)(ARGLEN(c, 2) > 128 ? 128 : ARGLEN(c, 2)), ARG(c, 2),
                     (int)(ARGLEN(c, 3) > 128 ? 128 : ARGLEN(c, 3)), ARG(c, 3));
        return;
    }
    reply_ok(c);
}

static void cluster_forget_cmd(client *c)
{
    if (disabled(c)) return;
    cluster_node *n = arg_node(c, 2), *me = cluster->myself;
    if (!n) {
        reply_unknown_node(c, 2, "Unknown node");
        return;
    }
    if (n == me) {
        reply_error(c, "ERR I tried hard but I can't forget myself...");
        return;
    }
    if (is_replica(me) && me->master == n) {
        reply_error(c, "ERR Can't forget my master!");
        return;
    }
    /* The blacklist keeps gossip from re-adding it for 60 s, long enough
     * for the admin to FORGET it on every node. */
    cluster_blacklist_add(n->name);
    cluster_del_node(n);
    cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE_CONFIG);
    reply_ok(c);
}

/* CLUSTER RESET: forget everybody and every slot; HARD also takes a new
 * identity and zeroes the epochs. */
static void cluster_reset(int hard)
{
    cluster_node *me = cluster->myself;
    if (is_replica(me)) {
        /* A replica's data belongs to its old master. Stopping the
         * replication stream is a later issue; the data goes now. */
        cluster_set_node_as_master(me);
        for (int i = 0; i < db_count(); i++) db_flush(db_get(i));
    }
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        cluster->migrating_to[s] = cluster->importing_from[s] = NULL;
        if (cluster->slots[s]) cluster_del_slot(s);
    }
    /* Collect first: deleting while iterating the table is not allowed. */
    size_t cap = kvt_size(cluster->nodes), n = 0;
    cluster_node **others = xmalloc(sizeof(*others) * (cap ? cap : 1));
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) && n < cap)
        if (e->val != me) others[n++] = e->val;
    for (size_t i = 0; i < n; i++) cluster_del_node(others[i]);
    xfree(others);

    if (hard) {
        cluster->current_epoch = 0;
        cluster->last_vote_epoch = 0;
        me->config_epoch = 0;
        log_warning("configEpoch set to 0 via CLUSTER RESET HARD");
        char name[BUS_NAMELEN + 1];
        random_hex(name, BUS_NAMELEN);
        name[BUS_NAMELEN] = 0;
        cluster_rename_node(me, name);
        log_notice("Node hard reset, now I'm %.40s", me->name);
    }
    cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC_CONFIG);
}

static void cluster_reset_cmd(client *c)
{
    if (disabled(c)) return;
    if (c->argc > 3) {
        reply_subcmd_syntax(c);
        return;
    }
    int hard = 0;
    if (c->argc == 3) {
        if (arg_is(ARG(c, 2), ARGLEN(c, 2), "hard")) hard = 1;
        else if (!arg_is(ARG(c, 2), ARGLEN(c, 2), "soft")) {
            reply_syntax_err(c);
            return;
        }
    }
    /* A master's keys would be orphaned (no slot owns them any more). */
    if (!is_replica(cluster->myself) && !db0_empty()) {
        reply_error(c, "ERR CLUSTER RESET can't be called with master nodes containing keys");
        return;
    }
    cluster_reset(hard);
    reply_ok(c);
}

static void cluster_saveconfig_cmd(client *c)
{
    if (disabled(c)) return;
    if (cluster_save_config(1) == 0) reply_ok(c);
    else reply_errorf(c, "ERR error saving the cluster node config: %s", strerror(errno));
}

static void cluster_set_config_epoch_cmd(client *c)
{
    if (disabled(c)) return;
    long long epoch;
    if (arg_ll(c, 2, &epoch) < 0) return;
    cluster_node *me = cluster->myself;
    if (epoch < 0) {
        reply_errorf(c, "ERR Invalid config epoch specified: %lld", epoch);
    } else if (kvt_size(cluster->nodes) > 1) {
        reply_error(c, "ERR The user can assign a config epoch only when the node does not know any other node.");
    } else if (me->config_epoch != 0) {
        reply_error(c, "ERR Node config epoch is already non-zero");
    } else {
        me->config_epoch = (uint64_t)epoch;
        log_warning("configEpoch set to %llu via CLUSTER SET-CONFIG-EPOCH", (unsigned long long)epoch);
        if (cluster->current_epoch < (uint64_t)epoch) cluster->current_epoch = (uint64_t)epoch;
        /* No fsync: a lost value only costs a §9.3 collision round. */
        cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE_CONFIG);
        reply_ok(c);
    }
}

static void cluster_bumpepoch_cmd(client *c)
{
    if (disabled(c)) return;
    int bumped = cluster_bump_epoch_without_consensus();
    char st[64];
    snprintf(st, sizeof(st), "%s %llu", bumped ? "BUMPED" : "STILL",
             (unsigned long long)cluster->myself->config_epoch);
    reply_status(c, st);
}

/* ------------------------------------------------------------------------
 * HELP */

static void cluster_help_cmd(client *c)
{
    if (disabled(c)) return;
    static const char *lines[] = {
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]",
        "    Make this node the owner of the given free slots.",
        "ADDSLOTSRANGE <start> <end> [<start> <end> ...]",
        "    Same as ADDSLOTS for every slot of the inclusive ranges.",
        "BUMPEPOCH",
        "    Give this node a new configEpoch unless its epoch is already the greatest.",
        "COUNT-FAILURE-REPORTS <node-id>",
        "    How many masters currently report <node-id> as failing.",
        "COUNTKEYSINSLOT <slot>",
        "    How many keys of <slot> this node holds.",
        "DELSLOTS <slot> [<slot> ...]",
        "    Unbind the given slots (from whichever node owns them) in this node's view.",
        "DELSLOTSRANGE <start> <end> [<start> <end> ...]",
        "    Same as DELSLOTS for every slot of the inclusive ranges.",
        "FLUSHSLOTS",
        "    Unbind every slot this node owns (its keyspace must be empty).",
        "FORGET <node-id>",
        "    Drop <node-id> from the node table and ignore it in gossip for 60 seconds.",
        "GETKEYSINSLOT <slot> <count>",
        "    Up to <count> key names of <slot> held by this node.",
        "INFO",
        "    Cluster state, slot and node counts, epochs and bus message statistics.",
        "KEYSLOT <key>",
        "    The hash slot of <key>.",
        "LINKS",
        "    The bus connections of this node, one map per link.",
        "MEET <ip> <port> [<bus-port>]",
        "    Connect to the node at <ip>:<port> and add it to the cluster.",
        "MYID",
        "    This node's ID.",
        "NODES",
        "    The cluster as this node sees it, one line per node:",
        "    <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-received> <config-epoch> <link> <slot> ...",
        "REPLICAS <node-id>",
        "    The NODES lines of the replicas of master <node-id> (SLAVES is an alias).",
        "RESET [HARD|SOFT]",
        "    Forget every node and slot (default SOFT); HARD also picks a new ID and zeroes the epochs.",
        "SAVECONFIG",
        "    Write the cluster configuration file now.",
        "SET-CONFIG-EPOCH <epoch>",
        "    Set this node's configEpoch (only while it knows no other node and its epoch is 0).",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Open a slot for resharding, close it, or bind it to a node.",
        "SHARDS",
        "    Every master with its slot ranges, its replicas and their health.",
        "SLOTS",
        "    Slot ranges with the address and ID of their master and available replicas.",
        "HELP",
        "    Print this help.",
    };
    int n = (int)(sizeof(lines) / sizeof(lines[0]));
    reply_array(c, n);
    for (int i = 0; i < n; i++) reply_status(c, lines[i]);
}

/* ------------------------------------------------------------------------
 * READONLY / READWRITE / ASKING: per-connection flags */

static void readonly_cmd(client *c)
{
    if (disabled(c)) return;
    c->flags |= CLIENT_READONLY;
    reply_ok(c);
}

static void readwrite_cmd(client *c)
{
    if (disabled(c)) return;
    c->flags &= ~CLIENT_READONLY;
    reply_ok(c);
}

/* One-shot: the dispatcher clears it after the next command (or EXEC). */
static void asking_cmd(client *c)
{
    if (disabled(c)) return;
    c->flags |= CLIENT_ASKING;
    reply_ok(c);
}

const cmd_binding cluster_commands[] = {
    {"cluster|addslots", cluster_addslots_cmd},
    {"cluster|addslotsrange", cluster_addslotsrange_cmd},
    {"cluster|bumpepoch", cluster_bumpepoch_cmd},
    {"cluster|count-failure-reports", cluster_count_failure_reports_cmd},
    {"cluster|countkeysinslot", cluster_countkeysinslot_cmd},
    {"cluster|delslots", cluster_delslots_cmd},
    {"cluster|delslotsrange", cluster_delslotsrange_cmd},
    {"cluster|flushslots", cluster_flushslots_cmd},
    {"cluster|forget", cluster_forget_cmd},
    {"cluster|getkeysinslot", cluster_getkeysinslot_cmd},
    {"cluster|help", cluster_help_cmd},
    {"cluster|info", cluster_info_cmd},
    {"cluster|keyslot", cluster_keyslot_cmd},
    {"cluster|links", cluster_links_cmd},
    {"cluster|meet", cluster_meet_cmd},
    {"cluster|myid", cluster_myid_cmd},
    {"cluster|nodes", cluster_nodes_cmd},
    {"cluster|replicas", cluster_replicas_cmd},
    {"cluster|slaves", cluster_replicas_cmd},
    {"cluster|reset", cluster_reset_cmd},
    {"cluster|saveconfig", cluster_saveconfig_cmd},
    {"cluster|set-config-epoch", cluster_set_config_epoch_cmd},
    {"cluster|setslot", cluster_setslot_cmd},
    {"cluster|shards", cluster_shards_cmd},
    {"cluster|slots", cluster_slots_cmd},
    {"readonly", readonly_cmd},
    {"readwrite", readwrite_cmd},
    {"asking", asking_cmd},
    {NULL, NULL},
};
