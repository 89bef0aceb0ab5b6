/*
 * redact_int.h — the redaction map, shared by redact.c (which builds it)
 * and restore.c (which reads it). Not a public interface.
 */
#ifndef LX_GUARD_REDACT_INT_H
#define LX_GUARD_REDACT_INT_H

#include <stddef.h>

#include "guard/redact.h"

/* One distinct value and its placeholder. */
typedef struct rx_entry {
    char *type;  /* heap */
    char *value; /* heap, vlen bytes (+ NUL) */
    size_t vlen;
    char *ph; /* heap: "[TYPE_n]" */
    size_t plen;
} rx_entry;

typedef struct rx_counter {
    char *type; /* borrowed from the first entry of the type */
    unsigned next;
} rx_counter;

struct lx_redaction {
    rx_entry *e;
    size_t n, cap;
    size_t *slots; /* hash of value -> entry index + 1; 0 empty */
    size_t n_slots;
    size_t *sorted; /* entry indexes by placeholder (memcmp order) */
    size_t maxlen;  /* longest placeholder */
    rx_counter *ctr;
    size_t n_ctr, cap_ctr;
    char **taken; /* placeholder-shaped literals found in the request, sorted */
    size_t n_taken, cap_taken;
};

#endif
