/*
 * upstream.h — outgoing HTTP on libcurl's multi interface, driven by libuv.
 *
 * One lx_upstream per event loop. Transfers run on that loop's thread: curl
 * tells us which sockets to watch (uv_poll per socket) and when to wake it
 * (one uv_timer); we never block. Connections are kept alive and reused
 * across transfers by the multi handle; HTTP/2 is used where the server
 * offers it (multiplexed); TLS is verified; the proxy environment variables
 * (http_proxy, https_proxy, no_proxy, ...) are honoured by libcurl.
 *
 * Timeouts, each reported by name in the error ("idle timeout: no data for
 * 1500 ms"):
 *   connect_ms    TCP + TLS handshake;
 *   first_byte_ms from the start until the first byte of the response body;
 *   idle_ms       longest silence between body bytes once the body started;
 *   total_ms      the whole transfer.
 *
 * Callbacks run on the loop thread, in order: on_head once (status and the
 * headers we care about), on_body zero or more times, on_done exactly once,
 * unless the transfer is cancelled, after which nothing more is called.
 * A callback may cancel its own transfer; on_body/on_head returning non-OK
 * aborts the transfer and on_done reports that status.
 *
 * Secrets: request headers are never logged (curl's verbose mode stays off).
 */
#ifndef LX_NET_UPSTREAM_H
#define LX_NET_UPSTREAM_H

#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/status.h"

typedef struct lx_upstream lx_upstream;
typedef struct lx_http_call lx_http_call;

typedef struct lx_http_head {
    int status;               /* final HTTP status (1xx skipped) */
    const char *content_type; /* "" when absent; borrowed */
    int64_t retry_after_ms;   /* from Retry-After (seconds or HTTP date); -1 when absent */
} lx_http_head;

typedef struct lx_http_cbs {
    lx_status (*on_head)(void *ud, const lx_http_head *h);
    lx_status (*on_body)(void *ud, const char *data, size_t len);
    /* st: LX_OK for a complete response (any HTTP status); else why it
     * failed (LX_ERR_TIMEOUT, LX_ERR_IO, or a callback's status), err set. */
    void (*on_done)(void *ud, lx_status st, const lx_error *err);
} lx_http_cbs;

typedef struct lx_http_request {
    const char *method;  /* "POST", "GET" */
    const char *url;
    const char *headers; /* "Name: value\n" lines; may be NULL */
    const char *body;    /* copied by lx_upstream_start; may be NULL */
    size_t body_len;
    lx_timeouts timeouts; /* zero fields: no limit of that kind */
} lx_http_request;

/* Creates the client for loop; caller frees with lx_upstream_free. */
lx_status lx_upstream_new(uv_loop_t *loop, lx_upstream **out, lx_error *err);
/* Cancels every transfer (no callbacks) and closes the handles; the loop must
 * run once more (uv_run) to finish closing before uv_loop_close. */
void lx_upstream_free(lx_upstream *u);

/* Starts a transfer. *out is valid until on_done returns or until cancelled. */
lx_status lx_upstream_start(lx_upstream *u, const lx_http_request *req, const lx_http_cbs *cbs,
                            void *ud, lx_http_call **out, lx_error *err);
/* Stops a transfer at once: the connection is closed, no further bytes are
 * read, no callback runs. Safe from inside the transfer's own callbacks. */
void lx_http_call_cancel(lx_http_call *c);

/* Bytes of request body sent and response received so far (metrics). */
uint64_t lx_http_call_bytes_sent(const lx_http_call *c);
uint64_t lx_http_call_bytes_received(const lx_http_call *c);

/* Parses a Retry-After value: delta seconds or an HTTP date relative to now
 * (unix seconds). -1 when unreadable. */
int64_t lx_parse_retry_after(const char *v, int64_t now);

#endif
