/*
 * dump.c — the effective configuration as YAML, and the warnings that do not
 * stop a load.
 *
 * The dump is the same schema a user writes, with every default filled in,
 * every section present (in the order of the top-level table in config.c),
 * so it can be read back: parsing a dump and dumping again gives the same
 * bytes (tests/unit/test_config_dump.c). Small maps are written in flow
 * style ({a: 1, b: 2}), lists of scalars as [x, y]; strings are plain when
 * that reads back as the same string, double-quoted and escaped otherwise;
 * numbers are the shortest decimal that parses back to the same double.
 *
 * Secrets never appear: an api_key written in the file shows as a masked
 * string (a masked string read back stays as it is, so dumps are stable),
 * a key from the environment as a comment next to api_key_env, and a
 * virtual key's digest as `sha256: (set)`. That last line is the one place
 * a dump does not load as is: put the digest (or key_env:) back first.
 * The built-in catalogue is not repeated; entries the user added or
 * changed are.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config/config_int.h"

void lx_config_mask_key(const char *key, char *out, size_t cap)
{
    size_t n = key ? strlen(key) : 0;
    if (n > 6) /* at least 4 characters stay hidden */
        snprintf(out, cap, "%.3s\u2026(%zu chars)", key, n);
    else
        snprintf(out, cap, "\u2026(%zu chars)", n);
}

static bool plain_ok(const char *s)
{
    size_t n = strlen(s);
    if (n && s[n - 1] == ':') /* "a:" would read as a mapping key */
        return false;
    static const char *const reserved[] = {"true", "false", "yes", "no", "on",
                                           "off",  "null",  "y",   "n",  NULL};
    if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                 *s == '/' || *s == '.'))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_./:@+-", *p)))
            return false;
    for (int i = 0; reserved[i]; i++)
        if (!strcasecmp(s, reserved[i]))
            return false;
    return true;
}

/* A YAML scalar: plain when that reads back as the same string. */
static lx_status put_str(lx_buf *b, const char *s)
{
    if (plain_ok(s))
        return lx_buf_puts(b, s);
    lx_status st = lx_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; st == LX_OK && *p; p++) {
        if (*p == '"' || *p == '\\')
            st = lx_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            st = lx_buf_puts(b, "\\n");
        else if (*p == '\t')
            st = lx_buf_puts(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            st = lx_buf_printf(b, "\\x%02x", *p);
        else
            st = lx_buf_putc(b, (char)*p);
    }
    return st == LX_OK ? lx_buf_putc(b, '"') : st;
}

/* The shortest decimal that strtod reads back as v (integers without an
 * exponent while they are exact). Only characters lx_y_number accepts. */
static const char *num(double v, char *out, size_t cap)
{
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15 && !(v == 0 && signbit(v))) {
        snprintf(out, cap, "%lld", (long long)v);
        return out;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return out;
}

static const char *yesno(bool b)
{
    return b ? "true" : "false";
}

/* A masked key ("sk-…(51 chars)") read back from a dump: shown as it is. */
static bool is_mask(const char *s)
{
    const char *e = strstr(s, "\u2026(");
    size_t n = strlen(s);
    return e && e - s <= 3 && n > 7 && !strcmp(s + n - 7, " chars)");
}

static lx_status put_kv(lx_buf *b, const char *indent, const char *key, const char *val)
{
    lx_status st = lx_buf_printf(b, "%s%s: ", indent, key);
    if (st == LX_OK)
        st = put_str(b, val);
    return st == LX_OK ? lx_buf_putc(b, '\n') : st;
}

/* [a, b, c] */
static lx_status put_flow_list(lx_buf *b, char *const *v, size_t n)
{
    lx_status st = lx_buf_putc(b, '[');
    for (size_t i = 0; st == LX_OK && i < n; i++) {
        if (i)
            st = lx_buf_puts(b, ", ");
        if (st == LX_OK)
            st = put_str(b, v[i]);
    }
    return st == LX_OK ? lx_buf_putc(b, ']') : st;
}

static lx_status put_list(lx_buf *b, char *const *v, size_t n)
{
    lx_status st = put_flow_list(b, v, n);
    return st == LX_OK ? lx_buf_putc(b, '\n') : st;
}

static lx_status put_timeouts(lx_buf *b, const char *indent, const lx_timeouts *t)
{
    return lx_buf_printf(b,
                         "%stimeouts: {connect_ms: %lld, first_byte_ms: %lld, idle_ms: %lld, "
                         "total_ms: %lld}\n",
                         indent, (long long)t->connect_ms, (long long)t->first_byte_ms,
                         (long long)t->idle_ms, (long long)t->total_ms);
}

static lx_status put_provider(lx_buf *b, const lx_provider_cfg *p)
{
    char mask[64];
    lx_status st = LX_OK;
#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((st = (x)) != LX_OK)                                                                   \
            return st;                                                                             \
    } while (0)
    TRY(lx_buf_puts(b, "  - name: "));
    TRY(put_str(b, p->name));
    TRY(lx_buf_printf(b, "\n    type: %s\n", lx_provider_type_name(p->type)));
    if (p->type == LX_PROV_LOCAL)
        TRY(put_kv(b, "    ", "model", p->model_path ? p->model_path : ""));
    else
        TRY(put_kv(b, "    ", "base_url", p->base_url));
    TRY(lx_buf_printf(b, "    locality: %s\n", p->local ? "local" : "remote"));
    if (p->api_key_env) {
        TRY(lx_buf_puts(b, "    api_key_env: "));
        TRY(put_str(b, p->api_key_env));
        if (p->api_key) {
            lx_config_mask_key(p->api_key, mask, sizeof mask);
            TRY(lx_buf_printf(b, "  # set: %s\n", mask));
        } else {
            TRY(lx_buf_puts(b, "  # not set\n"));
        }
    } else if (p->api_key) {
        if (is_mask(p->api_key))
            lx_strlcpy(mask, p->api_key, sizeof mask);
        else
            lx_config_mask_key(p->api_key, mask, sizeof mask);
        TRY(put_kv(b, "    ", "api_key", mask));
    }
    if (p->n_models) {
        TRY(lx_buf_puts(b, "    models: "));
        TRY(put_list(b, p->models, p->n_models));
    } else {
        TRY(lx_buf_puts(b, "    models: []  # any model\n"));
    }
    if (p->num_ctx)
        TRY(lx_buf_printf(b, "    num_ctx: %lld\n", (long long)p->num_ctx));
    TRY(put_timeouts(b, "    ", &p->timeouts));
    return st;
#undef TRY
}

static lx_status put_model(lx_buf *b, const lx_model_info *m)
{
    lx_status st = lx_buf_puts(b, "  - id: ");
    if (st == LX_OK)
        st = put_str(b, m->id);
    if (st == LX_OK && m->provider)
        st = lx_buf_puts(b, "\n    provider: ");
    if (st == LX_OK && m->provider)
        st = put_str(b, m->provider);
    if (st == LX_OK)
        st = lx_buf_printf(b, "\n    context: %lld\n    max_output: %lld\n    features: [",
                           (long long)m->context, (long long)m->max_output);
    bool first = true;
    for (unsigned f = 1; st == LX_OK && lx_feature_name(f); f <<= 1)
        if (m->features & f) {
            st = lx_buf_printf(b, "%s%s", first ? "" : ", ", lx_feature_name(f));
            first = false;
        }
    char n1[32], n2[32], n3[32], n4[32];
    if (st == LX_OK)
        st = lx_buf_printf(b,
                           "]\n    price: {input: %s, output: %s, cache_read: %s, "
                           "cache_write: %s}\n",
                           num(m->price_input, n1, sizeof n1), num(m->price_output, n2, sizeof n2),
                           num(m->price_cache_read, n3, sizeof n3),
                           num(m->price_cache_write, n4, sizeof n4));
    return st;
}

/* ---- the sections beyond providers (schemas in config.h) ---------------- */

#define TRY(x)                                                                                     \
    do {                                                                                           \
        lx_status st_ = (x);                                                                       \
        if (st_ != LX_OK)                                                                          \
            return st_;                                                                            \
    } while (0)

static const char *const privacy_names[] = {"route_local", "redact", "block", "off"};
static const char *const action_names[] = {"target", "block", "redact",
                                           "local",  "cloud", "cascade"};

static const char *privacy_name(lx_privacy_mode m)
{
    return (unsigned)m < 4 ? privacy_names[m] : "route_local";
}

/* ", " before every item of a flow map but the first. */
static lx_status sep(lx_buf *b, bool *first)
{
    lx_status st = *first ? LX_OK : lx_buf_puts(b, ", ");
    *first = false;
    return st;
}

static lx_status put_features(lx_buf *b, unsigned features)
{
    bool first = true;
    TRY(lx_buf_putc(b, '['));
    for (unsigned f = 1; lx_feature_name(f); f <<= 1)
        if (features & f) {
            TRY(sep(b, &first));
            TRY(lx_buf_puts(b, lx_feature_name(f)));
        }
    return lx_buf_putc(b, ']');
}

static lx_status put_aliases(lx_buf *b, const lx_config *c)
{
    if (!c->n_aliases)
        return lx_buf_puts(b, "aliases: {}\n");
    TRY(lx_buf_puts(b, "aliases:\n"));
    for (size_t i = 0; i < c->n_aliases; i++) {
        TRY(lx_buf_puts(b, "  "));
        TRY(put_str(b, c->aliases[i].name));
        TRY(lx_buf_puts(b, ": "));
        TRY(put_str(b, c->aliases[i].target));
        TRY(lx_buf_putc(b, '\n'));
    }
    return LX_OK;
}

static lx_status put_when(lx_buf *b, const lx_route_rule *r)
{
    char n1[32];
    bool first = true;
    TRY(lx_buf_puts(b, "    - when: {"));
    if (r->n_privacy) {
        TRY(sep(b, &first));
        TRY(lx_buf_puts(b, "privacy: "));
        TRY(put_flow_list(b, r->privacy, r->n_privacy));
    }
    if (r->n_tasks) {
        TRY(sep(b, &first));
        TRY(lx_buf_puts(b, "task: "));
        TRY(put_flow_list(b, r->tasks, r->n_tasks));
    }
    if (r->header) {
        TRY(sep(b, &first));
        TRY(lx_buf_puts(b, "header: "));
        TRY(put_str(b, r->header));
    }
    if (r->equals) {
        TRY(sep(b, &first));
        TRY(lx_buf_puts(b, "equals: "));
        TRY(put_str(b, r->equals));
    }
    if (r->has_complexity_above) {
        TRY(sep(b, &first));
        TRY(lx_buf_printf(b, "complexity_above: %s", num(r->complexity_above, n1, sizeof n1)));
    }
    if (r->has_complexity_below) {
        TRY(sep(b, &first));
        TRY(lx_buf_printf(b, "complexity_below: %s", num(r->complexity_below, n1, sizeof n1)));
    }
    if (r->tokens_above) {
        TRY(sep(b, &first));
        TRY(lx_buf_printf(b, "tokens_above: %lld", (long long)r->tokens_above));
    }
    if (r->tokens_below) {
        TRY(sep(b, &first));
        TRY(lx_buf_printf(b, "tokens_below: %lld", (long long)r->tokens_below));
    }
    if (r->features) {
        TRY(sep(b, &first));
        TRY(lx_buf_puts(b, "features: "));
        TRY(put_features(b, r->features));
    }
    if (r->model) {
        TRY(sep(b, &first));
        TRY(lx_buf_puts(b, "model: "));
        TRY(put_str(b, r->model));
    }
    if (r->key) {
        TRY(sep(b, &first));
        TRY(lx_buf_puts(b, "key: "));
        TRY(put_str(b, r->key));
    }
    return lx_buf_puts(b, first ? "}  # always\n" : "}\n");
}

static lx_status put_routing(lx_buf *b, const lx_routing_cfg *r)
{
    char n1[32], n2[32];
    TRY(lx_buf_printf(b, "routing:\n  privacy: %s\n", privacy_name(r->privacy)));
    if (r->default_target)
        TRY(put_kv(b, "  ", "default", r->default_target));
    if (r->escalate)
        TRY(put_kv(b, "  ", "escalate", r->escalate));
    else
        TRY(lx_buf_puts(b, "  # escalate: none (no remote model: nothing escalates)\n"));
    TRY(lx_buf_printf(b,
                      "  complexity_threshold: %s\n  cascade: %s\n  cascade_min_logprob: %s\n"
                      "  sticky: %s\n",
                      num(r->complexity_threshold, n1, sizeof n1), yesno(r->cascade),
                      num(r->cascade_min_logprob, n2, sizeof n2), yesno(r->sticky)));
    if (!r->n_rules)
        return lx_buf_puts(b, "  rules: []\n");
    TRY(lx_buf_puts(b, "  rules:\n"));
    for (size_t i = 0; i < r->n_rules; i++) {
        const lx_route_rule *rule = &r->rules[i];
        TRY(put_when(b, rule));
        unsigned a = (unsigned)rule->action;
        TRY(lx_buf_printf(b, "      action: %s\n", a < 6 ? action_names[a] : "target"));
        if (rule->target)
            TRY(put_kv(b, "      ", "target", rule->target));
        if (rule->reason)
            TRY(put_kv(b, "      ", "reason", rule->reason));
    }
    return LX_OK;
}

/* Terms are stored one word each; they are written grouped by type, types
 * in the order they first appear. */
static lx_status put_guard(lx_buf *b, const lx_guard_cfg *g)
{
    TRY(lx_buf_puts(b, "guard:\n  disable: "));
    TRY(put_list(b, g->disabled, g->n_disabled));
    TRY(lx_buf_puts(b, g->n_terms ? "  terms:\n" : "  terms: []\n"));
    for (size_t i = 0; i < g->n_terms; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(g->terms[j].type, g->terms[i].type);
        if (seen)
            continue;
        TRY(lx_buf_puts(b, "    - {type: "));
        TRY(put_str(b, g->terms[i].type));
        TRY(lx_buf_puts(b, ", words: ["));
        bool first = true;
        for (size_t j = i; j < g->n_terms; j++)
            if (!strcmp(g->terms[j].type, g->terms[i].type)) {
                TRY(sep(b, &first));
                TRY(put_str(b, g->terms[j].word));
            }
        TRY(lx_buf_puts(b, "]}\n"));
    }
    TRY(lx_buf_puts(b, g->n_regexes ? "  regexes:\n" : "  regexes: []\n"));
    for (size_t i = 0; i < g->n_regexes; i++) {
        TRY(lx_buf_puts(b, "    - {type: "));
        TRY(put_str(b, g->regexes[i].type));
        TRY(lx_buf_puts(b, ", pattern: "));
        TRY(put_str(b, g->regexes[i].pattern));
        TRY(lx_buf_printf(b, ", caseless: %s}\n", yesno(g->regexes[i].caseless)));
    }
    return LX_OK;
}

static lx_status put_reliability(lx_buf *b, const lx_reliability_cfg *r)
{
    TRY(lx_buf_printf(b,
                      "reliability:\n"
                      "  retry: {max_attempts: %d, base_ms: %lld, max_ms: %lld, deadline_ms: "
                      "%lld, max_retry_after_ms: %lld}\n"
                      "  breaker: {failures: %d, window_ms: %lld, open_ms: %lld, "
                      "half_open_probes: %d}\n",
                      r->retry.max_attempts, (long long)r->retry.base_ms,
                      (long long)r->retry.max_ms, (long long)r->retry.deadline_ms,
                      (long long)r->retry.max_retry_after_ms, r->breaker.failures,
                      (long long)r->breaker.window_ms, (long long)r->breaker.open_ms,
                      r->breaker.half_open_probes));
    TRY(lx_buf_puts(b, r->n_fallbacks ? "  fallbacks:\n" : "  fallbacks: {}\n"));
    for (size_t i = 0; i < r->n_fallbacks; i++) {
        TRY(lx_buf_puts(b, "    "));
        TRY(put_str(b, r->fallbacks[i].from));
        TRY(lx_buf_puts(b, ": "));
        TRY(put_list(b, r->fallbacks[i].to, r->fallbacks[i].n_to));
    }
    return lx_buf_printf(b, "  midstream: %s\n  offline_probe_ms: %lld\n",
                         r->midstream == LX_MIDSTREAM_CONTINUE ? "continue" : "error",
                         (long long)r->offline_probe_ms);
}

static lx_status put_server(lx_buf *b, const lx_server_cfg *s)
{
    TRY(lx_buf_puts(b, "server:\n"));
    TRY(put_kv(b, "  ", "listen", s->listen ? s->listen : "127.0.0.1:8080"));
    TRY(lx_buf_printf(b,
                      "  workers: %d%s\n  max_body: %lld\n  header_timeout_ms: %lld\n"
                      "  max_streams: %d\n  drain_ms: %lld\n",
                      s->workers, s->workers ? "" : "  # one per CPU, at most 8",
                      (long long)s->max_body, (long long)s->header_timeout_ms, s->max_streams,
                      (long long)s->drain_ms));
    TRY(put_kv(b, "  ", "access_log", s->access_log ? s->access_log : "-"));
    return lx_buf_printf(b, "  log_prompts: %s\n", yesno(s->log_prompts));
}

/* Never the digest nor the key: only that one is set. */
static lx_status put_key(lx_buf *b, const lx_key_cfg *k)
{
    char n1[32], n2[32];
    TRY(lx_buf_puts(b, "  - id: "));
    TRY(put_str(b, k->id));
    TRY(lx_buf_puts(b, "\n    sha256: (set)  # not shown; write the digest or key_env: to load\n"));
    if (k->models) {
        TRY(lx_buf_puts(b, "    models: "));
        TRY(put_list(b, k->models, k->n_models));
    }
    if (k->has_privacy)
        TRY(lx_buf_printf(b, "    privacy: %s\n", privacy_name(k->privacy)));
    return lx_buf_printf(b,
                         "    budget: {day_usd: %s, month_usd: %s}\n"
                         "    limits: {rpm: %lld, tpm: %lld, concurrency: %d}\n",
                         num(k->day_usd, n1, sizeof n1), num(k->month_usd, n2, sizeof n2),
                         (long long)k->rpm, (long long)k->tpm, k->concurrency);
}

static lx_status put_account(lx_buf *b, const lx_config *c)
{
    char n1[32], n2[32];
    const lx_ledger_cfg *l = &c->ledger;
    TRY(lx_buf_printf(b, "ledger:\n  enabled: %s\n", yesno(l->enabled)));
    if (l->path)
        TRY(put_kv(b, "  ", "path", l->path));
    TRY(lx_buf_printf(b,
                      "  retention_days: %lld\n  store_prompts: %s\n  energy_usd_per_mtok: %s\n"
                      "  flush_ms: %lld\n",
                      (long long)l->retention_days, yesno(l->store_prompts),
                      num(l->energy_usd_per_mtok, n1, sizeof n1), (long long)l->flush_ms));
    const lx_budget_cfg *g = &c->budgets;
    TRY(lx_buf_printf(b,
                      "budgets: {day_usd: %s, month_usd: %s, rpm: %lld, tpm: %lld, at_limit: "
                      "%s}\n",
                      num(g->day_usd, n1, sizeof n1), num(g->month_usd, n2, sizeof n2),
                      (long long)g->rpm, (long long)g->tpm,
                      g->at_limit == LX_AT_LIMIT_REJECT ? "reject" : "local"));
    const lx_cache_cfg *k = &c->cache;
    static const char *const modes[] = {"auto", "on", "off"};
    TRY(lx_buf_printf(b, "cache:\n  mode: %s\n  ttl_s: %lld\n  max_mb: %lld\n",
                      (unsigned)k->mode < 3 ? modes[k->mode] : "auto", (long long)k->ttl_s,
                      (long long)k->max_mb));
    if (k->n_routes) {
        TRY(lx_buf_puts(b, "  routes: "));
        TRY(put_list(b, k->routes, k->n_routes));
    }
    return LX_OK;
}

lx_status lx_config_dump(const lx_config *c, lx_buf *out)
{
    /* the source is a path: a control character in it must not end the comment */
    TRY(lx_buf_puts(out, "# effective configuration (source: "));
    for (const char *p = c->source ? c->source : ""; *p; p++)
        TRY(lx_buf_putc(out, (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p));
    TRY(lx_buf_puts(out, ")\n"));
    if (c->default_model)
        TRY(put_kv(out, "", "default_model", c->default_model));
    TRY(put_timeouts(out, "", &c->timeouts));
    TRY(lx_buf_puts(out, c->n_providers ? "providers:\n" : "providers: []\n"));
    for (size_t i = 0; i < c->n_providers; i++)
        TRY(put_provider(out, &c->providers[i]));
    bool any = false;
    for (size_t i = 0; i < c->n_catalogue; i++) {
        if (!c->catalogue[i].from_config)
            continue;
        if (!any)
            TRY(lx_buf_puts(out, "catalogue:\n"));
        any = true;
        TRY(put_model(out, &c->catalogue[i]));
    }
    TRY(put_aliases(out, c));
    TRY(put_routing(out, &c->routing));
    TRY(put_guard(out, &c->guard));
    TRY(put_reliability(out, &c->reliability));
    TRY(put_server(out, &c->server));
    TRY(lx_buf_puts(out, c->n_keys ? "keys:\n" : "keys: []\n"));
    for (size_t i = 0; i < c->n_keys; i++)
        TRY(put_key(out, &c->keys[i]));
    return put_account(out, c);
}

#undef TRY

static void warn(lx_buf *out, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(lx_buf *out, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (lx_buf_vprintf(out, fmt, ap) == LX_OK && lx_buf_putc(out, '\n') == LX_OK)
        (*n)++;
    va_end(ap);
}

size_t lx_config_warnings(const lx_config *c, lx_buf *out)
{
    size_t n = 0;
    if (c->n_providers == 0)
        warn(out, &n, "%s", LX_CONFIG_NO_PROVIDERS);
    for (size_t i = 0; i < c->n_providers; i++) {
        const lx_provider_cfg *p = &c->providers[i];
        if (p->api_key_env && !p->api_key) {
            const char *v = getenv(p->api_key_env);
            warn(out, &n, "provider %s: %s is %s", p->name, p->api_key_env,
                 v ? "empty" : "not set");
        }
        if (p->api_key && !p->api_key_env && p->line > 0)
            warn(out, &n, "provider %s: api_key is written in %s; prefer api_key_env", p->name,
                 c->source);
        struct stat sb;
        if (p->type == LX_PROV_LOCAL && p->model_path && stat(p->model_path, &sb) != 0)
            warn(out, &n, "provider %s: model file %s not found", p->name, p->model_path);
        for (size_t j = 0; p->type != LX_PROV_LOCAL && j < p->n_models; j++)
            if (!lx_catalogue_find(c, p->models[j]))
                warn(out, &n,
                     "provider %s: model %s is not in the catalogue (context and prices "
                     "unknown; add it under catalogue:)",
                     p->name, p->models[j]);
    }
    if (c->n_providers > 0 && !c->default_model)
        warn(out, &n, "no default_model: commands need a model named as provider/model");
    return n;
}
