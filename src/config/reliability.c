/*
 * reliability.c — `reliability:`: retries, breakers, fallbacks, mid-stream
 * policy (schema and defaults in config.h at lx_reliability_cfg).
 *
 *   reliability:
 *     retry: {max_attempts: 3, base_ms: 250, max_ms: 8000, deadline_ms: 120000,
 *             max_retry_after_ms: 30000}
 *     breaker: {failures: 5, window_ms: 30000, open_ms: 15000, half_open_probes: 1}
 *     fallbacks:
 *       openai/gpt-4o: [anthropic/claude-sonnet-4-5, local/auto]
 *       cloud: local              # one target may be written without brackets
 *     midstream: error | continue
 *     offline_probe_ms: 5000
 *
 * Parsing checks shapes and ranges; lx_reliability_check (run once the
 * providers are known) checks that every fallback name resolves: a
 * "provider/model" or alias (lx_config_resolve), "<provider>/auto", or the
 * words "local" / "cloud" (any local / any remote target). Errors carry the
 * line:col of the offending entry and, for an unknown name, the closest
 * configured one.
 */
#include <stdio.h>
#include <string.h>

#include "config/config_int.h"

#define MAX_FALLBACKS 256
#define MAX_FALLBACK_TO 16

void lx_reliability_defaults(lx_config *cfg)
{
    lx_reliability_cfg *r = &cfg->reliability;
    r->retry = (lx_retry_cfg){.max_attempts = 3,
                              .base_ms = 250,
                              .max_ms = 8000,
                              .deadline_ms = 120000,
                              .max_retry_after_ms = 30000};
    r->breaker = (lx_breaker_cfg){
        .failures = 5, .window_ms = 30000, .open_ms = 15000, .half_open_probes = 1};
    r->fallbacks = NULL;
    r->n_fallbacks = 0;
    r->midstream = LX_MIDSTREAM_ERROR;
    r->offline_probe_ms = 5000;
}

#define DAY_MS ((int64_t)86400000)

/* ---- retry ---- */
static lx_status f_max_attempts(lx_yctx *y, const lx_ynode *v, void *o)
{
    int64_t n;
    lx_status st = lx_y_int(y, v, 1, 32, &n);
    if (st == LX_OK)
        ((lx_retry_cfg *)o)->max_attempts = (int)n;
    return st;
}
static lx_status f_base_ms(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, DAY_MS, &((lx_retry_cfg *)o)->base_ms);
}
static lx_status f_max_ms(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, DAY_MS, &((lx_retry_cfg *)o)->max_ms);
}
static lx_status f_deadline_ms(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, DAY_MS, &((lx_retry_cfg *)o)->deadline_ms);
}
static lx_status f_max_retry_after_ms(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 0, DAY_MS, &((lx_retry_cfg *)o)->max_retry_after_ms);
}
static const lx_yfield retry_fields[] = {
    {"max_attempts", f_max_attempts},
    {"base_ms", f_base_ms},
    {"max_ms", f_max_ms},
    {"deadline_ms", f_deadline_ms},
    {"max_retry_after_ms", f_max_retry_after_ms},
};

/* ---- breaker ---- */
static lx_status f_failures(lx_yctx *y, const lx_ynode *v, void *o)
{
    int64_t n;
    lx_status st = lx_y_int(y, v, 1, 64, &n);
    if (st == LX_OK)
        ((lx_breaker_cfg *)o)->failures = (int)n;
    return st;
}
static lx_status f_window_ms(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, DAY_MS, &((lx_breaker_cfg *)o)->window_ms);
}
static lx_status f_open_ms(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, DAY_MS, &((lx_breaker_cfg *)o)->open_ms);
}
static lx_status f_probes(lx_yctx *y, const lx_ynode *v, void *o)
{
    int64_t n;
    lx_status st = lx_y_int(y, v, 1, 1024, &n);
    if (st == LX_OK)
        ((lx_breaker_cfg *)o)->half_open_probes = (int)n;
    return st;
}
static const lx_yfield breaker_fields[] = {
    {"failures", f_failures},
    {"window_ms", f_window_ms},
    {"open_ms", f_open_ms},
    {"half_open_probes", f_probes},
};

/* ---- top ---- */
static lx_status f_retry(lx_yctx *y, const lx_ynode *v, void *o)
{
    char w[200];
    lx_retry_cfg *r = &((lx_config *)o)->reliability.retry;
    lx_status st = lx_y_map(y, v, lx_y_where(y, w, sizeof w), retry_fields,
                            sizeof retry_fields / sizeof retry_fields[0], r);
    if (st == LX_OK && r->max_ms < r->base_ms)
        st = lx_y_fail(y, lx_y_get(v, "max_ms") ? lx_y_get(v, "max_ms") : v,
                       "reliability.retry.max_ms (%lld) must be at least base_ms (%lld)",
                       (long long)r->max_ms, (long long)r->base_ms);
    return st;
}

static lx_status f_breaker(lx_yctx *y, const lx_ynode *v, void *o)
{
    char w[200];
    return lx_y_map(y, v, lx_y_where(y, w, sizeof w), breaker_fields,
                    sizeof breaker_fields / sizeof breaker_fields[0],
                    &((lx_config *)o)->reliability.breaker);
}

static lx_status f_midstream(lx_yctx *y, const lx_ynode *v, void *o)
{
    static const char *const choices[] = {"error", "continue", NULL};
    int i;
    lx_status st = lx_y_choice(y, v, choices, &i);
    if (st == LX_OK)
        ((lx_config *)o)->reliability.midstream = (lx_midstream_mode)i;
    return st;
}

static lx_status f_offline(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, DAY_MS, &((lx_config *)o)->reliability.offline_probe_ms);
}

static lx_status one_name(lx_yctx *y, const lx_ynode *n, const char *what, char **out)
{
    char w[200];
    if (!n || n->kind != LX_Y_SCALAR || lx_y_is_null(n) || n->len == 0)
        return lx_y_fail(y, n, "%s: %s: expected a model name", lx_y_where(y, w, sizeof w), what);
    *out = lx_arena_strdup(y->arena, n->text);
    return *out ? LX_OK : lx_y_fail(y, n, "out of memory");
}

static lx_status f_fallbacks(lx_yctx *y, const lx_ynode *v, void *o)
{
    char w[200];
    lx_reliability_cfg *r = &((lx_config *)o)->reliability;
    if (lx_y_is_null(v))
        return LX_OK;
    if (v->kind != LX_Y_MAP)
        return lx_y_fail(y, v,
                         "%s: expected a mapping of model -> [fallback models], e.g. "
                         "{openai/gpt-4o: [anthropic/claude-sonnet-4-5, local]}",
                         lx_y_where(y, w, sizeof w));
    size_t n = v->n_kids / 2;
    if (n > MAX_FALLBACKS)
        return lx_y_fail(y, v, "%s: at most %d entries", lx_y_where(y, w, sizeof w), MAX_FALLBACKS);
    r->fallbacks = lx_arena_calloc(y->arena, n ? n : 1, sizeof *r->fallbacks);
    if (!r->fallbacks)
        return lx_y_fail(y, v, "out of memory");
    r->n_fallbacks = 0;
    for (size_t i = 0; i < n; i++) {
        const lx_ynode *k = v->kids[2 * i], *val = v->kids[2 * i + 1];
        lx_fallback *f = &r->fallbacks[r->n_fallbacks];
        lx_status st = one_name(y, k, "key", &f->from);
        if (st != LX_OK)
            return st;
        for (size_t j = 0; j < r->n_fallbacks; j++)
            if (!strcmp(r->fallbacks[j].from, f->from))
                return lx_y_fail(y, k, "%s: '%s' appears twice (first at line %d)",
                                 lx_y_where(y, w, sizeof w), f->from, r->fallbacks[j].line);
        f->line = k->line;
        f->col = k->col;
        const lx_ynode *const *items = (const lx_ynode *const *)&val;
        size_t n_items = 1;
        if (val && val->kind == LX_Y_SEQ) {
            items = (const lx_ynode *const *)val->kids;
            n_items = val->n_kids;
            if (n_items == 0)
                return lx_y_fail(y, val, "%s.%s: an empty list; give at least one fallback",
                                 lx_y_where(y, w, sizeof w), f->from);
        }
        if (n_items > MAX_FALLBACK_TO)
            return lx_y_fail(y, val, "%s.%s: at most %d fallbacks", lx_y_where(y, w, sizeof w),
                             f->from, MAX_FALLBACK_TO);
        f->to = lx_arena_calloc(y->arena, n_items, sizeof *f->to);
        f->to_line = lx_arena_calloc(y->arena, n_items, sizeof *f->to_line);
        f->to_col = lx_arena_calloc(y->arena, n_items, sizeof *f->to_col);
        if (!f->to || !f->to_line || !f->to_col)
            return lx_y_fail(y, val, "out of memory");
        for (size_t j = 0; j < n_items; j++) {
            char what[96];
            snprintf(what, sizeof what, "%.60s[%zu]", f->from, j);
            if ((st = one_name(y, items[j], what, &f->to[j])) != LX_OK)
                return st;
            if (!strcmp(f->to[j], f->from))
                return lx_y_fail(y, items[j], "%s: %s falls back to itself",
                                 lx_y_where(y, w, sizeof w), f->from);
            f->to_line[j] = items[j]->line;
            f->to_col[j] = items[j]->col;
        }
        f->n_to = n_items;
        r->n_fallbacks++;
    }
    return LX_OK;
}

static const lx_yfield top_fields[] = {
    {"retry", f_retry},         {"breaker", f_breaker},          {"fallbacks", f_fallbacks},
    {"midstream", f_midstream}, {"offline_probe_ms", f_offline},
};

lx_status lx_parse_reliability(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, "reliability", top_fields, sizeof top_fields / sizeof top_fields[0], cfg);
}

/* ---- whole-config check ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

/* The configured name closest to `name` (providers' models, "<p>/auto",
 * aliases, local, cloud) within a few edits, or NULL. */
static const char *closest(const lx_config *c, const char *name, char *buf, size_t cap)
{
    size_t best = 4;
    const char *found = NULL;
    char cand[200];
#define TRY(s)                                                                                     \
    do {                                                                                           \
        size_t d_ = edit_distance(name, (s));                                                      \
        if (d_ < best) {                                                                           \
            best = d_;                                                                             \
            snprintf(buf, cap, "%s", (s));                                                         \
            found = buf;                                                                           \
        }                                                                                          \
    } while (0)
    TRY("local");
    TRY("cloud");
    for (size_t i = 0; i < c->n_aliases; i++)
        TRY(c->aliases[i].name);
    for (size_t i = 0; i < c->n_providers; i++) {
        const lx_provider_cfg *p = &c->providers[i];
        snprintf(cand, sizeof cand, "%s/auto", p->name);
        TRY(cand);
        for (size_t k = 0; k < p->n_models; k++) {
            snprintf(cand, sizeof cand, "%s/%s", p->name, p->models[k]);
            TRY(cand);
        }
    }
#undef TRY
    return found;
}

/* Does `name` mean something in c? `what_ok_words`: local/cloud allowed. */
static bool name_ok(const lx_config *c, const char *name, lx_error *why)
{
    if (!strcmp(name, "local") || !strcmp(name, "cloud"))
        return true;
    const char *slash = strchr(name, '/');
    if (slash && !strcmp(slash + 1, "auto")) {
        for (size_t i = 0; i < c->n_providers; i++)
            if (strlen(c->providers[i].name) == (size_t)(slash - name) &&
                !strncmp(c->providers[i].name, name, (size_t)(slash - name)))
                return true;
    }
    for (size_t i = 0; i < c->n_aliases; i++)
        if (!strcmp(c->aliases[i].name, name))
            return true; /* an alias of auto is fine here too */
    return lx_config_resolve(c, name, NULL, NULL, why) == LX_OK;
}

static lx_status bad_name(lx_config *cfg, lx_yctx *y, int line, int col, const char *where,
                          const char *name, const lx_error *why)
{
    char hint[240] = "", buf[200];
    const char *near = closest(cfg, name, buf, sizeof buf);
    if (near)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    lx_ynode at = {.kind = LX_Y_SCALAR, .line = line, .col = col};
    return lx_y_fail(y, &at, "%s: '%s' does not resolve%s: %s", where, name, hint,
                     why->message[0] ? why->message : "unknown model");
}

lx_status lx_reliability_check(lx_config *cfg, lx_yctx *y)
{
    const lx_reliability_cfg *r = &cfg->reliability;
    for (size_t i = 0; i < r->n_fallbacks; i++) {
        const lx_fallback *f = &r->fallbacks[i];
        lx_error why;
        lx_error_clear(&why);
        if (!name_ok(cfg, f->from, &why))
            return bad_name(cfg, y, f->line, f->col, "reliability.fallbacks", f->from, &why);
        for (size_t j = 0; j < f->n_to; j++) {
            lx_error_clear(&why);
            if (!name_ok(cfg, f->to[j], &why)) {
                char where[120];
                snprintf(where, sizeof where, "reliability.fallbacks.%.60s[%zu]", f->from, j);
                return bad_name(cfg, y, f->to_line[j], f->to_col[j], where, f->to[j], &why);
            }
        }
    }
    return LX_OK;
}
