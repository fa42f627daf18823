/*
 * cmd_reboot.c — `fsynclab reboot`. Placeholder until its issue lands: it refuses clearly.
 */
#include "commands.h"

#include <stdio.h>

int cmd_reboot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fsynclab reboot: not implemented in this build\n");
	return 2;
}
