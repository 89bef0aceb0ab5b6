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
 * states) are added through lx_metrics_gauge before rendering. */
void lx_metrics_gauge(lx_metrics *m, const char *name, const char *help, const char *labels,
                      double value);
lx_status lx_metrics_render(lx_metrics *m, lx_buf *out);

#endif
