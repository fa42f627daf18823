/*
 * fsio.c — a tiny scripted syscall driver for the fusefs integration tests. Each argument is one
 * step, run in order in one process (so file descriptors live across injected faults, reboots
 * and other steps), and each step states its expected result:
 *
 *   open[=ERR]:SLOT:PATH[:FLAGS]   FLAGS: any of r w c t a d x (read, write, create, truncate,
 *                                  append, O_DIRECT, exclusive); default "rw"
 *   close:SLOT
 *   write[=ERR]:SLOT:OFF:LEN:CHAR  pwrite LEN bytes of CHAR at OFF
 *   read[=ERR]:SLOT:OFF:LEN:CHARS  pread LEN bytes at OFF: each byte must be one of CHARS
 *                                  ('0' stands for a zero byte); LEN is also the expected count
 *   size:SLOT:N                    fstat size must be N
 *   fsync[=ERR]:SLOT  fdatasync[=ERR]:SLOT  ftruncate[=ERR]:SLOT:N
 *   pattern:SLOT:N                 N pwrites of 4096 bytes at 0; prints one character per call,
 *                                  '.' success or 'x' failure, then a newline (never fails)
 *   sh:COMMAND                     run COMMAND with sh -c; it must exit 0
 *   sleep:MS
 * ERR is an errno name (EIO, ENOSPC, EROFS, ...) or 0 (the default: the call must succeed).
 * On the first step whose result differs, prints what was expected and what happened; exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"

#define SLOTS 16

static int fds[SLOTS];

/* Split STEP at ':' into at most MAX fields (the last keeps the rest). Returns the count. */
static int split(char *step, char **field, int max)
{
	int n = 0;

	field[n++] = step;
	while (n < max) {
		char *c = strchr(field[n - 1], ':');

		if (!c)
			break;
		*c = '\0';
		field[n++] = c + 1;
	}
	return n;
}

static int slot_of(const char *s)
{
	int slot = atoi(s);

	if (slot < 0 || slot >= SLOTS) {
		fprintf(stderr, "fsio: bad slot '%s'\n", s);
		exit(2);
	}
	return slot;
}

/* Compare a call's outcome (RC < 0 with errno ERR) with the expectation WANT (errno or 0). */
static int outcome(const char *step, long rc, int err, int want)
{
	int got = rc < 0 ? err : 0;

	if (got == want)
		return 0;
	fprintf(stderr, "fsio: step '%s': got %s, expected %s\n", step, got ? errname_str(got) : "success",
	        want ? errname_str(want) : "success");
	return 1;
}

static int open_flags(const char *f)
{
	int rd = strchr(f, 'r') != NULL, wr = strchr(f, 'w') != NULL;
	int flags = rd && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY;

	if (strchr(f, 'c'))
		flags |= O_CREAT;
	if (strchr(f, 't'))
		flags |= O_TRUNC;
	if (strchr(f, 'a'))
		flags |= O_APPEND;
	if (strchr(f, 'd'))
		flags |= O_DIRECT;
	if (strchr(f, 'x'))
		flags |= O_EXCL;
	return flags;
}

static int run_step(const char *orig)
{
	char step[4096], *f[6], *op, *eq;
	int n, want = 0, slot;
	long rc;

	snprintf(step, sizeof(step), "%s", orig);
	n = split(step, f, strncmp(step, "sh:", 3) == 0 ? 2 : 6);
	op = f[0];
	eq = strchr(op, '=');
	if (eq) {
		*eq = '\0';
		if (strcmp(eq + 1, "0") != 0) {
			want = errname_parse(eq + 1);
			if (want < 0) {
				fprintf(stderr, "fsio: step '%s': unknown errno '%s'\n", orig, eq + 1);
				return 2;
			}
		}
	}
	if (strcmp(op, "sh") == 0 && n == 2) {
		rc = system(f[1]);
		if (rc != 0) {
			fprintf(stderr, "fsio: step '%s': exit status %ld\n", orig, rc);
			return 1;
		}
		return 0;
	}
	if (strcmp(op, "sleep") == 0 && n == 2) {
		long ms = atol(f[1]);
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

		nanosleep(&ts, NULL);
		return 0;
	}
	if (n < 2) {
		fprintf(stderr, "fsio: step '%s': missing slot\n", orig);
		return 2;
	}
	slot = slot_of(f[1]);
	if (strcmp(op, "open") == 0 && n >= 3) {
		rc = open(f[2], open_flags(n >= 4 ? f[3] : "rw"), 0644);
		if (rc >= 0)
			fds[slot] = (int)rc;
		return outcome(orig, rc, errno, want);
	}
	if (strcmp(op, "close") == 0) {
		rc = close(fds[slot]);
		return outcome(orig, rc, errno, want);
	}
	if ((strcmp(op, "write") == 0 || strcmp(op, "read") == 0) && n == 5) {
		long off = atol(f[2]), len = atol(f[3]);
		void *mem;
		char *buf;

		/* Aligned, so the same step works with O_DIRECT. */
		if (posix_memalign(&mem, 4096, (size_t)len + 4096) != 0)
			return 2;
		buf = mem;
		if (op[0] == 'w') {
			memset(buf, f[4][0], (size_t)len);
			rc = pwrite(fds[slot], buf, (size_t)len, off);
			if (rc >= 0 && rc != len) {
				fprintf(stderr, "fsio: step '%s': short write %ld\n", orig, rc);
				free(mem);
				return 1;
			}
			free(mem);
			return outcome(orig, rc, errno, want);
		}
		rc = pread(fds[slot], buf, (size_t)len, off);
		if (outcome(orig, rc, errno, want)) {
			free(mem);
			return 1;
		}
		if (rc >= 0 && rc != len) {
			fprintf(stderr, "fsio: step '%s': read %ld bytes, expected %ld\n", orig, rc, len);
			free(mem);
			return 1;
		}
		for (long i = 0; rc >= 0 && i < len; i++) {
			char c = buf[i] == 0 ? '0' : buf[i];

			if (!strchr(f[4], c)) {
				fprintf(stderr,
				        "fsio: step '%s': byte %ld is '%c' (0x%02x), expected one of '%s'\n",
				        orig, off + i, c, (unsigned char)buf[i], f[4]);
				free(mem);
				return 1;
			}
		}
		free(mem);
		return 0;
	}
	if (strcmp(op, "size") == 0 && n == 3) {
		struct stat st;

		if (fstat(fds[slot], &st) != 0 || st.st_size != atol(f[2])) {
			fprintf(stderr, "fsio: step '%s': size %lld\n", orig, (long long)st.st_size);
			return 1;
		}
		return 0;
	}
	if (strcmp(op, "pattern") == 0 && n == 3) {
		char buf[4096];

		memset(buf, 'p', sizeof(buf));
		for (long i = 0, count = atol(f[2]); i < count; i++)
			putchar(pwrite(fds[slot], buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) ? '.' : 'x');
		putchar('\n');
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (strcmp(op, "fsync") == 0) {
		rc = fsync(fds[slot]);
		return outcome(orig, rc, errno, want);
	}
	if (strcmp(op, "fdatasync") == 0) {
		rc = fdatasync(fds[slot]);
		return outcome(orig, rc, errno, want);
	}
	if (strcmp(op, "ftruncate") == 0 && n == 3) {
		rc = ftruncate(fds[slot], atol(f[2]));
		return outcome(orig, rc, errno, want);
	}
	fprintf(stderr, "fsio: step '%s': unknown step\n", orig);
	return 2;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int rc = run_step(argv[i]);

		if (rc)
			return rc;
	}
	return 0;
}
