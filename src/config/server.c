/*
 * server.c — the `server:` and `keys:` sections (schema in config.h).
 *
 *   server:
 *     listen: 127.0.0.1:8080     # HOST:PORT, [IPv6]:PORT; port 0 = any free port
 *     workers: 2                 # 0 = one per CPU, at most 8
 *     max_body: 8388608          # bytes
 *     header_timeout_ms: 10000   # the whole request must arrive in this
 *     max_streams: 1024          # requests in flight
 *     drain_ms: 30000            # SIGTERM drain deadline (0: stop at once)
 *     access_log: "-"            # path, "-" (stderr) or off
 *     log_prompts: false
 *   keys:
 *     - id: team-a
 *       sha256: <64 hex>         # or key_env: VAR (hashed at load; must be set)
 *       models: [local/<star>, openai/gpt-4o-mini, auto]
 *       privacy: redact
 *       budget: {day_usd: 5, month_usd: 50}
 *       limits: {rpm: 60, tpm: 100000, concurrency: 4}
 *
 * The key's secret is never kept: key_env is read and hashed at load, and
 * no message here ever quotes a key or a digest.
 *
 * Whole-config checks (lx_server_check) need positions of nodes parsed
 * earlier; the tree lives until lx_config_parse returns, so the parser keeps
 * a thread-local pointer to the `keys:` node, tagged with the config it
 * belongs to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "config/config_int.h"
#include "engine/sha256.h"

void lx_server_defaults(lx_config *cfg)
{
    lx_server_cfg *s = &cfg->server;
    s->listen = "127.0.0.1:8080";
    s->workers = 0;
    s->max_body = 8 << 20;
    s->header_timeout_ms = 10000;
    s->max_streams = 1024;
    s->drain_ms = 30000;
    s->access_log = "-";
    s->log_prompts = false;
    cfg->keys = NULL;
    cfg->n_keys = 0;
}

/* ---- server: ------------------------------------------------------------ */

#define MS_MAX ((int64_t)7 * 24 * 3600 * 1000)

static lx_status read_bool(lx_yctx *y, const lx_ynode *v, bool *out)
{
    static const char *const b[] = {"false", "true", "no", "yes", "off", "on", NULL};
    int i;
    lx_status st = lx_y_choice(y, v, b, &i);
    if (st == LX_OK)
        *out = (i & 1) != 0;
    return st;
}

/* HOST:PORT with a numeric port; HOST may be [v6]. */
static bool listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return false;
    if (s[0] == '[' && colon[-1] != ']')
        return false;
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5)
        return false;
    long port = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        port = port * 10 + (*p - '0');
    }
    for (const char *q = s; q < colon; q++)
        if ((unsigned char)*q <= 0x20)
            return false;
    return port <= 65535;
}

static lx_status f_listen(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_server_cfg *s = o;
    char w[200];
    lx_status st = lx_y_string(y, v, &s->listen);
    if (st == LX_OK && !listen_ok(s->listen))
        st = lx_y_fail(y, v,
                       "%s: expected HOST:PORT (like 127.0.0.1:8080 or [::1]:8080), got '%.80s'",
                       lx_y_where(y, w, sizeof w), s->listen);
    return st;
}
static lx_status f_workers(lx_yctx *y, const lx_ynode *v, void *o)
{
    int64_t n;
    lx_status st = lx_y_int(y, v, 0, 256, &n);
    if (st == LX_OK)
        ((lx_server_cfg *)o)->workers = (int)n;
    return st;
}
static lx_status f_max_body(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, (int64_t)1 << 31, &((lx_server_cfg *)o)->max_body);
}
static lx_status f_header_timeout(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, MS_MAX, &((lx_server_cfg *)o)->header_timeout_ms);
}
static lx_status f_max_streams(lx_yctx *y, const lx_ynode *v, void *o)
{
    int64_t n;
    lx_status st = lx_y_int(y, v, 1, 1000000, &n);
    if (st == LX_OK)
        ((lx_server_cfg *)o)->max_streams = (int)n;
    return st;
}
static lx_status f_drain(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 0, MS_MAX, &((lx_server_cfg *)o)->drain_ms);
}
static lx_status f_access_log(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_server_cfg *s = o;
    char w[200];
    /* YAML reads a bare `off` as a string here; `false` means off too */
    if (v && v->kind == LX_Y_SCALAR && v->plain && !strcmp(v->text, "false")) {
        s->access_log = "off";
        return LX_OK;
    }
    lx_status st = lx_y_string(y, v, &s->access_log);
    if (st == LX_OK && !s->access_log[0])
        st = lx_y_fail(y, v, "%s: expected a file path, \"-\" (stderr) or off",
                       lx_y_where(y, w, sizeof w));
    return st;
}
static lx_status f_log_prompts(lx_yctx *y, const lx_ynode *v, void *o)
{
    return read_bool(y, v, &((lx_server_cfg *)o)->log_prompts);
}

// clang-format off
static const lx_yfield server_fields[] = {
    {"listen", f_listen},
    {"workers", f_workers},
    {"max_body", f_max_body},
    {"header_timeout_ms", f_header_timeout},
    {"max_streams", f_max_streams},
    {"drain_ms", f_drain},
    {"access_log", f_access_log},
    {"log_prompts", f_log_prompts},
};
// clang-format on

lx_status lx_parse_server(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, "server", server_fields, sizeof server_fields / sizeof server_fields[0],
                    &cfg->server);
}

/* ---- keys: -------------------------------------------------------------- */

typedef struct key_parse {
    lx_key_cfg *k;
    const lx_ynode *sha_n, *env_n, *models_n, *id_n;
    bool has_sha;
} key_parse;

/* Where the `keys:` tree is, for lx_server_check (same thread, same parse). */
static _Thread_local struct {
    const lx_config *cfg;
    const lx_ynode *keys;
} tl_keys;

static lx_status k_id(lx_yctx *y, const lx_ynode *v, void *o)
{
    key_parse *kp = o;
    char w[200];
    kp->id_n = v;
    lx_status st = lx_y_string(y, v, &kp->k->id);
    if (st == LX_OK && !lx_provider_name_ok(kp->k->id))
        st = lx_y_fail(y, v,
                       "%s: '%.64s' is not a valid key id (letters, digits, '_', '.', '-'; at "
                       "most 63)",
                       lx_y_where(y, w, sizeof w), kp->k->id);
    return st;
}

static lx_status k_sha256(lx_yctx *y, const lx_ynode *v, void *o)
{
    key_parse *kp = o;
    char w[200];
    kp->sha_n = v;
    /* never quote the value: it may be a key pasted by mistake */
    if (!v || v->kind != LX_Y_SCALAR || lx_y_is_null(v))
        return lx_y_fail(y, v, "%s: expected 64 hex digits (the SHA-256 of the key)",
                         lx_y_where(y, w, sizeof w));
    const char *s = v->text;
    size_t n = v->len;
    if (n == 71 && !strncmp(s, "sha256:", 7)) {
        s += 7;
        n -= 7;
    }
    bool ok = n == 64;
    for (size_t i = 0; ok && i < 32; i++) {
        int hi = lx_hex_digit(s[2 * i]), lo = lx_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            ok = false;
        else
            kp->k->sha256[i] = (unsigned char)(hi << 4 | lo);
    }
    if (!ok)
        return lx_y_fail(y, v,
                         "%s: expected 64 hex digits (the SHA-256 of the key, e.g. from "
                         "`printf %%s KEY | sha256sum`), got %zu characters",
                         lx_y_where(y, w, sizeof w), v->len);
    kp->has_sha = true;
    return LX_OK;
}

static lx_status k_key_env(lx_yctx *y, const lx_ynode *v, void *o)
{
    key_parse *kp = o;
    char w[200], *name = NULL;
    kp->env_n = v;
    lx_status st = lx_y_string(y, v, &name);
    if (st != LX_OK)
        return st;
    bool name_ok = name[0] && !(name[0] >= '0' && name[0] <= '9');
    for (const char *p = name; *p && name_ok; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            name_ok = false;
    if (!name_ok)
        return lx_y_fail(y, v,
                         "%s: expected the name of an environment variable (like TEAM_A_KEY), "
                         "not a key",
                         lx_y_where(y, w, sizeof w));
    const char *val = getenv(name);
    if (!val || !*val)
        return lx_y_fail(y, v, "%s: environment variable %s is not set", lx_y_where(y, w, sizeof w),
                         name);
    lx_sha256 h;
    lx_sha256_init(&h);
    lx_sha256_update(&h, val, strlen(val));
    lx_sha256_final(&h, kp->k->sha256);
    kp->has_sha = true;
    return LX_OK;
}

static lx_status k_models(lx_yctx *y, const lx_ynode *v, void *o)
{
    key_parse *kp = o;
    kp->models_n = v;
    return lx_y_strings(y, v, &kp->k->models, &kp->k->n_models);
}

static lx_status k_privacy(lx_yctx *y, const lx_ynode *v, void *o)
{
    static const char *const modes[] = {"route_local", "redact", "block", "off", NULL};
    key_parse *kp = o;
    int i;
    lx_status st = lx_y_choice(y, v, modes, &i);
    if (st == LX_OK) {
        kp->k->has_privacy = true;
        kp->k->privacy = (lx_privacy_mode)i;
    }
    return st;
}

static lx_status b_day(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_number(y, v, 0, 1e9, &((lx_key_cfg *)o)->day_usd);
}
static lx_status b_month(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_number(y, v, 0, 1e9, &((lx_key_cfg *)o)->month_usd);
}
static lx_status l_rpm(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 0, 100000000, &((lx_key_cfg *)o)->rpm);
}
static lx_status l_tpm(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 0, (int64_t)1 << 40, &((lx_key_cfg *)o)->tpm);
}
static lx_status l_concurrency(lx_yctx *y, const lx_ynode *v, void *o)
{
    int64_t n;
    lx_status st = lx_y_int(y, v, 0, 1000000, &n);
    if (st == LX_OK)
        ((lx_key_cfg *)o)->concurrency = (int)n;
    return st;
}

// clang-format off
static const lx_yfield budget_fields[] = {
    {"day_usd", b_day},
    {"month_usd", b_month},
};
static const lx_yfield limit_fields[] = {
    {"rpm", l_rpm},
    {"tpm", l_tpm},
    {"concurrency", l_concurrency},
};
// clang-format on

static lx_status k_budget(lx_yctx *y, const lx_ynode *v, void *o)
{
    char w[200];
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, lx_y_where(y, w, sizeof w), budget_fields,
                    sizeof budget_fields / sizeof budget_fields[0], ((key_parse *)o)->k);
}
static lx_status k_limits(lx_yctx *y, const lx_ynode *v, void *o)
{
    char w[200];
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, lx_y_where(y, w, sizeof w), limit_fields,
                    sizeof limit_fields / sizeof limit_fields[0], ((key_parse *)o)->k);
}

// clang-format off
static const lx_yfield key_fields[] = {
    {"id", k_id},
    {"sha256", k_sha256},
    {"key_env", k_key_env},
    {"models", k_models},
    {"privacy", k_privacy},
    {"budget", k_budget},
    {"limits", k_limits},
};
// clang-format on

lx_status lx_parse_keys(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    char path[32];
    if (lx_y_is_null(v))
        return LX_OK;
    if (v->kind != LX_Y_SEQ)
        return lx_y_fail(y, v, "keys: expected a list of keys (- id: ...)");
    cfg->keys = lx_arena_calloc(cfg->arena, v->n_kids ? v->n_kids : 1, sizeof *cfg->keys);
    if (!cfg->keys)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < v->n_kids; i++) {
        key_parse kp = {.k = &cfg->keys[i]};
        snprintf(path, sizeof path, "keys[%zu]", i);
        lx_status st = lx_y_map(y, v->kids[i], path, key_fields,
                                sizeof key_fields / sizeof key_fields[0], &kp);
        if (st != LX_OK)
            return st;
        if (!kp.k->id)
            return lx_y_fail(y, v->kids[i], "%s: missing 'id'", path);
        if (kp.sha_n && kp.env_n)
            return lx_y_fail(y, kp.env_n, "%s: give either sha256 or key_env, not both", path);
        if (!kp.has_sha)
            return lx_y_fail(y, v->kids[i],
                             "%s: missing 'sha256' (hex digest of the key) or 'key_env' (a "
                             "variable holding the key)",
                             path);
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(cfg->keys[j].id, kp.k->id))
                return lx_y_fail(y, kp.id_n, "%s.id: '%s' is already used by keys[%zu]", path,
                                 kp.k->id, j);
            if (!memcmp(cfg->keys[j].sha256, kp.k->sha256, 32))
                return lx_y_fail(y, v->kids[i], "%s: same key as keys[%zu] ('%s')", path, j,
                                 cfg->keys[j].id);
        }
        cfg->n_keys = i + 1;
    }
    tl_keys.cfg = cfg;
    tl_keys.keys = v;
    return LX_OK;
}

static bool is_alias(const lx_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_aliases; i++)
        if (cfg->aliases[i].name && !strcmp(cfg->aliases[i].name, name))
            return true;
    return false;
}

/* An entry of keys[].models: "auto", an alias, "provider/<star>" or a model
 * that resolves. */
static lx_status check_model_entry(const lx_config *cfg, const char *m, char *why, size_t cap)
{
    if (!strcmp(m, "auto") || is_alias(cfg, m))
        return LX_OK;
    size_t n = strlen(m);
    if (n >= 2 && !strcmp(m + n - 2, "/*")) {
        for (size_t i = 0; i < cfg->n_providers; i++)
            if (strlen(cfg->providers[i].name) == n - 2 &&
                !strncmp(cfg->providers[i].name, m, n - 2))
                return LX_OK;
        snprintf(why, cap, "no provider named '%.*s'", (int)(n - 2), m);
        return LX_ERR_NOTFOUND;
    }
    const lx_provider_cfg *p;
    const char *model;
    lx_error e;
    lx_error_clear(&e);
    if (lx_config_resolve(cfg, m, &p, &model, &e) != LX_OK) {
        snprintf(why, cap, "%.300s", e.message);
        return LX_ERR_NOTFOUND;
    }
    return LX_OK;
}

lx_status lx_server_check(lx_config *cfg, lx_yctx *y)
{
    const lx_ynode *keys = tl_keys.cfg == cfg ? tl_keys.keys : NULL;
    tl_keys.cfg = NULL;
    tl_keys.keys = NULL;
    for (size_t i = 0; i < cfg->n_keys; i++) {
        const lx_key_cfg *k = &cfg->keys[i];
        const lx_ynode *kn = keys && i < keys->n_kids ? keys->kids[i] : NULL;
        const lx_ynode *mn = kn && kn->kind == LX_Y_MAP ? lx_y_get(kn, "models") : NULL;
        for (size_t j = 0; j < k->n_models; j++) {
            char why[400];
            if (check_model_entry(cfg, k->models[j], why, sizeof why) == LX_OK)
                continue;
            const lx_ynode *at = mn && mn->kind == LX_Y_SEQ && j < mn->n_kids ? mn->kids[j] : kn;
            return lx_y_fail(y, at, "keys[%zu].models[%zu]: '%.80s' does not resolve: %s", i, j,
                             k->models[j], why);
        }
    }
    return LX_OK;
}
