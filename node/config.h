/* config: the node's settings. One global struct (cfg) filled at startup from
 * defaults, the YAML file and --name value options, plus CONFIG GET / SET.
 * Names, defaults, bounds and CONFIG GET formatting follow Redis 7.0; see
 * docs/config.md for every key. */
#ifndef SHOAL_NODE_CONFIG_H
#define SHOAL_NODE_CONFIG_H
#include <stddef.h>
#include "conf.h"

/* maxmemory-policy values. */
enum {
    CFG_EVICT_VOLATILE_LRU, CFG_EVICT_VOLATILE_LFU, CFG_EVICT_VOLATILE_RANDOM, CFG_EVICT_VOLATILE_TTL,
    CFG_EVICT_ALLKEYS_LRU, CFG_EVICT_ALLKEYS_LFU, CFG_EVICT_ALLKEYS_RANDOM, CFG_EVICT_NOEVICTION
};

/* client-output-buffer-limit classes, in Redis's order. */
enum { CFG_CLIENT_NORMAL, CFG_CLIENT_REPLICA, CFG_CLIENT_PUBSUB, CFG_CLIENT_CLASSES };

struct cfg_obuf_limit { long long hard, soft, soft_seconds; }; /* 0 = no limit */
struct cfg_obuf_limits { struct cfg_obuf_limit c[CFG_CLIENT_CLASSES]; };

/* save: pairs of "after <seconds> if at least <changes> writes". */
struct cfg_save_point { long long seconds, changes; };
struct cfg_save { int n; struct cfg_save_point *p; };

/* notify-keyspace-events bits (Redis's letters in brackets). */
#define CFG_NOTIFY_KEYSPACE (1 << 0)  /* K */
#define CFG_NOTIFY_KEYEVENT (1 << 1)  /* E */
#define CFG_NOTIFY_GENERIC  (1 << 2)  /* g */
#define CFG_NOTIFY_STRING   (1 << 3)  /* $ */
#define CFG_NOTIFY_LIST     (1 << 4)  /* l */
#define CFG_NOTIFY_SET      (1 << 5)  /* s */
#define CFG_NOTIFY_HASH     (1 << 6)  /* h */
#define CFG_NOTIFY_ZSET     (1 << 7)  /* z */
#define CFG_NOTIFY_EXPIRED  (1 << 8)  /* x */
#define CFG_NOTIFY_EVICTED  (1 << 9)  /* e */
#define CFG_NOTIFY_STREAM   (1 << 10) /* t */
#define CFG_NOTIFY_KEY_MISS (1 << 11) /* m (not part of A) */
#define CFG_NOTIFY_MODULE   (1 << 12) /* d */
#define CFG_NOTIFY_NEW      (1 << 13) /* n (not part of A) */
#define CFG_NOTIFY_ALL (CFG_NOTIFY_GENERIC | CFG_NOTIFY_STRING | CFG_NOTIFY_LIST | CFG_NOTIFY_SET | \
                        CFG_NOTIFY_HASH | CFG_NOTIFY_ZSET | CFG_NOTIFY_EXPIRED | CFG_NOTIFY_EVICTED | \
                        CFG_NOTIFY_STREAM | CFG_NOTIFY_MODULE) /* A */

struct node_config {
    /* network */
    long long port;
    conf_list bind;            /* addresses; a leading '-' marks one whose bind may fail */
    long long tcp_backlog, tcp_keepalive, timeout, maxclients;
    long long io_coalesce_us;  /* nap between polls while many clients are busy */
    /* process */
    char *dir, *logfile, *pidfile;
    int loglevel;              /* LOG_DEBUG..LOG_WARNING from log.h */
    int daemonize;
    char *requirepass;
    long long databases, hz;
    /* limits */
    long long proto_max_bulk_len, client_query_buffer_limit;
    struct cfg_obuf_limits obuf_limits;
    long long maxmemory;
    int maxmemory_policy;      /* CFG_EVICT_* */
    long long maxmemory_samples, lfu_log_factor, lfu_decay_time;
    long long slowlog_log_slower_than, slowlog_max_len;
    /* encodings */
    long long hash_max_listpack_entries, hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries, zset_max_listpack_value;
    long long list_max_listpack_size, list_compress_depth;
    long long hll_sparse_max_bytes;
    /* lazy free and expiry */
    int lazyfree_lazy_eviction, lazyfree_lazy_expire, lazyfree_lazy_server_del;
    int lazyfree_lazy_user_del, lazyfree_lazy_user_flush;
    long long active_expire_effort;
    int notify_keyspace_events; /* CFG_NOTIFY_* bits */
    /* persistence (stored; Shoal does not write RDB/AOF yet) */
    struct cfg_save save;
    int appendonly;
    /* cluster */
    int cluster_enabled;
    char *cluster_config_file;
    long long cluster_port;     /* 0 = port + 10000: use config_cluster_bus_port() */
    long long cluster_node_timeout;
    int cluster_require_full_coverage, cluster_allow_reads_when_down;
    char *cluster_announce_ip, *cluster_announce_hostname;
    long long cluster_announce_port, cluster_announce_bus_port;

    /* Not keys: the config file given on the command line (NULL if none). */
    char *config_file;
};

extern struct node_config cfg;
extern const conf_key config_keys[];

/* Defaults, then the file (first non "--" argument), then --name value
 * overrides. 0 ok, or -1 with "file:line: 'key': reason" in err. */
int config_load_args(int argc, char **argv, char *err, size_t errlen);
/* Free everything cfg owns (for clean exits and leak checks). */
void config_free(void);

/* CONFIG SET of one key / of n name-value pairs (all-or-nothing).
 * 0, or -1 with Redis's reply text ("ERR ...") in err. */
int config_set(const char *name, size_t nlen, const char *val, size_t vlen, char *err, size_t errlen);
int config_set_multi(int n, const char *const *names, const size_t *nlens,
                     const char *const *vals, const size_t *vlens, char *err, size_t errlen);

/* CONFIG GET: emit(ctx, name, value) for every key or alias matching the
 * glob (case-insensitive), in table order. The _multi form takes several
 * patterns and emits each name at most once, as Redis 7 does. */
void config_get(const char *pattern, size_t plen,
                void (*emit)(void *ctx, const char *name, const char *value), void *ctx);
void config_get_multi(int n, const char *const *pats, const size_t *plens,
                      void (*emit)(void *ctx, const char *name, const char *value), void *ctx);

/* Called after a CONFIG SET succeeded, once per key (canonical name). */
void config_set_hook(void (*on_change)(const char *name));
/* Optional: called for each key a CONFIG SET changed, after the values are
 * stored and before success is reported (e.g. rebind on port/bind). Return
 * -1 with a reason in why to refuse: every value is then rolled back and
 * the hook is called again for the restored keys. */
void config_set_apply_hook(int (*apply)(const char *name, char *why, size_t wlen));

/* Current value of one key as CONFIG GET shows it (xmalloc'd), or NULL. */
char *config_get_value(const char *name);
/* The cluster bus port: cluster-port, or port + 10000 when that is 0. */
long long config_cluster_bus_port(void);
/* Canonical notify-keyspace-events string for a set of CFG_NOTIFY_* bits
 * (buf >= 32 bytes), and the reverse (-1 on a bad letter). */
void config_notify_flags_to_str(int flags, char *buf);
int config_notify_flags_from_str(const char *s, size_t len);

#endif
