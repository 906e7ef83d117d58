/* unit.h: a tiny test runner. Each test file defines tests with TEST(name)
 * and lists them in main() via RUN(name); CHECK records failures and goes on.
 * The binary prints one summary line "N passed, N failed" and exits non-zero
 * on any failure. */
#ifndef SHOAL_UNIT_H
#define SHOAL_UNIT_H
#include <stdio.h>
#include <string.h>

static int unit_failed_checks, unit_tests_passed, unit_tests_failed;
static int unit_cur_failed;

#define TEST(name) static void name(void)
#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    unit_failed_checks++; unit_cur_failed = 1; } } while (0)
#define CHECK_EQ_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
    if (_a != _b) { fprintf(stderr, "  FAIL %s:%d: %s == %s (%lld vs %lld)\n", \
    __FILE__, __LINE__, #a, #b, _a, _b); unit_failed_checks++; unit_cur_failed = 1; } } while (0)
#define CHECK_MEM(p, n, lit) CHECK((n) == sizeof(lit) - 1 && memcmp((p), (lit), (n)) == 0)
#define RUN(name) do { unit_cur_failed = 0; name(); \
    if (unit_cur_failed) { unit_tests_failed++; fprintf(stderr, "FAILED %s\n", #name); } \
    else unit_tests_passed++; } while (0)
#define UNIT_DONE() (printf("%s: %d passed, %d failed\n", __FILE__, \
    unit_tests_passed, unit_tests_failed), unit_tests_failed ? 1 : 0)

#endif
