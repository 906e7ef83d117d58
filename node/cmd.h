/* cmd: command dispatch — lookup in the shared table, arity/auth/mode
 * checks, MULTI queueing, execution, statistics, and the hand-off of
 * every write to the propagation point. */
#ifndef SHOAL_CMD_H
#define SHOAL_CMD_H
#include "client.h"
#include "cmdtable.h"

typedef void (*cmd_handler)(client *c);

/* Each t_*.c / *_cmd.c exports a NULL-terminated array of these; the
 * names are command full names ("get", "config|get"). */
typedef struct cmd_binding {
    const char *name;
    cmd_handler fn;
} cmd_binding;

/* Resolves every binding against the command table (fails loudly on a
 * name the table doesn't know). */
void cmd_init(void);
/* Handler of a command, or NULL if Shoal doesn't implement it. */
cmd_handler cmd_handler_of(const cmd_meta *m);
/* Parses the command in c->argv and runs it (or queues it in MULTI).
 * Returns 0 normally, -1 if the client must stop processing input
 * (blocked, closing). */
int  cmd_process(client *c);
/* Runs c->cmd with c->argv now, with stats and propagation (used by
 * cmd_process, EXEC and blocked-command retries). */
void cmd_call(client *c);

/* Per-command statistics (INFO commandstats). */
typedef struct cmd_stats {
    long long calls, usec, rejected, failed;
} cmd_stats;
cmd_stats *cmd_stats_of(const cmd_meta *m);
void cmd_stats_reset(void);

/* The propagation point: every executed write reaches it once, as the
 * command that should be replayed (handlers may rewrite it, e.g. EXPIRE
 * becomes PEXPIREAT). AOF and replication will hook here. */
typedef void (*propagate_hook)(int dbid, int argc, const char **argv, const size_t *argvlen);
void cmd_set_propagate_hook(propagate_hook h);
/* Replaces what the current command propagates (argv copied). */
void cmd_rewrite_propagated(client *c, int argc, const char **argv, const size_t *argvlen);
/* Propagates an extra command alongside the current one (e.g. a DEL for
 * a lazily expired key). */
void cmd_also_propagate(int dbid, int argc, const char **argv, const size_t *argvlen);
long long cmd_propagated_count(void);
/* A handler that called db_signal_modified for exactly the keys it
 * changed (DEL of some missing keys...) tells the dispatcher not to
 * signal all of the command's keys. */
void cmd_keys_signaled(client *c);

#endif
