/* slowlog: a bounded list of the slowest commands, newest first, and the
 * SLOWLOG command. Arguments are truncated as Redis does (32 args, 128
 * bytes each) so a huge command can't make the log huge. */
#include "slowlog.h"
#include "cmd.h"
#include "config.h"
#include "mem.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <stdio.h>
#include <string.h>

#define SLOWLOG_MAX_ARGC 32
#define SLOWLOG_MAX_ARGLEN 128

typedef struct slow_entry {
    long long id, time, usec;
    int argc;
    char **argv;
    size_t *argvlen;
    char *addr, *name;
} slow_entry;

static slow_entry *ring;   /* newest at index 0 */
static int nring;
static long long next_id;

static void entry_free(slow_entry *e)
{
    for (int i = 0; i < e->argc; i++) xfree(e->argv[i]);
    xfree(e->argv);
    xfree(e->argvlen);
    xfree(e->addr);
    xfree(e->name);
}

static void trim(long long max)
{
    while (nring > 0 && nring > max) entry_free(&ring[--nring]);
}

void slowlog_push(client *c, int argc, const char **argv, const size_t *argvlen, long long usec)
{
    long long max = cfg.slowlog_max_len;
    if (max <= 0) return;
    slow_entry e = {0};
    e.id = next_id++;
    e.time = srv.now_ms / 1000;
    e.usec = usec;
    e.argc = argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : argc;
    e.argv = xmalloc(sizeof(char *) * (size_t)(e.argc ? e.argc : 1));
    e.argvlen = xmalloc(sizeof(size_t) * (size_t)(e.argc ? e.argc : 1));
    for (int i = 0; i < e.argc; i++) {
        char tmp[64];
        if (argc > SLOWLOG_MAX_ARGC && i == SLOWLOG_MAX_ARGC - 1) {
            int n = snprintf(tmp, sizeof(tmp), "... (%d more arguments)", argc - SLOWLOG_MAX_ARGC + 1);
            e.argv[i] = xmemdup(tmp, (size_t)n);
            e.argvlen[i] = (size_t)n;
        } else if (argvlen[i] > SLOWLOG_MAX_ARGLEN) {
            int n = snprintf(tmp, sizeof(tmp), "... (%zu more bytes)", argvlen[i] - SLOWLOG_MAX_ARGLEN);
            e.argv[i] = xmalloc(SLOWLOG_MAX_ARGLEN + (size_t)n + 1);
            memcpy(e.argv[i], argv[i], SLOWLOG_MAX_ARGLEN);
            memcpy(e.argv[i] + SLOWLOG_MAX_ARGLEN, tmp, (size_t)n);
            e.argvlen[i] = SLOWLOG_MAX_ARGLEN + (size_t)n;
        } else {
            e.argv[i] = xmemdup(argv[i], argvlen[i]);
            e.argvlen[i] = argvlen[i];
        }
    }
    e.addr = xstrdup(c->addr);
    e.name = xstrdup(c->name ? c->name : "");
    trim(max - 1);
    ring = xrealloc(ring, sizeof(slow_entry) * (size_t)(nring + 1));
    memmove(&ring[1], &ring[0], sizeof(slow_entry) * (size_t)nring);
    ring[0] = e;
    nring++;
}

static void slowlog_get_cmd(client *c)
{
    long long count = 10;
    if (c->argc == 3) {
        if (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &count) || count < -1) {
            reply_error(c, "ERR count should be greater than or equal to -1");
            return;
        }
        if (count == -1) count = nring;
    } else if (c->argc > 3) {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try SLOWLOG HELP.",
                     (int)(ARGLEN(c, 1) > 128 ? 128 : ARGLEN(c, 1)), ARG(c, 1));
        return;
    }
    trim(cfg.slowlog_max_len);
    if (count > nring) count = nring;
    reply_array(c, count);
    for (long long i = 0; i < count; i++) {
        slow_entry *e = &ring[i];
        reply_array(c, 6);
        reply_int(c, e->id);
        reply_int(c, e->time);
        reply_int(c, e->usec);
        reply_array(c, e->argc);
        for (int k = 0; k < e->argc; k++) reply_bulk(c, e->argv[k], e->argvlen[k]);
        reply_bulk_cstr(c, e->addr);
        reply_bulk_cstr(c, e->name);
    }
}

static void slowlog_len_cmd(client *c)
{
    trim(cfg.slowlog_max_len);
    reply_int(c, nring);
}

static void slowlog_reset_cmd(client *c)
{
    trim(0);
    reply_ok(c);
}

static void slowlog_help_cmd(client *c)
{
    static const char *lines[] = {
        "SLOWLOG <subcommand> [<arg> ...]. Subcommands:",
        "GET [<count>] -- the newest <count> entries (default 10, -1 for all).",
        "LEN -- number of entries.",
        "RESET -- drop every entry.",
        "HELP -- this text.",
    };
    int n = (int)(sizeof(lines) / sizeof(lines[0]));
    reply_array(c, n);
    for (int i = 0; i < n; i++) reply_status(c, lines[i]);
}

const cmd_binding slowlog_commands[] = {
    {"slowlog|get", slowlog_get_cmd},
    {"slowlog|len", slowlog_len_cmd},
    {"slowlog|reset", slowlog_reset_cmd},
    {"slowlog|help", slowlog_help_cmd},
    {NULL, NULL},
};
