/*
 * llmux entry point: dispatches to one command per file in src/cli/.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/version.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} command;

static const command commands[] = {
    {"ask", lx_cmd_ask, "ask a model a question and stream the answer"},
    {"models", lx_cmd_models, "list the models llmux can reach"},
    {"config", lx_cmd_config, "validate and print the effective configuration"},
    {"complete", lx_cmd_complete, "raw text continuation with a local GGUF model"},
    {"tokenize", lx_cmd_tokenize, "print the token ids of a text for a GGUF model"},
    {"bench-engine", lx_cmd_bench_engine, "measure prefill and decode speed of a GGUF model"},
    {"pull", lx_cmd_pull, "download a GGUF model into ~/.cache/llmux/models"},
    {"scan", lx_cmd_scan, "find sensitive data (keys, cards, emails, ...) in text"},
    {"route", lx_cmd_route, "explain where a request would run and why, without sending it"},
    {"serve", lx_cmd_serve, "run the HTTP gateway (OpenAI, Anthropic and Ollama APIs)"},
    {"usage", lx_cmd_usage, "requests, tokens, cost and savings from the ledger"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: llmux COMMAND [OPTIONS] [ARGS]\n\n"
               "One door to language models, local and hosted.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'llmux COMMAND --help' for a command's options.\n"
               "Global: --help, --version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return LX_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return LX_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("llmux %s\n", LX_VERSION);
        return LX_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "llmux: unknown command '%s' (see 'llmux --help')\n", cmd);
    return LX_EXIT_USAGE;
}
