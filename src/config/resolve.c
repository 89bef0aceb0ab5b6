/*
 * resolve.c — what a model name means in a configuration.
 *
 * In order:
 *   NULL or ""          the default model (resolved by the same rules);
 *   "provider/model"    split at the first '/', so the model may hold '/'
 *                       ("vllm/meta-llama/Llama-3-8B");
 *   "provider"          that provider's first model;
 *   "model"             the one provider that lists it (several: ambiguous).
 * A provider with no `models:` accepts any model name after "provider/".
 * A name with '/' whose prefix is not a provider is tried as a bare model,
 * for servers whose model ids hold '/'.
 *
 * Aliases (`aliases:`) are looked up first: an alias resolves to what its
 * target resolves to (aliases may name aliases, up to 8 deep). "auto", and
 * an alias whose target is "auto", resolve to nothing concrete: the router
 * decides per request. lx_config_resolve then fails with LX_ERR_NOTFOUND
 * and a message saying so; the router (router/router.h) treats such a
 * model as an auto-routed request and never calls this for it.
 */
#include <stdio.h>
#include <string.h>

#include "config/config_int.h"

static bool lists(const lx_provider_cfg *p, const char *model, const char **stored)
{
    for (size_t i = 0; i < p->n_models; i++)
        if (!strcmp(p->models[i], model)) {
            if (stored)
                *stored = p->models[i];
            return true;
        }
    return false;
}

/* "openai (gpt-4o-mini, gpt-4o), ollama (any model)" */
static void describe(const lx_config *c, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_providers && o + 1 < cap; i++) {
        const lx_provider_cfg *p = &c->providers[i];
        o += (size_t)snprintf(buf + o, cap - o, "%s%s (", i ? ", " : "", p->name);
        if (o >= cap)
            break;
        if (!p->n_models)
            o += (size_t)snprintf(buf + o, cap - o, "any model");
        for (size_t j = 0; j < p->n_models && o < cap; j++)
            o += (size_t)snprintf(buf + o, cap - o, "%s%s", j ? ", " : "", p->models[j]);
        if (o < cap)
            o += (size_t)snprintf(buf + o, cap - o, ")");
    }
}

static const lx_alias *alias_of(const lx_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_aliases; i++)
        if (!strcmp(c->aliases[i].name, name))
            return &c->aliases[i];
    return NULL;
}

static lx_status resolve(const lx_config *c, const char *spec, const lx_provider_cfg **prov,
                         const char **model, lx_error *err, int depth)
{
    char list[360];
    const lx_alias *al = alias_of(c, spec);
    if (al && !lx_config_provider(c, spec)) {
        if (depth >= 8)
            return lx_fail(err, LX_ERR_NOTFOUND, "alias '%.64s': too many levels (a loop?)", spec);
        if (!strcmp(al->target, "auto"))
            return lx_fail(err, LX_ERR_NOTFOUND,
                           "'%.64s' is an alias of auto: the router picks the model per request",
                           spec);
        return resolve(c, al->target, prov, model, err, depth + 1);
    }
    if (spec && !strcmp(spec, "auto"))
        return lx_fail(err, LX_ERR_NOTFOUND,
                       "'auto' is not one model: the router picks the model per request");
    if (!spec || !*spec) {
        if (c->n_providers == 0)
            return lx_fail(err, LX_ERR_NOTFOUND, "%s", LX_CONFIG_NO_PROVIDERS);
        if (!c->default_model || depth > 0)
            return lx_fail(err, LX_ERR_NOTFOUND,
                           "no default model: name one as provider/model or set default_model");
        return resolve(c, c->default_model, prov, model, err, depth + 1);
    }
    if (c->n_providers == 0)
        return lx_fail(err, LX_ERR_NOTFOUND, "unknown model '%.100s': %s", spec,
                       LX_CONFIG_NO_PROVIDERS);

    const char *slash = strchr(spec, '/');
    if (slash) {
        char name[64];
        size_t n = (size_t)(slash - spec);
        const lx_provider_cfg *p = NULL;
        if (n < sizeof name) {
            memcpy(name, spec, n);
            name[n] = '\0';
            p = lx_config_provider(c, name);
        }
        if (p) {
            const char *m = slash + 1;
            if (!*m) {
                if (!p->n_models)
                    return lx_fail(err, LX_ERR_NOTFOUND,
                                   "provider '%s' lists no models; name one as %s/MODEL", p->name,
                                   p->name);
                m = p->models[0];
            } else if (p->n_models && !lists(p, m, &m)) {
                describe(c, list, sizeof list);
                return lx_fail(err, LX_ERR_NOTFOUND,
                               "provider '%s' does not list model '%.100s'; configured: %s",
                               p->name, slash + 1, list);
            }
            *prov = p;
            *model = m;
            return LX_OK;
        }
    } else {
        const lx_provider_cfg *p = lx_config_provider(c, spec);
        if (p) {
            if (!p->n_models)
                return lx_fail(err, LX_ERR_NOTFOUND,
                               "provider '%s' lists no models; name one as %s/MODEL", p->name,
                               p->name);
            *prov = p;
            *model = p->models[0];
            return LX_OK;
        }
    }

    /* a bare model name: the providers that list it */
    const lx_provider_cfg *found = NULL;
    const char *found_model = NULL;
    size_t hits = 0;
    for (size_t i = 0; i < c->n_providers; i++) {
        const char *m;
        if (lists(&c->providers[i], spec, &m)) {
            if (!hits) {
                found = &c->providers[i];
                found_model = m;
            }
            hits++;
        }
    }
    if (hits == 1) {
        *prov = found;
        *model = found_model;
        return LX_OK;
    }
    if (hits > 1) {
        size_t o = 0;
        list[0] = '\0';
        for (size_t i = 0; i < c->n_providers && o < sizeof list; i++)
            if (lists(&c->providers[i], spec, NULL))
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s/%s", o ? ", " : "",
                                      c->providers[i].name, spec);
        return lx_fail(err, LX_ERR_INVALID, "model '%.100s' is ambiguous; say which: %s", spec,
                       list);
    }
    describe(c, list, sizeof list);
    return lx_fail(err, LX_ERR_NOTFOUND, "unknown model '%.100s'; configured: %s", spec, list);
}

lx_status lx_config_resolve(const lx_config *c, const char *spec, const lx_provider_cfg **prov,
                            const char **model, lx_error *err)
{
    const lx_provider_cfg *p = NULL;
    const char *m = NULL;
    if (!c)
        return lx_fail(err, LX_ERR_INVALID, "no configuration");
    lx_status st = resolve(c, spec, &p, &m, err, 0);
    if (st == LX_OK) {
        if (prov)
            *prov = p;
        if (model)
            *model = m;
    }
    return st;
}
