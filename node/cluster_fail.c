/* cluster_fail: failure detection (§8.1-8.3 of shared/bus-protocol.md).
 *
 * PFAIL is a local suspicion: a ping pending longer than the node timeout
 * with no data from the node either. Masters gossip their suspicions; each
 * one becomes a timestamped failure report on the suspected node. Once a
 * majority of slot-serving masters (counting ourselves if we are a master)
 * reported it within 2 x node timeout, the node is FAIL and we broadcast
 * that. FAIL is undone when the node answers again, with a delay for
 * masters that still own slots (nobody failed them over). */
#include "cluster.h"
#include "config.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "server.h"
#include <string.h>

/* Reports live twice the node timeout: with ~N/10 gossip entries per
 * packet and several packets per node pair in that window, a majority of
 * masters gets to report a failed node before its reports expire. */
#define FAIL_REPORT_VALIDITY_MULT 2
/* A master with slots stays FAIL this long before a reply clears it. */
#define FAIL_UNDO_TIME_MULT 2

static long long node_timeout(void)
{
    return cfg.cluster_node_timeout > 0 ? cfg.cluster_node_timeout : 15000;
}

static void cleanup_reports(cluster_node *n)
{
    long long maxage = node_timeout() * FAIL_REPORT_VALIDITY_MULT;
    int j = 0;
    for (int i = 0; i < n->nreports; i++)
        if (srv.now_ms - n->reports[i].time_ms <= maxage) n->reports[j++] = n->reports[i];
    n->nreports = j;
    if (j == 0) {
        xfree(n->reports);
        n->reports = NULL;
    }
}

int cluster_fail_report_add(cluster_node *failing, cluster_node *reporter)
{
    for (int i = 0; i < failing->nreports; i++) {
        if (failing->reports[i].reporter == reporter) {
            failing->reports[i].time_ms = srv.now_ms;
            return 0;
        }
    }
    failing->reports = xrealloc(failing->reports, sizeof(*failing->reports) * (size_t)(failing->nreports + 1));
    failing->reports[failing->nreports].reporter = reporter;
    failing->reports[failing->nreports].time_ms = srv.now_ms;
    failing->nreports++;
    return 1;
}

void cluster_fail_report_del(cluster_node *failing, cluster_node *reporter)
{
    for (int i = 0; i < failing->nreports; i++) {
        if (failing->reports[i].reporter != reporter) continue;
        memmove(&failing->reports[i], &failing->reports[i + 1],
                sizeof(*failing->reports) * (size_t)(failing->nreports - i - 1));
        failing->nreports--;
        cleanup_reports(failing);
        return;
    }
}

int cluster_fail_report_count(cluster_node *n)
{
    cleanup_reports(n);
    return n->nreports;
}

void cluster_mark_failing_if_needed(cluster_node *n)
{
    if (!(n->flags & BUS_NODE_PFAIL)) return;   /* we can reach it */
    if (n->flags & BUS_NODE_FAIL) return;
    int quorum = cluster->size / 2 + 1;
    int failures = cluster_fail_report_count(n);
    /* Our own PFAIL counts as a vote when we are a master. */
    if (cluster_myself_is_master()) failures++;
    if (failures < quorum) return;

    log_notice("Marking node %.40s as failing (quorum reached).", n->name);
    n->flags &= ~BUS_NODE_PFAIL;
    n->flags |= BUS_NODE_FAIL;
    n->fail_time_ms = srv.now_ms;
    /* Replicas broadcast too: they only relay what masters agreed on. */
    cluster_broadcast_fail(n);
    cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE_CONFIG);
}

void cluster_clear_fail_if_needed(cluster_node *n)
{
    if (!(n->flags & BUS_NODE_FAIL)) return;
    if ((n->flags & BUS_NODE_SLAVE) || n->numslots == 0) {
        log_notice("Clear FAIL state for node %.40s: %s is reachable again.", n->name,
                   (n->flags & BUS_NODE_SLAVE) ? "replica" : "master without slots");
        n->flags &= ~BUS_NODE_FAIL;
        cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE_CONFIG);
        return;
    }
    /* A master that still owns its slots after a while: nobody failed it
     * over, so serving again beats staying down. */
    if ((n->flags & BUS_NODE_MASTER) && n->numslots > 0 &&
        srv.now_ms - n->fail_time_ms > node_timeout() * FAIL_UNDO_TIME_MULT) {
        log_notice("Clear FAIL state for node %.40s: is reachable again and nobody is serving its slots after some time.",
                   n->name);
        n->flags &= ~BUS_NODE_FAIL;
        cluster_todo(CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE_CONFIG);
    }
}

void cluster_check_pfail(void)
{
    long long timeout = node_timeout();
    kvt_iter it;
    kv *e;
    kvt_iter_init(&it, cluster->nodes);
    while ((e = kvt_iter_next(&it)) != NULL) {
        cluster_node *n = e->val;
        if (n->flags & (BUS_NODE_MYSELF | BUS_NODE_NOADDR | BUS_NODE_HANDSHAKE)) continue;
        if (n->ping_sent_ms == 0) continue;
        /* Any data on the bus proves liveness: a busy link may delay PONGs. */
        long long ping_delay = srv.now_ms - n->ping_sent_ms;
        long long data_delay = srv.now_ms - n->data_received_ms;
        long long delay = ping_delay < data_delay ? ping_delay : data_delay;
        if (delay > timeout && !(n->flags & (BUS_NODE_PFAIL | BUS_NODE_FAIL))) {
            log_debug("*** NODE %.40s possibly failing", n->name);
            n->flags |= BUS_NODE_PFAIL;
            cluster_todo(CLUSTER_TODO_UPDATE_STATE);
        }
    }
}
