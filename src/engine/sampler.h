/*
 * sampler.h — choosing the next token from logits.
 *
 * Pipeline for one token (each step optional):
 *   1. repetition penalty over the last repeat_last_n accepted tokens
 *      (each distinct token once: logit / penalty if positive, * penalty
 *      otherwise);
 *   2. temperature 0: argmax (ties -> lowest id), no random number drawn;
 *   3. otherwise softmax(logits / temperature), then ONE uniform draw
 *      `coin` in [0, 1) per token, then
 *        - nothing else enabled: inverse CDF over ids in order;
 *        - with top_k / top_p / min_p: keep the tokens with
 *          p >= max(min_p * p_max, (1 - top_p) / (n - 1)), sort them by p
 *          descending (ties: lower id first), keep the first top_k, cut
 *          after the first token where the cumulative p exceeds top_p, and
 *          pick with r = coin * (kept mass) by cumulative sum.
 *      This reproduces llama2.c's sampler exactly (its top-p rule is the
 *      same prefilter + sort + cut).
 *
 * Random numbers: xorshift64* as in llama2.c:
 *   state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
 *   u32 = (state * 0x2545F4914F6CDD1D) >> 32;  coin = (u32 >> 8) / 16777216.0f
 * Seed mapping: the 64-bit state starts equal to the seed (llama2.c's
 * `-s SEED` sets rng_state = SEED), so seed 133742 reproduces
 * `run stories260K.bin -t 1.0 -p 0.9 -s 133742`. Seed 0 would make
 * xorshift stick at 0, so 0 means "pick a seed from the clock".
 *
 * The log-probability of the chosen token is log softmax(logits / T)[id]
 * over the full vocabulary (T = 1 for greedy), before any truncation.
 *
 * Ownership: a sampler owns its buffers; one sampler per sequence, used by
 * one thread at a time. lx_sampler_sample modifies the logits in place.
 */
#ifndef LX_ENGINE_SAMPLER_H
#define LX_ENGINE_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct lx_sample_params {
    float temperature;    /* 0 = greedy (argmax, ties -> lowest id) */
    int top_k;            /* <= 0: off */
    float top_p;          /* >= 1 or <= 0: off */
    float min_p;          /* <= 0: off */
    float repeat_penalty; /* 1 or <= 0: off */
    int repeat_last_n;    /* window of the penalty; <= 0: 64 */
    uint64_t seed;        /* RNG state = seed (llama2.c); 0 picks one from the clock */
} lx_sample_params;

typedef struct lx_sampler lx_sampler;

/* New sampler for a vocabulary of n_vocab tokens; NULL params = greedy.
 * Caller frees with lx_sampler_free. */
lx_status lx_sampler_new(int n_vocab, const lx_sample_params *p, lx_sampler **out, lx_error *err);
void lx_sampler_free(lx_sampler *s);

/* Picks a token from logits[0..n_vocab) (modified in place); *logprob (may
 * be NULL) receives the chosen token's log-probability. */
int32_t lx_sampler_sample(lx_sampler *s, float *logits, float *logprob);

/* Records a token in the repetition-penalty history (prompt and generated
 * tokens alike). */
void lx_sampler_accept(lx_sampler *s, int32_t id);
/* Forgets the history (the RNG state is kept). */
void lx_sampler_reset(lx_sampler *s);

/* The raw generator, exposed for tests: next coin in [0, 1). */
float lx_sampler_coin(uint64_t *state);
/* The seed actually used (after a clock pick for seed 0). */
uint64_t lx_sampler_seed(const lx_sampler *s);

#endif
