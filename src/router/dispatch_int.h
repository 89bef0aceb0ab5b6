/*
 * dispatch_int.h — shared by the files of the dispatcher, not a public API.
 *
 *   dispatch.c          the job: routing, the target loop, retries, events
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
