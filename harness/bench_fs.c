/*
 * bench_fs.c — `fsynclab bench fs`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int bench_fs(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab bench fs: not implemented in this build\n");
	return 2;
}
