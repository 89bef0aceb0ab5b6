/*
 * test_dispatch.c — the dispatcher against the mock provider
 * (tests/mock/mock_provider.py, started per test), with hand-made plans
 * (lx_dispatch_start_plan) to pin the target order, and through the real
 * router where the decision itself matters (cascade, redaction,
 * fail-closed privacy).
 *
 * What reaches the mock is read back from its control API (/_mock/stats,
 * /_mock/requests); what reaches the caller is recorded by the sink. Times
 * are scaled down in the config (base_ms tens of ms, idle 800 ms).
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "account/account.h"
#include "config/config.h"
#include "net/loop.h"
#include "router/breaker.h"
#include "router/dispatch.h"
#include "router/router.h"

/* ---- the mock ---------------------------------------------------------- */

static pid_t mock_pid;
static char mock_url[64];

static void start_mock(void)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    const char *py = getenv("PYTHON") ? getenv("PYTHON") : "python3";
    mock_pid = fork();
    cr_assert_neq(mock_pid, -1);
    if (mock_pid == 0) {
        dup2(fds[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        close(fds[0]);
        close(fds[1]);
        execlp(py, py, "-S", "tests/mock/mock_provider.py", "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[64] = {0};
    size_t n = 0;
    while (n + 1 < sizeof line) {
        ssize_t k = read(fds[0], line + n, 1);
        if (k <= 0 || line[n] == '\n')
            break;
        n++;
    }
    close(fds[0]);
    int port = 0;
    cr_assert_eq(sscanf(line, "PORT %d", &port), 1, "mock did not start (got '%s')", line);
    snprintf(mock_url, sizeof mock_url, "http://127.0.0.1:%d", port);
}

static void stop_mock(void)
{
    if (mock_pid > 0) {
        kill(mock_pid, SIGTERM);
        waitpid(mock_pid, NULL, 0);
        mock_pid = 0;
    }
}

static size_t to_buf(char *p, size_t sz, size_t n, void *ud)
{
    lx_buf *b = ud;
    lx_buf_append(b, p, sz * n);
    return sz * n;
}

static json_t *mock_get(const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", mock_url, path);
    CURL *c = curl_easy_init();
    lx_buf b;
    lx_buf_init(&b, 64 << 20);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    json_error_t je;
    json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &je);
    lx_buf_free(&b);
    cr_assert_not_null(j, "mock %s: not JSON", path);
    return j;
}

/* Requests the mock received for `model` (any dialect). */
static int mock_count(const char *model)
{
    json_t *s = mock_get("/_mock/stats");
    int n = (int)json_integer_value(json_object_get(json_object_get(s, "models"), model));
    json_decref(s);
    return n;
}

/* ---- environment ------------------------------------------------------- */

typedef struct env {
    lx_config *cfg;
    lx_router *router;
    lx_breakers *breakers;
    lx_account *account;
    lx_loop loop;
    lx_dispatch *d;
} env;

/* extra: YAML appended at the top level (reliability:, routing:, ...). */
static void env_init(env *e, const char *extra, bool with_router)
{
    memset(e, 0, sizeof *e);
    char yaml[8192];
    bool own_timeouts = extra && strstr(extra, "timeouts:") &&
                        (!strncmp(extra, "timeouts:", 9) || strstr(extra, "\ntimeouts:"));
    snprintf(
        yaml, sizeof yaml,
        "default_model: mockopenai/echo\n"
        "%s"
        "providers:\n"
        "  - {name: mockopenai, type: openai, base_url: '%s/v1', api_key: test-key}\n"
        "  - {name: mockanthropic, type: anthropic, base_url: '%s', api_key: test-key}\n"
        "  - {name: mockgemini, type: gemini, base_url: '%s/v1beta', api_key: test-key}\n"
        "  - {name: mocklocal, type: ollama, base_url: '%s', num_ctx: 4096, models: [echo, "
        "fault-content-policy, err-500, "
        "times-1-err-503, count-12, cut-3-of-12, slow-300]}\n"
        "  - {name: ghost, type: local, model: /nonexistent/ghost.gguf}\n"
        "catalogue:\n"
        "  - {id: fault-context-length, context: 4096}\n"
        "  - {id: small-echo, context: 2048}\n"
        "  - {id: big-echo, context: 200000}\n"
        "  - {id: pricey, context: 128000, max_output: 1000, price: {input: 100, output: 100}}\n"
        "%s",
        own_timeouts
            ? ""
            : "timeouts: {connect_ms: 2000, first_byte_ms: 2000, idle_ms: 800, total_ms: 10000}\n",
        mock_url, mock_url, mock_url, mock_url, extra ? extra : "");
    lx_error err;
    cr_assert_eq(lx_config_parse(yaml, strlen(yaml), "test.yaml", &e->cfg, &err), LX_OK, "%s",
                 err.message);
    if (with_router)
        cr_assert_eq(lx_router_new(e->cfg, &e->router, &err), LX_OK, "%s", err.message);
    cr_assert_eq(lx_breakers_new(&e->cfg->reliability.breaker, &e->breakers, &err), LX_OK);
    cr_assert_eq(lx_loop_init(&e->loop, &err), LX_OK);
    if (extra && strstr(extra, "ledger:"))
        cr_assert_eq(lx_account_open(e->cfg, &e->account, &err), LX_OK, "%s", err.message);
    lx_services svc = {
        .config = e->cfg, .router = e->router, .breakers = e->breakers, .account = e->account};
    cr_assert_eq(lx_dispatch_new(&svc, &e->loop.uv, &e->d, &err), LX_OK, "%s", err.message);
}

static void env_free(env *e)
{
    lx_dispatch_free(e->d);
    lx_loop_close(&e->loop);
    lx_account_close(e->account);
    lx_breakers_free(e->breakers);
    lx_router_free(e->router);
    lx_config_free(e->cfg);
}

/* A plan of "provider/model" specs, in order. */
typedef struct hplan {
    lx_plan plan;
    lx_target t[8];
} hplan;

static void plan_of(env *e, hplan *h, const char *const *specs, size_t n)
{
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < n; i++) {
        const lx_provider_cfg *p;
        const char *m;
        lx_error err;
        cr_assert_eq(lx_config_resolve(e->cfg, specs[i], &p, &m, &err), LX_OK, "%s", err.message);
        h->t[i] = (lx_target){.provider = p,
                              .model = m,
                              .info = lx_catalogue_find(e->cfg, m),
                              .local = p->local,
                              .reason = "test"};
    }
    h->plan.targets = h->t;
    h->plan.n_targets = n;
    h->plan.action = LX_ACTION_SEND;
    h->plan.privacy_mode = LX_PRIVACY_ROUTE_LOCAL;
}

/* What the caller received. */
typedef struct rec {
    env *e;
    lx_job *job;
    lx_buf text;
    int n_start, n_finish, n_error, n_usage, n_events;
    char start_model[128];
    lx_error err;
    lx_usage usage;
    lx_finish finish;
    bool done;
    uint64_t t0, t_end, t_first;
    /* the outcome at the terminal event */
    int n_attempts, n_skipped;
    lx_status status;
    bool continued, escalated, cascade_ran, cascade_pass, redacted;
    int redactions;
    char target[160];
    int64_t bytes_out;
    char json[8192];
    int cancel_after_text; /* cancel the job (from a timer) after this many TEXT events */
    int cancel_in_sink;    /* cancel it from inside the sink at this TEXT event */
    uv_timer_t cancel_timer;
} rec;

static void snapshot(rec *r)
{
    const lx_outcome *o = lx_job_outcome(r->job);
    r->n_attempts = o->n_attempts;
    for (int i = 0; i < o->n_attempts && i < LX_MAX_ATTEMPTS; i++)
        r->n_skipped += o->attempts[i].skipped;
    r->status = o->status;
    r->continued = o->continued;
    r->escalated = o->escalated;
    r->cascade_ran = o->cascade_ran;
    r->cascade_pass = o->cascade_pass;
    r->redacted = o->redacted;
    r->redactions = o->redactions;
    r->bytes_out = o->bytes_out;
    if (o->target)
        snprintf(r->target, sizeof r->target, "%s/%s", o->target->provider->name, o->target->model);
    lx_buf b;
    lx_buf_init(&b, 0);
    if (lx_outcome_json(o, &b) == LX_OK)
        snprintf(r->json, sizeof r->json, "%.*s", (int)b.len, b.data);
    lx_buf_free(&b);
}

static void on_cancel_timer(uv_timer_t *t)
{
    rec *r = t->data;
    lx_job_cancel(r->job);
    r->done = true;
    uv_close((uv_handle_t *)t, NULL);
}

static lx_status sink(void *ud, const lx_event *ev)
{
    rec *r = ud;
    cr_assert_not(r->done, "event %s after the end", lx_event_kind_name(ev->kind));
    r->n_events++;
    switch (ev->kind) {
    case LX_EV_START:
        r->n_start++;
        cr_assert_eq(r->n_events, 1, "START must come first");
        snprintf(r->start_model, sizeof r->start_model, "%s", ev->model ? ev->model : "");
        const lx_outcome *o = lx_job_outcome(r->job);
        cr_assert_not_null(o->target, "outcome target set at START");
        break;
    case LX_EV_TEXT:
        cr_assert_eq(r->n_start, 1, "TEXT before START");
        if (!r->t_first)
            r->t_first = uv_now(&r->e->loop.uv);
        lx_buf_append(&r->text, ev->text, ev->len);
        if (r->cancel_in_sink && --r->cancel_in_sink == 0) {
            lx_job_cancel(r->job); /* from inside the sink */
            r->done = true;
            return LX_OK;
        }
        if (r->cancel_after_text && --r->cancel_after_text == 0) {
            uv_timer_init(&r->e->loop.uv, &r->cancel_timer);
            r->cancel_timer.data = r;
            uv_timer_start(&r->cancel_timer, on_cancel_timer, 0, 0);
        }
        break;
    case LX_EV_USAGE:
        r->n_usage++;
        r->usage = ev->usage;
        break;
    case LX_EV_FINISH:
        r->n_finish++;
        r->finish = ev->finish;
        r->done = true;
        snapshot(r);
        break;
    case LX_EV_ERROR:
        r->n_error++;
        r->err = *ev->error;
        r->done = true;
        snapshot(r);
        break;
    default:
        cr_assert_eq(r->n_start, 1, "content before START");
        break;
    }
    if (r->done) {
        uv_update_time(&r->e->loop.uv);
        r->t_end = uv_now(&r->e->loop.uv);
    }
    return LX_OK;
}

static lx_request *req_text(const char *model, const char *text)
{
    lx_request *q = lx_request_new();
    q->model = lx_arena_strdup(q->arena, model);
    cr_assert_eq(lx_request_add_text(q, LX_ROLE_USER, text), LX_OK);
    return q;
}

/* Runs one job (plan NULL: routed) to its end. */
static void run(env *e, rec *r, const lx_plan *plan, lx_request *q, bool stream)
{
    memset(r, 0, sizeof *r);
    r->e = e;
    lx_buf_init(&r->text, 0);
    lx_job_opts o = {.front = "test", .stream = stream};
    lx_error err;
    uv_update_time(&e->loop.uv);
    r->t0 = uv_now(&e->loop.uv);
    lx_status st = plan ? lx_dispatch_start_plan(e->d, q, plan, &o, sink, r, &r->job, &err)
                        : lx_dispatch_start(e->d, q, &o, sink, r, &r->job, &err);
    cr_assert_eq(st, LX_OK, "%s", err.message);
    while (!r->done)
        uv_run(&e->loop.uv, UV_RUN_ONCE);
    /* let the job's own cleanup run */
    uv_run(&e->loop.uv, UV_RUN_NOWAIT);
}

static const char *txt(rec *r)
{
    if (lx_buf_putc(&r->text, '\0') == LX_OK)
        r->text.len--;
    return r->text.data ? r->text.data : "";
}

static void rec_free(rec *r)
{
    lx_buf_free(&r->text);
}

#define RUN_PLAN(e, r, stream, model_text, ...)                                                    \
    do {                                                                                           \
        static const char *const specs_[] = {__VA_ARGS__};                                         \
        hplan h_;                                                                                  \
        plan_of((e), &h_, specs_, sizeof specs_ / sizeof specs_[0]);                               \
        lx_request *q_ = req_text("x", (model_text));                                              \
        run((e), (r), &h_.plan, q_, (stream));                                                     \
        lx_request_free(q_);                                                                       \
    } while (0)

TestSuite(dispatch, .init = start_mock, .fini = stop_mock, .timeout = 60);

/* ---- failover, START held back ---------------------------------------- */

Test(dispatch, failover_before_content_is_invisible)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 1}}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello world", "mockopenai/err-500", "mockanthropic/echo");
    cr_assert_eq(r.n_start, 1);
    cr_assert_eq(r.n_finish, 1);
    cr_assert_eq(r.n_error, 0);
    cr_assert_str_eq(txt(&r), "Hello from mock-anthropic. You said: hello world");
    cr_assert_str_eq(r.target, "mockanthropic/echo");
    cr_assert_eq(r.n_attempts, 2);
    cr_assert_eq(r.n_usage, 1, "one USAGE, before FINISH");
    cr_assert_eq(r.usage.input, 2);
    cr_assert_eq(r.usage.output, 7);
    cr_assert(strstr(r.json, "\"attempts\":[{\"provider\":\"mockopenai\",\"model\":\"err-500\","
                             "\"status\":\"upstream\",\"http_status\":500"),
              "%s", r.json);
    cr_assert_gt(r.bytes_out, 100, "both request bodies count");
    cr_assert_eq(mock_count("err-500"), 1);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, all_targets_fail_error_names_the_last)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 1}}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/err-500", "mockgemini/err-503");
    cr_assert_eq(r.n_start, 0, "no START for a job that fails before content");
    cr_assert_eq(r.n_error, 1);
    cr_assert_str_eq(r.err.provider, "mockgemini");
    cr_assert_eq(r.err.http_status, 503);
    cr_assert_eq(r.n_attempts, 2);
    rec_free(&r);
    env_free(&e);
}

/* ---- retries ----------------------------------------------------------- */

Test(dispatch, retries_with_backoff_then_success)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 3, base_ms: 40, max_ms: 80}}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello world", "mockopenai/times-2-err-503");
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert_eq(r.n_attempts, 3);
    cr_assert_eq(mock_count("times-2-err-503"), 3);
    /* full jitter: pauses in [0,40] and [0,80] */
    cr_assert_leq(r.t_end - r.t0, 40 + 80 + 400, "took %llu ms",
                  (unsigned long long)(r.t_end - r.t0));
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, retry_budget_is_per_target)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 2, base_ms: 5, max_ms: 10}}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/err-500", "mockanthropic/err-502",
             "mockgemini/echo");
    cr_assert_eq(r.n_finish, 1);
    cr_assert_eq(mock_count("err-500"), 2);
    cr_assert_eq(mock_count("err-502"), 2);
    cr_assert_eq(r.n_attempts, 5);
    cr_assert_str_eq(r.target, "mockgemini/echo");
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, backoff_pauses_are_real)
{
    /* base 300: with full jitter the sum of two pauses is random, but 4
     * attempts against a provider that always fails never finish in less
     * than a loop turn each, and never take longer than the caps. */
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 4, base_ms: 100, max_ms: 100}}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/err-500");
    cr_assert_eq(r.n_error, 1);
    cr_assert_eq(mock_count("err-500"), 4);
    cr_assert_leq(r.t_end - r.t0, 3 * 100 + 400);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, retry_after_is_honoured)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 2, base_ms: 1, max_ms: 2}}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello world", "mockopenai/retry-after-1");
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert_eq(mock_count("retry-after-1"), 2);
    cr_assert_geq(r.t_end - r.t0, 950, "waited only %llu ms", (unsigned long long)(r.t_end - r.t0));
    cr_assert_leq(r.t_end - r.t0, 2500);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, retry_after_longer_than_allowed_fails_over)
{
    env e;
    env_init(&e,
             "reliability: {retry: {max_attempts: 3, base_ms: 1, max_ms: 2, "
             "max_retry_after_ms: 500}}\n",
             false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello world", "mockopenai/retry-after-5", "mockanthropic/echo");
    cr_assert_eq(r.n_finish, 1);
    cr_assert_eq(mock_count("retry-after-5"), 1);
    cr_assert_lt(r.t_end - r.t0, 500);
    cr_assert_str_eq(r.target, "mockanthropic/echo");
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, deadline_across_attempts)
{
    env e;
    env_init(&e,
             "reliability: {retry: {max_attempts: 10, base_ms: 200, max_ms: 200, deadline_ms: "
             "600}}\n",
             false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/err-503", "mockanthropic/slow-first-3000");
    cr_assert_eq(r.n_error, 1);
    cr_assert_leq(r.t_end - r.t0, 600 + 300, "deadline 600 ms, took %llu",
                  (unsigned long long)(r.t_end - r.t0));
    rec_free(&r);
    env_free(&e);
}

/* ---- errors that cannot change ----------------------------------------- */

Test(dispatch, context_length_moves_to_a_larger_context)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 3, base_ms: 1, max_ms: 2}}\n", false);
    rec r;
    /* 4096 -> skip small-echo (2048) -> big-echo (200000) */
    RUN_PLAN(&e, &r, true, "hello world", "mockopenai/fault-context-length",
             "mockanthropic/small-echo", "mockgemini/big-echo");
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert_str_eq(r.target, "mockgemini/big-echo");
    cr_assert_eq(mock_count("fault-context-length"), 1, "never retried");
    cr_assert_eq(mock_count("small-echo"), 0, "a smaller context is skipped");
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, context_length_without_larger_target_fails)
{
    env e;
    env_init(&e, NULL, false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockanthropic/fault-context-length", "mockgemini/small-echo");
    cr_assert_eq(r.n_error, 1);
    cr_assert(strstr(r.err.message, "prompt is too long"), "%s", r.err.message);
    cr_assert_eq(r.err.http_status, 400);
    cr_assert_eq(mock_count("fault-context-length"), 1);
    cr_assert_eq(mock_count("small-echo"), 0);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, content_policy_ends_with_the_reason)
{
    env e;
    env_init(&e, NULL, false);
    for (int d = 0; d < 4; d++) {
        static const char *const provs[] = {
            "mockopenai/fault-content-policy", "mockanthropic/fault-content-policy",
            "mockgemini/fault-content-policy", "mocklocal/fault-content-policy"};
        static const char *const why[] = {"safety system", "content filtering", "safety reasons",
                                          "content policy"};
        rec r;
        hplan h;
        const char *specs[] = {provs[d], "mockopenai/echo"};
        plan_of(&e, &h, specs, 2);
        lx_request *q = req_text("x", "hello");
        run(&e, &r, &h.plan, q, true);
        lx_request_free(q);
        cr_assert_eq(r.n_error, 1, "%s", provs[d]);
        cr_assert(strstr(r.err.message, why[d]), "%s: %s", provs[d], r.err.message);
        cr_assert_eq(r.n_attempts, 1, "no retry, no fallback");
        rec_free(&r);
    }
    cr_assert_eq(mock_count("echo"), 0);
    env_free(&e);
}

Test(dispatch, other_4xx_end_the_job)
{
    env e;
    env_init(&e, NULL, false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/err-404", "mockanthropic/echo");
    cr_assert_eq(r.n_error, 1);
    cr_assert_eq(r.err.http_status, 404);
    cr_assert_eq(mock_count("echo"), 0);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, timeout_fails_over_without_retry)
{
    env e;
    env_init(&e,
             "reliability: {retry: {max_attempts: 3, base_ms: 1, max_ms: 2}}\n"
             "timeouts: {connect_ms: 2000, first_byte_ms: 300, idle_ms: 800, total_ms: 10000}\n",
             false);
    /* the global timeouts are set above; the providers inherit them */
    rec r;
    RUN_PLAN(&e, &r, true, "hello world", "mockopenai/no-response", "mockanthropic/echo");
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert_eq(mock_count("no-response"), 1, "a silent route is not tried again");
    cr_assert_leq(r.t_end - r.t0, 1500);
    rec_free(&r);
    env_free(&e);
}

/* ---- mid-stream failures ------------------------------------------------ */

Test(dispatch, midstream_error_after_content)
{
    env e;
    env_init(&e, "reliability: {midstream: error, retry: {max_attempts: 3}}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/cut-4-of-10", "mockanthropic/count-10");
    cr_assert_eq(r.n_start, 1);
    cr_assert_eq(r.n_finish, 0, "never a FINISH for a truncated answer");
    cr_assert_eq(r.n_error, 1);
    cr_assert_str_eq(txt(&r), "t1 t2 t3 t4");
    cr_assert_eq(mock_count("count-10"), 0, "no fallback after content under midstream: error");
    cr_assert_eq(mock_count("cut-4-of-10"), 1, "no retry after content");
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, midstream_continue_on_the_next_target)
{
    env e;
    env_init(&e, "reliability: {midstream: continue}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/cut-4-of-10", "mockanthropic/count-10");
    cr_assert_eq(r.n_error, 0, "%s", r.err.message);
    cr_assert_eq(r.n_finish, 1);
    cr_assert_eq(r.n_start, 1, "one START for both parts");
    cr_assert_str_eq(txt(&r), "t1 t2 t3 t4 t5 t6 t7 t8 t9 t10");
    cr_assert(r.continued);
    cr_assert_str_eq(r.target, "mockanthropic/count-10");
    /* the continuation carried the partial answer as a trailing assistant turn */
    json_t *reqs = mock_get("/_mock/requests");
    json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
    cr_assert_str_eq(json_string_value(json_object_get(last, "prefill")), "t1 t2 t3 t4");
    json_decref(reqs);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, midstream_continue_rejected_prefill_is_an_error)
{
    env e;
    env_init(&e, "reliability: {midstream: continue}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/cut-4-of-10", "mockanthropic/prefill-reject-10",
             "mockgemini/count-10");
    cr_assert_eq(r.n_finish, 0);
    cr_assert_eq(r.n_error, 1);
    cr_assert(strstr(r.err.message, "prefill"), "%s", r.err.message);
    cr_assert_str_eq(txt(&r), "t1 t2 t3 t4");
    cr_assert_eq(mock_count("count-10"), 0);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, missing_terminator_after_content_is_an_error)
{
    env e;
    env_init(&e, NULL, false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/noterm-10-of-10", "mockanthropic/echo");
    cr_assert_eq(r.n_finish, 0);
    cr_assert_eq(r.n_error, 1);
    cr_assert_str_eq(txt(&r), "t1 t2 t3 t4 t5 t6 t7 t8 t9 t10");
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, stall_before_content_fails_over)
{
    env e;
    env_init(&e, NULL, false);
    rec r;
    /* anthropic: message_start etc. carry no content; the stall comes first */
    RUN_PLAN(&e, &r, true, "hello world", "mockopenai/stall-0-of-10", "mockanthropic/echo");
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert_str_eq(txt(&r), "Hello from mock-anthropic. You said: hello world");
    cr_assert_eq(mock_count("stall-0-of-10"), 1);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, non_streaming_caller_restarts_cleanly)
{
    env e;
    env_init(&e, "reliability: {midstream: error, retry: {max_attempts: 1}}\n", false);
    rec r;
    RUN_PLAN(&e, &r, false, "hello", "mockopenai/cut-4-of-10", "mockanthropic/count-10");
    cr_assert_eq(r.n_error, 0, "%s", r.err.message);
    cr_assert_eq(r.n_finish, 1);
    cr_assert_eq(r.n_start, 1);
    cr_assert_str_eq(txt(&r), "t1 t2 t3 t4 t5 t6 t7 t8 t9 t10", "the partial answer is discarded");
    json_t *reqs = mock_get("/_mock/requests");
    json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
    cr_assert(json_is_null(json_object_get(last, "prefill")), "a clean restart, no prefill");
    json_decref(reqs);
    rec_free(&r);
    env_free(&e);
}

/* ---- breakers ------------------------------------------------------------ */

Test(dispatch, breaker_opens_then_half_open_probe_recovers)
{
    env e;
    env_init(&e,
             "reliability: {retry: {max_attempts: 1},\n"
             "  breaker: {failures: 2, window_ms: 10000, open_ms: 300, half_open_probes: 1}}\n",
             false);
    rec r;
    /* flaky-3: requests 1..3 fail, 4.. succeed */
    for (int i = 0; i < 2; i++) {
        RUN_PLAN(&e, &r, true, "hello", "mockopenai/flaky-3", "mockanthropic/echo");
        cr_assert_eq(r.n_finish, 1);
        cr_assert_str_eq(r.target, "mockanthropic/echo");
        rec_free(&r);
    }
    cr_assert_eq(
        lx_breakers_state(e.breakers, "mockopenai", "flaky-3", lx_breakers_now(e.breakers)),
        LX_BREAKER_OPEN);
    /* open: skipped without a call */
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/flaky-3", "mockanthropic/echo");
    cr_assert_eq(r.n_finish, 1);
    cr_assert_eq(r.n_skipped, 1);
    cr_assert_eq(mock_count("flaky-3"), 2);
    cr_assert(strstr(r.json, "circuit breaker open"), "%s", r.json);
    rec_free(&r);
    /* half-open: one probe; it fails (request 3) and re-opens */
    usleep(320 * 1000);
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/flaky-3", "mockanthropic/echo");
    cr_assert_eq(mock_count("flaky-3"), 3);
    cr_assert_str_eq(r.target, "mockanthropic/echo");
    rec_free(&r);
    cr_assert_eq(
        lx_breakers_state(e.breakers, "mockopenai", "flaky-3", lx_breakers_now(e.breakers)),
        LX_BREAKER_OPEN);
    /* half-open again: the probe succeeds and closes it */
    usleep(320 * 1000);
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/flaky-3", "mockanthropic/echo");
    cr_assert_str_eq(r.target, "mockopenai/flaky-3");
    rec_free(&r);
    cr_assert_eq(
        lx_breakers_state(e.breakers, "mockopenai", "flaky-3", lx_breakers_now(e.breakers)),
        LX_BREAKER_CLOSED);
    RUN_PLAN(&e, &r, true, "hello", "mockopenai/flaky-3", "mockanthropic/echo");
    cr_assert_str_eq(r.target, "mockopenai/flaky-3");
    cr_assert_eq(mock_count("flaky-3"), 5);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, connection_refused_marks_unreachable)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 2, base_ms: 1, max_ms: 2}}\n", false);
    /* port 1 on loopback: refused */
    lx_provider_cfg *dead = &e.cfg->providers[1];
    dead->base_url = "http://127.0.0.1:1";
    rec r;
    RUN_PLAN(&e, &r, true, "hello world", "mockanthropic/echo", "mockopenai/echo");
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert_str_eq(r.target, "mockopenai/echo");
    cr_assert_eq(lx_breakers_health(e.breakers, dead, "other"), LX_HEALTH_UNREACHABLE);
    rec_free(&r);
    env_free(&e);
}

/* ---- privacy is fail-closed in the dispatcher too ----------------------- */

Test(dispatch, sensitive_route_local_never_reaches_a_remote_target)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 1}}\n", false);
    hplan h;
    const char *specs[] = {"mocklocal/err-500", "mockopenai/echo"};
    plan_of(&e, &h, specs, 2);
    h.plan.sensitive = true;
    h.plan.privacy_mode = LX_PRIVACY_ROUTE_LOCAL;
    lx_request *q = req_text("x", "my card is 4111 1111 1111 1111");
    rec r;
    run(&e, &r, &h.plan, q, true);
    lx_request_free(q);
    cr_assert_eq(r.n_error, 1);
    cr_assert_eq(mock_count("echo"), 0, "the remote target was never called");
    cr_assert_eq(r.n_skipped, 1);
    cr_assert(strstr(r.json, "route_local"), "%s", r.json);
    rec_free(&r);
    env_free(&e);
}

/* ---- cancel ------------------------------------------------------------ */

Test(dispatch, cancel_stops_upstream_at_once)
{
    env e;
    env_init(&e, NULL, false);
    hplan h;
    const char *specs[] = {"mockopenai/slow-300"};
    plan_of(&e, &h, specs, 1);
    lx_request *q = req_text("x", "one two three four five six seven eight");
    rec r;
    memset(&r, 0, sizeof r);
    r.e = &e;
    lx_buf_init(&r.text, 0);
    r.cancel_after_text = 2;
    lx_job_opts o = {.front = "test", .stream = true};
    cr_assert_eq(lx_dispatch_start_plan(e.d, q, &h.plan, &o, sink, &r, &r.job, NULL), LX_OK);
    while (!r.done)
        uv_run(&e.loop.uv, UV_RUN_ONCE);
    uv_run(&e.loop.uv, UV_RUN_NOWAIT);
    lx_request_free(q);
    cr_assert_eq(r.n_finish + r.n_error, 0, "no terminal event after a cancel");
    /* the mock sees the client go away well before the end */
    int gone = 0;
    for (int i = 0; i < 50 && !gone; i++) {
        json_t *reqs = mock_get("/_mock/requests");
        json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
        gone =
            json_is_true(json_object_get(json_object_get(last, "stream"), "client_disconnected"));
        json_decref(reqs);
        if (!gone)
            usleep(50 * 1000);
    }
    cr_assert(gone, "the upstream connection was not dropped");
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, dispatch_free_cancels_running_jobs)
{
    env e;
    env_init(&e, NULL, false);
    hplan h;
    const char *specs[] = {"mockopenai/slow-300"};
    plan_of(&e, &h, specs, 1);
    lx_request *q = req_text("x", "one two three four five six");
    rec r;
    memset(&r, 0, sizeof r);
    r.e = &e;
    lx_buf_init(&r.text, 0);
    lx_job_opts o = {.front = "test", .stream = true};
    cr_assert_eq(lx_dispatch_start_plan(e.d, q, &h.plan, &o, sink, &r, &r.job, NULL), LX_OK);
    for (int i = 0; i < 20 && r.text.len == 0; i++)
        uv_run(&e.loop.uv, UV_RUN_ONCE);
    lx_request_free(q);
    lx_dispatch_free(e.d);
    e.d = NULL;
    cr_assert_eq(r.n_finish + r.n_error, 0);
    rec_free(&r);
    env_free(&e);
}

/* ---- through the router ------------------------------------------------ */

static lx_request *req_auto(const char *text, bool json_format)
{
    lx_request *q = req_text("auto", text);
    if (json_format)
        q->format.kind = LX_FORMAT_JSON;
    return q;
}

Test(dispatch, cascade_draft_passes)
{
    env e;
    env_init(&e, "routing: {cascade: true, escalate: mockopenai/echo}\n", true);
    lx_request *q = req_auto("classify the sentiment: I love it", false);
    rec r;
    run(&e, &r, NULL, q, true);
    lx_request_free(q);
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert(r.cascade_ran, "%s", r.json);
    cr_assert(r.cascade_pass, "%s", r.json);
    cr_assert_not(r.escalated);
    cr_assert_str_eq(r.target, "mocklocal/echo");
    cr_assert(strstr(txt(&r), "mock-ollama"), "%s", txt(&r));
    cr_assert_eq(r.n_start, 1);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, cascade_draft_fails_and_escalates)
{
    env e;
    env_init(&e, "routing: {cascade: true, escalate: mockopenai/echo}\n", true);
    /* JSON asked for; the local echo answer is not JSON */
    lx_request *q = req_auto("classify the sentiment: I love it", true);
    rec r;
    run(&e, &r, NULL, q, true);
    lx_request_free(q);
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert(r.cascade_ran, "%s", r.json);
    cr_assert_not(r.cascade_pass);
    cr_assert(r.escalated);
    cr_assert(strstr(r.json, "\"cascade\":{\"pass\":false,\"reason\":\"invalid JSON"), "%s",
              r.json);
    cr_assert_str_eq(r.target, "mockopenai/echo");
    cr_assert_eq(r.n_start, 1, "the caller sees only the answer that passed");
    cr_assert(strstr(txt(&r), "mock-openai"), "%s", txt(&r));
    cr_assert_null(strstr(txt(&r), "mock-ollama"), "the draft never reaches the caller");
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, redaction_placeholders_out_values_back)
{
    env e;
    env_init(&e, "routing: {privacy: redact}\n", true);
    lx_request *q = req_text("mockopenai/echo", "mail john.doe@acme-corp.com today");
    rec r;
    run(&e, &r, NULL, q, true);
    lx_request_free(q);
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert_str_eq(txt(&r),
                     "Hello from mock-openai. You said: mail john.doe@acme-corp.com today");
    cr_assert(r.redacted);
    cr_assert_eq(r.redactions, 1);
    json_t *reqs = mock_get("/_mock/requests");
    json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
    char *body = json_dumps(json_object_get(last, "body"), 0);
    cr_assert(strstr(body, "[EMAIL_1]"), "%s", body);
    cr_assert_null(strstr(body, "john.doe"), "the value left the machine: %s", body);
    free(body);
    json_decref(reqs);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, redaction_non_streaming)
{
    env e;
    env_init(&e, "routing: {privacy: redact}\n", true);
    lx_request *q = req_text("mockanthropic/echo", "mail jane.roe@acme-corp.com now");
    rec r;
    run(&e, &r, NULL, q, false);
    lx_request_free(q);
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert_str_eq(txt(&r),
                     "Hello from mock-anthropic. You said: mail jane.roe@acme-corp.com now");
    cr_assert_eq(r.redactions, 1);
    json_t *reqs = mock_get("/_mock/requests");
    json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
    char *body = json_dumps(json_object_get(last, "body"), 0);
    cr_assert_null(strstr(body, "jane.roe"), "%s", body);
    free(body);
    json_decref(reqs);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, fail_closed_when_every_local_target_fails)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 2, base_ms: 1, max_ms: 2}}\n", true);
    /* the only local provider refuses connections */
    for (size_t i = 0; i < e.cfg->n_providers; i++)
        if (!strcmp(e.cfg->providers[i].name, "mocklocal"))
            e.cfg->providers[i].base_url = "http://127.0.0.1:1";
    lx_request *q = req_text("mockopenai/echo", "my email is john.doe@acme-corp.com, summarize");
    rec r;
    run(&e, &r, NULL, q, true);
    lx_request_free(q);
    cr_assert_eq(r.n_error, 1, "the job errors instead of going out");
    cr_assert_eq(r.n_start, 0);
    json_t *s = mock_get("/_mock/stats");
    cr_assert_eq(json_integer_value(json_object_get(s, "total")), 0,
                 "nothing reached a remote provider");
    json_decref(s);
    cr_assert(strstr(r.json, "\"privacy\":[\"EMAIL\"]"), "%s", r.json);
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, block_plan_is_one_error)
{
    env e;
    env_init(&e, "routing: {privacy: block}\n", true);
    lx_request *q = req_text("mockopenai/echo", "my email is john.doe@acme-corp.com");
    rec r;
    run(&e, &r, NULL, q, true);
    lx_request_free(q);
    cr_assert_eq(r.n_error, 1);
    cr_assert_eq(r.n_start, 0);
    cr_assert_eq(r.err.code, LX_ERR_BLOCKED, "%s", r.err.message);
    cr_assert_eq(r.n_attempts, 0);
    json_t *s = mock_get("/_mock/stats");
    cr_assert_eq(json_integer_value(json_object_get(s, "total")), 0);
    json_decref(s);
    rec_free(&r);
    env_free(&e);
}

/* ---- cascade confidence with a fake local engine ------------------------
 * A provider that answers "a b c" in three TEXT events of one token each,
 * every token with log-probability `lp`, on the next loop turn. */
typedef struct fake_provider {
    lx_provider base;
    double lp;
} fake_provider;

typedef struct fake_call {
    lx_call base;
    uv_timer_t timer;
    lx_event_fn sink;
    void *ud;
    double lp;
} fake_call;

static void fake_closed(uv_handle_t *h)
{
    free(h->data);
}

static void fake_run(uv_timer_t *t)
{
    fake_call *c = t->data;
    lx_event ev = {.kind = LX_EV_START, .model = "fake"};
    c->sink(c->ud, &ev);
    static const char *const words[] = {"a", " b", " c"};
    for (int i = 0; i < 3; i++) {
        ev = (lx_event){.kind = LX_EV_TEXT,
                        .text = words[i],
                        .len = strlen(words[i]),
                        .n_tokens = 1,
                        .logprob = c->lp};
        c->sink(c->ud, &ev);
    }
    ev = (lx_event){.kind = LX_EV_USAGE, .usage = {.input = 3, .output = 3}};
    c->sink(c->ud, &ev);
    ev = (lx_event){.kind = LX_EV_FINISH, .finish = LX_FINISH_STOP};
    c->sink(c->ud, &ev);
    uv_close((uv_handle_t *)&c->timer, fake_closed);
}

static lx_status fake_start(lx_provider *p, const lx_request *req, const lx_call_opts *o,
                            lx_event_fn sink, void *ud, lx_call **out, lx_error *err)
{
    (void)req;
    (void)o;
    (void)err;
    fake_call *c = calloc(1, sizeof *c);
    c->base.provider = p;
    c->sink = sink;
    c->ud = ud;
    c->lp = ((fake_provider *)p)->lp;
    uv_timer_init(p->loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, fake_run, 0, 0);
    *out = &c->base;
    return LX_OK;
}

static void fake_cancel(lx_call *base)
{
    fake_call *c = (fake_call *)base;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, fake_closed);
}

static void fake_destroy(lx_provider *p)
{
    free(p);
}

static const lx_provider_ops fake_ops = {fake_start, fake_cancel, fake_destroy};

static void cascade_with_logprob(double lp, bool want_pass)
{
    env e;
    env_init(&e, "routing: {cascade_min_logprob: -1.5}\n", false);
    hplan h;
    const char *specs[] = {"mocklocal/echo", "mockopenai/echo"};
    plan_of(&e, &h, specs, 2);
    h.plan.cascade = true;
    fake_provider *fp = calloc(1, sizeof *fp);
    fp->base = (lx_provider){
        .ops = &fake_ops, .cfg = h.t[0].provider, .config = e.cfg, .loop = &e.loop.uv};
    fp->lp = lp;
    cr_assert_eq(lx_dispatch_set_provider(e.d, h.t[0].provider, &fp->base), LX_OK);
    lx_request *q = req_text("auto", "hello world");
    rec r;
    run(&e, &r, &h.plan, q, true);
    lx_request_free(q);
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert(r.cascade_ran);
    cr_assert_eq(r.cascade_pass, want_pass, "%s", r.json);
    cr_assert_eq(r.n_start, 1);
    if (want_pass) {
        cr_assert_str_eq(txt(&r), "a b c");
        cr_assert_str_eq(r.target, "mocklocal/echo");
        cr_assert_eq(mock_count("echo"), 0);
    } else {
        cr_assert(strstr(r.json, "low confidence"), "%s", r.json);
        cr_assert_str_eq(txt(&r), "Hello from mock-openai. You said: hello world");
        cr_assert_str_eq(r.target, "mockopenai/echo");
    }
    rec_free(&r);
    env_free(&e);
}

Test(dispatch, cascade_confident_local_draft_passes)
{
    cascade_with_logprob(-0.5, true);
}

Test(dispatch, cascade_unsure_local_draft_escalates)
{
    cascade_with_logprob(-3.0, false);
}

/* ---- accounting ---------------------------------------------------------- */

Test(dispatch, cache_hit_is_replayed_at_no_cost)
{
    env e;
    env_init(&e, "ledger: {path: ':memory:'}\ncache: {mode: on}\n", true);
    for (int i = 0; i < 2; i++) {
        lx_request *q = req_text("mockopenai/echo", "what is the capital of France");
        rec r;
        run(&e, &r, NULL, q, true);
        lx_request_free(q);
        cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
        cr_assert_str_eq(txt(&r),
                         "Hello from mock-openai. You said: what is the capital of France");
        cr_assert_eq(r.n_start, 1);
        cr_assert_eq(strstr(r.json, "\"cached\":true") != NULL, i == 1, "%d: %s", i, r.json);
        if (i == 1)
            cr_assert(strstr(r.json, "\"cost_usd\":0.0"), "%s", r.json);
        rec_free(&r);
        lx_account_flush(e.account); /* the cache is written by the ledger thread */
    }
    cr_assert_eq(mock_count("echo"), 1, "the second answer came from the cache");
    env_free(&e);
}

Test(dispatch, over_budget_routes_local)
{
    env e;
    env_init(&e,
             "ledger: {path: ':memory:'}\n"
             "budgets: {day_usd: 0.000001, at_limit: local}\n"
             "routing: {escalate: mockopenai/pricey, default: mocklocal/echo}\n",
             true);
    /* the first request may overshoot the budget (by at most its own
     * maximum cost); the next one finds the dollar budget spent */
    lx_header h = {"x-llmux-target", "cloud"};
    rec r;
    for (int i = 0; i < 2; i++) {
        lx_request *q = req_text("auto", "hello world");
        memset(&r, 0, sizeof r);
        r.e = &e;
        lx_buf_init(&r.text, 0);
        lx_job_opts o = {.front = "test", .stream = true, .headers = &h, .n_headers = 1};
        cr_assert_eq(lx_dispatch_start(e.d, q, &o, sink, &r, &r.job, NULL), LX_OK);
        while (!r.done)
            uv_run(&e.loop.uv, UV_RUN_ONCE);
        uv_run(&e.loop.uv, UV_RUN_NOWAIT);
        lx_request_free(q);
        cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
        if (i == 0) {
            cr_assert_str_eq(r.target, "mockopenai/pricey", "%s", r.json);
            rec_free(&r);
        }
    }
    cr_assert_str_eq(r.target, "mocklocal/echo", "%s", r.json);
    cr_assert_eq(mock_count("pricey"), 1, "the paid target was left out the second time");
    rec_free(&r);
    env_free(&e);
}

/* ---- the error classifier, table-driven (no mock needed) ------------------ */

#include "router/dispatch_int.h"

static lx_dx_verdict cls(lx_status code, int http, const char *type, const char *msg)
{
    lx_error e;
    lx_error_clear(&e);
    e.code = code;
    e.http_status = http;
    lx_strlcpy(e.type, type, sizeof e.type);
    lx_strlcpy(e.message, msg, sizeof e.message);
    return lx_dx_classify(&e);
}

Test(dispatch_errors, table)
{
    struct {
        lx_status code;
        int http;
        const char *type, *msg;
        lx_dx_class want;
        bool failure, unreachable;
    } rows[] = {
        {LX_ERR_UPSTREAM, 429, "rate_limit_error", "slow down", LX_DX_RETRY, true, false},
        {LX_ERR_UPSTREAM, 500, "server_error", "oops", LX_DX_RETRY, true, false},
        {LX_ERR_UPSTREAM, 503, "overloaded_error", "Overloaded", LX_DX_RETRY, true, false},
        {LX_ERR_UPSTREAM, 529, "", "", LX_DX_RETRY, true, false},
        {LX_ERR_UPSTREAM, 400, "invalid_request_error",
         "This model's maximum context length is 4096 tokens.", LX_DX_CONTEXT, false, false},
        {LX_ERR_UPSTREAM, 400, "invalid_request_error", "prompt is too long: 5000 tokens > 4096",
         LX_DX_CONTEXT, false, false},
        {LX_ERR_UPSTREAM, 400, "INVALID_ARGUMENT",
         "The input token count (5000) exceeds the maximum number of tokens allowed (4096).",
         LX_DX_CONTEXT, false, false},
        {LX_ERR_UPSTREAM, 500, "", "input length exceeds the context length", LX_DX_RETRY, true,
         false},
        {LX_ERR_UPSTREAM, 400, "", "input length exceeds the context length", LX_DX_CONTEXT, false,
         false},
        {LX_ERR_TOOBIG, 0, "",
         "the prompt has 900 tokens, more than the model's context of 512 tokens", LX_DX_CONTEXT,
         false, false},
        {LX_ERR_UPSTREAM, 400, "invalid_request_error",
         "Your request was rejected as a result of our safety system.", LX_DX_POLICY, false, false},
        {LX_ERR_UPSTREAM, 400, "invalid_request_error",
         "Output blocked by content filtering policy", LX_DX_POLICY, false, false},
        {LX_ERR_UPSTREAM, 400, "INVALID_ARGUMENT",
         "The prompt was blocked for safety reasons (blockReason: SAFETY).", LX_DX_POLICY, false,
         false},
        {LX_ERR_UPSTREAM, 401, "authentication_error", "bad key", LX_DX_FATAL, false, false},
        {LX_ERR_UPSTREAM, 404, "not_found_error", "no such model", LX_DX_FATAL, false, false},
        {LX_ERR_UPSTREAM, 0, "server_error", "The server had an error", LX_DX_RETRY, true, false},
        {LX_ERR_UPSTREAM, 0, "invalid_request_error", "bad", LX_DX_FATAL, false, false},
        {LX_ERR_TIMEOUT, 0, "", "idle timeout: no data for 1500 ms in the middle of the answer",
         LX_DX_FAILOVER, true, false},
        {LX_ERR_TIMEOUT, 0, "", "connect timeout: x", LX_DX_FAILOVER, true, true},
        {LX_ERR_IO, 0, "",
         "cannot connect: Failed to connect to 127.0.0.1 port 1: Connection refused", LX_DX_RETRY,
         true, true},
        {LX_ERR_IO, 0, "", "cannot resolve host: Could not resolve host: nowhere.invalid",
         LX_DX_RETRY, true, true},
        {LX_ERR_IO, 0, "", "connection closed before an answer: Connection reset by peer",
         LX_DX_RETRY, true, true},
        {LX_ERR_IO, 0, "", "connection cut in the middle of the answer: Connection reset by peer",
         LX_DX_RETRY, true, false},
        {LX_ERR_PROTO, 0, "", "stream ended before its final event", LX_DX_FAILOVER, true, false},
        {LX_ERR_UNSUPPORTED, 0, "", "cannot encode images for this dialect", LX_DX_FAILOVER, false,
         false},
        {LX_ERR_CANCELLED, 0, "", "cancelled", LX_DX_CANCELLED, false, false},
        {LX_ERR_NOMEM, 0, "", "out of memory", LX_DX_FATAL, false, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        lx_dx_verdict v = cls(rows[i].code, rows[i].http, rows[i].type, rows[i].msg);
        cr_expect_eq(v.cls, rows[i].want, "row %zu (%s): class %d, want %d", i, rows[i].msg, v.cls,
                     rows[i].want);
        cr_expect_eq(v.breaker_failure, rows[i].failure, "row %zu (%s): breaker failure", i,
                     rows[i].msg);
        cr_expect_eq(v.unreachable, rows[i].unreachable, "row %zu (%s): unreachable", i,
                     rows[i].msg);
    }
}

Test(dispatch, a_provider_that_cannot_be_made_is_passed_over_once)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 3, base_ms: 200, max_ms: 200}}\n", false);
    rec r;
    RUN_PLAN(&e, &r, true, "hello world", "ghost/ghost.gguf", "mockanthropic/echo");
    cr_assert_eq(r.n_finish, 1, "%s", r.err.message);
    cr_assert_str_eq(r.target, "mockanthropic/echo");
    cr_assert_eq(r.n_attempts, 2, "no retry of a model file that cannot load: %s", r.json);
    cr_assert_lt(r.t_end - r.t0, 200, "no backoff pause");
    rec_free(&r);
    env_free(&e);
}

/* Many jobs at once on one loop: each gets exactly one terminal event and
 * its own answer; retries, failovers and cancels interleave. */
Test(dispatch, many_concurrent_jobs)
{
    env e;
    env_init(&e, "reliability: {retry: {max_attempts: 2, base_ms: 5, max_ms: 20}}\n", false);
    enum { N = 60 };
    static rec rs[N];
    hplan h;
    const char *specs[] = {"mockopenai/times-20-err-503", "mockanthropic/echo"};
    plan_of(&e, &h, specs, 2);
    lx_request *qs[N];
    for (int i = 0; i < N; i++) {
        char text[32];
        snprintf(text, sizeof text, "job %d", i);
        qs[i] = req_text("x", text);
        memset(&rs[i], 0, sizeof rs[i]);
        rs[i].e = &e;
        lx_buf_init(&rs[i].text, 0);
        rs[i].cancel_in_sink = i % 7 == 3 ? 1 : 0; /* some callers go away */
        lx_job_opts o = {.front = "test", .stream = i % 2 == 0};
        cr_assert_eq(
            lx_dispatch_start_plan(e.d, qs[i], &h.plan, &o, sink, &rs[i], &rs[i].job, NULL), LX_OK);
    }
    for (int spins = 0; spins < 100000; spins++) {
        int done = 0;
        for (int i = 0; i < N; i++)
            done += rs[i].done;
        if (done == N)
            break;
        uv_run(&e.loop.uv, UV_RUN_ONCE);
    }
    uv_run(&e.loop.uv, UV_RUN_NOWAIT);
    for (int i = 0; i < N; i++) {
        cr_assert(rs[i].done, "job %d never ended", i);
        if (i % 7 == 3 && i % 2 == 0) {
            cr_assert_eq(rs[i].n_finish + rs[i].n_error, 0, "job %d: events after cancel", i);
        } else if (i % 7 != 3) {
            char want[96];
            snprintf(want, sizeof want, "You said: job %d", i);
            cr_assert_eq(rs[i].n_finish, 1, "job %d: %s", i, rs[i].err.message);
            cr_assert(strstr(txt(&rs[i]), want), "job %d got: %s", i, txt(&rs[i]));
        }
        lx_request_free(qs[i]);
        rec_free(&rs[i]);
    }
    env_free(&e);
}
