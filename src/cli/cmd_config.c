/*
 * llmux config — validate the configuration and print it as llmux sees it.
 *
 *   llmux config [check] [--config FILE]
 *
 * Prints the effective configuration (defaults filled in, keys masked) as
 * YAML on stdout and warnings on stderr. Exit 0 when the configuration is
 * valid (warnings or not), 2 when it is not ("llmux: FILE:LINE:COL: ...").
 */
#include <stdio.h>
#include <string.h>

#include "cli/cliutil.h"
#include "cli/commands.h"

static void help(FILE *f)
{
    fprintf(f, "usage: llmux config [check] [--config FILE]\n"
               "\n"
               "Validate the configuration and print the effective configuration as YAML,\n"
               "with every default filled in and API keys masked. Problems that do not stop\n"
               "llmux (an API key variable that is not set, a model missing from the\n"
               "catalogue) are printed as warnings on stderr.\n"
               "\n"
               "The configuration is read from --config FILE, else $LLMUX_CONFIG, else\n"
               "./llmux.yaml, else ~/.config/llmux/config.yaml; with none of them it is built\n"
               "from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY,\n"
               "OLLAMA_HOST, LLMUX_MODEL).\n"
               "\n"
               "options:\n"
               "  -c, --config FILE   read this file\n"
               "  -q, --quiet         print nothing on success, only errors and warnings\n"
               "  -h, --help          this help\n"
               "\n"
               "exit status: 0 valid, 2 invalid configuration or usage error\n");
}

int lx_cmd_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool quiet = false;
    int c;
    lx_cli_getopt_reset();
    while ((c = lx_cli_getopt(argc, argv, "c:qh", opts)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            help(stdout);
            return LX_EXIT_OK;
        default:
            return LX_EXIT_USAGE;
        }
    }
    if (optind < argc && !strcmp(argv[optind], "check"))
        optind++;
    if (optind < argc)
        return lx_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);

    lx_config *cfg;
    int rc = lx_cli_load_config(path, &cfg);
    if (rc != LX_EXIT_OK)
        return rc;

    lx_buf out, warn;
    lx_buf_init(&out, 0);
    lx_buf_init(&warn, 0);
    rc = LX_EXIT_OK;
    if (lx_config_dump(cfg, &out) != LX_OK) {
        fprintf(stderr, "llmux config: out of memory\n");
        rc = LX_EXIT_RUNTIME;
        goto done;
    }
    lx_config_warnings(cfg, &warn);
    if (!quiet && out.data)
        fputs(out.data, stdout);
    fflush(stdout);
    for (char *line = warn.data, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        fprintf(stderr, "llmux: warning: %.*s\n", (int)(nl - line), line);
    }
done:
    lx_buf_free(&out);
    lx_buf_free(&warn);
    lx_config_free(cfg);
    return rc;
}
