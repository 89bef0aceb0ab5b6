/* routing.c — `aliases:`, `routing:` and `guard:` (placeholder: being written). */
#include "config/config_int.h"

void lx_routing_defaults(lx_config *cfg)
{
    cfg->routing.privacy = LX_PRIVACY_ROUTE_LOCAL;
    cfg->routing.complexity_threshold = 0.55;
    cfg->routing.cascade_min_logprob = -1.5;
    cfg->routing.sticky = true;
}
lx_status lx_parse_aliases(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    return lx_y_is_null(v) ? LX_OK : lx_y_fail(y, v, "aliases: not supported yet");
}
lx_status lx_parse_routing(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    return lx_y_is_null(v) ? LX_OK : lx_y_fail(y, v, "routing: not supported yet");
}
lx_status lx_parse_guard(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    return lx_y_is_null(v) ? LX_OK : lx_y_fail(y, v, "guard: not supported yet");
}
lx_status lx_routing_check(lx_config *cfg, lx_yctx *y)
{
    return LX_OK;
}
