/*
 * config.c — the config file: schema, validation, defaults, search order.
 *
 * Reading is three steps. The YAML text becomes an lx_ynode tree with
 * positions (ytree.c). The tree is walked against the field tables below,
 * each field parser checking its own value; cross-field rules (required
 * keys, type-specific keys, unique names) are checked once a provider's
 * mapping has been read, so their errors point at the right node. Last,
 * defaults are filled and default_model is resolved against the result.
 *
 * The top level is a table (top_fields): a new section is one row and one
 * parser that stores into lx_config.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_int.h"

#define CONFIG_MAX_BYTES ((size_t)1 << 20)
#define TIMEOUT_MAX_MS ((int64_t)7 * 24 * 3600 * 1000)

static const char *const type_names[] = {"openai", "anthropic", "gemini", "ollama", "local", NULL};

const char *lx_provider_type_name(lx_provider_type t)
{
    if ((unsigned)t < sizeof type_names / sizeof type_names[0] - 1)
        return type_names[t];
    return "unknown";
}

lx_status lx_provider_type_parse(const char *name, lx_provider_type *out)
{
    for (int i = 0; name && type_names[i]; i++)
        if (!strcmp(name, type_names[i])) {
            *out = (lx_provider_type)i;
            return LX_OK;
        }
    return LX_ERR_NOTFOUND;
}

lx_timeouts lx_timeouts_default(void)
{
    return (lx_timeouts){
        .connect_ms = 10000, .first_byte_ms = 60000, .idle_ms = 30000, .total_ms = 600000};
}

const char *lx_provider_default_base(lx_provider_type t)
{
    switch (t) {
    case LX_PROV_OPENAI:
        return "https://api.openai.com/v1";
    case LX_PROV_ANTHROPIC:
        return "https://api.anthropic.com";
    case LX_PROV_GEMINI:
        return "https://generativelanguage.googleapis.com/v1beta";
    case LX_PROV_OLLAMA:
        return "http://localhost:11434";
    case LX_PROV_LOCAL:
        return "";
    }
    return "";
}

const char *lx_provider_default_key_env(lx_provider_type t)
{
    switch (t) {
    case LX_PROV_OPENAI:
        return "OPENAI_API_KEY";
    case LX_PROV_ANTHROPIC:
        return "ANTHROPIC_API_KEY";
    case LX_PROV_GEMINI:
        return "GEMINI_API_KEY";
    default:
        return NULL;
    }
}

bool lx_provider_name_ok(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return n > 0 && n <= 63;
}

bool lx_url_ok(const char *s)
{
    const char *host;
    if (!strncmp(s, "http://", 7))
        host = s + 7;
    else if (!strncmp(s, "https://", 8))
        host = s + 8;
    else
        return false;
    if (!*host || *host == '/' || *host == ':' || *host == '?' || *host == '#')
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

static bool env_name_ok(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* ---- timeouts ----------------------------------------------------------- */

static lx_status f_connect(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, TIMEOUT_MAX_MS, &((lx_timeouts *)o)->connect_ms);
}
static lx_status f_first_byte(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, TIMEOUT_MAX_MS, &((lx_timeouts *)o)->first_byte_ms);
}
static lx_status f_idle(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, TIMEOUT_MAX_MS, &((lx_timeouts *)o)->idle_ms);
}
static lx_status f_total(lx_yctx *y, const lx_ynode *v, void *o)
{
    return lx_y_int(y, v, 1, TIMEOUT_MAX_MS, &((lx_timeouts *)o)->total_ms);
}

// clang-format off
static const lx_yfield timeout_fields[] = {
    {"connect_ms", f_connect},
    {"first_byte_ms", f_first_byte},
    {"idle_ms", f_idle},
    {"total_ms", f_total},
};
// clang-format on

static lx_status read_timeouts(lx_yctx *y, const lx_ynode *v, lx_timeouts *partial)
{
    char w[200];
    return lx_y_map(y, v, lx_y_where(y, w, sizeof w), timeout_fields,
                    sizeof timeout_fields / sizeof timeout_fields[0], partial);
}

/* Unset (0) fields of `partial` taken from `base`. */
static lx_timeouts merge_timeouts(const lx_timeouts *partial, const lx_timeouts *base)
{
    lx_timeouts t = *partial;
    if (!t.connect_ms)
        t.connect_ms = base->connect_ms;
    if (!t.first_byte_ms)
        t.first_byte_ms = base->first_byte_ms;
    if (!t.idle_ms)
        t.idle_ms = base->idle_ms;
    if (!t.total_ms)
        t.total_ms = base->total_ms;
    return t;
}

/* ---- providers ---------------------------------------------------------- */

typedef struct prov_parse {
    lx_provider_cfg p;
    lx_timeouts t; /* as written; 0 = inherit */
    const lx_ynode *node, *name_n, *type_n, *base_n, *key_n, *key_env_n, *locality_n, *model_n,
        *num_ctx_n, *models_n;
    bool has_type;
    int locality; /* -1 unset, 0 remote, 1 local */
} prov_parse;

static lx_status f_name(lx_yctx *y, const lx_ynode *v, void *o)
{
    prov_parse *pp = o;
    char w[200];
    pp->name_n = v;
    lx_status st = lx_y_string(y, v, &pp->p.name);
    if (st == LX_OK && !lx_provider_name_ok(pp->p.name))
        st = lx_y_fail(y, v,
                       "%s: '%.64s' is not a valid provider name (letters, digits, '_', '.', "
                       "'-'; at most 63)",
                       lx_y_where(y, w, sizeof w), pp->p.name);
    return st;
}

static lx_status f_type(lx_yctx *y, const lx_ynode *v, void *o)
{
    prov_parse *pp = o;
    int t;
    pp->type_n = v;
    lx_status st = lx_y_choice(y, v, type_names, &t);
    if (st == LX_OK) {
        pp->p.type = (lx_provider_type)t;
        pp->has_type = true;
    }
    return st;
}

static lx_status f_base_url(lx_yctx *y, const lx_ynode *v, void *o)
{
    prov_parse *pp = o;
    char w[200];
    pp->base_n = v;
    lx_status st = lx_y_string(y, v, &pp->p.base_url);
    if (st == LX_OK && !lx_url_ok(pp->p.base_url))
        st = lx_y_fail(y, v, "%s: expected an http:// or https:// URL, got '%.80s'",
                       lx_y_where(y, w, sizeof w), pp->p.base_url);
    if (st == LX_OK) { /* one canonical form: no trailing '/' */
        size_t n = strlen(pp->p.base_url);
        while (n > 0 && pp->p.base_url[n - 1] == '/')
            pp->p.base_url[--n] = '\0';
    }
    return st;
}

static lx_status f_api_key_env(lx_yctx *y, const lx_ynode *v, void *o)
{
    prov_parse *pp = o;
    char w[200];
    pp->key_env_n = v;
    lx_status st = lx_y_string(y, v, &pp->p.api_key_env);
    /* never echo the value: a key pasted here by mistake must not be printed */
    if (st == LX_OK && !env_name_ok(pp->p.api_key_env))
        st = lx_y_fail(y, v,
                       "%s: expected the name of an environment variable (like OPENAI_API_KEY), "
                       "not a key",
                       lx_y_where(y, w, sizeof w));
    return st;
}

static lx_status f_api_key(lx_yctx *y, const lx_ynode *v, void *o)
{
    prov_parse *pp = o;
    char w[200];
    pp->key_n = v;
    if (!v || v->kind != LX_Y_SCALAR || lx_y_is_null(v) || v->len == 0)
        return lx_y_fail(y, v, "%s: expected a string", lx_y_where(y, w, sizeof w));
    return lx_y_string(y, v, &pp->p.api_key);
}

static lx_status f_models(lx_yctx *y, const lx_ynode *v, void *o)
{
    prov_parse *pp = o;
    pp->models_n = v;
    return lx_y_strings(y, v, &pp->p.models, &pp->p.n_models);
}

static lx_status f_locality(lx_yctx *y, const lx_ynode *v, void *o)
{
    static const char *const loc[] = {"remote", "local", NULL};
    prov_parse *pp = o;
    pp->locality_n = v;
    return lx_y_choice(y, v, loc, &pp->locality);
}

static lx_status f_model(lx_yctx *y, const lx_ynode *v, void *o)
{
    prov_parse *pp = o;
    pp->model_n = v;
    return lx_y_string(y, v, &pp->p.model_path);
}

static lx_status f_num_ctx(lx_yctx *y, const lx_ynode *v, void *o)
{
    prov_parse *pp = o;
    pp->num_ctx_n = v;
    return lx_y_int(y, v, 1, (int64_t)1 << 31, &pp->p.num_ctx);
}

static lx_status f_prov_timeouts(lx_yctx *y, const lx_ynode *v, void *o)
{
    return read_timeouts(y, v, &((prov_parse *)o)->t);
}

// clang-format off
static const lx_yfield provider_fields[] = {
    {"name", f_name},
    {"type", f_type},
    {"base_url", f_base_url},
    {"api_key_env", f_api_key_env},
    {"api_key", f_api_key},
    {"models", f_models},
    {"locality", f_locality},
    {"model", f_model},
    {"num_ctx", f_num_ctx},
    {"timeouts", f_prov_timeouts},
};
// clang-format on

/* ---- top level ---------------------------------------------------------- */

typedef struct cfg_parse {
    lx_config *cfg;
    lx_timeouts global; /* as written */
    const lx_ynode *default_model_n;
    prov_parse *provs;
    size_t n_provs;
} cfg_parse;

/* Rules that involve several keys of one provider. */
static lx_status check_provider(lx_yctx *y, cfg_parse *cp, prov_parse *pp, const char *path)
{
    static const char *const need_type = "openai, anthropic, gemini, ollama, local";
    if (!pp->p.name)
        return lx_y_fail(y, pp->node, "%s: missing required key 'name'", path);
    if (!pp->has_type)
        return lx_y_fail(y, pp->node, "%s: missing required key 'type' (one of: %s)", path,
                         need_type);
    for (size_t i = 0; i < cp->n_provs; i++)
        if (&cp->provs[i] != pp && !strcmp(cp->provs[i].p.name, pp->p.name))
            return lx_y_fail(y, pp->name_n,
                             "%s.name: duplicate provider name '%s' (first defined at line %d)",
                             path, pp->p.name, cp->provs[i].name_n->line);
    bool local = pp->p.type == LX_PROV_LOCAL;
    if (local && !pp->p.model_path)
        return lx_y_fail(y, pp->node, "%s: type local needs 'model:' (the path of a GGUF file)",
                         path);
    if (!local && pp->model_n)
        return lx_y_fail(y, pp->model_n,
                         "%s.model: only type local takes a model file (did you mean 'models'?)",
                         path);
    if (local && pp->base_n)
        return lx_y_fail(y, pp->base_n, "%s.base_url: type local runs in-process and has no URL",
                         path);
    if (local && pp->locality == 0)
        return lx_y_fail(y, pp->locality_n, "%s.locality: type local always runs on this machine",
                         path);
    if (pp->num_ctx_n && pp->p.type != LX_PROV_OLLAMA && !local)
        return lx_y_fail(y, pp->num_ctx_n, "%s.num_ctx: only types ollama and local take num_ctx",
                         path);
    if (pp->key_n && pp->key_env_n)
        return lx_y_fail(y, pp->key_n, "%s: give either api_key or api_key_env, not both", path);
    if (local && (pp->key_n || pp->key_env_n))
        return lx_y_fail(y, pp->key_n ? pp->key_n : pp->key_env_n,
                         "%s: type local takes no API key", path);
    pp->p.local =
        pp->locality == 1 || (pp->locality < 0 && (local || pp->p.type == LX_PROV_OLLAMA));
    pp->p.line = pp->node->line;
    pp->p.col = pp->node->col;
    return LX_OK;
}

static lx_status f_providers(lx_yctx *y, const lx_ynode *v, void *o)
{
    cfg_parse *cp = o;
    char path[32];
    if (lx_y_is_null(v))
        return LX_OK;
    if (v->kind != LX_Y_SEQ)
        return lx_y_fail(y, v, "providers: expected a list of providers (- name: ...)");
    cp->provs = lx_arena_calloc(y->arena, v->n_kids ? v->n_kids : 1, sizeof *cp->provs);
    if (!cp->provs)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < v->n_kids; i++) {
        prov_parse *pp = &cp->provs[i];
        pp->node = v->kids[i];
        pp->locality = -1;
        snprintf(path, sizeof path, "providers[%zu]", i);
        cp->n_provs = i + 1;
        lx_status st = lx_y_map(y, pp->node, path, provider_fields,
                                sizeof provider_fields / sizeof provider_fields[0], pp);
        if (st == LX_OK)
            st = check_provider(y, cp, pp, path);
        if (st != LX_OK)
            return st;
    }
    return LX_OK;
}

static lx_status f_default_model(lx_yctx *y, const lx_ynode *v, void *o)
{
    cfg_parse *cp = o;
    cp->default_model_n = v;
    return lx_y_string(y, v, &cp->cfg->default_model);
}

static lx_status f_timeouts(lx_yctx *y, const lx_ynode *v, void *o)
{
    return read_timeouts(y, v, &((cfg_parse *)o)->global);
}

static lx_status f_catalogue(lx_yctx *y, const lx_ynode *v, void *o)
{
    if (lx_y_is_null(v))
        return LX_OK;
    return lx_catalogue_read(y, v, ((cfg_parse *)o)->cfg, true);
}

#define SECTION(fn)                                                                                \
    static lx_status f_##fn(lx_yctx *y, const lx_ynode *v, void *o)                                \
    {                                                                                              \
        return lx_parse_##fn(y, v, ((cfg_parse *)o)->cfg);                                         \
    }
SECTION(aliases)
SECTION(routing)
SECTION(guard)
SECTION(reliability)
SECTION(server)
SECTION(keys)
SECTION(ledger)
SECTION(budgets)
SECTION(cache)
#undef SECTION

/* The sections of a config file. */
// clang-format off
static const lx_yfield top_fields[] = {
    {"default_model", f_default_model},
    {"timeouts", f_timeouts},
    {"providers", f_providers},
    {"catalogue", f_catalogue},
    {"aliases", f_aliases},
    {"routing", f_routing},
    {"guard", f_guard},
    {"reliability", f_reliability},
    {"server", f_server},
    {"keys", f_keys},
    {"ledger", f_ledger},
    {"budgets", f_budgets},
    {"cache", f_cache},
};
// clang-format on

/* ---- defaults ----------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

lx_status lx_provider_finish(lx_config *cfg, lx_provider_cfg *p, const lx_timeouts *partial,
                             lx_error *err)
{
    lx_arena *a = cfg->arena;
    if (!p->base_url)
        p->base_url = lx_arena_strdup(a, lx_provider_default_base(p->type));
    if (!p->api_key && !p->api_key_env && lx_provider_default_key_env(p->type) &&
        !strcmp(p->base_url ? p->base_url : "", lx_provider_default_base(p->type)))
        p->api_key_env = lx_arena_strdup(a, lx_provider_default_key_env(p->type));
    if (!p->api_key && p->api_key_env) {
        const char *v = getenv(p->api_key_env);
        if (v && *v && !(p->api_key = lx_arena_strdup(a, v)))
            return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    }
    if (p->model_path && !strncmp(p->model_path, "~/", 2)) {
        const char *home = getenv("HOME");
        if (home && *home) {
            size_t n = strlen(home) + strlen(p->model_path);
            char *full = lx_arena_alloc(a, n + 1);
            if (!full)
                return lx_fail(err, LX_ERR_NOMEM, "out of memory");
            snprintf(full, n + 1, "%s%s", home, p->model_path + 1);
            p->model_path = full;
        }
    }
    if (p->type == LX_PROV_LOCAL && p->n_models == 0 && p->model_path) {
        p->models = lx_arena_calloc(a, 1, sizeof *p->models);
        if (!p->models || !(p->models[0] = lx_arena_strdup(a, base_name(p->model_path))))
            return lx_fail(err, LX_ERR_NOMEM, "out of memory");
        p->n_models = 1;
    }
    lx_timeouts none = {0};
    p->timeouts = merge_timeouts(partial ? partial : &none, &cfg->timeouts);
    if (!p->base_url)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    return LX_OK;
}

lx_status lx_config_pick_default(lx_config *cfg, bool prefer_local)
{
    if (cfg->default_model)
        return LX_OK;
    const lx_provider_cfg *pick = NULL;
    for (size_t i = 0; i < cfg->n_providers && !pick; i++)
        if (prefer_local && cfg->providers[i].type == LX_PROV_LOCAL && cfg->providers[i].n_models)
            pick = &cfg->providers[i];
    for (size_t i = 0; i < cfg->n_providers && !pick; i++)
        if (cfg->providers[i].n_models)
            pick = &cfg->providers[i];
    if (!pick)
        return LX_OK;
    size_t n = strlen(pick->name) + strlen(pick->models[0]) + 2;
    cfg->default_model = lx_arena_alloc(cfg->arena, n);
    if (!cfg->default_model)
        return LX_ERR_NOMEM;
    snprintf(cfg->default_model, n, "%s/%s", pick->name, pick->models[0]);
    return LX_OK;
}

/* ---- entry points ------------------------------------------------------- */

lx_status lx_config_parse(const char *yaml, size_t len, const char *name, lx_config **out,
                          lx_error *err)
{
    lx_config *cfg = NULL;
    lx_arena *tmp = NULL;
    lx_ynode *root = NULL;
    lx_error e;
    lx_error_clear(&e);
    if (!name)
        name = "(config)";
    *out = NULL;

    lx_status st = lx_config_new_base(name, &cfg, &e);
    if (st != LX_OK)
        goto fail;
    tmp = lx_arena_new();
    if (!tmp) {
        st = lx_fail(&e, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    st = lx_ytree_parse(tmp, yaml, len, name, &root, &e);
    if (st != LX_OK)
        goto fail;

    cfg_parse cp = {.cfg = cfg};
    lx_yctx y = {.name = name, .arena = cfg->arena, .err = &e};
    if (root && !lx_y_is_null(root)) {
        st = lx_y_map(&y, root, "", top_fields, sizeof top_fields / sizeof top_fields[0], &cp);
        if (st != LX_OK)
            goto fail;
    }
    cfg->timeouts = merge_timeouts(&cp.global, &cfg->timeouts);
    cfg->providers =
        lx_arena_calloc(cfg->arena, cp.n_provs ? cp.n_provs : 1, sizeof *cfg->providers);
    if (!cfg->providers) {
        st = lx_fail(&e, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cp.n_provs; i++) {
        cfg->providers[i] = cp.provs[i].p;
        st = lx_provider_finish(cfg, &cfg->providers[i], &cp.provs[i].t, &e);
        if (st != LX_OK)
            goto fail;
    }
    cfg->n_providers = cp.n_provs;

    if (cfg->default_model) {
        const lx_provider_cfg *p;
        const char *m;
        lx_error re;
        if (lx_config_resolve(cfg, cfg->default_model, &p, &m, &re) != LX_OK) {
            st = lx_y_fail(&y, cp.default_model_n, "default_model: %s", re.message);
            goto fail;
        }
    } else if (lx_config_pick_default(cfg, false) != LX_OK) {
        st = lx_fail(&e, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    st = lx_sections_check(cfg, &y);
    if (st != LX_OK)
        goto fail;
    lx_arena_free(tmp);
    *out = cfg;
    return LX_OK;
fail:
    lx_arena_free(tmp);
    lx_config_free(cfg);
    if (err)
        *err = e;
    return st;
}

/* Reads a whole file of at most CONFIG_MAX_BYTES into a heap string. */
static lx_status read_file(const char *path, char **out, size_t *len, lx_error *err)
{
    lx_status st = LX_OK;
    lx_buf b;
    lx_buf_init(&b, CONFIG_MAX_BYTES);
    FILE *f = fopen(path, "rb");
    if (!f)
        return lx_fail(err, LX_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (lx_buf_append(&b, chunk, n) != LX_OK) {
            st = lx_fail(err, LX_ERR_CONFIG, "%s: larger than %zu KiB; is this a config file?",
                         path, CONFIG_MAX_BYTES >> 10);
            goto done;
        }
    if (ferror(f)) {
        st = lx_fail(err, LX_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    *out = lx_buf_steal(&b, len);
    if (!*out)
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
done:
    fclose(f);
    lx_buf_free(&b);
    return st;
}

/* A relative `model:` is relative to the folder of the config file; the
 * result is absolute, so a dump of the config reads back from anywhere. */
static lx_status anchor_model_paths(lx_config *cfg, const char *file, lx_error *err)
{
    bool any = false;
    for (size_t i = 0; i < cfg->n_providers; i++)
        if (cfg->providers[i].model_path && cfg->providers[i].model_path[0] != '/')
            any = true;
    if (!any)
        return LX_OK;
    const char *slash = strrchr(file, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == file)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
    char *abs = realpath(dir, NULL);
    const char *base = abs ? abs : dir;
    lx_status st = LX_OK;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        lx_provider_cfg *p = &cfg->providers[i];
        if (!p->model_path || p->model_path[0] == '/')
            continue;
        size_t n = strlen(base) + 1 + strlen(p->model_path) + 1;
        char *full = lx_arena_alloc(cfg->arena, n);
        if (!full) {
            st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(full, n, "%s%s%s", base, strcmp(base, "/") ? "/" : "", p->model_path);
        p->model_path = full;
    }
    free(abs);
    return st;
}

static lx_status load_file(const char *path, lx_config **out, lx_error *err)
{
    char *text = NULL;
    size_t len = 0;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return lx_fail(err, LX_ERR_IO, "%s: is a directory, not a config file", path);
    lx_status st = read_file(path, &text, &len, err);
    if (st != LX_OK)
        return st;
    st = lx_config_parse(text, len, path, out, err);
    free(text);
    if (st == LX_OK && (st = anchor_model_paths(*out, path, err)) != LX_OK) {
        lx_config_free(*out);
        *out = NULL;
    }
    return st;
}

lx_status lx_config_load(const char *path, lx_config **out, lx_error *err)
{
    *out = NULL;
    if (path)
        return load_file(path, out, err);
    const char *env = getenv("LLMUX_CONFIG");
    if (env && *env)
        return load_file(env, out, err);
    if (access("llmux.yaml", F_OK) == 0)
        return load_file("llmux.yaml", out, err);
    char home_cfg[4096];
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n = -1;
    if (xdg && *xdg)
        n = snprintf(home_cfg, sizeof home_cfg, "%s/llmux/config.yaml", xdg);
    else if (home && *home)
        n = snprintf(home_cfg, sizeof home_cfg, "%s/.config/llmux/config.yaml", home);
    if (n > 0 && (size_t)n < sizeof home_cfg && access(home_cfg, F_OK) == 0)
        return load_file(home_cfg, out, err);
    return lx_config_from_env(out, err);
}

void lx_config_free(lx_config *c)
{
    if (c)
        lx_arena_free(c->arena);
}

const lx_provider_cfg *lx_config_provider(const lx_config *c, const char *name)
{
    for (size_t i = 0; c && name && i < c->n_providers; i++)
        if (!strcmp(c->providers[i].name, name))
            return &c->providers[i];
    return NULL;
}
