#include "slot.h"

/* CRC16-CCITT (XMODEM): polynomial 0x1021, init 0, no reflection. The
 * tables are built once from the polynomial rather than hard-coded.
 *
 * Slicing by 8: table[k][x] is the CRC of byte x followed by k zero bytes,
 * so (the CRC being linear, init 0) eight bytes fold in with eight
 * independent lookups instead of a chain of eight dependent ones; the two
 * state bytes mix into the first two. Every request's key goes through
 * here, on the proxy and on each node. */
static uint16_t table[8][256];
static int table_ready;

static void build_table(void)
{
    for (int i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)(i << 8);
        for (int k = 0; k < 8; k++) c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
        table[0][i] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++) {
            uint16_t p = table[k - 1][i];
            table[k][i] = (uint16_t)((p << 8) ^ table[0][p >> 8]);
        }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint16_t crc16(const char *buf, size_t len)
{
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();
    const uint8_t *p = (const uint8_t *)buf;
    uint16_t crc = 0;
    for (; len >= 8; p += 8, len -= 8)
        crc = table[7][(crc >> 8) ^ p[0]] ^ table[6][(crc & 0xff) ^ p[1]] ^
              table[5][p[2]] ^ table[4][p[3]] ^ table[3][p[4]] ^ table[2][p[5]] ^
              table[1][p[6]] ^ table[0][p[7]];
    for (; len; p++, len--) crc = (uint16_t)((crc << 8) ^ table[0][(crc >> 8) ^ *p]);
    return crc;
}

int key_hash_slot(const char *key, size_t len)
{
    size_t s, e;
    for (s = 0; s < len; s++)
        if (key[s] == '{') break;
    if (s == len) return crc16(key, len) & (SLOT_COUNT - 1);
    for (e = s + 1; e < len; e++)
        if (key[e] == '}') break;
    /* No closing brace, or "{}" with nothing inside: hash the whole key. */
    if (e == len || e == s + 1) return crc16(key, len) & (SLOT_COUNT - 1);
    return crc16(key + s + 1, e - s - 1) & (SLOT_COUNT - 1);
}
