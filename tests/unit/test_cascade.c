/*
 * Unit tests of the cascade validator (src/router/cascade.c): every reason
 * a local draft is escalated, and drafts that pass.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "router/cascade.h"

static lx_routing_cfg cfg = {.cascade_min_logprob = -1.5};

static lx_response *draft(const char *text, lx_finish fin)
{
    lx_response *r = lx_response_new();
    cr_assert_not_null(r);
    if (text)
        lx_response_add_part(r, LX_PART_TEXT)->text = lx_arena_strdup(r->arena, text);
    r->finish = fin;
    return r;
}

static lx_request *req_fmt(lx_format_kind k, const char *schema)
{
    lx_request *q = lx_request_new();
    cr_assert_eq(lx_request_add_text(q, LX_ROLE_USER, "hi"), LX_OK);
    q->format.kind = k;
    q->format.schema = schema ? lx_arena_strdup(q->arena, schema) : NULL;
    return q;
}

/* Verdict for text under request q (NULL: a plain text request). */
static lx_cascade_verdict check(const lx_request *q, const char *text, lx_finish fin, double lp_sum,
                                int64_t n_tok)
{
    lx_response *d = draft(text, fin);
    lx_cascade_verdict v;
    lx_cascade_check(&cfg, q, d, lp_sum, n_tok, &v);
    lx_response_free(d);
    cr_assert_not_null(v.reason);
    cr_assert(v.detail[0]);
    return v;
}

Test(cascade, passes_a_good_draft)
{
    lx_cascade_verdict v = check(NULL, "Paris is the capital of France.", LX_FINISH_STOP, -2.0, 10);
    cr_assert(v.pass, "%s", v.detail);
    cr_assert_str_eq(v.reason, "ok");
    cr_assert_float_eq(v.mean_logprob, -0.2, 1e-9);
    v = check(NULL, "Sure.", LX_FINISH_STOP, 0, 0); /* no logprobs: not judged */
    cr_assert(v.pass);
    cr_assert_eq(v.mean_logprob, 0);
    /* answers that merely mention refusal words later, or start similarly */
    v = check(NULL, "As an aid to memory, use a mnemonic.", LX_FINISH_STOP, 0, 0);
    cr_assert(v.pass, "%s", v.detail);
    v = check(NULL, "I can help with that: here it is.", LX_FINISH_STOP, 0, 0);
    cr_assert(v.pass, "%s", v.detail);
    v = check(NULL, "The model said \"I can't help\" later on.", LX_FINISH_STOP, 0, 0);
    cr_assert(v.pass, "%s", v.detail);
}

Test(cascade, empty_answers)
{
    lx_cascade_verdict v = check(NULL, "", LX_FINISH_STOP, 0, 0);
    cr_assert(!v.pass);
    cr_assert_str_eq(v.reason, "empty answer");
    v = check(NULL, " \n\t ", LX_FINISH_STOP, 0, 0);
    cr_assert_str_eq(v.reason, "empty answer");
    v = check(NULL, NULL, LX_FINISH_STOP, 0, 0);
    cr_assert_str_eq(v.reason, "empty answer");
    lx_cascade_check(&cfg, NULL, NULL, 0, 0, &v);
    cr_assert(!v.pass);
    cr_assert_str_eq(v.reason, "empty answer");
    /* empty beats the length limit: an empty truncated answer is empty */
    v = check(NULL, "", LX_FINISH_LENGTH, 0, 0);
    cr_assert_str_eq(v.reason, "empty answer");
}

Test(cascade, length_limit)
{
    lx_cascade_verdict v = check(NULL, "The answer is a long story that", LX_FINISH_LENGTH, 0, 0);
    cr_assert(!v.pass);
    cr_assert_str_eq(v.reason, "hit length limit");
}

Test(cascade, refusals)
{
    static const char *const r[] = {
        "I can't help with that.",
        "  \n I cannot assist with this request.",
        "I’m sorry, but I can’t do that.",
        "i'm unable to answer",
        "As an AI language model, I don't have opinions.",
        "\"I apologize, but that is not something I can do.\"",
        "**Sorry, I can't** share that.",
        "Unfortunately, I cannot provide medical advice.",
        "I WON'T BE ABLE TO do this.",
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        lx_cascade_verdict v = check(NULL, r[i], LX_FINISH_STOP, 0, 0);
        cr_assert(!v.pass, "not a refusal: %s", r[i]);
        cr_assert_str_eq(v.reason, "refusal", "%s", r[i]);
        cr_assert(strstr(v.detail, "refusal"), "%s", v.detail);
    }
}

Test(cascade, json_requests)
{
    lx_request *q = req_fmt(LX_FORMAT_JSON, NULL);
    lx_cascade_verdict v = check(q, "{\"a\": 1}", LX_FINISH_STOP, 0, 0);
    cr_assert(v.pass, "%s", v.detail);
    v = check(q, " [1, 2]\n", LX_FINISH_STOP, 0, 0);
    cr_assert(v.pass, "%s", v.detail);
    v = check(q, "{\"a\": 1", LX_FINISH_STOP, 0, 0);
    cr_assert(!v.pass);
    cr_assert_str_eq(v.reason, "invalid JSON");
    v = check(q, "```json\n{\"a\": 1}\n```", LX_FINISH_STOP, 0, 0);
    cr_assert_str_eq(v.reason, "invalid JSON");
    v = check(q, "Here you go: {\"a\": 1}", LX_FINISH_STOP, 0, 0);
    cr_assert_str_eq(v.reason, "invalid JSON");
    lx_request_free(q);

    q = req_fmt(LX_FORMAT_JSON_SCHEMA, "{\"type\":\"object\",\"properties\":{}}");
    v = check(q, "{\"a\": 1}", LX_FINISH_STOP, 0, 0);
    cr_assert(v.pass, "%s", v.detail);
    v = check(q, "[1]", LX_FINISH_STOP, 0, 0);
    cr_assert_str_eq(v.reason, "invalid JSON");
    cr_assert(strstr(v.detail, "array") && strstr(v.detail, "object"), "%s", v.detail);
    lx_request_free(q);

    q = req_fmt(LX_FORMAT_JSON_SCHEMA, "{\"type\":[\"array\",\"null\"]}");
    cr_assert(check(q, "null", LX_FINISH_STOP, 0, 0).pass);
    cr_assert(check(q, "[]", LX_FINISH_STOP, 0, 0).pass);
    cr_assert(!check(q, "{}", LX_FINISH_STOP, 0, 0).pass);
    lx_request_free(q);

    q = req_fmt(LX_FORMAT_JSON_SCHEMA, "{\"type\":\"integer\"}");
    cr_assert(check(q, "42", LX_FINISH_STOP, 0, 0).pass);
    cr_assert(!check(q, "4.5", LX_FINISH_STOP, 0, 0).pass);
    lx_request_free(q);

    /* no type in the schema, or a schema that is not JSON: only parse */
    q = req_fmt(LX_FORMAT_JSON_SCHEMA, "{\"properties\":{}}");
    cr_assert(check(q, "\"s\"", LX_FINISH_STOP, 0, 0).pass);
    lx_request_free(q);
    q = req_fmt(LX_FORMAT_JSON_SCHEMA, "not json");
    cr_assert(check(q, "[]", LX_FINISH_STOP, 0, 0).pass);
    lx_request_free(q);

    /* plain text requests do not need JSON */
    q = req_fmt(LX_FORMAT_TEXT, NULL);
    cr_assert(check(q, "{oops", LX_FINISH_STOP, 0, 0).pass);
    lx_request_free(q);
}

Test(cascade, low_confidence)
{
    lx_cascade_verdict v = check(NULL, "Maybe Lyon?", LX_FINISH_STOP, -23.1, 10);
    cr_assert(!v.pass);
    cr_assert_str_eq(v.reason, "low confidence");
    cr_assert_float_eq(v.mean_logprob, -2.31, 1e-9);
    cr_assert_str_eq(v.detail, "low confidence (mean logprob -2.31 < -1.50)");
    /* exactly at the threshold passes */
    v = check(NULL, "Lyon.", LX_FINISH_STOP, -15.0, 10);
    cr_assert(v.pass, "%s", v.detail);
    /* the configured threshold is used */
    lx_routing_cfg strict = {.cascade_min_logprob = -0.1};
    lx_response *d = draft("Lyon.", LX_FINISH_STOP);
    lx_cascade_check(&strict, NULL, d, -2.0, 10, &v);
    cr_assert_str_eq(v.reason, "low confidence");
    lx_response_free(d);
}

Test(cascade, tool_calls)
{
    lx_request *q = req_fmt(LX_FORMAT_TEXT, NULL);
    lx_tool *t = lx_request_add_tool(q);
    t->name = lx_arena_strdup(q->arena, "get_weather");
    lx_response *d = draft(NULL, LX_FINISH_TOOL_CALLS);
    lx_part *c = lx_response_add_part(d, LX_PART_TOOL_CALL);
    c->name = lx_arena_strdup(d->arena, "get_weather");
    c->arguments = lx_arena_strdup(d->arena, "{\"city\":\"Paris\"}");
    lx_cascade_verdict v;
    lx_cascade_check(&cfg, q, d, 0, 0, &v);
    cr_assert(v.pass, "%s", v.detail); /* a tool call alone is an answer */
    c->arguments = lx_arena_strdup(d->arena, "{\"city\":");
    lx_cascade_check(&cfg, q, d, 0, 0, &v);
    cr_assert_str_eq(v.reason, "invalid tool call");
    c->arguments = lx_arena_strdup(d->arena, "{}");
    c->name = lx_arena_strdup(d->arena, "launch_rockets");
    lx_cascade_check(&cfg, q, d, 0, 0, &v);
    cr_assert_str_eq(v.reason, "invalid tool call");
    cr_assert(strstr(v.detail, "launch_rockets"), "%s", v.detail);
    /* JSON format does not judge the text of a tool-call-only answer */
    c->name = lx_arena_strdup(d->arena, "get_weather");
    q->format.kind = LX_FORMAT_JSON;
    lx_cascade_check(&cfg, q, d, 0, 0, &v);
    cr_assert(v.pass, "%s", v.detail);
    lx_response_free(d);
    lx_request_free(q);
}

Test(cascade, several_text_parts_are_joined)
{
    lx_request *q = req_fmt(LX_FORMAT_JSON, NULL);
    lx_response *d = draft("{\"a\":", LX_FINISH_STOP);
    lx_response_add_part(d, LX_PART_TEXT)->text = lx_arena_strdup(d->arena, " 1}");
    lx_cascade_verdict v;
    lx_cascade_check(&cfg, q, d, 0, 0, &v);
    cr_assert(v.pass, "%s", v.detail);
    lx_response_free(d);
    lx_request_free(q);
}
