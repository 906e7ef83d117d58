/* busproto: encode/decode of Redis 7.0 cluster bus messages at fixed
 * big-endian offsets, framing for stream readers, and wire helpers.
 * Every read is bounds-checked against totlen, every length sum is done in
 * 64 bits so claimed lengths cannot wrap. See busproto.h. */
#include "busproto.h"
#include "mem.h"
#include <string.h>

/* ---- big-endian access ---------------------------------------------------- */

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t rd64(const uint8_t *p) { return ((uint64_t)rd32(p) << 32) | rd32(p + 4); }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)(v >> 32)); wr32(p + 4, (uint32_t)v); }

static inline int is_ping_type(uint16_t t)
{
    return t == BUS_MSG_PING || t == BUS_MSG_PONG || t == BUS_MSG_MEET;
}

static inline uint64_t pad8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

static int fail_with(const char **reason, const char *why, int code)
{
    if (reason) *reason = why;
    return code;
}

/* Fixed-width text fields: copy the wire bytes, add a terminator. */
static void get_fixed(char *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* IP fields: up to the first NUL (at most n bytes), zero-filled, so a
 * reused struct never leaks stale bytes after the terminator. */
static void put_ip(uint8_t *dst, const char *src, size_t n)
{
    size_t l = strnlen(src, n);
    memcpy(dst, src, l);
    memset(dst + l, 0, n - l);
}

/* ---- framing --------------------------------------------------------------- */

int bus_frame(const uint8_t *p, size_t len, uint32_t max_len, uint32_t *totlen,
              const char **reason)
{
    if (totlen) *totlen = 0;
    if (max_len == 0) max_len = BUS_FRAME_MAX_DEFAULT;
    /* Reject a bad signature as soon as its bytes arrive: no need to wait. */
    size_t sig = len < 4 ? len : 4;
    if (sig && memcmp(p, "RCmb", sig) != 0)
        return fail_with(reason, "bad signature (not RCmb)", BUS_ERR_SIG);
    if (len < 8) return BUS_FRAME_NEED_MORE;
    uint32_t tl = rd32(p + BUS_OFF_TOTLEN);
    if (tl < BUS_HDR_LEN) return fail_with(reason, "totlen below header size", BUS_ERR_TOOSHORT);
    if (tl > max_len) return fail_with(reason, "totlen above the frame cap", BUS_ERR_TOOBIG);
    if (totlen) *totlen = tl;
    return len >= tl ? BUS_FRAME_READY : BUS_FRAME_NEED_MORE;
}

/* ---- decode ---------------------------------------------------------------- */

static void decode_hdr(const uint8_t *p, bus_hdr *h)
{
    h->totlen = rd32(p + BUS_OFF_TOTLEN);
    h->ver = rd16(p + BUS_OFF_VER);
    h->port = rd16(p + BUS_OFF_PORT);
    h->type = rd16(p + BUS_OFF_TYPE);
    h->count = rd16(p + BUS_OFF_COUNT);
    h->current_epoch = rd64(p + BUS_OFF_CURRENT_EPOCH);
    h->config_epoch = rd64(p + BUS_OFF_CONFIG_EPOCH);
    h->offset = rd64(p + BUS_OFF_OFFSET);
    get_fixed(h->sender, p + BUS_OFF_SENDER, BUS_NAMELEN);
    memcpy(h->myslots, p + BUS_OFF_MYSLOTS, BUS_SLOT_BYTES);
    get_fixed(h->slaveof, p + BUS_OFF_SLAVEOF, BUS_NAMELEN);
    get_fixed(h->myip, p + BUS_OFF_MYIP, BUS_IPLEN);
    h->extensions = rd16(p + BUS_OFF_EXTENSIONS);
    h->pport = rd16(p + BUS_OFF_PPORT);
    h->cport = rd16(p + BUS_OFF_CPORT);
    h->flags = rd16(p + BUS_OFF_FLAGS);
    h->state = p[BUS_OFF_STATE];
    memcpy(h->mflags, p + BUS_OFF_MFLAGS, 3);
}

static void decode_gossip(const uint8_t *g, bus_gossip *o)
{
    get_fixed(o->nodename, g + BUS_GOFF_NODENAME, BUS_NAMELEN);
    o->ping_sent = rd32(g + BUS_GOFF_PING_SENT);
    o->pong_received = rd32(g + BUS_GOFF_PONG_RECV);
    get_fixed(o->ip, g + BUS_GOFF_IP, BUS_IPLEN);
    o->port = rd16(g + BUS_GOFF_PORT);
    o->cport = rd16(g + BUS_GOFF_CPORT);
    o->flags = rd16(g + BUS_GOFF_FLAGS);
    o->pport = rd16(g + BUS_GOFF_PPORT);
}

/* Walk `n` extensions in p[0..avail): each length a multiple of 8, at least
 * the 8-byte header, inside what is left, and payloads of known types long
 * enough for their fixed fields. Fills out[] when non-NULL. Returns the
 * bytes used, or -1 with *why set. 7.0 checks the first two rules only; the
 * rest keeps us from reading past the message where 7.0 would. */
static int64_t walk_exts(const uint8_t *p, uint64_t avail, uint32_t n, bus_ext *out,
                         const char **why)
{
    uint64_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (avail - off < BUS_EXT_HDR_LEN) { *why = "extension header past end of message"; return -1; }
        const uint8_t *e = p + off;
        uint32_t el = rd32(e);
        uint16_t type = rd16(e + 4);
        if (el % 8 != 0) { *why = "extension length not a multiple of 8"; return -1; }
        if (el < BUS_EXT_HDR_LEN) { *why = "extension shorter than its header"; return -1; }
        if (el > avail - off) { *why = "extension exceeds message length"; return -1; }
        uint32_t pl = el - BUS_EXT_HDR_LEN;
        const uint8_t *pd = e + BUS_EXT_HDR_LEN;
        if (type == BUS_EXT_FORGOTTEN_NODE && pl < BUS_NAMELEN + 8) {
            *why = "forgotten-node extension too short"; return -1;
        }
        if (type == BUS_EXT_SHARDID && pl < BUS_NAMELEN) {
            *why = "shard-id extension too short"; return -1;
        }
        if (out) {
            bus_ext *x = &out[i];
            memset(x, 0, sizeof(*x));
            x->type = type;
            x->wire_len = el;
            switch (type) {
            case BUS_EXT_HOSTNAME:
            case BUS_EXT_HUMAN_NODENAME:
                /* Senders NUL-terminate; a missing NUL stops at the payload end. */
                x->data = pd;
                x->data_len = (uint32_t)strnlen((const char *)pd, pl);
                break;
            case BUS_EXT_FORGOTTEN_NODE:
                get_fixed(x->name, pd, BUS_NAMELEN);
                x->ttl = rd64(pd + BUS_NAMELEN);
                break;
            case BUS_EXT_SHARDID:
                get_fixed(x->name, pd, BUS_NAMELEN);
                break;
            default:
                x->data = pd;
                x->data_len = pl;
                break;
            }
        }
        off += el;
    }
    return (int64_t)off;
}

static int decode_ping(const uint8_t *p, bus_msg *m, const char **reason)
{
    uint64_t totlen = m->h.totlen;
    uint64_t gossip_end = BUS_HDR_LEN + (uint64_t)BUS_GOSSIP_LEN * m->h.count;
    if (gossip_end > totlen)
        return fail_with(reason, "too many gossip entries for the message length", BUS_ERR_LENGTH);
    uint64_t explen = gossip_end;
    uint32_t n_ext = 0;
    /* Like 7.0: the extension count only matters when EXT_DATA is set. */
    if (m->h.mflags[0] & BUS_MF_EXT_DATA) {
        const char *why = NULL;
        int64_t used = walk_exts(p + gossip_end, totlen - gossip_end, m->h.extensions, NULL, &why);
        if (used < 0) return fail_with(reason, why, BUS_ERR_EXT);
        explen += (uint64_t)used;
        n_ext = m->h.extensions;
    }
    if (explen != totlen)
        return fail_with(reason, "length does not match gossip count and extensions", BUS_ERR_LENGTH);

    m->u.ping.n_gossip = m->h.count;
    m->u.ping.n_ext = n_ext;
    m->owned = 1;
    if (m->h.count) {
        m->u.ping.gossip = xmalloc(sizeof(bus_gossip) * m->h.count);
        for (uint32_t i = 0; i < m->h.count; i++)
            decode_gossip(p + BUS_HDR_LEN + (size_t)i * BUS_GOSSIP_LEN, &m->u.ping.gossip[i]);
    }
    if (n_ext) {
        const char *why = NULL;
        m->u.ping.ext = xmalloc(sizeof(bus_ext) * n_ext);
        walk_exts(p + gossip_end, totlen - gossip_end, n_ext, m->u.ping.ext, &why);
    }
    return BUS_OK;
}

int bus_decode(const uint8_t *p, size_t len, bus_msg *m, const char **reason)
{
    memset(m, 0, sizeof(*m));
    if (reason) *reason = NULL;
    if (len < 8) return fail_with(reason, "message shorter than 8 bytes", BUS_ERR_TRUNCATED);
    if (memcmp(p, "RCmb", 4) != 0) return fail_with(reason, "bad signature (not RCmb)", BUS_ERR_SIG);
    uint32_t totlen = rd32(p + BUS_OFF_TOTLEN);
    if (totlen < BUS_HDR_LEN) return fail_with(reason, "totlen below header size", BUS_ERR_TOOSHORT);
    if (len < totlen) return fail_with(reason, "buffer shorter than totlen", BUS_ERR_TRUNCATED);

    decode_hdr(p, &m->h);
    if (m->h.ver != BUS_PROTO_VER) {
        memset(m, 0, sizeof(*m));
        return fail_with(reason, "unsupported protocol version", BUS_ERR_VERSION);
    }

    const uint8_t *body = p + BUS_HDR_LEN;
    uint64_t blen = totlen - BUS_HDR_LEN;
    int rc = BUS_OK;
    switch (m->h.type) {
    case BUS_MSG_PING:
    case BUS_MSG_PONG:
    case BUS_MSG_MEET:
        rc = decode_ping(p, m, reason);
        break;
    case BUS_MSG_FAIL:
        if (totlen != BUS_FAIL_LEN) { rc = fail_with(reason, "FAIL length is not 2296", BUS_ERR_LENGTH); break; }
        get_fixed(m->u.fail.nodename, body, BUS_NAMELEN);
        break;
    case BUS_MSG_PUBLISH:
    case BUS_MSG_PUBLISHSHARD: {
        if (blen < 8) { rc = fail_with(reason, "PUBLISH shorter than its lengths", BUS_ERR_LENGTH); break; }
        uint32_t cl = rd32(body), ml = rd32(body + 4);
        /* 7.0 counts sizeof(body) - 8 (the bulk_data[8] placeholder) + the
         * two lengths, i.e. 8 + cl + ml. Sum in 64 bits: no wrap-around. */
        if (8 + (uint64_t)cl + ml != blen) {
            rc = fail_with(reason, "PUBLISH length does not match channel and message lengths", BUS_ERR_LENGTH);
            break;
        }
        m->u.publish.channel = body + 8;
        m->u.publish.channel_len = cl;
        m->u.publish.message = body + 8 + cl;
        m->u.publish.message_len = ml;
        break;
    }
    case BUS_MSG_FAILOVER_AUTH_REQUEST:
    case BUS_MSG_FAILOVER_AUTH_ACK:
    case BUS_MSG_MFSTART:
        if (blen != 0) rc = fail_with(reason, "header-only message has a body", BUS_ERR_LENGTH);
        break;
    case BUS_MSG_UPDATE:
        if (totlen != BUS_UPDATE_LEN) { rc = fail_with(reason, "UPDATE length is not 4352", BUS_ERR_LENGTH); break; }
        m->u.update.config_epoch = rd64(body);
        get_fixed(m->u.update.nodename, body + 8, BUS_NAMELEN);
        memcpy(m->u.update.slots, body + 8 + BUS_NAMELEN, BUS_SLOT_BYTES);
        break;
    case BUS_MSG_MODULE: {
        /* module_id(8) len(4) type(1) payload: 7.0 expects 13 + len. */
        if (blen < 13) { rc = fail_with(reason, "MODULE shorter than its fixed part", BUS_ERR_LENGTH); break; }
        uint32_t ml = rd32(body + 8);
        if (13 + (uint64_t)ml != blen) {
            rc = fail_with(reason, "MODULE length does not match payload length", BUS_ERR_LENGTH);
            break;
        }
        memcpy(m->u.module.module_id, body, 8);
        m->u.module.type = body[12];
        m->u.module.payload = body + 13;
        m->u.module.len = ml;
        break;
    }
    default:
        /* Newer peers' types: 7.0 accepts any length and ignores them. */
        m->u.raw.data = body;
        m->u.raw.len = (uint32_t)blen;
        break;
    }
    if (rc != BUS_OK) {
        bus_msg_free(m);
        memset(m, 0, sizeof(*m));
    }
    return rc;
}

void bus_msg_free(bus_msg *m)
{
    if (!m || !m->owned) return;
    if (is_ping_type(m->h.type)) {
        xfree(m->u.ping.gossip);
        xfree(m->u.ping.ext);
        m->u.ping.gossip = NULL;
        m->u.ping.ext = NULL;
        m->u.ping.n_gossip = m->u.ping.n_ext = 0;
    }
    m->owned = 0;
}

/* ---- encode ---------------------------------------------------------------- */

void bus_msg_init(bus_msg *m, uint16_t type)
{
    memset(m, 0, sizeof(*m));
    m->h.ver = BUS_PROTO_VER;
    m->h.type = type;
}

uint32_t bus_ext_wire_len(const bus_ext *e)
{
    uint64_t pl;
    switch (e->type) {
    case BUS_EXT_HOSTNAME:
    case BUS_EXT_HUMAN_NODENAME: pl = pad8((uint64_t)e->data_len + 1); break;
    case BUS_EXT_FORGOTTEN_NODE: pl = BUS_NAMELEN + 8; break;
    case BUS_EXT_SHARDID:        pl = BUS_NAMELEN; break;
    default:                     pl = pad8(e->data_len); break;
    }
    uint64_t l = BUS_EXT_HDR_LEN + pl;
    return l > UINT32_MAX ? UINT32_MAX : (uint32_t)l;
}

void bus_ext_hostname(bus_ext *e, const char *hostname)
{
    memset(e, 0, sizeof(*e));
    e->type = BUS_EXT_HOSTNAME;
    e->data = (const uint8_t *)hostname;
    e->data_len = (uint32_t)strlen(hostname);
}

void bus_ext_human_nodename(bus_ext *e, const char *name)
{
    bus_ext_hostname(e, name);
    e->type = BUS_EXT_HUMAN_NODENAME;
}

void bus_ext_forgotten_node(bus_ext *e, const char *nodename, uint64_t ttl_sec)
{
    memset(e, 0, sizeof(*e));
    e->type = BUS_EXT_FORGOTTEN_NODE;
    memcpy(e->name, nodename, strnlen(nodename, BUS_NAMELEN));
    e->ttl = ttl_sec;
}

void bus_ext_shard_id(bus_ext *e, const char *shard_id)
{
    memset(e, 0, sizeof(*e));
    e->type = BUS_EXT_SHARDID;
    memcpy(e->name, shard_id, strnlen(shard_id, BUS_NAMELEN));
}

size_t bus_encoded_len(const bus_msg *m, const char **reason)
{
    uint64_t n = BUS_HDR_LEN;
    switch (m->h.type) {
    case BUS_MSG_PING:
    case BUS_MSG_PONG:
    case BUS_MSG_MEET:
        if (m->u.ping.n_gossip > UINT16_MAX) { fail_with(reason, "more than 65535 gossip entries", 0); return 0; }
        if (m->u.ping.n_ext > UINT16_MAX) { fail_with(reason, "more than 65535 extensions", 0); return 0; }
        if (m->u.ping.n_gossip && !m->u.ping.gossip) { fail_with(reason, "gossip array missing", 0); return 0; }
        if (m->u.ping.n_ext && !m->u.ping.ext) { fail_with(reason, "extension array missing", 0); return 0; }
        n += (uint64_t)BUS_GOSSIP_LEN * m->u.ping.n_gossip;
        for (uint32_t i = 0; i < m->u.ping.n_ext; i++) {
            uint32_t el = bus_ext_wire_len(&m->u.ping.ext[i]);
            if (el > BUS_EXT_MAX_LEN) { fail_with(reason, "extension too long for a 7.0 peer", 0); return 0; }
            n += el;
        }
        break;
    case BUS_MSG_FAIL: n += BUS_NAMELEN; break;
    case BUS_MSG_PUBLISH:
    case BUS_MSG_PUBLISHSHARD:
        n += 8 + (uint64_t)m->u.publish.channel_len + m->u.publish.message_len;
        break;
    case BUS_MSG_FAILOVER_AUTH_REQUEST:
    case BUS_MSG_FAILOVER_AUTH_ACK:
    case BUS_MSG_MFSTART: break;
    case BUS_MSG_UPDATE: n += 8 + BUS_NAMELEN + BUS_SLOT_BYTES; break;
    case BUS_MSG_MODULE: n += 13 + (uint64_t)m->u.module.len; break;
    default: n += m->u.raw.len; break;
    }
    if (n > UINT32_MAX) { fail_with(reason, "message longer than 4 GB", 0); return 0; }
    return (size_t)n;
}

static void encode_hdr(const bus_msg *m, uint8_t *o, uint32_t totlen)
{
    const bus_hdr *h = &m->h;
    int ping = is_ping_type(h->type);
    memset(o, 0, BUS_HDR_LEN);
    memcpy(o + BUS_OFF_SIG, "RCmb", 4);
    wr32(o + BUS_OFF_TOTLEN, totlen);
    wr16(o + BUS_OFF_VER, BUS_PROTO_VER);
    wr16(o + BUS_OFF_PORT, h->port);
    wr16(o + BUS_OFF_TYPE, h->type);
    wr16(o + BUS_OFF_COUNT, ping ? (uint16_t)m->u.ping.n_gossip : 0);
    wr64(o + BUS_OFF_CURRENT_EPOCH, h->current_epoch);
    wr64(o + BUS_OFF_CONFIG_EPOCH, h->config_epoch);
    wr64(o + BUS_OFF_OFFSET, h->offset);
    memcpy(o + BUS_OFF_SENDER, h->sender, BUS_NAMELEN);
    memcpy(o + BUS_OFF_MYSLOTS, h->myslots, BUS_SLOT_BYTES);
    memcpy(o + BUS_OFF_SLAVEOF, h->slaveof, BUS_NAMELEN);
    put_ip(o + BUS_OFF_MYIP, h->myip, BUS_IPLEN);
    wr16(o + BUS_OFF_EXTENSIONS, ping ? (uint16_t)m->u.ping.n_ext : 0);
    wr16(o + BUS_OFF_PPORT, h->pport);
    wr16(o + BUS_OFF_CPORT, h->cport);
    wr16(o + BUS_OFF_FLAGS, h->flags);
    o[BUS_OFF_STATE] = h->state;
    memcpy(o + BUS_OFF_MFLAGS, h->mflags, 3);
    /* EXT_DATA iff extensions follow: 7.0 only walks them when it is set. */
    if (ping) {
        if (m->u.ping.n_ext) o[BUS_OFF_MFLAGS] |= BUS_MF_EXT_DATA;
        else o[BUS_OFF_MFLAGS] &= (uint8_t)~BUS_MF_EXT_DATA;
    }
}

static void encode_gossip(uint8_t *o, const bus_gossip *g)
{
    memcpy(o + BUS_GOFF_NODENAME, g->nodename, BUS_NAMELEN);
    wr32(o + BUS_GOFF_PING_SENT, g->ping_sent);
    wr32(o + BUS_GOFF_PONG_RECV, g->pong_received);
    put_ip(o + BUS_GOFF_IP, g->ip, BUS_IPLEN);
    wr16(o + BUS_GOFF_PORT, g->port);
    wr16(o + BUS_GOFF_CPORT, g->cport);
    wr16(o + BUS_GOFF_FLAGS, g->flags);
    wr16(o + BUS_GOFF_PPORT, g->pport);
    wr16(o + 102, 0);
}

/* Writes one extension (length already checked); returns its size. */
static uint32_t encode_ext(uint8_t *o, const bus_ext *e)
{
    uint32_t el = bus_ext_wire_len(e);
    memset(o, 0, el);
    wr32(o, el);
    wr16(o + 4, e->type);
    uint8_t *pd = o + BUS_EXT_HDR_LEN;
    switch (e->type) {
    case BUS_EXT_FORGOTTEN_NODE:
        memcpy(pd, e->name, BUS_NAMELEN);
        wr64(pd + BUS_NAMELEN, e->ttl);
        break;
    case BUS_EXT_SHARDID:
        memcpy(pd, e->name, BUS_NAMELEN);
        break;
    default: /* text (NUL and padding already zero) or raw payload */
        if (e->data_len) memcpy(pd, e->data, e->data_len);
        break;
    }
    return el;
}

int bus_encode(const bus_msg *m, uint8_t *out, size_t cap, size_t *written,
               const char **reason)
{
    if (written) *written = 0;
    const char *why = NULL;
    size_t n = bus_encoded_len(m, &why);
    if (n == 0) return fail_with(reason, why, BUS_ERR_ENCODE);
    if (cap < n) return fail_with(reason, "output buffer too small", BUS_ERR_ENCODE);
    encode_hdr(m, out, (uint32_t)n);
    uint8_t *b = out + BUS_HDR_LEN;
    switch (m->h.type) {
    case BUS_MSG_PING:
    case BUS_MSG_PONG:
    case BUS_MSG_MEET:
        for (uint32_t i = 0; i < m->u.ping.n_gossip; i++, b += BUS_GOSSIP_LEN)
            encode_gossip(b, &m->u.ping.gossip[i]);
        for (uint32_t i = 0; i < m->u.ping.n_ext; i++)
            b += encode_ext(b, &m->u.ping.ext[i]);
        break;
    case BUS_MSG_FAIL:
        memcpy(b, m->u.fail.nodename, BUS_NAMELEN);
        break;
    case BUS_MSG_PUBLISH:
    case BUS_MSG_PUBLISHSHARD:
        wr32(b, m->u.publish.channel_len);
        wr32(b + 4, m->u.publish.message_len);
        if (m->u.publish.channel_len) memcpy(b + 8, m->u.publish.channel, m->u.publish.channel_len);
        if (m->u.publish.message_len)
            memcpy(b + 8 + m->u.publish.channel_len, m->u.publish.message, m->u.publish.message_len);
        break;
    case BUS_MSG_FAILOVER_AUTH_REQUEST:
    case BUS_MSG_FAILOVER_AUTH_ACK:
    case BUS_MSG_MFSTART:
        break;
    case BUS_MSG_UPDATE:
        wr64(b, m->u.update.config_epoch);
        memcpy(b + 8, m->u.update.nodename, BUS_NAMELEN);
        memcpy(b + 8 + BUS_NAMELEN, m->u.update.slots, BUS_SLOT_BYTES);
        break;
    case BUS_MSG_MODULE:
        memcpy(b, m->u.module.module_id, 8);
        wr32(b + 8, m->u.module.len);
        b[12] = m->u.module.type;
        if (m->u.module.len) memcpy(b + 13, m->u.module.payload, m->u.module.len);
        break;
    default:
        if (m->u.raw.len) memcpy(b, m->u.raw.data, m->u.raw.len);
        break;
    }
    if (written) *written = n;
    return BUS_OK;
}

int bus_encode_buf(const bus_msg *m, buf_t *b, const char **reason)
{
    const char *why = NULL;
    size_t n = bus_encoded_len(m, &why);
    if (n == 0) return fail_with(reason, why, BUS_ERR_ENCODE);
    buf_reserve(b, n);
    size_t w = 0;
    int rc = bus_encode(m, (uint8_t *)b->p + b->len, n, &w, reason);
    if (rc == BUS_OK) b->len += w;
    return rc;
}

/* ---- helpers ----------------------------------------------------------------- */

int bus_slot_count(const uint8_t *bm)
{
    int n = 0;
    for (int i = 0; i < BUS_SLOT_BYTES; i++) n += __builtin_popcount(bm[i]);
    return n;
}

int bus_nodeid_valid(const char *id, size_t len)
{
    if (!id || len != BUS_NAMELEN) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    }
    return 1;
}

int bus_name_is_null(const char *name)
{
    for (int i = 0; i < BUS_NAMELEN; i++)
        if (name[i]) return 0;
    return 1;
}

/* Printed flags in CLUSTER NODES order; MEET and MIGRATE_TO are never shown. */
static const struct { uint16_t bit; const char *name; } flag_names[] = {
    { BUS_NODE_MYSELF, "myself" },   { BUS_NODE_MASTER, "master" },
    { BUS_NODE_SLAVE, "slave" },     { BUS_NODE_PFAIL, "fail?" },
    { BUS_NODE_FAIL, "fail" },       { BUS_NODE_HANDSHAKE, "handshake" },
    { BUS_NODE_NOADDR, "noaddr" },   { BUS_NODE_NOFAILOVER, "nofailover" },
};

size_t bus_flags_to_str(uint16_t flags, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0) return 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
        if (!(flags & flag_names[i].bit)) continue;
        const char *nm = flag_names[i].name;
        size_t l = strlen(nm);
        if (n + (n ? 1 : 0) + l + 1 > cap) break;
        if (n) out[n++] = ',';
        memcpy(out + n, nm, l);
        n += l;
        out[n] = '\0';
    }
    if (n == 0) {
        size_t l = cap - 1 < 7 ? cap - 1 : 7;
        memcpy(out, "noflags", l);
        out[l] = '\0';
        n = l;
    }
    return n;
}

int bus_flags_from_str(const char *s, size_t len, uint16_t *out)
{
    uint16_t f = 0;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && s[j] != ',') j++;
        size_t wl = j - i;
        const char *w = s + i;
        int found = 0;
        if (wl == 7 && memcmp(w, "noflags", 7) == 0) found = 1;
        for (size_t k = 0; !found && k < sizeof(flag_names) / sizeof(flag_names[0]); k++) {
            if (strlen(flag_names[k].name) == wl && memcmp(flag_names[k].name, w, wl) == 0) {
                f |= flag_names[k].bit;
                found = 1;
            }
        }
        if (!found) return -1;
        i = j + 1;
    }
    *out = f;
    return 0;
}

const char *bus_type_name(uint16_t type)
{
    switch (type) {
    case BUS_MSG_PING: return "ping";
    case BUS_MSG_PONG: return "pong";
    case BUS_MSG_MEET: return "meet";
    case BUS_MSG_FAIL: return "fail";
    case BUS_MSG_PUBLISH: return "publish";
    case BUS_MSG_PUBLISHSHARD: return "publishshard";
    case BUS_MSG_FAILOVER_AUTH_REQUEST: return "auth-req";
    case BUS_MSG_FAILOVER_AUTH_ACK: return "auth-ack";
    case BUS_MSG_UPDATE: return "update";
    case BUS_MSG_MFSTART: return "mfstart";
    case BUS_MSG_MODULE: return "module";
    default: return "unknown";
    }
}

const char *bus_ext_type_name(uint16_t type)
{
    switch (type) {
    case BUS_EXT_HOSTNAME: return "hostname";
    case BUS_EXT_HUMAN_NODENAME: return "human-nodename";
    case BUS_EXT_FORGOTTEN_NODE: return "forgotten-node";
    case BUS_EXT_SHARDID: return "shard-id";
    default: return "unknown";
    }
}

const char *bus_strerror(int code)
{
    switch (code) {
    case BUS_OK: return "ok";
    case BUS_ERR_SIG: return "bad signature";
    case BUS_ERR_TOOSHORT: return "message too short";
    case BUS_ERR_TOOBIG: return "message too big";
    case BUS_ERR_TRUNCATED: return "truncated message";
    case BUS_ERR_VERSION: return "unsupported version";
    case BUS_ERR_LENGTH: return "length mismatch";
    case BUS_ERR_EXT: return "bad extension";
    case BUS_ERR_ENCODE: return "cannot encode";
    default: return "unknown error";
    }
}
