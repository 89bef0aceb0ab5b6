/*
 * callids.h — tool-call ids for dialects that need them (OpenAI, Anthropic).
 *
 * A neutral conversation may come from a dialect without ids (Gemini,
 * Ollama). Encoding it for a dialect that links results to calls by id, each
 * call keeps its id or gets a generated one (PREFIX<n>), and each result is
 * given the id of the call it answers: the call with its id if it has one,
 * else the first unanswered call of the same name, else the first unanswered
 * call. Walk the conversation in order: calls before the results that
 * answer them.
 *
 * Ownership: every id returned lives until lx_call_ids_free.
 */
#ifndef LX_PROTO_CALLIDS_H
#define LX_PROTO_CALLIDS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/types.h"

typedef struct lx_call_slot lx_call_slot;

typedef struct lx_call_ids {
    lx_arena *a;
    const char *prefix;
    lx_call_slot *v;
    size_t n;
    int next;
} lx_call_ids;

/* prefix: "call_", "toolu_lx", ... (a static string). LX_ERR_NOMEM on failure. */
lx_status lx_call_ids_init(lx_call_ids *c, const char *prefix);
void lx_call_ids_free(lx_call_ids *c);

/* Id for a TOOL_CALL part; NULL on out of memory. */
const char *lx_call_ids_for_call(lx_call_ids *c, const lx_part *call);
/* Id for a TOOL_RESULT part; NULL on out of memory. */
const char *lx_call_ids_for_result(lx_call_ids *c, const lx_part *result);

/* A fresh id for the wire, PREFIX + 24 alphanumerics ("chatcmpl-…",
 * "msg_…", "toolu_…"): unique per process and time, not secret.
 * Thread-safe. */
void lx_wire_id(char *buf, size_t cap, const char *prefix);

#endif
