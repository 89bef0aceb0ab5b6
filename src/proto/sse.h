/*
 * sse.h — Server-Sent Events framing (WHATWG "event stream" format).
 *
 * Parser: fed bytes in any split; lines end in LF, CRLF or CR; a leading
 * UTF-8 BOM is skipped; lines starting with ':' are comments; "data:" lines
 * of one event are joined with LF (the BOM may arrive split over several
 * feeds); an empty line dispatches the event (events
 * with no data line are dropped, as the spec says). One space after the colon
 * is removed. Each event's size is capped; a bigger one is LX_ERR_TOOBIG.
 *
 * Writer: formats one event, splitting data on LF into several data: lines.
 */
#ifndef LX_PROTO_SSE_H
#define LX_PROTO_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"

typedef struct lx_sse_event {
    const char *event; /* "" when no event: field (borrowed) */
    const char *data;  /* joined data lines, NUL-terminated (borrowed) */
    size_t data_len;
} lx_sse_event;

/* Called per dispatched event; a non-OK return stops the parser and is
 * returned from lx_sse_feed. */
typedef lx_status (*lx_sse_fn)(void *ud, const lx_sse_event *ev, lx_error *err);

typedef struct lx_sse_parser {
    lx_buf line, data, event;
    bool have_data;
    bool saw_cr;   /* last byte was CR: a following LF belongs to it */
    bool started;  /* BOM check done */
    unsigned char bom; /* bytes of a leading BOM matched so far (split feeds) */
    size_t max_event;
} lx_sse_parser;

#define LX_SSE_DEFAULT_MAX_EVENT ((size_t)4 << 20)

void lx_sse_init(lx_sse_parser *p, size_t max_event); /* 0: default cap */
void lx_sse_free(lx_sse_parser *p);
lx_status lx_sse_feed(lx_sse_parser *p, const char *data, size_t len, lx_sse_fn fn, void *ud,
                      lx_error *err);
/* End of input: an unterminated last event is dispatched if it has data
 * (lenient: some servers omit the final blank line). *pending tells whether
 * a partial line or event was cut off. */
lx_status lx_sse_finish(lx_sse_parser *p, lx_sse_fn fn, void *ud, bool *pending, lx_error *err);

/* Appends "event: NAME\n" (when name is not NULL) + data lines + "\n". */
lx_status lx_sse_write(lx_buf *out, const char *name, const char *data, size_t len);

#endif
