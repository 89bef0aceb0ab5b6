/* fuzz_codec.h — the harness the codec fuzz targets share (fuzz_openai,
 * fuzz_anthropic, fuzz_gemini, fuzz_ollama), header-only so that each target
 * stays one .c file.
 *
 * lx_fuzz_codec() tries one input every way a codec reads bytes:
 *   - as a request body: what decodes is encoded again, and our own output
 *     must decode (else __builtin_trap()); it is also encoded in the `other`
 *     dialect, when there is one, to reach that encoder;
 *   - as a response body: likewise;
 *   - as an error body: decoded, then encoded again;
 *   - as a stream (the input less its first byte): decoded whole and in
 *     pieces whose sizes are drawn from the first byte. Both runs must give
 *     the same events and status: splits must be invisible. Every event also
 *     goes through a collector and, in the whole run, a stream encoder of
 *     the same dialect; when the stream decoded cleanly and
 *     `check_reencoded_stream` is set, what that encoder wrote must decode
 *     cleanly too.
 * A dialect's extra entry points (Ollama's /api/generate) go through the
 * same request and response checks.
 *
 * Nothing here may crash, leak or trip a sanitizer on any input. */
#ifndef LX_FUZZ_CODEC_H
#define LX_FUZZ_CODEC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "proto/codec.h"

typedef lx_status (*lx_fuzz_request_decode_fn)(const char *body, size_t len, lx_request **out,
                                               lx_error *err);
typedef lx_status (*lx_fuzz_response_encode_fn)(const lx_response *r, const lx_codec_opts *o,
                                                lx_buf *out, lx_error *err);

typedef struct {
    const lx_codec *codec;
    const lx_codec *other;                          /* second dialect to encode into; NULL: none */
    lx_codec_opts opts;                             /* for every encoder */
    int error_http;                                 /* the status error bodies are decoded with */
    size_t min_piece, max_piece;                    /* sizes of the stream's random pieces */
    bool check_reencoded_stream;                    /* a clean stream, encoded again, must decode */
    lx_fuzz_request_decode_fn extra_request_decode; /* NULL: none */
    lx_fuzz_response_encode_fn extra_response_encode; /* NULL: none */
} lx_fuzz_codec_spec;

typedef struct {
    lx_buf log;
    lx_stream_encoder *enc; /* NULL: events are not encoded */
    lx_buf enc_out;
    lx_collector col;
} lx_fuzz_sink;

/* Logs every field of an event, feeds it to the encoder and the collector.
 * An encoder may refuse an event (bad UTF-8, an event out of order); it
 * must not crash. */
static inline lx_status lx_fuzz_on_event(void *ud, const lx_event *ev)
{
    lx_fuzz_sink *s = ud;
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

static inline void lx_fuzz_sink_init(lx_fuzz_sink *s, const lx_fuzz_codec_spec *spec,
                                     bool with_encoder)
{
    memset(s, 0, sizeof *s);
    lx_buf_init(&s->log, 0);
    lx_buf_init(&s->enc_out, 0);
    (void)lx_collector_init(&s->col);
    if (with_encoder)
        s->enc = spec->codec->stream_encoder_new(&spec->opts);
}

static inline void lx_fuzz_sink_free(lx_fuzz_sink *s)
{
    if (s->enc)
        s->enc->free(s->enc);
    lx_buf_free(&s->log);
    lx_buf_free(&s->enc_out);
    lx_collector_free(&s->col);
}

/* Decodes `d` whole (seed 0) or in pieces of min_piece..max_piece bytes
 * drawn from `seed`. */
static inline lx_status lx_fuzz_run_stream(const lx_fuzz_codec_spec *spec, const char *d, size_t n,
                                           unsigned seed, lx_fuzz_sink *s, lx_error *err)
{
    lx_stream_decoder *dec = spec->codec->stream_decoder_new(lx_fuzz_on_event, s);
    if (!dec)
        return LX_ERR_NOMEM;
    lx_status st = LX_OK;
    for (size_t i = 0; i < n && st == LX_OK;) {
        size_t k = n;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            k = spec->min_piece + (seed >> 16) % (spec->max_piece - spec->min_piece + 1);
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

/* A request that `decode` takes is encoded again; our own output must decode. */
static inline void lx_fuzz_request(const lx_fuzz_codec_spec *spec, lx_fuzz_request_decode_fn decode,
                                   const char *s, size_t size, lx_buf *out)
{
    lx_request *r = NULL;
    lx_buf_reset(out);
    if (decode(s, size, &r, NULL) != LX_OK)
        return;
    lx_request *again = NULL;
    if (spec->codec->request_encode(r, &spec->opts, out, NULL) == LX_OK &&
        spec->codec->request_decode(out->data, out->len, &again, NULL) != LX_OK)
        __builtin_trap(); /* our own output must decode */
    lx_request_free(again);
    if (spec->other) {
        lx_buf_reset(out);
        (void)spec->other->request_encode(r, &spec->opts, out, NULL);
    }
    lx_request_free(r);
}

/* A response that decodes is encoded again; our own output must decode. */
static inline void lx_fuzz_response(const lx_fuzz_codec_spec *spec, const char *s, size_t size,
                                    lx_buf *out)
{
    lx_response *resp = NULL;
    lx_buf_reset(out);
    if (spec->codec->response_decode(s, size, &resp, NULL) != LX_OK)
        return;
    lx_response *again = NULL;
    if (spec->codec->response_encode(resp, &spec->opts, out, NULL) == LX_OK &&
        spec->codec->response_decode(out->data, out->len, &again, NULL) != LX_OK)
        __builtin_trap();
    lx_response_free(again);
    if (spec->other) {
        lx_buf_reset(out);
        (void)spec->other->response_encode(resp, &spec->opts, out, NULL);
    }
    if (spec->extra_response_encode) {
        lx_buf_reset(out);
        (void)spec->extra_response_encode(resp, &spec->opts, out, NULL);
    }
    lx_response_free(resp);
}

/* The stream checks: see the top of this file. */
static inline void lx_fuzz_stream(const lx_fuzz_codec_spec *spec, const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    const char *s = (const char *)data + 1;
    lx_fuzz_sink a, b;
    lx_error ea = {0}, eb = {0};
    lx_fuzz_sink_init(&a, spec, true);
    lx_fuzz_sink_init(&b, spec, false);
    lx_status sa = lx_fuzz_run_stream(spec, s, size - 1, 0, &a, &ea);
    lx_status sb = lx_fuzz_run_stream(spec, s, size - 1, data[0] | 1u, &b, &eb);
    if (sa != sb || a.log.len != b.log.len ||
        (a.log.len && memcmp(a.log.data, b.log.data, a.log.len) != 0))
        __builtin_trap(); /* splits must be invisible */
    if (sa == LX_OK && spec->check_reencoded_stream) {
        /* what we encoded from a clean stream must decode cleanly */
        lx_fuzz_sink c;
        lx_error ec = {0};
        lx_fuzz_sink_init(&c, spec, false);
        if (lx_fuzz_run_stream(spec, a.enc_out.data ? a.enc_out.data : "", a.enc_out.len, 0, &c,
                               &ec) != LX_OK)
            __builtin_trap();
        lx_fuzz_sink_free(&c);
    }
    lx_fuzz_sink_free(&a);
    lx_fuzz_sink_free(&b);
}

/* The whole harness; returns 0 as LLVMFuzzerTestOneInput must. */
static inline int lx_fuzz_codec(const lx_fuzz_codec_spec *spec, const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    lx_buf out;
    lx_buf_init(&out, 0);

    lx_fuzz_request(spec, spec->codec->request_decode, s, size, &out);
    if (spec->extra_request_decode)
        lx_fuzz_request(spec, spec->extra_request_decode, s, size, &out);
    lx_fuzz_response(spec, s, size, &out);

    lx_error e;
    spec->codec->error_decode(spec->error_http, s, size, &e);
    lx_buf_reset(&out);
    (void)spec->codec->error_encode(&e, NULL, &out);

    lx_fuzz_stream(spec, data, size);
    lx_buf_free(&out);
    return 0;
}

#endif
