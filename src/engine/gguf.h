/*
 * gguf.h — read-only GGUF reader over mmap.
 *
 * File layout (little-endian):
 *   magic "GGUF", u32 version (1, 2 or 3),
 *   tensor count, metadata count (u64 in v2/v3, u32 in v1),
 *   metadata: key (string), u32 value type, value;
 *   tensor infos: name (string), u32 n_dims, n_dims dims (u64; u32 in v1),
 *                 u32 ggml type, u64 offset relative to the data section;
 *   padding to `general.alignment` (default 32), then the tensor data.
 *   string = length (u64; u32 in v1) + bytes, no NUL.
 *   array  = u32 element type + count (u64; u32 in v1) + elements.
 *
 * Every count, length, offset and size is checked against the file size
 * before use (overflow-safe); a bad file gives LX_ERR_INVALID with a message
 * naming the field ("tensor 'blk.0.attn_q.weight': data [off, off+n) past end
 * of file (size N)").
 *
 * Ownership: lx_gguf_open returns a handle the caller closes with
 * lx_gguf_close; every pointer it hands out (strings, arrays, tensor data)
 * points into the mapping and lives until close. Strings are NOT
 * NUL-terminated: always use the returned length.
 */
#ifndef LX_ENGINE_GGUF_H
#define LX_ENGINE_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef enum {
    LX_GGUF_U8 = 0,
    LX_GGUF_I8 = 1,
    LX_GGUF_U16 = 2,
    LX_GGUF_I16 = 3,
    LX_GGUF_U32 = 4,
    LX_GGUF_I32 = 5,
    LX_GGUF_F32 = 6,
    LX_GGUF_BOOL = 7,
    LX_GGUF_STRING = 8,
    LX_GGUF_ARRAY = 9,
    LX_GGUF_U64 = 10,
    LX_GGUF_I64 = 11,
    LX_GGUF_F64 = 12,
} lx_gguf_type;

typedef struct lx_gguf lx_gguf;

typedef struct lx_gguf_str {
    const char *p; /* into the mapping, not NUL-terminated */
    size_t n;
} lx_gguf_str;

typedef struct lx_gguf_tensor {
    lx_gguf_str name;
    uint32_t type;      /* ggml type id (see kernels.h lx_ttype) */
    uint32_t n_dims;    /* 1..4 */
    uint64_t ne[4];     /* ne[0] is the fastest-varying (row length); unused dims are 1 */
    uint64_t offset;    /* from the start of the data section */
    const void *data;   /* into the mapping */
    uint64_t nbytes;
} lx_gguf_tensor;

/* Maps and validates the whole file (header, metadata, tensor table, data
 * bounds). Tensors of types this build does not compute with are still
 * listed (type checked later by the model loader). */
lx_status lx_gguf_open(const char *path, lx_gguf **out, lx_error *err);
/* Same over caller-owned memory (fuzzing, tests); buf must outlive the handle. */
lx_status lx_gguf_open_memory(const void *buf, size_t len, lx_gguf **out, lx_error *err);
void lx_gguf_close(lx_gguf *g);

uint32_t lx_gguf_version(const lx_gguf *g);
size_t lx_gguf_alignment(const lx_gguf *g);

/* Metadata. Lookups by exact key; the typed getters return false when the
 * key is absent or has another type (integer getters accept any integer
 * type whose value fits). */
size_t lx_gguf_kv_count(const lx_gguf *g);
lx_gguf_str lx_gguf_kv_key(const lx_gguf *g, size_t i);
lx_gguf_type lx_gguf_kv_type(const lx_gguf *g, size_t i);
long lx_gguf_find(const lx_gguf *g, const char *key); /* index or -1 */
bool lx_gguf_get_u64(const lx_gguf *g, const char *key, uint64_t *out);
bool lx_gguf_get_i64(const lx_gguf *g, const char *key, int64_t *out);
bool lx_gguf_get_f32(const lx_gguf *g, const char *key, float *out); /* F32 or F64 */
bool lx_gguf_get_bool(const lx_gguf *g, const char *key, bool *out);
bool lx_gguf_get_str(const lx_gguf *g, const char *key, lx_gguf_str *out);

/* Arrays: element type and count. */
bool lx_gguf_get_arr(const lx_gguf *g, const char *key, lx_gguf_type *elem, size_t *n);
/* i-th string of a string array (i < n); false when out of range / wrong type. */
bool lx_gguf_arr_str(const lx_gguf *g, const char *key, size_t i, lx_gguf_str *out);
/* Pointer to the packed elements of a numeric array (unaligned: read with
 * memcpy), or NULL for string/array elements. */
const void *lx_gguf_arr_data(const lx_gguf *g, const char *key);

/* Tensors. */
size_t lx_gguf_tensor_count(const lx_gguf *g);
const lx_gguf_tensor *lx_gguf_tensor_at(const lx_gguf *g, size_t i);
const lx_gguf_tensor *lx_gguf_tensor_find(const lx_gguf *g, const char *name); /* NULL if absent */

#endif
