/*
 * fs_actions.c — what happens to the whole filesystem rather than to one request, for the control
 * plane, the flusher and unmount (daemon.c, and lo_destroy in ops.c): setting it up and tearing it
 * down (fsl_fs_init, fsl_fs_fini, fsl_namespace_start); the power cut (fsl_reboot: cached pages
 * dropped, pending names undone, the kernel's caches invalidated); writeback of every inode
 * (fsl_writeback_all for sync, unmount and the periodic commit; fsl_writeback_background for the
 * flusher); and the status the control socket reports (fsl_status_json).
 */
#include "ops_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "wire.h"

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
	io_close_logged(fs->root.fd);
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
			io_close_logged(inode->fd);
			pagecache_inode_fini(&fs->pc, &inode->pc);
			free(inode);
		}
		fs->table[h] = NULL;
	}
	pagecache_inode_fini(&fs->pc, &fs->root.pc);
	io_close_logged(fs->root.fd);
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
void fsl_invalidate_all(struct fsl_fs *fs)
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
	io_close_logged((int)fd);
	if (rc != 0)
		return 0;
	pthread_mutex_lock(&fs->table_lock);
	inode = lo_inode_find_locked(fs, st.st_dev, st.st_ino);
	if (inode && inode->nlookup > 0)
		nodeid = lo_nodeid(fs, inode);
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
	io_close_logged(fd);
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
