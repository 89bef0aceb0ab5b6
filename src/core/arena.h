/*
 * arena.h — allocate by lifetime.
 *
 * An arena hands out memory that lives until lx_arena_free(); nothing is
 * freed one by one. A request, a response and everything they point to live
 * in one arena, so a whole request is released with one call.
 *
 * Allocation failures return NULL (never abort); callers map that to
 * LX_ERR_NOMEM.
 */
#ifndef LX_CORE_ARENA_H
#define LX_CORE_ARENA_H

#include <stddef.h>

typedef struct lx_arena lx_arena;

/* New empty arena; NULL on out of memory. Caller owns it. */
lx_arena *lx_arena_new(void);
/* Frees the arena and every block allocated from it. NULL is a no-op. */
void lx_arena_free(lx_arena *a);

/* Zeroed memory aligned for any type; NULL on out of memory or overflow. */
void *lx_arena_alloc(lx_arena *a, size_t n);
/* Zeroed array of n elements of size sz; NULL on overflow. */
void *lx_arena_calloc(lx_arena *a, size_t n, size_t sz);
/* Copies of strings; NULL input gives NULL output. */
char *lx_arena_strdup(lx_arena *a, const char *s);
char *lx_arena_strndup(lx_arena *a, const char *s, size_t n);
/* Grows an arena array (old contents copied); old storage is not reused. */
void *lx_arena_grow(lx_arena *a, void *old, size_t old_n, size_t new_n, size_t sz);

/* Bytes handed out so far (for caps and metrics). */
size_t lx_arena_used(const lx_arena *a);

#endif
