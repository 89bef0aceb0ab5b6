/*
 * utf8.h — UTF-8 checks and repair shared by every wire encoder.
 *
 * JSON strings must be valid UTF-8, but token pieces from a byte-level
 * tokenizer may split a character across two stream events, and model output
 * may hold invalid bytes. Encoders keep an incomplete trailing sequence in a
 * carry until the next piece of the same kind and replace invalid bytes
 * (one U+FFFD per maximal bad subpart) — or refuse input that is not model
 * output, naming the field.
 */
#ifndef LX_CORE_UTF8_H
#define LX_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"
#include "core/types.h"

typedef struct lx_utf8_carry {
    unsigned char b[4];
    size_t n;
} lx_utf8_carry;

/* Length of the sequence at s (n > 0 bytes available): > 0 valid, 0 invalid,
 * -1 a valid but incomplete prefix. Overlongs, surrogates and code points
 * above U+10FFFF are invalid. */
int lx_utf8_seq(const unsigned char *s, size_t n);
/* Writes code point cp (at most U+10FFFF, not a surrogate: the caller
 * checked) as 1-4 bytes at o; returns the end. */
char *lx_utf8_put(char *o, unsigned cp);

/* Offset of the first byte that is not valid UTF-8; n when all is valid. */
size_t lx_utf8_valid_prefix(const char *s, size_t n);

/* Replaces `out` with the valid UTF-8 of carry + s[0..n). Without `flush`,
 * an incomplete trailing sequence is kept in the carry for the next call.
 * s may point into out. */
lx_status lx_utf8_clean(lx_utf8_carry *c, const char *s, size_t n, bool flush, lx_buf *out);

/* One-shot lx_utf8_clean with flush. */
lx_status lx_utf8_lossy(const char *s, size_t n, lx_buf *out);

/* Checks that every string of a request (and `model`) is valid UTF-8,
 * except earlier model output (assistant TEXT and THINKING), which encoders
 * repair instead. LX_ERR_INVALID names the field:
 * "messages[1].parts[0].text: not valid UTF-8 at byte 7". */
lx_status lx_request_check_utf8(const lx_request *r, const char *model, lx_error *err);

/* Value of one hexadecimal digit (either case); -1 for anything else. */
int lx_hex_digit(char c);
/* Value of the four hexadecimal digits at p (a \uXXXX escape); -1 if one
 * is not a digit. */
int lx_hex4(const char *p);

#endif
