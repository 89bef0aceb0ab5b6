/*
 * sampler.c — token sampling (see sampler.h for the rules and the RNG).
 *
 * The softmax here is a plain scalar loop (max, expf, sum, divide) on
 * purpose: sampling must not depend on which SIMD kernels were chosen.
 */
#include "engine/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct cand {
    float p;
    int32_t id;
} cand;

struct lx_sampler {
    int n_vocab;
    lx_sample_params p;
    uint64_t seed, state;
    cand *cands;   /* n_vocab */
    int32_t *hist; /* ring of the last repeat_last_n tokens */
    int hist_cap, hist_len, hist_pos;
    unsigned char *seen; /* n_vocab marks for the penalty */
};

float lx_sampler_coin(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    uint32_t r = (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
    return (float)(r >> 8) / 16777216.0f;
}

lx_status lx_sampler_new(int n_vocab, const lx_sample_params *p, lx_sampler **out, lx_error *err)
{
    *out = NULL;
    if (n_vocab <= 0)
        return lx_fail(err, LX_ERR_INVALID, "sampler: vocabulary size %d", n_vocab);
    lx_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return lx_fail(err, LX_ERR_NOMEM, "sampler: out of memory");
    s->n_vocab = n_vocab;
    if (p)
        s->p = *p;
    if (!(s->p.temperature >= 0) || !isfinite(s->p.temperature))
        s->p.temperature = 0;
    s->seed = s->p.seed;
    if (s->seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s->seed = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^
                  ((uint64_t)(uintptr_t)s << 16);
        if (s->seed == 0)
            s->seed = 0x9E3779B97F4A7C15ull;
    }
    s->state = s->seed;
    s->hist_cap = s->p.repeat_last_n > 0 ? s->p.repeat_last_n : 64;
    s->cands = malloc((size_t)n_vocab * sizeof *s->cands);
    s->hist = malloc((size_t)s->hist_cap * sizeof *s->hist);
    s->seen = calloc((size_t)n_vocab, 1);
    if (!s->cands || !s->hist || !s->seen) {
        lx_sampler_free(s);
        return lx_fail(err, LX_ERR_NOMEM, "sampler: out of memory");
    }
    *out = s;
    return LX_OK;
}

void lx_sampler_free(lx_sampler *s)
{
    if (!s)
        return;
    free(s->cands);
    free(s->hist);
    free(s->seen);
    free(s);
}

uint64_t lx_sampler_seed(const lx_sampler *s)
{
    return s->seed;
}

void lx_sampler_accept(lx_sampler *s, int32_t id)
{
    s->hist[s->hist_pos] = id;
    s->hist_pos = (s->hist_pos + 1) % s->hist_cap;
    if (s->hist_len < s->hist_cap)
        s->hist_len++;
}

void lx_sampler_reset(lx_sampler *s)
{
    s->hist_len = 0;
    s->hist_pos = 0;
}

static void penalize(lx_sampler *s, float *logits)
{
    float pen = s->p.repeat_penalty;
    if (!(pen > 0) || pen == 1.0f)
        return;
    for (int i = 0; i < s->hist_len; i++) {
        int32_t id = s->hist[i];
        if (id < 0 || id >= s->n_vocab || s->seen[id])
            continue;
        s->seen[id] = 1;
        logits[id] = logits[id] > 0 ? logits[id] / pen : logits[id] * pen;
    }
    for (int i = 0; i < s->hist_len; i++)
        if (s->hist[i] >= 0 && s->hist[i] < s->n_vocab)
            s->seen[s->hist[i]] = 0;
}

static int32_t argmax(const float *x, int n)
{
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* Sum of e^(x[i] - mx) over i < n, for x[i] <= mx. e^y = 2^(y / ln 2);
 * y / ln 2 = i + f with i an integer (truncated toward zero, clamped at
 * -125, where the terms no longer matter next to the maximum's 1) and f in
 * (-1, 0]; 2^f from a degree-7 Taylor polynomial of e^(f ln 2) (relative
 * error below 2e-6), 2^i added to the exponent bits. Written with GCC
 * vector extensions, 4 lanes, so it runs as SSE2 on every x86-64 without
 * depending on the engine's SIMD kernel choice; the lanes are summed in
 * double. */
typedef float lx_v4f __attribute__((vector_size(16)));
typedef int32_t lx_v4i __attribute__((vector_size(16)));
typedef uint32_t lx_v4u __attribute__((vector_size(16)));

static inline lx_v4f exp_neg4(lx_v4f y)
{
    const lx_v4f lo = {-125.0f, -125.0f, -125.0f, -125.0f};
    lx_v4f t = y * 1.44269504f;
    lx_v4i m = t < lo; /* -1 where clamped */
    t = (lx_v4f)((m & (lx_v4i)lo) | (~m & (lx_v4i)t));
    lx_v4i i = __builtin_convertvector(t, lx_v4i);
    lx_v4f g = (t - __builtin_convertvector(i, lx_v4f)) * 0.69314718f;
    lx_v4f p =
        1.0f +
        g * (1.0f +
             g * (0.5f +
                  g * (1.0f / 6 +
                       g * (1.0f / 24 + g * (1.0f / 120 + g * (1.0f / 720 + g * (1.0f / 5040)))))));
    return (lx_v4f)((lx_v4u)p + ((lx_v4u)i << 23));
}

static double sum_exp_shifted(const float *x, int n, float mx)
{
    lx_v4f acc0 = {0}, acc1 = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        lx_v4f a, b;
        memcpy(&a, x + i, sizeof a);
        memcpy(&b, x + i + 4, sizeof b);
        acc0 += exp_neg4(a - mx);
        acc1 += exp_neg4(b - mx);
    }
    double sum = 0;
    for (int k = 0; k < 4; k++)
        sum += (double)acc0[k] + (double)acc1[k];
    if (i < n) {
        lx_v4f tail[2] = {{-200.0f, -200.0f, -200.0f, -200.0f},
                          {-200.0f, -200.0f, -200.0f, -200.0f}};
        float *tf = (float *)tail;
        for (int k = 0; i + k < n; k++)
            tf[k] = x[i + k] - mx;
        lx_v4f r = exp_neg4(tail[0]) + exp_neg4(tail[1]);
        for (int k = 0; k < 4; k++)
            sum += (double)r[k];
    }
    return sum;
}

/* log softmax(x)[id] where x[id] is the maximum (greedy). */
static float log_prob_of_max(const float *x, int n, int32_t id)
{
    return (float)-log(sum_exp_shifted(x, n, x[id]));
}

static void softmax(float *x, int n)
{
    float mx = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    for (int i = 0; i < n; i++)
        x[i] /= sum;
}

/* Descending probability, then ascending id: a total order, so the result
 * does not depend on the sort algorithm. */
static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->p > y->p)
        return -1;
    if (x->p < y->p)
        return 1;
    return (x->id > y->id) - (x->id < y->id);
}

static bool cand_before(const cand *a, const cand *b)
{
    return cand_cmp(a, b) < 0;
}

/* Sift-down for a heap whose root is the WORST kept candidate. */
static void heap_down(cand *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && cand_before(&h[w], &h[l]))
            w = l;
        if (r < n && cand_before(&h[w], &h[r]))
            w = r;
        if (w == i)
            return;
        cand t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Keeps the k best of c[0..n) in c[0..k), sorted. Returns the new count. */
static int top_k(cand *c, int n, int k)
{
    if (k <= 0 || k >= n) {
        qsort(c, (size_t)n, sizeof *c, cand_cmp);
        return n;
    }
    for (int i = k / 2 - 1; i >= 0; i--)
        heap_down(c, k, i);
    for (int i = k; i < n; i++)
        if (cand_before(&c[i], &c[0])) {
            c[0] = c[i];
            heap_down(c, k, 0);
        }
    qsort(c, (size_t)k, sizeof *c, cand_cmp);
    return k;
}

int32_t lx_sampler_sample(lx_sampler *s, float *logits, float *logprob)
{
    int n = s->n_vocab;
    penalize(s, logits);
    if (s->p.temperature == 0.0f) {
        int32_t id = argmax(logits, n);
        if (logprob)
            *logprob = log_prob_of_max(logits, n, id);
        return id;
    }
    for (int i = 0; i < n; i++)
        logits[i] /= s->p.temperature;
    softmax(logits, n);
    float coin = lx_sampler_coin(&s->state);
    int32_t id = n - 1;
    float topp = s->p.top_p;
    bool use_p = topp > 0 && topp<1, use_k = s->p.top_k> 0 && s->p.top_k<n, use_min = s->p.min_p> 0;
    if (!use_p && !use_k && !use_min) {
        float cdf = 0.0f;
        for (int i = 0; i < n; i++) {
            cdf += logits[i];
            if (coin < cdf) {
                id = i;
                break;
            }
        }
    } else {
        float cutoff = use_p && n > 1 ? (1.0f - topp) / (float)(n - 1) : 0.0f;
        if (use_min) {
            float mx = logits[argmax(logits, n)];
            if (s->p.min_p * mx > cutoff)
                cutoff = s->p.min_p * mx;
        }
        int n0 = 0;
        for (int i = 0; i < n; i++)
            if (logits[i] >= cutoff) {
                s->cands[n0].p = logits[i];
                s->cands[n0].id = i;
                n0++;
            }
        if (n0 == 0) { /* min_p above 1 or NaN: fall back to the best token */
            s->cands[0].p = 1.0f;
            s->cands[0].id = argmax(logits, n);
            n0 = 1;
        }
        n0 = top_k(s->cands, n0, use_k ? s->p.top_k : 0);
        float cum = 0.0f;
        int last = n0 - 1;
        for (int i = 0; i < n0; i++) {
            cum += s->cands[i].p;
            if (use_p && cum > topp) {
                last = i;
                break;
            }
        }
        float r = coin * cum, cdf = 0.0f;
        id = s->cands[last].id;
        for (int i = 0; i <= last; i++) {
            cdf += s->cands[i].p;
            if (r < cdf) {
                id = s->cands[i].id;
                break;
            }
        }
    }
    if (logprob)
        *logprob = logits[id] > 0 ? logf(logits[id]) : -INFINITY;
    return id;
}
