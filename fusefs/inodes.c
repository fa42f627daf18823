/*
 * inodes.c — the inode table: every file or directory of BACKING the kernel knows about (or whose
 * pages we still hold), found by (dev, ino), each an O_PATH descriptor never reopened by name.
 * It owns the kernel's nodeids (the lo_inode's address; FUSE_ROOT_ID for the root), the two
 * reference counts and freeing an inode nothing refers to any more: nlookup, the kernel's lookups
 * (taken by lo_inode_intern, dropped by lo_forget_one), and refs, open files and in-flight users
 * (lo_inode_get, lo_inode_put). And the ways to name an inode: lo_path (relative to the mount, for
 * fault matching and error logs), lo_child_path, lo_proc_path (/proc/self/fd/N, how files are
 * opened), lo_hidden (the namespace journal's directory, never visible); and lo_stat, its
 * attributes with the size the page cache knows.
 *
 * Locking: fs->table_lock protects the table and each inode's nlookup/refs; each inode's page
 * cache has its own lock (taken after, never before, table_lock).
 */
#include "ops_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fsl_fs *lo_fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

struct lo_inode *lo_inode_of(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &lo_fs_of(req)->root;
	return (struct lo_inode *)(uintptr_t)ino;
}

fuse_ino_t lo_nodeid(struct fsl_fs *fs, struct lo_inode *inode)
{
	return inode == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)inode;
}

static size_t lo_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (size_t)(h >> 20) % LO_TABLE_SIZE;
}

struct lo_inode *lo_inode_find_locked(struct fsl_fs *fs, dev_t dev, ino_t ino)
{
	struct lo_inode *inode;

	for (inode = fs->table[lo_hash(dev, ino)]; inode; inode = inode->next)
		if (inode->dev == dev && inode->ino == ino)
			return inode;
	return NULL;
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
void lo_inode_get(struct fsl_fs *fs, struct lo_inode *inode)
{
	pthread_mutex_lock(&fs->table_lock);
	inode->refs++;
	pthread_mutex_unlock(&fs->table_lock);
}

void lo_inode_put(struct fsl_fs *fs, struct lo_inode *inode)
{
	pthread_mutex_lock(&fs->table_lock);
	inode->refs--;
	lo_inode_maybe_free_locked(fs, inode);
	pthread_mutex_unlock(&fs->table_lock);
}

/* Find or add the inode for the object FD refers to (FD is consumed). Returns NULL on ENOMEM. */
struct lo_inode *lo_inode_intern(struct fsl_fs *fs, int fd, const struct stat *st)
{
	struct lo_inode *inode;
	size_t h = lo_hash(st->st_dev, st->st_ino);

	if (st->st_dev == fs->root.dev && st->st_ino == fs->root.ino) {
		pthread_mutex_lock(&fs->table_lock);
		fs->root.nlookup++;
		pthread_mutex_unlock(&fs->table_lock);
		io_close_logged(fd);
		return &fs->root;
	}
	pthread_mutex_lock(&fs->table_lock);
	inode = lo_inode_find_locked(fs, st->st_dev, st->st_ino);
	if (inode) {
		inode->nlookup++;
		pthread_mutex_unlock(&fs->table_lock);
		io_close_logged(fd);
		return inode;
	}
	inode = calloc(1, sizeof(*inode));
	if (!inode || pagecache_inode_init(&inode->pc) != 0) {
		pthread_mutex_unlock(&fs->table_lock);
		free(inode);
		io_close_logged(fd);
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

void lo_forget_one(struct fsl_fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct lo_inode *inode = ino == FUSE_ROOT_ID ? &fs->root : (struct lo_inode *)(uintptr_t)ino;

	pthread_mutex_lock(&fs->table_lock);
	inode->nlookup = inode->nlookup > nlookup ? inode->nlookup - nlookup : 0;
	lo_inode_maybe_free_locked(fs, inode);
	pthread_mutex_unlock(&fs->table_lock);
}

/*
 * The inode's path relative to the mount root, for fault matching and error logs ("" for the
 * root). Read from /proc/self/fd, so it follows renames; " (deleted)" is cut off.
 */
void lo_path(struct fsl_fs *fs, struct lo_inode *inode, char *buf, size_t len)
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
bool lo_hidden(struct fsl_fs *fs, struct lo_inode *dir, const char *name)
{
	return fs->ns && dir == &fs->root && namespace_is_hidden(name);
}

/* PARENT's path joined with NAME. */
void lo_child_path(struct fsl_fs *fs, struct lo_inode *parent, const char *name, char *buf, size_t len)
{
	char ppath[PATH_MAX];

	int n;

	lo_path(fs, parent, ppath, sizeof(ppath));
	n = snprintf(buf, len, "%s%s%s", ppath, ppath[0] ? "/" : "", name);
	if (n < 0 || (size_t)n >= len)
		snprintf(buf, len, "?"); /* too long to match any rule sensibly */
}

void lo_proc_path(const struct lo_inode *inode, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", inode->fd);
}

/* stat the inode, with the size the page cache knows (writes past the end are not on disk yet). */
int lo_stat(struct fsl_fs *fs, struct lo_inode *inode, struct stat *st)
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
