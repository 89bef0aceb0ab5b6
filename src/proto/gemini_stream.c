/*
 * gemini_stream.c — the Gemini stream decoder (client side).
 *
 * Body: SSE events `data: <GenerateContentResponse>` (streamGenerateContent
 * with alt=sse), each carrying the next parts of candidates[0]; there is no
 * terminator: the chunk with finishReason (usually with the final
 * usageMetadata) is the last. An error after HTTP 200 is a chunk
 * {"error": {code, message, status}}; a blocked prompt is a chunk without
 * candidates and with promptFeedback.blockReason.
 *
 * Events: START on the first chunk (id = responseId, model = modelVersion);
 * then per part, at once: TEXT, THINKING (thought text), and for a function
 * call (always whole) TOOL_START + TOOL_ARGS (the whole args JSON) +
 * TOOL_END with consecutive indexes. A thought signature on a non-thought
 * part is a THINKING event with the signature alone, sent before that part's
 * events (see gemini.h). usageMetadata and finishReason are remembered (the
 * latest wins); finish() sends USAGE, then FINISH when a finishReason was
 * seen (STOP becomes TOOL_CALLS when calls were made), else returns
 * LX_ERR_PROTO. Error chunks are LX_ERR_UPSTREAM with type = status;
 * unreadable chunks are LX_ERR_PROTO naming the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/gemini.h"
#include "proto/json.h"
#include "proto/sse.h"

/* ---- stream decoder ----------------------------------------------------- */

typedef struct {
    lx_stream_decoder base;
    lx_sse_parser sse;
    lx_event_fn sink;
    void *ud;
    bool started, stopped, have_usage, calls;
    int n_tools;
    lx_usage usage;
    char finish[40]; /* last finishReason, "" when none */
} gdec;

static lx_status emit(gdec *d, lx_event *ev)
{
    lx_status s = d->sink(d->ud, ev);
    if (s != LX_OK)
        d->stopped = true;
    return s;
}

static lx_status emit_part(gdec *d, const lx_gpart *g)
{
    lx_status s;
    lx_event ev = {.kind = LX_EV_THINKING};
    if (g->kind == LX_GPART_THOUGHT) {
        ev.text = g->part.text;
        ev.len = strlen(g->part.text);
        ev.signature = g->signature;
        return emit(d, &ev);
    }
    if (g->signature) {
        ev.signature = g->signature;
        if ((s = emit(d, &ev)) != LX_OK)
            return s;
    }
    memset(&ev, 0, sizeof ev);
    switch (g->kind) {
    case LX_GPART_TEXT:
        ev.kind = LX_EV_TEXT;
        ev.text = g->part.text;
        ev.len = strlen(g->part.text);
        return emit(d, &ev);
    case LX_GPART_CALL:
        d->calls = true;
        ev.index = d->n_tools++;
        ev.kind = LX_EV_TOOL_START;
        ev.id = g->part.id;
        ev.name = g->part.name;
        if ((s = emit(d, &ev)) != LX_OK)
            return s;
        ev.kind = LX_EV_TOOL_ARGS;
        ev.id = ev.name = NULL;
        ev.text = g->part.arguments;
        ev.len = strlen(g->part.arguments);
        if ((s = emit(d, &ev)) != LX_OK)
            return s;
        ev.kind = LX_EV_TOOL_END;
        ev.text = NULL;
        ev.len = 0;
        return emit(d, &ev);
    default: /* images have no stream event; empty parts said their piece */
        return LX_OK;
    }
}

static lx_status chunk_parts(gdec *d, lx_arena *a, const json_t *cand, lx_error *err)
{
    json_t *content = json_object_get(cand, "content");
    if (!content || json_is_null(content))
        return LX_OK;
    if (!json_is_object(content))
        return lx_fail(err, LX_ERR_PROTO,
                       "stream chunk: candidates[0].content: expected an object");
    json_t *parts = json_object_get(content, "parts");
    if (!parts || json_is_null(parts))
        return LX_OK;
    if (!json_is_array(parts))
        return lx_fail(err, LX_ERR_PROTO,
                       "stream chunk: candidates[0].content.parts: expected an array");
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        char ctx[96];
        lx_gpart g;
        snprintf(ctx, sizeof ctx, "stream chunk: candidates[0].content.parts[%zu]", i);
        lx_status s = lx_gemini_part_decode(a, p, ctx, &g, err);
        if (s == LX_ERR_UNSUPPORTED)
            continue;
        if (s != LX_OK)
            return lx_gemini_as_proto(s, err);
        if (g.kind == LX_GPART_RESPONSE)
            return lx_fail(err, LX_ERR_PROTO, "%s: functionResponse in a model answer", ctx);
        if ((s = emit_part(d, &g)) != LX_OK)
            return s;
    }
    return LX_OK;
}

static lx_status on_chunk(gdec *d, const json_t *root, lx_arena *a, lx_error *err)
{
    lx_status s;
    json_t *e = json_object_get(root, "error");
    if (e && !json_is_null(e)) {
        if (json_is_object(e)) {
            lx_gemini_error_fill(e, 0, err);
        } else {
            lx_fail(err, LX_ERR_UPSTREAM, "%s",
                    json_is_string(e) ? json_string_value(e) : "Gemini reported an error");
            if (err)
                lx_strlcpy(err->provider, "gemini", sizeof err->provider);
        }
        return LX_ERR_UPSTREAM;
    }
    json_t *cands = json_object_get(root, "candidates");
    if (cands && !json_is_null(cands) && !json_is_array(cands))
        return lx_fail(err, LX_ERR_PROTO, "stream chunk: candidates: expected an array");
    json_t *cand = json_array_get(cands, 0);
    json_t *um = json_object_get(root, "usageMetadata");
    if (!cand && (json_object_get(json_object_get(root, "promptFeedback"), "blockReason") || !um ||
                  json_is_null(um)))
        return lx_gemini_no_candidates(root, err); /* blocked, or nothing at all */
    if (cand && !json_is_object(cand))
        return lx_fail(err, LX_ERR_PROTO, "stream chunk: candidates[0]: expected an object");
    if (!d->started) {
        char *id = NULL, *model = NULL;
        if ((s = lx_json_opt_str(a, root, "responseId", "stream chunk", &id, err)) != LX_OK ||
            (s = lx_json_opt_str(a, root, "modelVersion", "stream chunk", &model, err)) != LX_OK)
            return lx_gemini_as_proto(s, err);
        lx_event ev = {.kind = LX_EV_START, .id = id, .model = model};
        d->started = true;
        if ((s = emit(d, &ev)) != LX_OK)
            return s;
    }
    if (cand) {
        if ((s = chunk_parts(d, a, cand, err)) != LX_OK)
            return s;
        json_t *fr = json_object_get(cand, "finishReason");
        if (fr && !json_is_null(fr)) {
            if (!json_is_string(fr))
                return lx_fail(err, LX_ERR_PROTO,
                               "stream chunk: candidates[0].finishReason: expected a string");
            lx_strlcpy(d->finish, json_string_value(fr), sizeof d->finish);
        }
    }
    if (um && !json_is_null(um)) {
        lx_usage u;
        if ((s = lx_gemini_usage_decode(um, &u, err)) != LX_OK)
            return lx_gemini_as_proto(s, err);
        d->usage = u;
        d->have_usage = true;
    }
    return LX_OK;
}

static lx_status on_sse(void *ud, const lx_sse_event *ev, lx_error *err)
{
    gdec *d = ud;
    if (ev->data_len == 6 && memcmp(ev->data, "[DONE]", 6) == 0)
        return LX_OK;
    json_t *root = NULL;
    lx_status s = lx_json_parse(ev->data, ev->data_len, true, &root, err);
    if (s != LX_OK) {
        char msg[sizeof err->message];
        lx_strlcpy(msg, err ? err->message : "", sizeof msg);
        return lx_fail(err, LX_ERR_PROTO, "stream chunk: %s", msg);
    }
    lx_arena *a = lx_arena_new();
    s = a ? on_chunk(d, root, a, err) : LX_ERR_NOMEM;
    lx_arena_free(a);
    json_decref(root);
    return s;
}

static lx_status gdec_feed(lx_stream_decoder *base, const char *data, size_t len, lx_error *err)
{
    gdec *d = (gdec *)base;
    if (d->stopped)
        return lx_fail(err, LX_ERR_INTERNAL, "stream decoder fed after it stopped");
    lx_status s = lx_sse_feed(&d->sse, data, len, on_sse, d, err);
    if (s != LX_OK)
        d->stopped = true;
    return s;
}

static lx_status gdec_finish(lx_stream_decoder *base, lx_error *err)
{
    gdec *d = (gdec *)base;
    if (d->stopped)
        return lx_fail(err, LX_ERR_INTERNAL, "stream decoder finished after it stopped");
    lx_status s = lx_sse_finish(&d->sse, on_sse, d, NULL, err);
    if (s != LX_OK) {
        d->stopped = true;
        return s;
    }
    d->stopped = true;
    if (d->have_usage) {
        lx_event ev = {.kind = LX_EV_USAGE, .usage = d->usage};
        if ((s = d->sink(d->ud, &ev)) != LX_OK)
            return s;
    }
    if (!d->finish[0])
        return lx_fail(err, LX_ERR_PROTO,
                       "stream ended without finishReason (ended before the last chunk)");
    lx_event ev = {.kind = LX_EV_FINISH, .finish = lx_gemini_finish_from(d->finish, d->calls)};
    return d->sink(d->ud, &ev);
}

static void gdec_free(lx_stream_decoder *base)
{
    gdec *d = (gdec *)base;
    if (!d)
        return;
    lx_sse_free(&d->sse);
    free(d);
}

lx_stream_decoder *lx_gemini_stream_decoder_new(lx_event_fn sink, void *ud)
{
    gdec *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->base.feed = gdec_feed;
    d->base.finish = gdec_finish;
    d->base.free = gdec_free;
    d->sink = sink;
    d->ud = ud;
    lx_sse_init(&d->sse, 0);
    return &d->base;
}
