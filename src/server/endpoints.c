/*
 * endpoints.c — the routes, the early checks, and the chat path.
 *
 * Chat (OpenAI /v1/chat/completions, Anthropic /v1/messages, Ollama
 * /api/chat and /api/generate) is one path for every dialect: decode with
 * the caller's codec into an lx_request, hand it to the worker's dispatcher
 * with the caller's headers and key, and encode the events that come back
 * with the caller's encoder as they arrive. A streamed reply's headers go
 * out at START (that is when x-llmux-* are known); an error before START is
 * a plain HTTP error in the caller's dialect.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/version.h"
#include "proto/json.h"
#include "proto/ollama.h"
#include "server/metrics.h"
#include "server/server_int.h"

/* ---- dialects ------------------------------------------------------------- */

const srv_front srv_front_openai = {"openai", &lx_codec_openai, NULL, NULL, NULL};
const srv_front srv_front_anthropic = {"anthropic", &lx_codec_anthropic, NULL, NULL, NULL};
const srv_front srv_front_ollama_chat = {"ollama", &lx_codec_ollama, NULL, NULL, NULL};
const srv_front srv_front_ollama_generate = {"ollama", &lx_codec_ollama, lx_ollama_generate_decode,
                                             lx_ollama_generate_response_encode,
                                             lx_ollama_generate_stream_encoder_new};

static lx_status front_decode(const srv_front *f, const char *b, size_t n, lx_request **out,
                              lx_error *e)
{
    return f->decode ? f->decode(b, n, out, e) : f->codec->request_decode(b, n, out, e);
}
static lx_status front_encode(const srv_front *f, const lx_response *r, const lx_codec_opts *o,
                              lx_buf *out, lx_error *e)
{
    return f->encode ? f->encode(r, o, out, e) : f->codec->response_encode(r, o, out, e);
}
static lx_stream_encoder *front_stream(const srv_front *f, const lx_codec_opts *o)
{
    return f->stream_new ? f->stream_new(o) : f->codec->stream_encoder_new(o);
}

// clang-format off
static const srv_route routes[] = {
    {"POST", "/v1/chat/completions", EP_CHAT, &srv_front_openai, true},
    {"POST", "/chat/completions", EP_CHAT, &srv_front_openai, true},
    {"GET", "/v1/models", EP_MODELS, &srv_front_openai, true},
    {"GET", "/models", EP_MODELS, &srv_front_openai, true},
    {"POST", "/v1/embeddings", EP_EMBEDDINGS, &srv_front_openai, true},
    {"POST", "/v1/messages", EP_CHAT, &srv_front_anthropic, true},
    {"POST", "/v1/messages/count_tokens", EP_COUNT_TOKENS, &srv_front_anthropic, true},
    {"POST", "/api/chat", EP_CHAT, &srv_front_ollama_chat, true},
    {"POST", "/api/generate", EP_CHAT, &srv_front_ollama_generate, true},
    {"GET", "/api/tags", EP_TAGS, &srv_front_ollama_chat, true},
    {"GET", "/api/version", EP_VERSION, &srv_front_ollama_chat, false},
    {"POST", "/api/show", EP_SHOW, &srv_front_ollama_chat, true},
    {"POST", "/api/embed", EP_EMBEDDINGS, &srv_front_ollama_chat, true},
    {"POST", "/api/embeddings", EP_EMBEDDINGS, &srv_front_ollama_chat, true},
    {"GET", "/api/ps", EP_PS, &srv_front_ollama_chat, true},
    {"GET", "/", EP_ROOT, &srv_front_ollama_chat, false},
    {"GET", "/healthz", EP_HEALTHZ, &srv_front_openai, false},
    {"GET", "/readyz", EP_READYZ, &srv_front_openai, false},
    {"GET", "/metrics", EP_METRICS, &srv_front_openai, false},
};
// clang-format on

/* The dialect an unknown path's error is written in. */
static const srv_front *front_for_path(const char *path)
{
    if (!strncmp(path, "/api/", 5))
        return &srv_front_ollama_chat;
    if (!strncmp(path, "/v1/messages", 12))
        return &srv_front_anthropic;
    return &srv_front_openai;
}

const srv_route *srv_find_route(const char *method, const char *path, bool *path_known,
                                const srv_front **front)
{
    *path_known = false;
    *front = front_for_path(path);
    bool head = !strcmp(method, "HEAD");
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].path, path))
            continue;
        *path_known = true;
        *front = routes[i].front;
        if (!strcmp(routes[i].method, method) || (head && !strcmp(routes[i].method, "GET")))
            return &routes[i];
    }
    return NULL;
}

/* ---- slots: in-flight limits ------------------------------------------------ */

static bool is_work(srv_ep_kind k)
{
    return k == EP_CHAT || k == EP_COUNT_TOKENS || k == EP_EMBEDDINGS;
}

void srv_req_release_slots(srv_req *r)
{
    srv_server *s = r->w->srv;
    if (r->counted) {
        r->counted = false;
        atomic_fetch_sub(&s->inflight, 1);
        if (s->metrics)
            lx_metrics_inflight(s->metrics, -1);
    }
    if (r->key_counted && r->key_index >= 0) {
        r->key_counted = false;
        atomic_fetch_sub(&r->gen->b->key_inflight[r->key_index], 1);
    }
}

static void observe(srv_req *r, const lx_outcome *o)
{
    srv_server *s = r->w->srv;
    if (r->observed)
        return;
    r->observed = true;
    if (s->metrics && r->front)
        lx_metrics_observe(s->metrics, r->front->name, r->status, o);
}

void srv_observe_cancel(srv_req *r, const lx_outcome *o)
{
    int st = r->status;
    r->status = 499;
    observe(r, o);
    r->status = st;
}

void srv_observe_final(srv_req *r)
{
    /* health checks and scrapes are not traffic */
    if (r->route && (r->route->kind == EP_HEALTHZ || r->route->kind == EP_READYZ ||
                     r->route->kind == EP_METRICS || r->route->kind == EP_ROOT))
        return;
    if (!r->route && r->method && !strcmp(r->method, "OPTIONS"))
        return;
    observe(r, NULL);
}

/* Error before any dispatch (no outcome). */
static void early_error(srv_req *r, int status, lx_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void early_error(srv_req *r, int status, lx_status code, const char *fmt, ...)
{
    lx_error e = {0};
    lx_error_clear(&e);
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    srv_respond_error(r, status, &e);
    observe(r, NULL);
}

static bool json_content_type(const char *ct)
{
    if (!ct || !*ct)
        return true;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    static const char *const ok[] = {"application/json", "application/x-www-form-urlencoded",
                                     "text/plain", "*/*"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strlen(ok[i]) == n && !strncasecmp(ct, ok[i], n))
            return true;
    /* application/<anything>+json */
    return n > 5 && !strncasecmp(ct + n - 5, "+json", 5);
}

/* Browsers send Origin with cross-origin (and all non-GET) requests. With no
 * keys, the gateway spends the owner's provider keys for anyone who can
 * reach it, so a web page elsewhere must not drive it through the browser
 * (CSRF, DNS rebinding): only pages on a loopback host, and non-web schemes
 * (app://, file://, vscode-webview://, ...), are let through. "null" is
 * refused. With keys, a page needs a key anyway: every origin is allowed. */
static bool origin_allowed(const lx_config *cfg, const char *origin)
{
    if (cfg->n_keys)
        return true;
    const char *host;
    if (!strncasecmp(origin, "http://", 7))
        host = origin + 7;
    else if (!strncasecmp(origin, "https://", 8))
        host = origin + 8;
    else
        return strstr(origin, "://") != NULL; /* app://, file://, ... but not "null" */
    size_t n = strcspn(host, ":/");
    if (host[0] == '[')
        n = strcspn(host, "]") + 1;
    static const char *const loop[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < sizeof loop / sizeof loop[0]; i++)
        if (strlen(loop[i]) == n && !strncasecmp(host, loop[i], n))
            return true;
    return false;
}

bool srv_precheck(srv_req *r)
{
    srv_server *s = r->w->srv;
    bool known;
    const srv_front *front;
    r->head = !strcmp(r->method, "HEAD");
    r->route = srv_find_route(r->method, r->path, &known, &front);
    r->front = front;
    const lx_config *cfg = r->gen->b->cfg;
    const char *origin = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "origin");
    if (origin) {
        if (!origin_allowed(cfg, origin)) {
            early_error(r, 403, LX_ERR_BLOCKED,
                        "requests from web pages at %.100s are refused: with no keys configured "
                        "only pages on localhost may call llmux (configure keys to allow others)",
                        origin);
            return true;
        }
        r->cors_origin = origin;
    }
    if (!strcmp(r->method, "OPTIONS")) {
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return false;
        MHD_add_response_header(resp, "Allow", "GET, POST, HEAD, OPTIONS");
        if (origin) {
            MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                    "authorization, content-type, x-api-key, x-goog-api-key, "
                                    "anthropic-version, anthropic-beta, "
                                    "anthropic-dangerous-direct-browser-access, x-llmux-target, "
                                    "x-stainless-os, x-stainless-lang, x-stainless-arch, "
                                    "x-stainless-runtime, x-stainless-runtime-version, "
                                    "x-stainless-package-version, x-stainless-retry-count, "
                                    "x-stainless-timeout");
            MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
        }
        r->resp = resp;
        r->status = 204;
        srv_add_cors(r, resp);
        return true;
    }
    if (!r->route) {
        if (known)
            early_error(r, 405, LX_ERR_INVALID, "method %s is not allowed on %s", r->method,
                        r->path);
        else
            early_error(r, 404, LX_ERR_NOTFOUND, "no such endpoint: %s %s", r->method, r->path);
        return true;
    }
    srv_ep_kind k = r->route->kind;
    if (atomic_load(&s->draining) && k != EP_HEALTHZ && k != EP_READYZ && k != EP_METRICS &&
        k != EP_ROOT) {
        early_error(r, 503, LX_ERR_UNAVAILABLE, "the server is shutting down");
        return true;
    }
    if (r->route->auth && cfg->n_keys) {
        lx_error e = {0};
        if (srv_auth(r, cfg, &r->key, &r->key_index, &e) != LX_OK) {
            srv_respond_error(r, 401, &e);
            observe(r, NULL);
            return true;
        }
    }
    if (!strcmp(r->method, "POST")) {
        const char *ct =
            MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!json_content_type(ct)) {
            early_error(r, 415, LX_ERR_INVALID,
                        "unsupported Content-Type '%.80s': send the body as application/json", ct);
            return true;
        }
        const char *cl =
            MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t max = cfg->server.max_body;
        if (cl && strtoll(cl, NULL, 10) > max) {
            early_error(r, 413, LX_ERR_TOOBIG,
                        "request body of %.20s bytes is larger than server.max_body (%lld bytes)",
                        cl, (long long)max);
            return true;
        }
        r->body.cap = (size_t)max;
    } else {
        r->body.cap = 1; /* GET bodies are not read */
    }
    if (is_work(k)) {
        int n = atomic_fetch_add(&s->inflight, 1);
        r->counted = true;
        if (s->metrics)
            lx_metrics_inflight(s->metrics, 1);
        if (n >= cfg->server.max_streams) {
            early_error(r, 503, LX_ERR_UNAVAILABLE,
                        "too many requests in flight (server.max_streams = %d); retry shortly",
                        cfg->server.max_streams);
            return true;
        }
        if (r->key && r->key->concurrency > 0 && r->key_index >= 0) {
            int kn = atomic_fetch_add(&r->gen->b->key_inflight[r->key_index], 1);
            r->key_counted = true;
            if (kn >= r->key->concurrency) {
                early_error(r, 429, LX_ERR_LIMIT,
                            "key '%s' has %d requests in flight (limits.concurrency = %d)",
                            r->key->id, kn, r->key->concurrency);
                return true;
            }
        }
    }
    return false;
}

/* ---- results -------------------------------------------------------------- */

static void result_from_outcome(srv_req *r, const lx_outcome *o, const char *ev_model)
{
    srv_result *res = &r->res;
    if (!o)
        return;
    res->have = true;
    if (o->plan) {
        res->target = lx_plan_target_kind(o->plan);
        const char *why = lx_plan_reason(o->plan);
        if (why && *why)
            lx_strlcpy(res->reason, why, sizeof res->reason);
    }
    if (o->target) {
        res->provider = o->target->provider ? o->target->provider->name : NULL;
        if (o->target->model)
            lx_strlcpy(res->model, o->target->model, sizeof res->model);
        if (o->target->provider)
            res->target = o->target->local ? "local" : "cloud";
    }
    if (!res->model[0] && ev_model)
        lx_strlcpy(res->model, ev_model, sizeof res->model);
}

static void result_final(srv_req *r, const lx_outcome *o)
{
    if (!o)
        return;
    result_from_outcome(r, o, NULL);
    r->res.usage = o->usage;
    r->res.cost_usd = o->cost_usd;
    r->res.ttft_ms = o->ttft_ms;
    r->res.latency_ms = o->latency_ms;
    r->res.overhead_us = o->overhead_us + r->decode_us;
}

/* ---- chat ----------------------------------------------------------------- */

static lx_status on_event_inner(srv_req *r, const lx_event *ev)
{
    const lx_outcome *o = r->job ? lx_job_outcome(r->job) : NULL;
    lx_status st = LX_OK;
    switch (ev->kind) {
    case LX_EV_START:
        result_from_outcome(r, o, ev->model);
        if (r->streaming) {
            lx_codec_opts co = {.model = r->res.model[0] ? r->res.model : ev->model,
                                .stream = true,
                                .include_usage = r->include_usage,
                                .id = ev->id};
            r->enc = front_stream(r->front, &co);
            if (!r->enc)
                return LX_ERR_NOMEM;
            if ((st = r->enc->event(r->enc, ev, &r->out)) != LX_OK)
                return st;
            r->started = true;
            srv_respond_stream(r, r->front->codec->stream_content_type);
            srv_req_watch(r, true);
            return LX_OK;
        }
        return lx_collector_event(&r->col, ev);
    case LX_EV_FINISH:
    case LX_EV_ERROR:
        break;
    default:
        if (r->streaming) {
            if (!r->enc)
                return LX_OK;
            st = r->enc->event(r->enc, ev, &r->out);
            srv_req_wake(r);
            return st;
        }
        return lx_collector_event(&r->col, ev);
    }

    /* the terminal event: the outcome is valid until we return */
    r->done = true;
    r->job = NULL;
    result_final(r, o);
    if (r->streaming && r->started) {
        if (ev->kind == LX_EV_ERROR && ev->error)
            lx_strlcpy(r->res.error, ev->error->message, sizeof r->res.error);
        st = r->enc->event(r->enc, ev, &r->out);
        r->status = 200;
        observe(r, o);
        srv_req_wake(r);
        return st;
    }
    if (ev->kind == LX_EV_ERROR) {
        lx_error e = {0};
        if (ev->error)
            e = *ev->error;
        else
            lx_fail(&e, LX_ERR_INTERNAL, "the request failed");
        srv_respond_error(r, 0, &e);
        observe(r, o);
        return LX_OK;
    }
    st = lx_collector_event(&r->col, ev);
    lx_response *resp = st == LX_OK ? lx_collector_take(&r->col) : NULL;
    lx_error e = {0};
    lx_error_clear(&e);
    if (!resp) {
        lx_fail(&e, LX_ERR_PROTO, "the answer was incomplete");
        srv_respond_error(r, 502, &e);
        observe(r, o);
        return LX_OK;
    }
    lx_codec_opts co = {.model = r->res.model[0] ? r->res.model : resp->model, .stream = false};
    lx_buf b;
    lx_buf_init(&b, 0);
    if (front_encode(r->front, resp, &co, &b, &e) != LX_OK) {
        srv_respond_error(r, 500, &e);
    } else {
        srv_respond(r, 200, "application/json", b.data, b.len);
    }
    lx_buf_free(&b);
    lx_response_free(resp);
    observe(r, o);
    return LX_OK;
}

/* The dispatcher's sink. Refusing an event (the answer cannot be encoded,
 * or a non-reading client filled r->out to its cap) makes the dispatcher
 * stop and free the job: it is forgotten here, and the caller gets a 502
 * (nothing sent yet) or a cut connection (stream started). */
static lx_status on_event(void *ud, const lx_event *ev)
{
    srv_req *r = ud;
    if (r->cancelled)
        return LX_ERR_CANCELLED;
    lx_status st = on_event_inner(r, ev);
    if (st == LX_OK || r->cancelled)
        return st;
    r->job = NULL;
    r->done = true;
    lx_error e = {0};
    lx_fail(&e, st == LX_ERR_TOOBIG ? LX_ERR_TOOBIG : LX_ERR_INTERNAL,
            st == LX_ERR_TOOBIG ? "the client does not read its stream (16 MiB waiting)"
                                : "the answer could not be encoded (%s)",
            lx_status_name(st));
    if (r->started) { /* a stream must not end as if complete: cut it */
        lx_strlcpy(r->res.error, e.message, sizeof r->res.error);
        r->cancelled = true;
        if (r->conn && r->conn->fd >= 0)
            shutdown(r->conn->fd, SHUT_RDWR);
        if (r->suspended)
            srv_req_wake(r);
        else
            srv_worker_kick(r->w);
    } else if (!r->resp && !r->responded) {
        srv_respond_error(r, 502, &e);
    }
    return st;
}

/* Last user text, for server.log_prompts. */
static void keep_prompt(srv_req *r, const lx_request *q)
{
    for (size_t i = q->n_messages; i-- > 0;) {
        const lx_message *m = &q->messages[i];
        if (m->role != LX_ROLE_USER)
            continue;
        for (size_t j = 0; j < m->n_parts; j++)
            if (m->parts[j].kind == LX_PART_TEXT && m->parts[j].text) {
                lx_strlcpy(r->prompt, m->parts[j].text, sizeof r->prompt);
                return;
            }
    }
}

static void handle_chat(srv_req *r)
{
    lx_error e = {0};
    lx_error_clear(&e);
    lx_request *q = NULL;
    uint64_t t = srv_now_ns();
    lx_status st = front_decode(r->front, r->body.data ? r->body.data : "", r->body.len, &q, &e);
    r->decode_us = (int64_t)(srv_now_ns() - t) / 1000;
    if (st != LX_OK) {
        if (e.code == LX_OK)
            e.code = st;
        srv_respond_error(r, 0, &e);
        observe(r, NULL);
        return;
    }
    r->streaming = q->stream;
    r->include_usage = q->include_usage;
    /* a client that does not read its stream cannot make us hold more than
     * this: the encoder then fails and the job is stopped */
    r->out.cap = (size_t)16 << 20;
    if (r->gen->b->cfg->server.log_prompts)
        keep_prompt(r, q);
    lx_job_opts o = {.headers = r->hdrs,
                     .n_headers = r->n_hdrs,
                     .key = r->key,
                     .front = r->front->name,
                     .stream = q->stream};
    if (!r->streaming) {
        if (lx_collector_init(&r->col) != LX_OK) {
            lx_request_free(q);
            lx_fail(&e, LX_ERR_NOMEM, "out of memory");
            srv_respond_error(r, 500, &e);
            return;
        }
        r->col_init = true;
    }
    lx_job *job = NULL;
    st = lx_dispatch_start_owned(r->gen->d, q, &o, on_event, r, &job, &e); /* takes q */
    if (st != LX_OK) {
        srv_respond_error(r, 0, &e);
        observe(r, NULL);
        return;
    }
    if (!r->done) {
        r->job = job;
        srv_req_watch(r, true);
    }
}

/* ---- count_tokens ----------------------------------------------------------- */

static void handle_count_tokens(srv_req *r)
{
    lx_error e = {0};
    lx_error_clear(&e);
    json_t *root = NULL;
    if (lx_json_parse(r->body.data ? r->body.data : "", r->body.len, true, &root, &e) != LX_OK) {
        srv_respond_error(r, 400, &e);
        return;
    }
    /* count_tokens bodies have no max_tokens; the decoder wants one */
    if (!json_object_get(root, "max_tokens"))
        json_object_set_new(root, "max_tokens", json_integer(1));
    json_object_del(root, "stream");
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_request *q = NULL;
    lx_status st = lx_json_dump(root, &b);
    json_decref(root);
    if (st == LX_OK)
        st = lx_codec_anthropic.request_decode(b.data, b.len, &q, &e);
    lx_buf_free(&b);
    if (st != LX_OK) {
        if (e.code == LX_OK)
            e.code = st;
        srv_respond_error(r, 0, &e);
        return;
    }
    srv_gen *g = r->gen;
    if (!g->scratch && lx_route_scratch_new(g->b->svc.router, &g->scratch, &e) != LX_OK) {
        lx_request_free(q);
        srv_respond_error(r, 500, &e);
        return;
    }
    lx_route_input in = {.req = q, .headers = r->hdrs, .n_headers = r->n_hdrs, .key = r->key};
    lx_plan *plan = NULL;
    st = lx_route(g->b->svc.router, g->scratch, &in, &plan, &e);
    if (st != LX_OK) {
        lx_request_free(q);
        srv_respond_error(r, 0, &e);
        return;
    }
    r->res.target = NULL;
    if (plan->n_targets) {
        const lx_target *t = &plan->targets[0];
        r->res.target = t->local ? "local" : "cloud";
        r->res.provider = t->provider ? t->provider->name : NULL;
        lx_strlcpy(r->res.model, t->model ? t->model : "", sizeof r->res.model);
        const char *why = lx_plan_reason(plan);
        lx_strlcpy(r->res.reason, why ? why : "", sizeof r->res.reason);
        char body[64];
        int n = snprintf(body, sizeof body, "{\"input_tokens\":%lld}", (long long)t->prompt_tokens);
        srv_respond(r, 200, "application/json", body, (size_t)n);
    } else {
        lx_error be = plan->block;
        if (be.code == LX_OK)
            lx_fail(&be, LX_ERR_UNAVAILABLE, "no target can take this request");
        srv_respond_error(r, 0, &be);
    }
    lx_plan_free(plan);
    lx_request_free(q); /* plan targets may point into the request (model names) */
}

/* ---- the small ones ------------------------------------------------------------ */

static void respond_json(srv_req *r, int status, const char *s)
{
    srv_respond(r, status, "application/json", s, strlen(s));
}

void srv_handle(srv_req *r)
{
    srv_server *s = r->w->srv;
    if (!r->route) { /* only when an early answer could not be made */
        early_error(r, 500, LX_ERR_NOMEM, "out of memory");
        return;
    }
    switch (r->route->kind) {
    case EP_CHAT:
        handle_chat(r);
        return;
    case EP_COUNT_TOKENS:
        handle_count_tokens(r);
        return;
    case EP_EMBEDDINGS:
        srv_embeddings(r);
        return;
    case EP_MODELS:
        srv_list_models(
            r, MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "anthropic-version") != NULL);
        return;
    case EP_TAGS:
        srv_ollama_tags(r);
        return;
    case EP_SHOW:
        srv_ollama_show(r);
        return;
    case EP_ROOT: /* what Ollama answers: clients probe it */
        srv_respond(r, 200, "text/plain; charset=utf-8", "llmux is running", 16);
        return;
    case EP_PS: /* no model is "loaded" the Ollama way */
        respond_json(r, 200, "{\"models\":[]}");
        return;
    case EP_VERSION:
        respond_json(r, 200, "{\"version\":\"" LX_VERSION "\"}");
        return;
    case EP_HEALTHZ:
        respond_json(r, 200, "{\"status\":\"ok\"}");
        return;
    case EP_READYZ:
        if (atomic_load(&s->draining))
            respond_json(r, 503, "{\"status\":\"draining\"}");
        else if (!atomic_load(&s->ready))
            respond_json(r, 503, "{\"status\":\"starting\"}");
        else
            respond_json(r, 200, "{\"status\":\"ready\"}");
        return;
    case EP_METRICS: {
        lx_buf b;
        lx_buf_init(&b, 0);
        lx_metrics_collect(s->metrics, &r->gen->b->svc); /* ledger, cache, breakers */
        if (s->metrics && lx_metrics_render(s->metrics, &b) == LX_OK)
            srv_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
        else
            srv_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", "", 0);
        lx_buf_free(&b);
        return;
    }
    case EP_NONE:
        break;
    }
    early_error(r, 404, LX_ERR_NOTFOUND, "no such endpoint: %s", r->path);
}
