/*
 * pretok.h — pre-tokenizers of the byte-level BPE families.
 *
 * Before byte-level BPE merges anything, the text is cut into words by a
 * family-specific regular expression. These are hand-written matchers with
 * the same leftmost-alternative semantics as the published expressions
 * (\p{L} letters, \p{N} numbers, \s White_Space, "other" = none of these):
 *
 *   gpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   smollm  every \p{N} is first split off alone (individual digits), then
 *           the gpt2 expression runs on the pieces in between
 *   llama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *           ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   qwen2   as llama3 with \p{N} (one digit at a time)
 *
 * Bytes that are not valid UTF-8 count as single "other" characters, so
 * every input byte lands in exactly one word.
 */
#ifndef LX_ENGINE_PRETOK_H
#define LX_ENGINE_PRETOK_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { LX_PRETOK_GPT2, LX_PRETOK_SMOLLM, LX_PRETOK_LLAMA3, LX_PRETOK_QWEN2 } lx_pretok;

/* Maps a GGUF `tokenizer.ggml.pre` value to a pre-tokenizer; false when
 * unknown. Names sharing a rule (as llama.cpp groups them): default, gpt2,
 * gpt-2, mpt, olmo, jais -> gpt2; smollm, starcoder, refact, command-r,
 * codeshell, exaone -> smollm; llama-bpe, llama3, llama-v3 -> llama3;
 * qwen2, stablelm2 -> qwen2. */
bool lx_pretok_by_name(const char *name, lx_pretok *out);
/* Comma-separated list of the accepted names, for error messages. */
const char *lx_pretok_names(void);

/* Calls fn(ud, off, len) for each word of s[0..n), in order, covering every
 * byte. Stops and returns fn's value when it is non-zero; else 0. */
typedef int (*lx_pretok_fn)(void *ud, size_t off, size_t len);
int lx_pretok_split(lx_pretok kind, const char *s, size_t n, lx_pretok_fn fn, void *ud);

#endif
