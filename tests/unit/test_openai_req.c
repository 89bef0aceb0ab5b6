/*
 * test_openai_req.c — the OpenAI request path without jansson
 * (proto/openai_req_fast.c) against the jansson code in proto/openai.c.
 *
 * Every check is differential: the same input goes through the codec with
 * the fast paths on and off (lx_openai_req_fast_enable) and the results must
 * be identical — for the encoder the status, error message and every output
 * byte; for the decoder the status, error message and the decoded request
 * field by field (lx_openai_req_same). Inputs: hand-written requests and
 * bodies, then thousands of generated ones (random roles and part kinds,
 * strings with escapes, control characters, multi-byte and invalid UTF-8,
 * reals and integers at their edges, every lx_codec_opts field the encoder
 * reads), then the bodies with random byte mutations. A few direct calls
 * check that the fast paths really take the common shapes, so the
 * comparison is not vacuous.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/openai.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}
static uint32_t pick(uint32_t n)
{
    return rnd() % n;
}

typedef struct {
    lx_status st;
    char msg[512];
    lx_buf out;
} enc_result;

static void encode_with(const lx_request *r, const lx_codec_opts *o, bool fast, enc_result *res)
{
    lx_error err = {0};
    lx_buf_init(&res->out, 0);
    lx_buf_puts(&res->out, "prefix:"); /* the encoder appends */
    lx_openai_req_fast_enable(fast);
    res->st = lx_codec_openai.request_encode(r, o, &res->out, &err);
    lx_openai_req_fast_enable(true);
    snprintf(res->msg, sizeof res->msg, "%s", res->st == LX_OK ? "" : err.message);
}

static int n_fast_enc;

/* Encodes r both ways; they must agree byte for byte. */
static void check_encode(const lx_request *r, const lx_codec_opts *o, const char *what)
{
    enc_result a, b;
    encode_with(r, o, true, &a);
    encode_with(r, o, false, &b);
    cr_assert_eq(a.st, b.st, "%s: status %d vs %d (%s | %s)", what, a.st, b.st, a.msg, b.msg);
    cr_assert_str_eq(a.msg, b.msg, "%s", what);
    cr_assert_eq(a.out.len, b.out.len, "%s:\nfast:    %s\njansson: %s", what, a.out.data,
                 b.out.data);
    cr_assert(memcmp(a.out.data, b.out.data, a.out.len) == 0, "%s:\nfast:    %s\njansson: %s",
              what, a.out.data, b.out.data);
    lx_buf probe;
    lx_buf_init(&probe, 0);
    const char *model = o && o->model ? o->model : r->model;
    if (a.st == LX_OK && lx_openai_req_encode_fast(r, model, o, &probe))
        n_fast_enc++;
    lx_buf_free(&probe);
    lx_buf_free(&a.out);
    lx_buf_free(&b.out);
}

/* Every opts variant the encoder reads: NULL, model override (set, empty),
 * stream on/off, include_usage on/off. */
static void check_encode_all_opts(const lx_request *r, const char *what)
{
    check_encode(r, NULL, what);
    for (int m = 0; m < 3; m++)
        for (int s = 0; s < 2; s++)
            for (int u = 0; u < 2; u++) {
                lx_codec_opts o = {.model = m == 0 ? NULL : m == 1 ? "gpt-4o-mini" : "",
                                   .stream = s,
                                   .include_usage = u,
                                   .num_ctx = 4096,
                                   .default_max_tokens = 77};
                check_encode(r, &o, what);
            }
}

static lx_request *decode_jansson(const char *body)
{
    lx_request *r = NULL;
    lx_error err = {0};
    lx_openai_req_fast_enable(false);
    lx_status st = lx_codec_openai.request_decode(body, strlen(body), &r, &err);
    lx_openai_req_fast_enable(true);
    cr_assert_eq(st, LX_OK, "decode %s: %s", body, err.message);
    return r;
}

/* ---- random strings ------------------------------------------------------ */

static const char *const pieces[] = {
    "a",  "Hello", " ",   "\"",     "\\",     "/",    "\n",   "\r",       "\t",   "\b",
    "\f", "\x01",  "\x1f", "\x7f",  "é",      "中文", "😀",   "\xe2\x80\xa8", "<",    "&",
    "0",  "-",     "e",   "\xff",   "\xc3",   "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf",
    "\xe2\x82",    "{}",  "null",   "\\u0041", "%s",  "\xef\xbf\xbd",
};
#define N_PIECES (sizeof pieces / sizeof *pieces)
#define N_VALID_PIECES 23 /* the first ones are valid UTF-8 */

/* A random string into the arena; `valid`: only valid UTF-8 pieces. */
static char *rand_str(lx_arena *a, bool valid)
{
    char tmp[256];
    size_t n = 0;
    int k = (int)pick(8);
    for (int i = 0; i < k; i++) {
        const char *p = pieces[pick(valid ? N_VALID_PIECES : N_PIECES)];
        size_t l = strlen(p);
        if (n + l >= sizeof tmp)
            break;
        memcpy(tmp + n, p, l);
        n += l;
    }
    tmp[n] = '\0';
    return lx_arena_strdup(a, tmp);
}

static double rand_real(void)
{
    static const double edge[] = {0.0,     -0.0,    0.2,      1.0,         2.0,      0.7,
                                  1e300,   -1e-300, 5e-324,   DBL_MAX,     -DBL_MIN, 1e16,
                                  1e17,    1e21,    -1.2345678901234567e-308, 123456789.0,
                                  1.0 / 3, 0.1,     -12345678901234567.0,     1e-7};
    switch (pick(4)) {
    case 0: return edge[pick(sizeof edge / sizeof *edge)];
    case 1: return (double)(int)pick(200) / 100.0;
    case 2: {
        uint64_t bits = (uint64_t)rnd() << 32 | rnd();
        double d;
        memcpy(&d, &bits, sizeof d);
        return d; /* may be NaN or infinite: jansson refuses, so must the fast path */
    }
    default: return ldexp((double)rnd(), (int)pick(200) - 100);
    }
}

static int64_t rand_int(void)
{
    static const int64_t edge[] = {0, 1, -1, 64, INT64_MAX, INT64_MIN, 1 << 30, -(1LL << 53)};
    return pick(2) ? edge[pick(sizeof edge / sizeof *edge)] : (int64_t)rnd() - (1 << 20);
}

/* A random request built by hand: any roles and part kinds, any strings. */
static lx_request *rand_request(bool valid_only)
{
    lx_request *r = lx_request_new();
    lx_arena *a = r->arena;
    r->model = pick(10) ? rand_str(a, valid_only || pick(4)) : (pick(2) ? NULL : "");
    if (r->model && !*r->model && pick(2))
        r->model = "m";
    int nm = (int)pick(5);
    for (int i = 0; i < nm; i++) {
        lx_role role = pick(12) == 0 ? LX_ROLE_TOOL : (lx_role)pick(3);
        lx_message *m = lx_request_add_message(r, role);
        int np = (int)pick(4);
        for (int j = 0; j < np; j++) {
            uint32_t k = pick(10);
            lx_part_kind kind = k < 6   ? LX_PART_TEXT
                                : k < 7 ? LX_PART_THINKING
                                : k < 8 ? LX_PART_IMAGE
                                : k < 9 ? LX_PART_TOOL_CALL
                                        : LX_PART_TOOL_RESULT;
            lx_part *p = lx_message_add_part(r, m, kind);
            p->text = pick(8) ? rand_str(a, valid_only || pick(4) != 0) : NULL;
            if (role == LX_ROLE_ASSISTANT && !valid_only && pick(3) == 0)
                p->text = rand_str(a, false); /* earlier model output: repaired */
            if (kind == LX_PART_IMAGE) {
                p->url = pick(2) ? "https://example.com/a.png" : NULL;
                p->data = p->url ? NULL : "aGk=";
            }
            if (kind == LX_PART_TOOL_CALL || kind == LX_PART_TOOL_RESULT) {
                p->id = pick(2) ? "call_1" : NULL;
                p->name = "f";
                p->arguments = kind == LX_PART_TOOL_CALL ? "{\"x\":1}" : NULL;
            }
        }
    }
    lx_sampling *s = &r->sampling;
    if ((s->has_temperature = pick(2)))
        s->temperature = rand_real();
    if ((s->has_top_p = pick(3) == 0))
        s->top_p = rand_real();
    if ((s->has_top_k = pick(4) == 0))
        s->top_k = (int)pick(100);
    if ((s->has_seed = pick(3) == 0))
        s->seed = rand_int();
    s->max_tokens = pick(2) ? rand_int() : 0;
    int ns = (int)pick(4);
    for (int i = 0; i < ns; i++)
        lx_request_add_stop(r, rand_str(a, valid_only || pick(4)));
    if (pick(10) == 0) {
        lx_tool *t = lx_request_add_tool(r);
        t->name = "get_weather";
        t->parameters = pick(2) ? "{\"type\":\"object\"}" : NULL;
        r->tool_choice.kind = (lx_tool_choice_kind)pick(5);
    }
    uint32_t f = pick(8);
    r->format.kind = f == 0 ? LX_FORMAT_JSON : f == 1 ? LX_FORMAT_JSON_SCHEMA : LX_FORMAT_TEXT;
    if (r->format.kind == LX_FORMAT_JSON_SCHEMA)
        r->format.schema = "{\"type\":\"object\"}";
    r->stream = pick(2);
    r->include_usage = pick(2);
    r->thinking_budget = pick(4) ? 0 : 1024;
    r->user = pick(3) ? NULL : rand_str(a, valid_only || pick(4));
    return r;
}

/* ---- encoder ------------------------------------------------------------- */

static const char *const bodies[] = {
    /* the gateway bench body */
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a "
    "concise assistant for software operations questions.\"},{\"role\":\"user\",\"content\":"
    "\"Our team runs a small web service that stores orders in Postgres. Requests must finish "
    "within 200 ms. Last night the batch job timed out twice. In two sentences, what are the "
    "first three things we should check?\"}],\"max_tokens\":64,\"temperature\":0.2,"
    "\"stream\":false}",
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
    "\"max_tokens\":64,\"temperature\":0.2,\"stream\":true,\"stream_options\":{\"include_usage\":"
    "true}}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
    "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},{\"role\":\"user\",\"content\":[{"
    "\"type\":\"text\",\"text\":\"x\"},{\"type\":\"refusal\",\"refusal\":\"y\"}]},{\"role\":"
    "\"assistant\",\"content\":null,\"reasoning_content\":\"think\",\"refusal\":\"no\"}],"
    "\"top_p\":1,\"seed\":-5,\"max_completion_tokens\":10,\"max_tokens\":3,\"stop\":[\"\\n\","
    "\"END\"],\"user\":\"u-1\",\"response_format\":{\"type\":\"json_object\"}}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\u00e9\\ud83d\\ude00 "
    "\\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u0001\\u001f\\u007f\"}],\"stop\":\"s\",\"temperature\":"
    "1e300,\"top_p\":-0.0,\"seed\":9223372036854775807}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[]},{\"role\":\"user\"},"
    "{\"role\":\"assistant\",\"content\":\"\"},{\"role\":\"system\"}],\"temperature\":0}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
    "\"image_url\":{\"url\":\"data:image/png;base64,aGk=\"}}]}],\"response_format\":{\"type\":"
    "\"json_schema\",\"json_schema\":{\"name\":\"n\",\"schema\":{\"type\":\"object\"}}}}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":\"x\",\"tool_calls\":[{"
    "\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"r\"}],\"tools\":[{\"type\":"
    "\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}],\"tool_choice\":\"auto\","
    "\"parallel_tool_calls\":false}",
};

Test(openai_req, encode_decoded_bodies)
{
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        lx_request *r = decode_jansson(bodies[i]);
        char what[32];
        snprintf(what, sizeof what, "body %zu", i);
        check_encode_all_opts(r, what);
        lx_request_free(r);
    }
}

Test(openai_req, encode_takes_the_common_shapes)
{
    for (size_t i = 0; i < 5; i++) {
        lx_request *r = decode_jansson(bodies[i]);
        lx_buf b;
        lx_buf_init(&b, 0);
        lx_codec_opts o = {.stream = true};
        cr_assert(lx_openai_req_encode_fast(r, r->model, &o, &b), "body %zu not taken", i);
        lx_buf_free(&b);
        lx_request_free(r);
    }
    for (size_t i = 5; i < 7; i++) { /* images, schema, tools: jansson */
        lx_request *r = decode_jansson(bodies[i]);
        lx_buf b;
        lx_buf_init(&b, 0);
        cr_assert_not(lx_openai_req_encode_fast(r, r->model, NULL, &b), "body %zu taken", i);
        cr_assert_eq(b.len, 0);
        lx_buf_free(&b);
        lx_request_free(r);
    }
}

Test(openai_req, encode_exact_bytes)
{
    lx_request *r = decode_jansson(bodies[0]);
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_codec_opts o = {.model = "gpt-4o-mini", .stream = true};
    lx_error err = {0};
    cr_assert_eq(lx_codec_openai.request_encode(r, &o, &b, &err), LX_OK);
    cr_assert_str_eq(
        b.data,
        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a "
        "concise assistant for software operations questions.\"},{\"role\":\"user\",\"content\":"
        "\"Our team runs a small web service that stores orders in Postgres. Requests must finish "
        "within 200 ms. Last night the batch job timed out twice. In two sentences, what are the "
        "first three things we should check?\"}],\"temperature\":0.20000000000000001,"
        "\"max_completion_tokens\":64,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    lx_buf_free(&b);
    lx_request_free(r);
}

Test(openai_req, encode_reals_at_the_edges)
{
    static const double v[] = {0.0,    -0.0,    1.0,      100.0,   0.2,      1e16,    1e17,
                               1e21,   1e22,    1e-7,     5e-324,  DBL_MAX,  -DBL_MAX, DBL_MIN,
                               -1.2345678901234567e-308, -12345678901234567.0,
                               -123456789012345678.0,    1.5e300, 0.1 + 0.2, INFINITY, NAN};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        lx_request *r = decode_jansson(bodies[1]);
        r->sampling.has_temperature = true;
        r->sampling.temperature = v[i];
        r->sampling.has_top_p = true;
        r->sampling.top_p = -v[i];
        char what[64];
        snprintf(what, sizeof what, "real %.17g", v[i]);
        check_encode_all_opts(r, what);
        lx_request_free(r);
    }
}

Test(openai_req, encode_buffer_cap)
{
    /* an output buffer too small: both paths fail the same way, out unchanged */
    lx_request *r = decode_jansson(bodies[0]);
    for (size_t cap = 1; cap < 500; cap += 37) {
        lx_buf a, b;
        lx_buf_init(&a, cap);
        lx_buf_init(&b, cap);
        lx_error ea = {0}, eb = {0};
        lx_status sa = lx_codec_openai.request_encode(r, NULL, &a, &ea);
        lx_openai_req_fast_enable(false);
        lx_status sb = lx_codec_openai.request_encode(r, NULL, &b, &eb);
        lx_openai_req_fast_enable(true);
        cr_assert_eq(sa, sb, "cap %zu", cap);
        cr_assert_eq(a.len, b.len, "cap %zu", cap);
        if (sa != LX_OK)
            cr_assert_str_eq(ea.message, eb.message);
        lx_buf_free(&a);
        lx_buf_free(&b);
    }
    lx_request_free(r);
}

Test(openai_req, encode_random_requests)
{
    n_fast_enc = 0;
    for (int i = 0; i < 6000; i++) {
        lx_request *r = rand_request(i % 2 == 0);
        char what[32];
        snprintf(what, sizeof what, "random request %d", i);
        check_encode_all_opts(r, what);
        lx_request_free(r);
    }
    cr_assert_gt(n_fast_enc, 6000, "the fast encoder took only %d", n_fast_enc);
}
