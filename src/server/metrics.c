/*
 * metrics.c — the counters and histograms behind GET /metrics.
 *
 * Layout. Every metric family (one name, one TYPE) is a small hash table of
 * series keyed by their rendered label text, e.g.
 *     provider="mockopenai",model="echo",target="cloud"
 * so a lookup is one hash and one memcmp, and rendering copies the key as it
 * is. A series is a counter (one double) or a histogram (a count per bucket,
 * not cumulative; the running sum and count); rendering makes the buckets
 * cumulative and adds +Inf, _sum and _count.
 *
 * Threads. One mutex guards the tables; a request takes it once, for a few
 * hash lookups and additions (label texts are built and hashed before it is
 * taken). Each thread also remembers the series its last request used and
 * the label values that named them, so a request like the one before only
 * adds (lx_metrics_observe). The in-flight gauge is an atomic and never
 * takes it. Rendering holds the mutex while it formats (a few kilobytes).
 *
 * Bounded label sets. provider is the name of a configured provider (or
 * "none" when no provider was involved). model is the name at the provider
 * when the config or the catalogue knows it, or when that provider answered
 * it successfully (a real model), up to LX_METRICS_MAX_MODELS distinct pairs;
 * every other name (a typo, a hostile client's invention) is "other". front,
 * target, status, kind and direction come from small fixed sets; finding
 * types from the scanner (built-in types plus the config's). Each family
 * also has a hard cap on series (LX_METRICS_MAX_SERIES); what does not fit
 * is counted in llmux_metrics_dropped_total instead of growing memory.
 */
#include "server/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LX_METRICS_MAX_SERIES 2048 /* per family */
#define LX_METRICS_MAX_MODELS 256  /* provider/model pairs accepted from answers */
#define LX_METRICS_MAX_GAUGES 512  /* lx_metrics_gauge entries */
#define LX_METRICS_MODEL_LEN 128   /* longer model names read as "other" */
#define LX_METRICS_LABELS_CAP 1024 /* rendered label text of one series */
#define N_BUCKETS_MAX 20
#define HASH_SLOTS 256

/* ---- bucket layouts ----------------------------------------------------- */

/* Bounds are kept as text too, so `le` prints exactly as written here. */
typedef struct buckets {
    int n;
    double le[N_BUCKETS_MAX];
    const char *text[N_BUCKETS_MAX];
} buckets;

/* Whole requests: from a cached answer (milliseconds) to a long generation. */
static const buckets B_DURATION = {
    16,
    {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300},
    {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "20", "30",
     "60", "120", "300"},
};
/* Time to first token: local engines answer in milliseconds, clouds in ~0.3-3 s. */
static const buckets B_TTFT = {
    15,
    {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
    {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
     "10", "30", "60"},
};
/* llmux's own time per request: the target is tens of microseconds. */
static const buckets B_OVERHEAD = {
    16,
    {5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 1},
    {"5e-06", "1e-05", "2e-05", "5e-05", "0.0001", "0.0002", "0.0005", "0.001", "0.002", "0.005",
     "0.01", "0.025", "0.05", "0.1", "0.25", "1"},
};

/* ---- families ----------------------------------------------------------- */

typedef enum { K_COUNTER, K_HISTOGRAM } fam_kind;

typedef struct series {
    struct series *next; /* hash chain */
    uint32_t hash;
    double value;     /* counter */
    uint64_t *counts; /* histogram: per bucket, +Inf last; not cumulative */
    double sum;
    uint64_t count;
    size_t len;
    char labels[]; /* NUL-terminated */
} series;

typedef struct family {
    const char *name, *help;
    fam_kind kind;
    const buckets *b;
    series *slot[HASH_SLOTS];
    size_t n;
} family;

enum {
    F_REQUESTS,
    F_ERRORS,
    F_TOKENS,
    F_COST,
    F_SAVED,
    F_DURATION,
    F_TTFT,
    F_OVERHEAD,
    F_PRIVACY,
    F_ATTEMPTS,
    F_REDACTED,
    F_ESCALATED,
    F_N
};

static const struct {
    const char *name, *help;
    fam_kind kind;
    const buckets *b;
} FAMILIES[F_N] = {
    [F_REQUESTS] = {"llmux_requests_total",
                    "Finished HTTP requests by front (dialect), provider, model, route target and "
                    "HTTP status.",
                    K_COUNTER, NULL},
    [F_ERRORS] = {"llmux_errors_total",
                  "Requests that ended in an error, by front, provider, model and error kind.",
                  K_COUNTER, NULL},
    [F_TOKENS] = {"llmux_tokens_total",
                  "Tokens of answers that reached the caller, by provider, model and direction "
                  "(in = prompt, out = completion including reasoning).",
                  K_COUNTER, NULL},
    [F_COST] = {"llmux_cost_usd_total", "Cost in US dollars by provider and model.", K_COUNTER,
                NULL},
    [F_SAVED] = {"llmux_saved_usd_total",
                 "US dollars saved against the all-cloud price (local answers, cache hits), by "
                 "provider and model.",
                 K_COUNTER, NULL},
    [F_DURATION] = {"llmux_request_duration_seconds",
                    "Whole request latency by provider, model and route target.", K_HISTOGRAM,
                    &B_DURATION},
    [F_TTFT] = {"llmux_ttft_seconds",
                "Time to the first content token by provider, model and route target.", K_HISTOGRAM,
                &B_TTFT},
    [F_OVERHEAD] = {"llmux_overhead_seconds",
                    "llmux's own time per request (routing, guard, encoding; no waiting on "
                    "providers), by front.",
                    K_HISTOGRAM, &B_OVERHEAD},
    [F_PRIVACY] = {"llmux_privacy_findings_total",
                   "Sensitive values found in requests, by finding type and what was done "
                   "(blocked, redacted, local, sent, none).",
                   K_COUNTER, NULL},
    [F_ATTEMPTS] = {"llmux_upstream_attempts_total",
                    "Calls to providers (retries and failovers included) by provider, model and "
                    "result (ok or the error kind).",
                    K_COUNTER, NULL},
    [F_REDACTED] = {"llmux_redacted_values_total",
                    "Values replaced by placeholders before a request left, by provider and "
                    "model.",
                    K_COUNTER, NULL},
    [F_ESCALATED] = {"llmux_cascade_escalations_total",
                     "Local drafts the cascade validator rejected (escalated to the next target), "
                     "by front.",
                     K_COUNTER, NULL},
};

typedef struct gauge {
    char *name, *help, *labels;
    const char *type; /* "gauge" | "counter" (static) */
    double value;
} gauge;

typedef struct known_model {
    struct known_model *next;
    uint32_t hash;
    char key[]; /* provider '\x1f' model */
} known_model;

struct lx_metrics {
    pthread_mutex_t mu;
    family fam[F_N];
    known_model *models[HASH_SLOTS];
    size_t n_models;
    gauge gauges[LX_METRICS_MAX_GAUGES];
    size_t n_gauges;
    uint64_t dropped; /* series that did not fit */
    atomic_llong inflight;
    double start_time; /* unix seconds */
    uint64_t gen;      /* distinct per lx_metrics_new (the per-thread cache) */
};

static atomic_uint_fast64_t metrics_gen;

/* Hash of a series key or known model: 8 bytes per step (multiply and
 * xor-shift). Only picks a hash slot; rendering sorts, so the exposition
 * does not depend on it. */
static uint32_t key_hash(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    return (uint32_t)h;
}

/* ---- life cycle --------------------------------------------------------- */

lx_metrics *lx_metrics_new(void)
{
    lx_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return NULL;
    }
    for (int i = 0; i < F_N; i++) {
        m->fam[i].name = FAMILIES[i].name;
        m->fam[i].help = FAMILIES[i].help;
        m->fam[i].kind = FAMILIES[i].kind;
        m->fam[i].b = FAMILIES[i].b;
    }
    atomic_init(&m->inflight, 0);
    m->gen = atomic_fetch_add(&metrics_gen, 1) + 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return m;
}

void lx_metrics_free(lx_metrics *m)
{
    if (!m)
        return;
    for (int f = 0; f < F_N; f++) {
        for (int i = 0; i < HASH_SLOTS; i++) {
            series *s = m->fam[f].slot[i];
            while (s) {
                series *next = s->next;
                free(s->counts);
                free(s);
                s = next;
            }
        }
    }
    for (int i = 0; i < HASH_SLOTS; i++) {
        known_model *k = m->models[i];
        while (k) {
            known_model *next = k->next;
            free(k);
            k = next;
        }
    }
    for (size_t i = 0; i < m->n_gauges; i++) {
        free(m->gauges[i].name);
        free(m->gauges[i].help);
        free(m->gauges[i].labels);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void lx_metrics_inflight(lx_metrics *m, int delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->inflight, delta, memory_order_relaxed);
}

/* ---- labels ------------------------------------------------------------- */

/* Appends v escaped for a label value (backslash, double quote, newline) to
 * dst[*len..cap); false when it does not fit. */
static bool esc_append(char *dst, size_t *len, size_t cap, const char *v)
{
    size_t n = *len;
    size_t plain = strcspn(v, "\\\"\n");
    if (v[plain] == '\0') { /* the usual case: nothing to escape */
        if (n + plain >= cap)
            return false;
        memcpy(dst + n, v, plain + 1);
        *len = n + plain;
        return true;
    }
    for (const char *p = v; *p; p++) {
        const char *rep = NULL;
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '"')
            rep = "\\\"";
        else if (*p == '\n')
            rep = "\\n";
        size_t k = rep ? 2 : 1;
        if (n + k >= cap)
            return false;
        if (rep) {
            dst[n++] = rep[0];
            dst[n++] = rep[1];
        } else {
            dst[n++] = *p;
        }
    }
    dst[n] = '\0';
    *len = n;
    return true;
}

lx_status lx_metrics_escape(lx_buf *out, const char *value)
{
    for (const char *p = value ? value : ""; *p; p++) {
        lx_status st;
        if (*p == '\\')
            st = lx_buf_puts(out, "\\\\");
        else if (*p == '"')
            st = lx_buf_puts(out, "\\\"");
        else if (*p == '\n')
            st = lx_buf_puts(out, "\\n");
        else
            st = lx_buf_putc(out, *p);
        if (st != LX_OK)
            return st;
    }
    return LX_OK;
}

/* Renders `k0="v0",k1="v1",...` into dst (NULL values print as ""). Plain
 * copies, no printf: this runs several times per request. *out_len: its
 * length. */
static bool labels(char *dst, size_t cap, int n, const char *const *k, const char *const *v,
                   size_t *out_len)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        size_t kl = strlen(k[i]);
        if (len + kl + 3 >= cap)
            return false;
        if (i)
            dst[len++] = ',';
        memcpy(dst + len, k[i], kl);
        len += kl;
        dst[len++] = '=';
        dst[len++] = '"';
        dst[len] = '\0';
        if (!esc_append(dst, &len, cap, v[i] ? v[i] : ""))
            return false;
        if (len + 2 >= cap)
            return false;
        dst[len++] = '"';
    }
    dst[len] = '\0';
    *out_len = len;
    return true;
}

/* ---- series ------------------------------------------------------------- */

/* The rendered label text of one series and its hash, built before the
 * mutex is taken (so the critical section is only lookups and additions).
 * ok false: the labels did not fit (counted as dropped). */
typedef struct skey {
    bool ok;
    uint32_t hash;
    size_t len;
    char txt[LX_METRICS_LABELS_CAP];
} skey;

static void key_make(skey *key, int n, const char *const *k, const char *const *v)
{
    key->ok = labels(key->txt, sizeof key->txt, n, k, v, &key->len);
    if (key->ok)
        key->hash = key_hash(key->txt, key->len);
}

/* The series of family f with this key, created when missing; NULL when
 * the family is full or out of memory (counted as dropped). Caller holds
 * m->mu. */
static series *get_series(lx_metrics *m, int f, const skey *key)
{
    family *fa = &m->fam[f];
    size_t len = key->len;
    uint32_t h = key->hash;
    for (series *s = fa->slot[h % HASH_SLOTS]; s; s = s->next) {
        if (s->hash == h && s->len == len && memcmp(s->labels, key->txt, len) == 0)
            return s;
    }
    if (fa->n >= LX_METRICS_MAX_SERIES) {
        m->dropped++;
        return NULL;
    }
    series *s = calloc(1, sizeof *s + len + 1);
    if (!s) {
        m->dropped++;
        return NULL;
    }
    if (fa->kind == K_HISTOGRAM) {
        s->counts = calloc((size_t)fa->b->n + 1, sizeof *s->counts);
        if (!s->counts) {
            free(s);
            m->dropped++;
            return NULL;
        }
    }
    s->hash = h;
    s->len = len;
    memcpy(s->labels, key->txt, len + 1);
    s->next = fa->slot[h % HASH_SLOTS];
    fa->slot[h % HASH_SLOTS] = s;
    fa->n++;
    return s;
}

/* The series for key, or the one *slot remembers (the per-thread cache of
 * lx_metrics_observe; slot may be NULL). A key that did not fit counts as
 * dropped, as does a full family (get_series). Caller holds m->mu. */
static series *series_for(lx_metrics *m, int f, series **slot, const skey *key)
{
    if (slot && *slot)
        return *slot;
    if (!key->ok) {
        m->dropped++;
        return NULL;
    }
    series *s = get_series(m, f, key);
    if (slot)
        *slot = s;
    return s;
}

/* Caller holds m->mu. */
static void count_add(lx_metrics *m, int f, series **slot, const skey *key, double d)
{
    series *s = series_for(m, f, slot, key);
    if (s && isfinite(d))
        s->value += d;
}

/* Caller holds m->mu; x is finite and >= 0 (observe_ok). */
static void hist_observe(lx_metrics *m, int f, series **slot, const skey *key, double x)
{
    series *s = series_for(m, f, slot, key);
    if (!s)
        return;
    const buckets *b = m->fam[f].b;
    int i = 0;
    while (i < b->n && x > b->le[i])
        i++;
    s->counts[i]++;
    s->sum += x;
    s->count++;
}

static bool observe_ok(double x)
{
    return isfinite(x) && x >= 0;
}

/* ---- bounded label values ----------------------------------------------- */

static const char *front_label(const char *front)
{
    static const char *const known[] = {"openai", "anthropic", "ollama", "gemini", "cli"};
    if (front) {
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            if (strcmp(front, known[i]) == 0)
                return known[i];
        }
    }
    return "other";
}

/* True when provider/model is in the accepted set; with add, puts it there
 * while there is room. Caller holds m->mu. */
static bool known_model_check(lx_metrics *m, const char *provider, const char *model, bool add)
{
    char key[256];
    int n = snprintf(key, sizeof key, "%s\x1f%s", provider, model);
    if (n < 0 || (size_t)n >= sizeof key)
        return false;
    uint32_t h = key_hash(key, (size_t)n);
    for (known_model *k = m->models[h % HASH_SLOTS]; k; k = k->next) {
        if (k->hash == h && strcmp(k->key, key) == 0)
            return true;
    }
    if (!add || m->n_models >= LX_METRICS_MAX_MODELS)
        return false;
    known_model *k = malloc(sizeof *k + (size_t)n + 1);
    if (!k)
        return false;
    k->hash = h;
    memcpy(k->key, key, (size_t)n + 1);
    k->next = m->models[h % HASH_SLOTS];
    m->models[h % HASH_SLOTS] = k;
    m->n_models++;
    return true;
}

/* The model label of a target: see the file comment. answered: the provider
 * served this model successfully. Takes m->mu when the accepted set must be
 * asked (a model neither the config nor the catalogue knows). */
static const char *model_label(lx_metrics *m, const lx_target *t, bool answered)
{
    const char *model = t->model;
    if (!model || !*model || strlen(model) > LX_METRICS_MODEL_LEN)
        return "other";
    if (t->info)
        return model;
    const lx_provider_cfg *p = t->provider;
    for (size_t i = 0; p && i < p->n_models; i++) {
        if (p->models[i] && strcmp(p->models[i], model) == 0)
            return model;
    }
    const char *pname = p && p->name ? p->name : "none";
    pthread_mutex_lock(&m->mu);
    bool known = known_model_check(m, pname, model, answered);
    pthread_mutex_unlock(&m->mu);
    return known ? model : "other";
}

static const char *provider_label(const lx_target *t)
{
    return t && t->provider && t->provider->name ? t->provider->name : "none";
}

/* The error kind of a request answered before dispatch, from its status. */
static const char *kind_from_http(int status)
{
    switch (status) {
    case 400:
        return "invalid";
    case 401:
        return "auth";
    case 403:
        return "blocked";
    case 404:
        return "not_found";
    case 405:
        return "method";
    case 408:
        return "timeout";
    case 413:
        return "too_big";
    case 415:
        return "media_type";
    case 429:
        return "limit";
    case 499:
        return "cancelled";
    case 502:
        return "upstream";
    case 503:
        return "unavailable";
    case 504:
        return "timeout";
    default:
        return status >= 500 ? "internal" : "invalid";
    }
}

/* What happened to the sensitive values of a request. */
static const char *privacy_action(const lx_outcome *o)
{
    if (o->plan && o->plan->action == LX_ACTION_BLOCK)
        return "blocked";
    if (o->redacted || (o->target && o->target->redact))
        return "redacted";
    if (!o->target)
        return "none";
    return o->target->local ? "local" : "sent";
}

/* ---- observe ------------------------------------------------------------ */

/* The series the last observation of this thread used, with the label
 * values that named them: a request like the one before (same front,
 * provider, model, target, status, first attempt) skips building, hashing
 * and looking up its label texts. Series live as long as their lx_metrics;
 * gen tells a new lx_metrics at the same address apart. */
enum { S_REQ, S_OVH, S_TIN, S_TOUT, S_COST, S_DUR, S_TTFT, S_ATT0, S_N };
typedef struct obs_cache {
    const lx_metrics *m;
    uint64_t gen;
    const char *front, *target, *att_result; /* static strings */
    int status;
    bool att0;
    char provider[LX_METRICS_MODEL_LEN + 1], model[LX_METRICS_MODEL_LEN + 1];
    char att_provider[LX_METRICS_MODEL_LEN + 1], att_model[LX_METRICS_MODEL_LEN + 1];
    series *s[S_N];
} obs_cache;
static _Thread_local obs_cache tl_obs;

static bool fits(const char *v)
{
    return strlen(v) <= LX_METRICS_MODEL_LEN;
}

/* Every label text is built (and hashed) before m->mu is taken, and only
 * for series the thread's cache does not hold; under the mutex only
 * lookups and additions run. Series and drop counts are the same as adding
 * them one by one under the mutex. */
void lx_metrics_observe(lx_metrics *m, const char *front, int http_status, const lx_outcome *o)
{
    if (!m)
        return;
    front = front_label(front);
    char status[8];
    if (http_status >= 100 && http_status <= 599) {
        status[0] = (char)('0' + http_status / 100);
        status[1] = (char)('0' + http_status / 10 % 10);
        status[2] = (char)('0' + http_status % 10);
        status[3] = '\0';
    } else {
        strcpy(status, "other");
    }
    int status_key = http_status >= 100 && http_status <= 599 ? http_status : -1;

    const lx_target *t = o ? o->target : NULL;
    const char *provider = provider_label(t);
    const char *model = t ? model_label(m, t, o->status == LX_OK) : "none";
    const char *target = "none";
    if (t && !(o->plan && o->plan->action == LX_ACTION_BLOCK))
        target = t->local ? "local" : "cloud";

    /* attempts: model labels in order (the accepted set may grow) */
    int n_att = o ? (o->n_attempts < LX_MAX_ATTEMPTS ? o->n_attempts : LX_MAX_ATTEMPTS) : 0;
    const char *att_model[LX_MAX_ATTEMPTS];
    for (int i = 0; i < n_att; i++) {
        const lx_attempt *a = &o->attempts[i];
        att_model[i] = a->target ? model_label(m, a->target, a->status == LX_OK) : NULL;
    }
    bool att0 = n_att > 0 && o->attempts[0].target;
    const char *att_provider = att0 ? provider_label(o->attempts[0].target) : NULL;
    const char *att_result = att0 ? lx_status_name(o->attempts[0].status) : NULL;

    /* the thread's cache: valid for this request, or started afresh */
    obs_cache *c = &tl_obs;
    bool same = c->m == m && c->gen == m->gen && c->front == front && c->target == target &&
                c->status == status_key && c->att0 == att0 && !strcmp(c->provider, provider) &&
                !strcmp(c->model, model) &&
                (!att0 || (c->att_result == att_result && !strcmp(c->att_provider, att_provider) &&
                           !strcmp(c->att_model, att_model[0])));
    if (!same) {
        memset(c->s, 0, sizeof c->s);
        c->m = NULL;
        if (fits(provider) && fits(model) &&
            (!att0 || (fits(att_provider) && fits(att_model[0])))) {
            c->m = m;
            c->gen = m->gen;
            c->front = front;
            c->target = target;
            c->status = status_key;
            c->att0 = att0;
            strcpy(c->provider, provider);
            strcpy(c->model, model);
            c->att_result = att_result;
            if (att0) {
                strcpy(c->att_provider, att_provider);
                strcpy(c->att_model, att_model[0]);
            }
        }
    }
    series **slot = c->m ? c->s : NULL;
#define HAVE(i) (slot && slot[i])
#define SLOT(i) (slot ? &slot[i] : NULL)

    skey k_req_s, k_err_s, k_f_s, k_in_s, k_out_s, k_pm_s, k_pmt_s, k_att0_s;

    if (!HAVE(S_REQ)) {
        static const char *const k_req[] = {"front", "provider", "model", "target", "status"};
        const char *v_req[] = {front, provider, model, target, status};
        key_make(&k_req_s, 5, k_req, v_req);
    }

    bool failed = http_status >= 400 || http_status < 100 ||
                  (o && o->status != LX_OK && o->status != LX_DONE);
    if (failed) {
        const char *kind = (o && o->status != LX_OK && o->status != LX_DONE)
                               ? lx_status_name(o->status)
                               : kind_from_http(http_status);
        static const char *const k_err[] = {"front", "provider", "model", "kind"};
        const char *v_err[] = {front, provider, model, kind};
        key_make(&k_err_s, 4, k_err, v_err);
    }

    double overhead = o ? (double)o->overhead_us / 1e6 : 0;
    bool obs_overhead = o && observe_ok(overhead);
    if (o && ((obs_overhead && !HAVE(S_OVH)) || o->escalated)) {
        static const char *const k_f[] = {"front"};
        const char *v_f[] = {front};
        key_make(&k_f_s, 1, k_f, v_f);
    }

    double latency = 0, ttft = 0;
    bool obs_latency = false, obs_ttft = false;
    if (t) {
        static const char *const k_tok[] = {"provider", "model", "direction"};
        if (!HAVE(S_TIN)) {
            const char *v_in[] = {provider, model, "in"};
            key_make(&k_in_s, 3, k_tok, v_in);
        }
        if (!HAVE(S_TOUT)) {
            const char *v_out[] = {provider, model, "out"};
            key_make(&k_out_s, 3, k_tok, v_out);
        }
        if (!HAVE(S_COST) || o->saved_usd > 0 || o->redactions > 0) {
            static const char *const k_pm[] = {"provider", "model"};
            const char *v_pm[] = {provider, model};
            key_make(&k_pm_s, 2, k_pm, v_pm);
        }
        latency = (double)o->latency_ms / 1e3;
        ttft = (double)o->ttft_ms / 1e3;
        obs_latency = o->latency_ms >= 0 && observe_ok(latency);
        obs_ttft = (o->ttft_ms > 0 || (o->status == LX_OK && o->ttft_ms == 0)) && observe_ok(ttft);
        if ((obs_latency && !HAVE(S_DUR)) || (obs_ttft && !HAVE(S_TTFT))) {
            static const char *const k_pmt[] = {"provider", "model", "target"};
            const char *v_pmt[] = {provider, model, target};
            key_make(&k_pmt_s, 3, k_pmt, v_pmt);
        }
    }

    /* the first attempt's labels here, any further ones (failovers, rare)
     * under the mutex below */
    static const char *const k_att[] = {"provider", "model", "result"};
    if (att0 && !HAVE(S_ATT0)) {
        const char *v_att[] = {att_provider, att_model[0], att_result};
        key_make(&k_att0_s, 3, k_att, v_att);
    }

    pthread_mutex_lock(&m->mu);

    count_add(m, F_REQUESTS, SLOT(S_REQ), &k_req_s, 1);
    if (failed)
        count_add(m, F_ERRORS, NULL, &k_err_s, 1);

    if (o) {
        if (obs_overhead)
            hist_observe(m, F_OVERHEAD, SLOT(S_OVH), &k_f_s, overhead);
        if (o->escalated)
            count_add(m, F_ESCALATED, NULL, &k_f_s, 1);
    }

    if (t) {
        count_add(m, F_TOKENS, SLOT(S_TIN), &k_in_s, (double)lx_usage_total_input(&o->usage));
        count_add(m, F_TOKENS, SLOT(S_TOUT), &k_out_s, (double)lx_usage_total_output(&o->usage));
        count_add(m, F_COST, SLOT(S_COST), &k_pm_s, o->cost_usd > 0 ? o->cost_usd : 0);
        if (o->saved_usd > 0)
            count_add(m, F_SAVED, NULL, &k_pm_s, o->saved_usd);
        if (o->redactions > 0)
            count_add(m, F_REDACTED, NULL, &k_pm_s, (double)o->redactions);
        if (obs_latency)
            hist_observe(m, F_DURATION, SLOT(S_DUR), &k_pmt_s, latency);
        if (obs_ttft)
            hist_observe(m, F_TTFT, SLOT(S_TTFT), &k_pmt_s, ttft);
    }

    if (o) {
        skey *k_x = &k_att0_s; /* the rare rest: attempts after the first, findings */
        for (int i = 0; i < n_att; i++) {
            const lx_attempt *a = &o->attempts[i];
            if (!a->target)
                continue;
            if (i == 0) {
                count_add(m, F_ATTEMPTS, SLOT(S_ATT0), &k_att0_s, 1);
                continue;
            }
            const char *v_att[] = {provider_label(a->target), att_model[i],
                                   lx_status_name(a->status)};
            key_make(k_x, 3, k_att, v_att);
            count_add(m, F_ATTEMPTS, NULL, k_x, 1);
        }
        if (o->plan && o->plan->findings.n) {
            const char *action = privacy_action(o);
            static const char *const k_priv[] = {"type", "action"};
            for (size_t i = 0; i < o->plan->findings.n; i++) {
                const char *type = o->plan->findings.items[i].type;
                const char *v_priv[] = {type && strlen(type) <= 64 ? type : "other", action};
                key_make(k_x, 2, k_priv, v_priv);
                count_add(m, F_PRIVACY, NULL, k_x, 1);
            }
        }
    }

    pthread_mutex_unlock(&m->mu);
#undef HAVE
#undef SLOT
}

/* ---- extra gauges ------------------------------------------------------- */

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        bool digit = *p >= '0' && *p <= '9';
        if (!alpha && !(digit && p != s))
            return false;
    }
    return true;
}

/* `k="v",...` with valid names and escapes only (so the exposition stays
 * parseable whatever a caller passes). Empty is valid. */
static bool valid_labels(const char *s)
{
    const char *p = s;
    while (*p) {
        const char *k = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
               (p != k && *p >= '0' && *p <= '9'))
            p++;
        if (p == k || p[0] != '=' || p[1] != '"')
            return false;
        p += 2;
        while (*p != '"') {
            if (*p == '\0' || *p == '\n')
                return false;
            if (*p == '\\') {
                if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
                    return false;
                p++;
            }
            p++;
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p)
            return false;
    }
    return true;
}

static bool is_family_name(const char *name)
{
    for (int f = 0; f < F_N; f++) {
        if (strcmp(FAMILIES[f].name, name) == 0)
            return true;
    }
    return strcmp(name, "llmux_inflight_requests") == 0 ||
           strcmp(name, "llmux_metrics_dropped_total") == 0 ||
           strcmp(name, "process_start_time_seconds") == 0 ||
           strcmp(name, "process_resident_memory_bytes") == 0 ||
           strcmp(name, "llmux_breaker_state") == 0;
}

void lx_metrics_gauge(lx_metrics *m, const char *name, const char *help, const char *labels_txt,
                      double value)
{
    lx_metrics_sample(m, name, help, "gauge", labels_txt, value);
}

/* Sets one sample (no checks). Caller holds m->mu. */
static void put_sample_locked(lx_metrics *m, const char *name, const char *help, const char *type,
                              const char *labels_txt, double value)
{
    for (size_t i = 0; i < m->n_gauges; i++) {
        gauge *g = &m->gauges[i];
        if (strcmp(g->name, name) == 0 && strcmp(g->labels, labels_txt) == 0) {
            g->value = value;
            return;
        }
    }
    if (m->n_gauges >= LX_METRICS_MAX_GAUGES) {
        m->dropped++;
        return;
    }
    gauge g = {strdup(name), strdup(help ? help : name), strdup(labels_txt), type, value};
    if (!g.name || !g.help || !g.labels) {
        free(g.name);
        free(g.help);
        free(g.labels);
        m->dropped++;
        return;
    }
    m->gauges[m->n_gauges++] = g;
}

void lx_metrics_sample(lx_metrics *m, const char *name, const char *help, const char *type,
                       const char *labels_txt, double value)
{
    if (!m || !valid_name(name) || is_family_name(name))
        return;
    type = type && strcmp(type, "counter") == 0 ? "counter" : "gauge";
    if (!labels_txt)
        labels_txt = "";
    if (!valid_labels(labels_txt))
        return;
    pthread_mutex_lock(&m->mu);
    put_sample_locked(m, name, help, type, labels_txt, value);
    pthread_mutex_unlock(&m->mu);
}

static void set_breaker(lx_metrics *m, const char *labels_txt, double state)
{
    put_sample_locked(m, "llmux_breaker_state",
                      "Circuit breaker of provider/model: 0 closed, 1 open, 2 half-open.", "gauge",
                      labels_txt, state);
}

/* ---- rendering ---------------------------------------------------------- */

/* Integers exactly, other values in the shortest form up to 15 significant
 * digits; NaN / Inf spelled the Prometheus way. */
static lx_status put_num(lx_buf *out, double v)
{
    if (isnan(v))
        return lx_buf_puts(out, "NaN");
    if (isinf(v))
        return lx_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return lx_buf_printf(out, "%.0f", v);
    /* the shortest text up to 15 significant digits: sums of many small
     * values carry binary rounding noise in the 16th-17th digit */
    char tmp[40];
    for (int prec = 6; prec <= 15; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return lx_buf_puts(out, tmp);
}

lx_status lx_metrics_put_fixed6(lx_buf *out, double v)
{
    /* v * 1e6 is off from the exact product by at most 1.2e-7 below 1e9,
     * so unless it lies within 1e-6 of a .5 the nearest integer is the one
     * printf rounds the exact value to. -0.0, NaN, ties, large: printf. */
    if (v >= 0 && v < 1000 && !signbit(v)) {
        double scaled = v * 1e6;
        double fl = floor(scaled);
        if (fabs(scaled - fl - 0.5) > 1e-6) {
            uint64_t r = (uint64_t)fl + (scaled - fl > 0.5);
            char tmp[32];
            size_t n = sizeof tmp;
            uint64_t frac = r % 1000000, ip = r / 1000000;
            for (int i = 0; i < 6; i++, frac /= 10)
                tmp[--n] = (char)('0' + frac % 10);
            tmp[--n] = '.';
            do {
                tmp[--n] = (char)('0' + ip % 10);
                ip /= 10;
            } while (ip);
            return lx_buf_append(out, tmp + n, sizeof tmp - n);
        }
    }
    return lx_buf_printf(out, "%.6f", v);
}

/* HELP text: backslash and newline escaped. */
static lx_status put_help(lx_buf *out, const char *name, const char *help, const char *type)
{
    lx_status st = lx_buf_printf(out, "# HELP %s ", name);
    for (const char *p = help; st == LX_OK && *p; p++) {
        if (*p == '\\')
            st = lx_buf_puts(out, "\\\\");
        else if (*p == '\n')
            st = lx_buf_puts(out, "\\n");
        else
            st = lx_buf_putc(out, *p);
    }
    if (st == LX_OK)
        st = lx_buf_printf(out, "\n# TYPE %s %s\n", name, type);
    return st;
}

static int cmp_series(const void *a, const void *b)
{
    const series *x = *(series *const *)a, *y = *(series *const *)b;
    return strcmp(x->labels, y->labels);
}

static lx_status put_labels(lx_buf *out, const char *lbl, const char *extra)
{
    if (!*lbl && !extra)
        return LX_OK;
    return lx_buf_printf(out, "{%s%s%s}", lbl, *lbl && extra ? "," : "", extra ? extra : "");
}

static lx_status render_family(const family *fa, lx_buf *out)
{
    lx_status st =
        put_help(out, fa->name, fa->help, fa->kind == K_HISTOGRAM ? "histogram" : "counter");
    if (st != LX_OK || fa->n == 0)
        return st;
    series **all = malloc(fa->n * sizeof *all);
    if (!all)
        return LX_ERR_NOMEM;
    size_t n = 0;
    for (int i = 0; i < HASH_SLOTS; i++) {
        for (series *s = fa->slot[i]; s; s = s->next)
            all[n++] = s;
    }
    qsort(all, n, sizeof *all, cmp_series);
    for (size_t i = 0; st == LX_OK && i < n; i++) {
        const series *s = all[i];
        if (fa->kind == K_COUNTER) {
            st = lx_buf_puts(out, fa->name);
            if (st == LX_OK)
                st = put_labels(out, s->labels, NULL);
            if (st == LX_OK)
                st = lx_buf_putc(out, ' ');
            if (st == LX_OK)
                st = put_num(out, s->value);
            if (st == LX_OK)
                st = lx_buf_putc(out, '\n');
            continue;
        }
        uint64_t cum = 0;
        char le[40];
        for (int b = 0; st == LX_OK && b <= fa->b->n; b++) {
            cum += s->counts[b];
            snprintf(le, sizeof le, "le=\"%s\"", b < fa->b->n ? fa->b->text[b] : "+Inf");
            st = lx_buf_printf(out, "%s_bucket", fa->name);
            if (st == LX_OK)
                st = put_labels(out, s->labels, le);
            if (st == LX_OK)
                st = lx_buf_printf(out, " %llu\n", (unsigned long long)cum);
        }
        if (st == LX_OK)
            st = lx_buf_printf(out, "%s_sum", fa->name);
        if (st == LX_OK)
            st = put_labels(out, s->labels, NULL);
        if (st == LX_OK)
            st = lx_buf_putc(out, ' ');
        if (st == LX_OK)
            st = put_num(out, s->sum);
        if (st == LX_OK)
            st = lx_buf_printf(out, "\n%s_count", fa->name);
        if (st == LX_OK)
            st = put_labels(out, s->labels, NULL);
        if (st == LX_OK)
            st = lx_buf_printf(out, " %llu\n", (unsigned long long)s->count);
    }
    free(all);
    return st;
}

static int cmp_gauge(const void *a, const void *b)
{
    const gauge *x = *(gauge *const *)a, *y = *(gauge *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

static lx_status render_gauges(lx_metrics *m, lx_buf *out)
{
    if (m->n_gauges == 0)
        return LX_OK;
    gauge *sorted[LX_METRICS_MAX_GAUGES];
    for (size_t i = 0; i < m->n_gauges; i++)
        sorted[i] = &m->gauges[i];
    qsort(sorted, m->n_gauges, sizeof *sorted, cmp_gauge);
    lx_status st = LX_OK;
    for (size_t i = 0; st == LX_OK && i < m->n_gauges; i++) {
        const gauge *g = sorted[i];
        if (i == 0 || strcmp(sorted[i - 1]->name, g->name) != 0)
            st = put_help(out, g->name, g->help, g->type);
        if (st == LX_OK)
            st = lx_buf_puts(out, g->name);
        if (st == LX_OK)
            st = put_labels(out, g->labels, NULL);
        if (st == LX_OK)
            st = lx_buf_putc(out, ' ');
        if (st == LX_OK)
            st = put_num(out, g->value);
        if (st == LX_OK)
            st = lx_buf_putc(out, '\n');
    }
    return st;
}

static double resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    unsigned long size = 0, rss = 0;
    int n = fscanf(f, "%lu %lu", &size, &rss);
    fclose(f);
    return n == 2 ? (double)rss * (double)sysconf(_SC_PAGESIZE) : -1;
}

lx_status lx_metrics_render(lx_metrics *m, lx_buf *out)
{
    if (!m || !out)
        return LX_ERR_INVALID;
    double rss = resident_bytes();
    pthread_mutex_lock(&m->mu);
    lx_status st = LX_OK;
    for (int f = 0; st == LX_OK && f < F_N; f++)
        st = render_family(&m->fam[f], out);
    if (st == LX_OK)
        st = put_help(out, "llmux_inflight_requests", "Requests being served now.", "gauge");
    if (st == LX_OK)
        st = lx_buf_printf(out, "llmux_inflight_requests %lld\n",
                           (long long)atomic_load_explicit(&m->inflight, memory_order_relaxed));
    if (st == LX_OK)
        st = put_help(out, "llmux_metrics_dropped_total",
                      "Observations not recorded because a label set or series table was full.",
                      "counter");
    if (st == LX_OK)
        st = lx_buf_printf(out, "llmux_metrics_dropped_total %llu\n",
                           (unsigned long long)m->dropped);
    if (st == LX_OK)
        st = put_help(out, "process_start_time_seconds",
                      "Start time of the process since the Unix epoch in seconds.", "gauge");
    if (st == LX_OK)
        st = lx_buf_puts(out, "process_start_time_seconds ");
    if (st == LX_OK)
        st = put_num(out, floor(m->start_time));
    if (st == LX_OK)
        st = lx_buf_putc(out, '\n');
    if (st == LX_OK && rss >= 0) {
        st = put_help(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                      "gauge");
        if (st == LX_OK)
            st = lx_buf_puts(out, "process_resident_memory_bytes ");
        if (st == LX_OK)
            st = put_num(out, rss);
        if (st == LX_OK)
            st = lx_buf_putc(out, '\n');
    }
    if (st == LX_OK)
        st = render_gauges(m, out);
    pthread_mutex_unlock(&m->mu);
    return st;
}

/* ---- samples from the services ------------------------------------------ */

static void account_sample(void *ud, const char *name, const char *help, double value)
{
    size_t n = strlen(name);
    bool counter = n > 6 && strcmp(name + n - 6, "_total") == 0;
    lx_metrics_sample(ud, name, help, counter ? "counter" : "gauge", NULL, value);
}

typedef struct pair_list {
    char (*items)[256]; /* provider '\x1f' model */
    size_t n, cap;
} pair_list;

static void pair_add(pair_list *l, const char *provider, const char *model)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        void *p = realloc(l->items, cap * sizeof *l->items);
        if (!p)
            return;
        l->items = p;
        l->cap = cap;
    }
    int w = snprintf(l->items[l->n], sizeof l->items[l->n], "%s\x1f%s", provider, model);
    if (w > 0 && (size_t)w < sizeof l->items[l->n])
        l->n++;
}

void lx_metrics_collect(lx_metrics *m, const lx_services *svc)
{
    if (!m || !svc)
        return;
    if (svc->account)
        lx_account_stats_each(svc->account, account_sample, m);
    if (!svc->breakers || !svc->config)
        return;
    /* the pairs: every model the config lists, and every pair an answer
     * made known (copied under the lock; the breakers take their own) */
    pair_list l = {0};
    const lx_config *cfg = svc->config;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const lx_provider_cfg *p = &cfg->providers[i];
        for (size_t j = 0; j < p->n_models && p->name && p->models[j]; j++)
            pair_add(&l, p->name, p->models[j]);
    }
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < HASH_SLOTS; i++)
        for (known_model *k = m->models[i]; k; k = k->next) {
            const char *sep = strchr(k->key, '\x1f');
            if (!sep)
                continue;
            char prov[256];
            size_t pn = (size_t)(sep - k->key);
            if (pn >= sizeof prov)
                continue;
            memcpy(prov, k->key, pn);
            prov[pn] = '\0';
            pair_add(&l, prov, sep + 1);
        }
    pthread_mutex_unlock(&m->mu);

    int64_t now = lx_breakers_now(svc->breakers);
    lx_buf lbl;
    lx_buf_init(&lbl, 1024);
    for (size_t i = 0; i < l.n; i++) {
        char *sep = strchr(l.items[i], '\x1f');
        *sep = '\0';
        const char *prov = l.items[i], *model = sep + 1;
        lx_breaker_state st = lx_breakers_state(svc->breakers, prov, model, now);
        lx_buf_reset(&lbl);
        if (lx_buf_puts(&lbl, "provider=\"") != LX_OK || lx_metrics_escape(&lbl, prov) != LX_OK ||
            lx_buf_puts(&lbl, "\",model=\"") != LX_OK || lx_metrics_escape(&lbl, model) != LX_OK ||
            lx_buf_putc(&lbl, '"') != LX_OK)
            continue;
        /* written straight in: the family name is reserved for this */
        pthread_mutex_lock(&m->mu);
        set_breaker(m, lbl.data, (double)st);
        pthread_mutex_unlock(&m->mu);
    }
    lx_buf_free(&lbl);
    free(l.items);
}
