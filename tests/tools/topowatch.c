/* topowatch: runs the proxy's topology observer (proxy/topology.c) alone and
 * prints what it learns, for tests/integration/test_topology.py.
 *
 *   topowatch [options] host:port[@busport] ...
 *     --seconds N            stop after N seconds (default 10; 0 = until SIGTERM)
 *     --interval-ms N        ping interval (default 100)
 *     --fallback-ms N  --forget-ms N  --pong-timeout-ms N  --connect-timeout-ms N
 *     --redis-timeout-ms N   bootstrap timeouts
 *     --verbose              observer log lines on stderr
 *     --describe             print the PROXY TOPOLOGY text on stderr at the end
 *
 * stdout, one JSON object per line:
 *   {"event":"start","observer_id":...}
 *   {"event":"map","version":..,"source":..,"created_ms":..,"current_epoch":..,
 *    "nodes":[{"id","ip","port","cport","role","master","epoch","flags":[..],
 *              "slots":[[a,b],..],"replicas":[id,..]}],
 *    "ranges":[[start,end,owner-id-or-null],..]}     (each time the map changes)
 *   {"event":"refresh"}                              (after SIGUSR1 -> topology_refresh_now)
 *   {"event":"stats",...,"reader_checks":N,"reader_errors":N}   (at exit)
 * The main thread also reads the map through a worker-style reader slot
 * every few milliseconds and counts inconsistencies (reader_errors). */
#define _GNU_SOURCE
#include "topology.h"
#include "buf.h"
#include "log.h"
#include "mem.h"
#include "util.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_stop, got_refresh;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) got_refresh = 1;
    else got_stop = 1;
}

static void emit(buf_t *b)
{
    buf_append(b, "\n", 1);
    fwrite(buf_rptr(b), 1, buf_unread(b), stdout);
    fflush(stdout);
}

/* IDs are hex and IPs are address text: nothing to escape but be safe. */
static void json_str(buf_t *b, const char *s)
{
    buf_append(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') buf_printf(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) buf_printf(b, "\\u%04x", *s);
        else buf_append(b, s, 1);
    }
    buf_append(b, "\"", 1);
}

static void on_publish(const slotmap *m, void *arg)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b, "{\"event\":\"map\",\"version\":%llu,\"source\":", (unsigned long long)m->version);
    json_str(&b, m->source);
    buf_printf(&b, ",\"created_ms\":%lld,\"current_epoch\":%llu,\"nodes\":[",
               m->created_ms, (unsigned long long)m->current_epoch);
    for (uint32_t i = 0; i < m->n_nodes; i++) {
        const slotmap_node *n = &m->nodes[i];
        buf_append_str(&b, i ? ",{\"id\":" : "{\"id\":");
        json_str(&b, n->id);
        buf_append_str(&b, ",\"ip\":");
        json_str(&b, n->ip);
        buf_printf(&b, ",\"port\":%u,\"cport\":%u,\"role\":\"%s\",\"master\":", n->port, n->cport,
                   n->role == SLOTMAP_MASTER ? "master" : "replica");
        if (n->role == SLOTMAP_REPLICA && n->master_id[0]) json_str(&b, n->master_id);
        else buf_append_str(&b, "null");
        buf_printf(&b, ",\"master_known\":%s,\"epoch\":%llu,\"flags\":[",
                   n->master >= 0 ? "true" : "false", (unsigned long long)n->config_epoch);
        const char *names[] = { "fail?", "fail", "noreply" };
        const uint8_t bits[] = { SLOTMAP_F_PFAIL, SLOTMAP_F_FAIL, SLOTMAP_F_NOREPLY };
        int any = 0;
        for (int k = 0; k < 3; k++)
            if (n->flags & bits[k]) {
                buf_printf(&b, "%s\"%s\"", any ? "," : "", names[k]);
                any = 1;
            }
        buf_append_str(&b, "],\"slots\":[");
        int from = 0, first = 1;
        slotmap_range r;
        while (n->n_slots && slotmap_next_range(m, &from, &r)) {
            if (r.node != (int)i) continue;
            buf_printf(&b, "%s[%d,%d]", first ? "" : ",", r.start, r.end);
            first = 0;
        }
        buf_append_str(&b, "],\"replicas\":[");
        for (uint32_t k = 0; k < n->n_replicas; k++) {
            if (k) buf_append(&b, ",", 1);
            json_str(&b, m->nodes[n->replicas[k]].id);
        }
        buf_append_str(&b, "]}");
    }
    buf_append_str(&b, "],\"ranges\":[");
    int from = 0, first = 1;
    slotmap_range r;
    while (slotmap_next_range(m, &from, &r)) {
        buf_printf(&b, "%s[%d,%d,", first ? "" : ",", r.start, r.end);
        if (r.node >= 0) json_str(&b, m->nodes[r.node].id);
        else buf_append_str(&b, "null");
        buf_append(&b, "]", 1);
        first = 0;
    }
    buf_append_str(&b, "]}");
    emit(&b);
    buf_free(&b);
}

static void usage(void)
{
    fprintf(stderr, "usage: topowatch [--seconds N] [--interval-ms N] [--fallback-ms N] [--forget-ms N]\n"
                    "                 [--pong-timeout-ms N] [--connect-timeout-ms N] [--redis-timeout-ms N]\n"
                    "                 [--verbose] [--describe] host:port[@busport] ...\n");
    exit(2);
}

static int num_arg(const char *s)
{
    long long v = 0;
    if (!s || !str_to_ll(s, strlen(s), &v) || v < 0 || v > 86400000) usage();
    return (int)v;
}

/* A snapshot read through the worker path must be internally consistent. */
static int check_map(const slotmap *m)
{
    for (int s = 0; s < SLOTMAP_NSLOTS; s += 61) {
        int x = slotmap_owner_index(m, (unsigned)s);
        if (x >= (int)m->n_nodes || (x >= 0 && m->nodes[x].role != SLOTMAP_MASTER)) return 0;
    }
    for (uint32_t i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].master >= (int)m->n_nodes) return 0;
    return 1;
}

int main(int argc, char **argv)
{
    topology_config cfg;
    topology_config_init(&cfg);
    int seconds = 10, describe = 0;
    const char **seeds = xcalloc((size_t)argc, sizeof(char *));
    int n_seeds = 0;
    log_set_level(LOG_WARNING);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--seconds")) seconds = num_arg(argv[++i]);
        else if (!strcmp(a, "--interval-ms")) cfg.ping_interval_ms = num_arg(argv[++i]);
        else if (!strcmp(a, "--fallback-ms")) cfg.fallback_ms = num_arg(argv[++i]);
        else if (!strcmp(a, "--forget-ms")) cfg.forget_ms = num_arg(argv[++i]);
        else if (!strcmp(a, "--pong-timeout-ms")) cfg.pong_timeout_ms = num_arg(argv[++i]);
        else if (!strcmp(a, "--connect-timeout-ms")) cfg.connect_timeout_ms = num_arg(argv[++i]);
        else if (!strcmp(a, "--redis-timeout-ms")) cfg.redis_timeout_ms = num_arg(argv[++i]);
        else if (!strcmp(a, "--verbose")) log_set_level(LOG_VERBOSE);
        else if (!strcmp(a, "--describe")) describe = 1;
        else if (a[0] == '-') usage();
        else seeds[n_seeds++] = a;
    }
    if (n_seeds == 0) usage();
    cfg.seeds = seeds;
    cfg.n_seeds = n_seeds;
    cfg.max_readers = 2;
    cfg.on_publish = on_publish;

    char err[256];
    topology *t = topology_new(&cfg, err, sizeof(err));
    if (!t) {
        fprintf(stderr, "topowatch: %s\n", err);
        xfree(seeds);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    buf_t b;
    buf_init(&b);
    buf_printf(&b, "{\"event\":\"start\",\"observer_id\":\"%s\",\"pid\":%d}", topology_observer_id(t), (int)getpid());
    emit(&b);
    if (topology_start(t) != 0) {
        fprintf(stderr, "topowatch: cannot start the observer\n");
        return 1;
    }
    slotmap_reader *r = topology_reader_register(t);
    long long deadline = mono_us() + (long long)seconds * 1000000;
    long reader_checks = 0, reader_errors = 0;
    uint64_t last_version = 0;
    while (!got_stop && (seconds == 0 || mono_us() < deadline)) {
        if (got_refresh) {
            got_refresh = 0;
            topology_refresh_now(t);
            buf_reset(&b, 4096);
            buf_append_str(&b, "{\"event\":\"refresh\"}");
            emit(&b);
        }
        const slotmap *m = slotmap_read_begin(r);
        if (m) {
            reader_checks++;
            if (m->version < last_version || !check_map(m)) reader_errors++;
            last_version = m->version;
        }
        slotmap_read_end(r);
        usleep(5000);
    }
    slotmap_reader_unregister(r);
    topology_stop(t);

    topology_stats s;
    topology_get_stats(t, &s);
    buf_reset(&b, 4096);
    buf_printf(&b, "{\"event\":\"stats\",\"pings_sent\":%llu,\"pongs_received\":%llu,\"connects\":%llu,"
               "\"connect_failures\":%llu,\"link_drops\":%llu,\"frame_errors\":%llu,"
               "\"decode_errors\":%llu,\"bootstraps\":%llu,\"bootstrap_failures\":%llu,"
               "\"publishes\":%llu,\"refreshes\":%llu,\"known_nodes\":%llu,"
               "\"reader_checks\":%ld,\"reader_errors\":%ld}",
               (unsigned long long)s.pings_sent, (unsigned long long)s.pongs_received,
               (unsigned long long)s.connects, (unsigned long long)s.connect_failures,
               (unsigned long long)s.link_drops, (unsigned long long)s.frame_errors,
               (unsigned long long)s.decode_errors, (unsigned long long)s.bootstraps,
               (unsigned long long)s.bootstrap_failures, (unsigned long long)s.publishes,
               (unsigned long long)s.refreshes, (unsigned long long)s.known_nodes,
               reader_checks, reader_errors);
    emit(&b);
    if (describe) {
        buf_reset(&b, 4096);
        topology_describe(t, &b);
        fwrite(buf_rptr(&b), 1, buf_unread(&b), stderr);
    }
    buf_free(&b);
    topology_free(t);
    xfree(seeds);
    return 0;
}
