/* Unit tests for common/buf: growth, consume/compact, insert, varints. */
#include "buf.h"
#include "unit.h"
#include <stdint.h>

TEST(append_consume_insert)
{
    buf_t b;
    buf_init(&b);
    buf_append_str(&b, "hello ");
    buf_printf(&b, "%d", 42);
    CHECK_MEM(buf_rptr(&b), buf_unread(&b), "hello 42");
    buf_consume(&b, 6);
    CHECK_MEM(buf_rptr(&b), buf_unread(&b), "42");
    buf_compact(&b);
    CHECK_EQ_INT(b.off, 0);
    buf_insert(&b, 0, "x", 1);
    CHECK_MEM(buf_rptr(&b), buf_unread(&b), "x42");
    buf_consume(&b, 3);
    CHECK_EQ_INT(b.len, 0); /* fully read: reset to empty */
    for (int i = 0; i < 100000; i++) buf_append(&b, "ab", 2);
    CHECK_EQ_INT(buf_unread(&b), 200000);
    buf_free(&b);
}

TEST(varints)
{
    static const unsigned long long vals[] = {0, 1, 127, 128, 300, 16383, 16384, 1ULL << 35, UINT64_MAX};
    buf_t b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) buf_append_varint(&b, vals[i]);
    const unsigned char *p = (const unsigned char *)b.p, *end = p + b.len;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        unsigned long long v = 1234;
        CHECK(varint_read(&p, end, &v));
        CHECK(v == vals[i]);
    }
    CHECK(p == end);
    unsigned long long v;
    CHECK(!varint_read(&p, end, &v)); /* nothing left */
    const unsigned char cut[] = {0x80, 0x80};
    p = cut;
    CHECK(!varint_read(&p, cut + 2, &v)); /* truncated */
    unsigned char tooLong[11];
    memset(tooLong, 0xff, sizeof(tooLong));
    p = tooLong;
    CHECK(!varint_read(&p, tooLong + 11, &v)); /* more than 64 bits */
    buf_free(&b);
}

int main(void)
{
    RUN(append_consume_insert);
    RUN(varints);
    return UNIT_DONE();
}
