/* Unit tests of the cluster core without sockets: the §9.2 slot update
 * rule, §9.3 epoch collisions, epoch bumps, §8 failure reports / PFAIL /
 * FAIL / clearing, §8.4 state evaluation, node table bookkeeping. Nodes
 * are built by hand and the functions driven directly; the clock is
 * srv.now_ms, moved by the tests. */
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "obj.h"
#include "server.h"
#include "unit.h"
#include <stdlib.h>
#include <unistd.h>

static char conf_path[256];

/* A 40-char node name made of one repeated hex digit. */
static const char *nm(char c)
{
    static char b[8][BUS_NAMELEN + 1];
    static int i;
    char *s = b[i++ & 7];
    memset(s, c, BUS_NAMELEN);
    s[BUS_NAMELEN] = 0;
    return s;
}

static cluster_node *mk(char c, uint16_t flags)
{
    cluster_node *n = cluster_node_new(nm(c), flags);
    strcpy(n->ip, "127.0.0.1");
    n->port = 7000;
    n->cport = 17000;
    CHECK_EQ_INT(cluster_add_node(n), 0);
    return n;
}

/* Fresh state: myself named with `me` (a hex digit), master, epochs 0. */
static cluster_node *setup(char me)
{
    cfg.cluster_node_timeout = 2000;
    cfg.cluster_require_full_coverage = 1;
    srv.now_ms = 1000000000000LL;
    cluster_state_new();
    snprintf(cluster->config_path, sizeof(cluster->config_path), "%s", conf_path);
    cluster->myself = mk(me, BUS_NODE_MYSELF | BUS_NODE_MASTER);
    return cluster->myself;
}

static void teardown(void)
{
    cluster_state_free();
    unlink(conf_path);
}

static void add_range(cluster_node *n, int a, int b)
{
    for (int s = a; s <= b; s++) CHECK_EQ_INT(cluster_add_slot(n, s), 0);
}

static void bitmap_range(uint8_t *bm, int a, int b)
{
    for (int s = a; s <= b; s++) bus_slot_set(bm, (unsigned)s);
}

TEST(node_table_basics)
{
    cluster_node *me = setup('5');
    CHECK(cluster_lookup(me->name, BUS_NAMELEN) == me);
    CHECK(cluster_lookup("zz", 2) == NULL);
    /* Redis's ID check: [a-z0-9]{40}; anything else is unknown. */
    char bad[BUS_NAMELEN];
    memset(bad, 'A', sizeof(bad));
    CHECK(cluster_lookup(bad, BUS_NAMELEN) == NULL);

    cluster_node *a = mk('a', BUS_NODE_MASTER);
    CHECK_EQ_INT(cluster_add_node(a), -1);   /* duplicate name */
    cluster_node *h = cluster_node_new(NULL, BUS_NODE_HANDSHAKE);
    CHECK(bus_nodeid_valid(h->name, BUS_NAMELEN));
    cluster_add_node(h);
    CHECK_EQ_INT(cluster_count_known_nodes(), 2);   /* handshake excluded */
    cluster_rename_node(h, nm('b'));
    CHECK(cluster_lookup(nm('b'), BUS_NAMELEN) == h);
    CHECK_EQ_INT(cluster_add_slot(a, 10), 0);
    CHECK_EQ_INT(cluster_add_slot(h, 10), -1);      /* already owned */
    CHECK_EQ_INT(a->numslots, 1);
    CHECK(bus_slot_get(a->slots, 10));

    /* Deleting a node drops its slots, open slots and the reports it filed. */
    cluster->importing_from[20] = a;
    cluster_fail_report_add(h, a);
    CHECK_EQ_INT(h->nreports, 1);
    cluster_del_node(a);
    CHECK(cluster->slots[10] == NULL);
    CHECK(cluster->importing_from[20] == NULL);
    CHECK_EQ_INT(h->nreports, 0);
    CHECK(cluster_lookup(nm('a'), BUS_NAMELEN) == NULL);

    /* Replica bookkeeping. */
    cluster_node *m = mk('c', BUS_NODE_MASTER), *r = mk('d', BUS_NODE_SLAVE);
    cluster_set_master(r, m);
    CHECK(r->master == m);
    CHECK_EQ_INT(m->nreplicas, 1);
    CHECK(m->flags & BUS_NODE_MIGRATE_TO);
    cluster_set_node_as_master(r);
    CHECK(r->master == NULL && (r->flags & BUS_NODE_MASTER) && !(r->flags & BUS_NODE_SLAVE));
    CHECK_EQ_INT(m->nreplicas, 0);
    CHECK(r->flags & BUS_NODE_MIGRATE_TO);
    cluster_set_master(r, m);
    cluster_del_node(m);
    CHECK(r->master == NULL);
    teardown();
}

TEST(blacklist)
{
    setup('5');
    CHECK(!cluster_blacklist_exists(nm('a')));
    cluster_blacklist_add(nm('a'));
    CHECK(cluster_blacklist_exists(nm('a')));
    srv.now_ms += 59000;
    CHECK(cluster_blacklist_exists(nm('a')));
    srv.now_ms += 2000;
    CHECK(!cluster_blacklist_exists(nm('a')));
    teardown();
}

TEST(slot_update_rule)
{
    cluster_node *me = setup('5');
    cluster_node *a = mk('a', BUS_NODE_MASTER), *b = mk('b', BUS_NODE_MASTER);
    a->config_epoch = 3;
    add_range(me, 0, 99);
    me->config_epoch = 2;
    uint8_t bm[BUS_SLOT_BYTES];

    /* Unassigned slots go to the claimant whatever its epoch. */
    memset(bm, 0, sizeof(bm));
    bitmap_range(bm, 1000, 1999);
    cluster_update_slots_config(a, 0, bm);
    CHECK(cluster->slots[1000] == a && cluster->slots[1999] == a);
    CHECK_EQ_INT(a->numslots, 1000);
    CHECK(cluster->todo & CLUSTER_TODO_SAVE_CONFIG);
    CHECK(cluster->todo & CLUSTER_TODO_FSYNC_CONFIG);

    /* A lower or equal epoch does not steal a bound slot; a higher one does. */
    memset(bm, 0, sizeof(bm));
    bitmap_range(bm, 1000, 1009);
    cluster_update_slots_config(b, 3, bm);
    CHECK(cluster->slots[1000] == a);
    cluster_update_slots_config(b, 4, bm);
    CHECK(cluster->slots[1000] == b && cluster->slots[1009] == b && cluster->slots[1010] == a);
    CHECK_EQ_INT(a->numslots, 990);

    /* Importing slots are never changed by gossip. */
    cluster->importing_from[1500] = b;
    memset(bm, 0, sizeof(bm));
    bitmap_range(bm, 1499, 1501);
    cluster_update_slots_config(b, 10, bm);
    CHECK(cluster->slots[1499] == b && cluster->slots[1500] == a && cluster->slots[1501] == b);
    cluster->importing_from[1500] = NULL;

    /* The owner stops claiming a slot: it stays bound (marked), and any
     * claimant may take it, even with a lower epoch. */
    memset(bm, 0, sizeof(bm));
    bitmap_range(bm, 1010, 1498);
    bitmap_range(bm, 1502, 1998);   /* a no longer claims 1500 and 1999 */
    cluster_update_slots_config(a, 3, bm);
    CHECK(cluster->slots[1999] == a);
    CHECK(cluster_slot_owner_not_claiming(1999));
    CHECK(cluster_slot_owner_not_claiming(1500));
    CHECK(!cluster_slot_owner_not_claiming(1998));
    memset(bm, 0, sizeof(bm));
    bus_slot_set(bm, 1999);
    cluster_update_slots_config(b, 1, bm);
    CHECK(cluster->slots[1999] == b);
    CHECK(!cluster_slot_owner_not_claiming(1999));

    /* Claiming again clears the mark. */
    memset(bm, 0, sizeof(bm));
    bitmap_range(bm, 1010, 1498);
    bitmap_range(bm, 1500, 1998);
    cluster_update_slots_config(a, 3, bm);
    CHECK(!cluster_slot_owner_not_claiming(1500));

    /* An update about myself is discarded. */
    memset(bm, 0, sizeof(bm));
    bitmap_range(bm, 5000, 5001);
    cluster_update_slots_config(me, 100, bm);
    CHECK(cluster->slots[5000] == NULL);
    teardown();
}

TEST(slot_update_dirty_slots_delete_keys)
{
    cluster_node *me = setup('5');
    db_init_all(1);
    db_enable_slots();
    db *d = db_get(0);
    /* "hello" -> 866, "bar" -> 5061 */
    db_add(d, "hello", 5, OBJ_STRING, OBJ_ENC_INT, obj_int_to_val(1));
    db_add(d, "bar", 3, OBJ_STRING, OBJ_ENC_INT, obj_int_to_val(2));
    CHECK_EQ_INT(db_slot_count(866), 1);
    add_range(me, 0, 8191);
    me->config_epoch = 1;
    cluster_node *a = mk('a', BUS_NODE_MASTER);
    uint8_t bm[BUS_SLOT_BYTES] = {0};
    bitmap_range(bm, 800, 900);
    cluster_update_slots_config(a, 2, bm);
    /* Still a master with slots: keys of the lost slot are deleted. */
    CHECK(cluster->slots[866] == a);
    CHECK(me->flags & BUS_NODE_MASTER);
    CHECK_EQ_INT(db_slot_count(866), 0);
    CHECK_EQ_INT(db_slot_count(5061), 1);
    db_flush(d);
    teardown();
}

TEST(slot_update_demotes_master_that_lost_everything)
{
    cluster_node *me = setup('5');
    add_range(me, 0, 99);
    me->config_epoch = 1;
    cluster_node *a = mk('a', BUS_NODE_MASTER);
    cluster->migrating_to[50] = a;
    uint8_t bm[BUS_SLOT_BYTES] = {0};
    bitmap_range(bm, 0, 99);
    cluster_update_slots_config(a, 2, bm);
    CHECK_EQ_INT(me->numslots, 0);
    CHECK(me->flags & BUS_NODE_SLAVE);
    CHECK(!(me->flags & BUS_NODE_MASTER));
    CHECK(me->master == a);
    CHECK_EQ_INT(a->nreplicas, 1);
    CHECK(cluster->migrating_to[50] == NULL);   /* a replica has no open slots */
    teardown();
}

TEST(slot_update_replica_follows)
{
    /* I replicate m; m's slots move to n with a greater epoch: I follow n. */
    cluster_node *me = setup('5');
    cluster_node *m = mk('a', BUS_NODE_MASTER), *n = mk('b', BUS_NODE_MASTER);
    me->flags = BUS_NODE_MYSELF | BUS_NODE_SLAVE;
    cluster_set_master(me, m);
    add_range(m, 0, 99);
    m->config_epoch = 1;
    uint8_t bm[BUS_SLOT_BYTES] = {0};
    bitmap_range(bm, 0, 99);
    cluster_update_slots_config(n, 2, bm);
    CHECK(me->master == n);
    CHECK_EQ_INT(m->nreplicas, 0);

    /* Sub-replica: my master turned into a replica of g -> I follow g. */
    cluster_node *g = mk('c', BUS_NODE_MASTER);
    n->flags = BUS_NODE_SLAVE;
    cluster_set_master(n, g);
    memset(bm, 0, sizeof(bm));
    bitmap_range(bm, 200, 201);
    cluster_update_slots_config(g, 5, bm);
    CHECK(me->master == g);
    teardown();
}

TEST(epoch_collision)
{
    cluster_node *me = setup('5');
    cluster_node *lo = mk('1', BUS_NODE_MASTER), *hi = mk('9', BUS_NODE_MASTER);
    cluster->current_epoch = 7;
    me->config_epoch = lo->config_epoch = hi->config_epoch = 7;
    /* The sender's ID is smaller: I keep my epoch. */
    cluster_handle_epoch_collision(lo);
    CHECK_EQ_INT(me->config_epoch, 7);
    CHECK_EQ_INT(cluster->current_epoch, 7);
    /* The sender's ID is greater: I move to a fresh epoch. */
    cluster_handle_epoch_collision(hi);
    CHECK_EQ_INT(cluster->current_epoch, 8);
    CHECK_EQ_INT(me->config_epoch, 8);
    /* No collision any more: nothing happens. */
    cluster_handle_epoch_collision(hi);
    CHECK_EQ_INT(me->config_epoch, 8);
    /* Replicas never collide. */
    hi->config_epoch = 8;
    hi->flags = BUS_NODE_SLAVE;
    cluster_handle_epoch_collision(hi);
    CHECK_EQ_INT(me->config_epoch, 8);
    teardown();
}

TEST(epoch_collision_converges)
{
    /* Simulate §9.3 among 5 masters all at epoch 0, exchanging PINGs in
     * rounds: every node ends with a unique configEpoch. */
    cluster_node *me = setup('5');
    const char ids[5] = {'1', '3', '5', '7', '9'};
    uint64_t cfg_e[5] = {0}, cur[5] = {0};
    (void)me;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 5; j++) {
                if (i == j) continue;
                /* Node i receives a ping from j: adopt currentEpoch, then
                 * collision handling as node i (smaller ID moves). */
                if (cur[j] > cur[i]) cur[i] = cur[j];
                if (cfg_e[i] == cfg_e[j] && ids[i] < ids[j]) {
                    cur[i]++;
                    cfg_e[i] = cur[i];
                }
            }
        }
    }
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++) CHECK(cfg_e[i] != cfg_e[j]);
    /* And the real function agrees with the model for one step. */
    cluster_node *nine = mk('9', BUS_NODE_MASTER);
    cluster_handle_epoch_collision(nine);
    CHECK_EQ_INT(cluster->myself->config_epoch, 1);
    teardown();
}

TEST(bump_epoch_without_consensus)
{
    cluster_node *me = setup('5');
    cluster_node *a = mk('a', BUS_NODE_MASTER);
    /* configEpoch 0: always bumps. */
    CHECK_EQ_INT(cluster_bump_epoch_without_consensus(), 1);
    CHECK_EQ_INT(cluster->current_epoch, 1);
    CHECK_EQ_INT(me->config_epoch, 1);
    CHECK(cluster->todo & CLUSTER_TODO_FSYNC_CONFIG);
    /* Already the max: STILL. */
    CHECK_EQ_INT(cluster_bump_epoch_without_consensus(), 0);
    CHECK_EQ_INT(me->config_epoch, 1);
    /* Someone has a greater one: bump past the current epoch. */
    a->config_epoch = 5;
    cluster->current_epoch = 5;
    CHECK_EQ_INT(cluster_get_max_epoch(), 5);
    CHECK_EQ_INT(cluster_bump_epoch_without_consensus(), 1);
    CHECK_EQ_INT(me->config_epoch, 6);
    CHECK_EQ_INT(cluster->current_epoch, 6);
    teardown();
}

TEST(failure_reports)
{
    setup('5');
    cluster_node *x = mk('a', BUS_NODE_MASTER), *r1 = mk('b', BUS_NODE_MASTER), *r2 = mk('c', BUS_NODE_MASTER);
    CHECK_EQ_INT(cluster_fail_report_add(x, r1), 1);
    CHECK_EQ_INT(cluster_fail_report_add(x, r1), 0);   /* refresh */
    CHECK_EQ_INT(cluster_fail_report_add(x, r2), 1);
    CHECK_EQ_INT(cluster_fail_report_count(x), 2);
    /* Validity: 2 x node timeout (4000 ms here). */
    srv.now_ms += 3000;
    cluster_fail_report_add(x, r2);   /* refreshed: younger */
    srv.now_ms += 1500;               /* r1's report is 4500 ms old */
    CHECK_EQ_INT(cluster_fail_report_count(x), 1);
    cluster_fail_report_del(x, r2);
    CHECK_EQ_INT(cluster_fail_report_count(x), 0);
    teardown();
}

/* 5 masters with slots (me + 4): quorum 3. */
static cluster_node *five_masters(cluster_node **o)
{
    cluster_node *me = setup('5');
    for (int i = 0; i < 4; i++) o[i] = mk("abcd"[i], BUS_NODE_MASTER);
    add_range(me, 0, 3275);
    for (int i = 0; i < 4; i++) add_range(o[i], 3276 * (i + 1), i == 3 ? 16383 : 3276 * (i + 2) - 1);
    cluster_update_state();   /* first evaluation starts the writable delay */
    srv.now_ms += 3000;
    cluster_update_state();
    CHECK_EQ_INT(cluster->size, 5);
    CHECK_EQ_INT(cluster->state, CLUSTER_OK);
    return me;
}

TEST(pfail_to_fail_quorum)
{
    cluster_node *o[4];
    cluster_node *me = five_masters(o);
    cluster_node *x = o[0];
    /* Not PFAIL from our view: reports alone do nothing. */
    cluster_fail_report_add(x, o[1]);
    cluster_fail_report_add(x, o[2]);
    cluster_mark_failing_if_needed(x);
    CHECK(!(x->flags & BUS_NODE_FAIL));
    /* PFAIL + 2 reports + myself (a master) = 3 = quorum. */
    x->flags |= BUS_NODE_PFAIL;
    cluster_fail_report_del(x, o[2]);
    cluster_mark_failing_if_needed(x);
    CHECK(!(x->flags & BUS_NODE_FAIL));            /* 1 + me = 2 < 3 */
    cluster_fail_report_add(x, o[2]);
    cluster_mark_failing_if_needed(x);
    CHECK(x->flags & BUS_NODE_FAIL);
    CHECK(!(x->flags & BUS_NODE_PFAIL));
    CHECK_EQ_INT(x->fail_time_ms, srv.now_ms);
    CHECK(cluster->todo & CLUSTER_TODO_UPDATE_STATE);
    (void)me;
    teardown();
}

TEST(pfail_to_fail_replica_does_not_vote)
{
    cluster_node *o[4];
    cluster_node *me = five_masters(o);
    /* Make myself a replica (slots moved to o[3]): my PFAIL is no vote. */
    for (int s = 0; s <= 3275; s++) {
        cluster_del_slot(s);
        cluster_add_slot(o[3], s);
    }
    me->flags = BUS_NODE_MYSELF | BUS_NODE_SLAVE;
    cluster_set_master(me, o[3]);
    cluster_update_state();
    CHECK_EQ_INT(cluster->size, 4);   /* quorum 3 */
    cluster_node *x = o[0];
    x->flags |= BUS_NODE_PFAIL;
    cluster_fail_report_add(x, o[1]);
    cluster_fail_report_add(x, o[2]);
    cluster_mark_failing_if_needed(x);
    CHECK(!(x->flags & BUS_NODE_FAIL));
    cluster_fail_report_add(x, o[3]);
    cluster_mark_failing_if_needed(x);
    CHECK(x->flags & BUS_NODE_FAIL);
    teardown();
}

TEST(check_pfail)
{
    cluster_node *o[4];
    five_masters(o);
    long long now = srv.now_ms;
    /* Ping pending 2500 ms, no data for 2500 ms: PFAIL. */
    o[0]->ping_sent_ms = now - 2500;
    o[0]->data_received_ms = now - 2500;
    /* Ping pending long, but data arrived recently: alive. */
    o[1]->ping_sent_ms = now - 5000;
    o[1]->data_received_ms = now - 100;
    /* No ping pending: never PFAIL. */
    o[2]->ping_sent_ms = 0;
    /* Handshake nodes are not checked. */
    o[3]->flags |= BUS_NODE_HANDSHAKE;
    o[3]->ping_sent_ms = now - 9000;
    cluster->todo = 0;
    cluster_check_pfail();
    CHECK(o[0]->flags & BUS_NODE_PFAIL);
    CHECK(!(o[1]->flags & BUS_NODE_PFAIL));
    CHECK(!(o[2]->flags & BUS_NODE_PFAIL));
    CHECK(!(o[3]->flags & BUS_NODE_PFAIL));
    CHECK(cluster->todo & CLUSTER_TODO_UPDATE_STATE);
    /* Exactly the timeout is not enough (strictly greater). */
    o[1]->ping_sent_ms = now - 2000;
    o[1]->data_received_ms = now - 2000;
    cluster_check_pfail();
    CHECK(!(o[1]->flags & BUS_NODE_PFAIL));
    teardown();
}

TEST(clear_fail_rules)
{
    cluster_node *o[4];
    five_masters(o);
    /* Master with slots: FAIL stays until 2 x timeout passed. */
    cluster_node *m = o[0];
    m->flags |= BUS_NODE_FAIL;
    m->fail_time_ms = srv.now_ms;
    srv.now_ms += 3000;
    cluster_clear_fail_if_needed(m);
    CHECK(m->flags & BUS_NODE_FAIL);
    srv.now_ms += 1001;
    cluster_clear_fail_if_needed(m);
    CHECK(!(m->flags & BUS_NODE_FAIL));
    /* Replica: cleared at once. */
    cluster_node *r = mk('e', BUS_NODE_SLAVE | BUS_NODE_FAIL);
    r->fail_time_ms = srv.now_ms;
    cluster_clear_fail_if_needed(r);
    CHECK(!(r->flags & BUS_NODE_FAIL));
    /* Master without slots: cleared at once. */
    cluster_node *e = mk('f', BUS_NODE_MASTER | BUS_NODE_FAIL);
    e->fail_time_ms = srv.now_ms;
    cluster_clear_fail_if_needed(e);
    CHECK(!(e->flags & BUS_NODE_FAIL));
    teardown();
}

TEST(state_evaluation)
{
    cluster_node *me = setup('5');
    cluster_node *a = mk('a', BUS_NODE_MASTER), *b = mk('b', BUS_NODE_MASTER);
    add_range(me, 0, 5000);
    add_range(a, 5001, 10000);
    add_range(b, 10001, 16383);
    CHECK_EQ_INT(cluster->state, CLUSTER_FAIL);
    /* A master waits 2 s after its first evaluation before going OK. */
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_FAIL);
    srv.now_ms += 1999;
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_FAIL);
    srv.now_ms += 2;
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_OK);
    CHECK_EQ_INT(cluster->size, 3);

    /* An unassigned slot -> FAIL with full coverage, OK without. */
    cluster_del_slot(12000);
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_FAIL);
    cfg.cluster_require_full_coverage = 0;
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_OK);
    cfg.cluster_require_full_coverage = 1;
    cluster_add_slot(b, 12000);
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_OK);

    /* A slot owned by a FAIL node -> FAIL. */
    b->flags |= BUS_NODE_FAIL;
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_FAIL);
    b->flags &= ~BUS_NODE_FAIL;
    /* Back from FAIL (minority was not involved): but the FAIL evaluation
     * above did not put us in a minority (2 of 3 reachable). */
    srv.now_ms += 10;
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_OK);

    /* Minority: 2 of 3 masters PFAIL -> FAIL, and a rejoin delay of
     * node timeout (2000 ms, within [500, 5000]) before OK again. */
    a->flags |= BUS_NODE_PFAIL;
    b->flags |= BUS_NODE_PFAIL;
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_FAIL);
    a->flags &= ~BUS_NODE_PFAIL;
    b->flags &= ~BUS_NODE_PFAIL;
    srv.now_ms += 1500;
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_FAIL);
    srv.now_ms += 600;
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_OK);

    /* Quorum counts masters with slots only: a slotless master's PFAIL
     * does not matter. */
    cluster_node *c = mk('c', BUS_NODE_MASTER | BUS_NODE_PFAIL);
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_OK);
    CHECK_EQ_INT(cluster->size, 3);
    (void)c;
    teardown();
}

TEST(state_replica_no_writable_delay)
{
    cluster_node *me = setup('5');
    cluster_node *a = mk('a', BUS_NODE_MASTER);
    add_range(a, 0, 16383);
    me->flags = BUS_NODE_MYSELF | BUS_NODE_SLAVE;
    cluster_set_master(me, a);
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_OK);
    /* Fresh node with no slots anywhere: FAIL (size 0 -> quorum 1). */
    teardown();
    setup('5');
    cluster_update_state();
    srv.now_ms += 5000;
    cluster_update_state();
    CHECK_EQ_INT(cluster->state, CLUSTER_FAIL);
    CHECK_EQ_INT(cluster->size, 0);
    teardown();
}

TEST(before_sleep_runs_todo)
{
    cluster_node *me = setup('5');
    add_range(me, 0, 16383);
    cluster_update_state();
    srv.now_ms += 3000;
    cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE_CONFIG);
    cluster_do_before_sleep();
    CHECK_EQ_INT(cluster->todo, 0);
    CHECK_EQ_INT(cluster->state, CLUSTER_OK);
    /* The config was written: it names myself. */
    FILE *f = fopen(conf_path, "r");
    CHECK(f != NULL);
    if (f) {
        char line[512] = {0};
        CHECK(fgets(line, sizeof(line), f) != NULL);
        CHECK(strstr(line, "myself") != NULL);
        fclose(f);
    }
    teardown();
}

int main(void)
{
    snprintf(conf_path, sizeof(conf_path), "/tmp/test_cluster_state_%d.conf", (int)getpid());
    RUN(node_table_basics);
    RUN(blacklist);
    RUN(slot_update_rule);
    RUN(slot_update_dirty_slots_delete_keys);
    RUN(slot_update_demotes_master_that_lost_everything);
    RUN(slot_update_replica_follows);
    RUN(epoch_collision);
    RUN(epoch_collision_converges);
    RUN(bump_epoch_without_consensus);
    RUN(failure_reports);
    RUN(pfail_to_fail_quorum);
    RUN(pfail_to_fail_replica_does_not_vote);
    RUN(check_pfail);
    RUN(clear_fail_rules);
    RUN(state_evaluation);
    RUN(state_replica_no_writable_delay);
    RUN(before_sleep_runs_todo);
    return UNIT_DONE();
}
