/*
 * dispatch_outcome.c — a job's outcome as the world sees it: the JSON that
 * `llmux ask --json` prints under "route" (and the server reuses for its
 * x-llmux-* headers), and the ledger row.
 *
 *   {"target":"local"|"cloud"|"none","provider":..,"model":..,
 *    "reason":"..","action":"send"|"redact"|"block","privacy":["EMAIL"],
 *    "status":"ok"|<status name>,"http_status":200,
 *    "attempts":[{"provider":..,"model":..,"status":"ok"|"timeout"|..,
 *                 "http_status":503,"ms":12,"error":"..","skipped":false}],
 *    "cached":false,"escalated":false,"continued":false,"redacted":false,
 *    "redactions":0,"cascade":{"pass":true,"reason":"ok"} (when it ran),
 *    "cost_usd":0.0,"saved_usd":0.0,"ttft_ms":..,"latency_ms":..,
 *    "overhead_us":..,"bytes_out":..,"error":".." (when it failed)}
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "router/dispatch_int.h"

static const char *action_name(lx_action a)
{
    switch (a) {
    case LX_ACTION_REDACT:
        return "redact";
    case LX_ACTION_BLOCK:
        return "block";
    default:
        return "send";
    }
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

lx_status lx_outcome_json(const lx_outcome *o, lx_buf *out)
{
    if (!o || !out)
        return LX_ERR_INVALID;
    json_t *root = json_object();
    if (!root)
        return LX_ERR_NOMEM;
    const lx_plan *p = o->plan;
    const lx_target *t = o->target;
    const char *kind = t ? (t->local ? "local" : "cloud") : "none";
    json_object_set_new(root, "target", json_string(kind));
    json_object_set_new(root, "provider", str_or_null(t && t->provider ? t->provider->name : NULL));
    json_object_set_new(root, "model", str_or_null(t ? t->model : NULL));
    json_object_set_new(root, "reason", str_or_null(p ? lx_plan_reason(p) : NULL));
    json_object_set_new(
        root, "action",
        json_string(p ? (o->redacted ? "redact" : action_name(p->action)) : "send"));
    json_t *priv = json_array();
    for (size_t i = 0; p && i < p->n_privacy; i++)
        json_array_append_new(priv, json_string(p->privacy[i]));
    json_object_set_new(root, "privacy", priv);
    json_object_set_new(root, "status",
                        json_string(o->status == LX_OK ? "ok" : lx_status_name(o->status)));
    json_object_set_new(root, "http_status", json_integer(o->http_status));
    json_t *atts = json_array();
    int n = o->n_attempts < LX_MAX_ATTEMPTS ? o->n_attempts : LX_MAX_ATTEMPTS;
    for (int i = 0; i < n; i++) {
        const lx_attempt *a = &o->attempts[i];
        json_t *x = json_object();
        json_object_set_new(
            x, "provider",
            str_or_null(a->target && a->target->provider ? a->target->provider->name : NULL));
        json_object_set_new(x, "model", str_or_null(a->target ? a->target->model : NULL));
        json_object_set_new(x, "status",
                            json_string(a->status == LX_OK ? "ok" : lx_status_name(a->status)));
        json_object_set_new(x, "http_status", json_integer(a->http_status));
        json_object_set_new(x, "start_ms", json_integer(a->start_ms));
        json_object_set_new(x, "ms", json_integer(a->ms));
        if (a->error[0])
            json_object_set_new(x, "error", json_string(a->error));
        if (a->skipped)
            json_object_set_new(x, "skipped", json_true());
        json_array_append_new(atts, x);
    }
    json_object_set_new(root, "attempts", atts);
    json_object_set_new(root, "cached", json_boolean(o->cached));
    json_object_set_new(root, "escalated", json_boolean(o->escalated));
    json_object_set_new(root, "continued", json_boolean(o->continued));
    json_object_set_new(root, "redacted", json_boolean(o->redacted));
    json_object_set_new(root, "redactions", json_integer(o->redactions));
    if (o->cascade_ran) {
        json_t *c = json_object();
        json_object_set_new(c, "pass", json_boolean(o->cascade_pass));
        json_object_set_new(c, "reason", json_string(o->cascade_reason));
        json_object_set_new(root, "cascade", c);
    }
    if (p) {
        json_object_set_new(root, "sensitive", json_boolean(p->sensitive));
        json_object_set_new(root, "offline", json_boolean(p->offline));
    }
    json_object_set_new(root, "cost_usd", json_real(o->cost_usd));
    json_object_set_new(root, "saved_usd", json_real(o->saved_usd));
    json_object_set_new(root, "ttft_ms", json_integer(o->ttft_ms));
    json_object_set_new(root, "latency_ms", json_integer(o->latency_ms));
    json_object_set_new(root, "overhead_us", json_integer(o->overhead_us));
    json_object_set_new(root, "bytes_out", json_integer(o->bytes_out));
    if (o->status != LX_OK && o->error.message[0])
        json_object_set_new(root, "error", json_string(o->error.message));
    lx_status st = lx_json_dump(root, out);
    json_decref(root);
    return st;
}

/* ---- ledger row ---- */

static const char *privacy_action(const lx_outcome *o)
{
    const lx_plan *p = o->plan;
    if (!p || !p->sensitive)
        return "none";
    if (p->action == LX_ACTION_BLOCK)
        return "block";
    if (o->redacted)
        return "redact";
    if (p->privacy_mode == LX_PRIVACY_OFF)
        return "none";
    return "local";
}

static char *last_user_text(const lx_request *req)
{
    for (size_t i = req ? req->n_messages : 0; i-- > 0;) {
        const lx_message *m = &req->messages[i];
        if (m->role != LX_ROLE_USER)
            continue;
        lx_buf b;
        lx_buf_init(&b, 0);
        for (size_t k = 0; k < m->n_parts; k++)
            if (m->parts[k].kind == LX_PART_TEXT && m->parts[k].text)
                if ((b.len && lx_buf_putc(&b, '\n') != LX_OK) ||
                    lx_buf_puts(&b, m->parts[k].text) != LX_OK) {
                    lx_buf_free(&b);
                    return NULL;
                }
        size_t len;
        if (lx_buf_putc(&b, '\0') != LX_OK) {
            lx_buf_free(&b);
            return NULL;
        }
        return lx_buf_steal(&b, &len);
    }
    return NULL;
}

void lx_dx_ledger_row(const lx_outcome *o, const lx_config *cfg, const lx_key_cfg *key,
                      const char *front, int calls, const lx_request *req, const char *answer,
                      lx_ledger_row *row, lx_dx_row_scratch *rs)
{
    memset(row, 0, sizeof *row);
    memset(rs, 0, sizeof *rs);
    const lx_plan *p = o->plan;
    const lx_target *t = o->target;
    row->ts_ms = o->ts_ms;
    row->key_id = key ? key->id : NULL;
    row->front = front;
    row->route = t ? (t->local ? "local" : "cloud") : "none";
    row->reason = p ? lx_plan_reason(p) : NULL;
    row->provider = t && t->provider ? t->provider->name : NULL;
    row->model = t ? t->model : NULL;
    row->attempts = calls;
    row->usage = o->usage;
    row->cost_usd = o->cost_usd;
    row->saved_usd = o->saved_usd;
    row->ttft_ms = o->ttft_ms;
    row->latency_ms = o->latency_ms;
    row->http_status = o->http_status;
    row->status = o->status == LX_OK ? "ok" : lx_status_name(o->status);
    if (p && p->n_privacy) {
        /* "EMAIL,IBAN": whole names only, as many as fit */
        size_t off = 0;
        rs->privacy[0] = '\0';
        for (size_t i = 0; i < p->n_privacy && off + 1 < sizeof rs->privacy; i++) {
            size_t n = strlen(p->privacy[i]), k = n + (i ? 1 : 0);
            if (k >= sizeof rs->privacy - off)
                break;
            if (i)
                rs->privacy[off++] = ',';
            memcpy(rs->privacy + off, p->privacy[i], n + 1);
            off += n;
        }
        row->privacy = rs->privacy;
    }
    row->privacy_action = privacy_action(o);
    row->bytes_out = o->bytes_out;
    row->cached = o->cached;
    if (cfg && cfg->ledger.store_prompts) {
        rs->prompt = last_user_text(req);
        rs->answer = answer ? strdup(answer) : NULL;
        row->prompt = rs->prompt;
        row->answer = rs->answer;
    }
}

void lx_dx_row_scratch_free(lx_dx_row_scratch *rs)
{
    free(rs->prompt);
    free(rs->answer);
    rs->prompt = rs->answer = NULL;
}
