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
    CH("{\"reasoning_content\":\"hm\"}"),
    CH("{\"reasoning\":\"r\",\"content\":\"c\"}"),
    CH("{\"reasoning\":\"r\",\"reasoning_content\":null}"),
    CH("{\"reasoning_content\":\"\",\"reasoning\":\"r\",\"content\":null}"),
    CH("{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{"
       "\"name\":\"get_weather\",\"arguments\":\"\"}}]}"),
    CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}"),
    CH("{\"tool_calls\":[{\"id\":\"g1\",\"function\":{\"name\":null,\"arguments\":null}}]}"),
    CH("{\"tool_calls\":[{\"function\":null}],\"content\":null}"),
    CH("{\"tool_calls\":[],\"role\":\"assistant\"}"),
    CH("{\"tool_calls\":null}"),
    /* the final chunks */
    "{" HEAD ",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
    "\"stop\"}]}",
    "{" HEAD ",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
    "{" HEAD ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"end\"},\"finish_reason\":"
    "\"length\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,"
    "\"total_tokens\":13}}",
    "{" HEAD ",\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,"
    "\"total_tokens\":29,\"prompt_tokens_details\":{\"cached_tokens\":3,"
    "\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":4,"
    "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
    "\"rejected_prediction_tokens\":0}}}",
    "{" HEAD ",\"choices\":null,\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1,"
    "\"prompt_tokens_details\":null,\"completion_tokens_details\":null}}",
    "{" HEAD ",\"choices\":[],\"usage\":{}}",
    "{" HEAD ",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"prompt_tokens_details\":{"
    "\"cached_tokens\":5},\"completion_tokens\":null,\"prompt_cache_hit_tokens\":1}}",
};

static const char *const fallback[] = {
    CH("{\"content\":\"a\",\"content\":\"b\"}"), /* duplicate key */
    "{\"id\":\"a\",\"id\":\"b\",\"choices\":[]}",
    CH("{\"reasoning_content\":7}"),
    CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":{}}}]}"),
    CH("{\"tool_calls\":[{\"index\":0},{\"index\":1}]}"),
    CH("{\"tool_calls\":[{\"index\":null}]}"),
    CH("{\"tool_calls\":[{\"index\":1.5}]}"),
    CH("{\"tool_calls\":[{\"function\":{\"name\":7}}]}"),
    CH("{\"tool_calls\":[{\"function\":7}]}"),
    CH("{\"tool_calls\":[7]}"),
    CH("{\"tool_calls\":{}}"),
    "{" HEAD ",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":7}]}",
    "{" HEAD ",\"choices\":[],\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":2}}",
    "{" HEAD ",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"prompt_time\":0.5}}",
    "{" HEAD ",\"choices\":[],\"usage\":{\"prompt_tokens_details\":[]}}",
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
    /* keys that share a prefix with known ones, or are cut at the end */
    CH("{\"contents\":\"a\"}"),
    CH("{\"conten\":\"a\"}"),
    CH("{\"reasoning_\":\"a\"}"),
    CH("{\"content\\\":\"a\"}"),
    CH("{\"content\x01\":\"a\"}"),
    "{\"i\"",
    "{\"id",
    "{\"choices\"  ",
    "{\"\":1}",
    /* a special byte in the middle of a long run */
    CH("{\"content\":\"0123456789abcdef\x01ghijklmnop\"}"),
    CH("{\"content\":\"0123456789abcdef\xffghijklmnop\"}"),
    CH("{\"content\":\"0123456789abcdef01234567\"}") "x",
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
    "{\"choices\":nul}",
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
    /* open tool calls closed by a fast finish chunk; a call after it */
    const char *tool[] = {
        accepted[0],
        CH("{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
           "\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}"),
        CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}"),
        "{" HEAD ",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
        "{" HEAD ",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}",
        CH("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]}"),
    };
    same_chunks(tool, 5);
    same_chunks(tool, 6);
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
        "\\u001f", "é", "中文", "😀", "\x7f", "~", "abcdefghijklmnopqrstu",
        "long text \\\" with escapes \\n inside",
        /* rarely: what must fall back */
        "\\u0000", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\q", "\x01", "\xff", "\xc3",
        "\xe0\x80\x80", "\xed\xbf\xbf", "\\u12G4"};
    size_t np = sizeof pieces / sizeof *pieces;
    lx_buf_putc(b, '"');
    for (unsigned i = rnd(6); i > 0; i--)
        lx_buf_puts(b, pieces[rnd(50) == 0 ? 27 + rnd((unsigned)np - 27) : rnd(27)]);
    lx_buf_putc(b, '"');
}

static void gen_rvalue(lx_buf *b, const char *key);

static void gen_value(lx_buf *b, const char *key)
{
    static const char *const finishes[] = {
        "\"stop\"", "\"length\"", "\"tool_calls\"", "\"content_filter\"", "\"eos\"", "\"\"", "7"};
    gen_ws(b);
    if (!strcmp(key, "created"))
        lx_buf_puts(b, rnd(10) ? "1732400000" : rnd(2) ? "-0" : "0");
    else if (!strcmp(key, "usage") && rnd(4) == 0)
        gen_rvalue(b, "usage");
    else if (!strcmp(key, "finish_reason") && rnd(6) == 0)
        lx_buf_puts(b, finishes[rnd(7)]);
    else if (!strcmp(key, "usage") || !strcmp(key, "refusal") || !strcmp(key, "logprobs") ||
             !strcmp(key, "finish_reason"))
        lx_buf_puts(b, "null");
    else if (!strcmp(key, "index"))
        lx_buf_puts(b, "0");
    else if ((!strcmp(key, "content") || !strcmp(key, "system_fingerprint") ||
              !strcmp(key, "service_tier") || !strcmp(key, "reasoning_content") ||
              !strcmp(key, "reasoning")) &&
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
    static const char *const delta_keys[] = {
        "role", "content", "refusal", "reasoning_content", "reasoning", "tool_calls"};
    if (!strcmp(k, "choices") && rnd(20) == 0) {
        lx_buf_puts(b, "null");
    } else if (!strcmp(k, "choices")) {
        gen_ws(b);
        lx_buf_putc(b, '[');
        if (rnd(8)) {
            gen_ws(b);
            gen_object(b, choice_keys, 4, level + 1);
        }
        gen_ws(b);
        lx_buf_putc(b, ']');
        gen_ws(b);
    } else if (!strcmp(k, "tool_calls")) {
        static const char *const frag_keys[] = {"index", "id", "type", "function"};
        gen_ws(b);
        if (rnd(6) == 0) {
            lx_buf_puts(b, rnd(2) ? "null" : "[]");
        } else {
            lx_buf_putc(b, '[');
            gen_object(b, frag_keys, 4, level + 1);
            lx_buf_putc(b, ']');
        }
    } else if (!strcmp(k, "function")) {
        static const char *const fn_keys[] = {"name", "arguments"};
        gen_ws(b);
        if (rnd(8) == 0)
            lx_buf_puts(b, "null");
        else
            gen_object(b, fn_keys, 2, level + 1);
    } else if (level >= 3 && !strcmp(k, "index")) {
        lx_buf_printf(b, "%u", rnd(3));
    } else if (level >= 3 && !strcmp(k, "id")) {
        static const char *const ids[] = {"\"call_a\"", "\"call_b\"", "null", "\"\""};
        lx_buf_puts(b, ids[rnd(4)]);
    } else if (!strcmp(k, "delta")) {
        gen_ws(b);
        gen_object(b, delta_keys, rnd(3) ? 3 : 6, level + 1);
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

/* fast-read chunks with a tool fragment, thinking, finish_reason, usage */
static size_t n_fast_kinds[4];

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
            if (lx_openai_fast_parse(c.data, c.len, buf, &fc)) {
                (*n_fast)++;
                n_fast_kinds[0] += fc.has_tool;
                n_fast_kinds[1] += fc.thinking_len > 0;
                n_fast_kinds[2] += fc.finish_reason != NULL;
                n_fast_kinds[3] += fc.has_usage;
            }
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
    memset(n_fast_kinds, 0, sizeof n_fast_kinds);
    generated(1, 3000, 0, &n_fast);
    cr_assert_gt(n_fast, 3000, "the fast path took only %zu chunks", n_fast);
    for (int i = 0; i < 4; i++)
        cr_assert_gt(n_fast_kinds[i], 100, "only %zu fast chunks of kind %d", n_fast_kinds[i], i);
}

Test(openai_fast, mutated_chunks_match_jansson)
{
    size_t n_fast = 0;
    generated(2, 6000, 3, &n_fast);
    cr_assert_gt(n_fast, 50, "the fast path took only %zu mutated chunks", n_fast);
}

/* ---- whole responses (lx_openai_fast_response) ------------------------------ */

static void put_str(lx_buf *b, const char *name, const char *s)
{
    if (s) {
        lx_buf_printf(b, "%s=%zu[", name, strlen(s));
        lx_buf_puts(b, s);
        lx_buf_puts(b, "] ");
    } else {
        lx_buf_printf(b, "%s=(null) ", name);
    }
}

/* Every field of a response, or the status and error of its decode. */
static char *describe(lx_status st, const lx_error *err, const lx_response *r)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_buf_printf(&b, "status %d %s\n", (int)st, st ? err->message : "");
    if (st == LX_OK) {
        put_str(&b, "id", r->id);
        put_str(&b, "model", r->model);
        put_str(&b, "provider", r->provider);
        put_str(&b, "stop", r->stop_sequence);
        lx_buf_printf(&b, "finish=%d created=%lld usage=%d:%lld:%lld:%lld:%lld:%lld\n",
                      (int)r->finish, (long long)r->created, (int)r->has_usage,
                      (long long)r->usage.input, (long long)r->usage.cache_read,
                      (long long)r->usage.cache_write, (long long)r->usage.output,
                      (long long)r->usage.reasoning);
        for (size_t i = 0; i < r->n_parts; i++) {
            const lx_part *p = &r->parts[i];
            lx_buf_printf(&b, "part %d err=%d ", (int)p->kind, (int)p->is_error);
            put_str(&b, "text", p->text);
            put_str(&b, "url", p->url);
            put_str(&b, "data", p->data);
            put_str(&b, "mt", p->media_type);
            put_str(&b, "id", p->id);
            put_str(&b, "name", p->name);
            put_str(&b, "args", p->arguments);
            put_str(&b, "sig", p->signature);
            lx_buf_putc(&b, '\n');
        }
    }
    size_t n;
    return lx_buf_steal(&b, &n);
}

static size_t n_fast_tools; /* responses with tool calls the fast reader took */

/* Decodes s both ways and through the codec entry; all three must agree.
 * Returns whether the hand-written reader took it. */
static bool same_response(const char *s, size_t n)
{
    lx_response *f = NULL, *j = NULL, *c = NULL;
    lx_error e1 = {0}, e2 = {0};
    bool took = lx_openai_fast_response(s, n, &f);
    lx_status sj = lx_openai_response_decode_jansson(s, n, &j, &e1);
    lx_status sc = lx_openai_response_decode(s, n, &c, &e2);
    char *dj = describe(sj, &e1, j), *dc = describe(sc, &e2, c);
    cr_assert_str_eq(dc, dj, "codec decode and jansson differ on:\n%.*s", (int)n, s);
    if (took) {
        for (size_t i = 0; i < f->n_parts; i++)
            if (f->parts[i].kind == LX_PART_TOOL_CALL) {
                n_fast_tools++;
                break;
            }
        char *df = describe(LX_OK, NULL, f);
        cr_assert_str_eq(df, dj, "fast reader and jansson differ on:\n%.*s", (int)n, s);
        free(df);
    } else {
        cr_assert_null(f);
    }
    free(dj);
    free(dc);
    lx_response_free(f);
    lx_response_free(j);
    lx_response_free(c);
    return took;
}

#define RHEAD                                                                                      \
    "\"id\":\"chatcmpl-AbC\",\"object\":\"chat.completion\",\"created\":1732400000,\"model\":"     \
    "\"gpt-4o-mini-2024-07-18\""
#define RMSG(msg, fr)                                                                              \
    "{" RHEAD ",\"choices\":[{\"index\":0,\"message\":" msg ",\"logprobs\":null,"                  \
    "\"finish_reason\":" fr "}]}"
#define USAGE_FULL                                                                                 \
    "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"                \
    "\"prompt_tokens_details\":{\"cached_tokens\":3,\"audio_tokens\":0},"                          \
    "\"completion_tokens_details\":{\"reasoning_tokens\":4,\"audio_tokens\":0,"                    \
    "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}"

static const char *const r_accepted[] = {
    /* OpenAI's own shape */
    "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion\",\"created\":"
    "1741569952,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
    "\"assistant\",\"content\":\"Hello! How can I assist you today?\",\"refusal\":null,"
    "\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}]," USAGE_FULL
    ",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_1\"}",
    RMSG("{\"role\":\"assistant\",\"content\":\"x\"}", "\"length\""),
    RMSG("{\"role\":\"assistant\",\"content\":null,\"refusal\":\"I can't\"}", "\"stop\""),
    RMSG("{\"role\":\"assistant\",\"content\":\"a\",\"reasoning_content\":\"think\"}", "null"),
    RMSG("{\"role\":\"assistant\",\"content\":\"a\",\"reasoning\":\"r\"}", "\"weird\""),
    RMSG(
        "{\"role\":\"assistant\",\"content\":\"a\",\"reasoning_content\":null,\"reasoning\":\"r\"}",
        "\"stop\""),
    RMSG("{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[],\"audio\":null,"
         "\"function_call\":null}",
         "\"tool_calls\""),
    RMSG("{\"role\":\"assistant\",\"content\":\"\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\\b\\f\\r\\t\"}",
         "\"content_filter\""),
    RMSG("{\"content\":\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\"}", "\"stop\""),
    "{\"choices\":[{\"message\":{}}]}",
    "{\"id\":null,\"model\":null,\"created\":null,\"usage\":null,\"choices\":[{\"message\":{}}]}",
    "{\"choices\":[{\"message\":{\"content\":\"x\"},\"index\":3,\"stop_reason\":null}],"
    "\"created\":-5,\"prompt_logprobs\":null,\"kv_transfer_params\":null}",
    "{\"choices\":[{\"message\":{},\"stop_reason\":\"</s>\"}]}",
    "{\"choices\":[{\"message\":{},\"stop_reason\":128009}]}",
    " {\r\n\t\"choices\" : [ { \"message\" : { \"content\" : \"a\" } } ] ,\"usage\":{"
    "\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7,\"prompt_tokens_details\":null,"
    "\"completion_tokens_details\":null} } ",
    "{\"choices\":[{\"message\":{}}],\"usage\":{}}",
    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":2,\"prompt_tokens_details\":{"
    "\"cached_tokens\":9},\"completion_tokens\":1,\"completion_tokens_details\":{"
    "\"reasoning_tokens\":5}}}",
    RMSG("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
         "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}"
         "}]}",
         "\"tool_calls\""),
    RMSG("{\"content\":\"let me check\",\"reasoning_content\":\"hm\",\"tool_calls\":[{\"index\":0,"
         "\"function\":{\"arguments\":\"\"}},{\"id\":null,\"function\":{\"name\":null,"
         "\"arguments\":null}},{\"function\":{},\"type\":\"function\",\"id\":\"c\\u00e9\"}]}",
         "\"tool_calls\""),
    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":999999999999999999,"
    "\"completion_tokens\":-0,\"prompt_cache_hit_tokens\":1,\"prompt_cache_miss_tokens\":-2,"
    "\"total_tokens\":null}}",
};

static const char *const r_fallback[] = {
    RMSG("{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]}", "null"),
    RMSG("{\"tool_calls\":[{\"id\":\"c\"}]}", "null"),
    RMSG("{\"tool_calls\":[{\"function\":null}]}", "null"),
    RMSG("{\"tool_calls\":[{\"id\":7,\"function\":{}}]}", "null"),
    RMSG("{\"tool_calls\":[{\"function\":{\"name\":7}}]}", "null"),
    RMSG("{\"tool_calls\":[{\"function\":{}},]}", "null"),
    RMSG("{\"tool_calls\":[{\"function\":{},\"extra_content\":{}}]}", "null"),
    RMSG("{\"tool_calls\":{}}", "null"),
    RMSG(
        "{\"tool_calls\":[{\"function\":{}},{\"function\":{}},{\"function\":{}},{\"function\":{}},"
        "{\"function\":{}},{\"function\":{}},{\"function\":{}},{\"function\":{}},{\"function\":{}},"
        "{\"function\":{}},{\"function\":{}},{\"function\":{}},{\"function\":{}},{\"function\":{}},"
        "{\"function\":{}},{\"function\":{}},{\"function\":{}}]}",
        "null"), /* 17 calls: more than the reader keeps */
    RMSG("{\"content\":[{\"type\":\"text\",\"text\":\"a\"}]}", "\"stop\""),
    RMSG("{\"content\":\"a\",\"content\":\"b\"}", "\"stop\""),
    RMSG("{\"content\":\"\\u0000x\"}", "\"stop\""),
    RMSG("{\"content\":7}", "\"stop\""),
    RMSG("{\"content\":\"a\"}", "7"),
    RMSG("{\"content\":\"a\",\"annotations\":[{}]}", "null"),
    "{\"choices\":[]}",
    "{\"choices\":[{}]}",
    "{\"choices\":null}",
    "{\"choices\":[{\"message\":null}]}",
    "{\"choices\":[{\"message\":{}},{\"message\":{}}]}",
    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":-1}}",
    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":1.0}}",
    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":1234567890123456789}}",
    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens_details\":{\"cached_tokens\":-3}}}",
    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens_details\":7}}",
    "{\"choices\":[{\"message\":{}}],\"usage\":{\"queue_time\":0.1}}",
    "{\"choices\":[{\"message\":{}}],\"usage\":7}",
    "{\"choices\":[{\"message\":{},\"stop_reason\":-\"x\"}]}",
    "{\"choices\":[{\"message\":{}}],\"created\":1.5}",
    "{\"choices\":[{\"message\":{}}],\"created\":\"1\"}",
    "{\"choices\":[{\"message\":{}}],\"id\":7}",
    "{\"choices\":[{\"message\":{}}],\"x_groq\":{}}",
    "{\"choices\":[{\"message\":{}}]} x",
    "{\"choices\":[{\"message\":{}}]",
    "{\"error\":{\"message\":\"boom\"}}",
    "{}",
    "[]",
    "",
    "nope",
};

Test(openai_fast, whole_responses_hand_picked)
{
    for (size_t i = 0; i < sizeof r_accepted / sizeof *r_accepted; i++)
        cr_assert(same_response(r_accepted[i], strlen(r_accepted[i])), "refused: %s",
                  r_accepted[i]);
    for (size_t i = 0; i < sizeof r_fallback / sizeof *r_fallback; i++)
        cr_assert_not(same_response(r_fallback[i], strlen(r_fallback[i])), "accepted: %s",
                      r_fallback[i]);
    /* the fields really come through */
    lx_response *r = NULL;
    cr_assert(lx_openai_fast_response(r_accepted[0], strlen(r_accepted[0]), &r));
    cr_assert_str_eq(r->id, "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
    cr_assert_str_eq(r->model, "gpt-4.1-2025-04-14");
    cr_assert_eq(r->created, 1741569952);
    cr_assert_eq(r->n_parts, 1);
    cr_assert_str_eq(r->parts[0].text, "Hello! How can I assist you today?");
    cr_assert_eq(r->finish, LX_FINISH_STOP);
    cr_assert(r->has_usage);
    cr_assert_eq(r->usage.input, 16);
    cr_assert_eq(r->usage.cache_read, 3);
    cr_assert_eq(r->usage.output, 6);
    cr_assert_eq(r->usage.reasoning, 4);
    lx_response_free(r);
}

static void gen_obj(lx_buf *b, const char *const *keys, size_t n, const char *must);

/* One value for `key` of a whole response; rarely one that must fall back. */
static void gen_rvalue(lx_buf *b, const char *key)
{
    static const char *const counters[] = {"0",
                                           "7",
                                           "-0",
                                           "19",
                                           "999999999999999999",
                                           "null",
                                           /* fall back */ "-1",
                                           "1.0",
                                           "1e2",
                                           "12345678901234567890",
                                           "\"3\""};
    static const char *const prompt_keys[] = {"cached_tokens", "audio_tokens"};
    static const char *const compl_keys[] = {"reasoning_tokens", "audio_tokens",
                                             "accepted_prediction_tokens",
                                             "rejected_prediction_tokens"};
    static const char *const usage_keys_[] = {
        "prompt_tokens",           "completion_tokens",         "total_tokens",
        "prompt_tokens_details",   "completion_tokens_details", "prompt_cache_hit_tokens",
        "prompt_cache_miss_tokens"};
    static const char *const msg_keys_[] = {
        "role",      "content",    "refusal", "annotations",  "reasoning_content",
        "reasoning", "tool_calls", "audio",   "function_call"};
    static const char *const choice_keys_[] = {"index", "message", "logprobs", "finish_reason",
                                               "stop_reason"};
    static const char *const finishes[] = {
        "\"stop\"",          "\"length\"", "\"tool_calls\"", "\"content_filter\"",
        "\"function_call\"", "\"eos\"",    "null",           "\"\""};
    gen_ws(b);
    bool odd = rnd(40) == 0; /* a value of the wrong kind */
    if (odd) {
        static const char *const wrong[] = {"7", "\"s\"", "null", "[]", "{}", "true", "1.5"};
        lx_buf_puts(b, wrong[rnd(7)]);
    } else if (!strcmp(key, "choices")) {
        lx_buf_putc(b, '[');
        gen_ws(b);
        gen_obj(b, choice_keys_, 5, "message");
        if (rnd(50) == 0) {
            lx_buf_putc(b, ',');
            gen_obj(b, choice_keys_, 5, "message");
        }
        lx_buf_putc(b, ']');
    } else if (!strcmp(key, "message")) {
        gen_obj(b, msg_keys_, 9, "content");
    } else if (!strcmp(key, "usage")) {
        if (rnd(6) == 0)
            lx_buf_puts(b, "null");
        else
            gen_obj(b, usage_keys_, 7, NULL);
    } else if (!strcmp(key, "prompt_tokens_details")) {
        if (rnd(6) == 0)
            lx_buf_puts(b, "null");
        else
            gen_obj(b, prompt_keys, 2, NULL);
    } else if (!strcmp(key, "completion_tokens_details")) {
        if (rnd(6) == 0)
            lx_buf_puts(b, "null");
        else
            gen_obj(b, compl_keys, 4, NULL);
    } else if (strstr(key, "tokens")) {
        lx_buf_puts(b, counters[rnd(30) == 0 ? 6 + rnd(5) : rnd(6)]);
    } else if (!strcmp(key, "created") || !strcmp(key, "index")) {
        lx_buf_puts(b, rnd(8) ? "1732400000" : rnd(2) ? "-0" : rnd(2) ? "null" : "-42");
    } else if (!strcmp(key, "finish_reason")) {
        lx_buf_puts(b, finishes[rnd(8)]);
    } else if (!strcmp(key, "stop_reason")) {
        lx_buf_puts(b, rnd(3) == 0 ? "null" : rnd(2) ? "128009" : "\"</s>\"");
    } else if (!strcmp(key, "annotations")) {
        lx_buf_puts(b, rnd(30) ? "[]" : "[{\"type\":\"url\"}]");
    } else if (!strcmp(key, "tool_calls") && rnd(3)) {
        static const char *const call_keys[] = {"id", "type", "index", "function"};
        lx_buf_putc(b, '[');
        for (unsigned i = rnd(4); i > 0; i--) {
            gen_obj(b, call_keys, 4, "function");
            if (i > 1)
                lx_buf_putc(b, ',');
        }
        lx_buf_putc(b, ']');
    } else if (!strcmp(key, "function")) {
        static const char *const fn_keys[] = {"name", "arguments"};
        gen_obj(b, fn_keys, 2, NULL);
    } else if (!strcmp(key, "arguments") && rnd(20) == 0) {
        lx_buf_puts(b, "{\"a\":[1,\"x\"]}");
    } else if (!strcmp(key, "tool_calls")) {
        lx_buf_puts(b, rnd(2) ? "null" : "[]");
    } else if (!strcmp(key, "logprobs") || !strcmp(key, "audio") || !strcmp(key, "function_call") ||
               !strcmp(key, "prompt_logprobs") || !strcmp(key, "kv_transfer_params")) {
        lx_buf_puts(b, "null");
    } else if (strcmp(key, "object") && strcmp(key, "role") && rnd(5) == 0) {
        lx_buf_puts(b, "null");
    } else {
        gen_string(b);
    }
    gen_ws(b);
}

/* A random subset of `keys` (always `must`) in random order; rarely a
 * repeated or unknown key. */
static void gen_obj(lx_buf *b, const char *const *keys, size_t n, const char *must)
{
    const char *pick[20];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rnd(3) || (must && !strcmp(keys[i], must)))
            pick[k++] = keys[i];
    if (rnd(60) == 0)
        pick[k++] = keys[rnd((unsigned)n)];
    if (rnd(60) == 0)
        pick[k++] = "x_other";
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
        gen_ws(b);
        lx_buf_printf(b, "\"%s\"", pick[i]);
        gen_ws(b);
        lx_buf_putc(b, ':');
        gen_rvalue(b, pick[i]);
    }
    if (!k)
        gen_ws(b);
    lx_buf_putc(b, '}');
}

static void gen_response(lx_buf *b)
{
    static const char *const top[] = {"id",
                                      "object",
                                      "created",
                                      "model",
                                      "system_fingerprint",
                                      "choices",
                                      "prompt_logprobs",
                                      "kv_transfer_params",
                                      "usage",
                                      "service_tier"};
    lx_buf_reset(b);
    gen_ws(b);
    gen_obj(b, top, 10, "choices");
    gen_ws(b);
}

static void generated_responses(unsigned seed, int rounds, int mutations, size_t *n_fast)
{
    rng_state = seed;
    lx_buf b;
    lx_buf_init(&b, 0);
    for (int r = 0; r < rounds; r++) {
        gen_response(&b);
        for (int m = mutations ? 1 + (int)rnd((unsigned)mutations) : 0; m > 0; m--)
            mutate(&b);
        if (same_response(b.data, b.len))
            (*n_fast)++;
    }
    lx_buf_free(&b);
}

Test(openai_fast, generated_responses_match_jansson)
{
    size_t n_fast = 0;
    n_fast_tools = 0;
    generated_responses(3, 20000, 0, &n_fast);
    cr_assert_gt(n_fast, 4000, "the fast reader took only %zu responses", n_fast);
    cr_assert_gt(n_fast_tools, 500, "only %zu of them with tool calls", n_fast_tools);
    cr_assert_lt(n_fast, 20000, "the fast reader never fell back");
}

Test(openai_fast, mutated_responses_match_jansson)
{
    size_t n_fast = 0;
    generated_responses(4, 20000, 3, &n_fast);
    cr_assert_gt(n_fast, 200, "the fast reader took only %zu mutated responses", n_fast);
}
