/* fanout: the shoal-proxy commands that touch more than one node.
 *
 * PROXY_ROUTE_SPLIT (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH whose keys span
 * slots; the core forwards the single-slot case itself): the keys are
 * grouped by *slot* -- one sub-request per slot, keys in client order
 * within it -- and the replies merged back in the client's key order. Why
 * per slot and not per node: a Redis Cluster node refuses a multi-key
 * command whose keys are in different slots (CROSSSLOT) even when it owns
 * them all, and a per-slot sub-request is exactly what the core's MOVED /
 * ASK / TRYAGAIN handling can retry on its own while a slot migrates.
 * Integers are summed (DEL, UNLINK, EXISTS, TOUCH), MSET answers OK only if
 * every part did, MGET's array keeps the client's order; any part's error
 * becomes the reply.
 *
 * PROXY_ROUTE_ALL: sent to every master that serves slots, replies merged
 * per command: DBSIZE and the like summed, KEYS concatenated, SCAN walked
 * master by master with the master's index in the cursor's high bits,
 * RANDOMKEY from a master picked in proportion to its key count, FLUSHALL
 * and other admin commands OK only if every master said so, PUBSUB
 * CHANNELS/NUMSUB/NUMPAT merged, SLOWLOG GET merged by time. INFO is routed
 * here too: the proxy's own sections (proxy_info_text) with the Keyspace
 * section filled from every master's INFO keyspace.
 *
 * Masters are ordered by the first slot they serve, so a SCAN cursor's
 * master index keeps meaning the same shard across failovers.
 *
 * Sub-requests use the client's protocol (replies are passed through
 * element by element) except where this module reads the reply itself. */
#include "proxy.h"
#include "mem.h"
#include "resp.h"
#include "resp_scan.h"
#include "slot.h"
#include "util.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How the parts of a command are merged. */
enum {
    FO_NONE = 0,
    FO_MGET, FO_MSET, FO_SPLITSUM,           /* split by slot */
    FO_SUM,          /* integers summed: DBSIZE, SLOWLOG LEN, PUBSUB NUMPAT */
    FO_ALLOK,        /* first error, else the first master's reply */
    FO_ANYOK,        /* the first success, else the first error (SCRIPT KILL) */
    FO_CONCAT,       /* arrays concatenated: KEYS */
    FO_UNION,        /* arrays merged without duplicates: PUBSUB CHANNELS */
    FO_PAIRSUM,      /* [name, n, ...] with n summed: PUBSUB NUMSUB */
    FO_MIN,          /* integer arrays, element-wise minimum: SCRIPT EXISTS */
    FO_SLOWLOG,      /* SLOWLOG GET: entries merged newest first */
    FO_SCAN, FO_INFO, FO_RANDCOUNT, FO_RANDKEY,
};

/* SCAN cursors: bits 54..63 the master's index, bits 0..53 its own cursor
 * (a node's cursor is a hash table position: far below 2^54). */
#define SCAN_SHIFT 54
#define SCAN_MASK ((1ULL << SCAN_SHIFT) - 1)
#define SCAN_MAX_MASTERS (1 << (64 - SCAN_SHIFT))

static uint8_t *fo_mode; /* by command id */
static int fo_nmodes;

typedef struct fo_part {
    struct fo_op *op;
    char *reply;          /* copy of the reply, NULL until it came */
    size_t len;
    char ip[SLOTMAP_IPLEN + 1];
    int port;
    long long n;          /* RANDOMKEY: the master's DBSIZE */
} fo_part;

typedef struct fo_op {
    proxy_req *r;
    int mode;
    int proto;
    int nparts, pending;
    fo_part *parts;
    int nkeys;
    int *key_part;        /* MGET: part of each key, in client order */
    buf_t text;           /* INFO: the proxy's own sections */
    long long count;      /* SLOWLOG GET count */
    int scan_idx, scan_n; /* SCAN: this master's index, masters when sent */
} fo_op;

/* ---- helpers ---------------------------------------------------------------- */

static int is_err(const char *p, size_t len)
{
    return len > 0 && (p[0] == '-' || p[0] == '!');
}

static fo_op *op_new(proxy_req *r, int mode, int nparts)
{
    fo_op *op = xcalloc(1, sizeof(*op));
    op->r = r;
    op->mode = mode;
    op->proto = proxy_req_proto(r);
    op->nparts = nparts;
    op->parts = xcalloc((size_t)(nparts ? nparts : 1), sizeof(fo_part));
    for (int i = 0; i < nparts; i++) op->parts[i].op = op;
    buf_init(&op->text);
    return op;
}

static void op_free(fo_op *op)
{
    for (int i = 0; i < op->nparts; i++) xfree(op->parts[i].reply);
    xfree(op->parts);
    xfree(op->key_part);
    buf_free(&op->text);
    xfree(op);
}

/* Complete the client request with what is in its out buffer and free op. */
static void op_done(fo_op *op)
{
    proxy_req_done(op->r);
    op_free(op);
}

static void op_error(fo_op *op, const char *msg)
{
    proxy_req_error(op->r, msg);
    op_free(op);
}

static void op_reply(fo_op *op, const char *bytes, size_t len)
{
    proxy_req_reply(op->r, bytes, len);
    op_free(op);
}

/* Index of the first part (in part order) that failed, or -1. */
static int first_error(const fo_op *op)
{
    for (int i = 0; i < op->nparts; i++)
        if (op->parts[i].reply && is_err(op->parts[i].reply, op->parts[i].len)) return i;
    return -1;
}

/* ":123\r\n" -> 123. 0 if the reply is not an integer. */
static int reply_int(const char *p, size_t len, long long *v)
{
    if (len < 4 || p[0] != ':') return 0;
    return str_to_ll(p + 1, len - 3, v);
}

/* An aggregate reply: its element count and header length. 0 if not an
 * array/set/push (or a null one). */
static int reply_array(const char *p, size_t len, long long *n, size_t *hdr)
{
    if (len < 4 || (p[0] != '*' && p[0] != '~' && p[0] != '>')) return 0;
    *hdr = resp_scan_header(p, len, n);
    return *hdr > 0 && *n >= 0;
}

/* The body of a bulk string ("$3\r\nabc\r\n" -> "abc"); 0 if not a bulk
 * (a RESP3 verbatim string counts, without its "txt:" prefix). */
static int reply_bulk(const char *p, size_t len, const char **body, size_t *blen)
{
    long long n;
    if (len < 4 || (p[0] != '$' && p[0] != '=')) return 0;
    size_t h = resp_scan_header(p, len, &n);
    if (!h || n < 0 || h + (size_t)n + 2 > len) return 0;
    *body = p + h;
    *blen = (size_t)n;
    if (p[0] == '=' && *blen >= 4) {
        *body += 4;
        *blen -= 4;
    }
    return 1;
}

static const char *unexpected(void)
{
    return "ERR shoal-proxy: unexpected reply from a node";
}

/* Per-thread random numbers (RANDOMKEY's choice). */
static uint64_t fo_rand(void)
{
    static __thread uint64_t s;
    if (!s) s = (uint64_t)time_us() ^ ((uint64_t)(uintptr_t)&s << 16) ^ 0x9e3779b97f4a7c15ULL;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

/* Masters that serve slots, in the order of the first slot each serves.
 * Returns how many (idx[] holds node indexes of m); idx has m->n_nodes room. */
static int masters_of(const slotmap *m, int *idx)
{
    int n = 0;
    int from = 0;
    slotmap_range rg;
    while (slotmap_next_range(m, &from, &rg)) {
        if (rg.node < 0) continue;
        int seen = 0;
        for (int i = 0; i < n && !seen; i++) seen = idx[i] == rg.node;
        if (!seen) idx[n++] = rg.node;
    }
    return n;
}

/* ---- split by slot ------------------------------------------------------------ */

static void part_cb(proxy_req *parent, void *arg, const char *reply, size_t len);
static void op_finish(fo_op *op);

/* Slot -> part index + 1, per worker thread; entries are cleared after use
 * so each request only pays for the slots it touched. */
static __thread int *slot_part;

static void split_dispatch(proxy_req *r, const proxy_cmd *cmd, int mode)
{
    int step = mode == FO_MSET ? 2 : 1;
    int argc = cmd->argc;
    if (argc < 2 || (argc - 1) % step) {
        char fn[64], msg[128];
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command",
                 cmd->meta ? cmd_fullname(cmd->meta, fn, sizeof(fn)) : "?");
        proxy_req_error(r, msg);
        return;
    }
    int nkeys = (argc - 1) / step;
    if (!slot_part) slot_part = xcalloc(SLOT_COUNT, sizeof(int));
    /* One scratch block: per key its part, slot and the next key of the
     * same part; per part (at most nkeys) first/last key, count, slot. */
    int *scratch = xmalloc(sizeof(int) * (size_t)nkeys * 7);
    int *kpart = scratch, *kslot = kpart + nkeys, *next = kslot + nkeys;
    int *head = next + nkeys, *tail = head + nkeys, *cnt = tail + nkeys, *pslot = cnt + nkeys;
    int nparts = 0;
    for (int k = 0; k < nkeys; k++) {
        int a = 1 + k * step;
        int s = key_hash_slot(cmd->argv[a], cmd->argvlen[a]);
        kslot[k] = s;
        if (!slot_part[s]) {
            slot_part[s] = ++nparts;
            head[nparts - 1] = tail[nparts - 1] = -1;
            cnt[nparts - 1] = 0;
            pslot[nparts - 1] = s;
        }
        int p = kpart[k] = slot_part[s] - 1;
        next[k] = -1;
        if (tail[p] < 0) head[p] = k;
        else next[tail[p]] = k;
        tail[p] = k;
        cnt[p]++;
    }
    for (int k = 0; k < nkeys; k++) slot_part[kslot[k]] = 0;

    fo_op *op = op_new(r, mode, nparts);
    int maxc = 0;
    for (int p = 0; p < nparts; p++)
        if (cnt[p] > maxc) maxc = cnt[p];
    const char **av = xmalloc((sizeof(char *) + sizeof(size_t)) * (size_t)(1 + maxc * step));
    size_t *al = (size_t *)(av + 1 + maxc * step);
    int flags = (cmd->meta && (cmd->meta->flags & CMD_F_READONLY)) ? PROXY_SUB_READ : 0;
    op->pending = nparts;
    for (int p = 0; p < nparts; p++) {
        int n = 0;
        av[n] = cmd->argv[0];
        al[n++] = cmd->argvlen[0];
        for (int k = head[p]; k >= 0; k = next[k]) {
            int a = 1 + k * step;
            for (int j = 0; j < step; j++) {
                av[n] = cmd->argv[a + j];
                al[n++] = cmd->argvlen[a + j];
            }
        }
        if (proxy_sub_slot(r, pslot[p], flags, n, av, al, part_cb, &op->parts[p]) < 0) {
            /* cannot happen with a valid slot; count it as a failed part */
            op->parts[p].reply = xstrdup("-ERR shoal-proxy: could not send a sub-request\r\n");
            op->parts[p].len = strlen(op->parts[p].reply);
            op->pending--;
        }
    }
    xfree(av);
    op->nkeys = nkeys;
    op->key_part = scratch; /* kpart is the block's start: MGET's order */
    if (op->pending == 0) op_finish(op); /* no callback will come */
}

static void finish_mget(fo_op *op)
{
    size_t *pos = xcalloc((size_t)op->nparts, sizeof(size_t));
    long long *left = xcalloc((size_t)op->nparts, sizeof(long long));
    for (int p = 0; p < op->nparts; p++) {
        long long n;
        size_t h;
        if (!reply_array(op->parts[p].reply, op->parts[p].len, &n, &h)) {
            xfree(pos);
            xfree(left);
            op_error(op, unexpected());
            return;
        }
        pos[p] = h;
        left[p] = n;
    }
    buf_t *out = proxy_req_out(op->r);
    resp_w_array(out, op->nkeys);
    for (int k = 0; k < op->nkeys; k++) {
        int p = op->key_part[k];
        fo_part *pt = &op->parts[p];
        long long el = left[p] > 0 ? resp_scan_one(pt->reply + pos[p], pt->len - pos[p]) : -1;
        if (el <= 0) {
            /* a node answered fewer elements than it was asked for */
            out->len = 0;
            xfree(pos);
            xfree(left);
            op_error(op, unexpected());
            return;
        }
        buf_append(out, pt->reply + pos[p], (size_t)el);
        pos[p] += (size_t)el;
        left[p]--;
    }
    xfree(pos);
    xfree(left);
    op_done(op);
}

/* ---- every master ------------------------------------------------------------- */

/* text: INFO's own sections, moved into the op (may be NULL). */
static void all_dispatch(proxy_req *r, const proxy_cmd *cmd, int mode, int sub_flags,
                         const char *raw, size_t rawlen, buf_t *text)
{
    const slotmap *m = proxy_map(proxy_req_worker(r));
    if (!m) {
        proxy_req_error(r, "CLUSTERDOWN shoal-proxy has no slot map yet (no seed reachable)");
        return;
    }
    int *idx = xmalloc(sizeof(int) * (size_t)(m->n_nodes ? m->n_nodes : 1));
    int n = masters_of(m, idx);
    if (n == 0) {
        xfree(idx);
        proxy_req_error(r, "CLUSTERDOWN Hash slot not served");
        return;
    }
    fo_op *op = op_new(r, mode, n);
    if (text) {
        op->text = *text;
        buf_init(text);
    }
    if (mode == FO_SLOWLOG) {
        op->count = 10;
        if (cmd->argc >= 3) {
            long long c;
            if (!str_to_ll(cmd->argv[2], cmd->argvlen[2], &c)) c = 10; /* the nodes word the error */
            op->count = c;
        }
    }
    op->pending = n;
    for (int i = 0; i < n; i++) {
        const slotmap_node *nd = &m->nodes[idx[i]];
        fo_part *p = &op->parts[i];
        snprintf(p->ip, sizeof(p->ip), "%s", nd->ip);
        p->port = nd->port;
        if (proxy_sub_node_raw(r, nd, sub_flags, raw, rawlen, part_cb, p) < 0) {
            char msg[160];
            int l = snprintf(msg, sizeof(msg), "-ERR shoal-proxy: node %s:%d has no address\r\n",
                             nd->ip, nd->port);
            p->reply = xmemdup(msg, (size_t)l);
            p->len = (size_t)l;
            op->pending--;
        }
    }
    xfree(idx);
    if (op->pending == 0) op_finish(op);
}

static void finish_sum(fo_op *op)
{
    int e = first_error(op);
    if (e >= 0) {
        op_reply(op, op->parts[e].reply, op->parts[e].len);
        return;
    }
    long long sum = 0;
    for (int i = 0; i < op->nparts; i++) {
        if (op->parts[i].reply) {
            /* kept because it was not a plain integer */
            op_error(op, unexpected());
            return;
        }
        sum += op->parts[i].n;
    }
    resp_w_int(proxy_req_out(op->r), sum);
    op_done(op);
}

static void finish_concat(fo_op *op)
{
    int e = first_error(op);
    if (e >= 0) {
        op_reply(op, op->parts[e].reply, op->parts[e].len);
        return;
    }
    long long total = 0;
    for (int i = 0; i < op->nparts; i++) {
        long long n;
        size_t h;
        if (!reply_array(op->parts[i].reply, op->parts[i].len, &n, &h)) {
            op_error(op, unexpected());
            return;
        }
        total += n;
    }
    buf_t *out = proxy_req_out(op->r);
    resp_w_array(out, total);
    for (int i = 0; i < op->nparts; i++) {
        long long n;
        size_t h = resp_scan_header(op->parts[i].reply, op->parts[i].len, &n);
        buf_append(out, op->parts[i].reply + h, op->parts[i].len - h);
    }
    op_done(op);
}

typedef struct span { const char *p; size_t len; long long key; } span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Every element of every part's array, as spans (NULL if a part is not an
 * array or is malformed). */
static span *collect_elements(fo_op *op, size_t *count)
{
    size_t cap = 16, n = 0;
    span *v = xmalloc(sizeof(span) * cap);
    for (int i = 0; i < op->nparts; i++) {
        const char *p = op->parts[i].reply;
        size_t len = op->parts[i].len, h;
        long long cnt;
        if (!reply_array(p, len, &cnt, &h)) goto bad;
        size_t pos = h;
        for (long long k = 0; k < cnt; k++) {
            long long el = resp_scan_one(p + pos, len - pos);
            if (el <= 0) goto bad;
            if (n == cap) {
                cap *= 2;
                v = xrealloc(v, sizeof(span) * cap);
            }
            v[n].p = p + pos;
            v[n].len = (size_t)el;
            v[n].key = 0;
            n++;
            pos += (size_t)el;
        }
    }
    *count = n;
    return v;
bad:
    xfree(v);
    return NULL;
}

static void finish_union(fo_op *op)
{
    int e = first_error(op);
    if (e >= 0) {
        op_reply(op, op->parts[e].reply, op->parts[e].len);
        return;
    }
    size_t n;
    span *v = collect_elements(op, &n);
    if (!v) {
        op_error(op, unexpected());
        return;
    }
    if (n) qsort(v, n, sizeof(span), span_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || span_cmp(&v[u - 1], &v[i]) != 0) v[u++] = v[i];
    buf_t *out = proxy_req_out(op->r);
    resp_w_array(out, (long long)u);
    for (size_t i = 0; i < u; i++) buf_append(out, v[i].p, v[i].len);
    xfree(v);
    op_done(op);
}

/* PUBSUB NUMSUB / SHARDNUMSUB ([name, n, ...], a map in RESP3) and
 * SCRIPT EXISTS ([0|1, ...]): the same shape from every master. */
static void finish_elementwise(fo_op *op)
{
    int e = first_error(op);
    if (e >= 0) {
        op_reply(op, op->parts[e].reply, op->parts[e].len);
        return;
    }
    const char *p0 = op->parts[0].reply;
    size_t len0 = op->parts[0].len;
    long long n0;
    size_t h0 = resp_scan_header(p0, len0, &n0);
    int ismap = len0 > 0 && p0[0] == '%';
    if (!h0 || n0 < 0 || (!ismap && p0[0] != '*')) {
        op_error(op, unexpected());
        return;
    }
    long long nel = ismap ? 2 * n0 : n0;
    long long *vals = xcalloc((size_t)(nel ? nel : 1), sizeof(long long));
    size_t *pos = xcalloc((size_t)op->nparts, sizeof(size_t));
    for (int i = 0; i < op->nparts; i++) {
        long long n;
        pos[i] = resp_scan_header(op->parts[i].reply, op->parts[i].len, &n);
        if (!pos[i] || n != n0 || op->parts[i].reply[0] != p0[0]) goto bad;
    }
    int value_step = op->mode == FO_PAIRSUM ? 2 : 1; /* which elements are numbers */
    for (long long k = 0; k < nel; k++) {
        int number = value_step == 1 || (k % 2) == 1;
        for (int i = 0; i < op->nparts; i++) {
            fo_part *pt = &op->parts[i];
            long long el = resp_scan_one(pt->reply + pos[i], pt->len - pos[i]);
            if (el <= 0) goto bad;
            if (number) {
                long long v;
                const char *ep = pt->reply + pos[i];
                if (ep[0] == '#') v = ep[1] == 't'; /* RESP3 booleans, just in case */
                else if (!reply_int(ep, (size_t)el, &v)) goto bad;
                if (op->mode == FO_PAIRSUM) vals[k] += v;
                else if (i == 0 || v < vals[k]) vals[k] = v;
            }
            pos[i] += (size_t)el;
        }
    }
    buf_t *out = proxy_req_out(op->r);
    size_t p = resp_scan_header(p0, len0, &n0);
    buf_append(out, p0, p);
    for (long long k = 0; k < nel; k++) {
        long long el = resp_scan_one(p0 + p, len0 - p);
        int number = value_step == 1 || (k % 2) == 1;
        if (number) resp_w_int(out, vals[k]);
        else buf_append(out, p0 + p, (size_t)el);
        p += (size_t)el;
    }
    xfree(vals);
    xfree(pos);
    op_done(op);
    return;
bad:
    xfree(vals);
    xfree(pos);
    op_error(op, unexpected());
}

static int slowlog_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->key < y->key ? 1 : x->key > y->key ? -1 : 0; /* newest first */
}

static void finish_slowlog(fo_op *op)
{
    int e = first_error(op);
    if (e >= 0) {
        op_reply(op, op->parts[e].reply, op->parts[e].len);
        return;
    }
    size_t n;
    span *v = collect_elements(op, &n);
    if (!v) {
        op_error(op, unexpected());
        return;
    }
    for (size_t i = 0; i < n; i++) {
        /* an entry: [id, unix time, duration, args, addr, name] */
        long long cnt, ts = 0, el;
        size_t h = resp_scan_header(v[i].p, v[i].len, &cnt);
        if (h && cnt >= 2 && (el = resp_scan_one(v[i].p + h, v[i].len - h)) > 0) {
            const char *t = v[i].p + h + el;
            long long tl = resp_scan_one(t, v[i].len - h - (size_t)el);
            if (tl > 0 && !reply_int(t, (size_t)tl, &ts)) ts = 0;
        }
        v[i].key = ts;
    }
    if (n) qsort(v, n, sizeof(span), slowlog_cmp);
    if (op->count >= 0 && (long long)n > op->count) n = (size_t)op->count;
    buf_t *out = proxy_req_out(op->r);
    resp_w_array(out, (long long)n);
    for (size_t i = 0; i < n; i++) buf_append(out, v[i].p, v[i].len);
    xfree(v);
    op_done(op);
}

/* ---- SCAN ---------------------------------------------------------------------- */

/* Redis reads the cursor with strtoul: an optional sign ("-1" wraps), no
 * leading space, no trailing junk, no overflow. */
static int parse_cursor(const char *s, size_t len, unsigned long long *out)
{
    char tmp[32];
    if (len >= sizeof(tmp)) return 0;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    if (len && (tmp[0] == ' ' || (tmp[0] >= '\t' && tmp[0] <= '\r'))) return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, 10);
    if (*end || errno == ERANGE) return 0;
    *out = v;
    return 1;
}

static void scan_dispatch(proxy_req *r, const proxy_cmd *cmd)
{
    unsigned long long cur;
    if (!parse_cursor(cmd->argv[1], cmd->argvlen[1], &cur)) {
        proxy_req_error(r, "ERR invalid cursor");
        return;
    }
    const slotmap *m = proxy_map(proxy_req_worker(r));
    if (!m) {
        proxy_req_error(r, "CLUSTERDOWN shoal-proxy has no slot map yet (no seed reachable)");
        return;
    }
    int *idx = xmalloc(sizeof(int) * (size_t)(m->n_nodes ? m->n_nodes : 1));
    int n = masters_of(m, idx);
    int mi = (int)(cur >> SCAN_SHIFT);
    if (n == 0 || n > SCAN_MAX_MASTERS) {
        xfree(idx);
        proxy_req_error(r, n ? "ERR shoal-proxy: too many masters for SCAN"
                             : "CLUSTERDOWN Hash slot not served");
        return;
    }
    if (mi >= n) {
        /* a cursor from a bigger cluster (or made up): nothing left */
        xfree(idx);
        buf_t *out = proxy_req_out(r);
        resp_w_array(out, 2);
        resp_w_bulk(out, "0", 1);
        resp_w_array(out, 0);
        proxy_req_done(r);
        return;
    }
    fo_op *op = op_new(r, FO_SCAN, 1);
    op->scan_idx = mi;
    op->scan_n = n;
    const slotmap_node *nd = &m->nodes[idx[mi]];
    xfree(idx);
    char cbuf[24];
    int cl = ull_to_str(cbuf, cur & SCAN_MASK);
    const char **av = xmalloc(sizeof(char *) * (size_t)cmd->argc);
    size_t *al = xmalloc(sizeof(size_t) * (size_t)cmd->argc);
    for (int i = 0; i < cmd->argc; i++) {
        av[i] = cmd->argv[i];
        al[i] = cmd->argvlen[i];
    }
    av[1] = cbuf;
    al[1] = (size_t)cl;
    op->pending = 1;
    int rc = proxy_sub_node(r, nd, PROXY_SUB_READ, cmd->argc, av, al, part_cb, &op->parts[0]);
    xfree(av);
    xfree(al);
    if (rc < 0) op_error(op, "ERR shoal-proxy: a master has no address");
}

static void finish_scan(fo_op *op)
{
    fo_part *p = &op->parts[0];
    if (is_err(p->reply, p->len)) {
        op_reply(op, p->reply, p->len);
        return;
    }
    long long n;
    size_t h;
    const char *body;
    size_t blen;
    if (!reply_array(p->reply, p->len, &n, &h) || n != 2 ||
        !reply_bulk(p->reply + h, p->len - h, &body, &blen)) {
        op_error(op, unexpected());
        return;
    }
    unsigned long long nc;
    if (!parse_cursor(body, blen, &nc) || nc > SCAN_MASK) {
        op_error(op, "ERR shoal-proxy: a node's SCAN cursor does not fit in a proxy cursor");
        return;
    }
    long long el = resp_scan_one(p->reply + h, p->len - h);
    unsigned long long next;
    if (nc) next = ((unsigned long long)op->scan_idx << SCAN_SHIFT) | nc;
    else if (op->scan_idx + 1 < op->scan_n) next = (unsigned long long)(op->scan_idx + 1) << SCAN_SHIFT;
    else next = 0; /* the last master is done */
    char cbuf[24];
    int cl = ull_to_str(cbuf, next);
    buf_t *out = proxy_req_out(op->r);
    resp_w_array(out, 2);
    resp_w_bulk(out, cbuf, (size_t)cl);
    buf_append(out, p->reply + h + el, p->len - h - (size_t)el);
    op_done(op);
}

/* ---- INFO ---------------------------------------------------------------------- */

static const char ks_marker[] = "# Keyspace\r\n";

static const char *find_marker(const buf_t *t)
{
    size_t ml = sizeof(ks_marker) - 1;
    if (!t->p) return NULL;
    for (size_t i = 0; i + ml <= t->len; i++) {
        if ((i == 0 || t->p[i - 1] == '\n') && !memcmp(t->p + i, ks_marker, ml)) return t->p + i;
    }
    return NULL;
}

static void info_dispatch(proxy_req *r, const proxy_cmd *cmd)
{
    buf_t text;
    buf_init(&text);
    proxy_info_text(proxy_req_worker(r), &text, cmd->argc, cmd->argv, cmd->argvlen);
    const slotmap *m = proxy_map(proxy_req_worker(r));
    if (!find_marker(&text) || !m || !m->n_nodes) {
        /* nothing to add (or nobody to ask): the proxy's own text */
        resp_w_verbatim(proxy_req_out(r), proxy_req_proto(r), text.p ? text.p : "", text.len);
        buf_free(&text);
        proxy_req_done(r);
        return;
    }
    /* the nodes' own keyspace lines, read here: RESP2 (a plain bulk) */
    static const char req[] = "*2\r\n$4\r\nINFO\r\n$8\r\nkeyspace\r\n";
    all_dispatch(r, cmd, FO_INFO, PROXY_SUB_RESP2, req, sizeof(req) - 1, &text);
    buf_free(&text); /* emptied if the op took it */
}

typedef struct ks_db { long long keys, expires, ttl_weighted; int used; } ks_db;

/* One master's "dbN:keys=K,expires=E,avg_ttl=T" lines added to dbs[]. */
static void ks_parse(const char *p, size_t len, ks_db *dbs, int maxdb)
{
    const char *end = p + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        size_t ll = (size_t)(le - p);
        if (ll && p[ll - 1] == '\r') ll--;
        long long db, k = 0, e = 0, t = 0;
        const char *colon = memchr(p, ':', ll);
        if (ll > 2 && !memcmp(p, "db", 2) && colon && str_to_ll(p + 2, (size_t)(colon - p - 2), &db) &&
            db >= 0 && db < maxdb) {
            const char *q = colon + 1, *qe = p + ll;
            while (q < qe) {
                const char *comma = memchr(q, ',', (size_t)(qe - q));
                const char *fe = comma ? comma : qe;
                const char *eq = memchr(q, '=', (size_t)(fe - q));
                if (eq) {
                    long long v;
                    if (str_to_ll(eq + 1, (size_t)(fe - eq - 1), &v)) {
                        size_t nl = (size_t)(eq - q);
                        if (nl == 4 && !memcmp(q, "keys", 4)) k = v;
                        else if (nl == 7 && !memcmp(q, "expires", 7)) e = v;
                        else if (nl == 7 && !memcmp(q, "avg_ttl", 7)) t = v;
                    }
                }
                q = comma ? comma + 1 : qe;
            }
            dbs[db].keys += k;
            dbs[db].expires += e;
            dbs[db].ttl_weighted += t * e;
            dbs[db].used = 1;
        }
        p = eol ? eol + 1 : end;
    }
}

static void finish_info(fo_op *op)
{
    enum { MAXDB = 256 };
    ks_db dbs[MAXDB];
    memset(dbs, 0, sizeof(dbs));
    /* Best effort: INFO is for looking, a master that does not answer just
     * adds nothing. */
    for (int i = 0; i < op->nparts; i++) {
        const char *body;
        size_t blen;
        if (op->parts[i].reply && reply_bulk(op->parts[i].reply, op->parts[i].len, &body, &blen))
            ks_parse(body, blen, dbs, MAXDB);
    }
    buf_t lines;
    buf_init(&lines);
    for (int d = 0; d < MAXDB; d++) {
        if (!dbs[d].used || !dbs[d].keys) continue;
        long long avg = dbs[d].expires ? dbs[d].ttl_weighted / dbs[d].expires : 0;
        buf_printf(&lines, "db%d:keys=%lld,expires=%lld,avg_ttl=%lld\r\n", d, dbs[d].keys,
                   dbs[d].expires, avg);
    }
    /* the proxy's text, with the lines after "# Keyspace" */
    const char *mk = find_marker(&op->text);
    buf_t full;
    buf_init(&full);
    if (mk) {
        size_t at = (size_t)(mk - op->text.p) + sizeof(ks_marker) - 1;
        buf_append(&full, op->text.p, at);
        if (lines.len) buf_append(&full, lines.p, lines.len);
        buf_append(&full, op->text.p + at, op->text.len - at);
    }
    resp_w_verbatim(proxy_req_out(op->r), op->proto, full.p ? full.p : "", full.len);
    buf_free(&full);
    buf_free(&lines);
    op_done(op);
}

/* ---- RANDOMKEY ------------------------------------------------------------------ */

static void randomkey_dispatch(proxy_req *r, const proxy_cmd *cmd)
{
    static const char req[] = "*1\r\n$6\r\nDBSIZE\r\n";
    all_dispatch(r, cmd, FO_RANDCOUNT, 0, req, sizeof(req) - 1, NULL);
}

static void finish_randcount(fo_op *op)
{
    long long total = 0;
    int ok = 0;
    for (int i = 0; i < op->nparts; i++) {
        long long v;
        if (reply_int(op->parts[i].reply, op->parts[i].len, &v) && v > 0) {
            op->parts[i].n = v;
            total += v;
        }
        if (!is_err(op->parts[i].reply, op->parts[i].len)) ok = 1;
    }
    if (!ok) {
        int e = first_error(op);
        op_reply(op, op->parts[e].reply, op->parts[e].len);
        return;
    }
    if (total == 0) {
        resp_w_null(proxy_req_out(op->r), op->proto);
        op_done(op);
        return;
    }
    long long pick = (long long)(fo_rand() % (uint64_t)total);
    int chosen = 0;
    for (int i = 0; i < op->nparts; i++) {
        if (pick < op->parts[i].n) {
            chosen = i;
            break;
        }
        pick -= op->parts[i].n;
    }
    /* second round: RANDOMKEY on the chosen master, its reply passed on */
    slotmap_node nd;
    memset(&nd, 0, sizeof(nd));
    snprintf(nd.ip, sizeof(nd.ip), "%s", op->parts[chosen].ip);
    nd.port = (uint16_t)op->parts[chosen].port;
    for (int i = 0; i < op->nparts; i++) {
        xfree(op->parts[i].reply);
        op->parts[i].reply = NULL;
        op->parts[i].len = 0;
    }
    op->nparts = 1;
    op->parts[0] = (fo_part){.op = op};
    op->mode = FO_RANDKEY;
    op->pending = 1;
    static const char req[] = "*1\r\n$9\r\nRANDOMKEY\r\n";
    if (proxy_sub_node_raw(op->r, &nd, PROXY_SUB_READ, req, sizeof(req) - 1, part_cb, &op->parts[0]) < 0)
        op_error(op, "ERR shoal-proxy: a master has no address");
}

/* ---- completion ------------------------------------------------------------------ */

static void op_finish(fo_op *op)
{
    int e;
    switch (op->mode) {
    case FO_MGET:
        if ((e = first_error(op)) >= 0) op_reply(op, op->parts[e].reply, op->parts[e].len);
        else finish_mget(op);
        return;
    case FO_MSET:
        if ((e = first_error(op)) >= 0) op_reply(op, op->parts[e].reply, op->parts[e].len);
        else op_reply(op, "+OK\r\n", 5);
        return;
    case FO_SPLITSUM:
    case FO_SUM:
        finish_sum(op);
        return;
    case FO_CONCAT:
        finish_concat(op);
        return;
    case FO_UNION:
        finish_union(op);
        return;
    case FO_PAIRSUM:
    case FO_MIN:
        finish_elementwise(op);
        return;
    case FO_SLOWLOG:
        finish_slowlog(op);
        return;
    case FO_SCAN:
        finish_scan(op);
        return;
    case FO_INFO:
        finish_info(op);
        return;
    case FO_RANDCOUNT:
        finish_randcount(op);
        return;
    case FO_RANDKEY:
        op_reply(op, op->parts[0].reply, op->parts[0].len);
        return;
    case FO_ANYOK:
        for (int i = 0; i < op->nparts; i++)
            if (!is_err(op->parts[i].reply, op->parts[i].len)) {
                op_reply(op, op->parts[i].reply, op->parts[i].len);
                return;
            }
        op_reply(op, op->parts[0].reply, op->parts[0].len);
        return;
    case FO_ALLOK:
    default:
        e = first_error(op);
        if (e < 0) e = 0;
        op_reply(op, op->parts[e].reply, op->parts[e].len);
        return;
    }
}

static void part_cb(proxy_req *parent, void *arg, const char *reply, size_t len)
{
    fo_part *p = arg;
    fo_op *op = p->op;
    (void)parent;
    /* MSET and the sums only need the status or the number: no copy
     * unless it is an error (which may become the reply) */
    long long v;
    if ((op->mode == FO_MSET || op->mode == FO_SPLITSUM || op->mode == FO_SUM) && !is_err(reply, len) &&
        (op->mode == FO_MSET || reply_int(reply, len, &v))) {
        p->n = op->mode == FO_MSET ? 0 : v;
        p->len = 0;
    } else {
        p->reply = xmemdup(reply, len);
        p->len = len;
    }
    if (--op->pending == 0) op_finish(op);
}

/* ---- entry points --------------------------------------------------------------------- */

static const struct { const char *name; int kind, mode; } fo_cmds[] = {
    {"mget", PROXY_ROUTE_SPLIT, FO_MGET}, {"mset", PROXY_ROUTE_SPLIT, FO_MSET},
    {"del", PROXY_ROUTE_SPLIT, FO_SPLITSUM}, {"unlink", PROXY_ROUTE_SPLIT, FO_SPLITSUM},
    {"exists", PROXY_ROUTE_SPLIT, FO_SPLITSUM}, {"touch", PROXY_ROUTE_SPLIT, FO_SPLITSUM},
    {"dbsize", PROXY_ROUTE_ALL, FO_SUM}, {"keys", PROXY_ROUTE_ALL, FO_CONCAT},
    {"scan", PROXY_ROUTE_ALL, FO_SCAN}, {"randomkey", PROXY_ROUTE_ALL, FO_RANDCOUNT},
    {"flushall", PROXY_ROUTE_ALL, FO_ALLOK}, {"flushdb", PROXY_ROUTE_ALL, FO_ALLOK},
    {"info", PROXY_ROUTE_ALL, FO_INFO},
    /* the core sends these here too; merged sensibly rather than blindly */
    {"script|kill", 0, FO_ANYOK}, {"function|kill", 0, FO_ANYOK},
    {"script|exists", 0, FO_MIN},
    {"pubsub|channels", 0, FO_UNION}, {"pubsub|shardchannels", 0, FO_UNION},
    {"pubsub|numsub", 0, FO_PAIRSUM}, {"pubsub|shardnumsub", 0, FO_PAIRSUM},
    {"pubsub|numpat", 0, FO_SUM},
    {"slowlog|len", 0, FO_SUM}, {"slowlog|get", 0, FO_SLOWLOG},
};

void fanout_init(void)
{
    fo_nmodes = cmd_count_all();
    fo_mode = xcalloc((size_t)fo_nmodes, 1);
    for (size_t i = 0; i < sizeof(fo_cmds) / sizeof(fo_cmds[0]); i++) {
        const cmd_meta *m = cmd_lookup_full(fo_cmds[i].name, strlen(fo_cmds[i].name));
        if (!m) continue;
        if (fo_cmds[i].kind) proxy_route_set(fo_cmds[i].name, fo_cmds[i].kind);
        if (m->id >= 0 && m->id < fo_nmodes) fo_mode[m->id] = (uint8_t)fo_cmds[i].mode;
    }
}

void fanout_dispatch(proxy_req *r, const proxy_cmd *cmd)
{
    const cmd_meta *m = cmd->meta;
    int mode = (m && m->id >= 0 && m->id < fo_nmodes) ? fo_mode[m->id] : FO_NONE;
    if (cmd->kind == PROXY_ROUTE_SPLIT) {
        if (mode == FO_MGET || mode == FO_MSET || mode == FO_SPLITSUM) {
            split_dispatch(r, cmd, mode);
            return;
        }
        /* a command this module does not know how to split: one slot only
         * (the core forwarded the single-slot case already) */
        proxy_req_error(r, PROXY_ERR_CROSSSLOT);
        return;
    }
    switch (mode) {
    case FO_SCAN:
        scan_dispatch(r, cmd);
        return;
    case FO_INFO:
        info_dispatch(r, cmd);
        return;
    case FO_RANDCOUNT:
        randomkey_dispatch(r, cmd);
        return;
    case FO_NONE:
        mode = FO_ALLOK; /* admin commands: every master must agree */
        /* fall through */
    default:
        all_dispatch(r, cmd, mode, 0, cmd->raw, cmd->rawlen, NULL);
        return;
    }
}
