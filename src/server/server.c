/*
 * server.c — the serving process: services bundles, worker threads,
 * signals, reload and drain.
 *
 * Main thread: loads the config, builds the first bundle, binds one
 * SO_REUSEPORT socket per worker, starts the workers, prints the start
 * line, then runs a small libuv loop that only handles signals:
 *   SIGHUP          load the config again; on error keep the old one and
 *                   log why; else publish a new bundle and wake every worker,
 *                   which builds a new generation (dispatch) for new requests
 *                   and frees the old one when its last request ends;
 *   SIGTERM/SIGINT  draining: every worker stops accepting (listen socket
 *                   closed), /readyz answers 503, new requests on open
 *                   connections get 503 + Connection: close; the workers
 *                   stop when the last request of the process ended or
 *                   server.drain_ms passed (then the rest are cancelled);
 *                   lx_serve_run returns LX_OK. A second signal stops at
 *                   once.
 * A bundle is reference-counted: the server holds one reference to the
 * current bundle, every worker generation one to its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "guard/scanner.h"
#include "server/metrics.h"
#include "server/server_int.h"

/* ---- bundles ---------------------------------------------------------------- */

lx_status srv_bundle_new(lx_config *cfg, uint64_t seq, srv_bundle **out, lx_error *err)
{
    *out = NULL;
    srv_bundle *b = calloc(1, sizeof *b);
    if (!b)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    atomic_init(&b->refs, 1);
    b->seq = seq;
    b->svc.config = cfg;
    lx_status st = lx_router_new(cfg, &b->svc.router, err);
    if (st == LX_OK)
        st = lx_breakers_new(&cfg->reliability.breaker, &b->svc.breakers, err);
    if (st == LX_OK && cfg->n_keys &&
        !(b->key_inflight = calloc(cfg->n_keys, sizeof *b->key_inflight)))
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
    if (st != LX_OK) {
        if (b->svc.breakers)
            lx_breakers_free(b->svc.breakers);
        if (b->svc.router)
            lx_router_free(b->svc.router);
        free(b->key_inflight);
        free(b);
        return st;
    }
    lx_error ae = {0};
    lx_error_clear(&ae);
    if (lx_account_open(cfg, &b->svc.account, &ae) != LX_OK) {
        LX_WARN("serve: the ledger is not available (%s); requests are served without it",
                ae.message);
        b->svc.account = NULL;
    }
    b->cfg = cfg;
    *out = b;
    return LX_OK;
}

void srv_bundle_ref(srv_bundle *b)
{
    atomic_fetch_add(&b->refs, 1);
}

static void bundle_free(srv_bundle *b)
{
    if (b->svc.account)
        lx_account_close(b->svc.account);
    if (b->svc.breakers)
        lx_breakers_free(b->svc.breakers);
    if (b->svc.router)
        lx_router_free(b->svc.router);
    lx_config_free(b->cfg);
    free(b->key_inflight);
    free(b);
}

/* The last reference usually goes on a worker (its old generation ended
 * after a reload); closing the account flushes the ledger, which must not
 * stall that worker's loop, so the main thread frees it. */
void srv_bundle_unref(srv_bundle *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    srv_server *s = b->srv;
    if (s) {
        pthread_mutex_lock(&s->mu);
        if (s->reap) {
            b->next_dead = s->dead;
            s->dead = b;
            uv_async_send(s->reap);
            pthread_mutex_unlock(&s->mu);
            return;
        }
        pthread_mutex_unlock(&s->mu);
    }
    bundle_free(b);
}

static void reap_dead(srv_server *s)
{
    pthread_mutex_lock(&s->mu);
    srv_bundle *b = s->dead;
    s->dead = NULL;
    pthread_mutex_unlock(&s->mu);
    while (b) {
        srv_bundle *next = b->next_dead;
        bundle_free(b);
        b = next;
    }
}

srv_bundle *srv_current(srv_server *s)
{
    pthread_mutex_lock(&s->mu);
    srv_bundle *b = s->current;
    srv_bundle_ref(b);
    pthread_mutex_unlock(&s->mu);
    return b;
}

/* ---- generations (per worker) --------------------------------------------------- */

static lx_status gen_new(srv_worker *w, srv_bundle *b, srv_gen **out, lx_error *err)
{
    srv_gen *g = calloc(1, sizeof *g);
    if (!g)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    lx_status st = lx_dispatch_new(&b->svc, &w->loop.uv, &g->d, err);
    if (st != LX_OK) {
        free(g);
        return st;
    }
    g->b = b;
    *out = g;
    return LX_OK;
}

static void gen_free(srv_gen *g)
{
    if (g->scratch)
        lx_route_scratch_free(g->scratch);
    if (g->d)
        lx_dispatch_free(g->d);
    srv_bundle_unref(g->b);
    free(g);
}

static void on_finish_timer(uv_timer_t *t);

void srv_gen_release(srv_worker *w, srv_gen *g)
{
    g->active--;
    if (g != w->gen && g->active == 0) {
        for (srv_gen **p = &w->retired; *p; p = &(*p)->next)
            if (*p == g) {
                *p = g->next;
                gen_free(g);
                break;
            }
    }
    /* draining: the last request of the whole process ended -> every worker
     * stops (this one outside MHD's callback) */
    if (w->stopping && atomic_load(&w->srv->active_total) == 0 && w->handles_open) {
        uv_timer_start(&w->drain_timer, on_finish_timer, 0, 0);
        srv_wake_all(w->srv);
    }
}

static void swap_gen(srv_worker *w)
{
    srv_bundle *b = srv_current(w->srv);
    if (b->seq == w->gen_seq) {
        srv_bundle_unref(b);
        return;
    }
    srv_gen *g = NULL;
    lx_error e = {0};
    lx_error_clear(&e);
    if (gen_new(w, b, &g, &e) != LX_OK) {
        LX_ERROR("serve: worker %d keeps the previous config: %s", w->index, e.message);
        srv_bundle_unref(b);
        return;
    }
    srv_gen *old = w->gen;
    w->gen = g;
    w->gen_seq = b->seq;
    if (old->active == 0) {
        gen_free(old);
    } else {
        old->next = w->retired;
        w->retired = old;
    }
}

/* ---- worker thread -------------------------------------------------------------- */

static void on_closed_noop(uv_handle_t *h)
{
    (void)h;
}

static void finish_worker(srv_worker *w)
{
    if (!w->handles_open)
        return;
    uv_timer_stop(&w->drain_timer);
    srv_worker_http_stop(w); /* sets handles_open false */
    pthread_mutex_lock(&w->srv->mu);
    w->wake_open = false; /* no more uv_async_send from other threads */
    pthread_mutex_unlock(&w->srv->mu);
    uv_close((uv_handle_t *)&w->wake, on_closed_noop);
    uv_close((uv_handle_t *)&w->drain_timer, on_closed_noop);
    uv_stop(&w->loop.uv);
}

static void on_finish_timer(uv_timer_t *t)
{
    finish_worker(t->data);
}

static void begin_drain(srv_worker *w)
{
    if (w->stopping)
        return;
    w->stopping = true;
    srv_worker_quiesce(w);
    /* a worker with nothing in flight keeps its open connections (they get
     * 503 + Connection: close, /readyz 503) until the whole process drained */
    if (atomic_load(&w->srv->active_total) == 0) {
        uv_timer_start(&w->drain_timer, on_finish_timer, 0, 0);
        return;
    }
    int64_t ms = w->srv->drain_ms;
    uv_timer_start(&w->drain_timer, on_finish_timer, (uint64_t)(ms > 0 ? ms : 0), 0);
}

static void on_wake(uv_async_t *a)
{
    srv_worker *w = a->data;
    if (atomic_load(&w->srv->draining)) {
        begin_drain(w);
        if ((atomic_load(&w->srv->force) || atomic_load(&w->srv->active_total) == 0) &&
            w->handles_open)
            uv_timer_start(&w->drain_timer, on_finish_timer, 0, 0);
        return;
    }
    if (atomic_load(&w->srv->seq) != w->gen_seq)
        swap_gen(w);
}

static void *worker_main(void *arg)
{
    srv_worker *w = arg;
    lx_error *e = &w->start_err;
    if (lx_loop_init(&w->loop, e) != LX_OK) {
        atomic_store(&w->start_state, -1);
        return NULL;
    }
    w->loop_ok = true;
    lx_buf_init(&w->line, 1 << 16);
    srv_bundle *b = srv_current(w->srv);
    if (gen_new(w, b, &w->gen, e) != LX_OK) {
        srv_bundle_unref(b);
        atomic_store(&w->start_state, -1);
        return NULL;
    }
    w->gen_seq = b->seq;
    uv_async_init(&w->loop.uv, &w->wake, on_wake);
    w->wake.data = w;
    pthread_mutex_lock(&w->srv->mu);
    w->wake_open = true;
    pthread_mutex_unlock(&w->srv->mu);
    uv_timer_init(&w->loop.uv, &w->drain_timer);
    w->drain_timer.data = w;
    if (srv_worker_http_start(w, e) != LX_OK) {
        pthread_mutex_lock(&w->srv->mu);
        w->wake_open = false;
        pthread_mutex_unlock(&w->srv->mu);
        uv_close((uv_handle_t *)&w->wake, on_closed_noop);
        uv_close((uv_handle_t *)&w->drain_timer, on_closed_noop);
        srv_worker_http_stop(w);
        atomic_store(&w->start_state, -1);
        gen_free(w->gen);
        w->gen = NULL;
        lx_loop_close(&w->loop);
        w->loop_ok = false;
        lx_buf_free(&w->line);
        return NULL;
    }
    atomic_store(&w->start_state, 1);
    /* a drain may have been asked before the wake handle existed */
    if (atomic_load(&w->srv->draining))
        begin_drain(w);
    uv_run(&w->loop.uv, UV_RUN_DEFAULT);
    finish_worker(w);
    for (srv_gen *g = w->retired, *next; g; g = next) {
        next = g->next;
        gen_free(g);
    }
    w->retired = NULL;
    gen_free(w->gen);
    w->gen = NULL;
    lx_loop_close(&w->loop);
    w->loop_ok = false;
    srv_worker_free_pools(w);
    lx_buf_free(&w->line);
    srv_server *s = w->srv;
    pthread_mutex_lock(&s->mu);
    atomic_fetch_add(&s->workers_done, 1);
    if (s->main_done)
        uv_async_send(s->main_done);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- listening -------------------------------------------------------------------- */

static lx_status split_listen(const char *spec, char *host, size_t hcap, char *port, size_t pcap,
                              lx_error *err)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1])
        return lx_fail(err, LX_ERR_USAGE, "listen address '%.100s': expected HOST:PORT", spec);
    const char *h = spec;
    size_t hl = (size_t)(colon - spec);
    if (h[0] == '[') {
        if (hl < 2 || h[hl - 1] != ']')
            return lx_fail(err, LX_ERR_USAGE, "listen address '%.100s': expected [IPv6]:PORT",
                           spec);
        h++;
        hl -= 2;
    }
    if (hl + 1 > hcap || strlen(colon + 1) + 1 > pcap)
        return lx_fail(err, LX_ERR_USAGE, "listen address '%.100s' is too long", spec);
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return lx_fail(err, LX_ERR_USAGE, "listen address '%.100s': the port must be a number",
                           spec);
    if (atoi(port) > 65535)
        return lx_fail(err, LX_ERR_USAGE, "listen address '%.100s': port out of range", spec);
    return LX_OK;
}

static bool addr_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

typedef struct listen_plan {
    struct sockaddr_storage addr;
    socklen_t len;
    bool loopback;
} listen_plan;

static lx_status resolve_listen(const char *spec, listen_plan *lp, lx_error *err)
{
    char host[256], port[16];
    lx_status st = split_listen(spec, host, sizeof host, port, sizeof port, err);
    if (st != LX_OK)
        return st;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 || !res)
        return lx_fail(err, LX_ERR_USAGE, "listen address '%.100s': %s", spec, gai_strerror(rc));
    memcpy(&lp->addr, res->ai_addr, res->ai_addrlen);
    lp->len = res->ai_addrlen;
    lp->loopback = true;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (!addr_loopback(a->ai_addr))
            lp->loopback = false;
    freeaddrinfo(res);
    return LX_OK;
}

/* SO_REUSEPORT would let a second `llmux serve` join the port of a running
 * one and silently take half its connections: first bind once without it,
 * so a port in use is an error; port 0 becomes the concrete port here. */
static lx_status probe_listen(listen_plan *lp, const char *spec, lx_error *err)
{
    int fd = socket(lp->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lx_fail(err, LX_ERR_IO, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&lp->addr, lp->len) != 0) {
        int e = errno;
        close(fd);
        return lx_fail(err, LX_ERR_IO, "cannot listen on %.100s: %s%s", spec, strerror(e),
                       e == EADDRINUSE ? " (another server, or another llmux serve, has it)" : "");
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0) {
        memcpy(&lp->addr, &got, gl);
        lp->len = gl;
    }
    close(fd);
    return LX_OK;
}

static int open_listen(listen_plan *lp, lx_error *err)
{
    int fd = socket(lp->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        lx_fail(err, LX_ERR_IO, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&lp->addr, lp->len) != 0) {
        lx_fail(err, LX_ERR_IO, "cannot listen on that address: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 1024) != 0) {
        lx_fail(err, LX_ERR_IO, "listen: %s", strerror(errno));
        close(fd);
        return -1;
    }
    /* port 0: the others bind the port the first one got */
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0) {
        memcpy(&lp->addr, &got, gl);
        lp->len = gl;
    }
    return fd;
}

static void show_addr(const listen_plan *lp, char *out, size_t cap)
{
    char h[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (lp->addr.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&lp->addr;
        inet_ntop(AF_INET, &in->sin_addr, h, sizeof h);
        port = ntohs(in->sin_port);
        snprintf(out, cap, "%s:%d", h, port);
    } else {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)&lp->addr;
        inet_ntop(AF_INET6, &in->sin6_addr, h, sizeof h);
        port = ntohs(in->sin6_port);
        snprintf(out, cap, "[%s]:%d", h, port);
    }
}

/* ---- signals ------------------------------------------------------------------------ */

typedef struct main_ctx {
    srv_server *s;
    uv_loop_t loop;
    uv_signal_t term, intr, hup;
    uv_async_t done; /* a worker has ended */
    uv_async_t reap; /* bundles to free */
    uv_timer_t trim; /* gives freed heap back to the system */
} main_ctx;

/* glibc keeps freed memory in each thread's arena; after a burst (64
 * streams, a large body) RSS would stay at its peak for the life of the
 * server. Every two seconds the main thread hands the unused part back. */
#define TRIM_EVERY_MS 2000

static void on_trim(uv_timer_t *t)
{
    malloc_trim(0);
}

void srv_wake_all(srv_server *s)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i].wake_open)
            uv_async_send(&s->workers[i].wake);
    pthread_mutex_unlock(&s->mu);
}

static void reload(srv_server *s)
{
    lx_config *cfg = NULL;
    lx_error e = {0};
    lx_error_clear(&e);
    srv_bundle *b = NULL;
    uint64_t seq = atomic_load(&s->seq) + 1;
    if (lx_config_load(s->config_path, &cfg, &e) != LX_OK ||
        srv_bundle_new(cfg, seq, &b, &e) != LX_OK) {
        lx_config_free(cfg);
        LX_ERROR("serve: reload failed, keeping the current config: %s", e.message);
        /* the access log is reopened all the same (log rotation) */
        char path[sizeof s->log.path];
        lx_strlcpy(path, s->log.path, sizeof path);
        lx_error le = {0};
        if (srv_log_open(&s->log, path, &le) != LX_OK)
            LX_ERROR("serve: %s; access log unchanged", le.message);
        return;
    }
    b->srv = s;
    { /* reopened every time, so log rotation works with SIGHUP */
        lx_error le = {0};
        if (srv_log_open(&s->log, cfg->server.access_log, &le) != LX_OK)
            LX_ERROR("serve: %s; access log unchanged", le.message);
    }
    pthread_mutex_lock(&s->mu);
    srv_bundle *old = s->current;
    s->current = b;
    atomic_store(&s->seq, seq);
    pthread_mutex_unlock(&s->mu);
    const lx_server_cfg *was = &old->cfg->server, *now = &cfg->server;
    if (strcmp(was->listen, now->listen) || was->workers != now->workers ||
        was->drain_ms != now->drain_ms)
        LX_WARN("serve: server.listen, server.workers and server.drain_ms take effect at the "
                "next start, not on reload");
    srv_bundle_unref(old);
    LX_INFO("serve: config reloaded from %s", cfg->source ? cfg->source : "(environment)");
    srv_wake_all(s);
}

static void on_signal(uv_signal_t *h, int sig)
{
    main_ctx *m = h->data;
    if (sig == SIGHUP) {
        if (!atomic_load(&m->s->draining))
            reload(m->s);
        return;
    }
    /* a second SIGTERM/SIGINT: stop now */
    if (atomic_exchange(&m->s->draining, true))
        atomic_store(&m->s->force, true);
    srv_wake_all(m->s);
}

static void on_worker_done(uv_async_t *a)
{
    main_ctx *m = a->data;
    if (atomic_load(&m->s->workers_done) < m->s->n_workers)
        return;
    uv_close((uv_handle_t *)&m->term, NULL);
    uv_close((uv_handle_t *)&m->intr, NULL);
    uv_close((uv_handle_t *)&m->hup, NULL);
    uv_close((uv_handle_t *)&m->done, NULL);
    uv_close((uv_handle_t *)&m->trim, NULL);
    pthread_mutex_lock(&m->s->mu);
    m->s->reap = NULL;
    pthread_mutex_unlock(&m->s->mu);
    uv_close((uv_handle_t *)&m->reap, NULL);
}

static void on_reap(uv_async_t *a)
{
    main_ctx *m = a->data;
    reap_dead(m->s);
}

/* ---- the whole ------------------------------------------------------------------------ */

static int cpu_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > 8 ? 8 : (int)n;
}

static void stop_workers(srv_server *s)
{
    atomic_store(&s->draining, true);
    atomic_store(&s->force, true);
    srv_wake_all(s);
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i].th_started) {
            pthread_join(s->workers[i].th, NULL);
            s->workers[i].th_started = false;
        }
}

lx_status lx_serve_run(const lx_serve_opts *o, lx_error *err)
{
    lx_config *cfg = NULL;
    lx_scanner_isolate_compile(true); /* the compiler's memory stays out of the server */
    lx_status st = lx_config_load(o->config_path, &cfg, err);
    if (st != LX_OK)
        return st == LX_ERR_NOMEM ? st : LX_ERR_CONFIG;
    const char *listen = o->listen ? o->listen : cfg->server.listen;
    listen_plan lp;
    if ((st = resolve_listen(listen, &lp, err)) != LX_OK) {
        lx_config_free(cfg);
        return st;
    }
    if (!lp.loopback && cfg->n_keys == 0) {
        lx_config_free(cfg);
        return lx_fail(err, LX_ERR_USAGE,
                       "no keys configured, so llmux serve only listens on loopback (127.0.0.1 "
                       "or [::1]); add `keys:` to the config to listen on %.100s",
                       listen);
    }
    int workers = o->workers > 0 ? o->workers : cfg->server.workers;
    if (workers <= 0)
        workers = cpu_workers();

    srv_server *s = calloc(1, sizeof *s);
    if (!s) {
        lx_config_free(cfg);
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    atomic_init(&s->log.fd, -1);
    s->config_path = o->config_path;
    s->drain_ms = cfg->server.drain_ms;
    s->started_ns = srv_now_ns();
    size_t n_keys = cfg->n_keys;
    srv_bundle *b = NULL;
    st = srv_bundle_new(cfg, 1, &b, err);
    if (st != LX_OK) {
        lx_config_free(cfg);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return st == LX_ERR_NOMEM ? st : LX_ERR_CONFIG;
    }
    b->srv = s;
    s->current = b;
    atomic_store(&s->seq, 1);
    malloc_trim(0); /* what loading the config and building the services freed */
    if ((st = srv_log_open(&s->log, cfg->server.access_log, err)) != LX_OK)
        goto out;
    s->metrics = lx_metrics_new();
    s->workers = calloc((size_t)workers, sizeof *s->workers);
    if (!s->workers) {
        st = lx_fail(err, LX_ERR_NOMEM, "out of memory");
        goto out;
    }
    s->n_workers = workers;
    for (int i = 0; i < workers; i++)
        s->workers[i].listen_fd = -1;
    if ((st = probe_listen(&lp, listen, err)) != LX_OK)
        goto out;
    for (int i = 0; i < workers; i++) {
        srv_worker *w = &s->workers[i];
        w->srv = s;
        w->index = i;
        w->listen_fd = open_listen(&lp, err);
        if (w->listen_fd < 0) {
            st = LX_ERR_IO;
            goto out;
        }
    }
    show_addr(&lp, s->listen_shown, sizeof s->listen_shown);
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl; /* connections are descriptors: allow as many as the hard limit */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    for (int i = 0; i < workers; i++) {
        srv_worker *w = &s->workers[i];
        if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
            st = lx_fail(err, LX_ERR_INTERNAL, "cannot start worker threads");
            goto out;
        }
        w->th_started = true;
    }
    for (int i = 0; i < workers; i++) {
        srv_worker *w = &s->workers[i];
        while (atomic_load(&w->start_state) == 0) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&w->start_state) < 0) {
            *err = w->start_err;
            if (err->code == LX_OK)
                err->code = LX_ERR_INTERNAL;
            st = err->code;
            goto out;
        }
    }
    atomic_store(&s->ready, true);
    fprintf(stderr, "llmux serve: listening on http://%s (%d worker%s, %zu key%s%s)\n",
            s->listen_shown, workers, workers == 1 ? "" : "s", n_keys, n_keys == 1 ? "" : "s",
            n_keys ? "" : "; no keys configured: loopback only");
    lx_buf warn;
    lx_buf_init(&warn, 1 << 16);
    lx_config_warnings(cfg, &warn);
    for (char *line = warn.data, *nl; line && *line; line = nl + 1) {
        if (!(nl = strchr(line, '\n')))
            break;
        LX_WARN("%.*s", (int)(nl - line), line);
    }
    lx_buf_free(&warn);
    fflush(stderr);

    main_ctx m = {.s = s};
    uv_loop_init(&m.loop);
    uv_async_init(&m.loop, &m.done, on_worker_done);
    m.done.data = &m;
    uv_async_init(&m.loop, &m.reap, on_reap);
    m.reap.data = &m;
    pthread_mutex_lock(&s->mu);
    s->main_done = &m.done;
    s->reap = &m.reap;
    bool all_done = atomic_load(&s->workers_done) >= s->n_workers;
    pthread_mutex_unlock(&s->mu);
    if (all_done)
        uv_async_send(&m.done);
    uv_signal_init(&m.loop, &m.term);
    uv_signal_init(&m.loop, &m.intr);
    uv_signal_init(&m.loop, &m.hup);
    m.term.data = m.intr.data = m.hup.data = &m;
    uv_signal_start(&m.term, on_signal, SIGTERM);
    uv_signal_start(&m.intr, on_signal, SIGINT);
    uv_signal_start(&m.hup, on_signal, SIGHUP);
    uv_timer_init(&m.loop, &m.trim);
    uv_timer_start(&m.trim, on_trim, TRIM_EVERY_MS, TRIM_EVERY_MS);
    uv_unref((uv_handle_t *)&m.trim);
    uv_run(&m.loop, UV_RUN_DEFAULT);
    pthread_mutex_lock(&s->mu);
    s->main_done = NULL;
    s->reap = NULL;
    pthread_mutex_unlock(&s->mu);
    uv_loop_close(&m.loop);
    for (int i = 0; i < workers; i++)
        if (s->workers[i].th_started) {
            pthread_join(s->workers[i].th, NULL);
            s->workers[i].th_started = false;
        }
    st = LX_OK;
out:
    stop_workers(s);
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i].listen_fd >= 0 && atomic_load(&s->workers[i].start_state) != 1)
            close(s->workers[i].listen_fd);
    free(s->workers);
    if (s->metrics)
        lx_metrics_free(s->metrics);
    srv_log_close(&s->log);
    reap_dead(s);
    srv_bundle_unref(s->current);
    reap_dead(s);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return st;
}
