/* cmd_usage.c — `llmux usage` (placeholder: being written). */
#include <stdio.h>

#include "cli/commands.h"

int lx_cmd_usage(int argc, char **argv)
{
    fprintf(stderr, "llmux: usage: not available yet\n");
    return LX_EXIT_USAGE;
}
