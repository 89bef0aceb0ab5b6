/*
 * openai_stream.c — OpenAI Chat Completions streams, both directions.
 *
 * Wire: SSE without event names, one JSON chunk per `data:` line, ended by
 * `data: [DONE]`:
 *
 *   data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,
 *          "model":"m","choices":[{"index":0,"delta":{"role":"assistant",
 *          "content":""},"finish_reason":null}]}
 *   data: {... "choices":[{"index":0,"delta":{"content":"Hel"}, ...}]}
 *   data: {... "delta":{"tool_calls":[{"index":0,"id":"call_a","type":
 *          "function","function":{"name":"f","arguments":""}}]} ...}
 *   data: {... "delta":{"tool_calls":[{"index":0,"function":{"arguments":
 *          "{\"x\""}}]} ...}
 *   data: {... "choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}
 *   data: {... "choices":[],"usage":{...}}      (only with include_usage;
 *                                              vLLM sends "choices":null)
 *   data: [DONE]
 *
 * Decoder: START on the first chunk; delta.content -> TEXT and
 * delta.reasoning_content (vLLM, DeepSeek; "reasoning" on OpenRouter) ->
 * THINKING at once; a tool-call fragment whose `index` is new -> TOOL_START
 * (neutral index = order of first appearance), its `function.arguments` ->
 * TOOL_ARGS; finish_reason closes every open call (TOOL_END) and is held
 * until [DONE], which emits USAGE (when a usage object was seen) and
 * FINISH. Choices other than index 0 are ignored (n > 1 is not supported).
 * A chunk {"error":{...}} is an upstream error (LX_ERR_UPSTREAM). The
 * common chunks (text, reasoning, one tool-call fragment, role,
 * finish_reason, usage) are first tried by a
 * strict hand-written reader (openai_fast.c, several times cheaper than
 * jansson); anything it does not fully recognise goes through jansson as
 * before.
 *
 * Encoder: the mirror image: a role chunk first, content and tool-call
 * fragments (id/type/name only on the first fragment of an index), a chunk
 * carrying finish_reason, the usage chunk when include_usage, [DONE]. An
 * ERROR event becomes data: {"error":{...}} and no [DONE]. Text split in
 * the middle of a UTF-8 character is re-joined across events; invalid
 * bytes become U+FFFD (JSON strings must be valid UTF-8). The text, role,
 * finish and usage chunks are written by hand, byte for byte what jansson's
 * compact dump gives (tests/unit/test_openai_write.c compares both); so
 * are tool-call chunks. Errors, and the chunks of a stream whose id or model
 * (or a call's id or name) is not valid UTF-8, still go through jansson.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/utf8.h"
#include "proto/callids.h"
#include "proto/json.h"
#include "proto/openai.h"
#include "proto/sse.h"

#define MAX_TOOL_CALLS 1024

/* ---- decoder ----------------------------------------------------------- */

typedef struct {
    int64_t wire; /* tool_calls[].index on the wire */
    bool open;
    char *id; /* as first sent, may be NULL */
} oa_call;

typedef struct {
    lx_stream_decoder base;
    lx_sse_parser sse;
    lx_event_fn sink;
    void *ud;
    bool started, done, failed, has_finish, has_usage;
    lx_status fail_status;
    lx_finish finish;
    lx_usage usage;
    oa_call *calls;
    size_t n_calls, cap_calls;
    bool fast;      /* try lx_openai_fast_parse before jansson */
    char *fast_buf; /* its output, fast_cap bytes */
    size_t fast_cap;
} oa_dec;

static bool fast_enabled = true;

void lx_openai_fast_enable(bool on)
{
    fast_enabled = on;
}

static lx_status emit(oa_dec *d, lx_event ev)
{
    return d->sink(d->ud, &ev);
}

static lx_status close_calls(oa_dec *d)
{
    for (size_t i = 0; i < d->n_calls; i++) {
        if (!d->calls[i].open)
            continue;
        d->calls[i].open = false;
        lx_status st = emit(d, (lx_event){.kind = LX_EV_TOOL_END, .index = (int)i});
        if (st != LX_OK)
            return st;
    }
    return LX_OK;
}

static lx_status upstream_error(const json_t *e, lx_error *err)
{
    const char *msg =
        json_is_string(e) ? json_string_value(e) : json_string_value(json_object_get(e, "message"));
    const char *type = json_string_value(json_object_get(e, "type"));
    if (!type)
        type = json_string_value(json_object_get(e, "code"));
    lx_fail(err, LX_ERR_UPSTREAM, "stream error: %s", msg ? msg : "(no message)");
    if (err)
        lx_strlcpy(err->type, type ? type : "", sizeof err->type);
    return LX_ERR_UPSTREAM;
}

/* The call a tool-call fragment belongs to (*kp, the neutral index): by
 * wire index, else by id, else the latest; a new one is opened (TOOL_START
 * with `name` as given). Shared by the jansson path and the fast reader. */
static lx_status fragment_call(oa_dec *d, bool has_index, int64_t index, const char *ids,
                               const char *name, size_t *kp, lx_error *err)
{
    int64_t wire;
    size_t k = 0;
    if (has_index) {
        wire = index;
        while (k < d->n_calls && d->calls[k].wire != wire)
            k++;
    } else if (ids && *ids) { /* no index (Gemini's OpenAI layer): a new id is a new call */
        while (k < d->n_calls && !(d->calls[k].id && !strcmp(d->calls[k].id, ids)))
            k++;
        wire = k < d->n_calls ? d->calls[k].wire : -1 - (int64_t)d->n_calls;
    } else { /* no index, no id: continues the latest call */
        k = d->n_calls ? d->n_calls - 1 : 0;
        wire = d->n_calls ? d->calls[k].wire : -1;
    }
    *kp = k;
    if (k == d->n_calls) {
        if (d->n_calls >= MAX_TOOL_CALLS)
            return lx_fail(err, LX_ERR_PROTO, "more than %d tool calls", MAX_TOOL_CALLS);
        if (d->has_finish)
            return lx_fail(err, LX_ERR_PROTO, "tool call started after finish_reason");
        if (d->n_calls == d->cap_calls) {
            size_t nc = d->cap_calls ? d->cap_calls * 2 : 4;
            oa_call *n = realloc(d->calls, nc * sizeof *n);
            if (!n)
                return lx_fail(err, LX_ERR_NOMEM, "out of memory");
            d->calls = n;
            d->cap_calls = nc;
        }
        char *copy = ids ? strdup(ids) : NULL;
        if (ids && !copy)
            return lx_fail(err, LX_ERR_NOMEM, "out of memory");
        d->calls[d->n_calls++] = (oa_call){wire, true, copy};
        return emit(d,
                    (lx_event){.kind = LX_EV_TOOL_START, .index = (int)k, .id = ids, .name = name});
    }
    if (!d->calls[k].open)
        return lx_fail(err, LX_ERR_PROTO, "tool call %lld continued after finish_reason",
                       (long long)wire);
    return LX_OK;
}

static lx_status tool_fragment(oa_dec *d, const json_t *tc, size_t pos, lx_error *err)
{
    if (!json_is_object(tc))
        return lx_fail(err, LX_ERR_PROTO, "choices[0].delta.tool_calls[%zu]: expected an object",
                       pos);
    json_t *ij = json_object_get(tc, "index"), *fn = json_object_get(tc, "function");
    json_t *id = json_object_get(tc, "id"), *name = json_object_get(fn, "name");
    json_t *args = json_object_get(fn, "arguments");
    if ((ij && !json_is_integer(ij)) || (fn && !json_is_object(fn) && !json_is_null(fn)) ||
        (id && !json_is_string(id) && !json_is_null(id)) ||
        (name && !json_is_string(name) && !json_is_null(name)))
        return lx_fail(err, LX_ERR_PROTO,
                       "choices[0].delta.tool_calls[%zu]: index, id or function has a wrong type",
                       pos);
    size_t k;
    lx_status st =
        fragment_call(d, ij != NULL, ij ? json_integer_value(ij) : 0, json_string_value(id),
                      name ? json_string_value(name) : "", &k, err);
    if (st != LX_OK)
        return st;
    if (json_is_string(args) && json_string_length(args) > 0)
        return emit(d, (lx_event){.kind = LX_EV_TOOL_ARGS,
                                  .index = (int)k,
                                  .text = json_string_value(args),
                                  .len = json_string_length(args)});
    if (json_is_object(args)) { /* whole object instead of a string: tolerate */
        lx_buf b;
        lx_buf_init(&b, 0);
        st = lx_json_dump(args, &b);
        if (st == LX_OK)
            st = emit(
                d,
                (lx_event){.kind = LX_EV_TOOL_ARGS, .index = (int)k, .text = b.data, .len = b.len});
        lx_buf_free(&b);
        return st;
    }
    if (args && !json_is_string(args) && !json_is_null(args))
        return lx_fail(err, LX_ERR_PROTO,
                       "choices[0].delta.tool_calls[%zu].function.arguments: expected a string",
                       pos);
    return LX_OK;
}

static lx_status text_field(oa_dec *d, const json_t *delta, const char *key, lx_event_kind kind,
                            lx_error *err)
{
    json_t *v = json_object_get(delta, key);
    if (!v || json_is_null(v))
        return LX_OK;
    if (!json_is_string(v))
        return lx_fail(err, LX_ERR_PROTO, "choices[0].delta.%s: expected a string", key);
    if (json_string_length(v) == 0)
        return LX_OK;
    return emit(
        d, (lx_event){.kind = kind, .text = json_string_value(v), .len = json_string_length(v)});
}

static lx_status choice(oa_dec *d, const json_t *c, size_t i, lx_error *err)
{
    if (!json_is_object(c))
        return lx_fail(err, LX_ERR_PROTO, "choices[%zu]: expected an object", i);
    json_t *ix = json_object_get(c, "index");
    if (ix && !json_is_integer(ix))
        return lx_fail(err, LX_ERR_PROTO, "choices[%zu].index: expected an integer", i);
    if (ix && json_integer_value(ix) != 0)
        return LX_OK;
    json_t *delta = json_object_get(c, "delta"), *fr = json_object_get(c, "finish_reason");
    if (delta && !json_is_object(delta) && !json_is_null(delta))
        return lx_fail(err, LX_ERR_PROTO, "choices[%zu].delta: expected an object", i);
    if (fr && !json_is_string(fr) && !json_is_null(fr))
        return lx_fail(err, LX_ERR_PROTO, "choices[%zu].finish_reason: expected a string", i);
    lx_status st = LX_OK;
    if (json_is_object(delta)) {
        const char *rk =
            json_object_get(delta, "reasoning_content") ? "reasoning_content" : "reasoning";
        json_t *tcs = json_object_get(delta, "tool_calls");
        if ((st = text_field(d, delta, rk, LX_EV_THINKING, err)) != LX_OK ||
            (st = text_field(d, delta, "content", LX_EV_TEXT, err)) != LX_OK)
            return st;
        if (tcs && !json_is_array(tcs) && !json_is_null(tcs))
            return lx_fail(err, LX_ERR_PROTO, "choices[%zu].delta.tool_calls: expected an array",
                           i);
        for (size_t k = 0; k < json_array_size(tcs); k++)
            if ((st = tool_fragment(d, json_array_get(tcs, k), k, err)) != LX_OK)
                return st;
    }
    if (json_is_string(fr)) {
        d->finish = lx_openai_finish_from(json_string_value(fr));
        d->has_finish = true;
        st = close_calls(d);
    }
    return st;
}

static lx_status on_done(oa_dec *d)
{
    lx_status st = close_calls(d);
    if (st == LX_OK && d->has_usage)
        st = emit(d, (lx_event){.kind = LX_EV_USAGE, .usage = d->usage});
    lx_finish f = d->has_finish ? d->finish : d->n_calls ? LX_FINISH_TOOL_CALLS : LX_FINISH_STOP;
    if (st == LX_OK)
        st = emit(d, (lx_event){.kind = LX_EV_FINISH, .finish = f});
    d->done = true;
    return st;
}

/* The common chunk (openai_fast.c): the same events and state as the
 * jansson path below gives it. False: not that shape, parse it fully. */
static bool fast_chunk(oa_dec *d, const char *s, size_t n, lx_status *st, lx_error *err)
{
    if (n + 1 > d->fast_cap) {
        size_t cap = n + 1 > 2 * d->fast_cap ? n + 1 : 2 * d->fast_cap;
        char *b = realloc(d->fast_buf, cap);
        if (!b)
            return false;
        d->fast_buf = b;
        d->fast_cap = cap;
    }
    lx_openai_fast_chunk c;
    if (!lx_openai_fast_parse(s, n, d->fast_buf, &c))
        return false;
    *st = LX_OK;
    if (!d->started) {
        d->started = true;
        *st = emit(d, (lx_event){.kind = LX_EV_START, .id = c.id, .model = c.model});
    }
    if (*st == LX_OK && c.thinking_len > 0)
        *st =
            emit(d, (lx_event){.kind = LX_EV_THINKING, .text = c.thinking, .len = c.thinking_len});
    if (*st == LX_OK && c.content_len > 0)
        *st = emit(d, (lx_event){.kind = LX_EV_TEXT, .text = c.content, .len = c.content_len});
    if (*st == LX_OK && c.has_tool) {
        size_t k;
        *st = fragment_call(d, c.tool_has_index, c.tool_index, c.tool_id, c.tool_name, &k, err);
        if (*st == LX_OK && c.tool_args_len > 0)
            *st = emit(d, (lx_event){.kind = LX_EV_TOOL_ARGS,
                                     .index = (int)k,
                                     .text = c.tool_args,
                                     .len = c.tool_args_len});
    }
    if (*st == LX_OK && c.finish_reason) {
        d->finish = lx_openai_finish_from(c.finish_reason);
        d->has_finish = true;
        *st = close_calls(d);
    }
    if (*st == LX_OK && c.has_usage) {
        d->usage = c.usage;
        d->has_usage = true;
    }
    return true;
}

static lx_status on_sse(void *ud, const lx_sse_event *ev, lx_error *err)
{
    oa_dec *d = ud;
    if (d->done)
        return LX_OK; /* nothing after [DONE] counts */
    const char *s = ev->data;
    size_t n = ev->data_len;
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
        n--;
    if (n == 0)
        return LX_OK;
    if (n == 6 && memcmp(s, "[DONE]", 6) == 0)
        return on_done(d);
    lx_status fst;
    if (d->fast && strcmp(ev->event, "error") != 0 && fast_chunk(d, s, n, &fst, err))
        return fst;
    json_error_t je;
    json_t *root = json_loadb(s, n, 0, &je);
    if (!root)
        return lx_fail(err, LX_ERR_PROTO, "malformed chunk (%s at column %d): \"%.*s\"", je.text,
                       je.column, (int)(n < 80 ? n : 80), s);
    lx_status st = LX_OK;
    json_t *e = json_object_get(root, "error");
    json_t *choices = json_object_get(root, "choices"), *usage = json_object_get(root, "usage");
    if (!json_is_object(root)) {
        st = lx_fail(err, LX_ERR_PROTO, "chunk: expected a JSON object: \"%.*s\"",
                     (int)(n < 80 ? n : 80), s);
        goto done;
    }
    if ((e && !json_is_null(e)) || !strcmp(ev->event, "error")) { /* or `event: error` */
        st = upstream_error(e && !json_is_null(e) ? e : root, err);
        goto done;
    }
    if (!d->started) {
        json_t *id = json_object_get(root, "id"), *model = json_object_get(root, "model");
        d->started = true;
        st = emit(d, (lx_event){.kind = LX_EV_START,
                                .id = json_string_value(id),
                                .model = json_string_value(model)});
        if (st != LX_OK)
            goto done;
    }
    if (choices && !json_is_array(choices) && !json_is_null(choices)) {
        st = lx_fail(err, LX_ERR_PROTO, "choices: expected an array");
        goto done;
    }
    for (size_t i = 0; i < json_array_size(choices) && st == LX_OK; i++)
        st = choice(d, json_array_get(choices, i), i, err);
    if (!usage || json_is_null(usage)) /* Groq: the usage rides in x_groq */
        usage = json_object_get(json_object_get(root, "x_groq"), "usage");
    if (st == LX_OK && usage && !json_is_null(usage)) {
        st = lx_openai_usage_from(usage, NULL, &d->usage, err);
        d->has_usage = st == LX_OK;
    }
done:
    json_decref(root);
    return st;
}

static lx_status dec_feed(lx_stream_decoder *base, const char *data, size_t len, lx_error *err)
{
    oa_dec *d = (oa_dec *)base;
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
    oa_dec *d = (oa_dec *)base;
    if (d->failed)
        return lx_fail(err, d->fail_status, "stream decoder used after an error");
    bool pending = false;
    lx_status st = lx_sse_finish(&d->sse, on_sse, d, &pending, err);
    if (st == LX_OK && !d->done) {
        if (d->has_usage)
            st = emit(d, (lx_event){.kind = LX_EV_USAGE, .usage = d->usage});
        if (st == LX_OK)
            st = lx_fail(err, LX_ERR_PROTO, "stream ended before [DONE]");
    }
    if (st != LX_OK) {
        d->failed = true;
        d->fail_status = st;
    }
    return st;
}

static void dec_free(lx_stream_decoder *base)
{
    oa_dec *d = (oa_dec *)base;
    if (!d)
        return;
    lx_sse_free(&d->sse);
    for (size_t i = 0; i < d->n_calls; i++)
        free(d->calls[i].id);
    free(d->calls);
    free(d->fast_buf);
    free(d);
}

lx_stream_decoder *lx_openai_stream_decoder_new(lx_event_fn sink, void *ud)
{
    oa_dec *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->base.feed = dec_feed;
    d->base.finish = dec_finish;
    d->base.free = dec_free;
    d->sink = sink;
    d->ud = ud;
    d->fast = fast_enabled;
    lx_sse_init(&d->sse, 0);
    return &d->base;
}

/* ---- encoder ----------------------------------------------------------- */

typedef struct {
    lx_stream_encoder base;
    char id[80];
    char *model;
    int64_t created;
    bool include_usage, started, done, has_usage;
    bool fast; /* hand-written chunks (lx_openai_fast_enable) */
    lx_usage usage;
    lx_buf scratch, clean;
    lx_buf prefix; /* '{"id":..,"model":..,"choices":[{"index":0,"delta":{' of text chunks */
    int head_ok;   /* id and model are valid UTF-8: 1 yes, -1 no, 0 not checked */
    lx_utf8_carry text_carry, think_carry;
} oa_enc;

/* Writes one chunk; takes ownership of `choice_delta` (NULL: choices []). */
static lx_status write_chunk(oa_enc *e, json_t *delta, const char *finish, json_t *usage,
                             lx_buf *out)
{
    json_t *choices = delta ? json_pack("[{s:i,s:o,s:n,s:s?}]", "index", 0, "delta", delta,
                                        "logprobs", "finish_reason", finish)
                            : json_array();
    json_t *root = json_pack("{s:s,s:s,s:I,s:s,s:o}", "id", e->id, "object",
                             "chat.completion.chunk", "created", (json_int_t)e->created, "model",
                             e->model ? e->model : "", "choices", choices);
    lx_status st = LX_ERR_NOMEM;
    if (root && usage)
        json_object_set_new(root, "usage", usage);
    else
        json_decref(usage);
    lx_buf_reset(&e->scratch);
    if (root && lx_json_dump(root, &e->scratch) == LX_OK)
        st = lx_sse_write(out, NULL, e->scratch.data, e->scratch.len);
    json_decref(root);
    return st;
}

#define CHOICE_OPEN "[{\"index\":0,\"delta\":{"

/* Builds e->prefix once (the model is known from the first event on). */
static lx_status build_prefix(oa_enc *e)
{
    if (e->prefix.len)
        return LX_OK;
    char num[32], *q = num + sizeof num;
    /* the decimal digits of created, as %lld writes them */
    uint64_t v = e->created < 0 ? 0 - (uint64_t)e->created : (uint64_t)e->created;
    *--q = '\0';
    do
        *--q = (char)('0' + v % 10);
    while (v /= 10);
    if (e->created < 0)
        *--q = '-';
    if (lx_buf_append(&e->prefix, "{\"id\":", 6) != LX_OK ||
        lx_json_quote(&e->prefix, e->id, strlen(e->id)) != LX_OK ||
        lx_buf_puts(&e->prefix, ",\"object\":\"chat.completion.chunk\",\"created\":") != LX_OK ||
        lx_buf_puts(&e->prefix, q) != LX_OK || lx_buf_puts(&e->prefix, ",\"model\":") != LX_OK ||
        lx_json_quote(&e->prefix, e->model ? e->model : "", e->model ? strlen(e->model) : 0) !=
            LX_OK ||
        lx_buf_puts(&e->prefix, ",\"choices\":" CHOICE_OPEN) != LX_OK) {
        lx_buf_reset(&e->prefix);
        return LX_ERR_NOMEM;
    }
    return LX_OK;
}

/* Whether the role, finish and usage chunks may be written by hand: json_pack
 * refuses an id or model that is not valid UTF-8, and then so must we. */
static bool by_hand(oa_enc *e)
{
    if (!e->fast)
        return false;
    if (!e->head_ok) {
        const char *m = e->model ? e->model : "";
        size_t ni = strlen(e->id), nm = strlen(m);
        e->head_ok =
            lx_utf8_valid_prefix(e->id, ni) == ni && lx_utf8_valid_prefix(m, nm) == nm ? 1 : -1;
    }
    return e->head_ok > 0;
}

/* A chunk written by hand: the prefix (without the opening of choices when
 * `no_choice`), then `tail` and, when u, the usage object and '}'. Byte for
 * byte what write_chunk gives for the same content. */
static lx_status hand_chunk(oa_enc *e, bool no_choice, const char *tail, const lx_usage *u,
                            lx_buf *out)
{
    if (build_prefix(e) != LX_OK)
        return LX_ERR_NOMEM;
    size_t head = e->prefix.len - (no_choice ? sizeof CHOICE_OPEN - 1 : 0);
    if (!u) { /* straight into out, as lx_sse_write puts it (no raw LF) */
        size_t tl = strlen(tail);
        char *w = lx_buf_space(out, 6 + head + tl + 2);
        if (w) {
            memcpy(w, "data: ", 6);
            memcpy(w + 6, e->prefix.data, head);
            memcpy(w + 6 + head, tail, tl);
            memcpy(w + 6 + head + tl, "\n\n", 2);
            lx_buf_commit(out, 6 + head + tl + 2);
            return LX_OK;
        }
    }
    lx_buf_reset(&e->scratch);
    if (lx_buf_append(&e->scratch, e->prefix.data, head) != LX_OK ||
        lx_buf_puts(&e->scratch, tail) != LX_OK)
        return LX_ERR_NOMEM;
    if (u &&
        (lx_openai_usage_write(&e->scratch, u) != LX_OK || lx_buf_putc(&e->scratch, '}') != LX_OK))
        return LX_ERR_NOMEM;
    return lx_sse_write(out, NULL, e->scratch.data, e->scratch.len);
}

static bool utf8_ok(const char *s)
{
    size_t n = strlen(s);
    return lx_utf8_valid_prefix(s, n) == n;
}

/* A tool-call chunk by hand: the opening fragment (id and name, empty
 * arguments) when id, else an arguments fragment. */
static lx_status hand_tool(oa_enc *e, int index, const char *id, const char *name, const char *args,
                           size_t args_len, lx_buf *out)
{
    char num[24];
    if (build_prefix(e) != LX_OK)
        return LX_ERR_NOMEM;
    snprintf(num, sizeof num, "%d", index);
    lx_buf *b = &e->scratch;
    lx_buf_reset(b);
    bool ok = lx_buf_append(b, e->prefix.data, e->prefix.len) == LX_OK &&
              lx_buf_puts(b, "\"tool_calls\":[{\"index\":") == LX_OK &&
              lx_buf_puts(b, num) == LX_OK;
    if (ok && id)
        ok = lx_buf_puts(b, ",\"id\":") == LX_OK && lx_json_quote(b, id, strlen(id)) == LX_OK &&
             lx_buf_puts(b, ",\"type\":\"function\",\"function\":{\"name\":") == LX_OK &&
             lx_json_quote(b, name, strlen(name)) == LX_OK &&
             lx_buf_puts(b, ",\"arguments\":\"\"}}]") == LX_OK;
    else if (ok)
        ok = lx_buf_puts(b, ",\"function\":{\"arguments\":") == LX_OK &&
             lx_json_quote(b, args, args_len) == LX_OK && lx_buf_puts(b, "}}]") == LX_OK;
    if (!ok || lx_buf_puts(b, "},\"logprobs\":null,\"finish_reason\":null}]}") != LX_OK)
        return LX_ERR_NOMEM;
    return lx_sse_write(out, NULL, b->data, b->len);
}

static lx_status ensure_started(oa_enc *e, const char *model, lx_buf *out)
{
    if (e->started)
        return LX_OK;
    e->started = true;
    if (!e->model && model && !(e->model = strdup(model)))
        return LX_ERR_NOMEM;
    if (by_hand(e))
        return hand_chunk(e, false,
                          "\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                          "\"finish_reason\":null}]}",
                          NULL, out);
    return write_chunk(e, json_pack("{s:s,s:s}", "role", "assistant", "content", ""), NULL, NULL,
                       out);
}


#define TEXT_TAIL "},\"logprobs\":null,\"finish_reason\":null}]}"

/* A content or reasoning delta; an incomplete UTF-8 tail waits in c. */
static lx_status put_text(oa_enc *e, lx_utf8_carry *c, const char *key, const char *t, size_t n,
                          bool flush, lx_buf *out)
{
    const char *text = t;
    size_t len = n;
    /* text that is valid UTF-8 as it stands (nothing carried, so nothing
     * held back either) is what lx_utf8_clean would copy: use it as is */
    if (!e->fast || c->n || !n || lx_utf8_valid_prefix(t, n) != n) {
        lx_status st = lx_utf8_clean(c, t, n, flush, &e->clean);
        if (st != LX_OK || e->clean.len == 0)
            return st;
        text = e->clean.data;
        len = e->clean.len;
    }
    if (!e->fast) /* the jansson reference (lx_openai_fast_enable(false)) */
        return write_chunk(e, json_pack("{s:s%}", key, text, len), NULL, NULL, out);
    /* Text chunks are most of a stream: written by hand, byte for byte what
     * write_chunk would produce, with the constant head built once, straight
     * into out as lx_sse_write would put it (the chunk has no raw LF: every
     * string in it is quoted). */
    if (build_prefix(e) != LX_OK)
        return LX_ERR_NOMEM;
    size_t klen = strlen(key);
    size_t need = 6 + e->prefix.len + klen + 3 + 6 * len + 2 + sizeof TEXT_TAIL - 1 + 2;
    char *w0 = len < ((size_t)1 << 40) ? lx_buf_space(out, need) : NULL;
    if (w0) {
        char *w = w0;
        memcpy(w, "data: ", 6);
        w += 6;
        memcpy(w, e->prefix.data, e->prefix.len);
        w += e->prefix.len;
        *w++ = '"';
        memcpy(w, key, klen); /* a fixed key: nothing to escape */
        w += klen;
        *w++ = '"';
        *w++ = ':';
        w = lx_json_quote_valid(w, text, len);
        memcpy(w, TEXT_TAIL "\n\n", sizeof TEXT_TAIL + 1);
        w += sizeof TEXT_TAIL + 1;
        lx_buf_commit(out, (size_t)(w - w0));
        return LX_OK;
    }
    /* near out's cap: the exact size may still fit */
    lx_buf_reset(&e->scratch);
    if (lx_buf_append(&e->scratch, e->prefix.data, e->prefix.len) != LX_OK ||
        lx_json_quote(&e->scratch, key, klen) != LX_OK || lx_buf_putc(&e->scratch, ':') != LX_OK ||
        lx_json_quote(&e->scratch, text, len) != LX_OK ||
        lx_buf_puts(&e->scratch, TEXT_TAIL) != LX_OK)
        return LX_ERR_NOMEM;
    return lx_sse_write(out, NULL, e->scratch.data, e->scratch.len);
}

static lx_status enc_event(lx_stream_encoder *base, const lx_event *ev, lx_buf *out)
{
    oa_enc *e = (oa_enc *)base;
    lx_status st;
    if (e->done)
        return LX_OK;
    if (ev->kind != LX_EV_ERROR && ev->kind != LX_EV_USAGE &&
        (st = ensure_started(e, ev->kind == LX_EV_START ? ev->model : NULL, out)) != LX_OK)
        return st;
    if (ev->kind != LX_EV_ERROR && ev->kind != LX_EV_TEXT && e->text_carry.n &&
        (st = put_text(e, &e->text_carry, "content", NULL, 0, true, out)) != LX_OK)
        return st;
    if (ev->kind != LX_EV_ERROR && ev->kind != LX_EV_THINKING && e->think_carry.n &&
        (st = put_text(e, &e->think_carry, "reasoning_content", NULL, 0, true, out)) != LX_OK)
        return st;
    switch (ev->kind) {
    case LX_EV_START:
    case LX_EV_TOOL_END:
        return LX_OK;
    case LX_EV_TEXT:
        return ev->text ? put_text(e, &e->text_carry, "content", ev->text, ev->len, false, out)
                        : LX_OK;
    case LX_EV_THINKING: /* a signature alone has no place here */
        return ev->text ? put_text(e, &e->think_carry, "reasoning_content", ev->text, ev->len,
                                   false, out)
                        : LX_OK;
    case LX_EV_TOOL_START: {
        char gen[64];
        if (!ev->id)
            lx_wire_id(gen, sizeof gen, "call_");
        const char *id = ev->id ? ev->id : gen, *name = ev->name ? ev->name : "";
        if (by_hand(e) && utf8_ok(id) && utf8_ok(name))
            return hand_tool(e, ev->index, id, name, NULL, 0, out);
        return write_chunk(e,
                           json_pack("{s:[{s:i,s:s,s:s,s:{s:s,s:s}}]}", "tool_calls", "index",
                                     ev->index, "id", ev->id ? ev->id : gen, "type", "function",
                                     "function", "name", ev->name ? ev->name : "", "arguments", ""),
                           NULL, NULL, out);
    }
    case LX_EV_TOOL_ARGS: {
        lx_utf8_carry none = {{0}, 0};
        if ((st = lx_utf8_clean(&none, ev->text, ev->text ? ev->len : 0, true, &e->clean)) != LX_OK)
            return st;
        if (by_hand(e))
            return hand_tool(e, ev->index, NULL, NULL, e->clean.data ? e->clean.data : "",
                             e->clean.len, out);
        return write_chunk(e,
                           json_pack("{s:[{s:i,s:{s:s%}}]}", "tool_calls", "index", ev->index,
                                     "function", "arguments", e->clean.data ? e->clean.data : "",
                                     e->clean.len),
                           NULL, NULL, out);
    }
    case LX_EV_USAGE:
        e->usage = ev->usage;
        e->has_usage = true;
        return LX_OK;
    case LX_EV_FINISH: {
        const char *fr = lx_openai_finish_to(ev->finish);
        e->done = true;
        lx_usage zero = {0};
        const lx_usage *u = e->has_usage ? &e->usage : &zero;
        if (by_hand(e)) {
            char tail[96];
            static const char head[] = "},\"logprobs\":null,\"finish_reason\":\"";
            const char *name = fr ? fr : "stop"; /* a fixed wire name: nothing to escape */
            size_t nl = strlen(name);
            if (nl > sizeof tail - sizeof head - 4)
                nl = sizeof tail - sizeof head - 4; /* never: the names are short */
            memcpy(tail, head, sizeof head - 1);
            memcpy(tail + sizeof head - 1, name, nl);
            memcpy(tail + sizeof head - 1 + nl, "\"}]}", 5);
            if ((st = hand_chunk(e, false, tail, NULL, out)) != LX_OK ||
                (e->include_usage && (st = hand_chunk(e, true, "[],\"usage\":", u, out)) != LX_OK))
                return st;
            return lx_sse_write(out, NULL, "[DONE]", 6);
        }
        if ((st = write_chunk(e, json_object(), fr ? fr : "stop", NULL, out)) != LX_OK)
            return st;
        if (e->include_usage &&
            (st = write_chunk(e, NULL, NULL, lx_openai_usage_to(u), out)) != LX_OK)
            return st;
        return lx_sse_write(out, NULL, "[DONE]", 6);
    }
    case LX_EV_ERROR: {
        lx_error fallback = {0};
        lx_fail(&fallback, LX_ERR_INTERNAL, "stream failed");
        e->done = true;
        lx_buf_reset(&e->scratch);
        if ((st = lx_openai_error_encode(ev->error ? ev->error : &fallback, NULL, &e->scratch)) !=
            LX_OK)
            return st;
        return lx_sse_write(out, NULL, e->scratch.data, e->scratch.len);
    }
    }
    return LX_OK;
}

static void enc_free(lx_stream_encoder *base)
{
    oa_enc *e = (oa_enc *)base;
    if (!e)
        return;
    lx_buf_free(&e->scratch);
    lx_buf_free(&e->prefix);
    lx_buf_free(&e->clean);
    free(e->model);
    free(e);
}

lx_stream_encoder *lx_openai_stream_encoder_new(const lx_codec_opts *o)
{
    oa_enc *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->base.event = enc_event;
    e->base.free = enc_free;
    lx_buf_init(&e->scratch, 0);
    lx_buf_init(&e->prefix, 0);
    lx_buf_init(&e->clean, 0);
    if (o && o->id)
        lx_strlcpy(e->id, o->id, sizeof e->id);
    else
        lx_wire_id(e->id, sizeof e->id, "chatcmpl-");
    if (o && o->model && !(e->model = strdup(o->model))) {
        free(e);
        return NULL;
    }
    e->include_usage = o && o->include_usage;
    e->created = (int64_t)time(NULL);
    e->fast = fast_enabled;
    return &e->base;
}
