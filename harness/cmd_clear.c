/*
 * cmd_clear.c — `fsynclab clear MNT [ID]`: disarm fault rule ID, or every rule.
 * Exit: 0 done, 1 no daemon / no such rule, 2 bad usage.
 */
#include "commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_client.h"

int cmd_clear(int argc, char **argv)
{
	char err[512] = "";
	uint64_t id = 0;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: fsynclab clear MNT [ID]   (no ID: every rule)\n");
		return 0;
	}
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: fsynclab clear MNT [ID]\n");
		return 2;
	}
	if (argc == 3) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(argv[2], &end, 10);
		if (argv[2][0] < '0' || argv[2][0] > '9' || *end != '\0' || errno != 0 || v == 0) {
			fprintf(stderr,
			        "fsynclab clear: bad rule id '%s' (a number >= 1, as `inject` printed)\n",
			        argv[2]);
			return 2;
		}
		id = v;
	}
	if (control_client_clear(argv[1], id, err, sizeof(err)) < 0) {
		fprintf(stderr, "fsynclab clear: %s\n", err);
		return 1;
	}
	return 0;
}
