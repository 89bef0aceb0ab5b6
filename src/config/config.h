/*
 * config.h — typed configuration: providers, model catalogue, timeouts.
 *
 * Sources, first found wins: --config PATH, $LLMUX_CONFIG, ./llmux.yaml,
 * ~/.config/llmux/config.yaml ($XDG_CONFIG_HOME/llmux/config.yaml when that
 * is set). A path that is named (--config, $LLMUX_CONFIG) must exist. With
 * none, a configuration is built from the environment (env.c):
 * OPENAI_API_KEY (+OPENAI_BASE_URL), ANTHROPIC_API_KEY (+ANTHROPIC_BASE_URL),
 * GEMINI_API_KEY or GOOGLE_API_KEY (providers "openai", "anthropic",
 * "gemini"), OLLAMA_HOST (provider "ollama", any model), and the embedded
 * engine ("local") when a model is found ($LLMUX_MODEL, or
 * stories260K/stories260K.gguf under $LLMUX_MODEL_DIR or ../shared/models).
 * Nothing at all is not an error: the config has no providers, and
 * lx_config_resolve answers with LX_CONFIG_NO_PROVIDERS.
 *
 * Files are UTF-8 YAML, one document, at most 1 MiB; anchors are allowed,
 * aliases and tags are not.
 *
 * YAML schema (unknown keys are errors, so typos are caught):
 *
 *   default_model: openai/gpt-4o-mini      # used by `ask` without -m
 *   timeouts: {connect_ms, first_byte_ms, idle_ms, total_ms}
 *   providers:
 *     - name: openai            # models are addressed as name/model
 *       type: openai            # openai | anthropic | gemini | ollama | local
 *       base_url: https://api.openai.com/v1
 *       api_key_env: OPENAI_API_KEY   # or api_key: literal (discouraged)
 *       models: [gpt-4o-mini, gpt-4o]
 *       locality: remote        # remote | local; default local for ollama/local
 *       model: /path/model.gguf # type local only
 *       num_ctx: 8192           # ollama: context window always sent
 *       timeouts: {...}         # overrides the global ones
 *   catalogue:                  # entries add to / override data/catalogue.yaml
 *     - id: gpt-4o
 *       context: 128000
 *       max_output: 16384
 *       features: [tools, vision, json]
 *       price: {input: 2.5, output: 10, cache_read: 1.25, cache_write: 0}  # USD / 1M tokens
 *
 * Rules and defaults:
 *   - name: [A-Za-z0-9_.-], at most 63 characters, unique.
 *   - base_url: http:// or https://; default per type: openai
 *     https://api.openai.com/v1, anthropic https://api.anthropic.com, gemini
 *     https://generativelanguage.googleapis.com/v1beta, ollama
 *     http://localhost:11434. Not allowed for type local.
 *   - api_key_env: when neither api_key nor api_key_env is given and base_url
 *     is the type's default, OPENAI_API_KEY / ANTHROPIC_API_KEY /
 *     GEMINI_API_KEY. A variable that is unset or empty is not an error: the
 *     provider has no key (lx_config_warnings says so).
 *   - models: empty or absent means the provider accepts any model name; for
 *     type local it defaults to the basename of `model`. `model` (a GGUF
 *     path, "~/" expanded, relative to the config file's folder) is required
 *     for type local and refused elsewhere; num_ctx is for ollama and local.
 *   - timeouts: positive integers (ms); unset fields come from the global
 *     `timeouts:`, then from lx_timeouts_default().
 *   - default_model must resolve (lx_config_resolve); when absent it is the
 *     first provider's first model.
 *
 * The top-level keys are a table in config.c: each further section
 * (aliases, routing, guard, reliability, server, keys, ledger, budgets,
 * cache) is one row and one parser; its schema is stated at its struct
 * below.
 *
 * Errors: "FILE:LINE:COL: message" with LX_ERR_CONFIG (the CLI exits 2).
 * Ownership: lx_config_load returns a config the caller frees with
 * lx_config_free; every pointer inside lives as long as the config.
 * Secrets: api_key holds the resolved key; nothing here prints it, and
 * lx_config_dump masks it (lx_config_mask_key).
 */
#ifndef LX_CONFIG_CONFIG_H
#define LX_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/status.h"

typedef enum {
    LX_PROV_OPENAI,
    LX_PROV_ANTHROPIC,
    LX_PROV_GEMINI,
    LX_PROV_OLLAMA,
    LX_PROV_LOCAL,
} lx_provider_type;

typedef struct lx_timeouts {
    int64_t connect_ms;    /* TCP+TLS connect */
    int64_t first_byte_ms; /* request sent -> first body byte (time to first token) */
    int64_t idle_ms;       /* longest gap between body bytes of a stream */
    int64_t total_ms;      /* whole exchange */
} lx_timeouts;

typedef struct lx_provider_cfg {
    char *name;
    lx_provider_type type;
    char *base_url;    /* never NULL after load (type default filled in) */
    char *api_key_env; /* may be NULL */
    char *api_key;     /* resolved secret; NULL when none */
    char **models;
    size_t n_models;
    bool local;       /* locality */
    char *model_path; /* type local: GGUF file */
    int64_t num_ctx;  /* ollama: context window to request; 0 = from catalogue */
    lx_timeouts timeouts;
    int line, col; /* where it was defined; 0 when from the environment */
} lx_provider_cfg;

enum {
    LX_FEAT_TOOLS = 1 << 0,
    LX_FEAT_VISION = 1 << 1,
    LX_FEAT_JSON = 1 << 2,
    LX_FEAT_REASONING = 1 << 3,
};

typedef struct lx_model_info {
    char *id;           /* e.g. "gpt-4o"; matched against the model name */
    char *provider;     /* provider type it belongs to, e.g. "openai"; may be NULL */
    int64_t context;    /* context window in tokens */
    int64_t max_output; /* max output tokens; 0 = unknown */
    unsigned features;  /* LX_FEAT_* */
    double price_input, price_output, price_cache_read, price_cache_write; /* USD / 1M */
    bool from_config; /* added or changed by the user's `catalogue:` */
} lx_model_info;

/* ---- sections beyond providers ------------------------------------------
 * Each section is parsed by its own file (named after the section) through
 * one row of the table in config.c. A section that is absent gets the
 * defaults stated here. Numbers in *_ms are milliseconds, must be > 0 unless
 * said otherwise. */

/* `aliases:` (config/routing.c) — a map of name -> "provider/model" or
 * "auto":   aliases: {fast: local/smollm2, smart: openai/gpt-4o}
 * Names follow the provider-name rule; lx_config_resolve() accepts them. */
typedef struct lx_alias {
    char *name;
    char *target;
} lx_alias;

typedef enum {
    LX_PRIVACY_ROUTE_LOCAL = 0, /* sensitive requests run on a local target only */
    LX_PRIVACY_REDACT,          /* placeholders go out, values are restored on the way back */
    LX_PRIVACY_BLOCK,           /* sensitive requests are refused */
    LX_PRIVACY_OFF,             /* findings are reported, nothing else */
} lx_privacy_mode;

typedef enum {
    LX_RULE_TARGET = 0, /* send to `target` (a spec, alias or "local"/"cloud") */
    LX_RULE_BLOCK,      /* refuse, naming the rule */
    LX_RULE_REDACT,     /* privacy action redact for this request */
    LX_RULE_LOCAL,      /* keep it local: `target` if given, else routing.default */
    LX_RULE_CLOUD,      /* send to routing.escalate (or `target`) unless privacy forbids */
    LX_RULE_CASCADE,    /* local first, validate, escalate */
} lx_rule_action;

/* One rule of `routing.rules`. Every condition given must hold (AND); a
 * rule with no condition always matches. YAML:
 *   - when: {privacy: [API_KEY, any], task: [planning, math],
 *            header: x-llmux-target, equals: local,        # equals optional
 *            complexity_above: 0.8, complexity_below: 0.2,
 *            tokens_above: 6000, tokens_below: 100,
 *            features: [tools, vision, json],
 *            model: auto, key: team-a}
 *     action: target | block | redact | local | cloud | cascade   # default
 *                                  # target when `target` is given
 *     target: claude/claude-sonnet-4-5
 *     reason: "planning goes to Claude"                 # optional
 * Header names compare case-insensitively, values exactly. "any" in
 * privacy matches any finding. */
typedef struct lx_route_rule {
    char **privacy;
    size_t n_privacy;
    char **tasks;
    size_t n_tasks;
    char *header; /* lower case */
    char *equals; /* NULL: the header being present is enough */
    bool has_complexity_above, has_complexity_below;
    double complexity_above, complexity_below; /* score > above, score < below */
    int64_t tokens_above, tokens_below;        /* 0 = not set */
    unsigned features;                          /* LX_FEAT_* all required */
    char *model;                                /* requested model equals */
    char *key;                                  /* virtual key id equals */
    lx_rule_action action;
    char *target;
    char *reason;
    int line, col;
} lx_route_rule;

/* `routing:` (config/routing.c). */
typedef struct lx_routing_cfg {
    lx_privacy_mode privacy;     /* default route_local */
    char *default_target;        /* `default:`; NULL = first local model, else default_model */
    char *escalate;              /* NULL = default_model when remote, else first remote model */
    double complexity_threshold; /* default 0.55 */
    bool cascade;                /* default false: cascade for every auto-routed simple request */
    double cascade_min_logprob;  /* mean token log-prob below this escalates; default -1.5 */
    bool sticky;                 /* default true: sensitive conversations stay local */
    lx_route_rule *rules;
    size_t n_rules;
} lx_routing_cfg;

/* `guard:` (config/routing.c) — the privacy scanner's configuration:
 *   guard:
 *     disable: [PERSON, ADDRESS]
 *     terms: [{type: CODENAME, words: [Bluebird, Nightjar]}]
 *     regexes: [{type: TICKET, pattern: 'ACME-[0-9]{4}', caseless: true}]
 */
typedef struct lx_guard_term {
    char *type;
    char *word;
} lx_guard_term;
typedef struct lx_guard_regex {
    char *type;
    char *pattern;
    bool caseless;
} lx_guard_regex;
typedef struct lx_guard_cfg {
    char **disabled; /* built-in type names turned off */
    size_t n_disabled;
    lx_guard_term *terms;
    size_t n_terms;
    lx_guard_regex *regexes;
    size_t n_regexes;
} lx_guard_cfg;

/* `reliability:` (config/reliability.c).
 *   reliability:
 *     retry: {max_attempts: 3, base_ms: 250, max_ms: 8000, deadline_ms: 120000,
 *             max_retry_after_ms: 30000}
 *     breaker: {failures: 5, window_ms: 30000, open_ms: 15000, half_open_probes: 1}
 *     fallbacks: {openai/gpt-4o: [anthropic/claude-sonnet-4-5, local/auto]}
 *     midstream: error | continue        # default error
 *     offline_probe_ms: 5000
 */
typedef struct lx_retry_cfg {
    int max_attempts;           /* per target, first try included; default 3 */
    int64_t base_ms, max_ms;    /* backoff: full jitter in [0, min(max, base*2^n)] */
    int64_t deadline_ms;        /* across all attempts and fallbacks; default 120000 */
    int64_t max_retry_after_ms; /* a longer Retry-After fails over instead; default 30000 */
} lx_retry_cfg;
typedef struct lx_breaker_cfg {
    int failures;         /* failures within window_ms that open it; default 5 */
    int64_t window_ms;    /* default 30000 */
    int64_t open_ms;      /* how long it stays open before half-open; default 15000 */
    int half_open_probes; /* concurrent probes allowed half-open; default 1 */
} lx_breaker_cfg;
typedef struct lx_fallback {
    char *from; /* spec, "local" or "cloud" */
    char **to;
    size_t n_to;
    int line, col;        /* of `from`, for messages */
    int *to_line, *to_col; /* of each `to` entry */
} lx_fallback;
typedef enum { LX_MIDSTREAM_ERROR = 0, LX_MIDSTREAM_CONTINUE } lx_midstream_mode;
typedef struct lx_reliability_cfg {
    lx_retry_cfg retry;
    lx_breaker_cfg breaker;
    lx_fallback *fallbacks;
    size_t n_fallbacks;
    lx_midstream_mode midstream;
    int64_t offline_probe_ms; /* how long an "unreachable" verdict lasts; default 5000 */
} lx_reliability_cfg;

/* `server:` (config/server.c). */
typedef struct lx_server_cfg {
    char *listen;              /* default "127.0.0.1:8080" */
    int workers;               /* 0 = one per CPU (at most 8) */
    int64_t max_body;          /* bytes; default 8 MiB */
    int64_t header_timeout_ms; /* whole request must arrive in this; default 10000 */
    int max_streams;           /* concurrent requests in flight; default 1024 */
    int64_t drain_ms;          /* SIGTERM drain deadline; default 30000 */
    char *access_log;          /* path, "-" for stderr (default), "off" */
    bool log_prompts;          /* access log carries prompt text; default false */
} lx_server_cfg;

/* `keys:` (config/server.c) — virtual API keys.
 *   keys:
 *     - id: team-a
 *       sha256: 5e88...        # hex digest of the key, or
 *       key_env: TEAM_A_KEY    # hashed at load (the variable must be set)
 *       models: [local/<star>, openai/gpt-4o-mini, auto]   # absent = all
 *       privacy: redact        # overrides routing.privacy for this key
 *       budget: {day_usd: 5, month_usd: 50}
 *       limits: {rpm: 60, tpm: 100000, concurrency: 4}
 */
typedef struct lx_key_cfg {
    char *id;
    unsigned char sha256[32];
    char **models; /* "provider/<star>" (a literal asterisk) = every model of it; NULL = all */
    size_t n_models;
    bool has_privacy;
    lx_privacy_mode privacy;
    double day_usd, month_usd; /* 0 = none */
    int64_t rpm, tpm;          /* 0 = none */
    int concurrency;           /* 0 = none */
} lx_key_cfg;

/* `ledger:` (config/account.c). */
typedef struct lx_ledger_cfg {
    bool enabled;         /* default true */
    char *path;           /* default $XDG_DATA_HOME/llmux/llmux.db (~/.local/share/...);
                             ":memory:" allowed */
    int64_t retention_days; /* raw rows; daily rollups kept forever; default 30 */
    bool store_prompts;   /* default false */
    double energy_usd_per_mtok; /* price of local tokens; default 0 */
    int64_t flush_ms;     /* batching interval; default 200 */
} lx_ledger_cfg;

/* `budgets:` (config/account.c) — global budget and limits. */
typedef enum { LX_AT_LIMIT_REJECT = 0, LX_AT_LIMIT_LOCAL } lx_at_limit;
typedef struct lx_budget_cfg {
    double day_usd, month_usd; /* 0 = none */
    int64_t rpm, tpm;          /* 0 = none */
    lx_at_limit at_limit;      /* default local */
} lx_budget_cfg;

/* `cache:` (config/account.c). */
typedef enum { LX_CACHE_AUTO = 0, LX_CACHE_ON, LX_CACHE_OFF } lx_cache_mode;
typedef struct lx_cache_cfg {
    lx_cache_mode mode; /* auto: only temperature 0 requests; default auto */
    int64_t ttl_s;      /* default 86400 */
    int64_t max_mb;     /* default 256 */
    char **routes;      /* targets ("provider/model", "provider/<star>") opted in; NULL = all */
    size_t n_routes;
} lx_cache_cfg;

typedef struct lx_config {
    lx_arena *arena;
    char *source; /* file path, or "(environment)" */
    char *default_model;
    lx_timeouts timeouts;
    lx_provider_cfg *providers;
    size_t n_providers;
    lx_model_info *catalogue;
    size_t n_catalogue;
    lx_alias *aliases;
    size_t n_aliases;
    lx_routing_cfg routing;
    lx_guard_cfg guard;
    lx_reliability_cfg reliability;
    lx_server_cfg server;
    lx_key_cfg *keys;
    size_t n_keys;
    lx_ledger_cfg ledger;
    lx_budget_cfg budgets;
    lx_cache_cfg cache;
} lx_config;

/* Loads from `path`, or searches the default places when path is NULL, or
 * builds from the environment when nothing is found. */
lx_status lx_config_load(const char *path, lx_config **out, lx_error *err);
/* Parses YAML text; `name` is used in error messages. */
lx_status lx_config_parse(const char *yaml, size_t len, const char *name, lx_config **out,
                          lx_error *err);
/* Configuration from the environment only. */
lx_status lx_config_from_env(lx_config **out, lx_error *err);
void lx_config_free(lx_config *c);

const lx_provider_cfg *lx_config_provider(const lx_config *c, const char *name);

/* Resolves "provider/model", a bare model name listed by one provider, or
 * NULL/"" (the default model). *model points into the config or into spec.
 * LX_ERR_NOTFOUND with a message listing what exists. */
lx_status lx_config_resolve(const lx_config *c, const char *spec, const lx_provider_cfg **prov,
                            const char **model, lx_error *err);

/* Catalogue entry for a model name (exact id, then longest id prefix, so
 * "gpt-4o-2024-08-06" finds "gpt-4o"); NULL when unknown. */
const lx_model_info *lx_catalogue_find(const lx_config *c, const char *model);

/* Effective configuration as YAML, keys masked ("sk-…(51 chars)"). */
lx_status lx_config_dump(const lx_config *c, lx_buf *out);

/* Appends one line per problem that does not stop loading (an api_key_env
 * that is not set, a hosted provider without a key, a missing GGUF file, a
 * model unknown to the catalogue, no providers at all). Returns the count. */
size_t lx_config_warnings(const lx_config *c, lx_buf *out);

/* Masked form of a secret for display: the first 3 characters, "…" and the
 * length ("sk-…(51 chars)"); keys of 6 characters or fewer show none. */
void lx_config_mask_key(const char *key, char *out, size_t cap);

/* What commands say when there is nothing to talk to. */
#define LX_CONFIG_NO_PROVIDERS                                                                     \
    "no providers configured: set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY or "           \
    "OLLAMA_HOST, or write llmux.yaml (see README)"

const char *lx_provider_type_name(lx_provider_type t);
/* "openai" -> LX_PROV_OPENAI; LX_ERR_NOTFOUND for an unknown name. */
lx_status lx_provider_type_parse(const char *name, lx_provider_type *out);
/* Name of one LX_FEAT_* bit ("tools", ...); NULL for anything else. */
const char *lx_feature_name(unsigned feature);
/* Default timeouts: connect 10 s, first byte 60 s, idle 30 s, total 600 s. */
lx_timeouts lx_timeouts_default(void);

#endif
