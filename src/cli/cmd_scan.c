/*
 * llmux scan — find sensitive data in a file or stdin with the privacy
 * guard's scanner (src/guard/scanner.h).
 *
 *   llmux scan [--json] [--config F | --no-config] [--term TYPE=WORD]...
 *              [--regex TYPE=RE]... [--disable TYPE,...] [FILE|-]
 *
 * The configuration's `guard:` section (terms, regexes, disabled types) is
 * applied like in the router: from --config F, else from the file the other
 * commands would load (LLMUX_CONFIG, ./llmux.yaml, ~/.config/llmux/
 * config.yaml); --no-config skips it. Command-line terms and regexes are
 * added to the configured ones, --disable to the configured disable list.
 *
 * --json prints {"findings":[{"type":"EMAIL","start":12,"end":30},...]} with
 * byte offsets (start inclusive, end exclusive). --redact prints the text
 * as redact mode would send it ("[EMAIL_1]" for each value, the same value
 * the same placeholder; guard/redact.h), with --json as an extra
 * "redacted" member. Otherwise the text is
 * printed with each finding marked "[TYPE: text]" (in colour on a terminal)
 * followed by one summary line per type. Exit 0 whether or not anything was
 * found, 2 on usage / configuration errors, 1 on I/O errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "config/config.h"
#include "core/buf.h"
#include "guard/redact.h"
#include "guard/scanner.h"
#include "proto/json.h"

#define SCAN_MAX_INPUT ((size_t)256 << 20)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: llmux scan [--json] [--redact] [--config F | --no-config] [--term TYPE=WORD]\n"
            "                  [--regex TYPE=RE] [--disable TYPE,...] [FILE|-]\n\n"
            "Finds sensitive data in FILE (or stdin): EMAIL, PHONE, CREDIT_CARD, IBAN, US_SSN,\n"
            "IP_ADDRESS, API_KEY, AWS_SECRET, PRIVATE_KEY, JWT, PASSWORD, PERSON, ADDRESS,\n"
            "plus your own terms and regexes.\n\n"
            "  --json             print {\"findings\":[{\"type\":..,\"start\":..,\"end\":..}]}\n"
            "                     (byte offsets, end exclusive)\n"
            "  --redact           print the text as redact mode sends it ([EMAIL_1], ...);\n"
            "                     with --json: a \"redacted\" member\n"
            "  --config F         use the guard: section of config file F (terms, regexes,\n"
            "                     disable); default: the usual config file, if any\n"
            "  --no-config        ignore every config file\n"
            "  --term TYPE=WORD   a whole word to find, case-insensitive (repeatable)\n"
            "  --regex TYPE=RE    a regex to find (Vectorscan syntax; repeatable)\n"
            "  --disable T1,T2    turn built-in types off\n"
            "  --help             this text\n\n"
            "Exit status: 0 (findings or not), 1 I/O error, 2 usage or configuration error.\n");
}

static int read_all(FILE *f, lx_buf *b)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (lx_buf_append(b, chunk, n) != LX_OK)
            return -2;
    return ferror(f) ? -1 : 0;
}

/* TYPE=VALUE: splits in place; NULL value on a bad shape. */
static char *split_kv(char *arg)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return NULL;
    *eq = 0;
    return eq + 1;
}

static void print_marked(const char *text, size_t len, const lx_findings *f, bool tty)
{
    size_t pos = 0;
    for (size_t i = 0; i < f->n; i++) {
        const lx_finding *x = &f->items[i];
        fwrite(text + pos, 1, x->start - pos, stdout);
        if (tty)
            printf("\033[1;31m%.*s\033[0;2m[%s]\033[0m", (int)(x->end - x->start), text + x->start,
                   x->type);
        else
            printf("[%s: %.*s]", x->type, (int)(x->end - x->start), text + x->start);
        pos = x->end;
    }
    fwrite(text + pos, 1, len - pos, stdout);
    if (len && text[len - 1] != '\n')
        putchar('\n');
    if (f->n == 0) {
        printf("-- no findings\n");
        return;
    }
    printf("-- %zu finding%s\n", f->n, f->n == 1 ? "" : "s");
    for (size_t i = 0; i < f->n; i++) { /* one line per type, first-seen order */
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(f->items[j].type, f->items[i].type);
        if (seen)
            continue;
        size_t count = 0;
        for (size_t j = i; j < f->n; j++)
            count += !strcmp(f->items[j].type, f->items[i].type);
        printf("%-16s %zu\n", f->items[i].type, count);
    }
}

/* text with f's findings (from lx_scan) replaced by placeholders, as
 * redact mode does to a one-message request; malloc'd, NULL with err. */
static char *redact_text(const char *text, lx_findings *f, lx_error *err)
{
    char *out = NULL;
    lx_request *req = lx_request_new(), *red = NULL;
    lx_redaction *map = NULL;
    if (!req || lx_request_add_text(req, LX_ROLE_USER, text) != LX_OK) {
        lx_fail(err, LX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < f->n; i++) { /* a plain scan: place them in message 0, part 0 */
        f->items[i].message = 0;
        f->items[i].part = 0;
        f->items[i].field = LX_SCAN_FIELD_TEXT;
    }
    if (lx_redact_request(req, f, &red, &map, err) != LX_OK)
        goto done;
    if (!(out = strdup(red->messages[0].parts[0].text)))
        lx_fail(err, LX_ERR_NOMEM, "out of memory");
done:
    lx_request_free(red);
    lx_redaction_free(map);
    lx_request_free(req);
    return out;
}

/* Adds the config's guard: section to cfg: its terms and regexes come
 * first, then the command line's. The new arrays (*t, *r) borrow strings
 * from g and from argv; the caller frees the arrays. -1 after a message. */
static int apply_guard(const lx_guard_cfg *g, lx_scan_config *cfg, lx_scan_term **t,
                       lx_scan_regex **r)
{
    for (size_t i = 0; i < g->n_disabled; i++) {
        int k = lx_scan_type_from_name(g->disabled[i]);
        if (k < 0) {
            fprintf(stderr, "llmux scan: guard.disable: unknown type '%s'\n", g->disabled[i]);
            return -1;
        }
        cfg->disabled |= 1u << k;
    }
    *t = calloc(g->n_terms + cfg->n_terms + 1, sizeof **t);
    *r = calloc(g->n_regexes + cfg->n_regexes + 1, sizeof **r);
    if (!*t || !*r) {
        fprintf(stderr, "llmux scan: out of memory\n");
        return -1;
    }
    size_t nt = 0, nr = 0;
    for (size_t i = 0; i < g->n_terms; i++)
        (*t)[nt++] = (lx_scan_term){g->terms[i].type, g->terms[i].word};
    for (size_t i = 0; i < cfg->n_terms; i++)
        (*t)[nt++] = cfg->terms[i];
    for (size_t i = 0; i < g->n_regexes; i++)
        (*r)[nr++] =
            (lx_scan_regex){g->regexes[i].type, g->regexes[i].pattern, g->regexes[i].caseless};
    for (size_t i = 0; i < cfg->n_regexes; i++)
        (*r)[nr++] = cfg->regexes[i];
    cfg->terms = *t;
    cfg->n_terms = nt;
    cfg->regexes = *r;
    cfg->n_regexes = nr;
    return 0;
}

int lx_cmd_scan(int argc, char **argv)
{
    int rc = LX_EXIT_USAGE;
    bool json = false, redact = false;
    char *redacted = NULL;
    bool no_config = false;
    const char *path = NULL, *config = NULL;
    lx_config *conf = NULL;
    lx_scan_term *all_terms = NULL;
    lx_scan_regex *all_regexes = NULL;
    lx_scan_term *terms = calloc((size_t)argc, sizeof *terms);
    lx_scan_regex *regexes = calloc((size_t)argc, sizeof *regexes);
    lx_scan_config cfg = {0};
    lx_scanner *sc = NULL;
    lx_scan_scratch *scratch = NULL;
    lx_findings found = {0};
    lx_buf in;
    lx_error err = {0};
    lx_buf_init(&in, SCAN_MAX_INPUT);
    if (!terms || !regexes) {
        fprintf(stderr, "llmux scan: out of memory\n");
        rc = LX_EXIT_RUNTIME;
        goto done;
    }
    cfg.terms = terms;
    cfg.regexes = regexes;

    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (!options || !strcmp(a, "-") || a[0] != '-') {
            if (path) {
                fprintf(stderr, "llmux scan: one FILE at most ('%s' is extra)\n", a);
                goto done;
            }
            path = a;
        } else if (!strcmp(a, "--")) {
            options = false;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            rc = LX_EXIT_OK;
            goto done;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--redact")) {
            redact = true;
        } else if (!strcmp(a, "--config") && has_next) {
            config = argv[++i];
        } else if (!strcmp(a, "--no-config")) {
            no_config = true;
        } else if ((!strcmp(a, "--term") || !strcmp(a, "--regex")) && has_next) {
            char *t = argv[++i], *v = split_kv(t);
            if (!v) {
                fprintf(stderr, "llmux scan: %s wants TYPE=VALUE, got '%s'\n", a, t);
                goto done;
            }
            if (a[2] == 't')
                terms[cfg.n_terms++] = (lx_scan_term){t, v};
            else
                regexes[cfg.n_regexes++] = (lx_scan_regex){t, v, 0};
        } else if (!strcmp(a, "--disable") && has_next) {
            char *list = argv[++i];
            for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
                int t = lx_scan_type_from_name(tok);
                if (t < 0) {
                    fprintf(stderr, "llmux scan: --disable: unknown type '%s'\n", tok);
                    goto done;
                }
                cfg.disabled |= 1u << t;
            }
        } else {
            fprintf(stderr, "llmux scan: unknown or incomplete option '%s' (see --help)\n", a);
            goto done;
        }
    }
    if (config && no_config) {
        fprintf(stderr, "llmux scan: --config and --no-config exclude each other\n");
        goto done;
    }
    if (!no_config) {
        if (lx_config_load(config, &conf, &err) != LX_OK) {
            fprintf(stderr, "llmux scan: %s\n", err.message);
            goto done;
        }
        if (apply_guard(&conf->guard, &cfg, &all_terms, &all_regexes) != 0)
            goto done;
    }
    if (lx_scanner_new(&cfg, &sc, &err) != LX_OK) {
        fprintf(stderr, "llmux %s\n", err.message); /* "scan: ..." */
        rc = err.code == LX_ERR_CONFIG ? LX_EXIT_USAGE : LX_EXIT_RUNTIME;
        goto done;
    }
    rc = LX_EXIT_RUNTIME;
    FILE *f = stdin;
    if (path && strcmp(path, "-") != 0 && !(f = fopen(path, "rb"))) {
        fprintf(stderr, "llmux scan: %s: %s\n", path, strerror(errno));
        goto done;
    }
    int r = read_all(f, &in);
    if (f != stdin)
        fclose(f);
    if (r != 0) {
        fprintf(stderr, "llmux scan: %s: %s\n", path ? path : "stdin",
                r == -2 ? "input is over 256 MiB" : "read error");
        goto done;
    }
    if (lx_scan_scratch_new(sc, &scratch, &err) != LX_OK ||
        lx_scan(sc, scratch, in.data ? in.data : "", in.len, &found, &err) != LX_OK) {
        fprintf(stderr, "llmux %s\n", err.message);
        goto done;
    }
    if (redact) {
        if (in.len && memchr(in.data, 0, in.len)) {
            fprintf(stderr, "llmux scan: --redact: the input holds NUL bytes (not text)\n");
            goto done;
        }
        if (!(redacted = redact_text(in.data ? in.data : "", &found, &err))) {
            fprintf(stderr, "llmux scan: --redact: %s\n", err.message);
            goto done;
        }
    }
    if (json) {
        fputs("{\"findings\":[", stdout);
        for (size_t i = 0; i < found.n; i++)
            printf("%s{\"type\":\"%s\",\"start\":%zu,\"end\":%zu}", i ? "," : "",
                   found.items[i].type, found.items[i].start, found.items[i].end);
        fputs("]", stdout);
        if (redacted) {
            lx_buf q;
            lx_buf_init(&q, 0);
            if (lx_json_quote(&q, redacted, strlen(redacted)) != LX_OK) {
                lx_buf_free(&q);
                fprintf(stderr, "llmux scan: out of memory\n");
                goto done;
            }
            printf(",\"redacted\":%s", q.data);
            lx_buf_free(&q);
        }
        fputs("}\n", stdout);
    } else if (redacted) {
        fputs(redacted, stdout);
    } else {
        print_marked(in.data ? in.data : "", in.len, &found, isatty(STDOUT_FILENO));
    }
    if (fflush(stdout) != 0) {
        perror("llmux scan: stdout");
        goto done;
    }
    rc = LX_EXIT_OK;
done:
    free(redacted);
    lx_findings_free(&found);
    lx_scan_scratch_free(scratch);
    lx_scanner_free(sc);
    lx_buf_free(&in);
    free(terms);
    free(regexes);
    free(all_terms);
    free(all_regexes);
    lx_config_free(conf);
    return rc;
}
