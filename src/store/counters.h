/*
 * counters.h — windowed numeric counters in memory, applied atomically.
 *
 * The counter part of the store interface for a single instance: a table of
 * (name, window, value) under one mutex. lx_counters_apply checks every op
 * first and applies all of them only when all pass, so a set of budgets and
 * limits is reserved as one step. Window rules are those of
 * lx_store_ops.counter_apply (store.h). Names are copied.
 *
 * Ownership: lx_counters_new returns a table freed with lx_counters_free.
 */
#ifndef LX_STORE_COUNTERS_H
#define LX_STORE_COUNTERS_H

#include "store/store.h"

typedef struct lx_counters lx_counters;

lx_counters *lx_counters_new(void); /* NULL on out of memory */
void lx_counters_free(lx_counters *c);
/* LX_ERR_LIMIT (*failed set) when an op would pass its limit; LX_ERR_NOMEM. */
lx_status lx_counters_apply(lx_counters *c, lx_counter_op *ops, size_t n, size_t *failed);

#endif
