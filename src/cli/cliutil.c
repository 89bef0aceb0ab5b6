/*
 * cliutil.c — see cliutil.h.
 */
#include "cli/cliutil.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"

int lx_cli_load_config(const char *path, lx_config **out)
{
    lx_error err;
    lx_error_clear(&err);
    *out = NULL;
    if (lx_config_load(path, out, &err) != LX_OK) {
        fprintf(stderr, "llmux: %s\n", err.message[0] ? err.message : "cannot load the config");
        return LX_EXIT_USAGE;
    }
    return LX_EXIT_OK;
}

int lx_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "llmux %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'llmux %s --help')\n", cmd);
    return LX_EXIT_USAGE;
}

void lx_cli_getopt_reset(void)
{
    optind = 0; /* glibc: 0 reinitialises the scanner completely */
    opterr = 0;
}

int lx_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    char spec[64];
    /* '+'-less: GNU permutation, options may follow operands; the leading
     * ':' makes a missing value come back as ':' */
    snprintf(spec, sizeof spec, ":%s", shortopts);
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c != '?' && c != ':')
        return c;
    const char *arg = optind > 0 && optind - 1 < argc ? argv[optind - 1] : "?";
    if (c == ':')
        lx_cli_usage_error(argv[0], "option '%s' needs a value", arg);
    else if (!strncmp(arg, "--", 2) || !optopt)
        lx_cli_usage_error(argv[0], "unknown option '%s'", arg);
    else
        lx_cli_usage_error(argv[0], "unknown option '-%c'", optopt);
    return '?';
}

bool lx_cli_is_tty(int fd)
{
    return isatty(fd) == 1;
}

/* ---- tables ------------------------------------------------------------- */

struct lx_table {
    size_t ncols;
    char **cells; /* rows * ncols, row 0 = headers */
    size_t nrows, cap_rows;
    bool *right;
};

lx_table *lx_table_new(size_t ncols, const char *const *headers)
{
    if (ncols == 0)
        return NULL;
    lx_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->right = calloc(ncols, sizeof *t->right);
    if (!t->right || lx_table_add(t, headers) != LX_OK) {
        lx_table_free(t);
        return NULL;
    }
    return t;
}

void lx_table_align_right(lx_table *t, size_t col)
{
    if (t && col < t->ncols)
        t->right[col] = true;
}

lx_status lx_table_add(lx_table *t, const char *const *cells)
{
    if (t->nrows == t->cap_rows) {
        size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
        char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (!c)
            return LX_ERR_NOMEM;
        t->cells = c;
        t->cap_rows = cap;
    }
    char **row = &t->cells[t->nrows * t->ncols];
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "-");
        if (!row[i]) {
            while (i > 0)
                free(row[--i]);
            return LX_ERR_NOMEM;
        }
    }
    t->nrows++;
    return LX_OK;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

void lx_table_print(const lx_table *t, FILE *f)
{
    size_t *w = calloc(t->ncols, sizeof *w);
    if (!w)
        return;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t x = width(t->cells[r * t->ncols + c]);
            if (x > w[c])
                w[c] = x;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            size_t pad = w[c] - width(s);
            bool last = c + 1 == t->ncols;
            if (t->right[c])
                fprintf(f, "%*s%s", (int)pad, "", s);
            else
                fprintf(f, "%s%*s", s, last ? 0 : (int)pad, "");
            fputs(last ? "\n" : "  ", f);
        }
    }
    free(w);
}

void lx_table_free(lx_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->right);
    free(t);
}
