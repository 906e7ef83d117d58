/* Unit tests for common/slotmap: the builder's ownership rules (§9.2
 * highest configEpoch per slot, ties, unclaimed slots, replicas, FAIL
 * masters), range iteration, equality, description, and the reclamation
 * domain under threads that read while a writer publishes. */
#include "slotmap.h"
#include "mem.h"
#include "unit.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* IDs sort as A < B < C < D < E. */
#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccccccccccc"
#define ID_D "dddddddddddddddddddddddddddddddddddddddd"
#define ID_E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static const char *owner_id(const slotmap *m, int slot)
{
    const slotmap_node *n = slotmap_owner(m, (unsigned)slot);
    return n ? n->id : "";
}

TEST(empty_map)
{
    slotmap_builder *b = slotmap_builder_new();
    slotmap *m = slotmap_builder_build(b, NULL, "test");
    CHECK_EQ_INT(m->n_nodes, 0);
    CHECK(slotmap_owner(m, 0) == NULL && slotmap_owner(m, 16383) == NULL);
    CHECK(strcmp(m->source, "test") == 0);
    int from = 0, n = 0;
    slotmap_range r;
    while (slotmap_next_range(m, &from, &r)) n++;
    CHECK_EQ_INT(n, 1);
    CHECK(r.start == 0 && r.end == 16383 && r.node == SLOTMAP_NO_NODE);
    slotmap_free(m);
    slotmap_builder_free(b);
}

TEST(invalid_ids)
{
    slotmap_builder *b = slotmap_builder_new();
    CHECK_EQ_INT(slotmap_builder_node(b, "short", "127.0.0.1", 1, 2), -1);
    CHECK_EQ_INT(slotmap_builder_node(b, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "h", 1, 2), -1);
    CHECK_EQ_INT(slotmap_builder_node(b, NULL, "h", 1, 2), -1);
    int a = slotmap_builder_node(b, ID_A, "127.0.0.1", 7000, 17000);
    CHECK_EQ_INT(a, 0);
    /* Same ID again updates the address, same index. */
    CHECK_EQ_INT(slotmap_builder_node(b, ID_A, "10.0.0.1", 7001, 17001), 0);
    slotmap *m = slotmap_builder_build(b, NULL, "test");
    CHECK_EQ_INT(m->n_nodes, 1);
    CHECK(strcmp(m->nodes[0].ip, "10.0.0.1") == 0 && m->nodes[0].port == 7001 && m->nodes[0].cport == 17001);
    slotmap_free(m);
    slotmap_builder_free(b);
}

TEST(highest_epoch_wins)
{
    slotmap_builder *b = slotmap_builder_new();
    /* Added in non-sorted order on purpose: the map is sorted by ID. */
    int c = slotmap_builder_node(b, ID_C, "127.0.0.1", 7002, 17002);
    int a = slotmap_builder_node(b, ID_A, "127.0.0.1", 7000, 17000);
    int bb = slotmap_builder_node(b, ID_B, "127.0.0.1", 7001, 17001);
    slotmap_builder_master(b, a, 1);
    slotmap_builder_master(b, bb, 5);
    slotmap_builder_master(b, c, 3);
    slotmap_builder_claim_range(b, a, 0, 100);
    slotmap_builder_claim_range(b, bb, 50, 150);     /* beats A on 50-100 */
    slotmap_builder_claim_range(b, c, 120, 200);     /* loses to B on 120-150 */
    uint8_t bm[2048] = {0};
    bm[16383 >> 3] |= 1u << (16383 & 7);
    slotmap_builder_claim_bitmap(b, a, bm);
    slotmap *m = slotmap_builder_build(b, NULL, "bus");
    CHECK_EQ_INT(m->n_nodes, 3);
    CHECK(strcmp(m->nodes[0].id, ID_A) == 0 && strcmp(m->nodes[2].id, ID_C) == 0);
    CHECK(strcmp(owner_id(m, 0), ID_A) == 0);
    CHECK(strcmp(owner_id(m, 49), ID_A) == 0);
    CHECK(strcmp(owner_id(m, 50), ID_B) == 0);
    CHECK(strcmp(owner_id(m, 100), ID_B) == 0);
    CHECK(strcmp(owner_id(m, 150), ID_B) == 0);
    CHECK(strcmp(owner_id(m, 151), ID_C) == 0);
    CHECK(strcmp(owner_id(m, 200), ID_C) == 0);
    CHECK(slotmap_owner(m, 201) == NULL);
    CHECK(strcmp(owner_id(m, 16383), ID_A) == 0);
    CHECK_EQ_INT(m->nodes[0].n_slots, 51);
    CHECK_EQ_INT(m->nodes[1].n_slots, 101);
    CHECK_EQ_INT(m->nodes[2].n_slots, 50);
    CHECK_EQ_INT(m->current_epoch, 5);
    CHECK_EQ_INT(slotmap_find(m, ID_B), 1);
    CHECK_EQ_INT(slotmap_find(m, ID_D), -1);
    slotmap_free(m);

    /* Claim order does not matter: the same claims the other way round. */
    slotmap_builder_reset(b);
    a = slotmap_builder_node(b, ID_A, "127.0.0.1", 7000, 17000);
    bb = slotmap_builder_node(b, ID_B, "127.0.0.1", 7001, 17001);
    slotmap_builder_master(b, bb, 1);
    slotmap_builder_master(b, a, 9);
    slotmap_builder_claim_range(b, bb, 0, 16383);
    slotmap_builder_claim_range(b, a, 1000, 1999);
    m = slotmap_builder_build(b, NULL, "bus");
    CHECK(strcmp(owner_id(m, 999), ID_B) == 0);
    CHECK(strcmp(owner_id(m, 1000), ID_A) == 0);
    CHECK(strcmp(owner_id(m, 1999), ID_A) == 0);
    CHECK(strcmp(owner_id(m, 2000), ID_B) == 0);
    slotmap_free(m);
    slotmap_builder_free(b);
}

TEST(ties_and_unclaimed_with_prev)
{
    slotmap_builder *b = slotmap_builder_new();
    int a = slotmap_builder_node(b, ID_A, "127.0.0.1", 7000, 17000);
    int bb = slotmap_builder_node(b, ID_B, "127.0.0.1", 7001, 17001);
    slotmap_builder_master(b, a, 4);
    slotmap_builder_master(b, bb, 4);
    slotmap_builder_claim_range(b, a, 0, 9);
    slotmap_builder_claim_range(b, bb, 0, 9);
    /* No history: the smaller ID wins an equal-epoch tie. */
    slotmap *m0 = slotmap_builder_build(b, NULL, "bus");
    CHECK(strcmp(owner_id(m0, 5), ID_A) == 0);
    slotmap_free(m0);

    /* Previous owner B keeps a tie. */
    slotmap_builder *pb = slotmap_builder_new();
    int pbb = slotmap_builder_node(pb, ID_B, "127.0.0.1", 7001, 17001);
    int pa = slotmap_builder_node(pb, ID_A, "127.0.0.1", 7000, 17000);
    slotmap_builder_master(pb, pbb, 4);
    slotmap_builder_master(pb, pa, 3);
    slotmap_builder_claim_range(pb, pbb, 0, 20);
    slotmap_builder_claim_range(pb, pa, 21, 30);
    slotmap *prev = slotmap_builder_build(pb, NULL, "bus");
    slotmap *m = slotmap_builder_build(b, prev, "bus");
    CHECK(strcmp(owner_id(m, 5), ID_B) == 0);
    /* 10-20: nobody claims them now, B (still a master) keeps them. */
    CHECK(strcmp(owner_id(m, 15), ID_B) == 0);
    CHECK(strcmp(owner_id(m, 25), ID_A) == 0);
    CHECK(slotmap_owner(m, 31) == NULL);
    slotmap_free(m);

    /* If B became a replica, its unclaimed slots are not kept for it. */
    slotmap_builder_replica(b, bb, ID_A, 4);
    m = slotmap_builder_build(b, prev, "bus");
    CHECK(strcmp(owner_id(m, 5), ID_A) == 0);
    CHECK(slotmap_owner(m, 15) == NULL);
    CHECK(strcmp(owner_id(m, 25), ID_A) == 0);
    slotmap_free(m);
    slotmap_free(prev);
    slotmap_builder_free(pb);
    slotmap_builder_free(b);
}

TEST(replicas_attach)
{
    slotmap_builder *b = slotmap_builder_new();
    int e = slotmap_builder_node(b, ID_E, "127.0.0.1", 7004, 17004);
    int c = slotmap_builder_node(b, ID_C, "127.0.0.1", 7002, 17002);
    int a = slotmap_builder_node(b, ID_A, "127.0.0.1", 7000, 17000);
    int d = slotmap_builder_node(b, ID_D, "127.0.0.1", 7003, 17003);
    int bb = slotmap_builder_node(b, ID_B, "127.0.0.1", 7001, 17001);
    slotmap_builder_master(b, a, 2);
    slotmap_builder_claim_range(b, a, 0, 16383);
    slotmap_builder_replica(b, e, ID_A, 2);
    slotmap_builder_replica(b, c, ID_A, 2);
    /* A replica's claim never counts (it advertises its master's slots). */
    slotmap_builder_claim_range(b, c, 0, 100);
    /* Replica of an unknown node, and replica of a replica. */
    slotmap_builder_replica(b, d, "ffffffffffffffffffffffffffffffffffffffff", 0);
    slotmap_builder_replica(b, bb, ID_C, 2);
    slotmap *m = slotmap_builder_build(b, NULL, "bus");
    int ia = slotmap_find(m, ID_A), ic = slotmap_find(m, ID_C), ie = slotmap_find(m, ID_E);
    int id = slotmap_find(m, ID_D), ib = slotmap_find(m, ID_B);
    CHECK_EQ_INT(m->nodes[ia].n_replicas, 2);
    CHECK_EQ_INT(m->nodes[ia].replicas[0], ic);   /* ID order */
    CHECK_EQ_INT(m->nodes[ia].replicas[1], ie);
    CHECK_EQ_INT(m->nodes[ic].master, ia);
    CHECK_EQ_INT(m->nodes[ie].master, ia);
    CHECK_EQ_INT(m->nodes[ic].role, SLOTMAP_REPLICA);
    CHECK_EQ_INT(m->nodes[id].master, -1);
    CHECK(strcmp(m->nodes[id].master_id, "ffffffffffffffffffffffffffffffffffffffff") == 0);
    CHECK_EQ_INT(m->nodes[ib].master, -1);
    CHECK_EQ_INT(m->nodes[ic].n_replicas, 0);
    CHECK_EQ_INT(m->nodes[ia].n_slots, 16384);
    CHECK_EQ_INT(m->nodes[ic].n_slots, 0);
    CHECK(m->nodes[ia].master_id[0] == '\0');
    slotmap_free(m);
    slotmap_builder_free(b);
}

TEST(fail_master_and_failover)
{
    slotmap_builder *b = slotmap_builder_new();
    int a = slotmap_builder_node(b, ID_A, "127.0.0.1", 7000, 17000);
    int bb = slotmap_builder_node(b, ID_B, "127.0.0.1", 7001, 17001);
    slotmap_builder_master(b, a, 3);
    slotmap_builder_claim_range(b, a, 0, 8191);
    slotmap_builder_flags(b, a, SLOTMAP_F_FAIL | SLOTMAP_F_NOREPLY);
    slotmap_builder_replica(b, bb, ID_A, 3);
    slotmap *m = slotmap_builder_build(b, NULL, "bus");
    /* A FAIL master still owns its slots until someone claims them higher. */
    CHECK(strcmp(owner_id(m, 0), ID_A) == 0);
    CHECK_EQ_INT(m->nodes[0].flags, SLOTMAP_F_FAIL | SLOTMAP_F_NOREPLY);
    CHECK_EQ_INT(m->nodes[0].n_replicas, 1);
    /* The replica is promoted with a bumped epoch: it takes the slots even
     * though the dead master's last (stale) claim is still in the input. */
    slotmap_builder_master(b, bb, 7);
    slotmap_builder_claim_range(b, bb, 0, 8191);
    slotmap *m2 = slotmap_builder_build(b, m, "bus");
    CHECK(strcmp(owner_id(m2, 0), ID_B) == 0);
    CHECK(strcmp(owner_id(m2, 8191), ID_B) == 0);
    CHECK_EQ_INT(m2->nodes[0].n_slots, 0);
    CHECK_EQ_INT(m2->nodes[0].n_replicas, 0);
    CHECK(!slotmap_equal(m, m2));
    char buf[64];
    slotmap_flags_str(m2->nodes[0].flags, buf, sizeof(buf));
    CHECK(strcmp(buf, "fail,noreply") == 0);
    slotmap_flags_str(0, buf, sizeof(buf));
    CHECK(strcmp(buf, "-") == 0);
    slotmap_flags_str(SLOTMAP_F_PFAIL, buf, sizeof(buf));
    CHECK(strcmp(buf, "fail?") == 0);
    slotmap_free(m);
    slotmap_free(m2);
    slotmap_builder_free(b);
}

TEST(ranges_and_equal)
{
    slotmap_builder *b = slotmap_builder_new();
    int a = slotmap_builder_node(b, ID_A, "127.0.0.1", 7000, 17000);
    int bb = slotmap_builder_node(b, ID_B, "127.0.0.1", 7001, 17001);
    slotmap_builder_master(b, a, 1);
    slotmap_builder_master(b, bb, 2);
    slotmap_builder_claim_range(b, a, 0, 5460);
    slotmap_builder_claim_range(b, bb, 5461, 10922);
    slotmap_builder_claim_range(b, a, 10923, 16000);
    slotmap_builder_claim_range(b, bb, 16383, 16383);
    slotmap *m = slotmap_builder_build(b, NULL, "bus");
    static const int want[][3] = {
        { 0, 5460, 0 }, { 5461, 10922, 1 }, { 10923, 16000, 0 },
        { 16001, 16382, SLOTMAP_NO_NODE }, { 16383, 16383, 1 },
    };
    int from = 0, i = 0, covered = 0;
    slotmap_range r;
    while (slotmap_next_range(m, &from, &r)) {
        if (i < 5) {
            CHECK_EQ_INT(r.start, want[i][0]);
            CHECK_EQ_INT(r.end, want[i][1]);
            CHECK_EQ_INT(r.node, want[i][2]);
        }
        covered += r.end - r.start + 1;
        i++;
    }
    CHECK_EQ_INT(i, 5);
    CHECK_EQ_INT(covered, 16384);
    from = 16384;
    CHECK(!slotmap_next_range(m, &from, &r));

    /* Same content, other version/source/time: equal. */
    slotmap *m2 = slotmap_builder_build(b, NULL, "bootstrap");
    m2->version = 99;
    m2->created_ms += 1000;
    CHECK(slotmap_equal(m, m2));
    slotmap_free(m2);
    slotmap_builder_flags(b, bb, SLOTMAP_F_PFAIL);
    m2 = slotmap_builder_build(b, NULL, "bus");
    CHECK(!slotmap_equal(m, m2));
    slotmap_free(m2);
    slotmap_builder_flags(b, bb, 0);
    slotmap_builder_master(b, bb, 3);
    m2 = slotmap_builder_build(b, NULL, "bus");
    CHECK(!slotmap_equal(m, m2));
    slotmap_free(m2);
    slotmap_builder_node(b, ID_B, "127.0.0.2", 7001, 17001);
    slotmap_builder_master(b, bb, 2);
    m2 = slotmap_builder_build(b, NULL, "bus");
    CHECK(!slotmap_equal(m, m2));
    CHECK(!slotmap_equal(m, NULL));
    CHECK(slotmap_equal(NULL, NULL));

    buf_t out;
    buf_init(&out);
    m->version = 3;
    slotmap_describe(m, &out, m->created_ms + 250);
    buf_append(&out, "", 1);
    CHECK(strstr(out.p, "version:3\r\n") != NULL);
    CHECK(strstr(out.p, "source:bus\r\n") != NULL);
    CHECK(strstr(out.p, "age_ms:250\r\n") != NULL);
    CHECK(strstr(out.p, "slots_assigned:16002\r\n") != NULL);
    CHECK(strstr(out.p, "node:" ID_A " 127.0.0.1:7000@17000 master epoch=1 flags=- replicas=0 "
                        "slots=0-5460,10923-16000\r\n") != NULL);
    CHECK(strstr(out.p, "slots=5461-10922,16383\r\n") != NULL);
    buf_free(&out);
    slotmap_free(m2);
    slotmap_free(m);
    slotmap_builder_free(b);
}

/* ---- reclamation ----------------------------------------------------------- */

/* A map whose every slot points at node (v % 3) and whose current epoch is
 * v: readers check that the contents they see are self-consistent. */
static slotmap *make_versioned(uint64_t v)
{
    slotmap_builder *b = slotmap_builder_new();
    const char *ids[3] = { ID_A, ID_B, ID_C };
    for (int i = 0; i < 3; i++) {
        int x = slotmap_builder_node(b, ids[i], "127.0.0.1", (uint16_t)(7000 + i), (uint16_t)(17000 + i));
        slotmap_builder_master(b, x, i == (int)(v % 3) ? v : 0);
        if (i == (int)(v % 3)) slotmap_builder_claim_range(b, x, 0, 16383);
    }
    slotmap_builder_current_epoch(b, v);
    slotmap *m = slotmap_builder_build(b, NULL, "test");
    slotmap_builder_free(b);
    return m;
}

static int map_consistent(const slotmap *m)
{
    uint64_t v = m->current_epoch;
    int owner = (int)(v % 3);
    if (m->n_nodes != 3) return 0;
    for (int s = 0; s < SLOTMAP_NSLOTS; s += 997)
        if (m->slots[s] != owner) return 0;
    return m->nodes[owner].config_epoch == v && m->nodes[owner].n_slots == SLOTMAP_NSLOTS;
}

TEST(reader_blocks_reclaim)
{
    slotmap_domain *d = slotmap_domain_new(2);
    slotmap_reader *r1 = slotmap_reader_register(d);
    slotmap_reader *r2 = slotmap_reader_register(d);
    CHECK(r1 && r2 && r1 != r2);
    CHECK(slotmap_reader_register(d) == NULL);      /* full */
    CHECK(slotmap_read_begin(r1) == NULL);          /* nothing published yet */
    slotmap_read_end(r1);
    CHECK_EQ_INT(slotmap_domain_version(d), 0);

    CHECK_EQ_INT(slotmap_domain_publish(d, make_versioned(1)), 1);
    const slotmap *held = slotmap_read_begin(r1);
    CHECK(held && held->version == 1);
    const slotmap *nested = slotmap_read_begin(r1);  /* nesting is fine */
    CHECK(nested == held);
    CHECK_EQ_INT(slotmap_domain_publish(d, make_versioned(2)), 2);
    CHECK_EQ_INT(slotmap_domain_reclaim(d), 1);      /* r1 still sees v1 */
    slotmap_read_end(r1);
    CHECK_EQ_INT(slotmap_domain_reclaim(d), 1);      /* still inside the outer section */
    CHECK(map_consistent(held));
    slotmap_read_end(r1);
    CHECK_EQ_INT(slotmap_domain_reclaim(d), 0);

    /* A reader that entered after the swap does not hold anything back. */
    const slotmap *cur = slotmap_read_begin(r2);
    CHECK(cur->version == 2);
    slotmap_domain_publish(d, make_versioned(3));
    CHECK_EQ_INT(slotmap_domain_reclaim(d), 1);      /* r2 holds v2 */
    slotmap_read_end(r2);
    CHECK_EQ_INT(slotmap_domain_reclaim(d), 0);

    /* acquire pins across publishes until released. */
    const slotmap *pinned = slotmap_acquire(d);
    CHECK(pinned && pinned->version == 3);
    slotmap_domain_publish(d, make_versioned(4));
    slotmap_domain_publish(d, make_versioned(5));
    CHECK_EQ_INT(slotmap_domain_reclaim(d), 1);      /* v3 pinned, v4 freed */
    CHECK(map_consistent(pinned));
    slotmap_release(pinned);
    CHECK_EQ_INT(slotmap_domain_reclaim(d), 0);

    /* Unregister frees the slot for another thread. */
    slotmap_reader_unregister(r1);
    slotmap_reader *r3 = slotmap_reader_register(d);
    CHECK(r3 == r1);
    slotmap_reader_unregister(r3);
    slotmap_reader_unregister(r2);
    slotmap_domain_free(d);
}

#define N_READERS 4
#define N_PUBLISH 3000

typedef struct {
    slotmap_domain *d;
    atomic_int *stop;
    long reads, bad, versions_seen;
    int use_acquire;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = p;
    slotmap_reader *r = a->use_acquire ? NULL : slotmap_reader_register(a->d);
    if (!a->use_acquire && !r) { a->bad++; return NULL; }
    uint64_t last = 0;
    while (!atomic_load(a->stop)) {
        const slotmap *m = a->use_acquire ? slotmap_acquire(a->d) : slotmap_read_begin(r);
        if (m) {
            if (!map_consistent(m)) a->bad++;
            if (m->version < last) a->bad++;           /* versions never go back */
            if (m->version != last) a->versions_seen++;
            last = m->version;
            /* Touch it again a little later: still valid. */
            for (volatile int spin = 0; spin < 200; spin++) {}
            if (m->nodes[m->slots[42]].config_epoch != m->current_epoch) a->bad++;
        }
        if (a->use_acquire) slotmap_release(m);
        else slotmap_read_end(r);
        a->reads++;
    }
    slotmap_reader_unregister(r);
    return NULL;
}

TEST(reclaim_under_threads)
{
    slotmap_domain *d = slotmap_domain_new(N_READERS);
    atomic_int stop;
    atomic_init(&stop, 0);
    pthread_t th[N_READERS + 1];
    reader_arg args[N_READERS + 1];
    for (int i = 0; i <= N_READERS; i++) {
        args[i] = (reader_arg){ .d = d, .stop = &stop, .use_acquire = i == N_READERS };
        pthread_create(&th[i], NULL, reader_main, &args[i]);
    }
    size_t max_pending = 0;
    for (uint64_t v = 1; v <= N_PUBLISH; v++) {
        slotmap_domain_publish(d, make_versioned(v));
        size_t pending = slotmap_domain_reclaim(d);
        if (pending > max_pending) max_pending = pending;
    }
    atomic_store(&stop, 1);
    long reads = 0, bad = 0;
    for (int i = 0; i <= N_READERS; i++) {
        pthread_join(th[i], NULL);
        reads += args[i].reads;
        bad += args[i].bad;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(reads > 0);
    /* Everything retired is freed once nobody reads. */
    CHECK_EQ_INT(slotmap_domain_reclaim(d), 0);
    CHECK_EQ_INT(slotmap_domain_version(d), N_PUBLISH);
    /* Pending can grow while a reader is preempted inside a section (epoch
     * schemes are conservative), but never past what was published. */
    CHECK(max_pending < N_PUBLISH);
    slotmap_domain_free(d);
}

int main(void)
{
    size_t before = mem_used();
    RUN(empty_map);
    RUN(invalid_ids);
    RUN(highest_epoch_wins);
    RUN(ties_and_unclaimed_with_prev);
    RUN(replicas_attach);
    RUN(fail_master_and_failover);
    RUN(ranges_and_equal);
    RUN(reader_blocks_reclaim);
    RUN(reclaim_under_threads);
    /* Every snapshot, builder and domain was freed. */
    if (mem_used() != before) {
        fprintf(stderr, "  FAIL leak: %zu bytes still allocated\n", mem_used() - before);
        unit_tests_failed++;
    }
    return UNIT_DONE();
}
