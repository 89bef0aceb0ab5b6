/*
 * unicode.c — UTF-8 coding and character classes for the tokenizers.
 *
 * Well-formed UTF-8 follows Table 3-7 of the Unicode Standard: the second
 * byte's range depends on the lead byte (E0 A0..BF, ED 80..9F, F0 90..BF,
 * F4 80..8F), which rules out overlongs, surrogates and code points past
 * U+10FFFF. Classes come from a sorted range table (binary search) with an
 * ASCII fast path.
 */
#include "engine/unicode.h"

#include "core/utf8.h"

#include "engine/unicode_tables.h"

/* Range of the second byte allowed after lead byte b, or 0 for a bad lead. */
static int utf8_lead(unsigned char b, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b < 0x80)
        return 1;
    if (b < 0xC2)
        return 0;
    if (b < 0xE0)
        return 2;
    if (b < 0xF0) {
        if (b == 0xE0)
            *lo = 0xA0;
        else if (b == 0xED)
            *hi = 0x9F;
        return 3;
    }
    if (b < 0xF5) {
        if (b == 0xF0)
            *lo = 0x90;
        else if (b == 0xF4)
            *hi = 0x8F;
        return 4;
    }
    return 0;
}

lx_utf8_state lx_utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    unsigned char lo, hi;
    int need = utf8_lead(s[0], &lo, &hi);
    if (need == 0) {
        *len = 1;
        return LX_UTF8_INVALID;
    }
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= n) {
            *len = n;
            return LX_UTF8_INCOMPLETE;
        }
        unsigned char c = s[i];
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (c < l || c > h) {
            *len = (size_t)i;
            return LX_UTF8_INVALID;
        }
    }
    *len = (size_t)need;
    return LX_UTF8_OK;
}

uint32_t lx_utf8_decode(const char *s, size_t n, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *len = 1;
        return u[0];
    }
    size_t l;
    if (lx_utf8_next(u, n, &l) != LX_UTF8_OK) {
        *len = 1;
        return LX_UTF8_BAD;
    }
    *len = l;
    switch (l) {
    case 2:
        return ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
    case 3:
        return ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
    default:
        return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
               ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
    }
}

size_t lx_utf8_encode(uint32_t cp, char out[4])
{
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return (size_t)(lx_utf8_put(out, cp) - out);
}

bool lx_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t l;
        if (lx_utf8_next(u + i, n - i, &l) != LX_UTF8_OK)
            return false;
        i += l;
    }
    return true;
}

static const char REPLACEMENT[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

lx_status lx_utf8_append_valid(lx_buf *out, const char *s, size_t n, size_t *hold)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0; /* run: start of the pending valid span */
    lx_status st;
    if (hold)
        *hold = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t l;
        lx_utf8_state k = lx_utf8_next(u + i, n - i, &l);
        if (k == LX_UTF8_OK) {
            i += l;
            continue;
        }
        if ((st = lx_buf_append(out, s + run, i - run)) != LX_OK)
            return st;
        if (k == LX_UTF8_INCOMPLETE && hold) {
            *hold = l;
            return LX_OK;
        }
        if ((st = lx_buf_append(out, REPLACEMENT, 3)) != LX_OK)
            return st;
        i += l;
        run = i;
    }
    return lx_buf_append(out, s + run, n - run);
}

static bool is_white_space(uint32_t c)
{
    /* The White_Space property (PropList.txt), stable since Unicode 6.3. */
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

unsigned lx_unicode_class(uint32_t cp)
{
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
            return LX_UC_LETTER;
        if (cp >= '0' && cp <= '9')
            return LX_UC_NUMBER;
        return is_white_space(cp) ? LX_UC_SPACE : 0;
    }
    if (cp > 0x10FFFF)
        return 0;
    if (is_white_space(cp))
        return LX_UC_SPACE;
    size_t lo = 0, hi = LX_UC_NRANGES;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < lx_uc_ranges[mid].lo)
            hi = mid;
        else if (cp > lx_uc_ranges[mid].hi)
            lo = mid + 1;
        else
            return lx_uc_ranges[mid].cls;
    }
    return 0;
}

const char *lx_unicode_version(void)
{
    return LX_UNICODE_VERSION;
}
