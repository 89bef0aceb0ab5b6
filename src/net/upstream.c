/*
 * libcurl multi + libuv glue.
 *
 * curl asks, through the socket callback, to watch sockets for reading or
 * writing (one uv_poll_t each, stored on the socket with
 * curl_multi_assign), and through the timer callback to be woken after a
 * delay (one uv_timer_t for the whole multi). When a poll or the timer fires
 * we call curl_multi_socket_action and then collect finished transfers.
 *
 * curl forbids touching the multi handle from inside its callbacks, so a
 * transfer cancelled while curl is running (for example by the sink of its
 * own stream) is only marked; it is removed and freed right after
 * curl_multi_socket_action returns ("sweep").
 *
 * Each transfer has a watchdog timer for the first-byte, idle and total
 * timeouts (connect is curl's CURLOPT_CONNECTTIMEOUT_MS). The watchdog does
 * not restart on every chunk: it wakes at the earliest possible deadline and
 * re-arms itself from the time of the last byte.
 */
#include "net/upstream.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/version.h"

#define SPARE_EASY 16  /* finished easy handles kept for the next transfers */
#define IDLE_SOCKS 64  /* stopped socket polls kept for reuse */

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct lx_upstream *u;
} sock_ctx;

struct lx_upstream {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    uv_check_t check;     /* curl's "now" (timeout 0) runs in this loop turn */
    int closing;          /* handles still closing in lx_upstream_free */
    int in_curl;          /* depth of curl_multi_socket_action calls */
    lx_http_call *calls;  /* every live transfer (doubly linked) */
    /* Reuse, so that a keep-alive request costs no handle setup: easy
     * handles (curl_easy_reset keeps their buffers) and the uv polls of
     * sockets curl stopped watching between two transfers on the same
     * connection (a poll stays bound to its fd number, which is all libuv
     * keeps; it is stopped, so a closed and reused fd number is harmless). */
    CURL *spare[SPARE_EASY];
    int n_spare;
    sock_ctx *idle[IDLE_SOCKS];
    int n_idle;
};

struct lx_http_call {
    lx_upstream *u;
    CURL *easy;
    struct curl_slist *hdrs;
    lx_http_cbs cbs;
    void *ud;
    lx_timeouts t;
    uv_timer_t watchdog;
    uint64_t start_ms, last_ms;
    uint64_t rx, tx;
    bool got_body, head_sent, in_final_head;
    bool cancelled, done, in_cb;
    int status;
    int64_t retry_after_ms;
    char content_type[128];
    lx_status abort_st;
    lx_error abort_err;
    char errbuf[CURL_ERROR_SIZE];
    lx_http_call *prev, *next;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static bool no_proxy_env; /* none of the proxy variables is set */
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_ALL);
    /* libcurl reads the proxy variables on every transfer (a walk of the
     * environment each time); when none is set at start we say so once. */
    static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                       "all_proxy",  "ALL_PROXY"};
    no_proxy_env = true;
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]) && *getenv(vars[i]))
            no_proxy_env = false;
}

/* ---- transfer lifetime -------------------------------------------------- */

static void free_call_cb(uv_handle_t *h)
{
    free(h->data);
}

static void release(lx_http_call *c)
{
    lx_upstream *u = c->u;
    if (c->prev)
        c->prev->next = c->next;
    else
        u->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->easy) {
        curl_multi_remove_handle(u->multi, c->easy);
        if (u->n_spare < SPARE_EASY) {
            curl_easy_reset(c->easy);
            u->spare[u->n_spare++] = c->easy;
        } else {
            curl_easy_cleanup(c->easy);
        }
        c->easy = NULL;
    }
    curl_slist_free_all(c->hdrs);
    c->hdrs = NULL;
    uv_timer_stop(&c->watchdog);
    uv_close((uv_handle_t *)&c->watchdog, free_call_cb);
}

/* Ends a transfer that is not cancelled: reports st and frees it. Must not
 * run inside curl. */
static void finish(lx_http_call *c, lx_status st, const lx_error *err)
{
    if (c->easy) {
        curl_off_t up = 0;
        if (curl_easy_getinfo(c->easy, CURLINFO_SIZE_UPLOAD_T, &up) == CURLE_OK && up > 0)
            c->tx = (uint64_t)up;
        curl_multi_remove_handle(c->u->multi, c->easy);
    }
    c->done = true;
    c->in_cb = true;
    if (c->cbs.on_done)
        c->cbs.on_done(c->ud, st, err);
    c->in_cb = false;
    release(c);
}

static uint64_t now_ms(lx_upstream *u)
{
    uv_update_time(u->loop);
    return uv_now(u->loop);
}

/* ---- watchdog ----------------------------------------------------------- */

static void arm_watchdog(lx_http_call *c);

static void watchdog_cb(uv_timer_t *t)
{
    lx_http_call *c = t->data;
    if (c->done || c->cancelled)
        return;
    uint64_t now = now_ms(c->u);
    lx_error e;
    lx_error_clear(&e);
    if (c->t.total_ms > 0 && now - c->start_ms >= (uint64_t)c->t.total_ms) {
        lx_fail(&e, LX_ERR_TIMEOUT, "total timeout: no complete answer within %lld ms",
                (long long)c->t.total_ms);
    } else if (!c->got_body && c->t.first_byte_ms > 0 &&
               now - c->start_ms >= (uint64_t)c->t.first_byte_ms) {
        lx_fail(&e, LX_ERR_TIMEOUT, "first-byte timeout: nothing received within %lld ms",
                (long long)c->t.first_byte_ms);
    } else if (c->got_body && c->t.idle_ms > 0 && now - c->last_ms >= (uint64_t)c->t.idle_ms) {
        lx_fail(&e, LX_ERR_TIMEOUT, "idle timeout: no data for %lld ms in the middle of the answer",
                (long long)c->t.idle_ms);
    } else {
        arm_watchdog(c);
        return;
    }
    if (c->u->in_curl) { /* cannot happen from a uv timer, but stay safe */
        c->abort_st = LX_ERR_TIMEOUT;
        c->abort_err = e;
        return;
    }
    finish(c, LX_ERR_TIMEOUT, &e);
}

static void arm_watchdog(lx_http_call *c)
{
    uint64_t now = now_ms(c->u);
    uint64_t next = UINT64_MAX;
    if (c->t.total_ms > 0)
        next = c->start_ms + (uint64_t)c->t.total_ms;
    if (!c->got_body && c->t.first_byte_ms > 0) {
        uint64_t d = c->start_ms + (uint64_t)c->t.first_byte_ms;
        next = d < next ? d : next;
    }
    if (c->got_body && c->t.idle_ms > 0) {
        uint64_t d = c->last_ms + (uint64_t)c->t.idle_ms;
        next = d < next ? d : next;
    }
    if (next == UINT64_MAX)
        return;
    uv_timer_start(&c->watchdog, watchdog_cb, next > now ? next - now : 0, 0);
}

/* ---- curl callbacks ----------------------------------------------------- */

static size_t send_head(lx_http_call *c)
{
    if (c->head_sent)
        return 1;
    c->head_sent = true;
    if (!c->cbs.on_head)
        return 1;
    lx_http_head h = {.status = c->status,
                      .content_type = c->content_type,
                      .retry_after_ms = c->retry_after_ms};
    c->in_cb = true;
    lx_status st = c->cbs.on_head(c->ud, &h);
    c->in_cb = false;
    if (c->cancelled)
        return 0;
    if (st != LX_OK) {
        c->abort_st = st;
        lx_fail(&c->abort_err, st, "transfer stopped by its receiver (%s)", lx_status_name(st));
        return 0;
    }
    return 1;
}

static void trim_value(const char *v, size_t n, char *out, size_t cap)
{
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
    lx_http_call *c = ud;
    size_t len = size * n;
    if (c->cancelled)
        return 0;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        c->status = sp ? atoi(sp + 1) : 0;
        c->in_final_head = c->status >= 200;
        c->content_type[0] = '\0';
        c->retry_after_ms = -1;
        return len;
    }
    if (!c->in_final_head)
        return len;
    if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) /* end of the header block */
        return send_head(c) ? len : 0;
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return len;
    size_t klen = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vlen = len - klen - 1;
    if (klen == 12 && strncasecmp(p, "content-type", 12) == 0) {
        trim_value(v, vlen, c->content_type, sizeof c->content_type);
    } else if (klen == 11 && strncasecmp(p, "retry-after", 11) == 0) {
        char tmp[64];
        trim_value(v, vlen, tmp, sizeof tmp);
        c->retry_after_ms = lx_parse_retry_after(tmp, (int64_t)time(NULL));
    }
    return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
    lx_http_call *c = ud;
    size_t len = size * n;
    if (c->cancelled || !send_head(c))
        return 0;
    if (len == 0)
        return 0;
    c->rx += len;
    c->last_ms = now_ms(c->u);
    if (!c->got_body) {
        c->got_body = true;
        arm_watchdog(c); /* switch from the first-byte to the idle deadline */
    }
    if (!c->cbs.on_body)
        return len;
    c->in_cb = true;
    lx_status st = c->cbs.on_body(c->ud, p, len);
    c->in_cb = false;
    if (c->cancelled)
        return 0;
    if (st != LX_OK) {
        c->abort_st = st;
        lx_fail(&c->abort_err, st, "transfer stopped by its receiver (%s)", lx_status_name(st));
        return 0;
    }
    return len;
}

static lx_status map_curl_error(lx_http_call *c, CURLcode rc, lx_error *e)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return lx_fail(e, LX_ERR_TIMEOUT, "connect timeout: %s", detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return lx_fail(e, LX_ERR_IO, "cannot resolve host: %s", detail);
    case CURLE_COULDNT_CONNECT:
        return lx_fail(e, LX_ERR_IO, "cannot connect: %s", detail);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP2:
        if (c->got_body)
            return lx_fail(e, LX_ERR_IO, "connection cut in the middle of the answer: %s", detail);
        return lx_fail(e, LX_ERR_IO, "connection closed before an answer: %s", detail);
    default:
        return lx_fail(e, LX_ERR_IO, "%s", detail);
    }
}

static void collect_done(lx_upstream *u)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(u->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        lx_http_call *c = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        if (!c || c->done)
            continue;
        if (c->cancelled) {
            release(c);
            continue;
        }
        CURLcode rc = m->data.result;
        lx_error e;
        lx_error_clear(&e);
        lx_status st = LX_OK;
        if (c->abort_st != LX_OK) {
            st = c->abort_st;
            e = c->abort_err;
        } else if (rc != CURLE_OK) {
            st = map_curl_error(c, rc, &e);
        } else if (!c->head_sent && !send_head(c)) {
            st = c->cancelled ? LX_ERR_CANCELLED : c->abort_st;
            e = c->abort_err;
            if (c->cancelled) {
                release(c);
                continue;
            }
        }
        finish(c, st, st == LX_OK ? NULL : &e);
    }
}

static void sweep(lx_upstream *u)
{
    lx_http_call *c = u->calls;
    while (c) {
        lx_http_call *next = c->next;
        if (c->cancelled && !c->done)
            release(c);
        else if (c->abort_st == LX_ERR_TIMEOUT && !c->done)
            finish(c, c->abort_st, &c->abort_err);
        c = next;
    }
}

static void drive(lx_upstream *u, curl_socket_t fd, int flags)
{
    int running = 0;
    u->in_curl++;
    curl_multi_socket_action(u->multi, fd, flags, &running);
    u->in_curl--;
    if (u->in_curl == 0) {
        collect_done(u);
        sweep(u);
    }
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    sock_ctx *sc = h->data;
    int flags = 0;
    if (status < 0) {
        /* EPOLLERR/EPOLLHUP (a reset, say): let curl read the socket so it
         * reports the real cause instead of "select/poll returned error". */
        flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    drive(sc->u, sc->fd, flags);
}

static void free_sock_cb(uv_handle_t *h)
{
    free(h->data);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    lx_upstream *u = userp;
    sock_ctx *sc = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sc) {
            uv_poll_stop(&sc->poll);
            curl_multi_assign(u->multi, s, NULL);
            if (u->n_idle == IDLE_SOCKS) { /* drop the oldest */
                uv_close((uv_handle_t *)&u->idle[0]->poll, free_sock_cb);
                memmove(u->idle, u->idle + 1, (IDLE_SOCKS - 1) * sizeof *u->idle);
                u->n_idle--;
            }
            u->idle[u->n_idle++] = sc;
        }
        return 0;
    }
    for (int i = u->n_idle - 1; !sc && i >= 0; i--) {
        if (u->idle[i]->fd == s) {
            sc = u->idle[i];
            u->idle[i] = u->idle[--u->n_idle];
            curl_multi_assign(u->multi, s, sc);
        }
    }
    if (!sc) {
        sc = calloc(1, sizeof *sc);
        if (!sc)
            return -1;
        sc->fd = s;
        sc->u = u;
        if (uv_poll_init_socket(u->loop, &sc->poll, s) != 0) {
            free(sc);
            return -1;
        }
        sc->poll.data = sc;
        curl_multi_assign(u->multi, s, sc);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&sc->poll, ev, poll_cb);
    return 0;
}

static void timer_cb(uv_timer_t *t)
{
    lx_upstream *u = t->data;
    uv_check_stop(&u->check); /* the timer came first: the check has nothing left to do */
    drive(u, CURL_SOCKET_TIMEOUT, 0);
}

static void check_cb(uv_check_t *h)
{
    lx_upstream *u = h->data;
    uv_check_stop(h);
    uv_timer_stop(&u->timer);
    drive(u, CURL_SOCKET_TIMEOUT, 0);
}

/* A timeout of 0 (a transfer just added: connect or reuse, send) runs in
 * the check phase of this loop turn, right after the callbacks that added
 * it, instead of a loop turn later; the 0-ms timer also keeps this turn's
 * poll from blocking when the transfer was added from a timer callback. */
static int timerfunc_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    lx_upstream *u = userp;
    if (timeout_ms < 0) {
        uv_timer_stop(&u->timer);
        uv_check_stop(&u->check);
    } else {
        uv_timer_start(&u->timer, timer_cb, (uint64_t)timeout_ms, 0);
        if (timeout_ms == 0)
            uv_check_start(&u->check, check_cb);
    }
    return 0;
}

/* ---- public ------------------------------------------------------------- */

lx_status lx_upstream_new(uv_loop_t *loop, lx_upstream **out, lx_error *err)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return lx_fail(err, LX_ERR_INTERNAL, "libcurl init failed: %s",
                       curl_easy_strerror(curl_init_rc));
    lx_upstream *u = calloc(1, sizeof *u);
    if (!u)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    u->loop = loop;
    u->multi = curl_multi_init();
    if (!u->multi) {
        free(u);
        return lx_fail(err, LX_ERR_INTERNAL, "curl_multi_init failed");
    }
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timerfunc_cb);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    /* curl's default connection cache is 4x the transfers in flight, and it
     * shrinks when they end: under load a gateway then closes and reopens
     * upstream connections all the time (bench/README.md, gateway). */
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 256L);
    uv_timer_init(loop, &u->timer);
    u->timer.data = u;
    uv_check_init(loop, &u->check);
    u->check.data = u;
    *out = u;
    return LX_OK;
}

/* The timer and the check live in u: it is freed when both have closed. */
static void free_upstream_cb(uv_handle_t *h)
{
    lx_upstream *u = h->data;
    if (--u->closing == 0)
        free(u);
}

void lx_upstream_free(lx_upstream *u)
{
    if (!u)
        return;
    while (u->calls) {
        u->calls->cancelled = true;
        release(u->calls);
    }
    curl_multi_cleanup(u->multi); /* CURL_POLL_REMOVE callbacks stop the polls */
    for (int i = 0; i < u->n_spare; i++)
        curl_easy_cleanup(u->spare[i]);
    for (int i = 0; i < u->n_idle; i++)
        uv_close((uv_handle_t *)&u->idle[i]->poll, free_sock_cb);
    u->n_spare = u->n_idle = 0;
    uv_timer_stop(&u->timer);
    uv_check_stop(&u->check);
    u->closing = 2;
    uv_close((uv_handle_t *)&u->timer, free_upstream_cb);
    uv_close((uv_handle_t *)&u->check, free_upstream_cb);
}

static lx_status add_headers(lx_http_call *c, const char *lines)
{
    struct curl_slist *l = NULL;
    l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
    if (!l)
        return LX_ERR_NOMEM;
    char line[8192];
    const char *p = lines ? lines : "";
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        while (n && p[n - 1] == '\r')
            n--;
        if (n >= sizeof line) {
            curl_slist_free_all(l);
            return LX_ERR_TOOBIG;
        }
        if (n) {
            memcpy(line, p, n);
            line[n] = '\0';
            struct curl_slist *nl2 = curl_slist_append(l, line);
            if (!nl2) {
                curl_slist_free_all(l);
                return LX_ERR_NOMEM;
            }
            l = nl2;
        }
        p = nl ? nl + 1 : p + strlen(p);
    }
    c->hdrs = l;
    return LX_OK;
}

lx_status lx_upstream_start(lx_upstream *u, const lx_http_request *req, const lx_http_cbs *cbs,
                            void *ud, lx_http_call **out, lx_error *err)
{
    *out = NULL;
    lx_http_call *c = calloc(1, sizeof *c);
    if (!c)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    c->u = u;
    c->cbs = *cbs;
    c->ud = ud;
    c->t = req->timeouts;
    c->retry_after_ms = -1;
    c->easy = u->n_spare ? u->spare[--u->n_spare] : curl_easy_init();
    if (!c->easy) {
        free(c);
        return lx_fail(err, LX_ERR_INTERNAL, "curl_easy_init failed");
    }
    if (add_headers(c, req->headers) != LX_OK) {
        curl_easy_cleanup(c->easy);
        free(c);
        return lx_fail(err, LX_ERR_INVALID, "request headers too long or out of memory");
    }
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "llmux/" LX_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (no_proxy_env)
        curl_easy_setopt(e, CURLOPT_PROXY, ""); /* same as the empty environment, no lookups */
    if (req->timeouts.connect_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeouts.connect_ms);
    const char *method = req->method ? req->method : (req->body ? "POST" : "GET");
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    c->tx = req->body_len;
    uv_timer_init(u->loop, &c->watchdog);
    c->watchdog.data = c;
    c->start_ms = c->last_ms = now_ms(u);
    c->next = u->calls;
    if (u->calls)
        u->calls->prev = c;
    u->calls = c;
    CURLMcode mc = curl_multi_add_handle(u->multi, e);
    if (mc != CURLM_OK) {
        c->cancelled = true;
        release(c);
        return lx_fail(err, LX_ERR_INTERNAL, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
    }
    arm_watchdog(c);
    *out = c;
    return LX_OK;
}

void lx_http_call_cancel(lx_http_call *c)
{
    if (!c || c->done || c->cancelled)
        return;
    c->cancelled = true;
    if (c->in_cb || c->u->in_curl)
        return; /* removed by sweep() once curl returns */
    release(c);
}

uint64_t lx_http_call_bytes_sent(const lx_http_call *c)
{
    return c->tx;
}

uint64_t lx_http_call_bytes_received(const lx_http_call *c)
{
    return c->rx;
}

int64_t lx_parse_retry_after(const char *v, int64_t now)
{
    if (!v || !*v)
        return -1;
    char *end;
    if (*v >= '0' && *v <= '9') {
        long long s = strtoll(v, &end, 10);
        while (*end == ' ')
            end++;
        if (*end != '\0' || s < 0)
            return -1;
        if (s > 86400LL * 365)
            s = 86400LL * 365;
        return (int64_t)s * 1000;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0')
        return -1;
    int64_t t = (int64_t)timegm(&tm);
    return t > now ? (t - now) * 1000 : 0;
}
