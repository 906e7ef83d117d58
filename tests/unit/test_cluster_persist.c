/* Unit tests for node/cluster_persist: the CLUSTER NODES text, nodes.conf
 * save + load round trips (several nodes, replicas, open slots, hostname,
 * flags, epochs), the padding/truncate write, the flock that keeps a
 * second node off the same file, and rejection of bad files with
 * "file:line: reason" errors.
 *
 * The node table itself is cluster_state.c's (linked like every node
 * module). */
#include "cluster.h"
#include "kv.h"
#include "mem.h"
#include "unit.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------- */
static char tmpdir[256];
static char path[512];

/* Some tests plant a fake link pointer (only "non-NULL" matters for the
 * text); drop them before the state is freed. */
static void state_free(void)
{
    if (!cluster) return;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it))) ((cluster_node *)e->val)->link = NULL;
    cluster_state_free();
}

static void state_new(void)
{
    state_free();
    cluster_state_new();
}

static char *id_of(char c)
{
    static char ids[8][BUS_NAMELEN + 1];
    static int k;
    char *s = ids[k++ % 8];
    memset(s, c, BUS_NAMELEN);
    s[BUS_NAMELEN] = 0;
    return s;
}

static cluster_node *mk(char idc, uint16_t flags, const char *ip, int port)
{
    cluster_node *n = cluster_node_new(id_of(idc), flags);
    n->flags = flags;
    snprintf(n->ip, sizeof(n->ip), "%s", ip);
    n->port = port;
    n->cport = port + 10000;
    cluster_add_node(n);
    return n;
}


static char *read_file(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    static char data[1 << 16];
    *len = fread(data, 1, sizeof(data) - 1, f);
    data[*len] = 0;
    fclose(f);
    return data;
}

static void write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "wb");
    fputs(text, f);
    fclose(f);
}

/* The text with ping/pong fields (5th and 6th) replaced by "T" when
 * non-zero: loading turns any non-zero value into "now". */
static void normalize(const char *in, buf_t *out)
{
    const char *p = in;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        int field = 0;
        size_t i = 0;
        while (i < ll) {
            size_t j = i;
            while (j < ll && p[j] != ' ') j++;
            if ((field == 4 || field == 5) && strncmp(p, "vars", 4) != 0)
                buf_append(out, (j - i == 1 && p[i] == '0') ? "0" : "T", 1);
            else
                buf_append(out, p + i, j - i);
            if (j < ll) buf_append(out, " ", 1);
            i = j + 1;
            field++;
        }
        buf_append(out, "\n", 1);
        p += ll + (nl ? 1 : 0);
    }
    buf_append(out, "", 1);
}

/* A cluster with most of what nodes.conf can express. */
static void build_sample(void)
{
    state_new();
    cluster_node *me = mk('a', BUS_NODE_MYSELF | BUS_NODE_MASTER, "127.0.0.1", 7000);
    cluster->myself = me;
    me->config_epoch = 5;
    me->pong_received_ms = 0;
    for (int s = 0; s <= 100; s++) cluster_add_slot(me, s);
    cluster_add_slot(me, 200);
    cluster_add_slot(me, 16383);

    cluster_node *b = mk('b', BUS_NODE_MASTER, "10.0.0.2", 7001);
    b->hostname = xstrdup("node-b.example");
    b->config_epoch = 3;
    b->pong_received_ms = 1700000000123LL;
    b->link = (cluster_link *)b;   /* only tested for non-NULL */
    for (int s = 5000; s <= 6000; s++) cluster_add_slot(b, s);

    cluster_node *c = mk('c', BUS_NODE_SLAVE | BUS_NODE_PFAIL | BUS_NODE_NOFAILOVER, "::1", 7002);
    cluster_set_master(c, b);
    c->config_epoch = 1;   /* a replica's own epoch is never printed */
    c->ping_sent_ms = 1700000000999LL;

    cluster_node *d = mk('d', BUS_NODE_MASTER | BUS_NODE_FAIL, "10.0.0.4", 7003);
    d->cport = 17777;
    d->config_epoch = 4;

    mk('e', BUS_NODE_HANDSHAKE | BUS_NODE_MEET, "10.0.0.5", 7004);

    cluster->migrating_to[100] = b;
    cluster->importing_from[7000] = d;
    cluster->current_epoch = 7;
    cluster->last_vote_epoch = 6;
}

static const char *sample_text =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 5 connected 0-100 200 16383 [100->-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb] [7000-<-dddddddddddddddddddddddddddddddddddddddd]\n"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 10.0.0.2:7001@17001,node-b.example master - 0 1700000000123 3 connected 5000-6000\n"
    "cccccccccccccccccccccccccccccccccccccccc ::1:7002@17002 slave,fail?,nofailover bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 1700000000999 0 3 disconnected\n"
    "dddddddddddddddddddddddddddddddddddddddd 10.0.0.4:7003@17777 master,fail - 0 0 4 disconnected\n";

/* ---- tests ------------------------------------------------------------ */

TEST(nodes_text_format)
{
    build_sample();
    buf_t b;
    buf_init(&b);
    cluster_nodes_text(&b, 1);
    buf_append(&b, "", 1);
    CHECK(strcmp(b.p, sample_text) == 0);
    if (strcmp(b.p, sample_text) != 0) fprintf(stderr, "got:\n%s\nwant:\n%s\n", b.p, sample_text);
    buf_free(&b);

    /* CLUSTER NODES (not for config) also lists handshake nodes. */
    buf_init(&b);
    cluster_nodes_text(&b, 0);
    buf_append(&b, "", 1);
    CHECK(strstr(b.p, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee 10.0.0.5:7004@17004 handshake - 0 0 0 disconnected\n") != NULL);
    buf_free(&b);

    /* One line, no newline (CLUSTER REPLICAS). */
    buf_init(&b);
    cluster_node_text(&b, cluster_lookup(id_of('c'), BUS_NAMELEN));
    CHECK(b.len > 0 && b.p[b.len - 1] != '\n');
    buf_free(&b);
}

TEST(save_load_round_trip)
{
    build_sample();
    unlink(path);
    char err[512] = "";
    CHECK_EQ_INT(cluster_load_config(path, err, sizeof(err)), 0);   /* created, empty */
    CHECK_EQ_INT(cluster_save_config(1), 0);
    size_t len;
    char *saved = read_file(path, &len);
    CHECK(saved != NULL);
    buf_t want;
    buf_init(&want);
    buf_append_str(&want, sample_text);
    buf_append_str(&want, "vars currentEpoch 7 lastVoteEpoch 6\n");
    CHECK(len == want.len && memcmp(saved, want.p, len) == 0);
    buf_free(&want);
    cluster_persist_close();

    /* Load into an empty table. */
    state_new();
    err[0] = 0;
    int rc = cluster_load_config(path, err, sizeof(err));
    CHECK_EQ_INT(rc, 1);
    if (rc != 1) fprintf(stderr, "load error: %s\n", err);
    if (rc != 1) return;
    CHECK(cluster->myself && memcmp(cluster->myself->name, id_of('a'), BUS_NAMELEN) == 0);
    CHECK_EQ_INT(cluster->current_epoch, 7);
    CHECK_EQ_INT(cluster->last_vote_epoch, 6);
    cluster_node *b = cluster_lookup(id_of('b'), BUS_NAMELEN);
    cluster_node *c = cluster_lookup(id_of('c'), BUS_NAMELEN);
    cluster_node *d = cluster_lookup(id_of('d'), BUS_NAMELEN);
    CHECK(b && c && d);
    CHECK(cluster_lookup(id_of('e'), BUS_NAMELEN) == NULL);   /* handshake not saved */
    if (!b || !c || !d) return;
    CHECK(c->master == b && b->nreplicas == 1 && b->replicas[0] == c);
    CHECK_EQ_INT(c->config_epoch, 0);   /* replicas' epoch forced to 0 */
    CHECK_EQ_INT(b->config_epoch, 3);
    CHECK(b->hostname && strcmp(b->hostname, "node-b.example") == 0);
    CHECK(strcmp(c->ip, "::1") == 0 && c->port == 7002 && c->cport == 17002);
    CHECK_EQ_INT(d->cport, 17777);
    CHECK(d->flags == (BUS_NODE_MASTER | BUS_NODE_FAIL));
    CHECK(c->flags == (BUS_NODE_SLAVE | BUS_NODE_PFAIL | BUS_NODE_NOFAILOVER));
    CHECK(cluster->slots[0] == cluster->myself && cluster->slots[100] == cluster->myself &&
          cluster->slots[101] == NULL && cluster->slots[200] == cluster->myself &&
          cluster->slots[16383] == cluster->myself);
    CHECK(cluster->slots[5000] == b && cluster->slots[6000] == b && cluster->slots[6001] == NULL);
    CHECK_EQ_INT(b->numslots, 1001);
    CHECK(cluster->migrating_to[100] == b && cluster->importing_from[7000] == d);
    CHECK(c->ping_sent_ms > 0 && b->pong_received_ms > 0 && b->ping_sent_ms == 0);

    /* Printing again gives the same text, bar the (now refreshed) times. */
    b->link = (cluster_link *)b;
    buf_t t1, t2, n1, n2;
    buf_init(&t1); buf_init(&t2); buf_init(&n1); buf_init(&n2);
    cluster_nodes_text(&t1, 1);
    buf_append(&t1, "", 1);
    buf_append_str(&t2, sample_text);
    buf_append(&t2, "", 1);
    normalize(t1.p, &n1);
    normalize(t2.p, &n2);
    CHECK(strcmp(n1.p, n2.p) == 0);
    if (strcmp(n1.p, n2.p) != 0) fprintf(stderr, "reloaded:\n%s\nexpected:\n%s\n", n1.p, n2.p);
    buf_free(&t1); buf_free(&t2); buf_free(&n1); buf_free(&n2);
    cluster_persist_close();
}

TEST(save_pads_and_truncates)
{
    build_sample();
    unlink(path);
    char err[512];
    CHECK_EQ_INT(cluster_load_config(path, err, sizeof(err)), 0);
    CHECK_EQ_INT(cluster_save_config(0), 0);
    size_t big;
    read_file(path, &big);
    /* Shrink the config: the file must shrink to the exact new content. */
    cluster_del_node(cluster_lookup(id_of('c'), BUS_NAMELEN));
    cluster_del_node(cluster_lookup(id_of('d'), BUS_NAMELEN));
    CHECK_EQ_INT(cluster_save_config(1), 0);
    size_t len;
    char *t = read_file(path, &len);
    CHECK(len < big);
    CHECK(t[len - 1] == '\n' && t[len - 2] != '\n');
    CHECK(strstr(t, "cccccccc") == NULL && strstr(t, "vars currentEpoch 7 lastVoteEpoch 6\n") != NULL);
    cluster_persist_close();
}

TEST(lock_keeps_second_node_out)
{
    build_sample();
    unlink(path);
    char err[512] = "";
    CHECK_EQ_INT(cluster_load_config(path, err, sizeof(err)), 0);
    /* Another open file description cannot lock it while we hold it. */
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    CHECK(flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);
    cluster_persist_close();
    /* And the other way round: someone else holds it, we must refuse. */
    CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0);
    state_new();
    err[0] = 0;
    CHECK_EQ_INT(cluster_load_config(path, err, sizeof(err)), -1);
    CHECK(strstr(err, "already used") != NULL && strstr(err, path) != NULL);
    close(fd);
    /* Released: loading works again. */
    CHECK(cluster_load_config(path, err, sizeof(err)) >= 0);
    cluster_persist_close();
}

TEST(load_fresh_and_blank_lines)
{
    state_new();
    char err[512] = "";
    unlink(path);
    CHECK_EQ_INT(cluster_load_config(path, err, sizeof(err)), 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 0);
    cluster_persist_close();

    /* Blank lines (save padding, CRLF) are fine; no @cport means +10000;
     * an empty IP (a fresh node that never learned it) is valid. */
    write_file(path,
               "\n\r\n"
               "ffffffffffffffffffffffffffffffffffffffff :0@0 myself,master - 0 0 9 connected 1-2\r\n"
               "\n"
               "1111111111111111111111111111111111111111 10.1.1.1:6379 master - 5 6 12 connected\n"
               "vars currentEpoch 3 lastVoteEpoch 0\n\n\n");
    state_new();
    int rc = cluster_load_config(path, err, sizeof(err));
    CHECK_EQ_INT(rc, 1);
    if (rc != 1) { fprintf(stderr, "%s\n", err); return; }
    cluster_node *o = cluster_lookup("1111111111111111111111111111111111111111", 40);
    CHECK(o && o->cport == 16379 && o->port == 6379);
    CHECK(cluster->myself->ip[0] == 0 && cluster->myself->port == 0);
    CHECK_EQ_INT(cluster->current_epoch, 12);   /* raised to the max configEpoch */
    CHECK(cluster->slots[1] == cluster->myself && cluster->slots[2] == cluster->myself);
    cluster_persist_close();
}

TEST(load_master_after_replica)
{
    /* A replica line may come before its master's line. */
    write_file(path,
               "2222222222222222222222222222222222222222 127.0.0.1:7001@17001 slave 3333333333333333333333333333333333333333 0 0 4 connected\n"
               "4444444444444444444444444444444444444444 127.0.0.1:7000@17000 myself,master - 0 0 2 connected 10-20\n"
               "3333333333333333333333333333333333333333 127.0.0.1:7002@17002 master - 0 0 4 connected 30\n"
               "vars currentEpoch 4 lastVoteEpoch 0\n");
    state_new();
    char err[512] = "";
    int rc = cluster_load_config(path, err, sizeof(err));
    CHECK_EQ_INT(rc, 1);
    if (rc != 1) { fprintf(stderr, "%s\n", err); return; }
    cluster_node *r = cluster_lookup("2222222222222222222222222222222222222222", 40);
    cluster_node *m = cluster_lookup("3333333333333333333333333333333333333333", 40);
    CHECK(r && m && r->master == m && m->nreplicas == 1 && m->flags == BUS_NODE_MASTER);
    CHECK(m && m->port == 7002 && cluster->slots[30] == m);
    cluster_persist_close();
}

/* Each bad file must be refused with "path:line: reason". */
TEST(load_rejects_bad_files)
{
    static const struct { const char *text; int line; const char *why; } cases[] = {
        {"abc\n", 1, "at least 8"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0\n", 1, "at least 8"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected\n", 1, "invalid node ID"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1@17000 myself,master - 0 0 0 connected\n", 1, "invalid address"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:x@17000 myself,master - 0 0 0 connected\n", 1, "invalid port"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@99999 myself,master - 0 0 0 connected\n", 1, "invalid bus port"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 300.0.0.1:7000@17000 myself,master - 0 0 0 connected\n", 1, "invalid IP"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000,,shard-id=abc myself,master - 0 0 0 connected\n", 1, "auxiliary"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,bogus - 0 0 0 connected\n", 1, "unknown flag"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master,slave - 0 0 0 connected\n", 1, "both master and slave"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - x 0 0 connected\n", 1, "ping_sent"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 -1 0 connected\n", 1, "pong_received"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 1x connected\n", 1, "configEpoch"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 linked\n", 1, "link state"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected 16384\n", 1, "invalid slot"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected 9-3\n", 1, "invalid slot range"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected 1-x\n", 1, "invalid slot range"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected [5=>-x]\n", 1, "open slot"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected [5->-abc]\n", 1, "invalid node ID"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected [99999->-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb]\n", 1, "invalid slot"},
        {"\nvars currentEpoch x lastVoteEpoch 0\n", 2, "invalid value"},
        {"vars currentEpoch 1 lastVoteEpoch\n", 1, "pairs"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected 1\n"
         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 127.0.0.1:7001@17001 master - 0 0 0 connected 1\n", 2, "two nodes"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected\n"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 master - 0 0 0 connected\n", 2, "listed twice"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected\n"
         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 127.0.0.1:7001@17001 myself,master - 0 0 0 connected\n", 2, "more than one"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 0 0 0 connected\n", 1, "not a slave"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,slave aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0 0 0 connected\n", 1, "own master"},
    };
    char err[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file(path, cases[i].text);
        state_new();
        err[0] = 0;
        int rc = cluster_load_config(path, err, sizeof(err));
        cluster_persist_close();
        char prefix[600];
        snprintf(prefix, sizeof(prefix), "%s:%d: ", path, cases[i].line);
        int ok = rc == -1 && strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, cases[i].why);
        CHECK(ok);
        if (!ok) fprintf(stderr, "  case %zu: rc=%d err='%s' (want '%s...%s')\n", i, rc, err, prefix, cases[i].why);
    }

    /* File-level errors (no line number): missing myself, dangling refs. */
    static const struct { const char *text; const char *why; } whole[] = {
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 master - 0 0 0 connected\n", "no 'myself'"},
        {"vars currentEpoch 1 lastVoteEpoch 0\n", "no 'myself'"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,slave bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 0 0 0 connected\n",
         "referenced"},
    };
    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
        write_file(path, whole[i].text);
        state_new();
        err[0] = 0;
        int rc = cluster_load_config(path, err, sizeof(err));
        cluster_persist_close();
        int ok = rc == -1 && strncmp(err, path, strlen(path)) == 0 && strstr(err, whole[i].why);
        CHECK(ok);
        if (!ok) fprintf(stderr, "  whole %zu: rc=%d err='%s'\n", i, rc, err);
    }
}

TEST(unknown_vars_skipped)
{
    write_file(path,
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 0 connected\n"
               "vars currentEpoch 4 lastVoteEpoch 2 futureThing 9\n");
    state_new();
    char err[512] = "";
    CHECK_EQ_INT(cluster_load_config(path, err, sizeof(err)), 1);
    CHECK_EQ_INT(cluster->current_epoch, 4);
    CHECK_EQ_INT(cluster->last_vote_epoch, 2);
    cluster_persist_close();
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/shoal-unit-persist-XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    snprintf(path, sizeof(path), "%s/nodes.conf", tmpdir);
    RUN(nodes_text_format);
    RUN(save_load_round_trip);
    RUN(save_pads_and_truncates);
    RUN(lock_keeps_second_node_out);
    RUN(load_fresh_and_blank_lines);
    RUN(load_master_after_replica);
    RUN(load_rejects_bad_files);
    RUN(unknown_vars_skipped);
    state_free();
    unlink(path);
    rmdir(tmpdir);
    return UNIT_DONE();
}
