/* config: the node's key table (Redis 7.0 names, defaults and bounds), the
 * few keys that need their own parsing (client-output-buffer-limit, save,
 * notify-keyspace-events) and the CONFIG GET/SET entry points. The generic
 * loading and get/set logic lives in common/conf.c. */
#include "config.h"
#include "log.h"
#include "mem.h"
#include "util.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct node_config cfg;

static void (*on_change_hook)(const char *name);
static int (*apply_hook)(const char *name, char *why, size_t wlen);

/* ---------- client-output-buffer-limit ---------- */

static const char *const obuf_class_names[CFG_CLIENT_CLASSES] = {"normal", "slave", "pubsub"};

/* "class hard soft seconds ..." updates only the classes named, like Redis. */
static int obuf_parse(void *out, const void *cur, const char *val, size_t vlen, char *why, size_t wlen)
{
    struct cfg_obuf_limits *o = out;
    conf_list w;
    int rc = -1;
    *o = *(const struct cfg_obuf_limits *)cur;
    conf_list_split(val, vlen, &w);
    if (w.n % 4 != 0) {
        snprintf(why, wlen, "Wrong number of arguments in buffer limit configuration.");
        goto out;
    }
    for (int i = 0; i < w.n; i += 4) {
        int cls;
        const char *c = w.v[i];
        if (!strcasecmp(c, "normal")) cls = CFG_CLIENT_NORMAL;
        else if (!strcasecmp(c, "slave") || !strcasecmp(c, "replica")) cls = CFG_CLIENT_REPLICA;
        else if (!strcasecmp(c, "pubsub")) cls = CFG_CLIENT_PUBSUB;
        else {
            snprintf(why, wlen, "Invalid client class specified in buffer limit configuration.");
            goto out;
        }
        struct cfg_obuf_limit l;
        if (!conf_parse_memory(w.v[i + 1], strlen(w.v[i + 1]), 0, &l.hard) ||
            !conf_parse_memory(w.v[i + 2], strlen(w.v[i + 2]), 0, &l.soft) ||
            !str_to_ll(w.v[i + 3], strlen(w.v[i + 3]), &l.soft_seconds) || l.soft_seconds < 0) {
            snprintf(why, wlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            goto out;
        }
        o->c[cls] = l;
    }
    rc = 0;
out:
    conf_list_free(&w);
    return rc;
}

static void obuf_format(const void *field, buf_t *out)
{
    const struct cfg_obuf_limits *o = field;
    for (int i = 0; i < CFG_CLIENT_CLASSES; i++)
        buf_printf(out, "%s%s %lld %lld %lld", i ? " " : "", obuf_class_names[i],
                   o->c[i].hard, o->c[i].soft, o->c[i].soft_seconds);
}

/* ---------- save ---------- */

/* Redis reads each number with strtoll: '+' and leading zeros pass. */
static int save_number(const char *s, long long *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s)) return 0;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return *end == '\0' && errno == 0;
}

static int save_parse(void *out, const void *cur, const char *val, size_t vlen, char *why, size_t wlen)
{
    struct cfg_save *s = out;
    conf_list w;
    conf_list_split(val, vlen, &w);
    if (w.n % 2 != 0) goto bad;
    s->n = w.n / 2;
    s->p = s->n ? xcalloc((size_t)s->n, sizeof(*s->p)) : NULL;
    for (int i = 0; i < s->n; i++) {
        if (!save_number(w.v[2 * i], &s->p[i].seconds) || !save_number(w.v[2 * i + 1], &s->p[i].changes) ||
            s->p[i].seconds < 1 || s->p[i].changes < 0)
            goto bad;
    }
    conf_list_free(&w);
    return 0;
bad:
    conf_list_free(&w);
    snprintf(why, wlen, "Invalid save parameters");
    return -1; /* the caller frees s->p through save_free */
}

static void save_format(const void *field, buf_t *out)
{
    const struct cfg_save *s = field;
    for (int i = 0; i < s->n; i++)
        buf_printf(out, "%s%lld %lld", i ? " " : "", s->p[i].seconds, s->p[i].changes);
}

static void save_free(void *field)
{
    struct cfg_save *s = field;
    xfree(s->p);
    s->p = NULL;
    s->n = 0;
}

/* ---------- notify-keyspace-events ---------- */

/* Letters in the order Redis prints them (A stands for the first ten). */
static const struct { char c; int bit; } notify_letters[] = {
    {'g', CFG_NOTIFY_GENERIC}, {'$', CFG_NOTIFY_STRING}, {'l', CFG_NOTIFY_LIST}, {'s', CFG_NOTIFY_SET},
    {'h', CFG_NOTIFY_HASH}, {'z', CFG_NOTIFY_ZSET}, {'x', CFG_NOTIFY_EXPIRED}, {'e', CFG_NOTIFY_EVICTED},
    {'t', CFG_NOTIFY_STREAM}, {'d', CFG_NOTIFY_MODULE}, {'n', CFG_NOTIFY_NEW},
};

int config_notify_flags_from_str(const char *s, size_t len)
{
    int flags = 0;
    for (size_t i = 0; i < len; i++) {
        int bit = 0;
        switch (s[i]) {
        case 'A': bit = CFG_NOTIFY_ALL; break;
        case 'K': bit = CFG_NOTIFY_KEYSPACE; break;
        case 'E': bit = CFG_NOTIFY_KEYEVENT; break;
        case 'm': bit = CFG_NOTIFY_KEY_MISS; break;
        default:
            for (size_t j = 0; j < sizeof(notify_letters) / sizeof(notify_letters[0]); j++)
                if (notify_letters[j].c == s[i]) bit = notify_letters[j].bit;
            if (!bit) return -1;
        }
        flags |= bit;
    }
    return flags;
}

/* Matches Redis 7.0: with A shown, 'n' is not printed even when set. */
void config_notify_flags_to_str(int flags, char *buf)
{
    size_t n = 0;
    if ((flags & CFG_NOTIFY_ALL) == CFG_NOTIFY_ALL) {
        buf[n++] = 'A';
    } else {
        for (size_t j = 0; j < sizeof(notify_letters) / sizeof(notify_letters[0]); j++)
            if (flags & notify_letters[j].bit) buf[n++] = notify_letters[j].c;
    }
    if (flags & CFG_NOTIFY_KEYSPACE) buf[n++] = 'K';
    if (flags & CFG_NOTIFY_KEYEVENT) buf[n++] = 'E';
    if (flags & CFG_NOTIFY_KEY_MISS) buf[n++] = 'm';
    buf[n] = '\0';
}

static int notify_parse(void *out, const void *cur, const char *val, size_t vlen, char *why, size_t wlen)
{
    int f = config_notify_flags_from_str(val, vlen);
    if (f < 0) {
        snprintf(why, wlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        return -1;
    }
    *(int *)out = f;
    return 0;
}

static void notify_format(const void *field, buf_t *out)
{
    char b[32];
    config_notify_flags_to_str(*(const int *)field, b);
    buf_printf(out, "%s", b); /* may be "" */
}

/* ---------- checks on single keys ---------- */

static int validate_hz(void *field, char *why, size_t wlen)
{
    long long *v = field;
    /* Redis accepts any int and clamps to what the timer supports. */
    if (*v < 1) *v = 1;
    if (*v > 500) *v = 500;
    return 0;
}

static int validate_bind(void *field, char *why, size_t wlen)
{
    const conf_list *l = field;
    if (l->n == 0) { snprintf(why, wlen, "at least one bind address is needed"); return -1; }
    if (l->n > 16) { snprintf(why, wlen, "Too many bind addresses specified."); return -1; }
    return 0;
}

/* dir shows the working directory, as Redis does (the server chdirs into it). */
static void dir_format(const void *field, buf_t *out)
{
    char b[4096];
    const char *d = *(char *const *)field;
    buf_printf(out, "%s", getcwd(b, sizeof(b)) ? b : (d ? d : ""));
}

static int validate_daemonize(void *field, char *why, size_t wlen)
{
    if (*(int *)field) { snprintf(why, wlen, "daemonize yes is not supported yet (run in the foreground)"); return -1; }
    return 0;
}

static int validate_appendonly(void *field, char *why, size_t wlen)
{
    if (*(int *)field) { snprintf(why, wlen, "appendonly yes is not supported (Shoal has no AOF)"); return -1; }
    return 0;
}

static int validate_hostname(void *field, char *why, size_t wlen)
{
    const char *h = *(char **)field;
    if (strlen(h) >= 256) { snprintf(why, wlen, "Hostnames must be less than 256 characters"); return -1; }
    for (const char *p = h; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.') {
            snprintf(why, wlen, "Hostnames may only contain alphanumeric characters, hyphens or dots");
            return -1;
        }
    }
    return 0;
}

static int apply_loglevel(const conf_key *k, void *base, char *why, size_t wlen)
{
    log_set_level(((struct node_config *)base)->loglevel);
    return 0;
}

/* ---------- the table ---------- */

#define F(f) offsetof(struct node_config, f)
#define RT CONF_RUNTIME
#define K_INT(n, a, f, d, lo, hi, fl) \
    { .name = n, .alias = a, .type = CONF_INT, .off = F(f), .def = d, .min = lo, .max = hi, .flags = fl }
#define K_MEM(n, a, f, d, lo, hi, fl) \
    { .name = n, .alias = a, .type = CONF_MEMORY, .off = F(f), .def = d, .min = lo, .max = hi, .flags = fl }
#define K_BOOL(n, f, d, fl) { .name = n, .type = CONF_BOOL, .off = F(f), .def = d, .flags = fl }
#define K_STR(n, f, d, fl) { .name = n, .type = CONF_STRING, .off = F(f), .def = d, .flags = fl }

static const conf_enum_val loglevel_enum[] = {
    {"debug", LOG_DEBUG}, {"verbose", LOG_VERBOSE}, {"notice", LOG_NOTICE}, {"warning", LOG_WARNING}, {NULL, 0}};

/* Redis lists them in this order in its error message. */
static const conf_enum_val policy_enum[] = {
    {"volatile-lru", CFG_EVICT_VOLATILE_LRU}, {"volatile-lfu", CFG_EVICT_VOLATILE_LFU},
    {"volatile-random", CFG_EVICT_VOLATILE_RANDOM}, {"volatile-ttl", CFG_EVICT_VOLATILE_TTL},
    {"allkeys-lru", CFG_EVICT_ALLKEYS_LRU}, {"allkeys-lfu", CFG_EVICT_ALLKEYS_LFU},
    {"allkeys-random", CFG_EVICT_ALLKEYS_RANDOM}, {"noeviction", CFG_EVICT_NOEVICTION}, {NULL, 0}};

const conf_key config_keys[] = {
    /* network */
    K_INT("port", NULL, port, "6379", 0, 65535, 0),
    { .name = "bind", .type = CONF_LIST, .off = F(bind), .def = "127.0.0.1 -::1", .flags = 0,
      .validate = validate_bind },
    K_INT("tcp-backlog", NULL, tcp_backlog, "511", 0, INT_MAX, 0),
    K_INT("tcp-keepalive", NULL, tcp_keepalive, "300", 0, INT_MAX, RT),
    K_INT("timeout", NULL, timeout, "0", 0, INT_MAX, RT),
    K_INT("maxclients", NULL, maxclients, "10000", 1, UINT_MAX, RT),
    K_INT("io-coalesce-us", NULL, io_coalesce_us, "60", 0, 1000, RT),
    /* process */
    { .name = "dir", .type = CONF_STRING, .off = F(dir), .def = ".", .flags = RT | CONF_PROTECTED,
      .format = dir_format }, /* main.c creates it and chdirs into it */
    K_STR("logfile", logfile, "", 0),
    K_STR("pidfile", pidfile, "", 0),
    { .name = "loglevel", .type = CONF_ENUM, .off = F(loglevel), .def = "notice", .flags = RT,
      .enums = loglevel_enum, .apply = apply_loglevel },
    { .name = "daemonize", .type = CONF_BOOL, .off = F(daemonize), .def = "no", .validate = validate_daemonize },
    K_STR("requirepass", requirepass, "", RT),
    K_INT("databases", NULL, databases, "16", 1, INT_MAX, 0),
    { .name = "hz", .type = CONF_INT, .off = F(hz), .def = "10", .min = 0, .max = INT_MAX, .flags = RT,
      .validate = validate_hz },
    /* limits and memory */
    K_MEM("proto-max-bulk-len", NULL, proto_max_bulk_len, "512mb", 1024 * 1024, LLONG_MAX, RT),
    K_MEM("client-query-buffer-limit", NULL, client_query_buffer_limit, "1gb", 1024 * 1024, LLONG_MAX, RT),
    { .name = "client-output-buffer-limit", .type = CONF_SPECIAL, .off = F(obuf_limits),
      .def = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", .flags = RT,
      .size = sizeof(struct cfg_obuf_limits), .parse = obuf_parse, .format = obuf_format },
    K_MEM("maxmemory", NULL, maxmemory, "0", 0, LLONG_MAX, RT),
    { .name = "maxmemory-policy", .type = CONF_ENUM, .off = F(maxmemory_policy), .def = "noeviction",
      .flags = RT, .enums = policy_enum },
    K_INT("maxmemory-samples", NULL, maxmemory_samples, "5", 1, INT_MAX, RT),
    K_INT("lfu-log-factor", NULL, lfu_log_factor, "10", 0, INT_MAX, RT),
    K_INT("lfu-decay-time", NULL, lfu_decay_time, "1", 0, INT_MAX, RT),
    K_INT("slowlog-log-slower-than", NULL, slowlog_log_slower_than, "10000", -1, LLONG_MAX, RT),
    K_INT("slowlog-max-len", NULL, slowlog_max_len, "128", 0, LONG_MAX, RT),
    /* encodings */
    K_INT("hash-max-listpack-entries", "hash-max-ziplist-entries", hash_max_listpack_entries, "512", 0, LONG_MAX, RT),
    K_MEM("hash-max-listpack-value", "hash-max-ziplist-value", hash_max_listpack_value, "64", 0, LONG_MAX, RT),
    K_INT("set-max-intset-entries", NULL, set_max_intset_entries, "512", 0, LONG_MAX, RT),
    K_INT("zset-max-listpack-entries", "zset-max-ziplist-entries", zset_max_listpack_entries, "128", 0, LONG_MAX, RT),
    K_MEM("zset-max-listpack-value", "zset-max-ziplist-value", zset_max_listpack_value, "64", 0, LONG_MAX, RT),
    K_INT("list-max-listpack-size", "list-max-ziplist-size", list_max_listpack_size, "-2", INT_MIN, INT_MAX, RT),
    K_INT("list-compress-depth", NULL, list_compress_depth, "0", 0, INT_MAX, RT),
    K_MEM("hll-sparse-max-bytes", NULL, hll_sparse_max_bytes, "3000", 0, LONG_MAX, RT),
    /* lazy free, expiry, notifications */
    K_BOOL("lazyfree-lazy-eviction", lazyfree_lazy_eviction, "no", RT),
    K_BOOL("lazyfree-lazy-expire", lazyfree_lazy_expire, "no", RT),
    K_BOOL("lazyfree-lazy-server-del", lazyfree_lazy_server_del, "no", RT),
    K_BOOL("lazyfree-lazy-user-del", lazyfree_lazy_user_del, "no", RT),
    K_BOOL("lazyfree-lazy-user-flush", lazyfree_lazy_user_flush, "no", RT),
    K_INT("active-expire-effort", NULL, active_expire_effort, "1", 1, 10, RT),
    { .name = "notify-keyspace-events", .type = CONF_SPECIAL, .off = F(notify_keyspace_events), .def = "",
      .flags = RT, .size = sizeof(int), .parse = notify_parse, .format = notify_format },
    /* persistence */
    { .name = "save", .type = CONF_SPECIAL, .off = F(save), .def = "3600 1 300 100 60 10000", .flags = RT,
      .size = sizeof(struct cfg_save), .parse = save_parse, .format = save_format, .free_fn = save_free },
    { .name = "appendonly", .type = CONF_BOOL, .off = F(appendonly), .def = "no", .flags = RT,
      .validate = validate_appendonly },
    /* cluster */
    K_BOOL("cluster-enabled", cluster_enabled, "no", 0),
    K_STR("cluster-config-file", cluster_config_file, "nodes.conf", 0),
    K_INT("cluster-port", NULL, cluster_port, "0", 0, 65535, 0),
    K_INT("cluster-node-timeout", NULL, cluster_node_timeout, "15000", 0, LLONG_MAX, RT),
    K_BOOL("cluster-require-full-coverage", cluster_require_full_coverage, "yes", RT),
    K_BOOL("cluster-allow-reads-when-down", cluster_allow_reads_when_down, "no", RT),
    K_STR("cluster-announce-ip", cluster_announce_ip, "", RT),
    K_INT("cluster-announce-port", NULL, cluster_announce_port, "0", 0, 65535, RT),
    K_INT("cluster-announce-bus-port", NULL, cluster_announce_bus_port, "0", 0, 65535, RT),
    { .name = "cluster-announce-hostname", .type = CONF_STRING, .off = F(cluster_announce_hostname), .def = "",
      .flags = RT, .validate = validate_hostname },
    { .name = NULL },
};

/* ---------- entry points ---------- */

int config_load_args(int argc, char **argv, char *err, size_t errlen)
{
    const char *path = NULL;
    xfree(cfg.config_file);
    cfg.config_file = NULL;
    if (conf_load_args(config_keys, &cfg, argc, argv, &path, err, errlen) != 0) return -1;
    if (path) {
        /* Absolute, so it stays valid after the server chdirs into dir. */
        char *abs = realpath(path, NULL);
        cfg.config_file = xstrdup(abs ? abs : path);
        free(abs);
    }
    if (cfg.cluster_enabled && cfg.cluster_port == 0 && cfg.port > 65535 - 10000) {
        snprintf(err, errlen, "'port': %lld is too high for the cluster bus (port + 10000 > 65535); "
                 "set cluster-port", cfg.port);
        return -1;
    }
    return 0;
}

void config_free(void)
{
    conf_free(config_keys, &cfg);
    xfree(cfg.config_file);
    cfg.config_file = NULL;
}

static int apply_cb(void *ctx, const conf_key *k, void *base, char *why, size_t wlen)
{
    return apply_hook ? apply_hook(k->name, why, wlen) : 0;
}

int config_set_multi(int n, const char *const *names, const size_t *nlens,
                     const char *const *vals, const size_t *vlens, char *err, size_t errlen)
{
    if (conf_set_multi(config_keys, &cfg, n, names, nlens, vals, vlens, apply_cb, NULL, err, errlen) != 0)
        return -1;
    if (on_change_hook) {
        for (int i = 0; i < n; i++) {
            const conf_key *k = conf_find(config_keys, names[i], nlens[i], NULL);
            if (k) on_change_hook(k->name);
        }
    }
    return 0;
}

int config_set(const char *name, size_t nlen, const char *val, size_t vlen, char *err, size_t errlen)
{
    return config_set_multi(1, &name, &nlen, &val, &vlen, err, errlen);
}

void config_get(const char *pattern, size_t plen,
                void (*emit)(void *ctx, const char *name, const char *value), void *ctx)
{
    conf_get_multi(config_keys, &cfg, 1, &pattern, &plen, emit, ctx);
}

void config_get_multi(int n, const char *const *pats, const size_t *plens,
                      void (*emit)(void *ctx, const char *name, const char *value), void *ctx)
{
    conf_get_multi(config_keys, &cfg, n, pats, plens, emit, ctx);
}

void config_set_hook(void (*on_change)(const char *name)) { on_change_hook = on_change; }

void config_set_apply_hook(int (*apply)(const char *name, char *why, size_t wlen)) { apply_hook = apply; }

char *config_get_value(const char *name)
{
    const conf_key *k = conf_find(config_keys, name, strlen(name), NULL);
    return k ? conf_format_str(k, &cfg) : NULL;
}

long long config_cluster_bus_port(void)
{
    return cfg.cluster_port ? cfg.cluster_port : cfg.port + 10000;
}
