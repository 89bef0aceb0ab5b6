/*
 * gemini.h — the Google Gemini (Generative Language API, v1beta) codec.
 *
 * The codec itself is `lx_codec_gemini` (proto/codec.h). It is split in
 * three files:
 *   gemini.c         request encoding, http_prepare, errors, the table;
 *   gemini_decode.c  request decoding and the part decoder;
 *   gemini_resp.c    whole responses (both directions), the stream encoder;
 *   gemini_stream.c  the stream decoder.
 * The declarations below are the few pieces the two halves share; they are
 * not meant for the rest of llmux.
 *
 * Thought signatures. Gemini attaches an opaque `thoughtSignature` to a part
 * (a function call, a text part, or an empty thought part) and wants it back
 * on the same place in later turns. In the neutral types a signature always
 * lives on a THINKING part and belongs to the Gemini part that follows that
 * thinking. Decoding: a thought part keeps its own signature; a signature on
 * any other part goes to the THINKING part just before it when that one has
 * none, else to a new empty THINKING part inserted before it. Encoding is the
 * inverse: a THINKING part's text becomes a `{text, thought:true}` part (none
 * when empty) and its signature is put on the next part of the same model
 * turn, or on an empty `{text:""}` part when the turn ends first.
 */
#ifndef LX_PROTO_GEMINI_H
#define LX_PROTO_GEMINI_H

#include <jansson.h>

#include "core/types.h"
#include "proto/codec.h"

/* Signature value telling Gemini not to validate a replayed function call
 * (see gemini.c); never surfaces in decoded requests or responses. */
#define LX_GEMINI_SKIP_SIGNATURE "skip_thought_signature_validator"

/* thinkingBudget -1 ("dynamic") is decoded as this many tokens. */
#define LX_GEMINI_DYNAMIC_BUDGET 8192

/* One decoded Gemini part, before it is placed in a message or response. */
typedef enum {
    LX_GPART_EMPTY,    /* no content (e.g. {text:""}); may still carry a signature */
    LX_GPART_TEXT,     /* part.text */
    LX_GPART_THOUGHT,  /* part.text with thought:true */
    LX_GPART_CALL,     /* part.id, name, arguments */
    LX_GPART_RESPONSE, /* part.id, name, text, is_error */
    LX_GPART_IMAGE,    /* part.data + media_type, or part.url (+ media_type) */
} lx_gpart_kind;

typedef struct lx_gpart {
    lx_gpart_kind kind;
    lx_part part;    /* fields per kind; strings live in the arena given */
    char *signature; /* thoughtSignature, NULL when absent */
} lx_gpart;

/* Decodes one element of a `parts` array; ctx names it in errors
 * ("contents[1].parts[0]"). Strings are copied into `a`. */
lx_status lx_gemini_part_decode(lx_arena *a, const json_t *p, const char *ctx, lx_gpart *out,
                                lx_error *err);

/* Where decoded parts go: `add` appends a part, `at` returns part i of the
 * current list (pointers are only valid until the next add). */
typedef struct lx_gpart_sink {
    lx_part *(*add)(void *ud, lx_part_kind kind);
    lx_part *(*at)(void *ud, size_t i);
    size_t (*count)(void *ud);
    void *ud;
} lx_gpart_sink;

/* Places a decoded part (not RESPONSE) in the sink, applying the signature
 * rule above. Empty parts only contribute their signature. */
lx_status lx_gemini_part_place(lx_arena *a, const lx_gpart *g, const lx_gpart_sink *s);

/* Fills err (code LX_ERR_UPSTREAM, provider "gemini", type = status) from an
 * `error` object {code, message, status}. */
void lx_gemini_error_fill(const json_t *error, int http_status, lx_error *err);

/* The codec's request_decode (gemini_decode.c). */
lx_status lx_gemini_request_decode(const char *body, size_t len, lx_request **out, lx_error *err);

/* Pieces of gemini_resp.c the stream decoder shares: finishReason mapping
 * (STOP is TOOL_CALLS when calls were made), usageMetadata reading, the
 * error for a body without candidates (blocked prompt: LX_ERR_UPSTREAM type
 * "blocked"), and turning LX_ERR_INVALID into LX_ERR_PROTO for answers. */
lx_finish lx_gemini_finish_from(const char *reason, bool calls);
lx_status lx_gemini_usage_decode(const json_t *um, lx_usage *u, lx_error *err);
lx_status lx_gemini_no_candidates(const json_t *root, lx_error *err);
lx_status lx_gemini_as_proto(lx_status s, lx_error *err);

/* The codec's response and stream functions (gemini_resp.c, gemini_stream.c). */
lx_status lx_gemini_response_decode(const char *body, size_t len, lx_response **out, lx_error *err);
lx_status lx_gemini_response_encode(const lx_response *r, const lx_codec_opts *o, lx_buf *out,
                                    lx_error *err);
lx_stream_decoder *lx_gemini_stream_decoder_new(lx_event_fn sink, void *ud);
lx_stream_encoder *lx_gemini_stream_encoder_new(const lx_codec_opts *o);

#endif
