/* Unit tests for the proxy's routing decisions (proxy/router.c): the route
 * kind of each command, the slot of a command's keys (fast path, key-spec
 * path, CROSSSLOT, no keys, bad numkeys, shard channels), and the proxy's
 * config keys (defaults, --seeds lists, refused values). */
/* worker.h, not config.h: -Inode comes first and node/ has a config.h too;
 * quoted includes inside proxy headers resolve to proxy/ by themselves. */
#include "proxy.h"
#include "router.h"
#include "worker.h"
#include "slot.h"
#include "unit.h"
#include <string.h>

static int kind_of(const char *fullname)
{
    const cmd_meta *m = cmd_lookup_full(fullname, strlen(fullname));
    return m ? proxy_route_get(m) : -1;
}

/* Slot of a command given as words (argv[0] is the name). */
static int slot_of(int argc, const char **argv)
{
    size_t lens[32];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    const cmd_meta *m = cmd_lookup(argv[0], lens[0]);
    if (m && m->subcmds_n && argc > 1) m = cmd_lookup_sub(m, argv[1], lens[1]);
    proxy_cmd cmd = {.meta = m, .kind = m ? proxy_route_get(m) : 0, .arity_ok = m && cmd_arity_ok(m, argc),
                     .argc = argc, .argv = argv, .argvlen = lens};
    return proxy_cmd_slot(&cmd);
}
#define SLOT(...) slot_of(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *), (const char *[]){__VA_ARGS__})

TEST(route_kinds)
{
    CHECK_EQ_INT(kind_of("get"), PROXY_ROUTE_KEY);
    CHECK_EQ_INT(kind_of("set"), PROXY_ROUTE_KEY);
    CHECK_EQ_INT(kind_of("object|encoding"), PROXY_ROUTE_KEY);
    CHECK_EQ_INT(kind_of("spublish"), PROXY_ROUTE_KEY);
    CHECK_EQ_INT(kind_of("mget"), PROXY_ROUTE_SPLIT);
    CHECK_EQ_INT(kind_of("del"), PROXY_ROUTE_SPLIT);
    CHECK_EQ_INT(kind_of("dbsize"), PROXY_ROUTE_ALL);
    CHECK_EQ_INT(kind_of("ping"), PROXY_ROUTE_LOCAL);
    CHECK_EQ_INT(kind_of("hello"), PROXY_ROUTE_LOCAL);
    CHECK_EQ_INT(kind_of("command|docs"), PROXY_ROUTE_LOCAL);
    CHECK_EQ_INT(kind_of("cluster|slots"), PROXY_ROUTE_LOCAL);
    CHECK_EQ_INT(kind_of("cluster|countkeysinslot"), PROXY_ROUTE_SLOTARG);
    CHECK_EQ_INT(kind_of("cluster|addslots"), PROXY_ROUTE_DENY);
    CHECK_EQ_INT(kind_of("time"), PROXY_ROUTE_ANY);
    CHECK_EQ_INT(kind_of("publish"), PROXY_ROUTE_ANY);
    CHECK_EQ_INT(kind_of("multi"), PROXY_ROUTE_LEASE);
    CHECK_EQ_INT(kind_of("blpop"), PROXY_ROUTE_LEASE);
    CHECK_EQ_INT(kind_of("subscribe"), PROXY_ROUTE_LEASE);
    CHECK_EQ_INT(kind_of("shutdown"), PROXY_ROUTE_DENY);
    CHECK_EQ_INT(kind_of("replicaof"), PROXY_ROUTE_DENY);
    /* every command has some route */
    for (int i = 0; i < cmd_count_all(); i++) CHECK(proxy_route_get(cmd_by_id(i)) != PROXY_ROUTE_UNKNOWN);
    /* overrides by name */
    CHECK_EQ_INT(proxy_route_set("lastsave", PROXY_ROUTE_DENY), 0);
    CHECK_EQ_INT(kind_of("lastsave"), PROXY_ROUTE_DENY);
    CHECK_EQ_INT(proxy_route_set("lastsave", PROXY_ROUTE_ANY), 0);
    CHECK_EQ_INT(proxy_route_set("nosuchcommand", PROXY_ROUTE_ANY), -1);
}

TEST(key_slots)
{
    CHECK_EQ_INT(SLOT("GET", "foo"), 12182);
    CHECK_EQ_INT(SLOT("set", "{user1}a", "v"), key_hash_slot("user1", 5));
    CHECK_EQ_INT(SLOT("MSET", "{t}1", "a", "{t}2", "b"), key_hash_slot("t", 1));
    CHECK_EQ_INT(SLOT("MSET", "foo", "a", "bar", "b"), PROXY_SLOT_CROSS);
    CHECK_EQ_INT(SLOT("RENAME", "foo", "bar"), PROXY_SLOT_CROSS);
    CHECK_EQ_INT(SLOT("SINTERSTORE", "{s}d", "{s}a", "{s}b"), key_hash_slot("s", 1));
    /* key specs: numkeys */
    CHECK_EQ_INT(SLOT("EVAL", "return 1", "0"), PROXY_SLOT_NOKEYS);
    CHECK_EQ_INT(SLOT("EVAL", "return 1", "2", "{x}a", "{x}b"), key_hash_slot("x", 1));
    CHECK_EQ_INT(SLOT("EVAL", "return 1", "2", "a", "b"), PROXY_SLOT_CROSS);
    CHECK_EQ_INT(SLOT("EVAL", "return 1", "x"), PROXY_SLOT_BADARGS);
    CHECK_EQ_INT(SLOT("ZUNIONSTORE", "{z}d", "2", "{z}a", "{z}b"), key_hash_slot("z", 1));
    CHECK_EQ_INT(SLOT("XREAD", "STREAMS", "s1", "s2", "0", "0"), PROXY_SLOT_CROSS);
    CHECK_EQ_INT(SLOT("XREAD", "COUNT", "1", "STREAMS", "{q}1", "0"), key_hash_slot("q", 1));
    /* SORT's STORE destination counts */
    CHECK_EQ_INT(SLOT("SORT", "{k}l", "STORE", "{k}d"), key_hash_slot("k", 1));
    CHECK_EQ_INT(SLOT("SORT", "list", "STORE", "dest"), PROXY_SLOT_CROSS);
    /* shard channels route like keys */
    CHECK_EQ_INT(SLOT("SPUBLISH", "chan", "msg"), key_hash_slot("chan", 4));
    /* no keys at all */
    CHECK_EQ_INT(SLOT("TIME"), PROXY_SLOT_NOKEYS);
    CHECK_EQ_INT(SLOT("OBJECT", "ENCODING", "foo"), 12182);
}

TEST(config_table)
{
    char err[256];
    const char *path;
    char *a1[] = {"shoal-proxy", NULL};
    proxy_config *c = proxy_config_load(1, a1, &path, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT(c->port, 7777);
        CHECK_EQ_INT(c->topology_interval_ms, 100);
        CHECK_EQ_INT(c->backend_connections, 1);
        CHECK_EQ_INT(c->read_policy, PROXY_READ_MASTER);
        CHECK(path == NULL);
        proxy_config_unref(c);
    }
    char *a2[] = {"shoal-proxy", "--seeds", "a:1,b:2", "--read-policy", "prefer-replica", "--threads", "3", NULL};
    c = proxy_config_load(7, a2, &path, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT(c->seeds.n, 2);
        CHECK(c->seeds.n == 2 && !strcmp(c->seeds.v[0], "a:1") && !strcmp(c->seeds.v[1], "b:2"));
        CHECK_EQ_INT(c->read_policy, PROXY_READ_PREFER_REPLICA);
        CHECK_EQ_INT(c->threads, 3);
        proxy_config_unref(c);
    }
    char *a3[] = {"shoal-proxy", "--seeds", "nocolon", NULL};
    CHECK(proxy_config_load(3, a3, &path, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "nocolon") != NULL);
    char *a4[] = {"shoal-proxy", "--read-policy", "sometimes", NULL};
    CHECK(proxy_config_load(3, a4, &path, err, sizeof(err)) == NULL);
    char *a5[] = {"shoal-proxy", "--max-redirects", "1000", NULL};
    CHECK(proxy_config_load(3, a5, &path, err, sizeof(err)) == NULL);
}

TEST(encode)
{
    buf_t b;
    buf_init(&b);
    const char *av[2] = {"GET", "k"};
    size_t al[2] = {3, 1};
    proxy_encode_cmd(&b, 2, av, al);
    CHECK_MEM(b.p, b.len, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    buf_free(&b);
}

int main(void)
{
    cmd_table_init();
    router_init();
    RUN(route_kinds);
    RUN(key_slots);
    RUN(config_table);
    RUN(encode);
    return UNIT_DONE();
}
