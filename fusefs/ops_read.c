/*
 * ops_read.c — the FUSE read operation: the bytes come from the backing file or, with --cache
 * emulate, through the page cache (pagecache_read overlays the pages held in memory); the `read`
 * rules are then matched once per block the request read from the disk, as the model below says.
 */
#include "ops_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "effects.h"
#include "readretry.h"

/*
 * Reads and the read rules: what a disk under Linux does, and how lo_read reproduces it.
 *
 * A buffered read that misses the page cache starts readahead: one request for the pages wanted
 * (one page for a small random read, many for a sequential one). If the device fails it, those
 * pages stay !uptodate and filemap_read() falls back to ->read_folio for each page the reader
 * actually needs, one at a time, in order. So the application sees the error exactly when it reads
 * the bad block (a short read if bytes were copied before it, EIO otherwise), and never if it
 * does not read that block. FUSE does the same over /dev/fuse: readahead sends one READ for the
 * run, read_folio one READ per page; nothing in the request tells them apart. An O_DIRECT read is
 * not retried: the whole request fails.
 *
 * So read rules count the blocks the application reads, not the requests the kernel sends:
 *   - An O_DIRECT request (O_DIRECT in the request's flags) is matched once, as a whole: the
 *     device sees one command, and the whole of it fails.
 *   - A buffered request that is not a retry (readretry.c tells) is taken for readahead. If a rule
 *     failing with an errno that can still fire overlaps a block it reads from the disk, the
 *     request fails with that errno and nothing is counted (fault_table_probe); the kernel then
 *     retries page by page, and those retries are the requests that count and fire.
 *   - Otherwise each block the request reads from the disk is one match for the rules it
 *     overlaps: an errno fails the request, corrupt flips bits of that block, delay sleeps once
 *     per firing. Data effects need no retry: the damaged block lands in the kernel's cache, where
 *     the application finds it, as it finds a block a real disk returned damaged.
 *   - With --cache emulate, a block held in the emulated cache (dirty, failed or diverged) is
 *     served from memory: a real kernel never reads such a page from the disk, so no read rule
 *     sees it. Blocks past the end of the file are not on the disk either.
 * A page whose counted read failed stays !uptodate in the kernel, so its next request is a retry.
 *
 * Limits (docs/faults.md): when the kernel evicts a page we expect a retry for (drop_caches,
 * fadvise) and then reads it with one-page readahead, that readahead is counted as the retry.
 */

/* Which requests are the kernel's retries. One mount per daemon process, so one table. */
static struct read_retry lo_read_retries = READ_RETRY_INIT;

/* The kernel dropped every cached page (a reboot): no retry is pending any more. */
void lo_read_forget_retries(void)
{
	read_retry_clear(&lo_read_retries);
}

/* The kernel's page size: the unit of readahead runs and read_folio retries. */
static uint64_t lo_page_size(void)
{
	long n = sysconf(_SC_PAGESIZE);

	return n > 0 ? (uint64_t)n : 4096;
}

/* INODE's identity in the retry table. */
static uint64_t lo_read_file_key(struct lo_inode *inode)
{
	return (uint64_t)inode->ino ^ ((uint64_t)inode->dev << 40);
}

/* Block INDEX of INODE is served from the emulated cache, never from the disk. */
static bool lo_block_in_memory(struct fsl_fs *fs, struct lo_inode *inode, uint64_t index)
{
	return fs->cache_emulate && pagecache_block_cached(&inode->pc, index);
}

/*
 * The readahead question: could a rule fail a read of [OFF, OFF+LEN) from the disk, now or later?
 * Only blocks read from the disk are asked about; nothing is counted. Returns -errno of the first
 * such rule, or 0.
 */
static int lo_read_may_fail(struct fsl_fs *fs, struct lo_inode *inode, const char *path, uint64_t off,
                            uint64_t len)
{
	uint64_t bs = fs->block_size, end = off + len;
	struct fault_hit hit;

	if (len == 0 ||
	    !fault_table_probe(fs->faults, FAULT_OP_READ, path, off, len, FAULT_PROBE_MAY_FAIL, &hit))
		return 0;
	for (uint64_t b = off / bs; b * bs < end; b++) {
		uint64_t from = b * bs > off ? b * bs : off, to = (b + 1) * bs < end ? (b + 1) * bs : end;

		if (lo_block_in_memory(fs, inode, b))
			continue;
		if (fault_table_probe(fs->faults, FAULT_OP_READ, path, from, to - from, FAULT_PROBE_MAY_FAIL,
		                      &hit))
			return -(hit.err > 0 ? hit.err : EIO);
	}
	return 0;
}

/*
 * Match each block of the N bytes read into BUF from OFF that came from the disk, one match per
 * block, and apply what fires to that block's bytes. Returns 0, or -errno when a rule fails the
 * read (the blocks after it are not read, so not matched).
 */
static int lo_read_blocks(struct fsl_fs *fs, struct lo_inode *inode, const char *path, uint64_t off,
                          uint8_t *buf, uint64_t n)
{
	uint64_t bs = fs->block_size, end = off + n;
	struct fault_hit hit;
	int rc;

	/* Most reads match no rule: one look under the read lock, not one per block. */
	if (n == 0 || !fault_table_probe(fs->faults, FAULT_OP_READ, path, off, n, FAULT_PROBE_MATCH, NULL))
		return 0;
	for (uint64_t b = off / bs; b * bs < end; b++) {
		uint64_t from = b * bs > off ? b * bs : off, to = (b + 1) * bs < end ? (b + 1) * bs : end;

		if (lo_block_in_memory(fs, inode, b))
			continue;
		if (!fault_table_check(fs->faults, FAULT_OP_READ, path, from, to - from, &hit))
			continue;
		rc = effect_apply_read(&hit, buf + (from - off), (size_t)(to - from));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * Apply the read rules to a buffered request for SIZE bytes at OFF, of which N were read into BUF
 * (see the model above). Returns 0 or -errno (the request fails).
 */
static int lo_read_buffered_faults(struct fsl_fs *fs, struct lo_inode *inode, const char *path, uint64_t off,
                                   uint64_t size, uint8_t *buf, uint64_t n)
{
	uint64_t ps = lo_page_size(), key = lo_read_file_key(inode);
	uint64_t first = off / ps, last = (off + (size ? size : 1) - 1) / ps;
	bool retry;
	int rc;

	/* No read rule for this file (length 0: any range): nothing to count, nothing to expect. */
	if (!fault_table_probe(fs->faults, FAULT_OP_READ, path, 0, 0, FAULT_PROBE_MATCH, NULL))
		return 0;
	if (first == last) {
		retry = read_retry_take(&lo_read_retries, key, first);
	} else {
		read_retry_forget(&lo_read_retries, key, first, last);
		retry = false;
	}
	rc = retry ? 0 : lo_read_may_fail(fs, inode, path, off, n);
	if (rc == 0)
		rc = lo_read_blocks(fs, inode, path, off, buf, n);
	if (rc < 0) {
		/* The pages stay !uptodate in the kernel: its next request for them is a retry. */
		read_retry_expect(&lo_read_retries, key, first, last);
	}
	return rc;
}

void lo_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;
	struct lo_inode *inode = lo_inode_of(req, ino);
	bool direct = (fi->flags & O_DIRECT) != 0, fired = false;
	struct fault_hit hit;
	char path[PATH_MAX];
	void *buf = NULL;
	ssize_t n;
	int rc;

	rc = fsl_check_alive(fs);
	if (rc < 0)
		goto out_err;
	lo_path(fs, inode, path, sizeof(path));
	if (direct) {
		/* One device command: matched once, and an errno fails all of it. */
		fired = fault_table_check(fs->faults, FAULT_OP_READ, path, (uint64_t)off, size, &hit);
		if (fired && hit.effect == FAULT_EFFECT_ERRNO) {
			rc = -(hit.err > 0 ? hit.err : EIO);
			goto out_err;
		}
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out_err;
	}
	if (fs->cache_emulate) {
		n = pagecache_read(&fs->pc, &inode->pc, file->fd, buf, size, (uint64_t)off);
	} else {
		do
			n = pread(file->fd, buf, size, off);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			n = -errno;
	}
	if (n < 0) {
		rc = (int)n;
		goto out_err;
	}
	if (direct)
		rc = fired ? effect_apply_read(&hit, buf, (size_t)n) : 0;
	else
		rc = lo_read_buffered_faults(fs, inode, path, (uint64_t)off, size, buf, (uint64_t)n);
	if (rc < 0)
		goto out_err;
	fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
	return;
out_err:
	free(buf);
	fuse_reply_err(req, -rc);
}
