#include "provider/provider.h"

#include <stdlib.h>

lx_status lx_provider_new(const lx_config *config, const lx_provider_cfg *cfg, uv_loop_t *loop,
                          lx_provider **out, lx_error *err)
{
    *out = NULL;
    if (cfg->type == LX_PROV_LOCAL)
        return lx_local_provider_new(config, cfg, loop, out, err);
    return lx_remote_provider_new(config, cfg, loop, out, err);
}

void lx_provider_free(lx_provider *p)
{
    if (p)
        p->ops->destroy(p);
}

void lx_call_cancel(lx_call *c)
{
    if (c)
        c->provider->ops->cancel(c);
}
