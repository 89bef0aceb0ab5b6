/* libFuzzer target: the hand-written OpenAI chunk reader (proto/openai_fast.c)
 * against jansson.
 *
 * The first byte picks how the rest is used: even, as one `data:` chunk
 * (line breaks turned into spaces, so it stays one chunk) followed by
 * [DONE] unless bit 1 is set; odd, as a raw SSE stream. The stream goes
 * through an OpenAI stream decoder with the fast path on and through one with
 * it off (lx_openai_fast_enable); bits 2-3 pick which event the sink
 * refuses (0: none). The two logs — every event field and text byte, the
 * final status, error message and type — must be identical, else
 * __builtin_trap(). The reader is also called directly with a buffer of
 * exactly n + 1 bytes, so any overrun shows under ASan. The shapes it takes
 * include the final chunks (finish_reason string, usage object, choices []
 * or null), so their events (FINISH reason, TOOL_END of open calls, USAGE)
 * are compared too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/openai.h"

typedef struct {
    lx_buf log;
    int count, refuse_at;
} rec;

static lx_status on_ev(void *ud, const lx_event *ev)
{
    rec *r = ud;
    if (r->refuse_at && ++r->count >= r->refuse_at)
        return LX_ERR_CANCELLED;
    (void)lx_buf_printf(&r->log, "%d:%d:%s:%s:%s:%s:%lld:%lld:%lld:%lld:%d:%zu[", (int)ev->kind,
                        ev->index, ev->id ? ev->id : "(null)", ev->model ? ev->model : "(null)",
                        ev->name ? ev->name : "(null)", ev->signature ? ev->signature : "(null)",
                        (long long)ev->usage.input, (long long)ev->usage.cache_read,
                        (long long)ev->usage.output, (long long)ev->usage.reasoning,
                        (int)ev->finish, ev->len);
    if (ev->text)
        (void)lx_buf_append(&r->log, ev->text, ev->len);
    (void)lx_buf_puts(&r->log, "]\n");
    return LX_OK;
}

static void run(const char *s, size_t n, bool fast, int refuse_at, lx_buf *log)
{
    rec r = {.refuse_at = refuse_at};
    lx_buf_init(&r.log, 0);
    lx_openai_fast_enable(fast);
    lx_stream_decoder *d = lx_openai_stream_decoder_new(on_ev, &r);
    lx_openai_fast_enable(true);
    if (!d) {
        lx_buf_free(&r.log);
        return;
    }
    lx_error err = {0};
    lx_status st = d->feed(d, s, n, &err);
    if (st == LX_OK)
        st = d->finish(d, &err);
    (void)lx_buf_printf(&r.log, "status %d %s type=%s", (int)st, st ? err.message : "",
                        st ? err.type : "");
    d->free(d);
    *log = r.log;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned mode = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    char *buf = malloc(n + 1);
    lx_openai_fast_chunk c;
    if (buf && lx_openai_fast_parse(in, n, buf, &c)) {
        if (c.content && c.content[c.content_len] != '\0')
            __builtin_trap();
        if (c.has_usage && (c.usage.input < 0 || c.usage.output < 0 || c.usage.cache_read < 0 ||
                            c.usage.reasoning < 0))
            __builtin_trap();
    }
    free(buf);

    lx_buf s;
    lx_buf_init(&s, 0);
    if (mode & 1) {
        (void)lx_buf_append(&s, in, n);
    } else {
        (void)lx_buf_puts(&s, "data: ");
        size_t at = s.len;
        (void)lx_buf_append(&s, in, n);
        for (size_t i = at; i < s.len; i++)
            if (s.data[i] == '\n' || s.data[i] == '\r')
                s.data[i] = ' ';
        (void)lx_buf_puts(&s, "\n\n");
        if (!(mode & 2))
            (void)lx_buf_puts(&s, "data: [DONE]\n\n");
    }
    lx_buf a = {0}, b = {0};
    int refuse = (int)(mode >> 2 & 3);
    run(s.data ? s.data : "", s.len, true, refuse, &a);
    run(s.data ? s.data : "", s.len, false, refuse, &b);
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        __builtin_trap();
    lx_buf_free(&a);
    lx_buf_free(&b);
    lx_buf_free(&s);
    return 0;
}
