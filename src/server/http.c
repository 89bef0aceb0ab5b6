/*
 * http.c — one worker's libmicrohttpd daemon, driven by its libuv loop.
 *
 * MHD runs in external-epoll mode (MHD_USE_EPOLL, no MHD threads): its
 * epoll fd is watched with a uv_poll and MHD_run runs when it is readable;
 * a uv timer follows MHD_get_timeout and doubles as the "kick" that runs
 * MHD on the next loop turn after a suspended connection was resumed (MHD
 * only picks resumed connections up inside MHD_run).
 *
 * A request's life (MHD calls the access handler several times):
 *   1. headers in: a srv_req is taken from the worker's pool, the route is
 *      found, early refusals are answered at once (auth, limits, oversized
 *      Content-Length) without reading the body;
 *   2. body chunks are appended to r->body up to server.max_body (413);
 *   3. body complete: srv_handle answers at once or starts a job and the
 *      connection is suspended; the dispatcher's events fill r->out (or the
 *      collector) and resume it; MHD calls the handler again and the
 *      prepared response is queued;
 *   4. streamed replies are a content-reader response: the reader hands
 *      MHD what is in r->out, and when that is empty and the stream is not
 *      over it suspends the connection until the next event;
 *   5. MHD_OPTION_NOTIFY_COMPLETED: cancel a job still running (the client
 *      went away), write the access log line, return r to the pool.
 *
 * Slow clients: every connection carries a deadline by which its next
 * request must have arrived whole (server.header_timeout_ms, counted from
 * accept or from the end of the previous response); a tick timer shuts
 * overdue sockets down, which MHD then sees as a closed connection.
 *
 * Disconnects: MHD does not watch a suspended connection's socket, so while
 * a request runs its socket is also watched here with a uv_poll for
 * UV_DISCONNECT (EPOLLRDHUP / HUP / ERR); a hang-up cancels the job at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "net/upstream.h"
#include "server/server_int.h"

#define REQ_POOL_MAX 256
#define CONN_POOL_MAX 256
#define BODY_KEEP (64 * 1024) /* body / out storage kept across requests */
#define STREAM_BLOCK 4096

uint64_t srv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t srv_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t loop_ms(srv_worker *w)
{
    return uv_now(&w->loop.uv);
}

static int64_t header_timeout(srv_worker *w)
{
    return w->gen ? w->gen->b->cfg->server.header_timeout_ms : 10000;
}

/* ---- running MHD ---------------------------------------------------------- */

static void on_mhd_timer(uv_timer_t *t);

static void run_mhd(srv_worker *w)
{
    if (!w->mhd || w->in_mhd_run)
        return;
    w->kick_pending = false;
    w->in_mhd_run = true;
    MHD_run(w->mhd);
    w->in_mhd_run = false;
    if (!w->mhd)
        return;
    MHD_UNSIGNED_LONG_LONG to = 0;
    if (w->kick_pending)
        uv_timer_start(&w->mhd_timer, on_mhd_timer, 0, 0);
    else if (MHD_get_timeout(w->mhd, &to) == MHD_YES)
        uv_timer_start(&w->mhd_timer, on_mhd_timer, to, 0);
    else
        uv_timer_stop(&w->mhd_timer);
}

static void on_mhd_timer(uv_timer_t *t)
{
    run_mhd(t->data);
}

static void on_mhd_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    run_mhd(p->data);
}

static void on_mhd_check(uv_check_t *c)
{
    srv_worker *w = c->data;
    uv_check_stop(c);
    if (w->kick_pending)
        run_mhd(w);
}

/* A kick (a resumed connection, new output) runs MHD in the check phase of
 * this loop turn, right after the I/O callbacks that caused it, instead of
 * a loop turn later; the 0-ms timer stays as well, so that the poll of this
 * turn does not block when the kick came from a timer callback. */
void srv_worker_kick(srv_worker *w)
{
    w->kick_pending = true;
    if (!w->in_mhd_run && w->handles_open) {
        uv_timer_start(&w->mhd_timer, on_mhd_timer, 0, 0);
        uv_check_start(&w->mhd_check, on_mhd_check);
    }
}

/* ---- requests: pool --------------------------------------------------------- */

static srv_req *req_get(srv_worker *w)
{
    srv_req *r = w->free_reqs;
    if (r) {
        w->free_reqs = r->next_free;
        w->n_free_reqs--;
        lx_buf body = r->body, out = r->out;
        memset(r, 0, sizeof *r);
        r->body = body;
        r->out = out;
    } else {
        r = calloc(1, sizeof *r);
        if (!r)
            return NULL;
        lx_buf_init(&r->body, 0);
        lx_buf_init(&r->out, 0);
    }
    r->w = w;
    r->key_index = -1;
    r->status = 0;
    return r;
}

static void req_put(srv_worker *w, srv_req *r)
{
    if (r->lreq)
        lx_request_free(r->lreq);
    if (r->enc)
        r->enc->free(r->enc);
    if (r->col_init)
        lx_collector_free(&r->col);
    if (r->resp)
        MHD_destroy_response(r->resp);
    r->lreq = NULL;
    r->enc = NULL;
    r->col_init = false;
    r->resp = NULL;
    if (w->n_free_reqs >= REQ_POOL_MAX) {
        lx_buf_free(&r->body);
        lx_buf_free(&r->out);
        free(r);
        return;
    }
    if (r->body.alloc > BODY_KEEP)
        lx_buf_free(&r->body);
    else
        lx_buf_reset(&r->body);
    if (r->out.alloc > BODY_KEEP)
        lx_buf_free(&r->out);
    else
        lx_buf_reset(&r->out);
    r->next_free = w->free_reqs;
    w->free_reqs = r;
    w->n_free_reqs++;
}

/* ---- responses -------------------------------------------------------------- */

/* Header values: printable ASCII only (no CR/LF can reach the wire). */
static void add_header(struct MHD_Response *resp, const char *name, const char *value)
{
    char v[256];
    size_t i = 0;
    for (; value[i] && i + 1 < sizeof v; i++) {
        unsigned char ch = (unsigned char)value[i];
        v[i] = (ch < 0x20 || ch > 0x7e) ? '?' : (char)ch;
    }
    v[i] = '\0';
    MHD_add_response_header(resp, name, v);
}

static void add_common_headers(srv_req *r, struct MHD_Response *resp)
{
    const srv_result *res = &r->res;
    if (r->rid[0])
        MHD_add_response_header(resp, "x-request-id", r->rid);
    if (res->target)
        add_header(resp, "x-llmux-target", res->target);
    if (res->provider)
        add_header(resp, "x-llmux-provider", res->provider);
    if (res->model[0])
        add_header(resp, "x-llmux-model", res->model);
    if (res->reason[0])
        add_header(resp, "x-llmux-reason", res->reason);
    if (atomic_load_explicit(&r->w->srv->draining, memory_order_relaxed))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    srv_add_cors(r, resp);
}

void srv_add_cors(srv_req *r, struct MHD_Response *resp)
{
    if (!r->cors_origin)
        return;
    add_header(resp, "Access-Control-Allow-Origin", r->cors_origin);
    MHD_add_response_header(resp, "Vary", "Origin");
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            "x-llmux-target, x-llmux-provider, x-llmux-model, x-llmux-reason, "
                            "retry-after");
}

static void set_response(srv_req *r, struct MHD_Response *resp, int status)
{
    if (r->resp)
        MHD_destroy_response(r->resp);
    r->resp = resp;
    r->status = status;
    if (r->suspended)
        srv_req_wake(r);
}

void srv_respond(srv_req *r, int status, const char *ctype, const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (!resp) {
        r->cancelled = true; /* out of memory: drop the connection */
        if (r->suspended)
            srv_req_wake(r);
        return;
    }
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    add_common_headers(r, resp);
    set_response(r, resp, status);
}

void srv_respond_error(srv_req *r, int status, const lx_error *e)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    int suggested = 0;
    const lx_codec *codec = r->front ? r->front->codec : &lx_codec_openai;
    if (codec->error_encode(e, &suggested, &b) != LX_OK || !b.data) {
        lx_buf_reset(&b);
        lx_buf_printf(&b, "{\"error\":{\"message\":\"internal error\"}}");
    }
    if (status <= 0)
        status = lx_error_http_status(e);
    if (!r->res.reason[0] && e->message[0])
        lx_strlcpy(r->res.reason, e->message, sizeof r->res.reason);
    lx_strlcpy(r->res.error, e->message, sizeof r->res.error);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(b.len, b.data ? b.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    lx_buf_free(&b);
    if (!resp) {
        r->cancelled = true;
        if (r->suspended)
            srv_req_wake(r);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == 429 || status == 503) {
        int64_t s = e->retry_after_ms > 0 ? (e->retry_after_ms + 999) / 1000 : 1;
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (status == 401 && r->front == &srv_front_anthropic)
        MHD_add_response_header(resp, "x-should-retry", "false");
    add_common_headers(r, resp);
    set_response(r, resp, status);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    srv_req *r = cls;
    if (r->cancelled)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t avail = r->out.len - r->out_off;
    if (avail) {
        size_t n = avail < max ? avail : max;
        memcpy(buf, r->out.data + r->out_off, n);
        r->out_off += n;
        if (r->out_off == r->out.len) {
            lx_buf_reset(&r->out);
            r->out_off = 0;
        }
        return (ssize_t)n;
    }
    if (r->done)
        return MHD_CONTENT_READER_END_OF_STREAM;
    srv_req_suspend(r);
    return 0;
}

void srv_respond_stream(srv_req *r, const char *ctype)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader, r, NULL);
    if (!resp) {
        r->cancelled = true;
        if (r->suspended)
            srv_req_wake(r);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    add_common_headers(r, resp);
    set_response(r, resp, 200);
}

void srv_req_suspend(srv_req *r)
{
    if (r->suspended)
        return;
    MHD_suspend_connection(r->c);
    r->suspended = true;
}

void srv_req_wake(srv_req *r)
{
    if (!r->suspended)
        return;
    r->suspended = false;
    MHD_resume_connection(r->c);
    srv_worker_kick(r->w);
}

/* ---- client-disconnect watch ------------------------------------------------- */

void srv_req_cancel_work(srv_req *r, const char *why)
{
    bool any = false;
    if (r->job) {
        lx_job *j = r->job;
        r->job = NULL;
        srv_observe_cancel(r, lx_job_outcome(j));
        lx_job_cancel(j);
        any = true;
    }
    if (r->call) {
        lx_http_call *c = r->call;
        r->call = NULL;
        lx_http_call_cancel(c);
        any = true;
    }
    if (any && why && !r->res.error[0])
        lx_strlcpy(r->res.error, why, sizeof r->res.error);
}

static void on_disconnect(uv_poll_t *p, int status, int events)
{
    srv_conn *conn = p->data;
    (void)events;
    (void)status;
    uv_poll_stop(p); /* level-triggered: a hang-up would fire again */
    conn->poll_active = false;
    conn->hup = true;
    srv_req *r = conn->req;
    if (!r || r->done || r->cancelled)
        return;
    /* a hang-up: the job stops now, MHD closes the connection */
    srv_req_cancel_work(r, "client disconnected");
    r->cancelled = true;
    if (r->suspended)
        srv_req_wake(r);
    else
        srv_worker_kick(r->w);
}

/* The watch starts with the connection's first dispatched request and stays
 * on until the connection closes (UV_DISCONNECT only fires on a hang-up), so
 * keep-alive requests cost no epoll_ctl calls for it. */
void srv_req_watch(srv_req *r, bool on)
{
    srv_conn *conn = r->conn;
    if (!conn || conn->closing)
        return;
    if (on) {
        if (conn->poll_active || conn->hup)
            return;
        if (!conn->poll_init) {
            if (uv_poll_init(&r->w->loop.uv, &conn->poll, conn->fd) != 0)
                return;
            conn->poll.data = conn;
            conn->poll_init = true;
        }
        if (uv_poll_start(&conn->poll, UV_DISCONNECT, on_disconnect) == 0)
            conn->poll_active = true;
    } else if (conn->poll_active) {
        uv_poll_stop(&conn->poll);
        conn->poll_active = false;
    }
}

/* ---- MHD callbacks ------------------------------------------------------------ */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    srv_req *r = cls;
    if (!key || !value || r->n_hdrs >= SRV_MAX_HEADERS)
        return MHD_YES;
    size_t kl = strlen(key), vl = strlen(value);
    if (r->hbuf_len + kl + vl + 2 > sizeof r->hbuf)
        return MHD_YES;
    char *k = r->hbuf + r->hbuf_len;
    for (size_t i = 0; i < kl; i++)
        k[i] = (key[i] >= 'A' && key[i] <= 'Z') ? (char)(key[i] + 32) : key[i];
    k[kl] = '\0';
    /* credentials never travel further than the key check */
    if (!strcmp(k, "authorization") || !strcmp(k, "x-api-key") || !strcmp(k, "x-goog-api-key") ||
        !strcmp(k, "cookie"))
        return MHD_YES;
    char *v = k + kl + 1;
    memcpy(v, value, vl + 1);
    r->hbuf_len += kl + vl + 2;
    r->hdrs[r->n_hdrs].name = k;
    r->hdrs[r->n_hdrs].value = v;
    r->n_hdrs++;
    return MHD_YES;
}

/* x-request-id: the caller's (printable ASCII, at most 64 bytes), else one
 * made here from the worker's seed and a counter. */
static void set_request_id(srv_worker *w, srv_req *r)
{
    const char *v = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "x-request-id");
    size_t n = 0;
    if (v) {
        for (; v[n] && n < sizeof r->rid - 1; n++) {
            unsigned char ch = (unsigned char)v[n];
            if (ch <= 0x20 || ch > 0x7e || ch == '"' || ch == '\\')
                break;
        }
        if (n && !v[n]) {
            memcpy(r->rid, v, n);
            r->rid[n] = '\0';
            return;
        }
    }
    snprintf(r->rid, sizeof r->rid, "%08x%02x%06llx", w->rid_seed, (unsigned)w->index & 0xff,
             (unsigned long long)(++w->rid_counter & 0xffffff));
}

static enum MHD_Result queue_ready(srv_req *r)
{
    struct MHD_Response *resp = r->resp;
    r->resp = NULL;
    r->responded = true;
    enum MHD_Result ok = MHD_queue_response(r->c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    srv_worker *w = cls;
    srv_req *r = *con_cls;
    if (!r) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        srv_conn *conn = ci ? ci->socket_context : NULL;
        r = req_get(w);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->c = c;
        r->conn = conn;
        if (conn)
            conn->req = r;
        r->t0_ns = srv_now_ns();
        r->ts_ms = srv_wall_ms();
        r->method = method;
        lx_strlcpy(r->path, url ? url : "", sizeof r->path);
        r->gen = w->gen;
        r->gen->active++;
        w->active_reqs++;
        atomic_fetch_add(&w->srv->active_total, 1);
        MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, r);
        set_request_id(w, r);
        r->first_done = true;
        if (srv_precheck(r) && r->resp)
            return queue_ready(r);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big) {
            /* past the cap: read on (bounded) so the client gets its 413,
             * then hang up on a body that does not end */
            r->discarded += n;
            return r->discarded > (size_t)1 << 20 ? MHD_NO : MHD_YES;
        }
        if (r->responded)
            return MHD_YES;
        if (lx_buf_append(&r->body, upload_data, n) != LX_OK) {
            r->too_big = true;
            r->discarded = n;
            lx_buf_free(&r->body);
            lx_buf_init(&r->body, 0);
        }
        return MHD_YES;
    }
    if (r->too_big && !r->responded && !r->resp) {
        lx_error e = {0};
        lx_fail(&e, LX_ERR_TOOBIG, "request body larger than server.max_body (%lld bytes)",
                (long long)r->gen->b->cfg->server.max_body);
        srv_respond_error(r, 413, &e);
        if (r->conn)
            r->conn->deadline_ms = 0;
        return queue_ready(r);
    }
    /* the body is complete (or this is a call after a resume) */
    if (r->cancelled)
        return MHD_NO;
    if (r->resp)
        return queue_ready(r);
    if (r->responded)
        return MHD_YES;
    if (!r->dispatched) {
        if (r->conn)
            r->conn->deadline_ms = 0;
        r->dispatched = true;
        srv_handle(r);
        if (r->cancelled)
            return MHD_NO;
        if (r->resp)
            return queue_ready(r);
    }
    srv_req_suspend(r);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    srv_worker *w = cls;
    srv_req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    srv_req_cancel_work(r, "client disconnected");
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        if (!r->dispatched && r->conn && r->conn->deadline_ms == 0 && !r->status)
            r->status = 408;
        if (!r->done || !r->responded) {
            if (!r->status || (r->status == 200 && !r->done))
                r->status = 499;
            if (!r->res.error[0])
                lx_strlcpy(r->res.error,
                           toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
                                                                         : "connection closed",
                           sizeof r->res.error);
        }
    }
    srv_observe_final(r);
    srv_log_request(r);
    srv_req_release_slots(r);
    if (r->conn) {
        r->conn->req = NULL;
        r->conn->deadline_ms = loop_ms(w) + (uint64_t)header_timeout(w);
    }
    srv_gen *g = r->gen;
    w->active_reqs--;
    atomic_fetch_sub(&w->srv->active_total, 1);
    req_put(w, r);
    srv_gen_release(w, g);
}

static void conn_free(srv_worker *w, srv_conn *conn)
{
    if (w->n_free_conns >= CONN_POOL_MAX) {
        free(conn);
        return;
    }
    conn->next = w->free_conns;
    w->free_conns = conn;
    w->n_free_conns++;
}

static void on_conn_poll_closed(uv_handle_t *h)
{
    srv_conn *conn = h->data;
    conn_free(conn->w, conn);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    srv_worker *w = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        srv_conn *conn = w->free_conns;
        if (conn) {
            w->free_conns = conn->next;
            w->n_free_conns--;
        } else if (!(conn = malloc(sizeof *conn))) {
            *socket_context = NULL;
            return;
        }
        memset(conn, 0, sizeof *conn);
        conn->w = w;
        conn->c = c;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn->fd = ci ? ci->connect_fd : -1;
        conn->deadline_ms = loop_ms(w) + (uint64_t)header_timeout(w);
        conn->next = w->conns;
        if (w->conns)
            w->conns->prev = conn;
        w->conns = conn;
        *socket_context = conn;
        return;
    }
    srv_conn *conn = *socket_context;
    if (!conn)
        return;
    *socket_context = NULL;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        w->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    conn->closing = true;
    if (conn->req)
        conn->req->conn = NULL;
    if (conn->poll_init) {
        uv_close((uv_handle_t *)&conn->poll, on_conn_poll_closed);
    } else {
        conn_free(w, conn);
    }
}

/* Header deadlines. */
static void on_tick(uv_timer_t *t)
{
    srv_worker *w = t->data;
    uint64_t now = loop_ms(w);
    bool any = false;
    for (srv_conn *conn = w->conns; conn; conn = conn->next)
        if (conn->deadline_ms && now >= conn->deadline_ms && conn->fd >= 0) {
            conn->deadline_ms = 0;
            shutdown(conn->fd, SHUT_RDWR);
            any = true;
        }
    if (any)
        srv_worker_kick(w);
}

lx_status srv_worker_http_start(srv_worker *w, lx_error *err)
{
    const lx_server_cfg *sc = &w->gen->b->cfg->server;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    if (getenv("LLMUX_MHD_DEBUG"))
        flags |= MHD_USE_ERROR_LOG;
    w->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, w, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)w->listen_fd,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        w, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)65536, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024, MHD_OPTION_END);
    if (!w->mhd)
        return lx_fail(err, LX_ERR_IO, "cannot start the HTTP daemon on worker %d", w->index);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di)
        return lx_fail(err, LX_ERR_IO, "HTTP daemon without an epoll fd");
    uv_loop_t *l = &w->loop.uv;
    if (uv_poll_init(l, &w->mhd_poll, di->epoll_fd) != 0)
        return lx_fail(err, LX_ERR_IO, "cannot watch the HTTP daemon's epoll fd");
    w->mhd_poll.data = w;
    uv_timer_init(l, &w->mhd_timer);
    w->mhd_timer.data = w;
    uv_check_init(l, &w->mhd_check);
    w->mhd_check.data = w;
    uv_timer_init(l, &w->tick);
    w->tick.data = w;
    w->handles_open = true;
    w->rid_seed = (unsigned)(srv_now_ns() ^ ((uint64_t)getpid() << 20) ^ (uint64_t)(uintptr_t)w);
    uv_poll_start(&w->mhd_poll, UV_READABLE, on_mhd_poll);
    uint64_t period = (uint64_t)(sc->header_timeout_ms / 4);
    if (period < 20)
        period = 20;
    if (period > 500)
        period = 500;
    uv_timer_start(&w->tick, on_tick, period, period);
    srv_worker_kick(w);
    return LX_OK;
}

void srv_worker_quiesce(srv_worker *w)
{
    if (!w->mhd || w->quiesced)
        return;
    w->quiesced = true;
    MHD_socket fd = MHD_quiesce_daemon(w->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    else if (w->listen_fd >= 0)
        shutdown(w->listen_fd, SHUT_RDWR);
    w->listen_fd = -1;
}

static void on_closed_noop(uv_handle_t *h)
{
    (void)h;
}

void srv_worker_http_stop(srv_worker *w)
{
    if (w->mhd) {
        /* every job stops; suspended connections must be resumed before
         * MHD_stop_daemon */
        for (srv_conn *conn = w->conns; conn; conn = conn->next) {
            srv_req *r = conn->req;
            if (!r)
                continue;
            srv_req_cancel_work(r, "server stopped");
            r->cancelled = true;
            if (r->suspended) {
                r->suspended = false;
                MHD_resume_connection(r->c);
            }
        }
        MHD_run(w->mhd);
        struct MHD_Daemon *d = w->mhd;
        MHD_stop_daemon(d);
        w->mhd = NULL;
    }
    if (w->handles_open) {
        w->handles_open = false;
        uv_close((uv_handle_t *)&w->mhd_poll, on_closed_noop);
        uv_close((uv_handle_t *)&w->mhd_timer, on_closed_noop);
        uv_close((uv_handle_t *)&w->mhd_check, on_closed_noop);
        uv_close((uv_handle_t *)&w->tick, on_closed_noop);
    }
    if (w->listen_fd >= 0) {
        close(w->listen_fd);
        w->listen_fd = -1;
    }
    while (w->free_reqs) {
        srv_req *r = w->free_reqs;
        w->free_reqs = r->next_free;
        lx_buf_free(&r->body);
        lx_buf_free(&r->out);
        free(r);
    }
    w->n_free_reqs = 0;
}

/* The pool of free connections is emptied once the loop has closed every
 * handle (server.c calls this after the loop ran dry). */
void srv_worker_free_pools(srv_worker *w)
{
    while (w->free_conns) {
        srv_conn *c = w->free_conns;
        w->free_conns = c->next;
        free(c);
    }
    w->n_free_conns = 0;
}
