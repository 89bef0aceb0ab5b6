/*
 * Remote provider: a hosted API or a local server reached over HTTP.
 *
 * One call = encode the neutral request with the provider's codec, send it
 * with the loop's upstream client, and turn the answer into events:
 *   2xx + a stream content type (SSE / NDJSON): bytes go through the codec's
 *       stream decoder as they arrive, so each token reaches the sink at once;
 *   2xx + a whole JSON body (asked for, or a server that ignored "stream"):
 *       decoded at the end and replayed as events;
 *   anything else: the body (capped) is read and decoded as the dialect's
 *       error, giving an ERROR event with HTTP status, type and message.
 *
 * Re-entrancy: the sink may cancel the call from inside an event. Every entry
 * from the upstream client marks the call busy; a cancel during that time
 * only flags it, and the call is freed when control returns here.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "net/loop.h"
#include "proto/codec.h"
#include "provider/provider.h"

#define ERROR_BODY_CAP ((size_t)64 << 10)
#define WHOLE_BODY_CAP ((size_t)64 << 20)

typedef struct remote_call remote_call;

typedef struct remote_provider {
    lx_provider base;
    const lx_codec *codec;
    remote_call *live; /* calls not yet freed (a call outlives its terminal
                          event until its transfer is done); destroy ends them */
} remote_provider;

struct remote_call {
    lx_call base;
    remote_provider *p;
    remote_call *prev, *next;
    lx_http_call *http;
    lx_stream_decoder *dec;
    lx_buf body;
    int status;
    int64_t retry_after_ms; /* from the response's Retry-After; 0 = none */
    bool want_stream;
    bool whole;         /* the body is a whole JSON answer */
    bool terminal;      /* FINISH or ERROR delivered */
    bool stopped;       /* the sink refused an event: deliver nothing more */
    bool cancelled;
    int busy;
    lx_event_fn sink;
    void *ud;
};

static void call_free(remote_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (c->p->live == c)
        c->p->live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->dec)
        c->dec->free(c->dec);
    lx_buf_free(&c->body);
    free(c);
}

/* Forwards an event to the caller's sink, tracking the terminal event. */
static lx_status deliver(void *ud, const lx_event *ev)
{
    remote_call *c = ud;
    if (c->stopped || c->cancelled || c->terminal)
        return LX_ERR_CANCELLED;
    if (ev->kind == LX_EV_FINISH || ev->kind == LX_EV_ERROR)
        c->terminal = true;
    lx_status st = c->sink(c->ud, ev);
    if (st != LX_OK || c->cancelled) {
        c->stopped = true;
        return st != LX_OK ? st : LX_ERR_CANCELLED;
    }
    return LX_OK;
}

static void deliver_error(remote_call *c, lx_error *e)
{
    if (c->terminal || c->stopped || c->cancelled)
        return;
    lx_strlcpy(e->provider, c->p->base.cfg->name, sizeof e->provider);
    if (e->retry_after_ms <= 0 && c->retry_after_ms > 0)
        e->retry_after_ms = c->retry_after_ms;
    if (e->code == LX_OK)
        e->code = LX_ERR_INTERNAL;
    lx_event ev = {.kind = LX_EV_ERROR, .error = e};
    deliver(c, &ev);
}

static bool is_stream_type(const char *ct)
{
    return strncasecmp(ct, "text/event-stream", 17) == 0 ||
           strncasecmp(ct, "application/x-ndjson", 20) == 0 ||
           strncasecmp(ct, "application/jsonl", 17) == 0;
}

static lx_status on_head(void *ud, const lx_http_head *h)
{
    remote_call *c = ud;
    c->status = h->status;
    c->retry_after_ms = h->retry_after_ms > 0 ? h->retry_after_ms : 0;
    if (h->status < 200 || h->status >= 300) {
        c->body.cap = ERROR_BODY_CAP;
        return LX_OK;
    }
    /* A server may answer a stream request with one JSON body, and Ollama
     * streams NDJSON under application/json in some versions: trust the
     * content type for SSE/NDJSON, else what we asked for, except that a
     * plain JSON answer to a non-Ollama stream request is taken whole. */
    bool stream = c->want_stream;
    if (is_stream_type(h->content_type))
        stream = true;
    else if (strncasecmp(h->content_type, "application/json", 16) == 0 &&
             c->p->base.cfg->type != LX_PROV_OLLAMA)
        stream = false;
    if (stream) {
        c->dec = c->p->codec->stream_decoder_new(deliver, c);
        if (!c->dec)
            return LX_ERR_NOMEM;
    } else {
        c->whole = true;
        c->body.cap = WHOLE_BODY_CAP;
    }
    return LX_OK;
}

static lx_status on_body(void *ud, const char *data, size_t len)
{
    remote_call *c = ud;
    lx_status st = LX_OK;
    c->busy++;
    if (c->status < 200 || c->status >= 300) {
        /* keep the start of an error body; the rest is not needed */
        size_t room = c->body.cap > c->body.len ? c->body.cap - c->body.len : 0;
        if (room)
            lx_buf_append(&c->body, data, len < room ? len : room);
    } else if (c->dec) {
        lx_error e;
        lx_error_clear(&e);
        st = c->dec->feed(c->dec, data, len, &e);
        if (st != LX_OK && !c->stopped && !c->cancelled) {
            if (e.code == LX_OK)
                lx_fail(&e, st, "stream decoding failed");
            deliver_error(c, &e);
        }
    } else if (lx_buf_append(&c->body, data, len) != LX_OK) {
        lx_error e;
        lx_fail(&e, LX_ERR_TOOBIG, "answer larger than %zu bytes", c->body.cap);
        deliver_error(c, &e);
        st = LX_ERR_TOOBIG;
    }
    c->busy--;
    if (c->cancelled) {
        call_free(c); /* the HTTP transfer was cancelled with it */
        return LX_ERR_CANCELLED;
    }
    return st;
}

static void on_done(void *ud, lx_status st, const lx_error *err)
{
    remote_call *c = ud;
    c->busy++;
    c->http = NULL; /* freed by the upstream client after this returns */
    lx_error e;
    lx_error_clear(&e);
    if (c->terminal || c->stopped) {
        /* already told the caller */
    } else if (st != LX_OK) {
        if (err)
            e = *err;
        else
            lx_fail(&e, st, "transfer failed (%s)", lx_status_name(st));
        e.code = st;
        deliver_error(c, &e);
    } else if (c->status < 200 || c->status >= 300) {
        c->p->codec->error_decode(c->status, c->body.data ? c->body.data : "", c->body.len, &e);
        e.code = LX_ERR_UPSTREAM;
        e.http_status = c->status;
        deliver_error(c, &e);
    } else if (c->dec) {
        lx_status fs = c->dec->finish(c->dec, &e);
        if (fs != LX_OK && !c->stopped && !c->cancelled) {
            if (e.code == LX_OK)
                e.code = fs;
            deliver_error(c, &e);
        } else if (!c->terminal && !c->stopped && !c->cancelled) {
            lx_fail(&e, LX_ERR_PROTO, "stream ended without a final event");
            deliver_error(c, &e);
        }
    } else {
        lx_response *r = NULL;
        lx_status ds = c->p->codec->response_decode(c->body.data ? c->body.data : "", c->body.len,
                                                     &r, &e);
        if (ds != LX_OK) {
            if (e.code == LX_OK)
                e.code = ds;
            deliver_error(c, &e);
        } else {
            lx_response_replay(r, deliver, c);
            lx_response_free(r);
        }
    }
    c->busy--;
    call_free(c);
}

static const lx_http_cbs http_cbs = {on_head, on_body, on_done};

/* Context window to ask Ollama for when the config sets none: enough for
 * this request (text bytes / 3 is a deliberately high token estimate, plus
 * the answer) rounded up to 2048, at least 4096, at most the model's window.
 * Asking for the model's full window would make Ollama allocate a cache of
 * that size (128k tokens for Llama 3.x) on every load. */
static int64_t ollama_num_ctx(const lx_request *req, const lx_model_info *mi)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < req->n_messages; i++)
        for (size_t j = 0; j < req->messages[i].n_parts; j++) {
            const lx_part *p = &req->messages[i].parts[j];
            const char *fields[] = {p->text, p->arguments, p->name};
            for (size_t k = 0; k < 3; k++)
                if (fields[k])
                    bytes += strlen(fields[k]);
            if (p->data)
                bytes += 1024; /* an image: a few hundred tokens in most vision models */
        }
    for (size_t i = 0; i < req->n_tools; i++)
        bytes += (req->tools[i].description ? strlen(req->tools[i].description) : 0) +
                 (req->tools[i].parameters ? strlen(req->tools[i].parameters) : 0) + 32;
    int64_t want = (int64_t)(bytes / 3) + 256 +
                   (req->sampling.max_tokens > 0 ? req->sampling.max_tokens : 2048);
    int64_t n = (want + 2047) / 2048 * 2048;
    if (n < 4096)
        n = 4096;
    if (mi && mi->context > 0 && n > mi->context)
        n = mi->context;
    return n;
}

static int64_t pick(int64_t a, int64_t b)
{
    return a > 0 ? a : b;
}

static lx_status remote_start(lx_provider *base, const lx_request *req, const lx_call_opts *o,
                              lx_event_fn sink, void *ud, lx_call **out, lx_error *err)
{
    remote_provider *p = (remote_provider *)base;
    const lx_provider_cfg *cfg = base->cfg;
    lx_status st;
    *out = NULL;
    lx_error_clear(err);
    lx_upstream *up = lx_loop_upstream(base->loop, err);
    if (!up)
        return err ? err->code : LX_ERR_INTERNAL;

    const lx_model_info *mi = lx_catalogue_find(base->config, o->model);
    lx_codec_opts co = {
        .model = o->model,
        .stream = o->stream,
        .include_usage = true,
        .num_ctx = cfg->num_ctx > 0 ? cfg->num_ctx : ollama_num_ctx(req, mi),
        .default_max_tokens = mi && mi->max_output > 0 ? mi->max_output : 4096,
        .base_url = cfg->base_url,
        .api_key = cfg->api_key,
    };
    remote_call *c = calloc(1, sizeof *c);
    if (!c)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    c->base.provider = base;
    c->p = p;
    c->sink = sink;
    c->ud = ud;
    c->want_stream = o->stream;
    lx_buf_init(&c->body, WHOLE_BODY_CAP);

    lx_buf url, headers, body;
    lx_buf_init(&url, 8192);
    lx_buf_init(&headers, 64 << 10);
    lx_buf_init(&body, 0);
    if ((st = p->codec->request_encode(req, &co, &body, err)) != LX_OK)
        goto fail;
    if ((st = p->codec->http_prepare(&co, &url, &headers, err)) != LX_OK)
        goto fail;
    lx_http_request hr = {
        .method = "POST",
        .url = url.data,
        .headers = headers.data,
        .body = body.data ? body.data : "",
        .body_len = body.len,
        .timeouts = {
            .connect_ms = pick(o->timeouts.connect_ms, cfg->timeouts.connect_ms),
            .first_byte_ms = pick(o->timeouts.first_byte_ms, cfg->timeouts.first_byte_ms),
            .idle_ms = pick(o->timeouts.idle_ms, cfg->timeouts.idle_ms),
            .total_ms = pick(o->timeouts.total_ms, cfg->timeouts.total_ms),
        },
    };
    if ((st = lx_upstream_start(up, &hr, &http_cbs, c, &c->http, err)) != LX_OK)
        goto fail;
    c->next = p->live;
    if (p->live)
        p->live->prev = c;
    p->live = c;
    LX_DEBUG("%s: POST %s (%zu bytes)", cfg->name, url.data, body.len);
    if (o->bytes_out)
        *o->bytes_out += (int64_t)body.len;
    lx_buf_free(&url);
    lx_buf_free(&headers);
    lx_buf_free(&body);
    *out = &c->base;
    return LX_OK;
fail:
    if (err && err->provider[0] == '\0')
        lx_strlcpy(err->provider, cfg->name, sizeof err->provider);
    lx_buf_free(&url);
    lx_buf_free(&headers);
    lx_buf_free(&body);
    call_free(c);
    return st;
}

static void remote_cancel(lx_call *base)
{
    remote_call *c = (remote_call *)base;
    if (c->cancelled)
        return;
    c->cancelled = true;
    if (c->http) {
        lx_http_call_cancel(c->http);
        c->http = NULL;
    }
    if (!c->busy)
        call_free(c);
}

static void remote_destroy(lx_provider *base)
{
    remote_provider *p = (remote_provider *)base;
    while (p->live) {
        remote_call *c = p->live;
        if (c->http) {
            lx_http_call_cancel(c->http);
            c->http = NULL;
        }
        call_free(c); /* unlinks it */
    }
    free(p);
}

static const lx_provider_ops remote_ops = {remote_start, remote_cancel, remote_destroy};

lx_status lx_remote_provider_new(const lx_config *config, const lx_provider_cfg *cfg,
                                 uv_loop_t *loop, lx_provider **out, lx_error *err)
{
    *out = NULL;
    const char *dialect = lx_provider_type_name(cfg->type);
    const lx_codec *codec = lx_codec_find(dialect);
    if (!codec)
        return lx_fail(err, LX_ERR_UNSUPPORTED, "provider %s: no codec for type %s", cfg->name,
                       dialect);
    remote_provider *p = calloc(1, sizeof *p);
    if (!p)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    p->base.ops = &remote_ops;
    p->base.cfg = cfg;
    p->base.config = config;
    p->base.loop = loop;
    p->codec = codec;
    *out = &p->base;
    return LX_OK;
}
