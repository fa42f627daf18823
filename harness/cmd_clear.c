/*
 * cmd_clear.c — `fsynclab clear`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int cmd_clear(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab clear: not implemented in this build\n");
	return 2;
}
