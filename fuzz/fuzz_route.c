/*
 * fuzz_route.c — lx_route on requests built from arbitrary bytes: the model
 * name, headers (x-llmux-target, x-llmux-privacy, a rule header) and the
 * message texts come from outside, as they do through the server. Checks
 * the plan's invariants: a BLOCK has no targets and an error; otherwise at
 * least one target; a sensitive plan under route_local holds no remote
 * target; the JSON and the reason line are well-formed.
 *
 * Input layout: fields separated by 0x00 bytes:
 *   model, x-llmux-target, x-llmux-privacy, x-team, system, user, user, ...
 *
 *   make fuzz && build-fuzz/fuzz/fuzz_route -max_total_time=60
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "router/router.h"

static const char yaml[] =
    "default_model: openai/gpt-4o-mini\n"
    "providers:\n"
    "  - {name: loc, type: ollama, locality: local, models: [tiny, big]}\n"
    "  - {name: openai, type: openai, api_key: sk-fuzz-0000, models: [gpt-4o-mini, gpt-4o]}\n"
    "  - {name: claude, type: anthropic, api_key: sk-fuzz-0000, models: [claude-sonnet-4-5]}\n"
    "catalogue:\n"
    "  - {id: tiny, context: 300, features: []}\n"
    "  - {id: big, context: 100000, features: [tools]}\n"
    "aliases: {smart: claude, router: auto}\n"
    "routing:\n"
    "  rules:\n"
    "    - {when: {privacy: [PRIVATE_KEY]}, action: block}\n"
    "    - {when: {header: x-team, equals: red}, target: cloud}\n"
    "    - {when: {task: planning}, target: smart}\n"
    "    - {when: {tokens_above: 200, complexity_below: 0.3}, action: cascade}\n"
    "    - {when: {header: x-team}, action: redact}\n"
    "reliability:\n"
    "  fallbacks: {local: [cloud, smart], cloud: [loc/big]}\n";

static lx_config *cfg;
static lx_router *router;
static lx_route_scratch *scratch;

static lx_health health(void *ud, const lx_provider_cfg *p, const char *model)
{
    unsigned v = *(const unsigned *)ud;
    if (!model)
        return (v & 1) && !p->local ? LX_HEALTH_UNREACHABLE : LX_HEALTH_OK;
    return (lx_health)((v >> 1) % 3 == 2 && !p->local ? LX_HEALTH_DOWN : (v >> 1) % 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lx_error err;
    if (!router) {
        if (lx_config_parse(yaml, sizeof yaml - 1, "fuzz", &cfg, &err) != LX_OK ||
            lx_router_new(cfg, &router, &err) != LX_OK ||
            lx_route_scratch_new(router, &scratch, &err) != LX_OK)
            abort();
    }
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    const char *field[16] = {0};
    size_t nf = 0, start = 0;
    for (size_t i = 0; i <= size && nf < 16; i++)
        if (i == size || buf[i] == 0) {
            field[nf++] = buf + start;
            start = i + 1;
        }
    lx_request *req = lx_request_new();
    if (!req) {
        free(buf);
        return 0;
    }
    req->model = nf > 0 && *field[0] ? (char *)field[0] : NULL;
    lx_header h[3];
    size_t nh = 0;
    if (nf > 1 && *field[1])
        h[nh++] = (lx_header){"x-llmux-target", field[1]};
    if (nf > 2 && *field[2])
        h[nh++] = (lx_header){"x-llmux-privacy", field[2]};
    if (nf > 3 && *field[3])
        h[nh++] = (lx_header){"x-team", field[3]};
    for (size_t i = 4; i < nf; i++) {
        lx_message *m = lx_request_add_message(req, i == 4 ? LX_ROLE_SYSTEM : LX_ROLE_USER);
        lx_part *p = m ? lx_message_add_part(req, m, LX_PART_TEXT) : NULL;
        if (p)
            p->text = (char *)field[i];
    }
    unsigned hv = size ? data[0] : 0;
    lx_route_input in = {.req = req,
                         .headers = h,
                         .n_headers = nh,
                         .health = health,
                         .health_ud = &hv,
                         .cloud_over_budget = size > 1 && (data[1] & 1),
                         .no_cascade = size > 1 && (data[1] & 2)};
    lx_plan *plan = NULL;
    if (lx_route(router, scratch, &in, &plan, &err) == LX_OK) {
        if (plan->action == LX_ACTION_BLOCK && (plan->n_targets || !plan->block.message[0]))
            abort();
        if (plan->action != LX_ACTION_BLOCK && !plan->n_targets)
            abort();
        if (plan->sensitive && plan->privacy_mode == LX_PRIVACY_ROUTE_LOCAL) {
            for (size_t i = 0; i < plan->n_targets; i++)
                if (!plan->targets[i].local)
                    abort();
            if (plan->cascade)
                abort();
        }
        for (const char *c = lx_plan_reason(plan); *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                abort();
        lx_buf b;
        lx_buf_init(&b, 1 << 24);
        if (lx_plan_json(plan, &b) != LX_OK)
            abort();
        json_t *o = json_loadb(b.data, b.len, 0, NULL);
        if (!o)
            abort();
        json_decref(o);
        lx_buf_free(&b);
        lx_plan_free(plan);
    }
    req->model = NULL;
    for (size_t i = 0; i < req->n_messages; i++)
        req->messages[i].parts[0].text = NULL;
    lx_request_free(req);
    free(buf);
    return 0;
}
