/*
 * codec.h — the contract every wire dialect implements, in both directions.
 *
 * One codec serves both sides of llmux:
 *   server side: decode a caller's request, encode our answer (whole or as a
 *                stream) and our errors in the caller's dialect;
 *   client side: encode a request for a provider, decode its answer (whole
 *                or streamed) and its errors.
 *
 * Stream decoders are fed raw body bytes as they arrive (any split, down to
 * one byte at a time) and call the sink with lx_events at once: a token
 * appears at the sink when its bytes arrive. Decoders emit START, TEXT,
 * THINKING, TOOL_*, USAGE and, when the dialect's terminator arrives, FINISH.
 * They never emit ERROR themselves: a failure (malformed chunk, an error
 * event from the provider, a stream cut before its terminator) is returned as
 * a status with `err` filled, and the caller decides (retry, fail over, or
 * tell its own caller). On a stream that ended without its terminator,
 * finish() first emits the USAGE known so far, then returns LX_ERR_PROTO.
 *
 * Stream encoders turn lx_events into the dialect's bytes, appended to `out`;
 * ERROR events become the dialect's in-stream error.
 *
 * Ownership: decode functions return new objects the caller frees
 * (lx_request_free, lx_response_free, decoder->free). Encoders append to a
 * caller-owned lx_buf. Nothing here logs or prints API keys.
 */
#ifndef LX_PROTO_CODEC_H
#define LX_PROTO_CODEC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/types.h"

typedef struct lx_codec_opts {
    const char *model;          /* model name as put on the wire (no provider prefix) */
    bool stream;                /* request a stream / encode a stream */
    bool include_usage;         /* OpenAI streams: ask for / emit the usage chunk */
    int64_t num_ctx;            /* Ollama: context window, always sent when > 0 */
    int64_t default_max_tokens; /* Anthropic: used when the request sets none */
    const char *id;             /* id for encoded responses; NULL: generated */
    const char *base_url;       /* provider base URL, for http_prepare */
    const char *api_key;        /* secret, for http_prepare; may be NULL */
} lx_codec_opts;

typedef struct lx_stream_decoder lx_stream_decoder;
struct lx_stream_decoder {
    /* Feeds body bytes. LX_OK, or an error with err filled; a sink refusal
     * is returned as the sink's status. After an error, stop feeding. */
    lx_status (*feed)(lx_stream_decoder *d, const char *data, size_t len, lx_error *err);
    /* The body ended. LX_OK when the stream was complete (FINISH emitted). */
    lx_status (*finish)(lx_stream_decoder *d, lx_error *err);
    void (*free)(lx_stream_decoder *d);
};

typedef struct lx_stream_encoder lx_stream_encoder;
struct lx_stream_encoder {
    lx_status (*event)(lx_stream_encoder *e, const lx_event *ev, lx_buf *out);
    void (*free)(lx_stream_encoder *e);
};

typedef struct lx_codec {
    const char *name; /* "openai", "anthropic", "gemini", "ollama" */

    /* ---- server side ---- */
    lx_status (*request_decode)(const char *body, size_t len, lx_request **out, lx_error *err);
    lx_status (*response_encode)(const lx_response *r, const lx_codec_opts *o, lx_buf *out,
                                 lx_error *err);
    /* NULL on out of memory; caller frees with ->free */
    lx_stream_encoder *(*stream_encoder_new)(const lx_codec_opts *o);
    /* HTTP status suggested for an error, and its body in this dialect. */
    lx_status (*error_encode)(const lx_error *e, int *http_status, lx_buf *out);
    /* Content-Type of this dialect's streams ("text/event-stream", ...). */
    const char *stream_content_type;

    /* ---- client side ---- */
    lx_status (*request_encode)(const lx_request *r, const lx_codec_opts *o, lx_buf *out,
                                lx_error *err);
    /* Full URL (base_url + the dialect's path for o->model and o->stream)
     * and request headers, one "Name: value" per line ending in "\n",
     * including Content-Type and auth. */
    lx_status (*http_prepare)(const lx_codec_opts *o, lx_buf *url, lx_buf *headers,
                              lx_error *err);
    lx_status (*response_decode)(const char *body, size_t len, lx_response **out, lx_error *err);
    /* NULL on out of memory; caller frees with ->free */
    lx_stream_decoder *(*stream_decoder_new)(lx_event_fn sink, void *ud);
    /* Fills err from a non-2xx answer (http_status, type, message); never
     * fails: unreadable bodies give a message quoting their start. */
    void (*error_decode)(int http_status, const char *body, size_t len, lx_error *err);
} lx_codec;

extern const lx_codec lx_codec_openai;
extern const lx_codec lx_codec_anthropic;
extern const lx_codec lx_codec_gemini;
extern const lx_codec lx_codec_ollama;

/* Looks up a codec by name; NULL when unknown. */
const lx_codec *lx_codec_find(const char *name);

#endif
