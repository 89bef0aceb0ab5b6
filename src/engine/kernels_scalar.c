/*
 * kernels_scalar.c — the portable back end: plain C, always built, the
 * reference the SIMD back ends are tested against.
 *
 * Quantized dot products work block by block in integers (weights times
 * int8 activations, see kernels_impl.h) and apply the float scales once
 * per block, exactly as the SIMD back ends do, so that all back ends agree
 * up to float summation order.
 */
#include <math.h>

#include "engine/kernels_impl.h"

/* ---- activation quantization ---- */

void lx_scalar_quant(const float *x, int8_t *q, float *d, int16_t *s, int n, int ablk)
{
    for (int b = 0; b < n / ablk; b++) {
        const float *xb = x + (size_t)b * ablk;
        float amax = 0;
        for (int i = 0; i < ablk; i++) {
            float a = fabsf(xb[i]);
            amax = a > amax ? a : amax;
        }
        float id = amax > 0 ? 127.0f / amax : 0.0f;
        d[b] = amax / 127.0f;
        for (int i = 0; i < ablk; i++)
            q[(size_t)b * ablk + i] = (int8_t)nearbyintf(xb[i] * id);
    }
    for (int g = 0; g < n / 16; g++) {
        int sum = 0;
        for (int i = 0; i < 16; i++)
            sum += q[g * 16 + i];
        s[g] = (int16_t)sum;
    }
}

/* ---- float weights ---- */

static float dot_f32(const float *w, const float *x, int n)
{
    float acc[4] = {0, 0, 0, 0};
    int i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++)
            acc[k] += w[i + k] * x[i + k];
    for (; i < n; i++)
        acc[0] += w[i] * x[i];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

static float dot_f16(const uint8_t *w, const float *x, int n)
{
    float acc = 0;
    for (int i = 0; i < n; i++)
        acc += lx_f16_to_f32(lx_rd16(w + 2 * i)) * x[i];
    return acc;
}

static float dot_bf16(const uint8_t *w, const float *x, int n)
{
    float acc = 0;
    for (int i = 0; i < n; i++)
        acc += lx_bf16_to_f32(lx_rd16(w + 2 * i)) * x[i];
    return acc;
}

/* ---- quantized weights against int8 activations of one token ---- */

static float dot_q8_0(const uint8_t *row, const int8_t *q, const float *d, int nb)
{
    const lx_blk_q8_0 *w = (const lx_blk_q8_0 *)row;
    float acc = 0;
    for (int b = 0; b < nb; b++) {
        int isum = 0;
        for (int j = 0; j < 32; j++)
            isum += w[b].q[j] * q[32 * b + j];
        acc += lx_f16_to_f32(lx_rd16(&w[b].d)) * d[b] * (float)isum;
    }
    return acc;
}

static float dot_q4_0(const uint8_t *row, const int8_t *q, const float *d, const int16_t *s, int nb)
{
    const lx_blk_q4_0 *w = (const lx_blk_q4_0 *)row;
    float acc = 0;
    for (int b = 0; b < nb; b++) {
        int isum = 0;
        for (int j = 0; j < 16; j++)
            isum += (w[b].qs[j] & 15) * q[32 * b + j] + (w[b].qs[j] >> 4) * q[32 * b + 16 + j];
        isum -= 8 * (s[2 * b] + s[2 * b + 1]);
        acc += lx_f16_to_f32(lx_rd16(&w[b].d)) * d[b] * (float)isum;
    }
    return acc;
}

static float dot_q4_k(const uint8_t *row, const int8_t *q, const float *d, const int16_t *s, int nb)
{
    const lx_blk_q4_k *w = (const lx_blk_q4_k *)row;
    float acc = 0;
    for (int b = 0; b < nb; b++) {
        const int8_t *qb = q + 256 * b;
        const int16_t *sb = s + 16 * b;
        int sumi = 0, summ = 0;
        for (int c = 0; c < 4; c++) {
            int sc0, m0, sc1, m1;
            lx_q4k_scale_min(w[b].scales, 2 * c, &sc0, &m0);
            lx_q4k_scale_min(w[b].scales, 2 * c + 1, &sc1, &m1);
            const uint8_t *qs = w[b].qs + 32 * c;
            int i0 = 0, i1 = 0;
            for (int l = 0; l < 32; l++) {
                i0 += (qs[l] & 15) * qb[64 * c + l];
                i1 += (qs[l] >> 4) * qb[64 * c + 32 + l];
            }
            sumi += sc0 * i0 + sc1 * i1;
            summ += m0 * (sb[4 * c] + sb[4 * c + 1]) + m1 * (sb[4 * c + 2] + sb[4 * c + 3]);
        }
        float dw = lx_f16_to_f32(lx_rd16(&w[b].d)), mw = lx_f16_to_f32(lx_rd16(&w[b].dmin));
        acc += d[b] * (dw * (float)sumi - mw * (float)summ);
    }
    return acc;
}

static float dot_q6_k(const uint8_t *row, const int8_t *q, const float *d, const int16_t *s, int nb)
{
    const lx_blk_q6_k *w = (const lx_blk_q6_k *)row;
    float acc = 0;
    for (int b = 0; b < nb; b++) {
        const int8_t *qb = q + 256 * b;
        const int16_t *sb = s + 16 * b;
        int sub[16] = {0};
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w[b].ql + 64 * h, *qh = w[b].qh + 32 * h;
            const int8_t *qx = qb + 128 * h;
            for (int l = 0; l < 32; l++) {
                int k = 8 * h + l / 16;
                sub[k] += ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) * qx[l];
                sub[k + 2] += ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) * qx[l + 32];
                sub[k + 4] += ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) * qx[l + 64];
                sub[k + 6] += ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) * qx[l + 96];
            }
        }
        int sumi = 0;
        for (int k = 0; k < 16; k++)
            sumi += w[b].scales[k] * (sub[k] - 32 * sb[k]);
        acc += lx_f16_to_f32(lx_rd16(&w[b].d)) * d[b] * (float)sumi;
    }
    return acc;
}

/* ---- mm: rows [r0, r1), every token ---- */

#define MM_FLOAT(name, dotfn, cast)                                                                \
    static void name(const lx_mm *m, int r0, int r1)                                               \
    {                                                                                              \
        for (int r = r0; r < r1; r++) {                                                            \
            const uint8_t *row = m->W + (size_t)r * m->row_bytes;                                  \
            for (int t = 0; t < m->n_tok; t++)                                                     \
                m->Y[(size_t)t * m->rows + r] =                                                    \
                    dotfn(cast row, m->X + (size_t)t * m->cols, m->cols);                          \
        }                                                                                          \
    }

MM_FLOAT(mm_f32, dot_f32, (const float *))
MM_FLOAT(mm_f16, dot_f16, )
MM_FLOAT(mm_bf16, dot_bf16, )

static void mm_q8_0(const lx_mm *m, int r0, int r1)
{
    int nb = m->cols / 32;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = m->W + (size_t)r * m->row_bytes;
        for (int t = 0; t < m->n_tok; t++)
            m->Y[(size_t)t * m->rows + r] =
                dot_q8_0(row, m->xq.q + (size_t)t * m->cols, m->xq.d + (size_t)t * nb, nb);
    }
}

#define MM_QUANT(name, dotfn, blk)                                                                 \
    static void name(const lx_mm *m, int r0, int r1)                                               \
    {                                                                                              \
        int nb = m->cols / blk;                                                                    \
        for (int r = r0; r < r1; r++) {                                                            \
            const uint8_t *row = m->W + (size_t)r * m->row_bytes;                                  \
            for (int t = 0; t < m->n_tok; t++)                                                     \
                m->Y[(size_t)t * m->rows + r] =                                                    \
                    dotfn(row, m->xq.q + (size_t)t * m->cols, m->xq.d + (size_t)t * nb,            \
                          m->xq.s + (size_t)t * (m->cols / 16), nb);                               \
        }                                                                                          \
    }

MM_QUANT(mm_q4_0, dot_q4_0, 32)
MM_QUANT(mm_q4_k, dot_q4_k, 256)
MM_QUANT(mm_q6_k, dot_q6_k, 256)

/* ---- element-wise ---- */

void lx_scalar_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++)
        out[i] = x[i] * scale * w[i];
}

void lx_scalar_softmax(float *x, int n)
{
    if (n <= 0)
        return;
    float mx = x[0];
    for (int i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    float sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++)
        x[i] *= inv;
}

void lx_scalar_swiglu(float *out, const float *gate, const float *up, int n)
{
    for (int i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

float lx_scalar_dot_f32(const float *a, const float *b, int n)
{
    return dot_f32(a, b, n);
}

void lx_scalar_axpy_f32(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

const lx_kops lx_kops_scalar = {
    .name = "scalar",
    .mm_f32 = mm_f32,
    .mm_f16 = mm_f16,
    .mm_bf16 = mm_bf16,
    .mm_q8_0 = mm_q8_0,
    .mm_q4_0 = mm_q4_0,
    .mm_q4_k = mm_q4_k,
    .mm_q6_k = mm_q6_k,
    .quant = lx_scalar_quant,
    .rmsnorm = lx_scalar_rmsnorm,
    .softmax = lx_scalar_softmax,
    .swiglu = lx_scalar_swiglu,
    .dot_f32 = lx_scalar_dot_f32,
    .axpy_f32 = lx_scalar_axpy_f32,
};
