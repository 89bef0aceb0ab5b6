/*
 * ytree.c — YAML text -> lx_ynode tree (through libfyaml's event parser),
 * and the typed readers the config schema is written with.
 *
 * Why events and not libfyaml's document API: the installed libfyaml gives
 * no start mark for a document node, and every error here must point at a
 * line and column. Events carry marks; the tree keeps them.
 */
#include "config/ytree.h"

#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YTREE_MAX_DEPTH 32

/* ---- building ----------------------------------------------------------- */

typedef struct builder {
    lx_arena *arena;
    const char *name;
    lx_error *err;
    lx_ynode *root;
    lx_ynode *stack[YTREE_MAX_DEPTH];
    int depth;
    int line, col; /* last known position, for nodes without a mark */
    int docs;
} builder;

static lx_status bfail(builder *b, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static lx_status bfail(builder *b, int line, int col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lx_fail(b->err, LX_ERR_CONFIG, "%s:%d:%d: %s", b->name, line, col, msg);
}

static void note_mark(builder *b, struct fy_event *e)
{
    const struct fy_mark *m = fy_event_start_mark(e);
    if (m && m->line >= 0 && m->column >= 0) {
        b->line = m->line + 1;
        b->col = m->column + 1;
    }
}

static lx_ynode *new_node(builder *b, lx_ykind kind)
{
    lx_ynode *n = lx_arena_alloc(b->arena, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = b->line;
    n->col = b->col;
    return n;
}

static lx_status attach(builder *b, lx_ynode *n)
{
    if (b->depth == 0) {
        b->root = n;
        return LX_OK;
    }
    lx_ynode *parent = b->stack[b->depth - 1];
    if (parent->n_kids == parent->cap_kids) {
        size_t cap = parent->cap_kids ? parent->cap_kids * 2 : 8;
        lx_ynode **k =
            lx_arena_grow(b->arena, parent->kids, parent->n_kids, cap, sizeof *parent->kids);
        if (!k)
            return lx_fail(b->err, LX_ERR_NOMEM, "%s: out of memory", b->name);
        parent->kids = k;
        parent->cap_kids = cap;
    }
    parent->kids[parent->n_kids++] = n;
    return LX_OK;
}

static lx_status on_event(builder *b, struct fy_event *e)
{
    struct fy_token *tag = NULL, *val = NULL;
    lx_ykind kind = LX_Y_SCALAR;

    note_mark(b, e);
    switch (e->type) {
    case FYET_DOCUMENT_START:
        if (++b->docs > 1)
            return bfail(b, b->line, b->col, "only one YAML document is allowed");
        return LX_OK;
    case FYET_ALIAS:
        return bfail(b, b->line, b->col, "YAML aliases are not supported here");
    case FYET_SCALAR:
        tag = e->scalar.tag;
        val = e->scalar.value;
        break;
    case FYET_SEQUENCE_START:
        tag = e->sequence_start.tag;
        kind = LX_Y_SEQ;
        break;
    case FYET_MAPPING_START:
        tag = e->mapping_start.tag;
        kind = LX_Y_MAP;
        break;
    case FYET_SEQUENCE_END:
    case FYET_MAPPING_END:
        if (b->depth > 0)
            b->depth--;
        return LX_OK;
    default:
        return LX_OK;
    }
    if (tag) {
        const struct fy_mark *m = fy_token_start_mark(tag);
        return bfail(b, m ? m->line + 1 : b->line, m ? m->column + 1 : b->col,
                     "YAML tags are not supported here");
    }

    lx_ynode *n = new_node(b, kind);
    if (!n)
        return lx_fail(b->err, LX_ERR_NOMEM, "%s: out of memory", b->name);
    if (kind == LX_Y_SCALAR) {
        size_t len = 0;
        const char *t = fy_token_get_text(val, &len);
        if (!t)
            len = 0;
        n->text = lx_arena_strndup(b->arena, t ? t : "", len);
        if (!n->text)
            return lx_fail(b->err, LX_ERR_NOMEM, "%s: out of memory", b->name);
        n->len = len;
        enum fy_scalar_style style = fy_token_scalar_style(val);
        n->plain = style == FYSS_PLAIN;
        /* libfyaml marks a quoted scalar at its first character inside the
         * quotes; point at the opening quote, where the value starts */
        if ((style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && n->col > 1)
            n->col--;
    }
    lx_status st = attach(b, n);
    if (st != LX_OK)
        return st;
    if (kind != LX_Y_SCALAR) {
        if (b->depth == YTREE_MAX_DEPTH)
            return bfail(b, n->line, n->col, "nesting deeper than %d levels", YTREE_MAX_DEPTH);
        b->stack[b->depth++] = n;
    }
    return LX_OK;
}

/* Offset of the first NUL byte or invalid UTF-8 sequence (overlong forms,
 * surrogates and code points past U+10FFFF included); len when clean. */
static size_t check_text(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF)
            n = 1, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 2, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return i;
        if (len - i <= n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}

lx_status lx_ytree_parse(lx_arena *arena, const char *text, size_t len, const char *name,
                         lx_ynode **root, lx_error *err)
{
    builder b = {.arena = arena, .name = name ? name : "(config)", .err = err, .line = 1, .col = 1};
    lx_status st = LX_OK;
    struct fy_diag *diag = NULL;
    struct fy_parser *p = NULL;

    *root = NULL;
    /* libfyaml stops at a NUL byte, and loops forever on some invalid UTF-8
     * (in a directive, with 0.7.12): check the bytes before it sees them */
    size_t bad = check_text(text, len);
    if (bad < len) {
        int line = 1, col = 1;
        for (size_t i = 0; i < bad; i++, col++)
            if (text[i] == '\n') {
                line++;
                col = 0;
            }
        return bfail(&b, line, col, "%s",
                     text[bad] ? "invalid UTF-8; the file must be UTF-8 text"
                               : "NUL byte in the file; is it a text file?");
    }
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL; /* with no fp and no output_fn nothing is printed */
    dc.output_fn = NULL;
    diag = fy_diag_create(&dc);
    if (!diag) {
        st = lx_fail(err, LX_ERR_NOMEM, "%s: out of memory", b.name);
        goto done;
    }
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pc = {
        .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DISABLE_MMAP_OPT | FYPCF_JSON_NONE,
        .diag = diag,
    };
    p = fy_parser_create(&pc);
    if (!p || fy_parser_set_string(p, len ? text : "", len) != 0) {
        st = lx_fail(err, LX_ERR_NOMEM, "%s: cannot start the YAML parser", b.name);
        goto done;
    }
    struct fy_event *e;
    while ((e = fy_parser_parse(p)) != NULL) {
        st = on_event(&b, e);
        fy_parser_event_free(p, e);
        if (st != LX_OK)
            goto done;
    }
    if (fy_parser_get_stream_error(p)) {
        void *it = NULL;
        struct fy_diag_error *de = fy_diag_errors_iterate(diag, &it);
        if (de)
            st = bfail(&b, de->line > 0 ? de->line : b.line, de->column > 0 ? de->column : b.col,
                       "YAML syntax error: %s", de->msg ? de->msg : "invalid input");
        else
            st = bfail(&b, b.line, b.col, "YAML syntax error");
        goto done;
    }
    *root = b.root;
done:
    if (p)
        fy_parser_destroy(p);
    if (diag)
        fy_diag_destroy(diag);
    return st;
}

/* ---- readers ------------------------------------------------------------ */

lx_status lx_y_fail(lx_yctx *y, const lx_ynode *at, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lx_fail(y->err, LX_ERR_CONFIG, "%s:%d:%d: %s", y->name, at ? at->line : 1,
                   at ? at->col : 1, msg);
}

const char *lx_y_where(const lx_yctx *y, char *buf, size_t cap)
{
    if (y->key && y->path[0])
        snprintf(buf, cap, "%s.%s", y->path, y->key);
    else if (y->key)
        snprintf(buf, cap, "%s", y->key);
    else if (y->path[0])
        snprintf(buf, cap, "%s", y->path);
    else
        snprintf(buf, cap, "the top level");
    return buf;
}

bool lx_y_is_null(const lx_ynode *n)
{
    if (!n)
        return true;
    if (n->kind != LX_Y_SCALAR || !n->plain)
        return false;
    return !strcmp(n->text, "") || !strcmp(n->text, "~") || !strcmp(n->text, "null") ||
           !strcmp(n->text, "Null") || !strcmp(n->text, "NULL");
}

/* What a node is, for "expected X, got Y": quoted and cleaned scalar text. */
static const char *shown(const lx_ynode *n, char *buf, size_t cap)
{
    if (lx_y_is_null(n))
        return "nothing";
    if (n->kind == LX_Y_SEQ)
        return "a list";
    if (n->kind == LX_Y_MAP)
        return "a mapping";
    size_t o = 0, max = cap > 48 ? 40 : cap - 8;
    buf[o++] = '\'';
    for (size_t i = 0; i < n->len && o < max; i++) {
        unsigned char c = (unsigned char)n->text[i];
        buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (n->len > max - 1) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

lx_status lx_y_string(lx_yctx *y, const lx_ynode *n, char **out)
{
    char w[200], s[64];
    if (!n || n->kind != LX_Y_SCALAR || lx_y_is_null(n))
        return lx_y_fail(y, n, "%s: expected a string, got %s", lx_y_where(y, w, sizeof w),
                         shown(n, s, sizeof s));
    if (n->len == 0)
        return lx_y_fail(y, n, "%s: must not be empty", lx_y_where(y, w, sizeof w));
    if (strlen(n->text) != n->len)
        return lx_y_fail(y, n, "%s: contains a NUL character", lx_y_where(y, w, sizeof w));
    *out = lx_arena_strndup(y->arena, n->text, n->len);
    if (!*out)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    return LX_OK;
}

static void describe_range(char *buf, size_t cap, int64_t min)
{
    if (min == 1)
        snprintf(buf, cap, "a positive integer");
    else if (min == 0)
        snprintf(buf, cap, "a non-negative integer");
    else
        snprintf(buf, cap, "an integer of at least %lld", (long long)min);
}

lx_status lx_y_int(lx_yctx *y, const lx_ynode *n, int64_t min, int64_t max, int64_t *out)
{
    char w[200], s[64], what[64];
    describe_range(what, sizeof what, min);
    bool ok = n && n->kind == LX_Y_SCALAR && n->plain && n->len > 0 && n->len < 24;
    for (size_t i = 0; ok && i < n->len; i++)
        if (!((n->text[i] >= '0' && n->text[i] <= '9') || (i == 0 && n->text[i] == '-')))
            ok = false;
    long long v = 0;
    if (ok) {
        char *end = NULL;
        errno = 0;
        v = strtoll(n->text, &end, 10);
        ok = errno == 0 && end && *end == '\0' && end != n->text;
    }
    if (!ok)
        return lx_y_fail(y, n, "%s: expected %s, got %s", lx_y_where(y, w, sizeof w), what,
                         shown(n, s, sizeof s));
    if (v < min)
        return lx_y_fail(y, n, "%s: expected %s, got %lld", lx_y_where(y, w, sizeof w), what, v);
    if (v > max)
        return lx_y_fail(y, n, "%s: %lld is too large (at most %lld)", lx_y_where(y, w, sizeof w),
                         v, (long long)max);
    *out = v;
    return LX_OK;
}

lx_status lx_y_number(lx_yctx *y, const lx_ynode *n, double min, double max, double *out)
{
    char w[200], s[64];
    bool ok = n && n->kind == LX_Y_SCALAR && n->plain && n->len > 0 && n->len < 32;
    for (size_t i = 0; ok && i < n->len; i++)
        if (!strchr("0123456789.eE+-", n->text[i]))
            ok = false;
    double v = 0;
    if (ok) {
        char *end = NULL;
        errno = 0;
        v = strtod(n->text, &end);
        ok = errno == 0 && end && *end == '\0' && end != n->text && isfinite(v);
    }
    if (!ok || v < min)
        return lx_y_fail(y, n, "%s: expected a %snumber, got %s", lx_y_where(y, w, sizeof w),
                         min >= 0 ? "non-negative " : "", shown(n, s, sizeof s));
    if (v > max)
        return lx_y_fail(y, n, "%s: %s is too large (at most %g)", lx_y_where(y, w, sizeof w),
                         shown(n, s, sizeof s), max);
    *out = v;
    return LX_OK;
}

lx_status lx_y_strings(lx_yctx *y, const lx_ynode *n, char ***out, size_t *n_out)
{
    char w[200], s[64];
    if (!n || n->kind != LX_Y_SEQ)
        return lx_y_fail(y, n, "%s: expected a list of strings, got %s", lx_y_where(y, w, sizeof w),
                         shown(n, s, sizeof s));
    char **v = lx_arena_calloc(y->arena, n->n_kids ? n->n_kids : 1, sizeof *v);
    if (!v)
        return lx_fail(y->err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n->n_kids; i++) {
        const lx_ynode *it = n->kids[i];
        if (it->kind != LX_Y_SCALAR || lx_y_is_null(it) || it->len == 0)
            return lx_y_fail(y, it, "%s[%zu]: expected a non-empty string, got %s",
                             lx_y_where(y, w, sizeof w), i, shown(it, s, sizeof s));
        lx_status st = lx_y_string(y, it, &v[i]);
        if (st != LX_OK)
            return st;
    }
    *out = v;
    *n_out = n->n_kids;
    return LX_OK;
}

lx_status lx_y_choice(lx_yctx *y, const lx_ynode *n, const char *const *choices, int *out)
{
    char w[200], s[64], list[200] = "";
    if (n && n->kind == LX_Y_SCALAR && !lx_y_is_null(n))
        for (int i = 0; choices[i]; i++)
            if (!strcmp(n->text, choices[i])) {
                *out = i;
                return LX_OK;
            }
    size_t o = 0;
    for (int i = 0; choices[i] && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", choices[i]);
    return lx_y_fail(y, n, "%s: expected one of: %s; got %s", lx_y_where(y, w, sizeof w), list,
                     shown(n, s, sizeof s));
}

/* Edit distance, small strings only: used for "did you mean". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return 99;
    size_t d[32][32];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

lx_status lx_y_map(lx_yctx *y, const lx_ynode *n, const char *path, const lx_yfield *fields,
                   size_t n_fields, void *obj)
{
    char w[200], s[64];
    char saved[sizeof y->path];
    const char *saved_key = y->key;
    lx_status st = LX_OK;

    if (!n || n->kind != LX_Y_MAP) /* named by its own path */
        return lx_y_fail(y, n, "%s: expected a mapping, got %s", path[0] ? path : "the top level",
                         shown(n, s, sizeof s));
    memcpy(saved, y->path, sizeof saved);
    lx_strlcpy(y->path, path, sizeof y->path);
    y->key = NULL;

    const lx_ynode *seen[64] = {0};
    for (size_t i = 0; i + 1 < n->n_kids; i += 2) {
        const lx_ynode *k = n->kids[i], *v = n->kids[i + 1];
        if (k->kind != LX_Y_SCALAR || lx_y_is_null(k)) {
            st = lx_y_fail(y, k, "%s: mapping keys must be strings, got %s",
                           lx_y_where(y, w, sizeof w), shown(k, s, sizeof s));
            goto out;
        }
        size_t f = 0;
        while (f < n_fields && strcmp(fields[f].key, k->text))
            f++;
        if (f == n_fields) {
            char list[400] = "", hint[96] = "";
            size_t o = 0, best = 99;
            for (size_t j = 0; j < n_fields && o < sizeof list; j++) {
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "",
                                      fields[j].key);
                size_t dd = distance(k->text, fields[j].key);
                if (dd < best && dd <= 2) {
                    best = dd;
                    snprintf(hint, sizeof hint, " (did you mean '%s'?)", fields[j].key);
                }
            }
            const char *shown_key = shown(k, s, sizeof s);
            if (y->path[0])
                st = lx_y_fail(y, k, "unknown key %s in %s%s; expected one of: %s", shown_key,
                               y->path, hint, list);
            else
                st = lx_y_fail(y, k, "unknown key %s at the top level%s; expected one of: %s",
                               shown_key, hint, list);
            goto out;
        }
        if (f < 64) {
            if (seen[f]) {
                y->key = fields[f].key;
                st = lx_y_fail(y, k, "%s: duplicate key (first set at line %d)",
                               lx_y_where(y, w, sizeof w), seen[f]->line);
                goto out;
            }
            seen[f] = k;
        }
        y->key = fields[f].key;
        st = fields[f].parse(y, v, obj);
        y->key = NULL;
        if (st != LX_OK)
            goto out;
    }
out:
    memcpy(y->path, saved, sizeof saved);
    y->key = saved_key;
    return st;
}

const lx_ynode *lx_y_get(const lx_ynode *map, const char *key)
{
    if (!map || map->kind != LX_Y_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->n_kids; i += 2)
        if (map->kids[i]->kind == LX_Y_SCALAR && !strcmp(map->kids[i]->text, key))
            return map->kids[i + 1];
    return NULL;
}
