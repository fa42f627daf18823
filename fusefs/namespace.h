/*
 * namespace.h — namespace durability: the journal of directory operations (create, mkdir, mknod,
 * symlink, link, unlink, rmdir, rename, and size changes by truncate) that a power cut would undo
 * because nothing has made them durable yet, the commit rules per profile, and the undo itself.
 *
 * Operations are applied to BACKING at once (the namespace users see is always current); what
 * undo needs (an unlinked entry, a replaced rename target, the bytes a truncate cut off) is kept
 * in a hidden directory at the BACKING root, NAMESPACE_HIDDEN_NAME, which the FUSE operations
 * hide from lookups and readdir. See namespace.c for the model and docs/namespace.md.
 */
#ifndef FSYNCLAB_NAMESPACE_H
#define FSYNCLAB_NAMESPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* The hidden directory at the BACKING root that holds what undo needs. */
#define NAMESPACE_HIDDEN_NAME ".fsynclab-undo"

/* What makes a pending operation durable. */
enum namespace_rule {
	NAMESPACE_RULE_JOURNAL,   /* ext4, xfs, keep-dirty: any fsync, fdatasync or directory fsync
	                             commits the journal, and with it *every* earlier operation */
	NAMESPACE_RULE_PER_INODE, /* btrfs: a file's fsync persists that file's own entries and size;
	                             a directory's fsync persists that directory's entries */
	NAMESPACE_RULE_POSIX,     /* the POSIX minimum: only a directory fsync persists names; a file's
	                             fsync persists its size (not a profile: `--namespace posix`) */
};

/* The kinds of pending operations. */
enum namespace_op_kind {
	NAMESPACE_OP_CREATE,   /* a regular file (create, mknod): undo unlinks it */
	NAMESPACE_OP_MKNOD,    /* a device, fifo or socket node: undo unlinks it */
	NAMESPACE_OP_SYMLINK,  /* undo unlinks it */
	NAMESPACE_OP_LINK,     /* a new hard link: undo unlinks it */
	NAMESPACE_OP_MKDIR,    /* undo removes the (then empty) directory */
	NAMESPACE_OP_UNLINK,   /* the entry was moved to the hidden directory: undo moves it back */
	NAMESPACE_OP_RMDIR,    /* likewise, for an empty directory */
	NAMESPACE_OP_RENAME,   /* undo renames back, and restores a replaced target from its stash */
	NAMESPACE_OP_TRUNCATE, /* undo restores the old size and the bytes that were cut off */
	NAMESPACE_OP_COUNT
};

struct namespace;

/* Called by undo for every name it changed: the kernel's dentry for PARENT/NAME is now stale.
 * PARENT is relative to the BACKING root ("" for the root). */
typedef void (*namespace_touched_fn)(void *arg, const char *parent, const char *name);

/*
 * namespace_new - start a journal over the BACKING root ROOTFD (an O_PATH or O_RDONLY directory
 * descriptor, borrowed) with RULE. Creates NAMESPACE_HIDDEN_NAME, or empties one left by a daemon
 * that was killed (what it held is treated as committed: a killed daemon is not a power cut).
 * With SYNC_DIRS, a commit also fsyncs the affected backing directories, so what the emulation
 * calls durable is durable on the host. Returns 0 and *OUT, or -errno.
 */
int namespace_new(int rootfd, enum namespace_rule rule, bool sync_dirs, struct namespace **out);

/* namespace_free - forget the journal (pending operations stay applied, their stashes are
 * removed: a clean shutdown commits everything). NULL is accepted. */
void namespace_free(struct namespace *ns);

/* namespace_rule_for_profile - the rule of the profile called NAME (btrfs: per-inode, else journal). */
enum namespace_rule namespace_rule_for_profile(const char *name);

/* namespace_rule_name - "journal", "per-inode", "posix". */
const char *namespace_rule_name(enum namespace_rule rule);

/* namespace_op_name - "create", "mkdir", "rename", ... */
const char *namespace_op_name(enum namespace_op_kind kind);

/* namespace_is_hidden - true for NAME in the root directory when it is the hidden directory. */
bool namespace_is_hidden(const char *name);

/*
 * namespace_lock / namespace_unlock - hold the journal while the caller creates a name itself
 * (create, mknod, mkdir, symlink, link) and records it with namespace_record_locked, so the journal
 * order is the order of the operations. The other calls below take the lock themselves.
 */
void namespace_lock(struct namespace *ns);
void namespace_unlock(struct namespace *ns);

/*
 * namespace_record_locked - the caller (holding the lock) has just created PATH (relative to the
 * BACKING root), of KIND (CREATE, MKNOD, SYMLINK, LINK, MKDIR), naming inode (DEV, INO). Returns 0
 * or -ENOMEM (then the name stays, and is durable: nothing can undo it).
 */
int namespace_record_locked(struct namespace *ns, enum namespace_op_kind kind, const char *path, dev_t dev,
                            ino_t ino);

/*
 * namespace_unlink - remove NAME from the directory DIRFD (its path DIRPATH relative to the root),
 * as unlink(2) (DIR false) or rmdir(2) (DIR true) would, keeping the entry in the hidden directory
 * so that undo can bring it back. Returns 0 or -errno, with the errno the plain call would give.
 */
int namespace_unlink(struct namespace *ns, int dirfd, const char *dirpath, const char *name, bool dir);

/*
 * namespace_rename - renameat2(OLDDIRFD, OLDNAME, NEWDIRFD, NEWNAME, FLAGS) (flags 0,
 * RENAME_NOREPLACE or RENAME_EXCHANGE), keeping a replaced target in the hidden directory.
 * OLDDIRPATH and NEWDIRPATH are the directories' paths. Returns 0 or -errno.
 */
int namespace_rename(struct namespace *ns, int olddirfd, const char *olddirpath, const char *oldname,
                     int newdirfd, const char *newdirpath, const char *newname, unsigned flags);

/*
 * namespace_truncate - make the file FD (writable, or -1 to open it through INODEFD) NEWSIZE bytes
 * long, as ftruncate(2) does, first saving in the hidden directory the bytes a shrink cuts off.
 * INODEFD is an O_PATH descriptor of the file (duplicated for undo); PATH names it for status.
 * A size that does not change is not recorded. Returns 0 or -errno.
 */
int namespace_truncate(struct namespace *ns, int fd, int inodefd, const char *path, uint64_t newsize);

/*
 * namespace_commit_fsync - an fsync or fdatasync of the file or directory (DIR) PATH, inode
 * (DEV, INO), whose journal commit succeeded: make durable what the rule says it makes durable,
 * plus every earlier pending operation those depend on. Returns the number of operations made
 * durable (>= 0) or -errno (from fsyncing a backing directory; they are committed regardless).
 */
int namespace_commit_fsync(struct namespace *ns, bool dir, const char *path, dev_t dev, ino_t ino);

/*
 * namespace_commit_older - a full journal commit (sync, syncfs, unmount with AGE_NS 0; the
 * periodic commit with AGE_NS = the interval): every pending operation at least AGE_NS old is made
 * durable. Returns the count or -errno (as above).
 */
int namespace_commit_older(struct namespace *ns, int64_t age_ns);

/* namespace_pending_older - how many pending operations are at least AGE_NS old (0 = all). */
size_t namespace_pending_older(struct namespace *ns, int64_t age_ns);

/*
 * namespace_undo_all - the power cut: undo every pending operation, newest first, so BACKING
 * holds exactly the durable namespace. TOUCHED (may be NULL) is called, after the journal is
 * released, for every name undo changed. Returns the number of operations undone, or the first
 * -errno (undo goes on past a failure; the failed operation is logged and dropped).
 */
int namespace_undo_all(struct namespace *ns, namespace_touched_fn touched, void *arg);

/*
 * namespace_hidden_links - how many names of inode (DEV, INO) live only in the hidden directory
 * (an unlinked name kept for undo): stat must not count them. Lock-free when nothing is stashed.
 */
unsigned namespace_hidden_links(struct namespace *ns, dev_t dev, ino_t ino);

/*
 * namespace_stash_origin - STASHED is a path below the hidden directory (as /proc shows an open
 * unlinked file): write the name it had into BUF. Returns false when STASHED is not a stash.
 */
bool namespace_stash_origin(struct namespace *ns, const char *stashed, char *buf, size_t len);

/* namespace_status_json - {"rule": "...", "pending": [{"op","path","to"?,"age_ms"}]}. */
json_t *namespace_status_json(struct namespace *ns);

#endif
