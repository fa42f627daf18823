/*
 * cmd_mount.c — `fsynclab mount [options] BACKING MNT`: check and clean up the mount point,
 * start the daemon (detached unless --foreground) and return once the mount is ready.
 *
 * Before mounting, a dead mount at MNT (its daemon was killed: stat says ENOTCONN, or the pid
 * file names a process that is gone) is lazily unmounted; a live fsynclab mount is refused.
 * Readiness travels over a pipe from the daemon: "ok", or the reason it could not mount.
 */
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"
#include "duration.h"
#include "mountpoint.h"
#include "profiles.h"

#define MOUNT_DEFAULT_INTERVAL "30s"       /* like the kernel's dirty_expire_centisecs */
#define MOUNT_DIRTY_LIMIT      (64u << 20) /* bytes of dirty pages before writers write back */

static void mount_usage(FILE *out)
{
	fprintf(out,
	        "usage: fsynclab mount [options] BACKING MNT\n"
	        "  --profile NAME              %s (default ext4-ordered)\n"
	        "  --cache emulate|none        emulated page cache, or every request straight through\n"
	        "  --block-size N              page and --block size in bytes (default 4096)\n"
	        "  --writeback-interval D|never  flush pages dirty for longer than D (default %s)\n"
	        "  --legacy-errors             pre-4.13 fsync error reporting (first caller consumes it)\n"
	        "  --backing-sync on|off       fsync reaches the backing file (default on; off is unsafe,\n"
	        "                              for fast CI runs only)\n"
	        "  --foreground                stay in the foreground (log to stderr)\n"
	        "  --allow-other               other users may use the mount (the daemon must run as root):\n"
	        "                              what they create is theirs, permissions are checked\n"
	        "  --namespace profile|posix|durable  what makes names durable: the profile's rule\n"
	        "                              (default); posix: only a directory fsync; durable: every\n"
	        "                              name at once, a power cut never undoes one\n"
	        "                              (see docs/namespace.md)\n",
	        profile_names(), MOUNT_DEFAULT_INTERVAL);
}

/* Parse "on"/"off". Returns 0/1, or -1. */
static int parse_on_off(const char *s)
{
	if (strcmp(s, "on") == 0)
		return 1;
	if (strcmp(s, "off") == 0)
		return 0;
	return -1;
}

/*
 * Make MNT usable: lazily unmount a dead mount, refuse a live fsynclab one, drop a stale pid
 * file. Returns 0, or 1 after printing why not.
 */
static int mount_prepare_mountpoint(const char *abs, const char *pidfile)
{
	char fstype[128] = "";
	struct stat st;
	long pid = mountpoint_read_pid(pidfile);
	bool dead = false;
	int mounted, rc;

	if (stat(abs, &st) != 0 && errno == ENOTCONN)
		dead = true;
	mounted = mountpoint_lookup(abs, fstype, sizeof(fstype));
	if (mounted < 0) {
		fprintf(stderr, "fsynclab mount: cannot read /proc/self/mountinfo: %s\n", strerror(-mounted));
		return 1;
	}
	if (!dead && mounted && strcmp(fstype, "fuse.fsynclab") == 0) {
		if (pid > 0 && mountpoint_pid_alive(pid)) {
			fprintf(stderr,
			        "fsynclab mount: '%s' is already an fsynclab mount (daemon pid %ld); "
			        "run `fsynclab umount %s` first\n",
			        abs, pid, abs);
			return 1;
		}
		dead = true; /* mounted, but its daemon is gone */
	}
	if (dead) {
		rc = mountpoint_unmount(abs, true);
		if (rc < 0) {
			fprintf(stderr, "fsynclab mount: cannot detach the dead mount at '%s': %s\n", abs,
			        strerror(-rc));
			return 1;
		}
		fprintf(stderr, "fsynclab mount: detached a dead mount at '%s'\n", abs);
	}
	if (pid > 0 && !mountpoint_pid_alive(pid) && unlink(pidfile) != 0 && errno != ENOENT) {
		fprintf(stderr, "fsynclab mount: cannot remove stale pid file '%s': %s\n", pidfile,
		        strerror(errno));
		return 1;
	}
	if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "fsynclab mount: mount point '%s' is not a directory\n", abs);
		return 1;
	}
	return 0;
}

/* Fork the daemon, wait for its readiness report. Returns the exit status. */
static int mount_detached(const struct daemon_config *cfg, const char *logfile)
{
	char msg[1024];
	size_t got = 0;
	int pipefd[2], status;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		fprintf(stderr, "fsynclab mount: pipe: %s\n", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fsynclab mount: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int log = open(logfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (close(pipefd[0]) != 0 || null < 0 || log < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(log, 2) < 0 || setsid() < 0) {
			dprintf(pipefd[1], "error: cannot detach (log '%s'): %s\n", logfile, strerror(errno));
			_exit(1);
		}
		exit(daemon_run(cfg, pipefd[1]));
	}
	if (close(pipefd[1]) != 0)
		fprintf(stderr, "fsynclab mount: close: %s\n", strerror(errno));
	while (got < sizeof(msg) - 1) {
		ssize_t n = read(pipefd[0], msg + got, sizeof(msg) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	msg[got] = '\0';
	if (close(pipefd[0]) != 0)
		fprintf(stderr, "fsynclab mount: close: %s\n", strerror(errno));
	if (strcmp(msg, "ok\n") == 0)
		return 0;
	if (waitpid(pid, &status, 0) < 0)
		fprintf(stderr, "fsynclab mount: waitpid: %s\n", strerror(errno));
	fprintf(stderr, "fsynclab mount: %s%s(daemon log: %s)\n",
	        got ? msg : "the daemon exited without a word\n", "", logfile);
	return 1;
}

int cmd_mount(int argc, char **argv)
{
	/* Options: one entry here and one case below. */
	enum {
		OPT_PROFILE = 256,
		OPT_CACHE,
		OPT_BLOCK_SIZE,
		OPT_INTERVAL,
		OPT_LEGACY,
		OPT_BACKING_SYNC,
		OPT_FG,
		OPT_ALLOW_OTHER,
		OPT_NAMESPACE
	};
	static const struct option options[] = {
	    {"profile", required_argument, NULL, OPT_PROFILE},
	    {"cache", required_argument, NULL, OPT_CACHE},
	    {"block-size", required_argument, NULL, OPT_BLOCK_SIZE},
	    {"writeback-interval", required_argument, NULL, OPT_INTERVAL},
	    {"legacy-errors", no_argument, NULL, OPT_LEGACY},
	    {"backing-sync", required_argument, NULL, OPT_BACKING_SYNC},
	    {"foreground", no_argument, NULL, OPT_FG},
	    {"allow-other", no_argument, NULL, OPT_ALLOW_OTHER},
	    {"namespace", required_argument, NULL, OPT_NAMESPACE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct daemon_config cfg = {
	    .profile = profile_default(),
	    .cache_emulate = true,
	    .block_size = 4096,
	    .backing_sync = true,
	    .dirty_limit = MOUNT_DIRTY_LIMIT,
	};
	char abs_mnt[PATH_MAX], backing[PATH_MAX], sock[PATH_MAX], pidfile[PATH_MAX], logfile[PATH_MAX + 8];
	bool foreground = false;
	struct stat st;
	int opt, rc;

	if (duration_parse(MOUNT_DEFAULT_INTERVAL, 0, &cfg.writeback_interval_ns) != 0)
		return 2;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		char *end;
		unsigned long n;

		switch (opt) {
		case OPT_PROFILE:
			cfg.profile = profile_find(optarg);
			if (!cfg.profile) {
				fprintf(stderr, "fsynclab mount: unknown profile '%s' (expected %s)\n",
				        optarg, profile_names());
				return 2;
			}
			break;
		case OPT_CACHE:
			if (strcmp(optarg, "emulate") != 0 && strcmp(optarg, "none") != 0) {
				fprintf(stderr,
				        "fsynclab mount: unknown cache mode '%s' (expected emulate|none)\n",
				        optarg);
				return 2;
			}
			cfg.cache_emulate = strcmp(optarg, "emulate") == 0;
			break;
		case OPT_BLOCK_SIZE:
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || n < 512 || n > (1u << 20) || (n & (n - 1))) {
				fprintf(stderr,
				        "fsynclab mount: bad --block-size '%s' (a power of two, 512 to "
				        "1048576)\n",
				        optarg);
				return 2;
			}
			cfg.block_size = (uint32_t)n;
			break;
		case OPT_INTERVAL:
			if (duration_parse(optarg, 1, &cfg.writeback_interval_ns) != 0 ||
			    cfg.writeback_interval_ns <= 0) {
				fprintf(
				    stderr,
				    "fsynclab mount: bad --writeback-interval '%s' (a duration like 5s or "
				    "250ms, or never)\n",
				    optarg);
				return 2;
			}
			break;
		case OPT_LEGACY:
			cfg.legacy_errors = true;
			break;
		case OPT_BACKING_SYNC:
			rc = parse_on_off(optarg);
			if (rc < 0) {
				fprintf(stderr, "fsynclab mount: bad --backing-sync '%s' (expected on|off)\n",
				        optarg);
				return 2;
			}
			cfg.backing_sync = rc == 1;
			break;
		case OPT_ALLOW_OTHER:
			/* The kernel checks permissions against the attributes the daemon returns
			 * (default_permissions); the daemon gives new files to their creator. */
			cfg.mount_options = "allow_other,default_permissions";
			break;
		case OPT_NAMESPACE:
			if (strcmp(optarg, "profile") != 0 && strcmp(optarg, "posix") != 0 &&
			    strcmp(optarg, "durable") != 0) {
				fprintf(stderr,
				        "fsynclab mount: unknown --namespace '%s' (expected "
				        "profile|posix|durable)\n",
				        optarg);
				return 2;
			}
			cfg.namespace_posix = strcmp(optarg, "posix") == 0;
			cfg.namespace_durable = strcmp(optarg, "durable") == 0;
			break;
		case OPT_FG:
			foreground = true;
			break;
		case 'h':
			mount_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "fsynclab mount: unknown or incomplete option '%s'\n",
			        argv[optind - 1]);
			mount_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "fsynclab mount: expected BACKING and MNT, got %d argument(s)\n",
		        argc - optind);
		mount_usage(stderr);
		return 2;
	}
	if (stat(argv[optind], &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(argv[optind], backing)) {
		fprintf(stderr, "fsynclab mount: backing directory '%s' is not a directory\n", argv[optind]);
		return 1;
	}
	rc = mountpoint_abspath(argv[optind + 1], abs_mnt, sizeof(abs_mnt));
	if (rc < 0) {
		fprintf(stderr, "fsynclab mount: mount point '%s': %s\n", argv[optind + 1], strerror(-rc));
		return 1;
	}
	{
		size_t bl = strlen(abs_mnt);

		if (strncmp(backing, abs_mnt, bl) == 0 && (backing[bl] == '/' || backing[bl] == '\0')) {
			fprintf(stderr,
			        "fsynclab mount: backing directory '%s' must not be inside the mount point "
			        "'%s'\n",
			        backing, abs_mnt);
			return 1;
		}
	}
	rc = control_socket_path(abs_mnt, sock, sizeof(sock), pidfile, sizeof(pidfile));
	if (rc < 0) {
		fprintf(stderr, "fsynclab mount: control socket path for '%s': %s\n", abs_mnt, strerror(-rc));
		return 1;
	}
	if (mount_prepare_mountpoint(abs_mnt, pidfile) != 0)
		return 1;
	cfg.backing = backing;
	cfg.mnt = abs_mnt;
	if (foreground)
		return daemon_run(&cfg, -1);
	snprintf(logfile, sizeof(logfile), "%.*s.log", (int)(strlen(pidfile) - 4), pidfile);
	return mount_detached(&cfg, logfile);
}
