/* cluster_persist: nodes.conf (cluster-config-file) and the CLUSTER NODES
 * text it is made of (bus-protocol.md §15, §16).
 *
 * The file is opened once, flock()ed exclusively and kept open for the
 * life of the process, so a second node pointed at the same file refuses
 * to start instead of silently sharing (and corrupting) an identity.
 * Saving rewrites the whole text from offset 0 in one write, padding with
 * newlines when the old file was longer, then truncates: a crash at any
 * point leaves either the old or the new content plus blank lines, both
 * loadable. Loading validates every field and reports "file:line: reason"
 * so the node never starts from a half-understood identity. */
#include "cluster.h"
#include "config.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The open, locked config file. Kept here rather than trusting
 * cluster->config_fd alone: a zeroed cluster_state would say fd 0. */
static int persist_fd = -1;
static char persist_path[4096];

/* ------------------------------------------------------------------------
 * CLUSTER NODES text */

static void append_slot_ranges(buf_t *out, const cluster_node *n)
{
    if (n->numslots == 0) return;
    /* Ranges come from the owner table, as Redis prints them. */
    int start = -1;
    for (int j = 0; j <= CLUSTER_SLOTS; j++) {
        int mine = j < CLUSTER_SLOTS && cluster->slots[j] == n;
        if (mine && start < 0) start = j;
        if (!mine && start >= 0) {
            if (start == j - 1) buf_printf(out, " %d", start);
            else buf_printf(out, " %d-%d", start, j - 1);
            start = -1;
        }
    }
}

void cluster_node_text(buf_t *out, const cluster_node *n)
{
    char flags[BUS_FLAGS_STR_MAX];
    bus_flags_to_str(n->flags, flags, sizeof(flags));
    int is_replica = (n->flags & BUS_NODE_SLAVE) && n->master;
    /* Replicas advertise their master's epoch (what they'd claim). */
    uint64_t epoch = is_replica ? n->master->config_epoch : n->config_epoch;

    buf_append(out, n->name, BUS_NAMELEN);
    buf_printf(out, " %s:%d@%d", n->ip, n->port, n->cport);
    if (n->hostname && *n->hostname) buf_printf(out, ",%s", n->hostname);
    buf_printf(out, " %s ", flags);
    if (is_replica) buf_append(out, n->master->name, BUS_NAMELEN);
    else buf_append(out, "-", 1);
    buf_printf(out, " %lld %lld %llu %s", n->ping_sent_ms, n->pong_received_ms,
               (unsigned long long)epoch,
               (n->link || (n->flags & BUS_NODE_MYSELF)) ? "connected" : "disconnected");
    append_slot_ranges(out, n);

    /* Open slots (resharding) are only known about ourselves. */
    if (n->flags & BUS_NODE_MYSELF) {
        for (int j = 0; j < CLUSTER_SLOTS; j++) {
            if (cluster->migrating_to[j])
                buf_printf(out, " [%d->-%.40s]", j, cluster->migrating_to[j]->name);
            else if (cluster->importing_from[j])
                buf_printf(out, " [%d-<-%.40s]", j, cluster->importing_from[j]->name);
        }
    }
}

static int cmp_node_name(const void *a, const void *b)
{
    const cluster_node *x = *(cluster_node *const *)a, *y = *(cluster_node *const *)b;
    return memcmp(x->name, y->name, BUS_NAMELEN);
}

void cluster_nodes_text(buf_t *out, int for_config)
{
    size_t cap = kvt_size(cluster->nodes), cnt = 0;
    cluster_node **v = xmalloc(sizeof(*v) * (cap ? cap : 1));
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) && cnt < cap) {
        cluster_node *n = e->val;
        /* A handshake node has a made-up name: never persist it. */
        if (for_config && (n->flags & BUS_NODE_HANDSHAKE)) continue;
        v[cnt++] = n;
    }
    /* Stable order (Redis uses hash order; any order is valid). */
    qsort(v, cnt, sizeof(*v), cmp_node_name);
    for (size_t i = 0; i < cnt; i++) {
        cluster_node_text(out, v[i]);
        buf_append(out, "\n", 1);
    }
    xfree(v);
}

/* ------------------------------------------------------------------------
 * Locking and saving */

/* cluster_state_free() closes cluster->config_fd: when the state does
 * not hold our fd any more, it was closed behind our back (never close
 * it again: the number may belong to someone else by now). */
static void forget_stale_fd(void)
{
    if (persist_fd >= 0 && (!cluster || cluster->config_fd != persist_fd)) {
        persist_fd = -1;
        persist_path[0] = 0;
    }
}

/* Opens (creating) and locks path; 0 or -1 with err. */
static int persist_open(const char *path, char *err, size_t errlen)
{
    forget_stale_fd();
    if (persist_fd >= 0) return 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "Can't open the cluster config file %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            snprintf(err, errlen, "Sorry, the cluster configuration file %s is already used by a "
                     "different cluster node. Please make sure that different nodes use "
                     "different cluster configuration files.", path);
        else
            snprintf(err, errlen, "Impossible to lock the cluster config file %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    persist_fd = fd;
    if (path != persist_path) snprintf(persist_path, sizeof(persist_path), "%s", path);
    if (cluster) {
        cluster->config_fd = fd;
        /* Absolute path for logs (the node chdir()s into dir first);
         * cluster_init may already have set it (and passed it as path). */
        char cwd[2048];
        if (path != cluster->config_path && !cluster->config_path[0]) {
            if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
                snprintf(cluster->config_path, sizeof(cluster->config_path), "%s", path);
            else
                snprintf(cluster->config_path, sizeof(cluster->config_path), "%s/%s", cwd, path);
        }
    }
    return 0;
}

void cluster_persist_close(void)
{
    forget_stale_fd();
    if (persist_fd < 0) return;
    close(persist_fd);   /* also drops the flock */
    persist_fd = -1;
    persist_path[0] = 0;
    if (cluster) cluster->config_fd = -1;
}

static const char *config_file_path(void)
{
    if (persist_path[0]) return persist_path;
    if (cluster && cluster->config_path[0]) return cluster->config_path;
    return cfg.cluster_config_file && *cfg.cluster_config_file ? cfg.cluster_config_file : "nodes.conf";
}

int cluster_save_config(int do_fsync)
{
    if (!cluster) return -1;
    char err[512];
    const char *path = config_file_path();
    if (persist_open(path, err, sizeof(err)) < 0) {
        log_warning("Could not save the cluster config: %s", err);
        return -1;
    }
    buf_t b;
    buf_init(&b);
    cluster_nodes_text(&b, 1);
    buf_printf(&b, "vars currentEpoch %llu lastVoteEpoch %llu\n",
               (unsigned long long)cluster->current_epoch,
               (unsigned long long)cluster->last_vote_epoch);
    size_t content_len = b.len;

    struct stat st;
    int rc = -1;
    const char *what = "fstat";
    if (fstat(persist_fd, &st) < 0) goto done;
    /* Blank lines over the old tail: valid even if we die before ftruncate. */
    if ((size_t)st.st_size > content_len) {
        size_t pad = (size_t)st.st_size - content_len;
        buf_reserve(&b, pad);
        memset(b.p + b.len, '\n', pad);
        b.len += pad;
    }
    what = "write";
    size_t done_len = 0;
    while (done_len < b.len) {
        ssize_t w = pwrite(persist_fd, b.p + done_len, b.len - done_len, (off_t)done_len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) goto done;
        done_len += (size_t)w;
    }
    what = "fsync";
    if (do_fsync && fsync(persist_fd) < 0) goto done;
    if (b.len != content_len && ftruncate(persist_fd, (off_t)content_len) < 0) {
        /* Not fatal: the padding is blank lines. */
        log_verbose("ftruncate of %s failed: %s", path, strerror(errno));
    }
    cluster->todo &= ~CLUSTER_TODO_SAVE_CONFIG;
    if (do_fsync) cluster->todo &= ~CLUSTER_TODO_FSYNC_CONFIG;
    rc = 0;
done:
    if (rc < 0) {
        int saved = errno;   /* CLUSTER SAVECONFIG reports it */
        log_warning("Could not save the cluster config %s (%s): %s", path, what, strerror(saved));
        errno = saved;
    }
    buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------------
 * Loading */

typedef struct load_ctx {
    const char *path;
    int line;
    char *err;
    size_t errlen;
    /* nodes created from a reference (master field, open-slot marker)
     * that still need a line of their own */
    cluster_node **pending;
    int npending, cappending;
} load_ctx;

static int load_fail(load_ctx *lc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int load_fail(load_ctx *lc, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(lc->err, lc->errlen, "%s:%d: %s", lc->path, lc->line, why);
    return -1;
}

static void pending_add(load_ctx *lc, cluster_node *n)
{
    if (lc->npending == lc->cappending) {
        lc->cappending = lc->cappending ? lc->cappending * 2 : 8;
        lc->pending = xrealloc(lc->pending, sizeof(*lc->pending) * (size_t)lc->cappending);
    }
    lc->pending[lc->npending++] = n;
}

static void pending_del(load_ctx *lc, cluster_node *n)
{
    for (int i = 0; i < lc->npending; i++)
        if (lc->pending[i] == n) lc->pending[i] = lc->pending[--lc->npending];
}

static int is_pending(load_ctx *lc, cluster_node *n)
{
    for (int i = 0; i < lc->npending; i++)
        if (lc->pending[i] == n) return 1;
    return 0;
}

/* A node referenced by name: the existing one or a placeholder that
 * must get its own line later in the file. */
static cluster_node *node_ref(load_ctx *lc, const char *name, size_t len, const char *what)
{
    if (!bus_nodeid_valid(name, len)) {
        load_fail(lc, "invalid node ID '%.*s' in %s", (int)(len > 64 ? 64 : len), name, what);
        return NULL;
    }
    cluster_node *n = cluster_lookup(name, len);
    if (n) return n;
    char nm[BUS_NAMELEN + 1];
    memcpy(nm, name, BUS_NAMELEN);
    nm[BUS_NAMELEN] = 0;
    n = cluster_node_new(nm, 0);
    cluster_add_node(n);
    pending_add(lc, n);
    return n;
}

static int parse_num(const char *s, size_t len, long long min, long long max, long long *out)
{
    long long v;
    if (!str_to_ll(s, len, &v) || v < min || v > max) return 0;
    *out = v;
    return 1;
}

/* "ip:port[@cport][,hostname]" into n. */
static int parse_addr(load_ctx *lc, cluster_node *n, const char *s, size_t len)
{
    const char *comma = memchr(s, ',', len);
    size_t alen = comma ? (size_t)(comma - s) : len;
    if (comma) {
        const char *h = comma + 1;
        size_t hl = len - alen - 1;
        /* 7.2 writes ",hostname,shard-id=...": a one-way format change. */
        if (memchr(h, '=', hl) || memchr(h, ',', hl))
            return load_fail(lc, "address field '%.*s' has auxiliary fields (written by Redis 7.2+?): "
                             "not supported", (int)len, s);
        for (size_t i = 0; i < hl; i++)
            if ((unsigned char)h[i] < 33 || (unsigned char)h[i] > 126)
                return load_fail(lc, "invalid hostname in address field '%.*s'", (int)len, s);
        xfree(n->hostname);
        n->hostname = hl ? xmemdup(h, hl) : NULL;
    }
    const char *at = memchr(s, '@', alen);
    size_t hostport = at ? (size_t)(at - s) : alen;
    const char *colon = NULL;
    for (size_t i = hostport; i > 0; i--)
        if (s[i - 1] == ':') { colon = s + i - 1; break; }
    if (!colon) return load_fail(lc, "invalid address '%.*s' (want ip:port@cport)", (int)len, s);
    size_t iplen = (size_t)(colon - s);
    if (iplen > BUS_IPLEN) return load_fail(lc, "IP address too long in '%.*s'", (int)len, s);
    char ip[BUS_IPLEN + 1];
    memcpy(ip, s, iplen);
    ip[iplen] = 0;
    if (iplen) {
        unsigned char tmp[16];
        if (inet_pton(AF_INET, ip, tmp) != 1 && inet_pton(AF_INET6, ip, tmp) != 1)
            return load_fail(lc, "invalid IP address '%s'", ip);
    }
    long long port, cport;
    const char *ps = colon + 1;
    if (!parse_num(ps, (size_t)(s + hostport - ps), 0, 65535, &port))
        return load_fail(lc, "invalid port in address '%.*s'", (int)len, s);
    if (at) {
        if (!parse_num(at + 1, (size_t)(s + alen - at - 1), 0, 65535, &cport))
            return load_fail(lc, "invalid bus port in address '%.*s'", (int)len, s);
    } else {
        cport = port + 10000;   /* pre-4.0 files have no @cport */
    }
    memcpy(n->ip, ip, iplen + 1);
    n->port = (int)port;
    n->cport = (int)cport;
    return 0;
}

/* "[slot->-id]" (migrating) or "[slot-<-id]" (importing). */
static int parse_open_slot(load_ctx *lc, const char *s, size_t len)
{
    if (len < 2 || s[len - 1] != ']') return load_fail(lc, "invalid open slot '%.*s'", (int)len, s);
    const char *p = s + 1, *end = s + len - 1;
    const char *dash = memchr(p, '-', (size_t)(end - p));
    if (!dash || end - dash < 3) return load_fail(lc, "invalid open slot '%.*s'", (int)len, s);
    long long slot;
    if (!parse_num(p, (size_t)(dash - p), 0, CLUSTER_SLOTS - 1, &slot))
        return load_fail(lc, "invalid slot in '%.*s'", (int)len, s);
    int migrating;
    if (dash[1] == '>' && dash[2] == '-') migrating = 1;
    else if (dash[1] == '<' && dash[2] == '-') migrating = 0;
    else return load_fail(lc, "invalid open slot '%.*s'", (int)len, s);
    const char *id = dash + 3;
    cluster_node *n = node_ref(lc, id, (size_t)(end - id), "open slot");
    if (!n) return -1;
    if (migrating) cluster->migrating_to[slot] = n;
    else cluster->importing_from[slot] = n;
    return 0;
}

static int parse_slot_range(load_ctx *lc, cluster_node *n, const char *s, size_t len)
{
    const char *dash = memchr(s, '-', len);
    long long a, b;
    if (dash) {
        if (!parse_num(s, (size_t)(dash - s), 0, CLUSTER_SLOTS - 1, &a) ||
            !parse_num(dash + 1, (size_t)(s + len - dash - 1), 0, CLUSTER_SLOTS - 1, &b) || a > b)
            return load_fail(lc, "invalid slot range '%.*s'", (int)len, s);
    } else {
        if (!parse_num(s, len, 0, CLUSTER_SLOTS - 1, &a))
            return load_fail(lc, "invalid slot '%.*s'", (int)len, s);
        b = a;
    }
    for (long long j = a; j <= b; j++) {
        if (cluster->slots[j] && cluster->slots[j] != n)
            return load_fail(lc, "slot %lld is assigned to two nodes (%.40s and %.40s)",
                             j, cluster->slots[j]->name, n->name);
        if (!cluster->slots[j]) cluster_add_slot(n, (int)j);
    }
    return 0;
}

static void link_replica(cluster_node *replica, cluster_node *master)
{
    for (int i = 0; i < master->nreplicas; i++)
        if (master->replicas[i] == replica) return;
    master->replicas = xrealloc(master->replicas, sizeof(*master->replicas) * (size_t)(master->nreplicas + 1));
    master->replicas[master->nreplicas++] = replica;
    replica->master = master;
}

#define MAX_FIELDS 64

/* Splits a line on spaces into at most max fields (the rest stays in
 * the last one's tail and is reported through *more). */
static int split_fields(char *line, size_t len, const char **f, size_t *fl, int max, int *more)
{
    int n = 0;
    size_t i = 0;
    *more = 0;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
        if (i >= len) break;
        size_t j = i;
        while (j < len && line[j] != ' ' && line[j] != '\t') j++;
        if (n == max) { *more = 1; break; }
        f[n] = line + i;
        fl[n] = j - i;
        n++;
        i = j;
    }
    return n;
}

static int load_vars(load_ctx *lc, const char **f, const size_t *fl, int nf)
{
    if ((nf - 1) % 2 != 0) return load_fail(lc, "'vars' needs name value pairs");
    for (int i = 1; i < nf; i += 2) {
        unsigned long long v;
        if (!str_to_ull(f[i + 1], fl[i + 1], &v))
            return load_fail(lc, "invalid value '%.*s' for '%.*s'", (int)fl[i + 1], f[i + 1], (int)fl[i], f[i]);
        if (fl[i] == 12 && memcmp(f[i], "currentEpoch", 12) == 0) cluster->current_epoch = v;
        else if (fl[i] == 13 && memcmp(f[i], "lastVoteEpoch", 13) == 0) cluster->last_vote_epoch = v;
        else log_warning("Skipping unknown cluster config variable '%.*s'", (int)fl[i], f[i]);
    }
    return 0;
}

/* One node line; the slot fields may be many, so they are walked from
 * the raw text rather than split into a fixed array. */
static int load_node_line(load_ctx *lc, char *line, size_t len)
{
    const char *f[8];
    size_t fl[8];
    int more;
    int nf = split_fields(line, len, f, fl, 8, &more);
    if (nf < 8) return load_fail(lc, "node line has %d fields, at least 8 are needed", nf);

    if (!bus_nodeid_valid(f[0], fl[0])) return load_fail(lc, "invalid node ID '%.*s'", (int)(fl[0] > 64 ? 64 : fl[0]), f[0]);
    cluster_node *n = cluster_lookup(f[0], fl[0]);
    if (n && !is_pending(lc, n)) return load_fail(lc, "node %.40s is listed twice", f[0]);
    if (!n) {
        char nm[BUS_NAMELEN + 1];
        memcpy(nm, f[0], BUS_NAMELEN);
        nm[BUS_NAMELEN] = 0;
        n = cluster_node_new(nm, 0);
        cluster_add_node(n);
    } else {
        pending_del(lc, n);
    }

    if (parse_addr(lc, n, f[1], fl[1]) < 0) return -1;

    uint16_t flags;
    if (bus_flags_from_str(f[2], fl[2], &flags) < 0)
        return load_fail(lc, "unknown flag in '%.*s'", (int)fl[2], f[2]);
    if ((flags & BUS_NODE_MASTER) && (flags & BUS_NODE_SLAVE))
        return load_fail(lc, "node %.40s is flagged both master and slave", f[0]);
    n->flags = flags;
    if (flags & BUS_NODE_MYSELF) {
        if (cluster->myself && cluster->myself != n) return load_fail(lc, "more than one 'myself' line");
        cluster->myself = n;
    }
    if (flags & BUS_NODE_FAIL) n->fail_time_ms = time_ms();

    if (!(fl[3] == 1 && f[3][0] == '-')) {
        cluster_node *m = node_ref(lc, f[3], fl[3], "master field");
        if (!m) return -1;
        if (m == n) return load_fail(lc, "node %.40s is its own master", f[0]);
        if (!(flags & BUS_NODE_SLAVE)) return load_fail(lc, "node %.40s has a master but is not a slave", f[0]);
        link_replica(n, m);
    }

    long long ping, pong;
    unsigned long long epoch;
    if (!parse_num(f[4], fl[4], 0, LLONG_MAX, &ping)) return load_fail(lc, "invalid ping_sent '%.*s'", (int)fl[4], f[4]);
    if (!parse_num(f[5], fl[5], 0, LLONG_MAX, &pong)) return load_fail(lc, "invalid pong_received '%.*s'", (int)fl[5], f[5]);
    if (!str_to_ull(f[6], fl[6], &epoch)) return load_fail(lc, "invalid configEpoch '%.*s'", (int)fl[6], f[6]);
    /* The times themselves are stale: non-zero only means "was pending". */
    long long now = time_ms();
    n->ping_sent_ms = ping ? now : 0;
    n->pong_received_ms = pong ? now : 0;
    /* A replica's epoch is its master's; persisting it would only let a
     * stale value win a comparison after restart (Redis 7.0.3+ does the same). */
    n->config_epoch = (flags & BUS_NODE_SLAVE) ? 0 : epoch;
    if (!((fl[7] == 9 && memcmp(f[7], "connected", 9) == 0) ||
          (fl[7] == 12 && memcmp(f[7], "disconnected", 12) == 0)))
        return load_fail(lc, "invalid link state '%.*s'", (int)fl[7], f[7]);

    /* Slots and open-slot markers after the 8th field. */
    size_t i = (size_t)(f[7] + fl[7] - line);
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
        if (i >= len) break;
        size_t j = i;
        while (j < len && line[j] != ' ' && line[j] != '\t') j++;
        int rc = line[i] == '[' ? parse_open_slot(lc, line + i, j - i)
                                : parse_slot_range(lc, n, line + i, j - i);
        if (rc < 0) return -1;
        i = j;
    }
    return 0;
}

static uint64_t max_config_epoch(void)
{
    uint64_t max = 0;
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it))) {
        cluster_node *n = e->val;
        if (n->config_epoch > max) max = n->config_epoch;
    }
    return max;
}

static int load_text(load_ctx *lc, char *text, size_t len)
{
    size_t pos = 0;
    lc->line = 0;
    while (pos < len) {
        char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        char *line = text + pos;
        size_t ll = end - pos;
        pos = end + 1;
        lc->line++;
        if (ll && line[ll - 1] == '\r') ll--;
        size_t k = 0;
        while (k < ll && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k == ll) continue;   /* blank (also the save padding) */
        if (memchr(line, '\0', ll)) return load_fail(lc, "NUL byte in line");

        const char *f[MAX_FIELDS];
        size_t fl[MAX_FIELDS];
        int more;
        int nf = split_fields(line, ll, f, fl, MAX_FIELDS, &more);
        if (fl[0] == 4 && memcmp(f[0], "vars", 4) == 0) {
            if (more) return load_fail(lc, "too many fields in 'vars' line");
            if (load_vars(lc, f, fl, nf) < 0) return -1;
            continue;
        }
        if (load_node_line(lc, line, ll) < 0) return -1;
    }
    lc->line = 0;
    if (lc->npending) {
        cluster_node *n = lc->pending[0];
        snprintf(lc->err, lc->errlen, "%s: node %.40s is referenced but has no line of its own", lc->path, n->name);
        return -1;
    }
    if (!cluster->myself) {
        snprintf(lc->err, lc->errlen, "%s: no 'myself' node line", lc->path);
        return -1;
    }
    /* Guards against hand edits: no node may be ahead of the cluster clock. */
    uint64_t maxe = max_config_epoch();
    if (cluster->current_epoch < maxe) cluster->current_epoch = maxe;
    return 0;
}

int cluster_load_config(const char *path, char *err, size_t errlen)
{
    if (persist_open(path, err, errlen) < 0) return -1;
    struct stat st;
    if (fstat(persist_fd, &st) < 0) {
        snprintf(err, errlen, "Can't stat the cluster config file %s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_size == 0) return 0;   /* just created, or empty: start fresh */
    size_t len = (size_t)st.st_size;
    char *text = xmalloc(len + 1);
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(persist_fd, text + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got != len) {
        snprintf(err, errlen, "Can't read the cluster config file %s: %s", path, got < len ? "short read" : strerror(errno));
        xfree(text);
        return -1;
    }
    text[len] = 0;
    load_ctx lc = {.path = path, .err = err, .errlen = errlen};
    int rc = load_text(&lc, text, len);
    xfree(lc.pending);
    xfree(text);
    return rc < 0 ? -1 : 1;
}
