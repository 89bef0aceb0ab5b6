/*
 * local.c — the embedded engine as a provider (`type: local`, cfg->model).
 *
 * One call = one worker thread + one engine session:
 *
 *   loop thread                          worker thread
 *   start: clone request, uv_async_init,
 *          pthread_create          --->  render the chat template (or the
 *                                        plain fallback), tokenize, generate
 *                                        on_token: text -> queue (mutex),
 *   async_cb: drain queue, emit    <---  uv_async_send
 *     START once, TEXT per drain         end: result -> queue, uv_async_send
 *     at the end: USAGE, FINISH / ERROR
 *     then join the worker, uv_close
 *     the async handle, free the call
 *
 * The loop never waits on inference: the only blocking join happens after
 * the worker has said it is done (or in destroy, at shutdown).
 * lx_call_cancel (and a sink refusing an event) sets the cancel flag, which
 * the engine checks before every token; no event is delivered after that,
 * and the call frees itself once the worker has stopped.
 *
 * Prompt: the model's chat template (template.h) when the GGUF has one,
 * encoded with special tokens parsed; otherwise (base models such as
 * stories260K) the plain fallback: the messages' text joined by blank
 * lines, no roles, BOS added as the model asks.
 *
 * Prompt cache: the session of the last successful call is kept; a new
 * call whose tokens start with what that session holds (the same system
 * prompt, the earlier turns of a conversation) evaluates only the rest.
 * USAGE reports those tokens as cache_read and the others as input.
 *
 * TEXT events carry n_tokens (tokens generated since the last TEXT event,
 * including ones whose text was held back) and logprob (the sum of their
 * natural-log probabilities, from the sampler), for the cascade validator.
 *
 * Sampling from the request: temperature default 0.8 (0 = greedy), top_p
 * default 0.95, top_k default 40, min_p 0.05, seed default from the clock,
 * stop strings as given. max_tokens unset: up to the end of the context
 * (finish "length"); a max_tokens that cannot fit after the prompt is an
 * error naming the context size, as is a prompt that does not fit.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "engine/engine.h"
#include "engine/template.h"
#include "engine/tokenizer.h"
#include "provider/provider.h"

typedef struct local_call local_call;

typedef struct local_provider {
    lx_provider base;
    lx_engine *engine;
    pthread_mutex_t mu; /* guards tmpl / tmpl_tried / idle */
    lx_template *tmpl;
    bool tmpl_tried;
    lx_session *idle;  /* the last finished call's session: its cache is reused */
    local_call *calls; /* active calls (loop thread only) */
    uint64_t next_id;
} local_provider;

struct local_call {
    lx_call base;
    local_provider *lp;
    local_call *next, *prev;
    lx_event_fn sink;
    void *ud;
    lx_request *req; /* owned clone, used by the worker */
    char model[128];
    char id[48];
    uv_async_t async;
    pthread_t th;
    bool th_started;
    atomic_bool cancel;
    /* loop-thread state */
    bool cancelled; /* caller gone: deliver nothing more */
    bool started;   /* START emitted */
    bool finalized;
    /* shared with the worker, under mu */
    pthread_mutex_t mu;
    lx_buf text;
    int text_tokens;     /* tokens behind `text` not delivered yet */
    double text_logprob; /* and the sum of their log-probabilities */
    bool done;
    lx_status st;
    lx_error err;
    lx_usage usage;
    lx_finish finish;
    int stop_index;
};

static const lx_provider_ops local_ops;

/* ---- worker ------------------------------------------------------------- */

static const lx_template *get_template(local_provider *lp)
{
    pthread_mutex_lock(&lp->mu);
    if (!lp->tmpl_tried) {
        lp->tmpl_tried = true;
        const lx_gguf *g = lx_engine_gguf(lp->engine);
        lx_error e;
        if (g && lx_template_from_gguf(g, &lp->tmpl, &e) != LX_OK) {
            lp->tmpl = NULL;
            LX_INFO("local provider '%s': no chat template (%s); using the plain prompt",
                    lp->base.cfg->name, e.message);
        }
    }
    const lx_template *t = lp->tmpl;
    pthread_mutex_unlock(&lp->mu);
    return t;
}

static lx_status on_token(void *ud, const lx_gen_token *t)
{
    local_call *c = ud;
    if (atomic_load(&c->cancel))
        return LX_ERR_CANCELLED;
    pthread_mutex_lock(&c->mu);
    lx_status st = t->len ? lx_buf_append(&c->text, t->text, t->len) : LX_OK;
    if (t->id >= 0) {
        c->usage.output++;
        c->text_tokens++;
        c->text_logprob += t->logprob;
    }
    pthread_mutex_unlock(&c->mu);
    if (st != LX_OK)
        return st;
    if (t->len)
        uv_async_send(&c->async);
    return LX_OK;
}

static void *worker(void *arg)
{
    local_call *c = arg;
    local_provider *lp = c->lp;
    const lx_request *req = c->req;
    lx_error err;
    lx_error_clear(&err);
    lx_session *s = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    lx_buf prompt;
    lx_buf_init(&prompt, 16u << 20);
    lx_gen_result res = {.finish = LX_FINISH_NONE, .stop_index = -1};

    lx_status st = lx_engine_load(lp->engine, &err);
    if (st != LX_OK)
        goto end;
    const lx_template *tm = get_template(lp);
    if (tm)
        st = lx_template_render(tm, req, true, &prompt, &err);
    else
        st = lx_template_render_plain(req, &prompt, &err);
    if (st != LX_OK)
        goto end;
    st = lx_engine_tokenize(lp->engine, prompt.data ? prompt.data : "", prompt.len, true,
                            tm != NULL, &ids, &n_ids, &err);
    if (st != LX_OK)
        goto end;
    if (n_ids == 0) {
        st = lx_fail(&err, LX_ERR_INVALID, "empty prompt: the request has no text");
        goto end;
    }
    pthread_mutex_lock(&lp->mu);
    s = lp->idle;
    lp->idle = NULL;
    pthread_mutex_unlock(&lp->mu);
    if (!s && (st = lx_session_new(lp->engine, 0, &s, &err)) != LX_OK)
        goto end;
    /* prompt cache: keep the longest prefix the session already holds (at
     * least one prompt token is evaluated, for the first logits) */
    int held;
    const int32_t *have = lx_session_tokens(s, &held);
    size_t common = 0;
    while (common < (size_t)held && common + 1 < n_ids && have[common] == ids[common])
        common++;
    lx_session_truncate(s, (int)common);
    int n_ctx = lx_session_n_ctx(s);
    if (n_ids > (size_t)n_ctx) {
        st = lx_fail(&err, LX_ERR_TOOBIG,
                     "the prompt has %zu tokens, more than the model's context of %d tokens", n_ids,
                     n_ctx);
        goto end;
    }
    const lx_sampling *sp = &req->sampling;
    lx_gen_params gp = lx_gen_defaults();
    if (sp->has_temperature)
        gp.sample.temperature = sp->temperature > 0 ? (float)sp->temperature : 0.0f;
    if (sp->has_top_p)
        gp.sample.top_p = (float)sp->top_p;
    if (sp->has_top_k)
        gp.sample.top_k = sp->top_k;
    if (sp->has_seed)
        gp.sample.seed = (uint64_t)sp->seed;
    int room = n_ctx - (int)n_ids;
    if (sp->max_tokens > 0) {
        if (sp->max_tokens > room) {
            st = lx_fail(&err, LX_ERR_TOOBIG,
                         "max_tokens %lld does not fit: the prompt has %zu tokens and the "
                         "model's context is %d tokens (at most %d can be generated)",
                         (long long)sp->max_tokens, n_ids, n_ctx, room);
            goto end;
        }
        gp.max_tokens = (int)sp->max_tokens;
    } else {
        gp.max_tokens = room;
    }
    gp.stop = (const char *const *)sp->stop;
    gp.n_stop = sp->n_stop;
    gp.logprobs = true; /* TEXT events carry them (the cascade validator) */
    gp.cancel = &c->cancel;
    gp.on_token = on_token;
    gp.ud = c;
    pthread_mutex_lock(&c->mu);
    c->usage.input = (int64_t)(n_ids - common);
    c->usage.cache_read = (int64_t)common;
    pthread_mutex_unlock(&c->mu);
    st = lx_session_generate(s, ids + common, n_ids - common, &gp, &res, &err);
    if (st == LX_OK && res.finish == LX_FINISH_OTHER && atomic_load(&c->cancel))
        st = lx_fail(&err, LX_ERR_CANCELLED, "cancelled");
end:
    if (s && st == LX_OK) { /* keep it for the next call's prompt cache */
        pthread_mutex_lock(&lp->mu);
        if (!lp->idle) {
            lp->idle = s;
            s = NULL;
        }
        pthread_mutex_unlock(&lp->mu);
    }
    lx_session_free(s);
    free(ids);
    lx_buf_free(&prompt);
    pthread_mutex_lock(&c->mu);
    c->st = st;
    c->err = err;
    c->finish = res.finish == LX_FINISH_NONE ? LX_FINISH_STOP : res.finish;
    c->stop_index = res.stop_index;
    c->done = true;
    pthread_mutex_unlock(&c->mu);
    uv_async_send(&c->async);
    return NULL;
}

/* ---- loop side ---------------------------------------------------------- */

static void free_call_cb(uv_handle_t *h)
{
    local_call *c = h->data;
    lx_request_free(c->req);
    lx_buf_free(&c->text);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The worker is done (or being stopped): join it, unlink, close. */
static void finalize(local_call *c)
{
    if (c->finalized)
        return;
    c->finalized = true;
    if (c->th_started)
        pthread_join(c->th, NULL);
    c->th_started = false;
    if (c->lp) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->lp->calls = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    uv_close((uv_handle_t *)&c->async, free_call_cb);
}

static bool deliver(local_call *c, const lx_event *ev)
{
    if (c->cancelled)
        return false;
    if (c->sink(c->ud, ev) != LX_OK) {
        c->cancelled = true;
        atomic_store(&c->cancel, true);
        return false;
    }
    return true;
}

static void async_cb(uv_async_t *h)
{
    local_call *c = h->data;
    if (c->finalized)
        return;
    pthread_mutex_lock(&c->mu);
    bool done = c->done;
    char *text = NULL;
    size_t len = 0;
    int n_tokens = 0;
    double logprob = 0;
    if (c->text.len) {
        text = lx_buf_steal(&c->text, &len);
        n_tokens = c->text_tokens; /* tokens with no text yet ride on later text */
        logprob = c->text_logprob;
        c->text_tokens = 0;
        c->text_logprob = 0;
    }
    lx_usage usage = c->usage;
    pthread_mutex_unlock(&c->mu);

    if (!c->cancelled && !c->started) {
        c->started = true;
        lx_event ev = {.kind = LX_EV_START, .id = c->id, .model = c->model};
        deliver(c, &ev);
    }
    if (text && len) {
        lx_event ev = {
            .kind = LX_EV_TEXT, .text = text, .len = len, .n_tokens = n_tokens, .logprob = logprob};
        deliver(c, &ev);
    }
    free(text);
    if (!done)
        return;
    if (c->st != LX_OK) {
        lx_error e = c->err;
        if (!e.message[0])
            lx_fail(&e, c->st, "engine error (%s)", lx_status_name(c->st));
        e.code = c->st;
        lx_strlcpy(e.provider, c->lp ? c->lp->base.cfg->name : "local", sizeof e.provider);
        lx_event ev = {.kind = LX_EV_ERROR, .error = &e};
        deliver(c, &ev);
    } else {
        lx_event ue = {.kind = LX_EV_USAGE, .usage = usage};
        if (deliver(c, &ue)) {
            const char *stop = NULL;
            if (c->stop_index >= 0 && (size_t)c->stop_index < c->req->sampling.n_stop)
                stop = c->req->sampling.stop[c->stop_index];
            lx_event fe = {.kind = LX_EV_FINISH,
                           .finish = c->finish,
                           .text = stop,
                           .len = stop ? strlen(stop) : 0};
            deliver(c, &fe);
        }
    }
    finalize(c);
}

static lx_status local_start(lx_provider *p, const lx_request *req, const lx_call_opts *o,
                             lx_event_fn sink, void *ud, lx_call **out, lx_error *err)
{
    local_provider *lp = (local_provider *)p;
    *out = NULL;
    local_call *c = calloc(1, sizeof *c);
    if (!c)
        return lx_fail(err, LX_ERR_NOMEM, "local: out of memory");
    c->base.provider = p;
    c->lp = lp;
    c->sink = sink;
    c->ud = ud;
    c->stop_index = -1;
    atomic_init(&c->cancel, false);
    pthread_mutex_init(&c->mu, NULL);
    lx_buf_init(&c->text, 0);
    snprintf(c->model, sizeof c->model, "%s",
             o && o->model && *o->model ? o->model
             : p->cfg->n_models         ? p->cfg->models[0]
                                        : p->cfg->name);
    snprintf(c->id, sizeof c->id, "local-%llu", (unsigned long long)++lp->next_id);
    c->req = lx_request_clone(req);
    if (!c->req) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return lx_fail(err, LX_ERR_NOMEM, "local: out of memory");
    }
    if (uv_async_init(p->loop, &c->async, async_cb) != 0) {
        lx_request_free(c->req);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return lx_fail(err, LX_ERR_INTERNAL, "local: uv_async_init failed");
    }
    c->async.data = c;
    if (pthread_create(&c->th, NULL, worker, c) != 0) {
        c->finalized = true;
        uv_close((uv_handle_t *)&c->async, free_call_cb);
        return lx_fail(err, LX_ERR_INTERNAL, "local: cannot start the engine thread");
    }
    c->th_started = true;
    c->next = lp->calls;
    if (lp->calls)
        lp->calls->prev = c;
    lp->calls = c;
    *out = &c->base;
    return LX_OK;
}

static void local_cancel(lx_call *call)
{
    local_call *c = (local_call *)call;
    c->cancelled = true;
    atomic_store(&c->cancel, true);
    /* the worker's final uv_async_send finalizes the call */
}

static void local_destroy(lx_provider *p)
{
    local_provider *lp = (local_provider *)p;
    /* stop every call still running; their handles close on the loop */
    while (lp->calls) {
        local_call *c = lp->calls;
        c->cancelled = true;
        atomic_store(&c->cancel, true);
        finalize(c); /* joins the worker: returns at its next token */
        c->lp = NULL;
    }
    lx_session_free(lp->idle);
    lx_template_free(lp->tmpl);
    lx_engine_free(lp->engine);
    pthread_mutex_destroy(&lp->mu);
    free(lp);
}

static const lx_provider_ops local_ops = {
    .start = local_start,
    .cancel = local_cancel,
    .destroy = local_destroy,
};

lx_status lx_local_provider_new(const lx_config *config, const lx_provider_cfg *cfg,
                                uv_loop_t *loop, lx_provider **out, lx_error *err)
{
    *out = NULL;
    if (!cfg->model_path || !*cfg->model_path)
        return lx_fail(err, LX_ERR_CONFIG,
                       "provider '%s': type local needs 'model: /path/to/model.gguf'", cfg->name);
    local_provider *lp = calloc(1, sizeof *lp);
    if (!lp)
        return lx_fail(err, LX_ERR_NOMEM, "local: out of memory");
    lx_status st = lx_engine_new(cfg->model_path, NULL, &lp->engine, err);
    if (st != LX_OK) {
        free(lp);
        return st;
    }
    pthread_mutex_init(&lp->mu, NULL);
    lp->base.ops = &local_ops;
    lp->base.cfg = cfg;
    lp->base.config = config;
    lp->base.loop = loop;
    *out = &lp->base;
    return LX_OK;
}
