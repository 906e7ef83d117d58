/* Unit tests for common/slot: CRC16 spec vector and hash-tag rules. */
#include "slot.h"
#include "unit.h"

TEST(crc16_vector) { CHECK_EQ_INT(crc16("123456789", 9), 0x31C3); }
TEST(crc16_empty) { CHECK_EQ_INT(crc16("", 0), 0); }

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
    RUN(hash_tags);
    return UNIT_DONE();
}
