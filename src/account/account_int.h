/*
 * account_int.h — shared between the files of src/account/, not a public API.
 *
 *   account.c  open/close, the ledger queue and its writer thread, retention
 *   price.c    prices from the catalogue
 *   budget.c   reservations against budgets and rate limits (store counters)
 *   cache.c    cache decision, key normalisation, response (de)serialisation
 *   usage.c    reports over the ledger (usage.h)
 *
 * The writer thread owns every store write: ledger batches, cache puts
 * (queued by lx_cache_store), rollups and cache expiry. Request threads only
 * enqueue, reserve counters (in memory) and read the cache.
 */
#ifndef LX_ACCOUNT_INT_H
#define LX_ACCOUNT_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "account/account.h"
#include "store/store.h"

/* One queued write. */
typedef struct lx_acct_item {
    enum { LX_ITEM_ROW, LX_ITEM_CACHE } kind;
    lx_ledger_row row; /* strings point into `mem` */
    char cache_key[65];
    void *blob; /* cache body (malloc'd) */
    size_t blob_len;
    int64_t now_ms, expires_ms;
    char *mem; /* one allocation holding the row's strings */
} lx_acct_item;

struct lx_account {
    const lx_config *cfg;
    lx_store *store; /* never NULL after open: a :memory: store when the file failed */
    bool store_ok;   /* the configured database is in use */
    bool ledger_on;  /* rows are written (ledger.enabled and store_ok) */

    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    lx_acct_item *q;
    size_t qn, qcap;
    uint64_t seq_in, seq_out; /* items queued / processed */
    bool stop, flush_now;
    pthread_t writer;
    bool writer_started;
    bool warned; /* one warning until a write succeeds again */
    int64_t last_rollup_ms;

    _Atomic uint64_t rows_queued, rows_written, rows_dropped, write_errors;
    _Atomic uint64_t cache_hits, cache_misses, cache_stores, budget_rejects;
};

/* Seeds budget counters from the ledger (spend this UTC day and month). */
void lx_budget_seed(lx_account *a);

/* Serialised response (compact JSON) and back. Caller frees *out / the
 * response. */
lx_status lx_response_to_json(const lx_response *r, char **out, size_t *len);
lx_status lx_response_from_json(const char *s, size_t len, lx_response **out);

/* Queue a cache write for the writer thread (takes ownership of blob). */
void lx_account_enqueue_cache(lx_account *a, const char key[65], void *blob, size_t len,
                              int64_t now_ms, int64_t expires_ms);

int64_t lx_now_ms(void);

/* UTC calendar helpers. */
int64_t lx_day_index(int64_t ms);   /* days since the epoch */
int64_t lx_month_index(int64_t ms); /* year*12 + month-1 */
int64_t lx_month_start_ms(int64_t month_index);

#endif
