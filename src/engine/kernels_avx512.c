/*
 * kernels_avx512.c — AVX-512 (F, BW, VL, DQ, VNNI) back end.
 *
 * Q8_0 / Q4_0 against int8 activations (kernels_impl.h) with vpdpbusd,
 * which multiplies unsigned by signed bytes and adds groups of four into
 * int32 lanes without saturation:
 *   - one zmm covers a pair of blocks (64 elements): int32 lanes 0..7 come
 *     from block b, lanes 8..15 from block b+1, so the per-block scales are
 *     applied lane-wise ([d_b x8 | d_b+1 x8]) and the horizontal sum waits
 *     until the end of the row;
 *   - Q8_0 weights are made unsigned by flipping the sign bit (w + 128), Q4_0
 *     nibbles are unsigned already (n = w + 8); the offset times the
 *     activation sum is taken out by starting the accumulation from
 *     -offset * (x summed per 4 bytes), computed once per token and pair;
 *   - a tile of RB rows x TB tokens keeps RB*TB accumulators in registers,
 *     so each weight load serves TB tokens (prefill) and each activation
 *     load serves RB rows; decode runs the same code with TB = 1.
 * Float weights (F32/F16/BF16) use FMA on 16 lanes, 4 rows at a time. The
 * K types fall back to the scalar code (entries left NULL).
 */
#include <immintrin.h>
#include <math.h>

#include "engine/kernels_impl.h"

#define AI static inline __attribute__((always_inline))

/* ---- activation quantization (bit-identical to lx_scalar_quant) ---- */

static void quant(const float *x, int8_t *q, float *d, int16_t *s, int n, int ablk)
{
    for (int b = 0; b < n / ablk; b++) {
        const float *xb = x + (size_t)b * ablk;
        __m512 mx = _mm512_setzero_ps();
        for (int i = 0; i < ablk; i += 16)
            mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_loadu_ps(xb + i)));
        float amax = _mm512_reduce_max_ps(mx);
        float id = amax > 0 ? 127.0f / amax : 0.0f;
        d[b] = amax / 127.0f;
        __m512 vid = _mm512_set1_ps(id);
        for (int i = 0; i < ablk; i += 16) {
            __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + i), vid));
            _mm_storeu_si128((__m128i *)(q + (size_t)b * ablk + i), _mm512_cvtepi32_epi8(v));
            s[((size_t)b * ablk + i) / 16] = (int16_t)_mm512_reduce_add_epi32(v);
        }
    }
}

/* ---- quantized tiles ---- */

/* Q8_0: 32 weight bytes of blocks b and b+1, sign bit flipped (unsigned w+128) */
AI __m512i load_w_q8_0(const lx_blk_q8_0 *w)
{
    __m512i v = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)w[0].q));
    v = _mm512_inserti64x4(v, _mm256_loadu_si256((const __m256i *)w[1].q), 1);
    return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
}

/* Q4_0: nibbles of blocks b, b+1 in element order (unsigned n = w + 8) */
AI __m512i load_w_q4_0(const lx_blk_q4_0 *w)
{
    __m256i v =
        _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)w[0].qs)),
                                _mm_loadu_si128((const __m128i *)w[1].qs), 1);
    /* 128-bit lanes: [lo b | lo b+1 | hi b | hi b+1] -> [lo b | hi b | lo b+1 | hi b+1] */
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
    z = _mm512_and_si512(z, _mm512_set1_epi8(15));
    return _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
}

/* Weight scales of a row tile, prepared once per tile: dwp[i][b] the f32
 * scale of block b of row i, dwe[i] the same repeated 8 times (lane scales
 * of a block pair are one 64-byte load). */
#define MAX_NB 512 /* cols up to 16384; wider rows take the scalar code */

AI void prep_scales(const lx_mm *m, int r, const int RB, const int Q8, float *dwp, float *dwe)
{
    const int nb = m->cols / 32;
    for (int i = 0; i < RB; i++) {
        const uint8_t *row = m->W + (size_t)(r + i) * m->row_bytes;
        const size_t bb = Q8 ? sizeof(lx_blk_q8_0) : sizeof(lx_blk_q4_0);
        int b = 0;
        for (; b + 16 <= nb; b += 16) {
            /* 16 f16 scales at a stride of bb bytes */
            __m512i idx = _mm512_mullo_epi32(
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                _mm512_set1_epi32((int)bb));
            __m512i h = _mm512_i32gather_epi32(idx, row + (size_t)b * bb, 1);
            __m512 f = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h));
            _mm512_storeu_ps(dwp + i * MAX_NB + b, f);
        }
        for (; b < nb; b++)
            dwp[i * MAX_NB + b] = _cvtsh_ss(lx_rd16(row + (size_t)b * bb));
        for (b = 0; b < nb; b++)
            _mm256_storeu_ps(dwe + (size_t)i * MAX_NB * 8 + 8 * b,
                             _mm256_set1_ps(dwp[i * MAX_NB + b]));
    }
}

/* The tile: rows r..r+RB, tokens t..t+TB, all blocks. Q8 = 1 for Q8_0, 0
 * for Q4_0. The weights' offset (128 or 8) times the activation sums is
 * taken out at the end from ds (kernels_impl.h). A trailing odd block is
 * handled with the upper half masked off. */
AI void tile_q(const lx_mm *m, int r, int t, const int RB, const int TB, const int Q8,
               const float *dwp, const float *dwe)
{
    const int cols = m->cols, nb = cols / 32;
    const uint8_t *rowp[4];
    _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++) rowp[i] =
        m->W + (size_t)(r + i) * m->row_bytes;
    const int8_t *xq[4];
    const float *x8[4];
    _Pragma("GCC unroll 4") for (int j = 0; j < TB; j++)
    {
        xq[j] = m->xq.q + (size_t)(t + j) * cols;
        x8[j] = m->xq.dx8 + (size_t)(t + j) * nb * 8;
    }
    __m512 acc[4][4];
    _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++)
        _Pragma("GCC unroll 4") for (int j = 0; j < TB; j++) acc[i][j] = _mm512_setzero_ps();
    int b = 0;
    for (; b + 2 <= nb; b += 2) {
        __m512i wv[4];
        __m512 dw[4];
        _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++)
        {
            if (Q8) {
                const lx_blk_q8_0 *w = (const lx_blk_q8_0 *)rowp[i] + b;
                _mm_prefetch((const char *)(w + 16), _MM_HINT_T0);
                wv[i] = load_w_q8_0(w);
            } else {
                const lx_blk_q4_0 *w = (const lx_blk_q4_0 *)rowp[i] + b;
                _mm_prefetch((const char *)(w + 24), _MM_HINT_T0);
                wv[i] = load_w_q4_0(w);
            }
            dw[i] = _mm512_loadu_ps(dwe + (size_t)i * MAX_NB * 8 + 8 * b);
        }
        _Pragma("GCC unroll 4") for (int j = 0; j < TB; j++)
        {
            __m512i xv = _mm512_loadu_si512(xq[j] + 32 * b);
            __m512 dx = _mm512_loadu_ps(x8[j] + 8 * b);
            _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++)
            {
                __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv[i], xv);
                acc[i][j] =
                    _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw[i], dx), acc[i][j]);
            }
        }
    }
    if (b < nb) { /* odd block count: the last block alone in the low half */
        const __mmask16 lo = 0x00ff;
        _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++)
        {
            __m512i wv;
            if (Q8) {
                const lx_blk_q8_0 *w = (const lx_blk_q8_0 *)rowp[i] + b;
                wv = _mm512_castsi256_si512(_mm256_xor_si256(
                    _mm256_loadu_si256((const __m256i *)w->q), _mm256_set1_epi8((char)0x80)));
            } else {
                const lx_blk_q4_0 *w = (const lx_blk_q4_0 *)rowp[i] + b;
                __m128i v = _mm_loadu_si128((const __m128i *)w->qs);
                __m256i z =
                    _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
                wv = _mm512_castsi256_si512(_mm256_and_si256(z, _mm256_set1_epi8(15)));
            }
            wv = _mm512_maskz_mov_epi32(lo, wv);
            __m512 dw = _mm512_maskz_loadu_ps(lo, dwe + (size_t)i * MAX_NB * 8 + 8 * b);
            _Pragma("GCC unroll 4") for (int j = 0; j < TB; j++)
            {
                __m512i xv = _mm512_maskz_loadu_epi32(lo, xq[j] + 32 * b);
                __m512 dx = _mm512_maskz_loadu_ps(lo, x8[j] + 8 * b);
                __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, xv);
                acc[i][j] =
                    _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw, dx), acc[i][j]);
            }
        }
    }
    /* offset correction: y -= off * sum_b dw[b] * ds[b] */
    const float off = Q8 ? 128.0f : 8.0f;
    _Pragma("GCC unroll 4") for (int j = 0; j < TB; j++)
    {
        const float *ds = m->xq.ds + (size_t)(t + j) * nb;
        _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++)
        {
            __m512 c = _mm512_setzero_ps();
            int k = 0;
            for (; k + 16 <= nb; k += 16)
                c = _mm512_fmadd_ps(_mm512_loadu_ps(dwp + i * MAX_NB + k), _mm512_loadu_ps(ds + k),
                                    c);
            if (k < nb) {
                __mmask16 km = (__mmask16)((1u << (nb - k)) - 1);
                c = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(km, dwp + i * MAX_NB + k),
                                    _mm512_maskz_loadu_ps(km, ds + k), c);
            }
            m->Y[(size_t)(t + j) * m->rows + r + i] =
                _mm512_reduce_add_ps(acc[i][j]) - off * _mm512_reduce_add_ps(c);
        }
    }
}

#define TILE_FN(name, RB, TB, Q8)                                                                  \
    static void name(const lx_mm *m, int r, int t, const float *dwp, const float *dwe)             \
    {                                                                                              \
        tile_q(m, r, t, RB, TB, Q8, dwp, dwe);                                                     \
    }
TILE_FN(q8_4x4, 4, 4, 1)
TILE_FN(q8_4x3, 4, 3, 1)
TILE_FN(q8_4x2, 4, 2, 1)
TILE_FN(q8_4x1, 4, 1, 1)
TILE_FN(q8_1x4, 1, 4, 1)
TILE_FN(q8_1x3, 1, 3, 1)
TILE_FN(q8_1x2, 1, 2, 1)
TILE_FN(q8_1x1, 1, 1, 1)
TILE_FN(q4_4x4, 4, 4, 0)
TILE_FN(q4_4x3, 4, 3, 0)
TILE_FN(q4_4x2, 4, 2, 0)
TILE_FN(q4_4x1, 4, 1, 0)
TILE_FN(q4_1x4, 1, 4, 0)
TILE_FN(q4_1x3, 1, 3, 0)
TILE_FN(q4_1x2, 1, 2, 0)
TILE_FN(q4_1x1, 1, 1, 0)

/* Decode (one token): 4 rows at a time, the scales taken straight from the
 * blocks (no preparation pass: the weights are read exactly once, as a
 * stream); the offset correction starts each pair's accumulation from
 * nc = -off * (activation bytes summed per lane), prepared once per call. */
AI __m512 pair_scale_f16(const uint16_t *a, const uint16_t *b)
{
    __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)*a)),
                                        _mm_set1_epi16((short)*b), 1);
    return _mm512_cvtph_ps(h);
}

AI void dec_rows(const lx_mm *m, int r, const int RB, const int Q8, const __m512i *nc)
{
    const int nb = m->cols / 32;
    const int8_t *xq = m->xq.q;
    const float *x8 = m->xq.dx8;
    const uint8_t *rowp[4];
    __m512 acc[4];
    _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++)
    {
        rowp[i] = m->W + (size_t)(r + i) * m->row_bytes;
        acc[i] = _mm512_setzero_ps();
    }
    int b = 0;
    for (; b + 2 <= nb; b += 2) {
        __m512i xv = _mm512_loadu_si512(xq + 32 * b);
        __m512 dx = _mm512_loadu_ps(x8 + 8 * b);
        __m512i n = nc[b / 2];
        _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++)
        {
            __m512i wv;
            __m512 dw;
            if (Q8) {
                const lx_blk_q8_0 *w = (const lx_blk_q8_0 *)rowp[i] + b;
                _mm_prefetch((const char *)(w + 120), _MM_HINT_T0);
                wv = load_w_q8_0(w);
                dw = pair_scale_f16(&w[0].d, &w[1].d);
            } else {
                const lx_blk_q4_0 *w = (const lx_blk_q4_0 *)rowp[i] + b;
                _mm_prefetch((const char *)(w + 200), _MM_HINT_T0);
                wv = load_w_q4_0(w);
                dw = pair_scale_f16(&w[0].d, &w[1].d);
            }
            __m512i p = _mm512_dpbusd_epi32(n, wv, xv);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw, dx), acc[i]);
        }
    }
    float tail[4] = {0, 0, 0, 0};
    if (b < nb) { /* odd block count: the last block, scalar */
        _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++)
        {
            int isum = 0;
            float dw;
            if (Q8) {
                const lx_blk_q8_0 *w = (const lx_blk_q8_0 *)rowp[i] + b;
                for (int l = 0; l < 32; l++)
                    isum += w->q[l] * xq[32 * b + l];
                dw = _cvtsh_ss(w->d);
            } else {
                const lx_blk_q4_0 *w = (const lx_blk_q4_0 *)rowp[i] + b;
                for (int l = 0; l < 16; l++)
                    isum += ((w->qs[l] & 15) - 8) * xq[32 * b + l] +
                            ((w->qs[l] >> 4) - 8) * xq[32 * b + 16 + l];
                dw = _cvtsh_ss(w->d);
            }
            tail[i] = dw * m->xq.d[b] * (float)isum;
        }
    }
    _Pragma("GCC unroll 4") for (int i = 0; i < RB; i++) m->Y[r + i] =
        _mm512_reduce_add_ps(acc[i]) + tail[i];
}

static void mm_decode(const lx_mm *m, int r0, int r1, const int Q8)
{
    _Alignas(64) __m512i nc[MAX_NB / 2];
    const __m512i off = _mm512_set1_epi8(Q8 ? (char)0x80 : 8);
    for (int k = 0; k < m->cols / 64; k++) {
        __m512i xv = _mm512_loadu_si512(m->xq.q + 64 * k);
        nc[k] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                 _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, xv));
    }
    int r = r0;
    if (Q8) {
        for (; r + 4 <= r1; r += 4)
            dec_rows(m, r, 4, 1, nc);
        for (; r < r1; r++)
            dec_rows(m, r, 1, 1, nc);
    } else {
        for (; r + 4 <= r1; r += 4)
            dec_rows(m, r, 4, 0, nc);
        for (; r < r1; r++)
            dec_rows(m, r, 1, 0, nc);
    }
}

typedef void (*tile_fn)(const lx_mm *m, int r, int t, const float *dwp, const float *dwe);

/* Row tiles of 4 (then single rows); within a row tile, tokens in tiles of
 * 4 (then 3, 2 or 1), so a row tile's weights stay in L1 across all tokens. */
static void mm_tiles(const lx_mm *m, int r0, int r1, const tile_fn f4[4], const tile_fn f1[4],
                     int q8)
{
    _Alignas(64) float dwp[4 * MAX_NB];
    _Alignas(64) float dwe[4 * MAX_NB * 8];
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        if (q8)
            prep_scales(m, r, 4, 1, dwp, dwe);
        else
            prep_scales(m, r, 4, 0, dwp, dwe);
        int t = 0;
        for (; t + 4 <= m->n_tok; t += 4)
            f4[3](m, r, t, dwp, dwe);
        if (t < m->n_tok)
            f4[m->n_tok - t - 1](m, r, t, dwp, dwe);
    }
    for (; r < r1; r++) {
        if (q8)
            prep_scales(m, r, 1, 1, dwp, dwe);
        else
            prep_scales(m, r, 1, 0, dwp, dwe);
        int t = 0;
        for (; t + 4 <= m->n_tok; t += 4)
            f1[3](m, r, t, dwp, dwe);
        if (t < m->n_tok)
            f1[m->n_tok - t - 1](m, r, t, dwp, dwe);
    }
}

static void mm_q8_0(const lx_mm *m, int r0, int r1)
{
    static const tile_fn f4[4] = {q8_4x1, q8_4x2, q8_4x3, q8_4x4},
                         f1[4] = {q8_1x1, q8_1x2, q8_1x3, q8_1x4};
    if (m->cols / 32 > MAX_NB)
        lx_kops_scalar.mm_q8_0(m, r0, r1);
    else if (m->n_tok == 1)
        mm_decode(m, r0, r1, 1);
    else
        mm_tiles(m, r0, r1, f4, f1, 1);
}

static void mm_q4_0(const lx_mm *m, int r0, int r1)
{
    static const tile_fn f4[4] = {q4_4x1, q4_4x2, q4_4x3, q4_4x4},
                         f1[4] = {q4_1x1, q4_1x2, q4_1x3, q4_1x4};
    if (m->cols / 32 > MAX_NB)
        lx_kops_scalar.mm_q4_0(m, r0, r1);
    else if (m->n_tok == 1)
        mm_decode(m, r0, r1, 0);
    else
        mm_tiles(m, r0, r1, f4, f1, 0);
}

/* ---- float weights: 4 rows x 1 token ---- */

AI __m512 load_f(const uint8_t *p, int i, const int kind, __mmask16 k)
{
    if (kind == 0)
        return _mm512_maskz_loadu_ps(k, (const float *)p + i);
    __m256i h = _mm256_maskz_loadu_epi16(k, (const uint16_t *)p + i);
    if (kind == 1)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

AI void mm_float(const lx_mm *m, int r0, int r1, const int kind)
{
    const int n = m->cols;
    int r = r0;
    for (; r < r1; r += 4) {
        int nr = r1 - r < 4 ? r1 - r : 4;
        const uint8_t *row[4];
        for (int i = 0; i < 4; i++)
            row[i] = m->W + (size_t)(r + (i < nr ? i : 0)) * m->row_bytes;
        for (int t = 0; t < m->n_tok; t++) {
            const float *x = m->X + (size_t)t * n;
            __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                             _mm512_setzero_ps()};
            for (int i = 0; i < n; i += 16) {
                __mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
                __m512 xv = _mm512_maskz_loadu_ps(k, x + i);
                for (int q = 0; q < 4; q++)
                    acc[q] = _mm512_fmadd_ps(load_f(row[q], i, kind, k), xv, acc[q]);
            }
            for (int q = 0; q < nr; q++)
                m->Y[(size_t)t * m->rows + r + q] = _mm512_reduce_add_ps(acc[q]);
        }
    }
}

static void mm_f32(const lx_mm *m, int r0, int r1)
{
    mm_float(m, r0, r1, 0);
}
static void mm_f16(const lx_mm *m, int r0, int r1)
{
    mm_float(m, r0, r1, 1);
}
static void mm_bf16(const lx_mm *m, int r0, int r1)
{
    mm_float(m, r0, r1, 2);
}

/* ---- element-wise ---- */

/* exp(x) for x in about [-87, 88]: 2^k * p(r), r = x - k ln2, |r| <= ln2/2,
 * degree-6 Taylor polynomial (relative error below 2e-7) */
AI __m512 exp512(__m512 x)
{
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0f)), _mm512_set1_ps(-87.0f));
    __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145752f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860677e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, k);
}

static void swiglu(float *out, const float *gate, const float *up, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 g = _mm512_loadu_ps(gate + i);
        __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), g));
        __m512 s = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_storeu_ps(out + i, _mm512_mul_ps(s, _mm512_loadu_ps(up + i)));
    }
    if (i < n)
        lx_scalar_swiglu(out + i, gate + i, up + i, n - i);
}

static void softmax(float *x, int n)
{
    if (n < 16) {
        lx_scalar_softmax(x, n);
        return;
    }
    float mx = x[0];
    for (int i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    __m512 vmx = _mm512_set1_ps(mx), sum = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmx));
        _mm512_storeu_ps(x + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    float s = _mm512_reduce_add_ps(sum);
    for (; i < n; i++) {
        x[i] = expf(x[i] - mx);
        s += x[i];
    }
    __m512 inv = _mm512_set1_ps(1.0f / s);
    for (i = 0; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
    for (; i < n; i++)
        x[i] *= 1.0f / s;
}

static float dot_f32(const float *a, const float *b, int n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static void axpy_f32(float *y, float a, const float *x, int n)
{
    __m512 va = _mm512_set1_ps(a);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(
            y + i, k,
            _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(k, x + i), _mm512_maskz_loadu_ps(k, y + i)));
    }
}

const lx_kops lx_kops_avx512 = {
    .name = "avx512",
    .mm_f32 = mm_f32,
    .mm_f16 = mm_f16,
    .mm_bf16 = mm_bf16,
    .mm_q8_0 = mm_q8_0,
    .mm_q4_0 = mm_q4_0,
    .quant = quant,
    .softmax = softmax,
    .swiglu = swiglu,
    .dot_f32 = dot_f32,
    .axpy_f32 = axpy_f32,
};
