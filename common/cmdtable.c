/* cmdtable: lookup index over the generated command table, the key-spec
 * interpreter (key positions of a concrete invocation) and the COMMAND
 * INFO / COMMAND DOCS reply writers. The data is in cmdtable_data.c. */
#include <pthread.h>
#include <string.h>
#include "cmdtable.h"
#include "mem.h"
#include "resp.h"
#include "util.h"

/* Defined in the generated cmdtable_data.c. */
extern const cmd_meta *const cmd_table_by_id[];
extern const int cmd_table_count_all;

/* ---- Lookup index --------------------------------------------------
 * One open-addressing table for every command: the hash mixes the parent
 * id into the name hash, so "get" and CONFIG's "get" live side by side.
 * Built once under pthread_once, read-only afterwards (lock-free reads). */
#define CMD_HT_SIZE 2048              /* power of two, > 4x the ~370 commands */
#define CMD_NAME_MAX 64               /* longer input cannot be a command */

static uint16_t cmd_ht[CMD_HT_SIZE];  /* id + 1, 0 = empty slot */
static pthread_once_t cmd_ht_once = PTHREAD_ONCE_INIT;

static inline unsigned char lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* FNV-1a over the lowercased name, mixed with the parent id. Private and
 * unseeded on purpose: the index must not change if the global hash seed
 * is set after it was built. */
static uint32_t cmd_hash(int parent_id, const char *s, size_t len)
{
    uint32_t h = 2166136261u ^ (uint32_t)(parent_id + 1) * 0x9e3779b1u;
    for (size_t i = 0; i < len; i++) {
        h ^= lc((unsigned char)s[i]);
        h *= 16777619u;
    }
    return h ^ (h >> 15);
}

static void cmd_ht_insert(const cmd_meta *m)
{
    int pid = m->parent ? m->parent->id : -1;
    uint32_t i = cmd_hash(pid, m->name, (size_t)m->name_len) & (CMD_HT_SIZE - 1);
    while (cmd_ht[i])
        i = (i + 1) & (CMD_HT_SIZE - 1);
    cmd_ht[i] = (uint16_t)(m->id + 1);
}

static void cmd_ht_build(void)
{
    for (int id = 0; id < cmd_table_count_all; id++)
        cmd_ht_insert(cmd_table_by_id[id]);
}

void cmd_table_init(void)
{
    pthread_once(&cmd_ht_once, cmd_ht_build);
}

static int name_eq(const cmd_meta *m, const char *s, size_t len)
{
    if ((size_t)m->name_len != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (lc((unsigned char)s[i]) != (unsigned char)m->name[i])
            return 0;
    return 1;
}

static const cmd_meta *cmd_find(const cmd_meta *parent, const char *name, size_t len)
{
    if (len == 0 || len > CMD_NAME_MAX)
        return NULL;
    cmd_table_init();
    int pid = parent ? parent->id : -1;
    uint32_t i = cmd_hash(pid, name, len) & (CMD_HT_SIZE - 1);
    while (cmd_ht[i]) {
        const cmd_meta *m = cmd_table_by_id[cmd_ht[i] - 1];
        if (m->parent == parent && name_eq(m, name, len))
            return m;
        i = (i + 1) & (CMD_HT_SIZE - 1);
    }
    return NULL;
}

const cmd_meta *cmd_lookup(const char *name, size_t len)
{
    return cmd_find(NULL, name, len);
}

const cmd_meta *cmd_lookup_sub(const cmd_meta *parent, const char *name, size_t len)
{
    if (!parent || parent->subcmds_n == 0)
        return NULL;
    return cmd_find(parent, name, len);
}

const cmd_meta *cmd_lookup_full(const char *fullname, size_t len)
{
    const char *bar = memchr(fullname, '|', len);
    if (!bar)
        return cmd_lookup(fullname, len);
    const cmd_meta *p = cmd_lookup(fullname, (size_t)(bar - fullname));
    return cmd_lookup_sub(p, bar + 1, len - (size_t)(bar - fullname) - 1);
}

int cmd_count_all(void)
{
    return cmd_table_count_all;
}

const cmd_meta *cmd_by_id(int id)
{
    return (id >= 0 && id < cmd_table_count_all) ? cmd_table_by_id[id] : NULL;
}

const char *cmd_fullname(const cmd_meta *m, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    size_t n = strlen(m->fullname);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, m->fullname, n);
    buf[n] = '\0';
    return buf;
}

/* ---- Key extraction -------------------------------------------------- */
static int argeq(const char *const *argv, const size_t *argl, int i, const char *word)
{
    return arg_is(argv[i], argl[i], word);
}

static int put_key(cmd_keyref *out, int max, int n, int pos, unsigned flags)
{
    if (n < max) {
        out[n].pos = pos;
        out[n].flags = flags;
    }
    return n + 1;
}

/* Argv index of a spec's keyword, 0 if absent. Like Redis, the last
 * argument is never taken as the keyword (a key must follow it) and a
 * backward search stops before argv[1]. */
static int find_keyword(const cmd_key_spec *ks, int argc, const char *const *argv,
                        const size_t *argl)
{
    if (ks->bs_startfrom >= 0) {
        for (int i = ks->bs_startfrom; i < argc - 1; i++)
            if (i >= 1 && argeq(argv, argl, i, ks->bs_keyword))
                return i;
    } else {
        for (int i = argc + ks->bs_startfrom; i > 1; i--)
            if (i < argc && argeq(argv, argl, i, ks->bs_keyword))
                return i;
    }
    return 0;
}

/* Keys of one spec appended to out; returns the new count or -1. */
static int spec_keys(const cmd_key_spec *ks, int argc, const char *const *argv,
                     const size_t *argl, cmd_keyref *out, int max, int n)
{
    int first, last, step;

    if (ks->bs_type == CMD_BS_INDEX) {
        first = ks->bs_index;
    } else if (ks->bs_type == CMD_BS_KEYWORD) {
        int kw = find_keyword(ks, argc, argv, argl);
        if (!kw)
            return n;               /* optional keyword absent: no keys */
        first = kw + 1;
    } else {
        return n;                   /* unknown: nothing positional to find */
    }
    if (first < 1)
        return -1;

    step = ks->fk_keystep > 0 ? ks->fk_keystep : 1;
    if (ks->fk_type == CMD_FK_RANGE) {
        if (ks->fk_lastkey >= 0) {
            last = first + ks->fk_lastkey;
        } else if (ks->fk_limit <= 0) {
            last = argc + ks->fk_lastkey;
            /* "all remaining args" with none remaining: a valid empty range
             * (e.g. SUNSUBSCRIBE with no channel). */
            if (ks->fk_lastkey == -1 && first == argc)
                return n;
        } else {
            if (first > argc)
                return -1;
            /* Only 1/limit of the remaining args are keys (XREAD STREAMS
             * k1 k2 id1 id2: half of them). */
            last = first + (argc - first) / ks->fk_limit + ks->fk_lastkey;
        }
    } else if (ks->fk_type == CMD_FK_KEYNUM) {
        int ni = first + ks->fk_keynumidx;
        long long numkeys;
        if (ni >= argc || !str_to_ll(argv[ni], argl[ni], &numkeys) || numkeys < 0)
            return -1;
        first += ks->fk_firstkey;
        if (numkeys == 0)
            return n;
        if (numkeys > argc)         /* also keeps the product below in range */
            return -1;
        last = first + (int)(numkeys - 1) * step;
    } else {
        return n;
    }

    if (first >= argc || last >= argc || last < first)
        return -1;
    for (int i = first; i <= last; i += step)
        n = put_key(out, max, n, i, ks->flags);
    return n;
}

/* SORT key STORE dest: Redis marks the STORE spec unknown because the
 * keyword may sit anywhere, so scan the options. LIMIT takes two args,
 * BY/GET one; the last STORE wins. */
static int sort_keys(int argc, const char *const *argv, const size_t *argl,
                     cmd_keyref *out, int max)
{
    int n = 0, store = 0;
    if (argc < 2)
        return -1;
    n = put_key(out, max, n, 1, CMD_KS_RO | CMD_KS_ACCESS);
    for (int i = 2; i < argc; i++) {
        if (argeq(argv, argl, i, "limit"))
            i += 2;
        else if (argeq(argv, argl, i, "get") || argeq(argv, argl, i, "by"))
            i += 1;
        else if (argeq(argv, argl, i, "store") && i + 1 < argc)
            store = i + 1;          /* the target itself is rescanned, as Redis does */
    }
    if (store)
        n = put_key(out, max, n, store, CMD_KS_OW | CMD_KS_UPDATE);
    return n;
}

/* MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
 * [AUTH2 user pw] [KEYS k...]: the key is argv[3] unless the KEYS option is
 * given, which requires argv[3] to be empty. Mirrors Redis 7.0 exactly:
 * its incomplete KEYS spec is only trusted when a "KEYS" token appears
 * before the last argument; then the options are parsed properly (AUTH and
 * AUTH2 arguments are skipped, so a password "keys" is not the option). */
static int migrate_keys(int argc, const char *const *argv, const size_t *argl,
                        cmd_keyref *out, int max)
{
    const unsigned fl = CMD_KS_RW | CMD_KS_ACCESS | CMD_KS_DELETE;
    int n = 0, seen = 0;
    if (argc < 6)
        return -1;
    for (int i = argc - 2; i > 1 && !seen; i--)
        seen = argeq(argv, argl, i, "keys");
    for (int i = 6; seen && i < argc; i++) {
        if (argeq(argv, argl, i, "keys")) {
            if (argl[3] != 0)
                return -1;
            for (int k = i + 1; k < argc; k++)
                n = put_key(out, max, n, k, fl);
            return n;
        }
        if (argeq(argv, argl, i, "auth"))
            i += 1;
        else if (argeq(argv, argl, i, "auth2"))
            i += 2;
    }
    return put_key(out, max, n, 3, fl);
}

/* SET k v [... GET]: the key is read too when GET is given, else only
 * overwritten. */
static unsigned set_key_flags(int argc, const char *const *argv, const size_t *argl)
{
    for (int i = 3; i < argc; i++)
        if (argeq(argv, argl, i, "get"))
            return CMD_KS_RW | CMD_KS_ACCESS | CMD_KS_UPDATE;
    return CMD_KS_OW | CMD_KS_UPDATE;
}

/* BITFIELD k [GET t o] [SET t o v] [INCRBY t o n] [OVERFLOW w]: read-only
 * only if every operation is a complete GET or OVERFLOW; anything else (SET,
 * INCRBY or a syntax error) is assumed to write, as Redis does. */
static unsigned bitfield_key_flags(int argc, const char *const *argv, const size_t *argl)
{
    for (int i = 2; i < argc; i++) {
        int rem = argc - i - 1;
        if (argeq(argv, argl, i, "get") && rem >= 2)
            i += 2;
        else if (argeq(argv, argl, i, "overflow") && rem >= 1)
            i += 1;
        else
            return CMD_KS_RW | CMD_KS_ACCESS | CMD_KS_UPDATE;
    }
    return CMD_KS_RO | CMD_KS_ACCESS;
}

int cmd_get_keys_ex(const cmd_meta *m, int argc, const char *const *argv,
                    const size_t *argl, int search, cmd_keyref *out, int max)
{
    if (m->subcmds_n > 0) {
        if (argc < 2)
            return 0;
        m = cmd_lookup_sub(m, argv[1], argl[1]);
        if (!m)
            return 0;
    }
    if (m->getkeys == CMD_GK_SORT)
        return sort_keys(argc, argv, argl, out, max);
    if (m->getkeys == CMD_GK_MIGRATE)
        return migrate_keys(argc, argv, argl, out, max);

    int n = 0;
    for (int s = 0; s < m->key_specs_n; s++) {
        const cmd_key_spec *ks = &m->key_specs[s];
        if ((ks->flags & CMD_KS_NOT_KEY) && !(search & CMD_GETKEYS_NOT_KEYS))
            continue;
        n = spec_keys(ks, argc, argv, argl, out, max, n);
        if (n < 0)
            return -1;
    }
    if (m->getkeys == CMD_GK_SET_FLAGS || m->getkeys == CMD_GK_BITFIELD_FLAGS) {
        unsigned fl = m->getkeys == CMD_GK_SET_FLAGS ? set_key_flags(argc, argv, argl)
                                                     : bitfield_key_flags(argc, argv, argl);
        for (int i = 0; i < n && i < max; i++)
            out[i].flags = fl;
    }
    return n;
}

int cmd_get_keys(const cmd_meta *m, int argc, const char *const *argv,
                 const size_t *argl, int *pos, int maxpos)
{
    cmd_keyref tmp[64];
    cmd_keyref *refs = tmp;
    int cap = (int)(sizeof(tmp) / sizeof(tmp[0]));
    int n = cmd_get_keys_ex(m, argc, argv, argl, 0, refs, cap);
    if (n > cap) {
        /* Rare (more than 64 keys): run again into a heap array so pos[]
         * still gets the first maxpos keys. */
        refs = xmalloc(sizeof(*refs) * (size_t)n);
        n = cmd_get_keys_ex(m, argc, argv, argl, 0, refs, n);
    }
    for (int i = 0; i < n && i < maxpos; i++)
        pos[i] = refs[i].pos;
    if (refs != tmp)
        xfree(refs);
    return n;
}

/* ---- Names ------------------------------------------------------------ */
typedef struct { uint64_t bit; const char *name; } flag_name;

/* In the order Redis 7.0 prints them. MAY_REPLICATE is absent: 7.0 does not
 * print it. */
static const flag_name cmd_flag_names[] = {
    {CMD_F_WRITE, "write"}, {CMD_F_READONLY, "readonly"}, {CMD_F_DENYOOM, "denyoom"},
    {CMD_F_MODULE, "module"}, {CMD_F_ADMIN, "admin"}, {CMD_F_PUBSUB, "pubsub"},
    {CMD_F_NOSCRIPT, "noscript"}, {CMD_F_BLOCKING, "blocking"}, {CMD_F_LOADING, "loading"},
    {CMD_F_STALE, "stale"}, {CMD_F_SKIP_MONITOR, "skip_monitor"},
    {CMD_F_SKIP_SLOWLOG, "skip_slowlog"}, {CMD_F_ASKING, "asking"}, {CMD_F_FAST, "fast"},
    {CMD_F_NO_AUTH, "no_auth"}, {CMD_F_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_F_NO_ASYNC_LOADING, "no_async_loading"}, {CMD_F_NO_MULTI, "no_multi"},
    {CMD_F_MOVABLEKEYS, "movablekeys"}, {CMD_F_ALLOW_BUSY, "allow_busy"},
};
#define N_FLAG_NAMES (sizeof(cmd_flag_names) / sizeof(cmd_flag_names[0]))

/* Index = CMD_ACL_*_I, which is also the ACL CAT order. */
static const char *const cmd_acl_names[CMD_ACL_COUNT] = {
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
    "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
    "blocking", "dangerous", "connection", "transaction", "scripting",
};

/* Index = bit number of CMD_KS_*, also the order Redis prints them. */
static const char *const cmd_ks_names[] = {
    "RO", "RW", "OW", "RM", "access", "update", "insert", "delete",
    "not_key", "incomplete", "variable_flags",
};
#define N_KS_NAMES (sizeof(cmd_ks_names) / sizeof(cmd_ks_names[0]))

const char *cmd_flag_name(uint64_t bit)
{
    for (size_t i = 0; i < N_FLAG_NAMES; i++)
        if (cmd_flag_names[i].bit == bit)
            return cmd_flag_names[i].name;
    return NULL;
}

const char *cmd_acl_cat_name(int idx)
{
    return (idx >= 0 && idx < CMD_ACL_COUNT) ? cmd_acl_names[idx] : NULL;
}

int cmd_acl_cat_lookup(const char *name, size_t len)
{
    for (int i = 0; i < CMD_ACL_COUNT; i++)
        if (arg_is(name, len, cmd_acl_names[i]))
            return i;
    return -1;
}

/* ---- COMMAND INFO / DOCS writers --------------------------------------- */
static int popcount64(uint64_t v)
{
    return __builtin_popcountll(v);
}

void cmd_write_keyspec_flags(buf_t *b, int proto, unsigned flags)
{
    unsigned known = (1u << N_KS_NAMES) - 1;
    resp_w_set(b, proto, popcount64(flags & known));
    for (size_t i = 0; i < N_KS_NAMES; i++)
        if (flags & (1u << i))
            resp_w_status_cstr(b, cmd_ks_names[i]);
}

static void write_kv_int(buf_t *b, const char *k, long long v)
{
    resp_w_bulk_cstr(b, k);
    resp_w_int(b, v);
}

/* One key spec as Redis 7.0 writes it, minus the optional "notes". */
static void write_key_spec(buf_t *b, int proto, const cmd_key_spec *ks)
{
    resp_w_map(b, proto, 3);
    resp_w_bulk_cstr(b, "flags");
    cmd_write_keyspec_flags(b, proto, ks->flags);

    resp_w_bulk_cstr(b, "begin_search");
    resp_w_map(b, proto, 2);
    resp_w_bulk_cstr(b, "type");
    if (ks->bs_type == CMD_BS_INDEX) {
        resp_w_bulk_cstr(b, "index");
        resp_w_bulk_cstr(b, "spec");
        resp_w_map(b, proto, 1);
        write_kv_int(b, "index", ks->bs_index);
    } else if (ks->bs_type == CMD_BS_KEYWORD) {
        resp_w_bulk_cstr(b, "keyword");
        resp_w_bulk_cstr(b, "spec");
        resp_w_map(b, proto, 2);
        resp_w_bulk_cstr(b, "keyword");
        resp_w_bulk_cstr(b, ks->bs_keyword);
        write_kv_int(b, "startfrom", ks->bs_startfrom);
    } else {
        resp_w_bulk_cstr(b, "unknown");
        resp_w_bulk_cstr(b, "spec");
        resp_w_map(b, proto, 0);
    }

    resp_w_bulk_cstr(b, "find_keys");
    resp_w_map(b, proto, 2);
    resp_w_bulk_cstr(b, "type");
    if (ks->fk_type == CMD_FK_RANGE) {
        resp_w_bulk_cstr(b, "range");
        resp_w_bulk_cstr(b, "spec");
        resp_w_map(b, proto, 3);
        write_kv_int(b, "lastkey", ks->fk_lastkey);
        write_kv_int(b, "keystep", ks->fk_keystep);
        write_kv_int(b, "limit", ks->fk_limit);
    } else if (ks->fk_type == CMD_FK_KEYNUM) {
        resp_w_bulk_cstr(b, "keynum");
        resp_w_bulk_cstr(b, "spec");
        resp_w_map(b, proto, 3);
        write_kv_int(b, "keynumidx", ks->fk_keynumidx);
        write_kv_int(b, "firstkey", ks->fk_firstkey);
        write_kv_int(b, "keystep", ks->fk_keystep);
    } else {
        resp_w_bulk_cstr(b, "unknown");
        resp_w_bulk_cstr(b, "spec");
        resp_w_map(b, proto, 0);
    }
}

void cmd_write_info(buf_t *b, int proto, const cmd_meta *m)
{
    char cat[32];
    int n;

    resp_w_array(b, 10);
    resp_w_bulk_cstr(b, m->fullname);
    resp_w_int(b, m->arity);

    n = 0;
    for (size_t i = 0; i < N_FLAG_NAMES; i++)
        n += (m->flags & cmd_flag_names[i].bit) != 0;
    resp_w_set(b, proto, n);
    for (size_t i = 0; i < N_FLAG_NAMES; i++)
        if (m->flags & cmd_flag_names[i].bit)
            resp_w_status_cstr(b, cmd_flag_names[i].name);

    resp_w_int(b, m->first_key);
    resp_w_int(b, m->last_key);
    resp_w_int(b, m->key_step);

    resp_w_set(b, proto, popcount64(m->acl & ((1u << CMD_ACL_COUNT) - 1)));
    for (int i = 0; i < CMD_ACL_COUNT; i++) {
        if (!(m->acl & (1u << i)))
            continue;
        size_t l = strlen(cmd_acl_names[i]);
        cat[0] = '@';
        memcpy(cat + 1, cmd_acl_names[i], l);
        resp_w_status(b, cat, l + 1);
    }

    resp_w_set(b, proto, m->tips_n);
    for (int i = 0; i < m->tips_n; i++)
        resp_w_bulk_cstr(b, m->tips[i]);

    /* Redis 7.0 sends the key specs as a set in RESP3. */
    resp_w_set(b, proto, m->key_specs_n);
    for (int i = 0; i < m->key_specs_n; i++)
        write_key_spec(b, proto, &m->key_specs[i]);

    /* Subcommands: an array, or an empty set when there are none (sic). */
    if (m->subcmds_n == 0) {
        resp_w_set(b, proto, 0);
    } else {
        resp_w_array(b, m->subcmds_n);
        for (int i = 0; i < m->subcmds_n; i++)
            cmd_write_info(b, proto, &m->subcmds[i]);
    }
}

/* The doc map of one command. Only facts: Redis's map also carries
 * summary, complexity, history and arguments (its prose), left out here. */
static void write_doc_map(buf_t *b, int proto, const cmd_meta *m)
{
    resp_w_map(b, proto, m->subcmds_n ? 3 : 2);
    resp_w_bulk_cstr(b, "since");
    resp_w_bulk_cstr(b, m->since);
    resp_w_bulk_cstr(b, "group");
    resp_w_bulk_cstr(b, m->group);
    if (m->subcmds_n) {
        resp_w_bulk_cstr(b, "subcommands");
        resp_w_map(b, proto, m->subcmds_n);
        for (int i = 0; i < m->subcmds_n; i++) {
            resp_w_bulk_cstr(b, m->subcmds[i].fullname);
            write_doc_map(b, proto, &m->subcmds[i]);
        }
    }
}

void cmd_write_docs(buf_t *b, int proto, const cmd_meta *m)
{
    resp_w_bulk_cstr(b, m->fullname);
    write_doc_map(b, proto, m);
}
