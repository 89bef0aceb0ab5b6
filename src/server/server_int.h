/*
 * server_int.h — shared between the files of src/server/ (not a public API).
 *
 *   server.c     process: services bundles, workers, signals, reload, drain
 *   http.c       one worker's MHD daemon on its libuv loop: connections,
 *                request bodies, suspend/resume, streamed replies, the
 *                slow-loris deadline, client-disconnect detection
 *   endpoints.c  the routes and the chat path (decode, dispatch, encode)
 *   catalog.c    model listings (/v1/models, /api/tags, /api/show)
 *   embeddings.c /v1/embeddings, /api/embed, /api/embeddings (pass-through)
 *   keys.c       virtual keys
 *   accesslog.c  one JSON line per request
 *
 * Threads: a worker and everything hanging off it (connections, requests,
 * generations) belongs to that worker's thread. What is shared between
 * threads is in srv_server (atomics, or under `mu`) and in bundles
 * (immutable after creation except for atomic counters).
 */
#ifndef LX_SERVER_INT_H
#define LX_SERVER_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "account/account.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/types.h"
#include "net/loop.h"
#include "proto/codec.h"
#include "router/breaker.h"
#include "router/dispatch.h"
#include "router/router.h"
#include "server/server.h"

/* ---- services bundle (one per loaded config) ---------------------------- */

typedef struct srv_bundle {
    atomic_int refs;
    lx_config *cfg;
    lx_services svc;          /* what every lx_dispatch of this bundle uses */
    atomic_int *key_inflight; /* per cfg->keys[i]: requests in flight */
    uint64_t seq;             /* 1, 2, ... in load order */
    struct srv_server *srv;   /* where a worker hands the last reference (may be NULL) */
    struct srv_bundle *next_dead;
} srv_bundle;

lx_status srv_bundle_new(lx_config *cfg, uint64_t seq, srv_bundle **out, lx_error *err);
void srv_bundle_ref(srv_bundle *b);
void srv_bundle_unref(srv_bundle *b);

/* ---- access log --------------------------------------------------------- */

typedef struct srv_log {
    atomic_int fd;  /* -1: off */
    int old_fds[4]; /* the last ones replaced by reloads; closed later */
    int n_old;
    char path[512];
} srv_log;

lx_status srv_log_open(srv_log *l, const char *spec, lx_error *err);
void srv_log_close(srv_log *l);

/* ---- the process -------------------------------------------------------- */

typedef struct srv_worker srv_worker;
typedef struct lx_metrics lx_metrics;

typedef struct srv_server {
    pthread_mutex_t mu;
    srv_bundle *dead;         /* under mu: bundles whose last reference went, to free */
    uv_async_t *reap;         /* under mu: the main loop frees `dead` (NULL: free in place) */
    srv_bundle *current;      /* under mu; the server holds one reference */
    atomic_uint_fast64_t seq; /* seq of `current` (read without mu) */
    lx_metrics *metrics;      /* NULL until the metrics module is there */
    srv_log log;
    atomic_int inflight;     /* chat/count/embeddings requests in flight, all workers */
    atomic_int active_total; /* every request being served, all workers */
    atomic_bool draining, ready, force;
    atomic_int workers_done;
    uv_async_t *main_done; /* under mu: told when a worker ends */
    int n_workers;
    srv_worker *workers;
    const char *config_path; /* as given; NULL = search */
    /* fixed at start (not reloaded) */
    int64_t drain_ms;
    char listen_shown[300]; /* "127.0.0.1:8080" as bound */
    uint64_t started_ns;
} srv_server;

/* Wakes every worker (drain, reload); any thread. */
void srv_wake_all(srv_server *s);
/* Takes a new reference to the current bundle. */
srv_bundle *srv_current(srv_server *s);

/* ---- one worker --------------------------------------------------------- */

/* The services a worker uses for one bundle. Requests hold it; when a reload
 * replaces it, it is freed once its last request ends. */
typedef struct srv_gen {
    srv_bundle *b;
    lx_dispatch *d;
    lx_route_scratch *scratch; /* count_tokens; made on first use */
    int active;                /* requests using it */
    struct srv_gen *next;      /* retired list */
} srv_gen;

typedef struct srv_conn srv_conn;
typedef struct srv_req srv_req;

struct srv_worker {
    srv_server *srv;
    int index;
    pthread_t th;
    bool th_started;
    lx_loop loop;
    bool loop_ok;
    struct MHD_Daemon *mhd;
    int listen_fd;
    uv_poll_t mhd_poll;
    uv_timer_t mhd_timer; /* MHD_get_timeout, and kicks after resume */
    uv_check_t mhd_check; /* a kick runs MHD right after this loop turn's I/O */
    uv_timer_t tick;      /* header deadlines, drain checks */
    uv_async_t wake;      /* drain / reload requests from the main thread */
    bool wake_open;       /* under srv->mu: wake may be signalled */
    uv_timer_t drain_timer;
    bool handles_open;
    srv_gen *gen;
    srv_gen *retired;
    uint64_t gen_seq;
    srv_conn *conns; /* open connections (doubly linked) */
    srv_conn *free_conns;
    srv_req *free_reqs;
    int n_free_reqs, n_free_conns;
    int active_reqs;
    bool quiesced, stopping, in_mhd_run, kick_pending;
    lx_buf line;          /* access log line scratch */
    unsigned rid_seed;    /* request ids: seed ... */
    uint64_t rid_counter; /* ... and counter */
    lx_error start_err;
    atomic_int start_state; /* 0 starting, 1 running, -1 failed */
};

/* http.c */
lx_status srv_worker_http_start(srv_worker *w, lx_error *err);
void srv_worker_kick(srv_worker *w);             /* MHD_run on the next loop turn */
void srv_worker_quiesce(srv_worker *w);          /* stop accepting */
void srv_worker_http_stop(srv_worker *w);        /* cancel everything, stop MHD */
void srv_gen_release(srv_worker *w, srv_gen *g); /* a request is done with g */
void srv_worker_free_pools(srv_worker *w);       /* after the loop closed everything */

/* ---- connections and requests ------------------------------------------- */

struct srv_conn {
    srv_worker *w;
    struct MHD_Connection *c;
    int fd;
    uint64_t deadline_ms; /* loop time by which the request must have arrived; 0 none */
    uv_poll_t poll;       /* client-disconnect watch while a request runs */
    bool poll_init, poll_active, closing, hup;
    srv_req *req;
    srv_conn *prev, *next;
};

typedef enum {
    EP_NONE = 0,
    EP_CHAT,
    EP_COUNT_TOKENS,
    EP_MODELS,
    EP_EMBEDDINGS,
    EP_TAGS,
    EP_VERSION,
    EP_SHOW,
    EP_HEALTHZ,
    EP_READYZ,
    EP_METRICS,
    EP_ROOT,
    EP_PS,
} srv_ep_kind;

/* A caller's dialect, server side. */
typedef struct srv_front {
    const char *name; /* "openai", "anthropic", "ollama" */
    const lx_codec *codec;
    lx_status (*decode)(const char *body, size_t len, lx_request **out, lx_error *err);
    lx_status (*encode)(const lx_response *r, const lx_codec_opts *o, lx_buf *out, lx_error *err);
    lx_stream_encoder *(*stream_new)(const lx_codec_opts *o);
} srv_front;

extern const srv_front srv_front_openai, srv_front_anthropic, srv_front_ollama_chat,
    srv_front_ollama_generate;

typedef struct srv_route {
    const char *method; /* "GET", "POST" */
    const char *path;
    srv_ep_kind kind;
    const srv_front *front;
    bool auth; /* needs a key when keys are configured */
} srv_route;

#define SRV_MAX_HEADERS 48

/* What the access log and the x-llmux-* headers say (copied from the
 * outcome while it is valid). Strings point into the bundle's config, into
 * literals, or into the small arrays here. */
typedef struct srv_result {
    const char *target;   /* "local" | "cloud" | "none" | NULL */
    const char *provider; /* NULL when none */
    char model[128];
    char reason[240];
    lx_usage usage;
    double cost_usd;
    int64_t ttft_ms, latency_ms, overhead_us;
    bool have;
    char error[200];
} srv_result;

struct srv_req {
    srv_worker *w;
    srv_conn *conn;
    struct MHD_Connection *c;
    srv_gen *gen;
    const srv_route *route;
    const srv_front *front; /* for errors; never NULL once routed */
    const char *method;
    char path[128];
    char rid[65]; /* x-request-id */
    uint64_t t0_ns;
    int64_t ts_ms; /* wall clock at start */
    lx_buf body;
    size_t discarded; /* body bytes past the cap */
    bool include_usage;
    bool first_done, too_big, responded, dispatched, suspended, done, cancelled, streaming, started,
        counted, head, observed;
    int status;
    const lx_key_cfg *key;
    int key_index; /* -1 none */
    bool key_counted;
    lx_job *job;
    struct lx_http_call *call; /* embeddings: the upstream transfer */
    int up_status;
    int emb_shape; /* embeddings.c: the caller's answer shape */
    bool up_ollama;
    lx_request *lreq;
    lx_stream_encoder *enc;
    lx_collector col;
    bool col_init;
    lx_buf out; /* stream bytes not yet taken by MHD */
    size_t out_off;
    struct MHD_Response *resp; /* ready to queue */
    srv_result res;
    int64_t decode_us;
    const char *cors_origin; /* allowed Origin to echo (MHD's copy, request lifetime) */
    lx_header hdrs[SRV_MAX_HEADERS];
    size_t n_hdrs;
    char hbuf[4096];
    size_t hbuf_len;
    char prompt[512]; /* server.log_prompts only */
    srv_req *next_free;
};

/* endpoints.c: the request is complete (body read); answer it. */
void srv_handle(srv_req *r);
/* endpoints.c: first call, headers only: early refusals (auth, limits,
 * oversized Content-Length, unknown route). true when answered. */
bool srv_precheck(srv_req *r);
const srv_route *srv_find_route(const char *method, const char *path, bool *path_known,
                                const srv_front **front_for_errors);
/* endpoints.c: counts a request in the metrics at its end when nothing did
 * earlier (disconnects, listings, embeddings); health checks excepted. */
void srv_observe_final(srv_req *r);
/* endpoints.c: counts a request whose job is being cancelled (status 499),
 * with the job's outcome so far. */
void srv_observe_cancel(srv_req *r, const lx_outcome *o);
/* endpoints.c: the request ends (for whatever reason): release its slots. */
void srv_req_release_slots(srv_req *r);

/* http.c: responses. The body is copied. */
void srv_respond(srv_req *r, int status, const char *ctype, const char *body, size_t len);
/* Error in the front's dialect (status from lx_error_http_status unless
 * `status` > 0). */
void srv_respond_error(srv_req *r, int status, const lx_error *e);
/* Access-Control-* headers for an allowed cross-origin caller. */
void srv_add_cors(srv_req *r, struct MHD_Response *resp);
/* Streamed reply: headers now, body from r->out as it fills. */
void srv_respond_stream(srv_req *r, const char *ctype);
/* New bytes in r->out, or the stream ended: let MHD take them. */
void srv_req_wake(srv_req *r);
/* Suspends r (waiting for the dispatcher). */
void srv_req_suspend(srv_req *r);
void srv_req_watch(srv_req *r, bool on); /* client-disconnect watch (on: until close) */
uint64_t srv_now_ns(void);
int64_t srv_wall_ms(void);

/* embeddings.c: POST /v1/embeddings */
void srv_embeddings(srv_req *r);
/* http.c: stops the job or upstream call of r (no more callbacks). */
void srv_req_cancel_work(srv_req *r, const char *why);

/* keys.c */
/* Finds the key presented by the request. LX_OK with *key (NULL when no
 * keys are configured); LX_ERR_AUTH with a message otherwise. */
lx_status srv_auth(srv_req *r, const lx_config *cfg, const lx_key_cfg **key, int *index,
                   lx_error *err);
/* Whether a key may use a listed model ("provider/model" or alias). */
bool srv_key_allows(const lx_key_cfg *k, const char *name);

/* catalog.c */
void srv_list_models(srv_req *r, bool anthropic);
void srv_ollama_tags(srv_req *r);
void srv_ollama_show(srv_req *r);

/* accesslog.c */
void srv_log_request(srv_req *r);

#endif
