/*
 * Arena: a singly linked list of blocks. Small allocations are carved from
 * the current block; a large one gets a block of its own, linked behind the
 * current block so the current one keeps serving small requests.
 */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE 8192
#define FIRST_BLOCK 1024 /* blocks double from here up to BLOCK_SIZE */
#define ALIGN 16

typedef struct block {
    struct block *next;
    size_t used, size;
    _Alignas(ALIGN) unsigned char data[];
} block;

struct lx_arena {
    block *head;
    size_t total;
    size_t next; /* size of the next regular block; 0 = FIRST_BLOCK */
};

lx_arena *lx_arena_new(void)
{
    return calloc(1, sizeof(lx_arena));
}

void lx_arena_free(lx_arena *a)
{
    if (!a)
        return;
    block *b = a->head;
    while (b) {
        block *n = b->next;
        free(b);
        b = n;
    }
    free(a);
}

static block *new_block(size_t size)
{
    if (size > SIZE_MAX - sizeof(block))
        return NULL;
    block *b = malloc(sizeof(block) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->used = 0;
    b->size = size;
    return b;
}

void *lx_arena_alloc(lx_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ALIGN)
        return NULL;
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    block *b = a->head;
    if (b && b->size - b->used >= need) {
        void *p = b->data + b->used;
        b->used += need;
        a->total += need;
        memset(p, 0, need);
        return p;
    }
    if (need > BLOCK_SIZE / 4) {
        block *big = new_block(need);
        if (!big)
            return NULL;
        big->used = need;
        if (b) {
            big->next = b->next;
            b->next = big;
        } else {
            a->head = big;
        }
        a->total += need;
        memset(big->data, 0, need);
        return big->data;
    }
    /* Most arenas hold a small request or a few strings: start small and
     * double, so a short-lived arena costs ~1 KB instead of 8. */
    size_t size = a->next ? a->next : FIRST_BLOCK;
    if (size < need)
        size = need;
    block *nb = new_block(size);
    if (!nb)
        return NULL;
    a->next = size * 2 < BLOCK_SIZE ? size * 2 : BLOCK_SIZE;
    nb->next = b;
    a->head = nb;
    nb->used = need;
    a->total += need;
    memset(nb->data, 0, need);
    return nb->data;
}

void *lx_arena_calloc(lx_arena *a, size_t n, size_t sz)
{
    if (sz && n > SIZE_MAX / sz)
        return NULL;
    return lx_arena_alloc(a, n * sz);
}

char *lx_arena_strndup(lx_arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    if (n == SIZE_MAX)
        return NULL;
    char *p = lx_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *lx_arena_strdup(lx_arena *a, const char *s)
{
    return s ? lx_arena_strndup(a, s, strlen(s)) : NULL;
}

void *lx_arena_grow(lx_arena *a, void *old, size_t old_n, size_t new_n, size_t sz)
{
    void *p = lx_arena_calloc(a, new_n, sz);
    if (p && old && old_n)
        memcpy(p, old, (old_n < new_n ? old_n : new_n) * sz);
    return p;
}

size_t lx_arena_used(const lx_arena *a)
{
    return a->total;
}
