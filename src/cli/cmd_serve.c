/*
 * llmux serve — the HTTP gateway (OpenAI, Anthropic and Ollama dialects).
 *
 *   llmux serve [--config F] [--listen HOST:PORT] [--workers N]
 *
 * Runs until SIGTERM or SIGINT (then drains, exit 0); SIGHUP reloads the
 * config. Exit 2 for a config or usage error (nothing is started), 1 when
 * the address cannot be bound or the server fails to start.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cliutil.h"
#include "cli/commands.h"
#include "server/server.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: llmux serve [OPTIONS]\n"
            "\n"
            "Serve OpenAI-, Anthropic- and Ollama-compatible HTTP APIs that route every\n"
            "request through llmux (docs/server.md).\n"
            "\n"
            "options:\n"
            "      --config FILE        configuration file (default: $LLMUX_CONFIG,\n"
            "                           ./llmux.yaml, ~/.config/llmux/config.yaml, environment)\n"
            "  -l, --listen HOST:PORT   address to listen on (default: server.listen,\n"
            "                           127.0.0.1:8080); port 0 picks a free port\n"
            "  -w, --workers N          worker threads (default: server.workers, else one\n"
            "                           per CPU, at most 8)\n"
            "  -h, --help               this help\n"
            "\n"
            "signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config\n"
            "exit status: 0 stopped cleanly, 1 cannot listen or start, 2 usage or\n"
            "configuration error\n");
}

int lx_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"workers", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    lx_serve_opts o = {0};
    lx_cli_getopt_reset();
    int c;
    while ((c = lx_cli_getopt(argc, argv, "l:w:h", opts)) != -1) {
        switch (c) {
        case 'c':
            o.config_path = optarg;
            break;
        case 'l':
            o.listen = optarg;
            break;
        case 'w': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 256)
                return lx_cli_usage_error("serve", "--workers: expected 1..256, got '%s'", optarg);
            o.workers = (int)n;
            break;
        }
        case 'h':
            usage(stdout);
            return LX_EXIT_OK;
        default: /* lx_cli_getopt said what was wrong */
            return LX_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return lx_cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    lx_error err;
    lx_error_clear(&err);
    lx_status st = lx_serve_run(&o, &err);
    if (st == LX_OK)
        return LX_EXIT_OK;
    fprintf(stderr, "llmux serve: %s\n", err.message[0] ? err.message : lx_status_name(st));
    return (st == LX_ERR_CONFIG || st == LX_ERR_USAGE) ? LX_EXIT_USAGE : LX_EXIT_RUNTIME;
}
