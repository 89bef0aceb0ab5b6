/* sqlite_ledger.c — ledger batches, rollups, usage scans and spend sums
 * of the SQLite store (sqlite.c has the schema and the durability notes). */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"

/* ---- ledger ---- */

lx_status lx_sq_append_rows(lx_store *base, const lx_ledger_row *rows, size_t n, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    if (s->read_only)
        return lx_fail(err, LX_ERR_IO, "ledger %s: opened read-only", s->path);
    if (n == 0)
        return LX_OK;
    lx_status st = LX_OK;
    pthread_mutex_lock(&s->wmu);
    if (lx_sq_exec(s->w, "BEGIN IMMEDIATE") != SQLITE_OK) {
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "begin");
        goto out;
    }
    sqlite3_stmt *q = s->st[ST_INSERT];
    for (size_t i = 0; i < n; i++) {
        const lx_ledger_row *r = &rows[i];
        int k = 1;
        sqlite3_reset(q);
        sqlite3_bind_int64(q, k++, r->ts_ms);
        lx_sq_bind_text(q, k++, r->key_id);
        lx_sq_bind_text(q, k++, r->front);
        lx_sq_bind_text(q, k++, r->route);
        lx_sq_bind_text(q, k++, r->reason);
        lx_sq_bind_text(q, k++, r->provider);
        lx_sq_bind_text(q, k++, r->model);
        sqlite3_bind_int(q, k++, r->attempts);
        sqlite3_bind_int64(q, k++, r->usage.input);
        sqlite3_bind_int64(q, k++, r->usage.cache_read);
        sqlite3_bind_int64(q, k++, r->usage.cache_write);
        sqlite3_bind_int64(q, k++, r->usage.output);
        sqlite3_bind_int64(q, k++, r->usage.reasoning);
        sqlite3_bind_double(q, k++, r->cost_usd);
        sqlite3_bind_double(q, k++, r->saved_usd);
        sqlite3_bind_int64(q, k++, r->ttft_ms);
        sqlite3_bind_int64(q, k++, r->latency_ms);
        sqlite3_bind_int(q, k++, r->http_status);
        lx_sq_bind_text(q, k++, r->status);
        lx_sq_bind_text(q, k++, r->privacy);
        lx_sq_bind_text(q, k++, r->privacy_action);
        sqlite3_bind_int64(q, k++, r->bytes_out);
        sqlite3_bind_int(q, k++, r->cached ? 1 : 0);
        lx_sq_bind_text(q, k++, r->prompt);
        lx_sq_bind_text(q, k++, r->answer);
        if (sqlite3_step(q) != SQLITE_DONE) {
            st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "insert");
            sqlite3_reset(q);
            lx_sq_exec(s->w, "ROLLBACK");
            goto out;
        }
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (lx_sq_exec(s->w, "COMMIT") != SQLITE_OK) {
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "commit");
        lx_sq_exec(s->w, "ROLLBACK");
    }
out:
    pthread_mutex_unlock(&s->wmu);
    return st;
}

lx_status lx_sq_rollup(lx_store *base, int64_t cutoff_ms, int64_t *rolled, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    if (rolled)
        *rolled = 0;
    if (s->read_only)
        return LX_OK;
    static const char *const ins =
        "INSERT INTO daily(day, key_id, provider, model, route, requests, errors, cached, input,"
        " cache_read, cache_write, output, reasoning, cost_usd, saved_usd, latency_ms, ttft_ms,"
        " bytes_out)"
        " SELECT (ts_ms / 86400000) * 86400000, IFNULL(key_id, ''), IFNULL(provider, ''),"
        " IFNULL(model, ''), IFNULL(route, ''), COUNT(*), SUM(IFNULL(status, '') <> 'ok'),"
        " SUM(cached), SUM(input), SUM(cache_read), SUM(cache_write), SUM(output),"
        " SUM(reasoning), SUM(cost_usd), SUM(saved_usd), SUM(IFNULL(latency_ms, 0)),"
        " SUM(IFNULL(ttft_ms, 0)), SUM(bytes_out)"
        " FROM requests WHERE ts_ms < ?1 GROUP BY 1, 2, 3, 4, 5"
        " ON CONFLICT(day, key_id, provider, model, route) DO UPDATE SET"
        " requests = requests + excluded.requests, errors = errors + excluded.errors,"
        " cached = cached + excluded.cached, input = input + excluded.input,"
        " cache_read = cache_read + excluded.cache_read,"
        " cache_write = cache_write + excluded.cache_write, output = output + excluded.output,"
        " reasoning = reasoning + excluded.reasoning, cost_usd = cost_usd + excluded.cost_usd,"
        " saved_usd = saved_usd + excluded.saved_usd,"
        " latency_ms = latency_ms + excluded.latency_ms, ttft_ms = ttft_ms + excluded.ttft_ms,"
        " bytes_out = bytes_out + excluded.bytes_out";
    lx_status st = LX_OK;
    sqlite3_stmt *a = NULL, *d = NULL;
    pthread_mutex_lock(&s->wmu);
    if (sqlite3_prepare_v2(s->w, ins, -1, &a, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->w, "DELETE FROM requests WHERE ts_ms < ?1", -1, &d, NULL) !=
            SQLITE_OK) {
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "rollup");
        goto out;
    }
    if (lx_sq_exec(s->w, "BEGIN IMMEDIATE") != SQLITE_OK) {
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "begin");
        goto out;
    }
    sqlite3_bind_int64(a, 1, cutoff_ms);
    sqlite3_bind_int64(d, 1, cutoff_ms);
    if (sqlite3_step(a) != SQLITE_DONE || sqlite3_step(d) != SQLITE_DONE) {
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "rollup");
        sqlite3_reset(a);
        sqlite3_reset(d);
        lx_sq_exec(s->w, "ROLLBACK");
        goto out;
    }
    int64_t moved = sqlite3_changes(s->w);
    if (lx_sq_exec(s->w, "COMMIT") != SQLITE_OK) {
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "commit");
        lx_sq_exec(s->w, "ROLLBACK");
        goto out;
    }
    if (rolled)
        *rolled = moved;
out:
    sqlite3_finalize(a);
    sqlite3_finalize(d);
    pthread_mutex_unlock(&s->wmu);
    return st;
}

lx_status lx_sq_scan_usage(lx_store *base, int64_t since_ms, lx_usage_fn fn, void *ud,
                           lx_error *err)
{
    sq_store *s = (sq_store *)base;
    if (s->empty)
        return LX_OK;
    static const char *const raw =
        "SELECT ts_ms, key_id, route, provider, model, status, cached, input, cache_read,"
        " cache_write, output, reasoning, cost_usd, saved_usd, latency_ms, ttft_ms, bytes_out"
        " FROM requests WHERE ts_ms >= ?1 ORDER BY ts_ms";
    static const char *const days =
        "SELECT day, key_id, route, provider, model, requests, errors, cached, input,"
        " cache_read, cache_write, output, reasoning, cost_usd, saved_usd, latency_ms,"
        " ttft_ms, bytes_out FROM daily WHERE day >= ?1 ORDER BY day";
    lx_status st = LX_OK;
    sqlite3_stmt *q = NULL;
    sqlite3 *db = lx_sq_rd_lock(s);
    bool go = true;
    for (int pass = 0; pass < 2 && go; pass++) {
        if (sqlite3_prepare_v2(db, pass ? days : raw, -1, &q, NULL) != SQLITE_OK) {
            st = lx_sq_db_fail(s, db, err, LX_ERR_IO, "usage");
            break;
        }
        sqlite3_bind_int64(q, 1, pass ? since_ms / 86400000 * 86400000 : since_ms);
        int rc;
        while (go && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            lx_usage_rec r = {.rollup = pass == 1};
            int k = 0;
            r.ts_ms = sqlite3_column_int64(q, k++);
            r.key_id = lx_sq_col_text(q, k++);
            r.route = lx_sq_col_text(q, k++);
            r.provider = lx_sq_col_text(q, k++);
            r.model = lx_sq_col_text(q, k++);
            if (pass == 0) {
                r.requests = 1;
                r.errors = strcmp(lx_sq_col_text(q, k++), "ok") != 0;
            } else {
                r.requests = sqlite3_column_int64(q, k++);
                r.errors = sqlite3_column_int64(q, k++);
            }
            r.cached = sqlite3_column_int64(q, k++);
            r.usage.input = sqlite3_column_int64(q, k++);
            r.usage.cache_read = sqlite3_column_int64(q, k++);
            r.usage.cache_write = sqlite3_column_int64(q, k++);
            r.usage.output = sqlite3_column_int64(q, k++);
            r.usage.reasoning = sqlite3_column_int64(q, k++);
            r.cost_usd = sqlite3_column_double(q, k++);
            r.saved_usd = sqlite3_column_double(q, k++);
            r.latency_ms = sqlite3_column_int64(q, k++);
            r.ttft_ms = sqlite3_column_int64(q, k++);
            r.bytes_out = sqlite3_column_int64(q, k++);
            go = fn(ud, &r);
        }
        if (go && rc != SQLITE_DONE)
            st = lx_sq_db_fail(s, db, err, LX_ERR_IO, "usage");
        sqlite3_finalize(q);
        q = NULL;
        if (st != LX_OK)
            break;
    }
    lx_sq_rd_unlock(s);
    return st;
}

lx_status lx_sq_spend(lx_store *base, const char *key_id, int64_t since_ms, double *usd,
                      lx_error *err)
{
    sq_store *s = (sq_store *)base;
    *usd = 0;
    if (s->empty)
        return LX_OK;
    static const char *const sql =
        "SELECT (SELECT IFNULL(SUM(cost_usd), 0) FROM requests WHERE ts_ms >= ?1"
        "  AND (?2 IS NULL OR key_id = ?2))"
        " + (SELECT IFNULL(SUM(cost_usd), 0) FROM daily WHERE day >= ?3"
        "  AND (?2 IS NULL OR key_id = ?2))";
    lx_status st = LX_OK;
    sqlite3_stmt *q = NULL;
    sqlite3 *db = lx_sq_rd_lock(s);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        st = lx_sq_db_fail(s, db, err, LX_ERR_IO, "spend");
        goto out;
    }
    sqlite3_bind_int64(q, 1, since_ms);
    lx_sq_bind_text(q, 2, key_id);
    /* A rolled day counts when it starts at or after since (whole days). */
    sqlite3_bind_int64(q, 3, (since_ms + 86400000 - 1) / 86400000 * 86400000);
    if (sqlite3_step(q) == SQLITE_ROW)
        *usd = sqlite3_column_double(q, 0);
    else
        st = lx_sq_db_fail(s, db, err, LX_ERR_IO, "spend");
out:
    sqlite3_finalize(q);
    lx_sq_rd_unlock(s);
    return st;
}

lx_status lx_sq_count_rows(lx_store *base, int64_t *n, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    *n = 0;
    if (s->empty)
        return LX_OK;
    lx_status st = LX_OK;
    sqlite3_stmt *q = NULL;
    sqlite3 *db = lx_sq_rd_lock(s);
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM requests", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        st = lx_sq_db_fail(s, db, err, LX_ERR_IO, "count");
    else
        *n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    lx_sq_rd_unlock(s);
    return st;
}
