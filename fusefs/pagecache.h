/*
 * pagecache.h — the emulated page cache: per-inode pages that are DIRTY (newer than the backing
 * file), under WRITEBACK (on their way to it), or clean-but-different from it (FAILED after a
 * failed writeback, DIVERGED after a data effect), their writeback to the backing file with fault
 * rules applied per page, the page's fate on failure per profile, errseq error reporting, the
 * dirty thresholds (background writeback, writer throttling), and the power cut that drops
 * everything.
 *
 * Pages that are clean and identical to the backing file are not kept: the backing file (and the
 * kernel's own cache of it) already serves them, so the cache holds exactly what a power cut loses.
 */
#ifndef FSYNCLAB_PAGECACHE_H
#define FSYNCLAB_PAGECACHE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "errseq.h"
#include "faults.h"
#include "profiles.h"

/* The state of a cached page. Clean pages equal to the disk are simply absent. */
enum page_state {
	PAGE_DIRTY,     /* written by the application, not yet written back */
	PAGE_WRITEBACK, /* a DIRTY page whose writeback I/O is in flight: frozen (writers wait) */
	PAGE_FAILED,    /* writeback failed, marked clean and kept: memory has data the disk lacks */
	PAGE_DIVERGED,  /* written back "successfully" with a data effect: memory != disk, silently */
	PAGE_CLEAN,     /* transient, inside a writeback: on disk as in memory, about to be dropped */
};

struct page {
	uint64_t index; /* block number within the file */
	enum page_state state;
	uint8_t data[]; /* block_size bytes */
};

struct pagecache_config {
	uint32_t block_size;           /* page size, a power of two >= 512 */
	const struct profile *profile; /* failure behaviour */
	struct fault_table *faults;    /* rules to consult at writeback; NULL = none */
	bool legacy_errors;            /* pre-4.13 error reporting (first fsync caller consumes) */
	uint64_t dirty_limit;          /* bytes of dirty + writeback pages beyond which writers write back */
	uint64_t dirty_background;     /* bytes of dirty pages beyond which the background flusher is
	                                  woken; 0 = half the dirty limit */
	/* Wakes the background flusher (called by a writer, without locks, once per rearm); NULL = none. */
	void (*wake_background)(void *arg);
	void *wake_arg;
};

/* One recorded error, for `status`. */
struct pagecache_error {
	char path[256];
	const char *op; /* "writeback", "journal", "sync" */
	int err;        /* positive errno */
	int64_t block;  /* block number, -1 when not about one block */
};

/* The cache as a whole: configuration, dirty accounting, the error log. */
struct pagecache {
	struct pagecache_config cfg;
	_Atomic uint64_t dirty_bytes;     /* bytes in DIRTY pages, all inodes */
	_Atomic uint64_t writeback_bytes; /* bytes in WRITEBACK pages, all inodes */
	atomic_bool background_woken;     /* the flusher was woken and has not rearmed yet */
	pthread_mutex_t log_lock;         /* protects the error log below */
	struct pagecache_error *errors;   /* the most recent PAGECACHE_MAX_ERRORS errors */
	size_t nerrors;
	uint64_t errors_total;
	pthread_mutex_t balance_lock; /* with balance_cond: writers throttled at the dirty limit */
	pthread_cond_t balance_cond;  /* broadcast when a writeback batch ends while writers wait */
	atomic_uint throttled;        /* writers waiting in pagecache_balance_dirty() */
	pthread_mutex_t pool_lock;    /* protects the pool of free pages below */
	struct page **pool;           /* freed pages kept for reuse: no page faults on a busy cache */
	size_t npool, pool_cap;
};

#define PAGECACHE_MAX_ERRORS 256

/* The cached state of one file. */
struct pagecache_inode {
	pthread_mutex_t lock;
	pthread_cond_t wb_done; /* broadcast when a writeback batch finishes or a block ends */
	/* protected by lock: */
	struct page **pages; /* sorted by index */
	size_t npages, cap;
	size_t ndirty;         /* pages in PAGE_DIRTY */
	size_t nwriteback;     /* pages in PAGE_WRITEBACK */
	unsigned io_inflight;  /* writeback batches whose I/O runs now, outside the lock */
	unsigned wb_blocked;   /* holders of pagecache_writeback_block(): no batch may start */
	uint64_t size;         /* the in-memory file size, when size_valid */
	bool size_valid;       /* false: the backing file's size is the size */
	int64_t dirtied_when;  /* CLOCK_MONOTONIC ns when the first page got dirty */
	int deferred_err;      /* ext4-data: an error the next fsync will report (negative) */
	struct timespec mtime; /* time of the last write, when mtime_valid: the file's mtime */
	bool mtime_valid;      /* false: the backing file's mtime is the mtime */
	/* lock-free: */
	errseq_t wb_err;            /* writeback errors, Linux >= 4.13 style */
	errseq_legacy_t legacy_err; /* writeback errors, pre-4.13 style */
};

/* What one writeback did, beyond errors (which go to errseq and the log). */
struct pagecache_wb_result {
	unsigned written; /* pages that reached the backing file (possibly damaged) */
	unsigned failed;  /* pages whose writeback failed */
	bool reverted;    /* pages were dropped to the disk's contents (btrfs): the kernel's
	                            cache of [revert_start, revert_end) must be invalidated */
	uint64_t revert_start, revert_end;
};

/* pagecache_init - set up PC with CFG. Returns 0 or -errno. */
int pagecache_init(struct pagecache *pc, const struct pagecache_config *cfg);
void pagecache_fini(struct pagecache *pc);

/* pagecache_inode_init / _fini - an empty per-file cache; fini frees every page (no writeback). */
int pagecache_inode_init(struct pagecache_inode *pi);
void pagecache_inode_fini(struct pagecache *pc, struct pagecache_inode *pi);

/*
 * pagecache_read - read LEN bytes at OFF: the backing file (FD) overlaid with cached pages, cut at
 * the in-memory size. Returns the byte count (short at end of file) or -errno.
 */
ssize_t pagecache_read(struct pagecache *pc, struct pagecache_inode *pi, int fd, void *buf, size_t len,
                       uint64_t off);

/*
 * pagecache_write - copy LEN bytes at OFF into cache pages and mark them DIRTY; a partially
 * covered page is first filled from the backing file FD. Nothing reaches FD. A page under
 * writeback is waited for first (stable pages). When the dirty pages are then over the background
 * threshold, cfg.wake_background is called (once until the flusher rearms). Returns LEN or -errno.
 */
ssize_t pagecache_write(struct pagecache *pc, struct pagecache_inode *pi, int fd, const void *buf, size_t len,
                        uint64_t off);

/*
 * pagecache_write_through - an O_DIRECT write already written to the backing file: update the
 * overlapping cached pages (keeping their state) and the size, so the cache stays coherent. The
 * caller holds pagecache_writeback_block() across its write and this call.
 */
void pagecache_write_through(struct pagecache *pc, struct pagecache_inode *pi, const void *buf, size_t len,
                             uint64_t off);

/*
 * pagecache_writeback_inode - write every page of PI that is DIRTY when the call starts to FD (a
 * writable fd of the backing file), in runs of contiguous pages, then wait for the pages other
 * callers had under writeback (so their errors are on errseq when this returns). Before each page,
 * the `writeback` rules are consulted with PATH and the page's byte range. A page that fails takes
 * the profile's fate, and the error is recorded (errseq, legacy flag, or deferred for ext4-data;
 * and the error log). The inode's lock is not held during the I/O: writers of other pages go on,
 * writers of a page under writeback wait for it. Several callers may write back one inode at
 * once. Does not fsync FD. Returns 0 when every page this call wrote was written, else its first
 * error (negative errno); *RES (may be NULL) says what this call did.
 */
int pagecache_writeback_inode(struct pagecache *pc, struct pagecache_inode *pi, int fd, const char *path,
                              struct pagecache_wb_result *res);

/*
 * pagecache_fsync_begin - the start of an fsync: an error deferred by the profile (ext4-data) is
 * made visible now, so this fsync reports it.
 */
void pagecache_fsync_begin(struct pagecache *pc, struct pagecache_inode *pi);

/* pagecache_file_sample - the error cursor for a file being opened (errseq_sample). */
uint32_t pagecache_file_sample(struct pagecache *pc, struct pagecache_inode *pi);

/*
 * pagecache_file_check - the writeback error this open file has not seen yet (negative errno) or
 * 0, advancing its cursor *SINCE. In legacy mode: the inode's pending error, consumed.
 */
int pagecache_file_check(struct pagecache *pc, struct pagecache_inode *pi, uint32_t *since);

/*
 * pagecache_writeback_block / _unblock - between the two, no writeback I/O of PI is in flight: block
 * waits for the batches in flight and keeps new ones from starting. For operations that change
 * the backing file behind the cache (truncate, punch hole, O_DIRECT writes), which a late
 * writeback would otherwise undo. Blocks nest and may be held by several threads at once.
 */
void pagecache_writeback_block(struct pagecache *pc, struct pagecache_inode *pi);
void pagecache_writeback_unblock(struct pagecache *pc, struct pagecache_inode *pi);

/* pagecache_truncate - the file is now NEWSIZE bytes: drop pages past it, zero the tail. */
void pagecache_truncate(struct pagecache *pc, struct pagecache_inode *pi, uint64_t newsize);

/* pagecache_zero_range - bytes [OFF, OFF+LEN) were punched/zeroed on disk: zero them in cache too. */
void pagecache_zero_range(struct pagecache *pc, struct pagecache_inode *pi, uint64_t off, uint64_t len);

/* pagecache_note_size - the backing file grew to SIZE by other means (fallocate). */
void pagecache_note_size(struct pagecache_inode *pi, uint64_t size);

/*
 * pagecache_mtime - the file's modification time as applications see it: the time of the last
 * cached write (which writeback also stamps on the backing file, as a real filesystem persists the
 * inode's mtime), or false when the backing file's own mtime stands.
 */
bool pagecache_mtime(struct pagecache_inode *pi, struct timespec *mtime);

/* pagecache_forget_mtime - the mtime was set explicitly (utimensat): the backing file has it. */
void pagecache_forget_mtime(struct pagecache_inode *pi);

/* pagecache_size - the file's size as applications see it, given the backing file's size. */
uint64_t pagecache_size(struct pagecache_inode *pi, uint64_t backing_size);

/*
 * pagecache_size_fd - pagecache_size() for a BACKING_SIZE read from FD before the call, safe against
 * a writeback completing in between: that writeback grew the backing file and then stopped caching
 * the size, so the caller's BACKING_SIZE would be stale and too small. When no size is cached, FD
 * is stat'ed again under the inode's lock (a writeback stops caching the size under that lock,
 * after its I/O). Falls back to BACKING_SIZE if that fstat fails.
 */
uint64_t pagecache_size_fd(struct pagecache_inode *pi, int fd, uint64_t backing_size);

/* pagecache_drop_all - power cut: forget every page, dirty or not, and the in-memory size. A
 * writeback I/O in flight completes first (it reached the disk before the cut); none starts after.
 * Returns true if anything was dropped. */
bool pagecache_drop_all(struct pagecache *pc, struct pagecache_inode *pi);

/* pagecache_has_pages - true while PI holds any page (the inode must then stay alive). */
bool pagecache_has_pages(struct pagecache_inode *pi);

/*
 * pagecache_block_cached - true when block INDEX of PI is held in the cache, in any state: a read
 * of it is served from memory, as a real kernel serves a dirty or failed-but-uptodate page, and
 * never reaches the disk (so read fault rules do not see it).
 */
bool pagecache_block_cached(struct pagecache_inode *pi, uint64_t index);

/*
 * pagecache_has_dirty - true when PI has pages dirty for at least AGE_NS; with AGE_NS 0, also when
 * pages are under writeback (a sync must wait for them).
 */
bool pagecache_has_dirty(struct pagecache_inode *pi, int64_t now_ns, int64_t age_ns);

/* pagecache_dirtied_when - CLOCK_MONOTONIC ns when PI's oldest dirty page got dirty; INT64_MAX if none. */
int64_t pagecache_dirtied_when(struct pagecache_inode *pi);

/* pagecache_writeback_pages - how many pages of PI are under writeback right now. */
size_t pagecache_writeback_pages(struct pagecache_inode *pi);

/*
 * pagecache_over_limit - true when dirty and writeback pages together exceed the dirty limit: the
 * writer is throttled (it writes back itself, like balance_dirty_pages()).
 */
bool pagecache_over_limit(struct pagecache *pc);

/*
 * pagecache_balance_dirty - the writer's throttle, after balance_dirty_pages(): while dirty and
 * writeback pages exceed the dirty limit, wake the background flusher and wait for its writeback
 * to bring them under it. Returns true when under the limit (at once if it already was); false
 * when there is no flusher (cfg.wake_background NULL) or the pages did not go down for 200 ms
 * (the flusher cannot keep up, or cannot write): the caller then writes back itself.
 */
bool pagecache_balance_dirty(struct pagecache *pc);

/*
 * pagecache_over_background - true when dirty pages exceed the background threshold: the
 * background flusher should write back (oldest inodes first) until it is false.
 */
bool pagecache_over_background(struct pagecache *pc);

/*
 * pagecache_background_rearm - the flusher starts a background pass: the next write that finds the
 * cache over the background threshold calls cfg.wake_background again.
 */
void pagecache_background_rearm(struct pagecache *pc);

/* pagecache_record_error - add an error to the log (for status); ERR is a positive errno. */
void pagecache_record_error(struct pagecache *pc, const char *path, const char *op, int err, int64_t block);

/*
 * pagecache_inode_status_json - {"size","dirty_pages":[..],"failed_pages":[..]} for PI, or NULL
 * when PI holds no page (nothing worth showing).
 */
json_t *pagecache_inode_status_json(struct pagecache_inode *pi, uint64_t backing_size);

/* pagecache_errors_json - the error log as [{"path","op","errno","block"}]. */
json_t *pagecache_errors_json(struct pagecache *pc);

/* pagecache_now_ns - CLOCK_MONOTONIC in ns. */
int64_t pagecache_now_ns(void);

#endif
