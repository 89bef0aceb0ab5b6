/* cmd_serve.c — `llmux serve` (placeholder: being written). */
#include <stdio.h>

#include "cli/commands.h"

int lx_cmd_serve(int argc, char **argv)
{
    fprintf(stderr, "llmux: serve: not available yet\n");
    return LX_EXIT_USAGE;
}
