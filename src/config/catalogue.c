/*
 * catalogue.c — the model catalogue: context windows, features and prices.
 *
 * The built-in list is data/catalogue.yaml, compiled into the binary. It is
 * read with the same schema as the user's `catalogue:` section:
 *
 *   catalogue:
 *     - id: gpt-4o            # required; matched against model names
 *       provider: openai      # provider type it belongs to (optional)
 *       context: 128000       # tokens
 *       max_output: 16384     # tokens, 0 = unknown
 *       features: [tools, vision, json, reasoning]
 *       price: {input: 2.5, output: 10, cache_read: 1.25, cache_write: 0}
 *
 * A user entry whose id is already known changes only the fields it gives;
 * any other id is added. Lookup (lx_catalogue_find) tries the exact id, then
 * the longest id that is a prefix of the name followed by '-' or ':' (dated
 * snapshots, Ollama tags), then the same for the part after the last '/'.
 */
#include <stdio.h>
#include <string.h>

#include "config/config_int.h"

static const char *const feature_names[] = {"tools", "vision", "json", "reasoning", NULL};

const char *lx_feature_name(unsigned feature)
{
    for (int i = 0; feature_names[i]; i++)
        if (feature == (1u << i))
            return feature_names[i];
    return NULL;
}

/* Bits of the fields an entry gave, so overrides change only those. */
enum {
    SET_PROVIDER = 1 << 0,
    SET_CONTEXT = 1 << 1,
    SET_MAX_OUTPUT = 1 << 2,
    SET_FEATURES = 1 << 3,
    SET_IN = 1 << 4,
    SET_OUT = 1 << 5,
    SET_CREAD = 1 << 6,
    SET_CWRITE = 1 << 7,
};

typedef struct entry {
    lx_model_info m;
    unsigned set;
    const lx_ynode *id_node;
} entry;

static lx_status f_id(lx_yctx *y, const lx_ynode *v, void *o)
{
    entry *e = o;
    e->id_node = v;
    return lx_y_string(y, v, &e->m.id);
}

static lx_status f_provider(lx_yctx *y, const lx_ynode *v, void *o)
{
    static const char *const types[] = {"openai", "anthropic", "gemini", "ollama", "local", NULL};
    entry *e = o;
    int t;
    lx_status st = lx_y_choice(y, v, types, &t);
    if (st != LX_OK)
        return st;
    e->m.provider = lx_arena_strdup(y->arena, types[t]);
    e->set |= SET_PROVIDER;
    return e->m.provider ? LX_OK : LX_ERR_NOMEM;
}

static lx_status f_context(lx_yctx *y, const lx_ynode *v, void *o)
{
    entry *e = o;
    e->set |= SET_CONTEXT;
    return lx_y_int(y, v, 1, (int64_t)1 << 40, &e->m.context);
}

static lx_status f_max_output(lx_yctx *y, const lx_ynode *v, void *o)
{
    entry *e = o;
    e->set |= SET_MAX_OUTPUT;
    return lx_y_int(y, v, 0, (int64_t)1 << 40, &e->m.max_output);
}

static lx_status f_features(lx_yctx *y, const lx_ynode *v, void *o)
{
    entry *e = o;
    char w[200];
    if (!v || v->kind != LX_Y_SEQ)
        return lx_y_fail(y, v, "%s: expected a list of features (tools, vision, json, reasoning)",
                         lx_y_where(y, w, sizeof w));
    e->m.features = 0;
    for (size_t i = 0; i < v->n_kids; i++) {
        int f;
        lx_status st = lx_y_choice(y, v->kids[i], feature_names, &f);
        if (st != LX_OK)
            return st;
        e->m.features |= 1u << f;
    }
    e->set |= SET_FEATURES;
    return LX_OK;
}

#define PRICE_MAX 1e6 /* USD per million tokens; anything above is a typo */

static lx_status f_in(lx_yctx *y, const lx_ynode *v, void *o)
{
    entry *e = o;
    e->set |= SET_IN;
    return lx_y_number(y, v, 0, PRICE_MAX, &e->m.price_input);
}
static lx_status f_out(lx_yctx *y, const lx_ynode *v, void *o)
{
    entry *e = o;
    e->set |= SET_OUT;
    return lx_y_number(y, v, 0, PRICE_MAX, &e->m.price_output);
}
static lx_status f_cread(lx_yctx *y, const lx_ynode *v, void *o)
{
    entry *e = o;
    e->set |= SET_CREAD;
    return lx_y_number(y, v, 0, PRICE_MAX, &e->m.price_cache_read);
}
static lx_status f_cwrite(lx_yctx *y, const lx_ynode *v, void *o)
{
    entry *e = o;
    e->set |= SET_CWRITE;
    return lx_y_number(y, v, 0, PRICE_MAX, &e->m.price_cache_write);
}

// clang-format off
static const lx_yfield price_fields[] = {
    {"input", f_in},
    {"output", f_out},
    {"cache_read", f_cread},
    {"cache_write", f_cwrite},
};
// clang-format on

static lx_status f_price(lx_yctx *y, const lx_ynode *v, void *o)
{
    char w[200];
    return lx_y_map(y, v, lx_y_where(y, w, sizeof w), price_fields,
                    sizeof price_fields / sizeof price_fields[0], o);
}

// clang-format off
static const lx_yfield entry_fields[] = {
    {"id", f_id},
    {"provider", f_provider},
    {"context", f_context},
    {"max_output", f_max_output},
    {"features", f_features},
    {"price", f_price},
};
// clang-format on

static lx_model_info *find_exact(lx_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_catalogue; i++)
        if (!strcmp(cfg->catalogue[i].id, id))
            return &cfg->catalogue[i];
    return NULL;
}

static void merge(lx_model_info *dst, const entry *e)
{
    if (e->set & SET_PROVIDER)
        dst->provider = e->m.provider;
    if (e->set & SET_CONTEXT)
        dst->context = e->m.context;
    if (e->set & SET_MAX_OUTPUT)
        dst->max_output = e->m.max_output;
    if (e->set & SET_FEATURES)
        dst->features = e->m.features;
    if (e->set & SET_IN)
        dst->price_input = e->m.price_input;
    if (e->set & SET_OUT)
        dst->price_output = e->m.price_output;
    if (e->set & SET_CREAD)
        dst->price_cache_read = e->m.price_cache_read;
    if (e->set & SET_CWRITE)
        dst->price_cache_write = e->m.price_cache_write;
}

lx_status lx_catalogue_read(lx_yctx *y, const lx_ynode *seq, lx_config *cfg, bool from_config)
{
    char w[200], path[64];
    if (!seq || seq->kind != LX_Y_SEQ)
        return lx_y_fail(y, seq, "%s: expected a list of models (- id: ...)",
                         lx_y_where(y, w, sizeof w));
    /* room for every entry up front: the array never moves while reading */
    size_t cap = cfg->n_catalogue + seq->n_kids;
    lx_model_info *arr =
        lx_arena_grow(cfg->arena, cfg->catalogue, cfg->n_catalogue, cap ? cap : 1, sizeof *arr);
    if (!arr)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    cfg->catalogue = arr;
    for (size_t i = 0; i < seq->n_kids; i++) {
        entry e = {0};
        const lx_ynode *n = seq->kids[i];
        snprintf(path, sizeof path, "catalogue[%zu]", i);
        lx_status st =
            lx_y_map(y, n, path, entry_fields, sizeof entry_fields / sizeof entry_fields[0], &e);
        if (st != LX_OK)
            return st;
        if (!e.m.id)
            return lx_y_fail(y, n, "%s: missing required key 'id'", path);
        lx_model_info *dst = find_exact(cfg, e.m.id);
        if (dst && (!from_config || dst->from_config))
            return lx_y_fail(y, e.id_node, "%s.id: '%s' is listed twice", path, e.m.id);
        if (!dst) {
            dst = &cfg->catalogue[cfg->n_catalogue++];
            memset(dst, 0, sizeof *dst);
            dst->id = e.m.id;
        }
        merge(dst, &e);
        dst->from_config = from_config;
    }
    return LX_OK;
}

static lx_status f_builtin_list(lx_yctx *y, const lx_ynode *v, void *cfg)
{
    return lx_catalogue_read(y, v, cfg, false);
}

static const lx_yfield builtin_top[] = {{"catalogue", f_builtin_list}};

lx_status lx_config_new_base(const char *source, lx_config **out, lx_error *err)
{
    lx_status st;
    lx_config *cfg = NULL;
    lx_arena *tmp = NULL;
    lx_arena *a = lx_arena_new();
    if (!a)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    cfg = lx_arena_alloc(a, sizeof *cfg);
    if (!cfg) {
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->arena = a;
    cfg->source = lx_arena_strdup(a, source ? source : "(environment)");
    cfg->timeouts = lx_timeouts_default();
    lx_section_defaults(cfg);
    tmp = lx_arena_new();
    if (!cfg->source || !tmp) {
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    lx_ynode *root = NULL;
    lx_error e2;
    st = lx_ytree_parse(tmp, (const char *)lx_catalogue_yaml, lx_catalogue_yaml_len,
                        "catalogue.yaml", &root, &e2);
    if (st == LX_OK) {
        lx_yctx y = {.name = "catalogue.yaml", .arena = a, .err = &e2};
        st = lx_y_map(&y, root, "", builtin_top, 1, cfg);
    }
    if (st != LX_OK) {
        st = lx_fail(err, LX_ERR_INTERNAL, "built-in %s", e2.message);
        goto fail;
    }
    lx_arena_free(tmp);
    *out = cfg;
    return LX_OK;
fail:
    lx_arena_free(tmp);
    lx_arena_free(a);
    return st;
}

/* Is `id` a prefix of `name` ending at a '-' or ':' boundary? */
static bool prefix_at_boundary(const char *id, const char *name, size_t name_len)
{
    size_t n = strlen(id);
    return n < name_len && !strncmp(id, name, n) && (name[n] == '-' || name[n] == ':');
}

static const lx_model_info *find_in(const lx_config *c, const char *name, size_t len)
{
    const lx_model_info *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < c->n_catalogue; i++) {
        const char *id = c->catalogue[i].id;
        size_t n = strlen(id);
        if (n == len && !strncmp(id, name, len))
            return &c->catalogue[i];
        if (n > best_len && prefix_at_boundary(id, name, len)) {
            best = &c->catalogue[i];
            best_len = n;
        }
    }
    return best;
}

const lx_model_info *lx_catalogue_find(const lx_config *c, const char *model)
{
    if (!c || !model || !*model)
        return NULL;
    const lx_model_info *m = find_in(c, model, strlen(model));
    if (m)
        return m;
    /* "models/gemini-2.5-flash", "library/qwen2.5:7b": try the last segment */
    const char *slash = strrchr(model, '/');
    if (slash && slash[1])
        return find_in(c, slash + 1, strlen(slash + 1));
    return NULL;
}
