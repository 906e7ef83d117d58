/* Unit tests for common/conf (generic loader) and node/config (the node's
 * key table): value parsing, YAML and command-line loading with their error
 * messages, CONFIG GET formatting and patterns, CONFIG SET rules. */
#include "unit.h"
#include "conf.h"
#include "config.h"
#include "mem.h"
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

/* ---------- helpers ---------- */

static char tmp_paths[16][64];
static int tmp_count;

/* Writes text to a new temp file and returns its path (removed at exit). */
static const char *yaml_file(const char *text)
{
    char *p = tmp_paths[tmp_count++ % 16];
    snprintf(p, 64, "/tmp/shoal_test_conf_XXXXXX");
    int fd = mkstemp(p);
    if (fd < 0) return "/nonexistent";
    ssize_t w = write(fd, text, strlen(text));
    (void)w;
    close(fd);
    return p;
}

static void remove_tmp_files(void)
{
    for (int i = 0; i < tmp_count && i < 16; i++) unlink(tmp_paths[i]);
}

/* Loads the node config from argv-style words; returns config_load_args's rc. */
static int load(char *err, size_t errlen, int argc, ...)
{
    char *argv[32];
    va_list ap;
    va_start(ap, argc);
    argv[0] = "shoal-node";
    for (int i = 1; i < argc; i++) argv[i] = va_arg(ap, char *);
    va_end(ap);
    err[0] = '\0';
    return config_load_args(argc, argv, err, errlen);
}

/* CONFIG GET output collected as "name=value\n" lines. */
static void collect(void *ctx, const char *name, const char *value)
{
    buf_printf(ctx, "%s=%s\n", name, value);
}

static char got[8192];

static const char *get(const char *pattern)
{
    buf_t b;
    buf_init(&b);
    config_get(pattern, strlen(pattern), collect, &b);
    snprintf(got, sizeof(got), "%.*s", (int)b.len, b.p ? b.p : "");
    buf_free(&b);
    return got;
}

static int set(const char *name, const char *val, char *err, size_t errlen)
{
    err[0] = '\0';
    return config_set(name, strlen(name), val, strlen(val), err, errlen);
}

/* ---------- value parsers ---------- */

TEST(test_memory_units)
{
    long long v;
    CHECK(conf_parse_memory("0", 1, 0, &v) && v == 0);
    CHECK(conf_parse_memory("123", 3, 0, &v) && v == 123);
    CHECK(conf_parse_memory("1b", 2, 0, &v) && v == 1);
    CHECK(conf_parse_memory("1k", 2, 0, &v) && v == 1000);
    CHECK(conf_parse_memory("1kb", 3, 0, &v) && v == 1024);
    CHECK(conf_parse_memory("1KB", 3, 0, &v) && v == 1024);
    CHECK(conf_parse_memory("2m", 2, 0, &v) && v == 2000000);
    CHECK(conf_parse_memory("2Mb", 3, 0, &v) && v == 2 * 1024 * 1024);
    CHECK(conf_parse_memory("3g", 2, 0, &v) && v == 3000000000LL);
    CHECK(conf_parse_memory("3GB", 3, 0, &v) && v == 3LL * 1024 * 1024 * 1024);
    CHECK(conf_parse_memory("01", 2, 0, &v) && v == 1);
    CHECK(!conf_parse_memory("", 0, 0, &v));
    CHECK(!conf_parse_memory("mb", 2, 0, &v));
    CHECK(!conf_parse_memory("1.5mb", 5, 0, &v));
    CHECK(!conf_parse_memory("1tb", 3, 0, &v));
    CHECK(!conf_parse_memory(" 1", 2, 0, &v));
    CHECK(!conf_parse_memory("+1", 2, 0, &v));
    CHECK(!conf_parse_memory("1 mb", 4, 0, &v));
    CHECK(!conf_parse_memory("-1", 2, 0, &v));
    CHECK(conf_parse_memory("-1kb", 4, 1, &v) && v == -1024);
    CHECK(conf_parse_memory("9223372036854775807", 19, 0, &v) && v == LLONG_MAX);
    CHECK(!conf_parse_memory("9223372036854775808", 19, 0, &v));
    CHECK(!conf_parse_memory("99999999999gb", 13, 0, &v));
}

TEST(test_bools)
{
    int b = -1;
    CHECK(conf_parse_bool("yes", 3, CONF_SRC_SET, &b) && b == 1);
    CHECK(conf_parse_bool("NO", 2, CONF_SRC_SET, &b) && b == 0);
    CHECK(!conf_parse_bool("true", 4, CONF_SRC_SET, &b));
    CHECK(conf_parse_bool("true", 4, CONF_SRC_FILE, &b) && b == 1);
    CHECK(conf_parse_bool("False", 5, CONF_SRC_CLI, &b) && b == 0);
    CHECK(!conf_parse_bool("1", 1, CONF_SRC_FILE, &b));
    CHECK(!conf_parse_bool("maybe", 5, CONF_SRC_FILE, &b));
}

TEST(test_list_split)
{
    conf_list l;
    const char *words = " 127.0.0.1, ::1\t-::1 ,,";
    conf_list_split(words, strlen(words), &l);
    CHECK_EQ_INT(l.n, 3);
    if (l.n == 3) {
        CHECK(!strcmp(l.v[0], "127.0.0.1"));
        CHECK(!strcmp(l.v[1], "::1"));
        CHECK(!strcmp(l.v[2], "-::1"));
    }
    conf_list_free(&l);
    conf_list_split("", 0, &l);
    CHECK_EQ_INT(l.n, 0);
    conf_list_free(&l);
}

/* ---------- node defaults (compared with redis-server 7.0.15) ---------- */

TEST(test_defaults_match_redis)
{
    char err[512];
    static const char *const want[][2] = {
        {"port", "6379"}, {"tcp-backlog", "511"}, {"tcp-keepalive", "300"}, {"timeout", "0"},
        {"maxclients", "10000"}, {"logfile", ""}, {"pidfile", ""}, {"loglevel", "notice"},
        {"daemonize", "no"}, {"requirepass", ""}, {"databases", "16"}, {"hz", "10"},
        {"proto-max-bulk-len", "536870912"}, {"client-query-buffer-limit", "1073741824"},
        {"client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
        {"maxmemory", "0"}, {"maxmemory-policy", "noeviction"}, {"maxmemory-samples", "5"},
        {"lfu-log-factor", "10"}, {"lfu-decay-time", "1"}, {"slowlog-log-slower-than", "10000"},
        {"slowlog-max-len", "128"}, {"hash-max-listpack-entries", "512"}, {"hash-max-listpack-value", "64"},
        {"hash-max-ziplist-entries", "512"}, {"hash-max-ziplist-value", "64"},
        {"set-max-intset-entries", "512"}, {"zset-max-listpack-entries", "128"},
        {"zset-max-listpack-value", "64"}, {"zset-max-ziplist-entries", "128"},
        {"zset-max-ziplist-value", "64"}, {"list-max-listpack-size", "-2"}, {"list-max-ziplist-size", "-2"},
        {"list-compress-depth", "0"}, {"hll-sparse-max-bytes", "3000"},
        {"lazyfree-lazy-eviction", "no"}, {"lazyfree-lazy-expire", "no"}, {"lazyfree-lazy-server-del", "no"},
        {"lazyfree-lazy-user-del", "no"}, {"lazyfree-lazy-user-flush", "no"}, {"active-expire-effort", "1"},
        {"notify-keyspace-events", ""}, {"save", "3600 1 300 100 60 10000"}, {"appendonly", "no"},
        {"cluster-enabled", "no"}, {"cluster-config-file", "nodes.conf"}, {"cluster-port", "0"},
        {"cluster-node-timeout", "15000"}, {"cluster-require-full-coverage", "yes"},
        {"cluster-allow-reads-when-down", "no"}, {"cluster-announce-ip", ""}, {"cluster-announce-port", "0"},
        {"cluster-announce-bus-port", "0"}, {"cluster-announce-hostname", ""},
    };
    CHECK_EQ_INT(load(err, sizeof(err), 1), 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char *v = config_get_value(want[i][0]);
        if (!v || strcmp(v, want[i][1]) != 0) {
            fprintf(stderr, "  default %s = '%s', want '%s'\n", want[i][0], v ? v : "(null)", want[i][1]);
            CHECK(0);
        }
        xfree(v);
    }
    CHECK_EQ_INT(cfg.port, 6379);
    CHECK_EQ_INT(cfg.bind.n, 2);
    CHECK(cfg.config_file == NULL);
    CHECK_EQ_INT(cfg.maxmemory_policy, CFG_EVICT_NOEVICTION);
    CHECK_EQ_INT(cfg.obuf_limits.c[CFG_CLIENT_PUBSUB].soft_seconds, 60);
    CHECK_EQ_INT(cfg.save.n, 3);
    CHECK_EQ_INT(config_cluster_bus_port(), 16379);
}

/* ---------- file and command line ---------- */

TEST(test_file_load_and_types)
{
    char err[512];
    const char *p = yaml_file(
        "# a comment\n"
        "port: 7000\n"
        "bind: [127.0.0.1, \"-::1\"]\n"
        "maxmemory: 100mb\n"
        "maxmemory-policy: ALLKEYS-LRU\n"
        "lazyfree-lazy-expire: true\n"
        "logfile:\n"
        "requirepass: \"null\"\n"
        "save: \"\"\n"
        "hash-max-ziplist-entries: 64\n"
        "client-output-buffer-limit:\n"
        "  replica: 1gb 512mb 120\n"
        "  pubsub: [64mb, 16mb, 30]\n"
        "notify-keyspace-events: Ex\n"
        "hz: 1000\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), 0);
    if (err[0]) fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(cfg.port, 7000);
    CHECK_EQ_INT(cfg.bind.n, 2);
    CHECK(!strcmp(get("bind"), "bind=127.0.0.1 -::1\n"));
    CHECK_EQ_INT(cfg.maxmemory, 100LL * 1024 * 1024);
    CHECK_EQ_INT(cfg.maxmemory_policy, CFG_EVICT_ALLKEYS_LRU);
    CHECK(!strcmp(get("maxmemory-policy"), "maxmemory-policy=allkeys-lru\n"));
    CHECK_EQ_INT(cfg.lazyfree_lazy_expire, 1);
    CHECK(!strcmp(cfg.logfile, ""));
    CHECK(!strcmp(cfg.requirepass, "null"));
    CHECK_EQ_INT(cfg.save.n, 0);
    CHECK_EQ_INT(cfg.hash_max_listpack_entries, 64);
    CHECK(!strcmp(get("client-output-buffer-limit"),
                  "client-output-buffer-limit=normal 0 0 0 slave 1073741824 536870912 120 "
                  "pubsub 67108864 16777216 30\n"));
    CHECK_EQ_INT(cfg.notify_keyspace_events, CFG_NOTIFY_KEYEVENT | CFG_NOTIFY_EXPIRED);
    CHECK(!strcmp(get("notify-keyspace-events"), "notify-keyspace-events=xE\n"));
    CHECK_EQ_INT(cfg.hz, 500); /* clamped, as Redis does */
    CHECK(cfg.config_file && cfg.config_file[0] == '/');
}

TEST(test_file_errors_name_line)
{
    char err[512], want[600];
    const char *p = yaml_file("port: 7000\n\nport2: 1\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    snprintf(want, sizeof(want), "%s:3: 'port2': unknown config key", p);
    CHECK(!strcmp(err, want));

    p = yaml_file("dir: /tmp\n# x\nport: abc\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    snprintf(want, sizeof(want), "%s:3: 'port': 'abc' is not an integer", p);
    CHECK(!strcmp(err, want));

    p = yaml_file("port: 70000\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    snprintf(want, sizeof(want), "%s:1: 'port': '70000' is out of range (must be between 0 and 65535)", p);
    CHECK(!strcmp(err, want));

    p = yaml_file("maxmemory: 1.5mb\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    snprintf(want, sizeof(want), "%s:1: 'maxmemory': '1.5mb' is not a memory value", p);
    CHECK(!strncmp(err, want, strlen(want)));

    p = yaml_file("proto-max-bulk-len: 1kb\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    CHECK(strstr(err, "must be between 1048576 and 9223372036854775807") != NULL);

    p = yaml_file("lazyfree-lazy-eviction: maybe\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    snprintf(want, sizeof(want), "%s:1: 'lazyfree-lazy-eviction': 'maybe' is not yes or no", p);
    CHECK(!strcmp(err, want));

    p = yaml_file("loglevel: loud\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    snprintf(want, sizeof(want), "%s:1: 'loglevel': 'loud' is not one of: debug, verbose, notice, warning", p);
    CHECK(!strcmp(err, want));

    p = yaml_file("save: 3600 1 300\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    CHECK(strstr(err, ":1: 'save': '3600 1 300' is invalid: Invalid save parameters") != NULL);

    p = yaml_file("appendonly: yes\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    CHECK(strstr(err, "'appendonly'") != NULL);

    p = yaml_file("port: 1\nport: 2\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    snprintf(want, sizeof(want), "%s:2: 'port': duplicate key", p);
    CHECK(!strcmp(err, want));

    p = yaml_file("port: 1\nbind: [a, b\nhz: 1\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    CHECK(strstr(err, ":3: YAML syntax error: ") != NULL);

    p = yaml_file("- port\n- 1\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), -1);
    CHECK(strstr(err, ":1: expected a mapping") != NULL);

    CHECK_EQ_INT(load(err, sizeof(err), 2, "/nonexistent/shoal.yaml"), -1);
    CHECK(strstr(err, "/nonexistent/shoal.yaml: cannot open config file") == err);

    /* An empty file is fine: defaults only. */
    p = yaml_file("# nothing here\n");
    CHECK_EQ_INT(load(err, sizeof(err), 2, p), 0);
    CHECK_EQ_INT(cfg.port, 6379);
}

TEST(test_cli_overrides)
{
    char err[512];
    const char *p = yaml_file("port: 7000\nbind: 127.0.0.1\nmaxmemory: 1mb\n");
    CHECK_EQ_INT(load(err, sizeof(err), 11, p, "--port", "7001", "--dir", "/tmp", "--save", "60", "100",
                      "--list-max-ziplist-size", "-3"), 0);
    if (err[0]) fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(cfg.port, 7001);
    CHECK_EQ_INT(cfg.maxmemory, 1024 * 1024); /* from the file */
    CHECK(!strcmp(cfg.dir, "/tmp"));
    CHECK_EQ_INT(cfg.save.n, 1);
    CHECK(!strcmp(get("save"), "save=60 100\n"));
    CHECK_EQ_INT(cfg.list_max_listpack_size, -3);

    /* No file: options only. */
    CHECK_EQ_INT(load(err, sizeof(err), 5, "--bind", "127.0.0.1,::1", "--daemonize", "no"), 0);
    CHECK_EQ_INT(cfg.bind.n, 2);
    CHECK(cfg.config_file == NULL);

    CHECK_EQ_INT(load(err, sizeof(err), 3, "--port", "abc"), -1);
    CHECK(!strcmp(err, "command line: '--port': 'abc' is not an integer"));
    CHECK_EQ_INT(load(err, sizeof(err), 3, "--nosuch", "1"), -1);
    CHECK(!strcmp(err, "command line: '--nosuch': unknown config key"));
    CHECK_EQ_INT(load(err, sizeof(err), 4, "--port", "1", "stray"), -1); /* joined: "1 stray" */
    CHECK(!strcmp(err, "command line: '--port': '1 stray' is not an integer"));
    CHECK_EQ_INT(load(err, sizeof(err), 4, p, "extra", "--port"), -1);
    CHECK(strstr(err, "unexpected argument 'extra'") != NULL);
    CHECK_EQ_INT(load(err, sizeof(err), 5, "--cluster-enabled", "yes", "--port", "60000"), -1);
    CHECK_EQ_INT(load(err, sizeof(err), 7, "--cluster-enabled", "yes", "--port", "60000",
                      "--cluster-port", "1000"), 0);
    CHECK_EQ_INT(config_cluster_bus_port(), 1000);
}

TEST(test_example_file)
{
    char err[512];
    /* Unit tests run from the repository root. */
    if (access("configs/node.yaml", R_OK) != 0) return;
    CHECK_EQ_INT(load(err, sizeof(err), 2, "configs/node.yaml"), 0);
    if (err[0]) fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(cfg.port, 7000);
    CHECK(!strcmp(get("bind"), "bind=127.0.0.1\n"));
    CHECK(!strcmp(get("client-output-buffer-limit"),
                  "client-output-buffer-limit=normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\n"));
}

/* ---------- CONFIG GET ---------- */

TEST(test_config_get)
{
    char err[512];
    CHECK_EQ_INT(load(err, sizeof(err), 5, "--maxmemory", "1gb", "--lazyfree-lazy-eviction", "yes"), 0);
    CHECK(!strcmp(get("maxmemory"), "maxmemory=1073741824\n"));
    CHECK(!strcmp(get("lazyfree-lazy-eviction"), "lazyfree-lazy-eviction=yes\n"));
    CHECK(!strcmp(get("nosuch"), ""));
    /* An exact name is echoed as given, as Redis 7 does. */
    CHECK(!strcmp(get("PORT"), "PORT=6379\n"));
    CHECK(!strcmp(get("*ziplist*"),
                  "hash-max-ziplist-entries=512\nhash-max-ziplist-value=64\n"
                  "zset-max-ziplist-entries=128\nzset-max-ziplist-value=64\nlist-max-ziplist-size=-2\n"));
    CHECK(!strcmp(get("hash-max-*"),
                  "hash-max-listpack-entries=512\nhash-max-ziplist-entries=512\n"
                  "hash-max-listpack-value=64\nhash-max-ziplist-value=64\n"));
    CHECK(!strcmp(get("P?RT"), "port=6379\n"));
    CHECK(!strcmp(get("lazyfree-lazy-[e]*"), "lazyfree-lazy-eviction=yes\nlazyfree-lazy-expire=no\n"));
    /* "*" lists every key and alias once. */
    int lines = 0;
    get("*");
    for (const char *s = got; *s; s++) lines += *s == '\n';
    CHECK_EQ_INT(lines, conf_count(config_keys) + 5);
    CHECK(strstr(got, "dir=/") != NULL); /* the working directory, absolute */

    /* Several patterns: each name once. */
    const char *pats[] = {"port", "PORT", "p*t", "hash-max-ziplist-entries", "hash-max-listpack-entries"};
    size_t plens[5];
    for (int i = 0; i < 5; i++) plens[i] = strlen(pats[i]);
    buf_t b;
    buf_init(&b);
    config_get_multi(5, pats, plens, collect, &b);
    CHECK_MEM(b.p, b.len, "port=6379\nhash-max-ziplist-entries=512\nhash-max-listpack-entries=512\n");
    buf_free(&b);
}

/* ---------- CONFIG SET ---------- */

static int changes;
static char last_change[64];
static void on_change(const char *name)
{
    changes++;
    snprintf(last_change, sizeof(last_change), "%s", name);
}

TEST(test_config_set)
{
    char err[512];
    CHECK_EQ_INT(load(err, sizeof(err), 1), 0);
    config_set_hook(on_change);
    changes = 0;

    CHECK_EQ_INT(set("maxmemory", "2mb", err, sizeof(err)), 0);
    CHECK_EQ_INT(cfg.maxmemory, 2 * 1024 * 1024);
    CHECK_EQ_INT(changes, 1);
    CHECK(!strcmp(last_change, "maxmemory"));
    CHECK_EQ_INT(set("HASH-MAX-ZIPLIST-ENTRIES", "7", err, sizeof(err)), 0);
    CHECK(!strcmp(last_change, "hash-max-listpack-entries"));
    CHECK_EQ_INT(cfg.hash_max_listpack_entries, 7);

    CHECK_EQ_INT(set("foo", "bar", err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"));
    CHECK_EQ_INT(set("maxmemory", "abc", err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
                       "argument must be a memory value"));
    CHECK_EQ_INT(set("MAXMEMORY", "-1", err, sizeof(err)), -1);
    CHECK(strstr(err, "argument 'maxmemory')") != NULL);
    CHECK_EQ_INT(set("databases", "3", err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR CONFIG SET failed (possibly related to argument 'databases') - "
                       "can't set immutable config"));
    CHECK_EQ_INT(set("dir", "/tmp", err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR CONFIG SET failed (possibly related to argument 'dir') - "
                       "can't set protected config"));
    CHECK_EQ_INT(set("hz", "abc", err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR CONFIG SET failed (possibly related to argument 'hz') - "
                       "argument couldn't be parsed into an integer"));
    CHECK_EQ_INT(set("maxclients", "0", err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
                       "argument must be between 1 and 4294967295 inclusive"));
    CHECK_EQ_INT(set("lazyfree-lazy-eviction", "true", err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR CONFIG SET failed (possibly related to argument 'lazyfree-lazy-eviction') - "
                       "argument must be 'yes' or 'no'"));
    CHECK_EQ_INT(set("maxmemory-policy", "foo", err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
                       "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
                       "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"));
    CHECK_EQ_INT(set("client-output-buffer-limit", "normal 1 2", err, sizeof(err)), -1);
    CHECK(strstr(err, "Wrong number of arguments in buffer limit configuration.") != NULL);
    CHECK_EQ_INT(set("client-output-buffer-limit", "master 1 2 3", err, sizeof(err)), -1);
    CHECK(strstr(err, "Invalid client class specified in buffer limit configuration.") != NULL);
    CHECK_EQ_INT(set("notify-keyspace-events", "KZ", err, sizeof(err)), -1);
    CHECK(strstr(err, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.") != NULL);
    CHECK_EQ_INT(set("cluster-announce-hostname", "a_b", err, sizeof(err)), -1);
    CHECK(strstr(err, "Hostnames may only contain alphanumeric characters, hyphens or dots") != NULL);
    CHECK_EQ_INT(set("save", "0 1", err, sizeof(err)), -1);
    CHECK(strstr(err, "Invalid save parameters") != NULL);
    CHECK_EQ_INT(changes, 2); /* failures never notify */

    CHECK_EQ_INT(set("hz", "0", err, sizeof(err)), 0);
    CHECK(!strcmp(get("hz"), "hz=1\n"));
    CHECK_EQ_INT(set("loglevel", "WARNING", err, sizeof(err)), 0);
    CHECK(!strcmp(get("loglevel"), "loglevel=warning\n"));
    CHECK_EQ_INT(set("loglevel", "notice", err, sizeof(err)), 0);
    CHECK_EQ_INT(set("requirepass", "s3cret", err, sizeof(err)), 0);
    CHECK(!strcmp(cfg.requirepass, "s3cret"));
    CHECK_EQ_INT(set("save", "", err, sizeof(err)), 0);
    CHECK(!strcmp(get("save"), "save=\n"));
    CHECK_EQ_INT(set("save", "900 1 +60 010", err, sizeof(err)), 0);
    CHECK(!strcmp(get("save"), "save=900 1 60 10\n"));
    CHECK_EQ_INT(set("notify-keyspace-events", "KEA", err, sizeof(err)), 0);
    CHECK(!strcmp(get("notify-keyspace-events"), "notify-keyspace-events=AKE\n"));
    CHECK_EQ_INT(set("notify-keyspace-events", "Kgnm", err, sizeof(err)), 0);
    CHECK(!strcmp(get("notify-keyspace-events"), "notify-keyspace-events=gnKm\n"));
    /* bind and port are fixed at start in Shoal (no live rebinding). */
    CHECK_EQ_INT(set("bind", "127.0.0.1 ::1", err, sizeof(err)), -1);
    config_set_hook(NULL);
}

TEST(test_obuf_round_trip)
{
    char err[512];
    CHECK_EQ_INT(load(err, sizeof(err), 1), 0);
    CHECK_EQ_INT(set("client-output-buffer-limit", "replica 1kb 2mb 3", err, sizeof(err)), 0);
    CHECK(!strcmp(get("client-output-buffer-limit"),
                  "client-output-buffer-limit=normal 0 0 0 slave 1024 2097152 3 pubsub 33554432 8388608 60\n"));
    CHECK_EQ_INT(cfg.obuf_limits.c[CFG_CLIENT_REPLICA].soft, 2 * 1024 * 1024);
    /* What CONFIG GET printed is accepted back unchanged. */
    char *v = config_get_value("client-output-buffer-limit");
    CHECK_EQ_INT(set("client-output-buffer-limit", "NORMAL 5 6 7 pubsub 1 1 1", err, sizeof(err)), 0);
    CHECK_EQ_INT(set("client-output-buffer-limit", v, err, sizeof(err)), 0);
    char *v2 = config_get_value("client-output-buffer-limit");
    CHECK(!strcmp(v, v2));
    xfree(v);
    xfree(v2);
    /* An error leaves everything as it was. */
    CHECK_EQ_INT(set("client-output-buffer-limit", "normal 9 9 9 pubsub x 1 1", err, sizeof(err)), -1);
    CHECK(strstr(err, "Error in hard, soft or soft_seconds setting in buffer limit configuration.") != NULL);
    CHECK_EQ_INT(cfg.obuf_limits.c[CFG_CLIENT_NORMAL].hard, 0);
}

static int apply_calls;
static int refuse_port(const char *name, char *why, size_t wlen)
{
    apply_calls++;
    if (!strcmp(name, "maxclients") && cfg.maxclients == 1) {
        snprintf(why, wlen, "Unable to listen on this port");
        return -1;
    }
    return 0;
}

static int set_multi(int n, const char **nv, char *err, size_t errlen)
{
    const char *names[8], *vals[8];
    size_t nl[8], vl[8];
    for (int i = 0; i < n; i++) {
        names[i] = nv[2 * i];
        vals[i] = nv[2 * i + 1];
        nl[i] = strlen(names[i]);
        vl[i] = strlen(vals[i]);
    }
    err[0] = '\0';
    return config_set_multi(n, names, nl, vals, vl, err, errlen);
}

TEST(test_multi_set_atomic)
{
    char err[512];
    CHECK_EQ_INT(load(err, sizeof(err), 1), 0);

    const char *a[] = {"maxmemory", "1gb", "maxmemory-policy", "bogus"};
    CHECK_EQ_INT(set_multi(2, a, err, sizeof(err)), -1);
    CHECK(strstr(err, "argument 'maxmemory-policy'") != NULL);
    CHECK_EQ_INT(cfg.maxmemory, 0);

    const char *b[] = {"maxmemory", "1gb", "maxmemory-policy", "allkeys-lfu", "save", "10 1"};
    CHECK_EQ_INT(set_multi(3, b, err, sizeof(err)), 0);
    CHECK_EQ_INT(cfg.maxmemory, 1024LL * 1024 * 1024);
    CHECK_EQ_INT(cfg.maxmemory_policy, CFG_EVICT_ALLKEYS_LFU);
    CHECK_EQ_INT(cfg.save.n, 1);

    /* Names are all checked before any value. */
    const char *c[] = {"timeout", "abc", "databases", "1"};
    CHECK_EQ_INT(set_multi(2, c, err, sizeof(err)), -1);
    CHECK(strstr(err, "argument 'databases') - can't set immutable config") != NULL);
    const char *d[] = {"timeout", "1", "bogus", "1"};
    CHECK_EQ_INT(set_multi(2, d, err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR Unknown option or number of arguments for CONFIG SET - 'bogus'"));
    const char *e[] = {"Hz", "5", "hZ", "6"};
    CHECK_EQ_INT(set_multi(2, e, err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR CONFIG SET failed (possibly related to argument 'hZ') - duplicate parameter"));
    /* Two names of one key are not duplicates: the later wins (Redis 7.0). */
    const char *f[] = {"hash-max-ziplist-entries", "1", "hash-max-listpack-entries", "2"};
    CHECK_EQ_INT(set_multi(2, f, err, sizeof(err)), 0);
    CHECK_EQ_INT(cfg.hash_max_listpack_entries, 2);

    /* A failing apply hook rolls every value back, including ones that own
     * memory, and re-applies the restored values. */
    config_set_apply_hook(refuse_port);
    apply_calls = 0;
    const char *g[] = {"save", "1 1 2 2", "requirepass", "pw", "maxclients", "1", "timeout", "5"};
    CHECK_EQ_INT(set_multi(4, g, err, sizeof(err)), -1);
    CHECK(!strcmp(err, "ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
                       "Unable to listen on this port"));
    CHECK_EQ_INT(cfg.maxclients, 10000);
    CHECK_EQ_INT(cfg.timeout, 0);
    CHECK(!strcmp(cfg.requirepass, ""));
    CHECK(!strcmp(get("save"), "save=10 1\n"));
    CHECK_EQ_INT(apply_calls, 3 + 3);
    const char *h[] = {"maxclients", "7002", "timeout", "5"};
    CHECK_EQ_INT(set_multi(2, h, err, sizeof(err)), 0);
    CHECK_EQ_INT(cfg.maxclients, 7002);
    config_set_apply_hook(NULL);
}

/* ---------- the generic loader with its own table ---------- */

struct demo {
    long long limit, mem;
    int on, mode;
    char *name;
    conf_list words;
    long long secret;
};

static const conf_enum_val demo_modes[] = {{"fast", 1}, {"safe", 2}, {NULL, 0}};
static const conf_key demo_keys[] = {
    {.name = "limit", .type = CONF_INT, .off = offsetof(struct demo, limit), .def = "5", .min = -10, .max = 10,
     .flags = CONF_RUNTIME},
    {.name = "mem", .type = CONF_MEMORY, .off = offsetof(struct demo, mem), .def = "-1", .min = -10000,
     .max = LLONG_MAX, .flags = CONF_RUNTIME | CONF_NEGATIVE},
    {.name = "on", .type = CONF_BOOL, .off = offsetof(struct demo, on), .def = "yes"},
    {.name = "mode", .type = CONF_ENUM, .off = offsetof(struct demo, mode), .def = "safe", .enums = demo_modes,
     .flags = CONF_RUNTIME},
    {.name = "name", .type = CONF_STRING, .off = offsetof(struct demo, name), .flags = CONF_RUNTIME},
    {.name = "words", .type = CONF_LIST, .off = offsetof(struct demo, words), .def = "a b",
     .flags = CONF_RUNTIME},
    {.name = "secret", .type = CONF_INT, .off = offsetof(struct demo, secret), .def = "42", .min = 0, .max = 100,
     .flags = CONF_HIDDEN | CONF_RUNTIME},
    {.name = NULL},
};

TEST(test_generic_table)
{
    struct demo d;
    char err[512];
    memset(&d, 0, sizeof(d));
    CHECK_EQ_INT(conf_defaults(demo_keys, &d, err, sizeof(err)), 0);
    CHECK_EQ_INT(d.limit, 5);
    CHECK_EQ_INT(d.mem, -1);
    CHECK(d.name && !strcmp(d.name, ""));
    CHECK_EQ_INT(d.words.n, 2);

    const char *y = "limit: -10\nmem: -1kb\non: no\nmode: fast\nname: ~\nwords:\n  - x\n  - [y, z]\n";
    CHECK_EQ_INT(conf_load_string(demo_keys, &d, "demo.yaml", y, strlen(y), err, sizeof(err)), 0);
    CHECK_EQ_INT(d.limit, -10);
    CHECK_EQ_INT(d.mem, -1024);
    CHECK_EQ_INT(d.on, 0);
    CHECK_EQ_INT(d.mode, 1);
    CHECK(!strcmp(d.name, ""));
    CHECK_EQ_INT(d.words.n, 3);

    y = "limit: 11\n";
    CHECK_EQ_INT(conf_load_string(demo_keys, &d, "demo.yaml", y, strlen(y), err, sizeof(err)), -1);
    CHECK(!strcmp(err, "demo.yaml:1: 'limit': '11' is out of range (must be between -10 and 10)"));
    y = "a: &x 1\nlimit: *x\n";
    CHECK_EQ_INT(conf_load_string(demo_keys, &d, "demo.yaml", y, strlen(y), err, sizeof(err)), -1);

    /* Hidden keys answer an exact CONFIG GET but not a pattern. */
    buf_t b;
    buf_init(&b);
    const char *pat = "s*";
    size_t plen = 1 + 1;
    conf_get_multi(demo_keys, &d, 1, &pat, &plen, collect, &b);
    CHECK_EQ_INT(b.len, 0);
    pat = "secret";
    plen = 6;
    conf_get_multi(demo_keys, &d, 1, &pat, &plen, collect, &b);
    CHECK_MEM(b.p, b.len, "secret=42\n");
    buf_free(&b);

    /* Immutable bool via CONFIG SET. */
    const char *nm = "on", *vl = "yes";
    size_t nl = 2, vlen = 3;
    CHECK_EQ_INT(conf_set_multi(demo_keys, &d, 1, &nm, &nl, &vl, &vlen, NULL, NULL, err, sizeof(err)), -1);
    CHECK(strstr(err, "can't set immutable config") != NULL);
    nm = "words"; nl = 5; vl = "p,q"; vlen = 3;
    CHECK_EQ_INT(conf_set_multi(demo_keys, &d, 1, &nm, &nl, &vl, &vlen, NULL, NULL, err, sizeof(err)), 0);
    char *s = conf_format_str(conf_find(demo_keys, "words", 5, NULL), &d);
    CHECK(!strcmp(s, "p q"));
    xfree(s);
    conf_free(demo_keys, &d);
    CHECK(d.name == NULL && d.words.n == 0);
}

int main(void)
{
    RUN(test_memory_units);
    RUN(test_bools);
    RUN(test_list_split);
    RUN(test_defaults_match_redis);
    RUN(test_file_load_and_types);
    RUN(test_file_errors_name_line);
    RUN(test_cli_overrides);
    RUN(test_example_file);
    RUN(test_config_get);
    RUN(test_config_set);
    RUN(test_obuf_round_trip);
    RUN(test_multi_set_atomic);
    RUN(test_generic_table);
    config_free();
    remove_tmp_files();
    return UNIT_DONE();
}
