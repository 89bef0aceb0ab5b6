/*
 * bench/ttft.c — time to first streamed token through a gateway, which wrk
 * cannot see (it times whole responses).
 *
 *   build/bench/ttft --url http://127.0.0.1:PORT/v1/chat/completions
 *                    [-n 500] [--warmup 20] [--model M] [-H "Name: value"]...
 *
 * One keep-alive connection, one request at a time (concurrency 1): it posts
 * the streamed chat request of bench/gateway/chat_stream.lua (same ~450-byte
 * body, "stream":true, include_usage) and takes the time from just before the
 * request is written to
 *   - ttft:  the first SSE "data:" line carrying a non-empty "content" (a role
 *            chunk with "" does not count), and
 *   - total: the end of the response body,
 * then prints one JSON line with p50/p90/p99 of both, in microseconds:
 *   {"n":500,"ttft_p50_us":..,"ttft_p90_us":..,"ttft_p99_us":..,
 *    "total_p50_us":..,"total_p99_us":..,"headers_p50_us":..,"errors":0}
 * (headers_p50_us: until the response headers were complete; a gateway that
 * sends them in a packet of their own shows them earlier than the token).
 * A response that is not 200, or ends without a token, counts as an error
 * and is left out of the figures. The connection is reopened when the server
 * closes it (also counted in "reconnects").
 *
 * Against bench/mock_upstream with model "gapN" the stream is paced (first
 * event at once, then one every N µs), so ttft and total are far apart and a
 * gateway that buffers the stream shows it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RAW_CAP (4 << 20)
#define MAX_HEADERS 16

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, int n, int p)
{
    if (n <= 0)
        return -1;
    int i = (int)((int64_t)n * p / 100);
    if (i >= n)
        i = n - 1;
    return v[i];
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One response being read: raw bytes, the decoded body, where parsing is. */
typedef struct {
    char *raw;
    size_t raw_len, pos; /* pos: next raw byte to decode */
    char *body;
    size_t body_len, line_start;
    int head_done, chunked, done, keep_alive, status, token_seen;
    long content_length;     /* -1: until close */
    int64_t t_token, t_head; /* first token; response headers complete */
} resp;

/* Looks at the body lines completed since the last call for a token. */
static void scan_lines(resp *r)
{
    for (;;) {
        char *nl = memchr(r->body + r->line_start, '\n', r->body_len - r->line_start);
        if (!nl)
            return;
        char *line = r->body + r->line_start;
        size_t len = (size_t)(nl - line);
        r->line_start += len + 1;
        if (r->token_seen || len < 5 || memcmp(line, "data:", 5) != 0)
            continue;
        const char *k = memmem(line, len, "\"content\":", 10);
        if (!k)
            continue;
        k += 10;
        while (k < nl && *k == ' ')
            k++;
        if (k + 1 < nl && k[0] == '"' && k[1] != '"') {
            r->token_seen = 1;
            r->t_token = now_ns();
        }
    }
}

static int body_add(resp *r, const char *p, size_t n)
{
    if (r->body_len + n > RAW_CAP)
        return -1;
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    scan_lines(r);
    return 0;
}

/* Decodes what arrived. Returns -1 on a malformed response. */
static int advance(resp *r)
{
    if (!r->head_done) {
        char *e = memmem(r->raw, r->raw_len, "\r\n\r\n", 4);
        if (!e)
            return 0;
        size_t hl = (size_t)(e - r->raw) + 4;
        if (r->raw_len < 12 || memcmp(r->raw, "HTTP/1.", 7) != 0)
            return -1;
        r->status = atoi(r->raw + 9);
        r->keep_alive = r->raw[7] == '1';
        r->content_length = -1;
        for (char *l = memchr(r->raw, '\n', hl); l && l < r->raw + hl;
             l = memchr(l, '\n', (size_t)(r->raw + hl - l))) {
            l++;
            if (!strncasecmp(l, "content-length:", 15))
                r->content_length = strtol(l + 15, NULL, 10);
            else if (!strncasecmp(l, "transfer-encoding:", 18) && memmem(l, 40, "chunked", 7))
                r->chunked = 1;
            else if (!strncasecmp(l, "connection:", 11) && strncasecmp(l + 11, " close", 6) == 0)
                r->keep_alive = 0;
        }
        r->head_done = 1;
        r->t_head = now_ns();
        r->pos = hl;
        if (r->status == 100) { /* skip an interim response */
            memmove(r->raw, r->raw + hl, r->raw_len - hl);
            r->raw_len -= hl;
            r->head_done = r->chunked = 0;
            r->pos = 0;
            return advance(r);
        }
    }
    if (!r->chunked) {
        size_t n = r->raw_len - r->pos;
        if (r->content_length >= 0 && n > (size_t)r->content_length - r->body_len)
            n = (size_t)r->content_length - r->body_len;
        if (body_add(r, r->raw + r->pos, n))
            return -1;
        r->pos += n;
        if (r->content_length >= 0 && r->body_len == (size_t)r->content_length)
            r->done = 1;
        return 0;
    }
    for (;;) {
        char *eol = memmem(r->raw + r->pos, r->raw_len - r->pos, "\r\n", 2);
        if (!eol)
            return 0;
        char *end;
        unsigned long sz = strtoul(r->raw + r->pos, &end, 16);
        if (end == r->raw + r->pos || sz > RAW_CAP)
            return -1;
        size_t data = (size_t)(eol - r->raw) + 2;
        if (sz == 0) {
            if (!memmem(r->raw + r->pos, r->raw_len - r->pos, "\r\n\r\n", 4))
                return 0;
            r->done = 1;
            return 0;
        }
        if (data + sz + 2 > r->raw_len)
            return 0;
        if (body_add(r, r->raw + data, sz))
            return -1;
        r->pos = data + sz + 2;
    }
}

int main(int argc, char **argv)
{
    const char *url = NULL, *model = "gpt-4o-mini";
    const char *hdrs[MAX_HEADERS];
    int nh = 0, n = 500, warmup = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "-H") && i + 1 < argc && nh < MAX_HEADERS)
            hdrs[nh++] = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s --url http://HOST:PORT/PATH [-n N] [--warmup N] "
                    "[--model M] [-H 'Name: value']...\n",
                    argv[0]);
            return 2;
        }
    }
    char host[64];
    int port = 80;
    const char *path = "/";
    if (!url || strncmp(url, "http://", 7) != 0 || n < 1) {
        fprintf(stderr, "ttft: --url http://IPV4:PORT/PATH is required (and -n >= 1)\n");
        return 2;
    }
    {
        const char *h = url + 7, *slash = strchr(h, '/'), *colon = strchr(h, ':');
        if (slash)
            path = slash;
        else
            slash = h + strlen(h);
        if (colon && colon < slash)
            port = atoi(colon + 1);
        else
            colon = slash;
        size_t hl = (size_t)(colon - h);
        if (hl >= sizeof host) {
            fprintf(stderr, "ttft: host too long\n");
            return 2;
        }
        memcpy(host, h, hl);
        host[hl] = 0;
        if (!strcmp(host, "localhost"))
            strcpy(host, "127.0.0.1");
    }

    char body[1024];
    int bl =
        snprintf(body, sizeof body,
                 "{\"model\":\"%s\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a "
                 "concise assistant for software operations questions.\"},{\"role\":\"user\","
                 "\"content\":\"Our team runs a small web service that stores orders in "
                 "Postgres. Requests must finish within 200 ms. Last night the batch job "
                 "timed out twice. In two sentences, what are the first three things we "
                 "should check?\"}],\"max_tokens\":64,\"temperature\":0.2,\"stream\":true,"
                 "\"stream_options\":{\"include_usage\":true}}",
                 model);
    if (bl < 0 || (size_t)bl >= sizeof body) {
        fprintf(stderr, "ttft: model name too long\n");
        return 2;
    }
    char req[8192];
    int rl = snprintf(req, sizeof req,
                      "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                      "Accept: text/event-stream\r\nContent-Length: %d\r\n",
                      path, host, port, bl);
    for (int i = 0; i < nh; i++)
        rl += snprintf(req + rl, sizeof req - (size_t)rl, "%s\r\n", hdrs[i]);
    rl += snprintf(req + rl, sizeof req - (size_t)rl, "\r\n%s", body);
    if ((size_t)rl >= sizeof req) {
        fprintf(stderr, "ttft: request too long\n");
        return 2;
    }

    int64_t *ttft = calloc((size_t)n, sizeof *ttft), *total = calloc((size_t)n, sizeof *total);
    int64_t *head = calloc((size_t)n, sizeof *head);
    resp r = {.raw = malloc(RAW_CAP), .body = malloc(RAW_CAP)};
    if (!ttft || !total || !head || !r.raw || !r.body) {
        fprintf(stderr, "ttft: out of memory\n");
        return 1;
    }
    int fd = -1, got = 0, errors = 0, reconnects = 0, last_status = 0;
    for (int it = 0; it < warmup + n; it++) {
        if (fd < 0) {
            fd = connect_to(host, port);
            if (fd < 0) {
                fprintf(stderr, "ttft: cannot connect to %s:%d: %s\n", host, port, strerror(errno));
                return 1;
            }
            if (it)
                reconnects++;
        }
        r.raw_len = r.pos = r.body_len = r.line_start = 0;
        r.head_done = r.chunked = r.done = r.token_seen = r.status = 0;
        int64_t t0 = now_ns();
        const char *p = req;
        size_t left = (size_t)rl;
        int bad = 0;
        while (left) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                bad = 1;
                break;
            }
            p += w;
            left -= (size_t)w;
        }
        while (!bad && !r.done) {
            if (r.raw_len == RAW_CAP) {
                bad = 1;
                break;
            }
            ssize_t got_n = read(fd, r.raw + r.raw_len, RAW_CAP - r.raw_len);
            if (got_n < 0 && errno == EINTR)
                continue;
            if (got_n <= 0) {
                /* a body delimited by the close is complete now */
                if (got_n == 0 && r.head_done && !r.chunked && r.content_length < 0)
                    r.done = 1;
                else
                    bad = 1;
                r.keep_alive = 0;
                break;
            }
            r.raw_len += (size_t)got_n;
            if (advance(&r) < 0)
                bad = 1;
        }
        int64_t t1 = now_ns();
        last_status = r.status;
        if (bad || !r.keep_alive) {
            close(fd);
            fd = -1;
        }
        if (bad || r.status != 200 || !r.token_seen) {
            errors++;
            if (errors > 20 && errors > it / 2) {
                fprintf(stderr, "ttft: too many failed requests (last status %d)\n", last_status);
                return 1;
            }
            continue;
        }
        if (it >= warmup) {
            ttft[got] = (r.t_token - t0) / 1000;
            head[got] = (r.t_head - t0) / 1000;
            total[got] = (t1 - t0) / 1000;
            got++;
        }
    }
    if (fd >= 0)
        close(fd);
    qsort(ttft, (size_t)got, sizeof *ttft, cmp_i64);
    qsort(total, (size_t)got, sizeof *total, cmp_i64);
    qsort(head, (size_t)got, sizeof *head, cmp_i64);
    printf("{\"n\":%d,\"ttft_p50_us\":%lld,\"ttft_p90_us\":%lld,\"ttft_p99_us\":%lld,"
           "\"total_p50_us\":%lld,\"total_p99_us\":%lld,\"headers_p50_us\":%lld,"
           "\"errors\":%d,\"reconnects\":%d}\n",
           got, (long long)pct(ttft, got, 50), (long long)pct(ttft, got, 90),
           (long long)pct(ttft, got, 99), (long long)pct(total, got, 50),
           (long long)pct(total, got, 99), (long long)pct(head, got, 50), errors, reconnects);
    free(ttft);
    free(total);
    free(head);
    free(r.raw);
    free(r.body);
    return got ? 0 : 1;
}
