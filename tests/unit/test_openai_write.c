/*
 * test_openai_write.c — the hand-written OpenAI writers (whole response in
 * proto/openai_response.c, stream chunks in proto/openai_stream.c) against
 * the jansson code they replace.
 *
 * Every check is differential: the same input goes through the writer and
 * through the jansson reference (lx_openai_response_encode_jansson, or a
 * stream encoder created after lx_openai_fast_enable(false)), and status and
 * bytes must be identical. Inputs: hand-picked responses, then thousands of
 * generated ones (random parts: text, thinking, tool calls with or without
 * id/name/arguments, other kinds; strings with escapes, control characters,
 * U+2028, emoji, empty strings and invalid UTF-8 — also in id, model and
 * tool fields, where the reference fails; every finish reason; usage with
 * huge counters; missing id, model and created). A few literal expectations
 * make sure the comparison is not vacuous.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/openai.h"

/* Output of one encoder: "status\n" + bytes, malloc'd. */
static char *enc(const lx_response *r, const lx_codec_opts *o, bool fast)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_buf_puts(&b, "prefix|"); /* the writers append */
    lx_error err = {0};
    lx_status st = fast ? lx_openai_response_encode(r, o, &b, &err)
                        : lx_openai_response_encode_jansson(r, o, &b, &err);
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_buf_printf(&out, "%d %s\n", (int)st, st ? err.message : "");
    lx_buf_append(&out, b.data, b.len);
    lx_buf_free(&b);
    size_t n;
    return lx_buf_steal(&out, &n);
}

/* Blanks a generated id ("chatcmpl-..." up to its closing quote). */
static void blank_id(char *s)
{
    char *p = strstr(s, "{\"id\":\"chatcmpl-");
    if (!p)
        return;
    for (p += 16; *p && *p != '"'; p++)
        *p = 'x';
}

static size_t n_compared, n_ok;

static void same(const lx_response *r, const lx_codec_opts *o)
{
    bool gen_id = !(o && o->id) && !r->id;
    char *a = NULL, *b = NULL;
    /* without `created` both read the clock: retry across a second edge */
    for (int tries = 0; tries < 3; tries++) {
        free(a);
        free(b);
        a = enc(r, o, true);
        b = enc(r, o, false);
        if (gen_id) {
            blank_id(a);
            blank_id(b);
        }
        if (!strcmp(a, b) || r->created)
            break;
    }
    cr_assert_str_eq(a, b, "hand-written and jansson encoders differ");
    n_compared++;
    if (a[0] == '0')
        n_ok++;
    free(a);
    free(b);
}

static lx_part *add(lx_response *r, lx_part_kind k, const char *text)
{
    lx_part *p = lx_response_add_part(r, k);
    cr_assert_not_null(p);
    p->text = text ? lx_arena_strdup(r->arena, text) : NULL;
    return p;
}

Test(openai_write, literal_reply)
{
    lx_response *r = lx_response_new();
    r->id = "chatcmpl-1";
    r->model = "m\xc3\xa9";
    r->created = 1732400000;
    add(r, LX_PART_THINKING, "hm\n");
    add(r, LX_PART_TEXT, "Hi \"you\"\x01\x7f");
    r->finish = LX_FINISH_LENGTH;
    r->has_usage = true;
    r->usage =
        (lx_usage){.input = 5, .cache_read = 2, .cache_write = 1, .output = 7, .reasoning = 3};
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_openai_response_encode(r, NULL, &b, NULL), LX_OK);
    cr_assert_str_eq(
        b.data,
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1732400000,\"model\":"
        "\"m\xc3\xa9\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
        "\"Hi \\\"you\\\"\\u0001\x7f\",\"reasoning_content\":\"hm\\n\"},\"finish_reason\":"
        "\"length\"}],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":10,\"total_tokens\":18,"
        "\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{"
        "\"reasoning_tokens\":3}}}");
    same(r, NULL);
    lx_buf_free(&b);
    lx_response_free(r);
}

Test(openai_write, hand_picked_replies)
{
    /* empty; tool calls only (content null); text split inside a character;
     * invalid model (the reference fails: so must the writer) */
    lx_response *r = lx_response_new();
    r->created = 5;
    same(r, NULL);
    lx_part *p = add(r, LX_PART_TOOL_CALL, NULL);
    p->name = "f";
    p->arguments = "{\"a\":1}";
    same(r, NULL);
    p = add(r, LX_PART_TOOL_CALL, NULL);
    p->id = "call_x";
    same(r, NULL);
    add(r, LX_PART_TEXT, "caf\xc3");
    add(r, LX_PART_TEXT, "\xa9 ok");
    same(r, NULL);
    add(r, LX_PART_TEXT, "\xff\xfe");
    same(r, NULL);
    r->model = "bad\xc3";
    same(r, NULL);
    lx_codec_opts o = {.id = "chatcmpl-o", .model = "mo"};
    same(r, &o);
    p->name = "\xed\xa0\x80";
    same(r, &o);
    r->created = 0;
    same(r, &o);
    lx_response_free(r);
}

/* ---- generated replies ----------------------------------------------------- */

static unsigned long long rng_state;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33) % n;
}

/* A random string in the arena, or NULL (when allowed, 1 in 8). */
static char *gen_str(lx_arena *a, bool may_null, bool may_bad)
{
    static const char *const pieces[] = {
        "a", "Hello", " ", "\n", "\t", "\"", "\\", "/", "\b", "\f", "\r", "\x01", "\x1f", "\x7f",
        "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xe2\x80\xa8", "\xef\xbf\xbf", "{}",
        "</script>", "",
        /* runs longer than 8 bytes, specials inside */
        "abcdefghijklmnopqrstuvwxyz0123", "0123456\"89abcdef", "long text\x1f with a control",
        "\xe4\xb8\xad\xe6\x96\x87 text",
        /* invalid UTF-8 */
        "\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\x80",
        "\xf0\x9f\x98"};
    size_t np = sizeof pieces / sizeof *pieces, good = 26;
    if (may_null && rnd(8) == 0)
        return NULL;
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_buf_puts(&b, "");
    for (unsigned i = rnd(7); i > 0; i--)
        lx_buf_puts(&b, pieces[may_bad && rnd(12) == 0 ? good + rnd((unsigned)(np - good))
                                                       : rnd((unsigned)good)]);
    char *s = lx_arena_strdup(a, b.data ? b.data : "");
    lx_buf_free(&b);
    return s;
}

static int64_t gen_count(void)
{
    switch (rnd(4)) {
    case 0:
        return 0;
    case 1:
        return rnd(1000);
    case 2:
        return (int64_t)rnd(1u << 30) << 30 | rnd(1u << 30); /* up to 2^60 */
    default:
        return (int64_t)1 << 60;
    }
}

static void gen_reply(lx_response *r, lx_codec_opts *o, bool *use_o)
{
    lx_arena *a = r->arena;
    bool bad = rnd(4) == 0; /* invalid UTF-8 in id/model/tool fields too */
    r->id = rnd(6) ? gen_str(a, true, bad) : NULL;
    r->model = rnd(6) ? gen_str(a, true, bad) : NULL;
    static const int64_t created[] = {
        1732400000, 1, -1, 0, 9223372036854775807LL, -9223372036854775807LL - 1};
    r->created = created[rnd(10) < 6 ? 0 : rnd(6)];
    for (unsigned i = rnd(6); i > 0; i--) {
        unsigned k = rnd(10);
        lx_part *p;
        if (k < 4)
            p = add(r, LX_PART_TEXT, NULL), p->text = gen_str(a, true, true);
        else if (k < 6)
            p = add(r, LX_PART_THINKING, NULL), p->text = gen_str(a, true, true);
        else if (k < 9) {
            p = add(r, LX_PART_TOOL_CALL, NULL);
            p->id = gen_str(a, true, bad);
            p->name = gen_str(a, true, bad);
            p->arguments = gen_str(a, true, bad);
        } else
            p = add(r, rnd(2) ? LX_PART_IMAGE : LX_PART_TOOL_RESULT, "ignored");
    }
    r->finish = (lx_finish)rnd(7);
    r->has_usage = rnd(3) != 0;
    r->usage = (lx_usage){gen_count(), gen_count(), gen_count(), gen_count(), gen_count()};
    *use_o = rnd(3) == 0;
    *o = (lx_codec_opts){0};
    if (*use_o) {
        o->id = rnd(2) ? gen_str(a, true, false) : NULL;
        o->model = rnd(2) ? gen_str(a, true, bad) : NULL;
    }
}

Test(openai_write, generated_replies_match_jansson)
{
    rng_state = 7;
    n_compared = n_ok = 0;
    for (int i = 0; i < 20000; i++) {
        lx_response *r = lx_response_new();
        lx_codec_opts o;
        bool use_o;
        gen_reply(r, &o, &use_o);
        same(r, use_o ? &o : NULL);
        lx_response_free(r);
    }
    cr_assert_gt(n_ok, 10000, "only %zu of %zu replies encoded", n_ok, n_compared);
    cr_assert_lt(n_ok, n_compared, "no reply the reference refuses was tried");
}

/* ---- stream encoder ---------------------------------------------------------- */

/* The SSE bytes an encoder gives for `evs` (fast: hand-written chunks on),
 * each event's status appended. */
static char *enc_stream(const lx_codec_opts *o, const lx_event *evs, size_t n, bool fast)
{
    lx_openai_fast_enable(fast);
    lx_stream_encoder *e = lx_openai_stream_encoder_new(o);
    lx_openai_fast_enable(true);
    cr_assert_not_null(e);
    lx_buf out;
    lx_buf_init(&out, 0);
    for (size_t i = 0; i < n; i++) {
        lx_status st = e->event(e, &evs[i], &out);
        lx_buf_printf(&out, "<%d>", (int)st);
    }
    e->free(e);
    size_t len;
    return lx_buf_steal(&out, &len);
}

static size_t n_streams;

static void same_stream(const lx_codec_opts *o, const lx_event *evs, size_t n)
{
    char *a = NULL, *b = NULL;
    for (int tries = 0; tries < 3; tries++) { /* `created` is read at creation */
        free(a);
        free(b);
        a = enc_stream(o, evs, n, true);
        b = enc_stream(o, evs, n, false);
        if (!strcmp(a, b))
            break;
    }
    cr_assert_str_eq(a, b, "hand-written and jansson stream chunks differ");
    n_streams++;
    free(a);
    free(b);
}

Test(openai_write, stream_final_chunks_literal)
{
    lx_codec_opts o = {.id = "chatcmpl-s", .model = "m", .include_usage = true};
    lx_event evs[] = {
        {.kind = LX_EV_START, .model = "up"},
        {.kind = LX_EV_TEXT, .text = "hi", .len = 2},
        {.kind = LX_EV_USAGE, .usage = {.input = 4, .cache_read = 1, .output = 2, .reasoning = 1}},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_LENGTH},
    };
    char *a = enc_stream(&o, evs, 4, true);
    cr_assert(strstr(a, "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                        "\"finish_reason\":null}]}"),
              "%s", a);
    cr_assert(strstr(a, "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"length\"}]}"), "%s", a);
    cr_assert(strstr(a, "\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
                        "\"completion_tokens\":3,\"total_tokens\":8,\"prompt_tokens_details\":{"
                        "\"cached_tokens\":1},\"completion_tokens_details\":{\"reasoning_tokens\":"
                        "1}}}\n\ndata: [DONE]\n\n<0>"),
              "%s", a);
    free(a);
    same_stream(&o, evs, 4);
    lx_event tools[] = {
        {.kind = LX_EV_TOOL_START, .index = 0, .id = "call_1", .name = "get_weather"},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "{\"city\":", .len = 8},
        {.kind = LX_EV_TOOL_END, .index = 0},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_TOOL_CALLS},
    };
    a = enc_stream(&o, tools, 4, true);
    cr_assert(strstr(a, "\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":"
                        "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
                        "\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}"),
              "%s", a);
    cr_assert(strstr(a, "\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                        "\"{\\\"city\\\":\"}}]},\"logprobs\":null,\"finish_reason\":null}]}"),
              "%s", a);
    free(a);
    same_stream(&o, tools, 4);
    o.model = NULL; /* the model of START, or "" */
    same_stream(&o, evs, 4);
    same_stream(&o, evs + 1, 3);
    o.model = "bad \xc3"; /* jansson refuses: so do the hand-written chunks */
    same_stream(&o, evs + 2, 2);
}

static const char *gen_piece(lx_arena *a, size_t *len)
{
    char *s = gen_str(a, false, true);
    *len = strlen(s);
    if (*len && rnd(4) == 0) /* cut inside a character now and then */
        (*len)--;
    return s;
}

Test(openai_write, generated_streams_match_jansson)
{
    rng_state = 11;
    n_streams = 0;
    for (int round = 0; round < 3000; round++) {
        lx_arena *a = lx_arena_new();
        lx_codec_opts o = {.id = rnd(4) ? "chatcmpl-gen" : "c\xc3\xa9\"\\",
                           .model = rnd(3) ? gen_str(a, true, false) : NULL,
                           .include_usage = rnd(2)};
        lx_event evs[24];
        size_t n = 0;
        if (rnd(6))
            evs[n++] = (lx_event){.kind = LX_EV_START,
                                  .id = "up-id",
                                  .model = rnd(4) ? gen_str(a, true, false) : NULL};
        int calls = 0;
        for (unsigned k = rnd(12); k > 0 && n < 20; k--) {
            lx_event ev = {0};
            switch (rnd(7)) {
            case 0:
            case 1:
                ev.kind = LX_EV_TEXT;
                ev.text = gen_piece(a, &ev.len);
                break;
            case 2:
                ev.kind = LX_EV_THINKING;
                ev.text = gen_piece(a, &ev.len);
                break;
            case 3:
                ev.kind = LX_EV_TOOL_START;
                ev.index = calls++;
                ev.id = rnd(3) ? "call_g" : gen_str(a, false, rnd(4) == 0);
                ev.name = rnd(3) ? "fn" : gen_str(a, true, rnd(4) == 0);
                break;
            case 4:
                ev.kind = calls ? LX_EV_TOOL_ARGS : LX_EV_TEXT;
                ev.index = calls ? (int)rnd((unsigned)calls) : 0;
                ev.text = gen_piece(a, &ev.len);
                break;
            case 5:
                ev.kind = LX_EV_USAGE;
                ev.usage =
                    (lx_usage){gen_count(), gen_count(), gen_count(), gen_count(), gen_count()};
                break;
            default:
                ev.kind = calls ? LX_EV_TOOL_END : LX_EV_TEXT;
                ev.index = calls ? calls - 1 : 0;
                if (!calls)
                    ev.text = gen_piece(a, &ev.len);
            }
            evs[n++] = ev;
        }
        if (rnd(8)) {
            evs[n++] = (lx_event){.kind = LX_EV_FINISH, .finish = (lx_finish)rnd(7)};
        } else if (rnd(2)) {
            static lx_error boom = {.code = LX_ERR_UPSTREAM, .message = "boom"};
            evs[n++] = (lx_event){.kind = LX_EV_ERROR, .error = &boom};
        }
        same_stream(&o, evs, n);
        lx_arena_free(a);
    }
    cr_assert_eq(n_streams, 3000);
}
