#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lx_buf_init(lx_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap ? cap : LX_BUF_DEFAULT_CAP;
}

void lx_buf_free(lx_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

void lx_buf_reset(lx_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static lx_status reserve(lx_buf *b, size_t extra)
{
    if (extra > b->cap || b->len > b->cap - extra)
        return LX_ERR_TOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->alloc)
        return LX_OK;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    char *p = realloc(b->data, n);
    if (!p)
        return LX_ERR_NOMEM;
    b->data = p;
    b->alloc = n;
    return LX_OK;
}

lx_status lx_buf_append(lx_buf *b, const void *p, size_t n)
{
    /* the common case: room for n bytes and the NUL, under the cap (alloc
     * is 0 before the first append, so that goes the long way) */
    if (n < b->alloc - b->len && b->len <= b->cap && n <= b->cap - b->len) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return LX_OK;
    }
    lx_status st = reserve(b, n);
    if (st != LX_OK)
        return st;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return LX_OK;
}

lx_status lx_buf_puts(lx_buf *b, const char *s)
{
    return lx_buf_append(b, s, strlen(s));
}

lx_status lx_buf_putc(lx_buf *b, char c)
{
    if (1 < b->alloc - b->len && b->len < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return LX_OK;
    }
    return lx_buf_append(b, &c, 1);
}

char *lx_buf_space(lx_buf *b, size_t n)
{
    return reserve(b, n) == LX_OK ? b->data + b->len : NULL;
}

void lx_buf_commit(lx_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

lx_status lx_buf_vprintf(lx_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return LX_ERR_INVALID;
    lx_status st = reserve(b, (size_t)n);
    if (st != LX_OK)
        return st;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return LX_OK;
}

lx_status lx_buf_printf(lx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lx_status st = lx_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return st;
}

void lx_buf_consume(lx_buf *b, size_t n)
{
    if (n >= b->len) {
        lx_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *lx_buf_steal(lx_buf *b, size_t *len)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->alloc = 0;
    return p;
}
