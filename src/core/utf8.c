#include "core/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int lx_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    int len;
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c == 0xE0)
        lo = 0xA0; /* overlong */
    else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    else if (c == 0xF0)
        lo = 0x90; /* overlong */
    else if (c == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return len;
}

size_t lx_utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint64_t x;
        if (n - i >= 8 && (memcpy(&x, p + i, 8), !(x & 0x8080808080808080ULL))) {
            i += 8; /* eight ASCII bytes */
            continue;
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        int k = lx_utf8_seq(p + i, n - i);
        if (k <= 0)
            return i;
        i += (size_t)k;
    }
    return n;
}

lx_status lx_utf8_clean(lx_utf8_carry *c, const char *s, size_t n, bool flush, lx_buf *out)
{
    /* the common case: nothing carried, all of s valid (so no incomplete
     * tail either), s not inside out: out is a copy of s */
    uintptr_t a = (uintptr_t)s, o = (uintptr_t)out->data;
    if (c->n == 0 && n && (!out->data || a + n <= o || a >= o + out->alloc) &&
        lx_utf8_valid_prefix(s, n) == n) {
        lx_buf_reset(out);
        return lx_buf_append(out, s, n);
    }
    lx_buf in;
    lx_buf_init(&in, 0);
    lx_status st = lx_buf_append(&in, c->b, c->n);
    if (st == LX_OK && n)
        st = lx_buf_append(&in, s, n);
    c->n = 0;
    lx_buf_reset(out); /* only now: s may point into out */
    const unsigned char *p = (const unsigned char *)in.data;
    for (size_t i = 0; i < in.len && st == LX_OK;) {
        int k = lx_utf8_seq(p + i, in.len - i);
        if (k > 0) {
            st = lx_buf_append(out, p + i, (size_t)k);
            i += (size_t)k;
        } else if (k < 0 && !flush) {
            memcpy(c->b, p + i, in.len - i); /* at most 3 bytes */
            c->n = in.len - i;
            break;
        } else {
            st = lx_buf_puts(out, "\xEF\xBF\xBD");
            i = k < 0 ? in.len : i + 1;
        }
    }
    lx_buf_free(&in);
    return st;
}

lx_status lx_utf8_lossy(const char *s, size_t n, lx_buf *out)
{
    lx_utf8_carry none = {{0}, 0};
    return lx_utf8_clean(&none, s, n, true, out);
}

/* Formats the field name only when the string is bad. */
#define CHECK(s, ...)                                                                              \
    do {                                                                                           \
        const char *s_ = (s);                                                                      \
        size_t n_ = s_ ? strlen(s_) : 0, bad_ = s_ ? lx_utf8_valid_prefix(s_, n_) : 0;             \
        if (bad_ < n_) {                                                                           \
            char w_[96];                                                                           \
            snprintf(w_, sizeof w_, __VA_ARGS__);                                                  \
            return lx_fail(err, LX_ERR_INVALID, "%s: not valid UTF-8 at byte %zu", w_, bad_);      \
        }                                                                                          \
    } while (0)

lx_status lx_request_check_utf8(const lx_request *r, const char *model, lx_error *err)
{
    CHECK(model, "model");
    CHECK(r->user, "user");
    for (size_t i = 0; i < r->n_messages; i++)
        for (size_t j = 0; j < r->messages[i].n_parts; j++) {
            const lx_part *p = &r->messages[i].parts[j];
            bool model_text = r->messages[i].role == LX_ROLE_ASSISTANT &&
                              (p->kind == LX_PART_TEXT || p->kind == LX_PART_THINKING);
            if (!model_text)
                CHECK(p->text, "messages[%zu].parts[%zu].text", i, j);
            CHECK(p->url, "messages[%zu].parts[%zu].url", i, j);
            CHECK(p->data, "messages[%zu].parts[%zu].data", i, j);
            CHECK(p->media_type, "messages[%zu].parts[%zu].media_type", i, j);
            CHECK(p->id, "messages[%zu].parts[%zu].id", i, j);
            CHECK(p->name, "messages[%zu].parts[%zu].name", i, j);
            CHECK(p->arguments, "messages[%zu].parts[%zu].arguments", i, j);
            CHECK(p->signature, "messages[%zu].parts[%zu].signature", i, j);
        }
    for (size_t i = 0; i < r->n_tools; i++) {
        CHECK(r->tools[i].name, "tools[%zu].name", i);
        CHECK(r->tools[i].description, "tools[%zu].description", i);
    }
    for (size_t i = 0; i < r->sampling.n_stop; i++)
        CHECK(r->sampling.stop[i], "stop[%zu]", i);
    CHECK(r->tool_choice.name, "tool_choice.name");
    CHECK(r->format.name, "response_format.name");
    return LX_OK;
}
#undef CHECK

int lx_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *lx_utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

int lx_hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = lx_hex_digit(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}
