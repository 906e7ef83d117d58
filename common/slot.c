#include "slot.h"

/* CRC16-CCITT (XMODEM): polynomial 0x1021, init 0, no reflection. The
 * table is built once from the polynomial rather than hard-coded. */
static uint16_t table[256];
static int table_ready;

static void build_table(void)
{
    for (int i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)(i << 8);
        for (int k = 0; k < 8; k++) c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
        table[i] = c;
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint16_t crc16(const char *buf, size_t len)
{
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = (uint16_t)((crc << 8) ^ table[((crc >> 8) ^ (uint8_t)buf[i]) & 0xff]);
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
