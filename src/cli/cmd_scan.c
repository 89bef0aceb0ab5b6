/* placeholder until the command lands; replaced by its owner */
#include <stdio.h>
#include "cli/commands.h"
int lx_cmd_scan(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "llmux %s: not built yet\n", argv[0]);
    return LX_EXIT_USAGE;
}
