/* libFuzzer target: the hand-written OpenAI whole-response reader
 * (proto/openai_fast.c) and writers (proto/openai_response.c, the final
 * stream chunks in proto/openai_stream.c) against jansson.
 *
 * The input is an upstream response body. (1) lx_openai_fast_response and
 * the jansson decoder must agree: when the fast reader takes the body, the
 * jansson decoder must succeed with the very same response (every field
 * and byte); the codec entry lx_openai_response_decode must give what the
 * jansson decoder gives (status, message, response). (2) When the body
 * decodes, the response is encoded by the hand-written and the jansson
 * encoder (a fixed id; `created` set when absent): same status, same
 * bytes. (3) The response is replayed as stream events (START, text and
 * thinking, TOOL_START/ARGS/END per call, USAGE, FINISH) into a stream
 * encoder with hand-written chunks and one without
 * (lx_openai_fast_enable): same bytes. Texts go whole or, picked by the
 * input's size, in pieces of 1 to 7 bytes cut inside characters too (the
 * UTF-8 carry). Any difference:
 * __builtin_trap(). The fast reader also runs on an exact-size copy so any
 * overrun shows under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/openai.h"

static void put_str(lx_buf *b, const char *s)
{
    if (s) {
        (void)lx_buf_printf(b, "%zu[", strlen(s));
        (void)lx_buf_puts(b, s);
        (void)lx_buf_puts(b, "]");
    } else {
        (void)lx_buf_puts(b, "(null)");
    }
}

static void describe(lx_buf *b, lx_status st, const lx_error *err, const lx_response *r)
{
    (void)lx_buf_printf(b, "status %d %s\n", (int)st, st ? err->message : "");
    if (st != LX_OK)
        return;
    put_str(b, r->id);
    put_str(b, r->model);
    put_str(b, r->provider);
    put_str(b, r->stop_sequence);
    (void)lx_buf_printf(b, "%d %lld %d %lld %lld %lld %lld %lld\n", (int)r->finish,
                        (long long)r->created, (int)r->has_usage, (long long)r->usage.input,
                        (long long)r->usage.cache_read, (long long)r->usage.cache_write,
                        (long long)r->usage.output, (long long)r->usage.reasoning);
    for (size_t i = 0; i < r->n_parts; i++) {
        const lx_part *p = &r->parts[i];
        (void)lx_buf_printf(b, "part %d %d ", (int)p->kind, (int)p->is_error);
        put_str(b, p->text);
        put_str(b, p->url);
        put_str(b, p->data);
        put_str(b, p->media_type);
        put_str(b, p->id);
        put_str(b, p->name);
        put_str(b, p->arguments);
        put_str(b, p->signature);
        (void)lx_buf_putc(b, '\n');
    }
}

static bool same_buf(const lx_buf *a, const lx_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void encode(const lx_response *r, const lx_codec_opts *o, bool fast, lx_buf *out)
{
    lx_error err = {0};
    lx_status st = fast ? lx_openai_response_encode(r, o, out, &err)
                        : lx_openai_response_encode_jansson(r, o, out, &err);
    (void)lx_buf_printf(out, "<%d %s>", (int)st, st ? err.message : "");
}

static void stream(const lx_response *r, const lx_codec_opts *o, bool fast, size_t step,
                   lx_buf *out)
{
    lx_openai_fast_enable(fast);
    lx_stream_encoder *e = lx_openai_stream_encoder_new(o);
    lx_openai_fast_enable(true);
    if (!e)
        return;
    lx_status st =
        e->event(e, &(lx_event){.kind = LX_EV_START, .id = r->id, .model = r->model}, out);
    int calls = 0;
    for (size_t i = 0; i < r->n_parts && st == LX_OK; i++) {
        const lx_part *p = &r->parts[i];
        if (p->kind == LX_PART_TOOL_CALL) { /* no NULL id: that one is random */
            int k = calls++;
            st = e->event(e,
                          &(lx_event){.kind = LX_EV_TOOL_START,
                                      .index = k,
                                      .id = p->id ? p->id : "call_fz",
                                      .name = p->name},
                          out);
            if (st == LX_OK)
                st = e->event(e,
                              &(lx_event){.kind = LX_EV_TOOL_ARGS,
                                          .index = k,
                                          .text = p->arguments,
                                          .len = p->arguments ? strlen(p->arguments) : 0},
                              out);
            if (st == LX_OK)
                st = e->event(e, &(lx_event){.kind = LX_EV_TOOL_END, .index = k}, out);
            continue;
        }
        lx_event ev = {.kind = p->kind == LX_PART_THINKING ? LX_EV_THINKING : LX_EV_TEXT,
                       .text = p->text,
                       .len = p->text ? strlen(p->text) : 0};
        if (!step || !p->text) {
            st = e->event(e, &ev, out);
            continue;
        }
        /* in pieces of `step` bytes, cut inside characters too (the carry) */
        size_t n = ev.len, at = 0;
        do {
            ev.text = p->text + at;
            ev.len = n - at < step ? n - at : step;
            at += ev.len;
            st = e->event(e, &ev, out);
        } while (st == LX_OK && at < n);
    }
    if (st == LX_OK && r->has_usage)
        st = e->event(e, &(lx_event){.kind = LX_EV_USAGE, .usage = r->usage}, out);
    if (st == LX_OK)
        st = e->event(e, &(lx_event){.kind = LX_EV_FINISH, .finish = r->finish}, out);
    (void)lx_buf_printf(out, "<%d>", (int)st);
    e->free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    lx_response *f = NULL, *j = NULL, *c = NULL;
    lx_error e1 = {0}, e2 = {0};
    bool took = lx_openai_fast_response(copy, size, &f);
    lx_status sj = lx_openai_response_decode_jansson(copy, size, &j, &e1);
    lx_status sc = lx_openai_response_decode(copy, size, &c, &e2);
    lx_buf dj = {0}, dc = {0}, df = {0};
    describe(&dj, sj, &e1, j);
    describe(&dc, sc, &e2, c);
    if (!same_buf(&dj, &dc))
        __builtin_trap();
    if (took) {
        describe(&df, LX_OK, NULL, f);
        if (!same_buf(&df, &dj))
            __builtin_trap();
    } else if (f) {
        __builtin_trap();
    }
    if (sj == LX_OK) {
        if (!j->created)
            j->created = 1732400000; /* else both read the clock */
        lx_codec_opts o = {.id = "chatcmpl-fuzz", .include_usage = (size & 1) != 0};
        lx_buf a = {0}, b = {0};
        lx_buf_init(&a, 0);
        lx_buf_init(&b, 0);
        encode(j, size & 2 ? &o : NULL, true, &a);
        encode(j, size & 2 ? &o : NULL, false, &b);
        /* without o and an id, both draw a random one: compare from "object" */
        if (!(size & 2) && !j->id) {
            const char *x = a.data ? strstr(a.data, "\"object\"") : NULL;
            const char *y = b.data ? strstr(b.data, "\"object\"") : NULL;
            if (!x != !y || (x && strcmp(x, y) != 0))
                __builtin_trap();
        } else if (!same_buf(&a, &b)) {
            __builtin_trap();
        }
        /* streams: `created` comes from the clock; retry across a second edge */
        bool same = false;
        for (int t = 0; t < 3 && !same; t++) {
            lx_buf_reset(&a);
            lx_buf_reset(&b);
            stream(j, &o, true, (size >> 2) % 8, &a);
            stream(j, &o, false, (size >> 2) % 8, &b);
            same = same_buf(&a, &b);
        }
        if (!same)
            __builtin_trap();
        lx_buf_free(&a);
        lx_buf_free(&b);
    }
    lx_buf_free(&dj);
    lx_buf_free(&dc);
    lx_buf_free(&df);
    lx_response_free(f);
    lx_response_free(j);
    lx_response_free(c);
    free(copy);
    return 0;
}
