/*
 * metrics.h — the gateway's Prometheus metrics (GET /metrics).
 *
 * Counters and histograms per provider / model / route target ("local",
 * "cloud", "none") and front (dialect): requests by HTTP status, errors by
 * kind, tokens in / out, cost in USD, latency and time to first token
 * histograms, in-flight gauge, privacy findings by type and action, and
 * llmux's own overhead (routing + encoding, excluding waiting on providers)
 * as a separate histogram. Rendered in the Prometheus text exposition
 * format 0.0.4 with HELP and TYPE lines.
 *
 * Thread-safe: every worker thread records into the same lx_metrics
 * (cheap: a mutex-free fast path per worker shard, or one short mutex;
 * recording must not show up in the gateway benchmark). Label sets are
 * bounded: provider/model come from the config, never from request text,
 * so a hostile client cannot grow the series without bound.
 */
#ifndef LX_SERVER_METRICS_H
#define LX_SERVER_METRICS_H

#include "core/buf.h"
#include "core/status.h"
#include "router/dispatch.h"

typedef struct lx_metrics lx_metrics;

/* NULL on out of memory. */
lx_metrics *lx_metrics_new(void);
void lx_metrics_free(lx_metrics *m);

/* Requests being served now (+1 when a request is accepted, -1 when done). */
void lx_metrics_inflight(lx_metrics *m, int delta);

/* One finished request. front: "openai" | "anthropic" | "ollama" | "other";
 * o: the dispatcher's outcome (read during the terminal event), or NULL for
 * requests answered before dispatch (401, 400, 404, 413, ...). */
void lx_metrics_observe(lx_metrics *m, const char *front, int http_status, const lx_outcome *o);

/* Appends the exposition text. Extra gauges (ledger counters, breaker
 * states) are added through lx_metrics_gauge before rendering.
 *
 * lx_metrics_gauge sets (creates or overwrites) one gauge sample; calling it
 * again with the same name and labels replaces the value, so a caller may
 * refresh its gauges before every render. name: [a-zA-Z_:][a-zA-Z0-9_:]*,
 * not one of the built-in families; labels: NULL, "" or rendered label text
 * `k="v",k2="v2"` with values escaped (lx_metrics_escape). Anything invalid
 * is ignored, so the exposition stays parseable. At most 512 samples.
 * Strings are copied. */
void lx_metrics_gauge(lx_metrics *m, const char *name, const char *help, const char *labels,
                      double value);
/* The same with a TYPE: "counter" or "gauge" (anything else reads as gauge).
 * The first sample of a name decides its HELP and TYPE. */
void lx_metrics_sample(lx_metrics *m, const char *name, const char *help, const char *type,
                       const char *labels, double value);

/* Refreshes the samples that live in the services; call it before
 * lx_metrics_render. Adds the account's counters (lx_account_stats_each:
 * llmux_ledger_*, llmux_cache_*, llmux_budget_rejects_total; names ending in
 * _total are counters) and llmux_breaker_state{provider,model} (0 closed,
 * 1 open, 2 half-open) for every model the config lists and every
 * provider/model pair a request was answered by. NULL parts are skipped. */
void lx_metrics_collect(lx_metrics *m, const lx_services *svc);

/* Appends to out (nothing is reset). LX_ERR_TOOBIG when out's cap is hit. */
lx_status lx_metrics_render(lx_metrics *m, lx_buf *out);

/* Appends value escaped for a Prometheus label value (backslash, double
 * quote, newline), for callers building lx_metrics_gauge labels. */
lx_status lx_metrics_escape(lx_buf *out, const char *value);

/* Appends v exactly as printf("%.6f", v) would (the access log's cost_usd);
 * by hand for 0 <= v < 1000 when the rounding is clear, else printf. */
lx_status lx_metrics_put_fixed6(lx_buf *out, double v);

/* Label values, so that dashboards can rely on them:
 *   front     openai | anthropic | ollama | gemini | cli | other
 *   provider  a configured provider's name; "none" when no provider was
 *             involved (answered before dispatch, or blocked)
 *   model     the name at the provider when the config (provider models:)
 *             or the catalogue knows it, or the provider answered it
 *             successfully (first 256 such pairs); else "other"
 *   target    local | cloud | none (blocked or never dispatched)
 *   status    the HTTP status sent ("200", "404", ...)
 *   kind      lx_status_name() of the job's error, or for requests answered
 *             before dispatch: invalid, auth, blocked, not_found, method,
 *             too_big, media_type, limit, timeout, cancelled, upstream,
 *             unavailable, internal
 *   action    (privacy findings) blocked | redacted | local | sent | none
 * docs/metrics.md lists every family and its buckets. */

#endif
