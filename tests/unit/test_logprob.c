/*
 * Unit tests of token log-probabilities from the embedded engine: the
 * sampler's greedy log softmax, lx_gen_params.logprobs, and the local
 * provider's TEXT events (n_tokens / logprob) that the cascade validator
 * reads. Model tests use stories260K from $LLMUX_MODEL_DIR (else
 * ../shared/models) and skip when it is absent.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/sampler.h"
#include "provider/provider.h"

#define STORIES "stories260K/stories260K.gguf"

static const char *model_path(const char *rel)
{
    static char buf[1024];
    const char *d = getenv("LLMUX_MODEL_DIR");
    snprintf(buf, sizeof buf, "%s/%s", d && *d ? d : "../shared/models", rel);
    return buf;
}

#define NEED_STORIES()                                                                             \
    do {                                                                                           \
        if (access(model_path(STORIES), R_OK) != 0)                                                \
            cr_skip_test("test model %s not found (set LLMUX_MODEL_DIR)", model_path(STORIES));    \
    } while (0)

Test(logprob, greedy_log_softmax_matches_a_direct_computation)
{
    float logits[5] = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
    float copy[5];
    memcpy(copy, logits, sizeof copy);
    lx_sampler *s;
    cr_assert_eq(lx_sampler_new(5, NULL, &s, NULL), LX_OK);
    float lp = 1;
    int32_t id = lx_sampler_sample(s, logits, &lp);
    cr_assert_eq(id, 1); /* ties: lowest id */
    double sum = 0;
    for (int i = 0; i < 5; i++)
        sum += exp((double)copy[i]);
    cr_assert_float_eq(lp, (float)(copy[1] - log(sum)), 1e-5);
    cr_assert_lt(lp, 0);
    /* NULL: no log-probability asked, same choice */
    memcpy(logits, copy, sizeof copy);
    cr_assert_eq(lx_sampler_sample(s, logits, NULL), 1);
    lx_sampler_free(s);
}

Test(logprob, greedy_log_softmax_is_accurate_on_large_vocabularies)
{
    int sizes[] = {1, 7, 8, 9, 4096, 32003};
    srand(5);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int n = sizes[k];
        float *x = malloc((size_t)n * sizeof *x), *c = malloc((size_t)n * sizeof *c);
        for (int i = 0; i < n; i++) /* wide range: some terms underflow */
            x[i] = (float)rand() / (float)RAND_MAX * 200.0f - 150.0f;
        x[n / 2] = 60.0f;
        if (n > 3)
            x[1] = 59.5f; /* a close runner-up */
        memcpy(c, x, (size_t)n * sizeof *c);
        double mx = 60.0, sum = 0;
        for (int i = 0; i < n; i++)
            sum += exp((double)c[i] - mx);
        double want = -log(sum);
        lx_sampler *s;
        cr_assert_eq(lx_sampler_new(n, NULL, &s, NULL), LX_OK);
        float lp;
        cr_assert_eq(lx_sampler_sample(s, x, &lp), n / 2);
        cr_assert(fabs(lp - want) < 1e-5 + 1e-5 * fabs(want), "n %d: %f want %f", n, (double)lp,
                  want);
        lx_sampler_free(s);
        free(x);
        free(c);
    }
}

typedef struct gen_log {
    int32_t ids[256];
    float lps[256];
    int n;
} gen_log;

static lx_status on_tok(void *ud, const lx_gen_token *t)
{
    gen_log *g = ud;
    if (t->id >= 0 && g->n < 256) {
        g->ids[g->n] = t->id;
        g->lps[g->n++] = t->logprob;
    }
    return LX_OK;
}

static void generate(lx_engine *e, float temperature, bool logprobs, gen_log *g)
{
    lx_error err;
    int32_t *ids;
    size_t n_ids;
    cr_assert_eq(lx_engine_tokenize(e, "Once upon a time", 16, true, false, &ids, &n_ids, &err),
                 LX_OK, "%s", err.message);
    lx_session *s;
    cr_assert_eq(lx_session_new(e, 0, &s, &err), LX_OK, "%s", err.message);
    lx_gen_params p = lx_gen_defaults();
    p.sample.temperature = temperature;
    p.sample.seed = 42;
    p.max_tokens = 100;
    p.stop_at_eos = false;
    p.logprobs = logprobs;
    p.on_token = on_tok;
    p.ud = g;
    memset(g, 0, sizeof *g);
    lx_gen_result res;
    cr_assert_eq(lx_session_generate(s, ids, n_ids, &p, &res, &err), LX_OK, "%s", err.message);
    cr_assert_eq(g->n, 100);
    lx_session_free(s);
    free(ids);
}

Test(logprob, greedy_generation_reports_sane_logprobs)
{
    NEED_STORIES();
    lx_engine *e;
    lx_engine_opts eo = {.n_threads = 1};
    cr_assert_eq(lx_engine_new(model_path(STORIES), &eo, &e, NULL), LX_OK);
    gen_log on, off;
    generate(e, 0, true, &on);
    generate(e, 0, false, &off);
    double sum = 0;
    int negative = 0;
    for (int i = 0; i < on.n; i++) {
        cr_assert_eq(on.ids[i], off.ids[i], "the flag changed token %d", i);
        cr_assert_eq(off.lps[i], 0.0f);
        cr_assert(isfinite(on.lps[i]) && on.lps[i] <= 0.0f, "token %d: %f", i, (double)on.lps[i]);
        negative += on.lps[i] < 0;
        sum += on.lps[i];
    }
    double mean = sum / on.n;
    /* a tiny story model continuing a story start is fairly sure of itself:
     * clearly below 0, far above uniform over its 512 tokens (-6.24) */
    cr_assert_gt(negative, on.n / 2);
    cr_log_info("mean logprob %f", mean);
    cr_assert(mean < -0.01 && mean > -3.0, "mean logprob %f", mean);
    /* sampled at temperature 1: finite and negative too */
    gen_log t1;
    generate(e, 1.0f, true, &t1);
    for (int i = 0; i < t1.n; i++)
        cr_assert(isfinite(t1.lps[i]) && t1.lps[i] <= 0.0f, "token %d: %f", i, (double)t1.lps[i]);
    lx_engine_free(e);
}

typedef struct ev_sum {
    int n_text, n_tokens;
    double logprob;
    int64_t output;
    int finished, errors;
} ev_sum;

static lx_status sink(void *ud, const lx_event *ev)
{
    ev_sum *s = ud;
    if (ev->kind == LX_EV_TEXT) {
        s->n_text++;
        s->n_tokens += ev->n_tokens;
        s->logprob += ev->logprob;
        cr_assert(ev->n_tokens >= 0 && ev->logprob <= 0);
    } else if (ev->kind == LX_EV_USAGE) {
        s->output = ev->usage.output;
    } else if (ev->kind == LX_EV_FINISH) {
        s->finished++;
    } else if (ev->kind == LX_EV_ERROR) {
        s->errors++;
    }
    return LX_OK;
}

Test(logprob, local_provider_text_events_carry_tokens)
{
    NEED_STORIES();
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    lx_provider_cfg cfg = {
        .name = "local", .type = LX_PROV_LOCAL, .model_path = (char *)model_path(STORIES)};
    lx_provider *p;
    lx_error err;
    cr_assert_eq(lx_local_provider_new(NULL, &cfg, &loop, &p, &err), LX_OK, "%s", err.message);
    lx_request *req = lx_request_new();
    cr_assert_eq(lx_request_add_text(req, LX_ROLE_USER, "Once upon a time"), LX_OK);
    req->sampling.has_temperature = true;
    req->sampling.temperature = 0;
    req->sampling.max_tokens = 60;
    lx_call_opts o = {.model = "stories"};
    lx_call *call;
    ev_sum s = {0};
    cr_assert_eq(lx_provider_start(p, req, &o, sink, &s, &call, &err), LX_OK, "%s", err.message);
    lx_request_free(req);
    uv_run(&loop, UV_RUN_DEFAULT);
    lx_provider_free(p);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    cr_assert_eq(s.errors, 0);
    cr_assert_eq(s.finished, 1);
    cr_assert_gt(s.n_text, 0);
    /* every generated token is counted on some TEXT event (the last one's
     * text may be all there is, so allow it to ride along) */
    cr_assert(s.n_tokens >= s.output - 1 && s.n_tokens <= s.output, "tokens %d of %lld", s.n_tokens,
              (long long)s.output);
    double mean = s.logprob / s.n_tokens;
    cr_log_info("mean logprob %f", mean);
    cr_assert(mean < -0.01 && mean > -3.0, "mean logprob %f", mean);
}
