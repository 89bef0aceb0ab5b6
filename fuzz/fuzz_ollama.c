/* libFuzzer target: the Ollama codec (proto/ollama*.c).
 *
 * The input is tried as a request body, a response body, an error body and
 * an NDJSON stream. A request that decodes is encoded again and our own output
 * must decode; a response that decodes is encoded again likewise (as a chat
 * and as a generate answer). The input is also tried as an /api/generate
 * body. The stream is decoded whole and in pieces seeded by the first
 * byte: both runs must give the same events and status; every event also
 * goes through the collector and an Ollama stream encoder, whose output
 * must decode. */
#include <stdint.h>
#include <string.h>

#include "proto/codec.h"
#include "proto/ollama.h"

#define CODEC lx_codec_ollama

typedef struct {
    lx_buf log;
    lx_stream_encoder *enc;
    lx_buf enc_out;
    lx_collector col;
} sink;

static lx_status on_event(void *ud, const lx_event *ev)
{
    sink *s = ud;
    if (lx_buf_printf(&s->log, "%d:%d:%s:%s:%s:%s:%lld:%lld:%lld:%lld:%d|", (int)ev->kind,
                      ev->index, ev->id ? ev->id : "", ev->model ? ev->model : "",
                      ev->name ? ev->name : "", ev->signature ? ev->signature : "",
                      (long long)ev->usage.input, (long long)ev->usage.cache_read,
                      (long long)ev->usage.output, (long long)ev->usage.reasoning,
                      (int)ev->finish) != LX_OK)
        return LX_ERR_NOMEM;
    if (ev->text && lx_buf_append(&s->log, ev->text, ev->len) != LX_OK)
        return LX_ERR_NOMEM;
    if (s->enc)
        (void)s->enc->event(s->enc, ev, &s->enc_out);
    (void)lx_collector_event(&s->col, ev);
    return LX_OK;
}

static lx_status run_stream(const char *d, size_t n, unsigned seed, sink *s, lx_error *err)
{
    lx_stream_decoder *dec = CODEC.stream_decoder_new(on_event, s);
    if (!dec)
        return LX_ERR_NOMEM;
    lx_status st = LX_OK;
    for (size_t i = 0; i < n && st == LX_OK;) {
        size_t k = n;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % 23;
        }
        if (k > n - i)
            k = n - i;
        st = dec->feed(dec, d + i, k, err);
        i += k;
    }
    if (st == LX_OK)
        st = dec->finish(dec, err);
    dec->free(dec);
    return st;
}

static void sink_init(sink *s, bool with_encoder)
{
    memset(s, 0, sizeof *s);
    lx_buf_init(&s->log, 0);
    lx_buf_init(&s->enc_out, 0);
    lx_collector_init(&s->col);
    if (with_encoder)
        s->enc = CODEC.stream_encoder_new(&(lx_codec_opts){.model = "m"});
}

static void sink_free(sink *s)
{
    if (s->enc)
        s->enc->free(s->enc);
    lx_buf_free(&s->log);
    lx_buf_free(&s->enc_out);
    lx_collector_free(&s->col);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    lx_codec_opts o = {.model = "llama-x"};
    lx_buf out;
    lx_buf_init(&out, 0);

    lx_request *r = NULL;
    if (CODEC.request_decode(s, size, &r, NULL) == LX_OK) {
        lx_request *again = NULL;
        if (CODEC.request_encode(r, &o, &out, NULL) == LX_OK &&
            CODEC.request_decode(out.data, out.len, &again, NULL) != LX_OK)
            __builtin_trap(); /* our own output must decode */
        lx_request_free(again);
        lx_request_free(r);
    }
    r = NULL;
    lx_buf_reset(&out);
    if (lx_ollama_generate_decode(s, size, &r, NULL) == LX_OK) {
        lx_request *again = NULL;
        if (CODEC.request_encode(r, &o, &out, NULL) == LX_OK &&
            CODEC.request_decode(out.data, out.len, &again, NULL) != LX_OK)
            __builtin_trap();
        lx_request_free(again);
        lx_request_free(r);
    }

    lx_response *resp = NULL;
    lx_buf_reset(&out);
    if (CODEC.response_decode(s, size, &resp, NULL) == LX_OK) {
        lx_response *again = NULL;
        if (CODEC.response_encode(resp, &o, &out, NULL) == LX_OK &&
            CODEC.response_decode(out.data, out.len, &again, NULL) != LX_OK)
            __builtin_trap();
        lx_response_free(again);
        lx_buf_reset(&out);
        (void)lx_ollama_generate_response_encode(resp, &o, &out, NULL);
        lx_response_free(resp);
    }

    lx_error err;
    CODEC.error_decode(400, s, size, &err);

    if (size > 0) {
        sink a, b;
        lx_error ea, eb;
        sink_init(&a, true);
        sink_init(&b, false);
        lx_status sa = run_stream(s + 1, size - 1, 0, &a, &ea);
        lx_status sb = run_stream(s + 1, size - 1, data[0] | 1u, &b, &eb);
        if (sa != sb || a.log.len != b.log.len ||
            (a.log.len && memcmp(a.log.data, b.log.data, a.log.len) != 0))
            __builtin_trap(); /* splits must be invisible */
        if (sa == LX_OK) {
            /* what we encoded from a clean stream must decode cleanly */
            sink c;
            lx_error ec;
            sink_init(&c, false);
            if (run_stream(a.enc_out.data ? a.enc_out.data : "", a.enc_out.len, 0, &c, &ec) !=
                LX_OK)
                __builtin_trap();
            sink_free(&c);
        }
        sink_free(&a);
        sink_free(&b);
    }
    lx_buf_free(&out);
    return 0;
}
