/* libFuzzer target: the OpenAI request path without jansson
 * (proto/openai_req_fast.c) against the jansson code in proto/openai.c.
 *
 * The input is a caller's request body. It is decoded with the fast path on
 * and off (lx_openai_req_fast_enable): status, error message, type and the
 * decoded request (lx_openai_req_same) must be identical. When it decoded,
 * the request is encoded for the upstream with the fast encoder on and off,
 * with the last input byte choosing the lx_codec_opts (model override,
 * stream), then again with the raw input put in as the user, the first
 * part's text or a stop string (bits 2-3): same status, message and bytes.
 * Any difference: __builtin_trap().
 * The fast decoder is also called directly on an exact-size heap copy, so an
 * overrun shows under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/openai.h"

static void encode_both(const lx_request *r, const lx_codec_opts *o)
{
    lx_buf a, b;
    lx_error ea = {0}, eb = {0};
    lx_buf_init(&a, 0);
    lx_buf_init(&b, 0);
    lx_status sa = lx_codec_openai.request_encode(r, o, &a, &ea);
    lx_openai_req_fast_enable(false);
    lx_status sb = lx_codec_openai.request_encode(r, o, &b, &eb);
    lx_openai_req_fast_enable(true);
    if (sa != sb || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0) ||
        (sa != LX_OK && strcmp(ea.message, eb.message) != 0))
        __builtin_trap();
    lx_buf_free(&a);
    lx_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    lx_request *f = NULL;
    if (lx_openai_req_decode_fast(copy, size, &f))
        lx_request_free(f);

    lx_request *a = NULL, *b = NULL;
    lx_error ea = {0}, eb = {0};
    lx_status sa = lx_codec_openai.request_decode(copy, size, &a, &ea);
    lx_openai_req_fast_enable(false);
    lx_status sb = lx_codec_openai.request_decode(copy, size, &b, &eb);
    lx_openai_req_fast_enable(true);
    if (sa != sb)
        __builtin_trap();
    if (sa != LX_OK) {
        if (strcmp(ea.message, eb.message) != 0 || strcmp(ea.type, eb.type) != 0 || a || b)
            __builtin_trap();
    } else {
        char why[160];
        if (!lx_openai_req_same(a, b, why, sizeof why))
            __builtin_trap();
        unsigned sel = size ? data[size - 1] : 0;
        lx_codec_opts o = {.model = sel & 1 ? "gpt-4o-mini" : NULL, .stream = (sel & 2) != 0};
        encode_both(a, &o);
        encode_both(a, NULL);
        /* the raw input (often not UTF-8) as a string the encoder checks,
         * or as earlier model output it repairs, or as a stop string */
        char *raw = lx_arena_strndup(a->arena, copy, size);
        if (raw && (sel & 12)) {
            if (sel & 4)
                a->user = raw;
            if ((sel & 8) && a->n_messages && a->messages[0].n_parts)
                a->messages[0].parts[0].text = raw;
            if ((sel & 12) == 12)
                (void)lx_request_add_stop(a, raw);
            encode_both(a, &o);
        }
    }
    lx_request_free(a);
    lx_request_free(b);
    free(copy);
    return 0;
}
