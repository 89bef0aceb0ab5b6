/*
 * gguf.c — GGUF reader (see gguf.h for the contract).
 *
 * The file is read front to back once, at open, through a bounds-checked
 * cursor; nothing is trusted:
 *
 *   offset 0   "GGUF"                     wrong magic -> error naming it
 *          4   u32 version                1, 2, 3 (v1: 32-bit counts/lengths)
 *          8   tensor count, kv count     each checked against the bytes left
 *              kv[i]:   string key        1..65535 bytes, unique
 *                       u32 value type    0..12
 *                       value             scalars, string, or array (no nesting)
 *              tensor[i]: string name     1..256 bytes, unique
 *                       u32 n_dims        1..4
 *                       dims              each >= 1; product fits in int64
 *                       u32 ggml type     known ggml type; ne[0] % block == 0
 *                       u64 offset        multiple of the alignment
 *              padding up to general.alignment (power of two, default 32)
 *              data: each tensor's [offset, offset + nbytes) inside the file
 *
 * The handle keeps a table of metadata entries (scalar values decoded on
 * demand from the mapping), an index of every string array (so that
 * lx_gguf_arr_str is O(1), e.g. a 150k-token vocabulary) and hash tables of
 * metadata keys and tensor names (lookups and duplicate checks in O(1), so a
 * file with a million keys cannot make open quadratic).
 */
#include "engine/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_KEY 65535
#define GGUF_MAX_TENSOR_NAME 256
#define GGUF_MAX_DIMS 4

typedef struct gguf_kv {
    lx_gguf_str key;
    lx_gguf_type type;
    const uint8_t *val;  /* scalar value bytes, or string bytes */
    uint64_t str_len;    /* LX_GGUF_STRING */
    lx_gguf_type elem;   /* LX_GGUF_ARRAY */
    uint64_t n;          /* array element count */
    const uint8_t *data; /* packed numeric elements */
    lx_gguf_str *strs;   /* string array index (owned) */
} gguf_kv;

/* Open-addressing hash index over names (metadata keys, tensor names):
 * slots hold entry index + 1, 0 = empty; capacity a power of two, at least
 * twice the entry count, so probes stay short and always end. */
typedef struct name_index {
    size_t *slots;
    size_t cap;
} name_index;

struct lx_gguf {
    const uint8_t *base;
    size_t size;
    bool mapped;
    uint32_t version;
    size_t alignment;
    size_t data_start;
    gguf_kv *kv;
    size_t n_kv;
    lx_gguf_tensor *tensors;
    size_t n_tensors;
    name_index tindex; /* tensor names */
    name_index kindex; /* metadata keys */
};

/* ---- ggml type table: block size and bytes per block ------------------- */

typedef struct {
    uint32_t block, bytes;
} ggml_type_size;

static const ggml_type_size ggml_types[] = {
    [0] = {1, 4},      /* f32 */
    [1] = {1, 2},      /* f16 */
    [2] = {32, 18},    /* q4_0 */
    [3] = {32, 20},    /* q4_1 */
    [6] = {32, 22},    /* q5_0 */
    [7] = {32, 24},    /* q5_1 */
    [8] = {32, 34},    /* q8_0 */
    [9] = {32, 36},    /* q8_1 */
    [10] = {256, 84},  /* q2_k */
    [11] = {256, 110}, /* q3_k */
    [12] = {256, 144}, /* q4_k */
    [13] = {256, 176}, /* q5_k */
    [14] = {256, 210}, /* q6_k */
    [15] = {256, 292}, /* q8_k */
    [16] = {256, 66},  /* iq2_xxs */
    [17] = {256, 74},  /* iq2_xs */
    [18] = {256, 98},  /* iq3_xxs */
    [19] = {256, 50},  /* iq1_s */
    [20] = {32, 18},   /* iq4_nl */
    [21] = {256, 110}, /* iq3_s */
    [22] = {256, 82},  /* iq2_s */
    [23] = {256, 136}, /* iq4_xs */
    [24] = {1, 1},     /* i8 */
    [25] = {1, 2},     /* i16 */
    [26] = {1, 4},     /* i32 */
    [27] = {1, 8},     /* i64 */
    [28] = {1, 8},     /* f64 */
    [29] = {256, 56},  /* iq1_m */
    [30] = {1, 2},     /* bf16 */
    [34] = {256, 54},  /* tq1_0 */
    [35] = {256, 66},  /* tq2_0 */
    [39] = {32, 17},   /* mxfp4 */
};

static bool ggml_type_known(uint32_t t)
{
    return t < sizeof ggml_types / sizeof ggml_types[0] && ggml_types[t].block != 0;
}

/* ---- cursor ------------------------------------------------------------- */

typedef struct cursor {
    const uint8_t *base;
    size_t size;
    size_t off;
    bool v1;
    lx_error *err;
} cursor;

static lx_status need(cursor *c, uint64_t n, const char *what)
{
    if (n > c->size - c->off)
        return lx_fail(c->err, LX_ERR_INVALID,
                       "GGUF: %s: needs %llu bytes at offset %zu, past end of file (size %zu)",
                       what, (unsigned long long)n, c->off, c->size);
    return LX_OK;
}

static lx_status rd_u32(cursor *c, uint32_t *v, const char *what)
{
    if (need(c, 4, what) != LX_OK)
        return LX_ERR_INVALID;
    memcpy(v, c->base + c->off, 4);
    c->off += 4;
    return LX_OK;
}

static lx_status rd_u64(cursor *c, uint64_t *v, const char *what)
{
    if (need(c, 8, what) != LX_OK)
        return LX_ERR_INVALID;
    memcpy(v, c->base + c->off, 8);
    c->off += 8;
    return LX_OK;
}

/* A count or length: u32 in v1, u64 later. */
static lx_status rd_len(cursor *c, uint64_t *v, const char *what)
{
    if (c->v1) {
        uint32_t x;
        if (rd_u32(c, &x, what) != LX_OK)
            return LX_ERR_INVALID;
        *v = x;
        return LX_OK;
    }
    return rd_u64(c, v, what);
}

static lx_status rd_str(cursor *c, lx_gguf_str *s, uint64_t max, const char *what)
{
    uint64_t n;
    if (rd_len(c, &n, what) != LX_OK)
        return LX_ERR_INVALID;
    if (max && n > max)
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: %s: length %llu over the limit of %llu", what,
                       (unsigned long long)n, (unsigned long long)max);
    if (need(c, n, what) != LX_OK)
        return LX_ERR_INVALID;
    s->p = (const char *)c->base + c->off;
    s->n = (size_t)n;
    c->off += (size_t)n;
    return LX_OK;
}

static size_t scalar_size(lx_gguf_type t)
{
    switch (t) {
    case LX_GGUF_U8:
    case LX_GGUF_I8:
    case LX_GGUF_BOOL:
        return 1;
    case LX_GGUF_U16:
    case LX_GGUF_I16:
        return 2;
    case LX_GGUF_U32:
    case LX_GGUF_I32:
    case LX_GGUF_F32:
        return 4;
    case LX_GGUF_U64:
    case LX_GGUF_I64:
    case LX_GGUF_F64:
        return 8;
    default:
        return 0;
    }
}

/* Prints at most 64 bytes of a file string, non-printables as '?'. */
static const char *show(lx_gguf_str s, char *buf, size_t cap)
{
    size_t n = s.n < cap - 4 ? s.n : cap - 4;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        buf[i] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    if (n < s.n)
        memcpy(buf + n, "...", 3), n += 3;
    buf[n] = 0;
    return buf;
}

/* ---- name tables (open addressing, FNV-1a) ------------------------------ */

static uint64_t hash_name(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

typedef lx_gguf_str (*name_at_fn)(const lx_gguf *g, size_t i);

static lx_gguf_str key_at(const lx_gguf *g, size_t i)
{
    return g->kv[i].key;
}

static lx_gguf_str tensor_name_at(const lx_gguf *g, size_t i)
{
    return g->tensors[i].name;
}

static bool index_init(name_index *ix, uint64_t n)
{
    ix->cap = 16;
    while (ix->cap < 2 * n)
        ix->cap *= 2;
    ix->slots = calloc(ix->cap, sizeof *ix->slots);
    return ix->slots != NULL;
}

/* The slot holding the name p[0..n), or the empty slot where it would go. */
static size_t *index_slot(const lx_gguf *g, const name_index *ix, name_at_fn at, const char *p,
                          size_t n)
{
    size_t mask = ix->cap - 1;
    for (size_t h = hash_name(p, n) & mask;; h = (h + 1) & mask) {
        size_t *slot = &ix->slots[h];
        if (*slot == 0)
            return slot;
        lx_gguf_str o = at(g, *slot - 1);
        if (o.n == n && !memcmp(o.p, p, n))
            return slot;
    }
}

/* Inserts entry i; false if its name is already there. */
static bool index_put(lx_gguf *g, name_index *ix, name_at_fn at, size_t i)
{
    lx_gguf_str nm = at(g, i);
    size_t *slot = index_slot(g, ix, at, nm.p, nm.n);
    if (*slot)
        return false;
    *slot = i + 1;
    return true;
}

/* Entry index of a NUL-terminated name, or -1. */
static long index_find(const lx_gguf *g, const name_index *ix, name_at_fn at, const char *name)
{
    size_t slot = *index_slot(g, ix, at, name, strlen(name));
    return slot ? (long)(slot - 1) : -1;
}

/* ---- metadata ----------------------------------------------------------- */

static lx_status read_kv(cursor *c, lx_gguf *g, size_t i)
{
    gguf_kv *kv = &g->kv[i];
    char what[160], name[72];
    snprintf(what, sizeof what, "metadata entry %zu: key", i);
    if (rd_str(c, &kv->key, GGUF_MAX_KEY, what) != LX_OK)
        return LX_ERR_INVALID;
    if (kv->key.n == 0)
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: metadata entry %zu: empty key", i);
    show(kv->key, name, sizeof name);
    if (!index_put(g, &g->kindex, key_at, i))
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: metadata key '%s' appears twice", name);
    uint32_t type;
    snprintf(what, sizeof what, "metadata '%s': value type", name);
    if (rd_u32(c, &type, what) != LX_OK)
        return LX_ERR_INVALID;
    if (type > LX_GGUF_F64)
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: metadata '%s': unknown value type %u", name,
                       type);
    kv->type = (lx_gguf_type)type;
    snprintf(what, sizeof what, "metadata '%s': value", name);
    if (type == LX_GGUF_STRING) {
        lx_gguf_str s;
        if (rd_str(c, &s, 0, what) != LX_OK)
            return LX_ERR_INVALID;
        kv->val = (const uint8_t *)s.p;
        kv->str_len = s.n;
        return LX_OK;
    }
    if (type != LX_GGUF_ARRAY) {
        size_t sz = scalar_size(kv->type);
        if (need(c, sz, what) != LX_OK)
            return LX_ERR_INVALID;
        kv->val = c->base + c->off;
        c->off += sz;
        return LX_OK;
    }
    uint32_t elem;
    snprintf(what, sizeof what, "metadata '%s': array element type", name);
    if (rd_u32(c, &elem, what) != LX_OK)
        return LX_ERR_INVALID;
    if (elem > LX_GGUF_F64)
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: metadata '%s': unknown array element type %u",
                       name, elem);
    if (elem == LX_GGUF_ARRAY)
        return lx_fail(c->err, LX_ERR_INVALID,
                       "GGUF: metadata '%s': nested arrays are not supported", name);
    kv->elem = (lx_gguf_type)elem;
    snprintf(what, sizeof what, "metadata '%s': array count", name);
    if (rd_len(c, &kv->n, what) != LX_OK)
        return LX_ERR_INVALID;
    size_t left = c->size - c->off;
    if (elem != LX_GGUF_STRING) {
        size_t sz = scalar_size(kv->elem);
        if (kv->n > left / sz)
            return lx_fail(c->err, LX_ERR_INVALID,
                           "GGUF: metadata '%s': array count %llu (%zu-byte elements) past end "
                           "of file (%zu bytes left)",
                           name, (unsigned long long)kv->n, sz, left);
        kv->data = c->base + c->off;
        c->off += (size_t)kv->n * sz;
        return LX_OK;
    }
    size_t lensz = c->v1 ? 4 : 8;
    if (kv->n > left / lensz)
        return lx_fail(c->err, LX_ERR_INVALID,
                       "GGUF: metadata '%s': string array count %llu past end of file (%zu bytes "
                       "left)",
                       name, (unsigned long long)kv->n, left);
    kv->strs = malloc(kv->n ? (size_t)kv->n * sizeof *kv->strs : 1);
    if (!kv->strs)
        return lx_fail(c->err, LX_ERR_NOMEM, "GGUF: metadata '%s': out of memory for %llu strings",
                       name, (unsigned long long)kv->n);
    for (uint64_t j = 0; j < kv->n; j++) {
        snprintf(what, sizeof what, "metadata '%s': string %llu", name, (unsigned long long)j);
        if (rd_str(c, &kv->strs[j], 0, what) != LX_OK)
            return LX_ERR_INVALID;
    }
    return LX_OK;
}

/* ---- tensors ------------------------------------------------------------ */

static lx_status read_tensor_info(cursor *c, lx_gguf *g, size_t i)
{
    lx_gguf_tensor *t = &g->tensors[i];
    char what[160], name[72];
    snprintf(what, sizeof what, "tensor %zu: name", i);
    if (rd_str(c, &t->name, GGUF_MAX_TENSOR_NAME, what) != LX_OK)
        return LX_ERR_INVALID;
    if (t->name.n == 0)
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: tensor %zu: empty name", i);
    show(t->name, name, sizeof name);
    snprintf(what, sizeof what, "tensor '%s': n_dims", name);
    if (rd_u32(c, &t->n_dims, what) != LX_OK)
        return LX_ERR_INVALID;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: tensor '%s': n_dims %u not in 1..%d", name,
                       t->n_dims, GGUF_MAX_DIMS);
    uint64_t nel = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims)
            continue;
        snprintf(what, sizeof what, "tensor '%s': dimension %u", name, d);
        if (rd_len(c, &t->ne[d], what) != LX_OK)
            return LX_ERR_INVALID;
        if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX)
            return lx_fail(c->err, LX_ERR_INVALID, "GGUF: tensor '%s': dimension %u is %llu", name,
                           d, (unsigned long long)t->ne[d]);
        if (nel > (uint64_t)INT64_MAX / t->ne[d])
            return lx_fail(c->err, LX_ERR_INVALID,
                           "GGUF: tensor '%s': element count overflows (dimensions too large)",
                           name);
        nel *= t->ne[d];
    }
    snprintf(what, sizeof what, "tensor '%s': type", name);
    if (rd_u32(c, &t->type, what) != LX_OK)
        return LX_ERR_INVALID;
    if (!ggml_type_known(t->type))
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: tensor '%s': unknown ggml type %u", name,
                       t->type);
    ggml_type_size ts = ggml_types[t->type];
    if (t->ne[0] % ts.block)
        return lx_fail(c->err, LX_ERR_INVALID,
                       "GGUF: tensor '%s': row length %llu is not a multiple of the type's block "
                       "size %u",
                       name, (unsigned long long)t->ne[0], ts.block);
    uint64_t blocks = nel / ts.block;
    if (blocks > UINT64_MAX / ts.bytes)
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: tensor '%s': byte size overflows", name);
    t->nbytes = blocks * ts.bytes;
    snprintf(what, sizeof what, "tensor '%s': offset", name);
    if (rd_u64(c, &t->offset, what) != LX_OK)
        return LX_ERR_INVALID;
    if (!index_put(g, &g->tindex, tensor_name_at, i))
        return lx_fail(c->err, LX_ERR_INVALID, "GGUF: tensor name '%s' appears twice", name);
    return LX_OK;
}

/* ---- open / close ------------------------------------------------------- */

static lx_status parse(lx_gguf *g, lx_error *err)
{
    cursor c = {.base = g->base, .size = g->size, .err = err};
    uint32_t magic;
    if (g->size < 4 || memcmp(g->base, "GGUF", 4) != 0)
        return lx_fail(err, LX_ERR_INVALID,
                       "GGUF: bad magic (the file does not start with \"GGUF\"; not a GGUF model)");
    if (rd_u32(&c, &magic, "magic") != LX_OK || rd_u32(&c, &g->version, "version") != LX_OK)
        return LX_ERR_INVALID;
    if (g->version == 0 || g->version > 3) {
        if (g->version != 0 && (g->version & 0xffff) == 0)
            return lx_fail(err, LX_ERR_UNSUPPORTED,
                           "GGUF: version field 0x%08x looks big-endian; only little-endian GGUF "
                           "is supported",
                           g->version);
        return lx_fail(err, LX_ERR_UNSUPPORTED, "GGUF: unsupported version %u (supported: 1, 2, 3)",
                       g->version);
    }
    c.v1 = g->version == 1;
    uint64_t n_tensors, n_kv;
    if (rd_len(&c, &n_tensors, "tensor count") != LX_OK ||
        rd_len(&c, &n_kv, "metadata count") != LX_OK)
        return LX_ERR_INVALID;
    /* Smallest encodings: kv = key len + 1 byte + type + 1-byte value; tensor
     * info = name len + 1 byte + n_dims + one dim + type + offset. */
    size_t left = g->size - c.off, lensz = c.v1 ? 4 : 8;
    if (n_kv > left / (lensz + 1 + 4 + 1))
        return lx_fail(err, LX_ERR_INVALID,
                       "GGUF: metadata count %llu cannot fit in the file (size %zu)",
                       (unsigned long long)n_kv, g->size);
    if (n_tensors > left / (lensz + 1 + 4 + lensz + 4 + 8))
        return lx_fail(err, LX_ERR_INVALID,
                       "GGUF: tensor count %llu cannot fit in the file (size %zu)",
                       (unsigned long long)n_tensors, g->size);
    g->kv = calloc(n_kv ? (size_t)n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *g->tensors);
    bool indexed = index_init(&g->tindex, n_tensors) && index_init(&g->kindex, n_kv);
    if (!g->kv || !g->tensors || !indexed)
        return lx_fail(err, LX_ERR_NOMEM, "GGUF: out of memory for the metadata table");
    for (size_t i = 0; i < n_kv; i++) {
        g->n_kv = i + 1; /* so close() frees a partial string index */
        lx_status st = read_kv(&c, g, i);
        if (st != LX_OK)
            return st;
    }
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    long ai = lx_gguf_find(g, "general.alignment");
    if (ai >= 0) {
        uint64_t a;
        if (g->kv[ai].type != LX_GGUF_U32 || !lx_gguf_get_u64(g, "general.alignment", &a))
            return lx_fail(err, LX_ERR_INVALID, "GGUF: metadata 'general.alignment' must be a u32");
        if (a == 0 || (a & (a - 1)) || a > (1u << 20))
            return lx_fail(err, LX_ERR_INVALID,
                           "GGUF: metadata 'general.alignment' = %llu is not a power of two "
                           "(1..1048576)",
                           (unsigned long long)a);
        g->alignment = (size_t)a;
    }
    for (size_t i = 0; i < n_tensors; i++) {
        g->n_tensors = i + 1;
        lx_status st = read_tensor_info(&c, g, i);
        if (st != LX_OK)
            return st;
    }
    size_t pad = (g->alignment - c.off % g->alignment) % g->alignment;
    g->data_start = c.off + pad;
    if (n_tensors && pad > g->size - c.off)
        return lx_fail(err, LX_ERR_INVALID,
                       "GGUF: data section: padding to alignment %zu at offset %zu is past end of "
                       "file (size %zu)",
                       g->alignment, c.off, g->size);
    for (size_t i = 0; i < n_tensors; i++) {
        lx_gguf_tensor *t = &g->tensors[i];
        char name[72];
        show(t->name, name, sizeof name);
        if (t->offset % g->alignment)
            return lx_fail(err, LX_ERR_INVALID,
                           "GGUF: tensor '%s': offset %llu is not a multiple of the alignment %zu",
                           name, (unsigned long long)t->offset, g->alignment);
        uint64_t room = g->size - g->data_start;
        if (t->offset > room || t->nbytes > room - t->offset)
            return lx_fail(err, LX_ERR_INVALID,
                           "GGUF: tensor '%s': data [%llu, %llu) past end of file (size %zu, data "
                           "section at %zu)",
                           name, (unsigned long long)t->offset,
                           (unsigned long long)t->offset + (unsigned long long)t->nbytes, g->size,
                           g->data_start);
        t->data = g->base + g->data_start + t->offset;
    }
    return LX_OK;
}

static lx_status open_common(lx_gguf *g, lx_gguf **out, lx_error *err)
{
    lx_status st = parse(g, err);
    if (st != LX_OK) {
        lx_gguf_close(g);
        return st;
    }
    *out = g;
    return LX_OK;
}

lx_status lx_gguf_open_memory(const void *buf, size_t len, lx_gguf **out, lx_error *err)
{
    *out = NULL;
    lx_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return lx_fail(err, LX_ERR_NOMEM, "GGUF: out of memory");
    g->base = buf ? buf : (const uint8_t *)"";
    g->size = buf ? len : 0;
    return open_common(g, out, err);
}

lx_status lx_gguf_open(const char *path, lx_gguf **out, lx_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lx_fail(err, errno == ENOENT ? LX_ERR_NOTFOUND : LX_ERR_IO, "%s: %s", path,
                       strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return lx_fail(err, LX_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return lx_fail(err, LX_ERR_INVALID, "%s: not a regular file", path);
    }
    if (sb.st_size < 8) {
        close(fd);
        return lx_fail(err, LX_ERR_INVALID, "%s: GGUF: file too short (%lld bytes) for the header",
                       path, (long long)sb.st_size);
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return lx_fail(err, LX_ERR_IO, "%s: mmap: %s", path, strerror(e));
    lx_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        munmap(p, (size_t)sb.st_size);
        return lx_fail(err, LX_ERR_NOMEM, "GGUF: out of memory");
    }
    g->base = p;
    g->size = (size_t)sb.st_size;
    g->mapped = true;
    lx_status st = open_common(g, out, err);
    if (st != LX_OK && err) {
        /* prefix the path to the message */
        char msg[sizeof err->message];
        lx_strlcpy(msg, err->message, sizeof msg);
        int k = snprintf(err->message, sizeof err->message, "%s: ", path);
        if (k > 0 && (size_t)k < sizeof err->message)
            lx_strlcpy(err->message + k, msg, sizeof err->message - (size_t)k);
    }
    return st;
}

void lx_gguf_close(lx_gguf *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_kv; i++)
        free(g->kv[i].strs);
    free(g->kv);
    free(g->tensors);
    free(g->tindex.slots);
    free(g->kindex.slots);
    if (g->mapped)
        munmap((void *)g->base, g->size);
    free(g);
}

/* ---- accessors ---------------------------------------------------------- */

uint32_t lx_gguf_version(const lx_gguf *g)
{
    return g->version;
}

size_t lx_gguf_alignment(const lx_gguf *g)
{
    return g->alignment;
}

size_t lx_gguf_kv_count(const lx_gguf *g)
{
    return g->n_kv;
}

lx_gguf_str lx_gguf_kv_key(const lx_gguf *g, size_t i)
{
    lx_gguf_str none = {"", 0};
    return i < g->n_kv ? g->kv[i].key : none;
}

lx_gguf_type lx_gguf_kv_type(const lx_gguf *g, size_t i)
{
    return i < g->n_kv ? g->kv[i].type : (lx_gguf_type)-1;
}

long lx_gguf_find(const lx_gguf *g, const char *key)
{
    return index_find(g, &g->kindex, key_at, key);
}

static const gguf_kv *find_kv(const lx_gguf *g, const char *key)
{
    long i = lx_gguf_find(g, key);
    return i < 0 ? NULL : &g->kv[i];
}

/* Integer value as a sign flag + magnitude pair. */
static bool kv_int(const gguf_kv *kv, bool *neg, uint64_t *mag)
{
    const uint8_t *v = kv->val;
    int64_t s = 0;
    uint64_t u = 0;
    bool is_signed = false;
    switch (kv->type) {
    case LX_GGUF_U8:
        u = v[0];
        break;
    case LX_GGUF_I8:
        s = (int8_t)v[0], is_signed = true;
        break;
    case LX_GGUF_U16: {
        uint16_t x;
        memcpy(&x, v, 2);
        u = x;
        break;
    }
    case LX_GGUF_I16: {
        int16_t x;
        memcpy(&x, v, 2);
        s = x, is_signed = true;
        break;
    }
    case LX_GGUF_U32: {
        uint32_t x;
        memcpy(&x, v, 4);
        u = x;
        break;
    }
    case LX_GGUF_I32: {
        int32_t x;
        memcpy(&x, v, 4);
        s = x, is_signed = true;
        break;
    }
    case LX_GGUF_U64:
        memcpy(&u, v, 8);
        break;
    case LX_GGUF_I64:
        memcpy(&s, v, 8);
        is_signed = true;
        break;
    default:
        return false;
    }
    if (is_signed) {
        *neg = s < 0;
        *mag = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
    } else {
        *neg = false;
        *mag = u;
    }
    return true;
}

bool lx_gguf_get_u64(const lx_gguf *g, const char *key, uint64_t *out)
{
    const gguf_kv *kv = find_kv(g, key);
    bool neg;
    uint64_t m;
    if (!kv || !kv_int(kv, &neg, &m) || neg)
        return false;
    *out = m;
    return true;
}

bool lx_gguf_get_i64(const lx_gguf *g, const char *key, int64_t *out)
{
    const gguf_kv *kv = find_kv(g, key);
    bool neg;
    uint64_t m;
    if (!kv || !kv_int(kv, &neg, &m))
        return false;
    if (!neg && m > (uint64_t)INT64_MAX)
        return false;
    if (neg && m > (uint64_t)INT64_MAX + 1)
        return false;
    *out = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
    return true;
}

bool lx_gguf_get_f32(const lx_gguf *g, const char *key, float *out)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv)
        return false;
    if (kv->type == LX_GGUF_F32) {
        memcpy(out, kv->val, 4);
        return true;
    }
    if (kv->type == LX_GGUF_F64) {
        double d;
        memcpy(&d, kv->val, 8);
        *out = (float)d;
        return true;
    }
    return false;
}

bool lx_gguf_get_bool(const lx_gguf *g, const char *key, bool *out)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != LX_GGUF_BOOL)
        return false;
    *out = kv->val[0] != 0;
    return true;
}

bool lx_gguf_get_str(const lx_gguf *g, const char *key, lx_gguf_str *out)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != LX_GGUF_STRING)
        return false;
    out->p = (const char *)kv->val;
    out->n = (size_t)kv->str_len;
    return true;
}

bool lx_gguf_get_arr(const lx_gguf *g, const char *key, lx_gguf_type *elem, size_t *n)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != LX_GGUF_ARRAY)
        return false;
    if (elem)
        *elem = kv->elem;
    if (n)
        *n = (size_t)kv->n;
    return true;
}

bool lx_gguf_arr_str(const lx_gguf *g, const char *key, size_t i, lx_gguf_str *out)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != LX_GGUF_ARRAY || kv->elem != LX_GGUF_STRING || i >= kv->n)
        return false;
    *out = kv->strs[i];
    return true;
}

const void *lx_gguf_arr_data(const lx_gguf *g, const char *key)
{
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != LX_GGUF_ARRAY || kv->elem == LX_GGUF_STRING)
        return NULL;
    return kv->data ? (const void *)kv->data : (const void *)"";
}

size_t lx_gguf_tensor_count(const lx_gguf *g)
{
    return g->n_tensors;
}

const lx_gguf_tensor *lx_gguf_tensor_at(const lx_gguf *g, size_t i)
{
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const lx_gguf_tensor *lx_gguf_tensor_find(const lx_gguf *g, const char *name)
{
    long i = index_find(g, &g->tindex, tensor_name_at, name);
    return i < 0 ? NULL : &g->tensors[i];
}
