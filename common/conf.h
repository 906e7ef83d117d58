/* conf: a generic, table-driven configuration loader shared by the node and
 * the proxy. A program describes its settings as a table of conf_key entries
 * pointing (by offset) into its own config struct; this module fills the
 * struct from defaults, a YAML file and `--name value` command-line options,
 * and implements Redis-compatible CONFIG GET / CONFIG SET on top of it. */
#ifndef SHOAL_CONF_H
#define SHOAL_CONF_H
#include <stddef.h>
#include "buf.h"

typedef enum {
    CONF_BOOL,    /* int: 0/1; "yes"/"no" (file and CLI also take true/false) */
    CONF_INT,     /* long long within [min, max] */
    CONF_MEMORY,  /* long long; "1k"=1000, "1kb"=1024, m/mb, g/gb, bare = bytes */
    CONF_STRING,  /* char *, never NULL once loaded ("" when unset) */
    CONF_ENUM,    /* int: the value of one of k->enums */
    CONF_LIST,    /* conf_list: YAML sequence, or space/comma separated words */
    CONF_SPECIAL  /* k->size bytes handled by k->parse / k->format / k->free_fn */
} conf_type;

/* Key flags. */
#define CONF_RUNTIME   (1u << 0) /* may be changed by CONFIG SET */
#define CONF_HIDDEN    (1u << 1) /* left out of CONFIG GET patterns (exact name still works) */
#define CONF_PROTECTED (1u << 2) /* refused by CONFIG SET as a protected config */
#define CONF_NEGATIVE  (1u << 3) /* CONF_MEMORY: a leading '-' is accepted */

/* Where a value comes from: decides the spelling accepted for booleans
 * (Redis's CONFIG SET takes only yes/no). */
enum { CONF_SRC_DEFAULT, CONF_SRC_FILE, CONF_SRC_CLI, CONF_SRC_SET };

typedef struct conf_enum_val { const char *name; int value; } conf_enum_val;

typedef struct conf_list { int n; char **v; } conf_list;

typedef struct conf_key conf_key;
struct conf_key {
    const char *name;
    const char *alias;         /* older second name (e.g. *-ziplist-*), or NULL */
    conf_type type;
    size_t off;                /* offsetof(field) in the config struct */
    const char *def;           /* default, parsed like any other value */
    long long min, max;        /* CONF_INT / CONF_MEMORY bounds, inclusive */
    unsigned flags;
    const conf_enum_val *enums;/* CONF_ENUM: terminated by {NULL, 0} */
    size_t size;               /* CONF_SPECIAL: bytes of the field */
    /* CONF_SPECIAL: parse val into the zeroed *out; cur is the value in
     * place (for partial updates). Return 0, or -1 with a reason in why. */
    int  (*parse)(void *out, const void *cur, const char *val, size_t vlen, char *why, size_t wlen);
    /* Formats the field as CONFIG GET shows it (required for CONF_SPECIAL,
     * optional override for the other types). */
    void (*format)(const void *field, buf_t *out);
    void (*free_fn)(void *field); /* CONF_SPECIAL: release what parse allocated */
    /* Optional check of a freshly parsed value, at load and at CONFIG SET;
     * may normalise it in place (e.g. clamp). 0 ok, -1 with why. */
    int  (*validate)(void *field, char *why, size_t wlen);
    /* Optional, CONFIG SET only: act on the new value, already stored in
     * base. -1 with why makes the whole CONFIG SET roll back. */
    int  (*apply)(const conf_key *k, void *base, char *why, size_t wlen);
};

/* Called by conf_set_multi for each changed key after the per-key apply;
 * -1 with why rolls everything back (e.g. a listener could not be rebound). */
typedef int conf_apply_fn(void *ctx, const conf_key *k, void *base, char *why, size_t wlen);
/* CONFIG GET output: one name/value pair. */
typedef void conf_emit_fn(void *ctx, const char *name, const char *value);

/* Tables end with an entry whose name is NULL. */
int  conf_count(const conf_key *keys);
/* Find a key by name or alias, ignoring case. *is_alias (may be NULL) tells
 * which name matched. */
const conf_key *conf_find(const conf_key *keys, const char *name, size_t nlen, int *is_alias);

/* Release every allocated field and zero the table's fields. Safe on a
 * zeroed struct. */
void conf_free(const conf_key *keys, void *base);
/* conf_free, then store every default. 0, or -1 if a default is invalid. */
int  conf_defaults(const conf_key *keys, void *base, char *err, size_t errlen);

/* Apply a YAML file (a mapping of key: value) over the current values.
 * Errors read "path:line: 'key': reason". */
int  conf_load_file(const conf_key *keys, void *base, const char *path, char *err, size_t errlen);
/* Same for YAML text in memory; label stands for the file name in errors. */
int  conf_load_string(const conf_key *keys, void *base, const char *label,
                      const char *text, size_t len, char *err, size_t errlen);
/* Full startup load: defaults, then the file if argv[1] does not start with
 * "--", then `--name value...` overrides (several words after one option
 * are joined with spaces, as Redis does). *path_out (may be NULL) gets
 * argv[1] when it was taken as the file, else NULL. */
int  conf_load_args(const conf_key *keys, void *base, int argc, char **argv,
                    const char **path_out, char *err, size_t errlen);
/* Set one key from a string, as a file/CLI line would (no runtime checks);
 * where is used as the error prefix ("command line"). */
int  conf_set_one(const conf_key *keys, void *base, int src, const char *where,
                  const char *name, size_t nlen, const char *val, size_t vlen,
                  char *err, size_t errlen);

/* CONFIG SET name value [name value ...]: all-or-nothing. Checks names,
 * mutability and duplicates, parses and validates every value, stores them,
 * then runs each key's apply and the optional apply callback; any failure
 * restores all old values. err gets Redis's reply text ("ERR ..."). */
int  conf_set_multi(const conf_key *keys, void *base, int n,
                    const char *const *names, const size_t *nlens,
                    const char *const *vals, const size_t *vlens,
                    conf_apply_fn *apply, void *actx, char *err, size_t errlen);

/* CONFIG GET pattern [pattern ...]: emits every matching name (key names and
 * aliases, case-insensitive glob) in table order, each at most once. A
 * pattern without glob characters is an exact lookup and is echoed as
 * given, as Redis 7 does. */
void conf_get_multi(const conf_key *keys, const void *base, int n,
                    const char *const *pats, const size_t *plens,
                    conf_emit_fn *emit, void *ctx);

/* Append the CONFIG GET form of k's value to out (no NUL added). */
void conf_format(const conf_key *k, const void *base, buf_t *out);
/* Same, as a new xmalloc'd C string. */
char *conf_format_str(const conf_key *k, const void *base);

/* Shared value parsers, also handy for CONF_SPECIAL keys. Return 1 on success. */
int  conf_parse_memory(const char *s, size_t len, int allow_negative, long long *out);
int  conf_parse_bool(const char *s, size_t len, int src, int *out);
/* Split on spaces, tabs, newlines and commas; empty words are skipped. */
void conf_list_split(const char *s, size_t len, conf_list *out);
void conf_list_free(conf_list *l);

#endif
