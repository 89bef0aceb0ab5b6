/*
 * router_explain.c — a plan as JSON (`llmux route --explain --json`, the
 * `ask --json` decision) and as one header line.
 *
 * The object (router.h states the fields):
 *   target, provider, model, action, reasons, privacy, privacy_mode,
 *   sensitive, complexity, task, complexity_features [{name, weight}],
 *   features {tools, vision, json, reasoning}, max_output,
 *   tokens {"provider/model": {count, exact, context}}, plan [{provider,
 *   model, local, redact, reason, tokens, exact}], rule, offline, sticky,
 *   cascade, explicit_model, route_us, and for a block: error (the
 *   message) and error_code (lx_status_name).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/router_int.h"

const char *lx_plan_target_kind(const lx_plan *p)
{
    if (!p || p->action == LX_ACTION_BLOCK || !p->n_targets)
        return "none";
    return p->targets[0].local ? "local" : "cloud";
}

const char *lx_plan_reason(const lx_plan *p)
{
    return p && p->reason_line ? p->reason_line : "";
}

static const char *action_name(lx_action a)
{
    switch (a) {
    case LX_ACTION_SEND:
        return "send";
    case LX_ACTION_REDACT:
        return "redact";
    case LX_ACTION_BLOCK:
        return "block";
    }
    return "?";
}

static const char *mode_name(lx_privacy_mode m)
{
    static const char *const n[] = {"route_local", "redact", "block", "off"};
    return (unsigned)m < 4 ? n[m] : "?";
}

static int put(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v ? v : json_null());
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

lx_status lx_plan_json(const lx_plan *p, lx_buf *out)
{
    if (!p || !out)
        return LX_ERR_INVALID;
    json_t *o = json_object();
    if (!o)
        return LX_ERR_NOMEM;
    const lx_target *t0 = p->action != LX_ACTION_BLOCK && p->n_targets ? &p->targets[0] : NULL;
    char sbuf[300];
    put(o, "target", json_string(lx_plan_target_kind(p)));
    put(o, "provider", t0 ? json_string(t0->provider->name) : json_null());
    put(o, "model", t0 ? json_string(t0->model) : json_null());
    put(o, "action", json_string(action_name(p->action)));
    json_t *rs = json_array();
    for (size_t i = 0; rs && i < p->n_reasons; i++)
        json_array_append_new(rs, json_string(p->reasons[i]));
    put(o, "reasons", rs);
    json_t *pv = json_array();
    for (size_t i = 0; pv && i < p->n_privacy; i++)
        json_array_append_new(pv, json_string(p->privacy[i]));
    put(o, "privacy", pv);
    put(o, "privacy_mode", json_string(mode_name(p->privacy_mode)));
    put(o, "sensitive", json_boolean(p->sensitive));
    /* three decimals: stable output */
    put(o, "complexity", json_real(round(p->complexity.score * 1000.0) / 1000.0));
    put(o, "task", str_or_null(p->complexity.task));
    json_t *cf = json_array();
    for (int i = 0; cf && i < p->complexity.n_features; i++) {
        json_t *f = json_object();
        put(f, "name", str_or_null(p->complexity.features[i].name));
        put(f, "weight", json_real(round(p->complexity.features[i].weight * 1000.0) / 1000.0));
        json_array_append_new(cf, f);
    }
    put(o, "complexity_features", cf);
    json_t *fe = json_object();
    for (unsigned b = 1; fe && lx_feature_name(b); b <<= 1)
        put(fe, lx_feature_name(b), json_boolean(p->features & b));
    put(o, "features", fe);
    put(o, "max_output", json_integer(p->max_output));
    json_t *tk = json_object();
    for (size_t i = 0; tk && i < p->n_tokens; i++) {
        const lx_route_tokens *t = &p->tokens[i];
        json_t *e = json_object();
        put(e, "count", json_integer(t->count));
        put(e, "exact", json_boolean(t->exact));
        put(e, "context", t->context ? json_integer(t->context) : json_null());
        snprintf(sbuf, sizeof sbuf, "%s/%s", t->provider->name, t->model);
        put(tk, sbuf, e);
    }
    put(o, "tokens", tk);
    json_t *pl = json_array();
    for (size_t i = 0; pl && i < p->n_targets; i++) {
        const lx_target *t = &p->targets[i];
        json_t *e = json_object();
        put(e, "provider", json_string(t->provider->name));
        put(e, "model", json_string(t->model));
        put(e, "local", json_boolean(t->local));
        put(e, "redact", json_boolean(t->redact));
        put(e, "reason", str_or_null(t->reason));
        put(e, "tokens", json_integer(t->prompt_tokens));
        put(e, "exact", json_boolean(t->tokens_exact));
        json_array_append_new(pl, e);
    }
    put(o, "plan", pl);
    put(o, "rule", str_or_null(p->rule));
    put(o, "offline", json_boolean(p->offline));
    put(o, "sticky", json_boolean(p->sticky));
    put(o, "cascade", json_boolean(p->cascade));
    put(o, "explicit_model", json_boolean(p->explicit_model));
    put(o, "route_us", json_real(round((double)p->route_ns / 100.0) / 10.0));
    if (p->action == LX_ACTION_BLOCK) {
        put(o, "error", json_string(p->block.message));
        put(o, "error_code", json_string(lx_status_name(p->block.code)));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (!s)
        return LX_ERR_NOMEM;
    lx_status st = lx_buf_puts(out, s);
    free(s);
    return st;
}
