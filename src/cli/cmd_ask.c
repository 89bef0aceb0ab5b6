/*
 * llmux ask — one question to one model, answer streamed to stdout.
 *
 *   llmux ask [-m provider/model|auto] [-H 'name: value']... [--config F] [--json]
 *             [--system S] [--max-tokens N] [--temperature T] [--tools FILE]
 *             [--no-stream] PROMPT
 *
 * Every question goes through the dispatcher (router/dispatch.h), like the
 * server's requests: the router decides (privacy applies to an explicit
 * model too), the plan runs with retries, breakers and fallbacks, and the
 * job is accounted. Text is written as it arrives (flushed per event, so a
 * pipe sees tokens as they come too). Piped stdin is appended to the prompt
 * as context. --json prints one object at the end instead, with the
 * decision under "route" (lx_outcome_json). Exit: 0 ok, 1 the provider or
 * the network failed, or the plan refused the request (one line on stderr
 * naming the provider, the HTTP status and the message), 2 usage or
 * configuration error, 130 interrupted (the upstream call is cancelled).
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cliutil.h"
#include "cli/commands.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/types.h"
#include "net/loop.h"
#include "proto/json.h"
#include "account/account.h"
#include "router/breaker.h"
#include "router/dispatch.h"
#include "router/router.h"

#define STDIN_CAP ((size_t)16 << 20)
#define MAX_HEADERS 32

typedef struct ask {
    lx_loop loop;
    lx_job *job;
    lx_buf route;         /* lx_outcome_json at the terminal event */
    char provider[64];    /* the provider that answered (or was last tried) */
    uv_signal_t sigint;
    bool json;
    bool done, failed, interrupted;
    lx_error err;
    lx_collector col;
    uint64_t t0, ttft_ms, latency_ms;
    bool any_output;
    char last_char;
} ask;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: llmux ask [OPTIONS] PROMPT\n"
            "\n"
            "Ask a model and stream its answer to stdout. Piped stdin is appended to the\n"
            "prompt as context.\n"
            "\n"
            "options:\n"
            "  -m, --model PROVIDER/MODEL  model to ask (default: the config's default_model);\n"
            "                              'auto' lets the router decide\n"
            "  -H, --header 'NAME: VALUE'  a routing header (x-llmux-target, x-llmux-privacy,\n"
            "                              headers named by routing rules); repeatable\n"
            "      --config FILE           configuration file (default: $LLMUX_CONFIG,\n"
            "                              ./llmux.yaml, ~/.config/llmux/config.yaml, environment)\n"
            "  -s, --system TEXT           system prompt\n"
            "      --max-tokens N          limit the answer's length\n"
            "  -t, --temperature T         sampling temperature\n"
            "      --tools FILE            JSON array of tools (OpenAI function-tool shape)\n"
            "      --json                  print one JSON object with text, tool calls, usage,\n"
            "                              timing and the routing decision (\"route\")\n"
            "      --no-stream             ask the provider for a whole answer\n"
            "  -h, --help                  this help\n"
            "\n"
            "exit status: 0 ok, 1 provider or network error or a refused request,\n"
            "2 usage or configuration error, 130 interrupted\n");
}

static uint64_t now_ms(ask *a)
{
    uv_update_time(&a->loop.uv);
    return uv_now(&a->loop.uv);
}

static void stop(ask *a)
{
    a->done = true;
    a->latency_ms = now_ms(a) - a->t0;
    if (!uv_is_closing((uv_handle_t *)&a->sigint))
        uv_close((uv_handle_t *)&a->sigint, NULL);
}

/* The terminal event: keep what --json and the error line need, while the
 * job's outcome is still valid. */
static void at_end(ask *a)
{
    const lx_outcome *o = lx_job_outcome(a->job);
    if (o) {
        lx_buf_reset(&a->route);
        if (lx_outcome_json(o, &a->route) != LX_OK)
            lx_buf_reset(&a->route);
        if (o->target && o->target->provider)
            lx_strlcpy(a->provider, o->target->provider->name, sizeof a->provider);
    }
    a->job = NULL; /* freed by the dispatcher after this event */
}

static lx_status sink(void *ud, const lx_event *ev)
{
    ask *a = ud;
    if ((ev->kind == LX_EV_TEXT || ev->kind == LX_EV_TOOL_START) && a->ttft_ms == 0)
        a->ttft_ms = now_ms(a) - a->t0;
    lx_status st = lx_collector_event(&a->col, ev);
    if (st != LX_OK) {
        lx_fail(&a->err, st, "bad event sequence from the provider (%s)",
                lx_event_kind_name(ev->kind));
        a->failed = true;
        a->job = NULL; /* refusing cancels the job: the handle is gone */
        stop(a);
        return st;
    }
    switch (ev->kind) {
    case LX_EV_TEXT:
        if (!a->json && ev->len) {
            fwrite(ev->text, 1, ev->len, stdout);
            fflush(stdout);
            a->any_output = true;
            a->last_char = ev->text[ev->len - 1];
        }
        break;
    case LX_EV_FINISH:
        at_end(a);
        stop(a);
        break;
    case LX_EV_ERROR:
        at_end(a);
        a->failed = true;
        a->err = a->col.error;
        stop(a);
        break;
    default:
        break;
    }
    return LX_OK;
}

static void on_sigint(uv_signal_t *h, int sig)
{
    (void)sig;
    ask *a = h->data;
    a->interrupted = true;
    if (a->job) {
        lx_job_cancel(a->job); /* stops the upstream call at once */
        a->job = NULL;
    }
    stop(a);
}

static int read_stdin(lx_buf *out)
{
    struct stat st;
    if (isatty(0) || fstat(0, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode)))
        return 0;
    char buf[65536];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (lx_buf_append(out, buf, (size_t)n) != LX_OK)
            return -2;
    }
}

/* Reads --tools FILE: an array of {"type":"function","function":{...}} or
 * {name, description, parameters | input_schema}. */
static lx_status load_tools(lx_request *req, const char *path, lx_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return lx_fail(err, LX_ERR_USAGE, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    lx_status st = LX_OK;
    if (!json_is_array(root)) {
        st = lx_fail(err, LX_ERR_USAGE, "%s: expected a JSON array of tools", path);
        goto done;
    }
    size_t i;
    json_t *t;
    json_array_foreach(root, i, t)
    {
        json_t *fn = json_object_get(t, "function");
        json_t *def = json_is_object(fn) ? fn : t;
        json_t *name = json_object_get(def, "name");
        if (!json_is_string(name)) {
            st = lx_fail(err, LX_ERR_USAGE, "%s: tools[%zu].name: expected a string", path, i);
            goto done;
        }
        lx_tool *tool = lx_request_add_tool(req);
        if (!tool) {
            st = LX_ERR_NOMEM;
            goto done;
        }
        tool->name = lx_arena_strdup(req->arena, json_string_value(name));
        json_t *desc = json_object_get(def, "description");
        if (json_is_string(desc))
            tool->description = lx_arena_strdup(req->arena, json_string_value(desc));
        json_t *params = json_object_get(def, "parameters");
        if (!params)
            params = json_object_get(def, "input_schema");
        if (params)
            tool->parameters = lx_json_dump_arena(req->arena, params);
    }
done:
    json_decref(root);
    return st;
}

static void print_json(ask *a, const char *model, lx_response *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "provider", json_string(a->provider));
    json_object_set_new(o, "model", json_string(r->model ? r->model : model ? model : ""));
    json_object_set_new(o, "text", json_string(lx_response_text(r)));
    json_t *calls = json_array();
    json_t *think = NULL;
    for (size_t i = 0; i < r->n_parts; i++) {
        lx_part *p = &r->parts[i];
        if (p->kind == LX_PART_TOOL_CALL) {
            json_t *c = json_object();
            json_object_set_new(c, "id", p->id ? json_string(p->id) : json_null());
            json_object_set_new(c, "name", json_string(p->name ? p->name : ""));
            json_object_set_new(c, "arguments", json_string(p->arguments ? p->arguments : "{}"));
            json_array_append_new(calls, c);
        } else if (p->kind == LX_PART_THINKING && p->text) {
            think = json_string(p->text);
        }
    }
    json_object_set_new(o, "tool_calls", calls);
    if (think)
        json_object_set_new(o, "reasoning", think);
    json_object_set_new(o, "finish", json_string(lx_finish_name(r->finish)));
    json_t *u = json_object();
    json_object_set_new(u, "input", json_integer(r->usage.input));
    json_object_set_new(u, "cache_read", json_integer(r->usage.cache_read));
    json_object_set_new(u, "cache_write", json_integer(r->usage.cache_write));
    json_object_set_new(u, "output", json_integer(r->usage.output));
    json_object_set_new(u, "reasoning", json_integer(r->usage.reasoning));
    json_object_set_new(o, "usage", u);
    json_object_set_new(o, "ttft_ms", json_integer((json_int_t)a->ttft_ms));
    json_object_set_new(o, "latency_ms", json_integer((json_int_t)a->latency_ms));
    json_error_t je;
    json_t *route = a->route.len ? json_loadb(a->route.data, a->route.len, 0, &je) : NULL;
    json_object_set_new(o, "route", route ? route : json_null());
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

static void print_error(const lx_error *e, const char *fallback_provider)
{
    const char *prov = e->provider[0] ? e->provider : fallback_provider;
    if (prov && prov[0])
        fprintf(stderr, "llmux: %s: ", prov);
    else
        fprintf(stderr, "llmux: ");
    if (e->http_status)
        fprintf(stderr, "HTTP %d ", e->http_status);
    if (e->type[0])
        fprintf(stderr, "%s: ", e->type);
    fprintf(stderr, "%s\n", e->message[0] ? e->message : lx_status_name(e->code));
}

/* "Name: value" -> lower-case name, trimmed value (in place). */
static bool parse_header(char *arg, lx_header *out)
{
    char *colon = strchr(arg, ':');
    if (!colon || colon == arg)
        return false;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        v[--n] = '\0';
    for (char *k = arg; *k; k++) {
        if (*k == ' ' || *k == '\t')
            return false;
        if (*k >= 'A' && *k <= 'Z')
            *k = (char)(*k - 'A' + 'a');
    }
    out->name = arg;
    out->value = v;
    return true;
}

/* A name the router resolves by itself (auto, local, cloud, an alias,
 * "<provider>/auto"); anything else must resolve in the config, so that a
 * typo is a usage error (exit 2) before anything runs. */
static bool router_word(const lx_config *cfg, const char *spec)
{
    if (!strcmp(spec, "auto") || !strcmp(spec, "local") || !strcmp(spec, "cloud"))
        return true;
    for (size_t i = 0; i < cfg->n_aliases; i++)
        if (!strcmp(cfg->aliases[i].name, spec))
            return true;
    const char *slash = strrchr(spec, '/');
    return slash && !strcmp(slash + 1, "auto");
}

int lx_cmd_ask(int argc, char **argv)
{
    enum { O_CONFIG = 256, O_MAXTOK, O_TOOLS, O_JSON, O_NOSTREAM };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},      {"config", required_argument, 0, O_CONFIG},
        {"system", required_argument, 0, 's'},     {"max-tokens", required_argument, 0, O_MAXTOK},
        {"temperature", required_argument, 0, 't'}, {"tools", required_argument, 0, O_TOOLS},
        {"json", no_argument, 0, O_JSON},          {"no-stream", no_argument, 0, O_NOSTREAM},
        {"header", required_argument, 0, 'H'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model_spec = NULL, *config_path = NULL, *system = NULL, *tools_path = NULL;
    long long max_tokens = 0;
    double temperature = 0;
    bool has_temp = false, json = false, stream = true;
    lx_header headers[MAX_HEADERS];
    size_t n_headers = 0;
    int c;
    lx_cli_getopt_reset();
    while ((c = lx_cli_getopt(argc, argv, "m:s:t:H:h", opts)) != -1) {
        char *end;
        switch (c) {
        case 'm': model_spec = optarg; break;
        case O_CONFIG: config_path = optarg; break;
        case 's': system = optarg; break;
        case O_TOOLS: tools_path = optarg; break;
        case O_JSON: json = true; break;
        case O_NOSTREAM: stream = false; break;
        case 'H':
            if (n_headers == MAX_HEADERS) {
                fprintf(stderr, "llmux ask: --header: at most %d headers\n", MAX_HEADERS);
                return LX_EXIT_USAGE;
            }
            if (!parse_header(optarg, &headers[n_headers])) {
                fprintf(stderr, "llmux ask: --header: expected 'name: value', got '%s'\n", optarg);
                return LX_EXIT_USAGE;
            }
            n_headers++;
            break;
        case O_MAXTOK:
            max_tokens = strtoll(optarg, &end, 10);
            if (*end || max_tokens <= 0) {
                fprintf(stderr, "llmux ask: --max-tokens: expected a positive integer, got '%s'\n", optarg);
                return LX_EXIT_USAGE;
            }
            break;
        case 't':
            temperature = strtod(optarg, &end);
            if (*end || temperature < 0 || temperature > 2) {
                fprintf(stderr, "llmux ask: --temperature: expected a number in [0, 2], got '%s'\n", optarg);
                return LX_EXIT_USAGE;
            }
            has_temp = true;
            break;
        case 'h': usage(stdout); return LX_EXIT_OK;
        default: return LX_EXIT_USAGE; /* lx_cli_getopt printed why */
        }
    }

    int rc = LX_EXIT_RUNTIME;
    lx_config *cfg = NULL;
    lx_request *req = NULL;
    lx_router *router = NULL;
    lx_breakers *breakers = NULL;
    lx_account *account = NULL;
    lx_dispatch *disp = NULL;
    lx_buf prompt, input;
    lx_buf_init(&prompt, 0);
    lx_buf_init(&input, STDIN_CAP);
    lx_error err;
    lx_error_clear(&err);
    ask a;
    memset(&a, 0, sizeof a);
    lx_buf_init(&a.route, 1 << 20);
    bool loop_ready = false;

    for (int i = optind; i < argc; i++)
        if ((i > optind && lx_buf_putc(&prompt, ' ') != LX_OK) || lx_buf_puts(&prompt, argv[i]) != LX_OK)
            goto nomem;
    int sr = read_stdin(&input);
    if (sr == -2) {
        fprintf(stderr, "llmux ask: standard input is larger than %zu bytes\n", STDIN_CAP);
        rc = LX_EXIT_USAGE;
        goto out;
    }
    while (input.len && (input.data[input.len - 1] == '\n' || input.data[input.len - 1] == '\r'))
        input.len--; /* a trailing newline of piped text is not part of the question */
    if (input.len) {
        if (prompt.len && lx_buf_puts(&prompt, "\n\n") != LX_OK)
            goto nomem;
        if (lx_buf_append(&prompt, input.data, input.len) != LX_OK)
            goto nomem;
    }
    if (prompt.len == 0) {
        fprintf(stderr, "llmux ask: no prompt given (an argument, or text on stdin)\n");
        usage(stderr);
        rc = LX_EXIT_USAGE;
        goto out;
    }

    if ((rc = lx_cli_load_config(config_path, &cfg)) != LX_EXIT_OK)
        goto out;
    rc = LX_EXIT_RUNTIME;
    if (cfg->n_providers == 0) {
        fprintf(stderr, "llmux: %s\n", LX_CONFIG_NO_PROVIDERS);
        rc = LX_EXIT_USAGE;
        goto out;
    }
    const char *spec = model_spec && *model_spec ? model_spec : cfg->default_model;
    if (!spec) {
        fprintf(stderr, "llmux: no model given and no default_model configured\n");
        rc = LX_EXIT_USAGE;
        goto out;
    }
    if (!router_word(cfg, spec) && lx_config_resolve(cfg, spec, NULL, NULL, &err) != LX_OK) {
        fprintf(stderr, "llmux: %s\n", err.message);
        rc = LX_EXIT_USAGE;
        goto out;
    }

    req = lx_request_new();
    if (!req)
        goto nomem;
    req->model = lx_arena_strdup(req->arena, spec);
    req->stream = stream;
    if (system && lx_request_add_text(req, LX_ROLE_SYSTEM, system) != LX_OK)
        goto nomem;
    if (lx_request_add_text(req, LX_ROLE_USER, prompt.data) != LX_OK)
        goto nomem;
    req->sampling.max_tokens = max_tokens;
    req->sampling.has_temperature = has_temp;
    req->sampling.temperature = temperature;
    if (tools_path && load_tools(req, tools_path, &err) != LX_OK) {
        fprintf(stderr, "llmux ask: --tools %s\n", err.message);
        rc = LX_EXIT_USAGE;
        goto out;
    }

    /* services: router, breakers, one loop */
    if (lx_router_new(cfg, &router, &err) != LX_OK) {
        fprintf(stderr, "llmux: %s\n", err.message);
        rc = err.code == LX_ERR_CONFIG ? LX_EXIT_USAGE : LX_EXIT_RUNTIME;
        goto out;
    }
    if (lx_breakers_new(&cfg->reliability.breaker, &breakers, &err) != LX_OK)
        goto fail;
    lx_breakers_set_offline_ms(breakers, cfg->reliability.offline_probe_ms);
    if (lx_account_open(cfg, &account, &err) != LX_OK) {
        /* no ledger, budgets or cache for this question; it still runs */
        LX_WARN("ledger: %s (this request is not recorded)", err.message);
        account = NULL;
        lx_error_clear(&err);
    }
    lx_services svc = {.config = cfg, .router = router, .breakers = breakers, .account = account};

    if (lx_loop_init(&a.loop, &err) != LX_OK)
        goto fail;
    loop_ready = true;
    a.json = json;
    if (lx_collector_init(&a.col) != LX_OK)
        goto nomem;
    uv_signal_init(&a.loop.uv, &a.sigint);
    a.sigint.data = &a;
    uv_signal_start(&a.sigint, on_sigint, SIGINT);

    if (lx_dispatch_new(&svc, &a.loop.uv, &disp, &err) != LX_OK)
        goto fail;
    lx_job_opts jo = {.headers = headers, .n_headers = n_headers, .front = "cli", .stream = stream};
    a.t0 = now_ms(&a);
    if (lx_dispatch_start(disp, req, &jo, sink, &a, &a.job, &err) != LX_OK)
        goto fail;
    uv_run(&a.loop.uv, UV_RUN_DEFAULT);

    if (a.interrupted) {
        if (!json && a.any_output)
            fputc('\n', stdout);
        fprintf(stderr, "llmux: interrupted\n");
        rc = 130;
        goto out;
    }
    if (a.failed || !a.done) {
        if (!json && a.any_output && a.last_char != '\n')
            fputc('\n', stdout);
        if (!a.done)
            lx_fail(&a.err, LX_ERR_INTERNAL, "the provider stopped without an answer");
        print_error(&a.err, a.provider);
        rc = LX_EXIT_RUNTIME;
        goto out;
    }
    lx_response *r = lx_collector_take(&a.col);
    if (!r)
        goto nomem;
    if (json) {
        print_json(&a, spec, r);
    } else {
        if (a.any_output && a.last_char != '\n')
            fputc('\n', stdout);
        for (size_t i = 0; i < r->n_parts; i++)
            if (r->parts[i].kind == LX_PART_TOOL_CALL)
                printf("tool call: %s %s\n", r->parts[i].name ? r->parts[i].name : "",
                       r->parts[i].arguments ? r->parts[i].arguments : "{}");
    }
    lx_response_free(r);
    rc = LX_EXIT_OK;
    goto out;

nomem:
    lx_fail(&err, LX_ERR_NOMEM, "out of memory");
fail:
    print_error(&err, NULL);
    rc = err.code == LX_ERR_USAGE || err.code == LX_ERR_CONFIG ? LX_EXIT_USAGE : LX_EXIT_RUNTIME;
out:
    if (a.job)
        lx_job_cancel(a.job);
    lx_dispatch_free(disp); /* cancels what still runs, frees the providers */
    if (loop_ready) {
        if (!uv_is_closing((uv_handle_t *)&a.sigint) && a.sigint.loop)
            uv_close((uv_handle_t *)&a.sigint, NULL);
        lx_loop_close(&a.loop);
        lx_collector_free(&a.col);
    }
    lx_account_close(account); /* flushes the ledger row */
    lx_breakers_free(breakers);
    lx_router_free(router);
    lx_request_free(req);
    lx_config_free(cfg);
    lx_buf_free(&prompt);
    lx_buf_free(&input);
    lx_buf_free(&a.route);
    fflush(stdout);
    return rc;
}
