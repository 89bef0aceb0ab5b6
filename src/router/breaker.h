/*
 * breaker.h — circuit breakers per provider/model.
 *
 * closed: requests flow; `failures` failures within `window_ms` open it.
 * open: requests skip it (the router leaves it out of plans) for `open_ms`.
 * half-open: up to `half_open_probes` requests at a time go through; a
 * success closes it, a failure opens it again for another open_ms.
 * Failures are: 5xx, 429, connection errors, timeouts, protocol errors
 * (not 4xx caused by the request, not cancellation).
 *
 * Unreachable is tracked per provider (any model): a connection refused,
 * reset or unresolvable host marks it; a success clears it.
 *
 * Thread-safe (one mutex); one lx_breakers per process. State lives in
 * memory here; the store interface (store/store.h) is where a shared
 * implementation plugs in for several instances.
 */
#ifndef LX_ROUTER_BREAKER_H
#define LX_ROUTER_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "router/router.h"

typedef struct lx_breakers lx_breakers;

typedef enum { LX_BREAKER_CLOSED = 0, LX_BREAKER_OPEN, LX_BREAKER_HALF_OPEN } lx_breaker_state;

lx_status lx_breakers_new(const lx_breaker_cfg *cfg, lx_breakers **out, lx_error *err);
void lx_breakers_free(lx_breakers *b);

/* State of provider/model at lx_breakers_now, as the router's
 * lx_health_fn wants it (ud = the lx_breakers): open -> DOWN; half-open ->
 * OK while a probe slot is free (so the primary stays first in the plan and
 * the next request probes it), else DOWN; a provider with a recent
 * connection-level failure -> UNREACHABLE. */
lx_health lx_breakers_health(void *b, const lx_provider_cfg *p, const char *model);
lx_breaker_state lx_breakers_state(lx_breakers *b, const char *provider, const char *model,
                                   int64_t now_ms);
/* May a request go now? In half-open this takes a probe slot (returned by
 * lx_breakers_report). false when open. */
bool lx_breakers_allow(lx_breakers *b, const char *provider, const char *model, int64_t now_ms);
/* The result of one attempt. failure: counts toward opening; unreachable:
 * a connection-level failure (for offline detection). */
void lx_breakers_report(lx_breakers *b, const char *provider, const char *model, bool failure,
                        bool unreachable, int64_t now_ms);
/* An attempt that ended with no verdict (cancelled, refused before sending):
 * gives back the half-open probe slot lx_breakers_allow took, if any. */
void lx_breakers_release(lx_breakers *b, const char *provider, const char *model, int64_t now_ms);

/* The clock every caller should pass as now_ms: CLOCK_MONOTONIC in ms, or
 * the one set with lx_breakers_set_clock (tests use a fake clock). */
int64_t lx_breakers_now(lx_breakers *b);
void lx_breakers_set_clock(lx_breakers *b, int64_t (*now)(void *ud), void *ud);
/* How long an "unreachable" verdict lasts (reliability.offline_probe_ms;
 * default 5000): a provider with a connection-level failure within this
 * time, and no success since, is LX_HEALTH_UNREACHABLE. */
void lx_breakers_set_offline_ms(lx_breakers *b, int64_t ms);

#endif
