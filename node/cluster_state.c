/* cluster_state: the node table, epochs and slot ownership of cluster mode.
 *
 * Owns the `cluster` global: nodes by name, the slot -> owner map, open
 * (migrating/importing) slots, the CLUSTER FORGET blacklist, the §9.2 slot
 * update rule, configEpoch collision handling (§9.3), epoch bumps, the
 * cluster state evaluation (§8.4) and the deferred work run before the
 * event loop sleeps (save nodes.conf, re-evaluate state).
 * Reference: shared/bus-protocol.md (section numbers below point there). */
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "server.h"
#include "util.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

cluster_state *cluster;

/* Sharded Pub/Sub cleanup when a slot leaves our shard: provided by
 * pubsub.c once it lands; referenced weakly until then. */
extern void pubsub_drop_shard_channels_in_slot(int slot) __attribute__((weak));

/* §8.4 delays. */
#define CLUSTER_WRITABLE_DELAY_MS 2000
#define CLUSTER_MIN_REJOIN_DELAY_MS 500
#define CLUSTER_MAX_REJOIN_DELAY_MS 5000
/* CLUSTER FORGET keeps a forgotten node out of gossip this long. */
#define CLUSTER_BLACKLIST_TTL_MS 60000

/* Slots whose owner stopped claiming them (§9.2, 7.0.13+): still bound to
 * that owner, but free for any claimant and left out of UPDATE messages. */
static uint8_t owner_not_claiming[BUS_SLOT_BYTES];

/* ---- state lifetime ------------------------------------------------------- */

static long long node_timeout(void)
{
    return cfg.cluster_node_timeout > 0 ? cfg.cluster_node_timeout : 15000;
}

void cluster_state_new(void)
{
    if (cluster) cluster_state_free();
    cluster = xcalloc(1, sizeof(*cluster));
    cluster->nodes = kvt_new();
    cluster->blacklist = kvt_new();
    cluster->state = CLUSTER_FAIL;
    /* Quorum math before the first evaluation uses size 1 (as Redis). */
    cluster->size = 1;
    cluster->config_fd = -1;
    memset(owner_not_claiming, 0, sizeof(owner_not_claiming));
}

static void free_blacklist_val(kv *e) { xfree(e->val); }

void cluster_state_free(void)
{
    if (!cluster) return;
    /* Free nodes one by one: node_free unlinks each from the table. */
    kv *e;
    while ((e = kvt_random(cluster->nodes)) != NULL) cluster_node_free(e->val);
    kvt_free(cluster->nodes, NULL);
    kvt_free(cluster->blacklist, free_blacklist_val);
    cluster_persist_close();   /* closes and unlocks nodes.conf */
    xfree(cluster);
    cluster = NULL;
}

/* ---- nodes ---------------------------------------------------------------- */

/* Redis's own check: 40 characters of [a-z0-9]. */
static int name_ok(const char *name, size_t len)
{
    if (!name || len != BUS_NAMELEN) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return 0;
    }
    return 1;
}

cluster_node *cluster_node_new(const char *name, uint16_t flags)
{
    cluster_node *n = xcalloc(1, sizeof(*n));
    if (name) memcpy(n->name, name, BUS_NAMELEN);
    else random_hex(n->name, BUS_NAMELEN);
    n->name[BUS_NAMELEN] = '\0';
    n->flags = flags;
    n->ctime_ms = srv.now_ms;
    return n;
}

cluster_node *cluster_lookup(const char *name, size_t len)
{
    if (!cluster || !name_ok(name, len)) return NULL;
    kv *e = kvt_find(cluster->nodes, name, len);
    return e ? e->val : NULL;
}

int cluster_add_node(cluster_node *n)
{
    if (kvt_find(cluster->nodes, n->name, BUS_NAMELEN)) return -1;
    kvt_add(cluster->nodes, n->name, BUS_NAMELEN)->val = n;
    return 0;
}

static void table_unlink(cluster_node *n)
{
    kv *e = kvt_find(cluster->nodes, n->name, BUS_NAMELEN);
    if (e && e->val == n) {
        kvt_unlink(cluster->nodes, n->name, BUS_NAMELEN);
        kvt_free_entry(cluster->nodes, e);
    }
}

void cluster_rename_node(cluster_node *n, const char *newname)
{
    log_debug("Renaming node %.40s into %.40s", n->name, newname);
    table_unlink(n);
    memcpy(n->name, newname, BUS_NAMELEN);
    n->name[BUS_NAMELEN] = '\0';
    cluster_add_node(n);
}

static int replica_index(cluster_node *master, cluster_node *r)
{
    for (int i = 0; i < master->nreplicas; i++)
        if (master->replicas[i] == r) return i;
    return -1;
}

static void remove_replica(cluster_node *master, cluster_node *r)
{
    int i = replica_index(master, r);
    if (i < 0) return;
    memmove(&master->replicas[i], &master->replicas[i + 1],
            sizeof(master->replicas[0]) * (size_t)(master->nreplicas - i - 1));
    master->nreplicas--;
    if (master->nreplicas == 0) master->flags &= ~BUS_NODE_MIGRATE_TO;
}

static void add_replica(cluster_node *master, cluster_node *r)
{
    if (replica_index(master, r) >= 0) return;
    master->replicas = xrealloc(master->replicas, sizeof(master->replicas[0]) * (size_t)(master->nreplicas + 1));
    master->replicas[master->nreplicas++] = r;
    /* A master that had replicas is a valid replica-migration target (§12). */
    master->flags |= BUS_NODE_MIGRATE_TO;
}

/* Drops every reference other nodes and the slot maps hold to n, then
 * frees it: no pointer to a freed node can survive. */
void cluster_node_free(cluster_node *n)
{
    if (!n) return;
    for (int i = 0; i < n->nreplicas; i++)
        if (n->replicas[i]->master == n) n->replicas[i]->master = NULL;
    if (n->master) remove_replica(n->master, n);
    if (cluster) {
        table_unlink(n);
        for (int s = 0; s < CLUSTER_SLOTS; s++) {
            if (cluster->slots[s] == n) cluster_del_slot(s);
            if (cluster->migrating_to[s] == n) cluster->migrating_to[s] = NULL;
            if (cluster->importing_from[s] == n) cluster->importing_from[s] = NULL;
        }
        kvt_iter it;
        kv *e;
        kvt_iter_init(&it, cluster->nodes);
        while ((e = kvt_iter_next(&it)) != NULL) cluster_fail_report_del(e->val, n);
        if (cluster->myself == n) cluster->myself = NULL;
    }
    cluster_free_node_links(n);
    xfree(n->hostname);
    xfree(n->reports);
    xfree(n->replicas);
    xfree(n);
}

void cluster_del_node(cluster_node *n)
{
    /* Slots, open slots and the failure reports it filed go with it. */
    cluster_node_free(n);
}

/* ---- slots ------------------------------------------------------------------ */

int cluster_add_slot(cluster_node *n, int slot)
{
    if (slot < 0 || slot >= CLUSTER_SLOTS || cluster->slots[slot]) return -1;
    bus_slot_set(n->slots, (unsigned)slot);
    n->numslots++;
    cluster->slots[slot] = n;
    return 0;
}

/* Do I serve `slot`'s shard (as its master or one of its replicas)? */
static int myself_in_shard_of(cluster_node *owner)
{
    cluster_node *me = cluster->myself;
    if (!me || !owner) return 0;
    return owner == me || (me->master && me->master == owner);
}

int cluster_del_slot(int slot)
{
    if (slot < 0 || slot >= CLUSTER_SLOTS) return -1;
    cluster_node *n = cluster->slots[slot];
    if (!n) return -1;
    /* Sharded Pub/Sub channels of a slot our shard no longer serves go away. */
    if (myself_in_shard_of(n) && pubsub_drop_shard_channels_in_slot)
        pubsub_drop_shard_channels_in_slot(slot);
    if (bus_slot_get(n->slots, (unsigned)slot)) {
        bus_slot_clear(n->slots, (unsigned)slot);
        n->numslots--;
    }
    cluster->slots[slot] = NULL;
    bus_slot_clear(owner_not_claiming, (unsigned)slot);
    return 0;
}

void cluster_del_node_slots(cluster_node *n)
{
    for (int s = 0; s < CLUSTER_SLOTS; s++)
        if (cluster->slots[s] == n) cluster_del_slot(s);
}

int cluster_slot_owner_not_claiming(int slot)
{
    return bus_slot_get(owner_not_claiming, (unsigned)slot);
}

/* ---- roles ------------------------------------------------------------------ */

void cluster_set_master(cluster_node *replica, cluster_node *master)
{
    if (replica->master == master) {
        if (master) add_replica(master, replica);
        return;
    }
    if (replica->master) remove_replica(replica->master, replica);
    replica->master = master;
    if (master) add_replica(master, replica);
}

void cluster_set_node_as_master(cluster_node *n)
{
    if ((n->flags & BUS_NODE_MASTER) && !(n->flags & BUS_NODE_SLAVE) && !n->master) return;
    if (n->master) {
        remove_replica(n->master, n);
        /* A promoted replica is a replica-migration target (§12). */
        if (n != cluster->myself) n->flags |= BUS_NODE_MIGRATE_TO;
    }
    n->flags &= ~BUS_NODE_SLAVE;
    n->flags |= BUS_NODE_MASTER;
    n->master = NULL;
    cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE);
}

void cluster_set_my_master(cluster_node *n)
{
    cluster_node *me = cluster->myself;
    if (!n || n == me) return;
    if (me->flags & BUS_NODE_MASTER) {
        me->flags &= ~(BUS_NODE_MASTER | BUS_NODE_MIGRATE_TO);
        me->flags |= BUS_NODE_SLAVE;
        /* A replica has no open slots. */
        for (int s = 0; s < CLUSTER_SLOTS; s++) cluster->migrating_to[s] = cluster->importing_from[s] = NULL;
    }
    cluster_set_master(me, n);
    /* Replication (pointing the data stream at n) is a later issue. */
    cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC_CONFIG);
}

int cluster_myself_is_master(void)
{
    return cluster && cluster->myself && (cluster->myself->flags & BUS_NODE_MASTER);
}

int cluster_count_known_nodes(void)
{
    int n = 0;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL)
        if (!(((cluster_node *)e->val)->flags & BUS_NODE_HANDSHAKE)) n++;
    return n;
}

const char *cluster_node_endpoint(const cluster_node *n)
{
    /* cluster-preferred-endpoint-type is fixed to "ip" for now. */
    return n->ip;
}

/* ---- blacklist (CLUSTER FORGET) ---------------------------------------------- */

static void blacklist_cleanup(void)
{
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->blacklist);
    while ((e = kvt_iter_next(&it)) != NULL) {
        if (*(long long *)e->val < srv.now_ms) {
            kvt_unlink(cluster->blacklist, e->key, e->klen);
            xfree(e->val);
            kvt_free_entry(cluster->blacklist, e);
        }
    }
}

void cluster_blacklist_add(const char *name)
{
    blacklist_cleanup();
    kv *e = kvt_find(cluster->blacklist, name, BUS_NAMELEN);
    if (!e) {
        e = kvt_add(cluster->blacklist, name, BUS_NAMELEN);
        e->val = xmalloc(sizeof(long long));
    }
    *(long long *)e->val = srv.now_ms + CLUSTER_BLACKLIST_TTL_MS;
}

int cluster_blacklist_exists(const char *name)
{
    blacklist_cleanup();
    return kvt_find(cluster->blacklist, name, BUS_NAMELEN) != NULL;
}

/* ---- epochs ------------------------------------------------------------------ */

uint64_t cluster_get_max_epoch(void)
{
    uint64_t max = cluster->current_epoch;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *n = e->val;
        if (n->config_epoch > max) max = n->config_epoch;
    }
    return max;
}

/* Persist right now (epoch changes must hit the disk before anyone acts
 * on them). Redis exits when this fails; we log and retry before the
 * next sleep instead. */
static void save_now(int do_fsync)
{
    if (cluster_save_config(do_fsync) < 0) {
        log_warning("Can't update cluster config file, retrying before the next event loop sleep");
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG | (do_fsync ? CLUSTER_TODO_FSYNC_CONFIG : 0));
    }
}

/* §9.3: of two masters with the same configEpoch, the smaller node ID
 * takes a new epoch. The greatest ID never moves, so every round leaves
 * at least one more node with a unique epoch and the cluster converges. */
void cluster_handle_epoch_collision(cluster_node *sender)
{
    cluster_node *me = cluster->myself;
    if (sender->config_epoch != me->config_epoch || !(sender->flags & BUS_NODE_MASTER) ||
        !(me->flags & BUS_NODE_MASTER))
        return;
    if (memcmp(sender->name, me->name, BUS_NAMELEN) <= 0) return;
    cluster->current_epoch++;
    me->config_epoch = cluster->current_epoch;
    save_now(1);
    log_verbose("WARNING: configEpoch collision with node %.40s. configEpoch set to %llu",
                sender->name, (unsigned long long)me->config_epoch);
}

int cluster_bump_epoch_without_consensus(void)
{
    uint64_t max = cluster_get_max_epoch();
    cluster_node *me = cluster->myself;
    if (me->config_epoch != 0 && me->config_epoch == max) return 0;
    cluster->current_epoch++;
    me->config_epoch = cluster->current_epoch;
    cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_FSYNC_CONFIG);
    log_warning("New configEpoch set to %llu", (unsigned long long)me->config_epoch);
    return 1;
}

/* ---- §9.2 slot update rule ----------------------------------------------------- */

void cluster_del_keys_in_slot(int slot)
{
    db_slot_delete_keys(slot);
}

static int slot_unclaimed(int slot)
{
    return cluster->slots[slot] == NULL || bus_slot_get(owner_not_claiming, (unsigned)slot);
}

void cluster_update_slots_config(cluster_node *sender, uint64_t sender_epoch, const uint8_t *slots)
{
    cluster_node *me = cluster->myself;
    if (sender == me) {
        log_warning("Discarding UPDATE message about myself.");
        return;
    }
    /* The master whose slots we watch: me, or the master I replicate. */
    cluster_node *curmaster = (me->flags & BUS_NODE_MASTER) ? me : me->master;
    cluster_node *newmaster = NULL;
    int *dirty = NULL, ndirty = 0;
    int sender_slots = 0, migrated_our_slots = 0;

    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (bus_slot_get(slots, (unsigned)s)) {
            sender_slots++;
            if (cluster->slots[s] == sender) {
                bus_slot_clear(owner_not_claiming, (unsigned)s);
                continue;
            }
            /* Importing slots only change by an admin's SETSLOT. */
            if (cluster->importing_from[s]) continue;
            if (slot_unclaimed(s) || cluster->slots[s]->config_epoch < sender_epoch) {
                if (cluster->slots[s] == me && db_slot_count(s) > 0) {
                    if (!dirty) dirty = xmalloc(sizeof(int) * CLUSTER_SLOTS);
                    dirty[ndirty++] = s;
                }
                if (curmaster && cluster->slots[s] == curmaster) {
                    newmaster = sender;
                    migrated_our_slots++;
                }
                cluster_del_slot(s);
                cluster_add_slot(sender, s);
                bus_slot_clear(owner_not_claiming, (unsigned)s);
                cluster_todo(CLUSTER_TODO_SAVE_CONFIG | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC_CONFIG);
            }
        } else if (cluster->slots[s] == sender) {
            /* Kept bound (unbinding would take the cluster down), but no
             * longer vouched for: see owner_not_claiming. */
            bus_slot_set(owner_not_claiming, (unsigned)s);
        }
    }

    /* cluster-allow-replica-migration is fixed to yes for now. */
    int allow_replica_migration = 1;
    if (newmaster && curmaster->numslots == 0 &&
        (allow_replica_migration || sender_slots == migrated_our_slots)) {
        log_warning("Configuration change detected. Reconfiguring myself as a replica of %.40s", sender->name);
        cluster_set_my_master(sender);
    } else if (me->master && me->master->master && me->master->master != me) {
        /* My master became a replica: follow its master, no sub-replicas. */
        log_warning("I'm a sub-replica! Reconfiguring myself as a replica of grandmaster %.40s",
                    me->master->master->name);
        cluster_set_my_master(me->master->master);
    } else if (ndirty) {
        /* Still a master, but lost slots that hold keys: drop those keys. */
        for (int i = 0; i < ndirty; i++) cluster_del_keys_in_slot(dirty[i]);
    }
    xfree(dirty);
}

/* ---- §8.4 cluster state ---------------------------------------------------------- */

void cluster_update_state(void)
{
    cluster_node *me = cluster->myself;
    long long now = srv.now_ms;
    cluster->todo &= ~CLUSTER_TODO_UPDATE_STATE;

    /* A restarted master waits a little before accepting writes, so the
     * cluster can tell it about a newer configuration first. */
    if (cluster->first_eval_ms == 0) cluster->first_eval_ms = now ? now : 1;
    if ((me->flags & BUS_NODE_MASTER) && cluster->state == CLUSTER_FAIL &&
        now - cluster->first_eval_ms < CLUSTER_WRITABLE_DELAY_MS)
        return;

    int new_state = CLUSTER_OK;
    if (cfg.cluster_require_full_coverage) {
        for (int s = 0; s < CLUSTER_SLOTS; s++) {
            if (!cluster->slots[s] || (cluster->slots[s]->flags & BUS_NODE_FAIL)) {
                new_state = CLUSTER_FAIL;
                break;
            }
        }
    }

    int size = 0, reachable = 0;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *n = e->val;
        if ((n->flags & BUS_NODE_MASTER) && n->numslots) {
            size++;
            if (!(n->flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL))) reachable++;
        }
    }
    cluster->size = size;
    /* A node that knows no master with slots is not "in a minority": there is
     * no newer configuration it could have missed, so (unlike Redis) that
     * does not start the rejoin delay below, and a fresh cluster goes ok as
     * soon as its slots are covered. */
    if (reachable < size / 2 + 1) {
        new_state = CLUSTER_FAIL;
        if (size > 0) cluster->among_minority_since_ms = now;
    }

    if (new_state != cluster->state) {
        long long rejoin = node_timeout();
        if (rejoin > CLUSTER_MAX_REJOIN_DELAY_MS) rejoin = CLUSTER_MAX_REJOIN_DELAY_MS;
        if (rejoin < CLUSTER_MIN_REJOIN_DELAY_MS) rejoin = CLUSTER_MIN_REJOIN_DELAY_MS;
        /* Back from a minority partition: give UPDATEs time to arrive. */
        if (new_state == CLUSTER_OK && (me->flags & BUS_NODE_MASTER) &&
            now - cluster->among_minority_since_ms < rejoin)
            return;
        log_warning("Cluster state changed: %s", new_state == CLUSTER_OK ? "ok" : "fail");
        cluster->state = new_state;
        cluster->state_changed_ms = now;
    }
}

/* ---- deferred work ------------------------------------------------------------------ */

void cluster_todo(int flags)
{
    if (cluster) cluster->todo |= flags;
}

void cluster_do_before_sleep(void)
{
    if (!cluster) return;
    int flags = cluster->todo;
    cluster->todo = 0;
    if (flags & CLUSTER_TODO_UPDATE_STATE) cluster_update_state();
    if (flags & CLUSTER_TODO_SAVE_CONFIG) save_now(flags & CLUSTER_TODO_FSYNC_CONFIG);
}

/* ---- start-up --------------------------------------------------------------------- */

/* Header ports (§3): announced values win over the listening ones. The
 * IP follows cluster-announce-ip when it changes (set: use it; unset:
 * forget ours so the next MEET teaches it again), as Redis's cron does. */
void cluster_update_myself_announced(void)
{
    static char *prev_ip;
    cluster_node *me = cluster->myself;
    if (!me) return;
    const char *ip = cfg.cluster_announce_ip && *cfg.cluster_announce_ip ? cfg.cluster_announce_ip : NULL;
    if ((ip == NULL) != (prev_ip == NULL) || (ip && strcmp(ip, prev_ip) != 0)) {
        xfree(prev_ip);
        prev_ip = ip ? xstrdup(ip) : NULL;
        if (ip) {
            size_t n = strnlen(ip, BUS_IPLEN - 1);
            memcpy(me->ip, ip, n);
            me->ip[n] = '\0';
        } else {
            me->ip[0] = '\0';
        }
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
    }
    me->port = (int)(cfg.cluster_announce_port ? cfg.cluster_announce_port : cfg.port);
    me->cport = (int)(cfg.cluster_announce_bus_port ? cfg.cluster_announce_bus_port : config_cluster_bus_port());
    me->pport = 0;
    const char *h = cfg.cluster_announce_hostname;
    if (h && !*h) h = NULL;
    if ((h == NULL) != (me->hostname == NULL) || (h && strcmp(h, me->hostname) != 0)) {
        xfree(me->hostname);
        me->hostname = h ? xstrdup(h) : NULL;
        cluster_todo(CLUSTER_TODO_SAVE_CONFIG);
    }
}

int cluster_init(char *err, size_t errlen)
{
    if (cfg.port > 65535 - 10000 && cfg.cluster_port == 0) {
        snprintf(err, errlen, "Redis port number too high. Cluster communication port is 10,000 port "
                              "numbers higher than your Redis port. Your Redis port number must be 55535 or less.");
        return -1;
    }
    cluster_state_new();

    const char *file = cfg.cluster_config_file && *cfg.cluster_config_file ? cfg.cluster_config_file : "nodes.conf";
    if (file[0] == '/') {
        snprintf(cluster->config_path, sizeof(cluster->config_path), "%s", file);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd))) {
            snprintf(err, errlen, "getcwd: %s", strerror(errno));
            return -1;
        }
        size_t need = strlen(cwd) + 1 + strlen(file) + 1;
        if (need > sizeof(cluster->config_path)) {
            snprintf(err, errlen, "cluster config file path too long");
            return -1;
        }
        memcpy(cluster->config_path, cwd, strlen(cwd));
        cluster->config_path[strlen(cwd)] = '/';
        memcpy(cluster->config_path + strlen(cwd) + 1, file, strlen(file) + 1);
    }

    int loaded = cluster_load_config(cluster->config_path, err, errlen);
    if (loaded < 0) return -1;
    if (loaded > 0 && !cluster->myself) {
        snprintf(err, errlen, "Unrecoverable error: corrupted cluster config file \"%s\" (no myself line)",
                 cluster->config_path);
        return -1;
    }
    if (!loaded) {
        cluster->myself = cluster_node_new(NULL, BUS_NODE_MYSELF | BUS_NODE_MASTER);
        cluster_add_node(cluster->myself);
        log_notice("No cluster configuration found, I'm %.40s", cluster->myself->name);
        if (cluster_save_config(1) < 0) {
            snprintf(err, errlen, "Fatal: can't update cluster config file %s", cluster->config_path);
            return -1;
        }
    } else {
        log_notice("Node configuration loaded, I'm %.40s", cluster->myself->name);
    }
    if (cluster_bus_listen(err, errlen) < 0) return -1;
    /* Ports and hostname come from the current config, not the file. */
    cluster_update_myself_announced();
    return 0;
}
