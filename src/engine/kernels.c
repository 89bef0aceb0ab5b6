/*
 * kernels.c — type traits, f16/bf16 conversion, row dequantization, the
 * run-time choice of a back end, and lx_matmul's driver.
 *
 * lx_matmul: for the quantized weight types the activations are quantized
 * once per call (kernels_impl.h, lx_qact) into pool scratch memory; then
 * the rows are split over the pool in contiguous chunks (a multiple of 16
 * rows, one chunk per thread, so each thread streams one contiguous slice
 * of the weights) and the back end's mm function computes each chunk.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels.h"
#include "engine/kernels_impl.h"

/* ---- type traits ---- */

bool lx_type_supported(uint32_t type)
{
    switch (type) {
    case LX_T_F32:
    case LX_T_F16:
    case LX_T_BF16:
    case LX_T_Q8_0:
    case LX_T_Q4_0:
    case LX_T_Q4_K:
    case LX_T_Q6_K:
        return true;
    default:
        return false;
    }
}

const char *lx_type_name(uint32_t type)
{
    switch (type) {
    case LX_T_F32:
        return "f32";
    case LX_T_F16:
        return "f16";
    case LX_T_BF16:
        return "bf16";
    case LX_T_Q8_0:
        return "q8_0";
    case LX_T_Q4_0:
        return "q4_0";
    case LX_T_Q4_K:
        return "q4_k";
    case LX_T_Q6_K:
        return "q6_k";
    default:
        return "unknown";
    }
}

size_t lx_type_block(lx_ttype t)
{
    switch (t) {
    case LX_T_F32:
    case LX_T_F16:
    case LX_T_BF16:
        return 1;
    case LX_T_Q8_0:
    case LX_T_Q4_0:
        return 32;
    case LX_T_Q4_K:
    case LX_T_Q6_K:
        return 256;
    default:
        return 0;
    }
}

size_t lx_type_block_bytes(lx_ttype t)
{
    switch (t) {
    case LX_T_F32:
        return 4;
    case LX_T_F16:
    case LX_T_BF16:
        return 2;
    case LX_T_Q8_0:
        return sizeof(lx_blk_q8_0);
    case LX_T_Q4_0:
        return sizeof(lx_blk_q4_0);
    case LX_T_Q4_K:
        return sizeof(lx_blk_q4_k);
    case LX_T_Q6_K:
        return sizeof(lx_blk_q6_k);
    default:
        return 0;
    }
}

size_t lx_type_row_size(lx_ttype t, size_t n)
{
    size_t b = lx_type_block(t);
    if (b == 0 || n % b)
        return 0;
    return n / b * lx_type_block_bytes(t);
}

const char *lx_types_supported_list(void)
{
    return "f32, f16, bf16, q8_0, q4_0, q4_k, q6_k";
}

_Static_assert(sizeof(lx_blk_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(lx_blk_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(lx_blk_q4_k) == 144, "q4_k block");
_Static_assert(sizeof(lx_blk_q6_k) == 210, "q6_k block");

/* ---- f16 / bf16 ---- */

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

float lx_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) /* inf / nan (payload kept, made quiet) */
        return bits_f32(sign | 0x7f800000u | (man << 13) | (man ? 0x400000u : 0));
    if (exp == 0) { /* zero or subnormal: man * 2^-24 */
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t lx_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) /* inf or nan */
        return sign | 0x7c00 | (a > 0x7f800000u ? (uint16_t)(0x200 | ((a >> 13) & 0x3ff)) : 0);
    if (a >= 0x477ff000u) /* rounds to >= 65520: overflow */
        return sign | 0x7c00;
    if (a < 0x38800000u) { /* below 2^-14: subnormal half (or zero) */
        /* value / 2^-24, rounded to nearest even by the FPU */
        float v = bits_f32(a) * 0x1p24f;
        uint32_t m = (uint32_t)nearbyintf(v);
        return sign | (uint16_t)m; /* m == 0x400 becomes the smallest normal */
    }
    /* normal: drop 13 mantissa bits with round-to-nearest-even */
    uint32_t r = a + 0xfffu + ((a >> 13) & 1);
    return sign | (uint16_t)((r - 0x38000000u) >> 13);
}

float lx_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t lx_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* nan: keep it a (quiet) nan */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

/* ---- dequantization of one row ---- */

void lx_dequant_row(lx_ttype t, const void *row, float *out, size_t n)
{
    const uint8_t *p = row;
    switch (t) {
    case LX_T_F32:
        memcpy(out, row, n * sizeof(float));
        break;
    case LX_T_F16:
        for (size_t i = 0; i < n; i++)
            out[i] = lx_f16_to_f32(lx_rd16(p + 2 * i));
        break;
    case LX_T_BF16:
        for (size_t i = 0; i < n; i++)
            out[i] = lx_bf16_to_f32(lx_rd16(p + 2 * i));
        break;
    case LX_T_Q8_0:
        for (size_t b = 0; b < n / 32; b++) {
            const lx_blk_q8_0 *x = (const lx_blk_q8_0 *)p + b;
            float d = lx_f16_to_f32(lx_rd16(&x->d));
            for (int j = 0; j < 32; j++)
                out[b * 32 + j] = d * x->q[j];
        }
        break;
    case LX_T_Q4_0:
        for (size_t b = 0; b < n / 32; b++) {
            const lx_blk_q4_0 *x = (const lx_blk_q4_0 *)p + b;
            float d = lx_f16_to_f32(lx_rd16(&x->d));
            for (int j = 0; j < 16; j++) {
                out[b * 32 + j] = d * ((x->qs[j] & 15) - 8);
                out[b * 32 + j + 16] = d * ((x->qs[j] >> 4) - 8);
            }
        }
        break;
    case LX_T_Q4_K:
        for (size_t b = 0; b < n / 256; b++) {
            const lx_blk_q4_k *x = (const lx_blk_q4_k *)p + b;
            float d = lx_f16_to_f32(lx_rd16(&x->d));
            float dmin = lx_f16_to_f32(lx_rd16(&x->dmin));
            float *y = out + b * 256;
            for (int c = 0; c < 4; c++) {
                int sc0, m0, sc1, m1;
                lx_q4k_scale_min(x->scales, 2 * c, &sc0, &m0);
                lx_q4k_scale_min(x->scales, 2 * c + 1, &sc1, &m1);
                const uint8_t *q = x->qs + 32 * c;
                for (int l = 0; l < 32; l++) {
                    y[64 * c + l] = d * sc0 * (q[l] & 15) - dmin * m0;
                    y[64 * c + 32 + l] = d * sc1 * (q[l] >> 4) - dmin * m1;
                }
            }
        }
        break;
    case LX_T_Q6_K:
        for (size_t b = 0; b < n / 256; b++) {
            const lx_blk_q6_k *x = (const lx_blk_q6_k *)p + b;
            float d = lx_f16_to_f32(lx_rd16(&x->d));
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = x->ql + 64 * h, *qh = x->qh + 32 * h;
                const int8_t *sc = x->scales + 8 * h;
                float *y = out + b * 256 + 128 * h;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l] = d * sc[is] * q1;
                    y[l + 32] = d * sc[is + 2] * q2;
                    y[l + 64] = d * sc[is + 4] * q3;
                    y[l + 96] = d * sc[is + 6] * q4;
                }
            }
        }
        break;
    default:
        memset(out, 0, n * sizeof(float));
        break;
    }
}

/* ---- back-end choice ---- */

static _Atomic(const lx_kops *) g_ops;

static bool cpu_has(const char *name)
{
    __builtin_cpu_init();
    if (!strcmp(name, "scalar"))
        return true;
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    /* f16c has no __builtin_cpu_supports name in every compiler: every
     * AVX2 CPU made has it */
    if (!strcmp(name, "avx2"))
        return avx2;
    if (!strcmp(name, "avx512"))
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vnni");
    return false;
}

/* Back-end tables with every entry a back end leaves NULL taken from the
 * scalar one; filled once by init_once, immutable afterwards. */
static lx_kops g_resolved[3];

static void resolve(lx_kops *out, const lx_kops *k)
{
    const lx_kops *s = &lx_kops_scalar;
    *out = *k;
#define FILL(f)                                                                                    \
    if (!out->f)                                                                                   \
    out->f = s->f
    FILL(mm_f32);
    FILL(mm_f16);
    FILL(mm_bf16);
    FILL(mm_q8_0);
    FILL(mm_q4_0);
    FILL(mm_q4_k);
    FILL(mm_q6_k);
    FILL(quant);
    FILL(rmsnorm);
    FILL(softmax);
    FILL(swiglu);
    FILL(dot_f32);
    FILL(axpy_f32);
#undef FILL
}

static const lx_kops *ops_by_name(const char *name)
{
    if (!cpu_has(name))
        return NULL;
    if (!strcmp(name, "scalar"))
        return &g_resolved[0];
    if (!strcmp(name, "avx2"))
        return &g_resolved[1];
    if (!strcmp(name, "avx512"))
        return &g_resolved[2];
    return NULL;
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    resolve(&g_resolved[0], &lx_kops_scalar);
    resolve(&g_resolved[1], &lx_kops_avx2);
    resolve(&g_resolved[2], &lx_kops_avx512);
    const char *want = getenv("LLMUX_KERNELS");
    const lx_kops *k = (want && *want) ? ops_by_name(want) : NULL;
    if (!k)
        k = ops_by_name("avx512");
    if (!k)
        k = ops_by_name("avx2");
    if (!k)
        k = &g_resolved[0];
    const lx_kops *expect = NULL;
    atomic_compare_exchange_strong(&g_ops, &expect, k);
}

void lx_kernels_init(void)
{
    pthread_once(&g_once, init_once);
}

bool lx_kernels_available(const char *name)
{
    return name && ops_by_name(name) != NULL;
}

bool lx_kernels_use(const char *name)
{
    lx_kernels_init();
    const lx_kops *k = name ? ops_by_name(name) : NULL;
    if (!k)
        return false;
    atomic_store(&g_ops, k);
    return true;
}

static inline const lx_kops *ops(void)
{
    const lx_kops *k = atomic_load_explicit(&g_ops, memory_order_acquire);
    if (!k) {
        lx_kernels_init();
        k = atomic_load(&g_ops);
    }
    return k;
}

const char *lx_kernels_name(void)
{
    return ops()->name;
}

/* ---- element-wise helpers ---- */

void lx_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    ops()->rmsnorm(out, x, w, n, eps);
}

void lx_softmax(float *x, int n)
{
    ops()->softmax(x, n);
}

void lx_swiglu(float *out, const float *gate, const float *up, int n)
{
    ops()->swiglu(out, gate, up, n);
}

float lx_dot_f32(const float *a, const float *b, int n)
{
    return ops()->dot_f32(a, b, n);
}

void lx_axpy_f32(float *y, float a, const float *x, int n)
{
    ops()->axpy_f32(y, a, x, n);
}

/* ---- matmul driver ---- */

typedef struct {
    const lx_mm *m;
    lx_mm_fn fn;
    int chunk; /* rows per task, multiple of 16 unless rows is smaller */
} mm_job;

static void mm_task(void *ctx, int i, int n)
{
    (void)n;
    const mm_job *j = ctx;
    int r0 = i * j->chunk;
    int r1 = r0 + j->chunk;
    if (r1 > j->m->rows)
        r1 = j->m->rows;
    if (r0 < r1)
        j->fn(j->m, r0, r1);
}

static lx_mm_fn mm_fn(const lx_kops *k, lx_ttype t, int *ablk)
{
    *ablk = 0;
    switch (t) {
    case LX_T_F32:
        return k->mm_f32;
    case LX_T_F16:
        return k->mm_f16;
    case LX_T_BF16:
        return k->mm_bf16;
    case LX_T_Q8_0:
        *ablk = 32;
        return k->mm_q8_0;
    case LX_T_Q4_0:
        *ablk = 32;
        return k->mm_q4_0;
    case LX_T_Q4_K:
        *ablk = 256;
        return k->mm_q4_k;
    case LX_T_Q6_K:
        *ablk = 256;
        return k->mm_q6_k;
    default:
        return NULL;
    }
}

void lx_matmul(lx_pool *pool, float *Y, const void *W, lx_ttype type, const float *X, int rows,
               int cols, int n_tok)
{
    const lx_kops *k = ops();
    int ablk;
    lx_mm_fn fn = mm_fn(k, type, &ablk);
    if (!fn || rows <= 0 || n_tok <= 0 || cols <= 0)
        return;
    lx_mm m = {.W = W,
               .row_bytes = lx_type_row_size(type, (size_t)cols),
               .X = X,
               .Y = Y,
               .rows = rows,
               .cols = cols,
               .n_tok = n_tok};
    void *heap = NULL;
    if (ablk) {
        size_t nq = (size_t)n_tok * (size_t)cols;
        size_t bytes_q = (nq + 63) & ~(size_t)63;
        size_t bytes_d = ((nq / (size_t)ablk) * sizeof(float) + 63) & ~(size_t)63;
        size_t bytes_s = ((nq / 16) * sizeof(int16_t) + 63) & ~(size_t)63;
        size_t bytes_ds = ablk == 32 ? bytes_d : 0;
        size_t bytes_dx8 = ablk == 32 ? nq / 4 * sizeof(float) : 0;
        size_t total = bytes_q + bytes_d + bytes_s + bytes_ds + bytes_dx8;
        uint8_t *mem = pool ? lx_pool_scratch(pool, total) : NULL;
        if (!mem) {
            heap = aligned_alloc(64, (total + 63) & ~(size_t)63);
            mem = heap;
        }
        if (!mem)
            return;
        m.xq.q = (int8_t *)mem;
        m.xq.d = (float *)(mem + bytes_q);
        m.xq.s = (int16_t *)(mem + bytes_q + bytes_d);
        m.xq.ablk = ablk;
        for (int t = 0; t < n_tok; t++)
            k->quant(X + (size_t)t * cols, m.xq.q + (size_t)t * cols,
                     m.xq.d + (size_t)t * (cols / ablk), m.xq.s + (size_t)t * (cols / 16), cols,
                     ablk);
        if (ablk == 32) {
            m.xq.ds = (float *)(mem + bytes_q + bytes_d + bytes_s);
            m.xq.dx8 = (float *)(mem + bytes_q + bytes_d + bytes_s + bytes_ds);
            for (size_t b = 0; b < nq / 32; b++) {
                float d = m.xq.d[b];
                m.xq.ds[b] = d * (float)(m.xq.s[2 * b] + m.xq.s[2 * b + 1]);
                for (int l = 0; l < 8; l++)
                    m.xq.dx8[8 * b + (size_t)l] = d;
            }
        }
    }
    int nth = pool ? lx_pool_threads(pool) : 1;
    /* at least 16 rows per task; more tasks than threads never helps here */
    int chunk = (rows + nth - 1) / nth;
    chunk = (chunk + 15) & ~15;
    int ntask = (rows + chunk - 1) / chunk;
    mm_job job = {.m = &m, .fn = fn, .chunk = chunk};
    if (ntask <= 1 || !pool)
        for (int i = 0; i < ntask; i++)
            mm_task(&job, i, ntask);
    else
        lx_pool_run(pool, mm_task, &job, ntask);
    free(heap);
}
