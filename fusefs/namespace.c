/*
 * namespace.c — which directory operations a power cut takes back.
 *
 * A filesystem keeps two kinds of state that reach the disk by different roads. File *data* sits
 * in the page cache until writeback (pagecache.c emulates that). *Names* — a created file, a new
 * directory, a rename, an unlink, and the inode's size after a truncate — are metadata: the
 * filesystem changes them in memory at once, and they become durable only when its journal (or,
 * on btrfs, its log tree) commits. Until then a power cut loses them. The classic consequences:
 *
 *   - "rename() is atomic, so I don't need fsync": atomic, yes; durable, no. After a power cut
 *     the old name (and the old file) may be back.
 *   - A file created and fsynced, its directory never fsynced: on btrfs (and by POSIX) the name
 *     may be gone, with the data it named.
 *   - write temp, rename over the real file, no fsync of the temp's data: the rename commits,
 *     the data does not — the zero-length file of the ext4 delayed-allocation days.
 *
 * The model. Every namespace operation is applied to BACKING immediately, so the names users
 * see are always current, and is appended to a journal of *pending* operations together with
 * what it takes to undo it. Nothing is destroyed while an operation is pending: an unlinked or
 * removed entry, and a rename's replaced target, are moved (or hard-linked) into the hidden
 * directory NAMESPACE_HIDDEN_NAME at the BACKING root, and the bytes a truncate cuts off are
 * copied there first. A *commit* makes operations durable: it forgets them and deletes their
 * stashes. A *power cut* (namespace_undo_all) undoes the pending ones newest first, so that each
 * undo finds the namespace exactly as its operation left it, and BACKING then shows the durable
 * namespace. Undo works on names; a file that comes back has whatever its backing file holds:
 * its durable data, which is the page cache's business, not this file's.
 *
 * What commits, per rule (namespace_rule_for_profile):
 *
 *   journal    ext4 (ordered and data=journal), xfs, keep-dirty. One journal for the whole
 *              filesystem: any fsync or fdatasync, a directory fsync, sync/syncfs and the periodic
 *              commit each commit it, and with it *every* earlier operation, whatever file the
 *              fsync was about. (ext4's auto_da_alloc is in ops_names.c: lo_replace_source.)
 *   per-inode  btrfs. An fsync of a file persists that file's own entries (its creation, links,
 *              renames, unlinks of its names) and its size; an fsync of a directory persists the
 *              entries of that directory. One exception, as btrfs's log tree has it: when the
 *              file's directory still has a pending rename or unlink out of it, btrfs logs the
 *              whole directory, so the file's fsync persists that directory's entries too
 *              (checked against btrfs on Linux 6.18 with `fsynclab compare`). sync/syncfs and
 *              the periodic commit commit everything.
 *   posix      the minimum POSIX promises (opt-in, `--namespace posix`): only a directory fsync
 *              persists names; a file's fsync persists its size.
 *
 * A selective commit (per-inode, posix) may not leave an operation pending that a committed,
 * later operation depends on, or undo would find a namespace its operation never left (rmdir of
 * a directory whose new child is durable). So a commit also takes every earlier pending operation
 * that *conflicts* with one it commits, transitively: two operations conflict when a path of one
 * is equal to, or an ancestor or descendant of, a path of the other (a directory's creation and
 * the files created in it; a rename of a directory and everything under its old and new names),
 * or when both are truncates of one inode. One backwards pass computes that closure, since
 * conflicts only ever pull in earlier operations. Committing a file on btrfs thus also commits
 * the creation of its new parent directories — which is what btrfs does.
 *
 * A journal commit that fails (a `journal` fault) commits nothing: the callers (fs_state.c's lo_ns_commit, fs_actions.c) only call
 * the commit functions after lo_journal_commit() succeeded.
 *
 * Known limits: the journal lives in the daemon's memory; a daemon that is killed, or unmounted
 * cleanly, leaves BACKING as it is (everything counts as committed, and the stash is emptied at
 * the next mount). Renaming a directory over an empty directory is not atomic for an observer of
 * BACKING (the target is moved away first). chmod, chown, utimes, xattrs and fallocate are
 * durable at once. A subdirectory of BACKING on another filesystem cannot be stashed into (EXDEV):
 * operations there are durable at once, and logged.
 *
 * Locking: ns->lock protects the journal (ops, nops, next_seq) and serialises the namespace
 * operations with it, so journal order is operation order. It is held across syscalls on BACKING
 * only, never across calls into the kernel's FUSE side (undo reports touched names after
 * releasing it). nstashed is read without the lock for a fast path.
 */
#include "namespace.h"
#include "io_full.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* One pending operation and what it takes to undo it. */
struct ns_op {
	uint64_t seq; /* journal order */
	enum namespace_op_kind kind;
	int64_t when_ns; /* CLOCK_MONOTONIC when it happened (periodic commit) */
	char *path;      /* the name it made or removed; a rename's source; a truncate's file */
	char *to;        /* a rename's destination, else NULL */
	char stash[32];  /* its entry in the hidden directory, or "" */
	bool stash_dir;  /* the stash is a directory (rmdir, a replaced directory) */
	bool stash_name; /* the stash is a name of the inode (sdev, sino): hidden link */
	unsigned flags;  /* rename flags */
	dev_t dev;       /* the subject inode: created, linked, renamed, unlinked, truncated */
	ino_t ino;
	dev_t sdev; /* the stashed entry's inode (unlink; a rename's replaced target) */
	ino_t sino;
	int fd;                      /* truncate: O_PATH descriptor of the file; else -1 */
	uint64_t old_size, new_size; /* truncate */
};

struct namespace
{
	int rootfd;   /* the BACKING root (O_PATH), owned */
	int hiddenfd; /* the hidden directory (O_PATH), owned */
	enum namespace_rule rule;
	bool sync_dirs;       /* fsync backing directories at commit */
	pthread_mutex_t lock; /* protects everything below, and serialises operations */
	struct ns_op **ops;   /* pending operations, oldest first */
	size_t nops, cap;
	uint64_t next_seq;
	_Atomic unsigned nstashed; /* ops whose stash is a name of an inode (lock-free fast path) */
};

static const char *const op_names[NAMESPACE_OP_COUNT] = {
    [NAMESPACE_OP_CREATE] = "create", [NAMESPACE_OP_MKNOD] = "mknod",   [NAMESPACE_OP_SYMLINK] = "symlink",
    [NAMESPACE_OP_LINK] = "link",     [NAMESPACE_OP_MKDIR] = "mkdir",   [NAMESPACE_OP_UNLINK] = "unlink",
    [NAMESPACE_OP_RMDIR] = "rmdir",   [NAMESPACE_OP_RENAME] = "rename", [NAMESPACE_OP_TRUNCATE] = "truncate",
};

const char *namespace_op_name(enum namespace_op_kind kind)
{
	return kind < NAMESPACE_OP_COUNT ? op_names[kind] : "?";
}

const char *namespace_rule_name(enum namespace_rule rule)
{
	switch (rule) {
	case NAMESPACE_RULE_JOURNAL:
		return "journal";
	case NAMESPACE_RULE_PER_INODE:
		return "per-inode";
	case NAMESPACE_RULE_POSIX:
		return "posix";
	}
	return "?";
}

enum namespace_rule namespace_rule_for_profile(const char *name)
{
	return name && strcmp(name, "btrfs") == 0 ? NAMESPACE_RULE_PER_INODE : NAMESPACE_RULE_JOURNAL;
}

bool namespace_is_hidden(const char *name)
{
	return strcmp(name, NAMESPACE_HIDDEN_NAME) == 0;
}

/* ---- Paths ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* DIR/NAME (NAME alone when DIR is the root ""), malloc'ed; NULL on ENOMEM. */
static char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s%s%s", dir, dir[0] ? "/" : "", name) < 0)
		return NULL;
	return p;
}

/* Split PATH into its parent (into PARENT, "" for the root) and its last component (returned). */
static const char *path_split(const char *path, char *parent, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		parent[0] = '\0';
		return path;
	}
	snprintf(parent, len, "%.*s", (int)(slash - path), path);
	return slash + 1;
}

/* True when A equals B or one is an ancestor of the other. */
static bool path_related(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), l = la < lb ? la : lb;

	if (strncmp(a, b, l) != 0)
		return false;
	if (la == lb)
		return true;
	return (la < lb ? b : a)[l] == '/';
}

/* The parent of PATH equals DIR. */
static bool path_in_dir(const char *path, const char *dir)
{
	char parent[PATH_MAX];

	if (!path)
		return false;
	path_split(path, parent, sizeof(parent));
	return strcmp(parent, dir) == 0;
}

/* Open directory PATH below the root without following any symlink. Returns an O_PATH fd or -errno. */
static int open_beneath(struct namespace *ns, const char *path)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, ns->rootfd, path[0] ? path : ".", &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Open the file behind the O_PATH descriptor FD with FLAGS. Returns the fd or -errno. */
static int reopen(int fd, int flags)
{
	char proc[64];
	int nfd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	nfd = open(proc, flags | O_CLOEXEC);
	return nfd < 0 ? -errno : nfd;
}

/* Copy LEN bytes from IN at INOFF to OUT at OUTOFF (short at IN's end of file). 0 or -errno. */
static int copy_range(int in, uint64_t inoff, int out, uint64_t outoff, uint64_t len)
{
	char buf[65536];

	while (len > 0) {
		ssize_t n = pread(in, buf, len < sizeof(buf) ? (size_t)len : sizeof(buf), (off_t)inoff);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		rc = io_pwrite_all(out, buf, (size_t)n, outoff);
		if (rc < 0)
			return rc;
		inoff += (uint64_t)n;
		outoff += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Open directory NAME in DIRFD (never through a symlink) as a stream in *D. 0 or -errno. */
static int dir_open(int dirfd, const char *name, DIR **d)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	*d = fdopendir(fd);
	if (!*d) {
		rc = -errno;
		io_close_logged(fd);
		return rc;
	}
	return 0;
}

/* True when directory NAME in DIRFD has no entry but . and .. ; -errno on failure. */
static int dir_is_empty(int dirfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int empty = 1, rc = dir_open(dirfd, name, &d);

	if (rc < 0)
		return rc;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	if (closedir(d) != 0)
		fprintf(stderr, "fsynclab: namespace: closedir: %s\n", strerror(errno));
	return empty;
}

/* ---- The journal ---- */

static struct ns_op *op_new(enum namespace_op_kind kind)
{
	struct ns_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->kind = kind;
	op->fd = -1;
	op->when_ns = now_ns();
	return op;
}

static void op_free(struct ns_op *op)
{
	if (!op)
		return;
	io_close_logged(op->fd);
	free(op->path);
	free(op->to);
	free(op);
}

/* Give OP a fresh stash name (before it is used). The caller holds the lock. */
static void op_name_stash(struct namespace *ns, struct ns_op *op)
{
	snprintf(op->stash, sizeof(op->stash), "u%llu", (unsigned long long)ns->next_seq++);
}

/* Append OP to the journal; the caller holds the lock. 0 or -ENOMEM (OP is then not owned). */
static int journal_push(struct namespace *ns, struct ns_op *op)
{
	if (ns->nops == ns->cap) {
		size_t ncap = ns->cap ? ns->cap * 2 : 64;
		struct ns_op **nops = realloc(ns->ops, ncap * sizeof(*nops));

		if (!nops)
			return -ENOMEM;
		ns->ops = nops;
		ns->cap = ncap;
	}
	op->seq = ns->next_seq++;
	ns->ops[ns->nops++] = op;
	if (op->stash_name)
		atomic_fetch_add(&ns->nstashed, 1);
	return 0;
}

/* Remove OP's stash from the hidden directory (a commit, or the leftovers of an undo). */
static int stash_remove(struct namespace *ns, struct ns_op *op)
{
	if (!op->stash[0])
		return 0;
	if (unlinkat(ns->hiddenfd, op->stash, op->stash_dir ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT) {
		int rc = -errno;

		fprintf(stderr, "fsynclab: namespace: remove stash %s of %s '%s': %s\n", op->stash,
		        namespace_op_name(op->kind), op->path, strerror(errno));
		return rc;
	}
	op->stash[0] = '\0';
	return 0;
}

/* ---- Setup ---- */

/* Empty the hidden directory (leftovers of a daemon that was killed). 0 or -errno. */
static int hidden_clean(struct namespace *ns)
{
	struct dirent *de;
	DIR *d;
	int rc = dir_open(ns->rootfd, NAMESPACE_HIDDEN_NAME, &d);

	if (rc < 0)
		return rc;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, de->d_type == DT_DIR ? AT_REMOVEDIR : 0) != 0 && rc == 0) {
			rc = -errno;
			fprintf(stderr, "fsynclab: namespace: remove leftover %s/%s: %s\n",
			        NAMESPACE_HIDDEN_NAME, de->d_name, strerror(errno));
		}
	}
	if (closedir(d) != 0)
		fprintf(stderr, "fsynclab: namespace: closedir: %s\n", strerror(errno));
	return rc;
}

int namespace_new(int rootfd, enum namespace_rule rule, bool sync_dirs, struct namespace **out)
{
	struct namespace *ns = calloc(1, sizeof(*ns));
	int rc;

	*out = NULL;
	if (!ns)
		return -ENOMEM;
	ns->rule = rule;
	ns->sync_dirs = sync_dirs;
	ns->hiddenfd = -1;
	ns->rootfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (ns->rootfd < 0) {
		rc = -errno;
		free(ns);
		return rc;
	}
	if (mkdirat(ns->rootfd, NAMESPACE_HIDDEN_NAME, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		goto out_err;
	}
	rc = hidden_clean(ns);
	if (rc < 0)
		goto out_err;
	ns->hiddenfd =
	    openat(ns->rootfd, NAMESPACE_HIDDEN_NAME, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ns->hiddenfd < 0) {
		rc = -errno;
		goto out_err;
	}
	rc = -pthread_mutex_init(&ns->lock, NULL);
	if (rc < 0)
		goto out_err;
	atomic_init(&ns->nstashed, 0);
	*out = ns;
	return 0;
out_err:
	io_close_logged(ns->hiddenfd);
	io_close_logged(ns->rootfd);
	free(ns);
	return rc;
}

void namespace_free(struct namespace *ns)
{
	if (!ns)
		return;
	for (size_t i = 0; i < ns->nops; i++) {
		if (stash_remove(ns, ns->ops[i]) < 0)
			fprintf(stderr, "fsynclab: namespace: stash left in %s\n", NAMESPACE_HIDDEN_NAME);
		op_free(ns->ops[i]);
	}
	free(ns->ops);
	pthread_mutex_destroy(&ns->lock);
	io_close_logged(ns->hiddenfd);
	io_close_logged(ns->rootfd);
	free(ns);
}

void namespace_lock(struct namespace *ns)
{
	pthread_mutex_lock(&ns->lock);
}

void namespace_unlock(struct namespace *ns)
{
	pthread_mutex_unlock(&ns->lock);
}

/* ---- Operations ---- */

int namespace_record_locked(struct namespace *ns, enum namespace_op_kind kind, const char *path, dev_t dev,
                            ino_t ino)
{
	struct ns_op *op = op_new(kind);

	if (!op || !(op->path = strdup(path)) || journal_push(ns, op) < 0) {
		op_free(op);
		fprintf(stderr, "fsynclab: namespace: out of memory: %s '%s' is durable at once\n",
		        namespace_op_name(kind), path);
		return -ENOMEM;
	}
	op->dev = dev;
	op->ino = ino;
	return 0;
}

int namespace_unlink(struct namespace *ns, int dirfd, const char *dirpath, const char *name, bool dir)
{
	struct ns_op *op = NULL;
	struct stat st;
	int rc;

	pthread_mutex_lock(&ns->lock);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = -errno;
		goto out;
	}
	if (dir && !S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
		goto out;
	}
	if (!dir && S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (dir) {
		rc = dir_is_empty(dirfd, name);
		if (rc <= 0) {
			rc = rc == 0 ? -ENOTEMPTY : rc;
			goto out;
		}
	}
	op = op_new(dir ? NAMESPACE_OP_RMDIR : NAMESPACE_OP_UNLINK);
	if (!op || !(op->path = path_join(dirpath, name))) {
		rc = -ENOMEM;
		goto out;
	}
	op_name_stash(ns, op);
	op->stash_dir = dir;
	op->stash_name = !dir;
	op->dev = op->sdev = st.st_dev;
	op->ino = op->sino = st.st_ino;
	if (renameat(dirfd, name, ns->hiddenfd, op->stash) != 0) {
		rc = -errno;
		if (rc == -EXDEV || rc == -EPERM) {
			/* Not stashable here (another filesystem): the plain call, durable at once. */
			fprintf(stderr, "fsynclab: namespace: %s '%s' cannot be undone (%s)\n",
			        namespace_op_name(op->kind), op->path, strerror(-rc));
			rc = unlinkat(dirfd, name, dir ? AT_REMOVEDIR : 0) != 0 ? -errno : 0;
		}
		goto out;
	}
	rc = journal_push(ns, op);
	if (rc < 0) {
		/* Cannot remember it: finish the unlink for good. */
		if (unlinkat(ns->hiddenfd, op->stash, dir ? AT_REMOVEDIR : 0) != 0)
			fprintf(stderr, "fsynclab: namespace: remove stash %s: %s\n", op->stash,
			        strerror(errno));
		rc = 0;
		goto out;
	}
	op = NULL;
out:
	op_free(op);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* Move the existing target NEWNAME out of the way into OP's stash: a hard link for a non-directory
 * (the rename then replaces it atomically), a move for an (empty) directory. 0 or -errno. */
static int rename_stash_target(struct namespace *ns, struct ns_op *op, int newdirfd, const char *newname,
                               const struct stat *oldst, const struct stat *newst)
{
	int rc;

	if (S_ISDIR(newst->st_mode)) {
		if (!S_ISDIR(oldst->st_mode))
			return -EISDIR;
		rc = dir_is_empty(newdirfd, newname);
		if (rc <= 0)
			return rc == 0 ? -ENOTEMPTY : rc;
		op->stash_dir = true;
		return renameat(newdirfd, newname, ns->hiddenfd, op->stash) != 0 ? -errno : 0;
	}
	if (S_ISDIR(oldst->st_mode))
		return -ENOTDIR;
	op->stash_name = true;
	return linkat(newdirfd, newname, ns->hiddenfd, op->stash, 0) != 0 ? -errno : 0;
}

int namespace_rename(struct namespace *ns, int olddirfd, const char *olddirpath, const char *oldname,
                     int newdirfd, const char *newdirpath, const char *newname, unsigned flags)
{
	struct ns_op *op = NULL;
	struct stat oldst, newst;
	bool target;
	int rc;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	pthread_mutex_lock(&ns->lock);
	if (fstatat(olddirfd, oldname, &oldst, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = -errno;
		goto out;
	}
	target = fstatat(newdirfd, newname, &newst, AT_SYMLINK_NOFOLLOW) == 0;
	if (!target && errno != ENOENT) {
		rc = -errno;
		goto out;
	}
	if (target && !(flags & RENAME_EXCHANGE) && oldst.st_dev == newst.st_dev &&
	    oldst.st_ino == newst.st_ino) {
		/* Two names of one inode: rename(2) does nothing (or refuses with NOREPLACE). */
		rc = renameat2(olddirfd, oldname, newdirfd, newname, flags) != 0 ? -errno : 0;
		goto out;
	}
	op = op_new(NAMESPACE_OP_RENAME);
	if (!op || !(op->path = path_join(olddirpath, oldname)) ||
	    !(op->to = path_join(newdirpath, newname))) {
		rc = -ENOMEM;
		goto out;
	}
	op->flags = flags;
	op->dev = oldst.st_dev;
	op->ino = oldst.st_ino;
	if (target && !(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE))) {
		op_name_stash(ns, op);
		op->sdev = newst.st_dev;
		op->sino = newst.st_ino;
		rc = rename_stash_target(ns, op, newdirfd, newname, &oldst, &newst);
		if (rc < 0) {
			op->stash[0] = '\0';
			if (rc == -EXDEV || rc == -EPERM || rc == -EMLINK) {
				fprintf(stderr, "fsynclab: namespace: rename to '%s' cannot be undone (%s)\n",
				        op->to, strerror(-rc));
				rc = renameat2(olddirfd, oldname, newdirfd, newname, flags) != 0 ? -errno : 0;
			}
			goto out;
		}
	}
	if (renameat2(olddirfd, oldname, newdirfd, newname, flags) != 0) {
		rc = -errno;
		/* Put a moved-away directory target back; a hard-linked one just loses its extra link. */
		if (op->stash[0] && op->stash_dir &&
		    renameat(ns->hiddenfd, op->stash, newdirfd, newname) != 0)
			fprintf(stderr, "fsynclab: namespace: restore '%s': %s\n", op->to, strerror(errno));
		else if (op->stash[0] && !op->stash_dir && unlinkat(ns->hiddenfd, op->stash, 0) != 0)
			fprintf(stderr, "fsynclab: namespace: remove stash %s: %s\n", op->stash,
			        strerror(errno));
		goto out;
	}
	rc = journal_push(ns, op);
	if (rc < 0) {
		if (stash_remove(ns, op) < 0)
			fprintf(stderr, "fsynclab: namespace: stash of '%s' left behind\n", op->to);
		rc = 0;
		goto out;
	}
	op = NULL;
out:
	op_free(op);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

int namespace_truncate(struct namespace *ns, int fd, int inodefd, const char *path, uint64_t newsize)
{
	struct ns_op *op = NULL;
	struct stat st;
	int rfd = -1, wfd = fd, sfd = -1, rc;

	pthread_mutex_lock(&ns->lock);
	if (fstatat(inodefd, "", &st, AT_EMPTY_PATH) != 0) {
		rc = -errno;
		goto out;
	}
	if (wfd < 0) {
		wfd = reopen(inodefd, O_WRONLY);
		if (wfd < 0) {
			rc = wfd;
			goto out;
		}
	}
	if ((uint64_t)st.st_size == newsize || !S_ISREG(st.st_mode))
		goto plain; /* nothing to undo */
	op = op_new(NAMESPACE_OP_TRUNCATE);
	if (!op || !(op->path = strdup(path))) {
		rc = -ENOMEM;
		goto out;
	}
	op->dev = st.st_dev;
	op->ino = st.st_ino;
	op->old_size = (uint64_t)st.st_size;
	op->new_size = newsize;
	op->fd = fcntl(inodefd, F_DUPFD_CLOEXEC, 0);
	if (op->fd < 0) {
		rc = -errno;
		goto out;
	}
	if (newsize < op->old_size) {
		/* Keep the bytes the shrink cuts off. */
		rfd = reopen(inodefd, O_RDONLY);
		if (rfd < 0) {
			fprintf(stderr, "fsynclab: namespace: truncate of '%s' cannot be undone (%s)\n", path,
			        strerror(-rfd));
			goto plain;
		}
		op_name_stash(ns, op);
		sfd = openat(ns->hiddenfd, op->stash, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (sfd < 0) {
			rc = -errno;
			op->stash[0] = '\0';
			goto out;
		}
		rc = copy_range(rfd, newsize, sfd, 0, op->old_size - newsize);
		if (rc < 0)
			goto out_stash;
	}
	if (ftruncate(wfd, (off_t)newsize) != 0) {
		rc = -errno;
		goto out_stash;
	}
	if (journal_push(ns, op) < 0) {
		if (stash_remove(ns, op) < 0)
			fprintf(stderr, "fsynclab: namespace: stash of '%s' left behind\n", path);
	} else {
		op = NULL;
	}
	rc = 0;
	goto out;
plain:
	rc = ftruncate(wfd, (off_t)newsize) != 0 ? -errno : 0;
	goto out;
out_stash:
	if (stash_remove(ns, op) < 0)
		fprintf(stderr, "fsynclab: namespace: stash of '%s' left behind\n", path);
out:
	io_close_logged(sfd);
	io_close_logged(rfd);
	if (wfd != fd)
		io_close_logged(wfd);
	op_free(op);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* ---- Commit ---- */

/* Do A and B depend on each other (see the top of the file)? */
static bool ops_conflict(const struct ns_op *a, const struct ns_op *b)
{
	bool ta = a->kind == NAMESPACE_OP_TRUNCATE, tb = b->kind == NAMESPACE_OP_TRUNCATE;

	if (ta || tb)
		return ta && tb && a->dev == b->dev && a->ino == b->ino;
	return path_related(a->path, b->path) || (b->to && path_related(a->path, b->to)) ||
	       (a->to && path_related(a->to, b->path)) || (a->to && b->to && path_related(a->to, b->to));
}

/* Add to SEL every earlier operation a selected one depends on (one backwards pass). */
static void select_closure(struct namespace *ns, bool *sel)
{
	for (size_t i = ns->nops; i-- > 0;) {
		if (sel[i])
			continue;
		for (size_t j = i + 1; j < ns->nops; j++) {
			if (sel[j] && ops_conflict(ns->ops[i], ns->ops[j])) {
				sel[i] = true;
				break;
			}
		}
	}
}

/* fsync the backing directory DIR (relative path). 0 or -errno. */
static int sync_dir(struct namespace *ns, const char *dir)
{
	int pfd = open_beneath(ns, dir), fd, rc = 0;

	if (pfd < 0)
		return pfd == -ENOENT ? 0 : pfd; /* removed since: nothing of it to keep */
	fd = reopen(pfd, O_RDONLY | O_DIRECTORY);
	io_close_logged(pfd);
	if (fd < 0)
		return fd;
	if (fsync(fd) != 0)
		rc = -errno;
	io_close_logged(fd);
	return rc;
}

/* Make the selected operations durable: forget them, delete their stashes, and (sync_dirs) fsync
 * the backing directories and files they changed. The caller holds the lock. Returns the count or
 * the first -errno. */
static int commit_selected(struct namespace *ns, const bool *sel)
{
	char(*dirs)[PATH_MAX] = NULL;
	size_t ndirs = 0, kept = 0, cap = 0;
	int count = 0, rc = 0;

	for (size_t i = 0; i < ns->nops; i++) {
		struct ns_op *op = ns->ops[i];

		if (!sel[i]) {
			ns->ops[kept++] = op;
			continue;
		}
		count++;
		if (op->stash_name)
			atomic_fetch_sub(&ns->nstashed, 1);
		if (stash_remove(ns, op) < 0 && rc == 0)
			rc = -EIO;
		if (ns->sync_dirs && op->kind == NAMESPACE_OP_TRUNCATE) {
			int fd = reopen(op->fd, O_RDONLY);

			if (fd >= 0 && fsync(fd) != 0 && rc == 0)
				rc = -errno;
			io_close_logged(fd);
		} else if (ns->sync_dirs) {
			const char *paths[2] = {op->path, op->to};

			for (int k = 0; k < 2 && paths[k]; k++) {
				char parent[PATH_MAX];
				bool seen = false;

				path_split(paths[k], parent, sizeof(parent));
				for (size_t d = 0; d < ndirs && !seen; d++)
					seen = strcmp(dirs[d], parent) == 0;
				if (seen)
					continue;
				if (ndirs == cap) {
					size_t ncap = cap ? cap * 2 : 8;
					char(*nd)[PATH_MAX] = realloc(dirs, ncap * sizeof(*nd));

					if (!nd) {
						rc = rc ? rc : -ENOMEM;
						continue;
					}
					dirs = nd;
					cap = ncap;
				}
				snprintf(dirs[ndirs++], PATH_MAX, "%s", parent);
			}
		}
		op_free(op);
	}
	ns->nops = kept;
	for (size_t d = 0; d < ndirs; d++) {
		int src = sync_dir(ns, dirs[d]);

		if (src < 0 && rc == 0)
			rc = src;
	}
	free(dirs);
	return rc < 0 ? rc : count;
}

/*
 * A commit in two steps: selection_begin locks NS and gives a zeroed selection over its pending
 * operations (1), or returns 0 (nothing pending) / -ENOMEM unlocked; selection_commit adds what
 * the selected operations depend on, commits them, unlocks and frees. 0 or -errno.
 */
static int selection_begin(struct namespace *ns, bool **sel)
{
	pthread_mutex_lock(&ns->lock);
	if (ns->nops == 0) {
		pthread_mutex_unlock(&ns->lock);
		return 0;
	}
	*sel = calloc(ns->nops, sizeof(**sel));
	if (!*sel) {
		pthread_mutex_unlock(&ns->lock);
		return -ENOMEM;
	}
	return 1;
}

static int selection_commit(struct namespace *ns, bool *sel)
{
	int rc;

	select_closure(ns, sel);
	rc = commit_selected(ns, sel);
	pthread_mutex_unlock(&ns->lock);
	free(sel);
	return rc;
}

int namespace_commit_fsync(struct namespace *ns, bool dir, const char *path, dev_t dev, ino_t ino)
{
	char parent[PATH_MAX] = "";
	bool *sel, log_parent = false;
	int rc;

	rc = selection_begin(ns, &sel);
	if (rc <= 0)
		return rc;
	/* btrfs cannot log a file's name alone when its directory lost an entry in the running
	 * transaction (a rename or unlink out of it): it logs the whole directory instead. */
	if (ns->rule == NAMESPACE_RULE_PER_INODE && !dir)
		path_split(path, parent, sizeof(parent));
	for (size_t i = 0; i < ns->nops && ns->rule == NAMESPACE_RULE_PER_INODE && !dir && !log_parent; i++) {
		const struct ns_op *op = ns->ops[i];

		log_parent = (op->kind == NAMESPACE_OP_RENAME || op->kind == NAMESPACE_OP_UNLINK ||
		              op->kind == NAMESPACE_OP_RMDIR) &&
		             path_in_dir(op->path, parent);
	}
	for (size_t i = 0; i < ns->nops; i++) {
		const struct ns_op *op = ns->ops[i];
		bool self = op->dev == dev && op->ino == ino;

		switch (ns->rule) {
		case NAMESPACE_RULE_JOURNAL:
			sel[i] = true;
			break;
		case NAMESPACE_RULE_PER_INODE:
			sel[i] = self ||
			         (dir && op->kind != NAMESPACE_OP_TRUNCATE &&
			          (path_in_dir(op->path, path) || path_in_dir(op->to, path))) ||
			         (log_parent && op->kind != NAMESPACE_OP_TRUNCATE &&
			          (path_in_dir(op->path, parent) || path_in_dir(op->to, parent)));
			break;
		case NAMESPACE_RULE_POSIX:
			sel[i] = (!dir && self && op->kind == NAMESPACE_OP_TRUNCATE) ||
			         (dir && op->kind != NAMESPACE_OP_TRUNCATE &&
			          (self || path_in_dir(op->path, path) || path_in_dir(op->to, path)));
			break;
		}
	}
	return selection_commit(ns, sel);
}

int namespace_commit_older(struct namespace *ns, int64_t age_ns)
{
	int64_t limit = now_ns() - age_ns;
	bool *sel;
	int rc;

	rc = selection_begin(ns, &sel);
	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < ns->nops; i++)
		sel[i] = age_ns <= 0 || ns->ops[i]->when_ns <= limit;
	return selection_commit(ns, sel); /* its closure is a no-op here: earlier ops are older */
}

size_t namespace_pending_older(struct namespace *ns, int64_t age_ns)
{
	int64_t limit = now_ns() - age_ns;
	size_t n = 0;

	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < ns->nops; i++)
		n += age_ns <= 0 || ns->ops[i]->when_ns <= limit;
	pthread_mutex_unlock(&ns->lock);
	return n;
}

/* ---- Undo (the power cut) ---- */

/* A name undo changed, reported after the lock is released. */
struct touched {
	char *parent;
	char *name;
};

struct touched_list {
	struct touched *v;
	size_t n, cap;
};

static void touched_add(struct touched_list *t, const char *path)
{
	char parent[PATH_MAX];
	const char *name = path_split(path, parent, sizeof(parent));

	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct touched *nv = realloc(t->v, ncap * sizeof(*nv));

		if (!nv)
			return; /* the kernel's entry then expires with its timeout */
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->n].parent = strdup(parent);
	t->v[t->n].name = strdup(name);
	if (t->v[t->n].parent && t->v[t->n].name)
		t->n++;
	else {
		free(t->v[t->n].parent);
		free(t->v[t->n].name);
	}
}

/* Open the parent directory of PATH; *NAME points at its last component. O_PATH fd or -errno. */
static int open_parent(struct namespace *ns, const char *path, const char **name)
{
	char parent[PATH_MAX];

	*name = path_split(path, parent, sizeof(parent));
	return open_beneath(ns, parent);
}

/* Undo one operation; the caller holds the lock. 0 or -errno. */
static int undo_one(struct namespace *ns, struct ns_op *op, struct touched_list *t)
{
	const char *name, *toname;
	int dfd = -1, tfd = -1, fd, rc = 0;
	struct stat st;

	switch (op->kind) {
	case NAMESPACE_OP_CREATE:
	case NAMESPACE_OP_MKNOD:
	case NAMESPACE_OP_SYMLINK:
	case NAMESPACE_OP_LINK:
	case NAMESPACE_OP_MKDIR:
		dfd = open_parent(ns, op->path, &name);
		if (dfd < 0)
			return dfd;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = -errno;
		} else if (st.st_dev != op->dev || st.st_ino != op->ino) {
			rc = -ESTALE; /* someone changed BACKING behind our back */
		} else if (unlinkat(dfd, name, op->kind == NAMESPACE_OP_MKDIR ? AT_REMOVEDIR : 0) != 0) {
			rc = -errno;
		}
		touched_add(t, op->path);
		break;
	case NAMESPACE_OP_UNLINK:
	case NAMESPACE_OP_RMDIR:
		dfd = open_parent(ns, op->path, &name);
		if (dfd < 0)
			return dfd;
		if (renameat2(ns->hiddenfd, op->stash, dfd, name, RENAME_NOREPLACE) != 0)
			rc = -errno;
		else
			op->stash[0] = '\0';
		touched_add(t, op->path);
		break;
	case NAMESPACE_OP_RENAME:
		dfd = open_parent(ns, op->path, &name);
		if (dfd < 0)
			return dfd;
		tfd = open_parent(ns, op->to, &toname);
		if (tfd < 0) {
			rc = tfd;
			break;
		}
		if (op->flags & RENAME_EXCHANGE) {
			if (renameat2(tfd, toname, dfd, name, RENAME_EXCHANGE) != 0)
				rc = -errno;
		} else if (renameat2(tfd, toname, dfd, name, RENAME_NOREPLACE) != 0) {
			rc = -errno;
		} else if (op->stash[0]) {
			/* The replaced target comes back (a hard link for a file, the directory itself). */
			if (renameat2(ns->hiddenfd, op->stash, tfd, toname, RENAME_NOREPLACE) != 0)
				rc = -errno;
			else
				op->stash[0] = '\0';
		}
		touched_add(t, op->path);
		touched_add(t, op->to);
		break;
	case NAMESPACE_OP_TRUNCATE:
		fd = reopen(op->fd, O_WRONLY);
		if (fd < 0)
			return fd;
		if (ftruncate(fd, (off_t)op->old_size) != 0) {
			rc = -errno;
		} else if (op->stash[0]) {
			int sfd = openat(ns->hiddenfd, op->stash, O_RDONLY | O_CLOEXEC);

			if (sfd < 0)
				rc = -errno;
			else
				rc = copy_range(sfd, 0, fd, op->new_size, op->old_size - op->new_size);
			io_close_logged(sfd);
		}
		io_close_logged(fd);
		break;
	case NAMESPACE_OP_COUNT:
		break;
	}
	io_close_logged(dfd);
	io_close_logged(tfd);
	return rc;
}

int namespace_undo_all(struct namespace *ns, namespace_touched_fn touched, void *arg)
{
	struct touched_list t = {0};
	int count = 0, first_err = 0;

	pthread_mutex_lock(&ns->lock);
	for (size_t i = ns->nops; i-- > 0;) {
		struct ns_op *op = ns->ops[i];
		int rc = undo_one(ns, op, &t);

		if (rc < 0) {
			fprintf(stderr, "fsynclab: namespace: undo %s '%s'%s%s failed: %s\n",
			        namespace_op_name(op->kind), op->path, op->to ? " -> " : "",
			        op->to ? op->to : "", strerror(-rc));
			if (first_err == 0)
				first_err = rc;
		} else {
			count++;
		}
		if (op->stash_name)
			atomic_fetch_sub(&ns->nstashed, 1);
		if (stash_remove(ns, op) < 0 && first_err == 0)
			first_err = -EIO;
		op_free(op);
	}
	ns->nops = 0;
	pthread_mutex_unlock(&ns->lock);
	for (size_t i = 0; i < t.n; i++) {
		if (touched)
			touched(arg, t.v[i].parent, t.v[i].name);
		free(t.v[i].parent);
		free(t.v[i].name);
	}
	free(t.v);
	if (ns->sync_dirs && count > 0) {
		/* The host keeps the undone namespace too. */
		int fd = reopen(ns->rootfd, O_RDONLY | O_DIRECTORY);

		if (fd < 0 || syncfs(fd) != 0) {
			if (first_err == 0)
				first_err = fd < 0 ? fd : -errno;
		}
		io_close_logged(fd);
	}
	return first_err < 0 ? first_err : count;
}

/* ---- Queries ---- */

unsigned namespace_hidden_links(struct namespace *ns, dev_t dev, ino_t ino)
{
	unsigned n = 0;

	if (atomic_load(&ns->nstashed) == 0)
		return 0;
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < ns->nops; i++) {
		const struct ns_op *op = ns->ops[i];

		n += op->stash_name && op->stash[0] && op->sdev == dev && op->sino == ino;
	}
	pthread_mutex_unlock(&ns->lock);
	return n;
}

bool namespace_stash_origin(struct namespace *ns, const char *stashed, char *buf, size_t len)
{
	size_t hl = strlen(NAMESPACE_HIDDEN_NAME);
	bool found = false;

	if (strncmp(stashed, NAMESPACE_HIDDEN_NAME, hl) != 0 || stashed[hl] != '/')
		return false;
	stashed += hl + 1;
	pthread_mutex_lock(&ns->lock);
	for (size_t i = ns->nops; i-- > 0 && !found;) {
		const struct ns_op *op = ns->ops[i];

		if (op->stash[0] && strcmp(op->stash, stashed) == 0) {
			snprintf(buf, len, "%s", op->kind == NAMESPACE_OP_RENAME ? op->to : op->path);
			found = true;
		}
	}
	pthread_mutex_unlock(&ns->lock);
	return found;
}

json_t *namespace_status_json(struct namespace *ns)
{
	json_t *pending = json_array();
	int64_t now = now_ns();

	if (!pending)
		return NULL;
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < ns->nops; i++) {
		const struct ns_op *op = ns->ops[i];
		json_t *o = json_pack("{s:s, s:s, s:I}", "op", namespace_op_name(op->kind), "path", op->path,
		                      "age_ms", (json_int_t)((now - op->when_ns) / 1000000));

		if (o && op->to)
			json_object_set_new(o, "to", json_string(op->to));
		if (o && op->kind == NAMESPACE_OP_TRUNCATE) {
			json_object_set_new(o, "from_size", json_integer((json_int_t)op->old_size));
			json_object_set_new(o, "size", json_integer((json_int_t)op->new_size));
		}
		if (o)
			json_array_append_new(pending, o);
	}
	pthread_mutex_unlock(&ns->lock);
	return json_pack("{s:s, s:o}", "rule", namespace_rule_name(ns->rule), "pending", pending);
}
