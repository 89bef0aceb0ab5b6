/*
 * tokenizer_int.h — internals shared by tokenizer.c (construction,
 * decoding, accessors) and tokenizer_encode.c (encoding). Not a public
 * contract: only the tokenizer's own files include it.
 */
#ifndef LX_ENGINE_TOKENIZER_INT_H
#define LX_ENGINE_TOKENIZER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/pretok.h"
#include "engine/tokenizer.h"

#define MAX_VOCAB (1u << 24)
#define MAX_TOKEN_LEN 65536

typedef struct lx_tok_merge {
    uint64_t key; /* (left id + 1) << 32 | (right id + 1); 0 = empty */
    int32_t rank;
    int32_t id;
} lx_tok_merge;

struct lx_tokenizer {
    lx_tokenizer_kind kind;
    lx_pretok pretok;
    char pre_name[32];
    size_t n_vocab;
    char *blob; /* token texts, then pieces */
    uint32_t *text_off, *text_len;
    uint32_t *piece_off, *piece_len;
    float *scores;
    uint8_t *types;
    int32_t *vhash; /* text -> id, -1 empty */
    size_t vhash_mask;
    lx_tok_merge *mhash;
    size_t mhash_mask;
    int32_t byte_tok[256]; /* SPM: <0xNN>; BPE: the token of byte b's code point */
    int32_t *specials;     /* special token ids, longest text first */
    size_t n_specials;
    /* Byte trie over the specials' texts, for finding every occurrence in
     * one pass: edge (node << 8 | byte) -> child in an open-addressing
     * table; term[node] = rank in `specials` of the token ending there, or
     * -1. Node 0 is the root. */
    uint64_t *trie_key; /* 0 = empty slot; else (node << 8 | byte) + 1 */
    uint32_t *trie_child;
    size_t trie_mask;
    int32_t *trie_term;
    size_t trie_nodes;
    uint64_t trie_first[4]; /* bytes that start a special token */
    int32_t eog[16];
    size_t n_eog;
    int32_t bos, eos, eot, eom, unk, pad;
    bool add_bos, add_eos, add_space_prefix, ignore_merges;
};

/* Vocabulary text of id (in range). */
const char *lx_tok_text(const lx_tokenizer *t, int32_t id, size_t *len);
/* Id of the token with text s[0..n) when plain text may become it (NORMAL,
 * USER_DEFINED or UNDEFINED), else -1. */
int32_t lx_tok_find_mergeable(const lx_tokenizer *t, const char *s, size_t n);
/* The merge of the pair (l, r), or NULL. */
const lx_tok_merge *lx_tok_merge_find(const lx_tokenizer *t, int32_t l, int32_t r);
/* Child of trie node `node` along byte b, or 0 when none. */
uint32_t lx_tok_trie_step(const lx_tokenizer *t, uint32_t node, unsigned char b);
/* GPT-2's byte -> code point map. */
uint32_t lx_tok_byte_to_cp(unsigned b);

#endif
