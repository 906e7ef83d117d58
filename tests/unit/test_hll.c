/* test_hll: drives the HLL and string commands through the real dispatcher
 * on an in-process client (no sockets): HLL counts and bytes known from
 * Redis 7.0.15 for fixed inputs, sparse/dense promotion, the forms writes
 * are propagated in (SET EX -> PXAT, INCRBYFLOAT -> SET KEEPTTL, GETEX ->
 * PEXPIREAT/PERSIST/DEL, PFCOUNT cache updates), INCR on an int value
 * allocating nothing, and the string type's DUMP payload validation. */
#include "unit.h"
#include "cmd.h"
#include "cmdtable.h"
#include "config.h"
#include "db.h"
#include "mem.h"
#include "obj.h"
#include "server.h"
#include "util.h"
#include <stdarg.h>
#include <stdlib.h>

static client *cl;
static char last_prop[4096];
static int nprop;

/* Propagation hook: records the last propagated command as "A B C". */
static void on_prop(int dbid, int argc, const char **argv, const size_t *argvlen)
{
    size_t n = 0;
    nprop++;
    last_prop[0] = 0;
    for (int i = 0; i < argc && n + argvlen[i] + 2 < sizeof(last_prop); i++) {
        if (i) last_prop[n++] = ' ';
        memcpy(last_prop + n, argv[i], argvlen[i]);
        n += argvlen[i];
    }
    last_prop[n] = 0;
}

/* Runs a command given as separate arguments (binary-safe lengths via
 * strlen: tests use text only); returns the raw reply bytes. */
static const char *run_argv(int argc, const char **argv)
{
    static size_t lens[64];
    static char out[1 << 18];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    buf_reset(&cl->obuf, 1 << 20);
    cl->obuf_written = 0;
    cl->argc = argc;
    cl->argv = argv;
    cl->argvlen = lens;
    last_prop[0] = 0;
    cmd_process(cl);
    size_t n = cl->obuf.len < sizeof(out) - 1 ? cl->obuf.len : sizeof(out) - 1;
    memcpy(out, cl->obuf.p, n);
    out[n] = 0;
    return out;
}

/* Space-separated command line (no quoting). */
static const char *run(const char *line)
{
    static char copy[4096];
    const char *argv[64];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *t = strtok(copy, " "); t && argc < 64; t = strtok(NULL, " ")) argv[argc++] = t;
    return run_argv(argc, argv);
}

static void setup(void)
{
    char err[256];
    char *argv[] = {"test_hll", NULL};
    if (config_load_args(1, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, "config: %s\n", err);
        exit(1);
    }
    server_update_clock();
    cmd_table_init();
    cmd_init();
    db_init_all((int)cfg.databases);
    cmd_set_propagate_hook(on_prop);
    cl = client_new(-1);
}

/* PFCOUNT of e0..e(n-1) equals what Redis 7.0.15 answers. */
TEST(hll_counts_match_redis)
{
    static const struct { int n; const char *count; } want[] = {
        {1, ":1\r\n"}, {10, ":10\r\n"}, {100, ":100\r\n"}, {1000, ":1008\r\n"},
        {10000, ":9973\r\n"}, {100000, ":100853\r\n"},
    };
    run("FLUSHALL");
    int done = 0;
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        for (; done < want[w].n; done++) {
            char ele[32], *argv[3] = {"PFADD", "h", ele};
            snprintf(ele, sizeof(ele), "e%d", done);
            run_argv(3, (const char **)argv);
        }
        const char *r = run("PFCOUNT h");
        if (strcmp(r, want[w].count) != 0) fprintf(stderr, "  n=%d got %s", want[w].n, r);
        CHECK(strcmp(r, want[w].count) == 0);
    }
    CHECK(strcmp(run("PFDEBUG ENCODING h"), "+dense\r\n") == 0);
}

TEST(hll_sparse_bytes_match_redis)
{
    run("FLUSHALL");
    CHECK(strcmp(run("PFADD h a b c"), ":1\r\n") == 0);
    const char *r = run("GET h");
    static const char want[] = "$27\r\nHYLL\x01\0\0\0\0\0\0\0\0\0\0\x80`\xf3\x80P\xb1\x84K\xfb\x80" "BZ\r\n";
    CHECK(memcmp(r, want, sizeof(want) - 1) == 0);
    CHECK(strcmp(run("PFDEBUG DECODE h"), "$44\r\nZ:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n") == 0);
    CHECK(strcmp(run("PFCOUNT h"), ":3\r\n") == 0);
    CHECK(strcmp(run("PFADD h a"), ":0\r\n") == 0);
    CHECK(strcmp(run("PFDEBUG TODENSE h"), ":1\r\n") == 0);
    CHECK(strcmp(run("PFCOUNT h"), ":3\r\n") == 0);
    CHECK(strcmp(run("PFSELFTEST"), "+OK\r\n") == 0);
}

TEST(hll_promotion_by_size)
{
    run("FLUSHALL");
    long long saved = cfg.hll_sparse_max_bytes;
    cfg.hll_sparse_max_bytes = 40;
    run("PFADD h a b c"); /* 27 bytes */
    CHECK(strcmp(run("PFDEBUG ENCODING h"), "+sparse\r\n") == 0);
    run("PFADD h d e f g h i j k l m");
    CHECK(strcmp(run("PFDEBUG ENCODING h"), "+dense\r\n") == 0);
    CHECK(strcmp(run("PFCOUNT h"), ":13\r\n") == 0);
    cfg.hll_sparse_max_bytes = saved;
}

/* A register value above 32 cannot be a sparse VAL: the HLL turns dense.
 * "e2119568080" hashes to register 12049 with value 35 (found offline). */
TEST(hll_promotion_by_value)
{
    run("FLUSHALL");
    run("PFADD h a b");
    CHECK(strcmp(run("PFDEBUG ENCODING h"), "+sparse\r\n") == 0);
    CHECK(strcmp(run("PFADD h e2119568080"), ":1\r\n") == 0);
    CHECK(strcmp(run("PFDEBUG ENCODING h"), "+dense\r\n") == 0);
    const char *r = run("PFDEBUG GETREG h");
    /* *16384 then one ":v" per register: find register 12049. */
    const char *p = strchr(r, '\n') + 1;
    for (int i = 0; i < 12049 && p; i++) p = strchr(p, '\n') + 1;
    CHECK(p && strncmp(p, ":35\r\n", 5) == 0);
    CHECK(strcmp(run("PFCOUNT h"), ":3\r\n") == 0);
}

TEST(propagated_forms)
{
    run("FLUSHALL");
    nprop = 0;
    run("SET k v");
    CHECK(strcmp(last_prop, "SET k v") == 0);
    run("SET k v EX 100");
    CHECK(strncmp(last_prop, "SET k v PXAT ", 13) == 0);
    long long when = atoll(last_prop + 13);
    CHECK(when >= srv.now_ms + 99000 && when <= srv.now_ms + 100000);
    run("SET k v PX 5000 NX"); /* not set: nothing propagated */
    CHECK(last_prop[0] == 0);
    run("SETEX k 10 v");
    CHECK(strncmp(last_prop, "SET k v PXAT ", 13) == 0);
    run("INCRBYFLOAT f 1.5");
    CHECK(strcmp(last_prop, "SET f 1.5 KEEPTTL") == 0);
    run("GETEX k EX 50");
    CHECK(strncmp(last_prop, "PEXPIREAT k ", 12) == 0);
    run("GETEX k PERSIST");
    CHECK(strcmp(last_prop, "PERSIST k") == 0);
    run("GETEX k PERSIST"); /* no TTL left: no write */
    CHECK(last_prop[0] == 0);
    run("GETEX k EXAT 1");
    CHECK(strcmp(last_prop, "DEL k") == 0);
    CHECK(strcmp(run("EXISTS k"), ":0\r\n") == 0);
    run("SET g 1");
    run("GETSET g 2");
    CHECK(strcmp(last_prop, "SET g 2") == 0);
    run("GETDEL g");
    CHECK(strcmp(last_prop, "DEL g") == 0);
    run("PFADD h a");
    run("PFCOUNT h");
    CHECK(strcmp(last_prop, "PFCOUNT h") == 0); /* the cache update replicates */
    run("PFCOUNT h");
    CHECK(last_prop[0] == 0);
    run("INCR n");
    CHECK(strcmp(last_prop, "INCR n") == 0);
}

TEST(incr_on_int_allocates_nothing)
{
    run("FLUSHALL");
    run("SET n 5");
    run("INCR n");
    size_t before = mem_used();
    for (int i = 0; i < 1000; i++) run("INCR n");
    run("DECRBY n 1000");
    CHECK_EQ_INT(mem_used(), before);
    CHECK(strcmp(run("GET n"), "$1\r\n6\r\n") == 0);
    CHECK(strcmp(run("OBJECT ENCODING n"), "$3\r\nint\r\n") == 0);
}

TEST(string_payload_roundtrip_and_garbage)
{
    buf_t b;
    const obj_type_ops *ops = &string_type_ops;
    int enc;
    void *val;
    /* int */
    buf_init(&b);
    ops->serialize(OBJ_ENC_INT, obj_int_to_val(-1234567890123LL), &b);
    CHECK(ops->deserialize(b.p, b.len, &enc, &val) == 0);
    CHECK(enc == OBJ_ENC_INT && obj_val_to_int(val) == -1234567890123LL);
    buf_free(&b);
    /* short string keeps its embstr kind, an edited one its raw kind */
    sstr *s = sstr_new("hello", 5);
    buf_init(&b);
    ops->serialize(OBJ_ENC_RAW, s, &b);
    CHECK(ops->deserialize(b.p, b.len, &enc, &val) == 0);
    CHECK(enc == OBJ_ENC_RAW && ((sstr *)val)->len == 5 && memcmp(((sstr *)val)->data, "hello", 5) == 0);
    CHECK(strcmp(ops->enc_name(enc, val), "embstr") == 0);
    ops->free_val(enc, val);
    buf_free(&b);
    sstr_free(s);
    run("FLUSHALL");
    run("SET r 1");
    run("APPEND r 2");
    CHECK(strcmp(run("OBJECT ENCODING r"), "$3\r\nraw\r\n") == 0);
    kv *e = db_peek(db_get(0), "r", 1);
    CHECK(e != NULL);
    if (e) {
        buf_init(&b);
        ops->serialize(e->enc, e->val, &b);
        CHECK(ops->deserialize(b.p, b.len, &enc, &val) == 0);
        CHECK(strcmp(ops->enc_name(enc, val), "raw") == 0);
        void *d = ops->dup_val(enc, val);
        CHECK(strcmp(ops->enc_name(enc, d), "raw") == 0);
        ops->free_val(enc, d);
        ops->free_val(enc, val);
        buf_free(&b);
    }
    /* Garbage: only well-formed payloads are accepted, nothing crashes. */
    CHECK(ops->deserialize("", 0, &enc, &val) == -1);
    CHECK(ops->deserialize("i123", 4, &enc, &val) == -1);
    CHECK(ops->deserialize("x", 1, &enc, &val) == -1);
    srand(7);
    for (int i = 0; i < 2000; i++) {
        char p[32];
        size_t n = (size_t)(rand() % 32);
        for (size_t k = 0; k < n; k++) p[k] = (char)rand();
        if (ops->deserialize(p, n, &enc, &val) == 0) {
            CHECK(n >= 1 && (p[0] == 'i' || p[0] == 'e' || p[0] == 'r'));
            ops->free_val(enc, val);
        }
    }
}

int main(void)
{
    setup();
    RUN(hll_counts_match_redis);
    RUN(hll_sparse_bytes_match_redis);
    RUN(hll_promotion_by_size);
    RUN(hll_promotion_by_value);
    RUN(propagated_forms);
    RUN(incr_on_int_allocates_nothing);
    RUN(string_payload_roundtrip_and_garbage);
    return UNIT_DONE();
}
