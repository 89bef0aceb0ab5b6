/*
 * Ollama native codec: /api/chat requests, responses, NDJSON streams and
 * errors in both directions, and the /api/generate server-side entry points,
 * against fixtures written from the Ollama API reference.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "helpers/codec_test.h"
#include "proto/codec.h"
#include "proto/ollama.h"

static const lx_codec *C = &lx_codec_ollama;
static const lx_test_codec T = {&lx_codec_ollama, LX_TEST_LOG_CALLS};

#define FIX(name) "tests/fixtures/ollama/" name

/* Decodes an /api/generate fixture; it must decode. */
static lx_request *decode_generate_file(const char *path)
{
    size_t len;
    char *body = lx_test_load(path, &len);
    lx_request *r = NULL;
    lx_error err = {0};
    cr_assert_eq(lx_ollama_generate_decode(body, len, &r, &err), LX_OK, "%s: %s", path,
                 err.message);
    free(body);
    return r;
}

/* ---- requests ----------------------------------------------------------- */

Test(ollama_request, decode_chat_fixture)
{
    lx_request *r = lx_test_decode_request_file(C, FIX("chat_request.json"));
    cr_assert_str_eq(r->model, "qwen3:8b");
    cr_assert(r->stream, "stream defaults to true in Ollama");
    cr_assert_eq(r->thinking_budget, LX_OLLAMA_THINK_BUDGET);
    cr_assert_eq(r->n_messages, 6);
    lx_message *m = r->messages;
    cr_assert_eq(m[0].role, LX_ROLE_SYSTEM);
    cr_assert_eq(m[1].role, LX_ROLE_USER);
    cr_assert_eq(m[1].n_parts, 2);
    cr_assert_eq(m[1].parts[1].kind, LX_PART_IMAGE);
    cr_assert_str_eq(m[1].parts[1].media_type, "image/png");
    cr_assert_eq(m[2].role, LX_ROLE_ASSISTANT);
    cr_assert_eq(m[2].n_parts, 2);
    cr_assert_eq(m[2].parts[0].kind, LX_PART_THINKING);
    cr_assert_eq(m[2].parts[1].kind, LX_PART_TOOL_CALL);
    cr_assert_null(m[2].parts[1].id);
    cr_assert_str_eq(m[2].parts[1].arguments, "{\"location\":\"Toronto\",\"format\":\"celsius\"}");
    cr_assert_eq(m[3].role, LX_ROLE_TOOL);
    cr_assert_eq(m[3].parts[0].kind, LX_PART_TOOL_RESULT);
    cr_assert_str_eq(m[3].parts[0].name, "get_current_weather");
    cr_assert_str_eq(m[3].parts[0].text, "{\"temperature\": 11, \"conditions\": \"cloudy\"}");
    cr_assert_eq(r->n_tools, 1);
    cr_assert_str_eq(r->tools[0].name, "get_current_weather");
    cr_assert_eq(r->format.kind, LX_FORMAT_JSON_SCHEMA);
    cr_assert_eq(r->sampling.max_tokens, 256);
    cr_assert_float_eq(r->sampling.temperature, 0.2, 1e-9);
    cr_assert_eq(r->sampling.top_k, 20);
    cr_assert_eq(r->sampling.seed, 42);
    cr_assert_eq(r->sampling.n_stop, 1);
    cr_assert_str_eq(r->sampling.stop[0], "<|end|>");
    lx_request_free(r);
}

Test(ollama_request, encode_of_decoded_fixture_is_the_fixture)
{
    size_t len;
    char *body = lx_test_load(FIX("chat_request.json"), &len);
    lx_request *r = NULL;
    cr_assert_eq(C->request_decode(body, len, &r, NULL), LX_OK);
    json_t *got = lx_test_encode_json(
        C, r, &(lx_codec_opts){.model = "qwen3:8b", .stream = true, .num_ctx = 8192});
    json_error_t je;
    json_t *want = json_loadb(body, len, 0, &je);
    json_object_del(want, "keep_alive"); /* not carried by the neutral request */
    json_object_set_new(want, "stream", json_true());
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert(json_equal(got, want), "\n got %s\nwant %s", g, w);
    char *wire = json_dumps(got, JSON_COMPACT);
    lx_request *r2 = NULL;
    cr_assert_eq(C->request_decode(wire, strlen(wire), &r2, NULL), LX_OK);
    lx_test_assert_requests_eq(r, r2);
    cr_assert_str_eq(r2->model, "qwen3:8b");
    cr_assert(r2->stream);
    free(wire);
    free(g);
    free(w);
    json_decref(got);
    json_decref(want);
    lx_request_free(r);
    lx_request_free(r2);
    free(body);
}

Test(ollama_request, num_ctx_is_always_sent_and_stream_is_explicit)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "hi");
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m", .num_ctx = 32768});
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(v, "options"), "num_ctx")),
                 32768);
    cr_assert(json_is_false(json_object_get(v, "stream")));
    cr_assert_null(json_object_get(v, "think"));
    cr_assert_null(json_object_get(v, "tools"));
    json_decref(v);
    v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m", .stream = true});
    cr_assert_null(json_object_get(v, "options"));
    cr_assert(json_is_true(json_object_get(v, "stream")));
    json_decref(v);
    /* with sampling options too */
    r->sampling.max_tokens = 10;
    r->sampling.has_top_p = true;
    r->sampling.top_p = 0.5;
    r->format.kind = LX_FORMAT_JSON;
    v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m", .num_ctx = 4096});
    json_t *o = json_object_get(v, "options");
    cr_assert_eq(json_integer_value(json_object_get(o, "num_ctx")), 4096);
    cr_assert_eq(json_integer_value(json_object_get(o, "num_predict")), 10);
    cr_assert_str_eq(json_string_value(json_object_get(v, "format")), "json");
    json_decref(v);
    /* the model: opts win over the request; none at all is an error */
    r->model = "from-request";
    v = lx_test_encode_json(C, r, &(lx_codec_opts){0});
    cr_assert_str_eq(json_string_value(json_object_get(v, "model")), "from-request");
    json_decref(v);
    r->model = NULL;
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){0}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "model"));
    lx_buf_free(&out);
    lx_request_free(r);
}

static lx_request *tool_conversation(void)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "Weather and time?");
    lx_message *a = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    lx_test_add_part(r, a, LX_PART_TEXT, "Checking.");
    lx_part *c1 = lx_test_add_part(r, a, LX_PART_TOOL_CALL, NULL);
    c1->id = "call_A";
    c1->name = "get_weather";
    c1->arguments = "{\"city\":\"Oslo\"}";
    lx_part *c2 = lx_test_add_part(r, a, LX_PART_TOOL_CALL, NULL);
    c2->id = "call_B";
    c2->name = "get_time";
    c2->arguments = NULL;
    lx_message *t = lx_request_add_message(r, LX_ROLE_TOOL);
    lx_test_add_part(r, t, LX_PART_TOOL_RESULT, "12:00")->id = "call_B";
    lx_test_add_part(r, t, LX_PART_TOOL_RESULT, "-3 C")->id = "call_A";
    return r;
}

Test(ollama_request, tool_names_by_id_and_by_order)
{
    lx_request *r = tool_conversation();
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    json_t *msgs = json_object_get(v, "messages");
    cr_assert_eq(json_array_size(msgs), 4);
    json_t *asst = json_array_get(msgs, 1);
    cr_assert_str_eq(json_string_value(json_object_get(asst, "content")), "Checking.");
    json_t *calls = json_object_get(asst, "tool_calls");
    cr_assert_eq(json_array_size(calls), 2);
    cr_assert_eq(json_object_size(json_object_get(
                     json_object_get(json_array_get(calls, 1), "function"), "arguments")),
                 0);
    cr_assert_null(json_object_get(json_array_get(calls, 0), "id"));
    json_t *t0 = json_array_get(msgs, 2), *t1 = json_array_get(msgs, 3);
    cr_assert_str_eq(json_string_value(json_object_get(t0, "role")), "tool");
    cr_assert_str_eq(json_string_value(json_object_get(t0, "tool_name")), "get_time");
    cr_assert_str_eq(json_string_value(json_object_get(t1, "tool_name")), "get_weather");
    json_decref(v);

    /* by order, with an error result */
    r->messages[2].parts[0].id = NULL;
    r->messages[2].parts[1].id = NULL;
    r->messages[2].parts[1].is_error = true;
    v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    msgs = json_object_get(v, "messages");
    t0 = json_array_get(msgs, 2);
    t1 = json_array_get(msgs, 3);
    cr_assert_str_eq(json_string_value(json_object_get(t0, "tool_name")), "get_weather");
    cr_assert_str_eq(json_string_value(json_object_get(t1, "tool_name")), "get_time");
    cr_assert_str_eq(json_string_value(json_object_get(t1, "content")), "error: -3 C");
    json_decref(v);

    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    r->messages[2].parts[0].id = "nope";
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages[2].parts[0]"), "%s", err.message);
    r->messages[2].parts[0].id = NULL;
    lx_test_add_part(r, &r->messages[2], LX_PART_TOOL_RESULT, "extra");
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages[2].parts[2]"), "%s", err.message);
    r->messages[2].n_parts = 2;
    r->messages[1].parts[1].arguments = "[1,2]";
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "get_weather"), "%s", err.message);
    lx_buf_free(&out);
    lx_request_free(r);
}

Test(ollama_request, images_tools_and_choices)
{
    lx_request *r = lx_request_new();
    lx_message *m = lx_request_add_message(r, LX_ROLE_USER);
    lx_test_add_part(r, m, LX_PART_TEXT, "one");
    lx_test_add_part(r, m, LX_PART_TEXT, "two");
    lx_part *img = lx_test_add_part(r, m, LX_PART_IMAGE, NULL);
    img->url = "data:image/png;base64,iVBORxyz";
    lx_tool *t = lx_request_add_tool(r);
    t->name = "a";
    t = lx_request_add_tool(r);
    t->name = "b";
    t->description = "B";
    t->parameters = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}";
    r->thinking_budget = 100;
    json_t *v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    json_t *msg = json_array_get(json_object_get(v, "messages"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(msg, "content")), "one\ntwo");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(msg, "images"), 0)),
                     "iVBORxyz");
    json_t *tools = json_object_get(v, "tools");
    cr_assert_eq(json_array_size(tools), 2);
    json_t *fa = json_object_get(json_array_get(tools, 0), "function");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(fa, "parameters"), "type")),
                     "object");
    cr_assert(json_is_true(json_object_get(v, "think")));
    json_decref(v);
    r->tool_choice.kind = LX_TOOL_CHOICE_NONE;
    v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    cr_assert_null(json_object_get(v, "tools"));
    json_decref(v);
    r->tool_choice.kind = LX_TOOL_CHOICE_NAMED;
    r->tool_choice.name = "b";
    v = lx_test_encode_json(C, r, &(lx_codec_opts){.model = "m"});
    tools = json_object_get(v, "tools");
    cr_assert_eq(json_array_size(tools), 1);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(tools, 0), "function"), "name")),
                     "b");
    json_decref(v);
    /* images on other roles round-trip too */
    const char *ai = "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":"
                     "\"drawn\",\"images\":[\"R0lGODlh\"]}]}";
    lx_request *dec = lx_test_decode_request(C, ai, LX_OK, NULL);
    cr_assert_str_eq(dec->messages[0].parts[1].media_type, "image/gif");
    json_t *enc = lx_test_encode_json(C, dec, &(lx_codec_opts){.model = "m"});
    cr_assert_str_eq(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(enc, "messages"), 0), "images"), 0)),
        "R0lGODlh");
    json_decref(enc);
    lx_request_free(dec);
    /* a URL image cannot go to Ollama */
    img->url = "https://example.com/cat.png";
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    cr_assert_eq(C->request_encode(r, &(lx_codec_opts){.model = "m"}, &out, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "messages[0].parts[2]"), "%s", err.message);
    cr_assert(strstr(err.message, "base64"), "%s", err.message);
    lx_buf_free(&out);
    lx_request_free(r);
}

Test(ollama_request, decode_generate)
{
    lx_request *r = decode_generate_file(FIX("generate_request.json"));
    cr_assert_str_eq(r->model, "llava:7b");
    cr_assert_not(r->stream);
    cr_assert_eq(r->n_messages, 2);
    cr_assert_eq(r->messages[0].role, LX_ROLE_SYSTEM);
    cr_assert_str_eq(r->messages[0].parts[0].text, "You are terse.");
    cr_assert_eq(r->messages[1].role, LX_ROLE_USER);
    cr_assert_eq(r->messages[1].n_parts, 2);
    cr_assert_str_eq(r->messages[1].parts[0].text, "Describe this picture in one sentence.");
    cr_assert_str_eq(r->messages[1].parts[1].media_type, "image/jpeg");
    cr_assert_eq(r->format.kind, LX_FORMAT_JSON);
    cr_assert(r->sampling.has_temperature);
    cr_assert_float_eq(r->sampling.temperature, 0.0, 1e-12);
    cr_assert_eq(r->sampling.max_tokens, 0);
    cr_assert_str_eq(r->sampling.stop[0], "\n\n");
    lx_request_free(r);
    lx_request *x = NULL;
    lx_error err;
    const char *b = "{\"model\":\"m\",\"prompt\":\"def f(\",\"suffix\":\"    return x\"}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "suffix"), "%s", err.message);
    cr_assert_null(x);
    b = "{\"model\":\"m\",\"prompt\":\"p\",\"context\":[1,2,3]}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "context"), "%s", err.message);
    b = "{\"prompt\":\"p\"}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "model"), "%s", err.message);
    b = "{\"model\":\"m\",\"prompt\":\"p\",\"images\":[1]}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "images[0]"), "%s", err.message);
    b = "{\"model\":\"m\",\"prompt\":\"p\",\"suffix\":\"\",\"think\":\"high\"}";
    cr_assert_eq(lx_ollama_generate_decode(b, strlen(b), &x, &err), LX_OK, "%s", err.message);
    cr_assert(x->stream);
    cr_assert_eq(x->thinking_budget, 2 * LX_OLLAMA_THINK_BUDGET);
    lx_request_free(x);
}

Test(ollama_request, decode_errors_name_the_field)
{
    lx_test_decode_request(C, "{\"model\":\"m\",\"messages\":[", LX_ERR_INVALID, "invalid JSON");
    lx_test_decode_request(C, "{\"messages\":[]}", LX_ERR_INVALID, "model: required");
    lx_test_decode_request(C, "{\"model\":\"m\",\"messages\":{}}", LX_ERR_INVALID,
                           "messages: expected an array");
    lx_test_decode_request(
        C, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},5]}",
        LX_ERR_INVALID, "messages[1]: expected an object");
    lx_test_decode_request(C,
                           "{\"model\":\"m\",\"messages\":[{\"role\":\"bot\",\"content\":\"a\"}]}",
                           LX_ERR_INVALID, "messages[0].role");
    lx_test_decode_request(C, "{\"model\":\"m\",\"messages\":[{\"content\":\"a\"}]}",
                           LX_ERR_INVALID, "messages[0].role: required");
    lx_test_decode_request(C, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":7}]}",
                           LX_ERR_INVALID, "messages[0].content");
    lx_test_decode_request(
        C,
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\",\"images\":"
        "[\"a\",null]}]}",
        LX_ERR_INVALID, "messages[0].images[1]");
    lx_test_decode_request(
        C, "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{}]}]}",
        LX_ERR_INVALID, "messages[0].tool_calls[0].function: expected an object");
    lx_test_decode_request(
        C,
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":"
        "{\"name\":\"f\",\"arguments\":[1]}}]}]}",
        LX_ERR_INVALID, "messages[0].tool_calls[0].function.arguments");
    lx_test_decode_request(C,
                           "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"tool_calls\":[]}]}",
                           LX_ERR_INVALID, "messages[0].tool_calls");
    lx_test_decode_request(C, "{\"model\":\"m\",\"options\":{\"stop\":[\"a\",2]}}", LX_ERR_INVALID,
                           "options.stop[1]");
    lx_test_decode_request(C, "{\"model\":\"m\",\"options\":{\"temperature\":\"warm\"}}",
                           LX_ERR_INVALID, "options.temperature");
    lx_test_decode_request(C, "{\"model\":\"m\",\"options\":[]}", LX_ERR_INVALID,
                           "options: expected an object");
    lx_test_decode_request(C, "{\"model\":\"m\",\"think\":\"extreme\"}", LX_ERR_INVALID, "think");
    lx_test_decode_request(C, "{\"model\":\"m\",\"stream\":\"yes\"}", LX_ERR_INVALID, "stream");
    lx_test_decode_request(C, "{\"model\":\"m\",\"format\":\"xml\"}", LX_ERR_INVALID, "format");
    lx_test_decode_request(C,
                           "{\"model\":\"m\",\"tools\":[{\"type\":\"retrieval\",\"function\":{}}]}",
                           LX_ERR_INVALID, "tools[0].type");
    lx_test_decode_request(
        C, "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"parameters\":{}}}]}",
        LX_ERR_INVALID, "tools[0].function.name: required");
    lx_request *r =
        lx_test_decode_request(C,
                               "{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":"
                               "\"assistant\",\"content\":\"x\",\"tool_calls\":[{\"function\":"
                               "{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}]}",
                               LX_OK, NULL);
    cr_assert_not(r->stream);
    cr_assert_eq(r->messages[0].n_parts, 2);
    cr_assert_str_eq(r->messages[0].parts[1].arguments, "{\"a\":1}");
    lx_request_free(r);
}

/* ---- http --------------------------------------------------------------- */

Test(ollama_http, url_and_headers)
{
    lx_buf url, hdr;
    lx_buf_init(&url, 0);
    lx_buf_init(&hdr, 0);
    lx_error err;
    cr_assert_eq(C->http_prepare(&(lx_codec_opts){.model = "m"}, &url, &hdr, &err), LX_OK);
    cr_assert_str_eq(url.data, "http://localhost:11434/api/chat");
    cr_assert_str_eq(hdr.data, "Content-Type: application/json\n");
    lx_buf_reset(&url);
    lx_buf_reset(&hdr);
    cr_assert_eq(C->http_prepare(&(lx_codec_opts){.base_url = "https://ollama.example/",
                                                  .api_key = "sekrit",
                                                  .stream = true},
                                 &url, &hdr, &err),
                 LX_OK);
    cr_assert_str_eq(url.data, "https://ollama.example/api/chat");
    cr_assert_str_eq(hdr.data, "Content-Type: application/json\nAuthorization: Bearer sekrit\n");
    cr_assert_eq(C->http_prepare(&(lx_codec_opts){.api_key = "a\nb"}, &url, &hdr, &err),
                 LX_ERR_INVALID);
    lx_buf_free(&url);
    lx_buf_free(&hdr);
    cr_assert_str_eq(C->stream_content_type, "application/x-ndjson");
    cr_assert_eq(lx_codec_find("ollama"), C);
}

/* ---- responses ---------------------------------------------------------- */

Test(ollama_response, chat_with_thinking)
{
    lx_response *r = lx_test_decode_response_file(C, FIX("chat_response.json"), LX_OK, NULL);
    cr_assert_str_eq(r->model, "qwen3:8b");
    cr_assert_null(r->id);
    cr_assert_eq(r->created, 1721680408);
    cr_assert_eq(r->n_parts, 2);
    cr_assert_eq(r->parts[0].kind, LX_PART_THINKING);
    cr_assert_str_eq(r->parts[0].text, "A greeting; answer politely.");
    cr_assert_str_eq(lx_response_text(r), "Hello! How are you today?");
    cr_assert_eq(r->finish, LX_FINISH_STOP);
    cr_assert(r->has_usage);
    cr_assert_eq(r->usage.input, 26);
    cr_assert_eq(r->usage.output, 298);
    cr_assert_eq(r->usage.cache_read + r->usage.reasoning + r->usage.cache_write, 0);
    lx_response_free(r);
}

Test(ollama_response, tool_calls_and_identity)
{
    lx_response *r = lx_test_decode_response_file(C, FIX("chat_response_tools.json"), LX_OK, NULL);
    cr_assert_eq(r->created, 1735794245);
    cr_assert_eq(r->n_parts, 2);
    cr_assert_eq(r->parts[0].kind, LX_PART_TOOL_CALL);
    cr_assert_null(r->parts[0].id);
    cr_assert_str_eq(r->parts[0].name, "get_current_weather");
    cr_assert_str_eq(r->parts[0].arguments, "{\"location\":\"Paris, FR\",\"format\":\"celsius\"}");
    cr_assert_str_eq(r->parts[1].arguments, "{}");
    cr_assert_eq(r->finish, LX_FINISH_TOOL_CALLS);
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    cr_assert_eq(C->response_encode(r, &(lx_codec_opts){0}, &out, &err), LX_OK);
    lx_response *r2 = NULL;
    cr_assert_eq(C->response_decode(out.data, out.len, &r2, &err), LX_OK, "%s", err.message);
    lx_test_assert_responses_eq(r, r2);
    cr_assert_eq(r2->created, r->created);
    cr_assert(strstr(out.data, "\"done\":true"));
    cr_assert(strstr(out.data, "\"done_reason\":\"stop\""));
    cr_assert(strstr(out.data, "\"created_at\":\"2025-01-02T05:04:05.000000000Z\""), "%s",
              out.data);
    lx_buf_free(&out);
    lx_response_free(r);
    lx_response_free(r2);
}

Test(ollama_response, generate_error_and_garbage)
{
    const char *g = "{\"model\":\"m\",\"response\":\"The end.\",\"thinking\":\"hm\",\"done\":true,"
                    "\"done_reason\":\"length\",\"prompt_eval_count\":3,\"eval_count\":4}";
    lx_response *r = NULL;
    lx_error err;
    cr_assert_eq(C->response_decode(g, strlen(g), &r, &err), LX_OK);
    cr_assert_eq(r->n_parts, 2);
    cr_assert_str_eq(lx_response_text(r), "The end.");
    cr_assert_eq(r->finish, LX_FINISH_LENGTH);
    lx_response_free(r);
    const char *e = "{\"error\":\"model 'x' not found\"}";
    cr_assert_eq(C->response_decode(e, strlen(e), &r, &err), LX_ERR_UPSTREAM);
    cr_assert_str_eq(err.message, "model 'x' not found");
    cr_assert_str_eq(err.provider, "ollama");
    const char *bad[][2] = {
        {"{\"message\":3}", "message: expected an object"},
        {"{\"message\":{\"content\":1}}", "message.content"},
        {"{\"message\":{\"tool_calls\":{}}}", "message.tool_calls"},
        {"{\"message\":{\"tool_calls\":[{\"function\":{\"arguments\":{}}}]}}",
         "message.tool_calls[0].function.name"},
        {"{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":5}}]}}",
         "arguments"},
        {"{\"eval_count\":\"many\"}", "eval_count"},
        {"{\"eval_count\":-5}", "eval_count"},
        {"{\"created_at\":5}", "created_at"},
        {"", "invalid JSON"},
    };
    lx_test_check_bad_responses(C, bad, sizeof bad / sizeof bad[0]);
}

/* ---- streams ------------------------------------------------------------ */

Test(ollama_stream, chat)
{
    lx_test_check_stream(&T, FIX("stream_chat.ndjson"), LX_OK,
                         "start(-,llama3.2) text(The) text( sky is) text( blue ✓) "
                         "usage(in=26,cr=0,cw=0,out=282,rs=0) finish(stop) ",
                         NULL, NULL);
}

Test(ollama_stream, tool_calls)
{
    lx_test_check_stream(
        &T, FIX("stream_tools.ndjson"), LX_OK,
        "start(-,qwen3:8b) thinking(Need the weather.|-) "
        "tool_start(0,-,get_current_weather) "
        "tool_args(0,{\"location\":\"Toronto\",\"format\":\"celsius\"}) tool_end(0) "
        "tool_start(1,-,get_time) tool_args(1,{}) tool_end(1) "
        "tool_start(2,-,get_news) tool_args(2,{\"topic\":\"rain\",\"n\":[1,2]}) tool_end(2) "
        "usage(in=190,cr=0,cw=0,out=45,rs=0) finish(tool_calls) ",
        NULL, NULL);
}

Test(ollama_stream, thinking_and_length)
{
    lx_test_check_stream(&T, FIX("stream_thinking.ndjson"), LX_OK,
                         "start(-,deepseek-r1:7b) thinking(Let me|-) thinking( count.|-) "
                         "text(Three) usage(in=12,cr=0,cw=0,out=64,rs=0) finish(length) ",
                         NULL, NULL);
}

Test(ollama_stream, generate_lines)
{
    lx_test_check_stream(&T, FIX("stream_generate.ndjson"), LX_OK,
                         "start(-,llama3.2) text(The) text( end.) "
                         "usage(in=26,cr=0,cw=0,out=259,rs=0) finish(stop) ",
                         NULL, NULL);
}

Test(ollama_stream, error_line)
{
    lx_error err;
    lx_test_check_stream(&T, FIX("stream_error.ndjson"), LX_ERR_UPSTREAM,
                         "start(-,llama3.2) text(Par) ", NULL, &err);
    cr_assert_str_eq(err.message,
                     "an error was encountered while running the model: unexpected EOF");
    cr_assert_str_eq(err.provider, "ollama");
}

Test(ollama_stream, cut_stream)
{
    lx_error err;
    lx_test_check_stream(&T, FIX("stream_cut.ndjson"), LX_ERR_PROTO,
                         "start(-,llama3.2) text(Cut) text( off) ", NULL, &err);
    cr_assert_str_eq(err.message, "stream ended before done:true");
}

Test(ollama_stream, malformed_line)
{
    lx_error err;
    lx_test_check_stream(&T, FIX("stream_malformed.ndjson"), LX_ERR_PROTO,
                         "start(-,llama3.2) text(ok) ", NULL, &err);
    cr_assert(strstr(err.message, "invalid JSON"), "%s", err.message);
}

Test(ollama_stream, garbage_and_refusal)
{
    const char *cases[][2] = {
        {"[1]\n", "expected a JSON object"},
        {"{\"message\":\"hi\"}\n", "message: expected an object"},
        {"{\"message\":{\"content\":[1]}}\n", "message.content"},
        {"{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"nope\"}}]}}"
         "\n",
         "arguments"},
        {"{\"done\":\"yes\"}\n", "done"},
        {"{\"done\":true,\"done_reason\":5}\n", "done_reason"},
        {"{\"done\":true,\"eval_count\":1.5}\n", "eval_count"},
    };
    lx_test_check_bad_streams(&T, cases, sizeof cases / sizeof cases[0], 0);
    /* lines after done are ignored; FINISH stays last */
    const char *after = "{\"done\":true}\n{\"message\":{\"content\":\"late\"}}\n";
    lx_test_rec r = {0};
    lx_error err;
    cr_assert_eq(lx_test_run_stream(&T, after, strlen(after), 0, 0, &r, &err), LX_OK);
    cr_assert_str_eq(r.log.data, "start(-,-) finish(stop) ");
    lx_buf_free(&r.log);
    size_t len;
    char *data = lx_test_load(FIX("stream_chat.ndjson"), &len);
    lx_test_rec q = {.refuse_at = 3};
    cr_assert_eq(lx_test_run_stream(&T, data, len, 0, 0, &q, &err), LX_ERR_CANCELLED);
    cr_assert_eq(q.count, 3);
    lx_buf_free(&q.log);
    free(data);
}

Test(ollama_stream, encode_decode_identity)
{
    lx_response *r = lx_test_decode_response_file(C, FIX("chat_response_tools.json"), LX_OK, NULL);
    lx_part *t = lx_response_add_part(r, LX_PART_TEXT);
    t->text = "Done \"quoted\"\n";
    lx_buf wire;
    lx_buf_init(&wire, 0);
    lx_response *back = lx_test_stream_roundtrip(C, r, &(lx_codec_opts){.model = "x"}, &wire);
    r->created = 0;
    lx_test_assert_responses_eq(r, back);
    /* every line is one JSON object; the last one is done:true with counts and durations */
    char *save = NULL, *copy = strdup(wire.data), *last = NULL;
    int lines = 0;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *v = json_loads(l, 0, &je);
        cr_assert(json_is_object(v), "line %d: %s", lines, l);
        const char *ca = json_string_value(json_object_get(v, "created_at"));
        cr_assert(ca && strlen(ca) == 30 && ca[19] == '.' && ca[29] == 'Z', "created_at %s", ca);
        json_decref(v);
        last = l;
        lines++;
    }
    cr_assert_eq(lines, 4); /* two tool lines, one text line, the final line */
    json_error_t je;
    json_t *fin = json_loads(last, 0, &je);
    cr_assert(json_is_true(json_object_get(fin, "done")));
    cr_assert_eq(json_integer_value(json_object_get(fin, "prompt_eval_count")), 122);
    cr_assert_eq(json_integer_value(json_object_get(fin, "eval_count")), 33);
    json_int_t total = json_integer_value(json_object_get(fin, "total_duration"));
    json_int_t pe = json_integer_value(json_object_get(fin, "prompt_eval_duration"));
    json_int_t ev = json_integer_value(json_object_get(fin, "eval_duration"));
    cr_assert(pe >= 0 && ev >= 0 && total == pe + ev, "%lld %lld %lld", (long long)total,
              (long long)pe, (long long)ev);
    cr_assert_str_eq(json_string_value(json_object_get(fin, "model")), "llama3.2");
    json_decref(fin);
    free(copy);
    lx_response_free(back);
    lx_response_free(r);
    lx_buf_free(&wire);
}

/* The lines of an encoded stream with created_at and durations blanked. */
static char *normalised_lines(const lx_buf *wire)
{
    lx_buf n;
    lx_buf_init(&n, 0);
    char *copy = strdup(wire->data), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *v = json_loads(l, 0, &je);
        cr_assert(json_is_object(v), "%s", l);
        const char *keys[] = {"created_at", "total_duration", "prompt_eval_duration",
                              "eval_duration"};
        for (size_t i = 0; i < 4; i++)
            if (json_object_get(v, keys[i]))
                json_object_set_new(v, keys[i], json_string("*"));
        char *d = json_dumps(v, JSON_COMPACT);
        lx_buf_printf(&n, "%s\n", d);
        free(d);
        json_decref(v);
    }
    free(copy);
    return lx_buf_steal(&n, NULL);
}

Test(ollama_stream, encoder_wire_shape)
{
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_usage u = {.input = 3, .cache_read = 4, .output = 5, .reasoning = 6};
    const lx_event evs[] = {
        {.kind = LX_EV_START, .model = "llama3.2"},
        {.kind = LX_EV_THINKING, .text = "hm", .len = 2},
        {.kind = LX_EV_TEXT, .text = "Hi", .len = 2},
        {.kind = LX_EV_TOOL_START, .index = 0, .id = "ignored", .name = "f"},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "{\"a\":", .len = 5},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "1}", .len = 2},
        {.kind = LX_EV_TOOL_END, .index = 0},
        {.kind = LX_EV_USAGE, .usage = u},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_TOOL_CALLS},
    };
    lx_test_encode_events(C, &(lx_codec_opts){.model = "asked"}, evs, sizeof evs / sizeof evs[0],
                          &out);
    char *got = normalised_lines(&out);
#define PRE "{\"model\":\"llama3.2\",\"created_at\":\"*\",\"message\":{\"role\":\"assistant\","
    cr_assert_str_eq(
        got,
        PRE "\"content\":\"\",\"thinking\":\"hm\"},\"done\":false}\n" PRE
            "\"content\":\"Hi\"},\"done\":false}\n" PRE
            "\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":"
            "{\"a\":1}}}]},\"done\":false}\n" PRE
            "\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":\"*\","
            "\"load_duration\":0,\"prompt_eval_count\":7,\"prompt_eval_duration\":\"*\","
            "\"eval_count\":11,\"eval_duration\":\"*\"}\n");
#undef PRE
    free(got);
    lx_buf_free(&out);
}

Test(ollama_stream, generate_encoder_and_errors)
{
    lx_stream_encoder *e = lx_ollama_generate_stream_encoder_new(&(lx_codec_opts){.model = "g"});
    lx_buf out;
    lx_buf_init(&out, 0);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_START}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_THINKING, .text = "t", .len = 1}, &out),
                 LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_THINKING, .signature = "s"}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_TEXT, .text = "hi", .len = 2}, &out), LX_OK);
    lx_usage u = {.input = 1, .cache_read = 2, .output = 3, .reasoning = 4};
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_USAGE, .usage = u}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_FINISH, .finish = LX_FINISH_LENGTH}, &out),
                 LX_OK);
    cr_assert_neq(e->event(e, &(lx_event){.kind = LX_EV_TEXT, .text = "x", .len = 1}, &out), LX_OK);
    e->free(e);
    lx_test_rec r = {0};
    lx_error err;
    cr_assert_eq(lx_test_run_stream(&T, out.data, out.len, 0, 0, &r, &err), LX_OK, "%s",
                 err.message);
    cr_assert_str_eq(r.log.data, "start(-,g) thinking(t|-) text(hi) "
                                 "usage(in=3,cr=0,cw=0,out=7,rs=0) finish(length) ");
    cr_assert(strstr(out.data, "\"response\":\"hi\""));
    cr_assert_null(strstr(out.data, "\"message\""));
    lx_buf_free(&r.log);

    /* an ERROR event becomes an error line */
    lx_buf_reset(&out);
    e = C->stream_encoder_new(&(lx_codec_opts){.model = "m"});
    lx_error er = {0};
    lx_fail(&er, LX_ERR_UPSTREAM, "boom \"x\"");
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_TEXT, .text = "a", .len = 1}, &out), LX_OK);
    cr_assert_eq(e->event(e, &(lx_event){.kind = LX_EV_ERROR, .error = &er}, &out), LX_OK);
    e->free(e);
    lx_test_rec r2 = {0};
    cr_assert_eq(lx_test_run_stream(&T, out.data, out.len, 0, 0, &r2, &err), LX_ERR_UPSTREAM);
    cr_assert_str_eq(err.message, "boom \"x\"");
    lx_buf_free(&r2.log);

    /* whole generate answers */
    lx_response *resp = lx_test_decode_response_file(C, FIX("chat_response.json"), LX_OK, NULL);
    lx_buf_reset(&out);
    cr_assert_eq(lx_ollama_generate_response_encode(resp, NULL, &out, &err), LX_OK);
    lx_response *back = NULL;
    cr_assert_eq(C->response_decode(out.data, out.len, &back, &err), LX_OK);
    cr_assert(strstr(out.data, "\"response\":\"Hello! How are you today?\""), "%s", out.data);
    lx_test_assert_responses_eq(resp, back);
    lx_response_free(resp);
    lx_response_free(back);
    lx_buf_free(&out);
}

/* ---- errors ------------------------------------------------------------- */

Test(ollama_error, decode_and_encode)
{
    size_t len;
    char *body = lx_test_load(FIX("error.json"), &len);
    lx_error err;
    C->error_decode(404, body, len, &err);
    cr_assert_eq(err.code, LX_ERR_UPSTREAM);
    cr_assert_eq(err.http_status, 404);
    cr_assert_str_eq(err.provider, "ollama");
    cr_assert_str_eq(err.type, "not_found");
    cr_assert_str_eq(err.message, "model \"llama9\" not found, try pulling it first");
    free(body);
    C->error_decode(500, "panic: runtime error\n\tgoroutine 1", 33, &err);
    cr_assert(strstr(err.message, "panic: runtime error"), "%s", err.message);
    cr_assert_null(strchr(err.message, '\n'));
    lx_buf out;
    lx_buf_init(&out, 0);
    int http = 0;
    lx_error e = {0};
    lx_fail(&e, LX_ERR_INVALID, "messages[0].role: bad");
    cr_assert_eq(C->error_encode(&e, &http, &out), LX_OK);
    cr_assert_eq(http, 400);
    cr_assert_str_eq(out.data, "{\"error\":\"messages[0].role: bad\"}");
    lx_error back;
    C->error_decode(http, out.data, out.len, &back);
    cr_assert_str_eq(back.message, "messages[0].role: bad");
    lx_buf_reset(&out);
    e.http_status = 429;
    cr_assert_eq(C->error_encode(&e, &http, &out), LX_OK);
    cr_assert_eq(http, 429);
    lx_buf_free(&out);
}

/* ---- across dialects ---------------------------------------------------- */

Test(ollama_cross, openai_conversation_to_ollama)
{
    size_t len;
    char *body = lx_test_load("tests/fixtures/openai/request_full.json", &len);
    lx_request *oa = NULL;
    lx_error err;
    cr_assert_eq(lx_codec_openai.request_decode(body, len, &oa, &err), LX_OK, "%s", err.message);
    /* the https image cannot travel to Ollama */
    lx_buf out;
    lx_buf_init(&out, 0);
    cr_assert_eq(C->request_encode(oa, &(lx_codec_opts){.model = "llama3.2"}, &out, &err),
                 LX_ERR_INVALID);
    cr_assert(strstr(err.message, "base64"), "%s", err.message);
    /* without it the conversation goes through, tool results named by call id */
    for (size_t i = 0; i < oa->n_messages; i++) {
        lx_message *m = &oa->messages[i];
        for (size_t j = 0; j < m->n_parts; j++)
            if (m->parts[j].kind == LX_PART_IMAGE && m->parts[j].url &&
                strncmp(m->parts[j].url, "https:", 6) == 0)
                m->parts[j].url = "data:image/jpeg;base64,/9j/";
    }
    json_t *v = lx_test_encode_json(
        C, oa, &(lx_codec_opts){.model = "llama3.2", .num_ctx = 16384, .stream = true});
    char *wire = json_dumps(v, JSON_COMPACT);
    cr_assert(strstr(wire, "\"images\":[\"iVBORw0KGgo=\",\"/9j/\"]"), "%s", wire);
    cr_assert(strstr(wire, "\"num_ctx\":16384"), "%s", wire);
    lx_request *o = NULL;
    cr_assert_eq(C->request_decode(wire, strlen(wire), &o, &err), LX_OK, "%s", err.message);
    size_t results = 0;
    for (size_t i = 0; i < o->n_messages; i++)
        if (o->messages[i].role == LX_ROLE_TOOL) {
            cr_assert_str_eq(o->messages[i].parts[0].name, "get_weather");
            results++;
        }
    cr_assert_eq(results, 2);
    cr_assert_eq(o->sampling.max_tokens, oa->sampling.max_tokens);
    cr_assert_eq(o->format.kind, LX_FORMAT_JSON_SCHEMA);
    cr_assert(o->stream);
    free(wire);
    json_decref(v);
    lx_buf_free(&out);
    lx_request_free(o);
    lx_request_free(oa);
    free(body);
}

Test(ollama_num_ctx, caller_window_is_kept_and_never_shrunk)
{
    const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                       "\"options\":{\"num_ctx\":16384}}";
    lx_request *r = NULL;
    lx_error e;
    cr_assert_eq(lx_codec_ollama.request_decode(body, strlen(body), &r, &e), LX_OK, "%s", e.message);
    cr_assert_eq(r->num_ctx, 16384);
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_codec_opts o = {.model = "m", .num_ctx = 4096};
    cr_assert_eq(lx_codec_ollama.request_encode(r, &o, &out, &e), LX_OK, "%s", e.message);
    cr_assert(strstr(out.data, "\"num_ctx\":16384") != NULL, "%s", out.data);
    lx_buf_reset(&out);
    o.num_ctx = 32768; /* the provider sizes it larger: the larger wins */
    cr_assert_eq(lx_codec_ollama.request_encode(r, &o, &out, &e), LX_OK, "%s", e.message);
    cr_assert(strstr(out.data, "\"num_ctx\":32768") != NULL, "%s", out.data);
    lx_buf_free(&out);
    lx_request_free(r);

    const char *bad = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                      "\"options\":{\"num_ctx\":-5}}";
    cr_assert_eq(lx_codec_ollama.request_decode(bad, strlen(bad), &r, &e), LX_ERR_INVALID);
    cr_assert(strstr(e.message, "options.num_ctx") != NULL, "%s", e.message);
}
