/* Unit tests for node/intset.c: encodings, upgrades, a randomized run
 * against a sorted-array model, and blob validation. */
#include "unit.h"
#include "intset.h"
#include "mem.h"
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

TEST(test_basic)
{
    intset *is = intset_new();
    int added, removed;
    CHECK_EQ_INT(intset_len(is), 0);
    CHECK_EQ_INT(intset_blob_len(is), 8);
    is = intset_add(is, 5, &added);
    CHECK(added);
    is = intset_add(is, 5, &added);
    CHECK(!added);
    is = intset_add(is, -3, &added);
    is = intset_add(is, 10, &added);
    CHECK_EQ_INT(intset_len(is), 3);
    CHECK_EQ_INT(intset_blob_len(is), 8 + 3 * 2);
    int64_t v;
    CHECK(intset_get(is, 0, &v) && v == -3);
    CHECK(intset_get(is, 1, &v) && v == 5);
    CHECK(intset_get(is, 2, &v) && v == 10);
    CHECK(!intset_get(is, 3, &v));
    CHECK(intset_find(is, 5) && !intset_find(is, 6) && !intset_find(is, INT64_MAX));
    CHECK_EQ_INT(intset_min(is), -3);
    CHECK_EQ_INT(intset_max(is), 10);
    is = intset_remove(is, 5, &removed);
    CHECK(removed);
    is = intset_remove(is, 5, &removed);
    CHECK(!removed);
    is = intset_remove(is, INT64_MIN, &removed);
    CHECK(!removed);
    CHECK_EQ_INT(intset_len(is), 2);
    intset_free(is);
}

TEST(test_upgrade)
{
    intset *is = intset_new();
    is = intset_add(is, 1, NULL);
    is = intset_add(is, 2, NULL);
    CHECK_EQ_INT(intset_value_width(32767), 2);
    CHECK_EQ_INT(intset_value_width(32768), 4);
    CHECK_EQ_INT(intset_value_width(-32769), 4);
    CHECK_EQ_INT(intset_value_width(INT32_MIN), 4);
    CHECK_EQ_INT(intset_value_width((int64_t)INT32_MAX + 1), 8);
    is = intset_add(is, 70000, NULL);            /* 16 -> 32, appended */
    CHECK_EQ_INT(intset_blob_len(is), 8 + 3 * 4);
    is = intset_add(is, INT64_MIN, NULL);        /* 32 -> 64, prepended */
    CHECK_EQ_INT(intset_blob_len(is), 8 + 4 * 8);
    is = intset_add(is, INT64_MAX, NULL);
    int64_t want[] = { INT64_MIN, 1, 2, 70000, INT64_MAX }, v;
    CHECK_EQ_INT(intset_len(is), 5);
    for (uint32_t i = 0; i < 5; i++) CHECK(intset_get(is, i, &v) && v == want[i]);
    CHECK(intset_find(is, INT64_MIN) && intset_find(is, INT64_MAX) && intset_find(is, 70000));
    /* Upgrade with a negative 32-bit value goes to the front. */
    intset *b = intset_new();
    b = intset_add(b, 7, NULL);
    b = intset_add(b, -100000, NULL);
    CHECK(intset_get(b, 0, &v) && v == -100000);
    CHECK(intset_get(b, 1, &v) && v == 7);
    CHECK(intset_validate(b, intset_blob_len(b), 1));
    intset_free(b);
    intset *c = intset_dup(is);
    CHECK_EQ_INT(intset_blob_len(c), intset_blob_len(is));
    CHECK(memcmp(c, is, intset_blob_len(is)) == 0);
    intset_free(c);
    intset_free(is);
}

static int64_t rand_val(void)
{
    switch (rnd() % 4) {
    case 0: return (int64_t)(rnd() % 200) - 100;
    case 1: return (int64_t)(rnd() % 100000) - 50000;
    case 2: return (int64_t)(rnd() % 10000000000ULL) - 5000000000LL;
    default: return (int64_t)rnd();
    }
}

TEST(test_random_vs_model)
{
    for (int round = 0; round < 6; round++) {
        intset *is = intset_new();
        int64_t *model = malloc(sizeof(int64_t) * 5000);
        size_t n = 0;
        for (int op = 0; op < 5000; op++) {
            int64_t v = (round < 3 && op % 4) ? (int64_t)(rnd() % 300) - 150 : rand_val();
            size_t pos = 0;
            while (pos < n && model[pos] < v) pos++;
            int present = pos < n && model[pos] == v;
            if (rnd() % 3) {
                int added;
                is = intset_add(is, v, &added);
                CHECK_EQ_INT(added, !present);
                if (!present) {
                    memmove(model + pos + 1, model + pos, (n - pos) * sizeof(int64_t));
                    model[pos] = v;
                    n++;
                }
            } else {
                int removed;
                is = intset_remove(is, v, &removed);
                CHECK_EQ_INT(removed, present);
                if (present) {
                    memmove(model + pos, model + pos + 1, (n - pos - 1) * sizeof(int64_t));
                    n--;
                }
            }
            CHECK_EQ_INT(intset_len(is), n);
            CHECK_EQ_INT(intset_find(is, v), pos < n && model[pos] == v);
            if (op % 97 == 0) {
                int64_t g;
                for (size_t i = 0; i < n; i++) CHECK(intset_get(is, (uint32_t)i, &g) && g == model[i]);
                for (size_t i = 0; i < n; i++) CHECK(intset_find(is, model[i]));
                if (n) {
                    int64_t r = intset_random(is);
                    CHECK(intset_find(is, r));
                    CHECK_EQ_INT(intset_min(is), model[0]);
                    CHECK_EQ_INT(intset_max(is), model[n - 1]);
                }
                CHECK(intset_validate(is, intset_blob_len(is), 1));
            }
        }
        free(model);
        intset_free(is);
    }
}

TEST(test_random_member_fair)
{
    intset *is = intset_new();
    for (int i = 0; i < 10; i++) is = intset_add(is, i * 1000, NULL);
    int hits[10] = { 0 };
    for (int i = 0; i < 20000; i++) hits[intset_random(is) / 1000]++;
    for (int i = 0; i < 10; i++) CHECK(hits[i] > 1500 && hits[i] < 2500);
    intset_free(is);
}

TEST(test_validate)
{
    intset *is = intset_new();
    for (int i = 0; i < 10; i++) is = intset_add(is, i * 3, NULL);
    size_t n = intset_blob_len(is);
    unsigned char *b = malloc(n + 8);
    memcpy(b, is, n);
    CHECK(intset_validate(b, n, 1));
    CHECK(!intset_validate(b, n - 1, 0));
    CHECK(!intset_validate(b, n + 2, 0));
    CHECK(!intset_validate(b, 7, 0));
    b[0] = 3;                                   /* bad encoding */
    CHECK(!intset_validate(b, n, 0));
    b[0] = 2;
    b[8] = 0x7f;                                /* first cell now larger than the second */
    CHECK(intset_validate(b, n, 0));
    CHECK(!intset_validate(b, n, 1));
    memcpy(b, is, n);
    b[4] = 200;                                 /* length too big for the size */
    CHECK(!intset_validate(b, n, 0));
    memcpy(b, is, n);
    intset *c = intset_from_blob(b, n);
    CHECK(intset_find(c, 27));
    intset_free(c);
    free(b);
    intset_free(is);
}

/* Every xmalloc'd byte was given back (mem.c counts them). */
static size_t mem_base;
TEST(test_no_leaks) { CHECK_EQ_INT(mem_used(), mem_base); }

int main(void)
{
    mem_base = mem_used();
    RUN(test_basic);
    RUN(test_upgrade);
    RUN(test_random_vs_model);
    RUN(test_random_member_fair);
    RUN(test_validate);
    RUN(test_no_leaks);
    return UNIT_DONE();
}
