/* conn_cmd: connection commands — PING, ECHO, QUIT, HELLO, AUTH, SELECT,
 * RESET. */
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "mem.h"
#include "multi.h"
#include "pubsub.h"
#include "reply.h"
#include "server.h"
#include "util.h"
#include <string.h>

static void ping_cmd(client *c)
{
    if (c->argc > 2) {
        reply_arity_err(c);
        return;
    }
    /* RESP2 subscribers get PING answered in the pub/sub message shape. */
    if ((c->flags & CLIENT_PUBSUB) && c->proto == 2) {
        reply_array(c, 2);
        reply_bulk(c, "pong", 4);
        if (c->argc == 1) reply_bulk(c, "", 0);
        else reply_bulk(c, ARG(c, 1), ARGLEN(c, 1));
        return;
    }
    if (c->argc == 1) reply_status(c, "PONG");
    else reply_bulk(c, ARG(c, 1), ARGLEN(c, 1));
}

static void echo_cmd(client *c) { reply_bulk(c, ARG(c, 1), ARGLEN(c, 1)); }

static void quit_cmd(client *c)
{
    reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* The only user is "default", whose password is requirepass. */
static int check_password(const char *user, size_t ulen, const char *pass, size_t plen)
{
    if (user && !arg_is(user, ulen, "default")) return 0;
    const char *rp = cfg.requirepass ? cfg.requirepass : "";
    if (!*rp) return 1; /* nopass: any password is accepted for default */
    return strlen(rp) == plen && memcmp(rp, pass, plen) == 0;
}

static void auth_cmd(client *c)
{
    if (c->argc > 3) {
        reply_syntax_err(c);
        return;
    }
    if (c->argc == 2 && (!cfg.requirepass || !*cfg.requirepass)) {
        reply_error(c, "ERR AUTH <password> called without any password configured for the default user. "
                       "Are you sure your configuration is correct?");
        return;
    }
    int ok = c->argc == 2 ? check_password(NULL, 0, ARG(c, 1), ARGLEN(c, 1))
                          : check_password(ARG(c, 1), ARGLEN(c, 1), ARG(c, 2), ARGLEN(c, 2));
    if (!ok) {
        reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    c->flags |= CLIENT_AUTHENTICATED;
    reply_ok(c);
}

static void hello_cmd(client *c)
{
    long long ver = 0;
    int next = 1;
    if (c->argc >= 2) {
        if (!str_to_ll(ARG(c, 1), ARGLEN(c, 1), &ver)) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        next = 2;
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    const char *setname = NULL;
    size_t setname_len = 0;
    for (int j = next; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (arg_is(ARG(c, j), ARGLEN(c, j), "AUTH") && more >= 2) {
            if (!check_password(ARG(c, j + 1), ARGLEN(c, j + 1), ARG(c, j + 2), ARGLEN(c, j + 2))) {
                reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            c->flags |= CLIENT_AUTHENTICATED;
            j += 2;
        } else if (arg_is(ARG(c, j), ARGLEN(c, j), "SETNAME") && more >= 1) {
            setname = ARG(c, j + 1);
            setname_len = ARGLEN(c, j + 1);
            for (size_t k = 0; k < setname_len; k++) {
                if (setname[k] <= ' ' || setname[k] > '~') {
                    reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
                    return;
                }
            }
            j++;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'", (int)ARGLEN(c, j), ARG(c, j));
            return;
        }
    }
    if (!(c->flags & CLIENT_AUTHENTICATED)) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                       "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                       "select the RESP protocol version at the same time");
        return;
    }
    if (setname) {
        xfree(c->name);
        c->name = setname_len ? xmemdup(setname, setname_len) : NULL;
    }
    if (ver) c->proto = (int)ver;
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, "7.0.15");
    reply_bulk_cstr(c, "proto");
    reply_int(c, c->proto);
    reply_bulk_cstr(c, "id");
    reply_int(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, cfg.cluster_enabled ? "cluster" : "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, "master");
    reply_bulk_cstr(c, "modules");
    reply_empty_array(c);
}

static void select_cmd(client *c)
{
    long long id;
    if (arg_ll(c, 1, &id) < 0) return;
    if (id < INT32_MIN || id > INT32_MAX) {
        reply_error(c, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return;
    }
    if (cfg.cluster_enabled && id != 0) {
        reply_error(c, "ERR SELECT is not allowed in cluster mode");
        return;
    }
    db *d = db_get((int)id);
    if (!d) {
        reply_error(c, ERR_BAD_DB);
        return;
    }
    c->db = d;
    reply_ok(c);
}

static void reset_cmd(client *c)
{
    multi_reset(c);
    multi_unwatch_all(c);
    pubsub_client_freed(c);
    /* NO-EVICT survives RESET in Redis 7.0; the rest goes back to defaults. */
    c->flags &= ~(CLIENT_PUBSUB | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT | CLIENT_READONLY |
                  CLIENT_ASKING);
    c->db = db_get(0);
    c->proto = 2;
    xfree(c->name);
    c->name = NULL;
    if (cfg.requirepass && *cfg.requirepass) c->flags &= ~CLIENT_AUTHENTICATED;
    reply_status(c, "RESET");
}

const cmd_binding conn_commands[] = {
    {"ping", ping_cmd},
    {"echo", echo_cmd},
    {"quit", quit_cmd},
    {"auth", auth_cmd},
    {"hello", hello_cmd},
    {"select", select_cmd},
    {"reset", reset_cmd},
    {NULL, NULL},
};
