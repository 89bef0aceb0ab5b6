/*
 * cascade.c — the validator of a local draft (see cascade.h).
 *
 * The checks run in a fixed order and the first that fails names the
 * verdict:
 *   1. empty answer      no tool call and only white space as text
 *   2. hit length limit  finish == LENGTH (the answer is truncated)
 *   3. refusal           the text, after leading white space and quotes or
 *                        markdown emphasis, opens with a refusal phrase
 *                        (ASCII case-insensitive; ' and U+2019 are the same)
 *   4. invalid tool call a tool call whose arguments are not a JSON object,
 *                        or that names a tool the request did not offer
 *   5. invalid JSON      format json / json_schema and the text (trimmed)
 *                        does not parse as JSON; with a schema whose
 *                        top-level "type" is given, a value of another type
 *   6. low confidence    n_tokens > 0 and the mean log-probability per
 *                        token is below routing.cascade_min_logprob
 * A draft with tool calls and no text skips 3 and 5 (the text is not the
 * answer). Everything is computed from the arguments; no state.
 */
#include "router/cascade.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Openings of refusals, lower case, ASCII apostrophes. Each must be
 * followed by a non-letter (so "as an aid" is not "as an ai"). */
static const char *const refusals[] = {
    "i can't help",
    "i cannot help",
    "i can not help",
    "i can't assist",
    "i cannot assist",
    "i can't provide",
    "i cannot provide",
    "i can't do that",
    "i cannot do that",
    "i can't comply",
    "i cannot comply",
    "i can't answer",
    "i cannot answer",
    "i can't fulfill",
    "i cannot fulfill",
    "i won't be able to",
    "i will not be able to",
    "i'm unable to",
    "i am unable to",
    "i'm not able to",
    "i am not able to",
    "i'm sorry, but",
    "i'm sorry but",
    "i am sorry, but",
    "sorry, but i",
    "sorry, i can't",
    "sorry, i cannot",
    "i apologize, but",
    "i apologise, but",
    "unfortunately, i can't",
    "unfortunately, i cannot",
    "unfortunately, i am unable",
    "unfortunately, i'm unable",
    "as an ai",
    "as a language model",
    "as an artificial intelligence",
    "i'm just an ai",
    "i am just an ai",
    "i must decline",
    "i have to decline",
};

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* Does s start with phrase p (see above)? */
static bool opens_with(const char *s, const char *p)
{
    while (*p) {
        if (*p == '\'' && (unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80 &&
            (unsigned char)s[2] == 0x99) { /* U+2019 RIGHT SINGLE QUOTATION MARK */
            s += 3;
            p++;
            continue;
        }
        if (!*s || lower(*s) != *p)
            return false;
        s++;
        p++;
    }
    return !is_letter((unsigned char)*s) || !is_letter((unsigned char)p[-1]);
}

static const char *skip_lead(const char *s)
{
    for (;;) {
        unsigned char c = (unsigned char)*s;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '*' || c == '_' ||
            c == '>')
            s++;
        else if (c == 0xE2 && (unsigned char)s[1] == 0x80 &&
                 ((unsigned char)s[2] == 0x9C || (unsigned char)s[2] == 0x98)) /* “ ‘ */
            s += 3;
        else
            return s;
    }
}

static bool is_refusal(const char *text)
{
    const char *s = skip_lead(text);
    for (size_t i = 0; i < sizeof refusals / sizeof *refusals; i++)
        if (opens_with(s, refusals[i]))
            return true;
    return false;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\r\n", *s))
            return false;
    return true;
}

/* The JSON type name of v in JSON Schema terms. */
static bool type_matches(const json_t *v, const char *t)
{
    if (!strcmp(t, "object"))
        return json_is_object(v);
    if (!strcmp(t, "array"))
        return json_is_array(v);
    if (!strcmp(t, "string"))
        return json_is_string(v);
    if (!strcmp(t, "integer"))
        return json_is_integer(v) ||
               (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
    if (!strcmp(t, "number"))
        return json_is_number(v);
    if (!strcmp(t, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(t, "null"))
        return json_is_null(v);
    return true; /* a type we do not know: do not judge */
}

/* 1 when v has the schema's top-level type (or the schema names none). */
static bool schema_type_ok(const char *schema, const json_t *v, char *want, size_t wcap)
{
    if (!schema)
        return true;
    json_t *s = json_loads(schema, JSON_DECODE_ANY, NULL);
    if (!s)
        return true;
    const json_t *t = json_is_object(s) ? json_object_get(s, "type") : NULL;
    bool ok = true;
    if (json_is_string(t)) {
        ok = type_matches(v, json_string_value(t));
        snprintf(want, wcap, "%s", json_string_value(t));
    } else if (json_is_array(t) && json_array_size(t)) {
        ok = false;
        size_t i;
        json_t *x;
        json_array_foreach(t, i, x) if (json_is_string(x) && type_matches(v, json_string_value(x)))
            ok = true;
        snprintf(want, wcap, "one of the schema's types");
    }
    json_decref(s);
    return ok;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static void verdict(lx_cascade_verdict *out, bool pass, const char *reason, const char *detail)
{
    out->pass = pass;
    out->reason = reason;
    snprintf(out->detail, sizeof out->detail, "%s", detail ? detail : reason);
}

void lx_cascade_check(const lx_routing_cfg *cfg, const lx_request *req, const lx_response *draft,
                      double logprob_sum, int64_t n_tokens, lx_cascade_verdict *out)
{
    memset(out, 0, sizeof *out);
    char detail[96];
    double min_lp = cfg ? cfg->cascade_min_logprob : -1.5;
    if (n_tokens > 0)
        out->mean_logprob = logprob_sum / (double)n_tokens;
    if (!draft) {
        verdict(out, false, "empty answer", NULL);
        return;
    }
    /* the answer's text (TEXT parts joined, without copying when one) */
    size_t n_text = 0, n_calls = 0, text_len = 0;
    const lx_part *bad_call = NULL;
    const char *why_bad = NULL;
    for (size_t i = 0; i < draft->n_parts; i++) {
        const lx_part *p = &draft->parts[i];
        if (p->kind == LX_PART_TEXT && p->text) {
            n_text++;
            text_len += strlen(p->text);
        } else if (p->kind == LX_PART_TOOL_CALL) {
            n_calls++;
            if (bad_call)
                continue;
            json_t *a =
                p->arguments && *p->arguments ? json_loads(p->arguments, 0, NULL) : json_object();
            if (!json_is_object(a)) {
                bad_call = p;
                why_bad = "arguments are not a JSON object";
            } else if (req && req->n_tools) {
                bool known = false;
                for (size_t k = 0; k < req->n_tools && !known; k++)
                    known = p->name && req->tools[k].name && !strcmp(p->name, req->tools[k].name);
                if (!known) {
                    bad_call = p;
                    why_bad = "names a tool the request did not offer";
                }
            }
            json_decref(a);
        }
    }
    char *joined = NULL;
    const char *text = "";
    if (n_text == 1) {
        for (size_t i = 0; i < draft->n_parts; i++)
            if (draft->parts[i].kind == LX_PART_TEXT && draft->parts[i].text)
                text = draft->parts[i].text;
    } else if (n_text > 1) {
        joined = malloc(text_len + 1);
        if (joined) {
            size_t w = 0;
            for (size_t i = 0; i < draft->n_parts; i++)
                if (draft->parts[i].kind == LX_PART_TEXT && draft->parts[i].text) {
                    size_t l = strlen(draft->parts[i].text);
                    memcpy(joined + w, draft->parts[i].text, l);
                    w += l;
                }
            joined[w] = 0;
            text = joined;
        }
    }
    bool has_text = !blank(text);

    if (!has_text && !n_calls) {
        verdict(out, false, "empty answer", NULL);
        goto done;
    }
    if (draft->finish == LX_FINISH_LENGTH) {
        verdict(out, false, "hit length limit", NULL);
        goto done;
    }
    if (has_text && is_refusal(text)) {
        const char *s = skip_lead(text);
        size_t l = strcspn(s, "\n.!");
        snprintf(detail, sizeof detail, "refusal (\"%.*s\")", (int)(l > 60 ? 60 : l), s);
        verdict(out, false, "refusal", detail);
        goto done;
    }
    if (bad_call) {
        snprintf(detail, sizeof detail, "invalid tool call: '%.30s' %s",
                 bad_call->name ? bad_call->name : "?", why_bad);
        verdict(out, false, "invalid tool call", detail);
        goto done;
    }
    if (req && (req->format.kind == LX_FORMAT_JSON || req->format.kind == LX_FORMAT_JSON_SCHEMA) &&
        !(n_calls && !has_text)) {
        json_error_t je;
        json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
        if (!v) {
            snprintf(detail, sizeof detail, "invalid JSON (line %d column %d: %.50s)", je.line,
                     je.column, je.text);
            verdict(out, false, "invalid JSON", detail);
            goto done;
        }
        char want[32] = "";
        bool ok = req->format.kind != LX_FORMAT_JSON_SCHEMA ||
                  schema_type_ok(req->format.schema, v, want, sizeof want);
        if (!ok) {
            snprintf(detail, sizeof detail, "invalid JSON (a %s where the schema wants %s)",
                     json_type_name(v), want);
            verdict(out, false, "invalid JSON", detail);
        }
        json_decref(v);
        if (!ok)
            goto done;
    }
    if (n_tokens > 0 && out->mean_logprob < min_lp) {
        snprintf(detail, sizeof detail, "low confidence (mean logprob %.2f < %.2f)",
                 out->mean_logprob, min_lp);
        verdict(out, false, "low confidence", detail);
        goto done;
    }
    verdict(out, true, "ok", NULL);
done:
    free(joined);
}
