/*
 * status.h — the one error convention of llmux.
 *
 * Every fallible function returns an lx_status. Results travel through
 * out-parameters. When a function also takes an `lx_error *err`, it fills it
 * on failure with a human-readable message that names the offending field,
 * and, for failures that came from a provider, the provider name, its HTTP
 * status and its error type. `err` may be NULL when the caller does not care.
 *
 * lx_error is a fixed-size value: it never owns heap memory, so it can be
 * copied, returned and dropped without cleanup.
 */
#ifndef LX_CORE_STATUS_H
#define LX_CORE_STATUS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LX_OK = 0,
    LX_AGAIN,           /* not ready yet; call again when the loop says so */
    LX_DONE,            /* a stream ended cleanly */
    LX_ERR_NOMEM,
    LX_ERR_INVALID,     /* bad input: malformed JSON, wrong field type, ... */
    LX_ERR_CONFIG,      /* bad configuration */
    LX_ERR_USAGE,       /* bad command-line usage */
    LX_ERR_IO,          /* file or socket error */
    LX_ERR_PROTO,       /* peer violated its wire protocol */
    LX_ERR_UPSTREAM,    /* provider answered with an error */
    LX_ERR_TIMEOUT,
    LX_ERR_TOOBIG,      /* a cap was hit */
    LX_ERR_NOTFOUND,
    LX_ERR_CANCELLED,
    LX_ERR_UNSUPPORTED,
    LX_ERR_INTERNAL,
    LX_ERR_BLOCKED,     /* policy refused the request (privacy guard, key scope) */
    LX_ERR_LIMIT,       /* a budget or rate limit is reached (HTTP 429) */
    LX_ERR_AUTH,        /* missing or bad credentials (HTTP 401) */
    LX_ERR_UNAVAILABLE, /* no target can take the request now (all down, offline) */
} lx_status;

typedef struct lx_error {
    lx_status code;
    int http_status;     /* 0 when not from HTTP */
    char provider[64];   /* "" when not from a provider */
    char type[64];       /* provider's error type, e.g. "rate_limit_error" */
    char message[512];
    int64_t retry_after_ms; /* provider's Retry-After (or our own reset time); 0 = none */
} lx_error;

/* Short stable name of a status ("invalid", "timeout", ...). Never NULL. */
const char *lx_status_name(lx_status s);

/* Fills err (if not NULL) with code and a printf-style message; returns code
 * so that callers can write `return lx_fail(err, LX_ERR_INVALID, "...")`. */
lx_status lx_fail(lx_error *err, lx_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The HTTP status an error answers with, the same in every dialect: the
 * provider's own status when it gave one (400..599), else by code:
 * invalid/usage/unsupported 400, auth 401, blocked 403, not_found 404,
 * too_big 413, limit 429, cancelled 499, upstream/io/protocol 502,
 * unavailable 503, timeout 504, anything else 500. */
int lx_error_http_status(const lx_error *e);

/* Clears err to "no error". */
void lx_error_clear(lx_error *err);

/* Copies a bounded string into a fixed field, always NUL-terminated. */
void lx_strlcpy(char *dst, const char *src, size_t cap);

#endif
