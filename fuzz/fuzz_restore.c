/* libFuzzer target: redaction and restore (guard/redact.c).
 *
 * The input is cut at its 0 bytes into a control block, a text and a
 * string (up to a third 0, if any). A request is built from them: the text as a user message
 * and as a tool result, the string inside tool-call arguments made by
 * jansson (sometimes with every non-ASCII character escaped), so the
 * arguments are valid JSON with escapes in them. Findings come from the
 * scanner, or, when the control block's first byte is odd, are drawn at
 * random from the control bytes: any span, crossing quotes, escape
 * sequences and UTF-8 characters. Checked on every input:
 *   - redaction succeeds, the arguments stay valid JSON, and restoring the
 *     redacted request gives the original back: texts byte for byte,
 *     arguments as JSON values;
 *   - a stream of the redacted text and arguments, cut into pieces whose
 *     sizes come from the control block and mixed with USAGE events and a
 *     second tool call, restores to exactly what the whole-text restore
 *     gives, with every TEXT event valid UTF-8 when the text is.
 * Any failure is __builtin_trap(). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "guard/redact.h"
#include "guard/scanner.h"

static lx_scanner *scanner;
static lx_scan_scratch *scratch;

static void init(void)
{
    static const lx_scan_term terms[] = {{"CODENAME", "ab"}, {"PERSON", "Zoe"}};
    static const lx_scan_regex regexes[] = {{"TICKET", "q[a-z\\\\\"]{0,5}q", 0}};
    lx_scan_config cfg = {.terms = terms, .n_terms = 2, .regexes = regexes, .n_regexes = 1};
    if (lx_scanner_new(&cfg, &scanner, NULL) != LX_OK ||
        lx_scan_scratch_new(scanner, &scratch, NULL) != LX_OK)
        __builtin_trap();
}

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

typedef struct rng {
    const uint8_t *p;
    size_t n, i;
    uint32_t x;
} rng;

static uint32_t next(rng *r)
{
    r->x = r->x * 1103515245u + 12345u + (r->n ? r->p[r->i++ % r->n] : 0);
    return r->x >> 8;
}

typedef struct sink {
    lx_buf text, args[2];
    bool bad_utf8;
    bool finished;
} sink;

static lx_status on_event(void *ud, const lx_event *ev)
{
    sink *s = ud;
    lx_buf *b = ev->kind == LX_EV_TEXT        ? &s->text
                : ev->kind == LX_EV_TOOL_ARGS ? &s->args[ev->index & 1]
                                              : NULL;
    CHECK(!s->finished);
    if (ev->kind == LX_EV_FINISH)
        s->finished = true;
    if (b && ev->len) {
        if (ev->kind == LX_EV_TEXT && lx_utf8_valid_prefix(ev->text, ev->len) != ev->len)
            s->bad_utf8 = true;
        CHECK(lx_buf_append(b, ev->text, ev->len) == LX_OK);
    }
    return LX_OK;
}

/* Whole restore of one text through a one-part response (malloc'd). */
static char *restore_whole(const lx_redaction *m, const char *t, bool args)
{
    lx_response *r = lx_response_new();
    CHECK(r);
    lx_part *p = lx_response_add_part(r, args ? LX_PART_TOOL_CALL : LX_PART_TEXT);
    CHECK(p);
    char **f = args ? &p->arguments : &p->text;
    *f = lx_arena_strdup(r->arena, t);
    CHECK(lx_restore_response(m, r) == LX_OK);
    char *o = strdup(*f);
    CHECK(o);
    lx_response_free(r);
    return o;
}

static void feed(lx_restore *f, rng *g, lx_event_kind kind, int index, const char *s)
{
    size_t n = strlen(s), pos = 0;
    while (pos < n) {
        size_t k = 1 + next(g) % 9;
        if (k > n - pos)
            k = n - pos;
        lx_event ev = {.kind = kind, .index = index, .text = s + pos, .len = k};
        CHECK(lx_restore_event(f, &ev) == LX_OK);
        pos += k;
        if (next(g) % 7 == 0) {
            lx_event u = {.kind = LX_EV_USAGE};
            CHECK(lx_restore_event(f, &u) == LX_OK);
        }
    }
}

/* Random findings over the request's fields, sorted and apart. */
static void random_findings(const lx_request *req, rng *g, lx_findings *out)
{
    static const char *types[] = {"EMAIL", "PHONE", "CODENAME", "PASSWORD"};
    size_t cap = 64;
    out->items = calloc(cap, sizeof *out->items);
    CHECK(out->items);
    out->cap = cap;
    for (size_t mi = 0; mi < req->n_messages; mi++)
        for (size_t pi = 0; pi < req->messages[mi].n_parts; pi++) {
            const lx_part *p = &req->messages[mi].parts[pi];
            const char *t = p->text ? p->text : p->arguments;
            lx_scan_field fld = p->text ? LX_SCAN_FIELD_TEXT : LX_SCAN_FIELD_ARGUMENTS;
            size_t n = t ? strlen(t) : 0, pos = 0;
            while (n && out->n < cap) {
                pos += next(g) % 12;
                if (pos >= n)
                    break;
                size_t len = 1 + next(g) % 10;
                if (len > n - pos)
                    len = n - pos;
                out->items[out->n++] = (lx_finding){.type = types[next(g) % 4],
                                                    .builtin = -1,
                                                    .start = pos,
                                                    .end = pos + len,
                                                    .message = mi,
                                                    .part = pi,
                                                    .field = fld};
                pos += len;
            }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!scanner)
        init();
    const uint8_t *z1 = memchr(data, 0, size);
    if (!z1)
        return 0;
    const uint8_t *rest = z1 + 1;
    size_t rn = size - (size_t)(rest - data);
    const uint8_t *z2 = memchr(rest, 0, rn);
    if (!z2)
        return 0;
    rng g = {.p = data, .n = (size_t)(z1 - data), .x = 7};
    char *text = strndup((const char *)rest, (size_t)(z2 - rest));
    const char *sv = (const char *)z2 + 1;
    size_t sn = strnlen(sv, size - (size_t)((const uint8_t *)sv - data)); /* up to a third 0 */
    json_t *obj = json_pack("{s:s#,s:[s#,s]}", "a", sv, sn, "b", sv, sn, "tail");
    if (!text || !obj) { /* not UTF-8: jansson refuses the string */
        free(text);
        json_decref(obj);
        return 0;
    }
    char *args = json_dumps(obj, JSON_COMPACT | (g.n && (data[0] & 2) ? JSON_ENSURE_ASCII : 0));
    json_decref(obj);
    CHECK(args);

    lx_request *req = lx_request_new();
    CHECK(req);
    CHECK(lx_request_add_text(req, LX_ROLE_USER, text) == LX_OK);
    lx_message *am = lx_request_add_message(req, LX_ROLE_ASSISTANT);
    lx_part *call = lx_message_add_part(req, am, LX_PART_TOOL_CALL);
    call->name = lx_arena_strdup(req->arena, "f");
    call->arguments = lx_arena_strdup(req->arena, args);
    lx_message *tm = lx_request_add_message(req, LX_ROLE_TOOL);
    lx_part *res = lx_message_add_part(req, tm, LX_PART_TOOL_RESULT);
    res->text = lx_arena_strdup(req->arena, text);

    lx_findings f = {0};
    bool drawn = g.n && (data[0] & 1);
    if (drawn)
        random_findings(req, &g, &f);
    else
        CHECK(lx_scan_request(scanner, scratch, req, &f, NULL) == LX_OK);
    lx_request *red = NULL;
    lx_redaction *m = NULL;
    CHECK(lx_redact_request(req, &f, &red, &m, NULL) == LX_OK);
    const char *rtext = red->messages[0].parts[0].text;
    const char *rargs = red->messages[1].parts[0].arguments;
    if (!drawn) /* the same text scanned twice: the same values, the same placeholders */
        CHECK(!strcmp(red->messages[2].parts[0].text, rtext));

    /* whole restore gives the original */
    char *wtext = restore_whole(m, rtext, false);
    CHECK(!strcmp(wtext, text));
    json_t *ja = json_loads(rargs, 0, NULL);
    CHECK(ja); /* still JSON */
    json_decref(ja);
    char *wargs = restore_whole(m, rargs, true);
    json_t *a = json_loads(wargs, 0, NULL), *b = json_loads(args, 0, NULL);
    CHECK(a && b && json_equal(a, b));
    json_decref(a);
    json_decref(b);

    /* streamed in pieces: the same as the whole restore */
    sink s = {0};
    lx_buf_init(&s.text, 0);
    lx_buf_init(&s.args[0], 0);
    lx_buf_init(&s.args[1], 0);
    lx_restore *flt = NULL;
    CHECK(lx_restore_new(m, on_event, &s, &flt) == LX_OK);
    lx_event ev = {.kind = LX_EV_START};
    CHECK(lx_restore_event(flt, &ev) == LX_OK);
    feed(flt, &g, LX_EV_TEXT, 0, rtext);
    ev = (lx_event){.kind = LX_EV_TOOL_START, .index = 0, .name = "f"};
    CHECK(lx_restore_event(flt, &ev) == LX_OK);
    ev.index = 1;
    CHECK(lx_restore_event(flt, &ev) == LX_OK);
    feed(flt, &g, LX_EV_TOOL_ARGS, 1, rtext);
    feed(flt, &g, LX_EV_TOOL_ARGS, 0, rargs);
    if (next(&g) & 1) {
        ev = (lx_event){.kind = LX_EV_TOOL_END, .index = 0};
        CHECK(lx_restore_event(flt, &ev) == LX_OK);
    }
    ev = (lx_event){.kind = LX_EV_FINISH, .finish = LX_FINISH_STOP};
    CHECK(lx_restore_event(flt, &ev) == LX_OK);
    CHECK(s.text.len == strlen(wtext) &&
          !memcmp(s.text.data ? s.text.data : "", wtext, s.text.len));
    CHECK(s.args[0].len == strlen(wargs) &&
          !memcmp(s.args[0].data ? s.args[0].data : "", wargs, s.args[0].len));
    char *j1 = restore_whole(m, rtext, true);
    CHECK(s.args[1].len == strlen(j1) &&
          !memcmp(s.args[1].data ? s.args[1].data : "", j1, s.args[1].len));
    if (lx_utf8_valid_prefix(text, strlen(text)) == strlen(text))
        CHECK(!s.bad_utf8);

    free(j1);
    lx_restore_free(flt);
    lx_buf_free(&s.text);
    lx_buf_free(&s.args[0]);
    lx_buf_free(&s.args[1]);
    free(wtext);
    free(wargs);
    lx_findings_free(&f);
    lx_request_free(red);
    lx_redaction_free(m);
    lx_request_free(req);
    free(args);
    free(text);
    return 0;
}
