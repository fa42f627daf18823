/*
 * ops_internal.h — internal to the FUSE side of fusefs (ops.c, ops_*.c, inodes.c, fs_state.c,
 * fs_actions.c): the helpers these files share and the lo_* handlers ops.c's table points to.
 * Nothing else includes it: daemon.c, control.c and the tests use ops.h. Prefixes: lo_ for the
 * FUSE side (a request, an inode, a path), fsl_ for the whole filesystem.
 */
#ifndef FSYNCLAB_OPS_INTERNAL_H
#define FSYNCLAB_OPS_INTERNAL_H

#include <sys/stat.h>

#include "io_full.h"
#include "ops.h"

/* ---- inodes.c: the inode table, nodeids, references, paths ---- */

/* lo_fs_of - the filesystem a request is for (the session's userdata). */
struct fsl_fs *lo_fs_of(fuse_req_t req);

/* lo_inode_of - the inode behind nodeid INO of REQ's filesystem. */
struct lo_inode *lo_inode_of(fuse_req_t req, fuse_ino_t ino);

/* lo_nodeid - the nodeid the kernel knows INODE by. */
fuse_ino_t lo_nodeid(struct fsl_fs *fs, struct lo_inode *inode);

/* lo_inode_find_locked - the inode of (DEV, INO) in the table, or NULL; the caller holds
 * fs->table_lock (the root is not in the table). */
struct lo_inode *lo_inode_find_locked(struct fsl_fs *fs, dev_t dev, ino_t ino);

/* lo_inode_get, lo_inode_put - take and drop a reference for an in-flight user (open file,
 * writeback pass); the last put frees an inode the kernel has forgotten. Take table_lock. */
void lo_inode_get(struct fsl_fs *fs, struct lo_inode *inode);
void lo_inode_put(struct fsl_fs *fs, struct lo_inode *inode);

/* lo_inode_intern - find or add the inode for FD (consumed), one lookup taken. NULL on ENOMEM. */
struct lo_inode *lo_inode_intern(struct fsl_fs *fs, int fd, const struct stat *st);

/* lo_forget_one - the kernel drops NLOOKUP lookups of INO; frees the inode if nothing is left. */
void lo_forget_one(struct fsl_fs *fs, fuse_ino_t ino, uint64_t nlookup);

/* lo_path - INODE's path relative to the mount ("" for the root), for rules and logs. */
void lo_path(struct fsl_fs *fs, struct lo_inode *inode, char *buf, size_t len);

/* lo_hidden - NAME in DIR is the namespace journal's hidden directory. */
bool lo_hidden(struct fsl_fs *fs, struct lo_inode *dir, const char *name);

/* lo_child_path - PARENT's path joined with NAME ("?" when too long). */
void lo_child_path(struct fsl_fs *fs, struct lo_inode *parent, const char *name, char *buf, size_t len);

/* lo_proc_path - "/proc/self/fd/N" of INODE's O_PATH descriptor, to open or change it through. */
void lo_proc_path(const struct lo_inode *inode, char *buf, size_t len);

/* lo_stat - stat INODE, with the size and mtime the page cache knows. 0 or -errno. */
int lo_stat(struct fsl_fs *fs, struct lo_inode *inode, struct stat *st);

/* ---- fs_state.c: ok, read-only, shut down; the journal commit; rules for calls ---- */

/* fsl_check_alive - -EIO after a shutdown, else 0. For every operation. */
int fsl_check_alive(struct fsl_fs *fs);

/* fsl_check_writable - as fsl_check_alive, plus -EROFS when read-only. For modifications. */
int fsl_check_writable(struct fsl_fs *fs);

/* lo_fault_call - do the rules fail call OP on PATH [OFF, OFF+LEN)? -errno or 0 (a delay sleeps). */
int lo_fault_call(struct fsl_fs *fs, enum fault_op op, const char *path, uint64_t off, uint64_t len);

/*
 * lo_journal_commit - the journal commit an fsync performs (`journal` rules; a firing rule gives
 * the filesystem the profile's journal fate). *PERSISTED: false when a `lost` rule fired.
 * 0 or -errno.
 */
int lo_journal_commit(struct fsl_fs *fs, const char *path, bool *persisted);

/* lo_ns_commit - after a journal commit by an fsync of INODE (a directory when DIR): make the
 * namespace operations that commit persists durable. 0 or -errno (logged). */
int lo_ns_commit(struct fsl_fs *fs, struct lo_inode *inode, const char *path, bool dir);

/* ---- ops_names.c: helpers the create in ops_open.c shares ---- */

/* lo_do_lookup - look NAME up in PARENT and fill E (one lookup reference taken). 0 or -errno. */
int lo_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name, struct fuse_entry_param *e);

/* lo_give_to_caller - chown NAME, just made in DIRFD, to REQ's caller (root daemon only). */
int lo_give_to_caller(fuse_req_t req, int dirfd, const char *name);

/* lo_ns_record_locked - with the namespace journal held, record NAME (PATH) made in DIRFD. */
void lo_ns_record_locked(struct fsl_fs *fs, enum namespace_op_kind kind, int dirfd, const char *name,
                         const char *path);

/* ---- ops_attrs.c ---- */

/* lo_kill_suidgid - clear setuid/setgid as the kernel asks us to (FUSE_HANDLE_KILLPRIV_V2). */
int lo_kill_suidgid(struct fsl_fs *fs, fuse_req_t req, struct lo_inode *inode);

/* ---- ops_read.c ---- */

/* lo_read_forget_retries - the kernel dropped every cached page (a reboot): expect no retries. */
void lo_read_forget_retries(void);

/* ---- ops_write.c: writeback helpers ---- */

/* lo_open_for_writeback - open INODE's backing file to write pages back. The fd or -errno. */
int lo_open_for_writeback(struct lo_inode *inode);

/* lo_notify_revert - invalidate the kernel's cache of the pages a btrfs-style revert dropped. */
void lo_notify_revert(struct fsl_fs *fs, struct lo_inode *inode, const struct pagecache_wb_result *res);

/* ---- fs_actions.c ---- */

/* fsl_invalidate_all - invalidate the kernel's data and attributes of every inode (no locks held). */
void fsl_invalidate_all(struct fsl_fs *fs);

/* ---- The FUSE handlers of ops.c's table, each named after its request ---- */

/* ops_names.c */
void lo_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void lo_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void lo_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void lo_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void lo_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void lo_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void lo_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name);
void lo_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void lo_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void lo_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
               unsigned int flags);

/* ops_dirs.c */
void lo_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lo_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi);
void lo_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lo_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

/* ops_attrs.c */
void lo_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lo_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid, struct fuse_file_info *fi);
void lo_readlink(fuse_req_t req, fuse_ino_t ino);
void lo_statfs(fuse_req_t req, fuse_ino_t ino);
void lo_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void lo_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void lo_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags);
void lo_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* ops_open.c */
void lo_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi);
void lo_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lo_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lo_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* ops_read.c */
void lo_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);

/* ops_write.c */
void lo_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
              struct fuse_file_info *fi);
void lo_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void lo_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  struct fuse_file_info *fi);

#endif
