/*
 * kernels_avx2.c — AVX2 + FMA + F16C back end.
 *
 * Q8_0 / Q4_0 against int8 activations (kernels_impl.h), one 32-element
 * block per ymm register, tiles of 2 rows x 2 tokens:
 *   - Q8_0: vpmaddubsw multiplies unsigned by signed bytes, so the weight's
 *     sign moves onto the activation (|w| * sign(x, w)); pairs of products
 *     fit int16 (2 * 127 * 127 < 32768);
 *   - Q4_0: the nibbles are unsigned already (n = w + 8); the 8 * sum(x)
 *     offset comes out once per row from ds (d * block sum);
 *   - int16 pairs -> int32 (vpmaddwd with ones) -> float, times the product
 *     of the two block scales, accumulated with FMA.
 * Float weights use FMA over 8 lanes, 2 rows at a time; the K types fall
 * back to the scalar code (entries left NULL).
 */
#include <immintrin.h>
#include <math.h>

#include "engine/kernels_impl.h"

#define AI static inline __attribute__((always_inline))

AI float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AI int hsum8i(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* ---- activation quantization (bit-identical to lx_scalar_quant) ---- */

static void quant(const float *x, int8_t *q, float *d, int16_t *s, int n, int ablk)
{
    const __m256 signbit = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < n / ablk; b++) {
        const float *xb = x + (size_t)b * ablk;
        __m256 mx = _mm256_setzero_ps();
        for (int i = 0; i < ablk; i += 8)
            mx = _mm256_max_ps(mx, _mm256_andnot_ps(signbit, _mm256_loadu_ps(xb + i)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        float id = amax > 0 ? 127.0f / amax : 0.0f;
        d[b] = amax / 127.0f;
        __m256 vid = _mm256_set1_ps(id);
        for (int i = 0; i < ablk; i += 16) {
            __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i), vid));
            __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 8), vid));
            __m256i p16 = _mm256_packs_epi32(a, c); /* lanes: a0-3 c0-3 | a4-7 c4-7 */
            __m128i p8 =
                _mm_packs_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1));
            /* p8 order: a0-3 c0-3 a4-7 c4-7 -> a0-7 c0-7 */
            p8 = _mm_shuffle_epi32(p8, _MM_SHUFFLE(3, 1, 2, 0));
            _mm_storeu_si128((__m128i *)(q + (size_t)b * ablk + i), p8);
            s[((size_t)b * ablk + i) / 16] = (int16_t)hsum8i(_mm256_add_epi32(a, c));
        }
    }
}

/* ---- quantized tiles: RB rows x TB tokens, RB, TB <= 2 ---- */

AI __m256i nibbles(const lx_blk_q4_0 *w)
{
    __m128i v = _mm_loadu_si128((const __m128i *)w->qs);
    __m256i z = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
    return _mm256_and_si256(z, _mm256_set1_epi8(15));
}

AI void tile_q(const lx_mm *m, int r, int t, const int RB, const int TB, const int Q8)
{
    const int cols = m->cols, nb = cols / 32;
    const uint8_t *rowp[2];
    for (int i = 0; i < RB; i++)
        rowp[i] = m->W + (size_t)(r + i) * m->row_bytes;
    const int8_t *xq[2];
    const float *xd[2];
    for (int j = 0; j < TB; j++) {
        xq[j] = m->xq.q + (size_t)(t + j) * cols;
        xd[j] = m->xq.d + (size_t)(t + j) * nb;
    }
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[2][2];
    _Pragma("GCC unroll 2") for (int i = 0; i < RB; i++)
        _Pragma("GCC unroll 2") for (int j = 0; j < TB; j++) acc[i][j] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i wv[2];
        float dw[2];
        _Pragma("GCC unroll 2") for (int i = 0; i < RB; i++)
        {
            if (Q8) {
                const lx_blk_q8_0 *w = (const lx_blk_q8_0 *)rowp[i] + b;
                _mm_prefetch((const char *)(w + 16), _MM_HINT_T0);
                wv[i] = _mm256_loadu_si256((const __m256i *)w->q);
                dw[i] = _cvtsh_ss(w->d);
            } else {
                const lx_blk_q4_0 *w = (const lx_blk_q4_0 *)rowp[i] + b;
                _mm_prefetch((const char *)(w + 24), _MM_HINT_T0);
                wv[i] = nibbles(w);
                dw[i] = _cvtsh_ss(w->d);
            }
        }
        _Pragma("GCC unroll 2") for (int j = 0; j < TB; j++)
        {
            __m256i xv = _mm256_loadu_si256((const __m256i *)(xq[j] + 32 * b));
            _Pragma("GCC unroll 2") for (int i = 0; i < RB; i++)
            {
                __m256i p16;
                if (Q8)
                    p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(wv[i], wv[i]),
                                               _mm256_sign_epi8(xv, wv[i]));
                else
                    p16 = _mm256_maddubs_epi16(wv[i], xv);
                __m256 f = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
                acc[i][j] = _mm256_fmadd_ps(f, _mm256_set1_ps(dw[i] * xd[j][b]), acc[i][j]);
            }
        }
    }
    _Pragma("GCC unroll 2") for (int j = 0; j < TB; j++)
    {
        const float *ds = m->xq.ds + (size_t)(t + j) * nb;
        _Pragma("GCC unroll 2") for (int i = 0; i < RB; i++)
        {
            float y = hsum8(acc[i][j]);
            if (!Q8) {
                float c = 0;
                for (int b = 0; b < nb; b++)
                    c += _cvtsh_ss(((const lx_blk_q4_0 *)rowp[i])[b].d) * ds[b];
                y -= 8.0f * c;
            }
            m->Y[(size_t)(t + j) * m->rows + r + i] = y;
        }
    }
}

#define TILE_FN(name, RB, TB, Q8)                                                                  \
    static void name(const lx_mm *m, int r, int t)                                                 \
    {                                                                                              \
        tile_q(m, r, t, RB, TB, Q8);                                                               \
    }
TILE_FN(q8_2x2, 2, 2, 1)
TILE_FN(q8_2x1, 2, 1, 1)
TILE_FN(q8_1x2, 1, 2, 1)
TILE_FN(q8_1x1, 1, 1, 1)
TILE_FN(q4_2x2, 2, 2, 0)
TILE_FN(q4_2x1, 2, 1, 0)
TILE_FN(q4_1x2, 1, 2, 0)
TILE_FN(q4_1x1, 1, 1, 0)

typedef void (*tile_fn)(const lx_mm *m, int r, int t);

static void mm_tiles(const lx_mm *m, int r0, int r1, tile_fn f22, tile_fn f21, tile_fn f12,
                     tile_fn f11)
{
    int r = r0;
    for (; r + 2 <= r1; r += 2) {
        int t = 0;
        for (; t + 2 <= m->n_tok; t += 2)
            f22(m, r, t);
        if (t < m->n_tok)
            f21(m, r, t);
    }
    for (; r < r1; r++) {
        int t = 0;
        for (; t + 2 <= m->n_tok; t += 2)
            f12(m, r, t);
        if (t < m->n_tok)
            f11(m, r, t);
    }
}

static void mm_q8_0(const lx_mm *m, int r0, int r1)
{
    mm_tiles(m, r0, r1, q8_2x2, q8_2x1, q8_1x2, q8_1x1);
}

static void mm_q4_0(const lx_mm *m, int r0, int r1)
{
    mm_tiles(m, r0, r1, q4_2x2, q4_2x1, q4_1x2, q4_1x1);
}

/* ---- float weights: 2 rows x 1 token ---- */

AI __m256 load_f(const uint8_t *p, int i, const int kind)
{
    if (kind == 0)
        return _mm256_loadu_ps((const float *)p + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
    if (kind == 1)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

AI float load_f1(const uint8_t *p, int i, const int kind)
{
    if (kind == 0)
        return ((const float *)p)[i];
    uint16_t h = lx_rd16(p + 2 * i);
    return kind == 1 ? _cvtsh_ss(h) : lx_bf16_to_f32(h);
}

AI void mm_float(const lx_mm *m, int r0, int r1, const int kind)
{
    const int n = m->cols, n8 = n & ~7;
    for (int r = r0; r < r1; r += 2) {
        int nr = r1 - r < 2 ? 1 : 2;
        const uint8_t *row0 = m->W + (size_t)r * m->row_bytes;
        const uint8_t *row1 = m->W + (size_t)(r + nr - 1) * m->row_bytes;
        for (int t = 0; t < m->n_tok; t++) {
            const float *x = m->X + (size_t)t * n;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            for (int i = 0; i < n8; i += 8) {
                __m256 xv = _mm256_loadu_ps(x + i);
                a0 = _mm256_fmadd_ps(load_f(row0, i, kind), xv, a0);
                a1 = _mm256_fmadd_ps(load_f(row1, i, kind), xv, a1);
            }
            float y0 = hsum8(a0), y1 = hsum8(a1);
            for (int i = n8; i < n; i++) {
                y0 += load_f1(row0, i, kind) * x[i];
                y1 += load_f1(row1, i, kind) * x[i];
            }
            m->Y[(size_t)t * m->rows + r] = y0;
            if (nr == 2)
                m->Y[(size_t)t * m->rows + r + 1] = y1;
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

static float dot_f32(const float *a, const float *b, int n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void axpy_f32(float *y, float a, const float *x, int n)
{
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

const lx_kops lx_kops_avx2 = {
    .name = "avx2",
    .mm_f32 = mm_f32,
    .mm_f16 = mm_f16,
    .mm_bf16 = mm_bf16,
    .mm_q8_0 = mm_q8_0,
    .mm_q4_0 = mm_q4_0,
    .quant = quant,
    .dot_f32 = dot_f32,
    .axpy_f32 = axpy_f32,
};
