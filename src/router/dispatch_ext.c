/*
 * dispatch_ext.c — the dispatcher's seams to redaction (guard/redact.h),
 * the cascade validator (router/cascade.h) and accounting
 * (account/account.h): one place that names those modules, so the job
 * logic in dispatch.c reads the same whichever of them is present.
 * Every accounting call accepts a NULL account (no ledger, budgets or
 * cache): then it does nothing, and prices still come from the catalogue.
 */
#include <stdio.h>
#include <string.h>

#include "router/dispatch_int.h"

lx_status lx_dx_redact(const lx_request *req, const lx_plan *plan, lx_request **out,
                       lx_redaction **map, lx_error *err)
{
    return lx_redact_request(req, &plan->findings, out, map, err);
}

void lx_dx_redaction_free(lx_redaction *m)
{
    lx_redaction_free(m);
}

size_t lx_dx_redaction_count(const lx_redaction *m)
{
    return m ? lx_redaction_count(m) : 0;
}

lx_status lx_dx_restore_new(const lx_redaction *m, lx_event_fn sink, void *ud, lx_restore **out)
{
    return lx_restore_new(m, sink, ud, out);
}

lx_status lx_dx_restore_event(void *restore, const lx_event *ev)
{
    return lx_restore_event(restore, ev);
}

void lx_dx_restore_free(lx_restore *r)
{
    if (r)
        lx_restore_free(r);
}

void lx_dx_cascade_check(const lx_config *cfg, const lx_request *req, const lx_response *draft,
                         double logprob_sum, int64_t n_tokens, lx_cascade_verdict *out)
{
    lx_cascade_check(&cfg->routing, req, draft, logprob_sum, n_tokens, out);
}

lx_status lx_dx_cache_get(lx_account *a, const lx_config *cfg, const lx_request *req,
                          const lx_header *h, size_t nh, const char *target, lx_response **out)
{
    (void)cfg;
    (void)h;
    (void)nh;
    *out = NULL;
    if (!a)
        return LX_ERR_NOTFOUND;
    return lx_cache_lookup(a, req, target, out);
}

int lx_dx_cache_decide(lx_account *a, const lx_config *cfg, const lx_request *req,
                       const lx_header *h, size_t nh, const char *target)
{
    if (!a)
        return LX_CACHE_SKIP;
    return (int)lx_cache_decide(cfg, req, h, nh, target);
}

void lx_dx_cache_put(lx_account *a, const lx_request *req, const char *target,
                     const lx_response *resp)
{
    if (a)
        lx_cache_store(a, req, target, resp);
}

lx_status lx_dx_reserve(lx_account *a, const lx_key_cfg *key, double max_usd, int64_t tokens,
                        lx_reservation *r, int64_t *retry_after_s, lx_error *err)
{
    memset(r, 0, sizeof *r);
    if (retry_after_s)
        *retry_after_s = 0;
    if (!a)
        return LX_OK;
    return lx_budget_reserve(a, key, max_usd, tokens, r, retry_after_s, err);
}

void lx_dx_settle(lx_account *a, lx_reservation *r, double usd, int64_t tokens)
{
    if (a)
        lx_budget_settle(a, r, usd, tokens);
    r->active = false;
}

double lx_dx_price(const lx_config *cfg, const lx_provider_cfg *p, const char *model,
                   const lx_usage *u)
{
    bool known = false;
    if (!p || !u)
        return 0;
    return lx_price_usd(cfg, p, model, u, &known);
}

double lx_dx_price_max(const lx_config *cfg, const lx_provider_cfg *p, const char *model,
                       int64_t prompt_tokens, int64_t max_output)
{
    if (!p)
        return 0;
    return lx_price_max_usd(cfg, p, model, prompt_tokens, max_output);
}

void lx_dx_record(lx_account *a, const lx_ledger_row *row)
{
    if (a)
        lx_account_record(a, row);
}
