/* config: shoal-proxy's key table and snapshot handling (see config.h).
 * Generic loading (YAML, --name value, errors naming file/line/key) is
 * common/conf.c; this file only says which keys exist, their defaults,
 * bounds and whether a SIGHUP reload may change them. */
#include "config.h"
#include "log.h"
#include "mem.h"
#include "util.h"
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---------- client-output-buffer-limit ---------- */

/* "class hard soft seconds ..." for the classes normal and pubsub (replica
 * is accepted and ignored so a Redis-style line can be pasted). Updates
 * only the classes named, like Redis. */
static int obuf_parse(void *out, const void *cur, const char *val, size_t vlen, char *why, size_t wlen)
{
    proxy_obuf_limits *o = out;
    conf_list w;
    int rc = -1;
    *o = *(const proxy_obuf_limits *)cur;
    conf_list_split(val, vlen, &w);
    if (w.n % 4 != 0) {
        snprintf(why, wlen, "Wrong number of arguments in buffer limit configuration.");
        goto out;
    }
    for (int i = 0; i < w.n; i += 4) {
        proxy_obuf_limit l, *dst;
        const char *c = w.v[i];
        if (!strcasecmp(c, "normal")) dst = &o->normal;
        else if (!strcasecmp(c, "pubsub")) dst = &o->pubsub;
        else if (!strcasecmp(c, "slave") || !strcasecmp(c, "replica")) dst = NULL;
        else {
            snprintf(why, wlen, "Invalid client class specified in buffer limit configuration.");
            goto out;
        }
        if (!conf_parse_memory(w.v[i + 1], strlen(w.v[i + 1]), 0, &l.hard) ||
            !conf_parse_memory(w.v[i + 2], strlen(w.v[i + 2]), 0, &l.soft) ||
            !str_to_ll(w.v[i + 3], strlen(w.v[i + 3]), &l.soft_seconds) || l.soft_seconds < 0) {
            snprintf(why, wlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            goto out;
        }
        if (dst) *dst = l;
    }
    rc = 0;
out:
    conf_list_free(&w);
    return rc;
}

static void obuf_format(const void *field, buf_t *out)
{
    const proxy_obuf_limits *o = field;
    buf_printf(out, "normal %lld %lld %lld pubsub %lld %lld %lld", o->normal.hard, o->normal.soft,
               o->normal.soft_seconds, o->pubsub.hard, o->pubsub.soft, o->pubsub.soft_seconds);
}

/* ---------- checks ---------- */

static int validate_bind(void *field, char *why, size_t wlen)
{
    const conf_list *l = field;
    if (l->n == 0) { snprintf(why, wlen, "at least one bind address is needed"); return -1; }
    if (l->n > 16) { snprintf(why, wlen, "Too many bind addresses specified."); return -1; }
    return 0;
}

/* host:port, [v6]:port, optionally @cport: the form topology.h accepts. */
static int validate_seeds(void *field, char *why, size_t wlen)
{
    const conf_list *l = field;
    for (int i = 0; i < l->n; i++) {
        const char *s = l->v[i];
        const char *at = strchr(s, '@');
        size_t n = at ? (size_t)(at - s) : strlen(s);
        const char *colon = NULL;
        for (size_t k = 0; k < n; k++)
            if (s[k] == ':') colon = s + k;
        long long port;
        if (!colon || colon == s || !str_to_ll(colon + 1, (size_t)(s + n - colon - 1), &port) ||
            port < 1 || port > 65535) {
            snprintf(why, wlen, "bad seed '%s' (expected host:port)", s);
            return -1;
        }
    }
    return 0;
}

/* ---------- the table ---------- */

#define F(f) offsetof(proxy_config, f)
#define RT CONF_RUNTIME
#define K_INT(n, f, d, lo, hi, fl) \
    { .name = n, .type = CONF_INT, .off = F(f), .def = d, .min = lo, .max = hi, .flags = fl }
#define K_MEM(n, f, d, lo, hi, fl) \
    { .name = n, .type = CONF_MEMORY, .off = F(f), .def = d, .min = lo, .max = hi, .flags = fl }
#define K_STR(n, f, d, fl) { .name = n, .type = CONF_STRING, .off = F(f), .def = d, .flags = fl }

static const conf_enum_val loglevel_enum[] = {
    {"debug", LOG_DEBUG}, {"verbose", LOG_VERBOSE}, {"notice", LOG_NOTICE}, {"warning", LOG_WARNING}, {NULL, 0}};

static const conf_enum_val read_policy_enum[] = {
    {"master", PROXY_READ_MASTER}, {"prefer-replica", PROXY_READ_PREFER_REPLICA},
    {"replica", PROXY_READ_REPLICA}, {NULL, 0}};

const conf_key proxy_config_keys[] = {
    /* network: listeners are opened once, at start */
    { .name = "bind", .type = CONF_LIST, .off = F(bind), .def = "127.0.0.1", .validate = validate_bind },
    K_INT("port", port, "7777", 1, 65535, 0),
    K_INT("threads", threads, "0", 0, 64, 0),
    K_INT("maxclients", maxclients, "10000", 1, INT_MAX, RT),
    /* cluster */
    { .name = "seeds", .type = CONF_LIST, .off = F(seeds), .def = "127.0.0.1:7000", .validate = validate_seeds },
    K_INT("topology-interval-ms", topology_interval_ms, "100", 10, 60000, 0),
    K_INT("backend-connections", backend_connections, "1", 1, 16, 0),
    K_INT("connect-timeout-ms", connect_timeout_ms, "1000", 10, 600000, RT),
    K_INT("request-timeout-ms", request_timeout_ms, "5000", 0, 86400000, RT),
    K_INT("max-redirects", max_redirects, "16", 0, 100, RT),
    K_INT("retry-max-ms", retry_max_ms, "3000", 0, 600000, RT),
    /* auth */
    K_STR("requirepass", requirepass, "", RT),
    K_STR("backend-user", backend_user, "", RT),
    K_STR("backend-password", backend_password, "", RT),
    { .name = "read-policy", .type = CONF_ENUM, .off = F(read_policy), .def = "master", .flags = RT,
      .enums = read_policy_enum },
    /* client limits */
    K_MEM("proto-max-bulk-len", proto_max_bulk_len, "512mb", 1024 * 1024, LLONG_MAX, RT),
    { .name = "client-output-buffer-limit", .type = CONF_SPECIAL, .off = F(obuf),
      .def = "normal 0 0 0 pubsub 33554432 8388608 60", .flags = RT,
      .size = sizeof(proxy_obuf_limits), .parse = obuf_parse, .format = obuf_format },
    K_INT("timeout", timeout, "0", 0, INT_MAX, RT),
    /* event loop */
    K_INT("io-coalesce-us", io_coalesce_us, "50", 0, 1000, RT),
    /* process */
    { .name = "loglevel", .type = CONF_ENUM, .off = F(loglevel), .def = "notice", .flags = RT,
      .enums = loglevel_enum },
    K_STR("logfile", logfile, "", 0),
    K_STR("pidfile", pidfile, "", 0),
    { .name = NULL },
};

proxy_config *proxy_config_load(int argc, char **argv, const char **path_out, char *err, size_t errlen)
{
    proxy_config *c = xcalloc(1, sizeof(*c));
    if (conf_load_args(proxy_config_keys, c, argc, argv, path_out, err, errlen) != 0) {
        conf_free(proxy_config_keys, c);
        xfree(c);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    return c;
}

void proxy_config_ref(proxy_config *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void proxy_config_unref(proxy_config *c)
{
    if (!c) return;
    if (atomic_fetch_sub(&c->refs, 1) == 1) {
        conf_free(proxy_config_keys, c);
        xfree(c);
    }
}

void proxy_config_static_diff(const proxy_config *a, const proxy_config *b, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    for (const conf_key *k = proxy_config_keys; k->name; k++) {
        if (k->flags & CONF_RUNTIME) continue;
        char *x = conf_format_str(k, a), *y = conf_format_str(k, b);
        if (strcmp(x, y) != 0 && n + strlen(k->name) + 3 < outlen)
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", k->name);
        xfree(x);
        xfree(y);
    }
}

const char *proxy_read_policy_name(int p)
{
    for (const conf_enum_val *e = read_policy_enum; e->name; e++)
        if (e->value == p) return e->name;
    return "master";
}
