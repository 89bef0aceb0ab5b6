/*
 * validators.c — the checks that turn a shape into a finding: Luhn for
 * cards, ISO 13616 mod-97 and the per-country IBAN length, US SSN rules,
 * Shannon entropy for generic tokens, base64url for JWT headers, and the
 * list of documentation placeholders that must never count as secrets.
 * Pure functions over bytes; no allocation.
 */
#include <math.h>
#include <string.h>

#include "guard/scan_int.h"

bool lx_luhn_ok(const char *digits, size_t n)
{
    if (n == 0)
        return false;
    unsigned sum = 0;
    bool dbl = false;
    for (size_t i = n; i-- > 0;) {
        unsigned d = (unsigned)(digits[i] - '0');
        if (d > 9)
            return false;
        if (dbl) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

/* Country code and total IBAN length (SWIFT IBAN registry). */
static const struct {
    char cc[3];
    unsigned char len;
} iban_lengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27},
    {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28},
    {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

int lx_iban_length(const char *cc)
{
    size_t lo = 0, hi = sizeof iban_lengths / sizeof iban_lengths[0];
    while (lo < hi) { /* the table is sorted */
        size_t mid = (lo + hi) / 2;
        int c = memcmp(cc, iban_lengths[mid].cc, 2);
        if (c == 0)
            return iban_lengths[mid].len;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

bool lx_iban_ok(const char *iban, size_t n)
{
    if (n < 15 || n > 34)
        return false;
    unsigned rem = 0;
    /* Move the first four characters to the end; letters count 10..35. */
    for (size_t k = 0; k < n; k++) {
        char c = iban[(k + 4) % n];
        if (lx_is_digit(c))
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else if (lx_is_upper(c))
            rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
        else
            return false;
    }
    return rem == 1;
}

bool lx_ssn_ok(int area, int group, int serial)
{
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return false;
    /* Documented fakes: the 1938 Woolworth wallet card, a 1960s ad, and the
     * "123-45-6789" of every form example. */
    if ((area == 78 && group == 5 && serial == 1120) ||
        (area == 219 && group == 9 && serial == 9999) ||
        (area == 123 && group == 45 && serial == 6789))
        return false;
    return true;
}

double lx_entropy(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0.0;
    unsigned counts[256] = {0};
    for (size_t i = 0; i < n; i++)
        counts[s[i]]++;
    double h = 0.0;
    for (int c = 0; c < 256; c++) {
        if (!counts[c])
            continue;
        double p = (double)counts[c] / (double)n;
        h -= p * log2(p);
    }
    return h;
}

bool lx_ci_at(const unsigned char *t, size_t len, size_t i, const char *lit)
{
    size_t k = 0;
    for (; lit[k]; k++)
        if (i + k >= len || lx_lower(t[i + k]) != lx_lower((unsigned char)lit[k]))
            return false;
    return true;
}

bool lx_window_has(const unsigned char *t, size_t from, size_t to, const char *const *words)
{
    for (size_t i = from; i < to; i++)
        for (const char *const *w = words; *w; w++)
            if (lx_lower(t[i]) == lx_lower((unsigned char)(*w)[0]) && lx_ci_at(t, to, i, *w) &&
                (i == 0 || !lx_is_alpha((*w)[0]) || !lx_is_alpha(t[i - 1])))
                return true;
    return false;
}

static bool ci_contains(const unsigned char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    for (size_t i = 0; i + m <= n; i++)
        if (lx_ci_at(s, n, i, lit))
            return true;
    return false;
}

/* The alphanumerics form one run of a single character or of consecutive
 * characters (abcdef, 123456, 987654): a typed-out dummy, not a secret. */
static bool monotone(const unsigned char *s, size_t n)
{
    int prev = -1, same = 0, up = 0, down = 0, pairs = 0;
    for (size_t i = 0; i < n; i++) {
        int c = lx_lower(s[i]);
        if (!lx_is_alnum(c))
            continue;
        if (prev >= 0) {
            pairs++;
            if (c == prev)
                same++;
            else if (c == prev + 1 || (prev == '9' && c == '0'))
                up++;
            else if (c == prev - 1 || (prev == '0' && c == '9'))
                down++;
        }
        prev = c;
    }
    if (pairs < 3)
        return false;
    return same * 10 >= pairs * 9 || up * 10 >= pairs * 8 || down * 10 >= pairs * 8 ||
           (same + up + down) * 10 >= pairs * 9;
}

bool lx_is_placeholder(const unsigned char *s, size_t n)
{
    static const char *const marks[] = {
        "example",  "your",       "xxxx",    "placeholder",
        "redacted", "dummy",      "sample",  "changeme",
        "fake",     "<",          ">",       "${",
        "{{",       "****",       "...",     "\xe2\x80\xa6",
        "0000000",  "insert",     "replace", "secret_here",
        "key_here", "token_here", NULL,
    };
    for (const char *const *m = marks; *m; m++)
        if (ci_contains(s, n, *m))
            return true;
    return monotone(s, n);
}

long lx_b64url_decode(const unsigned char *s, size_t n, unsigned char *out, size_t cap)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        unsigned v;
        if (lx_is_upper(c))
            v = c - 'A';
        else if (lx_is_lower(c))
            v = c - 'a' + 26;
        else if (lx_is_digit(c))
            v = c - '0' + 52;
        else if (c == '-' || c == '+')
            v = 62;
        else if (c == '_' || c == '/')
            v = 63;
        else if (c == '=')
            break;
        else
            return -1;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)o;
}
