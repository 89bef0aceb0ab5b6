/*
 * pretok.c — hand-written matchers for the BPE pre-tokenizer expressions
 * listed in pretok.h. At each position the alternatives are tried in the
 * expression's order and the first that matches wins, with the length a
 * backtracking regex engine would give it (greedy runs; `\s+(?!\S)` gives
 * back the last whitespace character when a non-space follows).
 */
#include "engine/pretok.h"

#include <string.h>

#include "engine/unicode.h"

#define C_OTHER 0u

typedef struct {
    const char *s;
    size_t n;
} text;

/* Code point and class at byte i (< n); *len its byte length. */
static uint32_t at(const text *t, size_t i, unsigned *cls, size_t *len)
{
    uint32_t cp = lx_utf8_decode(t->s + i, t->n - i, len);
    *cls = lx_unicode_class(cp);
    return cp;
}

static unsigned cls_at(const text *t, size_t i)
{
    unsigned c;
    size_t l;
    if (i >= t->n)
        return 0xFFu; /* end of text: matches no class */
    at(t, i, &c, &l);
    return c;
}

/* End of the run of characters of class `want` starting at i, at most
 * `max` characters (0 = unlimited). */
static size_t run(const text *t, size_t i, unsigned want, size_t max)
{
    size_t k = 0;
    while (i < t->n && (max == 0 || k < max)) {
        unsigned c;
        size_t l;
        at(t, i, &c, &l);
        if (c != want)
            break;
        i += l;
        k++;
    }
    return i;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Length of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0. */
static size_t contraction(const text *t, size_t i, bool icase)
{
    static const char *const forms[] = {"s", "t", "re", "ve", "m", "ll", "d"};
    if (t->s[i] != '\'')
        return 0;
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        size_t k = strlen(forms[f]);
        if (i + 1 + k > t->n)
            continue;
        size_t j = 0;
        for (; j < k; j++) {
            char c = t->s[i + 1 + j];
            if ((icase ? lower(c) : c) != forms[f][j])
                break;
        }
        if (j == k)
            return 1 + k;
    }
    return 0;
}

/* Whitespace alternatives. `newline`: try \s*[\r\n]+ first (llama3). */
static size_t match_space(const text *t, size_t i, bool newline)
{
    size_t j = i, last = i, nl_end = 0;
    size_t count = 0;
    while (j < t->n) {
        unsigned c;
        size_t l;
        uint32_t cp = at(t, j, &c, &l);
        if (c != LX_UC_SPACE)
            break;
        if (cp == '\r' || cp == '\n')
            nl_end = j + l;
        last = j;
        j += l;
        count++;
    }
    if (newline && nl_end)
        return nl_end - i;
    if (j >= t->n || count < 2)
        return j - i; /* \s+(?!\S) to the end, or \s+ of one char */
    return last - i;  /* \s+(?!\S): leave the last space to the next word */
}

static size_t match_gpt2(const text *t, size_t i)
{
    size_t l, k;
    unsigned c;
    uint32_t cp = at(t, i, &c, &l);
    if ((k = contraction(t, i, false)))
        return k;
    size_t from = i;
    unsigned cc = c;
    if (cp == ' ' && i + 1 < t->n) {
        unsigned nc = cls_at(t, i + 1);
        if (nc != LX_UC_SPACE) {
            from = i + 1;
            cc = nc;
        }
    }
    if (cc != LX_UC_SPACE)
        return run(t, from, cc, 0) - i; /* ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+ */
    return match_space(t, i, false);
}

static size_t match_llama3(const text *t, size_t i, size_t max_digits)
{
    size_t l, k;
    unsigned c;
    uint32_t cp = at(t, i, &c, &l);
    if ((k = contraction(t, i, true)))
        return k;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c == LX_UC_LETTER)
        return run(t, i, LX_UC_LETTER, 0) - i;
    if (c != LX_UC_NUMBER && cp != '\r' && cp != '\n' && cls_at(t, i + l) == LX_UC_LETTER)
        return run(t, i + l, LX_UC_LETTER, 0) - i;
    /* \p{N}{1,max} */
    if (c == LX_UC_NUMBER)
        return run(t, i, LX_UC_NUMBER, max_digits) - i;
    /* ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t from = i;
    if (cp == ' ' && cls_at(t, i + 1) == C_OTHER)
        from = i + 1;
    if (cls_at(t, from) == C_OTHER) {
        size_t j = run(t, from, C_OTHER, 0);
        while (j < t->n && (t->s[j] == '\r' || t->s[j] == '\n'))
            j++;
        return j - i;
    }
    return match_space(t, i, true);
}

typedef size_t (*matcher)(const text *t, size_t i, size_t arg);

static size_t m_gpt2(const text *t, size_t i, size_t arg)
{
    (void)arg;
    return match_gpt2(t, i);
}

static size_t m_llama3(const text *t, size_t i, size_t arg)
{
    return match_llama3(t, i, arg);
}

static int split_with(matcher m, size_t arg, const char *s, size_t n, size_t base, lx_pretok_fn fn,
                      void *ud)
{
    text t = {s, n};
    size_t i = 0;
    while (i < n) {
        size_t k = m(&t, i, arg);
        if (k == 0) /* cannot happen; never loop forever */
            k = 1;
        if (i + k > n)
            k = n - i;
        int r = fn(ud, base + i, k);
        if (r)
            return r;
        i += k;
    }
    return 0;
}

int lx_pretok_split(lx_pretok kind, const char *s, size_t n, lx_pretok_fn fn, void *ud)
{
    switch (kind) {
    case LX_PRETOK_LLAMA3:
        return split_with(m_llama3, 3, s, n, 0, fn, ud);
    case LX_PRETOK_QWEN2:
        return split_with(m_llama3, 1, s, n, 0, fn, ud);
    case LX_PRETOK_SMOLLM: {
        /* Split off each number character, then gpt2 on the gaps. */
        text t = {s, n};
        size_t i = 0, gap = 0;
        while (i < n) {
            unsigned c;
            size_t l;
            at(&t, i, &c, &l);
            if (c == LX_UC_NUMBER) {
                int r;
                if (gap < i && (r = split_with(m_gpt2, 0, s + gap, i - gap, gap, fn, ud)))
                    return r;
                if ((r = fn(ud, i, l)))
                    return r;
                gap = i + l;
            }
            i += l;
        }
        return gap < n ? split_with(m_gpt2, 0, s + gap, n - gap, gap, fn, ud) : 0;
    }
    case LX_PRETOK_GPT2:
    default:
        return split_with(m_gpt2, 0, s, n, 0, fn, ud);
    }
}

static const struct {
    const char *name;
    lx_pretok kind;
} names[] = {
    /* GPT-2's expression */
    {"default", LX_PRETOK_GPT2},
    {"gpt2", LX_PRETOK_GPT2},
    {"gpt-2", LX_PRETOK_GPT2},
    {"mpt", LX_PRETOK_GPT2},
    {"olmo", LX_PRETOK_GPT2},
    {"jais", LX_PRETOK_GPT2},
    /* individual digits, then GPT-2's expression */
    {"smollm", LX_PRETOK_SMOLLM},
    {"starcoder", LX_PRETOK_SMOLLM},
    {"refact", LX_PRETOK_SMOLLM},
    {"command-r", LX_PRETOK_SMOLLM},
    {"codeshell", LX_PRETOK_SMOLLM},
    {"exaone", LX_PRETOK_SMOLLM},
    /* Llama 3 */
    {"llama-bpe", LX_PRETOK_LLAMA3},
    {"llama3", LX_PRETOK_LLAMA3},
    {"llama-v3", LX_PRETOK_LLAMA3},
    /* Qwen2 */
    {"qwen2", LX_PRETOK_QWEN2},
    {"stablelm2", LX_PRETOK_QWEN2},
};

bool lx_pretok_by_name(const char *name, lx_pretok *out)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name)) {
            *out = names[i].kind;
            return true;
        }
    return false;
}

const char *lx_pretok_names(void)
{
    return "default, gpt2, gpt-2, mpt, olmo, jais, smollm, starcoder, refact, command-r, "
           "codeshell, exaone, llama-bpe, llama3, llama-v3, qwen2, stablelm2";
}
