/*
 * catalog.c — what models the gateway offers, in each dialect's listing.
 *
 * Entries: "auto", every alias, and "provider/model" for every model a
 * provider lists (a provider that lists none accepts any name and shows as
 * nothing). A key with `models:` sees only what it may use.
 *   GET /v1/models      OpenAI {"object":"list","data":[{"id","object":"model",...}]}
 *                       or Anthropic {"data":[{"type":"model","id",...}],"has_more":false}
 *                       when the caller sent anthropic-version
 *   GET /api/tags       Ollama
 * {"models":[{"name","model","modified_at","size","digest","details"}]} POST /api/show      Ollama
 * {"details":{...},"model_info":{...},"capabilities":[...]}
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "proto/json.h"
#include "server/server_int.h"

typedef void (*entry_fn)(void *ud, const char *id, const char *owner, const lx_model_info *mi);

static void each_model(srv_req *r, entry_fn fn, void *ud)
{
    const lx_config *cfg = r->gen->b->cfg;
    char id[256];
    if (srv_key_allows(r->key, "auto"))
        fn(ud, "auto", "llmux", NULL);
    for (size_t i = 0; i < cfg->n_aliases; i++)
        if (srv_key_allows(r->key, cfg->aliases[i].name))
            fn(ud, cfg->aliases[i].name, "llmux", NULL);
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const lx_provider_cfg *p = &cfg->providers[i];
        for (size_t j = 0; j < p->n_models; j++) {
            snprintf(id, sizeof id, "%s/%s", p->name, p->models[j]);
            if (srv_key_allows(r->key, id))
                fn(ud, id, p->name, lx_catalogue_find(cfg, p->models[j]));
        }
    }
}

static void respond_json_obj(srv_req *r, int status, json_t *o)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    if (o && lx_json_dump(o, &b) == LX_OK)
        srv_respond(r, status, "application/json", b.data, b.len);
    else
        srv_respond(r, 500, "application/json", "{}", 2);
    lx_buf_free(&b);
    json_decref(o);
}

static void add_openai(void *ud, const char *id, const char *owner, const lx_model_info *mi)
{
    (void)mi;
    json_array_append_new(ud, json_pack("{s:s,s:s,s:i,s:s}", "id", id, "object", "model", "created",
                                        0, "owned_by", owner));
}

static void add_anthropic(void *ud, const char *id, const char *owner, const lx_model_info *mi)
{
    (void)owner;
    (void)mi;
    json_array_append_new(ud, json_pack("{s:s,s:s,s:s,s:s}", "type", "model", "id", id,
                                        "display_name", id, "created_at", "2026-01-01T00:00:00Z"));
}

void srv_list_models(srv_req *r, bool anthropic)
{
    json_t *data = json_array();
    each_model(r, anthropic ? add_anthropic : add_openai, data);
    json_t *o;
    if (anthropic) {
        size_t n = json_array_size(data);
        json_t *first = n ? json_object_get(json_array_get(data, 0), "id") : NULL;
        json_t *last = n ? json_object_get(json_array_get(data, n - 1), "id") : NULL;
        o = json_pack("{s:o,s:b,s:O?,s:O?}", "data", data, "has_more", 0, "first_id", first,
                      "last_id", last);
    } else {
        o = json_pack("{s:s,s:o}", "object", "list", "data", data);
    }
    respond_json_obj(r, 200, o);
}

static json_t *ollama_details(const lx_model_info *mi)
{
    (void)mi;
    return json_pack("{s:s,s:s,s:[],s:s,s:s}", "parent_model", "", "format", "gguf", "families",
                     "family", "", "parameter_size", "");
}

static void add_tag(void *ud, const char *id, const char *owner, const lx_model_info *mi)
{
    (void)owner;
    json_array_append_new(ud, json_pack("{s:s,s:s,s:s,s:i,s:s,s:o}", "name", id, "model", id,
                                        "modified_at", "2026-01-01T00:00:00Z", "size", 0, "digest",
                                        "", "details", ollama_details(mi)));
}

void srv_ollama_tags(srv_req *r)
{
    json_t *models = json_array();
    each_model(r, add_tag, models);
    respond_json_obj(r, 200, json_pack("{s:o}", "models", models));
}

static bool allowed_as(const lx_key_cfg *k, const lx_provider_cfg *p, const char *model)
{
    char id[256];
    if (!p || !model)
        return false;
    snprintf(id, sizeof id, "%s/%s", p->name, model);
    return srv_key_allows(k, id);
}

void srv_ollama_show(srv_req *r)
{
    lx_error e = {0};
    lx_error_clear(&e);
    json_t *root = NULL;
    if (lx_json_parse(r->body.data ? r->body.data : "", r->body.len, true, &root, &e) != LX_OK) {
        srv_respond_error(r, 400, &e);
        return;
    }
    const char *name = json_string_value(json_object_get(root, "model"));
    if (!name)
        name = json_string_value(json_object_get(root, "name"));
    if (!name || !*name) {
        json_decref(root);
        lx_fail(&e, LX_ERR_INVALID, "model: required");
        srv_respond_error(r, 400, &e);
        return;
    }
    const lx_config *cfg = r->gen->b->cfg;
    const lx_provider_cfg *p = NULL;
    const char *model = NULL;
    bool alias = !strcmp(name, "auto");
    for (size_t i = 0; i < cfg->n_aliases && !alias; i++)
        alias = !strcmp(cfg->aliases[i].name, name);
    if (!alias && lx_config_resolve(cfg, name, &p, &model, &e) != LX_OK) {
        json_decref(root);
        e.code = LX_ERR_NOTFOUND;
        srv_respond_error(r, 404, &e);
        return;
    }
    if (!srv_key_allows(r->key, name) && !allowed_as(r->key, p, model)) {
        json_decref(root);
        lx_fail(&e, LX_ERR_NOTFOUND, "model '%.200s' not found", name);
        srv_respond_error(r, 404, &e);
        return;
    }
    const lx_model_info *mi = model ? lx_catalogue_find(cfg, model) : NULL;
    json_t *caps = json_array();
    json_array_append_new(caps, json_string("completion"));
    if (!mi || (mi->features & LX_FEAT_TOOLS))
        json_array_append_new(caps, json_string("tools"));
    if (mi && (mi->features & LX_FEAT_VISION))
        json_array_append_new(caps, json_string("vision"));
    if (mi && (mi->features & LX_FEAT_REASONING))
        json_array_append_new(caps, json_string("thinking"));
    json_t *info = json_object();
    if (mi && mi->context)
        json_object_set_new(info, "llmux.context_length", json_integer(mi->context));
    if (p)
        json_object_set_new(info, "llmux.provider", json_string(p->name));
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:s}", "modelfile", "", "parameters", "",
                          "template", "", "details", ollama_details(mi), "model_info", info,
                          "capabilities", caps, "modified_at", "2026-01-01T00:00:00Z");
    json_decref(root);
    respond_json_obj(r, 200, o);
}
