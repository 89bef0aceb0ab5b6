/* reliability.c — `reliability:` (placeholder: being written). */
#include "config/config_int.h"

void lx_reliability_defaults(lx_config *cfg)
{
    lx_reliability_cfg *r = &cfg->reliability;
    r->retry = (lx_retry_cfg){.max_attempts = 3, .base_ms = 250, .max_ms = 8000,
                              .deadline_ms = 120000, .max_retry_after_ms = 30000};
    r->breaker = (lx_breaker_cfg){.failures = 5, .window_ms = 30000, .open_ms = 15000,
                                  .half_open_probes = 1};
    r->midstream = LX_MIDSTREAM_ERROR;
    r->offline_probe_ms = 5000;
}
lx_status lx_parse_reliability(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    return lx_y_is_null(v) ? LX_OK : lx_y_fail(y, v, "reliability: not supported yet");
}
lx_status lx_reliability_check(lx_config *cfg, lx_yctx *y)
{
    return LX_OK;
}
