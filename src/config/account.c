/* account.c — `ledger:`, `budgets:` and `cache:` (placeholder: being written). */
#include "config/config_int.h"

void lx_account_defaults(lx_config *cfg)
{
    cfg->ledger = (lx_ledger_cfg){.enabled = true, .retention_days = 30, .flush_ms = 200};
    cfg->budgets.at_limit = LX_AT_LIMIT_LOCAL;
    cfg->cache = (lx_cache_cfg){.mode = LX_CACHE_AUTO, .ttl_s = 86400, .max_mb = 256};
}
lx_status lx_parse_ledger(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    return lx_y_is_null(v) ? LX_OK : lx_y_fail(y, v, "ledger: not supported yet");
}
lx_status lx_parse_budgets(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    return lx_y_is_null(v) ? LX_OK : lx_y_fail(y, v, "budgets: not supported yet");
}
lx_status lx_parse_cache(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    return lx_y_is_null(v) ? LX_OK : lx_y_fail(y, v, "cache: not supported yet");
}
lx_status lx_account_check(lx_config *cfg, lx_yctx *y)
{
    return LX_OK;
}
