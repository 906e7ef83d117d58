/* busproto: the Redis 7.0 cluster bus wire format (RCmb messages).
 *
 * Pure codec, no I/O: a framing check for stream readers, a decoder that
 * turns one message into a plain struct after validating every length the
 * way a 7.0 node does (plus the bounds checks 7.0 forgets), an encoder that
 * produces byte-exact messages a real 7.0.15 node accepts, and small helpers
 * (slot bitmaps, node IDs, flag names, type names). Everything is explicit
 * big-endian at fixed offsets; no struct is ever cast over a buffer.
 * Shared by shoal-node (the bus itself) and shoal-proxy (PINGs nodes to learn
 * the slot map). Reference: shared/bus-protocol.md. */
#ifndef SHOAL_BUSPROTO_H
#define SHOAL_BUSPROTO_H
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

/* ---- sizes ---------------------------------------------------------------- */
#define BUS_PROTO_VER    1
#define BUS_NAMELEN      40      /* node IDs / shard IDs on the wire, no NUL */
#define BUS_IPLEN        46      /* NUL-terminated IP text fields */
#define BUS_SLOTS        16384
#define BUS_SLOT_BYTES   (BUS_SLOTS / 8)
#define BUS_HDR_LEN      2256    /* everything before the body */
#define BUS_GOSSIP_LEN   104
#define BUS_EXT_HDR_LEN  8
#define BUS_FAIL_LEN     (BUS_HDR_LEN + BUS_NAMELEN)               /* 2296 */
#define BUS_UPDATE_LEN   (BUS_HDR_LEN + 8 + BUS_NAMELEN + BUS_SLOT_BYTES) /* 4352 */
/* Default cap on a claimed totlen before anyone allocates for it. A node
 * relaying big PUBLISH payloads should pass a larger cap to bus_frame. */
#define BUS_FRAME_MAX_DEFAULT (BUS_HDR_LEN + (1u << 20))
/* A 7.0 receiver keeps extension lengths in 16 bits: never send longer. */
#define BUS_EXT_MAX_LEN  0xFFF8u

/* ---- header field offsets (pinned by Redis's static asserts) ------------- */
#define BUS_OFF_SIG           0
#define BUS_OFF_TOTLEN        4
#define BUS_OFF_VER           8
#define BUS_OFF_PORT          10
#define BUS_OFF_TYPE          12
#define BUS_OFF_COUNT         14
#define BUS_OFF_CURRENT_EPOCH 16
#define BUS_OFF_CONFIG_EPOCH  24
#define BUS_OFF_OFFSET        32
#define BUS_OFF_SENDER        40
#define BUS_OFF_MYSLOTS       80
#define BUS_OFF_SLAVEOF       2128
#define BUS_OFF_MYIP          2168
#define BUS_OFF_EXTENSIONS    2214
#define BUS_OFF_NOTUSED1      2216  /* 30 zero bytes */
#define BUS_OFF_PPORT         2246
#define BUS_OFF_CPORT         2248
#define BUS_OFF_FLAGS         2250
#define BUS_OFF_STATE         2252
#define BUS_OFF_MFLAGS        2253
/* gossip entry, relative to the entry start */
#define BUS_GOFF_NODENAME  0
#define BUS_GOFF_PING_SENT 40
#define BUS_GOFF_PONG_RECV 44
#define BUS_GOFF_IP        48
#define BUS_GOFF_PORT      94
#define BUS_GOFF_CPORT     96
#define BUS_GOFF_FLAGS     98
#define BUS_GOFF_PPORT     100

/* ---- enumerations ---------------------------------------------------------- */
enum {
    BUS_MSG_PING = 0, BUS_MSG_PONG = 1, BUS_MSG_MEET = 2, BUS_MSG_FAIL = 3,
    BUS_MSG_PUBLISH = 4, BUS_MSG_FAILOVER_AUTH_REQUEST = 5,
    BUS_MSG_FAILOVER_AUTH_ACK = 6, BUS_MSG_UPDATE = 7, BUS_MSG_MFSTART = 8,
    BUS_MSG_MODULE = 9, BUS_MSG_PUBLISHSHARD = 10,
    BUS_MSG_TYPE_COUNT = 11
};

/* Node flags: header `flags`, gossip `flags`, CLUSTER NODES / nodes.conf. */
#define BUS_NODE_MASTER      1
#define BUS_NODE_SLAVE       2
#define BUS_NODE_PFAIL       4
#define BUS_NODE_FAIL        8
#define BUS_NODE_MYSELF      16
#define BUS_NODE_HANDSHAKE   32
#define BUS_NODE_NOADDR      64
#define BUS_NODE_MEET        128
#define BUS_NODE_MIGRATE_TO  256
#define BUS_NODE_NOFAILOVER  512

/* mflags[0] */
#define BUS_MF_PAUSED    0x01
#define BUS_MF_FORCEACK  0x02
#define BUS_MF_EXT_DATA  0x04

/* Cluster state byte. */
#define BUS_STATE_OK   0
#define BUS_STATE_FAIL 1

/* Ping extension types. 7.0 knows only HOSTNAME (it logs a warning for every
 * other type, so send only HOSTNAME to 7.0 peers); 1-3 come from 7.2. */
enum {
    BUS_EXT_HOSTNAME = 0, BUS_EXT_HUMAN_NODENAME = 1,
    BUS_EXT_FORGOTTEN_NODE = 2, BUS_EXT_SHARDID = 3
};

/* Return codes. Frame errors mean "close the link" (7.0 does); decode errors
 * mean "drop this message, keep the link" (7.0 silently drops). */
enum {
    BUS_OK             = 0,
    BUS_ERR_SIG        = -1,  /* frame: signature is not "RCmb" */
    BUS_ERR_TOOSHORT   = -2,  /* frame: totlen below the header size */
    BUS_ERR_TOOBIG     = -3,  /* frame: totlen above the caller's cap */
    BUS_ERR_TRUNCATED  = -4,  /* decode: buffer shorter than totlen */
    BUS_ERR_VERSION    = -5,  /* decode: ver != 1 (7.0 ignores the message) */
    BUS_ERR_LENGTH     = -6,  /* decode: totlen does not match the type */
    BUS_ERR_EXT        = -7,  /* decode: malformed ping extension */
    BUS_ERR_ENCODE     = -8   /* encode: message cannot be represented */
};
/* bus_frame results besides errors */
#define BUS_FRAME_NEED_MORE 0
#define BUS_FRAME_READY     1

/* ---- decoded / to-be-encoded message -------------------------------------- */

/* Fixed fields are copied; names get a NUL at [40] and IPs at [46] so they
 * can be printed, but exactly 40/46 wire bytes are decoded and encoded. */
typedef struct bus_hdr {
    uint32_t totlen;         /* decode: as received; encode: computed */
    uint16_t ver;            /* decode: always 1; encode: always writes 1 */
    uint16_t port;           /* sender's client port (TLS port with tls-cluster) */
    uint16_t type;           /* BUS_MSG_* (unknown values decode as raw) */
    uint16_t count;          /* decode: gossip count; encode: ignored (body) */
    uint64_t current_epoch;
    uint64_t config_epoch;
    uint64_t offset;         /* replication offset */
    char     sender[BUS_NAMELEN + 1];
    uint8_t  myslots[BUS_SLOT_BYTES];
    char     slaveof[BUS_NAMELEN + 1]; /* all zero for a master */
    char     myip[BUS_IPLEN + 1];      /* empty unless cluster-announce-ip */
    uint16_t extensions;     /* decode: as received; encode: ignored (body) */
    uint16_t pport;          /* plaintext port in TLS clusters, else 0 */
    uint16_t cport;          /* sender's bus port */
    uint16_t flags;          /* BUS_NODE_* of the sender (MYSELF included) */
    uint8_t  state;          /* BUS_STATE_* */
    uint8_t  mflags[3];      /* BUS_MF_* in [0]; encode fixes EXT_DATA */
} bus_hdr;

typedef struct bus_gossip {
    char     nodename[BUS_NAMELEN + 1];
    uint32_t ping_sent;      /* seconds, 0 = no ping pending */
    uint32_t pong_received;  /* seconds */
    char     ip[BUS_IPLEN + 1];
    uint16_t port, cport, flags, pport;
} bus_gossip;

/* One ping extension. HOSTNAME / HUMAN_NODENAME: text/text_len (decoded text
 * stops at the first NUL). FORGOTTEN_NODE: name + ttl. SHARDID: name.
 * Any other type: data/data_len is the raw payload (decoded: including the
 * padding; encoded: zero-padded to 8). Pointers borrow the caller's memory
 * (for decoded messages: the input buffer). */
typedef struct bus_ext {
    uint16_t       type;
    uint32_t       wire_len;   /* decode: the extension's length field */
    const uint8_t *data;       /* text or raw payload */
    uint32_t       data_len;
    char           name[BUS_NAMELEN + 1];
    uint64_t       ttl;        /* FORGOTTEN_NODE, seconds */
} bus_ext;

typedef struct bus_msg {
    bus_hdr h;
    union {
        struct {               /* PING, PONG, MEET */
            bus_gossip *gossip;
            uint32_t    n_gossip;
            bus_ext    *ext;
            uint32_t    n_ext;
        } ping;
        struct { char nodename[BUS_NAMELEN + 1]; } fail;
        struct {               /* PUBLISH, PUBLISHSHARD (borrowed pointers) */
            const uint8_t *channel;
            uint32_t       channel_len;
            const uint8_t *message;
            uint32_t       message_len;
        } publish;
        struct {
            uint64_t config_epoch;
            char     nodename[BUS_NAMELEN + 1];
            uint8_t  slots[BUS_SLOT_BYTES];
        } update;
        struct {               /* MODULE: module_id is opaque (no byte swap) */
            uint8_t        module_id[8];
            uint8_t        type;
            const uint8_t *payload;
            uint32_t       len;
        } module;
        struct {               /* unknown types: the body as received */
            const uint8_t *data;
            uint32_t       len;
        } raw;
    } u;
    uint8_t owned;             /* internal: gossip/ext arrays came from decode */
} bus_msg;

/* ---- framing ---------------------------------------------------------------
 * Given the bytes received so far on a link, say whether a whole message is
 * there. Needs 8 bytes to look at sig + totlen; validates both (totlen in
 * [BUS_HDR_LEN, max_len]) before the caller sizes any buffer from totlen.
 * Returns BUS_FRAME_READY (whole message at p[0..*totlen)), BUS_FRAME_NEED_MORE
 * (*totlen set once 8 bytes are known, else 0), or BUS_ERR_SIG / TOOSHORT /
 * TOOBIG (close the link). max_len 0 means BUS_FRAME_MAX_DEFAULT. */
int bus_frame(const uint8_t *p, size_t len, uint32_t max_len, uint32_t *totlen,
              const char **reason);

/* ---- decode ---------------------------------------------------------------
 * Decode the message at p (len >= its totlen; extra bytes are ignored).
 * Validates signature, version and the exact length rules 7.0 applies per
 * type (gossip count, extension walk, PUBLISH/MODULE lengths, overflow-safe).
 * Unknown types decode with a raw body (7.0 accepts any length for them).
 * The sender ID is not validated (7.0 just treats a bad ID as an unknown
 * node): use bus_nodeid_valid. On success call bus_msg_free; pointers in
 * the result borrow p. On error *reason (if non-NULL) says why, m is left
 * freed/zeroed. */
int bus_decode(const uint8_t *p, size_t len, bus_msg *m, const char **reason);
void bus_msg_free(bus_msg *m);

/* ---- encode ---------------------------------------------------------------
 * Zero m and set the type (ver = 1). Fill the header and body, then encode.
 * The encoder computes totlen, count, extensions and the EXT_DATA bit from
 * the body; everything else in the header is written as given. */
void bus_msg_init(bus_msg *m, uint16_t type);
/* Bytes bus_encode will write, or 0 (with *reason) if not encodable. */
size_t bus_encoded_len(const bus_msg *m, const char **reason);
/* Write into out[0..cap). Returns BUS_OK (with *written) or BUS_ERR_ENCODE. */
int bus_encode(const bus_msg *m, uint8_t *out, size_t cap, size_t *written,
               const char **reason);
/* Append the encoded message to b. Returns BUS_OK or BUS_ERR_ENCODE. */
int bus_encode_buf(const bus_msg *m, buf_t *b, const char **reason);

/* Extension builders (text/name are borrowed for text; names are copied). */
void bus_ext_hostname(bus_ext *e, const char *hostname);
void bus_ext_human_nodename(bus_ext *e, const char *name);
void bus_ext_forgotten_node(bus_ext *e, const char *nodename, uint64_t ttl_sec);
void bus_ext_shard_id(bus_ext *e, const char *shard_id);
/* Encoded size of one extension (header + padded payload). */
uint32_t bus_ext_wire_len(const bus_ext *e);

/* ---- helpers ---------------------------------------------------------------- */
/* Slot bitmap: slot s is bit (s & 7) of byte (s >> 3). Out-of-range slots
 * read as 0 and are ignored by set/clear. */
static inline int bus_slot_get(const uint8_t *bm, unsigned slot)
{
    return slot < BUS_SLOTS ? (bm[slot >> 3] >> (slot & 7)) & 1 : 0;
}
static inline void bus_slot_set(uint8_t *bm, unsigned slot)
{
    if (slot < BUS_SLOTS) bm[slot >> 3] |= (uint8_t)(1u << (slot & 7));
}
static inline void bus_slot_clear(uint8_t *bm, unsigned slot)
{
    if (slot < BUS_SLOTS) bm[slot >> 3] &= (uint8_t)~(1u << (slot & 7));
}
int bus_slot_count(const uint8_t *bm);

/* 1 if id[0..len) is exactly 40 lowercase hex characters (what nodes
 * generate). Redis's own lookup check is looser ([a-z0-9]{40}). */
int bus_nodeid_valid(const char *id, size_t len);
/* 1 if all 40 bytes are zero (e.g. slaveof of a master). */
int bus_name_is_null(const char *name);

/* CLUSTER NODES flag text: "myself,master,..." in the fixed order, or
 * "noflags". Writes at most cap bytes including the NUL; returns length. */
#define BUS_FLAGS_STR_MAX 72
size_t bus_flags_to_str(uint16_t flags, char *out, size_t cap);
/* Parse a comma list as nodes.conf loading does (myself, master, slave,
 * fail?, fail, handshake, noaddr, nofailover, noflags). Returns 0, or -1 on
 * an unknown name. */
int bus_flags_from_str(const char *s, size_t len, uint16_t *out);

/* "ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack",
 * "update", "mfstart", "module", "publishshard" (CLUSTER INFO stat names);
 * "unknown" otherwise. */
const char *bus_type_name(uint16_t type);
/* "hostname", "human-nodename", "forgotten-node", "shard-id", "unknown". */
const char *bus_ext_type_name(uint16_t type);
/* Short text for a BUS_ERR_* code. */
const char *bus_strerror(int code);

#endif
