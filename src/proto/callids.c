#include "proto/callids.h"

#include <stdio.h>
#include <string.h>

struct lx_call_slot {
    const char *name;
    const char *id;
    bool answered;
};

lx_status lx_call_ids_init(lx_call_ids *c, const char *prefix)
{
    memset(c, 0, sizeof *c);
    c->prefix = prefix;
    c->a = lx_arena_new();
    return c->a ? LX_OK : LX_ERR_NOMEM;
}

void lx_call_ids_free(lx_call_ids *c)
{
    lx_arena_free(c->a);
    memset(c, 0, sizeof *c);
}

static const char *generate(lx_call_ids *c)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s%d", c->prefix, ++c->next);
    return lx_arena_strdup(c->a, tmp);
}

const char *lx_call_ids_for_call(lx_call_ids *c, const lx_part *p)
{
    const char *id = p->id ? p->id : generate(c);
    lx_call_slot *nv = id ? lx_arena_grow(c->a, c->v, c->n, c->n + 1, sizeof *nv) : NULL;
    if (!nv)
        return NULL;
    c->v = nv;
    c->v[c->n++] = (lx_call_slot){p->name, id, false};
    return id;
}

const char *lx_call_ids_for_result(lx_call_ids *c, const lx_part *p)
{
    lx_call_slot *hit = NULL;
    for (size_t i = 0; i < c->n && !hit; i++)
        if (!c->v[i].answered &&
            (p->id ? !strcmp(c->v[i].id, p->id)
                   : p->name && c->v[i].name && !strcmp(c->v[i].name, p->name)))
            hit = &c->v[i];
    for (size_t i = 0; i < c->n && !hit && !p->id; i++)
        if (!c->v[i].answered)
            hit = &c->v[i];
    if (hit) {
        hit->answered = true;
        return hit->id;
    }
    return p->id ? p->id : generate(c);
}
