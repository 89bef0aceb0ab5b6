/*
 * dispatch_attempt.c — the target loop of a job: one provider call at a
 * time on targets[ti], from the job's timer (never inside the callbacks of
 * the call before it).
 *
 * Per target: the privacy lock (a remote target of a sensitive route_local
 * plan is never called), the breaker (open: skipped), the deadline; then
 * the call, with the redacted or continued request and the restore filter.
 * After it: FINISH answers (a cascade draft is validated first); ERROR is
 * classified (dispatch_errors.c) into retry here after a pause (full
 * jitter, or Retry-After), fail over, a larger context, or the end; with
 * content already sent, reliability.midstream decides between an ERROR and
 * a continuation on the next target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/dispatch_int.h"

/* ---- attempts ---------------------------------------------------------- */

static void on_step_timer(uv_timer_t *t)
{
    lx_dx_step(t->data);
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
    a->start_ms = lx_dx_elapsed_ms(j);
    lx_strlcpy(a->error, why, sizeof a->error);
}

static void attempt_close(lx_job *j, lx_status st, const lx_error *e)
{
    lx_attempt *a = attempt_rec(j);
    if (a) {
        a->status = st;
        a->ms = lx_dx_elapsed_ms(j) - a->start_ms;
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
    j->att_done = j->att_content = j->att_has_usage = j->att_unusable = false;
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
        a->start_ms = lx_dx_elapsed_ms(j);
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
    if (lx_dx_provider_for(d, t->provider, &p, &err) != LX_OK) {
        j->att_unusable = true; /* e.g. a model file that cannot be loaded */
        goto fail;
    }
    const lx_request *req = request_for(j, t, &err);
    if (!req)
        goto fail;

    /* the call's total time never runs past the job's deadline */
    int64_t left = lx_dx_rel(j)->retry.deadline_ms - lx_dx_elapsed_ms(j);
    lx_call_opts co = {.model = t->model, .stream = j->stream, .timeouts = j->timeouts};
    int64_t total =
        co.timeouts.total_ms > 0 ? co.timeouts.total_ms : t->provider->timeouts.total_ms;
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
    const lx_retry_cfg *r = &lx_dx_rel(j)->retry;
    int shift = j->tries - 1 < 30 ? j->tries - 1 : 30;
    int64_t cap = r->base_ms << shift;
    if (cap > r->max_ms || cap <= 0)
        cap = r->max_ms;
    return (int64_t)(lx_dx_rng(j->d) % (uint64_t)(cap + 1));
}

/* The fallback refused to continue a partial answer (a 4xx or a context
 * error on the continuation request): the job ends with that error. */
static void fail_continuation(lx_job *j)
{
    lx_error e = j->last_err;
    snprintf(e.message, sizeof e.message,
             "the fallback rejected the continuation of a partial answer: %.400s",
             j->last_err.message);
    lx_dx_fail(j, &e);
}

/* An attempt ended without an answer: retry, fail over, continue or end. */
static void attempt_failed(lx_job *j, const lx_error *e)
{
    lx_dispatch *d = j->d;
    const lx_target *t = j->att_target;
    const lx_reliability_cfg *rel = lx_dx_rel(j);
    lx_dx_verdict v = lx_dx_classify(e);
    if (j->att_unusable) /* the provider could not be made: no retry, no verdict */
        v = (lx_dx_verdict){.cls = LX_DX_FAILOVER};
    lx_dx_note_error(j, e, t);
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
            lx_dx_job_end(j);
        return;
    }
    if (j->att_has_usage && j->att_content && j->content_sent && t) {
        /* billed, and part of what the caller got */
        lx_dx_usage_add(&j->prior_usage, &j->att_usage);
        j->prior_cost += lx_dx_price(lx_dx_cfg(j), t->provider, t->model, &j->att_usage);
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
        bool can_continue =
            rel->midstream == LX_MIDSTREAM_CONTINUE && !j->tools_sent && j->partial.len > 0 &&
            v.cls != LX_DX_POLICY &&
            !(j->continuing && (v.cls == LX_DX_FATAL || v.cls == LX_DX_CONTEXT) && !j->att_content);
        size_t k = can_continue ? next_target(j, j->ti + 1) : j->plan->n_targets;
        if (k < j->plan->n_targets && j->plan->targets[k].redact && j->plan->findings.n)
            k = j->plan->n_targets; /* the partial holds restored values: never sent out */
        if (k >= j->plan->n_targets) {
            if (j->continuing && (v.cls == LX_DX_FATAL || v.cls == LX_DX_CONTEXT))
                fail_continuation(j);
            else
                lx_dx_fail(j, &j->last_err);
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
        fail_continuation(j);
        return;
    }

    switch (v.cls) {
    case LX_DX_POLICY:
    case LX_DX_FATAL:
        lx_dx_fail(j, &j->last_err);
        return;
    case LX_DX_CONTEXT: {
        int64_t cur = t && t->info ? t->info->context : 0;
        size_t k = j->ti + 1;
        for (; k < j->plan->n_targets; k++) {
            const lx_target *c = &j->plan->targets[k];
            /* a known larger window; or one the catalogue does not know
             * (it may be larger: a wrong guess costs one quick 400) */
            bool larger = !c->info || c->info->context <= 0 || !cur || c->info->context > cur;
            if (!privacy_forbids(j, c) && larger)
                break;
        }
        if (k >= j->plan->n_targets) {
            lx_dx_fail(j, &j->last_err);
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
            if (lx_dx_elapsed_ms(j) + delay < rel->retry.deadline_ms) {
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
    lx_response *r = NULL;
    if (j->draft || !j->stream) { /* a collected answer: it must assemble */
        lx_status fst = lx_collector_event(&j->col, fin);
        r = fst == LX_OK ? lx_collector_take(&j->col) : NULL;
        if (!r) {
            lx_error e;
            lx_fail(&e, LX_ERR_PROTO, "the answer could not be assembled");
            lx_strlcpy(e.provider, t->provider->name, sizeof e.provider);
            attempt_failed(j, &e);
            return;
        }
    }
    attempt_close(j, LX_OK, NULL);
    j->att_done = true;
    if (d->svc.breakers && t)
        lx_breakers_report(d->svc.breakers, t->provider->name, t->model, false, false,
                           lx_breakers_now(d->svc.breakers));
    lx_usage u = j->prior_usage;
    if (j->att_has_usage)
        lx_dx_usage_add(&u, &j->att_usage);
    j->out.usage = u;
    if (j->continuing)
        j->out.target = t; /* the answer ends with its words */
    j->has_usage = j->att_has_usage || j->prior_usage.input || j->prior_usage.output;

    if (r) {
        if (j->draft) {
            lx_cascade_verdict cv;
            lx_dx_cascade_check(lx_dx_cfg(j), j->req, r, j->lp_sum, j->lp_n, &cv);
            j->out.cascade_ran = true;
            j->out.cascade_pass = cv.pass;
            lx_strlcpy(j->out.cascade_reason,
                       cv.detail[0] ? cv.detail
                       : cv.reason  ? cv.reason
                                    : "",
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
        lx_dx_replay(j, r);
        lx_response_free(r);
        return;
    }
    lx_dx_finish(j, fin->finish, fin->text);
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
            st = lx_dx_caller_content(j, ev);
        }
        break;
    }
    if (j->cancelled) {
        j->call = NULL; /* refused: the provider cancels and frees it */
        lx_dx_job_end(j);
        return LX_ERR_CANCELLED;
    }
    return st;
}

/* Runs whatever comes next: the target at ti, or the end. */
void lx_dx_step(lx_job *j)
{
    if (j->finished)
        return;
    if (j->restore_old) {
        lx_dx_restore_free(j->restore_old);
        j->restore_old = NULL;
    }
    lx_dispatch *d = j->d;
    const lx_reliability_cfg *rel = lx_dx_rel(j);
    while (j->ti < j->plan->n_targets) {
        const lx_target *t = &j->plan->targets[j->ti];
        const char *why = privacy_forbids(j, t);
        if (why) {
            record_skip(j, t, LX_ERR_BLOCKED, why);
            j->ti++;
            j->tries = 0;
            continue;
        }
        if (lx_dx_elapsed_ms(j) >= rel->retry.deadline_ms) {
            lx_error e;
            if (j->have_err) {
                e = j->last_err; /* the real cause, with the deadline named */
                char msg[sizeof e.message];
                snprintf(msg, sizeof msg, "%.400s (gave up: deadline of %lld ms reached)",
                         j->last_err.message, (long long)rel->retry.deadline_ms);
                lx_strlcpy(e.message, msg, sizeof e.message);
            } else {
                lx_fail(&e, LX_ERR_TIMEOUT, "deadline of %lld ms reached before an answer",
                        (long long)rel->retry.deadline_ms);
            }
            lx_dx_fail(j, &e);
            return;
        }
        if (d->svc.breakers && !lx_breakers_allow(d->svc.breakers, t->provider->name, t->model,
                                                  lx_breakers_now(d->svc.breakers))) {
            if (j->tries == 0)
                record_skip(j, t, LX_ERR_UNAVAILABLE, "circuit breaker open");
            if (!j->have_err) {
                lx_fail(&j->last_err, LX_ERR_UNAVAILABLE, "%s/%s is failing (circuit breaker open)",
                        t->provider->name, t->model);
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
    lx_dx_fail(j, &e);
}
