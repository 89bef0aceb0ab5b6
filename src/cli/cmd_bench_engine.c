/*
 * llmux bench-engine — prefill and decode speed of the embedded engine.
 *
 *   llmux bench-engine --model FILE [--threads N] [--prompt-tokens 128]
 *                      [--gen-tokens 64]
 *
 * Random token ids (no tokenizer needed). One warm-up round, then three
 * measured rounds; each round resets the session, evaluates the prompt in
 * one batch (prefill) and then gen-tokens single-token steps (decode).
 * Prints one JSON line with the medians:
 *   {"model":..., "engine":"llmux", "threads":N, "prompt_tokens":P,
 *    "gen_tokens":G, "prefill_tok_s":X, "decode_tok_s":Y,
 *    "weight_bytes_per_token":B, "kernels":"avx512"}
 * weight_bytes_per_token counts every weight a decode step streams: all
 * tensors except the token embedding, which counts in full only when it is
 * also the output projection (tied) and as one row otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "engine/engine.h"
#include "engine/gguf.h"
#include "engine/kernels.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: llmux bench-engine --model FILE [--threads N] [--prompt-tokens 128] "
               "[--gen-tokens 64]\n\n"
               "Measures prefill and decode speed of the embedded engine on random token ids\n"
               "and prints one JSON line (medians of 3 rounds after a warm-up).\n");
}

static uint64_t stream_bytes(const struct lx_gguf *g)
{
    uint64_t total = 0, embd = 0, embd_row = 0;
    bool tied = lx_gguf_tensor_find(g, "output.weight") == NULL;
    for (size_t i = 0; i < lx_gguf_tensor_count(g); i++) {
        const lx_gguf_tensor *t = lx_gguf_tensor_at(g, i);
        if (t->name.n == 17 && !memcmp(t->name.p, "token_embd.weight", 17)) {
            embd = t->nbytes;
            embd_row = t->ne[1] ? t->nbytes / t->ne[1] : 0;
        } else {
            total += t->nbytes;
        }
    }
    return total + (tied ? embd : embd_row);
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int lx_cmd_bench_engine(int argc, char **argv)
{
    const char *model = NULL;
    int threads = 0, n_prompt = 128, n_gen = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return LX_EXIT_OK;
        } else if (!strcmp(a, "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(a, "--prompt-tokens") && i + 1 < argc) {
            n_prompt = atoi(argv[++i]);
        } else if (!strcmp(a, "--gen-tokens") && i + 1 < argc) {
            n_gen = atoi(argv[++i]);
        } else {
            fprintf(stderr, "llmux bench-engine: unknown option '%s'\n", a);
            usage(stderr);
            return LX_EXIT_USAGE;
        }
    }
    if (!model || n_prompt < 1 || n_gen < 1 || threads < 0) {
        usage(stderr);
        return LX_EXIT_USAGE;
    }

    int rc = LX_EXIT_RUNTIME;
    lx_error err;
    lx_error_clear(&err);
    lx_engine *e = NULL;
    lx_session *s = NULL;
    int32_t *ids = NULL;
    lx_engine_opts opts = {.n_threads = threads, .n_ctx = 0};
    if (lx_engine_new(model, &opts, &e, &err) != LX_OK || lx_engine_load(e, &err) != LX_OK)
        goto fail;
    const lx_engine_info *info = lx_engine_get_info(e);
    if (lx_session_new(e, n_prompt + n_gen + 8, &s, &err) != LX_OK)
        goto fail;
    ids = malloc(sizeof *ids * (size_t)(n_prompt + n_gen));
    if (!ids) {
        lx_fail(&err, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    uint64_t st = 88172645463325252ull;
    for (int i = 0; i < n_prompt + n_gen; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        ids[i] = (int32_t)(st % (uint64_t)info->n_vocab);
    }
    double pre[3], dec[3];
    for (int round = 0; round < 4; round++) {
        lx_session_reset(s);
        double t0 = now_s();
        if (lx_session_eval(s, ids, n_prompt, NULL, &err) != LX_OK)
            goto fail;
        double t1 = now_s();
        for (int i = 0; i < n_gen; i++)
            if (lx_session_eval(s, ids + n_prompt + i, 1, NULL, &err) != LX_OK)
                goto fail;
        double t2 = now_s();
        if (round > 0) {
            pre[round - 1] = n_prompt / (t1 - t0);
            dec[round - 1] = n_gen / (t2 - t1);
        }
    }
    qsort(pre, 3, sizeof pre[0], cmp_double);
    qsort(dec, 3, sizeof dec[0], cmp_double);
    printf("{\"model\":");
    json_str(model);
    printf(",\"engine\":\"llmux\",\"threads\":%d,\"prompt_tokens\":%d,\"gen_tokens\":%d,"
           "\"prefill_tok_s\":%.1f,\"decode_tok_s\":%.1f,\"weight_bytes_per_token\":%llu,"
           "\"kernels\":\"%s\"}\n",
           lx_engine_threads(e), n_prompt, n_gen, pre[1], dec[1],
           (unsigned long long)stream_bytes(lx_engine_gguf(e)), lx_engine_kernels());
    rc = LX_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "llmux bench-engine: %s\n", err.message[0] ? err.message : "failed");
done:
    free(ids);
    lx_session_free(s);
    lx_engine_free(e);
    return rc;
}
