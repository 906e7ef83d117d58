/* busprobe: command-line wrapper around common/busproto for tests that talk
 * to a real redis-server's cluster bus (tests/integration/
 * test_busproto_interop.py does the sockets; this does the codec).
 *
 *   busprobe encode key=value ...   one message, raw bytes on stdout
 *   busprobe decode                 stdin stream -> one JSON object per line
 *
 * encode keys: type=ping|pong|meet|fail|publish|publishshard|auth-req|
 *   auth-ack|update|mfstart|module|<number>; sender, slaveof, myip, port,
 *   cport, pport, flags (number or flag names "master,nofailover"),
 *   current_epoch, config_epoch, offset, state, mflags, slots=0-99,200;
 *   repeatable gossip=name/ip/port/cport/flags/ping_sent/pong_received,
 *   hostname=, human_nodename=, shard_id=, forgotten=name/ttl,
 *   ext=type/hexpayload; node= (FAIL/UPDATE), update_epoch, update_slots;
 *   channel, message; module_id=16 hex, module_type, payload; raw=hex.
 * Exit status: 0 ok, 1 decode/encode error (JSON {"error":...} printed),
 * 2 usage. */
#include "busproto.h"
#include "mem.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 256

static void usage(void)
{
    fprintf(stderr, "usage: busprobe encode key=value ... | busprobe decode < stream\n");
    exit(2);
}

static unsigned long long num(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (*s == '\0' || *end != '\0') {
        fprintf(stderr, "busprobe: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Buffers that must live until the message is encoded. */
static void *keep[MAX_ITEMS + 4];
static int n_keep;

/* Decode hex into a fresh xmalloc'd buffer (freed after encoding). */
static uint8_t *unhex(const char *s, uint32_t *len)
{
    size_t n = strlen(s);
    if (n % 2) { fprintf(stderr, "busprobe: odd hex length\n"); exit(2); }
    uint8_t *o = xmalloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
        if (a < 0 || b < 0) { fprintf(stderr, "busprobe: bad hex\n"); exit(2); }
        o[i] = (uint8_t)(a << 4 | b);
    }
    *len = (uint32_t)(n / 2);
    if (n_keep < (int)(sizeof(keep) / sizeof(keep[0]))) keep[n_keep++] = o;
    return o;
}

static void parse_slots(const char *s, uint8_t *bm)
{
    char *dup = xstrdup(s), *save = NULL;
    for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(tok, '-');
        unsigned long long a, b;
        if (dash) { *dash = 0; a = num(tok); b = num(dash + 1); }
        else a = b = num(tok);
        for (unsigned long long x = a; x <= b && x < BUS_SLOTS; x++) bus_slot_set(bm, (unsigned)x);
    }
    xfree(dup);
}

static uint16_t parse_flags(const char *s)
{
    if (s[0] >= '0' && s[0] <= '9') return (uint16_t)num(s);
    uint16_t f;
    if (bus_flags_from_str(s, strlen(s), &f) != 0) {
        fprintf(stderr, "busprobe: bad flags '%s'\n", s);
        exit(2);
    }
    return f;
}

static uint16_t parse_type(const char *s)
{
    for (int t = 0; t < BUS_MSG_TYPE_COUNT; t++)
        if (!strcmp(s, bus_type_name((uint16_t)t))) return (uint16_t)t;
    return (uint16_t)num(s);
}

/* Copy at most n bytes of s into a fixed field (the rest stays zero). */
static void set_fixed(char *dst, const char *s, size_t n)
{
    size_t l = strlen(s);
    memcpy(dst, s, l < n ? l : n);
}

/* Split "a/b/c" in place into at most max fields. */
static int split(char *s, char **f, int max)
{
    int n = 0;
    f[n++] = s;
    for (char *p = s; *p && n < max; p++)
        if (*p == '/') { *p = 0; f[n++] = p + 1; }
    return n;
}

static int do_encode(int argc, char **argv)
{
    static bus_msg m;
    static bus_gossip gossip[MAX_ITEMS];
    static bus_ext ext[MAX_ITEMS];
    uint32_t ng = 0, ne = 0;
    bus_msg_init(&m, BUS_MSG_PING);
    /* type first: the body union depends on it */
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "type=", 5)) m.h.type = parse_type(argv[i] + 5);
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) usage();
        *eq = 0;
        const char *k = argv[i], *v = eq + 1;
        if (!strcmp(k, "type")) continue;
        else if (!strcmp(k, "sender")) set_fixed(m.h.sender, v, BUS_NAMELEN);
        else if (!strcmp(k, "slaveof")) set_fixed(m.h.slaveof, v, BUS_NAMELEN);
        else if (!strcmp(k, "myip")) set_fixed(m.h.myip, v, BUS_IPLEN);
        else if (!strcmp(k, "port")) m.h.port = (uint16_t)num(v);
        else if (!strcmp(k, "cport")) m.h.cport = (uint16_t)num(v);
        else if (!strcmp(k, "pport")) m.h.pport = (uint16_t)num(v);
        else if (!strcmp(k, "flags")) m.h.flags = parse_flags(v);
        else if (!strcmp(k, "current_epoch")) m.h.current_epoch = num(v);
        else if (!strcmp(k, "config_epoch")) m.h.config_epoch = num(v);
        else if (!strcmp(k, "offset")) m.h.offset = num(v);
        else if (!strcmp(k, "state")) m.h.state = (uint8_t)num(v);
        else if (!strcmp(k, "mflags")) m.h.mflags[0] = (uint8_t)num(v);
        else if (!strcmp(k, "slots")) parse_slots(v, m.h.myslots);
        else if (!strcmp(k, "gossip") && ng < MAX_ITEMS) {
            char *f[7], *dup = xstrdup(v);
            if (split(dup, f, 7) != 7) usage();
            bus_gossip *g = &gossip[ng++];
            set_fixed(g->nodename, f[0], BUS_NAMELEN);
            set_fixed(g->ip, f[1], BUS_IPLEN);
            g->port = (uint16_t)num(f[2]);
            g->cport = (uint16_t)num(f[3]);
            g->flags = parse_flags(f[4]);
            g->ping_sent = (uint32_t)num(f[5]);
            g->pong_received = (uint32_t)num(f[6]);
            xfree(dup);
        } else if (!strcmp(k, "hostname") && ne < MAX_ITEMS) bus_ext_hostname(&ext[ne++], v);
        else if (!strcmp(k, "human_nodename") && ne < MAX_ITEMS) bus_ext_human_nodename(&ext[ne++], v);
        else if (!strcmp(k, "shard_id") && ne < MAX_ITEMS) bus_ext_shard_id(&ext[ne++], v);
        else if (!strcmp(k, "forgotten") && ne < MAX_ITEMS) {
            char *f[2], *dup = xstrdup(v);
            if (split(dup, f, 2) != 2) usage();
            bus_ext_forgotten_node(&ext[ne++], f[0], num(f[1]));
            xfree(dup);
        } else if (!strcmp(k, "ext") && ne < MAX_ITEMS) {
            char *f[2], *dup = xstrdup(v);
            if (split(dup, f, 2) != 2) usage();
            bus_ext *e = &ext[ne++];
            memset(e, 0, sizeof(*e));
            e->type = (uint16_t)num(f[0]);
            e->data = unhex(f[1], &e->data_len);
            xfree(dup);
        } else if (!strcmp(k, "node")) {
            set_fixed(m.h.type == BUS_MSG_UPDATE ? m.u.update.nodename : m.u.fail.nodename, v, BUS_NAMELEN);
        } else if (!strcmp(k, "update_epoch")) m.u.update.config_epoch = num(v);
        else if (!strcmp(k, "update_slots")) parse_slots(v, m.u.update.slots);
        else if (!strcmp(k, "channel")) {
            m.u.publish.channel = (const uint8_t *)v;
            m.u.publish.channel_len = (uint32_t)strlen(v);
        } else if (!strcmp(k, "message")) {
            m.u.publish.message = (const uint8_t *)v;
            m.u.publish.message_len = (uint32_t)strlen(v);
        } else if (!strcmp(k, "module_id")) {
            uint32_t l;
            uint8_t *id = unhex(v, &l);
            memcpy(m.u.module.module_id, id, l < 8 ? l : 8);
        } else if (!strcmp(k, "module_type")) m.u.module.type = (uint8_t)num(v);
        else if (!strcmp(k, "payload")) {
            m.u.module.payload = (const uint8_t *)v;
            m.u.module.len = (uint32_t)strlen(v);
        } else if (!strcmp(k, "raw")) m.u.raw.data = unhex(v, &m.u.raw.len);
        else usage();
    }
    if (m.h.type == BUS_MSG_PING || m.h.type == BUS_MSG_PONG || m.h.type == BUS_MSG_MEET) {
        m.u.ping.gossip = gossip;
        m.u.ping.n_gossip = ng;
        m.u.ping.ext = ext;
        m.u.ping.n_ext = ne;
    }
    buf_t b;
    buf_init(&b);
    const char *why = NULL;
    if (bus_encode_buf(&m, &b, &why) != BUS_OK) {
        printf("{\"error\":\"encode\",\"reason\":\"%s\"}\n", why ? why : "?");
        return 1;
    }
    fwrite(b.p, 1, b.len, stdout);
    buf_free(&b);
    for (int i = 0; i < n_keep; i++) xfree(keep[i]);
    return 0;
}

/* ---- JSON output -------------------------------------------------------- */

static void jstr(const uint8_t *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void jcstr(const char *s) { jstr((const uint8_t *)s, strlen(s)); }

static void jhex(const uint8_t *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
    putchar('"');
}

static void jslots(const uint8_t *bm)
{
    putchar('[');
    int first = 1;
    for (int s = 0; s < BUS_SLOTS; s++) {
        if (!bus_slot_get(bm, (unsigned)s)) continue;
        int e = s;
        while (e + 1 < BUS_SLOTS && bus_slot_get(bm, (unsigned)e + 1)) e++;
        printf("%s[%d,%d]", first ? "" : ",", s, e);
        first = 0;
        s = e;
    }
    putchar(']');
}

static void jflags(uint16_t f)
{
    char s[BUS_FLAGS_STR_MAX];
    bus_flags_to_str(f, s, sizeof(s));
    printf("%u,\"flags_str\":\"%s\"", f, s);
}

static void print_msg(const bus_msg *m)
{
    const bus_hdr *h = &m->h;
    printf("{\"type\":%u,\"type_name\":\"%s\",\"totlen\":%u,\"ver\":%u,\"port\":%u,\"count\":%u,",
           h->type, bus_type_name(h->type), h->totlen, h->ver, h->port, h->count);
    printf("\"current_epoch\":%llu,\"config_epoch\":%llu,\"offset\":%llu,",
           (unsigned long long)h->current_epoch, (unsigned long long)h->config_epoch,
           (unsigned long long)h->offset);
    printf("\"sender\":");
    jstr((const uint8_t *)h->sender, BUS_NAMELEN);
    printf(",\"sender_valid\":%s,\"slots\":", bus_nodeid_valid(h->sender, BUS_NAMELEN) ? "true" : "false");
    jslots(h->myslots);
    printf(",\"slot_count\":%d,\"slaveof\":", bus_slot_count(h->myslots));
    if (bus_name_is_null(h->slaveof)) printf("null");
    else jstr((const uint8_t *)h->slaveof, BUS_NAMELEN);
    printf(",\"myip\":");
    jcstr(h->myip);
    printf(",\"extensions\":%u,\"pport\":%u,\"cport\":%u,\"flags\":", h->extensions, h->pport, h->cport);
    jflags(h->flags);
    printf(",\"state\":%u,\"mflags\":[%u,%u,%u]", h->state, h->mflags[0], h->mflags[1], h->mflags[2]);
    switch (h->type) {
    case BUS_MSG_PING:
    case BUS_MSG_PONG:
    case BUS_MSG_MEET:
        printf(",\"gossip\":[");
        for (uint32_t i = 0; i < m->u.ping.n_gossip; i++) {
            const bus_gossip *g = &m->u.ping.gossip[i];
            printf("%s{\"nodename\":", i ? "," : "");
            jstr((const uint8_t *)g->nodename, BUS_NAMELEN);
            printf(",\"ping_sent\":%u,\"pong_received\":%u,\"ip\":", g->ping_sent, g->pong_received);
            jcstr(g->ip);
            printf(",\"port\":%u,\"cport\":%u,\"pport\":%u,\"flags\":", g->port, g->cport, g->pport);
            jflags(g->flags);
            putchar('}');
        }
        printf("],\"ext\":[");
        for (uint32_t i = 0; i < m->u.ping.n_ext; i++) {
            const bus_ext *e = &m->u.ping.ext[i];
            printf("%s{\"type\":%u,\"type_name\":\"%s\",\"len\":%u", i ? "," : "", e->type,
                   bus_ext_type_name(e->type), e->wire_len);
            if (e->type == BUS_EXT_HOSTNAME || e->type == BUS_EXT_HUMAN_NODENAME) {
                printf(",\"text\":");
                jstr(e->data, e->data_len);
            } else if (e->type == BUS_EXT_FORGOTTEN_NODE || e->type == BUS_EXT_SHARDID) {
                printf(",\"name\":");
                jstr((const uint8_t *)e->name, BUS_NAMELEN);
                if (e->type == BUS_EXT_FORGOTTEN_NODE) printf(",\"ttl\":%llu", (unsigned long long)e->ttl);
            } else {
                printf(",\"hex\":");
                jhex(e->data, e->data_len);
            }
            putchar('}');
        }
        putchar(']');
        break;
    case BUS_MSG_FAIL:
        printf(",\"node\":");
        jstr((const uint8_t *)m->u.fail.nodename, BUS_NAMELEN);
        break;
    case BUS_MSG_PUBLISH:
    case BUS_MSG_PUBLISHSHARD:
        printf(",\"channel\":");
        jstr(m->u.publish.channel, m->u.publish.channel_len);
        printf(",\"message\":");
        jstr(m->u.publish.message, m->u.publish.message_len);
        break;
    case BUS_MSG_UPDATE:
        printf(",\"update_epoch\":%llu,\"node\":", (unsigned long long)m->u.update.config_epoch);
        jstr((const uint8_t *)m->u.update.nodename, BUS_NAMELEN);
        printf(",\"update_slots\":");
        jslots(m->u.update.slots);
        break;
    case BUS_MSG_MODULE:
        printf(",\"module_id\":");
        jhex(m->u.module.module_id, 8);
        printf(",\"module_type\":%u,\"payload\":", m->u.module.type);
        jhex(m->u.module.payload, m->u.module.len);
        break;
    case BUS_MSG_FAILOVER_AUTH_REQUEST:
    case BUS_MSG_FAILOVER_AUTH_ACK:
    case BUS_MSG_MFSTART:
        break;
    default:
        printf(",\"raw\":");
        jhex(m->u.raw.data, m->u.raw.len);
        break;
    }
    printf("}\n");
}

static int do_decode(void)
{
    buf_t in;
    buf_init(&in);
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof(chunk), stdin)) > 0) buf_append(&in, chunk, k);
    size_t off = 0;
    int rc = 0;
    while (off < in.len) {
        uint32_t tl = 0;
        const char *why = NULL;
        const uint8_t *p = (const uint8_t *)in.p + off;
        int fr = bus_frame(p, in.len - off, 0, &tl, &why);
        if (fr == BUS_FRAME_NEED_MORE) {
            printf("{\"incomplete\":%zu,\"totlen\":%u}\n", in.len - off, tl);
            rc = 1;
            break;
        }
        if (fr < 0) {
            printf("{\"error\":\"%s\",\"reason\":\"%s\"}\n", bus_strerror(fr), why);
            rc = 1;
            break;
        }
        bus_msg m;
        int dr = bus_decode(p, tl, &m, &why);
        if (dr != BUS_OK) {
            printf("{\"error\":\"%s\",\"reason\":\"%s\",\"totlen\":%u}\n", bus_strerror(dr), why, tl);
            rc = 1;
        } else {
            print_msg(&m);
            bus_msg_free(&m);
        }
        off += tl;
    }
    buf_free(&in);
    fflush(stdout);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) usage();
    if (!strcmp(argv[1], "encode")) return do_encode(argc - 2, argv + 2);
    if (!strcmp(argv[1], "decode")) return do_decode();
    usage();
    return 2;
}
