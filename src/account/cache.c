/*
 * cache.c — the exact-match response cache.
 *
 * Key: SHA-256 of one JSON document that describes everything that can
 * change the answer, serialised compactly with sorted keys:
 *   {"v":1, "target":"provider/model",
 *    "messages":[{"role":..,"parts":[{"kind":..,"text":..,...}]}],
 *    "tools":[{"name":..,"description":..,"parameters":<JSON>}],
 *    "tool_choice":{..}, "sampling":{only the fields set},
 *    "format":{..}, "thinking":N, "num_ctx":N}
 * JSON carried as text (tool arguments, schemas) is parsed and re-dumped
 * with sorted keys, so {"a":1,"b":2} and {"b":2,"a":1} are the same
 * request. The requested model name, stream flag and user id are left out:
 * the same target answers the same way however it was asked for.
 *
 * Value: the lx_response as compact JSON (lx_response_to_json). Only
 * complete answers are stored (finish stop, length or tool_calls). Writes
 * go through the writer thread; lookups read on the caller's thread.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account/account_int.h"
#include "engine/sha256.h"

/* ---- decision ---- */

static bool route_listed(const lx_cache_cfg *c, const char *target)
{
    if (!c->routes || c->n_routes == 0)
        return true;
    if (!target)
        return false;
    for (size_t i = 0; i < c->n_routes; i++) {
        const char *r = c->routes[i];
        size_t n = strlen(r);
        if (strcmp(r, target) == 0)
            return true;
        if (n >= 2 && r[n - 1] == '*' && r[n - 2] == '/' && strncmp(r, target, n - 1) == 0)
            return true;
    }
    return false;
}

lx_cache_decision lx_cache_decide(const lx_config *cfg, const lx_request *req, const lx_header *h,
                                  size_t nh, const char *target)
{
    if (!cfg || !req || cfg->cache.mode == LX_CACHE_OFF)
        return LX_CACHE_SKIP;
    const char *v = h ? lx_header_get(h, nh, "x-llmux-cache") : NULL;
    if (v) {
        if (strcasecmp(v, "off") == 0)
            return LX_CACHE_SKIP;
        if (strcasecmp(v, "on") == 0)
            return LX_CACHE_USE;
        if (strcasecmp(v, "refresh") == 0)
            return LX_CACHE_REFRESH;
    }
    if (!route_listed(&cfg->cache, target))
        return LX_CACHE_SKIP;
    if (cfg->cache.mode == LX_CACHE_ON)
        return LX_CACHE_USE;
    return req->sampling.has_temperature && req->sampling.temperature == 0 ? LX_CACHE_USE
                                                                           : LX_CACHE_SKIP;
}

bool lx_cache_wanted(const lx_config *cfg, const lx_request *req, const lx_header *h, size_t nh,
                     const char *target)
{
    return lx_cache_decide(cfg, req, h, nh, target) != LX_CACHE_SKIP;
}

/* ---- key ---- */

static int set_str(json_t *o, const char *k, const char *v)
{
    return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

/* JSON text as a value (sorted on dump); a string when it does not parse. */
static json_t *json_value(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(text);
}

static json_t *part_json(const lx_part *p)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "kind", json_integer(p->kind));
    set_str(o, "text", p->text);
    set_str(o, "url", p->url);
    set_str(o, "data", p->data);
    set_str(o, "media_type", p->media_type);
    set_str(o, "id", p->id);
    set_str(o, "name", p->name);
    if (p->arguments)
        json_object_set_new(o, "arguments", json_value(p->arguments));
    set_str(o, "signature", p->signature);
    if (p->is_error)
        json_object_set_new(o, "is_error", json_true());
    return o;
}

static json_t *request_json(const lx_request *req, const char *target)
{
    json_t *root = json_object();
    if (!root)
        return NULL;
    json_object_set_new(root, "v", json_integer(1));
    json_object_set_new(root, "target", json_string(target ? target : ""));
    json_t *msgs = json_array();
    for (size_t i = 0; i < req->n_messages; i++) {
        const lx_message *m = &req->messages[i];
        json_t *mo = json_object(), *parts = json_array();
        json_object_set_new(mo, "role", json_integer(m->role));
        for (size_t j = 0; j < m->n_parts; j++)
            json_array_append_new(parts, part_json(&m->parts[j]));
        json_object_set_new(mo, "parts", parts);
        json_array_append_new(msgs, mo);
    }
    json_object_set_new(root, "messages", msgs);
    if (req->n_tools) {
        json_t *tools = json_array();
        for (size_t i = 0; i < req->n_tools; i++) {
            const lx_tool *t = &req->tools[i];
            json_t *to = json_object();
            set_str(to, "name", t->name);
            set_str(to, "description", t->description);
            if (t->parameters)
                json_object_set_new(to, "parameters", json_value(t->parameters));
            json_array_append_new(tools, to);
        }
        json_object_set_new(root, "tools", tools);
    }
    if (req->tool_choice.kind != LX_TOOL_CHOICE_UNSET || req->tool_choice.has_parallel) {
        json_t *tc = json_object();
        json_object_set_new(tc, "kind", json_integer(req->tool_choice.kind));
        set_str(tc, "name", req->tool_choice.name);
        if (req->tool_choice.has_parallel)
            json_object_set_new(tc, "parallel", json_boolean(req->tool_choice.parallel));
        json_object_set_new(root, "tool_choice", tc);
    }
    const lx_sampling *s = &req->sampling;
    json_t *so = json_object();
    if (s->has_temperature)
        json_object_set_new(so, "temperature", json_real(s->temperature));
    if (s->has_top_p)
        json_object_set_new(so, "top_p", json_real(s->top_p));
    if (s->has_top_k)
        json_object_set_new(so, "top_k", json_integer(s->top_k));
    if (s->has_seed)
        json_object_set_new(so, "seed", json_integer(s->seed));
    if (s->max_tokens)
        json_object_set_new(so, "max_tokens", json_integer(s->max_tokens));
    if (s->n_stop) {
        json_t *st = json_array();
        for (size_t i = 0; i < s->n_stop; i++)
            json_array_append_new(st, json_string(s->stop[i]));
        json_object_set_new(so, "stop", st);
    }
    json_object_set_new(root, "sampling", so);
    if (req->format.kind != LX_FORMAT_TEXT) {
        json_t *fo = json_object();
        json_object_set_new(fo, "kind", json_integer(req->format.kind));
        set_str(fo, "name", req->format.name);
        if (req->format.schema)
            json_object_set_new(fo, "schema", json_value(req->format.schema));
        if (req->format.strict)
            json_object_set_new(fo, "strict", json_true());
        json_object_set_new(root, "format", fo);
    }
    if (req->thinking_budget)
        json_object_set_new(root, "thinking", json_integer(req->thinking_budget));
    if (req->num_ctx)
        json_object_set_new(root, "num_ctx", json_integer(req->num_ctx));
    return root;
}

lx_status lx_cache_key(const lx_request *req, const char *target, char out[65])
{
    out[0] = 0;
    json_t *root = request_json(req, target);
    if (!root)
        return LX_ERR_NOMEM;
    char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!text)
        return LX_ERR_NOMEM;
    lx_sha256 h;
    lx_sha256_init(&h);
    lx_sha256_update(&h, text, strlen(text));
    lx_sha256_final_hex(&h, out);
    free(text);
    return LX_OK;
}

/* ---- response serialisation ---- */

lx_status lx_response_to_json(const lx_response *r, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    json_t *o = json_object();
    if (!o)
        return LX_ERR_NOMEM;
    set_str(o, "id", r->id);
    set_str(o, "model", r->model);
    set_str(o, "provider", r->provider);
    json_object_set_new(o, "finish", json_integer(r->finish));
    set_str(o, "stop", r->stop_sequence);
    if (r->has_usage)
        json_object_set_new(o, "usage",
                            json_pack("[IIIII]", (json_int_t)r->usage.input,
                                      (json_int_t)r->usage.cache_read,
                                      (json_int_t)r->usage.cache_write, (json_int_t)r->usage.output,
                                      (json_int_t)r->usage.reasoning));
    json_object_set_new(o, "created", json_integer(r->created));
    json_t *parts = json_array();
    for (size_t i = 0; i < r->n_parts; i++)
        json_array_append_new(parts, part_json(&r->parts[i]));
    json_object_set_new(o, "parts", parts);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return LX_ERR_NOMEM;
    *out = s;
    *len = strlen(s);
    return LX_OK;
}

static char *get_str(lx_arena *a, const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? lx_arena_strdup(a, json_string_value(v)) : NULL;
}

lx_status lx_response_from_json(const char *s, size_t len, lx_response **out)
{
    *out = NULL;
    json_t *o = json_loadb(s, len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return LX_ERR_INVALID;
    }
    lx_status st = LX_ERR_NOMEM;
    lx_response *r = lx_response_new();
    if (!r)
        goto out;
    r->id = get_str(r->arena, o, "id");
    r->model = get_str(r->arena, o, "model");
    r->provider = get_str(r->arena, o, "provider");
    r->stop_sequence = get_str(r->arena, o, "stop");
    r->finish = (lx_finish)json_integer_value(json_object_get(o, "finish"));
    r->created = json_integer_value(json_object_get(o, "created"));
    const json_t *u = json_object_get(o, "usage");
    if (json_is_array(u) && json_array_size(u) == 5) {
        r->has_usage = true;
        r->usage.input = json_integer_value(json_array_get(u, 0));
        r->usage.cache_read = json_integer_value(json_array_get(u, 1));
        r->usage.cache_write = json_integer_value(json_array_get(u, 2));
        r->usage.output = json_integer_value(json_array_get(u, 3));
        r->usage.reasoning = json_integer_value(json_array_get(u, 4));
    }
    const json_t *parts = json_object_get(o, "parts");
    size_t i;
    const json_t *p;
    json_array_foreach(parts, i, p)
    {
        json_int_t kind = json_integer_value(json_object_get(p, "kind"));
        if (kind < LX_PART_TEXT || kind > LX_PART_THINKING) {
            st = LX_ERR_INVALID;
            goto out;
        }
        lx_part *q = lx_response_add_part(r, (lx_part_kind)kind);
        if (!q)
            goto out;
        q->text = get_str(r->arena, p, "text");
        q->url = get_str(r->arena, p, "url");
        q->data = get_str(r->arena, p, "data");
        q->media_type = get_str(r->arena, p, "media_type");
        q->id = get_str(r->arena, p, "id");
        q->name = get_str(r->arena, p, "name");
        q->signature = get_str(r->arena, p, "signature");
        q->is_error = json_is_true(json_object_get(p, "is_error"));
        const json_t *args = json_object_get(p, "arguments");
        if (json_is_string(args)) {
            q->arguments = lx_arena_strdup(r->arena, json_string_value(args));
        } else if (args) {
            char *t = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!t)
                goto out;
            q->arguments = lx_arena_strdup(r->arena, t);
            free(t);
        }
    }
    st = LX_OK;
    *out = r;
    r = NULL;
out:
    lx_response_free(r);
    json_decref(o);
    return st;
}

/* ---- lookup and store ---- */

lx_status lx_cache_lookup(lx_account *a, const lx_request *req, const char *target,
                          lx_response **out)
{
    *out = NULL;
    if (!a || !req)
        return LX_ERR_NOTFOUND;
    char key[65];
    if (lx_cache_key(req, target, key) != LX_OK)
        return LX_ERR_NOMEM;
    void *blob = NULL;
    size_t len = 0;
    lx_error e;
    lx_status st = a->store->ops->cache_get(a->store, key, lx_now_ms(), &blob, &len, &e);
    if (st == LX_OK) {
        st = lx_response_from_json(blob, len, out);
        if (st != LX_OK)
            st = LX_ERR_NOTFOUND;
    } else {
        st = LX_ERR_NOTFOUND;
    }
    free(blob);
    atomic_fetch_add(st == LX_OK ? &a->cache_hits : &a->cache_misses, 1);
    return st;
}

void lx_cache_store(lx_account *a, const lx_request *req, const char *target,
                    const lx_response *resp)
{
    if (!a || !req || !resp)
        return;
    if (resp->finish != LX_FINISH_STOP && resp->finish != LX_FINISH_LENGTH &&
        resp->finish != LX_FINISH_TOOL_CALLS)
        return;
    char key[65];
    if (lx_cache_key(req, target, key) != LX_OK)
        return;
    char *blob;
    size_t len;
    if (lx_response_to_json(resp, &blob, &len) != LX_OK)
        return;
    int64_t now = lx_now_ms();
    int64_t ttl = a->cfg->cache.ttl_s > 0 ? a->cfg->cache.ttl_s : 86400;
    lx_account_enqueue_cache(a, key, blob, len, now, now + ttl * 1000);
}
