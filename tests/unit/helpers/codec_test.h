/*
 * codec_test.h — the scaffolding the codec tests share (test_openai,
 * test_anthropic, test_gemini, test_ollama, test_roundtrip).
 *
 * Two layers:
 *   codec_test.c  plain C that asserts nothing: fixture loading, an event
 *                 recorder that writes each lx_event as text, feeding a
 *                 stream decoder in pieces, NULL-tolerant string equality.
 *                 The Makefile links every .c in tests/unit/helpers/ into every
 *                 unit test, so it uses no Criterion symbol.
 *   this header   the helpers that assert, `static inline` so that only the
 *                 tests that include it compile them (codec_test.c defines
 *                 LX_CODEC_TEST_PLAIN to see only the plain half).
 *
 * The stream checks are the heart of it: a decoder must give the same
 * events, status and error message whatever the split of its input, so
 * lx_test_check_stream() runs a fixture whole, then in pieces of every size
 * from 1 byte up, then in 50 runs of pseudo-random pieces, and compares
 * every run with the first.
 *
 * Two event log styles are kept because each family of tests spells its
 * expected logs one way:
 *   LX_TEST_LOG_LINES  "start ID MODEL\ntext [Hi]\n...finish stop -\n"
 *                      (OpenAI, Anthropic: one line an event, the finish line
 *                      carries the stop sequence)
 *   LX_TEST_LOG_CALLS  "start(ID,MODEL) text(Hi) ... finish(stop) "
 *                      (Gemini, Ollama: one call an event, the error call
 *                      carries the message)
 * Absent strings are written as "-".
 *
 * Ownership: lx_test_load() and lx_test_slurp() return heap strings the
 * caller frees; decode helpers return new objects (lx_request_free,
 * lx_response_free, json_decref); a recorder's log is the caller's to
 * lx_buf_free.
 */
#ifndef LX_TEST_CODEC_TEST_H
#define LX_TEST_CODEC_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/types.h"
#include "proto/codec.h"

/* ---- plain helpers (codec_test.c) ------------------------------------------- */

typedef enum { LX_TEST_LOG_LINES, LX_TEST_LOG_CALLS } lx_test_log_style;

/* The codec under test and how its expected event logs are written. */
typedef struct {
    const lx_codec *codec;
    lx_test_log_style log;
} lx_test_codec;

/* An lx_event_fn that writes every event to `log` (see the styles above). */
typedef struct {
    lx_buf log;
    lx_test_log_style style;
    int refuse_at; /* refuse the Nth event (1-based) with LX_ERR_CANCELLED; 0 never */
    int count;     /* events seen, the refused one included */
} lx_test_rec;

/* lx_event_fn for an lx_test_rec; a refused event is not logged. */
lx_status lx_test_rec_event(void *rec, const lx_event *ev);
/* The log so far; "" when nothing was logged. */
const char *lx_test_log(const lx_test_rec *r);

/* Reads a whole file into a NUL-terminated heap string (caller frees);
 * NULL when it cannot be opened or read. `len` may be NULL. */
char *lx_test_slurp(const char *path, size_t *len);

/* Feeds `data` to `d` in pieces of `step` bytes (0: all at once) or, when
 * `seed` is not 0, in pseudo-random pieces of 1 to 64 bytes drawn from
 * `seed`; then calls finish. Returns the first status that is not LX_OK, or
 * finish's. Does not free `d`. */
lx_status lx_test_feed(lx_stream_decoder *d, const char *data, size_t n, size_t step, unsigned seed,
                       lx_error *err);

/* Strings equal, NULL and "" being the same. */
bool lx_test_streq(const char *a, const char *b);

/* Adds a part of kind `k` to `m`, with a copy of `text` (NULL: none). */
lx_part *lx_test_add_part(lx_request *r, lx_message *m, lx_part_kind k, const char *text);

/* An lx_event_fn that passes each event to a stream encoder writing to `out`. */
typedef struct {
    lx_stream_encoder *enc;
    lx_buf *out;
} lx_test_bridge;
lx_status lx_test_bridge_event(void *bridge, const lx_event *ev);

/* ---- helpers that assert ------------------------------------------------------ */
#ifndef LX_CODEC_TEST_PLAIN

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lx_test_slurp() that fails the test when the file cannot be read. */
static inline char *lx_test_load(const char *path, size_t *len)
{
    char *s = lx_test_slurp(path, len);
    cr_assert_not_null(s, "cannot read %s (run from the repo root)", path);
    return s;
}

/* Runs `data` through a fresh decoder of t's codec into `r` (its log is
 * (re)initialised here; refuse_at is kept); pieces as lx_test_feed(). */
static inline lx_status lx_test_run_stream(const lx_test_codec *t, const char *data, size_t n,
                                           size_t step, unsigned seed, lx_test_rec *r,
                                           lx_error *err)
{
    lx_buf_init(&r->log, 0);
    r->style = t->log;
    lx_stream_decoder *d = t->codec->stream_decoder_new(lx_test_rec_event, r);
    cr_assert_not_null(d);
    lx_status st = lx_test_feed(d, data, n, step, seed, err);
    d->free(d);
    return st;
}

/* Runs the stream fixture at `path` whole, then at every piece size and in
 * 50 runs of random pieces: every run must end with `want` and log
 * `want_log`, and all runs must give the same error message. `want_msg`
 * (NULL: not checked) must be part of that message; `err_out` (may be NULL)
 * receives the error of the whole run. */
static inline void lx_test_check_stream(const lx_test_codec *t, const char *path, lx_status want,
                                        const char *want_log, const char *want_msg,
                                        lx_error *err_out)
{
    size_t n;
    char *s = lx_test_load(path, &n);
    lx_test_rec ref = {0};
    lx_error err = {0};
    lx_status st = lx_test_run_stream(t, s, n, n, 0, &ref, &err);
    cr_assert_eq(st, want, "%s: status %s, want %s: %s", path, lx_status_name(st),
                 lx_status_name(want), err.message);
    cr_assert_str_eq(lx_test_log(&ref), want_log, "%s:\n got %s\nwant %s", path, lx_test_log(&ref),
                     want_log);
    if (want_msg)
        cr_assert(strstr(err.message, want_msg), "%s: message [%s] lacks [%s]", path, err.message,
                  want_msg);
    for (size_t step = 1; step < n; step++) {
        lx_test_rec r = {0};
        lx_error e2 = {0};
        st = lx_test_run_stream(t, s, n, step, 0, &r, &e2);
        cr_assert_eq(st, want, "%s step %zu: status %s", path, step, lx_status_name(st));
        cr_assert_str_eq(lx_test_log(&r), lx_test_log(&ref), "%s step %zu", path, step);
        cr_assert_str_eq(e2.message, err.message, "%s step %zu", path, step);
        lx_buf_free(&r.log);
    }
    for (unsigned seed = 1; seed <= 50; seed++) {
        lx_test_rec r = {0};
        lx_error e2 = {0};
        st = lx_test_run_stream(t, s, n, 0, seed, &r, &e2);
        cr_assert_eq(st, want, "%s seed %u: status %s", path, seed, lx_status_name(st));
        cr_assert_str_eq(lx_test_log(&r), lx_test_log(&ref), "%s seed %u", path, seed);
        cr_assert_str_eq(e2.message, err.message, "%s seed %u", path, seed);
        lx_buf_free(&r.log);
    }
    if (err_out)
        *err_out = err;
    lx_buf_free(&ref.log);
    free(s);
}

/* Parses an encoder's output; the test fails when it is not JSON. */
static inline json_t *lx_test_parse_json(const lx_buf *b)
{
    json_error_t je;
    json_t *v = json_loadb(b->data ? b->data : "", b->len, 0, &je);
    cr_assert_not_null(v, "encoder output is not JSON: %s\n%s", je.text, b->data);
    return v;
}

/* Encodes `r` with `c` (must succeed) and parses the result. */
static inline json_t *lx_test_encode_json(const lx_codec *c, const lx_request *r,
                                          const lx_codec_opts *o)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error err = {0};
    lx_status st = c->request_encode(r, o, &b, &err);
    cr_assert_eq(st, LX_OK, "%s encode: %s: %s", c->name, lx_status_name(st), err.message);
    json_t *v = lx_test_parse_json(&b);
    lx_buf_free(&b);
    return v;
}

/* Decodes the request `body` with `c`: the status must be `want` and the
 * message contain `want_msg` (NULL: not checked); on failure *out must stay
 * NULL. Returns the request (NULL unless LX_OK). */
static inline lx_request *lx_test_decode_request(const lx_codec *c, const char *body,
                                                 lx_status want, const char *want_msg)
{
    lx_request *r = NULL;
    lx_error err = {0};
    lx_status st = c->request_decode(body, strlen(body), &r, &err);
    cr_assert_eq(st, want, "%s: status %s, want %s (%s)", c->name, lx_status_name(st),
                 lx_status_name(want), err.message);
    if (want_msg)
        cr_assert(strstr(err.message, want_msg), "message '%s' lacks '%s'", err.message, want_msg);
    if (st != LX_OK)
        cr_assert_null(r);
    return r;
}

/* Decodes the request fixture at `path` with `c`; it must decode. */
static inline lx_request *lx_test_decode_request_file(const lx_codec *c, const char *path)
{
    size_t n;
    char *s = lx_test_load(path, &n);
    lx_request *r = NULL;
    lx_error err = {0};
    cr_assert_eq(c->request_decode(s, n, &r, &err), LX_OK, "%s: %s", path, err.message);
    free(s);
    return r;
}

/* Decodes the response fixture at `path` with `c`; the status must be
 * `want`. `err` (may be NULL) receives the error. */
static inline lx_response *lx_test_decode_response_file(const lx_codec *c, const char *path,
                                                        lx_status want, lx_error *err)
{
    size_t n;
    char *s = lx_test_load(path, &n);
    lx_response *r = NULL;
    lx_error local = {0};
    if (!err)
        err = &local;
    lx_status st = c->response_decode(s, n, &r, err);
    cr_assert_eq(st, want, "%s: %s (%s)", path, lx_status_name(st), err->message);
    free(s);
    return r;
}

/* A malformed request body, the status it must give and a part of the
 * message. */
typedef struct {
    const char *body;
    lx_status st;
    const char *msg;
} lx_test_bad_input;

/* Each body must fail to decode as a request with its status and message,
 * leaving *out NULL. */
static inline void lx_test_check_bad_requests(const lx_codec *c, const lx_test_bad_input *cases,
                                              size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lx_request *r = (lx_request *)1;
        lx_error err = {0};
        lx_status st = c->request_decode(cases[i].body, strlen(cases[i].body), &r, &err);
        cr_assert_eq(st, cases[i].st, "case %zu: %s (%s)", i, lx_status_name(st), err.message);
        cr_assert_null(r, "case %zu", i);
        cr_assert(strstr(err.message, cases[i].msg), "case %zu: [%s] lacks [%s]", i, err.message,
                  cases[i].msg);
    }
}

/* Each cases[i][0], decoded as a whole response, must fail with
 * LX_ERR_PROTO, give no response and a message containing cases[i][1]. */
static inline void lx_test_check_bad_responses(const lx_codec *c, const char *(*cases)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lx_response *r = NULL;
        lx_error err = {0};
        lx_status st = c->response_decode(cases[i][0], strlen(cases[i][0]), &r, &err);
        cr_assert_eq(st, LX_ERR_PROTO, "case %zu (%s): %s: %s", i, cases[i][0], lx_status_name(st),
                     err.message);
        cr_assert_null(r, "case %zu", i);
        cr_assert(strstr(err.message, cases[i][1]), "case %zu (%s): [%s] lacks [%s]", i,
                  cases[i][0], err.message, cases[i][1]);
    }
}

/* Each cases[i][0], decoded as a stream in pieces of `step` bytes (0:
 * whole), must fail with LX_ERR_PROTO and a message containing cases[i][1]. */
static inline void lx_test_check_bad_streams(const lx_test_codec *t, const char *(*cases)[2],
                                             size_t n, size_t step)
{
    for (size_t i = 0; i < n; i++) {
        lx_test_rec r = {0};
        lx_error err = {0};
        lx_status st = lx_test_run_stream(t, cases[i][0], strlen(cases[i][0]), step, 0, &r, &err);
        cr_assert_eq(st, LX_ERR_PROTO, "case %zu (%s): %s: %s", i, cases[i][0], lx_status_name(st),
                     err.message);
        cr_assert(strstr(err.message, cases[i][1]), "case %zu (%s): [%s] lacks [%s]", i,
                  cases[i][0], err.message, cases[i][1]);
        lx_buf_free(&r.log);
    }
}

/* Pushes `n` events through a new stream encoder of `c`; each must be taken. */
static inline void lx_test_encode_events(const lx_codec *c, const lx_codec_opts *o,
                                         const lx_event *evs, size_t n, lx_buf *out)
{
    lx_stream_encoder *e = c->stream_encoder_new(o);
    cr_assert_not_null(e);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(e->event(e, &evs[i], out), LX_OK, "event %zu", i);
    e->free(e);
}

/* Decodes the stream `data` with `c` into a collected response, in pieces
 * of `step` bytes (0: whole); the stream must be complete. */
static inline lx_response *lx_test_collect(const lx_codec *c, const char *data, size_t n,
                                           size_t step)
{
    lx_collector col;
    cr_assert_eq(lx_collector_init(&col), LX_OK);
    lx_stream_decoder *d = c->stream_decoder_new(lx_collector_event, &col);
    cr_assert_not_null(d);
    lx_error err = {0};
    lx_status st = lx_test_feed(d, data, n, step, 0, &err);
    d->free(d);
    cr_assert_eq(st, LX_OK, "%s stream: %s: %s", c->name, lx_status_name(st), err.message);
    lx_response *out = lx_collector_take(&col);
    cr_assert_not_null(out);
    lx_collector_free(&col);
    return out;
}

/* Encodes `r` as a stream of `c` into `wire`, decodes it in 3-byte pieces
 * and returns what was collected. */
static inline lx_response *lx_test_stream_roundtrip(const lx_codec *c, const lx_response *r,
                                                    const lx_codec_opts *o, lx_buf *wire)
{
    lx_test_bridge b = {.enc = c->stream_encoder_new(o), .out = wire};
    cr_assert_not_null(b.enc);
    cr_assert_eq(lx_response_replay(r, lx_test_bridge_event, &b), LX_OK);
    b.enc->free(b.enc);
    return lx_test_collect(c, wire->data, wire->len, 3);
}

/* Parts equal field by field (NULL and "" alike); `what` names them. */
static inline void lx_test_assert_parts_eq(const lx_part *a, size_t na, const lx_part *b, size_t nb,
                                           const char *what)
{
    cr_assert_eq(na, nb, "%s: %zu parts vs %zu", what, na, nb);
    for (size_t i = 0; i < na; i++) {
        cr_assert_eq(a[i].kind, b[i].kind, "%s part %zu kind", what, i);
        cr_assert(lx_test_streq(a[i].text, b[i].text), "%s part %zu text '%s' vs '%s'", what, i,
                  a[i].text, b[i].text);
        cr_assert(lx_test_streq(a[i].id, b[i].id), "%s part %zu id", what, i);
        cr_assert(lx_test_streq(a[i].name, b[i].name), "%s part %zu name", what, i);
        cr_assert(lx_test_streq(a[i].arguments, b[i].arguments), "%s part %zu args '%s' vs '%s'",
                  what, i, a[i].arguments, b[i].arguments);
        cr_assert(lx_test_streq(a[i].signature, b[i].signature), "%s part %zu signature", what, i);
        cr_assert(lx_test_streq(a[i].data, b[i].data), "%s part %zu data", what, i);
        cr_assert(lx_test_streq(a[i].url, b[i].url), "%s part %zu url", what, i);
        cr_assert(lx_test_streq(a[i].media_type, b[i].media_type), "%s part %zu media_type", what,
                  i);
        cr_assert_eq(a[i].is_error, b[i].is_error, "%s part %zu is_error", what, i);
    }
}

/* Requests equal in messages, tools, tool choice, sampling, format and
 * thinking budget. */
static inline void lx_test_assert_requests_eq(const lx_request *a, const lx_request *b)
{
    cr_assert_eq(a->n_messages, b->n_messages, "messages %zu vs %zu", a->n_messages, b->n_messages);
    for (size_t i = 0; i < a->n_messages; i++) {
        char what[32];
        snprintf(what, sizeof what, "messages[%zu]", i);
        cr_assert_eq(a->messages[i].role, b->messages[i].role, "%s role", what);
        lx_test_assert_parts_eq(a->messages[i].parts, a->messages[i].n_parts, b->messages[i].parts,
                                b->messages[i].n_parts, what);
    }
    cr_assert_eq(a->n_tools, b->n_tools);
    for (size_t i = 0; i < a->n_tools; i++) {
        cr_assert_str_eq(a->tools[i].name, b->tools[i].name);
        cr_assert(lx_test_streq(a->tools[i].description, b->tools[i].description));
        cr_assert(lx_test_streq(a->tools[i].parameters, b->tools[i].parameters), "%s vs %s",
                  a->tools[i].parameters, b->tools[i].parameters);
    }
    cr_assert_eq(a->tool_choice.kind, b->tool_choice.kind);
    cr_assert(lx_test_streq(a->tool_choice.name, b->tool_choice.name));
    const lx_sampling *x = &a->sampling, *y = &b->sampling;
    cr_assert_eq(x->has_temperature, y->has_temperature);
    cr_assert_float_eq(x->temperature, y->temperature, 1e-9);
    cr_assert_eq(x->has_top_p, y->has_top_p);
    cr_assert_float_eq(x->top_p, y->top_p, 1e-9);
    cr_assert_eq(x->has_top_k, y->has_top_k);
    cr_assert_eq(x->top_k, y->top_k);
    cr_assert_eq(x->has_seed, y->has_seed);
    cr_assert_eq(x->seed, y->seed);
    cr_assert_eq(x->max_tokens, y->max_tokens);
    cr_assert_eq(x->n_stop, y->n_stop);
    for (size_t i = 0; i < x->n_stop; i++)
        cr_assert_str_eq(x->stop[i], y->stop[i]);
    cr_assert_eq(a->format.kind, b->format.kind);
    cr_assert(lx_test_streq(a->format.schema, b->format.schema));
    cr_assert_eq(a->thinking_budget, b->thinking_budget);
}

/* Responses equal in id, model, parts, finish and usage. */
static inline void lx_test_assert_responses_eq(const lx_response *a, const lx_response *b)
{
    cr_assert(lx_test_streq(a->id, b->id), "id %s vs %s", a->id, b->id);
    cr_assert(lx_test_streq(a->model, b->model), "model %s vs %s", a->model, b->model);
    lx_test_assert_parts_eq(a->parts, a->n_parts, b->parts, b->n_parts, "response");
    cr_assert_eq(a->finish, b->finish, "finish %s vs %s", lx_finish_name(a->finish),
                 lx_finish_name(b->finish));
    cr_assert_eq(a->has_usage, b->has_usage);
    cr_assert_eq(memcmp(&a->usage, &b->usage, sizeof a->usage), 0, "usage differs");
}

#endif /* LX_CODEC_TEST_PLAIN */
#endif
