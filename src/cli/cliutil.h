/*
 * cliutil.h — helpers shared by the commands in src/cli/.
 *
 * Loading the configuration the same way everywhere (one message format,
 * one exit code), reporting usage errors, parsing options with getopt_long
 * without its own messages, and printing aligned tables.
 *
 *     static const struct option opts[] = {{"config", required_argument, 0, 'c'}, ...};
 *     int c;
 *     lx_cli_getopt_reset();
 *     while ((c = lx_cli_getopt(argc, argv, "c:h", opts)) != -1) {
 *         if (c == '?') return LX_EXIT_USAGE;   // message already printed
 *         ...
 *     }
 */
#ifndef LX_CLI_CLIUTIL_H
#define LX_CLI_CLIUTIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

/* Loads the configuration (`path`, or the default search when NULL). On
 * error prints "llmux: MESSAGE" (FILE:LINE:COL: ... for a bad file) to
 * stderr and returns LX_EXIT_USAGE (2); else 0 and *out is the caller's. */
int lx_cli_load_config(const char *path, lx_config **out);

/* Prints "llmux CMD: MESSAGE (see 'llmux CMD --help')" to stderr and returns
 * LX_EXIT_USAGE. */
int lx_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long for commands: argv[0] is the command name; resets state on
 * the first call of a parse (lx_cli_getopt_reset); an unknown option or a
 * missing argument prints a usage error and returns '?'. Options may come
 * after operands. */
void lx_cli_getopt_reset(void);
int lx_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

bool lx_cli_is_tty(int fd);

/* ---- tables ---------------------------------------------------------------
 * Columns are as wide as their widest cell (counted in characters, so UTF-8
 * text aligns), separated by two spaces; the last column is not padded. */
typedef struct lx_table lx_table;

/* New table with `ncols` columns and these headers (copied); NULL on out of
 * memory. Caller frees with lx_table_free. */
lx_table *lx_table_new(size_t ncols, const char *const *headers);
/* Right-aligns a column (numbers). */
void lx_table_align_right(lx_table *t, size_t col);
/* Adds a row of ncols cells (copied; NULL prints as "-"). */
lx_status lx_table_add(lx_table *t, const char *const *cells);
void lx_table_print(const lx_table *t, FILE *f);
void lx_table_free(lx_table *t);

#endif
