/* test_store.c — the SQLite store (store/store.h) on its own. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static char dir[256];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof dir, "/tmp/lx_store_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(store, .init = mkdir_tmp, .fini = rm_tmp);

static lx_store *open_at(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    lx_store *s = NULL;
    lx_error e;
    lx_status st = lx_store_sqlite_open(path, false, &s, &e);
    cr_assert_eq(st, LX_OK, "%s", e.message);
    return s;
}

static lx_ledger_row row_at(int64_t ts, const char *prov, const char *model, double cost,
                            int64_t lat)
{
    return (lx_ledger_row){.ts_ms = ts,
                           .front = "cli",
                           .route = strcmp(prov, "local") == 0 ? "local" : "cloud",
                           .reason = "default",
                           .provider = prov,
                           .model = model,
                           .attempts = 1,
                           .usage = {.input = 100, .output = 50},
                           .cost_usd = cost,
                           .latency_ms = lat,
                           .ttft_ms = lat / 2,
                           .http_status = 200,
                           .status = "ok"};
}

typedef struct sums {
    int64_t raw, rolled, requests, input;
    double cost;
} sums;

static bool sum_cb(void *ud, const lx_usage_rec *r)
{
    sums *s = ud;
    if (r->rollup)
        s->rolled += r->requests;
    else
        s->raw++;
    s->requests += r->requests;
    s->input += r->usage.input;
    s->cost += r->cost_usd;
    return true;
}

Test(store, creates_folders_schema_wal_and_version)
{
    lx_store *s = open_at("a/b/c/ledger.db");
    lx_store_close(s);
    char path[512];
    snprintf(path, sizeof path, "%s/a/b/c/ledger.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(q, 0), LX_STORE_SCHEMA_VERSION);
    sqlite3_finalize(q);
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

Test(store, newer_schema_is_refused)
{
    char path[512];
    snprintf(path, sizeof path, "%s/new.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    lx_store *s = NULL;
    lx_error e;
    cr_assert_eq(lx_store_sqlite_open(path, false, &s, &e), LX_ERR_IO);
    cr_assert(strstr(e.message, "newer"), "%s", e.message);
    cr_assert_null(s);
}

Test(store, append_scan_spend_count)
{
    lx_store *s = open_at("l.db");
    lx_ledger_row rows[3] = {row_at(1000, "openai", "gpt-4o", 0.5, 100),
                             row_at(2000, "local", "tiny", 0, 10),
                             row_at(3000, "openai", "gpt-4o", 0.25, 300)};
    rows[2].key_id = "team-a";
    lx_error e;
    cr_assert_eq(s->ops->append_rows(s, rows, 3, &e), LX_OK, "%s", e.message);
    int64_t n;
    cr_assert_eq(s->ops->count_rows(s, &n, &e), LX_OK);
    cr_assert_eq(n, 3);
    sums sm = {0};
    cr_assert_eq(s->ops->scan_usage(s, 1500, sum_cb, &sm, &e), LX_OK);
    cr_assert_eq(sm.raw, 2);
    cr_assert_float_eq(sm.cost, 0.25, 1e-9);
    double usd;
    cr_assert_eq(s->ops->spend(s, NULL, 0, &usd, &e), LX_OK);
    cr_assert_float_eq(usd, 0.75, 1e-9);
    cr_assert_eq(s->ops->spend(s, "team-a", 0, &usd, &e), LX_OK);
    cr_assert_float_eq(usd, 0.25, 1e-9);
    lx_store_close(s);
    /* Rows survive a reopen. */
    s = open_at("l.db");
    cr_assert_eq(s->ops->count_rows(s, &n, &e), LX_OK);
    cr_assert_eq(n, 3);
    lx_store_close(s);
}

Test(store, rollup_moves_old_rows_once)
{
    lx_store *s = open_at("r.db");
    const int64_t day = 86400000;
    lx_ledger_row rows[4] = {row_at(1 * day + 5, "openai", "gpt-4o", 1, 100),
                             row_at(1 * day + 6, "openai", "gpt-4o", 2, 200),
                             row_at(2 * day + 1, "openai", "gpt-4o", 4, 300),
                             row_at(5 * day, "openai", "gpt-4o", 8, 400)};
    rows[1].status = "timeout";
    lx_error e;
    cr_assert_eq(s->ops->append_rows(s, rows, 4, &e), LX_OK);
    int64_t rolled;
    cr_assert_eq(s->ops->rollup(s, 3 * day, &rolled, &e), LX_OK, "%s", e.message);
    cr_assert_eq(rolled, 3);
    /* Again: nothing left to move, and the sums do not double. */
    cr_assert_eq(s->ops->rollup(s, 3 * day, &rolled, &e), LX_OK);
    cr_assert_eq(rolled, 0);
    sums sm = {0};
    cr_assert_eq(s->ops->scan_usage(s, 0, sum_cb, &sm, &e), LX_OK);
    cr_assert_eq(sm.raw, 1);
    cr_assert_eq(sm.rolled, 3);
    cr_assert_eq(sm.requests, 4);
    cr_assert_eq(sm.input, 400);
    cr_assert_float_eq(sm.cost, 15, 1e-9);
    double usd;
    cr_assert_eq(s->ops->spend(s, NULL, 2 * day, &usd, &e), LX_OK);
    cr_assert_float_eq(usd, 12, 1e-9);
    /* A later rollup of the same day adds to the existing daily row. */
    lx_ledger_row late = row_at(1 * day + 9, "openai", "gpt-4o", 16, 1);
    cr_assert_eq(s->ops->append_rows(s, &late, 1, &e), LX_OK);
    cr_assert_eq(s->ops->rollup(s, 3 * day, &rolled, &e), LX_OK);
    cr_assert_eq(rolled, 1);
    sums sm2 = {0};
    cr_assert_eq(s->ops->scan_usage(s, 0, sum_cb, &sm2, &e), LX_OK);
    cr_assert_eq(sm2.requests, 5);
    cr_assert_float_eq(sm2.cost, 31, 1e-9);
    lx_store_close(s);
}

Test(store, cache_ttl_replace_and_eviction)
{
    lx_store *s = open_at("c.db");
    lx_error e;
    void *b;
    size_t n;
    char body[1000];
    memset(body, 'x', sizeof body);
    cr_assert_eq(s->ops->cache_get(s, "k0", 0, &b, &n, &e), LX_ERR_NOTFOUND);
    cr_assert_eq(s->ops->cache_put(s, "k0", "hello", 5, 100, 200, 10000, &e), LX_OK);
    cr_assert_eq(s->ops->cache_get(s, "k0", 150, &b, &n, &e), LX_OK);
    cr_assert_eq(n, 5);
    cr_assert_eq(memcmp(b, "hello", 5), 0);
    free(b);
    /* Expired. */
    cr_assert_eq(s->ops->cache_get(s, "k0", 200, &b, &n, &e), LX_ERR_NOTFOUND);
    /* Replace. */
    cr_assert_eq(s->ops->cache_put(s, "k0", "bye", 3, 300, 10000, 10000, &e), LX_OK);
    cr_assert_eq(s->ops->cache_get(s, "k0", 400, &b, &n, &e), LX_OK);
    cr_assert_eq(n, 3);
    free(b);
    /* Bound 2500 bytes: the oldest go first. */
    char key[16];
    for (int i = 1; i <= 5; i++) {
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_eq(s->ops->cache_put(s, key, body, sizeof body, 1000 + i, 100000, 2500, &e),
                     LX_OK);
    }
    int present = 0;
    for (int i = 0; i <= 5; i++) {
        snprintf(key, sizeof key, "k%d", i);
        if (s->ops->cache_get(s, key, 2000, &b, &n, &e) == LX_OK) {
            present++;
            free(b);
            cr_assert(i >= 4, "k%d should have been evicted", i);
        }
    }
    cr_assert_eq(present, 2);
    /* Too big for the bound at all. */
    cr_assert_eq(s->ops->cache_put(s, "big", body, sizeof body, 1, 100000, 500, &e), LX_ERR_TOOBIG);
    int64_t gone;
    cr_assert_eq(s->ops->cache_expire(s, 200000, &gone, &e), LX_OK);
    cr_assert_eq(gone, 2);
    lx_store_close(s);
}

Test(store, kv_ttl)
{
    lx_store *s = open_at("kv.db");
    lx_error e;
    void *v;
    size_t n;
    cr_assert_eq(s->ops->kv_put(s, "breaker:openai/gpt-4o", "open", 4, 5000, &e), LX_OK);
    cr_assert_eq(s->ops->kv_get(s, "breaker:openai/gpt-4o", 4000, &v, &n, &e), LX_OK);
    cr_assert_eq(n, 4);
    free(v);
    cr_assert_eq(s->ops->kv_get(s, "breaker:openai/gpt-4o", 5000, &v, &n, &e), LX_ERR_NOTFOUND);
    cr_assert_eq(s->ops->kv_put(s, "sticky:abc", "1", 1, 0, &e), LX_OK);
    cr_assert_eq(s->ops->kv_get(s, "sticky:abc", INT64_MAX, &v, &n, &e), LX_OK);
    free(v);
    cr_assert_eq(s->ops->kv_del(s, "sticky:abc", &e), LX_OK);
    cr_assert_eq(s->ops->kv_get(s, "sticky:abc", 0, &v, &n, &e), LX_ERR_NOTFOUND);
    lx_store_close(s);
}

Test(store, counters_all_or_nothing_and_windows)
{
    lx_store *s = open_at("ctr.db");
    lx_counter_op ops[2] = {
        {.name = "a", .window = 1, .delta = 3, .limit = 5, .mode = LX_CTR_LIMIT},
        {.name = "b", .window = 1, .delta = 1, .limit = 2, .mode = LX_CTR_LIMIT},
    };
    size_t failed = 99;
    cr_assert_eq(s->ops->counter_apply(s, ops, 2, &failed), LX_OK);
    cr_assert_eq(s->ops->counter_apply(s, ops, 2, &failed), LX_OK); /* a=6 b=2 */
    lx_counter_op one = {.name = "b", .window = 1, .delta = 1, .limit = 100, .mode = LX_CTR_LIMIT};
    cr_assert_eq(s->ops->counter_apply(s, &one, 1, NULL), LX_OK); /* b=3 */
    cr_assert_eq(s->ops->counter_apply(s, ops, 2, &failed), LX_ERR_LIMIT);
    cr_assert_eq(failed, 0);
    cr_assert_float_eq(ops[0].value, 6, 1e-9);
    /* Nothing applied: b still 3. */
    lx_counter_op chk = {.name = "b", .window = 1, .limit = 4, .mode = LX_CTR_CHECK};
    cr_assert_eq(s->ops->counter_apply(s, &chk, 1, NULL), LX_OK);
    cr_assert_float_eq(chk.value, 3, 1e-9);
    /* A new window starts at 0; an op for the old window is dropped. */
    ops[0].window = ops[1].window = 2;
    cr_assert_eq(s->ops->counter_apply(s, ops, 2, &failed), LX_OK);
    cr_assert_float_eq(ops[0].value, 0, 1e-9);
    lx_counter_op old = {.name = "a", .window = 1, .delta = 100, .mode = LX_CTR_ADD};
    cr_assert_eq(s->ops->counter_apply(s, &old, 1, NULL), LX_OK);
    lx_counter_op now = {.name = "a", .window = 2, .limit = 4, .mode = LX_CTR_CHECK};
    cr_assert_eq(s->ops->counter_apply(s, &now, 1, NULL), LX_OK);
    cr_assert_float_eq(now.value, 3, 1e-9);
    lx_store_close(s);
}

Test(store, memory_and_read_only)
{
    lx_store *m = NULL;
    lx_error e;
    cr_assert_eq(lx_store_sqlite_open(":memory:", false, &m, &e), LX_OK);
    lx_ledger_row r = row_at(1, "openai", "gpt-4o", 1, 1);
    cr_assert_eq(m->ops->append_rows(m, &r, 1, &e), LX_OK);
    int64_t n;
    cr_assert_eq(m->ops->count_rows(m, &n, &e), LX_OK);
    cr_assert_eq(n, 1);
    lx_store_close(m);

    lx_store *s = open_at("ro.db");
    cr_assert_eq(s->ops->append_rows(s, &r, 1, &e), LX_OK);
    lx_store_close(s);
    char path[512];
    snprintf(path, sizeof path, "%s/ro.db", dir);
    cr_assert_eq(lx_store_sqlite_open(path, true, &s, &e), LX_OK, "%s", e.message);
    cr_assert_eq(s->ops->count_rows(s, &n, &e), LX_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(s->ops->append_rows(s, &r, 1, &e), LX_ERR_IO);
    lx_store_close(s);
    /* Read-only open of a file that is not ours yet: an empty report. */
    snprintf(path, sizeof path, "%s/empty.db", dir);
    FILE *f = fopen(path, "w");
    fclose(f);
    cr_assert_eq(lx_store_sqlite_open(path, true, &s, &e), LX_OK, "%s", e.message);
    sums sm = {0};
    cr_assert_eq(s->ops->scan_usage(s, 0, sum_cb, &sm, &e), LX_OK);
    cr_assert_eq(sm.requests, 0);
    lx_store_close(s);
}

typedef struct wctx {
    lx_store *s;
    int id;
} wctx;

static void *writer(void *arg)
{
    wctx *w = arg;
    lx_ledger_row rows[10];
    for (int i = 0; i < 10; i++)
        rows[i] = row_at(w->id * 1000 + i, "openai", "gpt-4o", 0.01, 5);
    for (int k = 0; k < 20; k++) {
        lx_error e;
        cr_assert_eq(w->s->ops->append_rows(w->s, rows, 10, &e), LX_OK, "%s", e.message);
        void *b;
        size_t n;
        w->s->ops->cache_get(w->s, "nope", 0, &b, &n, &e);
    }
    return NULL;
}

Test(store, concurrent_batches)
{
    lx_store *s = open_at("cc.db");
    pthread_t th[8];
    wctx w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (wctx){s, i};
        pthread_create(&th[i], NULL, writer, &w[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    int64_t n;
    lx_error e;
    cr_assert_eq(s->ops->count_rows(s, &n, &e), LX_OK);
    cr_assert_eq(n, 8 * 20 * 10);
    lx_store_close(s);
}

Test(store, garbage_file_is_refused_not_overwritten)
{
    char path[512];
    snprintf(path, sizeof path, "%s/garbage.db", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 512; i++)
        fputs("not a database at all. ", f);
    fclose(f);
    lx_store *s = NULL;
    lx_error e;
    cr_assert_eq(lx_store_sqlite_open(path, false, &s, &e), LX_ERR_IO);
    cr_assert_null(s);
    cr_assert(strstr(e.message, path), "%s", e.message);
    f = fopen(path, "r");
    char head[16] = "";
    cr_assert_eq(fread(head, 1, 15, f), 15);
    fclose(f);
    cr_assert_str_eq(head, "not a database ");
    cr_assert_eq(lx_store_sqlite_open(path, true, &s, &e), LX_ERR_IO);
}
