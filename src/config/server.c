/* server.c — `server:` and `keys:` (placeholder: being written). */
#include "config/config_int.h"

void lx_server_defaults(lx_config *cfg)
{
    lx_server_cfg *s = &cfg->server;
    s->listen = "127.0.0.1:8080";
    s->max_body = 8 << 20;
    s->header_timeout_ms = 10000;
    s->max_streams = 1024;
    s->drain_ms = 30000;
    s->access_log = "-";
}
lx_status lx_parse_server(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    return lx_y_is_null(v) ? LX_OK : lx_y_fail(y, v, "server: not supported yet");
}
lx_status lx_parse_keys(lx_yctx *y, const lx_ynode *v, lx_config *cfg)
{
    return lx_y_is_null(v) ? LX_OK : lx_y_fail(y, v, "keys: not supported yet");
}
lx_status lx_server_check(lx_config *cfg, lx_yctx *y)
{
    return LX_OK;
}
