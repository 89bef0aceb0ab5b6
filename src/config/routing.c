/*
 * routing.c — the `aliases:`, `routing:` and `guard:` sections (schemas in
 * config.h) and their whole-config checks.
 *
 * Parsing reads each section into its struct; the checks that need the
 * providers, the guard's user types or the keys (targets that must
 * resolve, privacy type names, key ids) run later, in lx_routing_check,
 * once the whole file has been read. So that those late errors still point
 * at the right line:col, every string the checks look at is stored as a
 * "positioned string": the copy in the config arena is preceded by the
 * line and column of its node (pstr below). Only strings parsed here carry
 * the prefix, and only routing.c reads it.
 *
 * Target specs (routing.default, routing.escalate, rule targets, alias
 * values) are one of:
 *   "local" or "local/auto"   the local default: routing.default when it is
 *                             local, else the first local provider's model
 *   "cloud" or "cloud/auto"   routing.escalate (or the first remote model)
 *   an alias name             its target (an alias may also be "auto")
 *   anything lx_config_resolve accepts ("provider/model", "provider",
 *   a bare model name)
 * "auto" is only meaningful as a requested model (the router decides); it
 * is refused where a concrete target is needed (default, escalate).
 *
 * Defaults filled by the check when absent: routing.default = the first
 * local provider's first model, else default_model; routing.escalate =
 * default_model when it is remote, else the first remote provider's first
 * model (NULL when there is none: nothing escalates).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "guard/scanner.h"

/* ---- positioned strings ------------------------------------------------- */

typedef struct pstr {
    uint32_t magic;
    int line, col;
    char s[];
} pstr;
#define PSTR_MAGIC 0x52545053u /* "SPTR" */

static lx_status pstring(lx_yctx *y, const lx_ynode *n, char **out)
{
    char w[200];
    if (!n || n->kind != LX_Y_SCALAR || lx_y_is_null(n) || n->len == 0)
        return lx_y_fail(y, n, "%s: expected a non-empty string", lx_y_where(y, w, sizeof w));
    pstr *p = lx_arena_alloc(y->arena, sizeof *p + n->len + 1);
    if (!p)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    p->magic = PSTR_MAGIC;
    p->line = n->line;
    p->col = n->col;
    memcpy(p->s, n->text, n->len + 1);
    *out = p->s;
    return LX_OK;
}

static lx_status pstrings(lx_yctx *y, const lx_ynode *n, char ***out, size_t *n_out)
{
    char w[200];
    if (!n || n->kind != LX_Y_SEQ) {
        /* a single scalar is accepted as a list of one */
        if (n && n->kind == LX_Y_SCALAR && !lx_y_is_null(n)) {
            char **v = lx_arena_calloc(y->arena, 1, sizeof *v);
            if (!v)
                return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
            *out = v;
            *n_out = 1;
            return pstring(y, n, &v[0]);
        }
        return lx_y_fail(y, n, "%s: expected a list of strings", lx_y_where(y, w, sizeof w));
    }
    char **v = lx_arena_calloc(y->arena, n->n_kids ? n->n_kids : 1, sizeof *v);
    if (!v)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n->n_kids; i++) {
        const lx_ynode *it = n->kids[i];
        if (it->kind != LX_Y_SCALAR || lx_y_is_null(it) || it->len == 0)
            return lx_y_fail(y, it, "%s[%zu]: expected a non-empty string",
                             lx_y_where(y, w, sizeof w), i);
        lx_status st = pstring(y, it, &v[i]);
        if (st != LX_OK)
            return st;
    }
    *out = v;
    *n_out = n->n_kids;
    return LX_OK;
}

/* Position of a string made by pstring; 0:0 for any other string. */
static void ppos(const char *s, int *line, int *col)
{
    *line = *col = 0;
    if (!s)
        return;
    const pstr *p = (const pstr *)(const void *)(s - offsetof(pstr, s));
    /* only strings this file made are read back (the checks below see
     * nothing else before defaults are filled) */
    if (p->magic == PSTR_MAGIC) {
        *line = p->line;
        *col = p->col;
    }
}

static lx_status fail_at(lx_yctx *y, const char *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static lx_status fail_at(lx_yctx *y, const char *s, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lx_ynode at = {.kind = LX_Y_SCALAR};
    ppos(s, &at.line, &at.col);
    return lx_y_fail(y, &at, "%s", msg);
}

/* ---- aliases ------------------------------------------------------------ */

lx_status lx_parse_aliases(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    if (lx_y_is_null(v))
        return LX_OK;
    if (v->kind != LX_Y_MAP)
        return lx_y_fail(y, v, "aliases: expected a mapping of name: provider/model");
    size_t n = v->n_kids / 2;
    cfg->aliases = lx_arena_calloc(y->arena, n ? n : 1, sizeof *cfg->aliases);
    if (!cfg->aliases)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    lx_strlcpy(y->path, "aliases", sizeof y->path);
    for (size_t i = 0; i < n; i++) {
        const lx_ynode *k = v->kids[2 * i], *t = v->kids[2 * i + 1];
        lx_alias *a = &cfg->aliases[i];
        if (k->kind != LX_Y_SCALAR || !lx_provider_name_ok(k->text))
            return lx_y_fail(y, k,
                             "aliases: '%.64s' is not a valid alias name (letters, digits, '_', "
                             "'.', '-'; at most 63)",
                             k->kind == LX_Y_SCALAR ? k->text : "?");
        if (!strcmp(k->text, "auto") || !strcmp(k->text, "local") || !strcmp(k->text, "cloud"))
            return lx_y_fail(y, k, "aliases.%s: '%s' is a reserved name", k->text, k->text);
        y->key = k->text;
        lx_status st = pstring(y, k, &a->name);
        if (st == LX_OK)
            st = pstring(y, t, &a->target);
        y->key = NULL;
        if (st != LX_OK)
            return st;
        cfg->n_aliases = i + 1;
    }
    y->path[0] = '\0';
    return LX_OK;
}

/* ---- routing ------------------------------------------------------------ */

static const char *const privacy_names[] = {"route_local", "redact", "block", "off", NULL};
static const char *const action_names[] = {"target", "block",   "redact", "local",
                                           "cloud",  "cascade", NULL};

typedef struct rule_parse {
    lx_route_rule r;
    bool has_action;
} rule_parse;

static lx_status f_r_privacy(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_route_rule *r = &((rule_parse *)o)->r;
    return pstrings(y, v, &r->privacy, &r->n_privacy);
}
static lx_status f_r_task(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_route_rule *r = &((rule_parse *)o)->r;
    return pstrings(y, v, &r->tasks, &r->n_tasks);
}
static lx_status f_r_header(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_route_rule *r = &((rule_parse *)o)->r;
    char w[200];
    lx_status st = pstring(y, v, &r->header);
    if (st != LX_OK)
        return st;
    for (char *p = r->header; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f || c == ':')
            return lx_y_fail(y, v, "%s: '%.64s' is not a header name", lx_y_where(y, w, sizeof w),
                             r->header);
        if (c >= 'A' && c <= 'Z')
            *p = (char)(c - 'A' + 'a');
    }
    return LX_OK;
}
static lx_status f_r_equals(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_route_rule *r = &((rule_parse *)o)->r;
    return lx_y_string(y, v, &r->equals);
}
static lx_status f_r_cabove(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_route_rule *r = &((rule_parse *)o)->r;
    r->has_complexity_above = true;
    return lx_y_number(y, v, 0, 1, &r->complexity_above);
}
static lx_status f_r_cbelow(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_route_rule *r = &((rule_parse *)o)->r;
    r->has_complexity_below = true;
    return lx_y_number(y, v, 0, 1, &r->complexity_below);
}
static lx_status f_r_tabove(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_route_rule *r = &((rule_parse *)o)->r;
    return lx_y_int(y, v, 1, INT64_MAX / 4, &r->tokens_above);
}
static lx_status f_r_tbelow(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_route_rule *r = &((rule_parse *)o)->r;
    return lx_y_int(y, v, 1, INT64_MAX / 4, &r->tokens_below);
}
static lx_status f_r_features(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_route_rule *r = &((rule_parse *)o)->r;
    char **names;
    size_t n;
    char w[200];
    lx_status st = lx_y_strings(y, v, &names, &n);
    if (st != LX_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        unsigned f = 0;
        for (unsigned b = 1; lx_feature_name(b); b <<= 1)
            if (!strcmp(lx_feature_name(b), names[i]))
                f = b;
        if (!f) {
            char list[120] = "";
            size_t o = 0;
            for (unsigned b = 1; lx_feature_name(b) && o < sizeof list; b <<= 1)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "",
                                      lx_feature_name(b));
            return lx_y_fail(y, v->kind == LX_Y_SEQ ? v->kids[i] : v,
                             "%s: unknown feature '%.40s'; expected one of: %s",
                             lx_y_where(y, w, sizeof w), names[i], list);
        }
        r->features |= f;
    }
    return LX_OK;
}
static lx_status f_r_model(lx_yctx *y, const lx_ynode *v, void *o)
{
    return pstring(y, v, &((rule_parse *)o)->r.model);
}
static lx_status f_r_key(lx_yctx *y, const lx_ynode *v, void *o)
{
    return pstring(y, v, &((rule_parse *)o)->r.key);
}

// clang-format off
static const lx_yfield when_fields[] = {
    {"privacy", f_r_privacy},
    {"task", f_r_task},
    {"header", f_r_header},
    {"equals", f_r_equals},
    {"complexity_above", f_r_cabove},
    {"complexity_below", f_r_cbelow},
    {"tokens_above", f_r_tabove},
    {"tokens_below", f_r_tbelow},
    {"features", f_r_features},
    {"model", f_r_model},
    {"key", f_r_key},
};
// clang-format on

static lx_status f_r_when(lx_yctx *y, const lx_ynode *v, void *o)
{
    char w[200];
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, lx_y_where(y, w, sizeof w), when_fields,
                    sizeof when_fields / sizeof when_fields[0], o);
}
static lx_status f_r_action(lx_yctx *y, const lx_ynode *v, void *o)
{
    rule_parse *rp = o;
    int a;
    lx_status st = lx_y_choice(y, v, action_names, &a);
    if (st == LX_OK) {
        rp->r.action = (lx_rule_action)a;
        rp->has_action = true;
    }
    return st;
}
static lx_status f_r_target(lx_yctx *y, const lx_ynode *v, void *o)
{
    return pstring(y, v, &((rule_parse *)o)->r.target);
}
static lx_status f_r_reason(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_string(y, v, &((rule_parse *)o)->r.reason);
}

// clang-format off
static const lx_yfield rule_fields[] = {
    {"when", f_r_when},
    {"action", f_r_action},
    {"target", f_r_target},
    {"reason", f_r_reason},
};
// clang-format on

static lx_status f_rules(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_routing_cfg *rc = o;
    char path[48];
    if (lx_y_is_null(v))
        return LX_OK;
    if (v->kind != LX_Y_SEQ)
        return lx_y_fail(y, v, "routing.rules: expected a list of rules (- when: ...)");
    rc->rules = lx_arena_calloc(y->arena, v->n_kids ? v->n_kids : 1, sizeof *rc->rules);
    if (!rc->rules)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < v->n_kids; i++) {
        rule_parse rp = {0};
        const lx_ynode *n = v->kids[i];
        snprintf(path, sizeof path, "routing.rules[%zu]", i);
        lx_status st =
            lx_y_map(y, n, path, rule_fields, sizeof rule_fields / sizeof rule_fields[0], &rp);
        if (st != LX_OK)
            return st;
        lx_route_rule *r = &rp.r;
        if (!rp.has_action) {
            if (!r->target)
                return lx_y_fail(y, n, "%s: needs 'action:' or 'target:'", path);
            r->action = LX_RULE_TARGET;
        }
        if (r->action == LX_RULE_TARGET && !r->target)
            return lx_y_fail(y, n, "%s: action target needs 'target:'", path);
        if (r->target && (r->action == LX_RULE_BLOCK || r->action == LX_RULE_REDACT))
            return lx_y_fail(y, lx_y_get(n, "target"), "%s.target: action %s takes no target", path,
                             action_names[r->action]);
        if (r->equals && !r->header)
            return lx_y_fail(y, lx_y_get(lx_y_get(n, "when"), "equals"),
                             "%s.when.equals: needs 'header:'", path);
        if (r->has_complexity_above && r->has_complexity_below &&
            r->complexity_above >= r->complexity_below)
            return lx_y_fail(y, n,
                             "%s.when: complexity_above %g >= complexity_below %g never matches",
                             path, r->complexity_above, r->complexity_below);
        if (r->tokens_above && r->tokens_below && r->tokens_above >= r->tokens_below)
            return lx_y_fail(y, n, "%s.when: tokens_above >= tokens_below never matches", path);
        r->line = n->line;
        r->col = n->col;
        rc->rules[i] = *r;
        rc->n_rules = i + 1;
    }
    return LX_OK;
}

static lx_status f_privacy(lx_yctx *y, const lx_ynode *v, void *o)
{
    int m;
    lx_status st = lx_y_choice(y, v, privacy_names, &m);
    if (st == LX_OK)
        ((lx_routing_cfg *)o)->privacy = (lx_privacy_mode)m;
    return st;
}
static lx_status f_default(lx_yctx *y, const lx_ynode *v, void *o)
{
    return pstring(y, v, &((lx_routing_cfg *)o)->default_target);
}
static lx_status f_escalate(lx_yctx *y, const lx_ynode *v, void *o)
{
    return pstring(y, v, &((lx_routing_cfg *)o)->escalate);
}
static lx_status f_threshold(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_number(y, v, 0, 1, &((lx_routing_cfg *)o)->complexity_threshold);
}
static lx_status f_bool(lx_yctx *y, const lx_ynode *v, bool *out)
{
    static const char *const b[] = {"false", "true", NULL};
    int i;
    lx_status st = lx_y_choice(y, v, b, &i);
    if (st == LX_OK)
        *out = i == 1;
    return st;
}
static lx_status f_cascade(lx_yctx *y, const lx_ynode *v, void *o)
{
    return f_bool(y, v, &((lx_routing_cfg *)o)->cascade);
}
static lx_status f_sticky(lx_yctx *y, const lx_ynode *v, void *o)
{
    return f_bool(y, v, &((lx_routing_cfg *)o)->sticky);
}
static lx_status f_min_logprob(lx_yctx *y, const lx_ynode *v, void *o)
{
    char w[200];
    double d;
    /* lx_y_number refuses negatives when min >= 0; accept "-1.5" here */
    if (v && v->kind == LX_Y_SCALAR && v->plain && v->text[0] == '-') {
        lx_ynode pos = *v;
        pos.text = v->text + 1;
        pos.len = v->len - 1;
        lx_status st = lx_y_number(y, &pos, 0, 1000, &d);
        if (st == LX_OK)
            ((lx_routing_cfg *)o)->cascade_min_logprob = -d;
        return st;
    }
    lx_status st = lx_y_number(y, v, 0, 1000, &d);
    if (st == LX_OK && d != 0)
        return lx_y_fail(y, v, "%s: a log-probability is <= 0 (e.g. -1.5)",
                         lx_y_where(y, w, sizeof w));
    if (st == LX_OK)
        ((lx_routing_cfg *)o)->cascade_min_logprob = 0;
    return st;
}

// clang-format off
static const lx_yfield routing_fields[] = {
    {"privacy", f_privacy},
    {"default", f_default},
    {"escalate", f_escalate},
    {"complexity_threshold", f_threshold},
    {"cascade", f_cascade},
    {"cascade_min_logprob", f_min_logprob},
    {"sticky", f_sticky},
    {"rules", f_rules},
};
// clang-format on

lx_status lx_parse_routing(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, "routing", routing_fields,
                    sizeof routing_fields / sizeof routing_fields[0], &cfg->routing);
}

/* ---- guard -------------------------------------------------------------- */

static bool type_name_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return false;
    return n > 0 && n <= 63;
}

static lx_status guard_type(lx_yctx *y, const lx_ynode *v, char **out)
{
    char w[200];
    lx_status st = pstring(y, v, out);
    if (st == LX_OK && !type_name_ok(*out))
        st = lx_y_fail(y, v, "%s: '%.64s' is not a type name (A-Z, 0-9, '_')",
                       lx_y_where(y, w, sizeof w), *out);
    return st;
}

typedef struct term_parse {
    char *type;
    char **words;
    size_t n_words;
    const lx_ynode *words_n;
} term_parse;

static lx_status f_t_type(lx_yctx *y, const lx_ynode *v, void *o)
{
    return guard_type(y, v, &((term_parse *)o)->type);
}
static lx_status f_t_words(lx_yctx *y, const lx_ynode *v, void *o)
{
    term_parse *tp = o;
    tp->words_n = v;
    return pstrings(y, v, &tp->words, &tp->n_words);
}
static const lx_yfield term_fields[] = {{"type", f_t_type}, {"words", f_t_words}};

static lx_status f_terms(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_config *cfg = o;
    lx_guard_cfg *g = &cfg->guard;
    char path[48];
    if (lx_y_is_null(v))
        return LX_OK;
    if (v->kind != LX_Y_SEQ)
        return lx_y_fail(y, v, "guard.terms: expected a list of {type, words: [...]}");
    size_t total = 0;
    term_parse *tps = lx_arena_calloc(y->arena, v->n_kids ? v->n_kids : 1, sizeof *tps);
    if (!tps)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < v->n_kids; i++) {
        snprintf(path, sizeof path, "guard.terms[%zu]", i);
        lx_status st = lx_y_map(y, v->kids[i], path, term_fields, 2, &tps[i]);
        if (st != LX_OK)
            return st;
        if (!tps[i].type)
            return lx_y_fail(y, v->kids[i], "%s: missing required key 'type'", path);
        if (!tps[i].n_words)
            return lx_y_fail(y, tps[i].words_n ? tps[i].words_n : v->kids[i],
                             "%s: needs 'words:' (a non-empty list)", path);
        total += tps[i].n_words;
    }
    g->terms = lx_arena_calloc(y->arena, total ? total : 1, sizeof *g->terms);
    if (!g->terms)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < v->n_kids; i++)
        for (size_t j = 0; j < tps[i].n_words; j++)
            g->terms[g->n_terms++] = (lx_guard_term){.type = tps[i].type, .word = tps[i].words[j]};
    return LX_OK;
}

typedef struct regex_parse {
    lx_guard_regex r;
} regex_parse;

static lx_status f_x_type(lx_yctx *y, const lx_ynode *v, void *o)
{
    return guard_type(y, v, &((regex_parse *)o)->r.type);
}
static lx_status f_x_pattern(lx_yctx *y, const lx_ynode *v, void *o)
{
    return pstring(y, v, &((regex_parse *)o)->r.pattern);
}
static lx_status f_x_caseless(lx_yctx *y, const lx_ynode *v, void *o)
{
    return f_bool(y, v, &((regex_parse *)o)->r.caseless);
}
static const lx_yfield regex_fields[] = {
    {"type", f_x_type}, {"pattern", f_x_pattern}, {"caseless", f_x_caseless}};

static lx_status f_regexes(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_config *cfg = o;
    lx_guard_cfg *g = &cfg->guard;
    char path[48];
    if (lx_y_is_null(v))
        return LX_OK;
    if (v->kind != LX_Y_SEQ)
        return lx_y_fail(y, v, "guard.regexes: expected a list of {type, pattern}");
    g->regexes = lx_arena_calloc(y->arena, v->n_kids ? v->n_kids : 1, sizeof *g->regexes);
    if (!g->regexes)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < v->n_kids; i++) {
        regex_parse rp = {0};
        snprintf(path, sizeof path, "guard.regexes[%zu]", i);
        lx_status st = lx_y_map(y, v->kids[i], path, regex_fields, 3, &rp);
        if (st != LX_OK)
            return st;
        if (!rp.r.type || !rp.r.pattern)
            return lx_y_fail(y, v->kids[i], "%s: missing required key '%s'", path,
                             rp.r.type ? "pattern" : "type");
        /* compile it alone now, so a bad pattern is reported at its line:col */
        lx_scan_regex one = {.type = rp.r.type, .pattern = rp.r.pattern, .caseless = rp.r.caseless};
        lx_scan_config sc = {.disabled = ~0u, .regexes = &one, .n_regexes = 1};
        lx_scanner *s = NULL;
        lx_error e;
        lx_error_clear(&e);
        if (lx_scanner_new(&sc, &s, &e) != LX_OK) {
            if (e.code == LX_ERR_NOMEM)
                return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
            return lx_y_fail(y, lx_y_get(v->kids[i], "pattern"), "%s.pattern: %s", path, e.message);
        }
        lx_scanner_free(s);
        g->regexes[g->n_regexes++] = rp.r;
    }
    return LX_OK;
}

static lx_status f_disable(lx_yctx *y, const lx_ynode *v, void *o)
{
    lx_guard_cfg *g = &((lx_config *)o)->guard;
    char w[200];
    lx_status st = pstrings(y, v, &g->disabled, &g->n_disabled);
    if (st != LX_OK)
        return st;
    for (size_t i = 0; i < g->n_disabled; i++)
        if (lx_scan_type_from_name(g->disabled[i]) < 0) {
            char list[300] = "";
            size_t o2 = 0;
            for (int t = 0; t < LX_FIND_BUILTIN_COUNT && o2 < sizeof list; t++)
                o2 += (size_t)snprintf(list + o2, sizeof list - o2, "%s%s", t ? ", " : "",
                                       lx_scan_type_name((lx_find_type)t));
            return fail_at(y, g->disabled[i], "%s: '%.64s' is not a built-in type; expected: %s",
                           lx_y_where(y, w, sizeof w), g->disabled[i], list);
        }
    return LX_OK;
}

// clang-format off
static const lx_yfield guard_fields[] = {
    {"disable", f_disable},
    {"terms", f_terms},
    {"regexes", f_regexes},
};
// clang-format on

lx_status lx_parse_guard(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_y_map(y, v, "guard", guard_fields, sizeof guard_fields / sizeof guard_fields[0], cfg);
}

/* ---- defaults and checks ------------------------------------------------ */

void lx_routing_defaults(lx_config *cfg)
{
    cfg->routing.privacy = LX_PRIVACY_ROUTE_LOCAL;
    cfg->routing.complexity_threshold = 0.55;
    cfg->routing.cascade_min_logprob = -1.5;
    cfg->routing.sticky = true;
}

/* The task names lx_complexity_score produces (complexity.c). */
static const char *const task_names[] = {
    "general",     "classification", "sentiment",    "summarization", "extraction", "reformatting",
    "translation", "factual",        "tests_docs",   "math",          "proof",      "planning",
    "design",      "debugging",      "optimization", "coding",        "writing",    "analysis",
    NULL};

static const lx_alias *find_alias(const lx_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_aliases; i++)
        if (!strcmp(c->aliases[i].name, name))
            return &c->aliases[i];
    return NULL;
}

static bool is_kw(const char *s, const char *kw)
{
    size_t n = strlen(kw);
    return !strncmp(s, kw, n) && (s[n] == '\0' || !strcmp(s + n, "/auto"));
}

/* Checks a target spec. allow_auto: "auto" (or an alias of it) is fine;
 * allow_kw: "local" / "cloud" are. *local (may be NULL) gets the target's
 * locality: 1 local, 0 remote, -1 auto. */
static lx_status check_target(lx_config *cfg, lx_yctx *y, const char *what, const char *spec,
                              bool allow_auto, bool allow_kw, int *local)
{
    const char *s = spec;
    int dummy;
    if (!local)
        local = &dummy;
    *local = -1;
    for (int depth = 0; depth < 8; depth++) {
        if (!strcmp(s, "auto")) {
            if (allow_auto)
                return LX_OK;
            return fail_at(y, spec,
                           "%s: '%s'%s lets the router choose; a concrete target is needed here "
                           "(provider/model, an alias, local or cloud)",
                           what, spec, strcmp(spec, "auto") ? " (an alias of auto)" : "");
        }
        if ((is_kw(s, "local") || is_kw(s, "cloud")) && !lx_config_provider(cfg, s)) {
            if (!allow_kw)
                return fail_at(y, spec, "%s: '%s' names the routing default itself; give a model",
                               what, spec);
            *local = is_kw(s, "local");
            return LX_OK;
        }
        const char *slash = strchr(s, '/');
        if (slash && !strcmp(slash + 1, "auto")) { /* "<provider>/auto" */
            char name[64];
            size_t n = (size_t)(slash - s);
            const lx_provider_cfg *p = NULL;
            if (n < sizeof name) {
                memcpy(name, s, n);
                name[n] = '\0';
                p = lx_config_provider(cfg, name);
            }
            bool lists_auto = false;
            for (size_t i = 0; p && i < p->n_models; i++)
                lists_auto |= !strcmp(p->models[i], "auto");
            if (p && !lists_auto) {
                if (!p->n_models)
                    return fail_at(y, spec, "%s: provider '%s' lists no models; name one", what,
                                   p->name);
                *local = p->local;
                return LX_OK;
            }
        }
        const lx_alias *a = find_alias(cfg, s);
        if (!a)
            break;
        s = a->target;
    }
    if (find_alias(cfg, s))
        return fail_at(y, spec, "%s: alias '%s' refers to itself (a loop)", what, spec);
    const lx_provider_cfg *p;
    const char *m;
    lx_error e;
    if (lx_config_resolve(cfg, s, &p, &m, &e) != LX_OK)
        return fail_at(y, spec, "%s: %s", what, e.message);
    *local = p->local;
    return LX_OK;
}

static bool user_type(const lx_config *cfg, const char *t)
{
    for (size_t i = 0; i < cfg->guard.n_terms; i++)
        if (!strcmp(cfg->guard.terms[i].type, t))
            return true;
    for (size_t i = 0; i < cfg->guard.n_regexes; i++)
        if (!strcmp(cfg->guard.regexes[i].type, t))
            return true;
    return false;
}

static char *spec_of(lx_config *cfg, const lx_provider_cfg *p, const char *model)
{
    size_t n = strlen(p->name) + strlen(model) + 2;
    char *s = lx_arena_alloc(cfg->arena, n);
    if (s)
        snprintf(s, n, "%s/%s", p->name, model);
    return s;
}

lx_status lx_routing_check(lx_config *cfg, lx_yctx *y)
{
    lx_routing_cfg *rc = &cfg->routing;
    char what[64];
    lx_status st;

    for (size_t i = 0; i < cfg->n_aliases; i++) {
        if (lx_config_provider(cfg, cfg->aliases[i].name))
            return fail_at(y, cfg->aliases[i].name,
                           "aliases.%s: a provider has the same name; pick another alias name",
                           cfg->aliases[i].name);
        snprintf(what, sizeof what, "aliases.%s", cfg->aliases[i].name);
        if ((st = check_target(cfg, y, what, cfg->aliases[i].target, true, true, NULL)) != LX_OK)
            return st;
    }
    if (rc->default_target && (st = check_target(cfg, y, "routing.default", rc->default_target,
                                                 false, false, NULL)) != LX_OK)
        return st;
    if (rc->escalate &&
        (st = check_target(cfg, y, "routing.escalate", rc->escalate, false, false, NULL)) != LX_OK)
        return st;

    for (size_t i = 0; i < rc->n_rules; i++) {
        const lx_route_rule *r = &rc->rules[i];
        for (size_t j = 0; j < r->n_privacy; j++) {
            const char *t = r->privacy[j];
            if (!strcmp(t, "any") || lx_scan_type_from_name(t) >= 0 || user_type(cfg, t))
                continue;
            return fail_at(y, t,
                           "routing.rules[%zu].when.privacy: unknown type '%.64s' (a built-in "
                           "type like EMAIL or API_KEY, a guard term/regex type, or any)",
                           i, t);
        }
        for (size_t j = 0; j < r->n_tasks; j++) {
            bool ok = false;
            for (size_t k = 0; task_names[k] && !ok; k++)
                ok = !strcmp(task_names[k], r->tasks[j]);
            if (!ok) {
                char list[300] = "";
                size_t o = 0;
                for (size_t k = 0; task_names[k] && o < sizeof list; k++)
                    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", k ? ", " : "",
                                          task_names[k]);
                return fail_at(y, r->tasks[j],
                               "routing.rules[%zu].when.task: unknown task '%.64s'; expected one "
                               "of: %s",
                               i, r->tasks[j], list);
            }
        }
        if (r->model) {
            snprintf(what, sizeof what, "routing.rules[%zu].when.model", i);
            if ((st = check_target(cfg, y, what, r->model, true, true, NULL)) != LX_OK)
                return st;
        }
        if (r->target) {
            snprintf(what, sizeof what, "routing.rules[%zu].target", i);
            int loc;
            if ((st = check_target(cfg, y, what, r->target, false, true, &loc)) != LX_OK)
                return st;
            if (loc == 0 && (r->action == LX_RULE_LOCAL || r->action == LX_RULE_CASCADE))
                return fail_at(y, r->target,
                               "%s: '%s' is remote; action %s needs a local target (or none: "
                               "routing.default)",
                               what, r->target, r->action == LX_RULE_LOCAL ? "local" : "cascade");
        }
        /* rules[].when.key is checked against `keys:` only when keys exist:
         * the keys section may be absent on a CLI-only setup */
        if (r->key && cfg->n_keys) {
            bool ok = false;
            for (size_t k = 0; k < cfg->n_keys && !ok; k++)
                ok = cfg->keys[k].id && !strcmp(cfg->keys[k].id, r->key);
            if (!ok)
                return fail_at(y, r->key, "routing.rules[%zu].when.key: no key with id '%.64s'", i,
                               r->key);
        }
    }

    /* defaults that need the providers */
    if (!rc->default_target) {
        for (size_t i = 0; i < cfg->n_providers && !rc->default_target; i++)
            if (cfg->providers[i].local && cfg->providers[i].n_models)
                rc->default_target = spec_of(cfg, &cfg->providers[i], cfg->providers[i].models[0]);
        if (!rc->default_target && cfg->default_model)
            rc->default_target = cfg->default_model;
    }
    if (!rc->escalate) {
        const lx_provider_cfg *p;
        const char *m;
        if (cfg->default_model &&
            lx_config_resolve(cfg, cfg->default_model, &p, &m, NULL) == LX_OK && !p->local)
            rc->escalate = cfg->default_model;
        for (size_t i = 0; i < cfg->n_providers && !rc->escalate; i++)
            if (!cfg->providers[i].local && cfg->providers[i].n_models)
                rc->escalate = spec_of(cfg, &cfg->providers[i], cfg->providers[i].models[0]);
    }
    return LX_OK;
}
