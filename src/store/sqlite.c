/*
 * sqlite.c — the SQLite implementation of the store interface (store.h).
 *
 * Schema (PRAGMA user_version = LX_STORE_SCHEMA_VERSION):
 *
 *   requests  one raw ledger row per request (columns of lx_ledger_row;
 *             usage split into input, cache_read, cache_write, output,
 *             reasoning); index on ts_ms.
 *   daily     rollups: one row per (day, key_id, provider, model, route)
 *             with sums (requests, errors, cached, tokens, cost, saved,
 *             latency, ttft, bytes_out). Absent values are '' here so the
 *             primary key works.
 *   cache     key (hex SHA-256) -> body blob, created_ms, expires_ms, size.
 *   kv        key -> value blob, expires_ms (0 = never).
 *
 * Durability: journal_mode=WAL and synchronous=FULL. In WAL mode a commit
 * appends the transaction's pages plus a commit frame to the -wal file;
 * with FULL the WAL is fsync'd at every commit. A process killed with -9
 * therefore never loses a committed transaction (even NORMAL would keep it,
 * since the bytes are in the OS page cache) and cannot corrupt the file
 * (a partly written last frame has no valid commit checksum and is ignored
 * at recovery). FULL adds power-loss durability; its cost is one fsync per
 * batch, and the ledger writes one batch per flush interval, not per row.
 *
 * Paths: a file name, ":memory:", or a SQLite URI ("file:/x/l.db?mode=ro").
 *
 * Connections: a writer (ledger batches, rollups, cache and kv writes) and
 * a reader (cache and kv lookups, reports), each behind its own mutex, so a
 * lookup never waits for a batch being committed (WAL readers do not block
 * on the writer). ":memory:" uses one connection for both. busy_timeout
 * 5 s covers other processes (`llmux usage`, a second server) holding the
 * write lock.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/counters.h"
#include "store/store.h"

enum {
    ST_INSERT,
    ST_CACHE_GET,
    ST_CACHE_PUT,
    ST_CACHE_OLD,
    ST_CACHE_DEL,
    ST_KV_GET,
    ST_KV_PUT,
    ST_KV_DEL,
    ST_N
};

typedef struct sq_store {
    lx_store base;
    char *path;
    bool read_only, memory, empty; /* empty: read-only file without our schema */
    sqlite3 *w, *r;
    pthread_mutex_t wmu, rmu;
    sqlite3_stmt *st[ST_N]; /* writer statements; ST_*_GET are prepared on the reader */
    lx_counters *ctr;
    int64_t cache_bytes; /* total size of cache bodies (writer's view) */
} sq_store;

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS requests("
    " id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, key_id TEXT, front TEXT, route TEXT,"
    " reason TEXT, provider TEXT, model TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
    " input INTEGER NOT NULL DEFAULT 0, cache_read INTEGER NOT NULL DEFAULT 0,"
    " cache_write INTEGER NOT NULL DEFAULT 0, output INTEGER NOT NULL DEFAULT 0,"
    " reasoning INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,"
    " saved_usd REAL NOT NULL DEFAULT 0, ttft_ms INTEGER, latency_ms INTEGER,"
    " http_status INTEGER, status TEXT, privacy TEXT, privacy_action TEXT,"
    " bytes_out INTEGER NOT NULL DEFAULT 0, cached INTEGER NOT NULL DEFAULT 0,"
    " prompt TEXT, answer TEXT);"
    "CREATE INDEX IF NOT EXISTS requests_ts ON requests(ts_ms);"
    "CREATE TABLE IF NOT EXISTS daily("
    " day INTEGER NOT NULL, key_id TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,"
    " route TEXT NOT NULL, requests INTEGER NOT NULL, errors INTEGER NOT NULL,"
    " cached INTEGER NOT NULL, input INTEGER NOT NULL, cache_read INTEGER NOT NULL,"
    " cache_write INTEGER NOT NULL, output INTEGER NOT NULL, reasoning INTEGER NOT NULL,"
    " cost_usd REAL NOT NULL, saved_usd REAL NOT NULL, latency_ms INTEGER NOT NULL,"
    " ttft_ms INTEGER NOT NULL, bytes_out INTEGER NOT NULL,"
    " PRIMARY KEY(day, key_id, provider, model, route));"
    "CREATE TABLE IF NOT EXISTS cache("
    " key TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    " size INTEGER NOT NULL, body BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS cache_created ON cache(created_ms);"
    "CREATE TABLE IF NOT EXISTS kv("
    " key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_ms INTEGER NOT NULL);";

static const char *const stmt_sql[ST_N] = {
    [ST_INSERT] =
        "INSERT INTO requests(ts_ms, key_id, front, route, reason, provider, model, attempts,"
        " input, cache_read, cache_write, output, reasoning, cost_usd, saved_usd, ttft_ms,"
        " latency_ms, http_status, status, privacy, privacy_action, bytes_out, cached, prompt,"
        " answer) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_CACHE_GET] = "SELECT body, expires_ms FROM cache WHERE key = ?",
    [ST_CACHE_PUT] = "INSERT OR REPLACE INTO cache(key, created_ms, expires_ms, size, body)"
                     " VALUES(?,?,?,?,?)",
    [ST_CACHE_OLD] = "SELECT key, size FROM cache ORDER BY expires_ms <= ?1 DESC, created_ms"
                     " LIMIT 64",
    [ST_CACHE_DEL] = "DELETE FROM cache WHERE key = ? RETURNING size",
    [ST_KV_GET] = "SELECT value, expires_ms FROM kv WHERE key = ?",
    [ST_KV_PUT] = "INSERT OR REPLACE INTO kv(key, value, expires_ms) VALUES(?,?,?)",
    [ST_KV_DEL] = "DELETE FROM kv WHERE key = ?",
};

static lx_status db_fail(sq_store *s, sqlite3 *db, lx_error *err, lx_status code, const char *what)
{
    return lx_fail(err, code, "ledger %s: %s: %s", s->path, what,
                   db ? sqlite3_errmsg(db) : "cannot open");
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* "mkdir -p" of the folder holding path. */
static int make_parent(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf)
        return 0;
    *slash = 0;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static sqlite3 *rd_lock(sq_store *s)
{
    if (s->r == s->w) {
        pthread_mutex_lock(&s->wmu);
        return s->w;
    }
    pthread_mutex_lock(&s->rmu);
    return s->r;
}

static void rd_unlock(sq_store *s)
{
    pthread_mutex_unlock(s->r == s->w ? &s->wmu : &s->rmu);
}

static void sq_close(lx_store *base)
{
    sq_store *s = (sq_store *)base;
    if (!s)
        return;
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(s->st[i]);
    if (s->r && s->r != s->w)
        sqlite3_close(s->r);
    if (s->w)
        sqlite3_close(s->w);
    lx_counters_free(s->ctr);
    pthread_mutex_destroy(&s->wmu);
    pthread_mutex_destroy(&s->rmu);
    free(s->path);
    free(s);
}

/* ---- ledger ---- */

static lx_status sq_append_rows(lx_store *base, const lx_ledger_row *rows, size_t n, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    if (s->read_only)
        return lx_fail(err, LX_ERR_IO, "ledger %s: opened read-only", s->path);
    if (n == 0)
        return LX_OK;
    lx_status st = LX_OK;
    pthread_mutex_lock(&s->wmu);
    if (exec(s->w, "BEGIN IMMEDIATE") != SQLITE_OK) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "begin");
        goto out;
    }
    sqlite3_stmt *q = s->st[ST_INSERT];
    for (size_t i = 0; i < n; i++) {
        const lx_ledger_row *r = &rows[i];
        int k = 1;
        sqlite3_reset(q);
        sqlite3_bind_int64(q, k++, r->ts_ms);
        bind_text(q, k++, r->key_id);
        bind_text(q, k++, r->front);
        bind_text(q, k++, r->route);
        bind_text(q, k++, r->reason);
        bind_text(q, k++, r->provider);
        bind_text(q, k++, r->model);
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
        bind_text(q, k++, r->status);
        bind_text(q, k++, r->privacy);
        bind_text(q, k++, r->privacy_action);
        sqlite3_bind_int64(q, k++, r->bytes_out);
        sqlite3_bind_int(q, k++, r->cached ? 1 : 0);
        bind_text(q, k++, r->prompt);
        bind_text(q, k++, r->answer);
        if (sqlite3_step(q) != SQLITE_DONE) {
            st = db_fail(s, s->w, err, LX_ERR_IO, "insert");
            sqlite3_reset(q);
            exec(s->w, "ROLLBACK");
            goto out;
        }
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (exec(s->w, "COMMIT") != SQLITE_OK) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "commit");
        exec(s->w, "ROLLBACK");
    }
out:
    pthread_mutex_unlock(&s->wmu);
    return st;
}

static lx_status sq_rollup(lx_store *base, int64_t cutoff_ms, int64_t *rolled, lx_error *err)
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
        st = db_fail(s, s->w, err, LX_ERR_IO, "rollup");
        goto out;
    }
    if (exec(s->w, "BEGIN IMMEDIATE") != SQLITE_OK) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "begin");
        goto out;
    }
    sqlite3_bind_int64(a, 1, cutoff_ms);
    sqlite3_bind_int64(d, 1, cutoff_ms);
    if (sqlite3_step(a) != SQLITE_DONE || sqlite3_step(d) != SQLITE_DONE) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "rollup");
        sqlite3_reset(a);
        sqlite3_reset(d);
        exec(s->w, "ROLLBACK");
        goto out;
    }
    int64_t moved = sqlite3_changes(s->w);
    if (exec(s->w, "COMMIT") != SQLITE_OK) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "commit");
        exec(s->w, "ROLLBACK");
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

static const char *col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
}

static lx_status sq_scan_usage(lx_store *base, int64_t since_ms, lx_usage_fn fn, void *ud,
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
    sqlite3 *db = rd_lock(s);
    bool go = true;
    for (int pass = 0; pass < 2 && go; pass++) {
        if (sqlite3_prepare_v2(db, pass ? days : raw, -1, &q, NULL) != SQLITE_OK) {
            st = db_fail(s, db, err, LX_ERR_IO, "usage");
            break;
        }
        sqlite3_bind_int64(q, 1, pass ? since_ms / 86400000 * 86400000 : since_ms);
        int rc;
        while (go && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            lx_usage_rec r = {.rollup = pass == 1};
            int k = 0;
            r.ts_ms = sqlite3_column_int64(q, k++);
            r.key_id = col_text(q, k++);
            r.route = col_text(q, k++);
            r.provider = col_text(q, k++);
            r.model = col_text(q, k++);
            if (pass == 0) {
                r.requests = 1;
                r.errors = strcmp(col_text(q, k++), "ok") != 0;
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
            st = db_fail(s, db, err, LX_ERR_IO, "usage");
        sqlite3_finalize(q);
        q = NULL;
        if (st != LX_OK)
            break;
    }
    rd_unlock(s);
    return st;
}

static lx_status sq_spend(lx_store *base, const char *key_id, int64_t since_ms, double *usd,
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
    sqlite3 *db = rd_lock(s);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        st = db_fail(s, db, err, LX_ERR_IO, "spend");
        goto out;
    }
    sqlite3_bind_int64(q, 1, since_ms);
    bind_text(q, 2, key_id);
    /* A rolled day counts when it starts at or after since (whole days). */
    sqlite3_bind_int64(q, 3, (since_ms + 86400000 - 1) / 86400000 * 86400000);
    if (sqlite3_step(q) == SQLITE_ROW)
        *usd = sqlite3_column_double(q, 0);
    else
        st = db_fail(s, db, err, LX_ERR_IO, "spend");
out:
    sqlite3_finalize(q);
    rd_unlock(s);
    return st;
}

static lx_status sq_count_rows(lx_store *base, int64_t *n, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    *n = 0;
    if (s->empty)
        return LX_OK;
    lx_status st = LX_OK;
    sqlite3_stmt *q = NULL;
    sqlite3 *db = rd_lock(s);
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM requests", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        st = db_fail(s, db, err, LX_ERR_IO, "count");
    else
        *n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    rd_unlock(s);
    return st;
}

/* ---- counters ---- */

static lx_status sq_counter_apply(lx_store *base, lx_counter_op *ops, size_t n, size_t *failed)
{
    sq_store *s = (sq_store *)base;
    return lx_counters_apply(s->ctr, ops, n, failed);
}

/* ---- blobs (cache and kv lookups on the reader) ---- */

static lx_status get_blob(sq_store *s, int which, const char *key, int64_t now_ms, void **blob,
                          size_t *len, lx_error *err)
{
    *blob = NULL;
    *len = 0;
    if (s->empty)
        return LX_ERR_NOTFOUND;
    lx_status st = LX_ERR_NOTFOUND;
    sqlite3 *db = rd_lock(s);
    sqlite3_stmt *q = s->st[which];
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        int64_t exp = sqlite3_column_int64(q, 1);
        if (exp != 0 && exp <= now_ms)
            goto out;
        const void *b = sqlite3_column_blob(q, 0);
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        void *copy = malloc(n + 1);
        if (!copy) {
            st = LX_ERR_NOMEM;
            goto out;
        }
        if (n)
            memcpy(copy, b, n);
        ((char *)copy)[n] = 0;
        *blob = copy;
        *len = n;
        st = LX_OK;
    } else if (rc != SQLITE_DONE) {
        st = db_fail(s, db, err, LX_ERR_IO, "lookup");
    }
out:
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    rd_unlock(s);
    return st;
}

static lx_status sq_cache_get(lx_store *base, const char *key, int64_t now_ms, void **blob,
                              size_t *len, lx_error *err)
{
    return get_blob((sq_store *)base, ST_CACHE_GET, key, now_ms, blob, len, err);
}

/* Deletes one cache entry; returns its size (0 when absent). Writer lock held. */
static int64_t cache_del(sq_store *s, const char *key)
{
    sqlite3_stmt *q = s->st[ST_CACHE_DEL];
    int64_t size = 0;
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(q) == SQLITE_ROW)
        size += sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return size;
}

/* Recomputes the running total of cache sizes (after a failed
 * transaction undid what it had counted). Writer lock held. */
static void resync_cache_bytes(sq_store *s)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->w, "SELECT IFNULL(SUM(size), 0) FROM cache", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        s->cache_bytes = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
}

static lx_status sq_cache_put(lx_store *base, const char *key, const void *blob, size_t len,
                              int64_t now_ms, int64_t expires_ms, int64_t max_bytes, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    if (s->read_only)
        return lx_fail(err, LX_ERR_IO, "ledger %s: opened read-only", s->path);
    if (max_bytes > 0 && (int64_t)len > max_bytes)
        return lx_fail(err, LX_ERR_TOOBIG, "cache entry of %zu bytes exceeds cache.max_mb", len);
    lx_status st = LX_OK;
    pthread_mutex_lock(&s->wmu);
    if (exec(s->w, "BEGIN IMMEDIATE") != SQLITE_OK) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "begin");
        goto out;
    }
    s->cache_bytes -= cache_del(s, key);
    sqlite3_stmt *q = s->st[ST_CACHE_PUT];
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, now_ms);
    sqlite3_bind_int64(q, 3, expires_ms);
    sqlite3_bind_int64(q, 4, (int64_t)len);
    if (len)
        sqlite3_bind_blob(q, 5, blob, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(q, 5, 0);
    if (sqlite3_step(q) != SQLITE_DONE) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "cache");
        sqlite3_reset(q);
        exec(s->w, "ROLLBACK");
        goto out;
    }
    sqlite3_reset(q);
    s->cache_bytes += (int64_t)len;
    /* Evict: expired entries first, then the oldest, down to 90% of the
     * bound, so that a full cache does not scan on every put. */
    int64_t low = max_bytes - max_bytes / 10;
    while (max_bytes > 0 && s->cache_bytes > max_bytes) {
        sqlite3_stmt *o = s->st[ST_CACHE_OLD];
        char keys[64][72];
        int nk = 0;
        sqlite3_reset(o);
        sqlite3_bind_int64(o, 1, now_ms);
        while (nk < 64 && sqlite3_step(o) == SQLITE_ROW) {
            const char *k = col_text(o, 0);
            if (strcmp(k, key) == 0)
                continue; /* never the entry just written */
            lx_strlcpy(keys[nk++], k, sizeof keys[0]);
        }
        sqlite3_reset(o);
        if (nk == 0)
            break;
        for (int i = 0; i < nk && s->cache_bytes > low; i++)
            s->cache_bytes -= cache_del(s, keys[i]);
        if (s->cache_bytes <= low)
            break;
    }
    if (exec(s->w, "COMMIT") != SQLITE_OK) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "commit");
        exec(s->w, "ROLLBACK");
    }
out:
    if (st != LX_OK)
        resync_cache_bytes(s);
    pthread_mutex_unlock(&s->wmu);
    return st;
}

static lx_status sq_cache_expire(lx_store *base, int64_t now_ms, int64_t *n, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    if (n)
        *n = 0;
    if (s->read_only)
        return LX_OK;
    lx_status st = LX_OK;
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&s->wmu);
    if (sqlite3_prepare_v2(s->w, "DELETE FROM cache WHERE expires_ms <= ?1 RETURNING size", -1, &q,
                           NULL) != SQLITE_OK) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "cache expiry");
        goto out;
    }
    sqlite3_bind_int64(q, 1, now_ms);
    int rc;
    int64_t k = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        s->cache_bytes -= sqlite3_column_int64(q, 0);
        k++;
    }
    if (rc != SQLITE_DONE) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "cache expiry");
        sqlite3_reset(q);
        resync_cache_bytes(s);
        k = 0;
    }
    if (n)
        *n = k;
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(s->w, "DELETE FROM kv WHERE expires_ms <> 0 AND expires_ms <= ?1", -1,
                           &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, now_ms);
        sqlite3_step(q);
    }
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->wmu);
    return st;
}

/* ---- kv ---- */

static lx_status sq_kv_get(lx_store *base, const char *key, int64_t now_ms, void **val, size_t *len,
                           lx_error *err)
{
    return get_blob((sq_store *)base, ST_KV_GET, key, now_ms, val, len, err);
}

static lx_status sq_kv_put(lx_store *base, const char *key, const void *val, size_t len,
                           int64_t expires_ms, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    if (s->read_only)
        return lx_fail(err, LX_ERR_IO, "ledger %s: opened read-only", s->path);
    lx_status st = LX_OK;
    pthread_mutex_lock(&s->wmu);
    sqlite3_stmt *q = s->st[ST_KV_PUT];
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
    if (len)
        sqlite3_bind_blob(q, 2, val, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(q, 2, 0);
    sqlite3_bind_int64(q, 3, expires_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        st = db_fail(s, s->w, err, LX_ERR_IO, "kv");
    sqlite3_reset(q);
    pthread_mutex_unlock(&s->wmu);
    return st;
}

static lx_status sq_kv_del(lx_store *base, const char *key, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    if (s->read_only)
        return lx_fail(err, LX_ERR_IO, "ledger %s: opened read-only", s->path);
    lx_status st = LX_OK;
    pthread_mutex_lock(&s->wmu);
    sqlite3_stmt *q = s->st[ST_KV_DEL];
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        st = db_fail(s, s->w, err, LX_ERR_IO, "kv");
    sqlite3_reset(q);
    pthread_mutex_unlock(&s->wmu);
    return st;
}

static const lx_store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .append_rows = sq_append_rows,
    .rollup = sq_rollup,
    .scan_usage = sq_scan_usage,
    .spend = sq_spend,
    .count_rows = sq_count_rows,
    .counter_apply = sq_counter_apply,
    .cache_get = sq_cache_get,
    .cache_put = sq_cache_put,
    .cache_expire = sq_cache_expire,
    .kv_get = sq_kv_get,
    .kv_put = sq_kv_put,
    .kv_del = sq_kv_del,
};

/* ---- open ---- */

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return v;
}

static lx_status configure(sq_store *s, sqlite3 *db, lx_error *err)
{
    sqlite3_busy_timeout(db, 5000);
    if (s->read_only)
        return LX_OK;
    sqlite3_stmt *q = NULL;
    if (!s->memory && !sqlite3_db_readonly(db, "main")) {
        char mode[16] = "";
        if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &q, NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            lx_strlcpy(mode, col_text(q, 0), sizeof mode);
        sqlite3_finalize(q);
        if (strcmp(mode, "wal") != 0)
            return db_fail(s, db, err, LX_ERR_IO, "cannot enable WAL");
    }
    if (exec(db, "PRAGMA synchronous=FULL") != SQLITE_OK)
        return db_fail(s, db, err, LX_ERR_IO, "pragma");
    return LX_OK;
}

static lx_status ensure_schema(sq_store *s, lx_error *err)
{
    int v = user_version(s->w);
    if (v < 0)
        return db_fail(s, s->w, err, LX_ERR_IO, "not a database");
    if (v > LX_STORE_SCHEMA_VERSION)
        return lx_fail(err, LX_ERR_IO, "ledger %s: schema version %d is newer than this llmux (%d)",
                       s->path, v, LX_STORE_SCHEMA_VERSION);
    if (s->read_only) {
        s->empty = v == 0;
        return LX_OK;
    }
    if (v == LX_STORE_SCHEMA_VERSION)
        return LX_OK;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", LX_STORE_SCHEMA_VERSION);
    if (exec(s->w, "BEGIN IMMEDIATE") != SQLITE_OK)
        return db_fail(s, s->w, err, LX_ERR_IO, "begin");
    /* Version 0 -> 1: the whole schema. Later versions add steps here. */
    if (exec(s->w, schema_sql) != SQLITE_OK || exec(s->w, sql) != SQLITE_OK) {
        lx_status st = db_fail(s, s->w, err, LX_ERR_IO, "schema");
        exec(s->w, "ROLLBACK");
        return st;
    }
    if (exec(s->w, "COMMIT") != SQLITE_OK) {
        lx_status st = db_fail(s, s->w, err, LX_ERR_IO, "schema");
        exec(s->w, "ROLLBACK");
        return st;
    }
    return LX_OK;
}

lx_status lx_store_sqlite_open(const char *path, bool read_only, lx_store **out, lx_error *err)
{
    *out = NULL;
    sq_store *s = calloc(1, sizeof *s);
    if (!s)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    s->base.ops = &sq_ops;
    pthread_mutex_init(&s->wmu, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    s->path = strdup(path);
    s->ctr = lx_counters_new();
    s->read_only = read_only;
    s->memory = strcmp(path, ":memory:") == 0 || path[0] == 0;
    lx_status st = LX_OK;
    if (!s->path || !s->ctr) {
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    bool uri = strncmp(path, "file:", 5) == 0;
    if (!s->memory && !uri && !read_only && make_parent(path) != 0) {
        st = lx_fail(err, LX_ERR_IO, "ledger %s: cannot create its folder: %s", path,
                     strerror(errno));
        goto fail;
    }
    int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    if (sqlite3_open_v2(path, &s->w, flags, NULL) != SQLITE_OK) {
        st = db_fail(s, s->w, err, LX_ERR_IO, "cannot open");
        goto fail;
    }
    if ((st = configure(s, s->w, err)) != LX_OK || (st = ensure_schema(s, err)) != LX_OK)
        goto fail;
    if (s->memory || read_only) {
        s->r = s->w;
    } else {
        if (sqlite3_open_v2(path, &s->r,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                            NULL) != SQLITE_OK) {
            st = db_fail(s, s->r, err, LX_ERR_IO, "cannot open");
            goto fail;
        }
        sqlite3_busy_timeout(s->r, 5000);
    }
    for (int i = 0; i < ST_N && !s->empty; i++) {
        bool reader = i == ST_CACHE_GET || i == ST_KV_GET;
        if (read_only && !reader)
            continue;
        sqlite3 *db = reader ? s->r : s->w;
        if (sqlite3_prepare_v3(db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK) {
            st = db_fail(s, db, err, LX_ERR_IO, "prepare");
            goto fail;
        }
    }
    if (!read_only) {
        resync_cache_bytes(s);
    }
    *out = &s->base;
    return LX_OK;
fail:
    sq_close(&s->base);
    return st;
}
