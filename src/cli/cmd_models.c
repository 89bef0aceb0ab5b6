/*
 * llmux models — every model of every configured provider, with what the
 * catalogue knows about it.
 *
 *   llmux models [--config FILE] [--json]
 *
 * Table: NAME TYPE LOCALITY CONTEXT FEATURES $IN/M $OUT/M ("-" = unknown).
 * JSON:  {"models":[{"id":"openai/gpt-4o","provider":"openai","type":"openai",
 *         "locality":"remote","context":128000,"features":["tools",...],
 *         "price":{"input":2.5,"output":10,"cache_read":1.25,"cache_write":0}}]}
 * with null for what the catalogue does not know (the embedded engine's
 * models cost 0 whether catalogued or not). A provider that lists no
 * models (it accepts any name) shows as "PROVIDER/ *" (no space) with
 * "any_model": true.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cliutil.h"
#include "cli/commands.h"
#include "engine/gguf.h"

static void help(FILE *f)
{
    fprintf(f, "usage: llmux models [--config FILE] [--json]\n"
               "\n"
               "List the models of every configured provider, addressed as provider/model,\n"
               "with their context window, features and price (USD per million tokens) from\n"
               "the model catalogue; '-' where the catalogue does not know the model.\n"
               "\n"
               "options:\n"
               "  -c, --config FILE   read this configuration file\n"
               "  -j, --json          print {\"models\":[...]} instead of a table\n"
               "  -h, --help          this help\n"
               "\n"
               "exit status: 0 ok, 2 usage or configuration error (or no providers)\n");
}

/* "128k", "1M", "8192" -> short forms for the table. */
static void fmt_context(char *buf, size_t cap, int64_t n)
{
    if (n <= 0)
        snprintf(buf, cap, "-");
    else if (n % (1024 * 1024) == 0)
        snprintf(buf, cap, "%lldM", (long long)(n / (1024 * 1024)));
    else if (n % 1000000 == 0)
        snprintf(buf, cap, "%lldM", (long long)(n / 1000000));
    else if (n % 1000 == 0)
        snprintf(buf, cap, "%lldk", (long long)(n / 1000));
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, cap, "%lldk", (long long)(n / 1024));
    else if (n >= 1000)
        snprintf(buf, cap, "%lldk", (long long)((n + 500) / 1000));
    else
        snprintf(buf, cap, "%lld", (long long)n);
}

/* Up to 3 decimals, trailing zeros dropped: 2.5, 0.075, 10, 0. */
static void fmt_price(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.3f", v);
    char *dot = strchr(buf, '.');
    if (!dot)
        return;
    char *end = buf + strlen(buf);
    while (end > dot + 1 && end[-1] == '0')
        *--end = '\0';
    if (end == dot + 1)
        *dot = '\0';
}

static void fmt_features(char *buf, size_t cap, unsigned feats)
{
    size_t o = 0;
    buf[0] = '\0';
    for (unsigned f = 1; lx_feature_name(f) && o < cap; f <<= 1)
        if (feats & f)
            o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? "," : "", lx_feature_name(f));
    if (!buf[0])
        snprintf(buf, cap, "-");
}

/* Context window of an embedded-engine model, read from its GGUF metadata
 * ("{general.architecture}.context_length"); 0 when the file cannot tell. */
static int64_t local_context(const lx_provider_cfg *p)
{
    if (p->type != LX_PROV_LOCAL || !p->model_path)
        return 0;
    lx_gguf *g = NULL;
    if (lx_gguf_open(p->model_path, &g, NULL) != LX_OK)
        return 0;
    uint64_t n = 0;
    lx_gguf_str arch;
    char key[96];
    if (lx_gguf_get_str(g, "general.architecture", &arch) && arch.n < 64) {
        snprintf(key, sizeof key, "%.*s.context_length", (int)arch.n, arch.p);
        if (!lx_gguf_get_u64(g, key, &n) || n > INT64_MAX)
            n = 0;
    }
    lx_gguf_close(g);
    return (int64_t)n;
}

static int64_t context_of(const lx_provider_cfg *p, const lx_model_info *m)
{
    return m && m->context ? m->context : local_context(p);
}

static json_t *model_json(const lx_provider_cfg *p, const char *model, const lx_model_info *m)
{
    char id[512];
    snprintf(id, sizeof id, "%s/%s", p->name, model ? model : "*");
    json_t *feats = json_array();
    for (unsigned f = 1; m && lx_feature_name(f); f <<= 1)
        if (m->features & f)
            json_array_append_new(feats, json_string(lx_feature_name(f)));
    int64_t ctx = context_of(p, m);
    static const lx_model_info free_info = {0};
    const lx_model_info *pm = m ? m : (p->type == LX_PROV_LOCAL ? &free_info : NULL);
    json_t *price =
        pm ? json_pack("{s:f,s:f,s:f,s:f}", "input", pm->price_input, "output", pm->price_output,
                       "cache_read", pm->price_cache_read, "cache_write", pm->price_cache_write)
           : json_null();
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "id", id, "provider", p->name, "type",
                  lx_provider_type_name(p->type), "locality", p->local ? "local" : "remote",
                  "context", ctx ? json_integer(ctx) : json_null(), "max_output",
                  m && m->max_output ? json_integer(m->max_output) : json_null(), "features", feats,
                  "price", price);
    if (o && !model)
        json_object_set_new(o, "any_model", json_true());
    return o;
}

static int print_json(const lx_config *cfg)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < cfg->n_providers; i++) {
        const lx_provider_cfg *p = &cfg->providers[i];
        if (!p->n_models)
            json_array_append_new(list, model_json(p, NULL, NULL));
        for (size_t j = 0; j < p->n_models; j++)
            json_array_append_new(
                list, model_json(p, p->models[j], lx_catalogue_find(cfg, p->models[j])));
    }
    json_t *root = list ? json_pack("{s:o}", "models", list) : NULL;
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(root);
    if (!s) {
        fprintf(stderr, "llmux models: out of memory\n");
        return LX_EXIT_RUNTIME;
    }
    puts(s);
    free(s);
    return LX_EXIT_OK;
}

static int print_table(const lx_config *cfg)
{
    static const char *const headers[] = {"NAME",     "TYPE",  "LOCALITY", "CONTEXT",
                                          "FEATURES", "$IN/M", "$OUT/M"};
    lx_table *t = lx_table_new(7, headers);
    if (!t)
        goto nomem;
    lx_table_align_right(t, 3);
    lx_table_align_right(t, 5);
    lx_table_align_right(t, 6);
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const lx_provider_cfg *p = &cfg->providers[i];
        size_t n = p->n_models ? p->n_models : 1;
        for (size_t j = 0; j < n; j++) {
            char name[512], ctx[32], feats[64], in[32] = "-", out[32] = "-";
            const char *model = p->n_models ? p->models[j] : NULL;
            const lx_model_info *m = model ? lx_catalogue_find(cfg, model) : NULL;
            if (model)
                snprintf(name, sizeof name, "%s/%s", p->name, model);
            else
                snprintf(name, sizeof name, "%s/* (any model)", p->name);
            fmt_context(ctx, sizeof ctx, context_of(p, m));
            fmt_features(feats, sizeof feats, m ? m->features : 0);
            if (m) {
                fmt_price(in, sizeof in, m->price_input);
                fmt_price(out, sizeof out, m->price_output);
            } else if (p->type == LX_PROV_LOCAL) { /* the embedded engine is free */
                fmt_price(in, sizeof in, 0);
                fmt_price(out, sizeof out, 0);
            }
            const char *row[] = {
                name, lx_provider_type_name(p->type), p->local ? "local" : "remote", ctx, feats, in,
                out};
            if (lx_table_add(t, row) != LX_OK)
                goto nomem;
        }
    }
    lx_table_print(t, stdout);
    lx_table_free(t);
    return LX_EXIT_OK;
nomem:
    lx_table_free(t);
    fprintf(stderr, "llmux models: out of memory\n");
    return LX_EXIT_RUNTIME;
}

int lx_cmd_models(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool json = false;
    int c;
    lx_cli_getopt_reset();
    while ((c = lx_cli_getopt(argc, argv, "c:jh", opts)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            help(stdout);
            return LX_EXIT_OK;
        default:
            return LX_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return lx_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);

    lx_config *cfg;
    int rc = lx_cli_load_config(path, &cfg);
    if (rc != LX_EXIT_OK)
        return rc;
    if (cfg->n_providers == 0) {
        fprintf(stderr, "llmux: %s\n", LX_CONFIG_NO_PROVIDERS);
        rc = LX_EXIT_USAGE;
    } else {
        rc = json ? print_json(cfg) : print_table(cfg);
    }
    lx_config_free(cfg);
    return rc;
}
