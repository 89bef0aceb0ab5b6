/*
 * types.h — the provider-neutral request, response and stream events.
 *
 * Every front end (CLI, HTTP dialects) decodes into an lx_request; every back
 * end (wire codecs, the embedded engine) answers with a sequence of lx_events
 * or an lx_response. No type here knows any wire format.
 *
 * Ownership: an lx_request and an lx_response each own one arena; every
 * string and array they point to lives in it, and lx_request_free() /
 * lx_response_free() release everything at once. Strings are NUL-terminated
 * UTF-8. JSON values that are passed through (tool argument objects, JSON
 * Schemas) are kept as compact JSON text.
 *
 * Conversation shape:
 *   - system text is a message with role SYSTEM (several allowed);
 *   - an assistant turn holds TEXT, THINKING and TOOL_CALL parts in order;
 *   - tool results are TOOL messages holding one or more TOOL_RESULT parts,
 *     whose `id` names the call they answer (NULL when the dialect has no
 *     ids: then `name` and order match them, as Gemini and Ollama do).
 *
 * Usage counters never overlap: total input = input + cache_read +
 * cache_write; total output = output + reasoning.
 */
#ifndef LX_CORE_TYPES_H
#define LX_CORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/status.h"

typedef enum { LX_ROLE_SYSTEM, LX_ROLE_USER, LX_ROLE_ASSISTANT, LX_ROLE_TOOL } lx_role;

typedef enum {
    LX_PART_TEXT,        /* text */
    LX_PART_IMAGE,       /* url, or data (base64) + media_type */
    LX_PART_TOOL_CALL,   /* id (may be NULL), name, arguments (JSON object text) */
    LX_PART_TOOL_RESULT, /* id (call answered; may be NULL), name (may be NULL), text, is_error */
    LX_PART_THINKING,    /* text, signature (may be NULL); redacted: text NULL, data set */
} lx_part_kind;

typedef struct lx_part {
    lx_part_kind kind;
    char *text;
    char *url;
    char *data;
    char *media_type;
    char *id;
    char *name;
    char *arguments;
    char *signature;
    bool is_error;
} lx_part;

typedef struct lx_message {
    lx_role role;
    lx_part *parts;
    size_t n_parts, cap_parts;
} lx_message;

typedef struct lx_tool {
    char *name;
    char *description; /* may be NULL */
    char *parameters;  /* JSON Schema text; NULL means {"type":"object"} */
} lx_tool;

typedef enum {
    LX_TOOL_CHOICE_UNSET = 0,
    LX_TOOL_CHOICE_AUTO,
    LX_TOOL_CHOICE_NONE,
    LX_TOOL_CHOICE_REQUIRED, /* any tool */
    LX_TOOL_CHOICE_NAMED,    /* the tool `name` */
} lx_tool_choice_kind;

typedef struct lx_tool_choice {
    lx_tool_choice_kind kind;
    char *name;
    bool has_parallel;
    bool parallel; /* parallel tool calls allowed */
} lx_tool_choice;

typedef enum { LX_FORMAT_TEXT = 0, LX_FORMAT_JSON, LX_FORMAT_JSON_SCHEMA } lx_format_kind;

typedef struct lx_format {
    lx_format_kind kind;
    char *name;   /* schema name (OpenAI json_schema.name), may be NULL */
    char *schema; /* JSON Schema text for LX_FORMAT_JSON_SCHEMA */
    bool strict;
} lx_format;

typedef struct lx_sampling {
    bool has_temperature, has_top_p, has_top_k, has_seed;
    double temperature;
    double top_p;
    int top_k;
    int64_t seed;
    int64_t max_tokens; /* 0 = not set */
    char **stop;
    size_t n_stop;
} lx_sampling;

typedef struct lx_request {
    lx_arena *arena;
    char *model; /* as asked: "provider/model", alias, "auto" or a bare name */
    lx_message *messages;
    size_t n_messages, cap_messages;
    lx_tool *tools;
    size_t n_tools, cap_tools;
    lx_tool_choice tool_choice;
    lx_sampling sampling;
    lx_format format;
    bool stream;
    bool include_usage;      /* OpenAI stream_options.include_usage */
    int64_t thinking_budget; /* reasoning tokens allowed; 0 = off */
    int64_t num_ctx;         /* context window the caller asked for (Ollama
                                options.num_ctx); 0 = not set */
    char *user;              /* end-user id, may be NULL */
} lx_request;

typedef enum {
    LX_FINISH_NONE = 0,
    LX_FINISH_STOP,
    LX_FINISH_LENGTH,
    LX_FINISH_TOOL_CALLS,
    LX_FINISH_CONTENT_FILTER,
    LX_FINISH_ERROR,
    LX_FINISH_OTHER,
} lx_finish;

typedef struct lx_usage {
    int64_t input;       /* uncached input tokens */
    int64_t cache_read;  /* input tokens read from a prompt cache */
    int64_t cache_write; /* input tokens written to a prompt cache */
    int64_t output;      /* visible output tokens (excluding reasoning) */
    int64_t reasoning;   /* reasoning / thinking tokens */
} lx_usage;

typedef struct lx_response {
    lx_arena *arena;
    char *id;
    char *model;    /* the model that actually answered */
    char *provider; /* the provider that answered, may be NULL */
    lx_part *parts; /* assistant content, in order */
    size_t n_parts, cap_parts;
    lx_finish finish;
    char *stop_sequence; /* which stop string ended it, may be NULL */
    lx_usage usage;
    bool has_usage;
    int64_t created; /* unix seconds */
} lx_response;

/* ---- stream events ------------------------------------------------------
 * Order of a stream: START; then TEXT / THINKING / TOOL_* / USAGE in any
 * order; then exactly one terminal event, FINISH or ERROR. For each tool call
 * i: TOOL_START(i) < TOOL_ARGS(i)* < TOOL_END(i). USAGE carries the running
 * totals (the latest USAGE replaces earlier ones); decoders sum what their
 * provider splits across events. FINISH comes after the last USAGE.
 * Every pointer in an event is borrowed: valid only during the callback. */
typedef enum {
    LX_EV_START,     /* id, model (either may be NULL) */
    LX_EV_TEXT,      /* text, len; n_tokens/logprob when the producer knows them */
    LX_EV_THINKING,  /* text, len; or signature alone */
    LX_EV_TOOL_START,/* index, id (may be NULL), name */
    LX_EV_TOOL_ARGS, /* index, text, len: a fragment of the arguments JSON */
    LX_EV_TOOL_END,  /* index */
    LX_EV_USAGE,     /* usage */
    LX_EV_FINISH,    /* finish, text = stop sequence (may be NULL) */
    LX_EV_ERROR,     /* error */
} lx_event_kind;

typedef struct lx_event {
    lx_event_kind kind;
    const char *id;
    const char *model;
    const char *text;
    size_t len;
    int index; /* tool call ordinal in this response, from 0 */
    const char *name;
    const char *signature;
    lx_usage usage;
    lx_finish finish;
    const lx_error *error;
    /* TEXT from the embedded engine: how many tokens this chunk holds and the
     * sum of their log-probabilities (natural log); n_tokens 0 = unknown. */
    int n_tokens;
    double logprob;
} lx_event;

/* Receives events. Returning anything but LX_OK asks the producer to stop
 * (the caller went away); the producer then emits nothing more. */
typedef lx_status (*lx_event_fn)(void *ud, const lx_event *ev);

/* An HTTP header (or a CLI --header) as seen by the router: name in lower
 * case, both borrowed from the caller. */
typedef struct lx_header {
    const char *name;
    const char *value;
} lx_header;

/* Value of header `name` (lower case), NULL when absent. */
const char *lx_header_get(const lx_header *h, size_t n, const char *name);

/* ---- construction ------------------------------------------------------- */

/* New empty request with its own arena; NULL on out of memory. Caller frees
 * with lx_request_free(). */
lx_request *lx_request_new(void);
void lx_request_free(lx_request *r);

/* Appends a message / part / tool. Returned pointers stay valid until the
 * next append to the same array; NULL on out of memory. */
lx_message *lx_request_add_message(lx_request *r, lx_role role);
lx_part *lx_message_add_part(lx_request *r, lx_message *m, lx_part_kind kind);
lx_tool *lx_request_add_tool(lx_request *r);
/* Adds a stop string (copied); LX_ERR_NOMEM on failure. */
lx_status lx_request_add_stop(lx_request *r, const char *s);
/* Convenience: a message with one text part; the text is copied. */
lx_status lx_request_add_text(lx_request *r, lx_role role, const char *text);

/* The TOOL_CALL part a TOOL_RESULT part `res` (in message `mi`, the
 * `ordinal`-th result of that message) answers: the call with the same id in
 * an earlier assistant turn, or, when the result has no id (Gemini, Ollama),
 * the `ordinal`-th call of the last assistant turn before it. NULL if none. */
const lx_part *lx_request_find_call(const lx_request *r, size_t mi, size_t ordinal,
                                    const lx_part *res);
/* The name of the latest tool call with this id in r's assistant turns (it
 * points into r's arena), or NULL: decoders use it to name a tool result of
 * a dialect whose results carry only the call id. */
char *lx_request_call_name(const lx_request *r, const char *id);

/* Deep copy into a new arena; NULL on out of memory. */
lx_request *lx_request_clone(const lx_request *r);


lx_response *lx_response_new(void);
void lx_response_free(lx_response *r);
lx_part *lx_response_add_part(lx_response *r, lx_part_kind kind);

/* All TEXT parts of a response joined (arena-owned); "" when none. */
const char *lx_response_text(lx_response *r);

/* ---- names -------------------------------------------------------------- */
const char *lx_role_name(lx_role r);             /* "system", ...  */
const char *lx_finish_name(lx_finish f);         /* "stop", "length", ... */
const char *lx_event_kind_name(lx_event_kind k); /* "start", "text", ... */

/* ---- usage -------------------------------------------------------------- */
int64_t lx_usage_total_input(const lx_usage *u);
int64_t lx_usage_total_output(const lx_usage *u);

/* ---- events <-> response ------------------------------------------------
 * A collector is an lx_event_fn that builds an lx_response from a stream,
 * for callers that asked for a whole answer. */
typedef struct lx_collect_tool {
    int index;   /* event index */
    size_t part; /* position in resp->parts */
    lx_buf args;
} lx_collect_tool;

typedef struct lx_collector {
    lx_response *resp; /* owned by the collector until taken */
    lx_error error;    /* set when an ERROR event arrived */
    bool finished;     /* FINISH or ERROR seen */
    bool failed;       /* ERROR seen */
    /* private */
    lx_buf acc;        /* open TEXT or THINKING run */
    int acc_kind;      /* 0 none, 1 text, 2 thinking */
    char *think_sig;
    lx_collect_tool *tools;
    size_t n_tools, cap_tools;
} lx_collector;

lx_status lx_collector_init(lx_collector *c);
lx_status lx_collector_event(void *collector, const lx_event *ev);
/* Takes the built response (caller frees); NULL if not finished cleanly. */
lx_response *lx_collector_take(lx_collector *c);
void lx_collector_free(lx_collector *c);

/* Replays a whole response as a stream of events (START ... FINISH). Stops
 * early and returns the sink's status when the sink refuses an event. */
lx_status lx_response_replay(const lx_response *r, lx_event_fn fn, void *ud);

#endif
