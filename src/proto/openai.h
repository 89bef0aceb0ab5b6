/*
 * openai.h — the OpenAI Chat Completions dialect (lx_codec_openai).
 *
 * The codec itself is declared in proto/codec.h. This header holds what the
 * parts of the implementation share: openai.c (requests, codec table),
 * openai_response.c (whole responses, errors, HTTP) and openai_stream.c
 * (SSE chunk decoder and encoder). The same dialect is spoken by vLLM, llama.cpp server, Groq,
 * Mistral, OpenRouter and Ollama's /v1 layer.
 */
#ifndef LX_PROTO_OPENAI_H
#define LX_PROTO_OPENAI_H

#include <jansson.h>

#include "proto/codec.h"

/* "stop" -> LX_FINISH_STOP, ...; NULL -> LX_FINISH_NONE; unknown -> OTHER. */
lx_finish lx_openai_finish_from(const char *reason);
/* LX_FINISH_* -> wire name; NULL for LX_FINISH_NONE. */
const char *lx_openai_finish_to(lx_finish f);

/* Reads a wire `usage` object into non-overlapping neutral counters:
 * input = prompt_tokens - cached_tokens, output = completion_tokens -
 * reasoning_tokens. Wrong types are LX_ERR_PROTO naming `ctx`.usage.* */
lx_status lx_openai_usage_from(const json_t *usage, const char *ctx, lx_usage *out, lx_error *err);
/* New reference to the wire `usage` object for u; NULL on out of memory. */
json_t *lx_openai_usage_to(const lx_usage *u);
/* Appends that object's compact JSON text (what lx_json_dump writes for
 * lx_openai_usage_to(u)), without jansson. */
lx_status lx_openai_usage_write(lx_buf *out, const lx_usage *u);

/* Text of a `content` value given as a string, null or an array of text
 * parts, joined into the arena; LX_ERR_INVALID naming `ctx`.content. */
lx_status lx_openai_text_content(lx_arena *a, const json_t *c, const char *ctx, char **out,
                                 lx_error *err);

/* The codec's entries implemented in openai_response.c. */
lx_status lx_openai_response_decode(const char *body, size_t len, lx_response **out, lx_error *err);
lx_status lx_openai_response_encode(const lx_response *r, const lx_codec_opts *o, lx_buf *out,
                                    lx_error *err);
/* The jansson implementation the encoder above was written against: same
 * contract, same bytes (tests/unit/test_openai_write.c proves it). Kept as
 * the reference for tests, fuzz targets and benchmarks, and for the replies
 * the hand-written encoder passes on. */
lx_status lx_openai_response_encode_jansson(const lx_response *r, const lx_codec_opts *o,
                                            lx_buf *out, lx_error *err);
void lx_openai_error_decode(int http_status, const char *body, size_t len, lx_error *err);
lx_status lx_openai_error_encode(const lx_error *e, int *http_status, lx_buf *out);
lx_status lx_openai_http_prepare(const lx_codec_opts *o, lx_buf *url, lx_buf *headers,
                                 lx_error *err);

/* The common stream chunk read without jansson (openai_fast.c): a text
 * delta, a role chunk, a finish chunk or a usage chunk with only the usual
 * metadata keys. Returns true when s[0..n) is exactly that shape (the file
 * comment lists it) and filled `c`; false means "not handled", never
 * "invalid": the caller then parses with jansson. `buf` (caller's, at least
 * n + 1 bytes) receives the decoded, NUL-terminated strings `c` points at
 * (NULL: key absent or null), which hold the same bytes jansson would
 * decode. */
typedef struct lx_openai_fast_chunk {
    const char *id, *model;
    const char *content; /* choices[0].delta.content */
    size_t content_len;
    const char *thinking; /* delta.reasoning_content, else delta.reasoning */
    size_t thinking_len;
    /* delta.tool_calls: [] or one fragment {index?, id?, type?, function?:
     * {name?, arguments?}} (has_tool); tool_name as the TOOL_START event
     * gets it: "" without a name key, NULL for a null one */
    bool has_tool, tool_has_index;
    int64_t tool_index;
    const char *tool_id, *tool_name, *tool_args;
    size_t tool_args_len;
    const char *finish_reason; /* choices[0].finish_reason */
    bool has_usage;            /* a usage object: `usage` as lx_openai_usage_from reads it */
    lx_usage usage;
} lx_openai_fast_chunk;
bool lx_openai_fast_parse(const char *s, size_t n, char *buf, lx_openai_fast_chunk *c);

/* The common whole response read without jansson (openai_fast.c): one
 * choice whose message has text, refusal, reasoning and up to 16 tool calls
 * (arguments as a string), and the usual metadata and usage. True: *out is the response
 * lx_openai_response_decode_jansson would return for s[0..n) (caller frees
 * it). False: not handled (or out of memory), nothing allocated; parse it
 * with jansson. */
bool lx_openai_fast_response(const char *s, size_t n, lx_response **out);
lx_status lx_openai_response_decode_jansson(const char *body, size_t len, lx_response **out,
                                            lx_error *err);

/* Test-only switch: stream decoders and encoders created after
 * lx_openai_fast_enable(false) never use the hand-written readers and
 * writers (every chunk goes through jansson), so tests, fuzz targets and
 * benchmarks can compare both paths. On by default; not thread-safe (flip
 * it only while no decoder or encoder is being created). */
void lx_openai_fast_enable(bool on);

/* Stream halves (openai_stream.c); NULL on out of memory. */
lx_stream_decoder *lx_openai_stream_decoder_new(lx_event_fn sink, void *ud);
lx_stream_encoder *lx_openai_stream_encoder_new(const lx_codec_opts *o);

/* ---- the request path without jansson (openai_req_fast.c) ----
 * lx_openai_req_encode_fast appends to `out` the body the jansson encoder
 * would write for r (`model` non-empty) and returns true, or returns false
 * with `out` unchanged ("not handled": a string lx_request_check_utf8
 * refuses, tool parameters jansson cannot parse, ...; the caller then runs
 * the check and the jansson encoder, which report the error).
 * lx_openai_req_decode_fast returns true with *out a new request (caller
 * frees) equal to what the jansson decoder builds for the body, or false
 * ("not handled", never an error: the caller then decodes with jansson).
 * lx_openai_req_fast_enable(false) (test-only, not thread-safe) makes both
 * return false. lx_openai_req_same compares two requests field by field;
 * false with the first difference named in why[cap]. */
bool lx_openai_req_encode_fast(const lx_request *r, const char *model, const lx_codec_opts *o,
                               lx_buf *out);
bool lx_openai_req_decode_fast(const char *body, size_t len, lx_request **out);
void lx_openai_req_fast_enable(bool on);
bool lx_openai_req_same(const lx_request *a, const lx_request *b, char *why, size_t cap);

#endif
