/*
 * bench_fs.c — `fsynclab bench fs`: fio side by side, interleaved, on the backing filesystem
 * (native), on fsynclab with --cache none and --cache emulate, on fsynclab --cache emulate with
 * 100 armed rules that match nothing, and on two peers: bindfs (--multithreaded -o big_writes)
 * and libfuse's example passthrough_ll (compiled here from the libfuse3-dev examples).
 *
 * Figures (medians over the rounds, and ratios to native):
 *   append   4 KiB appends, fdatasync after each (IOPS)
 *   seq      1 MiB sequential writes, one fsync at the end (MiB/s)
 *   rand     4 KiB random reads of a cached file (IOPS)
 *   cpu      the daemon's CPU seconds (user + system) per GiB written by the seq job
 * Rounds are interleaved (every target runs each job once per round, in a rotating order) so
 * that a noisy neighbour on a shared machine spreads over all targets. fio runs under nice.
 *
 * Not a test: it prints figures and the goals next to them, and never fails because a
 * goal is missed (exit 1 only when something could not be run).
 */
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
#define PASSTHROUGH_LL_SRC "/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c"

enum target_kind { TARGET_NATIVE, TARGET_FSYNCLAB, TARGET_BINDFS, TARGET_PASSTHROUGH_LL };

/* One filesystem under test. */
struct target {
	const char *name;
	enum target_kind kind;
	const char *cache; /* fsynclab: "none" or "emulate" */
	int rules;         /* fsynclab: armed rules that match nothing */
	char backing[PATH_MAX], mnt[PATH_MAX];
	const char *dir; /* where fio runs: mnt, or backing for native */
	pid_t pid;       /* the daemon, for CPU accounting (0 = none) */
	bool mounted, available;
	char why[300]; /* why not available */
	double append[BENCH_MAX_ROUNDS], seq[BENCH_MAX_ROUNDS], rand[BENCH_MAX_ROUNDS], cpu[BENCH_MAX_ROUNDS];
};

struct bench {
	char base[1024]; /* kept short so every path built from it fits */
	char self[PATH_MAX];
	char pll[PATH_MAX];
	int rounds;
	int runtime_s; /* append and rand jobs */
	long seq_mib;  /* seq job size */
	long rand_mib; /* rand file size */
	struct target t[6];
	int nt;
};

/* ---- Processes ---- */

/* Run ARGV (NULL-terminated), stdout to OUT (NULL = inherit, "" = /dev/null). Returns exit status or -1. */
static int run_argv(char *const argv[], const char *out)
{
	pid_t pid = fork();
	int status;

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
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Start ARGV in the background (stdout and stderr to LOG). Returns the pid or -1. */
static pid_t spawn_argv(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
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

/* ---- Targets ---- */

static void target_add(struct bench *b, const char *name, enum target_kind kind, const char *cache, int rules)
{
	struct target *t = &b->t[b->nt++];
	int n;

	memset(t, 0, sizeof(*t));
	t->name = name;
	t->kind = kind;
	t->cache = cache;
	t->rules = rules;
	char base[sizeof(b->base)];

	memcpy(base, b->base, sizeof(base));
	n = snprintf(t->backing, sizeof(t->backing), "%s/t%d.backing", base, b->nt);
	if (n < 0 || (size_t)n >= sizeof(t->backing))
		t->backing[0] = '\0';
	n = snprintf(t->mnt, sizeof(t->mnt), "%s/t%d.mnt", base, b->nt);
	if (n < 0 || (size_t)n >= sizeof(t->mnt))
		t->mnt[0] = '\0';
	t->dir = kind == TARGET_NATIVE ? t->backing : t->mnt;
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

static int target_setup(struct bench *b, struct target *t)
{
	char log[PATH_MAX + 8], src[PATH_MAX + 16], sock[PATH_MAX], pidfile[PATH_MAX];

	if (mkdir(t->backing, 0755) != 0 || (t->kind != TARGET_NATIVE && mkdir(t->mnt, 0755) != 0)) {
		snprintf(t->why, sizeof(t->why), "mkdir: %s", strerror(errno));
		return -1;
	}
	snprintf(log, sizeof(log), "%s.log", t->mnt);
	switch (t->kind) {
	case TARGET_NATIVE:
		break;
	case TARGET_FSYNCLAB: {
		char *argv[] = {b->self, "mount", "--cache", (char *)t->cache, t->backing, t->mnt, NULL};
		long pid;

		if (run_argv(argv, NULL) != 0) {
			snprintf(t->why, sizeof(t->why), "fsynclab mount failed");
			return -1;
		}
		t->mounted = true;
		if (control_socket_path(t->mnt, sock, sizeof(sock), pidfile, sizeof(pidfile)) < 0 ||
		    (pid = mountpoint_read_pid(pidfile)) <= 0) {
			snprintf(t->why, sizeof(t->why), "no pid file");
			return -1;
		}
		t->pid = (pid_t)pid;
		if (t->rules && arm_idle_rules(t, t->rules) < 0)
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

static void target_teardown(struct bench *b, struct target *t)
{
	if (!t->mounted)
		return;
	if (t->kind == TARGET_FSYNCLAB) {
		char *argv[] = {b->self, "umount", t->mnt, NULL};

		if (run_argv(argv, NULL) != 0)
			fprintf(stderr, "fsynclab bench fs: umount %s failed\n", t->mnt);
	} else {
		int rc = mountpoint_unmount(t->mnt, false);

		if (rc < 0) {
			fprintf(stderr, "fsynclab bench fs: unmount %s: %s; detaching\n", t->mnt,
			        strerror(-rc));
			if (mountpoint_unmount(t->mnt, true) < 0)
				fprintf(stderr, "fsynclab bench fs: detach %s failed\n", t->mnt);
		}
		if (t->pid > 0 && waitpid(t->pid, NULL, 0) < 0)
			fprintf(stderr, "fsynclab bench fs: waitpid %ld: %s\n", (long)t->pid,
			        strerror(errno));
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

	snprintf(out, sizeof(out), "%s/fio.json", b->base);
	argv[n++] = "nice";
	argv[n++] = "fio";
	argv[n++] = "--output-format=json";
	argv[n++] = "--ioengine=psync";
	argv[n++] = "--fallocate=none";
	for (; *args && n < 30; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	rc = run_argv(argv, out);
	if (rc != 0) {
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

/* One round of the three jobs on target T, results in slot R. */
static int target_round(struct bench *b, struct target *t, int r)
{
	char file[PATH_MAX + 32], size[32], runtime[32], sizeopt[64];
	double before, after;
	int rc = 0;

	snprintf(runtime, sizeof(runtime), "--runtime=%d", b->runtime_s);

	/* 4 KiB appends, fdatasync after each: a new file each time. */
	snprintf(file, sizeof(file), "--filename=%s/append.dat", t->dir);
	{
		const char *args[] = {"--name=append", file,    "--rw=write",    "--bs=4k",
		                      "--size=256M",   runtime, "--fdatasync=1", NULL};

		if (unlink(file + 11) != 0 && errno != ENOENT)
			return -1;
		rc |= fio_run(b, "write", args, &t->append[r], NULL);
		if (unlink(file + 11) != 0)
			rc = -1;
	}

	/* Sequential 1 MiB writes, one fsync at the end; the daemon's CPU time per GiB. */
	snprintf(file, sizeof(file), "--filename=%s/seq.dat", t->dir);
	snprintf(size, sizeof(size), "--size=%ldM", b->seq_mib);
	{
		const char *args[] = {"--name=seq",    file, "--rw=write", "--bs=1M", size,
		                      "--end_fsync=1", NULL};

		before = t->pid ? cpu_seconds(t->pid) : 0;
		rc |= fio_run(b, "write", args, NULL, &t->seq[r]);
		after = t->pid ? cpu_seconds(t->pid) : 0;
		t->cpu[r] = t->pid && before >= 0 && after >= 0
		                ? (after - before) / ((double)b->seq_mib / 1024.0)
		                : -1;
		if (unlink(file + 11) != 0)
			rc = -1;
	}

	/* 4 KiB random reads of a cached file (laid out once, read through once to warm the cache). */
	snprintf(file, sizeof(file), "--filename=%s/rand.dat", t->dir);
	snprintf(sizeopt, sizeof(sizeopt), "--size=%ldM", b->rand_mib);
	{
		const char *warm[] = {"--name=warm", file, "--rw=read", "--bs=1M", sizeopt, NULL};
		const char *args[] = {"--name=rand", file,    "--rw=randread", "--bs=4k",
		                      sizeopt,       runtime, "--time_based",  NULL};

		rc |= fio_run(b, "read", warm, NULL, NULL);
		rc |= fio_run(b, "read", args, &t->rand[r], NULL);
	}
	return rc ? -1 : 0;
}

/* ---- Report ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[BENCH_MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void print_report(struct bench *b, const char *fstype)
{
	struct utsname u;
	char date[32];
	time_t now = time(NULL);
	struct target *native = &b->t[0];
	double na = median(native->append, b->rounds), ns = median(native->seq, b->rounds),
	       nr = median(native->rand, b->rounds);

	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	if (uname(&u) != 0)
		memset(&u, 0, sizeof(u));
	printf("\nfsynclab bench fs — %s, Linux %s, %ld CPUs, backing on %s (%s)\n", date, u.release,
	       sysconf(_SC_NPROCESSORS_ONLN), fstype, b->base);
	printf("medians of %d interleaved rounds; ratio = target / native\n\n", b->rounds);
	printf("| %-28s | %18s | %18s | %18s | %10s |\n", "target", "append+fdatasync", "seq write 1 MiB",
	       "rand read 4 KiB", "CPU s/GiB");
	printf("| %-28s | %18s | %18s | %18s | %10s |\n", "", "IOPS (ratio)", "MiB/s (ratio)", "IOPS (ratio)",
	       "written");
	printf("|------------------------------|--------------------|--------------------|-------------------"
	       "-|------"
	       "------|\n");
	for (int i = 0; i < b->nt; i++) {
		struct target *t = &b->t[i];
		double a, s, r, c;
		char cpu[32];

		if (!t->available) {
			printf("| %-28s | not run: %s\n", t->name, t->why);
			continue;
		}
		a = median(t->append, b->rounds);
		s = median(t->seq, b->rounds);
		r = median(t->rand, b->rounds);
		c = median(t->cpu, b->rounds);
		if (t->pid && c >= 0)
			snprintf(cpu, sizeof(cpu), "%.2f", c);
		else
			snprintf(cpu, sizeof(cpu), "-");
		printf("| %-28s | %8.0f (%5.2fx) | %8.0f (%5.2fx) | %8.0f (%5.2fx) | %10s |\n", t->name, a,
		       a / na, s, s / ns, r, r / nr, cpu);
	}
	printf("\ngoals: fsynclab >= 0.8x native on appends and sequential writes, >= 0.5x on random reads,\n"
	       "       >= 1.0x both peers on every line in both cache modes; 100 idle rules cost < 5%%.\n");
	if (b->t[2].available && b->t[3].available) {
		double base = median(b->t[2].append, b->rounds), ruled = median(b->t[3].append, b->rounds);
		double bs = median(b->t[2].seq, b->rounds), rs = median(b->t[3].seq, b->rounds);

		printf(
		    "100 idle rules: appends %+.1f%%, sequential writes %+.1f%% (vs emulate without rules)\n",
		    (ruled / base - 1) * 100, (rs / bs - 1) * 100);
	}
}

/*
 * The cost of one fault-rule check with 100 armed rules that match nothing (20 of them on the
 * checked op), in ns: CPU-bound, so far less noisy than the fio figures. Writeback asks once per
 * page. Returns -1 when the table cannot be built.
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
		return -1;
	for (int i = 0; i < 100; i++) {
		char path[64];
		json_t *rule;

		snprintf(path, sizeof(path), "no-such-file-%d-*", i);
		rule = json_pack("{s:s, s:s, s:s}", "op", ops[i % 5], "path", path, "errno", "EIO");
		if (!rule || fault_table_add_json(table, rule, err, sizeof(err)) <= 0) {
			json_decref(rule);
			fault_table_free(table);
			return -1;
		}
		json_decref(rule);
	}
	if (clock_gettime(CLOCK_MONOTONIC, &a) != 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (fault_table_check(table, FAULT_OP_WRITEBACK, "bench/seq.dat", (uint64_t)i * 4096, 4096,
		                      &hit))
			break;
	if (clock_gettime(CLOCK_MONOTONIC, &b) != 0)
		return -1;
	fault_table_free(table);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
}

/* ---- Command ---- */

static void bench_usage(FILE *out)
{
	fprintf(out, "usage: fsynclab bench fs [--dir DIR] [--rounds N] [--quick]\n"
	             "  --dir DIR     where the backing directories go (default $TMPDIR or /var/tmp)\n"
	             "  --rounds N    interleaved rounds, 1..15 (default 3)\n"
	             "  --quick       smaller files and 1 s jobs (a smoke run, noisy figures)\n");
}

/* Compile libfuse's passthrough_ll example into B->pll; leaves it empty when not possible. */
static void build_passthrough_ll(struct bench *b)
{
	char cmd[3 * PATH_MAX];

	b->pll[0] = '\0';
	if (access(PASSTHROUGH_LL_SRC, R_OK) != 0)
		return;
	snprintf(cmd, sizeof(cmd),
	         "cc -O2 -w -o '%s/passthrough_ll' '%s' $(pkg-config --cflags --libs fuse3) "
	         ">'%s/pll-build.log' 2>&1",
	         b->base, PASSTHROUGH_LL_SRC, b->base);
	if (system(cmd) == 0)
		snprintf(b->pll, sizeof(b->pll), "%s/passthrough_ll", b->base);
	else
		fprintf(stderr, "fsynclab bench fs: could not build %s (see %s/pll-build.log)\n",
		        PASSTHROUGH_LL_SRC, b->base);
}

int bench_fs(int argc, char **argv)
{
	static const struct option options[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"quick", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct bench *b = calloc(1, sizeof(*b));
	const char *parent = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	char fstype[64] = "?", tmpl[PATH_MAX];
	char *rm_argv[] = {"rm", "-rf", NULL, NULL};
	int opt, status = 1;
	bool quick = false;

	if (!b)
		return 1;
	b->rounds = 3;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'd':
			parent = optarg;
			break;
		case 'r':
			b->rounds = (int)strtol(optarg, &end, 10);
			if (*end || b->rounds < 1 || b->rounds > BENCH_MAX_ROUNDS) {
				fprintf(stderr, "fsynclab bench fs: bad --rounds '%s' (1 to %d)\n", optarg,
				        BENCH_MAX_ROUNDS);
				free(b);
				return 2;
			}
			break;
		case 'q':
			quick = true;
			break;
		case 'h':
			bench_usage(stdout);
			free(b);
			return 0;
		default:
			fprintf(stderr, "fsynclab bench fs: unknown or incomplete option '%s'\n",
			        argv[optind - 1]);
			bench_usage(stderr);
			free(b);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fsynclab bench fs: unexpected argument '%s'\n", argv[optind]);
		free(b);
		return 2;
	}
	b->runtime_s = quick ? 1 : 3;
	b->seq_mib = quick ? 64 : 512;
	b->rand_mib = quick ? 32 : 128;
	if (run_argv((char *[]){"fio", "--version", NULL}, "") != 0) {
		fprintf(stderr, "fsynclab bench fs: fio is not installed (Debian package fio)\n");
		free(b);
		return 1;
	}
	if (!realpath("/proc/self/exe", b->self)) {
		fprintf(stderr, "fsynclab bench fs: cannot find myself: %s\n", strerror(errno));
		free(b);
		return 1;
	}
	snprintf(tmpl, sizeof(tmpl), "%s/fsynclab-bench.XXXXXX", parent);
	if (!mkdtemp(tmpl) || !realpath(tmpl, b->base)) {
		fprintf(stderr, "fsynclab bench fs: cannot create a directory in '%s': %s\n", parent,
		        strerror(errno));
		free(b);
		return 1;
	}
	{
		char cmd[PATH_MAX + 64];
		FILE *p;

		snprintf(cmd, sizeof(cmd), "stat -f -c %%T '%s'", b->base);
		p = popen(cmd, "r");
		if (p) {
			if (!fgets(fstype, sizeof(fstype), p))
				snprintf(fstype, sizeof(fstype), "?");
			fstype[strcspn(fstype, "\n")] = '\0';
			if (pclose(p) == -1)
				fprintf(stderr, "fsynclab bench fs: pclose: %s\n", strerror(errno));
		}
	}
	build_passthrough_ll(b);
	target_add(b, "native", TARGET_NATIVE, NULL, 0);
	target_add(b, "fsynclab --cache none", TARGET_FSYNCLAB, "none", 0);
	target_add(b, "fsynclab --cache emulate", TARGET_FSYNCLAB, "emulate", 0);
	target_add(b, "fsynclab emulate, 100 rules", TARGET_FSYNCLAB, "emulate", 100);
	target_add(b, "bindfs --multithreaded", TARGET_BINDFS, NULL, 0);
	target_add(b, "passthrough_ll (libfuse)", TARGET_PASSTHROUGH_LL, NULL, 0);
	for (int i = 0; i < b->nt; i++)
		if (target_setup(b, &b->t[i]) < 0) {
			fprintf(stderr, "fsynclab bench fs: %s: %s\n", b->t[i].name, b->t[i].why);
			b->t[i].available = false;
		}
	if (!b->t[0].available)
		goto out;
	fprintf(stderr, "fsynclab bench fs: %d rounds over %d targets in %s\n", b->rounds, b->nt, b->base);
	for (int r = 0; r < b->rounds; r++) {
		for (int k = 0; k < b->nt; k++) {
			struct target *t = &b->t[(k + r) % b->nt];

			if (!t->available)
				continue;
			fprintf(stderr, "  round %d: %s\n", r + 1, t->name);
			if (target_round(b, t, r) < 0) {
				fprintf(stderr, "fsynclab bench fs: %s: a job failed\n", t->name);
				goto out;
			}
		}
	}
	print_report(b, fstype);
	{
		double ns = idle_rule_check_ns();

		if (ns >= 0)
			printf("rule check with 100 idle rules: %.0f ns per call; writeback asks once per 4 "
			       "KiB page: "
			       "%.0f us per MiB (%.1f%% of a 1 GiB/s stream)\n",
			       ns, ns * 256 / 1000, ns * 256 / 1000 / 1000 * 100);
	}
	status = 0;
out:
	for (int i = 0; i < b->nt; i++)
		target_teardown(b, &b->t[i]);
	rm_argv[2] = b->base;
	if (run_argv(rm_argv, NULL) != 0)
		fprintf(stderr, "fsynclab bench fs: could not remove %s\n", b->base);
	free(b);
	return status;
}
