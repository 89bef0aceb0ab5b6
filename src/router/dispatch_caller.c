/*
 * dispatch_caller.c — what the caller of a job sees, and how a job ends.
 *
 * START is held back until the first content of the attempt that wins (or
 * the replay of a whole answer), so a failover before content is invisible;
 * USAGE is held and sent once, just before FINISH; exactly one FINISH or
 * ERROR ends the stream. A sink that refuses an event cancels the job.
 * The end (lx_dx_job_end) prices and settles, records the ledger row,
 * stores a cache entry, and frees the job from its timer's close callback
 * on a later loop turn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/dispatch_int.h"

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
    j->out.ttft_ms = lx_dx_elapsed_ms(j);
    lx_event ev = {.kind = LX_EV_START,
                   .id = j->att_id[0] ? j->att_id : NULL,
                   .model = j->att_model[0] ? j->att_model
                            : j->att_target ? j->att_target->model
                                            : NULL};
    return to_caller(j, &ev);
}

lx_status lx_dx_caller_content(lx_job *j, const lx_event *ev)
{
    lx_status st = caller_start(j);
    if (st != LX_OK)
        return st;
    if (ev->kind == LX_EV_TEXT && ev->len)
        lx_buf_append(&j->partial, ev->text, ev->len); /* best effort; capped */
    if (ev->kind == LX_EV_TOOL_START || ev->kind == LX_EV_TOOL_ARGS || ev->kind == LX_EV_TOOL_END)
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
void lx_dx_job_end(lx_job *j)
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
        j->out.latency_ms = lx_dx_elapsed_ms(j);
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
        lx_dx_ledger_row(&j->out, lx_dx_cfg(j), j->key, j->front, j->calls, j->req, answer, &row,
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
        j->out.cost_usd =
            j->prior_cost + lx_dx_price(lx_dx_cfg(j), t->provider, t->model, &j->att_usage);
        const lx_provider_cfg *ep = NULL;
        const char *em = NULL;
        const char *esc = lx_dx_cfg(j)->routing.escalate;
        if (esc && lx_config_resolve(lx_dx_cfg(j), esc, &ep, &em, NULL) == LX_OK) {
            double would = lx_dx_price(lx_dx_cfg(j), ep, em, &j->out.usage);
            j->out.saved_usd = would > j->out.cost_usd ? would - j->out.cost_usd : 0;
        }
    } else if (j->out.cached && t) {
        const lx_provider_cfg *ep = NULL;
        const char *em = NULL;
        const char *esc = lx_dx_cfg(j)->routing.escalate;
        double would = lx_dx_price(lx_dx_cfg(j), t->provider, t->model, &j->out.usage);
        if (esc && lx_config_resolve(lx_dx_cfg(j), esc, &ep, &em, NULL) == LX_OK) {
            double w2 = lx_dx_price(lx_dx_cfg(j), ep, em, &j->out.usage);
            if (w2 > would)
                would = w2;
        }
        j->out.saved_usd = would;
    }
}

/* Ends the job with an ERROR to the caller. */
void lx_dx_fail(lx_job *j, const lx_error *e)
{
    if (j->finished)
        return;
    j->out.status = e->code != LX_OK ? e->code : LX_ERR_INTERNAL;
    j->out.error = *e;
    j->out.error.code = j->out.status;
    j->out.http_status = lx_error_http_status(&j->out.error);
    j->out.finish = LX_FINISH_ERROR;
    j->out.latency_ms = lx_dx_elapsed_ms(j);
    if (!j->out.target && j->att_target)
        j->out.target = j->att_target;
    /* a partial answer the caller got was billed by its provider: its usage
     * and cost stay on the record (a stream cut without its terminator is
     * finalised with the usage it carried) */
    j->out.usage = j->prior_usage;
    j->out.cost_usd = j->prior_cost;
    lx_event ev = {.kind = LX_EV_ERROR, .error = &j->out.error};
    to_caller(j, &ev);
    lx_dx_job_end(j);
}

/* Sends the held USAGE and the FINISH: the answer is complete. */
void lx_dx_finish(lx_job *j, lx_finish finish, const char *stop)
{
    if (j->finished)
        return;
    if (caller_start(j) != LX_OK) {
        lx_dx_job_end(j);
        return;
    }
    j->out.status = LX_OK;
    j->out.finish = finish ? finish : LX_FINISH_STOP;
    j->out.http_status = 200;
    j->out.latency_ms = lx_dx_elapsed_ms(j);
    price_answer(j);
    if (j->has_usage) {
        lx_event u = {.kind = LX_EV_USAGE, .usage = j->out.usage};
        if (to_caller(j, &u) != LX_OK) {
            lx_dx_job_end(j);
            return;
        }
    }
    lx_event ev = {.kind = LX_EV_FINISH, .finish = j->out.finish, .text = stop};
    to_caller(j, &ev);
    lx_dx_job_end(j);
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
        lx_dx_finish(j, ev->finish, ev->text);
        return LX_OK;
    case LX_EV_ERROR:
        return LX_OK;
    default:
        return lx_dx_caller_content(j, ev);
    }
}

void lx_dx_replay(lx_job *j, lx_response *r)
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
            lx_dx_fail(j, &e);
        } else {
            lx_dx_job_end(j);
        }
    }
}
