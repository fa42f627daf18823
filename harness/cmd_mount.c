/*
 * cmd_mount.c — `fsynclab mount`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int cmd_mount(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab mount: not implemented in this build\n");
	return 2;
}
