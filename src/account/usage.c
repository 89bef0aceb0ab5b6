/* usage.c — ledger reports (see usage.h). */
#include "account/usage.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account/account.h"

static const char *const by_names[] = {"model", "provider", "key", "day", "route"};

const char *lx_usage_by_name(lx_usage_by by)
{
    return (unsigned)by < 5 ? by_names[by] : "?";
}

lx_status lx_usage_parse_by(const char *s, lx_usage_by *out, lx_error *err)
{
    for (int i = 0; i < 5; i++)
        if (s && strcmp(s, by_names[i]) == 0) {
            *out = (lx_usage_by)i;
            return LX_OK;
        }
    return lx_fail(err, LX_ERR_USAGE, "--by: expected provider, model, key, day or route, got '%s'",
                   s ? s : "");
}

lx_status lx_usage_parse_since(const char *s, int64_t now_ms, int64_t *out, lx_error *err)
{
    if (!s || !*s)
        return lx_fail(err, LX_ERR_USAGE, "--since: empty");
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    if (end && end != s && n >= 0 && end[0] && !end[1] && strchr("dhm", end[0]) && s[0] != '-' &&
        n <= 36500LL * 24 * 60) {
        int64_t unit = end[0] == 'd' ? 86400000LL : end[0] == 'h' ? 3600000LL : 60000LL;
        *out = now_ms - (int64_t)n * unit;
        return LX_OK;
    }
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%d", &tm);
    if (rest && *rest == 'T')
        rest = strptime(rest, "T%H:%M:%S", &tm);
    if (rest && (*rest == 0 || (rest[0] == 'Z' && !rest[1]))) {
        *out = (int64_t)timegm(&tm) * 1000;
        return LX_OK;
    }
    return lx_fail(err, LX_ERR_USAGE,
                   "--since: expected a duration (7d, 24h, 30m) or a UTC date (2026-11-01), "
                   "got '%s'",
                   s);
}

/* The escalation target: provider and model, or false when there is none. */
static bool escalation(const lx_config *cfg, const lx_provider_cfg **p, const char **model)
{
    lx_error e;
    if (cfg->routing.escalate &&
        lx_config_resolve(cfg, cfg->routing.escalate, p, model, &e) == LX_OK)
        return true;
    if (cfg->default_model && lx_config_resolve(cfg, cfg->default_model, p, model, &e) == LX_OK &&
        !(*p)->local)
        return true;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const lx_provider_cfg *q = &cfg->providers[i];
        if (!q->local && q->n_models > 0) {
            *p = q;
            *model = q->models[0];
            return true;
        }
    }
    return false;
}

typedef struct agg {
    lx_usage_report *r;
    lx_usage_by by;
    bool nomem;
    size_t cap;
    size_t last; /* index of the last group hit */
} agg;

static void group_name(const agg *g, const lx_usage_rec *rec, char *out, size_t cap)
{
    switch (g->by) {
    case LX_BY_PROVIDER:
        snprintf(out, cap, "%s", rec->provider[0] ? rec->provider : "-");
        break;
    case LX_BY_KEY:
        snprintf(out, cap, "%s", rec->key_id[0] ? rec->key_id : "-");
        break;
    case LX_BY_DAY: {
        time_t t = (time_t)(rec->ts_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, cap, "%Y-%m-%d", &tm);
        break;
    }
    case LX_BY_ROUTE:
        snprintf(out, cap, "%s", rec->route[0] ? rec->route : "-");
        break;
    default:
        if (rec->provider[0] || rec->model[0])
            snprintf(out, cap, "%s/%s", rec->provider[0] ? rec->provider : "-",
                     rec->model[0] ? rec->model : "-");
        else
            snprintf(out, cap, "-");
    }
}

static lx_usage_group *find_group(agg *g, const char *name)
{
    lx_usage_report *r = g->r;
    if (g->last < r->n_groups && strcmp(r->groups[g->last].name, name) == 0)
        return &r->groups[g->last];
    for (size_t i = 0; i < r->n_groups; i++)
        if (strcmp(r->groups[i].name, name) == 0) {
            g->last = i;
            return &r->groups[i];
        }
    if (r->n_groups == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        lx_usage_group *p = realloc(r->groups, cap * sizeof *p);
        if (!p)
            return NULL;
        r->groups = p;
        g->cap = cap;
    }
    lx_usage_group *n = &r->groups[r->n_groups];
    memset(n, 0, sizeof *n);
    lx_strlcpy(n->name, name, sizeof n->name);
    g->last = r->n_groups++;
    return n;
}

static void add_to(lx_usage_group *d, const lx_usage_rec *rec)
{
    d->requests += rec->requests;
    d->errors += rec->errors;
    d->cached += rec->cached;
    if (strcmp(rec->route, "local") == 0)
        d->local += rec->requests;
    d->tokens.input += rec->usage.input;
    d->tokens.cache_read += rec->usage.cache_read;
    d->tokens.cache_write += rec->usage.cache_write;
    d->tokens.output += rec->usage.output;
    d->tokens.reasoning += rec->usage.reasoning;
    d->cost_usd += rec->cost_usd;
    d->latency_sum_ms += rec->latency_ms;
    d->bytes_out += rec->bytes_out;
}

/* Latency histogram: one bucket per millisecond below HB_LIN, then HB_SUB
 * buckets per power of two (relative width 1/HB_SUB). */
#define HB_LIN 1024
#define HB_SUB 64
#define HB_N (HB_LIN + (63 - 10) * HB_SUB)

static size_t hb_index(int64_t v)
{
    if (v < HB_LIN)
        return v < 0 ? 0 : (size_t)v;
    int e = 63 - __builtin_clzll((unsigned long long)v); /* >= 10 */
    int64_t base = (int64_t)1 << e;
    size_t sub = (size_t)((v - base) / (base / HB_SUB));
    return HB_LIN + (size_t)(e - 10) * HB_SUB + sub;
}

static int64_t hb_value(size_t i)
{
    if (i < HB_LIN)
        return (int64_t)i;
    size_t k = i - HB_LIN;
    int64_t base = (int64_t)1 << (10 + k / HB_SUB);
    return base + base / HB_SUB * (int64_t)(k % HB_SUB);
}

static bool push_lat(lx_usage_group *d, int64_t ms)
{
    if (!d->hist && !(d->hist = calloc(HB_N, sizeof *d->hist)))
        return false;
    d->hist[hb_index(ms)]++;
    d->n_raw++;
    return true;
}

static bool on_rec(void *ud, const lx_usage_rec *rec)
{
    agg *g = ud;
    char name[160];
    group_name(g, rec, name, sizeof name);
    lx_usage_group *d = find_group(g, name);
    if (!d) {
        g->nomem = true;
        return false;
    }
    add_to(d, rec);
    add_to(&g->r->total, rec);
    if (rec->rollup) {
        g->r->rollup_requests += rec->requests;
    } else if (!push_lat(d, rec->latency_ms) || !push_lat(&g->r->total, rec->latency_ms)) {
        g->nomem = true;
        return false;
    }
    return true;
}

/* Nearest rank: the smallest value with at least p of the rows at or below it. */
static int64_t pct(const uint32_t *h, int64_t n, double p)
{
    if (!h || n <= 0)
        return -1;
    int64_t rank = (int64_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    int64_t seen = 0;
    for (size_t i = 0; i < HB_N; i++) {
        seen += h[i];
        if (seen >= rank)
            return hb_value(i);
    }
    return -1;
}

static void finish_group(lx_usage_group *d, const lx_config *cfg, const lx_provider_cfg *ep,
                         const char *em, bool have_esc)
{
    d->p50_ms = pct(d->hist, d->n_raw, 0.50);
    d->p95_ms = pct(d->hist, d->n_raw, 0.95);
    free(d->hist);
    d->hist = NULL;
    d->saved_usd = have_esc ? lx_price_usd(cfg, ep, em, &d->tokens, NULL) - d->cost_usd : 0;
}

static int cmp_group(const void *a, const void *b)
{
    const lx_usage_group *x = a, *y = b;
    if (x->cost_usd != y->cost_usd)
        return x->cost_usd > y->cost_usd ? -1 : 1;
    if (x->requests != y->requests)
        return x->requests > y->requests ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const lx_usage_group *)a)->name, ((const lx_usage_group *)b)->name);
}

lx_status lx_usage_report_build(const lx_config *cfg, lx_store *s, int64_t since_ms, lx_usage_by by,
                                lx_usage_report *out, lx_error *err)
{
    memset(out, 0, sizeof *out);
    out->by = by;
    out->since_ms = since_ms;
    lx_strlcpy(out->total.name, "total", sizeof out->total.name);
    agg g = {.r = out, .by = by};
    if (s) {
        lx_status st = s->ops->scan_usage(s, since_ms, on_rec, &g, err);
        if (st == LX_OK && g.nomem)
            st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
        if (st != LX_OK) {
            lx_usage_report_free(out);
            return st;
        }
    }
    const lx_provider_cfg *ep = NULL;
    const char *em = NULL;
    bool have = cfg && escalation(cfg, &ep, &em);
    if (have) {
        snprintf(out->escalate, sizeof out->escalate, "%s/%s", ep->name, em);
        lx_usage one = {.input = 1000000};
        bool known = false;
        lx_price_usd(cfg, ep, em, &one, &known);
        out->saved_known = known;
    }
    for (size_t i = 0; i < out->n_groups; i++)
        finish_group(&out->groups[i], cfg, ep, em, have);
    finish_group(&out->total, cfg, ep, em, have);
    if (out->n_groups > 1)
        qsort(out->groups, out->n_groups, sizeof *out->groups,
              by == LX_BY_DAY ? cmp_name : cmp_group);
    return LX_OK;
}

void lx_usage_report_free(lx_usage_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_groups; i++)
        free(r->groups[i].hist);
    free(r->groups);
    free(r->total.hist);
    r->groups = NULL;
    r->n_groups = 0;
}

static json_t *group_json(const lx_usage_group *d, bool saved_known)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "requests", json_integer(d->requests));
    json_object_set_new(o, "errors", json_integer(d->errors));
    json_object_set_new(o, "cached", json_integer(d->cached));
    json_object_set_new(o, "tokens_in", json_integer(lx_usage_total_input(&d->tokens)));
    json_object_set_new(o, "tokens_out", json_integer(lx_usage_total_output(&d->tokens)));
    json_object_set_new(o, "input", json_integer(d->tokens.input));
    json_object_set_new(o, "cache_read", json_integer(d->tokens.cache_read));
    json_object_set_new(o, "cache_write", json_integer(d->tokens.cache_write));
    json_object_set_new(o, "output", json_integer(d->tokens.output));
    json_object_set_new(o, "reasoning", json_integer(d->tokens.reasoning));
    json_object_set_new(o, "cost_usd", json_real(d->cost_usd));
    json_object_set_new(o, "saved_usd", saved_known ? json_real(d->saved_usd) : json_null());
    json_object_set_new(o, "p50_ms", d->p50_ms >= 0 ? json_integer(d->p50_ms) : json_null());
    json_object_set_new(o, "p95_ms", d->p95_ms >= 0 ? json_integer(d->p95_ms) : json_null());
    json_object_set_new(o, "avg_ms",
                        d->requests ? json_real((double)d->latency_sum_ms / (double)d->requests)
                                    : json_null());
    json_object_set_new(o, "percentile_rows", json_integer(d->n_raw));
    json_object_set_new(o, "local_share",
                        json_real(d->requests ? (double)d->local / (double)d->requests : 0));
    json_object_set_new(o, "bytes_out", json_integer(d->bytes_out));
    return o;
}

lx_status lx_usage_report_json(const lx_usage_report *r, lx_buf *out)
{
    json_t *o = json_object();
    if (!o)
        return LX_ERR_NOMEM;
    char since[32];
    time_t t = (time_t)(r->since_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(o, "since", json_string(since));
    json_object_set_new(o, "by", json_string(lx_usage_by_name(r->by)));
    json_object_set_new(o, "escalate", r->escalate[0] ? json_string(r->escalate) : json_null());
    json_t *groups = json_array();
    for (size_t i = 0; i < r->n_groups; i++)
        json_array_append_new(groups, group_json(&r->groups[i], r->saved_known));
    json_object_set_new(o, "groups", groups);
    json_object_set_new(o, "total", group_json(&r->total, r->saved_known));
    json_object_set_new(o, "rollup_requests", json_integer(r->rollup_requests));
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!s)
        return LX_ERR_NOMEM;
    lx_status st = lx_buf_puts(out, s);
    free(s);
    return st;
}
