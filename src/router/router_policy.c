/*
 * router_policy.c — lx_route: signals -> policy -> plan.
 *
 * Order of one decision (each step appends to plan->reasons):
 *   1. privacy mode: routing.privacy, replaced by the key's `privacy:`;
 *      x-llmux-privacy may only make it stricter (off < redact <
 *      route_local < block);
 *   2. signals, each once: findings (the guard's scanner over every text),
 *      complexity, needed features, the size estimate; sticky fingerprint;
 *   3. the requested model: "auto" (or an alias of it) lets the router
 *      decide; anything else is explicit and resolved (unknown: BLOCK with
 *      NOTFOUND); the key's `models:` must allow it (else BLOCK, BLOCKED);
 *   4. rules, top to bottom, first match wins. block and redact rules apply
 *      to every request; rules that pick a target (target, local, cloud,
 *      cascade) apply to auto requests, and to explicit ones only when the
 *      rule's `when:` names `model:`;
 *   5. privacy: sensitive = findings (mode != off), or a sticky
 *      conversation under route_local; mode block refuses a sensitive
 *      request;
 *   6. the choice: explicit model, else the matching rule's target, else
 *      x-llmux-target (local | cloud | provider/model), else the defaults:
 *      escalate when complexity >= threshold, when the prompt does not fit
 *      the default target, or when it lacks a needed feature; else default;
 *   7. candidates after the choice: the local targets when the request is
 *      sensitive under route_local or the router is offline; the
 *      reliability `fallbacks:` whose `from` is the choice (spec, "local",
 *      "cloud"); the built-in other side (local choice -> escalate, remote
 *      choice -> default local);
 *   8. every candidate passes the same filter: key scope, privacy
 *      (sensitive under route_local: local only), size (prompt + requested
 *      output, else LX_ROUTE_OUTPUT_RESERVE, within the context), features,
 *      health (DOWN / UNREACHABLE out; PROBING moved after healthy ones),
 *      budget (paid targets out when cloud_over_budget); duplicates drop;
 *   9. no candidate left: BLOCK, with the reason of the choice's exclusion;
 *      else redact flags (mode redact, sensitive: remote targets redact) and
 *      the cascade flag.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router/router_int.h"

#define MAX_CANDS 32
#define MAX_REASONS 64

typedef enum {
    OUT_NONE = 0,
    OUT_KEY,
    OUT_PRIVACY,
    OUT_SIZE,
    OUT_FEATURES,
    OUT_HEALTH,
    OUT_BUDGET,
} out_why;

typedef struct cand {
    lx_tspec t;
    const lx_model_info *info;
    const char *reason;
    lx_health health;
    int64_t tokens;
    bool exact;
    out_why out;
    const char *out_reason;
} cand;

typedef struct ctx {
    const lx_router *r;
    lx_route_scratch *sc;
    const lx_route_input *in;
    const lx_request *req;
    lx_plan *plan;
    int64_t est;
    int64_t reserve;
    cand c[MAX_CANDS];
    size_t n;
    /* sizes per target looked at (the explanation lists them) */
    lx_route_tokens toks[MAX_CANDS * 2];
    int64_t lo[MAX_CANDS * 2], hi[MAX_CANDS * 2];
    bool countable[MAX_CANDS * 2];
    size_t n_toks;
    bool nomem;
} ctx;

static char *pf(ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *pf(ctx *x, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = lx_arena_strdup(x->plan->arena, buf);
    if (!s)
        x->nomem = true;
    return s;
}

static void reason(ctx *x, const char *s)
{
    lx_plan *p = x->plan;
    if (!s || p->n_reasons >= MAX_REASONS)
        return;
    if (!p->reasons) {
        p->reasons = lx_arena_calloc(p->arena, MAX_REASONS, sizeof *p->reasons);
        if (!p->reasons) {
            x->nomem = true;
            return;
        }
    }
    p->reasons[p->n_reasons++] = s;
}
#define REASON(x, ...) reason((x), pf((x), __VA_ARGS__))

static const char *spec(const lx_tspec *t, char *buf, size_t cap)
{
    return lx_tspec_str(t, buf, cap);
}

static const char *mode_name(lx_privacy_mode m)
{
    switch (m) {
    case LX_PRIVACY_ROUTE_LOCAL:
        return "route_local";
    case LX_PRIVACY_REDACT:
        return "redact";
    case LX_PRIVACY_BLOCK:
        return "block";
    case LX_PRIVACY_OFF:
        return "off";
    }
    return "?";
}

static int strictness(lx_privacy_mode m)
{
    switch (m) {
    case LX_PRIVACY_OFF:
        return 0;
    case LX_PRIVACY_REDACT:
        return 1;
    case LX_PRIVACY_ROUTE_LOCAL:
        return 2;
    case LX_PRIVACY_BLOCK:
        return 3;
    }
    return 2;
}

static bool parse_mode(const char *s, lx_privacy_mode *out)
{
    static const char *const names[] = {"route_local", "redact", "block", "off"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (lx_privacy_mode)i;
            return true;
        }
    return false;
}

/* "EMAIL, API_KEY" */
static const char *types_str(ctx *x)
{
    char buf[300];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < x->plan->n_privacy && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? ", " : "", x->plan->privacy[i]);
    if (!x->plan->n_privacy)
        snprintf(buf, sizeof buf, "data from an earlier sensitive turn");
    return pf(x, "%s", buf);
}

/* ---- signals ------------------------------------------------------------ */

static unsigned needed_features(const lx_request *req)
{
    unsigned f = 0;
    if (req->n_tools)
        f |= LX_FEAT_TOOLS;
    for (size_t i = 0; i < req->n_messages; i++)
        for (size_t j = 0; j < req->messages[i].n_parts; j++) {
            lx_part_kind k = req->messages[i].parts[j].kind;
            if (k == LX_PART_IMAGE)
                f |= LX_FEAT_VISION;
            else if (k == LX_PART_TOOL_CALL || k == LX_PART_TOOL_RESULT)
                f |= LX_FEAT_TOOLS;
        }
    if (req->format.kind != LX_FORMAT_TEXT)
        f |= LX_FEAT_JSON;
    if (req->thinking_budget > 0)
        f |= LX_FEAT_REASONING;
    return f;
}

/* Features a target has: the catalogue's when it knows the model; the
 * embedded engine without a catalogue entry has none (it renders no
 * images, emits no structured tool calls and has no JSON mode); any other
 * unknown model is assumed capable. *assumed says the last case. */
static unsigned target_features(const lx_tspec *t, const lx_model_info *info, bool *assumed)
{
    *assumed = false;
    if (info)
        return info->features;
    if (t->p->type == LX_PROV_LOCAL)
        return 0;
    *assumed = true;
    return ~0u;
}

static const char *feature_list(ctx *x, unsigned f)
{
    char buf[120];
    size_t o = 0;
    buf[0] = '\0';
    for (unsigned b = 1; lx_feature_name(b); b <<= 1)
        if ((f & b) && o < sizeof buf)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", o ? ", " : "",
                                  lx_feature_name(b));
    return pf(x, "%s", buf);
}

static bool key_allows(const lx_key_cfg *k, const lx_tspec *t, const char *asked)
{
    if (!k || !k->models)
        return true;
    for (size_t i = 0; i < k->n_models; i++) {
        const char *m = k->models[i];
        size_t n = strlen(m);
        if (asked && !strcmp(m, asked))
            return true;
        if (!t || !t->p)
            continue;
        if (!strcmp(m, "local") && t->p->local)
            return true;
        if (!strcmp(m, "cloud") && !t->p->local)
            return true;
        size_t pn = strlen(t->p->name);
        if (n == pn + 2 && !strncmp(m, t->p->name, pn) && !strcmp(m + pn, "/*"))
            return true;
        if (n > pn && m[pn] == '/' && !strncmp(m, t->p->name, pn) && !strcmp(m + pn + 1, t->model))
            return true;
        if (!strchr(m, '/') && !strcmp(m, t->model))
            return true;
    }
    return false;
}

static bool key_allows_auto(const lx_key_cfg *k)
{
    if (!k || !k->models)
        return true;
    for (size_t i = 0; i < k->n_models; i++)
        if (!strcmp(k->models[i], "auto"))
            return true;
    return false;
}

/* The size memo: one entry per target looked at; upgraded to an exact count
 * when a decision needs it. */
static lx_route_tokens *size_of(ctx *x, const lx_tspec *t, bool exact)
{
    lx_route_tokens *e = NULL;
    for (size_t i = 0; i < x->n_toks && !e; i++)
        if (x->toks[i].provider == t->p && !strcmp(x->toks[i].model, t->model))
            e = &x->toks[i];
    if (e && (e->exact || !exact || !x->countable[e - x->toks]))
        return e;
    exact = exact || x->in->exact_tokens;
    lx_tok_size ts;
    lx_router_size(x->r, x->sc, x->req, t, x->est, exact, &ts);
    if (!e) {
        if (x->n_toks == MAX_CANDS * 2) {
            x->nomem = true;
            return NULL;
        }
        e = &x->toks[x->n_toks];
        const lx_model_info *info = lx_catalogue_find(x->r->cfg, t->model);
        *e = (lx_route_tokens){
            .provider = t->p, .model = t->model, .context = lx_router_context(x->r, t, info)};
        x->n_toks++;
    }
    e->count = ts.count;
    e->exact = ts.exact;
    x->lo[e - x->toks] = ts.lo;
    x->hi[e - x->toks] = ts.hi;
    x->countable[e - x->toks] = ts.countable;
    return e;
}

/* Is the prompt for t above `limit` tokens? Settled by bounds when they
 * can, else by an exact count. */
static bool tokens_above(ctx *x, const lx_tspec *t, int64_t limit)
{
    lx_route_tokens *e = size_of(x, t, false);
    if (!e)
        return false;
    size_t i = (size_t)(e - x->toks);
    if (!e->exact && x->countable[i]) {
        if (x->lo[i] > limit)
            return true;
        if (x->hi[i] <= limit)
            return false;
        e = size_of(x, t, true);
    }
    return e->count > limit;
}

/* Can t take the request by size and features? NULL when yes, else why. */
static const char *fit(ctx *x, const lx_tspec *t, out_why *why)
{
    char s[200];
    lx_route_tokens *sz = size_of(x, t, false);
    if (!sz)
        return NULL;
    int64_t ctxw = sz->context;
    const lx_model_info *info = lx_catalogue_find(x->r->cfg, t->model);
    lx_plan *p = x->plan;
    bool over = ctxw > 0 && tokens_above(x, t, ctxw - x->reserve);
    sz = size_of(x, t, over); /* a refusal quotes the exact count */
    int64_t n = sz->count;
    bool exact = sz->exact;
    if (over) {
        *why = OUT_SIZE;
        if (p->max_output > 0)
            return pf(x,
                      "%s cannot take it: %lld prompt tokens%s + %lld requested output exceed "
                      "its %lld-token context",
                      spec(t, s, sizeof s), (long long)n, exact ? "" : " (estimated)",
                      (long long)x->reserve, (long long)ctxw);
        return pf(x,
                  "%s cannot take it: %lld prompt tokens%s + %lld reserved for the answer "
                  "exceed its %lld-token context",
                  spec(t, s, sizeof s), (long long)n, exact ? "" : " (estimated)",
                  (long long)x->reserve, (long long)ctxw);
    }
    if (x->req->num_ctx > 0 && ctxw > 0 && x->req->num_ctx > ctxw) {
        *why = OUT_SIZE;
        return pf(x, "%s cannot take it: the request asks for a %lld-token context, it has %lld",
                  spec(t, s, sizeof s), (long long)x->req->num_ctx, (long long)ctxw);
    }
    bool assumed;
    unsigned have = target_features(t, info, &assumed);
    unsigned lack = p->features & ~have;
    if (lack) {
        *why = OUT_FEATURES;
        return pf(x, "%s cannot take it: the request needs %s, which it lacks%s",
                  spec(t, s, sizeof s), feature_list(x, lack), info ? "" : " (embedded engine)");
    }
    *why = OUT_NONE;
    return NULL;
}

/* ---- candidates --------------------------------------------------------- */

static void add(ctx *x, const lx_tspec *t, const char *why)
{
    if (!t->p || x->n >= MAX_CANDS)
        return;
    for (size_t i = 0; i < x->n; i++)
        if (x->c[i].t.p == t->p && !strcmp(x->c[i].t.model, t->model))
            return; /* duplicate: the first mention stays */
    x->c[x->n++] = (cand){.t = *t, .reason = why};
}

static void add_spec(ctx *x, const char *s, const char *why)
{
    lx_tspec t;
    bool autos;
    lx_error e;
    if (lx_router_resolve(x->r, s, &t, &autos, &e) != LX_OK || autos) {
        REASON(x, "fallback '%s' skipped: %s", s, autos ? "auto is not a target" : e.message);
        return;
    }
    add(x, &t, why);
}

/* Every local target: the default first, then each local provider's
 * models. */
static void add_locals(ctx *x, const char *why)
{
    const lx_config *c = x->r->cfg;
    if (x->r->def.p && x->r->def.p->local)
        add(x, &x->r->def, why);
    for (size_t i = 0; i < c->n_providers; i++) {
        const lx_provider_cfg *p = &c->providers[i];
        if (!p->local)
            continue;
        for (size_t j = 0; j < p->n_models; j++) {
            lx_tspec t = {p, p->models[j]};
            add(x, &t, why);
        }
    }
}

/* Does a fallbacks `from` name the choice? "local", "cloud",
 * "<provider>/auto" or "<provider>/<star>" (any model of it), or a spec or alias
 * that resolves to it. */
static bool from_matches(ctx *x, const char *from, const lx_tspec *t)
{
    if (!strcmp(from, "local"))
        return t->p->local;
    if (!strcmp(from, "cloud"))
        return !t->p->local;
    size_t pn = strlen(t->p->name);
    if (!strncmp(from, t->p->name, pn) && from[pn] == '/') {
        const char *m = from + pn + 1;
        if (!strcmp(m, t->model) || !strcmp(m, "*") || !strcmp(m, "auto"))
            return true;
    }
    lx_tspec r;
    bool autos;
    if (lx_router_resolve(x->r, from, &r, &autos, NULL) == LX_OK && !autos)
        return r.p == t->p && !strcmp(r.model, t->model);
    return false;
}

/* ---- rules -------------------------------------------------------------- */

static bool has_type(const lx_plan *p, const char *t)
{
    if (!strcmp(t, "any"))
        return p->n_privacy > 0;
    for (size_t i = 0; i < p->n_privacy; i++)
        if (!strcmp(p->privacy[i], t))
            return true;
    return false;
}

static bool rule_matches(ctx *x, const lx_route_rule *rr, bool explicit_model,
                         const char *asked_spec)
{
    const lx_plan *p = x->plan;
    const lx_route_input *in = x->in;
    if (rr->n_privacy) {
        bool any = false;
        for (size_t i = 0; i < rr->n_privacy && !any; i++)
            any = has_type(p, rr->privacy[i]);
        if (!any)
            return false;
    }
    if (rr->n_tasks) {
        bool any = false;
        for (size_t i = 0; i < rr->n_tasks && !any; i++)
            any = p->complexity.task && !strcmp(p->complexity.task, rr->tasks[i]);
        if (!any)
            return false;
    }
    if (rr->header) {
        const char *v = lx_header_get(in->headers, in->n_headers, rr->header);
        if (!v || (rr->equals && strcmp(v, rr->equals)))
            return false;
    }
    if (rr->has_complexity_above && !(p->complexity.score > rr->complexity_above))
        return false;
    if (rr->has_complexity_below && !(p->complexity.score < rr->complexity_below))
        return false;
    if (rr->tokens_above || rr->tokens_below) {
        const lx_tspec *d = &x->r->def;
        if (rr->tokens_above &&
            !(d->p ? tokens_above(x, d, rr->tokens_above) : x->est > rr->tokens_above))
            return false;
        if (rr->tokens_below &&
            (d->p ? tokens_above(x, d, rr->tokens_below - 1) : x->est >= rr->tokens_below))
            return false;
    }
    if (rr->features && (p->features & rr->features) != rr->features)
        return false;
    if (rr->model) {
        const char *asked = x->req->model && *x->req->model ? x->req->model : "";
        bool ok = !strcmp(rr->model, asked) || (asked_spec && !strcmp(rr->model, asked_spec));
        if (!ok && !strcmp(rr->model, "auto"))
            ok = !explicit_model;
        if (!ok)
            return false;
    }
    if (rr->key && (!in->key || !in->key->id || strcmp(in->key->id, rr->key)))
        return false;
    return true;
}

/* "task planning, privacy API_KEY": what a matching rule tested. */
static const char *rule_conditions(ctx *x, const lx_route_rule *rr)
{
    char b[400];
    size_t o = 0;
    const lx_plan *p = x->plan;
    b[0] = '\0';
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (o < sizeof b)                                                                          \
            o += (size_t)snprintf(b + o, sizeof b - o, __VA_ARGS__);                               \
    } while (0)
    if (rr->n_privacy)
        ADD("%sprivacy %s", o ? ", " : "", types_str(x));
    if (rr->n_tasks)
        ADD("%stask %s", o ? ", " : "", p->complexity.task);
    if (rr->header)
        ADD("%sheader %s%s%s", o ? ", " : "", rr->header, rr->equals ? ": " : " present",
            rr->equals ? rr->equals : "");
    if (rr->has_complexity_above)
        ADD("%scomplexity %.2f > %.2f", o ? ", " : "", p->complexity.score, rr->complexity_above);
    if (rr->has_complexity_below)
        ADD("%scomplexity %.2f < %.2f", o ? ", " : "", p->complexity.score, rr->complexity_below);
    if (rr->tokens_above)
        ADD("%stokens > %lld", o ? ", " : "", (long long)rr->tokens_above);
    if (rr->tokens_below)
        ADD("%stokens < %lld", o ? ", " : "", (long long)rr->tokens_below);
    if (rr->features)
        ADD("%sneeds %s", o ? ", " : "", feature_list(x, rr->features));
    if (rr->model)
        ADD("%smodel %s", o ? ", " : "", rr->model);
    if (rr->key)
        ADD("%skey %s", o ? ", " : "", rr->key);
    if (!o)
        ADD("no condition");
#undef ADD
    return pf(x, "%s", b);
}

/* ---- the decision ------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void set_block(ctx *x, lx_status code, const char *msg)
{
    lx_plan *p = x->plan;
    p->action = LX_ACTION_BLOCK;
    lx_fail(&p->block, code, "%s", msg);
    reason(x, pf(x, "blocked: %s", msg));
}

static void privacy_types(ctx *x)
{
    lx_plan *p = x->plan;
    size_t n = p->findings.n;
    if (!n)
        return;
    p->privacy = lx_arena_calloc(p->arena, n, sizeof *p->privacy);
    if (!p->privacy) {
        x->nomem = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *t = p->findings.items[i].type;
        bool seen = false;
        for (size_t j = 0; j < p->n_privacy && !seen; j++)
            seen = !strcmp(p->privacy[j], t);
        if (!seen)
            p->privacy[p->n_privacy++] = t;
    }
}

static void filter(ctx *x, cand *c)
{
    char s[200];
    lx_plan *p = x->plan;
    const lx_route_input *in = x->in;
    c->info = lx_catalogue_find(x->r->cfg, c->t.model);
    lx_route_tokens *sz0 = size_of(x, &c->t, false); /* listed in the explanation */
    if (sz0) {
        c->tokens = sz0->count;
        c->exact = sz0->exact;
    }
    if (!key_allows(in->key, &c->t, NULL)) {
        c->out = OUT_KEY;
        c->out_reason = pf(x, "key '%s' may not use %s", in->key->id ? in->key->id : "?",
                           spec(&c->t, s, sizeof s));
        return;
    }
    if (p->sensitive && p->privacy_mode == LX_PRIVACY_ROUTE_LOCAL && !c->t.p->local) {
        c->out = OUT_PRIVACY;
        c->out_reason = pf(x, "%s is remote and the request contains %s (privacy route_local)",
                           spec(&c->t, s, sizeof s), types_str(x));
        return;
    }
    if (p->offline && !c->t.p->local) {
        c->out = OUT_HEALTH;
        c->out_reason = pf(x, "%s is remote and every remote provider is unreachable (offline)",
                           spec(&c->t, s, sizeof s));
        return;
    }
    out_why w;
    const char *why = fit(x, &c->t, &w);
    lx_route_tokens *sz = size_of(x, &c->t, false);
    if (sz) {
        c->tokens = sz->count;
        c->exact = sz->exact;
    }
    if (why) {
        c->out = w;
        c->out_reason = why;
        return;
    }
    c->health = in->health ? in->health(in->health_ud, c->t.p, c->t.model) : LX_HEALTH_OK;
    if (c->health == LX_HEALTH_DOWN || c->health == LX_HEALTH_UNREACHABLE) {
        c->out = OUT_HEALTH;
        c->out_reason =
            pf(x, "%s is %s", spec(&c->t, s, sizeof s),
               c->health == LX_HEALTH_DOWN ? "down (circuit breaker open)" : "unreachable");
        return;
    }
    if (in->cloud_over_budget) {
        bool paid =
            c->info ? (c->info->price_input > 0 || c->info->price_output > 0) : !c->t.p->local;
        if (paid) {
            c->out = OUT_BUDGET;
            c->out_reason = pf(x, "%s costs money and the budget is used up%s",
                               spec(&c->t, s, sizeof s), c->info ? "" : " (price unknown)");
            return;
        }
    }
}

static lx_status block_status(out_why w)
{
    switch (w) {
    case OUT_KEY:
    case OUT_PRIVACY:
        return LX_ERR_BLOCKED;
    case OUT_SIZE:
        return LX_ERR_TOOBIG;
    case OUT_FEATURES:
        return LX_ERR_UNSUPPORTED;
    case OUT_BUDGET:
        return LX_ERR_LIMIT;
    default:
        return LX_ERR_UNAVAILABLE;
    }
}

static void finish_json_tokens(ctx *x)
{
    if (!x->n_toks)
        return;
    x->plan->tokens = lx_arena_calloc(x->plan->arena, x->n_toks, sizeof *x->plan->tokens);
    if (!x->plan->tokens) {
        x->nomem = true;
        return;
    }
    memcpy(x->plan->tokens, x->toks, x->n_toks * sizeof *x->toks);
    x->plan->n_tokens = x->n_toks;
}

/* One printable ASCII line for x-llmux-reason. */
static const char *one_line(ctx *x, const char *s)
{
    if (!s)
        return "";
    size_t n = strlen(s);
    if (n > 300)
        n = 300;
    char *o = lx_arena_alloc(x->plan->arena, n + 1);
    if (!o) {
        x->nomem = true;
        return "";
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        o[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    o[n] = '\0';
    return o;
}

static lx_status decide(ctx *x)
{
    const lx_router *r = x->r;
    const lx_config *cfg = r->cfg;
    const lx_routing_cfg *rc = &cfg->routing;
    const lx_route_input *in = x->in;
    const lx_request *req = x->req;
    lx_plan *p = x->plan;
    char s[200], s2[200];
    lx_error e;

    /* 1. privacy mode */
    lx_privacy_mode mode = rc->privacy;
    if (in->key && in->key->has_privacy && in->key->privacy != mode) {
        mode = in->key->privacy;
        REASON(x, "privacy mode %s from key '%s'", mode_name(mode),
               in->key->id ? in->key->id : "?");
    }

    /* 2. signals */
    lx_status st = lx_scan_request(r->scanner, x->sc->scan, req, &p->findings, &e);
    if (st != LX_OK)
        return st;
    privacy_types(x);
    if (lx_complexity_of_request(req, &p->complexity) != LX_OK && !p->complexity.task)
        lx_complexity_score(NULL, 0, &p->complexity);
    p->features = needed_features(req);
    p->max_output = req->sampling.max_tokens > 0 ? req->sampling.max_tokens : 0;
    x->reserve = p->max_output ? p->max_output : LX_ROUTE_OUTPUT_RESERVE;
    x->est = lx_router_estimate(req);
    uint64_t fp = rc->sticky ? lx_router_fingerprint(req) : 0;
    bool sticky_hit = fp && lx_router_sticky_has(r, fp);

    /* 3. the requested model */
    const char *asked = req->model && *req->model ? req->model : NULL;
    lx_tspec asked_t = {0};
    bool autos = false;
    char asked_spec[200] = "";
    if (!asked) {
        asked = cfg->default_model;
        if (!asked) {
            set_block(x, LX_ERR_NOTFOUND, "no model requested and no default_model configured");
            return LX_OK;
        }
    }
    if (lx_router_resolve(r, asked, &asked_t, &autos, &e) != LX_OK) {
        set_block(x, e.code == LX_ERR_INVALID ? LX_ERR_INVALID : LX_ERR_NOTFOUND, e.message);
        return LX_OK;
    }
    p->explicit_model = !autos;
    if (autos) {
        REASON(x, "model '%s': the router decides", asked);
        if (!key_allows_auto(in->key)) {
            set_block(x, LX_ERR_BLOCKED,
                      pf(x, "key '%s' may not use auto routing (its models: list has no 'auto')",
                         in->key->id ? in->key->id : "?"));
            return LX_OK;
        }
    } else {
        spec(&asked_t, asked_spec, sizeof asked_spec);
        if (!key_allows(in->key, &asked_t, asked)) {
            set_block(
                x, LX_ERR_BLOCKED,
                pf(x, "key '%s' may not use %s", in->key->id ? in->key->id : "?", asked_spec));
            return LX_OK;
        }
    }

    /* 4. rules */
    const lx_route_rule *hit = NULL;
    size_t hit_i = 0;
    for (size_t i = 0; i < rc->n_rules && !hit; i++) {
        const lx_route_rule *rr = &rc->rules[i];
        bool picks = rr->action != LX_RULE_BLOCK && rr->action != LX_RULE_REDACT;
        if (picks && p->explicit_model && !rr->model)
            continue;
        if (rule_matches(x, rr, p->explicit_model, asked_spec[0] ? asked_spec : NULL)) {
            hit = rr;
            hit_i = i;
        }
    }
    const char *rule_why = NULL;
    if (hit) {
        static const char *const acts[] = {"target", "block", "redact",
                                           "local",  "cloud", "cascade"};
        p->rule = pf(x, "rules[%zu] at line %d", hit_i, hit->line);
        const char *conds = rule_conditions(x, hit);
        rule_why = hit->reason ? pf(x, "%s (%s): %s", p->rule, conds, hit->reason)
                               : pf(x, "%s (%s): %s%s%s", p->rule, conds, acts[hit->action],
                                    hit->target ? " " : "", hit->target ? hit->target : "");
        reason(x, rule_why);
        if (hit->action == LX_RULE_BLOCK) {
            p->sensitive = mode != LX_PRIVACY_OFF && p->n_privacy > 0;
            set_block(x, LX_ERR_BLOCKED,
                      pf(x, "refused by routing %s (%s)%s%s", p->rule, conds,
                         hit->reason ? ": " : "", hit->reason ? hit->reason : ""));
            return LX_OK;
        }
        if (hit->action == LX_RULE_REDACT && mode != LX_PRIVACY_BLOCK) {
            mode = LX_PRIVACY_REDACT;
            REASON(x, "privacy mode redact from %s", p->rule);
        }
    }
    const char *hv = lx_header_get(in->headers, in->n_headers, "x-llmux-privacy");
    if (hv) {
        lx_privacy_mode hm;
        if (!parse_mode(hv, &hm))
            REASON(x, "header x-llmux-privacy '%.40s' ignored (route_local, redact, block)", hv);
        else if (strictness(hm) > strictness(mode)) {
            mode = hm;
            REASON(x, "privacy mode %s from header x-llmux-privacy", mode_name(mode));
        } else if (hm != mode)
            REASON(x,
                   "header x-llmux-privacy %s ignored: a header can only make privacy stricter "
                   "than %s",
                   hv, mode_name(mode));
    }
    p->privacy_mode = mode;

    /* 5. privacy */
    p->sensitive = mode != LX_PRIVACY_OFF && p->n_privacy > 0;
    if (sticky_hit && mode == LX_PRIVACY_ROUTE_LOCAL) {
        p->sticky = true;
        if (!p->sensitive)
            REASON(x, "sticky: an earlier turn of this conversation was sensitive; it stays local");
        p->sensitive = true;
    }
    if (p->n_privacy)
        REASON(x, "privacy: request contains %s (mode %s)", types_str(x), mode_name(mode));
    else if (!p->sticky)
        REASON(x, "privacy: no findings");
    if (p->sensitive && mode == LX_PRIVACY_BLOCK) {
        set_block(x, LX_ERR_BLOCKED,
                  pf(x, "request contains %s; privacy mode block refuses it", types_str(x)));
        return LX_OK;
    }
    bool keep_local = p->sensitive && mode == LX_PRIVACY_ROUTE_LOCAL;

    /* offline */
    size_t n_remote = 0, n_unreach = 0;
    for (size_t i = 0; in->health && i < cfg->n_providers; i++)
        if (!cfg->providers[i].local) {
            n_remote++;
            n_unreach +=
                in->health(in->health_ud, &cfg->providers[i], NULL) == LX_HEALTH_UNREACHABLE;
        }
    p->offline = n_remote > 0 && n_unreach == n_remote;
    if (p->offline)
        REASON(x, "offline: every remote provider is unreachable");

    /* 6. the choice */
    bool cascade_rule = false;
    const char *th = lx_header_get(in->headers, in->n_headers, "x-llmux-target");
    if (hit && hit->action != LX_RULE_REDACT) {
        const char *tspec = hit->target;
        if (!tspec)
            tspec = hit->action == LX_RULE_CLOUD ? "cloud" : "local";
        cascade_rule = hit->action == LX_RULE_CASCADE;
        lx_tspec t;
        bool a2;
        if (lx_router_resolve(r, tspec, &t, &a2, &e) != LX_OK || a2) {
            set_block(x, LX_ERR_NOTFOUND,
                      pf(x, "%s: target '%s' does not resolve: %s", p->rule, tspec,
                         a2 ? "auto" : e.message));
            return LX_OK;
        }
        add(x, &t, rule_why);
    } else if (p->explicit_model) {
        add(x, &asked_t, pf(x, "requested model %s", asked_spec));
    } else if (th) {
        lx_tspec t;
        bool a2;
        if (lx_router_resolve(r, th, &t, &a2, &e) != LX_OK || a2)
            REASON(x, "header x-llmux-target '%.60s' ignored: %s", th,
                   a2 ? "auto is the default" : e.message);
        else
            add(x, &t, pf(x, "header x-llmux-target: %.60s", th));
    }
    if (x->n == 0) {
        /* the defaults */
        const lx_tspec *def = &r->def, *esc = &r->esc;
        double thr = rc->complexity_threshold;
        if (!def->p && !esc->p) {
            set_block(x, LX_ERR_NOTFOUND, "no target: " LX_CONFIG_NO_PROVIDERS);
            return LX_OK;
        }
        out_why w = OUT_NONE;
        const char *why = def->p ? fit(x, def, &w) : "no default target";
        bool same = def->p == esc->p && def->model && esc->model && !strcmp(def->model, esc->model);
        if (p->complexity.score >= thr && esc->p && !same) {
            add(x, esc,
                pf(x, "complexity %.2f >= %.2f (%s): escalate to %s", p->complexity.score, thr,
                   p->complexity.task, spec(esc, s, sizeof s)));
        } else if (why && esc->p && !same) {
            add(x, esc, pf(x, "%s; escalate to %s", why, spec(esc, s, sizeof s)));
        } else if (def->p) {
            add(x, def,
                pf(x, "complexity %.2f < %.2f (%s): default target %s", p->complexity.score, thr,
                   p->complexity.task, spec(def, s, sizeof s)));
        } else {
            add(x, esc, pf(x, "no default target: escalate to %s", spec(esc, s, sizeof s)));
        }
    }
    if (x->n == 0) {
        set_block(x, LX_ERR_NOTFOUND, "no target");
        return LX_OK;
    }
    lx_tspec choice = x->c[0].t;
    REASON(x, "choice: %s", x->c[0].reason);

    /* 7. candidates after the choice */
    if (keep_local)
        add_locals(x, pf(x, "local: privacy route_local keeps %s on this machine", types_str(x)));
    if (p->offline)
        add_locals(x, "local: offline");
    for (size_t i = 0; i < cfg->reliability.n_fallbacks; i++) {
        const lx_fallback *f = &cfg->reliability.fallbacks[i];
        if (!f->from || !from_matches(x, f->from, &choice))
            continue;
        for (size_t j = 0; j < f->n_to; j++)
            add_spec(x, f->to[j], pf(x, "fallback of %s (reliability.fallbacks)", f->from));
    }
    if (choice.p->local) {
        if (keep_local)
            REASON(x, "no cloud fallback: privacy route_local");
        else if (r->esc.p)
            add(x, &r->esc, pf(x, "fallback: escalate target %s", spec(&r->esc, s, sizeof s)));
    } else {
        if (r->def.p && r->def.p->local)
            add(x, &r->def, pf(x, "fallback: local default %s", spec(&r->def, s, sizeof s)));
        else
            add_locals(x, "fallback: local");
    }

    /* 8. filter */
    lx_target *tg = lx_arena_calloc(p->arena, x->n, sizeof *tg);
    if (!tg)
        return LX_ERR_NOMEM;
    size_t nt = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < x->n; i++) {
            cand *c = &x->c[i];
            if (pass == 0) {
                filter(x, c);
                if (c->out) {
                    REASON(x, "left out: %s", c->out_reason);
                    continue;
                }
            }
            if (c->out || (pass == 0) != (c->health != LX_HEALTH_PROBING))
                continue;
            if (pass == 1)
                REASON(x, "%s is being probed (breaker half-open): tried after healthy targets",
                       spec(&c->t, s, sizeof s));
            tg[nt++] = (lx_target){.provider = c->t.p,
                                   .model = c->t.model,
                                   .info = c->info,
                                   .local = c->t.p->local,
                                   .reason = c->reason,
                                   .prompt_tokens = c->tokens,
                                   .tokens_exact = c->exact};
        }
    p->targets = tg;
    p->n_targets = nt;

    /* 9. result */
    if (nt == 0) {
        const cand *c0 = &x->c[0];
        if (keep_local) {
            /* the local candidate's exclusion explains it */
            const cand *lc = NULL;
            for (size_t i = 0; i < x->n && !lc; i++)
                if (x->c[i].t.p->local)
                    lc = &x->c[i];
            const char *why = lc ? lc->out_reason : "no local target is configured";
            set_block(x, LX_ERR_BLOCKED,
                      pf(x, "request contains %s; privacy mode route_local keeps it local, but %s",
                         types_str(x), why));
        } else {
            set_block(x, block_status(c0->out),
                      pf(x, "no target can take the request: %s", c0->out_reason));
        }
        return LX_OK;
    }
    bool redact = p->sensitive && mode == LX_PRIVACY_REDACT;
    for (size_t i = 0; i < nt && redact; i++)
        tg[i].redact = !tg[i].local;
    p->action = tg[0].redact ? LX_ACTION_REDACT : LX_ACTION_SEND;
    if (redact && tg[0].redact)
        REASON(x, "redact: %s leaves as placeholders", types_str(x));
    bool want_cascade = cascade_rule || (rc->cascade && !p->explicit_model);
    if (want_cascade) {
        bool remote_after = false;
        for (size_t i = 1; i < nt; i++)
            remote_after |= !tg[i].local;
        if (!tg[0].local)
            ; /* nothing to draft locally */
        else if (!remote_after)
            REASON(x, "no cascade: no remote target follows");
        else if (keep_local)
            REASON(x, "no cascade: privacy route_local");
        else if (in->no_cascade)
            REASON(x, "no cascade: the caller cannot wait for validation");
        else {
            p->cascade = true;
            REASON(x, "cascade: %s drafts, the answer is validated, else escalates",
                   spec(&(lx_tspec){tg[0].provider, tg[0].model}, s2, sizeof s2));
        }
    }
    if (p->sensitive && rc->sticky && p->n_privacy)
        lx_router_sticky_add(r, fp);
    return LX_OK;
}

lx_status lx_route(const lx_router *r, lx_route_scratch *sc, const lx_route_input *in,
                   lx_plan **out, lx_error *err)
{
    int64_t t0 = now_ns();
    *out = NULL;
    if (!r || !sc || !in || !in->req)
        return lx_fail(err, LX_ERR_INVALID, "lx_route: missing router, scratch or request");
    lx_plan *p = calloc(1, sizeof *p);
    ctx *x = calloc(1, sizeof *x);
    if (!p || !x || !(p->arena = lx_arena_new())) {
        free(x);
        free(p);
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    }
    x->r = r;
    x->sc = sc;
    x->in = in;
    x->req = in->req;
    x->plan = p;
    lx_error_clear(&p->block);
    lx_status st = decide(x);
    if (st == LX_OK)
        finish_json_tokens(x);
    if (st == LX_OK && x->nomem)
        st = LX_ERR_NOMEM;
    if (st != LX_OK) {
        if (st == LX_ERR_NOMEM)
            lx_fail(err, st, "out of memory");
        else
            lx_fail(err, st, "routing failed: %s", lx_status_name(st));
        free(x);
        lx_plan_free(p);
        return st;
    }
    if (p->action == LX_ACTION_BLOCK)
        p->reason_line = one_line(x, p->block.message);
    else
        p->reason_line = one_line(x, p->targets[0].reason);
    free(x);
    p->route_ns = now_ns() - t0;
    *out = p;
    return LX_OK;
}

void lx_plan_free(lx_plan *p)
{
    if (!p)
        return;
    lx_findings_free(&p->findings);
    lx_arena_free(p->arena);
    free(p);
}
