/* pubsub: channels, patterns and shard channels; PUBLISH fan-out. */
#ifndef SHOAL_PUBSUB_H
#define SHOAL_PUBSUB_H
#include <stddef.h>
#include "client.h"

/* Delivers message to subscribers on this node; returns receivers. */
long long pubsub_publish(const char *ch, size_t chlen, const char *msg, size_t msglen);
/* Same for a shard channel (SPUBLISH, or a PUBLISHSHARD from the bus). */
long long pubsub_publish_shard(const char *ch, size_t chlen, const char *msg, size_t msglen);
void pubsub_client_freed(client *c);   /* drops all its subscriptions */
size_t pubsub_channel_count(void);
size_t pubsub_pattern_count(void);
size_t pubsub_shard_channel_count(void);
void pubsub_drop_shard_channels_in_slot(int slot);
#endif
