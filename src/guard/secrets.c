/*
 * secrets.c — matchers of credentials: provider API keys (fixed prefixes
 * and shapes), generic high-entropy tokens after a key label, AWS secret
 * keys, PEM private-key blocks, JWTs and passwords (URL userinfo, password
 * labels, and "Authorization: Basic" tokens whose base64 decodes to
 * user:password — the whole token is the PASSWORD). The trigger table
 * that calls them is in patterns.c.
 *
 * A generic token must follow a label (api_key, token, secret, client_secret,
 * Authorization: Bearer, ...) and an assignment (':' '=' '=>' ':='; a bearer
 * token only whitespace), be at least 20 characters of [A-Za-z0-9_-+/=.~],
 * hold letters and digits, reach 3.0 bits/char of Shannon entropy, and not be
 * a UUID or a placeholder. Prefixed keys need the same mix of classes (AWS
 * key ids and Hugging Face tokens may lack digits) and their usual length.
 */
#include <string.h>

#include "guard/secrets.h"

#define T(x) ((uint32_t)(LX_FIND_##x))

static bool key_char(int c) /* body of prefixed keys */
{
    return lx_is_alnum(c) || c == '_' || c == '-';
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

size_t lx_m_key(lx_scan_ctx *cx, int fam, size_t end)
{
    static const struct {
        unsigned char back, min_body, prefix;
        bool (*cls)(int);
    } f[] = {
        [K_SK] = {4, 20, 3, key_char},     [K_AWS] = {20, 16, 4, alnum_c},
        [K_GH] = {34, 30, 4, alnum_c},     [K_GHPAT] = {41, 30, 11, alnum_us},
        [K_SLACK] = {6, 15, 5, key_char},  [K_GOOGLE] = {39, 35, 4, key_char},
        [K_STRIPE] = {18, 16, 8, alnum_c}, [K_HF] = {33, 30, 3, alnum_c},
    };
    const unsigned char *t = cx->t;
    size_t s = end - f[fam].back;
    if (s > 0 && (key_char(t[s - 1]) || t[s - 1] == '.'))
        return end;
    size_t body = s + f[fam].prefix;
    size_t e = key_end(cx, body, f[fam].cls);
    if (fam == K_SK) { /* sk-proj-, sk-svcacct-, sk-admin-, sk-ant-api03- */
        static const char *const sub[] = {"proj-",        "svcacct-", "admin-", "ant-api03-",
                                          "ant-admin01-", "ant-",     NULL};
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
    if (e - body < f[fam].min_body ||
        !random_token(t + body, e - body, fam == K_AWS ? 2.5 : 3.0, false))
        return e;
    lx_emit(cx, T(API_KEY), s, e);
    return e;
}

static bool generic_char(int c)
{
    return lx_is_alnum(c) || c == '_' || c == '-' || c == '+' || c == '/' || c == '=' || c == '.' ||
           c == '~';
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
size_t lx_m_label(lx_scan_ctx *cx, int arg, size_t end)
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

size_t lx_m_pem(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t s = end;
    while (s > 0 && end - s < 80 && !(s + 10 <= end && !memcmp(t + s, "-----BEGIN", 10)))
        s--;
    if (memcmp(t + s, "-----BEGIN", 10) != 0)
        return end;
    /* The first "-----END" at or after `end`, within 64 KiB. What earlier
     * searches learnt is kept (scan_int.h) so that many BEGIN lines cannot
     * make the scan quadratic. */
    size_t lim = cx->len - end < 65536 ? cx->len : end + 65536, at = SIZE_MAX;
    bool known = cx->pem_from <= end && end <= cx->pem_to;
    if (known && cx->pem_end != SIZE_MAX) {
        at = cx->pem_end;
    } else {
        size_t from = known && cx->pem_to >= end + 7 ? cx->pem_to - 7 : end;
        const unsigned char *hit = from < lim ? find_lit(t + from, lim - from, "-----END") : NULL;
        if (!known)
            cx->pem_from = end;
        at = hit ? (size_t)(hit - t) : SIZE_MAX;
        cx->pem_to = hit ? at : lim;
        cx->pem_end = at;
    }
    const unsigned char *stop = at != SIZE_MAX && at + 8 <= lim ? t + at : NULL;
    if (stop && find_lit(t + end, (size_t)(stop - t) - end, "-----BEGIN"))
        stop = NULL; /* another block starts first: this one is truncated */
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
            if (!(lx_is_alnum(c) || c == '+' || c == '/' || c == '=' || c == '\n' || c == '\r' ||
                  c == ' ' || c == ':' || c == '-' || c == ','))
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

size_t lx_m_jwt(lx_scan_ctx *cx, int arg, size_t end)
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
    size_t sig = seg[2][1] - seg[2][0];
    if (seg[1][1] - seg[1][0] < 2 || (sig > 0 && sig < 8) || (j < cx->len && t[j] == '.'))
        return j;
    unsigned char hdr[384];
    size_t hn = seg[0][1] - seg[0][0];
    long d = lx_b64url_decode(t + seg[0][0], hn < 512 ? hn : 512, hdr, sizeof hdr);
    if (d < 8 || hdr[0] != '{' || !find_lit(hdr, (size_t)d, "\"alg\""))
        return j;
    /* an unsigned token ("alg":"none") has an empty third segment */
    if (sig == 0 && !find_lit(hdr, (size_t)d, "\"none\""))
        return j;
    lx_emit(cx, T(JWT), s, j);
    return j;
}

/* ---- PASSWORD ----------------------------------------------------------- */

static bool pw_placeholder(const unsigned char *p, size_t n)
{
    static const char *const words[] = {
        "password", "passwd",   "pass", "pwd",   "secret", "none",   "null",      "nil", "empty",
        "required", "optional", "true", "false", "string", "hidden", "undefined", "str", NULL};
    if (n == 0 || p[0] == '$' || p[0] == '%' || p[0] == '{' || p[0] == '*')
        return true;
    for (const char *const *w = words; *w; w++)
        if (strlen(*w) == n && lx_ci_at(p, n, 0, *w))
            return true;
    return lx_is_placeholder(p, n);
}

size_t lx_m_basic_auth(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t e = end;
    while (e < cx->len && e - end < 1024 &&
           (lx_is_alnum(t[e]) || t[e] == '+' || t[e] == '/' || t[e] == '='))
        e++;
    if (e - end < 4 || (e < cx->len && lx_is_word(t[e])))
        return e;
    unsigned char dec[768];
    long d = lx_b64url_decode(t + end, e - end, dec, sizeof dec);
    if (d < 3)
        return e;
    const unsigned char *colon = memchr(dec, ':', (size_t)d);
    if (!colon || colon == dec + d - 1)
        return e; /* no password after the user name */
    for (long k = 0; k < d; k++)
        if (dec[k] < 0x20 || dec[k] == 0x7f)
            return e; /* not text: not user:password */
    size_t pw = (size_t)(dec + d - colon - 1);
    if (!pw_placeholder(colon + 1, pw))
        lx_emit(cx, T(PASSWORD), end, e);
    return e;
}

size_t lx_m_url_password(lx_scan_ctx *cx, int arg, size_t end)
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

/* An unquoted value that reads as code, not as a secret: a call or index
 * ("get_passwd(host", "auth[key]"), an attribute path ("self.passwd",
 * "os.environ"), or a snake_case name ("password_mgr"). */
static bool code_expression(const unsigned char *p, size_t n)
{
    bool ident = true, dot = false, under = false, upper = false, digit = false;
    for (size_t k = 0; k < n; k++) {
        int c = p[k];
        if (c && strchr("()[]{}", c))
            return true;
        dot |= c == '.';
        under |= c == '_';
        upper |= lx_is_upper(c);
        digit |= lx_is_digit(c);
        ident &= lx_is_alnum(c) || c == '_' || c == '.';
    }
    if (n == 0 || !ident || !lx_is_alpha(p[0]))
        return false;
    return (dot && !digit) || (under && !upper && !digit);
}

size_t lx_m_pw_label(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    if (end < cx->len && (lx_is_alnum(t[end]) || t[end] == '_'))
        return end;
    size_t l = end; /* "self.passwd", "obj->pwd": an attribute, not a label */
    while (l > 0 && lx_is_alpha(t[l - 1]))
        l--;
    if (l > 0 && (t[l - 1] == '.' || (t[l - 1] == '>' && l > 1 && t[l - 2] == '-')))
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
        if (code_expression(t + v, e - v))
            return e;
    }
    if (e - v >= 4 && !pw_placeholder(t + v, e - v))
        lx_emit(cx, T(PASSWORD), v, e);
    return e;
}
