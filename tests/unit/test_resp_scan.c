/* Unit tests for common/resp_scan: reply lengths for every RESP2/RESP3 type,
 * nesting, attributes, byte-by-byte feeding and malformed input. */
#include "resp_scan.h"
#include "unit.h"

static long long one(const char *s) { return resp_scan_one(s, strlen(s)); }

TEST(simple_types)
{
    CHECK_EQ_INT(one("+OK\r\n"), 5);
    CHECK_EQ_INT(one("-ERR x\r\n"), 8);
    CHECK_EQ_INT(one(":123\r\n"), 6);
    CHECK_EQ_INT(one("$3\r\nfoo\r\n"), 9);
    CHECK_EQ_INT(one("$-1\r\n"), 5);
    CHECK_EQ_INT(one("$0\r\n\r\n"), 6);
    CHECK_EQ_INT(one("*-1\r\n"), 5);
    CHECK_EQ_INT(one("*0\r\n"), 4);
    CHECK_EQ_INT(one("_\r\n"), 3);
    CHECK_EQ_INT(one(",3.14\r\n"), 7);
    CHECK_EQ_INT(one("#t\r\n"), 4);
    CHECK_EQ_INT(one("(12345678901234567890\r\n"), 23);
    CHECK_EQ_INT(one("!5\r\nERR x\r\n"), 11);
    CHECK_EQ_INT(one("=7\r\ntxt:abc\r\n"), 13);
    /* a reply followed by the next one: only the first counts */
    CHECK_EQ_INT(one("+OK\r\n+OK\r\n"), 5);
}

TEST(aggregates)
{
    CHECK_EQ_INT(one("*2\r\n$1\r\na\r\n:1\r\n"), 15);
    CHECK_EQ_INT(one("*2\r\n*1\r\n+x\r\n*0\r\n"), 16);
    CHECK_EQ_INT(one("%1\r\n+k\r\n+v\r\n"), 12);
    CHECK_EQ_INT(one("~2\r\n:1\r\n:2\r\n"), 12);
    CHECK_EQ_INT(one(">2\r\n+message\r\n+x\r\n"), 18);
    /* nested nulls inside arrays */
    CHECK_EQ_INT(one("*3\r\n$-1\r\n*-1\r\n_\r\n"), 17);
    /* attribute prefixes the value and belongs to the reply */
    CHECK_EQ_INT(one("|1\r\n+a\r\n+b\r\n:5\r\n"), 16);
    /* attribute inside an array does not count as an element */
    CHECK_EQ_INT(one("*1\r\n|1\r\n+a\r\n+b\r\n:5\r\n"), 20);
    CHECK_EQ_INT(one("*2\r\n:1\r\n"), 0);
}

TEST(deep_nesting)
{
    char buf[4096];
    size_t n = 0;
    for (int i = 0; i < 500; i++) { memcpy(buf + n, "*1\r\n", 4); n += 4; }
    memcpy(buf + n, ":7\r\n", 4); n += 4;
    CHECK_EQ_INT(resp_scan_one(buf, n), (long long)n);
    CHECK_EQ_INT(resp_scan_one(buf, n - 1), 0);
}

TEST(byte_by_byte)
{
    const char *r = "*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n*2\r\n:1\r\n,2.5\r\n|1\r\n+a\r\n+b\r\n_\r\n";
    size_t len = strlen(r), got = 0;
    resp_scanner s;
    resp_scanner_init(&s);
    int rc = RESP_SCAN_MORE;
    size_t i;
    for (i = 1; i <= len; i++) {
        rc = resp_scan(&s, r, i, &got);
        if (rc != RESP_SCAN_MORE) break;
    }
    CHECK_EQ_INT(rc, RESP_SCAN_DONE);
    CHECK_EQ_INT(i, len);
    CHECK_EQ_INT(got, len);
    /* the scanner is reset: the next reply scans from scratch */
    CHECK_EQ_INT(resp_scan(&s, "+OK\r\n", 5, &got), RESP_SCAN_DONE);
    CHECK_EQ_INT(got, 5);
    resp_scanner_free(&s);
}

TEST(need_hint)
{
    resp_scanner s;
    size_t got;
    resp_scanner_init(&s);
    CHECK_EQ_INT(resp_scan(&s, "*1\r\n$100\r\nab", 12, &got), RESP_SCAN_MORE);
    CHECK_EQ_INT(s.need, 4 + 6 + 100 + 2);
    resp_scanner_free(&s);
}

TEST(malformed)
{
    CHECK_EQ_INT(one("?3\r\n"), -1);
    CHECK_EQ_INT(one("$x\r\n"), -1);
    CHECK_EQ_INT(one("$-2\r\n"), -1);
    CHECK_EQ_INT(one("$3\r\nfooXY"), -1);
    CHECK_EQ_INT(one("*-2\r\n"), -1);
    CHECK_EQ_INT(one("+OK\rX"), -1);
    CHECK_EQ_INT(one("%-1\r\n"), -1);
    resp_scanner s;
    size_t got;
    resp_scanner_init(&s);
    s.max_bulk = 10;
    CHECK_EQ_INT(resp_scan(&s, "$11\r\n", 5, &got), RESP_SCAN_ERR);
    resp_scanner_free(&s);
}

TEST(header)
{
    long long c = 0;
    CHECK_EQ_INT(resp_scan_header("*12\r\n", 5, &c), 5);
    CHECK_EQ_INT(c, 12);
    CHECK_EQ_INT(resp_scan_header("*-1\r\n", 5, &c), 5);
    CHECK_EQ_INT(c, -1);
    CHECK_EQ_INT(resp_scan_header("*1", 2, &c), 0);
}

int main(void)
{
    RUN(simple_types);
    RUN(aggregates);
    RUN(deep_nesting);
    RUN(byte_by_byte);
    RUN(need_hint);
    RUN(malformed);
    RUN(header);
    return UNIT_DONE();
}
