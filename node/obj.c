/* obj: string payloads and the dispatch to per-type operations. */
#include "obj.h"
#include "mem.h"
#include "util.h"
#include <string.h>

sstr *sstr_new(const void *p, size_t len)
{
    sstr *s = xmalloc(sizeof(sstr) + len);
    s->len = (uint32_t)len;
    if (len) memcpy(s->data, p, len);
    return s;
}

sstr *sstr_new_len(size_t len)
{
    sstr *s = xcalloc(1, sizeof(sstr) + len);
    s->len = (uint32_t)len;
    return s;
}

size_t sstr_cap(const sstr *s) { return mem_alloc_size(s) - sizeof(sstr); }

sstr *sstr_grow(sstr *s, size_t len)
{
    if (len <= s->len) return s;
    if (len > sstr_cap(s)) {
        /* Grow geometrically so repeated APPENDs stay amortised O(1). */
        size_t want = len < 1024 * 1024 ? len * 2 : len + 1024 * 1024;
        s = xrealloc(s, sizeof(sstr) + want);
    }
    memset(s->data + s->len, 0, len - s->len);
    s->len = (uint32_t)len;
    return s;
}

void sstr_free(sstr *s) { xfree(s); }

void *obj_int_to_val(long long v) { return (void *)(intptr_t)v; }
long long obj_val_to_int(const void *val) { return (long long)(intptr_t)val; }

void str_set_value(kv *e, const char *p, size_t len)
{
    long long v;
    e->type = OBJ_STRING;
    if (len <= 20 && str_to_ll(p, len, &v)) {
        e->enc = OBJ_ENC_INT;
        e->val = obj_int_to_val(v);
    } else {
        e->enc = OBJ_ENC_RAW;
        e->val = sstr_new(p, len);
    }
}

const char *str_get(const kv *e, size_t *len, char scratch[24])
{
    if (e->enc == OBJ_ENC_INT) {
        *len = (size_t)ll_to_str(scratch, obj_val_to_int(e->val));
        return scratch;
    }
    const sstr *s = e->val;
    *len = s->len;
    return s->data;
}

const obj_type_ops *obj_ops(int type)
{
    switch (type) {
    case OBJ_STRING: return &string_type_ops;
    case OBJ_LIST: return &list_type_ops;
    case OBJ_SET: return &set_type_ops;
    case OBJ_ZSET: return &zset_type_ops;
    case OBJ_HASH: return &hash_type_ops;
    }
    return NULL;
}

void obj_free_entry_value(kv *e)
{
    if (e->val || e->enc == OBJ_ENC_INT) obj_ops(e->type)->free_val(e->enc, e->val);
    e->val = NULL;
}
