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
    cr_assert(memcmp(a.out.data, b.out.data, a.out.len) == 0, "%s:\nfast:    %s\njansson: %s", what,
              a.out.data, b.out.data);
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
                lx_codec_opts o = {.model = m == 0   ? NULL
                                            : m == 1 ? "gpt-4o-mini"
                                                     : "",
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
    "a",
    "Hello",
    " ",
    "\"",
    "\\",
    "/",
    "\n",
    "\r",
    "\t",
    "\b",
    "\f",
    "\x01",
    "\x1f",
    "\x7f",
    "é",
    "中文",
    "😀",
    "\xe2\x80\xa8",
    "<",
    "&",
    "0",
    "-",
    "e",
    "\xff",
    "\xc3",
    "\xed\xa0\x80",
    "\xf4\x90\x80\x80",
    "\xc0\xaf",
    "\xe2\x82",
    "{}",
    "null",
    "\\u0041",
    "%s",
    "\xef\xbf\xbd",
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
    static const double edge[] = {0.0,
                                  -0.0,
                                  0.2,
                                  1.0,
                                  2.0,
                                  0.7,
                                  1e300,
                                  -1e-300,
                                  5e-324,
                                  DBL_MAX,
                                  -DBL_MIN,
                                  1e16,
                                  1e17,
                                  1e21,
                                  -1.2345678901234567e-308,
                                  123456789.0,
                                  1.0 / 3,
                                  0.1,
                                  -12345678901234567.0,
                                  1e-7};
    switch (pick(4)) {
    case 0:
        return edge[pick(sizeof edge / sizeof *edge)];
    case 1:
        return (double)(int)pick(200) / 100.0;
    case 2: {
        uint64_t bits = (uint64_t)rnd() << 32 | rnd();
        double d;
        memcpy(&d, &bits, sizeof d);
        return d; /* may be NaN or infinite: jansson refuses, so must the fast path */
    }
    default:
        return ldexp((double)rnd(), (int)pick(200) - 100);
    }
}

static int64_t rand_int(void)
{
    static const int64_t edge[] = {0, 1, -1, 64, INT64_MAX, INT64_MIN, 1 << 30, -(1LL << 53)};
    return pick(2) ? edge[pick(sizeof edge / sizeof *edge)] : (int64_t)rnd() - (1 << 20);
}

/* JSON texts for tool parameters and schemas: ones jansson takes (the
 * dump must match) and ones it refuses (the error must match). */
static const char *const json_texts[] = {
    "{}",
    " { } ",
    "",
    "{\"type\":\"object\"}",
    "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\",\"minimum\":-0.0,"
    "\"max\":1e2,\"d\":0.1,\"e\":-1.5E-7,\"i\":-0,\"j\":123456789012345678}}}",
    "{\"a\":\"\\u00e9\\n\\/\\u001f\\\\\\\"\\ud83d\\ude00\",\"b\":\"é\x7f\"}",
    " {\n\t\"a\" : [ 1 , 2 , { \"b\" : null , \"c\" : true , \"d\" : false } ] , \"e\":[] "
    ",\"f\":{}}\r\n",
    "{\"a\":1,\"a\":2}",
    "[1]",
    "{\"a\":}",
    "{\"a\":1e400}",
    "{\"a\":99999999999999999999}",
    "{\"k\\u0041\":1}",
    "{\"a\":\"\\u0000\"}",
    "{\"x\":\"\xff\"}",
    "{\"x\":1} x",
    "{\"x\":\"a\tb\"}",
    "{\"x\":1e-400,\"y\":5e-324,\"z\":1.7976931348623157e308,\"w\":-1.2345678901234567e-300}",
    "{\"x\":-1.2345678901234567e-308}",
    "null",
    "{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}",
};
#define N_JSON_TEXTS (sizeof json_texts / sizeof *json_texts)

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
                p->url = pick(2) ? rand_str(a, valid_only || pick(4)) : NULL;
                p->data = p->url ? NULL : "aGk=";
                p->media_type = pick(2) ? "image/jpeg" : NULL;
            }
            if (kind == LX_PART_TOOL_CALL || kind == LX_PART_TOOL_RESULT) {
                static const char *const ids[] = {"call_1", "c2", "call_x"};
                static const char *const names[] = {"f", "g", "get_weather"};
                p->id = pick(2) ? (char *)ids[pick(3)] : NULL;
                p->name = pick(8) ? (char *)names[pick(3)] : NULL;
                p->arguments = kind == LX_PART_TOOL_CALL && pick(4)
                                   ? rand_str(a, valid_only || pick(4))
                                   : NULL;
            }
            if (!valid_only && pick(16) == 0) { /* any field the UTF-8 check reads */
                char *bad = rand_str(a, false);
                switch (pick(6)) {
                case 0:
                    p->id = bad;
                    break;
                case 1:
                    p->name = bad;
                    break;
                case 2:
                    p->signature = bad;
                    break;
                case 3:
                    p->data = bad;
                    break;
                case 4:
                    p->media_type = bad;
                    break;
                default:
                    p->url = bad;
                    break;
                }
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
    int nt = pick(3) ? 0 : (int)pick(3);
    for (int i = 0; i < nt; i++) {
        lx_tool *t = lx_request_add_tool(r);
        t->name = pick(8) ? rand_str(a, valid_only || pick(4)) : NULL;
        t->description = pick(2) ? rand_str(a, valid_only || pick(4)) : NULL;
        t->parameters = pick(5) ? (char *)json_texts[pick(N_JSON_TEXTS)] : NULL;
    }
    r->tool_choice.kind = (lx_tool_choice_kind)pick(5);
    r->tool_choice.name = pick(2) ? rand_str(a, valid_only || pick(2)) : NULL;
    r->tool_choice.has_parallel = pick(2);
    r->tool_choice.parallel = pick(2);
    uint32_t f = pick(6);
    r->format.kind = f == 0 ? LX_FORMAT_JSON : f == 1 ? LX_FORMAT_JSON_SCHEMA : LX_FORMAT_TEXT;
    r->format.strict = pick(2);
    r->format.name = pick(2) ? rand_str(a, valid_only || pick(2)) : NULL;
    if (r->format.kind == LX_FORMAT_JSON_SCHEMA)
        r->format.schema = pick(6) ? (char *)json_texts[pick(N_JSON_TEXTS)] : NULL;
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
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        lx_request *r = decode_jansson(bodies[i]);
        lx_buf b;
        lx_buf_init(&b, 0);
        lx_codec_opts o = {.stream = true};
        cr_assert(lx_openai_req_encode_fast(r, r->model, &o, &b), "body %zu not taken", i);
        lx_buf_free(&b);
        lx_request_free(r);
    }
    /* what jansson refuses is refused, out unchanged */
    lx_request *r = decode_jansson(bodies[6]);
    r->tools[0].parameters = "{\"a\":1,\"a\":2}";
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_not(lx_openai_req_encode_fast(r, r->model, NULL, &b));
    cr_assert_eq(b.len, 0);
    lx_buf_free(&b);
    lx_request_free(r);
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
        "\"max_completion_tokens\":64,\"stream\":true,\"stream_options\":{\"include_usage\":true}"
        "}");
    lx_buf_free(&b);
    lx_request_free(r);
}

Test(openai_req, encode_reals_at_the_edges)
{
    static const double v[] = {0.0,
                               -0.0,
                               1.0,
                               100.0,
                               0.2,
                               1e16,
                               1e17,
                               1e21,
                               1e22,
                               1e-7,
                               5e-324,
                               DBL_MAX,
                               -DBL_MAX,
                               DBL_MIN,
                               -1.2345678901234567e-308,
                               -12345678901234567.0,
                               -123456789012345678.0,
                               1.5e300,
                               0.1 + 0.2,
                               INFINITY,
                               NAN};
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
    cr_log_info("fast encoder took %d of %d", n_fast_enc, 6000 * 13);
    cr_assert_gt(n_fast_enc, 6000, "the fast encoder took only %d", n_fast_enc);
}

/* ---- decoder ------------------------------------------------------------- */

static int n_fast_dec;

/* Decodes body both ways; the results must be the same. */
static void check_decode(const char *body, size_t len, const char *what)
{
    lx_request *a = NULL, *b = NULL;
    lx_error ea = {0}, eb = {0};
    lx_status sa = lx_codec_openai.request_decode(body, len, &a, &ea);
    lx_openai_req_fast_enable(false);
    lx_status sb = lx_codec_openai.request_decode(body, len, &b, &eb);
    lx_openai_req_fast_enable(true);
    cr_assert_eq(sa, sb, "%s: status %d vs %d (%s | %s)\nbody: %.*s", what, sa, sb, ea.message,
                 eb.message, (int)len, body);
    if (sa != LX_OK) {
        cr_assert_str_eq(ea.message, eb.message, "%s", what);
        cr_assert_str_eq(ea.type, eb.type);
        cr_assert_eq(ea.code, eb.code);
        cr_assert_null(a);
        cr_assert_null(b);
        return;
    }
    char why[160];
    cr_assert(lx_openai_req_same(a, b, why, sizeof why), "%s: %s differs\nbody: %.*s", what, why,
              (int)len, body);
    /* and they encode the same in every dialect */
    const lx_codec *codecs[] = {&lx_codec_openai, &lx_codec_anthropic, &lx_codec_gemini,
                                &lx_codec_ollama};
    for (size_t c = 0; c < 4; c++) {
        lx_buf x, y;
        lx_buf_init(&x, 0);
        lx_buf_init(&y, 0);
        lx_codec_opts o = {.model = "m", .stream = c & 1, .default_max_tokens = 100};
        lx_error e1 = {0}, e2 = {0};
        lx_status s1 = codecs[c]->request_encode(a, &o, &x, &e1);
        lx_status s2 = codecs[c]->request_encode(b, &o, &y, &e2);
        cr_assert_eq(s1, s2, "%s: %s encode", what, codecs[c]->name);
        cr_assert_eq(x.len, y.len, "%s: %s encode", what, codecs[c]->name);
        cr_assert(x.len == 0 || memcmp(x.data, y.data, x.len) == 0, "%s: %s encode", what,
                  codecs[c]->name);
        lx_buf_free(&x);
        lx_buf_free(&y);
    }
    lx_request *f = NULL;
    if (lx_openai_req_decode_fast(body, len, &f)) {
        n_fast_dec++;
        lx_request_free(f);
    }
    lx_request_free(a);
    lx_request_free(b);
}

static void check_decode_str(const char *body)
{
    check_decode(body, strlen(body), body);
}

Test(openai_req, decode_takes_the_common_shapes)
{
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        lx_request *r = NULL;
        cr_assert(lx_openai_req_decode_fast(bodies[i], strlen(bodies[i]), &r), "body %zu", i);
        lx_request_free(r);
        check_decode_str(bodies[i]);
    }
    static const char *const refused[] = {
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"x\":1,\"model\":"
        "\"n\"}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\\u0000\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{"
        "\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"a\":1,\"a\":2}}}]}",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        lx_request *r = NULL;
        cr_assert_not(lx_openai_req_decode_fast(refused[i], strlen(refused[i]), &r), "%zu", i);
        cr_assert_null(r);
        check_decode_str(refused[i]);
    }
}

Test(openai_req, decode_hand_written)
{
#define MSG "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
    static const char *const cases[] = {
        "{\"model\":\"m\"," MSG "}",
        " \t\r\n{\"model\":\"m\"," MSG "} \n",
        "{\"model\":\"m\"," MSG "}x",
        "{\"model\":\"m\"," MSG ",}",
        "{\"model\":\"m\"," MSG "",
        "[]",
        "",
        "{}",
        "null",
        "{\"model\":\"\"," MSG "}",
        "{\"model\":null," MSG "}",
        "{\"model\":1," MSG "}",
        "{\"model\":\"m\"}",
        "{\"model\":\"m\",\"messages\":[]}",
        "{\"model\":\"m\",\"messages\":{}}",
        "{\"model\":\"m\",\"messages\":[1]}",
        "{\"model\":\"m\",\"messages\":[{}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"bot\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"us\\u0065r\",\"content\":\"x\"}]}",
        "{\"mod\\u0065l\":\"m\"," MSG "}",
        "{\"model\":\"m\",\"model\":\"n\"," MSG "}",
        "{\"model\":\"m\"," MSG "," MSG "}",
        "{\"model\":\"m\",\"x\":1,\"x\":2," MSG "}",
        "{\"model\":\"m\\u0000\"," MSG "}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\udc00\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\\u0041\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\uD83D\\uDE00\\u00E9\"}]"
        "}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\x\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc0\xaf\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xf4\x90\x80\x80\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\tb\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\x7f\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"audio\"}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[1]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":1}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":1}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"refusal\","
        "\"refusal\":\"x\"}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"text\","
        "\"text\":\"a\",\"x\":[1,{\"y\":null}]},{\"text\":\"b\",\"type\":\"text\"}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"refusal\":"
        "\"\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"reasoning_content\":1}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":\"x\",\"refusal\":"
        "\"r\",\"reasoning_content\":\"\",\"tool_calls\":null,\"name\":\"bob\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":"
        "\"r\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"role\":\"user\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"content\":\"b\"}]}",
        "{\"model\":\"m\"," MSG ",\"temperature\":-0}",
        "{\"model\":\"m\"," MSG ",\"temperature\":-0.0}",
        "{\"model\":\"m\"," MSG ",\"temperature\":1e400}",
        "{\"model\":\"m\"," MSG ",\"temperature\":-1e400}",
        "{\"model\":\"m\"," MSG ",\"temperature\":1e-400}",
        "{\"model\":\"m\"," MSG ",\"temperature\":4.9e-324}",
        "{\"model\":\"m\"," MSG ",\"temperature\":0.30000000000000004441}",
        "{\"model\":\"m\"," MSG ",\"temperature\":1.7976931348623157e308}",
        "{\"model\":\"m\"," MSG ",\"temperature\":1.7976931348623159e308}",
        "{\"model\":\"m\"," MSG ",\"temperature\":01}",
        "{\"model\":\"m\"," MSG ",\"temperature\":1.}",
        "{\"model\":\"m\"," MSG ",\"temperature\":.5}",
        "{\"model\":\"m\"," MSG ",\"temperature\":1e}",
        "{\"model\":\"m\"," MSG ",\"temperature\":1E+2}",
        "{\"model\":\"m\"," MSG ",\"temperature\":-}",
        "{\"model\":\"m\"," MSG ",\"temperature\":+1}",
        "{\"model\":\"m\"," MSG ",\"temperature\":\"1\"}",
        "{\"model\":\"m\"," MSG ",\"temperature\":null,\"top_p\":null,\"seed\":null}",
        "{\"model\":\"m\"," MSG ",\"seed\":9223372036854775807}",
        "{\"model\":\"m\"," MSG ",\"seed\":9223372036854775808}",
        "{\"model\":\"m\"," MSG ",\"seed\":-9223372036854775808}",
        "{\"model\":\"m\"," MSG ",\"seed\":-9223372036854775809}",
        "{\"model\":\"m\"," MSG ",\"seed\":1.0}",
        "{\"model\":\"m\"," MSG ",\"seed\":1.5}",
        "{\"model\":\"m\"," MSG ",\"seed\":1e18}",
        "{\"model\":\"m\"," MSG ",\"seed\":1e19}",
        "{\"model\":\"m\"," MSG ",\"seed\":true}",
        "{\"model\":\"m\"," MSG ",\"top_k\":40}",
        "{\"model\":\"m\"," MSG ",\"top_k\":-3}",
        "{\"model\":\"m\"," MSG ",\"top_k\":2000000000}",
        "{\"model\":\"m\"," MSG ",\"max_tokens\":0}",
        "{\"model\":\"m\"," MSG ",\"max_tokens\":-1}",
        "{\"model\":\"m\"," MSG ",\"max_tokens\":64.0}",
        "{\"model\":\"m\"," MSG ",\"max_tokens\":\"64\"}",
        "{\"model\":\"m\"," MSG ",\"max_tokens\":5,\"max_completion_tokens\":null}",
        "{\"model\":\"m\"," MSG ",\"max_tokens\":5,\"max_completion_tokens\":0}",
        "{\"model\":\"m\"," MSG ",\"max_tokens\":\"x\",\"max_completion_tokens\":7}",
        "{\"model\":\"m\"," MSG ",\"stop\":null}",
        "{\"model\":\"m\"," MSG ",\"stop\":[]}",
        "{\"model\":\"m\"," MSG ",\"stop\":[\"a\",\"\\n\"]}",
        "{\"model\":\"m\"," MSG ",\"stop\":[\"a\",1]}",
        "{\"model\":\"m\"," MSG ",\"stop\":1}",
        "{\"model\":\"m\"," MSG ",\"stop\":\"\"}",
        "{\"model\":\"m\"," MSG ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
        "{\"model\":\"m\"," MSG ",\"stream\":1}",
        "{\"model\":\"m\"," MSG ",\"stream_options\":{\"include_usage\":1}}",
        "{\"model\":\"m\"," MSG ",\"stream_options\":{\"include_usage\":null,\"x\":2}}",
        "{\"model\":\"m\"," MSG ",\"stream_options\":[]}",
        "{\"model\":\"m\"," MSG ",\"stream_options\":null}",
        "{\"model\":\"m\"," MSG ",\"user\":\"u\"}",
        "{\"model\":\"m\"," MSG ",\"user\":5}",
        "{\"model\":\"m\"," MSG ",\"parallel_tool_calls\":true}",
        "{\"model\":\"m\"," MSG ",\"parallel_tool_calls\":\"yes\"}",
        "{\"model\":\"m\"," MSG ",\"tool_choice\":\"auto\"}",
        "{\"model\":\"m\"," MSG ",\"tool_choice\":\"none\"}",
        "{\"model\":\"m\"," MSG ",\"tool_choice\":\"required\"}",
        "{\"model\":\"m\"," MSG ",\"tool_choice\":\"any\"}",
        "{\"model\":\"m\"," MSG ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
        "\"f\"}}}",
        "{\"model\":\"m\"," MSG ",\"tools\":null}",
        "{\"model\":\"m\"," MSG ",\"tools\":[]}",
        "{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"text\"}}",
        "{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"json_object\",\"x\":1}}",
        "{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"xml\"}}",
        "{\"model\":\"m\"," MSG ",\"response_format\":{}}",
        "{\"model\":\"m\"," MSG ",\"response_format\":\"json\"}",
        "{\"model\":\"m\"," MSG ",\"n\":1,\"presence_penalty\":0.5,\"frequency_penalty\":-1,"
        "\"logit_bias\":{\"50256\":-100},\"metadata\":{\"a\":[true,false,null,{}]},"
        "\"logprobs\":false,\"top_logprobs\":null}",
        "{\"model\":\"m\"," MSG
        ",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]"
        "]]]]]]]]]]]]]]]]]]]]]}",
        "{\"model\":\"m\"," MSG ",\"x\":{\"\\u0000\":1}}",
        "{\"model\":\"m\"," MSG ",\"x\":{\"a\\nb\":1,\"a\":2,\"a\":3}}",
        "{\"model\":\"m\"," MSG ",\"x\":nul}",
        "{\"model\":\"m\"," MSG ",\"x\":truex}",
        "{\"model\":\"m\"," MSG ",\"x\":[1,]}",
        "{\"model\":\"m\"," MSG ",\"x\":[1 2]}",
        "{\"model\":\"m\"," MSG ",\"x\":{\"a\" 1}}",
        "{\"model\":\"m\"," MSG ",\"x\":{1:1}}",
        "{\"model\":\"m\"," MSG ",\"x\":99999999999999999999}",
#define TOOL_F(params)                                                                             \
    "{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":" params "}}"
        "{\"model\":\"m\"," MSG ",\"tools\":[" TOOL_F("{}") "]}",
        "{\"model\":\"m\"," MSG ",\"tools\":[" TOOL_F("null") "]}",
        "{\"model\":\"m\"," MSG ",\"tools\":[" TOOL_F("[]") "]}",
        "{\"model\":\"m\"," MSG
        ",\"tools\":[" TOOL_F("{\"type\":\"object\",\"properties\":{\"x\":{"
                              "\"type\":\"number\",\"minimum\":-0,\"maximum\":1e2,\"m\":0.1,\"d\":"
                              "\"a\\/b\\u00e9\\n\"}},"
                              "\"required\":[\"x\"],\"additionalProperties\":false}") "]}",
        "{\"model\":\"m\"," MSG
        ",\"tools\":[" TOOL_F("{\"a\" : [ 1 , -0.0 , 1E+2 , true , null ] }") "]}",
        "{\"model\":\"m\"," MSG ",\"tools\":[" TOOL_F("{\"a\":1,\"a\":2}") "]}",
        "{\"model\":\"m\"," MSG ",\"tools\":[" TOOL_F("{\"k\\u0041\":1}") "]}",
        "{\"model\":\"m\"," MSG ",\"tools\":[" TOOL_F("{\"x\":-1.2345678901234567e-308}") "]}",
        "{\"model\":\"m\"," MSG ",\"tools\":[" TOOL_F("{\"x\":1.5e300}") "]}",
        "{\"model\":\"m\"," MSG
        ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"\"}}]}",
        "{\"model\":\"m\"," MSG ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"description\":\"d\\td\"}},{\"function\":{\"name\":\"g\"},\"type\":\"function\"}],"
        "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}},\"parallel_tool_"
        "calls\":true}",
        "{\"model\":\"m\"," MSG ",\"tools\":[{\"type\":\"web\"}]}",
        "{\"model\":\"m\"," MSG ",\"tools\":[1]}",
        "{\"model\":\"m\"," MSG ",\"tools\":{}}",
        "{\"model\":\"m\"," MSG ",\"tool_choice\":{\"function\":{}}}",
        "{\"model\":\"m\"," MSG ",\"tool_choice\":{\"function\":{\"name\":\"\"}}}",
        "{\"model\":\"m\"," MSG ",\"tool_choice\":[]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
        "\"function\":{\"name\":\"f\",\"arguments\":{\"x\":[1,2.50,\"\\u00e9\"]}}},{\"function\":{"
        "\"name\":\"\"}},{\"id\":null,\"type\":\"function\",\"function\":{\"name\":\"g\","
        "\"arguments\":"
        "\"{\\\"y\\\":1}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":\"r1\"},{"
        "\"role\":"
        "\"tool\",\"tool_call_id\":\"zz\",\"content\":[{\"type\":\"text\",\"text\":\"r2\"}]},{"
        "\"role\":"
        "\"tool\",\"tool_call_id\":\"\",\"content\":null},{\"role\":\"user\",\"content\":\"u\"},{"
        "\"role\":"
        "\"tool\",\"tool_call_id\":\"a\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{"
        "\"name\":\"f\",\"arguments\":[1]}}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{"
        "\"name\":\"f\",\"arguments\":{\"a\":1,\"a\":1}}}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{"
        "\"arguments\":\"{}\"}}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":{}}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":1,"
        "\"function\":{\"name\":\"f\"}}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"r\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":1}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
        "\"image_url\":{\"url\":\"data:image/png;base64,aGk=\",\"detail\":\"low\"}},{\"type\":"
        "\"image_url\",\"image_url\":\"https://x/y.png\"},{\"type\":\"image_url\",\"image_url\":{"
        "\"url\":\"data:,x\"}},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:a;base64x,y\"}"
        "},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:;base64,\"}}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
        "\"image_url\":{}}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]"
        "}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"image_"
        "url\","
        "\"image_url\":\"https://x\"}]}]}",
        "{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{"
        "\"name\":\"n\",\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":{}}}}}",
        "{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{"
        "\"schema\":{}}}}",
        "{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{"
        "\"schema\":[]}}}",
        "{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{"
        "\"strict\":1,\"schema\":{}}}}",
        "{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"json_schema\"}}",
#undef TOOL_F
        "{\"model\":\"m\"," MSG ",\"x\":-99999999999999999999}",
        "{\"model\":\"m\"," MSG ",\"x\":1"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000.5}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_decode_str(cases[i]);
    /* embedded NUL bytes, with their lengths */
    static const char nul_body[] = "{\"model\":\"m\"," MSG "}\0";
    check_decode(nul_body, sizeof nul_body - 1, "trailing NUL");
    static const char nul_mid[] = "{\"model\":\"m\",\0" MSG "}";
    check_decode(nul_mid, sizeof nul_mid - 1, "NUL inside");
    check_decode(bodies[0], strlen(bodies[0]) - 1, "cut short");
#undef MSG
}

/* ---- generated bodies ---------------------------------------------------- */

static bool wild; /* generate what the fast path must refuse, too */

static void gen_ws(lx_buf *b)
{
    static const char *const w[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
    lx_buf_puts(b, w[pick(7)]);
}

static void gen_string(lx_buf *b)
{
    static const char *const parts[] = {
        "a",
        "Hello",
        " ",
        "\\\"",
        "\\\\",
        "\\/",
        "\\n",
        "\\r",
        "\\t",
        "\\b",
        "\\f",
        "\\u0041",
        "\\u00e9",
        "\\u4E2D",
        "\\ud83d\\ude00",
        "é",
        "中",
        "😀",
        "\x7f",
        "\\u0000",
        "\\ud800",
        "\\udc00",
        "\\ud800\\u0041",
        "\\x",
        "\xff",
        "\xc3",
        "\xed\xa0\x80",
        "\x01",
        "\t",
        "\\u12",
        "\\uD83D\\uDE00",
        "\\u002F",
    };
    lx_buf_putc(b, '"');
    int n = (int)pick(6);
    for (int i = 0; i < n; i++) {
        uint32_t k = pick(sizeof parts / sizeof *parts);
        if (k >= 19 && (!wild || pick(3))) /* the refused ones, less often */
            k = pick(19);
        lx_buf_puts(b, parts[k]);
    }
    lx_buf_putc(b, '"');
}

static void gen_number(lx_buf *b)
{
    static const char *const nums[] = {
        "0",
        "-0",
        "1",
        "64",
        "-1",
        "0.2",
        "-0.0",
        "1.0",
        "1e2",
        "1E+2",
        "1e-2",
        "2.5",
        "1e400",
        "-1e400",
        "1e-400",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "1e18",
        "1e19",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "0.30000000000000004",
        "123456789012345678901234567890",
        "4.9e-324",
        "17",
        "3.0e0",
    };
    static const char *const tame[] = {"0",   "-0",   "1",   "64",     "0.2", "-0.0",  "1.0",
                                       "1e2", "1E+2", "2.5", "1e-400", "17",  "3.0e0", "4.9e-324"};
    if (wild)
        lx_buf_puts(b, nums[pick(sizeof nums / sizeof *nums)]);
    else
        lx_buf_puts(b, tame[pick(sizeof tame / sizeof *tame)]);
}

static void gen_value(lx_buf *b, int depth);

static void gen_any(lx_buf *b, int depth)
{
    switch (pick(depth > 3 ? 6 : 8)) {
    case 0:
        lx_buf_puts(b, "null");
        break;
    case 1:
        lx_buf_puts(b, pick(2) ? "true" : "false");
        break;
    case 2:
    case 3:
        gen_number(b);
        break;
    case 4:
    case 5:
        gen_string(b);
        break;
    case 6:
    case 7:
        gen_value(b, depth + 1);
        break;
    }
}

/* A random array or object of random values. */
static void gen_value(lx_buf *b, int depth)
{
    bool obj = pick(2);
    lx_buf_putc(b, obj ? '{' : '[');
    int n = (int)pick(4);
    for (int i = 0; i < n; i++) {
        if (i)
            lx_buf_putc(b, ',');
        gen_ws(b);
        if (obj) {
            gen_string(b);
            gen_ws(b);
            lx_buf_putc(b, ':');
            gen_ws(b);
        }
        gen_any(b, depth);
        gen_ws(b);
    }
    lx_buf_putc(b, obj ? '}' : ']');
}

static void gen_key(lx_buf *b, const char *k)
{
    gen_ws(b);
    lx_buf_printf(b, "\"%s\"", k);
    gen_ws(b);
    lx_buf_putc(b, ':');
    gen_ws(b);
}

/* A text: usually a string, sometimes null or text parts, or junk. */
static void gen_content(lx_buf *b, bool parts_ok)
{
    uint32_t k = pick(wild ? 10 : 9);
    if (k < 5) {
        gen_string(b);
    } else if (k < 6) {
        lx_buf_puts(b, "null");
    } else if (k < 9 && parts_ok) {
        lx_buf_putc(b, '[');
        int n = (int)pick(3);
        for (int i = 0; i < n; i++) {
            if (i)
                lx_buf_putc(b, ',');
            uint32_t t = pick(10);
            if (t < 6) {
                lx_buf_puts(b, "{\"type\":\"text\",\"text\":");
                gen_string(b);
                lx_buf_puts(b, pick(4) ? "}" : ",\"cache_control\":{\"type\":\"ephemeral\"}}");
            } else if (t < 7) {
                lx_buf_puts(b, "{\"text\":");
                gen_string(b);
                lx_buf_puts(b, ",\"type\":\"text\"}");
            } else if (t < 8) {
                lx_buf_puts(b, "{\"type\":\"refusal\",\"refusal\":");
                gen_string(b);
                lx_buf_putc(b, '}');
            } else if (t < 9) {
                lx_buf_puts(b,
                            "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}");
            } else if (wild) {
                gen_any(b, 2);
            } else {
                lx_buf_puts(b, "{\"type\":\"text\",\"text\":\"t\"}");
            }
        }
        lx_buf_putc(b, ']');
    } else {
        gen_any(b, 2);
    }
}

/* A JSON object for tool parameters, arguments and schemas: tame ones have
 * distinct plain keys, wild ones any keys and values. */
static void gen_json_obj(lx_buf *b, int depth)
{
    lx_buf_putc(b, '{');
    int n = (int)pick(4);
    for (int i = 0; i < n; i++) {
        if (i)
            lx_buf_putc(b, ',');
        gen_ws(b);
        if (wild && pick(2))
            gen_string(b);
        else
            lx_buf_printf(b, "\"k%d\"", wild ? (int)pick(3) : i);
        gen_ws(b);
        lx_buf_putc(b, ':');
        uint32_t k = pick(depth < 3 ? 6 : 4);
        if (k < 3)
            gen_any(b, 4); /* scalars at this depth */
        else if (k < 4)
            lx_buf_puts(b, "[1,-0,2.5e-3,\"s\",null,true]");
        else
            gen_json_obj(b, depth + 1);
        gen_ws(b);
    }
    lx_buf_putc(b, '}');
}

static void gen_tool_calls(lx_buf *b)
{
    lx_buf_putc(b, '[');
    int n = (int)pick(3);
    for (int i = 0; i < n; i++) {
        if (i)
            lx_buf_putc(b, ',');
        lx_buf_puts(b, "{\"id\":");
        if (pick(5))
            lx_buf_printf(b, "\"call_%d\"", (int)pick(3));
        else
            lx_buf_puts(b, "null");
        lx_buf_puts(b, ",\"type\":\"function\",\"function\":{\"name\":");
        static const char *const names[] = {"\"f\"", "\"g\"", "\"\"", "null"};
        lx_buf_puts(b, names[pick(wild ? 4 : 3)]);
        lx_buf_puts(b, ",\"arguments\":");
        uint32_t k = pick(wild ? 5 : 4);
        if (k == 0)
            gen_string(b);
        else if (k == 1)
            lx_buf_puts(b, "\"{\\\"x\\\":1}\"");
        else if (k == 2)
            lx_buf_puts(b, "null");
        else if (k == 3)
            gen_json_obj(b, 0);
        else
            gen_any(b, 2);
        lx_buf_puts(b, "}}");
    }
    lx_buf_putc(b, ']');
}

static void gen_tools(lx_buf *b)
{
    lx_buf_putc(b, '[');
    int n = (int)pick(3);
    for (int i = 0; i < n; i++) {
        if (i)
            lx_buf_putc(b, ',');
        lx_buf_printf(b, "{\"type\":\"function\",\"function\":{\"name\":\"t%d\"", i);
        if (pick(2)) {
            lx_buf_puts(b, ",\"description\":");
            gen_string(b);
        }
        uint32_t k = pick(4);
        if (k == 1)
            lx_buf_puts(b, ",\"parameters\":null");
        else if (k >= 2) {
            lx_buf_puts(b, ",\"parameters\":");
            gen_json_obj(b, 0);
        }
        lx_buf_puts(b, "}}");
    }
    lx_buf_putc(b, ']');
}

static void gen_message(lx_buf *b)
{
    static const char *const roles[] = {"user",      "user", "system", "assistant",
                                        "developer", "tool", "bot",    "us\\u0065r"};
    static const char *const extra[] = {"reasoning_content", "refusal", "tool_calls", "name",
                                        "tool_call_id"};
    const char *role = roles[wild ? pick(pick(4) ? 6 : 8) : pick(6)];
    /* members built one by one, then written in a random order */
    lx_buf m[5];
    int n = 0;
    lx_buf_init(&m[n], 0);
    gen_key(&m[n], "role");
    if (!wild || pick(30))
        lx_buf_printf(&m[n], "\"%s\"", role);
    else
        gen_any(&m[n], 2);
    n++;
    if (!wild || pick(8)) {
        lx_buf_init(&m[n], 0);
        gen_key(&m[n], "content");
        gen_content(&m[n], true);
        n++;
    }
    int ne = (int)pick(3);
    uint32_t e0 = pick(5);
    for (int i = 0; i < ne; i++) {
        uint32_t e = wild ? pick(5) : (e0 + (uint32_t)i) % 5; /* tame: no key twice */
        lx_buf_init(&m[n], 0);
        gen_key(&m[n], extra[e]);
        if (e == 2)
            pick(3) ? gen_tool_calls(&m[n]) : (void)lx_buf_puts(&m[n], "null");
        else if (e == 4 && pick(2))
            lx_buf_printf(&m[n], "\"call_%d\"", (int)pick(3));
        else if (!wild || pick(5))
            gen_string(&m[n]);
        else
            gen_any(&m[n], 2);
        n++;
    }
    for (int i = n - 1; i > 0; i--) {
        int j = (int)pick((uint32_t)i + 1);
        lx_buf t = m[i];
        m[i] = m[j];
        m[j] = t;
    }
    lx_buf_putc(b, '{');
    for (int i = 0; i < n; i++) {
        if (i)
            lx_buf_putc(b, ',');
        lx_buf_append(b, m[i].data, m[i].len);
        lx_buf_free(&m[i]);
    }
    gen_ws(b);
    lx_buf_putc(b, '}');
}

static void gen_body(lx_buf *b)
{
    static const char *const keys[] = {"model",
                                       "messages",
                                       "temperature",
                                       "top_p",
                                       "max_tokens",
                                       "max_completion_tokens",
                                       "stop",
                                       "stream",
                                       "stream_options",
                                       "seed",
                                       "user",
                                       "top_k",
                                       "tool_choice",
                                       "response_format",
                                       "parallel_tool_calls",
                                       "tools",
                                       "n",
                                       "presence_penalty",
                                       "frequency_penalty",
                                       "metadata",
                                       "logprobs"};
    enum { NK = sizeof keys / sizeof *keys };
    int order[NK];
    for (int i = 0; i < NK; i++)
        order[i] = i;
    for (int i = NK - 1; i > 0; i--) {
        int j = (int)pick((uint32_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    gen_ws(b);
    lx_buf_putc(b, '{');
    bool first = true;
    for (int ii = 0; ii < NK; ii++) {
        int k = order[ii];
        bool always = k < 2;
        if (!always && pick(3))
            continue;
        if (always && !pick(50))
            continue;
        if (!first)
            lx_buf_putc(b, ',');
        first = false;
        gen_key(b, keys[k]);
        bool junk = wild && !pick(25);
        if (junk) {
            gen_any(b, 1);
            continue;
        }
        switch (k) {
        case 0:
        case 10:
            if (!wild && k == 0)
                lx_buf_puts(b, pick(2) ? "\"gpt-4o-mini\"" : "\"m\\u00e9\"");
            else if (pick(20))
                gen_string(b);
            else
                lx_buf_puts(b, pick(2) ? "\"\"" : "null");
            break;
        case 1: {
            lx_buf_putc(b, '[');
            int n = (int)pick(5) + (!wild || pick(20) ? 1 : 0);
            for (int i = 0; i < n; i++) {
                if (i)
                    lx_buf_putc(b, ',');
                gen_ws(b);
                gen_message(b);
            }
            lx_buf_putc(b, ']');
            break;
        }
        case 4:
        case 5:
        case 9:
        case 11:
            if (!wild) { /* integers the decoder takes */
                static const char *const ints[] = {
                    "1", "64", "17", "1e2", "3.0e0", "1.0", "9223372036854775807", "4096"};
                lx_buf_puts(b, ints[pick(8)]);
                break;
            }
            /* fall through */
        case 2:
        case 3:
        case 16:
        case 17:
        case 18:
            pick(10) ? gen_number(b) : (void)lx_buf_puts(b, "null");
            break;
        case 6:
            if (pick(2)) {
                gen_string(b);
            } else {
                lx_buf_putc(b, '[');
                int n = (int)pick(4);
                for (int i = 0; i < n; i++) {
                    if (i)
                        lx_buf_putc(b, ',');
                    gen_string(b);
                }
                lx_buf_putc(b, ']');
            }
            break;
        case 7:
        case 14:
        case 20:
            lx_buf_puts(b, pick(2) ? "true" : pick(2) ? "false" : "null");
            break;
        case 8:
            lx_buf_puts(b,
                        pick(4) ? "{\"include_usage\":true}" : "{\"include_usage\":false,\"x\":1}");
            break;
        case 12: {
            static const char *const tc[] = {
                "\"auto\"",
                "\"none\"",
                "\"required\"",
                "null",
                "{\"type\":\"function\",\"function\":{\"name\":\"t0\"}}",
                "\"x\"",
                "{\"function\":{}}"};
            lx_buf_puts(b, tc[pick(wild ? 7 : 5)]);
            break;
        }
        case 13: {
            static const char *const rf[] = {"{\"type\":\"text\"}", "{\"type\":\"json_object\"}",
                                             "null", "{\"type\":\"json_schema\"}"};
            uint32_t k = pick(wild ? 5 : 4);
            if (k < 3) {
                lx_buf_puts(b, rf[k]);
            } else if (k == 3) {
                lx_buf_puts(
                    b, "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"n\",\"strict\":");
                lx_buf_puts(b, pick(2) ? "true" : "null");
                lx_buf_puts(b, ",\"schema\":");
                gen_json_obj(b, 0);
                lx_buf_puts(b, "}}");
            } else {
                lx_buf_puts(b, rf[3]);
            }
            break;
        }
        case 15:
            pick(3) ? gen_tools(b) : (void)lx_buf_puts(b, pick(2) ? "null" : "[]");
            break;
        default:
            gen_value(b, 1);
            break;
        }
    }
    gen_ws(b);
    lx_buf_putc(b, '}');
    gen_ws(b);
}

Test(openai_req, decode_generated_bodies)
{
    n_fast_dec = 0;
    int total = 6000;
    for (int i = 0; i < total; i++) {
        lx_buf b;
        lx_buf_init(&b, 0);
        wild = i % 2;
        gen_body(&b);
        char what[40];
        snprintf(what, sizeof what, "generated body %d", i);
        check_decode(b.data, b.len, what);
        lx_buf_free(&b);
    }
    cr_log_info("fast decoder took %d of %d generated bodies", n_fast_dec, total);
    cr_assert_gt(n_fast_dec, total / 10, "the fast decoder took only %d", n_fast_dec);
}

Test(openai_req, decode_mutated_bodies)
{
    for (int i = 0; i < 6000; i++) {
        lx_buf b;
        lx_buf_init(&b, 0);
        wild = i % 2;
        if (i % 3 == 0)
            lx_buf_puts(&b, bodies[pick(5)]);
        else
            gen_body(&b);
        int nm = 1 + (int)pick(3);
        for (int m = 0; m < nm && b.len; m++) {
            size_t at = pick((uint32_t)b.len);
            static const char bytes[] = "{}[],:\"\\ 0123456789.eE+-ntfu\x00\x80\xff\x1f";
            switch (pick(3)) {
            case 0:
                b.data[at] = bytes[pick(sizeof bytes - 1)];
                break;
            case 1:
                memmove(b.data + at, b.data + at + 1, b.len - at), b.len--;
                break;
            default: {
                char c = bytes[pick(sizeof bytes - 1)];
                lx_buf_putc(&b, 0);
                memmove(b.data + at + 1, b.data + at, b.len - at - 1);
                b.data[at] = c;
            }
            }
        }
        char what[40];
        snprintf(what, sizeof what, "mutated body %d", i);
        check_decode(b.data, b.len, what);
        lx_buf_free(&b);
    }
}

Test(openai_req, decode_then_encode_round_trip)
{
    /* bodies the fast decoder takes, re-encoded by the fast encoder: same as
     * the jansson encoder on the jansson decode */
    for (int i = 0; i < 3000; i++) {
        lx_buf b;
        lx_buf_init(&b, 0);
        wild = false;
        gen_body(&b);
        lx_request *r = NULL;
        lx_error err = {0};
        if (lx_codec_openai.request_decode(b.data, b.len, &r, &err) == LX_OK) {
            check_encode_all_opts(r, "round trip");
            lx_request_free(r);
        }
        lx_buf_free(&b);
    }
}
