/*
 * cascade.h — "local first, validate, escalate": is a local draft good
 * enough to give to the caller?
 *
 * A draft fails when: it is empty (no text and no tool call); it stopped on
 * the length limit; it is a refusal ("I can't help with", "As an AI", ...
 * at the start of the answer); a tool call's arguments are not a JSON
 * object or it names a tool the request did not offer ("invalid tool
 * call"); the request asked for JSON (format json or
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
                             "low confidence", "hit length limit", "invalid tool call",
                             "ok"; `detail` has the numbers */
    double mean_logprob;  /* 0 when unknown */
    char detail[96];      /* reason with numbers */
} lx_cascade_verdict;

/* logprob_sum / n_tokens: sums over the TEXT events of the draft (n_tokens 0
 * = unknown, then the confidence test is skipped). cfg NULL: threshold
 * -1.5; req NULL: no format or tool checks; draft NULL: "empty answer". */
void lx_cascade_check(const lx_routing_cfg *cfg, const lx_request *req, const lx_response *draft,
                      double logprob_sum, int64_t n_tokens, lx_cascade_verdict *out);

#endif
