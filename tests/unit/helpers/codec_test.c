/* The plain half of codec_test.h: nothing here asserts or uses Criterion,
 * since every unit test binary links this file. */
#define LX_CODEC_TEST_PLAIN
#include "helpers/codec_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

/* One event in the LX_TEST_LOG_LINES style. */
static lx_status log_line(lx_buf *b, const lx_event *ev, int tl, const char *tx)
{
    switch (ev->kind) {
    case LX_EV_START:
        return lx_buf_printf(b, "start %s %s\n", or_dash(ev->id), or_dash(ev->model));
    case LX_EV_TEXT:
        return lx_buf_printf(b, "text [%.*s]\n", tl, tx);
    case LX_EV_THINKING:
        return lx_buf_printf(b, "thinking [%.*s] sig=%s\n", tl, tx, or_dash(ev->signature));
    case LX_EV_TOOL_START:
        return lx_buf_printf(b, "tool_start %d %s %s\n", ev->index, or_dash(ev->id),
                             or_dash(ev->name));
    case LX_EV_TOOL_ARGS:
        return lx_buf_printf(b, "tool_args %d [%.*s]\n", ev->index, tl, tx);
    case LX_EV_TOOL_END:
        return lx_buf_printf(b, "tool_end %d\n", ev->index);
    case LX_EV_USAGE:
        return lx_buf_printf(b, "usage in=%lld cr=%lld cw=%lld out=%lld rs=%lld\n",
                             (long long)ev->usage.input, (long long)ev->usage.cache_read,
                             (long long)ev->usage.cache_write, (long long)ev->usage.output,
                             (long long)ev->usage.reasoning);
    case LX_EV_FINISH:
        return lx_buf_printf(b, "finish %s %s\n", lx_finish_name(ev->finish), or_dash(ev->text));
    case LX_EV_ERROR:
        return lx_buf_puts(b, "error\n");
    }
    return lx_buf_printf(b, "kind %d\n", (int)ev->kind);
}

/* One event in the LX_TEST_LOG_CALLS style. */
static lx_status log_call(lx_buf *b, const lx_event *ev, int tl, const char *tx)
{
    switch (ev->kind) {
    case LX_EV_START:
        return lx_buf_printf(b, "start(%s,%s) ", or_dash(ev->id), or_dash(ev->model));
    case LX_EV_TEXT:
        return lx_buf_printf(b, "text(%.*s) ", tl, tx);
    case LX_EV_THINKING:
        return lx_buf_printf(b, "thinking(%.*s|%s) ", tl, tx, or_dash(ev->signature));
    case LX_EV_TOOL_START:
        return lx_buf_printf(b, "tool_start(%d,%s,%s) ", ev->index, or_dash(ev->id),
                             or_dash(ev->name));
    case LX_EV_TOOL_ARGS:
        return lx_buf_printf(b, "tool_args(%d,%.*s) ", ev->index, tl, tx);
    case LX_EV_TOOL_END:
        return lx_buf_printf(b, "tool_end(%d) ", ev->index);
    case LX_EV_USAGE:
        return lx_buf_printf(b, "usage(in=%lld,cr=%lld,cw=%lld,out=%lld,rs=%lld) ",
                             (long long)ev->usage.input, (long long)ev->usage.cache_read,
                             (long long)ev->usage.cache_write, (long long)ev->usage.output,
                             (long long)ev->usage.reasoning);
    case LX_EV_FINISH:
        return lx_buf_printf(b, "finish(%s) ", lx_finish_name(ev->finish));
    case LX_EV_ERROR:
        return lx_buf_printf(b, "error(%s) ", ev->error ? ev->error->message : "");
    }
    return lx_buf_printf(b, "kind(%d) ", (int)ev->kind);
}

lx_status lx_test_rec_event(void *rec, const lx_event *ev)
{
    lx_test_rec *r = rec;
    r->count++;
    if (r->refuse_at && r->count >= r->refuse_at)
        return LX_ERR_CANCELLED;
    int tl = ev->text ? (int)ev->len : 0;
    const char *tx = ev->text ? ev->text : "";
    return r->style == LX_TEST_LOG_CALLS ? log_call(&r->log, ev, tl, tx)
                                         : log_line(&r->log, ev, tl, tx);
}

const char *lx_test_log(const lx_test_rec *r)
{
    return r->log.data ? r->log.data : "";
}

char *lx_test_slurp(const char *path, size_t *len)
{
    char *s = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0)
        goto fail;
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    s = malloc((size_t)n + 1);
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n)
        goto fail;
    s[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return s;
fail:
    free(s);
    fclose(f);
    return NULL;
}

lx_status lx_test_feed(lx_stream_decoder *d, const char *data, size_t n, size_t step, unsigned seed,
                       lx_error *err)
{
    lx_status st = LX_OK;
    size_t i = 0;
    while (i < n && st == LX_OK) {
        size_t k = step ? step : n;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % 64;
        }
        if (k > n - i)
            k = n - i;
        st = d->feed(d, data + i, k, err);
        i += k;
    }
    if (st == LX_OK)
        st = d->finish(d, err);
    return st;
}

bool lx_test_streq(const char *a, const char *b)
{
    if (!a || !*a)
        return !b || !*b;
    return b && strcmp(a, b) == 0;
}

lx_part *lx_test_add_part(lx_request *r, lx_message *m, lx_part_kind k, const char *text)
{
    lx_part *p = lx_message_add_part(r, m, k);
    p->text = text ? lx_arena_strdup(r->arena, text) : NULL;
    return p;
}

lx_status lx_test_bridge_event(void *bridge, const lx_event *ev)
{
    lx_test_bridge *b = bridge;
    return b->enc->event(b->enc, ev, b->out);
}
