/*
 * router_policy_int.h — the state of one routing decision, shared by
 * router_policy.c (the steps of lx_route) and router_signals.c (signals,
 * sizes, candidates, rules, the filter). Not a public API.
 *
 * Everything a decision allocates lives in the plan's arena; lx_rp_pf
 * returns NULL (and sets ctx.nomem) when it is full.
 */
#ifndef LX_ROUTER_POLICY_INT_H
#define LX_ROUTER_POLICY_INT_H

#include <stddef.h>

#include "router/router_int.h"

#define MAX_CANDS 32
#define MAX_REASONS 64

typedef enum {
    OUT_NONE = 0,
    OUT_KEY,
    OUT_PRIVACY,
    OUT_SIZE,
    OUT_FEATURES,
    OUT_HEALTH,
    OUT_BUDGET,
} out_why;

typedef struct cand {
    lx_tspec t;
    const lx_model_info *info;
    const char *reason;
    lx_health health;
    int64_t tokens;
    bool exact;
    out_why out;
    const char *out_reason;
} cand;

typedef struct ctx {
    const lx_router *r;
    lx_route_scratch *sc;
    const lx_route_input *in;
    const lx_request *req;
    lx_plan *plan;
    int64_t est;
    int64_t reserve;
    size_t n;      /* candidates in c */
    size_t n_toks; /* entries in toks, lo, hi, countable, info */
    size_t reasons_cap; /* room in plan->reasons */
    bool nomem;
    lx_error fail; /* why decide() failed (scanner errors) */
    /* From here on nothing is cleared between decisions (CTX_CLEAR): an
     * entry is written whole before it is read (lx_rp_add, size_of). */
    cand c[MAX_CANDS];
    /* sizes per target looked at (the explanation lists them) */
    lx_route_tokens toks[MAX_CANDS * 2];
    int64_t lo[MAX_CANDS * 2], hi[MAX_CANDS * 2];
    bool countable[MAX_CANDS * 2];
    const lx_model_info *info[MAX_CANDS * 2]; /* lx_catalogue_find of the model */
} ctx;

/* The bytes of a ctx that start a decision at zero. The ctx (~7 KB) lives
 * in the lx_route_scratch and is reused: clearing only the head saves a
 * calloc and a memset per decision. */
#define CTX_CLEAR offsetof(ctx, c)

/* printf into the plan's arena. */
char *lx_rp_pf(ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lx_rp_reason(ctx *x, const char *s);
const char *lx_rp_spec(const lx_tspec *t, char *buf, size_t cap);
const char *lx_rp_mode_name(lx_privacy_mode m);
const char *lx_rp_types_str(ctx *x);
unsigned lx_rp_needed_features(const lx_request *req);
bool lx_rp_key_allows(const lx_key_cfg *k, const lx_tspec *t, const char *asked);
bool lx_rp_key_allows_auto(const lx_key_cfg *k);
const char *lx_rp_fit(ctx *x, const lx_tspec *t, out_why *why);
void lx_rp_add(ctx *x, const lx_tspec *t, const char *why);
void lx_rp_add_spec(ctx *x, const char *s, const char *why);
void lx_rp_add_locals(ctx *x, const char *why);
bool lx_rp_from_matches(ctx *x, const char *from, const lx_tspec *t);
bool lx_rp_rule_matches(ctx *x, const lx_route_rule *rr, bool explicit_model,
                        const char *asked_spec);
const char *lx_rp_rule_conditions(ctx *x, const lx_route_rule *rr);
void lx_rp_privacy_types(ctx *x);
void lx_rp_filter(ctx *x, cand *c);

#define REASON(x, ...) lx_rp_reason((x), lx_rp_pf((x), __VA_ARGS__))

#endif
