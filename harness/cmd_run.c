/*
 * cmd_run.c — `fsynclab run [SCENARIO.yaml|DIR ...] [-v|-q] [-j N] [--seed S] [--json F]
 * [--junit F] [--html F] [--all] [--shard I/N]`.
 *
 * Finds the scenario files (no argument: the core catalogue, scenario_catalogue_dir(); a DIR: its
 * *.yaml; subfolders only when named or with --all), runs each in a worker process of its own (at
 * most N at once: each has its own backing directory and mount), narrates each scenario as it
 * finishes, then prints the summary table and the total time and writes the requested reports.
 *
 * A worker sends its result to this process as one JSON object over a pipe (report_json.c), so a
 * worker that dies still leaves a verdict (ERROR). Ctrl-C: every worker cleans up its own mount
 * and reports "interrupted"; no new scenario starts; the exit status is 130.
 *
 * Exit status: 0 only if every scenario matched its expectation; 1 otherwise; 2 for bad usage.
 */
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "runner.h"
#include "shard.h"
#include "scenario.h"
#include "workload.h"

#define MAX_JOBS 64

static void run_usage(FILE *out)
{
	fprintf(out,
	        "usage: fsynclab run [SCENARIO.yaml|DIR ...] [options]\n"
	        "  (no argument: the core catalogue in %s)\n"
	        "  -v, --verbose     show every operation (each acknowledgement, each fsync)\n"
	        "  -q, --quiet       show only the summary table\n"
	        "  -j, --jobs N      run N scenarios at once, each on its own mount (default 1)\n"
	        "      --seed S      replace every scenario's seed (replay a run)\n"
	        "      --all         also run the scenarios in subfolders (apps/, kernel/, ...)\n"
	        "      --shard I/N   run only the I-th of N disjoint slices (CI matrices, Indexed Jobs)\n"
	        "      --json FILE   write the results as JSON\n"
	        "      --junit FILE  write JUnit XML (for CI systems)\n"
	        "      --html FILE   write a self-contained HTML report (timelines, policy trade-off)\n"
	        "exit status: 0 when every scenario matched its expectation, 1 otherwise, 2 bad usage\n",
	        scenario_catalogue_dir());
}

static void on_signal(int sig)
{
	runner_interrupted = sig;
}

/* ---- Finding scenarios ---- */

struct file_list {
	char **paths;
	size_t n, cap;
};

static int list_add(struct file_list *l, const char *path)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;
		char **p = realloc(l->paths, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->paths = p;
		l->cap = ncap;
	}
	l->paths[l->n] = strdup(path);
	if (!l->paths[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static void list_free(struct file_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
}

/* add_arg - a file, or every scenario of a directory. 0, or -errno after printing why. */
static int add_arg(struct file_list *l, const char *arg, bool all)
{
	struct stat st;
	if (stat(arg, &st) < 0) {
		fprintf(stderr, "fsynclab run: %s: %s\n", arg, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode))
		return list_add(l, arg);
	char **paths = NULL, err[512];
	size_t count = 0;
	int r = scenario_list_dir(arg, all, &paths, &count, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "fsynclab run: %s\n", err);
		return r;
	}
	if (count == 0)
		fprintf(stderr, "fsynclab run: no scenario (*.yaml) in %s\n", arg);
	for (size_t i = 0; r == 0 && i < count; i++)
		r = list_add(l, paths[i]);
	scenario_list_free(paths, count);
	return count == 0 ? -ENOENT : r;
}

/* list_keep_shard - keep only the scenarios of SHARD (see shard.h), in order; say what was kept. */
static void list_keep_shard(struct file_list *l, const struct shard *shard)
{
	size_t total = l->n, kept = 0;
	for (size_t pos = 0; pos < total; pos++) {
		if (shard_owns(shard, pos))
			l->paths[kept++] = l->paths[pos];
		else
			free(l->paths[pos]);
	}
	l->n = kept;
	fprintf(stderr, "fsynclab run: shard %u/%u: %zu of %zu scenarios\n", shard->index, shard->count, kept,
	        total);
}

/* ---- Workers ---- */

struct worker {
	pid_t pid;
	int fd;
	size_t index; /* which scenario */
	char *buf;    /* what it sent: setup lines, then the result line */
	size_t len, cap;
};

/* setup_line - in the worker: tell the parent where this scenario's directory and mount are. */
static void setup_line(void *arg, const char *dir, const char *mnt, pid_t daemon)
{
	int fd = *(int *)arg;
	json_t *j = json_pack("{s:{s:s,s:s,s:i}}", "setup", "dir", dir, "mnt", mnt, "daemon", (int)daemon);
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (line && dprintf(fd, "%s\n", line) < 0)
		fprintf(stderr, "fsynclab run: worker: cannot report its setup: %s\n", strerror(errno));
	free(line);
}

/* worker_start - fork a worker for scenario PATH: run it, send the result, exit. */
static int worker_start(struct worker *w, const char *path, size_t index, const struct runner_options *ro)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (pid == 0) {
		close(p[0]);
		struct runner_options wro = *ro;
		wro.on_setup = setup_line;
		wro.on_setup_arg = &p[1];
		struct report_scenario *s = runner_run_file(path, &wro);
		json_t *j = s ? report_scenario_to_json(s) : NULL;
		int rc = j && json_dumpfd(j, p[1], JSON_COMPACT) == 0 ? 0 : 1;
		json_decref(j);
		report_scenario_free(s);
		close(p[1]);
		_exit(rc);
	}
	close(p[1]);
	*w = (struct worker){.pid = pid, .fd = p[0], .index = index};
	return 0;
}

/* worker_read - take what the pipe has; 1 while open, 0 at EOF. */
static int worker_read(struct worker *w)
{
	char chunk[65536];
	ssize_t n = read(w->fd, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	if (w->len + (size_t)n + 1 > w->cap) {
		size_t ncap = (w->len + (size_t)n + 1) * 2;
		char *b = realloc(w->buf, ncap);
		if (!b)
			return 0;
		w->buf = b;
		w->cap = ncap;
	}
	memcpy(w->buf + w->len, chunk, (size_t)n);
	w->len += (size_t)n;
	return 1;
}

/* worker_finish - reap the worker and turn what it sent into a result (ERROR if nothing usable). */
static struct report_scenario *worker_finish(struct worker *w, const char *path)
{
	close(w->fd);
	int status = 0;
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	struct report_scenario *s = NULL;
	char err[256] = "", dir[PATH_MAX] = "", mnt[PATH_MAX] = "";
	pid_t daemon = 0;
	for (size_t off = 0; off < w->len;) { /* one JSON object per line */
		char *nl = memchr(w->buf + off, '\n', w->len - off);
		size_t end = nl ? (size_t)(nl - w->buf) : w->len;
		json_error_t jerr;
		json_t *j = json_loadb(w->buf + off, end - off, 0, &jerr);
		json_t *setup = json_object_get(j, "setup");
		if (setup) {
			snprintf(dir, sizeof(dir), "%s", json_string_value(json_object_get(setup, "dir")));
			snprintf(mnt, sizeof(mnt), "%s", json_string_value(json_object_get(setup, "mnt")));
			daemon = (pid_t)json_integer_value(json_object_get(setup, "daemon"));
		} else if (j && !s) {
			s = report_scenario_from_json(j, err, sizeof(err));
		}
		json_decref(j);
		off = end + 1;
	}
	free(w->buf);
	if (s)
		return s;
	/* The worker died without its result, and so maybe without cleaning up: do it for it. */
	const char *cleaned = "";
	if (dir[0]) {
		int c = runner_cleanup_leftovers(dir, mnt, daemon);
		cleaned =
		    c == 0 ? "; its mount and directory were cleaned up" : "; cleaning up its mount failed";
	}
	const char *base = strrchr(path, '/');
	s = report_scenario_new(base ? base + 1 : path);
	if (!s)
		return NULL;
	s->verdict = REPORT_ERROR;
	char why[320];
	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "the worker running it died (signal %d)%s", WTERMSIG(status),
		         cleaned);
	else
		snprintf(why, sizeof(why), "the worker running it sent no result (exit %d%s%s)%s",
		         WEXITSTATUS(status), err[0] ? "; " : "", err, cleaned);
	if (report_set(&s->error, why) < 0 || report_set(&s->file, path) < 0) {
		report_scenario_free(s);
		return NULL;
	}
	return s;
}

/* ---- Reports ---- */

/* write_report - FILE with writer OPS. 0, or 1 after printing why. */
static int write_report(const char *file, const struct report_writer_ops *ops, const struct report_run *run)
{
	FILE *f = fopen(file, "w");
	if (!f) {
		fprintf(stderr, "fsynclab run: --%s %s: %s\n", ops->name, file, strerror(errno));
		return 1;
	}
	struct report_sink sink = {.ops = ops, .out = f};
	int r = report_write_all(&sink, run);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0) {
		fprintf(stderr, "fsynclab run: writing %s: %s\n", file, strerror(-r));
		return 1;
	}
	return 0;
}

/* ---- The command ---- */

int cmd_run(int argc, char **argv)
{
	enum { OPT_SEED = 256, OPT_JSON, OPT_JUNIT, OPT_HTML, OPT_ALL, OPT_SHARD };
	static const struct option longopts[] = {
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"seed", required_argument, NULL, OPT_SEED},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"junit", required_argument, NULL, OPT_JUNIT},
	    {"html", required_argument, NULL, OPT_HTML},
	    {"all", no_argument, NULL, OPT_ALL},
	    {"shard", required_argument, NULL, OPT_SHARD},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int verbosity = 0, jobs = 1, c;
	bool all = false;
	struct shard shard = {1, 1};
	const char *json_file = NULL, *junit_file = NULL, *html_file = NULL;
	struct runner_options ro = {.self = getenv("FSYNCLAB_SELF")}; /* mount with another build */
	optind = 1;
	while ((c = getopt_long(argc, argv, "vqj:h", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'v':
			verbosity = 1;
			break;
		case 'q':
			verbosity = -1;
			break;
		case 'j':
			jobs = (int)strtol(optarg, &end, 10);
			if (*end || jobs < 1 || jobs > MAX_JOBS) {
				fprintf(stderr, "fsynclab run: bad -j '%s' (1 to %d)\n", optarg, MAX_JOBS);
				return 2;
			}
			break;
		case OPT_SEED:
			errno = 0;
			ro.seed = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg || optarg[0] == '-') {
				fprintf(stderr, "fsynclab run: bad --seed '%s' (an unsigned integer)\n",
				        optarg);
				return 2;
			}
			ro.seed_set = true;
			break;
		case OPT_JSON:
			json_file = optarg;
			break;
		case OPT_JUNIT:
			junit_file = optarg;
			break;
		case OPT_HTML:
			html_file = optarg;
			break;
		case OPT_ALL:
			all = true;
			break;
		case OPT_SHARD:
			if (shard_parse(optarg, &shard) < 0) {
				fprintf(stderr, "fsynclab run: bad --shard '%s' (I/N with 1 <= I <= N)\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		default:
			run_usage(stderr);
			return 2;
		}
	}

	struct file_list files = {0};
	int r = 0;
	if (optind == argc)
		r = add_arg(&files, scenario_catalogue_dir(), all);
	for (int i = optind; r == 0 && i < argc; i++)
		r = add_arg(&files, argv[i], all);
	if (r < 0) {
		if (r == -ENOMEM)
			fprintf(stderr, "fsynclab run: out of memory\n");
		list_free(&files);
		return 2;
	}
	if (shard.count > 1)
		list_keep_shard(&files, &shard);

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
		fprintf(stderr, "fsynclab run: sigaction: %s\n", strerror(errno));
		list_free(&files);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	struct report_run run = {.seed = ro.seed_set ? ro.seed : 0, .jobs = jobs};
	struct report_scenario **results = calloc(files.n, sizeof(*results));
	struct worker workers[MAX_JOBS];
	size_t running = 0, next = 0, finished = 0;
	struct report_sink text = {.ops = &report_text_ops,
	                           .out = stdout,
	                           .verbosity = verbosity,
	                           .colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR")};
	int64_t t0 = workload_clock_ns();
	int status = results ? 0 : 1;
	while (results && (running || (next < files.n && !runner_interrupted))) {
		while (running < (size_t)jobs && next < files.n && !runner_interrupted) {
			int e = worker_start(&workers[running], files.paths[next], next, &ro);
			if (e < 0) {
				fprintf(stderr, "fsynclab run: cannot start a worker: %s\n", strerror(-e));
				runner_interrupted = SIGTERM;
				status = 1;
				break;
			}
			running++;
			next++;
		}
		struct pollfd pfd[MAX_JOBS];
		for (size_t i = 0; i < running; i++)
			pfd[i] = (struct pollfd){.fd = workers[i].fd, .events = POLLIN};
		if (poll(pfd, running, 200) <= 0)
			continue;
		for (size_t i = 0; i < running; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) || worker_read(&workers[i]) == 1)
				continue;
			struct worker w = workers[i];
			workers[i] = workers[--running];
			pfd[i] = pfd[running];
			i--; /* look at the worker moved into this slot */
			struct report_scenario *s = worker_finish(&w, files.paths[w.index]);
			if (!s) {
				status = 1;
				continue;
			}
			results[w.index] = s;
			finished++;
			if (text.ops->scenario(&text, s) < 0)
				status = 1;
		}
	}
	run.total_ms = (double)(workload_clock_ns() - t0) / 1e6;
	for (size_t i = 0; results && i < files.n; i++)
		if (results[i] && report_run_add(&run, results[i]) < 0) {
			report_scenario_free(results[i]);
			status = 1;
		}
	free(results);
	if (text.ops->end(&text, &run) < 0 || fflush(stdout) != 0)
		status = 1;
	if (finished < files.n)
		fprintf(stderr, "fsynclab run: %zu scenario%s not run (interrupted)\n", files.n - finished,
		        files.n - finished == 1 ? "" : "s");
	if (json_file)
		status |= write_report(json_file, &report_json_ops, &run);
	if (junit_file)
		status |= write_report(junit_file, &report_junit_ops, &run);
	if (html_file)
		status |= write_report(html_file, &report_html_ops, &run);
	if (report_run_count(&run, REPORT_MATCHED) != files.n)
		status = 1;
	report_run_free(&run);
	list_free(&files);
	if (runner_interrupted)
		return 130;
	return status;
}
