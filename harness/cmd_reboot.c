/*
 * cmd_reboot.c — `fsynclab reboot MNT`: a power cut. Every cached page, dirty or failed, is dropped
 * and the kernel's FUSE caches are invalidated; returns once that is done (the mount stays up).
 * Exit: 0 done, 1 no daemon / the daemon failed, 2 bad usage.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#include "control_client.h"

int cmd_reboot(int argc, char **argv)
{
	char err[512] = "";

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf(
		    "usage: fsynclab reboot MNT   (power cut: drop every cached page; the mount stays up)\n");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: fsynclab reboot MNT\n");
		return 2;
	}
	if (control_client_reboot(argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "fsynclab reboot: %s\n", err);
		return 1;
	}
	return 0;
}
