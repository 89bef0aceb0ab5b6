/*
 * kernels_impl.h — private contract between kernels.c (dispatch, threading)
 * and the back ends kernels_scalar.c, kernels_avx2.c, kernels_avx512.c.
 *
 * Block layouts of the weight types (little-endian, packed, no padding):
 *
 *   Q8_0  32 elements, 34 bytes:  f16 d; int8 q[32];          x = d*q
 *   Q4_0  32 elements, 18 bytes:  f16 d; u8 qs[16];           x = d*(nib-8)
 *         element j < 16 is the low nibble of qs[j], element 16+j the high one
 *   Q4_K  256 elements, 144 bytes: f16 d; f16 dmin; u8 scales[12]; u8 qs[128];
 *         8 sub-blocks of 32 with a 6-bit scale sc and 6-bit min m each:
 *         x = d*sc*nib - dmin*m. Sub-block j < 4: sc = s[j]&63, m = s[j+4]&63;
 *         j >= 4: sc = (s[j+4]&15) | (s[j-4]>>6)<<4, m = (s[j+4]>>4) | (s[j]>>6)<<4.
 *         qs in 4 chunks of 32 bytes; chunk c holds sub-block 2c in its low
 *         nibbles and sub-block 2c+1 in its high nibbles.
 *   Q6_K  256 elements, 210 bytes: u8 ql[128]; u8 qh[64]; int8 scales[16]; f16 d;
 *         16 sub-blocks of 16, x = d*scales[k]*(q-32), q 6-bit. Two halves of
 *         128 elements (ql += 64, qh += 32 per half); within a half, for
 *         l < 32: element l     = ql[l]&15    | ((qh[l]>>0)&3)<<4
 *                     element l+32  = ql[l+32]&15 | ((qh[l]>>2)&3)<<4
 *                     element l+64  = ql[l]>>4    | ((qh[l]>>4)&3)<<4
 *                     element l+96  = ql[l+32]>>4 | ((qh[l]>>6)&3)<<4
 *
 * Activations. For the quantized weight types lx_matmul quantizes X once
 * per call into int8 (lx_qact): q[cols] per token, one float scale per
 * `ablk` elements (32 for Q8_0/Q4_0, 256 for the K types) and the int16 sum
 * of q over every 16 elements (used for the offsets of Q4_0, Q4_K and Q6_K
 * and for the unsigned*signed VNNI trick). Float weight types use X as is.
 *
 * A back end fills an lx_kops table. mm[type] computes Y for rows [r0, r1)
 * and all tokens; it chooses its own tiling over tokens (several tokens per
 * weight row load for prefill).
 */
#ifndef LX_ENGINE_KERNELS_IMPL_H
#define LX_ENGINE_KERNELS_IMPL_H

#include <stdint.h>
#include <string.h>

#include "engine/kernels.h"

#define LX_QK 32
#define LX_QKK 256

typedef struct {
    uint16_t d;
    int8_t q[32];
} lx_blk_q8_0;

typedef struct {
    uint16_t d;
    uint8_t qs[16];
} lx_blk_q4_0;

typedef struct {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[128];
} lx_blk_q4_k;

typedef struct {
    uint8_t ql[128];
    uint8_t qh[64];
    int8_t scales[16];
    uint16_t d;
} lx_blk_q6_k;

/* Quantized activations for n_tok tokens of `cols` elements. */
typedef struct {
    int8_t *q;  /* n_tok * cols */
    float *d;   /* n_tok * (cols / ablk) */
    int16_t *s; /* n_tok * (cols / 16) */
    int ablk;   /* 32 or 256 */
    /* ablk == 32 only: ds[b] = d[b] * (sum of the block's q), n_tok * cols/32;
     * dx8: every d[b] repeated 8 times, n_tok * cols / 4 (SIMD lane scales) */
    float *ds;
    float *dx8;
} lx_qact;

/* One matmul call, shared by all threads (read-only during the run). */
typedef struct {
    const uint8_t *W;
    size_t row_bytes;
    const float *X; /* float activations (F32/F16/BF16 weights) */
    lx_qact xq;     /* quantized activations (Q types) */
    float *Y;
    int rows, cols, n_tok;
} lx_mm;

typedef void (*lx_mm_fn)(const lx_mm *m, int r0, int r1);

typedef struct {
    const char *name;
    lx_mm_fn mm_f32, mm_f16, mm_bf16, mm_q8_0, mm_q4_0, mm_q4_k, mm_q6_k;
    /* x: n elements (multiple of ablk) -> q, d, s of one token */
    void (*quant)(const float *x, int8_t *q, float *d, int16_t *s, int n, int ablk);
    void (*rmsnorm)(float *out, const float *x, const float *w, int n, float eps);
    void (*softmax)(float *x, int n);
    void (*swiglu)(float *out, const float *gate, const float *up, int n);
    float (*dot_f32)(const float *a, const float *b, int n);
    void (*axpy_f32)(float *y, float a, const float *x, int n);
} lx_kops;

extern const lx_kops lx_kops_scalar;
extern const lx_kops lx_kops_avx2;
extern const lx_kops lx_kops_avx512;

/* Shared scalar pieces (kernels_scalar.c), usable by the SIMD back ends for
 * tails and rarely used functions. */
void lx_scalar_quant(const float *x, int8_t *q, float *d, int16_t *s, int n, int ablk);
void lx_scalar_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
void lx_scalar_softmax(float *x, int n);
void lx_scalar_swiglu(float *out, const float *gate, const float *up, int n);
float lx_scalar_dot_f32(const float *a, const float *b, int n);
void lx_scalar_axpy_f32(float *y, float a, const float *x, int n);

/* Per-pool scratch memory (kernels.c / threadpool.c): at least n bytes,
 * 64-byte aligned, valid until the next call on the same pool; NULL on
 * allocation failure. */
void *lx_pool_scratch(lx_pool *p, size_t n);

/* Q4_K 6-bit scale and min of sub-block j (0..7). */
static inline void lx_q4k_scale_min(const uint8_t *s, int j, int *sc, int *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

static inline uint16_t lx_rd16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

#endif
