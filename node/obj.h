/* obj: value types and encodings, string payloads, and the per-type
 * operation table (free/copy/size/serialize) each t_<type>.c provides. */
#ifndef SHOAL_OBJ_H
#define SHOAL_OBJ_H
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "kv.h"

/* Type numbers match Redis's, which keeps TYPE/OBJECT replies simple. */
enum { OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4, OBJ_TYPE_COUNT = 5 };

enum {
    OBJ_ENC_RAW = 0,       /* string: val is an sstr* */
    OBJ_ENC_INT = 1,       /* string: val holds the int64 itself (no allocation) */
    OBJ_ENC_HT = 2,        /* hash/set: val is a dict* */
    OBJ_ENC_LISTPACK = 3,  /* small hash/zset/list: val is a listpack (uint8_t*) */
    OBJ_ENC_INTSET = 4,    /* small integer set: val is an intset* */
    OBJ_ENC_SKIPLIST = 5,  /* big zset: val is a zset_big* (dict + skiplist) */
    OBJ_ENC_QUICKLIST = 6, /* big list: val is a quicklist* */
};

/* A binary-safe string payload: one allocation, capacity is the
 * allocator's usable size (no separate field needed). */
typedef struct sstr {
    uint32_t len;
    char     data[];
} sstr;

sstr  *sstr_new(const void *p, size_t len);
sstr  *sstr_new_len(size_t len);              /* zero-filled */
/* Grows to at least len bytes (new bytes zeroed), may move: returns the new pointer. */
sstr  *sstr_grow(sstr *s, size_t len);
size_t sstr_cap(const sstr *s);
void   sstr_free(sstr *s);

/* String values: SET stores strings that are canonical integers as
 * OBJ_ENC_INT. Readers get the bytes through str_get (ints rendered
 * into the caller's 24-byte scratch). */
void  str_set_value(kv *e, const char *p, size_t len); /* frees nothing: e->val must be empty */
const char *str_get(const kv *e, size_t *len, char scratch[24]);
void *obj_int_to_val(long long v);
long long obj_val_to_int(const void *val);

typedef struct obj_type_ops {
    const char *name;                          /* TYPE reply: "string", "list"... */
    void   (*free_val)(int enc, void *val);
    void  *(*dup_val)(int enc, const void *val);   /* deep copy, same encoding */
    size_t (*mem_usage)(int enc, const void *val); /* bytes, for MEMORY USAGE */
    const char *(*enc_name)(int enc, const void *val); /* OBJECT ENCODING */
    /* DUMP body (Shoal's own format, see dump.c) and its validating reverse;
     * deserialize returns 0 and sets *enc and *val, or -1 for a bad payload. */
    void   (*serialize)(int enc, const void *val, buf_t *out);
    int    (*deserialize)(const char *p, size_t n, int *enc, void **val);
} obj_type_ops;

extern const obj_type_ops string_type_ops, list_type_ops, set_type_ops,
    zset_type_ops, hash_type_ops;
const obj_type_ops *obj_ops(int type);
void obj_free_entry_value(kv *e);   /* frees e->val with its type's ops, sets NULL */

#endif
