/*
 * llmux usage — requests, tokens, cost and savings from the ledger.
 *
 *   llmux usage [--since 7d|24h|30m|2026-11-01] [--by provider|model|key|day|route]
 *               [--json] [--config F]
 *
 * Reads the ledger named by the config (ledger.path) read-only; a missing
 * or empty ledger gives a report with no rows (exit 0). Days older than
 * ledger.retention_days come from daily rollups: they count in every
 * column except the percentiles, which rest on raw rows only (the table
 * says so in a note). See account/usage.h and docs/accounting.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "account/account.h"
#include "account/usage.h"
#include "cli/cliutil.h"
#include "cli/commands.h"
#include "store/store.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: llmux usage [OPTIONS]\n"
               "\n"
               "Requests, tokens, cost, latency and savings from the ledger.\n"
               "\n"
               "options:\n"
               "      --since WHEN     7d, 24h, 30m, or a UTC date 2026-11-01 (default 7d)\n"
               "      --by WHAT        provider, model, key, day or route (default model)\n"
               "      --json           one JSON object: groups, total, escalate, ...\n"
               "      --config FILE    configuration file (its ledger.path is read)\n"
               "  -h, --help           this help\n"
               "\n"
               "saved = what the same tokens would have cost on the escalation model\n"
               "(routing.escalate) minus what they cost. p50/p95 come from raw rows only.\n"
               "\n"
               "exit status: 0 report printed (also for an empty ledger), 1 the ledger\n"
               "cannot be read, 2 usage or configuration error\n");
}

static void fmt_int(char *b, size_t cap, int64_t v)
{
    snprintf(b, cap, "%lld", (long long)v);
}

static void fmt_usd(char *b, size_t cap, double v)
{
    if (v < 0)
        snprintf(b, cap, "-$%.4f", -v);
    else
        snprintf(b, cap, "$%.4f", v);
}

static void fmt_ms(char *b, size_t cap, int64_t v)
{
    if (v < 0)
        snprintf(b, cap, "-");
    else
        snprintf(b, cap, "%lld ms", (long long)v);
}

static lx_status add_row(lx_table *t, const lx_usage_group *g, bool saved_known)
{
    char c[9][64];
    lx_strlcpy(c[0], g->name, sizeof c[0]);
    fmt_int(c[1], sizeof c[1], g->requests);
    fmt_int(c[2], sizeof c[2], lx_usage_total_input(&g->tokens));
    fmt_int(c[3], sizeof c[3], lx_usage_total_output(&g->tokens));
    fmt_usd(c[4], sizeof c[4], g->cost_usd);
    if (saved_known)
        fmt_usd(c[5], sizeof c[5], g->saved_usd);
    else
        snprintf(c[5], sizeof c[5], "-");
    fmt_ms(c[6], sizeof c[6], g->p50_ms);
    fmt_ms(c[7], sizeof c[7], g->p95_ms);
    snprintf(c[8], sizeof c[8], "%.0f%%",
             g->requests ? 100.0 * (double)g->local / (double)g->requests : 0.0);
    const char *cells[9];
    for (int i = 0; i < 9; i++)
        cells[i] = c[i];
    return lx_table_add(t, cells);
}

static int print_table(const lx_usage_report *r)
{
    const char *heads[9] = {lx_usage_by_name(r->by),
                            "requests",
                            "tokens in",
                            "tokens out",
                            "cost",
                            "saved",
                            "p50",
                            "p95",
                            "local"};
    lx_table *t = lx_table_new(9, heads);
    if (!t) {
        fprintf(stderr, "llmux usage: out of memory\n");
        return LX_EXIT_RUNTIME;
    }
    for (size_t i = 1; i < 9; i++)
        lx_table_align_right(t, i);
    for (size_t i = 0; i < r->n_groups; i++)
        add_row(t, &r->groups[i], r->saved_known);
    add_row(t, &r->total, r->saved_known);
    char since[32];
    time_t s = (time_t)(r->since_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(since, sizeof since, "%Y-%m-%d %H:%M UTC", &tm);
    printf("since %s, by %s\n", since, lx_usage_by_name(r->by));
    lx_table_print(t, stdout);
    lx_table_free(t);
    if (r->escalate[0])
        printf("saved: against %s%s\n", r->escalate,
               r->saved_known ? "" : " (no price in the catalogue)");
    else
        printf("saved: no escalation model configured\n");
    if (r->rollup_requests)
        printf("note: %lld requests come from daily rollups (older than retention); p50/p95 "
               "use raw rows only\n",
               (long long)r->rollup_requests);
    return LX_EXIT_OK;
}

int lx_cmd_usage(int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, 0, 'S'}, {"by", required_argument, 0, 'B'},
        {"json", no_argument, 0, 'J'},        {"config", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
    };
    const char *since_s = "7d", *by_s = "model", *config = NULL;
    bool json = false;
    int c;
    lx_cli_getopt_reset();
    while ((c = lx_cli_getopt(argc, argv, "c:h", opts)) != -1) {
        switch (c) {
        case 'S':
            since_s = optarg;
            break;
        case 'B':
            by_s = optarg;
            break;
        case 'J':
            json = true;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            usage(stdout);
            return LX_EXIT_OK;
        default:
            return LX_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return lx_cli_usage_error("usage", "unexpected argument '%s'", argv[optind]);
    lx_error e;
    int64_t since = 0;
    lx_usage_by by;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (lx_usage_parse_since(since_s, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, &since,
                             &e) != LX_OK ||
        lx_usage_parse_by(by_s, &by, &e) != LX_OK)
        return lx_cli_usage_error("usage", "%s", e.message);

    lx_config *cfg = NULL;
    int rc = lx_cli_load_config(config, &cfg);
    if (rc != 0)
        return rc;
    lx_store *store = NULL;
    const char *path = cfg->ledger.path;
    struct stat st;
    if (path && strcmp(path, ":memory:") != 0 && stat(path, &st) == 0) {
        if (lx_store_sqlite_open(path, true, &store, &e) != LX_OK) {
            fprintf(stderr, "llmux usage: %s\n", e.message);
            lx_config_free(cfg);
            return LX_EXIT_RUNTIME;
        }
    }
    lx_usage_report r;
    if (lx_usage_report_build(cfg, store, since, by, &r, &e) != LX_OK) {
        fprintf(stderr, "llmux usage: %s\n", e.message);
        lx_store_close(store);
        lx_config_free(cfg);
        return LX_EXIT_RUNTIME;
    }
    if (json) {
        lx_buf b;
        lx_buf_init(&b, 64u << 20);
        if (lx_usage_report_json(&r, &b) == LX_OK) {
            fwrite(b.data, 1, b.len, stdout);
            fputc('\n', stdout);
            rc = LX_EXIT_OK;
        } else {
            fprintf(stderr, "llmux usage: out of memory\n");
            rc = LX_EXIT_RUNTIME;
        }
        lx_buf_free(&b);
    } else {
        rc = print_table(&r);
    }
    lx_usage_report_free(&r);
    lx_store_close(store);
    lx_config_free(cfg);
    return rc;
}
