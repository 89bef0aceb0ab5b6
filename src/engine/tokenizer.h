/*
 * tokenizer.h — text <-> token ids for GGUF models.
 *
 * Two families, chosen by the GGUF key `tokenizer.ggml.model`:
 *
 *   "llama"  SentencePiece-style BPE. Text is normalised by replacing every
 *            space with U+2581 '▁' (and prefixing one when the model adds a
 *            space prefix, as Llama does); adjacent pieces are merged
 *            greedily by the vocabulary score of the merged piece; bytes that
 *            no piece covers become byte tokens "<0xNN>".
 *   "gpt2"   byte-level BPE. A pre-tokenizer selected by `tokenizer.ggml.pre`
 *            splits the text into words (letters, numbers, punctuation,
 *            whitespace runs, contractions — the rules differ per family);
 *            every byte of a word is mapped to a printable code point (the
 *            GPT-2 byte<->unicode table) and pairs are merged by the rank of
 *            `tokenizer.ggml.merges`.
 *
 * Special tokens are matched verbatim in the input before any splitting,
 * longest first: CONTROL and UNKNOWN tokens (e.g. "<|im_start|>", "<s>")
 * only when parse_special is set, USER_DEFINED tokens always (as llama.cpp
 * does). Plain text never merges into a CONTROL, UNKNOWN, BYTE or UNUSED
 * token.
 *
 * Ownership: an lx_tokenizer copies everything it needs out of the GGUF, so
 * the file may be closed after lx_tokenizer_new. It is immutable after
 * construction: any number of threads may encode/decode with one tokenizer.
 * Pointers it returns (token text, pieces) live until lx_tokenizer_free.
 */
#ifndef LX_ENGINE_TOKENIZER_H
#define LX_ENGINE_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"
#include "engine/gguf.h"

typedef struct lx_tokenizer lx_tokenizer;

/* GGUF token types (tokenizer.ggml.token_type). */
typedef enum {
    LX_TOKTYPE_UNDEFINED = 0,
    LX_TOKTYPE_NORMAL = 1,
    LX_TOKTYPE_UNKNOWN = 2,
    LX_TOKTYPE_CONTROL = 3,
    LX_TOKTYPE_USER_DEFINED = 4,
    LX_TOKTYPE_UNUSED = 5,
    LX_TOKTYPE_BYTE = 6,
} lx_toktype;

typedef enum { LX_TOKENIZER_SPM = 1, LX_TOKENIZER_BPE = 2 } lx_tokenizer_kind;

/* Builds a tokenizer from the `tokenizer.ggml.*` metadata of an open GGUF.
 * LX_ERR_UNSUPPORTED names the model or pre-tokenizer when unknown (and lists
 * the supported ones); LX_ERR_INVALID names the bad key otherwise. On success
 * *out is a new tokenizer the caller frees with lx_tokenizer_free. */
lx_status lx_tokenizer_new(const lx_gguf *g, lx_tokenizer **out, lx_error *err);

/* The same from plain arrays (tests, fuzzing, other file formats). Every
 * pointer is borrowed during the call only. `merges` ("a b" strings) is
 * required for BPE and ignored for SPM; scores may be NULL for BPE; types
 * may be NULL (all NORMAL, except "<0xNN>" pieces which count as BYTE for
 * SPM). Ids absent from the model are -1. */
typedef struct lx_tokenizer_spec {
    lx_tokenizer_kind kind;
    const char *pre; /* BPE pre-tokenizer name; NULL = "default" */
    size_t n_vocab;
    const char *const *tokens; /* n_vocab strings */
    const size_t *token_lens;  /* n_vocab lengths */
    const float *scores;       /* n_vocab, may be NULL */
    const int32_t *types;      /* n_vocab lx_toktype, may be NULL */
    size_t n_merges;
    const char *const *merges;
    const size_t *merge_lens;
    int32_t bos, eos, eot, eom, unk, pad; /* -1 when absent */
    bool add_bos, add_eos;
    bool add_space_prefix; /* SPM: prefix the text with one space */
} lx_tokenizer_spec;

lx_status lx_tokenizer_new_from_spec(const lx_tokenizer_spec *spec, lx_tokenizer **out,
                                     lx_error *err);

void lx_tokenizer_free(lx_tokenizer *t); /* NULL is a no-op */

/* Encodes len bytes of text (any bytes: invalid UTF-8 is tokenised byte by
 * byte through byte tokens or the unknown token, never rejected).
 * add_special: prepend BOS / append EOS as the model asks
 *              (tokenizer.ggml.add_bos_token / add_eos_token).
 * parse_special: recognise CONTROL/UNKNOWN token text in the input; when
 *              false it is tokenised as plain text (USER_DEFINED tokens
 *              are matched either way).
 * A BPE vocabulary without a token for some byte (SmolLM2 lacks a few
 * control bytes) drops that byte, as llama.cpp and Hugging Face do.
 * On success *ids is a new malloc'd array of *n ids (caller frees; non-NULL
 * even when *n is 0). */
lx_status lx_tokenizer_encode(const lx_tokenizer *t, const char *text, size_t len, bool add_special,
                              bool parse_special, int32_t **ids, size_t *n, lx_error *err);

/* Number of tokens only (same rules as encode). */
lx_status lx_tokenizer_count(const lx_tokenizer *t, const char *text, size_t len, bool add_special,
                             bool parse_special, size_t *n, lx_error *err);

/* The bytes a token stands for in decoded text: '▁' -> ' ' (SPM), the GPT-2
 * byte mapping undone (BPE), "<0xNN>" -> the byte. A piece may be an
 * incomplete UTF-8 sequence (byte tokens, split emoji): use lx_detok to
 * stream text. Control tokens give "" unless `special` is set (then their
 * text). Returns NULL for an id out of range. The pointer lives as long as
 * the tokenizer. */
const char *lx_tokenizer_piece(const lx_tokenizer *t, int32_t id, bool special, size_t *len);

/* Decode flags. */
#define LX_DECODE_SPECIAL 1u     /* render control tokens' text */
#define LX_DECODE_STRIP_SPACE 2u /* SPM: drop the leading space of the first piece */

/* Decodes ids into `out` (appended) as valid UTF-8: invalid or incomplete
 * sequences become U+FFFD. LX_ERR_INVALID names an id out of range. */
lx_status lx_tokenizer_decode(const lx_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                              lx_buf *out, lx_error *err);

/* Streaming detokenizer: push ids one at a time, get back only complete,
 * valid UTF-8. Bytes of a character split across tokens are held until the
 * character is complete; a sequence that cannot become valid is emitted as
 * U+FFFD. No allocation: a plain value, initialise with lx_detok_init. */
typedef struct lx_detok {
    const lx_tokenizer *tok;
    unsigned flags;
    bool first; /* no piece emitted yet (for LX_DECODE_STRIP_SPACE) */
    unsigned char pend[4];
    size_t n_pend;
} lx_detok;

void lx_detok_init(lx_detok *d, const lx_tokenizer *t, unsigned flags);
/* Appends the text completed by token id to out. LX_ERR_INVALID on an id
 * out of range; LX_ERR_TOOBIG when out is full. */
lx_status lx_detok_push(lx_detok *d, int32_t id, lx_buf *out, lx_error *err);
/* End of stream: held bytes that never completed become U+FFFD. */
lx_status lx_detok_flush(lx_detok *d, lx_buf *out, lx_error *err);

/* Vocabulary. */
lx_tokenizer_kind lx_tokenizer_kind_of(const lx_tokenizer *t);
const char *lx_tokenizer_pre(const lx_tokenizer *t); /* "smollm", ... ; "" for SPM */
size_t lx_tokenizer_n_vocab(const lx_tokenizer *t);
/* Vocabulary text of a token as stored (with '▁' / GPT-2 byte mapping);
 * NULL when out of range. Not NUL-terminated in general: use *len. */
const char *lx_tokenizer_token_text(const lx_tokenizer *t, int32_t id, size_t *len);
lx_toktype lx_tokenizer_token_type(const lx_tokenizer *t, int32_t id);
/* Id of the token whose vocabulary text is exactly text[0..len), or -1. */
int32_t lx_tokenizer_find(const lx_tokenizer *t, const char *text, size_t len);

/* Special ids; -1 when the model has none. */
int32_t lx_tokenizer_bos(const lx_tokenizer *t);
int32_t lx_tokenizer_eos(const lx_tokenizer *t);
int32_t lx_tokenizer_eot(const lx_tokenizer *t); /* end of turn (e.g. <|eot_id|>) */
bool lx_tokenizer_add_bos(const lx_tokenizer *t);
bool lx_tokenizer_add_eos(const lx_tokenizer *t);
/* True for tokens that end generation: EOS, EOT, EOM, and well-known
 * end-of-turn control tokens of the vocabulary (<|im_end|>, <|eot_id|>,
 * <|end|>, <end_of_turn>, <|endoftext|>). */
bool lx_tokenizer_is_eog(const lx_tokenizer *t, int32_t id);

#endif
