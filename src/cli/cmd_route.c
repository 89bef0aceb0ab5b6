/* cmd_route.c — `llmux route` (placeholder: being written). */
#include <stdio.h>

#include "cli/commands.h"

int lx_cmd_route(int argc, char **argv)
{
    fprintf(stderr, "llmux: route: not available yet\n");
    return LX_EXIT_USAGE;
}
