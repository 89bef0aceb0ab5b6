#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/types.h"
#include "proto/ndjson.h"
#include "proto/sse.h"

Test(buf, cap_is_enforced)
{
    lx_buf b;
    lx_buf_init(&b, 8);
    cr_assert_eq(lx_buf_puts(&b, "12345678"), LX_OK);
    cr_assert_eq(lx_buf_putc(&b, '9'), LX_ERR_TOOBIG);
    cr_assert_eq(b.len, 8);
    cr_assert_str_eq(b.data, "12345678");
    lx_buf_consume(&b, 3);
    cr_assert_str_eq(b.data, "45678");
    lx_buf_free(&b);
}

Test(buf, cap_set_after_growth_and_space_commit)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_buf_puts(&b, "0123456789abcdef0123456789"), LX_OK); /* alloc 64 */
    b.cap = 28; /* as servers do on their reply buffer: below the storage */
    cr_assert_eq(lx_buf_puts(&b, "xy"), LX_OK);
    cr_assert_eq(lx_buf_putc(&b, 'z'), LX_ERR_TOOBIG);
    cr_assert_eq(lx_buf_append(&b, "z", 1), LX_ERR_TOOBIG);
    cr_assert_eq(b.len, 28);
    cr_assert_null(lx_buf_space(&b, 1));
    b.cap = 1000;
    char *w = lx_buf_space(&b, 500);
    cr_assert_not_null(w);
    cr_assert_geq(b.alloc, b.len + 501);
    memcpy(w, "ABC", 3);
    lx_buf_commit(&b, 3);
    cr_assert_eq(b.len, 31);
    cr_assert_str_eq(b.data + 26, "xyABC");
    cr_assert_null(lx_buf_space(&b, 970));
    cr_assert_eq(b.len, 31);
    lx_buf_free(&b);
}

Test(arena, many_allocations_and_big_ones)
{
    lx_arena *a = lx_arena_new();
    for (int i = 0; i < 10000; i++) {
        char *p = lx_arena_alloc(a, (size_t)(i % 100) + 1);
        cr_assert_not_null(p);
        memset(p, 1, (size_t)(i % 100) + 1);
    }
    char *big = lx_arena_alloc(a, 100000);
    cr_assert_not_null(big);
    cr_assert_eq(big[99999], 0);
    cr_assert_null(lx_arena_calloc(a, SIZE_MAX / 2, 4));
    lx_arena_free(a);
}

typedef struct {
    char log[4096];
} sse_log;

static lx_status sse_cb(void *ud, const lx_sse_event *ev, lx_error *err)
{
    (void)err;
    sse_log *l = ud;
    size_t n = strlen(l->log);
    snprintf(l->log + n, sizeof l->log - n, "[%s|%s]", ev->event, ev->data);
    return LX_OK;
}

Test(sse, any_split_gives_same_events)
{
    const char *in = "\xEF\xBB\xBF: comment\r\nevent: a\r\ndata: x\r\ndata:y\r\n\r\n"
                     "data: {\"k\":1}\n\nevent: nodata\n\ndata: last\rdata: z\r\r";
    const char *want = "[a|x\ny][|{\"k\":1}][|last\nz]";
    size_t n = strlen(in);
    for (size_t step = 1; step <= n; step++) {
        sse_log l = {{0}};
        lx_sse_parser p;
        lx_sse_init(&p, 0);
        for (size_t i = 0; i < n; i += step) {
            size_t k = n - i < step ? n - i : step;
            cr_assert_eq(lx_sse_feed(&p, in + i, k, sse_cb, &l, NULL), LX_OK);
        }
        bool pending = true;
        cr_assert_eq(lx_sse_finish(&p, sse_cb, &l, &pending, NULL), LX_OK);
        cr_assert_not(pending);
        cr_assert_str_eq(l.log, want, "step %zu: %s", step, l.log);
        lx_sse_free(&p);
    }
}

Test(sse, bom_split_across_feeds_and_false_bom)
{
    sse_log l = {{0}};
    lx_sse_parser p;
    lx_sse_init(&p, 0);
    cr_assert_eq(lx_sse_feed(&p, "\xEF", 1, sse_cb, &l, NULL), LX_OK);
    cr_assert_eq(lx_sse_feed(&p, "\xBB", 1, sse_cb, &l, NULL), LX_OK);
    cr_assert_eq(lx_sse_feed(&p, "\xBF" "data: a\n\n", 11, sse_cb, &l, NULL), LX_OK);
    cr_assert_str_eq(l.log, "[|a]");
    lx_sse_free(&p);

    /* two bytes that look like a BOM start but are not: kept as data */
    sse_log l2 = {{0}};
    lx_sse_init(&p, 0);
    cr_assert_eq(lx_sse_feed(&p, "\xEF\xBB", 2, sse_cb, &l2, NULL), LX_OK);
    cr_assert_eq(lx_sse_feed(&p, "x\ndata: b\n\n", 12, sse_cb, &l2, NULL), LX_OK);
    cr_assert_str_eq(l2.log, "[|b]"); /* the odd line is an unknown field, ignored */
    lx_sse_free(&p);
}

Test(sse, oversized_event_is_refused)
{
    lx_sse_parser p;
    lx_sse_init(&p, 16);
    sse_log l = {{0}};
    lx_error e;
    cr_assert_eq(lx_sse_feed(&p, "data: 0123456789012345678\n\n", 27, sse_cb, &l, &e),
                 LX_ERR_TOOBIG);
    cr_assert(strstr(e.message, "16") != NULL);
    lx_sse_free(&p);
}

Test(sse, line_cap_same_whole_or_split)
{
    /* a line is capped at the event size whether it arrives in one feed
     * (read in place) or in pieces (gathered first) */
    const char *ok = "data: 0123456789\n\n";              /* the line: 16 bytes */
    const char *big = "data: 0123456789A\n\ndata: b\n\n"; /* 17 */
    for (size_t step = 1; step <= 30; step++) {
        for (int which = 0; which < 2; which++) {
            const char *in = which ? big : ok;
            size_t n = strlen(in);
            lx_sse_parser p;
            lx_sse_init(&p, 16);
            sse_log l = {{0}};
            lx_status st = LX_OK;
            for (size_t i = 0; i < n && st == LX_OK; i += step)
                st = lx_sse_feed(&p, in + i, n - i < step ? n - i : step, sse_cb, &l, NULL);
            cr_assert_eq(st, which ? LX_ERR_TOOBIG : LX_OK, "step %zu", step);
            if (!which)
                cr_assert_str_eq(l.log, "[|0123456789]");
            lx_sse_free(&p);
        }
    }
}

Test(sse, many_cr_only_lines)
{
    size_t n = 200000;
    char *in = malloc(n + 16);
    cr_assert_not_null(in);
    memset(in, '\r', n);
    memcpy(in + n, "data: q\r\r", 10);
    lx_sse_parser p;
    lx_sse_init(&p, 0);
    sse_log l = {{0}};
    cr_assert_eq(lx_sse_feed(&p, in, n + 10, sse_cb, &l, NULL), LX_OK);
    cr_assert_str_eq(l.log, "[|q]");
    lx_sse_free(&p);
    free(in);
}

Test(sse, writer_splits_lines)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_sse_write(&b, "ping", "a\nb", 3), LX_OK);
    cr_assert_str_eq(b.data, "event: ping\ndata: a\ndata: b\n\n");
    lx_buf_free(&b);
}

static lx_status nd_cb(void *ud, const char *line, size_t len, lx_error *err)
{
    (void)err;
    lx_buf *b = ud;
    lx_buf_putc(b, '<');
    lx_buf_append(b, line, len);
    return lx_buf_putc(b, '>');
}

Test(ndjson, lines_in_any_split)
{
    const char *in = "{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}";
    size_t n = strlen(in);
    for (size_t step = 1; step <= n; step++) {
        lx_buf out;
        lx_buf_init(&out, 0);
        lx_ndjson_parser p;
        lx_ndjson_init(&p, 0);
        for (size_t i = 0; i < n; i += step)
            cr_assert_eq(lx_ndjson_feed(&p, in + i, n - i < step ? n - i : step, nd_cb, &out, NULL), LX_OK);
        bool pending = false;
        cr_assert_eq(lx_ndjson_finish(&p, nd_cb, &out, &pending, NULL), LX_OK);
        cr_assert(pending);
        cr_assert_str_eq(out.data, "<{\"a\":1}><{\"b\":2}><{\"c\":3}>");
        lx_ndjson_free(&p);
        lx_buf_free(&out);
    }
}

Test(collector, builds_response_and_replays_identically)
{
    lx_collector c;
    cr_assert_eq(lx_collector_init(&c), LX_OK);
    lx_event evs[] = {
        {.kind = LX_EV_START, .id = "r1", .model = "m"},
        {.kind = LX_EV_THINKING, .text = "hmm", .len = 3},
        {.kind = LX_EV_TEXT, .text = "Hel", .len = 3},
        {.kind = LX_EV_TEXT, .text = "lo", .len = 2},
        {.kind = LX_EV_TOOL_START, .index = 0, .id = "c1", .name = "f"},
        {.kind = LX_EV_TOOL_START, .index = 1, .id = "c2", .name = "g"},
        {.kind = LX_EV_TOOL_ARGS, .index = 1, .text = "{\"y\":", .len = 5},
        {.kind = LX_EV_TOOL_ARGS, .index = 0, .text = "{\"x\":1}", .len = 7},
        {.kind = LX_EV_TOOL_ARGS, .index = 1, .text = "2}", .len = 2},
        {.kind = LX_EV_TOOL_END, .index = 0},
        {.kind = LX_EV_TOOL_END, .index = 1},
        {.kind = LX_EV_USAGE, .usage = {.input = 5, .output = 7, .reasoning = 2}},
        {.kind = LX_EV_FINISH, .finish = LX_FINISH_TOOL_CALLS},
    };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        cr_assert_eq(lx_collector_event(&c, &evs[i]), LX_OK);
    lx_response *r = lx_collector_take(&c);
    cr_assert_not_null(r);
    cr_assert_eq(r->n_parts, 4);
    cr_assert_eq(r->parts[0].kind, LX_PART_THINKING);
    cr_assert_str_eq(r->parts[1].text, "Hello");
    cr_assert_str_eq(r->parts[2].arguments, "{\"x\":1}");
    cr_assert_str_eq(r->parts[3].arguments, "{\"y\":2}");
    cr_assert_eq(r->usage.output, 7);
    cr_assert_eq(lx_usage_total_output(&r->usage), 9);
    cr_assert_str_eq(lx_response_text(r), "Hello");

    lx_collector c2;
    cr_assert_eq(lx_collector_init(&c2), LX_OK);
    cr_assert_eq(lx_response_replay(r, lx_collector_event, &c2), LX_OK);
    lx_response *r2 = lx_collector_take(&c2);
    cr_assert_not_null(r2);
    cr_assert_eq(r2->n_parts, 4);
    cr_assert_str_eq(r2->parts[3].name, "g");
    cr_assert_eq(r2->finish, LX_FINISH_TOOL_CALLS);
    lx_response_free(r);
    lx_response_free(r2);
    lx_collector_free(&c);
    lx_collector_free(&c2);
}

Test(collector, error_event_fails_the_take)
{
    lx_collector c;
    lx_collector_init(&c);
    lx_error e = {.code = LX_ERR_UPSTREAM, .http_status = 529};
    lx_event ev = {.kind = LX_EV_ERROR, .error = &e};
    cr_assert_eq(lx_collector_event(&c, &ev), LX_OK);
    cr_assert(c.failed);
    cr_assert_null(lx_collector_take(&c));
    cr_assert_eq(c.error.http_status, 529);
    lx_collector_free(&c);
}

Test(request, clone_is_deep)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "hi");
    lx_request_add_stop(r, "END");
    lx_tool *t = lx_request_add_tool(r);
    t->name = lx_arena_strdup(r->arena, "f");
    lx_request *c = lx_request_clone(r);
    lx_request_free(r);
    cr_assert_str_eq(c->messages[0].parts[0].text, "hi");
    cr_assert_str_eq(c->sampling.stop[0], "END");
    cr_assert_str_eq(c->tools[0].name, "f");
    lx_request_free(c);
}

#include "core/utf8.h"

Test(utf8, sequences_and_bad_prefix)
{
    cr_assert_eq(lx_utf8_seq((const unsigned char *)"a", 1), 1);
    cr_assert_eq(lx_utf8_seq((const unsigned char *)"\xC3\xA9", 2), 2);
    cr_assert_eq(lx_utf8_seq((const unsigned char *)"\xE2\x82", 2), -1);      /* incomplete */
    cr_assert_eq(lx_utf8_seq((const unsigned char *)"\xC0\xAF", 2), 0);       /* overlong */
    cr_assert_eq(lx_utf8_seq((const unsigned char *)"\xED\xA0\x80", 3), 0);   /* surrogate */
    cr_assert_eq(lx_utf8_seq((const unsigned char *)"\xF4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    cr_assert_eq(lx_utf8_valid_prefix("ab\xC3\xA9z\xFF", 6), 5);
    cr_assert_eq(lx_utf8_valid_prefix("ok", 2), 2);
}

Test(utf8, carry_joins_a_character_split_across_pieces)
{
    lx_utf8_carry c = {{0}, 0};
    lx_buf out;
    lx_buf_init(&out, 0);
    cr_assert_eq(lx_utf8_clean(&c, "x\xE2\x82", 3, false, &out), LX_OK);
    cr_assert_str_eq(out.data, "x");
    cr_assert_eq(c.n, 2);
    cr_assert_eq(lx_utf8_clean(&c, "\xAC!", 2, false, &out), LX_OK);
    cr_assert_str_eq(out.data, "\xE2\x82\xAC!");
    cr_assert_eq(lx_utf8_clean(&c, "\xE2", 1, true, &out), LX_OK); /* flushed: U+FFFD */
    cr_assert_str_eq(out.data, "\xEF\xBF\xBD");
    cr_assert_eq(lx_utf8_lossy("a\xFF" "b", 3, &out), LX_OK);
    cr_assert_str_eq(out.data, "a\xEF\xBF\xBD" "b");
    lx_buf_free(&out);
}

Test(utf8, request_check_names_the_field_and_spares_model_output)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "fine");
    lx_request_add_text(r, LX_ROLE_ASSISTANT, "model said \xFF");
    lx_error e;
    cr_assert_eq(lx_request_check_utf8(r, "m", &e), LX_OK);
    lx_request_add_text(r, LX_ROLE_USER, "bad \xC3");
    cr_assert_eq(lx_request_check_utf8(r, "m", &e), LX_ERR_INVALID);
    cr_assert_str_eq(e.message, "messages[2].parts[0].text: not valid UTF-8 at byte 4");
    lx_request_free(r);
}

Test(request, find_call_by_id_and_by_order)
{
    lx_request *r = lx_request_new();
    lx_message *a = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    lx_part *c1 = lx_message_add_part(r, a, LX_PART_TOOL_CALL);
    c1->id = "c1";
    c1->name = "f";
    lx_part *c2 = lx_message_add_part(r, a, LX_PART_TOOL_CALL);
    c2->id = "c2";
    c2->name = "g";
    lx_message *t = lx_request_add_message(r, LX_ROLE_TOOL);
    lx_part *res = lx_message_add_part(r, t, LX_PART_TOOL_RESULT);
    res->id = "c2";
    const lx_part *found = lx_request_find_call(r, 1, 0, res);
    cr_assert_not_null(found);
    cr_assert_str_eq(found->name, "g");
    res->id = NULL; /* no ids: the second result answers the second call */
    found = lx_request_find_call(r, 1, 1, res);
    cr_assert_not_null(found);
    cr_assert_str_eq(found->name, "g");
    cr_assert_null(lx_request_find_call(r, 1, 2, res));
    res->id = "nope";
    cr_assert_null(lx_request_find_call(r, 1, 0, res));
    lx_request_free(r);
}

#include "proto/callids.h"

Test(callids, keeps_generates_and_matches_by_id_name_then_order)
{
    lx_call_ids c;
    cr_assert_eq(lx_call_ids_init(&c, "call_"), LX_OK);
    lx_part a = {.kind = LX_PART_TOOL_CALL, .name = "f"};             /* no id */
    lx_part b = {.kind = LX_PART_TOOL_CALL, .name = "g", .id = "x9"}; /* kept */
    lx_part d = {.kind = LX_PART_TOOL_CALL, .name = "h"};
    cr_assert_str_eq(lx_call_ids_for_call(&c, &a), "call_1");
    cr_assert_str_eq(lx_call_ids_for_call(&c, &b), "x9");
    cr_assert_str_eq(lx_call_ids_for_call(&c, &d), "call_2");
    lx_part rg = {.kind = LX_PART_TOOL_RESULT, .name = "g"};  /* by name */
    lx_part rx = {.kind = LX_PART_TOOL_RESULT};               /* first unanswered */
    lx_part rid = {.kind = LX_PART_TOOL_RESULT, .id = "zz"};  /* unknown id: kept */
    cr_assert_str_eq(lx_call_ids_for_result(&c, &rg), "x9");
    cr_assert_str_eq(lx_call_ids_for_result(&c, &rx), "call_1");
    cr_assert_str_eq(lx_call_ids_for_result(&c, &rx), "call_2");
    cr_assert_str_eq(lx_call_ids_for_result(&c, &rid), "zz");
    cr_assert_str_eq(lx_call_ids_for_result(&c, &rx), "call_3"); /* nothing left: a new id */
    lx_call_ids_free(&c);
}

Test(callids, wire_ids_are_prefixed_and_distinct)
{
    char a[64], b[64];
    lx_wire_id(a, sizeof a, "msg_");
    lx_wire_id(b, sizeof b, "msg_");
    cr_assert_eq(strlen(a), 4 + 24);
    cr_assert_eq(strncmp(a, "msg_", 4), 0);
    cr_assert_str_neq(a, b);
}
