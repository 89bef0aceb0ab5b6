/*
 * bench/logprob — what reporting token log-probabilities costs the engine.
 *
 *   build/bench/logprob [MODEL.gguf ...]     (default: the test models)
 *
 * For each model: greedy generation of 200 tokens from a fixed prompt,
 * five rounds each with lx_gen_params.logprobs off and on (interleaved),
 * median tokens per CPU second of each (prompt of 4 tokens included) and
 * the difference. All times are process CPU time, not wall time. Then the cost of the
 * greedy log softmax alone (one max-shifted log-sum-exp over the
 * vocabulary) per token for vocabularies of 32000, 128256 and 151936
 * entries, to set against a real model's decode time per token
 * (`llmux bench-engine`). One JSON line per figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/sampler.h"

/* CPU time of the process: the figures stay meaningful on a busy machine
 * (one engine thread, so CPU time is the work done). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double run(lx_engine *e, const int32_t *ids, size_t n, bool logprobs)
{
    lx_session *s;
    lx_error err;
    if (lx_session_new(e, 0, &s, &err) != LX_OK) {
        fprintf(stderr, "session: %s\n", err.message);
        exit(1);
    }
    lx_gen_params p = lx_gen_defaults();
    p.sample.temperature = 0;
    p.max_tokens = 200;
    p.stop_at_eos = false;
    p.logprobs = logprobs;
    lx_gen_result r;
    double t0 = now_s();
    if (lx_session_generate(s, ids, n, &p, &r, &err) != LX_OK) {
        fprintf(stderr, "generate: %s\n", err.message);
        exit(1);
    }
    double dt = now_s() - t0;
    lx_session_free(s);
    return r.n_generated / dt;
}

static void bench_model(const char *path)
{
    lx_engine *e;
    lx_engine_opts eo = {.n_threads = 1};
    lx_error err;
    if (lx_engine_new(path, &eo, &e, &err) != LX_OK || lx_engine_load(e, &err) != LX_OK) {
        fprintf(stderr, "%s: %s\n", path, err.message);
        lx_engine_free(e);
        return;
    }
    int32_t ids[4] = {1, 400, 401, 402};
    const lx_engine_info *in = lx_engine_get_info(e);
    for (int i = 1; i < 4; i++)
        ids[i] %= in->n_vocab;
    double off[5], on[5];
    run(e, ids, 4, false); /* warm-up */
    for (int k = 0; k < 5; k++) {
        off[k] = run(e, ids, 4, false);
        on[k] = run(e, ids, 4, true);
    }
    qsort(off, 5, sizeof *off, cmp_double);
    qsort(on, 5, sizeof *on, cmp_double);
    printf("{\"model\":\"%s\",\"n_vocab\":%d,\"decode_tok_s_off\":%.1f,\"decode_tok_s_on\":%.1f,"
           "\"change_pct\":%.2f}\n",
           in->name, in->n_vocab, off[2], on[2], (on[2] - off[2]) / off[2] * 100.0);
    lx_engine_free(e);
}

static void bench_vocab(int n)
{
    float *x = malloc((size_t)n * sizeof *x), *w = malloc((size_t)n * sizeof *w);
    lx_sampler *s;
    if (!x || !w || lx_sampler_new(n, NULL, &s, NULL) != LX_OK)
        exit(1);
    srand(7);
    for (int i = 0; i < n; i++)
        x[i] = (float)rand() / (float)RAND_MAX * 20.0f - 10.0f;
    int rounds = 2000;
    double t[2];
    for (int with = 0; with < 2; with++) {
        float lp, acc = 0;
        double t0 = now_s();
        for (int r = 0; r < rounds; r++) {
            memcpy(w, x, (size_t)n * sizeof *w);
            lx_sampler_sample(s, w, with ? &lp : NULL);
            acc += with ? lp : 0;
        }
        t[with] = (now_s() - t0) / rounds * 1e6;
        if (acc > 1)
            printf("impossible\n");
    }
    printf("{\"n_vocab\":%d,\"greedy_us_per_token_off\":%.2f,\"greedy_us_per_token_on\":%.2f,"
           "\"logprob_cost_us\":%.2f}\n",
           n, t[0], t[1], t[1] - t[0]);
    lx_sampler_free(s);
    free(x);
    free(w);
}

int main(int argc, char **argv)
{
    const char *dflt[] = {"../shared/models/stories260K/stories260K.gguf",
                          "../shared/models/llama-2-tiny-random/llama-2-tiny-random.gguf"};
    if (argc > 1)
        for (int i = 1; i < argc; i++)
            bench_model(argv[i]);
    else
        for (int i = 0; i < 2; i++)
            bench_model(dflt[i]);
    bench_vocab(32000);
    bench_vocab(128256);
    bench_vocab(151936);
    return 0;
}
