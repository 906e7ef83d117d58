/* conf: table-driven configuration: typed value parsing and formatting,
 * YAML file and command-line loading, and Redis-style CONFIG GET / SET over
 * a caller-supplied key table (see conf.h). */
#include "conf.h"
#include "mem.h"
#include "util.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* Why a value was refused. The kind lets one failure be worded two ways:
 * Redis's CONFIG SET text, or a friendlier load-time message. */
enum { WHY_TEXT, WHY_INT, WHY_RANGE, WHY_MEMORY, WHY_BOOL, WHY_ENUM };
typedef struct { int kind; char text[256]; } conf_why;

/* ---------- small helpers ---------- */

int conf_count(const conf_key *keys)
{
    int n = 0;
    while (keys[n].name) n++;
    return n;
}

static int name_is(const char *s, size_t len, const char *name)
{
    return name && arg_is(s, len, name);
}

const conf_key *conf_find(const conf_key *keys, const char *name, size_t nlen, int *is_alias)
{
    for (const conf_key *k = keys; k->name; k++) {
        int alias = 0;
        if (name_is(name, nlen, k->name) || (alias = name_is(name, nlen, k->alias))) {
            if (is_alias) *is_alias = alias;
            return k;
        }
    }
    return NULL;
}

static void *field_of(const conf_key *k, void *base) { return (char *)base + k->off; }

static size_t field_size(const conf_key *k)
{
    switch (k->type) {
    case CONF_BOOL: case CONF_ENUM: return sizeof(int);
    case CONF_INT: case CONF_MEMORY: return sizeof(long long);
    case CONF_STRING: return sizeof(char *);
    case CONF_LIST: return sizeof(conf_list);
    case CONF_SPECIAL: return k->size;
    }
    return 0;
}

/* Release what a field owns and zero it. */
static void field_release(const conf_key *k, void *f)
{
    if (k->type == CONF_STRING) xfree(*(char **)f);
    else if (k->type == CONF_LIST) conf_list_free(f);
    else if (k->type == CONF_SPECIAL && k->free_fn) k->free_fn(f);
    memset(f, 0, field_size(k));
}

/* Replace the stored value with nw (whose ownership moves into base). */
static void field_commit(const conf_key *k, void *base, void *nw)
{
    void *f = field_of(k, base);
    field_release(k, f);
    memcpy(f, nw, field_size(k));
}

void conf_list_free(conf_list *l)
{
    for (int i = 0; i < l->n; i++) xfree(l->v[i]);
    xfree(l->v);
    l->v = NULL;
    l->n = 0;
}

void conf_list_split(const char *s, size_t len, conf_list *out)
{
    out->n = 0;
    out->v = NULL;
    size_t i = 0;
    while (i < len) {
        while (i < len && strchr(" \t\r\n,", s[i]) && s[i]) i++;
        size_t st = i;
        while (i < len && !(strchr(" \t\r\n,", s[i]) && s[i])) i++;
        if (i > st) {
            out->v = xrealloc(out->v, sizeof(char *) * (size_t)(out->n + 1));
            out->v[out->n++] = xmemdup(s + st, i - st);
        }
    }
}

/* ---------- value parsing ---------- */

int conf_parse_bool(const char *s, size_t len, int src, int *out)
{
    if (arg_is(s, len, "yes")) { *out = 1; return 1; }
    if (arg_is(s, len, "no")) { *out = 0; return 1; }
    /* YAML's own booleans are natural in a file; CONFIG SET stays strict. */
    if (src != CONF_SRC_SET) {
        if (arg_is(s, len, "true")) { *out = 1; return 1; }
        if (arg_is(s, len, "false")) { *out = 0; return 1; }
    }
    return 0;
}

int conf_parse_memory(const char *s, size_t len, int allow_negative, long long *out)
{
    static const struct { const char *u; unsigned long long mul; } units[] = {
        {"", 1}, {"b", 1}, {"k", 1000}, {"kb", 1024}, {"m", 1000000},
        {"mb", 1024 * 1024}, {"g", 1000000000}, {"gb", 1024ULL * 1024 * 1024},
    };
    size_t i = 0;
    int minus = 0;
    if (len && s[0] == '-') {
        if (!allow_negative) return 0;
        minus = 1;
        i = 1;
    }
    size_t digits = i;
    unsigned long long v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10) return 0;
        v = v * 10 + d;
        i++;
    }
    if (i == digits) return 0;
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        if (strlen(units[u].u) != len - i || strncasecmp(s + i, units[u].u, len - i) != 0) continue;
        if (v > (unsigned long long)LLONG_MAX / units[u].mul) return 0;
        v *= units[u].mul;
        *out = minus ? -(long long)v : (long long)v;
        return 1;
    }
    return 0;
}

static int parse_value(const conf_key *k, int src, const char *val, size_t vlen,
                       void *out, const void *cur, conf_why *w)
{
    w->kind = WHY_TEXT;
    w->text[0] = '\0';
    switch (k->type) {
    case CONF_BOOL:
        if (!conf_parse_bool(val, vlen, src, out)) { w->kind = WHY_BOOL; return -1; }
        break;
    case CONF_INT:
    case CONF_MEMORY: {
        long long v;
        if (k->type == CONF_INT ? !str_to_ll(val, vlen, &v)
                                : !conf_parse_memory(val, vlen, (k->flags & CONF_NEGATIVE) != 0, &v)) {
            w->kind = k->type == CONF_INT ? WHY_INT : WHY_MEMORY;
            return -1;
        }
        if (v < k->min || v > k->max) { w->kind = WHY_RANGE; return -1; }
        *(long long *)out = v;
        break;
    }
    case CONF_STRING:
        *(char **)out = xmemdup(val, vlen);
        break;
    case CONF_ENUM: {
        const conf_enum_val *e = k->enums;
        while (e->name && !arg_is(val, vlen, e->name)) e++;
        if (!e->name) { w->kind = WHY_ENUM; return -1; }
        *(int *)out = e->value;
        break;
    }
    case CONF_LIST:
        conf_list_split(val, vlen, out);
        break;
    case CONF_SPECIAL:
        if (k->parse(out, cur, val, vlen, w->text, sizeof(w->text)) != 0) {
            field_release(k, out);
            if (!w->text[0]) snprintf(w->text, sizeof(w->text), "invalid value");
            return -1;
        }
        break;
    }
    if (k->validate && k->validate(out, w->text, sizeof(w->text)) != 0) {
        field_release(k, out);
        w->kind = WHY_TEXT;
        if (!w->text[0]) snprintf(w->text, sizeof(w->text), "invalid value");
        return -1;
    }
    return 0;
}

static void enum_names(const conf_key *k, buf_t *b)
{
    for (const conf_enum_val *e = k->enums; e->name; e++)
        buf_printf(b, "%s%s", e == k->enums ? "" : ", ", e->name);
}

/* The reason as Redis's CONFIG SET words it. */
static void why_redis(const conf_key *k, const conf_why *w, buf_t *b)
{
    switch (w->kind) {
    case WHY_INT: buf_append_str(b, "argument couldn't be parsed into an integer"); break;
    case WHY_RANGE: buf_printf(b, "argument must be between %lld and %lld inclusive", k->min, k->max); break;
    case WHY_MEMORY: buf_append_str(b, "argument must be a memory value"); break;
    case WHY_BOOL: buf_append_str(b, "argument must be 'yes' or 'no'"); break;
    case WHY_ENUM: buf_append_str(b, "argument(s) must be one of the following: "); enum_names(k, b); break;
    default: buf_printf(b, "%s", w->text); break;
    }
}

/* Quote a user value for a message: bounded, control bytes shown as '?'. */
static void show_value(char *dst, size_t cap, const char *v, size_t vlen)
{
    size_t lim = cap - 4, n = 0;
    for (; n < vlen && n < lim; n++) dst[n] = (v[n] >= 32 && v[n] < 127) ? v[n] : '?';
    if (n < vlen) { memcpy(dst + n - 3, "...", 3); }
    dst[n] = '\0';
}

/* "where: 'key': reason" for file and command-line errors. */
static void load_error(char *err, size_t errlen, const char *where, const char *shown,
                       const conf_key *k, const char *val, size_t vlen, const conf_why *w)
{
    char v[72];
    buf_t b;
    buf_init(&b);
    show_value(v, sizeof(v), val, vlen);
    buf_printf(&b, "%s: '%s': '%s' ", where, shown, v);
    switch (w->kind) {
    case WHY_INT: buf_append_str(&b, "is not an integer"); break;
    case WHY_RANGE: buf_printf(&b, "is out of range (must be between %lld and %lld)", k->min, k->max); break;
    case WHY_MEMORY: buf_append_str(&b, "is not a memory value (a byte count, optionally with b, k, kb, m, mb, g or gb)"); break;
    case WHY_BOOL: buf_append_str(&b, "is not yes or no"); break;
    case WHY_ENUM: buf_append_str(&b, "is not one of: "); enum_names(k, &b); break;
    default: buf_printf(&b, "is invalid: %s", w->text); break;
    }
    snprintf(err, errlen, "%.*s", (int)b.len, b.p);
    buf_free(&b);
}

/* ---------- formatting ---------- */

void conf_format(const conf_key *k, const void *base, buf_t *out)
{
    const void *f = (const char *)base + k->off;
    char num[32];
    if (k->format) { k->format(f, out); return; }
    switch (k->type) {
    case CONF_BOOL: buf_append_str(out, *(const int *)f ? "yes" : "no"); break;
    case CONF_INT:
    case CONF_MEMORY: buf_append(out, num, (size_t)ll_to_str(num, *(const long long *)f)); break;
    case CONF_STRING: if (*(char *const *)f) buf_printf(out, "%s", *(char *const *)f); break;
    case CONF_ENUM:
        for (const conf_enum_val *e = k->enums; e->name; e++)
            if (e->value == *(const int *)f) { buf_append_str(out, e->name); break; }
        break;
    case CONF_LIST: {
        const conf_list *l = f;
        for (int i = 0; i < l->n; i++) {
            if (i) buf_append(out, " ", 1);
            buf_append_str(out, l->v[i]);
        }
        break;
    }
    case CONF_SPECIAL: break; /* a special key without format shows "" */
    }
}

char *conf_format_str(const conf_key *k, const void *base)
{
    buf_t b;
    buf_init(&b);
    conf_format(k, base, &b);
    char *s = xmemdup(b.p ? b.p : "", b.len);
    buf_free(&b);
    return s;
}

/* ---------- defaults and single assignments ---------- */

void conf_free(const conf_key *keys, void *base)
{
    for (const conf_key *k = keys; k->name; k++) field_release(k, field_of(k, base));
}

/* Parse val for k and store it. shown is the name as the user wrote it. */
static int assign(const conf_key *k, void *base, int src, const char *where, const char *shown,
                  const char *val, size_t vlen, char *err, size_t errlen)
{
    void *tmp = xcalloc(1, field_size(k));
    conf_why w;
    if (parse_value(k, src, val, vlen, tmp, field_of(k, base), &w) != 0) {
        load_error(err, errlen, where, shown, k, val, vlen, &w);
        xfree(tmp);
        return -1;
    }
    field_commit(k, base, tmp);
    xfree(tmp);
    return 0;
}

int conf_defaults(const conf_key *keys, void *base, char *err, size_t errlen)
{
    conf_free(keys, base);
    for (const conf_key *k = keys; k->name; k++) {
        const char *d = k->def ? k->def : "";
        /* A special key or a number without a default stays zeroed. */
        if (!k->def && k->type != CONF_STRING) continue;
        if (assign(k, base, CONF_SRC_DEFAULT, "default", k->name, d, strlen(d), err, errlen) != 0)
            return -1;
    }
    return 0;
}

int conf_set_one(const conf_key *keys, void *base, int src, const char *where,
                 const char *name, size_t nlen, const char *val, size_t vlen,
                 char *err, size_t errlen)
{
    char shown[128];
    show_value(shown, sizeof(shown), name, nlen);
    const conf_key *k = conf_find(keys, name, nlen, NULL);
    if (!k) {
        snprintf(err, errlen, "%s: '%s': unknown config key", where, shown);
        return -1;
    }
    return assign(k, base, src, where, shown, val, vlen, err, errlen);
}

/* ---------- YAML ---------- */

typedef struct {
    yaml_parser_t p;
    const char *label;
    char *err;
    size_t errlen;
} yload;

static int y_next(yload *y, yaml_event_t *ev)
{
    if (yaml_parser_parse(&y->p, ev)) return 0;
    snprintf(y->err, y->errlen, "%s:%zu: YAML syntax error: %s%s%s%s", y->label,
             (size_t)y->p.problem_mark.line + 1, y->p.problem ? y->p.problem : "unknown",
             y->p.context ? " (" : "", y->p.context ? y->p.context : "", y->p.context ? ")" : "");
    return -1;
}

/* An unquoted empty, ~ or null scalar is YAML's null: treated as "". */
static int y_is_null(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    return n == 0 || (n == 1 && v[0] == '~') ||
           (n == 4 && (!memcmp(v, "null", 4) || !memcmp(v, "Null", 4) || !memcmp(v, "NULL", 4)));
}

/* Flatten the node that starts with *ev (consumed here) into space-separated
 * words: a sequence becomes its items, a mapping "key value key value". That
 * is exactly the one-line form Redis uses for lists and special values. */
static int y_flatten(yload *y, yaml_event_t *ev, buf_t *out, int depth)
{
    size_t line = (size_t)ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (!y_is_null(ev) && ev->data.scalar.length) {
            if (out->len) buf_append(out, " ", 1);
            buf_append(out, ev->data.scalar.value, ev->data.scalar.length);
        }
        yaml_event_delete(ev);
        return 0;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        yaml_event_type_t end = ev->type == YAML_SEQUENCE_START_EVENT ? YAML_SEQUENCE_END_EVENT
                                                                      : YAML_MAPPING_END_EVENT;
        yaml_event_delete(ev);
        if (depth >= 8) {
            snprintf(y->err, y->errlen, "%s:%zu: value nested too deeply", y->label, line);
            return -1;
        }
        for (;;) {
            yaml_event_t e;
            if (y_next(y, &e) != 0) return -1;
            if (e.type == end) { yaml_event_delete(&e); return 0; }
            if (y_flatten(y, &e, out, depth + 1) != 0) return -1;
        }
    }
    case YAML_ALIAS_EVENT:
        snprintf(y->err, y->errlen, "%s:%zu: YAML aliases (*name) are not supported", y->label, line);
        break;
    default:
        snprintf(y->err, y->errlen, "%s:%zu: unexpected YAML structure", y->label, line);
        break;
    }
    yaml_event_delete(ev);
    return -1;
}

/* Reads the top-level mapping(s) and assigns each key. */
static int y_run(yload *y, const conf_key *keys, void *base)
{
    int nkeys = conf_count(keys), rc = -1;
    unsigned char *seen = xcalloc((size_t)nkeys * 2 + 1, 1);
    yaml_event_t ev;
    for (;;) {
        if (y_next(y, &ev) != 0) goto out;
        yaml_event_type_t t = ev.type;
        size_t line = (size_t)ev.start_mark.line + 1;
        if (t == YAML_STREAM_END_EVENT) { yaml_event_delete(&ev); rc = 0; goto out; }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT || t == YAML_DOCUMENT_END_EVENT ||
            (t == YAML_SCALAR_EVENT && y_is_null(&ev))) { /* empty document */
            yaml_event_delete(&ev);
            continue;
        }
        yaml_event_delete(&ev);
        if (t != YAML_MAPPING_START_EVENT) {
            snprintf(y->err, y->errlen, "%s:%zu: expected a mapping of 'key: value' lines", y->label, line);
            goto out;
        }
        for (;;) {
            if (y_next(y, &ev) != 0) goto out;
            if (ev.type == YAML_MAPPING_END_EVENT) { yaml_event_delete(&ev); break; }
            line = (size_t)ev.start_mark.line + 1;
            if (ev.type != YAML_SCALAR_EVENT) {
                yaml_event_delete(&ev);
                snprintf(y->err, y->errlen, "%s:%zu: expected a config key name", y->label, line);
                goto out;
            }
            char *key = xmemdup(ev.data.scalar.value, ev.data.scalar.length);
            size_t klen = ev.data.scalar.length;
            yaml_event_delete(&ev);
            char where[512], shown[128];
            snprintf(where, sizeof(where), "%s:%zu", y->label, line);
            show_value(shown, sizeof(shown), key, klen);
            buf_t v;
            buf_init(&v);
            int bad = y_next(y, &ev) != 0 || y_flatten(y, &ev, &v, 0) != 0;
            int alias = 0;
            const conf_key *k = bad ? NULL : conf_find(keys, key, klen, &alias);
            if (!bad && !k) {
                snprintf(y->err, y->errlen, "%s: '%s': unknown config key", where, shown);
                bad = 1;
            } else if (!bad && seen[(k - keys) * 2 + alias]) {
                snprintf(y->err, y->errlen, "%s: '%s': duplicate key", where, shown);
                bad = 1;
            } else if (!bad) {
                seen[(k - keys) * 2 + alias] = 1;
                bad = assign(k, base, CONF_SRC_FILE, where, shown, v.len ? v.p : "", v.len,
                             y->err, y->errlen) != 0;
            }
            buf_free(&v);
            xfree(key);
            if (bad) goto out;
        }
    }
out:
    xfree(seen);
    return rc;
}

int conf_load_string(const conf_key *keys, void *base, const char *label,
                     const char *text, size_t len, char *err, size_t errlen)
{
    yload y = { .label = label, .err = err, .errlen = errlen };
    if (!yaml_parser_initialize(&y.p)) {
        snprintf(err, errlen, "%s: cannot initialise the YAML parser", label);
        return -1;
    }
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
    int rc = y_run(&y, keys, base);
    yaml_parser_delete(&y.p);
    return rc;
}

int conf_load_file(const conf_key *keys, void *base, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open config file: %s", path, strerror(errno));
        return -1;
    }
    yload y = { .label = path, .err = err, .errlen = errlen };
    if (!yaml_parser_initialize(&y.p)) {
        fclose(f);
        snprintf(err, errlen, "%s: cannot initialise the YAML parser", path);
        return -1;
    }
    yaml_parser_set_input_file(&y.p, f);
    int rc = y_run(&y, keys, base);
    yaml_parser_delete(&y.p);
    fclose(f);
    return rc;
}

/* ---------- command line ---------- */

int conf_load_args(const conf_key *keys, void *base, int argc, char **argv,
                   const char **path_out, char *err, size_t errlen)
{
    int i = 1;
    if (path_out) *path_out = NULL;
    if (conf_defaults(keys, base, err, errlen) != 0) return -1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        if (conf_load_file(keys, base, argv[1], err, errlen) != 0) return -1;
        if (path_out) *path_out = argv[1];
        i = 2;
    }
    while (i < argc) {
        const char *opt = argv[i];
        if (strncmp(opt, "--", 2) != 0) {
            char shown[128];
            show_value(shown, sizeof(shown), opt, strlen(opt));
            snprintf(err, errlen, "command line: unexpected argument '%s' (the config file must come "
                     "first, options are --name value)", shown);
            return -1;
        }
        /* Redis joins every word up to the next --option: `--save 60 100`. */
        buf_t v;
        buf_init(&v);
        int j = i + 1;
        for (; j < argc && strncmp(argv[j], "--", 2) != 0; j++) {
            if (j > i + 1) buf_append(&v, " ", 1);
            buf_printf(&v, "%s", argv[j]); /* may be "" */
        }
        char shown[128];
        show_value(shown, sizeof(shown), opt, strlen(opt));
        const conf_key *k = conf_find(keys, opt + 2, strlen(opt + 2), NULL);
        int rc;
        if (!k) {
            snprintf(err, errlen, "command line: '%s': unknown config key", shown);
            rc = -1;
        } else {
            rc = assign(k, base, CONF_SRC_CLI, "command line", shown, v.len ? v.p : "", v.len, err, errlen);
        }
        buf_free(&v);
        if (rc != 0) return -1;
        i = j;
    }
    return 0;
}

/* ---------- CONFIG SET ---------- */

static void set_error(char *err, size_t errlen, const char *name, const char *reason)
{
    snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, reason);
}

int conf_set_multi(const conf_key *keys, void *base, int n,
                   const char *const *names, const size_t *nlens,
                   const char *const *vals, const size_t *vlens,
                   conf_apply_fn *apply, void *actx, char *err, size_t errlen)
{
    if (n <= 0) return 0;
    const conf_key **ks = xcalloc((size_t)n, sizeof(*ks));
    const char **kname = xcalloc((size_t)n, sizeof(*kname));
    void **nw = xcalloc((size_t)n, sizeof(*nw)), **old = xcalloc((size_t)n, sizeof(*old));
    int rc = -1;
    buf_t b;
    buf_init(&b);

    /* 1: every name known, settable and given once (Redis checks all names
     * before it looks at any value). */
    for (int i = 0; i < n; i++) {
        int alias = 0;
        char shown[128];
        show_value(shown, sizeof(shown), names[i], nlens[i]);
        ks[i] = conf_find(keys, names[i], nlens[i], &alias);
        if (!ks[i]) {
            snprintf(err, errlen, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", shown);
            goto done;
        }
        kname[i] = alias ? ks[i]->alias : ks[i]->name;
        if (!(ks[i]->flags & CONF_RUNTIME) || (ks[i]->flags & CONF_PROTECTED)) {
            set_error(err, errlen, kname[i], (ks[i]->flags & CONF_PROTECTED) ? "can't set protected config"
                                                                            : "can't set immutable config");
            goto done;
        }
        for (int j = 0; j < i; j++) {
            if (nlens[j] == nlens[i] && strncasecmp(names[j], names[i], nlens[i]) == 0) {
                set_error(err, errlen, shown, "duplicate parameter");
                goto done;
            }
        }
    }

    /* 2: parse and validate every value before touching anything. A key
     * named twice through an alias parses against the value in place; the
     * later one wins, as in Redis. */
    for (int i = 0; i < n; i++) {
        conf_why w;
        nw[i] = xcalloc(1, field_size(ks[i]));
        if (parse_value(ks[i], CONF_SRC_SET, vals[i], vlens[i], nw[i], field_of(ks[i], base), &w) != 0) {
            xfree(nw[i]);
            nw[i] = NULL;
            why_redis(ks[i], &w, &b);
            buf_append(&b, "", 1);
            set_error(err, errlen, kname[i], b.p);
            goto done;
        }
    }

    /* 3: store, keeping the old bytes for a rollback. */
    for (int i = 0; i < n; i++) {
        void *f = field_of(ks[i], base);
        size_t sz = field_size(ks[i]);
        old[i] = xmalloc(sz);
        memcpy(old[i], f, sz);
        memcpy(f, nw[i], sz);
        xfree(nw[i]);
        nw[i] = NULL;
    }

    /* 4: act on the new values; on failure put every old value back and
     * re-apply so the program matches its config again. */
    for (int i = 0; i < n; i++) {
        char why[256] = "";
        int bad = ks[i]->apply && ks[i]->apply(ks[i], base, why, sizeof(why)) != 0;
        if (!bad && apply) bad = apply(actx, ks[i], base, why, sizeof(why)) != 0;
        if (!bad) continue;
        set_error(err, errlen, kname[i], why[0] ? why : "failed to apply the new value");
        for (int j = n - 1; j >= 0; j--) {
            void *f = field_of(ks[j], base);
            field_release(ks[j], f);
            memcpy(f, old[j], field_size(ks[j]));
            xfree(old[j]);
            old[j] = NULL;
        }
        for (int j = 0; j <= i; j++) {
            char ignored[256];
            if (ks[j]->apply) ks[j]->apply(ks[j], base, ignored, sizeof(ignored));
            if (apply) apply(actx, ks[j], base, ignored, sizeof(ignored));
        }
        goto done;
    }
    for (int i = 0; i < n; i++) {
        field_release(ks[i], old[i]);
        xfree(old[i]);
        old[i] = NULL;
    }
    rc = 0;

done:
    for (int i = 0; i < n; i++) {
        if (nw[i]) { field_release(ks[i], nw[i]); xfree(nw[i]); }
    }
    for (int i = 0; i < n; i++) xfree(old[i]);
    buf_free(&b);
    xfree(ks);
    xfree(kname);
    xfree(nw);
    xfree(old);
    return rc;
}

/* ---------- CONFIG GET ---------- */

static int has_glob(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] == '*' || p[i] == '?' || p[i] == '[') return 1;
    return 0;
}

static void emit_one(const conf_key *k, const void *base, const char *name, buf_t *b,
                     conf_emit_fn *emit, void *ctx)
{
    b->len = b->off = 0;
    conf_format(k, base, b);
    buf_append(b, "", 1); /* NUL for the C-string callback */
    emit(ctx, name, b->p);
}

void conf_get_multi(const conf_key *keys, const void *base, int n,
                    const char *const *pats, const size_t *plens,
                    conf_emit_fn *emit, void *ctx)
{
    int nkeys = conf_count(keys);
    unsigned char *seen = xcalloc((size_t)nkeys * 2 + 1, 1);
    buf_t b;
    buf_init(&b);
    for (int p = 0; p < n; p++) {
        if (!has_glob(pats[p], plens[p])) {
            int alias = 0;
            const conf_key *k = conf_find(keys, pats[p], plens[p], &alias);
            if (!k || seen[(k - keys) * 2 + alias]) continue;
            seen[(k - keys) * 2 + alias] = 1;
            char *name = xmemdup(pats[p], plens[p]);
            emit_one(k, base, name, &b, emit, ctx);
            xfree(name);
            continue;
        }
        for (int i = 0; i < nkeys; i++) {
            const conf_key *k = &keys[i];
            if (k->flags & CONF_HIDDEN) continue;
            for (int a = 0; a < 2; a++) {
                const char *nm = a ? k->alias : k->name;
                if (!nm || seen[i * 2 + a]) continue;
                if (!glob_match(pats[p], plens[p], nm, strlen(nm), 1)) continue;
                seen[i * 2 + a] = 1;
                emit_one(k, base, nm, &b, emit, ctx);
            }
        }
    }
    buf_free(&b);
    xfree(seen);
}
