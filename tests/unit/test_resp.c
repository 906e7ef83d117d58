/* Unit tests for common/resp: request parsing (multibulk, inline, split
 * reads, errors) and reply encoding in RESP2 and RESP3. */
#include "resp.h"
#include "unit.h"

static int parse_all(resp_parser *p, const char *s, size_t n, size_t *used)
{
    resp_parser_reset(p);
    return resp_parse(p, s, n, used);
}

TEST(multibulk_basic)
{
    resp_parser p;
    resp_parser_init(&p, 512LL << 20);
    const char *s = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    size_t used;
    CHECK_EQ_INT(parse_all(&p, s, strlen(s), &used), RESP_DONE);
    CHECK_EQ_INT(used, strlen(s));
    CHECK_EQ_INT(p.argc, 2);
    CHECK_MEM(p.argv[0], p.argvlen[0], "GET");
    CHECK_MEM(p.argv[1], p.argvlen[1], "key");
    resp_parser_free(&p);
}

TEST(multibulk_split_every_byte)
{
    resp_parser p;
    resp_parser_init(&p, 512LL << 20);
    const char *s = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n\r\n";
    size_t n = strlen(s), used = 0;
    resp_parser_reset(&p);
    int r = RESP_INCOMPLETE;
    for (size_t k = 1; k <= n; k++) {
        r = resp_parse(&p, s, k, &used);
        if (k < n) CHECK_EQ_INT(r, RESP_INCOMPLETE);
    }
    CHECK_EQ_INT(r, RESP_DONE);
    CHECK_EQ_INT(p.argc, 3);
    CHECK_EQ_INT(p.argvlen[2], 0);
    resp_parser_free(&p);
}

TEST(binary_bulk)
{
    resp_parser p;
    resp_parser_init(&p, 512LL << 20);
    const char s[] = "*1\r\n$5\r\na\r\0b\n\r\n";
    size_t used;
    CHECK_EQ_INT(parse_all(&p, s, sizeof(s) - 1, &used), RESP_DONE);
    CHECK_EQ_INT(p.argvlen[0], 5);
    CHECK(memcmp(p.argv[0], "a\r\0b\n", 5) == 0);
    resp_parser_free(&p);
}

TEST(inline_quotes)
{
    resp_parser p;
    resp_parser_init(&p, 512LL << 20);
    const char *s = "SET \"a b\\x41\\n\" 'c''\r\n";
    size_t used;
    /* 'c'' : a closing quote followed by a quote is unbalanced in Redis. */
    CHECK_EQ_INT(parse_all(&p, s, strlen(s), &used), RESP_PROTO_ERR);
    CHECK(strcmp(p.err, "Protocol error: unbalanced quotes in request") == 0);
    s = "SET \"a b\\x41\\n\" 'it\\'s'\r\n";
    CHECK_EQ_INT(parse_all(&p, s, strlen(s), &used), RESP_DONE);
    CHECK_EQ_INT(p.argc, 3);
    CHECK_MEM(p.argv[1], p.argvlen[1], "a bA\n");
    CHECK_MEM(p.argv[2], p.argvlen[2], "it's");
    s = "   \r\n";
    CHECK_EQ_INT(parse_all(&p, s, strlen(s), &used), RESP_DONE);
    CHECK_EQ_INT(p.argc, 0);
    CHECK_EQ_INT(used, 5);
    s = "PING\n";
    CHECK_EQ_INT(parse_all(&p, s, strlen(s), &used), RESP_DONE);
    CHECK_EQ_INT(p.argc, 1);
    resp_parser_free(&p);
}

TEST(errors)
{
    resp_parser p;
    resp_parser_init(&p, 100);
    size_t used;
    CHECK_EQ_INT(parse_all(&p, "*abc\r\n", 6, &used), RESP_PROTO_ERR);
    CHECK(strcmp(p.err, "Protocol error: invalid multibulk length") == 0);
    CHECK_EQ_INT(parse_all(&p, "*2147483648\r\n", 13, &used), RESP_PROTO_ERR);
    /* A huge but valid count allocates nothing up front. */
    CHECK_EQ_INT(parse_all(&p, "*99999999\r\n", 11, &used), RESP_INCOMPLETE);
    p.unauth = 1;
    CHECK_EQ_INT(parse_all(&p, "*11\r\n", 5, &used), RESP_PROTO_ERR);
    CHECK(strcmp(p.err, "Protocol error: unauthenticated multibulk length") == 0);
    p.unauth = 0;
    CHECK_EQ_INT(parse_all(&p, "*1\r\n+x\r\n", 8, &used), RESP_PROTO_ERR);
    CHECK(strcmp(p.err, "Protocol error: expected '$', got '+'") == 0);
    CHECK_EQ_INT(parse_all(&p, "*1\r\n$101\r\n", 10, &used), RESP_PROTO_ERR);
    CHECK(strcmp(p.err, "Protocol error: invalid bulk length") == 0);
    CHECK_EQ_INT(parse_all(&p, "*1\r\n$-3\r\n", 9, &used), RESP_PROTO_ERR);
    /* A header line with no end, longer than 64 KiB, is refused. */
    static char big[70000];
    memset(big, '1', sizeof(big));
    big[0] = '*';
    CHECK_EQ_INT(parse_all(&p, big, sizeof(big), &used), RESP_PROTO_ERR);
    CHECK(strcmp(p.err, "Protocol error: too big mbulk count string") == 0);
    memset(big, 'a', sizeof(big));
    CHECK_EQ_INT(parse_all(&p, big, sizeof(big), &used), RESP_PROTO_ERR);
    CHECK(strcmp(p.err, "Protocol error: too big inline request") == 0);
    /* Empty multibulk is skipped. */
    CHECK_EQ_INT(parse_all(&p, "*0\r\n", 4, &used), RESP_DONE);
    CHECK_EQ_INT(p.argc, 0);
    CHECK_EQ_INT(used, 4);
    resp_parser_free(&p);
}

/* Length lines: the fast path (plain digits) and the general one must agree
 * at their border (19/20 digits, LLONG_MAX, "0", leading zeros, signs). */
TEST(length_lines)
{
    static const struct { const char *s; int rc; int argc; } cases[] = {
        {"*1\r\n$3\r\nabc\r\n", RESP_DONE, 1},
        {"*1\r\n$0\r\n\r\n", RESP_DONE, 1},
        {"*1\r\n$03\r\nabc\r\n", RESP_PROTO_ERR, 0},
        {"*1\r\n$+3\r\nabc\r\n", RESP_PROTO_ERR, 0},
        {"*1\r\n$3x\r\nabc\r\n", RESP_PROTO_ERR, 0},
        {"*1\r\n$\r\nabc\r\n", RESP_PROTO_ERR, 0},
        {"*01\r\n$3\r\nabc\r\n", RESP_PROTO_ERR, 0},
        {"*+1\r\n$3\r\nabc\r\n", RESP_PROTO_ERR, 0},
        {"*1\r\n$9223372036854775807\r\n", RESP_PROTO_ERR, 0},   /* 19 digits, > max bulk */
        {"*1\r\n$9223372036854775808\r\n", RESP_PROTO_ERR, 0},   /* 19 digits, > LLONG_MAX */
        {"*1\r\n$99999999999999999999\r\n", RESP_PROTO_ERR, 0},  /* 20 digits */
        {"*1\r\n$00000000000000000003\r\nabc\r\n", RESP_PROTO_ERR, 0},
        {"*1\r\n$3\r", RESP_INCOMPLETE, 0},
        {"*1\r\n$3", RESP_INCOMPLETE, 0},
        {"*1\r", RESP_INCOMPLETE, 0},
        {"*12", RESP_INCOMPLETE, 0},
    };
    resp_parser p;
    resp_parser_init(&p, 1000);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t used = 0;
        int rc = parse_all(&p, cases[i].s, strlen(cases[i].s), &used);
        if (rc != cases[i].rc) fprintf(stderr, "case %zu: %s\n", i, cases[i].s);
        CHECK_EQ_INT(rc, cases[i].rc);
        if (rc == RESP_DONE) {
            CHECK_EQ_INT(p.argc, cases[i].argc);
            CHECK_EQ_INT(used, strlen(cases[i].s));
        }
        if (rc == RESP_PROTO_ERR) CHECK(strstr(p.err, "invalid") != NULL);
    }
    resp_parser_free(&p);
}

TEST(big_bulk_need_hint)
{
    resp_parser p;
    resp_parser_init(&p, 512LL << 20);
    const char *s = "*1\r\n$100000\r\nabc";
    size_t used;
    CHECK_EQ_INT(parse_all(&p, s, strlen(s), &used), RESP_INCOMPLETE);
    CHECK_EQ_INT(p.need, 4 + 9 + 100000 + 2);
    resp_parser_free(&p);
}

TEST(writer_resp2_resp3)
{
    buf_t b;
    buf_init(&b);
    resp_w_null(&b, 2);
    resp_w_null(&b, 3);
    resp_w_null_array(&b, 2);
    resp_w_map(&b, 2, 2);
    resp_w_map(&b, 3, 2);
    resp_w_set(&b, 3, 1);
    resp_w_double(&b, 2, 1.5);
    resp_w_double(&b, 3, 1.5);
    resp_w_bool(&b, 2, 1);
    resp_w_bool(&b, 3, 0);
    resp_w_int(&b, -42);
    resp_w_bulk(&b, "", 0);
    resp_w_error_cstr(&b, "ERR a\r\nb");
    const char *want = "$-1\r\n_\r\n*-1\r\n*4\r\n%2\r\n~1\r\n$3\r\n1.5\r\n,1.5\r\n:1\r\n#f\r\n:-42\r\n$0\r\n\r\n-ERR a  b\r\n";
    CHECK_EQ_INT(b.len, strlen(want));
    CHECK(memcmp(b.p, want, b.len) == 0);
    buf_free(&b);
}

TEST(writer_deferred)
{
    buf_t b;
    buf_init(&b);
    resp_w_int(&b, 1);
    size_t mark = resp_w_defer(&b);
    resp_w_bulk(&b, "k", 1);
    resp_w_bulk(&b, "v", 1);
    resp_w_defer_fill(&b, mark, 2, '%', 1);
    const char *want = ":1\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n";
    CHECK_EQ_INT(b.len, strlen(want));
    CHECK(memcmp(b.p, want, b.len) == 0);
    buf_free(&b);
}

int main(void)
{
    RUN(multibulk_basic);
    RUN(multibulk_split_every_byte);
    RUN(binary_bulk);
    RUN(inline_quotes);
    RUN(errors);
    RUN(length_lines);
    RUN(big_bulk_need_hint);
    RUN(writer_resp2_resp3);
    RUN(writer_deferred);
    return UNIT_DONE();
}
