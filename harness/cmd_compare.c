/*
 * cmd_compare.c — `fsynclab compare`: is the emulation what the kernel does?
 *
 * Runs each scenario twice, on its emulated profile and on the real kernel filesystem that profile
 * stands for (backend kernel: harness/runner_kernel.h), and prints a fidelity table:
 *
 *     scenario              fs          emulated     kernel       match
 *     kernel-fsyncgate-xfs  xfs         matched      matched      yes
 *     enospc-on-fsync       ext4        matched      n/a          -     (why, below the table)
 *
 * "emulated" and "kernel" are each run's verdict against the scenario's own expectations; "match"
 * says whether the two runs *observed the same thing at every check* (whatever was expected):
 * the same words (EIO, ok, new, old, read-only); for measured numbers (records acknowledged, loss
 * windows), which depend on speed, and for the harness's own summary checks, the same pass/fail.
 * Where they differ, the first differing checks are listed under the table: that is where a
 * profile should be fixed, or where the kernel's behaviour deserves a line in docs/kernel.md.
 *
 * Which filesystem: a scenario with `backend: kernel|dm` names its own `fs` (its emulated twin
 * keeps its `profile`); a catalogue scenario gets the filesystem of its profile: ext4-ordered ->
 * ext4, ext4-data -> ext4 with data=journal, xfs -> xfs, btrfs -> btrfs. keep-dirty has no kernel
 * counterpart (no Linux filesystem keeps failed pages dirty) and is listed as such. A kernel run
 * that cannot be told to the kernel (a rule with no block-level meaning, a block not yet placed)
 * is "n/a" with the reason, never counted as a match.
 *
 * Exit status: 0 when the table was produced (differences are findings, not failures), 1 when a
 * run hit a harness error, 2 bad usage.
 */
#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <jansson.h>

#include "kernel_backend.h"
#include "report.h"
#include "runner.h"
#include "scenario.h"

static void compare_usage(FILE *out)
{
	fprintf(out,
	        "usage: fsynclab compare [SCENARIO.yaml|DIR ...] [options]\n"
	        "  (no argument: the catalogue in %s and its kernel/ folder;\n"
	        "   a folder named here is compared without its subfolders)\n"
	        "  -v, --verbose     list every differing check, not only the first three\n"
	        "      --json FILE   write the table as JSON (rows with both runs' observations)\n"
	        "needs root (loop devices, mounts). exit status: 0 table produced, 1 a run failed to\n"
	        "run (harness error), 2 bad usage\n",
	        scenario_catalogue_dir());
}

static void on_signal(int sig)
{
	runner_interrupted = sig;
}

/* One row of the table. */
struct row {
	char name[128];
	char fs[32];
	struct report_scenario *emu, *ker; /* NULL when not run */
	char why_not[256];                 /* why there is no kernel run ("" when there is) */
	bool comparable, same;
	char diff[1024]; /* the differing checks, one per line */
};

/* fs_for_profile - the kernel filesystem (and mount options) that PROFILE stands for; -1: none. */
static int fs_for_profile(enum scenario_profile profile, const char **mount_options)
{
	*mount_options = NULL;
	switch (profile) {
	case SCENARIO_PROFILE_EXT4_ORDERED:
		return KERNEL_FS_EXT4;
	case SCENARIO_PROFILE_EXT4_DATA:
		*mount_options = "data=journal";
		return KERNEL_FS_EXT4;
	case SCENARIO_PROFILE_XFS:
		return KERNEL_FS_XFS;
	case SCENARIO_PROFILE_BTRFS:
		return KERNEL_FS_BTRFS;
	default:
		return -1;
	}
}

/* find_check - the check named NAME in S, or NULL. */
static const struct report_check *find_check(const struct report_scenario *s, const char *name)
{
	for (size_t i = 0; i < s->n_checks; i++)
		if (strcmp(s->checks[i].name, name) == 0)
			return &s->checks[i];
	return NULL;
}

/* is_measure - an observation that is a number, maybe with a unit ("1052", "154921997ns", "0.0 ms"). */
static bool is_measure(const char *s)
{
	if (!s || !*s)
		return false;
	char *end;
	strtod(s, &end);
	if (end == s)
		return false;
	while (*end == ' ')
		end++;
	return *end == '\0' || strcmp(end, "ns") == 0 || strcmp(end, "ms") == 0 || strcmp(end, "s") == 0;
}

/*
 * same_observation - did the two runs observe the same at this check? Words (EIO, ok, new, old,
 * read-only) must be equal. Measures (records acknowledged, loss windows) depend on speed and
 * always differ a little: for them "the same" means both runs passed, or both failed, the check.
 */
static bool same_observation(const struct report_check *e, const struct report_check *k)
{
	const char *eo = e->observed ? e->observed : "", *ko = k->observed ? k->observed : "";
	/* The harness's own checks (loss window, panic, checksum, reads) summarise numbers in a
	 * sentence: their verdict is what they observed. Step checks are named "line N ...". */
	if (strncmp(e->name, "line ", 5) != 0)
		return e->passed == k->passed;
	if (is_measure(eo) && is_measure(ko))
		return e->passed == k->passed;
	return strcmp(eo, ko) == 0;
}

/* compare_runs - did both runs observe the same at every check? Fills row->diff. */
static void compare_runs(struct row *row, int max_lines)
{
	row->comparable = row->emu && row->ker &&
	                  (row->emu->verdict == REPORT_MATCHED || row->emu->verdict == REPORT_MISMATCHED) &&
	                  (row->ker->verdict == REPORT_MATCHED || row->ker->verdict == REPORT_MISMATCHED);
	if (!row->comparable)
		return;
	row->same = true;
	size_t used = 0;
	int lines = 0;
	for (size_t i = 0; i < row->emu->n_checks; i++) {
		const struct report_check *e = &row->emu->checks[i];
		const struct report_check *k = find_check(row->ker, e->name);
		const char *ko = k ? k->observed : "(not reached)";
		if (k && same_observation(e, k))
			continue;
		row->same = false;
		if (lines++ < max_lines && used < sizeof(row->diff))
			used += (size_t)snprintf(row->diff + used, sizeof(row->diff) - used,
			                         "    %s: emulated %s, kernel %s\n", e->name,
			                         e->observed ? e->observed : "-", ko ? ko : "-");
	}
	for (size_t i = 0; i < row->ker->n_checks; i++) {
		if (find_check(row->emu, row->ker->checks[i].name))
			continue;
		row->same = false;
		if (lines++ < max_lines && used < sizeof(row->diff))
			used += (size_t)snprintf(
			    row->diff + used, sizeof(row->diff) - used,
			    "    %s: emulated (not reached), kernel %s\n", row->ker->checks[i].name,
			    row->ker->checks[i].observed ? row->ker->checks[i].observed : "-");
	}
	if (lines > max_lines && used < sizeof(row->diff))
		snprintf(row->diff + used, sizeof(row->diff) - used, "    ... %d more\n", lines - max_lines);
}

/* run_pair - load PATH twice, run the emulated and the kernel version, fill ROW. */
static int run_pair(const char *path, const struct runner_options *ro, struct row *row)
{
	char err[1024];
	struct scenario *emu = NULL, *ker = NULL;
	memset(row, 0, sizeof(*row));
	if (scenario_load_file(path, &emu, err, sizeof(err)) < 0 ||
	    scenario_load_file(path, &ker, err, sizeof(err)) < 0) {
		scenario_free(emu);
		fprintf(stderr, "fsynclab compare: %s\n", err);
		snprintf(row->name, sizeof(row->name), "%s", path);
		snprintf(row->why_not, sizeof(row->why_not), "invalid: %.240s", err);
		return -EINVAL;
	}
	snprintf(row->name, sizeof(row->name), "%s", emu->name);
	const char *mount_options = NULL;
	int fs = ker->kernel.fs;
	if (ker->kernel.backend == SCENARIO_BACKEND_EMULATED) {
		fs = fs_for_profile(ker->profile, &mount_options);
		if (fs >= 0) {
			ker->kernel.backend = SCENARIO_BACKEND_KERNEL;
			ker->kernel.fs = fs;
			if (mount_options && !(ker->kernel.mount_options = strdup(mount_options))) {
				scenario_free(emu);
				scenario_free(ker);
				return -ENOMEM;
			}
		}
	} else {
		/* The emulated twin of a kernel story: the same steps on its profile. */
		emu->kernel.backend = SCENARIO_BACKEND_EMULATED;
		mount_options = ker->kernel.mount_options;
	}
	if (fs >= 0)
		snprintf(row->fs, sizeof(row->fs), "%s%s%s", kernel_fs_name((enum kernel_fs)fs),
		         mount_options ? " " : "", mount_options ? mount_options : "");
	else
		snprintf(row->fs, sizeof(row->fs), "-");

	row->emu = runner_run(emu, ro);
	if (fs < 0)
		snprintf(
		    row->why_not, sizeof(row->why_not),
		    "profile %s has no kernel counterpart (no Linux filesystem keeps failed pages dirty)",
		    scenario_profile_name(emu->profile));
	else if (!runner_interrupted)
		row->ker = runner_run(ker, ro);
	scenario_free(emu);
	scenario_free(ker);
	if (!row->emu || (fs >= 0 && !row->ker && !runner_interrupted))
		return -ENOMEM;
	if (row->ker && (row->ker->verdict == REPORT_SKIPPED || row->ker->verdict == REPORT_ERROR))
		snprintf(row->why_not, sizeof(row->why_not), "%s",
		         row->ker->error ? row->ker->error : "not run");
	return 0;
}

/* cell - what a table cell says about run S. */
static const char *cell(const struct report_scenario *s)
{
	if (!s)
		return "n/a";
	if (s->verdict == REPORT_SKIPPED)
		return "n/a";
	return report_verdict_name(s->verdict);
}

static json_t *run_json(const struct report_scenario *s)
{
	if (!s)
		return json_null();
	json_t *checks = json_array();
	for (size_t i = 0; i < s->n_checks; i++)
		json_array_append_new(checks,
		                      json_pack("{s:s, s:s?, s:s?, s:b}", "name", s->checks[i].name,
		                                "expected", s->checks[i].expected, "observed",
		                                s->checks[i].observed, "passed", s->checks[i].passed));
	return json_pack("{s:s, s:s?, s:o}", "verdict", report_verdict_name(s->verdict), "error", s->error,
	                 "checks", checks);
}

static int write_json(const char *file, struct row *rows, size_t n)
{
	struct utsname u;
	json_t *doc = json_object(), *arr = json_array();
	if (uname(&u) == 0)
		json_object_set_new(doc, "kernel", json_string(u.release));
	for (size_t i = 0; i < n; i++) {
		struct row *r = &rows[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o, s:o, s:s?}", "scenario", r->name,
		                                     "fs", r->fs, "emulated", run_json(r->emu), "kernel",
		                                     run_json(r->ker), "match",
		                                     r->comparable ? json_boolean(r->same) : json_null(),
		                                     "why_not", r->why_not[0] ? r->why_not : NULL));
	}
	json_object_set_new(doc, "rows", arr);
	int rc = json_dump_file(doc, file, JSON_INDENT(2)) == 0 ? 0 : -EIO;
	json_decref(doc);
	if (rc < 0)
		fprintf(stderr, "fsynclab compare: cannot write %s\n", file);
	return rc;
}

int cmd_compare(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
	    {"verbose", no_argument, NULL, 'v'},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *json_file = NULL;
	int max_lines = 3, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			max_lines = 1000;
			break;
		case OPT_JSON:
			json_file = optarg;
			break;
		case 'h':
			compare_usage(stdout);
			return 0;
		default:
			compare_usage(stderr);
			return 2;
		}
	}

	/* The scenario files: arguments (files or folders), or the whole catalogue with kernel/. */
	char **paths = NULL;
	size_t n_paths = 0;
	/* Default: the core catalogue and its kernel/ stories (apps/ need their applications). */
	char kernel_dir[4096];
	snprintf(kernel_dir, sizeof(kernel_dir), "%s/kernel", scenario_catalogue_dir());
	const char *defaults[] = {scenario_catalogue_dir(), kernel_dir};
	int n_args = optind < argc ? argc - optind : 2;
	for (int i = 0; i < n_args; i++) {
		const char *arg = optind < argc ? argv[optind + i] : defaults[i];
		struct stat st;
		if (stat(arg, &st) < 0) {
			fprintf(stderr, "fsynclab compare: %s: %s\n", arg, strerror(errno));
			scenario_list_free(paths, n_paths);
			return 2;
		}
		char **found = NULL, err[512];
		size_t count = 0;
		if (S_ISDIR(st.st_mode)) {
			if (scenario_list_dir(arg, false, &found, &count, err, sizeof(err)) < 0) {
				fprintf(stderr, "fsynclab compare: %s\n", err);
				scenario_list_free(paths, n_paths);
				return 2;
			}
		} else {
			found = malloc(sizeof(*found));
			if (!found || !(found[0] = strdup(arg))) {
				free(found);
				scenario_list_free(paths, n_paths);
				return 1;
			}
			count = 1;
		}
		char **grown = realloc(paths, (n_paths + count) * sizeof(*paths));
		if (!grown) {
			scenario_list_free(found, count);
			scenario_list_free(paths, n_paths);
			return 1;
		}
		paths = grown;
		for (size_t k = 0; k < count; k++)
			paths[n_paths++] = found[k];
		free(found);
	}
	if (n_paths == 0) {
		fprintf(stderr, "fsynclab compare: no scenario to compare\n");
		free(paths);
		return 2;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
		fprintf(stderr, "fsynclab compare: sigaction: %s\n", strerror(errno));
		scenario_list_free(paths, n_paths);
		return 1;
	}

	struct row *rows = calloc(n_paths, sizeof(*rows));
	if (!rows) {
		scenario_list_free(paths, n_paths);
		return 1;
	}
	struct runner_options ro = {0};
	int status = 0;
	size_t n_rows = 0;
	for (size_t i = 0; i < n_paths && !runner_interrupted; i++) {
		fprintf(stderr, "compare %zu/%zu %s\n", i + 1, n_paths, paths[i]);
		if (run_pair(paths[i], &ro, &rows[n_rows]) == -ENOMEM) {
			fprintf(stderr, "fsynclab compare: out of memory\n");
			status = 1;
		}
		struct row *r = &rows[n_rows++];
		if ((r->emu && r->emu->verdict == REPORT_ERROR) ||
		    (r->ker && r->ker->verdict == REPORT_ERROR))
			status = 1;
		compare_runs(r, max_lines);
	}

	struct utsname u;
	printf("fidelity: emulated profiles against the real kernel (%s)\n\n",
	       uname(&u) == 0 ? u.release : "?");
	printf("%-34s %-18s %-11s %-11s %s\n", "scenario", "fs", "emulated", "kernel", "match");
	size_t same = 0, differ = 0, na = 0;
	for (size_t i = 0; i < n_rows; i++) {
		struct row *r = &rows[i];
		const char *m = r->comparable ? (r->same ? "yes" : "NO") : "-";
		same += r->comparable && r->same;
		differ += r->comparable && !r->same;
		na += !r->comparable;
		printf("%-34s %-18s %-11s %-11s %s\n", r->name, r->fs, cell(r->emu), cell(r->ker), m);
	}
	printf("\n%zu same, %zu differ, %zu not comparable\n", same, differ, na);
	for (size_t i = 0; i < n_rows; i++) {
		struct row *r = &rows[i];
		if (r->comparable && !r->same)
			printf("\n%s (%s) differs:\n%s", r->name, r->fs, r->diff);
		else if (!r->comparable)
			printf("\n%s (%s): no comparison: %s\n", r->name, r->fs,
			       r->why_not[0]
			           ? r->why_not
			           : (r->emu && r->emu->error ? r->emu->error
			                                      : "the emulated run did not complete"));
	}
	if (json_file && write_json(json_file, rows, n_rows) < 0)
		status = 1;
	if (runner_interrupted) {
		fprintf(stderr, "fsynclab compare: interrupted\n");
		status = 1;
	}
	for (size_t i = 0; i < n_rows; i++) {
		if (rows[i].emu)
			report_scenario_free(rows[i].emu);
		if (rows[i].ker)
			report_scenario_free(rows[i].ker);
	}
	free(rows);
	scenario_list_free(paths, n_paths);
	return status;
}
