/*
 * router.c — the router object: scanner, local tokenizers, sticky set,
 * target specs and the size signal. The decision itself is in
 * router_policy.c; its explanation in router_explain.c.
 *
 * Size signal. For a target of type local (the embedded engine) the prompt
 * is rendered with the model's chat template exactly as provider/local.c
 * does (plain text joined by blank lines when the GGUF has no template) and
 * counted with the model's tokenizer: exact. The tokenizer and template
 * come from the GGUF metadata, read once on first use; the weights are
 * never read. Counting costs 60-170 ns per byte (by vocabulary),
 * so the policy first tries cheap bounds (lx_router_size) and counts only
 * when they cannot settle a decision, or when the caller asks for exact
 * counts (lx_route_input.exact_tokens, which `route --explain` sets). For every other target the
 * count is an estimate:
 *
 *     tokens = 3 + sum over messages (4 + ceil(bytes / 4) of each text,
 *              tool-call arguments and tool result)
 *              + 800 per image
 *              + sum over tools (8 + ceil(bytes of name, description and
 *              JSON Schema / 4))
 *
 * Four bytes per token is the usual figure for English with the BPE
 * vocabularies of hosted models (it overestimates code a little and
 * underestimates CJK text); the per-message overhead covers role markers.
 *
 * Sticky set: LX_STICKY_SETS x LX_STICKY_WAYS fingerprints, set-associative:
 * a fingerprint lives in set (fp % SETS); a full set evicts its least
 * recently used entry. One mutex guards it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/template.h"
#include "engine/tokenizer.h"
#include "router/router_int.h"

/* ---- construction ------------------------------------------------------- */

/* Appends s to buf[*o..cap - 1), cut like snprintf. */
static void put_cut(char *buf, size_t cap, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (n > cap - 1 - *o)
        n = cap - 1 - *o;
    memcpy(buf + *o, s, n);
    *o += n;
}

const char *lx_tspec_str(const lx_tspec *t, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    size_t o = 0;
    if (!t || !t->p) {
        put_cut(buf, cap, &o, "(none)");
    } else {
        put_cut(buf, cap, &o, t->p->name ? t->p->name : "(null)");
        put_cut(buf, cap, &o, "/");
        put_cut(buf, cap, &o, t->model ? t->model : "(null)");
    }
    buf[o] = '\0';
    return buf;
}

static bool is_kw(const char *s, const char *kw)
{
    size_t n = strlen(kw);
    return !strncmp(s, kw, n) && (s[n] == '\0' || !strcmp(s + n, "/auto"));
}

static const lx_alias *alias_of(const lx_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_aliases; i++)
        if (!strcmp(c->aliases[i].name, name))
            return &c->aliases[i];
    return NULL;
}

/* First model of the first provider with the given locality. */
static bool first_of(const lx_config *c, bool local, lx_tspec *out)
{
    for (size_t i = 0; i < c->n_providers; i++)
        if (c->providers[i].local == local && c->providers[i].n_models) {
            out->p = &c->providers[i];
            out->model = c->providers[i].models[0];
            return true;
        }
    return false;
}

lx_status lx_router_resolve(const lx_router *r, const char *spec, lx_tspec *out, bool *is_auto,
                            lx_error *err)
{
    const lx_config *c = r->cfg;
    *out = (lx_tspec){0};
    if (is_auto)
        *is_auto = false;
    for (int depth = 0; spec && depth < 8; depth++) {
        if (!strcmp(spec, "auto")) {
            if (is_auto)
                *is_auto = true;
            return LX_OK;
        }
        if (lx_config_provider(c, spec))
            break;
        if (is_kw(spec, "local")) {
            if (r->def.p && r->def.p->local) {
                *out = r->def;
                return LX_OK;
            }
            if (first_of(c, true, out))
                return LX_OK;
            return lx_fail(err, LX_ERR_NOTFOUND, "no local provider is configured");
        }
        if (is_kw(spec, "cloud")) {
            if (r->esc.p) {
                *out = r->esc;
                return LX_OK;
            }
            if (first_of(c, false, out))
                return LX_OK;
            return lx_fail(err, LX_ERR_NOTFOUND, "no remote provider is configured");
        }
        const char *slash = strchr(spec, '/');
        if (slash && !strcmp(slash + 1, "auto")) {
            /* "<provider>/auto": the provider's routing target when it has
             * one (default, escalate), else its first model */
            size_t pn = (size_t)(slash - spec);
            for (size_t i = 0; i < c->n_providers; i++) {
                const lx_provider_cfg *p = &c->providers[i];
                if (strlen(p->name) != pn || strncmp(p->name, spec, pn))
                    continue;
                for (size_t j = 0; j < p->n_models; j++)
                    if (!strcmp(p->models[j], "auto"))
                        goto concrete; /* a model really named auto */
                if (r->def.p == p)
                    *out = r->def;
                else if (r->esc.p == p)
                    *out = r->esc;
                else if (p->n_models)
                    *out = (lx_tspec){p, p->models[0]};
                else
                    return lx_fail(err, LX_ERR_NOTFOUND,
                                   "provider '%s' lists no models; name one as %s/MODEL", p->name,
                                   p->name);
                return LX_OK;
            }
        }
        const lx_alias *a = alias_of(c, spec);
        if (!a)
            break;
        spec = a->target;
    }
concrete:;
    const lx_provider_cfg *p = NULL;
    const char *m = NULL;
    lx_status st = lx_config_resolve(c, spec, &p, &m, err);
    if (st != LX_OK)
        return st;
    out->p = p;
    out->model = m;
    return LX_OK;
}

static lx_status resolve_default(lx_router *r, const char *spec, lx_tspec *out, const char *what,
                                 lx_error *err)
{
    lx_error e;
    bool autos = false;
    if (lx_router_resolve(r, spec, out, &autos, &e) != LX_OK)
        return lx_fail(err, LX_ERR_CONFIG, "%s '%s': %s", what, spec, e.message);
    if (autos)
        return lx_fail(err, LX_ERR_CONFIG, "%s: '%s' is not a concrete target", what, spec);
    return LX_OK;
}

lx_status lx_router_new(const lx_config *cfg, lx_router **out, lx_error *err)
{
    lx_status st = LX_OK;
    *out = NULL;
    lx_router *r = calloc(1, sizeof *r);
    lx_scan_term *terms = NULL;
    lx_scan_regex *regexes = NULL;
    if (!r)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    r->cfg = cfg;
    pthread_mutex_init(&r->sticky_mu, NULL);
    atomic_init(&r->sticky_used, false);
    r->toks = calloc(cfg->n_providers ? cfg->n_providers : 1, sizeof *r->toks);
    if (!r->toks) {
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cfg->n_providers; i++) {
        lx_local_tok *t = &r->toks[i];
        pthread_mutex_init(&t->mu, NULL);
        atomic_init(&t->ready, false);
        if (cfg->providers[i].type == LX_PROV_LOCAL && cfg->providers[i].model_path)
            t->p = &cfg->providers[i];
    }

    /* the scanner from `guard:` */
    const lx_guard_cfg *g = &cfg->guard;
    lx_scan_config sc = {0};
    for (size_t i = 0; i < g->n_disabled; i++) {
        int t = lx_scan_type_from_name(g->disabled[i]);
        if (t >= 0)
            sc.disabled |= 1u << t;
    }
    terms = calloc(g->n_terms ? g->n_terms : 1, sizeof *terms);
    regexes = calloc(g->n_regexes ? g->n_regexes : 1, sizeof *regexes);
    if (!terms || !regexes) {
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < g->n_terms; i++)
        terms[i] = (lx_scan_term){.type = g->terms[i].type, .word = g->terms[i].word};
    for (size_t i = 0; i < g->n_regexes; i++)
        regexes[i] = (lx_scan_regex){.type = g->regexes[i].type,
                                     .pattern = g->regexes[i].pattern,
                                     .caseless = g->regexes[i].caseless};
    sc.terms = terms;
    sc.n_terms = g->n_terms;
    sc.regexes = regexes;
    sc.n_regexes = g->n_regexes;
    if ((st = lx_scanner_new(&sc, &r->scanner, err)) != LX_OK)
        goto fail;

    /* default and escalate (lx_routing_check filled them for file configs;
     * an environment config gets the same rules here) */
    const lx_routing_cfg *rc = &cfg->routing;
    if (rc->default_target) {
        if ((st = resolve_default(r, rc->default_target, &r->def, "routing.default", err)) != LX_OK)
            goto fail;
    } else if (!first_of(cfg, true, &r->def) && cfg->default_model) {
        if ((st = resolve_default(r, cfg->default_model, &r->def, "default_model", err)) != LX_OK)
            goto fail;
    }
    if (rc->escalate) {
        if ((st = resolve_default(r, rc->escalate, &r->esc, "routing.escalate", err)) != LX_OK)
            goto fail;
    } else {
        lx_tspec d = {0};
        if (cfg->default_model &&
            lx_config_resolve(cfg, cfg->default_model, &d.p, &d.model, NULL) == LX_OK &&
            !d.p->local)
            r->esc = d;
        else
            first_of(cfg, false, &r->esc);
    }
    lx_tspec_str(&r->def, r->def_spec, sizeof r->def_spec);
    lx_tspec_str(&r->esc, r->esc_spec, sizeof r->esc_spec);
    free(terms);
    free(regexes);
    *out = r;
    return LX_OK;
fail:
    free(terms);
    free(regexes);
    lx_router_free(r);
    return st;
}

void lx_router_free(lx_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->toks && i < r->cfg->n_providers; i++) {
        lx_tokenizer_free(r->toks[i].tok);
        lx_template_free(r->toks[i].tmpl);
        pthread_mutex_destroy(&r->toks[i].mu);
    }
    free(r->toks);
    lx_scanner_free(r->scanner);
    pthread_mutex_destroy(&r->sticky_mu);
    free(r);
}

const lx_scanner *lx_router_scanner(const lx_router *r)
{
    return r ? r->scanner : NULL;
}

lx_status lx_route_scratch_new(const lx_router *r, lx_route_scratch **out, lx_error *err)
{
    *out = NULL;
    lx_route_scratch *sc = calloc(1, sizeof *sc);
    if (!sc)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    lx_buf_init(&sc->render, (size_t)64 << 20);
    lx_status st = lx_scan_scratch_new(r->scanner, &sc->scan, err);
    if (st != LX_OK) {
        free(sc);
        return st;
    }
    *out = sc;
    return LX_OK;
}

void lx_route_scratch_free(lx_route_scratch *sc)
{
    if (!sc)
        return;
    lx_scan_scratch_free(sc->scan);
    lx_buf_free(&sc->render);
    free(sc->ctx);
    free(sc);
}

/* ---- local tokenizers --------------------------------------------------- */

static lx_local_tok *local_tok(const lx_router *r, const lx_provider_cfg *p)
{
    size_t i = (size_t)(p - r->cfg->providers);
    if (i >= r->cfg->n_providers || !r->toks[i].p)
        return NULL;
    lx_local_tok *t = &r->toks[i];
    if (atomic_load_explicit(&t->ready, memory_order_acquire))
        return t;
    pthread_mutex_lock(&t->mu);
    if (!atomic_load_explicit(&t->ready, memory_order_relaxed)) {
        lx_gguf *g = NULL;
        lx_error e;
        lx_error_clear(&e);
        if (lx_gguf_open(p->model_path, &g, &e) != LX_OK) {
            snprintf(t->why, sizeof t->why, "%.190s", e.message);
        } else {
            if (lx_tokenizer_new(g, &t->tok, &e) != LX_OK) {
                t->tok = NULL;
                snprintf(t->why, sizeof t->why, "%.190s", e.message);
            }
            for (size_t id = 0; t->tok && id < lx_tokenizer_n_vocab(t->tok); id++) {
                size_t n = 0;
                if (lx_tokenizer_token_text(t->tok, (int32_t)id, &n) && n > t->max_piece)
                    t->max_piece = n;
            }
            if (lx_template_from_gguf(g, &t->tmpl, NULL) != LX_OK)
                t->tmpl = NULL;
            lx_gguf_str arch;
            char key[96];
            uint64_t n = 0;
            if (lx_gguf_get_str(g, "general.architecture", &arch) && arch.n < 64) {
                snprintf(key, sizeof key, "%.*s.context_length", (int)arch.n, arch.p);
                if (lx_gguf_get_u64(g, key, &n) && n <= (uint64_t)INT64_MAX)
                    t->n_ctx = (int64_t)n;
            }
            lx_gguf_close(g);
        }
        atomic_store_explicit(&t->ready, true, memory_order_release);
    }
    pthread_mutex_unlock(&t->mu);
    return t;
}

int64_t lx_router_context(const lx_router *r, const lx_tspec *t, const lx_model_info *info)
{
    const lx_provider_cfg *p = t->p;
    if (p->type == LX_PROV_LOCAL) {
        lx_local_tok *lt = local_tok(r, p);
        int64_t c = lt && lt->n_ctx ? lt->n_ctx : (info ? info->context : 0);
        if (p->num_ctx && (!c || p->num_ctx < c))
            c = p->num_ctx;
        return c;
    }
    if (p->type == LX_PROV_OLLAMA && p->num_ctx)
        return p->num_ctx;
    return info ? info->context : 0;
}

void lx_router_size(const lx_router *r, lx_route_scratch *sc, const lx_request *req,
                    const lx_tspec *t, int64_t est, bool exact, lx_tok_size *out)
{
    *out = (lx_tok_size){.count = est, .lo = est, .hi = est};
    if (t->p->type != LX_PROV_LOCAL)
        return;
    lx_local_tok *lt = local_tok(r, t->p);
    if (!lt || !lt->tok)
        return;
    lx_buf_reset(&sc->render);
    lx_status st = lt->tmpl ? lx_template_render(lt->tmpl, req, true, &sc->render, NULL)
                            : lx_template_render_plain(req, &sc->render, NULL);
    if (st != LX_OK)
        return;
    out->countable = true;
    int64_t len = (int64_t)sc->render.len;
    if (!exact) {
        out->lo = lt->max_piece ? (len + (int64_t)lt->max_piece - 1) / (int64_t)lt->max_piece : 0;
        out->hi = len + 3;
        out->count = est < out->lo ? out->lo : est > out->hi ? out->hi : est;
        return;
    }
    size_t n = 0;
    if (lx_tokenizer_count(lt->tok, sc->render.data ? sc->render.data : "", sc->render.len, true,
                           lt->tmpl != NULL, &n, NULL) != LX_OK) {
        out->countable = false;
        return;
    }
    out->exact = true;
    out->count = out->lo = out->hi = (int64_t)n;
}

static int64_t quarter(const char *s)
{
    return s ? ((int64_t)strlen(s) + 3) / 4 : 0;
}

int64_t lx_router_estimate(const lx_request *req)
{
    int64_t n = 3;
    for (size_t i = 0; i < req->n_messages; i++) {
        const lx_message *m = &req->messages[i];
        n += 4;
        for (size_t j = 0; j < m->n_parts; j++) {
            const lx_part *p = &m->parts[j];
            if (p->kind == LX_PART_IMAGE)
                n += 800;
            else
                n += quarter(p->text) + quarter(p->arguments) + quarter(p->name);
        }
    }
    for (size_t i = 0; i < req->n_tools; i++)
        n += 8 + quarter(req->tools[i].name) + quarter(req->tools[i].description) +
             quarter(req->tools[i].parameters);
    return n;
}

/* ---- stickiness --------------------------------------------------------- */

/* The fingerprint hashes 8 bytes per step (multiply and xor-shift); it
 * never leaves the process, so only its spread matters. Each text is
 * preceded by its length, each message by its role: distinct
 * conversations give distinct inputs. */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static uint64_t mix_text(uint64_t h, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    h = mix(h, (uint64_t)n);
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = mix(h, w);
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, s, n);
        h = mix(h, w);
    }
    return h;
}

uint64_t lx_router_fingerprint(const lx_request *req)
{
    uint64_t h = 0xcbf29ce484222325ull;
    bool user = false;
    for (size_t i = 0; req && i < req->n_messages && !user; i++) {
        const lx_message *m = &req->messages[i];
        if (m->role != LX_ROLE_SYSTEM && m->role != LX_ROLE_USER)
            continue;
        user = m->role == LX_ROLE_USER;
        h = mix(h, user ? 0x5555ull : 0x5353ull);
        for (size_t j = 0; j < m->n_parts; j++)
            if (m->parts[j].kind == LX_PART_TEXT)
                h = mix_text(h, m->parts[j].text);
    }
    if (!user)
        return 0;
    h ^= h >> 32;
    return h ? h : 1;
}

bool lx_router_sticky_has(const lx_router *cr, uint64_t fp)
{
    lx_router *r = (lx_router *)cr; /* the sticky set is the one mutable part */
    if (!fp)
        return false;
    size_t s = (size_t)(fp % LX_STICKY_SETS);
    bool hit = false;
    pthread_mutex_lock(&r->sticky_mu);
    for (int w = 0; w < LX_STICKY_WAYS; w++)
        if (r->sticky_fp[s][w] == fp) {
            r->sticky_at[s][w] = ++r->sticky_clock;
            hit = true;
            break;
        }
    pthread_mutex_unlock(&r->sticky_mu);
    return hit;
}

void lx_router_sticky_add(const lx_router *cr, uint64_t fp)
{
    lx_router *r = (lx_router *)cr;
    if (!fp)
        return;
    size_t s = (size_t)(fp % LX_STICKY_SETS);
    pthread_mutex_lock(&r->sticky_mu);
    int victim = 0;
    for (int w = 0; w < LX_STICKY_WAYS; w++) {
        if (r->sticky_fp[s][w] == fp) {
            victim = w;
            break;
        }
        if (r->sticky_at[s][w] < r->sticky_at[s][victim])
            victim = w;
    }
    r->sticky_fp[s][victim] = fp;
    r->sticky_at[s][victim] = ++r->sticky_clock;
    atomic_store_explicit(&r->sticky_used, true, memory_order_relaxed);
    pthread_mutex_unlock(&r->sticky_mu);
}

bool lx_router_sticky_used(const lx_router *r)
{
    return atomic_load_explicit(&r->sticky_used, memory_order_relaxed);
}

void lx_router_mark_sensitive(const lx_router *r, const lx_request *req)
{
    if (r && req && r->cfg->routing.sticky)
        lx_router_sticky_add(r, lx_router_fingerprint(req));
}
