/*
 * test_ledger_crash.c — kill -9 under load loses no committed row and never
 * corrupts the ledger.
 *
 * A child process records rows through lx_account as fast as it can; after
 * every lx_account_flush (which returns once the rows are committed) it
 * writes the number of rows now in the database to a pipe. The parent
 * lets it run for a random while, sends SIGKILL (often in the middle of a
 * batch transaction), reads the last count the child reported, and opens
 * the database: PRAGMA integrity_check must say "ok" and the row count must
 * be at least the last reported count. Several rounds on the same file, so
 * recovery of a WAL left by a killed writer is exercised too.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "account/account.h"
#include "config/config.h"
#include "store/store.h"

static char dir[256], dbpath[300];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/lx_crash_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(dbpath, sizeof dbpath, "%s/ledger.db", dir);
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* The child: never returns. */
static void child(int fd)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "providers:\n  - {name: openai, type: openai, base_url: 'http://127.0.0.1:9/v1',"
             " models: [gpt-4o]}\nledger: {path: '%s', flush_ms: 2}\n",
             dbpath);
    lx_config *cfg = NULL;
    lx_account *a = NULL;
    if (lx_config_parse(yaml, strlen(yaml), "crash.yaml", &cfg, NULL) != LX_OK ||
        lx_account_open(cfg, &a, NULL) != LX_OK)
        _exit(3);
    lx_store *s = lx_account_store(a);
    int64_t base = 0;
    if (s->ops->count_rows(s, &base, NULL) != LX_OK)
        _exit(4);
    lx_account_stats st;
    for (unsigned i = 0;; i++) {
        int burst = 1 + (int)(i * 7919u % 300);
        for (int k = 0; k < burst; k++) {
            lx_ledger_row row = {.ts_ms = (int64_t)time(NULL) * 1000,
                                 .key_id = "crash",
                                 .front = "cli",
                                 .route = "cloud",
                                 .reason = "default",
                                 .provider = "openai",
                                 .model = "gpt-4o",
                                 .attempts = 1,
                                 .usage = {.input = k, .output = (int64_t)i},
                                 .cost_usd = 0.001,
                                 .latency_ms = k,
                                 .http_status = 200,
                                 .status = "ok",
                                 .privacy = "EMAIL"};
            lx_account_record(a, &row);
        }
        lx_account_flush(a);
        lx_account_stats_get(a, &st);
        if (st.rows_dropped)
            _exit(5);
        int64_t committed = base + (int64_t)st.rows_written;
        if (write(fd, &committed, sizeof committed) != sizeof committed)
            _exit(6);
    }
}

static void check_db(int64_t at_least, int round)
{
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "ok", "round %d", round);
    sqlite3_finalize(q);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM requests", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    cr_assert_geq(n, at_least, "round %d: %lld rows on disk, %lld were reported committed", round,
                  (long long)n, (long long)at_least);
}

Test(ledger_crash, kill9_under_load_loses_no_committed_row, .init = setup, .fini = teardown,
     .timeout = 60)
{
    unsigned seed = (unsigned)time(NULL);
    int64_t last = 0;
    for (int round = 0; round < 6; round++) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            close(p[0]);
            child(p[1]);
        }
        close(p[1]);
        /* Let it commit a random number of batches, then kill it at a
         * random moment inside the next ones. */
        int want = 3 + (int)(rand_r(&seed) % 20);
        int got = 0;
        int64_t v;
        while (got < want && read(p[0], &v, sizeof v) == sizeof v) {
            cr_assert_geq(v, last);
            last = v;
            got++;
        }
        cr_assert_eq(got, want, "round %d: the child stopped early", round);
        usleep(rand_r(&seed) % 3000);
        cr_assert_eq(kill(pid, SIGKILL), 0);
        /* Counts written before it died are still in the pipe. */
        while (read(p[0], &v, sizeof v) == sizeof v)
            last = v;
        close(p[0]);
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "round %d: the child exited by itself (status %d)", round, status);
        check_db(last, round);
    }
    cr_assert_gt(last, 0);
}
