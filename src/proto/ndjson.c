#include "proto/ndjson.h"

#include <string.h>

void lx_ndjson_init(lx_ndjson_parser *p, size_t max_line)
{
    p->max_line = max_line ? max_line : LX_NDJSON_DEFAULT_MAX_LINE;
    lx_buf_init(&p->line, p->max_line);
}

void lx_ndjson_free(lx_ndjson_parser *p)
{
    lx_buf_free(&p->line);
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static lx_status emit(lx_ndjson_parser *p, lx_ndjson_fn fn, void *ud, lx_error *err)
{
    size_t n = p->line.len;
    const char *s = p->line.data ? p->line.data : "";
    if (n && s[n - 1] == '\r')
        n--;
    lx_status st = blank(s, n) ? LX_OK : fn(ud, s, n, err);
    lx_buf_reset(&p->line);
    return st;
}

lx_status lx_ndjson_feed(lx_ndjson_parser *p, const char *data, size_t len, lx_ndjson_fn fn,
                         void *ud, lx_error *err)
{
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        if (end > i && lx_buf_append(&p->line, data + i, end - i) != LX_OK)
            return lx_fail(err, LX_ERR_TOOBIG, "NDJSON line longer than %zu bytes", p->max_line);
        if (!nl)
            break;
        lx_status st = emit(p, fn, ud, err);
        if (st != LX_OK)
            return st;
        i = end + 1;
    }
    return LX_OK;
}

lx_status lx_ndjson_finish(lx_ndjson_parser *p, lx_ndjson_fn fn, void *ud, bool *pending,
                           lx_error *err)
{
    bool partial = !blank(p->line.data ? p->line.data : "", p->line.len);
    if (pending)
        *pending = partial;
    return partial ? emit(p, fn, ud, err) : LX_OK;
}
