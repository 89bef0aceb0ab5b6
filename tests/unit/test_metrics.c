/*
 * test_metrics.c — the /metrics exposition: format validity (the output is
 * parsed back line by line with a strict reader of text format 0.0.4),
 * counters and histograms from hand-built outcomes, label escaping, bounded
 * label sets, extra gauges, and many threads observing at once.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/metrics.h"

/* ---- a strict reader of the exposition ---------------------------------- */

#define MAX_SAMPLES 65536

typedef struct sample {
    char name[128];
    char labels[512]; /* unescaped, "k=v;" in order, le excluded */
    char le[32];      /* "" when absent */
    double value;
} sample;

typedef struct expo {
    sample *s;
    size_t n;
    char types[64][128]; /* family names with a TYPE line */
    char kinds[64][16];
    size_t n_types;
} expo;

static bool name_ok(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool a = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!a && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

static const char *family_of(const expo *e, const char *name, const char **kind)
{
    for (size_t i = 0; i < e->n_types; i++) {
        size_t n = strlen(e->types[i]);
        if (strncmp(name, e->types[i], n) != 0)
            continue;
        const char *rest = name + n;
        if (*rest == '\0' ||
            (strcmp(e->kinds[i], "histogram") == 0 &&
             (!strcmp(rest, "_bucket") || !strcmp(rest, "_sum") || !strcmp(rest, "_count")))) {
            *kind = e->kinds[i];
            return e->types[i];
        }
    }
    return NULL;
}

/* Parses the whole text; fails the test (with the line) on any violation. */
static void parse(const char *text, expo *e)
{
    memset(e, 0, sizeof *e);
    e->s = calloc(MAX_SAMPLES, sizeof *e->s);
    cr_assert_not_null(e->s);
    char cur_family[128] = "";
    char seen[64][128];
    size_t n_seen = 0;
    const char *p = text;
    int lineno = 0;
    cr_assert(*text == '\0' || text[strlen(text) - 1] == '\n', "output must end with a newline");
    while (*p) {
        const char *eol = strchr(p, '\n');
        cr_assert_not_null(eol);
        char line[2048];
        size_t len = (size_t)(eol - p);
        cr_assert_lt(len, sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        p = eol + 1;
        lineno++;
        cr_assert_neq(len, 0, "empty line %d", lineno);
        if (strncmp(line, "# HELP ", 7) == 0) {
            const char *nm = line + 7, *sp = strchr(nm, ' ');
            cr_assert_not_null(sp, "line %d: %s", lineno, line);
            cr_assert(name_ok(nm, (size_t)(sp - nm)), "line %d: %s", lineno, line);
            for (const char *q = sp + 1; *q; q++) {
                if (*q == '\\')
                    cr_assert(q[1] == '\\' || q[1] == 'n', "line %d: bad HELP escape", lineno);
                if (*q == '\\')
                    q++;
            }
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char nm[128], kind[32];
            cr_assert_eq(sscanf(line + 7, "%127s %31s", nm, kind), 2, "line %d", lineno);
            cr_assert(name_ok(nm, strlen(nm)));
            cr_assert(!strcmp(kind, "counter") || !strcmp(kind, "gauge") ||
                          !strcmp(kind, "histogram") || !strcmp(kind, "summary") ||
                          !strcmp(kind, "untyped"),
                      "line %d: type %s", lineno, kind);
            for (size_t i = 0; i < e->n_types; i++)
                cr_assert_str_neq(e->types[i], nm, "second TYPE line for %s", nm);
            cr_assert_lt(e->n_types, 64);
            strcpy(e->types[e->n_types], nm);
            strcpy(e->kinds[e->n_types++], kind);
            continue;
        }
        cr_assert_neq(line[0], '#', "line %d: unknown comment %s", lineno, line);

        /* sample: name{labels} value */
        cr_assert_lt(e->n, MAX_SAMPLES);
        sample *s = &e->s[e->n++];
        const char *q = line;
        while (*q && *q != '{' && *q != ' ')
            q++;
        cr_assert(name_ok(line, (size_t)(q - line)), "line %d: name in %s", lineno, line);
        memcpy(s->name, line, (size_t)(q - line));
        const char *kind = NULL;
        const char *fam = family_of(e, s->name, &kind);
        cr_assert_not_null(fam, "line %d: sample %s before its TYPE line", lineno, s->name);
        if (strcmp(fam, cur_family) != 0) {
            for (size_t i = 0; i < n_seen; i++)
                cr_assert_str_neq(seen[i], fam, "line %d: family %s not contiguous", lineno, fam);
            strcpy(cur_family, fam);
            strcpy(seen[n_seen++], fam);
        }
        if (*q == '{') {
            q++;
            size_t ll = 0;
            while (*q != '}') {
                const char *k = q;
                while (*q && *q != '=')
                    q++;
                cr_assert(name_ok(k, (size_t)(q - k)), "line %d: label name", lineno);
                cr_assert(q[0] == '=' && q[1] == '"', "line %d: label syntax", lineno);
                char key[64] = "";
                memcpy(key, k, (size_t)(q - k) < 63 ? (size_t)(q - k) : 63);
                q += 2;
                char val[256];
                size_t vl = 0;
                while (*q != '"') {
                    cr_assert(*q, "line %d: unterminated label value", lineno);
                    char c = *q;
                    if (c == '\\') {
                        q++;
                        cr_assert(*q == '\\' || *q == '"' || *q == 'n', "line %d: escape \\%c",
                                  lineno, *q);
                        c = *q == 'n' ? '\n' : *q;
                    }
                    cr_assert_lt(vl, sizeof val - 1);
                    val[vl++] = c;
                    q++;
                }
                val[vl] = '\0';
                q++;
                if (strcmp(key, "le") == 0) {
                    cr_assert_str_eq(kind, "histogram");
                    cr_assert_lt(strlen(val), sizeof s->le);
                    memcpy(s->le, val, strlen(val) + 1);
                } else {
                    int w = snprintf(s->labels + ll, sizeof s->labels - ll, "%s=%s;", key, val);
                    cr_assert(w > 0 && (size_t)w < sizeof s->labels - ll);
                    ll += (size_t)w;
                }
                if (*q == ',')
                    q++;
                else
                    cr_assert_eq(*q, '}', "line %d: after label", lineno);
            }
            q++;
        }
        cr_assert_eq(*q, ' ', "line %d: no space before value", lineno);
        q++;
        if (!strcmp(q, "+Inf"))
            s->value = INFINITY;
        else if (!strcmp(q, "-Inf"))
            s->value = -INFINITY;
        else if (!strcmp(q, "NaN"))
            s->value = NAN;
        else {
            char *end;
            s->value = strtod(q, &end);
            cr_assert(end != q && *end == '\0', "line %d: value '%s'", lineno, q);
        }
        if (!strcmp(kind, "counter"))
            cr_assert_geq(s->value, 0, "line %d: negative counter", lineno);
    }
}

/* The value of one sample (labels as "k=v;" in order), NAN when missing. */
static double get(const expo *e, const char *name, const char *labels, const char *le)
{
    for (size_t i = 0; i < e->n; i++) {
        if (!strcmp(e->s[i].name, name) && !strcmp(e->s[i].labels, labels) &&
            !strcmp(e->s[i].le, le ? le : ""))
            return e->s[i].value;
    }
    return NAN;
}

static size_t count_name(const expo *e, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        n += !strcmp(e->s[i].name, name);
    return n;
}

/* Every histogram series: le increasing, counts non-decreasing, +Inf last
 * and equal to _count, _sum present. */
static void check_histograms(const expo *e)
{
    for (size_t t = 0; t < e->n_types; t++) {
        if (strcmp(e->kinds[t], "histogram") != 0)
            continue;
        char bucket[160], cnt[160], sum[160];
        snprintf(bucket, sizeof bucket, "%s_bucket", e->types[t]);
        snprintf(cnt, sizeof cnt, "%s_count", e->types[t]);
        snprintf(sum, sizeof sum, "%s_sum", e->types[t]);
        for (size_t i = 0; i < e->n; i++) {
            if (strcmp(e->s[i].name, cnt) != 0)
                continue;
            const char *lbl = e->s[i].labels;
            double prev_le = -INFINITY, prev = 0;
            bool inf = false;
            int nb = 0;
            for (size_t j = 0; j < e->n; j++) {
                if (strcmp(e->s[j].name, bucket) || strcmp(e->s[j].labels, lbl))
                    continue;
                cr_assert(!inf, "%s{%s}: bucket after +Inf", bucket, lbl);
                double le = !strcmp(e->s[j].le, "+Inf") ? INFINITY : strtod(e->s[j].le, NULL);
                cr_assert_gt(le, prev_le, "%s{%s}: le not increasing", bucket, lbl);
                cr_assert_geq(e->s[j].value, prev, "%s{%s}: buckets not cumulative", bucket, lbl);
                prev_le = le;
                prev = e->s[j].value;
                inf = isinf(le);
                nb++;
            }
            cr_assert(inf, "%s{%s}: no +Inf bucket", bucket, lbl);
            cr_assert_gt(nb, 1);
            cr_assert_eq(prev, e->s[i].value, "%s{%s}: +Inf != _count", bucket, lbl);
            cr_assert(!isnan(get(e, sum, lbl, NULL)), "%s{%s}: no _sum", sum, lbl);
        }
    }
}

static void render_parse(lx_metrics *m, expo *e, lx_buf *b)
{
    lx_buf_init(b, 0);
    cr_assert_eq(lx_metrics_render(m, b), LX_OK);
    parse(b->data ? b->data : "", e);
    check_histograms(e);
}

static void expo_free(expo *e, lx_buf *b)
{
    free(e->s);
    lx_buf_free(b);
}

/* ---- fixtures ------------------------------------------------------------ */

static char *models_cfg[] = {"gpt-4o-mini"};
static lx_provider_cfg P_CLOUD = {.name = "openai", .models = models_cfg, .n_models = 1};
static lx_provider_cfg P_LOCAL = {.name = "local", .local = true};

static lx_outcome outcome(lx_plan *plan, lx_target *t, lx_status st)
{
    lx_outcome o;
    memset(&o, 0, sizeof o);
    o.plan = plan;
    o.target = t;
    o.status = st;
    if (st != LX_OK)
        lx_fail(&o.error, st, "failed");
    return o;
}

/* ---- tests ---------------------------------------------------------------- */

Test(metrics, empty_exposition_is_valid_and_complete)
{
    lx_metrics *m = lx_metrics_new();
    cr_assert_not_null(m);
    expo e;
    lx_buf b;
    render_parse(m, &e, &b);
    const char *fams[] = {"llmux_requests_total",
                          "llmux_errors_total",
                          "llmux_tokens_total",
                          "llmux_cost_usd_total",
                          "llmux_request_duration_seconds",
                          "llmux_ttft_seconds",
                          "llmux_overhead_seconds",
                          "llmux_inflight_requests",
                          "llmux_privacy_findings_total"};
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        char want[160];
        snprintf(want, sizeof want, "# TYPE %s ", fams[i]);
        cr_assert_not_null(strstr(b.data, want), "missing %s", want);
        snprintf(want, sizeof want, "# HELP %s ", fams[i]);
        cr_assert_not_null(strstr(b.data, want), "missing %s", want);
    }
    cr_assert_eq(get(&e, "llmux_inflight_requests", "", NULL), 0);
    expo_free(&e, &b);
    lx_metrics_free(m);
}

Test(metrics, counters_and_histograms_from_outcomes)
{
    lx_metrics *m = lx_metrics_new();
    lx_target t = {.provider = &P_CLOUD, .model = "gpt-4o-mini"};
    lx_plan plan;
    memset(&plan, 0, sizeof plan);
    for (int i = 0; i < 3; i++) {
        lx_outcome o = outcome(&plan, &t, LX_OK);
        o.usage.input = 10;
        o.usage.cache_read = 2;
        o.usage.output = 5;
        o.usage.reasoning = 1;
        o.cost_usd = 0.25;
        o.latency_ms = 300; /* 0.3 s: bucket 0.5 */
        o.ttft_ms = 40;     /* 0.04 s: bucket 0.05 */
        o.overhead_us = 30; /* bucket 5e-05 */
        o.n_attempts = 1;
        o.attempts[0].target = &t;
        o.attempts[0].status = LX_OK;
        lx_metrics_observe(m, "openai", 200, &o);
    }
    lx_outcome bad = outcome(&plan, &t, LX_ERR_TIMEOUT);
    bad.latency_ms = 3000;
    bad.n_attempts = 2;
    bad.attempts[0].target = &t;
    bad.attempts[0].status = LX_ERR_TIMEOUT;
    bad.attempts[1].target = &t;
    bad.attempts[1].status = LX_ERR_TIMEOUT;
    lx_metrics_observe(m, "anthropic", 504, &bad);
    lx_metrics_observe(m, "ollama", 401, NULL);
    lx_metrics_observe(m, "bogus-front", 404, NULL);

    expo e;
    lx_buf b;
    render_parse(m, &e, &b);
    const char *pm = "provider=openai;model=gpt-4o-mini;";
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=openai;provider=openai;model=gpt-4o-mini;target=cloud;status=200;",
                     NULL),
                 3);
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=anthropic;provider=openai;model=gpt-4o-mini;target=cloud;status=504;",
                     NULL),
                 1);
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=ollama;provider=none;model=none;target=none;status=401;", NULL),
                 1);
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=other;provider=none;model=none;target=none;status=404;", NULL),
                 1);
    cr_assert_eq(get(&e, "llmux_errors_total",
                     "front=anthropic;provider=openai;model=gpt-4o-mini;kind=timeout;", NULL),
                 1);
    cr_assert_eq(
        get(&e, "llmux_errors_total", "front=ollama;provider=none;model=none;kind=auth;", NULL), 1);
    cr_assert_eq(
        get(&e, "llmux_errors_total", "front=other;provider=none;model=none;kind=not_found;", NULL),
        1);
    char l[256];
    snprintf(l, sizeof l, "%sdirection=in;", pm);
    cr_assert_eq(get(&e, "llmux_tokens_total", l, NULL), 36);
    snprintf(l, sizeof l, "%sdirection=out;", pm);
    cr_assert_eq(get(&e, "llmux_tokens_total", l, NULL), 18);
    cr_assert_float_eq(get(&e, "llmux_cost_usd_total", pm, NULL), 0.75, 1e-12);
    snprintf(l, sizeof l, "%starget=cloud;", pm);
    cr_assert_eq(get(&e, "llmux_request_duration_seconds_count", l, NULL), 4);
    cr_assert_eq(get(&e, "llmux_request_duration_seconds_bucket", l, "0.25"), 0);
    cr_assert_eq(get(&e, "llmux_request_duration_seconds_bucket", l, "0.5"), 3);
    cr_assert_eq(get(&e, "llmux_request_duration_seconds_bucket", l, "2.5"), 3);
    cr_assert_eq(get(&e, "llmux_request_duration_seconds_bucket", l, "5"), 4);
    cr_assert_float_eq(get(&e, "llmux_request_duration_seconds_sum", l, NULL), 3.9, 1e-9);
    /* the timed-out request had no first token */
    cr_assert_eq(get(&e, "llmux_ttft_seconds_count", l, NULL), 3);
    cr_assert_eq(get(&e, "llmux_ttft_seconds_bucket", l, "0.025"), 0);
    cr_assert_eq(get(&e, "llmux_ttft_seconds_bucket", l, "0.05"), 3);
    cr_assert_eq(get(&e, "llmux_overhead_seconds_bucket", "front=openai;", "2e-05"), 0);
    cr_assert_eq(get(&e, "llmux_overhead_seconds_bucket", "front=openai;", "5e-05"), 3);
    cr_assert_eq(get(&e, "llmux_overhead_seconds_bucket", "front=openai;", "5e-06"), 0);
    snprintf(l, sizeof l, "%sresult=ok;", pm);
    cr_assert_eq(get(&e, "llmux_upstream_attempts_total", l, NULL), 3);
    snprintf(l, sizeof l, "%sresult=timeout;", pm);
    cr_assert_eq(get(&e, "llmux_upstream_attempts_total", l, NULL), 2);
    expo_free(&e, &b);
    lx_metrics_free(m);
}

Test(metrics, privacy_findings_by_type_and_action)
{
    lx_metrics *m = lx_metrics_new();
    lx_finding f[3] = {{.type = "EMAIL"}, {.type = "EMAIL"}, {.type = "IBAN"}};
    lx_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.findings.items = f;
    plan.findings.n = 3;
    lx_target local = {.provider = &P_LOCAL, .model = "smollm2", .local = true};
    lx_target cloud = {.provider = &P_CLOUD, .model = "gpt-4o-mini", .redact = true};

    lx_outcome o = outcome(&plan, &local, LX_OK);
    lx_metrics_observe(m, "openai", 200, &o);
    o = outcome(&plan, &cloud, LX_OK);
    o.redacted = true;
    o.redactions = 3;
    lx_metrics_observe(m, "openai", 200, &o);
    plan.action = LX_ACTION_BLOCK;
    o = outcome(&plan, NULL, LX_ERR_BLOCKED);
    lx_metrics_observe(m, "anthropic", 403, &o);

    expo e;
    lx_buf b;
    render_parse(m, &e, &b);
    cr_assert_eq(get(&e, "llmux_privacy_findings_total", "type=EMAIL;action=local;", NULL), 2);
    cr_assert_eq(get(&e, "llmux_privacy_findings_total", "type=IBAN;action=local;", NULL), 1);
    cr_assert_eq(get(&e, "llmux_privacy_findings_total", "type=EMAIL;action=redacted;", NULL), 2);
    cr_assert_eq(get(&e, "llmux_privacy_findings_total", "type=EMAIL;action=blocked;", NULL), 2);
    cr_assert_eq(get(&e, "llmux_redacted_values_total", "provider=openai;model=gpt-4o-mini;", NULL),
                 3);
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=anthropic;provider=none;model=none;target=none;status=403;", NULL),
                 1);
    cr_assert_eq(get(&e, "llmux_errors_total",
                     "front=anthropic;provider=none;model=none;kind=blocked;", NULL),
                 1);
    /* an unlisted local model that answered is a real model: kept */
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=openai;provider=local;model=smollm2;target=local;status=200;", NULL),
                 1);
    expo_free(&e, &b);
    lx_metrics_free(m);
}

Test(metrics, label_values_are_escaped)
{
    lx_metrics *m = lx_metrics_new();
    lx_provider_cfg p = {.name = "we\"ird\\prov\nider"};
    lx_target t = {.provider = &p, .model = "m\"1\\x\ny"};
    lx_outcome o = outcome(NULL, &t, LX_OK);
    lx_metrics_observe(m, "openai", 200, &o);
    expo e;
    lx_buf b;
    render_parse(m, &e, &b);
    cr_assert_not_null(strstr(b.data, "provider=\"we\\\"ird\\\\prov\\nider\""));
    cr_assert_not_null(strstr(b.data, "model=\"m\\\"1\\\\x\\ny\""));
    /* parsed back, the values are the originals */
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=openai;provider=we\"ird\\prov\nider;model=m\"1\\x\ny;target=cloud;"
                     "status=200;",
                     NULL),
                 1);
    lx_buf esc;
    lx_buf_init(&esc, 0);
    cr_assert_eq(lx_metrics_escape(&esc, "a\"b\\c\nd"), LX_OK);
    cr_assert_str_eq(esc.data, "a\\\"b\\\\c\\nd");
    lx_buf_free(&esc);
    expo_free(&e, &b);
    lx_metrics_free(m);
}

Test(metrics, hostile_model_names_fold_into_other)
{
    lx_metrics *m = lx_metrics_new();
    lx_provider_cfg p = {.name = "mock"};
    char name[64];
    /* failed requests for invented models: never a new series */
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "junk-%d", i);
        lx_target t = {.provider = &p, .model = name};
        lx_outcome o = outcome(NULL, &t, LX_ERR_NOTFOUND);
        lx_metrics_observe(m, "openai", 404, &o);
    }
    /* models that answered: kept up to the cap, then "other" */
    for (int i = 0; i < 400; i++) {
        snprintf(name, sizeof name, "real-%d", i);
        lx_target t = {.provider = &p, .model = name};
        lx_outcome o = outcome(NULL, &t, LX_OK);
        lx_metrics_observe(m, "openai", 200, &o);
    }
    /* a name that is too long is "other" even when it answered */
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    lx_target tl = {.provider = &p, .model = longname};
    lx_outcome ol = outcome(NULL, &tl, LX_OK);
    lx_metrics_observe(m, "openai", 200, &ol);

    expo e;
    lx_buf b;
    render_parse(m, &e, &b);
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=openai;provider=mock;model=other;target=cloud;status=404;", NULL),
                 1000);
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=openai;provider=mock;model=real-0;target=cloud;status=200;", NULL),
                 1);
    cr_assert_eq(get(&e, "llmux_requests_total",
                     "front=openai;provider=mock;model=other;target=cloud;status=200;", NULL),
                 400 - 256 + 1);
    /* 256 named + other (200) + other (404) */
    cr_assert_eq(count_name(&e, "llmux_requests_total"), 258);
    expo_free(&e, &b);
    lx_metrics_free(m);
}

Test(metrics, extra_gauges)
{
    lx_metrics *m = lx_metrics_new();
    lx_metrics_gauge(m, "llmux_breaker_open", "Breaker state (1 = open).",
                     "provider=\"openai\",model=\"gpt-4o\"", 1);
    lx_metrics_gauge(m, "llmux_breaker_open", "Breaker state (1 = open).",
                     "provider=\"openai\",model=\"gpt-4o\"", 0); /* overwrite */
    lx_metrics_gauge(m, "llmux_breaker_open", "Breaker state (1 = open).",
                     "provider=\"anthropic\",model=\"x\"", 1);
    lx_metrics_gauge(m, "llmux_ledger_rows", "Ledger rows.\nSecond line \\ here", NULL, 12345);
    lx_metrics_gauge(m, "llmux_budget_usd", "Budget.", "", 0.125);
    /* ignored: bad names, bad labels, a built-in family */
    lx_metrics_gauge(m, "9bad", "x", NULL, 1);
    lx_metrics_gauge(m, "bad name", "x", NULL, 1);
    lx_metrics_gauge(m, "llmux_x", "x", "a=\"unterminated", 1);
    lx_metrics_gauge(m, "llmux_y", "x", "a=\"b\nc\"", 1);
    lx_metrics_gauge(m, "llmux_z", "x", "a=b", 1);
    lx_metrics_gauge(m, "llmux_requests_total", "x", NULL, 1);
    lx_metrics_inflight(m, 1);
    lx_metrics_inflight(m, 1);
    lx_metrics_inflight(m, -1);

    expo e;
    lx_buf b;
    render_parse(m, &e, &b);
    cr_assert_eq(get(&e, "llmux_breaker_open", "provider=openai;model=gpt-4o;", NULL), 0);
    cr_assert_eq(get(&e, "llmux_breaker_open", "provider=anthropic;model=x;", NULL), 1);
    cr_assert_eq(count_name(&e, "llmux_breaker_open"), 2);
    cr_assert_eq(get(&e, "llmux_ledger_rows", "", NULL), 12345);
    cr_assert_eq(get(&e, "llmux_budget_usd", "", NULL), 0.125);
    cr_assert_eq(count_name(&e, "llmux_x") + count_name(&e, "llmux_y") + count_name(&e, "llmux_z") +
                     count_name(&e, "9bad"),
                 0);
    cr_assert_eq(count_name(&e, "llmux_requests_total"), 0);
    cr_assert_eq(get(&e, "llmux_inflight_requests", "", NULL), 1);
    cr_assert_not_null(
        strstr(b.data, "# HELP llmux_ledger_rows Ledger rows.\\nSecond line \\\\ here\n"));
    cr_assert_not_null(strstr(b.data, "# TYPE llmux_breaker_open gauge\n"));
    expo_free(&e, &b);
    lx_metrics_free(m);
}

Test(metrics, numbers_print_short)
{
    lx_metrics *m = lx_metrics_new();
    lx_target t = {.provider = &P_CLOUD, .model = "gpt-4o-mini"};
    for (int i = 0; i < 3; i++) {
        lx_outcome o = outcome(NULL, &t, LX_OK);
        o.cost_usd = 0.1; /* 0.1 + 0.1 + 0.1 = 0.30000000000000004 in binary */
        o.usage.output = 1000000000000;
        lx_metrics_observe(m, "openai", 200, &o);
    }
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_metrics_render(m, &b), LX_OK);
    cr_assert_not_null(
        strstr(b.data, "llmux_cost_usd_total{provider=\"openai\",model=\"gpt-4o-mini\"} 0.3\n"));
    cr_assert_not_null(strstr(
        b.data, "llmux_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\",direction=\"out\"} "
                "3000000000000\n"));
    lx_buf_free(&b);
    lx_metrics_free(m);
}

Test(metrics, render_respects_the_buffer_cap)
{
    lx_metrics *m = lx_metrics_new();
    lx_buf b;
    lx_buf_init(&b, 100);
    cr_assert_eq(lx_metrics_render(m, &b), LX_ERR_TOOBIG);
    lx_buf_free(&b);
    lx_metrics_free(m);
}

/* ---- concurrency ----------------------------------------------------------- */

#define THREADS 8
#define PER_THREAD 20000

static lx_metrics *g_m;
static lx_target g_targets[2] = {
    {.provider = &P_CLOUD, .model = "gpt-4o-mini"},
    {.provider = &P_LOCAL, .model = "smollm2", .local = true},
};

static void *worker(void *arg)
{
    long id = (long)arg;
    const char *fronts[] = {"openai", "anthropic", "ollama"};
    for (int i = 0; i < PER_THREAD; i++) {
        lx_metrics_inflight(g_m, 1);
        lx_outcome o = outcome(NULL, &g_targets[(id + i) % 2], LX_OK);
        o.usage.input = 1;
        o.usage.output = 2;
        o.latency_ms = i % 1000;
        o.ttft_ms = i % 100;
        o.overhead_us = i % 200;
        o.cost_usd = 0.5;
        lx_metrics_observe(g_m, fronts[i % 3], 200, &o);
        lx_metrics_inflight(g_m, -1);
    }
    return NULL;
}

static void *scraper(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        lx_buf b;
        lx_buf_init(&b, 0);
        cr_assert_eq(lx_metrics_render(g_m, &b), LX_OK);
        lx_metrics_gauge(g_m, "llmux_scrapes", "Scrapes.", NULL, i);
        lx_buf_free(&b);
    }
    return NULL;
}

Test(metrics, many_threads_observe_exactly)
{
    g_m = lx_metrics_new();
    pthread_t th[THREADS + 1];
    for (long i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, worker, (void *)i), 0);
    cr_assert_eq(pthread_create(&th[THREADS], NULL, scraper, NULL), 0);
    for (int i = 0; i <= THREADS; i++)
        pthread_join(th[i], NULL);

    expo e;
    lx_buf b;
    render_parse(g_m, &e, &b);
    double total = 0, dur = 0, tok_in = 0, cost = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (!strcmp(e.s[i].name, "llmux_requests_total"))
            total += e.s[i].value;
        if (!strcmp(e.s[i].name, "llmux_request_duration_seconds_count"))
            dur += e.s[i].value;
        if (!strcmp(e.s[i].name, "llmux_tokens_total") && strstr(e.s[i].labels, "direction=in"))
            tok_in += e.s[i].value;
        if (!strcmp(e.s[i].name, "llmux_cost_usd_total"))
            cost += e.s[i].value;
    }
    cr_assert_eq(total, THREADS * PER_THREAD);
    cr_assert_eq(dur, THREADS * PER_THREAD);
    cr_assert_eq(tok_in, THREADS * PER_THREAD);
    cr_assert_float_eq(cost, THREADS * PER_THREAD * 0.5, 1e-6);
    cr_assert_eq(get(&e, "llmux_inflight_requests", "", NULL), 0);
    cr_assert_eq(get(&e, "llmux_scrapes", "", NULL), 49);
    cr_assert_eq(get(&e, "llmux_metrics_dropped_total", "", NULL), 0);
    expo_free(&e, &b);
    lx_metrics_free(g_m);
}

Test(metrics, collect_breakers_and_typed_samples)
{
    lx_metrics *m = lx_metrics_new();
    lx_breakers *br = NULL;
    cr_assert_eq(lx_breakers_new(NULL, &br, NULL), LX_OK);
    int64_t now = lx_breakers_now(br);
    for (int i = 0; i < 20; i++)
        lx_breakers_report(br, "openai", "gpt-4o-mini", true, false, now);
    lx_provider_cfg mock = {.name = "mock"};
    lx_target t = {.provider = &mock, .model = "answered"};
    lx_outcome o = outcome(NULL, &t, LX_OK);
    lx_metrics_observe(m, "openai", 200, &o);

    lx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.providers = &P_CLOUD; /* lists gpt-4o-mini */
    cfg.n_providers = 1;
    lx_services svc = {.config = &cfg, .breakers = br};
    lx_metrics_collect(m, &svc);
    lx_metrics_collect(m, &svc); /* twice: values replaced, not repeated */
    lx_metrics_sample(m, "llmux_things_total", "Things.", "counter", "kind=\"a\"", 3);
    lx_metrics_sample(m, "llmux_breaker_state", "reserved", "gauge", NULL, 9); /* refused */

    expo e;
    lx_buf b;
    render_parse(m, &e, &b);
    cr_assert_eq(get(&e, "llmux_breaker_state", "provider=openai;model=gpt-4o-mini;", NULL), 1);
    cr_assert_eq(get(&e, "llmux_breaker_state", "provider=mock;model=answered;", NULL), 0);
    cr_assert_eq(count_name(&e, "llmux_breaker_state"), 2);
    cr_assert_eq(get(&e, "llmux_things_total", "kind=a;", NULL), 3);
    cr_assert_not_null(strstr(b.data, "# TYPE llmux_things_total counter\n"));
    cr_assert_not_null(strstr(b.data, "# TYPE llmux_breaker_state gauge\n"));
    expo_free(&e, &b);
    lx_metrics_free(m);
    lx_breakers_free(br);
}

Test(metrics, oversized_labels_are_dropped_and_counted)
{
    lx_metrics *m = lx_metrics_new();
    static char name[2000];
    memset(name, 'p', sizeof name - 1);
    lx_provider_cfg p = {.name = name};
    lx_target t = {.provider = &p, .model = "x"};
    lx_outcome o = outcome(NULL, &t, LX_OK);
    lx_metrics_observe(m, "openai", 200, &o);
    expo e;
    lx_buf b;
    render_parse(m, &e, &b);
    cr_assert_eq(count_name(&e, "llmux_requests_total"), 0);
    cr_assert_gt(get(&e, "llmux_metrics_dropped_total", "", NULL), 0);
    expo_free(&e, &b);
    lx_metrics_free(m);
}

/* Labels are built before the mutex is taken: failovers (attempts after the
 * first, a model only the answer makes known), escalations and drops must
 * count exactly as when each sample was added on its own. */
Test(metrics, failover_attempts_escalation_and_drops_count_exactly)
{
    lx_metrics *m = lx_metrics_new();
    lx_target cloud = {.provider = &P_CLOUD, .model = "gpt-4o-mini"};
    lx_target fresh = {.provider = &P_CLOUD, .model = "gpt-5-fresh"}; /* not configured */
    lx_target local = {.provider = &P_LOCAL, .model = "smollm2", .local = true};
    lx_plan plan;
    memset(&plan, 0, sizeof plan);
    /* the fresh model fails first (stays "other"), then answers (becomes known) */
    lx_outcome o = outcome(&plan, &cloud, LX_OK);
    o.escalated = true;
    o.overhead_us = 12;
    o.latency_ms = 20;
    o.n_attempts = 4;
    o.attempts[0] = (lx_attempt){.target = &local, .status = LX_ERR_UNAVAILABLE};
    o.attempts[1] = (lx_attempt){.target = &fresh, .status = LX_ERR_TIMEOUT};
    o.attempts[2] = (lx_attempt){.target = NULL};
    o.attempts[3] = (lx_attempt){.target = &cloud, .status = LX_OK};
    lx_metrics_observe(m, "openai", 200, &o);
    o.attempts[1].status = LX_OK;
    lx_metrics_observe(m, "openai", 200, &o);
    /* more attempts than an outcome keeps: only the first LX_MAX_ATTEMPTS count */
    lx_outcome many = outcome(&plan, &cloud, LX_OK);
    many.n_attempts = LX_MAX_ATTEMPTS + 5;
    for (int i = 0; i < LX_MAX_ATTEMPTS; i++)
        many.attempts[i] = (lx_attempt){.target = &cloud, .status = LX_ERR_UPSTREAM};
    lx_metrics_observe(m, "gemini", 200, &many);
    /* a provider name too long for a label: every sample that names it is
     * dropped (requests, errors, tokens in and out, cost, duration, ttft,
     * attempts), the front-only ones are kept */
    static char name[1100];
    memset(name, 'q', sizeof name - 1);
    lx_provider_cfg longp = {.name = name};
    lx_target lt = {.provider = &longp, .model = "x"};
    lx_outcome d = outcome(&plan, &lt, LX_ERR_TIMEOUT);
    d.latency_ms = 5;
    d.ttft_ms = 1;
    d.overhead_us = 3;
    d.escalated = true;
    d.n_attempts = 1;
    d.attempts[0] = (lx_attempt){.target = &lt, .status = LX_ERR_TIMEOUT};
    lx_metrics_observe(m, "cli", 504, &d);

    expo e;
    lx_buf b;
    render_parse(m, &e, &b);
    cr_assert_eq(get(&e, "llmux_cascade_escalations_total", "front=openai;", NULL), 2);
    cr_assert_eq(get(&e, "llmux_cascade_escalations_total", "front=cli;", NULL), 1);
    cr_assert_eq(get(&e, "llmux_overhead_seconds_count", "front=cli;", NULL), 1);
    cr_assert_eq(get(&e, "llmux_upstream_attempts_total",
                     "provider=local;model=other;result=unavailable;", NULL),
                 2);
    cr_assert_eq(get(&e, "llmux_upstream_attempts_total",
                     "provider=openai;model=other;result=timeout;", NULL),
                 1);
    cr_assert_eq(get(&e, "llmux_upstream_attempts_total",
                     "provider=openai;model=gpt-5-fresh;result=ok;", NULL),
                 1);
    cr_assert_eq(get(&e, "llmux_upstream_attempts_total",
                     "provider=openai;model=gpt-4o-mini;result=ok;", NULL),
                 2);
    cr_assert_eq(get(&e, "llmux_upstream_attempts_total",
                     "provider=openai;model=gpt-4o-mini;result=upstream;", NULL),
                 LX_MAX_ATTEMPTS);
    cr_assert_eq(count_name(&e, "llmux_upstream_attempts_total"), 5);
    cr_assert_eq(get(&e, "llmux_metrics_dropped_total", "", NULL), 8);
    expo_free(&e, &b);
    lx_metrics_free(m);
}

/* lx_metrics_put_fixed6 (the access log's cost_usd) against printf: random
 * values in every decade, values next to the rounding points, exact ties,
 * signs, zero, NaN, infinities, large values. */
static void fixed6_same(double v)
{
    char want[400];
    snprintf(want, sizeof want, "%.6f", v);
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_metrics_put_fixed6(&b, v), LX_OK);
    cr_assert(b.len == strlen(want) && !memcmp(b.data, want, b.len), "%.17g: '%.*s' != '%s'", v,
              (int)b.len, b.data, want);
    lx_buf_free(&b);
}

Test(metrics, fixed6_matches_printf)
{
    static const double special[] = {0.0,    -0.0,     1e-7,    4e-7,       5e-7,      6e-7,
                                     1e-6,   0.0078125, 0.5,    0.0000015, 0.0000025, 999.9999995,
                                     999.99999949, 1000,  1e300,  -1e-9,      -0.25,     0.1,
                                     0.2,    0.3,      123.456789, 2.5e-6};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        fixed6_same(special[i]);
    fixed6_same(NAN);
    fixed6_same(INFINITY);
    fixed6_same(-INFINITY);
    /* exact ties: odd multiples of 2^-k whose product with 1e6 ends in .5 */
    for (int k = 1; k <= 30; k++)
        for (int j = 1; j < 64; j += 2)
            fixed6_same(ldexp(j, -k));
    unsigned seed = 12345;
    for (int i = 0; i < 200000; i++) {
        seed = seed * 1103515245u + 12345u;
        double u = (double)(seed >> 8) / (double)(1u << 24);
        seed = seed * 1103515245u + 12345u;
        int e = (int)(seed >> 16) % 14 - 10; /* 1e-10 .. 1e3 */
        double v = u * pow(10, e);
        fixed6_same(v);
        /* next to a rounding point: (n + 0.5) / 1e6 and its neighbours */
        double mid = (floor(v * 1e6) + 0.5) / 1e6;
        fixed6_same(mid);
        fixed6_same(nextafter(mid, 0));
        fixed6_same(nextafter(mid, 1e9));
    }
}

/* Each thread remembers the series of its last observation: alternating
 * label sets, a model that becomes known, a new lx_metrics (often at the
 * freed one's address) and other threads must all count exactly. */
static void *observe_mixed(void *ud)
{
    lx_metrics *m = ud;
    lx_target a = {.provider = &P_CLOUD, .model = "gpt-4o-mini"};
    lx_target l = {.provider = &P_LOCAL, .model = "smollm2", .local = true};
    for (int i = 0; i < 1000; i++) {
        lx_outcome o = outcome(NULL, i % 3 ? &a : &l, LX_OK);
        o.latency_ms = 1;
        o.n_attempts = 1;
        o.attempts[0] = (lx_attempt){.target = o.target, .status = LX_OK};
        lx_metrics_observe(m, i % 2 ? "openai" : "anthropic", 200, &o);
    }
    return NULL;
}

Test(metrics, per_thread_series_cache_counts_exactly)
{
    lx_target a = {.provider = &P_CLOUD, .model = "gpt-4o-mini"};
    lx_target u = {.provider = &P_CLOUD, .model = "brand-new"}; /* not configured */
    for (int round = 0; round < 3; round++) {
        lx_metrics *m = lx_metrics_new();
        for (int i = 0; i < 5; i++) {
            lx_status st = i == 2 ? LX_ERR_TIMEOUT : i == 3 ? LX_ERR_UPSTREAM : LX_OK;
            lx_outcome o = outcome(NULL, i == 3 ? &u : &a, st);
            o.usage.input = 1;
            o.latency_ms = 1;
            o.ttft_ms = i == 4 ? 2 : 0;
            lx_metrics_observe(m, "openai", i == 2 ? 504 : i == 3 ? 502 : 200, &o);
        }
        /* brand-new failed above ("other"), answers now: a known model */
        lx_outcome o = outcome(NULL, &u, LX_OK);
        lx_metrics_observe(m, "openai", 200, &o);
        pthread_t th[3];
        for (int i = 0; i < 3; i++)
            cr_assert_eq(pthread_create(&th[i], NULL, observe_mixed, m), 0);
        for (int i = 0; i < 3; i++)
            pthread_join(th[i], NULL);
        expo e;
        lx_buf b;
        render_parse(m, &e, &b);
        const char *ok = "front=openai;provider=openai;model=gpt-4o-mini;target=cloud;status=200;";
        /* 3 here + per thread: i % 3 != 0 and i odd -> 333 */
        cr_assert_eq(get(&e, "llmux_requests_total", ok, NULL), 3 + 3 * 333, "round %d", round);
        cr_assert_eq(get(&e, "llmux_requests_total",
                         "front=anthropic;provider=openai;model=gpt-4o-mini;target=cloud;"
                         "status=200;",
                         NULL),
                     3 * 333);
        cr_assert_eq(get(&e, "llmux_requests_total",
                         "front=openai;provider=local;model=smollm2;target=local;status=200;",
                         NULL),
                     3 * 167);
        cr_assert_eq(get(&e, "llmux_requests_total",
                         "front=anthropic;provider=local;model=smollm2;target=local;status=200;",
                         NULL),
                     3 * 167);
        cr_assert_eq(get(&e, "llmux_requests_total",
                         "front=openai;provider=openai;model=other;target=cloud;status=502;",
                         NULL),
                     1);
        cr_assert_eq(get(&e, "llmux_requests_total",
                         "front=openai;provider=openai;model=brand-new;target=cloud;status=200;",
                         NULL),
                     1);
        cr_assert_eq(get(&e, "llmux_requests_total",
                         "front=openai;provider=openai;model=gpt-4o-mini;target=cloud;status=504;",
                         NULL),
                     1);
        cr_assert_eq(get(&e, "llmux_tokens_total",
                         "provider=openai;model=gpt-4o-mini;direction=in;", NULL),
                     4);
        cr_assert_eq(get(&e, "llmux_ttft_seconds_count",
                         "provider=openai;model=gpt-4o-mini;target=cloud;", NULL),
                     3 + 3 * 666);
        cr_assert_eq(get(&e, "llmux_upstream_attempts_total",
                         "provider=openai;model=gpt-4o-mini;result=ok;", NULL),
                     3 * 666);
        cr_assert_eq(get(&e, "llmux_metrics_dropped_total", "", NULL), 0);
        expo_free(&e, &b);
        lx_metrics_free(m);
    }
}
