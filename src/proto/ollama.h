/*
 * ollama.h — the Ollama native API codec (/api/chat, plus /api/generate on
 * the server side).
 *
 * The codec is `lx_codec_ollama` (proto/codec.h); it speaks /api/chat in
 * both directions. /api/generate, which Ollama clients also use, shares the
 * same stream decoder (its `response` lines are TEXT) and has its own server
 * side entry points below. It is split in two files:
 *   ollama.c       requests (both directions, chat and generate), http, errors;
 *   ollama_resp.c  whole responses and NDJSON streams (both directions).
 *
 * Ollama's native API has no tool-call ids: calls are matched to results by
 * `tool_name` and order, and decoded calls have a NULL id.
 */
#ifndef LX_PROTO_OLLAMA_H
#define LX_PROTO_OLLAMA_H

#include "core/types.h"
#include "proto/codec.h"

/* Decoding `think: true` gives this thinking_budget ("low" a quarter of it,
 * "high" twice it); Ollama itself takes no budget. */
#define LX_OLLAMA_THINK_BUDGET 8192

/* Decodes an /api/generate body {model, prompt, system, images, format,
 * options, stream (default true), raw, think} into a neutral request: one
 * SYSTEM message when `system` is set, then one USER message with the prompt
 * and images. `suffix`, `template` and `context` cannot be expressed and are
 * refused with LX_ERR_UNSUPPORTED naming the field; `raw` is accepted and
 * ignored (the prompt becomes a user message either way). Caller frees the
 * request with lx_request_free(). */
lx_status lx_ollama_generate_decode(const char *body, size_t len, lx_request **out, lx_error *err);

/* /api/generate answers: `response` (and `thinking`) instead of `message`;
 * tool calls have no place there and are left out. Same ownership rules as
 * the codec's response_encode / stream_encoder_new. */
lx_status lx_ollama_generate_response_encode(const lx_response *r, const lx_codec_opts *o,
                                             lx_buf *out, lx_error *err);
lx_stream_encoder *lx_ollama_generate_stream_encoder_new(const lx_codec_opts *o);

/* The codec's response and stream functions (ollama_resp.c); internal. */
lx_status lx_ollama_response_decode(const char *body, size_t len, lx_response **out, lx_error *err);
lx_status lx_ollama_response_encode(const lx_response *r, const lx_codec_opts *o, lx_buf *out,
                                    lx_error *err);
lx_stream_decoder *lx_ollama_stream_decoder_new(lx_event_fn sink, void *ud);
lx_stream_encoder *lx_ollama_stream_encoder_new(const lx_codec_opts *o);

#endif
