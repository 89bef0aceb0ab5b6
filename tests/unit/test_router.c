/*
 * test_router.c — the router's policy (router/router.h): every rule kind and
 * action, privacy modes, fail-closed privacy on every path, oversized
 * requests, features, offline, health ordering, budget, key scope,
 * stickiness, aliases, cascade, the explanation, exact local counts.
 *
 * Most configs use an Ollama provider marked local with catalogue entries,
 * so the size checks are deterministic (the documented estimate); the tests
 * that need the embedded engine's tokenizer use stories260K and skip when
 * it is absent.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "router/router.h"
#include "router/dispatch_int.h"      /* internals: lx_dx_ledger_row */
#include "router/router_policy_int.h" /* internals: lx_rp_pf, ctx */

/* loc/tiny: local, 400-token context, no features; loc/big: local, 100k,
 * tools; openai models: remote, paid; claude: remote. */
#define BASE                                                                                       \
    "default_model: openai/gpt-4o-mini\n"                                                          \
    "providers:\n"                                                                                 \
    "  - {name: loc, type: ollama, locality: local, models: [tiny]}\n"                             \
    "  - {name: openai, type: openai, api_key: sk-test-0000, models: [gpt-4o-mini, gpt-4o]}\n"     \
    "  - {name: claude, type: anthropic, api_key: sk-ant-test-0000, models: "                      \
    "[claude-sonnet-4-5]}\n"                                                                       \
    "catalogue:\n"                                                                                 \
    "  - {id: tiny, context: 400, features: []}\n"                                                 \
    "  - {id: big, context: 100000, features: [tools]}\n"

#define SIMPLE "Classify the sentiment of this review: I love it."
#define HARD                                                                                       \
    "Prove rigorously that there are infinitely many primes, then derive a closed form for the "   \
    "recurrence and justify each step."
#define EMAIL " Contact me at jane.doe@acme-corp.io about it."

typedef struct rt {
    lx_config *cfg;
    lx_router *r;
    lx_route_scratch *sc;
} rt;

static rt mk(const char *yaml)
{
    rt t = {0};
    lx_error err;
    lx_error_clear(&err);
    lx_status st = lx_config_parse(yaml, strlen(yaml), "t.yaml", &t.cfg, &err);
    cr_assert_eq(st, LX_OK, "config: %s", err.message);
    st = lx_router_new(t.cfg, &t.r, &err);
    cr_assert_eq(st, LX_OK, "router: %s", err.message);
    st = lx_route_scratch_new(t.r, &t.sc, &err);
    cr_assert_eq(st, LX_OK, "scratch: %s", err.message);
    return t;
}

static void rt_free(rt *t)
{
    lx_route_scratch_free(t->sc);
    lx_router_free(t->r);
    lx_config_free(t->cfg);
}

static void add_text(lx_request *q, lx_role role, const char *text)
{
    lx_message *m = lx_request_add_message(q, role);
    cr_assert_not_null(m);
    lx_part *p = lx_message_add_part(q, m, LX_PART_TEXT);
    cr_assert_not_null(p);
    p->text = lx_arena_strdup(q->arena, text);
}

static lx_request *rq(const char *model, const char *user)
{
    lx_request *q = lx_request_new();
    cr_assert_not_null(q);
    q->model = model ? lx_arena_strdup(q->arena, model) : NULL;
    add_text(q, LX_ROLE_USER, user);
    return q;
}

static lx_plan *route_in(rt *t, lx_route_input *in)
{
    lx_plan *p = NULL;
    lx_error err;
    lx_error_clear(&err);
    lx_status st = lx_route(t->r, t->sc, in, &p, &err);
    cr_assert_eq(st, LX_OK, "route: %s", err.message);
    cr_assert_not_null(p);
    return p;
}

static lx_plan *route(rt *t, lx_request *q)
{
    lx_route_input in = {.req = q};
    return route_in(t, &in);
}

static bool has_reason(const lx_plan *p, const char *needle)
{
    for (size_t i = 0; i < p->n_reasons; i++)
        if (strstr(p->reasons[i], needle))
            return true;
    for (size_t i = 0; i < p->n_targets; i++)
        if (p->targets[i].reason && strstr(p->targets[i].reason, needle))
            return true;
    return false;
}

static void dump(const lx_plan *p)
{
    lx_buf b;
    lx_buf_init(&b, 1 << 20);
    lx_plan_json(p, &b);
    fprintf(stderr, "%.*s\n", (int)b.len, b.data ? b.data : "");
    lx_buf_free(&b);
}

static void expect_target(const lx_plan *p, size_t i, const char *prov, const char *model)
{
    if (p->n_targets <= i || strcmp(p->targets[i].provider->name, prov) ||
        strcmp(p->targets[i].model, model))
        dump(p);
    cr_assert_gt(p->n_targets, i, "plan has %zu targets, wanted #%zu %s/%s", p->n_targets, i, prov,
                 model);
    cr_assert_str_eq(p->targets[i].provider->name, prov);
    cr_assert_str_eq(p->targets[i].model, model);
}

static void expect_no_remote(const lx_plan *p)
{
    for (size_t i = 0; i < p->n_targets; i++)
        if (!p->targets[i].local) {
            dump(p);
            cr_assert_fail("remote target %s/%s in a sensitive route_local plan",
                           p->targets[i].provider->name, p->targets[i].model);
        }
}

static void expect_block(const lx_plan *p, lx_status code, const char *needle)
{
    if (p->action != LX_ACTION_BLOCK || p->block.code != code ||
        (needle && !strstr(p->block.message, needle)))
        dump(p);
    cr_assert_eq(p->action, LX_ACTION_BLOCK);
    cr_assert_eq(p->block.code, code, "code %s: %s", lx_status_name(p->block.code),
                 p->block.message);
    if (needle)
        cr_assert(strstr(p->block.message, needle), "'%s' not in '%s'", needle, p->block.message);
    cr_assert_eq(p->n_targets, 0);
    cr_assert_str_eq(lx_plan_target_kind(p), "none");
}

/* A long text of n copies of a harmless sentence. */
static char *long_text(size_t n)
{
    static const char s[] = "Summarize this line of plain words for me. ";
    char *t = malloc(n * (sizeof s - 1) + 1);
    cr_assert_not_null(t);
    for (size_t i = 0; i < n; i++)
        memcpy(t + i * (sizeof s - 1), s, sizeof s - 1);
    t[n * (sizeof s - 1)] = 0;
    return t;
}

/* ---- defaults ----------------------------------------------------------- */

Test(router, simple_auto_goes_local_with_cloud_fallback)
{
    rt t = mk(BASE);
    lx_request *q = rq("auto", SIMPLE);
    lx_plan *p = route(&t, q);
    cr_assert_eq(p->action, LX_ACTION_SEND);
    expect_target(p, 0, "loc", "tiny");
    expect_target(p, 1, "openai", "gpt-4o-mini");
    cr_assert_str_eq(lx_plan_target_kind(p), "local");
    cr_assert_not(p->explicit_model);
    cr_assert_lt(p->complexity.score, 0.55);
    cr_assert(has_reason(p, "default target"));
    cr_assert_not(p->targets[0].tokens_exact);
    cr_assert_gt(p->targets[0].prompt_tokens, 0);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, complex_auto_escalates_with_local_fallback)
{
    rt t = mk(BASE);
    lx_request *q = rq("auto", HARD);
    lx_plan *p = route(&t, q);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    expect_target(p, 1, "loc", "tiny");
    cr_assert_str_eq(lx_plan_target_kind(p), "cloud");
    cr_assert(has_reason(p, "escalate"));
    cr_assert_geq(p->complexity.score, 0.55);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, threshold_and_escalate_from_config)
{
    rt t = mk(BASE "routing: {complexity_threshold: 0.99, escalate: claude/claude-sonnet-4-5, "
                   "default: loc/tiny}\n");
    lx_request *q = rq("auto", HARD);
    lx_plan *p = route(&t, q);
    expect_target(p, 0, "loc", "tiny"); /* 0.9 < 0.99 */
    expect_target(p, 1, "claude", "claude-sonnet-4-5");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
    t = mk(BASE "routing: {complexity_threshold: 0.1, escalate: claude}\n");
    q = rq("auto", "What is the capital of France and why did it become the capital?");
    p = route(&t, q);
    expect_target(p, 0, "claude", "claude-sonnet-4-5");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, no_routing_section_defaults)
{
    /* remote only: default = default_model, escalate = default_model */
    rt t =
        mk("default_model: openai/gpt-4o\nproviders:\n"
           "  - {name: openai, type: openai, api_key: k-000000, models: [gpt-4o-mini, gpt-4o]}\n");
    cr_assert_str_eq(t.cfg->routing.default_target, "openai/gpt-4o");
    cr_assert_str_eq(t.cfg->routing.escalate, "openai/gpt-4o");
    lx_request *q = rq("auto", SIMPLE);
    lx_plan *p = route(&t, q);
    expect_target(p, 0, "openai", "gpt-4o");
    cr_assert_eq(p->n_targets, 1);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

/* ---- explicit models, aliases ------------------------------------------ */

Test(router, explicit_model_starts_the_plan)
{
    rt t = mk(BASE);
    lx_request *q = rq("claude/claude-sonnet-4-5", SIMPLE);
    lx_plan *p = route(&t, q);
    cr_assert(p->explicit_model);
    expect_target(p, 0, "claude", "claude-sonnet-4-5");
    expect_target(p, 1, "loc", "tiny");
    cr_assert(has_reason(p, "requested model"));
    lx_plan_free(p);
    lx_request_free(q);
    /* NULL model = default_model, explicit */
    q = rq(NULL, HARD);
    p = route(&t, q);
    cr_assert(p->explicit_model);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, unknown_model_blocks_notfound)
{
    rt t = mk(BASE);
    lx_request *q = rq("openai/gpt-9", SIMPLE);
    lx_plan *p = route(&t, q);
    expect_block(p, LX_ERR_NOTFOUND, "gpt-9");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, aliases)
{
    rt t = mk(BASE "aliases: {smart: openai/gpt-4o, fast: loc, router: auto, brain: smart}\n");
    const lx_provider_cfg *pv;
    const char *m;
    lx_error e;
    cr_assert_eq(lx_config_resolve(t.cfg, "brain", &pv, &m, &e), LX_OK);
    cr_assert_str_eq(pv->name, "openai");
    cr_assert_str_eq(m, "gpt-4o");
    cr_assert_eq(lx_config_resolve(t.cfg, "router", &pv, &m, &e), LX_ERR_NOTFOUND);
    cr_assert(strstr(e.message, "router picks"), "%s", e.message);
    cr_assert_eq(lx_config_resolve(t.cfg, "auto", &pv, &m, &e), LX_ERR_NOTFOUND);

    lx_request *q = rq("brain", SIMPLE);
    lx_plan *p = route(&t, q);
    cr_assert(p->explicit_model);
    expect_target(p, 0, "openai", "gpt-4o");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("router", HARD);
    p = route(&t, q);
    cr_assert_not(p->explicit_model);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("fast", HARD);
    p = route(&t, q);
    expect_target(p, 0, "loc", "tiny");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

/* ---- size and features -------------------------------------------------- */

Test(router, oversized_for_local_goes_cloud)
{
    rt t = mk(BASE);
    char *big = long_text(40); /* ~1760 bytes: ~440 estimated tokens > 400 */
    lx_request *q = rq("auto", big);
    lx_plan *p = route(&t, q);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    cr_assert_eq(p->n_targets, 1, "tiny cannot be a fallback");
    cr_assert(has_reason(p, "400-token context"));
    lx_plan_free(p);
    lx_request_free(q);
    /* the requested output counts too */
    q = rq("auto", SIMPLE);
    q->sampling.max_tokens = 390;
    p = route(&t, q);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    cr_assert(has_reason(p, "390 requested output"));
    cr_assert_eq(p->max_output, 390);
    lx_plan_free(p);
    lx_request_free(q);
    free(big);
    rt_free(&t);
}

Test(router, sensitive_and_too_big_blocks_clearly)
{
    rt t = mk(BASE);
    char *big = long_text(40);
    char *txt = malloc(strlen(big) + 100);
    sprintf(txt, "%s%s", big, EMAIL);
    lx_request *q = rq("auto", txt);
    lx_plan *p = route(&t, q);
    expect_block(p, LX_ERR_BLOCKED,
                 "request contains EMAIL; privacy mode route_local keeps it local");
    cr_assert(strstr(p->block.message, "loc/tiny cannot take it"), "%s", p->block.message);
    cr_assert(strstr(p->block.message, "400-token context"), "%s", p->block.message);
    cr_assert(p->sensitive);
    cr_assert_eq(lx_error_http_status(&p->block), 403);
    lx_plan_free(p);
    lx_request_free(q);
    free(txt);
    free(big);
    rt_free(&t);
}

Test(router, features_local_lacks_escalate)
{
    rt t = mk(BASE);
    lx_request *q = rq("auto", SIMPLE);
    lx_tool *tool = lx_request_add_tool(q);
    tool->name = lx_arena_strdup(q->arena, "lookup");
    lx_plan *p = route(&t, q);
    cr_assert(p->features & LX_FEAT_TOOLS);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    cr_assert(has_reason(p, "needs tools"));
    cr_assert_eq(p->n_targets, 1);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
    /* a model the catalogue does not know: assumed capable, and said so */
    t = mk("providers:\n"
           "  - {name: vllm, type: openai, base_url: 'http://127.0.0.1:9/v1', api_key: k-0000000,"
           " models: [mystery-7b]}\n");
    q = rq("vllm/mystery-7b", SIMPLE);
    q->format.kind = LX_FORMAT_JSON;
    p = route(&t, q);
    expect_target(p, 0, "vllm", "mystery-7b");
    cr_assert(has_reason(p, "not in the catalogue: assumed to support json"));
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

/* ---- privacy modes ------------------------------------------------------ */

Test(router, route_local_keeps_sensitive_local)
{
    rt t = mk(BASE);
    lx_request *q = rq("auto", HARD EMAIL);
    lx_plan *p = route(&t, q);
    cr_assert(p->sensitive);
    cr_assert_eq(p->n_privacy, 1);
    cr_assert_str_eq(p->privacy[0], "EMAIL");
    expect_target(p, 0, "loc", "tiny");
    expect_no_remote(p);
    cr_assert(has_reason(p, "left out: openai/gpt-4o-mini is remote"));
    cr_assert_eq(p->findings.n, 1);
    lx_plan_free(p);
    lx_request_free(q);
    /* explicit remote model, same thing */
    q = rq("openai/gpt-4o", SIMPLE EMAIL);
    p = route(&t, q);
    expect_target(p, 0, "loc", "tiny");
    expect_no_remote(p);
    cr_assert(has_reason(p, "privacy route_local keeps EMAIL"));
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, redact_mode_marks_remote_targets)
{
    rt t = mk(BASE "routing: {privacy: redact}\n");
    lx_request *q = rq("auto", HARD EMAIL);
    lx_plan *p = route(&t, q);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    cr_assert_eq(p->action, LX_ACTION_REDACT);
    cr_assert(p->targets[0].redact);
    cr_assert_not(p->targets[1].redact); /* local */
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", SIMPLE EMAIL);
    p = route(&t, q);
    expect_target(p, 0, "loc", "tiny");
    cr_assert_eq(p->action, LX_ACTION_SEND);
    cr_assert(p->targets[1].redact);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, block_mode_refuses_sensitive)
{
    rt t = mk(BASE "routing: {privacy: block}\n");
    lx_request *q = rq("auto", SIMPLE EMAIL);
    lx_plan *p = route(&t, q);
    expect_block(p, LX_ERR_BLOCKED, "privacy mode block");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", SIMPLE);
    p = route(&t, q);
    cr_assert_eq(p->action, LX_ACTION_SEND);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, off_mode_reports_but_routes_freely)
{
    rt t = mk(BASE "routing: {privacy: off}\n");
    lx_request *q = rq("auto", HARD EMAIL);
    lx_plan *p = route(&t, q);
    cr_assert_not(p->sensitive);
    cr_assert_eq(p->n_privacy, 1);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    cr_assert_not(p->targets[0].redact);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, privacy_header_only_stricter)
{
    rt t = mk(BASE "routing: {privacy: off}\n");
    lx_request *q = rq("auto", HARD EMAIL);
    lx_header h[] = {{"x-llmux-privacy", "route_local"}};
    lx_route_input in = {.req = q, .headers = h, .n_headers = 1};
    lx_plan *p = route_in(&t, &in);
    cr_assert_eq(p->privacy_mode, LX_PRIVACY_ROUTE_LOCAL);
    expect_target(p, 0, "loc", "tiny");
    expect_no_remote(p);
    lx_plan_free(p);
    rt_free(&t);

    t = mk(BASE);
    lx_header weak[] = {{"x-llmux-privacy", "off"}};
    in = (lx_route_input){.req = q, .headers = weak, .n_headers = 1};
    p = route_in(&t, &in);
    cr_assert_eq(p->privacy_mode, LX_PRIVACY_ROUTE_LOCAL);
    expect_no_remote(p);
    cr_assert(has_reason(p, "can only make privacy stricter"));
    lx_plan_free(p);
    lx_header blk[] = {{"x-llmux-privacy", "block"}};
    in = (lx_route_input){.req = q, .headers = blk, .n_headers = 1};
    p = route_in(&t, &in);
    expect_block(p, LX_ERR_BLOCKED, "privacy mode block");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, key_privacy_sets_the_mode)
{
    rt t = mk(BASE);
    lx_key_cfg key = {.id = "team-r", .has_privacy = true, .privacy = LX_PRIVACY_REDACT};
    lx_request *q = rq("auto", HARD EMAIL);
    lx_route_input in = {.req = q, .key = &key};
    lx_plan *p = route_in(&t, &in);
    cr_assert_eq(p->privacy_mode, LX_PRIVACY_REDACT);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    cr_assert_eq(p->action, LX_ACTION_REDACT);
    cr_assert(has_reason(p, "from key 'team-r'"));
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, privacy_mode_edges)
{
    /* a redact rule never unblocks; an unknown header value is ignored */
    rt t = mk(BASE "routing:\n  privacy: block\n  rules:\n"
                   "    - {when: {task: summarization}, action: redact}\n");
    lx_request *q = rq("auto", "Summarize this note: the meeting moved to Tuesday." EMAIL);
    lx_plan *p = route(&t, q);
    expect_block(p, LX_ERR_BLOCKED, "privacy mode block");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
    t = mk(BASE);
    q = rq("auto", SIMPLE EMAIL);
    lx_header h[] = {{"x-llmux-privacy", "sideways"}};
    lx_route_input in = {.req = q, .headers = h, .n_headers = 1};
    p = route_in(&t, &in);
    cr_assert_eq(p->privacy_mode, LX_PRIVACY_ROUTE_LOCAL);
    cr_assert(has_reason(p, "'sideways' ignored"));
    expect_no_remote(p);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

/* ---- fail-closed: every path to a remote target ------------------------- */

static lx_health all_unreachable(void *ud, const lx_provider_cfg *p, const char *model)
{
    (void)ud;
    (void)model;
    return p->local ? LX_HEALTH_OK : LX_HEALTH_UNREACHABLE;
}

Test(router, fail_closed_on_every_path)
{
    rt t = mk(BASE "aliases: {smart: claude/claude-sonnet-4-5}\n"
                   "routing:\n"
                   "  cascade: true\n"
                   "  rules:\n"
                   "    - {when: {task: proof}, target: cloud}\n"
                   "    - {when: {header: x-go, equals: cloud}, action: cloud}\n"
                   "    - {when: {header: x-go, equals: smart}, target: smart}\n"
                   "    - {when: {header: x-go, equals: cascade}, action: cascade}\n"
                   "    - {when: {model: openai/gpt-4o}, target: openai/gpt-4o}\n"
                   "reliability:\n"
                   "  fallbacks: {local: [cloud, openai/gpt-4o, smart], cloud: [claude/auto]}\n");
    const char *models[] = {
        "auto", "openai/gpt-4o", "openai/gpt-4o-mini", "smart", "cloud", "loc/tiny", NULL};
    const char *hx[] = {NULL, "cloud", "smart", "cascade", NULL};
    const char *prompts[] = {HARD EMAIL, SIMPLE EMAIL,
                             "api key sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f",
                             NULL};
    size_t n = 0;
    for (int pi = 0; prompts[pi]; pi++)
        for (int mi = 0; models[mi]; mi++)
            for (int hi = 0; hi < 4; hi++)
                for (int ti = 0; ti < 3; ti++)
                    for (int off = 0; off < 2; off++)
                        for (int nc = 0; nc < 2; nc++) {
                            lx_request *q = rq(models[mi], prompts[pi]);
                            lx_header h[3];
                            size_t nh = 0;
                            if (hx[hi])
                                h[nh++] = (lx_header){"x-go", hx[hi]};
                            if (ti == 1)
                                h[nh++] = (lx_header){"x-llmux-target", "cloud"};
                            if (ti == 2)
                                h[nh++] = (lx_header){"x-llmux-target", "openai/gpt-4o"};
                            lx_route_input in = {.req = q,
                                                 .headers = h,
                                                 .n_headers = nh,
                                                 .health = off ? all_unreachable : NULL,
                                                 .no_cascade = nc};
                            lx_plan *p = route_in(&t, &in);
                            cr_assert(p->sensitive, "prompt %d not sensitive", pi);
                            expect_no_remote(p);
                            cr_assert_not(p->cascade);
                            if (p->action != LX_ACTION_BLOCK) {
                                cr_assert_str_eq(lx_plan_target_kind(p), "local");
                                cr_assert_eq(p->action, LX_ACTION_SEND);
                            }
                            lx_plan_free(p);
                            lx_request_free(q);
                            n++;
                        }
    cr_assert_eq(n, 3 * 6 * 4 * 3 * 2 * 2);
    rt_free(&t);
}

/* ---- rules -------------------------------------------------------------- */

#define RULES(...) BASE "routing:\n  rules:\n" __VA_ARGS__

Test(router, rule_privacy_block_and_any)
{
    rt t = mk(RULES("    - {when: {privacy: [API_KEY, PRIVATE_KEY]}, action: block, reason: no "
                    "secrets}\n"
                    "    - {when: {privacy: [any]}, target: loc/tiny}\n"));
    lx_request *q = rq("auto", "key: sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f");
    lx_plan *p = route(&t, q);
    expect_block(p, LX_ERR_BLOCKED, "rules[0] at line 11");
    cr_assert(strstr(p->block.message, "no secrets"));
    cr_assert_str_eq(p->rule, "rules[0] at line 11");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("openai/gpt-4o", "key: sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f");
    p = route(&t, q); /* block rules apply to explicit requests too */
    expect_block(p, LX_ERR_BLOCKED, "no secrets");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", HARD EMAIL);
    p = route(&t, q);
    cr_assert_str_eq(p->rule, "rules[1] at line 12");
    expect_target(p, 0, "loc", "tiny");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", SIMPLE);
    p = route(&t, q);
    cr_assert_null(p->rule);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, rule_task)
{
    rt t = mk(RULES("    - {when: {task: [planning, proof]}, target: claude/claude-sonnet-4-5}\n"));
    lx_request *q = rq("auto", HARD);
    lx_plan *p = route(&t, q);
    expect_target(p, 0, "claude", "claude-sonnet-4-5");
    cr_assert(has_reason(p, "task proof"));
    lx_plan_free(p);
    lx_request_free(q);
    /* explicit requests ignore target rules without `model:` */
    q = rq("openai/gpt-4o", HARD);
    p = route(&t, q);
    expect_target(p, 0, "openai", "gpt-4o");
    cr_assert_null(p->rule);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, rule_header_equals_and_presence)
{
    rt t = mk(RULES("    - {when: {header: X-Team, equals: research}, target: claude}\n"
                    "    - {when: {header: x-team}, action: local}\n"));
    lx_request *q = rq("auto", HARD);
    lx_header h1[] = {{"x-team", "research"}};
    lx_route_input in = {.req = q, .headers = h1, .n_headers = 1};
    lx_plan *p = route_in(&t, &in);
    expect_target(p, 0, "claude", "claude-sonnet-4-5");
    lx_plan_free(p);
    lx_header h2[] = {{"x-team", "ops"}};
    in.headers = h2;
    p = route_in(&t, &in);
    expect_target(p, 0, "loc", "tiny");
    cr_assert_str_eq(p->rule, "rules[1] at line 12");
    lx_plan_free(p);
    in.n_headers = 0;
    p = route_in(&t, &in);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, rule_complexity_above_below)
{
    rt t = mk(RULES("    - {when: {complexity_above: 0.8}, target: claude}\n"
                    "    - {when: {complexity_below: 0.1}, target: openai/gpt-4o}\n"));
    lx_request *q = rq("auto", HARD);
    lx_plan *p = route(&t, q);
    cr_assert_gt(p->complexity.score, 0.8);
    expect_target(p, 0, "claude", "claude-sonnet-4-5");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", SIMPLE);
    p = route(&t, q);
    cr_assert_lt(p->complexity.score, 0.1);
    expect_target(p, 0, "openai", "gpt-4o");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", "What is the capital of France and why did it become the capital?");
    p = route(&t, q);
    cr_assert_null(p->rule, "score %.2f", p->complexity.score);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, rule_tokens_above_below)
{
    rt t = mk(RULES("    - {when: {tokens_above: 200}, target: claude}\n"
                    "    - {when: {tokens_below: 20}, target: openai/gpt-4o}\n"));
    char *big = long_text(30); /* ~330 estimated tokens */
    lx_request *q = rq("auto", big);
    lx_plan *p = route(&t, q);
    expect_target(p, 0, "claude", "claude-sonnet-4-5");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", "Hi there");
    p = route(&t, q);
    expect_target(p, 0, "openai", "gpt-4o");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", SIMPLE " " SIMPLE " " SIMPLE);
    p = route(&t, q);
    cr_assert_null(p->rule);
    lx_plan_free(p);
    lx_request_free(q);
    free(big);
    rt_free(&t);
}

Test(router, rule_features)
{
    rt t = mk(RULES("    - {when: {features: [json]}, target: claude}\n"));
    lx_request *q = rq("auto", SIMPLE);
    q->format.kind = LX_FORMAT_JSON_SCHEMA;
    lx_plan *p = route(&t, q);
    expect_target(p, 0, "claude", "claude-sonnet-4-5");
    cr_assert(has_reason(p, "needs json"));
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, rule_model_and_key)
{
    rt t =
        mk(RULES("    - {when: {model: openai/gpt-4o, key: team-a}, target: openai/gpt-4o-mini}\n"
                 "    - {when: {model: auto, key: team-b}, action: cloud}\n"));
    lx_key_cfg a = {.id = "team-a"}, b = {.id = "team-b"};
    lx_request *q = rq("openai/gpt-4o", SIMPLE);
    lx_route_input in = {.req = q, .key = &a};
    lx_plan *p = route_in(&t, &in);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    cr_assert_str_eq(p->rule, "rules[0] at line 11");
    lx_plan_free(p);
    in.key = &b;
    p = route_in(&t, &in);
    expect_target(p, 0, "openai", "gpt-4o");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", SIMPLE);
    in.req = q;
    p = route_in(&t, &in);
    expect_target(p, 0, "openai", "gpt-4o-mini"); /* cloud = escalate */
    lx_plan_free(p);
    in.key = NULL;
    p = route_in(&t, &in);
    expect_target(p, 0, "loc", "tiny");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, rule_redact_and_local_actions)
{
    rt t = mk(RULES("    - {when: {task: summarization}, action: redact}\n"
                    "    - {when: {task: proof}, action: local}\n"));
    lx_request *q = rq("auto", "Summarize this note: the meeting moved to Tuesday." EMAIL);
    lx_plan *p = route(&t, q);
    cr_assert_str_eq(p->complexity.task, "summarization");
    cr_assert_eq(p->privacy_mode, LX_PRIVACY_REDACT);
    cr_assert(p->sensitive);
    expect_target(p, 0, "loc", "tiny");
    cr_assert(p->targets[1].redact);
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", HARD);
    p = route(&t, q);
    expect_target(p, 0, "loc", "tiny");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, rule_cascade_and_routing_cascade)
{
    rt t = mk(RULES("    - {when: {task: classification}, action: cascade}\n"));
    lx_request *q = rq("auto", SIMPLE);
    q->messages[0].parts[0].text = "Classify this ticket as bug or feature: the app crashes.";
    lx_plan *p = route(&t, q);
    cr_assert(p->cascade);
    expect_target(p, 0, "loc", "tiny");
    cr_assert_not(p->targets[1].local);
    lx_plan_free(p);
    lx_route_input in = {.req = q, .no_cascade = true};
    p = route_in(&t, &in);
    cr_assert_not(p->cascade);
    cr_assert(has_reason(p, "cannot wait"));
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);

    t = mk(BASE "routing: {cascade: true}\n");
    q = rq("auto", SIMPLE);
    p = route(&t, q);
    cr_assert(p->cascade);
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("loc/tiny", SIMPLE); /* explicit: no cascade */
    p = route(&t, q);
    cr_assert_not(p->cascade);
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", SIMPLE EMAIL); /* sensitive under route_local: no cascade */
    p = route(&t, q);
    cr_assert_not(p->cascade);
    expect_no_remote(p);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, target_header)
{
    rt t = mk(BASE);
    lx_request *q = rq("auto", HARD);
    lx_header h[] = {{"x-llmux-target", "local"}};
    lx_route_input in = {.req = q, .headers = h, .n_headers = 1};
    lx_plan *p = route_in(&t, &in);
    expect_target(p, 0, "loc", "tiny");
    lx_plan_free(p);
    h[0].value = "claude/claude-sonnet-4-5";
    p = route_in(&t, &in);
    expect_target(p, 0, "claude", "claude-sonnet-4-5");
    lx_plan_free(p);
    h[0].value = "nowhere/x";
    p = route_in(&t, &in);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    cr_assert(has_reason(p, "x-llmux-target 'nowhere/x' ignored"));
    lx_plan_free(p);
    lx_request_free(q);
    /* the header beats a model named in the body */
    q = rq("openai/gpt-4o", HARD);
    h[0].value = "local";
    in.req = q;
    p = route_in(&t, &in);
    expect_target(p, 0, "loc", "tiny");
    cr_assert(p->explicit_model);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

/* ---- fallbacks, health, offline, budget, key --------------------------- */

Test(router, configured_fallbacks_in_order)
{
    rt t = mk(BASE "reliability:\n  fallbacks:\n"
                   "    openai/gpt-4o-mini: [claude/claude-sonnet-4-5, openai/gpt-4o]\n"
                   "    local: [claude]\n");
    lx_request *q = rq("auto", HARD);
    lx_plan *p = route(&t, q);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    expect_target(p, 1, "claude", "claude-sonnet-4-5");
    expect_target(p, 2, "openai", "gpt-4o");
    expect_target(p, 3, "loc", "tiny");
    cr_assert_eq(p->n_targets, 4);
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", SIMPLE);
    p = route(&t, q);
    expect_target(p, 0, "loc", "tiny");
    expect_target(p, 1, "claude", "claude-sonnet-4-5");
    expect_target(p, 2, "openai", "gpt-4o-mini");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

static lx_health mini_down_4o_probing(void *ud, const lx_provider_cfg *p, const char *model)
{
    (void)ud;
    if (model && !strcmp(model, "gpt-4o-mini"))
        return LX_HEALTH_DOWN;
    if (model && !strcmp(model, "gpt-4o"))
        return LX_HEALTH_PROBING;
    (void)p;
    return LX_HEALTH_OK;
}

Test(router, health_down_out_probing_last)
{
    rt t = mk(BASE "reliability:\n  fallbacks:\n"
                   "    openai/gpt-4o: [claude/claude-sonnet-4-5]\n");
    lx_request *q = rq("openai/gpt-4o", HARD);
    lx_route_input in = {.req = q, .health = mini_down_4o_probing};
    lx_plan *p = route_in(&t, &in);
    expect_target(p, 0, "claude", "claude-sonnet-4-5");
    expect_target(p, 1, "loc", "tiny");
    expect_target(p, 2, "openai", "gpt-4o");
    cr_assert(has_reason(p, "probed"));
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", HARD);
    in.req = q;
    p = route_in(&t, &in);
    expect_target(p, 0, "loc", "tiny");
    cr_assert(has_reason(p, "down (circuit breaker open)"));
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, offline_routes_local)
{
    rt t = mk(BASE);
    lx_request *q = rq("openai/gpt-4o", HARD);
    lx_route_input in = {.req = q, .health = all_unreachable};
    lx_plan *p = route_in(&t, &in);
    cr_assert(p->offline);
    expect_target(p, 0, "loc", "tiny");
    cr_assert_eq(p->n_targets, 1);
    cr_assert(has_reason(p, "offline: every remote provider is unreachable"));
    lx_plan_free(p);
    lx_request_free(q);
    /* offline and too big for local: unavailable */
    char *big = long_text(40);
    q = rq("auto", big);
    in.req = q;
    p = route_in(&t, &in);
    expect_block(p, LX_ERR_UNAVAILABLE, "unreachable");
    lx_plan_free(p);
    lx_request_free(q);
    free(big);
    rt_free(&t);
}

Test(router, budget_leaves_paid_targets_out)
{
    rt t = mk(BASE);
    lx_request *q = rq("auto", HARD);
    lx_route_input in = {.req = q, .cloud_over_budget = true};
    lx_plan *p = route_in(&t, &in);
    expect_target(p, 0, "loc", "tiny");
    cr_assert_eq(p->n_targets, 1);
    cr_assert(has_reason(p, "budget"));
    lx_plan_free(p);
    q->model = "openai/gpt-4o";
    p = route_in(&t, &in);
    expect_target(p, 0, "loc", "tiny");
    lx_plan_free(p);
    q->model = NULL;
    lx_request_free(q);
    char *big = long_text(40);
    q = rq("auto", big);
    in.req = q;
    p = route_in(&t, &in);
    expect_block(p, LX_ERR_LIMIT, "budget");
    lx_plan_free(p);
    lx_request_free(q);
    free(big);
    rt_free(&t);
}

Test(router, key_scope)
{
    rt t = mk(BASE);
    char *models[] = {"loc/*", "auto", "openai/gpt-4o-mini"};
    lx_key_cfg key = {.id = "team-a", .models = models, .n_models = 3};
    lx_request *q = rq("openai/gpt-4o", SIMPLE);
    lx_route_input in = {.req = q, .key = &key};
    key.has_privacy = true;
    key.privacy = LX_PRIVACY_REDACT;
    lx_plan *p = route_in(&t, &in);
    expect_block(p, LX_ERR_BLOCKED, "key 'team-a' may not use openai/gpt-4o");
    cr_assert_eq(p->privacy_mode, LX_PRIVACY_REDACT, "an early block still reports the mode");
    key.has_privacy = false;
    lx_plan_free(p);
    q->model = "claude";
    p = route_in(&t, &in);
    expect_block(p, LX_ERR_BLOCKED, "claude/claude-sonnet-4-5");
    lx_plan_free(p);
    q->model = "auto";
    p = route_in(&t, &in);
    expect_target(p, 0, "loc", "tiny");
    expect_target(p, 1, "openai", "gpt-4o-mini");
    lx_plan_free(p);
    q->model = NULL;
    lx_request_free(q);
    /* fallbacks outside the scope are left out */
    q = rq("auto", HARD);
    key.n_models = 2;
    in.req = q;
    p = route_in(&t, &in);
    expect_target(p, 0, "loc", "tiny");
    cr_assert_eq(p->n_targets, 1);
    cr_assert(has_reason(p, "key 'team-a' may not use openai/gpt-4o-mini"));
    lx_plan_free(p);
    /* no auto in the list */
    char *only[] = {"openai/*"};
    lx_key_cfg k2 = {.id = "team-b", .models = only, .n_models = 1};
    in.key = &k2;
    p = route_in(&t, &in);
    expect_block(p, LX_ERR_BLOCKED, "may not use auto");
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

/* ---- stickiness --------------------------------------------------------- */

static lx_request *conv(const char *sys, const char *first, const char *later)
{
    lx_request *q = lx_request_new();
    q->model = "auto";
    add_text(q, LX_ROLE_SYSTEM, sys);
    add_text(q, LX_ROLE_USER, first);
    if (later) {
        add_text(q, LX_ROLE_ASSISTANT, "Sure.");
        add_text(q, LX_ROLE_USER, later);
    }
    return q;
}

Test(router, sticky_conversation_stays_local)
{
    rt t = mk(BASE);
    lx_request *q1 = conv("You are helpful.", "Let us talk about my account.",
                          "My email is "
                          "jane.doe@acme-corp.io");
    lx_plan *p = route(&t, q1);
    cr_assert(p->sensitive);
    cr_assert_not(p->sticky);
    lx_plan_free(p);
    /* a later turn without the finding, same conversation */
    lx_request *q2 = conv("You are helpful.", "Let us talk about my account.", HARD);
    p = route(&t, q2);
    cr_assert(p->sticky);
    cr_assert(p->sensitive);
    expect_no_remote(p);
    cr_assert(has_reason(p, "sticky"));
    lx_plan_free(p);
    /* another conversation is not affected */
    lx_request *q3 = conv("You are helpful.", "Something else entirely.", HARD);
    p = route(&t, q3);
    cr_assert_not(p->sticky);
    expect_target(p, 0, "openai", "gpt-4o-mini");
    lx_plan_free(p);
    /* lx_router_mark_sensitive does the same from outside */
    lx_router_mark_sensitive(t.r, q3);
    p = route(&t, q3);
    cr_assert(p->sticky);
    lx_plan_free(p);
    lx_request_free(q1);
    lx_request_free(q2);
    lx_request_free(q3);
    rt_free(&t);

    t = mk(BASE "routing: {sticky: false}\n");
    q1 = conv("S", "first", "jane.doe@acme-corp.io");
    q2 = conv("S", "first", HARD);
    lx_plan_free(route(&t, q1));
    p = route(&t, q2);
    cr_assert_not(p->sticky);
    lx_plan_free(p);
    lx_request_free(q1);
    lx_request_free(q2);
    rt_free(&t);
}

Test(router, sticky_set_is_bounded)
{
    rt t = mk(BASE);
    char first[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(first, sizeof first, "conversation %d", i);
        lx_request *q = conv("S", first, NULL);
        lx_router_mark_sensitive(t.r, q);
        lx_request_free(q);
    }
    /* the latest are remembered, the earliest evicted */
    lx_request *q = conv("S", "conversation 19999", NULL);
    lx_plan *p = route(&t, q);
    cr_assert(p->sticky);
    lx_plan_free(p);
    lx_request_free(q);
    int kept = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(first, sizeof first, "conversation %d", i);
        q = conv("S", first, NULL);
        p = route(&t, q);
        kept += p->sticky;
        lx_plan_free(p);
        lx_request_free(q);
    }
    cr_assert_lt(kept, 10);
    rt_free(&t);
}

typedef struct th_arg {
    rt *t;
    int id;
    int bad;
} th_arg;

static void *routing_thread(void *a)
{
    th_arg *ta = a;
    lx_route_scratch *sc;
    lx_error e;
    if (lx_route_scratch_new(ta->t->r, &sc, &e) != LX_OK) {
        ta->bad++;
        return NULL;
    }
    char first[64];
    for (int i = 0; i < 200; i++) {
        snprintf(first, sizeof first, "thread %d turn %d", ta->id, i);
        lx_request *q = conv("S", first, i % 2 ? "mail jane.doe@acme-corp.io" : HARD);
        lx_route_input in = {.req = q};
        lx_plan *p = NULL;
        if (lx_route(ta->t->r, sc, &in, &p, &e) != LX_OK)
            ta->bad++;
        else if (p->sensitive)
            for (size_t k = 0; k < p->n_targets; k++)
                ta->bad += !p->targets[k].local;
        lx_plan_free(p);
        lx_request_free(q);
    }
    lx_route_scratch_free(sc);
    return NULL;
}

Test(router, threads_share_one_router)
{
    rt t = mk(BASE);
    pthread_t th[4];
    th_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (th_arg){.t = &t, .id = i};
        pthread_create(&th[i], NULL, routing_thread, &a[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(a[i].bad, 0);
    }
    rt_free(&t);
}

Test(router, guard_section_feeds_the_scanner)
{
    rt t =
        mk(BASE "guard:\n"
                "  disable: [EMAIL]\n"
                "  terms: [{type: CODENAME, words: [Bluebird]}]\n"
                "  regexes: [{type: TICKET, pattern: 'ACME-[0-9]{4}', caseless: true}]\n"
                "routing:\n  rules:\n"
                "    - {when: {privacy: [CODENAME]}, action: block, reason: code names stay in}\n");
    cr_assert_not_null(lx_router_scanner(t.r));
    lx_request *q = rq("auto", "Status of project bluebird?");
    lx_plan *p = route(&t, q);
    expect_block(p, LX_ERR_BLOCKED, "code names stay in");
    cr_assert_str_eq(p->privacy[0], "CODENAME");
    lx_plan_free(p);
    lx_request_free(q);
    q = rq("auto", HARD " See acme-1234." EMAIL);
    p = route(&t, q);
    cr_assert_eq(p->n_privacy, 1, "EMAIL is disabled");
    cr_assert_str_eq(p->privacy[0], "TICKET");
    expect_no_remote(p);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

Test(router, environment_config_gets_defaults)
{
    /* lx_config_from_env does not run the routing check: the router fills
     * default and escalate itself */
    setenv("OPENAI_API_KEY", "sk-env-test-000000", 1);
    unsetenv("ANTHROPIC_API_KEY");
    unsetenv("GEMINI_API_KEY");
    unsetenv("GOOGLE_API_KEY");
    unsetenv("OLLAMA_HOST");
    setenv("LLMUX_MODEL", "/nonexistent/env.gguf", 1);
    lx_config *c = NULL;
    lx_error e;
    cr_assert_eq(lx_config_from_env(&c, &e), LX_OK, "%s", e.message);
    lx_router *r = NULL;
    lx_route_scratch *sc = NULL;
    cr_assert_eq(lx_router_new(c, &r, &e), LX_OK, "%s", e.message);
    cr_assert_eq(lx_route_scratch_new(r, &sc, &e), LX_OK);
    lx_request *q = rq("auto", HARD);
    lx_route_input in = {.req = q};
    lx_plan *p = NULL;
    cr_assert_eq(lx_route(r, sc, &in, &p, &e), LX_OK);
    cr_assert_eq(p->action, LX_ACTION_SEND);
    cr_assert_not(p->targets[0].local, "complex goes to the hosted model");
    bool local_after = false;
    for (size_t i = 1; i < p->n_targets; i++)
        local_after |= p->targets[i].local;
    cr_assert(local_after);
    lx_plan_free(p);
    lx_request_free(q);
    lx_route_scratch_free(sc);
    lx_router_free(r);
    lx_config_free(c);
}

/* ---- explanation -------------------------------------------------------- */

Test(router, plan_json_shape)
{
    rt t = mk(BASE);
    lx_request *q = rq("auto", HARD EMAIL);
    lx_plan *p = route(&t, q);
    lx_buf b;
    lx_buf_init(&b, 1 << 20);
    cr_assert_eq(lx_plan_json(p, &b), LX_OK);
    json_error_t je;
    json_t *o = json_loadb(b.data, b.len, 0, &je);
    cr_assert_not_null(o, "bad JSON: %s", je.text);
    cr_assert_str_eq(json_string_value(json_object_get(o, "target")), "local");
    cr_assert_str_eq(json_string_value(json_object_get(o, "provider")), "loc");
    cr_assert_str_eq(json_string_value(json_object_get(o, "model")), "tiny");
    cr_assert_str_eq(json_string_value(json_object_get(o, "action")), "send");
    cr_assert(json_array_size(json_object_get(o, "reasons")) > 2);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "privacy"), 0)), "EMAIL");
    cr_assert(json_is_real(json_object_get(o, "complexity")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "task")), "proof");
    json_t *tk = json_object_get(o, "tokens");
    cr_assert(json_is_object(json_object_get(tk, "loc/tiny")));
    cr_assert(json_is_object(json_object_get(tk, "openai/gpt-4o-mini")));
    cr_assert(json_is_false(json_object_get(json_object_get(tk, "loc/tiny"), "exact")));
    cr_assert_eq(json_array_size(json_object_get(o, "plan")), 1);
    cr_assert(json_is_false(json_object_get(o, "offline")));
    cr_assert(json_is_false(json_object_get(o, "cascade")));
    cr_assert(json_is_boolean(json_object_get(json_object_get(o, "features"), "tools")));
    cr_assert_null(json_object_get(o, "error"));
    json_decref(o);
    const char *line = lx_plan_reason(p);
    cr_assert_gt(strlen(line), 5);
    for (const char *c = line; *c; c++)
        cr_assert(*c >= 0x20 && *c < 0x7f);
    lx_plan_free(p);
    lx_request_free(q);

    /* a block: target none, error set, reason = the error */
    q = rq("nope/x", "hi\r\nthere");
    p = route(&t, q);
    lx_buf_reset(&b);
    cr_assert_eq(lx_plan_json(p, &b), LX_OK);
    o = json_loadb(b.data, b.len, 0, &je);
    cr_assert_not_null(o);
    cr_assert_str_eq(json_string_value(json_object_get(o, "target")), "none");
    cr_assert_str_eq(json_string_value(json_object_get(o, "action")), "block");
    cr_assert(json_is_null(json_object_get(o, "provider")));
    cr_assert(json_is_string(json_object_get(o, "error")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "error_code")), "not_found");
    cr_assert(strstr(lx_plan_reason(p), "nope/x"));
    json_decref(o);
    lx_plan_free(p);
    lx_request_free(q);
    lx_buf_free(&b);
    rt_free(&t);
}

/* ---- exact counts with the embedded engine's tokenizer ------------------ */

static bool stories(char *buf, size_t cap)
{
    const char *d = getenv("LLMUX_MODEL_DIR");
    snprintf(buf, cap, "%s/stories260K/stories260K.gguf", d && *d ? d : "../shared/models");
    return access(buf, R_OK) == 0;
}

Test(router, exact_local_count_with_stories260K)
{
    char path[4096], yaml[8192];
    if (!stories(path, sizeof path))
        cr_skip_test("stories260K.gguf not found (set LLMUX_MODEL_DIR)");
    snprintf(yaml, sizeof yaml,
             "providers:\n"
             "  - {name: local, type: local, model: \"%s\"}\n"
             "  - {name: openai, type: openai, api_key: sk-test-0000, models: [gpt-4o]}\n",
             path);
    rt t = mk(yaml);
    cr_assert_str_eq(t.cfg->routing.default_target, "local/stories260K.gguf");
    cr_assert_str_eq(t.cfg->routing.escalate, "openai/gpt-4o");
    lx_request *q = rq("auto", SIMPLE);
    lx_route_input in = {.req = q, .exact_tokens = true};
    lx_plan *p = route_in(&t, &in);
    expect_target(p, 0, "local", "stories260K.gguf");
    cr_assert(p->targets[0].tokens_exact);
    int64_t exact = p->targets[0].prompt_tokens;
    cr_assert_gt(exact, 5);
    cr_assert_lt(exact, 60);
    cr_assert_not(p->targets[1].tokens_exact);
    lx_plan_free(p);
    /* without exact_tokens the bounds settle it: the count is not exact */
    in.exact_tokens = false;
    p = route_in(&t, &in);
    expect_target(p, 0, "local", "stories260K.gguf");
    lx_plan_free(p);
    lx_request_free(q);
    /* 512-token context: ~2 KB goes to the cloud, with the exact count */
    char *big = long_text(45);
    q = rq("auto", big);
    in.req = q;
    p = route_in(&t, &in);
    expect_target(p, 0, "openai", "gpt-4o");
    cr_assert(has_reason(p, "512-token context"));
    cr_assert(p->n_tokens >= 2);
    bool seen_exact = false;
    for (size_t i = 0; i < p->n_tokens; i++)
        seen_exact |= p->tokens[i].exact && p->tokens[i].context == 512;
    cr_assert(seen_exact);
    lx_plan_free(p);
    /* and sensitive: a clear block */
    lx_request_free(q);
    char *txt = malloc(strlen(big) + 100);
    sprintf(txt, "%s%s", big, EMAIL);
    q = rq("auto", txt);
    in.req = q;
    p = route_in(&t, &in);
    expect_block(p, LX_ERR_BLOCKED, "local/stories260K.gguf cannot take it");
    cr_assert(strstr(p->block.message, "512-token context"), "%s", p->block.message);
    lx_plan_free(p);
    lx_request_free(q);
    free(txt);
    free(big);
    rt_free(&t);
}

Test(router, embedded_engine_missing_file_estimates)
{
    rt t = mk("providers:\n"
              "  - {name: local, type: local, model: /nonexistent/x.gguf}\n"
              "  - {name: openai, type: openai, api_key: sk-test-0000, models: [gpt-4o]}\n");
    lx_request *q = rq("auto", SIMPLE);
    lx_route_input in = {.req = q, .exact_tokens = true};
    lx_plan *p = route_in(&t, &in);
    expect_target(p, 0, "local", "x.gguf");
    cr_assert_not(p->targets[0].tokens_exact);
    lx_plan_free(p);
    lx_request_free(q);
    rt_free(&t);
}

/* ---- internals: the cheap reason writer, target specs, fingerprints ---- */

static ctx *pf_ctx(lx_plan *p)
{
    static ctx x;
    memset(&x, 0, sizeof x);
    memset(p, 0, sizeof *p);
    p->arena = lx_arena_new();
    cr_assert(p->arena);
    x.plan = p;
    return &x;
}

/* lx_rp_pf joins plain %s formats by hand: the same bytes as vsnprintf into
 * a 600-byte buffer, cut included. */
Test(router, reason_writer_matches_snprintf)
{
    lx_plan p;
    ctx *x = pf_ctx(&p);
    char big[700], want[600];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *args[] = {"", "a", "openai/gpt-4o", "ü€", big + 100, big + 250, big, NULL};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        for (size_t j = 0; j < sizeof args / sizeof args[0]; j++) {
            const char *a = args[i], *b = args[j];
#define SAME(...)                                                                                  \
    do {                                                                                           \
        snprintf(want, sizeof want, __VA_ARGS__);                                                  \
        const char *got = lx_rp_pf(x, __VA_ARGS__);                                                \
        cr_assert(got && !strcmp(got, want), "%zu/%zu: '%.80s' != '%.80s'", i, j, got, want);     \
    } while (0)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-overflow"
#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wformat"
            SAME("%s", a);
            SAME("%s%s", a, b);
            SAME("requested model %s", a);
            SAME("%s is remote and the request contains %s (privacy route_local)", a, b);
            SAME("%s (%s): %s%s%s", a, b, a, "", b);
            SAME("key '%s' may not use %s", a, b);
            SAME("privacy: no findings");
            SAME("%s: target '%s' does not resolve: %s", b, a, "auto");
            SAME("fallback '%.5s' skipped%%: %s", a, b); /* printf path */
            SAME("rules[%zu] at line %d", i, (int)j);
#pragma GCC diagnostic pop
#undef SAME
        }
    cr_assert_not(x->nomem);
    lx_arena_free(p.arena);
}

Test(router, tspec_str_matches_snprintf)
{
    lx_provider_cfg prov = {.name = "openai"};
    lx_tspec t = {&prov, "gpt-4o-mini"}, none = {0};
    char got[64], want[64];
    for (size_t cap = 1; cap <= sizeof got; cap++) {
        snprintf(want, cap, "%s/%s", prov.name, t.model);
        cr_assert_str_eq(lx_tspec_str(&t, got, cap), want, "cap %zu", cap);
        snprintf(want, cap, "(none)");
        cr_assert_str_eq(lx_tspec_str(&none, got, cap), want, "cap %zu", cap);
        cr_assert_str_eq(lx_tspec_str(NULL, got, cap), want, "cap %zu", cap);
    }
}

Test(router, types_str_joins_and_cuts)
{
    lx_plan p;
    ctx *x = pf_ctx(&p);
    cr_assert_str_eq(lx_rp_types_str(x), "data from an earlier sensitive turn");
    const char *types[40];
    char name[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(name[i], sizeof name[i], "TYPE_NUMBER_%02d", i);
        types[i] = name[i];
    }
    p.privacy = types;
    for (size_t n = 1; n <= 40; n++) {
        p.n_privacy = n;
        char want[300], tmp[300];
        size_t o = 0;
        want[0] = '\0';
        for (size_t i = 0; i < n && o < sizeof want; i++)
            o += (size_t)snprintf(want + o, sizeof want - o, "%s%s", i ? ", " : "", types[i]);
        snprintf(tmp, sizeof tmp, "%s", want);
        cr_assert_str_eq(lx_rp_types_str(x), tmp, "n %zu", n);
    }
    lx_arena_free(p.arena);
}

static lx_request *fp_conv(const char *sys, const char *user, const char *user2)
{
    lx_request *q = lx_request_new();
    cr_assert(q);
    if (sys)
        cr_assert_eq(lx_request_add_text(q, LX_ROLE_SYSTEM, sys), LX_OK);
    if (user)
        cr_assert_eq(lx_request_add_text(q, LX_ROLE_USER, user), LX_OK);
    if (user2)
        cr_assert_eq(lx_request_add_text(q, LX_ROLE_USER, user2), LX_OK);
    return q;
}

Test(router, fingerprint_of_a_conversation)
{
    lx_request *a = fp_conv("Be brief.", "What is 2+2? Tell me in detail please.", NULL);
    lx_request *a2 = fp_conv("Be brief.", "What is 2+2? Tell me in detail please.", "later turn");
    lx_request *b = fp_conv("Be brief.", "What is 2+2? Tell me in detail pleasf.", NULL);
    lx_request *c = fp_conv(NULL, "Be brief.What is 2+2? Tell me in detail please.", NULL);
    lx_request *d = fp_conv("What is 2+2? Tell me in detail please.", "Be brief.", NULL);
    lx_request *e = fp_conv("Be brief.", NULL, NULL);
    lx_request *f = fp_conv(NULL, "", NULL);
    uint64_t fa = lx_router_fingerprint(a);
    cr_assert_neq(fa, 0);
    cr_assert_eq(fa, lx_router_fingerprint(a));
    cr_assert_eq(fa, lx_router_fingerprint(a2), "later turns do not change it");
    cr_assert_neq(fa, lx_router_fingerprint(b));
    cr_assert_neq(fa, lx_router_fingerprint(c));
    cr_assert_neq(fa, lx_router_fingerprint(d));
    cr_assert_eq(lx_router_fingerprint(e), 0, "no user message");
    cr_assert_neq(lx_router_fingerprint(f), 0);
    cr_assert_eq(lx_router_fingerprint(NULL), 0);
    lx_request *all[] = {a, a2, b, c, d, e, f};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        lx_request_free(all[i]);
}

/* The reasons array grows (8, 16, 32, 64) as a decision explains itself:
 * every reason is kept in order, up to the 64 a plan holds; the scratch's
 * reused state starts each decision afresh. */
Test(router, many_reasons_grow_and_stop_at_64)
{
    char yaml[4096];
    int n = snprintf(yaml, sizeof yaml,
                     "providers:\n"
                     "  - {name: loc, type: ollama, locality: local, models: [");
    for (int i = 0; i < 30; i++)
        n += snprintf(yaml + n, sizeof yaml - (size_t)n, "%sm%02d", i ? ", " : "", i);
    n += snprintf(yaml + n, sizeof yaml - (size_t)n,
                  "]}\n"
                  "  - {name: openai, type: openai, api_key: sk-test-0000, models: [gpt-4o]}\n"
                  "catalogue:\n");
    for (int i = 0; i < 30; i++)
        n += snprintf(yaml + n, sizeof yaml - (size_t)n, "  - {id: m%02d, context: 10}\n", i);
    rt t = mk(yaml);
    for (int round = 0; round < 2; round++) {
        lx_request *q = rq("openai/gpt-4o", "a long enough question for a 10-token context" EMAIL);
        lx_plan *p = route(&t, q);
        /* privacy route_local: the remote choice is left out, every local
         * model too (too small): one reason each */
        cr_assert_eq(p->action, LX_ACTION_BLOCK);
        cr_assert_gt(p->n_reasons, 32);
        cr_assert_leq(p->n_reasons, 64);
        cr_assert(strstr(p->reasons[0], "requested model") ||
                  strstr(p->reasons[0], "privacy"), "%s", p->reasons[0]);
        size_t left = 0;
        for (size_t i = 0; i < p->n_reasons; i++) {
            cr_assert_not_null(p->reasons[i]);
            left += strstr(p->reasons[i], "left out: loc/m") != NULL;
        }
        cr_assert_geq(left, 25, "%zu", left);
        lx_plan_free(p);
        lx_request_free(q);
        /* a small decision on the same scratch afterwards */
        q = rq("openai/gpt-4o", "hello");
        p = route(&t, q);
        cr_assert_lt(p->n_reasons, 8);
        cr_assert_str_eq(p->reasons[0], "privacy: no findings");
        cr_assert(has_reason(p, "choice: requested model openai/gpt-4o"));
        lx_plan_free(p);
        lx_request_free(q);
    }
    rt_free(&t);
}

/* The ledger row's privacy column joins whole type names with commas, as
 * many as fit in 511 bytes (the snprintf loop it replaced, as the oracle). */
Test(router, ledger_row_privacy_column)
{
    static char names[80][64];
    const char *types[80];
    for (int i = 0; i < 80; i++) {
        int len = 1 + (i * 7) % 60;
        memset(names[i], 'A' + i % 26, (size_t)len);
        names[i][len] = '\0';
        types[i] = names[i];
    }
    for (size_t n = 0; n <= 80; n++)
        for (size_t first = 0; first + n <= 80; first += 13) {
            lx_plan plan;
            memset(&plan, 0, sizeof plan);
            plan.privacy = types + first;
            plan.n_privacy = n;
            lx_outcome o;
            memset(&o, 0, sizeof o);
            o.plan = &plan;
            lx_ledger_row row;
            lx_dx_row_scratch rs;
            lx_dx_ledger_row(&o, NULL, NULL, "openai", 0, NULL, NULL, &row, &rs);
            char want[512];
            size_t off = 0;
            want[0] = '\0';
            for (size_t i = 0; i < n && off + 1 < sizeof want; i++) {
                int k = snprintf(want + off, sizeof want - off, "%s%s", i ? "," : "",
                                 plan.privacy[i]);
                if (k < 0 || (size_t)k >= sizeof want - off) {
                    want[off] = '\0';
                    break;
                }
                off += (size_t)k;
            }
            if (n == 0)
                cr_assert_null(row.privacy);
            else
                cr_assert_str_eq(row.privacy, want, "n %zu first %zu", n, first);
            lx_dx_row_scratch_free(&rs);
        }
}
