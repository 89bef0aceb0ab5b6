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
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/json.h"
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

static void put_str(lx_buf *b, const char *key, const char *v)
{
    if (!v)
        return;
    lx_buf_printf(b, ",\"%s\":", key);
    lx_json_quote(b, v, strlen(v));
}

void srv_log_request(srv_req *r)
{
    srv_server *s = r->w->srv;
    int fd = atomic_load_explicit(&s->log.fd, memory_order_relaxed);
    if (fd < 0)
        return;
    lx_buf *b = &r->w->line;
    lx_buf_reset(b);
    time_t secs = (time_t)(r->ts_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[40];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    const srv_result *res = &r->res;
    int64_t latency = (int64_t)((srv_now_ns() - r->t0_ns) / 1000000u);
    lx_buf_printf(b, "{\"ts\":\"%s.%03dZ\"", ts, (int)(r->ts_ms % 1000));
    if (r->rid[0])
        put_str(b, "id", r->rid);
    put_str(b, "key", r->key ? r->key->id : NULL);
    put_str(b, "front", r->front ? r->front->name : NULL);
    put_str(b, "method", r->method);
    put_str(b, "path", r->path);
    lx_buf_printf(b, ",\"status\":%d", r->status);
    if (r->route && r->route->kind == EP_CHAT)
        lx_buf_printf(b, ",\"stream\":%s", r->streaming ? "true" : "false");
    put_str(b, "target", res->target);
    put_str(b, "provider", res->provider);
    if (res->model[0])
        put_str(b, "model", res->model);
    if (res->have) {
        lx_buf_printf(b,
                      ",\"tokens_in\":%lld,\"tokens_out\":%lld,\"cost_usd\":%.6f,"
                      "\"ttft_ms\":%lld,\"overhead_us\":%lld",
                      (long long)lx_usage_total_input(&res->usage),
                      (long long)lx_usage_total_output(&res->usage), res->cost_usd,
                      (long long)res->ttft_ms, (long long)res->overhead_us);
    }
    lx_buf_printf(b, ",\"latency_ms\":%lld", (long long)latency);
    lx_buf_printf(b, ",\"worker\":%d", r->w->index);
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
