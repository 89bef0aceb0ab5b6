/*
 * bench/openai_decode.c — CPU cost of decoding one OpenAI Chat Completions
 * stream chunk (proto/openai_stream.c), with the hand-written reader for the
 * common chunk (proto/openai_fast.c) and with jansson alone.
 *
 *   make BUILD=build-p1 build-p1/bench/openai_decode && build-p1/bench/openai_decode [chunks]
 *
 * Feeds `chunks` (default 1 000 000) typical text chunks as one SSE stream
 * into one decoder whose sink only counts bytes: 1000 distinct chunks shaped
 * like OpenAI's (id, object, created, model, system_fingerprint, one choice
 * with a 1-12 character content delta, ~1 in 8 with a non-ASCII character
 * and ~1 in 16 with a \n or \" escape, logprobs and finish_reason null),
 * each fed as its own "data: ...\n\n" piece, cycled. Prints thread CPU time
 * per chunk, median of 5 runs, for both paths, and their ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/openai.h"

#define DISTINCT 1000

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static size_t text_bytes;

static lx_status sink(void *ud, const lx_event *ev)
{
    (void)ud;
    if (ev->kind == LX_EV_TEXT)
        text_bytes += ev->len;
    return LX_OK;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double one_run(char **chunks, size_t *lens, long n, bool fast)
{
    lx_openai_fast_enable(fast);
    lx_stream_decoder *d = lx_openai_stream_decoder_new(sink, NULL);
    lx_openai_fast_enable(true);
    if (!d)
        exit(1);
    lx_error err = {0};
    text_bytes = 0;
    double t0 = cpu_now();
    for (long i = 0; i < n; i++)
        if (d->feed(d, chunks[i % DISTINCT], lens[i % DISTINCT], &err) != LX_OK) {
            fprintf(stderr, "decode failed: %s\n", err.message);
            exit(1);
        }
    double t = cpu_now() - t0;
    d->free(d);
    return t * 1e9 / (double)n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n <= 0)
        n = 1000000;
    static const char *const words[] = {"Hello",
                                        " world",
                                        ",",
                                        " the",
                                        " quick",
                                        " brown",
                                        " fox",
                                        " jumps",
                                        " over",
                                        " lazy",
                                        " dog",
                                        ".",
                                        " caf\xc3\xa9",
                                        " \xe6\x97\xa5\xe6\x9c\xac",
                                        "\\n",
                                        "\\\"ok\\\""};
    char *chunks[DISTINCT];
    size_t lens[DISTINCT];
    unsigned s = 12345;
    for (int i = 0; i < DISTINCT; i++) {
        s = s * 1103515245u + 12345u;
        unsigned r = s >> 16;
        const char *w = words[r % 12];
        if (r % 8 == 0)
            w = words[12 + (r >> 4) % 2];
        else if (r % 16 == 1)
            w = words[14 + (r >> 4) % 2];
        char buf[512];
        int len = snprintf(buf, sizeof buf,
                           "data: {\"id\":\"chatcmpl-AbCdEf0123456789xyzQRSTuvw\",\"object\":"
                           "\"chat.completion.chunk\",\"created\":1732411234,\"model\":"
                           "\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\","
                           "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
                           "\"logprobs\":null,\"finish_reason\":null}]}\n\n",
                           w);
        chunks[i] = strdup(buf);
        lens[i] = (size_t)len;
    }
    double r_fast[5], r_slow[5];
    for (int k = 0; k < 5; k++) {
        r_slow[k] = one_run(chunks, lens, n, false);
        r_fast[k] = one_run(chunks, lens, n, true);
    }
    qsort(r_fast, 5, sizeof *r_fast, cmp);
    qsort(r_slow, 5, sizeof *r_slow, cmp);
    printf("openai stream decode, %ld chunks of ~%zu bytes, thread CPU, median of 5:\n", n,
           lens[0]);
    printf("  jansson only : %7.1f ns/chunk (best %.1f)\n", r_slow[2], r_slow[0]);
    printf("  fast path    : %7.1f ns/chunk (best %.1f)\n", r_fast[2], r_fast[0]);
    printf("  speed-up     : %.1fx\n", r_slow[2] / r_fast[2]);
    for (int i = 0; i < DISTINCT; i++)
        free(chunks[i]);
    return 0;
}
