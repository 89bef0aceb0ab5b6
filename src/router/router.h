/*
 * router.h — decides, for each request, where it runs and why.
 *
 * signals -> policy -> plan:
 *   signals  privacy (the guard's scanner over every text, tool argument and
 *            tool result), size (prompt tokens per candidate model: exact
 *            with the local model's tokenizer and chat template for targets
 *            of type local, else the estimate 3 + per message (4 + bytes/4
 *            of each text) + 800 per image + per tool (8 + bytes/4), see
 *            router.c), complexity (complexity.h), features
 *            (tools, images, JSON output, requested context) against the
 *            catalogue, state (provider health through lx_health_fn; offline
 *            when every remote provider is unreachable), the virtual key.
 *   policy   config `routing:` (config.h): privacy mode, default and escalate
 *            targets, complexity threshold, cascade, then the ordered rules,
 *            first match wins; built-in defaults when there is no config.
 *   plan     an ordered list of targets, each with the reason it is there;
 *            the first is the choice, the rest are fallbacks (reliability
 *            `fallbacks:` and the built-in other side: cloud -> local when
 *            remote is down or offline, local -> cloud unless privacy
 *            forbids). A target that cannot take the request (context too
 *            small for prompt + requested output, a required feature
 *            missing, breaker open) is left out, and the reason says so.
 *
 * Fail-closed privacy: under route_local a sensitive request's plan holds
 * only local targets — choice and fallbacks alike — so no retry or fallback
 * can reach a remote provider. Under redact, remote targets carry
 * redact=true and the dispatcher sends placeholders. When no local target
 * can take a sensitive request the plan's action is BLOCK with an error
 * that says why (LX_ERR_BLOCKED: "request contains EMAIL; privacy mode
 * route_local keeps it local, but local/stories260K cannot take it: 9120
 * prompt tokens exceed its 512-token context").
 *
 * Stickiness (routing.sticky): when a request is sensitive, the router
 * remembers its conversation (a 64-bit fingerprint of the system text and
 * the first user message); a later request of the same conversation stays
 * local even if its newest turn has no finding. The set is in memory,
 * bounded (LRU), guarded by a mutex, shared by every thread of a router.
 *
 * Threads: an lx_router is immutable after lx_router_new except for the
 * sticky set; any thread may route with its own lx_route_scratch.
 * Ownership: lx_route returns a plan the caller frees with lx_plan_free;
 * everything the plan points to lives in the plan's arena or in the config
 * (which must outlive the router and every plan).
 */
#ifndef LX_ROUTER_ROUTER_H
#define LX_ROUTER_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/types.h"
#include "guard/scanner.h"
#include "router/complexity.h"

typedef struct lx_router lx_router;
typedef struct lx_route_scratch lx_route_scratch;

/* Builds the router: the scanner from `guard:`, the default and escalate
 * targets, the rules. The tokenizer and chat template of each provider of
 * type local are read on first use (GGUF metadata only; no weights are
 * read; a missing or unreadable file means estimates for it). Works for
 * configs from a file and from the environment alike. LX_ERR_CONFIG naming
 * the problem. */
lx_status lx_router_new(const lx_config *cfg, lx_router **out, lx_error *err);
void lx_router_free(lx_router *r);
const lx_scanner *lx_router_scanner(const lx_router *r);

lx_status lx_route_scratch_new(const lx_router *r, lx_route_scratch **out, lx_error *err);
void lx_route_scratch_free(lx_route_scratch *sc);

/* Provider state as the router sees it. */
typedef enum {
    LX_HEALTH_OK = 0,
    LX_HEALTH_PROBING,     /* breaker half-open: usable, but put after healthy peers */
    LX_HEALTH_DOWN,        /* breaker open: left out of the plan */
    LX_HEALTH_UNREACHABLE, /* connection failures: left out; all remote -> offline */
} lx_health;
/* model NULL asks about the provider as a whole: the router calls it so for
 * every remote provider to detect offline (all UNREACHABLE). */
typedef lx_health (*lx_health_fn)(void *ud, const lx_provider_cfg *p, const char *model);

/* Output tokens a size check reserves when the request sets no max_tokens. */
#define LX_ROUTE_OUTPUT_RESERVE 256

typedef struct lx_route_input {
    const lx_request *req;
    const lx_header *headers; /* x-llmux-target, x-llmux-privacy, rule headers */
    size_t n_headers;
    const lx_key_cfg *key;   /* NULL: no virtual key */
    lx_health_fn health;     /* NULL: everything healthy */
    void *health_ud;
    bool cloud_over_budget;  /* dollar budget reached and at_limit local: paid targets out */
    bool no_cascade;         /* the caller cannot wait for validation */
    bool exact_tokens;       /* count every local target exactly, even when cheap bounds
                                settle the size check (explanations; 60-170 ns/byte) */
} lx_route_input;

typedef enum { LX_ACTION_SEND = 0, LX_ACTION_REDACT, LX_ACTION_BLOCK } lx_action;

typedef struct lx_target {
    const lx_provider_cfg *provider;
    const char *model;         /* name at the provider */
    const lx_model_info *info; /* NULL when the catalogue does not know it */
    bool local;                /* provider locality */
    bool redact;               /* send placeholders, restore the answer */
    const char *reason;        /* why it is in the plan */
    int64_t prompt_tokens;     /* size signal for this model */
    bool tokens_exact;         /* counted with the model's own tokenizer (else estimate) */
} lx_target;

/* The size signal for one model the router looked at. */
typedef struct lx_route_tokens {
    const lx_provider_cfg *provider;
    const char *model;
    int64_t count;   /* prompt tokens */
    bool exact;      /* counted with the model's tokenizer and chat template */
    int64_t context; /* its context window; 0 = unknown */
} lx_route_tokens;

typedef struct lx_plan {
    lx_arena *arena;
    lx_action action;
    lx_error block;        /* action BLOCK: why (BLOCKED, TOOBIG, UNAVAILABLE, NOTFOUND) */
    lx_target *targets;    /* first = choice, then fallbacks in order */
    size_t n_targets;
    bool cascade;          /* targets[0] is a local draft validated before the rest */
    const char **reasons;  /* the decision, step by step, human-readable */
    size_t n_reasons;
    lx_findings findings;  /* from lx_scan_request over the request (owned by the plan) */
    const char **privacy;  /* distinct finding types, in order of first appearance */
    size_t n_privacy;
    lx_privacy_mode privacy_mode; /* effective (config, key, header) */
    bool sensitive;        /* findings present and mode != off, or sticky */
    bool sticky;           /* held local by an earlier sensitive turn */
    bool offline;          /* every remote provider unreachable */
    bool explicit_model;   /* the caller named a model (not auto / an alias of auto) */
    lx_complexity complexity; /* computed for auto, rules that test it, and exact_tokens
                                 (explain); otherwise zero with task NULL */
    const char *rule;      /* "rules[2] at line 14" that matched; NULL: defaults */
    unsigned features;     /* LX_FEAT_* the request needs */
    int64_t max_output;    /* requested output tokens (0 = unset) */
    int64_t route_ns;      /* time spent deciding */
    lx_route_tokens *tokens; /* every model whose size was computed */
    size_t n_tokens;
    const char *reason_line; /* lx_plan_reason() */
} lx_plan;

/* Routes one request. Never sends anything. LX_OK with a plan (which may be
 * a BLOCK plan); errors only for NOMEM / scanner failure. */
lx_status lx_route(const lx_router *r, lx_route_scratch *sc, const lx_route_input *in,
                   lx_plan **out, lx_error *err);
void lx_plan_free(lx_plan *p);

/* "local" when the chosen target has locality local, else "cloud"; "none"
 * for a BLOCK plan. */
const char *lx_plan_target_kind(const lx_plan *p);
/* One line for x-llmux-reason: the decisive reason, ASCII, no CR/LF. */
const char *lx_plan_reason(const lx_plan *p);

/* The decision as JSON (the `llmux route --explain --json` object):
 * {"target":"local"|"cloud"|"none","provider":..,"model":..,
 *  "action":"send"|"redact"|"block","reasons":[..],"privacy":[types..],
 *  "complexity":0.31,"task":"classification","features":{"tools":..},
 *  "tokens":{"<provider>/<model>":{"count":N,"exact":true},...},
 *  "plan":[{"provider":..,"model":..,"local":..,"reason":..},...],
 *  "offline":false,"sticky":false,"cascade":false,"error":".." (block)} */
lx_status lx_plan_json(const lx_plan *p, lx_buf *out);

/* Marks the conversation of req sensitive (the dispatcher calls this when
 * a sensitive request ran; lx_route also does it for sensitive plans). */
void lx_router_mark_sensitive(const lx_router *r, const lx_request *req);

#endif
