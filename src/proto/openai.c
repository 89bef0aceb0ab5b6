/*
 * openai.c — OpenAI Chat Completions requests, both directions, and the codec table.
 *
 * Request (POST {base}/chat/completions):
 *   {model, messages:[{role, content, ...}], tools, tool_choice,
 *    parallel_tool_calls, temperature, top_p, seed, max_completion_tokens
 *    (legacy max_tokens), stop, response_format, stream,
 *    stream_options:{include_usage}, user}
 *   roles: system|developer -> SYSTEM; user (content string or parts
 *   [{type:"text",text} | {type:"image_url",image_url:{url}}], a data: URL
 *   becoming data + media_type); assistant (content, reasoning_content,
 *   tool_calls[{id,type:"function",function:{name,arguments: JSON string}}]);
 *   tool {tool_call_id, content} -> a TOOL message (consecutive tool messages
 *   are merged into one, each result named after the call it answers).
 * What the neutral request has and this dialect cannot carry is dropped on
 * encode: THINKING parts of earlier turns, tool_result is_error, top_k
 * (OpenAI refuses unknown parameters) and the thinking budget.
 * Whole responses, errors and HTTP live in openai_response.c, streams in
 * openai_stream.c.
 */
#include "proto/openai.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/utf8.h"
#include "proto/callids.h"
#include "proto/json.h"

#define CTX_MAX 128

/* ---- request decode ------------------------------------------------------- */

/* Splits "data:<media>;base64,<payload>" into the part; other URLs kept. */
static lx_status image_from_url(lx_arena *a, lx_part *p, const char *url)
{
    const char *comma = strchr(url, ',');
    if (strncmp(url, "data:", 5) == 0 && comma) {
        const char *semi = memchr(url + 5, ';', (size_t)(comma - url - 5));
        if (semi && (size_t)(comma - semi) == 7 && strncmp(semi, ";base64", 7) == 0) {
            p->media_type = lx_arena_strndup(a, url + 5, (size_t)(semi - url - 5));
            p->data = lx_arena_strdup(a, comma + 1);
            return p->media_type && p->data ? LX_OK : LX_ERR_NOMEM;
        }
    }
    p->url = lx_arena_strdup(a, url);
    return p->url ? LX_OK : LX_ERR_NOMEM;
}

/* Text of `content` given as a string, null or an array of text parts;
 * joined into the arena. */
lx_status lx_openai_text_content(lx_arena *a, const json_t *c, const char *ctx, char **out,
                                 lx_error *err)
{
    *out = NULL;
    if (!c || json_is_null(c))
        return (*out = lx_arena_strdup(a, "")) ? LX_OK : LX_ERR_NOMEM;
    if (json_is_string(c))
        return (*out = lx_arena_strndup(a, json_string_value(c), json_string_length(c)))
                   ? LX_OK
                   : LX_ERR_NOMEM;
    if (!json_is_array(c))
        return lx_fail(err, LX_ERR_INVALID, "%s.content: expected a string or an array", ctx);
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_status st = LX_OK;
    size_t i;
    json_t *it;
    json_array_foreach(c, i, it)
    {
        const char *type = json_string_value(json_object_get(it, "type"));
        json_t *t = json_object_get(it, "text");
        if (!json_is_object(it) || !type || strcmp(type, "text") != 0 || !json_is_string(t)) {
            st = lx_fail(err, LX_ERR_INVALID, "%s.content[%zu]: expected a text part", ctx, i);
            goto done;
        }
        if ((st = lx_buf_append(&b, json_string_value(t), json_string_length(t))) != LX_OK)
            goto done;
    }
    *out = lx_arena_strndup(a, b.data ? b.data : "", b.len);
    st = *out ? LX_OK : LX_ERR_NOMEM;
done:
    lx_buf_free(&b);
    return st;
}

/* User (or assistant) content: string or parts array -> TEXT / IMAGE parts. */
static lx_status parts_content(lx_request *r, size_t mi, const json_t *c, const char *ctx,
                               bool images, lx_error *err)
{
    lx_arena *a = r->arena;
    if (!c || json_is_null(c))
        return LX_OK;
    if (json_is_string(c)) {
        lx_part *p = lx_message_add_part(r, &r->messages[mi], LX_PART_TEXT);
        if (!p || !(p->text = lx_arena_strndup(a, json_string_value(c), json_string_length(c))))
            return LX_ERR_NOMEM;
        return LX_OK;
    }
    if (!json_is_array(c))
        return lx_fail(err, LX_ERR_INVALID, "%s.content: expected a string or an array", ctx);
    size_t i;
    json_t *it;
    json_array_foreach(c, i, it)
    {
        if (!json_is_object(it))
            return lx_fail(err, LX_ERR_INVALID, "%s.content[%zu]: expected an object", ctx, i);
        json_t *tj = json_object_get(it, "type");
        if (!json_is_string(tj))
            return lx_fail(err, LX_ERR_INVALID, "%s.content[%zu].type: expected a string", ctx, i);
        const char *type = json_string_value(tj);
        if (!strcmp(type, "text") || !strcmp(type, "refusal")) {
            const char *key = type[0] == 't' ? "text" : "refusal";
            json_t *t = json_object_get(it, key);
            if (!json_is_string(t))
                return lx_fail(err, LX_ERR_INVALID, "%s.content[%zu].%s: expected a string", ctx, i,
                               key);
            lx_part *p = lx_message_add_part(r, &r->messages[mi], LX_PART_TEXT);
            if (!p || !(p->text = lx_arena_strndup(a, json_string_value(t), json_string_length(t))))
                return LX_ERR_NOMEM;
        } else if (!strcmp(type, "image_url") && images) {
            json_t *iu = json_object_get(it, "image_url");
            json_t *u = json_is_object(iu) ? json_object_get(iu, "url") : iu;
            if (!json_is_string(u))
                return lx_fail(err, LX_ERR_INVALID,
                               "%s.content[%zu].image_url.url: expected a string", ctx, i);
            lx_part *p = lx_message_add_part(r, &r->messages[mi], LX_PART_IMAGE);
            if (!p || image_from_url(a, p, json_string_value(u)) != LX_OK)
                return LX_ERR_NOMEM;
        } else {
            return lx_fail(err, LX_ERR_UNSUPPORTED,
                           "%s.content[%zu].type: \"%.40s\" is not supported", ctx, i, type);
        }
    }
    return LX_OK;
}

static lx_status tool_calls_in(lx_request *r, size_t mi, const json_t *tc, const char *ctx,
                               lx_error *err)
{
    if (!tc || json_is_null(tc))
        return LX_OK;
    if (!json_is_array(tc))
        return lx_fail(err, LX_ERR_INVALID, "%s.tool_calls: expected an array", ctx);
    size_t i;
    json_t *it;
    char c[CTX_MAX + 48];
    json_array_foreach(tc, i, it)
    {
        snprintf(c, sizeof c, "%s.tool_calls[%zu]", ctx, i);
        json_t *fn = json_object_get(it, "function");
        if (!json_is_object(it) || !json_is_object(fn))
            return lx_fail(err, LX_ERR_INVALID, "%s.function: expected an object", c);
        lx_part *p = lx_message_add_part(r, &r->messages[mi], LX_PART_TOOL_CALL);
        if (!p)
            return LX_ERR_NOMEM;
        lx_status st = lx_json_opt_str(r->arena, it, "id", c, &p->id, err);
        strncat(c, ".function", sizeof c - strlen(c) - 1);
        if (st == LX_OK)
            st = lx_json_opt_str(r->arena, fn, "name", c, &p->name, err);
        if (st != LX_OK)
            return st;
        if (!p->name)
            return lx_fail(err, LX_ERR_INVALID, "%s.name: required", c);
        json_t *args = json_object_get(fn, "arguments");
        if (json_is_object(args)) { /* lenient: some clients send the object itself */
            p->arguments = lx_json_dump_arena(r->arena, args);
        } else if (!args || json_is_null(args)) {
            p->arguments = lx_arena_strdup(r->arena, "{}");
        } else if (json_is_string(args)) {
            p->arguments =
                lx_arena_strndup(r->arena, json_string_value(args), json_string_length(args));
        } else {
            return lx_fail(err, LX_ERR_INVALID, "%s.arguments: expected a string", c);
        }
        if (!p->arguments)
            return LX_ERR_NOMEM;
    }
    return LX_OK;
}

static lx_status message_in(lx_request *r, const json_t *m, size_t i, lx_error *err)
{
    char ctx[CTX_MAX];
    lx_status st;
    snprintf(ctx, sizeof ctx, "messages[%zu]", i);
    if (!json_is_object(m))
        return lx_fail(err, LX_ERR_INVALID, "%s: expected an object", ctx);
    json_t *rj = json_object_get(m, "role");
    if (!json_is_string(rj))
        return lx_fail(err, LX_ERR_INVALID, "%s.role: expected a string", ctx);
    const char *role = json_string_value(rj);
    json_t *content = json_object_get(m, "content");
    char *text;
    if (!strcmp(role, "system") || !strcmp(role, "developer")) {
        if ((st = lx_openai_text_content(r->arena, content, ctx, &text, err)) != LX_OK)
            return st;
        return lx_request_add_text(r, LX_ROLE_SYSTEM, text);
    }
    if (!strcmp(role, "user")) {
        if (!lx_request_add_message(r, LX_ROLE_USER))
            return LX_ERR_NOMEM;
        return parts_content(r, r->n_messages - 1, content, ctx, true, err);
    }
    if (!strcmp(role, "assistant")) {
        if (!lx_request_add_message(r, LX_ROLE_ASSISTANT))
            return LX_ERR_NOMEM;
        size_t mi = r->n_messages - 1;
        char *reasoning = NULL, *refusal = NULL;
        if ((st = lx_json_opt_str(r->arena, m, "reasoning_content", ctx, &reasoning, err)) !=
                LX_OK ||
            (st = lx_json_opt_str(r->arena, m, "refusal", ctx, &refusal, err)) != LX_OK)
            return st;
        if (reasoning && *reasoning) {
            lx_part *p = lx_message_add_part(r, &r->messages[mi], LX_PART_THINKING);
            if (!p)
                return LX_ERR_NOMEM;
            p->text = reasoning;
        }
        if ((st = parts_content(r, mi, content, ctx, false, err)) != LX_OK)
            return st;
        if (refusal && *refusal && r->messages[mi].n_parts == 0) {
            lx_part *p = lx_message_add_part(r, &r->messages[mi], LX_PART_TEXT);
            if (!p)
                return LX_ERR_NOMEM;
            p->text = refusal;
        }
        return tool_calls_in(r, mi, json_object_get(m, "tool_calls"), ctx, err);
    }
    if (!strcmp(role, "tool")) {
        char *id = NULL;
        if ((st = lx_json_opt_str(r->arena, m, "tool_call_id", ctx, &id, err)) != LX_OK)
            return st;
        if (!id)
            return lx_fail(err, LX_ERR_INVALID, "%s.tool_call_id: required", ctx);
        if ((st = lx_openai_text_content(r->arena, content, ctx, &text, err)) != LX_OK)
            return st;
        lx_message *tm = r->n_messages && r->messages[r->n_messages - 1].role == LX_ROLE_TOOL
                             ? &r->messages[r->n_messages - 1]
                             : lx_request_add_message(r, LX_ROLE_TOOL);
        lx_part *p = tm ? lx_message_add_part(r, tm, LX_PART_TOOL_RESULT) : NULL;
        if (!p)
            return LX_ERR_NOMEM;
        p->id = id;
        p->text = text;
        p->name = lx_request_call_name(r, id);
        return LX_OK;
    }
    return lx_fail(err, LX_ERR_INVALID, "%s.role: unknown role \"%.32s\"", ctx, role);
}

static lx_status tools_in(lx_request *r, const json_t *tools, lx_error *err)
{
    if (!tools || json_is_null(tools))
        return LX_OK;
    if (!json_is_array(tools))
        return lx_fail(err, LX_ERR_INVALID, "tools: expected an array");
    size_t i;
    json_t *it;
    char c[CTX_MAX];
    json_array_foreach(tools, i, it)
    {
        snprintf(c, sizeof c, "tools[%zu]", i);
        const char *type = json_string_value(json_object_get(it, "type"));
        if (!json_is_object(it))
            return lx_fail(err, LX_ERR_INVALID, "%s: expected an object", c);
        if (!type || strcmp(type, "function") != 0)
            return lx_fail(err, LX_ERR_UNSUPPORTED, "%s.type: expected \"function\"", c);
        json_t *fn = json_object_get(it, "function");
        strncat(c, ".function", sizeof c - strlen(c) - 1);
        if (!json_is_object(fn))
            return lx_fail(err, LX_ERR_INVALID, "%s: expected an object", c);
        lx_tool *t = lx_request_add_tool(r);
        if (!t)
            return LX_ERR_NOMEM;
        lx_status st = lx_json_opt_str(r->arena, fn, "name", c, &t->name, err);
        if (st == LX_OK)
            st = lx_json_opt_str(r->arena, fn, "description", c, &t->description, err);
        if (st != LX_OK)
            return st;
        if (!t->name || !*t->name)
            return lx_fail(err, LX_ERR_INVALID, "%s.name: required", c);
        json_t *params = json_object_get(fn, "parameters");
        if (params && !json_is_null(params)) {
            if (!json_is_object(params))
                return lx_fail(err, LX_ERR_INVALID, "%s.parameters: expected an object", c);
            if (!(t->parameters = lx_json_dump_arena(r->arena, params)))
                return LX_ERR_NOMEM;
        }
    }
    return LX_OK;
}

static lx_status tool_choice_in(lx_request *r, const json_t *tc, lx_error *err)
{
    if (!tc || json_is_null(tc))
        return LX_OK;
    if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        if (!strcmp(s, "none"))
            r->tool_choice.kind = LX_TOOL_CHOICE_NONE;
        else if (!strcmp(s, "auto"))
            r->tool_choice.kind = LX_TOOL_CHOICE_AUTO;
        else if (!strcmp(s, "required"))
            r->tool_choice.kind = LX_TOOL_CHOICE_REQUIRED;
        else
            return lx_fail(err, LX_ERR_INVALID,
                           "tool_choice: expected \"none\", \"auto\" or \"required\"");
        return LX_OK;
    }
    json_t *fn = json_object_get(tc, "function");
    if (!json_is_object(tc) || !json_is_object(fn))
        return lx_fail(err, LX_ERR_INVALID,
                       "tool_choice: expected a string or {type:\"function\",function:{name}}");
    lx_status st =
        lx_json_opt_str(r->arena, fn, "name", "tool_choice.function", &r->tool_choice.name, err);
    if (st != LX_OK)
        return st;
    if (!r->tool_choice.name)
        return lx_fail(err, LX_ERR_INVALID, "tool_choice.function.name: required");
    r->tool_choice.kind = LX_TOOL_CHOICE_NAMED;
    return LX_OK;
}

static lx_status format_in(lx_request *r, const json_t *rf, lx_error *err)
{
    if (!rf || json_is_null(rf))
        return LX_OK;
    const char *type = json_string_value(json_object_get(rf, "type"));
    if (!json_is_object(rf) || !type)
        return lx_fail(err, LX_ERR_INVALID, "response_format.type: expected a string");
    if (!strcmp(type, "text"))
        return LX_OK;
    if (!strcmp(type, "json_object")) {
        r->format.kind = LX_FORMAT_JSON;
        return LX_OK;
    }
    if (strcmp(type, "json_schema") != 0)
        return lx_fail(err, LX_ERR_INVALID, "response_format.type: unknown type \"%.32s\"", type);
    json_t *js = json_object_get(rf, "json_schema");
    if (!json_is_object(js))
        return lx_fail(err, LX_ERR_INVALID, "response_format.json_schema: expected an object");
    bool strict = false;
    lx_status st =
        lx_json_opt_str(r->arena, js, "name", "response_format.json_schema", &r->format.name, err);
    if (st == LX_OK)
        st = lx_json_opt_bool(js, "strict", "response_format.json_schema", &strict, NULL, err);
    if (st != LX_OK)
        return st;
    json_t *schema = json_object_get(js, "schema");
    if (!json_is_object(schema))
        return lx_fail(err, LX_ERR_INVALID,
                       "response_format.json_schema.schema: expected an object");
    if (!(r->format.schema = lx_json_dump_arena(r->arena, schema)))
        return LX_ERR_NOMEM;
    r->format.kind = LX_FORMAT_JSON_SCHEMA;
    r->format.strict = strict;
    return LX_OK;
}

static lx_status sampling_in(lx_request *r, const json_t *root, lx_error *err)
{
    lx_sampling *s = &r->sampling;
    int64_t mt = 0, tk = 0;
    bool has = false, has_tk = false;
    lx_status st;
    if ((st = lx_json_opt_num(root, "temperature", NULL, &s->temperature, &s->has_temperature,
                              err)) != LX_OK ||
        (st = lx_json_opt_num(root, "top_p", NULL, &s->top_p, &s->has_top_p, err)) != LX_OK ||
        (st = lx_json_opt_int(root, "top_k", NULL, &tk, &has_tk, err)) != LX_OK ||
        (st = lx_json_opt_int(root, "seed", NULL, &s->seed, &s->has_seed, err)) != LX_OK)
        return st;
    if (has_tk) { /* vLLM / llama.cpp extension */
        s->has_top_k = true;
        s->top_k = (int)(tk > 0 && tk < 1 << 30 ? tk : 0);
    }
    const char *mk = json_is_null(json_object_get(root, "max_completion_tokens")) ||
                             !json_object_get(root, "max_completion_tokens")
                         ? "max_tokens"
                         : "max_completion_tokens";
    if ((st = lx_json_opt_int(root, mk, NULL, &mt, &has, err)) != LX_OK)
        return st;
    if (has && mt <= 0)
        return lx_fail(err, LX_ERR_INVALID, "%s: expected a positive integer", mk);
    s->max_tokens = has ? mt : 0;
    json_t *stop = json_object_get(root, "stop");
    if (json_is_string(stop))
        return lx_request_add_stop(r, json_string_value(stop));
    if (json_is_array(stop)) {
        size_t i;
        json_t *it;
        json_array_foreach(stop, i, it)
        {
            if (!json_is_string(it))
                return lx_fail(err, LX_ERR_INVALID, "stop[%zu]: expected a string", i);
            if (lx_request_add_stop(r, json_string_value(it)) != LX_OK)
                return LX_ERR_NOMEM;
        }
    } else if (stop && !json_is_null(stop)) {
        return lx_fail(err, LX_ERR_INVALID, "stop: expected a string or an array");
    }
    return LX_OK;
}

static lx_status request_decode(const char *body, size_t len, lx_request **out, lx_error *err)
{
    json_t *root = NULL;
    lx_request *r = NULL;
    lx_status st;
    if (lx_openai_req_decode_fast(body, len, out)) /* the plain chat request, same result */
        return LX_OK;
    *out = NULL;
    if ((st = lx_json_parse(body, len, true, &root, err)) != LX_OK)
        return st;
    if (!(r = lx_request_new())) {
        st = LX_ERR_NOMEM;
        goto fail;
    }
    if ((st = lx_json_opt_str(r->arena, root, "model", NULL, &r->model, err)) != LX_OK)
        goto fail;
    if (!r->model || !*r->model) {
        st = lx_fail(err, LX_ERR_INVALID, "model: required");
        goto fail;
    }
    json_t *msgs = json_object_get(root, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
        st = lx_fail(err, LX_ERR_INVALID, "messages: %s",
                     json_is_array(msgs) ? "must not be empty"
                     : msgs              ? "expected an array"
                                         : "required");
        goto fail;
    }
    for (size_t i = 0; i < json_array_size(msgs); i++)
        if ((st = message_in(r, json_array_get(msgs, i), i, err)) != LX_OK)
            goto fail;
    bool has_par = false, par = false, inc = false;
    json_t *so = json_object_get(root, "stream_options");
    if ((st = tools_in(r, json_object_get(root, "tools"), err)) != LX_OK ||
        (st = tool_choice_in(r, json_object_get(root, "tool_choice"), err)) != LX_OK ||
        (st = format_in(r, json_object_get(root, "response_format"), err)) != LX_OK ||
        (st = sampling_in(r, root, err)) != LX_OK ||
        (st = lx_json_opt_bool(root, "parallel_tool_calls", NULL, &par, &has_par, err)) != LX_OK ||
        (st = lx_json_opt_bool(root, "stream", NULL, &r->stream, NULL, err)) != LX_OK ||
        (st = lx_json_opt_str(r->arena, root, "user", NULL, &r->user, err)) != LX_OK)
        goto fail;
    if (so && !json_is_null(so)) {
        if (!json_is_object(so)) {
            st = lx_fail(err, LX_ERR_INVALID, "stream_options: expected an object");
            goto fail;
        }
        if ((st = lx_json_opt_bool(so, "include_usage", "stream_options", &inc, NULL, err)) !=
            LX_OK)
            goto fail;
    }
    r->include_usage = inc;
    r->tool_choice.has_parallel = has_par;
    r->tool_choice.parallel = par;
    json_decref(root);
    *out = r;
    return LX_OK;
fail:
    if (st == LX_ERR_NOMEM)
        lx_fail(err, st, "out of memory decoding the request");
    json_decref(root);
    lx_request_free(r);
    return st;
}

/* ---- request encode ------------------------------------------------------ */

static bool put(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) == 0;
}

static json_t *user_content(const lx_message *m)
{
    if (m->n_parts == 1 && m->parts[0].kind == LX_PART_TEXT)
        return json_string(m->parts[0].text ? m->parts[0].text : "");
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t j = 0; j < m->n_parts && ok; j++) {
        const lx_part *p = &m->parts[j];
        if (p->kind == LX_PART_TEXT) {
            ok = json_array_append_new(arr, json_pack("{s:s,s:s}", "type", "text", "text",
                                                      p->text ? p->text : "")) == 0;
        } else if (p->kind == LX_PART_IMAGE) {
            json_t *u;
            if (p->data) {
                lx_buf b;
                lx_buf_init(&b, 0);
                ok = lx_buf_printf(&b, "data:%s;base64,%s",
                                   p->media_type ? p->media_type : "image/png", p->data) == LX_OK;
                u = ok ? json_string(b.data) : NULL;
                lx_buf_free(&b);
            } else {
                u = json_string(p->url ? p->url : "");
            }
            ok = ok && json_array_append_new(arr, json_pack("{s:s,s:{s:o}}", "type", "image_url",
                                                            "image_url", "url", u)) == 0;
        }
    }
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static lx_status joined_text(const lx_message *m, lx_part_kind kind, lx_buf *b)
{
    lx_buf_reset(b);
    for (size_t j = 0; j < m->n_parts; j++)
        if (m->parts[j].kind == kind && m->parts[j].text &&
            lx_buf_puts(b, m->parts[j].text) != LX_OK)
            return LX_ERR_NOMEM;
    return LX_OK;
}

static lx_status messages_out(const lx_request *r, json_t *arr, lx_call_ids *ids, lx_error *err)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    bool ok = true;
    for (size_t i = 0; i < r->n_messages && ok; i++) {
        const lx_message *m = &r->messages[i];
        if (m->role == LX_ROLE_TOOL) { /* one wire message per result */
            for (size_t j = 0; j < m->n_parts && ok; j++) {
                const lx_part *p = &m->parts[j];
                if (p->kind != LX_PART_TOOL_RESULT)
                    continue;
                const char *id = lx_call_ids_for_result(ids, p);
                ok = id && json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "role", "tool",
                                                                "tool_call_id", id, "content",
                                                                p->text ? p->text : "")) == 0;
            }
            continue;
        }
        json_t *o = json_object();
        ok = json_array_append_new(arr, o) == 0; /* arr owns o from here */
        ok = ok && put(o, "role",
                       json_string(m->role == LX_ROLE_SYSTEM ? "system"
                                   : m->role == LX_ROLE_USER ? "user"
                                                             : "assistant"));
        if (m->role == LX_ROLE_SYSTEM) {
            ok = ok && joined_text(m, LX_PART_TEXT, &b) == LX_OK &&
                 put(o, "content", json_string(b.data ? b.data : ""));
        } else if (m->role == LX_ROLE_USER) {
            ok = ok && put(o, "content", user_content(m));
        } else {
            ok = ok && joined_text(m, LX_PART_TEXT, &b) == LX_OK &&
                 lx_utf8_lossy(b.data, b.len, &b) == LX_OK;
            json_t *calls = json_array();
            ok = ok && calls;
            for (size_t j = 0; j < m->n_parts && ok; j++) {
                const lx_part *p = &m->parts[j];
                if (p->kind != LX_PART_TOOL_CALL)
                    continue;
                const char *id = lx_call_ids_for_call(ids, p);
                ok = id &&
                     json_array_append_new(
                         calls, json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", id, "type", "function",
                                          "function", "name", p->name ? p->name : "", "arguments",
                                          p->arguments ? p->arguments : "{}")) == 0;
            }
            bool has_calls = json_array_size(calls) > 0;
            ok = ok && put(o, "content",
                           b.len || !has_calls ? json_string(b.data ? b.data : "") : json_null());
            if (has_calls)
                ok = put(o, "tool_calls", calls) && ok;
            else
                json_decref(calls);
        }
    }
    lx_buf_free(&b);
    return ok ? LX_OK : lx_fail(err, LX_ERR_NOMEM, "out of memory encoding messages");
}

static lx_status request_encode(const lx_request *r, const lx_codec_opts *o, lx_buf *out,
                                lx_error *err)
{
    const char *model = o && o->model ? o->model : r->model;
    if (!model || !*model)
        return lx_fail(err, LX_ERR_INVALID, "model: required");
    if (lx_openai_req_encode_fast(r, model, o, out)) /* same bytes; checks UTF-8 itself */
        return LX_OK;
    lx_status cst = lx_request_check_utf8(r, model, err);
    if (cst != LX_OK)
        return cst;
    json_t *root = json_object(), *msgs = json_array();
    lx_call_ids ids;
    bool ids_ok = lx_call_ids_init(&ids, "call_") == LX_OK;
    lx_status st = LX_ERR_NOMEM;
    bool ok = root && ids_ok && put(root, "model", json_string(model));
    if (!ok || !msgs)
        goto done;
    json_incref(msgs);
    ok = put(root, "messages", msgs);
    if (!ok || (st = messages_out(r, msgs, &ids, err)) != LX_OK)
        goto done;
    st = LX_ERR_NOMEM;
    const lx_sampling *s = &r->sampling;
    if (s->has_temperature)
        ok = ok && put(root, "temperature", json_real(s->temperature));
    if (s->has_top_p)
        ok = ok && put(root, "top_p", json_real(s->top_p));
    if (s->has_seed)
        ok = ok && put(root, "seed", json_integer(s->seed));
    if (s->max_tokens > 0)
        ok = ok && put(root, "max_completion_tokens", json_integer(s->max_tokens));
    if (s->n_stop) {
        json_t *a = json_array();
        ok = put(root, "stop", json_incref(a)) && ok;
        for (size_t i = 0; i < s->n_stop; i++)
            ok = ok && json_array_append_new(a, json_string(s->stop[i])) == 0;
        json_decref(a);
    }
    if (r->n_tools) {
        json_t *a = json_array();
        ok = put(root, "tools", json_incref(a)) && ok;
        json_decref(a); /* root holds it */
        for (size_t i = 0; i < r->n_tools && ok; i++) {
            const lx_tool *t = &r->tools[i];
            json_t *params = lx_json_object_from_text(t->parameters, "tools.parameters", err);
            if (!params) {
                st = LX_ERR_INVALID;
                goto done;
            }
            json_t *fn = json_pack("{s:s}", "name", t->name ? t->name : "");
            ok = json_array_append_new(
                     a, json_pack("{s:s,s:o}", "type", "function", "function", fn)) == 0;
            if (json_object_size(params) == 0)
                ok = ok && json_object_set_new(params, "type", json_string("object")) == 0;
            if (t->description)
                ok = ok && put(fn, "description", json_string(t->description));
            ok = put(fn, "parameters", params) && ok;
        }
        const lx_tool_choice *tc = &r->tool_choice;
        if (tc->kind == LX_TOOL_CHOICE_AUTO)
            ok = ok && put(root, "tool_choice", json_string("auto"));
        else if (tc->kind == LX_TOOL_CHOICE_NONE)
            ok = ok && put(root, "tool_choice", json_string("none"));
        else if (tc->kind == LX_TOOL_CHOICE_REQUIRED)
            ok = ok && put(root, "tool_choice", json_string("required"));
        else if (tc->kind == LX_TOOL_CHOICE_NAMED)
            ok = ok && put(root, "tool_choice",
                           json_pack("{s:s,s:{s:s}}", "type", "function", "function", "name",
                                     tc->name ? tc->name : ""));
        if (tc->has_parallel)
            ok = ok && put(root, "parallel_tool_calls", json_boolean(tc->parallel));
    }
    if (r->format.kind == LX_FORMAT_JSON) {
        ok = ok && put(root, "response_format", json_pack("{s:s}", "type", "json_object"));
    } else if (r->format.kind == LX_FORMAT_JSON_SCHEMA) {
        json_t *schema = lx_json_object_from_text(r->format.schema, "response_format.schema", err);
        if (!schema) {
            st = LX_ERR_INVALID;
            goto done;
        }
        ok = put(root, "response_format",
                 json_pack("{s:s,s:{s:s,s:o,s:b}}", "type", "json_schema", "json_schema", "name",
                           r->format.name ? r->format.name : "response", "schema", schema, "strict",
                           r->format.strict)) &&
             ok;
    }
    if (o && o->stream) {
        ok = ok && put(root, "stream", json_true()) &&
             put(root, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    if (r->user)
        ok = ok && put(root, "user", json_string(r->user));
    if (ok)
        st = lx_json_dump(root, out);
done:
    if (st == LX_ERR_NOMEM)
        lx_fail(err, st, "out of memory encoding the request");
    json_decref(msgs);
    json_decref(root);
    lx_call_ids_free(&ids);
    return st;
}

static lx_stream_decoder *stream_decoder_new(lx_event_fn sink, void *ud)
{
    return lx_openai_stream_decoder_new(sink, ud);
}

static lx_stream_encoder *stream_encoder_new(const lx_codec_opts *o)
{
    return lx_openai_stream_encoder_new(o);
}

const lx_codec lx_codec_openai = {
    .name = "openai",
    .request_decode = request_decode,
    .response_encode = lx_openai_response_encode,
    .stream_encoder_new = stream_encoder_new,
    .error_encode = lx_openai_error_encode,
    .stream_content_type = "text/event-stream",
    .request_encode = request_encode,
    .http_prepare = lx_openai_http_prepare,
    .response_decode = lx_openai_response_decode,
    .stream_decoder_new = stream_decoder_new,
    .error_decode = lx_openai_error_decode,
};
