/*
 * dump.c — the effective configuration as YAML, and the warnings that do not
 * stop a load.
 *
 * The dump is the same schema a user writes, with every default filled in,
 * so it can be read back. Secrets never appear: an api_key written in the
 * file shows as a masked string, a key from the environment as a comment
 * next to api_key_env. The built-in catalogue is not repeated; entries the
 * user added or changed are.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config/config_int.h"

void lx_config_mask_key(const char *key, char *out, size_t cap)
{
    size_t n = key ? strlen(key) : 0;
    if (n > 6) /* at least 4 characters stay hidden */
        snprintf(out, cap, "%.3s\u2026(%zu chars)", key, n);
    else
        snprintf(out, cap, "\u2026(%zu chars)", n);
}

static bool plain_ok(const char *s)
{
    static const char *const reserved[] = {"true", "false", "yes", "no", "on",
                                           "off",  "null",  "y",   "n",  NULL};
    if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                 *s == '/' || *s == '.'))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_./:@+-", *p)))
            return false;
    for (int i = 0; reserved[i]; i++)
        if (!strcasecmp(s, reserved[i]))
            return false;
    return true;
}

/* A YAML scalar: plain when that reads back as the same string. */
static lx_status put_str(lx_buf *b, const char *s)
{
    if (plain_ok(s))
        return lx_buf_puts(b, s);
    lx_status st = lx_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; st == LX_OK && *p; p++) {
        if (*p == '"' || *p == '\\')
            st = lx_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            st = lx_buf_puts(b, "\\n");
        else if (*p == '\t')
            st = lx_buf_puts(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            st = lx_buf_printf(b, "\\x%02x", *p);
        else
            st = lx_buf_putc(b, (char)*p);
    }
    return st == LX_OK ? lx_buf_putc(b, '"') : st;
}

static lx_status put_kv(lx_buf *b, const char *indent, const char *key, const char *val)
{
    lx_status st = lx_buf_printf(b, "%s%s: ", indent, key);
    if (st == LX_OK)
        st = put_str(b, val);
    return st == LX_OK ? lx_buf_putc(b, '\n') : st;
}

static lx_status put_list(lx_buf *b, char *const *v, size_t n)
{
    lx_status st = lx_buf_putc(b, '[');
    for (size_t i = 0; st == LX_OK && i < n; i++) {
        if (i)
            st = lx_buf_puts(b, ", ");
        if (st == LX_OK)
            st = put_str(b, v[i]);
    }
    return st == LX_OK ? lx_buf_puts(b, "]\n") : st;
}

static lx_status put_timeouts(lx_buf *b, const char *indent, const lx_timeouts *t)
{
    return lx_buf_printf(b,
                         "%stimeouts: {connect_ms: %lld, first_byte_ms: %lld, idle_ms: %lld, "
                         "total_ms: %lld}\n",
                         indent, (long long)t->connect_ms, (long long)t->first_byte_ms,
                         (long long)t->idle_ms, (long long)t->total_ms);
}

static lx_status put_provider(lx_buf *b, const lx_provider_cfg *p)
{
    char mask[64];
    lx_status st = LX_OK;
#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((st = (x)) != LX_OK)                                                                   \
            return st;                                                                             \
    } while (0)
    TRY(lx_buf_puts(b, "  - name: "));
    TRY(put_str(b, p->name));
    TRY(lx_buf_printf(b, "\n    type: %s\n", lx_provider_type_name(p->type)));
    if (p->type == LX_PROV_LOCAL)
        TRY(put_kv(b, "    ", "model", p->model_path ? p->model_path : ""));
    else
        TRY(put_kv(b, "    ", "base_url", p->base_url));
    TRY(lx_buf_printf(b, "    locality: %s\n", p->local ? "local" : "remote"));
    if (p->api_key_env) {
        TRY(lx_buf_puts(b, "    api_key_env: "));
        TRY(put_str(b, p->api_key_env));
        if (p->api_key) {
            lx_config_mask_key(p->api_key, mask, sizeof mask);
            TRY(lx_buf_printf(b, "  # set: %s\n", mask));
        } else {
            TRY(lx_buf_puts(b, "  # not set\n"));
        }
    } else if (p->api_key) {
        lx_config_mask_key(p->api_key, mask, sizeof mask);
        TRY(put_kv(b, "    ", "api_key", mask));
    }
    if (p->n_models) {
        TRY(lx_buf_puts(b, "    models: "));
        TRY(put_list(b, p->models, p->n_models));
    } else {
        TRY(lx_buf_puts(b, "    models: []  # any model\n"));
    }
    if (p->num_ctx)
        TRY(lx_buf_printf(b, "    num_ctx: %lld\n", (long long)p->num_ctx));
    TRY(put_timeouts(b, "    ", &p->timeouts));
    return st;
#undef TRY
}

static lx_status put_model(lx_buf *b, const lx_model_info *m)
{
    lx_status st = lx_buf_puts(b, "  - id: ");
    if (st == LX_OK)
        st = put_str(b, m->id);
    if (st == LX_OK && m->provider)
        st = lx_buf_printf(b, "\n    provider: %s", m->provider);
    if (st == LX_OK)
        st = lx_buf_printf(b, "\n    context: %lld\n    max_output: %lld\n    features: [",
                           (long long)m->context, (long long)m->max_output);
    bool first = true;
    for (unsigned f = 1; st == LX_OK && lx_feature_name(f); f <<= 1)
        if (m->features & f) {
            st = lx_buf_printf(b, "%s%s", first ? "" : ", ", lx_feature_name(f));
            first = false;
        }
    if (st == LX_OK)
        st = lx_buf_printf(b,
                           "]\n    price: {input: %g, output: %g, cache_read: %g, "
                           "cache_write: %g}\n",
                           m->price_input, m->price_output, m->price_cache_read,
                           m->price_cache_write);
    return st;
}

lx_status lx_config_dump(const lx_config *c, lx_buf *out)
{
    lx_status st = lx_buf_printf(out, "# effective configuration (source: %s)\n", c->source);
    if (st == LX_OK && c->default_model)
        st = put_kv(out, "", "default_model", c->default_model);
    if (st == LX_OK)
        st = put_timeouts(out, "", &c->timeouts);
    if (st == LX_OK)
        st = lx_buf_puts(out, c->n_providers ? "providers:\n" : "providers: []\n");
    for (size_t i = 0; st == LX_OK && i < c->n_providers; i++)
        st = put_provider(out, &c->providers[i]);
    bool any = false;
    for (size_t i = 0; st == LX_OK && i < c->n_catalogue; i++) {
        if (!c->catalogue[i].from_config)
            continue;
        if (!any)
            st = lx_buf_puts(out, "catalogue:\n");
        any = true;
        if (st == LX_OK)
            st = put_model(out, &c->catalogue[i]);
    }
    return st;
}

static void warn(lx_buf *out, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(lx_buf *out, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (lx_buf_vprintf(out, fmt, ap) == LX_OK && lx_buf_putc(out, '\n') == LX_OK)
        (*n)++;
    va_end(ap);
}

size_t lx_config_warnings(const lx_config *c, lx_buf *out)
{
    size_t n = 0;
    if (c->n_providers == 0)
        warn(out, &n, "%s", LX_CONFIG_NO_PROVIDERS);
    for (size_t i = 0; i < c->n_providers; i++) {
        const lx_provider_cfg *p = &c->providers[i];
        if (p->api_key_env && !p->api_key) {
            const char *v = getenv(p->api_key_env);
            warn(out, &n, "provider %s: %s is %s", p->name, p->api_key_env,
                 v ? "empty" : "not set");
        }
        if (p->api_key && !p->api_key_env && p->line > 0)
            warn(out, &n, "provider %s: api_key is written in %s; prefer api_key_env", p->name,
                 c->source);
        struct stat sb;
        if (p->type == LX_PROV_LOCAL && p->model_path && stat(p->model_path, &sb) != 0)
            warn(out, &n, "provider %s: model file %s not found", p->name, p->model_path);
        for (size_t j = 0; p->type != LX_PROV_LOCAL && j < p->n_models; j++)
            if (!lx_catalogue_find(c, p->models[j]))
                warn(out, &n,
                     "provider %s: model %s is not in the catalogue (context and prices "
                     "unknown; add it under catalogue:)",
                     p->name, p->models[j]);
    }
    if (c->n_providers > 0 && !c->default_model)
        warn(out, &n, "no default_model: commands need a model named as provider/model");
    return n;
}
