/*
 * bench_fs.c — `fsynclab bench fs`: fio side by side, interleaved, on the backing filesystem
 * (native), on fsynclab with --cache none and --cache emulate, on fsynclab --cache emulate with
 * 100 armed rules that match nothing, and on two peers: bindfs (--multithreaded -o big_writes)
 * and libfuse's example passthrough_ll (compiled here from the libfuse3-dev examples).
 *
 * Lines (one figure per target per round):
 *   append   4 KiB appends, fdatasync after each (IOPS)
 *   seq      1 MiB sequential writes, one fsync at the end (MiB/s)
 *   rand     4 KiB random reads of a cached file (IOPS)
 *   cpu      the daemon's CPU seconds (user + system) per GiB written by the seq job
 *
 * Why paired ratios. On a shared machine the same fio job swings 2–5x from one minute to the
 * next, so the median of native's figures and the median of a target's figures may come from
 * different weather, and their quotient means little. Rounds are interleaved instead: in every
 * round each job runs once on every target, back to back (job-major), in an order shuffled
 * for every round and job (run_order), so a target and its reference run seconds apart (a few jobs' worth, not a
 * whole round's). Each comparison is then made *within* a
 * round (target / native of the same round, fsynclab / peer of the same round, emulate with
 * rules / emulate of the same round) and summarised over the rounds as median [min–max]. Every
 * ratio reads "higher is better": for CPU the quotient is reference / target.
 *
 * What it does not do: it is not a test. It prints figures and the goals (#3,
 * "Performance") with met / NOT MET beside them, and never fails because a goal is missed
 * (exit 1 only when something could not be run, 2 on bad usage). It does not make a noisy machine
 * quiet: it prints the load average at start and end and warns when it exceeds the CPU count.
 *
 * Cleanup: everything lives under one fresh directory (--dir's child), removed at the end;
 * SIGINT, SIGTERM and SIGHUP stop the running fio, unmount every target (by path, daemons by pid)
 * and remove the directory before the signal is re-raised. The peers run in their own session
 * so that a terminal's Ctrl-C reaches only us and fio, and teardown stays in one place.
 */
#include "commands.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "control.h"
#include "control_client.h"
#include "faults.h"
#include "mountpoint.h"

#define BENCH_MAX_ROUNDS   15
#define BENCH_IDLE_RULES   100
#define PASSTHROUGH_LL_SRC "/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c"
#define BENCH_JSON_SCHEMA  "fsynclab-bench-fs/1"

/* ---- What can be measured, and on what ---- */

/* The lines of the report. The first three are fio jobs (--jobs); cpu comes with seq. */
enum line { LINE_APPEND, LINE_SEQ, LINE_RAND, LINE_CPU, NLINES };
#define NJOBS 3 /* LINE_APPEND .. LINE_RAND */

static const struct line_spec {
	const char *word;  /* --jobs word and JSON key */
	const char *title; /* text column heading */
	const char *unit;
} line_specs[NLINES] = {
    [LINE_APPEND] = {"append", "append+fdatasync", "IOPS"},
    [LINE_SEQ] = {"seq", "seq write 1 MiB", "MiB/s"},
    [LINE_RAND] = {"rand", "rand read 4 KiB", "IOPS"},
    [LINE_CPU] = {"cpu", "CPU s/GiB", "s/GiB"},
};

enum target_kind { TARGET_NATIVE, TARGET_FSYNCLAB, TARGET_BINDFS, TARGET_PASSTHROUGH_LL };

/* The targets, in this fixed order (the index is the target's id everywhere below). */
enum target_id { T_NATIVE, T_NONE, T_EMULATE, T_RULES, T_BINDFS, T_PLL, NTARGETS };

static const struct target_spec {
	const char *word; /* --targets word and JSON key */
	const char *name; /* text row heading */
	enum target_kind kind;
	const char *cache; /* fsynclab: "none" or "emulate" */
	int rules;         /* fsynclab: armed rules that match nothing */
} target_specs[NTARGETS] = {
    [T_NATIVE] = {"native", "native", TARGET_NATIVE, NULL, 0},
    [T_NONE] = {"none", "fsynclab --cache none", TARGET_FSYNCLAB, "none", 0},
    [T_EMULATE] = {"emulate", "fsynclab --cache emulate", TARGET_FSYNCLAB, "emulate", 0},
    [T_RULES] = {"rules", "fsynclab emulate, 100 rules", TARGET_FSYNCLAB, "emulate", BENCH_IDLE_RULES},
    [T_BINDFS] = {"bindfs", "bindfs --multithreaded", TARGET_BINDFS, NULL, 0},
    [T_PLL] = {"pll", "passthrough_ll (libfuse)", TARGET_PASSTHROUGH_LL, NULL, 0},
};

/*
 * The goals, each a paired ratio that must reach THRESHOLD: fsynclab in both cache modes
 * against native and against both peers on every line, and the idle rules' cost (< 5%).
 */
static const struct goal_spec {
	enum target_id target, against;
	enum line line;
	double threshold;
} goal_specs[] = {
    {T_NONE, T_NATIVE, LINE_APPEND, 0.8},    {T_NONE, T_NATIVE, LINE_SEQ, 0.8},
    {T_NONE, T_NATIVE, LINE_RAND, 0.5},      {T_EMULATE, T_NATIVE, LINE_APPEND, 0.8},
    {T_EMULATE, T_NATIVE, LINE_SEQ, 0.8},    {T_EMULATE, T_NATIVE, LINE_RAND, 0.5},
    {T_NONE, T_BINDFS, LINE_APPEND, 1.0},    {T_NONE, T_BINDFS, LINE_SEQ, 1.0},
    {T_NONE, T_BINDFS, LINE_RAND, 1.0},      {T_NONE, T_BINDFS, LINE_CPU, 1.0},
    {T_NONE, T_PLL, LINE_APPEND, 1.0},       {T_NONE, T_PLL, LINE_SEQ, 1.0},
    {T_NONE, T_PLL, LINE_RAND, 1.0},         {T_NONE, T_PLL, LINE_CPU, 1.0},
    {T_EMULATE, T_BINDFS, LINE_APPEND, 1.0}, {T_EMULATE, T_BINDFS, LINE_SEQ, 1.0},
    {T_EMULATE, T_BINDFS, LINE_RAND, 1.0},   {T_EMULATE, T_BINDFS, LINE_CPU, 1.0},
    {T_EMULATE, T_PLL, LINE_APPEND, 1.0},    {T_EMULATE, T_PLL, LINE_SEQ, 1.0},
    {T_EMULATE, T_PLL, LINE_RAND, 1.0},      {T_EMULATE, T_PLL, LINE_CPU, 1.0},
    {T_RULES, T_EMULATE, LINE_APPEND, 0.95}, {T_RULES, T_EMULATE, LINE_SEQ, 0.95},
    {T_RULES, T_EMULATE, LINE_RAND, 0.95},
};
#define NGOALS (sizeof(goal_specs) / sizeof(goal_specs[0]))

/* One filesystem under test. */
struct target {
	const struct target_spec *spec;
	bool selected; /* asked for (--targets, or needed as a reference) */
	char backing[PATH_MAX], mnt[PATH_MAX];
	const char *dir; /* where fio runs: mnt, or backing for native */
	pid_t pid;       /* the daemon: CPU accounting, and teardown of the peers (0 = none) */
	bool mounted, available;
	char why[PATH_MAX + 64];   /* why not available */
	char daemon_log[PATH_MAX]; /* fsynclab: the daemon's log, removed after a clean umount */
	/* v[line][round]: the figure of each round; NAN where not measured (native's CPU) */
	double v[NLINES][BENCH_MAX_ROUNDS];
};

struct bench {
	char base[1024]; /* kept short so every path built from it fits */
	char self[PATH_MAX];
	char pll[PATH_MAX];
	int rounds;
	bool quick;
	bool job[NJOBS]; /* --jobs */
	int runtime_s;   /* append and rand jobs */
	long seq_mib;    /* seq job size */
	long rand_mib;   /* rand file size */
	struct target t[NTARGETS];
};

/* Facts about the machine and the run, for the report's header. */
struct facts {
	char date[32];    /* ISO 8601, UTC */
	char kernel[128]; /* uname -r */
	char fio[64];     /* fio --version */
	char fstype[64];  /* of the backing directory */
	long cpus;
	double load_start[3], load_end[3]; /* /proc/loadavg: 1, 5 and 15 minutes; NAN if unknown */
	double rule_check_ns;              /* NAN when not measured */
};

/* ---- Signals ---- */

/* The signal that asked us to stop (0 = none yet). Set by the handler, read everywhere. */
static volatile sig_atomic_t bench_stop;

static void bench_on_signal(int sig)
{
	bench_stop = sig;
}

/* Catch SIGINT, SIGTERM and SIGHUP without SA_RESTART, so a blocked waitpid returns EINTR. */
static int signals_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	if (sigemptyset(&sa.sa_mask) != 0)
		return -1;
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		return -1;
	return 0;
}

/* Put the default dispositions back (before re-raising the signal that stopped us). */
static void signals_restore(void)
{
	if (signal(SIGINT, SIG_DFL) == SIG_ERR || signal(SIGTERM, SIG_DFL) == SIG_ERR ||
	    signal(SIGHUP, SIG_DFL) == SIG_ERR)
		fprintf(stderr, "fsynclab bench fs: cannot restore signal handlers\n");
}

/* ---- Processes ---- */

/* Send SIG to PID, saying so when that fails for another reason than "already gone". */
static void kill_pid(pid_t pid, int sig)
{
	if (kill(pid, sig) != 0 && errno != ESRCH)
		fprintf(stderr, "fsynclab bench fs: kill %ld: %s\n", (long)pid, strerror(errno));
}

/*
 * SIGKILL the children of PID (from /proc/PID/task/ * /children): fio forks each job into a
 * session of its own, so killing fio's process group would miss them.
 */
static void kill_children(pid_t pid)
{
	char path[96];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		long child;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.20s/children", (long)pid, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fscanf(f, "%ld", &child) == 1)
			if (child > 1)
				kill_pid((pid_t)child, SIGKILL);
		if (fclose(f) != 0)
			fprintf(stderr, "fsynclab bench fs: reading %s: %s\n", path, strerror(errno));
	}
	if (closedir(d) != 0)
		fprintf(stderr, "fsynclab bench fs: closedir: %s\n", strerror(errno));
}

/*
 * Run ARGV (NULL-terminated), stdout to OUT (NULL = inherit, "" = /dev/null). When a stop signal
 * arrives while it runs and INTERRUPTIBLE is set, the child gets SIGTERM (fio stops its jobs),
 * and SIGKILL, with its own children, if it is still there 3 s later: fio 3.33 can deadlock when
 * a terminal's Ctrl-C reaches it and its job together. Otherwise the child is left to finish.
 * Returns its exit status, or -1 (killed, or could not run).
 */
static int run_argv(char *const argv[], const char *out, bool interruptible)
{
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
	pid_t pid = fork();
	int status, waited_ms = -1; /* since SIGTERM; -1 = not sent */

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out) {
			int fd =
			    open(out[0] ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

			if (fd < 0 || dup2(fd, 1) < 0)
				_exit(127);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		pid_t w;

		if (interruptible && bench_stop && waited_ms < 0) {
			kill_pid(pid, SIGTERM);
			waited_ms = 0;
		}
		w = waitpid(pid, &status, waited_ms >= 0 ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (w == 0) { /* after SIGTERM: poll */
			if (waited_ms == 3000) {
				fprintf(stderr, "fsynclab bench fs: %s did not stop on SIGTERM; killing it\n",
				        strcmp(argv[0], "nice") == 0 ? argv[1] : argv[0]);
				kill_children(pid);
				kill_pid(pid, SIGKILL);
			}
			nanosleep(&tick, NULL);
			waited_ms += 20;
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Start ARGV in the background in a session of its own (stdout and stderr to LOG). Returns the pid or -1. */
static pid_t spawn_argv(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setsid() < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait until MNT appears in the mount table (up to 5 s). Returns true when it did. */
static bool wait_mounted(const char *mnt, pid_t pid)
{
	char fstype[64];
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};

	for (int i = 0; i < 250; i++) {
		if (mountpoint_lookup(mnt, fstype, sizeof(fstype)) == 1)
			return true;
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* CPU seconds (user + system) PID has used so far, or -1. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	if (fclose(f) != 0 || !ok || !(p = strrchr(buf, ')')))
		return -1;
	/* After ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- Machine facts ---- */

/* The three load averages from /proc/loadavg into LOAD; NAN each when unreadable. */
static void loadavg_read(double load[3])
{
	FILE *f = fopen("/proc/loadavg", "re");
	int n = f ? fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) : 0;

	if (f && fclose(f) != 0)
		n = 0;
	if (n != 3)
		load[0] = load[1] = load[2] = NAN;
}

/* The first line of ARGV's output (through FILE, a scratch path) into OUT; "?" when none. */
static void first_line_of(char *const argv[], const char *file, char *out, size_t len)
{
	FILE *f;

	snprintf(out, len, "?");
	if (run_argv(argv, file, false) != 0 || !(f = fopen(file, "re")))
		return;
	if (!fgets(out, (int)len, f))
		snprintf(out, len, "?");
	out[strcspn(out, "\n")] = '\0';
	if (fclose(f) != 0)
		fprintf(stderr, "fsynclab bench fs: reading %s: %s\n", file, strerror(errno));
}

static void facts_gather(struct bench *b, struct facts *fx)
{
	char scratch[PATH_MAX + 16];
	struct utsname u;
	time_t now = time(NULL);

	strftime(fx->date, sizeof(fx->date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	snprintf(fx->kernel, sizeof(fx->kernel), "%s", uname(&u) == 0 ? u.release : "?");
	fx->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(scratch, sizeof(scratch), "%s/facts.out", b->base);
	first_line_of((char *[]){"fio", "--version", NULL}, scratch, fx->fio, sizeof(fx->fio));
	/* findmnt names ext4 as ext4 (stat -f says "ext2/ext3" for the same superblock magic). */
	first_line_of((char *[]){"findmnt", "-n", "-o", "FSTYPE", "-T", b->base, NULL}, scratch, fx->fstype,
	              sizeof(fx->fstype));
	if (strcmp(fx->fstype, "?") == 0)
		first_line_of((char *[]){"stat", "-f", "-c", "%T", b->base, NULL}, scratch, fx->fstype,
		              sizeof(fx->fstype));
	fx->load_end[0] = fx->load_end[1] = fx->load_end[2] = NAN;
	fx->rule_check_ns = NAN;
}

/* ---- Targets ---- */

/* Remove PATH; a missing file is fine. Returns 0 or -1. */
static int unlink_quiet(const char *path)
{
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void target_init(struct bench *b, enum target_id id)
{
	struct target *t = &b->t[id];
	bool selected = t->selected;
	int n;

	memset(t, 0, sizeof(*t));
	t->spec = &target_specs[id];
	t->selected = selected;
	n = snprintf(t->backing, sizeof(t->backing), "%s/%s.backing", b->base, t->spec->word);
	if (n < 0 || (size_t)n >= sizeof(t->backing))
		t->backing[0] = '\0';
	n = snprintf(t->mnt, sizeof(t->mnt), "%s/%s.mnt", b->base, t->spec->word);
	if (n < 0 || (size_t)n >= sizeof(t->mnt))
		t->mnt[0] = '\0';
	t->dir = t->spec->kind == TARGET_NATIVE ? t->backing : t->mnt;
	for (int l = 0; l < NLINES; l++)
		for (int r = 0; r < BENCH_MAX_ROUNDS; r++)
			t->v[l][r] = NAN;
}

/* Arm N rules that match nothing the benchmark touches. Returns 0 or -1. */
static int arm_idle_rules(struct target *t, int n)
{
	static const char *ops[] = {"write", "writeback", "fsync", "fdatasync", "read"};
	char err[256];

	for (int i = 0; i < n; i++) {
		char path[64];
		json_t *rule;
		int64_t id;

		snprintf(path, sizeof(path), "no-such-file-%d-*", i);
		rule = json_pack("{s:s, s:s, s:s}", "op", ops[i % 5], "path", path, "errno", "EIO");
		if (!rule)
			return -1;
		id = control_client_inject(t->mnt, rule, err, sizeof(err));
		json_decref(rule);
		if (id <= 0) {
			snprintf(t->why, sizeof(t->why), "inject: %s", err);
			return -1;
		}
	}
	return 0;
}

/* Create T's directories and mount it. Returns 0, or -1 with T->why set. */
static int target_setup(struct bench *b, struct target *t)
{
	char log[PATH_MAX + 8], src[PATH_MAX + 16], sock[PATH_MAX], pidfile[PATH_MAX];

	if (!t->backing[0] || !t->mnt[0]) {
		snprintf(t->why, sizeof(t->why), "path too long");
		return -1;
	}
	if (mkdir(t->backing, 0755) != 0 || (t->spec->kind != TARGET_NATIVE && mkdir(t->mnt, 0755) != 0)) {
		snprintf(t->why, sizeof(t->why), "mkdir: %s", strerror(errno));
		return -1;
	}
	snprintf(log, sizeof(log), "%s.log", t->mnt);
	switch (t->spec->kind) {
	case TARGET_NATIVE:
		break;
	case TARGET_FSYNCLAB: {
		char *argv[] = {b->self,    "mount", "--cache", (char *)t->spec->cache,
		                t->backing, t->mnt,  NULL};
		long pid;

		if (control_socket_path(t->mnt, sock, sizeof(sock), pidfile, sizeof(pidfile)) < 0 ||
		    strlen(pidfile) < 4) {
			snprintf(t->why, sizeof(t->why), "no control socket path");
			return -1;
		}
		/* The daemon's log sits beside its pid file (as `fsynclab mount` names it). */
		snprintf(t->daemon_log, sizeof(t->daemon_log), "%.*s.log", (int)(strlen(pidfile) - 4),
		         pidfile);
		if (run_argv(argv, NULL, false) != 0) {
			snprintf(t->why, sizeof(t->why), "fsynclab mount failed (see %s)", t->daemon_log);
			return -1;
		}
		t->mounted = true;
		if ((pid = mountpoint_read_pid(pidfile)) <= 0) {
			snprintf(t->why, sizeof(t->why), "no pid file");
			return -1;
		}
		t->pid = (pid_t)pid;
		if (t->spec->rules && arm_idle_rules(t, t->spec->rules) < 0)
			return -1;
		break;
	}
	case TARGET_BINDFS: {
		char *argv[] = {"bindfs", "-f", "--multithreaded", "-o", "big_writes", t->backing,
		                t->mnt,   NULL};

		t->pid = spawn_argv(argv, log);
		if (t->pid < 0 || !wait_mounted(t->mnt, t->pid)) {
			snprintf(t->why, sizeof(t->why),
			         "bindfs did not mount (installed? Debian package bindfs)");
			return -1;
		}
		t->mounted = true;
		break;
	}
	case TARGET_PASSTHROUGH_LL: {
		char *argv[] = {b->pll, "-f", "-o", src, t->mnt, NULL};

		if (!b->pll[0]) {
			snprintf(t->why, sizeof(t->why), "%s not found or not buildable", PASSTHROUGH_LL_SRC);
			return -1;
		}
		snprintf(src, sizeof(src), "source=%s", t->backing);
		t->pid = spawn_argv(argv, log);
		if (t->pid < 0 || !wait_mounted(t->mnt, t->pid)) {
			snprintf(t->why, sizeof(t->why), "passthrough_ll did not mount");
			return -1;
		}
		t->mounted = true;
		break;
	}
	}
	t->available = true;
	return 0;
}

/* True while something is mounted on PATH (errors count as mounted: the caller stays careful). */
static bool still_mounted(const char *path)
{
	char fstype[64];

	return path[0] && mountpoint_lookup(path, fstype, sizeof(fstype)) != 0;
}

/*
 * Unmount T by its path and see its daemon gone: fsynclab through `fsynclab umount` (lazy detach
 * and SIGTERM to the daemon's pid when that fails); a peer by umount, then its pid is reaped
 * (SIGKILL after 5 s). A peer that died by itself has nothing left to unmount. Idempotent.
 */
static void target_teardown(struct bench *b, struct target *t)
{
	if (t->spec->kind == TARGET_FSYNCLAB && (t->mounted || still_mounted(t->mnt))) {
		char *argv[] = {b->self, "umount", t->mnt, NULL};

		if (run_argv(argv, NULL, false) == 0) {
			if (unlink_quiet(t->daemon_log) != 0)
				fprintf(stderr, "fsynclab bench fs: rm %s: %s\n", t->daemon_log,
				        strerror(errno));
		} else {
			fprintf(stderr, "fsynclab bench fs: umount %s failed; detaching (daemon log: %s)\n",
			        t->mnt, t->daemon_log);
			if (mountpoint_unmount(t->mnt, true) < 0)
				fprintf(stderr, "fsynclab bench fs: detach %s failed\n", t->mnt);
			if (t->pid > 0)
				kill_pid(t->pid, SIGTERM);
		}
	} else if (t->spec->kind != TARGET_FSYNCLAB && t->spec->kind != TARGET_NATIVE) {
		if (still_mounted(t->mnt)) {
			int rc = mountpoint_unmount(t->mnt, false);

			if (rc < 0) {
				fprintf(stderr, "fsynclab bench fs: unmount %s: %s; detaching\n", t->mnt,
				        strerror(-rc));
				if (mountpoint_unmount(t->mnt, true) < 0)
					fprintf(stderr, "fsynclab bench fs: detach %s failed\n", t->mnt);
			}
		}
		if (t->pid > 0) {
			if (mountpoint_wait_exit(t->pid, 5000) < 0)
				kill_pid(t->pid, SIGKILL);
			while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR)
				;
			t->pid = 0;
		}
	}
	t->mounted = false;
}

/* ---- fio ---- */

/* Run fio with the job options ARGS (NULL-terminated); fill *IOPS / *BW_MIB of DIRECTION. */
static int fio_run(struct bench *b, const char *direction, const char *const *args, double *iops, double *mib)
{
	char out[PATH_MAX + 16], *argv[32];
	json_t *root, *job, *dir;
	json_error_t jerr;
	int n = 0, rc;

	if (bench_stop)
		return -1;
	snprintf(out, sizeof(out), "%s/fio.json", b->base);
	argv[n++] = "nice";
	argv[n++] = "fio";
	argv[n++] = "--output-format=json";
	argv[n++] = "--ioengine=psync";
	argv[n++] = "--fallocate=none";
	for (; *args && n < 30; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	rc = run_argv(argv, out, true);
	if (rc != 0) {
		if (!bench_stop)
			fprintf(stderr, "fsynclab bench fs: fio exited with %d (%s)\n", rc, args[-1]);
		return -1;
	}
	root = json_load_file(out, 0, &jerr);
	job = root ? json_array_get(json_object_get(root, "jobs"), 0) : NULL;
	dir = job ? json_object_get(job, direction) : NULL;
	if (!dir) {
		fprintf(stderr, "fsynclab bench fs: cannot read fio's JSON output %s\n", out);
		json_decref(root);
		return -1;
	}
	if (iops)
		*iops = json_number_value(json_object_get(dir, "iops"));
	if (mib)
		*mib = json_number_value(json_object_get(dir, "bw")) / 1024.0;
	json_decref(root);
	return 0;
}

/* Job LINE (append, seq or rand) once on target T, its figure into round slot R. Returns 0 or -1. */
static int target_job(struct bench *b, struct target *t, enum line line, int r)
{
	char path[PATH_MAX], file[PATH_MAX + 16], size[32], runtime[32];
	int rc = 0;

	snprintf(runtime, sizeof(runtime), "--runtime=%d", b->runtime_s);
	snprintf(path, sizeof(path), "%s/%s.dat", t->dir, line_specs[line].word);
	snprintf(file, sizeof(file), "--filename=%s", path);
	switch (line) {
	case LINE_APPEND: {
		/* 4 KiB appends, fdatasync after each: a new file each time. */
		const char *args[] = {"--name=append", file,    "--rw=write",    "--bs=4k",
		                      "--size=256M",   runtime, "--fdatasync=1", NULL};

		if (unlink_quiet(path) != 0)
			return -1;
		rc |= fio_run(b, "write", args, &t->v[LINE_APPEND][r], NULL);
		rc |= unlink_quiet(path);
		break;
	}
	case LINE_SEQ: {
		/* Sequential 1 MiB writes, one fsync at the end; the daemon's CPU time per GiB. */
		const char *args[] = {"--name=seq",    file, "--rw=write", "--bs=1M", size,
		                      "--end_fsync=1", NULL};
		double before, after;

		snprintf(size, sizeof(size), "--size=%ldM", b->seq_mib);
		before = t->pid ? cpu_seconds(t->pid) : -1;
		rc |= fio_run(b, "write", args, NULL, &t->v[LINE_SEQ][r]);
		after = t->pid ? cpu_seconds(t->pid) : -1;
		if (before >= 0 && after >= 0)
			t->v[LINE_CPU][r] = (after - before) / ((double)b->seq_mib / 1024.0);
		rc |= unlink_quiet(path);
		break;
	}
	case LINE_RAND: {
		/* 4 KiB random reads of a cached file (laid out once, read through once to warm the cache). */
		const char *warm[] = {"--name=warm", file, "--rw=read", "--bs=1M", size, NULL};
		const char *args[] = {"--name=rand", file,    "--rw=randread", "--bs=4k",
		                      size,          runtime, "--time_based",  NULL};

		snprintf(size, sizeof(size), "--size=%ldM", b->rand_mib);
		rc |= fio_run(b, "read", warm, NULL, NULL);
		if (!rc)
			rc |= fio_run(b, "read", args, &t->v[LINE_RAND][r], NULL);
		break;
	}
	default:
		return -1;
	}
	return rc ? -1 : 0;
}

/* ---- Statistics ---- */

/* A summary over the rounds of the finite values only (N = how many; 0 = nothing to say). */
struct stats {
	double median, min, max;
	int n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct stats stats_of(const double *v, int n)
{
	double s[BENCH_MAX_ROUNDS];
	struct stats st = {NAN, NAN, NAN, 0};

	for (int i = 0; i < n; i++)
		if (isfinite(v[i]))
			s[st.n++] = v[i];
	if (!st.n)
		return st;
	qsort(s, (size_t)st.n, sizeof(*s), cmp_double);
	st.median = st.n % 2 ? s[st.n / 2] : (s[st.n / 2 - 1] + s[st.n / 2]) / 2;
	st.min = s[0];
	st.max = s[st.n - 1];
	return st;
}

/*
 * The paired ratios of T against REF on LINE, one per round into OUT (NAN where either figure is
 * missing or the divisor is not positive): T / REF for the fio jobs, REF / T for CPU, so that
 * above 1 always means "T does better". Returns their summary.
 */
static struct stats paired(const struct bench *b, const struct target *t, const struct target *ref,
                           enum line line, double out[BENCH_MAX_ROUNDS])
{
	for (int r = 0; r < b->rounds; r++) {
		double num = line == LINE_CPU ? ref->v[line][r] : t->v[line][r];
		double den = line == LINE_CPU ? t->v[line][r] : ref->v[line][r];

		out[r] = isfinite(num) && isfinite(den) && den > 0 ? num / den : NAN;
	}
	return stats_of(out, b->rounds);
}

/* Whether LINE was measured in this run (cpu comes with seq). */
static bool line_selected(const struct bench *b, enum line line)
{
	return line == LINE_CPU ? b->job[LINE_SEQ] : b->job[line];
}

/*
 * Whether T is compared with REF: every target with native (except on CPU, which native does not
 * spend in a daemon), fsynclab with both peers, emulate-with-rules with plain emulate.
 */
static bool compared_with(enum target_id t, enum target_id ref, enum line line)
{
	enum target_kind k = target_specs[t].kind;

	if (t == ref)
		return false;
	if (ref == T_NATIVE)
		return line != LINE_CPU;
	if (ref == T_BINDFS || ref == T_PLL)
		return k == TARGET_FSYNCLAB;
	return t == T_RULES && ref == T_EMULATE;
}

/* The state of one goal: MET is 1 met, 0 not met, -1 not measured (WHY says why). */
struct goal_state {
	struct stats ratio;
	int met;
	int rounds_met; /* rounds whose paired ratio reaches the threshold (of ratio.n) */
	const char *why;
};

/* Whether goal G applies to this run: its line was measured and both its targets were selected. */
static bool goal_applies(const struct bench *b, const struct goal_spec *g)
{
	return line_selected(b, g->line) && b->t[g->target].selected && b->t[g->against].selected;
}

static struct goal_state goal_evaluate(const struct bench *b, const struct goal_spec *g)
{
	struct goal_state s = {.met = -1, .rounds_met = 0, .why = NULL};
	double per_round[BENCH_MAX_ROUNDS];

	if (!b->t[g->target].available || !b->t[g->against].available) {
		s.why = !b->t[g->target].available ? "target not run" : "reference not run";
		s.ratio = (struct stats){NAN, NAN, NAN, 0};
		return s;
	}
	s.ratio = paired(b, &b->t[g->target], &b->t[g->against], g->line, per_round);
	if (!s.ratio.n) {
		s.why = "no paired figure";
		return s;
	}
	s.met = s.ratio.median >= g->threshold;
	s.rounds_met = 0;
	for (int r = 0; r < b->rounds; r++)
		s.rounds_met += isfinite(per_round[r]) && per_round[r] >= g->threshold;
	return s;
}

/* ---- Text report ---- */

/* "0.95x [0.80-1.10]" into BUF (DIGITS after the point on the median), or "-" when there is nothing to say. */
static void format_ratio(char *buf, size_t len, struct stats st, int digits)
{
	if (!st.n)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*fx [%.2f-%.2f]", digits, st.median, st.min, st.max);
}

static void print_load_warning(const struct facts *fx)
{
	double worst = fmax(fx->load_start[0], fx->load_end[0]);

	if (isfinite(worst) && fx->cpus > 0 && worst > (double)fx->cpus)
		printf("warning: figures are unreliable: %.1f runnable on %ld CPUs (1-minute load average)\n",
		       worst, fx->cpus);
}

static void print_text(const struct bench *b, const struct facts *fx)
{
	static const char dashes[] = "------------------------------------------------------------";
	const char *parent_sep = strrchr(b->base, '/');
	int parent_len = parent_sep ? (int)(parent_sep - b->base) : (int)strlen(b->base);
	double per_round[BENCH_MAX_ROUNDS];
	char cell[64];
	int met = 0, missed = 0, unmeasured = 0;

	printf("\nfsynclab bench fs — %s, Linux %s, %ld CPUs, backing on %s (%.*s), %s\n", fx->date,
	       fx->kernel, fx->cpus, fx->fstype, parent_len, b->base, fx->fio);
	printf("load average (1 min): %.2f at start, %.2f at end\n", fx->load_start[0], fx->load_end[0]);
	print_load_warning(fx);
	printf("%d interleaved round%s%s; each cell: the median figure over the rounds, then the paired\n"
	       "ratio to native (target / native of the same round) as median [min-max] over the rounds\n\n",
	       b->rounds, b->rounds == 1 ? "" : "s", b->quick ? " (--quick: small files, 1 s jobs)" : "");

	/* Table 1: figures and paired ratios to native. */
	printf("| %-28s |", "target");
	for (int l = 0; l < NLINES; l++)
		if (line_selected(b, l)) {
			snprintf(cell, sizeof(cell), "%s %s", line_specs[l].title, line_specs[l].unit);
			printf(" %-*s |", l == LINE_CPU ? 9 : 32, l == LINE_CPU ? line_specs[l].title : cell);
		}
	printf("\n|%.*s|", 30, dashes);
	for (int l = 0; l < NLINES; l++)
		if (line_selected(b, l))
			printf("%.*s|", l == LINE_CPU ? 11 : 34, dashes);
	printf("\n");
	for (int i = 0; i < NTARGETS; i++) {
		const struct target *t = &b->t[i];

		if (!t->selected)
			continue;
		if (!t->available) {
			printf("| %-28s | not run: %s\n", t->spec->name, t->why);
			continue;
		}
		printf("| %-28s |", t->spec->name);
		for (int l = 0; l < NLINES; l++) {
			struct stats fig = stats_of(t->v[l], b->rounds);
			char ratio[48];

			if (!line_selected(b, l))
				continue;
			if (l == LINE_CPU) {
				if (fig.n)
					printf(" %9.2f |", fig.median);
				else
					printf(" %9s |", "-");
				continue;
			}
			if (i == T_NATIVE)
				snprintf(ratio, sizeof(ratio), "%s", "");
			else
				format_ratio(ratio, sizeof(ratio),
				             paired(b, t, &b->t[T_NATIVE], l, per_round), 2);
			if (fig.n)
				printf(" %8.0f %-23s |", fig.median, ratio);
			else
				printf(" %8s %-23s |", "-", ratio);
		}
		printf("\n");
	}

	/* Table 2: fsynclab against the peers, round by round. */
	if (b->t[T_BINDFS].selected || b->t[T_PLL].selected) {
		printf("\nfsynclab against the peers, paired per round: fsynclab / peer as median [min-max]\n"
		       "(CPU: peer / fsynclab, so above 1.00x means fsynclab spent less)\n\n");
		printf("| %-28s | %-8s |", "fsynclab", "peer");
		for (int l = 0; l < NLINES; l++)
			if (line_selected(b, l))
				printf(" %-20s |", line_specs[l].title);
		printf("\n|%.*s|%.*s|", 30, dashes, 10, dashes);
		for (int l = 0; l < NLINES; l++)
			if (line_selected(b, l))
				printf("%.*s|", 22, dashes);
		printf("\n");
		for (int i = 0; i < NTARGETS; i++) {
			const struct target *t = &b->t[i];

			if (!t->selected || t->spec->kind != TARGET_FSYNCLAB)
				continue;
			for (int p = T_BINDFS; p <= T_PLL; p++) {
				if (!b->t[p].selected)
					continue;
				printf("| %-28s | %-8s |", t->spec->name, target_specs[p].word);
				for (int l = 0; l < NLINES; l++) {
					struct stats st = {NAN, NAN, NAN, 0};

					if (!line_selected(b, l))
						continue;
					if (t->available && b->t[p].available)
						st = paired(b, t, &b->t[p], l, per_round);
					format_ratio(cell, sizeof(cell), st, 2);
					printf(" %-20s |", cell);
				}
				printf("\n");
			}
		}
	}

	/* The idle rules' cost, paired with plain emulate. */
	if (b->t[T_RULES].selected && b->t[T_RULES].available && b->t[T_EMULATE].available) {
		const char *sep = "";

		printf("\n%d idle rules, paired per round (emulate with rules / emulate):", BENCH_IDLE_RULES);
		for (int l = 0; l < NJOBS; l++) {
			if (!b->job[l])
				continue;
			format_ratio(cell, sizeof(cell),
			             paired(b, &b->t[T_RULES], &b->t[T_EMULATE], l, per_round), 2);
			printf("%s %s %s", sep, line_specs[l].word, cell);
			sep = ",";
		}
		printf("\n");
	}
	if (isfinite(fx->rule_check_ns))
		printf("rule check with %d idle rules: %.0f ns per call; writeback asks once per 4 KiB page: "
		       "%.0f us per MiB (%.1f%% of a 1 GiB/s stream)\n",
		       BENCH_IDLE_RULES, fx->rule_check_ns, fx->rule_check_ns * 256 / 1000,
		       fx->rule_check_ns * 256 / 1000 / 1000 * 100);

	/* Goals: the median paired ratio against the threshold. */
	printf(
	    "\ngoals (#3): fsynclab >= 0.8x native on appends and sequential writes, >= 0.5x on random "
	    "reads,\n>= 1.0x both peers on every line in both cache modes; %d idle rules cost < 5%% "
	    "(>= 0.95x).\nEach compares the median paired ratio; [min-max] over the rounds beside it, and in "
	    "how\n"
	    "many rounds the paired ratio reached the goal (all or none: consistent; some: noise straddles "
	    "the goal).\n",
	    BENCH_IDLE_RULES);
	for (size_t g = 0; g < NGOALS; g++) {
		const struct goal_spec *gs = &goal_specs[g];
		struct goal_state s;
		char rounds[64];

		if (!goal_applies(b, gs))
			continue;
		s = goal_evaluate(b, gs);
		met += s.met == 1;
		missed += s.met == 0;
		unmeasured += s.met < 0;
		format_ratio(cell, sizeof(cell), s.ratio, 3);
		if (s.met >= 0)
			snprintf(rounds, sizeof(rounds), ", reached in %d of %d rounds", s.rounds_met,
			         s.ratio.n);
		else
			snprintf(rounds, sizeof(rounds), ": %s", s.why);
		printf("  %-8s %-28s %-6s vs %-7s %-20s (goal >= %.2fx%s)\n",
		       s.met == 1   ? "met"
		       : s.met == 0 ? "NOT MET"
		                    : "?",
		       target_specs[gs->target].name, line_specs[gs->line].word,
		       target_specs[gs->against].word, cell, gs->threshold, rounds);
	}
	printf("goals: %d met, %d not met, %d not measured\n", met, missed, unmeasured);
}

/* ---- JSON report (schema: docs/fusefs.md, "Performance"; keep the names stable) ---- */

/* A JSON number, or null for NAN / infinity (jansson refuses those). */
static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* An array of the first N values of V (null where NAN). */
static json_t *jarray(const double *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; a && i < n; i++)
		if (json_array_append_new(a, jnum(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* {"median","min","max","per_round"} of a paired comparison, or of raw figures. */
static json_t *jstats(struct stats st, const double *per_round, int n)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "median", jnum(st.median), "min", jnum(st.min), "max",
	                 jnum(st.max), "per_round", jarray(per_round, n));
}

/* One line of one target: raw figures, their median, and "vs_<target>" paired ratios. */
static json_t *json_line(const struct bench *b, enum target_id id, enum line line)
{
	const struct target *t = &b->t[id];
	struct stats fig = stats_of(t->v[line], b->rounds);
	json_t *o = json_pack("{s:s, s:o, s:o}", "unit", line_specs[line].unit, "per_round",
	                      jarray(t->v[line], b->rounds), "median", jnum(fig.median));

	for (int ref = 0; o && ref < NTARGETS; ref++) {
		double per_round[BENCH_MAX_ROUNDS];
		char key[32];

		if (!compared_with(id, ref, line) || !b->t[ref].selected || !b->t[ref].available)
			continue;
		snprintf(key, sizeof(key), "vs_%s", target_specs[ref].word);
		if (json_object_set_new(
		        o, key, jstats(paired(b, t, &b->t[ref], line, per_round), per_round, b->rounds)) !=
		    0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *json_target(const struct bench *b, enum target_id id)
{
	const struct target *t = &b->t[id];
	json_t *jobs = json_object(), *o;

	for (int l = 0; jobs && l < NJOBS; l++)
		if (b->job[l] && t->available &&
		    json_object_set_new(jobs, line_specs[l].word, json_line(b, id, l)) != 0) {
			json_decref(jobs);
			jobs = NULL;
		}
	o = json_pack("{s:s, s:b, s:o, s:o, s:o}", "name", t->spec->name, "available", t->available, "why",
	              t->available ? json_null() : json_string(t->why), "jobs", jobs, "cpu_s_per_gib",
	              t->available && b->job[LINE_SEQ] && t->spec->kind != TARGET_NATIVE
	                  ? json_line(b, id, LINE_CPU)
	                  : json_null());
	return o;
}

static json_t *json_goals(const struct bench *b)
{
	json_t *a = json_array();

	for (size_t g = 0; a && g < NGOALS; g++) {
		const struct goal_spec *gs = &goal_specs[g];
		struct goal_state s;
		json_t *o;

		if (!goal_applies(b, gs))
			continue;
		s = goal_evaluate(b, gs);
		o = json_pack("{s:s, s:s, s:s, s:f, s:o, s:o, s:o, s:o, s:i, s:i, s:o}", "target",
		              target_specs[gs->target].word, "job", line_specs[gs->line].word, "against",
		              target_specs[gs->against].word, "threshold", gs->threshold, "median",
		              jnum(s.ratio.median), "min", jnum(s.ratio.min), "max", jnum(s.ratio.max), "met",
		              s.met < 0 ? json_null() : json_boolean(s.met), "rounds_met", s.rounds_met,
		              "rounds_measured", s.ratio.n, "why", s.why ? json_string(s.why) : json_null());
		if (json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Print the whole report as one JSON object on stdout. Returns 0 or -1. */
static int print_json(const struct bench *b, const struct facts *fx)
{
	json_t *jobs = json_array(), *targets = json_object(), *doc;
	int rc;

	for (int l = 0; jobs && l < NJOBS; l++)
		if (b->job[l] && json_array_append_new(jobs, json_string(line_specs[l].word)) != 0) {
			json_decref(jobs);
			jobs = NULL;
		}
	for (int i = 0; targets && i < NTARGETS; i++)
		if (b->t[i].selected &&
		    json_object_set_new(targets, target_specs[i].word, json_target(b, i)) != 0) {
			json_decref(targets);
			targets = NULL;
		}
	doc = json_pack("{s:s, s:s, s:s, s:s, s:I, s:{s:o, s:o}, s:s, s:i, s:b, s:o, s:o, s:o, s:o}",
	                "schema", BENCH_JSON_SCHEMA, "date", fx->date, "kernel", fx->kernel, "fio", fx->fio,
	                "cpus", (json_int_t)fx->cpus, "loadavg", "start", jarray(fx->load_start, 3), "end",
	                jarray(fx->load_end, 3), "backing_fs", fx->fstype, "rounds", b->rounds, "quick",
	                b->quick, "jobs", jobs, "targets", targets, "rule_check_ns", jnum(fx->rule_check_ns),
	                "goals", json_goals(b));
	if (!doc) {
		fprintf(stderr, "fsynclab bench fs: cannot build the JSON report (out of memory?)\n");
		return -1;
	}
	rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(doc);
	if (rc != 0 || putchar('\n') == EOF) {
		fprintf(stderr, "fsynclab bench fs: cannot write the JSON report\n");
		return -1;
	}
	return 0;
}

/*
 * The cost of one fault-rule check with 100 armed rules that match nothing (20 of them on the
 * checked op), in ns: CPU-bound, so far less noisy than the fio figures. Writeback asks once per
 * page. Returns NAN when the table cannot be built.
 */
static double idle_rule_check_ns(void)
{
	static const char *ops[] = {"write", "writeback", "fsync", "fdatasync", "read"};
	struct fault_table *table = fault_table_new(4096);
	struct fault_hit hit;
	struct timespec a, b;
	char err[256];
	const int n = 2000000;

	if (!table)
		return NAN;
	for (int i = 0; i < BENCH_IDLE_RULES; i++) {
		char path[64];
		json_t *rule;

		snprintf(path, sizeof(path), "no-such-file-%d-*", i);
		rule = json_pack("{s:s, s:s, s:s}", "op", ops[i % 5], "path", path, "errno", "EIO");
		if (!rule || fault_table_add_json(table, rule, err, sizeof(err)) <= 0) {
			json_decref(rule);
			fault_table_free(table);
			return NAN;
		}
		json_decref(rule);
	}
	if (clock_gettime(CLOCK_MONOTONIC, &a) != 0) {
		fault_table_free(table);
		return NAN;
	}
	for (int i = 0; i < n; i++)
		if (fault_table_check(table, FAULT_OP_WRITEBACK, "bench/seq.dat", (uint64_t)i * 4096, 4096,
		                      &hit))
			break;
	fault_table_free(table);
	if (clock_gettime(CLOCK_MONOTONIC, &b) != 0)
		return NAN;
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
}

/* ---- Command ---- */

static void bench_usage(FILE *out)
{
	fprintf(out,
	        "usage: fsynclab bench fs [--dir DIR] [--rounds N] [--quick] [--jobs LIST] [--targets LIST] "
	        "[--json]\n"
	        "  --dir DIR       where the scratch directory goes (default $TMPDIR or /var/tmp)\n"
	        "  --rounds N      interleaved rounds, 1..%d (default 3)\n"
	        "  --quick         smaller files and 1 s jobs (a smoke run, noisy figures)\n"
	        "  --jobs LIST     comma-separated, of append,seq,rand (default all; cpu comes with seq)\n"
	        "  --targets LIST  comma-separated, of native,none,emulate,rules,bindfs,pll (default all;\n"
	        "                  native is always run, and rules brings emulate: ratios need them)\n"
	        "  --json          print the report as JSON (schema in docs/fusefs.md)\n",
	        BENCH_MAX_ROUNDS);
}

/*
 * Parse the comma-separated LIST of WORDS[N] into SEL[N] (all false first). OPTION names the flag
 * in the error. Returns 0, or -1 after naming the offending word on stderr.
 */
static int parse_words(const char *option, const char *list, const char *const *words, int n, bool *sel)
{
	const char *p = list;

	for (int i = 0; i < n; i++)
		sel[i] = false;
	for (;;) {
		size_t len = strcspn(p, ",");
		int i;

		for (i = 0; i < n; i++)
			if (strlen(words[i]) == len && strncmp(p, words[i], len) == 0)
				break;
		if (len == 0 || i == n) {
			if (len == 0)
				fprintf(stderr, "fsynclab bench fs: %s: empty word in '%s' (expected ",
				        option, list);
			else
				fprintf(stderr,
				        "fsynclab bench fs: %s: unknown word '%.*s' in '%s' (expected ",
				        option, (int)len, p, list);
			for (int j = 0; j < n; j++)
				fprintf(stderr, "%s%s", j ? ", " : "", words[j]);
			fprintf(stderr, ")\n");
			return -1;
		}
		sel[i] = true;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/* Compile libfuse's passthrough_ll example into B->pll; leaves it empty when not possible. */
static void build_passthrough_ll(struct bench *b)
{
	char out[PATH_MAX], log[PATH_MAX];
	char *argv[] = {
	    "sh", "-c", "exec cc -O2 -w -o \"$1\" \"$2\" $(pkg-config --cflags --libs fuse3) >\"$3\" 2>&1",
	    "sh", out,  PASSTHROUGH_LL_SRC,
	    log,  NULL};

	b->pll[0] = '\0';
	if (access(PASSTHROUGH_LL_SRC, R_OK) != 0)
		return;
	snprintf(out, sizeof(out), "%s/passthrough_ll", b->base);
	snprintf(log, sizeof(log), "%s/pll-build.log", b->base);
	if (run_argv(argv, NULL, true) == 0)
		snprintf(b->pll, sizeof(b->pll), "%s", out);
	else if (!bench_stop)
		fprintf(stderr, "fsynclab bench fs: could not build %s (see %s)\n", PASSTHROUGH_LL_SRC, log);
}

/* Parse the command line into B and *PARENT, *JSON. Returns -1 to go on, else the exit status. */
static int bench_parse(struct bench *b, int argc, char **argv, const char **parent, bool *json)
{
	static const struct option options[] = {
	    {"dir", required_argument, NULL, 'd'},     {"rounds", required_argument, NULL, 'r'},
	    {"quick", no_argument, NULL, 'q'},         {"jobs", required_argument, NULL, 'j'},
	    {"targets", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'J'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	const char *job_words[NJOBS], *target_words[NTARGETS];
	bool targets[NTARGETS];
	struct stat st;
	int opt;

	for (int l = 0; l < NJOBS; l++) {
		job_words[l] = line_specs[l].word;
		b->job[l] = true;
	}
	for (int i = 0; i < NTARGETS; i++) {
		target_words[i] = target_specs[i].word;
		targets[i] = true;
	}
	b->rounds = 3;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		char *end;
		long v;

		switch (opt) {
		case 'd':
			*parent = optarg;
			break;
		case 'r':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > BENCH_MAX_ROUNDS) {
				fprintf(stderr, "fsynclab bench fs: bad --rounds '%s' (1 to %d)\n", optarg,
				        BENCH_MAX_ROUNDS);
				return 2;
			}
			b->rounds = (int)v;
			break;
		case 'q':
			b->quick = true;
			break;
		case 'j':
			if (parse_words("--jobs", optarg, job_words, NJOBS, b->job) < 0)
				return 2;
			break;
		case 't':
			if (parse_words("--targets", optarg, target_words, NTARGETS, targets) < 0)
				return 2;
			break;
		case 'J':
			*json = true;
			break;
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "fsynclab bench fs: unknown or incomplete option '%s'\n",
			        argv[optind - 1]);
			bench_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fsynclab bench fs: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (stat(*parent, &st) == 0 && !S_ISDIR(st.st_mode))
		errno = ENOTDIR;
	else if (stat(*parent, &st) == 0 && access(*parent, W_OK | X_OK) == 0)
		errno = 0;
	if (errno) {
		fprintf(stderr, "fsynclab bench fs: bad --dir '%s': %s\n", *parent, strerror(errno));
		return 2;
	}
	targets[T_NATIVE] = true;
	if (targets[T_RULES])
		targets[T_EMULATE] = true;
	for (int i = 0; i < NTARGETS; i++)
		b->t[i].selected = targets[i];
	b->runtime_s = b->quick ? 1 : 3;
	b->seq_mib = b->quick ? 64 : 512;
	b->rand_mib = b->quick ? 32 : 128;
	return -1;
}

/* Remove the scratch directory, unless something is still mounted under it. Returns true when removed. */
static bool bench_remove_base(struct bench *b)
{
	char *rm_argv[] = {"rm", "-rf", "--one-file-system", b->base, NULL};

	for (int i = 0; i < NTARGETS; i++)
		if (b->t[i].spec && b->t[i].spec->kind != TARGET_NATIVE && still_mounted(b->t[i].mnt)) {
			fprintf(stderr, "fsynclab bench fs: %s is still mounted; leaving %s\n", b->t[i].mnt,
			        b->base);
			return false;
		}
	if (run_argv(rm_argv, NULL, false) != 0) {
		fprintf(stderr, "fsynclab bench fs: could not remove %s\n", b->base);
		return false;
	}
	return true;
}
/*
 * The order of the targets for job J of round R: a shuffle (Fisher-Yates, a fixed LCG seeded by
 * R and J, so runs are repeatable). Not a rotation: a rotation keeps the same neighbours every
 * round, and on this VM a target that runs right after a memory-hungry one pays for memory the
 * host took back meanwhile (free page reporting) — every round, if the neighbours never change.
 */
static void run_order(int r, int j, int order[NTARGETS])
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ ((uint64_t)r << 32) ^ (uint64_t)j;

	for (int k = 0; k < NTARGETS; k++)
		order[k] = k;
	for (int k = NTARGETS - 1; k > 0; k--) {
		int pick, tmp;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		pick = (int)((x >> 33) % (uint64_t)(k + 1));
		tmp = order[k];
		order[k] = order[pick];
		order[pick] = tmp;
	}
}

/* Set up the targets, run the rounds, gather the end facts. Returns 0, or 1 when something could not run. */
static int bench_run(struct bench *b, struct facts *fx)
{
	int nt = 0;

	if (b->t[T_PLL].selected)
		build_passthrough_ll(b);
	for (int i = 0; i < NTARGETS && !bench_stop; i++) {
		if (!b->t[i].selected)
			continue;
		if (target_setup(b, &b->t[i]) < 0) {
			fprintf(stderr, "fsynclab bench fs: %s: %s\n", b->t[i].spec->name, b->t[i].why);
			b->t[i].available = false;
		} else {
			nt++;
		}
	}
	if (bench_stop)
		return 1;
	if (!b->t[T_NATIVE].available)
		return 1;
	fprintf(stderr, "fsynclab bench fs: %d round%s over %d targets in %s\n", b->rounds,
	        b->rounds == 1 ? "" : "s", nt, b->base);
	/*
	 * Job-major: within a round, one job runs on every target back to back before the next job,
	 * so a target and its references run seconds apart; the order is shuffled each round and job.
	 */
	for (int r = 0; r < b->rounds; r++) {
		for (int j = 0; j < NJOBS; j++) {
			int order[NTARGETS];

			if (!b->job[j])
				continue;
			run_order(r, j, order);
			for (int k = 0; k < NTARGETS; k++) {
				struct target *t = &b->t[order[k]];

				if (!t->available)
					continue;
				fprintf(stderr, "  round %d, %s: %s\n", r + 1, line_specs[j].word,
				        t->spec->name);
				if (target_job(b, t, j, r) < 0) {
					if (!bench_stop)
						fprintf(stderr, "fsynclab bench fs: %s: job %s failed\n",
						        t->spec->name, line_specs[j].word);
					return 1;
				}
			}
		}
	}
	loadavg_read(fx->load_end);
	fprintf(stderr, "fsynclab bench fs: load average %.2f at end on %ld CPUs%s\n", fx->load_end[0],
	        fx->cpus,
	        isfinite(fx->load_end[0]) && fx->load_end[0] > (double)fx->cpus ? ": figures are unreliable"
	                                                                        : "");
	if (b->t[T_RULES].available)
		fx->rule_check_ns = idle_rule_check_ns();
	return 0;
}

int bench_fs(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	struct facts fx;
	const char *parent = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	char tmpl[PATH_MAX];
	bool json = false, clean = true; /* clean: nothing left behind */
	int status;

	if (!b)
		return 1;
	memset(&fx, 0, sizeof(fx));
	status = bench_parse(b, argc, argv, &parent, &json);
	if (status >= 0) {
		free(b);
		return status;
	}
	if (run_argv((char *[]){"fio", "--version", NULL}, "", false) != 0) {
		fprintf(stderr, "fsynclab bench fs: fio is not installed (Debian package fio)\n");
		free(b);
		return 1;
	}
	if (!realpath("/proc/self/exe", b->self)) {
		fprintf(stderr, "fsynclab bench fs: cannot find myself: %s\n", strerror(errno));
		free(b);
		return 1;
	}
	if (signals_catch() != 0) {
		fprintf(stderr, "fsynclab bench fs: cannot install signal handlers: %s\n", strerror(errno));
		free(b);
		return 1;
	}
	loadavg_read(fx.load_start);
	snprintf(tmpl, sizeof(tmpl), "%s/fsynclab-bench.XXXXXX", parent);
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "fsynclab bench fs: cannot create a directory in '%s': %s\n", parent,
		        strerror(errno));
		status = 1;
		goto out_signals;
	}
	if (!realpath(tmpl, b->base) || strlen(b->base) >= sizeof(b->base) - 64) {
		fprintf(stderr, "fsynclab bench fs: '%s' is too long a path\n", tmpl);
		if (rmdir(tmpl) != 0)
			fprintf(stderr, "fsynclab bench fs: rmdir %s: %s\n", tmpl, strerror(errno));
		status = 1;
		goto out_signals;
	}
	for (int i = 0; i < NTARGETS; i++)
		target_init(b, i);
	facts_gather(b, &fx);
	fprintf(stderr, "fsynclab bench fs: load average %.2f on %ld CPUs\n", fx.load_start[0], fx.cpus);
	if (isfinite(fx.load_start[0]) && fx.load_start[0] > (double)fx.cpus)
		fprintf(stderr,
		        "fsynclab bench fs: warning: figures are unreliable: %.1f runnable on %ld CPUs\n",
		        fx.load_start[0], fx.cpus);

	status = bench_run(b, &fx);
	if (status == 0 && !bench_stop) {
		if (json)
			status = print_json(b, &fx) == 0 ? 0 : 1;
		else
			print_text(b, &fx);
		if (fflush(stdout) != 0)
			status = 1;
	}
	for (int i = 0; i < NTARGETS; i++)
		target_teardown(b, &b->t[i]);
	clean = bench_remove_base(b);
out_signals:
	free(b);
	if (bench_stop) {
		int sig = bench_stop;

		fprintf(stderr, "fsynclab bench fs: interrupted by signal %d; %s\n", sig,
		        clean ? "unmounted and cleaned up" : "see above for what is left");
		signals_restore();
		raise(sig);
		return 128 + sig;
	}
	signals_restore();
	return status;
}
