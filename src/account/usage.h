/*
 * usage.h — reports over the ledger (`llmux usage`).
 *
 * A report groups every request from `since` on by provider, model
 * ("provider/model"), key, UTC day or route, from the raw rows and, for
 * days already rolled up, from the daily aggregates (store.h). For each
 * group: requests, errors, cache hits, tokens in and out (canonical
 * counters), cost, "saved", latency p50/p95, local share.
 *
 *   saved       what the same tokens would have cost on the escalation
 *               model (routing.escalate; unset: default_model when remote,
 *               else the first remote provider's first model) minus what
 *               they did cost. Negative when a pricier model answered.
 *               Computed at report time from the token counters, so it
 *               follows the current prices and config.
 *   p50 / p95   nearest-rank percentiles of total latency, from raw rows
 *               only (rollups keep sums): n_raw says how many rows they
 *               rest on; -1 when none. Counted in a fixed histogram per
 *               group (about 17 KiB, whatever the number of rows): exact
 *               below 1024 ms, above that rounded down to within 1/64
 *               (1.6%).
 *   local       requests whose route was "local".
 *
 * Ownership: lx_usage_report_build fills a report the caller frees with
 * lx_usage_report_free.
 */
#ifndef LX_ACCOUNT_USAGE_H
#define LX_ACCOUNT_USAGE_H

#include "config/config.h"
#include "core/buf.h"
#include "store/store.h"

typedef enum {
    LX_BY_MODEL = 0,
    LX_BY_PROVIDER,
    LX_BY_KEY,
    LX_BY_DAY,
    LX_BY_ROUTE,
} lx_usage_by;

typedef struct lx_usage_group {
    char name[160];
    int64_t requests, errors, cached, local;
    lx_usage tokens;
    double cost_usd, saved_usd;
    int64_t latency_sum_ms;
    int64_t n_raw;          /* raw rows (the percentiles' base) */
    int64_t p50_ms, p95_ms; /* -1 when n_raw is 0 */
    int64_t bytes_out;
    /* private: latency histogram (usage.c) */
    uint32_t *hist;
} lx_usage_group;

typedef struct lx_usage_report {
    lx_usage_by by;
    int64_t since_ms;
    lx_usage_group *groups; /* sorted by cost, then requests, descending (by day: by date) */
    size_t n_groups;
    lx_usage_group total;
    int64_t rollup_requests; /* requests that came from daily rollups */
    char escalate[200];      /* "provider/model" used for saved; "" when none */
    bool saved_known;        /* the escalation model has a price */
} lx_usage_report;

/* "7d", "24h", "90m", "2026-11-01" (UTC midnight) or "2026-11-01T12:00:00Z"
 * -> unix ms. LX_ERR_USAGE with a message otherwise. */
lx_status lx_usage_parse_since(const char *s, int64_t now_ms, int64_t *out, lx_error *err);
/* "provider", "model", "key", "day", "route". */
lx_status lx_usage_parse_by(const char *s, lx_usage_by *out, lx_error *err);
const char *lx_usage_by_name(lx_usage_by by);

/* Builds a report; s may be NULL (an empty report). */
lx_status lx_usage_report_build(const lx_config *cfg, lx_store *s, int64_t since_ms, lx_usage_by by,
                                lx_usage_report *out, lx_error *err);
void lx_usage_report_free(lx_usage_report *r);

/* The report as one JSON object (see docs/accounting.md). */
lx_status lx_usage_report_json(const lx_usage_report *r, lx_buf *out);

#endif
