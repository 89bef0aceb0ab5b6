/*
 * anthropic.c — Anthropic Messages requests, both directions, and the codec
 * table.
 *
 * Request (POST {base}/v1/messages, anthropic-version: 2023-06-01):
 *   {model, max_tokens (required), system (string | [{type:"text",text}]),
 *    messages:[{role:"user"|"assistant", content: string | blocks}],
 *    tools:[{name, description, input_schema}],
 *    tool_choice:{type:auto|any|tool|none, name, disable_parallel_tool_use},
 *    temperature, top_p, top_k, stop_sequences, stream,
 *    thinking:{type:"enabled", budget_tokens}, metadata:{user_id}}
 *   blocks: text{text}; image{source:{type:"base64",media_type,data} |
 *   {type:"url",url}}; tool_use{id,name,input: object}; tool_result{
 *   tool_use_id, content: string | [text blocks], is_error} (user turns
 *   only); thinking{thinking,signature}; redacted_thinking{data}.
 *
 * Decoding: the system prompt becomes SYSTEM messages (one per block); a
 * user turn holding tool_result blocks becomes a TOOL message with its
 * results followed by a USER message with the turn's other blocks.
 * Encoding is the inverse: every SYSTEM message goes to the top-level
 * `system`, consecutive TOOL messages and the USER message right after them
 * are merged into one user turn, tool ids missing in the neutral request
 * (Gemini/Ollama origin) are generated and matched to their results by name
 * and order. THINKING parts without a signature (another provider's
 * reasoning) are dropped: the API only accepts signed thinking back.
 * `max_tokens` = the request's, else opts->default_max_tokens, else 4096,
 * raised above the thinking budget when thinking is on.
 *
 * JSON output: this API version has no JSON mode. For LX_FORMAT_JSON and
 * LX_FORMAT_JSON_SCHEMA a short instruction asking for one JSON value (and
 * the schema, if any) is appended to `system`; nothing enforces it.
 * Dropped on encode: seed, OpenAI-style parallel hints without tools.
 */
#include "proto/anthropic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "proto/callids.h"
#include "proto/json.h"

#define CTX_MAX 128

static bool put(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) == 0;
}

/* ---- request decode ------------------------------------------------------- */

static lx_status req_str(lx_arena *a, const json_t *o, const char *key, const char *ctx, char **out,
                         lx_error *err)
{
    lx_status st = lx_json_opt_str(a, o, key, ctx, out, err);
    if (st == LX_OK && !*out)
        return lx_fail(err, LX_ERR_INVALID, "%s.%s: required", ctx, key);
    return st;
}

/* tool_result content: string, or an array of blocks whose text blocks are
 * joined with "\n" (other blocks, e.g. images, are not carried). */
static lx_status result_text(lx_arena *a, const json_t *c, const char *ctx, char **out,
                             lx_error *err)
{
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
        if (!json_is_object(it) || !type) {
            st = lx_fail(err, LX_ERR_INVALID, "%s.content[%zu]: expected a content block", ctx, i);
            break;
        }
        if (strcmp(type, "text") != 0)
            continue;
        if (!json_is_string(t)) {
            st = lx_fail(err, LX_ERR_INVALID, "%s.content[%zu].text: expected a string", ctx, i);
            break;
        }
        if ((b.len && (st = lx_buf_putc(&b, '\n')) != LX_OK) ||
            (st = lx_buf_append(&b, json_string_value(t), json_string_length(t))) != LX_OK)
            break;
    }
    if (st == LX_OK && !(*out = lx_arena_strndup(a, b.data ? b.data : "", b.len)))
        st = LX_ERR_NOMEM;
    lx_buf_free(&b);
    return st;
}

/* One content block into message mi. `results` selects the pass: tool_result
 * blocks only (true) or every other block (false). */
static lx_status block_in(lx_request *r, size_t mi, const json_t *b, const char *ctx,
                          bool assistant, lx_error *err)
{
    lx_arena *a = r->arena;
    const char *type = json_string_value(json_object_get(b, "type"));
    lx_part *p;
    lx_status st;
    if (!strcmp(type, "text")) {
        if (!(p = lx_message_add_part(r, &r->messages[mi], LX_PART_TEXT)))
            return LX_ERR_NOMEM;
        return req_str(a, b, "text", ctx, &p->text, err);
    }
    if (!strcmp(type, "image") && !assistant) {
        json_t *src = json_object_get(b, "source");
        char c[CTX_MAX + 64];
        snprintf(c, sizeof c, "%s.source", ctx);
        const char *stype = json_string_value(json_object_get(src, "type"));
        if (!json_is_object(src) || !stype)
            return lx_fail(err, LX_ERR_INVALID, "%s.type: expected a string", c);
        if (!(p = lx_message_add_part(r, &r->messages[mi], LX_PART_IMAGE)))
            return LX_ERR_NOMEM;
        if (!strcmp(stype, "base64")) {
            if ((st = req_str(a, src, "media_type", c, &p->media_type, err)) != LX_OK)
                return st;
            return req_str(a, src, "data", c, &p->data, err);
        }
        if (!strcmp(stype, "url"))
            return req_str(a, src, "url", c, &p->url, err);
        return lx_fail(err, LX_ERR_UNSUPPORTED, "%s.type: \"%.32s\" is not supported", c, stype);
    }
    if (!strcmp(type, "tool_use") && assistant) {
        json_t *in = json_object_get(b, "input");
        if (!(p = lx_message_add_part(r, &r->messages[mi], LX_PART_TOOL_CALL)))
            return LX_ERR_NOMEM;
        if ((st = req_str(a, b, "id", ctx, &p->id, err)) != LX_OK ||
            (st = req_str(a, b, "name", ctx, &p->name, err)) != LX_OK)
            return st;
        if (in && !json_is_object(in) && !json_is_null(in))
            return lx_fail(err, LX_ERR_INVALID, "%s.input: expected an object", ctx);
        p->arguments = json_is_object(in) ? lx_json_dump_arena(a, in) : lx_arena_strdup(a, "{}");
        return p->arguments ? LX_OK : LX_ERR_NOMEM;
    }
    if (!strcmp(type, "tool_result") && !assistant) {
        bool is_err = false;
        if (!(p = lx_message_add_part(r, &r->messages[mi], LX_PART_TOOL_RESULT)))
            return LX_ERR_NOMEM;
        if ((st = req_str(a, b, "tool_use_id", ctx, &p->id, err)) != LX_OK ||
            (st = lx_json_opt_bool(b, "is_error", ctx, &is_err, NULL, err)) != LX_OK ||
            (st = result_text(a, json_object_get(b, "content"), ctx, &p->text, err)) != LX_OK)
            return st;
        p->is_error = is_err;
        p->name = lx_request_call_name(r, p->id);
        return LX_OK;
    }
    if (!strcmp(type, "thinking") && assistant) {
        if (!(p = lx_message_add_part(r, &r->messages[mi], LX_PART_THINKING)))
            return LX_ERR_NOMEM;
        if ((st = req_str(a, b, "thinking", ctx, &p->text, err)) != LX_OK)
            return st;
        return lx_json_opt_str(a, b, "signature", ctx, &p->signature, err);
    }
    if (!strcmp(type, "redacted_thinking") && assistant) {
        if (!(p = lx_message_add_part(r, &r->messages[mi], LX_PART_THINKING)))
            return LX_ERR_NOMEM;
        return req_str(a, b, "data", ctx, &p->data, err);
    }
    return lx_fail(err, LX_ERR_UNSUPPORTED, "%s.type: \"%.40s\" is not supported in %s turns", ctx,
                   type, assistant ? "assistant" : "user");
}

static lx_status message_in(lx_request *r, const json_t *m, size_t i, lx_error *err)
{
    char ctx[CTX_MAX], c[CTX_MAX + 32];
    snprintf(ctx, sizeof ctx, "messages[%zu]", i);
    if (!json_is_object(m))
        return lx_fail(err, LX_ERR_INVALID, "%s: expected an object", ctx);
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!role)
        return lx_fail(err, LX_ERR_INVALID, "%s.role: expected a string", ctx);
    bool assistant = !strcmp(role, "assistant");
    if (!assistant && strcmp(role, "user") != 0)
        return lx_fail(err, LX_ERR_INVALID, "%s.role: expected \"user\" or \"assistant\"", ctx);
    json_t *content = json_object_get(m, "content");
    if (json_is_string(content))
        return lx_request_add_text(r, assistant ? LX_ROLE_ASSISTANT : LX_ROLE_USER,
                                   json_string_value(content));
    if (!json_is_array(content))
        return lx_fail(err, LX_ERR_INVALID, "%s.content: expected a string or an array", ctx);
    size_t k;
    json_t *b;
    bool any_result = false, any_other = false;
    json_array_foreach(content, k, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (!json_is_object(b) || !type)
            return lx_fail(err, LX_ERR_INVALID, "%s.content[%zu].type: expected a string", ctx, k);
        if (!strcmp(type, "tool_result"))
            any_result = true;
        else
            any_other = true;
    }
    /* pass 0: tool results into a TOOL message; pass 1: the rest */
    for (int pass = any_result ? 0 : 1; pass < 2; pass++) {
        if (pass == 1 && !any_other && any_result)
            break;
        lx_role role_n = pass == 0 ? LX_ROLE_TOOL : assistant ? LX_ROLE_ASSISTANT : LX_ROLE_USER;
        if (!lx_request_add_message(r, role_n))
            return LX_ERR_NOMEM;
        size_t mi = r->n_messages - 1;
        json_array_foreach(content, k, b)
        {
            bool is_result = !strcmp(json_string_value(json_object_get(b, "type")), "tool_result");
            if (is_result != (pass == 0))
                continue;
            snprintf(c, sizeof c, "%s.content[%zu]", ctx, k);
            lx_status st = block_in(r, mi, b, c, assistant, err);
            if (st != LX_OK)
                return st;
        }
    }
    return LX_OK;
}

static lx_status system_in(lx_request *r, const json_t *sys, lx_error *err)
{
    if (!sys || json_is_null(sys))
        return LX_OK;
    if (json_is_string(sys))
        return lx_request_add_text(r, LX_ROLE_SYSTEM, json_string_value(sys));
    if (!json_is_array(sys))
        return lx_fail(err, LX_ERR_INVALID, "system: expected a string or an array");
    size_t i;
    json_t *b;
    json_array_foreach(sys, i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        json_t *t = json_object_get(b, "text");
        if (!json_is_object(b) || !type || strcmp(type, "text") != 0 || !json_is_string(t))
            return lx_fail(err, LX_ERR_INVALID, "system[%zu]: expected a text block", i);
        lx_status st = lx_request_add_text(r, LX_ROLE_SYSTEM, json_string_value(t));
        if (st != LX_OK)
            return st;
    }
    return LX_OK;
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
        if (!json_is_object(it))
            return lx_fail(err, LX_ERR_INVALID, "%s: expected an object", c);
        const char *type = json_string_value(json_object_get(it, "type"));
        if (type && strcmp(type, "custom") != 0)
            return lx_fail(err, LX_ERR_UNSUPPORTED,
                           "%s.type: server tool \"%.40s\" is not supported", c, type);
        lx_tool *t = lx_request_add_tool(r);
        if (!t)
            return LX_ERR_NOMEM;
        lx_status st = req_str(r->arena, it, "name", c, &t->name, err);
        if (st == LX_OK)
            st = lx_json_opt_str(r->arena, it, "description", c, &t->description, err);
        if (st != LX_OK)
            return st;
        json_t *schema = json_object_get(it, "input_schema");
        if (schema && !json_is_null(schema)) {
            if (!json_is_object(schema))
                return lx_fail(err, LX_ERR_INVALID, "%s.input_schema: expected an object", c);
            if (!(t->parameters = lx_json_dump_arena(r->arena, schema)))
                return LX_ERR_NOMEM;
        }
    }
    return LX_OK;
}

static lx_status tool_choice_in(lx_request *r, const json_t *tc, lx_error *err)
{
    if (!tc || json_is_null(tc))
        return LX_OK;
    const char *type = json_string_value(json_object_get(tc, "type"));
    if (!json_is_object(tc) || !type)
        return lx_fail(err, LX_ERR_INVALID, "tool_choice.type: expected a string");
    lx_tool_choice *c = &r->tool_choice;
    if (!strcmp(type, "auto"))
        c->kind = LX_TOOL_CHOICE_AUTO;
    else if (!strcmp(type, "any"))
        c->kind = LX_TOOL_CHOICE_REQUIRED;
    else if (!strcmp(type, "none"))
        c->kind = LX_TOOL_CHOICE_NONE;
    else if (!strcmp(type, "tool"))
        c->kind = LX_TOOL_CHOICE_NAMED;
    else
        return lx_fail(err, LX_ERR_INVALID,
                       "tool_choice.type: expected \"auto\", \"any\", \"tool\" or \"none\"");
    lx_status st;
    if (c->kind == LX_TOOL_CHOICE_NAMED &&
        (st = req_str(r->arena, tc, "name", "tool_choice", &c->name, err)) != LX_OK)
        return st;
    bool dis = false;
    if ((st = lx_json_opt_bool(tc, "disable_parallel_tool_use", "tool_choice", &dis,
                               &c->has_parallel, err)) != LX_OK)
        return st;
    c->parallel = !dis;
    return LX_OK;
}

static lx_status options_in(lx_request *r, const json_t *root, lx_error *err)
{
    lx_sampling *s = &r->sampling;
    int64_t tk = 0;
    bool has_mt = false;
    lx_status st;
    if ((st = lx_json_opt_int(root, "max_tokens", NULL, &s->max_tokens, &has_mt, err)) != LX_OK)
        return st;
    if (!has_mt)
        return lx_fail(err, LX_ERR_INVALID, "max_tokens: required");
    if (s->max_tokens <= 0)
        return lx_fail(err, LX_ERR_INVALID, "max_tokens: expected a positive integer");
    if ((st = lx_json_opt_num(root, "temperature", NULL, &s->temperature, &s->has_temperature,
                              err)) != LX_OK ||
        (st = lx_json_opt_num(root, "top_p", NULL, &s->top_p, &s->has_top_p, err)) != LX_OK ||
        (st = lx_json_opt_int(root, "top_k", NULL, &tk, &s->has_top_k, err)) != LX_OK ||
        (st = lx_json_opt_bool(root, "stream", NULL, &r->stream, NULL, err)) != LX_OK)
        return st;
    if (s->has_top_k && (tk <= 0 || tk > 1 << 30))
        return lx_fail(err, LX_ERR_INVALID, "top_k: expected a positive integer");
    s->top_k = (int)tk;
    json_t *stop = json_object_get(root, "stop_sequences");
    if (stop && !json_is_null(stop) && !json_is_array(stop))
        return lx_fail(err, LX_ERR_INVALID, "stop_sequences: expected an array");
    for (size_t i = 0; i < json_array_size(stop); i++) {
        json_t *it = json_array_get(stop, i);
        if (!json_is_string(it))
            return lx_fail(err, LX_ERR_INVALID, "stop_sequences[%zu]: expected a string", i);
        if (lx_request_add_stop(r, json_string_value(it)) != LX_OK)
            return LX_ERR_NOMEM;
    }
    json_t *th = json_object_get(root, "thinking");
    if (th && !json_is_null(th)) {
        const char *type = json_string_value(json_object_get(th, "type"));
        if (!json_is_object(th) || !type)
            return lx_fail(err, LX_ERR_INVALID, "thinking.type: expected a string");
        if (!strcmp(type, "enabled")) {
            bool has = false;
            if ((st = lx_json_opt_int(th, "budget_tokens", "thinking", &r->thinking_budget, &has,
                                      err)) != LX_OK)
                return st;
            if (!has || r->thinking_budget <= 0)
                return lx_fail(err, LX_ERR_INVALID,
                               "thinking.budget_tokens: expected a positive integer");
        } else if (strcmp(type, "disabled") != 0) {
            return lx_fail(err, LX_ERR_INVALID,
                           "thinking.type: expected \"enabled\" or \"disabled\"");
        }
    }
    json_t *md = json_object_get(root, "metadata");
    if (md && !json_is_null(md)) {
        if (!json_is_object(md))
            return lx_fail(err, LX_ERR_INVALID, "metadata: expected an object");
        if ((st = lx_json_opt_str(r->arena, md, "user_id", "metadata", &r->user, err)) != LX_OK)
            return st;
    }
    return LX_OK;
}

static lx_status request_decode(const char *body, size_t len, lx_request **out, lx_error *err)
{
    json_t *root = NULL;
    lx_request *r = NULL;
    lx_status st;
    *out = NULL;
    if ((st = lx_json_parse(body, len, true, &root, err)) != LX_OK)
        return st;
    if (!(r = lx_request_new())) {
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = lx_json_opt_str(r->arena, root, "model", NULL, &r->model, err)) != LX_OK)
        goto fail;
    if (!r->model || !*r->model) {
        st = lx_fail(err, LX_ERR_INVALID, "model: required");
        goto fail;
    }
    if ((st = options_in(r, root, err)) != LX_OK ||
        (st = system_in(r, json_object_get(root, "system"), err)) != LX_OK)
        goto fail;
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
    if ((st = tools_in(r, json_object_get(root, "tools"), err)) != LX_OK ||
        (st = tool_choice_in(r, json_object_get(root, "tool_choice"), err)) != LX_OK)
        goto fail;
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

static json_t *user_block(const lx_part *p)
{
    if (p->kind == LX_PART_TEXT)
        return p->text && *p->text ? json_pack("{s:s,s:s}", "type", "text", "text", p->text) : NULL;
    if (p->kind != LX_PART_IMAGE)
        return NULL;
    if (p->data)
        return json_pack("{s:s,s:{s:s,s:s,s:s}}", "type", "image", "source", "type", "base64",
                         "media_type", p->media_type ? p->media_type : "image/png", "data",
                         p->data);
    return json_pack("{s:s,s:{s:s,s:s}}", "type", "image", "source", "type", "url", "url",
                     p->url ? p->url : "");
}

static lx_status messages_out(const lx_request *r, json_t *arr, lx_call_ids *ids, lx_error *err)
{
    char ctx[CTX_MAX];
    bool ok = true;
    for (size_t i = 0; i < r->n_messages && ok; i++) {
        const lx_message *m = &r->messages[i];
        if (m->role == LX_ROLE_SYSTEM)
            continue;
        json_t *blocks = json_array();
        json_t *turn =
            json_pack("{s:s,s:o}", "role", m->role == LX_ROLE_ASSISTANT ? "assistant" : "user",
                      "content", blocks);
        if (!turn || json_array_append_new(arr, turn) != 0)
            return lx_fail(err, LX_ERR_NOMEM, "out of memory");
        if (m->role == LX_ROLE_ASSISTANT) {
            lx_part *copy = calloc(m->n_parts ? m->n_parts : 1, sizeof *copy);
            if (!copy)
                return lx_fail(err, LX_ERR_NOMEM, "out of memory");
            for (size_t j = 0; j < m->n_parts && ok; j++) {
                copy[j] = m->parts[j];
                if (copy[j].kind == LX_PART_TOOL_CALL)
                    ok = (copy[j].id = (char *)lx_call_ids_for_call(ids, &m->parts[j])) != NULL;
            }
            snprintf(ctx, sizeof ctx, "messages[%zu]", i);
            lx_status st =
                ok ? lx_anthropic_blocks_out(copy, m->n_parts, ctx, blocks, err) : LX_ERR_NOMEM;
            free(copy);
            if (st != LX_OK)
                return st;
            if (json_array_size(blocks) == 0) /* nothing the API would accept */
                json_array_remove(arr, json_array_size(arr) - 1);
            continue;
        }
        /* TOOL messages, then the USER message right after them: one turn */
        for (; i < r->n_messages && r->messages[i].role == LX_ROLE_TOOL && ok; i++)
            for (size_t j = 0; j < r->messages[i].n_parts && ok; j++) {
                const lx_part *p = &r->messages[i].parts[j];
                if (p->kind != LX_PART_TOOL_RESULT)
                    continue;
                const char *id = lx_call_ids_for_result(ids, p);
                json_t *b = id ? json_pack("{s:s,s:s,s:s}", "type", "tool_result", "tool_use_id",
                                           id, "content", p->text ? p->text : "")
                               : NULL;
                if (b && p->is_error)
                    json_object_set_new(b, "is_error", json_true());
                ok = json_array_append_new(blocks, b) == 0;
            }
        if (i < r->n_messages && r->messages[i].role == LX_ROLE_USER) {
            for (size_t j = 0; j < r->messages[i].n_parts && ok; j++) {
                json_t *b = user_block(&r->messages[i].parts[j]);
                if (b)
                    ok = json_array_append_new(blocks, b) == 0;
            }
        } else {
            i--; /* not consumed */
        }
        if (json_array_size(blocks) == 1 &&
            !strcmp(json_string_value(json_object_get(json_array_get(blocks, 0), "type")), "text"))
            ok = ok && put(turn, "content",
                           json_incref(json_object_get(json_array_get(blocks, 0), "text")));
        else if (json_array_size(blocks) == 0)
            ok = ok && put(turn, "content", json_string(""));
    }
    return ok ? LX_OK : lx_fail(err, LX_ERR_NOMEM, "out of memory encoding messages");
}

static lx_status system_out(const lx_request *r, json_t *root, lx_error *err)
{
    json_t *blocks = json_array();
    lx_buf b;
    lx_buf_init(&b, 0);
    bool ok = blocks != NULL;
    for (size_t i = 0; i < r->n_messages && ok; i++) {
        const lx_message *m = &r->messages[i];
        if (m->role != LX_ROLE_SYSTEM)
            continue;
        for (size_t j = 0; j < m->n_parts && ok; j++)
            if (m->parts[j].kind == LX_PART_TEXT && m->parts[j].text && *m->parts[j].text)
                ok = json_array_append_new(blocks, json_pack("{s:s,s:s}", "type", "text", "text",
                                                             m->parts[j].text)) == 0;
    }
    if (ok && r->format.kind != LX_FORMAT_TEXT) {
        ok = lx_buf_puts(&b, "Respond with a single valid JSON value and nothing else: no prose, "
                             "no code fences.") == LX_OK;
        if (ok && r->format.kind == LX_FORMAT_JSON_SCHEMA && r->format.schema)
            ok = lx_buf_printf(&b, " It must conform to this JSON Schema: %s", r->format.schema) ==
                 LX_OK;
        ok = ok && json_array_append_new(
                       blocks, json_pack("{s:s,s:s}", "type", "text", "text", b.data)) == 0;
    }
    if (ok && json_array_size(blocks) == 1)
        ok = put(root, "system", json_incref(json_object_get(json_array_get(blocks, 0), "text")));
    else if (ok && json_array_size(blocks) > 1)
        ok = put(root, "system", json_incref(blocks));
    json_decref(blocks);
    lx_buf_free(&b);
    return ok ? LX_OK : lx_fail(err, LX_ERR_NOMEM, "out of memory encoding system");
}

static lx_status tools_out(const lx_request *r, json_t *root, lx_error *err)
{
    if (!r->n_tools)
        return LX_OK;
    json_t *arr = json_array();
    bool ok = put(root, "tools", arr);
    for (size_t i = 0; i < r->n_tools && ok; i++) {
        const lx_tool *t = &r->tools[i];
        char c[CTX_MAX];
        snprintf(c, sizeof c, "tools[%zu].parameters", i);
        json_t *schema = lx_json_object_from_text(t->parameters, c, err);
        if (!schema)
            return LX_ERR_INVALID;
        if (json_object_size(schema) == 0)
            json_object_set_new(schema, "type", json_string("object"));
        json_t *o = json_pack("{s:s}", "name", t->name ? t->name : "");
        ok = json_array_append_new(arr, o) == 0;
        if (ok && t->description)
            ok = put(o, "description", json_string(t->description));
        ok = put(o, "input_schema", schema) && ok;
    }
    const lx_tool_choice *tc = &r->tool_choice;
    const char *type = tc->kind == LX_TOOL_CHOICE_AUTO       ? "auto"
                       : tc->kind == LX_TOOL_CHOICE_NONE     ? "none"
                       : tc->kind == LX_TOOL_CHOICE_REQUIRED ? "any"
                       : tc->kind == LX_TOOL_CHOICE_NAMED    ? "tool"
                       : tc->has_parallel && !tc->parallel   ? "auto"
                                                             : NULL;
    if (ok && type) {
        json_t *o = json_pack("{s:s}", "type", type);
        ok = put(root, "tool_choice", o);
        if (ok && tc->kind == LX_TOOL_CHOICE_NAMED)
            ok = put(o, "name", json_string(tc->name ? tc->name : ""));
        if (ok && tc->has_parallel && !tc->parallel && tc->kind != LX_TOOL_CHOICE_NONE)
            ok = put(o, "disable_parallel_tool_use", json_true());
    }
    return ok ? LX_OK : lx_fail(err, LX_ERR_NOMEM, "out of memory encoding tools");
}

static lx_status request_encode(const lx_request *r, const lx_codec_opts *o, lx_buf *out,
                                lx_error *err)
{
    const char *model = o && o->model ? o->model : r->model;
    if (!model || !*model)
        return lx_fail(err, LX_ERR_INVALID, "model: required");
    lx_status cst = lx_request_check_utf8(r, model, err);
    if (cst != LX_OK)
        return cst;
    const lx_sampling *s = &r->sampling;
    int64_t max_tokens = s->max_tokens > 0                ? s->max_tokens
                         : o && o->default_max_tokens > 0 ? o->default_max_tokens
                                                          : 4096;
    if (r->thinking_budget > 0 && max_tokens <= r->thinking_budget)
        max_tokens = r->thinking_budget + 4096;
    json_t *msgs = json_array();
    json_t *root = json_pack("{s:s,s:I,s:O}", "model", model, "max_tokens", (json_int_t)max_tokens,
                             "messages", msgs);
    lx_call_ids ids;
    bool ids_ok = lx_call_ids_init(&ids, "toolu_lx") == LX_OK;
    lx_status st = LX_ERR_NOMEM;
    if (!root || !msgs || !ids_ok)
        goto done;
    if ((st = system_out(r, root, err)) != LX_OK ||
        (st = messages_out(r, msgs, &ids, err)) != LX_OK || (st = tools_out(r, root, err)) != LX_OK)
        goto done;
    if (json_array_size(msgs) == 0) {
        st = lx_fail(err, LX_ERR_INVALID, "messages: nothing this dialect can carry");
        goto done;
    }
    bool ok = true;
    if (s->has_temperature)
        ok = ok && put(root, "temperature", json_real(s->temperature));
    if (s->has_top_p)
        ok = ok && put(root, "top_p", json_real(s->top_p));
    if (s->has_top_k && s->top_k > 0)
        ok = ok && put(root, "top_k", json_integer(s->top_k));
    if (s->n_stop) {
        json_t *a = json_array();
        ok = put(root, "stop_sequences", a) && ok;
        for (size_t i = 0; i < s->n_stop && ok; i++)
            ok = json_array_append_new(a, json_string(s->stop[i])) == 0;
    }
    if (r->thinking_budget > 0)
        ok = ok && put(root, "thinking",
                       json_pack("{s:s,s:I}", "type", "enabled", "budget_tokens",
                                 (json_int_t)r->thinking_budget));
    if (r->user)
        ok = ok && put(root, "metadata", json_pack("{s:s}", "user_id", r->user));
    if (o && o->stream)
        ok = ok && put(root, "stream", json_true());
    st = ok ? lx_json_dump(root, out) : LX_ERR_NOMEM;
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
    return lx_anthropic_stream_decoder_new(sink, ud);
}

static lx_stream_encoder *stream_encoder_new(const lx_codec_opts *o)
{
    return lx_anthropic_stream_encoder_new(o);
}

const lx_codec lx_codec_anthropic = {
    .name = "anthropic",
    .request_decode = request_decode,
    .response_encode = lx_anthropic_response_encode,
    .stream_encoder_new = stream_encoder_new,
    .error_encode = lx_anthropic_error_encode,
    .stream_content_type = "text/event-stream",
    .request_encode = request_encode,
    .http_prepare = lx_anthropic_http_prepare,
    .response_decode = lx_anthropic_response_decode,
    .stream_decoder_new = stream_decoder_new,
    .error_decode = lx_anthropic_error_decode,
};
