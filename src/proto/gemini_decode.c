/*
 * gemini_decode.c — Gemini requests arriving at llmux (server side): the
 * GenerateContentRequest body decoded into a neutral lx_request, and the
 * part decoder shared with the response decoders. The mapping is the inverse
 * of the encoder's; see the comment at the top of gemini.c, and gemini.h for
 * where thought signatures go. The model is named in the URL, not the body,
 * so req->model stays NULL; so does req->stream (the URL says that too).
 */
#include <stdio.h>
#include <string.h>

#include "proto/gemini.h"
#include "proto/json.h"

/* ---- parts decode ------------------------------------------------------- */

static lx_status need_obj(const json_t *v, const char *ctx, const char *key, lx_error *err)
{
    if (json_is_object(v))
        return LX_OK;
    return lx_fail(err, LX_ERR_INVALID, "%s%s%s: expected an object", ctx, key ? "." : "",
                   key ? key : "");
}

static lx_status need_str(lx_arena *a, const json_t *obj, const char *key, const char *ctx,
                          char **out, lx_error *err)
{
    lx_status s = lx_json_opt_str(a, obj, key, ctx, out, err);
    if (s == LX_OK && !*out)
        s = lx_fail(err, LX_ERR_INVALID, "%s.%s: required", ctx, key);
    return s;
}

/* Inverse of function_response(): {"result": s} and {"error": s} give the
 * bare text, anything else its compact JSON. */
static lx_status response_text(lx_arena *a, const json_t *resp, lx_part *p)
{
    if (json_object_size(resp) == 1) {
        json_t *r = json_object_get(resp, "result");
        json_t *e = json_object_get(resp, "error");
        json_t *v = r ? r : e;
        if (json_is_string(v)) {
            p->text = lx_arena_strndup(a, json_string_value(v), json_string_length(v));
            p->is_error = v == e;
            return p->text ? LX_OK : LX_ERR_NOMEM;
        }
    }
    p->text = resp ? lx_json_dump_arena(a, resp) : lx_arena_strdup(a, "{}");
    return p->text ? LX_OK : LX_ERR_NOMEM;
}

lx_status lx_gemini_part_decode(lx_arena *a, const json_t *p, const char *ctx, lx_gpart *out,
                                lx_error *err)
{
    lx_status s;
    memset(out, 0, sizeof *out);
    if ((s = need_obj(p, ctx, NULL, err)) != LX_OK)
        return s;
    bool thought = false;
    char sub[256];
    if ((s = lx_json_opt_str(a, p, "thoughtSignature", ctx, &out->signature, err)) != LX_OK ||
        (s = lx_json_opt_bool(p, "thought", ctx, &thought, NULL, err)) != LX_OK)
        return s;
    if (out->signature && strcmp(out->signature, LX_GEMINI_SKIP_SIGNATURE) == 0)
        out->signature = NULL;
    json_t *v;
    if (json_object_get(p, "text")) {
        if ((s = lx_json_opt_str(a, p, "text", ctx, &out->part.text, err)) != LX_OK)
            return s;
        if (!out->part.text || !*out->part.text)
            out->kind = LX_GPART_EMPTY;
        else
            out->kind = thought ? LX_GPART_THOUGHT : LX_GPART_TEXT;
    } else if ((v = json_object_get(p, "functionCall"))) {
        snprintf(sub, sizeof sub, "%s.functionCall", ctx);
        if ((s = need_obj(v, sub, NULL, err)) != LX_OK ||
            (s = need_str(a, v, "name", sub, &out->part.name, err)) != LX_OK ||
            (s = lx_json_opt_str(a, v, "id", sub, &out->part.id, err)) != LX_OK)
            return s;
        json_t *args = json_object_get(v, "args");
        if (args && !json_is_null(args) && (s = need_obj(args, sub, "args", err)) != LX_OK)
            return s;
        out->part.arguments =
            args && !json_is_null(args) ? lx_json_dump_arena(a, args) : lx_arena_strdup(a, "{}");
        if (!out->part.arguments)
            return LX_ERR_NOMEM;
        out->kind = LX_GPART_CALL;
    } else if ((v = json_object_get(p, "functionResponse"))) {
        snprintf(sub, sizeof sub, "%s.functionResponse", ctx);
        if ((s = need_obj(v, sub, NULL, err)) != LX_OK ||
            (s = need_str(a, v, "name", sub, &out->part.name, err)) != LX_OK ||
            (s = lx_json_opt_str(a, v, "id", sub, &out->part.id, err)) != LX_OK)
            return s;
        json_t *resp = json_object_get(v, "response");
        if (resp && !json_is_null(resp) && (s = need_obj(resp, sub, "response", err)) != LX_OK)
            return s;
        if ((s = response_text(a, json_is_object(resp) ? resp : NULL, &out->part)) != LX_OK)
            return s;
        out->kind = LX_GPART_RESPONSE;
    } else if ((v = json_object_get(p, "inlineData"))) {
        snprintf(sub, sizeof sub, "%s.inlineData", ctx);
        if ((s = need_obj(v, sub, NULL, err)) != LX_OK ||
            (s = need_str(a, v, "mimeType", sub, &out->part.media_type, err)) != LX_OK ||
            (s = need_str(a, v, "data", sub, &out->part.data, err)) != LX_OK)
            return s;
        out->kind = LX_GPART_IMAGE;
    } else if ((v = json_object_get(p, "fileData"))) {
        snprintf(sub, sizeof sub, "%s.fileData", ctx);
        if ((s = need_obj(v, sub, NULL, err)) != LX_OK ||
            (s = lx_json_opt_str(a, v, "mimeType", sub, &out->part.media_type, err)) != LX_OK ||
            (s = need_str(a, v, "fileUri", sub, &out->part.url, err)) != LX_OK)
            return s;
        out->kind = LX_GPART_IMAGE;
    } else if (out->signature) {
        out->kind = LX_GPART_EMPTY;
    } else {
        return lx_fail(err, LX_ERR_UNSUPPORTED,
                       "%s: unsupported part (expected text, inlineData, fileData, functionCall "
                       "or functionResponse)",
                       ctx);
    }
    return LX_OK;
}

lx_status lx_gemini_part_place(lx_arena *a, const lx_gpart *g, const lx_gpart_sink *s)
{
    if (g->kind == LX_GPART_THOUGHT) {
        lx_part *p = s->add(s->ud, LX_PART_THINKING);
        if (!p)
            return LX_ERR_NOMEM;
        p->text = g->part.text;
        p->signature = g->signature;
        return LX_OK;
    }
    if (g->signature) {
        size_t n = s->count(s->ud);
        lx_part *last = n ? s->at(s->ud, n - 1) : NULL;
        if (last && last->kind == LX_PART_THINKING && !last->signature) {
            last->signature = g->signature;
        } else {
            lx_part *p = s->add(s->ud, LX_PART_THINKING);
            if (!p || !(p->text = lx_arena_strdup(a, "")))
                return LX_ERR_NOMEM;
            p->signature = g->signature;
        }
    }
    lx_part_kind kind;
    switch (g->kind) {
    case LX_GPART_TEXT:
        kind = LX_PART_TEXT;
        break;
    case LX_GPART_CALL:
        kind = LX_PART_TOOL_CALL;
        break;
    case LX_GPART_RESPONSE:
        kind = LX_PART_TOOL_RESULT;
        break;
    case LX_GPART_IMAGE:
        kind = LX_PART_IMAGE;
        break;
    default:
        return LX_OK;
    }
    lx_part *p = s->add(s->ud, kind);
    if (!p)
        return LX_ERR_NOMEM;
    *p = g->part;
    p->kind = kind;
    return LX_OK;
}

/* ---- Gemini Schema -> JSON Schema -------------------------------------- */

/* New reference: a Gemini Schema object turned into plain JSON Schema, the
 * inverse of the encoder's cleaning: type names in lower case ("OBJECT" ->
 * "object", as the SDKs send them), "nullable": true -> a type list with
 * "null", "propertyOrdering" dropped; properties, items and anyOf recurse. */
static json_t *schema_from_gemini(const json_t *s, int depth)
{
    if (!json_is_object(s) || depth > 64)
        return json_deep_copy(s);
    json_t *out = json_object();
    const char *k;
    json_t *v;
    bool nullable = json_is_true(json_object_get(s, "nullable"));
    json_object_foreach((json_t *)s, k, v)
    {
        json_t *nv = NULL;
        if (!out)
            return NULL;
        if (strcmp(k, "nullable") == 0 || strcmp(k, "propertyOrdering") == 0)
            continue;
        if (strcmp(k, "type") == 0 && json_is_string(v)) {
            char t[32];
            lx_strlcpy(t, json_string_value(v), sizeof t);
            for (char *c = t; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c - 'A' + 'a');
            nv = nullable ? json_pack("[s, s]", t, "null") : json_string(t);
        } else if (strcmp(k, "properties") == 0 && json_is_object(v)) {
            nv = json_object();
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv)
            {
                if (nv && json_object_set_new(nv, pk, schema_from_gemini(pv, depth + 1)) != 0) {
                    json_decref(nv);
                    nv = NULL;
                }
            }
        } else if (strcmp(k, "items") == 0 && json_is_object(v)) {
            nv = schema_from_gemini(v, depth + 1);
        } else if (strcmp(k, "anyOf") == 0 && json_is_array(v)) {
            nv = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                if (nv && json_array_append_new(nv, schema_from_gemini(e, depth + 1)) != 0) {
                    json_decref(nv);
                    nv = NULL;
                }
            }
        } else {
            nv = json_deep_copy(v);
        }
        if (!nv || json_object_set_new(out, k, nv) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* Schema text for the neutral request: Gemini Schema converted, a
 * `*JsonSchema` field (already JSON Schema) kept as it is. */
static char *schema_text(lx_arena *a, const json_t *sch, bool gemini_schema)
{
    if (!gemini_schema)
        return lx_json_dump_arena(a, sch);
    json_t *js = schema_from_gemini(sch, 0);
    char *t = js ? lx_json_dump_arena(a, js) : NULL;
    json_decref(js);
    return t;
}

/* ---- request decode ----------------------------------------------------- */

typedef struct {
    lx_request *r;
    size_t mi; /* index of the message parts go to */
} msg_sink;

static lx_part *ms_add(void *ud, lx_part_kind k)
{
    msg_sink *m = ud;
    return lx_message_add_part(m->r, &m->r->messages[m->mi], k);
}

static lx_part *ms_at(void *ud, size_t i)
{
    msg_sink *m = ud;
    return &m->r->messages[m->mi].parts[i];
}

static size_t ms_count(void *ud)
{
    msg_sink *m = ud;
    return m->r->messages[m->mi].n_parts;
}

/* Appends to the last message if it has the role, else to a new one. */
static lx_status target_message(lx_request *r, lx_role role, bool *fresh, msg_sink *ms)
{
    if (!*fresh && r->n_messages && r->messages[r->n_messages - 1].role == role) {
        ms->mi = r->n_messages - 1;
        return LX_OK;
    }
    if (!lx_request_add_message(r, role))
        return LX_ERR_NOMEM;
    *fresh = false;
    ms->mi = r->n_messages - 1;
    return LX_OK;
}

static lx_status decode_content(lx_request *r, const json_t *c, size_t ci, lx_error *err)
{
    char ctx[128];
    lx_status s;
    snprintf(ctx, sizeof ctx, "contents[%zu]", ci);
    if ((s = need_obj(c, ctx, NULL, err)) != LX_OK)
        return s;
    char *role = NULL;
    if ((s = lx_json_opt_str(r->arena, c, "role", ctx, &role, err)) != LX_OK)
        return s;
    bool model = role && strcmp(role, "model") == 0;
    if (role && !model && strcmp(role, "user") != 0 && strcmp(role, "function") != 0)
        return lx_fail(err, LX_ERR_INVALID,
                       "%s.role: expected \"user\" or \"model\", got \"%.40s\"", ctx, role);
    json_t *parts = json_object_get(c, "parts");
    if (!json_is_array(parts))
        return lx_fail(err, LX_ERR_INVALID, "%s.parts: expected an array", ctx);
    msg_sink ms = {.r = r};
    lx_gpart_sink sink = {ms_add, ms_at, ms_count, &ms};
    bool fresh = true; /* each content starts new messages */
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        char pctx[192];
        lx_gpart g;
        snprintf(pctx, sizeof pctx, "%s.parts[%zu]", ctx, i);
        if ((s = lx_gemini_part_decode(r->arena, p, pctx, &g, err)) != LX_OK)
            return s;
        lx_role want = model                         ? LX_ROLE_ASSISTANT
                       : g.kind == LX_GPART_RESPONSE ? LX_ROLE_TOOL
                                                     : LX_ROLE_USER;
        if (model && g.kind == LX_GPART_RESPONSE)
            return lx_fail(err, LX_ERR_INVALID, "%s: functionResponse in a model turn", pctx);
        if (!model && (g.kind == LX_GPART_CALL || g.kind == LX_GPART_THOUGHT))
            return lx_fail(err, LX_ERR_INVALID, "%s: %s in a user turn", pctx,
                           g.kind == LX_GPART_CALL ? "functionCall" : "thought");
        if (g.kind == LX_GPART_EMPTY && !g.signature)
            continue;
        if ((s = target_message(r, want, &fresh, &ms)) != LX_OK ||
            (s = lx_gemini_part_place(r->arena, &g, &sink)) != LX_OK)
            return s;
    }
    return LX_OK;
}

static lx_status decode_system(lx_request *r, const json_t *si, lx_error *err)
{
    if (json_is_string(si))
        return lx_request_add_text(r, LX_ROLE_SYSTEM, json_string_value(si));
    lx_status s;
    if ((s = need_obj(si, "systemInstruction", NULL, err)) != LX_OK)
        return s;
    json_t *parts = json_object_get(si, "parts");
    if (!json_is_array(parts))
        return lx_fail(err, LX_ERR_INVALID, "systemInstruction.parts: expected an array");
    lx_message *m = lx_request_add_message(r, LX_ROLE_SYSTEM);
    if (!m)
        return LX_ERR_NOMEM;
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        char ctx[128];
        snprintf(ctx, sizeof ctx, "systemInstruction.parts[%zu]", i);
        if ((s = need_obj(p, ctx, NULL, err)) != LX_OK)
            return s;
        char *text = NULL;
        if ((s = need_str(r->arena, p, "text", ctx, &text, err)) != LX_OK)
            return s;
        lx_part *pt = lx_message_add_part(r, m, LX_PART_TEXT);
        if (!pt)
            return LX_ERR_NOMEM;
        pt->text = text;
    }
    return LX_OK;
}

static lx_status decode_tools(lx_request *r, const json_t *body, lx_error *err)
{
    lx_status s;
    json_t *tools = json_object_get(body, "tools");
    if (tools && !json_is_null(tools)) {
        if (!json_is_array(tools))
            return lx_fail(err, LX_ERR_INVALID, "tools: expected an array");
        size_t i, j;
        json_t *t, *d;
        json_array_foreach(tools, i, t)
        {
            char ctx[160];
            snprintf(ctx, sizeof ctx, "tools[%zu]", i);
            if ((s = need_obj(t, ctx, NULL, err)) != LX_OK)
                return s;
            json_t *decls = json_object_get(t, "functionDeclarations");
            if (!decls)
                return lx_fail(err, LX_ERR_UNSUPPORTED,
                               "%s: only functionDeclarations tools are supported", ctx);
            if (!json_is_array(decls))
                return lx_fail(err, LX_ERR_INVALID, "%s.functionDeclarations: expected an array",
                               ctx);
            json_array_foreach(decls, j, d)
            {
                snprintf(ctx, sizeof ctx, "tools[%zu].functionDeclarations[%zu]", i, j);
                lx_tool *tool = lx_request_add_tool(r);
                if (!tool)
                    return LX_ERR_NOMEM;
                if ((s = need_obj(d, ctx, NULL, err)) != LX_OK ||
                    (s = need_str(r->arena, d, "name", ctx, &tool->name, err)) != LX_OK ||
                    (s = lx_json_opt_str(r->arena, d, "description", ctx, &tool->description,
                                         err)) != LX_OK)
                    return s;
                json_t *params = json_object_get(d, "parameters");
                const char *pkey = "parameters";
                if (!params) {
                    params = json_object_get(d, "parametersJsonSchema");
                    pkey = "parametersJsonSchema";
                }
                if (params && !json_is_null(params)) {
                    if ((s = need_obj(params, ctx, pkey, err)) != LX_OK)
                        return s;
                    if (!(tool->parameters =
                              schema_text(r->arena, params, strcmp(pkey, "parameters") == 0)))
                        return LX_ERR_NOMEM;
                }
            }
        }
    }
    json_t *tc = json_object_get(body, "toolConfig");
    if (!tc || json_is_null(tc))
        return LX_OK;
    if ((s = need_obj(tc, "toolConfig", NULL, err)) != LX_OK)
        return s;
    json_t *fcc = json_object_get(tc, "functionCallingConfig");
    if (!fcc || json_is_null(fcc))
        return LX_OK;
    if ((s = need_obj(fcc, "toolConfig.functionCallingConfig", NULL, err)) != LX_OK)
        return s;
    char *mode = NULL;
    if ((s = lx_json_opt_str(r->arena, fcc, "mode", "toolConfig.functionCallingConfig", &mode,
                             err)) != LX_OK)
        return s;
    json_t *names = json_object_get(fcc, "allowedFunctionNames");
    if (names && !json_is_null(names) && !json_is_array(names))
        return lx_fail(err, LX_ERR_INVALID,
                       "toolConfig.functionCallingConfig.allowedFunctionNames: expected an array");
    if (!mode || strcmp(mode, "AUTO") == 0 || strcmp(mode, "MODE_UNSPECIFIED") == 0) {
        r->tool_choice.kind = mode ? LX_TOOL_CHOICE_AUTO : LX_TOOL_CHOICE_UNSET;
    } else if (strcmp(mode, "NONE") == 0) {
        r->tool_choice.kind = LX_TOOL_CHOICE_NONE;
    } else if (strcmp(mode, "ANY") == 0 || strcmp(mode, "VALIDATED") == 0) {
        r->tool_choice.kind = LX_TOOL_CHOICE_REQUIRED;
        json_t *n0 = json_array_get(names, 0);
        if (json_array_size(names) == 1) {
            if (!json_is_string(n0))
                return lx_fail(err, LX_ERR_INVALID,
                               "toolConfig.functionCallingConfig.allowedFunctionNames[0]: "
                               "expected a string");
            r->tool_choice.kind = LX_TOOL_CHOICE_NAMED;
            if (!(r->tool_choice.name = lx_arena_strdup(r->arena, json_string_value(n0))))
                return LX_ERR_NOMEM;
        }
    } else {
        return lx_fail(err, LX_ERR_INVALID,
                       "toolConfig.functionCallingConfig.mode: unknown mode \"%.40s\"", mode);
    }
    return LX_OK;
}

static lx_status decode_config(lx_request *r, const json_t *gc, lx_error *err)
{
    const char *ctx = "generationConfig";
    lx_sampling *sp = &r->sampling;
    lx_status s;
    int64_t topk = 0;
    bool has = false;
    if ((s = need_obj(gc, ctx, NULL, err)) != LX_OK ||
        (s = lx_json_opt_num(gc, "temperature", ctx, &sp->temperature, &sp->has_temperature,
                             err)) != LX_OK ||
        (s = lx_json_opt_num(gc, "topP", ctx, &sp->top_p, &sp->has_top_p, err)) != LX_OK ||
        (s = lx_json_opt_int(gc, "topK", ctx, &topk, &has, err)) != LX_OK ||
        (s = lx_json_opt_int(gc, "maxOutputTokens", ctx, &sp->max_tokens, NULL, err)) != LX_OK ||
        (s = lx_json_opt_int(gc, "seed", ctx, &sp->seed, &sp->has_seed, err)) != LX_OK)
        return s;
    if (has) {
        if (topk < 0 || topk > 1000000)
            return lx_fail(err, LX_ERR_INVALID, "generationConfig.topK: out of range");
        sp->has_top_k = true;
        sp->top_k = (int)topk;
    }
    if (sp->max_tokens < 0)
        return lx_fail(err, LX_ERR_INVALID, "generationConfig.maxOutputTokens: must be positive");
    json_t *stops = json_object_get(gc, "stopSequences");
    if (stops && !json_is_null(stops)) {
        if (!json_is_array(stops))
            return lx_fail(err, LX_ERR_INVALID,
                           "generationConfig.stopSequences: expected an array");
        size_t i;
        json_t *v;
        json_array_foreach(stops, i, v)
        {
            if (!json_is_string(v))
                return lx_fail(err, LX_ERR_INVALID,
                               "generationConfig.stopSequences[%zu]: expected a string", i);
            if (lx_request_add_stop(r, json_string_value(v)) != LX_OK)
                return LX_ERR_NOMEM;
        }
    }
    char *mime = NULL;
    if ((s = lx_json_opt_str(r->arena, gc, "responseMimeType", ctx, &mime, err)) != LX_OK)
        return s;
    if (mime && strcmp(mime, "application/json") == 0) {
        r->format.kind = LX_FORMAT_JSON;
        json_t *sch = json_object_get(gc, "responseSchema");
        const char *key = "responseSchema";
        if (!sch || json_is_null(sch)) {
            sch = json_object_get(gc, "responseJsonSchema");
            key = "responseJsonSchema";
        }
        if (sch && !json_is_null(sch)) {
            if ((s = need_obj(sch, ctx, key, err)) != LX_OK)
                return s;
            r->format.kind = LX_FORMAT_JSON_SCHEMA;
            if (!(r->format.schema =
                      schema_text(r->arena, sch, strcmp(key, "responseSchema") == 0)))
                return LX_ERR_NOMEM;
        }
    }
    json_t *tc = json_object_get(gc, "thinkingConfig");
    if (tc && !json_is_null(tc)) {
        int64_t budget = 0;
        bool has_budget = false, include = false;
        if ((s = need_obj(tc, ctx, "thinkingConfig", err)) != LX_OK ||
            (s = lx_json_opt_int(tc, "thinkingBudget", "generationConfig.thinkingConfig", &budget,
                                 &has_budget, err)) != LX_OK ||
            (s = lx_json_opt_bool(tc, "includeThoughts", "generationConfig.thinkingConfig",
                                  &include, NULL, err)) != LX_OK)
            return s;
        if (has_budget && budget > 0)
            r->thinking_budget = budget;
        else if ((has_budget && budget == -1) || (!has_budget && include))
            r->thinking_budget = LX_GEMINI_DYNAMIC_BUDGET;
    }
    return LX_OK;
}

lx_status lx_gemini_request_decode(const char *body, size_t len, lx_request **out, lx_error *err)
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
    json_t *si = json_object_get(root, "systemInstruction");
    if (si && !json_is_null(si) && (s = decode_system(r, si, err)) != LX_OK)
        goto fail;
    json_t *contents = json_object_get(root, "contents");
    if (!json_is_array(contents)) {
        s = lx_fail(err, LX_ERR_INVALID, "contents: expected an array");
        goto fail;
    }
    size_t i;
    json_t *c;
    json_array_foreach(contents, i, c)
    {
        if ((s = decode_content(r, c, i, err)) != LX_OK)
            goto fail;
    }
    if ((s = decode_tools(r, root, err)) != LX_OK)
        goto fail;
    json_t *gc = json_object_get(root, "generationConfig");
    if (gc && !json_is_null(gc) && (s = decode_config(r, gc, err)) != LX_OK)
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
