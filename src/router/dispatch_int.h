/*
 * dispatch_int.h — shared by the files of the dispatcher, not a public API.
 *
 *   dispatch.c          the dispatch object, providers, starting a job:
 *                       route, block, cache, budget; cancel
 *   dispatch_attempt.c  the target loop: attempts, retries and backoff,
 *                       failover, mid-stream policy, cascade draft
 *   dispatch_caller.c   what the caller sees (START held back, one USAGE,
 *                       one terminal event) and the end of a job
 *   dispatch_errors.c   what an attempt's error means (retry, fail over, end)
 *   dispatch_outcome.c  lx_outcome_json, the ledger row
 *   dispatch_ext.c      the seams to redaction, cascade and accounting
 */
#ifndef LX_ROUTER_DISPATCH_INT_H
#define LX_ROUTER_DISPATCH_INT_H

#include "guard/redact.h"
#include "provider/provider.h"
#include "router/cascade.h"
#include "router/dispatch.h"

/* ---- the objects (shared by dispatch*.c) ---- */

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
    uint64_t t0;    /* uv_now at start */
    uint64_t t0_ns; /* uv_hrtime at start */
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
    bool in_call;     /* an attempt is running */
    bool att_done;    /* its terminal event arrived */
    bool att_content; /* it produced content */
    bool att_has_usage;
    bool att_unusable; /* its provider could not be made */
    lx_usage att_usage;
    int att_slot; /* index in out.attempts, -1 when past the array */
    uint64_t att_t0;
    const lx_target *att_target;
    char att_id[128], att_model[160];
    lx_collector col; /* buffer: cascade draft, non-streaming caller */
    bool col_live;
    double lp_sum;
    int64_t lp_n;
    lx_restore *restore;     /* current attempt's filter */
    lx_restore *restore_old; /* freed on the next step (never inside its own callback) */
    lx_request *cont_req;    /* the continuation request */

    /* the caller */
    bool start_sent, content_sent, tools_sent, terminal_sent;
    lx_buf partial; /* TEXT sent so far (for a continuation) */
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
    bool cache_put; /* store the answer under cache_target */
    char cache_target[200];

    lx_error last_err;
    bool have_err;
    bool cancelled; /* the caller went away */
    bool finished;  /* terminal handled, job unlinked */
    int busy;       /* inside the caller's sink */
};

/* ---- small helpers ---- */

static inline uint64_t lx_dx_rng(lx_dispatch *d)
{
    /* xorshift64*: jitter only, not security */
    uint64_t x = d->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->rng = x;
    return x * 2685821657736338717ull;
}

static inline int64_t lx_dx_elapsed_ms(const lx_job *j)
{
    uv_update_time(j->d->loop);
    return (int64_t)(uv_now(j->d->loop) - j->t0);
}

static inline const lx_config *lx_dx_cfg(const lx_job *j)
{
    return j->d->svc.config;
}

static inline const lx_reliability_cfg *lx_dx_rel(const lx_job *j)
{
    return &j->d->svc.config->reliability;
}

static inline void lx_dx_usage_add(lx_usage *a, const lx_usage *b)
{
    a->input += b->input;
    a->cache_read += b->cache_read;
    a->cache_write += b->cache_write;
    a->output += b->output;
    a->reasoning += b->reasoning;
}

static inline void lx_dx_note_error(lx_job *j, const lx_error *e, const lx_target *t)
{
    j->last_err = *e;
    if (!j->last_err.provider[0] && t && t->provider)
        lx_strlcpy(j->last_err.provider, t->provider->name, sizeof j->last_err.provider);
    if (j->last_err.code == LX_OK)
        j->last_err.code = LX_ERR_INTERNAL;
    j->have_err = true;
}

/* ---- across the files ---- */
/* dispatch.c */
lx_status lx_dx_provider_for(lx_dispatch *d, const lx_provider_cfg *pc, lx_provider **out,
                             lx_error *err);
/* dispatch_attempt.c: runs whatever comes next (the target at ti, or the end) */
void lx_dx_step(lx_job *j);
/* dispatch_caller.c */
lx_status lx_dx_caller_content(lx_job *j, const lx_event *ev);
void lx_dx_finish(lx_job *j, lx_finish finish, const char *stop);
void lx_dx_fail(lx_job *j, const lx_error *e);
void lx_dx_replay(lx_job *j, lx_response *r);
void lx_dx_job_end(lx_job *j);

/* What to do after an attempt failed. */
typedef enum {
    LX_DX_RETRY = 0, /* 429, 5xx, connection errors: again on the same target after a pause */
    LX_DX_FAILOVER,  /* timeouts, protocol errors, a target that cannot encode: next target */
    LX_DX_CONTEXT,   /* context length exceeded: next target with a larger context */
    LX_DX_POLICY,    /* content policy: end with the provider's reason */
    LX_DX_FATAL,     /* other 4xx and internal errors: end */
    LX_DX_CANCELLED,
} lx_dx_class;

typedef struct lx_dx_verdict {
    lx_dx_class cls;
    bool breaker_failure; /* counts toward opening the breaker */
    bool unreachable;     /* connection-level: refused, reset before a byte, DNS */
    bool verdict;         /* false: give the breaker's probe slot back, no verdict */
} lx_dx_verdict;

lx_dx_verdict lx_dx_classify(const lx_error *e);
bool lx_dx_is_context_error(const lx_error *e);
bool lx_dx_is_policy_error(const lx_error *e);

/* ---- the ledger row of an outcome (dispatch_outcome.c) ---- */
typedef struct lx_dx_row_scratch {
    char privacy[512];
    char *prompt, *answer; /* heap, only with ledger.store_prompts */
} lx_dx_row_scratch;
/* Fills row from o; strings point into o, the plan, the config or rs.
 * answer: the text the caller received (may be NULL). */
void lx_dx_ledger_row(const lx_outcome *o, const lx_config *cfg, const lx_key_cfg *key,
                      const char *front, int calls, const lx_request *req, const char *answer,
                      lx_ledger_row *row, lx_dx_row_scratch *rs);
void lx_dx_row_scratch_free(lx_dx_row_scratch *rs);

/* ---- seams (dispatch_ext.c): redaction, cascade and accounting ---- */
lx_status lx_dx_redact(const lx_request *req, const lx_plan *plan, lx_request **out,
                       lx_redaction **map, lx_error *err);
void lx_dx_redaction_free(lx_redaction *m);
size_t lx_dx_redaction_count(const lx_redaction *m);
lx_status lx_dx_restore_new(const lx_redaction *m, lx_event_fn sink, void *ud, lx_restore **out);
lx_status lx_dx_restore_event(void *restore, const lx_event *ev);
void lx_dx_restore_free(lx_restore *r);
void lx_dx_cascade_check(const lx_config *cfg, const lx_request *req, const lx_response *draft,
                         double logprob_sum, int64_t n_tokens, lx_cascade_verdict *out);
/* The cache: LX_OK with *out (caller frees) on a hit; LX_ERR_NOTFOUND when
 * not wanted or a miss. */
lx_status lx_dx_cache_get(lx_account *a, const lx_config *cfg, const lx_request *req,
                          const lx_header *h, size_t nh, const char *target, lx_response **out);
/* lx_cache_decision (account.h); LX_CACHE_SKIP without an account. */
int lx_dx_cache_decide(lx_account *a, const lx_config *cfg, const lx_request *req,
                       const lx_header *h, size_t nh, const char *target);
void lx_dx_cache_put(lx_account *a, const lx_request *req, const char *target,
                     const lx_response *resp);
lx_status lx_dx_reserve(lx_account *a, const lx_key_cfg *key, double max_usd, int64_t tokens,
                        lx_reservation *r, int64_t *retry_after_s, lx_error *err);
void lx_dx_settle(lx_account *a, lx_reservation *r, double usd, int64_t tokens);
double lx_dx_price(const lx_config *cfg, const lx_provider_cfg *p, const char *model,
                   const lx_usage *u);
double lx_dx_price_max(const lx_config *cfg, const lx_provider_cfg *p, const char *model,
                       int64_t prompt_tokens, int64_t max_output);
void lx_dx_record(lx_account *a, const lx_ledger_row *row);

#endif
