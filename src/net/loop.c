#include "net/loop.h"

#include <string.h>

lx_status lx_loop_init(lx_loop *l, lx_error *err)
{
    memset(l, 0, sizeof *l);
    int rc = uv_loop_init(&l->uv);
    if (rc != 0)
        return lx_fail(err, LX_ERR_INTERNAL, "uv_loop_init: %s", uv_strerror(rc));
    l->uv.data = l;
    return LX_OK;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void lx_loop_close(lx_loop *l)
{
    if (l->upstream) {
        lx_upstream_free(l->upstream);
        l->upstream = NULL;
    }
    uv_run(&l->uv, UV_RUN_DEFAULT);
    if (uv_loop_close(&l->uv) == UV_EBUSY) {
        uv_walk(&l->uv, close_walk, NULL);
        uv_run(&l->uv, UV_RUN_DEFAULT);
        uv_loop_close(&l->uv);
    }
}

lx_upstream *lx_loop_upstream(uv_loop_t *uv, lx_error *err)
{
    lx_loop *l = uv->data;
    if (!l || &l->uv != uv) {
        lx_fail(err, LX_ERR_INTERNAL, "event loop was not made by lx_loop_init");
        return NULL;
    }
    if (!l->upstream && lx_upstream_new(uv, &l->upstream, err) != LX_OK)
        return NULL;
    return l->upstream;
}
