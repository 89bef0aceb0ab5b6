/*
 * bench/openai_request.c — CPU cost of the OpenAI request path: decoding a
 * caller's body (request_decode) and encoding the upstream body
 * (request_encode), with the hand-written code (proto/openai_req_fast.c) and
 * with jansson alone (lx_openai_req_fast_enable(false)).
 *
 *   make BUILD=build-req build-req/bench/openai_request && build-req/bench/openai_request [iters]
 *
 * The body is the gateway bench's (bench/gateway/chat.lua: a system and a
 * user message, max_tokens, temperature, stream false; ~400 bytes), and its
 * streamed variant (chat_stream.lua). Each figure is thread CPU time per
 * operation, median of 7 runs of `iters` (default 200 000) operations,
 * for both paths side by side with their ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/openai.h"

#define RUNS 7

static const char *const question =
    "Our team runs a small web service that stores orders in Postgres. "
    "Requests must finish within 200 ms. Last night the batch job timed out twice. "
    "In two sentences, what are the first three things we should check?";

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double decode_run(const char *body, size_t len, long n)
{
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        lx_request *r = NULL;
        lx_error err;
        if (lx_codec_openai.request_decode(body, len, &r, &err) != LX_OK) {
            fprintf(stderr, "decode failed: %s\n", err.message);
            exit(1);
        }
        lx_request_free(r);
    }
    return (cpu_now() - t0) * 1e9 / (double)n;
}

static double encode_run(const lx_request *r, const lx_codec_opts *o, long n)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        lx_error err;
        lx_buf_reset(&b);
        if (lx_codec_openai.request_encode(r, o, &b, &err) != LX_OK) {
            fprintf(stderr, "encode failed: %s\n", err.message);
            exit(1);
        }
    }
    double t = (cpu_now() - t0) * 1e9 / (double)n;
    lx_buf_free(&b);
    return t;
}

/* Median ns/op of fn over RUNS runs, fast path on or off. */
static double median(bool fast, double (*fn)(const void *, long), const void *arg, long n)
{
    double v[RUNS];
    for (int i = 0; i < RUNS; i++) {
        lx_openai_req_fast_enable(fast);
        v[i] = fn(arg, n);
        lx_openai_req_fast_enable(true);
    }
    qsort(v, RUNS, sizeof *v, cmp);
    return v[RUNS / 2];
}

typedef struct {
    const char *body;
    size_t len;
    const lx_request *r;
    lx_codec_opts o;
} job;

static double dec(const void *j, long n)
{
    return decode_run(((const job *)j)->body, ((const job *)j)->len, n);
}

static double enc(const void *j, long n)
{
    return encode_run(((const job *)j)->r, &((const job *)j)->o, n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    if (n <= 0)
        n = 200000;
    printf("%-36s %10s %10s %7s\n", "operation (body bytes)", "jansson", "fast", "ratio");
    for (int stream = 0; stream < 2; stream++) {
        char body[1024];
        snprintf(body, sizeof body,
                 "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You "
                 "are a concise assistant for software operations questions.\"},{\"role\":"
                 "\"user\",\"content\":\"%s\"}],\"max_tokens\":64,\"temperature\":0.2,%s}",
                 question,
                 stream ? "\"stream\":true,\"stream_options\":{\"include_usage\":true}"
                        : "\"stream\":false");
        job j = {.body = body, .len = strlen(body)};
        lx_request *r = NULL;
        lx_error err;
        if (lx_codec_openai.request_decode(body, j.len, &r, &err) != LX_OK || !r) {
            fprintf(stderr, "decode failed\n");
            return 1;
        }
        lx_request *fr = NULL;
        if (!lx_openai_req_decode_fast(body, j.len, &fr)) {
            fprintf(stderr, "the fast decoder does not take the bench body\n");
            return 1;
        }
        lx_request_free(fr);
        j.r = r;
        j.o = (lx_codec_opts){.model = "gpt-4o-mini", .stream = stream, .include_usage = stream};
        lx_buf probe;
        lx_buf_init(&probe, 0);
        if (!lx_openai_req_encode_fast(r, j.o.model, &j.o, &probe)) {
            fprintf(stderr, "the fast encoder does not take the bench request\n");
            return 1;
        }
        size_t enc_len = probe.len;
        lx_buf_free(&probe);
        char label[64];
        double a = median(false, dec, &j, n), b = median(true, dec, &j, n);
        snprintf(label, sizeof label, "request_decode%s (%zu)", stream ? " stream" : "", j.len);
        printf("%-36s %8.0f ns %8.0f ns %6.1fx\n", label, a, b, a / b);
        a = median(false, enc, &j, n);
        b = median(true, enc, &j, n);
        snprintf(label, sizeof label, "request_encode%s (%zu)", stream ? " stream" : "", enc_len);
        printf("%-36s %8.0f ns %8.0f ns %6.1fx\n", label, a, b, a / b);
        lx_request_free(r);
    }
    return 0;
}
