/* slot: CRC16 (XMODEM, as the Redis Cluster spec requires) and key -> hash
 * slot mapping with {hash tags}. */
#ifndef SHOAL_SLOT_H
#define SHOAL_SLOT_H
#include <stddef.h>
#include <stdint.h>

#define SLOT_COUNT 16384

uint16_t crc16(const char *buf, size_t len);
/* Slot of a key: CRC16 of the whole key, or of the part between the first
 * '{' and the next '}' when that part is non-empty. */
int key_hash_slot(const char *key, size_t len);

#endif
