/* shoal-node entry point: load config, open listeners, run the loop. */
#include "cluster.h"
#include "cmd.h"
#include "cmdtable.h"
#include "config.h"
#include "cron.h"
#include "db.h"
#include "log.h"
#include "mem.h"
#include "net.h"
#include "server.h"
#include "util.h"
#include <event2/event.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    log_warning("Received %s, scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server_shutdown();
}

static void write_pidfile(void)
{
    if (!cfg.pidfile || !*cfg.pidfile) return;
    FILE *f = fopen(cfg.pidfile, "w");
    if (!f) {
        log_warning("could not write pidfile %s: %s", cfg.pidfile, strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

static void on_config_change(const char *name)
{
    if (strcmp(name, "loglevel") == 0) log_set_level(cfg.loglevel);
    else if (strcmp(name, "hz") == 0) cron_set_hz((int)cfg.hz);
}

int main(int argc, char **argv)
{
    char err[512];
    if (argc >= 2 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("shoal-node v=0.1.0 (Redis 7.0.15 compatible)\n");
        return 0;
    }
    if (config_load_args(argc, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, "shoal-node: %s\n", err);
        return 1;
    }
    if (log_open(cfg.logfile) < 0) {
        fprintf(stderr, "shoal-node: cannot open log file '%s': %s\n", cfg.logfile, strerror(errno));
        return 1;
    }
    log_set_level(cfg.loglevel);
    if (cfg.dir && *cfg.dir) {
        mkdir(cfg.dir, 0755);
        if (chdir(cfg.dir) < 0) {
            fprintf(stderr, "shoal-node: cannot chdir to '%s': %s\n", cfg.dir, strerror(errno));
            return 1;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time_us());
    {
        uint8_t seed[16];
        char hex[32];
        random_hex(hex, 32);
        for (int i = 0; i < 16; i++) seed[i] = (uint8_t)(hex[2 * i] * 31 + hex[2 * i + 1]);
        hash_set_seed(seed);
    }
    random_hex(srv.runid, 40);
    srv.runid[40] = 0;
    server_update_clock();
    srv.start_ms = srv.now_ms;
    srv.lastsave = srv.now_ms / 1000;
    srv.hz = (int)cfg.hz;
    srv.listen_port = (int)cfg.port;

    cmd_table_init();
    cmd_init();
    db_init_all((int)cfg.databases);
    if (cfg.cluster_enabled) db_enable_slots();
    config_set_hook(on_config_change);

    srv.base = event_base_new();
    if (!srv.base) {
        fprintf(stderr, "shoal-node: event_base_new failed\n");
        return 1;
    }
    if (net_listen(err, sizeof(err)) < 0) {
        log_warning("%s", err);
        return 1;
    }
    if (cfg.cluster_enabled && cluster_init(err, sizeof(err)) < 0) {
        log_warning("cluster: %s", err);
        return 1;
    }
    struct event *sigint = evsignal_new(srv.base, SIGINT, on_signal, NULL);
    struct event *sigterm = evsignal_new(srv.base, SIGTERM, on_signal, NULL);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    cron_start();
    write_pidfile();
    log_notice("shoal-node started, pid=%d, port=%lld", (int)getpid(), (long long)cfg.port);
    log_notice("Ready to accept connections tcp");

    server_run_loop();

    log_notice("shoal-node is now ready to exit, bye bye...");
    net_close_listeners();
    if (cfg.pidfile && *cfg.pidfile) unlink(cfg.pidfile);
    return 0;
}
