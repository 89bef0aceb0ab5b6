/*
 * tokenizer.c — SentencePiece-style and byte-level BPE tokenizers.
 *
 * Construction copies the vocabulary into one blob and builds two hash
 * tables (open addressing, power-of-two size): token text -> id, and for
 * BPE (left id, right id) -> (merge rank, merged id). Every token's decoded
 * bytes ("piece") are computed once, so decoding is a table lookup.
 *
 * Encoding is in tokenizer_encode.c; the shared internals in
 * tokenizer_int.h.
 */
#include "core/utf8.h"
#include "engine/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tokenizer_int.h"
#include "engine/unicode.h"

/* ---- small helpers -------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

const char *lx_tok_text(const lx_tokenizer *t, int32_t id, size_t *len)
{
    *len = t->text_len[id];
    return t->blob + t->text_off[id];
}

int32_t lx_tokenizer_find(const lx_tokenizer *t, const char *text, size_t len)
{
    size_t i = hash_bytes(text, len) & t->vhash_mask;
    for (;;) {
        int32_t id = t->vhash[i];
        if (id < 0)
            return -1;
        if (t->text_len[id] == len && !memcmp(t->blob + t->text_off[id], text, len))
            return id;
        i = (i + 1) & t->vhash_mask;
    }
}

/* Tokens that plain text may turn into. */
static bool mergeable(const lx_tokenizer *t, int32_t id)
{
    if (id < 0)
        return false;
    uint8_t ty = t->types[id];
    return ty == LX_TOKTYPE_NORMAL || ty == LX_TOKTYPE_USER_DEFINED || ty == LX_TOKTYPE_UNDEFINED;
}

int32_t lx_tok_find_mergeable(const lx_tokenizer *t, const char *s, size_t n)
{
    int32_t id = lx_tokenizer_find(t, s, n);
    return mergeable(t, id) ? id : -1;
}

const lx_tok_merge *lx_tok_merge_find(const lx_tokenizer *t, int32_t l, int32_t r)
{
    if (!t->mhash || l < 0 || r < 0)
        return NULL;
    uint64_t key = ((uint64_t)(uint32_t)(l + 1) << 32) | (uint32_t)(r + 1);
    size_t i = hash_u64(key) & t->mhash_mask;
    for (;;) {
        const lx_tok_merge *e = &t->mhash[i];
        if (e->key == 0)
            return NULL;
        if (e->key == key)
            return e;
        i = (i + 1) & t->mhash_mask;
    }
}

/* GPT-2's byte <-> code point table: printable Latin-1 bytes map to
 * themselves, the other 68 bytes to U+0100.. in byte order. */
static bool byte_is_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

uint32_t lx_tok_byte_to_cp(unsigned b)
{
    if (byte_is_printable(b))
        return b;
    uint32_t k = 0;
    for (unsigned x = 0; x < b; x++)
        if (!byte_is_printable(x))
            k++;
    return 256 + k;
}

/* Inverse of lx_tok_byte_to_cp; -1 for code points outside the table. */
static int cp_to_byte(uint32_t cp)
{
    if (cp < 256)
        return byte_is_printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68)
        return -1;
    uint32_t k = cp - 256;
    for (unsigned x = 0; x < 256; x++)
        if (!byte_is_printable(x) && k-- == 0)
            return (int)x;
    return -1;
}

/* "<0xNN>" -> NN, else -1. */
static int byte_token_value(const char *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
        return -1;
    int h = lx_hex_digit(s[3]), l = lx_hex_digit(s[4]);
    return (h < 0 || l < 0) ? -1 : h * 16 + l;
}

/* ---- construction ------------------------------------------------------- */

/* Decoded bytes of token id into out (capacity >= 2 * text length + 3). */
static size_t make_piece(const lx_tokenizer *t, int32_t id, char *out)
{
    size_t n;
    const char *s = lx_tok_text(t, id, &n);
    uint8_t ty = t->types[id];
    if (ty == LX_TOKTYPE_CONTROL || ty == LX_TOKTYPE_UNKNOWN || ty == LX_TOKTYPE_UNUSED) {
        memcpy(out, s, n); /* rendered only on request (see lx_tokenizer_piece) */
        return n;
    }
    if (ty == LX_TOKTYPE_BYTE) {
        int b = byte_token_value(s, n);
        if (b >= 0) {
            out[0] = (char)b;
            return 1;
        }
    }
    if (ty == LX_TOKTYPE_USER_DEFINED) {
        memcpy(out, s, n);
        return n;
    }
    size_t o = 0;
    if (t->kind == LX_TOKENIZER_SPM) {
        for (size_t i = 0; i < n;) {
            if (i + 3 <= n && !memcmp(s + i, "\xE2\x96\x81", 3)) {
                out[o++] = ' ';
                i += 3;
            } else {
                out[o++] = s[i++];
            }
        }
        return o;
    }
    for (size_t i = 0; i < n;) {
        size_t l;
        uint32_t cp = lx_utf8_decode(s + i, n - i, &l);
        int b = cp == LX_UTF8_BAD ? -1 : cp_to_byte(cp);
        if (b >= 0) {
            out[o++] = (char)b;
        } else {
            memcpy(out + o, s + i, l);
            o += l;
        }
        i += l;
    }
    return o;
}

static lx_status build_merges(lx_tokenizer *t, const lx_tokenizer_spec *sp, lx_error *err)
{
    if (sp->n_merges > MAX_VOCAB) /* ranks must stay exact as floats */
        return lx_fail(err, LX_ERR_INVALID, "tokenizer.ggml.merges: %zu merges (max %u)",
                       sp->n_merges, MAX_VOCAB);
    t->mhash_mask = pow2_at_least(sp->n_merges * 2 + 1) - 1;
    t->mhash = calloc(t->mhash_mask + 1, sizeof *t->mhash);
    if (!t->mhash)
        return lx_fail(err, LX_ERR_NOMEM, "tokenizer: out of memory for %zu merges", sp->n_merges);
    char tmp[2 * 1024];
    for (size_t r = 0; r < sp->n_merges; r++) {
        const char *m = sp->merges[r];
        size_t n = sp->merge_lens[r];
        const char *sp_at = memchr(m, ' ', n);
        if (!sp_at || sp_at == m || sp_at == m + n - 1)
            return lx_fail(err, LX_ERR_INVALID,
                           "tokenizer.ggml.merges[%zu]: expected two tokens separated by a space",
                           r);
        size_t ln = (size_t)(sp_at - m), rn = n - ln - 1;
        if (ln + rn > sizeof tmp)
            continue;
        int32_t l = lx_tokenizer_find(t, m, ln), rr = lx_tokenizer_find(t, sp_at + 1, rn);
        memcpy(tmp, m, ln);
        memcpy(tmp + ln, sp_at + 1, rn);
        int32_t res = lx_tok_find_mergeable(t, tmp, ln + rn);
        if (l < 0 || rr < 0 || res < 0)
            continue; /* unusable merge: a part or the result is not a token */
        uint64_t key = ((uint64_t)(uint32_t)(l + 1) << 32) | (uint32_t)(rr + 1);
        size_t i = hash_u64(key) & t->mhash_mask;
        while (t->mhash[i].key && t->mhash[i].key != key)
            i = (i + 1) & t->mhash_mask;
        if (t->mhash[i].key)
            continue; /* duplicate: the first (lowest) rank wins */
        t->mhash[i].key = key;
        t->mhash[i].rank = (int32_t)r;
        t->mhash[i].id = res;
    }
    return LX_OK;
}

static int cmp_special(const void *a, const void *b, void *ud)
{
    const lx_tokenizer *t = ud;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (t->text_len[x] != t->text_len[y])
        return t->text_len[x] > t->text_len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static uint64_t trie_hash(uint64_t key)
{
    key *= 0x9E3779B97F4A7C15ull;
    return key ^ (key >> 31);
}

uint32_t lx_tok_trie_step(const lx_tokenizer *t, uint32_t node, unsigned char b)
{
    uint64_t key = ((uint64_t)node << 8 | b) + 1;
    size_t i = trie_hash(key) & t->trie_mask;
    for (;;) {
        if (t->trie_key[i] == 0)
            return 0;
        if (t->trie_key[i] == key)
            return t->trie_child[i];
        i = (i + 1) & t->trie_mask;
    }
}

/* The trie of the special tokens (see tokenizer_int.h). */
static lx_status build_trie(lx_tokenizer *t, lx_error *err)
{
    size_t total = 1;
    for (size_t k = 0; k < t->n_specials; k++)
        total += t->text_len[t->specials[k]];
    t->trie_mask = pow2_at_least(total * 2) - 1;
    t->trie_key = calloc(t->trie_mask + 1, sizeof *t->trie_key);
    t->trie_child = malloc((t->trie_mask + 1) * sizeof *t->trie_child);
    t->trie_term = malloc(total * sizeof *t->trie_term);
    if (!t->trie_key || !t->trie_child || !t->trie_term)
        return lx_fail(err, LX_ERR_NOMEM, "tokenizer: out of memory for %zu special tokens",
                       t->n_specials);
    t->trie_term[0] = -1;
    t->trie_nodes = 1;
    for (size_t k = 0; k < t->n_specials; k++) {
        size_t n;
        const unsigned char *s = (const unsigned char *)lx_tok_text(t, t->specials[k], &n);
        t->trie_first[s[0] >> 6] |= 1ull << (s[0] & 63);
        uint32_t node = 0;
        for (size_t j = 0; j < n; j++) {
            uint32_t next = lx_tok_trie_step(t, node, s[j]);
            if (!next) {
                uint64_t key = ((uint64_t)node << 8 | s[j]) + 1;
                size_t i = trie_hash(key) & t->trie_mask;
                while (t->trie_key[i])
                    i = (i + 1) & t->trie_mask;
                next = (uint32_t)t->trie_nodes++;
                t->trie_key[i] = key;
                t->trie_child[i] = next;
                t->trie_term[next] = -1;
            }
            node = next;
        }
        if (t->trie_term[node] < 0) /* same text twice: the first rank wins */
            t->trie_term[node] = (int32_t)k;
    }
    return LX_OK;
}

static bool is_eog_text(const char *s, size_t n)
{
    static const char *const names[] = {"<|eot_id|>",      "<|eom_id|>",    "<|im_end|>",
                                        "<|end|>",         "<end_of_turn>", "<|endoftext|>",
                                        "<|end_of_text|>", "<EOT>"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && !memcmp(names[i], s, n))
            return true;
    return false;
}

static void add_eog(lx_tokenizer *t, int32_t id)
{
    if (id < 0 || (size_t)id >= t->n_vocab || t->n_eog >= sizeof t->eog / sizeof t->eog[0])
        return;
    for (size_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return;
    t->eog[t->n_eog++] = id;
}

lx_status lx_tokenizer_new_from_spec(const lx_tokenizer_spec *sp, lx_tokenizer **out, lx_error *err)
{
    lx_status st = LX_ERR_NOMEM;
    lx_tokenizer *t = NULL;
    char *scratch = NULL;
    *out = NULL;
    if (sp->kind != LX_TOKENIZER_SPM && sp->kind != LX_TOKENIZER_BPE)
        return lx_fail(err, LX_ERR_UNSUPPORTED, "tokenizer: unknown kind %d", (int)sp->kind);
    if (sp->n_vocab == 0 || sp->n_vocab > MAX_VOCAB)
        return lx_fail(err, LX_ERR_INVALID, "tokenizer.ggml.tokens: %zu tokens (expected 1..%u)",
                       sp->n_vocab, MAX_VOCAB);
    if (sp->kind == LX_TOKENIZER_BPE && sp->n_merges == 0)
        return lx_fail(err, LX_ERR_INVALID, "tokenizer.ggml.merges: missing or empty for BPE");
    if (!(t = calloc(1, sizeof *t)))
        goto nomem;
    t->kind = sp->kind;
    t->n_vocab = sp->n_vocab;
    t->pretok = LX_PRETOK_GPT2;
    if (sp->kind == LX_TOKENIZER_BPE) {
        const char *pre = sp->pre ? sp->pre : "default";
        if (!lx_pretok_by_name(pre, &t->pretok)) {
            st = lx_fail(err, LX_ERR_UNSUPPORTED,
                         "tokenizer.ggml.pre: unsupported pre-tokenizer '%.64s' (supported: %s)",
                         pre, lx_pretok_names());
            goto fail;
        }
        lx_strlcpy(t->pre_name, pre, sizeof t->pre_name);
        t->ignore_merges = t->pretok == LX_PRETOK_LLAMA3;
    }

    size_t total = 0, maxlen = 0;
    for (size_t i = 0; i < sp->n_vocab; i++) {
        size_t n = sp->token_lens[i];
        if (n > MAX_TOKEN_LEN) {
            st = lx_fail(err, LX_ERR_INVALID, "tokenizer.ggml.tokens[%zu]: %zu bytes (max %d)", i,
                         n, MAX_TOKEN_LEN);
            goto fail;
        }
        total += 3 * n + 3; /* text + piece (at most 2n) */
        if (n > maxlen)
            maxlen = n;
    }
    if (total >= UINT32_MAX) {
        st =
            lx_fail(err, LX_ERR_INVALID, "tokenizer.ggml.tokens: %zu bytes in all, too big", total);
        goto fail;
    }
    size_t nv = sp->n_vocab;
    t->blob = malloc(total + 1);
    t->text_off = malloc(nv * sizeof *t->text_off);
    t->text_len = malloc(nv * sizeof *t->text_len);
    t->piece_off = malloc(nv * sizeof *t->piece_off);
    t->piece_len = malloc(nv * sizeof *t->piece_len);
    t->scores = calloc(nv, sizeof *t->scores);
    t->types = malloc(nv);
    t->vhash_mask = pow2_at_least(nv * 2) - 1;
    t->vhash = malloc((t->vhash_mask + 1) * sizeof *t->vhash);
    scratch = malloc(2 * maxlen + 4);
    if (!t->blob || !t->text_off || !t->text_len || !t->piece_off || !t->piece_len || !t->scores ||
        !t->types || !t->vhash || !scratch)
        goto nomem;
    memset(t->vhash, 0xFF, (t->vhash_mask + 1) * sizeof *t->vhash);
    for (int b = 0; b < 256; b++)
        t->byte_tok[b] = -1;

    size_t off = 0;
    for (size_t i = 0; i < nv; i++) {
        size_t n = sp->token_lens[i];
        memcpy(t->blob + off, sp->tokens[i], n);
        t->text_off[i] = (uint32_t)off;
        t->text_len[i] = (uint32_t)n;
        off += n;
        if (sp->scores)
            t->scores[i] = sp->scores[i];
        int32_t ty = sp->types ? sp->types[i] : LX_TOKTYPE_NORMAL;
        if (ty < 0 || ty > LX_TOKTYPE_BYTE) {
            st = lx_fail(err, LX_ERR_INVALID, "tokenizer.ggml.token_type[%zu]: bad type %d", i,
                         (int)ty);
            goto fail;
        }
        if (!sp->types && sp->kind == LX_TOKENIZER_SPM && byte_token_value(sp->tokens[i], n) >= 0)
            ty = LX_TOKTYPE_BYTE;
        t->types[i] = (uint8_t)ty;
        /* Index by text; on duplicate texts the first id wins. */
        size_t h = hash_bytes(sp->tokens[i], n) & t->vhash_mask;
        bool dup = false;
        while (t->vhash[h] >= 0) {
            int32_t o = t->vhash[h];
            if (t->text_len[o] == n && !memcmp(t->blob + t->text_off[o], sp->tokens[i], n)) {
                dup = true;
                break;
            }
            h = (h + 1) & t->vhash_mask;
        }
        if (!dup)
            t->vhash[h] = (int32_t)i;
    }
    for (size_t i = 0; i < nv; i++) {
        size_t n = make_piece(t, (int32_t)i, scratch);
        memcpy(t->blob + off, scratch, n);
        t->piece_off[i] = (uint32_t)off;
        t->piece_len[i] = (uint32_t)n;
        off += n;
    }
    t->blob[off] = 0;

    /* Byte fallback tables. */
    for (size_t i = 0; i < nv; i++) {
        if (sp->kind == LX_TOKENIZER_SPM && t->types[i] == LX_TOKTYPE_BYTE) {
            int b = byte_token_value(t->blob + t->text_off[i], t->text_len[i]);
            if (b >= 0 && t->byte_tok[b] < 0)
                t->byte_tok[b] = (int32_t)i;
        }
    }
    if (sp->kind == LX_TOKENIZER_BPE) {
        for (unsigned b = 0; b < 256; b++) {
            char u[4];
            size_t n = lx_utf8_encode(lx_tok_byte_to_cp(b), u);
            t->byte_tok[b] = lx_tok_find_mergeable(t, u, n);
        }
        if ((st = build_merges(t, sp, err)) != LX_OK)
            goto fail;
    }

    /* Special tokens for the partition step, longest first. */
    size_t ns = 0;
    for (size_t i = 0; i < nv; i++) {
        uint8_t ty = t->types[i];
        if ((ty == LX_TOKTYPE_CONTROL || ty == LX_TOKTYPE_USER_DEFINED ||
             ty == LX_TOKTYPE_UNKNOWN) &&
            t->text_len[i] > 0)
            ns++;
    }
    if (ns && !(t->specials = malloc(ns * sizeof *t->specials)))
        goto nomem;
    for (size_t i = 0; i < nv; i++) {
        uint8_t ty = t->types[i];
        if ((ty == LX_TOKTYPE_CONTROL || ty == LX_TOKTYPE_USER_DEFINED ||
             ty == LX_TOKTYPE_UNKNOWN) &&
            t->text_len[i] > 0)
            t->specials[t->n_specials++] = (int32_t)i;
    }
    if (t->n_specials > 1)
        qsort_r(t->specials, t->n_specials, sizeof *t->specials, cmp_special, t);
    if ((st = build_trie(t, err)) != LX_OK)
        goto fail;

    int32_t *ids[] = {&t->bos, &t->eos, &t->eot, &t->eom, &t->unk, &t->pad};
    const int32_t src[] = {sp->bos, sp->eos, sp->eot, sp->eom, sp->unk, sp->pad};
    for (size_t i = 0; i < 6; i++)
        *ids[i] = (src[i] >= 0 && (size_t)src[i] < nv) ? src[i] : -1;
    t->add_bos = sp->add_bos && t->bos >= 0;
    t->add_eos = sp->add_eos && t->eos >= 0;
    t->add_space_prefix = sp->kind == LX_TOKENIZER_SPM && sp->add_space_prefix;
    add_eog(t, t->eos);
    add_eog(t, t->eot);
    add_eog(t, t->eom);
    for (size_t i = 0; i < t->n_specials; i++) {
        int32_t id = t->specials[i];
        if (t->types[id] == LX_TOKTYPE_CONTROL &&
            is_eog_text(t->blob + t->text_off[id], t->text_len[id]))
            add_eog(t, id);
    }
    free(scratch);
    *out = t;
    return LX_OK;
nomem:
    st = lx_fail(err, LX_ERR_NOMEM, "tokenizer: out of memory for %zu tokens", sp->n_vocab);
fail:
    free(scratch);
    lx_tokenizer_free(t);
    return st;
}

void lx_tokenizer_free(lx_tokenizer *t)
{
    if (!t)
        return;
    free(t->blob);
    free(t->text_off);
    free(t->text_len);
    free(t->piece_off);
    free(t->piece_len);
    free(t->scores);
    free(t->types);
    free(t->vhash);
    free(t->mhash);
    free(t->specials);
    free(t->trie_key);
    free(t->trie_child);
    free(t->trie_term);
    free(t);
}

/* ---- decoding ------------------------------------------------------------- */

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

const char *lx_tokenizer_piece(const lx_tokenizer *t, int32_t id, bool special, size_t *len)
{
    if (id < 0 || (size_t)id >= t->n_vocab) {
        *len = 0;
        return NULL;
    }
    uint8_t ty = t->types[id];
    if (!special && (ty == LX_TOKTYPE_CONTROL || ty == LX_TOKTYPE_UNUSED)) {
        *len = 0;
        return "";
    }
    if (!special && ty == LX_TOKTYPE_UNKNOWN) {
        *len = 3;
        return REPLACEMENT;
    }
    *len = t->piece_len[id];
    return t->blob + t->piece_off[id];
}

void lx_detok_init(lx_detok *d, const lx_tokenizer *t, unsigned flags)
{
    memset(d, 0, sizeof *d);
    d->tok = t;
    d->flags = flags;
    d->first = true;
}

lx_status lx_detok_push(lx_detok *d, int32_t id, lx_buf *out, lx_error *err)
{
    size_t n;
    const char *p = lx_tokenizer_piece(d->tok, id, d->flags & LX_DECODE_SPECIAL, &n);
    if (!p)
        return lx_fail(err, LX_ERR_INVALID, "token id %ld out of range (vocabulary of %zu)",
                       (long)id, d->tok->n_vocab);
    if (n == 0)
        return LX_OK;
    if (d->first) {
        d->first = false;
        if ((d->flags & LX_DECODE_STRIP_SPACE) && d->tok->add_space_prefix && p[0] == ' ') {
            p++;
            n--;
        }
    }
    char stack[256];
    char *tmp = stack;
    size_t need = d->n_pend + n;
    if (need > sizeof stack && !(tmp = malloc(need)))
        return lx_fail(err, LX_ERR_NOMEM, "detokenizer: out of memory");
    memcpy(tmp, d->pend, d->n_pend);
    memcpy(tmp + d->n_pend, p, n);
    size_t hold;
    lx_status st = lx_utf8_append_valid(out, tmp, need, &hold);
    if (st == LX_OK) {
        memcpy(d->pend, tmp + need - hold, hold);
        d->n_pend = hold;
    } else {
        lx_fail(err, st, "detokenizer: output buffer full");
    }
    if (tmp != stack)
        free(tmp);
    return st;
}

lx_status lx_detok_flush(lx_detok *d, lx_buf *out, lx_error *err)
{
    if (d->n_pend == 0)
        return LX_OK;
    lx_status st = lx_utf8_append_valid(out, (const char *)d->pend, d->n_pend, NULL);
    d->n_pend = 0;
    if (st != LX_OK)
        return lx_fail(err, st, "detokenizer: output buffer full");
    return LX_OK;
}

lx_status lx_tokenizer_decode(const lx_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                              lx_buf *out, lx_error *err)
{
    lx_detok d;
    lx_detok_init(&d, t, flags);
    for (size_t i = 0; i < n; i++) {
        lx_status st = lx_detok_push(&d, ids[i], out, err);
        if (st != LX_OK)
            return st;
    }
    return lx_detok_flush(&d, out, err);
}

/* ---- accessors ------------------------------------------------------------- */

lx_tokenizer_kind lx_tokenizer_kind_of(const lx_tokenizer *t)
{
    return t->kind;
}

const char *lx_tokenizer_pre(const lx_tokenizer *t)
{
    return t->pre_name;
}

size_t lx_tokenizer_n_vocab(const lx_tokenizer *t)
{
    return t->n_vocab;
}

const char *lx_tokenizer_token_text(const lx_tokenizer *t, int32_t id, size_t *len)
{
    if (id < 0 || (size_t)id >= t->n_vocab) {
        *len = 0;
        return NULL;
    }
    return lx_tok_text(t, id, len);
}

lx_toktype lx_tokenizer_token_type(const lx_tokenizer *t, int32_t id)
{
    if (id < 0 || (size_t)id >= t->n_vocab)
        return LX_TOKTYPE_UNDEFINED;
    return (lx_toktype)t->types[id];
}

int32_t lx_tokenizer_bos(const lx_tokenizer *t)
{
    return t->bos;
}

int32_t lx_tokenizer_eos(const lx_tokenizer *t)
{
    return t->eos;
}

int32_t lx_tokenizer_eot(const lx_tokenizer *t)
{
    return t->eot;
}

bool lx_tokenizer_add_bos(const lx_tokenizer *t)
{
    return t->add_bos;
}

bool lx_tokenizer_add_eos(const lx_tokenizer *t)
{
    return t->add_eos;
}

bool lx_tokenizer_is_eog(const lx_tokenizer *t, int32_t id)
{
    for (size_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return true;
    return false;
}

/* ---- from GGUF metadata ------------------------------------------------------ */

static int32_t gguf_id(const lx_gguf *g, const char *key, int32_t dflt)
{
    int64_t v;
    if (!lx_gguf_get_i64(g, key, &v) || v < 0 || v > INT32_MAX)
        return dflt;
    return (int32_t)v;
}

static bool gguf_flag(const lx_gguf *g, const char *key, bool dflt)
{
    bool v;
    return lx_gguf_get_bool(g, key, &v) ? v : dflt;
}

/* Reads a string array into pointer/length arrays (pointing into the file). */
static lx_status gguf_strings(const lx_gguf *g, const char *key, const char ***s, size_t **l,
                              size_t *n, bool required, lx_error *err)
{
    lx_gguf_type et;
    *s = NULL;
    *l = NULL;
    *n = 0;
    if (!lx_gguf_get_arr(g, key, &et, n)) {
        if (required)
            return lx_fail(err, LX_ERR_INVALID, "%s: missing (not a tokenizer model?)", key);
        return LX_OK;
    }
    if (et != LX_GGUF_STRING)
        return lx_fail(err, LX_ERR_INVALID, "%s: expected an array of strings", key);
    if (*n == 0)
        return LX_OK;
    *s = malloc(*n * sizeof **s);
    *l = malloc(*n * sizeof **l);
    if (!*s || !*l)
        return lx_fail(err, LX_ERR_NOMEM, "%s: out of memory for %zu strings", key, *n);
    for (size_t i = 0; i < *n; i++) {
        lx_gguf_str v;
        if (!lx_gguf_arr_str(g, key, i, &v))
            return lx_fail(err, LX_ERR_INVALID, "%s[%zu]: unreadable string", key, i);
        (*s)[i] = v.p;
        (*l)[i] = v.n;
    }
    return LX_OK;
}

lx_status lx_tokenizer_new(const lx_gguf *g, lx_tokenizer **out, lx_error *err)
{
    lx_tokenizer_spec sp = {0};
    const char **tokens = NULL, **merges = NULL;
    size_t *tlens = NULL, *mlens = NULL, n_tok = 0, n_mer = 0;
    float *scores = NULL;
    int32_t *types = NULL;
    lx_status st;
    char model[32], pre[64];
    lx_gguf_str v;
    *out = NULL;

    if (!lx_gguf_get_str(g, "tokenizer.ggml.model", &v))
        return lx_fail(err, LX_ERR_INVALID, "tokenizer.ggml.model: missing (no tokenizer in file)");
    snprintf(model, sizeof model, "%.*s", (int)(v.n < 31 ? v.n : 31), v.p);
    if (!strcmp(model, "llama"))
        sp.kind = LX_TOKENIZER_SPM;
    else if (!strcmp(model, "gpt2"))
        sp.kind = LX_TOKENIZER_BPE;
    else
        return lx_fail(err, LX_ERR_UNSUPPORTED,
                       "tokenizer.ggml.model: unsupported tokenizer '%s' (supported: llama, gpt2)",
                       model);
    pre[0] = 0;
    if (lx_gguf_get_str(g, "tokenizer.ggml.pre", &v))
        snprintf(pre, sizeof pre, "%.*s", (int)(v.n < 63 ? v.n : 63), v.p);

    if ((st = gguf_strings(g, "tokenizer.ggml.tokens", &tokens, &tlens, &n_tok, true, err)))
        goto done;
    if (n_tok == 0) {
        st = lx_fail(err, LX_ERR_INVALID, "tokenizer.ggml.tokens: empty vocabulary");
        goto done;
    }
    if (sp.kind == LX_TOKENIZER_BPE &&
        (st = gguf_strings(g, "tokenizer.ggml.merges", &merges, &mlens, &n_mer, true, err)))
        goto done;

    lx_gguf_type et;
    size_t n;
    if (lx_gguf_get_arr(g, "tokenizer.ggml.scores", &et, &n)) {
        const void *p = lx_gguf_arr_data(g, "tokenizer.ggml.scores");
        if (et != LX_GGUF_F32 || n != n_tok || !p) {
            st = lx_fail(err, LX_ERR_INVALID,
                         "tokenizer.ggml.scores: expected %zu f32 values (one per token)", n_tok);
            goto done;
        }
        if (!(scores = malloc(n * sizeof *scores)))
            goto nomem;
        memcpy(scores, p, n * sizeof *scores);
    } else if (sp.kind == LX_TOKENIZER_SPM) {
        st = lx_fail(err, LX_ERR_INVALID, "tokenizer.ggml.scores: missing (needed by 'llama')");
        goto done;
    }
    if (lx_gguf_get_arr(g, "tokenizer.ggml.token_type", &et, &n)) {
        const unsigned char *p = lx_gguf_arr_data(g, "tokenizer.ggml.token_type");
        if ((et != LX_GGUF_I32 && et != LX_GGUF_U32) || n != n_tok || !p) {
            st = lx_fail(err, LX_ERR_INVALID,
                         "tokenizer.ggml.token_type: expected %zu i32 values (one per token)",
                         n_tok);
            goto done;
        }
        if (!(types = malloc(n * sizeof *types)))
            goto nomem;
        memcpy(types, p, n * sizeof *types);
    }

    bool spm = sp.kind == LX_TOKENIZER_SPM;
    sp.pre = pre[0] ? pre : NULL;
    sp.n_vocab = n_tok;
    sp.tokens = tokens;
    sp.token_lens = tlens;
    sp.scores = scores;
    sp.types = types;
    sp.n_merges = n_mer;
    sp.merges = merges;
    sp.merge_lens = mlens;
    sp.bos = gguf_id(g, "tokenizer.ggml.bos_token_id", spm ? 1 : -1);
    sp.eos = gguf_id(g, "tokenizer.ggml.eos_token_id", spm ? 2 : -1);
    sp.unk = gguf_id(g, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1);
    sp.eot = gguf_id(g, "tokenizer.ggml.eot_token_id", -1);
    sp.eom = gguf_id(g, "tokenizer.ggml.eom_token_id", -1);
    sp.pad = gguf_id(g, "tokenizer.ggml.padding_token_id", -1);
    sp.add_bos = gguf_flag(g, "tokenizer.ggml.add_bos_token", spm);
    sp.add_eos = gguf_flag(g, "tokenizer.ggml.add_eos_token", false);
    sp.add_space_prefix = gguf_flag(g, "tokenizer.ggml.add_space_prefix", spm);
    st = lx_tokenizer_new_from_spec(&sp, out, err);
    goto done;
nomem:
    st = lx_fail(err, LX_ERR_NOMEM, "tokenizer: out of memory reading %zu tokens", n_tok);
done:
    free(tokens);
    free(tlens);
    free(merges);
    free(mlens);
    free(scores);
    free(types);
    return st;
}
