/*
 * cmd_bench.c — `fsynclab bench`: dispatches to the benchmark of one part (wal, fs).
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

int cmd_bench(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fsynclab bench wal|fs [options]\n");
		return 2;
	}
	if (strcmp(argv[1], "wal") == 0)
		return bench_wal(argc - 1, argv + 1);
	if (strcmp(argv[1], "fs") == 0)
		return bench_fs(argc - 1, argv + 1);
	fprintf(stderr, "fsynclab bench: unknown benchmark '%s' (expected wal or fs)\n", argv[1]);
	return 2;
}
