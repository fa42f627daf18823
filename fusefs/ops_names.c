/*
 * ops_names.c — the FUSE operations on names: lookup and forget; mknod, mkdir, symlink and link,
 * each made in BACKING at once and, with --cache emulate, recorded as a pending namespace
 * operation (namespace.c); unlink, rmdir and rename (namespace.c keeps what undo needs), with
 * ext4's and btrfs's writeback of a file renamed over another (lo_replace_source). A node just
 * made belongs to the caller (lo_give_to_caller). Names are resolved relative to the parent's
 * descriptor and never followed; the namespace journal's directory at the root is never visible.
 */
#include "ops_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- Lookup and forget ---- */

/* Look NAME up in PARENT and fill E (one lookup reference taken). Returns 0 or -errno. */
int lo_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_inode *dir = lo_inode_of(req, parent), *inode;
	struct stat st;
	int fd, rc;

	memset(e, 0, sizeof(*e));
	if (strchr(name, '/'))
		return -EINVAL;
	/* ".." of the root is the root: never climb out of BACKING. */
	if (dir == &fs->root && strcmp(name, "..") == 0)
		name = ".";
	if (lo_hidden(fs, dir, name))
		return -ENOENT;
	fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
		rc = -errno;
		io_close_logged(fd);
		return rc;
	}
	inode = lo_inode_intern(fs, fd, &st);
	if (!inode)
		return -ENOMEM;
	rc = lo_stat(fs, inode, &e->attr);
	if (rc < 0)
		e->attr = st;
	e->ino = lo_nodeid(fs, inode);
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;
	return 0;
}

void lo_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rc = fsl_check_alive(lo_fs_of(req));

	if (rc == 0)
		rc = lo_do_lookup(req, parent, name, &e);
	if (rc == -ENOENT) {
		/* A negative entry the kernel may cache. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = 0;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

void lo_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	lo_forget_one(lo_fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

void lo_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		lo_forget_one(lo_fs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* ---- Creating and removing names ---- */

/*
 * lo_give_to_caller - a node NAME just created in DIRFD belongs to the user who asked for it, as
 * on a kernel filesystem. It matters with --allow-other, where postgres or redis create files on a
 * mount served by a root daemon. Only a root daemon can chown; any other daemon serves its own user
 * alone. Returns 0 or -errno.
 */
int lo_give_to_caller(fuse_req_t req, int dirfd, const char *name)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (geteuid() != 0 || (ctx->uid == 0 && ctx->gid == 0))
		return 0;
	if (fchownat(dirfd, name, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return 0;
}

/* With the namespace journal held, record that NAME (PATH) was just created in DIRFD. */
void lo_ns_record_locked(struct fsl_fs *fs, enum namespace_op_kind kind, int dirfd, const char *name,
                         const char *path)
{
	struct stat st;

	if (!fs->ns)
		return;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		fprintf(stderr, "fsynclab: %s '%s': stat: %s (durable at once)\n", namespace_op_name(kind),
		        path, strerror(errno));
		return;
	}
	if (namespace_record_locked(fs->ns, kind, path, st.st_dev, st.st_ino) < 0)
		return; /* logged: durable at once */
}

/* The reply to a request that made PARENT/NAME (RC 0) or failed to (RC -errno). */
static void lo_reply_new_entry(fuse_req_t req, fuse_ino_t parent, const char *name, int rc)
{
	struct fuse_entry_param e;

	if (rc == 0)
		rc = lo_do_lookup(req, parent, name, &e);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

/* mknod, mkdir, symlink: make NAME in PARENT, then look it up. */
static void lo_mknod_symlink(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
                             const char *link)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_inode *dir = lo_inode_of(req, parent);
	char path[PATH_MAX];
	int rc;

	rc = fsl_check_writable(fs);
	if (rc < 0)
		goto out_err;
	if (lo_hidden(fs, dir, name)) {
		rc = -EPERM;
		goto out_err;
	}
	lo_child_path(fs, dir, name, path, sizeof(path));
	rc = lo_fault_call(fs, S_ISDIR(mode) ? FAULT_OP_MKDIR : FAULT_OP_CREATE, path, 0, 0);
	if (rc < 0)
		goto out_err;
	if (fs->ns)
		namespace_lock(fs->ns);
	if (S_ISDIR(mode))
		rc = mkdirat(dir->fd, name, mode);
	else if (S_ISLNK(mode) && link)
		rc = symlinkat(link, dir->fd, name);
	else if (S_ISLNK(mode))
		rc = (errno = EINVAL, -1); /* mknod cannot make a symlink */
	else
		rc = mknodat(dir->fd, name, mode, rdev);
	if (rc != 0)
		rc = -errno;
	else
		lo_ns_record_locked(fs,
		                    S_ISDIR(mode)   ? NAMESPACE_OP_MKDIR
		                    : S_ISLNK(mode) ? NAMESPACE_OP_SYMLINK
		                    : S_ISREG(mode) ? NAMESPACE_OP_CREATE
		                                    : NAMESPACE_OP_MKNOD,
		                    dir->fd, name, path);
	if (fs->ns)
		namespace_unlock(fs->ns);
	if (rc == 0)
		rc = lo_give_to_caller(req, dir->fd, name);
out_err:
	lo_reply_new_entry(req, parent, name, rc);
}

void lo_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	lo_mknod_symlink(req, parent, name, mode, rdev, NULL);
}

void lo_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	lo_mknod_symlink(req, parent, name, S_IFDIR | mode, 0, NULL);
}

void lo_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	lo_mknod_symlink(req, parent, name, S_IFLNK, 0, link);
}

void lo_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_inode *inode = lo_inode_of(req, ino);
	char proc[64], path[PATH_MAX];
	int rc;

	rc = fsl_check_writable(fs);
	if (rc < 0)
		goto out_err;
	if (lo_hidden(fs, lo_inode_of(req, parent), name)) {
		rc = -EPERM;
		goto out_err;
	}
	lo_child_path(fs, lo_inode_of(req, parent), name, path, sizeof(path));
	lo_proc_path(inode, proc, sizeof(proc));
	if (fs->ns)
		namespace_lock(fs->ns);
	rc = linkat(AT_FDCWD, proc, lo_inode_of(req, parent)->fd, name, AT_SYMLINK_FOLLOW) != 0 ? -errno : 0;
	if (rc == 0)
		lo_ns_record_locked(fs, NAMESPACE_OP_LINK, lo_inode_of(req, parent)->fd, name, path);
	if (fs->ns)
		namespace_unlock(fs->ns);
out_err:
	lo_reply_new_entry(req, parent, name, rc);
}

static void lo_unlink_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_inode *dir = lo_inode_of(req, parent);
	char path[PATH_MAX];
	int rc;

	rc = fsl_check_writable(fs);
	if (rc == 0 && lo_hidden(fs, dir, name))
		rc = -ENOENT;
	if (rc == 0) {
		lo_child_path(fs, dir, name, path, sizeof(path));
		rc = lo_fault_call(fs, FAULT_OP_UNLINK, path, 0, 0);
	}
	if (rc == 0 && fs->ns) {
		char dpath[PATH_MAX];

		lo_path(fs, dir, dpath, sizeof(dpath));
		rc = namespace_unlink(fs->ns, dir->fd, dpath, name, flags & AT_REMOVEDIR);
	} else if (rc == 0 && unlinkat(dir->fd, name, flags) != 0) {
		rc = -errno;
	}
	fuse_reply_err(req, -rc);
}

void lo_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	lo_unlink_rmdir(req, parent, name, 0);
}

void lo_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	lo_unlink_rmdir(req, parent, name, AT_REMOVEDIR);
}

/*
 * ext4's auto_da_alloc, and btrfs's equivalent: a rename that replaces an existing regular file
 * writes back the renamed file's data, so that "write temp, rename over, no fsync" keeps its data
 * once the rename commits (the heuristic that ended the 2009 zero-length files, for exactly that
 * pattern; XFS has none). Part of the namespace model (not with --namespace durable). Before the
 * rename: the source inode (a reference taken) when this rename will need it, else NULL.
 */
static struct lo_inode *lo_replace_source(struct fsl_fs *fs, int dirfd, const char *name, int newdirfd,
                                          const char *newname, unsigned int flags)
{
	struct lo_inode *inode = NULL;
	struct stat st, tst;

	if (!fs->ns || (flags & RENAME_EXCHANGE) ||
	    (strncmp(fs->profile->name, "ext4", 4) != 0 && strcmp(fs->profile->name, "btrfs") != 0))
		return NULL;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
	    fstatat(newdirfd, newname, &tst, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(tst.st_mode))
		return NULL;
	pthread_mutex_lock(&fs->table_lock);
	inode = lo_inode_find_locked(fs, st.st_dev, st.st_ino);
	if (inode)
		inode->refs++;
	pthread_mutex_unlock(&fs->table_lock);
	return inode;
}

/* After the replacing rename: write INODE's dirty pages back (rules apply), drop the reference. */
static void lo_flush_replaced(struct fsl_fs *fs, struct lo_inode *inode)
{
	struct pagecache_wb_result res;
	char path[PATH_MAX];
	int fd;

	if (atomic_load(&fs->state) == FS_STATE_OK &&
	    pagecache_has_dirty(&inode->pc, pagecache_now_ns(), 0)) {
		lo_path(fs, inode, path, sizeof(path));
		fd = lo_open_for_writeback(inode);
		if (fd < 0) {
			pagecache_record_error(&fs->pc, path, "writeback", -fd, -1);
		} else {
			/* No kernel invalidation: the kernel holds the rename's locks. */
			if (pagecache_writeback_inode(&fs->pc, &inode->pc, fd, path, &res) < 0)
				fprintf(stderr, "fsynclab: writeback of '%s' at rename failed\n", path);
			io_close_logged(fd);
		}
	}
	lo_inode_put(fs, inode);
}

void lo_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
               unsigned int flags)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_inode *replacing = NULL;
	char path[PATH_MAX];
	int rc;

	rc = fsl_check_writable(fs);
	if (rc == 0 && lo_hidden(fs, lo_inode_of(req, parent), name))
		rc = -ENOENT;
	if (rc == 0 && lo_hidden(fs, lo_inode_of(req, newparent), newname))
		rc = -EPERM;
	if (rc == 0) {
		lo_child_path(fs, lo_inode_of(req, parent), name, path, sizeof(path));
		rc = lo_fault_call(fs, FAULT_OP_RENAME, path, 0, 0);
	}
	if (rc == 0)
		replacing = lo_replace_source(fs, lo_inode_of(req, parent)->fd, name,
		                              lo_inode_of(req, newparent)->fd, newname, flags);
	if (rc == 0 && fs->ns) {
		char opath[PATH_MAX], npath[PATH_MAX];

		lo_path(fs, lo_inode_of(req, parent), opath, sizeof(opath));
		lo_path(fs, lo_inode_of(req, newparent), npath, sizeof(npath));
		rc = namespace_rename(fs->ns, lo_inode_of(req, parent)->fd, opath, name,
		                      lo_inode_of(req, newparent)->fd, npath, newname, flags);
	} else if (rc == 0 && renameat2(lo_inode_of(req, parent)->fd, name, lo_inode_of(req, newparent)->fd,
	                                newname, flags) != 0) {
		rc = -errno;
	}
	if (replacing && rc == 0)
		lo_flush_replaced(fs, replacing);
	else if (replacing)
		lo_inode_put(fs, replacing);
	fuse_reply_err(req, -rc);
}
