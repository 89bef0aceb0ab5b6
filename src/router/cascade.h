/*
 * cascade.h — "local first, validate, escalate": is a local draft good
 * enough to give to the caller?
 *
 * A draft fails when: it is empty (no text and no tool call); it stopped on
 * the length limit; it is a refusal ("I can't help with", "As an AI", ...
 * at the start of the answer); the request asked for JSON (format json or
 * json_schema) and the text is not valid JSON (with a schema: not an
 * object/array of the requested top-level type); or the mean token
 * log-probability (from the engine's TEXT events) is below
 * routing.cascade_min_logprob. Pure, thread-safe.
 */
#ifndef LX_ROUTER_CASCADE_H
#define LX_ROUTER_CASCADE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/types.h"

typedef struct lx_cascade_verdict {
    bool pass;
    const char *reason;   /* static text: "empty answer", "refusal", "invalid JSON",
                             "low confidence (mean logprob -2.31 < -1.50)", "hit length limit",
                             "ok" */
    double mean_logprob;  /* 0 when unknown */
    char detail[96];      /* reason with numbers */
} lx_cascade_verdict;

/* logprob_sum / n_tokens: sums over the TEXT events of the draft (n_tokens 0
 * = unknown, then the confidence test is skipped). */
void lx_cascade_check(const lx_routing_cfg *cfg, const lx_request *req, const lx_response *draft,
                      double logprob_sum, int64_t n_tokens, lx_cascade_verdict *out);

#endif
