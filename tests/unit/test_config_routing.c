/*
 * test_config_routing.c — the `aliases:`, `routing:` and `guard:` sections:
 * every field, defaults, and errors with FILE:LINE:COL and "did you mean".
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"

#define PROVIDERS                                                                                  \
    "default_model: openai/gpt-4o\n"                                                               \
    "providers:\n"                                                                                 \
    "  - {name: openai, type: openai, api_key: sk-test-0000, models: [gpt-4o, gpt-4o-mini]}\n"     \
    "  - {name: ollama, type: ollama, models: [llama3, qwen]}\n"

static lx_config *ok(const char *yaml)
{
    lx_config *c = NULL;
    lx_error err;
    lx_error_clear(&err);
    lx_status st = lx_config_parse(yaml, strlen(yaml), "t.yaml", &c, &err);
    cr_assert_eq(st, LX_OK, "parse failed: %s\n%s", err.message, yaml);
    return c;
}

/* The error must contain every needle (NULL-terminated list). */
static void bad(const char *yaml, const char *w1, const char *w2)
{
    lx_config *c = NULL;
    lx_error err;
    lx_error_clear(&err);
    lx_status st = lx_config_parse(yaml, strlen(yaml), "t.yaml", &c, &err);
    cr_assert_eq(st, LX_ERR_CONFIG, "expected a config error for:\n%s", yaml);
    cr_assert_null(c);
    cr_assert(strstr(err.message, w1), "'%s' not in: %s", w1, err.message);
    if (w2)
        cr_assert(strstr(err.message, w2), "'%s' not in: %s", w2, err.message);
}

Test(config_routing, defaults_without_sections)
{
    lx_config *c = ok(PROVIDERS);
    const lx_routing_cfg *r = &c->routing;
    cr_assert_eq(r->privacy, LX_PRIVACY_ROUTE_LOCAL);
    cr_assert_float_eq(r->complexity_threshold, 0.55, 1e-9);
    cr_assert_float_eq(r->cascade_min_logprob, -1.5, 1e-9);
    cr_assert(r->sticky);
    cr_assert_not(r->cascade);
    cr_assert_eq(r->n_rules, 0);
    /* the first local provider's first model; escalate = default_model (remote) */
    cr_assert_str_eq(r->default_target, "ollama/llama3");
    cr_assert_str_eq(r->escalate, "openai/gpt-4o");
    cr_assert_eq(c->n_aliases, 0);
    cr_assert_eq(c->guard.n_terms + c->guard.n_regexes + c->guard.n_disabled, 0);
    lx_config_free(c);

    /* default_model local: escalate = the first remote provider's first model */
    c = ok(
        "default_model: ollama/qwen\n"
        "providers:\n"
        "  - {name: ollama, type: ollama, models: [llama3, qwen]}\n"
        "  - {name: claude, type: anthropic, api_key: k-00000000, models: [claude-sonnet-4-5]}\n");
    cr_assert_str_eq(c->routing.default_target, "ollama/llama3");
    cr_assert_str_eq(c->routing.escalate, "claude/claude-sonnet-4-5");
    lx_config_free(c);

    /* no local provider: default = default_model */
    c = ok("providers:\n  - {name: openai, type: openai, api_key: k-0000000, models: [a, b]}\n");
    cr_assert_str_eq(c->routing.default_target, "openai/a");
    cr_assert_str_eq(c->routing.escalate, "openai/a");
    lx_config_free(c);
}

Test(config_routing, every_field)
{
    lx_config *c =
        ok(PROVIDERS "aliases:\n"
                     "  fast: ollama/llama3\n"
                     "  smart: openai/gpt-4o\n"
                     "  router: auto\n"
                     "  brainy: smart\n"
                     "routing:\n"
                     "  privacy: redact\n"
                     "  default: fast\n"
                     "  escalate: openai/gpt-4o-mini\n"
                     "  complexity_threshold: 0.7\n"
                     "  cascade: true\n"
                     "  cascade_min_logprob: -2.25\n"
                     "  sticky: false\n"
                     "  rules:\n"
                     "    - when: {privacy: [API_KEY, any, CODENAME], task: [planning, math],\n"
                     "             header: X-Team, equals: red, complexity_above: 0.2,\n"
                     "             complexity_below: 0.9, tokens_above: 10, tokens_below: 9000,\n"
                     "             features: [tools, json], model: auto, key: team-a}\n"
                     "      action: cloud\n"
                     "      target: smart\n"
                     "      reason: team red plans in the cloud\n"
                     "    - when: {header: x-llmux-target}\n"
                     "      target: local\n"
                     "    - {action: block}\n"
                     "    - {when: {task: classification}, action: cascade}\n"
                     "    - {when: {privacy: any}, action: redact}\n"
                     "    - {action: local, target: local/auto}\n"
                     "guard:\n"
                     "  disable: [PERSON, ADDRESS]\n"
                     "  terms:\n"
                     "    - {type: CODENAME, words: [Bluebird, Nightjar]}\n"
                     "    - {type: CUSTOMER, words: [Acme Corp]}\n"
                     "  regexes:\n"
                     "    - {type: TICKET, pattern: 'ACME-[0-9]{4}', caseless: true}\n"
                     "    - {type: CODENAME, pattern: 'PRJ_[A-Z]+'}\n");
    cr_assert_eq(c->n_aliases, 4);
    cr_assert_str_eq(c->aliases[0].name, "fast");
    cr_assert_str_eq(c->aliases[2].target, "auto");
    const lx_routing_cfg *r = &c->routing;
    cr_assert_eq(r->privacy, LX_PRIVACY_REDACT);
    cr_assert_str_eq(r->default_target, "fast");
    cr_assert_str_eq(r->escalate, "openai/gpt-4o-mini");
    cr_assert_float_eq(r->complexity_threshold, 0.7, 1e-9);
    cr_assert(r->cascade);
    cr_assert_float_eq(r->cascade_min_logprob, -2.25, 1e-9);
    cr_assert_not(r->sticky);
    cr_assert_eq(r->n_rules, 6);
    const lx_route_rule *a = &r->rules[0];
    cr_assert_eq(a->n_privacy, 3);
    cr_assert_str_eq(a->privacy[2], "CODENAME");
    cr_assert_eq(a->n_tasks, 2);
    cr_assert_str_eq(a->header, "x-team");
    cr_assert_str_eq(a->equals, "red");
    cr_assert(a->has_complexity_above && a->has_complexity_below);
    cr_assert_float_eq(a->complexity_above, 0.2, 1e-9);
    cr_assert_eq(a->tokens_above, 10);
    cr_assert_eq(a->tokens_below, 9000);
    cr_assert_eq(a->features, LX_FEAT_TOOLS | LX_FEAT_JSON);
    cr_assert_str_eq(a->model, "auto");
    cr_assert_str_eq(a->key, "team-a");
    cr_assert_eq(a->action, LX_RULE_CLOUD);
    cr_assert_str_eq(a->target, "smart");
    cr_assert_str_eq(a->reason, "team red plans in the cloud");
    cr_assert_eq(a->line, 19);
    cr_assert_eq(r->rules[1].action, LX_RULE_TARGET);
    cr_assert_null(r->rules[1].equals);
    cr_assert_eq(r->rules[2].action, LX_RULE_BLOCK);
    cr_assert_eq(r->rules[3].action, LX_RULE_CASCADE);
    cr_assert_eq(r->rules[4].action, LX_RULE_REDACT);
    cr_assert_eq(r->rules[5].action, LX_RULE_LOCAL);
    const lx_guard_cfg *g = &c->guard;
    cr_assert_eq(g->n_disabled, 2);
    cr_assert_eq(g->n_terms, 3);
    cr_assert_str_eq(g->terms[2].type, "CUSTOMER");
    cr_assert_str_eq(g->terms[2].word, "Acme Corp");
    cr_assert_eq(g->n_regexes, 2);
    cr_assert(g->regexes[0].caseless);
    cr_assert_not(g->regexes[1].caseless);
    /* aliases resolve */
    const lx_provider_cfg *p;
    const char *m;
    lx_error e;
    cr_assert_eq(lx_config_resolve(c, "brainy", &p, &m, &e), LX_OK);
    cr_assert_str_eq(m, "gpt-4o");
    cr_assert_eq(lx_config_resolve(c, "router", &p, &m, &e), LX_ERR_NOTFOUND);
    lx_config_free(c);
}

Test(config_routing, unknown_keys_did_you_mean)
{
    bad(PROVIDERS "routing:\n  privcy: off\n", "t.yaml:6:3: unknown key 'privcy' in routing",
        "did you mean 'privacy'");
    bad(PROVIDERS "routing:\n  rules:\n    - when: {taks: math}\n      action: block\n",
        "t.yaml:7:14: unknown key 'taks' in routing.rules[0].when", "did you mean 'task'");
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {}, actoin: block}\n",
        "unknown key 'actoin' in routing.rules[0]", "did you mean 'action'");
    bad(PROVIDERS "guard:\n  term: []\n", "t.yaml:6:3: unknown key 'term' in guard",
        "did you mean 'terms'");
    bad(PROVIDERS "guard:\n  regexes:\n    - {type: T, patern: x}\n", "did you mean 'pattern'",
        NULL);
}

Test(config_routing, bad_values_with_positions)
{
    bad(PROVIDERS "routing:\n  privacy: local\n", "t.yaml:6:12: routing.privacy: expected one of",
        "route_local, redact, block, off");
    bad(PROVIDERS "routing:\n  complexity_threshold: 1.5\n", "t.yaml:6:25", "at most 1");
    bad(PROVIDERS "routing:\n  cascade_min_logprob: 0.5\n", "log-probability", NULL);
    bad(PROVIDERS "routing:\n  sticky: maybe\n", "t.yaml:6:11", "false, true");
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {task: math}, action: sideways}\n",
        "routing.rules[0].action: expected one of", "cascade");
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {task: math}}\n",
        "t.yaml:7:7: routing.rules[0]: needs 'action:' or 'target:'", NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {action: target}\n", "action target needs 'target:'",
        NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {action: block, target: openai}\n",
        "action block takes no target", NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {equals: x}, action: block}\n",
        "when.equals: needs 'header:'", NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {features: [telepathy]}, action: block}\n",
        "unknown feature 'telepathy'", "tools, vision, json, reasoning");
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {complexity_above: 0.8, complexity_below: "
                  "0.2}, action: block}\n",
        "never matches", NULL);
    bad(PROVIDERS "routing:\n  rules: {a: b}\n", "expected a list of rules", NULL);
    bad(PROVIDERS "aliases: [a, b]\n", "aliases: expected a mapping", NULL);
    bad(PROVIDERS "aliases:\n  'bad name': openai\n", "t.yaml:6:3", "not a valid alias name");
    bad(PROVIDERS "aliases:\n  auto: openai\n", "reserved", NULL);
}

Test(config_routing, targets_must_resolve)
{
    bad(PROVIDERS "routing:\n  default: openai/gpt-5\n",
        "t.yaml:6:12: routing.default: provider 'openai' does not list model 'gpt-5'", NULL);
    bad(PROVIDERS "routing:\n  escalate: nowhere/x\n", "t.yaml:6:13: routing.escalate",
        "unknown model 'nowhere/x'");
    bad(PROVIDERS "routing:\n  default: auto\n", "routing.default: 'auto' lets the router choose",
        NULL);
    bad(PROVIDERS "aliases: {r: auto}\nrouting:\n  escalate: r\n",
        "routing.escalate: 'r' (an alias of auto)", NULL);
    bad(PROVIDERS "aliases:\n  smart: openai/gpt-9\n", "t.yaml:6:10: aliases.smart", "gpt-9");
    bad(PROVIDERS "aliases:\n  a: b\n  b: a\n", "aliases.a", "loop");
    bad(PROVIDERS "aliases:\n  openai: ollama/qwen\n", "a provider has the same name", NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {task: math}, target: openai/gpt-5}\n",
        "t.yaml:7:36: routing.rules[0].target", "gpt-5");
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {model: nothing/here}, action: block}\n",
        "routing.rules[0].when.model", NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {task: math}, target: auto}\n",
        "lets the router choose", NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {action: local, target: openai/gpt-4o}\n",
        "routing.rules[0].target: 'openai/gpt-4o' is remote; action local needs a local target",
        NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {action: cascade, target: cloud}\n",
        "action cascade needs a local target", NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {action: target, target: nowhere/auto}\n",
        "routing.rules[0].target", "nowhere/auto");
    /* local / cloud / <provider>/auto / aliases are fine as rule targets */
    lx_config *c = ok(PROVIDERS "aliases: {s: openai}\nrouting:\n  rules:\n"
                                "    - {when: {task: math}, target: cloud}\n"
                                "    - {when: {task: proof}, target: local/auto}\n"
                                "    - {when: {task: coding}, target: s}\n"
                                "    - {when: {task: design}, target: ollama}\n"
                                "    - {when: {task: writing}, target: openai/auto}\n"
                                "    - {action: local, target: ollama/auto}\n");
    lx_config_free(c);
}

Test(config_routing, names_in_rules_must_exist)
{
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {privacy: [EMAIL, SECRET_SAUCE]}, action: "
                  "block}\n",
        "t.yaml:7:32: routing.rules[0].when.privacy: unknown type 'SECRET_SAUCE'", NULL);
    bad(PROVIDERS "routing:\n  rules:\n    - {when: {task: [math, astrology]}, action: block}\n",
        "t.yaml:7:28: routing.rules[0].when.task: unknown task 'astrology'", "planning");
    /* a user type defined in guard (after routing in the file) is fine */
    lx_config *c = ok(PROVIDERS "routing:\n  rules:\n"
                                "    - {when: {privacy: [SECRET_SAUCE]}, action: block}\n"
                                "guard:\n  terms: [{type: SECRET_SAUCE, words: [ketchup]}]\n");
    lx_config_free(c);
}

Test(config_routing, guard_errors)
{
    bad(PROVIDERS "guard:\n  disable: [EMAIL, NAMES]\n", "t.yaml:6:20",
        "'NAMES' is not a built-in type");
    bad(PROVIDERS "guard:\n  terms: [{type: lower, words: [x]}]\n", "t.yaml:6:18",
        "not a type name");
    bad(PROVIDERS "guard:\n  terms: [{type: T}]\n", "guard.terms[0]: needs 'words:'", NULL);
    bad(PROVIDERS "guard:\n  terms: [{words: [x]}]\n", "missing required key 'type'", NULL);
    bad(PROVIDERS "guard:\n  regexes:\n    - {type: T}\n", "missing required key 'pattern'", NULL);
    /* a regex Vectorscan refuses: reported at the pattern's line:col */
    bad(PROVIDERS "guard:\n  regexes:\n    - type: TICKET\n      pattern: 'ACME-([0-9]{4}'\n",
        "t.yaml:8:16: guard.regexes[0].pattern", "TICKET");
}
