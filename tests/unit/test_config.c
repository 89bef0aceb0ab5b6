/*
 * test_config.c — configuration: schema, errors with positions, defaults,
 * environment fallback, masking, model resolution, catalogue.
 *
 * Criterion runs every test in its own process, so setenv/chdir here do not
 * leak between tests.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

static lx_status parse(const char *yaml, lx_config **out, lx_error *err)
{
    lx_error_clear(err);
    return lx_config_parse(yaml, strlen(yaml), "t.yaml", out, err);
}

static lx_config *parse_ok(const char *yaml)
{
    lx_config *c = NULL;
    lx_error err;
    lx_status st = parse(yaml, &c, &err);
    cr_assert_eq(st, LX_OK, "parse failed: %s", err.message);
    cr_assert_not_null(c);
    return c;
}

/* Every variable the environment fallback reads, cleared. */
static void clear_env(void)
{
    static const char *const vars[] = {"OPENAI_API_KEY",
                                       "OPENAI_BASE_URL",
                                       "ANTHROPIC_API_KEY",
                                       "ANTHROPIC_BASE_URL",
                                       "GEMINI_API_KEY",
                                       "GOOGLE_API_KEY",
                                       "OLLAMA_HOST",
                                       "LLMUX_MODEL",
                                       "LLMUX_MODEL_DIR",
                                       "LLMUX_CONFIG",
                                       NULL};
    for (int i = 0; vars[i]; i++)
        unsetenv(vars[i]);
}

/* ---- valid configurations ------------------------------------------------ */

Test(config, minimal_gets_defaults)
{
    setenv("OPENAI_API_KEY", "sk-minimal-test-key-000000", 1);
    lx_config *c = parse_ok("providers:\n"
                            "  - name: openai\n"
                            "    type: openai\n"
                            "    models: [gpt-4o-mini, gpt-4o]\n"
                            "  - name: ollama\n"
                            "    type: ollama\n");
    cr_assert_eq(c->n_providers, 2);
    const lx_provider_cfg *o = &c->providers[0];
    cr_assert_str_eq(o->name, "openai");
    cr_assert_eq(o->type, LX_PROV_OPENAI);
    cr_assert_str_eq(o->base_url, "https://api.openai.com/v1");
    cr_assert_str_eq(o->api_key_env, "OPENAI_API_KEY");
    cr_assert_str_eq(o->api_key, "sk-minimal-test-key-000000");
    cr_assert_not(o->local);
    cr_assert_eq(o->line, 2);
    cr_assert_eq(o->col, 5);
    cr_assert_eq(o->timeouts.connect_ms, 10000);
    cr_assert_eq(o->timeouts.first_byte_ms, 60000);
    cr_assert_eq(o->timeouts.idle_ms, 30000);
    cr_assert_eq(o->timeouts.total_ms, 600000);
    const lx_provider_cfg *l = &c->providers[1];
    cr_assert_str_eq(l->base_url, "http://localhost:11434");
    cr_assert(l->local);
    cr_assert_null(l->api_key_env);
    cr_assert_null(l->api_key);
    cr_assert_eq(l->n_models, 0);
    cr_assert_str_eq(c->default_model, "openai/gpt-4o-mini");
    cr_assert_str_eq(c->source, "t.yaml");
    lx_config_free(c);
}

Test(config, empty_document_is_valid)
{
    lx_config *c = parse_ok("# nothing here\n");
    cr_assert_eq(c->n_providers, 0);
    cr_assert_null(c->default_model);
    cr_assert_gt(c->n_catalogue, 20);
    lx_config_free(c);
    c = parse_ok("");
    cr_assert_eq(c->n_providers, 0);
    lx_config_free(c);
}

Test(config, timeouts_inherit_global_then_builtin)
{
    lx_config *c = parse_ok("timeouts: {connect_ms: 1500, idle_ms: 7000}\n"
                            "providers:\n"
                            "  - name: a\n"
                            "    type: ollama\n"
                            "    timeouts: {idle_ms: 100, total_ms: 900}\n"
                            "  - name: b\n"
                            "    type: ollama\n");
    cr_assert_eq(c->timeouts.connect_ms, 1500);
    cr_assert_eq(c->timeouts.first_byte_ms, 60000);
    const lx_timeouts *a = &c->providers[0].timeouts, *b = &c->providers[1].timeouts;
    cr_assert_eq(a->connect_ms, 1500);
    cr_assert_eq(a->first_byte_ms, 60000);
    cr_assert_eq(a->idle_ms, 100);
    cr_assert_eq(a->total_ms, 900);
    cr_assert_eq(b->idle_ms, 7000);
    cr_assert_eq(b->total_ms, 600000);
    lx_config_free(c);
}

Test(config, type_defaults_and_overrides)
{
    unsetenv("ANTHROPIC_API_KEY");
    lx_config *c = parse_ok("providers:\n"
                            "  - {name: an, type: anthropic}\n"
                            "  - {name: ge, type: gemini, api_key_env: MY_GEMINI}\n"
                            "  - {name: vl, type: openai, base_url: 'http://h:8000/v1//'}\n"
                            "  - {name: ol, type: ollama, locality: remote, num_ctx: 4096}\n"
                            "  - {name: lo, type: local, model: /m/tiny.gguf}\n");
    cr_assert_str_eq(c->providers[0].base_url, "https://api.anthropic.com");
    cr_assert_str_eq(c->providers[0].api_key_env, "ANTHROPIC_API_KEY");
    cr_assert_null(c->providers[0].api_key, "unset variable: no key, no error");
    cr_assert_str_eq(c->providers[1].base_url, "https://generativelanguage.googleapis.com/v1beta");
    cr_assert_str_eq(c->providers[1].api_key_env, "MY_GEMINI");
    cr_assert_str_eq(c->providers[2].base_url, "http://h:8000/v1");
    cr_assert_null(c->providers[2].api_key_env, "custom base_url: no default key variable");
    cr_assert_not(c->providers[3].local);
    cr_assert_eq(c->providers[3].num_ctx, 4096);
    cr_assert(c->providers[4].local);
    cr_assert_str_eq(c->providers[4].model_path, "/m/tiny.gguf");
    cr_assert_eq(c->providers[4].n_models, 1);
    cr_assert_str_eq(c->providers[4].models[0], "tiny.gguf");
    cr_assert_str_eq(c->providers[4].base_url, "");
    cr_assert_str_eq(c->default_model, "lo/tiny.gguf", "first provider that lists a model");
    lx_config_free(c);
}

Test(config, empty_env_var_means_no_key)
{
    setenv("LLMUX_T_EMPTY", "", 1);
    lx_config *c =
        parse_ok("providers:\n  - {name: o, type: openai, api_key_env: LLMUX_T_EMPTY}\n");
    cr_assert_null(c->providers[0].api_key);
    lx_buf w;
    lx_buf_init(&w, 0);
    cr_assert_geq(lx_config_warnings(c, &w), 1);
    cr_assert_not_null(strstr(w.data, "provider o: LLMUX_T_EMPTY is empty"), "%s", w.data);
    lx_buf_free(&w);
    lx_config_free(c);
}

Test(config, load_fixture_file)
{
    setenv("LLMUX_TEST_OPENAI_KEY", "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", 1);
    unsetenv("LLMUX_TEST_ANTHROPIC_KEY");
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_load("tests/fixtures/config/full.yaml", &c, &err), LX_OK, "%s",
                 err.message);
    cr_assert_str_eq(c->source, "tests/fixtures/config/full.yaml");
    cr_assert_eq(c->n_providers, 5);
    cr_assert_eq(c->timeouts.connect_ms, 5000);
    cr_assert_eq(c->providers[1].timeouts.total_ms, 120000);
    cr_assert_eq(c->providers[1].timeouts.first_byte_ms, 30000);
    cr_assert_str_eq(c->providers[2].base_url, "http://127.0.0.1:11434");
    cr_assert(c->providers[3].local, "locality: local on an openai-type server");
    char want[4096], cwd[2048];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "%s/tests/fixtures/config/models/tiny.gguf", cwd);
    cr_assert_str_eq(c->providers[4].model_path, want, "relative to the config file, absolute");
    const lx_model_info *m = lx_catalogue_find(c, "meta-llama/Llama-3.1-8B-Instruct");
    cr_assert_not_null(m);
    cr_assert_eq(m->context, 131072);
    cr_assert(m->from_config);
    lx_config_free(c);
}

/* ---- errors: exact positions and messages --------------------------------- */

typedef struct {
    const char *yaml;
    const char *msg; /* the whole message */
} err_case;

static void expect_error(const err_case *k)
{
    lx_config *c = (lx_config *)0x1;
    lx_error err;
    lx_status st = parse(k->yaml, &c, &err);
    cr_assert_eq(st, LX_ERR_CONFIG, "expected a config error for:\n%s\ngot %d (%s)", k->yaml, st,
                 err.message);
    cr_assert_null(c);
    cr_expect_str_eq(err.message, k->msg, "for:\n%s\nwant: %s\ngot:  %s", k->yaml, k->msg,
                     err.message);
}

Test(config_errors, unknown_keys)
{
    static const err_case cases[] = {
        {"defualt_model: x\n",
         "t.yaml:1:1: unknown key 'defualt_model' at the top level (did you mean "
         "'default_model'?); expected one of: default_model, timeouts, providers, catalogue, aliases, routing, guard, "
         "reliability, server, keys, ledger, budgets, cache"},
        {"providers:\n  - name: openai\n    type: openai\n    base_ulr: https://x\n",
         "t.yaml:4:5: unknown key 'base_ulr' in providers[0] (did you mean 'base_url'?); "
         "expected one of: name, type, base_url, api_key_env, api_key, models, locality, model, "
         "num_ctx, timeouts"},
        {"timeouts: {conect_ms: 5}\n",
         "t.yaml:1:12: unknown key 'conect_ms' in timeouts (did you mean 'connect_ms'?); "
         "expected one of: connect_ms, first_byte_ms, idle_ms, total_ms"},
        {"providers:\n  - {name: a, type: ollama, timeouts: {zzz: 1}}\n",
         "t.yaml:2:40: unknown key 'zzz' in providers[0].timeouts; expected one of: "
         "connect_ms, first_byte_ms, idle_ms, total_ms"},
        {"catalogue:\n  - id: x\n    prices: {input: 1}\n",
         "t.yaml:3:5: unknown key 'prices' in catalogue[0] (did you mean 'price'?); expected "
         "one of: id, provider, context, max_output, features, price"},
        {"catalogue:\n  - id: x\n    price: {inptu: 1}\n",
         "t.yaml:3:13: unknown key 'inptu' in catalogue[0].price (did you mean 'input'?); "
         "expected one of: input, output, cache_read, cache_write"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(&cases[i]);
}

Test(config_errors, provider_rules)
{
    static const err_case cases[] = {
        {"providers:\n  - name: x\n    type: opnai\n",
         "t.yaml:3:11: providers[0].type: expected one of: openai, anthropic, gemini, ollama, "
         "local; got 'opnai'"},
        {"providers:\n  - type: openai\n", "t.yaml:2:5: providers[0]: missing required key 'name'"},
        {"providers:\n  - name: x\n",
         "t.yaml:2:5: providers[0]: missing required key 'type' (one of: openai, anthropic, "
         "gemini, ollama, local)"},
        {"providers:\n  - name: my provider\n    type: openai\n",
         "t.yaml:2:11: providers[0].name: 'my provider' is not a valid provider name (letters, "
         "digits, '_', '.', '-'; at most 63)"},
        {"providers:\n  - {name: a, type: ollama}\n  - {name: b, type: ollama}\n"
         "  - {name: a, type: openai}\n",
         "t.yaml:4:12: providers[2].name: duplicate provider name 'a' (first defined at line 2)"},
        {"providers:\n  - name: a\n    type: openai\n    base_url: ftp://example.com\n",
         "t.yaml:4:15: providers[0].base_url: expected an http:// or https:// URL, got "
         "'ftp://example.com'"},
        {"providers:\n  - name: a\n    type: openai\n    base_url: https://\n",
         "t.yaml:4:15: providers[0].base_url: expected an http:// or https:// URL, got "
         "'https://'"},
        {"providers:\n  - {name: a, type: ollama, locality: nearby}\n",
         "t.yaml:2:39: providers[0].locality: expected one of: remote, local; got 'nearby'"},
        {"providers:\n  - name: l\n    type: local\n",
         "t.yaml:2:5: providers[0]: type local needs 'model:' (the path of a GGUF file)"},
        {"providers:\n  - name: o\n    type: openai\n    model: gpt-4o\n",
         "t.yaml:4:12: providers[0].model: only type local takes a model file (did you mean "
         "'models'?)"},
        {"providers:\n  - {name: l, type: local, model: /m.gguf, base_url: http://x}\n",
         "t.yaml:2:54: providers[0].base_url: type local runs in-process and has no URL"},
        {"providers:\n  - {name: l, type: local, model: /m.gguf, locality: remote}\n",
         "t.yaml:2:54: providers[0].locality: type local always runs on this machine"},
        {"providers:\n  - {name: o, type: openai, num_ctx: 8192}\n",
         "t.yaml:2:38: providers[0].num_ctx: only types ollama and local take num_ctx"},
        {"providers:\n  - {name: o, type: openai, api_key: abc, api_key_env: X}\n",
         "t.yaml:2:38: providers[0]: give either api_key or api_key_env, not both"},
        {"providers:\n  - {name: o, type: openai, models: gpt-4o}\n",
         "t.yaml:2:37: providers[0].models: expected a list of strings, got 'gpt-4o'"},
        {"providers:\n  - {name: o, type: openai, models: [a, '']}\n",
         "t.yaml:2:41: providers[0].models[1]: expected a non-empty string, got ''"},
        {"providers:\n  name: openai\n",
         "t.yaml:2:3: providers: expected a list of providers (- name: ...)"},
        {"providers:\n  - openai\n", "t.yaml:2:5: providers[0]: expected a mapping, got 'openai'"},
        {"providers:\n  - name: [a]\n    type: openai\n",
         "t.yaml:2:11: providers[0].name: expected a string, got a list"},
        {"providers:\n  - name:\n    type: openai\n",
         "t.yaml:2:5: providers[0].name: expected a string, got nothing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(&cases[i]);
}

Test(config_errors, values)
{
    static const err_case cases[] = {
        {"timeouts:\n  connect_ms: 0\n",
         "t.yaml:2:15: timeouts.connect_ms: expected a positive integer, got 0"},
        {"timeouts:\n  idle_ms: -5\n",
         "t.yaml:2:12: timeouts.idle_ms: expected a positive integer, got -5"},
        {"timeouts:\n  total_ms: soon\n",
         "t.yaml:2:13: timeouts.total_ms: expected a positive integer, got 'soon'"},
        {"timeouts:\n  total_ms: '100'\n",
         "t.yaml:2:13: timeouts.total_ms: expected a positive integer, got '100'"},
        {"timeouts:\n  total_ms: 1.5\n",
         "t.yaml:2:13: timeouts.total_ms: expected a positive integer, got '1.5'"},
        {"timeouts:\n  total_ms: 99999999999999999999\n",
         "t.yaml:2:13: timeouts.total_ms: expected a positive integer, got "
         "'99999999999999999999'"},
        {"timeouts:\n  total_ms: 999999999999\n",
         "t.yaml:2:13: timeouts.total_ms: 999999999999 is too large (at most 604800000)"},
        {"timeouts: 5\n", "t.yaml:1:11: timeouts: expected a mapping, got '5'"},
        {"default_model: [a]\n", "t.yaml:1:16: default_model: expected a string, got a list"},
        {"providers:\n  - {name: a, type: ollama}\ndefault_model: b/x\n",
         "t.yaml:3:16: default_model: unknown model 'b/x'; configured: a (any model)"},
        {"default_model: openai/gpt-4o\n",
         "t.yaml:1:16: default_model: unknown model 'openai/gpt-4o': " LX_CONFIG_NO_PROVIDERS},
        {"providers:\n  - {name: a, type: ollama}\n  - {name: a, type: ollama}\n",
         "t.yaml:3:12: providers[1].name: duplicate provider name 'a' (first defined at line 2)"},
        {"timeouts: {idle_ms: 1, idle_ms: 2}\n",
         "t.yaml:1:24: timeouts.idle_ms: duplicate key (first set at line 1)"},
        {"- a\n- b\n", "t.yaml:1:1: the top level: expected a mapping, got a list"},
        {"just text\n", "t.yaml:1:1: the top level: expected a mapping, got 'just text'"},
        {"catalogue:\n  - id: x\n    features: [tools, telepathy]\n",
         "t.yaml:3:23: catalogue[0].features: expected one of: tools, vision, json, reasoning; "
         "got 'telepathy'"},
        {"catalogue:\n  - id: x\n    price: {input: -1}\n",
         "t.yaml:3:20: catalogue[0].price.input: expected a non-negative number, got '-1'"},
        {"catalogue:\n  - id: x\n    price: {input: .nan}\n",
         "t.yaml:3:20: catalogue[0].price.input: expected a non-negative number, got '.nan'"},
        {"catalogue:\n  - context: 5\n", "t.yaml:2:5: catalogue[0]: missing required key 'id'"},
        {"catalogue:\n  - id: gpt-4o\n    context: 1\n  - id: gpt-4o\n    context: 2\n",
         "t.yaml:4:9: catalogue[1].id: 'gpt-4o' is listed twice"},
        {"catalogue:\n  - id: x\n    provider: acme\n",
         "t.yaml:3:15: catalogue[0].provider: expected one of: openai, anthropic, gemini, "
         "ollama, local; got 'acme'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(&cases[i]);
}

Test(config_errors, yaml_syntax)
{
    static const err_case cases[] = {
        {"providers:\n  - name: openai\n    models: [gpt-4o, gpt-4o-mini\n",
         "t.yaml:4:1: YAML syntax error: flow sequence without a closing bracket"},
        {"a: \"unterminated\n", "t.yaml:1:5: YAML syntax error: double-quoted scalar without "
                                "closing quote"},
        {"a: 1\n---\nb: 2\n", "t.yaml:2:1: only one YAML document is allowed"},
        {"x: &anchor 1\ntimeouts: *anchor\n", "t.yaml:2:12: YAML aliases are not supported here"},
        {"timeouts: !!map {}\n", "t.yaml:1:11: YAML tags are not supported here"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(&cases[i]);
    /* whatever libfyaml says, the shape is FILE:LINE:COL: and nothing leaks */
    static const char *const bad[] = {"a:\n\tb: 1\n", "a: b: c\n",       "[1, 2\n", "{a: 1\n",
                                      "a: 'x\n",      "  a: 1\n b: 2\n", "? [a\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lx_config *c = NULL;
        lx_error err;
        cr_assert_eq(parse(bad[i], &c, &err), LX_ERR_CONFIG, "accepted: %s", bad[i]);
        int line = 0, col = 0, used = 0;
        cr_assert_eq(sscanf(err.message, "t.yaml:%d:%d: %n", &line, &col, &used), 2, "%s",
                     err.message);
        cr_assert(line >= 1 && col >= 1 && used > 0, "%s", err.message);
    }
}

Test(config_errors, nul_byte)
{
    static const char text[] = "providers:\n  - name: a\0b\n";
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_parse(text, sizeof text - 1, "t.yaml", &c, &err), LX_ERR_CONFIG);
    cr_assert_str_eq(err.message, "t.yaml:2:12: NUL byte in the file; is it a text file?");
    cr_assert_null(c);
}

Test(config_errors, invalid_utf8)
{
    /* the second one made libfyaml 0.7.12 loop forever (found by fuzz_config) */
    static const char *const in[] = {"a: 1\nb: \xff\n", "%lla\xa7\xa7\xa7\n", "x: \xc0\xaf\n",
                                     "x: \xed\xa0\x80\n", "x: \xe2\x82"};
    static const char *const want[] = {"t.yaml:2:4: invalid UTF-8; the file must be UTF-8 text",
                                       "t.yaml:1:5: invalid UTF-8; the file must be UTF-8 text",
                                       "t.yaml:1:4: invalid UTF-8; the file must be UTF-8 text",
                                       "t.yaml:1:4: invalid UTF-8; the file must be UTF-8 text",
                                       "t.yaml:1:4: invalid UTF-8; the file must be UTF-8 text"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        lx_config *c = NULL;
        lx_error err;
        cr_assert_eq(parse(in[i], &c, &err), LX_ERR_CONFIG);
        cr_assert_str_eq(err.message, want[i]);
    }
    lx_config_free(parse_ok("# \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\nproviders: []\n"));
}

Test(config_errors, deep_nesting)
{
    char y[256] = "catalogue: ";
    for (int i = 0; i < 40; i++)
        strcat(y, "[");
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(parse(y, &c, &err), LX_ERR_CONFIG);
    cr_assert_str_eq(err.message, "t.yaml:1:43: nesting deeper than 32 levels");
}

Test(config_errors, secret_in_api_key_env_is_not_echoed)
{
    lx_config *c = NULL;
    lx_error err;
    const char *y = "providers:\n  - name: o\n    type: openai\n"
                    "    api_key_env: sk-proj-SECRETSECRETSECRET\n";
    cr_assert_eq(parse(y, &c, &err), LX_ERR_CONFIG);
    cr_assert_str_eq(err.message, "t.yaml:4:18: providers[0].api_key_env: expected the name of "
                                  "an environment variable (like OPENAI_API_KEY), not a key");
    cr_assert_null(strstr(err.message, "SECRET"));
}

Test(config_errors, load_file_errors)
{
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_load("tests/fixtures/config/no-such.yaml", &c, &err), LX_ERR_IO);
    cr_assert_str_eq(err.message,
                     "tests/fixtures/config/no-such.yaml: cannot read: No such file or directory");
    cr_assert_eq(lx_config_load("tests/fixtures/config", &c, &err), LX_ERR_IO);
    cr_assert_eq(lx_config_load("tests/fixtures/config/bad_key.yaml", &c, &err), LX_ERR_CONFIG);
    cr_assert_not_null(strstr(err.message, "tests/fixtures/config/bad_key.yaml:4:5: unknown key "
                                           "'base_ulr' in providers[0]"),
                       "%s", err.message);
    cr_assert_null(c);
    setenv("LLMUX_CONFIG", "tests/fixtures/config/bad_syntax.yaml", 1);
    cr_assert_eq(lx_config_load(NULL, &c, &err), LX_ERR_CONFIG, "LLMUX_CONFIG is used");
    cr_assert_not_null(strstr(err.message, "bad_syntax.yaml:4:1: YAML syntax error"), "%s",
                       err.message);
}

Test(config_errors, oversized_file)
{
    char path[] = "/tmp/llmux-cfg-big-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 70000; i++)
        fputs("# padding padding\n", f);
    fclose(f);
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_load(path, &c, &err), LX_ERR_CONFIG);
    cr_assert_not_null(strstr(err.message, "larger than 1024 KiB"), "%s", err.message);
    unlink(path);
}

/* ---- environment fallback ------------------------------------------------- */

Test(config_env, nothing_at_all)
{
    clear_env();
    cr_assert_eq(chdir("/"), 0); /* no ./llmux.yaml, no ../shared/models */
    setenv("HOME", "/nonexistent-home", 1);
    unsetenv("XDG_CONFIG_HOME");
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_load(NULL, &c, &err), LX_OK, "%s", err.message);
    cr_assert_str_eq(c->source, "(environment)");
    cr_assert_eq(c->n_providers, 0);
    cr_assert_null(c->default_model);
    const lx_provider_cfg *p;
    const char *m;
    cr_assert_eq(lx_config_resolve(c, NULL, &p, &m, &err), LX_ERR_NOTFOUND);
    cr_assert_str_eq(err.message, LX_CONFIG_NO_PROVIDERS);
    cr_assert_not_null(strstr(err.message, "OPENAI_API_KEY"));
    lx_config_free(c);
}

Test(config_env, keys_and_hosts)
{
    clear_env();
    cr_assert_eq(chdir("/"), 0);
    setenv("OPENAI_API_KEY", "sk-env-openai-0123456789", 1);
    setenv("ANTHROPIC_API_KEY", "sk-ant-env-0123456789", 1);
    setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9999/", 1);
    setenv("GOOGLE_API_KEY", "AIza-env-google-0123456789", 1);
    setenv("OLLAMA_HOST", "gpu-box:1234", 1);
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_from_env(&c, &err), LX_OK, "%s", err.message);
    cr_assert_eq(c->n_providers, 4);
    const lx_provider_cfg *o = lx_config_provider(c, "openai");
    cr_assert_not_null(o);
    cr_assert_str_eq(o->api_key, "sk-env-openai-0123456789");
    cr_assert_str_eq(o->base_url, "https://api.openai.com/v1");
    cr_assert_eq(o->n_models, 2);
    cr_assert_str_eq(o->models[0], "gpt-4o-mini");
    cr_assert_str_eq(o->models[1], "gpt-4o");
    cr_assert_eq(o->line, 0);
    const lx_provider_cfg *a = lx_config_provider(c, "anthropic");
    cr_assert_str_eq(a->base_url, "http://127.0.0.1:9999");
    cr_assert_str_eq(a->api_key, "sk-ant-env-0123456789");
    const lx_provider_cfg *g = lx_config_provider(c, "gemini");
    cr_assert_str_eq(g->api_key_env, "GOOGLE_API_KEY");
    cr_assert_str_eq(g->api_key, "AIza-env-google-0123456789");
    const lx_provider_cfg *ol = lx_config_provider(c, "ollama");
    cr_assert_str_eq(ol->base_url, "http://gpu-box:1234");
    cr_assert(ol->local);
    cr_assert_eq(ol->timeouts.total_ms, 600000);
    cr_assert_null(lx_config_provider(c, "local"));
    cr_assert_str_eq(c->default_model, "openai/gpt-4o-mini");
    lx_config_free(c);
}

Test(config_env, ollama_host_forms)
{
    static const char *const in[] = {"gpu-box", "10.0.0.2:11500", "https://ollama.example.com",
                                     "http://[::1]:8080/", "[::1]"};
    static const char *const want[] = {"http://gpu-box:11434", "http://10.0.0.2:11500",
                                       "https://ollama.example.com", "http://[::1]:8080",
                                       "http://[::1]:11434"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        clear_env();
        setenv("OLLAMA_HOST", in[i], 1);
        lx_config *c = NULL;
        lx_error err;
        cr_assert_eq(lx_config_from_env(&c, &err), LX_OK, "%s", err.message);
        cr_assert_str_eq(lx_config_provider(c, "ollama")->base_url, want[i]);
        lx_config_free(c);
    }
}

Test(config_env, bad_base_url_is_an_error)
{
    clear_env();
    setenv("OPENAI_BASE_URL", "api.openai.com", 1);
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_from_env(&c, &err), LX_ERR_CONFIG);
    cr_assert_str_eq(err.message,
                     "OPENAI_BASE_URL: expected an http:// or https:// URL, got 'api.openai.com'");
}

Test(config_env, local_model_is_default)
{
    clear_env();
    cr_assert_eq(chdir("/"), 0);
    setenv("OPENAI_API_KEY", "sk-x-0123456789abc", 1);
    setenv("LLMUX_MODEL", "/models/stories260K.gguf", 1);
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_from_env(&c, &err), LX_OK, "%s", err.message);
    const lx_provider_cfg *l = lx_config_provider(c, "local");
    cr_assert_not_null(l);
    cr_assert_eq(l->type, LX_PROV_LOCAL);
    cr_assert(l->local);
    cr_assert_str_eq(l->model_path, "/models/stories260K.gguf");
    cr_assert_str_eq(l->models[0], "stories260K.gguf");
    cr_assert_str_eq(c->default_model, "local/stories260K.gguf");
    lx_config_free(c);
}

Test(config_env, model_dir_then_shared)
{
    clear_env();
    char dir[] = "/tmp/llmux-cfg-md-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char sub[256], file[300];
    snprintf(sub, sizeof sub, "%s/stories260K", dir);
    snprintf(file, sizeof file, "%s/stories260K.gguf", sub);
    cr_assert_eq(mkdir(sub, 0700), 0);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    setenv("LLMUX_MODEL_DIR", dir, 1);
    cr_assert_eq(chdir("/"), 0);
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_from_env(&c, &err), LX_OK, "%s", err.message);
    cr_assert_eq(c->n_providers, 1);
    cr_assert_str_eq(c->providers[0].model_path, file);
    lx_config_free(c);
    unlink(file);
    rmdir(sub);
    rmdir(dir);
}

/* ---- dump and masking ------------------------------------------------------ */

Test(config_dump, keys_are_masked)
{
    const char *secret = "sk-proj-THISISASECRETKEY-0123456789";
    setenv("LLMUX_T_KEY", secret, 1);
    lx_config *c = parse_ok("providers:\n"
                            "  - {name: a, type: openai, api_key_env: LLMUX_T_KEY}\n"
                            "  - {name: b, type: anthropic, api_key: sk-ant-LITERALSECRET-42}\n"
                            "  - {name: c, type: gemini, api_key_env: LLMUX_T_UNSET_VAR}\n");
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_config_dump(c, &b), LX_OK);
    cr_assert_null(strstr(b.data, "SECRET"), "%s", b.data);
    cr_assert_not_null(strstr(b.data, "api_key_env: LLMUX_T_KEY  # set: sk-\u2026(35 chars)"), "%s",
                       b.data);
    cr_assert_not_null(strstr(b.data, "api_key: \"sk-\u2026(23 chars)\""), "%s", b.data);
    cr_assert_not_null(strstr(b.data, "api_key_env: LLMUX_T_UNSET_VAR  # not set"), "%s", b.data);
    lx_buf_free(&b);
    lx_config_free(c);
}

Test(config_dump, mask_key_forms)
{
    char out[64];
    lx_config_mask_key("sk-abcdefghijklmnop", out, sizeof out);
    cr_assert_str_eq(out, "sk-\u2026(19 chars)");
    lx_config_mask_key("sk-test", out, sizeof out);
    cr_assert_str_eq(out, "sk-\u2026(7 chars)");
    lx_config_mask_key("short6", out, sizeof out);
    cr_assert_str_eq(out, "\u2026(6 chars)", "short keys show nothing");
    lx_config_mask_key(NULL, out, sizeof out);
    cr_assert_str_eq(out, "\u2026(0 chars)");
}

Test(config_dump, reads_back)
{
    lx_config *c = NULL;
    lx_error err;
    setenv("LLMUX_TEST_OPENAI_KEY", "sk-abcdefghijklmnopqrstuvwxyz", 1);
    cr_assert_eq(lx_config_load("tests/fixtures/config/full.yaml", &c, &err), LX_OK, "%s",
                 err.message);
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_config_dump(c, &b), LX_OK);
    lx_config *c2 = NULL;
    cr_assert_eq(lx_config_parse(b.data, b.len, "dump.yaml", &c2, &err), LX_OK, "%s\n%s",
                 err.message, b.data);
    cr_assert_eq(c2->n_providers, c->n_providers);
    for (size_t i = 0; i < c->n_providers; i++) {
        cr_assert_str_eq(c2->providers[i].name, c->providers[i].name);
        cr_assert_str_eq(c2->providers[i].base_url, c->providers[i].base_url);
        cr_assert_eq(c2->providers[i].local, c->providers[i].local);
        cr_assert_eq(c2->providers[i].n_models, c->providers[i].n_models);
        cr_assert_eq(c2->providers[i].timeouts.total_ms, c->providers[i].timeouts.total_ms);
    }
    cr_assert_str_eq(c2->default_model, c->default_model);
    cr_assert_eq(lx_catalogue_find(c2, "gpt-4o")->price_input, 3);
    lx_buf_free(&b);
    lx_config_free(c);
    lx_config_free(c2);
}

Test(config_dump, warnings)
{
    unsetenv("LLMUX_T_NOPE");
    lx_config *c = parse_ok("providers:\n"
                            "  - {name: a, type: openai, api_key_env: LLMUX_T_NOPE, models: "
                            "[gpt-4o, gpt-99-turbo]}\n"
                            "  - {name: l, type: local, model: /nonexistent/x.gguf}\n"
                            "  - {name: k, type: anthropic, api_key: sk-ant-abcdefghijkl}\n");
    lx_buf b;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_config_warnings(c, &b), 4, "%s", b.data);
    cr_assert_str_eq(b.data,
                     "provider a: LLMUX_T_NOPE is not set\n"
                     "provider a: model gpt-99-turbo is not in the catalogue (context and prices "
                     "unknown; add it under catalogue:)\n"
                     "provider l: model file /nonexistent/x.gguf not found\n"
                     "provider k: api_key is written in t.yaml; prefer api_key_env\n");
    lx_buf_free(&b);
    lx_config_free(c);
}

/* ---- resolve ---------------------------------------------------------------- */

static const char *resolve_yaml = "default_model: oa/gpt-4o\n"
                                  "providers:\n"
                                  "  - {name: oa, type: openai, models: [gpt-4o-mini, gpt-4o]}\n"
                                  "  - {name: az, type: openai, base_url: 'https://az.example/v1',"
                                  " models: [gpt-4o, o3]}\n"
                                  "  - {name: ol, type: ollama}\n"
                                  "  - {name: hf, type: openai, base_url: 'http://h/v1',"
                                  " models: [meta-llama/Llama-3-8B]}\n";

static void expect_resolve(const lx_config *c, const char *spec, const char *prov,
                           const char *model)
{
    const lx_provider_cfg *p = NULL;
    const char *m = NULL;
    lx_error err;
    lx_status st = lx_config_resolve(c, spec, &p, &m, &err);
    cr_assert_eq(st, LX_OK, "resolve(%s): %s", spec ? spec : "NULL", err.message);
    cr_assert_str_eq(p->name, prov, "resolve(%s)", spec ? spec : "NULL");
    cr_assert_str_eq(m, model, "resolve(%s)", spec ? spec : "NULL");
}

Test(config_resolve, rules)
{
    lx_config *c = parse_ok(resolve_yaml);
    expect_resolve(c, NULL, "oa", "gpt-4o");
    expect_resolve(c, "", "oa", "gpt-4o");
    expect_resolve(c, "oa/gpt-4o-mini", "oa", "gpt-4o-mini");
    expect_resolve(c, "az/o3", "az", "o3");
    expect_resolve(c, "az", "az", "gpt-4o");
    expect_resolve(c, "o3", "az", "o3");
    expect_resolve(c, "gpt-4o-mini", "oa", "gpt-4o-mini");
    expect_resolve(c, "ol/llama3.2:3b", "ol", "llama3.2:3b");
    expect_resolve(c, "ol/library/qwen2.5", "ol", "library/qwen2.5");
    expect_resolve(c, "hf/meta-llama/Llama-3-8B", "hf", "meta-llama/Llama-3-8B");
    expect_resolve(c, "meta-llama/Llama-3-8B", "hf", "meta-llama/Llama-3-8B");
    lx_config_free(c);
}

Test(config_resolve, failures)
{
    lx_config *c = parse_ok(resolve_yaml);
    const lx_provider_cfg *p = NULL;
    const char *m = NULL;
    lx_error err;
    cr_assert_eq(lx_config_resolve(c, "gpt-4o", &p, &m, &err), LX_ERR_INVALID);
    cr_assert_str_eq(err.message, "model 'gpt-4o' is ambiguous; say which: oa/gpt-4o, az/gpt-4o");
    cr_assert_eq(lx_config_resolve(c, "claude-x", &p, &m, &err), LX_ERR_NOTFOUND);
    cr_assert_str_eq(err.message, "unknown model 'claude-x'; configured: oa (gpt-4o-mini, "
                                  "gpt-4o), az (gpt-4o, o3), ol (any model), hf "
                                  "(meta-llama/Llama-3-8B)");
    cr_assert_eq(lx_config_resolve(c, "oa/o3", &p, &m, &err), LX_ERR_NOTFOUND);
    cr_assert_not_null(strstr(err.message, "provider 'oa' does not list model 'o3'"), "%s",
                       err.message);
    cr_assert_eq(lx_config_resolve(c, "ol", &p, &m, &err), LX_ERR_NOTFOUND);
    cr_assert_str_eq(err.message, "provider 'ol' lists no models; name one as ol/MODEL");
    cr_assert_eq(lx_config_resolve(c, "nobody/x", &p, &m, &err), LX_ERR_NOTFOUND);
    cr_assert_null(p, "outputs untouched on failure");
    lx_config_free(c);
}

/* ---- catalogue ----------------------------------------------------------- */

Test(catalogue, builtin_has_the_listed_models)
{
    static const char *const ids[] = {"gpt-4o",
                                      "gpt-4o-mini",
                                      "gpt-4.1",
                                      "gpt-4.1-mini",
                                      "gpt-4.1-nano",
                                      "o3",
                                      "o4-mini",
                                      "gpt-5",
                                      "gpt-5-mini",
                                      "claude-opus-4-1",
                                      "claude-sonnet-4-5",
                                      "claude-haiku-4-5",
                                      "claude-3-5-haiku",
                                      "gemini-2.5-pro",
                                      "gemini-2.5-flash",
                                      "gemini-2.5-flash-lite",
                                      "gemini-2.0-flash",
                                      "llama3.2",
                                      "llama3.1",
                                      "qwen2.5",
                                      "smollm2",
                                      "mistral",
                                      "gemma2",
                                      "phi3"};
    lx_config *c = parse_ok("");
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const lx_model_info *m = lx_catalogue_find(c, ids[i]);
        cr_assert_not_null(m, "%s missing", ids[i]);
        cr_assert_str_eq(m->id, ids[i]);
        cr_assert_gt(m->context, 0, "%s", ids[i]);
        cr_assert_not_null(m->provider, "%s", ids[i]);
        cr_assert_not(m->from_config);
        bool local = !strcmp(m->provider, "ollama");
        if (local)
            cr_assert(m->price_input == 0 && m->price_output == 0, "%s is free", ids[i]);
        else
            cr_assert(m->price_input > 0 && m->price_output > m->price_input, "%s", ids[i]);
    }
    const lx_model_info *m = lx_catalogue_find(c, "gpt-4o");
    cr_assert_eq(m->context, 128000);
    cr_assert_eq(m->features, LX_FEAT_TOOLS | LX_FEAT_VISION | LX_FEAT_JSON);
    cr_assert_eq(m->price_input, 2.5);
    cr_assert_eq(m->price_output, 10);
    cr_assert_eq(m->price_cache_read, 1.25);
    m = lx_catalogue_find(c, "claude-sonnet-4-5");
    cr_assert_eq(m->price_cache_write, 3.75);
    cr_assert(m->features & LX_FEAT_REASONING);
    lx_config_free(c);
}

Test(catalogue, lookup_rules)
{
    lx_config *c = parse_ok("");
    static const char *const q[][2] = {
        {"gpt-4o-mini", "gpt-4o-mini"},
        {"gpt-4o-2024-08-06", "gpt-4o"},
        {"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
        {"qwen2.5:7b", "qwen2.5"},
        {"llama3.2:1b-instruct-q4_K_M", "llama3.2"},
        {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
        {"gemini-2.5-flash-lite", "gemini-2.5-flash-lite"},
        {"gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"},
        {"models/gemini-2.5-pro", "gemini-2.5-pro"},
        {"phi3:mini-128k", "phi3:mini-128k"},
        {"phi3:medium", "phi3"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        const lx_model_info *m = lx_catalogue_find(c, q[i][0]);
        cr_assert_not_null(m, "%s", q[i][0]);
        cr_assert_str_eq(m->id, q[i][1], "%s", q[i][0]);
    }
    cr_assert_null(lx_catalogue_find(c, "gpt-4oo"));
    cr_assert_null(lx_catalogue_find(c, "gpt-4"));
    cr_assert_null(lx_catalogue_find(c, "qwen2"));
    cr_assert_null(lx_catalogue_find(c, ""));
    cr_assert_null(lx_catalogue_find(c, NULL));
    lx_config_free(c);
}

Test(catalogue, user_entries_add_and_override)
{
    lx_config *c = parse_ok("catalogue:\n"
                            "  - id: gpt-4o\n"
                            "    price: {input: 2, cache_write: 0.5}\n"
                            "  - id: my-finetune\n"
                            "    provider: openai\n"
                            "    context: 32000\n"
                            "    max_output: 4000\n"
                            "    features: [tools, reasoning]\n"
                            "    price: {input: 1, output: 4}\n");
    const lx_model_info *m = lx_catalogue_find(c, "gpt-4o-2024-11-20");
    cr_assert_str_eq(m->id, "gpt-4o");
    cr_assert_eq(m->price_input, 2);
    cr_assert_eq(m->price_cache_write, 0.5);
    cr_assert_eq(m->price_output, 10, "fields not given are kept");
    cr_assert_eq(m->context, 128000);
    cr_assert(m->from_config);
    m = lx_catalogue_find(c, "my-finetune:v2");
    cr_assert_not_null(m);
    cr_assert_eq(m->context, 32000);
    cr_assert_eq(m->max_output, 4000);
    cr_assert_eq(m->features, LX_FEAT_TOOLS | LX_FEAT_REASONING);
    cr_assert_str_eq(m->provider, "openai");
    cr_assert_not(lx_catalogue_find(c, "gpt-4o-mini")->from_config);
    lx_config_free(c);
}

Test(config, names)
{
    cr_assert_str_eq(lx_provider_type_name(LX_PROV_OLLAMA), "ollama");
    cr_assert_str_eq(lx_provider_type_name((lx_provider_type)99), "unknown");
    lx_provider_type t;
    cr_assert_eq(lx_provider_type_parse("gemini", &t), LX_OK);
    cr_assert_eq(t, LX_PROV_GEMINI);
    cr_assert_eq(lx_provider_type_parse("GEMINI", &t), LX_ERR_NOTFOUND);
    cr_assert_str_eq(lx_feature_name(LX_FEAT_REASONING), "reasoning");
    cr_assert_null(lx_feature_name(LX_FEAT_TOOLS | LX_FEAT_JSON));
    lx_timeouts d = lx_timeouts_default();
    cr_assert_eq(d.connect_ms, 10000);
    cr_assert_eq(d.total_ms, 600000);
}

/* ---- CLI helpers (src/cli/cliutil.c) ---------------------------------- */

#include "cli/cliutil.h"

Test(cliutil, table_aligns_columns)
{
    static const char *const h[] = {"NAME", "CTX", "NOTE"};
    lx_table *t = lx_table_new(3, h);
    cr_assert_not_null(t);
    lx_table_align_right(t, 1);
    static const char *const r1[] = {"a/very-long-name", "128k", "x"};
    static const char *const r2[] = {"b/\u00e9t\u00e9", "8k", NULL};
    cr_assert_eq(lx_table_add(t, r1), LX_OK);
    cr_assert_eq(lx_table_add(t, r2), LX_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lx_table_print(t, f);
    fclose(f);
    cr_assert_str_eq(buf, "NAME               CTX  NOTE\n"
                          "a/very-long-name  128k  x\n"
                          "b/\u00e9t\u00e9               8k  -\n");
    free(buf);
    lx_table_free(t);
}

Test(cliutil, load_config_exit_codes)
{
    lx_config *c = NULL;
    cr_assert_eq(lx_cli_load_config("tests/fixtures/config/bad_key.yaml", &c), 2);
    cr_assert_null(c);
    cr_assert_eq(lx_cli_load_config("tests/fixtures/config/literal_key.yaml", &c), 0);
    cr_assert_not_null(c);
    lx_config_free(c);
}
