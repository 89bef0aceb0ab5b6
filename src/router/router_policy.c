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
 *   6. the choice: the matching rule's target, else x-llmux-target (local |
 *      cloud | a target name), else the explicit model, else the defaults:
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

#include "router/router_policy_int.h"

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
    lx_rp_reason(x, lx_rp_pf(x, "blocked: %s", msg));
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
        REASON(x, "privacy mode %s from key '%s'", lx_rp_mode_name(mode),
               in->key->id ? in->key->id : "?");
    }
    p->privacy_mode = mode; /* refined after the rules and the header */

    /* 2. signals */
    lx_status st = lx_scan_request(r->scanner, x->sc->scan, req, &p->findings, &e);
    if (st != LX_OK) {
        x->fail = e;
        return st;
    }
    lx_rp_privacy_types(x);
    p->features = lx_rp_needed_features(req);
    p->max_output = req->sampling.max_tokens > 0 ? req->sampling.max_tokens : 0;
    x->reserve = p->max_output ? p->max_output : LX_ROUTE_OUTPUT_RESERVE;
    x->est = lx_router_estimate(req);
    /* the fingerprint is only needed to look up (when anything was ever
     * added) or to add (a sensitive request, at the end) */
    bool fp_done = rc->sticky && lx_router_sticky_used(r);
    uint64_t fp = fp_done ? lx_router_fingerprint(req) : 0;
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
    /* The complexity score (~15 us for 2 KB, most of a decision) is only
     * needed when the router picks the model, when a rule tests it, or for
     * an explanation; a request for an explicit model skips it. */
    bool need_cx = autos || in->exact_tokens;
    for (size_t i = 0; i < rc->n_rules && !need_cx; i++)
        need_cx = rc->rules[i].n_tasks || rc->rules[i].has_complexity_above ||
                  rc->rules[i].has_complexity_below;
    if (need_cx && lx_complexity_of_request(req, &p->complexity) != LX_OK &&
        !p->complexity.task)
        lx_complexity_score(NULL, 0, &p->complexity);
    if (autos) {
        REASON(x, "model '%s': the router decides", asked);
        if (!lx_rp_key_allows_auto(in->key)) {
            set_block(x, LX_ERR_BLOCKED,
                      lx_rp_pf(x,
                               "key '%s' may not use auto routing (its models: list has no 'auto')",
                               in->key->id ? in->key->id : "?"));
            return LX_OK;
        }
    } else {
        lx_rp_spec(&asked_t, asked_spec, sizeof asked_spec);
        if (!lx_rp_key_allows(in->key, &asked_t, asked)) {
            set_block(x, LX_ERR_BLOCKED,
                      lx_rp_pf(x, "key '%s' may not use %s", in->key->id ? in->key->id : "?",
                               asked_spec));
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
        if (lx_rp_rule_matches(x, rr, p->explicit_model, asked_spec[0] ? asked_spec : NULL)) {
            hit = rr;
            hit_i = i;
        }
    }
    const char *rule_why = NULL;
    if (hit) {
        static const char *const acts[] = {"target", "block", "redact",
                                           "local",  "cloud", "cascade"};
        p->rule = lx_rp_pf(x, "rules[%zu] at line %d", hit_i, hit->line);
        const char *conds = lx_rp_rule_conditions(x, hit);
        rule_why = hit->reason ? lx_rp_pf(x, "%s (%s): %s", p->rule, conds, hit->reason)
                               : lx_rp_pf(x, "%s (%s): %s%s%s", p->rule, conds, acts[hit->action],
                                          hit->target ? " " : "", hit->target ? hit->target : "");
        lx_rp_reason(x, rule_why);
        if (hit->action == LX_RULE_BLOCK) {
            p->sensitive = mode != LX_PRIVACY_OFF && p->n_privacy > 0;
            set_block(x, LX_ERR_BLOCKED,
                      lx_rp_pf(x, "refused by routing %s (%s)%s%s", p->rule, conds,
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
            REASON(x, "privacy mode %s from header x-llmux-privacy", lx_rp_mode_name(mode));
        } else if (hm != mode)
            REASON(x,
                   "header x-llmux-privacy %s ignored: a header can only make privacy stricter "
                   "than %s",
                   hv, lx_rp_mode_name(mode));
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
        REASON(x, "privacy: request contains %s (mode %s)", lx_rp_types_str(x),
               lx_rp_mode_name(mode));
    else if (!p->sticky)
        REASON(x, "privacy: no findings");
    if (p->sensitive && mode == LX_PRIVACY_BLOCK) {
        set_block(
            x, LX_ERR_BLOCKED,
            lx_rp_pf(x, "request contains %s; privacy mode block refuses it", lx_rp_types_str(x)));
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
                      lx_rp_pf(x, "%s: target '%s' does not resolve: %s", p->rule, tspec,
                               a2 ? "auto" : e.message));
            return LX_OK;
        }
        lx_rp_add(x, &t, rule_why);
    } else {
        /* the caller's header beats the model named in the body: SDK
         * clients must send a model, the header is how they say where */
        if (th) {
            lx_tspec t;
            bool a2;
            if (lx_router_resolve(r, th, &t, &a2, &e) != LX_OK || a2)
                REASON(x, "header x-llmux-target '%.60s' ignored: %s", th,
                       a2 ? "auto is the default" : e.message);
            else
                lx_rp_add(x, &t, lx_rp_pf(x, "header x-llmux-target: %.60s", th));
        }
        if (x->n == 0 && p->explicit_model)
            lx_rp_add(x, &asked_t, lx_rp_pf(x, "requested model %s", asked_spec));
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
        const char *why = def->p ? lx_rp_fit(x, def, &w) : "no default target";
        bool same = def->p == esc->p && def->model && esc->model && !strcmp(def->model, esc->model);
        if (p->complexity.score >= thr && esc->p && !same) {
            lx_rp_add(x, esc,
                      lx_rp_pf(x, "complexity %.2f >= %.2f (%s): escalate to %s",
                               p->complexity.score, thr, p->complexity.task,
                               lx_rp_spec(esc, s, sizeof s)));
        } else if (why && esc->p && !same) {
            lx_rp_add(x, esc, lx_rp_pf(x, "%s; escalate to %s", why, lx_rp_spec(esc, s, sizeof s)));
        } else if (def->p) {
            lx_rp_add(x, def,
                      lx_rp_pf(x, "complexity %.2f < %.2f (%s): default target %s",
                               p->complexity.score, thr, p->complexity.task,
                               lx_rp_spec(def, s, sizeof s)));
        } else {
            lx_rp_add(
                x, esc,
                lx_rp_pf(x, "no default target: escalate to %s", lx_rp_spec(esc, s, sizeof s)));
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
        lx_rp_add_locals(x, lx_rp_pf(x, "local: privacy route_local keeps %s on this machine",
                                     lx_rp_types_str(x)));
    if (p->offline)
        lx_rp_add_locals(x, "local: offline");
    for (size_t i = 0; i < cfg->reliability.n_fallbacks; i++) {
        const lx_fallback *f = &cfg->reliability.fallbacks[i];
        if (!f->from || !lx_rp_from_matches(x, f->from, &choice))
            continue;
        for (size_t j = 0; j < f->n_to; j++)
            lx_rp_add_spec(x, f->to[j],
                           lx_rp_pf(x, "fallback of %s (reliability.fallbacks)", f->from));
    }
    if (choice.p->local) {
        if (keep_local)
            REASON(x, "no cloud fallback: privacy route_local");
        else if (r->esc.p)
            lx_rp_add(
                x, &r->esc,
                lx_rp_pf(x, "fallback: escalate target %s", lx_rp_spec(&r->esc, s, sizeof s)));
    } else {
        if (r->def.p && r->def.p->local)
            lx_rp_add(x, &r->def,
                      lx_rp_pf(x, "fallback: local default %s", lx_rp_spec(&r->def, s, sizeof s)));
        else
            lx_rp_add_locals(x, "fallback: local");
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
                lx_rp_filter(x, c);
                if (c->out) {
                    REASON(x, "left out: %s", c->out_reason);
                    continue;
                }
            }
            if (c->out || (pass == 0) != (c->health != LX_HEALTH_PROBING))
                continue;
            if (pass == 1)
                REASON(x, "%s is being probed (breaker half-open): tried after healthy targets",
                       lx_rp_spec(&c->t, s, sizeof s));
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
            set_block(
                x, LX_ERR_BLOCKED,
                lx_rp_pf(x, "request contains %s; privacy mode route_local keeps it local, but %s",
                         lx_rp_types_str(x), why));
        } else {
            set_block(x, block_status(c0->out),
                      lx_rp_pf(x, "no target can take the request: %s", c0->out_reason));
        }
        return LX_OK;
    }
    bool redact = p->sensitive && mode == LX_PRIVACY_REDACT;
    for (size_t i = 0; i < nt && redact; i++)
        tg[i].redact = !tg[i].local;
    p->action = tg[0].redact ? LX_ACTION_REDACT : LX_ACTION_SEND;
    if (redact && tg[0].redact)
        REASON(x, "redact: %s leaves as placeholders", lx_rp_types_str(x));
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
                   lx_rp_spec(&(lx_tspec){tg[0].provider, tg[0].model}, s2, sizeof s2));
        }
    }
    if (p->sensitive && rc->sticky && p->n_privacy)
        lx_router_sticky_add(r, fp_done ? fp : lx_router_fingerprint(req));
    return LX_OK;
}

lx_status lx_route(const lx_router *r, lx_route_scratch *sc, const lx_route_input *in,
                   lx_plan **out, lx_error *err)
{
    int64_t t0 = now_ns();
    *out = NULL;
    if (!r || !sc || !in || !in->req)
        return lx_fail(err, LX_ERR_INVALID, "lx_route: missing router, scratch or request");
    if (!sc->ctx && !(sc->ctx = malloc(sizeof *sc->ctx)))
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    lx_plan *p = calloc(1, sizeof *p);
    ctx *x = sc->ctx;
    if (!p || !(p->arena = lx_arena_new())) {
        free(p);
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    }
    memset(x, 0, CTX_CLEAR);
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
            lx_fail(err, st, "routing failed: privacy scan: %s",
                    x->fail.message[0] ? x->fail.message : lx_status_name(st));
        lx_plan_free(p);
        return st;
    }
    if (p->action == LX_ACTION_BLOCK)
        p->reason_line = one_line(x, p->block.message);
    else
        p->reason_line = one_line(x, p->targets[0].reason);
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
