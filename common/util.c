#include "util.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int str_to_ull(const char *s, size_t len, unsigned long long *out)
{
    if (len == 0 || len > 20) return 0;
    if (len == 1 && s[0] == '0') { *out = 0; return 1; }
    if (s[0] < '1' || s[0] > '9') return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

int str_to_ll(const char *s, size_t len, long long *out)
{
    unsigned long long v;
    if (len == 0) return 0;
    if (s[0] == '-') {
        if (!str_to_ull(s + 1, len - 1, &v)) return 0;
        if (v == 0 && len > 1) { /* "-0" is rejected by Redis */ return 0; }
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        *out = (long long)(0 - v);
        return 1;
    }
    if (!str_to_ull(s, len, &v) || v > (unsigned long long)LLONG_MAX) return 0;
    *out = (long long)v;
    return 1;
}

int str_to_double(const char *s, size_t len, double *out)
{
    char buf[256];
    if (len == 0 || len >= sizeof(buf)) return 0;
    if (isspace((unsigned char)s[0])) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    /* end must reach len: an embedded NUL would otherwise end the parse early */
    if (end != buf + len || isnan(v)) return 0;
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)) return 0;
    *out = v;
    return 1;
}

int str_to_ldouble(const char *s, size_t len, long double *out)
{
    char buf[5120];
    if (len == 0 || len >= sizeof(buf)) return 0;
    if (isspace((unsigned char)s[0])) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (end != buf + len || isnan(v) || errno == ERANGE) return 0;
    *out = v;
    return 1;
}

int ull_digits(unsigned long long v)
{
    int n = 1;
    while (v >= 10) { v /= 10; n++; }
    return n;
}

int ull_to_str(char *buf, unsigned long long v)
{
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

int ll_to_str(char *buf, long long v)
{
    if (v < 0) {
        buf[0] = '-';
        return 1 + ull_to_str(buf + 1, (unsigned long long)0 - (unsigned long long)v);
    }
    return ull_to_str(buf, (unsigned long long)v);
}

int double_to_str(char *buf, double v)
{
    if (isinf(v)) return sprintf(buf, v > 0 ? "inf" : "-inf");
    return snprintf(buf, 128, "%.17g", v);
}

int ldouble_to_str(char *buf, size_t cap, long double v)
{
    if (isinf(v) || isnan(v)) return 0;
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n <= 0 || (size_t)n >= cap) return 0;
    if (strchr(buf, '.')) {
        while (n > 0 && buf[n - 1] == '0') n--;
        if (n > 0 && buf[n - 1] == '.') n--;
        buf[n] = '\0';
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0') { buf[0] = '0'; buf[1] = 0; n = 1; }
    return n;
}

static int lower(int c, int nocase) { return nocase ? tolower(c) : c; }

int glob_match(const char *p, size_t plen, const char *s, size_t slen, int nocase)
{
    while (plen && slen) {
        switch (p[0]) {
        case '*':
            while (plen > 1 && p[1] == '*') { p++; plen--; }
            if (plen == 1) return 1;
            while (slen) {
                if (glob_match(p + 1, plen - 1, s, slen, nocase)) return 1;
                s++; slen--;
            }
            return 0;
        case '?':
            s++; slen--;
            break;
        case '[': {
            int neg, match = 0;
            p++; plen--;
            neg = plen && p[0] == '^';
            if (neg) { p++; plen--; }
            while (plen && p[0] != ']') {
                if (p[0] == '\\' && plen >= 2) {
                    p++; plen--;
                    if (p[0] == s[0]) match = 1;
                } else if (plen >= 3 && p[1] == '-') {
                    int a = lower((unsigned char)p[0], nocase), b = lower((unsigned char)p[2], nocase);
                    int c = lower((unsigned char)s[0], nocase);
                    if (a > b) { int t = a; a = b; b = t; }
                    p += 2; plen -= 2;
                    if (c >= a && c <= b) match = 1;
                } else if (lower((unsigned char)p[0], nocase) == lower((unsigned char)s[0], nocase)) {
                    match = 1;
                }
                p++; plen--;
            }
            if (plen == 0) { p--; plen++; } /* unterminated class: stay on last char */
            if (neg) match = !match;
            if (!match) return 0;
            s++; slen--;
            break;
        }
        case '\\':
            if (plen >= 2) { p++; plen--; }
            /* fall through */
        default:
            if (lower((unsigned char)p[0], nocase) != lower((unsigned char)s[0], nocase)) return 0;
            s++; slen--;
            break;
        }
        p++; plen--;
        if (slen == 0) {
            while (plen && p[0] == '*') { p++; plen--; }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

int arg_is(const char *s, size_t len, const char *word)
{
    size_t wl = strlen(word);
    return wl == len && strncasecmp(s, word, len) == 0;
}

long long time_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

long long time_ms(void) { return time_us() / 1000; }

void busy_note(busy_meter *m, long long now_ms, long long *client_ms)
{
    if (now_ms != m->ms) {
        m->prev = now_ms == m->ms + 1 ? m->count : 0;
        m->count = 0;
        m->ms = now_ms;
    }
    if (*client_ms != now_ms) {
        *client_ms = now_ms;
        m->count++;
    }
}

long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t seed0 = 0x9e3779b97f4a7c15ULL, seed1 = 0xbf58476d1ce4e5b9ULL;

void hash_set_seed(const uint8_t seed[16])
{
    memcpy(&seed0, seed, 8);
    memcpy(&seed1, seed + 8, 8);
}

/* wyhash-like mixing: fast and good enough with a per-process seed. */
static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

uint64_t hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = seed0 ^ (len * 0xa0761d6478bd642fULL);
    while (len >= 16) {
        h = mix(rd64(p) ^ seed1 ^ h, rd64(p + 8) ^ 0xe7037ed1a0b428dbULL);
        p += 16; len -= 16;
    }
    uint64_t a = 0, b = 0;
    if (len >= 8) { a = rd64(p); b = 0; memcpy(&b, p + 8, len - 8); }
    else memcpy(&a, p, len);
    h = mix(h ^ a ^ 0x8ebc6af09c88c6e3ULL, b ^ seed1 ^ 0x589965cc75374cc3ULL);
    /* Final avalanche so the low bits (the bucket index) depend on every
     * input byte: short keys differing in one byte must spread. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

uint64_t hash_bytes_nocase(const void *data, size_t len)
{
    char buf[256];
    const char *s = data;
    if (len > sizeof(buf)) len = sizeof(buf); /* prefix is enough for names */
    for (size_t i = 0; i < len; i++) buf[i] = (char)tolower((unsigned char)s[i]);
    return hash_bytes(buf, len);
}

void random_hex(char *buf, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[64];
    int fd = open("/dev/urandom", O_RDONLY);
    size_t got = 0;
    while (got < n) {
        size_t want = (n - got + 1) / 2;
        if (want > sizeof(r)) want = sizeof(r);
        ssize_t k = fd >= 0 ? read(fd, r, want) : -1;
        if (k <= 0) { for (size_t i = 0; i < want; i++) r[i] = (unsigned char)rand(); k = (ssize_t)want; }
        for (ssize_t i = 0; i < k && got < n; i++) {
            buf[got++] = hex[r[i] >> 4];
            if (got < n) buf[got++] = hex[r[i] & 15];
        }
    }
    if (fd >= 0) close(fd);
}
