/*
 * ops_attrs.c — the FUSE operations on attributes: getattr, setattr (mode, owner, size with the
 * `truncate` rules, times), readlink, statfs, and the extended attributes (through
 * /proc/self/fd; not on symlinks). Also the setuid/setgid clearing the kernel leaves to us
 * (lo_kill_suidgid), which write and open(O_TRUNC) use too.
 */
#include "ops_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "wire.h"

/* ---- Attributes ---- */

/* The caller of REQ has GID as its filesystem group or a supplementary group (when unknown: yes). */
static bool lo_caller_in_group(fuse_req_t req, gid_t gid)
{
	gid_t groups[256];
	int n;

	if (fuse_req_ctx(req)->gid == gid)
		return true;
	n = fuse_req_getgroups(req, 256, groups);
	if (n < 0)
		return true;
	for (int i = 0; i < n && i < 256; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/*
 * The setuid/setgid clearing the kernel leaves to us (FUSE_HANDLE_KILLPRIV_V2, see wire.h): when
 * the request says the caller lacks CAP_FSETID, a write, truncate or open(O_TRUNC) clears setuid,
 * and setgid if the file is group-executable or (Linux 6.2+, as the VFS does since) the caller is
 * not in the file's group. 0 or -errno.
 */
int lo_kill_suidgid(struct fsl_fs *fs, fuse_req_t req, struct lo_inode *inode)
{
	char proc[64];
	struct stat st;
	mode_t kill = 0;
	int rc;

	if (!wire_request_kill_suidgid())
		return 0;
	if (fstatat(inode->fd, "", &st, AT_EMPTY_PATH) != 0)
		return -errno;
	if (st.st_mode & S_ISUID)
		kill |= S_ISUID;
	if ((st.st_mode & S_ISGID) &&
	    ((st.st_mode & S_IXGRP) || (fs->sgid_needs_group && !lo_caller_in_group(req, st.st_gid))))
		kill |= S_ISGID;
	if (!kill)
		return 0;
	lo_proc_path(inode, proc, sizeof(proc));
	if (chmod(proc, st.st_mode & 07777 & ~kill) != 0)
		return -errno;
	/* The kernel still caches the old mode: attributes only (a negative offset), no page lock. */
	rc = fuse_lowlevel_notify_inval_inode(fs->se, lo_nodeid(fs, inode), -1, 0);
	if (rc < 0 && rc != -ENOENT)
		fprintf(stderr, "fsynclab: invalidate attributes: %s\n", strerror(-rc));
	return 0;
}

void lo_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct stat st;
	int rc;

	(void)fi;
	rc = fsl_check_alive(fs);
	if (rc == 0)
		rc = lo_stat(fs, lo_inode_of(req, ino), &st);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->timeout);
}

void lo_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_inode *inode = lo_inode_of(req, ino);
	struct lo_file *file = fi ? (struct lo_file *)(uintptr_t)fi->fh : NULL;
	char proc[64], path[PATH_MAX];
	struct stat st;
	int rc;

	rc = fsl_check_writable(fs);
	if (rc < 0)
		goto out_err;
	lo_proc_path(inode, proc, sizeof(proc));
	if (valid & FUSE_SET_ATTR_MODE) {
		rc = file ? fchmod(file->fd, attr->st_mode) : chmod(proc, attr->st_mode);
		if (rc != 0) {
			rc = -errno;
			goto out_err;
		}
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;

		if (fchownat(inode->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
			rc = -errno;
			goto out_err;
		}
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		lo_path(fs, inode, path, sizeof(path));
		rc = lo_fault_call(fs, FAULT_OP_TRUNCATE, path, (uint64_t)attr->st_size, 0);
		if (rc == 0)
			rc = lo_kill_suidgid(fs, req, inode);
		if (rc < 0)
			goto out_err;
		/* No writeback I/O may land behind the truncate (it would extend the file again). */
		if (fs->cache_emulate)
			pagecache_writeback_block(&fs->pc, &inode->pc);
		if (fs->ns)
			rc = namespace_truncate(fs->ns, file ? file->fd : -1, inode->fd, path,
			                        (uint64_t)attr->st_size);
		else
			rc = (file ? ftruncate(file->fd, attr->st_size) : truncate(proc, attr->st_size)) != 0
			         ? -errno
			         : 0;
		if (rc == 0 && fs->cache_emulate)
			pagecache_truncate(&fs->pc, &inode->pc, (uint64_t)attr->st_size);
		if (fs->cache_emulate)
			pagecache_writeback_unblock(&fs->pc, &inode->pc);
		if (rc < 0)
			goto out_err;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};

		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		rc = file ? futimens(file->fd, tv) : utimensat(AT_FDCWD, proc, tv, 0);
		if (rc != 0) {
			rc = -errno;
			goto out_err;
		}
		if (valid & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
			pagecache_forget_mtime(&inode->pc);
	}
	rc = lo_stat(fs, inode, &st);
	if (rc < 0)
		goto out_err;
	fuse_reply_attr(req, &st, fs->timeout);
	return;
out_err:
	fuse_reply_err(req, -rc);
}

void lo_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t n;
	int rc = fsl_check_alive(lo_fs_of(req));

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	n = readlinkat(lo_inode_of(req, ino)->fd, "", buf, sizeof(buf));
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((size_t)n == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

void lo_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	if (fsl_check_alive(lo_fs_of(req)) < 0)
		fuse_reply_err(req, EIO);
	else if (fstatvfs(lo_fs_of(req)->root.fd, &sv) != 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

/* ---- Extended attributes (through /proc/self/fd; not on symlinks) ---- */

/* 0, or the errno that refuses xattrs on INODE. */
static int lo_xattr_check(fuse_req_t req, struct lo_inode *inode, bool modify)
{
	int rc = modify ? fsl_check_writable(lo_fs_of(req)) : fsl_check_alive(lo_fs_of(req));

	if (rc < 0)
		return -rc;
	return inode->type == S_IFLNK ? ENOTSUP : 0;
}

/*
 * getxattr (NAME) or listxattr (NAME == NULL) of INO, answered the FUSE way: with SIZE 0 the
 * length the value needs, else the value itself.
 */
static void lo_xattr_read(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct lo_inode *inode = lo_inode_of(req, ino);
	char proc[64];
	char *value = NULL;
	ssize_t n;
	int err = lo_xattr_check(req, inode, false);

	if (err)
		goto out_err;
	lo_proc_path(inode, proc, sizeof(proc));
	if (size) {
		value = malloc(size);
		if (!value) {
			err = ENOMEM;
			goto out_err;
		}
	}
	n = name ? getxattr(proc, name, value, size) : listxattr(proc, value, size);
	if (n < 0) {
		err = errno;
		goto out_err;
	}
	if (size)
		fuse_reply_buf(req, value, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(value);
	return;
out_err:
	free(value);
	fuse_reply_err(req, err);
}

void lo_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	lo_xattr_read(req, ino, name, size);
}

void lo_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	lo_xattr_read(req, ino, NULL, size);
}

void lo_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags)
{
	struct lo_inode *inode = lo_inode_of(req, ino);
	char proc[64];
	int err = lo_xattr_check(req, inode, true);

	if (!err) {
		lo_proc_path(inode, proc, sizeof(proc));
		if (setxattr(proc, name, value, size, flags) != 0)
			err = errno;
	}
	fuse_reply_err(req, err);
}

void lo_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct lo_inode *inode = lo_inode_of(req, ino);
	char proc[64];
	int err = lo_xattr_check(req, inode, true);

	if (!err) {
		lo_proc_path(inode, proc, sizeof(proc));
		if (removexattr(proc, name) != 0)
			err = errno;
	}
	fuse_reply_err(req, err);
}
