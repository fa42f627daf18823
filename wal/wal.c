/*
 * wal.c — the log: open (with recovery), append, group commit, the batch flusher, segment rollover,
 * truncation, close. The model is explained in wal.h; this file is its mechanics.
 *
 * Write path. An append takes the log's lock, reserves the next LSN and the next bytes of the
 * current segment, and copies the encoded record into the kernel: either into a shared mapping of
 * a preallocated segment (WAL_IO_MMAP: a memcpy, and the bytes are in the page cache) or with one
 * pwrite (WAL_IO_WRITE). Either way the record survives a crash of the process once append returns.
 *
 * Sync path and group commit. Three LSNs describe the log (all under the lock):
 *     written_lsn  the last record in the kernel
 *     durable_lsn  the last record covered by a successful sync
 *     syncing      1 while a "leader" syncs outside the lock
 * A thread that needs LSN n durable either finds durable_lsn >= n, or becomes the leader (no sync in
 * progress): it notes upto = written_lsn, drops the lock, syncs, retakes the lock, publishes
 * durable_lsn = upto and wakes everyone. Otherwise it waits for the current leader and checks again.
 * One sync thus covers every record written before it started: that is group commit.
 *
 * Every sync goes through sync_with_policy(): the hook (default fdatasync), then the error policy.
 * Under panic a failure sets w->error; from then on every call fails with WAL_ESHUTDOWN, except that
 * the appenders whose records the failed sync covered get the error itself (e.g. -EIO).
 *
 * Rollover. When a record does not fit, the current segment is trimmed to its records and "retired"
 * (kept open, unsynced), and a new segment is created: a temporary file gets the header (synced),
 * is renamed into place, and the directory is fsynced (sync_directory). The next sync covers the
 * retired segments before the current one and then closes them. So rollover itself never waits for
 * a data sync, and wal_sync() still covers everything.
 *
 * Known limits: one process per log (no file lock is taken); a record larger than the segment size
 * gets a segment of its own; in WAL_IO_MMAP mode an I/O error while faulting a page in would raise
 * SIGBUS (segments are preallocated with fallocate to avoid ENOSPC there).
 */
#include "wal.h"
#include "io_full.h"
#include "wal_format.h"
#include "wal_internal.h"

#include "duration.h"
#include "errname.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A segment open for appending. */
struct segment {
	int fd;
	uint64_t first_lsn;
	uint8_t *map;  /* WAL_IO_MMAP: shared mapping of cap bytes; NULL in WAL_IO_WRITE */
	uint64_t cap;  /* bytes the segment may hold (mapping length) */
	uint64_t used; /* bytes of header + records */
};

/* A finished segment whose records the next sync must still cover. */
struct retired {
	int fd;
	uint64_t first_lsn;
};

struct wal {
	struct wal_options opt;
	char *dir;
	int dirfd;
	enum wal_io io; /* the mode in use (AUTO resolved at open) */

	pthread_mutex_t lock;
	pthread_cond_t synced;       /* a sync ended (durable_lsn moved, or it failed) */
	pthread_cond_t flusher_cond; /* wakes the batch flusher */

	/* All fields below are protected by lock. */
	struct segment seg;
	struct retired *retired;
	size_t nretired, retired_cap;
	uint64_t *segs; /* first LSNs of every segment in the directory, sorted; last = seg */
	size_t nsegs, segs_cap;
	uint64_t next_lsn;
	uint64_t written_lsn;
	uint64_t durable_lsn;
	int syncing;        /* a leader is syncing outside the lock */
	int error;          /* panic: the first error, 0 while healthy */
	uint64_t fail_upto; /* panic: the failed sync covered LSNs up to this one */
	uint8_t *wbuf;      /* WAL_IO_WRITE: encode buffer */
	size_t wbuf_cap;
	uint64_t appends, bytes;
	int closing;               /* the flusher must exit */
	int flusher_idle;          /* the flusher waits for work: appends must signal it */
	int64_t last_flush_ns;     /* when the flusher (or an appender in its place) last started a sync */
	int64_t unsynced_since_ns; /* write time of the oldest record no started sync covers; 0: none */
	uint64_t batch_takeovers;  /* syncs an appender did because the flusher was late */
	pthread_t flusher;
	int has_flusher;

	atomic_uint_fast64_t syncs, sync_errors; /* updated outside the lock by the leader */
};

/* ---- Options and names ---- */

void wal_options_init(struct wal_options *o)
{
	memset(o, 0, sizeof(*o));
	o->sync_policy = WAL_SYNC_ALWAYS;
	o->batch_window_ns = 5000000;
	o->error_policy = WAL_ERROR_PANIC;
	o->retry_max = 1;
	o->segment_size = 64u << 20;
	o->sync_directory = 1;
	o->io = WAL_IO_AUTO;
	o->create = 1;
}

int wal_policy_parse(const char *text, struct wal_options *o)
{
	if (text == NULL)
		return -EINVAL;
	if (strcmp(text, "always") == 0) {
		o->sync_policy = WAL_SYNC_ALWAYS;
		return 0;
	}
	if (strcmp(text, "os") == 0) {
		o->sync_policy = WAL_SYNC_OS;
		return 0;
	}
	if (strncmp(text, "batch:", 6) == 0) {
		int64_t ns;
		if (duration_parse(text + 6, 0, &ns) < 0 || ns <= 0)
			return -EINVAL;
		o->sync_policy = WAL_SYNC_BATCH;
		o->batch_window_ns = ns;
		return 0;
	}
	return -EINVAL;
}

void wal_policy_format(const struct wal_options *o, char *buf, size_t len)
{
	char d[32];
	switch (o->sync_policy) {
	case WAL_SYNC_ALWAYS:
		snprintf(buf, len, "always");
		break;
	case WAL_SYNC_OS:
		snprintf(buf, len, "os");
		break;
	case WAL_SYNC_BATCH:
		duration_format(o->batch_window_ns, d, sizeof(d));
		snprintf(buf, len, "batch:%s", d);
		break;
	default:
		snprintf(buf, len, "?");
	}
}

int wal_error_policy_parse(const char *text, enum wal_error_policy *out)
{
	if (text != NULL && strcmp(text, "panic") == 0)
		*out = WAL_ERROR_PANIC;
	else if (text != NULL && strcmp(text, "retry") == 0)
		*out = WAL_ERROR_RETRY;
	else
		return -EINVAL;
	return 0;
}

const char *wal_verdict_name(enum wal_verdict v)
{
	switch (v) {
	case WAL_VERDICT_CLEAN:
		return "clean";
	case WAL_VERDICT_TORN_TAIL:
		return "torn-tail";
	case WAL_VERDICT_CORRUPT:
		return "corrupt";
	}
	return "?";
}

const char *wal_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case WAL_ESHUTDOWN:
		return "the log has shut down after a failed sync or write (panic policy): exit, or close "
		       "and reopen it to recover what reached the disk";
	case WAL_ECORRUPT:
		return "corruption in the middle of the log: a bad record is followed by a valid one";
	case WAL_ENOTLOG:
		return "not a write-ahead log (no segment files, or a bad segment magic)";
	case WAL_ETRUNCHDR:
		return "truncated segment header";
	case WAL_ETOOBIG:
		return "record larger than WAL_RECORD_MAX";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

int wal_sync_fd(int fd, enum wal_sync_target what)
{
	int rc = what == WAL_SYNC_DIRECTORY ? fsync(fd) : fdatasync(fd);
	return rc < 0 ? -errno : 0;
}

/* ---- Small helpers ---- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* wal_log - one line to the user's log function (or stderr). */
static void wal_log(struct wal *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->opt.log_fn != NULL)
		w->opt.log_fn(w->opt.log_arg, msg);
	else
		fprintf(stderr, "wal: %s\n", msg);
}

static int call_hook(struct wal *w, int fd, enum wal_sync_target what)
{
	if (w->opt.sync_hook != NULL)
		return w->opt.sync_hook(w->opt.sync_hook_arg, fd, what);
	return wal_sync_fd(fd, what);
}

static const char *target_name(enum wal_sync_target what)
{
	return what == WAL_SYNC_DIRECTORY  ? "fsync of the log directory"
	       : what == WAL_SYNC_DATAFILE ? "fdatasync of the data file"
	                                   : "fdatasync of a segment";
}

/*
 * sync_with_policy - one sync through the hook, then the error policy. Under retry a failure is
 * logged and retried up to retry_max times; a retry that returns 0 counts as success (the fsyncgate
 * bug). Returns 0 or the first error. Does not touch the panic state (callers do, under the lock).
 */
static int sync_with_policy(struct wal *w, int fd, enum wal_sync_target what)
{
	if (what != WAL_SYNC_DIRECTORY)
		atomic_fetch_add(&w->syncs, 1);
	int rc = call_hook(w, fd, what);
	if (rc == 0)
		return 0;
	if (what != WAL_SYNC_DIRECTORY)
		atomic_fetch_add(&w->sync_errors, 1);
	if (w->opt.error_policy == WAL_ERROR_PANIC) {
		wal_log(w, "%s in %s failed: %s (%s); panic: the log refuses further work", target_name(what),
		        w->dir, errname_str(-rc), wal_strerror(rc));
		return rc;
	}
	for (unsigned i = 0; i < w->opt.retry_max; i++) {
		wal_log(w, "%s in %s failed: %s; retrying (retry policy)", target_name(what), w->dir,
		        errname_str(-rc));
		int again = call_hook(w, fd, what);
		if (again == 0) {
			wal_log(w,
			        "retried %s succeeded; carrying on as if the data were durable (the "
			        "fsyncgate bug)",
			        target_name(what));
			return 0;
		}
		if (what != WAL_SYNC_DIRECTORY)
			atomic_fetch_add(&w->sync_errors, 1);
	}
	return rc;
}

/* fail_locked - an I/O error RC concerning LSNs up to UPTO: under panic the log shuts down. */
static void fail_locked(struct wal *w, int rc, uint64_t upto)
{
	if (w->opt.error_policy == WAL_ERROR_PANIC && w->error == 0) {
		w->error = rc;
		w->fail_upto = upto;
		pthread_cond_broadcast(&w->synced);
		pthread_cond_broadcast(&w->flusher_cond);
	}
}

static int segs_push(struct wal *w, uint64_t first)
{
	if (w->nsegs == w->segs_cap) {
		size_t cap = w->segs_cap ? w->segs_cap * 2 : 16;
		uint64_t *n = realloc(w->segs, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		w->segs = n;
		w->segs_cap = cap;
	}
	w->segs[w->nsegs++] = first;
	return 0;
}

/* ---- Segments ---- */

/*
 * map_segment_locked - in mmap mode, preallocate SEG to CAP bytes and map it. Falls back to
 * WAL_IO_WRITE (when the mode is AUTO) if the file system refuses fallocate or mmap.
 */
static int map_segment_locked(struct wal *w, struct segment *seg, uint64_t cap)
{
	seg->map = NULL;
	seg->cap = cap;
	if (w->io == WAL_IO_WRITE)
		return 0;
	if (fallocate(seg->fd, 0, 0, (off_t)cap) < 0) {
		int rc = -errno;
		if (w->opt.io == WAL_IO_AUTO && (rc == -EOPNOTSUPP || rc == -ENOSYS)) {
			w->io = WAL_IO_WRITE;
			return 0;
		}
		return rc;
	}
	void *p = mmap(NULL, (size_t)cap, PROT_READ | PROT_WRITE, MAP_SHARED, seg->fd, 0);
	if (p == MAP_FAILED) {
		int rc = -errno;
		if (w->opt.io == WAL_IO_AUTO) {
			w->io = WAL_IO_WRITE;
			return 0;
		}
		return rc;
	}
	seg->map = p;
	return 0;
}

/* unmap_trim_locked - unmap SEG and cut its file to the bytes in use. 0 or -errno. */
static int unmap_trim_locked(struct segment *seg)
{
	if (seg->map == NULL)
		return 0;
	munmap(seg->map, (size_t)seg->cap);
	seg->map = NULL;
	if (ftruncate(seg->fd, (off_t)seg->used) < 0)
		return -errno;
	return 0;
}

/*
 * create_segment_locked - create the segment for FIRST_LSN with room for CAP bytes: header into a
 * temporary file, synced, renamed into place, directory synced (sync_directory). Fills *seg.
 */
static int create_segment_locked(struct wal *w, uint64_t first_lsn, uint64_t cap, struct segment *seg)
{
	char name[WAL_SEGMENT_NAME_MAX], tmp[WAL_SEGMENT_NAME_MAX + 8];
	uint8_t hdr[WAL_SEGMENT_HEADER_SIZE];
	int rc;

	wal_segment_name(first_lsn, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if (unlinkat(w->dirfd, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	int fd = openat(w->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	memset(seg, 0, sizeof(*seg));
	seg->fd = fd;
	seg->first_lsn = first_lsn;
	seg->used = WAL_SEGMENT_HEADER_SIZE;
	wal_segment_header_encode(hdr, first_lsn);
	rc = io_pwrite_all(fd, hdr, sizeof(hdr), 0);
	if (rc < 0)
		goto out_err;
	rc = map_segment_locked(w, seg, cap);
	if (rc < 0)
		goto out_err;
	if (w->opt.sync_directory) {
		rc = sync_with_policy(w, fd, WAL_SYNC_SEGMENT);
		if (rc < 0)
			goto out_err;
	}
	if (renameat(w->dirfd, tmp, w->dirfd, name) < 0) {
		rc = -errno;
		goto out_err;
	}
	if (w->opt.sync_directory) {
		rc = sync_with_policy(w, w->dirfd, WAL_SYNC_DIRECTORY);
		if (rc < 0) {
			/* The segment is in place; keep it (it is valid) but report the failure. */
			rc = segs_push(w, first_lsn) < 0 ? -ENOMEM : rc;
			goto out_err_keep;
		}
	}
	rc = segs_push(w, first_lsn);
	if (rc < 0)
		goto out_err_keep;
	return 0;

out_err:
	if (unlinkat(w->dirfd, tmp, 0) < 0 && errno != ENOENT)
		wal_log(w, "could not remove %s/%s: %s", w->dir, tmp, strerror(errno));
out_err_keep:
	if (seg->map != NULL)
		munmap(seg->map, (size_t)seg->cap);
	close(fd);
	memset(seg, 0, sizeof(*seg));
	seg->fd = -1;
	return rc;
}

/* ---- Group commit ---- */

/*
 * leader_sync_locked - called with the lock held and no sync in progress: sync the retired segments
 * and the current one outside the lock, then publish the result. Returns 0 or the error.
 */
static int leader_sync_locked(struct wal *w)
{
	uint64_t upto = w->written_lsn;
	size_t nret = w->nretired;
	int fd = w->seg.fd;
	int rc = 0;

	w->syncing = 1;
	w->unsynced_since_ns = 0; /* this sync covers every record written so far */
	pthread_mutex_unlock(&w->lock);
	/* retired[0..nret) cannot change meanwhile: rollover and truncate wait while syncing. */
	for (size_t i = 0; i < nret && rc == 0; i++)
		rc = sync_with_policy(w, w->retired[i].fd, WAL_SYNC_SEGMENT);
	if (rc == 0)
		rc = sync_with_policy(w, fd, WAL_SYNC_SEGMENT);
	pthread_mutex_lock(&w->lock);
	w->syncing = 0;
	if (rc == 0) {
		if (upto > w->durable_lsn)
			w->durable_lsn = upto;
		if (nret > 0) {
			for (size_t i = 0; i < nret; i++)
				close(w->retired[i].fd);
			memmove(w->retired, w->retired + nret, (w->nretired - nret) * sizeof(*w->retired));
			w->nretired -= nret;
		}
	} else {
		fail_locked(w, rc, upto);
	}
	pthread_cond_broadcast(&w->synced);
	return rc;
}

/*
 * wait_durable_locked - return once LSN is durable: lead a sync or follow the current leader.
 * Returns 0, the error of a failed sync that covered LSN, or WAL_ESHUTDOWN.
 */
static int wait_durable_locked(struct wal *w, uint64_t lsn)
{
	for (;;) {
		if (w->error != 0)
			return lsn <= w->fail_upto ? w->error : WAL_ESHUTDOWN;
		if (w->durable_lsn >= lsn)
			return 0;
		if (!w->syncing) {
			int rc = leader_sync_locked(w);
			if (rc != 0)
				return rc;
			continue;
		}
		pthread_cond_wait(&w->synced, &w->lock);
	}
}

/* wait_no_sync_locked - wait until no leader is syncing outside the lock. */
static void wait_no_sync_locked(struct wal *w)
{
	while (w->syncing)
		pthread_cond_wait(&w->synced, &w->lock);
}

/*
 * rollover_locked - retire the current segment and start a new one with room for a record of
 * FOOTPRINT bytes. The retired segment is synced by the next sync.
 */
static int rollover_locked(struct wal *w, uint64_t footprint)
{
	wait_no_sync_locked(w);
	if (w->error != 0)
		return WAL_ESHUTDOWN;
	if (w->nretired == w->retired_cap) {
		size_t cap = w->retired_cap ? w->retired_cap * 2 : 8;
		struct retired *n = realloc(w->retired, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		w->retired = n;
		w->retired_cap = cap;
	}
	uint64_t cap = w->opt.segment_size;
	if (WAL_SEGMENT_HEADER_SIZE + footprint > cap)
		cap = WAL_SEGMENT_HEADER_SIZE + footprint;
	struct segment next;
	int rc = create_segment_locked(w, w->next_lsn, cap, &next);
	if (rc < 0) {
		fail_locked(w, rc, w->written_lsn);
		return rc;
	}
	rc = unmap_trim_locked(&w->seg);
	w->retired[w->nretired++] = (struct retired){.fd = w->seg.fd, .first_lsn = w->seg.first_lsn};
	w->seg = next;
	if (rc < 0) {
		fail_locked(w, rc, w->written_lsn);
		return rc;
	}
	return 0;
}

/*
 * grow_segment_locked - give the current segment, which holds no record yet, room for CAP bytes
 * (a record larger than the segment size). 0 or -errno (then the log panics).
 */
static int grow_segment_locked(struct wal *w, uint64_t cap)
{
	wait_no_sync_locked(w);
	if (w->error != 0)
		return WAL_ESHUTDOWN;
	if (w->seg.map != NULL)
		munmap(w->seg.map, (size_t)w->seg.cap);
	int rc = map_segment_locked(w, &w->seg, cap);
	if (rc < 0)
		fail_locked(w, rc, w->written_lsn);
	return rc;
}

/* ---- The batch flusher ---- */

/*
 * batch_nudge_locked - after a batch append, before it is acknowledged: wake an idle flusher; then
 * apply backpressure. While a record written more than 1.25 windows ago (a quarter of grace, at
 * least 100 us, so that an on-time flusher always wins) is not covered by a started sync, this
 * append is not acknowledged: it waits for the sync under way, then syncs in the flusher's place.
 * The flusher is late like that on a busy machine (or starved of CPU outright: a signalled flusher
 * may not run for tens of ms while the appender does). So every acknowledged record is covered by
 * a sync that started within 1.25 windows of its write, however late the flusher runs; on time,
 * appenders never wait for a sync. Returns 0 or the error of the sync (then the log has failed).
 */
static int batch_nudge_locked(struct wal *w)
{
	if (w->flusher_idle)
		pthread_cond_signal(&w->flusher_cond);
	int64_t grace = w->opt.batch_window_ns / 4 > 100000 ? w->opt.batch_window_ns / 4 : 100000;
	int64_t limit = w->opt.batch_window_ns + grace;
	for (;;) {
		if (w->error != 0)
			return WAL_ESHUTDOWN;
		if (w->unsynced_since_ns == 0)
			return 0;
		int64_t now = now_ns();
		if (now - w->unsynced_since_ns < limit)
			return 0;
		if (!w->syncing) {
			w->last_flush_ns = now;
			w->batch_takeovers++;
			return leader_sync_locked(w);
		}
		pthread_cond_wait(&w->synced, &w->lock);
	}
}

/* flusher_main - under WAL_SYNC_BATCH: sync what appends left behind, at most once per window. */
static void *flusher_main(void *arg)
{
	struct wal *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->closing) {
		if (w->error != 0 || w->durable_lsn >= w->written_lsn) {
			w->flusher_idle = 1;
			pthread_cond_wait(&w->flusher_cond, &w->lock);
			w->flusher_idle = 0;
			continue;
		}
		int64_t now = now_ns();
		int64_t due = w->last_flush_ns + w->opt.batch_window_ns;
		if (now < due) {
			struct timespec ts = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
			pthread_cond_timedwait(&w->flusher_cond, &w->lock, &ts);
			continue;
		}
		if (w->syncing) {
			pthread_cond_wait(&w->synced, &w->lock);
			continue;
		}
		w->last_flush_ns = now;
		int rc = leader_sync_locked(w);
		if (rc != 0 && w->opt.error_policy == WAL_ERROR_RETRY)
			wal_log(w, "batch flusher: sync failed (%s); will try again next window",
			        errname_str(-rc));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- Open ---- */

static int validate_options(const struct wal_options *o)
{
	if (o->sync_policy != WAL_SYNC_ALWAYS && o->sync_policy != WAL_SYNC_BATCH &&
	    o->sync_policy != WAL_SYNC_OS)
		return -EINVAL;
	if (o->sync_policy == WAL_SYNC_BATCH && o->batch_window_ns <= 0)
		return -EINVAL;
	if (o->error_policy != WAL_ERROR_PANIC && o->error_policy != WAL_ERROR_RETRY)
		return -EINVAL;
	if (o->segment_size < 4096 || o->segment_size > (1ull << 40))
		return -EINVAL;
	if (o->io != WAL_IO_AUTO && o->io != WAL_IO_MMAP && o->io != WAL_IO_WRITE)
		return -EINVAL;
	return 0;
}

/* remove_temporaries - delete "*.wal.tmp" left by a crash during segment creation. */
static int remove_temporaries(struct wal *w)
{
	int fd = dup(w->dirfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		uint64_t first;
		char base[WAL_SEGMENT_NAME_MAX];
		if (n != 24 || strcmp(de->d_name + 20, ".tmp") != 0)
			continue;
		memcpy(base, de->d_name, 20);
		base[20] = '\0';
		if (!wal_segment_name_parse(base, &first))
			continue;
		if (unlinkat(w->dirfd, de->d_name, 0) < 0) {
			rc = -errno;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* open_dir - create DIR if allowed (syncing its parent), then open it. */
static int open_dir(struct wal *w, const char *dir)
{
	if (!w->opt.create) {
		/* nothing to create */
	} else if (mkdir(dir, 0755) == 0) {
		if (w->opt.sync_directory) {
			char *parent = strdup(dir);
			if (parent == NULL)
				return -ENOMEM;
			char *slash = strrchr(parent, '/');
			const char *pd = ".";
			if (slash == parent)
				pd = "/";
			else if (slash != NULL) {
				*slash = '\0';
				pd = parent;
			}
			int pfd = open(pd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			int rc = pfd < 0 ? -errno : sync_with_policy(w, pfd, WAL_SYNC_DIRECTORY);
			if (pfd >= 0)
				close(pfd);
			free(parent);
			if (rc < 0)
				return rc;
		}
	} else if (errno != EEXIST) {
		return -errno;
	}
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0)
		return -errno;
	return 0;
}

/*
 * recover_locked - scan the directory, refuse corruption, cut a torn tail, sync what is kept, and
 * open the last segment for appending.
 */
static int recover_locked(struct wal *w, struct wal_recovery *report)
{
	struct wal_dir_scan s;
	int rc = wal_dir_scan(w->dirfd, 0, WAL_NO_LIVE, 0, 0, NULL, NULL, &s);
	if (report != NULL)
		*report = s.rep;
	if (rc != 0)
		goto out;
	if (s.rep.verdict == WAL_VERDICT_CORRUPT) {
		rc = WAL_ECORRUPT;
		goto out;
	}
	if (s.nsegs == 0 && !w->opt.create) {
		rc = WAL_ENOTLOG;
		goto out;
	}
	if (s.nsegs == 0) {
		rc = create_segment_locked(w, 1, w->opt.segment_size, &w->seg);
		w->next_lsn = 1;
		goto out;
	}

	/* Cut the torn tail: the rest of the last kept segment and every segment after it. */
	uint64_t truncated = 0;
	char name[WAL_SEGMENT_NAME_MAX];
	uint64_t last = s.segs[s.keep - 1];
	for (size_t i = s.keep; i < s.nsegs; i++) {
		wal_segment_name(s.segs[i], name);
		truncated += s.sizes[i];
		if (unlinkat(w->dirfd, name, 0) < 0) {
			rc = -errno;
			goto out;
		}
	}
	wal_segment_name(last, name);
	int fd = openat(w->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (s.sizes[s.keep - 1] > s.keep_end) {
		if (s.rep.verdict == WAL_VERDICT_TORN_TAIL)
			truncated += s.sizes[s.keep - 1] - s.keep_end;
		if (ftruncate(fd, (off_t)s.keep_end) < 0) {
			rc = -errno;
			close(fd);
			goto out;
		}
	}
	if (report != NULL)
		report->truncated_bytes = truncated;
	if (truncated > 0)
		wal_log(w,
		        "recovery of %s: torn tail at LSN %" PRIu64 " (%s, %s offset %" PRIu64 "): %" PRIu64
		        " bytes cut",
		        w->dir, s.rep.at_lsn, s.rep.detail, s.rep.segment, s.rep.offset, truncated);

	/* Make what recovery keeps durable: it may have been in the page cache only (process crash). */
	for (size_t i = 0; i + 1 < s.keep && rc == 0; i++) {
		wal_segment_name(s.segs[i], name);
		int sfd = openat(w->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (sfd < 0) {
			rc = -errno;
			break;
		}
		rc = sync_with_policy(w, sfd, WAL_SYNC_SEGMENT);
		close(sfd);
	}
	if (rc == 0)
		rc = sync_with_policy(w, fd, WAL_SYNC_SEGMENT);
	if (rc == 0 && s.keep < s.nsegs && w->opt.sync_directory)
		rc = sync_with_policy(w, w->dirfd, WAL_SYNC_DIRECTORY);
	for (size_t i = 0; i < s.keep && rc == 0; i++)
		rc = segs_push(w, s.segs[i]);
	if (rc < 0) {
		close(fd);
		goto out;
	}
	w->seg.fd = fd;
	w->seg.first_lsn = last;
	w->seg.used = s.keep_end;
	uint64_t cap = w->opt.segment_size > s.keep_end ? w->opt.segment_size : s.keep_end;
	rc = map_segment_locked(w, &w->seg, cap);
	if (rc < 0) {
		close(fd);
		w->seg.fd = -1;
		goto out;
	}
	w->next_lsn = s.rep.next_lsn;
out:
	wal_dir_scan_free(&s);
	return rc;
}

int wal_open(const char *dir, const struct wal_options *opts, struct wal **out, struct wal_recovery *report)
{
	struct wal_options defaults;
	struct stat st;
	int rc;

	if (report != NULL)
		memset(report, 0, sizeof(*report));
	if (opts == NULL) {
		wal_options_init(&defaults);
		opts = &defaults;
	}
	rc = validate_options(opts);
	if (rc < 0)
		return rc;
	if (!opts->create && stat(dir, &st) < 0)
		return -errno;

	struct wal *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->opt = *opts;
	w->dirfd = -1;
	w->seg.fd = -1;
	w->io = opts->io;
	atomic_init(&w->syncs, 0);
	atomic_init(&w->sync_errors, 0);
	w->dir = strdup(dir);
	if (w->dir == NULL) {
		free(w);
		return -ENOMEM;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->synced, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->flusher_cond, &ca);
	pthread_condattr_destroy(&ca);

	rc = open_dir(w, dir);
	if (rc == 0)
		rc = remove_temporaries(w);
	pthread_mutex_lock(&w->lock);
	if (rc == 0)
		rc = recover_locked(w, report);
	if (rc == 0) {
		w->written_lsn = w->next_lsn - 1;
		w->durable_lsn = w->written_lsn;
	}
	pthread_mutex_unlock(&w->lock);
	if (rc == 0 && w->opt.sync_policy == WAL_SYNC_BATCH) {
		w->last_flush_ns = now_ns(); /* the first window starts at open */
		int prc = pthread_create(&w->flusher, NULL, flusher_main, w);
		if (prc != 0)
			rc = -prc;
		else
			w->has_flusher = 1;
	}
	if (rc != 0) {
		w->error = rc; /* close without syncing */
		wal_close(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* ---- Append, sync, replay, truncate ---- */

int wal_append(struct wal *w, const void *data, size_t len, uint64_t *lsn_out)
{
	if (len > WAL_RECORD_MAX)
		return WAL_ETOOBIG;
	if (len > 0 && data == NULL)
		return -EINVAL;
	uint64_t fp = wal_record_footprint(len);
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	if (w->error != 0) {
		pthread_mutex_unlock(&w->lock);
		return WAL_ESHUTDOWN;
	}
	if (w->seg.used + fp > w->seg.cap) {
		rc = w->seg.used == WAL_SEGMENT_HEADER_SIZE
		         ? grow_segment_locked(w, WAL_SEGMENT_HEADER_SIZE + fp)
		         : rollover_locked(w, fp);
		if (rc < 0) {
			pthread_mutex_unlock(&w->lock);
			return rc;
		}
	}
	uint64_t lsn = w->next_lsn;
	if (w->seg.map != NULL) {
		wal_record_encode(w->seg.map + w->seg.used, lsn, data, len);
	} else {
		if (fp > w->wbuf_cap) {
			uint8_t *n = realloc(w->wbuf, fp);
			if (n == NULL) {
				pthread_mutex_unlock(&w->lock);
				return -ENOMEM;
			}
			w->wbuf = n;
			w->wbuf_cap = fp;
		}
		wal_record_encode(w->wbuf, lsn, data, len);
		rc = io_pwrite_all(w->seg.fd, w->wbuf, fp, w->seg.used);
		if (rc < 0) {
			wal_log(w, "write of LSN %" PRIu64 " to %s failed: %s", lsn, w->dir,
			        errname_str(-rc));
			fail_locked(w, rc, lsn);
			pthread_mutex_unlock(&w->lock);
			return rc;
		}
	}
	w->seg.used += fp;
	w->next_lsn = lsn + 1;
	w->written_lsn = lsn;
	if (w->unsynced_since_ns == 0)
		w->unsynced_since_ns = now_ns();
	w->appends++;
	w->bytes += len;
	if (w->opt.sync_policy == WAL_SYNC_ALWAYS)
		rc = wait_durable_locked(w, lsn);
	else if (w->opt.sync_policy == WAL_SYNC_BATCH)
		rc = batch_nudge_locked(w);
	pthread_mutex_unlock(&w->lock);
	if (lsn_out != NULL)
		*lsn_out = lsn;
	return rc;
}

int wal_sync(struct wal *w)
{
	pthread_mutex_lock(&w->lock);
	int rc = w->error != 0 ? WAL_ESHUTDOWN : wait_durable_locked(w, w->written_lsn);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int wal_replay(struct wal *w, uint64_t from_lsn, wal_record_fn fn, void *arg)
{
	struct wal_dir_scan s;

	pthread_mutex_lock(&w->lock);
	uint64_t live_first = w->seg.first_lsn, live_len = w->seg.used;
	pthread_mutex_unlock(&w->lock);
	int rc = wal_dir_scan(w->dirfd, from_lsn, live_first, live_len, 0, fn, arg, &s);
	if (rc == 0 && s.rep.verdict != WAL_VERDICT_CLEAN)
		rc = WAL_ECORRUPT; /* the log changed under us since open */
	wal_dir_scan_free(&s);
	return rc;
}

int wal_truncate(struct wal *w, uint64_t upto_lsn)
{
	int rc = 0, removed = 0;
	char name[WAL_SEGMENT_NAME_MAX];

	pthread_mutex_lock(&w->lock);
	wait_no_sync_locked(w);
	if (w->error != 0) {
		rc = WAL_ESHUTDOWN;
		goto out;
	}
	/* Everything in the current segment goes: start a new (empty) one first. */
	if (w->next_lsn > w->seg.first_lsn && upto_lsn >= w->next_lsn - 1) {
		rc = rollover_locked(w, 0);
		if (rc < 0)
			goto out;
	}
	/* Remove whole segments whose last LSN (next segment's first - 1) is <= upto_lsn. */
	size_t drop = 0;
	while (drop + 1 < w->nsegs && w->segs[drop + 1] - 1 <= upto_lsn)
		drop++;
	for (size_t i = 0; i < drop; i++) {
		for (size_t r = 0; r < w->nretired; r++) {
			if (w->retired[r].first_lsn == w->segs[i]) {
				close(w->retired[r].fd);
				memmove(w->retired + r, w->retired + r + 1,
				        (w->nretired - r - 1) * sizeof(*w->retired));
				w->nretired--;
				break;
			}
		}
		wal_segment_name(w->segs[i], name);
		if (unlinkat(w->dirfd, name, 0) < 0 && errno != ENOENT) {
			rc = -errno;
			drop = i;
			break;
		}
		removed++;
	}
	memmove(w->segs, w->segs + drop, (w->nsegs - drop) * sizeof(*w->segs));
	w->nsegs -= drop;
	if (rc == 0 && removed > 0 && w->opt.sync_directory) {
		rc = sync_with_policy(w, w->dirfd, WAL_SYNC_DIRECTORY);
		if (rc < 0)
			fail_locked(w, rc, w->written_lsn);
	}
out:
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void wal_get_stats(struct wal *w, struct wal_stats *s)
{
	pthread_mutex_lock(&w->lock);
	s->appends = w->appends;
	s->bytes = w->bytes;
	s->syncs = atomic_load(&w->syncs);
	s->sync_errors = atomic_load(&w->sync_errors);
	s->next_lsn = w->next_lsn;
	s->written_lsn = w->written_lsn;
	s->durable_lsn = w->durable_lsn;
	s->error = w->error;
	s->io = w->io;
	s->batch_takeovers = w->batch_takeovers;
	pthread_mutex_unlock(&w->lock);
}

int wal_error(struct wal *w)
{
	pthread_mutex_lock(&w->lock);
	int rc = w->error;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int wal_sync_other(struct wal *w, int fd, enum wal_sync_target what)
{
	int rc = sync_with_policy(w, fd, what);
	if (rc != 0) {
		pthread_mutex_lock(&w->lock);
		fail_locked(w, rc, w->written_lsn);
		pthread_mutex_unlock(&w->lock);
	}
	return rc;
}

void wal_fail(struct wal *w, int rc)
{
	pthread_mutex_lock(&w->lock);
	fail_locked(w, rc, w->written_lsn);
	pthread_mutex_unlock(&w->lock);
}

/* ---- Close ---- */

int wal_close(struct wal *w)
{
	int rc = 0;

	if (w->has_flusher) {
		pthread_mutex_lock(&w->lock);
		w->closing = 1;
		pthread_cond_broadcast(&w->flusher_cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->flusher, NULL);
	}
	pthread_mutex_lock(&w->lock);
	wait_no_sync_locked(w);
	if (w->error != 0) {
		/* Panicked (or a failed open): no more I/O, only release. */
		rc = WAL_ESHUTDOWN;
		if (w->seg.map != NULL)
			munmap(w->seg.map, (size_t)w->seg.cap);
	} else if (w->seg.fd >= 0) {
		rc = unmap_trim_locked(&w->seg);
		/* Sync even if every record is durable: the trim changed the file size. */
		if (rc == 0)
			rc = leader_sync_locked(w);
	}
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->nretired; i++)
		close(w->retired[i].fd);
	if (w->seg.fd >= 0)
		close(w->seg.fd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	pthread_cond_destroy(&w->flusher_cond);
	pthread_cond_destroy(&w->synced);
	pthread_mutex_destroy(&w->lock);
	free(w->retired);
	free(w->segs);
	free(w->wbuf);
	free(w->dir);
	free(w);
	return rc;
}
