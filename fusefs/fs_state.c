/*
 * fs_state.c — the whole filesystem's state (ok; read-only after an ext4/btrfs journal abort; shut
 * down after an XFS journal failure) and the checks every operation makes against it
 * (fsl_check_alive, fsl_check_writable); the journal commit an fsync, fsyncdir or the periodic
 * commit performs, the one event that changes that state (`journal` rules: lo_journal_commit), and
 * the namespace operations a successful commit makes durable (lo_ns_commit); and lo_fault_call,
 * how an operation without data asks the rules whether it fails. A reboot resets the state
 * (fsl_reboot, fs_actions.c).
 */
#include "ops_internal.h"

#include <errno.h>

#include "effects.h"

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
int fsl_check_alive(struct fsl_fs *fs)
{
	return atomic_load(&fs->state) == FS_STATE_SHUTDOWN ? -EIO : 0;
}

/* As fsl_check_alive, plus -EROFS when read-only. For operations that modify. */
int fsl_check_writable(struct fsl_fs *fs)
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
int lo_fault_call(struct fsl_fs *fs, enum fault_op op, const char *path, uint64_t off, uint64_t len)
{
	struct fault_hit hit;

	if (!fault_table_check(fs->faults, op, path, off, len, &hit))
		return 0;
	return effect_apply_read(&hit, NULL, 0);
}

/*
 * The journal commit an fsync performs: if a `journal` rule fires, the filesystem takes the
 * profile's journal fate (read-only, shutdown, or nothing) and the fsync fails. 0 or -errno.
 */
int lo_journal_commit(struct fsl_fs *fs, const char *path, bool *persisted)
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
 * After a successful journal commit by an fsync of INODE (a directory when DIR): make durable the
 * namespace operations the profile's rule says that commit persists. 0 or -errno (a backing
 * directory's fsync failed: the error is logged and the caller's fsync reports it).
 */
int lo_ns_commit(struct fsl_fs *fs, struct lo_inode *inode, const char *path, bool dir)
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
