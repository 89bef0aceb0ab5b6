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

/* One complete line (without its end), read in place from the input or
 * from p->line when it arrived over several feeds. */
static lx_status process_line(lx_sse_parser *p, const char *l, size_t n, lx_sse_fn fn, void *ud,
                              lx_error *err)
{
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
    size_t lf = 0;         /* index of the next LF at or after i (len: none) */
    bool lf_known = false; /* lf was looked up and is still ahead */
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
        /* find the next line end: the next LF is looked up once and kept
         * (so CR-only lines do not rescan the rest), a CR before it ends
         * the line earlier */
        if (!lf_known || lf < i) {
            const char *q = memchr(data + i, '\n', len - i);
            lf = q ? (size_t)(q - data) : len;
            lf_known = true;
        }
        size_t j = lf;
        const char *cr = memchr(data + i, '\r', j - i);
        if (cr)
            j = (size_t)(cr - data);
        if (j == len) {
            if (j > i && lx_buf_append(&p->line, data + i, j - i) != LX_OK)
                return too_big(p, err);
            break;
        }
        const char *l = data + i;
        size_t n = j - i;
        if (p->line.len) { /* the line began in an earlier feed */
            if (n && lx_buf_append(&p->line, l, n) != LX_OK)
                return too_big(p, err);
            l = p->line.data;
            n = p->line.len;
        } else if (n > p->line.cap) { /* as if it had gone through p->line */
            return too_big(p, err);
        }
        if (data[j] == '\r')
            p->saw_cr = true;
        i = j + 1;
        lx_status st = process_line(p, l, n, fn, ud, err);
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
        st = process_line(p, p->line.data, p->line.len, fn, ud, err);
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
