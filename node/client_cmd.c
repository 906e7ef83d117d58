/* client_cmd: the CLIENT command family. */
#include "blocking.h"
#include "cmd.h"
#include "mem.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Redis's reply for a subcommand given the wrong arguments: the
 * subcommand as typed, the command upper-cased. */
static void reply_subcmd_syntax(client *c)
{
    reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CLIENT HELP.",
                 (int)(ARGLEN(c, 1) > 128 ? 128 : ARGLEN(c, 1)), ARG(c, 1));
}

static void client_id_cmd(client *c) { reply_int(c, (long long)c->id); }

static int valid_name(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] > '~') return 0;
    return 1;
}

static void client_setname_cmd(client *c)
{
    if (!valid_name(ARG(c, 2), ARGLEN(c, 2))) {
        reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    xfree(c->name);
    c->name = ARGLEN(c, 2) ? xmemdup(ARG(c, 2), ARGLEN(c, 2)) : NULL;
    reply_ok(c);
}

static void client_getname_cmd(client *c)
{
    if (c->name) reply_bulk_cstr(c, c->name);
    else reply_null(c);
}

static int client_type_matches(client *c, const char *t, size_t tl)
{
    if (arg_is(t, tl, "pubsub")) return client_subscription_count(c) > 0;
    if (arg_is(t, tl, "normal")) return client_subscription_count(c) == 0;
    return 0; /* master / replica: none yet */
}

static int valid_type(const char *t, size_t tl)
{
    return arg_is(t, tl, "normal") || arg_is(t, tl, "pubsub") || arg_is(t, tl, "master") ||
           arg_is(t, tl, "replica") || arg_is(t, tl, "slave");
}

static void client_list_cmd(client *c)
{
    const char *type = NULL;
    size_t tl = 0;
    long long *ids = NULL;
    int nids = 0;
    if (c->argc >= 4 && arg_is(ARG(c, 2), ARGLEN(c, 2), "TYPE") && c->argc == 4) {
        type = ARG(c, 3);
        tl = ARGLEN(c, 3);
        if (!valid_type(type, tl)) {
            reply_errorf(c, "ERR Unknown client type '%.*s'", (int)tl, type);
            return;
        }
    } else if (c->argc >= 4 && arg_is(ARG(c, 2), ARGLEN(c, 2), "ID")) {
        ids = xmalloc(sizeof(*ids) * (size_t)(c->argc - 3));
        for (int i = 3; i < c->argc; i++) {
            /* Any integer is accepted; ids that match nobody list nothing. */
            if (!str_to_ll(ARG(c, i), ARGLEN(c, i), &ids[nids])) {
                xfree(ids);
                reply_error(c, "ERR Invalid client ID");
                return;
            }
            nids++;
        }
    } else if (c->argc != 2) {
        reply_syntax_err(c);
        return;
    }
    buf_t b;
    buf_init(&b);
    /* Oldest first, as Redis lists them. */
    client *last = srv.clients;
    while (last && last->next) last = last->next;
    for (client *x = last; x; x = x->prev) {
        if (type && !client_type_matches(x, type, tl)) continue;
        if (nids) {
            int found = 0;
            for (int i = 0; i < nids; i++) found |= (unsigned long long)ids[i] == x->id;
            if (!found) continue;
        }
        client_info_line(x, &b);
        buf_append(&b, "\n", 1);
    }
    reply_verbatim(c, b.p ? b.p : "", b.len);
    buf_free(&b);
    xfree(ids);
}

static void client_info_cmd(client *c)
{
    buf_t b;
    buf_init(&b);
    client_info_line(c, &b);
    buf_append(&b, "\n", 1);
    reply_verbatim(c, b.p, b.len);
    buf_free(&b);
}

static void client_kill_cmd(client *c)
{
    /* Old form: CLIENT KILL addr:port -> +OK or an error. */
    if (c->argc == 3) {
        for (client *x = srv.clients; x; x = x->next) {
            if (arg_is(ARG(c, 2), ARGLEN(c, 2), x->addr)) {
                if (x == c) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
                else client_close_async(x), reply_schedule(x);
                reply_ok(c);
                return;
            }
        }
        reply_error(c, "ERR No such client");
        return;
    }
    unsigned long long id = 0;
    const char *addr = NULL, *laddr = NULL, *type = NULL;
    size_t al = 0, ll = 0, tl = 0;
    int skipme = 1;
    /* Options are checked in order, as Redis does: the first bad one
     * decides the error, and an option missing its value is a syntax error. */
    for (int i = 2; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            reply_syntax_err(c);
            return;
        }
        const char *o = ARG(c, i), *v = ARG(c, i + 1);
        size_t ol = ARGLEN(c, i), vl = ARGLEN(c, i + 1);
        if (arg_is(o, ol, "ID")) {
            if (!str_to_ull(v, vl, &id) || id == 0) {
                reply_error(c, "ERR client-id should be greater than 0");
                return;
            }
        } else if (arg_is(o, ol, "ADDR")) { addr = v; al = vl; }
        else if (arg_is(o, ol, "LADDR")) { laddr = v; ll = vl; }
        else if (arg_is(o, ol, "USER")) {
            /* Only the default user exists, and every client is it. */
            if (vl != 7 || memcmp(v, "default", 7) != 0) { /* user names are case-sensitive */
                reply_errorf(c, "ERR No such user '%.*s'", (int)vl, v);
                return;
            }
        } else if (arg_is(o, ol, "TYPE")) {
            type = v;
            tl = vl;
            if (!valid_type(v, vl)) {
                reply_errorf(c, "ERR Unknown client type '%.*s'", (int)vl, v);
                return;
            }
        } else if (arg_is(o, ol, "SKIPME")) {
            if (arg_is(v, vl, "yes")) skipme = 1;
            else if (arg_is(v, vl, "no")) skipme = 0;
            else {
                reply_syntax_err(c);
                return;
            }
        } else {
            reply_syntax_err(c);
            return;
        }
    }
    long long killed = 0;
    for (client *x = srv.clients; x; x = x->next) {
        if (id && x->id != id) continue;
        if (addr && !arg_is(addr, al, x->addr)) continue;
        if (laddr && !arg_is(laddr, ll, x->laddr)) continue;
        if (type && !client_type_matches(x, type, tl)) continue;
        if (x == c && skipme) continue;
        if (x == c) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        else {
            client_close_async(x);
            reply_schedule(x);
        }
        killed++;
    }
    reply_int(c, killed);
}

static void client_pause_cmd(client *c)
{
    long long ms;
    if (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &ms)) {
        reply_error(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return;
    }
    int all = 1;
    if (c->argc == 4) {
        if (arg_is(ARG(c, 3), ARGLEN(c, 3), "WRITE")) all = 0;
        else if (!arg_is(ARG(c, 3), ARGLEN(c, 3), "ALL")) {
            reply_error(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    } else if (c->argc > 4) {
        reply_subcmd_syntax(c);
        return;
    }
    /* Saturate instead of overflowing on absurd timeouts. */
    long long end = ms > LLONG_MAX - srv.now_ms ? LLONG_MAX : srv.now_ms + ms;
    /* Redis keeps the longer of the running and the new pause, and the
     * stronger mode (ALL beats WRITE) while both are in effect. */
    int running = srv.pause_end_ms > srv.now_ms;
    if (!running) srv.pause_all = all;
    else if (all) srv.pause_all = 1;
    if (end > srv.pause_end_ms || !running) srv.pause_end_ms = end;
    reply_ok(c);
}

static void client_unpause_cmd(client *c)
{
    srv.pause_end_ms = srv.now_ms; /* the cron resumes held clients */
    srv.pause_all = 0;
    reply_ok(c);
}

static void client_reply_cmd(client *c)
{
    const char *m = ARG(c, 2);
    size_t ml = ARGLEN(c, 2);
    if (arg_is(m, ml, "ON")) {
        c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT | CLIENT_REPLY_SKIP);
        reply_ok(c);
    } else if (arg_is(m, ml, "OFF")) {
        c->flags |= CLIENT_REPLY_OFF;
    } else if (arg_is(m, ml, "SKIP")) {
        if (!(c->flags & CLIENT_REPLY_OFF)) c->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        reply_syntax_err(c);
    }
}

static void client_unblock_cmd(client *c)
{
    long long sid;
    int err = 0;
    /* Redis's order: argument count, then the reason, then the id. */
    if (c->argc > 4) {
        reply_subcmd_syntax(c);
        return;
    }
    if (c->argc == 4) {
        if (arg_is(ARG(c, 3), ARGLEN(c, 3), "ERROR")) err = 1;
        else if (!arg_is(ARG(c, 3), ARGLEN(c, 3), "TIMEOUT")) {
            reply_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    if (!str_to_ll(ARG(c, 2), ARGLEN(c, 2), &sid)) {
        reply_error(c, ERR_NOT_INT);
        return;
    }
    reply_int(c, blocking_unblock_by_id((uint64_t)sid, err));
}

static void client_no_evict_cmd(client *c)
{
    if (arg_is(ARG(c, 2), ARGLEN(c, 2), "ON")) c->flags |= CLIENT_NO_EVICT;
    else if (arg_is(ARG(c, 2), ARGLEN(c, 2), "OFF")) c->flags &= ~CLIENT_NO_EVICT;
    else {
        reply_syntax_err(c);
        return;
    }
    reply_ok(c);
}

static void client_help_cmd(client *c)
{
    static const char *const l[] = {
        "CLIENT <subcommand> [<arg> ...]. Subcommands:",
        "ID -- this connection's id.",
        "INFO -- details of this connection.",
        "LIST [TYPE <type>] [ID <id> ...] -- every connection, or a filtered set.",
        "KILL <ip:port> | KILL [ID <id>] [ADDR <ip:port>] [LADDR <ip:port>] [TYPE <type>] [USER <u>] [SKIPME yes|no]",
        "GETNAME / SETNAME <name> -- the connection's name.",
        "PAUSE <ms> [WRITE|ALL] / UNPAUSE -- hold clients' commands for a while.",
        "REPLY ON|OFF|SKIP -- turn replies off or skip the next one.",
        "UNBLOCK <id> [TIMEOUT|ERROR] -- end a blocking command of another client.",
        "NO-EVICT ON|OFF -- accepted for compatibility.",
        "HELP -- this text.",
    };
    reply_array(c, 11);
    for (int i = 0; i < 11; i++) reply_status(c, l[i]);
}

const cmd_binding client_commands[] = {
    {"client|id", client_id_cmd},
    {"client|setname", client_setname_cmd},
    {"client|getname", client_getname_cmd},
    {"client|list", client_list_cmd},
    {"client|info", client_info_cmd},
    {"client|kill", client_kill_cmd},
    {"client|pause", client_pause_cmd},
    {"client|unpause", client_unpause_cmd},
    {"client|reply", client_reply_cmd},
    {"client|unblock", client_unblock_cmd},
    {"client|no-evict", client_no_evict_cmd},
    {"client|help", client_help_cmd},
    {NULL, NULL},
};
