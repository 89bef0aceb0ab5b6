/*
 * gemini.c — Google Gemini (Generative Language API, v1beta): requests in
 * both directions, http_prepare, errors, and the codec table. Responses and
 * streams are in gemini_resp.c; the thought-signature rule is in gemini.h.
 *
 * Request (POST {base}/models/{model}:generateContent, or
 * :streamGenerateContent?alt=sse for a stream; key in `x-goog-api-key`):
 *
 *   {"systemInstruction": {"parts": [{"text": "..."}]},
 *    "contents": [{"role": "user" | "model", "parts": [PART, ...]}, ...],
 *    "tools": [{"functionDeclarations": [{"name", "description", "parameters"}]}],
 *    "toolConfig": {"functionCallingConfig": {"mode": "AUTO"|"ANY"|"NONE",
 *                                            "allowedFunctionNames": [...]}},
 *    "generationConfig": {"temperature", "topP", "topK", "maxOutputTokens",
 *                         "stopSequences", "seed", "responseMimeType",
 *                         "responseSchema", "thinkingConfig": {"thinkingBudget",
 *                                                              "includeThoughts"}}}
 *
 *   PART = {"text"} | {"text", "thought": true} | {"inlineData": {mimeType, data}}
 *        | {"fileData": {mimeType, fileUri}} | {"functionCall": {name, args, id?}}
 *        | {"functionResponse": {name, response, id?}}, each optionally with
 *          "thoughtSignature".
 *
 * Mapping to the neutral request:
 *   - SYSTEM messages (all of them, wherever they stand) become the one
 *     systemInstruction; decoding gives one SYSTEM message.
 *   - USER and TOOL messages are Gemini role "user", ASSISTANT is "model";
 *     consecutive messages of one Gemini role are merged into one content.
 *     Decoding splits a user content into a TOOL message (its
 *     functionResponse parts) and a USER message (everything else), in order.
 *   - A tool result's functionResponse.name is the part's name, else the name
 *     of the earlier call with the same id, else (no id either) the call at
 *     the same position in the last assistant turn. Its `response` is the
 *     result text when that is a JSON object, else {"result": text}, or
 *     {"error": text} for an error; decoding undoes exactly these wrappers.
 *   - Tool parameter schemas and responseSchema keep only the keywords of
 *     Gemini's Schema object (type, format, title, description, nullable, enum,
 *     items, properties, required, propertyOrdering, anyOf, minItems, maxItems,
 *     minProperties, maxProperties, minLength, maxLength, pattern, minimum,
 *     maximum, default, example). Everything else is dropped because Gemini
 *     refuses unknown keys: "$schema", "$id", "$ref", "$defs", "definitions",
 *     "additionalProperties", "patternProperties", "strict", "examples", "not",
 *     "oneOf", "allOf", ... "const" becomes a one-value "enum"; a type list
 *     such as ["string","null"] becomes "type":"string", "nullable":true. An
 *     object schema without properties is left out entirely (Gemini refuses
 *     an OBJECT with no properties). Decoding turns a Gemini Schema back into
 *     JSON Schema: type names in lower case (the SDKs send "OBJECT"),
 *     "nullable" folded into a type list, "propertyOrdering" dropped;
 *     parametersJsonSchema and responseJsonSchema are kept as they are.
 *   - tool_choice REQUIRED is mode ANY, NAMED is ANY with the one name allowed;
 *     parallel-call preferences have no Gemini equivalent and are dropped.
 *   - the first functionCall of a model turn always carries a signature: when
 *     the neutral request has none for it (the call came from another
 *     provider), the sentinel "skip_thought_signature_validator" documented
 *     at ai.google.dev/gemini-api/docs/thought-signatures is sent, because
 *     Gemini 3 refuses unsigned calls; decoding drops the sentinel.
 *   - thinking_budget > 0 sends thinkingConfig {thinkingBudget,
 *     includeThoughts:true}; decoding maps the dynamic budget -1 to
 *     LX_GEMINI_DYNAMIC_BUDGET.
 */
#include "proto/gemini.h"

#include <stdio.h>
#include <string.h>

#include "proto/json.h"

#define LX_GEMINI_DEFAULT_BASE "https://generativelanguage.googleapis.com/v1beta"

/* ---- small helpers ------------------------------------------------------ */

/* Sets key to a new reference; false on out of memory (v may be NULL). */
static bool set_new(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0;
}

static bool push_new(json_t *arr, json_t *v)
{
    return v && json_array_append_new(arr, v) == 0;
}

static const char *sniff_mime(const char *b64)
{
    if (!b64)
        return "application/octet-stream";
    if (strncmp(b64, "iVBOR", 5) == 0)
        return "image/png";
    if (strncmp(b64, "/9j/", 4) == 0)
        return "image/jpeg";
    if (strncmp(b64, "R0lGOD", 6) == 0)
        return "image/gif";
    if (strncmp(b64, "UklGR", 5) == 0)
        return "image/webp";
    return "application/octet-stream";
}

/* ---- JSON Schema -> Gemini Schema --------------------------------------- */

static const char *const schema_keys[] = {
    "type",     "format",        "title",         "description",      "nullable",  "enum",
    "items",    "properties",    "required",      "propertyOrdering", "anyOf",     "minItems",
    "maxItems", "minProperties", "maxProperties", "minLength",        "maxLength", "pattern",
    "minimum",  "maximum",       "default",       "example",
};

static bool schema_key_kept(const char *k)
{
    for (size_t i = 0; i < sizeof schema_keys / sizeof schema_keys[0]; i++)
        if (strcmp(k, schema_keys[i]) == 0)
            return true;
    return false;
}

/* New reference: a copy of the schema holding only what Gemini accepts. */
static json_t *clean_schema(const json_t *s, int depth)
{
    if (!json_is_object(s) || depth > 64)
        return json_object();
    json_t *out = json_object();
    if (!out)
        return NULL;
    const char *k;
    json_t *v, *nv = NULL;
    json_object_foreach((json_t *)s, k, v)
    {
        nv = NULL;
        if (strcmp(k, "const") == 0) {
            if (json_object_get(s, "enum"))
                continue;
            nv = json_array();
            if (!push_new(nv, json_deep_copy(v)) || !set_new(out, "enum", nv))
                goto fail;
            continue;
        }
        if (!schema_key_kept(k))
            continue;
        if (strcmp(k, "type") == 0 && json_is_array(v)) {
            size_t i;
            json_t *t;
            json_t *first = NULL;
            json_array_foreach(v, i, t)
            {
                if (json_is_string(t) && strcmp(json_string_value(t), "null") == 0) {
                    if (!set_new(out, "nullable", json_true()))
                        goto fail;
                } else if (!first && json_is_string(t)) {
                    first = t;
                }
            }
            if (first && !set_new(out, "type", json_deep_copy(first)))
                goto fail;
            continue;
        }
        if (strcmp(k, "properties") == 0 && json_is_object(v)) {
            nv = json_object();
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv)
            {
                if (!nv || !set_new(nv, pk, clean_schema(pv, depth + 1)))
                    goto fail_nv;
            }
        } else if (strcmp(k, "items") == 0 && json_is_object(v)) {
            nv = clean_schema(v, depth + 1);
        } else if (strcmp(k, "anyOf") == 0 && json_is_array(v)) {
            nv = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                if (!nv || !push_new(nv, clean_schema(e, depth + 1)))
                    goto fail_nv;
            }
        } else {
            nv = json_deep_copy(v);
        }
        if (!set_new(out, k, nv))
            goto fail;
    }
    return out;
fail_nv:
    json_decref(nv);
fail:
    json_decref(out);
    return NULL;
}

/* Parses schema text and cleans it; *out NULL (and LX_OK) when the result is
 * an object schema with no properties. */
static lx_status schema_for_gemini(const char *text, const char *ctx, bool drop_empty, json_t **out,
                                   lx_error *err)
{
    *out = NULL;
    json_t *raw = lx_json_object_from_text(text, ctx, err);
    if (!raw)
        return err ? err->code : LX_ERR_INVALID;
    json_t *c = clean_schema(raw, 0);
    json_decref(raw);
    if (!c)
        return LX_ERR_NOMEM;
    json_t *props = json_object_get(c, "properties");
    if (drop_empty && (!props || json_object_size(props) == 0)) {
        json_decref(c);
        return LX_OK;
    }
    *out = c;
    return LX_OK;
}

/* ---- request encode ----------------------------------------------------- */

typedef struct {
    json_t *contents;    /* array being built (borrowed from the body) */
    json_t *parts;       /* parts of the open content (borrowed), NULL if none */
    const char *role;    /* role of the open content */
    const char *pending; /* signature waiting for the next model part */
    bool call_seen;      /* the open content has a functionCall already */
} enc_state;

static lx_status flush_signature(enc_state *st)
{
    if (!st->pending)
        return LX_OK;
    json_t *p = json_pack("{s:s, s:s}", "text", "", "thoughtSignature", st->pending);
    st->pending = NULL;
    return push_new(st->parts, p) ? LX_OK : LX_ERR_NOMEM;
}

/* Ends the open content: its pending signature goes on an empty part, and a
 * content left with no part gets an empty text (Gemini wants one part). */
static lx_status close_content(enc_state *st)
{
    if (!st->parts)
        return LX_OK;
    if (flush_signature(st) != LX_OK)
        return LX_ERR_NOMEM;
    if (json_array_size(st->parts) == 0 && !push_new(st->parts, json_pack("{s:s}", "text", "")))
        return LX_ERR_NOMEM;
    st->parts = NULL;
    return LX_OK;
}

static lx_status open_content(enc_state *st, const char *role)
{
    if (st->parts && strcmp(st->role, role) == 0)
        return LX_OK;
    if (close_content(st) != LX_OK)
        return LX_ERR_NOMEM;
    json_t *parts = json_array();
    json_t *c = json_pack("{s:s, s:o}", "role", role, "parts", parts);
    if (!c || json_array_append_new(st->contents, c) != 0)
        return LX_ERR_NOMEM;
    st->parts = parts;
    st->role = role;
    st->call_seen = false;
    return LX_OK;
}

/* Appends a part, giving it the pending signature. Steals p. */
static lx_status add_part(enc_state *st, json_t *p)
{
    if (!p)
        return LX_ERR_NOMEM;
    if (st->pending) {
        if (!set_new(p, "thoughtSignature", json_string(st->pending))) {
            json_decref(p);
            return LX_ERR_NOMEM;
        }
        st->pending = NULL;
    }
    return push_new(st->parts, p) ? LX_OK : LX_ERR_NOMEM;
}

static json_t *image_part(const lx_part *p)
{
    if (p->data)
        return json_pack("{s:{s:s, s:s}}", "inlineData", "mimeType",
                         p->media_type ? p->media_type : sniff_mime(p->data), "data", p->data);
    const char *url = p->url ? p->url : "";
    if (strncmp(url, "data:", 5) == 0) {
        const char *comma = strchr(url, ',');
        const char *semi = strstr(url, ";base64,");
        if (comma && semi && semi + 7 == comma) {
            json_t *mt = json_stringn(url + 5, (size_t)(semi - url - 5));
            return json_pack("{s:{s:o, s:s}}", "inlineData", "mimeType", mt, "data", comma + 1);
        }
    }
    if (p->media_type)
        return json_pack("{s:{s:s, s:s}}", "fileData", "mimeType", p->media_type, "fileUri", url);
    return json_pack("{s:{s:s}}", "fileData", "fileUri", url);
}

/* The name of the function a tool result answers, or NULL. */
static const char *result_name(const lx_request *r, size_t mi, size_t ordinal, const lx_part *p)
{
    if (p->name)
        return p->name;
    const lx_part *call = lx_request_find_call(r, mi, ordinal, p);
    return call ? call->name : NULL;
}

static json_t *function_response(const lx_part *p, const char *name)
{
    json_t *resp = NULL;
    const char *text = p->text ? p->text : "";
    if (p->is_error) {
        resp = json_pack("{s:s}", "error", text);
    } else {
        json_error_t je;
        resp = json_loads(text, 0, &je);
        if (!json_is_object(resp)) {
            json_decref(resp);
            resp = json_pack("{s:s}", "result", text);
        }
    }
    json_t *fr = json_pack("{s:s, s:o}", "name", name, "response", resp);
    if (fr && p->id && !set_new(fr, "id", json_string(p->id))) {
        json_decref(fr);
        return NULL;
    }
    return fr ? json_pack("{s:o}", "functionResponse", fr) : NULL;
}

static lx_status encode_message(const lx_request *r, size_t mi, enc_state *st, size_t *ordinal,
                                lx_error *err)
{
    const lx_message *m = &r->messages[mi];
    bool model = m->role == LX_ROLE_ASSISTANT;
    lx_status s = open_content(st, model ? "model" : "user");
    if (s != LX_OK)
        return s;
    if (model)
        *ordinal = 0;
    for (size_t j = 0; j < m->n_parts; j++) {
        const lx_part *p = &m->parts[j];
        json_t *gp = NULL;
        switch (p->kind) {
        case LX_PART_TEXT:
            if (!p->text || !*p->text)
                continue; /* Gemini refuses empty text parts */
            gp = json_pack("{s:s}", "text", p->text ? p->text : "");
            break;
        case LX_PART_IMAGE:
            if (!p->data && !p->url)
                return lx_fail(err, LX_ERR_INVALID,
                               "messages[%zu].parts[%zu]: image without data or url", mi, j);
            gp = image_part(p);
            break;
        case LX_PART_THINKING:
            if (!model)
                continue; /* thinking only means something in a model turn */
            if ((s = flush_signature(st)) != LX_OK)
                return s;
            if (p->text && *p->text) {
                gp = json_pack("{s:s, s:b}", "text", p->text, "thought", 1);
                if (!push_new(st->parts, gp))
                    return LX_ERR_NOMEM;
            }
            st->pending = p->signature;
            continue;
        case LX_PART_TOOL_CALL: {
            if (!model)
                return lx_fail(err, LX_ERR_INVALID,
                               "messages[%zu].parts[%zu]: tool call outside an assistant turn", mi,
                               j);
            char ctx[160];
            snprintf(ctx, sizeof ctx, "messages[%zu].parts[%zu] (tool call \"%.40s\") arguments",
                     mi, j, p->name ? p->name : "");
            json_t *args = lx_json_object_from_text(p->arguments, ctx, err);
            if (!args)
                return LX_ERR_INVALID;
            json_t *fc = json_pack("{s:s, s:o}", "name", p->name ? p->name : "", "args", args);
            if (fc && p->id && !set_new(fc, "id", json_string(p->id))) {
                json_decref(fc);
                return LX_ERR_NOMEM;
            }
            gp = fc ? json_pack("{s:o}", "functionCall", fc) : NULL;
            /* Gemini 3 refuses a turn whose first call has no signature (calls
             * made by another provider); the documented sentinel skips that. */
            if (gp && !st->call_seen && !st->pending &&
                json_object_set_new(gp, "thoughtSignature",
                                    json_string(LX_GEMINI_SKIP_SIGNATURE))) {
                json_decref(gp);
                return LX_ERR_NOMEM;
            }
            st->call_seen = true;
            break;
        }
        case LX_PART_TOOL_RESULT: {
            if (model)
                return lx_fail(err, LX_ERR_INVALID,
                               "messages[%zu].parts[%zu]: tool result inside an assistant turn", mi,
                               j);
            const char *name = result_name(r, mi, (*ordinal)++, p);
            if (!name || !*name)
                return lx_fail(
                    err, LX_ERR_INVALID,
                    "messages[%zu].parts[%zu]: tool result names no function and matches "
                    "no earlier tool call%s%s",
                    mi, j, p->id ? " with id " : "", p->id ? p->id : "");
            gp = function_response(p, name);
            break;
        }
        }
        if ((s = add_part(st, gp)) != LX_OK)
            return s;
    }
    return LX_OK;
}

static lx_status encode_tools(const lx_request *r, json_t *body, lx_error *err)
{
    json_t *decls = json_array();
    json_t *tools = json_pack("[{s:o}]", "functionDeclarations", decls);
    if (!tools || !set_new(body, "tools", tools))
        return LX_ERR_NOMEM;
    for (size_t i = 0; i < r->n_tools; i++) {
        const lx_tool *t = &r->tools[i];
        if (!t->name || !*t->name)
            return lx_fail(err, LX_ERR_INVALID, "tools[%zu].name: required", i);
        json_t *d = json_pack("{s:s}", "name", t->name);
        if (!push_new(decls, d))
            return LX_ERR_NOMEM;
        if (t->description && !set_new(d, "description", json_string(t->description)))
            return LX_ERR_NOMEM;
        char ctx[96];
        snprintf(ctx, sizeof ctx, "tools[%zu].parameters", i);
        json_t *params = NULL;
        lx_status s = schema_for_gemini(t->parameters, ctx, true, &params, err);
        if (s != LX_OK)
            return s;
        if (params && !set_new(d, "parameters", params))
            return LX_ERR_NOMEM;
    }
    const lx_tool_choice *tc = &r->tool_choice;
    if (tc->kind == LX_TOOL_CHOICE_UNSET)
        return LX_OK;
    const char *mode = tc->kind == LX_TOOL_CHOICE_NONE   ? "NONE"
                       : tc->kind == LX_TOOL_CHOICE_AUTO ? "AUTO"
                                                         : "ANY";
    json_t *fcc = json_pack("{s:s}", "mode", mode);
    if (!fcc || !set_new(body, "toolConfig", json_pack("{s:o}", "functionCallingConfig", fcc)))
        return LX_ERR_NOMEM;
    if (tc->kind == LX_TOOL_CHOICE_NAMED) {
        if (!tc->name || !*tc->name)
            return lx_fail(err, LX_ERR_INVALID, "tool_choice.name: required for a named choice");
        if (!set_new(fcc, "allowedFunctionNames", json_pack("[s]", tc->name)))
            return LX_ERR_NOMEM;
    }
    return LX_OK;
}

static lx_status encode_config(const lx_request *r, json_t *body, lx_error *err)
{
    const lx_sampling *s = &r->sampling;
    json_t *gc = json_object();
    if (!gc)
        return LX_ERR_NOMEM;
    bool ok = true;
    if (s->has_temperature)
        ok = ok && set_new(gc, "temperature", json_real(s->temperature));
    if (s->has_top_p)
        ok = ok && set_new(gc, "topP", json_real(s->top_p));
    if (s->has_top_k)
        ok = ok && set_new(gc, "topK", json_integer(s->top_k));
    if (s->max_tokens > 0)
        ok = ok && set_new(gc, "maxOutputTokens", json_integer(s->max_tokens));
    if (s->n_stop) {
        json_t *a = json_array();
        for (size_t i = 0; ok && i < s->n_stop; i++)
            ok = push_new(a, json_string(s->stop[i]));
        ok = ok && set_new(gc, "stopSequences", a);
    }
    if (s->has_seed)
        ok = ok && set_new(gc, "seed", json_integer(s->seed));
    if (ok && r->format.kind != LX_FORMAT_TEXT) {
        ok = set_new(gc, "responseMimeType", json_string("application/json"));
        if (ok && r->format.kind == LX_FORMAT_JSON_SCHEMA && r->format.schema) {
            json_t *sch = NULL;
            lx_status st = schema_for_gemini(r->format.schema, "format.schema", false, &sch, err);
            if (st != LX_OK) {
                json_decref(gc);
                return st;
            }
            ok = set_new(gc, "responseSchema", sch);
        }
    }
    if (ok && r->thinking_budget > 0)
        ok = set_new(gc, "thinkingConfig",
                     json_pack("{s:I, s:b}", "thinkingBudget", (json_int_t)r->thinking_budget,
                               "includeThoughts", 1));
    if (!ok) {
        json_decref(gc);
        return LX_ERR_NOMEM;
    }
    if (json_object_size(gc) == 0) {
        json_decref(gc);
        return LX_OK;
    }
    return set_new(body, "generationConfig", gc) ? LX_OK : LX_ERR_NOMEM;
}

static lx_status request_encode(const lx_request *r, const lx_codec_opts *o, lx_buf *out,
                                lx_error *err)
{
    lx_status s = LX_ERR_NOMEM;
    json_t *body = json_object();
    json_t *sys = json_array();
    enc_state st = {.contents = json_array()};
    if (!body || !sys || !st.contents)
        goto done;
    size_t ordinal = 0;
    for (size_t i = 0; i < r->n_messages; i++) {
        const lx_message *m = &r->messages[i];
        if (m->role != LX_ROLE_SYSTEM) {
            if ((s = encode_message(r, i, &st, &ordinal, err)) != LX_OK)
                goto done;
            continue;
        }
        for (size_t j = 0; j < m->n_parts; j++) {
            if (m->parts[j].kind != LX_PART_TEXT) {
                s = lx_fail(err, LX_ERR_INVALID,
                            "messages[%zu].parts[%zu]: system messages hold text only", i, j);
                goto done;
            }
            if (!push_new(sys,
                          json_pack("{s:s}", "text", m->parts[j].text ? m->parts[j].text : "")))
                goto done;
        }
    }
    if ((s = close_content(&st)) != LX_OK)
        goto done;
    s = LX_ERR_NOMEM;
    if (json_array_size(st.contents) == 0) {
        s = lx_fail(err, LX_ERR_INVALID, "messages: Gemini needs at least one user message");
        goto done;
    }
    if (json_array_size(sys) &&
        !set_new(body, "systemInstruction", json_pack("{s:O}", "parts", sys)))
        goto done;
    if (json_object_set(body, "contents", st.contents) != 0)
        goto done;
    if (r->n_tools && (s = encode_tools(r, body, err)) != LX_OK)
        goto done;
    if ((s = encode_config(r, body, err)) != LX_OK)
        goto done;
    s = lx_json_dump(body, out);
done:
    json_decref(body);
    json_decref(sys);
    json_decref(st.contents);
    return s;
}

/* ---- http --------------------------------------------------------------- */

static lx_status http_prepare(const lx_codec_opts *o, lx_buf *url, lx_buf *headers, lx_error *err)
{
    const char *model = o->model;
    if (!model || !*model)
        return lx_fail(err, LX_ERR_INVALID, "model: required for a Gemini request");
    if (strncmp(model, "models/", 7) == 0)
        model += 7;
    for (const unsigned char *c = (const unsigned char *)model; *c; c++)
        if (*c <= 0x20 || *c == 0x7f || *c == '/' || *c == '?' || *c == '#' || *c == '%' ||
            *c == ':' || *c == '\\')
            return lx_fail(err, LX_ERR_INVALID,
                           "model: \"%.80s\" is not a valid Gemini model name (character 0x%02x "
                           "is not allowed in a URL path)",
                           o->model, *c);
    if (!*model)
        return lx_fail(err, LX_ERR_INVALID, "model: required for a Gemini request");
    const char *base = o->base_url && *o->base_url ? o->base_url : LX_GEMINI_DEFAULT_BASE;
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    if (o->api_key && strpbrk(o->api_key, "\r\n"))
        return lx_fail(err, LX_ERR_INVALID, "api_key: contains a line break");
    lx_status s;
    if ((s = lx_buf_append(url, base, blen)) != LX_OK ||
        (s = lx_buf_printf(url, "/models/%s%s", model,
                           o->stream ? ":streamGenerateContent?alt=sse" : ":generateContent")) !=
            LX_OK ||
        (s = lx_buf_puts(headers, "Content-Type: application/json\n")) != LX_OK)
        return s;
    if (o->api_key && *o->api_key &&
        (s = lx_buf_printf(headers, "x-goog-api-key: %s\n", o->api_key)) != LX_OK)
        return s;
    return LX_OK;
}

/* ---- errors ------------------------------------------------------------- */

static const char *status_for_http(int http)
{
    switch (http) {
    case 400:
        return "INVALID_ARGUMENT";
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "NOT_FOUND";
    case 409:
        return "ABORTED";
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 499:
        return "CANCELLED";
    case 501:
        return "UNIMPLEMENTED";
    case 502: /* a bad gateway: the service behind is unavailable */
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return http >= 500 ? "INTERNAL" : http >= 400 ? "FAILED_PRECONDITION" : "UNKNOWN";
    }
}

void lx_gemini_error_fill(const json_t *e, int http_status, lx_error *err)
{
    if (!err)
        return;
    json_t *code = json_object_get(e, "code");
    json_t *msg = json_object_get(e, "message");
    json_t *st = json_object_get(e, "status");
    int http = http_status;
    if (!http && json_is_integer(code) && json_integer_value(code) > 0 &&
        json_integer_value(code) < 1000)
        http = (int)json_integer_value(code);
    lx_fail(err, LX_ERR_UPSTREAM, "%s",
            json_is_string(msg) ? json_string_value(msg) : "Gemini reported an error");
    err->http_status = http;
    lx_strlcpy(err->provider, "gemini", sizeof err->provider);
    lx_strlcpy(err->type, json_is_string(st) ? json_string_value(st) : status_for_http(http),
               sizeof err->type);
}

static void error_decode(int http_status, const char *body, size_t len, lx_error *err)
{
    if (!err)
        return;
    json_error_t je;
    json_t *root = body ? json_loadb(body, len, 0, &je) : NULL;
    json_t *obj = json_is_array(root) ? json_array_get(root, 0) : root;
    json_t *e = json_object_get(obj, "error");
    if (json_is_object(e)) {
        lx_gemini_error_fill(e, http_status, err);
    } else {
        char quote[201];
        size_t n = len < 200 ? len : 200;
        for (size_t i = 0; i < n; i++)
            quote[i] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
        quote[n] = '\0';
        if (json_is_string(e))
            lx_fail(err, LX_ERR_UPSTREAM, "%s", json_string_value(e));
        else
            lx_fail(err, LX_ERR_UPSTREAM, "HTTP %d with an unreadable body: \"%s\"", http_status,
                    quote);
        err->http_status = http_status;
        lx_strlcpy(err->provider, "gemini", sizeof err->provider);
        lx_strlcpy(err->type, status_for_http(http_status), sizeof err->type);
    }
    json_decref(root);
}

static bool known_status(const char *t)
{
    static const char *const all[] = {
        "INVALID_ARGUMENT",   "FAILED_PRECONDITION", "OUT_OF_RANGE", "UNAUTHENTICATED",
        "PERMISSION_DENIED",  "NOT_FOUND",           "ABORTED",      "ALREADY_EXISTS",
        "RESOURCE_EXHAUSTED", "CANCELLED",           "DATA_LOSS",    "UNKNOWN",
        "INTERNAL",           "UNIMPLEMENTED",       "UNAVAILABLE",  "DEADLINE_EXCEEDED",
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(t, all[i]) == 0)
            return true;
    return false;
}

static lx_status error_encode(const lx_error *e, int *http_status, lx_buf *out)
{
    int http = lx_error_http_status(e);
    const char *st = known_status(e->type) ? e->type : status_for_http(http);
    if (http_status)
        *http_status = http;
    json_t *v = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", http, "message",
                          e->message[0] ? e->message : lx_status_name(e->code), "status", st);
    if (!v) /* message not valid UTF-8 */
        v = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", http, "message",
                      lx_status_name(e->code), "status", st);
    if (!v)
        return LX_ERR_NOMEM;
    lx_status s = lx_json_dump(v, out);
    json_decref(v);
    return s;
}

/* ---- the table ---------------------------------------------------------- */

const lx_codec lx_codec_gemini = {
    .name = "gemini",
    .request_decode = lx_gemini_request_decode,
    .response_encode = lx_gemini_response_encode,
    .stream_encoder_new = lx_gemini_stream_encoder_new,
    .error_encode = error_encode,
    .stream_content_type = "text/event-stream",
    .request_encode = request_encode,
    .http_prepare = http_prepare,
    .response_decode = lx_gemini_response_decode,
    .stream_decoder_new = lx_gemini_stream_decoder_new,
    .error_decode = error_decode,
};
