/* test_cmdtable: lookups, arity/flags, key extraction (key-spec
 * interpreter and the SORT/MIGRATE scanners) and the COMMAND INFO / DOCS
 * writers against bytes captured from redis-server 7.0.15 (key-spec
 * "notes" removed, as Shoal does not store them).
 *
 * Extra modes used by `tools/gen_cmdtable.py --verify` to diff against a
 * live server: --dump-info P / --dump-docs P write the whole COMMAND /
 * COMMAND DOCS reply in RESP P; --getkeys reads space-separated commands
 * from stdin ("" = empty arg) and prints one line each. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE    /* memmem */
#endif
#include <pthread.h>
#include <stdlib.h>
#include "unit.h"
#include "cmdtable.h"
#include "resp.h"
#include "buf.h"

/* ---- expected COMMAND INFO bytes (server output, notes stripped) ---- */
static const char info2_get[] =
    "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n"
    "+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\n"
    "begin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n"
    ":1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\n"
    "lastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";
static const char info2_set[] =
    "*10\r\n$3\r\nset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n"
    "+@string\r\n+@slow\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*4\r\n+RW\r\n+access\r\n+update\r\n"
    "+variable_flags\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n"
    "spec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n"
    "$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n"
    ":0\r\n*0\r\n";
static const char info2_zunionstore[] =
    "*10\r\n$11\r\nzunionstore\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n"
    ":1\r\n:1\r\n*3\r\n+@write\r\n+@sortedset\r\n+@slow\r\n*0\r\n*2\r\n*6\r\n$5\r\nflags\r\n"
    "*2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n"
    "$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\n"
    "range\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\n"
    "limit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n"
    "*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\n"
    "find_keys\r\n*4\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n*6\r\n$9\r\nkeynumidx\r\n"
    ":0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n*0\r\n";
static const char info2_sort[] =
    "*10\r\n$4\r\nsort\r\n:-2\r\n*3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n:1\r\n"
    ":1\r\n*6\r\n+@write\r\n+@set\r\n+@sortedset\r\n+@list\r\n+@slow\r\n+@dangerous\r\n"
    "*0\r\n*3\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n"
    "$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n"
    "*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\n"
    "keystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n"
    "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n*0\r\n$9\r\n"
    "find_keys\r\n*4\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n*0\r\n*6\r\n$5\r\n"
    "flags\r\n*2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$7\r\n"
    "unknown\r\n$4\r\nspec\r\n*0\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$7\r\nunknown\r\n"
    "$4\r\nspec\r\n*0\r\n*0\r\n";
static const char info2_xread[] =
    "*10\r\n$5\r\nxread\r\n:-4\r\n*3\r\n+readonly\r\n+blocking\r\n+movablekeys\r\n:0\r\n"
    ":0\r\n:0\r\n*4\r\n+@read\r\n+@stream\r\n+@slow\r\n+@blocking\r\n*0\r\n*1\r\n*6\r\n"
    "$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n"
    "$7\r\nkeyword\r\n$4\r\nspec\r\n*4\r\n$7\r\nkeyword\r\n$7\r\nSTREAMS\r\n$9\r\nstartfrom\r\n"
    ":1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\n"
    "lastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:2\r\n*0\r\n";
static const char info2_eval[] =
    "*10\r\n$4\r\neval\r\n:-3\r\n*5\r\n+noscript\r\n+stale\r\n+skip_monitor\r\n+no_mandatory_keys\r\n"
    "+movablekeys\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@scripting\r\n*0\r\n*1\r\n*6\r\n"
    "$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\n"
    "type\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n"
    "*4\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n*6\r\n$9\r\nkeynumidx\r\n:0\r\n"
    "$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n*0\r\n";
static const char info2_migrate[] =
    "*10\r\n$7\r\nmigrate\r\n:-6\r\n*2\r\n+write\r\n+movablekeys\r\n:3\r\n:3\r\n:1\r\n"
    "*4\r\n+@keyspace\r\n+@write\r\n+@slow\r\n+@dangerous\r\n*1\r\n$23\r\nnondeterministic_output\r\n"
    "*2\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n$12\r\nbegin_search\r\n"
    "*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:3\r\n$9\r\n"
    "find_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n"
    ":0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*4\r\n+RW\r\n"
    "+access\r\n+delete\r\n+incomplete\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$7\r\n"
    "keyword\r\n$4\r\nspec\r\n*4\r\n$7\r\nkeyword\r\n$4\r\nKEYS\r\n$9\r\nstartfrom\r\n"
    ":-2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n"
    "$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";
static const char info2_config_get[] =
    "*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n"
    ":0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n";
static const char info3_get[] =
    "*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n"
    "+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\n"
    "begin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n"
    ":1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\n"
    "lastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
static const char info3_set[] =
    "*10\r\n$3\r\nset\r\n:-3\r\n~2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@write\r\n"
    "+@string\r\n+@slow\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~4\r\n+RW\r\n+access\r\n+update\r\n"
    "+variable_flags\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n"
    "spec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n"
    "$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n"
    ":0\r\n~0\r\n";
static const char info3_zunionstore[] =
    "*10\r\n$11\r\nzunionstore\r\n:-4\r\n~3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n"
    ":1\r\n:1\r\n~3\r\n+@write\r\n+@sortedset\r\n+@slow\r\n~0\r\n~2\r\n%3\r\n$5\r\nflags\r\n"
    "~2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n"
    "$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\n"
    "range\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\n"
    "limit\r\n:0\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n"
    "%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:2\r\n$9\r\n"
    "find_keys\r\n%2\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n%3\r\n$9\r\nkeynumidx\r\n"
    ":0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n~0\r\n";
static const char info3_sort[] =
    "*10\r\n$4\r\nsort\r\n:-2\r\n~3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n:1\r\n"
    ":1\r\n~6\r\n+@write\r\n+@set\r\n+@sortedset\r\n+@list\r\n+@slow\r\n+@dangerous\r\n"
    "~0\r\n~3\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n"
    "$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n"
    "%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\n"
    "keystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n"
    "$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n%0\r\n$9\r\n"
    "find_keys\r\n%2\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n%0\r\n%3\r\n$5\r\n"
    "flags\r\n~2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$7\r\n"
    "unknown\r\n$4\r\nspec\r\n%0\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$7\r\nunknown\r\n"
    "$4\r\nspec\r\n%0\r\n~0\r\n";
static const char info3_xread[] =
    "*10\r\n$5\r\nxread\r\n:-4\r\n~3\r\n+readonly\r\n+blocking\r\n+movablekeys\r\n:0\r\n"
    ":0\r\n:0\r\n~4\r\n+@read\r\n+@stream\r\n+@slow\r\n+@blocking\r\n~0\r\n~1\r\n%3\r\n"
    "$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n"
    "$7\r\nkeyword\r\n$4\r\nspec\r\n%2\r\n$7\r\nkeyword\r\n$7\r\nSTREAMS\r\n$9\r\nstartfrom\r\n"
    ":1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\n"
    "lastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:2\r\n~0\r\n";
static const char info3_eval[] =
    "*10\r\n$4\r\neval\r\n:-3\r\n~5\r\n+noscript\r\n+stale\r\n+skip_monitor\r\n+no_mandatory_keys\r\n"
    "+movablekeys\r\n:0\r\n:0\r\n:0\r\n~2\r\n+@slow\r\n+@scripting\r\n~0\r\n~1\r\n%3\r\n"
    "$5\r\nflags\r\n~3\r\n+RW\r\n+access\r\n+update\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\n"
    "type\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n"
    "%2\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n%3\r\n$9\r\nkeynumidx\r\n:0\r\n"
    "$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n~0\r\n";
static const char info3_migrate[] =
    "*10\r\n$7\r\nmigrate\r\n:-6\r\n~2\r\n+write\r\n+movablekeys\r\n:3\r\n:3\r\n:1\r\n"
    "~4\r\n+@keyspace\r\n+@write\r\n+@slow\r\n+@dangerous\r\n~1\r\n$23\r\nnondeterministic_output\r\n"
    "~2\r\n%3\r\n$5\r\nflags\r\n~3\r\n+RW\r\n+access\r\n+delete\r\n$12\r\nbegin_search\r\n"
    "%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:3\r\n$9\r\n"
    "find_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n"
    ":0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n%3\r\n$5\r\nflags\r\n~4\r\n+RW\r\n"
    "+access\r\n+delete\r\n+incomplete\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$7\r\n"
    "keyword\r\n$4\r\nspec\r\n%2\r\n$7\r\nkeyword\r\n$4\r\nKEYS\r\n$9\r\nstartfrom\r\n"
    ":-2\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n"
    "$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
static const char info3_config_get[] =
    "*10\r\n$10\r\nconfig|get\r\n:-3\r\n~4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n"
    ":0\r\n:0\r\n:0\r\n~3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n~0\r\n~0\r\n~0\r\n";

/* ---- helpers ------------------------------------------------------------ */
#define MAXARGS 512
typedef struct {
    int argc;
    char *argv[MAXARGS];
    size_t argl[MAXARGS];
    char store[8192];
} args_t;

/* Split on single spaces; the token "" stands for an empty argument. */
static void split(args_t *a, const char *line)
{
    size_t n = strlen(line);
    if (n >= sizeof(a->store))
        n = sizeof(a->store) - 1;
    memcpy(a->store, line, n);
    a->store[n] = '\0';
    a->argc = 0;
    char *p = a->store;
    while (*p && a->argc < MAXARGS) {
        char *sp = strchr(p, ' ');
        if (sp)
            *sp = '\0';
        if (strcmp(p, "\"\"") == 0)
            *p = '\0';
        a->argv[a->argc] = p;
        a->argl[a->argc] = strlen(p);
        a->argc++;
        if (!sp)
            break;
        p = sp + 1;
    }
}

/* Keys of `line` as "k1 k2" (argv values), "-1" on error, "" for none. */
static const char *keys_str(const char *line, int search)
{
    static char out[4096];
    static args_t a;
    cmd_keyref refs[MAXARGS];
    split(&a, line);
    const cmd_meta *m = cmd_lookup(a.argv[0], a.argl[0]);
    if (!m)
        return "unknown";
    int n = cmd_get_keys_ex(m, a.argc, (const char *const *)a.argv, a.argl, search, refs, MAXARGS);
    if (n < 0)
        return "-1";
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, a.argv[refs[i].pos]);
    }
    return out;
}

#define CHECK_KEYS(line, expect) do { const char *_k = keys_str(line, 0); \
    if (strcmp(_k, expect) != 0) { fprintf(stderr, "  FAIL %s:%d: keys of '%s' = '%s', want '%s'\n", \
    __FILE__, __LINE__, line, _k, expect); unit_failed_checks++; unit_cur_failed = 1; } } while (0)

static int info_is(const cmd_meta *m, int proto, const char *expect)
{
    buf_t b;
    buf_init(&b);
    cmd_write_info(&b, proto, m);
    int ok = b.len == strlen(expect) && memcmp(b.p, expect, b.len) == 0;
    if (!ok)
        fprintf(stderr, "  got: %.*s\n", (int)b.len, b.p);
    buf_free(&b);
    return ok;
}

static int docs_is(const cmd_meta *m, int proto, const char *expect)
{
    buf_t b;
    buf_init(&b);
    cmd_write_docs(&b, proto, m);
    int ok = b.len == strlen(expect) && memcmp(b.p, expect, b.len) == 0;
    if (!ok)
        fprintf(stderr, "  got: %.*s\n", (int)b.len, b.p);
    buf_free(&b);
    return ok;
}

/* ---- tests -------------------------------------------------------------- */
TEST(test_lookup)
{
    const cmd_meta *get = cmd_lookup("get", 3);
    CHECK(get != NULL);
    CHECK(cmd_lookup("GET", 3) == get);
    CHECK(cmd_lookup("gEt", 3) == get);
    CHECK(cmd_lookup("getx", 3) == get);          /* length counted */
    CHECK(cmd_lookup("getx", 4) == NULL);
    CHECK(cmd_lookup("nosuchcommand", 13) == NULL);
    CHECK(cmd_lookup("", 0) == NULL);
    CHECK(cmd_lookup("get|x", 5) == NULL);
    CHECK(strcmp(get->name, "get") == 0 && get->parent == NULL);
    CHECK(cmd_lookup("RESTORE-ASKING", 14) != NULL);

    const cmd_meta *config = cmd_lookup("CONFIG", 6);
    CHECK(config != NULL && config->subcmds_n == 5);
    const cmd_meta *cg = cmd_lookup_sub(config, "GeT", 3);
    CHECK(cg != NULL);
    CHECK(strcmp(cg->name, "get") == 0 && strcmp(cg->fullname, "config|get") == 0);
    CHECK(cg->parent == config);
    CHECK(cg != get && cg->id != get->id);
    CHECK(cmd_lookup_sub(config, "nosuch", 6) == NULL);
    CHECK(cmd_lookup_sub(get, "get", 3) == NULL);  /* not a container */
    CHECK(cmd_lookup_sub(NULL, "get", 3) == NULL);
    CHECK(cmd_lookup_full("CONFIG|GET", 10) == cg);
    CHECK(cmd_lookup_full("get", 3) == get);
    CHECK(cmd_lookup_full("config|nosuch", 13) == NULL);
    CHECK(cmd_lookup_full("nosuch|get", 10) == NULL);

    const cmd_meta *ol = cmd_lookup_full("object|encoding", 15);
    CHECK(ol != NULL && ol->first_key == 2);
    CHECK(cmd_lookup_full("client|list", 11) != NULL);
    CHECK(cmd_lookup_full("command|docs", 12) != NULL);
    CHECK(cmd_lookup_full("cluster|nodes", 13) != NULL);

    char buf[64];
    CHECK(strcmp(cmd_fullname(cg, buf, sizeof(buf)), "config|get") == 0);
    CHECK(strcmp(cmd_fullname(cg, buf, 4), "con") == 0);
    CHECK(strcmp(cmd_fullname(get, buf, sizeof(buf)), "get") == 0);
}

TEST(test_ids)
{
    int total = cmd_count_all(), subs = 0;
    CHECK_EQ_INT(cmd_table_len, 240);
    CHECK(total > cmd_table_len);
    char *seen = calloc((size_t)total, 1);
    for (int i = 0; i < cmd_table_len; i++) {
        const cmd_meta *m = &cmd_table[i];
        CHECK(m->id >= 0 && m->id < total && !seen[m->id]);
        seen[m->id] = 1;
        CHECK(cmd_by_id(m->id) == m);
        CHECK(cmd_lookup(m->name, strlen(m->name)) == m);
        if (i)
            CHECK(strcmp(cmd_table[i - 1].name, m->name) < 0);
        for (int j = 0; j < m->subcmds_n; j++) {
            const cmd_meta *s = &m->subcmds[j];
            CHECK(s->parent == m);
            CHECK(s->id >= 0 && s->id < total && !seen[s->id]);
            seen[s->id] = 1;
            CHECK(cmd_by_id(s->id) == s);
            CHECK(cmd_lookup_sub(m, s->name, strlen(s->name)) == s);
            CHECK(cmd_lookup_full(s->fullname, strlen(s->fullname)) == s);
            subs++;
        }
    }
    CHECK_EQ_INT(cmd_table_len + subs, total);
    CHECK(cmd_by_id(-1) == NULL && cmd_by_id(total) == NULL);
    free(seen);
}

TEST(test_arity_flags)
{
    const cmd_meta *get = cmd_lookup("get", 3), *set = cmd_lookup("set", 3);
    CHECK_EQ_INT(get->arity, 2);
    CHECK_EQ_INT(set->arity, -3);
    CHECK_EQ_INT(cmd_lookup("mset", 4)->arity, -3);
    CHECK_EQ_INT(cmd_lookup("zunionstore", 11)->arity, -4);
    CHECK_EQ_INT(cmd_lookup_full("config|get", 10)->arity, -3);
    CHECK_EQ_INT(cmd_lookup("config", 6)->arity, -2);
    CHECK(cmd_arity_ok(get, 2) && !cmd_arity_ok(get, 1) && !cmd_arity_ok(get, 3));
    CHECK(cmd_arity_ok(set, 3) && cmd_arity_ok(set, 7) && !cmd_arity_ok(set, 2));

    CHECK(get->flags == (CMD_F_READONLY | CMD_F_FAST));
    CHECK(get->acl == (CMD_ACL_READ | CMD_ACL_STRING | CMD_ACL_FAST));
    CHECK(set->flags == (CMD_F_WRITE | CMD_F_DENYOOM));
    CHECK(cmd_lookup("eval", 4)->flags & CMD_F_MAY_REPLICATE);
    CHECK(cmd_lookup("eval", 4)->flags & CMD_F_MOVABLEKEYS);
    CHECK(cmd_lookup("blpop", 5)->flags & CMD_F_BLOCKING);
    CHECK(cmd_lookup("auth", 4)->flags & CMD_F_NO_AUTH);
    CHECK(cmd_lookup("save", 4)->flags & CMD_F_NO_MULTI);
    CHECK(strcmp(get->group, "string") == 0 && strcmp(get->since, "1.0.0") == 0);
    CHECK(get->deprecated_since == NULL);
    const cmd_meta *gr = cmd_lookup("georadius", 9);
    CHECK(gr->deprecated_since && (gr->doc_flags & CMD_DOC_DEPRECATED));
    const cmd_meta *keys = cmd_lookup("keys", 4);
    CHECK(keys->tips_n == 2 && strcmp(keys->tips[0], "request_policy:all_shards") == 0);

    CHECK(strcmp(cmd_flag_name(CMD_F_SKIP_SLOWLOG), "skip_slowlog") == 0);
    CHECK(cmd_flag_name(CMD_F_MAY_REPLICATE) == NULL);
    CHECK(strcmp(cmd_acl_cat_name(CMD_ACL_SORTEDSET_I), "sortedset") == 0);
    CHECK(cmd_acl_cat_lookup("SortedSet", 9) == CMD_ACL_SORTEDSET_I);
    CHECK(cmd_acl_cat_lookup("nosuch", 6) == -1);
}

TEST(test_keys_basic)
{
    CHECK_KEYS("get k", "k");
    CHECK_KEYS("GET k", "k");
    CHECK_KEYS("set k v ex 10", "k");
    CHECK_KEYS("mset a 1 b 2 c 3", "a b c");
    CHECK_KEYS("mget a b c", "a b c");
    CHECK_KEYS("del a b c d", "a b c d");
    CHECK_KEYS("blpop a b c 0", "a b c");           /* last arg is the timeout */
    CHECK_KEYS("brpoplpush src dst 0", "src dst");
    CHECK_KEYS("ping", "");
    CHECK_KEYS("object encoding k", "k");           /* container resolved */
    CHECK_KEYS("object nosuch k", "");
    CHECK_KEYS("xinfo stream s", "s");
    CHECK_KEYS("bitop and d a b", "d a b");
}

TEST(test_keys_movable)
{
    CHECK_KEYS("zunionstore d 2 a b", "d a b");
    CHECK_KEYS("zunionstore d 2 a b weights 1 2", "d a b");
    CHECK_KEYS("zunion 3 a b c", "a b c");
    CHECK_KEYS("zintercard 2 a b limit 1", "a b");
    CHECK_KEYS("sintercard 1 a", "a");
    CHECK_KEYS("eval s 2 a b c d", "a b");
    CHECK_KEYS("eval s 0", "");
    CHECK_KEYS("evalsha s 0 x", "");
    CHECK_KEYS("fcall f 1 a x", "a");
    CHECK_KEYS("lmpop 2 a b left count 1", "a b");
    CHECK_KEYS("blmpop 0 2 a b left", "a b");
    CHECK_KEYS("bzmpop 1.5 1 a min", "a");
    CHECK_KEYS("xread count 1 streams a b 0 0", "a b");
    CHECK_KEYS("xread block 10 streams s $", "s");
    CHECK_KEYS("XREAD STREAMS s1 s2 s3 1 2 3", "s1 s2 s3");
    CHECK_KEYS("xreadgroup group g c count 1 streams a b > >", "a b");
    CHECK_KEYS("georadius k 0 0 1 m store d", "k d");
    CHECK_KEYS("georadius k 0 0 1 m storedist d store e", "k e d");
    CHECK_KEYS("georadiusbymember k m 1 km STOREDIST d", "k d");
    CHECK_KEYS("georadius k 0 0 1 m", "k");
    CHECK_KEYS("sort k", "k");
    CHECK_KEYS("sort k store d", "k d");
    CHECK_KEYS("sort k by w_* get o_* store d limit 0 1", "k d");
    CHECK_KEYS("sort k limit 0 1 store d store e", "k e");
    CHECK_KEYS("sort k limit store d", "k");        /* LIMIT eats "store d" */
    CHECK_KEYS("sort k get store", "k");
    CHECK_KEYS("sort k store", "k");
    CHECK_KEYS("sort_ro k by x get y", "k");
    CHECK_KEYS("migrate h 1 k 0 5", "k");
    CHECK_KEYS("migrate h 1 \"\" 0 5 keys a b c", "a b c");
    CHECK_KEYS("migrate h 1 \"\" 0 5 copy replace auth pw keys a", "a");
    CHECK_KEYS("migrate h 1 \"\" 0 5 auth keys keys a", "a");   /* AUTH's password is "keys" */
    CHECK_KEYS("migrate h 1 \"\" 0 5 auth2 u keys keys a b", "a b");
    CHECK_KEYS("migrate h 1 \"\" 0 5", "");
}

TEST(test_keys_malformed)
{
    CHECK_KEYS("zunionstore d 3 a b", "-1");
    CHECK_KEYS("zunionstore d -1 a", "-1");
    CHECK_KEYS("zunionstore d x a", "-1");
    CHECK_KEYS("zunionstore d 01 a", "-1");         /* Redis-strict integer */
    CHECK_KEYS("zunionstore d 99999999999999999999 a", "-1");
    CHECK_KEYS("zunionstore d 2147483648 a", "-1");
    CHECK_KEYS("eval s 3 a b", "-1");
    CHECK_KEYS("eval s -1", "-1");
    CHECK_KEYS("lmpop 4 a b left", "-1");
    CHECK_KEYS("lmpop 3 a b left", "a b left");    /* numkeys decides, not the syntax */
    CHECK_KEYS("xread count 1 streams a", "-1");    /* key without its id */
    CHECK_KEYS("migrate h 1 k 0 5 keys a", "-1");   /* KEYS needs an empty key arg */
    CHECK_KEYS("zunionstore d 0 a", "d");           /* numkeys 0: no keys, not malformed */
}

TEST(test_keys_not_key_and_api)
{
    /* Sharded channels are NOT_KEY: skipped unless asked for (slot routing). */
    CHECK(strcmp(keys_str("spublish ch msg", 0), "") == 0);
    CHECK(strcmp(keys_str("spublish ch msg", CMD_GETKEYS_NOT_KEYS), "ch") == 0);
    CHECK(strcmp(keys_str("ssubscribe a b", CMD_GETKEYS_NOT_KEYS), "a b") == 0);
    CHECK(strcmp(keys_str("sunsubscribe", CMD_GETKEYS_NOT_KEYS), "") == 0);

    /* Flags per key. */
    args_t a;
    cmd_keyref refs[8];
    split(&a, "zunionstore d 2 a b");
    const cmd_meta *m = cmd_lookup("zunionstore", 11);
    CHECK_EQ_INT(cmd_get_keys_ex(m, a.argc, (const char *const *)a.argv, a.argl, 0, refs, 8), 3);
    CHECK(refs[0].flags == (CMD_KS_OW | CMD_KS_UPDATE));
    CHECK(refs[1].flags == (CMD_KS_RO | CMD_KS_ACCESS));

    /* cmd_get_keys: positions; count beyond maxpos is still reported. */
    int pos[4];
    split(&a, "mget a b c d e f");
    m = cmd_lookup("mget", 4);
    CHECK_EQ_INT(cmd_get_keys(m, a.argc, (const char *const *)a.argv, a.argl, pos, 4), 6);
    CHECK(pos[0] == 1 && pos[1] == 2 && pos[2] == 3 && pos[3] == 4);
    split(&a, "mset a 1 b 2");
    m = cmd_lookup("mset", 4);
    CHECK_EQ_INT(cmd_get_keys(m, a.argc, (const char *const *)a.argv, a.argl, pos, 4), 2);
    CHECK(pos[0] == 1 && pos[1] == 3);

    /* More keys than cmd_get_keys's stack array. */
    static char line[4096];
    strcpy(line, "del");
    for (int i = 0; i < 100; i++)
        sprintf(line + strlen(line), " k%d", i);
    split(&a, line);
    int many[200];
    m = cmd_lookup("del", 3);
    CHECK_EQ_INT(cmd_get_keys(m, a.argc, (const char *const *)a.argv, a.argl, many, 200), 100);
    CHECK(many[0] == 1 && many[99] == 100);
    CHECK_EQ_INT(cmd_get_keys(m, a.argc, (const char *const *)a.argv, a.argl, many, 10), 100);
    split(&a, "zunionstore d x a");
    m = cmd_lookup("zunionstore", 11);
    CHECK_EQ_INT(cmd_get_keys(m, a.argc, (const char *const *)a.argv, a.argl, pos, 4), -1);
}

TEST(test_write_info)
{
    struct { const char *name; const char *p2, *p3; } cases[] = {
        {"get", info2_get, info3_get},
        {"set", info2_set, info3_set},
        {"zunionstore", info2_zunionstore, info3_zunionstore},
        {"sort", info2_sort, info3_sort},
        {"xread", info2_xread, info3_xread},
        {"eval", info2_eval, info3_eval},
        {"migrate", info2_migrate, info3_migrate},
        {"config|get", info2_config_get, info3_config_get},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cmd_meta *m = cmd_lookup_full(cases[i].name, strlen(cases[i].name));
        CHECK(m != NULL);
        if (!m)
            continue;
        if (!info_is(m, 2, cases[i].p2)) {
            fprintf(stderr, "  (proto 2, %s)\n", cases[i].name);
            CHECK(0);
        }
        if (!info_is(m, 3, cases[i].p3)) {
            fprintf(stderr, "  (proto 3, %s)\n", cases[i].name);
            CHECK(0);
        }
    }
    /* A container: subcommands as an array of full entries. */
    buf_t b;
    buf_init(&b);
    cmd_write_info(&b, 2, cmd_lookup("config", 6));
    CHECK(b.len > 40 && memcmp(b.p, "*10\r\n$6\r\nconfig\r\n:-2\r\n", 22) == 0);
    CHECK(memmem(b.p, b.len, "*5\r\n*10\r\n$10\r\nconfig|get\r\n", 26) != NULL);
    buf_free(&b);

    buf_init(&b);
    cmd_write_keyspec_flags(&b, 3, CMD_KS_RW | CMD_KS_ACCESS | CMD_KS_DELETE);
    CHECK_MEM(b.p, b.len, "~3\r\n+RW\r\n+access\r\n+delete\r\n");
    buf_free(&b);
}

TEST(test_write_docs)
{
    CHECK(docs_is(cmd_lookup("get", 3), 2,
        "$3\r\nget\r\n*4\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"));
    CHECK(docs_is(cmd_lookup("get", 3), 3,
        "$3\r\nget\r\n%2\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"));
    CHECK(docs_is(cmd_lookup_full("config|get", 10), 3,
        "$10\r\nconfig|get\r\n%2\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n"));
    CHECK(docs_is(cmd_lookup("config", 6), 3,
        "$6\r\nconfig\r\n%3\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n"
        "$11\r\nsubcommands\r\n%5\r\n"
        "$10\r\nconfig|get\r\n%2\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n"
        "$11\r\nconfig|help\r\n%2\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n"
        "$16\r\nconfig|resetstat\r\n%2\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n"
        "$14\r\nconfig|rewrite\r\n%2\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n"
        "$10\r\nconfig|set\r\n%2\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n"));
}

static void *lookup_worker(void *arg)
{
    const char *names[] = {"GET", "set", "Zunionstore", "xread", "nosuch", "CLIENT"};
    long bad = 0;
    for (int i = 0; i < 20000; i++) {
        const char *n = names[i % 6];
        const cmd_meta *m = cmd_lookup(n, strlen(n));
        if ((m == NULL) != (i % 6 == 4))
            bad++;
    }
    return (void *)bad;
}

TEST(test_threads)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, lookup_worker, NULL);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
}

/* ---- modes for tools/gen_cmdtable.py --verify --------------------------- */
static void dump_buf(buf_t *b)
{
    fwrite(b->p, 1, b->len, stdout);
    buf_free(b);
}

static int dump_getkeys(void)
{
    static char line[8192];
    static const char *ks[] = {"RO", "RW", "OW", "RM", "access", "update", "insert",
                               "delete", "not_key", "incomplete", "variable_flags"};
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = '\0';
        args_t a;
        cmd_keyref refs[MAXARGS];
        split(&a, line);
        const cmd_meta *m = a.argc ? cmd_lookup(a.argv[0], a.argl[0]) : NULL;
        if (!m) {
            printf("unknown\n");
            continue;
        }
        int n = cmd_get_keys_ex(m, a.argc, (const char *const *)a.argv, a.argl, 0, refs, MAXARGS);
        if (n < 0) {
            printf("-1\n");
            continue;
        }
        if (n == 0)
            printf("0 keys");
        for (int i = 0; i < n; i++) {
            printf("%s%s:", i ? " " : "", a.argv[refs[i].pos]);
            int first = 1;
            for (int f = 0; f < 11; f++)
                if (refs[i].flags & (1u << f)) {
                    printf("%s%s", first ? "" : ",", ks[f]);
                    first = 0;
                }
        }
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    cmd_table_init();
    if (argc == 3 && (!strcmp(argv[1], "--dump-info") || !strcmp(argv[1], "--dump-docs"))) {
        int proto = atoi(argv[2]);
        buf_t b;
        buf_init(&b);
        if (!strcmp(argv[1], "--dump-info")) {
            resp_w_array(&b, cmd_table_len);
            for (int i = 0; i < cmd_table_len; i++)
                cmd_write_info(&b, proto, &cmd_table[i]);
        } else {
            resp_w_map(&b, proto, cmd_table_len);
            for (int i = 0; i < cmd_table_len; i++)
                cmd_write_docs(&b, proto, &cmd_table[i]);
        }
        dump_buf(&b);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "--getkeys"))
        return dump_getkeys();

    RUN(test_lookup);
    RUN(test_ids);
    RUN(test_arity_flags);
    RUN(test_keys_basic);
    RUN(test_keys_movable);
    RUN(test_keys_malformed);
    RUN(test_keys_not_key_and_api);
    RUN(test_write_info);
    RUN(test_write_docs);
    RUN(test_threads);
    return UNIT_DONE();
}
