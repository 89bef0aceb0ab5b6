/*
 * Ollama native codec: /api/chat requests, responses, NDJSON streams and
 * errors in both directions, and the /api/generate server-side entry points,
 * against fixtures written from the Ollama API reference.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "proto/codec.h"
#include "proto/ollama.h"

static const lx_codec *C = &lx_codec_ollama;

/* ---- helpers ------------------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s (run from the repo root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return b;
}

#define FIX(name) "tests/fixtures/ollama/" name

typedef struct {
    lx_buf log;
    int refuse_after; /* refuse the event with this ordinal (1-based); 0 never */
    int n;
} rec;

static lx_status rec_fn(void *ud, const lx_event *ev)
{
    rec *r = ud;
    lx_buf *b = &r->log;
    r->n++;
    switch (ev->kind) {
    case LX_EV_START:
        lx_buf_printf(b, "start(%s,%s) ", ev->id ? ev->id : "-", ev->model ? ev->model : "-");
        break;
    case LX_EV_TEXT:
        lx_buf_printf(b, "text(%.*s) ", (int)ev->len, ev->text);
        break;
    case LX_EV_THINKING:
        lx_buf_printf(b, "thinking(%.*s|%s) ", ev->text ? (int)ev->len : 0,
                      ev->text ? ev->text : "", ev->signature ? ev->signature : "-");
        break;
    case LX_EV_TOOL_START:
        lx_buf_printf(b, "tool_start(%d,%s,%s) ", ev->index, ev->id ? ev->id : "-", ev->name);
        break;
    case LX_EV_TOOL_ARGS:
        lx_buf_printf(b, "tool_args(%d,%.*s) ", ev->index, (int)ev->len, ev->text);
        break;
    case LX_EV_TOOL_END:
        lx_buf_printf(b, "tool_end(%d) ", ev->index);
        break;
    case LX_EV_USAGE:
        lx_buf_printf(b, "usage(in=%lld,cr=%lld,cw=%lld,out=%lld,rs=%lld) ",
                      (long long)ev->usage.input, (long long)ev->usage.cache_read,
                      (long long)ev->usage.cache_write, (long long)ev->usage.output,
                      (long long)ev->usage.reasoning);
        break;
    case LX_EV_FINISH:
        lx_buf_printf(b, "finish(%s) ", lx_finish_name(ev->finish));
        break;
    case LX_EV_ERROR:
        lx_buf_printf(b, "error(%s) ", ev->error ? ev->error->message : "");
        break;
    }
    if (r->refuse_after && r->n >= r->refuse_after)
        return LX_ERR_CANCELLED;
    return LX_OK;
}

/* Feeds `data` in pieces given by `cut` (piece sizes cycle; 0 = whole) and
 * returns the final status; log and err filled. */
static lx_status run_stream(const char *data, size_t len, const size_t *cuts, size_t n_cuts, rec *r,
                            lx_error *err)
{
    lx_buf_init(&r->log, 0);
    lx_stream_decoder *d = C->stream_decoder_new(rec_fn, r);
    cr_assert_not_null(d);
    lx_status s = LX_OK;
    size_t off = 0, k = 0;
    while (off < len && s == LX_OK) {
        size_t piece = n_cuts ? cuts[k++ % n_cuts] : len;
        if (piece == 0 || piece > len - off)
            piece = len - off;
        s = d->feed(d, data + off, piece, err);
        off += piece;
    }
    if (s == LX_OK)
        s = d->finish(d, err);
    d->free(d);
    return s;
}

/* Runs the whole stream at once, then at every fixed step and in random
 * pieces, and checks all runs agree; returns the log (caller frees). */
static char *stream_all_splits(const char *path, lx_status want, const char *want_log,
                               lx_error *err_out)
{
    size_t len;
    char *data = slurp(path, &len);
    rec r = {0};
    lx_error err;
    lx_status s = run_stream(data, len, NULL, 0, &r, &err);
    cr_assert_eq(s, want, "%s: status %s, want %s (%s)", path, lx_status_name(s),
                 lx_status_name(want), s == LX_OK ? "" : err.message);
    char *log = lx_buf_steal(&r.log, NULL);
    if (want_log)
        cr_assert_str_eq(log, want_log, "%s:\n got %s\nwant %s", path, log, want_log);
    if (err_out)
        *err_out = err;
    for (size_t step = 1; step <= len; step += (step < 16 ? 1 : 7)) {
        rec r2 = {0};
        lx_error e2;
        lx_status s2 = run_stream(data, len, &step, 1, &r2, &e2);
        cr_assert_eq(s2, s, "%s step %zu: status %s", path, step, lx_status_name(s2));
        cr_assert_str_eq(r2.log.data ? r2.log.data : "", log, "%s step %zu", path, step);
        if (s != LX_OK)
            cr_assert_str_eq(e2.message, err.message);
        lx_buf_free(&r2.log);
    }
    srand(42);
    for (int t = 0; t < 50; t++) {
        size_t cuts[16];
        for (int i = 0; i < 16; i++)
            cuts[i] = 1 + (size_t)rand() % 40;
        rec r2 = {0};
        lx_error e2;
        lx_status s2 = run_stream(data, len, cuts, 16, &r2, &e2);
        cr_assert_eq(s2, s);
        cr_assert_str_eq(r2.log.data ? r2.log.data : "", log, "%s random run %d", path, t);
        lx_buf_free(&r2.log);
    }
    free(data);
    return log;
}

static bool streq(const char *a, const char *b)
{
    if (!a || !*a)
        return !b || !*b;
    return b && strcmp(a, b) == 0;
}

static void assert_parts_eq(const lx_part *a, size_t na, const lx_part *b, size_t nb,
                            const char *what)
{
    cr_assert_eq(na, nb, "%s: %zu parts vs %zu", what, na, nb);
    for (size_t i = 0; i < na; i++) {
        cr_assert_eq(a[i].kind, b[i].kind, "%s part %zu kind", what, i);
        cr_assert(streq(a[i].text, b[i].text), "%s part %zu text '%s' vs '%s'", what, i, a[i].text,
                  b[i].text);
        cr_assert(streq(a[i].id, b[i].id), "%s part %zu id", what, i);
        cr_assert(streq(a[i].name, b[i].name), "%s part %zu name", what, i);
        cr_assert(streq(a[i].arguments, b[i].arguments), "%s part %zu args '%s' vs '%s'", what, i,
                  a[i].arguments, b[i].arguments);
        cr_assert(streq(a[i].signature, b[i].signature), "%s part %zu signature", what, i);
        cr_assert(streq(a[i].data, b[i].data), "%s part %zu data", what, i);
        cr_assert(streq(a[i].url, b[i].url), "%s part %zu url", what, i);
        cr_assert(streq(a[i].media_type, b[i].media_type), "%s part %zu media_type", what, i);
        cr_assert_eq(a[i].is_error, b[i].is_error, "%s part %zu is_error", what, i);
    }
}

static void assert_requests_eq(const lx_request *a, const lx_request *b)
{
    cr_assert_eq(a->n_messages, b->n_messages, "messages %zu vs %zu", a->n_messages, b->n_messages);
    for (size_t i = 0; i < a->n_messages; i++) {
        char what[32];
        snprintf(what, sizeof what, "messages[%zu]", i);
        cr_assert_eq(a->messages[i].role, b->messages[i].role, "%s role", what);
        assert_parts_eq(a->messages[i].parts, a->messages[i].n_parts, b->messages[i].parts,
                        b->messages[i].n_parts, what);
    }
    cr_assert_eq(a->n_tools, b->n_tools);
    for (size_t i = 0; i < a->n_tools; i++) {
        cr_assert_str_eq(a->tools[i].name, b->tools[i].name);
        cr_assert(streq(a->tools[i].description, b->tools[i].description));
        cr_assert(streq(a->tools[i].parameters, b->tools[i].parameters), "%s vs %s",
                  a->tools[i].parameters, b->tools[i].parameters);
    }
    cr_assert_eq(a->tool_choice.kind, b->tool_choice.kind);
    cr_assert(streq(a->tool_choice.name, b->tool_choice.name));
    const lx_sampling *x = &a->sampling, *y = &b->sampling;
    cr_assert_eq(x->has_temperature, y->has_temperature);
    cr_assert_float_eq(x->temperature, y->temperature, 1e-9);
    cr_assert_eq(x->has_top_p, y->has_top_p);
    cr_assert_float_eq(x->top_p, y->top_p, 1e-9);
    cr_assert_eq(x->has_top_k, y->has_top_k);
    cr_assert_eq(x->top_k, y->top_k);
    cr_assert_eq(x->has_seed, y->has_seed);
    cr_assert_eq(x->seed, y->seed);
    cr_assert_eq(x->max_tokens, y->max_tokens);
    cr_assert_eq(x->n_stop, y->n_stop);
    for (size_t i = 0; i < x->n_stop; i++)
        cr_assert_str_eq(x->stop[i], y->stop[i]);
    cr_assert_eq(a->format.kind, b->format.kind);
    cr_assert(streq(a->format.schema, b->format.schema));
    cr_assert_eq(a->thinking_budget, b->thinking_budget);
}

static void assert_responses_eq(const lx_response *a, const lx_response *b)
{
    cr_assert(streq(a->id, b->id), "id %s vs %s", a->id, b->id);
    cr_assert(streq(a->model, b->model), "model %s vs %s", a->model, b->model);
    assert_parts_eq(a->parts, a->n_parts, b->parts, b->n_parts, "response");
    cr_assert_eq(a->finish, b->finish, "finish %s vs %s", lx_finish_name(a->finish),
                 lx_finish_name(b->finish));
    cr_assert_eq(a->has_usage, b->has_usage);
    cr_assert_eq(memcmp(&a->usage, &b->usage, sizeof a->usage), 0, "usage differs");
}

static json_t *encode_json(const lx_request *r, const lx_codec_opts *o)
{
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    lx_status s = C->request_encode(r, o, &out, &err);
    cr_assert_eq(s, LX_OK, "encode: %s", err.message);
    json_error_t je;
    json_t *v = json_loadb(out.data, out.len, 0, &je);
    cr_assert_not_null(v, "encoder wrote invalid JSON: %s", je.text);
    lx_buf_free(&out);
    return v;
}

static lx_request *decode_str(const char *body, lx_status want, const char *want_msg)
{
    lx_request *r = NULL;
    lx_error err = {0};
    lx_status s = C->request_decode(body, strlen(body), &r, &err);
    cr_assert_eq(s, want, "status %s want %s (%s)", lx_status_name(s), lx_status_name(want),
                 err.message);
    if (want_msg)
        cr_assert(strstr(err.message, want_msg), "message '%s' lacks '%s'", err.message, want_msg);
    if (s != LX_OK)
        cr_assert_null(r);
    return r;
}

static lx_status enc_sink(void *ud, const lx_event *ev)
{
    void **pp = ud;
    lx_stream_encoder *e = pp[0];
    return e->event(e, ev, pp[1]);
}

/* Encodes a response as a stream, decodes it (3-byte pieces) and collects
 * it again. */
static lx_response *roundtrip_stream(const lx_response *r, const lx_codec_opts *o, lx_buf *wire)
{
    lx_stream_encoder *enc = C->stream_encoder_new(o);
    void *pp[2] = {enc, wire};
    cr_assert_eq(lx_response_replay(r, enc_sink, pp), LX_OK);
    enc->free(enc);
    lx_collector col;
    cr_assert_eq(lx_collector_init(&col), LX_OK);
    lx_stream_decoder *d = C->stream_decoder_new(lx_collector_event, &col);
    lx_error err;
    for (size_t i = 0; i < wire->len; i += 3) {
        size_t n = wire->len - i < 3 ? wire->len - i : 3;
        cr_assert_eq(d->feed(d, wire->data + i, n, &err), LX_OK, "%s", err.message);
    }
    cr_assert_eq(d->finish(d, &err), LX_OK, "%s", err.message);
    d->free(d);
    lx_response *out = lx_collector_take(&col);
    cr_assert_not_null(out);
    lx_collector_free(&col);
    return out;
}

static lx_part *add(lx_request *r, lx_message *m, lx_part_kind k, const char *text)
{
    lx_part *p = lx_message_add_part(r, m, k);
    p->text = text ? lx_arena_strdup(r->arena, text) : NULL;
    return p;
}

static lx_request *decode_file(const char *path, bool generate)
{
    size_t len;
    char *body = slurp(path, &len);
    lx_request *r = NULL;
    lx_error err;
    lx_status s = generate ? lx_ollama_generate_decode(body, len, &r, &err)
                           : C->request_decode(body, len, &r, &err);
    cr_assert_eq(s, LX_OK, "%s: %s", path, err.message);
    free(body);
    return r;
}

/* ---- requests ----------------------------------------------------------- */

Test(ollama_request, decode_chat_fixture)
{
    lx_request *r = decode_file(FIX("chat_request.json"), false);
    cr_assert_str_eq(r->model, "qwen3:8b");
    cr_assert(r->stream, "stream defaults to true in Ollama");
    cr_assert_eq(r->thinking_budget, LX_OLLAMA_THINK_BUDGET);
    cr_assert_eq(r->n_messages, 6);
    lx_message *m = r->messages;
    cr_assert_eq(m[0].role, LX_ROLE_SYSTEM);
    cr_assert_eq(m[1].role, LX_ROLE_USER);
    cr_assert_eq(m[1].n_parts, 2);
    cr_assert_eq(m[1].parts[1].kind, LX_PART_IMAGE);
    cr_assert_str_eq(m[1].parts[1].media_type, "image/png");
    cr_assert_eq(m[2].role, LX_ROLE_ASSISTANT);
    cr_assert_eq(m[2].n_parts, 2);
    cr_assert_eq(m[2].parts[0].kind, LX_PART_THINKING);
    cr_assert_eq(m[2].parts[1].kind, LX_PART_TOOL_CALL);
    cr_assert_null(m[2].parts[1].id);
    cr_assert_str_eq(m[2].parts[1].arguments, "{\"location\":\"Toronto\",\"format\":\"celsius\"}");
    cr_assert_eq(m[3].role, LX_ROLE_TOOL);
    cr_assert_eq(m[3].parts[0].kind, LX_PART_TOOL_RESULT);
    cr_assert_str_eq(m[3].parts[0].name, "get_current_weather");
    cr_assert_str_eq(m[3].parts[0].text, "{\"temperature\": 11, \"conditions\": \"cloudy\"}");
    cr_assert_eq(r->n_tools, 1);
    cr_assert_str_eq(r->tools[0].name, "get_current_weather");
    cr_assert_eq(r->format.kind, LX_FORMAT_JSON_SCHEMA);
    cr_assert_eq(r->sampling.max_tokens, 256);
    cr_assert_float_eq(r->sampling.temperature, 0.2, 1e-9);
    cr_assert_eq(r->sampling.top_k, 20);
    cr_assert_eq(r->sampling.seed, 42);
    cr_assert_eq(r->sampling.n_stop, 1);
    cr_assert_str_eq(r->sampling.stop[0], "<|end|>");
    lx_request_free(r);
}

Test(ollama_request, encode_of_decoded_fixture_is_the_fixture)
{
    size_t len;
    char *body = slurp(FIX("chat_request.json"), &len);
    lx_request *r = NULL;
    cr_assert_eq(C->request_decode(body, len, &r, NULL), LX_OK);
    json_t *got =
        encode_json(r, &(lx_codec_opts){.model = "qwen3:8b", .stream = true, .num_ctx = 8192});
    json_error_t je;
    json_t *want = json_loadb(body, len, 0, &je);
    json_object_del(want, "keep_alive"); /* not carried by the neutral request */
    json_object_set_new(want, "stream", json_true());
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert(json_equal(got, want), "\n got %s\nwant %s", g, w);
    char *wire = json_dumps(got, JSON_COMPACT);
    lx_request *r2 = NULL;
    cr_assert_eq(C->request_decode(wire, strlen(wire), &r2, NULL), LX_OK);
    assert_requests_eq(r, r2);
    cr_assert_str_eq(r2->model, "qwen3:8b");
    cr_assert(r2->stream);
    free(wire);
    free(g);
    free(w);
    json_decref(got);
    json_decref(want);
    lx_request_free(r);
    lx_request_free(r2);
    free(body);
}

Test(ollama_request, num_ctx_is_always_sent_and_stream_is_explicit)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "hi");
    json_t *v = encode_json(r, &(lx_codec_opts){.model = "m", .num_ctx = 32768});
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(v, "options"), "num_ctx")),
                 32768);
    cr_assert(json_is_false(json_object_get(v, "stream")));
    cr_assert_null(json_object_get(v, "think"));
    cr_assert_null(json_object_get(v, "tools"));
    json_decref(v);
    v = encode_json(r, &(lx_codec_opts){.model = "m", .stream = true});
    cr_assert_null(json_object_get(v, "options"));
    cr_assert(json_is_true(json_object_get(v, "stream")));
    json_decref(v);
    /* with sampling options too */
    r->sampling.max_tokens = 10;
    r->sampling.has_top_p = true;
    r->sampling.top_p = 0.5;
    r->format.kind = LX_FORMAT_JSON;
    v = encode_json(r, &(lx_codec_opts){.model = "m", .num_ctx = 4096});
    json_t *o = json_object_get(v, "options");
    cr_assert_eq(json_integer_value(json_object_get(o, "num_ctx")), 4096);
    cr_assert_eq(json_integer_value(json_object_get(o, "num_predict")), 10);
    cr_assert_str_eq(json_string_value(json_object_get(v, "format")), "json");
    json_decref(v);
    /* the model: opts win over the request; none at all is an error */
    r->model = "from-request";
    v = encode_json(r, &(lx_codec_opts){0});
    cr_assert_str_eq(json_string_value(json_object_get(v, "model")), "from-request");
    json_decref(v);
    r->model = NULL;
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){0}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "model"));
    lx_buf_free(&out);
    lx_request_free(r);
}

static lx_request *tool_conversation(void)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "Weather and time?");
    lx_message *a = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    add(r, a, LX_PART_TEXT, "Checking.");
    lx_part *c1 = add(r, a, LX_PART_TOOL_CALL, NULL);
    c1->id = "call_A";
    c1->name = "get_weather";
    c1->arguments = "{\"city\":\"Oslo\"}";
    lx_part *c2 = add(r, a, LX_PART_TOOL_CALL, NULL);
    c2->id = "call_B";
    c2->name = "get_time";
    c2->arguments = NULL;
    lx_message *t = lx_request_add_message(r, LX_ROLE_TOOL);
    add(r, t, LX_PART_TOOL_RESULT, "12:00")->id = "call_B";
    add(r, t, LX_PART_TOOL_RESULT, "-3 C")->id = "call_A";
    return r;
}

Test(ollama_request, tool_names_by_id_and_by_order)
{
    lx_request *r = tool_conversation();
    json_t *v = encode_json(r, &(lx_codec_opts){.model = "m"});
    json_t *msgs = json_object_get(v, "messages");
    cr_assert_eq(json_array_size(msgs), 4);
    json_t *asst = json_array_get(msgs, 1);
    cr_assert_str_eq(json_string_value(json_object_get(asst, "content")), "Checking.");
    json_t *calls = json_object_get(asst, "tool_calls");
    cr_assert_eq(json_array_size(calls), 2);
    cr_assert_eq(json_object_size(json_object_get(
                     json_object_get(json_array_get(calls, 1), "function"), "arguments")),
                 0);
    cr_assert_null(json_object_get(json_array_get(calls, 0), "id"));
    json_t *t0 = json_array_get(msgs, 2), *t1 = json_array_get(msgs, 3);
    cr_assert_str_eq(json_string_value(json_object_get(t0, "role")), "tool");
    cr_assert_str_eq(json_string_value(json_object_get(t0, "tool_name")), "get_time");
    cr_assert_str_eq(json_string_value(json_object_get(t1, "tool_name")), "get_weather");
    json_decref(v);

    /* by order, with an error result */
    r->messages[2].parts[0].id = NULL;
    r->messages[2].parts[1].id = NULL;
    r->messages[2].parts[1].is_error = true;
    v = encode_json(r, &(lx_codec_opts){.model = "m"});
    msgs = json_object_get(v, "messages");
    t0 = json_array_get(msgs, 2);
    t1 = json_array_get(msgs, 3);
    cr_assert_str_eq(json_string_value(json_object_get(t0, "tool_name")), "get_weather");
    cr_assert_str_eq(json_string_value(json_object_get(t1, "tool_name")), "get_time");
    cr_assert_str_eq(json_string_value(json_object_get(t1, "content")), "error: -3 C");
    json_decref(v);

    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    r->messages[2].parts[0].id = "nope";
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages[2].parts[0]"), "%s", err.message);
    r->messages[2].parts[0].id = NULL;
    add(r, &r->messages[2], LX_PART_TOOL_RESULT, "extra");
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages[2].parts[2]"), "%s", err.message);
    r->messages[2].n_parts = 2;
    r->messages[1].parts[1].arguments = "[1,2]";
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "get_weather"), "%s", err.message);
    lx_buf_free(&out);
    lx_request_free(r);
}

Test(ollama_request, images_tools_and_choices)
{
    lx_request *r = lx_request_new();
    lx_message *m = lx_request_add_message(r, LX_ROLE_USER);
    add(r, m, LX_PART_TEXT, "one");
    add(r, m, LX_PART_TEXT, "two");
    lx_part *img = add(r, m, LX_PART_IMAGE, NULL);
    img->url = "data:image/png;base64,iVBORxyz";
    lx_tool *t = lx_request_add_tool(r);
    t->name = "a";
    t = lx_request_add_tool(r);
    t->name = "b";
    t->description = "B";
    t->parameters = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}";
    r->thinking_budget = 100;
    json_t *v = encode_json(r, &(lx_codec_opts){.model = "m"});
    json_t *msg = json_array_get(json_object_get(v, "messages"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(msg, "content")), "one\ntwo");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(msg, "images"), 0)),
                     "iVBORxyz");
    json_t *tools = json_object_get(v, "tools");
    cr_assert_eq(json_array_size(tools), 2);
    json_t *fa = json_object_get(json_array_get(tools, 0), "function");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(fa, "parameters"), "type")),
                     "object");
    cr_assert(json_is_true(json_object_get(v, "think")));
    json_decref(v);
    r->tool_choice.kind = LX_TOOL_CHOICE_NONE;
    v = encode_json(r, &(lx_codec_opts){.model = "m"});
    cr_assert_null(json_object_get(v, "tools"));
    json_decref(v);
    r->tool_choice.kind = LX_TOOL_CHOICE_NAMED;
    r->tool_choice.name = "b";
    v = encode_json(r, &(lx_codec_opts){.model = "m"});
    tools = json_object_get(v, "tools");
    cr_assert_eq(json_array_size(tools), 1);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(tools, 0), "function"), "name")),
                     "b");
    json_decref(v);
    /* images on other roles round-trip too */
    const char *ai = "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":"
                     "\"drawn\",\"images\":[\"R0lGODlh\"]}]}";
    lx_request *dec = decode_str(ai, LX_OK, NULL);
    cr_assert_str_eq(dec->messages[0].parts[1].media_type, "image/gif");
    json_t *enc = encode_json(dec, &(lx_codec_opts){.model = "m"});
    cr_assert_str_eq(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(enc, "messages"), 0), "images"), 0)),
        "R0lGODlh");
    json_decref(enc);
    lx_request_free(dec);
    /* a URL image cannot go to Ollama */
    img->url = "https://example.com/cat.png";
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages[0].parts[2]"), "%s", err.message);
    cr_assert(strstr(err.message, "base64"), "%s", err.message);
    lx_buf_free(&out);
    lx_request_free(r);
}

Test(ollama_request, decode_generate)
{
    lx_request *r = decode_file(FIX("generate_request.json"), true);
    cr_assert_str_eq(r->model, "llava:7b");
    cr_assert_not(r->stream);
    cr_assert_eq(r->n_messages, 2);
    cr_assert_eq(r->messages[0].role, LX_ROLE_SYSTEM);
    cr_assert_str_eq(r->messages[0].parts[0].text, "You are terse.");
    cr_assert_eq(r->messages[1].role, LX_ROLE_USER);
    cr_assert_eq(r->messages[1].n_parts, 2);
    cr_assert_str_eq(r->messages[1].parts[0].text, "Describe this picture in one sentence.");
    cr_assert_str_eq(r->messages[1].parts[1].media_type, "image/jpeg");
    cr_assert_eq(r->format.kind, LX_FORMAT_JSON);
    cr_assert(r->sampling.has_temperature);
    cr_assert_float_eq(r->sampling.temperature, 0.0, 1e-12);
    cr_assert_eq(r->sampling.max_tokens, 0);
    cr_assert_str_eq(r->sampling.stop[0], "\n\n");
    lx_request_free(r);
    lx_request *x = NULL;
    lx_error err;
    const char *b = "{\"model\":\"m\",\"prompt\":\"def f(\",\"suffix\":\"    return x\"}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "suffix"), "%s", err.message);
    cr_assert_null(x);
    b = "{\"model\":\"m\",\"prompt\":\"p\",\"context\":[1,2,3]}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "context"), "%s", err.message);
    b = "{\"prompt\":\"p\"}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "model"), "%s", err.message);
    b = "{\"model\":\"m\",\"prompt\":\"p\",\"images\":[1]}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "images[0]"), "%s", err.message);
    b = "{\"model\":\"m\",\"prompt\":\"p\",\"suffix\":\"\",\"think\":\"high\"}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_OK, "%s", err.message);
    cr_assert(x->stream);
    cr_assert_eq(x->thinking_budget, 2 * LX_OLLAMA_THINK_BUDGET);
    lx_request_free(x);
}

Test(ollama_request, decode_errors_name_the_field)
{
    decode_str("{\"model\":\"m\",\"messages\":[", LX_ERR_INVALID, "invalid JSON");
    decode_str("{\"messages\":[]}", LX_ERR_INVALID, "model: required");
    decode_str("{\"model\":\"m\",\"messages\":{}}", LX_ERR_INVALID, "messages: expected an array");
    decode_str("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},5]}",
               LX_ERR_INVALID, "messages[1]: expected an object");
    decode_str("{\"model\":\"m\",\"messages\":[{\"role\":\"bot\",\"content\":\"a\"}]}",
               LX_ERR_INVALID, "messages[0].role");
    decode_str("{\"model\":\"m\",\"messages\":[{\"content\":\"a\"}]}", LX_ERR_INVALID,
               "messages[0].role: required");
    decode_str("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":7}]}", LX_ERR_INVALID,
               "messages[0].content");
    decode_str("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\",\"images\":"
               "[\"a\",null]}]}",
               LX_ERR_INVALID, "messages[0].images[1]");
    decode_str("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{}]}]}",
               LX_ERR_INVALID, "messages[0].tool_calls[0].function: expected an object");
    decode_str(
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":"
        "{\"name\":\"f\",\"arguments\":[1]}}]}]}",
        LX_ERR_INVALID, "messages[0].tool_calls[0].function.arguments");
    decode_str("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"tool_calls\":[]}]}",
               LX_ERR_INVALID, "messages[0].tool_calls");
    decode_str("{\"model\":\"m\",\"options\":{\"stop\":[\"a\",2]}}", LX_ERR_INVALID,
               "options.stop[1]");
    decode_str("{\"model\":\"m\",\"options\":{\"temperature\":\"warm\"}}", LX_ERR_INVALID,
               "options.temperature");
    decode_str("{\"model\":\"m\",\"options\":[]}", LX_ERR_INVALID, "options: expected an object");
    decode_str("{\"model\":\"m\",\"think\":\"extreme\"}", LX_ERR_INVALID, "think");
    decode_str("{\"model\":\"m\",\"stream\":\"yes\"}", LX_ERR_INVALID, "stream");
    decode_str("{\"model\":\"m\",\"format\":\"xml\"}", LX_ERR_INVALID, "format");
    decode_str("{\"model\":\"m\",\"tools\":[{\"type\":\"retrieval\",\"function\":{}}]}",
               LX_ERR_INVALID, "tools[0].type");
    decode_str(
        "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"parameters\":{}}}]}",
        LX_ERR_INVALID, "tools[0].function.name: required");
    lx_request *r = decode_str("{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":"
                               "\"assistant\",\"content\":\"x\",\"tool_calls\":[{\"function\":"
                               "{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}]}",
                               LX_OK, NULL);
    cr_assert_not(r->stream);
    cr_assert_eq(r->messages[0].n_parts, 2);
    cr_assert_str_eq(r->messages[0].parts[1].arguments, "{\"a\":1}");
    lx_request_free(r);
}

/* ---- http --------------------------------------------------------------- */

Test(ollama_http, url_and_headers)
{
    lx_buf url, hdr;
    lx_buf_init(&url, 0);
    lx_buf_init(&hdr, 0);
    lx_error err;
    cr_assert_eq(C->http_prepare(&(lx_codec_opts){.model = "m"}, &url, &hdr, &err), LX_OK);
    cr_assert_str_eq(url.data, "http://localhost:11434/api/chat");
    cr_assert_str_eq(hdr.data, "Content-Type: application/json\n");
    lx_buf_reset(&url);
    lx_buf_reset(&hdr);
    cr_assert_eq(C->http_prepare(&(lx_codec_opts){.base_url = "https://ollama.example/",
                                                  .api_key = "sekrit",
                                                  .stream = true},
                                 &url, &hdr, &err),
                 LX_OK);
    cr_assert_str_eq(url.data, "https://ollama.example/api/chat");
    cr_assert_str_eq(hdr.data, "Content-Type: application/json\nAuthorization: Bearer sekrit\n");
    cr_assert_eq(C->http_prepare(&(lx_codec_opts){.api_key = "a\nb"}, &url, &hdr, &err),
                 LX_ERR_INVALID);
    lx_buf_free(&url);
    lx_buf_free(&hdr);
    cr_assert_str_eq(C->stream_content_type, "application/x-ndjson");
    cr_assert_eq(lx_codec_find("ollama"), C);
}

/* ---- responses ---------------------------------------------------------- */

static lx_response *decode_resp_file(const char *path)
{
    size_t len;
    char *body = slurp(path, &len);
    lx_response *r = NULL;
    lx_error err;
    cr_assert_eq(C->response_decode(body, len, &r, &err), LX_OK, "%s: %s", path, err.message);
    free(body);
    return r;
}

Test(ollama_response, chat_with_thinking)
{
    lx_response *r = decode_resp_file(FIX("chat_response.json"));
    cr_assert_str_eq(r->model, "qwen3:8b");
    cr_assert_null(r->id);
    cr_assert_eq(r->created, 1721680408);
    cr_assert_eq(r->n_parts, 2);
    cr_assert_eq(r->parts[0].kind, LX_PART_THINKING);
    cr_assert_str_eq(r->parts[0].text, "A greeting; answer politely.");
    cr_assert_str_eq(lx_response_text(r), "Hello! How are you today?");
    cr_assert_eq(r->finish, LX_FINISH_STOP);
    cr_assert(r->has_usage);
    cr_assert_eq(r->usage.input, 26);
    cr_assert_eq(r->usage.output, 298);
    cr_assert_eq(r->usage.cache_read + r->usage.reasoning + r->usage.cache_write, 0);
    lx_response_free(r);
}

Test(ollama_response, tool_calls_and_identity)
{
    lx_response *r = decode_resp_file(FIX("chat_response_tools.json"));
    cr_assert_eq(r->created, 1735794245);
    cr_assert_eq(r->n_parts, 2);
    cr_assert_eq(r->parts[0].kind, LX_PART_TOOL_CALL);
    cr_assert_null(r->parts[0].id);
    cr_assert_str_eq(r->parts[0].name, "get_current_weather");
    cr_assert_str_eq(r->parts[0].arguments, "{\"location\":\"Paris, FR\",\"format\":\"celsius\"}");
    cr_assert_str_eq(r->parts[1].arguments, "{}");
    cr_assert_eq(r->finish, LX_FINISH_TOOL_CALLS);
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    cr_assert_eq(C->response_encode(r, &(lx_codec_opts){0}, &out, &err), LX_OK);
    lx_response *r2 = NULL;
    cr_assert_eq(C->response_decode(out.data, out.len, &r2, &err), LX_OK, "%s", err.message);
    assert_responses_eq(r, r2);
    cr_assert_eq(r2->created, r->created);
    cr_assert(strstr(out.data, "\"done\":true"));
    cr_assert(strstr(out.data, "\"done_reason\":\"stop\""));
    cr_assert(strstr(out.data, "\"created_at\":\"2025-01-02T05:04:05.000000000Z\""), "%s",
              out.data);
    lx_buf_free(&out);
    lx_response_free(r);
    lx_response_free(r2);
}

Test(ollama_response, generate_error_and_garbage)
{
    const char *g = "{\"model\":\"m\",\"response\":\"The end.\",\"thinking\":\"hm\",\"done\":true,"
                    "\"done_reason\":\"length\",\"prompt_eval_count\":3,\"eval_count\":4}";
    lx_response *r = NULL;
    lx_error err;
    cr_assert_eq(C->response_decode(g, strlen(g), &r, &err), LX_OK);
    cr_assert_eq(r->n_parts, 2);
    cr_assert_str_eq(lx_response_text(r), "The end.");
    cr_assert_eq(r->finish, LX_FINISH_LENGTH);
    lx_response_free(r);
    const char *e = "{\"error\":\"model 'x' not found\"}";
    cr_assert_eq(C->response_decode(e, strlen(e), &r, &err), LX_ERR_UPSTREAM);
    cr_assert_str_eq(err.message, "model 'x' not found");
    cr_assert_str_eq(err.provider, "ollama");
    const char *bad[][2] = {
        {"{\"message\":3}", "message: expected an object"},
        {"{\"message\":{\"content\":1}}", "message.content"},
        {"{\"message\":{\"tool_calls\":{}}}", "message.tool_calls"},
        {"{\"message\":{\"tool_calls\":[{\"function\":{\"arguments\":{}}}]}}",
         "message.tool_calls[0].function.name"},
        {"{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":5}}]}}",
         "arguments"},
        {"{\"eval_count\":\"many\"}", "eval_count"},
        {"{\"eval_count\":-5}", "eval_count"},
        {"{\"created_at\":5}", "created_at"},
        {"", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lx_response *x = NULL;
        lx_status s = C->response_decode(bad[i][0], strlen(bad[i][0]), &x, &err);
        cr_assert_eq(s, LX_ERR_PROTO, "%s: %s", bad[i][0], lx_status_name(s));
        cr_assert_null(x);
        cr_assert(strstr(err.message, bad[i][1]), "%s: %s", bad[i][0], err.message);
    }
}

/* ---- streams ------------------------------------------------------------ */

Test(ollama_stream, chat)
{
    free(stream_all_splits(FIX("stream_chat.ndjson"), LX_OK,
                           "start(-,llama3.2) text(The) text( sky is) text( blue ✓) "
                           "usage(in=26,cr=0,cw=0,out=282,rs=0) finish(stop) ",
                           NULL));
}

Test(ollama_stream, tool_calls)
{
    free(stream_all_splits(
        FIX("stream_tools.ndjson"), LX_OK,
        "start(-,qwen3:8b) thinking(Need the weather.|-) "
        "tool_start(0,-,get_current_weather) "
        "tool_args(0,{\"location\":\"Toronto\",\"format\":\"celsius\"}) tool_end(0) "
        "tool_start(1,-,get_time) tool_args(1,{}) tool_end(1) "
        "tool_start(2,-,get_news) tool_args(2,{\"topic\":\"rain\",\"n\":[1,2]}) tool_end(2) "
        "usage(in=190,cr=0,cw=0,out=45,rs=0) finish(tool_calls) ",
        NULL));
}

Test(ollama_stream, thinking_and_length)
{
    free(stream_all_splits(FIX("stream_thinking.ndjson"), LX_OK,
                           "start(-,deepseek-r1:7b) thinking(Let me|-) thinking( count.|-) "
                           "text(Three) usage(in=12,cr=0,cw=0,out=64,rs=0) finish(length) ",
                           NULL));
}

Test(ollama_stream, generate_lines)
{
    free(stream_all_splits(FIX("stream_generate.ndjson"), LX_OK,
                           "start(-,llama3.2) text(The) text( end.) "
                           "usage(in=26,cr=0,cw=0,out=259,rs=0) finish(stop) ",
                           NULL));
}

Test(ollama_stream, error_line)
{
    lx_error err;
    free(stream_all_splits(FIX("stream_error.ndjson"), LX_ERR_UPSTREAM,
                           "start(-,llama3.2) text(Par) ", &err));
    cr_assert_str_eq(err.message,
                     "an error was encountered while running the model: unexpected EOF");
    cr_assert_str_eq(err.provider, "ollama");
}

Test(ollama_stream, cut_stream)
{
    lx_error err;
    free(stream_all_splits(FIX("stream_cut.ndjson"), LX_ERR_PROTO,
                           "start(-,llama3.2) text(Cut) text( off) ", &err));
    cr_assert_str_eq(err.message, "stream ended before done:true");
}

Test(ollama_stream, malformed_line)
{
    lx_error err;
    free(stream_all_splits(FIX("stream_malformed.ndjson"), LX_ERR_PROTO,
                           "start(-,llama3.2) text(ok) ", &err));
    cr_assert(strstr(err.message, "invalid JSON"), "%s", err.message);
}

Test(ollama_stream, garbage_and_refusal)
{
    const char *cases[][2] = {
        {"[1]\n", "expected a JSON object"},
        {"{\"message\":\"hi\"}\n", "message: expected an object"},
        {"{\"message\":{\"content\":[1]}}\n", "message.content"},
        {"{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"nope\"}}]}}"
         "\n",
         "arguments"},
        {"{\"done\":\"yes\"}\n", "done"},
        {"{\"done\":true,\"done_reason\":5}\n", "done_reason"},
        {"{\"done\":true,\"eval_count\":1.5}\n", "eval_count"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rec r = {0};
        lx_error err;
        lx_status s = run_stream(cases[i][0], strlen(cases[i][0]), NULL, 0, &r, &err);
        cr_assert_eq(s, LX_ERR_PROTO, "%s: %s", cases[i][0], lx_status_name(s));
        cr_assert(strstr(err.message, cases[i][1]), "%s: %s", cases[i][0], err.message);
        lx_buf_free(&r.log);
    }
    /* lines after done are ignored; FINISH stays last */
    const char *after = "{\"done\":true}\n{\"message\":{\"content\":\"late\"}}\n";
    rec r = {0};
    lx_error err;
    cr_assert_eq(run_stream(after, strlen(after), NULL, 0, &r, &err), LX_OK);
    cr_assert_str_eq(r.log.data, "start(-,-) finish(stop) ");
    lx_buf_free(&r.log);
    size_t len;
    char *data = slurp(FIX("stream_chat.ndjson"), &len);
    rec q = {.refuse_after = 3};
    cr_assert_eq(run_stream(data, len, NULL, 0, &q, &err), LX_ERR_CANCELLED);
    cr_assert_eq(q.n, 3);
    lx_buf_free(&q.log);
    free(data);
}

Test(ollama_stream, encode_decode_identity)
{
    lx_response *r = decode_resp_file(FIX("chat_response_tools.json"));
    lx_part *t = lx_response_add_part(r, LX_PART_TEXT);
    t->text = "Done \"quoted\"\n";
    lx_buf wire;
    lx_buf_init(&wire, 0);
    lx_response *back = roundtrip_stream(r, &(lx_codec_opts){.model = "x"}, &wire);
    r->created = 0;
    assert_responses_eq(r, back);
    /* every line is one JSON object; the last one is done:true with counts and durations */
    char *save = NULL, *copy = strdup(wire.data), *last = NULL;
    int lines = 0;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *v = json_loads(l, 0, &je);
        cr_assert(json_is_object(v), "line %d: %s", lines, l);
        const char *ca = json_string_value(json_object_get(v, "created_at"));
        cr_assert(ca && strlen(ca) == 30 && ca[19] == '.' && ca[29] == 'Z', "created_at %s", ca);
        json_decref(v);
        last = l;
        lines++;
    }
    cr_assert_eq(lines, 4); /* two tool lines, one text line, the final line */
    json_error_t je;
    json_t *fin = json_loads(last, 0, &je);
    cr_assert(json_is_true(json_object_get(fin, "done")));
    cr_assert_eq(json_integer_value(json_object_get(fin, "prompt_eval_count")), 122);
    cr_assert_eq(json_integer_value(json_object_get(fin, "eval_count")), 33);
    json_int_t total = json_integer_value(json_object_get(fin, "total_duration"));
    json_int_t pe = json_integer_value(json_object_get(fin, "prompt_eval_duration"));
    json_int_t ev = json_integer_value(json_object_get(fin, "eval_duration"));
    cr_assert(pe >= 0 && ev >= 0 && total == pe + ev, "%lld %lld %lld", (long long)total,
              (long long)pe, (long long)ev);
    cr_assert_str_eq(json_string_value(json_object_get(fin, "model")), "llama3.2");
    json_decref(fin);
    free(copy);
    lx_response_free(back);
    lx_response_free(r);
    lx_buf_free(&wire);
}

/* The lines of an encoded stream with created_at and durations blanked. */
static char *normalised_lines(const lx_buf *wire)
{
    lx_buf n;
    lx_buf_init(&n, 0);
    char *copy = strdup(wire->data), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *v = json_loads(l, 0, &je);
        cr_assert(json_is_object(v), "%s", l);
        const char *keys[] = {"created_at", "total_duration", "prompt_eval_duration",
                              "eval_duration"};
        for (size_t i = 0; i < 4; i++)
            if (json_object_get(v, keys[i]))
                json_object_set_new(v, keys[i], json_string("*"));
        char *d = json_dumps(v, JSON_COMPACT);
        lx_buf_printf(&n, "%s\n", d);
        free(d);
        json_decref(v);
    }
    free(copy);
    return lx_buf_steal(&n, NULL);
}

Test(ollama_stream, encoder_wire_shape)
{
    lx_stream_encoder *e = C->stream_encoder_new(&(lx_codec_opts){.model = "asked"});
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_usage u = {.input = 3, .cache_read = 4, .output = 5, .reasoning = 6};
    const lx_event evs[] = {
        {.kind = LX_EV_START, .model = "llama3.2"},
        {.kind = LX_EV_THINKING, .text = "hm", .len = 2},
        {.kind = LX_EV_TEXT, .text = "Hi", .len = 2},
        {.kind = LX_EV_TOOL_START, .index = 0, .id = "ignored", .name = "f"},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "{\"a\":", .len = 5},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "1}", .len = 2},
        {.kind = LX_EV_TOOL_END, .index = 0},
        {.kind = LX_EV_USAGE, .usage = u},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_TOOL_CALLS},
    };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        cr_assert_eq(e->event(e, &evs[i], &out), LX_OK, "event %zu", i);
    e->free(e);
    char *got = normalised_lines(&out);
#define PRE "{\"model\":\"llama3.2\",\"created_at\":\"*\",\"message\":{\"role\":\"assistant\","
    cr_assert_str_eq(
        got,
        PRE "\"content\":\"\",\"thinking\":\"hm\"},\"done\":false}\n" PRE
            "\"content\":\"Hi\"},\"done\":false}\n" PRE
            "\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":"
            "{\"a\":1}}}]},\"done\":false}\n" PRE
            "\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":\"*\","
            "\"load_duration\":0,\"prompt_eval_count\":7,\"prompt_eval_duration\":\"*\","
            "\"eval_count\":11,\"eval_duration\":\"*\"}\n");
#undef PRE
    free(got);
    lx_buf_free(&out);
}

Test(ollama_stream, generate_encoder_and_errors)
{
    lx_stream_encoder *e = lx_ollama_generate_stream_encoder_new(&(lx_codec_opts){.model = "g"});
    lx_buf out;
    lx_buf_init(&out, 0);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_START}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_THINKING, .text = "t", .len = 1}, &out),
                 LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_THINKING, .signature = "s"}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_TEXT, .text = "hi", .len = 2}, &out), LX_OK);
    lx_usage u = {.input = 1, .cache_read = 2, .output = 3, .reasoning = 4};
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_USAGE, .usage = u}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_FINISH, .finish = LX_FINISH_LENGTH}, &out),
                 LX_OK);
    cr_assert_neq(e->event(e, &(lx_event){.kind = LX_EV_TEXT, .text = "x", .len = 1}, &out), LX_OK);
    e->free(e);
    rec r = {0};
    lx_error err;
    cr_assert_eq(run_stream(out.data, out.len, NULL, 0, &r, &err), LX_OK, "%s", err.message);
    cr_assert_str_eq(r.log.data, "start(-,g) thinking(t|-) text(hi) "
                                 "usage(in=3,cr=0,cw=0,out=7,rs=0) finish(length) ");
    cr_assert(strstr(out.data, "\"response\":\"hi\""));
    cr_assert_null(strstr(out.data, "\"message\""));
    lx_buf_free(&r.log);

    /* an ERROR event becomes an error line */
    lx_buf_reset(&out);
    e = C->stream_encoder_new(&(lx_codec_opts){.model = "m"});
    lx_error er = {0};
    lx_fail(&er, LX_ERR_UPSTREAM, "boom \"x\"");
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_TEXT, .text = "a", .len = 1}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_ERROR, .error = &er}, &out), LX_OK);
    e->free(e);
    rec r2 = {0};
    cr_assert_eq(run_stream(out.data, out.len, NULL, 0, &r2, &err), LX_ERR_UPSTREAM);
    cr_assert_str_eq(err.message, "boom \"x\"");
    lx_buf_free(&r2.log);

    /* whole generate answers */
    lx_response *resp = decode_resp_file(FIX("chat_response.json"));
    lx_buf_reset(&out);
    cr_assert_eq(lx_ollama_generate_response_encode(resp, NULL, &out, &err), LX_OK);
    lx_response *back = NULL;
    cr_assert_eq(C->response_decode(out.data, out.len, &back, &err), LX_OK);
    cr_assert(strstr(out.data, "\"response\":\"Hello! How are you today?\""), "%s", out.data);
    assert_responses_eq(resp, back);
    lx_response_free(resp);
    lx_response_free(back);
    lx_buf_free(&out);
}

/* ---- errors ------------------------------------------------------------- */

Test(ollama_error, decode_and_encode)
{
    size_t len;
    char *body = slurp(FIX("error.json"), &len);
    lx_error err;
    C->error_decode(404, body, len, &err);
    cr_assert_eq(err.code, LX_ERR_UPSTREAM);
    cr_assert_eq(err.http_status, 404);
    cr_assert_str_eq(err.provider, "ollama");
    cr_assert_str_eq(err.type, "not_found");
    cr_assert_str_eq(err.message, "model \"llama9\" not found, try pulling it first");
    free(body);
    C->error_decode(500, "panic: runtime error\n\tgoroutine 1", 33, &err);
    cr_assert(strstr(err.message, "panic: runtime error"), "%s", err.message);
    cr_assert_null(strchr(err.message, '\n'));
    lx_buf out;
    lx_buf_init(&out, 0);
    int http = 0;
    lx_error e = {0};
    lx_fail(&e, LX_ERR_INVALID, "messages[0].role: bad");
    cr_assert_eq(C->error_encode(&e, &http, &out), LX_OK);
    cr_assert_eq(http, 400);
    cr_assert_str_eq(out.data, "{\"error\":\"messages[0].role: bad\"}");
    lx_error back;
    C->error_decode(http, out.data, out.len, &back);
    cr_assert_str_eq(back.message, "messages[0].role: bad");
    lx_buf_reset(&out);
    e.http_status = 429;
    cr_assert_eq(C->error_encode(&e, &http, &out), LX_OK);
    cr_assert_eq(http, 429);
    lx_buf_free(&out);
}

/* ---- across dialects ---------------------------------------------------- */

Test(ollama_cross, openai_conversation_to_ollama)
{
    size_t len;
    char *body = slurp("tests/fixtures/openai/request_full.json", &len);
    lx_request *oa = NULL;
    lx_error err;
    cr_assert_eq(lx_codec_openai.request_decode(body, len, &oa, &err), LX_OK, "%s", err.message);
    /* the https image cannot travel to Ollama */
    lx_buf out;
    lx_buf_init(&out, 0);
    cr_assert_eq(C->request_encode(oa, &(lx_codec_opts){.model = "llama3.2"}, &out, &err),
                 LX_ERR_INVALID);
    cr_assert(strstr(err.message, "base64"), "%s", err.message);
    /* without it the conversation goes through, tool results named by call id */
    for (size_t i = 0; i < oa->n_messages; i++) {
        lx_message *m = &oa->messages[i];
        for (size_t j = 0; j < m->n_parts; j++)
            if (m->parts[j].kind == LX_PART_IMAGE && m->parts[j].url &&
                strncmp(m->parts[j].url, "https:", 6) == 0)
                m->parts[j].url = "data:image/jpeg;base64,/9j/";
    }
    json_t *v =
        encode_json(oa, &(lx_codec_opts){.model = "llama3.2", .num_ctx = 16384, .stream = true});
    char *wire = json_dumps(v, JSON_COMPACT);
    cr_assert(strstr(wire, "\"images\":[\"iVBORw0KGgo=\",\"/9j/\"]"), "%s", wire);
    cr_assert(strstr(wire, "\"num_ctx\":16384"), "%s", wire);
    lx_request *o = NULL;
    cr_assert_eq(C->request_decode(wire, strlen(wire), &o, &err), LX_OK, "%s", err.message);
    size_t results = 0;
    for (size_t i = 0; i < o->n_messages; i++)
        if (o->messages[i].role == LX_ROLE_TOOL) {
            cr_assert_str_eq(o->messages[i].parts[0].name, "get_weather");
            results++;
        }
    cr_assert_eq(results, 2);
    cr_assert_eq(o->sampling.max_tokens, oa->sampling.max_tokens);
    cr_assert_eq(o->format.kind, LX_FORMAT_JSON_SCHEMA);
    cr_assert(o->stream);
    free(wire);
    json_decref(v);
    lx_buf_free(&out);
    lx_request_free(o);
    lx_request_free(oa);
    free(body);
}
