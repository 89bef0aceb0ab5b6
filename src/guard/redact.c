/*
 * redact.c — placeholders out (lx_redact_request) and the map they are
 * restored from (restore.c). See redact.h for the contract.
 *
 * The map
 *   One entry per distinct value: its type, the value's bytes (decoded: a
 *   value found inside a JSON string of tool arguments is stored unescaped,
 *   so "bob@corp.io" in text and in arguments is one value) and its
 *   placeholder "[TYPE_n]". Values are found by a small open-addressing hash
 *   while redacting; placeholders by binary search over a sorted index
 *   while restoring. Placeholders are prefix-free (each ends with the only
 *   ']' it contains), so at most one can match at a position.
 *
 *   A number is skipped when "[TYPE_n]" already occurs literally in the
 *   request (a user pasting an earlier redacted text): the model's echo of
 *   that literal must not be "restored" into a value it never was.
 *
 * Fields
 *   text (text, thinking, tool result) and image URLs: the span's bytes are
 *   replaced, spans widened to whole UTF-8 characters.
 *   tool-call arguments (JSON text): a span is cut to the JSON strings it
 *   touches and widened to whole escape sequences / UTF-8 characters inside
 *   them; each piece is replaced by the placeholder (which needs no
 *   escaping), its decoded text being the value. A span touching a JSON
 *   number replaces the whole number with the placeholder as a JSON string.
 *   Bytes between tokens (punctuation, whitespace, true/false/null) are
 *   never touched, so valid JSON stays valid. Arguments that do not parse
 *   as JSON are redacted as plain text.
 *   A THINKING part that carried a signature and had findings is dropped:
 *   its signature signs the original text, a redacted copy would be
 *   refused upstream, and sending it unredacted would leak.
 */
#include "core/utf8.h"
#include "guard/redact.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "guard/redact_int.h"

/* ---- the map ------------------------------------------------------------ */

static bool ph_char(char c);

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

void lx_redaction_free(lx_redaction *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].type);
        free(m->e[i].value);
        free(m->e[i].ph);
    }
    for (size_t i = 0; i < m->n_taken; i++)
        free(m->taken[i]);
    free(m->taken);
    free(m->e);
    free(m->slots);
    free(m->sorted);
    free(m->ctr);
    free(m);
}

size_t lx_redaction_count(const lx_redaction *m)
{
    return m ? m->n : 0;
}

static rx_entry *find_value(const lx_redaction *m, const char *v, size_t n)
{
    if (!m->n_slots)
        return NULL;
    size_t mask = m->n_slots - 1;
    for (size_t i = hash_bytes(v, n) & mask;; i = (i + 1) & mask) {
        size_t s = m->slots[i];
        if (!s)
            return NULL;
        rx_entry *e = &m->e[s - 1];
        if (e->vlen == n && !memcmp(e->value, v, n))
            return e;
    }
}

static lx_status rehash(lx_redaction *m)
{
    size_t ns = m->n_slots ? m->n_slots * 2 : 64;
    size_t *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return LX_ERR_NOMEM;
    for (size_t k = 0; k < m->n; k++) {
        size_t i = hash_bytes(m->e[k].value, m->e[k].vlen) & (ns - 1);
        while (slots[i])
            i = (i + 1) & (ns - 1);
        slots[i] = k + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->n_slots = ns;
    return LX_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_taken(const lx_redaction *m, const char *ph)
{
    return m->n_taken && bsearch(&ph, m->taken, m->n_taken, sizeof *m->taken, cmp_str);
}

/* The entry for value v (found as `type`), created when new. */
/* Does the stored (sanitized) type a equal raw type t once sanitized? */
static bool same_type(const char *a, const char *t)
{
    for (; *a && *t; a++, t++)
        if (*a != (ph_char(*t) ? *t : '_'))
            return false;
    return !*a && !*t;
}

/* The entry for value v (found as `type`), created when new. */
static lx_status intern(lx_redaction *m, const char *type, const char *v, size_t n, rx_entry **out)
{
    rx_entry *e = find_value(m, v, n);
    if (e) {
        *out = e;
        return LX_OK;
    }
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        rx_entry *g = realloc(m->e, nc * sizeof *g);
        if (!g)
            return LX_ERR_NOMEM;
        m->e = g;
        m->cap = nc;
    }
    if ((m->n + 1) * 2 > m->n_slots && rehash(m) != LX_OK)
        return LX_ERR_NOMEM;
    rx_counter *c = NULL;
    for (size_t i = 0; i < m->n_ctr && !c; i++)
        if (same_type(m->ctr[i].type, type))
            c = &m->ctr[i];
    if (!c && m->n_ctr == m->cap_ctr) {
        size_t nc = m->cap_ctr ? m->cap_ctr * 2 : 8;
        rx_counter *g = realloc(m->ctr, nc * sizeof *g);
        if (!g)
            return LX_ERR_NOMEM;
        m->ctr = g;
        m->cap_ctr = nc;
    }
    e = &m->e[m->n];
    memset(e, 0, sizeof *e);
    size_t tl = strlen(type);
    e->type = malloc(tl + 1);
    e->value = malloc(n + 1);
    e->ph = malloc(tl + 24);
    if (!e->type || !e->value || !e->ph) {
        free(e->type);
        free(e->value);
        free(e->ph);
        return LX_ERR_NOMEM;
    }
    for (size_t k = 0; k <= tl; k++) /* placeholders stay "[" word "]" */
        e->type[k] = !type[k] || ph_char(type[k]) ? type[k] : '_';
    memcpy(e->value, v, n);
    e->value[n] = 0;
    e->vlen = n;
    if (!c) { /* a new type: its counter borrows the entry's copy of the name */
        c = &m->ctr[m->n_ctr++];
        c->type = e->type;
        c->next = 1;
    }
    do
        e->plen = (size_t)snprintf(e->ph, tl + 24, "[%s_%u]", e->type, c->next++);
    while (is_taken(m, e->ph));
    if (e->plen > m->maxlen)
        m->maxlen = e->plen;
    size_t mask = m->n_slots - 1;
    size_t i = hash_bytes(v, n) & mask;
    while (m->slots[i])
        i = (i + 1) & mask;
    m->slots[i] = m->n + 1;
    m->n++;
    *out = e;
    return LX_OK;
}

/* Merge sort of entry indexes by placeholder (maps are small; no qsort
 * because the comparison needs the map). */
static void sort_index(lx_redaction *m, size_t *a, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_index(m, a, tmp, h);
    sort_index(m, a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = strcmp(m->e[a[i]].ph, m->e[a[j]].ph) <= 0 ? a[i++] : a[j++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static lx_status build_index(lx_redaction *m)
{
    if (!m->n)
        return LX_OK;
    m->sorted = malloc(m->n * sizeof *m->sorted);
    size_t *tmp = malloc(m->n * sizeof *tmp);
    if (!m->sorted || !tmp) {
        free(tmp);
        return LX_ERR_NOMEM;
    }
    for (size_t i = 0; i < m->n; i++)
        m->sorted[i] = i;
    sort_index(m, m->sorted, tmp, m->n);
    free(tmp);
    return LX_OK;
}

/* ---- redaction ------------------------------------------------------------ */

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

static bool ph_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Records every "[A-Za-z0-9_]+_[0-9]+]" literal of s. */
static lx_status collect_taken(lx_redaction *m, const char *s)
{
    if (!s)
        return LX_OK;
    for (const char *p = strchr(s, '['); p; p = strchr(p + 1, '[')) {
        const char *q = p + 1;
        while (ph_char(*q) && q - p < 200)
            q++;
        if (*q != ']' || q - p < 4 || !(q[-1] >= '0' && q[-1] <= '9'))
            continue;
        const char *d = q - 1;
        while (d > p + 1 && d[-1] >= '0' && d[-1] <= '9')
            d--;
        if (d[-1] != '_' || d - 1 == p + 1)
            continue;
        if (m->n_taken == m->cap_taken) {
            size_t nc = m->cap_taken ? m->cap_taken * 2 : 8;
            char **g = realloc(m->taken, nc * sizeof *g);
            if (!g)
                return LX_ERR_NOMEM;
            m->taken = g;
            m->cap_taken = nc;
        }
        char *t = strndup(p, (size_t)(q - p) + 1);
        if (!t)
            return LX_ERR_NOMEM;
        m->taken[m->n_taken++] = t;
    }
    return LX_OK;
}

/* An edit of one field: replace [s, e) by the placeholder of `entry`,
 * wrapped in quotes when `quote` (a JSON number became a string). */
typedef struct rx_edit {
    size_t s, e;
    const char *ph; /* the entry's placeholder (its own heap copy: stable
                       while the entry array grows) */
    size_t plen;
    bool quote;
} rx_edit;

typedef struct rx_edits {
    rx_edit *v;
    size_t n, cap;
} rx_edits;

/* The end of the last edit (0 when none): spans are clipped to start there. */
static size_t edits_end(const rx_edits *ed)
{
    return ed->n ? ed->v[ed->n - 1].e : 0;
}

static lx_status add_edit(rx_edits *ed, size_t s, size_t e, rx_entry *entry, bool quote)
{
    if (ed->n == ed->cap) {
        size_t nc = ed->cap ? ed->cap * 2 : 16;
        rx_edit *g = realloc(ed->v, nc * sizeof *g);
        if (!g)
            return LX_ERR_NOMEM;
        ed->v = g;
        ed->cap = nc;
    }
    ed->v[ed->n++] = (rx_edit){s, e, entry->ph, entry->plen, quote};
    return LX_OK;
}

/* JSON tokens of tool arguments that findings may touch. */
typedef struct rx_tok {
    size_t s, e; /* string: the characters between the quotes; number: the number */
    bool is_str;
} rx_tok;

typedef struct rx_toks {
    rx_tok *v;
    size_t n, cap;
} rx_toks;

static lx_status lex_json(const char *t, size_t n, rx_toks *out)
{
    size_t i = 0;
    while (i < n) {
        char c = t[i];
        rx_tok tk;
        if (c == '"') {
            size_t j = i + 1;
            while (j < n && t[j] != '"')
                j += t[j] == '\\' && j + 1 < n ? 2 : 1;
            if (j > n)
                j = n;
            tk = (rx_tok){i + 1, j, true};
            i = j + 1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i;
            while (j < n && (strchr("+-.eE", t[j]) || (t[j] >= '0' && t[j] <= '9')) && t[j])
                j++;
            tk = (rx_tok){i, j, false};
            i = j;
        } else {
            i++;
            continue;
        }
        if (out->n == out->cap) {
            size_t nc = out->cap ? out->cap * 2 : 32;
            rx_tok *g = realloc(out->v, nc * sizeof *g);
            if (!g)
                return LX_ERR_NOMEM;
            out->v = g;
            out->cap = nc;
        }
        out->v[out->n++] = tk;
    }
    return LX_OK;
}

/* \uXXXX at t[i..n): the code unit, or -1. */
static long u_escape(const char *t, size_t i, size_t n)
{
    if (i + 6 > n || t[i] != '\\' || t[i + 1] != 'u')
        return -1;
    return lx_hex4(t + i + 2);
}

/* Length of the unit (escape sequence, surrogate pair, UTF-8 character or
 * byte) starting at t[i] inside a JSON string ending at n. */
static size_t unit_len(const char *t, size_t i, size_t n)
{
    if (t[i] == '\\') {
        long u = u_escape(t, i, n);
        if (u >= 0xD800 && u <= 0xDBFF) {
            long lo = u_escape(t, i + 6, n);
            return lo >= 0xDC00 && lo <= 0xDFFF ? 12 : 6;
        }
        if (u >= 0)
            return 6;
        return i + 1 < n ? 2 : 1;
    }
    size_t k = 1;
    while (i + k < n && k < 4 && is_cont((unsigned char)t[i + k]))
        k++;
    return k;
}

static lx_status put_utf8(lx_buf *b, unsigned long cp)
{
    char u[4];
    return lx_buf_append(b, u, (size_t)(lx_utf8_put(u, (unsigned)cp) - u));
}

/* Decodes the JSON string characters t[s..e) (whole units) into out. */
static lx_status json_decode(const char *t, size_t s, size_t e, lx_buf *out)
{
    size_t i = s;
    while (i < e) {
        size_t k = unit_len(t, i, e);
        lx_status st;
        if (t[i] != '\\') {
            st = lx_buf_append(out, t + i, k);
        } else if (k >= 6) {
            unsigned long u = (unsigned long)u_escape(t, i, e);
            if (k == 12)
                u = 0x10000 + ((u - 0xD800) << 10) +
                    ((unsigned long)u_escape(t, i + 6, e) - 0xDC00);
            else if (u >= 0xD800 && u <= 0xDFFF)
                u = 0xFFFD; /* a lone surrogate has no UTF-8 form */
            st = put_utf8(out, u);
        } else if (k == 2) {
            char c = t[i + 1];
            static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
            const char *f = strchr(from, c);
            st = lx_buf_putc(out, f && c ? to[f - from] : c);
        } else {
            st = lx_buf_putc(out, '\\');
        }
        if (st != LX_OK)
            return st;
        i += k;
    }
    return LX_OK;
}

/* Edits for one finding [fs, fe) in JSON arguments t[0..n). */
static lx_status json_edits(lx_redaction *m, const char *type, const char *t, const rx_toks *tk,
                            size_t *tpos, size_t fs, size_t fe, rx_edits *ed, lx_buf *scratch)
{
    size_t k = *tpos;
    while (k < tk->n && tk->v[k].e <= fs)
        k++;
    *tpos = k;
    for (; k < tk->n && tk->v[k].s < fe; k++) {
        const rx_tok *x = &tk->v[k];
        size_t s = fs > x->s ? fs : x->s, e = fe < x->e ? fe : x->e;
        if (s >= e)
            continue;
        rx_entry *entry;
        lx_status st;
        if (!x->is_str) {
            if (x->s < edits_end(ed))
                continue; /* this number is replaced already */
            if ((st = intern(m, type, t + x->s, x->e - x->s, &entry)) != LX_OK ||
                (st = add_edit(ed, x->s, x->e, entry, true)) != LX_OK)
                return st;
            continue;
        }
        /* widen to whole units of the string */
        size_t u = x->s, us = x->s;
        while (u < x->e) {
            size_t l = unit_len(t, u, x->e);
            if (u <= s && s < u + l)
                us = u;
            if (u < e && e <= u + l) {
                e = u + l;
                break;
            }
            u += l;
        }
        s = us > edits_end(ed) ? us : edits_end(ed);
        if (s >= e)
            continue;
        lx_buf_reset(scratch);
        if ((st = json_decode(t, s, e, scratch)) != LX_OK)
            return st;
        if ((st = intern(m, type, scratch->data ? scratch->data : "", scratch->len, &entry)) !=
                LX_OK ||
            (st = add_edit(ed, s, e, entry, false)) != LX_OK)
            return st;
    }
    return LX_OK;
}

/* Applies ed to t into a new arena string. */
static char *apply_edits(lx_arena *a, const char *t, const rx_edits *ed)
{
    size_t n = strlen(t), len = n;
    for (size_t i = 0; i < ed->n; i++)
        len = len - (ed->v[i].e - ed->v[i].s) + ed->v[i].plen + (ed->v[i].quote ? 2 : 0);
    char *o = lx_arena_alloc(a, len + 1);
    if (!o)
        return NULL;
    size_t w = 0, r = 0;
    for (size_t i = 0; i < ed->n; i++) {
        const rx_edit *x = &ed->v[i];
        memcpy(o + w, t + r, x->s - r);
        w += x->s - r;
        if (x->quote)
            o[w++] = '"';
        memcpy(o + w, x->ph, x->plen);
        w += x->plen;
        if (x->quote)
            o[w++] = '"';
        r = x->e;
    }
    memcpy(o + w, t + r, n - r);
    w += n - r;
    o[w] = 0;
    return o;
}

static char **field_ptr(lx_part *p, lx_scan_field f)
{
    switch (f) {
    case LX_SCAN_FIELD_TEXT:
        return &p->text;
    case LX_SCAN_FIELD_ARGUMENTS:
        return &p->arguments;
    case LX_SCAN_FIELD_URL:
        return &p->url;
    default:
        return NULL;
    }
}

/* Arguments that do not parse as JSON are redacted as plain text. */
static bool is_json(const char *t, size_t n)
{
    json_t *v = json_loadb(t, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    json_decref(v);
    return v != NULL;
}

/* Redacts one field from findings f[i0..i1) (same message, part, field). */
static lx_status redact_field(lx_redaction *m, lx_request *out, const lx_finding *f, size_t i0,
                              size_t i1, rx_edits *ed, rx_toks *tk, lx_buf *scratch, lx_error *err)
{
    const lx_finding *f0 = &f[i0];
    lx_part *p = &out->messages[f0->message].parts[f0->part];
    char **fp = field_ptr(p, f0->field);
    if (!fp || !*fp)
        return lx_fail(err, LX_ERR_INVALID, "redact: finding %zu names an empty field", i0);
    const char *t = *fp;
    size_t n = strlen(t);
    bool json = f0->field == LX_SCAN_FIELD_ARGUMENTS && is_json(t, n);
    ed->n = 0;
    tk->n = 0;
    size_t tpos = 0;
    lx_status st;
    if (json && (st = lex_json(t, n, tk)) != LX_OK)
        return lx_fail(err, st, "redact: out of memory");
    for (size_t i = i0; i < i1; i++) {
        size_t s = f[i].start, e = f[i].end;
        size_t first = i;
        while (i + 1 < i1 && f[i + 1].start < e) { /* overlapping spans are united */
            i++;
            if (f[i].end > e)
                e = f[i].end;
        }
        if (s >= e || e > n)
            return lx_fail(err, LX_ERR_INVALID,
                           "redact: finding %zu (%s %zu..%zu) lies outside its field of %zu bytes",
                           first, f[first].type ? f[first].type : "?", s, e, n);
        const char *type = f[first].type ? f[first].type : "SECRET";
        if (json) {
            st = json_edits(m, type, t, tk, &tpos, s, e, ed, scratch);
        } else {
            while (s > 0 && is_cont((unsigned char)t[s]))
                s--;
            while (e < n && is_cont((unsigned char)t[e]))
                e++;
            if (s < edits_end(ed))
                s = edits_end(ed);
            if (s >= e)
                continue;
            rx_entry *entry;
            st = intern(m, type, t + s, e - s, &entry);
            if (st == LX_OK)
                st = add_edit(ed, s, e, entry, false);
        }
        if (st != LX_OK)
            return lx_fail(err, st, "redact: out of memory");
    }
    if (!ed->n)
        return LX_OK;
    char *o = apply_edits(out->arena, t, ed);
    if (!o)
        return lx_fail(err, LX_ERR_NOMEM, "redact: out of memory");
    *fp = o;
    return LX_OK;
}

static lx_status collect_request_literals(lx_redaction *m, const lx_request *r)
{
    for (size_t i = 0; i < r->n_messages; i++)
        for (size_t j = 0; j < r->messages[i].n_parts; j++) {
            const lx_part *p = &r->messages[i].parts[j];
            if (collect_taken(m, p->text) != LX_OK || collect_taken(m, p->arguments) != LX_OK ||
                collect_taken(m, p->url) != LX_OK)
                return LX_ERR_NOMEM;
        }
    if (m->n_taken)
        qsort(m->taken, m->n_taken, sizeof *m->taken, cmp_str);
    return LX_OK;
}

lx_status lx_redact_request(const lx_request *req, const lx_findings *f, lx_request **out,
                            lx_redaction **map, lx_error *err)
{
    *out = NULL;
    *map = NULL;
    if (!req)
        return lx_fail(err, LX_ERR_INVALID, "redact: no request");
    lx_status st = LX_OK;
    lx_redaction *m = calloc(1, sizeof *m);
    lx_request *r = lx_request_clone(req);
    rx_edits ed = {0};
    rx_toks tk = {0};
    lx_buf scratch;
    lx_buf_init(&scratch, 0);
    size_t *drop = NULL; /* (message, part) pairs of parts to remove */
    size_t n_drop = 0;
    if (!m || !r) {
        st = lx_fail(err, LX_ERR_NOMEM, "redact: out of memory");
        goto fail;
    }
    size_t nf = f ? f->n : 0;
    if (nf && (st = collect_request_literals(m, req)) != LX_OK) {
        st = lx_fail(err, st, "redact: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nf;) {
        const lx_finding *x = &f->items[i];
        if (x->message >= r->n_messages || x->part >= r->messages[x->message].n_parts ||
            x->field == LX_SCAN_FIELD_NONE || x->field > LX_SCAN_FIELD_URL) {
            st = lx_fail(err, LX_ERR_INVALID,
                         "redact: finding %zu points at message %zu part %zu, not in the request",
                         i, x->message, x->part);
            goto fail;
        }
        size_t j = i + 1;
        while (j < nf && f->items[j].message == x->message && f->items[j].part == x->part &&
               f->items[j].field == x->field)
            j++;
        if ((st = redact_field(m, r, f->items, i, j, &ed, &tk, &scratch, err)) != LX_OK)
            goto fail;
        lx_part *p = &r->messages[x->message].parts[x->part];
        if (p->kind == LX_PART_THINKING && p->signature && x->field == LX_SCAN_FIELD_TEXT) {
            size_t *g = realloc(drop, (n_drop + 1) * 2 * sizeof *g);
            if (!g) {
                st = lx_fail(err, LX_ERR_NOMEM, "redact: out of memory");
                goto fail;
            }
            drop = g;
            drop[2 * n_drop] = x->message;
            drop[2 * n_drop + 1] = x->part;
            n_drop++;
        }
        i = j;
    }
    /* signed thinking with findings: remove the part (in reverse order, so
     * earlier part indexes stay right; findings come sorted) */
    for (size_t k = n_drop; k-- > 0;) {
        lx_message *msg = &r->messages[drop[2 * k]];
        size_t pi = drop[2 * k + 1];
        memmove(&msg->parts[pi], &msg->parts[pi + 1], (msg->n_parts - pi - 1) * sizeof *msg->parts);
        msg->n_parts--;
    }
    if (n_drop) { /* a message left without parts goes too */
        size_t w = 0;
        for (size_t i = 0; i < r->n_messages; i++)
            if (r->messages[i].n_parts)
                r->messages[w++] = r->messages[i];
        r->n_messages = w;
    }
    if (build_index(m) != LX_OK) {
        st = lx_fail(err, LX_ERR_NOMEM, "redact: out of memory");
        goto fail;
    }
    free(drop);
    free(ed.v);
    free(tk.v);
    lx_buf_free(&scratch);
    *out = r;
    *map = m;
    return LX_OK;
fail:
    free(drop);
    free(ed.v);
    free(tk.v);
    lx_buf_free(&scratch);
    lx_request_free(r);
    lx_redaction_free(m);
    return st;
}
