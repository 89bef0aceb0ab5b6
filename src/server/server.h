/*
 * server.h — `llmux serve`: the HTTP gateway.
 *
 * One process, N worker threads. Each worker owns a libuv loop, its own
 * lx_dispatch (upstream calls run on that loop) and its own libmicrohttpd
 * daemon in external-epoll mode: MHD's epoll fd is watched with a uv_poll,
 * MHD_run runs when it is readable, and a uv timer follows MHD_get_timeout.
 * Every worker listens on the same address through its own SO_REUSEPORT
 * socket, so the kernel spreads connections across workers.
 *
 * The process-wide services (config, router, breakers, account) live in a
 * reference-counted bundle: SIGHUP loads a new config and builds a new
 * bundle; requests already running keep the old one until they end.
 * SIGTERM (or SIGINT) stops accepting, answers /readyz with 503, drains
 * in-flight requests for up to server.drain_ms and returns.
 *
 * Endpoints, headers, keys, limits and the access log: docs/server.md.
 */
#ifndef LX_SERVER_SERVER_H
#define LX_SERVER_SERVER_H

#include "core/status.h"

typedef struct lx_serve_opts {
    const char *config_path; /* NULL: the usual search (config.h) */
    const char *listen;      /* NULL: server.listen */
    int workers;             /* 0: server.workers */
} lx_serve_opts;

/* Runs the server until SIGTERM/SIGINT and the drain are over. LX_OK after
 * a clean stop; LX_ERR_CONFIG / LX_ERR_USAGE for a config or listen
 * address that cannot be used (nothing started); LX_ERR_IO when the
 * address cannot be bound. Prints one line on stderr once listening. */
lx_status lx_serve_run(const lx_serve_opts *o, lx_error *err);

#endif
