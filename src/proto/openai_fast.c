/*
 * openai_fast.c — strict readers for what makes up nearly all OpenAI Chat
 * Completions answers (see openai.h): the stream chunk shape below, and the
 * whole response (described above lx_openai_fast_response at the end).
 *
 * Chunks accepted, in any key order, with any JSON whitespace, each key at
 * most once:
 *
 *   { "id": string, "object": string, "created": integer, "model": string,
 *     "system_fingerprint": string|null, "service_tier": string|null,
 *     "usage": null | usage (see below), "obfuscation": string,
 *     "choices": null | [] | [ { "index": 0, "logprobs": null,
 *                         "finish_reason": string|null,
 *                         "delta": { "role": string, "content": string|null,
 *                                    "refusal": null,
 *                                    "reasoning_content": string|null,
 *                                    "reasoning": string|null,
 *                                    "tool_calls": null | [] | [ { "index":
 *                                       integer, "id": string|null, "type":
 *                                       string, "function": null | {
 *                                       "name": string|null, "arguments":
 *                                       string|null } } ] } } ] }
 *
 * Everything else — another key, another type, a second choice, an escape
 * in a key, a number that is not a plain integer, a lone surrogate, \u0000,
 * bad UTF-8, a control character — is "not handled", and the caller parses
 * the chunk with jansson as before. So this reader only has to be right
 * about what it accepts: every accepted text is valid JSON for jansson
 * (json_loadb, flags 0) and the strings it returns are the bytes jansson
 * would hold. The rules mirror jansson 2.14: whitespace is space, tab, LF,
 * CR; strings may not hold bytes below 0x20; escapes are \" \\ \/ \b \f \n
 * \r \t and \uXXXX (either case), a high surrogate must be followed by an
 * escaped low one, a low one alone is refused; raw bytes must be strict
 * UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF);
 * integers have no leading zero (at most 18 digits here, so they always
 * fit); the document ends after the object.
 */
#include <stdint.h>
#include <string.h>

#include "core/swar.h"
#include "core/utf8.h"
#include "proto/openai.h"

typedef struct {
    const unsigned char *p, *end;
    char *out; /* next free byte of the caller's buffer */
} rd;

/* Whitespace is rare between tokens of the chunks seen in practice: the
 * check for none is inlined everywhere, the loop is not. */
static void ws_run(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static inline __attribute__((always_inline)) void ws(rd *r)
{
    if (r->p<r->end && * r->p> ' ')
        return;
    ws_run(r);
}

/* Skips whitespace, then consumes c if it is next. */
static inline __attribute__((always_inline)) bool take(rd *r, char c)
{
    ws(r);
    if (r->p < r->end && *r->p == (unsigned char)c) {
        r->p++;
        return true;
    }
    return false;
}

static bool null_lit(rd *r)
{
    if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0) {
        r->p += 4;
        return true;
    }
    return false;
}

/* Length of the strict UTF-8 sequence at p (lead byte >= 0x80), 0 if bad. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}


/* A string value (after whitespace); its decoded bytes, NUL-terminated, go
 * to r->out and *val / *len point at them. Decoded text is never longer
 * than its quoted form, so the caller's n + 1 bytes always suffice. */
static bool string(rd *r, const char **val, size_t *len)
{
    ws(r);
    if (r->p >= r->end || *r->p != '"')
        return false;
    r->p++;
    char *o = r->out;
    const unsigned char *p = r->p, *end = r->end;
    for (;;) {
        while (end - p >= 8) { /* eight bytes at a time */
            uint64_t x, m;
            memcpy(&x, p, 8);
            m = lx_swar_json_special(x);
            memcpy(o, p, 8); /* o never runs ahead of p: the output fits */
            if (!m) {
                o += 8;
                p += 8;
                continue;
            }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* the lowest flag is the first special byte (a borrow only
             * reaches bytes above one that is special itself) */
            size_t i = (size_t)__builtin_ctzll(m) >> 3;
            o += i;
            p += i;
#endif
            break;
        }
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        if (p >= end)
            return false;
        unsigned char c = *p;
        if (c == '"') {
            p++;
            break;
        }
        if (c < 0x20)
            return false;
        if (c >= 0x80) {
            size_t k = utf8_seq(p, end);
            if (!k)
                return false;
            memcpy(o, p, k);
            o += k;
            p += k;
            continue;
        }
        /* backslash */
        if (end - p < 2)
            return false;
        char e = (char)p[1];
        p += 2;
        switch (e) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '/':
            *o++ = '/';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            if (end - p < 4)
                return false;
            int v = lx_hex4((const char *)p);
            p += 4;
            if (v <= 0 || (v >= 0xDC00 && v <= 0xDFFF))
                return false; /* \u0000 or a lone low surrogate */
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return false;
                int lo = lx_hex4((const char *)p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return false;
                p += 6;
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            }
            o = lx_utf8_put(o, (unsigned)v);
            break;
        }
        default:
            return false;
        }
    }
    *o = '\0';
    *val = r->out;
    *len = (size_t)(o - r->out);
    r->out = o + 1;
    r->p = p;
    return true;
}

static bool string_or_null(rd *r, const char **val, size_t *len)
{
    ws(r);
    if (null_lit(r)) {
        *val = NULL;
        *len = 0;
        return true;
    }
    return string(r, val, len);
}

/* An integer jansson reads as one: -?(0|[1-9][0-9]*), at most 18 digits
 * here (so it always fits), its value in *v; what follows is checked by the
 * caller (a ',' or '}' must come next, so "01", "1.5", "1e3" and a 19th
 * digit are all refused there). */
static bool int_value(rd *r, int64_t *v)
{
    ws(r);
    bool neg = r->p < r->end && *r->p == '-';
    if (neg)
        r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return false;
    int64_t x = 0;
    if (*r->p == '0')
        r->p++;
    else
        for (int i = 0; i < 18 && r->p < r->end && *r->p >= '0' && *r->p <= '9'; i++)
            x = x * 10 + (*r->p++ - '0');
    *v = neg ? -x : x;
    return true;
}

static bool integer(rd *r)
{
    int64_t v;
    return int_value(r, &v);
}

/* An integer or null (null reads as 0, as lx_json_opt_int leaves it). */
static bool int_or_null(rd *r, int64_t *v)
{
    ws(r);
    *v = 0;
    return null_lit(r) || int_value(r, v);
}

static bool null_value(rd *r)
{
    ws(r);
    return null_lit(r);
}

/* A key among `names` (plain ASCII without '"' or '\\'), with its length. */
typedef struct {
    char s[32]; /* NUL-padded: always 8-byte words to read */
    size_t len;
} kname;
#define KN(lit)                                                                                    \
    {                                                                                              \
        lit, sizeof lit - 1                                                                        \
    }

/* Whether k[0..len) equals s[0..len) (room bytes readable at k, s padded
 * to whole 8-byte words): 8 bytes at a time where both may be read. */
static inline bool same_bytes(const unsigned char *k, size_t room, const char *s, size_t len)
{
    size_t j = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; j + 8 <= room; j += 8) {
        uint64_t a, b;
        memcpy(&a, k + j, 8);
        memcpy(&b, s + j, 8);
        if (j + 8 >= len) { /* the last word: only len - j bytes count */
            uint64_t mask = len - j == 8 ? ~0ULL : (1ULL << 8 * (len - j)) - 1;
            return ((a ^ b) & mask) == 0;
        }
        if (a != b)
            return false;
    }
#endif
    for (; j < len; j++)
        if (k[j] != (unsigned char)s[j])
            return false;
    return true;
}

/* A key among `names`, tried from names[start] on (the one after the
 * previous key: members mostly come in table order); its index, or -1. A
 * key matches when its bytes are
 * the name's and the closing quote follows; any other key (escapes,
 * control or non-ASCII bytes included) matches none, so it is not
 * handled. */
static inline __attribute__((always_inline)) int key(rd *r, const kname *names, int n, int start)
{
    ws(r);
    if (r->p >= r->end || *r->p != '"')
        return -1;
    const unsigned char *k = r->p + 1;
    size_t room = (size_t)(r->end - k);
    for (int t = 0, i = start; t < n; t++, i = i + 1 == n ? 0 : i + 1) {
        const char *s = names[i].s;
        size_t len = names[i].len;
        if (room <= len || k[0] != (unsigned char)s[0] || k[len] != '"')
            continue;
        if (same_bytes(k, room, s, len)) {
            r->p = k + len + 1;
            return take(r, ':') ? i : -1;
        }
    }
    return -1;
}

/* Walks the members of an object whose '{' was consumed: for each key,
 * `member` reads the value. Duplicate keys are refused. */
#define OBJECT(r, names, n, member_stmt)                                                           \
    do {                                                                                           \
        unsigned seen_ = 0;                                                                        \
        int next_ = 0;                                                                             \
        if (!take(r, '}')) {                                                                       \
            for (;;) {                                                                             \
                int k_ = key(r, names, n, next_);                                                  \
                if (k_ < 0 || (seen_ & 1u << k_))                                                  \
                    return false;                                                                  \
                seen_ |= 1u << k_;                                                                 \
                next_ = k_ + 1 == n ? 0 : k_ + 1;                                                  \
                int K = k_;                                                                        \
                member_stmt;                                                                       \
                if (take(r, '}'))                                                                  \
                    break;                                                                         \
                if (!take(r, ','))                                                                 \
                    return false;                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* ---- usage ----------------------------------------------------------------
 * {"prompt_tokens", "completion_tokens", "total_tokens",
 *  "prompt_tokens_details": null | {"cached_tokens", "audio_tokens"},
 *  "completion_tokens_details": null | {"reasoning_tokens", "audio_tokens",
 *     "accepted_prediction_tokens", "rejected_prediction_tokens"},
 *  "prompt_cache_hit_tokens", "prompt_cache_miss_tokens" (DeepSeek)}, each
 * an integer or null. The four counters lx_openai_usage_from reads must not
 * be negative (it refuses those); the others it ignores. The result is what
 * lx_openai_usage_from computes. */

static bool counter(rd *r, int64_t *v)
{
    return int_or_null(r, v) && *v >= 0;
}

static const kname pdetail_keys[] = {KN("cached_tokens"), KN("audio_tokens")};
static const kname cdetail_keys[] = {KN("reasoning_tokens"), KN("audio_tokens"),
                                     KN("accepted_prediction_tokens"),
                                     KN("rejected_prediction_tokens")};

/* A details object or null; *v gets its first key's counter (0 if absent). */
static bool details(rd *r, const kname *names, int n, int64_t *v)
{
    *v = 0;
    if (null_value(r))
        return true;
    if (!take(r, '{'))
        return false;
    OBJECT(r, names, n, {
        int64_t x;
        if (K == 0 ? !counter(r, v) : !int_or_null(r, &x))
            return false;
    });
    return true;
}

static const kname usage_keys[] = {
    KN("prompt_tokens"),           KN("completion_tokens"),         KN("total_tokens"),
    KN("prompt_tokens_details"),   KN("completion_tokens_details"), KN("prompt_cache_hit_tokens"),
    KN("prompt_cache_miss_tokens")};

/* The usage value: null (*has false) or the object above. */
static bool usage(rd *r, bool *has, lx_usage *u)
{
    int64_t prompt = 0, completion = 0, cached = 0, reasoning = 0, x;
    memset(u, 0, sizeof *u);
    *has = false;
    if (null_value(r))
        return true;
    if (!take(r, '{'))
        return false;
    OBJECT(r, usage_keys, 7, {
        bool ok;
        if (K == 0)
            ok = counter(r, &prompt);
        else if (K == 1)
            ok = counter(r, &completion);
        else if (K == 3)
            ok = details(r, pdetail_keys, 2, &cached);
        else if (K == 4)
            ok = details(r, cdetail_keys, 4, &reasoning);
        else
            ok = int_or_null(r, &x);
        if (!ok)
            return false;
    });
    if (cached > prompt)
        cached = prompt;
    if (reasoning > completion)
        reasoning = completion;
    u->input = prompt - cached;
    u->cache_read = cached;
    u->output = completion - reasoning;
    u->reasoning = reasoning;
    *has = true;
    return true;
}

/* ---- stream chunk ------------------------------------------------------- */

static const kname frag_fn_keys[] = {KN("name"), KN("arguments")};

/* The function of a fragment: null or {name?, arguments?}, both string|null. */
static bool frag_function(rd *r, lx_openai_fast_chunk *c)
{
    size_t n;
    if (null_value(r))
        return true;
    if (!take(r, '{'))
        return false;
    OBJECT(r, frag_fn_keys, 2, {
        if (!(K == 0 ? string_or_null(r, &c->tool_name, &n)
                     : string_or_null(r, &c->tool_args, &c->tool_args_len)))
            return false;
    });
    return true;
}

static const kname frag_keys[] = {KN("index"), KN("id"), KN("type"), KN("function")};

/* delta.tool_calls: null, [] or [one fragment]. */
static bool fragment(rd *r, lx_openai_fast_chunk *c)
{
    const char *v;
    size_t n;
    if (null_value(r))
        return true;
    if (!take(r, '['))
        return false;
    if (take(r, ']'))
        return true;
    if (!take(r, '{'))
        return false;
    c->has_tool = true;
    c->tool_name = ""; /* until a name key says otherwise */
    OBJECT(r, frag_keys, 4, {
        bool ok;
        if (K == 0)
            ok = c->tool_has_index = int_value(r, &c->tool_index);
        else if (K == 1)
            ok = string_or_null(r, &c->tool_id, &n);
        else if (K == 2)
            ok = string(r, &v, &n);
        else
            ok = frag_function(r, c);
        if (!ok)
            return false;
    });
    return take(r, ']');
}

static const kname delta_keys[] = {KN("role"),      KN("content"),
                                   KN("refusal"),   KN("reasoning_content"),
                                   KN("reasoning"), KN("tool_calls")};

static bool delta(rd *r, lx_openai_fast_chunk *c)
{
    if (!take(r, '{'))
        return false;
    const char *v, *rc = NULL, *rs = NULL;
    size_t n, rc_len = 0, rs_len = 0;
    bool has_rc = false;
    OBJECT(r, delta_keys, 6, {
        bool ok = false;
        if (K == 0)
            ok = string(r, &v, &n);
        else if (K == 1)
            ok = string_or_null(r, &c->content, &c->content_len);
        else if (K == 2)
            ok = null_value(r);
        else if (K == 3)
            ok = has_rc = string_or_null(r, &rc, &rc_len);
        else if (K == 4)
            ok = string_or_null(r, &rs, &rs_len);
        else
            ok = fragment(r, c);
        if (!ok)
            return false;
    });
    /* as the jansson path: `reasoning` only when `reasoning_content` is absent */
    c->thinking = has_rc ? rc : rs;
    c->thinking_len = has_rc ? rc_len : rs_len;
    return true;
}

static const kname choice_keys[] = {KN("index"), KN("delta"), KN("logprobs"), KN("finish_reason")};

static bool choice(rd *r, lx_openai_fast_chunk *c)
{
    size_t n;
    OBJECT(r, choice_keys, 4, {
        bool ok = false;
        ws(r);
        if (K == 0)
            ok = r->p < r->end && *r->p == '0' && (r->p++, true);
        else if (K == 1)
            ok = delta(r, c);
        else if (K == 2)
            ok = null_lit(r);
        else
            ok = string_or_null(r, &c->finish_reason, &n);
        if (!ok)
            return false;
    });
    return true;
}

static const kname top_keys[] = {
    KN("id"),           KN("object"), KN("created"),     KN("model"),  KN("system_fingerprint"),
    KN("service_tier"), KN("usage"),  KN("obfuscation"), KN("choices")};

bool lx_openai_fast_parse(const char *s, size_t n, char *buf, lx_openai_fast_chunk *c)
{
    rd r = {(const unsigned char *)s, (const unsigned char *)s + n, buf};
    memset(c, 0, sizeof *c);
    if (!take(&r, '{'))
        return false;
    const char *v;
    size_t len;
    OBJECT(&r, top_keys, 9, {
        bool ok = false;
        switch (K) {
        case 0:
            ok = string(&r, &c->id, &len);
            break;
        case 3:
            ok = string(&r, &c->model, &len);
            break;
        case 1:
        case 7:
            ok = string(&r, &v, &len);
            break;
        case 2:
            ok = integer(&r);
            break;
        case 4:
        case 5:
            ok = string_or_null(&r, &v, &len);
            break;
        case 6:
            ok = usage(&r, &c->has_usage, &c->usage);
            break;
        default: /* choices: null, [] or [one choice] */
            if (null_value(&r)) {
                ok = true;
                break;
            }
            if (!take(&r, '['))
                return false;
            if (take(&r, ']')) {
                ok = true;
                break;
            }
            ok = take(&r, '{') && choice(&r, c) && take(&r, ']');
        }
        if (!ok)
            return false;
    });
    ws(&r);
    return r.p == r.end;
}

/* ---- whole response --------------------------------------------------------
 * { "id": string|null, "object": string, "created": integer|null,
 *   "model": string|null, "system_fingerprint": string|null,
 *   "service_tier": string|null, "prompt_logprobs": null,
 *   "kv_transfer_params": null, "usage": null | usage (above),
 *   "choices": [ { "index": integer, "logprobs": null,
 *                  "finish_reason": string|null,
 *                  "stop_reason": string|integer|null (vLLM),
 *                  "message": { "role": string, "content": string|null,
 *                               "refusal": string|null,
 *                               "reasoning_content": string|null,
 *                               "reasoning": string|null,
 *                               "annotations": [],
 *                               "tool_calls": null | [ call, ... ],
 *                               "audio": null, "function_call": null } } ] }
 * where a call is { "id": string|null, "type": string, "index": integer,
 * "function": { "name": string|null, "arguments": string|null } } (at most
 * MAX_CALLS of them); exactly one choice; same string, number and
 * whitespace rules as above. Arguments given as an object, content parts,
 * logprobs and everything else: not handled. */

#define MAX_CALLS 16

typedef struct {
    const char *id, *name, *args;
    size_t args_len;
} fcall;

typedef struct {
    const char *id, *model, *finish;
    const char *text[4]; /* reasoning_content, reasoning, content, refusal */
    size_t len[4];
    bool has_reasoning_content, has_message, has_usage;
    int64_t created;
    lx_usage usage;
    fcall calls[MAX_CALLS];
    int n_calls;
} fresp;

static const kname fn_keys[] = {KN("name"), KN("arguments")};
static const kname call_keys[] = {KN("id"), KN("type"), KN("index"), KN("function")};

/* The function object of a call, '{' not yet consumed. */
static bool function(rd *r, fcall *c)
{
    size_t n;
    if (!take(r, '{'))
        return false;
    OBJECT(r, fn_keys, 2, {
        if (!(K == 0 ? string_or_null(r, &c->name, &n) : string_or_null(r, &c->args, &c->args_len)))
            return false;
    });
    return true;
}

/* One tool call, '{' not yet consumed. */
static bool tool_call(rd *r, fcall *c)
{
    const char *v;
    size_t n;
    int64_t x;
    bool has_fn = false;
    if (!take(r, '{'))
        return false;
    OBJECT(r, call_keys, 4, {
        bool ok;
        if (K == 0)
            ok = string_or_null(r, &c->id, &n);
        else if (K == 1)
            ok = string(r, &v, &n);
        else if (K == 2)
            ok = int_value(r, &x);
        else
            ok = has_fn = function(r, c);
        if (!ok)
            return false;
    });
    return has_fn; /* the reference refuses a call without a function object */
}

/* null, [] or [call, ...]. */
static bool tool_calls(rd *r, fresp *f)
{
    if (null_value(r))
        return true;
    if (!take(r, '['))
        return false;
    if (take(r, ']'))
        return true;
    do {
        if (f->n_calls == MAX_CALLS)
            return false;
        fcall *c = &f->calls[f->n_calls++];
        memset(c, 0, sizeof *c);
        if (!tool_call(r, c))
            return false;
    } while (take(r, ','));
    return take(r, ']');
}

static const kname msg_keys[] = {KN("reasoning_content"), KN("reasoning"), KN("content"),
                                 KN("refusal"),           KN("role"),      KN("annotations"),
                                 KN("tool_calls"),        KN("audio"),     KN("function_call")};

static bool message(rd *r, fresp *f)
{
    if (!take(r, '{'))
        return false;
    const char *v;
    size_t n;
    OBJECT(r, msg_keys, 9, {
        bool ok;
        if (K < 4) {
            ok = string_or_null(r, &f->text[K], &f->len[K]);
            if (K == 0)
                f->has_reasoning_content = true;
        } else if (K == 4)
            ok = string(r, &v, &n);
        else if (K == 5)
            ok = take(r, '[') && take(r, ']');
        else if (K == 6)
            ok = tool_calls(r, f);
        else
            ok = null_value(r);
        if (!ok)
            return false;
    });
    return true;
}

static const kname rchoice_keys[] = {KN("index"), KN("message"), KN("logprobs"),
                                     KN("finish_reason"), KN("stop_reason")};

static bool rchoice(rd *r, fresp *f)
{
    const char *v;
    size_t n;
    int64_t x;
    OBJECT(r, rchoice_keys, 5, {
        bool ok;
        if (K == 0)
            ok = int_value(r, &x);
        else if (K == 1)
            ok = f->has_message = message(r, f);
        else if (K == 2)
            ok = null_value(r);
        else if (K == 3)
            ok = string_or_null(r, &f->finish, &n);
        else {
            ws(r);
            ok = r->p < r->end && *r->p == '"' ? string(r, &v, &n) : int_or_null(r, &x);
        }
        if (!ok)
            return false;
    });
    return true;
}

static const kname resp_keys[] = {KN("id"),
                                  KN("object"),
                                  KN("created"),
                                  KN("model"),
                                  KN("system_fingerprint"),
                                  KN("choices"),
                                  KN("prompt_logprobs"),
                                  KN("kv_transfer_params"),
                                  KN("usage"),
                                  KN("service_tier")};

static bool fresp_parse(rd *r, fresp *f)
{
    const char *v;
    size_t len;
    bool has_choices = false;
    if (!take(r, '{'))
        return false;
    OBJECT(r, resp_keys, 10, {
        bool ok;
        switch (K) {
        case 0:
            ok = string_or_null(r, &f->id, &len);
            break;
        case 1:
            ok = string(r, &v, &len);
            break;
        case 2:
            ok = int_or_null(r, &f->created); /* null leaves 0, as the reference */
            break;
        case 3:
            ok = string_or_null(r, &f->model, &len);
            break;
        case 4:
        case 9:
            ok = string_or_null(r, &v, &len);
            break;
        case 5:
            has_choices = true;
            ok = take(r, '[') && take(r, '{') && rchoice(r, f) && take(r, ']');
            break;
        case 6:
        case 7:
            ok = null_value(r);
            break;
        default:
            ok = usage(r, &f->has_usage, &f->usage);
        }
        if (!ok)
            return false;
    });
    ws(r);
    return has_choices && f->has_message && r->p == r->end;
}

bool lx_openai_fast_response(const char *s, size_t n, lx_response **out)
{
    *out = NULL;
    if (!s || n == 0)
        return false;
    lx_response *resp = lx_response_new();
    char *buf = resp ? lx_arena_alloc(resp->arena, n + 1) : NULL;
    fresp f;
    memset(&f, 0, sizeof f);
    rd r = {(const unsigned char *)s, (const unsigned char *)s + n, buf};
    if (!buf || !fresp_parse(&r, &f)) {
        lx_response_free(resp);
        return false;
    }
    /* the strings live in buf, which the arena owns */
    resp->id = (char *)f.id;
    resp->model = (char *)f.model;
    resp->created = f.created;
    resp->finish = lx_openai_finish_from(f.finish);
    for (int k = 0; k < 4; k++) {
        if (k == 1 && f.has_reasoning_content)
            continue;
        if (!f.text[k] || !f.len[k])
            continue;
        lx_part *p = lx_response_add_part(resp, k < 2 ? LX_PART_THINKING : LX_PART_TEXT);
        if (!p) {
            lx_response_free(resp);
            return false;
        }
        p->text = (char *)f.text[k];
        if (k == 3)
            resp->finish = LX_FINISH_CONTENT_FILTER;
    }
    for (int i = 0; i < f.n_calls; i++) {
        const fcall *c = &f.calls[i];
        lx_part *p = lx_response_add_part(resp, LX_PART_TOOL_CALL);
        if (!p || !(p->name = c->name ? (char *)c->name : lx_arena_strdup(resp->arena, "")) ||
            !(p->arguments = c->args ? (char *)c->args : lx_arena_strdup(resp->arena, "{}"))) {
            lx_response_free(resp);
            return false;
        }
        p->id = (char *)c->id;
    }
    resp->usage = f.usage;
    resp->has_usage = f.has_usage;
    *out = resp;
    return true;
}
