/* Tests of the OpenAI Chat Completions codec (proto/openai*.c). Fixtures in
 * tests/fixtures/openai/ (run from the repo root). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/codec_test.h"
#include "proto/codec.h"
#include "core/utf8.h"
#include "proto/json.h"

static const lx_codec *C = &lx_codec_openai;
static const lx_test_codec T = {&lx_codec_openai, LX_TEST_LOG_LINES};

/* ---- request decode ------------------------------------------------------ */

Test(openai_request, decodes_full_fixture)
{
    lx_request *r = lx_test_decode_request_file(C, "tests/fixtures/openai/request_full.json");
    cr_assert_str_eq(r->model, "gpt-4.1-mini");
    cr_assert_eq(r->n_messages, 7);
    lx_role roles[] = {LX_ROLE_SYSTEM, LX_ROLE_SYSTEM,    LX_ROLE_USER, LX_ROLE_ASSISTANT,
                       LX_ROLE_TOOL,   LX_ROLE_ASSISTANT, LX_ROLE_USER};
    for (size_t i = 0; i < 7; i++)
        cr_assert_eq(r->messages[i].role, roles[i], "message %zu", i);
    cr_assert_str_eq(r->messages[1].parts[0].text, "Use metric units.");
    lx_message *u = &r->messages[2];
    cr_assert_eq(u->n_parts, 3);
    cr_assert_eq(u->parts[1].kind, LX_PART_IMAGE);
    cr_assert_str_eq(u->parts[1].media_type, "image/png");
    cr_assert_str_eq(u->parts[1].data, "iVBORw0KGgo=");
    cr_assert_null(u->parts[1].url);
    cr_assert_str_eq(u->parts[2].url, "https://example.com/map.jpg");
    lx_message *a = &r->messages[3];
    cr_assert_eq(a->n_parts, 2);
    cr_assert_eq(a->parts[1].kind, LX_PART_TOOL_CALL);
    cr_assert_str_eq(a->parts[1].id, "call_oslo");
    cr_assert_str_eq(a->parts[1].name, "get_weather");
    cr_assert_str_eq(a->parts[1].arguments, "{\"city\":\"Oslo\"}");
    lx_message *t = &r->messages[4];
    cr_assert_eq(t->n_parts, 2, "consecutive tool messages merge");
    cr_assert_str_eq(t->parts[0].id, "call_paris");
    cr_assert_str_eq(t->parts[0].name, "get_weather");
    cr_assert_str_eq(t->parts[1].text, "4C, snow");
    cr_assert_eq(r->n_tools, 2);
    cr_assert_str_eq(r->tools[0].parameters,
                     "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                     "\"required\":[\"city\"]}");
    cr_assert_null(r->tools[1].parameters);
    cr_assert_null(r->tools[1].description);
    cr_assert_eq(r->tool_choice.kind, LX_TOOL_CHOICE_AUTO);
    cr_assert(r->tool_choice.has_parallel && r->tool_choice.parallel);
    cr_assert(r->sampling.has_temperature && r->sampling.temperature == 0.25);
    cr_assert(r->sampling.has_top_p && r->sampling.top_p == 0.9);
    cr_assert(r->sampling.has_seed && r->sampling.seed == 42);
    cr_assert_eq(r->sampling.max_tokens, 300, "max_completion_tokens wins over max_tokens");
    cr_assert_eq(r->sampling.n_stop, 2);
    cr_assert_str_eq(r->sampling.stop[0], "\n\nUser:");
    cr_assert_eq(r->format.kind, LX_FORMAT_JSON_SCHEMA);
    cr_assert_str_eq(r->format.name, "forecast");
    cr_assert(r->format.strict);
    cr_assert_str_eq(r->format.schema,
                     "{\"type\":\"object\",\"properties\":{\"summary\":{\"type\":\"string\"}}}");
    cr_assert(r->stream && r->include_usage);
    cr_assert_str_eq(r->user, "user-1234");
    lx_request_free(r);
}

Test(openai_request, legacy_fields_and_named_choice)
{
    const char *b =
        "{\"model\":\"m\",\"max_tokens\":12,\"stop\":\"##\",\"tool_choice\":"
        "{\"type\":\"function\",\"function\":{\"name\":\"f\"}},\"response_format\":"
        "{\"type\":\"json_object\"},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    lx_request *r = NULL;
    lx_error err = {0};
    cr_assert_eq(C->request_decode(b, strlen(b), &r, &err), LX_OK, "%s", err.message);
    cr_assert_eq(r->sampling.max_tokens, 12);
    cr_assert_eq(r->sampling.n_stop, 1);
    cr_assert_str_eq(r->sampling.stop[0], "##");
    cr_assert_eq(r->tool_choice.kind, LX_TOOL_CHOICE_NAMED);
    cr_assert_str_eq(r->tool_choice.name, "f");
    cr_assert_eq(r->format.kind, LX_FORMAT_JSON);
    cr_assert_not(r->stream);
    lx_request_free(r);
}

static const lx_test_bad_input bad_requests[] = {
    {"not json", LX_ERR_INVALID, "invalid JSON"},
    {"[1,2]", LX_ERR_INVALID, "expected a JSON object"},
    {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", LX_ERR_INVALID, "model: required"},
    {"{\"model\":5,\"messages\":[]}", LX_ERR_INVALID, "model: expected a string"},
    {"{\"model\":\"m\"}", LX_ERR_INVALID, "messages: required"},
    {"{\"model\":\"m\",\"messages\":[]}", LX_ERR_INVALID, "messages: must not be empty"},
    {"{\"model\":\"m\",\"messages\":{}}", LX_ERR_INVALID, "messages: expected an array"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\","
     "\"content\":\"u\"},{\"role\":\"user\",\"content\":7}]}",
     LX_ERR_INVALID, "messages[2].content: expected a string or an array"},
    {"{\"model\":\"m\",\"messages\":[3]}", LX_ERR_INVALID, "messages[0]: expected an object"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", LX_ERR_INVALID,
     "messages[0].role: unknown role \"robot\""},
    {"{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}", LX_ERR_INVALID,
     "messages[0].role: expected a string"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", LX_ERR_INVALID,
     "messages[0].tool_call_id: required"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
     "\"function\":3}]}]}",
     LX_ERR_INVALID, "messages[0].tool_calls[0].function: expected an object"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
     "\"function\":{\"arguments\":\"{}\"}}]}]}",
     LX_ERR_INVALID, "messages[0].tool_calls[0].function.name: required"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
     LX_ERR_INVALID, "messages[0].content[0].text: expected a string"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
     "\"image_url\":{}}]}]}",
     LX_ERR_INVALID, "messages[0].content[0].image_url.url: expected a string"},
    {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\"}]}]"
     "}",
     LX_ERR_UNSUPPORTED, "messages[0].content[0].type"},
    {"{\"model\":\"m\",\"temperature\":\"hot\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"
     "}",
     LX_ERR_INVALID, "temperature: expected a number"},
    {"{\"model\":\"m\",\"seed\":1.5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "seed: expected an integer"},
    {"{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "max_tokens: expected a positive integer"},
    {"{\"model\":\"m\",\"stop\":[1],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "stop[0]: expected a string"},
    {"{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "stream: expected true or false"},
    {"{\"model\":\"m\",\"stream_options\":{\"include_usage\":1},\"messages\":[{\"role\":\"user\","
     "\"content\":\"x\"}]}",
     LX_ERR_INVALID, "stream_options.include_usage"},
    {"{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{}}],\"messages\":[{\"role\":"
     "\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "tools[0].function.name: required"},
    {"{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
     "\"parameters\":[]}}],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "tools[0].function.parameters: expected an object"},
    {"{\"model\":\"m\",\"tool_choice\":\"maybe\",\"messages\":[{\"role\":\"user\",\"content\":"
     "\"x\"}]}",
     LX_ERR_INVALID, "tool_choice"},
    {"{\"model\":\"m\",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":"
     "\"x\"}},\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "response_format.json_schema.schema: expected an object"},
    {"{\"model\":\"m\",\"parallel_tool_calls\":\"no\",\"messages\":[{\"role\":\"user\",\"content\":"
     "\"x\"}]}",
     LX_ERR_INVALID, "parallel_tool_calls"},
};

Test(openai_request, bad_input_names_the_field)
{
    lx_test_check_bad_requests(C, bad_requests, sizeof bad_requests / sizeof bad_requests[0]);
}

/* ---- request encode ------------------------------------------------------ */

Test(openai_request, encode_matches_wire_shape)
{
    lx_request *r = lx_test_decode_request_file(C, "tests/fixtures/openai/request_full.json");
    lx_codec_opts o = {.model = "gpt-x", .stream = true};
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error err = {0};
    cr_assert_eq(C->request_encode(r, &o, &b, &err), LX_OK, "%s", err.message);
    json_t *v = lx_test_parse_json(&b);
    cr_assert_str_eq(json_string_value(json_object_get(v, "model")), "gpt-x");
    cr_assert(json_is_true(json_object_get(v, "stream")));
    cr_assert(json_is_true(json_object_get(json_object_get(v, "stream_options"), "include_usage")));
    cr_assert_eq(json_integer_value(json_object_get(v, "max_completion_tokens")), 300);
    cr_assert_null(json_object_get(v, "max_tokens"));
    json_t *m = json_object_get(v, "messages");
    cr_assert_eq(json_array_size(m), 8, "tool results become one message each");
    json_t *img = json_array_get(json_object_get(json_array_get(m, 2), "content"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(img, "image_url"), "url")),
                     "data:image/png;base64,iVBORw0KGgo=");
    json_t *asst = json_array_get(m, 3);
    cr_assert(json_is_null(json_object_get(asst, "content")));
    json_t *call = json_array_get(json_object_get(asst, "tool_calls"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(call, "id")), "call_oslo");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(call, "function"), "arguments")),
        "{\"city\":\"Oslo\"}");
    json_t *tool = json_array_get(m, 5);
    cr_assert_str_eq(json_string_value(json_object_get(tool, "role")), "tool");
    cr_assert_str_eq(json_string_value(json_object_get(tool, "tool_call_id")), "call_oslo");
    cr_assert_str_eq(json_string_value(json_object_get(tool, "content")), "4C, snow");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 7), "content")),
                     "Thanks. And tomorrow?");
    json_t *tools = json_object_get(v, "tools");
    cr_assert_eq(json_array_size(tools), 2);
    json_t *fn1 = json_object_get(json_array_get(tools, 1), "function");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(fn1, "parameters"), "type")),
                     "object");
    cr_assert_str_eq(json_string_value(json_object_get(v, "tool_choice")), "auto");
    json_t *rf = json_object_get(v, "response_format");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(rf, "json_schema"), "name")),
                     "forecast");
    cr_assert_eq(json_array_size(json_object_get(v, "stop")), 2);
    cr_assert_eq(json_integer_value(json_object_get(v, "seed")), 42);
    cr_assert_str_eq(json_string_value(json_object_get(v, "user")), "user-1234");
    json_decref(v);

    /* decode(encode(x)) == x for what the dialect carries */
    lx_request *r2 = NULL;
    cr_assert_eq(C->request_decode(b.data, b.len, &r2, &err), LX_OK, "%s", err.message);
    cr_assert_eq(r2->n_messages, r->n_messages);
    cr_assert_eq(r2->messages[4].n_parts, 2);
    cr_assert_str_eq(r2->messages[4].parts[1].id, "call_oslo");
    cr_assert_eq(r2->sampling.max_tokens, 300);
    lx_request_free(r2);
    lx_buf_free(&b);
    lx_request_free(r);
}

Test(openai_request, generates_matching_ids_for_idless_calls)
{
    lx_request *r = lx_request_new();
    r->model = "m";
    lx_request_add_text(r, LX_ROLE_USER, "go");
    lx_message *a = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    const char *names[] = {"alpha", "beta", "alpha"};
    for (int i = 0; i < 3; i++) {
        lx_part *p = lx_message_add_part(r, a, LX_PART_TOOL_CALL);
        p->name = (char *)names[i];
        p->arguments = "{}";
    }
    lx_message *t = lx_request_add_message(r, LX_ROLE_TOOL);
    const char *rnames[] = {"beta", "alpha", "alpha"};
    for (int i = 0; i < 3; i++) {
        lx_part *p = lx_message_add_part(r, t, LX_PART_TOOL_RESULT);
        p->name = (char *)rnames[i];
        p->text = (char *)rnames[i];
    }
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(C->request_encode(r, NULL, &b, NULL), LX_OK);
    json_t *v = lx_test_parse_json(&b);
    json_t *m = json_object_get(v, "messages");
    json_t *calls = json_object_get(json_array_get(m, 1), "tool_calls");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(calls, 0), "id")), "call_1");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(calls, 1), "id")), "call_2");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(calls, 2), "id")), "call_3");
    const char *want[] = {"call_2", "call_1", "call_3"};
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(
            json_string_value(json_object_get(json_array_get(m, 2 + i), "tool_call_id")), want[i],
            "result %d", i);
    json_decref(v);
    lx_buf_free(&b);
    lx_request_free(r);
}

Test(openai_request, encode_refuses_missing_model_and_bad_schema)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "x");
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error err = {0};
    cr_assert_eq(C->request_encode(r, NULL, &b, &err), LX_ERR_INVALID);
    cr_assert_str_eq(err.message, "model: required");
    lx_tool *t = lx_request_add_tool(r);
    t->name = "f";
    t->parameters = "{not json";
    lx_codec_opts o = {.model = "m"};
    cr_assert_eq(C->request_encode(r, &o, &b, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "tools.parameters"), "%s", err.message);
    lx_buf_free(&b);
    lx_request_free(r);
}

/* ---- responses ----------------------------------------------------------- */

Test(openai_response, tool_calls_and_usage_arithmetic)
{
    lx_response *r = lx_test_decode_response_file(
        C, "tests/fixtures/openai/response_tool_calls.json", LX_OK, NULL);
    cr_assert_str_eq(r->id, "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG");
    cr_assert_str_eq(r->model, "gpt-4o-2024-08-06");
    cr_assert_eq(r->created, 1741570283);
    cr_assert_eq(r->finish, LX_FINISH_TOOL_CALLS);
    cr_assert_eq(r->n_parts, 2);
    cr_assert_eq(r->parts[0].kind, LX_PART_TOOL_CALL);
    cr_assert_str_eq(r->parts[1].id, "call_def");
    cr_assert_str_eq(r->parts[1].arguments, "{\"city\":\"Oslo\"}");
    cr_assert(r->has_usage);
    cr_assert_eq(r->usage.input, 1117 - 1024);
    cr_assert_eq(r->usage.cache_read, 1024);
    cr_assert_eq(r->usage.cache_write, 0);
    cr_assert_eq(r->usage.output, 46 - 10);
    cr_assert_eq(r->usage.reasoning, 10);
    cr_assert_eq(lx_usage_total_input(&r->usage), 1117);
    cr_assert_eq(lx_usage_total_output(&r->usage), 46);
    lx_response_free(r);
}

Test(openai_response, reasoning_content_is_thinking)
{
    lx_response *r =
        lx_test_decode_response_file(C, "tests/fixtures/openai/response_text.json", LX_OK, NULL);
    cr_assert_eq(r->n_parts, 2);
    cr_assert_eq(r->parts[0].kind, LX_PART_THINKING);
    cr_assert_str_eq(r->parts[0].text, "The user greets me.");
    cr_assert_str_eq(lx_response_text(r), "Hello! How can I help?");
    cr_assert_eq(r->finish, LX_FINISH_LENGTH);
    cr_assert_eq(r->usage.input, 12);
    cr_assert_eq(r->usage.output, 20);
    lx_response_free(r);
}

Test(openai_response, encode_then_decode_is_identity)
{
    const char *paths[] = {"tests/fixtures/openai/response_tool_calls.json",
                           "tests/fixtures/openai/response_text.json"};
    for (int k = 0; k < 2; k++) {
        lx_response *r = lx_test_decode_response_file(C, paths[k], LX_OK, NULL);
        lx_buf b;
        lx_buf_init(&b, 0);
        cr_assert_eq(C->response_encode(r, NULL, &b, NULL), LX_OK);
        json_t *v = lx_test_parse_json(&b);
        cr_assert_str_eq(json_string_value(json_object_get(v, "object")), "chat.completion");
        json_t *u = json_object_get(v, "usage");
        if (k == 0) {
            cr_assert_eq(json_integer_value(json_object_get(u, "prompt_tokens")), 1117);
            cr_assert_eq(json_integer_value(json_object_get(u, "total_tokens")), 1163);
            cr_assert_eq(json_integer_value(json_object_get(
                             json_object_get(u, "prompt_tokens_details"), "cached_tokens")),
                         1024);
        }
        json_decref(v);
        lx_response *r2 = NULL;
        cr_assert_eq(C->response_decode(b.data, b.len, &r2, NULL), LX_OK);
        cr_assert_str_eq(r2->id, r->id);
        lx_test_assert_responses_eq(r, r2);
        lx_buf_free(&b);
        lx_response_free(r2);
        lx_response_free(r);
    }
}

Test(openai_response, malformed_is_a_protocol_error)
{
    const char *cases[][2] = {
        {"{", "response: invalid JSON"},
        {"{\"id\":\"x\"}", "choices[0].message: expected an object"},
        {"{\"choices\":[{\"message\":{\"content\":5}}]}",
         "choices[0].message.content: expected a string"},
        {"{\"choices\":[{\"message\":{\"content\":\"a\"}}],\"usage\":{\"prompt_tokens\":\"x\"}}",
         "usage.prompt_tokens: expected an integer"},
        {"{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":1}]}}]}",
         "choices[0].message.tool_calls[0].function: expected an object"},
    };
    lx_test_check_bad_responses(C, cases, sizeof cases / sizeof cases[0]);
}

/* ---- stream decoder ------------------------------------------------------- */

Test(openai_stream, text_with_usage_chunk)
{
    lx_test_check_stream(&T, "tests/fixtures/openai/stream_text.sse", LX_OK,
                         "start chatcmpl-123 gpt-4o-mini\n"
                         "text [Hello]\n"
                         "text [ wörld ✓]\n"
                         "usage in=20 cr=10 cw=0 out=5 rs=0\n"
                         "finish stop -\n",
                         NULL, NULL);
}

Test(openai_stream, parallel_tool_calls_interleaved)
{
    lx_test_check_stream(&T, "tests/fixtures/openai/stream_tools.sse", LX_OK,
                         "start chatcmpl-t gpt-4.1\n"
                         "tool_start 0 call_A get_weather\n"
                         "tool_args 0 [{\"ci]\n"
                         "tool_start 1 call_B get_time\n"
                         "tool_args 1 [{\"tz\":]\n"
                         "tool_args 0 [ty\":\"Paris\"}]\n"
                         "tool_args 1 [\"CET\"}]\n"
                         "tool_end 0\n"
                         "tool_end 1\n"
                         "usage in=36 cr=64 cw=0 out=32 rs=8\n"
                         "finish tool_calls -\n",
                         NULL, NULL);
}

Test(openai_stream, vllm_null_choices_and_reasoning)
{
    lx_test_check_stream(&T, "tests/fixtures/openai/stream_vllm_null.sse", LX_OK,
                         "start cmpl-v1 Qwen/Qwen3-8B\n"
                         "thinking [Think briefly.] sig=-\n"
                         "text [Done.]\n"
                         "usage in=7 cr=0 cw=0 out=12 rs=0\n"
                         "finish length -\n",
                         NULL, NULL);
}

Test(openai_stream, midstream_error_is_upstream)
{
    lx_test_check_stream(&T, "tests/fixtures/openai/stream_error.sse", LX_ERR_UPSTREAM,
                         "start chatcmpl-e gpt-4o\n"
                         "text [Partial]\n",
                         "The server had an error", NULL);
    size_t n;
    char *s = lx_test_load("tests/fixtures/openai/stream_error.sse", &n);
    lx_test_rec r = {0};
    lx_error err = {0};
    lx_test_run_stream(&T, s, n, 7, 0, &r, &err);
    cr_assert_str_eq(err.type, "server_error");
    cr_assert_eq(err.code, LX_ERR_UPSTREAM);
    lx_buf_free(&r.log);
    free(s);
}

Test(openai_stream, cut_stream_reports_usage_then_fails)
{
    lx_test_check_stream(&T, "tests/fixtures/openai/stream_cut.sse", LX_ERR_PROTO,
                         "start chatcmpl-c gpt-4o\n"
                         "text [Cut]\n"
                         "usage in=5 cr=0 cw=0 out=1 rs=0\n",
                         "stream ended before [DONE]", NULL);
}

Test(openai_stream, malformed_chunk_is_quoted)
{
    lx_test_check_stream(&T, "tests/fixtures/openai/stream_malformed.sse", LX_ERR_PROTO,
                         "start chatcmpl-m gpt-4o\n"
                         "text [ok]\n",
                         "malformed chunk", NULL);
    size_t n;
    char *s = lx_test_load("tests/fixtures/openai/stream_malformed.sse", &n);
    lx_test_rec r = {0};
    lx_error err = {0};
    lx_test_run_stream(&T, s, n, n, 0, &r, &err);
    cr_assert(strstr(err.message, "\"{\"id\":\"chatcmpl-m\",\"choices\""), "%s", err.message);
    lx_buf_free(&r.log);
    free(s);
}

Test(openai_stream, wrong_types_in_chunks)
{
    const char *cases[][2] = {
        {"data: [1]\n\n", "expected a JSON object"},
        {"data: {\"choices\":\"x\"}\n\n", "choices: expected an array"},
        {"data: {\"choices\":[{\"delta\":{\"content\":5}}]}\n\n",
         "choices[0].delta.content: expected a string"},
        {"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":\"0\"}]}}]}\n\n",
         "delta.tool_calls[0]"},
        {"data: {\"choices\":[{\"delta\":{},\"finish_reason\":1}]}\n\n",
         "finish_reason: expected a string"},
        {"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":-1}}\n\n", "usage.prompt_tokens"},
        {"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":"
         "{\"name\":\"f\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: "
         "{\"choices\":[{\"delta\":"
         "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n",
         "tool call 0 continued after finish_reason"},
    };
    lx_test_check_bad_streams(&T, cases, sizeof cases / sizeof cases[0], 3);
}

Test(openai_stream, sink_refusal_stops_the_decoder)
{
    size_t n;
    char *s = lx_test_load("tests/fixtures/openai/stream_text.sse", &n);
    lx_test_rec r = {.refuse_at = 2};
    lx_error err = {0};
    cr_assert_eq(lx_test_run_stream(&T, s, n, 1, 0, &r, &err), LX_ERR_CANCELLED);
    cr_assert_eq(r.count, 2);
    lx_buf_free(&r.log);
    free(s);
}

/* ---- stream encoder -------------------------------------------------------- */

static const lx_usage U = {.input = 20, .cache_read = 5, .output = 9, .reasoning = 3};

Test(openai_stream, encoder_output_decodes_to_the_same_events)
{
    lx_event evs[] = {
        {.kind = LX_EV_START, .id = "ignored", .model = "m-from-start"},
        {.kind = LX_EV_THINKING, .text = "hmm", .len = 3},
        {.kind = LX_EV_THINKING, .signature = "sig-only"},
        {.kind = LX_EV_TEXT, .text = "Hi \"there\"\n", .len = 11},
        {.kind = LX_EV_TOOL_START, .index = 0, .id = "call_1", .name = "f"},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "{\"a\":", .len = 5},
        {.kind = LX_EV_TOOL_START, .index = 1, .id = "call_2", .name = "g"},
        {.kind = LX_EV_TOOL_ARGS, .index = 1, .text = "{}", .len = 2},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "1}", .len = 2},
        {.kind = LX_EV_TOOL_END, .index = 0},
        {.kind = LX_EV_TOOL_END, .index = 1},
        {.kind = LX_EV_USAGE, .usage = U},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_TOOL_CALLS},
    };
    lx_codec_opts o = {.id = "chatcmpl-fixed", .include_usage = true};
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_test_encode_events(C, &o, evs, sizeof evs / sizeof evs[0], &out);
    cr_assert(strncmp(out.data,
                      "data: {\"id\":\"chatcmpl-fixed\",\"object\":\"chat.completion.chunk\"",
                      61) == 0,
              "%s", out.data);
    cr_assert(strstr(out.data, "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}"));
    cr_assert(strstr(out.data, "\"choices\":[],\"usage\":{\"prompt_tokens\":25,"));
    cr_assert(strstr(out.data, "\"model\":\"m-from-start\""));
    size_t len = out.len;
    cr_assert(len > 14 && strcmp(out.data + len - 14, "data: [DONE]\n\n") == 0);
    lx_test_rec r = {0};
    lx_error err = {0};
    cr_assert_eq(lx_test_run_stream(&T, out.data, out.len, 5, 0, &r, &err), LX_OK, "%s",
                 err.message);
    cr_assert_str_eq(lx_test_log(&r), "start chatcmpl-fixed m-from-start\n"
                                      "thinking [hmm] sig=-\n"
                                      "text [Hi \"there\"\n]\n"
                                      "tool_start 0 call_1 f\n"
                                      "tool_args 0 [{\"a\":]\n"
                                      "tool_start 1 call_2 g\n"
                                      "tool_args 1 [{}]\n"
                                      "tool_args 0 [1}]\n"
                                      "tool_end 0\n"
                                      "tool_end 1\n"
                                      "usage in=20 cr=5 cw=0 out=9 rs=3\n"
                                      "finish tool_calls -\n");
    lx_buf_free(&r.log);
    lx_buf_free(&out);
}

Test(openai_stream, encoder_error_event_has_no_done)
{
    lx_error e = {.code = LX_ERR_UPSTREAM, .http_status = 529, .type = "overloaded_error"};
    lx_strlcpy(e.message, "busy", sizeof e.message);
    lx_event evs[] = {{.kind = LX_EV_START},
                      {.kind = LX_EV_TEXT, .text = "a", .len = 1},
                      {.kind = LX_EV_ERROR, .error = &e}};
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_test_encode_events(C, &(lx_codec_opts){.model = "m"}, evs, 3, &out);
    cr_assert(
        strstr(out.data, "data: {\"error\":{\"message\":\"busy\",\"type\":\"overloaded_error\""),
        "%s", out.data);
    cr_assert_null(strstr(out.data, "[DONE]"));
    lx_test_rec r = {0};
    lx_error err = {0};
    cr_assert_eq(lx_test_run_stream(&T, out.data, out.len, 1, 0, &r, &err), LX_ERR_UPSTREAM);
    cr_assert_str_eq(err.type, "overloaded_error");
    lx_buf_free(&r.log);
    lx_buf_free(&out);
}

Test(openai_stream, encoder_without_usage_chunk)
{
    lx_event evs[] = {{.kind = LX_EV_START},
                      {.kind = LX_EV_TEXT, .text = "x", .len = 1},
                      {.kind = LX_EV_USAGE, .usage = U},
                      {.kind = LX_EV_FINISH, .finish = LX_FINISH_LENGTH}};
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_test_encode_events(C, &(lx_codec_opts){.model = "m"}, evs, 4, &out);
    cr_assert_null(strstr(out.data, "\"usage\""));
    cr_assert(strstr(out.data, "\"finish_reason\":\"length\""));
    cr_assert(strstr(out.data, "\"id\":\"chatcmpl-"));
    lx_buf_free(&out);
}

/* ---- errors and HTTP -------------------------------------------------------- */

Test(openai_error, decode_fixture_and_garbage)
{
    size_t n;
    char *s = lx_test_load("tests/fixtures/openai/error_429.json", &n);
    lx_error e;
    C->error_decode(429, s, n, &e);
    cr_assert_eq(e.code, LX_ERR_UPSTREAM);
    cr_assert_eq(e.http_status, 429);
    cr_assert_str_eq(e.type, "tokens");
    cr_assert(strstr(e.message, "Rate limit reached"));
    free(s);
    const char *g = "<html>502 Bad Gateway</html>";
    C->error_decode(502, g, strlen(g), &e);
    cr_assert_str_eq(e.message, "HTTP 502: <html>502 Bad Gateway</html>");
    cr_assert_str_eq(e.type, "");
    const char *c = "{\"error\":{\"message\":\"no\",\"type\":\"\",\"code\":\"invalid_api_key\"}}";
    C->error_decode(401, c, strlen(c), &e);
    cr_assert_str_eq(e.type, "invalid_api_key");
    const char *l = "{\"error\":\"model not loaded\"}";
    C->error_decode(500, l, strlen(l), &e);
    cr_assert_str_eq(e.message, "model not loaded");
    C->error_decode(500, NULL, 0, &e);
    cr_assert_str_eq(e.message, "HTTP 500: ");
}

Test(openai_error, encode_status_and_type)
{
    struct {
        lx_status code;
        int http;
        int want;
        const char *type;
    } cases[] = {
        {LX_ERR_INVALID, 0, 400, "invalid_request_error"},
        {LX_ERR_USAGE, 0, 400, "invalid_request_error"},
        {LX_ERR_NOTFOUND, 0, 404, "not_found_error"},
        {LX_ERR_TOOBIG, 0, 413, "invalid_request_error"},
        {LX_ERR_UPSTREAM, 0, 502, "server_error"},
        {LX_ERR_TIMEOUT, 0, 504, "server_error"},
        {LX_ERR_CANCELLED, 0, 499, "invalid_request_error"},
        {LX_ERR_INTERNAL, 0, 500, "server_error"},
        {LX_ERR_UPSTREAM, 401, 401, "authentication_error"},
        {LX_ERR_UPSTREAM, 429, 429, "rate_limit_error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lx_error e = {.code = cases[i].code, .http_status = cases[i].http};
        lx_strlcpy(e.message, "bad \"thing\"", sizeof e.message);
        lx_buf b;
        lx_buf_init(&b, 0);
        int hs = 0;
        cr_assert_eq(C->error_encode(&e, &hs, &b), LX_OK);
        cr_assert_eq(hs, cases[i].want, "case %zu", i);
        json_t *v = lx_test_parse_json(&b);
        json_t *eo = json_object_get(v, "error");
        cr_assert_str_eq(json_string_value(json_object_get(eo, "type")), cases[i].type, "case %zu",
                         i);
        cr_assert_str_eq(json_string_value(json_object_get(eo, "message")), "bad \"thing\"");
        lx_error back;
        C->error_decode(hs, b.data, b.len, &back);
        cr_assert_str_eq(back.message, "bad \"thing\"");
        json_decref(v);
        lx_buf_free(&b);
    }
}

Test(openai_http, prepare_url_and_headers)
{
    lx_buf url, h;
    lx_buf_init(&url, 0);
    lx_buf_init(&h, 0);
    lx_codec_opts o = {
        .base_url = "http://localhost:8000/v1//", .api_key = "sk-test", .stream = true};
    cr_assert_eq(C->http_prepare(&o, &url, &h, NULL), LX_OK);
    cr_assert_str_eq(url.data, "http://localhost:8000/v1/chat/completions");
    cr_assert_str_eq(h.data, "Content-Type: application/json\nAuthorization: Bearer sk-test\n"
                             "Accept: text/event-stream\n");
    lx_buf_reset(&url);
    lx_buf_reset(&h);
    lx_codec_opts o2 = {0};
    cr_assert_eq(C->http_prepare(&o2, &url, &h, NULL), LX_OK);
    cr_assert_str_eq(url.data, "https://api.openai.com/v1/chat/completions");
    cr_assert_str_eq(h.data, "Content-Type: application/json\n");
    lx_codec_opts o3 = {.api_key = "a\nb"};
    cr_assert_eq(C->http_prepare(&o3, &url, &h, NULL), LX_ERR_CONFIG);
    cr_assert_str_eq(C->stream_content_type, "text/event-stream");
    cr_assert_str_eq(C->name, "openai");
    lx_buf_free(&url);
    lx_buf_free(&h);
}

Test(openai_stream, encoder_rejoins_split_utf8_and_replaces_bad_bytes)
{
    lx_event evs[] = {
        {.kind = LX_EV_START},
        {.kind = LX_EV_TEXT, .text = "\xE2\x9C", .len = 2},
        {.kind = LX_EV_TEXT, .text = "\x93 ok", .len = 4},
        {.kind = LX_EV_TEXT, .text = "\xFF", .len = 1},
        {.kind = LX_EV_THINKING, .text = "\xF0\x9F", .len = 2},
        {.kind = LX_EV_TEXT, .text = "\xC3", .len = 1},
        {.kind = LX_EV_TOOL_START, .index = 0, .id = "c", .name = "f"},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "{\"a\":\"\xC0\"}", .len = 9},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_STOP},
    };
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_test_encode_events(C, &(lx_codec_opts){.model = "m", .id = "chatcmpl-u"}, evs,
                          sizeof evs / sizeof evs[0], &out);
    lx_test_rec r = {0};
    lx_error err = {0};
    cr_assert_eq(lx_test_run_stream(&T, out.data, out.len, 1, 0, &r, &err), LX_OK, "%s",
                 err.message);
    cr_assert_str_eq(lx_test_log(&r),
                     "start chatcmpl-u m\n"
                     "text [\xE2\x9C\x93 ok]\n"
                     "text [\xEF\xBF\xBD]\n"
                     "thinking [\xEF\xBF\xBD] sig=-\n"
                     "text [\xEF\xBF\xBD]\n"
                     "tool_start 0 c f\n"
                     "tool_args 0 [{\"a\":\"\xEF\xBF\xBD\"}]\n"
                     "tool_end 0\n"
                     "finish stop -\n",
                     "%s", lx_test_log(&r));
    lx_buf_free(&r.log);
    lx_buf_free(&out);
}

Test(openai_utf8, responses_are_repaired_requests_refused)
{
    lx_response *r = lx_response_new();
    lx_part *p = lx_response_add_part(r, LX_PART_TEXT);
    p->text = "cut at max_tokens \xE2\x9C";
    r->finish = LX_FINISH_LENGTH;
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error err = {0};
    cr_assert_eq(C->response_encode(r, NULL, &b, &err), LX_OK, "%s", err.message);
    lx_response *back = NULL;
    cr_assert_eq(C->response_decode(b.data, b.len, &back, NULL), LX_OK);
    cr_assert_str_eq(lx_response_text(back), "cut at max_tokens \xEF\xBF\xBD");
    lx_response_free(back);
    lx_response_free(r);

    lx_request *q = lx_request_new();
    q->model = "m";
    lx_request_add_text(q, LX_ROLE_USER, "ok");
    lx_request_add_text(q, LX_ROLE_ASSISTANT, "model said \xC3");
    lx_buf_reset(&b);
    cr_assert_eq(C->request_encode(q, NULL, &b, &err), LX_OK, "%s", err.message);
    cr_assert(strstr(b.data, "model said \\ufffd") || strstr(b.data, "model said \xEF\xBF\xBD"),
              "%s", b.data);
    lx_request_add_text(q, LX_ROLE_USER, "bad \xFF byte");
    cr_assert_eq(C->request_encode(q, NULL, &b, &err), LX_ERR_INVALID);
    cr_assert_str_eq(err.message, "messages[2].parts[0].text: not valid UTF-8 at byte 4");
    lx_buf_free(&b);
    lx_request_free(q);
}

Test(openai_stream, calls_without_index_and_x_groq_usage)
{
    lx_test_check_stream(&T, "tests/fixtures/openai/stream_noindex.sse", LX_OK,
                         "start gem-1 gemini-2.5-flash\n"
                         "tool_start 0 function-call-1 get_weather\n"
                         "tool_args 0 [{\"city\":\"Paris\"}]\n"
                         "tool_start 1 function-call-2 get_weather\n"
                         "tool_args 1 [{\"city\":\"Oslo\"}]\n"
                         "tool_end 0\n"
                         "tool_end 1\n"
                         "usage in=9 cr=0 cw=0 out=4 rs=0\n"
                         "finish tool_calls -\n",
                         NULL, NULL);
}

Test(openai_stream, named_error_event)
{
    const char *in = "data: {\"id\":\"x\",\"choices\":[]}\n\n"
                     "event: error\ndata: {\"message\":\"engine died\",\"type\":\"internal\"}\n\n";
    lx_test_rec r = {0};
    lx_error err = {0};
    cr_assert_eq(lx_test_run_stream(&T, in, strlen(in), 4, 0, &r, &err), LX_ERR_UPSTREAM);
    cr_assert_str_eq(err.message, "stream error: engine died");
    cr_assert_str_eq(err.type, "internal");
    lx_buf_free(&r.log);
}

/* Text chunks are written by hand (openai_stream.c): their bytes must be what
 * jansson's compact dump gives for the same object, for any text. */
Test(openai_stream_encode, text_chunks_match_jansson)
{
    static const char *const texts[] = {
        "plain", "quote \" backslash \\ slash /", "nl\n tab\t cr\r bs\b ff\f",
        "\x01\x1f\x7f ctrl", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "",
    };
    lx_codec_opts o = {.model = "m\"odel", .stream = true, .id = "chatcmpl-1"};
    lx_stream_encoder *enc = lx_codec_openai.stream_encoder_new(&o);
    cr_assert(enc);
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_event ev = {.kind = LX_EV_START, .model = "m\"odel"};
    cr_assert_eq(enc->event(enc, &ev, &out), LX_OK);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        lx_buf_reset(&out);
        lx_event t = {.kind = LX_EV_TEXT, .text = texts[i], .len = strlen(texts[i])};
        cr_assert_eq(enc->event(enc, &t, &out), LX_OK);
        if (!texts[i][0]) {
            cr_assert_eq(out.len, 0);
            continue;
        }
        cr_assert(out.len > 8 && !strncmp(out.data, "data: ", 6), "%.*s", (int)out.len, out.data);
        const char *json = out.data + 6;
        size_t n = out.len - 6;
        while (n && (json[n - 1] == '\n' || json[n - 1] == '\r'))
            n--;
        json_error_t je;
        json_t *v = json_loadb(json, n, 0, &je);
        cr_assert(v, "%s: %.*s", je.text, (int)n, json);
        const char *content = json_string_value(
            json_object_get(json_object_get(json_array_get(json_object_get(v, "choices"), 0), "delta"),
                            "content"));
        cr_assert(content && !strcmp(content, texts[i]), "%s", json);
        char *again = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        cr_assert(again && strlen(again) == n && !memcmp(again, json, n), "ours %.*s\njansson %s",
                  (int)n, json, again);
        free(again);
        json_decref(v);
    }
    lx_buf_free(&out);
    enc->free(enc);
}

Test(json_quote, invalid_utf8_becomes_replacement)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_json_quote(&b, "a\xff" "b\xc3", 4), LX_OK);
    cr_assert_eq(b.len, strlen("\"a\xef\xbf\xbd" "b\xef\xbf\xbd\""));
    cr_assert(!memcmp(b.data, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"", b.len));
    lx_buf_free(&b);
}

/* lx_json_quote (eight bytes at a time) writes what jansson's dump writes for
 * valid UTF-8, U+FFFD for each invalid byte; the strict form refuses exactly
 * the strings jansson refuses. Random strings mix long ASCII runs, quotes,
 * backslashes, controls, 0x7f, valid 2-4 byte sequences and invalid bytes. */
Test(openai, json_quote_matches_jansson_on_random_strings)
{
    static const char *const pieces[] = {"a", "abcdefghijklmnop", "\"", "\\", "\n", "\t", "\b",
                                         "\f", "\r", "\x01", "\x1f", "\x7f", "/", "\xc3\xa9",
                                         "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8",
                                         "\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf", " "};
    const size_t np = sizeof pieces / sizeof *pieces;
    unsigned seed = 12345;
    for (int round = 0; round < 20000; round++) {
        char in[512];
        size_t n = 0;
        int parts = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 24;
        for (int k = 0; k < parts; k++) {
            const char *p = pieces[((seed = seed * 1103515245u + 12345u) >> 16) % np];
            size_t l = strlen(p);
            if (n + l >= sizeof in)
                break;
            memcpy(in + n, p, l);
            n += l;
        }
        lx_buf got, strict;
        lx_buf_init(&got, 0);
        lx_buf_init(&strict, 0);
        cr_assert_eq(lx_json_quote(&got, in, n), LX_OK);
        lx_status sst = lx_json_quote_strict(&strict, in, n);
        json_t *js = json_stringn(in, n);
        if (js) {
            char *want = json_dumps(js, JSON_ENCODE_ANY | JSON_COMPACT);
            cr_assert_not_null(want);
            cr_assert_eq(got.len, strlen(want), "round %d", round);
            cr_assert(!memcmp(got.data, want, got.len), "round %d: %.*s vs %s", round,
                      (int)got.len, got.data, want);
            cr_assert_eq(sst, LX_OK, "round %d", round);
            cr_assert_eq(strict.len, got.len);
            free(want);
            json_decref(js);
        } else {
            cr_assert_eq(sst, LX_ERR_INVALID, "round %d: jansson refuses, strict must too", round);
            /* lossy: the valid-UTF-8 repair of the input quotes like jansson */
            lx_buf fixed;
            lx_buf_init(&fixed, 0);
            cr_assert_eq(lx_utf8_lossy(in, n, &fixed), LX_OK);
            json_t *fj = json_stringn(fixed.data ? fixed.data : "", fixed.len);
            cr_assert_not_null(fj, "round %d", round);
            char *want = json_dumps(fj, JSON_ENCODE_ANY | JSON_COMPACT);
            cr_assert_eq(got.len, strlen(want), "round %d", round);
            cr_assert(!memcmp(got.data, want, got.len), "round %d", round);
            free(want);
            json_decref(fj);
            lx_buf_free(&fixed);
        }
        lx_buf_free(&got);
        lx_buf_free(&strict);
    }
}
