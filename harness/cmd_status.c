/*
 * cmd_status.c — `fsynclab status`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int cmd_status(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab status: not implemented in this build\n");
	return 2;
}
