/*
 * unicode.h — the little Unicode the tokenizers need.
 *
 * UTF-8 decoding that never fails (an invalid byte is reported as one
 * "character" of length 1, so byte-level tokenizers can still cover it),
 * UTF-8 validation with U+FFFD replacement of ill-formed sequences (each
 * maximal ill-formed subpart becomes one U+FFFD, as Unicode recommends),
 * and the character classes the pre-tokenizer regexes use: \p{L}, \p{N}
 * and \s (the White_Space property). Tables come from
 * scripts/gen_unicode.py (unicode_tables.h); no global mutable state.
 */
#ifndef LX_ENGINE_UNICODE_H
#define LX_ENGINE_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"

#define LX_UC_LETTER 1u
#define LX_UC_NUMBER 2u
#define LX_UC_SPACE 4u

#define LX_UTF8_BAD 0xFFFFFFFFu /* code point returned for an invalid byte */

/* Decodes the character at s[0..n) (n >= 1). Returns its code point and sets
 * *len to its byte length; for an ill-formed or truncated sequence returns
 * LX_UTF8_BAD with *len = 1. */
uint32_t lx_utf8_decode(const char *s, size_t n, size_t *len);

/* Writes the UTF-8 form of cp (<= 0x10FFFF, not a surrogate) into out;
 * returns its length (1..4), or 0 for an invalid code point. */
size_t lx_utf8_encode(uint32_t cp, char out[4]);

/* Classifies the sequence at s[0..n) (n >= 1):
 *   LX_UTF8_OK          a valid character of *len bytes;
 *   LX_UTF8_INCOMPLETE  a valid prefix of a character cut by the end of the
 *                       data (*len = n): more bytes may complete it;
 *   LX_UTF8_INVALID     ill-formed: its maximal subpart is *len bytes (>= 1)
 *                       and should be shown as one U+FFFD. */
typedef enum { LX_UTF8_OK, LX_UTF8_INCOMPLETE, LX_UTF8_INVALID } lx_utf8_state;
lx_utf8_state lx_utf8_next(const unsigned char *s, size_t n, size_t *len);

/* True when s[0..n) is entirely valid UTF-8. */
bool lx_utf8_valid(const char *s, size_t n);

/* Appends s[0..n) to out with every ill-formed subpart replaced by U+FFFD.
 * When `hold` is not NULL a trailing incomplete sequence is not written and
 * its length is stored in *hold (the caller keeps those bytes); when NULL it
 * is replaced too. LX_ERR_TOOBIG when out is full. */
lx_status lx_utf8_append_valid(lx_buf *out, const char *s, size_t n, size_t *hold);

/* Class bits (LX_UC_*) of a code point; 0 for everything else, including
 * LX_UTF8_BAD. */
unsigned lx_unicode_class(uint32_t cp);

/* Unicode version of the tables. */
const char *lx_unicode_version(void);

#endif
