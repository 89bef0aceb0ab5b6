/*
 * kernels.h — tensor types and the compute kernels the transformer needs.
 *
 * Contract between the model code (model.c) and the kernels
 * (kernels_scalar.c, kernels_avx2.c, kernels_avx512.c, picked at run time by
 * lx_kernels_init). Weights stay in their GGUF encoding; kernels compute dot
 * products block by block and never dequantize a whole matrix.
 *
 * Matrices are row-major as stored in GGUF: a weight W of `rows` x `cols`
 * (GGUF ne[0] = cols, ne[1] = rows) holds `rows` rows, each of
 * lx_type_row_size(type, cols) bytes.
 *
 * Threading: lx_matmul splits rows over the pool's threads; everything else
 * here is single-threaded and called per row / per head by the caller.
 */
#ifndef LX_ENGINE_KERNELS_H
#define LX_ENGINE_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GGML type ids as stored in GGUF tensor infos. */
typedef enum {
    LX_T_F32 = 0,
    LX_T_F16 = 1,
    LX_T_Q4_0 = 2,
    LX_T_Q8_0 = 8,
    LX_T_Q4_K = 12,
    LX_T_Q6_K = 14,
    LX_T_BF16 = 30,
} lx_ttype;

/* true for the types above */
bool lx_type_supported(uint32_t type);
/* "f32", "q8_0", ...; "unknown" otherwise */
const char *lx_type_name(uint32_t type);
/* elements per block (1 for float types, 32 or 256 for quantized) */
size_t lx_type_block(lx_ttype t);
/* bytes per block */
size_t lx_type_block_bytes(lx_ttype t);
/* bytes of one row of n elements; 0 if n is not a multiple of the block */
size_t lx_type_row_size(lx_ttype t, size_t n);
/* the comma-separated list of supported types, for error messages */
const char *lx_types_supported_list(void);

float lx_f16_to_f32(uint16_t h);
uint16_t lx_f32_to_f16(float f);
float lx_bf16_to_f32(uint16_t h);
/* round to nearest even; NaN stays NaN (quiet) */
uint16_t lx_f32_to_bf16(float f);

/* Dequantizes one row of n elements (an embedding lookup). */
void lx_dequant_row(lx_ttype t, const void *row, float *out, size_t n);

typedef struct lx_pool lx_pool;
/* Persistent pool of n_threads workers (the caller counts as one); NULL on
 * failure. n_threads <= 0 means the number of online CPUs. */
lx_pool *lx_pool_new(int n_threads);
void lx_pool_free(lx_pool *p);
int lx_pool_threads(const lx_pool *p);
/* Runs fn(ctx, i, n) for i in [0, n) across the pool; returns when all done. */
void lx_pool_run(lx_pool *p, void (*fn)(void *ctx, int i, int n), void *ctx, int n);

/* Y[t][r] = dot(W[r], X[t]) for t < n_tok, r < rows. X is n_tok x cols f32
 * (row stride cols), Y is n_tok x rows f32 (row stride rows). n_tok == 1 is
 * decode (matrix-vector); n_tok > 1 is prefill (matrix-matrix, W read once
 * per tile of tokens). cols must be a multiple of the type's block. */
void lx_matmul(lx_pool *pool, float *Y, const void *W, lx_ttype type, const float *X, int rows,
               int cols, int n_tok);

/* Element-wise helpers the model needs (f32). */
void lx_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
void lx_softmax(float *x, int n);
/* out[i] = silu(gate[i]) * up[i] */
void lx_swiglu(float *out, const float *gate, const float *up, int n);
/* Attention helpers (SIMD, any n): returns sum a[i]*b[i]; y[i] += a * x[i]. */
float lx_dot_f32(const float *a, const float *b, int n);
void lx_axpy_f32(float *y, float a, const float *x, int n);

/* Which implementation lx_kernels_init chose: "avx512", "avx2", "scalar". */
const char *lx_kernels_name(void);
/* Picks the best implementation for this CPU; LLMUX_KERNELS=scalar|avx2|avx512
 * forces one (tests use this to compare paths). Idempotent, thread-safe. */
void lx_kernels_init(void);
/* true when this CPU (and build) can run the named implementation. */
bool lx_kernels_available(const char *name);
/* Switches every later call to the named implementation ("scalar", "avx2",
 * "avx512"); false (nothing changed) when unknown or not available here.
 * For tests and benchmarks: do not call while kernels run on other threads. */
bool lx_kernels_use(const char *name);

#endif
