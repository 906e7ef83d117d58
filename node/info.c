#define _GNU_SOURCE /* RUSAGE_THREAD */
/* info: the INFO command — server, clients, memory, persistence, stats,
 * replication, cpu, modules, commandstats, errorstats, cluster, keyspace. */
#include "blocking.h"
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "errstats.h"
#include "mem.h"
#include "pubsub.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

static void human_bytes(char *out, size_t cap, double n)
{
    const char *u = "BKMGTP";
    int i = 0;
    while (n >= 1024 && i < 5) { n /= 1024; i++; }
    if (i == 0) snprintf(out, cap, "%.0fB", n);
    else snprintf(out, cap, "%.2f%c", n, u[i]);
}

static void sec_server(buf_t *b)
{
    struct utsname un;
    uname(&un);
    long long up = (srv.now_ms - srv.start_ms) / 1000;
    buf_printf(b, "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
                  "redis_build_id:shoal\r\nredis_mode:%s\r\nos:%s %s %s\r\narch_bits:64\r\n"
                  "monotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:libevent\r\n"
                  "gcc_version:%d.%d.%d\r\nprocess_id:%d\r\nprocess_supervised:no\r\nrun_id:%s\r\n"
                  "tcp_port:%lld\r\nserver_time_usec:%lld\r\nuptime_in_seconds:%lld\r\n"
                  "uptime_in_days:%lld\r\nhz:%d\r\nconfigured_hz:%lld\r\nlru_clock:%u\r\n"
                  "executable:shoal-node\r\nconfig_file:%s\r\nio_threads_active:0\r\n"
                  "shoal_version:0.1.0\r\n",
               cfg.cluster_enabled ? "cluster" : "standalone", un.sysname, un.release, un.machine,
               __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__, (int)getpid(), srv.runid, cfg.port,
               time_us(), up, up / 86400, srv.hz, cfg.hz, srv.lruclock,
               cfg.config_file ? cfg.config_file : "");
}

static void sec_clients(buf_t *b)
{
    size_t maxin = 0, maxout = 0;
    for (client *c = srv.clients; c; c = c->next) {
        if (c->qbuf.cap > maxin) maxin = c->qbuf.cap;
        if (c->obuf.len - c->obuf_written > maxout) maxout = c->obuf.len - c->obuf_written;
    }
    buf_printf(b, "# Clients\r\nconnected_clients:%zu\r\ncluster_connections:0\r\nmaxclients:%lld\r\n"
                  "client_recent_max_input_buffer:%zu\r\nclient_recent_max_output_buffer:%zu\r\n"
                  "blocked_clients:%d\r\ntracking_clients:0\r\nclients_in_timeout_table:%d\r\n",
               srv.nclients, cfg.maxclients, maxin, maxout, srv.blocked_clients, srv.blocked_clients);
}

/* Bytes held by client query/output buffers (INFO mem_clients_normal). */
static size_t client_buffers(void)
{
    size_t n = 0;
    for (client *c = srv.clients; c; c = c->next) n += c->qbuf.cap + c->obuf.cap;
    return n;
}

static void sec_memory(buf_t *b)
{
    size_t used = mem_used(), rss = mem_rss();
    char h1[32], h2[32], h3[32], h4[32], h5[32];
    if (used > srv.peak_memory) srv.peak_memory = used;
    human_bytes(h1, sizeof(h1), (double)used);
    human_bytes(h2, sizeof(h2), (double)rss);
    human_bytes(h3, sizeof(h3), (double)srv.peak_memory);
    human_bytes(h4, sizeof(h4), (double)cfg.maxmemory);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    double sysmem = pages > 0 && psize > 0 ? (double)pages * (double)psize : 0;
    human_bytes(h5, sizeof(h5), sysmem);
    static const char *pol[] = {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"};
    /* Scripting, replication and AOF don't exist here: their figures are 0. */
    buf_printf(b, "# Memory\r\nused_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
                  "used_memory_rss_human:%s\r\nused_memory_peak:%zu\r\nused_memory_peak_human:%s\r\n"
                  "used_memory_peak_perc:%.2f%%\r\nused_memory_dataset:%zu\r\n"
                  "total_system_memory:%.0f\r\ntotal_system_memory_human:%s\r\n"
                  "used_memory_lua:0\r\nused_memory_scripts:0\r\nnumber_of_cached_scripts:0\r\n"
                  "maxmemory:%lld\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\n"
                  "mem_fragmentation_ratio:%.2f\r\nmem_fragmentation_bytes:%lld\r\n"
                  "mem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_clients_slaves:0\r\n"
                  "mem_clients_normal:%zu\r\nmem_aof_buffer:0\r\n"
                  "mem_allocator:libc\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
               used, h1, rss, h2, srv.peak_memory, h3,
               srv.peak_memory ? 100.0 * (double)used / (double)srv.peak_memory : 100.0, used, sysmem, h5,
               cfg.maxmemory, h4, pol[cfg.maxmemory_policy & 7], used ? (double)rss / (double)used : 0.0,
               (long long)rss - (long long)used, client_buffers());
}

static void sec_persistence(buf_t *b)
{
    buf_printf(b, "# Persistence\r\nloading:%d\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\n"
                  "current_cow_size:0\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n"
                  "rdb_changes_since_last_save:%lld\r\n"
                  "rdb_bgsave_in_progress:0\r\nrdb_last_save_time:%lld\r\nrdb_last_bgsave_status:ok\r\n"
                  "rdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\n"
                  "aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
                  "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n"
                  "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_last_write_status:ok\r\n"
                  "module_fork_in_progress:0\r\n",
               srv.loading, srv.dirty - srv.dirty_at_save, srv.lastsave);
}

size_t pubsub_shard_channel_count(void); /* pubsub.c (not yet in pubsub.h) */

static void sec_stats(buf_t *b)
{
    server_stats *s = &srv.stat;
    buf_printf(b, "# Stats\r\ntotal_connections_received:%lld\r\ntotal_commands_processed:%lld\r\n"
                  "instantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:%lld\r\ntotal_net_output_bytes:%lld\r\n"
                  "instantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\n"
                  "rejected_connections:%lld\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\n"
                  "expired_keys:%lld\r\nexpired_stale_perc:%.2f\r\nexpired_time_cap_reached_count:0\r\n"
                  "evicted_keys:%lld\r\nevicted_clients:0\r\n"
                  "keyspace_hits:%lld\r\nkeyspace_misses:%lld\r\npubsub_channels:%zu\r\npubsub_patterns:%zu\r\n"
                  "pubsubshard_channels:%zu\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\n"
                  "tracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\n"
                  "unexpected_error_replies:%lld\r\ntotal_error_replies:%lld\r\ndump_payload_sanitizations:0\r\n"
                  "total_reads_processed:%lld\r\ntotal_writes_processed:%lld\r\n"
                  "io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\n"
                  "client_query_buffer_limit_disconnections:%lld\r\nclient_output_buffer_limit_disconnections:%lld\r\n"
                  "blocked_keys_served:%lld\r\npropagated_commands:%lld\r\nio_coalesce_naps:%lld\r\n",
               s->connections, s->commands, s->net_input_bytes, s->net_output_bytes, s->rejected_conns,
               s->expired_keys, (double)s->expired_stale_perc, s->evicted_keys, s->keyspace_hits,
               s->keyspace_misses, pubsub_channel_count(), pubsub_pattern_count(), pubsub_shard_channel_count(),
               s->unexpected_error_replies, s->error_replies, s->total_reads, s->total_writes,
               s->client_qbuf_limit_disconnections, s->client_obuf_limit_disconnections, s->blocked_keys_served,
               cmd_propagated_count(), s->io_coalesce_naps);
}

static void sec_replication(buf_t *b)
{
    buf_printf(b, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
                  "master_replid:%s\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n"
                  "master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
                  "repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
               srv.runid);
}

static void sec_cpu(buf_t *b)
{
    struct rusage self, kids, main_thread;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    getrusage(RUSAGE_THREAD, &main_thread); /* called from the event loop's thread */
    buf_printf(b, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n"
                  "used_cpu_sys_children:%ld.%06ld\r\nused_cpu_user_children:%ld.%06ld\r\n"
                  "used_cpu_sys_main_thread:%ld.%06ld\r\nused_cpu_user_main_thread:%ld.%06ld\r\n",
               (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
               (long)self.ru_utime.tv_usec, (long)kids.ru_stime.tv_sec, (long)kids.ru_stime.tv_usec,
               (long)kids.ru_utime.tv_sec, (long)kids.ru_utime.tv_usec, (long)main_thread.ru_stime.tv_sec,
               (long)main_thread.ru_stime.tv_usec, (long)main_thread.ru_utime.tv_sec,
               (long)main_thread.ru_utime.tv_usec);
}

static void stats_line(buf_t *b, const cmd_meta *m)
{
    cmd_stats *st = cmd_stats_of(m);
    if (!st->calls && !st->rejected && !st->failed) return;
    char name[96];
    cmd_fullname(m, name, sizeof(name));
    buf_printf(b, "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,failed_calls=%lld\r\n",
               name, st->calls, st->usec, st->calls ? (double)st->usec / (double)st->calls : 0.0, st->rejected,
               st->failed);
}

static void sec_commandstats(buf_t *b)
{
    buf_append_str(b, "# Commandstats\r\n");
    for (int i = 0; i < cmd_table_len; i++) {
        const cmd_meta *m = &cmd_table[i];
        stats_line(b, m);
        for (int k = 0; k < m->subcmds_n; k++) stats_line(b, &m->subcmds[k]);
    }
}

static void sec_errorstats(buf_t *b)
{
    buf_append_str(b, "# Errorstats\r\n");
    errstats_info(b);
}

static void sec_cluster(buf_t *b)
{
    buf_printf(b, "# Cluster\r\ncluster_enabled:%d\r\n", cfg.cluster_enabled ? 1 : 0);
}

/* avg_ttl: Redis keeps a running estimate from the keys its expiry cycle
 * samples; a fresh sample of the expires table gives the same kind of
 * figure without a hook in the cron. */
static long long estimate_avg_ttl(db *d)
{
    if (d->avg_ttl) return d->avg_ttl;
    kv *pick[64];
    int n = kvt_sample(d->expires, pick, 64);
    long long sum = 0, cnt = 0;
    for (int i = 0; i < n; i++) {
        long long ttl = (long long)(intptr_t)pick[i]->val - srv.now_ms;
        if (ttl > 0) {
            sum += ttl;
            cnt++;
        }
    }
    return cnt ? sum / cnt : 0;
}

static void sec_keyspace(buf_t *b)
{
    buf_append_str(b, "# Keyspace\r\n");
    for (int i = 0; i < db_count(); i++) {
        db *d = db_get(i);
        if (!db_size(d)) continue;
        buf_printf(b, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld\r\n", i, db_size(d), db_expires_count(d),
                   db_expires_count(d) ? estimate_avg_ttl(d) : 0);
    }
}

static void sec_modules(buf_t *b) { buf_append_str(b, "# Modules\r\n"); }

typedef struct info_section {
    const char *name;
    void (*fn)(buf_t *);
    int in_default;
} info_section;

static const info_section sections[] = {
    {"server", sec_server, 1},       {"clients", sec_clients, 1},   {"memory", sec_memory, 1},
    {"persistence", sec_persistence, 1}, {"stats", sec_stats, 1}, {"replication", sec_replication, 1},
    {"cpu", sec_cpu, 1},             {"modules", sec_modules, 1},   {"commandstats", sec_commandstats, 0},
    {"errorstats", sec_errorstats, 1}, {"cluster", sec_cluster, 1}, {"keyspace", sec_keyspace, 1},
};
#define NSECTIONS ((int)(sizeof(sections) / sizeof(sections[0])))

/* INFO text for the given section names (argv views); argc 0 = default. */
void info_build(buf_t *b, int argc, const char **argv, const size_t *argvlen)
{
    int want[NSECTIONS] = {0};
    if (argc == 0) {
        for (int i = 0; i < NSECTIONS; i++) want[i] = sections[i].in_default;
    }
    for (int a = 0; a < argc; a++) {
        if (arg_is(argv[a], argvlen[a], "all") || arg_is(argv[a], argvlen[a], "everything")) {
            for (int i = 0; i < NSECTIONS; i++) want[i] = 1;
        } else if (arg_is(argv[a], argvlen[a], "default")) {
            for (int i = 0; i < NSECTIONS; i++) want[i] |= sections[i].in_default;
        } else {
            for (int i = 0; i < NSECTIONS; i++)
                if (arg_is(argv[a], argvlen[a], sections[i].name)) want[i] = 1;
        }
    }
    int first = 1;
    for (int i = 0; i < NSECTIONS; i++) {
        if (!want[i]) continue;
        if (!first) buf_append(b, "\r\n", 2);
        first = 0;
        sections[i].fn(b);
    }
}

static void info_cmd(client *c)
{
    buf_t b;
    buf_init(&b);
    info_build(&b, c->argc - 1, c->argv + 1, c->argvlen + 1);
    reply_verbatim(c, b.p ? b.p : "", b.len);
    buf_free(&b);
}

const cmd_binding info_commands[] = {
    {"info", info_cmd},
    {NULL, NULL},
};
