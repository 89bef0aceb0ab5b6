/*
 * env.c — a configuration from environment variables alone (zero-config).
 *
 *   OPENAI_API_KEY / OPENAI_BASE_URL      -> "openai"    gpt-4o-mini, gpt-4o
 *   ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL-> "anthropic" claude-sonnet-4-5, claude-haiku-4-5
 *   GEMINI_API_KEY or GOOGLE_API_KEY      -> "gemini"    gemini-2.5-flash, gemini-2.5-pro
 *   OLLAMA_HOST ("host", "host:port" or a URL) -> "ollama" (any model)
 *   $LLMUX_MODEL, else $LLMUX_MODEL_DIR/stories260K/stories260K.gguf, else
 *   ../shared/models/stories260K/stories260K.gguf -> "local" (embedded engine)
 *
 * A variable that is set but empty counts as unset. The default model is
 * the local one when there is one, else the first provider's first model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_int.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static lx_provider_cfg *add(lx_config *cfg, const char *name, lx_provider_type type)
{
    lx_provider_cfg *p = &cfg->providers[cfg->n_providers++];
    p->name = lx_arena_strdup(cfg->arena, name);
    p->type = type;
    return p->name ? p : NULL;
}

static lx_status set_models(lx_config *cfg, lx_provider_cfg *p, const char *a, const char *b)
{
    p->models = lx_arena_calloc(cfg->arena, 2, sizeof *p->models);
    if (!p->models)
        return LX_ERR_NOMEM;
    p->models[0] = lx_arena_strdup(cfg->arena, a);
    p->models[1] = lx_arena_strdup(cfg->arena, b);
    p->n_models = 2;
    return p->models[0] && p->models[1] ? LX_OK : LX_ERR_NOMEM;
}

static lx_status set_base(lx_config *cfg, lx_provider_cfg *p, const char *var, lx_error *err)
{
    const char *v = env(var);
    if (!v)
        return LX_OK;
    if (!lx_url_ok(v))
        return lx_fail(err, LX_ERR_CONFIG, "%s: expected an http:// or https:// URL, got '%.80s'",
                       var, v);
    char *s = lx_arena_strdup(cfg->arena, v);
    if (!s)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    p->base_url = s;
    return LX_OK;
}

/* OLLAMA_HOST as Ollama itself reads it: "host", "host:port", or a URL. */
static lx_status ollama_base(lx_config *cfg, lx_provider_cfg *p, const char *v, lx_error *err)
{
    char url[512];
    bool has_scheme = strstr(v, "://") != NULL;
    const char *host = has_scheme ? strstr(v, "://") + 3 : v;
    /* a port is there when the last ':' comes after the last ']' (IPv6) */
    const char *colon = strrchr(host, ':'), *bracket = strrchr(host, ']');
    bool has_port = colon && (!bracket || colon > bracket);
    int n; /* with a scheme the port is the scheme's, as Ollama does */
    if (has_scheme)
        n = snprintf(url, sizeof url, "%s", v);
    else
        n = snprintf(url, sizeof url, "http://%s%s", v, has_port ? "" : ":11434");
    if (n < 0 || (size_t)n >= sizeof url || !lx_url_ok(url))
        return lx_fail(err, LX_ERR_CONFIG, "OLLAMA_HOST: cannot make a URL of '%.80s'", v);
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        url[--len] = '\0';
    if (!(p->base_url = lx_arena_strdup(cfg->arena, url)))
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    return LX_OK;
}

/* The GGUF model for the embedded engine, or NULL. Returns a heap string. */
static char *find_local_model(void)
{
    const char *m = env("LLMUX_MODEL");
    if (m)
        return strdup(m);
    char path[4096];
    const char *dir = env("LLMUX_MODEL_DIR");
    int n;
    if (dir) {
        n = snprintf(path, sizeof path, "%s/stories260K/stories260K.gguf", dir);
        if (n > 0 && (size_t)n < sizeof path && access(path, R_OK) == 0)
            return strdup(path);
    }
    const char *rel = "../shared/models/stories260K/stories260K.gguf";
    if (access(rel, R_OK) == 0) {
        char *abs = realpath(rel, NULL);
        return abs ? abs : strdup(rel);
    }
    return NULL;
}

lx_status lx_config_from_env(lx_config **out, lx_error *err)
{
    lx_config *cfg = NULL;
    char *model = NULL;
    lx_provider_cfg *p;
    lx_status st = lx_config_new_base("(environment)", &cfg, err);
    if (st != LX_OK)
        return st;
    cfg->providers = lx_arena_calloc(cfg->arena, 5, sizeof *cfg->providers);
    if (!cfg->providers)
        goto nomem;

    if (env("OPENAI_API_KEY") || env("OPENAI_BASE_URL")) {
        if (!(p = add(cfg, "openai", LX_PROV_OPENAI)) ||
            set_models(cfg, p, "gpt-4o-mini", "gpt-4o") != LX_OK)
            goto nomem;
        p->api_key_env = lx_arena_strdup(cfg->arena, "OPENAI_API_KEY");
        if ((st = set_base(cfg, p, "OPENAI_BASE_URL", err)) != LX_OK)
            goto fail;
    }
    if (env("ANTHROPIC_API_KEY") || env("ANTHROPIC_BASE_URL")) {
        if (!(p = add(cfg, "anthropic", LX_PROV_ANTHROPIC)) ||
            set_models(cfg, p, "claude-sonnet-4-5", "claude-haiku-4-5") != LX_OK)
            goto nomem;
        p->api_key_env = lx_arena_strdup(cfg->arena, "ANTHROPIC_API_KEY");
        if ((st = set_base(cfg, p, "ANTHROPIC_BASE_URL", err)) != LX_OK)
            goto fail;
    }
    if (env("GEMINI_API_KEY") || env("GOOGLE_API_KEY")) {
        if (!(p = add(cfg, "gemini", LX_PROV_GEMINI)) ||
            set_models(cfg, p, "gemini-2.5-flash", "gemini-2.5-pro") != LX_OK)
            goto nomem;
        p->api_key_env = lx_arena_strdup(cfg->arena, env("GEMINI_API_KEY") ? "GEMINI_API_KEY"
                                                                           : "GOOGLE_API_KEY");
    }
    const char *oh = env("OLLAMA_HOST");
    if (oh) {
        if (!(p = add(cfg, "ollama", LX_PROV_OLLAMA)))
            goto nomem;
        if ((st = ollama_base(cfg, p, oh, err)) != LX_OK)
            goto fail;
    }
    model = find_local_model();
    if (model) {
        if (!(p = add(cfg, "local", LX_PROV_LOCAL)) ||
            !(p->model_path = lx_arena_strdup(cfg->arena, model)))
            goto nomem;
    }
    for (size_t i = 0; i < cfg->n_providers; i++) {
        lx_provider_cfg *q = &cfg->providers[i];
        q->local = q->type == LX_PROV_OLLAMA || q->type == LX_PROV_LOCAL;
        if ((st = lx_provider_finish(cfg, q, NULL, err)) != LX_OK)
            goto fail;
    }
    if (lx_config_pick_default(cfg, true) != LX_OK)
        goto nomem;
    free(model);
    *out = cfg;
    return LX_OK;
nomem:
    st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
fail:
    free(model);
    lx_config_free(cfg);
    *out = NULL;
    return st;
}
