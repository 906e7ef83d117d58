/* libFuzzer target for the cluster bus codec (common/busproto): runs the
 * framing check over the input as a stream, decodes every framed message,
 * and re-encodes + re-decodes what decoded. Checks: framing never claims
 * more than is there, prefixes of a ready frame need more, decoded pointers
 * stay inside the message, errors carry a reason, and a re-encoded message
 * decodes to the same content.
 * First input byte: bit 0 = overwrite totlen with the input size (so
 * mutations reach the body checks), bit 1 = small frame cap. */
#include "busproto.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void inside(const void *p, size_t n, const uint8_t *lo, size_t len)
{
    if (n == 0) return;
    const uint8_t *q = p;
    if (!q || q < lo || q + n > lo + len) abort();
}

static void check_pointers(const bus_msg *m, const uint8_t *msg, size_t len)
{
    switch (m->h.type) {
    case BUS_MSG_PING:
    case BUS_MSG_PONG:
    case BUS_MSG_MEET:
        if (m->u.ping.n_gossip != m->h.count) abort();
        if ((uint64_t)BUS_HDR_LEN + (uint64_t)m->u.ping.n_gossip * BUS_GOSSIP_LEN > len) abort();
        for (uint32_t i = 0; i < m->u.ping.n_ext; i++) {
            const bus_ext *e = &m->u.ping.ext[i];
            if (e->wire_len < 8 || e->wire_len % 8) abort();
            inside(e->data, e->data_len, msg, len);
        }
        break;
    case BUS_MSG_PUBLISH:
    case BUS_MSG_PUBLISHSHARD:
        inside(m->u.publish.channel, m->u.publish.channel_len, msg, len);
        inside(m->u.publish.message, m->u.publish.message_len, msg, len);
        break;
    case BUS_MSG_MODULE:
        inside(m->u.module.payload, m->u.module.len, msg, len);
        break;
    case BUS_MSG_FAIL:
    case BUS_MSG_UPDATE:
    case BUS_MSG_FAILOVER_AUTH_REQUEST:
    case BUS_MSG_FAILOVER_AUTH_ACK:
    case BUS_MSG_MFSTART:
        break;
    default:
        inside(m->u.raw.data, m->u.raw.len, msg, len);
        break;
    }
}

/* Same content after a re-encode (padding and stray bytes after a NUL in
 * text fields may legitimately differ). */
static void check_same(const bus_msg *a, const bus_msg *b)
{
    const bus_hdr *x = &a->h, *y = &b->h;
    if (x->type != y->type || x->port != y->port || x->current_epoch != y->current_epoch ||
        x->config_epoch != y->config_epoch || x->offset != y->offset ||
        memcmp(x->sender, y->sender, BUS_NAMELEN) || memcmp(x->myslots, y->myslots, BUS_SLOT_BYTES) ||
        memcmp(x->slaveof, y->slaveof, BUS_NAMELEN) || strcmp(x->myip, y->myip) ||
        x->pport != y->pport || x->cport != y->cport || x->flags != y->flags || x->state != y->state)
        abort();
    switch (x->type) {
    case BUS_MSG_PING:
    case BUS_MSG_PONG:
    case BUS_MSG_MEET:
        if (a->u.ping.n_gossip != b->u.ping.n_gossip || a->u.ping.n_ext != b->u.ping.n_ext) abort();
        for (uint32_t i = 0; i < a->u.ping.n_gossip; i++) {
            const bus_gossip *g = &a->u.ping.gossip[i], *h = &b->u.ping.gossip[i];
            if (memcmp(g->nodename, h->nodename, BUS_NAMELEN) || strcmp(g->ip, h->ip) ||
                g->ping_sent != h->ping_sent || g->pong_received != h->pong_received ||
                g->port != h->port || g->cport != h->cport || g->flags != h->flags || g->pport != h->pport)
                abort();
        }
        for (uint32_t i = 0; i < a->u.ping.n_ext; i++) {
            const bus_ext *e = &a->u.ping.ext[i], *f = &b->u.ping.ext[i];
            if (e->type != f->type || e->data_len != f->data_len || e->ttl != f->ttl ||
                memcmp(e->name, f->name, sizeof(e->name)))
                abort();
            if (e->data_len && memcmp(e->data, f->data, e->data_len)) abort();
        }
        break;
    case BUS_MSG_FAIL:
        if (memcmp(a->u.fail.nodename, b->u.fail.nodename, BUS_NAMELEN)) abort();
        break;
    case BUS_MSG_PUBLISH:
    case BUS_MSG_PUBLISHSHARD:
        if (a->u.publish.channel_len != b->u.publish.channel_len ||
            a->u.publish.message_len != b->u.publish.message_len)
            abort();
        break;
    case BUS_MSG_UPDATE:
        if (a->u.update.config_epoch != b->u.update.config_epoch ||
            memcmp(a->u.update.slots, b->u.update.slots, BUS_SLOT_BYTES))
            abort();
        break;
    case BUS_MSG_MODULE:
        if (a->u.module.len != b->u.module.len || a->u.module.type != b->u.module.type) abort();
        break;
    default:
        break;
    }
}

static void roundtrip(const bus_msg *m)
{
    const char *why = NULL;
    size_t n = bus_encoded_len(m, &why);
    if (n == 0) {
        if (!why) abort();
        return;
    }
    uint8_t *out = malloc(n);
    size_t w = 0;
    if (bus_encode(m, out, n, &w, &why) != BUS_OK || w != n) abort();
    uint32_t tl = 0;
    if (bus_frame(out, n, (uint32_t)n, &tl, &why) != BUS_FRAME_READY || tl != n) abort();
    bus_msg d;
    if (bus_decode(out, n, &d, &why) != BUS_OK) abort();
    check_same(m, &d);
    bus_msg_free(&d);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    uint8_t *buf = malloc(size ? size : 1);
    if (size) memcpy(buf, data, size);
    if ((mode & 1) && size >= 8) {
        buf[4] = (uint8_t)(size >> 24); buf[5] = (uint8_t)(size >> 16);
        buf[6] = (uint8_t)(size >> 8);  buf[7] = (uint8_t)size;
    }
    uint32_t cap = (mode & 2) ? BUS_HDR_LEN + 4096 : 0;

    size_t off = 0;
    while (off < size) {
        const uint8_t *p = buf + off;
        size_t avail = size - off;
        uint32_t tl = 0;
        const char *why = NULL;
        int fr = bus_frame(p, avail, cap, &tl, &why);
        if (fr < 0) {
            if (!why || !*why) abort();
            break;
        }
        if (fr == BUS_FRAME_NEED_MORE) {
            if (tl && tl <= avail) abort();
            break;
        }
        if (fr != BUS_FRAME_READY || tl < BUS_HDR_LEN || tl > avail) abort();
        /* Any shorter prefix of a ready frame must ask for more. */
        if (bus_frame(p, tl - 1, cap, NULL, NULL) != BUS_FRAME_NEED_MORE) abort();
        if (bus_frame(p, 7, cap, NULL, NULL) != BUS_FRAME_NEED_MORE) abort();

        bus_msg m;
        int rc = bus_decode(p, tl, &m, &why);
        if (rc == BUS_OK) {
            check_pointers(&m, p, tl);
            roundtrip(&m);
            bus_msg_free(&m);
        } else if (!why || !*why) {
            abort();
        }
        off += tl;
    }
    free(buf);
    return 0;
}
