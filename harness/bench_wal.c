/*
 * bench_wal.c — `fsynclab bench wal`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int bench_wal(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab bench wal: not implemented in this build\n");
	return 2;
}
