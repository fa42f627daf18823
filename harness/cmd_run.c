/*
 * cmd_run.c — `fsynclab run`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab run: not implemented in this build\n");
	return 2;
}
