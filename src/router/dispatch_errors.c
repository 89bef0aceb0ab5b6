/*
 * dispatch_errors.c — what an attempt's error means for the job.
 *
 * Errors that cannot change on a retry are recognised from the provider's
 * own words, because every dialect says them differently:
 *   context length  OpenAI code/type context_length_exceeded or "maximum
 *                   context length"; Anthropic "prompt is too long"; Gemini
 *                   "exceeds the maximum number of tokens" / "input token
 *                   count"; Ollama and llama.cpp "context length" /
 *                   "context window" / "num_ctx"; the embedded engine's
 *                   LX_ERR_TOOBIG naming the model's context.
 *   content policy  OpenAI content_policy_violation / content_filter;
 *                   Anthropic "content filtering policy"; Gemini SAFETY /
 *                   "blocked"; Ollama "content policy".
 * Everything else goes by code and HTTP status:
 *   429, 408, 5xx, connection errors (LX_ERR_IO)  retry on the same target;
 *   timeouts, protocol errors, a request the target cannot encode   fail
 *   over at once (a silent or broken route is not tried again);
 *   other 4xx   end the job (the request itself is wrong).
 * An error inside a stream (no HTTP status) is judged by its type: rate
 * limit, overloaded, server or unavailable errors retry, others end.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "router/dispatch_int.h"

/* Case-insensitive substring search. */
static bool has(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static bool either_has(const lx_error *e, const char *needle)
{
    return has(e->type, needle) || has(e->message, needle);
}

bool lx_dx_is_context_error(const lx_error *e)
{
    if (!e)
        return false;
    if (e->code == LX_ERR_TOOBIG)
        return has(e->message, "context");
    if (e->code != LX_ERR_UPSTREAM && e->code != LX_ERR_INVALID)
        return false;
    if (e->http_status >= 500 || e->http_status == 429)
        return false;
    static const char *const words[] = {
        "context_length_exceeded", "maximum context length",
        "context length",          "context window",
        "prompt is too long",      "exceeds the maximum number of tokens",
        "input token count",       "num_ctx",
        "too many tokens",         "maximum prompt length",
        "string_above_max_length",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (either_has(e, words[i]))
            return true;
    return false;
}

bool lx_dx_is_policy_error(const lx_error *e)
{
    if (!e || (e->code != LX_ERR_UPSTREAM && e->code != LX_ERR_BLOCKED))
        return false;
    if (e->http_status >= 500 || e->http_status == 429)
        return false;
    static const char *const words[] = {
        "content_policy", "content policy",   "content_filter", "content filter",
        "safety system",  "blockreason",      "safety reasons", "prohibited_content",
        "responsible ai", "filtering policy",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (either_has(e, words[i]))
            return true;
    return !strcmp(e->type, "SAFETY");
}

/* A connection that never got anywhere: nothing answers at that address. */
static bool connection_level(const lx_error *e)
{
    if (has(e->message, "in the middle"))
        return false; /* it answered, then the connection broke */
    static const char *const words[] = {
        "resolve",          "refused",           "cannot connect", "could not connect",
        "couldn't connect", "failed to connect", "unreachable",    "connect timeout",
        "connection reset", "reset by peer",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (has(e->message, words[i]))
            return true;
    return false;
}

static bool transient_type(const char *t)
{
    static const char *const words[] = {"rate_limit",         "overloaded",  "server_error",
                                        "api_error",          "unavailable", "internal",
                                        "resource_exhausted", "timeout",     "service"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (has(t, words[i]))
            return true;
    return false;
}

lx_dx_verdict lx_dx_classify(const lx_error *e)
{
    lx_dx_verdict v = {.cls = LX_DX_FATAL, .verdict = true};
    if (!e) {
        v.cls = LX_DX_FAILOVER;
        return v;
    }
    switch (e->code) {
    case LX_ERR_CANCELLED:
        v.cls = LX_DX_CANCELLED;
        v.verdict = false;
        return v;
    case LX_ERR_TIMEOUT:
        v.cls = LX_DX_FAILOVER;
        v.breaker_failure = true;
        v.unreachable = has(e->message, "connect");
        return v;
    case LX_ERR_IO:
        v.cls = LX_DX_RETRY;
        v.breaker_failure = true;
        v.unreachable = connection_level(e);
        return v;
    case LX_ERR_PROTO:
        v.cls = LX_DX_FAILOVER;
        v.breaker_failure = true;
        return v;
    case LX_ERR_TOOBIG:
        if (lx_dx_is_context_error(e)) {
            v.cls = LX_DX_CONTEXT;
            return v;
        }
        v.cls = LX_DX_FAILOVER; /* a cap of ours or the target's: another may take it */
        v.verdict = false;
        return v;
    case LX_ERR_UNSUPPORTED:
    case LX_ERR_INVALID:
    case LX_ERR_CONFIG:
    case LX_ERR_AUTH:
    case LX_ERR_NOTFOUND:
        /* this target cannot be asked (encoding, a missing key or model
         * file): not the provider's health, and another target may do */
        if (lx_dx_is_context_error(e)) {
            v.cls = LX_DX_CONTEXT;
            return v;
        }
        v.cls = LX_DX_FAILOVER;
        v.verdict = false;
        return v;
    case LX_ERR_UPSTREAM:
        break;
    case LX_ERR_UNAVAILABLE:
        v.cls = LX_DX_FAILOVER;
        v.breaker_failure = true;
        return v;
    case LX_ERR_BLOCKED:
        v.cls = LX_DX_POLICY;
        return v;
    default: /* NOMEM, INTERNAL, ... */
        v.cls = LX_DX_FATAL;
        v.verdict = false;
        return v;
    }
    /* the provider answered with an error */
    if (lx_dx_is_context_error(e)) {
        v.cls = LX_DX_CONTEXT;
        return v;
    }
    if (lx_dx_is_policy_error(e)) {
        v.cls = LX_DX_POLICY;
        return v;
    }
    int hs = e->http_status;
    if (hs == 429 || hs == 408 || hs >= 500) {
        v.cls = LX_DX_RETRY;
        v.breaker_failure = true;
        return v;
    }
    if (hs >= 400) {
        v.cls = LX_DX_FATAL;
        return v;
    }
    /* an error event inside a stream */
    if (!e->type[0] || transient_type(e->type)) {
        v.cls = LX_DX_RETRY;
        v.breaker_failure = true;
        return v;
    }
    v.cls = LX_DX_FATAL;
    return v;
}
