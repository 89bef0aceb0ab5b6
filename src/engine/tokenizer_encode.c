/*
 * tokenizer_encode.c — text -> token ids (see tokenizer.h for the contract).
 *
 * Encoding, both families:
 *   1. special-token partition: the text is cut around verbatim occurrences
 *      of special tokens, longest tokens first (CONTROL and UNKNOWN only when
 *      parse_special; USER_DEFINED always), as llama.cpp does;
 *   2. SPM: each raw fragment gets '▁' for spaces (and one leading '▁' at the
 *      start and after a special token when the model adds a space prefix);
 *      symbols start as single characters and the adjacent pair whose
 *      concatenation is the best-scoring vocabulary entry is merged first
 *      (ties: leftmost) until no pair is in the vocabulary; characters
 *      without a token become byte tokens <0xNN> (else UNK).
 *      BPE: each fragment is cut into words by the pre-tokenizer; symbols
 *      start as single bytes (their GPT-2 code point tokens) and the pair
 *      with the lowest merge rank is merged first (ties: leftmost). A byte
 *      the vocabulary has no token for is dropped (as the references do).
 * Both merge loops use a binary heap of candidate pairs; a candidate whose
 * symbols changed since it was pushed is dropped when popped, so a word of
 * n characters costs O(n log n).
 *
 * Merges never produce CONTROL, UNKNOWN, BYTE or UNUSED tokens: special
 * tokens come only from the partition step.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/tokenizer_int.h"
#include "engine/unicode.h"

/* ---- growable vectors ----------------------------------------------------- */

typedef struct {
    int32_t *v;
    size_t n, cap;
} idvec;

static bool idvec_push(idvec *a, int32_t id)
{
    if (a->n == a->cap) {
        size_t c = a->cap ? a->cap * 2 : 64;
        int32_t *p = realloc(a->v, c * sizeof *p);
        if (!p)
            return false;
        a->v = p;
        a->cap = c;
    }
    a->v[a->n++] = id;
    return true;
}

static bool grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* ---- the merge loop (shared) ---------------------------------------------- */

typedef struct {
    size_t start, len; /* bytes in the working text; len 0 = merged away */
    int prev, next;
    int32_t id;
} symbol;

/* A candidate merge of symbol `left` with the symbol after it. 16 bytes:
 * the heap of a long word is walked a lot. It is stale when popped if left
 * changed or its neighbour did (their lengths no longer add up to size). */
typedef struct {
    float pri; /* higher first: SPM score, or minus the BPE merge rank */
    int32_t left;
    uint32_t size;
    int32_t id; /* token the pair becomes */
} cand;

typedef struct {
    const lx_tokenizer *t;
    idvec *out;
    symbol *sym;
    size_t sym_cap;
    cand *heap;
    size_t n_heap, heap_cap;
    char *work; /* SPM escaped text / BPE mapped word */
    size_t work_cap;
    bool oom;
} session;

static bool cand_before(const cand *a, const cand *b)
{
    return a->pri > b->pri || (a->pri == b->pri && a->left < b->left);
}

static void heap_push(session *s, cand c)
{
    if (!grow((void **)&s->heap, &s->heap_cap, s->n_heap + 1, sizeof *s->heap)) {
        s->oom = true;
        return;
    }
    size_t i = s->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_before(&c, &s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = c;
}

static cand heap_pop(session *s)
{
    cand top = s->heap[0];
    cand last = s->heap[--s->n_heap];
    size_t i = 0, n = s->n_heap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const cand *best = &last;
        if (l < n && cand_before(&s->heap[l], best)) {
            m = l;
            best = &s->heap[l];
        }
        if (r < n && cand_before(&s->heap[r], best))
            m = r;
        if (m == i)
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

/* Pushes the pair (l, r) if it can merge. */
static void try_pair(session *s, int l, int r)
{
    if (l < 0 || r < 0)
        return;
    const lx_tokenizer *t = s->t;
    symbol *a = &s->sym[l], *b = &s->sym[r];
    cand c = {0, l, (uint32_t)(a->len + b->len), -1};
    if (t->kind == LX_TOKENIZER_SPM) {
        c.id = lx_tok_find_mergeable(t, s->work + a->start, c.size);
        if (c.id < 0)
            return;
        c.pri = t->scores[c.id];
    } else {
        const lx_tok_merge *e = lx_tok_merge_find(t, a->id, b->id);
        if (!e)
            return;
        c.id = e->id;
        c.pri = -(float)e->rank; /* exact: ranks stay below 2^24 */
    }
    heap_push(s, c);
}

/* Runs the merge loop over the n symbols in s->sym (linked in order). */
static void merge_all(session *s, int n)
{
    s->n_heap = 0;
    for (int i = 0; i + 1 < n; i++)
        try_pair(s, i, i + 1);
    while (s->n_heap && !s->oom) {
        cand c = heap_pop(s);
        symbol *a = &s->sym[c.left];
        if (a->len == 0 || a->next < 0)
            continue; /* stale */
        int right = a->next;
        symbol *b = &s->sym[right];
        if (a->len + b->len != c.size)
            continue; /* stale */
        a->len += b->len;
        a->id = c.id;
        a->next = b->next;
        if (b->next >= 0)
            s->sym[b->next].prev = c.left;
        b->len = 0;
        try_pair(s, a->prev, c.left);
        try_pair(s, c.left, a->next);
    }
}

/* ---- SentencePiece ---------------------------------------------------------- */

static void spm_fragment(session *s, const char *text, size_t len, bool prefix)
{
    const lx_tokenizer *t = s->t;
    size_t need = 3 * len + 3;
    if (!grow((void **)&s->work, &s->work_cap, need, 1)) {
        s->oom = true;
        return;
    }
    size_t w = 0;
    if (prefix) {
        memcpy(s->work, "\xE2\x96\x81", 3);
        w = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(s->work + w, "\xE2\x96\x81", 3);
            w += 3;
        } else {
            s->work[w++] = text[i];
        }
    }
    if (!grow((void **)&s->sym, &s->sym_cap, w + 1, sizeof *s->sym)) {
        s->oom = true;
        return;
    }
    int n = 0;
    for (size_t i = 0; i < w;) {
        size_t l;
        lx_utf8_decode(s->work + i, w - i, &l);
        s->sym[n] = (symbol){i, l, n - 1, n + 1, lx_tok_find_mergeable(t, s->work + i, l)};
        n++;
        i += l;
    }
    if (n == 0)
        return;
    s->sym[n - 1].next = -1;
    merge_all(s, n);
    for (int i = 0; i >= 0 && !s->oom; i = s->sym[i].next) {
        symbol *y = &s->sym[i];
        if (y->id >= 0) {
            s->oom |= !idvec_push(s->out, y->id);
            continue;
        }
        for (size_t k = 0; k < y->len; k++) {
            int32_t b = t->byte_tok[(unsigned char)s->work[y->start + k]];
            if (b < 0)
                b = t->unk;
            if (b >= 0)
                s->oom |= !idvec_push(s->out, b);
        }
    }
}

/* ---- byte-level BPE -------------------------------------------------------- */

typedef struct {
    session *s;
    const char *text;
} bpe_ctx;

static int bpe_word(void *ud, size_t off, size_t len)
{
    bpe_ctx *c = ud;
    session *s = c->s;
    const lx_tokenizer *t = s->t;
    const unsigned char *w = (const unsigned char *)c->text + off;
    if (len == 0)
        return 0;
    if (t->ignore_merges) {
        if (!grow((void **)&s->work, &s->work_cap, 2 * len, 1))
            goto oom;
        size_t m = 0;
        for (size_t i = 0; i < len; i++)
            m += lx_utf8_encode(lx_tok_byte_to_cp(w[i]), s->work + m);
        int32_t id = lx_tok_find_mergeable(t, s->work, m);
        if (id >= 0)
            return idvec_push(s->out, id) ? 0 : (s->oom = true, 1);
    }
    if (!grow((void **)&s->sym, &s->sym_cap, len, sizeof *s->sym))
        goto oom;
    for (size_t i = 0; i < len; i++)
        s->sym[i] = (symbol){i, 1, (int)i - 1, (int)i + 1, t->byte_tok[w[i]]};
    s->sym[len - 1].next = -1;
    merge_all(s, (int)len);
    for (int i = 0; i >= 0 && !s->oom; i = s->sym[i].next) {
        symbol *y = &s->sym[i];
        if (y->id >= 0) {
            s->oom |= !idvec_push(s->out, y->id);
            continue;
        }
        /* A byte whose code point has no token (SmolLM2 lacks a few control
         * bytes) is dropped, as llama.cpp and Hugging Face do: mapping it to
         * UNK would inject <|endoftext|>, an end-of-generation token. */
    }
    return s->oom;
oom:
    s->oom = true;
    return 1;
}

/* ---- special-token partition ---------------------------------------------- */

typedef struct {
    size_t off, len;
    int32_t id; /* -1: raw text */
} frag;

typedef struct {
    frag *v;
    size_t n, cap;
} fragvec;

static bool frag_push(fragvec *f, frag x)
{
    if (!grow((void **)&f->v, &f->cap, f->n + 1, sizeof *f->v))
        return false;
    f->v[f->n++] = x;
    return true;
}

/* An occurrence of special token specials[rank] at byte `at`. */
typedef struct {
    uint32_t rank;
    uint32_t at;
} occ;

static int cmp_occ(const void *a, const void *b)
{
    const occ *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

static int cmp_occ_pos(const void *a, const void *b)
{
    const occ *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Cuts the text into raw fragments and special tokens, with llama.cpp's
 * rule: special tokens are taken longest first (then by id), each one at
 * its leftmost non-overlapping occurrences in the text not yet claimed.
 * Done in one pass: the trie yields every occurrence of every special
 * token; sorted by (token rank, position) they are accepted greedily when
 * their bytes are still free. Cost: the trie walk (bounded by the longest
 * special token per position) plus sorting the occurrences. */
static bool partition(const lx_tokenizer *t, const char *text, size_t len, bool parse_special,
                      fragvec *fv)
{
    occ *v = NULL;
    size_t nv = 0, cv = 0;
    uint64_t *claimed = NULL;
    const unsigned char *u = (const unsigned char *)text;
    bool ok = false;
    for (size_t p = 0; p < len; p++) {
        if (!(t->trie_first[u[p] >> 6] >> (u[p] & 63) & 1))
            continue;
        uint32_t node = 0;
        for (size_t j = p; j < len; j++) {
            if (!(node = lx_tok_trie_step(t, node, u[j])))
                break;
            int32_t rank = t->trie_term[node];
            if (rank < 0)
                continue;
            uint8_t ty = t->types[t->specials[rank]];
            if (!parse_special && ty != LX_TOKTYPE_USER_DEFINED)
                continue;
            if (!grow((void **)&v, &cv, nv + 1, sizeof *v))
                goto done;
            v[nv++] = (occ){(uint32_t)rank, (uint32_t)p};
        }
    }
    if (nv == 0) {
        ok = len == 0 || frag_push(fv, (frag){0, len, -1});
        goto done;
    }
    qsort(v, nv, sizeof *v, cmp_occ);
    if (!(claimed = calloc(len / 64 + 1, sizeof *claimed)))
        goto done;
    size_t kept = 0, last_end = 0;
    uint32_t last_rank = UINT32_MAX;
    for (size_t i = 0; i < nv; i++) {
        size_t sn;
        lx_tok_text(t, t->specials[v[i].rank], &sn);
        size_t at = v[i].at;
        if (v[i].rank != last_rank) {
            last_rank = v[i].rank;
            last_end = 0;
        }
        if (at < last_end)
            continue; /* overlaps the previous match of the same token */
        bool free_ = true;
        for (size_t b = at; b < at + sn && free_; b++)
            free_ = !(claimed[b >> 6] >> (b & 63) & 1);
        if (!free_)
            continue;
        for (size_t b = at; b < at + sn; b++)
            claimed[b >> 6] |= 1ull << (b & 63);
        last_end = at + sn;
        v[kept++] = v[i];
    }
    qsort(v, kept, sizeof *v, cmp_occ_pos);
    size_t pos = 0;
    for (size_t i = 0; i < kept; i++) {
        int32_t id = t->specials[v[i].rank];
        size_t sn;
        lx_tok_text(t, id, &sn);
        if (v[i].at > pos && !frag_push(fv, (frag){pos, v[i].at - pos, -1}))
            goto done;
        if (!frag_push(fv, (frag){v[i].at, sn, id}))
            goto done;
        pos = v[i].at + sn;
    }
    ok = pos >= len || frag_push(fv, (frag){pos, len - pos, -1});
done:
    free(v);
    free(claimed);
    return ok;
}

lx_status lx_tokenizer_encode(const lx_tokenizer *t, const char *text, size_t len, bool add_special,
                              bool parse_special, int32_t **ids, size_t *n, lx_error *err)
{
    idvec out = {0};
    fragvec fv = {0};
    session s = {.t = t, .out = &out};
    *ids = NULL;
    *n = 0;
    if (!text && len)
        return lx_fail(err, LX_ERR_INVALID, "tokenizer: NULL text");
    if (len > ((size_t)1 << 30))
        return lx_fail(err, LX_ERR_TOOBIG, "tokenizer: text of %zu bytes is too long", len);
    if (!idvec_push(&out, 0)) /* makes out.v non-NULL */
        goto oom;
    out.n = 0;
    if (add_special && t->add_bos && !idvec_push(&out, t->bos))
        goto oom;
    if (!partition(t, text, len, parse_special, &fv))
        goto oom;
    bool prev_special = true;
    for (size_t i = 0; i < fv.n && !s.oom; i++) {
        frag f = fv.v[i];
        if (f.id >= 0) {
            if (!idvec_push(&out, f.id))
                goto oom;
            prev_special = true;
            continue;
        }
        if (t->kind == LX_TOKENIZER_SPM) {
            spm_fragment(&s, text + f.off, f.len, t->add_space_prefix && prev_special);
        } else {
            bpe_ctx c = {&s, text + f.off};
            lx_pretok_split(t->pretok, text + f.off, f.len, bpe_word, &c);
        }
        prev_special = false;
    }
    if (s.oom)
        goto oom;
    if (add_special && t->add_eos && !idvec_push(&out, t->eos))
        goto oom;
    free(fv.v);
    free(s.sym);
    free(s.heap);
    free(s.work);
    *ids = out.v;
    *n = out.n;
    return LX_OK;
oom:
    free(fv.v);
    free(s.sym);
    free(s.heap);
    free(s.work);
    free(out.v);
    return lx_fail(err, LX_ERR_NOMEM, "tokenizer: out of memory encoding %zu bytes", len);
}

lx_status lx_tokenizer_count(const lx_tokenizer *t, const char *text, size_t len, bool add_special,
                             bool parse_special, size_t *n, lx_error *err)
{
    int32_t *ids;
    lx_status st = lx_tokenizer_encode(t, text, len, add_special, parse_special, &ids, n, err);
    if (st == LX_OK)
        free(ids);
    return st;
}
