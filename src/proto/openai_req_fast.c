/*
 * openai_req_fast.c — the OpenAI request path without jansson (see the block
 * at the end of openai.h): a strict reader for the caller's body and a
 * writer for the upstream body, each falling back to the jansson code in
 * openai.c ("not handled") for anything it cannot prove equal.
 *
 * Encoder (lx_request -> upstream body): writes the bytes the jansson
 * encoder would write (same keys, same order, compact, strings escaped like
 * jansson's dump, reals as jansson 2.14 prints them: "%.17g", ".0" added
 * when there is neither '.' nor 'e', '+' and leading zeros of the exponent
 * removed, nothing longer than 23 characters). It covers every shape the
 * jansson encoder writes — messages of all roles with text, image, tool call
 * and tool result parts (ids from the same lx_call_ids walk), sampling,
 * stop, tools with their parameters, tool_choice, parallel_tool_calls,
 * response_format, stream options, user. Tool parameters and JSON Schemas
 * are re-dumped from their text the way jansson parses and dumps them.
 * Not handled, so jansson decides (and reports its error): text jansson
 * would refuse (bad parameters / schema JSON, a stop string, tool_choice or
 * schema name that is not valid UTF-8, a real it cannot print), duplicate
 * or escaped keys in parameters / schemas, out of memory.
 *
 * Decoder (caller body -> lx_request): see the comment above the reader.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/swar.h"
#include "core/utf8.h"
#include "proto/callids.h"
#include "proto/json.h"
#include "proto/openai.h"

static bool fast_on = true;

void lx_openai_req_fast_enable(bool on)
{
    fast_on = on;
}

/* lx_json_quote for valid UTF-8 (the bytes jansson's dump writes for the
 * string); false, with out partly written, at a byte that is not valid
 * UTF-8 (jansson would refuse the string: the caller falls back). */
static bool quote_n(lx_buf *out, const char *str, size_t n)
{
    return lx_json_quote_strict(out, str, n) == LX_OK;
}

/* Whether the NUL-terminated s (NULL: yes) is valid UTF-8, as
 * lx_utf8_valid_prefix decides. */
static bool utf8_ok(const char *str)
{
    if (!str)
        return true;
    size_t n = strlen(str);
    const unsigned char *p = (const unsigned char *)str, *end = p + n;
    while (p < end) {
        while (end - p >= 8 && !(lx_load8(p) & LX_HIGH8))
            p += 8;
        if (p >= end)
            break;
        if (*p < 0x80) {
            p++;
            continue;
        }
        int k = lx_utf8_seq(p, (size_t)(end - p));
        if (k <= 0)
            return false;
        p += k;
    }
    return true;
}

/* "%lld" */
static bool int_out(lx_buf *out, int64_t v)
{
    char buf[24], *e = buf + sizeof buf, *d = e;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do
        *--d = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--d = '-';
    return lx_buf_append(out, d, (size_t)(e - d)) == LX_OK;
}

/* ---- decoder --------------------------------------------------------------
 *
 * Accepted: one JSON object (whitespace around it), every value anywhere in
 * it valid for jansson 2.14 (json_loadb, JSON_DECODE_ANY | JSON_ALLOW_NUL),
 * where the keys request_decode reads hold what it takes without an error;
 * the lx_request is then built exactly as request_decode builds it (the
 * same rules, in the same order: roles system/developer/user/assistant/tool,
 * text / refusal / image_url parts, reasoning_content, refusal, tool_calls
 * with string, object or null arguments, tool results merged and named
 * after their call, tools, tool_choice, response_format, sampling, stop,
 * stream, stream_options, user). Other keys, anywhere, are checked and
 * ignored, as jansson builds and request_decode ignores them. JSON passed
 * through as text (object arguments, tool parameters, schemas) is re-dumped
 * as lx_json_dump would (redump below).
 *
 * Not handled (jansson decides, with today's result or error message): any
 * error request_decode would report, a key the decoder reads given twice
 * (top level, message, part, ...; jansson keeps the last), an escape in such
 * a key, an escaped value where an exact string is compared ("us\u0065r"),
 * \u0000 anywhere, nesting deeper than 32, a number token longer than 63
 * characters, and anything jansson refuses (strings: control characters,
 * bad escapes, lone surrogates, invalid UTF-8; numbers: its grammar, reals
 * through strtod and integers through strtoll on the token text as jansson
 * does, refused on overflow).
 */

enum { MAX_DEPTH = 32, MAX_NUM = 63 };

typedef struct {
    const char *s;
    size_t n;
} kname; /* a key the decoder reads */
#define K(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof lit - 1                                                                        \
    }

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
        while (end - p >= 8 && !lx_swar_json_special(lx_load8(p)))
            p += 8;
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
            int u = lx_hex4((const char *)p);
            p += 4;
            if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
                return false; /* \u0000 (not handled) or a lone low surrogate */
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return false;
                int lo = lx_hex4((const char *)p + 2);
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


/* The decoded bytes of a checked string, NUL-terminated, in the arena
 * (never longer than the raw text); NULL on out of memory. */
static size_t str_decode_to(char *s, const val *v);

static char *str_decode(lx_arena *a, const val *v)
{
    size_t n = (size_t)(v->q - v->p);
    if (!v->esc)
        return lx_arena_strndup(a, (const char *)v->p, n);
    char *s = lx_arena_alloc(a, n + 1);
    if (s)
        str_decode_to(s, v);
    return s;
}

/* Decodes into s (room for the raw length + 1); the decoded length. */
static size_t str_decode_to(char *s, const val *v)
{
    char *o = s;
    for (const unsigned char *p = v->p; p < v->q;) {
        if (*p != '\\') {
            *o++ = (char)*p++;
            continue;
        }
        unsigned char c = p[1];
        p += 2;
        switch (c) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned u = (unsigned)lx_hex4((const char *)p);
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF) {
                unsigned lo = (unsigned)lx_hex4((const char *)p + 2);
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            o = lx_utf8_put(o, u);
            break;
        }
        default:
            *o++ = (char)c;
            break; /* " \ / */
        }
    }
    *o = '\0';
    return (size_t)(o - s);
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
    case '"':
        return str_scan(r, v);
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
    default:
        return num_scan(r, v);
    }
}

/* Reads the object at [v->p, v->q) (checked already, or checked here):
 * the values of the keys in names[0..n) go to out[] (V_ABSENT when
 * missing), the others are checked and ignored. false: not an object, a
 * bad value, a named key given twice, or an escape in a key. */
static bool obj_scan(const unsigned char *p, const unsigned char *end, const kname *names, int n,
                     val *out, int depth, bool trusted, const unsigned char **stop)
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
            if (names[i].n == kl && memcmp(names[i].s, k.p, kl) == 0) {
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
static bool obj_read(const val *v, const kname *names, int n, val *out)
{
    const unsigned char *stop;
    return v->kind == V_OBJ && obj_scan(v->p, v->q, names, n, out, 1, true, &stop);
}

/* ---- compact re-dump ------------------------------------------------------
 * redump writes what lx_json_dump (compact, keys in order) writes for the
 * value jansson parses from the text at r (checked here unless r->trusted):
 * strings unescaped and escaped again as jansson's dump does (a string
 * without escapes is its own dump: no control characters, quotes or
 * backslashes, valid UTF-8), integers as %lld, reals as real_text. Not
 * handled: an escape in a key, a key given twice in one object (jansson
 * would keep the last value at the first key's place), more than 64 keys in
 * one object, nesting deeper than MAX_DEPTH, what str_scan / num_scan
 * refuse, a real jansson cannot print. */

enum { MAX_KEYS = 64 };

static bool real_text(double v, char *buf, size_t *len);

static bool str_dump(const val *v, lx_buf *out)
{
    if (!v->esc)
        return lx_buf_putc(out, '"') == LX_OK &&
               lx_buf_append(out, v->p, (size_t)(v->q - v->p)) == LX_OK &&
               lx_buf_putc(out, '"') == LX_OK;
    size_t n = (size_t)(v->q - v->p);
    char small[256], *tmp = n < sizeof small ? small : malloc(n + 1);
    if (!tmp)
        return false;
    size_t k = str_decode_to(tmp, v);
    bool ok = quote_n(out, tmp, k);
    if (tmp != small)
        free(tmp);
    return ok;
}

static bool redump(rd *r, lx_buf *out, int depth)
{
    ws(r);
    if (r->p >= r->end)
        return false;
    unsigned char c = *r->p;
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        char close = obj ? '}' : ']';
        const unsigned char *kp[MAX_KEYS];
        size_t kl[MAX_KEYS], nk = 0;
        if (depth >= MAX_DEPTH || lx_buf_putc(out, (char)c) != LX_OK)
            return false;
        r->p++;
        ws(r);
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return lx_buf_putc(out, close) == LX_OK;
        }
        for (;;) {
            if (obj) {
                val k;
                if (!key_scan(r, &k) || k.esc || nk == MAX_KEYS)
                    return false;
                size_t n = (size_t)(k.q - k.p);
                for (size_t i = 0; i < nk; i++)
                    if (kl[i] == n && memcmp(kp[i], k.p, n) == 0)
                        return false;
                kp[nk] = k.p;
                kl[nk++] = n;
                ws(r);
                if (r->p >= r->end || *r->p != ':' || !str_dump(&k, out) ||
                    lx_buf_putc(out, ':') != LX_OK)
                    return false;
                r->p++;
            }
            if (!redump(r, out, depth + 1))
                return false;
            ws(r);
            if (r->p >= r->end)
                return false;
            if (*r->p == close) {
                r->p++;
                return lx_buf_putc(out, close) == LX_OK;
            }
            if (*r->p != ',' || lx_buf_putc(out, ',') != LX_OK)
                return false;
            r->p++;
        }
    }
    val v;
    if (!value_scan(r, &v, depth))
        return false;
    switch (v.kind) {
    case V_NULL:
        return lx_buf_append(out, "null", 4) == LX_OK;
    case V_TRUE:
        return lx_buf_append(out, "true", 4) == LX_OK;
    case V_FALSE:
        return lx_buf_append(out, "false", 5) == LX_OK;
    case V_STR:
        return str_dump(&v, out);
    case V_INT:
        return int_out(out, v.i);
    case V_REAL: {
        char num[24];
        size_t n;
        return real_text(v.d, num, &n) && lx_buf_append(out, num, n) == LX_OK;
    }
    default:
        return false;
    }
}

/* The dump of the object text s[0..n) (lx_json_object_from_text then
 * lx_json_dump), checked here, appended to out; `typed`: an empty object
 * becomes {"type":"object"} as the encoder's tool parameters do. */
static bool object_redump(const char *s, size_t n, bool typed, lx_buf *out)
{
    rd r = {(const unsigned char *)s, (const unsigned char *)s + n, false};
    ws(&r);
    if (n == 0 || (typed && r.end - r.p >= 2 && r.p[0] == '{')) {
        rd e = {r.p + 1, r.end, false};
        ws(&e);
        if (n == 0 || (e.p < e.end && *e.p == '}')) {
            e.p++;
            ws(&e);
            if (n == 0 || e.p == e.end)
                return (typed ? lx_buf_puts(out, "{\"type\":\"object\"}")
                              : lx_buf_puts(out, "{}")) == LX_OK;
        }
    }
    if (r.p >= r.end || *r.p != '{' || !redump(&r, out, 0))
        return false;
    ws(&r);
    return r.p == r.end;
}

static bool is_null(const val *v)
{
    return v->kind == V_ABSENT || v->kind == V_NULL;
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
    static const kname keys[] = {K("type"), K("text")};
    lx_buf b;
    lx_buf_init(&b, 0);
    bool ok = true;
    rd ar = {c->p + 1, c->q, true};
    ws(&ar);
    while (ok && *ar.p != ']') {
        val it, f[2];
        ok = value_scan(&ar, &it, 2) && obj_read(&it, keys, 2, f) && str_is(&f[0], "text") &&
             f[1].kind == V_STR;
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
/* The compact dump of a checked value (lx_json_dump_arena), in the arena. */
static char *dump_arena(lx_arena *a, const val *v)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    rd r = {v->p, v->q, true};
    char *s = redump(&r, &b, 1) ? lx_arena_strndup(a, b.data ? b.data : "", b.len) : NULL;
    lx_buf_free(&b);
    return s;
}

/* openai.c's image_from_url: a data: URL split into media type and data. */
static bool image_in(lx_arena *a, lx_part *p, const char *url)
{
    const char *comma = strchr(url, ',');
    if (strncmp(url, "data:", 5) == 0 && comma) {
        const char *semi = memchr(url + 5, ';', (size_t)(comma - url - 5));
        if (semi && (size_t)(comma - semi) == 7 && strncmp(semi, ";base64", 7) == 0) {
            p->media_type = lx_arena_strndup(a, url + 5, (size_t)(semi - url - 5));
            p->data = lx_arena_strdup(a, comma + 1);
            return p->media_type && p->data;
        }
    }
    return (p->url = lx_arena_strdup(a, url)) != NULL;
}

/* parts_content: TEXT parts from a string or text / refusal parts, IMAGE
 * parts from image_url ones when `images`. */
static bool parts_content(lx_request *r, lx_message *m, const val *c, bool images)
{
    if (is_null(c))
        return true;
    if (c->kind == V_STR) {
        lx_part *p = lx_message_add_part(r, m, LX_PART_TEXT);
        return p && (p->text = str_decode(r->arena, c)) != NULL;
    }
    if (c->kind != V_ARR)
        return false;
    static const kname keys[] = {K("type"), K("text"), K("refusal"), K("image_url")};
    static const kname url_key[] = {K("url")};
    rd ar = {c->p + 1, c->q, true};
    ws(&ar);
    while (*ar.p != ']') {
        val it, f[4];
        if (!value_scan(&ar, &it, 2) || !obj_read(&it, keys, 4, f))
            return false;
        if (images && str_is(&f[0], "image_url")) {
            val u = f[3];
            if (u.kind == V_OBJ && !obj_read(&f[3], url_key, 1, &u))
                return false;
            char *url;
            lx_part *p;
            if (u.kind != V_STR || !(url = str_decode(r->arena, &u)) ||
                !(p = lx_message_add_part(r, m, LX_PART_IMAGE)) || !image_in(r->arena, p, url))
                return false;
        } else {
            const val *t = str_is(&f[0], "text") ? &f[1] : str_is(&f[0], "refusal") ? &f[2] : NULL;
            if (!t || t->kind != V_STR)
                return false;
            lx_part *p = lx_message_add_part(r, m, LX_PART_TEXT);
            if (!p || !(p->text = str_decode(r->arena, t)))
                return false;
        }
        ws(&ar);
        if (*ar.p == ',')
            ar.p++;
    }
    return true;
}

/* tool_calls_in */
static bool tool_calls_in(lx_request *r, lx_message *m, const val *tc)
{
    if (is_null(tc))
        return true;
    if (tc->kind != V_ARR)
        return false;
    static const kname keys[] = {K("id"), K("function")};
    static const kname fkeys[] = {K("name"), K("arguments")};
    rd ar = {tc->p + 1, tc->q, true};
    ws(&ar);
    while (*ar.p != ']') {
        val it, f[2], g[2];
        if (!value_scan(&ar, &it, 2) || !obj_read(&it, keys, 2, f) || !obj_read(&f[1], fkeys, 2, g))
            return false;
        lx_part *p = lx_message_add_part(r, m, LX_PART_TOOL_CALL);
        if (!p || !opt_str(r->arena, &f[0], &p->id) || !opt_str(r->arena, &g[0], &p->name) ||
            !p->name)
            return false;
        const val *args = &g[1];
        if (args->kind == V_OBJ)
            p->arguments = dump_arena(r->arena, args);
        else if (is_null(args))
            p->arguments = lx_arena_strdup(r->arena, "{}");
        else if (args->kind == V_STR)
            p->arguments = str_decode(r->arena, args);
        else
            return false;
        if (!p->arguments)
            return false;
        ws(&ar);
        if (*ar.p == ',')
            ar.p++;
    }
    return true;
}

enum { M_ROLE, M_CONTENT, M_REASONING, M_REFUSAL, M_TOOL_CALLS, M_TOOL_CALL_ID, M_N };

/* The message object at rd (checked already); rd moves past it. */
static bool message_in(lx_request *r, rd *at)
{
    static const kname keys[M_N] = {K("role"),    K("content"),    K("reasoning_content"),
                                    K("refusal"), K("tool_calls"), K("tool_call_id")};
    val f[M_N];
    ws(at);
    if (at->p >= at->end || *at->p != '{' ||
        !obj_scan(at->p, at->end, keys, M_N, f, 1, true, &at->p))
        return false;
    const val *role = &f[M_ROLE];
    char *text;
    if (str_is(role, "system") || str_is(role, "developer"))
        return text_content(r->arena, &f[M_CONTENT], &text) &&
               lx_request_add_text(r, LX_ROLE_SYSTEM, text) == LX_OK;
    if (str_is(role, "user")) {
        lx_message *m = lx_request_add_message(r, LX_ROLE_USER);
        return m && parts_content(r, m, &f[M_CONTENT], true);
    }
    if (str_is(role, "tool")) {
        char *id;
        if (!opt_str(r->arena, &f[M_TOOL_CALL_ID], &id) || !id ||
            !text_content(r->arena, &f[M_CONTENT], &text))
            return false;
        lx_message *tm = r->n_messages && r->messages[r->n_messages - 1].role == LX_ROLE_TOOL
                             ? &r->messages[r->n_messages - 1]
                             : lx_request_add_message(r, LX_ROLE_TOOL);
        lx_part *p = tm ? lx_message_add_part(r, tm, LX_PART_TOOL_RESULT) : NULL;
        if (!p)
            return false;
        p->id = id;
        p->text = text;
        p->name = lx_request_call_name(r, id);
        return true;
    }
    if (!str_is(role, "assistant"))
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
    if (!parts_content(r, m, &f[M_CONTENT], false))
        return false;
    if (refusal && *refusal && m->n_parts == 0) {
        lx_part *p = lx_message_add_part(r, m, LX_PART_TEXT);
        if (!p)
            return false;
        p->text = refusal;
    }
    return tool_calls_in(r, m, &f[M_TOOL_CALLS]);
}

/* tools_in */
static bool tools_in(lx_request *r, const val *tools)
{
    if (is_null(tools))
        return true;
    if (tools->kind != V_ARR)
        return false;
    static const kname keys[] = {K("type"), K("function")};
    static const kname fkeys[] = {K("name"), K("description"), K("parameters")};
    rd ar = {tools->p + 1, tools->q, true};
    ws(&ar);
    while (*ar.p != ']') {
        val it, f[2], g[3];
        if (!value_scan(&ar, &it, 2) || !obj_read(&it, keys, 2, f) || !str_is(&f[0], "function") ||
            !obj_read(&f[1], fkeys, 3, g))
            return false;
        lx_tool *t = lx_request_add_tool(r);
        if (!t || !opt_str(r->arena, &g[0], &t->name) ||
            !opt_str(r->arena, &g[1], &t->description) || !t->name || !*t->name)
            return false;
        if (!is_null(&g[2]) &&
            (g[2].kind != V_OBJ || !(t->parameters = dump_arena(r->arena, &g[2]))))
            return false;
        ws(&ar);
        if (*ar.p == ',')
            ar.p++;
    }
    return true;
}

/* format_in */
static bool format_in(lx_request *r, const val *rf)
{
    if (is_null(rf))
        return true;
    static const kname keys[] = {K("type"), K("json_schema")};
    static const kname skeys[] = {K("name"), K("strict"), K("schema")};
    val f[2], g[3];
    if (!obj_read(rf, keys, 2, f))
        return false;
    if (str_is(&f[0], "text"))
        return true;
    if (str_is(&f[0], "json_object")) {
        r->format.kind = LX_FORMAT_JSON;
        return true;
    }
    bool strict = false;
    if (!str_is(&f[0], "json_schema") || !obj_read(&f[1], skeys, 3, g) ||
        !opt_str(r->arena, &g[0], &r->format.name) || !opt_bool(&g[1], &strict, NULL) ||
        g[2].kind != V_OBJ || !(r->format.schema = dump_arena(r->arena, &g[2])))
        return false;
    r->format.kind = LX_FORMAT_JSON_SCHEMA;
    r->format.strict = strict;
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
        if (!message_in(r, &ar))
            return false;
        ws(&ar);
        if (*ar.p == ',')
            ar.p++;
    }
    if (!tools_in(r, &f[K_TOOLS]))
        return false;
    const val *tc = &f[K_TOOL_CHOICE];
    if (str_is(tc, "none")) {
        r->tool_choice.kind = LX_TOOL_CHOICE_NONE;
    } else if (str_is(tc, "auto")) {
        r->tool_choice.kind = LX_TOOL_CHOICE_AUTO;
    } else if (str_is(tc, "required")) {
        r->tool_choice.kind = LX_TOOL_CHOICE_REQUIRED;
    } else if (tc->kind == V_OBJ) {
        static const kname keys[] = {K("function")};
        static const kname fkeys[] = {K("name")};
        val fn, name;
        if (!obj_read(tc, keys, 1, &fn) || !obj_read(&fn, fkeys, 1, &name) ||
            !opt_str(r->arena, &name, &r->tool_choice.name) || !r->tool_choice.name)
            return false;
        r->tool_choice.kind = LX_TOOL_CHOICE_NAMED;
    } else if (!is_null(tc)) {
        return false;
    }
    if (!format_in(r, &f[K_FORMAT]))
        return false;
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
        static const kname keys[] = {K("include_usage")};
        val iu;
        if (!obj_read(so, keys, 1, &iu) || !opt_bool(&iu, &inc, NULL))
            return false;
    }
    r->include_usage = inc;
    r->tool_choice.has_parallel = has_par;
    r->tool_choice.parallel = par;
    return true;
}

bool lx_openai_req_decode_fast(const char *body, size_t len, lx_request **out)
{
    static const kname keys[K_N] = {K("model"),
                                    K("messages"),
                                    K("tools"),
                                    K("tool_choice"),
                                    K("response_format"),
                                    K("temperature"),
                                    K("top_p"),
                                    K("top_k"),
                                    K("seed"),
                                    K("max_completion_tokens"),
                                    K("max_tokens"),
                                    K("stop"),
                                    K("parallel_tool_calls"),
                                    K("stream"),
                                    K("user"),
                                    K("stream_options")};
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

/* ---- encoder ------------------------------------------------------------- */

/* jansson 2.14's real formatting (jsonp_dtostr with precision 17 into a
 * 24-byte buffer); false where jansson's dump would fail. */
static bool real_text_printf(double v, char *buf, size_t *len);

/* real_text_printf behind a small per-thread cache: requests repeat the
 * same few temperatures, and printf of a double is the costliest step. */
static bool real_text(double v, char *buf, size_t *len)
{
    static _Thread_local struct {
        uint64_t bits;
        bool used, ok;
        unsigned char n;
        char s[24];
    } cache[4];
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    unsigned i = (unsigned)((bits ^ bits >> 29 ^ bits >> 47) & 3);
    if (!cache[i].used || cache[i].bits != bits) {
        size_t n = 0;
        cache[i].ok = real_text_printf(v, cache[i].s, &n);
        cache[i].n = (unsigned char)n;
        cache[i].bits = bits;
        cache[i].used = true;
    }
    if (!cache[i].ok)
        return false;
    memcpy(buf, cache[i].s, 24);
    *len = cache[i].n;
    return true;
}

static bool real_text_printf(double v, char *buf, size_t *len)
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

#define PUT(lit) (lx_buf_append(out, lit, sizeof lit - 1) == LX_OK)

static bool quote(lx_buf *out, const char *s)
{
    return quote_n(out, s ? s : "", s ? strlen(s) : 0);
}

/* The TEXT parts of m joined (NULL texts skipped) into b. */
static bool joined(const lx_message *m, lx_buf *b)
{
    lx_buf_reset(b);
    for (size_t j = 0; j < m->n_parts; j++)
        if (m->parts[j].kind == LX_PART_TEXT && m->parts[j].text &&
            lx_buf_puts(b, m->parts[j].text) != LX_OK)
            return false;
    return true;
}

typedef struct {
    lx_buf *out;
    lx_buf b; /* scratch */
    lx_call_ids ids;
    bool ids_ready;
} enc;

static lx_call_ids *ids_of(enc *e)
{
    if (!e->ids_ready && lx_call_ids_init(&e->ids, "call_") == LX_OK)
        e->ids_ready = true;
    return e->ids_ready ? &e->ids : NULL;
}

static bool user_out(enc *e, const lx_message *m)
{
    lx_buf *out = e->out;
    if (!PUT("{\"role\":\"user\",\"content\":"))
        return false;
    if (m->n_parts == 1 && m->parts[0].kind == LX_PART_TEXT)
        return quote(out, m->parts[0].text) && lx_buf_putc(out, '}') == LX_OK;
    bool first = true;
    if (lx_buf_putc(out, '[') != LX_OK)
        return false;
    for (size_t j = 0; j < m->n_parts; j++) {
        const lx_part *p = &m->parts[j];
        if (p->kind != LX_PART_TEXT && p->kind != LX_PART_IMAGE)
            continue;
        if (!first && lx_buf_putc(out, ',') != LX_OK)
            return false;
        first = false;
        if (p->kind == LX_PART_TEXT) {
            if (!PUT("{\"type\":\"text\",\"text\":") || !quote(out, p->text) ||
                lx_buf_putc(out, '}') != LX_OK)
                return false;
            continue;
        }
        if (!PUT("{\"type\":\"image_url\",\"image_url\":{\"url\":"))
            return false;
        if (p->data) {
            lx_buf_reset(&e->b);
            if (lx_buf_printf(&e->b, "data:%s;base64,%s",
                              p->media_type ? p->media_type : "image/png", p->data) != LX_OK ||
                !quote_n(out, e->b.data, e->b.len))
                return false;
        } else if (!quote(out, p->url)) {
            return false;
        }
        if (!PUT("}}"))
            return false;
    }
    return PUT("]}");
}

static bool assistant_out(enc *e, const lx_message *m)
{
    lx_buf *out = e->out, *b = &e->b;
    /* earlier model output: repaired rather than refused */
    if (!joined(m, b) || (lx_utf8_valid_prefix(b->data ? b->data : "", b->len) < b->len &&
                          lx_utf8_lossy(b->data, b->len, b) != LX_OK))
        return false;
    bool has_calls = false;
    for (size_t j = 0; j < m->n_parts; j++)
        has_calls = has_calls || m->parts[j].kind == LX_PART_TOOL_CALL;
    if (!PUT("{\"role\":\"assistant\",\"content\":"))
        return false;
    if (b->len || !has_calls) {
        if (!quote_n(out, b->data ? b->data : "", b->len))
            return false;
    } else if (!PUT("null")) {
        return false;
    }
    if (has_calls) {
        if (!PUT(",\"tool_calls\":["))
            return false;
        bool first = true;
        for (size_t j = 0; j < m->n_parts; j++) {
            const lx_part *p = &m->parts[j];
            if (p->kind != LX_PART_TOOL_CALL)
                continue;
            lx_call_ids *ids = ids_of(e);
            const char *id = ids ? lx_call_ids_for_call(ids, p) : NULL;
            if (!id || (!first && lx_buf_putc(out, ',') != LX_OK) || !PUT("{\"id\":") ||
                !quote(out, id) || !PUT(",\"type\":\"function\",\"function\":{\"name\":") ||
                !quote(out, p->name) || !PUT(",\"arguments\":") ||
                !quote(out, p->arguments ? p->arguments : "{}") || !PUT("}}"))
                return false;
            first = false;
        }
        if (lx_buf_putc(out, ']') != LX_OK)
            return false;
    }
    return lx_buf_putc(out, '}') == LX_OK;
}

/* false: not handled (or out of memory); out is then partly written. */
static bool messages_out(enc *e, const lx_request *r)
{
    lx_buf *out = e->out;
    bool first = true;
    for (size_t i = 0; i < r->n_messages; i++) {
        const lx_message *m = &r->messages[i];
        if (m->role == LX_ROLE_TOOL) { /* one wire message per result */
            for (size_t j = 0; j < m->n_parts; j++) {
                const lx_part *p = &m->parts[j];
                if (p->kind != LX_PART_TOOL_RESULT)
                    continue;
                lx_call_ids *ids = ids_of(e);
                const char *id = ids ? lx_call_ids_for_result(ids, p) : NULL;
                if (!id || (!first && lx_buf_putc(out, ',') != LX_OK) ||
                    !PUT("{\"role\":\"tool\",\"tool_call_id\":") || !quote(out, id) ||
                    !PUT(",\"content\":") || !quote(out, p->text) || lx_buf_putc(out, '}') != LX_OK)
                    return false;
                first = false;
            }
            continue;
        }
        if (!first && lx_buf_putc(out, ',') != LX_OK)
            return false;
        first = false;
        if (m->role == LX_ROLE_SYSTEM) {
            if (!joined(m, &e->b) || !PUT("{\"role\":\"system\",\"content\":") ||
                !quote_n(out, e->b.data ? e->b.data : "", e->b.len) ||
                lx_buf_putc(out, '}') != LX_OK)
                return false;
        } else if (!(m->role == LX_ROLE_USER ? user_out(e, m) : assistant_out(e, m))) {
            return false;
        }
    }
    return true;
}

static bool real_out(lx_buf *out, const char *key, size_t klen, double v)
{
    char num[24];
    size_t n;
    return real_text(v, num, &n) && lx_buf_append(out, key, klen) == LX_OK &&
           lx_buf_append(out, num, n) == LX_OK;
}

static bool tools_out(enc *e, const lx_request *r)
{
    lx_buf *out = e->out;
    if (!PUT(",\"tools\":["))
        return false;
    for (size_t i = 0; i < r->n_tools; i++) {
        const lx_tool *t = &r->tools[i];
        const char *params = t->parameters ? t->parameters : "";
        if ((i && lx_buf_putc(out, ',') != LX_OK) ||
            !PUT("{\"type\":\"function\",\"function\":{\"name\":") || !quote(out, t->name) ||
            (t->description && (!PUT(",\"description\":") || !quote(out, t->description))) ||
            !PUT(",\"parameters\":") || !object_redump(params, strlen(params), true, out) ||
            !PUT("}}"))
            return false;
    }
    if (lx_buf_putc(out, ']') != LX_OK)
        return false;
    const lx_tool_choice *tc = &r->tool_choice;
    bool ok = true;
    if (tc->kind == LX_TOOL_CHOICE_AUTO)
        ok = PUT(",\"tool_choice\":\"auto\"");
    else if (tc->kind == LX_TOOL_CHOICE_NONE)
        ok = PUT(",\"tool_choice\":\"none\"");
    else if (tc->kind == LX_TOOL_CHOICE_REQUIRED)
        ok = PUT(",\"tool_choice\":\"required\"");
    else if (tc->kind == LX_TOOL_CHOICE_NAMED)
        ok = (!tc->name || valid_utf8(tc->name)) &&
             PUT(",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":") &&
             quote(out, tc->name) && PUT("}}");
    if (ok && tc->has_parallel)
        ok = tc->parallel ? PUT(",\"parallel_tool_calls\":true")
                          : PUT(",\"parallel_tool_calls\":false");
    return ok;
}

static bool body_out(enc *e, const lx_request *r, const char *model, const lx_codec_opts *o)
{
    lx_buf *out = e->out;
    if (!PUT("{\"model\":") || !quote(out, model) || !PUT(",\"messages\":[") ||
        !messages_out(e, r) || lx_buf_putc(out, ']') != LX_OK)
        return false;
    const lx_sampling *s = &r->sampling;
    if (s->has_temperature && !real_out(out, ",\"temperature\":", 15, s->temperature))
        return false;
    if (s->has_top_p && !real_out(out, ",\"top_p\":", 9, s->top_p))
        return false;
    if (s->has_seed && (!PUT(",\"seed\":") || !int_out(out, s->seed)))
        return false;
    if (s->max_tokens > 0 && (!PUT(",\"max_completion_tokens\":") || !int_out(out, s->max_tokens)))
        return false;
    if (s->n_stop) {
        if (!PUT(",\"stop\":["))
            return false;
        for (size_t i = 0; i < s->n_stop; i++) /* json_string refuses bad UTF-8 */
            if (!s->stop[i] || !valid_utf8(s->stop[i]) || (i && lx_buf_putc(out, ',') != LX_OK) ||
                !quote(out, s->stop[i]))
                return false;
        if (lx_buf_putc(out, ']') != LX_OK)
            return false;
    }
    if (r->n_tools && !tools_out(e, r))
        return false;
    if (r->format.kind == LX_FORMAT_JSON && !PUT(",\"response_format\":{\"type\":\"json_object\"}"))
        return false;
    if (r->format.kind == LX_FORMAT_JSON_SCHEMA) {
        const char *schema = r->format.schema ? r->format.schema : "";
        const char *name = r->format.name ? r->format.name : "response";
        if (!valid_utf8(name) ||
            !PUT(",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":") ||
            !quote(out, name) || !PUT(",\"schema\":") ||
            !object_redump(schema, strlen(schema), false, out) ||
            !(r->format.strict ? PUT(",\"strict\":true}}") : PUT(",\"strict\":false}}")))
            return false;
    }
    if (o && o->stream && !PUT(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"))
        return false;
    if (r->user && (!PUT(",\"user\":") || !quote(out, r->user)))
        return false;
    return lx_buf_putc(out, '}') == LX_OK;
}

/* true exactly when lx_request_check_utf8(r, model) passes (same fields). */
static bool all_valid(const lx_request *r, const char *model)
{
    if (!utf8_ok(model) || !utf8_ok(r->user))
        return false;
    for (size_t i = 0; i < r->n_messages; i++)
        for (size_t j = 0; j < r->messages[i].n_parts; j++) {
            const lx_part *p = &r->messages[i].parts[j];
            bool model_text = r->messages[i].role == LX_ROLE_ASSISTANT &&
                              (p->kind == LX_PART_TEXT || p->kind == LX_PART_THINKING);
            if ((!model_text && !utf8_ok(p->text)) || !utf8_ok(p->url) || !utf8_ok(p->data) ||
                !utf8_ok(p->media_type) || !utf8_ok(p->id) || !utf8_ok(p->name) ||
                !utf8_ok(p->arguments) || !utf8_ok(p->signature))
                return false;
        }
    for (size_t i = 0; i < r->n_tools; i++)
        if (!utf8_ok(r->tools[i].name) || !utf8_ok(r->tools[i].description))
            return false;
    for (size_t i = 0; i < r->sampling.n_stop; i++)
        if (!utf8_ok(r->sampling.stop[i]))
            return false;
    return utf8_ok(r->tool_choice.name) && utf8_ok(r->format.name);
}

bool lx_openai_req_encode_fast(const lx_request *r, const char *model, const lx_codec_opts *o,
                               lx_buf *out)
{
    if (!fast_on || !all_valid(r, model))
        return false;
    size_t start = out->len;
    enc e = {.out = out};
    lx_buf_init(&e.b, 0);
    bool ok = body_out(&e, r, model, o);
    lx_buf_free(&e.b);
    if (e.ids_ready)
        lx_call_ids_free(&e.ids);
    if (!ok) { /* not handled, out of memory or over the cap: undo, jansson decides */
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return ok;
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
