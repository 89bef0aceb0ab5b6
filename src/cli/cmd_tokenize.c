/*
 * llmux tokenize — print the token ids of a text for a GGUF model.
 *
 *   llmux tokenize --model FILE [--no-special] [--no-bos] [TEXT...]
 *
 * Reads the text from stdin when no TEXT is given (several TEXT arguments
 * are joined with single spaces). Prints one JSON array of ids. BOS/EOS are
 * added as the model asks (tokenizer.ggml.add_bos_token); special-token text
 * such as "<|im_start|>" is recognised unless --no-special.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/buf.h"
#include "engine/gguf.h"
#include "engine/tokenizer.h"

#define STDIN_CAP ((size_t)64 << 20)

static void usage(FILE *f)
{
    fprintf(f, "usage: llmux tokenize --model FILE [--no-special] [--no-bos] [TEXT...]\n\n"
               "Prints the token ids of TEXT (or of stdin when no TEXT is given) as a JSON\n"
               "array, using the tokenizer stored in the GGUF model FILE.\n\n"
               "options:\n"
               "  -m, --model FILE   GGUF model whose tokenizer to use (required)\n"
               "  --no-special       treat special-token text like <|im_start|> as plain text\n"
               "  --no-bos           do not add BOS/EOS even when the model asks for them\n"
               "  -h, --help         this help\n");
}

static int read_stdin(lx_buf *b)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (lx_buf_append(b, chunk, n) != LX_OK) {
            fprintf(stderr, "llmux tokenize: input longer than %zu bytes\n", STDIN_CAP);
            return -1;
        }
    if (ferror(stdin)) {
        fprintf(stderr, "llmux tokenize: reading stdin: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int lx_cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL;
    bool parse_special = true, add_special = true;
    int rc = LX_EXIT_RUNTIME, first_text = 0;
    lx_buf text;
    lx_buf_init(&text, STDIN_CAP);
    lx_gguf *g = NULL;
    lx_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    lx_error err;
    lx_error_clear(&err);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            rc = LX_EXIT_OK;
            goto out;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "llmux tokenize: %s needs a file name\n", a);
                rc = LX_EXIT_USAGE;
                goto out;
            }
            model = argv[++i];
        } else if (!strncmp(a, "--model=", 8)) {
            model = a + 8;
        } else if (!strcmp(a, "--no-special")) {
            parse_special = false;
        } else if (!strcmp(a, "--no-bos")) {
            add_special = false;
        } else if (!strcmp(a, "--")) {
            first_text = i + 1;
            break;
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "llmux tokenize: unknown option '%s' (see --help)\n", a);
            rc = LX_EXIT_USAGE;
            goto out;
        } else {
            first_text = i;
            break;
        }
    }
    if (!model) {
        fprintf(stderr, "llmux tokenize: --model FILE is required (see --help)\n");
        rc = LX_EXIT_USAGE;
        goto out;
    }
    if (first_text > 0 && first_text < argc) {
        for (int i = first_text; i < argc; i++)
            if ((i > first_text && lx_buf_putc(&text, ' ') != LX_OK) ||
                lx_buf_puts(&text, argv[i]) != LX_OK) {
                fprintf(stderr, "llmux tokenize: text too long\n");
                goto out;
            }
    } else if (read_stdin(&text) != 0) {
        goto out;
    }

    if (lx_gguf_open(model, &g, &err) != LX_OK) {
        fprintf(stderr, "llmux tokenize: %s: %s\n", model, err.message);
        goto out;
    }
    if (lx_tokenizer_new(g, &tok, &err) != LX_OK) {
        fprintf(stderr, "llmux tokenize: %s: %s\n", model, err.message);
        goto out;
    }
    if (lx_tokenizer_encode(tok, text.data ? text.data : "", text.len, add_special, parse_special,
                            &ids, &n, &err) != LX_OK) {
        fprintf(stderr, "llmux tokenize: %s\n", err.message);
        goto out;
    }
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf(i ? ",%d" : "%d", (int)ids[i]);
    printf("]\n");
    rc = fflush(stdout) == 0 ? LX_EXIT_OK : LX_EXIT_RUNTIME;
out:
    free(ids);
    lx_tokenizer_free(tok);
    if (g)
        lx_gguf_close(g);
    lx_buf_free(&text);
    return rc;
}
