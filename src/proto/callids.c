#include "proto/callids.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

void lx_wire_id(char *buf, size_t cap, const char *prefix)
{
    static atomic_uint_fast64_t counter;
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^
                 ((atomic_fetch_add(&counter, 1) + 1) * 0x9E3779B97F4A7C15ull);
    char tail[25];
    for (int i = 0; i < 24; i++) {
        x ^= x >> 33; /* splitmix-style mixing: unique, not secret */
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 29;
        tail[i] = alnum[x % (sizeof alnum - 1)];
        x += 0x9E3779B97F4A7C15ull;
    }
    tail[24] = '\0';
    snprintf(buf, cap, "%s%s", prefix, tail);
}
