/*
 * price.c — what a usage costs on the model that answered.
 *
 * Catalogue prices are USD per 1M tokens. The usage counters never overlap
 * (core/types.h), so a cost is a plain sum:
 *   input        * price_input
 *   cache_read   * price_cache_read   (price_input when the catalogue gives 0)
 *   cache_write  * price_cache_write  (price_input when the catalogue gives 0)
 *   (output + reasoning) * price_output
 * Local targets (provider locality local) cost energy_usd_per_mtok for every
 * token, in or out (0 by default). A model without an entry, or with both
 * input and output prices 0, is "unknown": cost 0, *known false.
 */
#include "account/account.h"

static bool is_local(const lx_provider_cfg *p)
{
    return p && (p->local || p->type == LX_PROV_LOCAL);
}

static const lx_model_info *priced(const lx_config *cfg, const char *model)
{
    if (!model)
        return NULL;
    const lx_model_info *m = lx_catalogue_find(cfg, model);
    if (!m || (m->price_input <= 0 && m->price_output <= 0))
        return NULL;
    return m;
}

double lx_price_usd(const lx_config *cfg, const lx_provider_cfg *p, const char *model,
                    const lx_usage *u, bool *known)
{
    if (known)
        *known = false;
    if (!u)
        return 0;
    if (is_local(p)) {
        if (known)
            *known = true;
        double tok = (double)(lx_usage_total_input(u) + lx_usage_total_output(u));
        return tok * cfg->ledger.energy_usd_per_mtok / 1e6;
    }
    const lx_model_info *m = priced(cfg, model);
    if (!m)
        return 0;
    if (known)
        *known = true;
    double cr = m->price_cache_read > 0 ? m->price_cache_read : m->price_input;
    double cw = m->price_cache_write > 0 ? m->price_cache_write : m->price_input;
    double usd = (double)u->input * m->price_input + (double)u->cache_read * cr +
                 (double)u->cache_write * cw + (double)(u->output + u->reasoning) * m->price_output;
    return usd / 1e6;
}

double lx_price_max_usd(const lx_config *cfg, const lx_provider_cfg *p, const char *model,
                        int64_t prompt_tokens, int64_t max_output)
{
    if (prompt_tokens < 0)
        prompt_tokens = 0;
    const lx_model_info *info = model ? lx_catalogue_find(cfg, model) : NULL;
    if (max_output <= 0)
        max_output = info && info->max_output > 0 ? info->max_output : 4096;
    if (is_local(p))
        return (double)(prompt_tokens + max_output) * cfg->ledger.energy_usd_per_mtok / 1e6;
    const lx_model_info *m = priced(cfg, model);
    if (!m)
        return 0;
    return ((double)prompt_tokens * m->price_input + (double)max_output * m->price_output) / 1e6;
}
