/*
 * account.c — opening the account, the ledger queue and its writer thread.
 *
 * Request threads call lx_account_record, which copies the row into one
 * allocation and appends it to a queue under a mutex: no disk I/O on the
 * caller's thread. The writer thread wakes when the first item arrives,
 * waits up to ledger.flush_ms for more (or until LX_BATCH items are
 * waiting, or a flush is asked for), then writes every waiting row in ONE
 * store transaction, and the cache writes after it. Failures (disk full,
 * read-only file, a lock held too long) are counted in write_errors and
 * rows_dropped and logged once until a write succeeds again; the caller
 * never sees them. The queue is bounded (LX_QUEUE_MAX); beyond it rows are
 * dropped and counted, so a stuck disk cannot eat the memory.
 *
 * Retention: at open and then once a day the writer rolls raw rows older
 * than ledger.retention_days into daily aggregates and drops expired cache
 * entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account/account_int.h"
#include "core/log.h"

#define LX_BATCH 512
#define LX_QUEUE_MAX 65536
#define DAY_MS 86400000LL

int64_t lx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lx_day_index(int64_t ms)
{
    return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

int64_t lx_month_index(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
}

int64_t lx_month_start_ms(int64_t month_index)
{
    struct tm tm = {0};
    tm.tm_year = (int)(month_index / 12) - 1900;
    tm.tm_mon = (int)(month_index % 12);
    tm.tm_mday = 1;
    return (int64_t)timegm(&tm) * 1000;
}

/* ---- queue ---- */

static void item_free(lx_acct_item *it)
{
    free(it->mem);
    free(it->blob);
}

/* Copies the strings of row into one allocation owned by it. */
static bool copy_row(lx_acct_item *it, const lx_ledger_row *row, bool prompts)
{
    const char *src[11] = {row->key_id,
                           row->front,
                           row->route,
                           row->reason,
                           row->provider,
                           row->model,
                           row->status,
                           row->privacy,
                           row->privacy_action,
                           prompts ? row->prompt : NULL,
                           prompts ? row->answer : NULL};
    size_t total = 0;
    for (int i = 0; i < 11; i++)
        if (src[i])
            total += strlen(src[i]) + 1;
    it->row = *row;
    it->mem = total ? malloc(total) : NULL;
    if (total && !it->mem)
        return false;
    const char **dst[11] = {&it->row.key_id, &it->row.front,    &it->row.route,
                            &it->row.reason, &it->row.provider, &it->row.model,
                            &it->row.status, &it->row.privacy,  &it->row.privacy_action,
                            &it->row.prompt, &it->row.answer};
    char *p = it->mem;
    for (int i = 0; i < 11; i++) {
        if (!src[i]) {
            *dst[i] = NULL;
            continue;
        }
        size_t n = strlen(src[i]) + 1;
        memcpy(p, src[i], n);
        *dst[i] = p;
        p += n;
    }
    return true;
}

/* Appends under a.mu; false when the queue is full or memory is short. */
static bool push(lx_account *a, lx_acct_item *it)
{
    if (a->qn >= LX_QUEUE_MAX)
        return false;
    if (a->qn == a->qcap) {
        size_t cap = a->qcap ? a->qcap * 2 : 64;
        lx_acct_item *q = realloc(a->q, cap * sizeof *q);
        if (!q)
            return false;
        a->q = q;
        a->qcap = cap;
    }
    a->q[a->qn++] = *it;
    a->seq_in++;
    if (a->qn == 1 || a->qn >= LX_BATCH)
        pthread_cond_signal(&a->wake);
    return true;
}

void lx_account_record(lx_account *a, const lx_ledger_row *row)
{
    if (!a || !row || !a->cfg->ledger.enabled)
        return;
    atomic_fetch_add(&a->rows_queued, 1);
    if (!a->ledger_on) {
        atomic_fetch_add(&a->rows_dropped, 1);
        return;
    }
    lx_acct_item it = {.kind = LX_ITEM_ROW};
    if (!copy_row(&it, row, a->cfg->ledger.store_prompts)) {
        atomic_fetch_add(&a->rows_dropped, 1);
        return;
    }
    pthread_mutex_lock(&a->mu);
    bool ok = !a->stop && push(a, &it);
    bool warn = !ok && !a->warned;
    if (warn)
        a->warned = true;
    pthread_mutex_unlock(&a->mu);
    if (!ok) {
        item_free(&it);
        atomic_fetch_add(&a->rows_dropped, 1);
        if (warn)
            LX_WARN("ledger: queue full (%d rows); dropping rows until the disk catches up",
                    LX_QUEUE_MAX);
    }
}

void lx_account_enqueue_cache(lx_account *a, const char key[65], void *blob, size_t len,
                              int64_t now_ms, int64_t expires_ms)
{
    lx_acct_item it = {.kind = LX_ITEM_CACHE,
                       .blob = blob,
                       .blob_len = len,
                       .now_ms = now_ms,
                       .expires_ms = expires_ms};
    memcpy(it.cache_key, key, 65);
    pthread_mutex_lock(&a->mu);
    bool ok = !a->stop && push(a, &it);
    pthread_mutex_unlock(&a->mu);
    if (!ok)
        free(blob);
}

/* ---- writer ---- */

static void write_failed(lx_account *a, const lx_error *e, uint64_t rows)
{
    atomic_fetch_add(&a->write_errors, 1);
    atomic_fetch_add(&a->rows_dropped, rows);
    pthread_mutex_lock(&a->mu);
    bool warn = !a->warned;
    a->warned = true;
    pthread_mutex_unlock(&a->mu);
    if (warn)
        LX_WARN("%s; ledger rows are being dropped (requests are not affected)", e->message);
}

static void maintain(lx_account *a, int64_t now)
{
    lx_error e;
    a->last_rollup_ms = now;
    if (lx_account_rollup(a, now, NULL, &e) != LX_OK) {
        atomic_fetch_add(&a->write_errors, 1);
        pthread_mutex_lock(&a->mu);
        bool warn = !a->warned;
        a->warned = true;
        pthread_mutex_unlock(&a->mu);
        if (warn)
            LX_WARN("%s (ledger retention); ledger writes may fail", e.message);
    }
    if (a->store->ops->cache_expire(a->store, now, NULL, &e) != LX_OK)
        LX_DEBUG("%s (cache expiry)", e.message);
}

static void process(lx_account *a, lx_acct_item *items, size_t n)
{
    size_t nrows = 0;
    lx_ledger_row *rows = malloc((n ? n : 1) * sizeof *rows);
    for (size_t i = 0; i < n; i++)
        if (items[i].kind == LX_ITEM_ROW && rows)
            rows[nrows++] = items[i].row;
    if (!rows) {
        for (size_t i = 0; i < n; i++)
            nrows += items[i].kind == LX_ITEM_ROW;
        atomic_fetch_add(&a->rows_dropped, nrows);
        nrows = 0;
    }
    lx_error e;
    if (nrows) {
        if (a->store->ops->append_rows(a->store, rows, nrows, &e) == LX_OK) {
            atomic_fetch_add(&a->rows_written, nrows);
            pthread_mutex_lock(&a->mu);
            bool was = a->warned;
            a->warned = false;
            pthread_mutex_unlock(&a->mu);
            if (was)
                LX_INFO("ledger: writing rows again");
        } else {
            write_failed(a, &e, nrows);
        }
    }
    free(rows);
    int64_t max = a->cfg->cache.max_mb * 1024 * 1024;
    for (size_t i = 0; i < n; i++) {
        if (items[i].kind != LX_ITEM_CACHE)
            continue;
        if (a->store->ops->cache_put(a->store, items[i].cache_key, items[i].blob, items[i].blob_len,
                                     items[i].now_ms, items[i].expires_ms, max, &e) == LX_OK)
            atomic_fetch_add(&a->cache_stores, 1);
        else
            LX_DEBUG("%s (cache store)", e.message);
    }
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static void *writer_main(void *arg)
{
    lx_account *a = arg;
    int64_t flush_ms = a->cfg->ledger.flush_ms > 0 ? a->cfg->ledger.flush_ms : 200;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        /* Idle: sleep until work arrives, or an hour for maintenance. */
        while (a->qn == 0 && !a->stop) {
            struct timespec ts;
            deadline_in(&ts, 3600 * 1000);
            if (pthread_cond_timedwait(&a->wake, &a->mu, &ts) == ETIMEDOUT)
                break;
        }
        /* Batch: wait out the interval unless full, flushed or stopping. */
        if (a->qn > 0 && a->qn < LX_BATCH && !a->stop && !a->flush_now) {
            struct timespec ts;
            deadline_in(&ts, flush_ms);
            while (a->qn < LX_BATCH && !a->stop && !a->flush_now)
                if (pthread_cond_timedwait(&a->wake, &a->mu, &ts) == ETIMEDOUT)
                    break;
        }
        lx_acct_item *items = a->q;
        size_t n = a->qn;
        a->q = NULL;
        a->qn = a->qcap = 0;
        a->flush_now = false;
        bool stopping = a->stop;
        pthread_mutex_unlock(&a->mu);

        if (n)
            process(a, items, n);
        for (size_t i = 0; i < n; i++)
            item_free(&items[i]);
        free(items);
        int64_t now = lx_now_ms();
        if (!stopping && now - a->last_rollup_ms >= DAY_MS)
            maintain(a, now);

        pthread_mutex_lock(&a->mu);
        a->seq_out += n;
        pthread_cond_broadcast(&a->done);
        if (stopping && a->qn == 0)
            break;
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

void lx_account_flush(lx_account *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    uint64_t target = a->seq_in;
    if (a->writer_started) {
        while (a->seq_out < target) {
            a->flush_now = true;
            pthread_cond_signal(&a->wake);
            pthread_cond_wait(&a->done, &a->mu);
        }
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- open / close ---- */

lx_status lx_account_rollup(lx_account *a, int64_t now_ms, int64_t *rolled, lx_error *err)
{
    if (rolled)
        *rolled = 0;
    if (!a->ledger_on || a->cfg->ledger.retention_days <= 0)
        return LX_OK;
    int64_t cutoff = (lx_day_index(now_ms) - a->cfg->ledger.retention_days) * DAY_MS;
    return a->store->ops->rollup(a->store, cutoff, rolled, err);
}

lx_status lx_account_open(const lx_config *cfg, lx_account **out, lx_error *err)
{
    *out = NULL;
    lx_account *a = calloc(1, sizeof *a);
    if (!a)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    a->cfg = cfg;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->wake, NULL);
    pthread_cond_init(&a->done, NULL);

    const char *path = cfg->ledger.path ? cfg->ledger.path : ":memory:";
    lx_error e;
    if (cfg->ledger.enabled && lx_store_sqlite_open(path, false, &a->store, &e) == LX_OK) {
        a->store_ok = true;
    } else {
        if (cfg->ledger.enabled) {
            LX_WARN("%s; the ledger is off for this run (budgets and limits are kept in memory)",
                    e.message);
            a->warned = true;
        }
        if (lx_store_sqlite_open(":memory:", false, &a->store, &e) != LX_OK) {
            lx_status st = lx_fail(err, e.code, "%s", e.message);
            lx_account_close(a);
            return st;
        }
    }
    a->ledger_on = a->store_ok && cfg->ledger.enabled;
    lx_budget_seed(a);
    if (a->ledger_on)
        maintain(a, lx_now_ms());
    else
        a->last_rollup_ms = lx_now_ms();
    if (pthread_create(&a->writer, NULL, writer_main, a) != 0) {
        lx_account_close(a);
        return lx_fail(err, LX_ERR_INTERNAL, "ledger: cannot start the writer thread");
    }
    a->writer_started = true;
    *out = a;
    return LX_OK;
}

void lx_account_close(lx_account *a)
{
    if (!a)
        return;
    if (a->writer_started) {
        pthread_mutex_lock(&a->mu);
        a->stop = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->writer, NULL);
    }
    for (size_t i = 0; i < a->qn; i++)
        item_free(&a->q[i]);
    free(a->q);
    lx_store_close(a->store);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->done);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void lx_account_stats_get(lx_account *a, lx_account_stats *o)
{
    memset(o, 0, sizeof *o);
    if (!a)
        return;
    o->rows_queued = atomic_load(&a->rows_queued);
    o->rows_written = atomic_load(&a->rows_written);
    o->rows_dropped = atomic_load(&a->rows_dropped);
    o->write_errors = atomic_load(&a->write_errors);
    o->cache_hits = atomic_load(&a->cache_hits);
    o->cache_misses = atomic_load(&a->cache_misses);
    o->cache_stores = atomic_load(&a->cache_stores);
    o->budget_rejects = atomic_load(&a->budget_rejects);
    o->store_ok = a->store_ok;
}

struct lx_store *lx_account_store(lx_account *a)
{
    return a ? a->store : NULL;
}

void lx_account_stats_each(lx_account *a, lx_account_sample_fn fn, void *ud)
{
    lx_account_stats st;
    lx_account_stats_get(a, &st);
    size_t depth = 0;
    if (a) {
        pthread_mutex_lock(&a->mu);
        depth = a->qn;
        pthread_mutex_unlock(&a->mu);
    }
    fn(ud, "llmux_ledger_rows_written_total", "Ledger rows committed to the database",
       (double)st.rows_written);
    fn(ud, "llmux_ledger_rows_dropped_total",
       "Ledger rows lost (queue full, database unavailable or failing)", (double)st.rows_dropped);
    fn(ud, "llmux_ledger_write_errors_total", "Failed ledger writes (disk full, read-only, locked)",
       (double)st.write_errors);
    fn(ud, "llmux_ledger_queue_depth", "Ledger rows and cache writes waiting for the writer",
       (double)depth);
    fn(ud, "llmux_ledger_up", "1 when the configured ledger database is in use",
       st.store_ok ? 1 : 0);
    fn(ud, "llmux_cache_hits_total", "Response cache hits", (double)st.cache_hits);
    fn(ud, "llmux_cache_misses_total", "Response cache misses", (double)st.cache_misses);
    fn(ud, "llmux_cache_stores_total", "Answers written to the response cache",
       (double)st.cache_stores);
    fn(ud, "llmux_budget_rejects_total", "Requests refused by a budget or rate limit",
       (double)st.budget_rejects);
}
