/*
 * ytree.h — a small YAML tree with positions, and typed readers over it.
 *
 * Internal to src/config/. libfyaml parses the text into events; ytree.c
 * builds from them a tree of scalars, sequences and mappings in an arena,
 * each node carrying its 1-based line and column, so every complaint about a
 * value can say "FILE:LINE:COL: ...". Anchors are ignored, aliases and tags
 * other than the core ones are refused, only one document is accepted, and
 * duplicate mapping keys are errors.
 *
 * The readers (lx_y_string, lx_y_int, lx_y_map, ...) check a node against
 * what the schema expects and fail with LX_ERR_CONFIG and a message that
 * names the path of the offending key ("providers[0].base_url: ...").
 * Mappings are walked against a table of fields, so a schema is data:
 * adding a key is adding a row.
 */
#ifndef LX_CONFIG_YTREE_H
#define LX_CONFIG_YTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/status.h"

typedef enum { LX_Y_SCALAR, LX_Y_SEQ, LX_Y_MAP } lx_ykind;

typedef struct lx_ynode lx_ynode;
struct lx_ynode {
    lx_ykind kind;
    int line, col;   /* 1-based */
    char *text;      /* scalar: NUL-terminated copy */
    size_t len;      /* scalar: byte length of text */
    bool plain;      /* scalar: unquoted (so `~`, `null`, `` are null) */
    lx_ynode **kids; /* seq: items; map: key0, value0, key1, value1, ... */
    size_t n_kids, cap_kids;
};

/* Parses one YAML document of `len` bytes. *root is NULL for an empty
 * document. Nodes live in `arena`. Syntax errors: LX_ERR_CONFIG with
 * "NAME:LINE:COL: message"; libfyaml prints nothing. */
lx_status lx_ytree_parse(lx_arena *arena, const char *text, size_t len, const char *name,
                         lx_ynode **root, lx_error *err);

/* Reading context: where we are, for messages. */
typedef struct lx_yctx {
    const char *name; /* file name used in messages */
    lx_arena *arena;  /* destination of copied strings */
    lx_error *err;
    char path[160];  /* path of the current mapping: "", "providers[0]", ... */
    const char *key; /* key being read in lx_y_map, NULL outside */
} lx_yctx;

/* Fails with LX_ERR_CONFIG: "NAME:LINE:COL: <printf message>". */
lx_status lx_y_fail(lx_yctx *y, const lx_ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "providers[0].base_url" (or just the key at the top level) for messages;
 * written into buf. */
const char *lx_y_where(const lx_yctx *y, char *buf, size_t cap);

bool lx_y_is_null(const lx_ynode *n);

/* Typed readers of the value of the current key. Strings are copied into
 * y->arena. Numbers must be plain scalars. */
lx_status lx_y_string(lx_yctx *y, const lx_ynode *n, char **out);
lx_status lx_y_int(lx_yctx *y, const lx_ynode *n, int64_t min, int64_t max, int64_t *out);
lx_status lx_y_number(lx_yctx *y, const lx_ynode *n, double min, double max, double *out);
/* A sequence of non-empty strings. */
lx_status lx_y_strings(lx_yctx *y, const lx_ynode *n, char ***out, size_t *n_out);
/* One of `choices` (NULL-terminated); *out is its index. */
lx_status lx_y_choice(lx_yctx *y, const lx_ynode *n, const char *const *choices, int *out);

/* One field of a mapping schema. `parse` reads the value into obj. */
typedef struct lx_yfield {
    const char *key;
    lx_status (*parse)(lx_yctx *y, const lx_ynode *value, void *obj);
} lx_yfield;

/* Walks mapping `n` (anything else is an error naming `what`), calling the
 * field's parser for each key with y->key set; keys must be in `fields`.
 * `path` is the mapping's path ("" at the top level); y->path is restored on
 * return. */
lx_status lx_y_map(lx_yctx *y, const lx_ynode *n, const char *path, const lx_yfield *fields,
                   size_t n_fields, void *obj);

/* Looks up a key of a mapping node; NULL when absent. */
const lx_ynode *lx_y_get(const lx_ynode *map, const char *key);

#endif
