#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *lx_status_name(lx_status s)
{
    switch (s) {
    case LX_OK: return "ok";
    case LX_AGAIN: return "again";
    case LX_DONE: return "done";
    case LX_ERR_NOMEM: return "out_of_memory";
    case LX_ERR_INVALID: return "invalid";
    case LX_ERR_CONFIG: return "config";
    case LX_ERR_USAGE: return "usage";
    case LX_ERR_IO: return "io";
    case LX_ERR_PROTO: return "protocol";
    case LX_ERR_UPSTREAM: return "upstream";
    case LX_ERR_TIMEOUT: return "timeout";
    case LX_ERR_TOOBIG: return "too_big";
    case LX_ERR_NOTFOUND: return "not_found";
    case LX_ERR_CANCELLED: return "cancelled";
    case LX_ERR_UNSUPPORTED: return "unsupported";
    case LX_ERR_INTERNAL: return "internal";
    case LX_ERR_BLOCKED: return "blocked";
    case LX_ERR_LIMIT: return "limit";
    case LX_ERR_AUTH: return "auth";
    case LX_ERR_UNAVAILABLE: return "unavailable";
    }
    return "unknown";
}

lx_status lx_fail(lx_error *err, lx_status code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

int lx_error_http_status(const lx_error *e)
{
    if (e->http_status >= 400 && e->http_status < 600)
        return e->http_status;
    switch (e->code) {
    case LX_ERR_INVALID:
    case LX_ERR_USAGE:
    case LX_ERR_UNSUPPORTED:
        return 400;
    case LX_ERR_AUTH: return 401;
    case LX_ERR_BLOCKED: return 403;
    case LX_ERR_NOTFOUND: return 404;
    case LX_ERR_TOOBIG: return 413;
    case LX_ERR_LIMIT: return 429;
    case LX_ERR_CANCELLED: return 499;
    case LX_ERR_UPSTREAM:
    case LX_ERR_IO:
    case LX_ERR_PROTO:
        return 502;
    case LX_ERR_UNAVAILABLE: return 503;
    case LX_ERR_TIMEOUT: return 504;
    default: return 500;
    }
}

void lx_error_clear(lx_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

void lx_strlcpy(char *dst, const char *src, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}
