/*
 * ops_write.c — the FUSE operations that change data or make it durable: write (the `write` rules
 * plan the bytes that land, effects.c; with --cache emulate they dirty pages, and a writer over the
 * dirty limit writes back itself), fsync (the call's rules, writeback, journal commit, backing
 * fsync, errseq check, in that order) and fallocate. Also the writeback helpers the rename and the
 * whole-filesystem actions share: lo_open_for_writeback, lo_notify_revert.
 */
#include "ops_internal.h"
#include "io_full.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "effects.h"

/* Write PLAN to FD, all of it. Returns 0 or -errno. */
static int write_plan(int fd, const struct effect_plan *plan)
{
	return io_pwrite_all(fd, plan->data, plan->len, plan->offset);
}

/* Open INODE's backing file for writeback (for callers without a writable fd). -errno on failure. */
int lo_open_for_writeback(struct lo_inode *inode)
{
	char proc[64];
	int fd;

	lo_proc_path(inode, proc, sizeof(proc));
	fd = open(proc, O_WRONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Invalidate the kernel's cache of pages a btrfs-style revert dropped. */
void lo_notify_revert(struct fsl_fs *fs, struct lo_inode *inode, const struct pagecache_wb_result *res)
{
	int rc;

	if (!res->reverted || !fs->se)
		return;
	rc = fuse_lowlevel_notify_inval_inode(fs->se, lo_nodeid(fs, inode), (off_t)res->revert_start,
	                                      (off_t)(res->revert_end - res->revert_start));
	if (rc < 0 && rc != -ENOENT)
		fprintf(stderr, "fsynclab: invalidate after revert: %s\n", strerror(-rc));
}

void lo_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
              struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;
	struct lo_inode *inode = lo_inode_of(req, ino);
	struct fault_hit hit;
	struct effect_plan plan;
	char path[PATH_MAX];
	ssize_t n;
	int rc;

	rc = fsl_check_writable(fs);
	if (rc == 0)
		rc = lo_kill_suidgid(fs, req, inode);
	if (rc < 0)
		goto out_err;
	lo_path(fs, inode, path, sizeof(path));
	rc = effect_plan_write(
	    fault_table_check(fs->faults, FAULT_OP_WRITE, path, (uint64_t)off, size, &hit) ? &hit : NULL, buf,
	    size, (uint64_t)off, fs->block_size, &plan);
	if (rc < 0)
		goto out_err;
	if (!fs->cache_emulate) {
		rc = write_plan(file->fd, &plan);
	} else if (file->direct) {
		/* Straight to the backing file, no writeback landing behind it; cached pages follow. */
		pagecache_writeback_block(&fs->pc, &inode->pc);
		rc = write_plan(file->fd, &plan);
		if (rc == 0)
			pagecache_write_through(&fs->pc, &inode->pc, plan.data, plan.len, plan.offset);
		pagecache_writeback_unblock(&fs->pc, &inode->pc);
	} else if (plan.len) {
		n = pagecache_write(&fs->pc, &inode->pc, file->fd, plan.data, plan.len, plan.offset);
		rc = n < 0 ? (int)n : 0;
	}
	effect_plan_release(&plan);
	if (rc < 0)
		goto out_err;
	if (fs->cache_emulate && !pagecache_balance_dirty(&fs->pc)) {
		/*
		 * Dirty and writeback pages over the hard limit, and the background flusher makes no
		 * progress (or there is none): the writer pays for writeback itself. Below the limit the
		 * writer does not wait; at it, it waits for the flusher (balance_dirty_pages()).
		 */
		struct pagecache_wb_result res;
		int wfd = file->writable ? file->fd : lo_open_for_writeback(inode);

		if (wfd >= 0) {
			if (pagecache_writeback_inode(&fs->pc, &inode->pc, wfd, path, &res) < 0)
				fprintf(stderr, "fsynclab: dirty-limit writeback of '%s' failed\n", path);
			if (wfd != file->fd)
				io_close_logged(wfd);
			/* No kernel invalidation here: the kernel holds this write's pages locked. */
		}
	}
	fuse_reply_write(req, size);
	return;
out_err:
	fuse_reply_err(req, -rc);
}

/*
 * fsync, in order: the call's own rules (`fsync`/`fdatasync`: a failing call still does its work),
 * writeback of the dirty pages (`writeback` rules, page fate per profile), the journal commit
 * (`journal` rules), the real fsync of the backing file, then the errseq check: the first error
 * in that order is returned.
 */
void lo_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;
	struct lo_inode *inode = lo_inode_of(req, ino);
	struct pagecache_wb_result res = {0};
	char path[PATH_MAX];
	int call_rc, journal_rc = 0, sync_rc = 0, wb_rc = 0, state;
	bool persisted = true;

	if (fsl_check_alive(fs) < 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	lo_path(fs, inode, path, sizeof(path));
	call_rc = lo_fault_call(fs, datasync ? FAULT_OP_FDATASYNC : FAULT_OP_FSYNC, path, 0, 0);
	state = atomic_load(&fs->state);
	if (fs->cache_emulate) {
		pagecache_fsync_begin(&fs->pc, &inode->pc);
		if (state == FS_STATE_OK) {
			int wfd = file->writable ? file->fd : lo_open_for_writeback(inode);

			if (wfd < 0) {
				sync_rc = wfd;
			} else {
				if (pagecache_writeback_inode(&fs->pc, &inode->pc, wfd, path, &res) < 0)
					fprintf(stderr, "fsynclab: fsync writeback of '%s' failed\n", path);
				if (wfd != file->fd)
					io_close_logged(wfd);
			}
			lo_notify_revert(fs, inode, &res);
		}
	}
	if (state == FS_STATE_OK)
		journal_rc = lo_journal_commit(fs, path, &persisted);
	else if (state == FS_STATE_READ_ONLY)
		journal_rc = -EIO; /* the journal is aborted: nothing can be committed */
	if (state == FS_STATE_OK && journal_rc == 0 && persisted)
		sync_rc = lo_ns_commit(fs, inode, path, false);
	if (fs->backing_sync && (datasync ? fdatasync(file->fd) : fsync(file->fd)) != 0) {
		sync_rc = -errno;
		pagecache_record_error(&fs->pc, path, "sync", errno, -1);
	}
	if (fs->cache_emulate)
		wb_rc = pagecache_file_check(&fs->pc, &inode->pc, &file->wb_since);
	fuse_reply_err(req, -(call_rc ? call_rc : journal_rc ? journal_rc : sync_rc ? sync_rc : wb_rc));
}

void lo_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;
	struct lo_inode *inode = lo_inode_of(req, ino);
	char path[PATH_MAX];
	int rc;

	rc = fsl_check_writable(fs);
	if (rc == 0) {
		lo_path(fs, inode, path, sizeof(path));
		rc = lo_fault_call(fs, FAULT_OP_FALLOCATE, path, (uint64_t)offset, (uint64_t)length);
	}
	if (rc < 0)
		goto out;
	/* A hole punched on disk must not be written over by a writeback already in flight. */
	if (fs->cache_emulate)
		pagecache_writeback_block(&fs->pc, &inode->pc);
	if (fallocate(file->fd, mode, offset, length) != 0)
		rc = -errno;
	if (rc == 0 && fs->cache_emulate) {
		if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			pagecache_zero_range(&fs->pc, &inode->pc, (uint64_t)offset, (uint64_t)length);
		if (!(mode & FALLOC_FL_KEEP_SIZE))
			pagecache_note_size(&inode->pc, (uint64_t)(offset + length));
	}
	if (fs->cache_emulate)
		pagecache_writeback_unblock(&fs->pc, &inode->pc);
out:
	fuse_reply_err(req, -rc);
}
