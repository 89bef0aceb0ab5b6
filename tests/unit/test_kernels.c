/*
 * test_kernels.c — kernels against straightforward references.
 *
 * Weights are random valid encodings of every type; the reference
 * dequantizes them with its own element-by-element decoder (written from
 * the layouts, independent of kernels.c) and computes the dot products in
 * double. Error bounds:
 *   float weight types:  |y - ref| <= 2e-5 * sum|w*x| + 1e-6
 *   quantized types: the activations are rounded to int8 with one scale per
 *     block (amax/127), so each x moves by at most amax_block/254:
 *                        |y - ref| <= sum |w_i| * amax_block(i) / 254 * 1.001
 *                                     + 2e-5 * sum|w*x| + 1e-6
 *   SIMD vs scalar (same int8 activations, only summation order differs):
 *                        |y_simd - y_scalar| <= 2e-5 * sum|w*x| + 1e-6
 * Every available back end (scalar, avx2, avx512; a path the CPU lacks is
 * skipped) runs over odd row counts, n_tok 1..17 and 1..3 threads.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/kernels.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static float frnd(void) /* [-1, 1) */
{
    return (float)(rnd() >> 8) / 8388608.0f - 1.0f;
}

/* ---- independent reference decoding ---- */

static float h2f(const uint8_t *p)
{
    return lx_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

static void put_f16(uint8_t *p, float f)
{
    uint16_t h = lx_f32_to_f16(f);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* element e of a row of type t, decoded from the layout description */
static double ref_elem(lx_ttype t, const uint8_t *row, int e)
{
    switch (t) {
    case LX_T_F32: {
        float f;
        memcpy(&f, row + 4 * e, 4);
        return f;
    }
    case LX_T_F16:
        return h2f(row + 2 * e);
    case LX_T_BF16: {
        uint32_t u = (uint32_t)(row[2 * e] | row[2 * e + 1] << 8) << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case LX_T_Q8_0: {
        const uint8_t *b = row + 34 * (e / 32);
        return h2f(b) * (double)(int8_t)b[2 + e % 32];
    }
    case LX_T_Q4_0: {
        const uint8_t *b = row + 18 * (e / 32);
        int j = e % 32;
        int nib = j < 16 ? (b[2 + j] & 15) : (b[2 + j - 16] >> 4);
        return h2f(b) * (nib - 8);
    }
    case LX_T_Q4_K: {
        const uint8_t *b = row + 144 * (e / 256);
        int i = e % 256, sub = i / 32;
        const uint8_t *s = b + 4;
        int sc, m;
        if (sub < 4) {
            sc = s[sub] & 63;
            m = s[sub + 4] & 63;
        } else {
            sc = (s[sub + 4] & 15) | ((s[sub - 4] >> 6) << 4);
            m = (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
        }
        int byte = b[16 + 32 * (sub / 2) + i % 32];
        int nib = (sub % 2) ? byte >> 4 : byte & 15;
        return h2f(b) * sc * nib - h2f(b + 2) * m;
    }
    case LX_T_Q6_K: {
        const uint8_t *b = row + 210 * (e / 256);
        int i = e % 256, half = i / 128, g = (i % 128) / 32, l = i % 32;
        const uint8_t *ql = b + 64 * half, *qh = b + 128 + 32 * half;
        int lo = (g & 1) ? ql[l + 32] : ql[l];
        lo = (g & 2) ? lo >> 4 : lo & 15;
        int hi = (qh[l] >> (2 * g)) & 3;
        int q = (lo | hi << 4) - 32;
        int8_t sc = (int8_t)b[192 + i / 16];
        return h2f(b + 208) * sc * q;
    }
    default:
        return NAN;
    }
}

/* random valid row data: random bytes with sane scales */
static void fill_rows(lx_ttype t, uint8_t *w, int rows, int cols)
{
    size_t rs = lx_type_row_size(t, (size_t)cols);
    for (size_t i = 0; i < rs * (size_t)rows; i++)
        w[i] = (uint8_t)rnd();
    for (int r = 0; r < rows; r++) {
        uint8_t *row = w + rs * (size_t)r;
        switch (t) {
        case LX_T_F32:
            for (int i = 0; i < cols; i++) {
                float f = frnd();
                memcpy(row + 4 * i, &f, 4);
            }
            break;
        case LX_T_F16:
            for (int i = 0; i < cols; i++)
                put_f16(row + 2 * i, frnd());
            break;
        case LX_T_BF16:
            for (int i = 0; i < cols; i++) {
                uint16_t h = lx_f32_to_bf16(frnd());
                row[2 * i] = (uint8_t)h;
                row[2 * i + 1] = (uint8_t)(h >> 8);
            }
            break;
        case LX_T_Q8_0:
            for (int b = 0; b < cols / 32; b++)
                put_f16(row + 34 * b, 0.01f * frnd());
            break;
        case LX_T_Q4_0:
            for (int b = 0; b < cols / 32; b++)
                put_f16(row + 18 * b, 0.1f * frnd());
            break;
        case LX_T_Q4_K:
            for (int b = 0; b < cols / 256; b++) {
                put_f16(row + 144 * b, 0.01f * frnd());
                put_f16(row + 144 * b + 2, 0.01f * frnd());
            }
            break;
        case LX_T_Q6_K:
            for (int b = 0; b < cols / 256; b++)
                put_f16(row + 210 * b + 208, 0.001f * frnd());
            break;
        default:
            break;
        }
    }
}

/* ---- matmul checks ---- */

static const lx_ttype all_types[] = {LX_T_F32,  LX_T_F16,  LX_T_BF16, LX_T_Q8_0,
                                     LX_T_Q4_0, LX_T_Q4_K, LX_T_Q6_K};

static bool is_quant(lx_ttype t)
{
    return lx_type_block(t) > 1;
}

static int ablk_of(lx_ttype t)
{
    return lx_type_block(t) == 256 ? 256 : 32;
}

/* Reference results of one shape for up to n_tok tokens: ref, the bound
 * against the reference and the bound between back ends, [k * rows + r]. */
typedef struct {
    double *ref, *bound, *close;
} refset;

static refset make_ref(lx_ttype t, const uint8_t *w, const float *X, int rows, int cols, int n_tok)
{
    size_t rs = lx_type_row_size(t, (size_t)cols);
    size_t n = (size_t)rows * n_tok;
    refset R = {malloc(n * sizeof(double)), malloc(n * sizeof(double)), malloc(n * sizeof(double))};
    double *wd = malloc(sizeof(double) * (size_t)cols);
    int ab = ablk_of(t);
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < cols; i++)
            wd[i] = ref_elem(t, w + rs * (size_t)r, i);
        for (int k = 0; k < n_tok; k++) {
            const float *x = X + (size_t)k * cols;
            double ref = 0, mag = 0, qerr = 0;
            for (int b = 0; b < cols / ab && is_quant(t); b++) {
                double amax = 0;
                for (int i = 0; i < ab; i++)
                    amax = fmax(amax, fabs(x[b * ab + i]));
                for (int i = 0; i < ab; i++)
                    qerr += fabs(wd[b * ab + i]) * amax / 254.0 * 1.001;
            }
            for (int i = 0; i < cols; i++) {
                ref += wd[i] * x[i];
                mag += fabs(wd[i] * x[i]);
            }
            R.ref[(size_t)k * rows + r] = ref;
            R.bound[(size_t)k * rows + r] = qerr + 2e-5 * mag + 1e-6;
            R.close[(size_t)k * rows + r] = 2e-5 * mag + 1e-6;
        }
    }
    free(wd);
    return R;
}

static void free_ref(refset *R)
{
    free(R->ref);
    free(R->bound);
    free(R->close);
}

/* Y (n_tok x rows) against the reference, and against the scalar result
 * Ys when given. */
static void check(lx_ttype t, const refset *R, const float *Y, const float *Ys, int rows, int cols,
                  int n_tok, const char *what, int threads)
{
    for (int k = 0; k < n_tok; k++)
        for (int r = 0; r < rows; r++) {
            size_t i = (size_t)k * rows + r;
            double err = fabs(Y[i] - R->ref[i]);
            if (!(err <= R->bound[i]))
                cr_assert_fail("%s %s rows=%d cols=%d n_tok=%d threads=%d: Y[%d][%d]=%.9g "
                               "ref=%.9g err=%.3g bound=%.3g",
                               what, lx_type_name(t), rows, cols, n_tok, threads, k, r,
                               (double)Y[i], R->ref[i], err, R->bound[i]);
            if (Ys && !(fabs((double)Y[i] - Ys[i]) <= R->close[i]))
                cr_assert_fail("%s vs scalar, %s rows=%d cols=%d n_tok=%d threads=%d: [%d][%d] "
                               "%.9g vs %.9g (bound %.3g)",
                               what, lx_type_name(t), rows, cols, n_tok, threads, k, r,
                               (double)Y[i], (double)Ys[i], R->close[i]);
        }
}

static const char *paths[] = {"scalar", "avx2", "avx512"};

static void run_matrix(lx_ttype t)
{
    static const int row_counts[] = {1, 7, 33, 67};
    int cols_list[2] = {256, 512};
    if (lx_type_block(t) <= 32)
        cols_list[0] = 96;
    lx_pool *pools[3];
    for (int i = 0; i < 3; i++) {
        pools[i] = lx_pool_new(i + 1);
        cr_assert_not_null(pools[i]);
        cr_assert_eq(lx_pool_threads(pools[i]), i + 1);
    }
    int max_rows = 67, max_cols = 512, max_tok = 17;
    size_t rs_max = lx_type_row_size(t, (size_t)max_cols);
    uint8_t *w = malloc(rs_max * (size_t)max_rows);
    float *X = malloc(sizeof(float) * (size_t)max_cols * max_tok);
    float *Y = malloc(sizeof(float) * (size_t)max_rows * max_tok);
    float *Ys = malloc(sizeof(float) * (size_t)max_rows * max_tok);
    int ran = 0;
    for (int ci = 0; ci < 2; ci++)
        for (int ri = 0; ri < 4; ri++) {
            int cols = cols_list[ci], rows = row_counts[ri];
            fill_rows(t, w, rows, cols);
            for (int i = 0; i < cols * max_tok; i++)
                X[i] = frnd() * (i % 7 == 0 ? 4.0f : 1.0f);
            refset R = make_ref(t, w, X, rows, cols, max_tok);
            for (int n_tok = 1; n_tok <= max_tok; n_tok++) {
                cr_assert(lx_kernels_use("scalar"));
                lx_matmul(pools[0], Ys, w, t, X, rows, cols, n_tok);
                check(t, &R, Ys, NULL, rows, cols, n_tok, "scalar", 1);
                for (int p = 0; p < 3; p++) {
                    if (!lx_kernels_use(paths[p]))
                        continue;
                    for (int th = 0; th < 3; th++) {
                        memset(Y, 0xff, sizeof(float) * (size_t)rows * n_tok);
                        lx_matmul(pools[th], Y, w, t, X, rows, cols, n_tok);
                        check(t, &R, Y, Ys, rows, cols, n_tok, paths[p], th + 1);
                        ran++;
                    }
                }
            }
            free_ref(&R);
        }
    cr_assert_gt(ran, 0);
    for (int i = 0; i < 3; i++)
        lx_pool_free(pools[i]);
    free(w);
    free(X);
    free(Y);
    free(Ys);
}

Test(matmul, f32)
{
    run_matrix(LX_T_F32);
}
Test(matmul, f16)
{
    run_matrix(LX_T_F16);
}
Test(matmul, bf16)
{
    run_matrix(LX_T_BF16);
}
Test(matmul, q8_0)
{
    run_matrix(LX_T_Q8_0);
}
Test(matmul, q4_0)
{
    run_matrix(LX_T_Q4_0);
}
Test(matmul, q4_k)
{
    run_matrix(LX_T_Q4_K);
}
Test(matmul, q6_k)
{
    run_matrix(LX_T_Q6_K);
}

Test(matmul, larger_shapes_all_paths)
{
    /* a real layer size, to exercise long rows and full tiles */
    lx_pool *pool = lx_pool_new(2);
    int rows = 200, cols = 1536;
    for (size_t ti = 0; ti < sizeof all_types / sizeof all_types[0]; ti++) {
        lx_ttype t = all_types[ti];
        size_t rs = lx_type_row_size(t, (size_t)cols);
        uint8_t *w = malloc(rs * (size_t)rows);
        float *X = malloc(sizeof(float) * (size_t)cols * 9);
        float *Y = malloc(sizeof(float) * (size_t)rows * 9);
        fill_rows(t, w, rows, cols);
        for (int i = 0; i < cols * 9; i++)
            X[i] = frnd();
        refset R = make_ref(t, w, X, rows, cols, 9);
        for (int p = 0; p < 3; p++) {
            if (!lx_kernels_use(paths[p]))
                continue;
            for (int n_tok = 1; n_tok <= 9; n_tok += 8) {
                lx_matmul(pool, Y, w, t, X, rows, cols, n_tok);
                check(t, &R, Y, NULL, rows, cols, n_tok, paths[p], 2);
            }
        }
        free_ref(&R);
        free(w);
        free(X);
        free(Y);
    }
    lx_pool_free(pool);
}

Test(matmul, null_pool_runs_on_caller)
{
    int rows = 5, cols = 64;
    uint8_t w[5 * 68];
    float X[64], Y[5];
    fill_rows(LX_T_Q8_0, w, rows, cols);
    for (int i = 0; i < cols; i++)
        X[i] = frnd();
    lx_matmul(NULL, Y, w, LX_T_Q8_0, X, rows, cols, 1);
    refset R = make_ref(LX_T_Q8_0, w, X, rows, cols, 1);
    check(LX_T_Q8_0, &R, Y, NULL, rows, cols, 1, lx_kernels_name(), 1);
    free_ref(&R);
}

/* ---- dequant_row ---- */

Test(dequant, every_type_matches_reference)
{
    int n = 512;
    for (size_t ti = 0; ti < sizeof all_types / sizeof all_types[0]; ti++) {
        lx_ttype t = all_types[ti];
        size_t rs = lx_type_row_size(t, (size_t)n);
        uint8_t *w = malloc(rs);
        float out[512];
        fill_rows(t, w, 1, n);
        lx_dequant_row(t, w, out, (size_t)n);
        for (int i = 0; i < n; i++) {
            double ref = ref_elem(t, w, i);
            cr_assert(fabs(out[i] - ref) <= 1e-6 * fabs(ref) + 1e-12, "%s element %d: %.9g vs %.9g",
                      lx_type_name(t), i, (double)out[i], ref);
        }
        free(w);
    }
}

Test(types, traits)
{
    cr_assert_eq(lx_type_row_size(LX_T_Q8_0, 64), 68);
    cr_assert_eq(lx_type_row_size(LX_T_Q4_0, 64), 36);
    cr_assert_eq(lx_type_row_size(LX_T_Q4_K, 512), 288);
    cr_assert_eq(lx_type_row_size(LX_T_Q6_K, 256), 210);
    cr_assert_eq(lx_type_row_size(LX_T_F16, 3), 6);
    cr_assert_eq(lx_type_row_size(LX_T_BF16, 3), 6);
    cr_assert_eq(lx_type_row_size(LX_T_F32, 3), 12);
    cr_assert_eq(lx_type_row_size(LX_T_Q8_0, 33), 0);
    cr_assert_eq(lx_type_row_size(LX_T_Q4_K, 32), 0);
    cr_assert(lx_type_supported(30));
    cr_assert(!lx_type_supported(3));
    cr_assert_str_eq(lx_type_name(LX_T_Q6_K), "q6_k");
    cr_assert_str_eq(lx_type_name(99), "unknown");
}

/* ---- f16 / bf16 ---- */

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

Test(convert, f16_edge_cases)
{
    cr_assert_eq(lx_f32_to_f16(0.0f), 0x0000);
    cr_assert_eq(lx_f32_to_f16(-0.0f), 0x8000);
    cr_assert_eq(lx_f32_to_f16(1.0f), 0x3c00);
    cr_assert_eq(lx_f32_to_f16(-2.0f), 0xc000);
    cr_assert_eq(lx_f32_to_f16(65504.0f), 0x7bff);
    cr_assert_eq(lx_f32_to_f16(65519.0f), 0x7bff); /* rounds down */
    cr_assert_eq(lx_f32_to_f16(65520.0f), 0x7c00); /* ties to even: overflow */
    cr_assert_eq(lx_f32_to_f16(1e10f), 0x7c00);
    cr_assert_eq(lx_f32_to_f16(INFINITY), 0x7c00);
    cr_assert_eq(lx_f32_to_f16(-INFINITY), 0xfc00);
    uint16_t hn = lx_f32_to_f16(NAN);
    cr_assert((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) != 0);
    /* a NaN whose payload sits only in the low bits stays a NaN */
    hn = lx_f32_to_f16(from_bits(0x7f800001u));
    cr_assert((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) != 0);
    /* subnormals: smallest 2^-24, largest 1023 * 2^-24 */
    cr_assert_eq(lx_f32_to_f16(0x1p-24f), 0x0001);
    cr_assert_eq(lx_f32_to_f16(0x1p-25f), 0x0000);   /* tie to even: 0 */
    cr_assert_eq(lx_f32_to_f16(0x1.8p-24f), 0x0002); /* 1.5 ulp: tie to even 2 */
    cr_assert_eq(lx_f32_to_f16(1023 * 0x1p-24f), 0x03ff);
    cr_assert_eq(lx_f32_to_f16(0x1p-14f), 0x0400);     /* smallest normal */
    cr_assert_eq(lx_f32_to_f16(0x1.ffcp-15f), 0x0400); /* rounds up into normal */
    /* normal rounding: 1 + 2^-11 is a tie -> 1.0; 1 + 3*2^-11 tie -> up */
    cr_assert_eq(lx_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    cr_assert_eq(lx_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
    cr_assert_eq(lx_f32_to_f16(1.0f + 0x1.2p-11f), 0x3c01); /* just above the tie */

    cr_assert_eq(lx_f16_to_f32(0x0001), 0x1p-24f);
    cr_assert_eq(lx_f16_to_f32(0x03ff), 1023 * 0x1p-24f);
    cr_assert_eq(bits(lx_f16_to_f32(0x8000)), 0x80000000u);
    cr_assert(isinf(lx_f16_to_f32(0x7c00)) && lx_f16_to_f32(0x7c00) > 0);
    cr_assert(isinf(lx_f16_to_f32(0xfc00)) && lx_f16_to_f32(0xfc00) < 0);
    cr_assert(isnan(lx_f16_to_f32(0x7e00)));
    cr_assert(isnan(lx_f16_to_f32(0x7c01)));
    /* every finite half survives a round trip */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00)
            continue;
        cr_assert_eq(lx_f32_to_f16(lx_f16_to_f32((uint16_t)h)), h, "half %04x", h);
    }
}

Test(convert, bf16_edge_cases)
{
    cr_assert_eq(lx_f32_to_bf16(1.0f), 0x3f80);
    cr_assert_eq(lx_f32_to_bf16(-0.0f), 0x8000);
    cr_assert_eq(lx_f32_to_bf16(INFINITY), 0x7f80);
    cr_assert_eq(lx_f32_to_bf16(-INFINITY), 0xff80);
    uint16_t n = lx_f32_to_bf16(from_bits(0x7f800001u)); /* payload only in low bits */
    cr_assert((n & 0x7f80) == 0x7f80 && (n & 0x7f) != 0);
    cr_assert_eq(lx_f32_to_bf16(from_bits(0x3f808000u)), 0x3f80); /* tie -> even */
    cr_assert_eq(lx_f32_to_bf16(from_bits(0x3f818000u)), 0x3f82); /* tie -> even (up) */
    cr_assert_eq(lx_f32_to_bf16(from_bits(0x3f808001u)), 0x3f81); /* above tie */
    cr_assert_eq(lx_f32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80); /* max float rounds to inf */
    cr_assert_eq(lx_f32_to_bf16(from_bits(0x00000001u)), 0x0000); /* tiny subnormal */
    cr_assert_eq(lx_f32_to_bf16(from_bits(0x00010000u)), 0x0001); /* subnormal kept */
    cr_assert_eq(bits(lx_bf16_to_f32(0x0001)), 0x00010000u);
    cr_assert(isnan(lx_bf16_to_f32(0x7fc0)));
    cr_assert_eq(lx_bf16_to_f32(0xc040), -3.0f);
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f))
            continue;
        cr_assert_eq(lx_f32_to_bf16(lx_bf16_to_f32((uint16_t)h)), h, "bf16 %04x", h);
    }
}

/* ---- element-wise ---- */

Test(elementwise, rmsnorm_softmax_swiglu_all_paths)
{
    int n = 1000;
    float *x = malloc(sizeof(float) * n), *w = malloc(sizeof(float) * n);
    float *o = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * n);
    for (int p = 0; p < 3; p++) {
        if (!lx_kernels_use(paths[p]))
            continue;
        for (int len = 1; len <= n; len = len * 3 + 1) {
            double ss = 0;
            for (int i = 0; i < len; i++) {
                x[i] = frnd() * 3;
                w[i] = frnd();
                g[i] = frnd() * 20;
                ss += (double)x[i] * x[i];
            }
            lx_rmsnorm(o, x, w, len, 1e-5f);
            double sc = 1.0 / sqrt(ss / len + 1e-5);
            for (int i = 0; i < len; i++)
                cr_assert(fabs(o[i] - x[i] * sc * w[i]) <= 1e-5 * (fabs(x[i] * sc * w[i]) + 1e-3),
                          "%s rmsnorm n=%d i=%d", paths[p], len, i);
            lx_swiglu(o, g, w, len);
            for (int i = 0; i < len; i++) {
                double ref = g[i] / (1 + exp(-(double)g[i])) * w[i];
                cr_assert(fabs(o[i] - ref) <= 1e-5 * (fabs(ref) + 1e-3), "%s swiglu", paths[p]);
            }
            memcpy(o, g, sizeof(float) * len);
            lx_softmax(o, len);
            double mx = -INFINITY, sum = 0;
            for (int i = 0; i < len; i++)
                mx = fmax(mx, g[i]);
            for (int i = 0; i < len; i++)
                sum += exp(g[i] - mx);
            for (int i = 0; i < len; i++) {
                double ref = exp(g[i] - mx) / sum;
                cr_assert(fabs(o[i] - ref) <= 1e-5 * ref + 1e-9, "%s softmax n=%d i=%d: %g vs %g",
                          paths[p], len, i, (double)o[i], ref);
            }
        }
    }
    free(x);
    free(w);
    free(o);
    free(g);
}

Test(elementwise, dot_axpy_all_paths)
{
    float a[100], b[100], y[100], y0[100];
    for (int i = 0; i < 100; i++) {
        a[i] = frnd();
        b[i] = frnd();
        y0[i] = frnd();
    }
    for (int p = 0; p < 3; p++) {
        if (!lx_kernels_use(paths[p]))
            continue;
        for (int n = 0; n <= 100; n += (n < 40 ? 1 : 13)) {
            double ref = 0, mag = 0;
            for (int i = 0; i < n; i++) {
                ref += (double)a[i] * b[i];
                mag += fabs((double)a[i] * b[i]);
            }
            cr_assert(fabs(lx_dot_f32(a, b, n) - ref) <= 1e-6 * mag + 1e-9, "%s dot n=%d", paths[p],
                      n);
            memcpy(y, y0, sizeof y);
            lx_axpy_f32(y, 0.75f, b, n);
            for (int i = 0; i < 100; i++) {
                double want = i < n ? (double)y0[i] + 0.75 * b[i] : y0[i];
                cr_assert(fabs(y[i] - want) <= 1e-6, "%s axpy n=%d i=%d", paths[p], n, i);
            }
        }
    }
}

/* ---- pool ---- */

typedef struct {
    int hits[64];
} pool_ctx;

static void count_task(void *ctx, int i, int n)
{
    pool_ctx *c = ctx;
    if (i < 0 || i >= n)
        return; /* shows up as a missing hit */
    __atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
}

Test(pool, every_index_once_many_runs)
{
    for (int th = 1; th <= 4; th++) {
        lx_pool *p = lx_pool_new(th);
        cr_assert_not_null(p);
        for (int run = 0; run < 1000; run++) {
            pool_ctx c = {{0}};
            int n = 1 + run % 64;
            lx_pool_run(p, count_task, &c, n);
            for (int i = 0; i < n; i++)
                cr_assert_eq(c.hits[i], 1, "threads %d run %d task %d", th, run, i);
        }
        lx_pool_free(p);
    }
    lx_pool *p = lx_pool_new(0);
    cr_assert_gt(lx_pool_threads(p), 0);
    lx_pool_free(p);
}

Test(pool, wakes_after_sleep)
{
    lx_pool *p = lx_pool_new(3);
    for (int run = 0; run < 3; run++) {
        struct timespec ts = {0, 50 * 1000 * 1000}; /* long enough for workers to sleep */
        nanosleep(&ts, NULL);
        pool_ctx c = {{0}};
        lx_pool_run(p, count_task, &c, 3);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(c.hits[i], 1);
    }
    lx_pool_free(p);
}

Test(dispatch, names_and_forcing)
{
    lx_kernels_init();
    const char *n = lx_kernels_name();
    cr_assert(!strcmp(n, "scalar") || !strcmp(n, "avx2") || !strcmp(n, "avx512"));
    cr_assert(lx_kernels_available("scalar"));
    cr_assert(!lx_kernels_available("sse9"));
    cr_assert(!lx_kernels_use("sse9"));
    cr_assert_str_eq(lx_kernels_name(), n);
    cr_assert(lx_kernels_use("scalar"));
    cr_assert_str_eq(lx_kernels_name(), "scalar");
    if (lx_kernels_available("avx2")) {
        cr_assert(lx_kernels_use("avx2"));
        cr_assert_str_eq(lx_kernels_name(), "avx2");
    }
}
