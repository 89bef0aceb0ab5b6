#include "proto/json.h"

#include "core/swar.h"
#include "core/utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lx_status lx_json_parse(const char *s, size_t len, bool want_object, json_t **out, lx_error *err)
{
    json_error_t je;
    *out = NULL;
    json_t *v = json_loadb(s ? s : "", len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!v)
        return lx_fail(err, LX_ERR_INVALID, "invalid JSON at line %d, column %d: %s", je.line,
                       je.column, je.text);
    if (want_object && !json_is_object(v)) {
        json_decref(v);
        return lx_fail(err, LX_ERR_INVALID, "expected a JSON object");
    }
    *out = v;
    return LX_OK;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return lx_buf_append(data, buffer, size) == LX_OK ? 0 : -1;
}

lx_status lx_json_dump(const json_t *v, lx_buf *out)
{
    if (json_dump_callback(v, dump_cb, out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) != 0)
        return LX_ERR_NOMEM;
    return LX_OK;
}

char *lx_json_dump_arena(lx_arena *a, const json_t *v)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    char *r = NULL;
    if (lx_json_dump(v, &b) == LX_OK)
        r = lx_arena_strndup(a, b.data ? b.data : "", b.len);
    lx_buf_free(&b);
    return r;
}

lx_status lx_json_opt_str(lx_arena *a, const json_t *obj, const char *key, const char *ctx,
                          char **out, lx_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return LX_OK;
    if (!json_is_string(v))
        return lx_fail(err, LX_ERR_INVALID, "%s%s%s: expected a string", ctx ? ctx : "",
                       ctx ? "." : "", key);
    *out = lx_arena_strndup(a, json_string_value(v), json_string_length(v));
    return *out ? LX_OK : LX_ERR_NOMEM;
}

lx_status lx_json_opt_int(const json_t *obj, const char *key, const char *ctx, int64_t *out,
                          bool *has, lx_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (has)
        *has = false;
    if (!v || json_is_null(v))
        return LX_OK;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_real(v) && fabs(json_real_value(v)) < 9.2e18 && /* cast defined */
               json_real_value(v) == (double)(int64_t)json_real_value(v)) {
        *out = (int64_t)json_real_value(v);
    } else {
        return lx_fail(err, LX_ERR_INVALID, "%s%s%s: expected an integer", ctx ? ctx : "",
                       ctx ? "." : "", key);
    }
    if (has)
        *has = true;
    return LX_OK;
}

lx_status lx_json_opt_num(const json_t *obj, const char *key, const char *ctx, double *out,
                          bool *has, lx_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (has)
        *has = false;
    if (!v || json_is_null(v))
        return LX_OK;
    if (!json_is_number(v))
        return lx_fail(err, LX_ERR_INVALID, "%s%s%s: expected a number", ctx ? ctx : "",
                       ctx ? "." : "", key);
    *out = json_number_value(v);
    if (has)
        *has = true;
    return LX_OK;
}

lx_status lx_json_opt_bool(const json_t *obj, const char *key, const char *ctx, bool *out,
                           bool *has, lx_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (has)
        *has = false;
    if (!v || json_is_null(v))
        return LX_OK;
    if (!json_is_boolean(v))
        return lx_fail(err, LX_ERR_INVALID, "%s%s%s: expected true or false", ctx ? ctx : "",
                       ctx ? "." : "", key);
    *out = json_is_true(v);
    if (has)
        *has = true;
    return LX_OK;
}

json_t *lx_json_object_from_text(const char *text, const char *ctx, lx_error *err)
{
    if (!text || !*text)
        return json_object();
    json_t *v = NULL;
    lx_error e;
    if (lx_json_parse(text, strlen(text), true, &v, &e) != LX_OK) {
        lx_fail(err, LX_ERR_INVALID, "%s: %s", ctx ? ctx : "arguments", e.message);
        return NULL;
    }
    return v;
}

/* The same bytes jansson's compact dump writes for a string (short escapes
 * for \b \f \n \r \t, \u00XX for other controls, UTF-8 as is), without
 * building a json_t: this runs for every streamed chunk and every string of
 * a hand-written request. Plain ASCII runs are skipped eight bytes at a
 * time and copied in one piece. */
static lx_status quote(lx_buf *out, const char *str, size_t n, bool strict)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str, *p = s, *end = s + n, *run = s;
    if (lx_buf_putc(out, '"') != LX_OK)
        return LX_ERR_NOMEM;
    for (;;) {
        while (end - p >= 8 && !lx_swar_json_special(lx_load8(p)))
            p += 8;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= end)
            break;
        unsigned char c = *p;
        if (c >= 0x80) {
            int k = lx_utf8_seq(p, (size_t)(end - p));
            if (k > 0) {
                p += k;
                continue;
            }
            if (strict)
                return LX_ERR_INVALID;
            /* invalid UTF-8 never reaches the output: U+FFFD instead */
            if (lx_buf_append(out, run, (size_t)(p - run)) != LX_OK ||
                lx_buf_append(out, "\xef\xbf\xbd", 3) != LX_OK)
                return LX_ERR_NOMEM;
            run = ++p;
            continue;
        }
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t k = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        if (lx_buf_append(out, run, (size_t)(p - run)) != LX_OK ||
            lx_buf_append(out, esc, k) != LX_OK)
            return LX_ERR_NOMEM;
        run = ++p;
    }
    if (lx_buf_append(out, run, (size_t)(end - run)) != LX_OK || lx_buf_putc(out, '"') != LX_OK)
        return LX_ERR_NOMEM;
    return LX_OK;
}

lx_status lx_json_quote(lx_buf *out, const char *s, size_t n)
{
    return quote(out, s, n, false);
}

lx_status lx_json_quote_strict(lx_buf *out, const char *s, size_t n)
{
    return quote(out, s, n, true);
}

/* Writes s[0..n), valid UTF-8, JSON-quoted as lx_json_quote does (short
 * escapes for \b \f \n \r \t, \u00XX for other controls, the rest as
 * is) at w, which has room for 6 * n + 2 bytes; returns the end. */
char *lx_json_quote_valid(char *w, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)str, *end = p + n;
    *w++ = '"';
    while (p < end) {
        if (end - p >= 8 && !lx_swar_json_escape(lx_load8(p))) {
            memcpy(w, p, 8); /* no control, quote or backslash among these 8 */
            w += 8;
            p += 8;
            continue;
        }
        unsigned char c = *p++;
        if (c >= 0x20 && c != '"' && c != '\\') {
            *w++ = (char)c;
            continue;
        }
        *w++ = '\\';
        switch (c) {
        case '"':
            *w++ = '"';
            break;
        case '\\':
            *w++ = '\\';
            break;
        case '\b':
            *w++ = 'b';
            break;
        case '\f':
            *w++ = 'f';
            break;
        case '\n':
            *w++ = 'n';
            break;
        case '\r':
            *w++ = 'r';
            break;
        case '\t':
            *w++ = 't';
            break;
        default:
            *w++ = 'u';
            *w++ = '0';
            *w++ = '0';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
    }
    *w++ = '"';
    return w;
}
