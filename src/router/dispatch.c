/*
 * dispatch.c — one job: route, run the plan's targets reliably, answer the
 * caller once, account for it (the contract is dispatch.h).
 *
 * A job is a small state machine on its loop. Every decision to run
 * something (the first attempt, a retry after its pause, the next target)
 * goes through the job's one uv timer, so an attempt never starts inside
 * the callbacks of the one before it and nothing ever spins: a retry waits
 * its backoff (full jitter in [0, min(max_ms, base_ms * 2^(n-1))]) or the
 * provider's Retry-After, and failing over waits 0 ms (one loop turn).
 *
 *   start ──> route ──> BLOCK? ──> ERROR
 *               │
 *               ├─> cache hit? ──> replay
 *               ├─> reserve budget (at the limit: re-route without paid targets)
 *               v
 *   step: target[ti] allowed (privacy, breaker, deadline)? ──no──> ti++
 *               │yes
 *               v
 *   attempt ──FINISH──> (cascade draft? validate: pass -> replay, fail -> ti++)
 *      │                 answer the caller, ledger, free
 *      └─ERROR──> classify: retry here (tries < max_attempts, pause)
 *                           | fail over (ti++) | larger context | end
 *                 content already sent? midstream: continue on the next
 *                 target with the partial answer as prefill, or ERROR
 *
 * What the caller sees is decoupled from attempts: START is sent with the
 * first content of the attempt that wins (streaming callers), or with the
 * replay of a buffered answer (non-streaming callers and cascade drafts,
 * which are collected whole first, so they are never "committed" to a
 * partial answer). USAGE is held and sent once, just before FINISH, with
 * the usage of every attempt whose content reached the caller.
 *
 * Lifetime: after the caller's terminal event (or a cancel) the job is
 * unlinked from its dispatch at once and freed from its timer's close
 * callback, i.e. on a later loop turn, when no provider or restore-filter
 * frame can still be on the stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/log.h"
#include "router/dispatch_int.h"

#define PARTIAL_CAP ((size_t)16 << 20)

struct lx_dispatch {
    lx_services svc;
    uv_loop_t *loop;
    lx_provider **provs; /* by index into config->providers; made on first use */
    size_t n_provs;
    lx_route_scratch *scratch;
    lx_job *jobs; /* running, not yet finished */
    uint64_t rng;
};

struct lx_job {
    lx_dispatch *d;
    lx_job *prev, *next;
    lx_arena *arena; /* headers, small strings */
    lx_request *req; /* owned copy */
    lx_header *headers;
    size_t n_headers;
    const lx_key_cfg *key;
    const char *front;
    bool stream;
    lx_timeouts timeouts;
    lx_event_fn sink;
    void *ud;
    lx_plan *plan;     /* the one in use */
    lx_plan *own_plan; /* freed with the job */
    lx_outcome out;
    uint64_t t0;     /* uv_now at start */
    uint64_t t0_ns;  /* uv_hrtime at start */
    uv_timer_t timer;

    /* where we are */
    size_t ti;
    int tries;       /* attempts on targets[ti] */
    int calls;       /* provider calls made */
    bool draft;      /* running targets[0] of a cascade */
    bool continuing; /* the attempt continues a partial answer */
    bool started;    /* step() ran once */

    /* the current attempt */
    lx_call *call;
    bool in_call;        /* an attempt is running */
    bool att_done;       /* its terminal event arrived */
    bool att_content;    /* it produced content */
    bool att_has_usage;
    lx_usage att_usage;
    int att_slot;        /* index in out.attempts, -1 when past the array */
    uint64_t att_t0;
    const lx_target *att_target;
    char att_id[128], att_model[160];
    lx_collector col;    /* buffer: cascade draft, non-streaming caller */
    bool col_live;
    double lp_sum;
    int64_t lp_n;
    lx_restore *restore;      /* current attempt's filter */
    lx_restore *restore_old;  /* freed on the next step (never inside its own callback) */
    lx_request *cont_req;     /* the continuation request */

    /* the caller */
    bool start_sent, content_sent, tools_sent, terminal_sent;
    lx_buf partial;     /* TEXT sent so far (for a continuation) */
    bool has_usage;
    lx_usage prior_usage; /* of earlier attempts whose content was sent (continue) */
    double prior_cost;    /* their price, each on its own model */
    lx_collector shadow;  /* what the caller got, for the cache */
    bool shadow_live;

    /* redaction */
    lx_request *red_req;
    lx_redaction *red_map;
    bool red_failed;
    lx_error red_err;

    /* accounting */
    lx_reservation resv;
    bool reserved;
    bool cache_put;  /* store the answer under cache_target */
    char cache_target[200];

    lx_error last_err;
    bool have_err;
    bool cancelled;  /* the caller went away */
    bool finished;   /* terminal handled, job unlinked */
    int busy;        /* inside the caller's sink */
};

static void step(lx_job *j);
static void job_end(lx_job *j);

/* ---- small helpers ---------------------------------------------------- */

static uint64_t rng_next(lx_dispatch *d)
{
    /* xorshift64*: jitter only, not security */
    uint64_t x = d->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->rng = x;
    return x * 2685821657736338717ull;
}

static int64_t elapsed_ms(const lx_job *j)
{
    uv_update_time(j->d->loop);
    return (int64_t)(uv_now(j->d->loop) - j->t0);
}

static int64_t unix_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static const lx_config *cfg_of(const lx_job *j)
{
    return j->d->svc.config;
}

static const lx_reliability_cfg *rel_of(const lx_job *j)
{
    return &j->d->svc.config->reliability;
}

static void usage_add(lx_usage *a, const lx_usage *b)
{
    a->input += b->input;
    a->cache_read += b->cache_read;
    a->cache_write += b->cache_write;
    a->output += b->output;
    a->reasoning += b->reasoning;
}

static void note_error(lx_job *j, const lx_error *e, const lx_target *t)
{
    j->last_err = *e;
    if (!j->last_err.provider[0] && t && t->provider)
        lx_strlcpy(j->last_err.provider, t->provider->name, sizeof j->last_err.provider);
    if (j->last_err.code == LX_OK)
        j->last_err.code = LX_ERR_INTERNAL;
    j->have_err = true;
}

/* ---- providers -------------------------------------------------------- */

static lx_status provider_for(lx_dispatch *d, const lx_provider_cfg *pc, lx_provider **out,
                              lx_error *err)
{
    const lx_config *c = d->svc.config;
    size_t i = (size_t)(pc - c->providers);
    if (pc < c->providers || i >= c->n_providers) {
        for (i = 0; i < c->n_providers && strcmp(c->providers[i].name, pc->name); i++)
            ;
        if (i == c->n_providers)
            return lx_fail(err, LX_ERR_NOTFOUND, "provider %s is not configured", pc->name);
    }
    if (!d->provs[i]) {
        lx_status st = lx_provider_new(c, &c->providers[i], d->loop, &d->provs[i], err);
        if (st != LX_OK) {
            if (err && !err->provider[0])
                lx_strlcpy(err->provider, pc->name, sizeof err->provider);
            return st;
        }
    }
    *out = d->provs[i];
    return LX_OK;
}

lx_status lx_dispatch_new(const lx_services *svc, uv_loop_t *loop, lx_dispatch **out,
                          lx_error *err)
{
    *out = NULL;
    if (!svc || !svc->config || !loop)
        return lx_fail(err, LX_ERR_INVALID, "dispatch: config and loop are required");
    lx_dispatch *d = calloc(1, sizeof *d);
    if (!d)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    d->svc = *svc;
    d->loop = loop;
    d->n_provs = svc->config->n_providers;
    d->provs = calloc(d->n_provs ? d->n_provs : 1, sizeof *d->provs);
    if (!d->provs) {
        free(d);
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    }
    if (svc->router) {
        lx_status st = lx_route_scratch_new(svc->router, &d->scratch, err);
        if (st != LX_OK) {
            free(d->provs);
            free(d);
            return st;
        }
    }
    d->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)d) | 1;
    if (svc->breakers) /* the config's verdict lifetime, whoever made the breakers */
        lx_breakers_set_offline_ms(svc->breakers, svc->config->reliability.offline_probe_ms);
    *out = d;
    return LX_OK;
}

lx_status lx_dispatch_set_provider(lx_dispatch *d, const lx_provider_cfg *cfg, lx_provider *p)
{
    const lx_config *c = d->svc.config;
    for (size_t i = 0; i < c->n_providers; i++)
        if (&c->providers[i] == cfg || !strcmp(c->providers[i].name, cfg->name)) {
            lx_provider_free(d->provs[i]);
            d->provs[i] = p;
            return LX_OK;
        }
    lx_provider_free(p);
    return LX_ERR_NOTFOUND;
}

void lx_dispatch_free(lx_dispatch *d)
{
    if (!d)
        return;
    while (d->jobs) {
        lx_job *j = d->jobs;
        j->cancelled = true;
        job_end(j); /* unlinks it */
    }
    for (size_t i = 0; i < d->n_provs; i++)
        lx_provider_free(d->provs[i]);
    free(d->provs);
    lx_route_scratch_free(d->scratch);
    free(d);
}

/* ---- the caller's side ------------------------------------------------- */

/* Calls the caller's sink; a refusal is a cancel. */
static lx_status to_caller(lx_job *j, const lx_event *ev)
{
    if (j->cancelled || j->terminal_sent)
        return LX_ERR_CANCELLED;
    if (ev->kind == LX_EV_FINISH || ev->kind == LX_EV_ERROR)
        j->terminal_sent = true;
    if (j->shadow_live && ev->kind != LX_EV_ERROR && lx_collector_event(&j->shadow, ev) != LX_OK)
        j->shadow_live = false;
    j->busy++;
    lx_status st = j->sink(j->ud, ev);
    j->busy--;
    if (st != LX_OK && !j->terminal_sent)
        j->cancelled = true;
    return j->cancelled ? LX_ERR_CANCELLED : LX_OK;
}

static lx_status caller_start(lx_job *j)
{
    if (j->start_sent)
        return LX_OK;
    j->start_sent = true;
    j->out.target = j->att_target;
    j->out.ttft_ms = elapsed_ms(j);
    lx_event ev = {.kind = LX_EV_START,
                   .id = j->att_id[0] ? j->att_id : NULL,
                   .model = j->att_model[0]  ? j->att_model
                            : j->att_target ? j->att_target->model
                                            : NULL};
    return to_caller(j, &ev);
}

static lx_status caller_content(lx_job *j, const lx_event *ev)
{
    lx_status st = caller_start(j);
    if (st != LX_OK)
        return st;
    if (ev->kind == LX_EV_TEXT && ev->len)
        lx_buf_append(&j->partial, ev->text, ev->len); /* best effort; capped */
    if (ev->kind == LX_EV_TOOL_START || ev->kind == LX_EV_TOOL_ARGS ||
        ev->kind == LX_EV_TOOL_END)
        j->tools_sent = true;
    j->content_sent = true;
    return to_caller(j, ev);
}

/* ---- ending ------------------------------------------------------------ */

static void on_timer_closed(uv_handle_t *h)
{
    lx_job *j = h->data;
    if (j->col_live)
        lx_collector_free(&j->col);
    if (j->shadow_live)
        lx_collector_free(&j->shadow);
    lx_dx_restore_free(j->restore);
    lx_dx_restore_free(j->restore_old);
    lx_request_free(j->cont_req);
    lx_request_free(j->red_req);
    lx_dx_redaction_free(j->red_map);
    lx_buf_free(&j->partial);
    if (j->own_plan)
        lx_plan_free(j->own_plan);
    lx_request_free(j->req);
    lx_arena_free(j->arena);
    free(j);
}

/* The caller has its terminal event (or went away): settle, record, and
 * free the job on a later loop turn. */
static void job_end(lx_job *j)
{
    if (j->finished)
        return;
    j->finished = true;
    lx_dispatch *d = j->d;
    if (j->call) {
        lx_call_cancel(j->call);
        j->call = NULL;
    }
    if (j->in_call && j->att_target && d->svc.breakers)
        lx_breakers_release(d->svc.breakers, j->att_target->provider->name, j->att_target->model,
                            lx_breakers_now(d->svc.breakers));
    j->in_call = false;
    uv_timer_stop(&j->timer);
    if (j->cancelled) {
        j->out.status = LX_ERR_CANCELLED;
        lx_fail(&j->out.error, LX_ERR_CANCELLED, "the caller went away");
        j->out.http_status = 499;
    }
    if (!j->out.latency_ms)
        j->out.latency_ms = elapsed_ms(j);
    if (j->reserved) {
        lx_dx_settle(d->svc.account, &j->resv, j->out.cost_usd,
                     lx_usage_total_input(&j->out.usage) + lx_usage_total_output(&j->out.usage));
        j->reserved = false;
    }
    if (d->svc.account) {
        if (j->cache_put && j->out.status == LX_OK && j->shadow_live && j->shadow.finished &&
            !j->out.cached && j->out.target == &j->plan->targets[0] && !j->out.continued) {
            lx_response *r = lx_collector_take(&j->shadow);
            if (r) {
                lx_dx_cache_put(d->svc.account, j->req, j->cache_target, r);
                lx_response_free(r);
            }
        }
        lx_ledger_row row;
        lx_dx_row_scratch rs;
        const char *answer = NULL;
        if (lx_buf_putc(&j->partial, '\0') == LX_OK) {
            j->partial.len--;
            answer = j->partial.data;
        }
        lx_dx_ledger_row(&j->out, cfg_of(j), j->key, j->front, j->calls, j->req, answer, &row,
                         &rs);
        lx_dx_record(d->svc.account, &row);
        lx_dx_row_scratch_free(&rs);
    }
    if (j->plan && j->plan->sensitive && d->svc.router)
        lx_router_mark_sensitive(d->svc.router, j->req);

    /* unlink now; free when the timer has closed */
    if (j->prev)
        j->prev->next = j->next;
    else if (d->jobs == j)
        d->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
    j->timer.data = j;
    uv_close((uv_handle_t *)&j->timer, on_timer_closed);
}

/* Cost and saving of the answer, set before the terminal event so that the
 * caller's outcome shows them: the answer that reached the caller, on the
 * model(s) that gave it; failures are not billed. */
static void price_answer(lx_job *j)
{
    /* cost: the answer that reached the caller, on the model that gave it */
    const lx_target *t = j->out.target;
    if (j->out.status == LX_OK && t && !j->out.cached) {
        j->out.cost_usd = j->prior_cost + lx_dx_price(cfg_of(j), t->provider, t->model,
                                                      &j->att_usage);
        const lx_provider_cfg *ep = NULL;
        const char *em = NULL;
        const char *esc = cfg_of(j)->routing.escalate;
        if (esc && lx_config_resolve(cfg_of(j), esc, &ep, &em, NULL) == LX_OK) {
            double would = lx_dx_price(cfg_of(j), ep, em, &j->out.usage);
            j->out.saved_usd = would > j->out.cost_usd ? would - j->out.cost_usd : 0;
        }
    } else if (j->out.cached && t) {
        const lx_provider_cfg *ep = NULL;
        const char *em = NULL;
        const char *esc = cfg_of(j)->routing.escalate;
        double would = lx_dx_price(cfg_of(j), t->provider, t->model, &j->out.usage);
        if (esc && lx_config_resolve(cfg_of(j), esc, &ep, &em, NULL) == LX_OK) {
            double w2 = lx_dx_price(cfg_of(j), ep, em, &j->out.usage);
            if (w2 > would)
                would = w2;
        }
        j->out.saved_usd = would;
    }
}

/* Ends the job with an ERROR to the caller. */
static void fail_job(lx_job *j, const lx_error *e)
{
    if (j->finished)
        return;
    j->out.status = e->code != LX_OK ? e->code : LX_ERR_INTERNAL;
    j->out.error = *e;
    j->out.error.code = j->out.status;
    j->out.http_status = lx_error_http_status(&j->out.error);
    j->out.finish = LX_FINISH_ERROR;
    j->out.latency_ms = elapsed_ms(j);
    if (!j->out.target && j->att_target)
        j->out.target = j->att_target;
    /* a partial answer the caller got was billed by its provider: its usage
     * and cost stay on the record (a stream cut without its terminator is
     * finalised with the usage it carried) */
    j->out.usage = j->prior_usage;
    j->out.cost_usd = j->prior_cost;
    lx_event ev = {.kind = LX_EV_ERROR, .error = &j->out.error};
    to_caller(j, &ev);
    job_end(j);
}

/* Sends the held USAGE and the FINISH: the answer is complete. */
static void finish_job(lx_job *j, lx_finish finish, const char *stop)
{
    if (j->finished)
        return;
    if (caller_start(j) != LX_OK) {
        job_end(j);
        return;
    }
    j->out.status = LX_OK;
    j->out.finish = finish ? finish : LX_FINISH_STOP;
    j->out.http_status = 200;
    j->out.latency_ms = elapsed_ms(j);
    price_answer(j);
    if (j->has_usage) {
        lx_event u = {.kind = LX_EV_USAGE, .usage = j->out.usage};
        if (to_caller(j, &u) != LX_OK) {
            job_end(j);
            return;
        }
    }
    lx_event ev = {.kind = LX_EV_FINISH, .finish = j->out.finish, .text = stop};
    to_caller(j, &ev);
    job_end(j);
}

/* Replays a whole answer (cache hit, buffered attempt, passed draft). */
static lx_status replay_sink(void *ud, const lx_event *ev)
{
    lx_job *j = ud;
    switch (ev->kind) {
    case LX_EV_START:
        if (ev->id && !j->att_id[0])
            lx_strlcpy(j->att_id, ev->id, sizeof j->att_id);
        if (ev->model && !j->att_model[0])
            lx_strlcpy(j->att_model, ev->model, sizeof j->att_model);
        return caller_start(j);
    case LX_EV_USAGE:
        return LX_OK; /* the job's own usage is sent before FINISH */
    case LX_EV_FINISH:
        finish_job(j, ev->finish, ev->text);
        return LX_OK;
    case LX_EV_ERROR:
        return LX_OK;
    default:
        return caller_content(j, ev);
    }
}

static void replay(lx_job *j, lx_response *r)
{
    if (r->has_usage && !j->has_usage) {
        j->out.usage = r->usage;
        j->has_usage = true;
    }
    lx_status st = lx_response_replay(r, replay_sink, j);
    if (!j->finished) {
        if (st != LX_OK && !j->cancelled) {
            lx_error e;
            lx_fail(&e, st, "replaying the answer failed (%s)", lx_status_name(st));
            fail_job(j, &e);
        } else {
            job_end(j);
        }
    }
}

/* ---- attempts ---------------------------------------------------------- */

static void on_step_timer(uv_timer_t *t)
{
    step(t->data);
}

/* The next step runs from the timer: after `delay_ms`, or on the next loop
 * turn for 0, never inside the callbacks of the attempt that just ended. */
static void schedule(lx_job *j, int64_t delay_ms)
{
    if (j->finished)
        return;
    uv_timer_stop(&j->timer);
    uv_timer_start(&j->timer, on_step_timer, delay_ms > 0 ? (uint64_t)delay_ms : 0, 0);
}

static lx_attempt *attempt_rec(lx_job *j)
{
    return j->att_slot >= 0 ? &j->out.attempts[j->att_slot] : NULL;
}

/* Records a target that was passed over without a call. */
static void record_skip(lx_job *j, const lx_target *t, lx_status st, const char *why)
{
    int n = j->out.n_attempts++;
    if (n >= LX_MAX_ATTEMPTS)
        return;
    lx_attempt *a = &j->out.attempts[n];
    memset(a, 0, sizeof *a);
    a->target = t;
    a->status = st;
    a->skipped = true;
    a->start_ms = elapsed_ms(j);
    lx_strlcpy(a->error, why, sizeof a->error);
}

static void attempt_close(lx_job *j, lx_status st, const lx_error *e)
{
    lx_attempt *a = attempt_rec(j);
    if (a) {
        a->status = st;
        a->ms = elapsed_ms(j) - a->start_ms;
        a->http_status = e ? e->http_status : 200;
        if (e) {
            if (e->type[0])
                snprintf(a->error, sizeof a->error, "%.60s: %.90s", e->type, e->message);
            else
                lx_strlcpy(a->error, e->message[0] ? e->message : lx_status_name(st),
                           sizeof a->error);
        }
    }
    j->in_call = false;
    j->call = NULL; /* after a terminal event the provider frees its call */
    if (j->restore) {
        lx_dx_restore_free(j->restore_old);
        j->restore_old = j->restore;
        j->restore = NULL;
    }
}

/* A remote target the plan's privacy forbids for this request. The router
 * never plans one (fail-closed); this is the second lock. */
static const char *privacy_forbids(const lx_job *j, const lx_target *t)
{
    const lx_plan *p = j->plan;
    if (t->local || !p->sensitive)
        return NULL;
    switch (p->privacy_mode) {
    case LX_PRIVACY_ROUTE_LOCAL:
        return "privacy: a sensitive request stays local (route_local)";
    case LX_PRIVACY_BLOCK:
        return "privacy: a sensitive request is blocked";
    case LX_PRIVACY_REDACT:
        return t->redact ? NULL : "privacy: a sensitive request goes out only redacted";
    default:
        return NULL;
    }
}

/* The request a target gets: redacted, continued, or the caller's. */
static const lx_request *request_for(lx_job *j, const lx_target *t, lx_error *err)
{
    const lx_request *base = j->req;
    if (t->redact && j->plan->findings.n) {
        if (!j->red_req && !j->red_failed) {
            if (lx_dx_redact(j->req, j->plan, &j->red_req, &j->red_map, &j->red_err) != LX_OK) {
                j->red_failed = true;
                lx_request_free(j->red_req);
                j->red_req = NULL;
                lx_dx_redaction_free(j->red_map);
                j->red_map = NULL;
            } else {
                j->out.redacted = true;
                j->out.redactions = (int)lx_dx_redaction_count(j->red_map);
            }
        }
        if (j->red_failed) {
            *err = j->red_err;
            return NULL;
        }
        base = j->red_req;
    }
    if (!j->continuing)
        return base;
    lx_request_free(j->cont_req);
    j->cont_req = lx_request_clone(base);
    if (!j->cont_req || lx_buf_putc(&j->partial, '\0') != LX_OK) {
        lx_fail(err, LX_ERR_NOMEM, "out of memory");
        return NULL;
    }
    j->partial.len--; /* keep the NUL outside the length */
    if (lx_request_add_text(j->cont_req, LX_ROLE_ASSISTANT, j->partial.data) != LX_OK) {
        lx_fail(err, LX_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return j->cont_req;
}

static lx_status on_call_event(void *ud, const lx_event *ev);
static void attempt_failed(lx_job *j, const lx_error *e);

/* Starts one provider call on targets[ti]. */
static void attempt_start(lx_job *j, const lx_target *t)
{
    lx_dispatch *d = j->d;
    lx_error err;
    lx_error_clear(&err);
    j->att_target = t;
    j->att_done = j->att_content = j->att_has_usage = false;
    memset(&j->att_usage, 0, sizeof j->att_usage);
    j->att_id[0] = j->att_model[0] = '\0';
    j->lp_sum = 0;
    j->lp_n = 0;
    j->tries++;
    j->calls++;
    int n = j->out.n_attempts++;
    j->att_slot = n < LX_MAX_ATTEMPTS ? n : -1;
    if (j->att_slot >= 0) {
        lx_attempt *a = &j->out.attempts[n];
        memset(a, 0, sizeof *a);
        a->target = t;
        a->start_ms = elapsed_ms(j);
    }
    j->in_call = true;
    if (j->col_live) {
        lx_collector_free(&j->col);
        j->col_live = false;
    }
    if (j->draft || !j->stream) {
        if (lx_collector_init(&j->col) != LX_OK) {
            lx_fail(&err, LX_ERR_NOMEM, "out of memory");
            goto fail;
        }
        j->col_live = true;
    }

    lx_provider *p = NULL;
    if (provider_for(d, t->provider, &p, &err) != LX_OK)
        goto fail;
    const lx_request *req = request_for(j, t, &err);
    if (!req)
        goto fail;

    /* the call's total time never runs past the job's deadline */
    int64_t left = rel_of(j)->retry.deadline_ms - elapsed_ms(j);
    lx_call_opts co = {.model = t->model, .stream = j->stream, .timeouts = j->timeouts};
    int64_t total = co.timeouts.total_ms > 0 ? co.timeouts.total_ms : t->provider->timeouts.total_ms;
    if (total <= 0 || total > left)
        total = left > 1 ? left : 1;
    co.timeouts.total_ms = total;
    int64_t sent = 0;
    co.bytes_out = t->local ? NULL : &sent;

    lx_event_fn fn = on_call_event;
    void *fud = j;
    if (t->redact && j->red_map) {
        if (lx_dx_restore_new(j->red_map, on_call_event, j, &j->restore) != LX_OK) {
            lx_fail(&err, LX_ERR_NOMEM, "out of memory");
            goto fail;
        }
        fn = lx_dx_restore_event;
        fud = j->restore;
    }
    lx_call *call = NULL;
    uint64_t ns0 = uv_hrtime();
    lx_status st = lx_provider_start(p, req, &co, fn, fud, &call, &err);
    j->out.overhead_us += (int64_t)((uv_hrtime() - ns0) / 1000); /* encoding, no waiting */
    j->out.bytes_out += sent;
    if (st != LX_OK) {
        if (err.code == LX_OK)
            err.code = st;
        goto fail;
    }
    if (!j->att_done && !j->finished)
        j->call = call; /* else it already ended (and freed itself) */
    return;
fail:
    if (!err.provider[0])
        lx_strlcpy(err.provider, t->provider->name, sizeof err.provider);
    attempt_failed(j, &err);
}

/* Finds the next target after ti that a continuation may go to. */
static size_t next_target(const lx_job *j, size_t from)
{
    for (size_t k = from; k < j->plan->n_targets; k++)
        if (!privacy_forbids(j, &j->plan->targets[k]))
            return k;
    return j->plan->n_targets;
}

static int64_t backoff_ms(lx_job *j)
{
    const lx_retry_cfg *r = &rel_of(j)->retry;
    int shift = j->tries - 1 < 30 ? j->tries - 1 : 30;
    int64_t cap = r->base_ms << shift;
    if (cap > r->max_ms || cap <= 0)
        cap = r->max_ms;
    return (int64_t)(rng_next(j->d) % (uint64_t)(cap + 1));
}

/* An attempt ended without an answer: retry, fail over, continue or end. */
static void attempt_failed(lx_job *j, const lx_error *e)
{
    lx_dispatch *d = j->d;
    const lx_target *t = j->att_target;
    const lx_reliability_cfg *rel = rel_of(j);
    lx_dx_verdict v = lx_dx_classify(e);
    note_error(j, e, t);
    attempt_close(j, j->last_err.code, &j->last_err);
    j->att_done = true;
    if (d->svc.breakers && t) {
        int64_t now = lx_breakers_now(d->svc.breakers);
        if (v.verdict)
            lx_breakers_report(d->svc.breakers, t->provider->name, t->model, v.breaker_failure,
                               v.unreachable, now);
        else
            lx_breakers_release(d->svc.breakers, t->provider->name, t->model, now);
    }
    if (j->finished || j->cancelled || v.cls == LX_DX_CANCELLED) {
        if (!j->finished)
            job_end(j);
        return;
    }
    if (j->att_has_usage && j->att_content && j->content_sent && t) {
        /* billed, and part of what the caller got */
        usage_add(&j->prior_usage, &j->att_usage);
        j->prior_cost += lx_dx_price(cfg_of(j), t->provider, t->model, &j->att_usage);
    }

    if (j->draft) { /* the local draft failed: escalate */
        j->draft = false;
        j->out.escalated = true;
        j->out.cascade_ran = true;
        j->out.cascade_pass = false;
        snprintf(j->out.cascade_reason, sizeof j->out.cascade_reason, "draft failed: %.100s",
                 j->last_err.message);
        j->ti++;
        j->tries = 0;
        schedule(j, 0);
        return;
    }

    if (j->content_sent) {
        /* the caller has part of an answer */
        bool can_continue = rel->midstream == LX_MIDSTREAM_CONTINUE && !j->tools_sent &&
                            j->partial.len > 0 && v.cls != LX_DX_POLICY &&
                            !(j->continuing && (v.cls == LX_DX_FATAL || v.cls == LX_DX_CONTEXT) &&
                              !j->att_content);
        size_t k = can_continue ? next_target(j, j->ti + 1) : j->plan->n_targets;
        if (k < j->plan->n_targets && j->plan->targets[k].redact && j->plan->findings.n)
            k = j->plan->n_targets; /* the partial holds restored values: never sent out */
        if (k >= j->plan->n_targets) {
            if (j->continuing && (v.cls == LX_DX_FATAL || v.cls == LX_DX_CONTEXT)) {
                lx_error e2 = j->last_err;
                snprintf(e2.message, sizeof e2.message,
                         "the fallback rejected the continuation of a partial answer: %.400s",
                         j->last_err.message);
                fail_job(j, &e2);
            } else {
                fail_job(j, &j->last_err);
            }
            return;
        }
        j->continuing = true;
        j->out.continued = true;
        j->ti = k;
        j->tries = 0;
        schedule(j, 0);
        return;
    }
    if (j->continuing && (v.cls == LX_DX_FATAL || v.cls == LX_DX_CONTEXT)) {
        lx_error e2 = j->last_err;
        snprintf(e2.message, sizeof e2.message,
                 "the fallback rejected the continuation of a partial answer: %.400s",
                 j->last_err.message);
        fail_job(j, &e2);
        return;
    }

    switch (v.cls) {
    case LX_DX_POLICY:
    case LX_DX_FATAL:
        fail_job(j, &j->last_err);
        return;
    case LX_DX_CONTEXT: {
        int64_t cur = t && t->info ? t->info->context : 0;
        size_t k = j->ti + 1;
        for (; k < j->plan->n_targets; k++) {
            const lx_target *c = &j->plan->targets[k];
            if (!privacy_forbids(j, c) && c->info && c->info->context > cur)
                break;
        }
        if (k >= j->plan->n_targets) {
            fail_job(j, &j->last_err);
            return;
        }
        j->ti = k;
        j->tries = 0;
        schedule(j, 0);
        return;
    }
    case LX_DX_RETRY:
        if (j->tries < rel->retry.max_attempts) {
            int64_t delay = backoff_ms(j);
            int64_t ra = j->last_err.retry_after_ms;
            if (ra > 0) {
                if (ra > rel->retry.max_retry_after_ms)
                    goto failover; /* too long to wait here */
                delay = ra;
            }
            if (elapsed_ms(j) + delay < rel->retry.deadline_ms) {
                schedule(j, delay);
                return;
            }
        }
        /* fall through */
    case LX_DX_FAILOVER:
    default:
    failover:
        j->ti++;
        j->tries = 0;
        schedule(j, 0);
        return;
    }
}

static void attempt_succeeded(lx_job *j, const lx_event *fin)
{
    lx_dispatch *d = j->d;
    const lx_target *t = j->att_target;
    attempt_close(j, LX_OK, NULL);
    j->att_done = true;
    if (d->svc.breakers && t)
        lx_breakers_report(d->svc.breakers, t->provider->name, t->model, false, false,
                           lx_breakers_now(d->svc.breakers));
    lx_usage u = j->prior_usage;
    if (j->att_has_usage)
        usage_add(&u, &j->att_usage);
    j->out.usage = u;
    if (j->continuing)
        j->out.target = t; /* the answer ends with its words */
    j->has_usage = j->att_has_usage || j->prior_usage.input || j->prior_usage.output;

    if (j->draft || !j->stream) {
        lx_status fst = lx_collector_event(&j->col, fin);
        lx_response *r = fst == LX_OK ? lx_collector_take(&j->col) : NULL;
        if (!r) {
            lx_error e;
            lx_fail(&e, LX_ERR_PROTO, "the answer could not be assembled");
            lx_strlcpy(e.provider, t->provider->name, sizeof e.provider);
            j->att_done = false;
            attempt_failed(j, &e);
            return;
        }
        if (j->draft) {
            lx_cascade_verdict cv;
            lx_dx_cascade_check(cfg_of(j), j->req, r, j->lp_sum, j->lp_n, &cv);
            j->out.cascade_ran = true;
            j->out.cascade_pass = cv.pass;
            lx_strlcpy(j->out.cascade_reason, cv.detail[0] ? cv.detail : cv.reason ? cv.reason : "",
                       sizeof j->out.cascade_reason);
            j->draft = false;
            if (!cv.pass) {
                lx_response_free(r);
                j->out.escalated = true;
                memset(&j->out.usage, 0, sizeof j->out.usage); /* the draft is not the answer */
                j->has_usage = false;
                j->ti++;
                j->tries = 0;
                schedule(j, 0);
                return;
            }
        }
        replay(j, r);
        lx_response_free(r);
        return;
    }
    finish_job(j, fin->finish, fin->text);
}

/* Events of the current provider call (after the restore filter). */
static lx_status on_call_event(void *ud, const lx_event *ev)
{
    lx_job *j = ud;
    if (j->finished || j->cancelled || j->att_done)
        return LX_ERR_CANCELLED;
    lx_status st = LX_OK;
    switch (ev->kind) {
    case LX_EV_START:
        if (ev->id)
            lx_strlcpy(j->att_id, ev->id, sizeof j->att_id);
        if (ev->model)
            lx_strlcpy(j->att_model, ev->model, sizeof j->att_model);
        break;
    case LX_EV_USAGE:
        j->att_usage = ev->usage;
        j->att_has_usage = true;
        if (j->col_live)
            lx_collector_event(&j->col, ev);
        break;
    case LX_EV_FINISH:
        j->call = NULL;
        attempt_succeeded(j, ev);
        return LX_OK;
    case LX_EV_ERROR: {
        j->call = NULL;
        lx_error e;
        if (ev->error)
            e = *ev->error;
        else
            lx_fail(&e, LX_ERR_INTERNAL, "error without details");
        attempt_failed(j, &e);
        return LX_OK;
    }
    default: /* content */
        j->att_content = true;
        if (j->col_live) {
            if (ev->kind == LX_EV_TEXT && ev->n_tokens > 0) {
                j->lp_sum += ev->logprob;
                j->lp_n += ev->n_tokens;
            }
            st = lx_collector_event(&j->col, ev);
            if (st != LX_OK) {
                lx_error e;
                lx_fail(&e, LX_ERR_PROTO, "bad event sequence from the provider (%s)",
                        lx_event_kind_name(ev->kind));
                lx_strlcpy(e.provider, j->att_target->provider->name, sizeof e.provider);
                j->call = NULL; /* we refuse: the provider ends the call itself */
                attempt_failed(j, &e);
                return LX_ERR_PROTO;
            }
        } else {
            st = caller_content(j, ev);
        }
        break;
    }
    if (j->cancelled) {
        j->call = NULL; /* refused: the provider cancels and frees it */
        job_end(j);
        return LX_ERR_CANCELLED;
    }
    return st;
}

/* Runs whatever comes next: the target at ti, or the end. */
static void step(lx_job *j)
{
    if (j->finished)
        return;
    if (j->restore_old) {
        lx_dx_restore_free(j->restore_old);
        j->restore_old = NULL;
    }
    lx_dispatch *d = j->d;
    const lx_reliability_cfg *rel = rel_of(j);
    while (j->ti < j->plan->n_targets) {
        const lx_target *t = &j->plan->targets[j->ti];
        const char *why = privacy_forbids(j, t);
        if (why) {
            record_skip(j, t, LX_ERR_BLOCKED, why);
            j->ti++;
            j->tries = 0;
            continue;
        }
        if (elapsed_ms(j) >= rel->retry.deadline_ms) {
            lx_error e;
            if (j->have_err) {
                e = j->last_err;
            } else {
                lx_fail(&e, LX_ERR_TIMEOUT, "deadline of %lld ms reached before an answer",
                        (long long)rel->retry.deadline_ms);
            }
            fail_job(j, &e);
            return;
        }
        if (d->svc.breakers && !lx_breakers_allow(d->svc.breakers, t->provider->name, t->model,
                                                  lx_breakers_now(d->svc.breakers))) {
            if (j->tries == 0)
                record_skip(j, t, LX_ERR_UNAVAILABLE, "circuit breaker open");
            if (!j->have_err) {
                lx_fail(&j->last_err, LX_ERR_UNAVAILABLE,
                        "%s/%s is failing (circuit breaker open)", t->provider->name, t->model);
                lx_strlcpy(j->last_err.provider, t->provider->name, sizeof j->last_err.provider);
                j->have_err = true;
            }
            if (j->draft) {
                j->draft = false;
                j->out.escalated = true;
            }
            j->ti++;
            j->tries = 0;
            continue;
        }
        attempt_start(j, t);
        return;
    }
    lx_error e;
    if (j->have_err) {
        e = j->last_err;
    } else {
        lx_fail(&e, LX_ERR_UNAVAILABLE, "no target can take this request");
    }
    fail_job(j, &e);
}

/* ---- starting ---------------------------------------------------------- */

static lx_status route(lx_job *j, bool over_budget, lx_error *err)
{
    lx_dispatch *d = j->d;
    if (!d->svc.router)
        return lx_fail(err, LX_ERR_INTERNAL, "dispatch: no router");
    lx_route_input in = {
        .req = j->req,
        .headers = j->headers,
        .n_headers = j->n_headers,
        .key = j->key,
        .health = d->svc.breakers ? lx_breakers_health : NULL,
        .health_ud = d->svc.breakers,
        .cloud_over_budget = over_budget,
    };
    lx_plan *p = NULL;
    lx_status st = lx_route(d->svc.router, d->scratch, &in, &p, err);
    if (st != LX_OK)
        return st;
    if (j->own_plan)
        lx_plan_free(j->own_plan);
    j->own_plan = p;
    j->plan = p;
    j->out.plan = p;
    return LX_OK;
}

static bool plan_has_paid(const lx_job *j)
{
    for (size_t i = 0; i < j->plan->n_targets; i++)
        if (!j->plan->targets[i].local)
            return true;
    return false;
}

/* Budget: reserve the worst case over the targets that may answer. */
static lx_status reserve(lx_job *j, lx_error *err)
{
    lx_dispatch *d = j->d;
    if (!d->svc.account)
        return LX_OK;
    double max_usd = 0;
    int64_t tokens = 0;
    for (size_t i = 0; i < j->plan->n_targets; i++) {
        const lx_target *t = &j->plan->targets[i];
        double m = lx_dx_price_max(cfg_of(j), t->provider, t->model, t->prompt_tokens,
                                   j->plan->max_output);
        if (m > max_usd)
            max_usd = m;
        int64_t tk = t->prompt_tokens + (j->plan->max_output > 0 ? j->plan->max_output : 0);
        if (tk > tokens)
            tokens = tk;
    }
    int64_t ra = 0;
    lx_status st = lx_dx_reserve(d->svc.account, j->key, max_usd, tokens, &j->resv, &ra, err);
    if (st == LX_OK)
        j->reserved = true;
    else if (err)
        err->retry_after_ms = ra > 0 ? ra * 1000 : 0;
    return st;
}

/* Runs on the first timer turn: route, block, cache, budget, then step. */
static void begin(lx_job *j)
{
    lx_dispatch *d = j->d;
    lx_error err;
    lx_error_clear(&err);
    uint64_t ns0 = uv_hrtime();
    if (!j->plan) {
        if (route(j, false, &err) != LX_OK) {
            fail_job(j, &err);
            return;
        }
    }
    j->out.overhead_us += (int64_t)((uv_hrtime() - ns0) / 1000);
    if (j->plan->action == LX_ACTION_BLOCK) {
        lx_error e = j->plan->block;
        if (e.code == LX_OK)
            e.code = LX_ERR_BLOCKED;
        fail_job(j, &e);
        return;
    }
    if (j->plan->n_targets == 0) {
        lx_error e;
        lx_fail(&e, LX_ERR_UNAVAILABLE, "no target can take this request");
        fail_job(j, &e);
        return;
    }
    /* cache */
    if (d->svc.account) {
        const lx_target *t0 = &j->plan->targets[0];
        snprintf(j->cache_target, sizeof j->cache_target, "%s/%s", t0->provider->name, t0->model);
        int cd = lx_dx_cache_decide(d->svc.account, cfg_of(j), j->req, j->headers, j->n_headers,
                                    j->cache_target);
        if (cd != LX_CACHE_SKIP) {
            lx_response *hit = NULL;
            if (cd == LX_CACHE_USE &&
                lx_dx_cache_get(d->svc.account, cfg_of(j), j->req, j->headers, j->n_headers,
                                j->cache_target, &hit) == LX_OK &&
                hit) {
                j->out.cached = true;
                j->att_target = t0;
                replay(j, hit);
                lx_response_free(hit);
                return;
            }
            j->cache_put = true;
            j->shadow_live = lx_collector_init(&j->shadow) == LX_OK;
        }
    }
    /* budget */
    lx_status st = reserve(j, &err);
    if (st == LX_ERR_LIMIT && cfg_of(j)->budgets.at_limit == LX_AT_LIMIT_LOCAL && j->own_plan &&
        plan_has_paid(j)) {
        lx_error e2;
        lx_error_clear(&e2);
        if (route(j, true, &e2) != LX_OK) {
            fail_job(j, &e2);
            return;
        }
        if (j->plan->action == LX_ACTION_BLOCK || j->plan->n_targets == 0) {
            fail_job(j, &err); /* nothing free to fall back to: the limit's message */
            return;
        }
        lx_error_clear(&err);
        st = reserve(j, &err);
    }
    if (st != LX_OK) {
        fail_job(j, &err);
        return;
    }
    j->draft = j->plan->cascade && j->plan->n_targets > 1;
    step(j);
}

static void on_begin_timer(uv_timer_t *t)
{
    begin(t->data);
}

static lx_status job_new(lx_dispatch *d, const lx_request *req, const lx_job_opts *o,
                         lx_event_fn sink, void *ud, lx_job **out, lx_error *err)
{
    lx_job *j = calloc(1, sizeof *j);
    if (!j)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    j->d = d;
    j->arena = lx_arena_new();
    j->req = lx_request_clone(req);
    if (!j->arena || !j->req)
        goto nomem;
    if (o && o->n_headers) {
        j->headers = lx_arena_calloc(j->arena, o->n_headers, sizeof *j->headers);
        if (!j->headers)
            goto nomem;
        for (size_t i = 0; i < o->n_headers; i++) {
            j->headers[i].name = lx_arena_strdup(j->arena, o->headers[i].name);
            j->headers[i].value = lx_arena_strdup(j->arena, o->headers[i].value ? o->headers[i].value : "");
            if (!j->headers[i].name || !j->headers[i].value)
                goto nomem;
        }
        j->n_headers = o->n_headers;
    }
    j->key = o ? o->key : NULL;
    j->front = lx_arena_strdup(j->arena, o && o->front ? o->front : "cli");
    j->stream = o ? o->stream : true;
    if (o)
        j->timeouts = o->timeouts;
    j->sink = sink;
    j->ud = ud;
    j->att_slot = -1;
    lx_buf_init(&j->partial, PARTIAL_CAP);
    uv_update_time(d->loop);
    j->t0 = uv_now(d->loop);
    j->t0_ns = uv_hrtime();
    j->out.ts_ms = unix_ms();
    uv_timer_init(d->loop, &j->timer);
    j->timer.data = j;
    j->next = d->jobs;
    if (d->jobs)
        d->jobs->prev = j;
    d->jobs = j;
    *out = j;
    return LX_OK;
nomem:
    lx_request_free(j->req);
    lx_arena_free(j->arena);
    free(j);
    return lx_fail(err, LX_ERR_NOMEM, "out of memory");
}

static lx_status start_common(lx_dispatch *d, const lx_request *req, const lx_plan *plan,
                              const lx_job_opts *o, lx_event_fn sink, void *ud, lx_job **out,
                              lx_error *err)
{
    if (out)
        *out = NULL;
    if (!d || !req || !sink)
        return lx_fail(err, LX_ERR_INVALID, "dispatch: request and sink are required");
    lx_job *j = NULL;
    lx_status st = job_new(d, req, o, sink, ud, &j, err);
    if (st != LX_OK)
        return st;
    if (plan) {
        j->plan = (lx_plan *)plan;
        j->out.plan = plan;
    }
    if (out)
        *out = j;
    /* everything else happens on the loop, never inside the caller's call */
    uv_timer_start(&j->timer, on_begin_timer, 0, 0);
    return LX_OK;
}

lx_status lx_dispatch_start(lx_dispatch *d, const lx_request *req, const lx_job_opts *o,
                            lx_event_fn sink, void *ud, lx_job **out, lx_error *err)
{
    return start_common(d, req, NULL, o, sink, ud, out, err);
}

lx_status lx_dispatch_start_plan(lx_dispatch *d, const lx_request *req, const lx_plan *plan,
                                 const lx_job_opts *o, lx_event_fn sink, void *ud, lx_job **out,
                                 lx_error *err)
{
    if (!plan)
        return lx_fail(err, LX_ERR_INVALID, "dispatch: no plan");
    return start_common(d, req, plan, o, sink, ud, out, err);
}

void lx_job_cancel(lx_job *j)
{
    if (!j || j->finished || j->terminal_sent)
        return;
    j->cancelled = true;
    if (j->busy)
        return; /* inside the caller's sink: to_caller() sees it on return */
    job_end(j);
}

const lx_outcome *lx_job_outcome(const lx_job *j)
{
    return j ? &j->out : NULL;
}
