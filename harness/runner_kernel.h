/*
 * runner_kernel.h — what the scenario runner does differently when a scenario says
 * `backend: kernel` (or `dm`): the story runs on a real ext4/XFS/Btrfs (harness/kernel_backend.h)
 * stacked on the scenario's fsynclab mount, which is mounted with `--cache none`.
 *
 * The runner keeps doing everything else (workload, checks, reports); at five places it asks this
 * module instead of the fsynclab daemon:
 *   setup      after the FUSE mount: build image, loop device, mkfs, mount; the workload's files
 *              then live under runner_kernel_root() (the inner fs), not on the FUSE mount;
 *   inject     a scenario rule names a file of the story ("table/table.dat", block 3). It is moved
 *              to where that block lives in the image: `writeback` becomes a `write` rule on the
 *              image's byte range (one rule per extent), `journal` becomes an `fsync` rule on the
 *              image (the loop device's cache flush), `read` stays a `read` on the image range.
 *              Rules that have no block-level meaning (`write` — the kernel's page cache absorbs
 *              write(2) —, `fsync`, `open`, `rename`, ..., effect `misdirected`) are refused with
 *              -EOPNOTSUPP and a reason: the scenario is reported as not runnable on the kernel.
 *              A block not yet allocated (delayed allocation) has no place on the device: such a
 *              rule is refused too (-EOPNOTSUPP): writing the block back to give it a place would
 *              change the story. Kernel stories make their file durable before the fault.
 *   clear      every image rule made from one scenario rule goes together;
 *   reboot     kernel_backend_power_cut(): writes still in flight are lost, the fs is remounted;
 *   sync       syncfs(2) of the inner fs;
 *   fs_state   the inner fs's state, read passively (never by writing): "shutdown" when reading
 *              its root directory fails with EIO (XFS) or the kernel log says it shut down,
 *              "read-only" when it is mounted read-only or the kernel log says its journal was
 *              aborted / it was forced read-only (ext4 with errors=continue keeps "rw" in its
 *              mount flags but refuses every write with EROFS), else "ok";
 *   cleanup    inner fs, loop device (and dm device) go before the runner unmounts FUSE.
 * With `backend: dm`, faults go into a dm-error table instead (one extent, errno EIO only), and a
 * kernel without device-mapper makes setup return -ENODEV with KERNEL_DM_UNAVAILABLE: the runner
 * reports SKIPPED, never passed.
 */
#ifndef FSYNCLAB_RUNNER_KERNEL_H
#define FSYNCLAB_RUNNER_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kernel_backend.h"
#include "scenario.h"

#define RUNNER_KERNEL_MAX_RULES 64

/* One scenario rule and the image rules it became. */
struct runner_kernel_rule {
	uint64_t id;                                 /* the id the runner knows: the first image rule's */
	uint64_t image_ids[RUNNER_KERNEL_MAX_RULES]; /* every fsynclab rule armed for it */
	size_t n_image_ids;
	bool dm; /* armed as a dm-error table instead */
};

struct runner_kernel {
	struct kernel_backend kb;
	struct runner_kernel_rule rules[RUNNER_KERNEL_MAX_RULES];
	size_t n_rules;
	uint64_t next_dm_id;      /* ids for dm rules (no daemon gives them out) */
	uint32_t rule_block_size; /* "block N" in the scenario's rules: options.block_size */
	char note[256];           /* the last inject's remark for the timeline ("" when none) */
	int kmsg_fd;              /* /dev/kmsg, read from the setup onwards (-1 if unavailable) */
	char kdev[32];            /* the kernel's name of the fs device: "loop3", "dm-0" */
	char kstate[16];          /* what the kernel log said since the last mount: "", read-only, shutdown */
};

/*
 * runner_kernel_mount_args - extra `fsynclab mount` arguments for SC (NULL-terminated; empty for
 * an emulated scenario): "--cache", "none".
 */
const char *const *runner_kernel_mount_args(const struct scenario *sc);

/*
 * runner_kernel_setup - build the stack for SC over FUSE_MNT, the inner fs mounted at DIR/inner.
 * Returns 0 with *out set (free with runner_kernel_teardown), -ENODEV when SC needs
 * device-mapper and the kernel has none (err says KERNEL_DM_UNAVAILABLE), or another -errno.
 */
int runner_kernel_setup(const struct scenario *sc, const char *fuse_mnt, const char *dir,
                        struct runner_kernel **out, char *err, size_t errlen);

/* runner_kernel_root - where the story's files live (the inner fs's mount point). */
const char *runner_kernel_root(const struct runner_kernel *rk);

/*
 * runner_kernel_inject - translate RULE (a scenario rule, not consumed) and arm it. Returns the id
 * to report (> 0), -EOPNOTSUPP with the reason in err for a rule without a block-level meaning,
 * or another -errno. rk->note may hold a remark worth narrating.
 */
int64_t runner_kernel_inject(struct runner_kernel *rk, json_t *rule, char *err, size_t errlen);

/* runner_kernel_clear - disarm what rule ID became (0 = everything). Returns 0 or -errno. */
int runner_kernel_clear(struct runner_kernel *rk, uint64_t id, char *err, size_t errlen);

/* runner_kernel_hits - firings of every image rule made from rule ID, from a daemon status. */
int64_t runner_kernel_hits(const struct runner_kernel *rk, uint64_t id, json_t *status_rules);

/* runner_kernel_power_cut - see kernel_backend_power_cut(). Returns 0 or -errno (err). */
int runner_kernel_power_cut(struct runner_kernel *rk, char *err, size_t errlen);

/* runner_kernel_sync - syncfs(2) of the inner fs: 0 or -errno (what a `sync` step observes). */
int runner_kernel_sync(struct runner_kernel *rk);

/* runner_kernel_fs_state - "ok", "read-only" or "shutdown" (or "unmounted"). */
const char *runner_kernel_fs_state(struct runner_kernel *rk);

/* runner_kernel_teardown - inner fs, loop (and dm) device; frees RK. Returns 0 or -errno (err). */
int runner_kernel_teardown(struct runner_kernel *rk, char *err, size_t errlen);

#endif
