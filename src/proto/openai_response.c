/*
 * openai_response.c — OpenAI Chat Completions: whole responses, errors, HTTP.
 *
 * Response: {id, object:"chat.completion", created, model,
 *   choices:[{index:0, message:{role:"assistant", content, refusal?,
 *   reasoning_content?, tool_calls?}, finish_reason}], usage}.
 *   usage.prompt_tokens includes prompt_tokens_details.cached_tokens and
 *   completion_tokens includes completion_tokens_details.reasoning_tokens;
 *   the neutral counters are the disjoint remainders (encode adds them
 *   back). A `refusal` becomes a TEXT part with finish CONTENT_FILTER;
 *   `reasoning_content` (vLLM, DeepSeek) or `reasoning` (OpenRouter) a
 *   THINKING part.
 * Both directions have a hand-written fast path for the common case — the
 *   reader in openai_fast.c (text, refusal, reasoning, tool calls) and the
 *   writer below (every reply whose strings jansson accepts) — proven equal
 *   to the jansson code, which stays as the fallback and the reference
 *   (tests/unit/test_openai_fast.c, test_openai_write.c, fuzz_openai_resp.c).
 * Error body: {"error":{"message","type","code","param"}}; servers that
 *   send {"error":"text"} (llama.cpp) are read too.
 * HTTP: POST {base_url}/chat/completions, Authorization: Bearer KEY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/utf8.h"
#include "proto/callids.h"
#include "proto/json.h"
#include "proto/openai.h"

#define CTX_MAX 128

static bool put(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) == 0;
}

/* ---- small shared helpers ------------------------------------------------ */

/* Re-files the message already in err under another code, with a prefix. */
static lx_status reclass(lx_error *err, lx_status code, const char *prefix)
{
    if (err) {
        char m[sizeof err->message];
        lx_strlcpy(m, err->message, sizeof m);
        lx_fail(err, code, "%s%s", prefix, m);
    }
    return code;
}

lx_finish lx_openai_finish_from(const char *r)
{
    if (!r)
        return LX_FINISH_NONE;
    if (!strcmp(r, "stop"))
        return LX_FINISH_STOP;
    if (!strcmp(r, "length"))
        return LX_FINISH_LENGTH;
    if (!strcmp(r, "tool_calls") || !strcmp(r, "function_call"))
        return LX_FINISH_TOOL_CALLS;
    if (!strcmp(r, "content_filter"))
        return LX_FINISH_CONTENT_FILTER;
    return LX_FINISH_OTHER;
}

const char *lx_openai_finish_to(lx_finish f)
{
    switch (f) {
    case LX_FINISH_NONE:
        return NULL;
    case LX_FINISH_LENGTH:
        return "length";
    case LX_FINISH_TOOL_CALLS:
        return "tool_calls";
    case LX_FINISH_CONTENT_FILTER:
        return "content_filter";
    case LX_FINISH_STOP:
    case LX_FINISH_ERROR:
    case LX_FINISH_OTHER:
        break;
    }
    return "stop";
}

static lx_status usage_int(const json_t *o, const char *key, const char *ctx, int64_t *v,
                           lx_error *err)
{
    bool has = false;
    *v = 0;
    if (!o)
        return LX_OK;
    if (lx_json_opt_int(o, key, ctx, v, &has, err) != LX_OK)
        return reclass(err, LX_ERR_PROTO, "");
    if (*v < 0)
        return lx_fail(err, LX_ERR_PROTO, "%s.%s: negative", ctx, key);
    return LX_OK;
}

lx_status lx_openai_usage_from(const json_t *u, const char *ctx, lx_usage *out, lx_error *err)
{
    char c[CTX_MAX], d[CTX_MAX + 32];
    int64_t prompt, completion, cached, reasoning;
    memset(out, 0, sizeof *out);
    snprintf(c, sizeof c, "%s%susage", ctx ? ctx : "", ctx && *ctx ? "." : "");
    if (!json_is_object(u))
        return lx_fail(err, LX_ERR_PROTO, "%s: expected an object", c);
    const json_t *pd = json_object_get(u, "prompt_tokens_details");
    const json_t *cd = json_object_get(u, "completion_tokens_details");
    if (pd && !json_is_object(pd) && !json_is_null(pd))
        return lx_fail(err, LX_ERR_PROTO, "%s.prompt_tokens_details: expected an object", c);
    if (cd && !json_is_object(cd) && !json_is_null(cd))
        return lx_fail(err, LX_ERR_PROTO, "%s.completion_tokens_details: expected an object", c);
    lx_status st = usage_int(u, "prompt_tokens", c, &prompt, err);
    if (st == LX_OK)
        st = usage_int(u, "completion_tokens", c, &completion, err);
    snprintf(d, sizeof d, "%s.prompt_tokens_details", c);
    if (st == LX_OK)
        st = usage_int(json_is_object(pd) ? pd : NULL, "cached_tokens", d, &cached, err);
    snprintf(d, sizeof d, "%s.completion_tokens_details", c);
    if (st == LX_OK)
        st = usage_int(json_is_object(cd) ? cd : NULL, "reasoning_tokens", d, &reasoning, err);
    if (st != LX_OK)
        return st;
    /* details are subsets; clamp servers that report them inconsistently */
    if (cached > prompt)
        cached = prompt;
    if (reasoning > completion)
        reasoning = completion;
    out->input = prompt - cached;
    out->cache_read = cached;
    out->output = completion - reasoning;
    out->reasoning = reasoning;
    return LX_OK;
}

json_t *lx_openai_usage_to(const lx_usage *u)
{
    int64_t prompt = lx_usage_total_input(u), completion = lx_usage_total_output(u);
    return json_pack("{s:I,s:I,s:I,s:{s:I},s:{s:I}}", "prompt_tokens", (json_int_t)prompt,
                     "completion_tokens", (json_int_t)completion, "total_tokens",
                     (json_int_t)(prompt + completion), "prompt_tokens_details", "cached_tokens",
                     (json_int_t)u->cache_read, "completion_tokens_details", "reasoning_tokens",
                     (json_int_t)u->reasoning);
}

/* ---- response ------------------------------------------------------------- */

/* The reference decoder (jansson): every body the hand-written reader in
 * openai_fast.c does not take. */
lx_status lx_openai_response_decode_jansson(const char *body, size_t len, lx_response **out,
                                            lx_error *err)
{
    json_t *root = NULL;
    lx_response *r = NULL;
    lx_status st;
    char *s = NULL;
    *out = NULL;
    if ((st = lx_json_parse(body, len, true, &root, err)) != LX_OK)
        return reclass(err, LX_ERR_PROTO, "response: ");
    if (!(r = lx_response_new())) {
        st = LX_ERR_NOMEM;
        goto fail;
    }
    lx_arena *a = r->arena;
    json_t *choices = json_object_get(root, "choices"), *ch = json_array_get(choices, 0);
    json_t *msg = json_object_get(ch, "message");
    bool has_created = false;
    if ((st = lx_json_opt_str(a, root, "id", NULL, &r->id, err)) != LX_OK ||
        (st = lx_json_opt_str(a, root, "model", NULL, &r->model, err)) != LX_OK ||
        (st = lx_json_opt_int(root, "created", NULL, &r->created, &has_created, err)) != LX_OK)
        goto proto;
    if (!json_is_array(choices) || !json_is_object(ch) || !json_is_object(msg)) {
        st = lx_fail(err, LX_ERR_PROTO, "choices[0].message: expected an object");
        goto fail;
    }
    if ((st = lx_json_opt_str(a, ch, "finish_reason", "choices[0]", &s, err)) != LX_OK)
        goto proto;
    r->finish = lx_openai_finish_from(s);
    const char *keys[] = {"reasoning_content", "reasoning", "content", "refusal"};
    for (int k = 0; k < 4; k++) {
        json_t *v = json_object_get(msg, keys[k]);
        if (k == 1 && json_object_get(msg, "reasoning_content"))
            continue;
        if (json_is_array(v)) { /* some servers send content parts here too */
            if ((st = lx_openai_text_content(a, v, "choices[0].message", &s, err)) != LX_OK)
                goto proto;
        } else if ((st = lx_json_opt_str(a, msg, keys[k], "choices[0].message", &s, err)) != LX_OK)
            goto proto;
        if (!s || !*s)
            continue;
        lx_part *p = lx_response_add_part(r, k < 2 ? LX_PART_THINKING : LX_PART_TEXT);
        if (!p)
            goto nomem;
        p->text = s;
        if (k == 3)
            r->finish = LX_FINISH_CONTENT_FILTER;
    }
    json_t *tc = json_object_get(msg, "tool_calls");
    if (tc && !json_is_null(tc) && !json_is_array(tc)) {
        st = lx_fail(err, LX_ERR_PROTO, "choices[0].message.tool_calls: expected an array");
        goto fail;
    }
    for (size_t i = 0; i < json_array_size(tc); i++) {
        char c[CTX_MAX];
        json_t *it = json_array_get(tc, i), *fn = json_object_get(it, "function");
        json_t *args = json_object_get(fn, "arguments");
        snprintf(c, sizeof c, "choices[0].message.tool_calls[%zu]", i);
        if (!json_is_object(fn)) {
            st = lx_fail(err, LX_ERR_PROTO, "%s.function: expected an object", c);
            goto fail;
        }
        lx_part *p = lx_response_add_part(r, LX_PART_TOOL_CALL);
        if (!p)
            goto nomem;
        if ((st = lx_json_opt_str(a, it, "id", c, &p->id, err)) != LX_OK ||
            (st = lx_json_opt_str(a, fn, "name", c, &p->name, err)) != LX_OK)
            goto proto;
        if (json_is_string(args))
            p->arguments = lx_arena_strndup(a, json_string_value(args), json_string_length(args));
        else if (json_is_object(args))
            p->arguments = lx_json_dump_arena(a, args);
        else
            p->arguments = lx_arena_strdup(a, "{}");
        if (!p->name && !(p->name = lx_arena_strdup(a, "")))
            goto nomem;
        if (!p->arguments)
            goto nomem;
    }
    json_t *u = json_object_get(root, "usage");
    if (u && !json_is_null(u)) {
        if ((st = lx_openai_usage_from(u, NULL, &r->usage, err)) != LX_OK)
            goto fail;
        r->has_usage = true;
    }
    json_decref(root);
    *out = r;
    return LX_OK;
proto:
    st = reclass(err, LX_ERR_PROTO, "");
    goto fail;
nomem:
    st = lx_fail(err, LX_ERR_NOMEM, "out of memory decoding the response");
fail:
    json_decref(root);
    lx_response_free(r);
    return st;
}

lx_status lx_openai_response_decode(const char *body, size_t len, lx_response **out, lx_error *err)
{
    if (lx_openai_fast_response(body, len, out))
        return LX_OK;
    return lx_openai_response_decode_jansson(body, len, out, err);
}

/* The reference encoder (jansson), kept for the differential tests and
 * for the rare reply the hand-written one below passes on. */
lx_status lx_openai_response_encode_jansson(const lx_response *r, const lx_codec_opts *o,
                                            lx_buf *out, lx_error *err)
{
    char idbuf[64];
    const char *id = o && o->id ? o->id : r->id;
    if (!id) {
        lx_wire_id(idbuf, sizeof idbuf, "chatcmpl-");
        id = idbuf;
    }
    const char *model = o && o->model ? o->model : r->model ? r->model : "";
    lx_buf text, think;
    lx_buf_init(&text, 0);
    lx_buf_init(&think, 0);
    json_t *calls = json_array(), *msg = json_object(), *root = NULL;
    bool ok = calls && msg;
    for (size_t i = 0; i < r->n_parts && ok; i++) {
        const lx_part *p = &r->parts[i];
        if (p->kind == LX_PART_TEXT && p->text)
            ok = lx_buf_puts(&text, p->text) == LX_OK;
        else if (p->kind == LX_PART_THINKING && p->text)
            ok = lx_buf_puts(&think, p->text) == LX_OK;
        else if (p->kind == LX_PART_TOOL_CALL) {
            char cid[64];
            if (!p->id)
                snprintf(cid, sizeof cid, "call_%zu", i);
            ok = json_array_append_new(
                     calls, json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", p->id ? p->id : cid, "type",
                                      "function", "function", "name", p->name ? p->name : "",
                                      "arguments", p->arguments ? p->arguments : "{}")) == 0;
        }
    }
    /* model output may end inside a character (max_tokens): keep JSON valid */
    ok = ok && lx_utf8_lossy(text.data, text.len, &text) == LX_OK &&
         lx_utf8_lossy(think.data, think.len, &think) == LX_OK;
    ok =
        ok && put(msg, "role", json_string("assistant")) &&
        put(msg, "content",
            text.len || !json_array_size(calls) ? json_stringn(text.data ? text.data : "", text.len)
                                                : json_null());
    if (ok && think.len)
        ok = put(msg, "reasoning_content", json_stringn(think.data, think.len));
    if (ok && json_array_size(calls))
        ok = put(msg, "tool_calls", json_incref(calls));
    const char *fr = lx_openai_finish_to(r->finish);
    if (ok)
        root = json_pack(
            "{s:s,s:s,s:I,s:s,s:[{s:i,s:O,s:s?}]}", "id", id, "object", "chat.completion",
            "created", (json_int_t)(r->created ? r->created : (int64_t)time(NULL)), "model", model,
            "choices", "index", 0, "message", msg, "finish_reason", fr ? fr : "stop");
    ok = root != NULL;
    if (ok && r->has_usage)
        ok = put(root, "usage", lx_openai_usage_to(&r->usage));
    lx_status st = ok ? lx_json_dump(root, out) : LX_ERR_NOMEM;
    json_decref(root);
    json_decref(msg);
    json_decref(calls);
    lx_buf_free(&text);
    lx_buf_free(&think);
    return st == LX_OK ? st : lx_fail(err, st, "out of memory encoding the response");
}

/* The text of every part of `kind` joined, as valid UTF-8 (what the
 * reference builds with lx_utf8_lossy): a single valid part is used in
 * place, anything else is joined and repaired in `tmp`. */
static lx_status joined(const lx_response *r, lx_part_kind kind, lx_buf *tmp, const char **s,
                        size_t *n)
{
    const char *one = NULL;
    size_t count = 0;
    for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i].kind == kind && r->parts[i].text) {
            one = r->parts[i].text;
            count++;
        }
    *s = "";
    *n = 0;
    if (count == 0)
        return LX_OK;
    if (count == 1) {
        size_t len = strlen(one);
        if (lx_utf8_valid_prefix(one, len) == len) {
            *s = one;
            *n = len;
            return LX_OK;
        }
    }
    for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i].kind == kind && r->parts[i].text &&
            lx_buf_puts(tmp, r->parts[i].text) != LX_OK)
            return LX_ERR_NOMEM;
    if (lx_utf8_lossy(tmp->data, tmp->len, tmp) != LX_OK)
        return LX_ERR_NOMEM;
    *s = tmp->data ? tmp->data : "";
    *n = tmp->len;
    return LX_OK;
}

static bool valid_utf8(const char *s)
{
    size_t n = strlen(s);
    return lx_utf8_valid_prefix(s, n) == n;
}

static lx_status quote(lx_buf *out, const char *s)
{
    return lx_json_quote(out, s, strlen(s));
}

/* Appends the decimal digits of v (what "%lld" prints), without printf. */
static lx_status put_i64(lx_buf *out, int64_t v)
{
    char d[24], *p = d + sizeof d;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    return lx_buf_append(out, p, (size_t)(d + sizeof d - p));
}

lx_status lx_openai_usage_write(lx_buf *out, const lx_usage *u)
{
    int64_t prompt = lx_usage_total_input(u), completion = lx_usage_total_output(u);
    lx_status st;
    if ((st = lx_buf_puts(out, "{\"prompt_tokens\":")) != LX_OK ||
        (st = put_i64(out, prompt)) != LX_OK ||
        (st = lx_buf_puts(out, ",\"completion_tokens\":")) != LX_OK ||
        (st = put_i64(out, completion)) != LX_OK ||
        (st = lx_buf_puts(out, ",\"total_tokens\":")) != LX_OK ||
        (st = put_i64(out, prompt + completion)) != LX_OK ||
        (st = lx_buf_puts(out, ",\"prompt_tokens_details\":{\"cached_tokens\":")) != LX_OK ||
        (st = put_i64(out, u->cache_read)) != LX_OK ||
        (st = lx_buf_puts(out, "},\"completion_tokens_details\":{\"reasoning_tokens\":")) !=
            LX_OK ||
        (st = put_i64(out, u->reasoning)) != LX_OK)
        return st;
    return lx_buf_puts(out, "}}");
}

/* Written by hand, byte for byte what the reference above dumps (compact,
 * keys in insertion order, strings as lx_json_quote writes them). Strings
 * the reference refuses (id, model or a tool call field that is not valid
 * UTF-8: json_pack fails) go to the reference, which fails as before. */
lx_status lx_openai_response_encode(const lx_response *r, const lx_codec_opts *o, lx_buf *out,
                                    lx_error *err)
{
    char idbuf[64];
    const char *id = o && o->id ? o->id : r->id;
    if (!id) {
        lx_wire_id(idbuf, sizeof idbuf, "chatcmpl-");
        id = idbuf;
    }
    const char *model = o && o->model ? o->model : r->model ? r->model : "";
    size_t n_calls = 0;
    bool ok = valid_utf8(id) && valid_utf8(model);
    for (size_t i = 0; i < r->n_parts && ok; i++) {
        const lx_part *p = &r->parts[i];
        if (p->kind != LX_PART_TOOL_CALL)
            continue;
        n_calls++;
        ok = (!p->id || valid_utf8(p->id)) && (!p->name || valid_utf8(p->name)) &&
             (!p->arguments || valid_utf8(p->arguments));
    }
    if (!ok)
        return lx_openai_response_encode_jansson(r, o, out, err);
    lx_buf text, think;
    lx_buf_init(&text, 0);
    lx_buf_init(&think, 0);
    const char *ts, *hs;
    size_t tn, hn, at = out->len;
    const char *fr = lx_openai_finish_to(r->finish);
    lx_status st = joined(r, LX_PART_TEXT, &text, &ts, &tn);
    if (st == LX_OK)
        st = joined(r, LX_PART_THINKING, &think, &hs, &hn);
    if (st == LX_OK && (st = lx_buf_append(out, "{\"id\":", 6)) == LX_OK &&
        (st = quote(out, id)) == LX_OK &&
        (st = lx_buf_puts(out, ",\"object\":\"chat.completion\",\"created\":")) == LX_OK &&
        (st = put_i64(out, r->created ? r->created : (int64_t)time(NULL))) == LX_OK &&
        (st = lx_buf_puts(out, ",\"model\":")) == LX_OK && (st = quote(out, model)) == LX_OK &&
        (st = lx_buf_puts(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                               "\"content\":")) == LX_OK)
        st = tn || !n_calls ? lx_json_quote(out, ts, tn) : lx_buf_puts(out, "null");
    if (st == LX_OK && hn && (st = lx_buf_puts(out, ",\"reasoning_content\":")) == LX_OK)
        st = lx_json_quote(out, hs, hn);
    if (st == LX_OK && n_calls)
        st = lx_buf_puts(out, ",\"tool_calls\":[");
    for (size_t i = 0, k = 0; i < r->n_parts && st == LX_OK; i++) {
        const lx_part *p = &r->parts[i];
        if (p->kind != LX_PART_TOOL_CALL)
            continue;
        char cid[64];
        if (!p->id)
            snprintf(cid, sizeof cid, "call_%zu", i);
        if ((st = lx_buf_puts(out, k++ ? ",{\"id\":" : "{\"id\":")) == LX_OK &&
            (st = quote(out, p->id ? p->id : cid)) == LX_OK &&
            (st = lx_buf_puts(out, ",\"type\":\"function\",\"function\":{\"name\":")) == LX_OK &&
            (st = quote(out, p->name ? p->name : "")) == LX_OK &&
            (st = lx_buf_puts(out, ",\"arguments\":")) == LX_OK &&
            (st = quote(out, p->arguments ? p->arguments : "{}")) == LX_OK)
            st = lx_buf_puts(out, "}}");
    }
    if (st == LX_OK && n_calls)
        st = lx_buf_putc(out, ']');
    if (st == LX_OK && (st = lx_buf_puts(out, "},\"finish_reason\":")) == LX_OK &&
        (st = quote(out, fr ? fr : "stop")) == LX_OK && (st = lx_buf_puts(out, "}]")) == LX_OK &&
        r->has_usage && (st = lx_buf_puts(out, ",\"usage\":")) == LX_OK)
        st = lx_openai_usage_write(out, &r->usage);
    if (st == LX_OK)
        st = lx_buf_putc(out, '}');
    lx_buf_free(&text);
    lx_buf_free(&think);
    if (st == LX_OK)
        return LX_OK;
    out->len = at; /* no half reply */
    if (out->data)
        out->data[at] = '\0';
    return lx_fail(err, LX_ERR_NOMEM, "out of memory encoding the response");
}

/* ---- errors and HTTP ------------------------------------------------------- */

void lx_openai_error_decode(int http_status, const char *body, size_t len, lx_error *err)
{
    if (!err)
        return;
    lx_error_clear(err);
    err->code = LX_ERR_UPSTREAM;
    err->http_status = http_status;
    json_t *root = NULL;
    json_error_t je;
    root = body && len ? json_loadb(body, len, 0, &je) : NULL;
    json_t *e = json_object_get(root, "error");
    const char *msg = NULL;
    if (json_is_object(e)) {
        json_t *t = json_object_get(e, "type"), *c = json_object_get(e, "code");
        msg = json_string_value(json_object_get(e, "message"));
        if (json_is_string(t) && json_string_length(t))
            lx_strlcpy(err->type, json_string_value(t), sizeof err->type);
        else if (json_is_string(c))
            lx_strlcpy(err->type, json_string_value(c), sizeof err->type);
    } else if (json_is_string(e)) {
        msg = json_string_value(e); /* {"error":"..."}: llama.cpp, Ollama /v1 */
    } else if (json_is_object(root)) {
        msg = json_string_value(json_object_get(root, "message"));
    }
    if (msg)
        snprintf(err->message, sizeof err->message, "%s", msg);
    else
        snprintf(err->message, sizeof err->message, "HTTP %d: %.*s", http_status,
                 (int)(len < 200 ? len : 200), body ? body : "");
    json_decref(root);
}

lx_status lx_openai_error_encode(const lx_error *e, int *http_status, lx_buf *out)
{
    int hs = lx_error_http_status(e);
    const char *type = e->type[0]              ? e->type
                       : hs == 401             ? "authentication_error"
                       : hs == 403             ? "permission_error"
                       : hs == 404             ? "not_found_error"
                       : hs == 429             ? "rate_limit_error"
                       : hs >= 400 && hs < 500 ? "invalid_request_error"
                                               : "server_error";
    if (http_status)
        *http_status = hs;
    json_t *root = json_pack("{s:{s:s,s:s,s:s,s:n}}", "error", "message",
                             e->message[0] ? e->message : lx_status_name(e->code), "type", type,
                             "code", lx_status_name(e->code), "param");
    lx_status st = root ? lx_json_dump(root, out) : LX_ERR_NOMEM;
    json_decref(root);
    return st;
}

lx_status lx_openai_http_prepare(const lx_codec_opts *o, lx_buf *url, lx_buf *headers,
                                 lx_error *err)
{
    const char *base = o && o->base_url && *o->base_url ? o->base_url : "https://api.openai.com/v1";
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    lx_status st;
    if ((st = lx_buf_append(url, base, n)) != LX_OK ||
        (st = lx_buf_puts(url, "/chat/completions")) != LX_OK ||
        (st = lx_buf_puts(headers, "Content-Type: application/json\n")) != LX_OK)
        return lx_fail(err, st, "URL or headers too long");
    if (o && o->api_key && *o->api_key) {
        if (strpbrk(o->api_key, "\r\n"))
            return lx_fail(err, LX_ERR_CONFIG, "API key contains a line break");
        if ((st = lx_buf_printf(headers, "Authorization: Bearer %s\n", o->api_key)) != LX_OK)
            return lx_fail(err, st, "headers too long");
    }
    if (o && o->stream && (st = lx_buf_puts(headers, "Accept: text/event-stream\n")) != LX_OK)
        return lx_fail(err, st, "headers too long");
    return LX_OK;
}
