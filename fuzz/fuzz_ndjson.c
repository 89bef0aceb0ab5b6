/* libFuzzer target: the NDJSON line parser (proto/ndjson.c).
 *
 * The first input byte seeds the split pattern; the rest is the stream,
 * parsed with a small line cap. It is parsed whole and in pieces (1 to 13
 * bytes); both runs must pass the same lines and end with the same status,
 * and no line passed on may contain LF or be blank, else the target traps. */
#include <stdint.h>
#include <string.h>

#include "proto/ndjson.h"

typedef struct {
    lx_buf log;
} nd_log;

static lx_status on_line(void *ud, const char *line, size_t len, lx_error *err)
{
    (void)err;
    nd_log *l = ud;
    if (memchr(line, '\n', len) || len == 0)
        __builtin_trap();
    if (line[len] != '\0' && line[len] != '\r')
        __builtin_trap(); /* the line ends where it says */
    if (lx_buf_printf(&l->log, "[%zu|", len) != LX_OK ||
        lx_buf_append(&l->log, line, len) != LX_OK || lx_buf_putc(&l->log, ']') != LX_OK)
        return LX_ERR_NOMEM;
    return len > 0 && line[0] == '!' ? LX_ERR_CANCELLED : LX_OK; /* a refusing callback */
}

static lx_status run(const char *s, size_t n, unsigned seed, nd_log *l, bool *pending)
{
    lx_ndjson_parser p;
    lx_ndjson_init(&p, 512);
    lx_buf_init(&l->log, 0);
    lx_status st = LX_OK;
    for (size_t i = 0; i < n && st == LX_OK;) {
        size_t k = n;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % 13;
        }
        if (k > n - i)
            k = n - i;
        st = lx_ndjson_feed(&p, s + i, k, on_line, l, NULL);
        i += k;
    }
    *pending = false;
    if (st == LX_OK)
        st = lx_ndjson_finish(&p, on_line, l, pending, NULL);
    lx_ndjson_free(&p);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned seed = data[0] | 1u;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    nd_log a, b;
    bool pa, pb;
    lx_status sa = run(s, n, 0, &a, &pa);
    lx_status sb = run(s, n, seed, &b, &pb);
    if (sa != sb || a.log.len != b.log.len ||
        (a.log.len && memcmp(a.log.data, b.log.data, a.log.len)))
        __builtin_trap();
    if (sa == LX_OK && pa != pb)
        __builtin_trap();
    lx_buf_free(&a.log);
    lx_buf_free(&b.log);
    return 0;
}
