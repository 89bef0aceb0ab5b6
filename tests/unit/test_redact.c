/*
 * Unit tests of redact mode (src/guard/redact.c): placeholders out of a
 * request, values back into whole responses and streams.
 *
 * The stream tests compare every way of cutting a redacted answer into
 * events (every single split position, byte by byte, random chunkings)
 * against the whole-text restore, and check that what comes out at each
 * step is a prefix of the answer (nothing reordered, nothing invented) and
 * valid UTF-8.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "guard/redact.h"
#include "guard/scanner.h"

static lx_scanner *S;
static lx_scan_scratch *SC;

static void setup(void)
{
    static const lx_scan_term terms[] = {{"CODENAME", "Bluebird"}, {"PERSON", "Zoë Müller"}};
    static const lx_scan_regex regexes[] = {{"SECRET", "s3cr[^ ,}]*", 0},
                                            {"UNI", "uni[^ \"]*x", 0}};
    lx_scan_config cfg = {.terms = terms, .n_terms = 2, .regexes = regexes, .n_regexes = 2};
    lx_error err = {0};
    cr_assert_eq(lx_scanner_new(&cfg, &S, &err), LX_OK, "%s", err.message);
    cr_assert_eq(lx_scan_scratch_new(S, &SC, &err), LX_OK, "%s", err.message);
}

static void teardown(void)
{
    lx_scan_scratch_free(SC);
    lx_scanner_free(S);
}

TestSuite(redact, .init = setup, .fini = teardown);

/* ---- helpers ---------------------------------------------------------------- */

static lx_part *add_part(lx_request *r, lx_role role, lx_part_kind kind)
{
    lx_message *m = NULL;
    if (r->n_messages && r->messages[r->n_messages - 1].role == role)
        m = &r->messages[r->n_messages - 1];
    else
        m = lx_request_add_message(r, role);
    cr_assert_not_null(m);
    lx_part *p = lx_message_add_part(r, m, kind);
    cr_assert_not_null(p);
    return p;
}

static lx_request *req_text(const char *text)
{
    lx_request *r = lx_request_new();
    cr_assert_not_null(r);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_USER, text), LX_OK);
    return r;
}

/* Scans and redacts req; the caller frees *out and *map. */
static void redact(const lx_request *req, lx_request **out, lx_redaction **map)
{
    lx_findings f = {0};
    lx_error err = {0};
    cr_assert_eq(lx_scan_request(S, SC, req, &f, &err), LX_OK, "%s", err.message);
    cr_assert_eq(lx_redact_request(req, &f, out, map, &err), LX_OK, "%s", err.message);
    lx_findings_free(&f);
}

/* Whole-response restore of one text (malloc'd result). */
static char *restore_whole(const lx_redaction *m, const char *text, bool args)
{
    lx_response *r = lx_response_new();
    lx_part *p = lx_response_add_part(r, args ? LX_PART_TOOL_CALL : LX_PART_TEXT);
    if (args)
        p->arguments = lx_arena_strdup(r->arena, text);
    else
        p->text = lx_arena_strdup(r->arena, text);
    cr_assert_eq(lx_restore_response(m, r), LX_OK);
    char *o = strdup(args ? p->arguments : p->text);
    lx_response_free(r);
    return o;
}

/* A sink that records the stream. */
typedef struct rec {
    lx_buf text, think, args[4];
    char kinds[256]; /* one letter per event */
    size_t n_kinds;
    const char *want_text; /* when set: every moment, text so far is a prefix */
    int n_tokens;
    double logprob;
    int refuse_at; /* refuse the n-th event (1-based); 0 never */
    bool bad_utf8;
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    lx_buf_init(&r->text, 0);
    lx_buf_init(&r->think, 0);
    for (int i = 0; i < 4; i++)
        lx_buf_init(&r->args[i], 0);
}

static void rec_free(rec *r)
{
    lx_buf_free(&r->text);
    lx_buf_free(&r->think);
    for (int i = 0; i < 4; i++)
        lx_buf_free(&r->args[i]);
}

static lx_status rec_event(void *ud, const lx_event *ev)
{
    rec *r = ud;
    static const char letters[] = "STKBAEUFX";
    if (r->n_kinds + 1 < sizeof r->kinds)
        r->kinds[r->n_kinds++] = letters[ev->kind];
    r->kinds[r->n_kinds] = 0;
    if (r->refuse_at && (int)r->n_kinds == r->refuse_at)
        return LX_ERR_CANCELLED;
    lx_buf *b = NULL;
    if (ev->kind == LX_EV_TEXT) {
        b = &r->text;
        r->n_tokens += ev->n_tokens;
        r->logprob += ev->logprob;
    } else if (ev->kind == LX_EV_THINKING) {
        b = &r->think;
    } else if (ev->kind == LX_EV_TOOL_ARGS) {
        cr_assert(ev->index >= 0 && ev->index < 4);
        b = &r->args[ev->index];
    }
    if (b && ev->len) {
        cr_assert_not_null(ev->text);
        if (lx_utf8_valid_prefix(ev->text, ev->len) != ev->len)
            r->bad_utf8 = true;
        cr_assert_eq(lx_buf_append(b, ev->text, ev->len), LX_OK);
        if (b == &r->text && r->want_text)
            cr_assert(b->len <= strlen(r->want_text) && !memcmp(b->data, r->want_text, b->len),
                      "emitted text is not a prefix of the answer: '%s'", b->data);
    }
    return LX_OK;
}

static const char *buf_str(const lx_buf *b)
{
    return b->data ? b->data : "";
}

/* Feeds s as TEXT events cut at the positions in cuts[0..n) (ascending). */
static lx_status feed_cuts(lx_restore *f, lx_event_kind kind, int index, const char *s,
                           const size_t *cuts, size_t n)
{
    size_t len = strlen(s), prev = 0;
    for (size_t i = 0; i <= n; i++) {
        size_t end = i < n ? cuts[i] : len;
        lx_event ev = {.kind = kind, .text = s + prev, .len = end - prev, .index = index};
        lx_status st = lx_restore_event(f, &ev);
        if (st != LX_OK)
            return st;
        prev = end;
    }
    return LX_OK;
}

static void finish(lx_restore *f)
{
    lx_event ev = {.kind = LX_EV_FINISH, .finish = LX_FINISH_STOP};
    cr_assert_eq(lx_restore_event(f, &ev), LX_OK);
}

/* Streams `redacted` as TEXT cut at cuts and checks the result is `want`. */
static void check_stream(const lx_redaction *m, const char *redacted, const char *want,
                         const size_t *cuts, size_t n)
{
    rec r;
    rec_init(&r);
    r.want_text = want;
    lx_restore *f;
    cr_assert_eq(lx_restore_new(m, rec_event, &r, &f), LX_OK);
    cr_assert_eq(feed_cuts(f, LX_EV_TEXT, 0, redacted, cuts, n), LX_OK);
    finish(f);
    cr_assert_str_eq(buf_str(&r.text), want, "cuts %zu first %zu", n, n ? cuts[0] : 0);
    cr_assert(!r.bad_utf8);
    cr_assert_eq(r.kinds[r.n_kinds - 1], 'F');
    lx_restore_free(f);
    rec_free(&r);
}

/* ---- redaction ---------------------------------------------------------------- */

static const struct {
    const char *type, *text, *value;
} samples[] = {
    {"EMAIL", "mail alice.smith@acme-corp.io now", "alice.smith@acme-corp.io"},
    {"PHONE", "call me at +1 415 555 0123 today", "+1 415 555 0123"},
    {"CREDIT_CARD", "card 4111 1111 1111 1111 ok", "4111 1111 1111 1111"},
    {"IBAN", "iban DE89 3704 0044 0532 0130 00 ok", "DE89 3704 0044 0532 0130 00"},
    {"US_SSN", "ssn 536-22-1234 ok", "536-22-1234"},
    {"IP_ADDRESS", "host 10.20.30.40 ok", "10.20.30.40"},
    {"API_KEY", "token ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gH3jK5 ok",
     "ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gH3jK5"},
    {"AWS_SECRET", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYq8s9d7f6g5 ok",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYq8s9d7f6g5"},
    {"PRIVATE_KEY",
     "here:\n-----BEGIN RSA PRIVATE "
     "KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwKVPSmwaS\n"
     "k1Lbf7Zb9nQ2UoQeXk3Xw1zM4hL0a8ZrYtR2mE6vQpJc9sB5nFgHdKyT3uWxAq\n"
     "-----END RSA PRIVATE KEY-----\nbye",
     "-----BEGIN RSA PRIVATE "
     "KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwKVPSmwaS\n"
     "k1Lbf7Zb9nQ2UoQeXk3Xw1zM4hL0a8ZrYtR2mE6vQpJc9sB5nFgHdKyT3uWxAq\n"
     "-----END RSA PRIVATE KEY-----"},
    {"JWT",
     "jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
     "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c ok",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
     "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
    {"PASSWORD", "db postgres://bob:hunter2xyz@db.internal/app ok", "hunter2xyz"},
    {"PERSON", "my name is John Smith and", "John Smith"},
    {"ADDRESS", "I live at 221 Baker Street, London", "221 Baker Street"},
    {"CODENAME", "project bluebird ships", "bluebird"},
    {"PERSON", "ask Zoë Müller about it", "Zoë Müller"},
};

Test(redact, every_type_round_trips)
{
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        lx_request *req = req_text(samples[i].text), *out;
        lx_redaction *m;
        redact(req, &out, &m);
        const char *t = out->messages[0].parts[0].text;
        char ph[64];
        snprintf(ph, sizeof ph, "[%s_1]", samples[i].type);
        cr_assert(strstr(t, ph), "%s: no %s in '%s'", samples[i].type, ph, t);
        cr_assert_null(strstr(t, samples[i].value), "%s: value left in '%s'", samples[i].type, t);
        cr_assert_eq(lx_redaction_count(m), 1, "%s: %zu values", samples[i].type,
                     lx_redaction_count(m));
        char *back = restore_whole(m, t, false);
        cr_assert_str_eq(back, samples[i].text);
        /* the original request is untouched */
        cr_assert_str_eq(req->messages[0].parts[0].text, samples[i].text);
        free(back);
        lx_request_free(out);
        lx_redaction_free(m);
        lx_request_free(req);
    }
}

Test(redact, same_value_same_placeholder_across_history_and_tools)
{
    lx_request *req = lx_request_new();
    add_part(req, LX_ROLE_SYSTEM, LX_PART_TEXT)->text =
        lx_arena_strdup(req->arena, "Support for bob@corp.io and eve@corp.io.");
    add_part(req, LX_ROLE_USER, LX_PART_TEXT)->text =
        lx_arena_strdup(req->arena, "Email bob@corp.io, then carol@corp.io.");
    lx_part *call = add_part(req, LX_ROLE_ASSISTANT, LX_PART_TOOL_CALL);
    call->id = lx_arena_strdup(req->arena, "c1");
    call->name = lx_arena_strdup(req->arena, "send");
    call->arguments =
        lx_arena_strdup(req->arena, "{\"to\":\"carol@corp.io\",\"cc\":[\"bob@corp.io\"]}");
    lx_part *res = add_part(req, LX_ROLE_TOOL, LX_PART_TOOL_RESULT);
    res->id = lx_arena_strdup(req->arena, "c1");
    res->text = lx_arena_strdup(req->arena, "sent to carol@corp.io");
    lx_request *out;
    lx_redaction *m;
    redact(req, &out, &m);
    cr_assert_eq(lx_redaction_count(m), 3);
    cr_assert_str_eq(out->messages[0].parts[0].text, "Support for [EMAIL_1] and [EMAIL_2].");
    cr_assert_str_eq(out->messages[1].parts[0].text, "Email [EMAIL_1], then [EMAIL_3].");
    cr_assert_str_eq(out->messages[2].parts[0].arguments,
                     "{\"to\":\"[EMAIL_3]\",\"cc\":[\"[EMAIL_1]\"]}");
    cr_assert_str_eq(out->messages[3].parts[0].text, "sent to [EMAIL_3]");
    char *back = restore_whole(m, "[EMAIL_3] [EMAIL_1] [EMAIL_2] [EMAIL_4] [EMAIL_99]", false);
    cr_assert_str_eq(back, "carol@corp.io bob@corp.io eve@corp.io [EMAIL_4] [EMAIL_99]");
    free(back);
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);
}

Test(redact, numbers_per_type_and_no_findings)
{
    lx_request *req = req_text("a@corp.io 10.1.2.3 b@corp.io 10.1.2.4 a@corp.io");
    lx_request *out;
    lx_redaction *m;
    redact(req, &out, &m);
    cr_assert_str_eq(out->messages[0].parts[0].text,
                     "[EMAIL_1] [IP_ADDRESS_1] [EMAIL_2] [IP_ADDRESS_2] [EMAIL_1]");
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);

    req = req_text("nothing to see here [EMAIL_1]");
    redact(req, &out, &m);
    cr_assert_eq(lx_redaction_count(m), 0);
    cr_assert_str_eq(out->messages[0].parts[0].text, "nothing to see here [EMAIL_1]");
    char *back = restore_whole(m, "[EMAIL_1]", false);
    cr_assert_str_eq(back, "[EMAIL_1]");
    free(back);
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);
}

Test(redact, literal_placeholder_in_request_is_skipped)
{
    lx_request *req = req_text("earlier I wrote [EMAIL_1]; now: bob@corp.io");
    lx_request *out;
    lx_redaction *m;
    redact(req, &out, &m);
    cr_assert_str_eq(out->messages[0].parts[0].text, "earlier I wrote [EMAIL_1]; now: [EMAIL_2]");
    char *back = restore_whole(m, "[EMAIL_1] [EMAIL_2]", false);
    cr_assert_str_eq(back, "[EMAIL_1] bob@corp.io");
    free(back);
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);
}

static void check_args(const char *args, const char *want_redacted, const char *echo,
                       const char *want_restored)
{
    lx_request *req = lx_request_new();
    lx_part *call = add_part(req, LX_ROLE_ASSISTANT, LX_PART_TOOL_CALL);
    call->name = lx_arena_strdup(req->arena, "f");
    call->arguments = lx_arena_strdup(req->arena, args);
    lx_request *out;
    lx_redaction *m;
    redact(req, &out, &m);
    const char *ra = out->messages[0].parts[0].arguments;
    if (want_redacted)
        cr_assert_str_eq(ra, want_redacted);
    json_error_t je;
    json_t *j = json_loads(ra, JSON_ALLOW_NUL, &je);
    cr_assert_not_null(j, "redacted arguments are not JSON: %s (%s)", ra, je.text);
    json_decref(j);
    /* the model echoes the redacted arguments (or `echo`): restore gives
     * the original value, as valid JSON */
    char *back = restore_whole(m, echo ? echo : ra, true);
    json_t *a = json_loads(back, JSON_ALLOW_NUL, &je),
           *b = json_loads(want_restored, JSON_ALLOW_NUL, NULL);
    cr_assert_not_null(a, "restored arguments are not JSON: %s (%s)", back, je.text);
    cr_assert_not_null(b);
    cr_assert(json_equal(a, b), "restored %s, want %s", back, want_restored);
    json_decref(a);
    json_decref(b);
    /* and in a stream, byte by byte */
    rec r;
    rec_init(&r);
    lx_restore *f;
    cr_assert_eq(lx_restore_new(m, rec_event, &r, &f), LX_OK);
    const char *src = echo ? echo : ra;
    size_t n = strlen(src);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    lx_event st = {.kind = LX_EV_TOOL_START, .index = 1, .name = "f"};
    cr_assert_eq(lx_restore_event(f, &st), LX_OK);
    cr_assert_eq(feed_cuts(f, LX_EV_TOOL_ARGS, 1, src, cuts, n ? n - 1 : 0), LX_OK);
    lx_event end = {.kind = LX_EV_TOOL_END, .index = 1};
    cr_assert_eq(lx_restore_event(f, &end), LX_OK);
    cr_assert_str_eq(buf_str(&r.args[1]), back);
    cr_assert_eq(r.kinds[r.n_kinds - 1], 'E');
    free(cuts);
    lx_restore_free(f);
    rec_free(&r);
    free(back);
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);
}

Test(redact, tool_arguments_stay_json)
{
    check_args("{\"to\":\"bob@corp.io\"}", "{\"to\":\"[EMAIL_1]\"}", NULL,
               "{\"to\":\"bob@corp.io\"}");
    /* a span running past the closing quote is cut to the string; the value
     * holds an escaped quote and backslash */
    check_args("{\"pw\":\"s3cr\\\"et\\\\x\",\"n\":1}", "{\"pw\":\"[SECRET_1]\",\"n\":1}", NULL,
               "{\"pw\":\"s3cr\\\"et\\\\x\",\"n\":1}");
    /* escapes decoded: \u00e9 and a surrogate pair; restored as UTF-8 */
    check_args("{\"u\":\"uni\\u00e9\\ud83d\\ude00x\"}", "{\"u\":\"[UNI_1]\"}", NULL,
               "{\"u\":\"uni\\u00e9\\ud83d\\ude00x\"}");
    /* \u0000 is JSON too */
    check_args("{\"a\":\"\\u0000 bob@corp.io\"}", "{\"a\":\"\\u0000 [EMAIL_1]\"}", NULL,
               "{\"a\":\"\\u0000 bob@corp.io\"}");
    /* a card as a JSON number becomes a string placeholder */
    check_args("{\"card\":4111111111111111}", "{\"card\":\"[CREDIT_CARD_1]\"}", NULL,
               "{\"card\":\"4111111111111111\"}");
    /* a value from text restored into arguments is JSON-escaped */
    check_args("{\"pw\":\"s3cr\\\"et\"}", NULL, "{\"note\":\"[SECRET_1] and [SECRET_9]\"}",
               "{\"note\":\"s3cr\\\"et and [SECRET_9]\"}");
    /* not JSON at all: replaced as text */
    lx_request *req = lx_request_new();
    lx_part *call = add_part(req, LX_ROLE_ASSISTANT, LX_PART_TOOL_CALL);
    call->arguments = lx_arena_strdup(req->arena, "to bob@corp.io");
    lx_request *out;
    lx_redaction *m;
    redact(req, &out, &m);
    cr_assert_str_eq(out->messages[0].parts[0].arguments, "to [EMAIL_1]");
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);
}

Test(redact, same_value_in_text_and_escaped_arguments)
{
    lx_request *req = lx_request_new();
    add_part(req, LX_ROLE_USER, LX_PART_TEXT)->text = lx_arena_strdup(req->arena, "pw s3cr\"et");
    lx_part *call = add_part(req, LX_ROLE_ASSISTANT, LX_PART_TOOL_CALL);
    call->arguments = lx_arena_strdup(req->arena, "{\"p\":\"s3cr\\\"et\"}");
    lx_request *out;
    lx_redaction *m;
    redact(req, &out, &m);
    cr_assert_eq(lx_redaction_count(m), 1);
    cr_assert_str_eq(out->messages[0].parts[0].text, "pw [SECRET_1]");
    cr_assert_str_eq(out->messages[1].parts[0].arguments, "{\"p\":\"[SECRET_1]\"}");
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);
}

Test(redact, thinking_and_urls)
{
    lx_request *req = lx_request_new();
    add_part(req, LX_ROLE_USER, LX_PART_TEXT)->text = lx_arena_strdup(req->arena, "hi");
    lx_part *t1 = add_part(req, LX_ROLE_ASSISTANT, LX_PART_THINKING);
    t1->text = lx_arena_strdup(req->arena, "user is bob@corp.io");
    t1->signature = lx_arena_strdup(req->arena, "sig");
    lx_part *t2 = add_part(req, LX_ROLE_ASSISTANT, LX_PART_THINKING);
    t2->text = lx_arena_strdup(req->arena, "also bob@corp.io");
    lx_part *t3 = add_part(req, LX_ROLE_ASSISTANT, LX_PART_THINKING);
    t3->text = lx_arena_strdup(req->arena, "nothing here");
    t3->signature = lx_arena_strdup(req->arena, "sig3");
    add_part(req, LX_ROLE_ASSISTANT, LX_PART_TEXT)->text = lx_arena_strdup(req->arena, "ok");
    lx_part *img = add_part(req, LX_ROLE_USER, LX_PART_IMAGE);
    img->url = lx_arena_strdup(req->arena, "https://cdn.corp.io/a.png?owner=bob@corp.io");
    lx_part *img2 = add_part(req, LX_ROLE_USER, LX_PART_IMAGE);
    img2->url = lx_arena_strdup(req->arena, "data:image/png;base64,Ym9iQGNvcnAuaW8=");
    lx_request *out;
    lx_redaction *m;
    redact(req, &out, &m);
    /* the signed thinking with a finding is gone; the unsigned one redacted;
     * the signed one without findings kept as it was */
    const lx_message *a = &out->messages[1];
    cr_assert_eq(a->n_parts, 3);
    cr_assert_str_eq(a->parts[0].text, "also [EMAIL_1]");
    cr_assert_null(a->parts[0].signature);
    cr_assert_str_eq(a->parts[1].text, "nothing here");
    cr_assert_str_eq(a->parts[1].signature, "sig3");
    cr_assert_str_eq(a->parts[2].text, "ok");
    cr_assert_str_eq(out->messages[2].parts[0].url, "https://cdn.corp.io/a.png?owner=[EMAIL_1]");
    cr_assert_str_eq(out->messages[2].parts[1].url, "data:image/png;base64,Ym9iQGNvcnAuaW8=");
    cr_assert_eq(req->messages[1].n_parts, 4); /* the original is untouched */
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);
}

Test(redact, bad_findings_are_refused)
{
    lx_request *req = req_text("short"), *out = NULL;
    lx_redaction *m = NULL;
    lx_finding bad = {.type = "EMAIL", .start = 2, .end = 99, .field = LX_SCAN_FIELD_TEXT};
    lx_findings f = {.items = &bad, .n = 1, .cap = 1};
    lx_error err = {0};
    cr_assert_eq(lx_redact_request(req, &f, &out, &m, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "outside"), "%s", err.message);
    cr_assert_null(out);
    cr_assert_null(m);
    bad = (lx_finding){
        .type = "EMAIL", .start = 0, .end = 1, .message = 3, .field = LX_SCAN_FIELD_TEXT};
    cr_assert_eq(lx_redact_request(req, &f, &out, &m, &err), LX_ERR_INVALID);
    lx_request_free(req);
}

/* ---- streams -------------------------------------------------------------------- */

typedef struct fixture {
    lx_request *req, *out;
    lx_redaction *m;
    char *original, *redacted;
} fixture;

/* A text with several values, multibyte neighbours and a look-alike. */
static void fixture_new(fixture *x)
{
    const char *text = "Héllo [EMAIL_99] bob@corp.io, 日本 4111 1111 1111 1111 é"
                       "[bob@corp.io] ask Zoë Müller at 10.20.30.40[ or bob@corp.io][";
    x->req = req_text(text);
    redact(x->req, &x->out, &x->m);
    x->original = strdup(text);
    x->redacted = strdup(x->out->messages[0].parts[0].text);
    cr_assert_str_eq(x->redacted, "Héllo [EMAIL_99] [EMAIL_1], 日本 [CREDIT_CARD_1] é[[EMAIL_1]] "
                                  "ask [PERSON_1] at [IP_ADDRESS_1][ or [EMAIL_1]][");
}

static void fixture_free(fixture *x)
{
    lx_request_free(x->req);
    lx_request_free(x->out);
    lx_redaction_free(x->m);
    free(x->original);
    free(x->redacted);
}

Test(redact, stream_every_split_position)
{
    fixture x;
    fixture_new(&x);
    char *whole = restore_whole(x.m, x.redacted, false);
    cr_assert_str_eq(whole, x.original);
    size_t n = strlen(x.redacted);
    for (size_t k = 0; k <= n; k++)
        check_stream(x.m, x.redacted, x.original, &k, 1);
    /* every pair of split positions */
    for (size_t a = 0; a <= n; a += 1)
        for (size_t b = a; b <= n; b += 3) {
            size_t c[2] = {a, b};
            check_stream(x.m, x.redacted, x.original, c, 2);
        }
    free(whole);
    fixture_free(&x);
}

Test(redact, stream_byte_by_byte_and_random)
{
    fixture x;
    fixture_new(&x);
    size_t n = strlen(x.redacted);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    check_stream(x.m, x.redacted, x.original, cuts, n);
    srand(1234);
    for (int round = 0; round < 500; round++) {
        size_t k = 0, pos = 0;
        while (pos < n) {
            pos += 1 + (size_t)rand() % 12;
            if (pos > n)
                pos = n;
            cuts[k++] = pos;
        }
        check_stream(x.m, x.redacted, x.original, cuts, k);
    }
    free(cuts);
    fixture_free(&x);
}

Test(redact, stream_thinking_and_interleaved_tools)
{
    fixture x;
    fixture_new(&x);
    rec r;
    rec_init(&r);
    lx_restore *f;
    cr_assert_eq(lx_restore_new(x.m, rec_event, &r, &f), LX_OK);
    const char *a0 = "{\"to\":\"[EMAIL_1]\",\"ip\":\"[IP_ADDRESS_1]\"}";
    const char *a1 = "{\"card\":\"[CREDIT_CARD_1]\",\"who\":\"[PERSON_1]\"}";
    size_t n0 = strlen(a0), n1 = strlen(a1);
    lx_event ev = {.kind = LX_EV_START};
    cr_assert_eq(lx_restore_event(f, &ev), LX_OK);
    /* thinking byte by byte, then its signature */
    const char *th = x.redacted;
    for (size_t i = 0; th[i]; i++) {
        ev = (lx_event){.kind = LX_EV_THINKING, .text = th + i, .len = 1};
        cr_assert_eq(lx_restore_event(f, &ev), LX_OK);
    }
    ev = (lx_event){.kind = LX_EV_THINKING, .signature = "sig"};
    cr_assert_eq(lx_restore_event(f, &ev), LX_OK);
    cr_assert_str_eq(buf_str(&r.think), x.original);
    for (int i = 0; i < 2; i++) {
        ev = (lx_event){.kind = LX_EV_TOOL_START, .index = i, .name = "f"};
        cr_assert_eq(lx_restore_event(f, &ev), LX_OK);
    }
    for (size_t i = 0; i < n0 || i < n1; i++) { /* two calls, interleaved bytes */
        if (i < n0) {
            ev = (lx_event){.kind = LX_EV_TOOL_ARGS, .index = 0, .text = a0 + i, .len = 1};
            cr_assert_eq(lx_restore_event(f, &ev), LX_OK);
        }
        if (i < n1) {
            ev = (lx_event){.kind = LX_EV_TOOL_ARGS, .index = 1, .text = a1 + i, .len = 1};
            cr_assert_eq(lx_restore_event(f, &ev), LX_OK);
        }
        if (i == n0 - 1) {
            ev = (lx_event){.kind = LX_EV_TOOL_END, .index = 0};
            cr_assert_eq(lx_restore_event(f, &ev), LX_OK);
        }
    }
    ev = (lx_event){.kind = LX_EV_TOOL_END, .index = 1};
    cr_assert_eq(lx_restore_event(f, &ev), LX_OK);
    finish(f);
    cr_assert_str_eq(buf_str(&r.args[0]), "{\"to\":\"bob@corp.io\",\"ip\":\"10.20.30.40\"}");
    cr_assert_str_eq(buf_str(&r.args[1]),
                     "{\"card\":\"4111 1111 1111 1111\",\"who\":\"Zoë Müller\"}");
    cr_assert_eq(r.kinds[0], 'S');
    cr_assert_eq(r.kinds[r.n_kinds - 1], 'F');
    lx_restore_free(f);
    rec_free(&r);
    fixture_free(&x);
}

Test(redact, held_text_flushed_and_order_kept)
{
    fixture x;
    fixture_new(&x);
    rec r;
    rec_init(&r);
    lx_restore *f;
    cr_assert_eq(lx_restore_new(x.m, rec_event, &r, &f), LX_OK);
    lx_event evs[] = {
        {.kind = LX_EV_START},
        {.kind = LX_EV_TEXT, .text = "x [EM", .len = 5, .n_tokens = 2, .logprob = -0.5},
        {.kind = LX_EV_USAGE},
        {.kind = LX_EV_TEXT, .text = "AIL_1] y [CRE", .len = 13, .n_tokens = 3, .logprob = -1},
        {.kind = LX_EV_TEXT, .text = "DIT", .len = 3, .n_tokens = 1, .logprob = -0.25},
        {.kind = LX_EV_FINISH},
    };
    for (size_t i = 0; i < sizeof evs / sizeof *evs; i++)
        cr_assert_eq(lx_restore_event(f, &evs[i]), LX_OK);
    cr_assert_str_eq(buf_str(&r.text), "x bob@corp.io y [CREDIT");
    cr_assert_str_eq(r.kinds, "STUTTF"); /* held "[CREDIT" flushed before FINISH */
    cr_assert_eq(r.n_tokens, 6);
    cr_assert_float_eq(r.logprob, -1.75, 1e-9);
    lx_restore_free(f);
    rec_free(&r);

    /* held text ends at ERROR too; a switch to thinking flushes text */
    rec_init(&r);
    cr_assert_eq(lx_restore_new(x.m, rec_event, &r, &f), LX_OK);
    lx_event e2[] = {{.kind = LX_EV_TEXT, .text = "a [IP_", .len = 6},
                     {.kind = LX_EV_THINKING, .text = "t [PER", .len = 6},
                     {.kind = LX_EV_ERROR}};
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(lx_restore_event(f, &e2[i]), LX_OK);
    cr_assert_str_eq(r.kinds, "TTKKX");
    cr_assert_str_eq(buf_str(&r.text), "a [IP_");
    cr_assert_str_eq(buf_str(&r.think), "t [PER");
    lx_restore_free(f);
    rec_free(&r);
    fixture_free(&x);
}

Test(redact, sink_refusal_stops_the_filter)
{
    fixture x;
    fixture_new(&x);
    rec r;
    rec_init(&r);
    r.refuse_at = 2;
    lx_restore *f;
    cr_assert_eq(lx_restore_new(x.m, rec_event, &r, &f), LX_OK);
    lx_event s = {.kind = LX_EV_START}, t = {.kind = LX_EV_TEXT, .text = "hi", .len = 2};
    cr_assert_eq(lx_restore_event(f, &s), LX_OK);
    cr_assert_eq(lx_restore_event(f, &t), LX_ERR_CANCELLED);
    cr_assert_eq(lx_restore_event(f, &t), LX_ERR_CANCELLED);
    lx_event fin = {.kind = LX_EV_FINISH};
    cr_assert_eq(lx_restore_event(f, &fin), LX_ERR_CANCELLED);
    cr_assert_eq(r.n_kinds, 2);
    lx_restore_free(f);
    rec_free(&r);
    fixture_free(&x);
}

Test(redact, restore_response_parts)
{
    fixture x;
    fixture_new(&x);
    lx_response *r = lx_response_new();
    lx_part *t = lx_response_add_part(r, LX_PART_THINKING);
    t->text = lx_arena_strdup(r->arena, "think [PERSON_1]");
    lx_part *p = lx_response_add_part(r, LX_PART_TEXT);
    p->text = lx_arena_strdup(r->arena, "to [EMAIL_1] [EMAIL_2]");
    lx_part *c = lx_response_add_part(r, LX_PART_TOOL_CALL);
    c->arguments = lx_arena_strdup(r->arena, "{\"a\":\"[IP_ADDRESS_1]\"}");
    cr_assert_eq(lx_restore_response(x.m, r), LX_OK);
    cr_assert_str_eq(t->text, "think Zoë Müller");
    cr_assert_str_eq(p->text, "to bob@corp.io [EMAIL_2]");
    cr_assert_str_eq(c->arguments, "{\"a\":\"10.20.30.40\"}");
    lx_response_free(r);
    fixture_free(&x);
}

Test(redact, many_values_in_one_field)
{
    /* more values than the map's first allocation, in text and in JSON */
    char text[4096] = "", args[4096] = "{\"to\":[";
    for (int i = 0; i < 60; i++) {
        char one[64];
        snprintf(one, sizeof one, "user%d@corp.io ", i);
        strcat(text, one);
        snprintf(one, sizeof one, "%s\"user%d@corp.io\"", i ? "," : "", 59 - i);
        strcat(args, one);
    }
    strcat(args, "]}");
    lx_request *req = lx_request_new();
    add_part(req, LX_ROLE_USER, LX_PART_TEXT)->text = lx_arena_strdup(req->arena, text);
    add_part(req, LX_ROLE_ASSISTANT, LX_PART_TOOL_CALL)->arguments =
        lx_arena_strdup(req->arena, args);
    lx_request *out;
    lx_redaction *m;
    redact(req, &out, &m);
    cr_assert_eq(lx_redaction_count(m), 60);
    const char *ra = out->messages[1].parts[0].arguments;
    cr_assert(strncmp(ra, "{\"to\":[\"[EMAIL_60]\",\"[EMAIL_59]\"", 30) == 0, "%s", ra);
    char *back = restore_whole(m, out->messages[0].parts[0].text, false);
    cr_assert_str_eq(back, text);
    free(back);
    back = restore_whole(m, ra, true);
    cr_assert_str_eq(back, args);
    free(back);
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);
}

/* A naive restore, the oracle: at each '[', the text up to the next ']'
 * is looked up in the list of placeholders. */
static void naive_restore(const char *s, char *const *ph, char *const *val, size_t n, lx_buf *out)
{
    for (size_t i = 0; s[i];) {
        if (s[i] == '[') {
            const char *close = strchr(s + i + 1, ']');
            const char *open = strchr(s + i + 1, '[');
            if (close && (!open || open > close)) {
                size_t len = (size_t)(close - (s + i)) + 1;
                size_t k = 0;
                while (k < n && !(strlen(ph[k]) == len && !memcmp(ph[k], s + i, len)))
                    k++;
                if (k < n) {
                    lx_buf_puts(out, val[k]);
                    i += len;
                    continue;
                }
            }
        }
        lx_buf_putc(out, s[i++]);
    }
}

Test(redact, stream_adversarial_alphabet_against_naive_oracle)
{
    /* twelve emails: [EMAIL_1] is a prefix of [EMAIL_1x] look-alikes and
     * "[EMAIL_1" of [EMAIL_10], [EMAIL_11], [EMAIL_12] */
    char text[1024] = "";
    char *ph[12], *val[12];
    for (int i = 0; i < 12; i++) {
        char v[32];
        snprintf(v, sizeof v, "u%d@corp.io ", i);
        strcat(text, v);
    }
    lx_request *req = req_text(text), *out;
    lx_redaction *m;
    redact(req, &out, &m);
    cr_assert_eq(lx_redaction_count(m), 12);
    for (int i = 0; i < 12; i++) {
        ph[i] = malloc(32);
        val[i] = malloc(32);
        snprintf(ph[i], 32, "[EMAIL_%d]", i + 1);
        snprintf(val[i], 32, "u%d@corp.io", i);
    }
    static const char *const atoms[] = {"[", "]",  "[EMAIL_",   "EMAIL_",     "1",          "2",
                                        "0", "_",  "[EMAIL_1]", "[EMAIL_12]", "[EMAIL_13]", "x",
                                        "é", "日", "[[",        "[EMAIL_1",   "]]",         " "};
    size_t n_atoms = sizeof atoms / sizeof *atoms;
    srand(99);
    lx_buf want;
    lx_buf_init(&want, 0);
    for (int round = 0; round < 3000; round++) {
        char s[512] = "";
        int k = 1 + rand() % 24;
        for (int i = 0; i < k; i++)
            strcat(s, atoms[rand() % n_atoms]);
        lx_buf_reset(&want);
        naive_restore(s, ph, val, 12, &want);
        char *whole = restore_whole(m, s, false);
        cr_assert_str_eq(whole, buf_str(&want), "input '%s'", s);
        free(whole);
        size_t n = strlen(s), cuts[512], nc = 0, pos = 0;
        while (pos < n) {
            pos += 1 + (size_t)rand() % 5;
            if (pos < n)
                cuts[nc++] = pos;
            else
                break;
        }
        check_stream(m, s, buf_str(&want), cuts, nc);
    }
    lx_buf_free(&want);
    for (int i = 0; i < 12; i++) {
        free(ph[i]);
        free(val[i]);
    }
    lx_request_free(out);
    lx_redaction_free(m);
    lx_request_free(req);
}

Test(redact, numbering_is_stable_across_turns)
{
    /* turn 1, then turn 2 carrying turn 1 as history: the earlier values
     * keep their placeholders (so the upstream prompt cache still hits) */
    lx_request *t1 = lx_request_new();
    add_part(t1, LX_ROLE_USER, LX_PART_TEXT)->text =
        lx_arena_strdup(t1->arena, "mail bob@corp.io at 10.1.2.3");
    lx_request *t2 = lx_request_new();
    add_part(t2, LX_ROLE_USER, LX_PART_TEXT)->text =
        lx_arena_strdup(t2->arena, "mail bob@corp.io at 10.1.2.3");
    add_part(t2, LX_ROLE_ASSISTANT, LX_PART_TEXT)->text =
        lx_arena_strdup(t2->arena, "Sent to bob@corp.io.");
    add_part(t2, LX_ROLE_USER, LX_PART_TEXT)->text =
        lx_arena_strdup(t2->arena, "now eve@corp.io and bob@corp.io");
    lx_request *o1, *o2;
    lx_redaction *m1, *m2;
    redact(t1, &o1, &m1);
    redact(t2, &o2, &m2);
    cr_assert_str_eq(o1->messages[0].parts[0].text, "mail [EMAIL_1] at [IP_ADDRESS_1]");
    cr_assert_str_eq(o2->messages[0].parts[0].text, o1->messages[0].parts[0].text);
    cr_assert_str_eq(o2->messages[1].parts[0].text, "Sent to [EMAIL_1].");
    cr_assert_str_eq(o2->messages[2].parts[0].text, "now [EMAIL_2] and [EMAIL_1]");
    lx_request_free(o1);
    lx_request_free(o2);
    lx_redaction_free(m1);
    lx_redaction_free(m2);
    lx_request_free(t1);
    lx_request_free(t2);
}
