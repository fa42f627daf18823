/*
 * kernel_backend.h — a real kernel filesystem stacked on an fsynclab mount (DESIGN.md "Real kernel").
 *
 * The emulated profiles say what papers report about ext4, XFS and Btrfs. This module lets a test
 * ask the real kernel instead. The stack, bottom to top:
 *
 *     backing dir  <-  fsynclab FUSE mount (--cache none)  <-  image file  <-  loop device
 *     (direct I/O, so every block write becomes a FUSE WRITE and every cache flush a FUSE FSYNC)
 *     <-  ext4 | XFS | Btrfs  <-  the application's files
 *
 * A `write` fault rule on the image's byte range that holds "block N of file F" therefore fails
 * the real kernel's writeback of that block, and an `fsync` rule on the image fails the loop
 * device's cache flush (which ext4 sees as a failed journal commit).
 *
 * Lifecycle: kernel_backend_setup() creates the image, attaches a loop device (LOOP_CTL_GET_FREE +
 * LOOP_CONFIGURE with direct I/O), runs mkfs and mounts the inner filesystem;
 * kernel_backend_teardown() undoes all of it in reverse order — inner fs, loop device, and finally
 * the FUSE mount through the caller's hook — and is safe to call after a partial setup.
 *
 * Block mapping (kernel_backend_map_block): FIEMAP gives the extent of the file's block. For ext4
 * and XFS its "physical" address is the byte offset on the device, so in the image. For Btrfs it
 * is a *logical* address; the module maps it to the device offset through the chunk tree
 * (BTRFS_IOC_TREE_SEARCH; single and DUP profiles only). Btrfs is also copy-on-write: a rewrite of
 * the block would land somewhere else and miss the rule. The module's answer is `chattr +C`
 * (FS_NOCOW_FL): setup sets it on the root directory of a Btrfs, so every file created there
 * inherits it, and kernel_backend_create_file() sets it on the file too; rewrites stay in place. A NOCOW file has no data checksums: this is documented in docs/kernel.md.
 *
 * "Reboot" (kernel_backend_reboot) is unmount + drop_caches + mount: every page the kernel kept in
 * memory is gone, and reads show what reached the image. It is a clean unmount, not a power cut:
 * pages still dirty at that moment are written. Pages that a failed writeback marked clean are
 * dropped without being written, which is exactly what fsyncgate is about.
 *
 * Everything here needs root (loop devices, mount, drop_caches). Errors are negative errno with a
 * one-line reason in kb->err.
 *
 * Device-mapper (the `dm` backend): with opts.device_mapper, a dm device sits between the loop
 * device and the inner fs (a linear table at first, so mkfs and mount go through it), and
 * kernel_dm_load() swaps its table live: dm-error over chosen sectors (precise: only those
 * sectors' reads and writes fail, cache flushes succeed), dm-flakey `error_writes` (every write
 * *and every cache flush* fails: an fsync of an unrelated file fails too), `drop_writes` (writes
 * acknowledged and lost). Faults then need no FUSE rule at all, so the image may live anywhere.
 * dm-dust fails only reads and a write heals the block, so it suits read-error stories only — and
 * Debian's kernel does not build it. Where /dev/mapper/control is missing (this project's
 * machines), kernel_dm_available() says KERNEL_DM_UNAVAILABLE and callers skip, never pass.
 */
#ifndef FSYNCLAB_KERNEL_BACKEND_H
#define FSYNCLAB_KERNEL_BACKEND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The inner filesystems this backend can build. */
enum kernel_fs { KERNEL_FS_EXT4, KERNEL_FS_XFS, KERNEL_FS_BTRFS, KERNEL_FS_COUNT };

/* kernel_fs_name / kernel_fs_parse - "ext4" <-> KERNEL_FS_EXT4; parse returns -EINVAL. */
const char *kernel_fs_name(enum kernel_fs fs);
int kernel_fs_parse(const char *name);

/* kernel_fs_min_image_size - the default (and smallest sensible) image size for FS, in bytes. */
uint64_t kernel_fs_min_image_size(enum kernel_fs fs);

/*
 * kernel_mount_options_parse - split a comma-separated option string ("data=journal,noatime,ro")
 * into mount(2) flags (ro, sync, dirsync, noatime, nodiratime, relatime, strictatime, nodev,
 * nosuid, noexec) and the filesystem-specific remainder copied into DATA ("data=journal").
 * Returns 0, or -ENAMETOOLONG when DATA is too small. NULL or "" gives no flags and "".
 */
int kernel_mount_options_parse(const char *options, unsigned long *flags, char *data, size_t datalen);

/* What to build. */
struct kernel_backend_opts {
	enum kernel_fs fs;
	const char *fuse_mnt;      /* an fsynclab mount with --cache none: the image goes here */
	const char *image_name;    /* file name of the image inside fuse_mnt; default "disk.img" */
	uint64_t image_size;       /* bytes; 0 = kernel_fs_min_image_size(fs) */
	const char *mkfs_options;  /* extra mkfs arguments, space-separated ("-O ^metadata_csum"), or NULL */
	const char *mount_options; /* comma-separated, as for mount -o ("data=journal"), or NULL */
	const char *inner_mnt;     /* where the inner fs is mounted; created (and later removed) if absent */
	bool device_mapper;        /* put a dm device between loop and fs (see kernel_dm_load) */
	bool btrfs_cow;            /* Btrfs: leave files copy-on-write (no chattr +C); fault whole
	                              data chunks with kernel_backend_map_chunk() */
	/* Called last by kernel_backend_teardown() to unmount the FUSE filesystem, or NULL. */
	int (*fuse_umount)(void *ctx);
	void *fuse_umount_ctx;
};

/* A built stack. Fields are read-only for callers. */
struct kernel_backend {
	enum kernel_fs fs;
	char fuse_mnt[PATH_MAX];   /* the fsynclab mount holding the image */
	char image_path[PATH_MAX]; /* fuse_mnt/image_name */
	char image_name[NAME_MAX + 1];
	char inner_mnt[PATH_MAX];
	char loop_dev[32];      /* "/dev/loopN", "" when none attached */
	char dm_name[64];       /* the dm device's name, "" when none */
	char fs_dev[96];        /* what mkfs and mount use: loop_dev or /dev/mapper/dm_name */
	uint64_t dev_sectors;   /* size of the loop device in 512-byte sectors */
	int64_t cut_rule_id;    /* the lost-writes rule of a power cut in progress (0: none) */
	int loop_fd;            /* held open while attached; -1 otherwise */
	bool loop_direct_io;    /* the kernel accepted direct I/O on the image */
	bool inner_mounted;     /* the inner fs is mounted at inner_mnt */
	bool btrfs_cow;         /* opts.btrfs_cow */
	bool created_inner_mnt; /* setup made the directory, teardown removes it */
	unsigned long mount_flags;
	char mount_data[256];
	uint32_t block_size; /* the inner fs's block size (statvfs f_bsize), once mounted */
	int (*fuse_umount)(void *ctx);
	void *fuse_umount_ctx;
	char err[512]; /* the last failure, one line */
};

/*
 * kernel_backend_setup - build the stack described by OPTS into KB: image file (sparse, of
 * image_size), loop device with direct I/O, mkfs, mount. On failure, whatever was built is torn
 * down again (but the FUSE hook is not called: the caller still owns its mount) and a negative
 * errno is returned with the reason in kb->err.
 */
int kernel_backend_setup(const struct kernel_backend_opts *opts, struct kernel_backend *kb);

/*
 * kernel_backend_create_file - create (or truncate to empty) REL inside the inner fs, ready to be
 * faulted: on Btrfs it gets FS_NOCOW_FL so that rewrites stay in place. Returns an O_RDWR fd
 * (caller closes) or a negative errno.
 */
int kernel_backend_create_file(struct kernel_backend *kb, const char *rel);

/* Where a file's block lives in the image. */
struct kernel_extent {
	uint64_t image_offset; /* byte offset in the image file (and on the loop device) */
	uint64_t length;       /* bytes: the inner fs's block size */
};

/*
 * kernel_backend_map_block - the image byte range that holds block BLOCK (of kb->block_size
 * bytes) of file REL in the inner fs. The file's data is synced first (FIEMAP_FLAG_SYNC), so a
 * block that was only written gets allocated. Returns 0, -ENODATA for a hole (or inline data),
 * -EOPNOTSUPP for encoded (compressed/encrypted) or striped extents, or another negative errno.
 */
int kernel_backend_map_block(struct kernel_backend *kb, const char *rel, uint64_t block,
                             struct kernel_extent *out);

/*
 * kernel_backend_map_block_nosync - the same without writing the file back first: a block whose
 * allocation is still delayed gives -ENODATA instead of being written (and so getting a place).
 */
int kernel_backend_map_block_nosync(struct kernel_backend *kb, const char *rel, uint64_t block,
                                    struct kernel_extent *out);

/*
 * kernel_backend_map_chunk - Btrfs only: the image range of the whole data chunk that holds block
 * BLOCK of REL (synced first). A copy-on-write rewrite lands somewhere else, but, on a small
 * filesystem, in the same chunk: a rule on the chunk meets it (and every other data write).
 */
int kernel_backend_map_chunk(struct kernel_backend *kb, const char *rel, uint64_t block,
                             struct kernel_extent *out);

/* kernel_drop_caches - write 3 to /proc/sys/vm/drop_caches (clean pages, dentries, inodes). */
int kernel_drop_caches(void);

/* kernel_backend_unmount / kernel_backend_mount - the inner fs alone. Return 0 or -errno. */
int kernel_backend_unmount(struct kernel_backend *kb);
int kernel_backend_mount(struct kernel_backend *kb);

/*
 * kernel_backend_reboot - unmount the inner fs, drop caches, mount it again. A mount failure is
 * reported (-errno, kb->err) and leaves the fs unmounted: a fs whose journal was aborted may
 * refuse, which is itself an outcome a scenario can expect.
 */
int kernel_backend_reboot(struct kernel_backend *kb);

/*
 * kernel_backend_power_cut - a power cut at the block level: every write the inner fs still sends
 * from now on is lost (an fsynclab `write` rule with effect `lost` on the whole image; with
 * device_mapper, a flakey `drop_writes` table), the fs is unmounted (its dirty pages and journal
 * commits vanish on the way), the rule is removed, caches are dropped and the fs is mounted again
 * (journal replay). Only what reached the image before the cut survives. Processes must have
 * closed their files (unmount would be busy). Returns 0 or -errno (kb->err).
 */
int kernel_backend_power_cut(struct kernel_backend *kb);

/*
 * kernel_backend_power_cut_begin / _finish - the same power cut in two steps, for a caller that
 * must look at the image at the instant of the cut: after _begin every write is lost (so the
 * image holds its final content), _finish unmounts, restores and mounts again. 0 or -errno.
 */
int kernel_backend_power_cut_begin(struct kernel_backend *kb);
int kernel_backend_power_cut_finish(struct kernel_backend *kb);

/*
 * kernel_backend_teardown - inner fs, then the loop device (LOOP_CLR_FD), then the inner mount
 * directory if setup made it, then the FUSE hook. Every step is attempted even when an earlier one
 * failed; returns the first error. Safe on a zeroed or partially set-up KB, and idempotent.
 */
int kernel_backend_teardown(struct kernel_backend *kb);

/* kernel_backend_init - put KB in the "nothing built" state (so teardown is a no-op). */
void kernel_backend_init(struct kernel_backend *kb);

/* ---- Device-mapper ------------------------------------------------------------------------------ */

#define KERNEL_DM_UNAVAILABLE "device-mapper not available in this kernel"

/* kernel_dm_available - 1 when /dev/mapper/control opens (dm is in the kernel), else 0. */
int kernel_dm_available(void);

/*
 * kernel_dm_table_linear / _error / _flakey - dmsetup table text over DEV (DEV_SECTORS long) into
 * BUF. _error fails COUNT sectors from FIRST (512-byte sectors) and maps the rest linearly;
 * _flakey is always "down" with FEATURE ("error_writes", "drop_writes", or "corrupt_bio_byte
 * <Nth_byte> <direction> <value> <flags>"). Return 0, -EINVAL (range outside the device, empty
 * feature) or -ENAMETOOLONG.
 */
int kernel_dm_table_linear(char *buf, size_t len, const char *dev, uint64_t dev_sectors);
int kernel_dm_table_error(char *buf, size_t len, const char *dev, uint64_t dev_sectors, uint64_t first,
                          uint64_t count);
int kernel_dm_table_flakey(char *buf, size_t len, const char *dev, uint64_t dev_sectors, const char *feature);

/*
 * kernel_dm_load - replace the live table of KB's dm device with TABLE: suspend without freezing
 * the fs (like arming a FUSE rule, it does not write dirty pages first), reload, resume. Needs a
 * stack set up with opts.device_mapper. Returns 0 or -errno (kb->err says which dmsetup step).
 */
int kernel_dm_load(struct kernel_backend *kb, const char *table);

/* kernel_dm_fail_extent - kernel_dm_load() of an error table over EXT (from map_block). */
int kernel_dm_fail_extent(struct kernel_backend *kb, const struct kernel_extent *ext);

/* kernel_dm_restore - kernel_dm_load() of the plain linear table. */
int kernel_dm_restore(struct kernel_backend *kb);

#endif
