/*
 * test_gguf.c — the GGUF reader on real model files and on synthetic files
 * built here, good and corrupt. Every corrupt file must give an error that
 * names the bad field, never a crash.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/gguf.h"

/* ---- writer ------------------------------------------------------------- */

typedef struct wb {
    uint8_t *p;
    size_t n, cap;
    bool v1;
} wb;

static void put(wb *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void u32(wb *b, uint32_t v)
{
    put(b, &v, 4);
}
static void u64(wb *b, uint64_t v)
{
    put(b, &v, 8);
}
static void len(wb *b, uint64_t v) /* count / length: u32 in v1 */
{
    if (b->v1)
        u32(b, (uint32_t)v);
    else
        u64(b, v);
}
static void str(wb *b, const char *s)
{
    len(b, strlen(s));
    put(b, s, strlen(s));
}

typedef struct spec {
    const char *magic;
    uint32_t version;
    int64_t n_tensors, n_kv; /* overrides, -1 = real */
    uint32_t align;          /* general.alignment; 0 = absent */
    uint32_t align_type;     /* its value type */
    uint64_t key0_len;       /* override of the first key's length, 0 = real */
    uint64_t strs_count;     /* override of test.strs count, 0 = real */
    uint32_t extra_kv_type;  /* add "test.bad" with this value type, 0 = none */
    bool nested;             /* add an array of arrays */
    bool dup_key;
    const char *b_name;
    uint32_t b_ndims;
    uint64_t b_ne[4];
    uint32_t b_type;
    int64_t b_offset; /* -1 = real */
    /* out: where sections start */
    size_t off_kv, off_strs, off_tinfo, off_data, off_b_data;
} spec;

static spec defaults(void)
{
    spec s = {.magic = "GGUF",
              .version = 3,
              .n_tensors = -1,
              .n_kv = -1,
              .align = 32,
              .align_type = LX_GGUF_U32,
              .b_name = "b",
              .b_ndims = 1,
              .b_ne = {16, 1, 1, 1},
              .b_type = 1,
              .b_offset = -1};
    return s;
}

static uint8_t *build(spec *s, size_t *n_out)
{
    wb b = {.v1 = s->version == 1};
    put(&b, s->magic, 4);
    u32(&b, s->version);
    int n_kv = 8 + (s->align != 0) + (s->extra_kv_type != 0) + s->nested + s->dup_key;
    len(&b, s->n_tensors >= 0 ? (uint64_t)s->n_tensors : 2);
    len(&b, s->n_kv >= 0 ? (uint64_t)s->n_kv : (uint64_t)n_kv);
    s->off_kv = b.n;
    /* general.architecture = "llama" */
    len(&b, s->key0_len ? s->key0_len : strlen("general.architecture"));
    put(&b, "general.architecture", strlen("general.architecture"));
    u32(&b, LX_GGUF_STRING);
    str(&b, "llama");
    if (s->align) {
        str(&b, "general.alignment");
        u32(&b, s->align_type);
        if (s->align_type == LX_GGUF_U32)
            u32(&b, s->align);
        else
            u64(&b, s->align);
    }
    str(&b, "test.u8");
    u32(&b, LX_GGUF_U8);
    put(&b, "\xc8", 1);
    str(&b, "test.i32");
    u32(&b, LX_GGUF_I32);
    u32(&b, (uint32_t)-5);
    str(&b, "test.u64big");
    u32(&b, LX_GGUF_U64);
    u64(&b, UINT64_MAX);
    str(&b, "test.f64");
    u32(&b, LX_GGUF_F64);
    double d = 0.25;
    put(&b, &d, 8);
    str(&b, "test.bool");
    u32(&b, LX_GGUF_BOOL);
    put(&b, "\x01", 1);
    str(&b, "test.arr");
    u32(&b, LX_GGUF_ARRAY);
    u32(&b, LX_GGUF_I16);
    len(&b, 3);
    int16_t a3[3] = {1, -2, 3};
    put(&b, a3, 6);
    str(&b, "test.strs");
    s->off_strs = b.n;
    u32(&b, LX_GGUF_ARRAY);
    u32(&b, LX_GGUF_STRING);
    len(&b, s->strs_count ? s->strs_count : 1000);
    for (int i = 0; i < 1000; i++) {
        char t[16];
        snprintf(t, sizeof t, "s%d", i);
        str(&b, t);
    }
    if (s->extra_kv_type) {
        str(&b, "test.bad");
        u32(&b, s->extra_kv_type);
        u32(&b, 0);
    }
    if (s->nested) {
        str(&b, "test.nested");
        u32(&b, LX_GGUF_ARRAY);
        u32(&b, LX_GGUF_ARRAY);
        len(&b, 0);
    }
    if (s->dup_key) {
        str(&b, "test.u8");
        u32(&b, LX_GGUF_U8);
        put(&b, "\x01", 1);
    }
    s->off_tinfo = b.n;
    str(&b, "a");
    u32(&b, 2);
    len(&b, 4);
    len(&b, 2);
    u32(&b, 0); /* f32 */
    u64(&b, 0);
    str(&b, s->b_name);
    u32(&b, s->b_ndims);
    for (uint32_t i = 0; i < s->b_ndims && i < 4; i++)
        len(&b, s->b_ne[i]);
    for (uint32_t i = 4; i < s->b_ndims && i < 8; i++)
        len(&b, 1);
    u32(&b, s->b_type);
    u64(&b, s->b_offset >= 0 ? (uint64_t)s->b_offset : 32);
    size_t al = s->align && s->align < 4096 ? s->align : 32;
    while (b.n % al)
        put(&b, "", 1);
    s->off_data = b.n;
    s->off_b_data = b.n + 32;
    for (int i = 0; i < 64; i++) {
        uint8_t v = (uint8_t)i;
        put(&b, &v, 1);
    }
    *n_out = b.n;
    return b.p;
}

static lx_status open_spec(spec *s, lx_gguf **g, lx_error *err, uint8_t **buf, size_t *n)
{
    *buf = build(s, n);
    return lx_gguf_open_memory(*buf, *n, g, err);
}

/* Builds the file, expects failure, and that the message holds every needle. */
static void expect_error(spec s, lx_status code, const char *n1, const char *n2)
{
    lx_gguf *g = (lx_gguf *)1;
    lx_error err;
    uint8_t *buf;
    size_t n;
    lx_status st = open_spec(&s, &g, &err, &buf, &n);
    cr_assert_eq(st, code, "status %s: %s", lx_status_name(st), st ? err.message : "(ok)");
    cr_assert_null(g);
    cr_assert(strstr(err.message, n1), "'%s' not in: %s", n1, err.message);
    if (n2)
        cr_assert(strstr(err.message, n2), "'%s' not in: %s", n2, err.message);
    free(buf);
}

/* ---- synthetic: good files ---------------------------------------------- */

static void check_good(uint32_t version)
{
    spec s = defaults();
    s.version = version;
    lx_gguf *g;
    lx_error err;
    uint8_t *buf;
    size_t n;
    cr_assert_eq(open_spec(&s, &g, &err, &buf, &n), LX_OK, "%s", err.message);
    cr_assert_eq(lx_gguf_version(g), version);
    cr_assert_eq(lx_gguf_alignment(g), 32);
    cr_assert_eq(lx_gguf_kv_count(g), 9);
    lx_gguf_str v;
    cr_assert(lx_gguf_get_str(g, "general.architecture", &v));
    cr_assert(v.n == 5 && !memcmp(v.p, "llama", 5));
    uint64_t u;
    int64_t i;
    float f;
    bool bo;
    cr_assert(lx_gguf_get_u64(g, "test.u8", &u) && u == 200);
    cr_assert(lx_gguf_get_i64(g, "test.u8", &i) && i == 200);
    cr_assert(lx_gguf_get_i64(g, "test.i32", &i) && i == -5);
    cr_assert_not(lx_gguf_get_u64(g, "test.i32", &u), "negative must not read as u64");
    cr_assert(lx_gguf_get_u64(g, "test.u64big", &u) && u == UINT64_MAX);
    cr_assert_not(lx_gguf_get_i64(g, "test.u64big", &i), "too big for i64");
    cr_assert(lx_gguf_get_f32(g, "test.f64", &f) && f == 0.25f);
    cr_assert_not(lx_gguf_get_f32(g, "test.i32", &f));
    cr_assert(lx_gguf_get_bool(g, "test.bool", &bo) && bo);
    cr_assert_not(lx_gguf_get_str(g, "test.u8", &v));
    cr_assert_not(lx_gguf_get_u64(g, "absent", &u));
    cr_assert_eq(lx_gguf_find(g, "absent"), -1);
    cr_assert_eq(lx_gguf_kv_type(g, (size_t)lx_gguf_find(g, "test.arr")), LX_GGUF_ARRAY);
    lx_gguf_type et;
    size_t cnt;
    cr_assert(lx_gguf_get_arr(g, "test.arr", &et, &cnt) && et == LX_GGUF_I16 && cnt == 3);
    const void *ad = lx_gguf_arr_data(g, "test.arr");
    int16_t a3[3];
    memcpy(a3, ad, 6);
    cr_assert(a3[0] == 1 && a3[1] == -2 && a3[2] == 3);
    cr_assert_null(lx_gguf_arr_data(g, "test.strs"));
    cr_assert(lx_gguf_get_arr(g, "test.strs", &et, &cnt) && et == LX_GGUF_STRING && cnt == 1000);
    for (size_t k = 0; k < 1000; k += 111) {
        char want[16];
        snprintf(want, sizeof want, "s%zu", k);
        cr_assert(lx_gguf_arr_str(g, "test.strs", k, &v));
        cr_assert(v.n == strlen(want) && !memcmp(v.p, want, v.n));
    }
    cr_assert(lx_gguf_arr_str(g, "test.strs", 999, &v) && v.n == 4 && !memcmp(v.p, "s999", 4));
    cr_assert_not(lx_gguf_arr_str(g, "test.strs", 1000, &v));
    cr_assert_not(lx_gguf_arr_str(g, "test.arr", 0, &v));
    cr_assert_eq(lx_gguf_tensor_count(g), 2);
    const lx_gguf_tensor *a = lx_gguf_tensor_find(g, "a"), *b = lx_gguf_tensor_find(g, "b");
    cr_assert(a && b);
    cr_assert_null(lx_gguf_tensor_find(g, "c"));
    cr_assert_eq(a, lx_gguf_tensor_at(g, 0));
    cr_assert_null(lx_gguf_tensor_at(g, 2));
    cr_assert(a->n_dims == 2 && a->ne[0] == 4 && a->ne[1] == 2 && a->ne[2] == 1 && a->nbytes == 32);
    cr_assert(b->type == 1 && b->nbytes == 32 && b->offset == 32);
    cr_assert_eq((const uint8_t *)a->data, buf + s.off_data);
    cr_assert_eq((const uint8_t *)b->data, buf + s.off_b_data);
    lx_gguf_close(g);
    free(buf);
}

Test(gguf, synthetic_v3_reads_everything)
{
    check_good(3);
}

Test(gguf, synthetic_v2_and_v1)
{
    check_good(2);
    check_good(1);
}

Test(gguf, default_alignment_without_key)
{
    spec s = defaults();
    s.align = 0;
    lx_gguf *g;
    lx_error err;
    uint8_t *buf;
    size_t n;
    cr_assert_eq(open_spec(&s, &g, &err, &buf, &n), LX_OK, "%s", err.message);
    cr_assert_eq(lx_gguf_alignment(g), 32);
    lx_gguf_close(g);
    free(buf);
}

/* ---- synthetic: corrupt files ------------------------------------------- */

Test(gguf, truncated_at_every_byte_fails_cleanly)
{
    spec s = defaults();
    size_t n;
    uint8_t *full = build(&s, &n);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *p = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
        memcpy(p, full, cut);
        lx_gguf *g = (lx_gguf *)1;
        lx_error err;
        lx_status st = lx_gguf_open_memory(p, cut, &g, &err);
        cr_assert_eq(st, LX_ERR_INVALID, "cut %zu: %s", cut, lx_status_name(st));
        cr_assert_null(g);
        cr_assert(strstr(err.message, "GGUF"), "cut %zu: %s", cut, err.message);
        const char *want = cut < 4                 ? "magic"
                           : cut < 8               ? "version"
                           : cut < 16              ? "tensor count"
                           : cut < 24              ? "metadata count"
                           : cut < s.off_strs      ? "metadata"
                           : cut < s.off_tinfo     ? "'test.strs'"
                           : cut < s.off_data - 32 ? "tensor"
                                                   : "data";
        if (cut >= s.off_tinfo && cut < s.off_data)
            want = strstr(err.message, "padding") ? "padding" : "tensor";
        cr_assert(strstr(err.message, want), "cut %zu: '%s' not in: %s", cut, want, err.message);
        free(p);
    }
    free(full);
}

Test(gguf, truncated_data_names_the_tensor)
{
    spec s = defaults();
    size_t n;
    uint8_t *full = build(&s, &n);
    lx_gguf *g;
    lx_error err;
    cr_assert_eq(lx_gguf_open_memory(full, n - 1, &g, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "tensor 'b'") && strstr(err.message, "past end of file"), "%s",
              err.message);
    free(full);
}

Test(gguf, wrong_magic_and_versions)
{
    spec s = defaults();
    s.magic = "GGML";
    expect_error(s, LX_ERR_INVALID, "magic", NULL);
    s = defaults();
    s.version = 4;
    expect_error(s, LX_ERR_UNSUPPORTED, "version 4", "1, 2, 3");
    s.version = 0;
    expect_error(s, LX_ERR_UNSUPPORTED, "version 0", NULL);
    s.version = 0x03000000;
    expect_error(s, LX_ERR_UNSUPPORTED, "big-endian", NULL);
}

Test(gguf, huge_counts)
{
    spec s = defaults();
    s.n_tensors = (int64_t)1 << 60;
    expect_error(s, LX_ERR_INVALID, "tensor count", NULL);
    s = defaults();
    s.n_kv = (int64_t)1 << 60;
    expect_error(s, LX_ERR_INVALID, "metadata count", NULL);
    s = defaults();
    s.n_kv = 20; /* more entries than present: runs into the tensor table */
    expect_error(s, LX_ERR_INVALID, "metadata", NULL);
    s = defaults();
    s.strs_count = (uint64_t)1 << 61;
    expect_error(s, LX_ERR_INVALID, "'test.strs'", "count");
    s = defaults();
    s.strs_count = 100000; /* plausible but past the end */
    expect_error(s, LX_ERR_INVALID, "'test.strs'", "past end of file");
    s = defaults();
    s.version = 1;
    s.strs_count = 0xffffffffu;
    expect_error(s, LX_ERR_INVALID, "'test.strs'", NULL);
}

Test(gguf, key_lengths)
{
    spec s = defaults();
    s.key0_len = 70000;
    expect_error(s, LX_ERR_INVALID, "metadata entry 0: key", "limit");
    s.key0_len = (uint64_t)1 << 62;
    expect_error(s, LX_ERR_INVALID, "metadata entry 0: key", NULL);
    s.key0_len = 5000; /* under the limit, but eats the file */
    expect_error(s, LX_ERR_INVALID, "metadata", NULL);
}

Test(gguf, bad_value_types)
{
    spec s = defaults();
    s.extra_kv_type = 13;
    expect_error(s, LX_ERR_INVALID, "'test.bad'", "unknown value type 13");
    s = defaults();
    s.nested = true;
    expect_error(s, LX_ERR_INVALID, "'test.nested'", "nested");
    s = defaults();
    s.dup_key = true;
    expect_error(s, LX_ERR_INVALID, "'test.u8'", "twice");
}

Test(gguf, bad_alignment)
{
    spec s = defaults();
    s.align = 3;
    expect_error(s, LX_ERR_INVALID, "general.alignment", "power of two");
    s.align = 0;
    s.align_type = LX_GGUF_U64;
    s.align = 64;
    expect_error(s, LX_ERR_INVALID, "general.alignment", "u32");
}

Test(gguf, bad_offsets)
{
    spec s = defaults();
    s.b_offset = 33;
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "alignment");
    s.b_offset = (int64_t)1 << 40;
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "past end of file");
    s.b_offset = INT64_MAX - 31;
    s.b_offset -= s.b_offset % 32;
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "past end of file");
    s.b_offset = 64; /* 32 bytes at 64: one past the 64-byte data section */
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "past end of file");
}

Test(gguf, bad_tensor_infos)
{
    spec s = defaults();
    s.b_ndims = 5;
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "n_dims 5");
    s.b_ndims = 0;
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "n_dims 0");
    s = defaults();
    s.b_ndims = 2;
    s.b_ne[0] = (uint64_t)1 << 40;
    s.b_ne[1] = (uint64_t)1 << 40;
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "overflow");
    s.b_ne[0] = 0;
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "dimension 0");
    s = defaults();
    s.b_type = 99;
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "unknown ggml type 99");
    s.b_type = 8; /* q8_0 needs rows of 32 */
    expect_error(s, LX_ERR_INVALID, "tensor 'b'", "block");
    s = defaults();
    s.b_name = "a";
    expect_error(s, LX_ERR_INVALID, "tensor name 'a'", "twice");
    s.b_name = "";
    expect_error(s, LX_ERR_INVALID, "tensor 1", "empty name");
}

/* ---- files -------------------------------------------------------------- */

Test(gguf, open_errors_name_the_path)
{
    lx_gguf *g;
    lx_error err;
    cr_assert_eq(lx_gguf_open("/nonexistent/m.gguf", &g, &err), LX_ERR_NOTFOUND);
    cr_assert(strstr(err.message, "/nonexistent/m.gguf"), "%s", err.message);
    cr_assert_neq(lx_gguf_open("/tmp", &g, &err), LX_OK);
    char path[] = "/tmp/lx_gguf_testXXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(lx_gguf_open(path, &g, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "too short"), "%s", err.message);
    spec s = defaults();
    size_t n;
    uint8_t *buf = build(&s, &n);
    cr_assert_eq(write(fd, buf, n - 5), (ssize_t)(n - 5));
    close(fd);
    cr_assert_eq(lx_gguf_open(path, &g, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, path) && strstr(err.message, "tensor 'b'"), "%s", err.message);
    unlink(path);
    free(buf);
}

static const char *model_dir(void)
{
    const char *d = getenv("LLMUX_MODEL_DIR");
    return d && *d ? d : "../shared/models";
}

static lx_gguf *open_real(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", model_dir(), rel);
    if (access(p, R_OK) != 0)
        cr_skip_test("test model %s not found (set LLMUX_MODEL_DIR)", p);
    lx_gguf *g;
    lx_error err;
    cr_assert_eq(lx_gguf_open(p, &g, &err), LX_OK, "%s", err.message);
    return g;
}

Test(gguf, real_stories260k_v3_and_v1_agree)
{
    lx_gguf *a = open_real("stories260K/stories260K.gguf");
    lx_gguf *b = open_real("stories260K/stories260K-ggufv1.gguf");
    cr_assert_eq(lx_gguf_version(a), 3);
    cr_assert_eq(lx_gguf_version(b), 1);
    cr_assert_eq(lx_gguf_tensor_count(a), 48);
    cr_assert_eq(lx_gguf_tensor_count(b), 48);
    uint64_t v;
    cr_assert(lx_gguf_get_u64(a, "llama.embedding_length", &v) && v == 64);
    cr_assert(lx_gguf_get_u64(b, "llama.block_count", &v) && v == 5);
    lx_gguf_str s1, s2;
    cr_assert(lx_gguf_arr_str(a, "tokenizer.ggml.tokens", 511, &s1));
    cr_assert(lx_gguf_arr_str(b, "tokenizer.ggml.tokens", 511, &s2));
    cr_assert(s1.n == s2.n && !memcmp(s1.p, s2.p, s1.n));
    for (size_t i = 0; i < 48; i++) {
        const lx_gguf_tensor *x = lx_gguf_tensor_at(a, i);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)x->name.n, x->name.p);
        const lx_gguf_tensor *y = lx_gguf_tensor_find(b, name);
        cr_assert_not_null(y, "%s missing in v1", name);
        cr_assert(x->nbytes == y->nbytes && !memcmp(x->data, y->data, x->nbytes), "%s", name);
    }
    lx_gguf_close(a);
    lx_gguf_close(b);
}

Test(gguf, real_large_vocabularies)
{
    lx_gguf *g = open_real("smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf");
    lx_gguf_type et;
    size_t n;
    cr_assert(lx_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n) && n == 49152);
    cr_assert(lx_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n) && n == 48900);
    lx_gguf_str s;
    /* O(1) indexed lookups: all of them, quickly */
    size_t total = 0;
    for (size_t i = 0; i < 49152; i++) {
        cr_assert(lx_gguf_arr_str(g, "tokenizer.ggml.tokens", i, &s));
        total += s.n;
    }
    cr_assert_gt(total, 49152);
    const lx_gguf_tensor *t = lx_gguf_tensor_find(g, "token_embd.weight");
    cr_assert(t && t->type == 8 && t->ne[0] == 64 && t->ne[1] == 49152);
    cr_assert_eq((uintptr_t)t->data % lx_gguf_alignment(g), 0);
    lx_gguf_close(g);
    g = open_real("llama-2-tiny-random/llama-2-tiny-random.gguf");
    cr_assert(lx_gguf_get_arr(g, "tokenizer.ggml.scores", &et, &n) && et == LX_GGUF_F32 &&
              n == 32000);
    cr_assert_not_null(lx_gguf_arr_data(g, "tokenizer.ggml.scores"));
    lx_gguf_close(g);
}

Test(gguf, many_keys_open_in_linear_time)
{
    enum { N = 300000 };
    wb b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 0);
    u64(&b, N);
    for (int i = 0; i < N; i++) {
        char k[24];
        snprintf(k, sizeof k, "k%d", i);
        str(&b, k);
        u32(&b, LX_GGUF_U8);
        put(&b, "\x07", 1);
    }
    lx_gguf *g;
    lx_error err;
    cr_assert_eq(lx_gguf_open_memory(b.p, b.n, &g, &err), LX_OK, "%s", err.message);
    uint64_t v;
    cr_assert(lx_gguf_get_u64(g, "k299999", &v) && v == 7);
    cr_assert_eq(lx_gguf_find(g, "k123456"), 123456);
    cr_assert_eq(lx_gguf_find(g, "k300000"), -1);
    lx_gguf_close(g);
    /* the last key renamed to "k1": a duplicate, found without a quadratic scan */
    size_t last = b.n - 1 - 4 - 7 - 8; /* its length field */
    uint64_t two = 2;
    memcpy(b.p + last, &two, 8);
    memcpy(b.p + last + 8, "k1", 2);
    memmove(b.p + last + 10, b.p + last + 15, 5); /* type + value after the shorter key */
    cr_assert_eq(lx_gguf_open_memory(b.p, b.n - 5, &g, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "'k1' appears twice"), "%s", err.message);
    free(b.p);
}
