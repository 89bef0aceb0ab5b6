/*
 * embeddings.c — POST /v1/embeddings, passed through to a provider that has
 * an embeddings API.
 *
 * The model must name one provider/model (or an alias of one; "auto" cannot
 * choose an embeddings model). Providers of type openai get the caller's
 * body with the bare model name, at {base_url}/embeddings, and their answer
 * is returned as it is; type ollama gets {model, input} at {base_url}/api/embed.
 * Answers are turned into the caller's shape when the provider speaks
 * another (OpenAI list; Ollama {embeddings, prompt_eval_count}; the legacy
 * /api/embeddings {embedding} for {prompt}). Other types: 501 naming the
 * provider and why.
 *
 * Privacy and scope: the key's allowed models apply, and the input text goes
 * through the router first (the same guard as chat). Embeddings cannot be
 * redacted (placeholders change the vectors), so input the guard finds
 * sensitive only goes to a local provider: a remote one gets 403 naming the
 * finding types, and a BLOCK plan is answered with its reason.
 *
 * The upstream call lives on the worker's loop (lx_upstream); a client that
 * disconnects cancels it.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "net/loop.h"
#include "net/upstream.h"
#include "proto/json.h"
#include "server/server_int.h"

#define EMB_MAX_ANSWER ((size_t)64 << 20)

static void fail_with(srv_req *r, int status, lx_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_with(srv_req *r, int status, lx_status code, const char *fmt, ...)
{
    lx_error e = {0};
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    srv_respond_error(r, status, &e);
}

/* Appends every string of `input` (a string, or an array holding strings
 * and token arrays) as user text of q. */
static lx_status input_texts(lx_request *q, const json_t *input)
{
    if (json_is_string(input))
        return lx_request_add_text(q, LX_ROLE_USER, json_string_value(input));
    size_t i;
    const json_t *v;
    json_array_foreach(input, i, v)
    {
        if (json_is_string(v)) {
            lx_status st = lx_request_add_text(q, LX_ROLE_USER, json_string_value(v));
            if (st != LX_OK)
                return st;
        }
    }
    return LX_OK;
}

/* The guard's verdict on the input for provider p / model. true: go on. */
static bool privacy_ok(srv_req *r, const json_t *input, const char *spec, const lx_provider_cfg *p)
{
    srv_gen *g = r->gen;
    lx_error e = {0};
    if (!g->b->svc.router)
        return true;
    if (!g->scratch && lx_route_scratch_new(g->b->svc.router, &g->scratch, &e) != LX_OK) {
        srv_respond_error(r, 500, &e);
        return false;
    }
    lx_request *q = lx_request_new();
    if (!q || input_texts(q, input) != LX_OK || !(q->model = lx_arena_strdup(q->arena, spec))) {
        lx_request_free(q);
        fail_with(r, 500, LX_ERR_NOMEM, "out of memory");
        return false;
    }
    lx_route_input in = {.req = q, .headers = r->hdrs, .n_headers = r->n_hdrs, .key = r->key};
    lx_plan *plan = NULL;
    lx_status st = lx_route(g->b->svc.router, g->scratch, &in, &plan, &e);
    lx_request_free(q);
    if (st != LX_OK) {
        srv_respond_error(r, 0, &e);
        return false;
    }
    bool ok = true;
    if (plan->action == LX_ACTION_BLOCK) {
        lx_error be = plan->block;
        if (be.code == LX_OK)
            lx_fail(&be, LX_ERR_BLOCKED, "the request was refused");
        r->res.target = "none";
        srv_respond_error(r, 0, &be);
        ok = false;
    } else if (plan->sensitive && !p->local && plan->privacy_mode != LX_PRIVACY_OFF) {
        char types[200] = "";
        size_t o = 0;
        for (size_t i = 0; i < plan->n_privacy && o < sizeof types; i++)
            o += (size_t)snprintf(types + o, sizeof types - o, "%s%s", i ? ", " : "",
                                  plan->privacy[i]);
        r->res.target = "none";
        fail_with(r, 403, LX_ERR_BLOCKED,
                  "embeddings input contains %s; it cannot be redacted and provider '%s' is "
                  "remote, so it is not sent",
                  types[0] ? types : "sensitive data", p->name);
        ok = false;
    }
    lx_plan_free(plan);
    return ok;
}

/* ---- the upstream call ---------------------------------------------------- */

static lx_status emb_head(void *ud, const lx_http_head *h)
{
    srv_req *r = ud;
    r->up_status = h->status;
    return LX_OK;
}

static lx_status emb_body(void *ud, const char *data, size_t len)
{
    srv_req *r = ud;
    return lx_buf_append(&r->out, data, len);
}

/* The caller's shape of the answer. */
enum { SHAPE_OPENAI = 0, SHAPE_OLLAMA, SHAPE_OLLAMA_LEGACY };

static void respond_obj(srv_req *r, json_t *o)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    if (o && lx_json_dump(o, &b) == LX_OK)
        srv_respond(r, 200, "application/json", b.data, b.len);
    else
        fail_with(r, 500, LX_ERR_NOMEM, "out of memory");
    lx_buf_free(&b);
    json_decref(o);
}

/* A 2xx answer: vectors and token count out of the provider's shape, into
 * the caller's (the same shape passes through unchanged). */
static void convert_answer(srv_req *r)
{
    int shape = r->emb_shape;
    bool same = (shape == SHAPE_OPENAI && !r->up_ollama) || (shape == SHAPE_OLLAMA && r->up_ollama);
    lx_error e = {0};
    json_t *in = NULL;
    if (lx_json_parse(r->out.data ? r->out.data : "", r->out.len, true, &in, &e) != LX_OK) {
        fail_with(r, 502, LX_ERR_PROTO, "provider '%s': unreadable embeddings answer: %s",
                  r->res.provider ? r->res.provider : "?", e.message);
        return;
    }
    json_t *vecs = json_array();
    json_int_t n;
    size_t i;
    json_t *v;
    if (r->up_ollama) {
        json_array_foreach(json_object_get(in, "embeddings"), i, v) json_array_append(vecs, v);
        n = json_integer_value(json_object_get(in, "prompt_eval_count"));
    } else {
        json_array_foreach(json_object_get(in, "data"), i, v)
            json_array_append(vecs, json_object_get(v, "embedding"));
        n = json_integer_value(json_object_get(json_object_get(in, "usage"), "prompt_tokens"));
    }
    r->res.usage.input = n;
    r->res.have = true;
    if (same) {
        json_decref(vecs);
        json_decref(in);
        srv_respond(r, 200, "application/json", r->out.data, r->out.len);
        return;
    }
    json_t *o = NULL;
    if (shape == SHAPE_OPENAI) {
        json_t *data = json_array();
        json_array_foreach(vecs, i, v)
            json_array_append_new(data, json_pack("{s:s,s:I,s:O}", "object", "embedding", "index",
                                                  (json_int_t)i, "embedding", v));
        o = json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data, "model",
                      r->res.model, "usage", "prompt_tokens", n, "total_tokens", n);
    } else if (shape == SHAPE_OLLAMA) {
        o = json_pack("{s:s,s:O,s:I}", "model", r->res.model, "embeddings", vecs,
                      "prompt_eval_count", n);
    } else {
        json_t *first = json_array_get(vecs, 0);
        o = first ? json_pack("{s:O}", "embedding", first) : json_pack("{s:[]}", "embedding");
    }
    json_decref(vecs);
    json_decref(in);
    respond_obj(r, o);
}

static void emb_done(void *ud, lx_status st, const lx_error *err)
{
    srv_req *r = ud;
    r->call = NULL;
    r->done = true;
    r->res.latency_ms = (int64_t)((srv_now_ns() - r->t0_ns) / 1000000u);
    if (r->cancelled)
        return;
    if (st != LX_OK) {
        lx_error e = err ? *err : (lx_error){0};
        if (e.code == LX_OK)
            e.code = st;
        if (!e.provider[0] && r->res.provider)
            lx_strlcpy(e.provider, r->res.provider, sizeof e.provider);
        srv_respond_error(r, st == LX_ERR_TIMEOUT ? 504 : 502, &e);
    } else if (r->up_status < 200 || r->up_status > 299) {
        if (!r->up_ollama && r->emb_shape == SHAPE_OPENAI) {
            srv_respond(r, r->up_status, "application/json", r->out.data, r->out.len);
        } else {
            lx_error e = {0};
            const lx_codec *c = r->up_ollama ? &lx_codec_ollama : &lx_codec_openai;
            c->error_decode(r->up_status, r->out.data ? r->out.data : "", r->out.len, &e);
            srv_respond_error(r, 0, &e);
        }
    } else {
        convert_answer(r);
    }
    lx_buf_reset(&r->out);
}

void srv_embeddings(srv_req *r)
{
    lx_error e = {0};
    json_t *root = NULL;
    if (lx_json_parse(r->body.data ? r->body.data : "", r->body.len, true, &root, &e) != LX_OK) {
        srv_respond_error(r, 400, &e);
        return;
    }
    r->emb_shape = r->front == &srv_front_openai         ? SHAPE_OPENAI
                   : !strcmp(r->path, "/api/embeddings") ? SHAPE_OLLAMA_LEGACY
                                                         : SHAPE_OLLAMA;
    const char *spec = json_string_value(json_object_get(root, "model"));
    const json_t *input =
        json_object_get(root, r->emb_shape == SHAPE_OLLAMA_LEGACY ? "prompt" : "input");
    if (!spec || !*spec) {
        json_decref(root);
        fail_with(r, 400, LX_ERR_INVALID,
                  "model: required (provider/model of an embeddings model)");
        return;
    }
    if (!input || !(json_is_string(input) || json_is_array(input))) {
        json_decref(root);
        fail_with(r, 400, LX_ERR_INVALID, "%s: expected a string or an array",
                  r->emb_shape == SHAPE_OLLAMA_LEGACY ? "prompt" : "input");
        return;
    }
    const lx_config *cfg = r->gen->b->cfg;
    const lx_provider_cfg *p = NULL;
    const char *model = NULL;
    if (lx_config_resolve(cfg, spec, &p, &model, &e) != LX_OK || !p || !model) {
        json_decref(root);
        if (e.code == LX_OK)
            lx_fail(&e, LX_ERR_NOTFOUND, "model '%.200s' not found", spec);
        e.code = LX_ERR_NOTFOUND;
        srv_respond_error(r, 404, &e);
        return;
    }
    char full[320];
    snprintf(full, sizeof full, "%s/%s", p->name, model);
    r->res.provider = p->name;
    lx_strlcpy(r->res.model, model, sizeof r->res.model);
    r->res.target = p->local ? "local" : "cloud";
    snprintf(r->res.reason, sizeof r->res.reason, "embeddings: requested model %.200s", full);
    if (r->key && !srv_key_allows(r->key, full) && !srv_key_allows(r->key, spec)) {
        json_decref(root);
        fail_with(r, 403, LX_ERR_BLOCKED, "key '%s' may not use model %s", r->key->id, full);
        return;
    }
    if (p->type != LX_PROV_OPENAI && p->type != LX_PROV_OLLAMA) {
        json_decref(root);
        fail_with(r, 501, LX_ERR_UNSUPPORTED,
                  "provider '%s' (type %s) has no embeddings API llmux can call; use a provider "
                  "of type openai or ollama",
                  p->name, lx_provider_type_name(p->type));
        return;
    }
    if (!privacy_ok(r, input, full, p)) {
        json_decref(root);
        return;
    }
    lx_buf url, hdr, body;
    lx_buf_init(&url, 4096);
    lx_buf_init(&hdr, 8192);
    lx_buf_init(&body, 0);
    lx_status st = LX_OK;
    r->up_ollama = p->type == LX_PROV_OLLAMA;
    if (r->up_ollama) {
        json_t *o = json_pack("{s:s,s:O}", "model", model, "input", input);
        st = o ? lx_json_dump(o, &body) : LX_ERR_NOMEM;
        json_decref(o);
        if (st == LX_OK)
            st = lx_buf_printf(&url, "%s/api/embed", p->base_url);
    } else if (r->emb_shape != SHAPE_OPENAI) {
        json_t *o = json_pack("{s:s,s:O}", "model", model, "input", input);
        st = o ? lx_json_dump(o, &body) : LX_ERR_NOMEM;
        json_decref(o);
        if (st == LX_OK)
            st = lx_buf_printf(&url, "%s/embeddings", p->base_url);
    } else {
        json_object_set_new(root, "model", json_string(model));
        st = lx_json_dump(root, &body);
        if (st == LX_OK)
            st = lx_buf_printf(&url, "%s/embeddings", p->base_url);
    }
    json_decref(root);
    if (st == LX_OK)
        st = lx_buf_puts(&hdr, "Content-Type: application/json\n");
    if (st == LX_OK && p->api_key && !r->up_ollama)
        st = lx_buf_printf(&hdr, "Authorization: Bearer %s\n", p->api_key);
    lx_upstream *u = st == LX_OK ? lx_loop_upstream(&r->w->loop.uv, &e) : NULL;
    if (st == LX_OK && u) {
        lx_http_request hr = {.method = "POST",
                              .url = url.data,
                              .headers = hdr.data,
                              .body = body.data,
                              .body_len = body.len,
                              .timeouts = p->timeouts};
        static const lx_http_cbs cbs = {emb_head, emb_body, emb_done};
        lx_buf_reset(&r->out);
        r->out.cap = EMB_MAX_ANSWER;
        st = lx_upstream_start(u, &hr, &cbs, r, &r->call, &e);
    } else if (st == LX_OK) {
        st = e.code != LX_OK ? e.code : LX_ERR_INTERNAL;
    }
    /* the key was in hdr: wipe it */
    if (hdr.data)
        memset(hdr.data, 0, hdr.len);
    lx_buf_free(&url);
    lx_buf_free(&hdr);
    lx_buf_free(&body);
    if (st != LX_OK) {
        if (e.code == LX_OK)
            lx_fail(&e, st, "cannot call provider '%s'", p->name);
        srv_respond_error(r, 502, &e);
        return;
    }
    srv_req_watch(r, true);
}
