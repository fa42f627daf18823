/*
 * cmd_inject.c — `fsynclab inject`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int cmd_inject(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab inject: not implemented in this build\n");
	return 2;
}
