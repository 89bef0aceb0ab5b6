/*
 * loop.h — an event loop and what lives on it.
 *
 * llmux runs one libuv loop per worker thread. Per-loop services (the
 * upstream HTTP client today) hang off an lx_loop, reachable from the
 * uv_loop_t through its `data` pointer, so code that is handed a uv_loop_t
 * finds them without globals.
 */
#ifndef LX_NET_LOOP_H
#define LX_NET_LOOP_H

#include <uv.h>

#include "core/status.h"
#include "net/upstream.h"

typedef struct lx_loop {
    uv_loop_t uv;
    lx_upstream *upstream; /* created on first use */
} lx_loop;

lx_status lx_loop_init(lx_loop *l, lx_error *err);
/* Frees the services, runs the loop until every handle is closed, closes it. */
void lx_loop_close(lx_loop *l);

/* The upstream client of the lx_loop that owns uv (created on first use);
 * NULL with err set when uv is not an lx_loop or creation failed. */
lx_upstream *lx_loop_upstream(uv_loop_t *uv, lx_error *err);

#endif
