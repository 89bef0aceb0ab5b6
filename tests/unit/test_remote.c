/*
 * The remote provider end to end over real HTTP (an in-process
 * libmicrohttpd server speaking the OpenAI dialect): streamed events, a
 * caller that cancels from inside its sink (the upstream connection must be
 * dropped at once and nothing more delivered), a sink that refuses, error
 * bodies, and a server that answers a stream request with one JSON body.
 */
#include <criterion/criterion.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "net/loop.h"
#include "provider/provider.h"

static struct MHD_Daemon *daemon_;
static int port_;
static atomic_int aborted_;
static atomic_int chunks_;

typedef struct {
    int sent, n;
} sse_state;

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_state *s = cls;
    if (s->sent > 0)
        usleep(50 * 1000);
    if (s->sent == s->n)
        return snprintf(buf, max, "data: {\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,"
                                  "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n") +
               0 * (s->sent++);
    if (s->sent > s->n)
        return MHD_CONTENT_READER_END_OF_STREAM;
    int k = snprintf(buf, max,
                     "data: {\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":"
                     "{\"content\":\"w%d \"},\"finish_reason\":null}]}\n\n",
                     s->sent);
    s->sent++;
    atomic_fetch_add(&chunks_, 1);
    return k;
}

static void sse_free(void *cls)
{
    sse_state *s = cls;
    if (s->sent <= s->n)
        atomic_fetch_add(&aborted_, 1);
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
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    struct MHD_Response *r;
    unsigned code = 200;
    if (!auth || strcmp(auth, "Bearer k") != 0) {
        const char *b = "{\"error\":{\"message\":\"bad key\",\"type\":\"invalid_request_error\","
                        "\"code\":\"invalid_api_key\"}}";
        r = MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_PERSISTENT);
        code = 401;
    } else if (strstr(url, "/whole/")) {
        const char *b = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
                        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                        "\"whole answer\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
                        "3,\"completion_tokens\":2,\"total_tokens\":5}}";
        r = MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "application/json");
    } else {
        sse_state *s = calloc(1, sizeof *s);
        s->n = 20;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, sse_reader, s, sse_free);
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
    }
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static void start(void)
{
    daemon_ = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                               NULL, NULL, handler, NULL, MHD_OPTION_END);
    cr_assert_not_null(daemon_);
    port_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void stop(void)
{
    MHD_stop_daemon(daemon_);
}

TestSuite(remote, .init = start, .fini = stop, .timeout = 20);

typedef struct {
    lx_call *call;
    int texts, after_terminal, finish, errors;
    bool cancel_at_third, refuse_at_third;
    lx_error err;
    char text[512];
} rec;

static lx_status sink(void *ud, const lx_event *ev)
{
    rec *r = ud;
    if (r->finish || r->errors)
        r->after_terminal++;
    if (ev->kind == LX_EV_TEXT) {
        strncat(r->text, ev->text, ev->len < 64 ? ev->len : 64);
        if (++r->texts == 3) {
            if (r->cancel_at_third) {
                lx_call_cancel(r->call);
                r->call = NULL;
            }
            if (r->refuse_at_third)
                return LX_ERR_CANCELLED;
        }
    } else if (ev->kind == LX_EV_FINISH) {
        r->finish++;
    } else if (ev->kind == LX_EV_ERROR) {
        r->errors++;
        r->err = *ev->error;
    }
    return LX_OK;
}

static void run(const char *key, const char *path, bool stream, rec *r)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "providers:\n  - name: p\n    type: openai\n    base_url: http://127.0.0.1:%d%s\n"
             "    api_key_env: TEST_REMOTE_KEY\n",
             port_, path);
    setenv("TEST_REMOTE_KEY", key, 1);
    lx_config *cfg = NULL;
    lx_error err;
    cr_assert_eq(lx_config_parse(yaml, strlen(yaml), "t.yaml", &cfg, &err), LX_OK, "%s",
                 err.message);
    lx_loop l;
    lx_loop_init(&l, NULL);
    lx_provider *p = NULL;
    cr_assert_eq(lx_provider_new(cfg, &cfg->providers[0], &l.uv, &p, &err), LX_OK, "%s",
                 err.message);
    lx_request *req = lx_request_new();
    lx_request_add_text(req, LX_ROLE_USER, "hi");
    lx_call_opts o = {.model = "m", .stream = stream};
    cr_assert_eq(lx_provider_start(p, req, &o, sink, r, &r->call, &err), LX_OK, "%s", err.message);
    lx_request_free(req); /* the provider must not need it any more */
    uv_run(&l.uv, UV_RUN_DEFAULT);
    lx_provider_free(p);
    lx_loop_close(&l);
    lx_config_free(cfg);
}

Test(remote, stream_delivers_every_token_then_finish)
{
    rec r = {0};
    run("k", "/v1", true, &r);
    cr_assert_eq(r.texts, 20);
    cr_assert_eq(r.finish, 1);
    cr_assert_eq(r.errors, 0);
    cr_assert_eq(r.after_terminal, 0);
}

Test(remote, cancel_inside_the_sink_drops_the_upstream_at_once)
{
    int before = atomic_load(&aborted_);
    int chunks_before = atomic_load(&chunks_);
    rec r = {.cancel_at_third = true};
    run("k", "/v1", true, &r);
    cr_assert_eq(r.texts, 3, "events after cancel: %d texts", r.texts);
    cr_assert_eq(r.finish + r.errors, 0, "no terminal event after cancel");
    for (int i = 0; i < 40 && atomic_load(&aborted_) == before; i++)
        usleep(25 * 1000);
    cr_assert_eq(atomic_load(&aborted_), before + 1, "server did not see the disconnect");
    /* the server stops within a chunk or two of the cancel, far from all 20 */
    cr_assert_lt(atomic_load(&chunks_) - chunks_before, 8);
}

Test(remote, refusing_sink_stops_the_call)
{
    rec r = {.refuse_at_third = true};
    run("k", "/v1", true, &r);
    cr_assert_eq(r.texts, 3);
    cr_assert_eq(r.finish + r.errors, 0);
}

Test(remote, error_body_becomes_one_error_event)
{
    rec r = {0};
    run("wrong", "/v1", true, &r);
    cr_assert_eq(r.errors, 1);
    cr_assert_eq(r.err.http_status, 401);
    cr_assert_eq(r.err.code, LX_ERR_UPSTREAM);
    cr_assert_str_eq(r.err.provider, "p");
    cr_assert(strstr(r.err.message, "bad key"), "%s", r.err.message);
    cr_assert_eq(r.after_terminal, 0);
}

Test(remote, whole_json_answer_to_a_stream_request_is_replayed)
{
    rec r = {0};
    run("k", "/whole/v1", true, &r);
    cr_assert_eq(r.finish, 1, "errors: %d %s", r.errors, r.err.message);
    cr_assert_str_eq(r.text, "whole answer");
}

Test(remote, non_stream_request)
{
    rec r = {0};
    run("k", "/whole/v1", false, &r);
    cr_assert_eq(r.finish, 1);
    cr_assert_str_eq(r.text, "whole answer");
}
