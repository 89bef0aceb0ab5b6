/*
 * cmd_complete.c — `llmux complete`: raw text continuation with the embedded
 * engine. No chat template: the prompt is tokenized as plain text (BOS added
 * as the model asks) and the continuation is printed as it is generated.
 * An empty prompt starts from BOS alone. --ids prints the generated token ids
 * as a JSON array instead (for tests).
 *
 * Sampling defaults here follow llama2.c's `run` (temperature 1.0 would be
 * its default; we use 0.8) with top-p 0.9 and no top-k / min-p, so that
 * `--temperature 1 --top-p 0.9 --seed S` reproduces llama2.c runs exactly.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/buf.h"
#include "engine/engine.h"
#include "engine/tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: llmux complete --model FILE [OPTIONS] [PROMPT]\n\n"
               "Continues PROMPT with a local GGUF model (no chat template). An empty\n"
               "prompt starts from the beginning-of-sequence token.\n\n"
               "options:\n"
               "  -m, --model FILE        GGUF model file (required)\n"
               "  -t, --temperature T     0 = greedy (default 0.8)\n"
               "  -p, --top-p P           nucleus sampling, 1 = off (default 0.9)\n"
               "  -k, --top-k K           0 = off (default 0)\n"
               "      --min-p P           0 = off (default 0)\n"
               "      --repeat-penalty R  1 = off (default 1)\n"
               "  -s, --seed S            random seed, 0 = from the clock (default 0)\n"
               "  -n, --max-tokens N      tokens to generate (default 256)\n"
               "      --threads N         compute threads (default: all CPUs)\n"
               "      --ctx N             context size (default: the model's)\n"
               "      --prompt-ids IDS    prompt as token ids (\"1 403 407\") instead of text\n"
               "      --ids               print the generated ids as a JSON array\n"
               "      --no-eos            do not stop at end-of-sequence tokens\n"
               "  -h, --help              this help\n");
}

typedef struct out_state {
    bool ids;
    bool tty;
    int32_t *v;
    size_t n, cap;
} out_state;

static lx_status on_token(void *ud, const lx_gen_token *t)
{
    out_state *o = ud;
    if (o->ids) {
        if (t->id < 0)
            return LX_OK;
        if (o->n == o->cap) {
            size_t nc = o->cap ? 2 * o->cap : 256;
            int32_t *nv = realloc(o->v, nc * sizeof *nv);
            if (!nv)
                return LX_ERR_NOMEM;
            o->v = nv;
            o->cap = nc;
        }
        o->v[o->n++] = t->id;
        return LX_OK;
    }
    if (t->len) {
        fwrite(t->text, 1, t->len, stdout);
        if (o->tty)
            fflush(stdout);
    }
    return LX_OK;
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static int bad(const char *opt, const char *val)
{
    fprintf(stderr, "llmux complete: invalid value '%s' for %s (see --help)\n", val ? val : "",
            opt);
    return LX_EXIT_USAGE;
}

static int parse_ids(const char *s, int32_t **out, size_t *n)
{
    size_t cap = 16;
    int32_t *v = malloc(cap * sizeof *v);
    *n = 0;
    while (v && *s) {
        while (*s == ' ' || *s == ',' || *s == '\t' || *s == '[' || *s == ']')
            s++;
        if (!*s)
            break;
        char *end;
        errno = 0;
        long x = strtol(s, &end, 10);
        if (end == s || errno || x < 0 || x > INT32_MAX) {
            free(v);
            return -1;
        }
        if (*n == cap) {
            int32_t *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
            cap *= 2;
        }
        v[(*n)++] = (int32_t)x;
        s = end;
    }
    *out = v;
    return v ? 0 : -1;
}

int lx_cmd_complete(int argc, char **argv)
{
    const char *model = NULL, *prompt_ids = NULL;
    lx_buf prompt;
    lx_buf_init(&prompt, 1 << 24);
    lx_gen_params gp = lx_gen_defaults();
    gp.sample.temperature = 0.8f;
    gp.sample.top_p = 0.9f;
    gp.sample.top_k = 0;
    gp.sample.min_p = 0;
    gp.sample.repeat_penalty = 1.0f;
    gp.max_tokens = 256;
    int threads = 0, ctx = 0, rc = LX_EXIT_RUNTIME, n_words = 1;
    out_state o = {.tty = isatty(1)};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
#define OPT(s, l) (!strcmp(a, s) || !strcmp(a, l))
        if (OPT("-h", "--help")) {
            usage(stdout);
            return LX_EXIT_OK;
        } else if (OPT("-m", "--model")) {
            if (!v)
                return bad(a, v);
            model = v, i++;
        } else if (OPT("-t", "--temperature")) {
            if (!v || !parse_num(v, 0, 100, &d))
                return bad(a, v);
            gp.sample.temperature = (float)d, i++;
        } else if (OPT("-p", "--top-p")) {
            if (!v || !parse_num(v, 0, 1, &d))
                return bad(a, v);
            gp.sample.top_p = (float)d, i++;
        } else if (OPT("-k", "--top-k")) {
            if (!v || !parse_num(v, 0, 1e9, &d))
                return bad(a, v);
            gp.sample.top_k = (int)d, i++;
        } else if (OPT("--min-p", "--min-p")) {
            if (!v || !parse_num(v, 0, 1, &d))
                return bad(a, v);
            gp.sample.min_p = (float)d, i++;
        } else if (OPT("--repeat-penalty", "--repeat-penalty")) {
            if (!v || !parse_num(v, 0, 100, &d))
                return bad(a, v);
            gp.sample.repeat_penalty = (float)d, i++;
        } else if (OPT("-s", "--seed")) {
            char *end;
            if (!v)
                return bad(a, v);
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || *end || end == v || v[0] == '-')
                return bad(a, v);
            gp.sample.seed = s, i++;
        } else if (OPT("-n", "--max-tokens")) {
            if (!v || !parse_num(v, 1, 1e9, &d))
                return bad(a, v);
            gp.max_tokens = (int)d, i++;
        } else if (OPT("--threads", "--threads")) {
            if (!v || !parse_num(v, 1, 1024, &d))
                return bad(a, v);
            threads = (int)d, i++;
        } else if (OPT("--ctx", "--ctx")) {
            if (!v || !parse_num(v, 1, 1 << 30, &d))
                return bad(a, v);
            ctx = (int)d, i++;
        } else if (OPT("--prompt-ids", "--prompt-ids")) {
            if (!v)
                return bad(a, v);
            prompt_ids = v, i++;
        } else if (OPT("--ids", "--ids")) {
            o.ids = true;
        } else if (OPT("--no-eos", "--no-eos")) {
            gp.stop_at_eos = false;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "llmux complete: unknown option '%s' (see --help)\n", a);
            return LX_EXIT_USAGE;
        } else {
            argv[n_words++] = argv[i]; /* positional words, compacted in place */
        }
#undef OPT
    }
    for (int i = 1; i < n_words; i++)
        if ((prompt.len && lx_buf_putc(&prompt, ' ') != LX_OK) ||
            lx_buf_puts(&prompt, argv[i]) != LX_OK) {
            fprintf(stderr, "llmux complete: prompt too long\n");
            lx_buf_free(&prompt);
            return LX_EXIT_USAGE;
        }
    if (!model) {
        fprintf(stderr, "llmux complete: --model FILE is required (see --help)\n");
        return LX_EXIT_USAGE;
    }

    lx_engine *e = NULL;
    lx_session *s = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    lx_error err;
    lx_error_clear(&err);
    lx_engine_opts eo = {.n_threads = threads, .n_ctx = ctx};
    if (lx_engine_new(model, &eo, &e, &err) != LX_OK || lx_engine_load(e, &err) != LX_OK)
        goto fail;
    const lx_engine_info *info = lx_engine_get_info(e);
    if (prompt_ids) {
        if (parse_ids(prompt_ids, &ids, &n_ids) != 0) {
            fprintf(stderr, "llmux complete: invalid --prompt-ids '%s'\n", prompt_ids);
            rc = LX_EXIT_USAGE;
            goto done;
        }
    } else if (prompt.len) {
        if (lx_engine_tokenize(e, prompt.data, prompt.len, true, false, &ids, &n_ids, &err) !=
            LX_OK)
            goto fail;
    }
    if (n_ids == 0) {
        free(ids);
        ids = malloc(sizeof *ids);
        if (!ids || info->bos_id < 0) {
            fprintf(stderr, "llmux complete: %s: the model has no BOS token; give a prompt\n",
                    model);
            goto done;
        }
        ids[0] = info->bos_id;
        n_ids = 1;
        gp.detok_flags = LX_DECODE_STRIP_SPACE;
    }
    if (!o.ids && !lx_engine_tokenizer(e))
        fprintf(stderr, "llmux complete: %s: no tokenizer available, printing ids\n", model),
            o.ids = true;
    if (lx_session_new(e, ctx, &s, &err) != LX_OK)
        goto fail;
    gp.on_token = on_token;
    gp.ud = &o;
    lx_gen_result res;
    if (lx_session_generate(s, ids, n_ids, &gp, &res, &err) != LX_OK)
        goto fail;
    if (o.ids) {
        putchar('[');
        for (size_t i = 0; i < o.n; i++)
            printf("%s%d", i ? "," : "", o.v[i]);
        printf("]\n");
    } else {
        putchar('\n');
    }
    fflush(stdout);
    rc = LX_EXIT_OK;
    goto done;
fail:
    if (o.n && !o.ids)
        putchar('\n');
    fflush(stdout);
    fprintf(stderr, "llmux complete: %s\n", err.message);
    rc = LX_EXIT_RUNTIME;
done:
    free(o.v);
    free(ids);
    lx_session_free(s);
    lx_engine_free(e);
    lx_buf_free(&prompt);
    return rc;
}
