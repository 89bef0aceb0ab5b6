/*
 * test_openai_fast.c — the hand-written OpenAI chunk reader (proto/openai_fast.c)
 * against jansson.
 *
 * The reader may only accept what jansson reads the same way, so every
 * check here is differential: a stream goes through a decoder with the fast
 * path on and through one with it off (lx_openai_fast_enable), and the two
 * logs (every event field and text byte, every status, error message and
 * type) must be identical. Inputs: hand-written chunks (accepted and ones
 * that must fall back), then thousands of generated chunks with random key
 * order, whitespace, escapes, \u escapes with surrogate pairs, raw UTF-8 and
 * invalid bytes, then the same chunks with random byte mutations. A few
 * direct calls check that the reader really accepts the common shapes (so
 * the comparison is not vacuous) and refuses the ones it must.
 */
#include <criterion/criterion.h>
#include <stdio.h>
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
    lx_buf_printf(&r->log, "%d:%d:%s:%s:%s:%s:%lld:%lld:%lld:%lld:%d:%zu[", (int)ev->kind,
                  ev->index, ev->id ? ev->id : "(null)", ev->model ? ev->model : "(null)",
                  ev->name ? ev->name : "(null)", ev->signature ? ev->signature : "(null)",
                  (long long)ev->usage.input, (long long)ev->usage.cache_read,
                  (long long)ev->usage.output, (long long)ev->usage.reasoning, (int)ev->finish,
                  ev->len);
    if (ev->text) {
        cr_assert_eq(ev->text[ev->len], '\0', "event text must be NUL-terminated");
        lx_buf_append(&r->log, ev->text, ev->len);
    }
    lx_buf_puts(&r->log, "]\n");
    return LX_OK;
}

/* Runs `s` through a fresh decoder (fast path on or off), fed in pieces of
 * `step` bytes (0: whole), refusing the `refuse_at`th event; the log. */
static char *run(const char *s, size_t n, bool fast, size_t step, int refuse_at)
{
    rec r = {.refuse_at = refuse_at};
    lx_buf_init(&r.log, 0);
    lx_openai_fast_enable(fast);
    lx_stream_decoder *d = lx_openai_stream_decoder_new(on_ev, &r);
    lx_openai_fast_enable(true);
    cr_assert_not_null(d);
    lx_error err = {0};
    lx_status st = LX_OK;
    for (size_t i = 0; i < n && st == LX_OK; i += step ? step : n) {
        size_t k = step && n - i > step ? step : n - i;
        st = d->feed(d, s + i, k, &err);
    }
    if (st == LX_OK)
        st = d->finish(d, &err);
    lx_buf_printf(&r.log, "status %d %s type=%s", (int)st, st ? err.message : "",
                  st ? err.type : "");
    d->free(d);
    size_t len;
    return lx_buf_steal(&r.log, &len);
}

static void same(const char *s, size_t n)
{
    static const size_t steps[] = {0, 1, 7};
    for (int refuse = 0; refuse <= 2; refuse++)
        for (size_t i = 0; i < 3; i++) {
            char *a = run(s, n, true, steps[i], refuse);
            char *b = run(s, n, false, steps[i], refuse);
            cr_assert_str_eq(a, b, "fast and jansson paths differ on:\n%.*s", (int)n, s);
            free(a);
            free(b);
        }
}

/* Wraps chunks into a stream: "data: C\n\n" each, then [DONE] (if done). */
static void stream_of(lx_buf *out, const char *const *chunks, size_t k, bool done)
{
    lx_buf_reset(out);
    for (size_t i = 0; i < k; i++) {
        lx_buf_puts(out, "data: ");
        lx_buf_puts(out, chunks[i]);
        lx_buf_puts(out, "\n\n");
    }
    if (done)
        lx_buf_puts(out, "data: [DONE]\n\n");
}

static void same_chunks(const char *const *chunks, size_t k)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    stream_of(&b, chunks, k, true);
    same(b.data, b.len);
    stream_of(&b, chunks, k, false);
    same(b.data, b.len);
    lx_buf_free(&b);
}

#define HEAD                                                                                       \
    "\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1732400000,\"model\":" \
    "\"gpt-4o\""
#define CH(delta)                                                                                  \
    "{" HEAD ",\"choices\":[{\"index\":0,\"delta\":" delta                                         \
    ",\"logprobs\":null,\"finish_reason\":null}]}"

static const char *const accepted[] = {
    CH("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}"),
    CH("{\"content\":\"Hello\"}"),
    CH("{\"content\":\" w\\u00f6rld \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}"),
    CH("{\"content\":\"ü日本語😀\"}"),
    CH("{\"content\":null}"),
    CH("{}"),
    "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}",
    "{\"choices\":[]}",
    "{}",
    " {\r\n \"model\" : \"m\\u00e9\" ,\t\"id\":\"\\u0041\", \"choices\" : [ { \"delta\" : { "
    "\"content\" : \"a\" } , \"index\" : 0 } ] } ",
    "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":-0,\"model\":\"m\","
    "\"system_fingerprint\":\"fp_1\",\"service_tier\":\"default\",\"usage\":null,"
    "\"obfuscation\":\"ab12\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"z\"},"
    "\"finish_reason\":null}]}",
    "{\"system_fingerprint\":null,\"service_tier\":null,\"created\":0,\"choices\":[{}]}",
    CH("{\"content\":\"\\uFFFF\\uE000\\u0800\\u07FF\\u0080\\u007F\\u0001\\uDBFF\\uDFFF\"}"),
};

static const char *const fallback[] = {
    CH("{\"content\":\"a\",\"content\":\"b\"}"), /* duplicate key */
    "{\"id\":\"a\",\"id\":\"b\",\"choices\":[]}",
    CH("{\"reasoning_content\":\"hm\"}"),
    CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}"),
    "{" HEAD ",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}",
    "{" HEAD ",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}",
    "{" HEAD ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}},{\"index\":1,\"delta\":{"
             "\"content\":\"b\"}}]}",
    "{" HEAD ",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"b\"}}]}",
    "{" HEAD ",\"choices\":[{\"index\":00,\"delta\":{\"content\":\"b\"}}]}",
    "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}",
    "{\"x_groq\":{\"usage\":{\"prompt_tokens\":1}},\"choices\":[]}",
    "{\"created\":1.5,\"choices\":[]}",
    "{\"created\":01,\"choices\":[]}",
    "{\"created\":123456789012345678901234567890,\"choices\":[]}",
    "{\"i\\u0064\":\"x\",\"choices\":[]}", /* escape in a key */
    CH("{\"content\":\"\\u0000\"}"),
    CH("{\"content\":\"\\ud800\"}"),
    CH("{\"content\":\"\\ud800x\"}"),
    CH("{\"content\":\"\\ud800\\u0041\"}"),
    CH("{\"content\":\"\\udc00\"}"),
    CH("{\"content\":\"\\u12\"}"),
    CH("{\"content\":\"\\x\"}"),
    CH("{\"content\":\"a\tb\"}"),             /* raw control character */
    CH("{\"content\":\"\xc0\xaf\"}"),         /* overlong */
    CH("{\"content\":\"\xed\xa0\x80\"}"),     /* encoded surrogate */
    CH("{\"content\":\"\xf4\x90\x80\x80\"}"), /* above U+10FFFF */
    CH("{\"content\":\"\xe2\x82\"}"),         /* truncated */
    CH("{\"content\":\"\x80\"}"),
    CH("{\"content\":\"x\"},"),
    CH("{\"content\":\"x\"}") " x",
    CH("{\"content\":7}"),
    CH("{\"content\":\"x\",}"),
    CH("{\"refusal\":\"no\"}"),
    CH("null"),
    "[1]",
    "\"str\"",
    "{\"choices\":null}",
    "{\"usage\":nul}",
    "{\"usage\":nullx}",
    "{\"model\":\"m\"",
    "{\"model\":\"m",
    "{\"model\":",
    "{\"model\"",
    "{",
    "nope",
};

Test(openai_fast, accepts_the_common_shapes)
{
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++) {
        size_t n = strlen(accepted[i]);
        char *buf = malloc(n + 1);
        lx_openai_fast_chunk c;
        cr_assert(lx_openai_fast_parse(accepted[i], n, buf, &c), "refused: %s", accepted[i]);
        free(buf);
    }
    char buf[256];
    lx_openai_fast_chunk c;
    const char *s = CH("{\"content\":\"A\\u00e9\\ud83d\\ude00\\n\"}");
    cr_assert(lx_openai_fast_parse(s, strlen(s), buf, &c));
    cr_assert_str_eq(c.id, "chatcmpl-9");
    cr_assert_str_eq(c.model, "gpt-4o");
    cr_assert_eq(c.content_len, 8);
    cr_assert_eq(memcmp(c.content, "A\xc3\xa9\xf0\x9f\x98\x80\n", 8), 0);
}

Test(openai_fast, refuses_everything_else)
{
    for (size_t i = 0; i < sizeof fallback / sizeof *fallback; i++) {
        size_t n = strlen(fallback[i]);
        char *buf = malloc(n + 1);
        lx_openai_fast_chunk c;
        cr_assert_not(lx_openai_fast_parse(fallback[i], n, buf, &c), "accepted: %s", fallback[i]);
        free(buf);
    }
}

Test(openai_fast, hand_written_streams_match_jansson)
{
    size_t na = sizeof accepted / sizeof *accepted, nf = sizeof fallback / sizeof *fallback;
    same_chunks(accepted, na);
    for (size_t i = 0; i < na; i++)
        same_chunks(&accepted[i], 1);
    for (size_t i = 0; i < nf; i++) {
        const char *two[] = {fallback[i], accepted[1]};
        same_chunks(two, 2);
        const char *three[] = {accepted[0], fallback[i], accepted[2]};
        same_chunks(three, 3);
    }
    /* an `event: error` chunk of the common shape stays an upstream error */
    const char *ev = "event: error\ndata: " CH("{\"content\":\"x\"}") "\n\n";
    same(ev, strlen(ev));
}

/* ---- generated chunks ------------------------------------------------------ */

static unsigned long long rng_state;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33) % n;
}

static void gen_ws(lx_buf *b)
{
    static const char w[] = " \t\n\r";
    if (rnd(3) == 0)
        for (unsigned i = rnd(3) + 1; i > 0; i--)
            lx_buf_putc(b, w[rnd(4)]);
}

static void gen_string(lx_buf *b)
{
    static const char *const pieces[] = {
        "a", "Hello", " ", "\\n", "\\t", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r", "\\u0041",
        "\\u00e9", "\\u00E9", "\\u4e2d", "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\u2028", "\\uffff",
        "\\u001f", "é", "中文", "😀", "\x7f", "~",
        /* rarely: what must fall back */
        "\\u0000", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\q", "\x01", "\xff", "\xc3",
        "\xe0\x80\x80", "\xed\xbf\xbf", "\\u12G4"};
    size_t np = sizeof pieces / sizeof *pieces;
    lx_buf_putc(b, '"');
    for (unsigned i = rnd(6); i > 0; i--)
        lx_buf_puts(b, pieces[rnd(50) == 0 ? 25 + rnd((unsigned)np - 25) : rnd(25)]);
    lx_buf_putc(b, '"');
}

static void gen_value(lx_buf *b, const char *key)
{
    gen_ws(b);
    if (!strcmp(key, "created"))
        lx_buf_puts(b, rnd(10) ? "1732400000" : rnd(2) ? "-0" : "0");
    else if (!strcmp(key, "usage") || !strcmp(key, "refusal") || !strcmp(key, "logprobs") ||
             !strcmp(key, "finish_reason"))
        lx_buf_puts(b, "null");
    else if (!strcmp(key, "index"))
        lx_buf_puts(b, "0");
    else if ((!strcmp(key, "content") || !strcmp(key, "system_fingerprint") ||
              !strcmp(key, "service_tier")) &&
             rnd(5) == 0)
        lx_buf_puts(b, "null");
    else
        gen_string(b);
    gen_ws(b);
}

static void gen_object(lx_buf *b, const char *const *keys, size_t n, int level);

static void gen_member(lx_buf *b, const char *k, int level)
{
    gen_ws(b);
    lx_buf_printf(b, "\"%s\"", k);
    gen_ws(b);
    lx_buf_putc(b, ':');
    static const char *const choice_keys[] = {"index", "delta", "logprobs", "finish_reason"};
    static const char *const delta_keys[] = {"role", "content", "refusal"};
    if (!strcmp(k, "choices")) {
        gen_ws(b);
        lx_buf_putc(b, '[');
        if (rnd(8)) {
            gen_ws(b);
            gen_object(b, choice_keys, 4, level + 1);
        }
        gen_ws(b);
        lx_buf_putc(b, ']');
        gen_ws(b);
    } else if (!strcmp(k, "delta")) {
        gen_ws(b);
        gen_object(b, delta_keys, 3, level + 1);
        gen_ws(b);
    } else {
        gen_value(b, k);
    }
}

/* A random subset of `keys` in random order. */
static void gen_object(lx_buf *b, const char *const *keys, size_t n, int level)
{
    const char *pick[16];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rnd(5) || !strcmp(keys[i], "choices") || !strcmp(keys[i], "delta") ||
            !strcmp(keys[i], "content"))
            pick[k++] = keys[i];
    for (size_t i = k; i > 1; i--) {
        size_t j = rnd((unsigned)i);
        const char *t = pick[i - 1];
        pick[i - 1] = pick[j];
        pick[j] = t;
    }
    lx_buf_putc(b, '{');
    for (size_t i = 0; i < k; i++) {
        if (i)
            lx_buf_putc(b, ',');
        gen_member(b, pick[i], level);
    }
    if (!k)
        gen_ws(b);
    lx_buf_putc(b, '}');
}

static void gen_chunk(lx_buf *b)
{
    static const char *const top[] = {
        "id",           "object", "created",     "model",  "system_fingerprint",
        "service_tier", "usage",  "obfuscation", "choices"};
    lx_buf_reset(b);
    gen_ws(b);
    gen_object(b, top, 9, 0);
    gen_ws(b);
}

static void mutate(lx_buf *b)
{
    static const char alphabet[] = "{}[]:,\"\\u0 nl\t\x01\xc3\xa9\x80";
    size_t pos = b->len ? rnd((unsigned)b->len) : 0;
    switch (rnd(3)) {
    case 0: /* replace */
        if (b->len)
            b->data[pos] = alphabet[rnd(sizeof alphabet - 1)];
        break;
    case 1: /* delete */
        if (b->len) {
            memmove(b->data + pos, b->data + pos + 1, b->len - pos - 1);
            b->data[--b->len] = '\0';
        }
        break;
    default: { /* insert */
        char c = alphabet[rnd(sizeof alphabet - 1)];
        lx_buf_putc(b, ' ');
        memmove(b->data + pos + 1, b->data + pos, b->len - pos - 1);
        b->data[pos] = c;
    }
    }
}

static void generated(unsigned seed, int rounds, int mutations, size_t *n_fast)
{
    rng_state = seed;
    lx_buf c, s;
    lx_buf_init(&c, 0);
    lx_buf_init(&s, 0);
    for (int r = 0; r < rounds; r++) {
        lx_buf_reset(&s);
        unsigned k = 1 + rnd(4);
        for (unsigned i = 0; i < k; i++) {
            gen_chunk(&c);
            for (int m = mutations ? 1 + (int)rnd((unsigned)mutations) : 0; m > 0; m--)
                mutate(&c);
            /* an LF in a chunk would split the SSE line: the two paths
             * would still agree, but the chunk would not be the one made */
            for (size_t j = 0; j < c.len; j++)
                if (c.data[j] == '\n' || c.data[j] == '\r')
                    c.data[j] = ' ';
            char *buf = malloc(c.len + 1);
            lx_openai_fast_chunk fc;
            if (lx_openai_fast_parse(c.data, c.len, buf, &fc))
                (*n_fast)++;
            free(buf);
            lx_buf_puts(&s, "data: ");
            lx_buf_append(&s, c.data, c.len);
            lx_buf_puts(&s, "\n\n");
        }
        if (rnd(4))
            lx_buf_puts(&s, "data: [DONE]\n\n");
        for (int refuse = 0; refuse <= 2; refuse++) {
            char *a = run(s.data, s.len, true, rnd(3) ? 0 : 1 + rnd(20), refuse);
            char *b = run(s.data, s.len, false, 0, refuse);
            cr_assert_str_eq(a, b, "fast and jansson paths differ (seed %u round %d) on:\n%s", seed,
                             r, s.data);
            free(a);
            free(b);
        }
    }
    lx_buf_free(&c);
    lx_buf_free(&s);
}

Test(openai_fast, generated_chunks_match_jansson)
{
    size_t n_fast = 0;
    generated(1, 3000, 0, &n_fast);
    cr_assert_gt(n_fast, 3000, "the fast path took only %zu chunks", n_fast);
}

Test(openai_fast, mutated_chunks_match_jansson)
{
    size_t n_fast = 0;
    generated(2, 6000, 3, &n_fast);
    cr_assert_gt(n_fast, 50, "the fast path took only %zu mutated chunks", n_fast);
}
