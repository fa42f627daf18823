/*
 * cmd_umount.c — `fsynclab umount`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int cmd_umount(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab umount: not implemented in this build\n");
	return 2;
}
