/*
 * commands.h — one entry point per CLI command; main.c dispatches.
 *
 * Each command gets argv with argv[0] = the command name and returns the
 * process exit code: 0 ok, 1 provider/runtime error (one clear line on
 * stderr), 2 usage or configuration error. Every command answers --help.
 */
#ifndef LX_CLI_COMMANDS_H
#define LX_CLI_COMMANDS_H

int lx_cmd_ask(int argc, char **argv);
int lx_cmd_models(int argc, char **argv);
int lx_cmd_config(int argc, char **argv);
int lx_cmd_complete(int argc, char **argv);
int lx_cmd_tokenize(int argc, char **argv);
int lx_cmd_bench_engine(int argc, char **argv);
int lx_cmd_pull(int argc, char **argv);
int lx_cmd_scan(int argc, char **argv);
int lx_cmd_route(int argc, char **argv);
int lx_cmd_usage(int argc, char **argv);
int lx_cmd_serve(int argc, char **argv);

#define LX_EXIT_OK 0
#define LX_EXIT_RUNTIME 1
#define LX_EXIT_USAGE 2

#endif
