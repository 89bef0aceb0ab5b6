/* libFuzzer target: the Anthropic Messages codec (proto/anthropic*.c).
 *
 * The input is tried as a request body, a response body, an error body and
 * a stream. Whatever decodes is encoded again (in this dialect and the
 * other one) to reach the encoders. The stream is decoded whole and in
 * pieces seeded by the first byte: both runs must give the same events and
 * status, and every event is also pushed through a stream encoder. */
#include <stdint.h>
#include <string.h>

#include "proto/codec.h"

#define CODEC lx_codec_anthropic
#define OTHER lx_codec_openai

typedef struct {
    lx_buf log;
    lx_stream_encoder *enc;
    lx_buf enc_out;
} sink;

static lx_status on_event(void *ud, const lx_event *ev)
{
    sink *s = ud;
    if (lx_buf_printf(&s->log, "%d:%d:%s:%s:%s:%lld:%lld:%d|", (int)ev->kind, ev->index,
                      ev->id ? ev->id : "", ev->name ? ev->name : "",
                      ev->signature ? ev->signature : "", (long long)ev->usage.input,
                      (long long)ev->usage.output, (int)ev->finish) != LX_OK)
        return LX_ERR_NOMEM;
    if (ev->text && lx_buf_append(&s->log, ev->text, ev->len) != LX_OK)
        return LX_ERR_NOMEM;
    if (s->enc)
        (void)s->enc->event(s->enc, ev, &s->enc_out); /* may refuse bad UTF-8; must not crash */
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
            k = 3 + (seed >> 16) % 29;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    lx_codec_opts o = {.model = "m", .stream = true, .include_usage = true};
    lx_buf out;
    lx_buf_init(&out, 0);

    lx_request *r = NULL;
    if (CODEC.request_decode(s, size, &r, NULL) == LX_OK) {
        lx_request *again = NULL;
        if (CODEC.request_encode(r, &o, &out, NULL) == LX_OK &&
            CODEC.request_decode(out.data, out.len, &again, NULL) != LX_OK)
            __builtin_trap(); /* our own output must decode */
        lx_request_free(again);
        lx_buf_reset(&out);
        (void)OTHER.request_encode(r, &o, &out, NULL);
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
        (void)OTHER.response_encode(resp, &o, &out, NULL);
        lx_response_free(resp);
    }

    lx_error e;
    CODEC.error_decode(500, s, size, &e);
    lx_buf_reset(&out);
    (void)CODEC.error_encode(&e, NULL, &out);

    if (size > 0) {
        sink whole = {0}, split = {0};
        lx_buf_init(&whole.log, 0);
        lx_buf_init(&split.log, 0);
        lx_buf_init(&whole.enc_out, 0);
        whole.enc = CODEC.stream_encoder_new(&o);
        lx_error e1 = {0}, e2 = {0};
        lx_status a = run_stream(s + 1, size - 1, 0, &whole, &e1);
        lx_status b = run_stream(s + 1, size - 1, data[0] | 1u, &split, &e2);
        if (a != b || whole.log.len != split.log.len ||
            (whole.log.len && memcmp(whole.log.data, split.log.data, whole.log.len) != 0))
            __builtin_trap();
        if (whole.enc)
            whole.enc->free(whole.enc);
        lx_buf_free(&whole.log);
        lx_buf_free(&split.log);
        lx_buf_free(&whole.enc_out);
    }
    lx_buf_free(&out);
    return 0;
}
