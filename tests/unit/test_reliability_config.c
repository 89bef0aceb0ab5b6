/*
 * test_reliability_config.c — the `reliability:` section: defaults, every
 * field, ranges, unknown keys with "did you mean", fallbacks that must
 * resolve (with line:col and the closest name), local/cloud/aliases/auto.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define PROVIDERS                                                                                  \
    "providers:\n"                                                                                 \
    "  - name: openai\n"                                                                           \
    "    type: openai\n"                                                                           \
    "    api_key: sk-test-0000000000\n"                                                            \
    "    models: [gpt-4o, gpt-4o-mini]\n"                                                          \
    "  - name: ollama\n"                                                                           \
    "    type: ollama\n"                                                                           \
    "    models: [llama3]\n"

static lx_status parse(const char *yaml, lx_config **out, lx_error *err)
{
    lx_error_clear(err);
    *out = NULL;
    return lx_config_parse(yaml, strlen(yaml), "t.yaml", out, err);
}

static lx_config *ok(const char *yaml)
{
    lx_config *c;
    lx_error err;
    lx_status st = parse(yaml, &c, &err);
    cr_assert_eq(st, LX_OK, "parse failed: %s", err.message);
    return c;
}

static void bad(const char *yaml, const char *want1, const char *want2)
{
    lx_config *c;
    lx_error err;
    lx_status st = parse(yaml, &c, &err);
    cr_assert_eq(st, LX_ERR_CONFIG, "expected a config error for:\n%s", yaml);
    cr_assert_null(c);
    cr_assert(strstr(err.message, want1), "'%s' not in: %s", want1, err.message);
    if (want2)
        cr_assert(strstr(err.message, want2), "'%s' not in: %s", want2, err.message);
}

Test(reliability_config, defaults)
{
    lx_config *c = ok(PROVIDERS);
    const lx_reliability_cfg *r = &c->reliability;
    cr_assert_eq(r->retry.max_attempts, 3);
    cr_assert_eq(r->retry.base_ms, 250);
    cr_assert_eq(r->retry.max_ms, 8000);
    cr_assert_eq(r->retry.deadline_ms, 120000);
    cr_assert_eq(r->retry.max_retry_after_ms, 30000);
    cr_assert_eq(r->breaker.failures, 5);
    cr_assert_eq(r->breaker.window_ms, 30000);
    cr_assert_eq(r->breaker.open_ms, 15000);
    cr_assert_eq(r->breaker.half_open_probes, 1);
    cr_assert_eq(r->midstream, LX_MIDSTREAM_ERROR);
    cr_assert_eq(r->offline_probe_ms, 5000);
    cr_assert_eq(r->n_fallbacks, 0);
    lx_config_free(c);
}

Test(reliability_config, every_field)
{
    lx_config *c = ok(PROVIDERS "aliases: {fast: ollama/llama3}\n"
                                "reliability:\n"
                                "  retry: {max_attempts: 5, base_ms: 10, max_ms: 100, deadline_ms: "
                                "2000, max_retry_after_ms: 0}\n"
                                "  breaker: {failures: 2, window_ms: 100, open_ms: 50, "
                                "half_open_probes: 3}\n"
                                "  midstream: continue\n"
                                "  offline_probe_ms: 700\n"
                                "  fallbacks:\n"
                                "    openai/gpt-4o: [openai/gpt-4o-mini, local]\n"
                                "    cloud: fast\n"
                                "    local: [cloud, openai/auto]\n");
    const lx_reliability_cfg *r = &c->reliability;
    cr_assert_eq(r->retry.max_attempts, 5);
    cr_assert_eq(r->retry.base_ms, 10);
    cr_assert_eq(r->retry.max_ms, 100);
    cr_assert_eq(r->retry.deadline_ms, 2000);
    cr_assert_eq(r->retry.max_retry_after_ms, 0);
    cr_assert_eq(r->breaker.failures, 2);
    cr_assert_eq(r->breaker.window_ms, 100);
    cr_assert_eq(r->breaker.open_ms, 50);
    cr_assert_eq(r->breaker.half_open_probes, 3);
    cr_assert_eq(r->midstream, LX_MIDSTREAM_CONTINUE);
    cr_assert_eq(r->offline_probe_ms, 700);
    cr_assert_eq(r->n_fallbacks, 3);
    cr_assert_str_eq(r->fallbacks[0].from, "openai/gpt-4o");
    cr_assert_eq(r->fallbacks[0].n_to, 2);
    cr_assert_str_eq(r->fallbacks[0].to[0], "openai/gpt-4o-mini");
    cr_assert_str_eq(r->fallbacks[0].to[1], "local");
    cr_assert_eq(r->fallbacks[0].line, 16);
    cr_assert_eq(r->fallbacks[0].to_line[1], 16);
    cr_assert_str_eq(r->fallbacks[1].from, "cloud");
    cr_assert_eq(r->fallbacks[1].n_to, 1, "a single name without brackets");
    cr_assert_str_eq(r->fallbacks[1].to[0], "fast");
    cr_assert_str_eq(r->fallbacks[2].to[1], "openai/auto");
    lx_config_free(c);
}

Test(reliability_config, null_section_is_defaults)
{
    lx_config *c = ok(PROVIDERS "reliability:\n");
    cr_assert_eq(c->reliability.retry.max_attempts, 3);
    lx_config_free(c);
}

Test(reliability_config, unknown_keys_suggest)
{
    bad(PROVIDERS "reliability:\n  retyr: {max_attempts: 2}\n", "t.yaml:10:3",
        "did you mean 'retry'");
    bad(PROVIDERS "reliability:\n  retry: {max_atempts: 2}\n", "did you mean 'max_attempts'",
        "t.yaml:10:");
    bad(PROVIDERS "reliability:\n  breaker: {open: 2}\n", "unknown key", "open_ms");
    bad(PROVIDERS "reliability:\n  midstream: contnue\n", "t.yaml:10:14", "error, continue");
}

Test(reliability_config, ranges)
{
    bad(PROVIDERS "reliability:\n  retry: {max_attempts: 0}\n", "max_attempts", "t.yaml:10:");
    bad(PROVIDERS "reliability:\n  retry: {max_attempts: 33}\n", "max_attempts", NULL);
    bad(PROVIDERS "reliability:\n  retry: {base_ms: -1}\n", "base_ms", NULL);
    bad(PROVIDERS "reliability:\n  retry: {base_ms: 500, max_ms: 100}\n", "max_ms (100)",
        "base_ms (500)");
    bad(PROVIDERS "reliability:\n  breaker: {failures: 0}\n", "failures", NULL);
    bad(PROVIDERS "reliability:\n  breaker: {half_open_probes: x}\n", "half_open_probes", NULL);
    bad(PROVIDERS "reliability:\n  offline_probe_ms: 0\n", "offline_probe_ms", NULL);
    bad(PROVIDERS "reliability: [1]\n", "reliability", "mapping");
}

Test(reliability_config, fallbacks_must_resolve)
{
    bad(PROVIDERS "reliability:\n  fallbacks:\n    openai/gpt-4o: [openai/gpt-4o-mni]\n",
        "t.yaml:11:21", "did you mean 'openai/gpt-4o-mini'");
    bad(PROVIDERS "reliability:\n  fallbacks:\n    opnai/gpt-4o: [local]\n", "t.yaml:11:5",
        "did you mean 'openai/gpt-4o'");
    bad(PROVIDERS "reliability:\n  fallbacks:\n    openai/gpt-4o: [llama3, clod]\n",
        "reliability.fallbacks.openai/gpt-4o[1]", "did you mean 'cloud'");
    bad(PROVIDERS "reliability:\n  fallbacks:\n    openai/gpt-4o: []\n", "empty list", NULL);
    bad(PROVIDERS "reliability:\n  fallbacks:\n    openai/gpt-4o: openai/gpt-4o\n", "itself", NULL);
    bad(PROVIDERS "reliability:\n  fallbacks: [openai/gpt-4o]\n", "expected a mapping", NULL);
    bad(PROVIDERS "reliability:\n  fallbacks:\n    openai/gpt-4o: [{a: 1}]\n",
        "expected a model name", NULL);
    bad(PROVIDERS "reliability:\n  fallbacks:\n    nosuch/auto: [local]\n", "nosuch/auto", NULL);
}

Test(reliability_config, bare_model_names_resolve)
{
    lx_config *c = ok(PROVIDERS "reliability:\n  fallbacks:\n    gpt-4o: [llama3]\n");
    cr_assert_eq(c->reliability.n_fallbacks, 1);
    lx_config_free(c);
}
