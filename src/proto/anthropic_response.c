/*
 * anthropic_response.c — Anthropic Messages: whole responses, errors, HTTP.
 *
 * Response: {id, type:"message", role:"assistant", model, content:[text |
 *   thinking{thinking,signature} | redacted_thinking{data} |
 *   tool_use{id,name,input}], stop_reason, stop_sequence, usage:{
 *   input_tokens, output_tokens, cache_creation_input_tokens,
 *   cache_read_input_tokens}}. input_tokens excludes the cache counters, so
 *   they map one to one onto the neutral ones; thinking tokens are inside
 *   output_tokens and cannot be split out (reasoning stays 0). Server-tool
 *   blocks (server_tool_use, web_search_tool_result, ...) are skipped.
 * Error body: {"type":"error","error":{"type","message"}} with the types
 *   invalid_request_error (400), authentication_error (401),
 *   permission_error (403), not_found_error (404), request_too_large (413),
 *   rate_limit_error (429), api_error (500), overloaded_error (529).
 * HTTP: POST {base}/v1/messages (base already ending in /v1: + /messages),
 *   x-api-key, anthropic-version: 2023-06-01.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/anthropic.h"
#include "core/utf8.h"
#include "proto/callids.h"
#include "proto/json.h"

#define CTX_MAX 128

lx_finish lx_anthropic_finish_from(const char *r)
{
    if (!r)
        return LX_FINISH_NONE;
    if (!strcmp(r, "end_turn") || !strcmp(r, "stop_sequence"))
        return LX_FINISH_STOP;
    if (!strcmp(r, "max_tokens") || !strcmp(r, "model_context_window_exceeded"))
        return LX_FINISH_LENGTH;
    if (!strcmp(r, "tool_use"))
        return LX_FINISH_TOOL_CALLS;
    if (!strcmp(r, "refusal"))
        return LX_FINISH_CONTENT_FILTER;
    return LX_FINISH_OTHER;
}

const char *lx_anthropic_finish_to(lx_finish f, const char *stop_sequence)
{
    switch (f) {
    case LX_FINISH_NONE:
        return NULL;
    case LX_FINISH_LENGTH:
        return "max_tokens";
    case LX_FINISH_TOOL_CALLS:
        return "tool_use";
    case LX_FINISH_CONTENT_FILTER:
        return "refusal";
    case LX_FINISH_STOP:
        return stop_sequence ? "stop_sequence" : "end_turn";
    case LX_FINISH_ERROR:
    case LX_FINISH_OTHER:
        break;
    }
    return "end_turn";
}

lx_status lx_anthropic_usage_from(const json_t *u, const char *ctx, lx_usage *out, lx_error *err)
{
    static const char *keys[] = {"input_tokens", "cache_read_input_tokens",
                                 "cache_creation_input_tokens", "output_tokens"};
    int64_t *dst[] = {&out->input, &out->cache_read, &out->cache_write, &out->output};
    if (!json_is_object(u))
        return lx_fail(err, LX_ERR_PROTO, "%s.usage: expected an object", ctx);
    for (int i = 0; i < 4; i++) {
        json_t *v = json_object_get(u, keys[i]);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return lx_fail(err, LX_ERR_PROTO, "%s.usage.%s: expected a non-negative integer", ctx,
                           keys[i]);
        *dst[i] = json_integer_value(v);
    }
    return LX_OK;
}

json_t *lx_anthropic_usage_to(const lx_usage *u)
{
    return json_pack("{s:I,s:I,s:I,s:I}", "input_tokens", (json_int_t)u->input,
                     "cache_creation_input_tokens", (json_int_t)u->cache_write,
                     "cache_read_input_tokens", (json_int_t)u->cache_read, "output_tokens",
                     (json_int_t)(u->output + u->reasoning));
}

lx_status lx_anthropic_blocks_out(const lx_part *parts, size_t n, const char *ctx, json_t *arr,
                                  lx_error *err)
{
    bool ok = true;
    lx_buf t; /* model text made valid UTF-8 (it may end inside a character) */
    lx_buf_init(&t, 0);
    for (size_t i = 0; i < n && ok; i++) {
        const lx_part *p = &parts[i];
        json_t *b = NULL;
        switch (p->kind) {
        case LX_PART_TEXT:
            if (p->text && *p->text) {
                ok = lx_utf8_lossy(p->text, strlen(p->text), &t) == LX_OK;
                b = ok ? json_pack("{s:s,s:s%}", "type", "text", "text", t.data, t.len) : NULL;
                ok = b != NULL;
            }
            break;
        case LX_PART_THINKING:
            if (!p->text && p->data) {
                b = json_pack("{s:s,s:s}", "type", "redacted_thinking", "data", p->data);
                ok = b != NULL;
            } else if (p->text && p->signature) { /* unsigned thinking is not accepted back */
                ok = lx_utf8_lossy(p->text, strlen(p->text), &t) == LX_OK;
                b = ok ? json_pack("{s:s,s:s%,s:s}", "type", "thinking", "thinking",
                                   t.data ? t.data : "", t.len, "signature", p->signature)
                       : NULL;
                ok = b != NULL;
            }
            break;
        case LX_PART_TOOL_CALL: {
            char c[CTX_MAX + 96], gen[48];
            snprintf(c, sizeof c, "%s.tool_calls[%.60s].arguments", ctx, p->name ? p->name : "");
            json_t *input = lx_json_object_from_text(p->arguments, c, err);
            if (!input) {
                lx_buf_free(&t);
                return LX_ERR_INVALID;
            }
            if (!p->id)
                lx_wire_id(gen, sizeof gen, "toolu_");
            b = json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use", "id", p->id ? p->id : gen,
                          "name", p->name ? p->name : "", "input", input);
            ok = b != NULL;
            break;
        }
        case LX_PART_IMAGE:
        case LX_PART_TOOL_RESULT:
            break;
        }
        if (b)
            ok = json_array_append_new(arr, b) == 0;
    }
    lx_buf_free(&t);
    return ok ? LX_OK
              : lx_fail(err, LX_ERR_NOMEM, "cannot encode content (out of memory or invalid text)");
}

/* ---- response ------------------------------------------------------------- */

static lx_status block_to_part(lx_response *r, const json_t *b, size_t i, lx_error *err)
{
    char c[CTX_MAX];
    snprintf(c, sizeof c, "content[%zu]", i);
    const char *type = json_string_value(json_object_get(b, "type"));
    if (!json_is_object(b) || !type)
        return lx_fail(err, LX_ERR_PROTO, "%s.type: expected a string", c);
    lx_arena *a = r->arena;
    lx_part *p = NULL;
    lx_status st = LX_OK;
    const char *field = NULL;
    if (!strcmp(type, "text")) {
        if ((p = lx_response_add_part(r, LX_PART_TEXT)))
            st = lx_json_opt_str(a, b, field = "text", c, &p->text, err);
    } else if (!strcmp(type, "thinking")) {
        if ((p = lx_response_add_part(r, LX_PART_THINKING)) &&
            (st = lx_json_opt_str(a, b, field = "thinking", c, &p->text, err)) == LX_OK)
            st = lx_json_opt_str(a, b, "signature", c, &p->signature, err);
    } else if (!strcmp(type, "redacted_thinking")) {
        if ((p = lx_response_add_part(r, LX_PART_THINKING)))
            st = lx_json_opt_str(a, b, field = "data", c, &p->data, err);
    } else if (!strcmp(type, "tool_use")) {
        json_t *in = json_object_get(b, "input");
        if (!(p = lx_response_add_part(r, LX_PART_TOOL_CALL)))
            return lx_fail(err, LX_ERR_NOMEM, "out of memory");
        if ((st = lx_json_opt_str(a, b, "id", c, &p->id, err)) == LX_OK)
            st = lx_json_opt_str(a, b, field = "name", c, &p->name, err);
        if (st == LX_OK && in && !json_is_object(in))
            return lx_fail(err, LX_ERR_PROTO, "%s.input: expected an object", c);
        if (st == LX_OK &&
            !(p->arguments = in ? lx_json_dump_arena(a, in) : lx_arena_strdup(a, "{}")))
            return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    } else {
        return LX_OK; /* server tool blocks and future kinds */
    }
    if (!p)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    if (st != LX_OK) {
        if (err)
            err->code = LX_ERR_PROTO;
        return LX_ERR_PROTO;
    }
    char **must = !strcmp(field, "text")       ? &p->text
                  : !strcmp(field, "thinking") ? &p->text
                  : !strcmp(field, "data")     ? &p->data
                                               : &p->name;
    if (!*must)
        return lx_fail(err, LX_ERR_PROTO, "%s.%s: required", c, field);
    return LX_OK;
}

lx_status lx_anthropic_response_decode(const char *body, size_t len, lx_response **out,
                                       lx_error *err)
{
    json_t *root = NULL;
    lx_response *r = NULL;
    lx_status st;
    char *reason = NULL;
    *out = NULL;
    if ((st = lx_json_parse(body, len, true, &root, err)) != LX_OK) {
        if (err)
            err->code = LX_ERR_PROTO;
        return LX_ERR_PROTO;
    }
    json_t *content = json_object_get(root, "content"), *u = json_object_get(root, "usage");
    if (!(r = lx_response_new())) {
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!json_is_array(content)) {
        st = lx_fail(err, LX_ERR_PROTO, "content: expected an array");
        goto fail;
    }
    if ((st = lx_json_opt_str(r->arena, root, "id", NULL, &r->id, err)) != LX_OK ||
        (st = lx_json_opt_str(r->arena, root, "model", NULL, &r->model, err)) != LX_OK ||
        (st = lx_json_opt_str(r->arena, root, "stop_reason", NULL, &reason, err)) != LX_OK ||
        (st = lx_json_opt_str(r->arena, root, "stop_sequence", NULL, &r->stop_sequence, err)) !=
            LX_OK) {
        st = err ? (err->code = LX_ERR_PROTO) : LX_ERR_PROTO;
        goto fail;
    }
    r->finish = lx_anthropic_finish_from(reason);
    for (size_t i = 0; i < json_array_size(content); i++)
        if ((st = block_to_part(r, json_array_get(content, i), i, err)) != LX_OK)
            goto fail;
    if (u && !json_is_null(u)) {
        if ((st = lx_anthropic_usage_from(u, "message", &r->usage, err)) != LX_OK)
            goto fail;
        r->has_usage = true;
    }
    r->created = (int64_t)time(NULL);
    json_decref(root);
    *out = r;
    return LX_OK;
fail:
    json_decref(root);
    lx_response_free(r);
    return st;
}

lx_status lx_anthropic_response_encode(const lx_response *r, const lx_codec_opts *o, lx_buf *out,
                                       lx_error *err)
{
    char idbuf[64];
    const char *id = o && o->id ? o->id : r->id;
    if (!id) {
        lx_wire_id(idbuf, sizeof idbuf, "msg_");
        id = idbuf;
    }
    const char *model = o && o->model ? o->model : r->model ? r->model : "";
    json_t *content = json_array();
    lx_usage zero = {0};
    json_t *root = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s?,s:s?,s:o}", "id", id, "type", "message",
                             "role", "assistant", "model", model, "content", content, "stop_reason",
                             lx_anthropic_finish_to(r->finish, r->stop_sequence), "stop_sequence",
                             r->finish == LX_FINISH_STOP ? r->stop_sequence : NULL, "usage",
                             lx_anthropic_usage_to(r->has_usage ? &r->usage : &zero));
    lx_status st = root && content
                       ? lx_anthropic_blocks_out(r->parts, r->n_parts, "response", content, err)
                       : lx_fail(err, LX_ERR_NOMEM, "out of memory");
    if (st == LX_OK && (st = lx_json_dump(root, out)) != LX_OK)
        lx_fail(err, st, "response too large");
    json_decref(content);
    json_decref(root);
    return st;
}

/* ---- errors and HTTP ------------------------------------------------------- */

void lx_anthropic_error_decode(int http_status, const char *body, size_t len, lx_error *err)
{
    if (!err)
        return;
    lx_error_clear(err);
    err->code = LX_ERR_UPSTREAM;
    err->http_status = http_status;
    json_error_t je;
    json_t *root = body && len ? json_loadb(body, len, 0, &je) : NULL;
    json_t *e = json_object_get(root, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *type = json_string_value(json_object_get(e, "type"));
    if (!msg && json_is_string(e))
        msg = json_string_value(e);
    if (type)
        lx_strlcpy(err->type, type, sizeof err->type);
    if (msg)
        snprintf(err->message, sizeof err->message, "%s", msg);
    else
        snprintf(err->message, sizeof err->message, "HTTP %d: %.*s", http_status,
                 (int)(len < 200 ? len : 200), body ? body : "");
    json_decref(root);
}

static bool known_type(const char *t)
{
    static const char *all[] = {
        "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
        "request_too_large",     "rate_limit_error",     "api_error",        "overloaded_error"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(all[i], t))
            return true;
    return false;
}

lx_status lx_anthropic_error_encode(const lx_error *e, int *http_status, lx_buf *out)
{
    int hs = lx_error_http_status(e);
    const char *type = known_type(e->type)     ? e->type
                       : hs == 401             ? "authentication_error"
                       : hs == 403             ? "permission_error"
                       : hs == 404             ? "not_found_error"
                       : hs == 413             ? "request_too_large"
                       : hs == 429             ? "rate_limit_error"
                       : hs == 529             ? "overloaded_error"
                       : hs >= 400 && hs < 500 ? "invalid_request_error"
                                               : "api_error";
    if (http_status)
        *http_status = hs;
    json_t *root = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "type", type, "message",
                             e->message[0] ? e->message : lx_status_name(e->code));
    lx_status st = root ? lx_json_dump(root, out) : LX_ERR_NOMEM;
    json_decref(root);
    return st;
}

lx_status lx_anthropic_http_prepare(const lx_codec_opts *o, lx_buf *url, lx_buf *headers,
                                    lx_error *err)
{
    const char *base = o && o->base_url && *o->base_url ? o->base_url : "https://api.anthropic.com";
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    bool v1 = n >= 3 && memcmp(base + n - 3, "/v1", 3) == 0;
    lx_status st;
    if ((st = lx_buf_append(url, base, n)) != LX_OK ||
        (st = lx_buf_puts(url, v1 ? "/messages" : "/v1/messages")) != LX_OK ||
        (st = lx_buf_puts(headers, "Content-Type: application/json\n"
                                   "anthropic-version: 2023-06-01\n")) != LX_OK)
        return lx_fail(err, st, "URL or headers too long");
    if (o && o->api_key && *o->api_key) {
        if (strpbrk(o->api_key, "\r\n"))
            return lx_fail(err, LX_ERR_CONFIG, "API key contains a line break");
        if ((st = lx_buf_printf(headers, "x-api-key: %s\n", o->api_key)) != LX_OK)
            return lx_fail(err, st, "headers too long");
    }
    if (o && o->stream && (st = lx_buf_puts(headers, "Accept: text/event-stream\n")) != LX_OK)
        return lx_fail(err, st, "headers too long");
    return LX_OK;
}
