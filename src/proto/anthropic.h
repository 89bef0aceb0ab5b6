/*
 * anthropic.h — the Anthropic Messages dialect (lx_codec_anthropic).
 *
 * The codec itself is declared in proto/codec.h. This header holds what the
 * parts of the implementation share: anthropic.c (requests, codec table),
 * anthropic_response.c (whole responses, errors, HTTP) and
 * anthropic_stream.c (named-event SSE decoder and encoder).
 */
#ifndef LX_PROTO_ANTHROPIC_H
#define LX_PROTO_ANTHROPIC_H

#include <jansson.h>

#include "proto/codec.h"

/* end_turn|stop_sequence -> STOP, max_tokens -> LENGTH, tool_use ->
 * TOOL_CALLS, refusal -> CONTENT_FILTER, pause_turn and unknown -> OTHER,
 * NULL -> NONE. */
lx_finish lx_anthropic_finish_from(const char *reason);
/* The inverse; `stop_sequence` when f is STOP and a stop sequence is known. */
const char *lx_anthropic_finish_to(lx_finish f, const char *stop_sequence);

/* Reads the fields of a wire `usage` object that are present into u, leaving
 * the others as they are (stream events carry partial usage): input_tokens
 * -> input, cache_read_input_tokens -> cache_read,
 * cache_creation_input_tokens -> cache_write, output_tokens -> output
 * (thinking is inside output_tokens; reasoning stays 0). */
lx_status lx_anthropic_usage_from(const json_t *usage, const char *ctx, lx_usage *u, lx_error *err);
/* New reference to a wire usage object; output_tokens = output + reasoning. */
json_t *lx_anthropic_usage_to(const lx_usage *u);

/* Appends a JSON rendering of an lx_part list as Anthropic content blocks
 * (text, thinking/redacted_thinking, tool_use with `input` parsed from the
 * arguments). Invalid argument JSON is LX_ERR_INVALID naming `ctx`. */
lx_status lx_anthropic_blocks_out(const lx_part *parts, size_t n, const char *ctx, json_t *arr,
                                  lx_error *err);

/* The codec's entries implemented in anthropic_response.c. */
lx_status lx_anthropic_response_decode(const char *body, size_t len, lx_response **out,
                                       lx_error *err);
lx_status lx_anthropic_response_encode(const lx_response *r, const lx_codec_opts *o, lx_buf *out,
                                       lx_error *err);
void lx_anthropic_error_decode(int http_status, const char *body, size_t len, lx_error *err);
lx_status lx_anthropic_error_encode(const lx_error *e, int *http_status, lx_buf *out);
lx_status lx_anthropic_http_prepare(const lx_codec_opts *o, lx_buf *url, lx_buf *headers,
                                    lx_error *err);

/* Stream halves (anthropic_stream.c); NULL on out of memory. */
lx_stream_decoder *lx_anthropic_stream_decoder_new(lx_event_fn sink, void *ud);
lx_stream_encoder *lx_anthropic_stream_encoder_new(const lx_codec_opts *o);

#endif
