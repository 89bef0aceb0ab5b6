/*
 * gemini_resp.c — Gemini answers: whole ones in both directions, and the
 * stream encoder (server side).
 *
 * A whole answer (generateContent) is one GenerateContentResponse:
 *
 *   {"candidates": [{"content": {"role": "model", "parts": [PART, ...]},
 *                    "finishReason": "STOP", "index": 0}],
 *    "usageMetadata": {"promptTokenCount", "cachedContentTokenCount",
 *                      "candidatesTokenCount", "thoughtsTokenCount",
 *                      "toolUsePromptTokenCount", "totalTokenCount"},
 *    "modelVersion": "gemini-2.5-flash", "responseId": "..."}
 *
 * A stream (streamGenerateContent?alt=sse) is a series of SSE events
 * `data: <GenerateContentResponse>` each holding the next parts; function
 * calls arrive whole. There is no terminator: the chunk with finishReason
 * (usually with the final usageMetadata) is the last one. An error after the
 * HTTP 200 arrives as `data: {"error": {code, message, status}}`. A blocked
 * prompt has no candidates and `promptFeedback.blockReason`.
 *
 * Usage: promptTokenCount includes the cached tokens, and
 * thoughtsTokenCount is reported beside candidatesTokenCount, so
 *   input = promptTokenCount - cachedContentTokenCount + toolUsePromptTokenCount
 *   cache_read = cachedContentTokenCount, output = candidatesTokenCount,
 *   reasoning = thoughtsTokenCount.
 * The encoders write promptTokenCount = input + cache_read + cache_write.
 *
 * finishReason: STOP -> STOP (TOOL_CALLS when the answer holds function
 * calls), MAX_TOKENS -> LENGTH, SAFETY, RECITATION, BLOCKLIST,
 * PROHIBITED_CONTENT, SPII, IMAGE_SAFETY -> CONTENT_FILTER, others -> OTHER.
 *
 * The stream encoder writes one chunk per TEXT, THINKING and finished tool
 * call, and usage with finishReason on the last one; ERROR becomes an error
 * chunk. The stream decoder is in gemini_stream.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "proto/gemini.h"
#include "proto/json.h"
#include "proto/sse.h"

/* ---- shared pieces ------------------------------------------------------ */

lx_finish lx_gemini_finish_from(const char *s, bool calls)
{
    static const char *const filtered[] = {
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"};
    if (strcmp(s, "STOP") == 0)
        return calls ? LX_FINISH_TOOL_CALLS : LX_FINISH_STOP;
    if (strcmp(s, "MAX_TOKENS") == 0)
        return LX_FINISH_LENGTH;
    for (size_t i = 0; i < sizeof filtered / sizeof filtered[0]; i++)
        if (strcmp(s, filtered[i]) == 0)
            return LX_FINISH_CONTENT_FILTER;
    return LX_FINISH_OTHER;
}

static const char *finish_to(lx_finish f)
{
    switch (f) {
    case LX_FINISH_LENGTH:
        return "MAX_TOKENS";
    case LX_FINISH_CONTENT_FILTER:
        return "SAFETY";
    case LX_FINISH_ERROR:
    case LX_FINISH_OTHER:
        return "OTHER";
    default:
        return "STOP";
    }
}

lx_status lx_gemini_usage_decode(const json_t *um, lx_usage *u, lx_error *err)
{
    static const char *const keys[] = {"promptTokenCount", "cachedContentTokenCount",
                                       "candidatesTokenCount", "thoughtsTokenCount",
                                       "toolUsePromptTokenCount"};
    int64_t v[5] = {0};
    if (!json_is_object(um))
        return lx_fail(err, LX_ERR_PROTO, "usageMetadata: expected an object");
    for (int i = 0; i < 5; i++) {
        lx_status s = lx_json_opt_int(um, keys[i], "usageMetadata", &v[i], NULL, err);
        if (s != LX_OK)
            return s;
        if (v[i] < 0 || v[i] > ((int64_t)1 << 48))
            return lx_fail(err, LX_ERR_PROTO, "usageMetadata.%s: out of range", keys[i]);
    }
    memset(u, 0, sizeof *u);
    u->input = (v[0] > v[1] ? v[0] - v[1] : 0) + v[4];
    u->cache_read = v[1];
    u->output = v[2];
    u->reasoning = v[3];
    return LX_OK;
}

static json_t *usage_encode(const lx_usage *u)
{
    json_int_t prompt = u->input + u->cache_read + u->cache_write;
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "promptTokenCount", prompt,
                     "candidatesTokenCount", (json_int_t)u->output, "thoughtsTokenCount",
                     (json_int_t)u->reasoning, "cachedContentTokenCount", (json_int_t)u->cache_read,
                     "totalTokenCount", prompt + u->output + u->reasoning);
}

static void make_id(char *buf, size_t cap)
{
    unsigned char r[12];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uintptr_t)buf;
        for (size_t i = 0; i < sizeof r;
             i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            r[i] = (unsigned char)(x >> 56);
    }
    int n = snprintf(buf, cap, "resp-");
    for (size_t i = 0; i < sizeof r && n > 0 && (size_t)n + 2 < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, "%02x", r[i]);
}

/* Turns a failure while reading a provider answer into LX_ERR_PROTO. */
lx_status lx_gemini_as_proto(lx_status s, lx_error *err)
{
    if (s == LX_ERR_INVALID || s == LX_ERR_UNSUPPORTED) {
        if (err)
            err->code = LX_ERR_PROTO;
        return LX_ERR_PROTO;
    }
    return s;
}

/* No candidates: a blocked prompt (LX_ERR_UPSTREAM "blocked") or garbage. */
lx_status lx_gemini_no_candidates(const json_t *root, lx_error *err)
{
    json_t *pf = json_object_get(root, "promptFeedback");
    json_t *br = json_object_get(pf, "blockReason");
    if (json_is_string(br)) {
        lx_fail(err, LX_ERR_UPSTREAM, "prompt blocked by Gemini: %s", json_string_value(br));
        if (err) {
            lx_strlcpy(err->provider, "gemini", sizeof err->provider);
            lx_strlcpy(err->type, "blocked", sizeof err->type);
            err->http_status = 0;
        }
        return LX_ERR_UPSTREAM;
    }
    return lx_fail(err, LX_ERR_PROTO, "candidates: missing or empty");
}

/* ---- response decode ---------------------------------------------------- */

static lx_part *rs_add(void *ud, lx_part_kind k)
{
    return lx_response_add_part(ud, k);
}

static lx_part *rs_at(void *ud, size_t i)
{
    return &((lx_response *)ud)->parts[i];
}

static size_t rs_count(void *ud)
{
    return ((lx_response *)ud)->n_parts;
}

static lx_status decode_candidate_parts(lx_response *r, const json_t *cand, bool *calls,
                                        lx_error *err)
{
    lx_status s;
    json_t *content = json_object_get(cand, "content");
    if (!content || json_is_null(content))
        return LX_OK;
    if (!json_is_object(content))
        return lx_fail(err, LX_ERR_PROTO, "candidates[0].content: expected an object");
    json_t *parts = json_object_get(content, "parts");
    if (!parts || json_is_null(parts))
        return LX_OK;
    if (!json_is_array(parts))
        return lx_fail(err, LX_ERR_PROTO, "candidates[0].content.parts: expected an array");
    lx_gpart_sink sink = {rs_add, rs_at, rs_count, r};
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        char ctx[96];
        lx_gpart g;
        snprintf(ctx, sizeof ctx, "candidates[0].content.parts[%zu]", i);
        s = lx_gemini_part_decode(r->arena, p, ctx, &g, err);
        if (s == LX_ERR_UNSUPPORTED)
            continue; /* executableCode and friends: nothing neutral to say */
        if (s != LX_OK)
            return lx_gemini_as_proto(s, err);
        if (g.kind == LX_GPART_RESPONSE)
            return lx_fail(err, LX_ERR_PROTO, "%s: functionResponse in a model answer", ctx);
        if (g.kind == LX_GPART_CALL)
            *calls = true;
        if ((s = lx_gemini_part_place(r->arena, &g, &sink)) != LX_OK)
            return s;
    }
    return LX_OK;
}

lx_status lx_gemini_response_decode(const char *body, size_t len, lx_response **out, lx_error *err)
{
    json_t *root = NULL;
    lx_response *r = NULL;
    lx_status s;
    *out = NULL;
    if ((s = lx_json_parse(body, len, true, &root, err)) != LX_OK)
        return lx_gemini_as_proto(s, err);
    json_t *e = json_object_get(root, "error");
    if (json_is_object(e)) {
        lx_gemini_error_fill(e, 0, err);
        s = LX_ERR_UPSTREAM;
        goto fail;
    }
    if (!(r = lx_response_new())) {
        s = LX_ERR_NOMEM;
        goto fail;
    }
    lx_response *resp = r;
    if ((s = lx_json_opt_str(r->arena, root, "responseId", NULL, &resp->id, err)) != LX_OK ||
        (s = lx_json_opt_str(r->arena, root, "modelVersion", NULL, &resp->model, err)) != LX_OK) {
        s = lx_gemini_as_proto(s, err);
        goto fail;
    }
    json_t *cands = json_object_get(root, "candidates");
    if (cands && !json_is_null(cands) && !json_is_array(cands)) {
        s = lx_fail(err, LX_ERR_PROTO, "candidates: expected an array");
        goto fail;
    }
    json_t *cand = json_array_get(cands, 0);
    if (!cand) {
        s = lx_gemini_no_candidates(root, err);
        goto fail;
    }
    if (!json_is_object(cand)) {
        s = lx_fail(err, LX_ERR_PROTO, "candidates[0]: expected an object");
        goto fail;
    }
    bool calls = false;
    if ((s = decode_candidate_parts(r, cand, &calls, err)) != LX_OK)
        goto fail;
    char *fr = NULL;
    if ((s = lx_json_opt_str(r->arena, cand, "finishReason", "candidates[0]", &fr, err)) != LX_OK) {
        s = lx_gemini_as_proto(s, err);
        goto fail;
    }
    r->finish = fr ? lx_gemini_finish_from(fr, calls) : LX_FINISH_NONE;
    json_t *um = json_object_get(root, "usageMetadata");
    if (um && !json_is_null(um)) {
        if ((s = lx_gemini_usage_decode(um, &r->usage, err)) != LX_OK) {
            s = lx_gemini_as_proto(s, err);
            goto fail;
        }
        r->has_usage = true;
    }
    json_decref(root);
    *out = r;
    return LX_OK;
fail:
    json_decref(root);
    lx_response_free(r);
    return s;
}

/* ---- response encode ---------------------------------------------------- */

/* Builds response parts with the signature rule of gemini.h. */
typedef struct {
    json_t *parts;
    char *pending; /* owned copy */
} part_builder;

static bool pb_push(part_builder *b, json_t *p)
{
    if (!p)
        return false;
    if (b->pending) {
        if (json_object_set_new(p, "thoughtSignature", json_string(b->pending)) != 0) {
            json_decref(p);
            return false;
        }
        free(b->pending);
        b->pending = NULL;
    }
    return json_array_append_new(b->parts, p) == 0;
}

static bool pb_flush(part_builder *b)
{
    return !b->pending || pb_push(b, json_pack("{s:s}", "text", ""));
}

static bool pb_thinking(part_builder *b, const char *text, size_t len, const char *sig)
{
    if ((text && len) || sig) {
        if (!pb_flush(b))
            return false;
    }
    if (text && len) {
        json_t *t = json_stringn(text, len);
        if (!t || json_array_append_new(b->parts, json_pack("{s:o, s:b}", "text", t, "thought", 1)))
            return false;
    }
    if (sig && !(b->pending = strdup(sig)))
        return false;
    return true;
}

static json_t *call_part(const char *name, const char *id, const char *args_text, lx_error *err,
                         const char *ctx)
{
    json_t *args = lx_json_object_from_text(args_text, ctx, err);
    if (!args)
        return NULL;
    json_t *fc = json_pack("{s:s, s:o}", "name", name ? name : "", "args", args);
    if (fc && id && json_object_set_new(fc, "id", json_string(id)) != 0) {
        json_decref(fc);
        return NULL;
    }
    return fc ? json_pack("{s:o}", "functionCall", fc) : NULL;
}

/* New reference: the whole GenerateContentResponse around `parts` (stolen). */
static json_t *wrap(json_t *parts, const char *finish, const lx_usage *u, const char *model,
                    const char *id)
{
    json_t *cand = json_pack("{s:{s:s, s:o}}", "content", "role", "model", "parts", parts);
    if (!cand)
        return NULL;
    bool ok = true;
    if (finish)
        ok = json_object_set_new(cand, "finishReason", json_string(finish)) == 0;
    ok = ok && json_object_set_new(cand, "index", json_integer(0)) == 0;
    json_t *root = json_pack("{s:[o]}", "candidates", cand);
    if (!root)
        return NULL;
    if (ok && u)
        ok = json_object_set_new(root, "usageMetadata", usage_encode(u)) == 0;
    if (ok && model)
        ok = json_object_set_new(root, "modelVersion", json_string(model)) == 0;
    if (ok && id)
        ok = json_object_set_new(root, "responseId", json_string(id)) == 0;
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

lx_status lx_gemini_response_encode(const lx_response *r, const lx_codec_opts *o, lx_buf *out,
                                    lx_error *err)
{
    lx_status s = LX_ERR_NOMEM;
    part_builder b = {.parts = json_array()};
    json_t *root = NULL;
    if (!b.parts)
        goto done;
    for (size_t i = 0; i < r->n_parts; i++) {
        const lx_part *p = &r->parts[i];
        char ctx[64];
        bool ok = true;
        switch (p->kind) {
        case LX_PART_TEXT:
            ok = pb_push(&b, json_pack("{s:s}", "text", p->text ? p->text : ""));
            break;
        case LX_PART_THINKING:
            ok = pb_thinking(&b, p->text, p->text ? strlen(p->text) : 0, p->signature);
            break;
        case LX_PART_TOOL_CALL: {
            snprintf(ctx, sizeof ctx, "parts[%zu].arguments", i);
            lx_error e;
            json_t *cp = call_part(p->name, p->id, p->arguments, &e, ctx);
            if (!cp && e.code == LX_ERR_INVALID) {
                s = lx_fail(err, LX_ERR_INVALID, "%s", e.message);
                goto done;
            }
            ok = pb_push(&b, cp);
            break;
        }
        case LX_PART_IMAGE:
            if (p->data)
                ok = pb_push(&b, json_pack("{s:{s:s, s:s}}", "inlineData", "mimeType",
                                           p->media_type ? p->media_type : "image/png", "data",
                                           p->data));
            break;
        case LX_PART_TOOL_RESULT:
            break;
        }
        if (!ok)
            goto done;
    }
    if (!pb_flush(&b))
        goto done;
    if (json_array_size(b.parts) == 0 && !pb_push(&b, json_pack("{s:s}", "text", "")))
        goto done;
    char idbuf[48];
    const char *id = o && o->id ? o->id : r->id;
    if (!id) {
        make_id(idbuf, sizeof idbuf);
        id = idbuf;
    }
    root = wrap(b.parts, finish_to(r->finish), r->has_usage ? &r->usage : NULL,
                r->model ? r->model : (o ? o->model : NULL), id);
    b.parts = NULL;
    if (!root)
        goto done;
    s = lx_json_dump(root, out);
done:
    json_decref(b.parts);
    json_decref(root);
    free(b.pending);
    return s;
}

/* ---- stream encoder ----------------------------------------------------- */

typedef struct {
    int index;
    char *id, *name;
    lx_buf args;
} open_tool;

typedef struct {
    lx_stream_encoder base;
    char id[128];
    char *model;
    char *pending; /* signature for the next part */
    open_tool *tools;
    size_t n_tools, cap_tools;
    lx_usage usage;
    bool has_usage, ended;
} genc;

static lx_status send_chunk(genc *e, json_t *parts, const char *finish, lx_buf *out)
{
    if (!e->id[0])
        make_id(e->id, sizeof e->id);
    json_t *root = wrap(parts, finish, finish && e->has_usage ? &e->usage : NULL, e->model, e->id);
    if (!root)
        return LX_ERR_NOMEM;
    lx_buf tmp;
    lx_buf_init(&tmp, 0);
    lx_status s = lx_json_dump(root, &tmp);
    if (s == LX_OK)
        s = lx_sse_write(out, NULL, tmp.data, tmp.len);
    lx_buf_free(&tmp);
    json_decref(root);
    return s;
}

static open_tool *find_open(genc *e, int index)
{
    for (size_t i = 0; i < e->n_tools; i++)
        if (e->tools[i].index == index)
            return &e->tools[i];
    return NULL;
}

static void drop_open(genc *e, open_tool *t)
{
    free(t->id);
    free(t->name);
    lx_buf_free(&t->args);
    *t = e->tools[--e->n_tools];
}

static lx_status genc_error(genc *e, const lx_error *er, lx_buf *out)
{
    lx_error tmp;
    if (!er) {
        lx_fail(&tmp, LX_ERR_INTERNAL, "stream failed");
        tmp.http_status = 0;
        tmp.type[0] = '\0';
        er = &tmp;
    }
    lx_buf body;
    lx_buf_init(&body, 0);
    lx_status s = lx_codec_gemini.error_encode(er, NULL, &body);
    if (s == LX_OK)
        s = lx_sse_write(out, NULL, body.data, body.len);
    lx_buf_free(&body);
    e->ended = true;
    return s;
}

static lx_status genc_event(lx_stream_encoder *base, const lx_event *ev, lx_buf *out)
{
    genc *e = (genc *)base;
    if (e->ended)
        return LX_ERR_PROTO;
    part_builder b = {.parts = NULL, .pending = e->pending};
    lx_status s = LX_OK;
    switch (ev->kind) {
    case LX_EV_START:
        if (!e->id[0] && ev->id)
            lx_strlcpy(e->id, ev->id, sizeof e->id);
        if (ev->model) { /* the model that answers beats the one asked for */
            char *m = strdup(ev->model);
            if (!m)
                return LX_ERR_NOMEM;
            free(e->model);
            e->model = m;
        }
        return LX_OK;
    case LX_EV_USAGE:
        e->usage = ev->usage;
        e->has_usage = true;
        return LX_OK;
    case LX_EV_ERROR:
        return genc_error(e, ev->error, out);
    case LX_EV_TOOL_START: {
        if (find_open(e, ev->index))
            return LX_ERR_PROTO;
        if (e->n_tools == e->cap_tools) {
            size_t nc = e->cap_tools ? e->cap_tools * 2 : 4;
            open_tool *nt = realloc(e->tools, nc * sizeof *nt);
            if (!nt)
                return LX_ERR_NOMEM;
            e->tools = nt;
            e->cap_tools = nc;
        }
        open_tool *t = &e->tools[e->n_tools++];
        memset(t, 0, sizeof *t);
        t->index = ev->index;
        lx_buf_init(&t->args, 0);
        if ((ev->id && !(t->id = strdup(ev->id))) || !(t->name = strdup(ev->name ? ev->name : "")))
            return LX_ERR_NOMEM;
        return LX_OK;
    }
    case LX_EV_TOOL_ARGS: {
        open_tool *t = find_open(e, ev->index);
        return t ? lx_buf_append(&t->args, ev->text, ev->len) : LX_ERR_PROTO;
    }
    default:
        break;
    }
    if (!(b.parts = json_array()))
        return LX_ERR_NOMEM;
    bool ok = true;
    const char *finish = NULL;
    switch (ev->kind) {
    case LX_EV_TEXT:
        if (ev->len == 0)
            goto skip;
        ok = pb_push(&b, json_pack("{s:o}", "text", json_stringn(ev->text, ev->len)));
        break;
    case LX_EV_THINKING:
        ok = pb_thinking(&b, ev->text, ev->len, ev->signature);
        break;
    case LX_EV_TOOL_END: {
        open_tool *t = find_open(e, ev->index);
        if (!t) {
            s = LX_ERR_PROTO;
            goto skip;
        }
        json_t *cp = call_part(t->name, t->id, t->args.len ? t->args.data : "{}", NULL, NULL);
        drop_open(e, t);
        if (!cp) {
            s = LX_ERR_INVALID; /* the arguments were not a JSON object */
            goto skip;
        }
        ok = pb_push(&b, cp);
        break;
    }
    case LX_EV_FINISH:
        ok = pb_flush(&b);
        if (ok && json_array_size(b.parts) == 0)
            ok = pb_push(&b, json_pack("{s:s}", "text", ""));
        finish = finish_to(ev->finish);
        e->ended = true;
        break;
    default:
        goto skip;
    }
    e->pending = b.pending;
    if (!ok) {
        json_decref(b.parts);
        return LX_ERR_NOMEM;
    }
    if (json_array_size(b.parts) == 0 && !finish) {
        json_decref(b.parts);
        return LX_OK;
    }
    return send_chunk(e, b.parts, finish, out);
skip:
    e->pending = b.pending;
    json_decref(b.parts);
    return s;
}

static void genc_free(lx_stream_encoder *base)
{
    genc *e = (genc *)base;
    if (!e)
        return;
    while (e->n_tools)
        drop_open(e, &e->tools[0]);
    free(e->tools);
    free(e->model);
    free(e->pending);
    free(e);
}

lx_stream_encoder *lx_gemini_stream_encoder_new(const lx_codec_opts *o)
{
    genc *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->base.event = genc_event;
    e->base.free = genc_free;
    if (o && o->id) /* else the START id, else a generated one */
        lx_strlcpy(e->id, o->id, sizeof e->id);
    if (o && o->model && !(e->model = strdup(o->model))) {
        free(e);
        return NULL;
    }
    return &e->base;
}
