/* main: shoal-proxy's entry point. Loads the configuration, starts the
 * topology observer (proxy/topology.c) and the worker threads, then waits
 * for signals on the main thread: SIGHUP reloads the runtime keys (a bad
 * file is refused with the reason and the running configuration stays),
 * SIGINT/SIGTERM stop the proxy. */
#include "config.h"
#include "log.h"
#include "mem.h"
#include "router.h"
#include "topology.h"
#include "util.h"
#include "worker.h"
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After this long without a first slot map, start-up logs a warning. */
#define READY_WAIT_MS 5000

static int saved_argc;
static char **saved_argv;
static struct event_base *main_base;

static void on_ready_check(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd; (void)ev; (void)arg;
    if (!topology_wait_ready(psrv.topo, 0))
        log_warning("no slot map after %d ms (seeds unreachable?): requests wait for one, within their "
                    "retry budget", READY_WAIT_MS);
}

static void on_publish(const slotmap *m, void *arg)
{
    atomic_fetch_add(&psrv.topology_changes, 1);
    log_verbose("slot map v%llu published (%s, %u nodes)", (unsigned long long)m->version, m->source, m->n_nodes);
    /* Requests waiting for a node may have one now. */
    for (int k = 0; k < psrv.n_workers; k++) worker_notify(psrv.workers[k], WN_MAP);
}

static void reload(void)
{
    char err[512], diff[512];
    const char *path = NULL;
    proxy_config *nc = proxy_config_load(saved_argc, saved_argv, &path, err, sizeof(err));
    if (!nc) {
        log_warning("SIGHUP: reload refused, the running configuration stays: %s", err);
        return;
    }
    proxy_config_static_diff(psrv.boot_cfg, nc, diff, sizeof(diff));
    if (diff[0]) log_warning("SIGHUP: %s changed; these apply only at start (restart to change them)", diff);
    log_set_level(nc->loglevel);
    proxy_config *old = atomic_exchange(&psrv.cfg, nc);
    for (int k = 0; k < psrv.n_workers; k++) worker_notify(psrv.workers[k], WN_CONFIG);
    proxy_config_unref(old);
    log_notice("configuration reloaded%s%s", path ? " from " : "", path ? path : "");
}

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
    if (sig == SIGHUP) {
        reload();
        return;
    }
    log_notice("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&psrv.stopping, 1);
    event_base_loopbreak(main_base);
}

/* Start-up failure: to the log, and to stderr too when the log is a file. */
static int fail_start(const char *msg)
{
    log_warning("shoal-proxy: %s", msg);
    const proxy_config *cfg = psrv.boot_cfg;
    if (cfg && cfg->logfile[0]) fprintf(stderr, "shoal-proxy: %s\n", msg);
    return 1;
}

static void write_pidfile(const char *path)
{
    if (!path || !*path) return;
    FILE *f = fopen(path, "w");
    if (!f) {
        log_warning("cannot write pidfile %s: %s", path, strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

int main(int argc, char **argv)
{
    char err[512];
    const char *path = NULL;
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("Usage: shoal-proxy [/path/to/proxy.yaml] [--name value ...]\n"
               "       e.g. shoal-proxy configs/proxy.yaml --port 7777 --seeds 127.0.0.1:7000,127.0.0.1:7001\n");
        return 0;
    }
    proxy_config *cfg = proxy_config_load(argc, argv, &path, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "shoal-proxy: %s\n", err);
        return 1;
    }
    saved_argc = argc;
    saved_argv = argv;
    log_set_role('X');
    if (log_open(cfg->logfile) < 0) {
        fprintf(stderr, "shoal-proxy: cannot open logfile %s: %s\n", cfg->logfile, strerror(errno));
        return 1;
    }
    log_set_level(cfg->loglevel);

    atomic_init(&psrv.cfg, cfg);
    proxy_config_ref(cfg);
    psrv.boot_cfg = cfg;
    psrv.config_path = path;
    psrv.start_ms = time_ms();
    atomic_init(&psrv.next_client_id, 1);
    random_hex(psrv.node_id, 40);
    psrv.node_id[40] = 0;
    ssize_t en = readlink("/proc/self/exe", psrv.executable, sizeof(psrv.executable) - 1);
    if (en > 0) psrv.executable[en] = 0;

    cmd_table_init();
    router_init();

    long nthreads = cfg->threads;
    if (nthreads <= 0) nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads <= 0) nthreads = 1;
    if (nthreads > 64) nthreads = 64;

    /* Signals go to the main thread only: block them before any thread is
     * created (threads inherit the mask), unblock here afterwards. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    topology_config tc;
    topology_config_init(&tc);
    tc.seeds = (const char *const *)cfg->seeds.v;
    tc.n_seeds = cfg->seeds.n;
    tc.ping_interval_ms = (int)cfg->topology_interval_ms;
    tc.connect_timeout_ms = (int)cfg->connect_timeout_ms;
    tc.max_readers = (int)nthreads + 4;
    tc.username = cfg->backend_user[0] ? cfg->backend_user : NULL;
    tc.password = cfg->backend_password[0] ? cfg->backend_password : NULL;
    tc.on_publish = on_publish;
    psrv.topo = topology_new(&tc, err, sizeof(err));
    if (!psrv.topo) return fail_start(err);

    if (worker_probe_listen(cfg, err, sizeof(err)) < 0) return fail_start(err);
    psrv.workers = xcalloc((size_t)nthreads, sizeof(proxy_worker *));
    for (int i = 0; i < nthreads; i++) {
        psrv.workers[i] = worker_new(i, cfg, err, sizeof(err));
        if (!psrv.workers[i]) return fail_start(err);
        psrv.n_workers = i + 1;
    }
    if (topology_start(psrv.topo) < 0) return fail_start("cannot start the topology observer");
    /* Serve at once: PING, INFO & co. work without a cluster, and requests
     * wait (within their retry budget) for the first map, which wakes them. */
    for (int i = 0; i < psrv.n_workers; i++) {
        if (worker_start(psrv.workers[i]) < 0) return fail_start("cannot start a worker thread");
    }
    write_pidfile(cfg->pidfile);
    log_notice("shoal-proxy %s ready on port %lld with %d worker threads (node id %s)", "0.1.0", cfg->port,
               psrv.n_workers, psrv.node_id);

    main_base = event_base_new();
    struct event *sh = evsignal_new(main_base, SIGHUP, on_signal, NULL);
    struct event *si = evsignal_new(main_base, SIGINT, on_signal, NULL);
    struct event *st = evsignal_new(main_base, SIGTERM, on_signal, NULL);
    /* A timer, not a wait: SIGTERM must work at once even with no seed up. */
    struct event *rc = evtimer_new(main_base, on_ready_check, NULL);
    struct timeval ready_tv = {READY_WAIT_MS / 1000, (READY_WAIT_MS % 1000) * 1000};
    event_add(sh, NULL);
    event_add(si, NULL);
    event_add(st, NULL);
    event_add(rc, &ready_tv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    event_base_dispatch(main_base);

    /* Stop every worker before freeing any (CLIENT LIST reads them all). */
    for (int i = 0; i < psrv.n_workers; i++) worker_notify(psrv.workers[i], WN_STOP);
    for (int i = 0; i < psrv.n_workers; i++) worker_stop(psrv.workers[i]);
    topology_stop(psrv.topo);
    for (int i = 0; i < psrv.n_workers; i++) worker_join_free(psrv.workers[i]);
    topology_free(psrv.topo);
    event_free(sh);
    event_free(si);
    event_free(st);
    event_free(rc);
    event_base_free(main_base);
    if (cfg->pidfile[0]) unlink(cfg->pidfile);
    proxy_config *cur = atomic_load(&psrv.cfg);
    proxy_config_unref(cur);
    proxy_config_unref(psrv.boot_cfg);
    xfree(psrv.workers);
    log_notice("shoal-proxy stopped");
    return 0;
}
