/* util: number <-> string conversions with Redis's exact acceptance rules,
 * glob matching, and small helpers shared by node and proxy. */
#ifndef SHOAL_UTIL_H
#define SHOAL_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Parse a whole string as a signed 64-bit integer the way Redis does:
 * no leading '+', no spaces, no leading zeros (except "0"), no overflow.
 * Returns 1 on success. */
int str_to_ll(const char *s, size_t len, long long *out);
/* Same, for an unsigned 64-bit value. */
int str_to_ull(const char *s, size_t len, unsigned long long *out);
/* Parse a double as Redis's getDoubleFromObject: strtod over the whole
 * string, no spaces, no NaN; "inf"/"-inf" accepted. Returns 1 on success. */
int str_to_double(const char *s, size_t len, double *out);
/* Parse a long double (INCRBYFLOAT/HINCRBYFLOAT). Returns 1 on success. */
int str_to_ldouble(const char *s, size_t len, long double *out);

/* Write v in decimal into buf (needs 21 bytes); returns the length. */
int ll_to_str(char *buf, long long v);
int ull_to_str(char *buf, unsigned long long v);
/* Format a double as Redis 7.0 replies do ("%.17g", inf/-inf). buf >= 128. */
int double_to_str(char *buf, double v);
/* Format a long double as INCRBYFLOAT does (%.17Lf, trailing zeros and
 * dot trimmed). buf >= 5120 for huge values; returns 0 if not finite. */
int ldouble_to_str(char *buf, size_t cap, long double v);
/* Number of decimal digits needed for v. */
int ull_digits(unsigned long long v);

/* Glob-style pattern match as KEYS/SCAN MATCH/PSUBSCRIBE use.
 * Returns 1 on match. nocase != 0 ignores ASCII case. */
int glob_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase);

/* Case-insensitive compare of a length-counted arg to a C string. */
int arg_is(const char *s, size_t len, const char *word);

/* Milliseconds / microseconds since the Unix epoch, and a monotonic clock. */
long long time_ms(void);
long long time_us(void);
long long mono_us(void);

/* 64-bit hash (SipHash-1-2 style quality not required; seeded). */
uint64_t hash_bytes(const void *p, size_t len);
uint64_t hash_bytes_nocase(const void *p, size_t len);
void hash_set_seed(const uint8_t seed[16]);

/* How many distinct clients sent something in the last whole millisecond
 * (the io-coalesce-us naps of shoal-node and shoal-proxy wait only when
 * many are busy). busy_note is called on each read with the current
 * millisecond and the client's own last-counted millisecond. */
typedef struct busy_meter {
    long long ms;   /* the millisecond being counted */
    int count;      /* clients counted in it so far */
    int prev;       /* clients counted in the millisecond before, if it was ms - 1 */
} busy_meter;
void busy_note(busy_meter *m, long long now_ms, long long *client_ms);

/* Fill buf with n random hex chars (node IDs, run IDs). */
void random_hex(char *buf, size_t n);

#endif
