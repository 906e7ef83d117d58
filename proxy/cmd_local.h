/* cmd_local: the commands shoal-proxy answers itself (PING, ECHO, QUIT,
 * SELECT, HELLO, AUTH, RESET, CLIENT ..., COMMAND ..., INFO, ROLE,
 * CLUSTER SLOTS/SHARDS/NODES/INFO/KEYSLOT/MYID as a one-node cluster that
 * owns every slot, and PROXY ...). */
#ifndef SHOAL_PROXY_CMD_LOCAL_H
#define SHOAL_PROXY_CMD_LOCAL_H
#include "buf.h"
#include "client.h"
#include "proxy.h"

/* Run a PROXY_ROUTE_LOCAL command (arity and auth already checked), writing
 * its reply to out in the client's protocol. *close_after is set when the
 * connection must close once the reply is written (QUIT). */
void local_exec(proxy_client *c, const proxy_cmd *cmd, buf_t *out, int *close_after);
/* PROXY <subcommand> (not a Redis command, so not in the command table). */
void local_proxy_cmd(proxy_client *c, int argc, const char *const *argv, const size_t *lens, buf_t *out);

#endif
