/*
 * main.c — the `fsynclab` entry point: finds the subcommand in a table and hands it argv.
 *
 * Owns only dispatch and the top-level help. Every subcommand is a file of its own
 * (see commands.h); this file is the index of what the tool can do.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"mount", cmd_mount, "mount a faulting filesystem: mount [opts] BACKING MNT"},
    {"inject", cmd_inject, "add a fault rule: inject MNT --op OP [match] (--errno E|--effect X) [trigger]"},
    {"clear", cmd_clear, "remove fault rules: clear MNT [ID]"},
    {"reboot", cmd_reboot, "power cut: drop every cached page: reboot MNT"},
    {"status", cmd_status, "rules, hit counts, dirty/failed pages, errors: status MNT [--json]"},
    {"umount", cmd_umount, "clean shutdown (writes back dirty pages): umount MNT"},
    {"compare", cmd_compare, "emulated vs real kernel fidelity table: compare [SCENARIO|DIR ...] [--json F]"},
    {"run", cmd_run, "run scenarios: run [SCENARIO|DIR ...] [--json F] [--junit F] [--html F]"},
    {"wal", cmd_wal, "inspect a write-ahead log: wal dump DIR [--json]"},
    {"bench", cmd_bench, "benchmarks that print figures: bench wal|fs [opts]"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: fsynclab COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`fsynclab COMMAND --help` shows a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "fsynclab: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
