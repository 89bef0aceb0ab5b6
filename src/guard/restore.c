/*
 * restore.c — values back in: whole responses (lx_restore_response) and
 * streams (lx_restore_*). The map comes from redact.c (redact_int.h).
 *
 * Matching: at each '[', the text up to the next ']' (at most the longest
 * placeholder) is looked up by binary search in the map's sorted index;
 * without a ']' yet, the text is a possible prefix when some placeholder
 * starts with it. Placeholders are prefix-free, so at most one matches.
 * Inside tool arguments the value is written JSON-escaped.
 *
 * The stream filter
 *   Channels: TEXT, THINKING, and one per tool-call index. Each channel
 *   holds back a tail that starts with '[' and is a proper prefix of some
 *   placeholder in the map (so never more than the longest placeholder
 *   minus one byte; '[' is ASCII, so no UTF-8 character is cut there),
 *   plus up to 3 bytes of a UTF-8 character whose continuation bytes have
 *   not arrived (so emitted text is valid UTF-8 when the stream is).
 *   A TEXT event flushes held THINKING and the other way round; tool
 *   events flush both (a part boundary); TOOL_END(i) flushes channel i;
 *   FINISH and ERROR flush everything, then pass. START and USAGE pass at
 *   once (held text is only delayed past them). Token counts of a TEXT
 *   event whose text is entirely held ride on the next TEXT emitted.
 */
#include "guard/redact.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "guard/redact_int.h"

/* ---- placeholder matching ------------------------------------------------ */

enum { M_NO, M_PREFIX, M_MATCH };

/* Compares placeholder ph with key[0..n) as byte strings. */
static int cmp_key(const rx_entry *e, const char *key, size_t n)
{
    size_t k = e->plen < n ? e->plen : n;
    int c = memcmp(e->ph, key, k);
    if (c)
        return c;
    return (e->plen > n) - (e->plen < n);
}

/* Index in m->sorted of the first placeholder >= key. */
static size_t lower_bound(const lx_redaction *m, const char *key, size_t n)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_key(&m->e[m->sorted[mid]], key, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* s[0] == '['. M_MATCH: *hit is the placeholder at s; M_PREFIX: s[0..n)
 * is a proper prefix of one (more bytes may complete it). */
static int match_at(const lx_redaction *m, const char *s, size_t n, const rx_entry **hit)
{
    if (!m || !m->n)
        return M_NO;
    size_t lim = n < m->maxlen ? n : m->maxlen;
    const char *close = memchr(s + 1, ']', lim > 0 ? lim - 1 : 0);
    if (close) {
        size_t len = (size_t)(close - s) + 1;
        size_t i = lower_bound(m, s, len);
        if (i < m->n && cmp_key(&m->e[m->sorted[i]], s, len) == 0) {
            *hit = &m->e[m->sorted[i]];
            return M_MATCH;
        }
        return M_NO;
    }
    if (n >= m->maxlen)
        return M_NO;
    size_t i = lower_bound(m, s, n);
    if (i < m->n) {
        const rx_entry *e = &m->e[m->sorted[i]];
        if (e->plen > n && !memcmp(e->ph, s, n))
            return M_PREFIX;
    }
    return M_NO;
}

/* Appends v as the inside of a JSON string. */
static lx_status put_json_escaped(lx_buf *out, const char *v, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (i > last && lx_buf_append(out, v + last, i - last) != LX_OK)
            return LX_ERR_TOOBIG;
        char esc[7] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        if (lx_buf_append(out, esc, k) != LX_OK)
            return LX_ERR_TOOBIG;
        last = i + 1;
    }
    if (n > last && lx_buf_append(out, v + last, n - last) != LX_OK)
        return LX_ERR_TOOBIG;
    return LX_OK;
}

/* Restores s[0..n) into out. Unless final, a trailing possible placeholder
 * prefix is not consumed: *used gets how many bytes were. */
static lx_status restore_run(const lx_redaction *m, const char *s, size_t n, bool json, bool final,
                             lx_buf *out, size_t *used)
{
    size_t i = 0, last = 0;
    *used = n;
    while (i < n) {
        const char *p = memchr(s + i, '[', n - i);
        if (!p)
            break;
        size_t k = (size_t)(p - s);
        const rx_entry *e = NULL;
        int r = match_at(m, s + k, n - k, &e);
        if (r == M_MATCH) {
            if (k > last && lx_buf_append(out, s + last, k - last) != LX_OK)
                return LX_ERR_TOOBIG;
            lx_status st = json ? put_json_escaped(out, e->value, e->vlen)
                                : lx_buf_append(out, e->value, e->vlen);
            if (st != LX_OK)
                return LX_ERR_TOOBIG;
            i = last = k + e->plen;
        } else if (r == M_PREFIX && !final) {
            *used = k;
            n = k;
            break;
        } else {
            i = k + 1;
        }
    }
    if (n > last && lx_buf_append(out, s + last, n - last) != LX_OK)
        return LX_ERR_TOOBIG;
    return LX_OK;
}

/* ---- restore: whole responses ------------------------------------------ */

static lx_status restore_string(const lx_redaction *m, lx_arena *a, char **sp, bool json, lx_buf *b)
{
    if (!*sp || !strchr(*sp, '['))
        return LX_OK;
    lx_buf_reset(b);
    size_t used;
    lx_status st = restore_run(m, *sp, strlen(*sp), json, true, b, &used);
    if (st != LX_OK)
        return st;
    char *o = lx_arena_strndup(a, b->data ? b->data : "", b->len);
    if (!o)
        return LX_ERR_NOMEM;
    *sp = o;
    return LX_OK;
}

lx_status lx_restore_response(const lx_redaction *m, lx_response *r)
{
    if (!m || !r || !m->n)
        return LX_OK;
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_status st = LX_OK;
    for (size_t i = 0; i < r->n_parts && st == LX_OK; i++) {
        lx_part *p = &r->parts[i];
        st = restore_string(m, r->arena, &p->text, false, &b);
        if (st == LX_OK)
            st = restore_string(m, r->arena, &p->arguments, true, &b);
    }
    lx_buf_free(&b);
    return st;
}

/* ---- restore: streams ----------------------------------------------------- */

typedef struct rx_chan {
    int index; /* tool call index; -1 for text / thinking */
    lx_buf held;
} rx_chan;

struct lx_restore {
    const lx_redaction *m;
    lx_event_fn sink;
    void *ud;
    rx_chan text, think;
    rx_chan *tools;
    size_t n_tools, cap_tools;
    lx_buf out;
    int pend_tokens; /* of TEXT events whose text is still held */
    double pend_logprob;
    lx_status stopped; /* LX_OK while the sink accepts */
};

lx_status lx_restore_new(const lx_redaction *m, lx_event_fn sink, void *ud, lx_restore **out)
{
    *out = NULL;
    if (!sink)
        return LX_ERR_INVALID;
    lx_restore *r = calloc(1, sizeof *r);
    if (!r)
        return LX_ERR_NOMEM;
    r->m = m;
    r->sink = sink;
    r->ud = ud;
    r->text.index = r->think.index = -1;
    lx_buf_init(&r->text.held, 0);
    lx_buf_init(&r->think.held, 0);
    lx_buf_init(&r->out, 0);
    *out = r;
    return LX_OK;
}

void lx_restore_free(lx_restore *r)
{
    if (!r)
        return;
    lx_buf_free(&r->text.held);
    lx_buf_free(&r->think.held);
    for (size_t i = 0; i < r->n_tools; i++)
        lx_buf_free(&r->tools[i].held);
    free(r->tools);
    lx_buf_free(&r->out);
    free(r);
}

static lx_status forward(lx_restore *r, const lx_event *ev)
{
    if (r->stopped != LX_OK)
        return r->stopped;
    lx_status st = r->sink(r->ud, ev);
    if (st != LX_OK)
        r->stopped = st;
    return st;
}

/* Bytes at the end of s[0..n) that begin a UTF-8 character whose
 * continuation bytes have not arrived yet (0 when none or invalid). */
static size_t utf8_partial_tail(const char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = (unsigned char)s[n - k];
        if ((c & 0xC0) == 0x80)
            continue;
        size_t need = c >= 0xF0 && c < 0xF5   ? 4
                      : c >= 0xE0 && c < 0xF0 ? 3
                      : c >= 0xC2 && c < 0xE0 ? 2
                                              : 1;
        return need > k ? k : 0;
    }
    return 0;
}

/* Runs held + (p, n) of channel c through the map into r->out; keeps the
 * undecided tail in c->held. */
static lx_status chan_feed(lx_restore *r, rx_chan *c, const char *p, size_t n, bool json,
                           bool final)
{
    lx_buf_reset(&r->out);
    if (n && lx_buf_append(&c->held, p, n) != LX_OK)
        return LX_ERR_TOOBIG;
    if (!c->held.len)
        return LX_OK;
    size_t len = c->held.len;
    if (!final)
        len -= utf8_partial_tail(c->held.data, len);
    size_t used;
    lx_status st = restore_run(r->m, c->held.data, len, json, final, &r->out, &used);
    if (st != LX_OK)
        return st;
    lx_buf_consume(&c->held, used);
    return LX_OK;
}

static lx_status emit_text(lx_restore *r, lx_event_kind kind, int index, const char *sig)
{
    if (!r->out.len && !sig)
        return LX_OK;
    lx_event ev = {.kind = kind,
                   .text = r->out.len ? r->out.data : NULL,
                   .len = r->out.len,
                   .index = index,
                   .signature = sig};
    if (kind == LX_EV_TEXT) {
        ev.n_tokens = r->pend_tokens;
        ev.logprob = r->pend_logprob;
        r->pend_tokens = 0;
        r->pend_logprob = 0;
    }
    return forward(r, &ev);
}

static lx_status flush_chan(lx_restore *r, rx_chan *c, lx_event_kind kind, bool json)
{
    if (!c->held.len)
        return LX_OK;
    lx_status st = chan_feed(r, c, NULL, 0, json, true);
    if (st != LX_OK)
        return st;
    if (!r->out.len)
        return LX_OK;
    return emit_text(r, kind, c->index, NULL);
}

static rx_chan *tool_chan(lx_restore *r, int index)
{
    for (size_t i = 0; i < r->n_tools; i++)
        if (r->tools[i].index == index)
            return &r->tools[i];
    if (r->n_tools == r->cap_tools) {
        size_t nc = r->cap_tools ? r->cap_tools * 2 : 4;
        rx_chan *g = realloc(r->tools, nc * sizeof *g);
        if (!g)
            return NULL;
        r->tools = g;
        r->cap_tools = nc;
    }
    rx_chan *c = &r->tools[r->n_tools++];
    c->index = index;
    lx_buf_init(&c->held, 0);
    return c;
}

static lx_status flush_tools(lx_restore *r)
{
    for (size_t i = 0; i < r->n_tools; i++) {
        lx_status st = flush_chan(r, &r->tools[i], LX_EV_TOOL_ARGS, true);
        if (st != LX_OK)
            return st;
    }
    return LX_OK;
}

lx_status lx_restore_event(void *restore, const lx_event *ev)
{
    lx_restore *r = restore;
    if (r->stopped != LX_OK)
        return r->stopped;
    lx_status st = LX_OK;
    switch (ev->kind) {
    case LX_EV_TEXT:
        if ((st = flush_chan(r, &r->think, LX_EV_THINKING, false)) != LX_OK)
            break;
        r->pend_tokens += ev->n_tokens;
        r->pend_logprob += ev->logprob;
        if ((st = chan_feed(r, &r->text, ev->text, ev->text ? ev->len : 0, false, false)) != LX_OK)
            break;
        st = emit_text(r, LX_EV_TEXT, -1, NULL);
        break;
    case LX_EV_THINKING:
        if ((st = flush_chan(r, &r->text, LX_EV_TEXT, false)) != LX_OK)
            break;
        if ((st = chan_feed(r, &r->think, ev->text, ev->text ? ev->len : 0, false,
                            ev->signature != NULL)) != LX_OK)
            break;
        st = emit_text(r, LX_EV_THINKING, -1, ev->signature);
        break;
    case LX_EV_TOOL_ARGS: {
        if ((st = flush_chan(r, &r->text, LX_EV_TEXT, false)) != LX_OK ||
            (st = flush_chan(r, &r->think, LX_EV_THINKING, false)) != LX_OK)
            break;
        rx_chan *c = tool_chan(r, ev->index);
        if (!c) {
            st = LX_ERR_NOMEM;
            break;
        }
        if ((st = chan_feed(r, c, ev->text, ev->text ? ev->len : 0, true, false)) != LX_OK)
            break;
        st = emit_text(r, LX_EV_TOOL_ARGS, ev->index, NULL);
        break;
    }
    case LX_EV_TOOL_START:
    case LX_EV_TOOL_END:
        if ((st = flush_chan(r, &r->text, LX_EV_TEXT, false)) != LX_OK ||
            (st = flush_chan(r, &r->think, LX_EV_THINKING, false)) != LX_OK)
            break;
        if (ev->kind == LX_EV_TOOL_END) {
            rx_chan *c = tool_chan(r, ev->index);
            if (!c) {
                st = LX_ERR_NOMEM;
                break;
            }
            if ((st = flush_chan(r, c, LX_EV_TOOL_ARGS, true)) != LX_OK)
                break;
        }
        st = forward(r, ev);
        break;
    case LX_EV_FINISH:
    case LX_EV_ERROR:
        if ((st = flush_chan(r, &r->text, LX_EV_TEXT, false)) != LX_OK ||
            (st = flush_chan(r, &r->think, LX_EV_THINKING, false)) != LX_OK ||
            (st = flush_tools(r)) != LX_OK)
            break;
        st = forward(r, ev);
        break;
    default: /* START, USAGE */
        st = forward(r, ev);
        break;
    }
    if (st != LX_OK && r->stopped == LX_OK)
        r->stopped = st;
    return st;
}
