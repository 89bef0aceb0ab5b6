/* libFuzzer target: raw bytes into the server's real HTTP request path.
 *
 * Two in-process workers are built once, the way src/server/server.c builds
 * one: a services bundle from a fixed config (one without keys, so bodies
 * reach the decoders, the router and the dispatcher; one with a key, so the
 * auth path runs too), a libuv loop, the worker's dispatch and its
 * libmicrohttpd daemon in external-epoll mode driven by that loop. The
 * first input byte picks the worker; the rest is what a client sends.
 *
 * Per input: a socketpair; one end goes to MHD with MHD_add_connection, the
 * input is written to the other end while the loop runs; once everything is
 * written and no request is waiting on a job, the client end is closed and
 * the loop runs until the server has closed the connection and every
 * request has ended (a connection that never goes away traps: it would be a
 * leak in a real server). Remote providers point at a closed port on
 * 127.0.0.1, so a request that gets as far as dispatch fails fast with a
 * connection error; nothing leaves the machine. Privacy mode is redact, so
 * requests with findings go through redaction too. With FUZZ_HTTP_LOCAL=1
 * and the test model stories260K found ($LLMUX_MODEL_DIR, else
 * ../shared/models from the working directory), the embedded engine is the
 * provider `loc/stories`, so answers also succeed and stream.
 *
 * Seeds: tests/fixtures/http (scripts/fuzz-smoke.sh picks them up): one
 * request per endpoint and dialect, pipelined GETs, HEAD/OPTIONS, chunked
 * bodies, bad JSON, a wrong content type. FUZZ_HTTP_DEBUG=1 prints what the
 * server sends and how long each phase took.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/metrics.h"
#include "server/server_int.h"

typedef struct fz_worker {
    srv_server srv;
    srv_worker w;
    bool ok;
} fz_worker;

static fz_worker g_fz[2];

static const char CONFIG[] = "default_model: up/echo\n"
                             "providers:\n"
                             "  - name: up\n"
                             "    type: openai\n"
                             "    base_url: http://127.0.0.1:9/v1\n"
                             "    api_key_env: FUZZ_HTTP_UPSTREAM_KEY\n"
                             "    models: [echo, tools]\n"
                             "  - name: ant\n"
                             "    type: anthropic\n"
                             "    base_url: http://127.0.0.1:9\n"
                             "    api_key_env: FUZZ_HTTP_UPSTREAM_KEY\n"
                             "  - name: oll\n"
                             "    type: ollama\n"
                             "    base_url: http://127.0.0.1:9\n"
                             "aliases: {fast: up/echo}\n"
                             "routing: {default: up/echo, privacy: redact}\n"
                             "timeouts: {connect_ms: 200, first_byte_ms: 300, idle_ms: 300, "
                             "total_ms: 1000}\n"
                             "reliability:\n"
                             "  retry: {max_attempts: 1}\n"
                             "server:\n"
                             "  max_body: 65536\n"
                             "  header_timeout_ms: 2000\n"
                             "  access_log: \"off\"\n"
                             "ledger:\n"
                             "  enabled: false\n";

static const char KEYS[] = "keys:\n"
                           "  - id: fuzz\n"
                           "    key_env: FUZZ_HTTP_KEY\n"
                           "    models: [up/echo, fast%s]\n";

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A listening socket MHD owns but nobody connects to (connections arrive
 * through MHD_add_connection). */
static int idle_listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool fz_start(fz_worker *f, bool with_keys)
{
    lx_error e;
    lx_error_clear(&e);
    /* FUZZ_HTTP_LOCAL=1: the embedded engine with the smallest test model
     * as loc/stories, so answers succeed and stream (the encoders). Opt-in:
     * an answer without max_tokens runs to the end of the context (seconds
     * under ASan), which slows the run down a lot. */
    char local[1200] = "";
    const char *dir = getenv("LLMUX_MODEL_DIR");
    char gguf[1024];
    snprintf(gguf, sizeof gguf, "%s/stories260K/stories260K.gguf", dir ? dir : "../shared/models");
    if (getenv("FUZZ_HTTP_LOCAL") && access(gguf, R_OK) == 0)
        snprintf(local, sizeof local,
                 "  - name: loc\n    type: local\n    model: %s\n    models: [stories]\n", gguf);
    char keys[sizeof KEYS + 32];
    snprintf(keys, sizeof keys, KEYS, local[0] ? ", loc/stories" : "");
    char yaml[sizeof CONFIG + sizeof keys + sizeof local];
    /* providers: is the last key of CONFIG's first block, so the local one
     * is appended to the list by splitting CONFIG at "aliases:" */
    const char *split = strstr(CONFIG, "aliases:");
    snprintf(yaml, sizeof yaml, "%.*s%s%s%s", (int)(split - CONFIG), CONFIG, local, split,
             with_keys ? keys : "");
    lx_config *cfg = NULL;
    if (lx_config_parse(yaml, strlen(yaml), "fuzz_http.yaml", &cfg, &e) != LX_OK) {
        fprintf(stderr, "fuzz_http: config: %s\n", e.message);
        return false;
    }
    srv_bundle *b = NULL;
    if (srv_bundle_new(cfg, 1, &b, &e) != LX_OK) {
        fprintf(stderr, "fuzz_http: bundle: %s\n", e.message);
        lx_config_free(cfg);
        return false;
    }
    srv_server *s = &f->srv;
    pthread_mutex_init(&s->mu, NULL);
    s->current = b;
    atomic_init(&s->seq, 1);
    s->metrics = lx_metrics_new();
    atomic_init(&s->log.fd, -1);
    atomic_init(&s->inflight, 0);
    atomic_init(&s->draining, false);
    atomic_init(&s->ready, true);
    s->n_workers = 1;
    s->workers = &f->w;
    s->drain_ms = 1000;
    snprintf(s->listen_shown, sizeof s->listen_shown, "fuzz");

    srv_worker *w = &f->w;
    w->srv = s;
    w->index = 0;
    if (lx_loop_init(&w->loop, &e) != LX_OK)
        return false;
    w->loop_ok = true;
    lx_buf_init(&w->line, 1 << 16);
    /* the worker's generation, as server.c's gen_new makes it */
    srv_gen *g = calloc(1, sizeof *g);
    if (!g)
        return false;
    srv_bundle_ref(b);
    g->b = b;
    if (lx_dispatch_new(&b->svc, &w->loop.uv, &g->d, &e) != LX_OK) {
        fprintf(stderr, "fuzz_http: dispatch: %s\n", e.message);
        return false;
    }
    w->gen = g;
    w->gen_seq = b->seq;
    uv_async_init(&w->loop.uv, &w->wake, NULL);
    w->wake.data = w;
    uv_timer_init(&w->loop.uv, &w->drain_timer);
    w->drain_timer.data = w;
    w->listen_fd = idle_listener();
    if (w->listen_fd < 0 || srv_worker_http_start(w, &e) != LX_OK) {
        fprintf(stderr, "fuzz_http: http: %s\n", e.message);
        return false;
    }
    atomic_store(&w->start_state, 1);
    return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("LLMUX_LOG", "error", 0);
    setenv("FUZZ_HTTP_KEY", "fuzzkey", 1);
    setenv("FUZZ_HTTP_UPSTREAM_KEY", "sk-upstream", 1);
    signal(SIGPIPE, SIG_IGN);
    g_fz[0].ok = fz_start(&g_fz[0], false);
    g_fz[1].ok = fz_start(&g_fz[1], true);
    if (!g_fz[0].ok || !g_fz[1].ok) {
        fprintf(stderr, "fuzz_http: cannot build the in-process server\n");
        abort();
    }
    return 0;
}

/* Reads and drops what the server sent; true while the server keeps the
 * connection open. *got counts the bytes. */
static bool drain(int fd, size_t *got)
{
    static int debug = -1;
    if (debug < 0)
        debug = getenv("FUZZ_HTTP_DEBUG") != NULL;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            if (debug)
                fprintf(stderr, "<<< %.*s\n", (int)n, buf);
            *got += (size_t)n;
            continue;
        }
        if (n == 0)
            return false;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
}

/* A request of this worker still waits on its job (upstream work). */
static bool job_running(srv_worker *w)
{
    for (srv_conn *c = w->conns; c; c = c->next)
        if (c->req && c->req->job && !c->req->done)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fz_worker *f = &g_fz[data[0] & 1];
    srv_worker *w = &f->w;
    data++;
    size--;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    struct sockaddr_in peer;
    memset(&peer, 0, sizeof peer);
    peer.sin_family = AF_INET;
    peer.sin_port = htons(40000);
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (MHD_add_connection(w->mhd, sv[0], (struct sockaddr *)&peer, sizeof peer) != MHD_YES) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    srv_worker_kick(w);

    /* phase 1: write the input, let the server answer what it can */
    size_t off = 0, got = 0, last_got = 0;
    int quiet = 0;
    bool open = true;
    uint64_t end = now_ms() + 3000;
    while (open && now_ms() < end) {
        if (off < size) {
            ssize_t n = write(sv[1], data + off, size - off);
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                break; /* the server closed its end */
        }
        uv_run(&w->loop.uv, UV_RUN_NOWAIT);
        open = drain(sv[1], &got);
        if (off == size) {
            quiet = (got == last_got && !job_running(w)) ? quiet + 1 : 0;
            last_got = got;
            if (quiet >= 4)
                break;
        }
    }
    /* phase 2: the client goes away; the server must let go of everything */
    if (getenv("FUZZ_HTTP_DEBUG"))
        fprintf(stderr, "phase 1 done: %zu of %zu bytes written, %zu read, %llu ms left\n", off,
                size, got, (unsigned long long)(end - now_ms()));
    close(sv[1]);
    end = now_ms() + 3000;
    uint64_t t2 = now_ms();
    while ((w->conns || w->active_reqs) && now_ms() < end)
        uv_run(&w->loop.uv, UV_RUN_NOWAIT);
    if (getenv("FUZZ_HTTP_DEBUG"))
        fprintf(stderr, "phase 2: %llu ms\n", (unsigned long long)(now_ms() - t2));
    if (w->conns || w->active_reqs) {
        fprintf(stderr, "fuzz_http: connection or request still open 3 s after the client left\n");
        __builtin_trap();
    }
    return 0;
}
