/* test_account.c — prices, budgets, cache, ledger and reports (account/account.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "account/account.h"
#include "account/account_int.h"
#include "account/usage.h"
#include "config/config.h"
#include "store/store.h"

static char dir[256];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof dir, "/tmp/lx_acct_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(account, .init = mkdir_tmp, .fini = rm_tmp);

#define PROVIDERS                                                                                  \
    "providers:\n"                                                                                 \
    "  - {name: openai, type: openai, base_url: 'http://127.0.0.1:9/v1', api_key: sk-test,\n"      \
    "     models: [gpt-4o, gpt-4o-mini]}\n"                                                        \
    "  - {name: local, type: ollama, base_url: 'http://127.0.0.1:9', models: [tiny]}\n"

/* Config with the providers above plus `extra`; "@DIR@" becomes the test dir. */
static lx_config *cfg_with(const char *extra)
{
    char yaml[4096], ex[2048];
    const char *at = strstr(extra, "@DIR@");
    if (at)
        snprintf(ex, sizeof ex, "%.*s%s%s", (int)(at - extra), extra, dir, at + 5);
    else
        snprintf(ex, sizeof ex, "%s", extra);
    snprintf(yaml, sizeof yaml, "%s%s", PROVIDERS, ex);
    lx_config *c = NULL;
    lx_error e;
    lx_status st = lx_config_parse(yaml, strlen(yaml), "test.yaml", &c, &e);
    cr_assert_eq(st, LX_OK, "%s", e.message);
    return c;
}

static lx_status cfg_err(const char *extra, lx_error *e)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "%s%s", PROVIDERS, extra);
    lx_config *c = NULL;
    lx_status st = lx_config_parse(yaml, strlen(yaml), "test.yaml", &c, e);
    lx_config_free(c);
    return st;
}

static lx_account *open_acct(const lx_config *c)
{
    lx_account *a = NULL;
    lx_error e;
    cr_assert_eq(lx_account_open(c, &a, &e), LX_OK, "%s", e.message);
    return a;
}

/* ---- config ---- */

Test(account, config_sections_parse_and_default)
{
    lx_config *c = cfg_with("");
    cr_assert(c->ledger.enabled);
    cr_assert_eq(c->ledger.retention_days, 30);
    cr_assert_eq(c->ledger.flush_ms, 200);
    cr_assert_not_null(c->ledger.path);
    cr_assert_eq(c->budgets.at_limit, LX_AT_LIMIT_LOCAL);
    cr_assert_eq(c->cache.mode, LX_CACHE_AUTO);
    cr_assert_eq(c->cache.max_mb, 256);
    lx_config_free(c);
    c = cfg_with("ledger: {path: '@DIR@/x.db', retention_days: 7, store_prompts: true,\n"
                 "  energy_usd_per_mtok: 0.5, flush_ms: 50, enabled: false}\n"
                 "budgets: {day_usd: 5, month_usd: 50.5, rpm: 60, tpm: 1000, at_limit: reject}\n"
                 "cache: {mode: on, ttl_s: 60, max_mb: 2, routes: [openai/gpt-4o, 'local/*']}\n");
    cr_assert(!c->ledger.enabled);
    cr_assert(c->ledger.store_prompts);
    cr_assert_eq(c->ledger.retention_days, 7);
    cr_assert_float_eq(c->ledger.energy_usd_per_mtok, 0.5, 1e-12);
    cr_assert(strstr(c->ledger.path, "/x.db"));
    cr_assert_float_eq(c->budgets.month_usd, 50.5, 1e-12);
    cr_assert_eq(c->budgets.rpm, 60);
    cr_assert_eq(c->budgets.at_limit, LX_AT_LIMIT_REJECT);
    cr_assert_eq(c->cache.mode, LX_CACHE_ON);
    cr_assert_eq(c->cache.n_routes, 2);
    cr_assert_str_eq(c->cache.routes[1], "local/*");
    lx_config_free(c);
}

Test(account, config_errors_name_the_place)
{
    lx_error e;
    cr_assert_eq(cfg_err("ledger: {retension_days: 3}\n", &e), LX_ERR_CONFIG);
    cr_assert(strstr(e.message, "test.yaml:5:10:"), "%s", e.message);
    cr_assert(strstr(e.message, "did you mean 'retention_days'"), "%s", e.message);
    cr_assert_eq(cfg_err("budgets: {day_usd: -1}\n", &e), LX_ERR_CONFIG);
    cr_assert(strstr(e.message, "budgets.day_usd"), "%s", e.message);
    cr_assert_eq(cfg_err("budgets: {at_limit: maybe}\n", &e), LX_ERR_CONFIG);
    cr_assert(strstr(e.message, "reject, local"), "%s", e.message);
    cr_assert_eq(cfg_err("cache: {mode: sometimes}\n", &e), LX_ERR_CONFIG);
    cr_assert_eq(cfg_err("cache: {routes: [gpt-4o]}\n", &e), LX_ERR_CONFIG);
    cr_assert(strstr(e.message, "provider/model"), "%s", e.message);
    cr_assert_eq(cfg_err("cache:\n  routes:\n    - openai/gpt-4o\n    - nobody/x\n", &e),
                 LX_ERR_CONFIG);
    cr_assert(strstr(e.message, "test.yaml:8:7: cache.routes[1]: no provider named 'nobody'"), "%s",
              e.message);
    cr_assert_eq(cfg_err("ledger: {enabled: yes please}\n", &e), LX_ERR_CONFIG);
}

/* ---- prices ---- */

Test(account, prices_from_catalogue)
{
    lx_config *c = cfg_with("ledger: {energy_usd_per_mtok: 0.2}\n");
    const lx_provider_cfg *oa = lx_config_provider(c, "openai");
    const lx_provider_cfg *lo = lx_config_provider(c, "local");
    bool known;
    lx_usage u = {.input = 1000000, .output = 1000000};
    cr_assert_float_eq(lx_price_usd(c, oa, "gpt-4o", &u, &known), 12.5, 1e-9);
    cr_assert(known);
    /* Reasoning bills at the output price; cache reads at their own. */
    lx_usage v = {.input = 0, .cache_read = 2000000, .reasoning = 500000};
    cr_assert_float_eq(lx_price_usd(c, oa, "gpt-4o", &v, &known), 2.5 + 5, 1e-9);
    /* Cache writes without a price bill at the input price. */
    lx_usage w = {.cache_write = 1000000};
    cr_assert_float_eq(lx_price_usd(c, oa, "gpt-4o-mini", &w, &known), 0.15, 1e-9);
    /* A dated id finds its family by prefix. */
    cr_assert_float_eq(lx_price_usd(c, oa, "gpt-4o-2024-08-06", &u, &known), 12.5, 1e-9);
    /* Unknown model: 0, not known. */
    cr_assert_float_eq(lx_price_usd(c, oa, "no-such-model", &u, &known), 0, 1e-12);
    cr_assert(!known);
    /* Local: energy price on every token. */
    cr_assert_float_eq(lx_price_usd(c, lo, "tiny", &u, &known), 0.4, 1e-9);
    cr_assert(known);
    /* Worst case: prompt at input price, max output at output price. */
    cr_assert_float_eq(lx_price_max_usd(c, oa, "gpt-4o", 1000, 500), (2500 + 5000) / 1e6, 1e-12);
    cr_assert_float_eq(lx_price_max_usd(c, oa, "gpt-4o", 0, 0), 16384 * 10 / 1e6, 1e-12);
    cr_assert_float_eq(lx_price_max_usd(c, lo, "tiny", 1000, 1000), 2000 * 0.2 / 1e6, 1e-12);
    lx_config_free(c);
    c = cfg_with("");
    lo = lx_config_provider(c, "local");
    cr_assert_float_eq(lx_price_usd(c, lo, "tiny", &u, &known), 0, 1e-12);
    cr_assert_float_eq(lx_price_max_usd(c, lo, "tiny", 1000, 1000), 0, 1e-12);
    lx_config_free(c);
}

Test(account, catalogue_override_changes_price)
{
    lx_config *c = cfg_with("catalogue:\n  - {id: gpt-4o, price: {input: 1, output: 2}}\n");
    lx_usage u = {.input = 1000000, .output = 1000000};
    cr_assert_float_eq(lx_price_usd(c, lx_config_provider(c, "openai"), "gpt-4o", &u, NULL), 3,
                       1e-9);
    lx_config_free(c);
}

/* ---- budgets ---- */

typedef struct hammer {
    lx_account *a;
    const lx_key_cfg *key;
    double max, spent; /* per thread */
    int admitted, rejected;
    unsigned seed;
} hammer;

static void *hammer_main(void *arg)
{
    hammer *h = arg;
    for (;;) {
        lx_reservation r;
        int64_t retry = 0;
        lx_error e;
        lx_status st = lx_budget_reserve(h->a, h->key, h->max, 10, &r, &retry, &e);
        if (st == LX_ERR_LIMIT) {
            h->rejected++;
            cr_assert(retry >= 1);
            break;
        }
        cr_assert_eq(st, LX_OK);
        h->admitted++;
        /* Real cost somewhere in [0, max]; some requests fail and cost 0. */
        double real = (double)(rand_r(&h->seed) % 1001) / 1000.0 * h->max;
        if (rand_r(&h->seed) % 5 == 0)
            real = 0;
        usleep((useconds_t)(rand_r(&h->seed) % 200));
        lx_budget_settle(h->a, &r, real, 10);
        h->spent += real;
    }
    return NULL;
}

static double run_hammer(lx_account *a, const lx_key_cfg *key, double max, double worst_only)
{
    enum { N = 64 };
    pthread_t th[N];
    hammer h[N];
    for (int i = 0; i < N; i++) {
        h[i] = (hammer){.a = a, .key = key, .max = max, .seed = (unsigned)i * 7919u + 1};
        (void)worst_only;
        pthread_create(&th[i], NULL, hammer_main, &h[i]);
    }
    double total = 0;
    int admitted = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        total += h[i].spent;
        admitted += h[i].admitted;
    }
    cr_assert(admitted > N, "the budget should admit many requests (%d)", admitted);
    return total;
}

Test(account, budget_64_threads_never_exceed_by_more_than_one_max)
{
    lx_config *c = cfg_with("ledger: {enabled: false}\nbudgets: {day_usd: 2, at_limit: reject}\n");
    lx_account *a = open_acct(c);
    double max = 0.05;
    double total = run_hammer(a, NULL, max, 0);
    cr_assert(total <= 2 + max + 1e-9, "spent %.6f on a $2 budget", total);
    cr_assert(total >= 2 - max, "stopped early at %.6f", total);
    cr_assert(!lx_budget_has_room(a, NULL));
    lx_account_stats st;
    lx_account_stats_get(a, &st);
    cr_assert_geq(st.budget_rejects, 64);
    lx_account_close(a);
    lx_config_free(c);
}

Test(account, budget_per_key_and_month)
{
    lx_config *c = cfg_with("ledger: {enabled: false}\nbudgets: {month_usd: 100}\n");
    lx_account *a = open_acct(c);
    lx_key_cfg key = {.id = "team-a", .day_usd = 0.5};
    double total = run_hammer(a, &key, 0.01, 0);
    cr_assert(total <= 0.5 + 0.01 + 1e-9, "spent %.6f", total);
    lx_reservation r;
    lx_error e;
    int64_t retry = 0;
    cr_assert_eq(lx_budget_reserve(a, &key, 0.01, 1, &r, &retry, &e), LX_ERR_LIMIT);
    cr_assert(strstr(e.message, "key team-a day budget $0.50 reached ($"), "%s", e.message);
    cr_assert(strstr(e.message, "T00:00:00Z"), "%s", e.message);
    cr_assert(retry >= 1 && retry <= 86400);
    cr_assert_eq(e.retry_after_ms, retry * 1000);
    /* Other keys and no key still have room under the global month budget. */
    lx_key_cfg other = {.id = "team-b"};
    cr_assert_eq(lx_budget_reserve(a, &other, 0.01, 1, &r, NULL, &e), LX_OK);
    lx_budget_settle(a, &r, 0.01, 1);
    cr_assert(lx_budget_has_room(a, &other));
    cr_assert(!lx_budget_has_room(a, &key));
    lx_account_close(a);
    lx_config_free(c);
}

Test(account, zero_dollar_never_blocked_by_dollar_budget)
{
    lx_config *c = cfg_with("ledger: {enabled: false}\nbudgets: {day_usd: 0.1, month_usd: 0.1}\n");
    lx_account *a = open_acct(c);
    lx_reservation r;
    lx_error e;
    cr_assert_eq(lx_budget_reserve(a, NULL, 0.2, 1, &r, NULL, &e), LX_OK);
    lx_budget_settle(a, &r, 0.2, 1);
    cr_assert_eq(lx_budget_reserve(a, NULL, 0.01, 1, &r, NULL, &e), LX_ERR_LIMIT);
    cr_assert(strstr(e.message, "global day budget $0.10 reached ($0.20 spent); resets at "), "%s",
              e.message);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(lx_budget_reserve(a, NULL, 0, 1, &r, NULL, &e), LX_OK);
        lx_budget_settle(a, &r, 0, 1);
    }
    lx_account_close(a);
    lx_config_free(c);
}

Test(account, rate_limits_rpm_and_tpm)
{
    lx_config *c = cfg_with("ledger: {enabled: false}\nbudgets: {rpm: 10, tpm: 1000}\n");
    for (int attempt = 0; attempt < 3; attempt++) {
        lx_account *a = open_acct(c);
        int64_t m0 = lx_now_ms() / 60000;
        lx_reservation r;
        lx_error e;
        int64_t retry = 0;
        int ok = 0;
        lx_status last = LX_OK;
        for (int i = 0; i < 11; i++) {
            last = lx_budget_reserve(a, NULL, 0, 1, &r, &retry, &e);
            if (last == LX_OK) {
                ok++;
                lx_budget_settle(a, &r, 0, 1);
            }
        }
        bool same_minute = lx_now_ms() / 60000 == m0;
        if (same_minute) {
            cr_assert_eq(ok, 10);
            cr_assert_eq(last, LX_ERR_LIMIT);
            cr_assert(strstr(e.message, "global rate limit 10 requests/minute reached; resets at"),
                      "%s", e.message);
            cr_assert(retry >= 1 && retry <= 60);
        }
        lx_account_close(a);
        if (!same_minute)
            continue;
        /* Tokens: admitted while under the limit. */
        a = open_acct(c);
        m0 = lx_now_ms() / 60000;
        lx_reservation r1, r2;
        cr_assert_eq(lx_budget_reserve(a, NULL, 0, 600, &r1, NULL, &e), LX_OK);
        cr_assert_eq(lx_budget_reserve(a, NULL, 0, 600, &r2, NULL, &e), LX_OK);
        lx_status third = lx_budget_reserve(a, NULL, 0, 600, &r, NULL, &e);
        /* Settling for less frees room. */
        lx_budget_settle(a, &r1, 0, 100);
        lx_budget_settle(a, &r2, 0, 100);
        lx_status fourth = lx_budget_reserve(a, NULL, 0, 600, &r, NULL, &e);
        same_minute = lx_now_ms() / 60000 == m0;
        lx_account_close(a);
        if (!same_minute)
            continue;
        cr_assert_eq(third, LX_ERR_LIMIT);
        cr_assert(strstr(e.message, "tokens/minute") || fourth == LX_OK);
        cr_assert_eq(fourth, LX_OK);
        break;
    }
    lx_config_free(c);
}

Test(account, spend_survives_restart)
{
    lx_config *c = cfg_with("ledger: {path: '@DIR@/b.db', flush_ms: 10}\nbudgets: {day_usd: 1}\n");
    lx_account *a = open_acct(c);
    lx_ledger_row row = {.ts_ms = lx_now_ms(),
                         .provider = "openai",
                         .model = "gpt-4o",
                         .route = "cloud",
                         .status = "ok",
                         .cost_usd = 1.25};
    lx_account_record(a, &row);
    lx_account_close(a);
    a = open_acct(c);
    lx_reservation r;
    lx_error e;
    cr_assert_eq(lx_budget_reserve(a, NULL, 0.01, 1, &r, NULL, &e), LX_ERR_LIMIT);
    cr_assert(strstr(e.message, "($1.25 spent)"), "%s", e.message);
    lx_account_close(a);
    lx_config_free(c);
}

/* ---- cache ---- */

static lx_request *make_req(double temp, const char *params)
{
    lx_request *q = lx_request_new();
    lx_request_add_text(q, LX_ROLE_SYSTEM, "be brief");
    lx_request_add_text(q, LX_ROLE_USER, "what is 2+2?");
    q->sampling.has_temperature = true;
    q->sampling.temperature = temp;
    q->sampling.max_tokens = 64;
    if (params) {
        lx_tool *t = lx_request_add_tool(q);
        t->name = lx_arena_strdup(q->arena, "calc");
        t->parameters = lx_arena_strdup(q->arena, params);
    }
    return q;
}

static lx_response *make_resp(const char *text)
{
    lx_response *r = lx_response_new();
    r->id = lx_arena_strdup(r->arena, "resp-1");
    r->model = lx_arena_strdup(r->arena, "gpt-4o");
    r->provider = lx_arena_strdup(r->arena, "openai");
    lx_part *p = lx_response_add_part(r, LX_PART_TEXT);
    p->text = lx_arena_strdup(r->arena, text);
    lx_part *tc = lx_response_add_part(r, LX_PART_TOOL_CALL);
    tc->id = lx_arena_strdup(r->arena, "call_1");
    tc->name = lx_arena_strdup(r->arena, "calc");
    tc->arguments = lx_arena_strdup(r->arena, "{\"x\":2,\"y\":2}");
    r->finish = LX_FINISH_TOOL_CALLS;
    r->has_usage = true;
    r->usage = (lx_usage){.input = 12, .cache_read = 3, .output = 5, .reasoning = 1};
    r->created = 1700000000;
    return r;
}

Test(account, cache_key_normalisation)
{
    char k1[65], k2[65], k3[65], k4[65], k5[65];
    lx_request *a = make_req(0, "{\"type\":\"object\",\"properties\":{\"x\":{}}}");
    lx_request *b = make_req(0, "{ \"properties\": {\"x\": {}}, \"type\": \"object\" }");
    lx_request *c = make_req(0.7, "{\"type\":\"object\",\"properties\":{\"x\":{}}}");
    cr_assert_eq(lx_cache_key(a, "openai/gpt-4o", k1), LX_OK);
    cr_assert_eq(lx_cache_key(b, "openai/gpt-4o", k2), LX_OK);
    cr_assert_eq(lx_cache_key(c, "openai/gpt-4o", k3), LX_OK);
    cr_assert_eq(lx_cache_key(a, "openai/gpt-4o-mini", k4), LX_OK);
    cr_assert_eq(strlen(k1), 64);
    cr_assert_str_eq(k1, k2, "key order inside JSON must not matter");
    cr_assert_str_neq(k1, k3, "different sampling must give a different key");
    cr_assert_str_neq(k1, k4, "different target must give a different key");
    /* Streaming and the user id do not change the answer. */
    a->stream = true;
    a->user = lx_arena_strdup(a->arena, "u1");
    cr_assert_eq(lx_cache_key(a, "openai/gpt-4o", k5), LX_OK);
    cr_assert_str_eq(k1, k5);
    lx_request_add_stop(a, "\n\n");
    cr_assert_eq(lx_cache_key(a, "openai/gpt-4o", k5), LX_OK);
    cr_assert_str_neq(k1, k5);
    lx_request_free(a);
    lx_request_free(b);
    lx_request_free(c);
}

Test(account, cache_decision_rules)
{
    lx_config *c = cfg_with("");
    lx_request *t0 = make_req(0, NULL), *t7 = make_req(0.7, NULL);
    lx_header on = {"x-llmux-cache", "on"}, off = {"x-llmux-cache", "off"},
              refresh = {"x-llmux-cache", "refresh"};
    cr_assert(lx_cache_wanted(c, t0, NULL, 0, "openai/gpt-4o"));
    cr_assert(!lx_cache_wanted(c, t7, NULL, 0, "openai/gpt-4o"));
    t7->sampling.has_temperature = false;
    cr_assert(!lx_cache_wanted(c, t7, NULL, 0, "openai/gpt-4o"), "unset temperature is not 0");
    cr_assert(lx_cache_wanted(c, t7, &on, 1, "openai/gpt-4o"));
    cr_assert(!lx_cache_wanted(c, t0, &off, 1, "openai/gpt-4o"));
    cr_assert_eq(lx_cache_decide(c, t0, &refresh, 1, "openai/gpt-4o"), LX_CACHE_REFRESH);
    lx_config_free(c);
    c = cfg_with("cache: {mode: on, routes: ['local/*', openai/gpt-4o-mini]}\n");
    cr_assert(lx_cache_wanted(c, t7, NULL, 0, "local/tiny"));
    cr_assert(lx_cache_wanted(c, t7, NULL, 0, "openai/gpt-4o-mini"));
    cr_assert(!lx_cache_wanted(c, t7, NULL, 0, "openai/gpt-4o"));
    cr_assert(lx_cache_wanted(c, t7, &on, 1, "openai/gpt-4o"), "the header opts in");
    lx_config_free(c);
    c = cfg_with("cache: {mode: off}\n");
    cr_assert(!lx_cache_wanted(c, t0, &on, 1, "openai/gpt-4o"), "mode off wins");
    lx_config_free(c);
    lx_request_free(t0);
    lx_request_free(t7);
}

Test(account, cache_round_trip_and_eviction)
{
    lx_config *c = cfg_with("ledger: {path: '@DIR@/c.db', flush_ms: 10}\n"
                            "cache: {ttl_s: 3600, max_mb: 1}\n");
    lx_account *a = open_acct(c);
    lx_request *q = make_req(0, "{\"type\":\"object\"}");
    lx_response *r = make_resp("four"), *got = NULL;
    cr_assert_eq(lx_cache_lookup(a, q, "openai/gpt-4o", &got), LX_ERR_NOTFOUND);
    lx_cache_store(a, q, "openai/gpt-4o", r);
    lx_account_flush(a);
    cr_assert_eq(lx_cache_lookup(a, q, "openai/gpt-4o", &got), LX_OK);
    cr_assert_str_eq(lx_response_text(got), "four");
    cr_assert_str_eq(got->model, "gpt-4o");
    cr_assert_str_eq(got->provider, "openai");
    cr_assert_eq(got->finish, LX_FINISH_TOOL_CALLS);
    cr_assert_eq(got->n_parts, 2);
    cr_assert_str_eq(got->parts[1].arguments, "{\"x\":2,\"y\":2}");
    cr_assert_str_eq(got->parts[1].id, "call_1");
    cr_assert_eq(got->usage.input, 12);
    cr_assert_eq(got->usage.cache_read, 3);
    cr_assert_eq(got->usage.reasoning, 1);
    lx_response_free(got);
    /* Another target misses. */
    cr_assert_eq(lx_cache_lookup(a, q, "openai/gpt-4o-mini", &got), LX_ERR_NOTFOUND);
    /* Errors are not stored. */
    lx_request *q2 = make_req(0, NULL);
    r->finish = LX_FINISH_ERROR;
    lx_cache_store(a, q2, "openai/gpt-4o", r);
    lx_account_flush(a);
    cr_assert_eq(lx_cache_lookup(a, q2, "openai/gpt-4o", &got), LX_ERR_NOTFOUND);
    /* Eviction: three 400 KB answers in 1 MB; the oldest goes. */
    char *big = malloc(400 * 1024);
    memset(big, 'a', 400 * 1024 - 1);
    big[400 * 1024 - 1] = 0;
    lx_response *rb = make_resp(big);
    free(big);
    const char *targets[3] = {"local/tiny", "openai/gpt-4o-mini", "openai/x"};
    for (int i = 0; i < 3; i++) {
        lx_cache_store(a, q2, targets[i], rb);
        lx_account_flush(a);
        usleep(2000);
    }
    cr_assert_eq(lx_cache_lookup(a, q2, targets[0], &got), LX_ERR_NOTFOUND);
    cr_assert_eq(lx_cache_lookup(a, q2, targets[2], &got), LX_OK);
    cr_assert_eq(strlen(lx_response_text(got)), 400 * 1024 - 1);
    lx_response_free(got);
    lx_account_stats st;
    lx_account_stats_get(a, &st);
    cr_assert_eq(st.cache_hits, 2);
    cr_assert_eq(st.cache_stores, 4);
    lx_response_free(r);
    lx_response_free(rb);
    lx_request_free(q);
    lx_request_free(q2);
    lx_account_close(a);
    /* Entries survive a restart. */
    a = open_acct(c);
    q2 = make_req(0, NULL);
    cr_assert_eq(lx_cache_lookup(a, q2, targets[2], &got), LX_OK);
    lx_response_free(got);
    lx_request_free(q2);
    lx_account_close(a);
    lx_config_free(c);
}

Test(account, cache_ttl)
{
    lx_config *c = cfg_with("ledger: {path: ':memory:', flush_ms: 10}\ncache: {ttl_s: 1}\n");
    lx_account *a = open_acct(c);
    lx_request *q = make_req(0, NULL);
    lx_response *r = make_resp("four"), *got = NULL;
    int64_t t0 = lx_now_ms();
    lx_cache_store(a, q, "openai/gpt-4o", r);
    lx_account_flush(a);
    lx_status st = lx_cache_lookup(a, q, "openai/gpt-4o", &got);
    if (lx_now_ms() - t0 < 900) /* a stalled machine may already be past the TTL */
        cr_assert_eq(st, LX_OK);
    lx_response_free(got);
    got = NULL;
    usleep(1100 * 1000);
    cr_assert_eq(lx_cache_lookup(a, q, "openai/gpt-4o", &got), LX_ERR_NOTFOUND);
    lx_response_free(r);
    lx_request_free(q);
    lx_account_close(a);
    lx_config_free(c);
}

/* ---- ledger ---- */

static lx_ledger_row sample_row(int64_t ts, int i)
{
    return (lx_ledger_row){.ts_ms = ts,
                           .key_id = i % 2 ? "team-a" : NULL,
                           .front = "openai",
                           .route = i % 3 ? "cloud" : "local",
                           .reason = "default",
                           .provider = i % 3 ? "openai" : "local",
                           .model = i % 3 ? "gpt-4o-mini" : "tiny",
                           .attempts = 1,
                           .usage = {.input = 1000, .output = 100},
                           .cost_usd = i % 3 ? 0.001 : 0,
                           .latency_ms = 10 * (i % 10 + 1),
                           .ttft_ms = 5,
                           .http_status = 200,
                           .status = "ok",
                           .prompt = "secret prompt",
                           .answer = "an answer"};
}

Test(account, ledger_rows_visible_after_flush)
{
    lx_config *c = cfg_with("ledger: {path: '@DIR@/l.db', flush_ms: 1000}\n");
    lx_account *a = open_acct(c);
    int64_t now = lx_now_ms();
    for (int i = 0; i < 1000; i++) {
        lx_ledger_row row = sample_row(now, i);
        lx_account_record(a, &row);
    }
    lx_account_flush(a);
    int64_t n = 0;
    lx_error e;
    lx_store *s = lx_account_store(a);
    cr_assert_eq(s->ops->count_rows(s, &n, &e), LX_OK);
    cr_assert_eq(n, 1000);
    lx_account_stats st;
    lx_account_stats_get(a, &st);
    cr_assert_eq(st.rows_written, 1000);
    cr_assert_eq(st.rows_dropped, 0);
    cr_assert(st.store_ok);
    /* Report: by route, with percentiles and saved against gpt-4o. */
    lx_usage_report r;
    cr_assert_eq(lx_usage_report_build(c, s, now - 1000, LX_BY_ROUTE, &r, &e), LX_OK);
    cr_assert_eq(r.n_groups, 2);
    cr_assert_eq(r.total.requests, 1000);
    cr_assert_eq(r.total.local, 334);
    cr_assert_eq(r.total.p50_ms, 50);
    cr_assert_eq(r.total.p95_ms, 100);
    cr_assert_str_eq(r.escalate, "openai/gpt-4o", "default_model is the escalation");
    /* Prompts are not stored by default. */
    lx_usage_report_free(&r);
    lx_account_close(a);
    char path[512];
    snprintf(path, sizeof path, "%s/l.db", dir);
    lx_store *ro;
    cr_assert_eq(lx_store_sqlite_open(path, true, &ro, &e), LX_OK);
    lx_store_close(ro);
    lx_config_free(c);
}

Test(account, usage_report_saved_and_groups)
{
    /* No routing.escalate and a local default: the first remote model. */
    lx_config *c = cfg_with("default_model: local/tiny\nledger: {path: ':memory:'}\n");
    lx_account *a = open_acct(c);
    int64_t now = lx_now_ms();
    lx_ledger_row l = {.ts_ms = now,
                       .route = "local",
                       .provider = "local",
                       .model = "tiny",
                       .status = "ok",
                       .usage = {.input = 1000000},
                       .latency_ms = 10};
    lx_ledger_row m = {.ts_ms = now,
                       .route = "cloud",
                       .provider = "openai",
                       .model = "gpt-4o-mini",
                       .status = "ok",
                       .usage = {.output = 1000000},
                       .cost_usd = 0.6,
                       .latency_ms = 30};
    lx_account_record(a, &l);
    lx_account_record(a, &m);
    lx_account_flush(a);
    lx_usage_report r;
    lx_error e;
    cr_assert_eq(lx_usage_report_build(c, lx_account_store(a), now - 60000, LX_BY_MODEL, &r, &e),
                 LX_OK);
    cr_assert_str_eq(r.escalate, "openai/gpt-4o");
    cr_assert(r.saved_known);
    cr_assert_eq(r.n_groups, 2);
    /* Sorted by cost: gpt-4o-mini first. */
    cr_assert_str_eq(r.groups[0].name, "openai/gpt-4o-mini");
    cr_assert_float_eq(r.groups[0].saved_usd, 10 - 0.6, 1e-9);
    cr_assert_str_eq(r.groups[1].name, "local/tiny");
    cr_assert_float_eq(r.groups[1].saved_usd, 2.5, 1e-9);
    cr_assert_float_eq(r.total.saved_usd, 12.5 - 0.6, 1e-9);
    lx_buf b;
    lx_buf_init(&b, 1 << 20);
    cr_assert_eq(lx_usage_report_json(&r, &b), LX_OK);
    cr_assert(strstr(b.data, "\"by\":\"model\""), "%s", b.data);
    cr_assert(strstr(b.data, "\"local_share\":0.5"), "%s", b.data);
    lx_buf_free(&b);
    lx_usage_report_free(&r);
    /* Nothing since later. */
    cr_assert_eq(lx_usage_report_build(c, lx_account_store(a), now + 60000, LX_BY_DAY, &r, &e),
                 LX_OK);
    cr_assert_eq(r.n_groups, 0);
    cr_assert_eq(r.total.p50_ms, -1);
    lx_usage_report_free(&r);
    lx_account_close(a);
    lx_config_free(c);
}

Test(account, usage_since_parsing)
{
    int64_t t;
    lx_error e;
    cr_assert_eq(lx_usage_parse_since("7d", 10 * 86400000LL, &t, &e), LX_OK);
    cr_assert_eq(t, 3 * 86400000LL);
    cr_assert_eq(lx_usage_parse_since("24h", 86400000LL, &t, &e), LX_OK);
    cr_assert_eq(t, 0);
    cr_assert_eq(lx_usage_parse_since("2026-11-01", 0, &t, &e), LX_OK);
    cr_assert_eq(t, 1793491200000LL);
    cr_assert_eq(lx_usage_parse_since("2026-11-01T12:00:00Z", 0, &t, &e), LX_OK);
    cr_assert_eq(t, 1793491200000LL + 12 * 3600000LL);
    cr_assert_eq(lx_usage_parse_since("7w", 0, &t, &e), LX_ERR_USAGE);
    cr_assert_eq(lx_usage_parse_since("-3d", 0, &t, &e), LX_ERR_USAGE);
    cr_assert_eq(lx_usage_parse_since("2026-13-45", 0, &t, &e), LX_ERR_USAGE);
    lx_usage_by by;
    cr_assert_eq(lx_usage_parse_by("key", &by, &e), LX_OK);
    cr_assert_eq(by, LX_BY_KEY);
    cr_assert_eq(lx_usage_parse_by("team", &by, &e), LX_ERR_USAGE);
}

Test(account, read_only_ledger_warns_and_never_fails)
{
    /* Create the database, then reopen it read-only through a URI. */
    lx_config *c = cfg_with("ledger: {path: '@DIR@/ro.db', flush_ms: 10}\n");
    lx_account *a = open_acct(c);
    lx_account_close(a);
    lx_config_free(c);
    c = cfg_with("ledger: {path: 'file:@DIR@/ro.db?mode=ro', flush_ms: 10}\n");
    a = open_acct(c);
    lx_ledger_row row = sample_row(lx_now_ms(), 1);
    for (int i = 0; i < 5; i++)
        lx_account_record(a, &row);
    lx_account_flush(a);
    lx_account_stats st;
    lx_account_stats_get(a, &st);
    cr_assert_eq(st.rows_written, 0);
    cr_assert_eq(st.rows_dropped, 5);
    cr_assert_geq(st.write_errors, 1);
    /* Budgets still work. */
    lx_reservation r;
    cr_assert_eq(lx_budget_reserve(a, NULL, 1, 1, &r, NULL, NULL), LX_OK);
    lx_budget_settle(a, &r, 1, 1);
    lx_account_close(a);
    lx_config_free(c);
    /* A path that cannot exist: the account opens anyway, rows are dropped. */
    c = cfg_with("ledger: {path: '/proc/llmux-no/x.db', flush_ms: 10}\n");
    a = open_acct(c);
    lx_account_record(a, &row);
    lx_account_flush(a);
    lx_account_stats_get(a, &st);
    cr_assert(!st.store_ok);
    cr_assert_eq(st.rows_dropped, 1);
    lx_account_close(a);
    lx_config_free(c);
}

Test(account, retention_rolls_up_old_rows)
{
    lx_config *c = cfg_with("ledger: {path: '@DIR@/ret.db', retention_days: 2, flush_ms: 10}\n");
    lx_account *a = open_acct(c);
    int64_t now = lx_now_ms(), day = 86400000;
    for (int i = 0; i < 30; i++) {
        lx_ledger_row row = sample_row(now - (int64_t)(i % 5) * day, i);
        lx_account_record(a, &row);
    }
    lx_account_flush(a);
    int64_t rolled = 0;
    lx_error e;
    cr_assert_eq(lx_account_rollup(a, now, &rolled, &e), LX_OK, "%s", e.message);
    /* Days now-3 and now-4 are older than 2 full days: 12 rows. */
    cr_assert_eq(rolled, 12);
    lx_usage_report r;
    cr_assert_eq(lx_usage_report_build(c, lx_account_store(a), now - 10 * day, LX_BY_DAY, &r, &e),
                 LX_OK);
    cr_assert_eq(r.total.requests, 30);
    cr_assert_eq(r.rollup_requests, 12);
    cr_assert_eq(r.total.n_raw, 18, "percentiles rest on raw rows only");
    cr_assert_eq(r.n_groups, 5);
    lx_usage_report_free(&r);
    lx_account_close(a);
    /* At open the rollup runs by itself: reopening with retention 1 moves more. */
    lx_config_free(c);
    c = cfg_with("ledger: {path: '@DIR@/ret.db', retention_days: 1, flush_ms: 10}\n");
    a = open_acct(c);
    int64_t n = 0;
    lx_store *s = lx_account_store(a);
    cr_assert_eq(s->ops->count_rows(s, &n, &e), LX_OK);
    cr_assert_eq(n, 12, "rows of today and yesterday stay raw");
    lx_account_close(a);
    lx_config_free(c);
}

Test(account, disabled_ledger_records_nothing)
{
    lx_config *c = cfg_with("ledger: {enabled: false, path: '@DIR@/off.db'}\n");
    lx_account *a = open_acct(c);
    lx_ledger_row row = sample_row(lx_now_ms(), 1);
    lx_account_record(a, &row);
    lx_account_flush(a);
    lx_account_stats st;
    lx_account_stats_get(a, &st);
    cr_assert_eq(st.rows_written, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/off.db", dir);
    cr_assert_neq(access(path, F_OK), 0, "no database file when disabled");
    lx_account_close(a);
    lx_config_free(c);
}

Test(account, limit_message_shows_amounts_under_a_cent)
{
    lx_config *c = cfg_with("ledger: {enabled: false}\nbudgets: {day_usd: 0.001}\n");
    lx_account *a = open_acct(c);
    lx_reservation r;
    lx_error e;
    cr_assert_eq(lx_budget_reserve(a, NULL, 0.0005, 1, &r, NULL, &e), LX_OK);
    lx_budget_settle(a, &r, 0.0012, 1);
    cr_assert_eq(lx_budget_reserve(a, NULL, 0.0005, 1, &r, NULL, &e), LX_ERR_LIMIT);
    cr_assert(strstr(e.message, "global day budget $0.001 reached ($0.0012 spent)"), "%s",
              e.message);
    lx_account_close(a);
    lx_config_free(c);
}

static void count_sample(void *ud, const char *name, const char *help, double v)
{
    int *n = ud;
    cr_assert(strncmp(name, "llmux_", 6) == 0);
    cr_assert(help && help[0]);
    if (strcmp(name, "llmux_ledger_rows_written_total") == 0)
        cr_assert_float_eq(v, 3, 1e-9);
    (*n)++;
}

Test(account, stats_as_metric_samples)
{
    lx_config *c = cfg_with("ledger: {path: ':memory:', flush_ms: 10}\n");
    lx_account *a = open_acct(c);
    lx_ledger_row row = sample_row(lx_now_ms(), 1);
    for (int i = 0; i < 3; i++)
        lx_account_record(a, &row);
    lx_account_flush(a);
    int n = 0;
    lx_account_stats_each(a, count_sample, &n);
    cr_assert_eq(n, 9);
    lx_account_close(a);
    lx_config_free(c);
}

/* Disk full: a child process whose files may not grow past 256 KiB
 * (RLIMIT_FSIZE; writes beyond fail with EFBIG, which SQLite reports as
 * "database or disk is full" or an I/O error) records rows until the
 * database cannot grow. Recording never fails or blocks, the rows that do
 * not fit are counted as dropped, one warning is printed, budgets keep
 * working, and the file stays intact. */
Test(account, disk_full_degrades_to_warning_and_counter)
{
    char errpath[512];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    lx_config *c = cfg_with("ledger: {path: '@DIR@/full.db', flush_ms: 5}\n"
                            "budgets: {day_usd: 100}\n");
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {.rlim_cur = 256 * 1024, .rlim_max = 256 * 1024};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0 || !freopen(errpath, "w", stderr))
            _exit(10);
        lx_account *a = NULL;
        if (lx_account_open(c, &a, NULL) != LX_OK)
            _exit(11);
        lx_ledger_row row = sample_row(lx_now_ms(), 1);
        row.reason = "a reason long enough to fill pages quickly, repeated for bulk: "
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        for (int i = 0; i < 40; i++) {
            for (int k = 0; k < 100; k++)
                lx_account_record(a, &row);
            lx_account_flush(a);
        }
        lx_account_stats st;
        lx_account_stats_get(a, &st);
        if (st.rows_written == 0 || st.rows_dropped == 0 || st.write_errors == 0)
            _exit(12);
        if (st.rows_written + st.rows_dropped != 4000)
            _exit(13);
        lx_reservation r;
        if (lx_budget_reserve(a, NULL, 1, 1, &r, NULL, NULL) != LX_OK)
            _exit(14);
        lx_budget_settle(a, &r, 1, 1);
        lx_account_close(a);
        fflush(stderr);
        _exit(0);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child died (status %d)", status);
    cr_assert_eq(WEXITSTATUS(status), 0, "child failed with %d", WEXITSTATUS(status));
    FILE *f = fopen(errpath, "r");
    cr_assert_not_null(f);
    char line[1024];
    int warnings = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "warn") && strstr(line, "ledger"))
            warnings++;
    fclose(f);
    cr_assert_eq(warnings, 1, "one warning, not one per batch (%d)", warnings);
    /* The file is intact and holds what was written. */
    char path[512];
    snprintf(path, sizeof path, "%s/full.db", dir);
    lx_store *s;
    lx_error e;
    cr_assert_eq(lx_store_sqlite_open(path, false, &s, &e), LX_OK, "%s", e.message);
    int64_t n = 0;
    cr_assert_eq(s->ops->count_rows(s, &n, &e), LX_OK);
    cr_assert_gt(n, 0);
    lx_store_close(s);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    sqlite3_close(db);
    lx_config_free(c);
}

Test(account, percentiles_exact_below_a_second_close_above)
{
    lx_config *c = cfg_with("ledger: {path: ':memory:', flush_ms: 10}\n");
    lx_account *a = open_acct(c);
    int64_t now = lx_now_ms();
    for (int i = 1; i <= 2000; i++) {
        lx_ledger_row row = sample_row(now, 1);
        row.latency_ms = i;
        lx_account_record(a, &row);
    }
    lx_ledger_row slow = sample_row(now, 2);
    slow.latency_ms = 123456789;
    lx_account_record(a, &slow);
    lx_account_flush(a);
    lx_usage_report r;
    lx_error e;
    cr_assert_eq(lx_usage_report_build(c, lx_account_store(a), now - 1000, LX_BY_KEY, &r, &e),
                 LX_OK);
    cr_assert_eq(r.total.n_raw, 2001);
    cr_assert_eq(r.total.p50_ms, 1001, "exact below 1024 ms");
    /* True p95 is 1901; reported rounded down within 1/64. */
    cr_assert(r.total.p95_ms <= 1901 && r.total.p95_ms >= 1901 - 1901 / 64, "%lld",
              (long long)r.total.p95_ms);
    const lx_usage_group *g = NULL;
    for (size_t i = 0; i < r.n_groups; i++)
        if (strcmp(r.groups[i].name, "-") == 0)
            g = &r.groups[i];
    cr_assert_not_null(g);
    cr_assert(g->p50_ms <= 123456789 && g->p50_ms >= 123456789 - 123456789 / 64);
    lx_usage_report_free(&r);
    lx_account_close(a);
    lx_config_free(c);
}

Test(account, long_key_ids_settle_what_they_reserved)
{
    lx_config *c = cfg_with("ledger: {enabled: false}\n");
    lx_account *a = open_acct(c);
    char id[100];
    memset(id, 'k', 99);
    id[99] = 0;
    lx_key_cfg key = {.id = id, .day_usd = 1};
    lx_reservation r;
    lx_error e;
    /* Reserve and settle at 0 many times: nothing may pile up. */
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(lx_budget_reserve(a, &key, 0.5, 1, &r, NULL, &e), LX_OK, "%s", e.message);
        lx_budget_settle(a, &r, 0, 0);
    }
    lx_account_close(a);
    lx_config_free(c);
}

/* keys[] from the config: a key's spend is seeded from its own rows. */
Test(account, key_budget_from_config_survives_restart)
{
    lx_config *c =
        cfg_with("ledger: {path: '@DIR@/k.db', flush_ms: 10}\n"
                 "keys:\n"
                 "  - {id: team-a, sha256: "
                 "'5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8',\n"
                 "     budget: {day_usd: 1}}\n"
                 "  - {id: team-b, sha256: "
                 "'6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b'}\n");
    cr_assert_eq(c->n_keys, 2);
    cr_assert_float_eq(c->keys[0].day_usd, 1, 1e-12);
    lx_account *a = open_acct(c);
    lx_ledger_row row = {.ts_ms = lx_now_ms(),
                         .key_id = "team-a",
                         .provider = "openai",
                         .model = "gpt-4o",
                         .route = "cloud",
                         .status = "ok",
                         .cost_usd = 0.7};
    lx_account_record(a, &row);
    row.key_id = "team-b";
    row.cost_usd = 5;
    lx_account_record(a, &row);
    lx_account_close(a);
    a = open_acct(c);
    lx_reservation r;
    lx_error e;
    /* team-a has $0.30 left: one reservation passes, then the limit. */
    cr_assert_eq(lx_budget_reserve(a, &c->keys[0], 0.5, 1, &r, NULL, &e), LX_OK, "%s", e.message);
    lx_budget_settle(a, &r, 0.5, 1);
    cr_assert_eq(lx_budget_reserve(a, &c->keys[0], 0.01, 1, &r, NULL, &e), LX_ERR_LIMIT);
    cr_assert(strstr(e.message, "key team-a day budget $1.00 reached ($1.20 spent)"), "%s",
              e.message);
    /* team-b has no budget; its $5 does not count against team-a. */
    cr_assert_eq(lx_budget_reserve(a, &c->keys[1], 0.5, 1, &r, NULL, &e), LX_OK);
    lx_budget_settle(a, &r, 0.5, 1);
    lx_account_close(a);
    lx_config_free(c);
}
