/*
 * complexity.h — how hard a prompt is: the signal the hybrid router uses to
 * send a request to a small local model or to a strong hosted one.
 *
 * Design: a transparent linear model over hand-made features, squashed by a
 * logistic function into a score in [0,1]:
 *
 *     score = 1 / (1 + exp(-(bias + sum_i w_i * x_i)))
 *
 * Features (docs/complexity.md lists every cue and weight):
 *   - cue-word families, matched case-insensitively on whole words (ASCII;
 *     a trailing '*' in the table is a prefix match; phrases of up to four
 *     words): simple-task imperatives ("classify", "translate", "extract",
 *     "fix the typo", ...) push down; reasoning, proof, design, trade-off,
 *     subtle-debugging, optimisation and build-from-spec cues push up;
 *   - requested output size ("in one sentence" down; "detailed", "in 2000
 *     words" up);
 *   - prompt length (log of the word count), constraints ("must", "should",
 *     bullet lines), code (lines that look like code, log of their count),
 *     math notation, question count, multi-part structure (numbered items);
 *   - for a whole request: system prompt length and conversation length.
 * When the prompt opens with a simple-task instruction and then pastes
 * material (after a blank line, a line ending in ':', or a list), the
 * material's upward cues and its size/structure features are discounted.
 *
 * Each feature's signed contribution to the logit is reported in `features`
 * (the bias is not listed), so a routing decision can be explained. `task`
 * names the dominant cue family ("classification", "math", "planning", ...;
 * "general" when no cue fired).
 *
 * Cost: one pass over the bytes, no allocation, no global mutable state:
 * pure and thread-safe. Only the first LX_COMPLEXITY_SCAN_MAX bytes are
 * scanned for words and structure; the length feature still sees the whole
 * length, so a 1 MB prompt costs the same as a 64 KB one.
 *
 * Threshold: score >= LX_COMPLEXITY_THRESHOLD means "send to the cloud".
 */
#ifndef LX_ROUTER_COMPLEXITY_H
#define LX_ROUTER_COMPLEXITY_H

#include <stddef.h>

#include "core/status.h"
#include "core/types.h"

#define LX_COMPLEXITY_THRESHOLD 0.55
#define LX_COMPLEXITY_SCAN_MAX (64 * 1024)
#define LX_COMPLEXITY_MAX_FEATURES 16

typedef struct {
    double score;     /* in [0,1]; >= LX_COMPLEXITY_THRESHOLD: cloud */
    const char *task; /* "classification", "math", "planning", "debugging", ... (static) */
    int n_features;
    struct {
        const char *name;                   /* static string */
        double weight;                      /* signed contribution to the logit */
    } features[LX_COMPLEXITY_MAX_FEATURES]; /* the features that fired */
} lx_complexity;

/* Scores `len` bytes of `text` (any bytes; need not be NUL-terminated; NULL
 * with len 0 is the empty prompt). Never fails; fills every field of *out. */
void lx_complexity_score(const char *text, size_t len, lx_complexity *out);

/* Scores a request: the TEXT parts of its last USER message, plus the total
 * length of its SYSTEM text and the number of earlier turns as features.
 * LX_ERR_INVALID if r or out is NULL or the request has no user message
 * (then *out, when given, holds the score of the empty prompt). */
lx_status lx_complexity_of_request(const lx_request *r, lx_complexity *out);

#endif
