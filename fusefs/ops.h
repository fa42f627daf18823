/*
 * ops.h — the mounted filesystem's state shared by the FUSE operations (ops.c, ops_*.c) and the daemon
 * (daemon.c): the inode table, open files, the page cache, the fault table, and the whole-
 * filesystem state (ok, read-only after a journal abort, shut down).
 */
#ifndef FSYNCLAB_OPS_H
#define FSYNCLAB_OPS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "faults.h"
#include "namespace.h"
#include "pagecache.h"
#include "profiles.h"

/* Whole-filesystem state, changed by `journal` faults and reset by a reboot. */
enum fs_state {
	FS_STATE_OK,
	FS_STATE_READ_ONLY, /* ext4/btrfs after a journal abort: modifications fail with EROFS */
	FS_STATE_SHUTDOWN,  /* xfs after a journal failure: every operation fails with EIO */
};

/* One file or directory of BACKING the kernel knows about (or whose pages we still hold). */
struct lo_inode {
	struct lo_inode *next; /* hash chain; protected by fs->table_lock */
	int fd;                /* O_PATH descriptor of the backing object: never reopened by name */
	dev_t dev;
	ino_t ino;
	mode_t type;               /* S_IFREG, S_IFDIR, ... */
	uint64_t nlookup;          /* kernel references; protected by fs->table_lock */
	uint64_t refs;             /* open files and in-flight users; protected by fs->table_lock */
	struct pagecache_inode pc; /* cached pages and writeback errors (own lock) */
};

/* One open file (the FUSE fh). */
struct lo_file {
	int fd;                 /* the backing file, opened without O_APPEND/O_DIRECT */
	struct lo_inode *inode; /* holds a ref */
	uint32_t wb_since;      /* errseq cursor: writeback errors this file has seen */
	bool writable;
	bool direct; /* opened O_DIRECT: writes go through to the backing file */
};

#define LO_TABLE_SIZE 4096

struct fsl_fs {
	char backing[PATH_MAX]; /* absolute, resolved */
	char mnt[PATH_MAX];     /* absolute */
	bool cache_emulate;     /* false: --cache none */
	bool backing_sync;      /* fsync reaches the backing file */
	const struct profile *profile;
	uint32_t block_size;
	double timeout;        /* entry and attribute timeout given to the kernel */
	bool sgid_needs_group; /* Linux 6.2+: a write by a non-member clears setgid (see lo_kill_suidgid) */
	struct fault_table *faults;
	struct pagecache pc;
	struct namespace *ns; /* pending namespace operations (emulate mode); NULL: names durable at once */
	struct fuse_session *se;
	_Atomic int state; /* enum fs_state */

	struct lo_inode root;
	pthread_mutex_t table_lock;            /* protects the table and nlookup/refs */
	struct lo_inode *table[LO_TABLE_SIZE]; /* by (dev, ino); root is not in it */
};

/* The FUSE low-level operation table (ops.c; the lo_* handlers are in the ops_*.c files). */
extern const struct fuse_lowlevel_ops fsl_ops;

/* fsl_fs_init - open BACKING as the root. Returns 0 or -errno. fsl_fs_fini frees everything. */
int fsl_fs_init(struct fsl_fs *fs, const char *backing);
void fsl_fs_fini(struct fsl_fs *fs);

/*
 * fsl_namespace_start - make namespace operations pending until committed, under RULE (see
 * namespace.h; emulate mode only, call after the profile and cache mode are set). 0 or -errno.
 */
int fsl_namespace_start(struct fsl_fs *fs, enum namespace_rule rule);

/* fsl_reboot - power cut: drop every cached page, reset the state, invalidate the kernel caches. */
int fsl_reboot(struct fsl_fs *fs);

/*
 * fsl_writeback_all - write back every inode with pages dirty for at least AGE_NS (0 = all), as
 * the flusher, sync(1) or unmount do. Errors are recorded, not returned (0 or -ENOMEM).
 * With SYNC_BACKING the backing files are fsynced afterwards.
 */
int fsl_writeback_all(struct fsl_fs *fs, int64_t age_ns, bool sync_backing);

/*
 * fsl_writeback_background - the dirty pages crossed the background threshold: write back inodes
 * with dirty pages, oldest first, until they are below it. No journal commit, no backing fsync
 * (data writeback only, as the kernel's background writeback). *WRITTEN: pages written.
 * Errors are recorded, not returned (0 or -ENOMEM).
 */
int fsl_writeback_background(struct fsl_fs *fs, unsigned *written);

/* fsl_status_json - the status object of control.h (without "rules"). */
json_t *fsl_status_json(struct fsl_fs *fs);

/* fsl_state_name - "ok", "read-only", "shutdown". */
const char *fsl_state_name(enum fs_state state);

#endif
