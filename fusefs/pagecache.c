/*
 * pagecache.c — the emulated page cache, and the writeback that can fail.
 *
 * The model is the kernel's page cache, cut down to what decides durability:
 *
 *   write      copies into pages of block_size bytes and marks them DIRTY. Nothing reaches the
 *              backing file ("the disk"). A page only partly covered is first read from disk.
 *   read       returns the disk's bytes overlaid with every cached page, cut at the in-memory
 *              file size (which a write past the end extends before anything is on disk).
 *   writeback  (fsync, the background flusher, the dirty limit, sync, unmount) writes each DIRTY
 *              page to disk. Before each page the `writeback` fault rules are asked; a page that
 *              passes joins a run of contiguous pages written with one pwritev(). While its I/O
 *              is in flight the page is under WRITEBACK (the kernel's PG_writeback): its data is
 *              frozen, a write to it waits for the I/O (stable pages), a read sees it. A page
 *              that fires gets the rule's effect:
 *                errno        the page's writeback fails: the page takes the profile's fate
 *                             (FAILED = marked clean but kept, so reads still show the new data
 *                             although the disk has the old; REVERT = dropped, reads show the
 *                             disk; KEEP_DIRTY = stays dirty for a retry) and the error is
 *                             recorded on the inode's errseq (see errseq.c) for fsync to report
 *                data effects   (effects.c) what persists differs from the page; the page becomes
 *                             DIVERGED: clean, kept, and reads show the intended data until a
 *                             power cut reveals what the disk really holds
 *              A page written as asked is dropped from the cache: the disk now holds it.
 *   power cut  drops every page, DIRTY, FAILED or DIVERGED alike, and the in-memory size. I/O
 *              already in flight completes first (it reached the disk before the cut).
 *
 * Dirty thresholds, after the kernel's dirty_background_ratio and dirty_ratio: a write that takes
 * the DIRTY bytes over the background threshold (half the dirty limit unless configured) wakes the
 * background flusher (cfg.wake_background), which writes back off the writer's path; only when
 * DIRTY plus WRITEBACK bytes exceed the dirty limit is the writer throttled: it waits for the
 * flusher to bring them under it (pagecache_balance_dirty), and writes back itself only when there
 * is no flusher or it makes no progress.
 *
 * The error seen by fsync is therefore exactly Linux's: the writeback error goes into the
 * inode's errseq_t, and each open file reports it once (or, with --legacy-errors, the first
 * caller consumes it).
 *
 * Locking: one mutex per inode (pagecache_inode.lock) protects its pages, their states and the
 * size. It is NOT held across the backing-file I/O of a writeback. A writeback goes in batches:
 * under the lock it picks a run of DIRTY pages (asking the rules per page), marks them WRITEBACK
 * and counts the batch in io_inflight; it unlocks, writes, relocks and gives each page its fate,
 * then broadcasts wb_done. A WRITEBACK page is never changed or freed by anyone else, so the
 * batch's page pointers stay valid while unlocked. Waiting on wb_done (under the lock):
 *   - a write touching a WRITEBACK page waits for it, then dirties it again with the new data;
 *   - a writeback waits at its end for pages other callers had under writeback (fsync reports
 *     their errors, as filemap_write_and_wait does);
 *   - truncate, zero-range, write-through and the power cut first block new batches
 *     (wb_blocked) and wait for io_inflight to reach 0, so no late write lands behind them;
 *     pagecache_writeback_block() lets a caller extend that over its own backing-file change.
 * The error log and the page pool have their own locks. The cache-wide dirty and writeback byte
 * counts are atomics, moved once per operation (counts_publish_locked). Writers throttled at the
 * dirty limit wait on balance_cond under balance_lock, which a finishing batch takes (after the
 * inode's lock, never before) to broadcast while any writer waits.
 */
#include "pagecache.h"
#include "io_full.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"
#include "effects.h"

int64_t pagecache_now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int pagecache_init(struct pagecache *pc, const struct pagecache_config *cfg)
{
	int rc;

	memset(pc, 0, sizeof(*pc));
	pc->cfg = *cfg;
	if (!pc->cfg.profile)
		pc->cfg.profile = profile_default();
	if (pc->cfg.block_size < 512 || (pc->cfg.block_size & (pc->cfg.block_size - 1)))
		return -EINVAL;
	atomic_init(&pc->dirty_bytes, 0);
	atomic_init(&pc->writeback_bytes, 0);
	atomic_init(&pc->background_woken, false);
	if (!pc->cfg.dirty_background)
		pc->cfg.dirty_background = pc->cfg.dirty_limit / 2;
	pc->errors = calloc(PAGECACHE_MAX_ERRORS, sizeof(*pc->errors));
	if (!pc->errors)
		return -ENOMEM;
	/* Keep up to the dirty limit's worth of freed pages (at most 64 MiB) for reuse. */
	pc->pool_cap = (size_t)((pc->cfg.dirty_limit < (64u << 20) ? pc->cfg.dirty_limit : (64u << 20)) /
	                        pc->cfg.block_size);
	pc->pool = calloc(pc->pool_cap ? pc->pool_cap : 1, sizeof(*pc->pool));
	if (!pc->pool) {
		free(pc->errors);
		return -ENOMEM;
	}
	atomic_init(&pc->throttled, 0);
	rc = pthread_mutex_init(&pc->log_lock, NULL);
	if (rc != 0)
		goto out_free;
	rc = pthread_mutex_init(&pc->pool_lock, NULL);
	if (rc != 0)
		goto out_log;
	rc = pthread_mutex_init(&pc->balance_lock, NULL);
	if (rc != 0)
		goto out_pool;
	rc = pthread_cond_init(&pc->balance_cond, NULL);
	if (rc == 0)
		return 0;
	pthread_mutex_destroy(&pc->balance_lock);
out_pool:
	pthread_mutex_destroy(&pc->pool_lock);
out_log:
	pthread_mutex_destroy(&pc->log_lock);
out_free:
	free(pc->pool);
	free(pc->errors);
	return -rc;
}

void pagecache_fini(struct pagecache *pc)
{
	for (size_t i = 0; i < pc->npool; i++)
		free(pc->pool[i]);
	free(pc->pool);
	pc->pool = NULL;
	pc->npool = 0;
	pthread_cond_destroy(&pc->balance_cond);
	pthread_mutex_destroy(&pc->balance_lock);
	pthread_mutex_destroy(&pc->pool_lock);
	pthread_mutex_destroy(&pc->log_lock);
	free(pc->errors);
	pc->errors = NULL;
}

/* Give page P back to the pool (or to malloc when the pool is full). */
static void page_free(struct pagecache *pc, struct page *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&pc->pool_lock);
	if (pc->npool < pc->pool_cap) {
		pc->pool[pc->npool++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&pc->pool_lock);
	free(p);
}

/* Give the N pages of P back to the pool with one lock round trip (a writeback batch's). */
static void page_free_many(struct pagecache *pc, struct page **p, size_t n)
{
	size_t k = 0;

	pthread_mutex_lock(&pc->pool_lock);
	for (; k < n && pc->npool < pc->pool_cap; k++)
		pc->pool[pc->npool++] = p[k];
	pthread_mutex_unlock(&pc->pool_lock);
	for (; k < n; k++)
		free(p[k]);
}

/* Pages taken from the pool with one lock round trip, for one write; the rest goes back after. */
struct page_stash {
	struct page *p[64];
	size_t n;
};

/* A page for a write that needs WANT more (from the stash, refilled from the pool, or malloc). */
static struct page *page_stash_get(struct pagecache *pc, struct page_stash *st, uint64_t want)
{
	if (st->n == 0) {
		pthread_mutex_lock(&pc->pool_lock);
		while (st->n < want && st->n < sizeof(st->p) / sizeof(st->p[0]) && pc->npool)
			st->p[st->n++] = pc->pool[--pc->npool];
		pthread_mutex_unlock(&pc->pool_lock);
	}
	return st->n ? st->p[--st->n] : malloc(sizeof(struct page) + pc->cfg.block_size);
}

int pagecache_inode_init(struct pagecache_inode *pi)
{
	int rc;

	memset(pi, 0, sizeof(*pi));
	atomic_init(&pi->wb_err, 0);
	atomic_init(&pi->legacy_err, 0);
	rc = pthread_mutex_init(&pi->lock, NULL);
	if (rc != 0)
		return -rc;
	rc = pthread_cond_init(&pi->wb_done, NULL);
	if (rc != 0)
		pthread_mutex_destroy(&pi->lock);
	return -rc;
}

/*
 * Move page P to state S, keeping the inode's DIRTY and WRITEBACK counts in step. The cache-wide
 * byte counts follow with counts_publish_locked() once per operation (they are atomics every writer
 * and the flusher share: one update per batch, not per page). Caller holds pi->lock.
 */
static void page_set_state_locked(struct pagecache_inode *pi, struct page *p, enum page_state s)
{
	if (p->state == PAGE_DIRTY)
		pi->ndirty--;
	else if (p->state == PAGE_WRITEBACK)
		pi->nwriteback--;
	if (s == PAGE_DIRTY)
		pi->ndirty++;
	else if (s == PAGE_WRITEBACK)
		pi->nwriteback++;
	p->state = s;
}

/* The inode's counts were (NDIRTY0, NWB0) when the operation began: move the cache's by as much. */
static void counts_publish_locked(struct pagecache *pc, struct pagecache_inode *pi, size_t ndirty0,
                                  size_t nwb0)
{
	uint64_t bs = pc->cfg.block_size;

	/* Additions first: the sum (the hard limit's measure) never dips below the truth. */
	if (pi->nwriteback > nwb0)
		atomic_fetch_add(&pc->writeback_bytes, (pi->nwriteback - nwb0) * bs);
	if (pi->ndirty > ndirty0)
		atomic_fetch_add(&pc->dirty_bytes, (pi->ndirty - ndirty0) * bs);
	if (pi->nwriteback < nwb0)
		atomic_fetch_sub(&pc->writeback_bytes, (nwb0 - pi->nwriteback) * bs);
	if (pi->ndirty < ndirty0)
		atomic_fetch_sub(&pc->dirty_bytes, (ndirty0 - pi->ndirty) * bs);
}

/* Free every page; the caller holds pi->lock with no I/O in flight (or owns pi exclusively). */
static bool drop_pages_locked(struct pagecache *pc, struct pagecache_inode *pi)
{
	bool any = pi->npages > 0;
	size_t ndirty0 = pi->ndirty, nwb0 = pi->nwriteback;

	for (size_t i = 0; i < pi->npages; i++) {
		page_set_state_locked(pi, pi->pages[i], PAGE_CLEAN);
		page_free(pc, pi->pages[i]);
	}
	pi->npages = 0;
	counts_publish_locked(pc, pi, ndirty0, nwb0);
	return any;
}

void pagecache_inode_fini(struct pagecache *pc, struct pagecache_inode *pi)
{
	drop_pages_locked(pc, pi);
	free(pi->pages);
	pi->pages = NULL;
	pi->cap = 0;
	pthread_cond_destroy(&pi->wb_done);
	pthread_mutex_destroy(&pi->lock);
}

/* ---- Waiting for writeback I/O ---- */

/*
 * Keep new writeback batches from starting and wait for those in flight (their pages are then
 * out of WRITEBACK). Caller holds pi->lock; undo with io_resume_locked().
 */
static void io_quiesce_locked(struct pagecache_inode *pi)
{
	pi->wb_blocked++;
	while (pi->io_inflight > 0)
		pthread_cond_wait(&pi->wb_done, &pi->lock);
}

/* The end of io_quiesce_locked(): batches may start again once nobody blocks them. */
static void io_resume_locked(struct pagecache_inode *pi)
{
	if (--pi->wb_blocked == 0)
		pthread_cond_broadcast(&pi->wb_done);
}

void pagecache_writeback_block(struct pagecache *pc, struct pagecache_inode *pi)
{
	(void)pc;
	pthread_mutex_lock(&pi->lock);
	io_quiesce_locked(pi);
	pthread_mutex_unlock(&pi->lock);
}

void pagecache_writeback_unblock(struct pagecache *pc, struct pagecache_inode *pi)
{
	(void)pc;
	pthread_mutex_lock(&pi->lock);
	io_resume_locked(pi);
	pthread_mutex_unlock(&pi->lock);
}

/* ---- Page lookup in the sorted array ---- */

/* Position of the first page with index >= IDX. */
static size_t page_lower_bound(const struct pagecache_inode *pi, uint64_t idx)
{
	size_t lo = 0, hi = pi->npages;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pi->pages[mid]->index < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Insert page P at position POS. Returns 0 or -ENOMEM. */
static int page_insert_at(struct pagecache_inode *pi, size_t pos, struct page *p)
{
	if (pi->npages == pi->cap) {
		size_t ncap = pi->cap ? pi->cap * 2 : 16;
		struct page **np = realloc(pi->pages, ncap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		pi->pages = np;
		pi->cap = ncap;
	}
	memmove(&pi->pages[pos + 1], &pi->pages[pos], (pi->npages - pos) * sizeof(*pi->pages));
	pi->pages[pos] = p;
	pi->npages++;
	return 0;
}

/*
 * Position of the first page in WRITEBACK with index in [FIRST, LAST], or pi->npages when there is
 * none. Caller holds pi->lock.
 */
static size_t page_find_writeback(const struct pagecache_inode *pi, uint64_t first, uint64_t last)
{
	size_t pos;

	if (pi->nwriteback == 0)
		return pi->npages;
	for (pos = page_lower_bound(pi, first); pos < pi->npages && pi->pages[pos]->index <= last; pos++)
		if (pi->pages[pos]->state == PAGE_WRITEBACK)
			return pos;
	return pi->npages;
}

/*
 * Wait until no page with index in [FIRST, LAST] is under writeback, page by page in index order
 * (a page picked again after this walk passed it is not waited for). Caller holds pi->lock.
 */
static void wait_on_writeback_locked(struct pagecache_inode *pi, uint64_t first, uint64_t last)
{
	size_t pos;

	while ((pos = page_find_writeback(pi, first, last)) < pi->npages) {
		first = pi->pages[pos]->index;
		pthread_cond_wait(&pi->wb_done, &pi->lock);
	}
}

/* Read up to LEN bytes at OFF from FD, zero-filling past end of file. Returns 0 or -errno. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	memset((uint8_t *)buf + done, 0, len - done);
	return 0;
}

/* Make pi->size valid from the backing file. Returns 0 or -errno. */
static int ensure_size_locked(struct pagecache_inode *pi, int fd)
{
	struct stat st;

	if (pi->size_valid)
		return 0;
	if (fstat(fd, &st) != 0)
		return -errno;
	pi->size = (uint64_t)st.st_size;
	pi->size_valid = true;
	return 0;
}

/* ---- Read and write ---- */

ssize_t pagecache_read(struct pagecache *pc, struct pagecache_inode *pi, int fd, void *buf, size_t len,
                       uint64_t off)
{
	uint64_t bs = pc->cfg.block_size, end;
	ssize_t ret;
	int rc;

	pthread_mutex_lock(&pi->lock);
	if (!pi->size_valid && pi->npages == 0) {
		/* Nothing cached: the disk is the truth. */
		do
			ret = pread(fd, buf, len, (off_t)off);
		while (ret < 0 && errno == EINTR);
		if (ret < 0)
			ret = -errno;
		goto out;
	}
	rc = ensure_size_locked(pi, fd);
	if (rc < 0) {
		ret = rc;
		goto out;
	}
	if (off >= pi->size) {
		ret = 0;
		goto out;
	}
	if (len > pi->size - off)
		len = (size_t)(pi->size - off);
	end = off + len;
	rc = pread_full(fd, buf, len, off);
	if (rc < 0) {
		ret = rc;
		goto out;
	}
	for (size_t i = page_lower_bound(pi, off / bs); i < pi->npages; i++) {
		struct page *p = pi->pages[i];
		uint64_t pstart = p->index * bs, from, to;

		if (pstart >= end)
			break;
		from = pstart > off ? pstart : off;
		to = pstart + bs < end ? pstart + bs : end;
		memcpy((uint8_t *)buf + (from - off), p->data + (from - pstart), to - from);
	}
	ret = (ssize_t)len;
out:
	pthread_mutex_unlock(&pi->lock);
	return ret;
}

ssize_t pagecache_write(struct pagecache *pc, struct pagecache_inode *pi, int fd, const void *buf, size_t len,
                        uint64_t off)
{
	uint64_t bs = pc->cfg.block_size, end = off + len;
	bool was_clean;
	ssize_t ret = (ssize_t)len;
	size_t ndirty0, nwb0;
	struct page_stash stash = {.n = 0};
	int rc;

	if (len == 0)
		return 0;
	pthread_mutex_lock(&pi->lock);
	ndirty0 = pi->ndirty;
	nwb0 = pi->nwriteback;
	/* Stable pages: a page whose writeback is in flight is not changed under it; wait for it. */
	wait_on_writeback_locked(pi, off / bs, (end - 1) / bs);
	rc = ensure_size_locked(pi, fd);
	if (rc < 0) {
		ret = rc;
		goto out;
	}
	was_clean = pi->ndirty == 0;
	for (uint64_t idx = off / bs; idx * bs < end; idx++) {
		uint64_t pstart = idx * bs;
		uint64_t from = pstart > off ? pstart : off;
		uint64_t to = pstart + bs < end ? pstart + bs : end;
		size_t pos = page_lower_bound(pi, idx);
		struct page *p = pos < pi->npages && pi->pages[pos]->index == idx ? pi->pages[pos] : NULL;

		if (!p) {
			p = page_stash_get(pc, &stash, (end - pstart + bs - 1) / bs);
			if (!p) {
				ret = -ENOMEM;
				goto out;
			}
			p->index = idx;
			p->state = PAGE_CLEAN; /* made DIRTY below, once it is in the array */
			if (from != pstart || to != pstart + bs) {
				/* Partly covered: start from what the file holds (zeros past its end). */
				rc = pread_full(fd, p->data, bs, pstart);
				if (rc < 0) {
					page_free(pc, p);
					ret = rc;
					goto out;
				}
			}
			rc = page_insert_at(pi, pos, p);
			if (rc < 0) {
				page_free(pc, p);
				ret = rc;
				goto out;
			}
		}
		page_set_state_locked(pi, p, PAGE_DIRTY);
		memcpy(p->data + (from - pstart), (const uint8_t *)buf + (from - off), to - from);
		if (to > pi->size)
			pi->size = to;
	}
	if (was_clean && pi->ndirty > 0)
		pi->dirtied_when = pagecache_now_ns();
	if (clock_gettime(CLOCK_REALTIME, &pi->mtime) == 0)
		pi->mtime_valid = true;
out:
	counts_publish_locked(pc, pi, ndirty0, nwb0);
	pthread_mutex_unlock(&pi->lock);
	page_free_many(pc, stash.p, stash.n);
	/* Over the background threshold: wake the flusher (once until it rearms), do no I/O here. */
	if (ret > 0 && pc->cfg.wake_background && pagecache_over_background(pc) &&
	    !atomic_exchange(&pc->background_woken, true))
		pc->cfg.wake_background(pc->cfg.wake_arg);
	return ret;
}

/*
 * cached_pages_overlay - lay BUF (or zeros when BUF is NULL) over the cached pages that overlap
 * [off, end), leaving their state alone; pages not in the cache are not created. Caller holds pi->lock.
 */
static void cached_pages_overlay(struct pagecache_inode *pi, uint64_t bs, uint64_t off, uint64_t end,
                                 const void *buf)
{
	for (size_t i = page_lower_bound(pi, off / bs); i < pi->npages; i++) {
		struct page *p = pi->pages[i];
		uint64_t pstart = p->index * bs, from, to;

		if (pstart >= end)
			break;
		from = pstart > off ? pstart : off;
		to = pstart + bs < end ? pstart + bs : end;
		if (buf)
			memcpy(p->data + (from - pstart), (const uint8_t *)buf + (from - off), to - from);
		else
			memset(p->data + (from - pstart), 0, to - from);
	}
}

void pagecache_write_through(struct pagecache *pc, struct pagecache_inode *pi, const void *buf, size_t len,
                             uint64_t off)
{
	uint64_t bs = pc->cfg.block_size, end = off + len;

	pthread_mutex_lock(&pi->lock);
	io_quiesce_locked(pi);
	cached_pages_overlay(pi, bs, off, end, buf);
	if (pi->size_valid && end > pi->size)
		pi->size = end;
	io_resume_locked(pi);
	pthread_mutex_unlock(&pi->lock);
}

/* ---- Errors ---- */

void pagecache_record_error(struct pagecache *pc, const char *path, const char *op, int err, int64_t block)
{
	struct pagecache_error *e;

	pthread_mutex_lock(&pc->log_lock);
	if (pc->nerrors == PAGECACHE_MAX_ERRORS) {
		memmove(&pc->errors[0], &pc->errors[1], (PAGECACHE_MAX_ERRORS - 1) * sizeof(*pc->errors));
		pc->nerrors--;
	}
	e = &pc->errors[pc->nerrors++];
	snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
	e->op = op;
	e->err = err;
	e->block = block;
	pc->errors_total++;
	pthread_mutex_unlock(&pc->log_lock);
	fprintf(stderr, "fsynclab: %s error %s on '%s' block %lld\n", op, errname_str(err), path ? path : "",
	        (long long)block);
}

/* Record a writeback error ERR (negative) on the inode, as the profile and error mode say. */
static void note_writeback_error_locked(struct pagecache *pc, struct pagecache_inode *pi, int err)
{
	if (pc->cfg.profile->report_on_next_fsync) {
		pi->deferred_err = err;
		return;
	}
	if (pc->cfg.legacy_errors)
		errseq_legacy_set(&pi->legacy_err, err);
	else
		errseq_set(&pi->wb_err, err);
}

void pagecache_fsync_begin(struct pagecache *pc, struct pagecache_inode *pi)
{
	pthread_mutex_lock(&pi->lock);
	if (pi->deferred_err) {
		if (pc->cfg.legacy_errors)
			errseq_legacy_set(&pi->legacy_err, pi->deferred_err);
		else
			errseq_set(&pi->wb_err, pi->deferred_err);
		pi->deferred_err = 0;
	}
	pthread_mutex_unlock(&pi->lock);
}

uint32_t pagecache_file_sample(struct pagecache *pc, struct pagecache_inode *pi)
{
	(void)pc;
	return errseq_sample(&pi->wb_err);
}

int pagecache_file_check(struct pagecache *pc, struct pagecache_inode *pi, uint32_t *since)
{
	if (pc->cfg.legacy_errors)
		return errseq_legacy_test_and_clear(&pi->legacy_err);
	return errseq_check_and_advance(&pi->wb_err, since);
}

/* ---- Writeback ---- */

/* The most pages one pwritev() carries (1 MiB of 4 KiB pages; IOV_MAX is 1024). */
#define WB_RUN_MAX 256

/*
 * A writeback batch: what one trip outside the inode's lock writes. Its pages are picked under the
 * lock and put under WRITEBACK, which keeps them in the array, unchanged, until the batch finishes.
 */
struct wb_batch {
	struct page *run[WB_RUN_MAX]; /* contiguous pages no rule fired on: one pwritev() */
	struct iovec iov[WB_RUN_MAX];
	size_t nrun;
	uint64_t off;          /* byte offset of run[0] */
	struct page *fx;       /* the page after the run whose rule fired, written alone, or NULL */
	size_t fx_len;         /* its bytes within the file */
	struct fault_hit hit;  /* the rule that fired on fx */
	bool need_stamp;       /* the inode had no mtime of its own: keep the backing file's */
	struct timespec stamp; /* that mtime, read before the I/O */
	bool stamp_valid;
	int run_rc, fx_rc; /* the I/O's outcome: 0 or -errno */
	bool fx_diverged;  /* fx was written with a data effect */
};

/*
 * The fate of page P (under writeback) whose writeback failed with ERR (negative). Returns true
 * when the page stays cached. Caller holds pi->lock.
 */
static bool page_failed_locked(struct pagecache *pc, struct pagecache_inode *pi, struct page *p, int err,
                               const char *path, struct pagecache_wb_result *res, uint64_t *grow_to)
{
	uint64_t bs = pc->cfg.block_size;
	uint64_t pend = p->index * bs + bs;

	res->failed++;
	note_writeback_error_locked(pc, pi, err);
	pagecache_record_error(pc, path, "writeback", -err, (int64_t)p->index);
	if (pc->cfg.profile->size_persists_on_failure && pi->size_valid) {
		uint64_t end = pend < pi->size ? pend : pi->size;

		if (end > *grow_to)
			*grow_to = end;
	}
	switch (pc->cfg.profile->page_fate) {
	case PAGE_FATE_KEEP_DIRTY:
		page_set_state_locked(pi, p, PAGE_DIRTY);
		return true;
	case PAGE_FATE_FAILED_CLEAN:
		page_set_state_locked(pi, p, PAGE_FAILED);
		return true;
	case PAGE_FATE_REVERT:
		page_set_state_locked(pi, p, PAGE_FAILED); /* dropped by the caller */
		if (!res->reverted || p->index * bs < res->revert_start)
			res->revert_start = p->index * bs;
		if (!res->reverted || pend > res->revert_end)
			res->revert_end = pend;
		res->reverted = true;
		return false;
	}
	return true;
}

/*
 * A page that reached the disk: dirty no more; kept (DIVERGED) only if the disk differs from it.
 * Returns true when the page stays cached. Caller holds pi->lock.
 */
static bool page_written_locked(struct pagecache_inode *pi, struct page *p, bool diverged,
                                struct pagecache_wb_result *res)
{
	res->written++;
	page_set_state_locked(pi, p, diverged ? PAGE_DIVERGED : PAGE_CLEAN);
	return diverged;
}

/* Bytes of page P that belong to the file (the last page is cut at the size). */
static size_t page_len_locked(struct pagecache *pc, struct pagecache_inode *pi, struct page *p)
{
	uint64_t bs = pc->cfg.block_size, pstart = p->index * bs;

	if (!pi->size_valid || pi->size >= pstart + bs)
		return bs;
	return pi->size > pstart ? (size_t)(pi->size - pstart) : 0;
}

/* Take the page at position POS out of the array and free it. Caller holds pi->lock. */
static void page_remove_at(struct pagecache *pc, struct pagecache_inode *pi, size_t pos)
{
	page_free(pc, pi->pages[pos]);
	memmove(&pi->pages[pos], &pi->pages[pos + 1], (pi->npages - pos - 1) * sizeof(*pi->pages));
	pi->npages--;
}

/*
 * wb_pick_locked - the next batch of PI's DIRTY pages with index in [*NEXT, LAST]: a run of
 * contiguous pages that no `writeback` rule fires on and, possibly ending it, one page whose rule
 * fired. Rules are asked page by page in index order, each page once. The pages go under
 * WRITEBACK; *NEXT moves past them. Returns false when no DIRTY page is left in range. Caller
 * holds pi->lock.
 */
static bool wb_pick_locked(struct pagecache *pc, struct pagecache_inode *pi, const char *path, uint64_t *next,
                           uint64_t last, struct wb_batch *b, struct pagecache_wb_result *res)
{
	uint64_t bs = pc->cfg.block_size;
	size_t pos = page_lower_bound(pi, *next), ndirty0 = pi->ndirty, nwb0 = pi->nwriteback;

	b->nrun = 0;
	b->fx = NULL;
	while (pos < pi->npages && pi->pages[pos]->index <= last) {
		struct page *p = pi->pages[pos];
		uint64_t pstart = p->index * bs;
		size_t plen;

		if (p->state != PAGE_DIRTY) {
			pos++;
			continue;
		}
		plen = page_len_locked(pc, pi, p);
		if (plen == 0) {
			/* Wholly past the end of the file (truncated): nothing to write. */
			page_written_locked(pi, p, false, res);
			page_remove_at(pc, pi, pos);
			continue;
		}
		/* Not contiguous with the run (or the run is full): it starts the next batch. */
		if (b->nrun && (b->off + b->nrun * bs != pstart || b->nrun == WB_RUN_MAX ||
		                b->iov[b->nrun - 1].iov_len != bs))
			break;
		page_set_state_locked(pi, p, PAGE_WRITEBACK);
		pos++;
		if (!pc->cfg.faults ||
		    !fault_table_check(pc->cfg.faults, FAULT_OP_WRITEBACK, path, pstart, plen, &b->hit)) {
			if (!b->nrun)
				b->off = pstart;
			b->run[b->nrun] = p;
			b->iov[b->nrun].iov_base = p->data;
			b->iov[b->nrun].iov_len = plen;
			b->nrun++;
			continue;
		}
		b->fx = p;
		b->fx_len = plen;
		break;
	}
	*next = pos < pi->npages ? pi->pages[pos]->index : last + 1;
	counts_publish_locked(pc, pi, ndirty0, nwb0);
	if (!b->nrun && !b->fx)
		return false;
	b->need_stamp = !pi->mtime_valid;
	return true;
}

/* wb_io - the batch's I/O, without the inode's lock: the run with one pwritev(), then fx's effect. */
static void wb_io(struct pagecache *pc, int fd, struct wb_batch *b)
{
	b->run_rc = 0;
	b->fx_rc = 0;
	b->fx_diverged = false;
	b->stamp_valid = false;
	if (b->need_stamp) {
		struct stat st;

		b->stamp_valid = fstat(fd, &st) == 0;
		if (b->stamp_valid)
			b->stamp = st.st_mtim;
	}
	if (b->nrun) {
		size_t total = 0;
		ssize_t n;

		for (size_t k = 0; k < b->nrun; k++)
			total += b->iov[k].iov_len;
		do
			n = pwritev(fd, b->iov, (int)b->nrun, (off_t)b->off);
		while (n < 0 && errno == EINTR);
		b->run_rc = n < 0 ? -errno : (size_t)n < total ? -EIO : 0;
	}
	if (b->fx) {
		uint64_t pstart = b->fx->index * pc->cfg.block_size;
		struct effect_plan plan;
		int rc =
		    effect_plan_write(&b->hit, b->fx->data, b->fx_len, pstart, pc->cfg.block_size, &plan);

		if (rc == 0 && plan.len)
			rc = io_pwrite_all(fd, plan.data, plan.len, plan.offset);
		b->fx_rc = rc;
		b->fx_diverged = rc == 0 && plan.diverged;
		effect_plan_release(&plan);
	}
}

/*
 * wb_finish_locked - give each page of the batch its fate (written: dropped or DIVERGED; failed:
 * the profile's), drop what the disk now holds, stamp the mtime, persist a failed append's size
 * (ext4/xfs), and end the batch. Returns the batch's first error or 0. Caller holds pi->lock.
 */
static int wb_finish_locked(struct pagecache *pc, struct pagecache_inode *pi, int fd, const char *path,
                            struct wb_batch *b, struct pagecache_wb_result *res)
{
	uint64_t grow_to = 0;
	unsigned written = res->written;
	size_t ndirty0 = pi->ndirty, nwb0 = pi->nwriteback, nfree = 0;
	int first_err = b->run_rc ? b->run_rc : b->fx_rc;

	if (b->nrun) {
		/* The run is contiguous in index, so in the array too: compact it in place. */
		size_t pos = page_lower_bound(pi, b->run[0]->index), j = pos;

		for (size_t k = 0; k < b->nrun; k++) {
			struct page *p = b->run[k];
			bool keep = b->run_rc < 0
			                ? page_failed_locked(pc, pi, p, b->run_rc, path, res, &grow_to)
			                : page_written_locked(pi, p, false, res);

			if (keep)
				pi->pages[j++] = p;
			else
				b->run[nfree++] = p; /* freed below, in one go */
		}
		memmove(&pi->pages[j], &pi->pages[pos + b->nrun],
		        (pi->npages - pos - b->nrun) * sizeof(*pi->pages));
		pi->npages -= pos + b->nrun - j;
		page_free_many(pc, b->run, nfree);
	}
	if (b->fx) {
		bool keep = b->fx_rc < 0 ? page_failed_locked(pc, pi, b->fx, b->fx_rc, path, res, &grow_to)
		                         : page_written_locked(pi, b->fx, b->fx_diverged, res);

		if (!keep)
			page_remove_at(pc, pi, page_lower_bound(pi, b->fx->index));
	}

	/*
	 * The inode's mtime reaches the disk with the data: the time of the last write, or the mtime
	 * the file had (a writeback is not a modification, and the kernel would see it as one).
	 */
	if (res->written > written && (pi->mtime_valid || b->stamp_valid)) {
		struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, pi->mtime_valid ? pi->mtime : b->stamp};

		if (futimens(fd, times) != 0)
			pagecache_record_error(pc, path, "writeback", errno, -1);
	}

	/* ext4/xfs persist the new size even though the data did not make it: a hole remains. */
	if (grow_to) {
		struct stat st;

		if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < grow_to &&
		    ftruncate(fd, (off_t)grow_to) != 0)
			pagecache_record_error(pc, path, "writeback", errno, -1);
	}
	if (pi->npages == 0 && pi->size_valid) {
		struct stat st;

		/* Everything is on disk: the disk's size is the size again (unless btrfs lost an append). */
		if (fstat(fd, &st) == 0 && (uint64_t)st.st_size >= pi->size)
			pi->size_valid = false;
	}
	counts_publish_locked(pc, pi, ndirty0, nwb0);
	pi->io_inflight--;
	pthread_cond_broadcast(&pi->wb_done);
	if (atomic_load(&pc->throttled) > 0) {
		/* Writers wait at the dirty limit: the counts went down, let them look. */
		pthread_mutex_lock(&pc->balance_lock);
		pthread_cond_broadcast(&pc->balance_cond);
		pthread_mutex_unlock(&pc->balance_lock);
	}
	return first_err;
}

int pagecache_writeback_inode(struct pagecache *pc, struct pagecache_inode *pi, int fd, const char *path,
                              struct pagecache_wb_result *res)
{
	struct pagecache_wb_result local;
	struct wb_batch *b = NULL;
	uint64_t next = 0, last;
	int first_err = 0, rc;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&pi->lock);
	if (pi->ndirty == 0 && pi->nwriteback == 0)
		goto out;
	/* Pages dirtied later past the last page now are not this call's: no livelock behind a writer. */
	last = pi->pages[pi->npages - 1]->index;
	if (pi->ndirty > 0) {
		b = malloc(sizeof(*b));
		if (!b) {
			first_err = -ENOMEM;
			goto out;
		}
	}
	while (b) {
		while (pi->wb_blocked > 0)
			pthread_cond_wait(&pi->wb_done, &pi->lock);
		if (!wb_pick_locked(pc, pi, path, &next, last, b, res))
			break;
		pi->io_inflight++;
		pthread_mutex_unlock(&pi->lock);
		wb_io(pc, fd, b);
		pthread_mutex_lock(&pi->lock);
		rc = wb_finish_locked(pc, pi, fd, path, b, res);
		if (rc < 0 && !first_err)
			first_err = rc;
	}
	/* Pages other callers had under writeback: their errors are on errseq once this returns. */
	wait_on_writeback_locked(pi, 0, last);
	if (pi->ndirty > 0)
		pi->dirtied_when = pagecache_now_ns();
out:
	pthread_mutex_unlock(&pi->lock);
	free(b);
	return first_err;
}

/* ---- Size changes ---- */

void pagecache_truncate(struct pagecache *pc, struct pagecache_inode *pi, uint64_t newsize)
{
	uint64_t bs = pc->cfg.block_size;
	size_t j = 0;

	size_t ndirty0, nwb0;

	pthread_mutex_lock(&pi->lock);
	io_quiesce_locked(pi);
	ndirty0 = pi->ndirty;
	nwb0 = pi->nwriteback;
	for (size_t i = 0; i < pi->npages; i++) {
		struct page *p = pi->pages[i];
		uint64_t pstart = p->index * bs;

		if (pstart >= newsize) {
			page_set_state_locked(pi, p, PAGE_CLEAN);
			page_free(pc, p);
			continue;
		}
		if (pstart + bs > newsize)
			memset(p->data + (newsize - pstart), 0, pstart + bs - newsize);
		pi->pages[j++] = p;
	}
	pi->npages = j;
	counts_publish_locked(pc, pi, ndirty0, nwb0);
	if (pi->size_valid)
		pi->size = newsize;
	io_resume_locked(pi);
	pthread_mutex_unlock(&pi->lock);
}

void pagecache_zero_range(struct pagecache *pc, struct pagecache_inode *pi, uint64_t off, uint64_t len)
{
	uint64_t bs = pc->cfg.block_size, end = off + len;

	pthread_mutex_lock(&pi->lock);
	io_quiesce_locked(pi);
	cached_pages_overlay(pi, bs, off, end, NULL);
	io_resume_locked(pi);
	pthread_mutex_unlock(&pi->lock);
}

void pagecache_note_size(struct pagecache_inode *pi, uint64_t size)
{
	pthread_mutex_lock(&pi->lock);
	if (pi->size_valid && size > pi->size)
		pi->size = size;
	pthread_mutex_unlock(&pi->lock);
}

bool pagecache_mtime(struct pagecache_inode *pi, struct timespec *mtime)
{
	bool valid;

	pthread_mutex_lock(&pi->lock);
	valid = pi->mtime_valid;
	if (valid)
		*mtime = pi->mtime;
	pthread_mutex_unlock(&pi->lock);
	return valid;
}

void pagecache_forget_mtime(struct pagecache_inode *pi)
{
	pthread_mutex_lock(&pi->lock);
	pi->mtime_valid = false;
	pthread_mutex_unlock(&pi->lock);
}

uint64_t pagecache_size(struct pagecache_inode *pi, uint64_t backing_size)
{
	uint64_t size = backing_size;

	pthread_mutex_lock(&pi->lock);
	if (pi->size_valid && pi->size > size)
		size = pi->size;
	pthread_mutex_unlock(&pi->lock);
	return size;
}

uint64_t pagecache_size_fd(struct pagecache_inode *pi, int fd, uint64_t backing_size)
{
	uint64_t size = backing_size;
	struct stat st;

	pthread_mutex_lock(&pi->lock);
	if (pi->size_valid) {
		if (pi->size > size)
			size = pi->size;
	} else if (fstat(fd, &st) == 0) {
		size = (uint64_t)st.st_size;
	}
	pthread_mutex_unlock(&pi->lock);
	return size;
}

/* ---- Power cut, queries, status ---- */

bool pagecache_drop_all(struct pagecache *pc, struct pagecache_inode *pi)
{
	bool any;

	pthread_mutex_lock(&pi->lock);
	io_quiesce_locked(pi);
	any = drop_pages_locked(pc, pi) || pi->size_valid;
	pi->size_valid = false;
	pi->mtime_valid = false;
	pi->deferred_err = 0;
	io_resume_locked(pi);
	pthread_mutex_unlock(&pi->lock);
	return any;
}

bool pagecache_has_pages(struct pagecache_inode *pi)
{
	bool any;

	pthread_mutex_lock(&pi->lock);
	any = pi->npages > 0 || pi->size_valid;
	pthread_mutex_unlock(&pi->lock);
	return any;
}

bool pagecache_block_cached(struct pagecache_inode *pi, uint64_t index)
{
	bool cached;

	pthread_mutex_lock(&pi->lock);
	size_t pos = page_lower_bound(pi, index);
	cached = pos < pi->npages && pi->pages[pos]->index == index;
	pthread_mutex_unlock(&pi->lock);
	return cached;
}

bool pagecache_has_dirty(struct pagecache_inode *pi, int64_t now_ns, int64_t age_ns)
{
	bool due;

	pthread_mutex_lock(&pi->lock);
	due = (pi->ndirty > 0 && now_ns - pi->dirtied_when >= age_ns) || (age_ns == 0 && pi->nwriteback > 0);
	pthread_mutex_unlock(&pi->lock);
	return due;
}

int64_t pagecache_dirtied_when(struct pagecache_inode *pi)
{
	int64_t when;

	pthread_mutex_lock(&pi->lock);
	when = pi->ndirty > 0 ? pi->dirtied_when : INT64_MAX;
	pthread_mutex_unlock(&pi->lock);
	return when;
}

size_t pagecache_writeback_pages(struct pagecache_inode *pi)
{
	size_t n;

	pthread_mutex_lock(&pi->lock);
	n = pi->nwriteback;
	pthread_mutex_unlock(&pi->lock);
	return n;
}

bool pagecache_over_limit(struct pagecache *pc)
{
	return atomic_load(&pc->dirty_bytes) + atomic_load(&pc->writeback_bytes) > pc->cfg.dirty_limit;
}

/* Bytes in DIRTY and WRITEBACK pages, all inodes. */
static uint64_t unwritten_bytes(struct pagecache *pc)
{
	return atomic_load(&pc->dirty_bytes) + atomic_load(&pc->writeback_bytes);
}

bool pagecache_balance_dirty(struct pagecache *pc)
{
	bool under = false;

	if (!pagecache_over_limit(pc))
		return true;
	if (!pc->cfg.wake_background)
		return false;
	atomic_store(&pc->background_woken, true);
	pc->cfg.wake_background(pc->cfg.wake_arg);
	atomic_fetch_add(&pc->throttled, 1);
	pthread_mutex_lock(&pc->balance_lock);
	for (;;) {
		uint64_t before = unwritten_bytes(pc);
		struct timespec until;
		int rc = 0;

		if (clock_gettime(CLOCK_REALTIME, &until) != 0)
			break;
		until.tv_nsec += 200000000;
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		/* Checked under balance_lock, which a finishing batch takes to broadcast: no lost wake-up. */
		while (!(under = !pagecache_over_limit(pc)) && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&pc->balance_cond, &pc->balance_lock, &until);
		if (under || unwritten_bytes(pc) >= before)
			break; /* under the limit, or no progress in 200 ms */
	}
	pthread_mutex_unlock(&pc->balance_lock);
	atomic_fetch_sub(&pc->throttled, 1);
	return under;
}

bool pagecache_over_background(struct pagecache *pc)
{
	return atomic_load(&pc->dirty_bytes) > pc->cfg.dirty_background;
}

void pagecache_background_rearm(struct pagecache *pc)
{
	atomic_store(&pc->background_woken, false);
}

json_t *pagecache_inode_status_json(struct pagecache_inode *pi, uint64_t backing_size)
{
	json_t *obj = NULL, *dirty, *failed;

	pthread_mutex_lock(&pi->lock);
	if (pi->npages == 0)
		goto out;
	obj = json_object();
	dirty = json_array();
	failed = json_array();
	if (!obj || !dirty || !failed) {
		json_decref(obj);
		json_decref(dirty);
		json_decref(failed);
		obj = NULL;
		goto out;
	}
	for (size_t i = 0; i < pi->npages; i++) {
		struct page *p = pi->pages[i];

		if (p->state == PAGE_DIRTY || p->state == PAGE_WRITEBACK) /* not on disk yet */
			json_array_append_new(dirty, json_integer((json_int_t)p->index));
		else if (p->state == PAGE_FAILED)
			json_array_append_new(failed, json_integer((json_int_t)p->index));
	}
	json_object_set_new(
	    obj, "size",
	    json_integer((json_int_t)(pi->size_valid && pi->size > backing_size ? pi->size : backing_size)));
	json_object_set_new(obj, "dirty_pages", dirty);
	json_object_set_new(obj, "failed_pages", failed);
out:
	pthread_mutex_unlock(&pi->lock);
	return obj;
}

json_t *pagecache_errors_json(struct pagecache *pc)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	pthread_mutex_lock(&pc->log_lock);
	for (size_t i = 0; i < pc->nerrors; i++) {
		const struct pagecache_error *e = &pc->errors[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "path", e->path, "op", e->op, "errno",
		                      errname_str(e->err), "block", (json_int_t)e->block);

		if (o)
			json_array_append_new(arr, o);
	}
	pthread_mutex_unlock(&pc->log_lock);
	return arr;
}
