/* counters.c — windowed counters under one mutex (see counters.h). */
#include "store/counters.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctr {
    char *name;
    int64_t window;
    double value;
} ctr;

struct lx_counters {
    pthread_mutex_t mu;
    ctr *items;
    size_t n, cap;
};

lx_counters *lx_counters_new(void)
{
    lx_counters *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void lx_counters_free(lx_counters *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->items[i].name);
    free(c->items);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Finds a counter, creating it (window, 0) when absent; NULL on NOMEM. */
static ctr *find(lx_counters *c, const char *name, int64_t window)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->items[i].name, name) == 0)
            return &c->items[i];
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        ctr *p = realloc(c->items, cap * sizeof *p);
        if (!p)
            return NULL;
        c->items = p;
        c->cap = cap;
    }
    char *dup = strdup(name);
    if (!dup)
        return NULL;
    c->items[c->n] = (ctr){.name = dup, .window = window, .value = 0};
    return &c->items[c->n++];
}

lx_status lx_counters_apply(lx_counters *c, lx_counter_op *ops, size_t n, size_t *failed)
{
    lx_status st = LX_OK;
    pthread_mutex_lock(&c->mu);
    /* Pass 1: roll windows forward and check limits. */
    for (size_t i = 0; i < n; i++) {
        ctr *k = find(c, ops[i].name, ops[i].window);
        if (!k) {
            st = LX_ERR_NOMEM;
            goto out;
        }
        if (k->window < ops[i].window) {
            k->window = ops[i].window;
            k->value = 0;
        }
        ops[i].value = k->window == ops[i].window ? k->value : 0;
        bool check =
            ops[i].mode == LX_CTR_CHECK || (ops[i].mode == LX_CTR_LIMIT && ops[i].delta > 0);
        if (check && k->window == ops[i].window && ops[i].limit > 0 && k->value >= ops[i].limit) {
            if (failed)
                *failed = i;
            st = LX_ERR_LIMIT;
            goto out;
        }
    }
    /* Pass 2: apply (an op for a finished window is dropped). */
    for (size_t i = 0; i < n; i++) {
        ctr *k = find(c, ops[i].name, ops[i].window);
        if (k && k->window == ops[i].window && ops[i].mode != LX_CTR_CHECK) {
            k->value += ops[i].delta;
            if (k->value < 0 && k->value > -1e-9)
                k->value = 0;
        }
    }
out:
    pthread_mutex_unlock(&c->mu);
    return st;
}
