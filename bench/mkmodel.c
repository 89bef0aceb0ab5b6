/*
 * mkmodel — writes a random-weight GGUF v3 file with the shape of a real
 * model, for speed measurements (speed does not depend on weight values).
 *
 *   mkmodel --preset smollm2-135m|qwen2.5-0.5b --type q8_0|q4_0|f16 -o FILE
 *
 * Layout written: header (magic, version 3, tensor count, metadata count),
 * metadata (architecture hyper-parameters and a minimal SentencePiece-style
 * vocabulary of the model's size: <unk>, <s>, </s>, the 256 byte tokens, then
 * placeholder pieces, so loaders that want a vocabulary accept the file),
 * tensor infos, padding to 32 bytes, tensor data (each tensor padded to 32).
 * Matrices use the requested type with weights of standard deviation about
 * 0.02; norms are F32 ones; Qwen2's q/k/v biases are small F32 values. Both
 * presets tie the output projection to the token embedding.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels.h"

typedef struct {
    const char *name, *arch, *pretty;
    int dim, blocks, heads, kv_heads, ffn, vocab, ctx;
    float rope_base, eps;
    int qkv_bias;
} preset;

static const preset presets[] = {
    {"smollm2-135m", "llama", "SmolLM2 135M (random weights)", 576, 30, 9, 3, 1536, 49152, 8192,
     100000.0f, 1e-5f, 0},
    {"qwen2.5-0.5b", "qwen2", "Qwen2.5 0.5B (random weights)", 896, 24, 14, 2, 4864, 151936, 32768,
     1000000.0f, 1e-6f, 1},
};

/* ---- little writer ---- */

static FILE *out;
static int write_failed;

static void put(const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, out) != n)
        write_failed = 1;
}
static void u32(uint32_t v)
{
    put(&v, 4);
}
static void u64(uint64_t v)
{
    put(&v, 8);
}
static void str(const char *s)
{
    u64(strlen(s));
    put(s, strlen(s));
}
static void kv_str(const char *k, const char *v)
{
    str(k);
    u32(8);
    str(v);
}
static void kv_u32(const char *k, uint32_t v)
{
    str(k);
    u32(4);
    u32(v);
}
static void kv_f32(const char *k, float v)
{
    str(k);
    u32(6);
    put(&v, 4);
}
static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}
/* roughly normal, standard deviation 1 (sum of 4 uniforms) */
static float gauss(void)
{
    float s = 0;
    for (int i = 0; i < 4; i++)
        s += (float)(rnd() >> 8) / 16777216.0f;
    return (s - 2.0f) * 1.7320508f;
}

/* ---- tensors ---- */

typedef struct {
    char name[64];
    uint32_t type;
    uint64_t ne0, ne1; /* ne1 == 1 for vectors */
    uint64_t bytes, offset;
    int kind; /* 0 matrix, 1 norm (ones), 2 bias */
} tensor;

static tensor tensors[512];
static int n_tensors;

static void add(const char *name, uint32_t type, uint64_t ne0, uint64_t ne1, int kind)
{
    tensor *t = &tensors[n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->ne0 = ne0;
    t->ne1 = ne1;
    t->kind = kind;
    t->bytes = lx_type_row_size((lx_ttype)type, ne0) * ne1;
}

static void write_row(uint32_t type, uint8_t *buf, uint64_t n, int kind)
{
    if (type == LX_T_F32) {
        for (uint64_t i = 0; i < n; i++) {
            float v = kind == 1 ? 1.0f : 0.02f * gauss();
            memcpy(buf + 4 * i, &v, 4);
        }
    } else if (type == LX_T_F16) {
        for (uint64_t i = 0; i < n; i++) {
            uint16_t h = lx_f32_to_f16(0.02f * gauss());
            memcpy(buf + 2 * i, &h, 2);
        }
    } else if (type == LX_T_Q8_0) {
        for (uint64_t b = 0; b < n / 32; b++) {
            uint8_t *blk = buf + 34 * b;
            uint16_t d = lx_f32_to_f16(0.06f / 127.0f);
            memcpy(blk, &d, 2);
            for (int j = 0; j < 32; j++) {
                float v = gauss() * 127.0f / 3.0f;
                v = v > 127 ? 127 : v < -127 ? -127 : v;
                blk[2 + j] = (uint8_t)(int8_t)lrintf(v);
            }
        }
    } else if (type == LX_T_Q4_0) {
        for (uint64_t b = 0; b < n / 32; b++) {
            uint8_t *blk = buf + 18 * b;
            uint16_t d = lx_f32_to_f16(0.06f / 8.0f);
            memcpy(blk, &d, 2);
            for (int j = 0; j < 16; j++)
                blk[2 + j] = (uint8_t)(rnd() & 0xff);
        }
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mkmodel --preset smollm2-135m|qwen2.5-0.5b --type q8_0|q4_0|f16 -o FILE\n");
}

int main(int argc, char **argv)
{
    const char *pname = NULL, *tname = "q8_0", *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--preset") && i + 1 < argc)
            pname = argv[++i];
        else if (!strcmp(argv[i], "--type") && i + 1 < argc)
            tname = argv[++i];
        else if (!strcmp(argv[i], "-o") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    const preset *P = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (pname && !strcmp(pname, presets[i].name))
            P = &presets[i];
    uint32_t type;
    if (!strcmp(tname, "q8_0"))
        type = LX_T_Q8_0;
    else if (!strcmp(tname, "q4_0"))
        type = LX_T_Q4_0;
    else if (!strcmp(tname, "f16"))
        type = LX_T_F16;
    else
        type = UINT32_MAX;
    if (!P || !path || type == UINT32_MAX) {
        usage(stderr);
        return 2;
    }

    int hd = P->dim / P->heads, kvd = hd * P->kv_heads;
    add("token_embd.weight", type, (uint64_t)P->dim, (uint64_t)P->vocab, 0);
    add("output_norm.weight", LX_T_F32, (uint64_t)P->dim, 1, 1);
    for (int b = 0; b < P->blocks; b++) {
        char n[64];
#define T(suffix, ty, a, c, kind)                                                                  \
    snprintf(n, sizeof n, "blk.%d.%s", b, suffix);                                                 \
    add(n, ty, (uint64_t)(a), (uint64_t)(c), kind)
        T("attn_norm.weight", LX_T_F32, P->dim, 1, 1);
        T("attn_q.weight", type, P->dim, P->dim, 0);
        T("attn_k.weight", type, P->dim, kvd, 0);
        T("attn_v.weight", type, P->dim, kvd, 0);
        if (P->qkv_bias) {
            T("attn_q.bias", LX_T_F32, P->dim, 1, 2);
            T("attn_k.bias", LX_T_F32, kvd, 1, 2);
            T("attn_v.bias", LX_T_F32, kvd, 1, 2);
        }
        T("attn_output.weight", type, P->dim, P->dim, 0);
        T("ffn_norm.weight", LX_T_F32, P->dim, 1, 1);
        T("ffn_gate.weight", type, P->dim, P->ffn, 0);
        T("ffn_up.weight", type, P->dim, P->ffn, 0);
        T("ffn_down.weight", type, P->ffn, P->dim, 0);
#undef T
    }
    uint64_t off = 0;
    for (int i = 0; i < n_tensors; i++) {
        tensors[i].offset = off;
        off += (tensors[i].bytes + 31) & ~(uint64_t)31;
    }

    out = fopen(path, "wb");
    if (!out) {
        perror(path);
        return 1;
    }
    char key[128];
    const char *a = P->arch;
    int n_kv = 18;
    put("GGUF", 4);
    u32(3);
    u64((uint64_t)n_tensors);
    u64((uint64_t)n_kv);
    kv_str("general.architecture", a);
    kv_str("general.name", P->pretty);
    kv_u32("general.alignment", 32);
    kv_u32("general.file_type", type == LX_T_Q8_0 ? 7 : type == LX_T_Q4_0 ? 2 : 1);
#define KU(suffix, v)                                                                              \
    snprintf(key, sizeof key, "%s.%s", a, suffix);                                                 \
    kv_u32(key, (uint32_t)(v))
    KU("context_length", P->ctx);
    KU("embedding_length", P->dim);
    KU("block_count", P->blocks);
    KU("feed_forward_length", P->ffn);
    KU("attention.head_count", P->heads);
    KU("attention.head_count_kv", P->kv_heads);
    KU("rope.dimension_count", hd);
    KU("vocab_size", P->vocab);
#undef KU
    snprintf(key, sizeof key, "%s.rope.freq_base", a);
    kv_f32(key, P->rope_base);
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", a);
    kv_f32(key, P->eps);
    kv_str("tokenizer.ggml.model", "llama");
    /* the vocabulary: tokens, scores, token types */
    str("tokenizer.ggml.tokens");
    u32(9);
    u32(8);
    u64((uint64_t)P->vocab);
    for (int i = 0; i < P->vocab; i++) {
        char piece[32];
        if (i == 0)
            snprintf(piece, sizeof piece, "<unk>");
        else if (i == 1)
            snprintf(piece, sizeof piece, "<s>");
        else if (i == 2)
            snprintf(piece, sizeof piece, "</s>");
        else if (i < 3 + 256)
            snprintf(piece, sizeof piece, "<0x%02X>", i - 3);
        else
            snprintf(piece, sizeof piece, "\xe2\x96\x81t%d", i);
        str(piece);
    }
    str("tokenizer.ggml.scores");
    u32(9);
    u32(6);
    u64((uint64_t)P->vocab);
    for (int i = 0; i < P->vocab; i++) {
        float s = i < 259 ? 0.0f : -(float)i;
        put(&s, 4);
    }
    str("tokenizer.ggml.token_type");
    u32(9);
    u32(5);
    u64((uint64_t)P->vocab);
    for (int i = 0; i < P->vocab; i++) {
        int32_t t = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
        put(&t, 4);
    }

    for (int i = 0; i < n_tensors; i++) {
        const tensor *t = &tensors[i];
        str(t->name);
        u32(t->ne1 > 1 ? 2 : 1);
        u64(t->ne0);
        if (t->ne1 > 1)
            u64(t->ne1);
        u32(t->type);
        u64(t->offset);
    }
    long pos = ftell(out);
    static const uint8_t zeros[32];
    put(zeros, (size_t)((32 - pos % 32) % 32));

    size_t rbmax = 0;
    for (int i = 0; i < n_tensors; i++) {
        size_t rb = lx_type_row_size((lx_ttype)tensors[i].type, tensors[i].ne0);
        rbmax = rb > rbmax ? rb : rbmax;
    }
    uint8_t *row = malloc(rbmax);
    if (!row)
        return 1;
    for (int i = 0; i < n_tensors && !write_failed; i++) {
        const tensor *t = &tensors[i];
        size_t rb = lx_type_row_size((lx_ttype)t->type, t->ne0);
        for (uint64_t r = 0; r < t->ne1; r++) {
            write_row(t->type, row, t->ne0, t->kind);
            put(row, rb);
        }
        put(zeros, (size_t)(((t->bytes + 31) & ~(uint64_t)31) - t->bytes));
    }
    free(row);
    if (fclose(out) != 0 || write_failed) {
        fprintf(stderr, "mkmodel: writing %s failed\n", path);
        return 1;
    }
    fprintf(stderr, "mkmodel: wrote %s (%s, %s, %d tensors, %.1f MB of tensor data)\n", path,
            P->name, tname, n_tensors, (double)off / 1e6);
    return 0;
}
