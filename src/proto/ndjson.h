/*
 * ndjson.h — newline-delimited JSON framing (Ollama streams).
 *
 * Parser: fed bytes in any split; each LF-terminated line (CR before LF is
 * dropped) that is not blank is passed to the callback; a line longer than
 * the cap is LX_ERR_TOOBIG. The callback parses the JSON itself.
 */
#ifndef LX_PROTO_NDJSON_H
#define LX_PROTO_NDJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"

typedef lx_status (*lx_ndjson_fn)(void *ud, const char *line, size_t len, lx_error *err);

typedef struct lx_ndjson_parser {
    lx_buf line;
    size_t max_line;
} lx_ndjson_parser;

#define LX_NDJSON_DEFAULT_MAX_LINE ((size_t)4 << 20)

void lx_ndjson_init(lx_ndjson_parser *p, size_t max_line); /* 0: default cap */
void lx_ndjson_free(lx_ndjson_parser *p);
lx_status lx_ndjson_feed(lx_ndjson_parser *p, const char *data, size_t len, lx_ndjson_fn fn,
                         void *ud, lx_error *err);
/* End of input: a last line without LF is passed on; *pending tells whether
 * there was one. */
lx_status lx_ndjson_finish(lx_ndjson_parser *p, lx_ndjson_fn fn, void *ud, bool *pending,
                           lx_error *err);

#endif
