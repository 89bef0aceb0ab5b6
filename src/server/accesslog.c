/*
 * accesslog.c — one JSON object per line per request, to server.access_log.
 *
 *   {"ts":"2026-11-24T02:30:00.123Z","id":"5f1c9a2e00000001","key":"team-a","front":"openai",
 *    "method":"POST","path":"/v1/chat/completions","status":200,
 *    "stream":true,"target":"cloud","provider":"openai","model":"gpt-4o-mini",
 *    "tokens_in":12,"tokens_out":40,"cost_usd":0.000026,"latency_ms":812,
 *    "ttft_ms":230,"overhead_us":41,"error":"..."}
 *
 * Never the key, never prompt text unless server.log_prompts ("prompt":
 * the last user text, at most 511 bytes). Each line is one write(2) on an
 * O_APPEND descriptor, so lines from several workers never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/json.h"
#include "server/metrics.h"
#include "server/server_int.h"

lx_status srv_log_open(srv_log *l, const char *spec, lx_error *err)
{
    int fd;
    if (!spec || !strcmp(spec, "off"))
        fd = -1;
    else if (!strcmp(spec, "-"))
        fd = 2;
    else {
        fd = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
            return lx_fail(err, LX_ERR_IO, "server.access_log: cannot open %s: %s", spec,
                           strerror(errno));
    }
    int old = atomic_exchange(&l->fd, fd);
    if (old > 2) {
        /* a worker may have loaded the old descriptor just now and still be
         * writing: keep the last few open, close one replaced long ago */
        int cap = (int)(sizeof l->old_fds / sizeof l->old_fds[0]);
        if (l->n_old == cap) {
            close(l->old_fds[0]);
            memmove(l->old_fds, l->old_fds + 1, (size_t)(cap - 1) * sizeof l->old_fds[0]);
            l->n_old--;
        }
        l->old_fds[l->n_old++] = old;
    }
    lx_strlcpy(l->path, spec ? spec : "off", sizeof l->path);
    return LX_OK;
}

void srv_log_close(srv_log *l)
{
    int fd = atomic_exchange(&l->fd, -1);
    if (fd > 2)
        close(fd);
    for (int i = 0; i < l->n_old; i++)
        close(l->old_fds[i]);
    l->n_old = 0;
}

/* The line is put together with plain appends (no printf): it is written
 * for every request. Same bytes as the printf formats it replaced. */

static void put_lit(lx_buf *b, const char *lit, size_t n)
{
    lx_buf_append(b, lit, n);
}
#define PUT_LIT(b, lit) put_lit((b), (lit), sizeof(lit) - 1)

/* ,"key": then v as a JSON string; nothing for NULL */
static void put_str(lx_buf *b, const char *key, const char *v)
{
    if (!v)
        return;
    char tmp[40];
    size_t kl = strlen(key), n = 0;
    if (kl + 4 > sizeof tmp) {
        lx_buf_printf(b, ",\"%s\":", key);
    } else {
        tmp[n++] = ',';
        tmp[n++] = '"';
        memcpy(tmp + n, key, kl);
        n += kl;
        tmp[n++] = '"';
        tmp[n++] = ':';
        lx_buf_append(b, tmp, n);
    }
    lx_json_quote(b, v, strlen(v));
}

/* %lld */
static void put_i64(lx_buf *b, int64_t v)
{
    char tmp[24];
    size_t n = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--n] = '-';
    lx_buf_append(b, tmp + n, sizeof tmp - n);
}

/* "2026-11-24T02:30:00" for a unix second; the last one is kept per thread
 * (gmtime_r and strftime once a second, not once a request). */
static const char *ts_text(time_t secs)
{
    static _Thread_local time_t last = (time_t)-1;
    static _Thread_local char text[40];
    if (secs != last || !text[0]) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
        last = secs;
    }
    return text;
}

void srv_log_request(srv_req *r)
{
    srv_server *s = r->w->srv;
    int fd = atomic_load_explicit(&s->log.fd, memory_order_relaxed);
    if (fd < 0)
        return;
    lx_buf *b = &r->w->line;
    lx_buf_reset(b);
    const char *ts = ts_text((time_t)(r->ts_ms / 1000));
    const srv_result *res = &r->res;
    int64_t latency = (int64_t)((srv_now_ns() - r->t0_ns) / 1000000u);
    int ms = (int)(r->ts_ms % 1000);
    PUT_LIT(b, "{\"ts\":\"");
    lx_buf_puts(b, ts);
    if (ms >= 0 && ms < 1000) {
        char t[6] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
                     (char)('0' + ms % 10), 'Z', '"'};
        lx_buf_append(b, t, sizeof t);
    } else {
        lx_buf_printf(b, ".%03dZ\"", ms);
    }
    if (r->rid[0])
        put_str(b, "id", r->rid);
    put_str(b, "key", r->key ? r->key->id : NULL);
    put_str(b, "front", r->front ? r->front->name : NULL);
    put_str(b, "method", r->method);
    put_str(b, "path", r->path);
    PUT_LIT(b, ",\"status\":");
    put_i64(b, r->status);
    if (r->route && r->route->kind == EP_CHAT) {
        if (r->streaming)
            PUT_LIT(b, ",\"stream\":true");
        else
            PUT_LIT(b, ",\"stream\":false");
    }
    put_str(b, "target", res->target);
    put_str(b, "provider", res->provider);
    if (res->model[0])
        put_str(b, "model", res->model);
    if (res->have) {
        PUT_LIT(b, ",\"tokens_in\":");
        put_i64(b, lx_usage_total_input(&res->usage));
        PUT_LIT(b, ",\"tokens_out\":");
        put_i64(b, lx_usage_total_output(&res->usage));
        PUT_LIT(b, ",\"cost_usd\":");
        lx_metrics_put_fixed6(b, res->cost_usd);
        PUT_LIT(b, ",\"ttft_ms\":");
        put_i64(b, res->ttft_ms);
        PUT_LIT(b, ",\"overhead_us\":");
        put_i64(b, res->overhead_us);
    }
    PUT_LIT(b, ",\"latency_ms\":");
    put_i64(b, latency);
    PUT_LIT(b, ",\"worker\":");
    put_i64(b, r->w->index);
    if (res->reason[0] && res->have)
        put_str(b, "reason", res->reason);
    if (res->error[0])
        put_str(b, "error", res->error);
    if (r->prompt[0] && r->gen->b->cfg->server.log_prompts)
        put_str(b, "prompt", r->prompt);
    lx_buf_puts(b, "}\n");
    if (b->data) {
        ssize_t n = write(fd, b->data, b->len);
        (void)n;
    }
}
