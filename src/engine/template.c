/*
 * template.c — chat template recognition and rendering (see template.h).
 *
 * Recognition looks for markers no other family uses, most specific first:
 *   llama3   "<|start_header_id|>"
 *   chatml   "<|im_start|>"
 *   gemma    "<start_of_turn>"
 *   phi3     "<|user|>" and "<|assistant|>" (with "<|end|>")
 *   llama2   "[INST]" and "<<SYS>>"
 *   mistral  "[INST]" without "<<SYS>>"
 *
 * Rendering walks the messages once. Families without a system role
 * (llama2, mistral, gemma) fold every system text, joined by "\n\n", into
 * the first user turn, as their published templates do.
 */
#include "engine/template.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lx_template {
    lx_template_kind kind;
    char *default_system; /* heap, or NULL */
    /* Llama 3.1+ templates open with a system block carrying the knowledge
     * cut-off and today's date: "26 Jul 2024" (the templates' default) or,
     * when the template asks strftime_now, the current date. */
    bool knowledge_dates;
    bool date_now;
    char date[32]; /* set with lx_template_set_date; "" = as above */
};

static const char *const kind_names[] = {"chatml", "llama3", "llama2", "mistral", "gemma", "phi3"};
#define N_KINDS (sizeof kind_names / sizeof kind_names[0])

static const char *const stops_chatml[] = {"<|im_end|>", "<|endoftext|>", NULL};
static const char *const stops_llama3[] = {"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", NULL};
static const char *const stops_llama2[] = {"</s>", NULL};
static const char *const stops_gemma[] = {"<end_of_turn>", "<eos>", NULL};
static const char *const stops_phi3[] = {"<|end|>", "<|endoftext|>", NULL};

const char *lx_template_names(void)
{
    return "chatml, llama3, llama2, mistral, gemma, phi3";
}

static lx_status make(lx_template_kind k, lx_template **out, lx_error *err)
{
    lx_template *t = calloc(1, sizeof *t);
    if (!t)
        return lx_fail(err, LX_ERR_NOMEM, "template: out of memory");
    t->kind = k;
    *out = t;
    return LX_OK;
}

lx_status lx_template_by_name(const char *name, lx_template **out, lx_error *err)
{
    *out = NULL;
    for (size_t i = 0; name && i < N_KINDS; i++)
        if (!strcmp(name, kind_names[i]))
            return make((lx_template_kind)i, out, err);
    return lx_fail(err, LX_ERR_NOTFOUND, "unknown chat template '%.64s' (known: %s)",
                   name ? name : "(null)", lx_template_names());
}

static const char *find(const char *h, size_t hn, const char *needle)
{
    return memmem(h, hn, needle, strlen(needle));
}

/* The first literal default system prompt of a chatml template: the text
 * between "<|im_start|>system\n" (real newline or the escape "\n") and
 * "<|im_end|>" when it contains no quote or template syntax. */
static char *chatml_default_system(const char *s, size_t n)
{
    static const char *const heads[] = {"<|im_start|>system\n", "<|im_start|>system\\n"};
    for (size_t h = 0; h < 2; h++) {
        const char *p = s, *end = s + n;
        size_t hl = strlen(heads[h]);
        while ((p = find(p, (size_t)(end - p), heads[h]))) {
            const char *body = p + hl;
            const char *stop = find(body, (size_t)(end - body), "<|im_end|>");
            p = body;
            if (!stop)
                break;
            size_t bl = (size_t)(stop - body);
            if (bl == 0 || memchr(body, '\'', bl) || memchr(body, '"', bl) ||
                memchr(body, '{', bl) || memchr(body, '}', bl) || memchr(body, '+', bl))
                continue;
            char *r = malloc(bl + 1);
            if (!r)
                return NULL;
            size_t o = 0;
            for (size_t i = 0; i < bl; i++) {
                if (body[i] == '\\' && i + 1 < bl && body[i + 1] == 'n') {
                    r[o++] = '\n';
                    i++;
                } else {
                    r[o++] = body[i];
                }
            }
            r[o] = 0;
            return r;
        }
    }
    return NULL;
}

lx_status lx_template_detect(const char *s, size_t n, lx_template **out, lx_error *err)
{
    *out = NULL;
    lx_template_kind k;
    if (!s || n == 0)
        return lx_fail(err, LX_ERR_UNSUPPORTED,
                       "empty chat template; choose one with --template NAME (%s)",
                       lx_template_names());
    if (find(s, n, "<|start_header_id|>"))
        k = LX_TMPL_LLAMA3;
    else if (find(s, n, "<|im_start|>"))
        k = LX_TMPL_CHATML;
    else if (find(s, n, "<start_of_turn>"))
        k = LX_TMPL_GEMMA;
    else if (find(s, n, "<|user|>") && find(s, n, "<|assistant|>") && find(s, n, "<|end|>"))
        k = LX_TMPL_PHI3;
    else if (find(s, n, "[INST]") && find(s, n, "<<SYS>>"))
        k = LX_TMPL_LLAMA2;
    else if (find(s, n, "[INST]"))
        k = LX_TMPL_MISTRAL;
    else
        return lx_fail(err, LX_ERR_UNSUPPORTED,
                       "unrecognised chat template (%zu bytes of Jinja); choose one with "
                       "--template NAME (%s)",
                       n, lx_template_names());
    lx_status st = make(k, out, err);
    if (st == LX_OK && k == LX_TMPL_CHATML)
        (*out)->default_system = chatml_default_system(s, n);
    if (st == LX_OK && k == LX_TMPL_LLAMA3 && find(s, n, "Cutting Knowledge Date")) {
        (*out)->knowledge_dates = true;
        (*out)->date_now = find(s, n, "strftime_now") != NULL;
    }
    return st;
}

lx_status lx_template_from_gguf(const lx_gguf *g, lx_template **out, lx_error *err)
{
    lx_gguf_str v;
    *out = NULL;
    if (!lx_gguf_get_str(g, "tokenizer.chat_template", &v))
        return lx_fail(err, LX_ERR_NOTFOUND,
                       "tokenizer.chat_template: missing; choose one with --template NAME (%s)",
                       lx_template_names());
    return lx_template_detect(v.p, v.n, out, err);
}

void lx_template_free(lx_template *t)
{
    if (!t)
        return;
    free(t->default_system);
    free(t);
}

lx_template_kind lx_template_kind_of(const lx_template *t)
{
    return t->kind;
}

const char *lx_template_name(const lx_template *t)
{
    return kind_names[t->kind];
}

const char *lx_template_default_system(const lx_template *t)
{
    return t->default_system;
}

void lx_template_set_date(lx_template *t, const char *date)
{
    lx_strlcpy(t->date, date ? date : "", sizeof t->date);
}

const char *const *lx_template_stops(const lx_template *t, size_t *n)
{
    const char *const *s;
    switch (t->kind) {
    case LX_TMPL_CHATML:
        s = stops_chatml;
        break;
    case LX_TMPL_LLAMA3:
        s = stops_llama3;
        break;
    case LX_TMPL_GEMMA:
        s = stops_gemma;
        break;
    case LX_TMPL_PHI3:
        s = stops_phi3;
        break;
    default:
        s = stops_llama2;
        break;
    }
    if (n) {
        *n = 0;
        while (s[*n])
            (*n)++;
    }
    return s;
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct {
    lx_buf *out;
    lx_status st;
} writer;

static void put(writer *w, const char *s, size_t n)
{
    if (w->st == LX_OK)
        w->st = lx_buf_append(w->out, s, n);
}

static void puts_(writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Writes s[0..n) with surrounding whitespace removed (Jinja's trim). */
static void put_trimmed(writer *w, const char *s, size_t n)
{
    while (n && is_space(s[0])) {
        s++;
        n--;
    }
    while (n && is_space(s[n - 1]))
        n--;
    put(w, s, n);
}

/* The content of a message into b: TEXT parts, tool results, tool calls. */
static lx_status content(const lx_message *m, lx_buf *b)
{
    writer w = {b, LX_OK};
    lx_buf_reset(b);
    for (size_t i = 0; i < m->n_parts; i++) {
        const lx_part *p = &m->parts[i];
        switch (p->kind) {
        case LX_PART_TEXT:
        case LX_PART_TOOL_RESULT:
            if (p->text)
                puts_(&w, p->text);
            break;
        case LX_PART_TOOL_CALL:
            if (b->len)
                puts_(&w, "\n");
            puts_(&w, "<tool_call>\n{\"name\": \"");
            puts_(&w, p->name ? p->name : "");
            puts_(&w, "\", \"arguments\": ");
            puts_(&w, p->arguments && p->arguments[0] ? p->arguments : "{}");
            puts_(&w, "}\n</tool_call>");
            break;
        default:
            break;
        }
    }
    if (w.st == LX_OK && !b->data)
        w.st = lx_buf_append(b, "", 0);
    return w.st;
}

/* All system texts joined by "\n\n" into sys (empty when none). */
static lx_status system_text(const lx_request *r, lx_buf *sys, lx_buf *tmp)
{
    lx_status st = LX_OK;
    for (size_t i = 0; i < r->n_messages && st == LX_OK; i++) {
        if (r->messages[i].role != LX_ROLE_SYSTEM)
            continue;
        if ((st = content(&r->messages[i], tmp)) != LX_OK)
            break;
        if (sys->len)
            st = lx_buf_puts(sys, "\n\n");
        if (st == LX_OK)
            st = lx_buf_append(sys, tmp->data, tmp->len);
    }
    return st;
}

static const char *role_name(lx_template_kind k, lx_role r)
{
    switch (r) {
    case LX_ROLE_SYSTEM:
        return "system";
    case LX_ROLE_USER:
        return "user";
    case LX_ROLE_ASSISTANT:
        return k == LX_TMPL_GEMMA ? "model" : "assistant";
    case LX_ROLE_TOOL:
        return k == LX_TMPL_LLAMA3 ? "ipython" : k == LX_TMPL_CHATML ? "tool" : "user";
    }
    return "user";
}

static void render_chatml(const lx_template *t, const lx_request *r, bool gen, writer *w, lx_buf *c)
{
    if (t->default_system && (r->n_messages == 0 || r->messages[0].role != LX_ROLE_SYSTEM)) {
        puts_(w, "<|im_start|>system\n");
        puts_(w, t->default_system);
        puts_(w, "<|im_end|>\n");
    }
    for (size_t i = 0; i < r->n_messages && w->st == LX_OK; i++) {
        if ((w->st = content(&r->messages[i], c)) != LX_OK)
            return;
        puts_(w, "<|im_start|>");
        puts_(w, role_name(t->kind, r->messages[i].role));
        puts_(w, "\n");
        put(w, c->data, c->len);
        puts_(w, "<|im_end|>\n");
    }
    if (gen)
        puts_(w, "<|im_start|>assistant\n");
}

static void llama3_turn(writer *w, const char *role, const char *text, size_t len)
{
    puts_(w, "<|start_header_id|>");
    puts_(w, role);
    puts_(w, "<|end_header_id|>\n\n");
    put_trimmed(w, text, len);
    puts_(w, "<|eot_id|>");
}

static void render_llama3(const lx_template *t, const lx_request *r, bool gen, writer *w, lx_buf *c)
{
    size_t first = 0;
    if (t->knowledge_dates) {
        char date[32];
        if (t->date[0]) {
            lx_strlcpy(date, t->date, sizeof date);
        } else if (t->date_now) {
            time_t now = time(NULL);
            struct tm tm;
            gmtime_r(&now, &tm);
            strftime(date, sizeof date, "%d %b %Y", &tm);
        } else {
            lx_strlcpy(date, "26 Jul 2024", sizeof date);
        }
        puts_(w, "<|start_header_id|>system<|end_header_id|>\n\n"
                 "Cutting Knowledge Date: December 2023\nToday Date: ");
        puts_(w, date);
        puts_(w, "\n\n");
        if (r->n_messages && r->messages[0].role == LX_ROLE_SYSTEM) {
            if ((w->st = content(&r->messages[0], c)) != LX_OK)
                return;
            put_trimmed(w, c->data, c->len);
            first = 1;
        }
        puts_(w, "<|eot_id|>");
    }
    for (size_t i = first; i < r->n_messages && w->st == LX_OK; i++) {
        if ((w->st = content(&r->messages[i], c)) != LX_OK)
            return;
        llama3_turn(w, role_name(LX_TMPL_LLAMA3, r->messages[i].role), c->data, c->len);
    }
    if (gen)
        puts_(w, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void render_phi3(const lx_request *r, bool gen, writer *w, lx_buf *c)
{
    for (size_t i = 0; i < r->n_messages && w->st == LX_OK; i++) {
        if ((w->st = content(&r->messages[i], c)) != LX_OK)
            return;
        lx_role role = r->messages[i].role;
        puts_(w, role == LX_ROLE_SYSTEM      ? "<|system|>\n"
                 : role == LX_ROLE_ASSISTANT ? "<|assistant|>\n"
                                             : "<|user|>\n");
        put(w, c->data, c->len);
        puts_(w, "<|end|>\n");
    }
    if (gen)
        puts_(w, "<|assistant|>\n");
}

/* One user turn of llama2 / mistral / gemma; the system text rides along
 * in the first one. */
static void folded_user(lx_template_kind k, writer *w, const char *text, size_t len,
                        const lx_buf *sys, bool *sys_done, bool any)
{
    if (k == LX_TMPL_GEMMA) {
        puts_(w, "<start_of_turn>user\n");
    } else {
        if (any && k == LX_TMPL_LLAMA2)
            puts_(w, "<s>");
        puts_(w, "[INST] ");
    }
    if (!*sys_done) {
        if (k == LX_TMPL_LLAMA2) {
            puts_(w, "<<SYS>>\n");
            put(w, sys->data, sys->len);
            puts_(w, "\n<</SYS>>\n\n");
        } else {
            put_trimmed(w, sys->data, sys->len);
            puts_(w, "\n\n");
        }
        *sys_done = true;
    }
    if (k == LX_TMPL_MISTRAL)
        put(w, text, len);
    else
        put_trimmed(w, text, len);
    puts_(w, k == LX_TMPL_GEMMA ? "<end_of_turn>\n" : " [/INST]");
}

/* llama2, mistral and gemma: system folded into the first user turn (a
 * conversation with a system text and no user turn gets an empty one). */
static void render_folded(lx_template_kind k, const lx_request *r, bool gen, writer *w, lx_buf *c,
                          const lx_buf *sys)
{
    bool sys_done = sys->len == 0, any = false;
    for (size_t i = 0; i < r->n_messages && w->st == LX_OK; i++) {
        lx_role role = r->messages[i].role;
        if (role == LX_ROLE_SYSTEM)
            continue;
        if ((w->st = content(&r->messages[i], c)) != LX_OK)
            return;
        if (role != LX_ROLE_ASSISTANT) {
            folded_user(k, w, c->data, c->len, sys, &sys_done, any);
        } else if (k == LX_TMPL_GEMMA) {
            puts_(w, "<start_of_turn>model\n");
            put_trimmed(w, c->data, c->len);
            puts_(w, "<end_of_turn>\n");
        } else if (k == LX_TMPL_LLAMA2) {
            puts_(w, " ");
            put_trimmed(w, c->data, c->len);
            puts_(w, " </s>");
        } else {
            put(w, c->data, c->len);
            puts_(w, "</s>");
        }
        any = true;
    }
    if (!sys_done)
        folded_user(k, w, "", 0, sys, &sys_done, any);
    if (gen && k == LX_TMPL_GEMMA)
        puts_(w, "<start_of_turn>model\n");
}

lx_status lx_template_render(const lx_template *t, const lx_request *r, bool add_generation_prompt,
                             lx_buf *out, lx_error *err)
{
    lx_buf c, sys, tmp;
    lx_buf_init(&c, out->cap);
    lx_buf_init(&sys, out->cap);
    lx_buf_init(&tmp, out->cap);
    writer w = {out, LX_OK};
    if (!t || !r) {
        w.st = LX_ERR_INVALID;
        lx_fail(err, LX_ERR_INVALID, "template: no template or no request");
        goto done;
    }
    switch (t->kind) {
    case LX_TMPL_CHATML:
        render_chatml(t, r, add_generation_prompt, &w, &c);
        break;
    case LX_TMPL_LLAMA3:
        render_llama3(t, r, add_generation_prompt, &w, &c);
        break;
    case LX_TMPL_PHI3:
        render_phi3(r, add_generation_prompt, &w, &c);
        break;
    default:
        if ((w.st = system_text(r, &sys, &tmp)) == LX_OK)
            render_folded(t->kind, r, add_generation_prompt, &w, &c, &sys);
        break;
    }
    if (w.st == LX_ERR_TOOBIG)
        lx_fail(err, w.st, "template: prompt longer than %zu bytes", out->cap);
    else if (w.st != LX_OK)
        lx_fail(err, w.st, "template: out of memory rendering the prompt");
done:
    lx_buf_free(&c);
    lx_buf_free(&sys);
    lx_buf_free(&tmp);
    return w.st;
}

lx_status lx_template_render_plain(const lx_request *req, lx_buf *out, lx_error *err)
{
    for (size_t i = 0; i < req->n_messages; i++) {
        const lx_message *m = &req->messages[i];
        for (size_t j = 0; j < m->n_parts; j++) {
            const lx_part *p = &m->parts[j];
            const char *t =
                p->kind == LX_PART_TEXT || p->kind == LX_PART_TOOL_RESULT ? p->text : NULL;
            if (!t || !*t)
                continue;
            if ((out->len && lx_buf_puts(out, "\n\n") != LX_OK) || lx_buf_puts(out, t) != LX_OK)
                return lx_fail(err, LX_ERR_TOOBIG, "prompt too long (cap %zu bytes)", out->cap);
        }
    }
    return LX_OK;
}
