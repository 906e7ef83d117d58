/* config: shoal-proxy's settings (key table for common/conf.c), loaded from
 * configs/proxy.yaml-style files and `--name value` options, and published
 * to the workers as immutable, reference-counted snapshots so that SIGHUP
 * can swap in a new one without locks on the request path. */
#ifndef SHOAL_PROXY_CONFIG_H
#define SHOAL_PROXY_CONFIG_H
#include <stdatomic.h>
#include "conf.h"

enum { PROXY_READ_MASTER = 0, PROXY_READ_PREFER_REPLICA, PROXY_READ_REPLICA };

typedef struct proxy_obuf_limit {
    long long hard, soft, soft_seconds;
} proxy_obuf_limit;

/* client-output-buffer-limit: normal clients and pub/sub (leased) clients. */
typedef struct proxy_obuf_limits {
    proxy_obuf_limit normal, pubsub;
} proxy_obuf_limits;

typedef struct proxy_config {
    /* network (restart to change) */
    conf_list bind;
    long long port;
    long long threads;              /* 0: one per core */
    long long maxclients;
    /* cluster (restart to change) */
    conf_list seeds;
    long long topology_interval_ms;
    long long backend_connections;
    /* runtime (SIGHUP) */
    long long connect_timeout_ms;
    long long request_timeout_ms;   /* 0: none */
    long long max_redirects;
    long long retry_max_ms;
    char *requirepass;
    char *backend_user;
    char *backend_password;
    int read_policy;
    long long proto_max_bulk_len;
    proxy_obuf_limits obuf;
    long long timeout;              /* idle client timeout, seconds; 0: none */
    long long io_coalesce_us;       /* worker nap under many -P1 clients; 0: off */
    int loglevel;
    char *logfile;
    char *pidfile;
    /* not a key: snapshot reference count */
    atomic_int refs;
} proxy_config;

extern const conf_key proxy_config_keys[];

/* Defaults, then the file (argv[1] unless it starts with "--"), then the
 * --name value options. Returns a new snapshot (refs = 1), or NULL with
 * the reason in err. *path_out gets the file path or NULL. */
proxy_config *proxy_config_load(int argc, char **argv, const char **path_out,
                                char *err, size_t errlen);
void proxy_config_ref(proxy_config *c);
void proxy_config_unref(proxy_config *c);

/* Names of keys whose value differs between a and b but that apply only at
 * start; written comma-separated to out (empty when none). */
void proxy_config_static_diff(const proxy_config *a, const proxy_config *b,
                              char *out, size_t outlen);

const char *proxy_read_policy_name(int p);

#endif
