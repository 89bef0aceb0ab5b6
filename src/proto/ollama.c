/*
 * ollama.c — Ollama native API: requests in both directions (/api/chat, and
 * /api/generate decoding), http_prepare, errors, the codec table. Answers and
 * NDJSON streams are in ollama_resp.c.
 *
 * POST {base}/api/chat (base default http://localhost:11434):
 *
 *   {"model": "llama3.2",
 *    "messages": [{"role": "system" | "user" | "assistant" | "tool",
 *                  "content": "text",
 *                  "images": ["<base64>", ...],            (user)
 *                  "thinking": "...",                      (assistant)
 *                  "tool_calls": [{"function": {"name", "arguments": {...}}}],
 *                  "tool_name": "get_weather"}],           (tool)
 *    "tools": [{"type": "function", "function": {name, description, parameters}}],
 *    "format": "json" | {JSON Schema},
 *    "options": {"num_ctx", "num_predict", "temperature", "top_p", "top_k",
 *                "seed", "stop": [...]},
 *    "stream": true | false,  (Ollama's default when absent: true)
 *    "think": true | false | "low" | "medium" | "high",
 *    "keep_alive": "5m"}
 *
 * Mapping to the neutral request:
 *   - text parts of one message are joined with "\n" into `content`;
 *     images must be base64 (data, or a data: URL): Ollama takes no URLs.
 *   - a TOOL message becomes one "tool" message per result, named by the
 *     part's name, else by the earlier call with its id, else by the call at
 *     the same position in the last assistant turn. An error result's text
 *     is prefixed "error: " (Ollama has no error flag).
 *   - options.num_ctx is always sent (the larger of the request's num_ctx
 *     and the provider's sizing in opts), so that Ollama never silently
 *     truncates the front of a long prompt; decoding keeps it in
 *     lx_request.num_ctx.
 *   - stream is always explicit on the wire.
 *   - tool_choice NONE sends no tools, NAMED sends only the named one;
 *     Ollama has no way to force a call, so REQUIRED is sent like AUTO.
 *   - thinking_budget > 0 sends think:true (Ollama takes no budget).
 */
#include "proto/ollama.h"

#include <stdio.h>
#include <string.h>

#include "proto/json.h"

#define LX_OLLAMA_DEFAULT_BASE "http://localhost:11434"

static bool set_new(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0;
}

static bool push_new(json_t *arr, json_t *v)
{
    return v && json_array_append_new(arr, v) == 0;
}

/* ---- request encode ----------------------------------------------------- */

/* The name of the function a tool result answers, or NULL. */
static const char *result_name(const lx_request *r, size_t mi, size_t ordinal, const lx_part *p)
{
    if (p->name)
        return p->name;
    const lx_part *call = lx_request_find_call(r, mi, ordinal, p);
    return call ? call->name : NULL;
}

/* Appends the base64 payload of an image part to `images`. */
static lx_status add_image(json_t *images, const lx_part *p, size_t mi, size_t j, lx_error *err)
{
    const char *b64 = p->data;
    if (!b64 && p->url && strncmp(p->url, "data:", 5) == 0) {
        const char *comma = strchr(p->url, ',');
        const char *semi = strstr(p->url, ";base64,");
        if (comma && semi && semi + 7 == comma)
            b64 = comma + 1;
    }
    if (!b64)
        return lx_fail(err, LX_ERR_INVALID,
                       "messages[%zu].parts[%zu]: Ollama takes base64 images only, not URLs", mi,
                       j);
    return push_new(images, json_string(b64)) ? LX_OK : LX_ERR_NOMEM;
}

static lx_status encode_message(const lx_request *r, size_t mi, json_t *msgs, size_t *ordinal,
                                lx_error *err)
{
    const lx_message *m = &r->messages[mi];
    lx_status s = LX_ERR_NOMEM;
    lx_buf content, thinking;
    lx_buf_init(&content, 0);
    lx_buf_init(&thinking, 0);
    json_t *images = json_array(), *calls = json_array(), *results = json_array();
    json_t *msg = NULL;
    bool any_text = false;
    if (!images || !calls || !results)
        goto done;
    if (m->role == LX_ROLE_ASSISTANT)
        *ordinal = 0;
    for (size_t j = 0; j < m->n_parts; j++) {
        const lx_part *p = &m->parts[j];
        switch (p->kind) {
        case LX_PART_TEXT:
            if ((any_text && lx_buf_putc(&content, '\n') != LX_OK) ||
                lx_buf_puts(&content, p->text ? p->text : "") != LX_OK)
                goto done;
            any_text = true;
            break;
        case LX_PART_THINKING:
            if (m->role == LX_ROLE_ASSISTANT && p->text && lx_buf_puts(&thinking, p->text) != LX_OK)
                goto done;
            break;
        case LX_PART_IMAGE:
            if ((s = add_image(images, p, mi, j, err)) != LX_OK)
                goto done;
            s = LX_ERR_NOMEM;
            break;
        case LX_PART_TOOL_CALL: {
            if (m->role != LX_ROLE_ASSISTANT) {
                s = lx_fail(err, LX_ERR_INVALID,
                            "messages[%zu].parts[%zu]: tool call outside an assistant turn", mi, j);
                goto done;
            }
            char ctx[160];
            snprintf(ctx, sizeof ctx, "messages[%zu].parts[%zu] (tool call \"%.40s\") arguments",
                     mi, j, p->name ? p->name : "");
            json_t *args = lx_json_object_from_text(p->arguments, ctx, err);
            if (!args) {
                s = LX_ERR_INVALID;
                goto done;
            }
            if (!push_new(calls, json_pack("{s:{s:s, s:o}}", "function", "name",
                                           p->name ? p->name : "", "arguments", args)))
                goto done;
            break;
        }
        case LX_PART_TOOL_RESULT: {
            if (m->role == LX_ROLE_ASSISTANT) {
                s = lx_fail(err, LX_ERR_INVALID,
                            "messages[%zu].parts[%zu]: tool result inside an assistant turn", mi,
                            j);
                goto done;
            }
            const char *name = result_name(r, mi, (*ordinal)++, p);
            if (!name || !*name) {
                s = lx_fail(err, LX_ERR_INVALID,
                            "messages[%zu].parts[%zu]: tool result names no function and matches "
                            "no earlier tool call%s%.60s",
                            mi, j, p->id ? " with id " : "", p->id ? p->id : "");
                goto done;
            }
            json_t *t =
                json_pack("{s:s, s:s+, s:s}", "role", "tool", "content",
                          p->is_error ? "error: " : "", p->text ? p->text : "", "tool_name", name);
            if (!push_new(results, t))
                goto done;
            break;
        }
        }
    }
    /* tool results first: they answer the previous turn */
    size_t i;
    json_t *t;
    json_array_foreach(results, i, t)
    {
        if (json_array_append(msgs, t) != 0)
            goto done;
    }
    s = LX_OK;
    if (json_array_size(results) && !any_text && !json_array_size(images))
        goto done; /* a pure tool message */
    s = LX_ERR_NOMEM;
    const char *role = m->role == LX_ROLE_TOOL ? "user" : lx_role_name(m->role);
    msg = json_pack("{s:s, s:s%}", "role", role, "content", content.data ? content.data : "",
                    content.len);
    if (!msg)
        goto done;
    if (json_array_size(images) && !set_new(msg, "images", json_incref(images)))
        goto done;
    if (thinking.len && !set_new(msg, "thinking", json_stringn(thinking.data, thinking.len)))
        goto done;
    if (json_array_size(calls) && !set_new(msg, "tool_calls", json_incref(calls)))
        goto done;
    s = json_array_append(msgs, msg) == 0 ? LX_OK : LX_ERR_NOMEM;
done:
    lx_buf_free(&content);
    lx_buf_free(&thinking);
    json_decref(images);
    json_decref(calls);
    json_decref(results);
    json_decref(msg);
    return s;
}

static lx_status encode_tools(const lx_request *r, json_t *body, lx_error *err)
{
    const lx_tool_choice *tc = &r->tool_choice;
    if (!r->n_tools || tc->kind == LX_TOOL_CHOICE_NONE)
        return LX_OK;
    json_t *tools = json_array();
    if (!set_new(body, "tools", tools))
        return LX_ERR_NOMEM;
    for (size_t i = 0; i < r->n_tools; i++) {
        const lx_tool *t = &r->tools[i];
        if (!t->name || !*t->name)
            return lx_fail(err, LX_ERR_INVALID, "tools[%zu].name: required", i);
        if (tc->kind == LX_TOOL_CHOICE_NAMED && tc->name && strcmp(tc->name, t->name) != 0)
            continue;
        char ctx[64];
        snprintf(ctx, sizeof ctx, "tools[%zu].parameters", i);
        json_t *params = t->parameters ? lx_json_object_from_text(t->parameters, ctx, err)
                                       : json_pack("{s:s, s:{}}", "type", "object", "properties");
        if (!params)
            return t->parameters ? LX_ERR_INVALID : LX_ERR_NOMEM;
        json_t *fn = json_pack("{s:s}", "name", t->name);
        if (!fn || (t->description && !set_new(fn, "description", json_string(t->description))) ||
            !set_new(fn, "parameters", params) ||
            !push_new(tools, json_pack("{s:s, s:o}", "type", "function", "function", fn)))
            return LX_ERR_NOMEM;
    }
    if (tc->kind == LX_TOOL_CHOICE_NAMED && json_array_size(tools) == 0)
        return lx_fail(err, LX_ERR_INVALID, "tool_choice.name: no tool is named \"%.60s\"",
                       tc->name ? tc->name : "");
    return LX_OK;
}

static lx_status encode_options(const lx_request *r, const lx_codec_opts *o, json_t *body)
{
    const lx_sampling *s = &r->sampling;
    json_t *opt = json_object();
    if (!set_new(body, "options", opt))
        return LX_ERR_NOMEM;
    bool ok = true;
    /* the larger of what the caller asked for and what the provider sizes
     * for this request: never a smaller window than the caller wanted */
    int64_t num_ctx = o && o->num_ctx > r->num_ctx ? o->num_ctx : r->num_ctx;
    if (num_ctx > 0)
        ok = set_new(opt, "num_ctx", json_integer(num_ctx));
    if (ok && s->max_tokens > 0)
        ok = set_new(opt, "num_predict", json_integer(s->max_tokens));
    if (ok && s->has_temperature)
        ok = set_new(opt, "temperature", json_real(s->temperature));
    if (ok && s->has_top_p)
        ok = set_new(opt, "top_p", json_real(s->top_p));
    if (ok && s->has_top_k)
        ok = set_new(opt, "top_k", json_integer(s->top_k));
    if (ok && s->has_seed)
        ok = set_new(opt, "seed", json_integer(s->seed));
    if (ok && s->n_stop) {
        json_t *a = json_array();
        ok = set_new(opt, "stop", a);
        for (size_t i = 0; ok && i < s->n_stop; i++)
            ok = push_new(a, json_string(s->stop[i]));
    }
    if (ok && json_object_size(opt) == 0)
        json_object_del(body, "options");
    return ok ? LX_OK : LX_ERR_NOMEM;
}

static lx_status request_encode(const lx_request *r, const lx_codec_opts *o, lx_buf *out,
                                lx_error *err)
{
    lx_status s = LX_ERR_NOMEM;
    const char *model = o && o->model ? o->model : r->model;
    if (!model || !*model)
        return lx_fail(err, LX_ERR_INVALID, "model: required for an Ollama request");
    json_t *msgs = json_array();
    json_t *body = json_pack("{s:s, s:o}", "model", model, "messages", msgs);
    if (!body)
        goto done;
    size_t ordinal = 0;
    for (size_t i = 0; i < r->n_messages; i++)
        if ((s = encode_message(r, i, msgs, &ordinal, err)) != LX_OK)
            goto done;
    if ((s = encode_tools(r, body, err)) != LX_OK)
        goto done;
    s = LX_ERR_NOMEM;
    if (r->format.kind == LX_FORMAT_JSON ||
        (r->format.kind == LX_FORMAT_JSON_SCHEMA && !r->format.schema)) {
        if (!set_new(body, "format", json_string("json")))
            goto done;
    } else if (r->format.kind == LX_FORMAT_JSON_SCHEMA) {
        json_t *sch = lx_json_object_from_text(r->format.schema, "format.schema", err);
        if (!sch) {
            s = LX_ERR_INVALID;
            goto done;
        }
        if (!set_new(body, "format", sch))
            goto done;
    }
    if ((s = encode_options(r, o, body)) != LX_OK)
        goto done;
    s = LX_ERR_NOMEM;
    if (!set_new(body, "stream", json_boolean(o && o->stream)))
        goto done;
    if (r->thinking_budget > 0 && !set_new(body, "think", json_true()))
        goto done;
    s = lx_json_dump(body, out);
done:
    json_decref(body);
    return s;
}

/* ---- request decode ----------------------------------------------------- */

static lx_status need_obj(const json_t *v, const char *ctx, lx_error *err)
{
    return json_is_object(v) ? LX_OK : lx_fail(err, LX_ERR_INVALID, "%s: expected an object", ctx);
}

static lx_status decode_images(lx_request *r, size_t mi, const json_t *images, const char *ctx,
                               lx_error *err)
{
    if (!images || json_is_null(images))
        return LX_OK;
    if (!json_is_array(images))
        return lx_fail(err, LX_ERR_INVALID, "%s.images: expected an array", ctx);
    size_t i;
    json_t *v;
    json_array_foreach(images, i, v)
    {
        if (!json_is_string(v))
            return lx_fail(err, LX_ERR_INVALID, "%s.images[%zu]: expected a base64 string", ctx, i);
        lx_part *p = lx_message_add_part(r, &r->messages[mi], LX_PART_IMAGE);
        if (!p || !(p->data = lx_arena_strdup(r->arena, json_string_value(v))))
            return LX_ERR_NOMEM;
        const char *d = p->data;
        p->media_type = strncmp(d, "iVBOR", 5) == 0    ? "image/png"
                        : strncmp(d, "/9j/", 4) == 0   ? "image/jpeg"
                        : strncmp(d, "R0lGOD", 6) == 0 ? "image/gif"
                        : strncmp(d, "UklGR", 5) == 0  ? "image/webp"
                                                       : NULL;
    }
    return LX_OK;
}

/* Arguments: an object (Ollama), or a string holding one (lenient). */
static lx_status decode_arguments(lx_arena *a, const json_t *v, const char *ctx, char **out,
                                  lx_error *err)
{
    if (!v || json_is_null(v)) {
        *out = lx_arena_strdup(a, "{}");
    } else if (json_is_object(v)) {
        *out = lx_json_dump_arena(a, v);
    } else if (json_is_string(v)) {
        json_t *o = lx_json_object_from_text(json_string_value(v), ctx, err);
        if (!o)
            return LX_ERR_INVALID;
        *out = lx_json_dump_arena(a, o);
        json_decref(o);
    } else {
        return lx_fail(err, LX_ERR_INVALID, "%s: expected an object", ctx);
    }
    return *out ? LX_OK : LX_ERR_NOMEM;
}

static lx_status decode_calls(lx_request *r, size_t mi, const json_t *calls, const char *ctx,
                              lx_error *err)
{
    if (!calls || json_is_null(calls))
        return LX_OK;
    if (!json_is_array(calls))
        return lx_fail(err, LX_ERR_INVALID, "%s.tool_calls: expected an array", ctx);
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        char cctx[224], fctx[192];
        lx_status s;
        snprintf(cctx, sizeof cctx, "%s.tool_calls[%zu]", ctx, i);
        snprintf(fctx, sizeof fctx, "%.150s.function", cctx);
        json_t *fn = json_object_get(c, "function");
        if ((s = need_obj(c, cctx, err)) != LX_OK || (s = need_obj(fn, fctx, err)) != LX_OK)
            return s;
        lx_part *p = lx_message_add_part(r, &r->messages[mi], LX_PART_TOOL_CALL);
        if (!p)
            return LX_ERR_NOMEM;
        if ((s = lx_json_opt_str(r->arena, c, "id", cctx, &p->id, err)) != LX_OK ||
            (s = lx_json_opt_str(r->arena, fn, "name", fctx, &p->name, err)) != LX_OK)
            return s;
        if (!p->name)
            return lx_fail(err, LX_ERR_INVALID, "%s.name: required", fctx);
        snprintf(cctx, sizeof cctx, "%.180s.arguments", fctx);
        if ((s = decode_arguments(r->arena, json_object_get(fn, "arguments"), cctx, &p->arguments,
                                  err)) != LX_OK)
            return s;
    }
    return LX_OK;
}

static lx_status decode_message(lx_request *r, const json_t *m, size_t i, lx_error *err)
{
    char ctx[64];
    lx_status s;
    snprintf(ctx, sizeof ctx, "messages[%zu]", i);
    if ((s = need_obj(m, ctx, err)) != LX_OK)
        return s;
    char *role = NULL, *content = NULL, *thinking = NULL, *tool_name = NULL, *call_id = NULL;
    if ((s = lx_json_opt_str(r->arena, m, "role", ctx, &role, err)) != LX_OK ||
        (s = lx_json_opt_str(r->arena, m, "content", ctx, &content, err)) != LX_OK ||
        (s = lx_json_opt_str(r->arena, m, "thinking", ctx, &thinking, err)) != LX_OK ||
        (s = lx_json_opt_str(r->arena, m, "tool_name", ctx, &tool_name, err)) != LX_OK ||
        (s = lx_json_opt_str(r->arena, m, "tool_call_id", ctx, &call_id, err)) != LX_OK)
        return s;
    if (!tool_name && (s = lx_json_opt_str(r->arena, m, "name", ctx, &tool_name, err)) != LX_OK)
        return s;
    if (!role)
        return lx_fail(err, LX_ERR_INVALID, "%s.role: required", ctx);
    lx_role rl;
    if (strcmp(role, "system") == 0)
        rl = LX_ROLE_SYSTEM;
    else if (strcmp(role, "user") == 0)
        rl = LX_ROLE_USER;
    else if (strcmp(role, "assistant") == 0)
        rl = LX_ROLE_ASSISTANT;
    else if (strcmp(role, "tool") == 0)
        rl = LX_ROLE_TOOL;
    else
        return lx_fail(err, LX_ERR_INVALID,
                       "%s.role: expected system, user, assistant or tool, got \"%.40s\"", ctx,
                       role);
    if (!lx_request_add_message(r, rl))
        return LX_ERR_NOMEM;
    size_t mi = r->n_messages - 1;
    lx_message *msg = &r->messages[mi];
    if (rl == LX_ROLE_TOOL) {
        lx_part *p = lx_message_add_part(r, msg, LX_PART_TOOL_RESULT);
        if (!p)
            return LX_ERR_NOMEM;
        p->text = content ? content : "";
        p->name = tool_name;
        p->id = call_id;
        return LX_OK;
    }
    if (thinking && *thinking && rl == LX_ROLE_ASSISTANT) {
        lx_part *p = lx_message_add_part(r, msg, LX_PART_THINKING);
        if (!p)
            return LX_ERR_NOMEM;
        p->text = thinking;
    }
    json_t *calls = json_object_get(m, "tool_calls");
    if (content && (*content || rl != LX_ROLE_ASSISTANT || !json_array_size(calls))) {
        lx_part *p = lx_message_add_part(r, msg, LX_PART_TEXT);
        if (!p)
            return LX_ERR_NOMEM;
        p->text = content;
    }
    if ((s = decode_images(r, mi, json_object_get(m, "images"), ctx, err)) != LX_OK)
        return s;
    if (calls && !json_is_null(calls) && rl != LX_ROLE_ASSISTANT)
        return lx_fail(err, LX_ERR_INVALID, "%s.tool_calls: only assistant messages make calls",
                       ctx);
    return decode_calls(r, mi, calls, ctx, err);
}

static lx_status decode_tools(lx_request *r, const json_t *tools, lx_error *err)
{
    if (!tools || json_is_null(tools))
        return LX_OK;
    if (!json_is_array(tools))
        return lx_fail(err, LX_ERR_INVALID, "tools: expected an array");
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        char ctx[64], fctx[80];
        lx_status s;
        snprintf(ctx, sizeof ctx, "tools[%zu]", i);
        snprintf(fctx, sizeof fctx, "tools[%zu].function", i);
        if ((s = need_obj(t, ctx, err)) != LX_OK)
            return s;
        json_t *type = json_object_get(t, "type");
        if (type && !(json_is_string(type) && strcmp(json_string_value(type), "function") == 0))
            return lx_fail(err, LX_ERR_INVALID, "%s.type: expected \"function\"", ctx);
        json_t *fn = json_object_get(t, "function");
        if ((s = need_obj(fn, fctx, err)) != LX_OK)
            return s;
        lx_tool *tool = lx_request_add_tool(r);
        if (!tool)
            return LX_ERR_NOMEM;
        if ((s = lx_json_opt_str(r->arena, fn, "name", fctx, &tool->name, err)) != LX_OK ||
            (s = lx_json_opt_str(r->arena, fn, "description", fctx, &tool->description, err)) !=
                LX_OK)
            return s;
        if (!tool->name)
            return lx_fail(err, LX_ERR_INVALID, "%s.name: required", fctx);
        json_t *params = json_object_get(fn, "parameters");
        if (params && !json_is_null(params)) {
            if (!json_is_object(params))
                return lx_fail(err, LX_ERR_INVALID, "%s.parameters: expected an object", fctx);
            if (!(tool->parameters = lx_json_dump_arena(r->arena, params)))
                return LX_ERR_NOMEM;
        }
    }
    return LX_OK;
}

/* Fields /api/chat and /api/generate share: format, options, stream, think. */
static lx_status decode_common(lx_request *r, const json_t *root, lx_error *err)
{
    lx_status s;
    json_t *fmt = json_object_get(root, "format");
    if (json_is_string(fmt)) {
        const char *f = json_string_value(fmt);
        if (strcmp(f, "json") == 0)
            r->format.kind = LX_FORMAT_JSON;
        else if (*f)
            return lx_fail(err, LX_ERR_INVALID, "format: expected \"json\" or a JSON Schema");
    } else if (json_is_object(fmt)) {
        r->format.kind = LX_FORMAT_JSON_SCHEMA;
        if (!(r->format.schema = lx_json_dump_arena(r->arena, fmt)))
            return LX_ERR_NOMEM;
    } else if (fmt && !json_is_null(fmt)) {
        return lx_fail(err, LX_ERR_INVALID, "format: expected \"json\" or a JSON Schema");
    }
    json_t *opt = json_object_get(root, "options");
    if (opt && !json_is_null(opt)) {
        lx_sampling *sp = &r->sampling;
        int64_t topk = 0, np = 0, nctx = 0;
        bool has_k = false, has_np = false, has_ctx = false;
        if ((s = need_obj(opt, "options", err)) != LX_OK ||
            (s = lx_json_opt_num(opt, "temperature", "options", &sp->temperature,
                                 &sp->has_temperature, err)) != LX_OK ||
            (s = lx_json_opt_num(opt, "top_p", "options", &sp->top_p, &sp->has_top_p, err)) !=
                LX_OK ||
            (s = lx_json_opt_int(opt, "top_k", "options", &topk, &has_k, err)) != LX_OK ||
            (s = lx_json_opt_int(opt, "seed", "options", &sp->seed, &sp->has_seed, err)) != LX_OK ||
            (s = lx_json_opt_int(opt, "num_predict", "options", &np, &has_np, err)) != LX_OK ||
            (s = lx_json_opt_int(opt, "num_ctx", "options", &nctx, &has_ctx, err)) != LX_OK)
            return s;
        if (has_ctx) {
            if (nctx <= 0 || nctx > (int64_t)1 << 30)
                return lx_fail(err, LX_ERR_INVALID, "options.num_ctx: expected a positive integer");
            r->num_ctx = nctx;
        }
        if (has_k) {
            if (topk < 0 || topk > 1000000)
                return lx_fail(err, LX_ERR_INVALID, "options.top_k: out of range");
            sp->has_top_k = true;
            sp->top_k = (int)topk;
        }
        if (has_np && np > 0) /* -1 (infinite) and -2 (fill the context) mean "not set" */
            sp->max_tokens = np;
        json_t *stop = json_object_get(opt, "stop");
        if (json_is_string(stop)) {
            if (lx_request_add_stop(r, json_string_value(stop)) != LX_OK)
                return LX_ERR_NOMEM;
        } else if (json_is_array(stop)) {
            size_t i;
            json_t *v;
            json_array_foreach(stop, i, v)
            {
                if (!json_is_string(v))
                    return lx_fail(err, LX_ERR_INVALID, "options.stop[%zu]: expected a string", i);
                if (lx_request_add_stop(r, json_string_value(v)) != LX_OK)
                    return LX_ERR_NOMEM;
            }
        } else if (stop && !json_is_null(stop)) {
            return lx_fail(err, LX_ERR_INVALID, "options.stop: expected an array of strings");
        }
    }
    bool has_stream = false;
    if ((s = lx_json_opt_bool(root, "stream", NULL, &r->stream, &has_stream, err)) != LX_OK)
        return s;
    if (!has_stream)
        r->stream = true; /* Ollama streams unless told not to */
    json_t *think = json_object_get(root, "think");
    if (json_is_true(think)) {
        r->thinking_budget = LX_OLLAMA_THINK_BUDGET;
    } else if (json_is_string(think)) {
        const char *t = json_string_value(think);
        if (strcmp(t, "low") == 0)
            r->thinking_budget = LX_OLLAMA_THINK_BUDGET / 4;
        else if (strcmp(t, "medium") == 0)
            r->thinking_budget = LX_OLLAMA_THINK_BUDGET;
        else if (strcmp(t, "high") == 0)
            r->thinking_budget = LX_OLLAMA_THINK_BUDGET * 2;
        else
            return lx_fail(err, LX_ERR_INVALID,
                           "think: expected true, false, \"low\", "
                           "\"medium\" or \"high\"");
    } else if (think && !json_is_null(think) && !json_is_false(think)) {
        return lx_fail(err, LX_ERR_INVALID,
                       "think: expected true, false, \"low\", \"medium\" or "
                       "\"high\"");
    }
    return LX_OK;
}

typedef lx_status (*body_fn)(lx_request *r, const json_t *root, lx_error *err);

static lx_status decode_with(const char *body, size_t len, body_fn fn, lx_request **out,
                             lx_error *err)
{
    json_t *root = NULL;
    lx_status s;
    *out = NULL;
    if ((s = lx_json_parse(body, len, true, &root, err)) != LX_OK)
        return s;
    lx_request *r = lx_request_new();
    if (!r) {
        json_decref(root);
        return LX_ERR_NOMEM;
    }
    if ((s = lx_json_opt_str(r->arena, root, "model", NULL, &r->model, err)) != LX_OK)
        goto fail;
    if (!r->model || !*r->model) {
        s = lx_fail(err, LX_ERR_INVALID, "model: required");
        goto fail;
    }
    if ((s = fn(r, root, err)) != LX_OK || (s = decode_common(r, root, err)) != LX_OK)
        goto fail;
    json_decref(root);
    *out = r;
    return LX_OK;
fail:
    if (s == LX_ERR_NOMEM)
        lx_fail(err, s, "out of memory");
    json_decref(root);
    lx_request_free(r);
    return s;
}

static lx_status chat_body(lx_request *r, const json_t *root, lx_error *err)
{
    json_t *msgs = json_object_get(root, "messages");
    lx_status s;
    if (msgs && !json_is_null(msgs) && !json_is_array(msgs))
        return lx_fail(err, LX_ERR_INVALID, "messages: expected an array");
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        if ((s = decode_message(r, m, i, err)) != LX_OK)
            return s;
    }
    return decode_tools(r, json_object_get(root, "tools"), err);
}

static lx_status request_decode(const char *body, size_t len, lx_request **out, lx_error *err)
{
    return decode_with(body, len, chat_body, out, err);
}

static lx_status generate_body(lx_request *r, const json_t *root, lx_error *err)
{
    static const char *const refused[] = {"suffix", "template"};
    lx_status s;
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(root, refused[i]);
        if (json_is_string(v) && json_string_length(v) > 0)
            return lx_fail(err, LX_ERR_UNSUPPORTED, "%s: not supported by llmux", refused[i]);
        if (v && !json_is_null(v) && !json_is_string(v))
            return lx_fail(err, LX_ERR_INVALID, "%s: expected a string", refused[i]);
    }
    json_t *ctxv = json_object_get(root, "context");
    if (ctxv && !json_is_null(ctxv) && !(json_is_array(ctxv) && json_array_size(ctxv) == 0))
        return lx_fail(err, LX_ERR_UNSUPPORTED,
                       "context: token contexts are not supported; send the conversation to "
                       "/api/chat instead");
    char *prompt = NULL, *system = NULL;
    bool raw = false;
    if ((s = lx_json_opt_str(r->arena, root, "prompt", NULL, &prompt, err)) != LX_OK ||
        (s = lx_json_opt_str(r->arena, root, "system", NULL, &system, err)) != LX_OK ||
        (s = lx_json_opt_bool(root, "raw", NULL, &raw, NULL, err)) != LX_OK)
        return s;
    if (system && *system && lx_request_add_text(r, LX_ROLE_SYSTEM, system) != LX_OK)
        return LX_ERR_NOMEM;
    if (lx_request_add_text(r, LX_ROLE_USER, prompt ? prompt : "") != LX_OK)
        return LX_ERR_NOMEM;
    return decode_images(r, r->n_messages - 1, json_object_get(root, "images"), "request", err);
}

lx_status lx_ollama_generate_decode(const char *body, size_t len, lx_request **out, lx_error *err)
{
    return decode_with(body, len, generate_body, out, err);
}

/* ---- http and errors ---------------------------------------------------- */

static lx_status http_prepare(const lx_codec_opts *o, lx_buf *url, lx_buf *headers, lx_error *err)
{
    const char *base = o->base_url && *o->base_url ? o->base_url : LX_OLLAMA_DEFAULT_BASE;
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    if (o->api_key && strpbrk(o->api_key, "\r\n"))
        return lx_fail(err, LX_ERR_INVALID, "api_key: contains a line break");
    lx_status s;
    if ((s = lx_buf_append(url, base, blen)) != LX_OK ||
        (s = lx_buf_puts(url, "/api/chat")) != LX_OK ||
        (s = lx_buf_puts(headers, "Content-Type: application/json\n")) != LX_OK)
        return s;
    if (o->api_key && *o->api_key &&
        (s = lx_buf_printf(headers, "Authorization: Bearer %s\n", o->api_key)) != LX_OK)
        return s;
    return LX_OK;
}

static const char *type_for_http(int http)
{
    switch (http) {
    case 400:
        return "invalid_request";
    case 401:
    case 403:
        return "unauthorized";
    case 404:
        return "not_found";
    case 429:
        return "rate_limited";
    default:
        return http >= 500 ? "server_error" : "";
    }
}

static void error_decode(int http_status, const char *body, size_t len, lx_error *err)
{
    if (!err)
        return;
    json_error_t je;
    json_t *root = body ? json_loadb(body, len, 0, &je) : NULL;
    json_t *e = json_object_get(root, "error");
    if (json_is_string(e)) {
        lx_fail(err, LX_ERR_UPSTREAM, "%s", json_string_value(e));
    } else if (json_is_string(json_object_get(e, "message"))) {
        lx_fail(err, LX_ERR_UPSTREAM, "%s", json_string_value(json_object_get(e, "message")));
    } else {
        char quote[201];
        size_t n = len < 200 ? len : 200;
        for (size_t i = 0; i < n; i++)
            quote[i] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
        quote[n] = '\0';
        lx_fail(err, LX_ERR_UPSTREAM, "HTTP %d with an unreadable body: \"%s\"", http_status,
                quote);
    }
    err->http_status = http_status;
    lx_strlcpy(err->provider, "ollama", sizeof err->provider);
    lx_strlcpy(err->type, type_for_http(http_status), sizeof err->type);
    json_decref(root);
}

static lx_status error_encode(const lx_error *e, int *http_status, lx_buf *out)
{
    int http = lx_error_http_status(e);
    if (http_status)
        *http_status = http;
    const char *msg = e->message[0] ? e->message : lx_status_name(e->code);
    lx_status s = lx_buf_puts(out, "{\"error\":");
    if (s == LX_OK)
        s = lx_json_quote(out, msg, strlen(msg));
    if (s == LX_OK)
        s = lx_buf_putc(out, '}');
    return s;
}

const lx_codec lx_codec_ollama = {
    .name = "ollama",
    .request_decode = request_decode,
    .response_encode = lx_ollama_response_encode,
    .stream_encoder_new = lx_ollama_stream_encoder_new,
    .error_encode = error_encode,
    .stream_content_type = "application/x-ndjson",
    .request_encode = request_encode,
    .http_prepare = http_prepare,
    .response_decode = lx_ollama_response_decode,
    .stream_decoder_new = lx_ollama_stream_decoder_new,
    .error_decode = error_decode,
};
