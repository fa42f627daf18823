/*
 * cmd_wal.c — `fsynclab wal`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int cmd_wal(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab wal: not implemented in this build\n");
	return 2;
}
