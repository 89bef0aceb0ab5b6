/*
 * test_server_config.c — the `server:` and `keys:` sections: defaults,
 * values, errors with positions and hints, key digests (sha256 and key_env),
 * unique ids, keys[].models checked against providers and aliases.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/sha256.h"

#define PROV                                                                                       \
    "providers:\n"                                                                                 \
    "  - name: p\n"                                                                                \
    "    type: openai\n"                                                                           \
    "    base_url: http://127.0.0.1:9/v1\n"                                                        \
    "    api_key: x\n"                                                                             \
    "    models: [a, b]\n"

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
    return c;
}

static void parse_fails(const char *yaml, const char *needle)
{
    lx_config *c = NULL;
    lx_error err;
    lx_status st = parse(yaml, &c, &err);
    cr_assert_eq(st, LX_ERR_CONFIG, "expected a config error for:\n%s", yaml);
    cr_assert_null(c);
    cr_assert(strstr(err.message, needle), "'%s' not in: %s", needle, err.message);
}

Test(server_config, defaults)
{
    lx_config *c = parse_ok(PROV);
    cr_assert_str_eq(c->server.listen, "127.0.0.1:8080");
    cr_assert_eq(c->server.workers, 0);
    cr_assert_eq(c->server.max_body, 8 << 20);
    cr_assert_eq(c->server.header_timeout_ms, 10000);
    cr_assert_eq(c->server.max_streams, 1024);
    cr_assert_eq(c->server.drain_ms, 30000);
    cr_assert_str_eq(c->server.access_log, "-");
    cr_assert_not(c->server.log_prompts);
    cr_assert_eq(c->n_keys, 0);
    lx_config_free(c);
}

Test(server_config, values)
{
    lx_config *c = parse_ok(PROV "server:\n"
                                 "  listen: '[::1]:0'\n"
                                 "  workers: 3\n"
                                 "  max_body: 1000\n"
                                 "  header_timeout_ms: 500\n"
                                 "  max_streams: 7\n"
                                 "  drain_ms: 0\n"
                                 "  access_log: off\n"
                                 "  log_prompts: true\n");
    cr_assert_str_eq(c->server.listen, "[::1]:0");
    cr_assert_eq(c->server.workers, 3);
    cr_assert_eq(c->server.max_body, 1000);
    cr_assert_eq(c->server.header_timeout_ms, 500);
    cr_assert_eq(c->server.max_streams, 7);
    cr_assert_eq(c->server.drain_ms, 0);
    cr_assert_str_eq(c->server.access_log, "off");
    cr_assert(c->server.log_prompts);
    lx_config_free(c);
}

Test(server_config, errors_name_position_and_hint)
{
    parse_fails(PROV "server:\n  workres: 2\n", "t.yaml:8:3: unknown key 'workres' in server "
                                                "(did you mean 'workers'?)");
    parse_fails(PROV "server:\n  listen: localhost\n",
                "t.yaml:8:11: server.listen: expected HOST:PORT");
    parse_fails(PROV "server:\n  listen: 1.2.3.4:99999\n", "server.listen");
    parse_fails(PROV "server:\n  max_streams: 0\n", "server.max_streams");
    parse_fails(PROV "server:\n  header_timeout_ms: -1\n", "server.header_timeout_ms");
    parse_fails(PROV "server:\n  access_log: ''\n", "server.access_log");
}

static void digest(const char *key, unsigned char out[32])
{
    lx_sha256 h;
    lx_sha256_init(&h);
    lx_sha256_update(&h, key, strlen(key));
    lx_sha256_final(&h, out);
}

Test(server_config, keys_sha256_and_env)
{
    setenv("T_KEY_B", "secret-b", 1);
    lx_config *c =
        parse_ok(PROV "keys:\n"
                      "  - id: a\n"
                      "    sha256: "
                      "5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8\n"
                      "    models: [p/*, auto, p/a]\n"
                      "    privacy: redact\n"
                      "    budget: {day_usd: 5, month_usd: 50}\n"
                      "    limits: {rpm: 60, tpm: 1000, concurrency: 4}\n"
                      "  - id: b\n"
                      "    key_env: T_KEY_B\n");
    cr_assert_eq(c->n_keys, 2);
    unsigned char d[32];
    digest("password", d);
    cr_assert_eq(memcmp(c->keys[0].sha256, d, 32), 0);
    digest("secret-b", d);
    cr_assert_eq(memcmp(c->keys[1].sha256, d, 32), 0);
    cr_assert_str_eq(c->keys[0].id, "a");
    cr_assert_eq(c->keys[0].n_models, 3);
    cr_assert(c->keys[0].has_privacy);
    cr_assert_eq(c->keys[0].privacy, LX_PRIVACY_REDACT);
    cr_assert_float_eq(c->keys[0].day_usd, 5, 1e-9);
    cr_assert_float_eq(c->keys[0].month_usd, 50, 1e-9);
    cr_assert_eq(c->keys[0].rpm, 60);
    cr_assert_eq(c->keys[0].tpm, 1000);
    cr_assert_eq(c->keys[0].concurrency, 4);
    cr_assert_null(c->keys[1].models);
    cr_assert_not(c->keys[1].has_privacy);
    lx_config_free(c);
}

Test(server_config, key_errors)
{
    parse_fails(PROV "keys:\n  - id: a\n    sha256: abc\n",
                "t.yaml:9:13: keys[0].sha256: expected 64 hex digits");
    parse_fails(PROV "keys:\n  - id: a\n", "keys[0]: missing 'sha256'");
    parse_fails(PROV "keys:\n  - sha256: "
                     "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\n",
                "keys[0]: missing 'id'");
    unsetenv("T_NOT_SET");
    parse_fails(PROV "keys:\n  - id: a\n    key_env: T_NOT_SET\n", "T_NOT_SET is not set");
    parse_fails(PROV "keys:\n  - id: a\n    key_env: sk-live-abc\n", "not a key");
    setenv("T_K", "x", 1);
    parse_fails(PROV "keys:\n  - id: a\n    key_env: T_K\n  - id: a\n    key_env: T_K2\n", "T_K2");
    setenv("T_K2", "y", 1);
    parse_fails(PROV "keys:\n  - id: a\n    key_env: T_K\n  - id: a\n    key_env: T_K2\n",
                "keys[1].id: 'a' is already used by keys[0]");
    setenv("T_K3", "x", 1);
    parse_fails(PROV "keys:\n  - id: a\n    key_env: T_K\n  - id: b\n    key_env: T_K3\n",
                "same key as keys[0]");
    parse_fails(PROV "keys:\n  - id: a\n    key_env: T_K\n    lmits: {rpm: 1}\n",
                "did you mean 'limits'?");
    parse_fails(PROV "keys:\n  - id: a\n    key_env: T_K\n    privacy: loose\n",
                "keys[0].privacy: expected one of");
}

Test(server_config, key_models_must_resolve)
{
    setenv("T_K", "x", 1);
    parse_fails(PROV "keys:\n  - id: a\n    key_env: T_K\n    models: [p/a, q/*]\n",
                "t.yaml:10:19: keys[0].models[1]: 'q/*' does not resolve: no provider named 'q'");
    parse_fails(PROV "keys:\n  - id: a\n    key_env: T_K\n    models: [p/zzz]\n",
                "keys[0].models[0]: 'p/zzz' does not resolve");
    lx_config *c =
        parse_ok(PROV "aliases: {fast: p/a}\n"
                      "keys:\n  - id: a\n    key_env: T_K\n    models: [fast, p/b, auto]\n");
    cr_assert_eq(c->keys[0].n_models, 3);
    lx_config_free(c);
}

Test(server_config, secrets_never_in_errors)
{
    setenv("T_SECRET", "sk-very-secret-value-123", 1);
    lx_config *c = NULL;
    lx_error err;
    /* a bad sibling field after key_env: the message must not carry the key */
    cr_assert_eq(
        parse(PROV "keys:\n  - id: a\n    key_env: T_SECRET\n    limits: {rpm: -1}\n", &c, &err),
        LX_ERR_CONFIG);
    cr_assert_null(strstr(err.message, "sk-very-secret"));
    cr_assert_eq(parse(PROV "keys:\n  - id: a\n    sha256: sk-very-secret-value-123\n", &c, &err),
                 LX_ERR_CONFIG);
    cr_assert_null(strstr(err.message, "sk-very-secret"), "%s", err.message);
}
