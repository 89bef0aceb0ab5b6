/*
 * Construction helpers for the neutral types, and the two bridges between a
 * stream of events and a whole response (collector, replay).
 */
#include "core/types.h"

#include <stdlib.h>
#include <string.h>

#define GROW(arena, arr, n, cap)                                                          \
    do {                                                                                  \
        if ((n) == (cap)) {                                                               \
            size_t nc_ = (cap) ? (cap) * 2 : 4;                                           \
            void *p_ = lx_arena_grow((arena), (arr), (n), nc_, sizeof *(arr));            \
            if (!p_)                                                                      \
                return NULL;                                                              \
            (arr) = p_;                                                                   \
            (cap) = nc_;                                                                  \
        }                                                                                 \
    } while (0)

lx_request *lx_request_new(void)
{
    lx_request *r = NULL;
    lx_arena *a = lx_arena_new();
    if (!a)
        return NULL;
    r = lx_arena_alloc(a, sizeof *r);
    if (!r) {
        lx_arena_free(a);
        return NULL;
    }
    r->arena = a;
    return r;
}

void lx_request_free(lx_request *r)
{
    if (r)
        lx_arena_free(r->arena); /* r itself lives in the arena */
}

lx_message *lx_request_add_message(lx_request *r, lx_role role)
{
    GROW(r->arena, r->messages, r->n_messages, r->cap_messages);
    lx_message *m = &r->messages[r->n_messages++];
    memset(m, 0, sizeof *m);
    m->role = role;
    return m;
}

lx_part *lx_message_add_part(lx_request *r, lx_message *m, lx_part_kind kind)
{
    GROW(r->arena, m->parts, m->n_parts, m->cap_parts);
    lx_part *p = &m->parts[m->n_parts++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    return p;
}

lx_tool *lx_request_add_tool(lx_request *r)
{
    GROW(r->arena, r->tools, r->n_tools, r->cap_tools);
    lx_tool *t = &r->tools[r->n_tools++];
    memset(t, 0, sizeof *t);
    return t;
}

lx_status lx_request_add_stop(lx_request *r, const char *s)
{
    char **n = lx_arena_grow(r->arena, r->sampling.stop, r->sampling.n_stop,
                             r->sampling.n_stop + 1, sizeof(char *));
    if (!n)
        return LX_ERR_NOMEM;
    n[r->sampling.n_stop] = lx_arena_strdup(r->arena, s);
    if (!n[r->sampling.n_stop])
        return LX_ERR_NOMEM;
    r->sampling.stop = n;
    r->sampling.n_stop++;
    return LX_OK;
}

lx_status lx_request_add_text(lx_request *r, lx_role role, const char *text)
{
    lx_message *m = lx_request_add_message(r, role);
    if (!m)
        return LX_ERR_NOMEM;
    lx_part *p = lx_message_add_part(r, m, LX_PART_TEXT);
    if (!p)
        return LX_ERR_NOMEM;
    p->text = lx_arena_strdup(r->arena, text ? text : "");
    return p->text ? LX_OK : LX_ERR_NOMEM;
}

const lx_part *lx_request_find_call(const lx_request *r, size_t mi, size_t ordinal,
                                    const lx_part *res)
{
    for (size_t i = mi < r->n_messages ? mi : r->n_messages; i-- > 0;) {
        const lx_message *m = &r->messages[i];
        if (m->role != LX_ROLE_ASSISTANT)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < m->n_parts; j++) {
            const lx_part *c = &m->parts[j];
            if (c->kind != LX_PART_TOOL_CALL)
                continue;
            if (res->id ? (c->id && strcmp(c->id, res->id) == 0) : k == ordinal)
                return c;
            k++;
        }
        if (!res->id)
            return NULL; /* order only counts within the last assistant turn */
    }
    return NULL;
}

static bool dup_into(lx_arena *a, char **dst, const char *src)
{
    if (!src) {
        *dst = NULL;
        return true;
    }
    *dst = lx_arena_strdup(a, src);
    return *dst != NULL;
}

static bool clone_part(lx_arena *a, lx_part *d, const lx_part *s)
{
    d->kind = s->kind;
    d->is_error = s->is_error;
    return dup_into(a, &d->text, s->text) && dup_into(a, &d->url, s->url) &&
           dup_into(a, &d->data, s->data) && dup_into(a, &d->media_type, s->media_type) &&
           dup_into(a, &d->id, s->id) && dup_into(a, &d->name, s->name) &&
           dup_into(a, &d->arguments, s->arguments) && dup_into(a, &d->signature, s->signature);
}

lx_request *lx_request_clone(const lx_request *s)
{
    lx_request *r = lx_request_new();
    if (!r)
        return NULL;
    lx_arena *a = r->arena;
    if (!dup_into(a, &r->model, s->model) || !dup_into(a, &r->user, s->user))
        goto fail;
    for (size_t i = 0; i < s->n_messages; i++) {
        lx_message *m = lx_request_add_message(r, s->messages[i].role);
        if (!m)
            goto fail;
        for (size_t j = 0; j < s->messages[i].n_parts; j++) {
            lx_part *p = lx_message_add_part(r, m, s->messages[i].parts[j].kind);
            if (!p || !clone_part(a, p, &s->messages[i].parts[j]))
                goto fail;
        }
    }
    for (size_t i = 0; i < s->n_tools; i++) {
        lx_tool *t = lx_request_add_tool(r);
        if (!t || !dup_into(a, &t->name, s->tools[i].name) ||
            !dup_into(a, &t->description, s->tools[i].description) ||
            !dup_into(a, &t->parameters, s->tools[i].parameters))
            goto fail;
    }
    r->tool_choice = s->tool_choice;
    if (!dup_into(a, &r->tool_choice.name, s->tool_choice.name))
        goto fail;
    r->sampling = s->sampling;
    r->sampling.stop = NULL;
    r->sampling.n_stop = 0;
    for (size_t i = 0; i < s->sampling.n_stop; i++)
        if (lx_request_add_stop(r, s->sampling.stop[i]) != LX_OK)
            goto fail;
    r->format = s->format;
    if (!dup_into(a, &r->format.name, s->format.name) ||
        !dup_into(a, &r->format.schema, s->format.schema))
        goto fail;
    r->stream = s->stream;
    r->include_usage = s->include_usage;
    r->thinking_budget = s->thinking_budget;
    r->num_ctx = s->num_ctx;
    return r;
fail:
    lx_request_free(r);
    return NULL;
}

lx_response *lx_response_new(void)
{
    lx_arena *a = lx_arena_new();
    if (!a)
        return NULL;
    lx_response *r = lx_arena_alloc(a, sizeof *r);
    if (!r) {
        lx_arena_free(a);
        return NULL;
    }
    r->arena = a;
    return r;
}

void lx_response_free(lx_response *r)
{
    if (r)
        lx_arena_free(r->arena);
}

lx_part *lx_response_add_part(lx_response *r, lx_part_kind kind)
{
    GROW(r->arena, r->parts, r->n_parts, r->cap_parts);
    lx_part *p = &r->parts[r->n_parts++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    return p;
}

const char *lx_response_text(lx_response *r)
{
    size_t n = 0, count = 0;
    const char *only = "";
    for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i].kind == LX_PART_TEXT && r->parts[i].text) {
            n += strlen(r->parts[i].text);
            only = r->parts[i].text;
            count++;
        }
    if (count <= 1)
        return only;
    char *s = lx_arena_alloc(r->arena, n + 1);
    if (!s)
        return "";
    size_t off = 0;
    for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i].kind == LX_PART_TEXT && r->parts[i].text) {
            size_t l = strlen(r->parts[i].text);
            memcpy(s + off, r->parts[i].text, l);
            off += l;
        }
    s[off] = '\0';
    return s;
}

const char *lx_role_name(lx_role r)
{
    switch (r) {
    case LX_ROLE_SYSTEM: return "system";
    case LX_ROLE_USER: return "user";
    case LX_ROLE_ASSISTANT: return "assistant";
    case LX_ROLE_TOOL: return "tool";
    }
    return "user";
}

const char *lx_finish_name(lx_finish f)
{
    switch (f) {
    case LX_FINISH_NONE: return "none";
    case LX_FINISH_STOP: return "stop";
    case LX_FINISH_LENGTH: return "length";
    case LX_FINISH_TOOL_CALLS: return "tool_calls";
    case LX_FINISH_CONTENT_FILTER: return "content_filter";
    case LX_FINISH_ERROR: return "error";
    case LX_FINISH_OTHER: return "other";
    }
    return "other";
}

const char *lx_event_kind_name(lx_event_kind k)
{
    static const char *names[] = {"start", "text", "thinking", "tool_start", "tool_args",
                                  "tool_end", "usage", "finish", "error"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

int64_t lx_usage_total_input(const lx_usage *u)
{
    return u->input + u->cache_read + u->cache_write;
}

int64_t lx_usage_total_output(const lx_usage *u)
{
    return u->output + u->reasoning;
}

/* ---- collector ---------------------------------------------------------- */

lx_status lx_collector_init(lx_collector *c)
{
    memset(c, 0, sizeof *c);
    lx_buf_init(&c->acc, 0);
    c->resp = lx_response_new();
    return c->resp ? LX_OK : LX_ERR_NOMEM;
}

void lx_collector_free(lx_collector *c)
{
    lx_buf_free(&c->acc);
    for (size_t i = 0; i < c->n_tools; i++)
        lx_buf_free(&c->tools[i].args);
    free(c->tools);
    lx_response_free(c->resp);
    memset(c, 0, sizeof *c);
}

static lx_status flush_acc(lx_collector *c)
{
    if (c->acc_kind == 0)
        return LX_OK;
    lx_part *p = lx_response_add_part(c->resp, c->acc_kind == 1 ? LX_PART_TEXT : LX_PART_THINKING);
    if (!p)
        return LX_ERR_NOMEM;
    p->text = lx_arena_strndup(c->resp->arena, c->acc.data ? c->acc.data : "", c->acc.len);
    if (!p->text)
        return LX_ERR_NOMEM;
    if (c->acc_kind == 2 && c->think_sig)
        p->signature = c->think_sig;
    c->think_sig = NULL;
    lx_buf_reset(&c->acc);
    c->acc_kind = 0;
    return LX_OK;
}

static lx_collect_tool *find_tool(lx_collector *c, int index)
{
    for (size_t i = 0; i < c->n_tools; i++)
        if (c->tools[i].index == index)
            return &c->tools[i];
    return NULL;
}

static lx_status append_run(lx_collector *c, int kind, const char *t, size_t n)
{
    if (c->acc_kind != kind) {
        lx_status st = flush_acc(c);
        if (st != LX_OK)
            return st;
        c->acc_kind = kind;
    }
    return lx_buf_append(&c->acc, t, n);
}

lx_status lx_collector_event(void *ud, const lx_event *ev)
{
    lx_collector *c = ud;
    lx_response *r = c->resp;
    lx_status st = LX_OK;
    if (c->finished)
        return LX_ERR_PROTO;
    switch (ev->kind) {
    case LX_EV_START:
        if (ev->id && !r->id)
            r->id = lx_arena_strdup(r->arena, ev->id);
        if (ev->model && !r->model)
            r->model = lx_arena_strdup(r->arena, ev->model);
        break;
    case LX_EV_TEXT:
        st = append_run(c, 1, ev->text, ev->len);
        break;
    case LX_EV_THINKING:
        if (ev->text)
            st = append_run(c, 2, ev->text, ev->len);
        if (st == LX_OK && ev->signature) {
            if (c->acc_kind != 2 && (st = append_run(c, 2, "", 0)) != LX_OK)
                break;
            c->think_sig = lx_arena_strdup(r->arena, ev->signature);
        }
        break;
    case LX_EV_TOOL_START: {
        if ((st = flush_acc(c)) != LX_OK)
            break;
        if (find_tool(c, ev->index))
            return LX_ERR_PROTO;
        if (c->n_tools == c->cap_tools) {
            size_t nc = c->cap_tools ? c->cap_tools * 2 : 4;
            lx_collect_tool *nt = realloc(c->tools, nc * sizeof *nt);
            if (!nt)
                return LX_ERR_NOMEM;
            c->tools = nt;
            c->cap_tools = nc;
        }
        lx_part *p = lx_response_add_part(r, LX_PART_TOOL_CALL);
        if (!p)
            return LX_ERR_NOMEM;
        p->id = lx_arena_strdup(r->arena, ev->id);
        p->name = lx_arena_strdup(r->arena, ev->name ? ev->name : "");
        lx_collect_tool *t = &c->tools[c->n_tools++];
        t->index = ev->index;
        t->part = r->n_parts - 1;
        lx_buf_init(&t->args, 0);
        break;
    }
    case LX_EV_TOOL_ARGS: {
        lx_collect_tool *t = find_tool(c, ev->index);
        if (!t)
            return LX_ERR_PROTO;
        st = lx_buf_append(&t->args, ev->text, ev->len);
        break;
    }
    case LX_EV_TOOL_END:
        if (!find_tool(c, ev->index))
            return LX_ERR_PROTO;
        break;
    case LX_EV_USAGE:
        r->usage = ev->usage;
        r->has_usage = true;
        break;
    case LX_EV_FINISH:
        if ((st = flush_acc(c)) != LX_OK)
            break;
        for (size_t i = 0; i < c->n_tools; i++) {
            lx_part *p = &r->parts[c->tools[i].part];
            p->arguments = lx_arena_strndup(r->arena, c->tools[i].args.len ? c->tools[i].args.data : "{}",
                                            c->tools[i].args.len ? c->tools[i].args.len : 2);
            if (!p->arguments)
                return LX_ERR_NOMEM;
        }
        r->finish = ev->finish;
        if (ev->text)
            r->stop_sequence = lx_arena_strdup(r->arena, ev->text);
        c->finished = true;
        break;
    case LX_EV_ERROR:
        if (ev->error)
            c->error = *ev->error;
        else
            lx_fail(&c->error, LX_ERR_INTERNAL, "stream failed");
        c->finished = c->failed = true;
        break;
    }
    return st;
}

lx_response *lx_collector_take(lx_collector *c)
{
    if (!c->finished || c->failed)
        return NULL;
    lx_response *r = c->resp;
    c->resp = NULL;
    return r;
}

/* ---- replay ------------------------------------------------------------- */

lx_status lx_response_replay(const lx_response *r, lx_event_fn fn, void *ud)
{
    lx_status st;
    lx_event ev = {.kind = LX_EV_START, .id = r->id, .model = r->model};
    if ((st = fn(ud, &ev)) != LX_OK)
        return st;
    int tool = 0;
    for (size_t i = 0; i < r->n_parts; i++) {
        const lx_part *p = &r->parts[i];
        memset(&ev, 0, sizeof ev);
        switch (p->kind) {
        case LX_PART_TEXT:
            ev.kind = LX_EV_TEXT;
            ev.text = p->text ? p->text : "";
            ev.len = strlen(ev.text);
            if ((st = fn(ud, &ev)) != LX_OK)
                return st;
            break;
        case LX_PART_THINKING:
            ev.kind = LX_EV_THINKING;
            ev.text = p->text ? p->text : "";
            ev.len = strlen(ev.text);
            ev.signature = p->signature;
            if ((st = fn(ud, &ev)) != LX_OK)
                return st;
            break;
        case LX_PART_TOOL_CALL:
            ev.kind = LX_EV_TOOL_START;
            ev.index = tool;
            ev.id = p->id;
            ev.name = p->name;
            if ((st = fn(ud, &ev)) != LX_OK)
                return st;
            ev.kind = LX_EV_TOOL_ARGS;
            ev.text = p->arguments ? p->arguments : "{}";
            ev.len = strlen(ev.text);
            if ((st = fn(ud, &ev)) != LX_OK)
                return st;
            ev.kind = LX_EV_TOOL_END;
            if ((st = fn(ud, &ev)) != LX_OK)
                return st;
            tool++;
            break;
        default:
            break;
        }
    }
    if (r->has_usage) {
        memset(&ev, 0, sizeof ev);
        ev.kind = LX_EV_USAGE;
        ev.usage = r->usage;
        if ((st = fn(ud, &ev)) != LX_OK)
            return st;
    }
    memset(&ev, 0, sizeof ev);
    ev.kind = LX_EV_FINISH;
    ev.finish = r->finish ? r->finish : LX_FINISH_STOP;
    ev.text = r->stop_sequence;
    return fn(ud, &ev);
}

const char *lx_header_get(const lx_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name && !strcmp(h[i].name, name))
            return h[i].value;
    return NULL;
}

char *lx_request_call_name(const lx_request *r, const char *id)
{
    if (!id)
        return NULL;
    lx_part res = {.kind = LX_PART_TOOL_RESULT, .id = (char *)id};
    const lx_part *c = lx_request_find_call(r, r->n_messages, 0, &res);
    return c ? c->name : NULL;
}
