/* Unit tests for common/busproto: header/gossip offsets against the
 * reference table (shared/bus-protocol.md §3, §5), encode->decode->encode
 * round trips for every message type, exact length rules, extension
 * padding and unknown-type skipping, framing of partial and hostile input,
 * and the flag/slot/name helpers. */
#include "busproto.h"
#include "mem.h"
#include "unit.h"
#include <stdint.h>
#include <stdlib.h>

#define ID_A "0123456789abcdef0123456789abcdef01234567"
#define ID_B "fedcba9876543210fedcba9876543210fedcba98"
#define ID_C "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd"

static uint8_t wire[1 << 16];

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* A header with a distinct value in every field. */
static void fill_hdr(bus_msg *m, uint16_t type)
{
    bus_msg_init(m, type);
    m->h.port = 7001;
    m->h.current_epoch = 0x0102030405060708ULL;
    m->h.config_epoch = 0x1112131415161718ULL;
    m->h.offset = 0x2122232425262728ULL;
    memcpy(m->h.sender, ID_A, 40);
    bus_slot_set(m->h.myslots, 0);
    bus_slot_set(m->h.myslots, 9);
    bus_slot_set(m->h.myslots, 16383);
    memcpy(m->h.slaveof, ID_B, 40);
    strcpy(m->h.myip, "10.1.2.3");
    m->h.pport = 6380;
    m->h.cport = 17001;
    m->h.flags = BUS_NODE_SLAVE | BUS_NODE_MYSELF | BUS_NODE_NOFAILOVER;
    m->h.state = BUS_STATE_FAIL;
    m->h.mflags[0] = BUS_MF_PAUSED;
    m->h.mflags[1] = 0x5a;
    m->h.mflags[2] = 0xa5;
}

static size_t enc(const bus_msg *m)
{
    size_t n = 0;
    const char *why = NULL;
    int rc = bus_encode(m, wire, sizeof(wire), &n, &why);
    if (rc != BUS_OK) fprintf(stderr, "  encode failed: %s\n", why ? why : "?");
    return rc == BUS_OK ? n : 0;
}

static int hdr_equal(const bus_hdr *a, const bus_hdr *b)
{
    return a->port == b->port && a->type == b->type && a->current_epoch == b->current_epoch &&
           a->config_epoch == b->config_epoch && a->offset == b->offset &&
           !memcmp(a->sender, b->sender, 40) && !memcmp(a->myslots, b->myslots, BUS_SLOT_BYTES) &&
           !memcmp(a->slaveof, b->slaveof, 40) && !strcmp(a->myip, b->myip) &&
           a->pport == b->pport && a->cport == b->cport && a->flags == b->flags &&
           a->state == b->state && a->mflags[1] == b->mflags[1] && a->mflags[2] == b->mflags[2] &&
           (a->mflags[0] & ~BUS_MF_EXT_DATA) == (b->mflags[0] & ~BUS_MF_EXT_DATA);
}

/* Decode wire[0..n), re-encode, require identical bytes. */
static int reencode_same(size_t n, bus_msg *d)
{
    static uint8_t again[1 << 16];
    size_t n2 = 0;
    if (bus_decode(wire, n, d, NULL) != BUS_OK) return 0;
    if (bus_encode(d, again, sizeof(again), &n2, NULL) != BUS_OK) return 0;
    return n2 == n && memcmp(again, wire, n) == 0;
}

TEST(offsets_match_reference)
{
    /* Literal numbers from the reference table, not the macros. */
    CHECK_EQ_INT(BUS_HDR_LEN, 2256);
    CHECK_EQ_INT(BUS_OFF_TYPE, 12);
    CHECK_EQ_INT(BUS_OFF_SENDER, 40);
    CHECK_EQ_INT(BUS_OFF_MYSLOTS, 80);
    CHECK_EQ_INT(BUS_OFF_SLAVEOF, 2128);
    CHECK_EQ_INT(BUS_OFF_MYIP, 2168);
    CHECK_EQ_INT(BUS_OFF_EXTENSIONS, 2214);
    CHECK_EQ_INT(BUS_OFF_PPORT, 2246);
    CHECK_EQ_INT(BUS_OFF_CPORT, 2248);
    CHECK_EQ_INT(BUS_OFF_FLAGS, 2250);
    CHECK_EQ_INT(BUS_OFF_STATE, 2252);
    CHECK_EQ_INT(BUS_OFF_MFLAGS, 2253);
    CHECK_EQ_INT(BUS_UPDATE_LEN, 4352);
    CHECK_EQ_INT(BUS_FAIL_LEN, 2296);

    bus_msg m;
    fill_hdr(&m, BUS_MSG_MFSTART);
    size_t n = enc(&m);
    CHECK_EQ_INT(n, 2256);
    CHECK(memcmp(wire + 0, "RCmb", 4) == 0);
    CHECK_EQ_INT(be32(wire + 4), 2256);
    CHECK_EQ_INT(be16(wire + 8), 1);
    CHECK_EQ_INT(be16(wire + 10), 7001);
    CHECK_EQ_INT(be16(wire + 12), BUS_MSG_MFSTART);
    CHECK_EQ_INT(be16(wire + 14), 0);
    CHECK(be64(wire + 16) == 0x0102030405060708ULL);
    CHECK(be64(wire + 24) == 0x1112131415161718ULL);
    CHECK(be64(wire + 32) == 0x2122232425262728ULL);
    CHECK(memcmp(wire + 40, ID_A, 40) == 0);
    /* Slot s = bit (s & 7) of byte (s >> 3): 0 -> byte 0 bit 0, 9 -> byte 1 bit 1,
     * 16383 -> byte 2047 bit 7. */
    CHECK_EQ_INT(wire[80 + 0], 0x01);
    CHECK_EQ_INT(wire[80 + 1], 0x02);
    CHECK_EQ_INT(wire[80 + 2047], 0x80);
    CHECK(memcmp(wire + 2128, ID_B, 40) == 0);
    CHECK(memcmp(wire + 2168, "10.1.2.3\0\0", 10) == 0);
    CHECK_EQ_INT(wire[2168 + 45], 0);
    CHECK_EQ_INT(be16(wire + 2214), 0);
    for (int i = 2216; i < 2246; i++) CHECK_EQ_INT(wire[i], 0);
    CHECK_EQ_INT(be16(wire + 2246), 6380);
    CHECK_EQ_INT(be16(wire + 2248), 17001);
    CHECK_EQ_INT(be16(wire + 2250), BUS_NODE_SLAVE | BUS_NODE_MYSELF | BUS_NODE_NOFAILOVER);
    CHECK_EQ_INT(wire[2252], 1);
    CHECK_EQ_INT(wire[2253], BUS_MF_PAUSED);
    CHECK_EQ_INT(wire[2254], 0x5a);
    CHECK_EQ_INT(wire[2255], 0xa5);
}

TEST(gossip_offsets)
{
    bus_msg m;
    bus_gossip g[2];
    memset(g, 0, sizeof(g));
    fill_hdr(&m, BUS_MSG_PING);
    memcpy(g[0].nodename, ID_B, 40);
    g[0].ping_sent = 0xA1A2A3A4;
    g[0].pong_received = 0xB1B2B3B4;
    strcpy(g[0].ip, "::ffff:127.0.0.1");
    g[0].port = 7002; g[0].cport = 17002; g[0].flags = BUS_NODE_MASTER | BUS_NODE_PFAIL; g[0].pport = 6390;
    memcpy(g[1].nodename, ID_C, 40);
    m.u.ping.gossip = g;
    m.u.ping.n_gossip = 2;
    size_t n = enc(&m);
    CHECK_EQ_INT(n, 2256 + 2 * 104);
    CHECK_EQ_INT(be16(wire + 14), 2);
    const uint8_t *e = wire + 2256;
    CHECK(memcmp(e, ID_B, 40) == 0);
    CHECK_EQ_INT(be32(e + 40), 0xA1A2A3A4);
    CHECK_EQ_INT(be32(e + 44), 0xB1B2B3B4);
    CHECK(memcmp(e + 48, "::ffff:127.0.0.1", 17) == 0);
    CHECK_EQ_INT(be16(e + 94), 7002);
    CHECK_EQ_INT(be16(e + 96), 17002);
    CHECK_EQ_INT(be16(e + 98), BUS_NODE_MASTER | BUS_NODE_PFAIL);
    CHECK_EQ_INT(be16(e + 100), 6390);
    CHECK_EQ_INT(be16(e + 102), 0);
    CHECK(memcmp(e + 104, ID_C, 40) == 0);
    /* No extensions: EXT_DATA must be clear even if the caller set it. */
    m.h.mflags[0] |= BUS_MF_EXT_DATA;
    enc(&m);
    CHECK_EQ_INT(wire[2253] & BUS_MF_EXT_DATA, 0);
}

TEST(roundtrip_ping_pong_meet)
{
    uint16_t types[] = { BUS_MSG_PING, BUS_MSG_PONG, BUS_MSG_MEET };
    for (int t = 0; t < 3; t++) {
        size_t base = mem_used();
        bus_msg m, d;
        bus_gossip g[3];
        memset(g, 0, sizeof(g));
        fill_hdr(&m, types[t]);
        for (int i = 0; i < 3; i++) {
            memcpy(g[i].nodename, i == 0 ? ID_B : i == 1 ? ID_C : ID_A, 40);
            g[i].ping_sent = (uint32_t)(1700000000 + i);
            g[i].pong_received = (uint32_t)(1700000100 + i);
            snprintf(g[i].ip, sizeof(g[i].ip), "192.168.0.%d", i + 1);
            g[i].port = (uint16_t)(7000 + i);
            g[i].cport = (uint16_t)(17000 + i);
            g[i].flags = BUS_NODE_MASTER;
            g[i].pport = 0;
        }
        bus_ext x[4];
        bus_ext_hostname(&x[0], "host-1.example");
        bus_ext_human_nodename(&x[1], "n1");
        bus_ext_forgotten_node(&x[2], ID_C, 60);
        bus_ext_shard_id(&x[3], ID_B);
        m.u.ping.gossip = g;
        m.u.ping.n_gossip = 3;
        m.u.ping.ext = x;
        m.u.ping.n_ext = 4;
        size_t n = enc(&m);
        /* hostname "host-1.example" = 14 chars + NUL -> 16; "n1" -> 8; 56; 48. */
        CHECK_EQ_INT(n, 2256 + 3 * 104 + (8 + 16) + (8 + 8) + 56 + 48);
        CHECK_EQ_INT(be32(wire + 4), n);
        CHECK_EQ_INT(be16(wire + 2214), 4);
        CHECK(wire[2253] & BUS_MF_EXT_DATA);
        const uint8_t *e = wire + 2256 + 3 * 104;
        CHECK_EQ_INT(be32(e), 24);
        CHECK_EQ_INT(be16(e + 4), BUS_EXT_HOSTNAME);
        CHECK_EQ_INT(be16(e + 6), 0);
        CHECK(memcmp(e + 8, "host-1.example\0\0", 16) == 0);

        CHECK(reencode_same(n, &d));
        CHECK(hdr_equal(&m.h, &d.h));
        CHECK_EQ_INT(d.h.count, 3);
        CHECK_EQ_INT(d.h.extensions, 4);
        CHECK_EQ_INT(d.u.ping.n_gossip, 3);
        CHECK_EQ_INT(d.u.ping.n_ext, 4);
        for (int i = 0; i < 3; i++) {
            CHECK(memcmp(d.u.ping.gossip[i].nodename, g[i].nodename, 41) == 0);
            CHECK_EQ_INT(d.u.ping.gossip[i].ping_sent, g[i].ping_sent);
            CHECK_EQ_INT(d.u.ping.gossip[i].pong_received, g[i].pong_received);
            CHECK(strcmp(d.u.ping.gossip[i].ip, g[i].ip) == 0);
            CHECK_EQ_INT(d.u.ping.gossip[i].port, g[i].port);
            CHECK_EQ_INT(d.u.ping.gossip[i].cport, g[i].cport);
            CHECK_EQ_INT(d.u.ping.gossip[i].flags, g[i].flags);
        }
        CHECK_EQ_INT(d.u.ping.ext[0].type, BUS_EXT_HOSTNAME);
        CHECK_EQ_INT(d.u.ping.ext[0].wire_len, 24);
        CHECK(d.u.ping.ext[0].data_len == 14 && !memcmp(d.u.ping.ext[0].data, "host-1.example", 14));
        CHECK(d.u.ping.ext[1].data_len == 2 && !memcmp(d.u.ping.ext[1].data, "n1", 2));
        CHECK_EQ_INT(d.u.ping.ext[2].type, BUS_EXT_FORGOTTEN_NODE);
        CHECK(!strcmp(d.u.ping.ext[2].name, ID_C) && d.u.ping.ext[2].ttl == 60);
        CHECK_EQ_INT(d.u.ping.ext[3].type, BUS_EXT_SHARDID);
        CHECK(!strcmp(d.u.ping.ext[3].name, ID_B));
        bus_msg_free(&d);
        bus_msg_free(&d); /* idempotent */
        CHECK_EQ_INT(mem_used(), base);
    }
}

TEST(roundtrip_fail_update_headeronly)
{
    bus_msg m, d;
    fill_hdr(&m, BUS_MSG_FAIL);
    memcpy(m.u.fail.nodename, ID_C, 40);
    size_t n = enc(&m);
    CHECK_EQ_INT(n, 2296);
    CHECK(memcmp(wire + 2256, ID_C, 40) == 0);
    CHECK(reencode_same(n, &d));
    CHECK(hdr_equal(&m.h, &d.h));
    CHECK(!strcmp(d.u.fail.nodename, ID_C));
    bus_msg_free(&d);

    fill_hdr(&m, BUS_MSG_UPDATE);
    m.u.update.config_epoch = 42;
    memcpy(m.u.update.nodename, ID_B, 40);
    for (unsigned s = 100; s < 200; s++) bus_slot_set(m.u.update.slots, s);
    n = enc(&m);
    CHECK_EQ_INT(n, 4352);
    CHECK(be64(wire + 2256) == 42);
    CHECK(memcmp(wire + 2264, ID_B, 40) == 0);
    CHECK_EQ_INT(wire[2304 + 100 / 8], 0xf0);
    CHECK(reencode_same(n, &d));
    CHECK(d.u.update.config_epoch == 42 && !strcmp(d.u.update.nodename, ID_B));
    CHECK_EQ_INT(bus_slot_count(d.u.update.slots), 100);
    CHECK(bus_slot_get(d.u.update.slots, 100) && bus_slot_get(d.u.update.slots, 199));
    CHECK(!bus_slot_get(d.u.update.slots, 99) && !bus_slot_get(d.u.update.slots, 200));
    bus_msg_free(&d);

    uint16_t hdr_only[] = { BUS_MSG_FAILOVER_AUTH_REQUEST, BUS_MSG_FAILOVER_AUTH_ACK, BUS_MSG_MFSTART };
    for (int i = 0; i < 3; i++) {
        fill_hdr(&m, hdr_only[i]);
        m.h.mflags[0] = BUS_MF_FORCEACK;
        n = enc(&m);
        CHECK_EQ_INT(n, 2256);
        CHECK(reencode_same(n, &d));
        CHECK(hdr_equal(&m.h, &d.h));
        CHECK_EQ_INT(d.h.type, hdr_only[i]);
        bus_msg_free(&d);
    }
}

TEST(roundtrip_publish_module_unknown)
{
    uint16_t types[] = { BUS_MSG_PUBLISH, BUS_MSG_PUBLISHSHARD };
    for (int t = 0; t < 2; t++) {
        bus_msg m, d;
        fill_hdr(&m, types[t]);
        m.u.publish.channel = (const uint8_t *)"news";
        m.u.publish.channel_len = 4;
        m.u.publish.message = (const uint8_t *)"hello\0world";
        m.u.publish.message_len = 11;
        size_t n = enc(&m);
        /* header + channel_len + message_len + bytes, unpadded (the 8-byte
         * bulk_data placeholder is not counted on top). */
        CHECK_EQ_INT(n, 2256 + 8 + 4 + 11);
        CHECK_EQ_INT(be32(wire + 2256), 4);
        CHECK_EQ_INT(be32(wire + 2260), 11);
        CHECK(memcmp(wire + 2264, "newshello\0world", 15) == 0);
        CHECK(reencode_same(n, &d));
        CHECK(d.u.publish.channel_len == 4 && !memcmp(d.u.publish.channel, "news", 4));
        CHECK(d.u.publish.message_len == 11 && !memcmp(d.u.publish.message, "hello\0world", 11));
        bus_msg_free(&d);
        /* Empty channel and message. */
        fill_hdr(&m, types[t]);
        n = enc(&m);
        CHECK_EQ_INT(n, 2264);
        CHECK(reencode_same(n, &d));
        bus_msg_free(&d);
    }

    bus_msg m, d;
    fill_hdr(&m, BUS_MSG_MODULE);
    memcpy(m.u.module.module_id, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    m.u.module.type = 7;
    m.u.module.payload = (const uint8_t *)"abc";
    m.u.module.len = 3;
    size_t n = enc(&m);
    CHECK_EQ_INT(n, 2256 + 13 + 3);
    CHECK(memcmp(wire + 2256, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0); /* opaque, not swapped */
    CHECK_EQ_INT(be32(wire + 2264), 3);
    CHECK_EQ_INT(wire[2268], 7);
    CHECK(reencode_same(n, &d));
    CHECK(d.u.module.type == 7 && d.u.module.len == 3 && !memcmp(d.u.module.payload, "abc", 3));
    CHECK(!memcmp(d.u.module.module_id, "\x01\x02\x03\x04\x05\x06\x07\x08", 8));
    bus_msg_free(&d);

    /* Unknown type: any length is accepted, body kept raw. */
    fill_hdr(&m, 42);
    m.u.raw.data = (const uint8_t *)"xyz";
    m.u.raw.len = 3;
    n = enc(&m);
    CHECK_EQ_INT(n, 2259);
    CHECK(reencode_same(n, &d));
    CHECK(d.h.type == 42 && d.u.raw.len == 3 && !memcmp(d.u.raw.data, "xyz", 3));
    CHECK(!strcmp(bus_type_name(d.h.type), "unknown"));
    bus_msg_free(&d);
}

TEST(extension_padding_and_unknown_skip)
{
    bus_ext e;
    bus_ext_hostname(&e, "");        CHECK_EQ_INT(bus_ext_wire_len(&e), 16);
    bus_ext_hostname(&e, "abcdefg"); CHECK_EQ_INT(bus_ext_wire_len(&e), 16);
    bus_ext_hostname(&e, "abcdefgh"); CHECK_EQ_INT(bus_ext_wire_len(&e), 24);
    bus_ext_forgotten_node(&e, ID_A, 1); CHECK_EQ_INT(bus_ext_wire_len(&e), 56);
    bus_ext_shard_id(&e, ID_A);      CHECK_EQ_INT(bus_ext_wire_len(&e), 48);

    /* Unknown type 9 with a 5-byte payload, then a hostname. */
    bus_msg m, d;
    bus_ext x[2];
    memset(&x[0], 0, sizeof(x[0]));
    x[0].type = 9;
    x[0].data = (const uint8_t *)"\x01\x02\x03\x04\x05";
    x[0].data_len = 5;
    bus_ext_hostname(&x[1], "h");
    fill_hdr(&m, BUS_MSG_PING);
    m.u.ping.ext = x;
    m.u.ping.n_ext = 2;
    size_t n = enc(&m);
    CHECK_EQ_INT(n, 2256 + 16 + 16);
    CHECK_EQ_INT(be32(wire + 2256), 16);
    CHECK_EQ_INT(be16(wire + 2256 + 4), 9);
    CHECK(memcmp(wire + 2256 + 8, "\x01\x02\x03\x04\x05\0\0\0", 8) == 0);
    CHECK(reencode_same(n, &d));
    CHECK_EQ_INT(d.u.ping.n_ext, 2);
    CHECK_EQ_INT(d.u.ping.ext[0].type, 9);
    CHECK_EQ_INT(d.u.ping.ext[0].data_len, 8); /* raw payload incl. padding */
    CHECK_EQ_INT(d.u.ping.ext[1].type, BUS_EXT_HOSTNAME);
    CHECK(d.u.ping.ext[1].data_len == 1 && d.u.ping.ext[1].data[0] == 'h');
    CHECK(!strcmp(bus_ext_type_name(9), "unknown"));
    CHECK(!strcmp(bus_ext_type_name(BUS_EXT_SHARDID), "shard-id"));
    bus_msg_free(&d);

    /* Hostname whose payload has no NUL: text stops at the payload end. */
    n = enc(&m);
    memcpy(wire + 2256 + 16 + 8, "ABCDEFGH", 8);
    CHECK_EQ_INT(bus_decode(wire, n, &d, NULL), BUS_OK);
    CHECK(d.u.ping.ext[1].data_len == 8 && !memcmp(d.u.ping.ext[1].data, "ABCDEFGH", 8));
    bus_msg_free(&d);

    /* Over-long extension is refused by the encoder (7.0 keeps 16 bits). */
    static char big[70000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    bus_ext_hostname(&x[1], big);
    const char *why = NULL;
    CHECK_EQ_INT(bus_encoded_len(&m, &why), 0);
    CHECK(why != NULL);
    CHECK_EQ_INT(bus_encode(&m, wire, sizeof(wire), NULL, &why), BUS_ERR_ENCODE);
}

/* Build a valid PING with one gossip entry and one hostname ext in wire. */
static size_t valid_ping(void)
{
    bus_msg m;
    bus_gossip g;
    bus_ext x;
    memset(&g, 0, sizeof(g));
    memcpy(g.nodename, ID_B, 40);
    bus_ext_hostname(&x, "node");
    fill_hdr(&m, BUS_MSG_PING);
    m.u.ping.gossip = &g;
    m.u.ping.n_gossip = 1;
    m.u.ping.ext = &x;
    m.u.ping.n_ext = 1;
    return enc(&m);
}

static int dec(size_t n, const char **why)
{
    bus_msg d;
    int rc = bus_decode(wire, n, &d, why);
    bus_msg_free(&d);
    return rc;
}

TEST(length_validation)
{
    const char *why;
    size_t base = mem_used();
    size_t n = valid_ping();
    CHECK_EQ_INT(n, 2256 + 104 + 16);
    CHECK_EQ_INT(dec(n, NULL), BUS_OK);

    /* Wrong version: 7.0 ignores the message. */
    put16(wire + 8, 2);
    why = NULL;
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_VERSION);
    CHECK(why && *why);
    put16(wire + 8, 1);

    /* Gossip count larger than the message holds. */
    put16(wire + 14, 2);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_LENGTH);
    put16(wire + 14, 60000);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_LENGTH);
    put16(wire + 14, 1);

    /* Extension length not a multiple of 8 / too long / zero / count too big. */
    uint8_t *ext = wire + 2256 + 104;
    put32(ext, 12);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_EXT);
    put32(ext, 24);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_EXT);
    put32(ext, 0);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_EXT);
    put32(ext, 0xFFFFFFF8u);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_EXT);
    put32(ext, 16);
    put16(wire + 2214, 2);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_EXT);
    put16(wire + 2214, 0);          /* EXT_DATA set, 0 extensions, 16 bytes left */
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_LENGTH);
    put16(wire + 2214, 1);

    /* Without EXT_DATA the extension count is ignored (like 7.0), so the
     * trailing bytes make the length wrong; without them it is fine. */
    wire[2253] &= (uint8_t)~BUS_MF_EXT_DATA;
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_LENGTH);
    put32(wire + 4, 2256 + 104);
    bus_msg d;
    CHECK_EQ_INT(bus_decode(wire, 2256 + 104, &d, NULL), BUS_OK);
    CHECK_EQ_INT(d.u.ping.n_ext, 0);
    CHECK_EQ_INT(d.h.extensions, 1);
    bus_msg_free(&d);

    /* Known extension types that are too short to hold their fields. */
    n = valid_ping();
    put16(ext + 4, BUS_EXT_SHARDID);     /* 8-byte payload < 40 */
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_EXT);
    put16(ext + 4, BUS_EXT_FORGOTTEN_NODE);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_EXT);

    /* FAIL must be exactly header + 40. */
    bus_msg m;
    fill_hdr(&m, BUS_MSG_FAIL);
    n = enc(&m);
    put32(wire + 4, 2296 + 8);
    CHECK_EQ_INT(dec(2296 + 8, &why), BUS_ERR_LENGTH);
    put32(wire + 4, 2295);
    CHECK_EQ_INT(dec(2296, &why), BUS_ERR_LENGTH);

    /* UPDATE exactly 4352, header-only exactly 2256. */
    fill_hdr(&m, BUS_MSG_UPDATE);
    n = enc(&m);
    put32(wire + 4, 4351);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_LENGTH);
    fill_hdr(&m, BUS_MSG_FAILOVER_AUTH_ACK);
    n = enc(&m);
    put32(wire + 4, 2264);
    CHECK_EQ_INT(dec(2264, &why), BUS_ERR_LENGTH);

    /* PUBLISH: lengths must add up, and must not wrap around 32 bits
     * (8 + 0xFFFFFFF8 + 0xA == 10 mod 2^32, the real body size). */
    fill_hdr(&m, BUS_MSG_PUBLISH);
    m.u.publish.channel = (const uint8_t *)"c";
    m.u.publish.channel_len = 1;
    m.u.publish.message = (const uint8_t *)"m";
    m.u.publish.message_len = 1;
    n = enc(&m);
    CHECK_EQ_INT(dec(n, NULL), BUS_OK);
    put32(wire + 2256, 2);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_LENGTH);
    put32(wire + 2256, 0xFFFFFFF8u);
    put32(wire + 2260, 0x0000000Au);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_LENGTH);
    put32(wire + 4, 2260);           /* too short for its two lengths */
    CHECK_EQ_INT(dec(2260, &why), BUS_ERR_LENGTH);

    /* MODULE: 13 + len. */
    fill_hdr(&m, BUS_MSG_MODULE);
    m.u.module.payload = (const uint8_t *)"zz";
    m.u.module.len = 2;
    n = enc(&m);
    CHECK_EQ_INT(dec(n, NULL), BUS_OK);
    put32(wire + 2264, 0xFFFFFFFFu);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_LENGTH);
    put32(wire + 4, 2256 + 12);
    CHECK_EQ_INT(dec(2256 + 12, &why), BUS_ERR_LENGTH);

    /* Truncated buffer, bad signature, totlen below header. */
    n = valid_ping();
    CHECK_EQ_INT(dec(n - 1, &why), BUS_ERR_TRUNCATED);
    CHECK_EQ_INT(dec(5, &why), BUS_ERR_TRUNCATED);
    put32(wire + 4, 100);
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_TOOSHORT);
    wire[0] = 'X';
    CHECK_EQ_INT(dec(n, &why), BUS_ERR_SIG);
    CHECK(!strcmp(bus_strerror(BUS_ERR_SIG), "bad signature"));

    CHECK_EQ_INT(mem_used(), base);
}

TEST(garbage_sender_decodes)
{
    bus_msg m, d;
    fill_hdr(&m, BUS_MSG_PING);
    memcpy(m.h.sender, "\xff\x00ZZ not an id at all, really not.......", 40);
    size_t n = enc(&m);
    CHECK_EQ_INT(bus_decode(wire, n, &d, NULL), BUS_OK);
    CHECK(!bus_nodeid_valid(d.h.sender, 40));
    CHECK(memcmp(d.h.sender, m.h.sender, 40) == 0);
    CHECK_EQ_INT(d.h.sender[40], 0);
    bus_msg_free(&d);
    /* IP fields without a NUL are still printable after decode. */
    memset(wire + 2168, 'x', 46);
    CHECK_EQ_INT(bus_decode(wire, n, &d, NULL), BUS_OK);
    CHECK_EQ_INT(strlen(d.h.myip), 46);
    bus_msg_free(&d);
}

TEST(framing)
{
    uint32_t tl = 123;
    const char *why = NULL;
    size_t n = valid_ping();
    /* Partial headers need more (a wrong signature is caught early). */
    for (size_t k = 0; k < 8; k++) CHECK_EQ_INT(bus_frame(wire, k, 0, &tl, &why), BUS_FRAME_NEED_MORE);
    CHECK_EQ_INT(tl, 0);
    CHECK_EQ_INT(bus_frame(wire, 8, 0, &tl, &why), BUS_FRAME_NEED_MORE);
    CHECK_EQ_INT(tl, n);
    CHECK_EQ_INT(bus_frame(wire, n - 1, 0, &tl, &why), BUS_FRAME_NEED_MORE);
    CHECK_EQ_INT(bus_frame(wire, n, 0, &tl, &why), BUS_FRAME_READY);
    CHECK_EQ_INT(tl, n);
    CHECK_EQ_INT(bus_frame(wire, n + 50, 0, &tl, &why), BUS_FRAME_READY);

    /* Two messages back to back. */
    memcpy(wire + n, wire, n);
    CHECK_EQ_INT(bus_frame(wire + n, n, 0, &tl, &why), BUS_FRAME_READY);
    CHECK_EQ_INT(dec(n, NULL), BUS_OK);

    /* A huge claimed length is refused before anyone allocates it. */
    uint8_t h[8] = { 'R', 'C', 'm', 'b', 0xff, 0xff, 0xff, 0xff };
    CHECK_EQ_INT(bus_frame(h, 8, 0, &tl, &why), BUS_ERR_TOOBIG);
    put32(h + 4, BUS_FRAME_MAX_DEFAULT + 1);
    CHECK_EQ_INT(bus_frame(h, 8, 0, &tl, &why), BUS_ERR_TOOBIG);
    put32(h + 4, BUS_FRAME_MAX_DEFAULT);
    CHECK_EQ_INT(bus_frame(h, 8, 0, &tl, &why), BUS_FRAME_NEED_MORE);
    CHECK_EQ_INT(tl, BUS_FRAME_MAX_DEFAULT);
    CHECK_EQ_INT(bus_frame(h, 8, 5000, &tl, &why), BUS_ERR_TOOBIG); /* caller's cap */
    put32(h + 4, 2255);
    CHECK_EQ_INT(bus_frame(h, 8, 0, &tl, &why), BUS_ERR_TOOSHORT);
    put32(h + 4, 2256);
    CHECK_EQ_INT(bus_frame(h, 8, 0, &tl, &why), BUS_FRAME_NEED_MORE);
    h[2] = 'M';
    CHECK_EQ_INT(bus_frame(h, 3, 0, &tl, &why), BUS_ERR_SIG);
    CHECK(why && *why);
    CHECK_EQ_INT(bus_frame(h, 2, 0, &tl, &why), BUS_FRAME_NEED_MORE);
    CHECK_EQ_INT(bus_frame(NULL, 0, 0, &tl, &why), BUS_FRAME_NEED_MORE);
}

TEST(encode_to_buf)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "xx", 2);
    size_t n = valid_ping();
    bus_msg m;
    CHECK_EQ_INT(bus_decode(wire, n, &m, NULL), BUS_OK);
    CHECK_EQ_INT(bus_encode_buf(&m, &b, NULL), BUS_OK);
    CHECK_EQ_INT(b.len, 2 + n);
    CHECK(memcmp(b.p + 2, wire, n) == 0);
    /* Output too small. */
    uint8_t small[100];
    CHECK_EQ_INT(bus_encode(&m, small, sizeof(small), NULL, NULL), BUS_ERR_ENCODE);
    bus_msg_free(&m);
    buf_free(&b);
}

TEST(slot_helpers)
{
    uint8_t bm[BUS_SLOT_BYTES];
    memset(bm, 0, sizeof(bm));
    CHECK_EQ_INT(bus_slot_count(bm), 0);
    bus_slot_set(bm, 0);
    bus_slot_set(bm, 16383);
    bus_slot_set(bm, 16384); /* ignored */
    bus_slot_set(bm, 12182);
    CHECK_EQ_INT(bus_slot_count(bm), 3);
    CHECK(bus_slot_get(bm, 0) && bus_slot_get(bm, 16383) && bus_slot_get(bm, 12182));
    CHECK(!bus_slot_get(bm, 1) && !bus_slot_get(bm, 16384));
    CHECK_EQ_INT(bm[12182 >> 3], 1 << (12182 & 7));
    bus_slot_clear(bm, 0);
    CHECK(!bus_slot_get(bm, 0));
    memset(bm, 0xff, sizeof(bm));
    CHECK_EQ_INT(bus_slot_count(bm), 16384);
}

TEST(name_and_flag_helpers)
{
    CHECK(bus_nodeid_valid(ID_A, 40));
    CHECK(!bus_nodeid_valid(ID_A, 39));
    CHECK(!bus_nodeid_valid("0123456789ABCDEF0123456789abcdef01234567", 40));
    CHECK(!bus_nodeid_valid("0123456789abcdeg0123456789abcdef01234567", 40));
    CHECK(!bus_nodeid_valid(NULL, 40));
    char zero[40] = { 0 };
    CHECK(bus_name_is_null(zero));
    CHECK(!bus_name_is_null(ID_A));

    char s[BUS_FLAGS_STR_MAX];
    bus_flags_to_str(BUS_NODE_MYSELF | BUS_NODE_MASTER, s, sizeof(s));
    CHECK(!strcmp(s, "myself,master"));
    bus_flags_to_str(0, s, sizeof(s));
    CHECK(!strcmp(s, "noflags"));
    bus_flags_to_str(BUS_NODE_MEET | BUS_NODE_MIGRATE_TO, s, sizeof(s));
    CHECK(!strcmp(s, "noflags"));
    bus_flags_to_str(BUS_NODE_NOFAILOVER | BUS_NODE_SLAVE | BUS_NODE_PFAIL | BUS_NODE_FAIL, s, sizeof(s));
    CHECK(!strcmp(s, "slave,fail?,fail,nofailover"));
    size_t l = bus_flags_to_str(0x3ff, s, sizeof(s));
    CHECK(!strcmp(s, "myself,master,slave,fail?,fail,handshake,noaddr,nofailover"));
    CHECK_EQ_INT(l, strlen(s));
    CHECK(l < BUS_FLAGS_STR_MAX);
    char tiny[10];
    bus_flags_to_str(BUS_NODE_MYSELF | BUS_NODE_MASTER, tiny, sizeof(tiny));
    CHECK(!strcmp(tiny, "myself"));

    uint16_t f = 0;
    CHECK_EQ_INT(bus_flags_from_str("myself,master", 13, &f), 0);
    CHECK_EQ_INT(f, BUS_NODE_MYSELF | BUS_NODE_MASTER);
    CHECK_EQ_INT(bus_flags_from_str("slave,fail?,noaddr,nofailover,handshake,fail", 44, &f), 0);
    CHECK_EQ_INT(f, BUS_NODE_SLAVE | BUS_NODE_PFAIL | BUS_NODE_NOADDR | BUS_NODE_NOFAILOVER |
                    BUS_NODE_HANDSHAKE | BUS_NODE_FAIL);
    CHECK_EQ_INT(bus_flags_from_str("noflags", 7, &f), 0);
    CHECK_EQ_INT(f, 0);
    CHECK_EQ_INT(bus_flags_from_str("master,bogus", 12, &f), -1);
    CHECK_EQ_INT(bus_flags_from_str("master,", 7, &f), -1);

    const char *names[] = { "ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack",
                            "update", "mfstart", "module", "publishshard" };
    for (int t = 0; t < BUS_MSG_TYPE_COUNT; t++) CHECK(!strcmp(bus_type_name((uint16_t)t), names[t]));
    CHECK(!strcmp(bus_type_name(11), "unknown"));
}

int main(void)
{
    RUN(offsets_match_reference);
    RUN(gossip_offsets);
    RUN(roundtrip_ping_pong_meet);
    RUN(roundtrip_fail_update_headeronly);
    RUN(roundtrip_publish_module_unknown);
    RUN(extension_padding_and_unknown_skip);
    RUN(length_validation);
    RUN(garbage_sender_decodes);
    RUN(framing);
    RUN(encode_to_buf);
    RUN(slot_helpers);
    RUN(name_and_flag_helpers);
    return UNIT_DONE();
}
