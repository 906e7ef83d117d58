/* Unit tests for common/util: Redis-exact number parsing, formatting and
 * glob matching. */
#include "util.h"
#include "unit.h"
#include <limits.h>

TEST(str_to_ll_rules)
{
    long long v;
    CHECK(str_to_ll("0", 1, &v) && v == 0);
    CHECK(str_to_ll("-1", 2, &v) && v == -1);
    CHECK(str_to_ll("9223372036854775807", 19, &v) && v == LLONG_MAX);
    CHECK(str_to_ll("-9223372036854775808", 20, &v) && v == LLONG_MIN);
    CHECK(!str_to_ll("9223372036854775808", 19, &v));
    CHECK(!str_to_ll("01", 2, &v));
    CHECK(!str_to_ll("+1", 2, &v));
    CHECK(!str_to_ll(" 1", 2, &v));
    CHECK(!str_to_ll("-0", 2, &v));
    CHECK(!str_to_ll("", 0, &v));
    CHECK(!str_to_ll("1a", 2, &v));
}

TEST(doubles)
{
    double d;
    char buf[128];
    CHECK(str_to_double("1.5", 3, &d) && d == 1.5);
    CHECK(str_to_double("inf", 3, &d) && d > 1e308);
    CHECK(str_to_double("-inf", 4, &d) && d < -1e308);
    CHECK(!str_to_double("nan", 3, &d));
    CHECK(!str_to_double(" 1", 2, &d));
    CHECK(!str_to_double("1x", 2, &d));
    double_to_str(buf, 0.1);
    CHECK(strcmp(buf, "0.10000000000000001") == 0);
    double_to_str(buf, 3);
    CHECK(strcmp(buf, "3") == 0);
    long double ld = 10.5L;
    ldouble_to_str(buf, sizeof(buf), ld);
    CHECK(strcmp(buf, "10.5") == 0);
    ldouble_to_str(buf, sizeof(buf), 3.0L);
    CHECK(strcmp(buf, "3") == 0);
}

TEST(ll_format)
{
    char buf[24];
    CHECK_EQ_INT(ll_to_str(buf, LLONG_MIN), 20);
    CHECK(strcmp(buf, "-9223372036854775808") == 0);
    CHECK_EQ_INT(ll_to_str(buf, 0), 1);
    CHECK_EQ_INT(ull_digits(1000), 4);
}

TEST(globs)
{
#define G(p, s) glob_match(p, strlen(p), s, strlen(s), 0)
    CHECK(G("*", "anything"));
    CHECK(G("h?llo", "hello"));
    CHECK(!G("h?llo", "hllo"));
    CHECK(G("h*llo", "heeeello"));
    CHECK(G("h[ae]llo", "hallo"));
    CHECK(!G("h[ae]llo", "hillo"));
    CHECK(G("h[^e]llo", "hallo"));
    CHECK(!G("h[^e]llo", "hello"));
    CHECK(G("h[a-b]llo", "hbllo"));
    CHECK(G("h\\*llo", "h*llo"));
    CHECK(!G("h\\*llo", "hello"));
    CHECK(G("a*b*c", "aXXbYYc"));
    CHECK(!G("a*b*c", "aXXbYY"));
    CHECK(G("", ""));
    CHECK(!G("", "a"));
    CHECK(glob_match("HeLLo", 5, "hello", 5, 1));
#undef G
}

/* Distinct clients per millisecond; prev is kept only for the millisecond
 * right before the current one. */
TEST(busy_meter_counts)
{
    busy_meter m = {0};
    long long c[20] = {0};
    for (int i = 0; i < 20; i++) busy_note(&m, 100, &c[i]);
    for (int i = 0; i < 20; i++) busy_note(&m, 100, &c[i]);   /* same clients again */
    CHECK_EQ_INT(m.count, 20);
    busy_note(&m, 101, &c[0]);
    CHECK_EQ_INT(m.prev, 20);
    CHECK_EQ_INT(m.count, 1);
    busy_note(&m, 103, &c[1]);          /* 102 was quiet: nothing carried over */
    CHECK_EQ_INT(m.prev, 0);
    CHECK_EQ_INT(m.count, 1);
}

int main(void)
{
    RUN(str_to_ll_rules);
    RUN(doubles);
    RUN(ll_format);
    RUN(globs);
    RUN(busy_meter_counts);
    return UNIT_DONE();
}
