/*
 * Gemini codec: requests, responses, streams and errors, in both directions,
 * against fixtures written from the Generative Language API reference.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "helpers/codec_test.h"
#include "proto/codec.h"
#include "proto/gemini.h"

static const lx_codec *C = &lx_codec_gemini;
static const lx_test_codec T = {&lx_codec_gemini, LX_TEST_LOG_CALLS};

#define FIX(name) "tests/fixtures/gemini/" name

/* ---- requests ----------------------------------------------------------- */

Test(gemini_request, decode_full_fixture)
{
    size_t len;
    char *body = lx_test_load(FIX("request_full.json"), &len);
    lx_request *r = NULL;
    lx_error err;
    cr_assert_eq(C->request_decode(body, len, &r, &err), LX_OK, "%s", err.message);
    cr_assert_null(r->model);
    cr_assert_eq(r->n_messages, 6);
    lx_message *m = r->messages;
    cr_assert_eq(m[0].role, LX_ROLE_SYSTEM);
    cr_assert_eq(m[0].n_parts, 2);
    cr_assert_str_eq(m[0].parts[1].text, "Answer briefly.");
    cr_assert_eq(m[1].role, LX_ROLE_USER);
    cr_assert_eq(m[1].n_parts, 3);
    cr_assert_eq(m[1].parts[1].kind, LX_PART_IMAGE);
    cr_assert_str_eq(m[1].parts[1].media_type, "image/png");
    cr_assert_str_eq(m[1].parts[1].data, "iVBORw0KGgoAAAANSUhEUg==");
    cr_assert_str_eq(m[1].parts[2].url,
                     "https://generativelanguage.googleapis.com/v1beta/files/abc-123");
    cr_assert_eq(m[2].role, LX_ROLE_ASSISTANT);
    cr_assert_eq(m[2].n_parts, 3);
    cr_assert_eq(m[2].parts[0].kind, LX_PART_THINKING);
    cr_assert_str_eq(m[2].parts[0].text, "I should look both up.");
    cr_assert_str_eq(m[2].parts[0].signature, "c2lnLTE=");
    cr_assert_eq(m[2].parts[1].kind, LX_PART_TOOL_CALL);
    cr_assert_null(m[2].parts[1].id);
    cr_assert_str_eq(m[2].parts[1].name, "get_weather");
    cr_assert_str_eq(m[2].parts[1].arguments, "{\"city\":\"Paris\"}");
    cr_assert_str_eq(m[2].parts[2].arguments, "{\"city\":\"Rome\",\"unit\":\"celsius\"}");
    cr_assert_eq(m[3].role, LX_ROLE_TOOL);
    cr_assert_eq(m[3].n_parts, 2);
    cr_assert_eq(m[3].parts[0].kind, LX_PART_TOOL_RESULT);
    cr_assert_str_eq(m[3].parts[0].name, "get_weather");
    cr_assert_str_eq(m[3].parts[0].text, "{\"temp\":21,\"sky\":\"clear\"}");
    cr_assert_str_eq(m[3].parts[1].text, "rainy, 17 C");
    cr_assert_not(m[3].parts[1].is_error);
    cr_assert_eq(m[4].role, LX_ROLE_ASSISTANT);
    cr_assert_eq(m[5].role, LX_ROLE_USER);
    cr_assert_eq(r->n_tools, 1);
    cr_assert_str_eq(r->tools[0].description, "Current weather for a city");
    cr_assert_eq(r->tool_choice.kind, LX_TOOL_CHOICE_NAMED);
    cr_assert_str_eq(r->tool_choice.name, "get_weather");
    cr_assert_float_eq(r->sampling.temperature, 0.5, 1e-9);
    cr_assert_eq(r->sampling.top_k, 40);
    cr_assert_eq(r->sampling.max_tokens, 1024);
    cr_assert_eq(r->sampling.n_stop, 2);
    cr_assert_eq(r->sampling.seed, 7);
    cr_assert_eq(r->thinking_budget, 2048);
    cr_assert_not(r->stream);
    lx_request_free(r);
    free(body);
}

Test(gemini_request, encode_of_decoded_fixture_is_the_fixture)
{
    size_t len;
    char *body = lx_test_load(FIX("request_full.json"), &len);
    lx_request *r = NULL;
    cr_assert_eq(C->request_decode(body, len, &r, NULL), LX_OK);
    json_t *got = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "gemini-2.5-flash"});
    json_error_t je;
    json_t *want = json_loadb(body, len, 0, &je);
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert(json_equal(got, want), "\n got %s\nwant %s", g, w);
    /* and back again: decode(encode(x)) == x */
    char *wire = json_dumps(got, JSON_COMPACT);
    lx_request *r2 = NULL;
    cr_assert_eq(C->request_decode(wire, strlen(wire), &r2, NULL), LX_OK);
    lx_test_assert_requests_eq(r, r2);
    free(wire);
    free(g);
    free(w);
    json_decref(got);
    json_decref(want);
    lx_request_free(r);
    lx_request_free(r2);
    free(body);
}

/* A conversation with calls answered by id, by order and by name. */
static lx_request *tool_conversation(void)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_SYSTEM, "Be terse.");
    lx_request_add_text(r, LX_ROLE_USER, "Weather and time?");
    lx_message *a = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    lx_part *c1 = lx_test_add_part(r, a, LX_PART_TOOL_CALL, NULL);
    c1->id = "call_A";
    c1->name = "get_weather";
    c1->arguments = "{\"city\":\"Oslo\"}";
    lx_part *c2 = lx_test_add_part(r, a, LX_PART_TOOL_CALL, NULL);
    c2->id = "call_B";
    c2->name = "get_time";
    c2->arguments = "";
    lx_message *t = lx_request_add_message(r, LX_ROLE_TOOL);
    lx_part *r2 = lx_test_add_part(r, t, LX_PART_TOOL_RESULT, "12:00");
    r2->id = "call_B"; /* answered out of order, by id */
    lx_part *r1 = lx_test_add_part(r, t, LX_PART_TOOL_RESULT, "{\"temp\": -3}");
    r1->id = "call_A";
    return r;
}

Test(gemini_request, function_response_names_come_from_ids)
{
    lx_request *r = tool_conversation();
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    json_t *contents = json_object_get(v, "contents");
    cr_assert_eq(json_array_size(contents), 3);
    json_t *c2 = json_array_get(contents, 2);
    cr_assert_str_eq(json_string_value(json_object_get(c2, "role")), "user");
    json_t *fr0 =
        json_object_get(json_array_get(json_object_get(c2, "parts"), 0), "functionResponse");
    json_t *fr1 =
        json_object_get(json_array_get(json_object_get(c2, "parts"), 1), "functionResponse");
    cr_assert_str_eq(json_string_value(json_object_get(fr0, "name")), "get_time");
    cr_assert_str_eq(json_string_value(json_object_get(fr0, "id")), "call_B");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(fr0, "response"), "result")),
                     "12:00");
    cr_assert_str_eq(json_string_value(json_object_get(fr1, "name")), "get_weather");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(fr1, "response"), "temp")), -3);
    /* the call with empty arguments gets an empty args object */
    json_t *call1 = json_object_get(
        json_array_get(json_object_get(json_array_get(contents, 1), "parts"), 1), "functionCall");
    cr_assert_eq(json_object_size(json_object_get(call1, "args")), 0);
    /* the first call of the turn, unsigned, gets the skip sentinel; the next none */
    json_t *part0 = json_array_get(json_object_get(json_array_get(contents, 1), "parts"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(part0, "thoughtSignature")),
                     "skip_thought_signature_validator");
    cr_assert_null(
        json_object_get(json_array_get(json_object_get(json_array_get(contents, 1), "parts"), 1),
                        "thoughtSignature"));
    /* and decoding drops it again */
    char *wire = json_dumps(v, JSON_COMPACT);
    lx_request *back = NULL;
    cr_assert_eq(C->request_decode(wire, strlen(wire), &back, NULL), LX_OK);
    cr_assert_eq(back->messages[2].n_parts, 2);
    cr_assert_eq(back->messages[2].parts[0].kind, LX_PART_TOOL_CALL);
    cr_assert_null(back->messages[2].parts[0].signature);
    free(wire);
    lx_request_free(back);
    cr_assert_str_eq(json_string_value(json_object_get(call1, "id")), "call_B");
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(v, "systemInstruction"), "parts"), 0),
            "text")),
        "Be terse.");
    json_decref(v);
    lx_request_free(r);
}

Test(gemini_request, function_response_names_by_order_and_errors)
{
    lx_request *r = tool_conversation();
    /* drop ids on the results: order decides (first result -> first call) */
    r->messages[3].parts[0].id = NULL;
    r->messages[3].parts[1].id = NULL;
    r->messages[3].parts[1].is_error = true;
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    json_t *parts = json_object_get(json_array_get(json_object_get(v, "contents"), 2), "parts");
    json_t *fr0 = json_object_get(json_array_get(parts, 0), "functionResponse");
    json_t *fr1 = json_object_get(json_array_get(parts, 1), "functionResponse");
    cr_assert_str_eq(json_string_value(json_object_get(fr0, "name")), "get_weather");
    cr_assert_str_eq(json_string_value(json_object_get(fr1, "name")), "get_time");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(fr1, "response"), "error")),
                     "{\"temp\": -3}");
    cr_assert_null(json_object_get(fr0, "id"));
    json_decref(v);

    /* an id nobody used */
    r->messages[3].parts[0].id = "call_Z";
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages[3].parts[0]"), "%s", err.message);
    cr_assert(strstr(err.message, "call_Z"), "%s", err.message);
    /* more results than calls */
    r->messages[3].parts[0].id = NULL;
    lx_part *extra = lx_test_add_part(r, &r->messages[3], LX_PART_TOOL_RESULT, "x");
    (void)extra;
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages[3].parts[2]"), "%s", err.message);
    /* bad argument JSON names the call */
    r->messages[3].n_parts = 2;
    r->messages[2].parts[0].arguments = "{\"city\": ";
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "get_weather"), "%s", err.message);
    cr_assert(strstr(err.message, "messages[2].parts[0]"), "%s", err.message);
    lx_buf_free(&out);
    lx_request_free(r);
}

Test(gemini_request, thought_signatures_go_on_the_next_part)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "hi");
    lx_message *a = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    lx_test_add_part(r, a, LX_PART_THINKING, "think 1")->signature = "S1";
    lx_test_add_part(r, a, LX_PART_THINKING, "think 2")->signature = "S2";
    lx_test_add_part(r, a, LX_PART_TEXT, "answer");
    /* a signature at the end of the turn */
    lx_test_add_part(r, a, LX_PART_THINKING, "")->signature = "S3";
    lx_request_add_text(r, LX_ROLE_USER, "more");
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    json_t *parts = json_object_get(json_array_get(json_object_get(v, "contents"), 1), "parts");
    char *got = json_dumps(parts, JSON_COMPACT);
    cr_assert_str_eq(got, "[{\"text\":\"think 1\",\"thought\":true},"
                          "{\"text\":\"\",\"thoughtSignature\":\"S1\"},"
                          "{\"text\":\"think 2\",\"thought\":true},"
                          "{\"text\":\"answer\",\"thoughtSignature\":\"S2\"},"
                          "{\"text\":\"\",\"thoughtSignature\":\"S3\"}]");
    /* decoding gives the same parts back */
    char *body = json_dumps(v, JSON_COMPACT);
    lx_request *r2 = NULL;
    cr_assert_eq(C->request_decode(body, strlen(body), &r2, NULL), LX_OK);
    r->messages[1].parts[3].text = NULL; /* "" and NULL compare equal anyway */
    lx_test_assert_requests_eq(r, r2);
    free(got);
    free(body);
    json_decref(v);
    lx_request_free(r);
    lx_request_free(r2);
}

Test(gemini_request, schemas_are_cleaned_for_gemini)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "x");
    lx_tool *t = lx_request_add_tool(r);
    t->name = "search";
    t->parameters =
        "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\","
        "\"additionalProperties\":false,\"properties\":{\"q\":{\"type\":[\"string\",\"null\"],"
        "\"description\":\"query\"},\"opts\":{\"type\":\"object\",\"additionalProperties\":false,"
        "\"properties\":{\"mode\":{\"const\":\"fast\"}}},\"tags\":{\"type\":\"array\","
        "\"items\":{\"type\":\"string\",\"$ref\":\"#/x\"}}},\"required\":[\"q\"],\"strict\":true}";
    lx_tool *t2 = lx_request_add_tool(r);
    t2->name = "now";
    t2->parameters = "{\"type\":\"object\",\"properties\":{}}";
    lx_tool *t3 = lx_request_add_tool(r);
    t3->name = "nothing"; /* NULL parameters */
    r->format.kind = LX_FORMAT_JSON_SCHEMA;
    r->format.schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},"
                       "\"additionalProperties\":false}";
    r->thinking_budget = 512;
    r->tool_choice.kind = LX_TOOL_CHOICE_REQUIRED;
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    json_t *decls =
        json_object_get(json_array_get(json_object_get(v, "tools"), 0), "functionDeclarations");
    char *p0 = json_dumps(json_object_get(json_array_get(decls, 0), "parameters"),
                          JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(p0,
                     "{\"properties\":{\"opts\":{\"properties\":{\"mode\":{\"enum\":[\"fast\"]}},"
                     "\"type\":\"object\"},\"q\":{\"description\":\"query\",\"nullable\":true,"
                     "\"type\":\"string\"},\"tags\":{\"items\":{\"type\":\"string\"},"
                     "\"type\":\"array\"}},\"required\":[\"q\"],\"type\":\"object\"}");
    cr_assert_null(json_object_get(json_array_get(decls, 1), "parameters"));
    cr_assert_null(json_object_get(json_array_get(decls, 2), "parameters"));
    json_t *gc = json_object_get(v, "generationConfig");
    cr_assert_str_eq(json_string_value(json_object_get(gc, "responseMimeType")),
                     "application/json");
    cr_assert_null(json_object_get(json_object_get(gc, "responseSchema"), "additionalProperties"));
    json_t *tc = json_object_get(gc, "thinkingConfig");
    cr_assert_eq(json_integer_value(json_object_get(tc, "thinkingBudget")), 512);
    cr_assert(json_is_true(json_object_get(tc, "includeThoughts")));
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(v, "toolConfig"), "functionCallingConfig"), "mode")),
        "ANY");
    free(p0);
    json_decref(v);
    lx_request_free(r);
}

Test(gemini_request, merges_same_role_and_checks_input)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "a");
    lx_request_add_text(r, LX_ROLE_USER, "b");
    lx_message *m = lx_request_add_message(r, LX_ROLE_USER);
    lx_part *img = lx_message_add_part(r, m, LX_PART_IMAGE);
    img->url = "data:image/jpeg;base64,/9j/4AAQ";
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    json_t *contents = json_object_get(v, "contents");
    cr_assert_eq(json_array_size(contents), 1);
    json_t *parts = json_object_get(json_array_get(contents, 0), "parts");
    cr_assert_eq(json_array_size(parts), 3);
    json_t *inl = json_object_get(json_array_get(parts, 2), "inlineData");
    cr_assert_str_eq(json_string_value(json_object_get(inl, "mimeType")), "image/jpeg");
    cr_assert_str_eq(json_string_value(json_object_get(inl, "data")), "/9j/4AAQ");
    cr_assert_null(json_object_get(v, "generationConfig"));
    cr_assert_null(json_object_get(v, "tools"));
    json_decref(v);
    lx_request_free(r);

    /* nothing but a system message */
    r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_SYSTEM, "x");
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages"));
    lx_buf_free(&out);
    lx_request_free(r);
}

Test(gemini_request, sdk_schemas_become_json_schema)
{
    /* as @google/genai sends them: upper-case types, nullable, propertyOrdering */
    lx_request *r = lx_test_decode_request(
        C,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"x\"}]}],"
        "\"tools\":[{\"functionDeclarations\":[{\"name\":\"f\",\"parameters\":{\"type\":"
        "\"OBJECT\",\"properties\":{\"a\":{\"type\":\"STRING\",\"nullable\":true},\"b\":{"
        "\"type\":\"ARRAY\",\"items\":{\"type\":\"INTEGER\"}}},\"propertyOrdering\":[\"a\","
        "\"b\"]}},{\"name\":\"g\",\"parametersJsonSchema\":{\"type\":\"object\","
        "\"additionalProperties\":false}}]}],"
        "\"generationConfig\":{\"responseMimeType\":\"application/json\",\"responseSchema\":"
        "{\"type\":\"OBJECT\",\"properties\":{\"n\":{\"anyOf\":[{\"type\":\"NUMBER\"}]}}}}}",
        LX_OK, NULL);
    cr_assert_str_eq(r->tools[0].parameters,
                     "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]},"
                     "\"b\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}}");
    cr_assert_str_eq(r->tools[1].parameters,
                     "{\"type\":\"object\",\"additionalProperties\":false}");
    cr_assert_str_eq(r->format.schema, "{\"type\":\"object\",\"properties\":{\"n\":{\"anyOf\":"
                                       "[{\"type\":\"number\"}]}}}");
    /* and back to Gemini: nullable again */
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    json_t *a = json_object_get(
        json_object_get(
            json_object_get(
                json_array_get(json_object_get(json_array_get(json_object_get(v, "tools"), 0),
                                               "functionDeclarations"),
                               0),
                "parameters"),
            "properties"),
        "a");
    cr_assert(json_is_true(json_object_get(a, "nullable")));
    cr_assert_str_eq(json_string_value(json_object_get(a, "type")), "string");
    json_decref(v);
    lx_request_free(r);
}

Test(gemini_request, decode_errors_name_the_field)
{
    lx_test_decode_request(C, "{\"contents\": [", LX_ERR_INVALID, "invalid JSON");
    lx_test_decode_request(C, "[1]", LX_ERR_INVALID, "object");
    lx_test_decode_request(C, "{}", LX_ERR_INVALID, "contents: expected an array");
    lx_test_decode_request(
        C, "{\"contents\": [{\"parts\":[{\"text\":\"a\"}]}, {\"role\":\"model\",\"parts\":[7]}]}",
        LX_ERR_INVALID, "contents[1].parts[0]: expected an object");
    lx_test_decode_request(C, "{\"contents\": [{\"role\":\"bot\",\"parts\":[]}]}", LX_ERR_INVALID,
                           "contents[0].role");
    lx_test_decode_request(C, "{\"contents\": [{\"role\":\"user\"}]}", LX_ERR_INVALID,
                           "contents[0].parts");
    lx_test_decode_request(C, "{\"contents\": [{\"role\":\"user\",\"parts\":[{\"text\":5}]}]}",
                           LX_ERR_INVALID, "contents[0].parts[0].text");
    lx_test_decode_request(
        C,
        "{\"contents\": [{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"f\","
        "\"args\":[1]}}]}]}",
        LX_ERR_INVALID, "contents[0].parts[0].functionCall.args: expected an object");
    lx_test_decode_request(
        C, "{\"contents\": [{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"args\":{}}}]}]}",
        LX_ERR_INVALID, "contents[0].parts[0].functionCall.name: required");
    lx_test_decode_request(
        C, "{\"contents\": [{\"role\":\"user\",\"parts\":[{\"functionCall\":{\"name\":\"f\"}}]}]}",
        LX_ERR_INVALID, "contents[0].parts[0]: functionCall in a user turn");
    lx_test_decode_request(
        C, "{\"contents\": [{\"role\":\"user\",\"parts\":[{\"inlineData\":{\"data\":\"x\"}}]}]}",
        LX_ERR_INVALID, "contents[0].parts[0].inlineData.mimeType: required");
    lx_test_decode_request(
        C, "{\"contents\": [{\"role\":\"user\",\"parts\":[{\"executableCode\":{}}]}]}",
        LX_ERR_UNSUPPORTED, "contents[0].parts[0]: unsupported part");
    lx_test_decode_request(C,
                           "{\"contents\": [], \"generationConfig\": {\"temperature\": \"hot\"}}",
                           LX_ERR_INVALID, "generationConfig.temperature");
    lx_test_decode_request(
        C, "{\"contents\": [], \"generationConfig\": {\"stopSequences\": [\"a\", 1]}}",
        LX_ERR_INVALID, "generationConfig.stopSequences[1]");
    lx_test_decode_request(
        C, "{\"contents\": [], \"tools\": [{\"functionDeclarations\": [{\"description\":\"d\"}]}]}",
        LX_ERR_INVALID, "tools[0].functionDeclarations[0].name: required");
    lx_test_decode_request(C, "{\"contents\": [], \"tools\": [{\"googleSearch\": {}}]}",
                           LX_ERR_UNSUPPORTED, "tools[0]");
    lx_test_decode_request(
        C, "{\"contents\": [], \"toolConfig\": {\"functionCallingConfig\": {\"mode\": \"SOME\"}}}",
        LX_ERR_INVALID, "toolConfig.functionCallingConfig.mode");
    lx_test_decode_request(
        C, "{\"contents\": [], \"systemInstruction\": {\"parts\": [{\"text\": 1}]}}",
        LX_ERR_INVALID, "systemInstruction.parts[0].text");
    lx_request *r = lx_test_decode_request(
        C,
        "{\"contents\": [{\"role\":\"user\",\"parts\":[{\"text\":\"q\"},{\"functionResponse\":"
        "{\"name\":\"f\",\"response\":{\"error\":\"boom\"},\"id\":\"i1\"}}]}],"
        "\"generationConfig\":{\"thinkingConfig\":{\"thinkingBudget\":-1},"
        "\"responseMimeType\":\"application/json\"}}",
        LX_OK, NULL);
    cr_assert_eq(r->n_messages, 2);
    cr_assert_eq(r->messages[1].role, LX_ROLE_TOOL);
    cr_assert(r->messages[1].parts[0].is_error);
    cr_assert_str_eq(r->messages[1].parts[0].text, "boom");
    cr_assert_str_eq(r->messages[1].parts[0].id, "i1");
    cr_assert_eq(r->thinking_budget, LX_GEMINI_DYNAMIC_BUDGET);
    cr_assert_eq(r->format.kind, LX_FORMAT_JSON);
    lx_request_free(r);
}

/* ---- http --------------------------------------------------------------- */

Test(gemini_http, urls_headers_and_model_names)
{
    lx_buf url, hdr;
    lx_buf_init(&url, 0);
    lx_buf_init(&hdr, 0);
    lx_error err;
    lx_codec_opts o = {.model = "gemini-2.5-flash",
                       .base_url = "https://example.test/v1beta//",
                       .api_key = "K123"};
    cr_assert_eq(C->http_prepare(&o, &url, &hdr, &err), LX_OK);
    cr_assert_str_eq(url.data,
                     "https://example.test/v1beta/models/gemini-2.5-flash:generateContent");
    cr_assert_str_eq(hdr.data, "Content-Type: application/json\nx-goog-api-key: K123\n");
    lx_buf_reset(&url);
    lx_buf_reset(&hdr);
    o.stream = true;
    o.base_url = NULL;
    o.api_key = NULL;
    cr_assert_eq(C->http_prepare(&o, &url, &hdr, &err), LX_OK);
    cr_assert_str_eq(url.data, "https://generativelanguage.googleapis.com/v1beta/models/"
                               "gemini-2.5-flash:streamGenerateContent?alt=sse");
    cr_assert_str_eq(hdr.data, "Content-Type: application/json\n");
    const char *bad[] = {"a/b", "x?y", "x#y", "my model", "m\n", "", "../etc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lx_buf_reset(&url);
        o.model = bad[i];
        cr_assert_eq(C->http_prepare(&o, &url, &hdr, &err), LX_ERR_INVALID, "%s", bad[i]);
        cr_assert(strncmp(err.message, "model", 5) == 0, "%s", err.message);
    }
    o.model = "m";
    o.api_key = "k\r\nX-Evil: 1";
    cr_assert_eq(C->http_prepare(&o, &url, &hdr, &err), LX_ERR_INVALID);
    lx_buf_free(&url);
    lx_buf_free(&hdr);
}

/* ---- responses ---------------------------------------------------------- */

Test(gemini_response, text_with_cached_usage)
{
    lx_error err;
    lx_response *r = lx_test_decode_response_file(C, FIX("response_text.json"), LX_OK, &err);
    cr_assert_str_eq(r->id, "mbXbaIyBE5G5nvgPy8KryQs");
    cr_assert_str_eq(r->model, "gemini-2.5-flash");
    cr_assert_eq(r->n_parts, 1);
    cr_assert_str_eq(lx_response_text(r), "Hello! How can I help you today?");
    cr_assert_eq(r->finish, LX_FINISH_STOP);
    cr_assert(r->has_usage);
    cr_assert_eq(r->usage.input, 20);
    cr_assert_eq(r->usage.cache_read, 100);
    cr_assert_eq(r->usage.output, 9);
    cr_assert_eq(r->usage.reasoning, 0);
    cr_assert_eq(lx_usage_total_input(&r->usage), 120);
    lx_response_free(r);
}

Test(gemini_response, thoughts_calls_signatures_and_usage)
{
    lx_error err;
    lx_response *r = lx_test_decode_response_file(C, FIX("response_tools.json"), LX_OK, &err);
    cr_assert_eq(r->n_parts, 3);
    cr_assert_eq(r->parts[0].kind, LX_PART_THINKING);
    cr_assert_str_eq(r->parts[0].signature, "Q2lZQ0FkeXlTLzJNUT09");
    cr_assert_eq(r->parts[1].kind, LX_PART_TOOL_CALL);
    cr_assert_str_eq(r->parts[1].id, "call-1");
    cr_assert_str_eq(r->parts[1].arguments, "{\"city\":\"Paris\"}");
    cr_assert_null(r->parts[2].id);
    cr_assert_str_eq(r->parts[2].name, "get_weather");
    cr_assert_eq(r->finish, LX_FINISH_TOOL_CALLS);
    cr_assert_eq(r->usage.input, 310 - 256 + 12);
    cr_assert_eq(r->usage.cache_read, 256);
    cr_assert_eq(r->usage.output, 40);
    cr_assert_eq(r->usage.reasoning, 75);
    /* encode -> decode gives it back */
    lx_buf out;
    lx_buf_init(&out, 0);
    cr_assert_eq(C->response_encode(r, &(lx_codec_opts){0}, &out, &err), LX_OK);
    lx_response *r2 = NULL;
    cr_assert_eq(C->response_decode(out.data, out.len, &r2, &err), LX_OK, "%s", err.message);
    lx_test_assert_responses_eq(r, r2);
    json_error_t je;
    json_t *v = json_loadb(out.data, out.len, 0, &je);
    json_t *um = json_object_get(v, "usageMetadata");
    cr_assert_eq(json_integer_value(json_object_get(um, "promptTokenCount")), 322);
    cr_assert_eq(json_integer_value(json_object_get(um, "totalTokenCount")), 322 + 40 + 75);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(v, "candidates"), 0), "finishReason")),
                     "STOP");
    json_decref(v);
    lx_buf_free(&out);
    lx_response_free(r);
    lx_response_free(r2);
}

Test(gemini_response, blocked_length_and_garbage)
{
    lx_error err;
    cr_assert_null(
        lx_test_decode_response_file(C, FIX("response_blocked.json"), LX_ERR_UPSTREAM, &err));
    cr_assert_str_eq(err.type, "blocked");
    cr_assert(strstr(err.message, "PROHIBITED_CONTENT"));
    lx_response *r = lx_test_decode_response_file(C, FIX("response_max_tokens.json"), LX_OK, &err);
    cr_assert_eq(r->finish, LX_FINISH_LENGTH);
    cr_assert_eq(r->usage.reasoning, 20);
    lx_response_free(r);
    const char *bad[][2] = {
        {"{\"candidates\": 3}", "candidates: expected an array"},
        {"{\"candidates\": [{\"content\": {\"parts\": [1]}}]}",
         "candidates[0].content.parts[0]: expected an object"},
        {"{\"candidates\": [{\"content\": {\"parts\": {}}}]}", "candidates[0].content.parts"},
        {"{\"candidates\": [{\"finishReason\": 1}]}", "finishReason"},
        {"{\"candidates\": [{}], \"usageMetadata\": {\"promptTokenCount\": \"x\"}}",
         "usageMetadata.promptTokenCount"},
        {"{\"candidates\": []}", "candidates"},
        {"not json", "invalid JSON"},
    };
    lx_test_check_bad_responses(C, bad, sizeof bad / sizeof bad[0]);
    const char *filtered[] = {"SAFETY", "RECITATION",  "BLOCKLIST", "PROHIBITED_CONTENT",
                              "SPII",   "IMAGE_SAFETY"};
    for (size_t i = 0; i < 6; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"candidates\": [{\"finishReason\": \"%s\"}]}", filtered[i]);
        cr_assert_eq(C->response_decode(body, strlen(body), &r, &err), LX_OK);
        cr_assert_eq(r->finish, LX_FINISH_CONTENT_FILTER, "%s", filtered[i]);
        lx_response_free(r);
    }
    const char *other = "{\"candidates\": [{\"finishReason\": \"MALFORMED_FUNCTION_CALL\"}]}";
    cr_assert_eq(C->response_decode(other, strlen(other), &r, &err), LX_OK);
    cr_assert_eq(r->finish, LX_FINISH_OTHER);
    lx_response_free(r);
}

/* ---- streams ------------------------------------------------------------ */

Test(gemini_stream, text)
{
    lx_test_check_stream(
        &T, FIX("stream_text.sse"), LX_OK,
        "start(sse-text-1,gemini-2.5-flash) text(Hel) text(lo, wörld! ✓) text( Bye.) "
        "usage(in=8,cr=0,cw=0,out=6,rs=0) finish(stop) ",
        NULL, NULL);
}

Test(gemini_stream, function_calls)
{
    lx_test_check_stream(
        &T, FIX("stream_tools.sse"), LX_OK,
        "start(sse-tools-1,gemini-2.5-flash) thinking(|U0lHLXBhcmlz) "
        "tool_start(0,-,get_weather) tool_args(0,{\"city\":\"Paris\"}) tool_end(0) "
        "tool_start(1,t-9,get_time) tool_args(1,{}) tool_end(1) "
        "tool_start(2,-,get_weather) tool_args(2,{\"city\":\"Rome\",\"days\":[1,2]}) tool_end(2) "
        "usage(in=18,cr=32,cw=0,out=20,rs=11) finish(tool_calls) ",
        NULL, NULL);
}

Test(gemini_stream, thoughts)
{
    lx_test_check_stream(&T, FIX("stream_thoughts.sse"), LX_OK,
                         "start(sse-think-1,gemini-2.5-pro) "
                         "thinking(**Planning** I need to add.|-) "
                         "thinking( Two plus two.|-) text(4) thinking(|RklOQUwtU0lH) "
                         "usage(in=10,cr=0,cw=0,out=1,rs=30) finish(stop) ",
                         NULL, NULL);
}

Test(gemini_stream, error_chunk)
{
    lx_error err;
    lx_test_check_stream(&T, FIX("stream_error.sse"), LX_ERR_UPSTREAM,
                         "start(sse-err-1,gemini-2.5-flash) text(Partial) ", NULL, &err);
    cr_assert_str_eq(err.type, "UNAVAILABLE");
    cr_assert_eq(err.http_status, 503);
    cr_assert_str_eq(err.provider, "gemini");
    cr_assert(strstr(err.message, "overloaded"));
}

Test(gemini_stream, blocked_prompt)
{
    lx_error err;
    lx_test_check_stream(&T, FIX("stream_blocked.sse"), LX_ERR_UPSTREAM, "", NULL, &err);
    cr_assert_str_eq(err.type, "blocked");
    cr_assert_str_eq(err.provider, "gemini");
    cr_assert(strstr(err.message, "SAFETY"), "%s", err.message);
}

Test(gemini_stream, cut_stream_reports_usage_then_fails)
{
    lx_error err;
    lx_test_check_stream(&T, FIX("stream_cut.sse"), LX_ERR_PROTO,
                         "start(sse-cut-1,gemini-2.5-flash) text(Cut ) text(off) "
                         "usage(in=4,cr=0,cw=0,out=2,rs=0) ",
                         NULL, &err);
    cr_assert_str_eq(err.message,
                     "stream ended without finishReason (ended before the last chunk)");
}

Test(gemini_stream, malformed_chunk)
{
    lx_error err;
    lx_test_check_stream(&T, FIX("stream_malformed.sse"), LX_ERR_PROTO,
                         "start(sse-bad-1,gemini-2.5-flash) text(ok) ", NULL, &err);
    cr_assert(strstr(err.message, "invalid JSON"), "%s", err.message);
}

Test(gemini_stream, garbage_and_refusal)
{
    const char *cases[][2] = {
        {"data: [1,2]\n\n", "expected a JSON object"},
        {"data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": "
         "3}}]}}]}\n\n",
         "functionCall.name"},
        {"data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionResponse\": {\"name\": "
         "\"f\"}}]}}]}\n\n",
         "functionResponse in a model answer"},
        {"data: {\"candidates\": \"x\"}\n\n", "candidates"},
        {"data: {}\n\n", "candidates"},
    };
    lx_test_check_bad_streams(&T, cases, sizeof cases / sizeof cases[0], 0);
    /* a sink that refuses stops the decoder with its status */
    size_t len;
    char *data = lx_test_load(FIX("stream_text.sse"), &len);
    lx_test_rec r = {.refuse_at = 2};
    lx_error err;
    cr_assert_eq(lx_test_run_stream(&T, data, len, 0, 0, &r, &err), LX_ERR_CANCELLED);
    cr_assert_eq(r.count, 2);
    lx_buf_free(&r.log);
    /* empty body */
    lx_test_rec e = {0};
    cr_assert_eq(lx_test_run_stream(&T, "", 0, 0, 0, &e, &err), LX_ERR_PROTO);
    cr_assert_str_eq(e.log.data ? e.log.data : "", "");
    lx_buf_free(&e.log);
    free(data);
}

Test(gemini_stream, encode_decode_identity)
{
    lx_error err;
    lx_response *r = lx_test_decode_response_file(C, FIX("response_tools.json"), LX_OK, &err);
    lx_buf wire;
    lx_buf_init(&wire, 0);
    lx_response *back = lx_test_stream_roundtrip(C, r, &(lx_codec_opts){.model = "asked"}, &wire);
    lx_test_assert_responses_eq(r, back);
    cr_assert(strncmp(wire.data, "data: {", 7) == 0);
    lx_response_free(back);
    lx_response_free(r);

    /* text + thinking with a signature after the thought text */
    r = lx_response_new();
    lx_part *t = lx_response_add_part(r, LX_PART_THINKING);
    t->text = "hmm";
    t->signature = "SIG";
    lx_response_add_part(r, LX_PART_TEXT)->text = "Hi there";
    r->finish = LX_FINISH_LENGTH;
    r->has_usage = true;
    r->usage = (lx_usage){.input = 5, .cache_read = 2, .output = 7, .reasoning = 3};
    lx_buf_reset(&wire);
    back = lx_test_stream_roundtrip(C, r, &(lx_codec_opts){.model = "gemini-x", .id = "fixed-id"},
                                    &wire);
    cr_assert_str_eq(back->id, "fixed-id");
    cr_assert_str_eq(back->model, "gemini-x");
    back->id = back->model = NULL;
    lx_test_assert_responses_eq(r, back);
    lx_response_free(back);
    lx_response_free(r);
    lx_buf_free(&wire);
}

Test(gemini_stream, encoder_wire_shape)
{
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_usage u = {.input = 3, .cache_read = 4, .output = 5, .reasoning = 6};
    const lx_event evs[] = {
        {.kind = LX_EV_START, .id = "r1", .model = "gm"},
        {.kind = LX_EV_THINKING, .text = "hm", .len = 2},
        {.kind = LX_EV_THINKING, .signature = "SG"},
        {.kind = LX_EV_TEXT, .text = "Hi", .len = 2},
        {.kind = LX_EV_TOOL_START, .index = 0, .name = "f"},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "{\"a\":", .len = 5},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "1}", .len = 2},
        {.kind = LX_EV_TOOL_END, .index = 0},
        {.kind = LX_EV_USAGE, .usage = u},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_TOOL_CALLS},
    };
    lx_test_encode_events(C, &(lx_codec_opts){.model = "asked"}, evs, sizeof evs / sizeof evs[0],
                          &out);
#define HEAD "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":["
#define TAIL "]},\"index\":0}],\"modelVersion\":\"gm\",\"responseId\":\"r1\"}\n\n"
    cr_assert_str_eq(
        out.data,
        HEAD "{\"text\":\"hm\",\"thought\":true}" TAIL HEAD
             "{\"text\":\"Hi\",\"thoughtSignature\":\"SG\"}" TAIL HEAD
             "{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}}}" TAIL HEAD
             "{\"text\":\"\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
             "\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":5,"
             "\"thoughtsTokenCount\":6,\"cachedContentTokenCount\":4,\"totalTokenCount\":18},"
             "\"modelVersion\":\"gm\",\"responseId\":\"r1\"}\n\n");
#undef HEAD
#undef TAIL
    lx_buf_free(&out);
}

Test(gemini_stream, encoder_error_event)
{
    lx_stream_encoder *e = C->stream_encoder_new(&(lx_codec_opts){.model = "m"});
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error er = {0};
    lx_fail(&er, LX_ERR_UPSTREAM, "quota gone");
    er.http_status = 429;
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_START}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_TEXT, .text = "a", .len = 1}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_ERROR, .error = &er}, &out), LX_OK);
    cr_assert_neq(e->event(e, &(lx_event){.kind = LX_EV_TEXT, .text = "b", .len = 1}, &out), LX_OK);
    e->free(e);
    lx_test_rec r = {0};
    lx_error err;
    cr_assert_eq(lx_test_run_stream(&T, out.data, out.len, 0, 0, &r, &err), LX_ERR_UPSTREAM);
    cr_assert_str_eq(err.type, "RESOURCE_EXHAUSTED");
    cr_assert_str_eq(err.message, "quota gone");
    cr_assert(strstr(r.log.data, "text(a)"));
    lx_buf_free(&r.log);
    lx_buf_free(&out);
}

/* ---- errors ------------------------------------------------------------- */

Test(gemini_error, decode_and_encode)
{
    size_t len;
    char *body = lx_test_load(FIX("error_400.json"), &len);
    lx_error err;
    C->error_decode(400, body, len, &err);
    cr_assert_eq(err.code, LX_ERR_UPSTREAM);
    cr_assert_eq(err.http_status, 400);
    cr_assert_str_eq(err.provider, "gemini");
    cr_assert_str_eq(err.type, "INVALID_ARGUMENT");
    cr_assert_str_eq(err.message, "API key not valid. Please pass a valid API key.");
    free(body);
    body = lx_test_load(FIX("error_array.json"), &len);
    C->error_decode(429, body, len, &err);
    cr_assert_str_eq(err.type, "RESOURCE_EXHAUSTED");
    cr_assert_eq(err.http_status, 429);
    free(body);
    C->error_decode(502, "<html>Bad Gateway</html>", 24, &err);
    cr_assert_eq(err.code, LX_ERR_UPSTREAM);
    cr_assert(strstr(err.message, "<html>Bad Gateway"), "%s", err.message);
    cr_assert_str_eq(err.type, "UNAVAILABLE");
    C->error_decode(500, NULL, 0, &err);
    cr_assert_eq(err.code, LX_ERR_UPSTREAM);

    lx_buf out;
    lx_buf_init(&out, 0);
    int http = 0;
    lx_error e = {0};
    lx_fail(&e, LX_ERR_INVALID, "contents[0]: bad");
    cr_assert_eq(C->error_encode(&e, &http, &out), LX_OK);
    cr_assert_eq(http, 400);
    cr_assert_str_eq(out.data, "{\"error\":{\"code\":400,\"message\":\"contents[0]: bad\","
                               "\"status\":\"INVALID_ARGUMENT\"}}");
    lx_error back;
    C->error_decode(http, out.data, out.len, &back);
    cr_assert_str_eq(back.message, "contents[0]: bad");
    cr_assert_str_eq(back.type, "INVALID_ARGUMENT");
    const struct {
        lx_status code;
        int http;
        const char *status;
    } map[] = {{LX_ERR_TIMEOUT, 504, "DEADLINE_EXCEEDED"},
               {LX_ERR_NOTFOUND, 404, "NOT_FOUND"},
               {LX_ERR_INTERNAL, 500, "INTERNAL"},
               {LX_ERR_UPSTREAM, 502, "UNAVAILABLE"}};
    for (size_t i = 0; i < 4; i++) {
        lx_buf_reset(&out);
        lx_error x = {0};
        lx_fail(&x, map[i].code, "m");
        cr_assert_eq(C->error_encode(&x, &http, &out), LX_OK);
        cr_assert_eq(http, map[i].http);
        cr_assert(strstr(out.data, map[i].status), "%s", out.data);
    }
    lx_buf_reset(&out);
    lx_error auth = {0};
    lx_fail(&auth, LX_ERR_UPSTREAM, "no");
    auth.http_status = 401;
    cr_assert_eq(C->error_encode(&auth, &http, &out), LX_OK);
    cr_assert_eq(http, 401);
    cr_assert(strstr(out.data, "UNAUTHENTICATED"));
    lx_buf_free(&out);
    cr_assert_str_eq(C->stream_content_type, "text/event-stream");
    cr_assert_eq(lx_codec_find("gemini"), C);
}

/* ---- across dialects ---------------------------------------------------- */

/* Finds the first message with the role at or after index `from`. */
static const lx_message *find_role(const lx_request *r, lx_role role, size_t from)
{
    for (size_t i = from; i < r->n_messages; i++)
        if (r->messages[i].role == role)
            return &r->messages[i];
    return NULL;
}

Test(gemini_cross, openai_conversation_to_gemini_and_back)
{
    size_t len;
    char *body = lx_test_load("tests/fixtures/openai/request_full.json", &len);
    lx_request *oa = NULL;
    lx_error err;
    cr_assert_eq(lx_codec_openai.request_decode(body, len, &oa, &err), LX_OK, "%s", err.message);
    json_t *v = lx_test_encode_json(C, oa, &(lx_codec_opts){.model = "gemini-2.5-flash"});
    char *wire = json_dumps(v, JSON_COMPACT);
    /* the data: URL became inline data, the https URL a file reference */
    cr_assert(strstr(wire, "\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}"),
              "%s", wire);
    cr_assert(strstr(wire, "\"fileData\":{\"fileUri\":\"https://example.com/map.jpg\"}"), "%s",
              wire);
    cr_assert(strstr(wire, "\"responseMimeType\":\"application/json\""));
    cr_assert_null(strstr(wire, "\"strict\""));
    lx_request *g = NULL;
    cr_assert_eq(C->request_decode(wire, strlen(wire), &g, &err), LX_OK, "%s", err.message);
    /* both results were named after their calls, found by id */
    const lx_message *tool = find_role(g, LX_ROLE_TOOL, 0);
    cr_assert_not_null(tool);
    cr_assert_eq(tool->n_parts, 2);
    cr_assert_str_eq(tool->parts[0].name, "get_weather");
    cr_assert_str_eq(tool->parts[0].id, "call_paris");
    cr_assert_str_eq(tool->parts[0].text, "18C, cloudy");
    cr_assert_str_eq(tool->parts[1].id, "call_oslo");
    cr_assert_str_eq(tool->parts[1].text, "4C, snow");
    const lx_message *asst = find_role(g, LX_ROLE_ASSISTANT, 0);
    cr_assert_eq(asst->parts[0].kind, LX_PART_TOOL_CALL);
    cr_assert_str_eq(asst->parts[0].id, "call_paris");
    cr_assert_str_eq(asst->parts[0].arguments, "{\"city\":\"Paris\"}");
    cr_assert_eq(g->sampling.max_tokens, oa->sampling.max_tokens);
    cr_assert_eq(g->sampling.n_stop, 2);
    cr_assert_eq(g->format.kind, LX_FORMAT_JSON_SCHEMA);
    cr_assert_eq(g->n_tools, 2);
    free(wire);
    json_decref(v);
    lx_request_free(g);
    lx_request_free(oa);
    free(body);
}

Test(gemini_cross, anthropic_conversation_to_gemini)
{
    size_t len;
    char *body = lx_test_load("tests/fixtures/anthropic/request_full.json", &len);
    lx_request *an = NULL;
    lx_error err;
    cr_assert_eq(lx_codec_anthropic.request_decode(body, len, &an, &err), LX_OK, "%s", err.message);
    json_t *v = lx_test_encode_json(C, an, &(lx_codec_opts){.model = "gemini-2.5-pro"});
    char *wire = json_dumps(v, JSON_COMPACT);
    lx_request *g = NULL;
    cr_assert_eq(C->request_decode(wire, strlen(wire), &g, &err), LX_OK, "%s", err.message);
    const lx_message *tool = find_role(g, LX_ROLE_TOOL, 0);
    cr_assert_not_null(tool, "%s", wire);
    cr_assert_eq(tool->n_parts, 2);
    cr_assert_str_eq(tool->parts[0].name, "get_weather");
    cr_assert_str_eq(tool->parts[0].id, "toolu_01A");
    cr_assert_not(tool->parts[0].is_error);
    cr_assert_str_eq(tool->parts[1].id, "toolu_01B");
    cr_assert(tool->parts[1].is_error);
    cr_assert(strstr(tool->parts[1].text, "station offline"));
    /* the thinking block survives with its signature; redacted thinking has no Gemini form */
    const lx_message *asst = find_role(g, LX_ROLE_ASSISTANT, 0);
    cr_assert_eq(asst->parts[0].kind, LX_PART_THINKING);
    cr_assert_str_eq(asst->parts[0].text, "Two cities: call the tool twice.");
    cr_assert_str_eq(asst->parts[0].signature,
                     "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds");
    cr_assert_eq(g->thinking_budget, 1024);
    cr_assert_eq(g->tool_choice.kind, LX_TOOL_CHOICE_REQUIRED);
    free(wire);
    json_decref(v);
    lx_request_free(g);
    lx_request_free(an);
    free(body);
}
