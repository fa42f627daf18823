/*
 * runner.h — run one scenario end to end and say what happened.
 *
 * For one scenario the runner: makes its own temporary directory holding a backing directory ("the
 * disk") and a mount point; mounts by running this same binary (/proc/self/exe mount ...) with the
 * scenario's profile and options; executes the steps in order — the WAL/table/file workload in a
 * child process (workload.h), fault rules through the control client, reboots (power cuts),
 * crashes, recoveries, reads, and the exec target's commands; measures; applies the four checks
 * (checks.h) and the scenario's own expectations; and always unmounts and removes its temporary
 * directory, on success, on failure, on timeout and on Ctrl-C, even if the workload was killed.
 *
 * The result is a report_scenario (report.h): the timeline, every check, the measures, and the
 * verdict MATCHED / MISMATCHED / ERROR / SKIPPED.
 *
 * Not here: finding scenario files, parallelism (-j), the writers — see cmd_run.c.
 */
#ifndef FSYNCLAB_RUNNER_H
#define FSYNCLAB_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "report.h"
#include "scenario.h"

struct runner_options {
	bool seed_set; /* --seed given: it replaces every scenario's own seed */
	/* on_setup: told where the scenario's directory and mount are (daemon 0 until mounted), so a
	 * parent can clean up after a worker that died without cleaning up itself. May be NULL. */
	void (*on_setup)(void *arg, const char *dir, const char *mnt, pid_t daemon);
	void *on_setup_arg;
	uint64_t seed;       /* the --seed value */
	const char *self;    /* the fsynclab binary to mount with; NULL = /proc/self/exe */
	const char *tmp_dir; /* where per-scenario directories go; NULL = $TMPDIR or /tmp */
};

/*
 * runner_interrupted - set (to the signal number) by the caller's SIGINT/SIGTERM handler. The
 * runner polls it between steps and while waiting, then cleans up and reports ERROR "interrupted".
 */
extern volatile sig_atomic_t runner_interrupted;

/*
 * runner_run - run SC. Returns a new result (the caller frees it with report_scenario_free), or
 * NULL only when memory ran out. Never leaves a mount, a process or a temporary file behind.
 */
struct report_scenario *runner_run(const struct scenario *sc, const struct runner_options *opts);

/*
 * runner_run_file - load PATH and run it. An invalid file gives an ERROR result whose error is
 * the loader's "FILE:LINE:COL: ..." message; nothing is mounted for it.
 */
struct report_scenario *runner_run_file(const char *path, const struct runner_options *opts);

/*
 * runner_cleanup_leftovers - what a dead worker left: lazily unmount MNT if it is still mounted,
 * SIGKILL the daemon (PID DAEMON, when > 0), remove DIR once nothing is mounted below it.
 * Returns 0, or -errno of the first step that failed.
 */
int runner_cleanup_leftovers(const char *dir, const char *mnt, pid_t daemon);

/* runner_stale_mounts - how many fsynclab mounts under DIR_PREFIX /proc/mounts lists (tests). */
int runner_stale_mounts(const char *dir_prefix);

#endif
