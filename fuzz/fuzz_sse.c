/* libFuzzer target: the SSE parser (proto/sse.c).
 *
 * The first input byte seeds the split pattern; the rest is the stream. The
 * stream is parsed whole and in pieces; both runs must give the same events
 * and the same status (any split must be invisible), else the target traps. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/sse.h"

typedef struct {
    lx_buf log;
} sse_log;

static lx_status on_event(void *ud, const lx_sse_event *ev, lx_error *err)
{
    (void)err;
    sse_log *l = ud;
    if (strlen(ev->data) != ev->data_len && memchr(ev->data, 0, ev->data_len) == NULL)
        __builtin_trap(); /* data must be NUL-terminated at data_len */
    if (lx_buf_printf(&l->log, "[%s|%zu|", ev->event, ev->data_len) != LX_OK ||
        lx_buf_append(&l->log, ev->data, ev->data_len) != LX_OK ||
        lx_buf_putc(&l->log, ']') != LX_OK)
        return LX_ERR_NOMEM;
    return LX_OK;
}

static lx_status run(const char *s, size_t n, unsigned seed, sse_log *l)
{
    lx_sse_parser p;
    lx_sse_init(&p, 2048);
    lx_buf_init(&l->log, 0);
    lx_status st = LX_OK;
    size_t i = 0;
    while (i < n && st == LX_OK) {
        size_t k = n;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % 17;
            if (i == 0 && k < 3)
                k = 3; /* a BOM is only recognised whole in the first piece */
        }
        if (k > n - i)
            k = n - i;
        st = lx_sse_feed(&p, s + i, k, on_event, l, NULL);
        i += k;
    }
    bool pending = false;
    if (st == LX_OK)
        st = lx_sse_finish(&p, on_event, l, &pending, NULL);
    lx_sse_free(&p);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned seed = data[0] | 1u;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    sse_log whole, split;
    lx_status a = run(s, n, 0, &whole);
    lx_status b = run(s, n, seed, &split);
    if (a != b || whole.log.len != split.log.len ||
        (whole.log.len && memcmp(whole.log.data, split.log.data, whole.log.len) != 0))
        __builtin_trap();
    /* the writer's output parses back to the same data */
    if (n < 4096) {
        lx_buf out;
        lx_buf_init(&out, 0);
        if (lx_sse_write(&out, "x", s, n) == LX_OK && !memchr(s, '\r', n)) {
            sse_log back;
            lx_buf_init(&back.log, 0);
            lx_sse_parser p;
            lx_sse_init(&p, 0);
            if (lx_sse_feed(&p, out.data, out.len, on_event, &back, NULL) != LX_OK)
                __builtin_trap();
            char want[32];
            snprintf(want, sizeof want, "[x|%zu|", n);
            if (strncmp(back.log.data ? back.log.data : "", want, strlen(want)) != 0)
                __builtin_trap();
            lx_sse_free(&p);
            lx_buf_free(&back.log);
        }
        lx_buf_free(&out);
    }
    lx_buf_free(&whole.log);
    lx_buf_free(&split.log);
    return 0;
}
