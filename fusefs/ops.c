/*
 * ops.c — the FUSE low-level operations: a passthrough over BACKING with an emulated page cache
 * and fault rules. Each operation is named after the FUSE operation it implements (lo_lookup,
 * lo_write, ...), so the op table at the end reads as an index of the file.
 *
 * What it does: every inode the kernel knows is an O_PATH descriptor of the backing object,
 * found by (dev, ino); every name is resolved with *at() calls relative to its parent's
 * descriptor and never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW), so symlinks are passed through
 * as links and nothing outside BACKING is read or written ("..": the root's parent is the root).
 * Files are opened through /proc/self/fd/N of that descriptor, so renames never confuse us.
 *
 * With --cache emulate, data goes through pagecache.c: write dirties pages, read overlays them,
 * fsync writes them back (with `writeback` rules), commits the "journal" (`journal` rules), then
 * fsyncs the backing file for real, and reports errors per open file with errseq. With --cache
 * none, each request goes straight to the backing file and rules apply to the request itself.
 * Namespace operations (create, mkdir, rename, link, unlink, truncate, ...) go to BACKING at
 * once; with --cache emulate they stay *pending* in namespace.c's journal until the profile's
 * commit rule makes them durable, and a power cut undoes the pending ones. The journal keeps what
 * undo needs in a hidden directory at the BACKING root, which lookup and readdir hide.
 *
 * What it does not do (known limitations): no FUSE writeback cache and no kernel passthrough
 * (never: the real-kernel tests need every write to reach us); no readdirplus; file locks
 * (flock, fcntl) are left to the kernel, which handles them locally — exact for one mount;
 * no xattrs on symlinks; no lseek(SEEK_DATA/HOLE) or copy_file_range (the kernel falls back).
 *
 * Locking: fs->table_lock protects the inode table and each inode's nlookup/refs; each inode's
 * page cache has its own lock (taken after, never before, table_lock).
 */
#include "ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <linux/openat2.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "effects.h"
#include "readretry.h"
#include "wire.h"

/* ---- Inodes ---- */

static struct fsl_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct lo_inode *lo_inode_of(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &fs_of(req)->root;
	return (struct lo_inode *)(uintptr_t)ino;
}

static fuse_ino_t lo_nodeid(struct fsl_fs *fs, struct lo_inode *inode)
{
	return inode == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)inode;
}

static size_t lo_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (size_t)(h >> 20) % LO_TABLE_SIZE;
}

/* Free INODE if nothing refers to it any more; the caller holds table_lock. */
static void lo_inode_maybe_free_locked(struct fsl_fs *fs, struct lo_inode *inode)
{
	struct lo_inode **pp;

	if (inode == &fs->root || inode->nlookup || inode->refs || pagecache_has_pages(&inode->pc))
		return;
	for (pp = &fs->table[lo_hash(inode->dev, inode->ino)]; *pp; pp = &(*pp)->next) {
		if (*pp == inode) {
			*pp = inode->next;
			break;
		}
	}
	if (close(inode->fd) != 0)
		fprintf(stderr, "fsynclab: close inode fd: %s\n", strerror(errno));
	pagecache_inode_fini(&fs->pc, &inode->pc);
	free(inode);
}

/* Take a reference for an in-flight user (open file, writeback pass). */
static void lo_inode_get(struct fsl_fs *fs, struct lo_inode *inode)
{
	pthread_mutex_lock(&fs->table_lock);
	inode->refs++;
	pthread_mutex_unlock(&fs->table_lock);
}

static void lo_inode_put(struct fsl_fs *fs, struct lo_inode *inode)
{
	pthread_mutex_lock(&fs->table_lock);
	inode->refs--;
	lo_inode_maybe_free_locked(fs, inode);
	pthread_mutex_unlock(&fs->table_lock);
}

/*
 * The inode's path relative to the mount root, for fault matching and error logs ("" for the
 * root). Read from /proc/self/fd, so it follows renames; " (deleted)" is cut off.
 */
static void lo_path(struct fsl_fs *fs, struct lo_inode *inode, char *buf, size_t len)
{
	char proc[64], full[PATH_MAX];
	size_t blen = strlen(fs->backing);
	ssize_t n;

	if (inode == &fs->root) {
		buf[0] = '\0';
		return;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", inode->fd);
	n = readlink(proc, full, sizeof(full) - 1);
	if (n < 0) {
		snprintf(buf, len, "?");
		return;
	}
	full[n] = '\0';
	if (n > 10 && strcmp(full + n - 10, " (deleted)") == 0)
		full[n - 10] = '\0';
	if (strncmp(full, fs->backing, blen) == 0 && (full[blen] == '/' || full[blen] == '\0')) {
		/* An unlinked file kept for undo: its name is the one it had. */
		if (full[blen] == '/' && fs->ns && namespace_stash_origin(fs->ns, full + blen + 1, buf, len))
			return;
		snprintf(buf, len, "%s", full[blen] == '/' ? full + blen + 1 : "");
	} else {
		snprintf(buf, len, "%s", full);
	}
}

/* NAME in DIR is the namespace journal's hidden directory: never visible through the mount. */
static bool lo_hidden(struct fsl_fs *fs, struct lo_inode *dir, const char *name)
{
	return fs->ns && dir == &fs->root && namespace_is_hidden(name);
}

/* PARENT's path joined with NAME. */
static void lo_child_path(struct fsl_fs *fs, struct lo_inode *parent, const char *name, char *buf, size_t len)
{
	char ppath[PATH_MAX];

	int n;

	lo_path(fs, parent, ppath, sizeof(ppath));
	n = snprintf(buf, len, "%s%s%s", ppath, ppath[0] ? "/" : "", name);
	if (n < 0 || (size_t)n >= len)
		snprintf(buf, len, "?"); /* too long to match any rule sensibly */
}

static void lo_proc_path(const struct lo_inode *inode, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", inode->fd);
}

/* stat the inode, with the size the page cache knows (writes past the end are not on disk yet). */
static int lo_stat(struct fsl_fs *fs, struct lo_inode *inode, struct stat *st)
{
	if (fstatat(inode->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if (fs->ns) {
		/* Names kept only for undo (and the hidden directory itself) are not links users see. */
		unsigned hidden =
		    inode == &fs->root ? 1 : namespace_hidden_links(fs->ns, st->st_dev, st->st_ino);

		st->st_nlink = st->st_nlink > hidden ? st->st_nlink - hidden : 0;
	}
	if (S_ISREG(st->st_mode) && fs->cache_emulate) {
		struct timespec mtime;

		/* Not pagecache_size(): a writeback finishing since the fstatat above makes it stale. */
		st->st_size = (off_t)pagecache_size_fd(&inode->pc, inode->fd, (uint64_t)st->st_size);
		if (pagecache_mtime(&inode->pc, &mtime) &&
		    (mtime.tv_sec > st->st_mtim.tv_sec ||
		     (mtime.tv_sec == st->st_mtim.tv_sec && mtime.tv_nsec > st->st_mtim.tv_nsec)))
			st->st_mtim = st->st_ctim = mtime;
	}
	return 0;
}

/* ---- Filesystem state and fault helpers ---- */

const char *fsl_state_name(enum fs_state state)
{
	switch (state) {
	case FS_STATE_OK:
		return "ok";
	case FS_STATE_READ_ONLY:
		return "read-only";
	case FS_STATE_SHUTDOWN:
		return "shutdown";
	}
	return "?";
}

/* -EIO after a shutdown, else 0. For every operation. */
static int fs_check_alive(struct fsl_fs *fs)
{
	return atomic_load(&fs->state) == FS_STATE_SHUTDOWN ? -EIO : 0;
}

/* As fs_check_alive, plus -EROFS when read-only. For operations that modify. */
static int fs_check_writable(struct fsl_fs *fs)
{
	int state = atomic_load(&fs->state);

	if (state == FS_STATE_SHUTDOWN)
		return -EIO;
	if (state == FS_STATE_READ_ONLY)
		return -EROFS;
	return 0;
}

/*
 * Ask the rules whether call OP on PATH [off, off+len) fails. An errno effect returns -err, a
 * delay sleeps and returns 0; data effects do not apply to calls without data (returns 0).
 */
static int fault_call(struct fsl_fs *fs, enum fault_op op, const char *path, uint64_t off, uint64_t len)
{
	struct fault_hit hit;

	if (!fault_table_check(fs->faults, op, path, off, len, &hit))
		return 0;
	return effect_apply_read(&hit, NULL, 0);
}

static void fsl_invalidate_all(struct fsl_fs *fs);
static int lo_journal_commit(struct fsl_fs *fs, const char *path, bool *persisted);

/*
 * After a successful journal commit by an fsync of INODE (a directory when DIR): make durable the
 * namespace operations the profile's rule says that commit persists. 0 or -errno (a backing
 * directory's fsync failed: the error is logged and the caller's fsync reports it).
 */
static int lo_ns_commit(struct fsl_fs *fs, struct lo_inode *inode, const char *path, bool dir)
{
	int rc;

	if (!fs->ns)
		return 0;
	rc = namespace_commit_fsync(fs->ns, dir, path, inode->dev, inode->ino);
	if (rc >= 0)
		return 0;
	pagecache_record_error(&fs->pc, path, "sync", -rc, -1);
	return rc;
}

/* ---- Lookup and forget ---- */

/* Find or add the inode for the object FD refers to (FD is consumed). Returns NULL on ENOMEM. */
static struct lo_inode *lo_inode_intern(struct fsl_fs *fs, int fd, const struct stat *st)
{
	struct lo_inode *inode;
	size_t h = lo_hash(st->st_dev, st->st_ino);

	if (st->st_dev == fs->root.dev && st->st_ino == fs->root.ino) {
		pthread_mutex_lock(&fs->table_lock);
		fs->root.nlookup++;
		pthread_mutex_unlock(&fs->table_lock);
		if (close(fd) != 0)
			fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
		return &fs->root;
	}
	pthread_mutex_lock(&fs->table_lock);
	for (inode = fs->table[h]; inode; inode = inode->next)
		if (inode->dev == st->st_dev && inode->ino == st->st_ino)
			break;
	if (inode) {
		inode->nlookup++;
		pthread_mutex_unlock(&fs->table_lock);
		if (close(fd) != 0)
			fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
		return inode;
	}
	inode = calloc(1, sizeof(*inode));
	if (!inode || pagecache_inode_init(&inode->pc) != 0) {
		pthread_mutex_unlock(&fs->table_lock);
		free(inode);
		if (close(fd) != 0)
			fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
		return NULL;
	}
	inode->fd = fd;
	inode->dev = st->st_dev;
	inode->ino = st->st_ino;
	inode->type = st->st_mode & S_IFMT;
	inode->nlookup = 1;
	inode->next = fs->table[h];
	fs->table[h] = inode;
	pthread_mutex_unlock(&fs->table_lock);
	return inode;
}

/* Look NAME up in PARENT and fill E (one lookup reference taken). Returns 0 or -errno. */
static int lo_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	struct fsl_fs *fs = fs_of(req);
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
		if (close(fd) != 0)
			fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
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

static void lo_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rc = fs_check_alive(fs_of(req));

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

static void lo_forget_one(struct fsl_fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct lo_inode *inode = ino == FUSE_ROOT_ID ? &fs->root : (struct lo_inode *)(uintptr_t)ino;

	pthread_mutex_lock(&fs->table_lock);
	inode->nlookup = inode->nlookup > nlookup ? inode->nlookup - nlookup : 0;
	lo_inode_maybe_free_locked(fs, inode);
	pthread_mutex_unlock(&fs->table_lock);
}

static void lo_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	lo_forget_one(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void lo_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		lo_forget_one(fs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

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
static int lo_kill_suidgid(struct fsl_fs *fs, fuse_req_t req, struct lo_inode *inode)
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

static void lo_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct stat st;
	int rc;

	(void)fi;
	rc = fs_check_alive(fs);
	if (rc == 0)
		rc = lo_stat(fs, lo_inode_of(req, ino), &st);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->timeout);
}

static void lo_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
                       struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_inode *inode = lo_inode_of(req, ino);
	struct lo_file *file = fi ? (struct lo_file *)(uintptr_t)fi->fh : NULL;
	char proc[64], path[PATH_MAX];
	struct stat st;
	int rc;

	rc = fs_check_writable(fs);
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
		rc = fault_call(fs, FAULT_OP_TRUNCATE, path, (uint64_t)attr->st_size, 0);
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

static void lo_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t n;
	int rc = fs_check_alive(fs_of(req));

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

/* ---- Creating and removing names ---- */

/*
 * lo_give_to_caller - a node NAME just created in DIRFD belongs to the user who asked for it, as
 * on a kernel filesystem. It matters with --allow-other, where postgres or redis create files on a
 * mount served by a root daemon. Only a root daemon can chown; any other daemon serves its own user
 * alone. Returns 0 or -errno.
 */
static int lo_give_to_caller(fuse_req_t req, int dirfd, const char *name)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (geteuid() != 0 || (ctx->uid == 0 && ctx->gid == 0))
		return 0;
	if (fchownat(dirfd, name, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return 0;
}

/* With the namespace journal held, record that NAME (PATH) was just created in DIRFD. */
static void lo_ns_record_locked(struct fsl_fs *fs, enum namespace_op_kind kind, int dirfd, const char *name,
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

/* mknod, mkdir, symlink: make NAME in PARENT, then look it up. */
static void lo_mknod_symlink(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
                             const char *link)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_inode *dir = lo_inode_of(req, parent);
	struct fuse_entry_param e;
	char path[PATH_MAX];
	int rc;

	rc = fs_check_writable(fs);
	if (rc < 0)
		goto out_err;
	if (lo_hidden(fs, dir, name)) {
		rc = -EPERM;
		goto out_err;
	}
	lo_child_path(fs, dir, name, path, sizeof(path));
	rc = fault_call(fs, S_ISDIR(mode) ? FAULT_OP_MKDIR : FAULT_OP_CREATE, path, 0, 0);
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
	if (rc < 0)
		goto out_err;
	rc = lo_give_to_caller(req, dir->fd, name);
	if (rc < 0)
		goto out_err;
	rc = lo_do_lookup(req, parent, name, &e);
	if (rc < 0)
		goto out_err;
	fuse_reply_entry(req, &e);
	return;
out_err:
	fuse_reply_err(req, -rc);
}

static void lo_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	lo_mknod_symlink(req, parent, name, mode, rdev, NULL);
}

static void lo_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	lo_mknod_symlink(req, parent, name, S_IFDIR | mode, 0, NULL);
}

static void lo_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	lo_mknod_symlink(req, parent, name, S_IFLNK, 0, link);
}

static void lo_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_inode *inode = lo_inode_of(req, ino);
	struct fuse_entry_param e;
	char proc[64], path[PATH_MAX];
	int rc;

	rc = fs_check_writable(fs);
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
	if (rc < 0)
		goto out_err;
	rc = lo_do_lookup(req, parent, name, &e);
	if (rc < 0)
		goto out_err;
	fuse_reply_entry(req, &e);
	return;
out_err:
	fuse_reply_err(req, -rc);
}

static void lo_unlink_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_inode *dir = lo_inode_of(req, parent);
	char path[PATH_MAX];
	int rc;

	rc = fs_check_writable(fs);
	if (rc == 0 && lo_hidden(fs, dir, name))
		rc = -ENOENT;
	if (rc == 0) {
		lo_child_path(fs, dir, name, path, sizeof(path));
		rc = fault_call(fs, FAULT_OP_UNLINK, path, 0, 0);
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

static void lo_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	lo_unlink_rmdir(req, parent, name, 0);
}

static void lo_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	lo_unlink_rmdir(req, parent, name, AT_REMOVEDIR);
}

static int lo_open_for_writeback(struct lo_inode *inode);

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
	for (inode = fs->table[lo_hash(st.st_dev, st.st_ino)]; inode; inode = inode->next)
		if (inode->dev == st.st_dev && inode->ino == st.st_ino)
			break;
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
			if (close(fd) != 0)
				fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
		}
	}
	lo_inode_put(fs, inode);
}

static void lo_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_inode *replacing = NULL;
	char path[PATH_MAX];
	int rc;

	rc = fs_check_writable(fs);
	if (rc == 0 && lo_hidden(fs, lo_inode_of(req, parent), name))
		rc = -ENOENT;
	if (rc == 0 && lo_hidden(fs, lo_inode_of(req, newparent), newname))
		rc = -EPERM;
	if (rc == 0) {
		lo_child_path(fs, lo_inode_of(req, parent), name, path, sizeof(path));
		rc = fault_call(fs, FAULT_OP_RENAME, path, 0, 0);
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

/* ---- Directories ---- */

struct lo_dirp {
	DIR *dp;
	struct dirent *entry; /* the entry read but not yet returned */
	off_t offset;
};

static void lo_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lo_dirp *d;
	int fd, rc = fs_check_alive(fs_of(req));

	if (rc < 0)
		goto out_err;
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = -ENOMEM;
		goto out_err;
	}
	fd = openat(lo_inode_of(req, ino)->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(d);
		goto out_err;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		rc = -errno;
		if (close(fd) != 0)
			fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
		free(d);
		goto out_err;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		if (closedir(d->dp) != 0)
			fprintf(stderr, "fsynclab: closedir: %s\n", strerror(errno));
		free(d);
	}
	return;
out_err:
	fuse_reply_err(req, -rc);
}

static void lo_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi)
{
	struct lo_dirp *d = (struct lo_dirp *)(uintptr_t)fi->fh;
	char *buf, *p;
	size_t rem = size;
	int rc = fs_check_alive(fs_of(req));

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	buf = calloc(1, size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	if (offset != d->offset) {
		seekdir(d->dp, offset);
		d->entry = NULL;
		d->offset = offset;
	}
	for (;;) {
		struct stat st = {0};
		size_t entsize;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				if (errno && rem == size) {
					rc = -errno;
					free(buf);
					fuse_reply_err(req, -rc);
					return;
				}
				break;
			}
		}
		if (ino == FUSE_ROOT_ID && lo_hidden(fs_of(req), &fs_of(req)->root, d->entry->d_name)) {
			d->entry = NULL;
			d->offset = telldir(d->dp);
			continue;
		}
		st.st_ino = d->entry->d_ino;
		st.st_mode = (mode_t)d->entry->d_type << 12;
		entsize = fuse_add_direntry(req, p, rem, d->entry->d_name, &st, telldir(d->dp));
		if (entsize > rem)
			break;
		p += entsize;
		rem -= entsize;
		d->entry = NULL;
		d->offset = telldir(d->dp);
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void lo_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lo_dirp *d = (struct lo_dirp *)(uintptr_t)fi->fh;

	(void)ino;
	if (closedir(d->dp) != 0)
		fprintf(stderr, "fsynclab: closedir: %s\n", strerror(errno));
	free(d);
	fuse_reply_err(req, 0);
}

static void lo_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_dirp *d = (struct lo_dirp *)(uintptr_t)fi->fh;
	char path[PATH_MAX];
	int rc = fs_check_alive(fs), sync_rc = 0, journal_rc = 0, state;
	bool persisted = true;

	if (rc == 0) {
		lo_path(fs, lo_inode_of(req, ino), path, sizeof(path));
		rc = fault_call(fs, datasync ? FAULT_OP_FDATASYNC : FAULT_OP_FSYNC, path, 0, 0);
		/* A failing rule still syncs: the call fails, the work is done. */
		state = atomic_load(&fs->state);
		if (state == FS_STATE_OK)
			journal_rc = lo_journal_commit(fs, path, &persisted);
		else if (state == FS_STATE_READ_ONLY)
			journal_rc = -EIO; /* the journal is aborted: nothing can be committed */
		if (state == FS_STATE_OK && journal_rc == 0 && persisted)
			sync_rc = lo_ns_commit(fs, lo_inode_of(req, ino), path, true);
		if (fs->backing_sync && (datasync ? fdatasync(dirfd(d->dp)) : fsync(dirfd(d->dp))) != 0 &&
		    sync_rc == 0)
			sync_rc = -errno;
		if (rc == 0)
			rc = journal_rc ? journal_rc : sync_rc;
	}
	fuse_reply_err(req, -rc);
}

/* ---- Open files ---- */

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
	int rc = fault_call(fs, FAULT_OP_TRUNCATE, path, 0, 0);

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

static void lo_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_inode *dir = lo_inode_of(req, parent), *inode;
	struct fuse_entry_param e;
	struct lo_file *file;
	char path[PATH_MAX];
	bool created;
	int fd, rc;

	rc = fs_check_writable(fs);
	if (rc < 0)
		goto out_err;
	lo_child_path(fs, dir, name, path, sizeof(path));
	rc = fault_call(fs, FAULT_OP_CREATE, path, 0, 0);
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
		if (close(fd) != 0)
			fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
		goto out_err;
	}
	inode = lo_inode_of(req, e.ino);
	file = lo_file_new(fs, inode, fd, fi->flags);
	if (!file) {
		if (close(fd) != 0)
			fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
		rc = -ENOMEM;
		goto out_err;
	}
	lo_fill_open_reply(fi, file);
	fuse_reply_create(req, &e, fi);
	return;
out_err:
	fuse_reply_err(req, -rc);
}

static void lo_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_inode *inode = lo_inode_of(req, ino);
	struct lo_file *file;
	char proc[64], path[PATH_MAX];
	int fd, rc;

	rc = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC) ? fs_check_writable(fs)
	                                                                  : fs_check_alive(fs);
	if (rc < 0)
		goto out_err;
	lo_path(fs, inode, path, sizeof(path));
	rc = fault_call(fs, FAULT_OP_OPEN, path, 0, 0);
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
			if (close(fd) != 0)
				fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
			goto out_err;
		}
	}
	file = lo_file_new(fs, inode, fd, fi->flags);
	if (!file) {
		if (close(fd) != 0)
			fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
		rc = -ENOMEM;
		goto out_err;
	}
	lo_fill_open_reply(fi, file);
	fuse_reply_open(req, fi);
	return;
out_err:
	fuse_reply_err(req, -rc);
}

static void lo_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;

	(void)ino;
	if (close(file->fd) != 0)
		fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
	lo_inode_put(fs, file->inode);
	free(file);
	fuse_reply_err(req, 0);
}

static void lo_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close() writes nothing back and reports nothing, as on a local filesystem (even shut down). */
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

/* ---- Data ---- */

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
static void lo_read_forget_retries(void)
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

static void lo_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;
	struct lo_inode *inode = lo_inode_of(req, ino);
	bool direct = (fi->flags & O_DIRECT) != 0, fired = false;
	struct fault_hit hit;
	char path[PATH_MAX];
	void *buf = NULL;
	ssize_t n;
	int rc;

	rc = fs_check_alive(fs);
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

/* Write PLAN to FD, all of it. Returns 0 or -errno. */
static int write_plan(int fd, const struct effect_plan *plan)
{
	size_t done = 0;

	while (done < plan->len) {
		ssize_t n = pwrite(fd, plan->data + done, plan->len - done, (off_t)(plan->offset + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Open INODE's backing file for writeback (for callers without a writable fd). -errno on failure. */
static int lo_open_for_writeback(struct lo_inode *inode)
{
	char proc[64];
	int fd;

	lo_proc_path(inode, proc, sizeof(proc));
	fd = open(proc, O_WRONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Invalidate the kernel's cache of pages a btrfs-style revert dropped. */
static void lo_notify_revert(struct fsl_fs *fs, struct lo_inode *inode, const struct pagecache_wb_result *res)
{
	int rc;

	if (!res->reverted || !fs->se)
		return;
	rc = fuse_lowlevel_notify_inval_inode(fs->se, lo_nodeid(fs, inode), (off_t)res->revert_start,
	                                      (off_t)(res->revert_end - res->revert_start));
	if (rc < 0 && rc != -ENOENT)
		fprintf(stderr, "fsynclab: invalidate after revert: %s\n", strerror(-rc));
}

static void lo_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;
	struct lo_inode *inode = lo_inode_of(req, ino);
	struct fault_hit hit;
	struct effect_plan plan;
	char path[PATH_MAX];
	ssize_t n;
	int rc;

	rc = fs_check_writable(fs);
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
			if (wfd != file->fd && close(wfd) != 0)
				fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
			/* No kernel invalidation here: the kernel holds this write's pages locked. */
		}
	}
	fuse_reply_write(req, size);
	return;
out_err:
	fuse_reply_err(req, -rc);
}

/*
 * The journal commit an fsync performs: if a `journal` rule fires, the filesystem takes the
 * profile's journal fate (read-only, shutdown, or nothing) and the fsync fails. 0 or -errno.
 */
static int lo_journal_commit(struct fsl_fs *fs, const char *path, bool *persisted)
{
	struct fault_hit hit;
	int err;

	*persisted = true;
	if (!fault_table_check(fs->faults, FAULT_OP_JOURNAL, path, 0, 0, &hit))
		return 0;
	/* `lost`: the commit reports success and persists nothing (pending names stay pending). */
	*persisted = hit.effect != FAULT_EFFECT_LOST;
	err = effect_apply_read(&hit, NULL, 0);
	if (err == 0)
		return 0; /* a delay, or an effect without meaning for a commit */
	switch (fs->profile->journal_fate) {
	case JOURNAL_FATE_READ_ONLY:
		atomic_store(&fs->state, FS_STATE_READ_ONLY);
		break;
	case JOURNAL_FATE_SHUTDOWN:
		atomic_store(&fs->state, FS_STATE_SHUTDOWN);
		break;
	case JOURNAL_FATE_NONE:
		break;
	}
	pagecache_record_error(&fs->pc, path, "journal", -err, -1);
	/* The kernel must ask again: cached attributes would hide a shutdown. */
	if (fs->profile->journal_fate != JOURNAL_FATE_NONE)
		fsl_invalidate_all(fs);
	return err;
}

/*
 * fsync, in order: the call's own rules (`fsync`/`fdatasync`: a failing call still does its work),
 * writeback of the dirty pages (`writeback` rules, page fate per profile), the journal commit
 * (`journal` rules), the real fsync of the backing file, then the errseq check: the first error
 * in that order is returned.
 */
static void lo_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;
	struct lo_inode *inode = lo_inode_of(req, ino);
	struct pagecache_wb_result res = {0};
	char path[PATH_MAX];
	int call_rc, journal_rc = 0, sync_rc = 0, wb_rc = 0, state;
	bool persisted = true;

	if (fs_check_alive(fs) < 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	lo_path(fs, inode, path, sizeof(path));
	call_rc = fault_call(fs, datasync ? FAULT_OP_FDATASYNC : FAULT_OP_FSYNC, path, 0, 0);
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
				if (wfd != file->fd && close(wfd) != 0)
					fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
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

static void lo_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi)
{
	struct fsl_fs *fs = fs_of(req);
	struct lo_file *file = (struct lo_file *)(uintptr_t)fi->fh;
	struct lo_inode *inode = lo_inode_of(req, ino);
	char path[PATH_MAX];
	int rc;

	rc = fs_check_writable(fs);
	if (rc == 0) {
		lo_path(fs, inode, path, sizeof(path));
		rc = fault_call(fs, FAULT_OP_FALLOCATE, path, (uint64_t)offset, (uint64_t)length);
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

static void lo_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	if (fs_check_alive(fs_of(req)) < 0)
		fuse_reply_err(req, EIO);
	else if (fstatvfs(fs_of(req)->root.fd, &sv) != 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

/* ---- Extended attributes (through /proc/self/fd; not on symlinks) ---- */

/* 0, or the errno that refuses xattrs on INODE. */
static int lo_xattr_check(fuse_req_t req, struct lo_inode *inode, bool modify)
{
	int rc = modify ? fs_check_writable(fs_of(req)) : fs_check_alive(fs_of(req));

	if (rc < 0)
		return -rc;
	return inode->type == S_IFLNK ? ENOTSUP : 0;
}

static void lo_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
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
	n = getxattr(proc, name, value, size);
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

static void lo_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
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
	n = listxattr(proc, value, size);
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

static void lo_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                        int flags)
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

static void lo_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
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

/* ---- Session ---- */

static void lo_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Never: every write must reach us (and, under a loop device, in order). */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->want &= ~FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* Leave file locks to the kernel (local to this mount, which is exact here). */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	conn->max_write = 1u << 20;
}

static void lo_destroy(void *userdata)
{
	struct fsl_fs *fs = userdata;

	/* A clean unmount writes back, rules still applying; failed-clean pages are not rewritten. */
	if (atomic_load(&fs->state) == FS_STATE_OK && fs->cache_emulate &&
	    fsl_writeback_all(fs, 0, fs->backing_sync) < 0)
		fprintf(stderr, "fsynclab: writeback at unmount failed\n");
}

const struct fuse_lowlevel_ops fsl_ops = {
    .init = lo_init,
    .destroy = lo_destroy,
    .lookup = lo_lookup,
    .forget = lo_forget,
    .forget_multi = lo_forget_multi,
    .getattr = lo_getattr,
    .setattr = lo_setattr,
    .readlink = lo_readlink,
    .mknod = lo_mknod,
    .mkdir = lo_mkdir,
    .symlink = lo_symlink,
    .link = lo_link,
    .unlink = lo_unlink,
    .rmdir = lo_rmdir,
    .rename = lo_rename,
    .opendir = lo_opendir,
    .readdir = lo_readdir,
    .releasedir = lo_releasedir,
    .fsyncdir = lo_fsyncdir,
    .create = lo_create,
    .open = lo_open,
    .release = lo_release,
    .flush = lo_flush,
    .read = lo_read,
    .write = lo_write,
    .fsync = lo_fsync,
    .fallocate = lo_fallocate,
    .statfs = lo_statfs,
    .getxattr = lo_getxattr,
    .listxattr = lo_listxattr,
    .setxattr = lo_setxattr,
    .removexattr = lo_removexattr,
};

/* ---- Whole-filesystem actions (control plane, flusher, unmount) ---- */

/* The running kernel is MAJOR.MINOR or newer. */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return true;
	return ma > major || (ma == major && mi >= minor);
}

int fsl_fs_init(struct fsl_fs *fs, const char *backing)
{
	struct stat st;
	int rc;

	if (!realpath(backing, fs->backing))
		return -errno;
	fs->root.fd = open(fs->backing, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root.fd < 0)
		return -errno;
	if (fstat(fs->root.fd, &st) != 0) {
		rc = -errno;
		goto out_close;
	}
	fs->root.dev = st.st_dev;
	fs->root.ino = st.st_ino;
	fs->root.type = S_IFDIR;
	fs->root.nlookup = 2;
	rc = pagecache_inode_init(&fs->root.pc);
	if (rc < 0)
		goto out_close;
	rc = -pthread_mutex_init(&fs->table_lock, NULL);
	if (rc < 0) {
		pagecache_inode_fini(&fs->pc, &fs->root.pc);
		goto out_close;
	}
	atomic_init(&fs->state, FS_STATE_OK);
	fs->sgid_needs_group = kernel_at_least(6, 2);
	return 0;
out_close:
	if (close(fs->root.fd) != 0)
		fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
	return rc;
}

void fsl_fs_fini(struct fsl_fs *fs)
{
	namespace_free(fs->ns); /* what is still pending stays: an unmount is not a power cut */
	fs->ns = NULL;
	for (size_t h = 0; h < LO_TABLE_SIZE; h++) {
		struct lo_inode *inode = fs->table[h], *next;

		for (; inode; inode = next) {
			next = inode->next;
			if (close(inode->fd) != 0)
				fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
			pagecache_inode_fini(&fs->pc, &inode->pc);
			free(inode);
		}
		fs->table[h] = NULL;
	}
	pagecache_inode_fini(&fs->pc, &fs->root.pc);
	if (close(fs->root.fd) != 0)
		fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
	pthread_mutex_destroy(&fs->table_lock);
}

/* Every inode in the table (and the root), each with a reference taken. Caller frees the array. */
static struct lo_inode **fsl_collect_inodes(struct fsl_fs *fs, size_t *count)
{
	struct lo_inode **all = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&fs->table_lock);
	for (size_t h = 0; h <= LO_TABLE_SIZE; h++) {
		struct lo_inode *inode = h == LO_TABLE_SIZE ? &fs->root : fs->table[h];

		for (; inode; inode = h == LO_TABLE_SIZE ? NULL : inode->next) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct lo_inode **na = realloc(all, ncap * sizeof(*na));

				if (!na) {
					for (size_t i = 0; i < n; i++)
						all[i]->refs--;
					pthread_mutex_unlock(&fs->table_lock);
					free(all);
					*count = 0;
					return NULL;
				}
				all = na;
				cap = ncap;
			}
			inode->refs++;
			all[n++] = inode;
		}
	}
	pthread_mutex_unlock(&fs->table_lock);
	*count = n;
	return all;
}

static void fsl_put_inodes(struct fsl_fs *fs, struct lo_inode **all, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lo_inode_put(fs, all[i]);
	free(all);
}

/*
 * Invalidate the kernel's cached data and attributes of every inode we know. Called with none of
 * our locks held: the kernel may wait for requests that need them.
 */
static void fsl_invalidate_all(struct fsl_fs *fs)
{
	size_t n;
	struct lo_inode **all = fsl_collect_inodes(fs, &n);

	if (!all)
		return;
	for (size_t i = 0; i < n && fs->se; i++) {
		int rc = fuse_lowlevel_notify_inval_inode(fs->se, lo_nodeid(fs, all[i]), 0, 0);

		if (rc < 0 && rc != -ENOENT)
			fprintf(stderr, "fsynclab: invalidate inode: %s\n", strerror(-rc));
	}
	fsl_put_inodes(fs, all, n);
}

/* The nodeid of the directory at PATH (relative to BACKING) if the kernel knows it, else 0. */
static fuse_ino_t fsl_dir_nodeid(struct fsl_fs *fs, const char *path)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	struct lo_inode *inode;
	fuse_ino_t nodeid = 0;
	struct stat st;
	long fd;
	int rc;

	if (!path[0])
		return FUSE_ROOT_ID;
	fd = syscall(SYS_openat2, fs->root.fd, path, &how, sizeof(how));
	if (fd < 0)
		return 0; /* gone: its own name was invalidated too */
	rc = fstat((int)fd, &st);
	if (close((int)fd) != 0)
		fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
	if (rc != 0)
		return 0;
	pthread_mutex_lock(&fs->table_lock);
	for (inode = fs->table[lo_hash(st.st_dev, st.st_ino)]; inode; inode = inode->next) {
		if (inode->dev == st.st_dev && inode->ino == st.st_ino && inode->nlookup > 0) {
			nodeid = lo_nodeid(fs, inode);
			break;
		}
	}
	pthread_mutex_unlock(&fs->table_lock);
	return nodeid;
}

/* Undo changed PARENT/NAME: drop the kernel's dentry (and what hangs below it). */
static void fsl_ns_touched(void *arg, const char *parent, const char *name)
{
	struct fsl_fs *fs = arg;
	fuse_ino_t nodeid = fs->se ? fsl_dir_nodeid(fs, parent) : 0;
	int rc;

	if (!nodeid)
		return;
	rc = fuse_lowlevel_notify_inval_entry(fs->se, nodeid, name, strlen(name));
	if (rc < 0 && rc != -ENOENT)
		fprintf(stderr, "fsynclab: invalidate entry '%s' in '%s': %s\n", name, parent, strerror(-rc));
}

int fsl_namespace_start(struct fsl_fs *fs, enum namespace_rule rule)
{
	if (!fs->cache_emulate)
		return 0; /* --cache none: names are durable at once, as before */
	return namespace_new(fs->root.fd, rule, fs->backing_sync, &fs->ns);
}

int fsl_reboot(struct fsl_fs *fs)
{
	size_t n;
	struct lo_inode **all = fsl_collect_inodes(fs, &n);
	int rc;

	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		pagecache_drop_all(&fs->pc, &all[i]->pc);
	atomic_store(&fs->state, FS_STATE_OK);
	fsl_put_inodes(fs, all, n);
	/* Names nothing made durable go, newest first; their kernel dentries with them. */
	if (fs->ns) {
		rc = namespace_undo_all(fs->ns, fsl_ns_touched, fs);
		if (rc < 0)
			fprintf(stderr, "fsynclab: reboot: namespace undo incomplete: %s\n", strerror(-rc));
	}
	fsl_invalidate_all(fs);
	lo_read_forget_retries();
	return 0;
}

/* Write back INODE's dirty pages through a descriptor of its own (and fdatasync it). Pages written. */
static unsigned fsl_writeback_one(struct fsl_fs *fs, struct lo_inode *inode, bool sync_backing)
{
	struct pagecache_wb_result res;
	char path[PATH_MAX];
	int fd;

	lo_path(fs, inode, path, sizeof(path));
	fd = lo_open_for_writeback(inode);
	if (fd < 0) {
		pagecache_record_error(&fs->pc, path, "writeback", -fd, -1);
		return 0;
	}
	if (pagecache_writeback_inode(&fs->pc, &inode->pc, fd, path, &res) < 0)
		fprintf(stderr, "fsynclab: background writeback of '%s' failed\n", path);
	if (sync_backing && fdatasync(fd) != 0)
		pagecache_record_error(&fs->pc, path, "sync", errno, -1);
	if (close(fd) != 0)
		fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
	lo_notify_revert(fs, inode, &res);
	return res.written;
}

int fsl_writeback_all(struct fsl_fs *fs, int64_t age_ns, bool sync_backing)
{
	size_t n;
	struct lo_inode **all = fsl_collect_inodes(fs, &n);
	int64_t now = pagecache_now_ns();

	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct lo_inode *inode = all[i];

		if (inode->type == S_IFREG && pagecache_has_dirty(&inode->pc, now, age_ns))
			fsl_writeback_one(fs, inode, sync_backing);
	}
	fsl_put_inodes(fs, all, n);
	/* The periodic journal commit (AGE_NS = the interval), or sync/unmount (0): names too. */
	if (fs->ns && atomic_load(&fs->state) == FS_STATE_OK && namespace_pending_older(fs->ns, age_ns) > 0) {
		bool persisted;

		if (lo_journal_commit(fs, "", &persisted) == 0 && persisted &&
		    namespace_commit_older(fs->ns, age_ns) < 0)
			pagecache_record_error(&fs->pc, "", "sync", EIO, -1);
	}
	return 0;
}

/* An inode with dirty pages, and since when: the background pass writes the oldest first. */
struct fsl_dirty_inode {
	int64_t since;
	struct lo_inode *inode;
};

static int fsl_dirty_inode_cmp(const void *a, const void *b)
{
	int64_t x = ((const struct fsl_dirty_inode *)a)->since,
	        y = ((const struct fsl_dirty_inode *)b)->since;

	return (x > y) - (x < y);
}

int fsl_writeback_background(struct fsl_fs *fs, unsigned *written)
{
	size_t n, ndirty = 0;
	struct lo_inode **all = fsl_collect_inodes(fs, &n);
	struct fsl_dirty_inode *dirty;

	*written = 0;
	if (!all)
		return -ENOMEM;
	dirty = calloc(n ? n : 1, sizeof(*dirty));
	if (!dirty) {
		fsl_put_inodes(fs, all, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t since = all[i]->type == S_IFREG ? pagecache_dirtied_when(&all[i]->pc) : INT64_MAX;

		if (since != INT64_MAX)
			dirty[ndirty++] = (struct fsl_dirty_inode){.since = since, .inode = all[i]};
	}
	qsort(dirty, ndirty, sizeof(*dirty), fsl_dirty_inode_cmp);
	for (size_t i = 0; i < ndirty && pagecache_over_background(&fs->pc); i++)
		*written += fsl_writeback_one(fs, dirty[i].inode, false);
	free(dirty);
	fsl_put_inodes(fs, all, n);
	return 0;
}

json_t *fsl_status_json(struct fsl_fs *fs)
{
	size_t n;
	struct lo_inode **all = fsl_collect_inodes(fs, &n);
	json_t *files = json_array(), *st = NULL;

	if (!all || !files)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct lo_inode *inode = all[i];
		struct stat sb;
		json_t *f;
		char path[PATH_MAX];

		if (inode->type != S_IFREG || fstatat(inode->fd, "", &sb, AT_EMPTY_PATH) != 0)
			continue;
		f = pagecache_inode_status_json(&inode->pc, (uint64_t)sb.st_size);
		if (!f)
			continue;
		lo_path(fs, inode, path, sizeof(path));
		json_object_set_new(f, "path", json_string(path));
		json_array_append_new(files, f);
	}
	st = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:O, s:o}", "mountpoint", fs->mnt, "backing",
	               fs->backing, "profile", fs->profile->name, "cache",
	               fs->cache_emulate ? "emulate" : "none", "block_size", (json_int_t)fs->block_size,
	               "state", fsl_state_name(atomic_load(&fs->state)), "files", files, "errors",
	               pagecache_errors_json(&fs->pc));
	if (st && fs->ns)
		json_object_set_new(st, "namespace", namespace_status_json(fs->ns));
	if (st)
		json_object_set_new(st, "fuse",
		                    json_pack("{s:b, s:o}", "killpriv_v2", wire_killpriv_v2(), "requests",
		                              wire_requests_json()));
out:
	json_decref(files);
	if (all)
		fsl_put_inodes(fs, all, n);
	return st;
}
