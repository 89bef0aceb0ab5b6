/*
 * buf.h — growable byte buffer with a hard cap.
 *
 * An lx_buf owns its storage (heap). It always keeps a NUL byte after the
 * last data byte, so `data` can be used as a C string when the content has
 * no NUL. Appends past `cap` fail with LX_ERR_TOOBIG and leave the buffer
 * unchanged; the result of every append must be checked.
 *
 *     lx_buf b;
 *     lx_buf_init(&b, 1 << 20);          // at most 1 MiB
 *     if (lx_buf_append(&b, p, n) != LX_OK) goto fail;
 *     ...
 *     lx_buf_free(&b);
 */
#ifndef LX_CORE_BUF_H
#define LX_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/status.h"

typedef struct lx_buf {
    char *data;   /* NULL until the first append; else NUL-terminated */
    size_t len;
    size_t alloc;
    size_t cap;   /* maximum len; 0 means the default cap (64 MiB) */
} lx_buf;

#define LX_BUF_DEFAULT_CAP ((size_t)64 << 20)

void lx_buf_init(lx_buf *b, size_t cap);
void lx_buf_free(lx_buf *b);
/* Empties the buffer but keeps its storage. */
void lx_buf_reset(lx_buf *b);

lx_status lx_buf_append(lx_buf *b, const void *p, size_t n);
lx_status lx_buf_puts(lx_buf *b, const char *s);
lx_status lx_buf_putc(lx_buf *b, char c);
lx_status lx_buf_printf(lx_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
lx_status lx_buf_vprintf(lx_buf *b, const char *fmt, va_list ap);

/* For writers that fill the buffer themselves: makes room for n more bytes
 * (and the NUL) under the cap and returns where they go, or NULL (too big
 * for the cap, or out of memory; the buffer is unchanged). Then
 * lx_buf_commit(b, k), k <= n, adds the k bytes written there. */
char *lx_buf_space(lx_buf *b, size_t n);
void lx_buf_commit(lx_buf *b, size_t n);
/* Drops the first n bytes (n <= len), moving the rest to the front. */
void lx_buf_consume(lx_buf *b, size_t n);

/* Hands the storage to the caller (free() it); the buffer becomes empty.
 * Returns an empty heap string for an empty buffer; NULL on out of memory. */
char *lx_buf_steal(lx_buf *b, size_t *len);

#endif
