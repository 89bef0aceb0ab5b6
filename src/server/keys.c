/*
 * keys.c — virtual API keys.
 *
 * A caller presents its key as `Authorization: Bearer KEY`, `x-api-key:
 * KEY` (Anthropic) or `x-goog-api-key: KEY` (Gemini); when a client sends
 * several, any one that matches is accepted. Each key is hashed with
 * SHA-256 and compared with every configured digest in constant time (all
 * of them, always, so the time taken says nothing about which key or how
 * much of it matched). The key itself is never stored, logged or echoed.
 */
#include <string.h>
#include <strings.h>

#include "engine/sha256.h"
#include "server/server_int.h"

/* The key presented in one header; NULL when that header has none. */
static const char *presented(struct MHD_Connection *c, int which)
{
    static const char *const names[] = {"authorization", "x-api-key", "x-goog-api-key"};
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, names[which]);
    if (!v)
        return NULL;
    while (*v == ' ')
        v++;
    if (which == 0) {
        if (strncasecmp(v, "bearer ", 7))
            return NULL;
        v += 7;
        while (*v == ' ')
            v++;
    }
    return *v ? v : NULL;
}

/* Index of the configured key whose digest equals SHA-256(k), or -1. Every
 * digest is compared in full whatever matches. */
static int match_key(const lx_config *cfg, const char *k)
{
    size_t n = strlen(k);
    while (n && (k[n - 1] == ' ' || k[n - 1] == '\t'))
        n--;
    unsigned char d[32];
    lx_sha256 h;
    lx_sha256_init(&h);
    lx_sha256_update(&h, k, n);
    lx_sha256_final(&h, d);
    int found = -1;
    for (size_t i = 0; i < cfg->n_keys; i++) {
        unsigned diff = 0;
        for (int j = 0; j < 32; j++)
            diff |= (unsigned)(d[j] ^ cfg->keys[i].sha256[j]);
        int hit = (int)(((diff | (0u - diff)) >> 31) ^ 1u); /* 1 when diff == 0 */
        int take = hit & (found < 0);
        found = take ? (int)i : found;
    }
    return found;
}

lx_status srv_auth(srv_req *r, const lx_config *cfg, const lx_key_cfg **key, int *index,
                   lx_error *err)
{
    static const char *const shown[] = {"Authorization", "x-api-key", "x-goog-api-key"};
    *key = NULL;
    *index = -1;
    if (!cfg->n_keys)
        return LX_OK;
    /* clients differ in where they put the key (some send two headers):
     * any presented key that matches is accepted */
    const char *how = NULL;
    for (int w = 0; w < 3; w++) {
        const char *k = presented(r->c, w);
        if (!k)
            continue;
        if (!how)
            how = shown[w];
        int found = match_key(cfg, k);
        if (found >= 0) {
            *key = &cfg->keys[found];
            *index = found;
            return LX_OK;
        }
    }
    if (!how)
        return lx_fail(err, LX_ERR_AUTH,
                       "missing API key: send it as 'Authorization: Bearer KEY', 'x-api-key: "
                       "KEY' or 'x-goog-api-key: KEY'");
    return lx_fail(err, LX_ERR_AUTH, "invalid API key (sent in %s)", how);
}

bool srv_key_allows(const lx_key_cfg *k, const char *name)
{
    if (!k || !k->models)
        return true;
    for (size_t i = 0; i < k->n_models; i++) {
        const char *m = k->models[i];
        size_t n = strlen(m);
        if (!strcmp(m, name))
            return true;
        if (n >= 2 && m[n - 1] == '*' && m[n - 2] == '/' && !strncmp(m, name, n - 1))
            return true;
    }
    return false;
}
