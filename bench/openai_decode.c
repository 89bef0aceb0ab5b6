/*
 * bench/openai_decode.c — CPU cost of decoding OpenAI Chat Completions
 * upstream answers: one stream text chunk (proto/openai_stream.c), the final
 * chunks of a stream (finish_reason, then usage) and a whole response
 * (proto/openai_response.c), each with the hand-written readers
 * (proto/openai_fast.c) and with jansson alone.
 *
 *   make BUILD=build-p1 build-p1/bench/openai_decode && build-p1/bench/openai_decode [chunks]
 *
 * Feeds `chunks` (default 1 000 000) typical text chunks as one SSE stream
 * into one decoder whose sink only counts bytes: 1000 distinct chunks shaped
 * like OpenAI's (id, object, created, model, system_fingerprint, one choice
 * with a 1-12 character content delta, ~1 in 8 with a non-ASCII character
 * and ~1 in 16 with a \n or \" escape, logprobs and finish_reason null),
 * each fed as its own "data: ...\n\n" piece, cycled. Prints thread CPU time
 * per chunk, median of 5 runs, for both paths, and their ratio. Then the
 * pair of final chunks (a finish chunk and an include_usage chunk with
 * OpenAI's full usage object), fed n/10 times into one decoder, and a
 * typical whole non-stream response (~900 bytes: two sentences, full
 * usage), decoded n/10 times: ns per pair / per response, median of 5.
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

    /* the final chunks: finish_reason, then the usage chunk */
    long m = n / 10 > 0 ? n / 10 : 1;
    char *fin[DISTINCT];
    size_t flens[DISTINCT];
    static const char pair[] =
        "data: {\"id\":\"chatcmpl-AbCdEf0123456789xyzQRSTuvw\",\"object\":"
        "\"chat.completion.chunk\",\"created\":1732411234,\"model\":\"gpt-4o-mini-2024-07-18\","
        "\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{\"index\":0,\"delta\":{},"
        "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
        "data: {\"id\":\"chatcmpl-AbCdEf0123456789xyzQRSTuvw\",\"object\":"
        "\"chat.completion.chunk\",\"created\":1732411234,\"model\":\"gpt-4o-mini-2024-07-18\","
        "\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
        "1117,\"completion_tokens\":46,\"total_tokens\":1163,\"prompt_tokens_details\":{"
        "\"cached_tokens\":1024,\"audio_tokens\":0},\"completion_tokens_details\":{"
        "\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
        "\"rejected_prediction_tokens\":0}}}\n\n";
    for (int i = 0; i < DISTINCT; i++) {
        fin[i] = (char *)pair;
        flens[i] = sizeof pair - 1;
    }
    for (int k = 0; k < 5; k++) {
        r_slow[k] = one_run(fin, flens, m, false);
        r_fast[k] = one_run(fin, flens, m, true);
    }
    qsort(r_fast, 5, sizeof *r_fast, cmp);
    qsort(r_slow, 5, sizeof *r_slow, cmp);
    printf("openai stream decode, final chunks (finish + usage, %zu bytes), median of 5:\n",
           sizeof pair - 1);
    printf("  jansson only : %7.1f ns/pair (best %.1f)\n", r_slow[2], r_slow[0]);
    printf("  fast path    : %7.1f ns/pair (best %.1f)\n", r_fast[2], r_fast[0]);
    printf("  speed-up     : %.1fx\n", r_slow[2] / r_fast[2]);

    /* a whole response */
    static const char body[] =
        "{\"id\":\"chatcmpl-AbCdEf0123456789xyzQRSTuvw\",\"object\":\"chat.completion\","
        "\"created\":1732411234,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":"
        "0,\"message\":{\"role\":\"assistant\",\"content\":\"The quick brown fox jumps over "
        "the lazy dog. It was a bright cold day in April, and the clocks were striking "
        "thirteen.\\nCaf\u00e9 \\\"ok\\\" æ¥æ¬.\",\"refusal\":null,"
        "\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{"
        "\"prompt_tokens\":1117,\"completion_tokens\":46,\"total_tokens\":1163,"
        "\"prompt_tokens_details\":{\"cached_tokens\":1024,\"audio_tokens\":0},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
        "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},"
        "\"service_tier\":\"default\",\"system_fingerprint\":\"fp_0ba0d124f1\"}";
    for (int k = 0; k < 5; k++) {
        for (int fast = 0; fast < 2; fast++) {
            double t0 = cpu_now();
            for (long i = 0; i < m; i++) {
                lx_response *r = NULL;
                lx_error err = {0};
                lx_status st =
                    fast ? lx_openai_response_decode(body, sizeof body - 1, &r, &err)
                         : lx_openai_response_decode_jansson(body, sizeof body - 1, &r, &err);
                if (st != LX_OK) {
                    fprintf(stderr, "decode failed: %s\n", err.message);
                    exit(1);
                }
                text_bytes += r->n_parts;
                lx_response_free(r);
            }
            (fast ? r_fast : r_slow)[k] = (cpu_now() - t0) * 1e9 / (double)m;
        }
    }
    lx_response *chk = NULL;
    if (!lx_openai_fast_response(body, sizeof body - 1, &chk)) {
        fprintf(stderr, "the fast reader refused the sample response\n");
        exit(1);
    }
    lx_response_free(chk);
    qsort(r_fast, 5, sizeof *r_fast, cmp);
    qsort(r_slow, 5, sizeof *r_slow, cmp);
    printf("openai response decode, %zu-byte body, %ld runs, median of 5:\n", sizeof body - 1, m);
    printf("  jansson only : %7.1f ns/response (best %.1f)\n", r_slow[2], r_slow[0]);
    printf("  fast path    : %7.1f ns/response (best %.1f)\n", r_fast[2], r_fast[0]);
    printf("  speed-up     : %.1fx\n", r_slow[2] / r_fast[2]);
    for (int i = 0; i < DISTINCT; i++)
        free(chunks[i]);
    return 0;
}
