/*
 * bench/mock_upstream.c — the upstream of the gateway benchmark: a fast,
 * single-threaded OpenAI Chat Completions mock (epoll, HTTP/1.1 keep-alive,
 * pipelining).
 *
 *   build/bench/mock_upstream [--listen HOST:PORT] [--chunks N] [--port-file F]
 *
 * It is the "direct" baseline of bench/gateway.sh, so it does as little as
 * possible per request: one read, a scan of the header lines, a byte search
 * in the body, one write. The reply bytes of the last request of each kind
 * are kept and written again while the model and sizes stay the same.
 *
 * Requests (anything else answers 404 in OpenAI's error shape):
 *   POST .../chat/completions  body is not parsed as JSON; the mock looks for
 *       "stream": true, "include_usage": true and the "model" string (echoed
 *       back, at most 100 bytes). Not streamed: one chat.completion with a
 *       20-word answer and usage. Streamed: Transfer-Encoding: chunked, one
 *       HTTP chunk per SSE event: N chat.completion.chunk events (the first
 *       carries the role, the last finish_reason "stop"), the usage chunk
 *       ("choices": []) when include_usage is true, then "data: [DONE]".
 *   GET .../models             one model.
 *   GET /_stats                {"connections":N,"requests":N,"open":N}: connections
 *                              accepted and chat requests answered so far, and
 *                              connections open now (a gateway that does not
 *                              reuse its upstream connections shows here).
 * Request bodies may come with Content-Length or chunked; Expect:
 * 100-continue is answered. A header block over 16 KiB or a body over 1 MiB
 * answers 413 and closes.
 *
 * Timing scenario, chosen by the model name: "gapN" (e.g. "gap1000") sends the
 * first event at once and the next ones N microseconds apart, so a time to
 * first token can be told from the time to the whole answer (bench/ttft.c).
 * Any other model: everything is written at once.
 *
 * With port 0 the kernel picks the port; the chosen port is printed on stdout
 * ("listening 127.0.0.1:PORT") and written to --port-file when given.
 * SIGINT/SIGTERM stop it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define HEAD_CAP (16 << 10)
#define BODY_CAP (1 << 20)
#define MAX_CHUNKS 1000

typedef struct conn conn;
struct conn {
    int fd;
    char *in; /* received bytes not consumed yet */
    size_t in_len, in_cap;
    char *out; /* reply bytes not written yet (the socket was full) */
    size_t out_len, out_off, out_cap;
    int close_after; /* close once `out` is written */
    int epollout;    /* EPOLLOUT is registered */
    int dead;        /* closed; freed after the current batch of events */
    int continued;   /* "100 Continue" sent for the request being received */
    /* a stream paced by "gapN": events sent so far, total, pacing */
    int ev_next, ev_total, ev_usage;
    int64_t gap_ns, due_ns;
    char model[104];
    int prompt_tokens;
    conn *next_paced, *prev_paced;
    conn *next_dead;
};

static volatile sig_atomic_t stop_flag;
static int g_chunks = 20;
static int g_timer = -1;
static conn *g_paced; /* connections with a paced stream in progress */
static unsigned long long g_accepted, g_requests, g_open;
static const char *g_words[] = {"The",   "quick", "brown",  "fox", "jumps", "over",  "the",
                                "lazy",  "dog",   "while",  "the", "mock",  "keeps", "every",
                                "reply", "short", "simple", "and", "very",  "fast."};
#define NWORDS (int)(sizeof g_words / sizeof g_words[0])

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    char *q = realloc(*p, n);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Queues bytes for the connection; writes them now when nothing is pending. */
static int send_bytes(conn *c, const char *p, size_t n)
{
    if (c->out_len == c->out_off) {
        c->out_len = c->out_off = 0;
        while (n) {
            ssize_t w = write(c->fd, p, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (w < 0)
                return -1;
            p += w;
            n -= (size_t)w;
        }
        if (!n)
            return 0;
    }
    if (grow(&c->out, &c->out_cap, c->out_len + n))
        return -1;
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

/* ---- replies --------------------------------------------------------------- */

/* Case-insensitive search of a short needle in n bytes. */
static int has_ci(const char *h, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(h + i, needle, k) == 0)
            return 1;
    return 0;
}

/* What the mock needs from a header block (request line to blank line). */
typedef struct {
    long content_length; /* -1: none */
    int chunked, close, expect_continue, http10;
} head_info;

static void parse_head(const char *h, size_t hlen, head_info *hi)
{
    *hi = (head_info){.content_length = -1};
    const char *end = h + hlen, *eol = memchr(h, '\r', hlen);
    if (eol && eol - h >= 9 && memcmp(eol - 9, " HTTP/1.0", 9) == 0)
        hi->http10 = 1;
    while (eol && eol + 2 < end) {
        const char *line = eol + 2;
        eol = memchr(line, '\r', (size_t)(end - line));
        size_t len = eol ? (size_t)(eol - line) : 0;
        const char *colon = memchr(line, ':', len);
        if (!colon)
            continue;
        size_t name = (size_t)(colon - line), vlen = len - name - 1;
        const char *v = colon + 1;
        if (name == 14 && !strncasecmp(line, "content-length", 14))
            hi->content_length = strtol(v, NULL, 10);
        else if (name == 17 && !strncasecmp(line, "transfer-encoding", 17))
            hi->chunked = has_ci(v, vlen, "chunked");
        else if (name == 10 && !strncasecmp(line, "connection", 10))
            hi->close = has_ci(v, vlen, "close");
        else if (name == 6 && !strncasecmp(line, "expect", 6))
            hi->expect_continue = has_ci(v, vlen, "100-continue");
    }
}

/* The JSON value after "key": in the body, or NULL. */
static const char *json_value(const char *b, size_t n, const char *key)
{
    size_t k = strlen(key);
    const char *end = b + n, *p = b;
    while ((p = memmem(p, (size_t)(end - p), key, k)) != NULL) {
        const char *q = p + k;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
            q++;
        if (q < end && *q == ':') {
            q++;
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
                q++;
            return q < end ? q : NULL;
        }
        p += k;
    }
    return NULL;
}

static int json_true(const char *b, size_t n, const char *key)
{
    const char *v = json_value(b, n, key);
    return v && (size_t)(b + n - v) >= 4 && memcmp(v, "true", 4) == 0;
}

/* Copies the "model" string (plain characters only) into out. */
static void json_model(const char *b, size_t n, char *out, size_t cap)
{
    const char *v = json_value(b, n, "\"model\"");
    size_t i = 0;
    if (v && *v == '"') {
        for (v++; v < b + n && *v != '"' && *v != '\\' && i + 1 < cap; v++)
            if ((unsigned char)*v >= 0x20)
                out[i++] = *v;
    }
    if (!i)
        memcpy(out, "mock", i = 4);
    out[i] = 0;
}

static int reply_simple(conn *c, int status, const char *reason, const char *body)
{
    char buf[1024];
    int n =
        snprintf(buf, sizeof buf,
                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n%s\r\n%s",
                 status, reason, strlen(body), c->close_after ? "Connection: close\r\n" : "", body);
    return send_bytes(c, buf, (size_t)n);
}

/* The last reply built, by kind: every request of a benchmark run asks the
 * same thing, so the bytes are built once and written many times. */
typedef struct {
    char model[104];
    int prompt_tokens, flag, valid;
    char *buf;
    size_t len;
} reply_cache;
static reply_cache g_plain, g_stream;

static int cache_hit(const reply_cache *rc, const conn *c, int flag)
{
    return rc->valid && rc->prompt_tokens == c->prompt_tokens && rc->flag == flag &&
           strcmp(rc->model, c->model) == 0;
}

static int cache_store(reply_cache *rc, const conn *c, int flag, const char *p, size_t n)
{
    char *b = realloc(rc->buf, n);
    if (!b)
        return -1;
    memcpy(b, p, n);
    rc->buf = b;
    rc->len = n;
    rc->flag = flag;
    rc->prompt_tokens = c->prompt_tokens;
    memcpy(rc->model, c->model, sizeof rc->model);
    rc->valid = 1;
    return 0;
}

static int reply_completion(conn *c)
{
    if (cache_hit(&g_plain, c, c->close_after))
        return send_bytes(c, g_plain.buf, g_plain.len);
    char body[2048], text[512];
    size_t t = 0;
    for (int i = 0; i < NWORDS; i++)
        t += (size_t)snprintf(text + t, sizeof text - t, "%s%s", i ? " " : "", g_words[i]);
    int bn = snprintf(body, sizeof body,
                      "{\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion\","
                      "\"created\":1700000000,\"model\":\"%s\",\"choices\":[{\"index\":0,"
                      "\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},"
                      "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{"
                      "\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}}",
                      c->model, text, c->prompt_tokens, NWORDS, c->prompt_tokens + NWORDS);
    char buf[2560];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n%s\r\n%s",
                     bn, c->close_after ? "Connection: close\r\n" : "", body);
    cache_store(&g_plain, c, c->close_after, buf, (size_t)n);
    return send_bytes(c, buf, (size_t)n);
}

/* Appends SSE event number i (0..ev_total-1 chunks, then usage, then [DONE])
 * as one HTTP chunk; returns the bytes written into buf. */
static size_t stream_event(conn *c, int i, char *buf, size_t cap)
{
    char ev[1024];
    int n;
    if (i < c->ev_total) {
        const char *w = g_words[i % NWORDS];
        n = snprintf(ev, sizeof ev,
                     "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
                     "\"created\":1700000000,\"model\":\"%s\",\"choices\":[{\"index\":0,"
                     "\"delta\":{%s\"content\":\"%s%s\"},\"logprobs\":null,"
                     "\"finish_reason\":%s}]}\n\n",
                     c->model, i == 0 ? "\"role\":\"assistant\"," : "", i ? " " : "", w,
                     i == c->ev_total - 1 ? "\"stop\"" : "null");
    } else if (i == c->ev_total && c->ev_usage) {
        n = snprintf(ev, sizeof ev,
                     "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
                     "\"created\":1700000000,\"model\":\"%s\",\"choices\":[],\"usage\":{"
                     "\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n",
                     c->model, c->prompt_tokens, c->ev_total, c->prompt_tokens + c->ev_total);
    } else {
        n = snprintf(ev, sizeof ev, "data: [DONE]\n\n");
    }
    return (size_t)snprintf(buf, cap, "%x\r\n%s\r\n", n, ev);
}

static int events_count(const conn *c)
{
    return c->ev_total + (c->ev_usage ? 1 : 0) + 1;
}

static void paced_unlink(conn *c)
{
    if (c->prev_paced)
        c->prev_paced->next_paced = c->next_paced;
    else if (g_paced == c)
        g_paced = c->next_paced;
    if (c->next_paced)
        c->next_paced->prev_paced = c->prev_paced;
    c->next_paced = c->prev_paced = NULL;
}

static void arm_timer(void)
{
    int64_t due = INT64_MAX;
    for (conn *c = g_paced; c; c = c->next_paced)
        if (c->due_ns < due)
            due = c->due_ns;
    struct itimerspec it = {0};
    if (due != INT64_MAX) {
        it.it_value.tv_sec = due / 1000000000;
        it.it_value.tv_nsec = due % 1000000000;
        if (!it.it_value.tv_sec && !it.it_value.tv_nsec)
            it.it_value.tv_nsec = 1;
    }
    timerfd_settime(g_timer, TFD_TIMER_ABSTIME, &it, NULL);
}

static int reply_stream(conn *c)
{
    if (!c->gap_ns && cache_hit(&g_stream, c, c->ev_usage))
        return send_bytes(c, g_stream.buf, g_stream.len);
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    size_t cap = sizeof head + (size_t)(events_count(c) + 1) * 1100;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    memcpy(buf, head, sizeof head - 1);
    size_t n = sizeof head - 1;
    int last = c->gap_ns ? 1 : events_count(c);
    for (int i = 0; i < last; i++)
        n += stream_event(c, i, buf + n, cap - n);
    if (last == events_count(c)) {
        memcpy(buf + n, "0\r\n\r\n", 5);
        n += 5;
        cache_store(&g_stream, c, c->ev_usage, buf, n);
    } else {
        c->ev_next = last;
        c->due_ns = now_ns() + c->gap_ns;
        c->next_paced = g_paced;
        if (g_paced)
            g_paced->prev_paced = c;
        g_paced = c;
        arm_timer();
    }
    int rc = send_bytes(c, buf, n);
    free(buf);
    return rc;
}

/* ---- request parsing --------------------------------------------------------- */

/* Decodes a chunked body in place from p (length n). Returns the bytes of the
 * encoded form consumed (>0) with *body_len set, 0 when incomplete, -1 when
 * malformed or too large. */
static long dechunk(char *p, size_t n, size_t *body_len)
{
    size_t r = 0, w = 0;
    for (;;) {
        char *eol = memmem(p + r, n - r, "\r\n", 2);
        if (!eol)
            return 0;
        char *end;
        unsigned long sz = strtoul(p + r, &end, 16);
        if (end == p + r || sz > BODY_CAP || w + sz > BODY_CAP)
            return -1;
        size_t data = (size_t)(eol - p) + 2;
        if (sz == 0) { /* no trailers expected; skip to the blank line */
            char *fin = memmem(p + r, n - r, "\r\n\r\n", 4);
            if (!fin)
                return 0;
            *body_len = w;
            return (long)((size_t)(fin - p) + 4);
        }
        if (data + sz + 2 > n)
            return 0;
        memmove(p + w, p + data, sz);
        w += sz;
        r = data + sz + 2;
    }
}

/* Handles every complete request in c->in. Returns -1 to close. */
static int serve_input(conn *c)
{
    size_t off = 0;
    int rc = 0;
    while (!c->ev_total && c->out_len == c->out_off && !c->close_after) {
        char *h = c->in + off;
        size_t avail = c->in_len - off;
        char *eoh = memmem(h, avail, "\r\n\r\n", 4);
        if (!eoh) {
            if (avail > HEAD_CAP) {
                c->close_after = 1;
                rc = reply_simple(c, 413, "Payload Too Large",
                                  "{\"error\":{\"message\":\"headers too large\"}}");
            }
            break;
        }
        size_t hlen = (size_t)(eoh - h) + 4;
        head_info hi;
        parse_head(h, hlen, &hi);
        size_t blen = hi.content_length > 0 ? (size_t)hi.content_length : 0, used;
        if (hi.content_length > BODY_CAP) {
            c->close_after = 1;
            rc = reply_simple(c, 413, "Payload Too Large",
                              "{\"error\":{\"message\":\"body too large\"}}");
            break;
        }
        if (hi.chunked) {
            long k = dechunk(h + hlen, avail - hlen, &blen);
            if (k < 0) {
                c->close_after = 1;
                rc = reply_simple(c, 400, "Bad Request",
                                  "{\"error\":{\"message\":\"bad chunked body\"}}");
                break;
            }
            if (k == 0)
                goto incomplete;
            used = hlen + (size_t)k;
        } else {
            if (avail - hlen < blen)
                goto incomplete;
            used = hlen + blen;
        }
        off += used;
        c->continued = 0;
        if (hi.close || hi.http10)
            c->close_after = 1;
        char *body = h + hlen;
        char *line_end = memchr(h, ' ', hlen);
        char *path_end =
            line_end ? memchr(line_end + 1, ' ', (size_t)(h + hlen - line_end - 1)) : NULL;
        if (!line_end || !path_end) {
            c->close_after = 1;
            rc = reply_simple(c, 400, "Bad Request",
                              "{\"error\":{\"message\":\"bad request line\"}}");
            break;
        }
        size_t plen = (size_t)(path_end - line_end - 1);
        const char *path = line_end + 1;
        int is_post = memcmp(h, "POST ", 5) == 0;
        if (is_post && plen >= 17 && memcmp(path + plen - 17, "/chat/completions", 17) == 0) {
            g_requests++;
            json_model(body, blen, c->model, sizeof c->model);
            c->prompt_tokens = (int)(blen / 4) + 1;
            if (json_true(body, blen, "\"stream\"")) {
                c->ev_total = g_chunks;
                c->ev_usage = json_true(body, blen, "\"include_usage\"");
                c->gap_ns =
                    strncmp(c->model, "gap", 3) == 0 ? strtoll(c->model + 3, NULL, 10) * 1000 : 0;
                rc = reply_stream(c);
                if (!c->gap_ns)
                    c->ev_total = 0;
            } else {
                rc = reply_completion(c);
            }
        } else if (memcmp(h, "GET ", 4) == 0 && plen >= 7 &&
                   memcmp(path + plen - 7, "/models", 7) == 0) {
            rc =
                reply_simple(c, 200, "OK",
                             "{\"object\":\"list\",\"data\":[{\"id\":\"mock\",\"object\":\"model\","
                             "\"created\":1700000000,\"owned_by\":\"bench\"}]}");
        } else if (plen == 7 && memcmp(path, "/_stats", 7) == 0) {
            char st[160];
            snprintf(st, sizeof st, "{\"connections\":%llu,\"requests\":%llu,\"open\":%llu}",
                     g_accepted, g_requests, g_open);
            rc = reply_simple(c, 200, "OK", st);
        } else {
            rc = reply_simple(
                c, 404, "Not Found",
                "{\"error\":{\"message\":\"no such route\",\"type\":\"invalid_request_error\"}}");
        }
        if (rc)
            break;
        continue;
    incomplete:
        if (!c->continued && hi.expect_continue) {
            c->continued = 1;
            rc = send_bytes(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
        break;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return rc;
}

/* ---- loop ----------------------------------------------------------------------- */

static int g_ep;
static conn *g_dead; /* closed during this batch of events */

/* Closes the socket at once; the memory goes when the batch is done, since a
 * later event of the same batch may still name the connection. */
static void conn_close(conn *c)
{
    if (c->dead)
        return;
    paced_unlink(c);
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    g_open--;
    c->dead = 1;
    c->next_dead = g_dead;
    g_dead = c;
}

static void free_dead(void)
{
    while (g_dead) {
        conn *c = g_dead;
        g_dead = c->next_dead;
        free(c->in);
        free(c->out);
        free(c);
    }
}

static void want_out(conn *c, int on)
{
    if (c->epollout == on)
        return;
    c->epollout = on;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* After any progress: write what is pending, serve pipelined input, decide
 * whether the connection lives on. Returns -1 when it was closed. */
static int conn_progress(conn *c)
{
    while (c->out_len > c->out_off) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w < 0) {
            conn_close(c);
            return -1;
        }
        c->out_off += (size_t)w;
    }
    if (c->out_len == c->out_off) {
        c->out_len = c->out_off = 0;
        if (c->close_after && !c->ev_total) {
            conn_close(c);
            return -1;
        }
        if (c->in_len && serve_input(c) < 0) {
            conn_close(c);
            return -1;
        }
    }
    int pending = c->out_len > c->out_off;
    want_out(c, pending);
    if (!pending && c->close_after && !c->ev_total) {
        conn_close(c);
        return -1;
    }
    return 0;
}

static void on_readable(conn *c)
{
    if (grow(&c->in, &c->in_cap, c->in_len + 65536)) {
        conn_close(c);
        return;
    }
    ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (r < 0)
        return;
    c->in_len += (size_t)r;
    if (c->in_len > HEAD_CAP + BODY_CAP + 65536) {
        conn_close(c);
        return;
    }
    if (c->out_len == c->out_off && !c->ev_total && serve_input(c) < 0) {
        conn_close(c);
        return;
    }
    conn_progress(c);
}

static void on_timer(void)
{
    uint64_t ticks;
    if (read(g_timer, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
        return;
    int64_t now = now_ns();
    conn *c = g_paced;
    while (c) {
        conn *next = c->next_paced;
        if (c->due_ns <= now && !c->dead) {
            char buf[1200];
            size_t n = stream_event(c, c->ev_next++, buf, sizeof buf);
            if (c->ev_next == events_count(c)) {
                memcpy(buf + n, "0\r\n\r\n", 5);
                n += 5;
                c->ev_total = 0;
                paced_unlink(c);
            } else {
                c->due_ns += c->gap_ns;
            }
            if (send_bytes(c, buf, n) < 0)
                conn_close(c);
            else
                conn_progress(c);
        }
        c = next;
    }
    arm_timer();
}

static int listen_on(const char *spec, int *port_out)
{
    char host[64] = "127.0.0.1";
    int port = 0;
    const char *colon = strrchr(spec, ':');
    if (colon) {
        size_t hl = (size_t)(colon - spec);
        if (hl >= sizeof host)
            return -1;
        if (hl) {
            memcpy(host, spec, hl);
            host[hl] = 0;
        }
        port = atoi(colon + 1);
    } else {
        port = atoi(spec);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096))
        return -1;
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *port_out = ntohs(a.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    const char *listen_spec = "127.0.0.1:0", *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc)
            listen_spec = argv[++i];
        else if (!strcmp(argv[i], "--chunks") && i + 1 < argc)
            g_chunks = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
            port_file = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--listen HOST:PORT] [--chunks N] [--port-file F]\n",
                    argv[0]);
            return 2;
        }
    }
    if (g_chunks < 1 || g_chunks > MAX_CHUNKS) {
        fprintf(stderr, "mock_upstream: --chunks must be 1..%d\n", MAX_CHUNKS);
        return 2;
    }
    int port, lfd = listen_on(listen_spec, &port);
    if (lfd < 0) {
        fprintf(stderr, "mock_upstream: cannot listen on %s: %s\n", listen_spec, strerror(errno));
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    g_ep = epoll_create1(EPOLL_CLOEXEC);
    g_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    static char lmark, tmark;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &lmark};
    epoll_ctl(g_ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.ptr = &tmark;
    epoll_ctl(g_ep, EPOLL_CTL_ADD, g_timer, &ev);

    printf("listening 127.0.0.1:%d\n", port);
    fflush(stdout);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "%d\n", port);
            fclose(f);
        }
    }

    struct epoll_event evs[256];
    while (!stop_flag) {
        int n = epoll_wait(g_ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &lmark) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn *c = calloc(1, sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    g_accepted++;
                    g_open++;
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &e);
                }
            } else if (evs[i].data.ptr == &tmark) {
                on_timer();
            } else {
                conn *c = evs[i].data.ptr;
                if (c->dead)
                    continue;
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    on_readable(c);
                else if (evs[i].events & EPOLLOUT)
                    conn_progress(c);
            }
        }
        free_dead();
    }
    close(lfd);
    return 0;
}
