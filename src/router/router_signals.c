/*
 * router_signals.c — the parts of one routing decision (router_policy.c
 * runs the steps): the reasons list, needed and offered features, key
 * scope, sizes (bounds first, exact counts when a question needs them),
 * candidates, fallback matching, rule conditions, and the filter every
 * candidate passes. Shared state: router_policy_int.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/router_policy_int.h"

#define PF_CAP 600 /* a reason is cut to PF_CAP - 1 bytes, as snprintf would */

/* Formats with only plain %s conversions (most reasons) are joined by hand
 * into the arena, cut exactly where vsnprintf into a PF_CAP buffer would cut
 * (a NULL string prints as glibc's "(null)"); any other conversion goes
 * through vsnprintf. */
static bool plain_s_only(const char *fmt, size_t *n_args)
{
    size_t n = 0;
    for (const char *f = strchr(fmt, '%'); f; f = strchr(f + 2, '%')) {
        if (f[1] != 's')
            return false;
        n++;
    }
    *n_args = n;
    return true;
}

char *lx_rp_pf(ctx *x, const char *fmt, ...)
{
    enum { MAX_ARGS = 8 };
    const char *arg[MAX_ARGS];
    size_t n_args, len = 0;
    char *s;
    if (plain_s_only(fmt, &n_args) && n_args <= MAX_ARGS) {
        va_list ap;
        va_start(ap, fmt);
        for (size_t i = 0; i < n_args; i++) {
            arg[i] = va_arg(ap, const char *);
            if (!arg[i])
                arg[i] = "(null)";
        }
        va_end(ap);
        /* pieces: literal, arg, literal, arg, ..., literal */
        size_t n_lit[MAX_ARGS + 1], n_arg[MAX_ARGS];
        const char *f = fmt;
        for (size_t i = 0; i <= n_args; i++) {
            const char *pc = i < n_args ? strchr(f, '%') : f + strlen(f);
            n_lit[i] = (size_t)(pc - f);
            len += n_lit[i];
            if (i < n_args) {
                n_arg[i] = strlen(arg[i]);
                len += n_arg[i];
            }
            if (i < n_args)
                f = pc + 2;
        }
        if (len > PF_CAP - 1)
            len = PF_CAP - 1;
        s = lx_arena_alloc(x->plan->arena, len + 1);
        if (!s) {
            x->nomem = true;
            return NULL;
        }
        size_t o = 0;
        f = fmt;
        for (size_t i = 0; i <= n_args && o < len; i++) {
            size_t k = n_lit[i] < len - o ? n_lit[i] : len - o;
            memcpy(s + o, f, k);
            o += k;
            if (i < n_args) {
                k = n_arg[i] < len - o ? n_arg[i] : len - o;
                memcpy(s + o, arg[i], k);
                o += k;
                f += n_lit[i] + 2;
            }
        }
        s[len] = '\0';
        return s;
    }
    char buf[PF_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s = lx_arena_strdup(x->plan->arena, buf);
    if (!s)
        x->nomem = true;
    return s;
}

void lx_rp_reason(ctx *x, const char *s)
{
    lx_plan *p = x->plan;
    if (!s || p->n_reasons >= MAX_REASONS)
        return;
    if (p->n_reasons == x->reasons_cap) {
        /* 8, then doubling up to MAX_REASONS: a plain decision has 3-6, and
         * a 64-pointer array would overflow the arena's first block */
        size_t cap = x->reasons_cap ? x->reasons_cap * 2 : 8;
        if (cap > MAX_REASONS)
            cap = MAX_REASONS;
        const char **rs = lx_arena_calloc(p->arena, cap, sizeof *rs);
        if (!rs) {
            x->nomem = true;
            return;
        }
        if (p->n_reasons)
            memcpy(rs, p->reasons, p->n_reasons * sizeof *rs);
        p->reasons = rs;
        x->reasons_cap = cap;
    }
    p->reasons[p->n_reasons++] = s;
}

const char *lx_rp_spec(const lx_tspec *t, char *buf, size_t cap)
{
    return lx_tspec_str(t, buf, cap);
}

const char *lx_rp_mode_name(lx_privacy_mode m)
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

/* "EMAIL, API_KEY" */
const char *lx_rp_types_str(ctx *x)
{
    if (!x->plan->n_privacy)
        return lx_rp_pf(x, "data from an earlier sensitive turn");
    char buf[300]; /* cut at 299 bytes */
    size_t o = 0;
    for (size_t i = 0; i < x->plan->n_privacy && o < sizeof buf - 1; i++) {
        const char *t = x->plan->privacy[i];
        for (const char *q = i ? ", " : ""; *q && o < sizeof buf - 1; q++)
            buf[o++] = *q;
        size_t k = strlen(t);
        if (k > sizeof buf - 1 - o)
            k = sizeof buf - 1 - o;
        memcpy(buf + o, t, k);
        o += k;
    }
    buf[o] = '\0';
    return lx_rp_pf(x, "%s", buf);
}

/* ---- signals ------------------------------------------------------------ */

unsigned lx_rp_needed_features(const lx_request *req)
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
    return lx_rp_pf(x, "%s", buf);
}

bool lx_rp_key_allows(const lx_key_cfg *k, const lx_tspec *t, const char *asked)
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

bool lx_rp_key_allows_auto(const lx_key_cfg *k)
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
        x->info[x->n_toks] = info;
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
const char *lx_rp_fit(ctx *x, const lx_tspec *t, out_why *why)
{
    char s[200];
    lx_route_tokens *sz = size_of(x, t, false);
    if (!sz)
        return NULL;
    int64_t ctxw = sz->context;
    const lx_model_info *info = x->info[sz - x->toks];
    lx_plan *p = x->plan;
    bool over = ctxw > 0 && tokens_above(x, t, ctxw - x->reserve);
    sz = size_of(x, t, over); /* a refusal quotes the exact count */
    int64_t n = sz->count;
    bool exact = sz->exact;
    if (over) {
        *why = OUT_SIZE;
        if (p->max_output > 0)
            return lx_rp_pf(
                x,
                "%s cannot take it: %lld prompt tokens%s + %lld requested output exceed "
                "its %lld-token context",
                lx_rp_spec(t, s, sizeof s), (long long)n, exact ? "" : " (estimated)",
                (long long)x->reserve, (long long)ctxw);
        return lx_rp_pf(x,
                        "%s cannot take it: %lld prompt tokens%s + %lld reserved for the answer "
                        "exceed its %lld-token context",
                        lx_rp_spec(t, s, sizeof s), (long long)n, exact ? "" : " (estimated)",
                        (long long)x->reserve, (long long)ctxw);
    }
    if (x->req->num_ctx > 0 && ctxw > 0 && x->req->num_ctx > ctxw) {
        *why = OUT_SIZE;
        return lx_rp_pf(x,
                        "%s cannot take it: the request asks for a %lld-token context, it has %lld",
                        lx_rp_spec(t, s, sizeof s), (long long)x->req->num_ctx, (long long)ctxw);
    }
    bool assumed;
    unsigned have = target_features(t, info, &assumed);
    unsigned lack = p->features & ~have;
    if (lack) {
        *why = OUT_FEATURES;
        return lx_rp_pf(x, "%s cannot take it: the request needs %s, which it lacks%s",
                        lx_rp_spec(t, s, sizeof s), feature_list(x, lack),
                        info ? "" : " (embedded engine)");
    }
    *why = OUT_NONE;
    return NULL;
}

/* ---- candidates --------------------------------------------------------- */

void lx_rp_add(ctx *x, const lx_tspec *t, const char *why)
{
    if (!t->p || x->n >= MAX_CANDS)
        return;
    for (size_t i = 0; i < x->n; i++)
        if (x->c[i].t.p == t->p && !strcmp(x->c[i].t.model, t->model))
            return; /* duplicate: the first mention stays */
    x->c[x->n++] = (cand){.t = *t, .reason = why};
}

void lx_rp_add_spec(ctx *x, const char *s, const char *why)
{
    lx_tspec t;
    bool autos;
    lx_error e;
    if (lx_router_resolve(x->r, s, &t, &autos, &e) != LX_OK || autos) {
        REASON(x, "fallback '%s' skipped: %s", s, autos ? "auto is not a target" : e.message);
        return;
    }
    lx_rp_add(x, &t, why);
}

/* Every local target: the default first, then each local provider's
 * models. */
void lx_rp_add_locals(ctx *x, const char *why)
{
    const lx_config *c = x->r->cfg;
    if (x->r->def.p && x->r->def.p->local)
        lx_rp_add(x, &x->r->def, why);
    for (size_t i = 0; i < c->n_providers; i++) {
        const lx_provider_cfg *p = &c->providers[i];
        if (!p->local)
            continue;
        for (size_t j = 0; j < p->n_models; j++) {
            lx_tspec t = {p, p->models[j]};
            lx_rp_add(x, &t, why);
        }
    }
}

/* Does a fallbacks `from` name the choice? "local", "cloud",
 * "<provider>/auto" or "<provider>/<star>" (any model of it), or a spec or alias
 * that resolves to it. */
bool lx_rp_from_matches(ctx *x, const char *from, const lx_tspec *t)
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

bool lx_rp_rule_matches(ctx *x, const lx_route_rule *rr, bool explicit_model,
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
const char *lx_rp_rule_conditions(ctx *x, const lx_route_rule *rr)
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
        ADD("%sprivacy %s", o ? ", " : "", lx_rp_types_str(x));
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
    return lx_rp_pf(x, "%s", b);
}

void lx_rp_privacy_types(ctx *x)
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

void lx_rp_filter(ctx *x, cand *c)
{
    char s[200];
    lx_plan *p = x->plan;
    const lx_route_input *in = x->in;
    lx_route_tokens *sz0 = size_of(x, &c->t, false); /* listed in the explanation */
    if (sz0) {
        c->info = x->info[sz0 - x->toks];
        c->tokens = sz0->count;
        c->exact = sz0->exact;
    } else {
        c->info = lx_catalogue_find(x->r->cfg, c->t.model);
    }
    if (!lx_rp_key_allows(in->key, &c->t, NULL)) {
        c->out = OUT_KEY;
        c->out_reason = lx_rp_pf(x, "key '%s' may not use %s", in->key->id ? in->key->id : "?",
                                 lx_rp_spec(&c->t, s, sizeof s));
        return;
    }
    if (p->sensitive && p->privacy_mode == LX_PRIVACY_ROUTE_LOCAL && !c->t.p->local) {
        c->out = OUT_PRIVACY;
        c->out_reason =
            lx_rp_pf(x, "%s is remote and the request contains %s (privacy route_local)",
                     lx_rp_spec(&c->t, s, sizeof s), lx_rp_types_str(x));
        return;
    }
    if (p->offline && !c->t.p->local) {
        c->out = OUT_HEALTH;
        c->out_reason =
            lx_rp_pf(x, "%s is remote and every remote provider is unreachable (offline)",
                     lx_rp_spec(&c->t, s, sizeof s));
        return;
    }
    out_why w;
    const char *why = lx_rp_fit(x, &c->t, &w);
    bool assumed;
    target_features(&c->t, c->info, &assumed);
    if (!why && assumed && p->features)
        REASON(x, "%s is not in the catalogue: assumed to support %s",
               lx_rp_spec(&c->t, s, sizeof s), feature_list(x, p->features));
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
            lx_rp_pf(x, "%s is %s", lx_rp_spec(&c->t, s, sizeof s),
                     c->health == LX_HEALTH_DOWN ? "down (circuit breaker open)" : "unreachable");
        return;
    }
    if (in->cloud_over_budget) {
        bool paid =
            c->info ? (c->info->price_input > 0 || c->info->price_output > 0) : !c->t.p->local;
        if (paid) {
            c->out = OUT_BUDGET;
            c->out_reason =
                lx_rp_pf(x, "%s costs money and the budget is used up%s",
                         lx_rp_spec(&c->t, s, sizeof s), c->info ? "" : " (price unknown)");
            return;
        }
    }
}
