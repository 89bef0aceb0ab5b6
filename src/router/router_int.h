/*
 * router_int.h — shared between the router's files; not a public API.
 *
 *   router.c          lx_router: construction, local tokenizers (lazy),
 *                     sticky set, scratch, target specs, size signal
 *   router_policy.c   lx_route: the steps of one decision
 *   router_signals.c  its parts: features, key scope, sizes, candidates,
 *                     rule conditions, the filter (router_policy_int.h)
 *   router_explain.c  lx_plan_json, lx_plan_reason, lx_plan_target_kind
 */
#ifndef LX_ROUTER_INT_H
#define LX_ROUTER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "router/router.h"

struct lx_tokenizer;
struct lx_template;

/* The embedded engine's tokenizer and chat template for one provider of
 * type local, loaded on first use (GGUF metadata only, never weights). */
typedef struct lx_local_tok {
    const lx_provider_cfg *p;
    pthread_mutex_t mu;
    atomic_bool ready; /* tried (successfully or not) */
    struct lx_tokenizer *tok;
    struct lx_template *tmpl;
    int64_t n_ctx;    /* GGUF context_length (0 = unknown) */
    size_t max_piece; /* longest vocabulary text in bytes: bounds the count */
    char why[200];    /* why tok is NULL */
} lx_local_tok;

#define LX_STICKY_WAYS 8
#define LX_STICKY_SETS 512 /* 4096 conversations */

/* A resolved target: provider and model name at the provider. */
typedef struct lx_tspec {
    const lx_provider_cfg *p;
    const char *model;
} lx_tspec;

struct lx_router {
    const lx_config *cfg;
    lx_scanner *scanner;
    lx_local_tok *toks; /* one per provider (index = provider index); p NULL when not local */
    lx_tspec def, esc;  /* routing.default / routing.escalate resolved; p NULL when none */
    char def_spec[192], esc_spec[192];
    pthread_mutex_t sticky_mu;
    uint64_t sticky_fp[LX_STICKY_SETS][LX_STICKY_WAYS];
    uint64_t sticky_at[LX_STICKY_SETS][LX_STICKY_WAYS];
    uint64_t sticky_clock;
    atomic_bool sticky_used; /* something was ever added: lookups can hit */
};

struct ctx;
struct lx_route_scratch {
    lx_scan_scratch *scan;
    lx_buf render;   /* chat template output for exact counts */
    struct ctx *ctx; /* one decision's state (router_policy_int.h), reused */
};

/* Resolves a target spec: "local"/"local/auto", "cloud"/"cloud/auto", an
 * alias (chains followed), "<provider>/auto" (that provider's default or
 * escalate target, else its first model), or what lx_config_resolve takes. *is_auto is set
 * (and LX_OK returned with out->p NULL) for "auto" or an alias of it.
 * LX_ERR_NOTFOUND with err set when nothing matches. */
lx_status lx_router_resolve(const lx_router *r, const char *spec, lx_tspec *out, bool *is_auto,
                            lx_error *err);

/* Size of req for one target. For a target of type local with a tokenizer
 * the prompt is rendered with its chat template; without `exact` only the
 * bounds are computed (lo = ceil(bytes / longest vocabulary text), hi =
 * bytes + 3: every token covers at least one byte and at most the longest
 * piece), and count is the estimate clamped into them; with `exact` the
 * rendered prompt is counted (lo = hi = count). For every other target
 * count = lo = hi = est, the estimate. */
typedef struct lx_tok_size {
    int64_t count, lo, hi;
    bool exact;
    bool countable; /* an exact count is possible (local tokenizer present) */
} lx_tok_size;
void lx_router_size(const lx_router *r, lx_route_scratch *sc, const lx_request *req,
                    const lx_tspec *t, int64_t est, bool exact, lx_tok_size *out);
int64_t lx_router_context(const lx_router *r, const lx_tspec *t, const lx_model_info *info);

/* The documented estimate: see router.h. */
int64_t lx_router_estimate(const lx_request *req);

/* 64-bit fingerprint of a conversation (system text + first user message);
 * 0 when the request has no user message. */
uint64_t lx_router_fingerprint(const lx_request *req);
bool lx_router_sticky_has(const lx_router *r, uint64_t fp);
/* False while nothing was ever added: every lookup would miss (and touch
 * nothing), so a decision need not fingerprint the conversation. */
bool lx_router_sticky_used(const lx_router *r);
void lx_router_sticky_add(const lx_router *r, uint64_t fp);

/* "provider/model" into buf. */
const char *lx_tspec_str(const lx_tspec *t, char *buf, size_t cap);

#endif
