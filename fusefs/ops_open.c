/*
 * ops_open.c — the FUSE operations on open files: create, open (with O_TRUNC), release and flush.
 * An open file (struct lo_file, the FUSE fh) holds a backing descriptor opened through
 * /proc/self/fd of its inode (without O_APPEND or O_DIRECT, write-only made read-write), a
 * reference on the inode, and its errseq cursor: the writeback errors its fsync has reported.
 */
#include "ops_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Flags for the backing open: the kernel computes append offsets, and we buffer O_DIRECT.
 * Write-only becomes read-write: a partial page write reads the rest of the page first.
 */
static int backing_open_flags(int flags)
{
	flags &= ~(O_NOFOLLOW | O_APPEND | O_DIRECT | O_CREAT | O_EXCL | O_TRUNC);
	if ((flags & O_ACCMODE) == O_WRONLY)
		flags = (flags & ~O_ACCMODE) | O_RDWR;
	return flags | O_CLOEXEC;
}

/* Open PATH (relative to DIRFD) as the backing file of an open with FLAGS, plus EXTRA flags.
 * Falls back to write-only when read-write is refused. Returns the fd or -1 with errno. */
static int backing_open(int dirfd, const char *path, int flags, int extra, mode_t mode)
{
	int bflags = backing_open_flags(flags) | extra;
	int fd = openat(dirfd, path, bflags, mode);

	if (fd < 0 && errno == EACCES && (flags & O_ACCMODE) == O_WRONLY)
		fd = openat(dirfd, path, (bflags & ~O_ACCMODE) | O_WRONLY, mode);
	return fd;
}

/* Make the lo_file for FD opened with FLAGS on INODE. Returns NULL on ENOMEM. */
static struct lo_file *lo_file_new(struct fsl_fs *fs, struct lo_inode *inode, int fd, int flags)
{
	struct lo_file *file = calloc(1, sizeof(*file));

	if (!file)
		return NULL;
	file->fd = fd;
	file->inode = inode;
	file->writable = (flags & O_ACCMODE) != O_RDONLY;
	file->direct = (flags & O_DIRECT) != 0;
	file->wb_since = pagecache_file_sample(&fs->pc, &inode->pc);
	lo_inode_get(fs, inode);
	return file;
}

/* O_TRUNC on open: truncate the backing file and the cache. Returns 0 or -errno. */
static int lo_open_truncate(struct fsl_fs *fs, fuse_req_t req, struct lo_inode *inode, int fd,
                            const char *path)
{
	int rc = lo_fault_call(fs, FAULT_OP_TRUNCATE, path, 0, 0);

	if (rc == 0)
		rc = lo_kill_suidgid(fs, req, inode);
	if (rc < 0)
		return rc;
	if (fs->cache_emulate)
		pagecache_writeback_block(&fs->pc, &inode->pc); /* no writeback lands behind it */
	if (fs->ns)
		rc = namespace_truncate(fs->ns, fd, inode->fd, path, 0);
	else if (ftruncate(fd, 0) != 0)
		rc = -errno;
	if (rc == 0 && fs->cache_emulate)
		pagecache_truncate(&fs->pc, &inode->pc, 0);
	if (fs->cache_emulate)
		pagecache_writeback_unblock(&fs->pc, &inode->pc);
	return rc;
}

static void lo_fill_open_reply(struct fuse_file_info *fi, struct lo_file *file)
{
	fi->fh = (uintptr_t)file;
	/*
	 * Keep the kernel's page cache across opens, as a local filesystem does: every change to the
	 * data flows through us, and whatever makes it stale (a reboot, a btrfs revert, a shutdown)
	 * invalidates it explicitly. A read that the kernel serves from its cache never reaches the
	 * rules, exactly as a cached page never reaches a failing disk.
	 */
	fi->keep_cache = 1;
	fi->direct_io = 0;
}

/* Make FD (consumed: closed on failure) an open file of INODE, answered through FI. 0 or -ENOMEM. */
static int lo_file_attach(struct fsl_fs *fs, struct lo_inode *inode, int fd, struct fuse_file_info *fi)
{
	struct lo_file *file = lo_file_new(fs, inode, fd, fi->flags);

	if (!file) {
		io_close_logged(fd);
		return -ENOMEM;
	}
	lo_fill_open_reply(fi, file);
	return 0;
}

void lo_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_inode *dir = lo_inode_of(req, parent);
	struct fuse_entry_param e;
	char path[PATH_MAX];
	bool created;
	int fd, rc;

	rc = fsl_check_writable(fs);
	if (rc < 0)
		goto out_err;
	lo_child_path(fs, dir, name, path, sizeof(path));
	rc = lo_fault_call(fs, FAULT_OP_CREATE, path, 0, 0);
	if (rc < 0)
		goto out_err;
	if (lo_hidden(fs, dir, name)) {
		rc = -EPERM;
		goto out_err;
	}
	/* Exclusive first, so that only a file this call created is given to the caller and is a
	 * pending namespace operation (the journal is held so its order is the operations' order). */
	if (fs->ns)
		namespace_lock(fs->ns);
	fd = backing_open(dir->fd, name, fi->flags, O_CREAT | O_EXCL | (fi->flags & O_NOFOLLOW), mode);
	created = fd >= 0;
	if (created)
		lo_ns_record_locked(fs, NAMESPACE_OP_CREATE, dir->fd, name, path);
	else if (errno == EEXIST && !(fi->flags & O_EXCL))
		fd = backing_open(dir->fd, name, fi->flags, fi->flags & O_NOFOLLOW, mode);
	rc = fd < 0 ? -errno : 0;
	if (fs->ns)
		namespace_unlock(fs->ns);
	if (rc < 0)
		goto out_err;
	rc = created ? lo_give_to_caller(req, dir->fd, name) : 0;
	if (rc == 0)
		rc = lo_do_lookup(req, parent, name, &e);
	if (rc == 0 && (fi->flags & O_TRUNC))
		rc = lo_open_truncate(fs, req, lo_inode_of(req, e.ino), fd, path);
	if (rc < 0) {
		io_close_logged(fd);
		goto out_err;
	}
	rc = lo_file_attach(fs, lo_inode_of(req, e.ino), fd, fi);
	if (rc < 0)
		goto out_err;
	fuse_reply_create(req, &e, fi);
	return;
out_err:
	fuse_reply_err(req, -rc);
}

void lo_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_inode *inode = lo_inode_of(req, ino);
	char proc[64], path[PATH_MAX];
	int fd, rc;

	rc = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC) ? fsl_check_writable(fs)
	                                                                  : fsl_check_alive(fs);
	if (rc < 0)
		goto out_err;
	lo_path(fs, inode, path, sizeof(path));
	rc = lo_fault_call(fs, FAULT_OP_OPEN, path, 0, 0);
	if (rc < 0)
		goto out_err;
	lo_proc_path(inode, proc, sizeof(proc));
	fd = backing_open(AT_FDCWD, proc, fi->flags, 0, 0);
	if (fd < 0) {
		rc = -errno;
		goto out_err;
	}
	if (fi->flags & O_TRUNC) {
		rc = lo_open_truncate(fs, req, inode, fd, path);
		if (rc < 0) {
			io_close_logged(fd);
			goto out_err;
		}
	}
	rc = lo_file_attach(fs, inode, fd, fi);
	if (rc < 0)
		goto out_err;
	fuse_reply_open(req, fi);
	return;
out_err:
	fuse_reply_err(req, -rc);
}

void lo_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;

	(void)ino;
	io_close_logged(file->fd);
	lo_inode_put(fs, file->inode);
	free(file);
	fuse_reply_err(req, 0);
}

void lo_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close() writes nothing back and reports nothing, as on a local filesystem (even shut down). */
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}
