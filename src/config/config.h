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
 * The top-level keys are a table in config.c: a new section (routing,
 * server, keys, budgets, ledger, cache) is one row and one parser.
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

typedef struct lx_config {
    lx_arena *arena;
    char *source; /* file path, or "(environment)" */
    char *default_model;
    lx_timeouts timeouts;
    lx_provider_cfg *providers;
    size_t n_providers;
    lx_model_info *catalogue;
    size_t n_catalogue;
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
