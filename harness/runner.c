/*
 * runner.c — one scenario end to end (see runner.h): set up a private mount, execute the steps,
 * measure, check, tell the story, and always clean up.
 *
 * The shape of a run:
 *   setup     mkdtemp a directory holding disk/ (the backing directory) and mnt/; mount by running
 *             `/proc/self/exe mount --profile P --block-size B --writeback-interval D BACKING MNT`
 *             in a session of its own (a terminal Ctrl-C reaches us, not the daemon);
 *   steps     each step kind has its handler (step_append, step_inject, step_reboot, ...), listed in
 *             one table at the bottom: the table reads like an index of the scenario language;
 *   checks    step expectations are compared as they happen (each becomes a report_check); the
 *             four checks of checks.h run where their inputs become known (recovery, the end);
 *   cleanup   kill the workload and started commands by PID, `fsynclab umount` (or a lazy
 *             unmount and the daemon's PID when that fails), remove the directory — whatever
 *             happened before, including a timeout or an interrupt.
 *
 * Where the targets live (docs/scenarios.md): the WAL's segments in wal/, the table store in table/
 * (table/table.dat, its log in table/log/); the file target's paths are the scenario's own.
 *
 * What the runner trusts: only what the workload reported over its pipe. A record is acknowledged
 * when its ack line arrived; at a power cut the workload is frozen first (SIGSTOP, so no request is
 * in flight), the pipe drained, the power cut, then the workload killed — every acknowledgement
 * counted was sent before the cut.
 */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "control_client.h"
#include "duration.h"
#include "errname.h"
#include "runner_kernel.h"
#include "workload.h"

volatile sig_atomic_t runner_interrupted;

#define MAX_RULES        64
#define MAX_STARTED      16
#define MAX_FILES        32
#define MAX_VERBOSE_ACKS 200 /* per scenario; the rest is summarised */
#define TABLE_PAGES      256
#define MOUNT_TIMEOUT_MS 20000

/* A fault rule the runner armed, and what the daemon last said about it. */
struct rule_seen {
	uint64_t id;
	int64_t hits;
	bool data; /* a data effect: corrupt, torn, lost, misdirected */
	char label[64];
};

/* A command started by a `start` step. */
struct started {
	char name[64];
	pid_t pid;               /* leader of its own process group; 0 once reaped */
	char log[PATH_MAX + 32]; /* its stdout+stderr */
	int status;              /* wait status once reaped */
};

/* One successful write, as the harness remembers it. */
struct shadow_write {
	uint64_t off;
	size_t len;
	uint8_t *data;
};

/* The harness's picture of a file: every successful write in order. "new" for a range is the
 * result of all of them; "old" is the result without the last write that touched the range. */
struct shadow {
	char path[PATH_MAX];
	struct shadow_write *w;
	size_t n, cap;
};

/* A named descriptor of the file target, and the path it opened. */
struct fd_name {
	char name[64];
	char path[PATH_MAX];
};

struct run {
	const struct scenario *sc;
	const struct runner_options *opts;
	struct report_scenario *rep;
	uint64_t seed;
	char sync[32];
	int64_t t0, deadline;
	const char *error; /* set when the harness itself failed; stops the steps */
	char errbuf[512];
	/* places */
	char dir[PATH_MAX], backing[PATH_MAX + 8], mnt[PATH_MAX + 8];
	bool mounted;
	pid_t daemon_pid;
	/* backend kernel/dm (runner_kernel.h): the real fs stacked on the mount; NULL when emulated */
	struct runner_kernel *kernel;
	char root[PATH_MAX + 8]; /* where the story's files live: mnt, or the kernel fs */
	/* the workload */
	struct workload wl;
	bool wl_alive;
	char *lbuf; /* partial event line */
	size_t llen, lcap;
	/* acknowledgements */
	struct checks_ack *acks;
	int64_t *ack_page; /* table: the page of each update; -1 otherwise */
	size_t n_acks, cap_acks, sealed;
	uint64_t next_id, max_durable;
	size_t verbose_acks;
	double append_ms;     /* time spent appending/updating (for throughput) */
	int64_t append_acked; /* acknowledgements during that time */
	bool bg_active;       /* a background append is running */
	double bg_start_ms;
	size_t bg_acks0; /* n_acks when it started */
	/* syncs */
	int64_t syncs, sync_errors;
	double longest_sync_ms, first_fail_t;
	bool panicked;
	/* power cuts and recovery */
	bool rebooted;
	double t_cut;
	bool have_recovery;
	struct checks_loss loss;
	int64_t rec_records, rec_bad;
	bool rec_torn, rec_corrupt;
	uint64_t *rec_lsn, *rec_id;
	bool *rec_ok;
	size_t n_rec, cap_rec;
	uint64_t *page_id; /* table recovery: the update each page holds (0 = zeros) */
	bool *page_ok;
	bool recover_stated;
	/* faults and filesystem state */
	struct rule_seen rules[MAX_RULES];
	size_t n_rules;
	char fs_state[16];
	int64_t last_dirty, last_failed;
	/* shadows */
	uint64_t *page_last, *page_prev; /* table: last and previous update id per page */
	struct shadow files[MAX_FILES];
	size_t n_files;
	struct fd_name fds[MAX_FILES];
	size_t n_fds;
	uint64_t write_counter;
	/* the exec target */
	struct started started[MAX_STARTED];
	size_t n_started;
};

/* ---- Small helpers ---- */

static double now_ms(const struct run *r)
{
	return workload_now_ms(r->t0);
}

/* ev - add a timeline event (out of memory: the event is dropped, the run goes on). */
#define ev(r, kind, ...) ((void)report_event_add((r)->rep, now_ms(r), (kind), NULL, __VA_ARGS__))

/* fail - the harness could not go on: record why (the first reason wins). Returns -1. */
static int fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct run *r, const char *fmt, ...)
{
	if (r->error)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->errbuf, sizeof(r->errbuf), fmt, ap);
	va_end(ap);
	r->error = r->errbuf;
	return -1;
}

/* check - record a check outcome (with the step's position in its name when given). */
static void check(struct run *r, const struct scenario_step *st, const char *what, const char *expected,
                  const char *observed, bool passed)
{
	char name[160];
	if (st)
		snprintf(name, sizeof(name), "line %u %s", st->pos.line, what);
	else
		snprintf(name, sizeof(name), "%s", what);
	if (report_check_add(r->rep, name, expected, observed, passed) < 0)
		fail(r, "out of memory");
	/* In the timeline a passing check is detail (-v); a failing one is part of the story. */
	struct report_event *e =
	    report_event_add(r->rep, now_ms(r), REPORT_EV_CHECK, NULL, "%s %s: expected %s, observed %s",
	                     passed ? "✓" : "✗", name, expected, observed);
	if (e) {
		e->bad = !passed;
		e->verbose = passed;
	}
}

/* stop_now - interrupted or out of time: record it. True when the run must stop. */
static bool stop_now(struct run *r)
{
	if (runner_interrupted) {
		fail(r, "interrupted (signal %d)", (int)runner_interrupted);
		return true;
	}
	if (workload_clock_ns() > r->deadline) {
		char d[32];
		duration_format(r->sc->options.timeout_ns, d, sizeof(d));
		fail(r, "timeout: the scenario ran longer than %s", d);
		return true;
	}
	return r->error != NULL;
}

/* sleep_ms - sleep, waking early for an interrupt. */
static void sleep_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6)};
	nanosleep(&ts, NULL);
}

/* grow - make room for one more element in *arr (count n, capacity *cap). 0 or -ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* err_word - the errno name of positive ERR ("EIO"), or "errno N" for one the table lacks. */
static const char *err_word(int err)
{
	static _Thread_local char buf[24];
	const char *name = errname_str(err);
	if (strcmp(name, "E?") != 0)
		return name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

/* result_word - how an outcome reads: "ok", "EIO", "panic". */
static const char *result_word(int rc, bool panicked, char *buf, size_t len)
{
	if (panicked && rc < 0)
		snprintf(buf, len, "%s, then panic", err_word(-rc));
	else if (panicked)
		snprintf(buf, len, "panic");
	else if (rc == 0)
		snprintf(buf, len, "ok");
	else
		snprintf(buf, len, "%s", err_word(-rc));
	return buf;
}

/* result_matches - does an outcome satisfy an expected result? */
static bool result_matches(const struct scenario_result *exp, int rc, bool panicked)
{
	switch (exp->kind) {
	case SCENARIO_RESULT_OK:
		return rc == 0 && !panicked;
	case SCENARIO_RESULT_ERRNO:
		return rc == -exp->err;
	case SCENARIO_RESULT_ERROR:
		return rc < 0;
	case SCENARIO_RESULT_PANIC:
		return panicked;
	case SCENARIO_RESULT_ANY:
		return true;
	}
	return false;
}

/* expect_result - compare a step's outcome with its expectation (nothing to check for `any`). */
static void expect_result(struct run *r, const struct scenario_step *st, const struct scenario_result *exp,
                          int rc, bool panicked)
{
	if (exp->kind == SCENARIO_RESULT_ANY)
		return;
	char e[32], o[48];
	scenario_result_format(exp, e, sizeof(e));
	result_word(rc, panicked, o, sizeof(o));
	check(r, st, scenario_step_kind_name(st->kind), e, o, result_matches(exp, rc, panicked));
}

/* ---- Processes ---- */

/* reap - wait for PID up to TIMEOUT_MS (killing it with SIGKILL at the end). Wait status or -1. */
static int reap(pid_t pid, int timeout_ms)
{
	int status = 0;
	for (int waited = 0;; waited += 5) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return status;
		if (w < 0 && errno != EINTR)
			return -1;
		if (waited >= timeout_ms) {
			if (kill(pid, SIGKILL) < 0 && errno == ESRCH)
				return -1;
			if (waitpid(pid, &status, 0) == pid)
				return status;
			return -1;
		}
		sleep_ms(5);
	}
}

/* run_self - run this binary with ARGV (argv[0] ignored), output to LOG, in a session of its own;
 * wait up to TIMEOUT_MS. Exit status (0..255), 128+signal, or -errno. */
static int run_self(struct run *r, char *const argv[], const char *log, int timeout_ms)
{
	const char *self = r->opts->self ? r->opts->self : "/proc/self/exe";
	char exe[PATH_MAX];
	ssize_t n = readlink(self, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = '\0';
	else
		snprintf(exe, sizeof(exe), "%s", self);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setsid() < 0)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		execv(exe, argv);
		_exit(127);
	}
	int status = reap(pid, timeout_ms);
	if (status < 0)
		return -ECHILD;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* last_line - the last non-empty line of file PATH into BUF ("" if none). */
static void last_line(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f))
		if (line[0] && line[0] != '\n') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s", line);
		}
	fclose(f);
}

int runner_stale_mounts(const char *dir_prefix)
{
	FILE *f = fopen("/proc/mounts", "r");
	if (!f)
		return -errno;
	char line[4096];
	int n = 0;
	size_t plen = strlen(dir_prefix);
	while (fgets(line, sizeof(line), f)) {
		char *mp = strchr(line, ' ');
		if (mp && strncmp(mp + 1, dir_prefix, plen) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/* is_mounted - /proc/mounts lists PATH as a mount point. */
static bool is_mounted(const char *path)
{
	FILE *f = fopen("/proc/mounts", "r");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	size_t len = strlen(path);
	while (!found && fgets(line, sizeof(line), f)) {
		char *mp = strchr(line, ' ');
		found = mp && strncmp(mp + 1, path, len) == 0 && mp[1 + len] == ' ';
	}
	fclose(f);
	return found;
}

/* ---- Mount and unmount ---- */

/* needs_other_users - does a start/exec step run as another user (then the mount allows them)? */
static bool needs_other_users(const struct scenario *sc)
{
	for (size_t i = 0; i < sc->step_count; i++) {
		const struct scenario_step *st = &sc->steps[i];
		if ((st->kind == SCENARIO_STEP_START && st->u.start.user) ||
		    (st->kind == SCENARIO_STEP_EXEC && st->u.exec.user))
			return true;
	}
	return false;
}

static int do_mount(struct run *r)
{
	const struct scenario_options *o = &r->sc->options;
	char bs[16], wb[32], log[PATH_MAX + 16];
	snprintf(bs, sizeof(bs), "%u", o->block_size);
	duration_format(o->writeback_ns, wb, sizeof(wb));
	snprintf(log, sizeof(log), "%s/mount.log", r->dir);
	char *argv[32];
	int k = 0;
	argv[k++] = "fsynclab";
	argv[k++] = "mount";
	argv[k++] = "--profile";
	argv[k++] = (char *)scenario_profile_name(r->sc->profile);
	argv[k++] = "--block-size";
	argv[k++] = bs;
	argv[k++] = "--writeback-interval";
	argv[k++] = wb;
	if (o->legacy_errors)
		argv[k++] = "--legacy-errors";
	if (needs_other_users(r->sc))
		argv[k++] = "--allow-other";
	if (o->namespace_posix || o->namespace_durable) {
		argv[k++] = "--namespace";
		argv[k++] = o->namespace_posix ? "posix" : "durable";
	}
	for (const char *const *a = runner_kernel_mount_args(r->sc); *a && k < 28; a++)
		argv[k++] = (char *)*a;
	argv[k++] = r->backing;
	argv[k++] = r->mnt;
	argv[k] = NULL;
	int st = run_self(r, argv, log, MOUNT_TIMEOUT_MS);
	if (st != 0) {
		char why[512];
		last_line(log, why, sizeof(why));
		if (access("/dev/fuse", R_OK | W_OK) < 0) {
			r->rep->verdict = REPORT_SKIPPED;
			return fail(r, "cannot mount: /dev/fuse is not usable here (%s)", why);
		}
		return fail(r, "mount failed (status %d): %s", st, why[0] ? why : "no message");
	}
	r->mounted = true;
	json_t *info = NULL;
	char err[256];
	if (control_client_ping(r->mnt, &info, err, sizeof(err)) < 0)
		return fail(r, "mounted, but the control socket does not answer: %s", err);
	r->daemon_pid = (pid_t)json_integer_value(json_object_get(info, "pid"));
	json_decref(info);
	if (r->opts->on_setup)
		r->opts->on_setup(r->opts->on_setup_arg, r->dir, r->mnt, r->daemon_pid);
	snprintf(r->root, sizeof(r->root), "%s", r->mnt);
	if (r->sc->kernel.backend != SCENARIO_BACKEND_EMULATED) {
		char kerr[512];
		int rc = runner_kernel_setup(r->sc, r->mnt, r->dir, &r->kernel, kerr, sizeof(kerr));
		if (rc == -ENODEV)
			r->rep->verdict = REPORT_SKIPPED;
		if (rc < 0)
			return fail(r, "backend %s: %s", scenario_backend_name(r->sc->kernel.backend), kerr);
		snprintf(r->root, sizeof(r->root), "%s", runner_kernel_root(r->kernel));
		ev(r, REPORT_EV_MOUNT, "real %s (%s backend) on %s over an image on the --cache none mount",
		   kernel_fs_name(r->kernel->kb.fs), scenario_backend_name(r->sc->kernel.backend),
		   r->kernel->kb.fs_dev);
		return 0;
	}
	ev(r, REPORT_EV_MOUNT, "mounted %s (%s, %u-byte pages)", scenario_profile_name(r->sc->profile),
	   o->legacy_errors ? "pre-4.13 error reporting" : "errseq error reporting", o->block_size);
	return 0;
}

/* rm_entry - nftw callback: remove one entry (depth first). */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
	return rc < 0 && errno != ENOENT ? -1 : 0;
}

int runner_cleanup_leftovers(const char *dir, const char *mnt, pid_t daemon)
{
	int rc = 0;
	if (is_mounted(mnt) && umount2(mnt, MNT_DETACH) < 0)
		rc = -errno;
	if (daemon > 0 && kill(daemon, SIGKILL) < 0 && errno != ESRCH && rc == 0)
		rc = -errno;
	if (is_mounted(mnt))
		return rc ? rc : -EBUSY;
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT && rc == 0)
		rc = -errno;
	return rc;
}

/* ---- The workload child ---- */

static void handle_event(struct run *r, json_t *o);
static void seal(struct run *r);

/* wl_spawn - start a workload child if none is alive. 0 or -1 (fail recorded). */
static int wl_spawn(struct run *r)
{
	if (r->wl_alive)
		return 0;
	enum workload_target t = r->sc->target == SCENARIO_TARGET_WAL     ? WORKLOAD_WAL
	                         : r->sc->target == SCENARIO_TARGET_TABLE ? WORKLOAD_TABLE
	                                                                  : WORKLOAD_FILE;
	struct workload_config cfg = {
	    .target = t,
	    .mnt = r->root,
	    .sync_policy = r->sync,
	    .panic = r->sc->options.sync_error == SCENARIO_SYNC_ERROR_PANIC,
	    .seed = r->seed,
	    .page_size = r->sc->options.block_size,
	    .table_pages = TABLE_PAGES,
	    .t0_ns = r->t0,
	    .sync_directory = r->sc->options.sync_directory,
	};
	int e = workload_spawn(&cfg, &r->wl);
	if (e < 0)
		return fail(r, "cannot start the workload process: %s", strerror(-e));
	r->wl_alive = true;
	r->max_durable = 0;
	r->llen = 0;
	return 0;
}

/* wl_read - read what the pipe has into lines and handle them; a "done" line is returned in *done
 * (when done is non-NULL). Returns 1 when data was read, 0 on EOF (the child closed its end). */
static int wl_read(struct run *r, json_t **done)
{
	char buf[65536];
	ssize_t n = read(r->wl.ev_fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (grow((void **)&r->lbuf, &r->lcap, r->llen + 1, 1) < 0)
				return 0;
			r->lbuf[r->llen++] = buf[i];
			continue;
		}
		r->lbuf[r->llen] = '\0';
		json_error_t jerr;
		json_t *o = json_loadb(r->lbuf, r->llen, 0, &jerr);
		r->llen = 0;
		if (!o)
			continue;
		const char *evn = json_string_value(json_object_get(o, "ev"));
		if (evn && strcmp(evn, "done") == 0 && done && !*done) {
			*done = o;
			continue;
		}
		handle_event(r, o);
		json_decref(o);
	}
	return 1;
}

/* bg_account - a background append ended with its process (killed): count what it did. */
static void bg_account(struct run *r)
{
	if (!r->bg_active)
		return;
	r->append_ms += now_ms(r) - r->bg_start_ms;
	r->append_acked += (int64_t)(r->n_acks - r->bg_acks0);
	r->bg_active = false;
}

/* wl_gone - the child's end closed: reap it and note a panic exit. */
static void wl_gone(struct run *r)
{
	bg_account(r);
	seal(r); /* a dead writer's acknowledgements are final */
	int status = reap(r->wl.pid, 2000);
	close(r->wl.cmd_fd);
	close(r->wl.ev_fd);
	r->wl_alive = false;
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == WORKLOAD_EXIT_PANIC) {
		r->panicked = true;
		r->rep->m.panicked = true;
		ev(r, REPORT_EV_PANIC,
		   "the writer panicked: it refuses all further work and exited (status %d)",
		   WORKLOAD_EXIT_PANIC);
	} else if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == WORKLOAD_EXIT_PROTOCOL) {
		fail(r, "the workload process broke the protocol");
	} else if (status >= 0 && WIFSIGNALED(status)) {
		ev(r, REPORT_EV_CRASH, "the workload process died (signal %d), not by a step of the scenario",
		   WTERMSIG(status));
	}
}

/* wl_drain - handle every event already in the pipe, without waiting (lines in flight stay). */
static void wl_drain(struct run *r)
{
	if (!r->wl_alive)
		return;
	struct pollfd p = {.fd = r->wl.ev_fd, .events = POLLIN};
	while (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP))) {
		if (wl_read(r, NULL) == 0) {
			wl_gone(r);
			return;
		}
	}
}

/* wl_kill - SIGKILL the workload (if alive), read its last events, reap it. */
static void wl_kill(struct run *r)
{
	if (!r->wl_alive)
		return;
	if (kill(r->wl.pid, SIGKILL) < 0 && errno != ESRCH)
		fail(r, "cannot kill the workload (pid %d): %s", (int)r->wl.pid, strerror(errno));
	while (wl_read(r, NULL) == 1)
		;
	bg_account(r);
	seal(r);
	reap(r->wl.pid, 5000);
	close(r->wl.cmd_fd);
	close(r->wl.ev_fd);
	r->wl_alive = false;
}

/* wl_call - send CMD (consumed) and wait for its "done" (returned in *done, NULL if the child died
 * first). *rc gets done's rc, *panicked whether the writer panicked during the call. Returns 0, or
 * -1 when the harness must stop (timeout, interrupt, broken pipe). */
static int wl_call(struct run *r, json_t *cmd, json_t **done, int *rc, bool *panicked)
{
	*done = NULL;
	*rc = 0;
	*panicked = false;
	bool was_panicked = r->panicked;
	if (wl_spawn(r) < 0) {
		json_decref(cmd);
		return -1;
	}
	char *line = json_dumps(cmd, JSON_COMPACT);
	json_decref(cmd);
	if (!line)
		return fail(r, "out of memory");
	size_t len = strlen(line);
	line[len] = '\n';
	bool ok = true;
	for (size_t off = 0; ok && off < len + 1;) {
		ssize_t w = write(r->wl.cmd_fd, line + off, len + 1 - off);
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		if (ok)
			off += (size_t)w;
	}
	free(line);
	while (r->wl_alive && !*done) {
		if (stop_now(r))
			return -1;
		struct pollfd p = {.fd = r->wl.ev_fd, .events = POLLIN};
		int pr = poll(&p, 1, 100);
		if (pr > 0 && wl_read(r, done) == 0)
			wl_gone(r);
	}
	if (*done) {
		*rc = (int)json_integer_value(json_object_get(*done, "rc"));
		if (*rc == -ENOSYS)
			return fail(r, "the %s target is not available in this build (ENOSYS)",
			            scenario_target_name(r->sc->target));
		/* A result that panicked the writer is followed by the child's exit: see it happen. */
		for (int i = 0; i < 250 && r->wl_alive && json_is_true(json_object_get(*done, "panic"));
		     i++) {
			struct pollfd p = {.fd = r->wl.ev_fd, .events = POLLIN};
			if (poll(&p, 1, 20) > 0 && wl_read(r, NULL) == 0)
				wl_gone(r);
		}
	} else if (!r->panicked && !ok) {
		return fail(r, "the workload process died");
	}
	*panicked = r->panicked && !was_panicked;
	if (!*done && !*panicked)
		return fail(r, "the workload process died without answering");
	return 0;
}

/* seal - decide the durability of every acknowledgement so far (at a cut or crash). */
static void seal(struct run *r)
{
	for (size_t i = r->sealed; i < r->n_acks; i++)
		r->acks[i].durable = r->acks[i].lsn <= r->max_durable;
	r->sealed = r->n_acks;
}

/* handle_event - one event line from the workload. */
static void handle_event(struct run *r, json_t *o)
{
	const char *e = json_string_value(json_object_get(o, "ev"));
	double t = json_number_value(json_object_get(o, "t"));
	if (!e)
		return;
	if (strcmp(e, "ack") == 0) {
		if (grow((void **)&r->acks, &r->cap_acks, r->n_acks, sizeof(r->acks[0])) < 0) {
			fail(r, "out of memory");
			return;
		}
		size_t cap = r->cap_acks; /* ack_page follows acks' capacity */
		int64_t *pg = realloc(r->ack_page, cap * sizeof(*pg));
		if (!pg) {
			fail(r, "out of memory");
			return;
		}
		r->ack_page = pg;
		json_t *page = json_object_get(o, "page");
		struct checks_ack *a = &r->acks[r->n_acks];
		*a = (struct checks_ack){.lsn = (uint64_t)json_integer_value(json_object_get(o, "lsn")),
		                         .id = (uint64_t)json_integer_value(json_object_get(o, "id")),
		                         .t_ms = t};
		r->ack_page[r->n_acks] = page ? json_integer_value(page) : -1;
		r->n_acks++;
		uint64_t d = (uint64_t)json_integer_value(json_object_get(o, "d"));
		if (d > r->max_durable)
			r->max_durable = d;
		if (page && r->page_last) {
			uint64_t p = (uint64_t)json_integer_value(page) % TABLE_PAGES;
			r->page_prev[p] = r->page_last[p];
			r->page_last[p] = a->id;
		}
		if (r->verbose_acks++ < MAX_VERBOSE_ACKS) {
			struct report_event *x = report_event_add(
			    r->rep, t, REPORT_EV_ACK, NULL, "acknowledged LSN %llu (record %llu)%s",
			    (unsigned long long)a->lsn, (unsigned long long)a->id,
			    d >= a->lsn ? ", durable" : "");
			if (x)
				x->verbose = true;
		}
	} else if (strcmp(e, "sync") == 0) {
		bool ok = json_is_true(json_object_get(o, "ok"));
		double ms = json_number_value(json_object_get(o, "ms"));
		const char *what = json_string_value(json_object_get(o, "what"));
		r->syncs++;
		if (ms > r->longest_sync_ms)
			r->longest_sync_ms = ms;
		if (!ok) {
			r->sync_errors++;
			if (r->first_fail_t < 0)
				r->first_fail_t = t;
			(void)report_event_add(r->rep, t, REPORT_EV_ERROR, NULL, "fsync of the %s → %s",
			                       what ? what : "file",
			                       json_string_value(json_object_get(o, "err")));
		} else {
			struct report_event *x =
			    report_event_add(r->rep, t, REPORT_EV_FSYNC, NULL, "fsync of the %s ok (%.2f ms)",
			                     what ? what : "file", ms);
			if (x)
				x->verbose = true;
		}
	} else if (strcmp(e, "durable") == 0) {
		uint64_t d = (uint64_t)json_integer_value(json_object_get(o, "lsn"));
		if (d > r->max_durable)
			r->max_durable = d;
	} else if (strcmp(e, "log") == 0) {
		(void)report_event_add(r->rep, t, REPORT_EV_INFO, NULL, "wal: %s",
		                       json_string_value(json_object_get(o, "text")));
	} else if (strcmp(e, "panic") == 0) {
		/* narrated when the exit is seen (wl_gone) */
	} else if (strcmp(e, "rec") == 0) {
		if (grow((void **)&r->rec_lsn, &r->cap_rec, r->n_rec, sizeof(uint64_t)) < 0) {
			fail(r, "out of memory");
			return;
		}
		uint64_t *ids = realloc(r->rec_id, r->cap_rec * sizeof(uint64_t));
		bool *oks = ids ? realloc(r->rec_ok, r->cap_rec * sizeof(bool)) : NULL;
		if (ids)
			r->rec_id = ids;
		if (!oks) {
			fail(r, "out of memory");
			return;
		}
		r->rec_ok = oks;
		r->rec_lsn[r->n_rec] = (uint64_t)json_integer_value(json_object_get(o, "lsn"));
		r->rec_id[r->n_rec] = (uint64_t)json_integer_value(json_object_get(o, "id"));
		r->rec_ok[r->n_rec] = json_is_true(json_object_get(o, "ok"));
		r->n_rec++;
	} else if (strcmp(e, "page") == 0) {
		uint64_t p = (uint64_t)json_integer_value(json_object_get(o, "page"));
		if (r->page_id && p < TABLE_PAGES) {
			r->page_id[p] = (uint64_t)json_integer_value(json_object_get(o, "id"));
			r->page_ok[p] = json_is_true(json_object_get(o, "ok"));
		}
	} else if (strcmp(e, "bgdone") == 0) {
		r->bg_active = false;
		int rc = (int)json_integer_value(json_object_get(o, "rc"));
		int64_t n = json_integer_value(json_object_get(o, "count"));
		double ms = json_number_value(json_object_get(o, "ms"));
		r->append_ms += ms;
		r->append_acked += n;
		(void)report_event_add(r->rep, t, rc ? REPORT_EV_ERROR : REPORT_EV_WRITE, NULL,
		                       "background append finished: %lld acknowledged in %.1f ms%s%s",
		                       (long long)n, ms, rc ? ", stopped by " : "", rc ? err_word(-rc) : "");
	}
}

/* ---- Daemon status: fault hits, page states, filesystem state ---- */

/* refresh_status - ask the daemon; narrate page-state changes; remember rule hits. */
static void refresh_status(struct run *r, bool narrate)
{
	if (!r->mounted)
		return;
	json_t *st = NULL;
	char err[256];
	if (control_client_status(r->mnt, &st, err, sizeof(err)) < 0)
		return;
	json_t *s = json_object_get(st, "status");
	if (!s)
		s = st;
	const char *state =
	    r->kernel ? runner_kernel_fs_state(r->kernel) : json_string_value(json_object_get(s, "state"));
	if (state && strcmp(state, r->fs_state) != 0) {
		if (r->fs_state[0] || strcmp(state, "ok") != 0)
			ev(r, strcmp(state, "ok") ? REPORT_EV_ERROR : REPORT_EV_STATE, "filesystem state: %s",
			   state);
		snprintf(r->fs_state, sizeof(r->fs_state), "%s", state);
	}
	json_t *rules = json_object_get(s, "rules"), *rule;
	size_t i;
	json_array_foreach(rules, i, rule)
	{
		uint64_t id = (uint64_t)json_integer_value(json_object_get(rule, "id"));
		for (size_t k = 0; k < r->n_rules; k++)
			if (r->rules[k].id == id) {
				int64_t hits = r->kernel ? runner_kernel_hits(r->kernel, id, rules)
				                         : json_integer_value(json_object_get(rule, "hits"));
				if (hits > r->rules[k].hits) {
					if (narrate)
						ev(r, REPORT_EV_INJECT, "rule %llu fired (%lld hit%s so far)",
						   (unsigned long long)id, (long long)hits,
						   hits == 1 ? "" : "s");
					r->rules[k].hits = hits;
				}
			}
	}
	int64_t dirty = 0, failed = 0;
	char where[256] = "";
	json_t *files = json_object_get(s, "files"), *f;
	json_array_foreach(files, i, f)
	{
		size_t d = json_array_size(json_object_get(f, "dirty_pages"));
		size_t fl = json_array_size(json_object_get(f, "failed_pages"));
		dirty += (int64_t)d;
		failed += (int64_t)fl;
		if ((d || fl) && strlen(where) < 160) {
			size_t n = strlen(where);
			snprintf(where + n, sizeof(where) - n, "%s%s: %zu dirty, %zu failed", n ? "; " : "",
			         json_string_value(json_object_get(f, "path")), d, fl);
		}
	}
	if (narrate && files && (dirty != r->last_dirty || failed != r->last_failed)) {
		if (failed > r->last_failed && dirty <= r->last_dirty)
			ev(r, REPORT_EV_STATE,
			   "page cache: %lld page%s failed writeback and %s no longer dirty (%s)",
			   (long long)failed, failed == 1 ? "" : "s", failed == 1 ? "is" : "are", where);
		else
			ev(r, REPORT_EV_STATE, "page cache: %lld dirty, %lld failed-writeback page%s%s%s%s",
			   (long long)dirty, (long long)failed, dirty + failed == 1 ? "" : "s",
			   where[0] ? " (" : "", where, where[0] ? ")" : "");
	}
	if (files) {
		r->last_dirty = dirty;
		r->last_failed = failed;
	}
	json_decref(st);
}

static int64_t fault_hits(const struct run *r, bool data_only)
{
	int64_t n = 0;
	for (size_t k = 0; k < r->n_rules; k++)
		if (!data_only || r->rules[k].data)
			n += r->rules[k].hits;
	return n;
}

/* ---- Shadows (what reads are compared with) ---- */

static struct shadow *shadow_get(struct run *r, const char *path)
{
	for (size_t i = 0; i < r->n_files; i++)
		if (strcmp(r->files[i].path, path) == 0)
			return &r->files[i];
	if (r->n_files == MAX_FILES)
		return NULL;
	struct shadow *s = &r->files[r->n_files++];
	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s", path);
	return s;
}

/* shadow_write - remember a successful write of DATA at OFF to PATH. 0 or -ENOMEM. */
static int shadow_write(struct run *r, const char *path, uint64_t off, const uint8_t *data, size_t len)
{
	struct shadow *s = shadow_get(r, path);
	if (!s)
		return 0; /* more files than the harness follows: reads of it compare as "other" */
	if (grow((void **)&s->w, &s->cap, s->n, sizeof(s->w[0])) < 0)
		return -ENOMEM;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	s->w[s->n++] = (struct shadow_write){.off = off, .len = len, .data = copy};
	return 0;
}

/* shadow_range - the bytes [OFF, OFF+LEN) after the writes of S except number SKIP (SIZE_MAX: none),
 * into OUT (never-written bytes are zeros). */
static void shadow_range(const struct shadow *s, size_t skip, uint64_t off, uint8_t *out, size_t len)
{
	memset(out, 0, len);
	for (size_t i = 0; i < s->n; i++) {
		const struct shadow_write *w = &s->w[i];
		if (i == skip || w->off >= off + len || w->off + w->len <= off)
			continue;
		uint64_t from = w->off > off ? w->off : off;
		uint64_t to = w->off + w->len < off + len ? w->off + w->len : off + len;
		memcpy(out + (from - off), w->data + (from - w->off), to - from);
	}
}

/* shadow_last - the index of the last write of S touching [OFF, OFF+LEN), or SIZE_MAX. */
static size_t shadow_last(const struct shadow *s, uint64_t off, size_t len)
{
	for (size_t i = s->n; i-- > 0;)
		if (s->w[i].off < off + len && s->w[i].off + s->w[i].len > off)
			return i;
	return SIZE_MAX;
}

/* fd_path - the path a named descriptor opened. */
static const char *fd_path(const struct run *r, const char *name)
{
	for (size_t i = 0; name && i < r->n_fds; i++)
		if (strcmp(r->fds[i].name, name) == 0)
			return r->fds[i].path;
	return NULL;
}

/* ---- Steps: workloads ---- */

static int step_append(struct run *r, const struct scenario_step *st)
{
	const struct scenario_append *a = &st->u.append;
	uint32_t size = a->size ? a->size : r->sc->options.record_size;
	json_t *cmd = json_pack("{s:s,s:I,s:i,s:i,s:I,s:b,s:I}", "op", "append", "records",
	                        (json_int_t)a->records, "size", (int)size, "writers",
	                        (int)(a->writers ? a->writers : 1), "interval_ns", (json_int_t)a->interval_ns,
	                        "background", a->background, "id_base", (json_int_t)r->next_id);
	r->next_id += a->records;
	ev(r, REPORT_EV_WRITE, "append %llu record%s of %u bytes (%u writer%s)%s",
	   (unsigned long long)a->records, a->records == 1 ? "" : "s", size, a->writers ? a->writers : 1,
	   a->writers > 1 ? "s" : "", a->background ? ", in the background" : "");
	json_t *done;
	int rc;
	bool panicked;
	if (wl_call(r, cmd, &done, &rc, &panicked) < 0)
		return -1;
	if (a->background && rc == 0) {
		r->bg_active = true;
		r->bg_start_ms = now_ms(r);
		r->bg_acks0 = r->n_acks;
	}
	if (!a->background && done) {
		int64_t n = json_integer_value(json_object_get(done, "count"));
		double ms = json_number_value(json_object_get(done, "ms"));
		r->append_ms += ms;
		r->append_acked += n;
		ev(r, rc ? REPORT_EV_ERROR : REPORT_EV_WRITE, "%lld acknowledged in %.1f ms%s%s",
		   (long long)n, ms, rc ? "; append failed: " : "", rc ? err_word(-rc) : "");
	}
	json_decref(done);
	refresh_status(r, true);
	if (!a->background)
		expect_result(r, st, &a->expect, rc, panicked);
	return 0;
}

static int step_update(struct run *r, const struct scenario_step *st)
{
	const struct scenario_update *u = &st->u.update;
	json_t *cmd = json_pack("{s:s,s:I,s:I,s:I}", "op", "update", "pages", (json_int_t)u->pages, "first",
	                        (json_int_t)u->first, "id_base", (json_int_t)r->next_id);
	r->next_id += u->pages;
	ev(r, REPORT_EV_WRITE, "update %llu page%s from page %llu (logged first, then applied in memory)",
	   (unsigned long long)u->pages, u->pages == 1 ? "" : "s", (unsigned long long)u->first);
	json_t *done;
	int rc;
	bool panicked;
	if (wl_call(r, cmd, &done, &rc, &panicked) < 0)
		return -1;
	if (done) {
		int64_t n = json_integer_value(json_object_get(done, "count"));
		double ms = json_number_value(json_object_get(done, "ms"));
		r->append_ms += ms;
		r->append_acked += n;
		ev(r, rc ? REPORT_EV_ERROR : REPORT_EV_WRITE, "%lld update%s acknowledged in %.1f ms%s%s",
		   (long long)n, n == 1 ? "" : "s", ms, rc ? "; update failed: " : "",
		   rc ? err_word(-rc) : "");
	}
	json_decref(done);
	refresh_status(r, true);
	expect_result(r, st, &u->expect, rc, panicked);
	return 0;
}

static int step_open(struct run *r, const struct scenario_step *st)
{
	const struct scenario_open *o = &st->u.open;
	json_t *done;
	int rc;
	bool panicked;
	if (wl_call(r, json_pack("{s:s,s:s,s:s}", "op", "open", "fd", o->fd, "path", o->path), &done, &rc,
	            &panicked) < 0)
		return -1;
	json_decref(done);
	if (rc == 0 && r->n_fds < MAX_FILES) {
		snprintf(r->fds[r->n_fds].name, sizeof(r->fds[0].name), "%s", o->fd);
		snprintf(r->fds[r->n_fds].path, sizeof(r->fds[0].path), "%s", o->path);
		r->n_fds++;
	}
	ev(r, rc ? REPORT_EV_ERROR : REPORT_EV_INFO, "open %s as fd %s%s%s", o->path, o->fd, rc ? " → " : "",
	   rc ? err_word(-rc) : "");
	expect_result(r, st, &o->expect, rc, panicked);
	return 0;
}

static int step_close(struct run *r, const struct scenario_step *st)
{
	const struct scenario_close *c = &st->u.close;
	json_t *done;
	int rc;
	bool panicked;
	if (wl_call(r, json_pack("{s:s,s:s}", "op", "close", "fd", c->fd), &done, &rc, &panicked) < 0)
		return -1;
	json_decref(done);
	ev(r, rc ? REPORT_EV_ERROR : REPORT_EV_INFO, "close fd %s → %s", c->fd, rc ? err_word(-rc) : "ok");
	expect_result(r, st, &c->expect, rc, panicked);
	return 0;
}

static int step_write(struct run *r, const struct scenario_step *st)
{
	const struct scenario_write *w = &st->u.write;
	size_t len = w->bytes ? w->bytes_len : (size_t)w->length;
	uint8_t *data = malloc(len ? len : 1);
	if (!data)
		return fail(r, "out of memory");
	if (w->bytes)
		memcpy(data, w->bytes, len);
	else
		checks_payload_fill(r->seed, (1ull << 40) + ++r->write_counter, data, len);
	char *hex = workload_hex_encode(data, len);
	json_t *cmd =
	    hex ? json_pack("{s:s,s:I,s:s}", "op", "write", "offset", (json_int_t)w->offset, "data", hex)
	        : NULL;
	free(hex);
	if (!cmd) {
		free(data);
		return fail(r, "out of memory");
	}
	if (w->fd)
		json_object_set_new(cmd, "fd", json_string(w->fd));
	else
		json_object_set_new(cmd, "path", json_string(w->path));
	const char *path = w->fd ? fd_path(r, w->fd) : w->path;
	json_t *done;
	int rc;
	bool panicked;
	if (wl_call(r, cmd, &done, &rc, &panicked) < 0) {
		free(data);
		return -1;
	}
	json_decref(done);
	if (rc == 0 && path && shadow_write(r, path, w->offset, data, len) < 0) {
		free(data);
		return fail(r, "out of memory");
	}
	free(data);
	ev(r, rc ? REPORT_EV_ERROR : REPORT_EV_WRITE, "write %zu bytes at %llu of %s%s%s", len,
	   (unsigned long long)w->offset, path ? path : w->fd, rc ? " → " : " (pages dirty in the cache)",
	   rc ? err_word(-rc) : "");
	refresh_status(r, true);
	expect_result(r, st, &w->expect, rc, panicked);
	return 0;
}

/* ---- Steps: faults ---- */

/* rule_words - a one-line description of a rule object. */
static void rule_words(json_t *rule, char *buf, size_t len)
{
	const char *op = json_string_value(json_object_get(rule, "op"));
	const char *path = json_string_value(json_object_get(rule, "path"));
	const char *err = json_string_value(json_object_get(rule, "errno"));
	const char *effect = json_string_value(json_object_get(rule, "effect"));
	size_t n = (size_t)snprintf(buf, len, "%s of %s", op ? op : "?", path ? path : "every file");
	json_t *block = json_object_get(rule, "block");
	if (block && n < len)
		n += (size_t)snprintf(buf + n, len - n, " block %lld", (long long)json_integer_value(block));
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, " → %s", err ? err : effect ? effect : "?");
	const char *keys[] = {"times", "after", "nth", "sequence", "probability"};
	for (size_t k = 0; k < 5 && n < len; k++) {
		json_t *v = json_object_get(rule, keys[k]);
		if (!v)
			continue;
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		n += (size_t)snprintf(buf + n, len - n, ", %s %s", keys[k], s ? s : "?");
		free(s);
	}
}

static int step_inject(struct run *r, const struct scenario_step *st)
{
	const struct scenario_inject *in = &st->u.inject;
	json_t *rule = json_deep_copy(in->rule);
	if (!rule)
		return fail(r, "out of memory");
	if (json_object_get(rule, "probability") && !json_object_get(rule, "seed"))
		json_object_set_new(rule, "seed", json_integer((json_int_t)r->seed));
	char err[256], words[256];
	rule_words(rule, words, sizeof(words));
	int64_t id = r->kernel ? runner_kernel_inject(r->kernel, rule, err, sizeof(err))
	                       : control_client_inject(r->mnt, rule, err, sizeof(err));
	json_decref(rule);
	if (id == -EOPNOTSUPP)
		r->rep->verdict = REPORT_SKIPPED; /* a story the real kernel cannot be told */
	if (id < 0)
		return fail(r, "line %u: inject refused: %s", st->pos.line, err);
	if (r->kernel && r->kernel->note[0])
		ev(r, REPORT_EV_INJECT, "%s", r->kernel->note);
	if (r->n_rules < MAX_RULES) {
		struct rule_seen *rs = &r->rules[r->n_rules++];
		memset(rs, 0, sizeof(*rs));
		rs->id = (uint64_t)id;
		const char *effect = json_string_value(json_object_get(in->rule, "effect"));
		rs->data = effect && strcmp(effect, "delay") != 0;
		if (in->label)
			snprintf(rs->label, sizeof(rs->label), "%s", in->label);
	}
	ev(r, REPORT_EV_INJECT, "inject rule %lld: %s", (long long)id, words);
	return 0;
}

static int step_clear(struct run *r, const struct scenario_step *st)
{
	uint64_t id = 0;
	const char *label = st->u.clear.label;
	for (size_t k = 0; label && k < r->n_rules; k++)
		if (strcmp(r->rules[k].label, label) == 0)
			id = r->rules[k].id;
	if (label && !id)
		return fail(r, "line %u: no rule labelled '%s'", st->pos.line, label);
	refresh_status(r, true); /* keep the hits of the rules about to go */
	char err[256];
	if ((r->kernel ? runner_kernel_clear(r->kernel, id, err, sizeof(err))
	               : control_client_clear(r->mnt, id, err, sizeof(err))) < 0)
		return fail(r, "line %u: clear failed: %s", st->pos.line, err);
	ev(r, REPORT_EV_INJECT, label ? "clear rule '%s'" : "clear every rule%s", label ? label : "");
	return 0;
}

/* ---- Steps: durability ---- */

static int step_fsync(struct run *r, const struct scenario_step *st)
{
	const struct scenario_fsync *f = &st->u.fsync;
	json_t *cmd = json_pack("{s:s,s:b}", "op", "fsync", "datasync", f->datasync);
	if (f->fd)
		json_object_set_new(cmd, "fd", json_string(f->fd));
	if (f->path)
		json_object_set_new(cmd, "path", json_string(f->path));
	const char *what = r->sc->target == SCENARIO_TARGET_FILE ? (f->fd ? f->fd : f->path) : "the log";
	json_t *done;
	int rc;
	bool panicked;
	if (wl_call(r, cmd, &done, &rc, &panicked) < 0)
		return -1;
	if (done && json_object_get(done, "d")) {
		uint64_t d = (uint64_t)json_integer_value(json_object_get(done, "d"));
		if (d > r->max_durable)
			r->max_durable = d;
	}
	json_decref(done);
	ev(r, rc ? REPORT_EV_ERROR : REPORT_EV_FSYNC, "%s %s → %s", f->datasync ? "fdatasync" : "fsync", what,
	   rc ? err_word(-rc) : "ok");
	refresh_status(r, true);
	expect_result(r, st, &f->expect, rc, panicked);
	return 0;
}

static int step_checkpoint(struct run *r, const struct scenario_step *st)
{
	json_t *done;
	int rc;
	bool panicked;
	ev(r, REPORT_EV_INFO,
	   "checkpoint: write dirty pages to table/table.dat, fsync it, then truncate the log");
	if (wl_call(r, json_pack("{s:s}", "op", "checkpoint"), &done, &rc, &panicked) < 0)
		return -1;
	json_decref(done);
	ev(r, rc ? REPORT_EV_ERROR : REPORT_EV_FSYNC, "checkpoint → %s%s", rc ? err_word(-rc) : "ok",
	   rc ? "" : " (log truncated)");
	refresh_status(r, true);
	expect_result(r, st, &st->u.fsync.expect, rc, panicked);
	return 0;
}

static int step_sync(struct run *r, const struct scenario_step *st)
{
	char err[256];
	int rc = r->kernel ? runner_kernel_sync(r->kernel) : control_client_sync(r->mnt, err, sizeof(err));
	if (r->kernel && rc < 0)
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	if (rc == -ENOENT || rc == -ECONNREFUSED || rc == -ETIMEDOUT)
		return fail(r, "line %u: sync: %s", st->pos.line, err);
	ev(r, rc ? REPORT_EV_ERROR : REPORT_EV_FSYNC, "sync (write back every dirty page) → %s",
	   rc ? err_word(-rc) : "ok");
	refresh_status(r, true);
	expect_result(r, st, &st->u.fsync.expect, rc, false);
	return 0;
}

/* ---- Steps: reads ---- */

static int step_read(struct run *r, const struct scenario_step *st)
{
	const struct scenario_read *rd = &st->u.read;
	const char *path = rd->path ? rd->path : rd->fd ? fd_path(r, rd->fd) : NULL;
	uint64_t off = rd->offset;
	size_t len = rd->length ? (size_t)rd->length : rd->bytes ? rd->bytes_len : r->sc->options.block_size;
	if (rd->has_page) {
		path = "table/table.dat";
		off = rd->page * r->sc->options.block_size;
		len = r->sc->options.block_size;
	}
	json_t *cmd =
	    json_pack("{s:s,s:I,s:I}", "op", "read", "offset", (json_int_t)off, "length", (json_int_t)len);
	if (rd->fd && !rd->has_page)
		json_object_set_new(cmd, "fd", json_string(rd->fd));
	else
		json_object_set_new(cmd, "path", json_string(path ? path : ""));
	json_t *done;
	int rc;
	bool panicked;
	if (wl_call(r, cmd, &done, &rc, &panicked) < 0)
		return -1;
	uint8_t *got = NULL, *cur = calloc(1, len ? len : 1), *prev = calloc(1, len ? len : 1);
	const char *hex = json_string_value(json_object_get(done, "data"));
	ssize_t glen = (rc == 0 && hex) ? workload_hex_decode(hex, &got) : -1;
	bool have_cur = false, have_prev = false;
	if (rd->has_page && r->page_last) {
		uint64_t p = rd->page % TABLE_PAGES;
		if (r->page_last[p]) {
			checks_payload_fill(r->seed, r->page_last[p], cur, len);
			have_cur = true;
		}
		if (r->page_prev[p]) {
			checks_payload_fill(r->seed, r->page_prev[p], prev, len);
			have_prev = true;
		}
	} else if (path && cur && prev) {
		struct shadow *s = shadow_get(r, path);
		size_t last = s ? shadow_last(s, off, len) : SIZE_MAX;
		if (last != SIZE_MAX) {
			shadow_range(s, SIZE_MAX, off, cur, len);
			shadow_range(s, last, off, prev, len);
			have_cur = have_prev = true;
		}
	}
	char obs[64], expw[64];
	bool match = false;
	if (glen == (ssize_t)len && cur && prev) {
		enum checks_read_class c =
		    checks_read_classify(got, have_cur ? cur : NULL, have_prev ? prev : NULL, len);
		snprintf(obs, sizeof(obs), "%s", checks_read_class_name(c));
		switch (rd->expect) {
		case SCENARIO_READ_NEW:
			match = have_cur && memcmp(got, cur, len) == 0;
			break;
		case SCENARIO_READ_OLD:
			match =
			    checks_read_classify(got, NULL, have_prev ? prev : NULL, len) == CHECKS_READ_OLD;
			if (match && c != CHECKS_READ_OLD)
				snprintf(obs, sizeof(obs), "old");
			break;
		case SCENARIO_READ_ZEROS:
			match = checks_read_classify(got, NULL, NULL, len) == CHECKS_READ_OLD;
			if (match)
				snprintf(obs, sizeof(obs), "zeros");
			break;
		case SCENARIO_READ_BYTES:
			match = rd->bytes && len == rd->bytes_len && memcmp(got, rd->bytes, len) == 0;
			snprintf(obs, sizeof(obs), "%s",
			         match ? "the expected bytes" : checks_read_class_name(c));
			break;
		default:
			match = rd->expect == SCENARIO_READ_ANY;
		}
	} else {
		snprintf(obs, sizeof(obs), "%s", rc ? err_word(-rc) : "a short answer");
		match = (rd->expect == SCENARIO_READ_ERRNO && rc == -rd->err) ||
		        (rd->expect == SCENARIO_READ_ERROR && rc < 0) || rd->expect == SCENARIO_READ_ANY;
	}
	static const char *const words[] = {"new", "old", "zeros", "bytes", "errno", "error", "any"};
	if (rd->expect == SCENARIO_READ_ERRNO)
		snprintf(expw, sizeof(expw), "%s", err_word(rd->err));
	else
		snprintf(expw, sizeof(expw), "%s", (unsigned)rd->expect < 7 ? words[rd->expect] : "?");
	free(got);
	free(cur);
	free(prev);
	json_decref(done);
	char where[96];
	if (rd->has_page)
		snprintf(where, sizeof(where), "page %llu", (unsigned long long)rd->page);
	else
		snprintf(where, sizeof(where), "%s at %llu", path ? path : "?", (unsigned long long)off);
	ev(r, rc ? REPORT_EV_ERROR : REPORT_EV_READ, "read %s → %s data%s", where, obs,
	   r->rebooted ? " (after the power cut: what the disk holds)" : " (before any power cut)");
	if (rd->expect != SCENARIO_READ_ANY)
		check(r, st, r->rebooted ? "read after reboot" : "read before reboot", expw, obs, match);
	return 0;
}

/* ---- Steps: the bad day ---- */

/* freeze - SIGSTOP PID and wait until it is stopped (no request in flight). */
static void freeze(struct run *r, pid_t pid, double *t_sent)
{
	if (kill(pid, SIGSTOP) < 0)
		return;
	/* The workload stops at its next return to user space, microseconds from now: it can neither
	 * acknowledge nor sync after this moment. (Not the moment the wait below confirms it: its
	 * first poll usually comes too early and the 2 ms sleep would be counted as loss window.) */
	if (t_sent)
		*t_sent = now_ms(r);
	for (int i = 0; i < 500; i++) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG | WUNTRACED);
		if (w == pid && (WIFSTOPPED(status) || WIFEXITED(status) || WIFSIGNALED(status)))
			return;
		sleep_ms(2);
	}
}

/* kill_started - SIGKILL a started command's process group and reap it. */
static void kill_started(struct started *s)
{
	if (!s->pid)
		return;
	if (kill(-s->pid, SIGKILL) < 0 && errno == ESRCH && kill(s->pid, SIGKILL) < 0) {
		/* already gone: reaped below */
	}
	s->status = reap(s->pid, 5000);
	s->pid = 0;
}

static int step_reboot(struct run *r, const struct scenario_step *st)
{
	(void)st;
	double t_stop = -1;
	if (r->wl_alive)
		freeze(r, r->wl.pid, &t_stop);
	for (size_t i = 0; i < r->n_started; i++)
		if (r->started[i].pid && kill(-r->started[i].pid, SIGSTOP) < 0 && errno != ESRCH)
			return fail(r, "cannot stop '%s': %s", r->started[i].name, strerror(errno));
	/* From the workload's point of view the power fails now: frozen, it can neither acknowledge
	 * nor sync any more. The loss window is measured to this moment, not to the end of the
	 * control round trips below (which take longer on a loaded machine): for the workload, the
	 * moment its SIGSTOP was sent. */
	double t_frozen = t_stop >= 0 ? t_stop : now_ms(r);
	wl_drain(r);
	refresh_status(r, false);
	char err[256];
	if (r->kernel) {
		/* The inner fs must be unmounted for its power cut: no process may hold a file there.
		 * Everything acknowledged was drained above, so killing first loses nothing counted. */
		wl_kill(r);
		for (size_t i = 0; i < r->n_started; i++)
			kill_started(&r->started[i]);
		if (runner_kernel_power_cut(r->kernel, err, sizeof(err)) < 0)
			return fail(r, "line %u: reboot failed: %s", st->pos.line, err);
	} else if (control_client_reboot(r->mnt, err, sizeof(err)) < 0)
		return fail(r, "line %u: reboot failed: %s", st->pos.line, err);
	r->t_cut = t_frozen;
	r->rebooted = true;
	r->rep->m.rebooted = true;
	r->have_recovery = false;
	seal(r);
	ev(r, REPORT_EV_REBOOT, "power cut: every cached page dropped, every process killed");
	wl_kill(r);
	for (size_t i = 0; i < r->n_started; i++)
		kill_started(&r->started[i]);
	r->n_fds = 0;
	r->last_dirty = r->last_failed = 0;
	refresh_status(r, true);
	return 0;
}

static int step_crash(struct run *r, const struct scenario_step *st)
{
	const char *name = st->u.crash.name;
	if (name) {
		for (size_t i = 0; i < r->n_started; i++)
			if (strcmp(r->started[i].name, name) == 0) {
				kill_started(&r->started[i]);
				ev(r, REPORT_EV_CRASH, "crash: '%s' killed (SIGKILL)", name);
				return 0;
			}
		return fail(r, "line %u: no started command named '%s'", st->pos.line, name);
	}
	if (!r->wl_alive) {
		ev(r, REPORT_EV_CRASH, "crash: the workload was not running");
		return 0;
	}
	wl_kill(r);
	seal(r);
	if (r->t_cut < 0)
		r->t_cut = now_ms(r);
	r->n_fds = 0;
	ev(r, REPORT_EV_CRASH, "crash: the workload process killed (SIGKILL); the page cache survives");
	return 0;
}

/* mark_present - after a recovery, which acknowledgements came back intact. */
static void mark_present(struct run *r)
{
	for (size_t i = 0; i < r->n_acks; i++) {
		struct checks_ack *a = &r->acks[i];
		a->present = false;
		if (r->sc->target == SCENARIO_TARGET_TABLE) {
			uint64_t p = (uint64_t)r->ack_page[i] % TABLE_PAGES;
			a->present = r->page_ok[p] && r->page_id[p] >= a->id;
		} else {
			for (size_t k = 0; k < r->n_rec && !a->present; k++)
				a->present = r->rec_lsn[k] == a->lsn && r->rec_id[k] == a->id && r->rec_ok[k];
		}
	}
}

static int step_recover(struct run *r, const struct scenario_step *st)
{
	const struct scenario_recover *rc_ = &st->u.recover;
	if (r->sc->target != SCENARIO_TARGET_WAL && r->sc->target != SCENARIO_TARGET_TABLE)
		return fail(r, "line %u: recover needs the wal or table target", st->pos.line);
	if (r->wl_alive) {
		wl_kill(r);
		seal(r);
	}
	r->n_rec = 0;
	if (r->page_id) {
		memset(r->page_id, 0, TABLE_PAGES * sizeof(*r->page_id));
		memset(r->page_ok, 0, TABLE_PAGES * sizeof(*r->page_ok));
	}
	json_t *done;
	int rc;
	bool panicked;
	if (wl_call(r, json_pack("{s:s}", "op", "recover"), &done, &rc, &panicked) < 0)
		return -1;
	json_t *rep = json_object_get(done, "report");
	const char *verdict = json_string_value(json_object_get(rep, "verdict"));
	const char *detail = json_string_value(json_object_get(rep, "detail"));
	r->rec_records = r->sc->target == SCENARIO_TARGET_WAL && rc == 0
	                     ? (int64_t)r->n_rec
	                     : json_integer_value(json_object_get(rep, "records"));
	r->rec_torn = verdict && strcmp(verdict, "torn-tail") == 0;
	r->rec_corrupt = (verdict && strcmp(verdict, "corrupt") == 0) || rc == -EBADMSG;
	r->rec_bad = 0;
	for (size_t k = 0; k < r->n_rec; k++)
		r->rec_bad += !r->rec_ok[k];
	mark_present(r);
	checks_loss_measure(r->acks, r->n_acks, r->t_cut >= 0 ? r->t_cut : now_ms(r), &r->loss);
	r->have_recovery = true;
	r->recover_stated = rc_->tail != SCENARIO_TAIL_ANY || rc_->corruption != SCENARIO_CORRUPTION_ANY;
	struct report_measures *m = &r->rep->m;
	m->recovered = r->rec_records;
	m->lost = r->loss.lost;
	m->loss_window_ms = r->loss.window_ms;
	m->corruptions_reported = r->rec_corrupt ? 1 : 0;
	m->bad_records_returned = r->rec_bad;
	if (rc < 0 && rc != -EBADMSG)
		ev(r, REPORT_EV_ERROR, "recovery → %s", err_word(-rc));
	else
		ev(r, r->rec_corrupt ? REPORT_EV_ERROR : REPORT_EV_RECOVER,
		   "recovery: %s, %lld record%s%s%s%s", verdict ? verdict : "?", (long long)r->rec_records,
		   r->rec_records == 1 ? "" : "s", detail && detail[0] ? " (" : "",
		   detail && detail[0] ? detail : "", detail && detail[0] ? ")" : "");
	if (r->loss.lost)
		ev(r, REPORT_EV_ERROR,
		   "%lld of %lld acknowledged record%s lost (%lld had been fsynced), LSN %llu..%llu",
		   (long long)r->loss.lost, (long long)r->loss.acked, r->loss.acked == 1 ? "" : "s",
		   (long long)r->loss.durable_lost, (unsigned long long)r->loss.first_lost_lsn,
		   (unsigned long long)r->loss.last_lost_lsn);
	else if (r->n_acks)
		ev(r, REPORT_EV_RECOVER, "every one of %lld acknowledged records is back",
		   (long long)r->n_acks);
	json_decref(done);
	/* the step's own expectations */
	expect_result(r, st, &rc_->result, rc == -EBADMSG ? 0 : rc, panicked);
	char e[48], o[48];
	if (rc_->has_records) {
		scenario_cmp_format(&rc_->records, false, e, sizeof(e));
		snprintf(o, sizeof(o), "%lld", (long long)r->rec_records);
		check(r, st, "recovered records", e, o, scenario_cmp_holds(&rc_->records, r->rec_records));
	}
	if (rc_->tail != SCENARIO_TAIL_ANY) {
		bool want_torn = rc_->tail == SCENARIO_TAIL_TORN;
		check(r, st, "log tail", want_torn ? "torn" : "clean", r->rec_torn ? "torn" : "clean",
		      want_torn == r->rec_torn);
	}
	if (rc_->corruption != SCENARIO_CORRUPTION_ANY) {
		bool want = rc_->corruption == SCENARIO_CORRUPTION_DETECTED;
		if (want && rc_->has_corruption_at) {
			snprintf(e, sizeof(e), "detected at record %llu",
			         (unsigned long long)rc_->corruption_at);
			int64_t at = json_integer_value(json_object_get(rep, "records"));
			if (r->rec_corrupt)
				snprintf(o, sizeof(o), "detected at record %lld", (long long)at);
			else
				snprintf(o, sizeof(o), "none");
			check(r, st, "corruption", e, o,
			      r->rec_corrupt && (uint64_t)at == rc_->corruption_at);
		} else {
			check(r, st, "corruption", want ? "detected" : "none",
			      r->rec_corrupt ? "detected" : "none", want == r->rec_corrupt);
		}
	}
	struct checks_checksum_in ci = {.data_faults = fault_hits(r, true),
	                                .reported = r->rec_torn || r->rec_corrupt,
	                                .bad_returned = r->rec_bad,
	                                .expectation_stated = r->recover_stated};
	if (checks_checksum(r->rep, &ci) < 0)
		return fail(r, "out of memory");
	return 0;
}

/* ---- Steps: expect ---- */

/* metric_value - what the run measured for M; false when it was not measured. */
static bool metric_value(struct run *r, enum scenario_metric m, int64_t *v)
{
	switch (m) {
	case SCENARIO_METRIC_ACKED:
		*v = (int64_t)r->n_acks;
		return true;
	case SCENARIO_METRIC_ACKED_LOST:
		*v = r->loss.lost;
		return r->have_recovery;
	case SCENARIO_METRIC_DURABLE_LOST:
		*v = r->loss.durable_lost;
		return r->have_recovery;
	case SCENARIO_METRIC_LOSS_WINDOW:
		*v = (int64_t)(r->loss.window_ms * 1e6);
		return r->have_recovery;
	case SCENARIO_METRIC_PANICKED:
		*v = r->panicked;
		return true;
	case SCENARIO_METRIC_RECORDS:
		*v = r->rec_records;
		return r->have_recovery;
	case SCENARIO_METRIC_CHECKSUM_ERRORS:
		*v = (r->rec_corrupt || r->rec_torn) ? 1 : 0;
		return r->have_recovery;
	case SCENARIO_METRIC_BAD_RECORDS_RETURNED:
		*v = r->rec_bad;
		return r->have_recovery;
	case SCENARIO_METRIC_TORN_TAIL:
		*v = r->rec_torn;
		return r->have_recovery;
	case SCENARIO_METRIC_CORRUPTION:
		*v = r->rec_corrupt;
		return r->have_recovery;
	case SCENARIO_METRIC_FAULT_HITS:
		*v = fault_hits(r, false);
		return true;
	case SCENARIO_METRIC_FS_STATE:
		*v = strcmp(r->fs_state, "read-only") == 0  ? SCENARIO_FS_READ_ONLY
		     : strcmp(r->fs_state, "shutdown") == 0 ? SCENARIO_FS_SHUTDOWN
		                                            : SCENARIO_FS_OK;
		return r->fs_state[0] != '\0';
	default:
		return false;
	}
}

/* metric_words - VALUE as the metric is spelled (duration, bool, fs state, count). */
static void metric_words(enum scenario_metric m, int64_t value, char *buf, size_t len)
{
	if (scenario_metric_is_duration(m) && value % 1000000 == 0)
		duration_format(value, buf, len);
	else if (scenario_metric_is_duration(m))
		snprintf(buf, len, "%.2fms", (double)value / 1e6); /* measured: not a round number */
	else if (scenario_metric_is_bool(m))
		snprintf(buf, len, "%s", value ? "true" : "false");
	else if (m == SCENARIO_METRIC_FS_STATE)
		snprintf(buf, len, "%s", scenario_fs_state_name((enum scenario_fs_state)value));
	else
		snprintf(buf, len, "%lld", (long long)value);
}

static int step_expect(struct run *r, const struct scenario_step *st)
{
	refresh_status(r, false);
	wl_drain(r);
	for (size_t i = 0; i < st->u.expect.count; i++) {
		const struct scenario_check *c = &st->u.expect.checks[i];
		char e[128], o[64], v[48];
		const char *op = scenario_cmp_op_name(c->cmp.op);
		metric_words(c->metric, c->cmp.value, v, sizeof(v));
		snprintf(e, sizeof(e), "%s %s", op, v);
		int64_t val = 0;
		bool have = metric_value(r, c->metric, &val);
		if (have)
			metric_words(c->metric, val, o, sizeof(o));
		else
			snprintf(o, sizeof(o), "not measured (no recover step after the cut)");
		char name[64];
		snprintf(name, sizeof(name), "%s", scenario_metric_name(c->metric));
		struct scenario_step at = *st;
		at.pos = c->pos;
		/* "<= window" is the batch window plus the longest fsync measured in this run: a record
		 * acknowledged just after a sync started waits for the next one */
		int64_t slack_ns = (int64_t)(r->longest_sync_ms * 1e6);
		if (c->cmp.window)
			snprintf(e, sizeof(e), "%s %s + longest fsync %.2fms", op, v, r->longest_sync_ms);
		check(r, &at, name, e, o, have && scenario_cmp_holds_window(&c->cmp, val, slack_ns));
	}
	return 0;
}

/* ---- Steps: commands (any target; the exec target's only workload) ---- */

/* spawn_cmd - run COMMAND with sh -c in the mount, as USER, output appended to LOG. PID or -errno. */
static pid_t spawn_cmd(struct run *r, const char *command, const char *user, const char *log)
{
	struct passwd *pw = NULL;
	if (user) {
		pw = getpwnam(user);
		if (!pw)
			return -ESRCH;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setpgid(0, 0) < 0)
			_exit(127);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0 && dup2(nul, 0) < 0)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (pw && (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
		           setuid(pw->pw_uid) < 0)) {
			dprintf(2, "fsynclab run: cannot become %s: %s\n", pw->pw_name, strerror(errno));
			_exit(126);
		}
		if (chdir(r->root) < 0) {
			dprintf(2, "fsynclab run: cannot enter %s%s%s: %s\n", r->root, pw ? " as " : "",
			        pw ? pw->pw_name : "", strerror(errno));
			_exit(126);
		}
		setenv("FSYNCLAB_MNT", r->root, 1);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* file_matches - does file PATH contain a match of the extended regex RE? */
static bool file_matches(const char *path, const regex_t *re)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[4096];
	bool m = false;
	while (!m && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0'; /* a line, as grep sees it: "$" matches at its end */
		m = regexec(re, line, 0, NULL, 0) == 0;
	}
	fclose(f);
	return m;
}

/* status_words / status_ok - an exit status in words, and the expectation's verdict. */
static void status_words(int status, char *buf, size_t len)
{
	if (status < 0)
		snprintf(buf, len, "unknown");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
}

static bool status_ok(const struct scenario_status *s, int status)
{
	if (s->kind == SCENARIO_STATUS_ANY)
		return true;
	if (s->kind == SCENARIO_STATUS_NONZERO)
		return status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == s->code;
}

static void status_expected(const struct scenario_status *s, char *buf, size_t len)
{
	if (s->kind == SCENARIO_STATUS_ANY)
		snprintf(buf, len, "any");
	else if (s->kind == SCENARIO_STATUS_NONZERO)
		snprintf(buf, len, "nonzero");
	else
		snprintf(buf, len, "exit %d", s->code);
}

static struct started *started_find(struct run *r, const char *name)
{
	for (size_t i = 0; name && i < r->n_started; i++)
		if (strcmp(r->started[i].name, name) == 0)
			return &r->started[i];
	return NULL;
}

/* wait_pattern - poll LOG for RE until TIMEOUT_NS; stop early if PID (when > 0) exits. */
static int wait_pattern(struct run *r, const char *log, const char *pattern, int64_t timeout_ns, pid_t pid,
                        bool *matched, bool *exited)
{
	regex_t re;
	*matched = *exited = false;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return fail(r, "bad pattern '%s'", pattern);
	int64_t end = workload_clock_ns() + timeout_ns;
	while (!(*matched = file_matches(log, &re))) {
		if (stop_now(r)) {
			regfree(&re);
			return -1;
		}
		if (pid > 0) {
			int status;
			if (waitpid(pid, &status, WNOHANG) == pid) {
				*exited = true;
				*matched = file_matches(log, &re);
				break;
			}
		}
		if (workload_clock_ns() > end)
			break;
		sleep_ms(20);
	}
	regfree(&re);
	return 0;
}

static int step_start(struct run *r, const struct scenario_step *st)
{
	const struct scenario_start *s = &st->u.start;
	if (r->n_started == MAX_STARTED)
		return fail(r, "line %u: too many started commands", st->pos.line);
	struct started *sp = &r->started[r->n_started];
	memset(sp, 0, sizeof(*sp));
	snprintf(sp->name, sizeof(sp->name), "%s", s->name ? s->name : "app");
	snprintf(sp->log, sizeof(sp->log), "%s/out-%zu.log", r->dir, r->n_started);
	pid_t pid = spawn_cmd(r, s->command, s->user, sp->log);
	if (pid < 0)
		return fail(r, "line %u: cannot start '%s': %s", st->pos.line, s->command,
		            pid == -ESRCH ? "no such user" : strerror((int)-pid));
	sp->pid = pid;
	r->n_started++;
	ev(r, REPORT_EV_EXEC, "start '%s': %s%s%s (pid %d)", sp->name, s->command, s->user ? " as " : "",
	   s->user ? s->user : "", (int)pid);
	if (!s->ready)
		return 0;
	bool matched, exited;
	if (wait_pattern(r, sp->log, s->ready, s->timeout_ns, pid, &matched, &exited) < 0)
		return -1;
	if (exited)
		sp->pid = 0;
	char o[64];
	snprintf(o, sizeof(o), "%s",
	         matched  ? "ready"
	         : exited ? "exited before ready"
	                  : "not ready (timeout)");
	ev(r, matched ? REPORT_EV_EXEC : REPORT_EV_ERROR, "'%s' %s", sp->name, o);
	if (!matched)
		check(r, st, "start", "ready", o, false);
	return 0;
}

static int step_exec(struct run *r, const struct scenario_step *st)
{
	const struct scenario_exec *x = &st->u.exec;
	char log[PATH_MAX + 16];
	snprintf(log, sizeof(log), "%s/exec-%u.log", r->dir, st->pos.line);
	pid_t pid = spawn_cmd(r, x->command, x->user, log);
	if (pid < 0)
		return fail(r, "line %u: cannot run '%s': %s", st->pos.line, x->command, strerror((int)-pid));
	int64_t end = workload_clock_ns() + x->timeout_ns;
	int status = -1;
	bool timed_out = false;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (stop_now(r) || workload_clock_ns() > end) {
			timed_out = !r->error;
			if (kill(-pid, SIGKILL) < 0 && kill(pid, SIGKILL) < 0 && errno != ESRCH)
				return fail(r, "cannot kill '%s': %s", x->command, strerror(errno));
			status = reap(pid, 5000);
			if (r->error)
				return -1;
			break;
		}
		sleep_ms(5);
	}
	char o[64], e[32], out[256];
	status_words(status, o, sizeof(o));
	if (timed_out)
		snprintf(o, sizeof(o), "still running at the timeout (killed)");
	status_expected(&x->status, e, sizeof(e));
	last_line(log, out, sizeof(out));
	bool ok = !timed_out && status_ok(&x->status, status);
	(void)report_event_add(r->rep, now_ms(r), ok ? REPORT_EV_EXEC : REPORT_EV_ERROR, out[0] ? out : NULL,
	                       "exec %s → %s", x->command, o);
	check(r, st, "exec", e, o, ok);
	refresh_status(r, true);
	return 0;
}

static int step_wait(struct run *r, const struct scenario_step *st)
{
	const struct scenario_wait *w = &st->u.wait;
	char path[PATH_MAX + 64];
	pid_t pid = 0;
	if (w->output) {
		struct started *s = started_find(r, w->output);
		if (!s)
			return fail(r, "line %u: no started command named '%s'", st->pos.line, w->output);
		snprintf(path, sizeof(path), "%s", s->log);
	} else if (w->file[0] == '/') {
		snprintf(path, sizeof(path), "%s", w->file);
	} else {
		snprintf(path, sizeof(path), "%s/%s", r->root, w->file);
	}
	bool matched, exited;
	if (wait_pattern(r, path, w->pattern, w->timeout_ns, pid, &matched, &exited) < 0)
		return -1;
	ev(r, matched ? REPORT_EV_EXEC : REPORT_EV_ERROR, "wait for /%s/ in %s → %s", w->pattern,
	   w->output ? w->output : w->file, matched ? "seen" : "timeout");
	check(r, st, "wait", "pattern seen", matched ? "pattern seen" : "timeout", matched);
	return 0;
}

static int step_stop(struct run *r, const struct scenario_step *st)
{
	const struct scenario_stop *s = &st->u.stop;
	struct started *sp = started_find(r, s->name);
	if (!sp)
		return fail(r, "line %u: no started command named '%s'", st->pos.line, s->name);
	int status = sp->status;
	if (sp->pid) {
		if (kill(-sp->pid, s->signal) < 0 && kill(sp->pid, s->signal) < 0 && errno != ESRCH)
			return fail(r, "cannot signal '%s': %s", sp->name, strerror(errno));
		status = reap(sp->pid, (int)(s->timeout_ns / 1000000));
		kill(-sp->pid, SIGKILL); /* whatever it left in its group */
		sp->pid = 0;
		sp->status = status;
	}
	char o[64], e[32];
	status_words(status, o, sizeof(o));
	status_expected(&s->status, e, sizeof(e));
	ev(r, REPORT_EV_EXEC, "stop '%s' (signal %d) → %s", sp->name, s->signal, o);
	if (s->status.kind != SCENARIO_STATUS_ANY)
		check(r, st, "stop", e, o, status_ok(&s->status, status));
	return 0;
}

static int step_sleep(struct run *r, const struct scenario_step *st)
{
	int64_t end = workload_clock_ns() + st->u.sleep.ns;
	char d[32];
	duration_format(st->u.sleep.ns, d, sizeof(d));
	ev(r, REPORT_EV_INFO, "sleep %s", d);
	while (workload_clock_ns() < end) {
		if (stop_now(r))
			return -1;
		wl_drain(r);
		int64_t left = end - workload_clock_ns();
		sleep_ms(left > 20000000 ? 20 : (double)left / 1e6);
	}
	refresh_status(r, true);
	return 0;
}

/* The scenario language, step by step: one handler per kind. */
static int (*const step_handlers[SCENARIO_STEP_COUNT])(struct run *, const struct scenario_step *) = {
    [SCENARIO_STEP_APPEND] = step_append, [SCENARIO_STEP_UPDATE] = step_update,
    [SCENARIO_STEP_OPEN] = step_open,     [SCENARIO_STEP_WRITE] = step_write,
    [SCENARIO_STEP_CLOSE] = step_close,   [SCENARIO_STEP_INJECT] = step_inject,
    [SCENARIO_STEP_CLEAR] = step_clear,   [SCENARIO_STEP_FSYNC] = step_fsync,
    [SCENARIO_STEP_SYNC] = step_sync,     [SCENARIO_STEP_CHECKPOINT] = step_checkpoint,
    [SCENARIO_STEP_READ] = step_read,     [SCENARIO_STEP_REBOOT] = step_reboot,
    [SCENARIO_STEP_CRASH] = step_crash,   [SCENARIO_STEP_RECOVER] = step_recover,
    [SCENARIO_STEP_EXPECT] = step_expect, [SCENARIO_STEP_START] = step_start,
    [SCENARIO_STEP_EXEC] = step_exec,     [SCENARIO_STEP_WAIT] = step_wait,
    [SCENARIO_STEP_STOP] = step_stop,     [SCENARIO_STEP_SLEEP] = step_sleep,
};

/* ---- The end: automatic checks and measures ---- */

static void finish_checks(struct run *r)
{
	struct report_measures *m = &r->rep->m;
	bool wal_like = r->sc->target == SCENARIO_TARGET_WAL || r->sc->target == SCENARIO_TARGET_TABLE;
	m->acked = wal_like ? (int64_t)r->n_acks : -1;
	m->fsyncs = r->sc->target == SCENARIO_TARGET_EXEC ? -1 : r->syncs;
	m->fault_hits = fault_hits(r, false);
	m->fsync_errors = r->sync_errors;
	m->panicked = r->panicked;
	if (r->append_ms > 0 && r->append_acked > 0)
		m->throughput = (double)r->append_acked * 1000.0 / r->append_ms;
	if (r->sc->options.sync == SCENARIO_SYNC_BATCH)
		m->window_limit_ms = (double)r->sc->options.batch_window_ns / 1e6;
	if (wal_like && r->sync_errors > 0) {
		int64_t after = 0;
		for (size_t i = 0; i < r->n_acks; i++)
			after += r->acks[i].t_ms > r->first_fail_t;
		struct checks_panic_in in = {
		    .panic_policy = r->sc->options.sync_error == SCENARIO_SYNC_ERROR_PANIC,
		    .sync_failed = true,
		    .panicked = r->panicked,
		    .acks_after = after,
		    .recovered = r->have_recovery,
		    .durable_lost = r->loss.durable_lost,
		    .first_lost_lsn = r->loss.first_lost_lsn,
		    .last_lost_lsn = r->loss.last_lost_lsn,
		};
		if (checks_panic(r->rep, &in) < 0)
			fail(r, "out of memory");
	}
	if (wal_like && r->sc->options.sync == SCENARIO_SYNC_BATCH && r->rebooted && r->have_recovery &&
	    fault_hits(r, false) == 0 && r->n_acks > 0)
		if (checks_loss_window(r->rep, &r->loss, m->window_limit_ms, r->longest_sync_ms) < 0)
			fail(r, "out of memory");
}

/* ---- Setup and cleanup ---- */

static int setup(struct run *r)
{
	const char *tmp = r->opts->tmp_dir ? r->opts->tmp_dir : getenv("TMPDIR");
	snprintf(r->dir, sizeof(r->dir), "%s/fsynclab-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(r->dir)) {
		r->dir[0] = '\0';
		return fail(r, "cannot create a temporary directory: %s", strerror(errno));
	}
	if (chmod(r->dir, 0755) < 0)
		return fail(r, "chmod %s: %s", r->dir, strerror(errno));
	snprintf(r->backing, sizeof(r->backing), "%s/disk", r->dir);
	snprintf(r->mnt, sizeof(r->mnt), "%s/mnt", r->dir);
	if (r->opts->on_setup)
		r->opts->on_setup(r->opts->on_setup_arg, r->dir, r->mnt, 0);
	if (mkdir(r->backing, 0755) < 0 || mkdir(r->mnt, 0755) < 0)
		return fail(r, "mkdir in %s: %s", r->dir, strerror(errno));
	if (r->sc->target == SCENARIO_TARGET_TABLE) {
		r->page_last = calloc(TABLE_PAGES, sizeof(uint64_t));
		r->page_prev = calloc(TABLE_PAGES, sizeof(uint64_t));
		r->page_id = calloc(TABLE_PAGES, sizeof(uint64_t));
		r->page_ok = calloc(TABLE_PAGES, sizeof(bool));
		if (!r->page_last || !r->page_prev || !r->page_id || !r->page_ok)
			return fail(r, "out of memory");
	}
	return do_mount(r);
}

static void cleanup(struct run *r)
{
	wl_kill(r);
	for (size_t i = 0; i < r->n_started; i++)
		kill_started(&r->started[i]);
	if (r->kernel) { /* the real fs and its loop device go before the FUSE mount under them */
		char kerr[512];
		if (runner_kernel_teardown(r->kernel, kerr, sizeof(kerr)) < 0 && !r->error)
			fail(r, "kernel backend teardown: %s", kerr);
		r->kernel = NULL;
	}
	if (r->mounted) {
		char log[PATH_MAX + 16];
		snprintf(log, sizeof(log), "%s/umount.log", r->dir);
		char *argv[] = {"fsynclab", "umount", r->mnt, NULL};
		int st = run_self(r, argv, log, MOUNT_TIMEOUT_MS);
		if (st != 0 || is_mounted(r->mnt)) {
			/* the clean way failed: detach, and end the daemon by its PID */
			if (umount2(r->mnt, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
				fprintf(stderr, "fsynclab run: cannot unmount %s: %s\n", r->mnt,
				        strerror(errno));
			if (r->daemon_pid > 0 && kill(r->daemon_pid, SIGKILL) < 0 && errno != ESRCH)
				fprintf(stderr, "fsynclab run: cannot kill daemon %d: %s\n",
				        (int)r->daemon_pid, strerror(errno));
			if (!r->error)
				fail(r, "unmount failed (status %d)", st);
		}
		r->mounted = is_mounted(r->mnt);
		if (!r->mounted)
			ev(r, REPORT_EV_MOUNT, "unmounted");
	}
	if (r->dir[0] && !is_mounted(r->mnt)) {
		if (nftw(r->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
			fprintf(stderr, "fsynclab run: cannot remove %s: %s\n", r->dir, strerror(errno));
	} else if (r->dir[0]) {
		fprintf(stderr, "fsynclab run: %s is still mounted; leaving %s in place\n", r->mnt, r->dir);
	}
	for (size_t i = 0; i < r->n_files; i++) {
		for (size_t k = 0; k < r->files[i].n; k++)
			free(r->files[i].w[k].data);
		free(r->files[i].w);
	}
	free(r->lbuf);
	free(r->acks);
	free(r->ack_page);
	free(r->rec_lsn);
	free(r->rec_id);
	free(r->rec_ok);
	free(r->page_id);
	free(r->page_ok);
	free(r->page_last);
	free(r->page_prev);
}

/* describe - the scenario's identity into the result. */
static int describe(struct run *r)
{
	struct report_scenario *s = r->rep;
	const struct scenario *sc = r->sc;
	if (report_set(&s->file, sc->path) < 0 || report_set(&s->teaches, sc->teaches) < 0 ||
	    report_set(&s->profile, scenario_profile_name(sc->profile)) < 0 ||
	    report_set(&s->target, scenario_target_name(sc->target)) < 0)
		return -ENOMEM;
	if (sc->target == SCENARIO_TARGET_WAL || sc->target == SCENARIO_TARGET_TABLE) {
		if (report_set(&s->sync_policy, r->sync) < 0 ||
		    report_set(&s->error_policy,
		               sc->options.sync_error == SCENARIO_SYNC_ERROR_PANIC ? "panic" : "retry") < 0)
			return -ENOMEM;
	}
	return 0;
}

struct report_scenario *runner_run(const struct scenario *sc, const struct runner_options *opts)
{
	struct run *r = calloc(1, sizeof(*r));
	struct report_scenario *rep = report_scenario_new(sc->name);
	if (!r || !rep) {
		free(r);
		report_scenario_free(rep);
		return NULL;
	}
	r->sc = sc;
	r->opts = opts;
	r->rep = rep;
	r->seed = opts->seed_set ? opts->seed : sc->options.seed;
	r->t0 = workload_clock_ns();
	r->deadline = r->t0 + sc->options.timeout_ns;
	r->first_fail_t = -1;
	r->t_cut = -1;
	r->next_id = 1;
	scenario_sync_format(&sc->options, r->sync, sizeof(r->sync));
	if (describe(r) < 0) {
		free(r);
		report_scenario_free(rep);
		return NULL;
	}
	if (setup(r) == 0) {
		for (size_t i = 0; i < sc->step_count && !stop_now(r); i++) {
			const struct scenario_step *st = &sc->steps[i];
			if (st->note)
				ev(r, REPORT_EV_INFO, "%s", st->note);
			int (*h)(struct run *, const struct scenario_step *) =
			    (unsigned)st->kind < SCENARIO_STEP_COUNT ? step_handlers[st->kind] : NULL;
			if (!h) {
				fail(r, "line %u: step '%s' is not supported by this runner", st->pos.line,
				     scenario_step_kind_name(st->kind));
				break;
			}
			if (h(r, st) < 0)
				break;
		}
		if (!r->error) {
			wl_drain(r);
			finish_checks(r);
		}
	}
	cleanup(r);
	if (r->error && rep->verdict != REPORT_SKIPPED)
		rep->verdict = REPORT_ERROR;
	if (r->error && report_set(&rep->error, r->error) < 0)
		rep->error = NULL;
	rep->duration_ms = now_ms(r);
	report_scenario_finish(rep);
	free(r);
	return rep;
}

struct report_scenario *runner_run_file(const char *path, const struct runner_options *opts)
{
	struct scenario *sc = NULL;
	char err[1024];
	int rc = scenario_load_file(path, &sc, err, sizeof(err));
	if (rc < 0) {
		const char *base = strrchr(path, '/');
		struct report_scenario *rep = report_scenario_new(base ? base + 1 : path);
		if (!rep)
			return NULL;
		rep->verdict = REPORT_ERROR;
		if (report_set(&rep->file, path) < 0 || report_set(&rep->error, err) < 0) {
			report_scenario_free(rep);
			return NULL;
		}
		return rep;
	}
	struct report_scenario *rep = runner_run(sc, opts);
	scenario_free(sc);
	return rep;
}
