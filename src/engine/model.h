/*
 * model.h — decoder-only transformer (Llama family, Qwen2) over GGUF weights.
 *
 * Architectures (GGUF `general.architecture`):
 *   llama  Llama 2 / 3.x, TinyLlama, SmolLM, Mistral-style. RoPE on adjacent
 *          pairs (x[2i], x[2i+1]) — GGUF llama files store Q/K already
 *          permuted for that layout.
 *   qwen2  as llama plus biases on Q, K and V; RoPE on halves
 *          (x[i], x[i + rot/2]), the "NeoX" layout.
 *
 * One block:  h = x + Wo · attn(rope(Wq·n), rope(Wk·n), Wv·n),  n = rmsnorm(x)
 *             x' = h + Wdown · (silu(Wgate·m) * (Wup·m)),       m = rmsnorm(h)
 * with grouped-query attention (n_kv_heads divides n_heads). Logits are
 * Woutput · rmsnorm(x) (Woutput = token_embd when `output.weight` is absent).
 *
 * Weights stay in their GGUF encoding in the mapping; only 1-D tensors
 * (norms, biases) are copied out as f32. Every tensor's shape and type is
 * validated at load with an error naming the tensor.
 *
 * State: an lx_model_state holds one sequence's KV cache (f32, per layer
 * [pos][n_kv_heads * head_dim], grown on demand up to n_ctx) and the scratch
 * buffers of a forward pass. The model is immutable after load and may be
 * shared by threads; a state belongs to one thread at a time, and a pool is
 * used by one forward call at a time.
 */
#ifndef LX_ENGINE_MODEL_H
#define LX_ENGINE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "engine/gguf.h"
#include "engine/kernels.h"

typedef enum { LX_ARCH_LLAMA = 0, LX_ARCH_QWEN2 = 1 } lx_arch;

typedef struct lx_hparams {
    lx_arch arch;
    const char *arch_name;
    int n_vocab, dim, n_layers, n_heads, n_kv_heads, head_dim, ff_dim, n_ctx_train;
    int rope_dim;      /* rotated dims per head (<= head_dim, even) */
    bool rope_neox;    /* halves (qwen2) vs adjacent pairs (llama) */
    float eps;         /* rmsnorm epsilon */
    float rope_base;   /* theta */
    float rope_linear; /* positions divided by this (linear scaling), 1 = off */
    bool tied_output;  /* output.weight absent: logits from token_embd */
} lx_hparams;

typedef struct lx_weight {
    const void *data; /* into the mapping */
    lx_ttype type;
    int rows, cols;
} lx_weight;

typedef struct lx_layer {
    lx_weight wq, wk, wv, wo, gate, up, down;
    const float *attn_norm, *ffn_norm; /* owned copies, f32 */
    const float *bq, *bk, *bv;         /* qwen2 only; NULL otherwise */
} lx_layer;

typedef struct lx_model {
    lx_gguf *gguf; /* owned */
    lx_hparams hp;
    lx_weight tok_embd, output;
    const float *out_norm;
    lx_layer *layers;
    float *rope_freq; /* rope_dim/2 inverse frequencies (scaling applied) */
    float *f32_store; /* every owned f32 vector */
    uint64_t n_params, weight_bytes;
} lx_model;

/* Takes ownership of g (closed on failure too). Errors name the key or the
 * tensor: unknown architecture lists the supported ones; an unsupported
 * tensor type lists the supported types. Caller frees with lx_model_free. */
lx_status lx_model_from_gguf(lx_gguf *g, lx_model **out, lx_error *err);
/* Opens the file and loads it. */
lx_status lx_model_load(const char *path, lx_model **out, lx_error *err);
void lx_model_free(lx_model *m);

/* "llama, qwen2" */
const char *lx_model_archs_supported(void);

typedef struct lx_model_state lx_model_state;

/* State for one sequence of up to n_ctx tokens (n_ctx <= 0: the model's
 * training context). n_tasks: how many attention tasks run in parallel
 * (usually the pool's thread count). */
lx_status lx_model_state_new(const lx_model *m, int n_ctx, int n_tasks, lx_model_state **out,
                             lx_error *err);
void lx_model_state_free(lx_model_state *s);
int lx_model_state_n_ctx(const lx_model_state *s);

/* Runs tokens[0..n) at positions [pos, pos+n) (the cache must hold [0, pos)
 * already), storing their keys and values. logits: n_vocab floats for the
 * last token, or n * n_vocab (row per token) when all_logits. Prefill is
 * batched (matrix-matrix products over up to 128 tokens at a time).
 * LX_ERR_TOOBIG when pos + n > n_ctx; LX_ERR_INVALID for a bad token id. */
lx_status lx_model_forward(const lx_model *m, lx_model_state *s, lx_pool *pool,
                           const int32_t *tokens, int n, int pos, float *logits, bool all_logits,
                           lx_error *err);

#endif
