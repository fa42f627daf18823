/*
 * wal_test_util.h — helpers the WAL unit tests share: a scratch directory removed afterwards, and a
 * sync hook that counts calls and fails chosen ones (the test seam around the sync call).
 */
#ifndef FSYNCLAB_WAL_TEST_UTIL_H
#define FSYNCLAB_WAL_TEST_UTIL_H

#include "wal.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Scratch directories not yet freed: a failed assertion skips the test's own cleanup, so whatever
 * is left is removed when the test program exits. */
static char *scratch_live[64];

static inline void scratch_remove_all(void)
{
	for (size_t i = 0; i < sizeof(scratch_live) / sizeof(scratch_live[0]); i++) {
		if (scratch_live[i] != NULL) {
			nftw(scratch_live[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			free(scratch_live[i]);
			scratch_live[i] = NULL;
		}
	}
}

/* scratch_dir - a fresh empty directory under $TMPDIR (or /tmp); aborts on failure. */
static inline char *scratch_dir(void)
{
	static int registered;
	const char *base = getenv("TMPDIR");
	char *path = NULL;
	if (!registered) {
		atexit(scratch_remove_all);
		registered = 1;
	}
	if (asprintf(&path, "%s/fsynclab-wal-test.XXXXXX", base && *base ? base : "/tmp") < 0)
		abort();
	if (mkdtemp(path) == NULL)
		abort();
	for (size_t i = 0; i < sizeof(scratch_live) / sizeof(scratch_live[0]); i++) {
		if (scratch_live[i] == NULL) {
			scratch_live[i] = strdup(path);
			break;
		}
	}
	return path;
}

/* scratch_free - remove PATH recursively and free it. */
static inline void scratch_free(char *path)
{
	for (size_t i = 0; i < sizeof(scratch_live) / sizeof(scratch_live[0]); i++) {
		if (scratch_live[i] != NULL && strcmp(scratch_live[i], path) == 0) {
			free(scratch_live[i]);
			scratch_live[i] = NULL;
			break;
		}
	}
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
	free(path);
}

/* A scripted sync hook: counts calls per target, fails calls number [fail_from, fail_from+fail_count)
 * of TARGET (1-based), optionally sleeps, optionally performs the real sync. */
struct fault_hook {
	pthread_mutex_t lock;
	enum wal_sync_target target;
	unsigned fail_from, fail_count;
	int err;           /* negative errno to return */
	int real;          /* also call the real sync */
	useconds_t delay;  /* sleep in every segment sync */
	unsigned calls[3]; /* per wal_sync_target */
};

static inline void fault_hook_init(struct fault_hook *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->err = -EIO;
}

static inline int fault_hook_fn(void *arg, int fd, enum wal_sync_target what)
{
	struct fault_hook *h = arg;
	pthread_mutex_lock(&h->lock);
	unsigned n = ++h->calls[what];
	int fail =
	    what == h->target && h->fail_from != 0 && n >= h->fail_from && n < h->fail_from + h->fail_count;
	pthread_mutex_unlock(&h->lock);
	if (h->delay != 0 && what == WAL_SYNC_SEGMENT)
		usleep(h->delay);
	if (fail)
		return h->err;
	return h->real ? wal_sync_fd(fd, what) : 0;
}

static inline unsigned fault_hook_calls(struct fault_hook *h, enum wal_sync_target what)
{
	pthread_mutex_lock(&h->lock);
	unsigned n = h->calls[what];
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* nosync_hook - a sync hook that syncs nothing: for tests about formats and recovery logic, where
 * durability against power loss is not what is tested (keeps them fast on a busy disk). */
static inline int nosync_hook(void *arg, int fd, enum wal_sync_target what)
{
	(void)arg;
	(void)fd;
	(void)what;
	return 0;
}

/* quiet_log - a wal_log_fn that keeps the last line (tests read it) instead of printing. */
struct log_capture {
	char last[512];
	unsigned lines;
};

static inline void quiet_log(void *arg, const char *msg)
{
	struct log_capture *c = arg;
	if (c == NULL)
		return;
	snprintf(c->last, sizeof(c->last), "%s", msg);
	c->lines++;
}

/* fill_pattern - deterministic payload bytes for record LSN. */
static inline void fill_pattern(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
}

#endif
