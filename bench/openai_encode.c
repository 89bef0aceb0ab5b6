/*
 * bench/openai_encode.c — CPU cost of writing OpenAI Chat Completions
 * replies to the caller: a whole response (proto/openai_response.c) and the
 * frame of a stream — role chunk, finish chunk, usage chunk and [DONE]
 * (proto/openai_stream.c) — with the hand-written writers and with the
 * jansson code they replace (lx_openai_response_encode_jansson,
 * lx_openai_fast_enable(false)).
 *
 *   make BUILD=build-p1 build-p1/bench/openai_encode && build-p1/bench/openai_encode [n]
 *
 * Whole response: a typical reply (two sentences with a \n, quotes and
 * non-ASCII text, finish "stop", usage with cached tokens), encoded n times
 * (default 200 000) into a reused buffer. Stream frame: per iteration one
 * encoder (include_usage) gets START, USAGE and FINISH — the encoder's
 * creation (id, clock) is included on both sides. Text chunks: one encoder
 * gets 5 n token-sized TEXT events (what most of a stream is). Thread CPU
 * per operation, median of 5 runs, both paths and their ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/openai.h"

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

static size_t sink_bytes;

static double run_response(const lx_response *r, const lx_codec_opts *o, long n, bool fast)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        lx_buf_reset(&b);
        lx_error err = {0};
        lx_status st = fast ? lx_openai_response_encode(r, o, &b, &err)
                            : lx_openai_response_encode_jansson(r, o, &b, &err);
        if (st != LX_OK) {
            fprintf(stderr, "encode failed: %s\n", err.message);
            exit(1);
        }
        sink_bytes += b.len;
    }
    double t = cpu_now() - t0;
    lx_buf_free(&b);
    return t * 1e9 / (double)n;
}

static double run_frame(const lx_codec_opts *o, long n, bool fast)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_event start = {.kind = LX_EV_START, .model = "gpt-4o-mini-2024-07-18"};
    lx_event usage = {.kind = LX_EV_USAGE,
                      .usage = {.input = 93, .cache_read = 1024, .output = 46}};
    lx_event finish = {.kind = LX_EV_FINISH, .finish = LX_FINISH_STOP};
    lx_openai_fast_enable(fast);
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        lx_stream_encoder *e = lx_openai_stream_encoder_new(o);
        lx_buf_reset(&b);
        if (!e || e->event(e, &start, &b) != LX_OK || e->event(e, &usage, &b) != LX_OK ||
            e->event(e, &finish, &b) != LX_OK) {
            fprintf(stderr, "stream encode failed\n");
            exit(1);
        }
        sink_bytes += b.len;
        e->free(e);
    }
    double t = cpu_now() - t0;
    lx_openai_fast_enable(true);
    lx_buf_free(&b);
    return t * 1e9 / (double)n;
}

/* One encoder gets START, then n TEXT events (token-sized pieces, some
 * non-ASCII, some with a \n or a quote) into a buffer emptied every 64
 * chunks: ns per text chunk. */
static double run_text(const lx_codec_opts *o, long n, bool fast)
{
    static const char *const pieces[] = {" the",         " quick", " brown",  " fox",
                                         " Caf\xc3\xa9", ".\n",    " \"ok\"", " \xe6\x97\xa5",
                                         " jumps",       " over",  " lazy",   " dog"};
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_event start = {.kind = LX_EV_START, .model = "gpt-4o-mini-2024-07-18"};
    lx_openai_fast_enable(fast);
    lx_stream_encoder *e = lx_openai_stream_encoder_new(o);
    lx_openai_fast_enable(true);
    if (!e || e->event(e, &start, &b) != LX_OK) {
        fprintf(stderr, "stream encode failed\n");
        exit(1);
    }
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        const char *t = pieces[i % 12];
        lx_event ev = {.kind = LX_EV_TEXT, .text = t, .len = strlen(t)};
        if (i % 64 == 0) {
            sink_bytes += b.len;
            lx_buf_reset(&b);
        }
        if (e->event(e, &ev, &b) != LX_OK) {
            fprintf(stderr, "stream encode failed\n");
            exit(1);
        }
    }
    double t = cpu_now() - t0;
    e->free(e);
    lx_buf_free(&b);
    return t * 1e9 / (double)n;
}

static void report(const char *what, const char *unit, double *slow, double *fast)
{
    qsort(fast, 5, sizeof *fast, cmp);
    qsort(slow, 5, sizeof *slow, cmp);
    printf("%s, thread CPU, median of 5:\n", what);
    printf("  jansson      : %7.1f ns/%s (best %.1f)\n", slow[2], unit, slow[0]);
    printf("  hand-written : %7.1f ns/%s (best %.1f)\n", fast[2], unit, fast[0]);
    printf("  speed-up     : %.1fx\n", slow[2] / fast[2]);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    if (n <= 0)
        n = 200000;
    lx_response *r = lx_response_new();
    r->id = "chatcmpl-AbCdEf0123456789xyzQRSTuvw";
    r->model = "gpt-4o-mini-2024-07-18";
    r->created = 1732411234;
    lx_part *p = lx_response_add_part(r, LX_PART_TEXT);
    if (!p)
        return 1;
    p->text =
        "The quick brown fox jumps over the lazy dog. It was a bright cold day in April, "
        "and the clocks were striking thirteen.\nCaf\xc3\xa9 \"ok\" \xe6\x97\xa5\xe6\x9c\xac.";
    r->finish = LX_FINISH_STOP;
    r->has_usage = true;
    r->usage = (lx_usage){.input = 93, .cache_read = 1024, .output = 46};
    lx_codec_opts o = {.id = "chatcmpl-llmux-0123456789abcdef", .model = "gpt-4o-mini"};
    lx_buf a, b;
    lx_buf_init(&a, 0);
    lx_buf_init(&b, 0);
    if (lx_openai_response_encode(r, &o, &a, NULL) != LX_OK ||
        lx_openai_response_encode_jansson(r, &o, &b, NULL) != LX_OK || a.len != b.len ||
        memcmp(a.data, b.data, a.len) != 0) {
        fprintf(stderr, "the two encoders differ\n");
        return 1;
    }
    double slow[5], fast[5];
    for (int k = 0; k < 5; k++) {
        slow[k] = run_response(r, &o, n, false);
        fast[k] = run_response(r, &o, n, true);
    }
    char what[128];
    snprintf(what, sizeof what, "openai response encode, %zu-byte reply, %ld runs", a.len, n);
    report(what, "response", slow, fast);
    lx_codec_opts so = {.id = "chatcmpl-llmux-0123456789abcdef", .include_usage = true};
    for (int k = 0; k < 5; k++) {
        slow[k] = run_frame(&so, n, false);
        fast[k] = run_frame(&so, n, true);
    }
    snprintf(what, sizeof what,
             "openai stream frame (new encoder, role + finish + usage chunks, [DONE]), %ld runs",
             n);
    report(what, "stream", slow, fast);
    for (int k = 0; k < 5; k++) {
        slow[k] = run_text(&so, n * 5, false);
        fast[k] = run_text(&so, n * 5, true);
    }
    snprintf(what, sizeof what, "openai stream text chunk (token-sized delta), %ld chunks", n * 5);
    report(what, "chunk", slow, fast);
    lx_buf_free(&a);
    lx_buf_free(&b);
    lx_response_free(r);
    return sink_bytes == 0;
}
