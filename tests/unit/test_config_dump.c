/*
 * test_config_dump.c — `llmux config check` output (lx_config_dump): every
 * section is written, the dump reads back with the same meaning, and a
 * second dump of what was read back is the same bytes; no secret (a key
 * from the environment, an api_key written in the file, a virtual key or
 * its digest) ever appears. Strings that need quoting (reserved words,
 * colons, quotes, backslashes, control characters, UTF-8, '*') survive.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define OPENAI_SECRET "sk-test-SECRETopenai-0123456789abcdef"
#define LITERAL_SECRET "sk-ant-LITERALSECRET-0123456789"
#define TEAM_B_SECRET "team-b-SECRETKEY-abcdefghijkl"
/* sha256 of "team-a" is not what matters: any 64 hex digits do */
#define TEAM_A_DIGEST "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"

static const char rich[] =
    "default_model: openai/gpt-4o-mini\n"
    "timeouts: {connect_ms: 5000, first_byte_ms: 30000}\n"
    "providers:\n"
    "  - name: openai\n"
    "    type: openai\n"
    "    api_key_env: LLMUX_T_DUMP_OPENAI\n"
    "    models: [gpt-4o-mini, gpt-4o]\n"
    "  - name: claude\n"
    "    type: anthropic\n"
    "    api_key: " LITERAL_SECRET "\n"
    "    models: [claude-sonnet-4-5]\n"
    "    timeouts: {total_ms: 120000}\n"
    "  - name: ollama\n"
    "    type: ollama\n"
    "    base_url: http://127.0.0.1:11434\n"
    "    num_ctx: 8192\n"
    "  - name: local\n"
    "    type: local\n"
    "    model: /nonexistent/dir/tiny.gguf\n"
    "catalogue:\n"
    "  - id: gpt-4o\n"
    "    price: {input: 2.5, output: 10.125, cache_read: 0.1234567891234}\n"
    "aliases:\n"
    "  fast: local/tiny.gguf\n"
    "  smart: openai/gpt-4o\n"
    "  'yes': auto\n"
    "  odd: 'ollama/llama3:'\n"
    "  tagged: ollama/llama3:8b\n"
    "routing:\n"
    "  privacy: redact\n"
    "  default: fast\n"
    "  escalate: claude/claude-sonnet-4-5\n"
    "  complexity_threshold: 0.7\n"
    "  cascade: true\n"
    "  cascade_min_logprob: -2.25\n"
    "  sticky: false\n"
    "  rules:\n"
    "    - when: {privacy: [API_KEY, CODENAME], task: [planning, math],\n"
    "             header: X-LLMux-Target, equals: 'yes',\n"
    "             complexity_above: 0.1, complexity_below: 0.9,\n"
    "             tokens_above: 100, tokens_below: 6000,\n"
    "             features: [tools, json], model: auto, key: team-a}\n"
    "      target: claude/claude-sonnet-4-5\n"
    "      reason: \"planning: \\\"hard\\\" \\\\ # [x] {y}, \\u00e9t\\u00e9\\n\\tnext\"\n"
    "    - when: {privacy: any}\n"
    "      action: local\n"
    "    - action: block\n"
    "      reason: 'null'\n"
    "    - when: {header: x-cloud}\n"
    "      action: cloud\n"
    "      target: smart\n"
    "    - action: cascade\n"
    "guard:\n"
    "  disable: [PERSON, ADDRESS]\n"
    "  terms:\n"
    "    - {type: CODENAME, words: [Bluebird, 'Night jar']}\n"
    "    - {type: PROJECT, words: [Apollo]}\n"
    "    - {type: CODENAME, words: ['off']}\n"
    "  regexes:\n"
    "    - {type: TICKET, pattern: 'ACME-[0-9]{4}\\b', caseless: true}\n"
    "    - {type: PROJECT, pattern: \"^x\\\\d+: *$\"}\n"
    "reliability:\n"
    "  retry: {max_attempts: 5, base_ms: 100, max_ms: 2000, deadline_ms: 60000,\n"
    "          max_retry_after_ms: 0}\n"
    "  breaker: {failures: 3, window_ms: 10000, open_ms: 5000, half_open_probes: 2}\n"
    "  fallbacks:\n"
    "    openai/gpt-4o: [claude/claude-sonnet-4-5, local]\n"
    "    cloud: local\n"
    "    ollama/llama3:8b: [smart]\n"
    "  midstream: continue\n"
    "  offline_probe_ms: 1500\n"
    "server:\n"
    "  listen: '[::1]:0'\n"
    "  workers: 2\n"
    "  max_body: 1048576\n"
    "  header_timeout_ms: 2500\n"
    "  max_streams: 64\n"
    "  drain_ms: 0\n"
    "  access_log: off\n"
    "  log_prompts: yes\n"
    "keys:\n"
    "  - id: team-a\n"
    "    sha256: " TEAM_A_DIGEST "\n"
    "    models: ['local/*', openai/gpt-4o-mini, auto, fast]\n"
    "    privacy: block\n"
    "    budget: {day_usd: 5.5, month_usd: 50}\n"
    "    limits: {rpm: 60, tpm: 100000, concurrency: 4}\n"
    "  - id: team-b\n"
    "    key_env: LLMUX_T_DUMP_TEAM_B\n"
    "  - id: nobody\n"
    "    sha256: 0000000000000000000000000000000000000000000000000000000000000001\n"
    "    models: []\n"
    "ledger:\n"
    "  enabled: false\n"
    "  path: /tmp/llmux dump test/ledger.db\n"
    "  retention_days: 0\n"
    "  store_prompts: true\n"
    "  energy_usd_per_mtok: 0.3\n"
    "  flush_ms: 50\n"
    "budgets: {day_usd: 1000000000, month_usd: 12.34, rpm: 600, tpm: 200000, at_limit: reject}\n"
    "cache:\n"
    "  mode: on\n"
    "  ttl_s: 60\n"
    "  max_mb: 8\n"
    "  routes: [openai/gpt-4o-mini, 'local/*']\n";

static lx_config *parse_ok(const char *yaml, size_t len)
{
    lx_config *c = NULL;
    lx_error err;
    lx_error_clear(&err);
    lx_status st = lx_config_parse(yaml, len, "dump-test.yaml", &c, &err);
    cr_assert_eq(st, LX_OK, "parse failed: %s\n--- input ---\n%.*s", err.message, (int)len, yaml);
    return c;
}

static void dump_ok(const lx_config *c, lx_buf *b)
{
    lx_buf_init(b, 0);
    cr_assert_eq(lx_config_dump(c, b), LX_OK);
    cr_assert_not_null(b->data);
}

static void hex(const unsigned char d[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The dump with each "sha256: (set)" marker replaced by the key's digest,
 * in order: what a user does to load a dump that has keys. Caller frees. */
static char *restore_digests(const char *dump, const lx_config *c)
{
    const char *marker = "sha256: (set)";
    size_t cap = strlen(dump) + 80 * (c->n_keys + 1), o = 0, k = 0;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    for (const char *p = dump; *p;) {
        const char *m = strstr(p, marker);
        if (!m) {
            o += (size_t)snprintf(out + o, cap - o, "%s", p);
            break;
        }
        cr_assert_lt(k, c->n_keys, "more markers than keys");
        char h[65];
        hex(c->keys[k++].sha256, h);
        o += (size_t)snprintf(out + o, cap - o, "%.*ssha256: %s", (int)(m - p), p, h);
        p = strchr(m, '\n'); /* the marker's comment goes too */
        if (!p)
            break;
    }
    cr_assert_eq(k, c->n_keys, "one marker per key");
    return out;
}

static void assert_no_secret(const char *dump, const lx_config *c)
{
    cr_assert_null(strstr(dump, "SECRET"), "a secret leaked:\n%s", dump);
    cr_assert_null(strstr(dump, "0123456789"), "part of a secret leaked:\n%s", dump);
    for (size_t i = 0; i < c->n_keys; i++) {
        char h[65];
        hex(c->keys[i].sha256, h);
        h[16] = '\0'; /* not even a prefix of a digest */
        cr_assert_null(strstr(dump, h), "digest of key %s leaked:\n%s", c->keys[i].id, dump);
    }
}

static void setup_env(void)
{
    setenv("LLMUX_T_DUMP_OPENAI", OPENAI_SECRET, 1);
    setenv("LLMUX_T_DUMP_TEAM_B", TEAM_B_SECRET, 1);
}

Test(config_dump, every_section_is_written, .init = setup_env)
{
    lx_config *c = parse_ok(rich, sizeof rich - 1);
    lx_buf b;
    dump_ok(c, &b);
    static const char *const want[] = {
        "\naliases:\n  fast: local/tiny.gguf\n",
        "\n  \"yes\": auto\n",
        "\n  odd: \"ollama/llama3:\"\n",
        "\nrouting:\n  privacy: redact\n  default: fast\n  escalate: claude/claude-sonnet-4-5\n"
        "  complexity_threshold: 0.7\n  cascade: true\n  cascade_min_logprob: -2.25\n"
        "  sticky: false\n  rules:\n",
        "    - when: {privacy: [API_KEY, CODENAME], task: [planning, math], header: "
        "x-llmux-target, equals: \"yes\", complexity_above: 0.1, complexity_below: 0.9, "
        "tokens_above: 100, tokens_below: 6000, features: [tools, json], model: auto, key: "
        "team-a}\n      action: target\n      target: claude/claude-sonnet-4-5\n",
        "    - when: {}  # always\n      action: block\n      reason: \"null\"\n",
        "\nguard:\n  disable: [PERSON, ADDRESS]\n  terms:\n"
        "    - {type: CODENAME, words: [Bluebird, \"Night jar\", \"off\"]}\n"
        "    - {type: PROJECT, words: [Apollo]}\n",
        "    - {type: TICKET, pattern: \"ACME-[0-9]{4}\\\\b\", caseless: true}\n",
        "\nreliability:\n  retry: {max_attempts: 5, base_ms: 100, max_ms: 2000, deadline_ms: "
        "60000, max_retry_after_ms: 0}\n  breaker: {failures: 3, window_ms: 10000, open_ms: 5000, "
        "half_open_probes: 2}\n  fallbacks:\n    openai/gpt-4o: [claude/claude-sonnet-4-5, "
        "local]\n    cloud: [local]\n    ollama/llama3:8b: [smart]\n  midstream: continue\n"
        "  offline_probe_ms: 1500\n",
        "\nserver:\n  listen: \"[::1]:0\"\n  workers: 2\n  max_body: 1048576\n"
        "  header_timeout_ms: 2500\n  max_streams: 64\n  drain_ms: 0\n  access_log: \"off\"\n"
        "  log_prompts: true\n",
        "\nkeys:\n  - id: team-a\n    sha256: (set)",
        "    models: [\"local/*\", openai/gpt-4o-mini, auto, fast]\n    privacy: block\n"
        "    budget: {day_usd: 5.5, month_usd: 50}\n"
        "    limits: {rpm: 60, tpm: 100000, concurrency: 4}\n",
        "  - id: nobody\n    sha256: (set)",
        "    models: []\n    budget: {day_usd: 0, month_usd: 0}\n",
        "\nledger:\n  enabled: false\n  path: \"/tmp/llmux dump test/ledger.db\"\n"
        "  retention_days: 0\n  store_prompts: true\n  energy_usd_per_mtok: 0.3\n"
        "  flush_ms: 50\n",
        "\nbudgets: {day_usd: 1000000000, month_usd: 12.34, rpm: 600, tpm: 200000, "
        "at_limit: reject}\n",
        "\ncache:\n  mode: on\n  ttl_s: 60\n  max_mb: 8\n  routes: [openai/gpt-4o-mini, "
        "\"local/*\"]\n",
        "price: {input: 2.5, output: 10.125, cache_read: 0.1234567891234, cache_write: 0}",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_not_null(strstr(b.data, want[i]), "missing:\n%s\n--- dump ---\n%s", want[i],
                           b.data);
    assert_no_secret(b.data, c);
    lx_buf_free(&b);
    lx_config_free(c);
}

Test(config_dump, round_trip_is_byte_identical, .init = setup_env)
{
    lx_config *c1 = parse_ok(rich, sizeof rich - 1);
    lx_buf d1, d2;
    dump_ok(c1, &d1);
    assert_no_secret(d1.data, c1);

    char *loadable = restore_digests(d1.data, c1);
    lx_config *c2 = parse_ok(loadable, strlen(loadable));
    dump_ok(c2, &d2);
    cr_assert_str_eq(d2.data, d1.data, "second dump differs");
    assert_no_secret(d2.data, c2);

    /* the same meaning, not only the same text */
    cr_assert_eq(c2->n_aliases, c1->n_aliases);
    cr_assert_str_eq(c2->aliases[2].name, "yes");
    cr_assert_str_eq(c2->aliases[3].target, "ollama/llama3:");
    cr_assert_eq(c2->routing.n_rules, c1->routing.n_rules);
    for (size_t i = 0; i < c1->routing.n_rules; i++) {
        const lx_route_rule *a = &c1->routing.rules[i], *b = &c2->routing.rules[i];
        cr_assert_eq(b->action, a->action, "rule %zu", i);
        cr_assert_eq(b->n_privacy, a->n_privacy);
        cr_assert_eq(b->n_tasks, a->n_tasks);
        cr_assert_eq(b->features, a->features);
        cr_assert_eq(b->tokens_above, a->tokens_above);
        cr_assert_eq(b->tokens_below, a->tokens_below);
        cr_assert_eq(b->has_complexity_above, a->has_complexity_above);
        cr_assert_eq(b->complexity_above, a->complexity_above);
        cr_assert_eq(b->complexity_below, a->complexity_below);
        cr_assert_eq(!b->target, !a->target);
        cr_assert_eq(!b->reason, !a->reason);
        if (a->reason)
            cr_assert_str_eq(b->reason, a->reason);
        if (a->equals)
            cr_assert_str_eq(b->equals, a->equals);
    }
    cr_assert_str_eq(c2->routing.rules[0].reason,
                     "planning: \"hard\" \\ # [x] {y}, \xc3\xa9t\xc3\xa9\n\tnext");
    cr_assert_eq(c2->routing.privacy, LX_PRIVACY_REDACT);
    cr_assert_eq(c2->routing.cascade_min_logprob, -2.25);
    cr_assert_eq(c2->guard.n_terms, c1->guard.n_terms);
    cr_assert_eq(c2->guard.n_regexes, 2);
    cr_assert_str_eq(c2->guard.regexes[0].pattern, "ACME-[0-9]{4}\\b");
    cr_assert_str_eq(c2->guard.regexes[1].pattern, "^x\\d+: *$");
    cr_assert(c2->guard.regexes[0].caseless);
    cr_assert_eq(c2->reliability.n_fallbacks, 3);
    cr_assert_eq(c2->reliability.midstream, LX_MIDSTREAM_CONTINUE);
    cr_assert_str_eq(c2->server.access_log, "off");
    cr_assert(c2->server.log_prompts);
    cr_assert_eq(c2->n_keys, 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(memcmp(c2->keys[i].sha256, c1->keys[i].sha256, 32), 0);
    cr_assert_not_null(c2->keys[2].models, "models: [] (no model allowed) stays a list");
    cr_assert_eq(c2->keys[2].n_models, 0);
    cr_assert_null(c2->keys[1].models, "absent models (all allowed) stays absent");
    cr_assert_eq(c2->keys[0].day_usd, 5.5);
    cr_assert_str_eq(c2->ledger.path, "/tmp/llmux dump test/ledger.db");
    cr_assert_eq(c2->ledger.energy_usd_per_mtok, 0.3);
    cr_assert_eq(c2->budgets.at_limit, LX_AT_LIMIT_REJECT);
    cr_assert_eq(c2->budgets.month_usd, 12.34);
    cr_assert_eq(c2->cache.mode, LX_CACHE_ON);
    cr_assert_eq(c2->cache.n_routes, 2);
    cr_assert_eq(lx_catalogue_find(c2, "gpt-4o")->price_cache_read, 0.1234567891234);

    free(loadable);
    lx_buf_free(&d1);
    lx_buf_free(&d2);
    lx_config_free(c1);
    lx_config_free(c2);
}

/* Without keys the dump loads as it is; defaults are written and stable. */
Test(config_dump, defaults_round_trip)
{
    static const char minimal[] = "providers:\n  - {name: o, type: ollama, models: [llama3]}\n"
                                  "ledger: {path: ':memory:'}\n";
    lx_config *c1 = parse_ok(minimal, sizeof minimal - 1);
    lx_buf d1, d2;
    dump_ok(c1, &d1);
    cr_assert_not_null(strstr(d1.data, "\nkeys: []\n"), "%s", d1.data);
    cr_assert_not_null(strstr(d1.data, "\naliases: {}\n"), "%s", d1.data);
    cr_assert_not_null(strstr(d1.data, "  # escalate: none"), "%s", d1.data);
    cr_assert_not_null(strstr(d1.data, "  path: \":memory:\"\n"), "%s", d1.data);
    cr_assert_not_null(strstr(d1.data, "\nbudgets: {day_usd: 0, month_usd: 0, rpm: 0, tpm: 0, "
                                       "at_limit: local}\n"),
                       "%s", d1.data);
    cr_assert_null(strstr(d1.data, "sha256"), "%s", d1.data);
    lx_config *c2 = parse_ok(d1.data, d1.len);
    dump_ok(c2, &d2);
    cr_assert_str_eq(d2.data, d1.data);
    cr_assert_eq(c2->routing.complexity_threshold, 0.55);
    cr_assert(c2->routing.sticky);
    cr_assert_eq(c2->reliability.retry.max_attempts, 3);
    cr_assert_eq(c2->cache.ttl_s, 86400);
    lx_buf_free(&d1);
    lx_buf_free(&d2);
    lx_config_free(c1);
    lx_config_free(c2);
}

/* A literal api_key is masked; the masked form read back is not masked
 * again, so dumps stay stable and still show no key. */
Test(config_dump, literal_key_mask_is_stable)
{
    static const char y[] = "providers:\n  - {name: a, type: anthropic, api_key: " LITERAL_SECRET
                            "}\nledger: {enabled: false, path: ':memory:'}\n";
    lx_config *c1 = parse_ok(y, sizeof y - 1);
    lx_buf d1, d2;
    dump_ok(c1, &d1);
    cr_assert_not_null(strstr(d1.data, "api_key: \"sk-\u2026(31 chars)\"\n"), "%s", d1.data);
    lx_config *c2 = parse_ok(d1.data, d1.len);
    dump_ok(c2, &d2);
    cr_assert_str_eq(d2.data, d1.data);
    cr_assert_null(strstr(d2.data, "LITERAL"));
    lx_buf_free(&d1);
    lx_buf_free(&d2);
    lx_config_free(c1);
    lx_config_free(c2);
}

/* The source name is printed in a comment: a newline in it cannot start a
 * line of YAML. */
Test(config_dump, source_comment_stays_one_line)
{
    static const char y[] = "providers: [{name: o, type: ollama}]\nledger: {path: ':memory:'}\n";
    lx_config *c = NULL;
    lx_error err;
    cr_assert_eq(lx_config_parse(y, sizeof y - 1, "evil\nkeys: x\n.yaml", &c, &err), LX_OK, "%s",
                 err.message);
    lx_buf b;
    dump_ok(c, &b);
    cr_assert_not_null(strstr(b.data, "# effective configuration (source: evil?keys: x?.yaml)\n"),
                       "%s", b.data);
    lx_config *c2 = parse_ok(b.data, b.len);
    lx_buf_free(&b);
    lx_config_free(c);
    lx_config_free(c2);
}
