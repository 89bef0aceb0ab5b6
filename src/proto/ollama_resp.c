/*
 * ollama_resp.c — Ollama answers, whole and streamed, in both directions.
 *
 * /api/chat answer (a stream is the same object per line, NDJSON):
 *
 *   {"model": "llama3.2", "created_at": "2024-07-22T20:33:28.123456789Z",
 *    "message": {"role": "assistant", "content": "text", "thinking": "...",
 *                "tool_calls": [{"function": {"name", "arguments": {...}}}]},
 *    "done": false}
 *   ...
 *   {"model": ..., "created_at": ..., "message": {"role": "assistant", "content": ""},
 *    "done": true, "done_reason": "stop" | "length" | "load" | "unload",
 *    "total_duration": ns, "load_duration": ns, "prompt_eval_count": n,
 *    "prompt_eval_duration": ns, "eval_count": n, "eval_duration": ns}
 *
 * /api/generate lines carry `response` (and `thinking`) instead of
 * `message`; the decoder accepts both shapes. Tool calls arrive whole, one
 * or more per line, without ids. An error is a line {"error": "message"}
 * (also the whole body of a failed call).
 *
 * Usage: input = prompt_eval_count, output = eval_count; the encoders write
 * the neutral totals (input + cache, output + reasoning) back into them.
 * done_reason: stop -> STOP (TOOL_CALLS when calls were made), length ->
 * LENGTH, anything else -> OTHER. The decoder sends START on the first line,
 * TEXT / THINKING / TOOL_* as lines arrive, USAGE and FINISH on done:true;
 * without a done line finish() returns LX_ERR_PROTO. The stream encoder
 * measures the durations of its final line with its own clock: from START
 * to the first content (prompt_eval_duration), from there to FINISH
 * (eval_duration), and the sum (total_duration).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/json.h"
#include "proto/ndjson.h"
#include "proto/ollama.h"

/* ---- shared pieces ------------------------------------------------------ */

static lx_finish finish_from(const char *reason, bool calls)
{
    if (!reason || strcmp(reason, "stop") == 0)
        return calls ? LX_FINISH_TOOL_CALLS : LX_FINISH_STOP;
    if (strcmp(reason, "length") == 0)
        return LX_FINISH_LENGTH;
    return LX_FINISH_OTHER;
}

static int64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* RFC 3339 with nanoseconds, UTC: 2024-07-22T20:33:28.123456789Z */
static void rfc3339(int64_t unix_ns, char *buf, size_t cap)
{
    time_t sec = (time_t)(unix_ns / 1000000000);
    long ns = (long)(unix_ns % 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%09ldZ", ns);
}

/* Unix seconds of an RFC 3339 time; 0 when unreadable. */
static int64_t parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    int used = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = s + used;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    int64_t t = (int64_t)timegm(&tm);
    int oh = 0, om = 0;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
        t += (*p == '+' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
    return t;
}

static lx_status as_proto(lx_status s, lx_error *err)
{
    if (s == LX_ERR_INVALID) {
        if (err)
            err->code = LX_ERR_PROTO;
        return LX_ERR_PROTO;
    }
    return s;
}

static lx_status upstream_error(const json_t *e, lx_error *err)
{
    const char *msg = json_is_string(e) ? json_string_value(e)
                      : json_is_string(json_object_get(e, "message"))
                          ? json_string_value(json_object_get(e, "message"))
                          : "Ollama reported an error";
    lx_fail(err, LX_ERR_UPSTREAM, "%s", msg);
    if (err) {
        err->http_status = 0;
        lx_strlcpy(err->provider, "ollama", sizeof err->provider);
        err->type[0] = '\0';
    }
    return LX_ERR_UPSTREAM;
}

static lx_status read_usage(const json_t *root, lx_usage *u, bool *has, lx_error *err)
{
    int64_t in = 0, out = 0;
    bool hi = false, ho = false;
    lx_status s;
    if ((s = lx_json_opt_int(root, "prompt_eval_count", NULL, &in, &hi, err)) != LX_OK ||
        (s = lx_json_opt_int(root, "eval_count", NULL, &out, &ho, err)) != LX_OK)
        return as_proto(s, err);
    if (in < 0 || out < 0)
        return lx_fail(err, LX_ERR_PROTO, "%s: negative token count",
                       in < 0 ? "prompt_eval_count" : "eval_count");
    memset(u, 0, sizeof *u);
    u->input = in;
    u->output = out;
    *has = hi || ho;
    return LX_OK;
}

/* One tool call object -> name, id (may be NULL) and compact argument JSON,
 * all in `a`. */
static lx_status read_call(lx_arena *a, const json_t *c, const char *ctx, char **id, char **name,
                           char **args, lx_error *err)
{
    char fctx[160];
    snprintf(fctx, sizeof fctx, "%s.function", ctx);
    json_t *fn = json_object_get(c, "function");
    if (!json_is_object(c) || !json_is_object(fn))
        return lx_fail(err, LX_ERR_PROTO, "%s: expected an object", json_is_object(c) ? fctx : ctx);
    lx_status s;
    if ((s = lx_json_opt_str(a, c, "id", ctx, id, err)) != LX_OK ||
        (s = lx_json_opt_str(a, fn, "name", fctx, name, err)) != LX_OK)
        return as_proto(s, err);
    if (!*name)
        return lx_fail(err, LX_ERR_PROTO, "%s.name: required", fctx);
    json_t *av = json_object_get(fn, "arguments");
    json_t *parsed = NULL;
    if (json_is_string(av)) { /* some servers send the OpenAI string form */
        json_error_t je;
        parsed = json_loads(json_string_value(av), 0, &je);
        av = parsed ? parsed : json_false(); /* not JSON: refused below */
    }
    if (av && !json_is_null(av) && !json_is_object(av)) {
        json_decref(parsed);
        return lx_fail(err, LX_ERR_PROTO, "%s.arguments: expected an object", fctx);
    }
    *args = json_is_object(av) ? lx_json_dump_arena(a, av) : lx_arena_strdup(a, "{}");
    json_decref(parsed);
    return *args ? LX_OK : LX_ERR_NOMEM;
}

/* ---- response decode ---------------------------------------------------- */

static lx_status add_text_part(lx_response *r, lx_part_kind k, const json_t *obj, const char *key,
                               const char *ctx, lx_error *err)
{
    char *t = NULL;
    lx_status s = lx_json_opt_str(r->arena, obj, key, ctx, &t, err);
    if (s != LX_OK)
        return as_proto(s, err);
    if (!t || !*t)
        return LX_OK;
    lx_part *p = lx_response_add_part(r, k);
    if (!p)
        return LX_ERR_NOMEM;
    p->text = t;
    return LX_OK;
}

lx_status lx_ollama_response_decode(const char *body, size_t len, lx_response **out, lx_error *err)
{
    json_t *root = NULL;
    lx_response *r = NULL;
    lx_status s;
    *out = NULL;
    if ((s = lx_json_parse(body, len, true, &root, err)) != LX_OK)
        return as_proto(s, err);
    json_t *e = json_object_get(root, "error");
    if (e && !json_is_null(e)) {
        s = upstream_error(e, err);
        goto fail;
    }
    s = LX_ERR_NOMEM;
    if (!(r = lx_response_new()))
        goto fail;
    char *created = NULL, *reason = NULL;
    if ((s = lx_json_opt_str(r->arena, root, "model", NULL, &r->model, err)) != LX_OK ||
        (s = lx_json_opt_str(r->arena, root, "created_at", NULL, &created, err)) != LX_OK ||
        (s = lx_json_opt_str(r->arena, root, "done_reason", NULL, &reason, err)) != LX_OK) {
        s = as_proto(s, err);
        goto fail;
    }
    r->created = parse_rfc3339(created);
    json_t *msg = json_object_get(root, "message");
    bool calls = false;
    if (msg && !json_is_null(msg)) {
        if (!json_is_object(msg)) {
            s = lx_fail(err, LX_ERR_PROTO, "message: expected an object");
            goto fail;
        }
        if ((s = add_text_part(r, LX_PART_THINKING, msg, "thinking", "message", err)) != LX_OK ||
            (s = add_text_part(r, LX_PART_TEXT, msg, "content", "message", err)) != LX_OK)
            goto fail;
        json_t *tc = json_object_get(msg, "tool_calls");
        if (tc && !json_is_null(tc) && !json_is_array(tc)) {
            s = lx_fail(err, LX_ERR_PROTO, "message.tool_calls: expected an array");
            goto fail;
        }
        size_t i;
        json_t *c;
        json_array_foreach(tc, i, c)
        {
            char ctx[64];
            snprintf(ctx, sizeof ctx, "message.tool_calls[%zu]", i);
            lx_part *p = lx_response_add_part(r, LX_PART_TOOL_CALL);
            if (!p) {
                s = LX_ERR_NOMEM;
                goto fail;
            }
            if ((s = read_call(r->arena, c, ctx, &p->id, &p->name, &p->arguments, err)) != LX_OK)
                goto fail;
            calls = true;
        }
    } else if ((s = add_text_part(r, LX_PART_THINKING, root, "thinking", NULL, err)) != LX_OK ||
               (s = add_text_part(r, LX_PART_TEXT, root, "response", NULL, err)) != LX_OK) {
        goto fail;
    }
    r->finish = finish_from(reason, calls);
    if ((s = read_usage(root, &r->usage, &r->has_usage, err)) != LX_OK)
        goto fail;
    json_decref(root);
    *out = r;
    return LX_OK;
fail:
    json_decref(root);
    lx_response_free(r);
    return s;
}

/* ---- stream decoder ----------------------------------------------------- */

typedef struct {
    lx_stream_decoder base;
    lx_ndjson_parser nd;
    lx_event_fn sink;
    void *ud;
    bool started, done, stopped, calls, have_usage;
    int n_tools;
    lx_usage usage;
} odec;

static lx_status emit(odec *d, lx_event *ev)
{
    lx_status s = d->sink(d->ud, ev);
    if (s != LX_OK)
        d->stopped = true;
    return s;
}

static lx_status emit_text(odec *d, lx_event_kind k, const json_t *obj, const char *key,
                           const char *ctx, lx_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return LX_OK;
    if (!json_is_string(v))
        return lx_fail(err, LX_ERR_PROTO, "stream line: %s%s%s: expected a string", ctx ? ctx : "",
                       ctx ? "." : "", key);
    if (json_string_length(v) == 0)
        return LX_OK;
    lx_event ev = {.kind = k, .text = json_string_value(v), .len = json_string_length(v)};
    return emit(d, &ev);
}

static lx_status emit_calls(odec *d, const json_t *tc, lx_error *err)
{
    if (!tc || json_is_null(tc))
        return LX_OK;
    if (!json_is_array(tc))
        return lx_fail(err, LX_ERR_PROTO, "stream line: message.tool_calls: expected an array");
    size_t i;
    json_t *c;
    json_array_foreach(tc, i, c)
    {
        char ctx[80];
        char *id = NULL, *name = NULL, *args = NULL;
        snprintf(ctx, sizeof ctx, "stream line: message.tool_calls[%zu]", i);
        lx_arena *a = lx_arena_new();
        if (!a)
            return LX_ERR_NOMEM;
        lx_status s = read_call(a, c, ctx, &id, &name, &args, err);
        if (s == LX_OK) {
            d->calls = true;
            lx_event ev = {.kind = LX_EV_TOOL_START, .index = d->n_tools++, .id = id, .name = name};
            if ((s = emit(d, &ev)) == LX_OK) {
                lx_event ea = {
                    .kind = LX_EV_TOOL_ARGS, .index = ev.index, .text = args, .len = strlen(args)};
                if ((s = emit(d, &ea)) == LX_OK) {
                    lx_event ee = {.kind = LX_EV_TOOL_END, .index = ev.index};
                    s = emit(d, &ee);
                }
            }
        }
        lx_arena_free(a);
        if (s != LX_OK)
            return s;
    }
    return LX_OK;
}

static lx_status on_line(void *ud, const char *line, size_t len, lx_error *err)
{
    odec *d = ud;
    if (d->done)
        return LX_OK; /* nothing may follow FINISH */
    json_t *root = NULL;
    lx_status s = lx_json_parse(line, len, true, &root, err);
    if (s != LX_OK) {
        char msg[sizeof err->message];
        lx_strlcpy(msg, err ? err->message : "", sizeof msg);
        return lx_fail(err, LX_ERR_PROTO, "stream line: %s", msg);
    }
    json_t *e = json_object_get(root, "error");
    if (e && !json_is_null(e)) {
        s = upstream_error(e, err);
        goto done;
    }
    if (!d->started) {
        json_t *model = json_object_get(root, "model");
        lx_event ev = {.kind = LX_EV_START,
                       .model = json_is_string(model) ? json_string_value(model) : NULL};
        d->started = true;
        if ((s = emit(d, &ev)) != LX_OK)
            goto done;
    }
    json_t *msg = json_object_get(root, "message");
    if (msg && !json_is_null(msg)) {
        if (!json_is_object(msg)) {
            s = lx_fail(err, LX_ERR_PROTO, "stream line: message: expected an object");
            goto done;
        }
        if ((s = emit_text(d, LX_EV_THINKING, msg, "thinking", "message", err)) != LX_OK ||
            (s = emit_text(d, LX_EV_TEXT, msg, "content", "message", err)) != LX_OK ||
            (s = emit_calls(d, json_object_get(msg, "tool_calls"), err)) != LX_OK)
            goto done;
    } else if ((s = emit_text(d, LX_EV_THINKING, root, "thinking", NULL, err)) != LX_OK ||
               (s = emit_text(d, LX_EV_TEXT, root, "response", NULL, err)) != LX_OK) {
        goto done;
    }
    bool done = false;
    if ((s = lx_json_opt_bool(root, "done", NULL, &done, NULL, err)) != LX_OK) {
        s = as_proto(s, err);
        goto done;
    }
    if (!done)
        goto done;
    json_t *reason = json_object_get(root, "done_reason");
    if (reason && !json_is_null(reason) && !json_is_string(reason)) {
        s = lx_fail(err, LX_ERR_PROTO, "stream line: done_reason: expected a string");
        goto done;
    }
    lx_usage u;
    bool has = false;
    if ((s = read_usage(root, &u, &has, err)) != LX_OK)
        goto done;
    d->done = true;
    if (has) {
        d->usage = u;
        d->have_usage = true;
        lx_event ev = {.kind = LX_EV_USAGE, .usage = u};
        if ((s = emit(d, &ev)) != LX_OK)
            goto done;
    }
    lx_event ev = {.kind = LX_EV_FINISH,
                   .finish = finish_from(json_string_value(reason), d->calls)};
    s = emit(d, &ev);
done:
    json_decref(root);
    return s;
}

static lx_status odec_feed(lx_stream_decoder *base, const char *data, size_t len, lx_error *err)
{
    odec *d = (odec *)base;
    if (d->stopped)
        return lx_fail(err, LX_ERR_INTERNAL, "stream decoder fed after it stopped");
    lx_status s = lx_ndjson_feed(&d->nd, data, len, on_line, d, err);
    if (s != LX_OK)
        d->stopped = true;
    return s;
}

static lx_status odec_finish(lx_stream_decoder *base, lx_error *err)
{
    odec *d = (odec *)base;
    if (d->stopped)
        return lx_fail(err, LX_ERR_INTERNAL, "stream decoder finished after it stopped");
    lx_status s = lx_ndjson_finish(&d->nd, on_line, d, NULL, err);
    d->stopped = true;
    if (s != LX_OK || d->done)
        return s;
    if (d->have_usage) {
        lx_event ev = {.kind = LX_EV_USAGE, .usage = d->usage};
        if ((s = d->sink(d->ud, &ev)) != LX_OK)
            return s;
    }
    return lx_fail(err, LX_ERR_PROTO, "stream ended before done:true");
}

static void odec_free(lx_stream_decoder *base)
{
    odec *d = (odec *)base;
    if (!d)
        return;
    lx_ndjson_free(&d->nd);
    free(d);
}

lx_stream_decoder *lx_ollama_stream_decoder_new(lx_event_fn sink, void *ud)
{
    odec *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->base.feed = odec_feed;
    d->base.finish = odec_finish;
    d->base.free = odec_free;
    d->sink = sink;
    d->ud = ud;
    lx_ndjson_init(&d->nd, 0);
    return &d->base;
}

/* ---- encoders ----------------------------------------------------------- */

/* {model, created_at} + either message{role, content, thinking?, tool_calls?}
 * (chat) or response/thinking (generate). Steals calls. */
static json_t *line_obj(const char *model, int64_t unix_ns, bool generate, const char *text,
                        size_t tlen, const char *thinking, size_t hlen, json_t *calls)
{
    char ts[48];
    rfc3339(unix_ns, ts, sizeof ts);
    json_t *o = json_pack("{s:s, s:s}", "model", model ? model : "", "created_at", ts);
    json_t *txt = json_stringn(text ? text : "", text ? tlen : 0);
    json_t *th = thinking ? json_stringn(thinking, hlen) : NULL;
    bool ok = o && txt && (!thinking || th);
    if (ok && generate) {
        ok = json_object_set(o, "response", txt) == 0 &&
             (!th || json_object_set(o, "thinking", th) == 0);
    } else if (ok) {
        json_t *m = json_pack("{s:s, s:O}", "role", "assistant", "content", txt);
        ok = m && (!th || json_object_set(m, "thinking", th) == 0) &&
             (!calls || json_object_set(m, "tool_calls", calls) == 0) &&
             json_object_set_new(o, "message", m) == 0;
    }
    ok = ok && json_object_set_new(o, "done", json_false()) == 0; /* finish_fields sets true */
    json_decref(txt);
    json_decref(th);
    json_decref(calls);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static bool finish_fields(json_t *o, lx_finish f, const lx_usage *u, int64_t total,
                          int64_t prompt_ns, int64_t eval_ns)
{
    json_int_t in = u ? (json_int_t)lx_usage_total_input(u) : 0;
    json_int_t out = u ? (json_int_t)lx_usage_total_output(u) : 0;
    return json_object_set_new(o, "done", json_true()) == 0 &&
           json_object_set_new(o, "done_reason",
                               json_string(f == LX_FINISH_LENGTH ? "length" : "stop")) == 0 &&
           json_object_set_new(o, "total_duration", json_integer(total)) == 0 &&
           json_object_set_new(o, "load_duration", json_integer(0)) == 0 &&
           json_object_set_new(o, "prompt_eval_count", json_integer(in)) == 0 &&
           json_object_set_new(o, "prompt_eval_duration", json_integer(prompt_ns)) == 0 &&
           json_object_set_new(o, "eval_count", json_integer(out)) == 0 &&
           json_object_set_new(o, "eval_duration", json_integer(eval_ns)) == 0;
}

static lx_status write_line(json_t *o, lx_buf *out)
{
    if (!o)
        return LX_ERR_NOMEM;
    lx_status s = lx_json_dump(o, out);
    json_decref(o);
    return s == LX_OK ? lx_buf_putc(out, '\n') : s;
}

static lx_status response_encode(const lx_response *r, const lx_codec_opts *o, bool generate,
                                 lx_buf *out, lx_error *err)
{
    lx_buf text, think;
    lx_buf_init(&text, 0);
    lx_buf_init(&think, 0);
    lx_status s = LX_ERR_NOMEM;
    json_t *calls = json_array();
    json_t *obj = NULL;
    if (!calls)
        goto done;
    for (size_t i = 0; i < r->n_parts; i++) {
        const lx_part *p = &r->parts[i];
        if (p->kind == LX_PART_TEXT && p->text && lx_buf_puts(&text, p->text) != LX_OK)
            goto done;
        if (p->kind == LX_PART_THINKING && p->text && lx_buf_puts(&think, p->text) != LX_OK)
            goto done;
        if (p->kind == LX_PART_TOOL_CALL && !generate) {
            char ctx[48];
            snprintf(ctx, sizeof ctx, "parts[%zu].arguments", i);
            json_t *args = lx_json_object_from_text(p->arguments, ctx, err);
            if (!args) {
                s = LX_ERR_INVALID;
                goto done;
            }
            if (json_array_append_new(calls,
                                      json_pack("{s:{s:s, s:o}}", "function", "name",
                                                p->name ? p->name : "", "arguments", args)) != 0)
                goto done;
        }
    }
    int64_t when = r->created > 0 ? r->created * 1000000000 : now_ns(CLOCK_REALTIME);
    const char *model = r->model ? r->model : (o ? o->model : NULL);
    obj = line_obj(model, when, generate, text.data, text.len, think.len ? think.data : NULL,
                   think.len, json_array_size(calls) ? json_incref(calls) : NULL);
    if (!obj || !finish_fields(obj, r->finish, r->has_usage ? &r->usage : NULL, 0, 0, 0))
        goto done;
    s = lx_json_dump(obj, out);
done:
    lx_buf_free(&text);
    lx_buf_free(&think);
    json_decref(calls);
    json_decref(obj);
    return s;
}

lx_status lx_ollama_response_encode(const lx_response *r, const lx_codec_opts *o, lx_buf *out,
                                    lx_error *err)
{
    return response_encode(r, o, false, out, err);
}

lx_status lx_ollama_generate_response_encode(const lx_response *r, const lx_codec_opts *o,
                                             lx_buf *out, lx_error *err)
{
    return response_encode(r, o, true, out, err);
}

typedef struct {
    int index;
    char *name;
    lx_buf args;
} otool;

typedef struct {
    lx_stream_encoder base;
    bool generate, ended, has_usage;
    char *model;
    int64_t t0, t_first; /* monotonic ns; t_first 0 until the first content */
    lx_usage usage;
    otool *tools;
    size_t n_tools, cap_tools;
} oenc;

static otool *oenc_tool(oenc *e, int index)
{
    for (size_t i = 0; i < e->n_tools; i++)
        if (e->tools[i].index == index)
            return &e->tools[i];
    return NULL;
}

static void oenc_drop(oenc *e, otool *t)
{
    free(t->name);
    lx_buf_free(&t->args);
    *t = e->tools[--e->n_tools];
}

static lx_status oenc_event(lx_stream_encoder *base, const lx_event *ev, lx_buf *out)
{
    oenc *e = (oenc *)base;
    if (e->ended)
        return LX_ERR_PROTO;
    int64_t now = now_ns(CLOCK_MONOTONIC);
    int64_t wall = now_ns(CLOCK_REALTIME);
    if (!e->t0)
        e->t0 = now;
    if (!e->t_first &&
        (ev->kind == LX_EV_TEXT || ev->kind == LX_EV_THINKING || ev->kind == LX_EV_TOOL_START))
        e->t_first = now;
    switch (ev->kind) {
    case LX_EV_START:
        e->t0 = now;
        if (ev->model) {
            char *m = strdup(ev->model);
            if (!m)
                return LX_ERR_NOMEM;
            free(e->model);
            e->model = m;
        }
        return LX_OK;
    case LX_EV_TEXT:
        if (!ev->len)
            return LX_OK;
        return write_line(line_obj(e->model, wall, e->generate, ev->text, ev->len, NULL, 0, NULL),
                          out);
    case LX_EV_THINKING:
        if (!ev->text || !ev->len)
            return LX_OK; /* a bare signature has no Ollama form */
        return write_line(line_obj(e->model, wall, e->generate, "", 0, ev->text, ev->len, NULL),
                          out);
    case LX_EV_TOOL_START: {
        if (oenc_tool(e, ev->index))
            return LX_ERR_PROTO;
        if (e->n_tools == e->cap_tools) {
            size_t nc = e->cap_tools ? e->cap_tools * 2 : 4;
            otool *nt = realloc(e->tools, nc * sizeof *nt);
            if (!nt)
                return LX_ERR_NOMEM;
            e->tools = nt;
            e->cap_tools = nc;
        }
        otool *t = &e->tools[e->n_tools++];
        t->index = ev->index;
        lx_buf_init(&t->args, 0);
        return (t->name = strdup(ev->name ? ev->name : "")) ? LX_OK : LX_ERR_NOMEM;
    }
    case LX_EV_TOOL_ARGS: {
        otool *t = oenc_tool(e, ev->index);
        return t ? lx_buf_append(&t->args, ev->text, ev->len) : LX_ERR_PROTO;
    }
    case LX_EV_TOOL_END: {
        otool *t = oenc_tool(e, ev->index);
        if (!t)
            return LX_ERR_PROTO;
        json_t *args = lx_json_object_from_text(t->args.len ? t->args.data : "{}", NULL, NULL);
        json_t *calls =
            args ? json_pack("[{s:{s:s, s:o}}]", "function", "name", t->name, "arguments", args)
                 : NULL;
        oenc_drop(e, t);
        if (!calls)
            return LX_ERR_INVALID; /* the arguments were not a JSON object */
        if (e->generate) {
            json_decref(calls); /* /api/generate has no place for calls */
            return LX_OK;
        }
        return write_line(line_obj(e->model, wall, false, "", 0, NULL, 0, calls), out);
    }
    case LX_EV_USAGE:
        e->usage = ev->usage;
        e->has_usage = true;
        return LX_OK;
    case LX_EV_FINISH: {
        e->ended = true;
        int64_t first = e->t_first ? e->t_first : now;
        json_t *o = line_obj(e->model, wall, e->generate, "", 0, NULL, 0, NULL);
        if (o && !finish_fields(o, ev->finish, e->has_usage ? &e->usage : NULL, now - e->t0,
                                first - e->t0, now - first)) {
            json_decref(o);
            o = NULL;
        }
        return write_line(o, out);
    }
    case LX_EV_ERROR: {
        e->ended = true;
        const char *msg = ev->error && ev->error->message[0] ? ev->error->message : "stream failed";
        lx_status s = lx_buf_puts(out, "{\"error\":");
        if (s == LX_OK)
            s = lx_json_quote(out, msg, strlen(msg));
        return s == LX_OK ? lx_buf_puts(out, "}\n") : s;
    }
    }
    return LX_OK;
}

static void oenc_free(lx_stream_encoder *base)
{
    oenc *e = (oenc *)base;
    if (!e)
        return;
    while (e->n_tools)
        oenc_drop(e, &e->tools[0]);
    free(e->tools);
    free(e->model);
    free(e);
}

static lx_stream_encoder *encoder_new(const lx_codec_opts *o, bool generate)
{
    oenc *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->base.event = oenc_event;
    e->base.free = oenc_free;
    e->generate = generate;
    if (o && o->model && !(e->model = strdup(o->model))) {
        free(e);
        return NULL;
    }
    return &e->base;
}

lx_stream_encoder *lx_ollama_stream_encoder_new(const lx_codec_opts *o)
{
    return encoder_new(o, false);
}

lx_stream_encoder *lx_ollama_generate_stream_encoder_new(const lx_codec_opts *o)
{
    return encoder_new(o, true);
}
