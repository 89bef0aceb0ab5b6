/*
 * bench/route.c — cost of the complexity score (router/complexity.c), and a
 * way to see why a prompt scored as it did.
 *
 *   make BUILD=build-cx build-cx/bench/route && build-cx/bench/route
 *       scores a fixed ~2 KB prompt (mixed prose, a requirement list and a
 *       code snippet) 200 times per run, 101 runs; prints the median and the
 *       best run in microseconds per prompt, and the same for a 64 KB prompt.
 *   build-cx/bench/route "some prompt"
 *       prints the score, the task and every feature that fired.
 *
 * Then the whole routing decision (router/router.h): lx_route on the same
 * ~2 KB prompt with a config of one local provider (a model from
 * $LLMUX_MODEL_DIR or ../shared/models; skipped when absent), one remote
 * provider, an alias and four rules; every signal computed, nothing sent.
 * 2000 decisions per run, 51 runs; prints the median and best microseconds
 * per decision. Cases: llama-2-tiny-random (32k SentencePiece vocabulary,
 * 4096-token context: the size bounds settle the check, and again with
 * exact_tokens forcing a full count), stories260K (512-token context: the
 * 2 KB prompt must be counted), smollm2 (byte-level BPE, 2048 context),
 * and no local model (estimates only).
 *
 * Last, the decision `llmux serve` makes for the gateway benchmark's plain
 * request (an explicit model, ~290 bytes, no rules), in nanoseconds;
 * `build-cx/bench/route --gateway` runs only that case.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "config/config.h"
#include "router/complexity.h"
#include "router/router.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char chunk[] =
    "We run a small web service that stores orders in Postgres and must answer "
    "within 200 ms. Requirements:\n- it should keep working when the cache is down\n"
    "- it must never lose an order\n1. explain the current design\n2. propose changes\n"
    "```\nfor (int i = 0; i < n; i++) {\n    total += price[i] * qty[i];\n}\n```\n"
    "Why does the nightly job sometimes time out? Summarize the logs in one sentence.\n";

static void bench(size_t size, const char *label)
{
    char *p = malloc(size);
    if (!p)
        return;
    for (size_t i = 0; i < size; i++)
        p[i] = chunk[i % (sizeof chunk - 1)];
    enum { RUNS = 101, ITERS = 200 };
    double t[RUNS];
    volatile double sink = 0;
    for (int r = 0; r < RUNS; r++) {
        lx_complexity c;
        double t0 = now();
        for (int i = 0; i < ITERS; i++) {
            lx_complexity_score(p, size, &c);
            sink += c.score;
        }
        t[r] = (now() - t0) / ITERS * 1e6;
    }
    qsort(t, RUNS, sizeof t[0], cmp);
    printf("complexity %s (%zu bytes): median %.2f us, best %.2f us per prompt\n", label, size,
           t[RUNS / 2], t[0]);
    free(p);
    (void)sink;
}

static const char *find_model(const char *rel, char *buf, size_t cap)
{
    const char *dir = getenv("LLMUX_MODEL_DIR");
    snprintf(buf, cap, "%s/%s", dir && *dir ? dir : "../shared/models", rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

/* rel: the local model under the models folder, NULL for none. */
static void bench_route(const char *rel, bool exact)
{
    char model[4096], yaml[8192];
    const char *gguf = rel ? find_model(rel, model, sizeof model) : NULL;
    if (rel && !gguf) {
        printf("route decision with %s: skipped (model not found)\n", rel);
        return;
    }
    int n = snprintf(yaml, sizeof yaml,
                     "providers:\n%s%s%s"
                     "  - {name: openai, type: openai, api_key: sk-bench, models: [gpt-4o-mini, "
                     "gpt-4o]}\n"
                     "aliases: {smart: openai/gpt-4o}\n"
                     "routing:\n"
                     "  rules:\n"
                     "    - {when: {privacy: [PRIVATE_KEY, AWS_SECRET]}, action: block}\n"
                     "    - {when: {task: [planning, design]}, target: smart}\n"
                     "    - {when: {header: x-llmux-target, equals: local}, target: local}\n"
                     "    - {when: {tokens_above: 100000}, action: cloud}\n",
                     gguf ? "  - {name: local, type: local, model: \"" : "", gguf ? gguf : "",
                     gguf ? "\"}\n" : "");
    lx_config *cfg = NULL;
    lx_router *r = NULL;
    lx_route_scratch *sc = NULL;
    lx_request *req = lx_request_new();
    lx_error err;
    char *p = malloc(2048);
    if (!req || !p || lx_config_parse(yaml, (size_t)n, "bench", &cfg, &err) != LX_OK ||
        lx_router_new(cfg, &r, &err) != LX_OK || lx_route_scratch_new(r, &sc, &err) != LX_OK) {
        fprintf(stderr, "route bench setup failed: %s\n", err.message);
        goto done;
    }
    for (size_t i = 0; i < 2047; i++)
        p[i] = chunk[i % (sizeof chunk - 1)];
    p[2047] = 0;
    req->model = "auto";
    lx_message *m = lx_request_add_message(req, LX_ROLE_USER);
    lx_part *pt = m ? lx_message_add_part(req, m, LX_PART_TEXT) : NULL;
    if (!pt)
        goto done;
    pt->text = p;
    lx_route_input in = {.req = req, .exact_tokens = exact};
    enum { RUNS = 51, ITERS = 2000 };
    double t[RUNS];
    const char *where = "?";
    for (int k = 0; k < RUNS; k++) {
        double t0 = now();
        for (int i = 0; i < ITERS; i++) {
            lx_plan *plan = NULL;
            if (lx_route(r, sc, &in, &plan, &err) != LX_OK) {
                fprintf(stderr, "lx_route: %s\n", err.message);
                goto done;
            }
            where = lx_plan_target_kind(plan);
            lx_plan_free(plan);
        }
        t[k] = (now() - t0) / ITERS * 1e6;
    }
    qsort(t, RUNS, sizeof t[0], cmp);
    printf("route decision, 2 KB prompt, 4 rules, local %s%s -> %s: median %.2f us, best "
           "%.2f us\n",
           rel ? rel : "none (remote only)", exact ? " (exact_tokens)" : "", where, t[RUNS / 2],
           t[0]);
done:
    if (req && req->n_messages)
        req->messages[0].parts[0].text = NULL;
    if (req)
        req->model = NULL;
    free(p);
    lx_request_free(req);
    lx_route_scratch_free(sc);
    lx_router_free(r);
    lx_config_free(cfg);
}

/* The gateway benchmark's request (bench/gateway/chat.lua: a system and a
 * user message, ~290 bytes, an explicit provider/model, max_tokens) on the
 * gateway benchmark's config (one remote provider, no rules): the decision
 * `llmux serve` makes per plain request. */
static void bench_gateway_route(void)
{
    static const char yaml[] =
        "providers:\n"
        "  - {name: mock, type: openai, base_url: http://127.0.0.1:9/v1, api_key: x}\n";
    lx_config *cfg = NULL;
    lx_router *r = NULL;
    lx_route_scratch *sc = NULL;
    lx_request *req = lx_request_new();
    lx_error err;
    lx_error_clear(&err);
    if (!req || lx_config_parse(yaml, sizeof yaml - 1, "bench", &cfg, &err) != LX_OK ||
        lx_router_new(cfg, &r, &err) != LX_OK || lx_route_scratch_new(r, &sc, &err) != LX_OK ||
        lx_request_add_text(req, LX_ROLE_SYSTEM,
                            "You are a concise assistant for software operations questions.") !=
            LX_OK ||
        lx_request_add_text(
            req, LX_ROLE_USER,
            "Our team runs a small web service that stores orders in Postgres. Requests must "
            "finish within 200 ms. Last night the batch job timed out twice. In two sentences, "
            "what are the first three things we should check?") != LX_OK) {
        fprintf(stderr, "gateway route bench setup failed: %s\n", err.message);
        goto done;
    }
    req->model = "mock/gpt-4o-mini";
    req->sampling.max_tokens = 64;
    lx_route_input in = {.req = req};
    enum { RUNS = 31, ITERS = 20000 };
    double t[RUNS];
    for (int k = 0; k < RUNS; k++) {
        double t0 = now();
        for (int i = 0; i < ITERS; i++) {
            lx_plan *plan = NULL;
            if (lx_route(r, sc, &in, &plan, &err) != LX_OK) {
                fprintf(stderr, "lx_route: %s\n", err.message);
                goto done;
            }
            lx_plan_free(plan);
        }
        t[k] = (now() - t0) / ITERS * 1e9;
    }
    qsort(t, RUNS, sizeof t[0], cmp);
    printf("route decision, gateway request (explicit mock/gpt-4o-mini, 290 bytes, no rules): "
           "median %.0f ns, best %.0f ns\n",
           t[RUNS / 2], t[0]);
done:
    if (req)
        req->model = NULL;
    lx_request_free(req);
    lx_route_scratch_free(sc);
    lx_router_free(r);
    lx_config_free(cfg);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--gateway")) {
        bench_gateway_route();
        return 0;
    }
    if (argc > 1) {
        lx_complexity c;
        lx_complexity_score(argv[1], strlen(argv[1]), &c);
        printf("score %.3f (%s) task %s\n", c.score,
               c.score >= LX_COMPLEXITY_THRESHOLD ? "cloud" : "local", c.task);
        for (int i = 0; i < c.n_features; i++)
            printf("  %-22s %+.3f\n", c.features[i].name, c.features[i].weight);
        return 0;
    }
    bench(2048, "2 KB");
    bench(64 * 1024, "64 KB");
    /* a local model whose context clearly holds 2 KB: bounds settle the size */
    bench_route("llama-2-tiny-random/llama-2-tiny-random.gguf", false);
    bench_route("llama-2-tiny-random/llama-2-tiny-random.gguf", true);
    /* 512-token context: a 2 KB prompt must be counted exactly */
    bench_route("stories260K/stories260K.gguf", false);
    bench_route("smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf", false);
    bench_route(NULL, false);
    bench_gateway_route();
    return 0;
}
