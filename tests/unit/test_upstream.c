/*
 * Upstream HTTP client against an in-process libmicrohttpd server (thread per
 * connection, so handlers may sleep): plain answers, streams arriving in
 * pieces, timeouts of each kind, cancellation from inside a callback,
 * Retry-After, refused connections, keep-alive reuse.
 */
#include <criterion/criterion.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "net/loop.h"
#include "net/upstream.h"

static struct MHD_Daemon *daemon_;
static int port_;
static atomic_int connections_;
static atomic_int stream_chunks_sent_;
static atomic_int stream_aborted_;

typedef struct {
    int n, sent, delay_ms, stall_after;
} stream_state;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_state *s = cls;
    if (s->stall_after >= 0 && s->sent >= s->stall_after) {
        usleep(3000 * 1000);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (s->sent >= s->n)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->sent > 0 && s->delay_ms)
        usleep((useconds_t)s->delay_ms * 1000);
    int k = snprintf(buf, max, "chunk%d;", s->sent);
    s->sent++;
    atomic_fetch_add(&stream_chunks_sent_, 1);
    return k;
}

static void stream_free(void *cls)
{
    stream_state *s = cls;
    if (s->sent < s->n)
        atomic_fetch_add(&stream_aborted_, 1);
    free(s);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **ctx)
{
    (void)cls; (void)method; (void)version; (void)upload;
    if (*ctx == NULL) {
        *ctx = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r;
    unsigned code = 200;
    if (!strcmp(url, "/hello")) {
        r = MHD_create_response_from_buffer(5, (void *)"hello", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "text/plain");
    } else if (!strcmp(url, "/echo-auth")) {
        const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        char *copy = strdup(a ? a : "none");
        r = MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE);
    } else if (!strcmp(url, "/429")) {
        r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Retry-After", "2");
        code = 429;
    } else if (!strncmp(url, "/stream", 7) || !strcmp(url, "/stall") || !strcmp(url, "/slowfirst")) {
        stream_state *s = calloc(1, sizeof *s);
        s->n = 5;
        s->delay_ms = 100;
        s->stall_after = -1;
        if (!strcmp(url, "/stall"))
            s->stall_after = 1;
        if (!strcmp(url, "/slowfirst")) {
            s->stall_after = 0;
        }
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, stream_reader, s, stream_free);
    } else {
        r = MHD_create_response_from_buffer(9, (void *)"not found", MHD_RESPMEM_PERSISTENT);
        code = 404;
    }
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_ctx,
                        enum MHD_ConnectionNotificationCode code)
{
    (void)cls; (void)c; (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&connections_, 1);
}

static void start_server(void)
{
    daemon_ = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                   MHD_USE_ERROR_LOG,
                               0, NULL, NULL, handler, NULL, MHD_OPTION_NOTIFY_CONNECTION,
                               notify_conn, NULL, MHD_OPTION_END);
    cr_assert_not_null(daemon_);
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    port_ = i->port;
}

static void stop_server(void)
{
    MHD_stop_daemon(daemon_);
}

TestSuite(upstream, .init = start_server, .fini = stop_server, .timeout = 20);

typedef struct {
    lx_buf body;
    int status;
    int64_t retry_after;
    int bodies;
    bool done;
    lx_status st;
    lx_error err;
    uint64_t first_body_ms, done_ms, start_ms;
    uv_loop_t *loop;
    lx_http_call *call;
    bool cancel_on_first;
    int after_cancel_callbacks;
    bool cancelled;
} result;

static lx_status on_head(void *ud, const lx_http_head *h)
{
    result *r = ud;
    if (r->cancelled)
        r->after_cancel_callbacks++;
    r->status = h->status;
    r->retry_after = h->retry_after_ms;
    return LX_OK;
}

static lx_status on_body(void *ud, const char *d, size_t n)
{
    result *r = ud;
    if (r->cancelled)
        r->after_cancel_callbacks++;
    if (r->bodies++ == 0)
        r->first_body_ms = uv_now(r->loop) - r->start_ms;
    lx_buf_append(&r->body, d, n);
    if (r->cancel_on_first) {
        r->cancelled = true;
        lx_http_call_cancel(r->call);
    }
    return LX_OK;
}

static void on_done(void *ud, lx_status st, const lx_error *err)
{
    result *r = ud;
    if (r->cancelled)
        r->after_cancel_callbacks++;
    r->done = true;
    r->st = st;
    if (err)
        r->err = *err;
    r->done_ms = uv_now(r->loop) - r->start_ms;
}

static const lx_http_cbs cbs = {on_head, on_body, on_done};

static void run(lx_loop *l, const char *path, lx_timeouts t, result *r, bool cancel_first, int port)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(r, 0, sizeof *r);
    lx_buf_init(&r->body, 0);
    r->loop = &l->uv;
    r->cancel_on_first = cancel_first;
    lx_error err;
    lx_upstream *u = lx_loop_upstream(&l->uv, &err);
    cr_assert_not_null(u);
    lx_http_request req = {.method = "GET", .url = url, .headers = "Authorization: Bearer k\n",
                           .timeouts = t};
    uv_update_time(&l->uv);
    r->start_ms = uv_now(&l->uv);
    cr_assert_eq(lx_upstream_start(u, &req, &cbs, r, &r->call, &err), LX_OK, "%s", err.message);
    uv_run(&l->uv, UV_RUN_DEFAULT);
}

Test(upstream, plain_get_with_headers)
{
    lx_loop l;
    lx_loop_init(&l, NULL);
    result r;
    run(&l, "/hello", (lx_timeouts){0}, &r, false, port_);
    cr_assert(r.done);
    cr_assert_eq(r.st, LX_OK, "%s", r.err.message);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body.data, "hello");
    lx_buf_free(&r.body);
    run(&l, "/echo-auth", (lx_timeouts){0}, &r, false, port_);
    cr_assert_str_eq(r.body.data, "Bearer k");
    lx_buf_free(&r.body);
    lx_loop_close(&l);
}

Test(upstream, keep_alive_reuses_the_connection)
{
    lx_loop l;
    lx_loop_init(&l, NULL);
    int before = atomic_load(&connections_);
    result r;
    for (int i = 0; i < 3; i++) {
        run(&l, "/hello", (lx_timeouts){0}, &r, false, port_);
        cr_assert_eq(r.st, LX_OK);
        lx_buf_free(&r.body);
    }
    cr_assert_eq(atomic_load(&connections_) - before, 1, "3 requests used %d connections",
                 atomic_load(&connections_) - before);
    lx_loop_close(&l);
}

Test(upstream, stream_arrives_in_pieces_as_sent)
{
    lx_loop l;
    lx_loop_init(&l, NULL);
    result r;
    run(&l, "/stream", (lx_timeouts){.idle_ms = 2000}, &r, false, port_);
    cr_assert_eq(r.st, LX_OK, "%s", r.err.message);
    cr_assert_str_eq(r.body.data, "chunk0;chunk1;chunk2;chunk3;chunk4;");
    cr_assert_geq(r.bodies, 4, "expected the chunks separately, got %d callbacks", r.bodies);
    cr_assert_lt(r.first_body_ms + 300, r.done_ms, "first byte at %llu ms, done at %llu ms",
                 (unsigned long long)r.first_body_ms, (unsigned long long)r.done_ms);
    lx_buf_free(&r.body);
    lx_loop_close(&l);
}

Test(upstream, idle_timeout_names_itself)
{
    lx_loop l;
    lx_loop_init(&l, NULL);
    result r;
    run(&l, "/stall", (lx_timeouts){.idle_ms = 300, .first_byte_ms = 2000}, &r, false, port_);
    cr_assert_eq(r.st, LX_ERR_TIMEOUT);
    cr_assert(strstr(r.err.message, "idle timeout"), "%s", r.err.message);
    cr_assert_lt(r.done_ms, 1500);
    cr_assert_geq(r.done_ms, 300);
    lx_buf_free(&r.body);
    lx_loop_close(&l);
}

Test(upstream, first_byte_timeout_names_itself)
{
    lx_loop l;
    lx_loop_init(&l, NULL);
    result r;
    run(&l, "/slowfirst", (lx_timeouts){.first_byte_ms = 300, .idle_ms = 5000}, &r, false, port_);
    cr_assert_eq(r.st, LX_ERR_TIMEOUT);
    cr_assert(strstr(r.err.message, "first-byte"), "%s", r.err.message);
    cr_assert_lt(r.done_ms, 1500);
    lx_buf_free(&r.body);
    lx_loop_close(&l);
}

Test(upstream, total_timeout_names_itself)
{
    lx_loop l;
    lx_loop_init(&l, NULL);
    result r;
    run(&l, "/stream", (lx_timeouts){.total_ms = 250}, &r, false, port_);
    cr_assert_eq(r.st, LX_ERR_TIMEOUT);
    cr_assert(strstr(r.err.message, "total timeout"), "%s", r.err.message);
    lx_buf_free(&r.body);
    lx_loop_close(&l);
}

Test(upstream, cancel_inside_callback_stops_everything)
{
    lx_loop l;
    lx_loop_init(&l, NULL);
    int aborted = atomic_load(&stream_aborted_);
    result r;
    run(&l, "/stream", (lx_timeouts){0}, &r, true, port_);
    cr_assert_not(r.done, "on_done must not run after cancel");
    cr_assert_eq(r.bodies, 1);
    cr_assert_eq(r.after_cancel_callbacks, 0);
    lx_buf_free(&r.body);
    lx_loop_close(&l);
    /* the server notices the closed connection when it writes the next chunk */
    for (int i = 0; i < 50 && atomic_load(&stream_aborted_) == aborted; i++)
        usleep(20000);
    cr_assert_eq(atomic_load(&stream_aborted_), aborted + 1, "server did not see the abort");
}

Test(upstream, retry_after_and_status)
{
    lx_loop l;
    lx_loop_init(&l, NULL);
    result r;
    run(&l, "/429", (lx_timeouts){0}, &r, false, port_);
    cr_assert_eq(r.st, LX_OK);
    cr_assert_eq(r.status, 429);
    cr_assert_eq(r.retry_after, 2000);
    lx_buf_free(&r.body);
    lx_loop_close(&l);
}

Test(upstream, refused_connection_is_io_error)
{
    lx_loop l;
    lx_loop_init(&l, NULL);
    result r;
    run(&l, "/hello", (lx_timeouts){.connect_ms = 1000}, &r, false, 1);
    cr_assert_eq(r.st, LX_ERR_IO);
    cr_assert(strstr(r.err.message, "connect"), "%s", r.err.message);
    lx_buf_free(&r.body);
    lx_loop_close(&l);
}

Test(retry_after, parses_seconds_and_dates)
{
    cr_assert_eq(lx_parse_retry_after("3", 0), 3000);
    cr_assert_eq(lx_parse_retry_after(" ", 0), -1);
    cr_assert_eq(lx_parse_retry_after("abc", 0), -1);
    cr_assert_eq(lx_parse_retry_after("-1", 0), -1);
    /* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
    cr_assert_eq(lx_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), 10000);
    cr_assert_eq(lx_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0);
}
