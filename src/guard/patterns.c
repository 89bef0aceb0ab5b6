/*
 * patterns.c — the built-in triggers and their exact matchers.
 *
 * Each row of lx_triggers[] is one Vectorscan expression plus the C function
 * that confirms it. The expression is only as precise as it needs to be to
 * keep the matcher rare and to pin the candidate: either it ends right after
 * a literal prefix ("AKIA" + 16, "sk-", "eyJ"), so the start is end minus a
 * known length, or the matcher walks back over a character class whose
 * limits are unambiguous (digits and separators, a dotted quad, "@"+domain).
 * The matcher then parses forward with the exact grammar of the type and
 * validates it (see validators.c). PERSON and ADDRESS live in pii.c.
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

#define T(x) ((uint32_t)(LX_FIND_##x))
#define MAXV(a, b) ((a) > (b) ? (a) : (b))

/* ---- small helpers ------------------------------------------------------ */

static bool key_char(int c) /* body of prefixed keys */
{
    return lx_is_alnum(c) || c == '_' || c == '-';
}

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

/* After a key label: optional closing quote, spaces, one of ':' '=' '=>'
 * ':=' (or, for `bearer_like`, just spaces), spaces, optional opening quote.
 * Returns the value start, or (size_t)-1 when the label is not followed by
 * an assignment. *quote receives the opening quote (0 if none). */
static size_t skip_assign(const lx_scan_ctx *cx, size_t i, bool bearer_like, int *quote)
{
    const unsigned char *t = cx->t;
    size_t n = cx->len;
    *quote = 0;
    if (bearer_like) {
        size_t j = i;
        while (j < n && (t[j] == ' ' || t[j] == '\t'))
            j++;
        return j > i ? j : (size_t)-1;
    }
    if (i < n && (t[i] == '"' || t[i] == '\''))
        i++;
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    if (i >= n)
        return (size_t)-1;
    if (t[i] == ':' || t[i] == '=') {
        i++;
        if (i < n && (t[i] == '>' || t[i] == '='))
            i++;
    } else {
        return (size_t)-1;
    }
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    if (i < n && (t[i] == '"' || t[i] == '\'' || t[i] == '`')) {
        *quote = t[i];
        i++;
    }
    return i;
}

/* ---- EMAIL -------------------------------------------------------------- */

static bool email_local(int c)
{
    return lx_is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' ||
           c == '\'';
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
    while (s < at && (t[s] == '.' || t[s] == '\''))
        s++;
    if (s == at || t[at - 1] == '.' || (s > 0 && (t[s - 1] == '@' || lx_is_word(t[s - 1]))))
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
    if (e - tld < 2 || (e < cx->len && (t[e] == '@' || lx_is_word(t[e]))))
        return e;
    /* Documentation and file names: RFC 2606 names, "logo@2x.png". */
    static const char *const reserved[] = {"example", "test", "invalid", "localhost",
                                           "png", "jpg", "jpeg", "gif", "svg", "webp",
                                           "ico", "pdf", NULL};
    for (const char *const *r = reserved; *r; r++)
        if (e - tld == strlen(*r) && lx_ci_at(t, e, tld, *r))
            return e;
    for (size_t k = at + 1; k < e; k++) /* example.com, mail.example.org, ... */
        if ((k == at + 1 || t[k - 1] == '.') && lx_ci_at(t, e, k, "example.") &&
            k + 8 < e && memchr(t + k + 8, '.', e - k - 8) == NULL)
            return e;
    lx_emit(cx, T(EMAIL), s, e);
    return e;
}

/* ---- PHONE -------------------------------------------------------------- */

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
    if (!plus && ng == 1 && kind == 1)
        return e;
    if (kind == 1) {
        static const char *const no[] = {"order", "invoice", "ref", "tracking", "serial",
                                          "account", "acct", "isbn", "#", "id:", "no.",
                                          "nr", "ticket", "case", NULL};
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
    static const char *const labels[] = {"phone", "tel", "telephone", "mobile", "mobil",
                                         "cell", "fax", "handy", "telefon", "portable",
                                         "whatsapp", "call", "t\xc3\xa9l\xc3\xa9phone",
                                         "t\xc3\xa9l", "smartphone", "cellphone", NULL};
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
            if (nd >= 13 && nd <= 19 && !bad_sep && card_groups_ok(g, ng, nd) &&
                card_iin_ok(d) && lx_luhn_ok(d, (size_t)nd))
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
    static const char *const ver[] = {"version", "ver.", "ver ", "release", "build",
                                      "firmware", "oid", NULL};
    if (lx_window_has(t, window_start(s, 20), s, ver))
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

/* ---- API_KEY, AWS_SECRET ------------------------------------------------ */

/* A random-looking token: letters and digits, enough entropy, not a dummy. */
static bool random_token(const unsigned char *p, size_t n, double min_bits, bool need_digit)
{
    bool dig = false, up = false, lo = false;
    for (size_t k = 0; k < n; k++) {
        dig |= lx_is_digit(p[k]);
        up |= lx_is_upper(p[k]);
        lo |= lx_is_lower(p[k]);
    }
    bool mixed = need_digit ? dig && (up || lo) : (dig + up + lo) >= 2;
    return mixed && lx_entropy(p, n) >= min_bits && !lx_is_placeholder(p, n);
}

static size_t key_end(const lx_scan_ctx *cx, size_t i, bool (*cls)(int))
{
    while (i < cx->len && cls(cx->t[i]))
        i++;
    return i;
}
static bool alnum_c(int c)
{
    return lx_is_alnum(c);
}
static bool alnum_us(int c)
{
    return lx_is_alnum(c) || c == '_';
}

/* Prefixed keys. arg = which family; the expression ends `back` bytes
 * after the key's start. */
enum { K_SK, K_AWS, K_GH, K_GHPAT, K_SLACK, K_GOOGLE, K_STRIPE, K_HF };

static size_t m_key(lx_scan_ctx *cx, int fam, size_t end)
{
    static const struct {
        unsigned char back, min_body, prefix;
        bool (*cls)(int);
    } f[] = {
        [K_SK] = {4, 20, 3, key_char},      [K_AWS] = {20, 16, 4, alnum_c},
        [K_GH] = {34, 30, 4, alnum_c},      [K_GHPAT] = {41, 30, 11, alnum_us},
        [K_SLACK] = {6, 15, 5, key_char},   [K_GOOGLE] = {39, 35, 4, key_char},
        [K_STRIPE] = {18, 16, 8, alnum_c},  [K_HF] = {33, 30, 3, alnum_c},
    };
    const unsigned char *t = cx->t;
    size_t s = end - f[fam].back;
    if (s > 0 && (key_char(t[s - 1]) || t[s - 1] == '.'))
        return end;
    size_t body = s + f[fam].prefix;
    size_t e = key_end(cx, body, f[fam].cls);
    if (fam == K_SK) { /* sk-proj-, sk-svcacct-, sk-admin-, sk-ant-api03- */
        static const char *const sub[] = {"proj-", "svcacct-", "admin-", "ant-api03-",
                                          "ant-admin01-", "ant-", NULL};
        for (const char *const *p = sub; *p; p++)
            if (lx_ci_at(t, e, body, *p)) {
                body += strlen(*p);
                break;
            }
    }
    if (fam == K_AWS && (e - s != 20))
        return e;
    if (fam == K_GOOGLE && e - s != 39)
        return e;
    while (e > body && t[e - 1] == '-')
        e--;
    if (e - body < f[fam].min_body || !random_token(t + body, e - body, fam == K_AWS ? 2.5 : 3.0, false))
        return e;
    lx_emit(cx, T(API_KEY), s, e);
    return e;
}

static bool generic_char(int c)
{
    return lx_is_alnum(c) || c == '_' || c == '-' || c == '+' || c == '/' || c == '=' ||
           c == '.' || c == '~';
}

static bool is_uuid(const unsigned char *p, size_t n)
{
    if (n != 36)
        return false;
    for (size_t k = 0; k < 36; k++) {
        bool dash = k == 8 || k == 13 || k == 18 || k == 23;
        int c = lx_lower(p[k]);
        if (dash ? c != '-' : !(lx_is_digit(c) || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* arg: 0 generic label, 1 bearer, 2 AWS secret label */
static size_t m_label(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    if (end < cx->len && (lx_is_alnum(t[end]) || (t[end] == '_' && arg != 2)))
        return end;
    int q;
    size_t v = skip_assign(cx, end, arg == 1, &q);
    if (v == (size_t)-1)
        return end;
    size_t e = v;
    if (arg == 2) {
        while (e < cx->len && e - v < 41 && (lx_is_alnum(t[e]) || t[e] == '/' || t[e] == '+'))
            e++;
        if (e - v != 40 || (e < cx->len && (lx_is_alnum(t[e]) || t[e] == '/' || t[e] == '+')))
            return e;
        bool up = false, lo = false;
        for (size_t k = v; k < e; k++)
            up |= lx_is_upper(t[k]), lo |= lx_is_lower(t[k]);
        if (up && lo && lx_entropy(t + v, 40) >= 3.5 && !lx_is_placeholder(t + v, 40))
            lx_emit(cx, T(AWS_SECRET), v, e);
        return e;
    }
    while (e < cx->len && e - v < 1024 && generic_char(t[e]))
        e++;
    while (e > v && (t[e - 1] == '.' || t[e - 1] == '-'))
        e--;
    if (e - v < 20 || is_uuid(t + v, e - v) || !random_token(t + v, e - v, 3.0, true))
        return e;
    lx_emit(cx, T(API_KEY), v, e);
    return e;
}

/* ---- PRIVATE_KEY -------------------------------------------------------- */

static const unsigned char *find_lit(const unsigned char *h, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n >= m ? memmem(h, n, lit, m) : NULL;
}

static size_t m_pem(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t s = end;
    while (s > 0 && end - s < 80 && !(s + 10 <= end && !memcmp(t + s, "-----BEGIN", 10)))
        s--;
    if (memcmp(t + s, "-----BEGIN", 10) != 0)
        return end;
    size_t cap = cx->len - end < 65536 ? cx->len - end : 65536;
    const unsigned char *stop = find_lit(t + end, cap, "-----END");
    size_t e;
    if (stop) {
        e = (size_t)(stop - t) + 8;
        const unsigned char *close = find_lit(t + e, cx->len - e < 64 ? cx->len - e : 64, "-----");
        e = close ? (size_t)(close - t) + 5 : e;
    } else { /* truncated: the base64 lines that follow */
        e = end;
        size_t j = end;
        while (j < cx->len && j - end < 65536) {
            int c = t[j];
            if (!(lx_is_alnum(c) || c == '+' || c == '/' || c == '=' || c == '\n' ||
                  c == '\r' || c == ' ' || c == ':' || c == '-' || c == ','))
                break;
            j++;
            if (c == '\n' && j < cx->len && (t[j] == '\n' || t[j] == '\r'))
                break; /* a blank line ends the block */
            if (c != '\n' && c != '\r' && c != ' ')
                e = j;
        }
    }
    lx_emit(cx, T(PRIVATE_KEY), s, e);
    return e;
}

/* ---- JWT ---------------------------------------------------------------- */

static bool b64url_char(int c)
{
    return lx_is_alnum(c) || c == '_' || c == '-';
}

static size_t m_jwt(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t s = end - 7;
    if (s > 0 && (b64url_char(t[s - 1]) || t[s - 1] == '.'))
        return end;
    size_t seg[3][2], j = s;
    for (int k = 0; k < 3; k++) {
        seg[k][0] = j;
        while (j < cx->len && b64url_char(t[j]))
            j++;
        seg[k][1] = j;
        if (k < 2) {
            if (j >= cx->len || t[j] != '.')
                return j;
            j++;
        }
    }
    if (seg[1][1] - seg[1][0] < 2 || seg[2][1] - seg[2][0] < 8 || (j < cx->len && t[j] == '.'))
        return j;
    unsigned char hdr[384];
    size_t hn = seg[0][1] - seg[0][0];
    long d = lx_b64url_decode(t + seg[0][0], hn < 512 ? hn : 512, hdr, sizeof hdr);
    if (d < 8 || hdr[0] != '{' || !find_lit(hdr, (size_t)d, "\"alg\""))
        return j;
    lx_emit(cx, T(JWT), s, j);
    return j;
}

/* ---- PASSWORD ----------------------------------------------------------- */

static bool pw_placeholder(const unsigned char *p, size_t n)
{
    static const char *const words[] = {"password", "passwd", "pass", "pwd", "secret",
                                        "none", "null", "nil", "empty", "required",
                                        "optional", "true", "false", "string", "hidden",
                                        "undefined", "str", NULL};
    if (n == 0 || p[0] == '$' || p[0] == '%' || p[0] == '{' || p[0] == '*')
        return true;
    for (const char *const *w = words; *w; w++)
        if (strlen(*w) == n && lx_ci_at(p, n, 0, *w))
            return true;
    return lx_is_placeholder(p, n);
}

static size_t m_url_password(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t at = end - 1, p = at;
    while (p > 0 && t[p - 1] != '/' && at - p < 200)
        p--;
    if (p < 3 || t[p - 1] != '/' || t[p - 2] != '/' || t[p - 3] != ':')
        return end;
    const unsigned char *colon = memchr(t + p, ':', at - p);
    if (!colon || end >= cx->len || !(lx_is_alnum(t[end]) || t[end] == '['))
        return end;
    size_t ps = (size_t)(colon - t) + 1;
    if (ps < at && !pw_placeholder(t + ps, at - ps))
        lx_emit(cx, T(PASSWORD), ps, at);
    return end;
}

static size_t m_pw_label(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    if (end < cx->len && (lx_is_alnum(t[end]) || t[end] == '_'))
        return end;
    int q;
    size_t v = skip_assign(cx, end, false, &q), e;
    if (v == (size_t)-1)
        return end;
    if (q) {
        e = v;
        while (e < cx->len && e - v < 256 && t[e] != q && t[e] != '\n')
            e++;
        if (e >= cx->len || t[e] != q)
            return e;
    } else {
        size_t k = v; /* after "=" a '&' ends the value (URL query); after ':' not */
        while (k > end && (t[k - 1] == ' ' || t[k - 1] == '\t'))
            k--;
        bool query = k > end && t[k - 1] == '=';
        e = v;
        while (e < cx->len && e - v < 256 && t[e] > ' ' && !strchr(",;'\"<>)}]", t[e]) &&
               !(query && t[e] == '&'))
            e++;
        if (e > v + 1 && t[e - 1] == '.')
            e--;
        /* "Password: must be 8 characters" is prose, not a password. */
        bool plain = true;
        for (size_t k = v; k < e; k++)
            plain &= lx_is_lower(t[k]);
        if (plain && e + 1 < cx->len && t[e] == ' ' && lx_is_alpha(t[e + 1]))
            return e;
    }
    if (e - v >= 4 && !pw_placeholder(t + v, e - v))
        lx_emit(cx, T(PASSWORD), v, e);
    return e;
}

/* ---- the table ---------------------------------------------------------- */

#define CL HS_FLAG_CASELESS
const lx_trigger lx_triggers[] = {
    {"@[A-Za-z0-9]", 0, LX_FIND_EMAIL, m_email, 0},
    {"\\+[1-9]", 0, LX_FIND_PHONE, m_phone_plus, 0},
    {"\\([0-9]{2,5}\\)[ \\-.]?[0-9]{2}", 0, LX_FIND_PHONE, m_phone_paren, 0},
    {"[0-9]{3}[\\-.][0-9]{3}[\\-.][0-9]{4}", 0, LX_FIND_PHONE, m_phone_fixed, 12},
    {"0[1-9](?:[ .][0-9]{2}){4}", 0, LX_FIND_PHONE, m_phone_fixed, 14},
    {"phone|tel|telephone|mobile|mobil|cell|fax|handy|telefon|t\\xc3\\xa9l\\xc3\\xa9phone|"
     "t\\xc3\\xa9l|portable|whatsapp|call",
     CL, LX_FIND_PHONE, m_phone_context, 0},
    {"[0-9](?:[ \\-]?[0-9]){12}", 0, LX_FIND_CREDIT_CARD, m_card, 0},
    {"[0-9]{3}[\\- ][0-9]{2}[\\- ][0-9]{4}", 0, LX_FIND_US_SSN, m_ssn, 0},
    {"(?:ssn|social security(?: number| no\\.?)?)[^0-9\\n]{0,20}[0-9]{9}", CL, LX_FIND_US_SSN,
     m_ssn_labelled, 0},
    {"[A-Z]{2}[0-9]{2}[ ]?[A-Z0-9]{4}", 0, LX_FIND_IBAN, m_iban, 0},
    {"[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", 0, LX_FIND_IP_ADDRESS, m_ipv4, 0},
    {"[0-9A-Fa-f]{1,4}::|::[0-9A-Fa-f]{1,4}|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:"
     "[0-9A-Fa-f]{1,4}",
     0, LX_FIND_IP_ADDRESS, m_ipv6, 0},
    {"sk-[A-Za-z0-9]", 0, LX_FIND_API_KEY, m_key, K_SK},
    {"A(?:KIA|SIA)[A-Z0-9]{16}", 0, LX_FIND_API_KEY, m_key, K_AWS},
    {"gh[pousr]_[A-Za-z0-9]{30}", 0, LX_FIND_API_KEY, m_key, K_GH},
    {"github_pat_[A-Za-z0-9_]{30}", 0, LX_FIND_API_KEY, m_key, K_GHPAT},
    {"xox[abpr]-[A-Za-z0-9]", 0, LX_FIND_API_KEY, m_key, K_SLACK},
    {"AIza[0-9A-Za-z_\\-]{35}", 0, LX_FIND_API_KEY, m_key, K_GOOGLE},
    {"[spr]k_live_[0-9A-Za-z]{10}", 0, LX_FIND_API_KEY, m_key, K_STRIPE},
    {"hf_[A-Za-z0-9]{30}", 0, LX_FIND_API_KEY, m_key, K_HF},
    {"api[_\\-. ]?key|apikey|api[_\\-]?token|access[_\\-]?token|auth[_\\-]?token|"
     "secret[_\\-]?key|client[_\\-]?secret|private[_\\-]?token|token|secret",
     CL, LX_FIND_API_KEY, m_label, 0},
    {"bearer", CL, LX_FIND_API_KEY, m_label, 1},
    {"aws_?secret_?access_?key|aws_?secret_?key|aws_?secret|secret_?access_?key", CL,
     LX_FIND_AWS_SECRET, m_label, 2},
    {"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY", 0, LX_FIND_PRIVATE_KEY, m_pem, 0},
    {"eyJ[A-Za-z0-9_\\-]{4}", 0, LX_FIND_JWT, m_jwt, 0},
    {"://[^\\s/@:]{0,64}:[^\\s/@]{1,128}@", 0, LX_FIND_PASSWORD, m_url_password, 0},
    {"password|passwd|passphrase|pwd|passwort|kennwort|mot de passe|mot_de_passe|"
     "contrase\\xc3\\xb1a",
     CL, LX_FIND_PASSWORD, m_pw_label, 0},
    LX_PII_TRIGGERS
};
const size_t lx_n_triggers = sizeof lx_triggers / sizeof lx_triggers[0];
