/*
 * account.c — the `ledger:`, `budgets:` and `cache:` sections.
 *
 *   ledger:
 *     enabled: true
 *     path: ~/.local/share/llmux/llmux.db   # or ":memory:"; relative = to the config's folder
 *     retention_days: 30                    # raw rows; 0 = keep raw rows forever
 *     store_prompts: false
 *     energy_usd_per_mtok: 0                # price of local tokens
 *     flush_ms: 200
 *   budgets:
 *     day_usd: 5
 *     month_usd: 50
 *     rpm: 600
 *     tpm: 200000
 *     at_limit: local                       # local | reject
 *   cache:
 *     mode: auto                            # auto | on | off
 *     ttl_s: 86400
 *     max_mb: 256
 *     routes: [openai/gpt-4o-mini, "local/<star>"]  # <star> = a literal asterisk
 *
 * Checks after the providers are known (lx_account_check): every
 * cache.routes entry is "provider/model" or "provider/<star>" naming a
 * configured provider. To point at the entry in messages, each route
 * string is stored right after a small header holding its line and column
 * (route_pos below); the strings themselves are ordinary C strings.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"

typedef struct route_pos {
    int line, col;
    char text[];
} route_pos;

static char *default_ledger_path(lx_arena *a)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char buf[4096];
    if (xdg && xdg[0] == '/')
        snprintf(buf, sizeof buf, "%s/llmux/llmux.db", xdg);
    else if (home && home[0])
        snprintf(buf, sizeof buf, "%s/.local/share/llmux/llmux.db", home);
    else
        snprintf(buf, sizeof buf, ":memory:");
    return lx_arena_strdup(a, buf);
}

void lx_account_defaults(lx_config *cfg)
{
    cfg->ledger = (lx_ledger_cfg){.enabled = true, .retention_days = 30, .flush_ms = 200};
    if (cfg->arena)
        cfg->ledger.path = default_ledger_path(cfg->arena);
    cfg->budgets = (lx_budget_cfg){.at_limit = LX_AT_LIMIT_LOCAL};
    cfg->cache = (lx_cache_cfg){.mode = LX_CACHE_AUTO, .ttl_s = 86400, .max_mb = 256};
}

static lx_status read_bool(lx_yctx *y, const lx_ynode *v, bool *out)
{
    static const char *const choices[] = {"false", "true", NULL};
    int i = 0;
    lx_status st = lx_y_choice(y, v, choices, &i);
    if (st == LX_OK)
        *out = i == 1;
    return st;
}

/* ---- ledger ---- */

static lx_status l_enabled(lx_yctx *y, const lx_ynode *v, void *o)
{
    return read_bool(y, v, &((lx_ledger_cfg *)o)->enabled);
}

static lx_status l_path(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_ledger_cfg *l = o;
    char *p;
    lx_status st = lx_y_string(y, v, &p);
    if (st != LX_OK)
        return st;
    char buf[8200];
    const char *home = getenv("HOME");
    if (!strncmp(p, "~/", 2) && home && home[0]) {
        snprintf(buf, sizeof buf, "%s%s", home, p + 1);
        p = lx_arena_strdup(y->arena, buf);
    } else if (p[0] != '/' && strcmp(p, ":memory:") != 0) {
        /* Relative to the folder of the config file. */
        const char *slash = strrchr(y->name, '/');
        if (slash) {
            char dir[4096];
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - y->name), y->name);
            char *abs = realpath(dir[0] ? dir : "/", NULL);
            snprintf(buf, sizeof buf, "%s/%s", abs ? abs : dir, p);
            free(abs);
            p = lx_arena_strdup(y->arena, buf);
        }
    }
    if (!p)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    l->path = p;
    return LX_OK;
}

static lx_status l_retention(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 0, 36500, &((lx_ledger_cfg *)o)->retention_days);
}

static lx_status l_prompts(lx_yctx *y, const lx_ynode *v, void *o)
{
    return read_bool(y, v, &((lx_ledger_cfg *)o)->store_prompts);
}

static lx_status l_energy(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_number(y, v, 0, 1e6, &((lx_ledger_cfg *)o)->energy_usd_per_mtok);
}

static lx_status l_flush(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, 60000, &((lx_ledger_cfg *)o)->flush_ms);
}

static const lx_yfield ledger_fields[] = {
    {"enabled", l_enabled},
    {"path", l_path},
    {"retention_days", l_retention},
    {"store_prompts", l_prompts},
    {"energy_usd_per_mtok", l_energy},
    {"flush_ms", l_flush},
};

lx_status lx_parse_ledger(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, "ledger", ledger_fields, sizeof ledger_fields / sizeof ledger_fields[0],
                    &cfg->ledger);
}

/* ---- budgets ---- */

static lx_status b_day(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_number(y, v, 0, 1e9, &((lx_budget_cfg *)o)->day_usd);
}

static lx_status b_month(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_number(y, v, 0, 1e9, &((lx_budget_cfg *)o)->month_usd);
}

static lx_status b_rpm(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 0, 1000000000, &((lx_budget_cfg *)o)->rpm);
}

static lx_status b_tpm(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 0, INT64_C(1000000000000), &((lx_budget_cfg *)o)->tpm);
}

static lx_status b_at_limit(lx_yctx *y, const lx_ynode *v, void *o)
{
    static const char *const choices[] = {"reject", "local", NULL};
    int i = 0;
    lx_status st = lx_y_choice(y, v, choices, &i);
    if (st == LX_OK)
        ((lx_budget_cfg *)o)->at_limit = i == 1 ? LX_AT_LIMIT_LOCAL : LX_AT_LIMIT_REJECT;
    return st;
}

static const lx_yfield budget_fields[] = {
    {"day_usd", b_day}, {"month_usd", b_month},   {"rpm", b_rpm},
    {"tpm", b_tpm},     {"at_limit", b_at_limit},
};

lx_status lx_parse_budgets(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, "budgets", budget_fields, sizeof budget_fields / sizeof budget_fields[0],
                    &cfg->budgets);
}

/* ---- cache ---- */

static lx_status c_mode(lx_yctx *y, const lx_ynode *v, void *o)
{
    static const char *const choices[] = {"auto", "on", "off", NULL};
    int i = 0;
    lx_status st = lx_y_choice(y, v, choices, &i);
    if (st == LX_OK)
        ((lx_cache_cfg *)o)->mode = i == 0 ? LX_CACHE_AUTO : i == 1 ? LX_CACHE_ON : LX_CACHE_OFF;
    return st;
}

static lx_status c_ttl(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, INT64_C(3650) * 86400, &((lx_cache_cfg *)o)->ttl_s);
}

static lx_status c_max_mb(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, 1024 * 1024, &((lx_cache_cfg *)o)->max_mb);
}

static lx_status c_routes(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_cache_cfg *c = o;
    char **tmp;
    size_t n;
    lx_status st = lx_y_strings(y, v, &tmp, &n);
    if (st != LX_OK)
        return st;
    char **routes = lx_arena_calloc(y->arena, n ? n : 1, sizeof *routes);
    if (!routes)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(tmp[i]);
        route_pos *rp = lx_arena_alloc(y->arena, sizeof *rp + len + 1);
        if (!rp)
            return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
        rp->line = v->kids[i]->line;
        rp->col = v->kids[i]->col;
        memcpy(rp->text, tmp[i], len + 1);
        routes[i] = rp->text;
        char w[200];
        const char *slash = strchr(rp->text, '/');
        if (!slash || slash == rp->text || !slash[1])
            return lx_y_fail(y, v->kids[i],
                             "%s[%zu]: expected \"provider/model\" or \"provider/*\", got '%s'",
                             lx_y_where(y, w, sizeof w), i, rp->text);
    }
    c->routes = routes;
    c->n_routes = n;
    return LX_OK;
}

static const lx_yfield cache_fields[] = {
    {"mode", c_mode},
    {"ttl_s", c_ttl},
    {"max_mb", c_max_mb},
    {"routes", c_routes},
};

lx_status lx_parse_cache(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, "cache", cache_fields, sizeof cache_fields / sizeof cache_fields[0],
                    &cfg->cache);
}

/* ---- whole-config checks ---- */

lx_status lx_account_check(lx_config *cfg, lx_yctx *y)
{
    for (size_t i = 0; i < cfg->cache.n_routes; i++) {
        const char *r = cfg->cache.routes[i];
        const route_pos *rp = (const route_pos *)(const void *)(r - offsetof(route_pos, text));
        const char *slash = strchr(r, '/');
        char prov[128];
        snprintf(prov, sizeof prov, "%.*s", (int)(slash - r), r);
        if (lx_config_provider(cfg, prov))
            continue;
        lx_ynode at = {.kind = LX_Y_SCALAR, .line = rp->line, .col = rp->col};
        return lx_y_fail(y, &at, "cache.routes[%zu]: no provider named '%s'", i, prov);
    }
    return LX_OK;
}
