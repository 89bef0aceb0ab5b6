/*
 * sections.c — defaults and whole-config checks of the sections that have
 * their own parser file (routing.c, reliability.c, server.c, account.c).
 */
#include "config/config_int.h"

void lx_section_defaults(lx_config *cfg)
{
    lx_routing_defaults(cfg);
    lx_reliability_defaults(cfg);
    lx_server_defaults(cfg);
    lx_account_defaults(cfg);
}

lx_status lx_sections_check(lx_config *cfg, lx_yctx *y)
{
    lx_status st;
    if ((st = lx_routing_check(cfg, y)) != LX_OK)
        return st;
    if ((st = lx_reliability_check(cfg, y)) != LX_OK)
        return st;
    if ((st = lx_server_check(cfg, y)) != LX_OK)
        return st;
    return lx_account_check(cfg, y);
}
