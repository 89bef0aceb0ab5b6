/*
 * anthropic_stream.c — Anthropic Messages streams, both directions.
 *
 * Wire: SSE with named events; each event's name equals its JSON `type`:
 *
 *   event: message_start        {"type":"message_start","message":{"id":"msg_1",
 *                                "model":"m","content":[],"usage":{"input_tokens":9,
 *                                "cache_read_input_tokens":0,"output_tokens":1}}}
 *   event: content_block_start  {"index":0,"content_block":{"type":"text","text":""}}
 *   event: ping
 *   event: content_block_delta  {"index":0,"delta":{"type":"text_delta","text":"Hi"}}
 *   event: content_block_stop   {"index":0}
 *   event: content_block_start  {"index":1,"content_block":{"type":"tool_use",
 *                                "id":"toolu_1","name":"f","input":{}}}
 *   event: content_block_delta  {"index":1,"delta":{"type":"input_json_delta",
 *                                "partial_json":"{\"x\":"}}
 *   event: content_block_stop   {"index":1}
 *   event: message_delta        {"delta":{"stop_reason":"tool_use","stop_sequence":null},
 *                                "usage":{"output_tokens":30}}
 *   event: message_stop
 *   (or, after HTTP 200: event: error {"type":"error","error":{"type":
 *    "overloaded_error","message":"Overloaded"}})
 *
 * Decoder: message_start -> START and the input usage; text blocks -> TEXT
 * (a non-empty initial text too), tool_use blocks -> TOOL_START (index =
 * ordinal of tool calls in this message) / TOOL_ARGS / TOOL_END at
 * content_block_stop, thinking -> THINKING (signature_delta -> a THINKING
 * event carrying only the signature). Usage: output_tokens in message_delta
 * is cumulative and replaces; input/cache fields there replace those of
 * message_start. message_stop -> USAGE, FINISH. Unknown events and
 * citations_delta are ignored; redacted_thinking blocks are not carried
 * (events have no room for their data).
 *
 * Encoder: message_start at START, then blocks with increasing indexes:
 * a text or thinking block stays open until another kind of content comes;
 * tool_use blocks stay open until their TOOL_END, so argument fragments of
 * parallel calls (OpenAI interleaves them) go to their own block index.
 * FINISH closes what is open, then message_delta (stop_reason, usage) and
 * message_stop; ERROR becomes `event: error`. Text split inside a UTF-8
 * character is re-joined across events; invalid bytes become U+FFFD.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/anthropic.h"
#include "proto/callids.h"
#include "proto/json.h"
#include "core/utf8.h"
#include "proto/sse.h"

#define MAX_BLOCKS 4096

enum { BLK_OTHER, BLK_TEXT, BLK_TOOL, BLK_THINKING };

typedef struct {
    int64_t wire; /* block index on the wire */
    int kind;
    int tool; /* neutral tool index for BLK_TOOL */
    bool open;
} an_block;

/* ---- decoder ----------------------------------------------------------- */

typedef struct {
    lx_stream_decoder base;
    lx_sse_parser sse;
    lx_event_fn sink;
    void *ud;
    bool started, done, failed, has_usage;
    lx_status fail_status;
    lx_finish finish;
    char *stop_sequence;
    lx_usage usage;
    an_block *blocks;
    size_t n_blocks, cap_blocks;
    int n_tools;
} an_dec;

static lx_status emit(an_dec *d, lx_event ev)
{
    return d->sink(d->ud, &ev);
}

static an_block *find_block(an_dec *d, int64_t wire)
{
    for (size_t i = d->n_blocks; i-- > 0;)
        if (d->blocks[i].wire == wire)
            return &d->blocks[i];
    return NULL;
}

static lx_status get_index(const json_t *root, const char *ev, int64_t *out, lx_error *err)
{
    json_t *ix = json_object_get(root, "index");
    if (!json_is_integer(ix))
        return lx_fail(err, LX_ERR_PROTO, "%s.index: expected an integer", ev);
    *out = json_integer_value(ix);
    return LX_OK;
}

static lx_status block_start(an_dec *d, const json_t *root, lx_error *err)
{
    int64_t wire = 0;
    lx_status st = get_index(root, "content_block_start", &wire, err);
    if (st != LX_OK)
        return st;
    json_t *cb = json_object_get(root, "content_block");
    const char *type = json_string_value(json_object_get(cb, "type"));
    if (!json_is_object(cb) || !type)
        return lx_fail(err, LX_ERR_PROTO,
                       "content_block_start.content_block.type: expected a string");
    if (find_block(d, wire))
        return lx_fail(err, LX_ERR_PROTO, "content block %lld started twice", (long long)wire);
    if (d->n_blocks >= MAX_BLOCKS)
        return lx_fail(err, LX_ERR_PROTO, "more than %d content blocks", MAX_BLOCKS);
    if (d->n_blocks == d->cap_blocks) {
        size_t nc = d->cap_blocks ? d->cap_blocks * 2 : 8;
        an_block *n = realloc(d->blocks, nc * sizeof *n);
        if (!n)
            return lx_fail(err, LX_ERR_NOMEM, "out of memory");
        d->blocks = n;
        d->cap_blocks = nc;
    }
    an_block *b = &d->blocks[d->n_blocks++];
    *b = (an_block){wire, BLK_OTHER, -1, true};
    if (!strcmp(type, "text")) {
        json_t *t = json_object_get(cb, "text");
        b->kind = BLK_TEXT;
        if (t && !json_is_string(t))
            return lx_fail(err, LX_ERR_PROTO,
                           "content_block_start.content_block.text: expected a string");
        if (json_string_length(t))
            return emit(d, (lx_event){.kind = LX_EV_TEXT,
                                      .text = json_string_value(t),
                                      .len = json_string_length(t)});
    } else if (!strcmp(type, "thinking")) {
        json_t *t = json_object_get(cb, "thinking");
        json_t *sig = json_object_get(cb, "signature");
        b->kind = BLK_THINKING;
        if (json_is_string(t) && json_string_length(t) &&
            (st = emit(d, (lx_event){.kind = LX_EV_THINKING,
                                     .text = json_string_value(t),
                                     .len = json_string_length(t)})) != LX_OK)
            return st;
        if (json_is_string(sig) && json_string_length(sig)) /* sent whole by some models */
            return emit(d, (lx_event){.kind = LX_EV_THINKING, .signature = json_string_value(sig)});
    } else if (!strcmp(type, "tool_use")) {
        json_t *id = json_object_get(cb, "id"), *name = json_object_get(cb, "name");
        json_t *in = json_object_get(cb, "input");
        if (!json_is_string(name) || (id && !json_is_string(id) && !json_is_null(id)))
            return lx_fail(
                err, LX_ERR_PROTO,
                "content_block_start.content_block: tool_use needs a string name and id");
        b->kind = BLK_TOOL;
        b->tool = d->n_tools++;
        st = emit(d, (lx_event){.kind = LX_EV_TOOL_START,
                                .index = b->tool,
                                .id = json_string_value(id),
                                .name = json_string_value(name)});
        if (st == LX_OK && json_is_object(in) && json_object_size(in) > 0) {
            lx_buf buf; /* a proxy that sends the input whole */
            lx_buf_init(&buf, 0);
            if ((st = lx_json_dump(in, &buf)) == LX_OK)
                st = emit(d, (lx_event){.kind = LX_EV_TOOL_ARGS,
                                        .index = b->tool,
                                        .text = buf.data,
                                        .len = buf.len});
            lx_buf_free(&buf);
        }
        return st;
    }
    return LX_OK;
}

static lx_status block_delta(an_dec *d, const json_t *root, lx_error *err)
{
    int64_t wire = 0;
    lx_status st = get_index(root, "content_block_delta", &wire, err);
    if (st != LX_OK)
        return st;
    an_block *b = find_block(d, wire);
    json_t *delta = json_object_get(root, "delta");
    const char *type = json_string_value(json_object_get(delta, "type"));
    if (!b || !b->open)
        return lx_fail(err, LX_ERR_PROTO, "content_block_delta for block %lld, which is not open",
                       (long long)wire);
    if (!json_is_object(delta) || !type)
        return lx_fail(err, LX_ERR_PROTO, "content_block_delta.delta.type: expected a string");
    static const struct {
        const char *type, *field;
        int kind;
        lx_event_kind ev;
    } map[] = {{"text_delta", "text", BLK_TEXT, LX_EV_TEXT},
               {"input_json_delta", "partial_json", BLK_TOOL, LX_EV_TOOL_ARGS},
               {"thinking_delta", "thinking", BLK_THINKING, LX_EV_THINKING},
               {"signature_delta", "signature", BLK_THINKING, LX_EV_THINKING}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(type, map[i].type) != 0)
            continue;
        json_t *v = json_object_get(delta, map[i].field);
        if (!json_is_string(v))
            return lx_fail(err, LX_ERR_PROTO, "content_block_delta.delta.%s: expected a string",
                           map[i].field);
        if (b->kind != map[i].kind)
            return lx_fail(err, LX_ERR_PROTO, "%s in a block of another type", type);
        if (i == 3)
            return emit(d, (lx_event){.kind = LX_EV_THINKING, .signature = json_string_value(v)});
        if (json_string_length(v) == 0)
            return LX_OK;
        return emit(d, (lx_event){.kind = map[i].ev,
                                  .index = b->tool,
                                  .text = json_string_value(v),
                                  .len = json_string_length(v)});
    }
    return LX_OK; /* citations_delta and future kinds */
}

static lx_status message_delta(an_dec *d, const json_t *root, lx_error *err)
{
    json_t *delta = json_object_get(root, "delta"), *u = json_object_get(root, "usage");
    if (delta && !json_is_object(delta))
        return lx_fail(err, LX_ERR_PROTO, "message_delta.delta: expected an object");
    json_t *sr = json_object_get(delta, "stop_reason"),
           *ss = json_object_get(delta, "stop_sequence");
    if ((sr && !json_is_string(sr) && !json_is_null(sr)) ||
        (ss && !json_is_string(ss) && !json_is_null(ss)))
        return lx_fail(err, LX_ERR_PROTO,
                       "message_delta.delta: stop_reason and stop_sequence must be strings");
    if (json_is_string(sr))
        d->finish = lx_anthropic_finish_from(json_string_value(sr));
    if (json_is_string(ss)) {
        free(d->stop_sequence);
        if (!(d->stop_sequence = strdup(json_string_value(ss))))
            return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    }
    if (u && !json_is_null(u)) {
        lx_status st = lx_anthropic_usage_from(u, "message_delta", &d->usage, err);
        if (st != LX_OK)
            return st;
        d->has_usage = true;
    }
    return LX_OK;
}

static lx_status on_sse(void *ud, const lx_sse_event *ev, lx_error *err)
{
    an_dec *d = ud;
    if (d->done)
        return LX_OK;
    json_error_t je;
    json_t *root = json_loadb(ev->data, ev->data_len, 0, &je);
    size_t q = ev->data_len < 80 ? ev->data_len : 80;
    if (!root)
        return lx_fail(err, LX_ERR_PROTO, "malformed %s event (%s at column %d): \"%.*s\"",
                       *ev->event ? ev->event : "data", je.text, je.column, (int)q, ev->data);
    lx_status st = LX_OK;
    const char *type = json_string_value(json_object_get(root, "type"));
    if (!json_is_object(root)) {
        st = lx_fail(err, LX_ERR_PROTO, "event data: expected a JSON object: \"%.*s\"", (int)q,
                     ev->data);
        goto done;
    }
    if (!type)
        type = ev->event;
    if (!strcmp(type, "error")) {
        json_t *e = json_object_get(root, "error");
        const char *t = json_string_value(json_object_get(e, "type"));
        const char *m = json_string_value(json_object_get(e, "message"));
        st = lx_fail(err, LX_ERR_UPSTREAM, "stream error: %s", m ? m : "(no message)");
        if (err)
            lx_strlcpy(err->type, t ? t : "", sizeof err->type);
    } else if (!strcmp(type, "message_start")) {
        json_t *m = json_object_get(root, "message"), *u = json_object_get(m, "usage");
        if (!json_is_object(m)) {
            st = lx_fail(err, LX_ERR_PROTO, "message_start.message: expected an object");
            goto done;
        }
        if (u && !json_is_null(u)) {
            if ((st = lx_anthropic_usage_from(u, "message_start.message", &d->usage, err)) != LX_OK)
                goto done;
            d->has_usage = true;
        }
        if (!d->started) {
            d->started = true;
            st = emit(d, (lx_event){.kind = LX_EV_START,
                                    .id = json_string_value(json_object_get(m, "id")),
                                    .model = json_string_value(json_object_get(m, "model"))});
        }
    } else if (!d->started &&
               (!strncmp(type, "content_block_", 14) || !strncmp(type, "message_", 8))) {
        st = lx_fail(err, LX_ERR_PROTO, "%.40s event before message_start", type);
    } else if (!strcmp(type, "content_block_start")) {
        st = block_start(d, root, err);
    } else if (!strcmp(type, "content_block_delta")) {
        st = block_delta(d, root, err);
    } else if (!strcmp(type, "content_block_stop")) {
        int64_t wire = 0;
        an_block *b;
        if ((st = get_index(root, "content_block_stop", &wire, err)) != LX_OK)
            goto done;
        if (!(b = find_block(d, wire)) || !b->open) {
            st = lx_fail(err, LX_ERR_PROTO, "content_block_stop for block %lld, which is not open",
                         (long long)wire);
            goto done;
        }
        b->open = false;
        if (b->kind == BLK_TOOL)
            st = emit(d, (lx_event){.kind = LX_EV_TOOL_END, .index = b->tool});
    } else if (!strcmp(type, "message_delta")) {
        st = message_delta(d, root, err);
    } else if (!strcmp(type, "message_stop")) {
        for (size_t i = 0; i < d->n_blocks && st == LX_OK; i++)
            if (d->blocks[i].open && d->blocks[i].kind == BLK_TOOL) { /* lenient: close */
                d->blocks[i].open = false;
                st = emit(d, (lx_event){.kind = LX_EV_TOOL_END, .index = d->blocks[i].tool});
            }
        if (st == LX_OK && d->has_usage)
            st = emit(d, (lx_event){.kind = LX_EV_USAGE, .usage = d->usage});
        if (st == LX_OK)
            st = emit(d, (lx_event){.kind = LX_EV_FINISH,
                                    .finish = d->finish ? d->finish : LX_FINISH_STOP,
                                    .text = d->stop_sequence});
        d->done = true;
    }
    /* ping and unknown events: nothing */
done:
    json_decref(root);
    return st;
}

static lx_status dec_feed(lx_stream_decoder *base, const char *data, size_t len, lx_error *err)
{
    an_dec *d = (an_dec *)base;
    if (d->failed)
        return lx_fail(err, d->fail_status, "stream decoder used after an error");
    lx_status st = lx_sse_feed(&d->sse, data, len, on_sse, d, err);
    if (st != LX_OK) {
        d->failed = true;
        d->fail_status = st;
    }
    return st;
}

static lx_status dec_finish(lx_stream_decoder *base, lx_error *err)
{
    an_dec *d = (an_dec *)base;
    if (d->failed)
        return lx_fail(err, d->fail_status, "stream decoder used after an error");
    bool pending = false;
    lx_status st = lx_sse_finish(&d->sse, on_sse, d, &pending, err);
    if (st == LX_OK && !d->done) {
        if (d->has_usage)
            st = emit(d, (lx_event){.kind = LX_EV_USAGE, .usage = d->usage});
        if (st == LX_OK)
            st = lx_fail(err, LX_ERR_PROTO, "stream ended before message_stop");
    }
    if (st != LX_OK) {
        d->failed = true;
        d->fail_status = st;
    }
    return st;
}

static void dec_free(lx_stream_decoder *base)
{
    an_dec *d = (an_dec *)base;
    if (!d)
        return;
    lx_sse_free(&d->sse);
    free(d->blocks);
    free(d->stop_sequence);
    free(d);
}

lx_stream_decoder *lx_anthropic_stream_decoder_new(lx_event_fn sink, void *ud)
{
    an_dec *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->base.feed = dec_feed;
    d->base.finish = dec_finish;
    d->base.free = dec_free;
    d->sink = sink;
    d->ud = ud;
    lx_sse_init(&d->sse, 0);
    return &d->base;
}

/* ---- encoder ----------------------------------------------------------- */

typedef struct {
    lx_stream_encoder base;
    char id[80];
    char *model;
    bool started, done;
    lx_usage usage;
    int next_block;
    int cur;         /* open text/thinking block index, -1 none */
    int cur_kind;    /* BLK_TEXT or BLK_THINKING */
    int *tool_block; /* neutral tool index -> wire block, -1 when closed */
    size_t n_tool_block;
    lx_buf scratch, clean;
    lx_utf8_carry text_carry, think_carry;
} an_enc;

/* Serialises v (consumed) as one named event. */
static lx_status write_ev(an_enc *e, const char *name, json_t *v, lx_buf *out)
{
    lx_status st = LX_ERR_NOMEM;
    lx_buf_reset(&e->scratch);
    if (v && lx_json_dump(v, &e->scratch) == LX_OK)
        st = lx_sse_write(out, name, e->scratch.data, e->scratch.len);
    json_decref(v);
    return st;
}

static lx_status block_stop(an_enc *e, int index, lx_buf *out)
{
    return write_ev(e, "content_block_stop",
                    json_pack("{s:s,s:i}", "type", "content_block_stop", "index", index), out);
}

static lx_status close_run(an_enc *e, lx_buf *out)
{
    if (e->cur < 0)
        return LX_OK;
    int i = e->cur;
    e->cur = -1;
    return block_stop(e, i, out);
}

static lx_status start_message(an_enc *e, const char *model, lx_buf *out)
{
    if (e->started)
        return LX_OK;
    e->started = true;
    if (!e->model && model && !(e->model = strdup(model)))
        return LX_ERR_NOMEM;
    json_t *u = lx_anthropic_usage_to(&e->usage);
    return write_ev(e, "message_start",
                    json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:[],s:n,s:n,s:o}}", "type", "message_start",
                              "message", "id", e->id, "type", "message", "role", "assistant",
                              "model", e->model ? e->model : "", "content", "stop_reason",
                              "stop_sequence", "usage", u),
                    out);
}

/* Opens a text or thinking block unless one of that kind is open. */
static lx_status open_run(an_enc *e, int kind, lx_buf *out)
{
    if (e->cur >= 0 && e->cur_kind == kind)
        return LX_OK;
    lx_status st = close_run(e, out);
    if (st != LX_OK)
        return st;
    e->cur = e->next_block++;
    e->cur_kind = kind;
    json_t *cb = kind == BLK_TEXT ? json_pack("{s:s,s:s}", "type", "text", "text", "")
                                  : json_pack("{s:s,s:s}", "type", "thinking", "thinking", "");
    return write_ev(e, "content_block_start",
                    json_pack("{s:s,s:i,s:o}", "type", "content_block_start", "index", e->cur,
                              "content_block", cb),
                    out);
}

static lx_status delta(an_enc *e, int index, json_t *d, lx_buf *out)
{
    return write_ev(
        e, "content_block_delta",
        json_pack("{s:s,s:i,s:o}", "type", "content_block_delta", "index", index, "delta", d), out);
}

static int *tool_slot(an_enc *e, int index)
{
    if (index < 0 || index >= MAX_BLOCKS)
        return NULL;
    if ((size_t)index >= e->n_tool_block) {
        size_t nn = (size_t)index + 8;
        int *n = realloc(e->tool_block, nn * sizeof *n);
        if (!n)
            return NULL;
        for (size_t i = e->n_tool_block; i < nn; i++)
            n[i] = -1;
        e->tool_block = n;
        e->n_tool_block = nn;
    }
    return &e->tool_block[index];
}

static lx_status enc_finish(an_enc *e, const lx_event *ev, lx_buf *out)
{
    lx_status st = close_run(e, out);
    for (size_t i = 0; i < e->n_tool_block && st == LX_OK; i++)
        if (e->tool_block[i] >= 0) {
            st = block_stop(e, e->tool_block[i], out);
            e->tool_block[i] = -1;
        }
    if (st != LX_OK)
        return st;
    const char *ss = ev->finish == LX_FINISH_STOP ? ev->text : NULL;
    st = write_ev(e, "message_delta",
                  json_pack("{s:s,s:{s:s?,s:s?},s:o}", "type", "message_delta", "delta",
                            "stop_reason", lx_anthropic_finish_to(ev->finish, ss), "stop_sequence",
                            ss, "usage", lx_anthropic_usage_to(&e->usage)),
                  out);
    if (st == LX_OK)
        st = write_ev(e, "message_stop", json_pack("{s:s}", "type", "message_stop"), out);
    return st;
}

/* A text or thinking delta; an incomplete UTF-8 tail waits in the carry. */
static lx_status put_text(an_enc *e, int kind, const char *t, size_t n, bool flush, lx_buf *out)
{
    bool text = kind == BLK_TEXT;
    lx_status st = lx_utf8_clean(text ? &e->text_carry : &e->think_carry, t, n, flush, &e->clean);
    if (st != LX_OK || e->clean.len == 0)
        return st;
    if ((st = open_run(e, kind, out)) != LX_OK)
        return st;
    return delta(e, e->cur,
                 json_pack("{s:s,s:s%}", "type", text ? "text_delta" : "thinking_delta",
                           text ? "text" : "thinking", e->clean.data, e->clean.len),
                 out);
}

static lx_status enc_event(lx_stream_encoder *base, const lx_event *ev, lx_buf *out)
{
    an_enc *e = (an_enc *)base;
    lx_status st;
    int *slot;
    if (e->done)
        return LX_OK;
    if (ev->kind == LX_EV_USAGE) {
        e->usage = ev->usage;
        return LX_OK;
    }
    if (ev->kind == LX_EV_ERROR) {
        lx_error fallback = {0};
        lx_fail(&fallback, LX_ERR_INTERNAL, "stream failed");
        e->done = true;
        lx_buf_reset(&e->scratch);
        if ((st = lx_anthropic_error_encode(ev->error ? ev->error : &fallback, NULL,
                                            &e->scratch)) != LX_OK)
            return st;
        return lx_sse_write(out, "error", e->scratch.data, e->scratch.len);
    }
    if ((st = start_message(e, ev->kind == LX_EV_START ? ev->model : NULL, out)) != LX_OK)
        return st;
    if (ev->kind != LX_EV_TEXT && e->text_carry.n &&
        (st = put_text(e, BLK_TEXT, NULL, 0, true, out)) != LX_OK)
        return st;
    if (ev->kind != LX_EV_THINKING && e->think_carry.n &&
        (st = put_text(e, BLK_THINKING, NULL, 0, true, out)) != LX_OK)
        return st;
    switch (ev->kind) {
    case LX_EV_TEXT:
        return ev->text ? put_text(e, BLK_TEXT, ev->text, ev->len, false, out) : LX_OK;
    case LX_EV_THINKING:
        if (ev->text && (st = put_text(e, BLK_THINKING, ev->text, ev->len, false, out)) != LX_OK)
            return st;
        if (!ev->signature)
            return LX_OK;
        if ((st = open_run(e, BLK_THINKING, out)) != LX_OK)
            return st;
        return delta(e, e->cur,
                     json_pack("{s:s,s:s}", "type", "signature_delta", "signature", ev->signature),
                     out);
    case LX_EV_TOOL_START: {
        char gen[48];
        if (!(slot = tool_slot(e, ev->index)) || *slot >= 0)
            return LX_ERR_INVALID;
        if ((st = close_run(e, out)) != LX_OK)
            return st;
        *slot = e->next_block++;
        if (!ev->id)
            lx_wire_id(gen, sizeof gen, "toolu_");
        return write_ev(e, "content_block_start",
                        json_pack("{s:s,s:i,s:{s:s,s:s,s:s,s:{}}}", "type", "content_block_start",
                                  "index", *slot, "content_block", "type", "tool_use", "id",
                                  ev->id ? ev->id : gen, "name", ev->name ? ev->name : "", "input"),
                        out);
    }
    case LX_EV_TOOL_ARGS: {
        if (!(slot = tool_slot(e, ev->index)) || *slot < 0)
            return LX_ERR_INVALID;
        lx_utf8_carry none = {{0}, 0};
        if ((st = lx_utf8_clean(&none, ev->text, ev->text ? ev->len : 0, true, &e->clean)) != LX_OK)
            return st;
        return delta(e, *slot,
                     json_pack("{s:s,s:s%}", "type", "input_json_delta", "partial_json",
                               e->clean.data ? e->clean.data : "", e->clean.len),
                     out);
    }
    case LX_EV_TOOL_END:
        if (!(slot = tool_slot(e, ev->index)) || *slot < 0)
            return LX_OK;
        st = block_stop(e, *slot, out);
        *slot = -1;
        return st;
    case LX_EV_FINISH:
        e->done = true;
        return enc_finish(e, ev, out);
    case LX_EV_START:
    case LX_EV_USAGE:
    case LX_EV_ERROR:
        break;
    }
    return LX_OK;
}

static void enc_free(lx_stream_encoder *base)
{
    an_enc *e = (an_enc *)base;
    if (!e)
        return;
    lx_buf_free(&e->scratch);
    lx_buf_free(&e->clean);
    free(e->tool_block);
    free(e->model);
    free(e);
}

lx_stream_encoder *lx_anthropic_stream_encoder_new(const lx_codec_opts *o)
{
    an_enc *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->base.event = enc_event;
    e->base.free = enc_free;
    e->cur = -1;
    lx_buf_init(&e->scratch, 0);
    lx_buf_init(&e->clean, 0);
    if (o && o->id)
        lx_strlcpy(e->id, o->id, sizeof e->id);
    else
        lx_wire_id(e->id, sizeof e->id, "msg_");
    if (o && o->model && !(e->model = strdup(o->model))) {
        free(e);
        return NULL;
    }
    return &e->base;
}
