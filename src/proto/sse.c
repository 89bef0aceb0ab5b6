#include "proto/sse.h"

#include <string.h>

void lx_sse_init(lx_sse_parser *p, size_t max_event)
{
    memset(p, 0, sizeof *p);
    p->max_event = max_event ? max_event : LX_SSE_DEFAULT_MAX_EVENT;
    lx_buf_init(&p->line, p->max_event);
    lx_buf_init(&p->data, p->max_event);
    lx_buf_init(&p->event, 256);
}

void lx_sse_free(lx_sse_parser *p)
{
    lx_buf_free(&p->line);
    lx_buf_free(&p->data);
    lx_buf_free(&p->event);
}

static lx_status dispatch(lx_sse_parser *p, lx_sse_fn fn, void *ud, lx_error *err)
{
    lx_status st = LX_OK;
    if (p->have_data) {
        lx_sse_event ev = {
            .event = p->event.data ? p->event.data : "",
            .data = p->data.data ? p->data.data : "",
            .data_len = p->data.len,
        };
        st = fn(ud, &ev, err);
    }
    lx_buf_reset(&p->data);
    lx_buf_reset(&p->event);
    p->have_data = false;
    return st;
}

static lx_status too_big(lx_sse_parser *p, lx_error *err)
{
    return lx_fail(err, LX_ERR_TOOBIG, "SSE event larger than %zu bytes", p->max_event);
}

static lx_status process_line(lx_sse_parser *p, lx_sse_fn fn, void *ud, lx_error *err)
{
    const char *l = p->line.data ? p->line.data : "";
    size_t n = p->line.len;
    if (n == 0)
        return dispatch(p, fn, ud, err);
    if (l[0] == ':')
        return LX_OK;
    const char *colon = memchr(l, ':', n);
    size_t flen = colon ? (size_t)(colon - l) : n;
    const char *val = colon ? colon + 1 : l + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen && val[0] == ' ') {
        val++;
        vlen--;
    }
    if (flen == 4 && memcmp(l, "data", 4) == 0) {
        if (p->have_data && lx_buf_putc(&p->data, '\n') != LX_OK)
            return too_big(p, err);
        if (lx_buf_append(&p->data, val, vlen) != LX_OK)
            return too_big(p, err);
        p->have_data = true;
    } else if (flen == 5 && memcmp(l, "event", 5) == 0) {
        lx_buf_reset(&p->event);
        if (lx_buf_append(&p->event, val, vlen) != LX_OK)
            return lx_fail(err, LX_ERR_TOOBIG, "SSE event name too long");
    }
    /* id:, retry: and unknown fields are ignored */
    return LX_OK;
}

lx_status lx_sse_feed(lx_sse_parser *p, const char *data, size_t len, lx_sse_fn fn, void *ud,
                      lx_error *err)
{
    static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};
    size_t i = 0;
    while (!p->started && i < len) {
        if ((unsigned char)data[i] == BOM[p->bom]) {
            i++;
            if (++p->bom == 3)
                p->started = true;
            continue;
        }
        /* not a BOM after all: the bytes held back are ordinary data */
        p->started = true;
        if (p->bom && lx_buf_append(&p->line, BOM, p->bom) != LX_OK)
            return too_big(p, err);
    }
    while (i < len) {
        if (p->saw_cr) {
            p->saw_cr = false;
            if (data[i] == '\n') {
                i++;
                continue;
            }
        }
        /* find the next line end */
        size_t j = i;
        while (j < len && data[j] != '\n' && data[j] != '\r')
            j++;
        if (j > i && lx_buf_append(&p->line, data + i, j - i) != LX_OK)
            return too_big(p, err);
        if (j == len)
            break;
        if (data[j] == '\r')
            p->saw_cr = true;
        i = j + 1;
        lx_status st = process_line(p, fn, ud, err);
        lx_buf_reset(&p->line);
        if (st != LX_OK)
            return st;
    }
    return LX_OK;
}

lx_status lx_sse_finish(lx_sse_parser *p, lx_sse_fn fn, void *ud, bool *pending, lx_error *err)
{
    lx_status st = LX_OK;
    bool partial = p->line.len > 0 || p->have_data;
    if (p->line.len > 0) {
        st = process_line(p, fn, ud, err);
        lx_buf_reset(&p->line);
    }
    if (st == LX_OK)
        st = dispatch(p, fn, ud, err);
    if (pending)
        *pending = partial;
    return st;
}

lx_status lx_sse_write(lx_buf *out, const char *name, const char *data, size_t len)
{
    lx_status st = LX_OK;
    if (name && (st = lx_buf_printf(out, "event: %s\n", name)) != LX_OK)
        return st;
    size_t i = 0;
    for (;;) {
        const char *nl = len > i ? memchr(data + i, '\n', len - i) : NULL;
        size_t end = nl ? (size_t)(nl - data) : len;
        if ((st = lx_buf_puts(out, "data: ")) != LX_OK ||
            (st = lx_buf_append(out, data + i, end - i)) != LX_OK ||
            (st = lx_buf_putc(out, '\n')) != LX_OK)
            return st;
        if (!nl)
            break;
        i = end + 1;
    }
    return lx_buf_putc(out, '\n');
}
