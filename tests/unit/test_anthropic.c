/* Tests of the Anthropic Messages codec (proto/anthropic*.c). Fixtures in
 * tests/fixtures/anthropic/ (run from the repo root). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/codec_test.h"
#include "proto/codec.h"
#include "proto/json.h"

static const lx_codec *C = &lx_codec_anthropic;
static const lx_test_codec T = {&lx_codec_anthropic, LX_TEST_LOG_LINES};

/* ---- request decode ------------------------------------------------------ */

Test(anthropic_request, decodes_full_fixture)
{
    lx_request *r = lx_test_decode_request_file(C, "tests/fixtures/anthropic/request_full.json");
    cr_assert_str_eq(r->model, "claude-sonnet-4-5");
    lx_role roles[] = {LX_ROLE_SYSTEM, LX_ROLE_SYSTEM, LX_ROLE_USER,      LX_ROLE_ASSISTANT,
                       LX_ROLE_TOOL,   LX_ROLE_USER,   LX_ROLE_ASSISTANT, LX_ROLE_USER};
    cr_assert_eq(r->n_messages, 8);
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(r->messages[i].role, roles[i], "message %zu", i);
    cr_assert_str_eq(r->messages[0].parts[0].text, "You are a weather bot.");
    lx_message *u = &r->messages[2];
    cr_assert_eq(u->n_parts, 3);
    cr_assert_str_eq(u->parts[1].media_type, "image/jpeg");
    cr_assert_str_eq(u->parts[1].data, "/9j/4AAQSkZJRg==");
    cr_assert_str_eq(u->parts[2].url, "https://example.com/map.png");
    lx_message *a = &r->messages[3];
    cr_assert_eq(a->n_parts, 4);
    cr_assert_eq(a->parts[0].kind, LX_PART_THINKING);
    cr_assert_str_eq(a->parts[0].text, "Two cities: call the tool twice.");
    cr_assert_str_eq(a->parts[0].signature,
                     "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds");
    cr_assert_eq(a->parts[3].kind, LX_PART_TOOL_CALL);
    cr_assert_str_eq(a->parts[3].id, "toolu_01B");
    cr_assert_str_eq(a->parts[3].arguments, "{\"city\":\"Oslo\",\"units\":{\"temp\":\"C\"}}");
    lx_message *t = &r->messages[4];
    cr_assert_eq(t->n_parts, 2);
    cr_assert_str_eq(t->parts[0].id, "toolu_01A");
    cr_assert_str_eq(t->parts[0].name, "get_weather");
    cr_assert_str_eq(t->parts[0].text, "18C, cloudy");
    cr_assert_not(t->parts[0].is_error);
    cr_assert(t->parts[1].is_error);
    cr_assert_str_eq(t->parts[1].text, "station offline\nretry later");
    cr_assert_eq(r->messages[5].n_parts, 1);
    cr_assert_str_eq(r->messages[5].parts[0].text, "Summarise, please.");
    lx_part *red = &r->messages[6].parts[0];
    cr_assert_eq(red->kind, LX_PART_THINKING);
    cr_assert_null(red->text);
    cr_assert_str_eq(red->data, "EmwKAhgBEgy3va3pzix");
    cr_assert_eq(r->n_tools, 2);
    cr_assert_str_eq(r->tools[1].parameters, "{\"type\":\"object\"}");
    cr_assert_eq(r->tool_choice.kind, LX_TOOL_CHOICE_REQUIRED);
    cr_assert(r->tool_choice.has_parallel && !r->tool_choice.parallel);
    cr_assert_eq(r->sampling.max_tokens, 2048);
    cr_assert(r->sampling.has_top_k && r->sampling.top_k == 40);
    cr_assert(r->sampling.has_temperature && r->sampling.temperature == 1.0);
    cr_assert_eq(r->sampling.n_stop, 1);
    cr_assert_eq(r->thinking_budget, 1024);
    cr_assert_str_eq(r->user, "u-77");
    cr_assert_not(r->stream);
    lx_request_free(r);
}

static const lx_test_bad_input bad_requests[] = {
    {"{", LX_ERR_INVALID, "invalid JSON"},
    {"{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", LX_ERR_INVALID,
     "max_tokens: required"},
    {"{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", LX_ERR_INVALID,
     "model: required"},
    {"{\"model\":\"c\",\"max_tokens\":\"5\",\"messages\":[]}", LX_ERR_INVALID,
     "max_tokens: expected an integer"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[]}", LX_ERR_INVALID,
     "messages: must not be empty"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "messages[0].role: expected \"user\" or \"assistant\""},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
     "{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":{}}]}",
     LX_ERR_INVALID, "messages[2].content: expected a string or an array"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":"
     "\"x\"}]}]}",
     LX_ERR_INVALID, "messages[0].content[0].type: expected a string"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
     "\"text\"}]}]}",
     LX_ERR_INVALID, "messages[0].content[0].text: required"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
     "\"image\",\"source\":{\"type\":\"base64\",\"data\":\"x\"}}]}]}",
     LX_ERR_INVALID, "messages[0].content[0].source.media_type: required"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"assistant\",\"content\":[{"
     "\"type\":"
     "\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":[1]}]}]}",
     LX_ERR_INVALID, "messages[0].content[0].input: expected an object"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
     "\"tool_result\",\"content\":\"x\"}]}]}",
     LX_ERR_INVALID, "messages[0].content[0].tool_use_id: required"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
     "\"tool_result\",\"tool_use_id\":\"t\",\"is_error\":\"no\"}]}]}",
     LX_ERR_INVALID, "messages[0].content[0].is_error: expected true or false"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
     "\"document\"}]}]}",
     LX_ERR_UNSUPPORTED, "messages[0].content[0].type: \"document\""},
    {"{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"assistant\",\"content\":[{"
     "\"type\":"
     "\"tool_result\",\"tool_use_id\":\"t\"}]}]}",
     LX_ERR_UNSUPPORTED, "not supported in assistant turns"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"system\":5,\"messages\":[{\"role\":\"user\",\"content\":"
     "\"x\"}]}",
     LX_ERR_INVALID, "system: expected a string or an array"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"system\":[{\"type\":\"image\"}],\"messages\":[{\"role\":"
     "\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "system[0]: expected a text block"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"tools\":[{\"description\":\"d\"}],\"messages\":[{"
     "\"role\":"
     "\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "tools[0].name: required"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"tools\":[{\"type\":\"web_search_20250305\",\"name\":"
     "\"w\"}],"
     "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
     LX_ERR_UNSUPPORTED, "tools[0].type"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"tool_choice\":{\"type\":\"tool\"},\"messages\":[{"
     "\"role\":"
     "\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "tool_choice.name: required"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"tool_choice\":\"auto\",\"messages\":[{\"role\":\"user\","
     "\"content\":\"x\"}]}",
     LX_ERR_INVALID, "tool_choice.type: expected a string"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"stop_sequences\":[\"a\",2],\"messages\":[{\"role\":"
     "\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "stop_sequences[1]: expected a string"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"thinking\":{\"type\":\"enabled\"},\"messages\":[{"
     "\"role\":"
     "\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "thinking.budget_tokens"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"metadata\":{\"user_id\":1},\"messages\":[{\"role\":"
     "\"user\",\"content\":\"x\"}]}",
     LX_ERR_INVALID, "metadata.user_id: expected a string"},
    {"{\"model\":\"c\",\"max_tokens\":5,\"top_k\":-1,\"messages\":[{\"role\":\"user\",\"content\":"
     "\"x\"}]}",
     LX_ERR_INVALID, "top_k: expected a positive integer"},
};

Test(anthropic_request, bad_input_names_the_field)
{
    lx_test_check_bad_requests(C, bad_requests, sizeof bad_requests / sizeof bad_requests[0]);
}

/* ---- request encode ------------------------------------------------------ */

Test(anthropic_request, encode_matches_wire_shape)
{
    lx_request *r = lx_test_decode_request_file(C, "tests/fixtures/anthropic/request_full.json");
    lx_codec_opts o = {.model = "claude-x", .stream = true};
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error err = {0};
    cr_assert_eq(C->request_encode(r, &o, &b, &err), LX_OK, "%s", err.message);
    json_t *v = lx_test_parse_json(&b);
    cr_assert_str_eq(json_string_value(json_object_get(v, "model")), "claude-x");
    cr_assert_eq(json_integer_value(json_object_get(v, "max_tokens")), 2048);
    cr_assert(json_is_true(json_object_get(v, "stream")));
    json_t *sys = json_object_get(v, "system");
    cr_assert_eq(json_array_size(sys), 2);
    json_t *m = json_object_get(v, "messages");
    cr_assert_eq(json_array_size(m), 5, "tool results + following user merge into one turn");
    json_t *asst = json_object_get(json_array_get(m, 1), "content");
    cr_assert_eq(json_array_size(asst), 4);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(asst, 0), "signature")),
                     "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds");
    json_t *tu = json_array_get(asst, 3);
    cr_assert_str_eq(json_string_value(json_object_get(tu, "type")), "tool_use");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(tu, "input"), "units"), "temp")),
                     "C");
    json_t *turn = json_object_get(json_array_get(m, 2), "content");
    cr_assert_eq(json_array_size(turn), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(turn, 0), "type")),
                     "tool_result");
    cr_assert(json_is_true(json_object_get(json_array_get(turn, 1), "is_error")));
    cr_assert_null(json_object_get(json_array_get(turn, 0), "is_error"));
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(turn, 2), "text")),
                     "Summarise, please.");
    json_t *red = json_array_get(json_object_get(json_array_get(m, 3), "content"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(red, "type")), "redacted_thinking");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 4), "content")),
                     "Thanks!");
    json_t *tc = json_object_get(v, "tool_choice");
    cr_assert_str_eq(json_string_value(json_object_get(tc, "type")), "any");
    cr_assert(json_is_true(json_object_get(tc, "disable_parallel_tool_use")));
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(v, "thinking"), "budget_tokens")), 1024);
    cr_assert_eq(json_integer_value(json_object_get(v, "top_k")), 40);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "metadata"), "user_id")),
                     "u-77");
    json_decref(v);
    /* and back */
    lx_request *r2 = NULL;
    cr_assert_eq(C->request_decode(b.data, b.len, &r2, &err), LX_OK, "%s", err.message);
    cr_assert_eq(r2->n_messages, r->n_messages);
    for (size_t i = 0; i < r->n_messages; i++) {
        cr_assert_eq(r2->messages[i].role, r->messages[i].role);
        cr_assert_eq(r2->messages[i].n_parts, r->messages[i].n_parts, "message %zu", i);
    }
    lx_request_free(r2);
    lx_buf_free(&b);
    lx_request_free(r);
}

Test(anthropic_request, defaults_json_format_and_generated_ids)
{
    lx_request *r = lx_request_new();
    r->model = "c";
    lx_request_add_text(r, LX_ROLE_USER, "go");
    lx_message *a = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    lx_part *th = lx_message_add_part(r, a, LX_PART_THINKING);
    th->text = "unsigned, from another provider";
    lx_part *p = lx_message_add_part(r, a, LX_PART_TOOL_CALL);
    p->name = "f";
    p->arguments = "{\"q\":1}";
    lx_message *t = lx_request_add_message(r, LX_ROLE_TOOL);
    lx_part *res = lx_message_add_part(r, t, LX_PART_TOOL_RESULT);
    res->name = "f";
    res->text = "done";
    r->format.kind = LX_FORMAT_JSON_SCHEMA;
    r->format.schema = "{\"type\":\"object\"}";
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.default_max_tokens = 777});
    cr_assert_eq(json_integer_value(json_object_get(v, "max_tokens")), 777);
    const char *sys = json_string_value(json_object_get(v, "system"));
    cr_assert(sys && strstr(sys, "JSON") && strstr(sys, "{\"type\":\"object\"}"), "%s", sys);
    json_t *m = json_object_get(v, "messages");
    json_t *blocks = json_object_get(json_array_get(m, 1), "content");
    cr_assert_eq(json_array_size(blocks), 1, "unsigned thinking is dropped");
    const char *id = json_string_value(json_object_get(json_array_get(blocks, 0), "id"));
    json_t *tr = json_array_get(json_object_get(json_array_get(m, 2), "content"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(tr, "tool_use_id")), id);
    json_decref(v);
    v = lx_test_encode_json(C, r, NULL);
    cr_assert_eq(json_integer_value(json_object_get(v, "max_tokens")), 4096);
    json_decref(v);
    r->thinking_budget = 8000;
    v = lx_test_encode_json(C, r, NULL);
    cr_assert(json_integer_value(json_object_get(v, "max_tokens")) > 8000);
    json_decref(v);
    /* an assistant turn left empty (only unsigned thinking) is not sent */
    lx_message *a2 = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    lx_part *th2 = lx_message_add_part(r, a2, LX_PART_THINKING);
    th2->text = "unsigned";
    lx_request_add_text(r, LX_ROLE_USER, "next");
    v = lx_test_encode_json(C, r, NULL);
    m = json_object_get(v, "messages");
    cr_assert_eq(json_array_size(m), 4);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 3), "content")), "next");
    json_decref(v);
    p = &r->messages[1].parts[1];
    p->arguments = "[not an object";
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error err = {0};
    cr_assert_eq(C->request_encode(r, NULL, &b, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages[1].tool_calls[f].arguments"), "%s", err.message);
    lx_buf_free(&b);
    lx_request_free(r);
}

/* ---- responses ----------------------------------------------------------- */

Test(anthropic_response, tool_use_thinking_and_usage)
{
    lx_response *r = lx_test_decode_response_file(
        C, "tests/fixtures/anthropic/response_tool_use.json", LX_OK, NULL);
    cr_assert_str_eq(r->id, "msg_01Aq9w938a90dw8q");
    cr_assert_eq(r->n_parts, 3, "server tool blocks are skipped");
    cr_assert_eq(r->parts[0].kind, LX_PART_THINKING);
    cr_assert_str_eq(r->parts[0].signature, "sig-abc");
    cr_assert_str_eq(r->parts[2].arguments, "{\"city\":\"San Francisco\",\"unit\":\"celsius\"}");
    cr_assert_eq(r->finish, LX_FINISH_TOOL_CALLS);
    cr_assert_eq(r->usage.input, 472);
    cr_assert_eq(r->usage.cache_write, 100);
    cr_assert_eq(r->usage.cache_read, 2000);
    cr_assert_eq(r->usage.output, 89);
    cr_assert_eq(r->usage.reasoning, 0);
    lx_response_free(r);
}

Test(anthropic_response, stop_sequence_and_identity)
{
    const char *paths[] = {"tests/fixtures/anthropic/response_stop_sequence.json",
                           "tests/fixtures/anthropic/response_tool_use.json"};
    for (int k = 0; k < 2; k++) {
        lx_response *r = lx_test_decode_response_file(C, paths[k], LX_OK, NULL);
        if (k == 0) {
            cr_assert_eq(r->finish, LX_FINISH_STOP);
            cr_assert_str_eq(r->stop_sequence, "THE END");
        }
        lx_buf b;
        lx_buf_init(&b, 0);
        cr_assert_eq(C->response_encode(r, NULL, &b, NULL), LX_OK);
        json_t *v = lx_test_parse_json(&b);
        cr_assert_str_eq(json_string_value(json_object_get(v, "type")), "message");
        cr_assert_str_eq(json_string_value(json_object_get(v, "stop_reason")),
                         k == 0 ? "stop_sequence" : "tool_use");
        json_decref(v);
        lx_response *r2 = NULL;
        cr_assert_eq(C->response_decode(b.data, b.len, &r2, NULL), LX_OK);
        lx_test_assert_responses_eq(r, r2);
        if (r->stop_sequence)
            cr_assert_str_eq(r2->stop_sequence, r->stop_sequence);
        lx_buf_free(&b);
        lx_response_free(r2);
        lx_response_free(r);
    }
}

Test(anthropic_response, malformed_is_a_protocol_error)
{
    const char *cases[][2] = {
        {"nope", "invalid JSON"},
        {"{\"id\":\"x\"}", "content: expected an array"},
        {"{\"content\":[{\"type\":\"text\",\"text\":3}]}", "content[0].text: expected a string"},
        {"{\"content\":[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"f\",\"input\":\"x\"}]}",
         "content[0].input: expected an object"},
        {"{\"content\":[{\"type\":\"text\"}]}", "content[0].text: required"},
        {"{\"content\":[],\"usage\":{\"output_tokens\":\"9\"}}", "usage.output_tokens"},
    };
    lx_test_check_bad_responses(C, cases, sizeof cases / sizeof cases[0]);
}

/* ---- stream decoder ------------------------------------------------------- */

Test(anthropic_stream, text_ping_citations_and_usage_replacement)
{
    lx_test_check_stream(&T, "tests/fixtures/anthropic/stream_text.sse", LX_OK,
                         "start msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY claude-opus-4-1\n"
                         "text [Hello]\n"
                         "text [! Ünïcode ✓]\n"
                         "usage in=30 cr=100 cw=0 out=15 rs=0\n"
                         "finish stop -\n",
                         NULL, NULL);
}

Test(anthropic_stream, tool_use_blocks)
{
    lx_test_check_stream(&T, "tests/fixtures/anthropic/stream_tools.sse", LX_OK,
                         "start msg_014p7gG3wDgGV9EUtLvnow3U claude-sonnet-4-5\n"
                         "text [Checking.]\n"
                         "tool_start 0 toolu_01T1 get_weather\n"
                         "tool_args 0 [{\"city\": \"Par]\n"
                         "tool_args 0 [is\"}]\n"
                         "tool_end 0\n"
                         "tool_start 1 toolu_01T2 get_time\n"
                         "tool_args 1 [{\"tz\":\"CET\"}]\n"
                         "tool_end 1\n"
                         "usage in=472 cr=0 cw=0 out=89 rs=0\n"
                         "finish tool_calls -\n",
                         NULL, NULL);
}

Test(anthropic_stream, thinking_with_signature)
{
    lx_test_check_stream(&T, "tests/fixtures/anthropic/stream_thinking.sse", LX_OK,
                         "start msg_th claude-sonnet-4-5\n"
                         "thinking [Let me think] sig=-\n"
                         "thinking [ step by step.] sig=-\n"
                         "thinking [] sig=EqQBCgIYAhIM1gbcDa9GJwZA\n"
                         "text [42]\n"
                         "usage in=50 cr=0 cw=20 out=120 rs=0\n"
                         "finish length -\n",
                         NULL, NULL);
}

Test(anthropic_stream, error_event_after_200)
{
    lx_test_check_stream(&T, "tests/fixtures/anthropic/stream_error.sse", LX_ERR_UPSTREAM,
                         "start msg_err claude-opus-4-1\n"
                         "text [Par]\n",
                         "Overloaded", NULL);
    size_t n;
    char *s = lx_test_load("tests/fixtures/anthropic/stream_error.sse", &n);
    lx_test_rec r = {0};
    lx_error err = {0};
    lx_test_run_stream(&T, s, n, 3, 0, &r, &err);
    cr_assert_str_eq(err.type, "overloaded_error");
    lx_buf_free(&r.log);
    free(s);
}

Test(anthropic_stream, cut_before_message_stop)
{
    lx_test_check_stream(&T, "tests/fixtures/anthropic/stream_cut.sse", LX_ERR_PROTO,
                         "start msg_cut claude-opus-4-1\n"
                         "text [Hi]\n"
                         "text [ there]\n"
                         "usage in=11 cr=0 cw=0 out=3 rs=0\n",
                         "stream ended before message_stop", NULL);
}

Test(anthropic_stream, malformed_event)
{
    lx_test_check_stream(&T, "tests/fixtures/anthropic/stream_malformed.sse", LX_ERR_PROTO,
                         "start msg_m claude\n", "malformed content_block_delta event", NULL);
}

Test(anthropic_stream, protocol_violations)
{
    const char *ms = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n";
    const char *cases[][2] = {
        {"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
         "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
         "content_block_start event before message_start"},
        {"event: message_start\ndata: {\"type\":\"message_start\",\"message\":3}\n\n",
         "message_start.message: expected an object"},
        {"data: {\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"text_delta\","
         "\"text\":\"x\"}}\n\n",
         "block 4, which is not open"},
        {"data: {\"type\":\"content_block_start\",\"index\":\"0\"}\n\n",
         "content_block_start.index: expected an integer"},
        {"data: "
         "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\"}}"
         "\n\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
         "\"input_json_delta\",\"partial_json\":\"{\"}}\n\n",
         "input_json_delta in a block of another type"},
        {"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":5}}\n\n", "stop_reason"},
        {"data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":-3}}\n\n",
         "message_delta.usage.output_tokens"},
        {"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n", "block 0, which is not open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lx_buf in;
        lx_buf_init(&in, 0);
        if (i >= 2)
            lx_buf_puts(&in, ms);
        lx_buf_puts(&in, cases[i][0]);
        lx_test_rec r = {0};
        lx_error err = {0};
        cr_assert_eq(lx_test_run_stream(&T, in.data, in.len, 2, 0, &r, &err), LX_ERR_PROTO,
                     "case %zu: %s", i, err.message);
        cr_assert(strstr(err.message, cases[i][1]), "case %zu: %s", i, err.message);
        lx_buf_free(&r.log);
        lx_buf_free(&in);
    }
}

/* ---- stream encoder -------------------------------------------------------- */

Test(anthropic_stream, encoder_output_decodes_to_the_same_events)
{
    lx_usage u = {.input = 12, .cache_read = 3, .cache_write = 4, .output = 50};
    lx_event evs[] = {
        {.kind = LX_EV_START, .model = "from-start"},
        {.kind = LX_EV_THINKING, .text = "plan", .len = 4},
        {.kind = LX_EV_THINKING, .signature = "SIG"},
        {.kind = LX_EV_TEXT, .text = "Hi", .len = 2},
        {.kind = LX_EV_TEXT, .text = " you", .len = 4},
        {.kind = LX_EV_TOOL_START, .index = 0, .id = "toolu_a", .name = "f"},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "{\"x\":", .len = 5},
        {.kind = LX_EV_TOOL_START, .index = 1, .id = "toolu_b", .name = "g"},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "1}", .len = 2},
        {.kind = LX_EV_TOOL_ARGS, .index = 1, .text = "{}", .len = 2},
        {.kind = LX_EV_TOOL_END, .index = 0},
        {.kind = LX_EV_TEXT, .text = "after", .len = 5},
        {.kind = LX_EV_TOOL_END, .index = 1},
        {.kind = LX_EV_USAGE, .usage = u},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_STOP, .text = "STOP!"},
    };
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_test_encode_events(C, &(lx_codec_opts){.id = "msg_fixed"}, evs, sizeof evs / sizeof evs[0],
                          &out);
    cr_assert(strncmp(out.data, "event: message_start\ndata: {\"type\":\"message_start\"", 50) == 0,
              "%s", out.data);
    cr_assert(strstr(out.data, "\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"STOP!\""));
    cr_assert(strstr(out.data, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    lx_test_rec r = {0};
    lx_error err = {0};
    cr_assert_eq(lx_test_run_stream(&T, out.data, out.len, 7, 0, &r, &err), LX_OK, "%s",
                 err.message);
    cr_assert_str_eq(lx_test_log(&r), "start msg_fixed from-start\n"
                                      "thinking [plan] sig=-\n"
                                      "thinking [] sig=SIG\n"
                                      "text [Hi]\n"
                                      "text [ you]\n"
                                      "tool_start 0 toolu_a f\n"
                                      "tool_args 0 [{\"x\":]\n"
                                      "tool_start 1 toolu_b g\n"
                                      "tool_args 0 [1}]\n"
                                      "tool_args 1 [{}]\n"
                                      "tool_end 0\n"
                                      "text [after]\n"
                                      "tool_end 1\n"
                                      "usage in=12 cr=3 cw=4 out=50 rs=0\n"
                                      "finish stop STOP!\n");
    lx_buf_free(&r.log);
    lx_buf_free(&out);
}

Test(anthropic_stream, encoder_error_event)
{
    lx_error e = {.code = LX_ERR_TIMEOUT};
    lx_strlcpy(e.message, "upstream timed out", sizeof e.message);
    lx_event evs[] = {{.kind = LX_EV_START},
                      {.kind = LX_EV_ERROR, .error = &e},
                      {.kind = LX_EV_TEXT, .text = "late", .len = 4}};
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_test_encode_events(C, &(lx_codec_opts){.model = "m"}, evs, 3, &out);
    cr_assert(strstr(out.data, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                               "\"api_error\",\"message\":\"upstream timed out\"}}\n\n"),
              "%s", out.data);
    cr_assert_null(strstr(out.data, "late"));
    cr_assert_null(strstr(out.data, "message_stop"));
    lx_buf_free(&out);
}

/* ---- errors and HTTP -------------------------------------------------------- */

Test(anthropic_error, decode_and_encode)
{
    size_t n;
    char *s = lx_test_load("tests/fixtures/anthropic/error_overloaded.json", &n);
    lx_error e;
    C->error_decode(529, s, n, &e);
    cr_assert_eq(e.code, LX_ERR_UPSTREAM);
    cr_assert_eq(e.http_status, 529);
    cr_assert_str_eq(e.type, "overloaded_error");
    cr_assert_str_eq(e.message, "Overloaded");
    free(s);
    C->error_decode(500, "\x01\x02garbage", 9, &e);
    cr_assert(strstr(e.message, "HTTP 500: "), "%s", e.message);
    struct {
        lx_status code;
        int http;
        const char *type_in;
        int want;
        const char *type;
    } cases[] = {
        {LX_ERR_INVALID, 0, "", 400, "invalid_request_error"},
        {LX_ERR_NOTFOUND, 0, "", 404, "not_found_error"},
        {LX_ERR_TOOBIG, 0, "", 413, "request_too_large"},
        {LX_ERR_UPSTREAM, 529, "overloaded_error", 529, "overloaded_error"},
        {LX_ERR_UPSTREAM, 429, "tokens", 429, "rate_limit_error"},
        {LX_ERR_UPSTREAM, 403, "", 403, "permission_error"},
        {LX_ERR_UPSTREAM, 0, "", 502, "api_error"},
        {LX_ERR_INTERNAL, 0, "", 500, "api_error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lx_error in = {.code = cases[i].code, .http_status = cases[i].http};
        lx_strlcpy(in.type, cases[i].type_in, sizeof in.type);
        lx_strlcpy(in.message, "why", sizeof in.message);
        lx_buf b;
        lx_buf_init(&b, 0);
        int hs = 0;
        cr_assert_eq(C->error_encode(&in, &hs, &b), LX_OK);
        cr_assert_eq(hs, cases[i].want, "case %zu", i);
        lx_error back;
        C->error_decode(hs, b.data, b.len, &back);
        cr_assert_str_eq(back.type, cases[i].type, "case %zu", i);
        cr_assert_str_eq(back.message, "why");
        lx_buf_free(&b);
    }
}

Test(anthropic_http, prepare_url_and_headers)
{
    lx_buf url, h;
    lx_buf_init(&url, 0);
    lx_buf_init(&h, 0);
    lx_codec_opts o = {.api_key = "sk-ant", .stream = true};
    cr_assert_eq(C->http_prepare(&o, &url, &h, NULL), LX_OK);
    cr_assert_str_eq(url.data, "https://api.anthropic.com/v1/messages");
    cr_assert_str_eq(h.data, "Content-Type: application/json\nanthropic-version: 2023-06-01\n"
                             "x-api-key: sk-ant\nAccept: text/event-stream\n");
    const char *bases[][2] = {
        {"http://proxy:8080/", "http://proxy:8080/v1/messages"},
        {"http://proxy:8080/v1", "http://proxy:8080/v1/messages"},
        {"http://proxy:8080/anthropic/v1/", "http://proxy:8080/anthropic/v1/messages"}};
    for (int i = 0; i < 3; i++) {
        lx_buf_reset(&url);
        lx_buf_reset(&h);
        lx_codec_opts ob = {.base_url = bases[i][0]};
        cr_assert_eq(C->http_prepare(&ob, &url, &h, NULL), LX_OK);
        cr_assert_str_eq(url.data, bases[i][1]);
        cr_assert_null(strstr(h.data, "x-api-key"));
        cr_assert_null(strstr(h.data, "Accept"));
    }
    cr_assert_str_eq(C->name, "anthropic");
    cr_assert_str_eq(C->stream_content_type, "text/event-stream");
    lx_buf_free(&url);
    lx_buf_free(&h);
}

Test(anthropic_stream, encoder_rejoins_split_utf8_and_replaces_bad_bytes)
{
    lx_event evs[] = {
        {.kind = LX_EV_START, .id = "x", .model = "m"},
        {.kind = LX_EV_TEXT, .text = "\xE2\x9C", .len = 2},
        {.kind = LX_EV_TEXT, .text = "\x93 ok", .len = 4},
        {.kind = LX_EV_TEXT, .text = "a\xED\xA0\x80", .len = 4}, /* a surrogate */
        {.kind = LX_EV_THINKING, .text = "\xF0\x9F", .len = 2},
        {.kind = LX_EV_THINKING, .text = "\x98\x80", .len = 2},
        {.kind = LX_EV_TEXT, .text = "\xC3", .len = 1},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_STOP},
    };
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_test_encode_events(C, &(lx_codec_opts){.id = "msg_u"}, evs, sizeof evs / sizeof evs[0],
                          &out);
    lx_test_rec r = {0};
    lx_error err = {0};
    cr_assert_eq(lx_test_run_stream(&T, out.data, out.len, 1, 0, &r, &err), LX_OK, "%s",
                 err.message);
    cr_assert_str_eq(lx_test_log(&r),
                     "start msg_u m\n"
                     "text [\xE2\x9C\x93 ok]\n"
                     "text [a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD]\n"
                     "thinking [\xF0\x9F\x98\x80] sig=-\n"
                     "text [\xEF\xBF\xBD]\n"
                     "usage in=0 cr=0 cw=0 out=0 rs=0\n"
                     "finish stop -\n",
                     "%s", lx_test_log(&r));
    lx_buf_free(&r.log);
    lx_buf_free(&out);
}

Test(anthropic_stream, thinking_block_start_may_carry_text_and_signature)
{
    const char *in =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"t\",\"signature\":\"S\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
        "\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"xyz\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    lx_test_rec r = {0};
    lx_error err = {0};
    cr_assert_eq(lx_test_run_stream(&T, in, strlen(in), 1, 0, &r, &err), LX_OK, "%s", err.message);
    cr_assert_str_eq(lx_test_log(&r), "start m -\n"
                                      "thinking [t] sig=-\n"
                                      "thinking [] sig=S\n"
                                      "finish stop -\n");
    lx_buf_free(&r.log);
}

Test(anthropic_utf8, responses_are_repaired_requests_refused)
{
    lx_response *r = lx_response_new();
    lx_part *p = lx_response_add_part(r, LX_PART_TEXT);
    p->text = "cut \xF0\x9F\x98";
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error err = {0};
    cr_assert_eq(C->response_encode(r, NULL, &b, &err), LX_OK, "%s", err.message);
    lx_response *back = NULL;
    cr_assert_eq(C->response_decode(b.data, b.len, &back, NULL), LX_OK);
    cr_assert_str_eq(lx_response_text(back), "cut \xEF\xBF\xBD");
    lx_response_free(back);
    lx_response_free(r);

    lx_request *q = lx_request_new();
    q->model = "m";
    lx_request_add_text(q, LX_ROLE_SYSTEM, "sys \x80");
    lx_request_add_text(q, LX_ROLE_USER, "hi");
    lx_buf_reset(&b);
    cr_assert_eq(C->request_encode(q, NULL, &b, &err), LX_ERR_INVALID);
    cr_assert_str_eq(err.message, "messages[0].parts[0].text: not valid UTF-8 at byte 4");
    lx_buf_free(&b);
    lx_request_free(q);
}
