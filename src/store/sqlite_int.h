/*
 * sqlite_int.h — shared between the files of the SQLite store, not a public
 * API.
 *
 *   sqlite.c         schema, open/close, the vtable, counters, helpers
 *   sqlite_ledger.c  ledger batches, rollups, usage scans, spend
 *   sqlite_cache.c   response cache and the key -> value map
 *
 * Locking: s->wmu guards the writer connection and every statement in
 * s->st except the ST_*_GET ones, which live on the reader connection and
 * are guarded by lx_sq_rd_lock (the writer's mutex when both connections
 * are the same, as for ":memory:").
 */
#ifndef LX_STORE_SQLITE_INT_H
#define LX_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>

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

extern const char *const lx_sq_stmt_sql[ST_N];

/* "ledger PATH: WHAT: sqlite message" into err; returns code. */
lx_status lx_sq_db_fail(sq_store *s, sqlite3 *db, lx_error *err, lx_status code, const char *what);
int lx_sq_exec(sqlite3 *db, const char *sql);
void lx_sq_bind_text(sqlite3_stmt *st, int i, const char *s); /* NULL binds NULL */
const char *lx_sq_col_text(sqlite3_stmt *q, int i);           /* "" for NULL */
/* The reader connection, locked; release with lx_sq_rd_unlock. */
sqlite3 *lx_sq_rd_lock(sq_store *s);
void lx_sq_rd_unlock(sq_store *s);
/* Recomputes s->cache_bytes; writer lock held. */
void lx_sq_resync_cache_bytes(sq_store *s);

/* vtable entries (store.h lx_store_ops) */
lx_status lx_sq_append_rows(lx_store *base, const lx_ledger_row *rows, size_t n, lx_error *err);
lx_status lx_sq_rollup(lx_store *base, int64_t cutoff_ms, int64_t *rolled, lx_error *err);
lx_status lx_sq_scan_usage(lx_store *base, int64_t since_ms, lx_usage_fn fn, void *ud,
                           lx_error *err);
lx_status lx_sq_spend(lx_store *base, const char *key_id, int64_t since_ms, double *usd,
                      lx_error *err);
lx_status lx_sq_count_rows(lx_store *base, int64_t *n, lx_error *err);
lx_status lx_sq_cache_get(lx_store *base, const char *key, int64_t now_ms, void **blob, size_t *len,
                          lx_error *err);
lx_status lx_sq_cache_put(lx_store *base, const char *key, const void *blob, size_t len,
                          int64_t now_ms, int64_t expires_ms, int64_t max_bytes, lx_error *err);
lx_status lx_sq_cache_expire(lx_store *base, int64_t now_ms, int64_t *n, lx_error *err);
lx_status lx_sq_kv_get(lx_store *base, const char *key, int64_t now_ms, void **val, size_t *len,
                       lx_error *err);
lx_status lx_sq_kv_put(lx_store *base, const char *key, const void *val, size_t len,
                       int64_t expires_ms, lx_error *err);
lx_status lx_sq_kv_del(lx_store *base, const char *key, lx_error *err);

#endif
