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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/sqlite_int.h"

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

const char *const lx_sq_stmt_sql[ST_N] = {
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

lx_status lx_sq_db_fail(sq_store *s, sqlite3 *db, lx_error *err, lx_status code, const char *what)
{
    return lx_fail(err, code, "ledger %s: %s: %s", s->path, what,
                   db ? sqlite3_errmsg(db) : "cannot open");
}

int lx_sq_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

void lx_sq_bind_text(sqlite3_stmt *st, int i, const char *s)
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

sqlite3 *lx_sq_rd_lock(sq_store *s)
{
    if (s->r == s->w) {
        pthread_mutex_lock(&s->wmu);
        return s->w;
    }
    pthread_mutex_lock(&s->rmu);
    return s->r;
}

void lx_sq_rd_unlock(sq_store *s)
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
    if (s->w && !s->read_only)
        lx_sq_exec(s->w, "PRAGMA optimize"); /* refreshes planner statistics if useful */
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

const char *lx_sq_col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
}

/* ---- counters ---- */

static lx_status sq_counter_apply(lx_store *base, lx_counter_op *ops, size_t n, size_t *failed)
{
    sq_store *s = (sq_store *)base;
    return lx_counters_apply(s->ctr, ops, n, failed);
}

static const lx_store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .append_rows = lx_sq_append_rows,
    .rollup = lx_sq_rollup,
    .scan_usage = lx_sq_scan_usage,
    .spend = lx_sq_spend,
    .count_rows = lx_sq_count_rows,
    .counter_apply = sq_counter_apply,
    .cache_get = lx_sq_cache_get,
    .cache_put = lx_sq_cache_put,
    .cache_expire = lx_sq_cache_expire,
    .kv_get = lx_sq_kv_get,
    .kv_put = lx_sq_kv_put,
    .kv_del = lx_sq_kv_del,
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
    /* The ledger appends; SQLite's default 2 MB page cache per connection
     * would be most of a server's heap. 512 KB keeps the hot index pages. */
    lx_sq_exec(db, "PRAGMA cache_size=-512");
    if (s->read_only)
        return LX_OK;
    sqlite3_stmt *q = NULL;
    if (!s->memory && !sqlite3_db_readonly(db, "main")) {
        char mode[16] = "";
        if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &q, NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            lx_strlcpy(mode, lx_sq_col_text(q, 0), sizeof mode);
        sqlite3_finalize(q);
        if (strcmp(mode, "wal") != 0)
            return lx_sq_db_fail(s, db, err, LX_ERR_IO, "cannot enable WAL");
    }
    if (lx_sq_exec(db, "PRAGMA synchronous=FULL") != SQLITE_OK)
        return lx_sq_db_fail(s, db, err, LX_ERR_IO, "pragma");
    /* After a checkpoint the -wal file is truncated to this, so a burst of
     * writes does not leave a large file behind. */
    lx_sq_exec(db, "PRAGMA journal_size_limit=67108864");
    return LX_OK;
}

static lx_status ensure_schema(sq_store *s, lx_error *err)
{
    int v = user_version(s->w);
    if (v < 0)
        return lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "not a database");
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
    if (lx_sq_exec(s->w, "BEGIN IMMEDIATE") != SQLITE_OK)
        return lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "begin");
    /* Version 0 -> 1: the whole schema. Later versions add steps here. */
    if (lx_sq_exec(s->w, schema_sql) != SQLITE_OK || lx_sq_exec(s->w, sql) != SQLITE_OK) {
        lx_status st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "schema");
        lx_sq_exec(s->w, "ROLLBACK");
        return st;
    }
    if (lx_sq_exec(s->w, "COMMIT") != SQLITE_OK) {
        lx_status st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "schema");
        lx_sq_exec(s->w, "ROLLBACK");
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
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "cannot open");
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
            st = lx_sq_db_fail(s, s->r, err, LX_ERR_IO, "cannot open");
            goto fail;
        }
        sqlite3_busy_timeout(s->r, 5000);
    }
    for (int i = 0; i < ST_N && !s->empty; i++) {
        bool reader = i == ST_CACHE_GET || i == ST_KV_GET;
        if (read_only && !reader)
            continue;
        sqlite3 *db = reader ? s->r : s->w;
        if (sqlite3_prepare_v3(db, lx_sq_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            st = lx_sq_db_fail(s, db, err, LX_ERR_IO, "prepare");
            goto fail;
        }
    }
    if (!read_only) {
        lx_sq_resync_cache_bytes(s);
    }
    *out = &s->base;
    return LX_OK;
fail:
    sq_close(&s->base);
    return st;
}
