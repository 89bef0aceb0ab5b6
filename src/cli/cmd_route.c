/*
 * llmux route — explain where a request would run and why, without sending
 * anything (router/router.h).
 *
 *   llmux route --explain [--json] [--config F] [-m MODEL] [-H 'name: value']...
 *               [--system TEXT] [--max-tokens N] [--key ID] [--feature F]...
 *               [PROMPT]
 *
 * The prompt is PROMPT, else stdin. The model defaults to "auto" (the
 * router decides); -m names one (explicit request). -H adds a request
 * header (x-llmux-target, x-llmux-privacy, or one a rule tests). --key ID
 * routes as the virtual key ID of the config's `keys:`. --feature (tools,
 * vision, json, reasoning) makes the request need that feature.
 *
 * Output: --json prints lx_plan_json's object; otherwise readable lines.
 * Exit 0 for every decision, a block included (it is an explanation); 2 on
 * usage or configuration errors; 1 when routing itself fails.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cliutil.h"
#include "cli/commands.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/types.h"
#include "router/router.h"

#define STDIN_CAP ((size_t)16 << 20)

static void usage(FILE *f)
{
    fprintf(f, "usage: llmux route --explain [OPTIONS] [PROMPT]\n"
               "\n"
               "Explain where a request would run and why, without sending anything.\n"
               "The prompt is PROMPT, else stdin.\n"
               "\n"
               "options:\n"
               "      --explain            print the decision (required)\n"
               "      --json               one JSON object: target, provider, model, action,\n"
               "                           reasons, privacy, complexity, tokens, plan, ...\n"
               "      --config FILE        configuration file\n"
               "  -m, --model MODEL        requested model (default: auto, the router decides)\n"
               "  -H, --header 'N: V'      request header (x-llmux-target, x-llmux-privacy, ...)\n"
               "  -s, --system TEXT        system prompt\n"
               "      --max-tokens N       requested output tokens\n"
               "      --key ID             route as virtual key ID (config `keys:`)\n"
               "      --feature F          the request needs F: tools, vision, json, reasoning\n"
               "  -h, --help               this help\n"
               "\n"
               "exit status: 0 decision printed (a block too), 1 routing failed, 2 usage or\n"
               "configuration error\n");
}

static double mag(double w)
{
    return w < 0 ? -w : w;
}

static void print_plain(const lx_plan *p)
{
    const lx_target *t0 = p->action != LX_ACTION_BLOCK && p->n_targets ? &p->targets[0] : NULL;
    static const char *const act[] = {"send", "redact", "block"};
    static const char *const modes[] = {"route_local", "redact", "block", "off"};
    if (t0)
        printf("target:     %s (%s/%s)\n", lx_plan_target_kind(p), t0->provider->name, t0->model);
    else
        printf("target:     none\n");
    printf("action:     %s%s\n", act[p->action],
           p->cascade ? " (cascade: local draft, validated)" : "");
    if (p->action == LX_ACTION_BLOCK)
        printf("BLOCKED:    %s [%s]\n", p->block.message, lx_status_name(p->block.code));
    printf("privacy:    mode %s; ", modes[p->privacy_mode & 3]);
    if (!p->n_privacy)
        printf("no findings");
    for (size_t i = 0; i < p->n_privacy; i++)
        printf("%s%s", i ? ", " : "found ", p->privacy[i]);
    if (p->sticky)
        printf(" (sticky conversation)");
    printf("\n");
    printf("complexity: %.2f (%s)", p->complexity.score,
           p->complexity.task ? p->complexity.task : "general");
    /* the three features that pushed hardest */
    int used[LX_COMPLEXITY_MAX_FEATURES] = {0};
    for (int k = 0; k < 3 && k < p->complexity.n_features; k++) {
        int best = -1;
        for (int i = 0; i < p->complexity.n_features; i++)
            if (!used[i] && (best < 0 || mag(p->complexity.features[i].weight) >
                                             mag(p->complexity.features[best].weight)))
                best = i;
        used[best] = 1;
        printf("%s%s %+.2f", k ? ", " : "; ", p->complexity.features[best].name,
               p->complexity.features[best].weight);
    }
    printf("\n");
    if (p->features) {
        printf("features:  ");
        for (unsigned b = 1; lx_feature_name(b); b <<= 1)
            if (p->features & b)
                printf(" %s", lx_feature_name(b));
        printf("\n");
    }
    if (p->rule)
        printf("rule:       %s\n", p->rule);
    if (p->offline)
        printf("offline:    every remote provider is unreachable\n");
    printf("tokens:\n");
    for (size_t i = 0; i < p->n_tokens; i++) {
        const lx_route_tokens *t = &p->tokens[i];
        printf("  %s/%s: %lld (%s)", t->provider->name, t->model, (long long)t->count,
               t->exact ? "exact" : "estimate");
        if (t->context)
            printf(", context %lld", (long long)t->context);
        printf("\n");
    }
    printf("plan:\n");
    if (!p->n_targets)
        printf("  (empty)\n");
    for (size_t i = 0; i < p->n_targets; i++) {
        const lx_target *t = &p->targets[i];
        printf("  %zu. %s/%s [%s%s] %s\n", i + 1, t->provider->name, t->model,
               t->local ? "local" : "cloud", t->redact ? ", redacted" : "",
               t->reason ? t->reason : "");
    }
    printf("reasons:\n");
    for (size_t i = 0; i < p->n_reasons; i++)
        printf("  - %s\n", p->reasons[i]);
    printf("decided in %.1f us\n", (double)p->route_ns / 1000.0);
}

static int add_feature(lx_request *req, const char *f)
{
    if (!strcmp(f, "tools")) {
        lx_tool *t = lx_request_add_tool(req);
        if (!t)
            return -1;
        t->name = lx_arena_strdup(req->arena, "tool");
        return t->name ? 0 : -1;
    }
    if (!strcmp(f, "vision")) {
        lx_message *m = &req->messages[req->n_messages - 1];
        lx_part *pt = lx_message_add_part(req, m, LX_PART_IMAGE);
        if (!pt)
            return -1;
        pt->url = lx_arena_strdup(req->arena, "https://images.invalid/picture.png");
        return pt->url ? 0 : -1;
    }
    if (!strcmp(f, "json")) {
        req->format.kind = LX_FORMAT_JSON;
        return 0;
    }
    if (!strcmp(f, "reasoning")) {
        req->thinking_budget = 1024;
        return 0;
    }
    return 1;
}

int lx_cmd_route(int argc, char **argv)
{
    static const struct option opts[] = {{"explain", no_argument, 0, 'E'},
                                         {"json", no_argument, 0, 'J'},
                                         {"config", required_argument, 0, 'c'},
                                         {"model", required_argument, 0, 'm'},
                                         {"header", required_argument, 0, 'H'},
                                         {"system", required_argument, 0, 's'},
                                         {"max-tokens", required_argument, 0, 'T'},
                                         {"key", required_argument, 0, 'K'},
                                         {"feature", required_argument, 0, 'F'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int rc = LX_EXIT_USAGE;
    bool explain = false, json = false;
    const char *config = NULL, *model = "auto", *system = NULL, *key_id = NULL;
    long long max_tokens = 0;
    char **hv = calloc((size_t)argc + 1, sizeof *hv);
    lx_header *headers = calloc((size_t)argc + 1, sizeof *headers);
    const char **feats = calloc((size_t)argc + 1, sizeof *feats);
    size_t n_headers = 0, n_feats = 0;
    lx_config *cfg = NULL;
    lx_router *router = NULL;
    lx_route_scratch *sc = NULL;
    lx_request *req = NULL;
    lx_plan *plan = NULL;
    lx_buf out;
    lx_error err;
    lx_error_clear(&err);
    lx_buf_init(&out, (size_t)16 << 20);
    if (!hv || !headers || !feats) {
        fprintf(stderr, "llmux route: out of memory\n");
        rc = LX_EXIT_RUNTIME;
        goto done;
    }

    int c;
    lx_cli_getopt_reset();
    while ((c = lx_cli_getopt(argc, argv, "m:H:s:h", opts)) != -1) {
        switch (c) {
        case 'E':
            explain = true;
            break;
        case 'J':
            json = true;
            break;
        case 'c':
            config = optarg;
            break;
        case 'm':
            model = optarg;
            break;
        case 's':
            system = optarg;
            break;
        case 'K':
            key_id = optarg;
            break;
        case 'F':
            feats[n_feats++] = optarg;
            break;
        case 'T': {
            char *end;
            max_tokens = strtoll(optarg, &end, 10);
            if (*end || max_tokens <= 0) {
                rc = lx_cli_usage_error(
                    "route", "--max-tokens: expected a positive integer, got '%s'", optarg);
                goto done;
            }
            break;
        }
        case 'H': {
            char *colon = strchr(optarg, ':');
            if (!colon || colon == optarg) {
                rc = lx_cli_usage_error("route", "-H: expected 'name: value', got '%s'", optarg);
                goto done;
            }
            size_t nlen = (size_t)(colon - optarg);
            char *h = malloc(strlen(optarg) + 1);
            if (!h) {
                rc = LX_EXIT_RUNTIME;
                goto done;
            }
            hv[n_headers] = h;
            for (size_t i = 0; i < nlen; i++) {
                char ch = optarg[i];
                h[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
            }
            while (nlen > 0 && (h[nlen - 1] == ' ' || h[nlen - 1] == '\t'))
                nlen--;
            h[nlen] = '\0';
            const char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            char *hval = h + (colon - optarg) + 1;
            strcpy(hval, v);
            size_t vl = strlen(hval);
            while (vl > 0 && (hval[vl - 1] == ' ' || hval[vl - 1] == '\t'))
                hval[--vl] = '\0';
            headers[n_headers].name = h;
            headers[n_headers].value = hval;
            n_headers++;
            break;
        }
        case 'h':
            usage(stdout);
            rc = LX_EXIT_OK;
            goto done;
        default:
            goto done;
        }
    }
    if (!explain) {
        rc = lx_cli_usage_error("route", "say --explain (route only explains; 'llmux ask' sends)");
        goto done;
    }
    lx_buf prompt;
    lx_buf_init(&prompt, STDIN_CAP);
    for (int i = optind; i < argc; i++)
        if ((prompt.len && lx_buf_putc(&prompt, ' ') != LX_OK) ||
            lx_buf_puts(&prompt, argv[i]) != LX_OK) {
            lx_buf_free(&prompt);
            rc = lx_cli_usage_error("route", "prompt too long");
            goto done;
        }
    if (optind >= argc && lx_cli_is_tty(0)) {
        lx_buf_free(&prompt);
        rc = lx_cli_usage_error("route", "no prompt (give PROMPT or pipe it on stdin)");
        goto done;
    }
    if (optind >= argc) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            if (lx_buf_append(&prompt, chunk, n) != LX_OK) {
                lx_buf_free(&prompt);
                fprintf(stderr, "llmux route: stdin is larger than %zu MiB\n", STDIN_CAP >> 20);
                rc = LX_EXIT_USAGE;
                goto done;
            }
    }
    if (!prompt.len) {
        lx_buf_free(&prompt);
        rc = lx_cli_usage_error("route", "no prompt (give PROMPT or pipe it on stdin)");
        goto done;
    }

    if ((rc = lx_cli_load_config(config, &cfg)) != 0) {
        lx_buf_free(&prompt);
        goto done;
    }
    rc = LX_EXIT_RUNTIME;
    req = lx_request_new();
    if (!req) {
        lx_buf_free(&prompt);
        goto done;
    }
    req->model = lx_arena_strdup(req->arena, model);
    lx_message *m;
    lx_part *pt;
    if (system) {
        if (!(m = lx_request_add_message(req, LX_ROLE_SYSTEM)) ||
            !(pt = lx_message_add_part(req, m, LX_PART_TEXT)) ||
            !(pt->text = lx_arena_strdup(req->arena, system))) {
            lx_buf_free(&prompt);
            goto done;
        }
    }
    if (!(m = lx_request_add_message(req, LX_ROLE_USER)) ||
        !(pt = lx_message_add_part(req, m, LX_PART_TEXT)) ||
        !(pt->text = lx_arena_strndup(req->arena, prompt.data, prompt.len))) {
        lx_buf_free(&prompt);
        goto done;
    }
    lx_buf_free(&prompt);
    req->sampling.max_tokens = max_tokens;
    for (size_t i = 0; i < n_feats; i++) {
        int r = add_feature(req, feats[i]);
        if (r > 0) {
            rc = lx_cli_usage_error(
                "route", "--feature: '%s' is not one of tools, vision, json, reasoning", feats[i]);
            goto done;
        }
        if (r < 0)
            goto done;
    }
    const lx_key_cfg *key = NULL;
    if (key_id) {
        for (size_t i = 0; i < cfg->n_keys && !key; i++)
            if (cfg->keys[i].id && !strcmp(cfg->keys[i].id, key_id))
                key = &cfg->keys[i];
        if (!key) {
            rc = lx_cli_usage_error("route", "--key: no key with id '%s' in the config", key_id);
            goto done;
        }
    }

    if (lx_router_new(cfg, &router, &err) != LX_OK) {
        fprintf(stderr, "llmux route: %s\n", err.message);
        rc = err.code == LX_ERR_CONFIG ? LX_EXIT_USAGE : LX_EXIT_RUNTIME;
        goto done;
    }
    if (lx_route_scratch_new(router, &sc, &err) != LX_OK) {
        fprintf(stderr, "llmux route: %s\n", err.message);
        goto done;
    }
    lx_route_input ri = {
        .req = req, .headers = headers, .n_headers = n_headers, .key = key, .exact_tokens = true};
    if (lx_route(router, sc, &ri, &plan, &err) != LX_OK) {
        fprintf(stderr, "llmux route: %s\n", err.message);
        goto done;
    }
    if (json) {
        if (lx_plan_json(plan, &out) != LX_OK || lx_buf_putc(&out, '\n') != LX_OK) {
            fprintf(stderr, "llmux route: out of memory\n");
            goto done;
        }
        fwrite(out.data, 1, out.len, stdout);
    } else {
        print_plain(plan);
    }
    rc = LX_EXIT_OK;
done:
    lx_plan_free(plan);
    lx_request_free(req);
    lx_route_scratch_free(sc);
    lx_router_free(router);
    lx_config_free(cfg);
    for (size_t i = 0; hv && i < n_headers; i++)
        free(hv[i]);
    free(hv);
    free(headers);
    free(feats);
    lx_buf_free(&out);
    return rc;
}
