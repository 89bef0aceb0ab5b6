/*
 * patterns.c — the built-in triggers and their exact matchers.
 *
 * Each row of lx_triggers[] is one Vectorscan expression plus the C function
 * that confirms it. The expression is only as precise as it needs to be to
 * keep the matcher rare and to pin the candidate: either it ends right after
 * a literal prefix ("AKIA" + 16, "sk-", "eyJ"), so the start is end minus a
 * known length, or the matcher walks back over a character class whose
 * limits are unambiguous (a run of digits and separators, a dotted quad, the
 * local part before "@").
 * The matcher then parses forward with the exact grammar of the type and
 * validates it (see validators.c). The matchers of keys, tokens and
 * passwords live in secrets.c, those of PERSON and ADDRESS in pii.c.
 *
 * Boundaries: a candidate never starts or ends inside a word. For numeric
 * types the neighbours must not be letters, digits, or a '.'/'-' followed by
 * a digit (so a card is not cut out of a longer number).
 */
#include <arpa/inet.h>
#include <hs/hs.h>
#include <string.h>

#include "guard/pii.h"
#include "guard/scan_int.h"
#include "guard/secrets.h"

#define T(x) ((uint32_t)(LX_FIND_##x))

/* ---- small helpers ------------------------------------------------------ */

/* Not inside a word: the byte before i is no letter/digit/'_'. */
static bool free_before(const lx_scan_ctx *cx, size_t i)
{
    return i == 0 || !(lx_is_alnum(cx->t[i - 1]) || cx->t[i - 1] == '_');
}
static bool free_after(const lx_scan_ctx *cx, size_t i)
{
    return i >= cx->len || !(lx_is_alnum(cx->t[i]) || cx->t[i] == '_');
}
/* Numeric boundaries: also no "1." / ".1" / "-1" gluing to more digits. */
static bool num_free_before(const lx_scan_ctx *cx, size_t i)
{
    if (i == 0)
        return true;
    int c = cx->t[i - 1];
    if (lx_is_alnum(c) || c == '_')
        return false;
    if ((c == '.' || c == ',' || c == '-' || c == '/') && i >= 2 && lx_is_digit(cx->t[i - 2]))
        return false;
    return true;
}
static bool num_free_after(const lx_scan_ctx *cx, size_t i)
{
    if (i >= cx->len)
        return true;
    int c = cx->t[i];
    if (lx_is_alnum(c) || c == '_')
        return false;
    if ((c == '.' || c == ',' || c == '-' || c == '/') && i + 1 < cx->len &&
        lx_is_digit(cx->t[i + 1]))
        return false;
    return true;
}

static size_t window_start(size_t i, size_t w)
{
    return i > w ? i - w : 0;
}

/* ---- EMAIL -------------------------------------------------------------- */

static bool email_local(int c) /* RFC 6531 allows UTF-8 in the local part */
{
    return lx_is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' ||
           c == '\'' || c >= 0x80;
}

static size_t m_email(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t at = end;
    while (at > 0 && t[at - 1] != '@' && end - at < 256)
        at--;
    if (at == 0 || t[at - 1] != '@')
        return end;
    at--;
    size_t s = at;
    while (s > 0 && email_local(t[s - 1]) && at - s < 64)
        s--;
    if (s > 0 && (t[s - 1] == '@' || lx_is_word(t[s - 1])))
        return end; /* a local part over 64 bytes, or "a@b@c" */
    for (;;) {      /* leading punctuation: quotes, "«", "→" (U+0080-00BF, U+2000-2FFF) */
        if (s < at && (t[s] == '.' || t[s] == '\''))
            s++;
        else if (s + 1 < at && t[s] == 0xC2)
            s += 2;
        else if (s + 2 < at && t[s] == 0xE2)
            s += 3;
        else
            break;
    }
    if (s == at || t[at - 1] == '.')
        return end;
    /* domain: labels of [A-Za-z0-9-] separated by single dots */
    size_t e = at + 1, last_dot = 0;
    while (e < cx->len && e - at < 254) {
        if (lx_is_alnum(t[e]) || t[e] == '-')
            e++;
        else if (t[e] == '.' && e + 1 < cx->len && lx_is_alnum(t[e + 1]) && t[e - 1] != '.')
            last_dot = e++;
        else
            break;
    }
    while (e > at + 1 && t[e - 1] == '-')
        e--;
    if (last_dot == 0 || last_dot >= e)
        return end;
    size_t tld = last_dot + 1;
    for (size_t k = tld; k < e; k++)
        if (!lx_is_alpha(t[k]))
            return e;
    if (e - tld < 2 ||
        (e < cx->len && (t[e] == '@' || (lx_is_word(t[e]) && t[e] != 0xC2 && t[e] != 0xE2))))
        return e;
    /* Documentation and file names: RFC 2606 names, "logo@2x.png". */
    static const char *const reserved[] = {"example", "test", "invalid", "localhost", "png",
                                           "jpg",     "jpeg", "gif",     "svg",       "webp",
                                           "ico",     "pdf",  NULL};
    for (const char *const *r = reserved; *r; r++)
        if (e - tld == strlen(*r) && lx_ci_at(t, e, tld, *r))
            return e;
    for (size_t k = at + 1; k < e; k++) /* example.com, mail.example.org, ... */
        if ((k == at + 1 || t[k - 1] == '.') && lx_ci_at(t, e, k, "example.") && k + 8 < e &&
            memchr(t + k + 8, '.', e - k - 8) == NULL)
            return e;
    lx_emit(cx, T(EMAIL), s, e);
    return e;
}

/* ---- PHONE --------------------------------------------------------------
 * A phone number is 8-13 digits (8-16 after "+", room for "(0)") in groups
 * separated by single spaces, dashes, dots or slashes, with at most one
 * parenthesised group, and is accepted when
 *   - it starts with "+" and a country code (E.164 with separators), or
 *   - it opens with a parenthesised area code: "(212) 555-1234", or
 *   - it has the US 3-3-4 shape with '-' or '.', or the French 5x2 "01 42 68 53 00",
 *     unless "order", "invoice", "ref", "tracking", "#", ... stands before it, or
 *   - a phone word stands before it (phone, tel, mobile, cell, fax, call,
 *     Telefon, Handy, téléphone, portable, whatsapp).
 * Dates (2024-01-15, 15.01.2024, 01/15/2024) and runs of six equal digits
 * never count. */

static bool is_date(const int *g, const int *glen, int ng)
{
    if (ng != 3)
        return false;
    int y, m, d;
    if (glen[0] == 4 && glen[1] <= 2 && glen[2] <= 2)
        y = g[0], m = g[1], d = g[2];
    else if (glen[0] <= 2 && glen[1] <= 2 && (glen[2] == 4 || glen[2] == 2))
        y = glen[2] == 4 ? g[2] : 2000, m = g[1], d = g[0];
    else
        return false;
    if (m > 12) { /* US order: month first */
        int x = m;
        m = d, d = x;
    }
    return y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* Parses a phone number at i ("+CC ..." or national). kind: 0 context or
 * E.164, 1 plain national shape (needs a clean context). Emits and returns
 * its end, or returns i. */
static size_t parse_phone(lx_scan_ctx *cx, size_t i, int kind)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len, s = i, j = i;
    bool plus = false, paren_open = false, used_paren = false;
    int digits = 0, ng = 0, cur = -1, glen[8] = {0}, gval[8] = {0};
    if (!num_free_before(cx, s) || (s > 0 && (t[s - 1] == '+' || t[s - 1] == '@')))
        return i;
    if (j < n && t[j] == '+') {
        plus = true;
        j++;
    }
    size_t last_digit = j;
    while (j < n && j - s < 32) {
        int c = t[j];
        if (lx_is_digit(c)) {
            if (cur < 0) {
                cur = ng < 8 ? ng : 7;
                if (ng < 8)
                    ng++;
                glen[cur] = 0, gval[cur] = 0;
            }
            glen[cur]++;
            gval[cur] = gval[cur] * 10 + (c - '0');
            if (gval[cur] > 100000)
                gval[cur] = 100000;
            digits++;
            j++;
            last_digit = j;
        } else if (c == '(' && !used_paren && cur < 0) {
            used_paren = paren_open = true;
            j++;
        } else if (c == ')' && paren_open && cur >= 0) {
            paren_open = false;
            cur = -1;
            j++;
            if (j < n && (t[j] == ' ' || t[j] == '-' || t[j] == '.'))
                j++;
        } else if ((c == ' ' || c == '-' || c == '.' || c == '/') && cur >= 0 && j + 1 < n &&
                   (lx_is_digit(t[j + 1]) || (t[j + 1] == '(' && !used_paren))) {
            cur = -1;
            j++;
        } else {
            break;
        }
    }
    size_t e = last_digit;
    if (paren_open || digits < 8 || digits > (plus ? 16 : 13) || !num_free_after(cx, e))
        return e;
    if (!plus && is_date(gval, glen, ng))
        return e;
    int run = 1, prev = -1; /* "+100000000 points", "0000 000000": no real number */
    for (size_t k = s; k < e; k++) {
        if (!lx_is_digit(t[k]))
            continue;
        run = t[k] == prev ? run + 1 : 1;
        prev = t[k];
        if (run >= 6)
            return e;
    }
    if (!plus && ng == 1 && kind == 1)
        return e;
    if (kind == 1) {
        static const char *const no[] = {
            "order", "invoice", "ref", "tracking", "serial", "account", "acct", "isbn",
            "#",     "id:",     "no.", "nr",       "ticket", "case",    NULL};
        if (lx_window_has(t, window_start(s, 24), s, no))
            return e;
    }
    lx_emit(cx, T(PHONE), s, e);
    return e;
}

static size_t m_phone_plus(lx_scan_ctx *cx, int arg, size_t end)
{
    return parse_phone(cx, end - 2, 0);
}

static size_t m_phone_paren(lx_scan_ctx *cx, int arg, size_t end)
{
    size_t p = end;
    while (p > 0 && cx->t[p - 1] != '(' && end - p < 12)
        p--;
    if (p == 0 || cx->t[p - 1] != '(')
        return end;
    p--;
    /* "+1 (555) ..." is the E.164 trigger's */
    if (p >= 2 && cx->t[p - 1] == ' ' && lx_is_digit(cx->t[p - 2]))
        return end;
    return parse_phone(cx, p, 1);
}

static size_t m_phone_fixed(lx_scan_ctx *cx, int len, size_t end)
{
    return parse_phone(cx, end - (size_t)len, 1);
}

static size_t m_phone_context(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    if (end < cx->len && lx_is_alpha(t[end]) && !lx_ci_at(t, cx->len, end, "s"))
        return end; /* "telegram", "cellar" */
    size_t w = end;
    while (w > 0 && (lx_is_alpha(t[w - 1]) || t[w - 1] >= 0x80))
        w--;
    static const char *const labels[] = {"phone",
                                         "tel",
                                         "telephone",
                                         "mobile",
                                         "mobil",
                                         "cell",
                                         "fax",
                                         "handy",
                                         "telefon",
                                         "portable",
                                         "whatsapp",
                                         "call",
                                         "t\xc3\xa9l\xc3\xa9phone",
                                         "t\xc3\xa9l",
                                         "smartphone",
                                         "cellphone",
                                         NULL};
    bool known = false;
    for (const char *const *l = labels; *l && !known; l++)
        known = strlen(*l) == end - w && lx_ci_at(t, end, w, *l);
    if (!known) /* "hotel", "intel", "recall" */
        return end;
    size_t j = end;
    while (j < cx->len && j - end < 30 && t[j] != '\n' && !lx_is_digit(t[j]) && t[j] != '+' &&
           t[j] != '(')
        j++;
    if (j >= cx->len || t[j] == '\n' || j - end >= 30)
        return end;
    return parse_phone(cx, j, 0);
}

/* ---- CREDIT_CARD -------------------------------------------------------- */

static bool card_groups_ok(const int *g, int ng, int digits)
{
    if (ng == 1)
        return true;
    if (ng == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4))
        return true; /* Amex 4-6-5, Diners 4-6-4 */
    for (int k = 0; k < ng - 1; k++)
        if (g[k] != 4)
            return false;
    return g[ng - 1] >= 1 && g[ng - 1] <= 4 && digits >= 13;
}

static bool card_iin_ok(const char *d)
{
    int two = (d[0] - '0') * 10 + (d[1] - '0');
    int four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    if (d[0] == '4' || d[0] == '5' || d[0] == '6' || d[0] == '3')
        return d[0] != '5' || (two >= 50 && two <= 55) || two >= 56;
    return four >= 2221 && four <= 2720; /* Mastercard 2-series */
}

/* Parses a card number starting at s; returns the end of the longest
 * valid prefix (0 if none) and sets *run_end to where the digits stop. */
static size_t card_from(const lx_scan_ctx *cx, size_t s, size_t *run_end)
{
    const unsigned char *t = cx->t;
    char d[24];
    int g[24], ng = 0, nd = 0, sep = 0;
    size_t j = s, best_end = 0, best_nd = 0;
    bool bad_sep = false;
    g[0] = 0;
    while (j < cx->len && nd < 24) {
        if (lx_is_digit(t[j])) {
            d[nd++] = (char)t[j];
            if (ng == 0)
                ng = 1;
            g[ng - 1]++;
            j++;
        } else if ((t[j] == ' ' || t[j] == '-') && j + 1 < cx->len && lx_is_digit(t[j + 1]) &&
                   ng > 0 && ng < 23) {
            if (sep && sep != t[j])
                bad_sep = true;
            sep = t[j];
            /* "4111 1111 1111 1111 2025": a card followed by more numbers */
            if (nd >= 13 && nd <= 19 && !bad_sep && card_groups_ok(g, ng, nd) && card_iin_ok(d) &&
                lx_luhn_ok(d, (size_t)nd))
                best_end = j, best_nd = (size_t)nd;
            g[ng++] = 0;
            j++;
        } else {
            break;
        }
    }
    *run_end = j;
    if (j < cx->len && lx_is_digit(t[j])) { /* over 24 digits: one long number */
        while (j < cx->len && lx_is_digit(t[j]))
            j++;
        *run_end = j;
        return 0;
    }
    if (nd >= 13 && nd <= 19 && !bad_sep && card_groups_ok(g, ng, nd) && card_iin_ok(d) &&
        lx_luhn_ok(d, (size_t)nd) && num_free_after(cx, j))
        best_end = j, best_nd = (size_t)nd;
    size_t same = 0;
    for (size_t k = 1; k < best_nd; k++)
        same += d[k] == d[0];
    if (!best_end || same == best_nd - 1) /* 4444 4444 4444 4444 */
        return 0;
    return best_end;
}

static size_t m_card(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t s = end;
    while (s > 0 && end - s < 40 &&
           (lx_is_digit(t[s - 1]) ||
            ((t[s - 1] == ' ' || t[s - 1] == '-') && s >= 2 && lx_is_digit(t[s - 2]))))
        s--;
    while (s < end && !lx_is_digit(t[s]))
        s++;
    /* The run may start with other numbers ("8.8.8.8 4111 ..."): try each
     * group start that is free on its left. */
    size_t furthest = end;
    for (size_t g = s; g < end; g++) {
        if (!lx_is_digit(t[g]) || (g > s && lx_is_digit(t[g - 1])))
            continue;
        if (!num_free_before(cx, g)) {
            if (g > 0 && lx_is_alpha(t[g - 1]))
                break; /* "DE89 3704 ...": the run belongs to a word */
            continue;
        }
        size_t run_end, e = card_from(cx, g, &run_end);
        if (run_end > furthest)
            furthest = run_end;
        if (!e)
            continue;
        static const char *const no[] = {"isbn", NULL};
        if (!lx_window_has(t, window_start(g, 12), g, no))
            lx_emit(cx, T(CREDIT_CARD), g, e);
        return run_end;
    }
    return furthest;
}

/* ---- US_SSN ------------------------------------------------------------- */

static int num_at(const unsigned char *t, size_t i, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++)
        v = v * 10 + (t[i + (size_t)k] - '0');
    return v;
}

static size_t m_ssn(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t s = end - 11;
    if (t[s + 3] != t[s + 6] || !num_free_before(cx, s) || !num_free_after(cx, end))
        return end;
    if (t[s + 3] == ' ') { /* "078 05 1120": only next to an SSN label */
        static const char *const ctx[] = {"ssn", "social security", NULL};
        if (!lx_window_has(t, window_start(s, 32), s, ctx))
            return end;
    }
    if (lx_ssn_ok(num_at(t, s, 3), num_at(t, s + 4, 2), num_at(t, s + 7, 4)))
        lx_emit(cx, T(US_SSN), s, end);
    return end;
}

static size_t m_ssn_labelled(lx_scan_ctx *cx, int arg, size_t end)
{
    size_t s = end - 9;
    if (num_free_before(cx, s) && num_free_after(cx, end) &&
        lx_ssn_ok(num_at(cx->t, s, 3), num_at(cx->t, s + 3, 2), num_at(cx->t, s + 5, 4)))
        lx_emit(cx, T(US_SSN), s, end);
    return end;
}

/* ---- digit runs: CREDIT_CARD, US_SSN, national PHONE shapes ------------
 * One trigger (7+ digits with single separators) serves them all: every
 * extra pattern led by a digit class costs Vectorscan 5-20 % of its speed,
 * one costs about the same as several. The run is split into digit groups
 * and each shape is tried on it. */

static bool run_sep(int c)
{
    return c == ' ' || c == '.' || c == '-';
}

static size_t m_digits(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t s = end, e = end;
    while (s > 0 && end - s < 48 &&
           (lx_is_digit(t[s - 1]) || (run_sep(t[s - 1]) && s >= 2 && lx_is_digit(t[s - 2]))))
        s--;
    while (s < end && !lx_is_digit(t[s]))
        s++;
    while (e < cx->len && e - s < 96 &&
           (lx_is_digit(t[e]) || (run_sep(t[e]) && e + 1 < cx->len && lx_is_digit(t[e + 1]))))
        e++;
    size_t gs[32], ge[32], digits = 0;
    int ng = 0;
    for (size_t k = s; k < e && ng < 32; k++) {
        gs[ng] = k;
        while (k < e && lx_is_digit(t[k]))
            k++;
        ge[ng] = k;
        digits += k - gs[ng++];
    }
    size_t furthest = e;
    if (digits >= 13) {
        size_t r = m_card(cx, 0, e);
        if (r > furthest)
            furthest = r;
    }
    for (int g = 0; g + 2 < ng; g++) {
        size_t l0 = ge[g] - gs[g], l1 = ge[g + 1] - gs[g + 1], l2 = ge[g + 2] - gs[g + 2];
        int s1 = t[ge[g]], s2 = t[ge[g + 1]];
        if (l0 == 3 && l1 == 2 && l2 == 4 && s1 == s2 && s1 != '.')
            m_ssn(cx, 0, ge[g + 2]);
        if (l0 == 3 && l1 == 3 && l2 == 4 && s1 != ' ' && s2 != ' ')
            m_phone_fixed(cx, 12, ge[g + 2]);
        if (g + 4 < ng && t[gs[g]] == '0' && t[gs[g] + 1] != '0') { /* 01 42 68 53 00 */
            bool fr = true;
            for (int k = g; k < g + 5 && fr; k++)
                fr = ge[k] - gs[k] == 2 && (k == g || t[gs[k] - 1] != '-');
            if (fr)
                m_phone_fixed(cx, 14, ge[g + 4]);
        }
    }
    return furthest;
}

/* ---- IBAN --------------------------------------------------------------- */

static size_t m_iban(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t s = t[end - 5] == ' ' ? end - 9 : end - 8;
    if (!free_before(cx, s))
        return end;
    int want = lx_iban_length((const char *)t + s);
    if (!want)
        return end;
    char buf[40];
    int nb = 0;
    size_t j = s;
    while (j < cx->len && nb < want) {
        if (lx_is_digit(t[j]) || lx_is_upper(t[j])) {
            buf[nb++] = (char)t[j++];
        } else if (t[j] == ' ' && nb % 4 == 0 && nb > 0 && j + 1 < cx->len &&
                   lx_is_alnum(t[j + 1])) {
            j++;
        } else {
            break;
        }
    }
    if (nb != want || !free_after(cx, j) || !lx_iban_ok(buf, (size_t)nb))
        return j;
    lx_emit(cx, T(IBAN), s, j);
    return j;
}

/* ---- IP_ADDRESS --------------------------------------------------------- */

static size_t m_ipv4(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t s = end, e = end;
    while (s > 0 && end - s < 20 && (lx_is_digit(t[s - 1]) || t[s - 1] == '.'))
        s--;
    while (e < cx->len && e - s < 40 && (lx_is_digit(t[e]) || t[e] == '.'))
        e++;
    size_t run_end = e;
    while (s < e && t[s] == '.')
        s++;
    while (e > s && t[e - 1] == '.')
        e--;
    if (!free_before(cx, s) || (s > 0 && (t[s - 1] == '-' || t[s - 1] == '.')) ||
        !free_after(cx, e))
        return run_end;
    int oct[4], no = 0, val = -1, nd = 0;
    for (size_t k = s; k <= e; k++) {
        if (k < e && lx_is_digit(t[k])) {
            val = (val < 0 ? 0 : val * 10) + (t[k] - '0');
            if (++nd > 3)
                return run_end;
        } else {
            if (val < 0 || val > 255 || no >= 4)
                return run_end;
            oct[no++] = val;
            val = -1, nd = 0;
        }
    }
    if (no != 4)
        return run_end;
    if (oct[0] == 127 || (oct[0] == 0 && oct[1] == 0 && oct[2] == 0 && oct[3] == 0) ||
        oct[0] == 255)
        return run_end;
    /* documentation ranges (RFC 5737), like example.com for emails */
    if ((oct[0] == 192 && oct[1] == 0 && oct[2] == 2) ||
        (oct[0] == 198 && oct[1] == 51 && oct[2] == 100) ||
        (oct[0] == 203 && oct[1] == 0 && oct[2] == 113))
        return run_end;
    static const char *const ver[] = {"version",  "ver.",    "ver ",     "release", "build",
                                      "firmware", "oid",     "revision", "patch",   "update",
                                      "upgrade",  "package", "kernel",   NULL};
    if (lx_window_has(t, window_start(s, 24), s, ver))
        return run_end;
    /* "1.2.5.1-2", "10.0.0.1+dfsg", "2.1.0.3~rc1": version suffixes */
    if (e + 1 < cx->len && ((t[e] == '-' && lx_is_digit(t[e + 1])) ||
                            ((t[e] == '+' || t[e] == '~') && lx_is_alnum(t[e + 1]))))
        return run_end;
    lx_emit(cx, T(IP_ADDRESS), s, e);
    return run_end;
}

static bool v6_char(int c)
{
    return lx_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

static size_t m_ipv6(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t s = end, e = end;
    while (s > 0 && end - s < 45 && v6_char(t[s - 1]))
        s--;
    while (e < cx->len && e - s < 45 && v6_char(t[e]))
        e++;
    size_t run_end = e;
    while (e > s && (t[e - 1] == '.' || (t[e - 1] == ':' && !(e - s >= 2 && t[e - 2] == ':'))))
        e--;
    if (e - s < 3 || e - s > 45 || !free_before(cx, s) || !free_after(cx, e))
        return run_end;
    /* "a::b", "cafe::beef": C++ and Rust paths, not addresses */
    int hex = 0, dec = 0;
    for (size_t k = s; k < e; k++)
        hex += t[k] != ':' && t[k] != '.', dec += lx_is_digit(t[k]);
    if (hex < 4 || dec == 0)
        return run_end;
    if (t[e - 1] == ':' && t[e - 2] == ':')
        return run_end; /* "fe80::", "2001::": a prefix, not an address */
    char buf[48];
    memcpy(buf, t + s, e - s);
    buf[e - s] = 0;
    unsigned char addr[16];
    if (inet_pton(AF_INET6, buf, addr) != 1)
        return run_end;
    static const unsigned char zero[16] = {0};
    if (!memcmp(addr, zero, 16) || (!memcmp(addr, zero, 15) && addr[15] == 1))
        return run_end; /* :: and ::1 */
    if (addr[0] == 0x20 && addr[1] == 0x01 && addr[2] == 0x0d && addr[3] == 0xb8)
        return run_end; /* 2001:db8::/32, documentation (RFC 3849) */
    lx_emit(cx, T(IP_ADDRESS), s, e);
    return run_end;
}

/* ---- the table ---------------------------------------------------------- */

#define CL HS_FLAG_CASELESS
const lx_trigger lx_triggers[] = {
    {"@[A-Za-z0-9]", 0, LX_FIND_EMAIL, m_email, 0},
    {"\\+[1-9]", 0, LX_FIND_PHONE, m_phone_plus, 0},
    {"\\([0-9]{2,5}\\)[ \\-.]?[0-9]{2}", 0, LX_FIND_PHONE, m_phone_paren, 0},
    {"phone|tel|telephone|mobile|mobil|cell|fax|handy|telefon|t\\xc3\\xa9l\\xc3\\xa9phone|"
     "t\\xc3\\xa9l|portable|whatsapp|call",
     CL, LX_FIND_PHONE, m_phone_context, 0},
    {"[0-9](?:[ .\\-]?[0-9]){6}", 0, -1, m_digits, 0},
    {"(?:ssn|social security(?: number| no\\.?)?)[^0-9\\n]{0,20}[0-9]{9}", CL, LX_FIND_US_SSN,
     m_ssn_labelled, 0},
    {"[A-Z]{2}[0-9]{2}[ ]?[A-Z0-9]{4}", 0, LX_FIND_IBAN, m_iban, 0},
    {"[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", 0, LX_FIND_IP_ADDRESS, m_ipv4, 0},
    {"[0-9A-Fa-f]{1,4}::|::[0-9A-Fa-f]{1,4}|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:"
     "[0-9A-Fa-f]{1,4}",
     0, LX_FIND_IP_ADDRESS, m_ipv6, 0},
    {"sk-[A-Za-z0-9]", 0, LX_FIND_API_KEY, lx_m_key, K_SK},
    {"A(?:KIA|SIA)[A-Z0-9]{16}", 0, LX_FIND_API_KEY, lx_m_key, K_AWS},
    {"gh[pousr]_[A-Za-z0-9]{30}", 0, LX_FIND_API_KEY, lx_m_key, K_GH},
    {"github_pat_[A-Za-z0-9_]{30}", 0, LX_FIND_API_KEY, lx_m_key, K_GHPAT},
    {"xox[abpr]-[A-Za-z0-9]", 0, LX_FIND_API_KEY, lx_m_key, K_SLACK},
    {"AIza[0-9A-Za-z_\\-]{35}", 0, LX_FIND_API_KEY, lx_m_key, K_GOOGLE},
    {"[spr]k_live_[0-9A-Za-z]{10}", 0, LX_FIND_API_KEY, lx_m_key, K_STRIPE},
    {"hf_[A-Za-z0-9]{30}", 0, LX_FIND_API_KEY, lx_m_key, K_HF},
    {"api[_\\-. ]?key|apikey|api[_\\-]?token|access[_\\-]?token|auth[_\\-]?token|"
     "secret[_\\-]?key|client[_\\-]?secret|private[_\\-]?token|token|secret",
     CL, LX_FIND_API_KEY, lx_m_label, 0},
    {"bearer", CL, LX_FIND_API_KEY, lx_m_label, 1},
    {"authorization:[ ]*basic[ ]+", CL, LX_FIND_PASSWORD, lx_m_basic_auth, 0},
    {"aws_?secret_?access_?key|aws_?secret_?key|aws_?secret|secret_?access_?key", CL,
     LX_FIND_AWS_SECRET, lx_m_label, 2},
    {"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY", 0, LX_FIND_PRIVATE_KEY, lx_m_pem, 0},
    {"eyJ[A-Za-z0-9_\\-]{4}", 0, LX_FIND_JWT, lx_m_jwt, 0},
    {"://[^\\s/@:]{0,64}:[^\\s/@]{1,128}@", 0, LX_FIND_PASSWORD, lx_m_url_password, 0},
    {"password|passwd|passphrase|pwd|passwort|kennwort|mot de passe|mot_de_passe|"
     "contrase\\xc3\\xb1a",
     CL, LX_FIND_PASSWORD, lx_m_pw_label, 0},
    LX_PII_TRIGGERS};
const size_t lx_n_triggers = sizeof lx_triggers / sizeof lx_triggers[0];
