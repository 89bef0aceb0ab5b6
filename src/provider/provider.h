/*
 * provider.h — where a request runs: one interface for hosted APIs, local
 * servers and the embedded engine.
 *
 * A provider is made from its configuration and bound to one event loop.
 * lx_provider_start() begins a call; the answer arrives as lx_events on the
 * loop's thread, ending with exactly one terminal event (FINISH or ERROR).
 * After the terminal event the call is over and its handle is freed by the
 * provider: the caller must not touch it again. lx_call_cancel() ends a call
 * early (the caller went away): no more events are delivered, upstream work
 * stops at once (the HTTP transfer is aborted, the engine stops generating),
 * and the handle is freed. If the sink returns non-OK, the call is cancelled
 * the same way.
 *
 * ERROR events carry an lx_error with the provider name, HTTP status (0 when
 * not from HTTP), the provider's error type and message, and `code`:
 * LX_ERR_UPSTREAM (provider said no), LX_ERR_TIMEOUT, LX_ERR_IO (connection),
 * LX_ERR_PROTO (garbage or a stream cut before its terminator).
 *
 * Ownership: the request is copied or fully encoded before start returns;
 * the caller may free it at once.
 */
#ifndef LX_PROVIDER_PROVIDER_H
#define LX_PROVIDER_PROVIDER_H

#include <uv.h>

#include "config/config.h"
#include "core/types.h"

typedef struct lx_provider lx_provider;
typedef struct lx_call lx_call;

typedef struct lx_call_opts {
    const char *model;  /* model name at the provider (no "provider/" prefix) */
    bool stream;        /* the caller wants a stream (providers may stream anyway) */
    lx_timeouts timeouts; /* zero fields: the provider's configured values */
    int64_t *bytes_out;   /* optional: remote providers add the encoded request body's
                             size when the request is handed to the network */
} lx_call_opts;

typedef struct lx_provider_ops {
    lx_status (*start)(lx_provider *p, const lx_request *req, const lx_call_opts *o,
                       lx_event_fn sink, void *ud, lx_call **out, lx_error *err);
    void (*cancel)(lx_call *c);
    void (*destroy)(lx_provider *p);
} lx_provider_ops;

/* Every implementation's call object begins with this. */
struct lx_call {
    lx_provider *provider;
};

struct lx_provider {
    const lx_provider_ops *ops;
    const lx_provider_cfg *cfg; /* borrowed from the config, which outlives it */
    const lx_config *config;
    uv_loop_t *loop;
};

/* Makes the provider for cfg on loop. Remote types use the codec of their
 * dialect and the loop's upstream client; type local uses the embedded
 * engine. Caller frees with lx_provider_free. */
lx_status lx_provider_new(const lx_config *config, const lx_provider_cfg *cfg, uv_loop_t *loop,
                          lx_provider **out, lx_error *err);
void lx_provider_free(lx_provider *p);

static inline lx_status lx_provider_start(lx_provider *p, const lx_request *req,
                                          const lx_call_opts *o, lx_event_fn sink, void *ud,
                                          lx_call **out, lx_error *err)
{
    return p->ops->start(p, req, o, sink, ud, out, err);
}

void lx_call_cancel(lx_call *c);

/* Constructors of the implementations (used by lx_provider_new). */
lx_status lx_remote_provider_new(const lx_config *config, const lx_provider_cfg *cfg,
                                 uv_loop_t *loop, lx_provider **out, lx_error *err);
lx_status lx_local_provider_new(const lx_config *config, const lx_provider_cfg *cfg,
                                uv_loop_t *loop, lx_provider **out, lx_error *err);

#endif
