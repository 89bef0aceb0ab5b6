/*
 * store.h — the one storage interface behind accounting and shared state.
 *
 * Everything that several llmux instances would have to share lives behind
 * this vtable: the request ledger (and its daily rollups), budget and rate
 * counters, the response cache, and a small key -> value map with TTL (for
 * breaker state and sticky-conversation marks). The SQLite implementation
 * (store/sqlite.c) is the only one today; a Redis one plugs in by filling
 * the same table.
 *
 *   ledger    append_rows writes a batch in ONE transaction (all or none).
 *             rollup folds raw rows older than a cutoff into the `daily`
 *             table (day, provider, model, key, route) and deletes them, in
 *             one transaction, so a row is counted exactly once either raw
 *             or rolled. scan_usage streams raw rows and rollups from a time
 *             on, for reports (account/usage.c aggregates them). spend sums
 *             billed USD from a time on (raw + rollups), to seed counters.
 *   counters  named numeric counters, each in a window (a day, month or
 *             minute index chosen by the caller). counter_apply applies a
 *             list of deltas atomically: either every op passes its limit
 *             check and all are applied, or none is (the first failing op is
 *             reported). A counter whose window is older than the op's is
 *             reset to 0 first; an op for an older window than the
 *             counter's is dropped (it belongs to a finished window). In the
 *             SQLite store counters live in memory under a mutex (one
 *             instance); they are seeded at startup from `spend`.
 *   cache     get / put of opaque blobs by key, with an expiry time; put
 *             evicts the oldest entries until the total size is within the
 *             bound it is given.
 *   kv        get / put / del of small values with a TTL.
 *
 * Thread safety: every operation may be called from any thread. The SQLite
 * store serialises writes on one writer connection (the account's writer
 * thread does the ledger and cache writes) and reads on a second one.
 *
 * Failures: operations return lx_status with err naming the database and
 * the SQLite error ("ledger /x/llmux.db: database or disk is full"). They
 * never log; the caller decides what to warn about.
 *
 * Ownership: lx_store_sqlite_open returns a store the caller closes with
 * s->ops->close(s) (lx_store_close). Blobs returned by cache_get / kv_get
 * are malloc'd and owned by the caller. Strings in lx_usage_rec are
 * borrowed for the callback only.
 */
#ifndef LX_STORE_STORE_H
#define LX_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account/account.h"
#include "core/status.h"
#include "core/types.h"

typedef struct lx_store lx_store;

/* One raw row or one daily rollup, as scan_usage delivers it. */
typedef struct lx_usage_rec {
    bool rollup;        /* a daily aggregate of `requests` rows */
    int64_t ts_ms;      /* raw: row time; rollup: start of its UTC day */
    const char *key_id; /* "" when none */
    const char *route;
    const char *provider; /* "" when none */
    const char *model;
    int64_t requests, errors, cached; /* raw: 1, status != ok, cached */
    lx_usage usage;
    double cost_usd, saved_usd;
    int64_t latency_ms; /* raw: this row's; rollup: sum */
    int64_t ttft_ms;    /* raw: this row's; rollup: sum */
    int64_t bytes_out;
} lx_usage_rec;

/* Return false to stop the scan. */
typedef bool (*lx_usage_fn)(void *ud, const lx_usage_rec *rec);

typedef enum {
    LX_CTR_ADD = 0, /* unconditional add (settle, seeding) */
    LX_CTR_LIMIT,   /* add only if the counter is below `limit` now */
    LX_CTR_CHECK,   /* only check that the counter is below `limit`; delta unused */
} lx_ctr_mode;

typedef struct lx_counter_op {
    const char *name; /* e.g. "usd.day.*", "req.min.team-a" */
    int64_t window;   /* window index (day, month or minute number) */
    double delta;
    double limit; /* LX_CTR_LIMIT: admitted while value < limit */
    lx_ctr_mode mode;
    double value; /* out: the value before the op (on failure: now) */
} lx_counter_op;

typedef struct lx_store_ops {
    const char *name; /* "sqlite" */
    void (*close)(lx_store *s);

    /* ---- ledger ---- */
    lx_status (*append_rows)(lx_store *s, const lx_ledger_row *rows, size_t n, lx_error *err);
    /* Rolls raw rows with ts_ms < cutoff_ms into daily rows; *rolled = rows
     * moved (may be NULL). */
    lx_status (*rollup)(lx_store *s, int64_t cutoff_ms, int64_t *rolled, lx_error *err);
    /* Raw rows with ts_ms >= since_ms, then rollups of days starting at or
     * after the day of since_ms. */
    lx_status (*scan_usage)(lx_store *s, int64_t since_ms, lx_usage_fn fn, void *ud, lx_error *err);
    /* Billed USD of raw rows with ts >= since_ms plus rollups of the days
     * that start at or after since_ms; key_id NULL = every key. */
    lx_status (*spend)(lx_store *s, const char *key_id, int64_t since_ms, double *usd,
                       lx_error *err);
    /* Raw row count (tests, metrics). */
    lx_status (*count_rows)(lx_store *s, int64_t *n, lx_error *err);

    /* ---- counters ---- */
    /* All or nothing. LX_ERR_LIMIT with *failed = index of the first op that
     * would pass its limit; ops[i].value set for every op. */
    lx_status (*counter_apply)(lx_store *s, lx_counter_op *ops, size_t n, size_t *failed);

    /* ---- response cache ---- */
    /* LX_ERR_NOTFOUND on a miss or an expired entry. */
    lx_status (*cache_get)(lx_store *s, const char *key, int64_t now_ms, void **blob, size_t *len,
                           lx_error *err);
    lx_status (*cache_put)(lx_store *s, const char *key, const void *blob, size_t len,
                           int64_t now_ms, int64_t expires_ms, int64_t max_bytes, lx_error *err);
    /* Drops expired entries; *n = how many (may be NULL). */
    lx_status (*cache_expire)(lx_store *s, int64_t now_ms, int64_t *n, lx_error *err);

    /* ---- shared state ---- */
    lx_status (*kv_get)(lx_store *s, const char *key, int64_t now_ms, void **val, size_t *len,
                        lx_error *err);
    lx_status (*kv_put)(lx_store *s, const char *key, const void *val, size_t len,
                        int64_t expires_ms, lx_error *err);
    lx_status (*kv_del)(lx_store *s, const char *key, lx_error *err);
} lx_store_ops;

struct lx_store {
    const lx_store_ops *ops;
};

/* Opens (creating folders, the file and the schema) the SQLite database at
 * path (":memory:" allowed). read_only: no schema changes and no writes
 * (reports). Fails with LX_ERR_IO naming the path. */
lx_status lx_store_sqlite_open(const char *path, bool read_only, lx_store **out, lx_error *err);

static inline void lx_store_close(lx_store *s)
{
    if (s)
        s->ops->close(s);
}

/* Schema version written to PRAGMA user_version. */
#define LX_STORE_SCHEMA_VERSION 1

#endif
