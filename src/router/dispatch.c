/*
 * dispatch.c — one job: route, run the plan's targets reliably, answer the
 * caller once, account for it (the contract is dispatch.h). This file: the
 * dispatch object and its providers, and starting a job (route, block,
 * cache, budget); the target loop is in dispatch_attempt.c, the caller's
 * side and the end of a job in dispatch_caller.c.
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

static int64_t unix_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- providers -------------------------------------------------------- */

lx_status lx_dx_provider_for(lx_dispatch *d, const lx_provider_cfg *pc, lx_provider **out,
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

lx_status lx_dispatch_new(const lx_services *svc, uv_loop_t *loop, lx_dispatch **out, lx_error *err)
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
        lx_dx_job_end(j); /* unlinks it */
    }
    for (size_t i = 0; i < d->n_provs; i++)
        lx_provider_free(d->provs[i]);
    free(d->provs);
    lx_route_scratch_free(d->scratch);
    free(d);
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
        double m = lx_dx_price_max(lx_dx_cfg(j), t->provider, t->model, t->prompt_tokens,
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
            lx_dx_fail(j, &err);
            return;
        }
    }
    j->out.overhead_us += (int64_t)((uv_hrtime() - ns0) / 1000);
    if (j->plan->action == LX_ACTION_BLOCK) {
        lx_error e = j->plan->block;
        if (e.code == LX_OK)
            e.code = LX_ERR_BLOCKED;
        lx_dx_fail(j, &e);
        return;
    }
    if (j->plan->n_targets == 0) {
        lx_error e;
        lx_fail(&e, LX_ERR_UNAVAILABLE, "no target can take this request");
        lx_dx_fail(j, &e);
        return;
    }
    /* cache */
    if (d->svc.account) {
        const lx_target *t0 = &j->plan->targets[0];
        snprintf(j->cache_target, sizeof j->cache_target, "%s/%s", t0->provider->name, t0->model);
        int cd = lx_dx_cache_decide(d->svc.account, lx_dx_cfg(j), j->req, j->headers, j->n_headers,
                                    j->cache_target);
        if (cd != LX_CACHE_SKIP) {
            lx_response *hit = NULL;
            if (cd == LX_CACHE_USE &&
                lx_dx_cache_get(d->svc.account, lx_dx_cfg(j), j->req, j->headers, j->n_headers,
                                j->cache_target, &hit) == LX_OK &&
                hit) {
                j->out.cached = true;
                j->att_target = t0;
                lx_dx_replay(j, hit);
                lx_response_free(hit);
                return;
            }
            j->cache_put = true;
            j->shadow_live = lx_collector_init(&j->shadow) == LX_OK;
        }
    }
    /* budget */
    lx_status st = reserve(j, &err);
    if (st == LX_ERR_LIMIT && lx_dx_cfg(j)->budgets.at_limit == LX_AT_LIMIT_LOCAL && j->own_plan &&
        plan_has_paid(j)) {
        lx_error e2;
        lx_error_clear(&e2);
        if (route(j, true, &e2) != LX_OK) {
            lx_dx_fail(j, &e2);
            return;
        }
        if (j->plan->action == LX_ACTION_BLOCK || j->plan->n_targets == 0) {
            lx_dx_fail(j, &err); /* nothing free to fall back to: the limit's message */
            return;
        }
        lx_error_clear(&err);
        st = reserve(j, &err);
    }
    if (st != LX_OK) {
        lx_dx_fail(j, &err);
        return;
    }
    j->draft = j->plan->cascade && j->plan->n_targets > 1;
    lx_dx_step(j);
}

static void on_begin_timer(uv_timer_t *t)
{
    begin(t->data);
}

/* owned: req is the caller's to give (freed here on failure too); else copied. */
static lx_status job_new(lx_dispatch *d, const lx_request *req, lx_request *owned,
                         const lx_job_opts *o, lx_event_fn sink, void *ud, lx_job **out,
                         lx_error *err)
{
    lx_job *j = calloc(1, sizeof *j);
    if (!j) {
        lx_request_free(owned);
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    }
    j->d = d;
    j->arena = lx_arena_new();
    j->req = owned ? owned : lx_request_clone(req);
    if (!j->arena || !j->req)
        goto nomem;
    if (o && o->n_headers) {
        j->headers = lx_arena_calloc(j->arena, o->n_headers, sizeof *j->headers);
        if (!j->headers)
            goto nomem;
        for (size_t i = 0; i < o->n_headers; i++) {
            j->headers[i].name = lx_arena_strdup(j->arena, o->headers[i].name);
            j->headers[i].value =
                lx_arena_strdup(j->arena, o->headers[i].value ? o->headers[i].value : "");
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

static lx_status start_common(lx_dispatch *d, const lx_request *req, lx_request *owned,
                              const lx_plan *plan, const lx_job_opts *o, lx_event_fn sink,
                              void *ud, lx_job **out, lx_error *err)
{
    if (out)
        *out = NULL;
    if (!d || !req || !sink) {
        lx_request_free(owned);
        return lx_fail(err, LX_ERR_INVALID, "dispatch: request and sink are required");
    }
    lx_job *j = NULL;
    lx_status st = job_new(d, req, owned, o, sink, ud, &j, err);
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
    return start_common(d, req, NULL, NULL, o, sink, ud, out, err);
}

lx_status lx_dispatch_start_owned(lx_dispatch *d, lx_request *req, const lx_job_opts *o,
                                  lx_event_fn sink, void *ud, lx_job **out, lx_error *err)
{
    return start_common(d, req, req, NULL, o, sink, ud, out, err);
}

lx_status lx_dispatch_start_plan(lx_dispatch *d, const lx_request *req, const lx_plan *plan,
                                 const lx_job_opts *o, lx_event_fn sink, void *ud, lx_job **out,
                                 lx_error *err)
{
    if (!plan)
        return lx_fail(err, LX_ERR_INVALID, "dispatch: no plan");
    return start_common(d, req, NULL, plan, o, sink, ud, out, err);
}

void lx_job_cancel(lx_job *j)
{
    if (!j || j->finished || j->terminal_sent)
        return;
    j->cancelled = true;
    if (j->busy)
        return; /* inside the caller's sink: to_caller() sees it on return */
    lx_dx_job_end(j);
}

const lx_outcome *lx_job_outcome(const lx_job *j)
{
    return j ? &j->out : NULL;
}
