/* sqlite_cache.c — the response cache and the key -> value map of the
 * SQLite store: lookups on the reader connection, writes on the writer
 * with a running total of cache bytes for the size bound. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"

/* ---- blobs (cache and kv lookups on the reader) ---- */

static lx_status get_blob(sq_store *s, int which, const char *key, int64_t now_ms, void **blob,
                          size_t *len, lx_error *err)
{
    *blob = NULL;
    *len = 0;
    if (s->empty)
        return LX_ERR_NOTFOUND;
    lx_status st = LX_ERR_NOTFOUND;
    sqlite3 *db = lx_sq_rd_lock(s);
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
        st = lx_sq_db_fail(s, db, err, LX_ERR_IO, "lookup");
    }
out:
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    lx_sq_rd_unlock(s);
    return st;
}

lx_status lx_sq_cache_get(lx_store *base, const char *key, int64_t now_ms, void **blob, size_t *len,
                          lx_error *err)
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
void lx_sq_resync_cache_bytes(sq_store *s)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->w, "SELECT IFNULL(SUM(size), 0) FROM cache", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        s->cache_bytes = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
}

lx_status lx_sq_cache_put(lx_store *base, const char *key, const void *blob, size_t len,
                          int64_t now_ms, int64_t expires_ms, int64_t max_bytes, lx_error *err)
{
    sq_store *s = (sq_store *)base;
    if (s->read_only)
        return lx_fail(err, LX_ERR_IO, "ledger %s: opened read-only", s->path);
    if (max_bytes > 0 && (int64_t)len > max_bytes)
        return lx_fail(err, LX_ERR_TOOBIG, "cache entry of %zu bytes exceeds cache.max_mb", len);
    lx_status st = LX_OK;
    pthread_mutex_lock(&s->wmu);
    if (lx_sq_exec(s->w, "BEGIN IMMEDIATE") != SQLITE_OK) {
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "begin");
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
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "cache");
        sqlite3_reset(q);
        lx_sq_exec(s->w, "ROLLBACK");
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
            const char *k = lx_sq_col_text(o, 0);
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
    if (lx_sq_exec(s->w, "COMMIT") != SQLITE_OK) {
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "commit");
        lx_sq_exec(s->w, "ROLLBACK");
    }
out:
    if (st != LX_OK)
        lx_sq_resync_cache_bytes(s);
    pthread_mutex_unlock(&s->wmu);
    return st;
}

lx_status lx_sq_cache_expire(lx_store *base, int64_t now_ms, int64_t *n, lx_error *err)
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
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "cache expiry");
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
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "cache expiry");
        sqlite3_reset(q);
        lx_sq_resync_cache_bytes(s);
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

lx_status lx_sq_kv_get(lx_store *base, const char *key, int64_t now_ms, void **val, size_t *len,
                       lx_error *err)
{
    return get_blob((sq_store *)base, ST_KV_GET, key, now_ms, val, len, err);
}

lx_status lx_sq_kv_put(lx_store *base, const char *key, const void *val, size_t len,
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
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "kv");
    sqlite3_reset(q);
    pthread_mutex_unlock(&s->wmu);
    return st;
}

lx_status lx_sq_kv_del(lx_store *base, const char *key, lx_error *err)
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
        st = lx_sq_db_fail(s, s->w, err, LX_ERR_IO, "kv");
    sqlite3_reset(q);
    pthread_mutex_unlock(&s->wmu);
    return st;
}
