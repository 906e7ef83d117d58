/* slotmap: the proxy's view of a Redis Cluster as an immutable snapshot.
 *
 * A snapshot maps each of the 16384 hash slots to the master serving it and
 * lists the known nodes (address, role, master, configEpoch, health). It is
 * made by a builder that applies the cluster's own ownership rule
 * (shared/bus-protocol.md §9.2: for every slot the claiming master with the
 * highest configEpoch wins), published whole into a slotmap_domain, and read
 * by any number of threads without locks.
 *
 * Reclamation (why epochs and not only reference counts): readers are the
 * proxy's workers, which look the map up on every request. A shared
 * reference count would make every request on every core write the same
 * cache line, and "load pointer then increment" is racy on its own anyway
 * (the writer may free between the two). So the domain uses epoch-based
 * reclamation: each worker owns a reader slot on its own cache line and
 * writes only that slot -- read_begin stores the global epoch there, then
 * loads the current pointer; read_end stores 0. The writer swaps the pointer,
 * bumps the global epoch to E and retires the old snapshot tagged E; it is
 * freed once every reader slot is idle (0) or shows an epoch >= E, because
 * such a reader started after the swap and cannot hold the old pointer
 * (all of this is seq_cst, so the store/load orders are total).
 * A reader that sleeps in epoll outside a section never delays anything.
 * For holders that must keep a snapshot beyond one section (another thread,
 * a long reply), slotmap_acquire pins it with a per-snapshot reference count
 * taken inside a section; a retired snapshot is freed only when its grace
 * period is over AND its count is 0. Freeing happens on the writer side
 * (publish / slotmap_domain_reclaim), never on a reader's path. */
#ifndef SHOAL_SLOTMAP_H
#define SHOAL_SLOTMAP_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define SLOTMAP_NSLOTS     16384
#define SLOTMAP_NO_NODE    (-1)
#define SLOTMAP_IDLEN      40     /* node IDs: 40 lowercase hex chars */
#define SLOTMAP_IPLEN      46     /* as the bus carries them (NET_IP_STR_LEN) */
#define SLOTMAP_MAX_NODES  32767  /* slot entries are int16_t */
#define SLOTMAP_SOURCE_LEN 16

enum { SLOTMAP_MASTER = 0, SLOTMAP_REPLICA = 1 };

/* Health flags of a node in a snapshot. */
#define SLOTMAP_F_PFAIL   0x01  /* some node reports it unreachable (gossip fail?) */
#define SLOTMAP_F_FAIL    0x02  /* the cluster marked it failed (gossip fail) */
#define SLOTMAP_F_NOREPLY 0x04  /* the observer gets no PONG from its bus port */

typedef struct slotmap_node {
    char     id[SLOTMAP_IDLEN + 1];
    char     ip[SLOTMAP_IPLEN + 1];
    uint16_t port;                 /* client port */
    uint16_t cport;                /* bus port */
    uint8_t  role;                 /* SLOTMAP_MASTER / SLOTMAP_REPLICA */
    uint8_t  flags;                /* SLOTMAP_F_* */
    int32_t  master;               /* replicas: index of the master, else -1
                                    * (also -1 while the master is unknown) */
    char     master_id[SLOTMAP_IDLEN + 1]; /* replicas: as reported; else "" */
    uint64_t config_epoch;         /* 0 when unknown (bootstrap data) */
    uint32_t n_slots;              /* slots this node serves in this map */
    const int32_t *replicas;       /* masters: indexes of their replicas */
    uint32_t n_replicas;
} slotmap_node;

/* Treat every field as read-only once the snapshot is published. */
typedef struct slotmap {
    uint64_t version;              /* 1, 2, ... assigned by publish */
    long long created_ms;          /* wall clock (ms) when built */
    char     source[SLOTMAP_SOURCE_LEN]; /* "bus", "bootstrap", ... */
    uint64_t current_epoch;        /* highest currentEpoch seen */
    uint32_t n_nodes;
    slotmap_node *nodes;           /* sorted by id */
    int16_t  slots[SLOTMAP_NSLOTS];/* node index or SLOTMAP_NO_NODE */
    /* private to the builder and the domain */
    int32_t *replica_idx;
    atomic_int refs;               /* slotmap_acquire pins */
    uint64_t retire_epoch;
    struct slotmap *retired_next;
} slotmap;

/* ---- lookups (any thread holding the snapshot) ------------------------ */
static inline const slotmap_node *slotmap_owner(const slotmap *m, unsigned slot)
{
    int i = m->slots[slot & (SLOTMAP_NSLOTS - 1)];
    return i < 0 ? NULL : &m->nodes[i];
}
static inline int slotmap_owner_index(const slotmap *m, unsigned slot)
{
    return m->slots[slot & (SLOTMAP_NSLOTS - 1)];
}
/* Index of the node with this 40-char ID, or -1. */
int slotmap_find(const slotmap *m, const char *id);

/* Contiguous runs of slots with the same owner (SLOTMAP_NO_NODE included),
 * in slot order. Start with *from = 0; returns 0 when done:
 *   int from = 0; slotmap_range r; while (slotmap_next_range(m, &from, &r)) ... */
typedef struct slotmap_range { int start, end, node; } slotmap_range;
int slotmap_next_range(const slotmap *m, int *from, slotmap_range *r);

/* 1 if both snapshots say the same thing (nodes, roles, epochs, flags,
 * addresses, slots, current epoch); version, time and source are ignored. */
int slotmap_equal(const slotmap *a, const slotmap *b);

/* Human-readable text (PROXY TOPOLOGY): version, source, age, then one line
 * per node with role, epoch, flags and slot ranges. now_ms: wall clock. */
void slotmap_describe(const slotmap *m, buf_t *out, long long now_ms);
/* "fail?,noreply" style text of SLOTMAP_F_* ("-" when none). */
size_t slotmap_flags_str(uint8_t flags, char *out, size_t cap);

/* Free a snapshot that was never published (published ones belong to
 * their domain). NULL is fine. */
void slotmap_free(slotmap *m);

/* ---- builder (single thread) -------------------------------------------
 * Describe every node, say which are masters with which configEpoch and
 * which slots each master claims; build() resolves the claims. A builder
 * can be reset and reused. */
typedef struct slotmap_builder slotmap_builder;

slotmap_builder *slotmap_builder_new(void);
void slotmap_builder_free(slotmap_builder *b);
void slotmap_builder_reset(slotmap_builder *b);
/* Add a node, or update the address of the one with this ID. Returns its
 * builder index, or -1 if the ID is not 40 chars of [0-9a-z] or the map is
 * full. ip may be NULL (unknown). */
int slotmap_builder_node(slotmap_builder *b, const char *id, const char *ip,
                         uint16_t port, uint16_t cport);
/* Role. A master's claims count with config_epoch; a replica claims nothing
 * and is attached to master_id at build time (if that node is a master). */
void slotmap_builder_master(slotmap_builder *b, int idx, uint64_t config_epoch);
void slotmap_builder_replica(slotmap_builder *b, int idx, const char *master_id,
                             uint64_t config_epoch);
void slotmap_builder_flags(slotmap_builder *b, int idx, uint8_t flags);
/* Claims are unions: call as often as needed. bitmap: 2048 bytes, slot s is
 * bit (s & 7) of byte (s >> 3) as on the bus. */
void slotmap_builder_claim_bitmap(slotmap_builder *b, int idx, const uint8_t *bitmap);
void slotmap_builder_claim_range(slotmap_builder *b, int idx, int start, int end);
void slotmap_builder_current_epoch(slotmap_builder *b, uint64_t epoch);
/* Resolve and return a new snapshot (caller owns it until published).
 * Per slot: the master claiming it with the highest configEpoch wins. With
 * prev given: an equal-epoch tie keeps prev's owner, and a slot nobody
 * claims stays with prev's owner while that node is still a master here --
 * like 7.0.13+ nodes, which do not unbind slots their owner stops claiming
 * (bus-protocol.md §9.2). Without prev (or no such owner) a tie goes to the
 * smaller node ID -- the one that wins the epoch-collision round (§9.3) --
 * and an unclaimed slot is SLOTMAP_NO_NODE. source is copied (truncated). */
slotmap *slotmap_builder_build(slotmap_builder *b, const slotmap *prev, const char *source);

/* ---- publication and reclamation ------------------------------------- */
typedef struct slotmap_domain slotmap_domain;
typedef struct slotmap_reader slotmap_reader;

/* max_readers: how many threads may hold a reader slot (workers); the
 * domain keeps one more, internal, for slotmap_acquire. */
slotmap_domain *slotmap_domain_new(int max_readers);
/* Frees the current snapshot and every retired one. No reader may be in a
 * section and no acquired snapshot may still be held. */
void slotmap_domain_free(slotmap_domain *d);
/* Make m current (the domain takes ownership), assign m->version, retire the
 * previous one and reclaim what can be. Any thread (serialised inside).
 * Returns the new version. */
uint64_t slotmap_domain_publish(slotmap_domain *d, slotmap *m);
/* Free retired snapshots whose grace period is over and that nobody holds.
 * Returns how many retired snapshots are still waiting. Any thread. */
size_t slotmap_domain_reclaim(slotmap_domain *d);
/* Version of the current snapshot (0 before the first publish). */
uint64_t slotmap_domain_version(const slotmap_domain *d);

/* Worker fast path. register/unregister once per thread (NULL if all slots
 * are taken). Between begin and end the returned snapshot (NULL before the
 * first publish) stays valid; sections nest; one reader per thread. */
slotmap_reader *slotmap_reader_register(slotmap_domain *d);
void slotmap_reader_unregister(slotmap_reader *r);
const slotmap *slotmap_read_begin(slotmap_reader *r);
void slotmap_read_end(slotmap_reader *r);

/* Any thread, no reader slot needed (takes a mutex: not for per-request
 * use). Returns the current snapshot pinned, or NULL; release exactly once. */
const slotmap *slotmap_acquire(slotmap_domain *d);
void slotmap_release(const slotmap *m);

#endif
