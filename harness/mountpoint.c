/*
 * mountpoint.c — mount point facts for `fsynclab mount|umount` (see mountpoint.h).
 */
#include "mountpoint.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int mountpoint_abspath(const char *mnt, char *out, size_t len)
{
	char a[PATH_MAX], b[PATH_MAX], dir[PATH_MAX];
	const char *base;
	int n;

	if (snprintf(a, sizeof(a), "%s", mnt) >= (int)sizeof(a) ||
	    snprintf(b, sizeof(b), "%s", mnt) >= (int)sizeof(b))
		return -ENAMETOOLONG;
	/* Trailing slashes would make basename() empty-ish: strip them. */
	for (size_t l = strlen(a); l > 1 && a[l - 1] == '/'; l--)
		a[l - 1] = b[l - 1] = '\0';
	if (!realpath(dirname(a), dir))
		return -errno;
	base = basename(b);
	if (strcmp(base, "/") == 0)
		n = snprintf(out, len, "/");
	else if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return realpath(mnt, out) ? 0 : -errno;
	else
		n = snprintf(out, len, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", base);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Undo mountinfo's octal escapes (\040 for space, ...) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int mountpoint_lookup(const char *abs, char *fstype, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint options [optional...] - fstype source superopts */
		char *save = NULL, *tok, *mp = NULL, *type = NULL;
		int field = 0;
		bool after_dash = false;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), field++) {
			if (field == 4)
				mp = tok;
			else if (after_dash && !type)
				type = tok;
			else if (field > 5 && strcmp(tok, "-") == 0)
				after_dash = true;
		}
		if (!mp || !type)
			continue;
		unescape(mp);
		if (strcmp(mp, abs) == 0) {
			found = 1; /* keep going: the last (topmost) mount wins */
			snprintf(fstype, len, "%s", type);
		}
	}
	free(line);
	if (fclose(f) != 0)
		return -errno;
	return found;
}

long mountpoint_read_pid(const char *pidfile)
{
	FILE *f = fopen(pidfile, "re");
	long pid = 0;
	int rc;

	if (!f)
		return -errno;
	rc = fscanf(f, "%ld", &pid);
	if (fclose(f) != 0)
		return -errno;
	return rc == 1 && pid > 0 ? pid : -EINVAL;
}

bool mountpoint_pid_alive(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool alive = true;

	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
		return false;
	/* A zombie nobody reaps (no init in a container) has exited for our purposes. */
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return errno != ENOENT;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ' &&
	    (p[2] == 'Z' || p[2] == 'X'))
		alive = false;
	if (fclose(f) != 0)
		return alive;
	return alive;
}

/* Run fusermount3 -u [-z] ABS. Returns 0 or -errno (-EBUSY if it said so). */
static int fusermount_unmount(const char *abs, bool lazy)
{
	int status, pipefd[2];
	char out[512] = "";
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd) != 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = errno;

		if (close(pipefd[0]) != 0 || close(pipefd[1]) != 0)
			return -errno;
		return -err;
	}
	if (pid == 0) {
		if (dup2(pipefd[1], 2) < 0)
			_exit(127);
		execlp("fusermount3", "fusermount3", lazy ? "-uz" : "-u", abs, (char *)NULL);
		_exit(127);
	}
	if (close(pipefd[1]) != 0)
		return -errno;
	n = read(pipefd[0], out, sizeof(out) - 1);
	if (n > 0)
		out[n] = '\0';
	if (close(pipefd[0]) != 0)
		return -errno;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (strstr(out, "busy"))
		return -EBUSY;
	fprintf(stderr, "%s", out);
	return -EPERM;
}

int mountpoint_unmount(const char *abs, bool lazy)
{
	if (geteuid() == 0) {
		if (umount2(abs, lazy ? MNT_DETACH : 0) != 0)
			return -errno;
		return 0;
	}
	return fusermount_unmount(abs, lazy);
}

int mountpoint_wait_exit(long pid, int timeout_ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 5 * 1000 * 1000};

	for (int waited = 0; mountpoint_pid_alive(pid); waited += 5) {
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	return 0;
}
