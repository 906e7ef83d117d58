/* cluster: shoal-node's Redis Cluster mode — the shared data model and
 * the API between the cluster modules. Reference: shared/bus-protocol.md
 * (section numbers below point there).
 *
 * Modules (one responsibility each):
 *   cluster_state.c   node table, epochs, slot ownership rules (§9),
 *                     cluster state evaluation (§8.4), deferred work
 *   cluster_bus.c     bus listener and links, framing, sending PING/PONG/
 *                     MEET/FAIL/UPDATE/PUBLISH, processing received messages
 *                     (§6, §7), gossip, the 100 ms cron (§7.1)
 *   cluster_fail.c    PFAIL/FAIL and failure reports (§8.1-8.3)
 *   cluster_persist.c nodes.conf load/save (§15) and the CLUSTER NODES text
 *                     (§16), which nodes.conf reuses
 *   cluster_cmd.c     the CLUSTER command family, READONLY/READWRITE/ASKING
 *   cluster_redir.c   which node serves a command: MOVED/ASK/CROSSSLOT/
 *                     TRYAGAIN/CLUSTERDOWN (§13) — called by node/cmd.c */
#ifndef SHOAL_CLUSTER_H
#define SHOAL_CLUSTER_H
#include <stddef.h>
#include <stdint.h>
#include "busproto.h"
#include "buf.h"

struct client;
struct cmd_meta;
typedef struct cluster_link cluster_link;   /* opaque: cluster_bus.c */
typedef struct kvtable kvtable;

#define CLUSTER_SLOTS BUS_SLOTS
#define CLUSTER_OK BUS_STATE_OK
#define CLUSTER_FAIL BUS_STATE_FAIL

/* A failure report: `reporter` (a master) said `node` was PFAIL/FAIL at time. */
typedef struct cluster_fail_report {
    struct cluster_node *reporter;
    long long time_ms;
} cluster_fail_report;

typedef struct cluster_node {
    char      name[BUS_NAMELEN + 1];   /* 40 hex chars + NUL */
    uint16_t  flags;                   /* BUS_NODE_* */
    uint64_t  config_epoch;
    uint8_t   slots[BUS_SLOT_BYTES];   /* slots this master serves (bitmap) */
    int       numslots;
    struct cluster_node  *master;      /* replicas: their master, else NULL */
    struct cluster_node **replicas;    /* masters: their replicas */
    int       nreplicas;
    long long ctime_ms;                /* creation (handshake timeout) */
    long long ping_sent_ms;            /* 0 = no ping pending */
    long long pong_received_ms;
    long long data_received_ms;        /* any bus data from it (liveness) */
    long long fail_time_ms;            /* when FAIL was set */
    long long voted_time_ms;           /* when we last voted for a replica of it */
    long long repl_offset;
    char      ip[BUS_IPLEN + 1];
    int       port, cport, pport;
    char     *hostname;                /* owned, NULL if none */
    cluster_link *link;                /* our outbound link to it */
    cluster_link *inbound_link;        /* its link to us */
    cluster_fail_report *reports;      /* failure reports about this node */
    int       nreports;
} cluster_node;

/* Deferred work done once before the loop sleeps (Redis's todo flags). */
enum {
    CLUSTER_TODO_SAVE_CONFIG = 1,
    CLUSTER_TODO_FSYNC_CONFIG = 2,
    CLUSTER_TODO_UPDATE_STATE = 4,
};

typedef struct cluster_state {
    cluster_node *myself;
    uint64_t  current_epoch;
    uint64_t  last_vote_epoch;
    int       state;                   /* CLUSTER_OK / CLUSTER_FAIL */
    int       size;                    /* masters serving >= 1 slot */
    kvtable  *nodes;                   /* name (40 bytes) -> cluster_node* */
    cluster_node *slots[CLUSTER_SLOTS];         /* owner, or NULL */
    cluster_node *migrating_to[CLUSTER_SLOTS];  /* open slots (resharding) */
    cluster_node *importing_from[CLUSTER_SLOTS];
    kvtable  *blacklist;               /* CLUSTER FORGET: name -> expiry ms */
    int       todo;                    /* CLUSTER_TODO_* */
    long long stats_sent[BUS_MSG_TYPE_COUNT], stats_received[BUS_MSG_TYPE_COUNT];
    long long stats_pfail_nodes;
    long long state_changed_ms, first_eval_ms, among_minority_since_ms;
    char      config_path[4096];       /* absolute path of nodes.conf */
    int       config_fd;               /* kept open and flock()ed */
} cluster_state;

extern cluster_state *cluster;         /* NULL unless cluster-enabled */

/* ---- cluster_state.c ------------------------------------------------ */
/* Start-up: load nodes.conf (or create myself), open the bus listener.
 * Returns 0, or -1 with a reason in err (the node must exit). */
int  cluster_init(char *err, size_t errlen);
cluster_node *cluster_node_new(const char *name /* NULL = random */, uint16_t flags);
void cluster_node_free(cluster_node *n);        /* unlinks it everywhere */
cluster_node *cluster_lookup(const char *name, size_t len);
int  cluster_add_node(cluster_node *n);         /* into cluster->nodes */
void cluster_del_node(cluster_node *n);         /* remove + free, drops its slots */
void cluster_rename_node(cluster_node *n, const char *newname);
int  cluster_add_slot(cluster_node *n, int slot);   /* -1 if already owned */
int  cluster_del_slot(int slot);
void cluster_del_node_slots(cluster_node *n);
void cluster_set_master(cluster_node *replica, cluster_node *master);
void cluster_set_node_as_master(cluster_node *n);
int  cluster_count_known_nodes(void);           /* excluding handshake */
/* §9.2 with the sender's claimed bitmap and configEpoch. */
void cluster_update_slots_config(cluster_node *sender, uint64_t sender_epoch, const uint8_t *slots);
/* §9.3 */
void cluster_handle_epoch_collision(cluster_node *sender);
/* BUMPEPOCH semantics; returns 1 if bumped. */
int  cluster_bump_epoch_without_consensus(void);
void cluster_update_state(void);                /* §8.4 */
void cluster_do_before_sleep(void);             /* runs cluster->todo */
void cluster_todo(int flags);
/* Node's client-facing endpoint for MOVED/ASK and CLUSTER SLOTS. */
const char *cluster_node_endpoint(const cluster_node *n);
int  cluster_myself_is_master(void);
/* Keys in a slot changed hands: delete keys of slots we no longer own. */
void cluster_del_keys_in_slot(int slot);
/* Added by cluster_state.c: */
/* Allocate / free the `cluster` global without any I/O (cluster_init uses
 * the first; unit tests and clean shutdown use both). new creates no
 * myself: cluster_init (or the nodes.conf loader) sets it. */
void cluster_state_new(void);
void cluster_state_free(void);
/* Turn myself into a replica of n (§9.2 demotion, CLUSTER REPLICATE):
 * flags, replica lists, open slots closed. cluster_set_master() only
 * links replica under master (NULL unlinks) and leaves flags alone. */
void cluster_set_my_master(cluster_node *n);
/* 1 if slot's owner stopped claiming it (§9.2, left out of UPDATEs). */
int  cluster_slot_owner_not_claiming(int slot);
/* CLUSTER FORGET blacklist (60 s TTL); name is 40 bytes. */
void cluster_blacklist_add(const char *name);
int  cluster_blacklist_exists(const char *name);
/* max(currentEpoch, every node's configEpoch). */
uint64_t cluster_get_max_epoch(void);
/* Refresh myself's port/cport/pport/hostname from cfg (announce-* win). */
void cluster_update_myself_announced(void);

/* ---- cluster_bus.c -------------------------------------------------- */
int  cluster_bus_listen(char *err, size_t errlen);
void cluster_cron(void);                        /* every 100 ms */
/* CLUSTER MEET: 0, or -1 if the address is invalid. */
int  cluster_start_handshake(const char *ip, int port, int cport);
void cluster_broadcast_pong(void);              /* unsolicited config update */
void cluster_broadcast_fail(cluster_node *n);
void cluster_send_update(cluster_link *l, cluster_node *n);
/* PUBLISH / SPUBLISH propagation to the other nodes. */
void cluster_propagate_publish(const char *ch, size_t chlen, const char *msg, size_t msglen, int sharded);
void cluster_link_free(cluster_link *l);
void cluster_free_node_links(cluster_node *n);
/* CLUSTER LINKS reply. */
void cluster_reply_links(struct client *c);
/* Added by cluster_bus.c: */
/* Close the bus listeners and every link (shutdown). */
void cluster_bus_close(void);
/* PONG to my master's other replicas and mine (§10 step 3). */
void cluster_broadcast_pong_local_replicas(void);

/* ---- cluster_fail.c ------------------------------------------------- */
/* Adds/refreshes a report; returns 1 if it was new. */
int  cluster_fail_report_add(cluster_node *failing, cluster_node *reporter);
void cluster_fail_report_del(cluster_node *failing, cluster_node *reporter);
int  cluster_fail_report_count(cluster_node *n);    /* valid reports (drops stale) */
void cluster_mark_failing_if_needed(cluster_node *n); /* PFAIL -> FAIL (§8.2) */
void cluster_clear_fail_if_needed(cluster_node *n);   /* §8.3 */
void cluster_check_pfail(void);                      /* §8.1, from the cron */

/* ---- cluster_persist.c ---------------------------------------------- */
/* Loads path; returns 1 if loaded, 0 if the file does not exist or is
 * empty (it is created; start fresh), -1 with "path:line: reason" in err
 * on a bad file (the node must not start). */
int  cluster_load_config(const char *path, char *err, size_t errlen);
/* Writes nodes.conf now; returns 0 or -1 (logged). */
int  cluster_save_config(int do_fsync);
/* The CLUSTER NODES text: one line per node, in node ID order (handshake
 * nodes omitted when for_config). Myself's line carries the open-slot
 * markers in both forms, as in Redis (redis-cli --cluster reads them
 * from CLUSTER NODES). */
void cluster_nodes_text(buf_t *out, int for_config);
/* One node's CLUSTER NODES line without the trailing '\n' (CLUSTER
 * REPLICAS). */
void cluster_node_text(buf_t *out, const cluster_node *n);
/* cluster_load_config opens, creates if needed and flock()s the file
 * (kept open for the process lifetime; a second node on the same file
 * fails there): call it first in cluster_init, before any save. This
 * releases the lock (tests, clean shutdown). */
void cluster_persist_close(void);

/* ---- cluster_redir.c -------------------------------------------------
 * Decides where c's current command must run. Returns NULL to run it
 * here, or the node to redirect to with *err_code set (and *slot). For
 * CROSSSLOT/CLUSTERDOWN/TRYAGAIN returns NULL with err_code != 0 and
 * the error text in err. The dispatcher replies. */
enum { REDIR_NONE = 0, REDIR_MOVED, REDIR_ASK, REDIR_CROSS_SLOT, REDIR_UNSTABLE,
       REDIR_DOWN_STATE, REDIR_DOWN_UNBOUND, REDIR_DOWN_RO_STATE };
cluster_node *cluster_get_node_by_query(struct client *c, const struct cmd_meta *cmd, int argc,
                                        const char **argv, const size_t *argvlen, int *slot, int *err_code);
/* Replies the redirection/error for err_code (node/slot as returned). */
void cluster_reply_redirect(struct client *c, cluster_node *n, int slot, int err_code);
/* For a client blocked on key (BLPOP...; pass its first key) when the
 * cluster state or slot ownership changed: replies CLUSTERDOWN or MOVED
 * and returns 1 if it can no longer be served here (the caller then
 * unblocks it without another reply), else 0. */
int  cluster_redirect_blocked_client(struct client *c, const char *key, size_t klen);

#endif
