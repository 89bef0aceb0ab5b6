/*
 * json.h — small helpers over jansson shared by the codecs.
 *
 * Parsing reports "invalid JSON at line L, column C: reason". Field readers
 * name the field in their errors ("messages[2].content: expected string").
 * Returned json_t values follow jansson's rules: lx_json_parse returns a new
 * reference the caller must json_decref; getters return borrowed ones.
 */
#ifndef LX_PROTO_JSON_H
#define LX_PROTO_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/status.h"

/* Parses len bytes; only objects are accepted when want_object. */
lx_status lx_json_parse(const char *s, size_t len, bool want_object, json_t **out, lx_error *err);

/* Compact serialisation appended to out (keys in insertion order). */
lx_status lx_json_dump(const json_t *v, lx_buf *out);
/* Compact serialisation into the arena; NULL on out of memory. */
char *lx_json_dump_arena(lx_arena *a, const json_t *v);

/* Optional string field: LX_OK with *out NULL when absent or null;
 * LX_ERR_INVALID naming `ctx.key` when present with another type. The string
 * is copied into the arena. */
lx_status lx_json_opt_str(lx_arena *a, const json_t *obj, const char *key, const char *ctx,
                          char **out, lx_error *err);
/* Optional integer / number / bool fields; *has tells whether present. */
lx_status lx_json_opt_int(const json_t *obj, const char *key, const char *ctx, int64_t *out,
                          bool *has, lx_error *err);
lx_status lx_json_opt_num(const json_t *obj, const char *key, const char *ctx, double *out,
                          bool *has, lx_error *err);
lx_status lx_json_opt_bool(const json_t *obj, const char *key, const char *ctx, bool *out,
                           bool *has, lx_error *err);

/* Parses JSON text that must be an object (tool arguments, schemas); empty
 * or NULL text gives an empty object. New reference, or NULL with err. */
json_t *lx_json_object_from_text(const char *text, const char *ctx, lx_error *err);

/* Appends a JSON string literal (quoted, escaped like jansson's compact
 * dump) for n bytes of UTF-8; an invalid byte becomes U+FFFD. */
lx_status lx_json_quote(lx_buf *out, const char *s, size_t n);
/* The same, but a byte that is not valid UTF-8 (jansson would refuse the
 * string) stops it with LX_ERR_INVALID, out then partly written. */
lx_status lx_json_quote_strict(lx_buf *out, const char *s, size_t n);
/* Writes s[0..n), which must be valid UTF-8, JSON-quoted as lx_json_quote
 * does, at w, which has room for 6 * n + 2 bytes; returns the end. For
 * writers that reserved their output already (the stream encoder). */
char *lx_json_quote_valid(char *w, const char *s, size_t n);

#endif
