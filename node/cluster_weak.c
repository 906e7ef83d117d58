/* cluster_weak: TEMPORARY weak placeholders so the tree links while the
 * cluster modules are being written in parallel. Real definitions in
 * cluster_state.c / cluster_bus.c / cluster_fail.c / cluster_persist.c /
 * cluster_redir.c override these. Deleted once all of them exist. */
#include "cluster.h"
#define W __attribute__((weak))
W cluster_state *cluster;
W int cluster_init(char *err, size_t errlen) { return -1; }
W cluster_node *cluster_node_new(const char *name, uint16_t flags) { return NULL; }
W void cluster_node_free(cluster_node *n) {}
W cluster_node *cluster_lookup(const char *name, size_t len) { return NULL; }
W int cluster_add_node(cluster_node *n) { return -1; }
W void cluster_del_node(cluster_node *n) {}
W void cluster_rename_node(cluster_node *n, const char *newname) {}
W int cluster_add_slot(cluster_node *n, int slot) { return -1; }
W int cluster_del_slot(int slot) { return -1; }
W void cluster_del_node_slots(cluster_node *n) {}
W void cluster_set_master(cluster_node *replica, cluster_node *master) {}
W void cluster_set_node_as_master(cluster_node *n) {}
W int cluster_count_known_nodes(void) { return 0; }
W void cluster_update_slots_config(cluster_node *s, uint64_t e, const uint8_t *slots) {}
W void cluster_handle_epoch_collision(cluster_node *sender) {}
W int cluster_bump_epoch_without_consensus(void) { return 0; }
W void cluster_update_state(void) {}
W void cluster_do_before_sleep(void) {}
W void cluster_todo(int flags) {}
W const char *cluster_node_endpoint(const cluster_node *n) { return ""; }
W int cluster_myself_is_master(void) { return 1; }
W void cluster_del_keys_in_slot(int slot) {}
W int cluster_bus_listen(char *err, size_t errlen) { return -1; }
W void cluster_cron(void) {}
W int cluster_start_handshake(const char *ip, int port, int cport) { return -1; }
W void cluster_broadcast_pong(void) {}
W void cluster_broadcast_fail(cluster_node *n) {}
W void cluster_send_update(cluster_link *l, cluster_node *n) {}
W void cluster_propagate_publish(const char *ch, size_t chlen, const char *msg, size_t msglen, int sharded) {}
W void cluster_link_free(cluster_link *l) {}
W void cluster_free_node_links(cluster_node *n) {}
W void cluster_reply_links(struct client *c) {}
W int cluster_fail_report_add(cluster_node *f, cluster_node *r) { return 0; }
W void cluster_fail_report_del(cluster_node *f, cluster_node *r) {}
W int cluster_fail_report_count(cluster_node *n) { return 0; }
W void cluster_mark_failing_if_needed(cluster_node *n) {}
W void cluster_clear_fail_if_needed(cluster_node *n) {}
W void cluster_check_pfail(void) {}
W int cluster_load_config(const char *path, char *err, size_t errlen) { return 0; }
W int cluster_save_config(int do_fsync) { return 0; }
W void cluster_nodes_text(buf_t *out, int for_config) {}
W cluster_node *cluster_get_node_by_query(struct client *c, const struct cmd_meta *cmd, int argc,
                                          const char **argv, const size_t *argvlen, int *slot, int *err_code)
{
    *err_code = REDIR_NONE;
    return NULL;
}
W void cluster_reply_redirect(struct client *c, cluster_node *n, int slot, int err_code) {}
