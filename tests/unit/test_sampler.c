/*
 * test_sampler.c — the sampling rules of sampler.h. The end-to-end llama2.c
 * reproduction (seed 133742, top-p 0.9) is in test_model.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "engine/sampler.h"

static lx_sampler *mk(int n, lx_sample_params p)
{
    lx_sampler *s;
    lx_error err;
    cr_assert_eq(lx_sampler_new(n, &p, &s, &err), LX_OK);
    return s;
}

Test(sampler, xorshift_matches_llama2c)
{
    /* values computed independently (Python, 64-bit wrap-around) */
    uint64_t st = 133742;
    const float want[3] = {0.7062990069389343f, 0.6226770877838135f, 0.5385057330131531f};
    for (int i = 0; i < 3; i++) {
        float c = lx_sampler_coin(&st); /* the assert macro evaluates twice */
        cr_assert_eq(c, want[i], "draw %d: %.10f", i, (double)c);
    }
    for (int i = 0; i < 100000; i++) {
        float c = lx_sampler_coin(&st);
        cr_assert(c >= 0.0f && c < 1.0f);
    }
}

Test(sampler, greedy_argmax_ties_lowest_id_and_logprob)
{
    lx_sampler *s = mk(5, (lx_sample_params){.temperature = 0});
    float l[5] = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
    float lp;
    cr_assert_eq(lx_sampler_sample(s, l, &lp), 1);
    double z = exp(0.5) + 2 * exp(2.0) + exp(-1.0) + exp(1.0);
    cr_assert_float_eq(lp, (float)(2.0 - log(z)), 1e-5);
    lx_sampler_free(s);
}

Test(sampler, null_params_are_greedy)
{
    lx_sampler *s;
    cr_assert_eq(lx_sampler_new(3, NULL, &s, NULL), LX_OK);
    float l[3] = {0, 0, 3};
    cr_assert_eq(lx_sampler_sample(s, l, NULL), 2);
    lx_sampler_free(s);
    cr_assert_eq(lx_sampler_new(0, NULL, &s, NULL), LX_ERR_INVALID);
}

static void counts(lx_sample_params p, const float *logits, int n, int draws, int *out)
{
    lx_sampler *s = mk(n, p);
    memset(out, 0, (size_t)n * sizeof *out);
    float buf[16];
    for (int i = 0; i < draws; i++) {
        memcpy(buf, logits, (size_t)n * sizeof *buf);
        float lp;
        int id = lx_sampler_sample(s, buf, &lp);
        cr_assert(id >= 0 && id < n);
        cr_assert(lp <= 0.0f);
        out[id]++;
    }
    lx_sampler_free(s);
}

/* probabilities 0.5, 0.3, 0.15, 0.05 */
static const float L4[4] = {-0.693147f, -1.203973f, -1.897120f, -2.995732f};

Test(sampler, temperature_one_follows_the_distribution)
{
    int c[4];
    counts((lx_sample_params){.temperature = 1.0f, .seed = 42}, L4, 4, 40000, c);
    cr_assert_float_eq(c[0] / 40000.0, 0.5, 0.02);
    cr_assert_float_eq(c[1] / 40000.0, 0.3, 0.02);
    cr_assert_float_eq(c[2] / 40000.0, 0.15, 0.02);
    cr_assert_float_eq(c[3] / 40000.0, 0.05, 0.01);
}

Test(sampler, top_p_cuts_after_cumulative_mass)
{
    int c[4];
    /* cumulative 0.5, 0.8 > 0.7: ids 0 and 1 kept, renormalised 5/8, 3/8 */
    counts((lx_sample_params){.temperature = 1.0f, .top_p = 0.7f, .seed = 7}, L4, 4, 40000, c);
    cr_assert_eq(c[2] + c[3], 0);
    cr_assert_float_eq(c[0] / 40000.0, 0.625, 0.02);
}

Test(sampler, top_k_and_min_p)
{
    int c[4];
    counts((lx_sample_params){.temperature = 1.0f, .top_k = 1, .seed = 9}, L4, 4, 2000, c);
    cr_assert_eq(c[0], 2000);
    counts((lx_sample_params){.temperature = 1.0f, .top_k = 3, .seed = 9}, L4, 4, 20000, c);
    cr_assert_eq(c[3], 0);
    cr_assert_float_eq(c[0] / 20000.0, 0.5 / 0.95, 0.02);
    /* min_p 0.25: p >= 0.125 -> ids 0, 1, 2 */
    counts((lx_sample_params){.temperature = 1.0f, .min_p = 0.25f, .seed = 3}, L4, 4, 20000, c);
    cr_assert_eq(c[3], 0);
    cr_assert_gt(c[2], 0);
}

Test(sampler, low_temperature_sharpens)
{
    int c[4];
    counts((lx_sample_params){.temperature = 0.1f, .seed = 5}, L4, 4, 5000, c);
    cr_assert_gt(c[0], 4900);
}

Test(sampler, same_seed_same_sequence)
{
    lx_sample_params p = {.temperature = 1.0f, .top_p = 0.9f, .seed = 1234};
    lx_sampler *a = mk(4, p), *b = mk(4, p);
    p.seed = 1235;
    lx_sampler *c = mk(4, p);
    int differ = 0;
    for (int i = 0; i < 200; i++) {
        float x[4], y[4], z[4];
        memcpy(x, L4, sizeof x);
        memcpy(y, L4, sizeof y);
        memcpy(z, L4, sizeof z);
        int ia = lx_sampler_sample(a, x, NULL), ib = lx_sampler_sample(b, y, NULL);
        cr_assert_eq(ia, ib);
        differ += ia != lx_sampler_sample(c, z, NULL);
    }
    cr_assert_gt(differ, 0);
    cr_assert_eq(lx_sampler_seed(a), 1234);
    lx_sampler_free(a);
    lx_sampler_free(b);
    lx_sampler_free(c);
}

Test(sampler, seed_zero_picks_a_clock_seed)
{
    lx_sampler *s = mk(4, (lx_sample_params){.temperature = 1.0f, .seed = 0});
    cr_assert_neq(lx_sampler_seed(s), 0);
    lx_sampler_free(s);
}

Test(sampler, repetition_penalty)
{
    lx_sampler *s =
        mk(3, (lx_sample_params){.temperature = 0, .repeat_penalty = 2.0f, .repeat_last_n = 2});
    float l[3] = {1.0f, 0.8f, -5.0f};
    lx_sampler_accept(s, 0);
    lx_sampler_accept(s, 0); /* penalised once, not twice */
    cr_assert_eq(lx_sampler_sample(s, l, NULL), 1);
    cr_assert_float_eq(l[0], 0.5f, 1e-6);
    /* the window slides: after two other tokens id 0 is free again */
    lx_sampler_accept(s, 2);
    lx_sampler_accept(s, 2);
    float m[3] = {1.0f, 0.8f, -5.0f};
    cr_assert_eq(lx_sampler_sample(s, m, NULL), 0);
    cr_assert_float_eq(m[2], -10.0f, 1e-6);
    lx_sampler_reset(s);
    float k[3] = {1.0f, 0.8f, -5.0f};
    cr_assert_eq(lx_sampler_sample(s, k, NULL), 0);
    cr_assert_float_eq(k[2], -5.0f, 1e-6);
    lx_sampler_free(s);
}

Test(sampler, large_vocab_top_k_heap)
{
    enum { N = 50000 };
    static float l[N], c[N];
    for (int i = 0; i < N; i++)
        l[i] = (float)((i * 7919) % N) / N;
    lx_sampler *s = mk(N, (lx_sample_params){.temperature = 0.01f, .top_k = 5, .seed = 11});
    for (int r = 0; r < 50; r++) {
        memcpy(c, l, sizeof c);
        int id = lx_sampler_sample(s, c, NULL);
        cr_assert_geq(l[id], (float)(N - 5) / N - 1e-6f, "id %d logit %f", id, (double)l[id]);
    }
    lx_sampler_free(s);
}
