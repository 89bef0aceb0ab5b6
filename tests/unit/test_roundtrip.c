/* Round trips across dialects: OpenAI -> neutral -> Anthropic -> neutral ->
 * OpenAI (and the reverse) must keep the meaning of a conversation: roles,
 * text, images, tool calls with their ids, tool results, tools and
 * sampling. Streams are bridged decoder -> encoder -> decoder. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/codec_test.h"
#include "proto/codec.h"

static const lx_codec *OA = &lx_codec_openai, *AN = &lx_codec_anthropic;

/* encode with c, decode with c */
static lx_request *through(const lx_codec *c, const lx_request *r)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error err = {0};
    lx_codec_opts o = {.model = r->model};
    cr_assert_eq(c->request_encode(r, &o, &b, &err), LX_OK, "%s: %s", c->name, err.message);
    lx_request *out = lx_test_decode_request(c, b.data, LX_OK, NULL);
    lx_buf_free(&b);
    return out;
}

static void json_text_eq(const char *a, const char *b, const char *what)
{
    json_t *x = json_loads(a ? a : "{\"type\":\"object\"}", 0, NULL);
    json_t *y = json_loads(b ? b : "{\"type\":\"object\"}", 0, NULL);
    cr_assert(x && y && json_equal(x, y), "%s: %s != %s", what, a, b);
    json_decref(x);
    json_decref(y);
}

static void str_eq(const char *a, const char *b, const char *what)
{
    cr_assert_str_eq(a ? a : "", b ? b : "", "%s", what);
}

enum { SKIP_THINKING = 1, SKIP_IS_ERROR = 2 };

static size_t kept(const lx_message *m, int flags, size_t *idx)
{
    size_t n = 0;
    for (size_t j = 0; j < m->n_parts; j++)
        if (!(flags & SKIP_THINKING) || m->parts[j].kind != LX_PART_THINKING)
            idx[n++] = j;
    return n;
}

static void same_meaning(const lx_request *a, const lx_request *b, int flags)
{
    cr_assert_eq(a->n_messages, b->n_messages);
    for (size_t i = 0; i < a->n_messages; i++) {
        const lx_message *ma = &a->messages[i], *mb = &b->messages[i];
        size_t ia[64], ib[64];
        cr_assert_eq(ma->role, mb->role, "message %zu role", i);
        size_t na = kept(ma, flags, ia), nb = kept(mb, flags, ib);
        cr_assert_eq(na, nb, "message %zu parts", i);
        for (size_t j = 0; j < na; j++) {
            const lx_part *p = &ma->parts[ia[j]], *q = &mb->parts[ib[j]];
            char w[64];
            snprintf(w, sizeof w, "message %zu part %zu", i, j);
            cr_assert_eq(p->kind, q->kind, "%s kind", w);
            str_eq(p->text, q->text, w);
            str_eq(p->url, q->url, w);
            str_eq(p->data, q->data, w);
            str_eq(p->media_type, q->media_type, w);
            str_eq(p->id, q->id, w);
            str_eq(p->name, q->name, w);
            str_eq(p->signature, q->signature, w);
            if (p->kind == LX_PART_TOOL_CALL)
                json_text_eq(p->arguments, q->arguments, w);
            if (!(flags & SKIP_IS_ERROR))
                cr_assert_eq(p->is_error, q->is_error, "%s is_error", w);
        }
    }
    cr_assert_eq(a->n_tools, b->n_tools);
    for (size_t i = 0; i < a->n_tools; i++) {
        str_eq(a->tools[i].name, b->tools[i].name, "tool name");
        str_eq(a->tools[i].description, b->tools[i].description, "tool description");
        json_text_eq(a->tools[i].parameters, b->tools[i].parameters, "tool parameters");
    }
    cr_assert_eq(a->tool_choice.kind, b->tool_choice.kind);
    str_eq(a->tool_choice.name, b->tool_choice.name, "tool_choice.name");
    bool pa = !a->tool_choice.has_parallel || a->tool_choice.parallel;
    bool pb = !b->tool_choice.has_parallel || b->tool_choice.parallel;
    cr_assert_eq(pa, pb, "parallel tool calls");
    const lx_sampling *sa = &a->sampling, *sb = &b->sampling;
    cr_assert_eq(sa->has_temperature, sb->has_temperature);
    cr_assert(sa->temperature == sb->temperature);
    cr_assert_eq(sa->has_top_p, sb->has_top_p);
    cr_assert(sa->top_p == sb->top_p);
    cr_assert_eq(sa->max_tokens, sb->max_tokens);
    cr_assert_eq(sa->n_stop, sb->n_stop);
    for (size_t i = 0; i < sa->n_stop; i++)
        cr_assert_str_eq(sa->stop[i], sb->stop[i]);
    str_eq(a->user, b->user, "user");
}

Test(roundtrip, openai_anthropic_openai)
{
    size_t n;
    char *s = lx_test_load("tests/fixtures/openai/request_full.json", &n);
    json_t *v = json_loadb(s, n, 0, NULL);
    /* what Anthropic cannot carry: a seed and a native JSON mode */
    json_object_del(v, "seed");
    json_object_del(v, "response_format");
    char *body = json_dumps(v, JSON_COMPACT);
    lx_request *a = lx_test_decode_request(OA, body, LX_OK, NULL);
    lx_request *mid = through(AN, a);
    same_meaning(a, mid, 0);
    lx_request *back = through(OA, mid);
    same_meaning(a, back, 0);
    lx_codec_opts o = {.model = "m"};
    json_t *ja = lx_test_encode_json(OA, a, &o), *jb = lx_test_encode_json(OA, back, &o);
    json_object_del(ja, "parallel_tool_calls"); /* Anthropic only says "disable" */
    char *ta = json_dumps(ja, JSON_COMPACT | JSON_SORT_KEYS),
         *tb = json_dumps(jb, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(ta, tb);
    free(ta);
    free(tb);
    json_decref(ja);
    json_decref(jb);
    lx_request_free(back);
    lx_request_free(mid);
    lx_request_free(a);
    free(body);
    json_decref(v);
    free(s);
}

Test(roundtrip, anthropic_openai_anthropic)
{
    size_t n;
    char *s = lx_test_load("tests/fixtures/anthropic/request_full.json", &n);
    lx_request *a = lx_test_decode_request(AN, s, LX_OK, NULL);
    /* OpenAI carries neither thinking blocks nor is_error */
    lx_request *mid = through(OA, a);
    same_meaning(a, mid, SKIP_THINKING | SKIP_IS_ERROR);
    lx_request *back = through(AN, mid);
    same_meaning(a, back, SKIP_THINKING | SKIP_IS_ERROR);
    cr_assert_eq(back->tool_choice.kind, LX_TOOL_CHOICE_REQUIRED);
    cr_assert(back->tool_choice.has_parallel && !back->tool_choice.parallel);
    lx_request_free(back);
    lx_request_free(mid);
    lx_request_free(a);
    free(s);
}

Test(roundtrip, idless_calls_get_consistent_ids_across_dialects)
{
    lx_request *r = lx_request_new();
    r->model = "m";
    lx_request_add_text(r, LX_ROLE_USER, "go");
    lx_message *m = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    const char *names[] = {"lookup", "lookup", "clock"};
    for (int i = 0; i < 3; i++) {
        lx_part *p = lx_message_add_part(r, m, LX_PART_TOOL_CALL);
        p->name = (char *)names[i];
        p->arguments = i == 2 ? "{}" : (i ? "{\"q\":2}" : "{\"q\":1}");
    }
    m = lx_request_add_message(r, LX_ROLE_TOOL);
    const char *rn[] = {"clock", "lookup", "lookup"}, *rt[] = {"noon", "one", "two"};
    for (int i = 0; i < 3; i++) {
        lx_part *p = lx_message_add_part(r, m, LX_PART_TOOL_RESULT);
        p->name = (char *)rn[i];
        p->text = (char *)rt[i];
    }
    const lx_codec *order[][2] = {{OA, AN}, {AN, OA}};
    for (int k = 0; k < 2; k++) {
        lx_request *x = through(order[k][0], r);
        lx_request *y = through(order[k][1], x);
        const lx_message *calls = &y->messages[1], *res = &y->messages[2];
        cr_assert_eq(calls->n_parts, 3);
        cr_assert_eq(res->n_parts, 3);
        /* result i answers: clock -> call 2, lookup -> call 0, lookup -> call 1 */
        int want[] = {2, 0, 1};
        for (int i = 0; i < 3; i++) {
            cr_assert_not_null(res->parts[i].id);
            cr_assert_str_eq(res->parts[i].id, calls->parts[want[i]].id, "order %d result %d", k,
                             i);
            cr_assert_str_eq(res->parts[i].name, names[want[i]]);
            cr_assert_str_eq(res->parts[i].text, rt[i]);
        }
        lx_request_free(y);
        lx_request_free(x);
    }
    lx_request_free(r);
}

Test(roundtrip, response_usage_totals_survive)
{
    size_t n;
    char *s = lx_test_load("tests/fixtures/anthropic/response_tool_use.json", &n);
    lx_response *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(AN->response_decode(s, n, &a, NULL), LX_OK);
    lx_buf buf;
    lx_buf_init(&buf, 0);
    cr_assert_eq(OA->response_encode(a, NULL, &buf, NULL), LX_OK);
    cr_assert_eq(OA->response_decode(buf.data, buf.len, &b, NULL), LX_OK);
    lx_buf_reset(&buf);
    cr_assert_eq(AN->response_encode(b, NULL, &buf, NULL), LX_OK);
    cr_assert_eq(AN->response_decode(buf.data, buf.len, &c, NULL), LX_OK);
    cr_assert_eq(lx_usage_total_input(&b->usage), 472 + 100 + 2000);
    cr_assert_eq(b->usage.cache_read, 2000);
    cr_assert_eq(lx_usage_total_output(&b->usage), 89);
    cr_assert_eq(lx_usage_total_input(&c->usage), 2572);
    cr_assert_eq(lx_usage_total_output(&c->usage), 89);
    cr_assert_eq(c->finish, LX_FINISH_TOOL_CALLS);
    cr_assert_str_eq(lx_response_text(c), "I'll check.");
    const lx_part *call = &c->parts[c->n_parts - 1];
    cr_assert_eq(call->kind, LX_PART_TOOL_CALL);
    cr_assert_str_eq(call->id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    json_text_eq(call->arguments, "{\"unit\":\"celsius\",\"city\":\"San Francisco\"}", "args");
    lx_buf_free(&buf);
    lx_response_free(a);
    lx_response_free(b);
    lx_response_free(c);
    free(s);
}

/* ---- streams: decoder(X) -> encoder(Y) -> decoder(Y) -> collector ---------- */

static void bridge_stream(const char *path, const lx_codec *from, const lx_codec *to)
{
    size_t n;
    char *s = lx_test_load(path, &n);
    lx_response *direct = lx_test_collect(from, s, n, 0);
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_test_bridge b = {.enc = to->stream_encoder_new(&(lx_codec_opts){.include_usage = true}),
                        .out = &out};
    lx_stream_decoder *d = from->stream_decoder_new(lx_test_bridge_event, &b);
    cr_assert_eq(lx_test_feed(d, s, n, 13, 0, NULL), LX_OK);
    d->free(d);
    b.enc->free(b.enc);
    lx_response *via = lx_test_collect(to, out.data, out.len, 0);
    cr_assert_str_eq(lx_response_text(via), lx_response_text(direct));
    cr_assert_eq(via->finish, direct->finish);
    cr_assert_eq(lx_usage_total_input(&via->usage), lx_usage_total_input(&direct->usage));
    cr_assert_eq(lx_usage_total_output(&via->usage), lx_usage_total_output(&direct->usage));
    size_t calls = 0;
    for (size_t i = 0, j = 0; i < direct->n_parts; i++) {
        if (direct->parts[i].kind != LX_PART_TOOL_CALL)
            continue;
        while (j < via->n_parts && via->parts[j].kind != LX_PART_TOOL_CALL)
            j++;
        cr_assert(j < via->n_parts, "tool call %zu lost", calls);
        cr_assert_str_eq(via->parts[j].id, direct->parts[i].id);
        cr_assert_str_eq(via->parts[j].name, direct->parts[i].name);
        json_text_eq(via->parts[j].arguments, direct->parts[i].arguments, "streamed arguments");
        j++;
        calls++;
    }
    lx_response_free(direct);
    lx_response_free(via);
    lx_buf_free(&out);
    free(s);
}

Test(roundtrip, stream_openai_to_anthropic)
{
    bridge_stream("tests/fixtures/openai/stream_tools.sse", OA, AN);
    bridge_stream("tests/fixtures/openai/stream_text.sse", OA, AN);
    bridge_stream("tests/fixtures/openai/stream_vllm_null.sse", OA, AN);
}

Test(roundtrip, stream_anthropic_to_openai)
{
    bridge_stream("tests/fixtures/anthropic/stream_tools.sse", AN, OA);
    bridge_stream("tests/fixtures/anthropic/stream_text.sse", AN, OA);
    bridge_stream("tests/fixtures/anthropic/stream_thinking.sse", AN, OA);
}
