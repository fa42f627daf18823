/*
 * ops.c — the map of the FUSE low-level operations: a passthrough over BACKING with an emulated
 * page cache and fault rules. Each operation is named after the FUSE operation it implements
 * (lo_lookup, lo_write, ...), so the op table at the end of this file says which function serves
 * which FUSE request; this list says which file holds it:
 *
 *   ops_names.c    lookup, forget, mknod, mkdir, symlink, link, unlink, rmdir, rename
 *   ops_dirs.c     opendir, readdir, releasedir, fsyncdir
 *   ops_attrs.c    getattr, setattr, readlink, statfs, getxattr, listxattr, setxattr, removexattr
 *   ops_open.c     create, open, release, flush
 *   ops_read.c     read, and how the `read` rules count the blocks an application reads
 *   ops_write.c    write, fsync, fallocate
 *   ops.c          init and destroy (the session), and the table
 *
 * and what they share (declared in ops_internal.h):
 *   inodes.c       the inode table: nodeids, references, paths, attributes with the cached size
 *   fs_state.c     ok, read-only or shut down; the journal commit that changes it; lo_fault_call
 *   fs_actions.c   the whole-filesystem actions: init/fini, reboot, writeback of everything, status
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

#include <stdio.h>

#include "ops_internal.h"

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

/* ---- The table: which function serves which FUSE request ---- */

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
