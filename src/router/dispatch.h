/*
 * dispatch.h — runs a request end to end: route, then carry out the plan
 * reliably, and account for it. Both front ends (the CLI and the HTTP
 * server) use this and nothing below it.
 *
 * A job:
 *   1. routes the request (router.h) with the caller's headers and key and
 *      the live provider health (breakers);
 *   2. for a BLOCK plan: emits one ERROR event (plan->block) and ends;
 *   3. checks the response cache (account.h) when the request wants it,
 *      and replays a hit as a stream;
 *   4. reserves budget (at the limit: a paid target is skipped when the
 *      policy says "local", or the job fails with LX_ERR_LIMIT);
 *   5. runs the targets in order. Per target: up to retry.max_attempts
 *      tries with exponential backoff and full jitter on 429, 5xx and
 *      connection errors, Retry-After honoured (longer than
 *      max_retry_after_ms: move on instead), never past retry.deadline_ms
 *      across the whole job. No retry on errors that cannot change:
 *      context length exceeded moves to the next target with a larger
 *      context; content policy ends the job with the provider's reason;
 *      other 4xx end it. A timeout (connect, first byte, idle) is not
 *      retried on the same target: the job fails over.
 *      Every attempt's result feeds the breaker of provider/model.
 *   6. redaction: a target with redact=true gets a copy of the request with
 *      placeholders (guard/redact.h) and its events are restored before
 *      they reach the sink;
 *   7. cascade: when plan->cascade, targets[0] (local) runs to completion
 *      into a buffer, the validator (router/cascade.h) decides, and either
 *      the buffered answer is replayed or the job escalates to the next
 *      target (streaming callers see only the answer that passed);
 *   8. mid-stream failure (cut, stall, malformed event, missing terminator)
 *      before anything was sent to the caller: transparent failover. After
 *      content was sent: reliability.midstream "continue" resumes on the
 *      next target that accepts an assistant prefill (the partial answer
 *      is sent as a trailing assistant message and the continuation is
 *      streamed on); otherwise, or when that fails too, the stream ends with
 *      an ERROR event — never a FINISH for a truncated answer;
 *   9. records one ledger row and settles the budget.
 *
 * Events at the sink, on the loop's thread: START (id, model = the model
 * that answers; lx_job_outcome(j)->target is set by then) is held back until
 * the first content event of the attempt that wins, so a failover before
 * any content is invisible; then TEXT / THINKING / TOOL_* / USAGE; then
 * exactly one FINISH or ERROR. A BLOCK or a job that fails before any
 * content gets ERROR without START. After the terminal event returns, the
 * job is freed. A sink that returns non-OK cancels the job exactly as
 * lx_job_cancel would (no more events, recorded "cancelled"): the caller
 * must drop its handle then and not cancel it again.
 *
 * Threads: an lx_dispatch belongs to one loop (one per worker thread) and
 * owns the providers for that loop; lx_services are shared by all loops.
 */
#ifndef LX_ROUTER_DISPATCH_H
#define LX_ROUTER_DISPATCH_H

#include <uv.h>

#include "account/account.h"
#include "config/config.h"
#include "core/types.h"
#include "provider/provider.h"
#include "router/breaker.h"
#include "router/router.h"

/* Process-wide services, each thread-safe; the caller owns them and keeps
 * them alive longer than every dispatch made from them. */
typedef struct lx_services {
    const lx_config *config;
    lx_router *router;
    lx_breakers *breakers; /* NULL: no breakers */
    lx_account *account;   /* NULL: no ledger, budgets or cache */
} lx_services;

typedef struct lx_dispatch lx_dispatch;
typedef struct lx_job lx_job;

lx_status lx_dispatch_new(const lx_services *svc, uv_loop_t *loop, lx_dispatch **out,
                          lx_error *err);
/* Cancels running jobs (no more events) and frees the providers. */
void lx_dispatch_free(lx_dispatch *d);

typedef struct lx_job_opts {
    const lx_header *headers; /* copied when needed; borrowed for the call only */
    size_t n_headers;
    const lx_key_cfg *key;    /* NULL: none */
    const char *front;        /* "cli", "openai", "anthropic", "ollama" (ledger) */
    bool stream;              /* the caller streams */
    lx_timeouts timeouts;     /* zero fields: the providers' own */
} lx_job_opts;

/* Attempts kept in an outcome: 4 targets x 3 tries; later ones are counted
 * in n_attempts only. (Every live job carries the array, so it is sized for
 * real plans, not the worst case.) */
#define LX_MAX_ATTEMPTS 12

typedef struct lx_attempt {
    const lx_target *target;
    lx_status status;    /* LX_OK for the attempt that answered */
    int http_status;
    int64_t start_ms, ms; /* relative to the job start, duration */
    char error[160];     /* short message, "" when ok */
    bool skipped;        /* passed over without a call (privacy, breaker open) */
} lx_attempt;

typedef struct lx_outcome {
    const lx_plan *plan;        /* set before the first event */
    const lx_target *target;    /* the one answering (set at START); last tried on failure */
    lx_attempt attempts[LX_MAX_ATTEMPTS];
    int n_attempts;             /* may exceed LX_MAX_ATTEMPTS; only the first are kept */
    lx_usage usage;             /* of the answer that reached the caller */
    double cost_usd, saved_usd;
    bool cached, escalated, redacted, continued;
    int redactions;             /* placeholders sent */
    int64_t ttft_ms, latency_ms;
    int64_t overhead_us;        /* llmux's own time: routing + encoding, no waiting */
    int64_t bytes_out;          /* request bytes sent to remote providers */
    lx_finish finish;
    lx_status status;           /* LX_OK, or the job's error code */
    lx_error error;             /* when status != LX_OK */
    /* cascade (plan->cascade): the validator's verdict on the local draft */
    bool cascade_ran, cascade_pass;
    char cascade_reason[128];   /* "ok", "invalid JSON", "low confidence (...)", ... */
    int64_t ts_ms;              /* job start, unix ms */
    int http_status;            /* the status the caller's answer maps to (200 when ok) */
} lx_outcome;

/* Starts a job; returns at once. The request is copied. Errors here only
 * for NOMEM or a dispatch being freed; everything else arrives as an ERROR
 * event. */
lx_status lx_dispatch_start(lx_dispatch *d, const lx_request *req, const lx_job_opts *o,
                            lx_event_fn sink, void *ud, lx_job **out, lx_error *err);
/* The same with a plan made by the caller instead of lx_route (tests, and
 * callers that routed already). The plan is borrowed: it must outlive the
 * job (until its terminal event returns or lx_job_cancel). Steps 2-9 run
 * as above; a budget re-route (step 4) is not possible and fails with
 * LX_ERR_LIMIT instead. */
lx_status lx_dispatch_start_plan(lx_dispatch *d, const lx_request *req, const lx_plan *plan,
                                 const lx_job_opts *o, lx_event_fn sink, void *ud, lx_job **out,
                                 lx_error *err);
/* lx_dispatch_start without the copy: takes ownership of req (allocated by
 * lx_request_new or a decoder), which the job frees, also when this fails.
 * For callers that have no use for the request after starting (the server). */
lx_status lx_dispatch_start_owned(lx_dispatch *d, lx_request *req, const lx_job_opts *o,
                                  lx_event_fn sink, void *ud, lx_job **out, lx_error *err);
/* Uses p for every target of provider cfg on this dispatch (tests: fake
 * providers). Takes ownership of p (freed by lx_dispatch_free); replaces
 * one made earlier. */
lx_status lx_dispatch_set_provider(lx_dispatch *d, const lx_provider_cfg *cfg, lx_provider *p);
/* The caller went away: no more events, upstream work stops at once, the
 * ledger records status "cancelled", the job is freed. */
void lx_job_cancel(lx_job *j);
/* Valid from the first event until the terminal event's callback returns. */
const lx_outcome *lx_job_outcome(const lx_job *j);

/* The decision as `llmux ask --json` and the server's x-llmux-* headers
 * show it: {"target":..,"provider":..,"model":..,"reason":..,
 * "attempts":[{"provider":..,"model":..,"status":..,"ms":..}],...}. */
lx_status lx_outcome_json(const lx_outcome *o, lx_buf *out);

#endif
