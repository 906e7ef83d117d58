/* Unit tests for common/slot: CRC16 spec vector and hash-tag rules. */
#include "slot.h"
#include "unit.h"

TEST(crc16_vector) { CHECK_EQ_INT(crc16("123456789", 9), 0x31C3); }
TEST(crc16_empty) { CHECK_EQ_INT(crc16("", 0), 0); }

/* The sliced loop against the plain bit-by-bit definition, every length
 * 0..100 (all tail lengths, several 8-byte blocks) and every byte value. */
static uint16_t crc16_bitwise(const unsigned char *p, size_t len)
{
    uint16_t c = 0;
    for (size_t i = 0; i < len; i++) {
        c ^= (uint16_t)(p[i] << 8);
        for (int k = 0; k < 8; k++) c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
    }
    return c;
}

TEST(crc16_matches_bitwise)
{
    unsigned char buf[101];
    unsigned x = 12345;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = round == 0 ? (unsigned char)(i * 37) : (unsigned char)(x >> 16);
        }
        for (size_t len = 0; len <= 100; len++)
            CHECK_EQ_INT(crc16((const char *)buf, len), crc16_bitwise(buf, len));
    }
}

TEST(hash_tags)
{
    /* Same tag, same slot. */
    CHECK_EQ_INT(key_hash_slot("{user1000}.following", 20), key_hash_slot("{user1000}.followers", 20));
    CHECK_EQ_INT(key_hash_slot("{user1000}.following", 20), key_hash_slot("user1000", 8));
    /* Only the first {...} counts. */
    CHECK_EQ_INT(key_hash_slot("foo{bar}{zap}", 13), key_hash_slot("bar", 3));
    /* Empty tag: the whole key is hashed. */
    CHECK_EQ_INT(key_hash_slot("foo{}{bar}", 10), crc16("foo{}{bar}", 10) & 16383);
    /* First '{' then first '}' after it. */
    CHECK_EQ_INT(key_hash_slot("foo{{bar}}zap", 13), key_hash_slot("{bar", 4));
    CHECK_EQ_INT(key_hash_slot("foo{bar", 7), crc16("foo{bar", 7) & 16383);
    /* Known slots from the cluster spec / redis-cli CLUSTER KEYSLOT. */
    CHECK_EQ_INT(key_hash_slot("foo", 3), 12182);
    CHECK_EQ_INT(key_hash_slot("bar", 3), 5061);
    CHECK_EQ_INT(key_hash_slot("", 0), 0);
}

int main(void)
{
    RUN(crc16_vector);
    RUN(crc16_empty);
    RUN(crc16_matches_bitwise);
    RUN(hash_tags);
    return UNIT_DONE();
}
