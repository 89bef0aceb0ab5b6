/*
 * openai_req_fast.c — the OpenAI request path without jansson for the common
 * plain chat request (see the block at the end of openai.h).
 *
 * Encoder (lx_request -> upstream body): writes the bytes the jansson
 * encoder in openai.c would write (same keys, same order, compact, strings
 * escaped like jansson's dump, reals as jansson 2.14 prints them: "%.17g",
 * ".0" added when there is neither '.' nor 'e', '+' and leading zeros of
 * the exponent removed, nothing longer than 23 characters). It covers
 * system / user / assistant messages made of TEXT parts (other part kinds
 * that the jansson encoder skips are skipped the same way), the sampling
 * fields, stop, response_format json_object, stream + stream_options and
 * user. Anything else — tools, tool calls or results, images, a JSON
 * Schema format, a stop string that is not valid UTF-8, a real jansson
 * would refuse — is "not handled" and openai.c runs the jansson encoder,
 * which also produces today's errors.
 *
 * Decoder (caller body -> lx_request): see the second half of this file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "proto/json.h"
#include "proto/openai.h"

static bool fast_on = true;

void lx_openai_req_fast_enable(bool on)
{
    fast_on = on;
}

/* ---- encoder ------------------------------------------------------------- */

/* jansson 2.14's real formatting (jsonp_dtostr with precision 17 into a
 * 24-byte buffer); false where jansson's dump would fail. */
static bool real_text(double v, char *buf, size_t *len)
{
    enum { SIZE = 24 };
    if (!isfinite(v))
        return false;
    int ret = snprintf(buf, SIZE, "%.17g", v);
    if (ret < 0 || ret >= SIZE)
        return false;
    size_t n = (size_t)ret;
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        if (n + 3 >= SIZE)
            return false;
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = '\0';
    }
    char *start = strchr(buf, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, n - (size_t)(end - buf) + 1);
            n -= (size_t)(end - start);
        }
    }
    *len = n;
    return true;
}

static bool valid_utf8(const char *s)
{
    size_t n = strlen(s);
    return lx_utf8_valid_prefix(s, n) == n;
}

/* Whether the fast encoder covers r (see the file comment). */
static bool encodable(const lx_request *r)
{
    if (r->n_tools || r->format.kind == LX_FORMAT_JSON_SCHEMA)
        return false;
    for (size_t i = 0; i < r->sampling.n_stop; i++)
        if (!r->sampling.stop[i] || !valid_utf8(r->sampling.stop[i]))
            return false;
    if (r->sampling.has_temperature && !isfinite(r->sampling.temperature))
        return false;
    if (r->sampling.has_top_p && !isfinite(r->sampling.top_p))
        return false;
    for (size_t i = 0; i < r->n_messages; i++) {
        const lx_message *m = &r->messages[i];
        if (m->role == LX_ROLE_TOOL)
            return false;
        for (size_t j = 0; j < m->n_parts; j++) {
            lx_part_kind k = m->parts[j].kind;
            if ((m->role == LX_ROLE_USER && k == LX_PART_IMAGE) ||
                (m->role == LX_ROLE_ASSISTANT && k == LX_PART_TOOL_CALL))
                return false;
        }
    }
    return true;
}

#define PUT(lit) lx_buf_append(out, lit, sizeof lit - 1)

static lx_status quote(lx_buf *out, const char *s)
{
    return lx_json_quote(out, s ? s : "", s ? strlen(s) : 0);
}

/* The TEXT parts of m joined (NULL texts skipped) into b. */
static lx_status joined(const lx_message *m, lx_buf *b)
{
    lx_buf_reset(b);
    for (size_t j = 0; j < m->n_parts; j++)
        if (m->parts[j].kind == LX_PART_TEXT && m->parts[j].text &&
            lx_buf_puts(b, m->parts[j].text) != LX_OK)
            return LX_ERR_NOMEM;
    return LX_OK;
}

static lx_status message_out(const lx_message *m, lx_buf *b, lx_buf *out)
{
    lx_status st;
    if (m->role == LX_ROLE_SYSTEM) {
        if ((st = joined(m, b)) != LX_OK || (st = PUT("{\"role\":\"system\",\"content\":")) != LX_OK ||
            (st = lx_json_quote(out, b->data ? b->data : "", b->len)) != LX_OK)
            return st;
        return lx_buf_putc(out, '}');
    }
    if (m->role == LX_ROLE_USER) {
        if ((st = PUT("{\"role\":\"user\",\"content\":")) != LX_OK)
            return st;
        if (m->n_parts == 1 && m->parts[0].kind == LX_PART_TEXT) {
            if ((st = quote(out, m->parts[0].text)) != LX_OK)
                return st;
        } else {
            bool first = true;
            if ((st = lx_buf_putc(out, '[')) != LX_OK)
                return st;
            for (size_t j = 0; j < m->n_parts; j++) {
                if (m->parts[j].kind != LX_PART_TEXT)
                    continue;
                if ((!first && (st = lx_buf_putc(out, ',')) != LX_OK) ||
                    (st = PUT("{\"type\":\"text\",\"text\":")) != LX_OK ||
                    (st = quote(out, m->parts[j].text)) != LX_OK ||
                    (st = lx_buf_putc(out, '}')) != LX_OK)
                    return st;
                first = false;
            }
            if ((st = lx_buf_putc(out, ']')) != LX_OK)
                return st;
        }
        return lx_buf_putc(out, '}');
    }
    /* assistant: earlier model output, repaired rather than refused */
    if ((st = joined(m, b)) != LX_OK)
        return st;
    if (lx_utf8_valid_prefix(b->data ? b->data : "", b->len) < b->len &&
        (st = lx_utf8_lossy(b->data, b->len, b)) != LX_OK)
        return st;
    if ((st = PUT("{\"role\":\"assistant\",\"content\":")) != LX_OK ||
        (st = lx_json_quote(out, b->data ? b->data : "", b->len)) != LX_OK)
        return st;
    return lx_buf_putc(out, '}');
}

static lx_status real_out(lx_buf *out, const char *key, size_t klen, double v)
{
    char num[24];
    size_t n;
    if (!real_text(v, num, &n))
        return LX_ERR_INVALID; /* not reached: encodable() checked */
    lx_status st = lx_buf_append(out, key, klen);
    return st == LX_OK ? lx_buf_append(out, num, n) : st;
}

static lx_status body_out(const lx_request *r, const char *model, const lx_codec_opts *o,
                          lx_buf *out)
{
    lx_status st;
    lx_buf b;
    lx_buf_init(&b, 0);
    if ((st = PUT("{\"model\":")) != LX_OK || (st = quote(out, model)) != LX_OK ||
        (st = PUT(",\"messages\":[")) != LX_OK)
        goto done;
    for (size_t i = 0; i < r->n_messages; i++)
        if ((i && (st = lx_buf_putc(out, ',')) != LX_OK) ||
            (st = message_out(&r->messages[i], &b, out)) != LX_OK)
            goto done;
    if ((st = lx_buf_putc(out, ']')) != LX_OK)
        goto done;
    const lx_sampling *s = &r->sampling;
    if (s->has_temperature &&
        (st = real_out(out, ",\"temperature\":", 15, s->temperature)) != LX_OK)
        goto done;
    if (s->has_top_p && (st = real_out(out, ",\"top_p\":", 9, s->top_p)) != LX_OK)
        goto done;
    if (s->has_seed && (st = lx_buf_printf(out, ",\"seed\":%lld", (long long)s->seed)) != LX_OK)
        goto done;
    if (s->max_tokens > 0 && (st = lx_buf_printf(out, ",\"max_completion_tokens\":%lld",
                                                 (long long)s->max_tokens)) != LX_OK)
        goto done;
    if (s->n_stop) {
        if ((st = PUT(",\"stop\":[")) != LX_OK)
            goto done;
        for (size_t i = 0; i < s->n_stop; i++)
            if ((i && (st = lx_buf_putc(out, ',')) != LX_OK) ||
                (st = quote(out, s->stop[i])) != LX_OK)
                goto done;
        if ((st = lx_buf_putc(out, ']')) != LX_OK)
            goto done;
    }
    if (r->format.kind == LX_FORMAT_JSON &&
        (st = PUT(",\"response_format\":{\"type\":\"json_object\"}")) != LX_OK)
        goto done;
    if (o && o->stream &&
        (st = PUT(",\"stream\":true,\"stream_options\":{\"include_usage\":true}")) != LX_OK)
        goto done;
    if (r->user && ((st = PUT(",\"user\":")) != LX_OK || (st = quote(out, r->user)) != LX_OK))
        goto done;
    st = lx_buf_putc(out, '}');
done:
    lx_buf_free(&b);
    return st;
}

bool lx_openai_req_encode_fast(const lx_request *r, const char *model, const lx_codec_opts *o,
                               lx_buf *out)
{
    if (!fast_on || !encodable(r))
        return false;
    size_t start = out->len;
    if (body_out(r, model, o, out) == LX_OK)
        return true;
    /* out of memory or over the cap: undo, let jansson fail the same way */
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return false;
}

/* ---- decoder --------------------------------------------------------------
 *
 * Accepted: one JSON object (whitespace around it), every value anywhere in
 * it valid for jansson 2.14 (json_loadb, JSON_DECODE_ANY | JSON_ALLOW_NUL),
 * where the keys request_decode reads hold only what this reader
 * interprets exactly as request_decode does:
 *   model: non-empty string; messages: non-empty array of
 *   {role: "system"|"developer", content: null|string|[{type:"text",text}]}
 *   {role: "user", content: null|string|[{type:"text",text}|{type:"refusal",refusal}]}
 *   {role: "assistant", content: (as user), reasoning_content, refusal:
 *    string|null, tool_calls: null|[]};
 *   temperature, top_p: number|null; top_k, seed: integer (or an integral
 *   real) |null; max_completion_tokens / max_tokens: positive integer|null;
 *   stop: null|string|[string]; stream, parallel_tool_calls: bool|null;
 *   user: string|null; stream_options: null|{include_usage: bool|null};
 *   tools: null|[]; tool_choice: null|"none"|"auto"|"required";
 *   response_format: null|{type:"text"|"json_object"}.
 * Other keys (anywhere) are read only to check them and ignored, as jansson
 * builds and request_decode ignores them. Not handled (jansson decides,
 * with today's result or error): any error request_decode would report,
 * images, tool calls and results, tools, a named tool_choice, JSON Schema,
 * a key the decoder reads given twice (top level, message or part), an
 * escape in such a key, \u0000 anywhere, nesting deeper than 32, a number
 * token longer than 63 characters, and of course anything jansson refuses
 * (the string and number rules are those of openai_fast.c; reals go
 * through strtod and integers through strtoll on the token text, as in
 * jansson, refused on overflow).
 */

enum { MAX_DEPTH = 32, MAX_NUM = 63 };

typedef struct {
    const unsigned char *p, *end;
    bool trusted; /* text checked already: strings are only delimited again */
} rd;

typedef enum { V_ABSENT = 0, V_NULL, V_TRUE, V_FALSE, V_INT, V_REAL, V_STR, V_ARR, V_OBJ } vkind;

typedef struct {
    vkind kind;
    const unsigned char *p, *q; /* V_STR: the raw contents; V_ARR/V_OBJ: the whole value */
    bool esc;                   /* V_STR: holds a backslash */
    int64_t i;
    double d;
} val;

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = lx_hex_digit((char)p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* A string at r->p (the opening quote): checked, not decoded. */
static bool str_scan(rd *r, val *v)
{
    const unsigned char *p = r->p + 1, *end = r->end;
    bool esc = false;
    if (r->trusted) {
        const unsigned char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return false;
        if (memchr(p, '\\', (size_t)(q - p))) {
            esc = true;
            while (p < end && *p != '"')
                p += *p == '\\' ? 2 : 1;
            if (p >= end)
                return false;
        } else {
            p = q;
        }
        goto done;
    }
    for (;;) {
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= end)
            return false;
        unsigned char c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return false;
        if (c >= 0x80) {
            int k = lx_utf8_seq(p, (size_t)(end - p));
            if (k <= 0)
                return false;
            p += k;
            continue;
        }
        esc = true;
        if (end - p < 2)
            return false;
        c = p[1];
        p += 2;
        if (c == 'u') {
            if (end - p < 4)
                return false;
            int u = hex4(p);
            p += 4;
            if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
                return false; /* \u0000 (not handled) or a lone low surrogate */
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return false;
                int lo = hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return false;
                p += 6;
            }
        } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
            return false;
        }
    }
done:
    v->kind = V_STR;
    v->p = r->p + 1;
    v->q = p;
    v->esc = esc;
    r->p = p + 1;
    return true;
}

static char *put_utf8(char *o, unsigned u)
{
    if (u < 0x80) {
        *o++ = (char)u;
    } else if (u < 0x800) {
        *o++ = (char)(0xC0 | u >> 6);
        *o++ = (char)(0x80 | (u & 0x3F));
    } else if (u < 0x10000) {
        *o++ = (char)(0xE0 | u >> 12);
        *o++ = (char)(0x80 | (u >> 6 & 0x3F));
        *o++ = (char)(0x80 | (u & 0x3F));
    } else {
        *o++ = (char)(0xF0 | u >> 18);
        *o++ = (char)(0x80 | (u >> 12 & 0x3F));
        *o++ = (char)(0x80 | (u >> 6 & 0x3F));
        *o++ = (char)(0x80 | (u & 0x3F));
    }
    return o;
}

/* The decoded bytes of a checked string, NUL-terminated, in the arena
 * (never longer than the raw text); NULL on out of memory. */
static char *str_decode(lx_arena *a, const val *v)
{
    size_t n = (size_t)(v->q - v->p);
    if (!v->esc)
        return lx_arena_strndup(a, (const char *)v->p, n);
    char *s = lx_arena_alloc(a, n + 1), *o = s;
    if (!s)
        return NULL;
    for (const unsigned char *p = v->p; p < v->q;) {
        if (*p != '\\') {
            *o++ = (char)*p++;
            continue;
        }
        unsigned char c = p[1];
        p += 2;
        switch (c) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned u = (unsigned)hex4(p);
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF) {
                u = 0x10000 + ((u - 0xD800) << 10) + ((unsigned)hex4(p + 2) - 0xDC00);
                p += 6;
            }
            o = put_utf8(o, u);
            break;
        }
        default: *o++ = (char)c; break; /* " \ / */
        }
    }
    *o = '\0';
    return s;
}

/* A number as jansson lexes it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
 * an integer (no '.', 'e', 'E') through strtoll, else a real through strtod;
 * overflow is jansson's error, so not handled. */
static bool num_scan(rd *r, val *v)
{
    const unsigned char *s = r->p, *p = s, *end = r->end;
    bool real = false;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return false;
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        real = true;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return false;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return false;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    size_t n = (size_t)(p - s);
    if (n > MAX_NUM)
        return false;
    char tok[MAX_NUM + 1], *e;
    memcpy(tok, s, n);
    tok[n] = '\0';
    errno = 0;
    if (real) {
        v->d = strtod(tok, &e);
        if ((v->d == HUGE_VAL || v->d == -HUGE_VAL) && errno == ERANGE)
            return false;
        v->kind = V_REAL;
    } else {
        long long x = strtoll(tok, &e, 10);
        if (errno == ERANGE)
            return false;
        v->i = (int64_t)x;
        v->kind = V_INT;
    }
    if (e != tok + n)
        return false;
    r->p = p;
    return true;
}

static bool value_scan(rd *r, val *v, int depth);

/* Skips a key at r->p after whitespace (a checked string). */
static bool key_scan(rd *r, val *k)
{
    ws(r);
    return r->p < r->end && *r->p == '"' && str_scan(r, k);
}

static bool value_scan(rd *r, val *v, int depth)
{
    ws(r);
    if (r->p >= r->end)
        return false;
    const unsigned char *start = r->p;
    size_t left = (size_t)(r->end - r->p);
    switch (*r->p) {
    case '"': return str_scan(r, v);
    case 'n':
        if (left < 4 || memcmp(r->p, "null", 4) != 0)
            return false;
        r->p += 4;
        v->kind = V_NULL;
        return true;
    case 't':
        if (left < 4 || memcmp(r->p, "true", 4) != 0)
            return false;
        r->p += 4;
        v->kind = V_TRUE;
        return true;
    case 'f':
        if (left < 5 || memcmp(r->p, "false", 5) != 0)
            return false;
        r->p += 5;
        v->kind = V_FALSE;
        return true;
    case '[':
    case '{': {
        bool obj = *r->p == '{';
        char close = obj ? '}' : ']';
        if (depth >= MAX_DEPTH)
            return false;
        r->p++;
        ws(r);
        if (r->p < r->end && *r->p == close) {
            r->p++;
        } else {
            for (;;) {
                val k, x;
                if (obj) {
                    if (!key_scan(r, &k))
                        return false;
                    ws(r);
                    if (r->p >= r->end || *r->p != ':')
                        return false;
                    r->p++;
                }
                if (!value_scan(r, &x, depth + 1))
                    return false;
                ws(r);
                if (r->p >= r->end)
                    return false;
                if (*r->p == close) {
                    r->p++;
                    break;
                }
                if (*r->p != ',')
                    return false;
                r->p++;
            }
        }
        v->kind = obj ? V_OBJ : V_ARR;
        v->p = start;
        v->q = r->p;
        return true;
    }
    default: return num_scan(r, v);
    }
}

/* Reads the object at [v->p, v->q) (checked already, or checked here):
 * the values of the keys in names[0..n) go to out[] (V_ABSENT when
 * missing), the others are checked and ignored. false: not an object, a
 * bad value, a named key given twice, or an escape in a key. */
static bool obj_scan(const unsigned char *p, const unsigned char *end, const char *const *names,
                     int n, val *out, int depth, bool trusted, const unsigned char **stop)
{
    rd r = {p, end, trusted};
    for (int i = 0; i < n; i++)
        out[i].kind = V_ABSENT;
    ws(&r);
    if (r.p >= r.end || *r.p != '{')
        return false;
    r.p++;
    ws(&r);
    if (r.p < r.end && *r.p == '}') {
        *stop = r.p + 1;
        return true;
    }
    for (;;) {
        val k, x;
        if (!key_scan(&r, &k) || k.esc)
            return false;
        ws(&r);
        if (r.p >= r.end || *r.p != ':')
            return false;
        r.p++;
        if (!value_scan(&r, &x, depth + 1))
            return false;
        size_t kl = (size_t)(k.q - k.p);
        for (int i = 0; i < n; i++)
            if (strlen(names[i]) == kl && memcmp(names[i], k.p, kl) == 0) {
                if (out[i].kind != V_ABSENT)
                    return false;
                out[i] = x;
                break;
            }
        ws(&r);
        if (r.p >= r.end)
            return false;
        if (*r.p == '}') {
            *stop = r.p + 1;
            return true;
        }
        if (*r.p != ',')
            return false;
        r.p++;
    }
}

/* obj_scan of a value checked already. */
static bool obj_read(const val *v, const char *const *names, int n, val *out)
{
    const unsigned char *stop;
    return v->kind == V_OBJ && obj_scan(v->p, v->q, names, n, out, 1, true, &stop);
}

static bool is_null(const val *v)
{
    return v->kind == V_ABSENT || v->kind == V_NULL;
}

/* null, absent or [] (nothing to read, as for the jansson decoder) */
static bool is_none(const val *v)
{
    if (is_null(v))
        return true;
    if (v->kind != V_ARR)
        return false;
    rd r = {v->p + 1, v->q, true};
    ws(&r);
    return *r.p == ']';
}

static bool str_is(const val *v, const char *s)
{
    size_t n = strlen(s);
    return v->kind == V_STR && !v->esc && (size_t)(v->q - v->p) == n && memcmp(v->p, s, n) == 0;
}

/* lx_json_opt_str */
static bool opt_str(lx_arena *a, const val *v, char **out)
{
    *out = NULL;
    if (is_null(v))
        return true;
    return v->kind == V_STR && (*out = str_decode(a, v)) != NULL;
}

/* lx_json_opt_int */
static bool opt_int(const val *v, int64_t *out, bool *has)
{
    *has = false;
    if (is_null(v))
        return true;
    if (v->kind == V_INT)
        *out = v->i;
    else if (v->kind == V_REAL && fabs(v->d) < 9.2e18 && v->d == (double)(int64_t)v->d)
        *out = (int64_t)v->d;
    else
        return false;
    return *has = true;
}

/* lx_json_opt_num */
static bool opt_num(const val *v, double *out, bool *has)
{
    *has = false;
    if (is_null(v))
        return true;
    if (v->kind == V_INT)
        *out = (double)v->i;
    else if (v->kind == V_REAL)
        *out = v->d;
    else
        return false;
    return *has = true;
}

/* lx_json_opt_bool */
static bool opt_bool(const val *v, bool *out, bool *has)
{
    if (has)
        *has = false;
    if (is_null(v))
        return true;
    if (v->kind != V_TRUE && v->kind != V_FALSE)
        return false;
    *out = v->kind == V_TRUE;
    if (has)
        *has = true;
    return true;
}

/* lx_openai_text_content: the system text. */
static bool text_content(lx_arena *a, const val *c, char **out)
{
    if (is_null(c))
        return (*out = lx_arena_strdup(a, "")) != NULL;
    if (c->kind == V_STR)
        return (*out = str_decode(a, c)) != NULL;
    if (c->kind != V_ARR)
        return false;
    static const char *const keys[] = {"type", "text"};
    lx_buf b;
    lx_buf_init(&b, 0);
    bool ok = true;
    rd ar = {c->p + 1, c->q, true};
    ws(&ar);
    while (ok && *ar.p != ']') {
        val it, f[2];
        ok = value_scan(&ar, &it, 2) && obj_read(&it, keys, 2, f) && str_is(&f[0], "text") && f[1].kind == V_STR;
        if (ok) {
            char *t = str_decode(a, &f[1]);
            ok = t && lx_buf_puts(&b, t) == LX_OK;
        }
        ws(&ar);
        if (ok && *ar.p == ',')
            ar.p++;
    }
    ok = ok && (*out = lx_arena_strndup(a, b.data ? b.data : "", b.len)) != NULL;
    lx_buf_free(&b);
    return ok;
}

/* parts_content without images: TEXT parts from a string or text /
 * refusal parts. */
static bool parts_content(lx_request *r, lx_message *m, const val *c)
{
    if (is_null(c))
        return true;
    if (c->kind == V_STR) {
        lx_part *p = lx_message_add_part(r, m, LX_PART_TEXT);
        return p && (p->text = str_decode(r->arena, c)) != NULL;
    }
    if (c->kind != V_ARR)
        return false;
    static const char *const keys[] = {"type", "text", "refusal"};
    rd ar = {c->p + 1, c->q, true};
    ws(&ar);
    while (*ar.p != ']') {
        val it, f[3];
        if (!value_scan(&ar, &it, 2) || !obj_read(&it, keys, 3, f))
            return false;
        const val *t = str_is(&f[0], "text")      ? &f[1]
                       : str_is(&f[0], "refusal") ? &f[2]
                                                  : NULL;
        if (!t || t->kind != V_STR)
            return false;
        lx_part *p = lx_message_add_part(r, m, LX_PART_TEXT);
        if (!p || !(p->text = str_decode(r->arena, t)))
            return false;
        ws(&ar);
        if (*ar.p == ',')
            ar.p++;
    }
    return true;
}

enum { M_ROLE, M_CONTENT, M_REASONING, M_REFUSAL, M_TOOL_CALLS, M_N };

static bool message_in(lx_request *r, const val *mv)
{
    static const char *const keys[M_N] = {"role", "content", "reasoning_content", "refusal",
                                          "tool_calls"};
    val f[M_N];
    if (!obj_read(mv, keys, M_N, f))
        return false;
    const val *role = &f[M_ROLE];
    if (str_is(role, "system") || str_is(role, "developer")) {
        char *text;
        return text_content(r->arena, &f[M_CONTENT], &text) &&
               lx_request_add_text(r, LX_ROLE_SYSTEM, text) == LX_OK;
    }
    if (str_is(role, "user")) {
        lx_message *m = lx_request_add_message(r, LX_ROLE_USER);
        return m && parts_content(r, m, &f[M_CONTENT]);
    }
    if (!str_is(role, "assistant") || !is_none(&f[M_TOOL_CALLS]))
        return false;
    char *reasoning, *refusal;
    lx_message *m = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    if (!m || !opt_str(r->arena, &f[M_REASONING], &reasoning) ||
        !opt_str(r->arena, &f[M_REFUSAL], &refusal))
        return false;
    if (reasoning && *reasoning) {
        lx_part *p = lx_message_add_part(r, m, LX_PART_THINKING);
        if (!p)
            return false;
        p->text = reasoning;
    }
    if (!parts_content(r, m, &f[M_CONTENT]))
        return false;
    if (refusal && *refusal && m->n_parts == 0) {
        lx_part *p = lx_message_add_part(r, m, LX_PART_TEXT);
        if (!p)
            return false;
        p->text = refusal;
    }
    return true;
}

enum {
    K_MODEL,
    K_MESSAGES,
    K_TOOLS,
    K_TOOL_CHOICE,
    K_FORMAT,
    K_TEMPERATURE,
    K_TOP_P,
    K_TOP_K,
    K_SEED,
    K_MAX_COMPLETION,
    K_MAX_TOKENS,
    K_STOP,
    K_PARALLEL,
    K_STREAM,
    K_USER,
    K_STREAM_OPTIONS,
    K_N
};

static bool request_in(lx_request *r, const val *f)
{
    if (!opt_str(r->arena, &f[K_MODEL], &r->model) || !r->model || !*r->model)
        return false;
    const val *msgs = &f[K_MESSAGES];
    if (msgs->kind != V_ARR)
        return false;
    rd ar = {msgs->p + 1, msgs->q, true};
    ws(&ar);
    if (*ar.p == ']')
        return false; /* "must not be empty" */
    while (*ar.p != ']') {
        val m;
        if (!value_scan(&ar, &m, 1) || !message_in(r, &m))
            return false;
        ws(&ar);
        if (*ar.p == ',')
            ar.p++;
    }
    if (!is_none(&f[K_TOOLS]))
        return false;
    const val *tc = &f[K_TOOL_CHOICE];
    if (str_is(tc, "none"))
        r->tool_choice.kind = LX_TOOL_CHOICE_NONE;
    else if (str_is(tc, "auto"))
        r->tool_choice.kind = LX_TOOL_CHOICE_AUTO;
    else if (str_is(tc, "required"))
        r->tool_choice.kind = LX_TOOL_CHOICE_REQUIRED;
    else if (!is_null(tc))
        return false;
    const val *rf = &f[K_FORMAT];
    if (!is_null(rf)) {
        static const char *const keys[] = {"type"};
        val t;
        if (!obj_read(rf, keys, 1, &t))
            return false;
        if (str_is(&t, "json_object"))
            r->format.kind = LX_FORMAT_JSON;
        else if (!str_is(&t, "text"))
            return false;
    }
    lx_sampling *s = &r->sampling;
    int64_t tk = 0, mt = 0;
    bool has_tk, has_mt;
    if (!opt_num(&f[K_TEMPERATURE], &s->temperature, &s->has_temperature) ||
        !opt_num(&f[K_TOP_P], &s->top_p, &s->has_top_p) || !opt_int(&f[K_TOP_K], &tk, &has_tk) ||
        !opt_int(&f[K_SEED], &s->seed, &s->has_seed))
        return false;
    if (has_tk) {
        s->has_top_k = true;
        s->top_k = (int)(tk > 0 && tk < 1 << 30 ? tk : 0);
    }
    const val *mk = is_null(&f[K_MAX_COMPLETION]) ? &f[K_MAX_TOKENS] : &f[K_MAX_COMPLETION];
    if (!opt_int(mk, &mt, &has_mt) || (has_mt && mt <= 0))
        return false;
    s->max_tokens = has_mt ? mt : 0;
    const val *stop = &f[K_STOP];
    if (stop->kind == V_STR) {
        char *t = str_decode(r->arena, stop);
        if (!t || lx_request_add_stop(r, t) != LX_OK)
            return false;
    } else if (stop->kind == V_ARR) {
        rd sr = {stop->p + 1, stop->q, true};
        ws(&sr);
        while (*sr.p != ']') {
            val x;
            char *t;
            if (!value_scan(&sr, &x, 1) || x.kind != V_STR || !(t = str_decode(r->arena, &x)) ||
                lx_request_add_stop(r, t) != LX_OK)
                return false;
            ws(&sr);
            if (*sr.p == ',')
                sr.p++;
        }
    } else if (!is_null(stop)) {
        return false;
    }
    bool has_par = false, par = false, inc = false;
    if (!opt_bool(&f[K_PARALLEL], &par, &has_par) || !opt_bool(&f[K_STREAM], &r->stream, NULL) ||
        !opt_str(r->arena, &f[K_USER], &r->user))
        return false;
    const val *so = &f[K_STREAM_OPTIONS];
    if (!is_null(so)) {
        static const char *const keys[] = {"include_usage"};
        val iu;
        if (!obj_read(so, keys, 1, &iu) ||
            !opt_bool(&iu, &inc, NULL))
            return false;
    }
    r->include_usage = inc;
    r->tool_choice.has_parallel = has_par;
    r->tool_choice.parallel = par;
    return true;
}

bool lx_openai_req_decode_fast(const char *body, size_t len, lx_request **out)
{
    static const char *const keys[K_N] = {
        "model", "messages", "tools",  "tool_choice",           "response_format",
        "temperature", "top_p", "top_k", "seed", "max_completion_tokens",
        "max_tokens", "stop", "parallel_tool_calls", "stream", "user", "stream_options"};
    *out = NULL;
    if (!fast_on || !body)
        return false;
    const unsigned char *p = (const unsigned char *)body, *end = p + len;
    val f[K_N];
    /* the whole document is checked here: one object, nothing after it */
    rd rest = {p, end, false};
    if (!obj_scan(p, end, keys, K_N, f, 0, false, &rest.p))
        return false;
    ws(&rest);
    if (rest.p != end)
        return false;
    lx_request *r = lx_request_new();
    if (!r)
        return false;
    if (!request_in(r, f)) {
        lx_request_free(r);
        return false;
    }
    *out = r;
    return true;
}

/* ---- comparison (tests, fuzz oracle) ------------------------------------- */

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

#define DIFF(...)                                                                                  \
    do {                                                                                           \
        if (why && cap)                                                                            \
            snprintf(why, cap, __VA_ARGS__);                                                       \
        return false;                                                                              \
    } while (0)
#define SAME_STR(a, b, ...)                                                                        \
    do {                                                                                           \
        if (!same_str(a, b))                                                                       \
            DIFF(__VA_ARGS__);                                                                     \
    } while (0)

static bool same_real(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

bool lx_openai_req_same(const lx_request *a, const lx_request *b, char *why, size_t cap)
{
    SAME_STR(a->model, b->model, "model");
    SAME_STR(a->user, b->user, "user");
    if (a->n_messages != b->n_messages)
        DIFF("n_messages %zu vs %zu", a->n_messages, b->n_messages);
    for (size_t i = 0; i < a->n_messages; i++) {
        const lx_message *x = &a->messages[i], *y = &b->messages[i];
        if (x->role != y->role || x->n_parts != y->n_parts)
            DIFF("messages[%zu]: role or part count", i);
        for (size_t j = 0; j < x->n_parts; j++) {
            const lx_part *p = &x->parts[j], *q = &y->parts[j];
            if (p->kind != q->kind || p->is_error != q->is_error)
                DIFF("messages[%zu].parts[%zu]: kind or is_error", i, j);
            SAME_STR(p->text, q->text, "messages[%zu].parts[%zu].text", i, j);
            SAME_STR(p->url, q->url, "messages[%zu].parts[%zu].url", i, j);
            SAME_STR(p->data, q->data, "messages[%zu].parts[%zu].data", i, j);
            SAME_STR(p->media_type, q->media_type, "messages[%zu].parts[%zu].media_type", i, j);
            SAME_STR(p->id, q->id, "messages[%zu].parts[%zu].id", i, j);
            SAME_STR(p->name, q->name, "messages[%zu].parts[%zu].name", i, j);
            SAME_STR(p->arguments, q->arguments, "messages[%zu].parts[%zu].arguments", i, j);
            SAME_STR(p->signature, q->signature, "messages[%zu].parts[%zu].signature", i, j);
        }
    }
    if (a->n_tools != b->n_tools)
        DIFF("n_tools");
    for (size_t i = 0; i < a->n_tools; i++) {
        SAME_STR(a->tools[i].name, b->tools[i].name, "tools[%zu].name", i);
        SAME_STR(a->tools[i].description, b->tools[i].description, "tools[%zu].description", i);
        SAME_STR(a->tools[i].parameters, b->tools[i].parameters, "tools[%zu].parameters", i);
    }
    const lx_tool_choice *tx = &a->tool_choice, *ty = &b->tool_choice;
    if (tx->kind != ty->kind || tx->has_parallel != ty->has_parallel ||
        tx->parallel != ty->parallel)
        DIFF("tool_choice");
    SAME_STR(tx->name, ty->name, "tool_choice.name");
    const lx_sampling *s = &a->sampling, *t = &b->sampling;
    if (s->has_temperature != t->has_temperature || !same_real(s->temperature, t->temperature))
        DIFF("temperature");
    if (s->has_top_p != t->has_top_p || !same_real(s->top_p, t->top_p))
        DIFF("top_p");
    if (s->has_top_k != t->has_top_k || s->top_k != t->top_k)
        DIFF("top_k");
    if (s->has_seed != t->has_seed || s->seed != t->seed)
        DIFF("seed");
    if (s->max_tokens != t->max_tokens)
        DIFF("max_tokens");
    if (s->n_stop != t->n_stop)
        DIFF("n_stop");
    for (size_t i = 0; i < s->n_stop; i++)
        SAME_STR(s->stop[i], t->stop[i], "stop[%zu]", i);
    if (a->format.kind != b->format.kind || a->format.strict != b->format.strict)
        DIFF("format");
    SAME_STR(a->format.name, b->format.name, "format.name");
    SAME_STR(a->format.schema, b->format.schema, "format.schema");
    if (a->stream != b->stream || a->include_usage != b->include_usage)
        DIFF("stream / include_usage");
    if (a->thinking_budget != b->thinking_budget || a->num_ctx != b->num_ctx)
        DIFF("thinking_budget / num_ctx");
    return true;
}
