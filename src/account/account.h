/*
 * account.h — what every request cost, what is left, and what is cached.
 *
 * One lx_account per process, shared by every thread (all functions are
 * thread-safe). It sits on the store interface (store/store.h): SQLite
 * (WAL) by default at config ledger.path.
 *
 *   prices    cost of a usage on the model that answered, from the catalogue
 *             (overridable in config); local targets cost 0, or the
 *             configured energy price.
 *   budgets   global (`budgets:`) and per key (`keys[].budget`), USD per day
 *             and per month (UTC), plus rate limits (requests and tokens per
 *             minute). A request reserves its worst-case cost before it is
 *             sent and settles the real cost after; reservations are atomic,
 *             so under any concurrency a budget is exceeded by at most one
 *             request's maximum cost. A $0 reservation never fails on a
 *             dollar budget (rate limits still apply).
 *   ledger    one row per request, queued and written in batches by a
 *             writer thread (never on the request's thread). Disk full or a
 *             read-only file: a warning on the log and a counter, never a
 *             failed request. Retention: raw rows older than
 *             ledger.retention_days are rolled into daily aggregates.
 *   cache     exact-match response cache keyed by the normalised request
 *             (target, messages, tools, sampling, format), with TTL and a
 *             size bound.
 *
 * Ownership: lx_account_open returns an account the caller closes with
 * lx_account_close (which flushes the queue). Rows and responses passed in
 * are copied; responses returned are owned by the caller.
 */
#ifndef LX_ACCOUNT_ACCOUNT_H
#define LX_ACCOUNT_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/types.h"

typedef struct lx_account lx_account;

/* Opens the store named by cfg->ledger (creating folders and the schema).
 * When the database cannot be opened the account still works (budgets and
 * limits in memory, ledger rows dropped with one warning). */
lx_status lx_account_open(const lx_config *cfg, lx_account **out, lx_error *err);
void lx_account_close(lx_account *a);

/* ---- prices ---- */
/* USD for usage `u` on provider p / model (0 for local unless an energy
 * price is configured; 0 when the catalogue has no price, `known` false). */
double lx_price_usd(const lx_config *cfg, const lx_provider_cfg *p, const char *model,
                    const lx_usage *u, bool *known);
/* Worst case for budget reservation: prompt tokens at the input price plus
 * max_output (or the model's max output) at the output price. */
double lx_price_max_usd(const lx_config *cfg, const lx_provider_cfg *p, const char *model,
                        int64_t prompt_tokens, int64_t max_output);

/* ---- budgets and rate limits ---- */
typedef struct lx_reservation {
    double usd;     /* reserved */
    int64_t tokens; /* reserved against tpm */
    char key_id[64];
    int64_t day, month; /* windows the reservation belongs to */
    bool active;
    int64_t minute;     /* rate-limit window (unix minute) */
    unsigned ops;       /* which counters were reserved (account/budget.c) */
} lx_reservation;

/* Reserves one request. LX_ERR_LIMIT when a budget or limit would be
 * exceeded, with a message naming it and when it resets ("global day budget
 * $5.00 reached ($4.98 spent); resets at 2026-11-25T00:00:00Z") and
 * *retry_after_s set (may be NULL). key may be NULL. */
lx_status lx_budget_reserve(lx_account *a, const lx_key_cfg *key, double max_usd,
                            int64_t tokens, lx_reservation *r, int64_t *retry_after_s,
                            lx_error *err);
/* Replaces the reservation with what was really spent (0 for a failure). */
void lx_budget_settle(lx_account *a, lx_reservation *r, double usd, int64_t tokens);
/* true when the dollar budgets of key (and global) have room for more than
 * $0 now; the router uses it to leave paid targets out (at_limit local). */
bool lx_budget_has_room(lx_account *a, const lx_key_cfg *key);

/* ---- cache ---- */
/* Whether this request may use the cache for target "provider/model":
 * config cache.mode and routes, header x-llmux-cache (on|off), temperature
 * 0 under auto. */
bool lx_cache_wanted(const lx_config *cfg, const lx_request *req, const lx_header *h, size_t nh,
                     const char *target);
/* The same decision in three ways: SKIP (no cache), USE (look up, store a
 * miss's answer), REFRESH (header "x-llmux-cache: refresh": no lookup, the
 * new answer replaces the entry). lx_cache_wanted == (decide != SKIP).
 * Rules, first that applies: cache.mode off -> SKIP; header off -> SKIP;
 * header on -> USE; header refresh -> REFRESH; cache.routes given and
 * target not among them -> SKIP; mode on -> USE; mode auto -> USE only when
 * the request sets temperature 0. */
typedef enum { LX_CACHE_SKIP = 0, LX_CACHE_USE, LX_CACHE_REFRESH } lx_cache_decision;
lx_cache_decision lx_cache_decide(const lx_config *cfg, const lx_request *req, const lx_header *h,
                                  size_t nh, const char *target);
/* The cache key: SHA-256 (64 hex digits + NUL) of the normalised request
 * (target, messages, tools, tool choice, sampling, format, thinking budget;
 * JSON objects inside with sorted keys). LX_ERR_NOMEM only. */
lx_status lx_cache_key(const lx_request *req, const char *target, char out[65]);
/* LX_OK with *out (caller frees) on a hit; LX_ERR_NOTFOUND on a miss. */
lx_status lx_cache_lookup(lx_account *a, const lx_request *req, const char *target,
                          lx_response **out);
void lx_cache_store(lx_account *a, const lx_request *req, const char *target,
                    const lx_response *resp);

/* ---- ledger ---- */
typedef struct lx_ledger_row {
    int64_t ts_ms;          /* request start, unix ms */
    const char *key_id;     /* NULL: no key */
    const char *front;      /* "cli", "openai", "anthropic", "ollama" */
    const char *route;      /* "local" | "cloud" | "none" */
    const char *reason;     /* lx_plan_reason */
    const char *provider;   /* that answered (or last tried); may be NULL */
    const char *model;
    int attempts;
    lx_usage usage;
    double cost_usd;        /* billed: only the attempt that answered */
    double saved_usd;       /* escalation model's price for the same tokens minus cost */
    int64_t ttft_ms, latency_ms;
    int http_status;        /* status given to the caller */
    const char *status;     /* lx_status_name of the outcome */
    const char *privacy;    /* "EMAIL,API_KEY" or NULL */
    const char *privacy_action; /* "none" | "local" | "redact" | "block" */
    int64_t bytes_out;      /* request bytes sent to remote providers, all attempts */
    bool cached;
    const char *prompt;     /* only when ledger.store_prompts */
    const char *answer;
} lx_ledger_row;

/* Queues a row (copied). Never blocks on disk, never fails the caller. */
void lx_account_record(lx_account *a, const lx_ledger_row *row);
/* Waits until every queued row is written (tests, shutdown). */
void lx_account_flush(lx_account *a);

/* ---- metrics and maintenance ---- */
typedef struct lx_account_stats {
    uint64_t rows_queued;   /* lx_account_record calls */
    uint64_t rows_written;  /* committed to the store */
    uint64_t rows_dropped;  /* lost: queue full, store unavailable or failing */
    uint64_t write_errors;  /* failed batch writes (disk full, read-only, locked) */
    uint64_t cache_hits, cache_misses, cache_stores;
    uint64_t budget_rejects; /* reservations refused */
    bool store_ok;          /* the database opened */
} lx_account_stats;
void lx_account_stats_get(lx_account *a, lx_account_stats *out);
/* The same numbers as metric samples, for /metrics: fn is called once per
 * counter with a Prometheus name ("llmux_ledger_rows_written_total",
 * "llmux_ledger_rows_dropped_total", "llmux_ledger_write_errors_total",
 * "llmux_ledger_queue_depth", "llmux_cache_hits_total",
 * "llmux_cache_misses_total", "llmux_cache_stores_total",
 * "llmux_budget_rejects_total", "llmux_ledger_up") and a help text. */
typedef void (*lx_account_sample_fn)(void *ud, const char *name, const char *help, double value);
void lx_account_stats_each(lx_account *a, lx_account_sample_fn fn, void *ud);

/* Rolls raw rows older than ledger.retention_days (whole UTC days before
 * now_ms) into daily aggregates. Runs at open and once a day on the writer
 * thread; exposed for tests. *rolled may be NULL. */
lx_status lx_account_rollup(lx_account *a, int64_t now_ms, int64_t *rolled, lx_error *err);

/* The store underneath (reports, tests); NULL when it could not be opened. */
struct lx_store;
struct lx_store *lx_account_store(lx_account *a);

#endif
