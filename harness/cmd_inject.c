/*
 * cmd_inject.c — `fsynclab inject MNT --op OP ... (--errno NAME | --effect KIND) [trigger]`: arm a
 * fault rule on a mounted fsynclab filesystem and print its id once the daemon has armed it.
 *
 * The options become a rule object through control_client_rule_from_argv() (the scenario runner
 * uses the same function, so both spell rules alike). Exit: 0 armed, 1 no daemon / daemon error,
 * 2 bad usage or a rule the daemon refused (the message names the offending word).
 */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_client.h"

int cmd_inject(int argc, char **argv)
{
	char err[512] = "";
	const char *mnt = NULL;
	char **opts = calloc((size_t)argc + 1, sizeof(*opts));
	int nopts = 0, status = 2;
	json_t *rule = NULL;

	if (opts == NULL) {
		fprintf(stderr, "fsynclab inject: out of memory\n");
		return 1;
	}
	/* MNT is the one word that is neither an option nor an option's value. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(control_client_inject_usage(), stdout);
			status = 0;
			goto out;
		}
		if (strncmp(argv[i], "--", 2) == 0) {
			opts[nopts++] = argv[i];
			if (strchr(argv[i], '=') == NULL && i + 1 < argc)
				opts[nopts++] = argv[++i];
		} else if (mnt == NULL) {
			mnt = argv[i];
		} else {
			fprintf(stderr, "fsynclab inject: unexpected argument '%s' (MNT is '%s')\n", argv[i],
			        mnt);
			goto out;
		}
	}
	if (mnt == NULL) {
		fprintf(stderr, "fsynclab inject: missing MNT\nusage: %s", control_client_inject_usage());
		goto out;
	}
	if (control_client_rule_from_argv(nopts, opts, &rule, err, sizeof(err)) < 0) {
		fprintf(stderr, "fsynclab inject: %s\n", err);
		goto out;
	}
	int64_t id = control_client_inject(mnt, rule, err, sizeof(err));
	if (id < 0) {
		fprintf(stderr, "fsynclab inject: %s\n", err);
		status = id == -EINVAL ? 2 : 1;
		goto out;
	}
	printf("%" PRId64 "\n", id);
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	json_decref(rule);
	free(opts);
	return status;
}
