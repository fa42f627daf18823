/*
 * test_kernel_fsyncgate.c — fsyncgate and friends on the *real* ext4, XFS and Btrfs (label
 * `kernel`), through harness/kernel_backend: the image lives on an fsynclab --cache none mount
 * (argv[1], mounted by kernel_fsyncgate.sh), and faults are fsynclab rules on the image's bytes.
 *
 * Cases, each on a fresh file of a fresh filesystem per configuration (ext4 ordered, ext4
 * data=journal, XFS, Btrfs with NOCOW files, Btrfs with default copy-on-write files — there the
 * rule covers the file's whole data chunk, since a rewrite moves):
 *   fsyncgate    a `write` EIO rule on the image bytes of block 0 (armed for good): the fsync of a
 *                rewrite fails with EIO, the retry returns 0, the page cache serves the new data
 *                until drop_caches, the old data comes back after drop_caches and after a remount.
 *   errseq       two fds open at the error both see EIO once; an fd opened after the error was
 *                seen gets 0.
 *   enospc       the same with ENOSPC: which errno the application sees.
 *   powercut     kernel_backend_power_cut(): data written but never fsynced is gone, fsynced data
 *                survives (a `lost` rule on the whole image while the fs unmounts).
 *   journal      a `fsync` EIO rule on the image: the loop device's cache flush fails; the fsync
 *                of a fresh write fails and the filesystem stops (ext4: journal aborted, read-only;
 *                XFS: shutdown; Btrfs: transaction aborted, read-only); after a remount it works.
 *
 * Every observation is printed as a line "OBSERVED <config> <case> <key>=<value>" (docs/kernel.md
 * and `fsynclab compare` use the same words) and compared with what the kernel is known to do.
 * The expectations were measured on 6.18 and match DESIGN.md's "Real kernel" notes.
 */
#include "control_client.h"
#include "kernel_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;
static const char *fuse_mnt;

/* One filesystem configuration, with what its journal failure looks like (measured on 6.18). */
struct config {
	const char *name;
	enum kernel_fs fs;
	const char *mount_options;
	int journal_fsync; /* the fsync whose journal commit's cache flush fails */
	int journal_after; /* a later create+write+fsync: the filesystem has stopped */
	bool cow;          /* Btrfs with copy-on-write files: rules cover the whole data chunk */
};

static const struct config configs[] = {
    /* ext4 aborts the journal and remounts read-only; with data=journal the failing fsync itself
     * already reports the read-only state. */
    {"ext4", KERNEL_FS_EXT4, NULL, -EIO, -EROFS, false},
    {"ext4-data", KERNEL_FS_EXT4, "data=journal", -EROFS, -EROFS, false},
    /* XFS shuts down: every later operation fails with EIO. */
    {"xfs", KERNEL_FS_XFS, NULL, -EIO, -EIO, false},
    /* Btrfs aborts the transaction and goes read-only. */
    {"btrfs", KERNEL_FS_BTRFS, NULL, -EIO, -EROFS, false},
    /* Default (COW) Btrfs files: a rewrite moves, so the rule covers the file's data chunk. */
    {"btrfs-cow", KERNEL_FS_BTRFS, NULL, -EIO, -EROFS, true},
};

/* ---- Small helpers ---------------------------------------------------------------------------- */

static void observed(const char *cfg, const char *cas, const char *key, const char *value)
{
	printf("OBSERVED %s %s %s=%s\n", cfg, cas, key, value);
}

/* result_name - "0" for success, else the errno's name ("EIO"), for reports. */
static const char *result_name(int rc)
{
	static char buf[32];
	switch (rc) {
	case 0:
		return "0";
	case -EIO:
		return "EIO";
	case -ENOSPC:
		return "ENOSPC";
	case -EROFS:
		return "EROFS";
	case -EUCLEAN:
		return "EUCLEAN";
	case -ENOENT:
		return "ENOENT";
	default:
		snprintf(buf, sizeof(buf), "errno%d", -rc);
		return buf;
	}
}

static void expect_rc(const char *cfg, const char *cas, const char *key, int got, int want)
{
	observed(cfg, cas, key, result_name(got));
	if (got != want) {
		fprintf(stderr, "FAIL %s %s: %s = %s, expected %s\n", cfg, cas, key, result_name(got),
		        result_name(want));
		failures++;
	}
}

/* content_name - what a read returned: "new", "old", or the errno / byte it was. */
static const char *content_name(int byte, char new_byte, char old_byte)
{
	static char buf[32];
	if (byte == new_byte)
		return "new";
	if (byte == old_byte)
		return "old";
	if (byte < 0)
		return result_name(byte);
	snprintf(buf, sizeof(buf), "byte0x%02x", byte);
	return buf;
}

static void expect_content(const char *cfg, const char *cas, const char *key, int byte, char new_byte,
                           char old_byte, const char *want)
{
	const char *got = content_name(byte, new_byte, old_byte);
	observed(cfg, cas, key, got);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "FAIL %s %s: %s read %s, expected %s\n", cfg, cas, key, got, want);
		failures++;
	}
}

/* fill - write 4 KiB of C at offset 0 through FD: 0 or -errno. */
static int fill(int fd, char c)
{
	char buf[4096];
	memset(buf, c, sizeof(buf));
	ssize_t n = pwrite(fd, buf, sizeof(buf), 0);
	return n == (ssize_t)sizeof(buf) ? 0 : (n < 0 ? -errno : -EIO);
}

static int do_fsync(int fd)
{
	return fsync(fd) < 0 ? -errno : 0;
}

/*
 * expect_retry_clean - the retried fsync after a failed writeback returns 0 (the fsyncgate
 * moment). Under load the kernel may record the failure of a second bio of the same write after
 * the first fsync sampled the error (Btrfs completes bios from a workqueue), and errseq then
 * reports it once more: that late report is observed, and the next retry must be clean.
 */
static void expect_retry_clean(const char *cfg, const char *cas, int fd, int late_err)
{
	int rc = do_fsync(fd);

	if (rc == late_err) {
		observed(cfg, cas, "retry_late_report", result_name(rc));
		rc = do_fsync(fd);
	}
	expect_rc(cfg, cas, "retry", rc, 0);
}

/* first_byte_of - the first byte of PATH read through a fresh fd, or -errno. */
static int first_byte_of(const char *path)
{
	unsigned char c;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, &c, 1, 0);
	int rc = n == 1 ? c : (n < 0 ? -errno : -ENODATA);
	close(fd);
	return rc;
}

/* image_byte - the byte at OFFSET of the image file as the FUSE mount holds it (O_DIRECT: no
 * stale page cache), or -errno. */
static int image_byte(struct kernel_backend *kb, uint64_t offset)
{
	int fd = open(kb->image_path, O_RDONLY | O_DIRECT);
	if (fd < 0)
		return -errno;
	void *buf = NULL;
	int rc = posix_memalign(&buf, 4096, 4096);
	if (rc != 0) {
		close(fd);
		return -rc;
	}
	ssize_t n = pread(fd, buf, 4096, (off_t)(offset & ~4095ull));
	rc = n == 4096 ? ((unsigned char *)buf)[offset & 4095] : (n < 0 ? -errno : -EIO);
	free(buf);
	close(fd);
	return rc;
}

/* inject_range - arm `OP` rule ERRNO on [off, off+len) of the image; returns the rule id or 0. */
static uint64_t inject(struct kernel_backend *kb, const char *op, const struct kernel_extent *ext,
                       const char *err)
{
	json_t *rule = json_object();
	json_object_set_new(rule, "op", json_string(op));
	json_object_set_new(rule, "path", json_string(kb->image_name));
	if (ext) {
		json_object_set_new(rule, "offset", json_integer((json_int_t)ext->image_offset));
		json_object_set_new(rule, "length", json_integer((json_int_t)ext->length));
	}
	json_object_set_new(rule, "errno", json_string(err));
	char msg[256];
	int64_t id = control_client_inject(fuse_mnt, rule, msg, sizeof(msg));
	json_decref(rule);
	if (id <= 0) {
		fprintf(stderr, "FAIL inject %s %s: %s\n", op, err, msg);
		failures++;
		return 0;
	}
	return (uint64_t)id;
}

static void clear_rule(uint64_t id)
{
	char msg[256];
	if (id && control_client_clear(fuse_mnt, id, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "FAIL clear rule %llu: %s\n", (unsigned long long)id, msg);
		failures++;
	}
}

/*
 * prepare_file - create REL (NOCOW on Btrfs), fill block 0 with OLD, fsync, map block 0.
 * Returns an O_RDWR fd or -1 (failure counted).
 */
static int prepare_file(struct kernel_backend *kb, const char *cfg, const char *rel, char old,
                        struct kernel_extent *ext)
{
	int fd = kernel_backend_create_file(kb, rel);
	if (fd < 0 || fill(fd, old) < 0 || do_fsync(fd) < 0 ||
	    (kb->btrfs_cow ? kernel_backend_map_chunk(kb, rel, 0, ext)
	                   : kernel_backend_map_block(kb, rel, 0, ext)) < 0) {
		fprintf(stderr, "FAIL %s: preparing %s: %s\n", cfg, rel, fd < 0 ? kb->err : strerror(errno));
		failures++;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Cases -------------------------------------------------------------------------------------- */

/*
 * Every rule is armed *before* the rewrite it is meant to fail: on a busy machine the kernel's
 * flusher may write a dirty page back at any moment (global dirty thresholds), and that writeback
 * must meet the rule too (its error then reaches fsync through errseq, as it would in life).
 */

/* fsyncgate: EIO once, retry 0, new data until drop_caches, old data after it and after a remount. */
static void case_fsyncgate(struct kernel_backend *kb, const struct config *c)
{
	struct kernel_extent ext;
	char path[4200];
	snprintf(path, sizeof(path), "%s/gate.dat", kb->inner_mnt);
	int fd = prepare_file(kb, c->name, "gate.dat", 'o', &ext);
	if (fd < 0)
		return;
	uint64_t id = inject(kb, "write", &ext, "EIO");
	expect_rc(c->name, "fsyncgate", "write", fill(fd, 'n'), 0);
	expect_rc(c->name, "fsyncgate", "fsync", do_fsync(fd), -EIO);
	expect_retry_clean(c->name, "fsyncgate", fd, -EIO);
	close(fd);
	expect_content(c->name, "fsyncgate", "read", first_byte_of(path), 'n', 'o', "new");
	clear_rule(id);
	if (kernel_drop_caches() < 0) {
		fprintf(stderr, "FAIL drop_caches\n");
		failures++;
	}
	expect_content(c->name, "fsyncgate", "after_drop_caches", first_byte_of(path), 'n', 'o', "old");
	if (kernel_backend_reboot(kb) < 0) {
		fprintf(stderr, "FAIL %s: reboot: %s\n", c->name, kb->err);
		failures++;
		return;
	}
	expect_content(c->name, "fsyncgate", "after_reboot", first_byte_of(path), 'n', 'o', "old");
}

/* errseq: both fds open at the error see it once; a later open does not. */
static void case_errseq(struct kernel_backend *kb, const struct config *c)
{
	struct kernel_extent ext;
	char path[4200];
	snprintf(path, sizeof(path), "%s/errseq.dat", kb->inner_mnt);
	int fd1 = prepare_file(kb, c->name, "errseq.dat", 'o', &ext);
	if (fd1 < 0)
		return;
	int fd2 = open(path, O_RDWR);
	uint64_t id = inject(kb, "write", &ext, "EIO");
	expect_rc(c->name, "errseq", "write", fill(fd1, 'n'), 0);
	expect_rc(c->name, "errseq", "fsync_fd1", do_fsync(fd1), -EIO);
	expect_rc(c->name, "errseq", "fsync_fd2", do_fsync(fd2), -EIO);
	int fd3 = open(path, O_RDWR);
	expect_rc(c->name, "errseq", "fsync_late_open", do_fsync(fd3), 0);
	expect_rc(c->name, "errseq", "fsync_fd2_again", do_fsync(fd2), 0);
	clear_rule(id);
	close(fd3);
	close(fd2);
	close(fd1);
}

/* enospc: a backing device that is full. */
static void case_enospc(struct kernel_backend *kb, const struct config *c, int want)
{
	struct kernel_extent ext;
	int fd = prepare_file(kb, c->name, "enospc.dat", 'o', &ext);
	if (fd < 0)
		return;
	uint64_t id = inject(kb, "write", &ext, "ENOSPC");
	expect_rc(c->name, "enospc", "write", fill(fd, 'n'), 0);
	expect_rc(c->name, "enospc", "fsync", do_fsync(fd), want);
	expect_retry_clean(c->name, "enospc", fd, -EIO);
	clear_rule(id);
	close(fd);
}

/* powercut: unsynced writes vanish, synced ones stay. */
static void case_powercut(struct kernel_backend *kb, const struct config *c)
{
	struct kernel_extent ext;
	char p[4200], q[4200];
	snprintf(p, sizeof(p), "%s/cut.dat", kb->inner_mnt);
	snprintf(q, sizeof(q), "%s/kept.dat", kb->inner_mnt);
	/* The unsynced write comes last: with data=journal, any later fsync (of any file) commits
	 * the journal and with it every journalled page, making the write durable after all. */
	int fd2 = prepare_file(kb, c->name, "kept.dat", 'd', &ext);
	if (fd2 < 0)
		return;
	close(fd2);
	int fd = prepare_file(kb, c->name, "cut.dat", 'o', &ext);
	if (fd < 0)
		return;
	expect_rc(c->name, "powercut", "write_unsynced", fill(fd, 'n'), 0);
	close(fd);
	/* Look at the image at the instant of the cut (every later write is lost): on a busy machine
	 * the kernel's flusher may have written the page back just before. */
	struct kernel_extent cut_ext;
	int rc = kernel_backend_power_cut_begin(kb);
	bool written_back = rc == 0 && kernel_backend_map_block_nosync(kb, "cut.dat", 0, &cut_ext) == 0 &&
	                    image_byte(kb, cut_ext.image_offset) == 'n';
	if (rc == 0)
		rc = kernel_backend_power_cut_finish(kb);
	expect_rc(c->name, "powercut", "power_cut", rc, 0);
	if (rc < 0) {
		fprintf(stderr, "  %s\n", kb->err);
		return;
	}
	/* If the image already held the new data at the cut, surviving is right. Only what had not
	 * reached the image must be gone. */
	if (written_back)
		observed(c->name, "powercut", "unsynced_after", "written back before the cut (not checked)");
	else
		expect_content(c->name, "powercut", "unsynced_after", first_byte_of(p), 'n', 'o', "old");
	expect_content(c->name, "powercut", "synced_after", first_byte_of(q), 'x', 'd', "old");
}

/*
 * journal: the loop device's cache flush fails. Expected per filesystem (struct config): the fsync
 * fails, and the fs refuses further writes (read-only, or shut down).
 */
static void case_journal(struct kernel_backend *kb, const struct config *c)
{
	char path2[4200];
	snprintf(path2, sizeof(path2), "%s/after.dat", kb->inner_mnt);
	int fd = kernel_backend_create_file(kb, "journal.dat");
	if (fd < 0) {
		fprintf(stderr, "FAIL %s: %s\n", c->name, kb->err);
		failures++;
		return;
	}
	uint64_t id = inject(kb, "fsync", NULL, "EIO");
	expect_rc(c->name, "journal", "write", fill(fd, 'n'), 0);
	expect_rc(c->name, "journal", "fsync", do_fsync(fd), c->journal_fsync);
	close(fd);
	int fd2 = open(path2, O_RDWR | O_CREAT, 0644);
	int rc = fd2 < 0 ? -errno : fill(fd2, 'x');
	if (rc == 0)
		rc = do_fsync(fd2);
	if (fd2 >= 0)
		close(fd2);
	expect_rc(c->name, "journal", "next_write", rc, c->journal_after);
	clear_rule(id);
	/* The stopped filesystem must come back after a remount, with the journal replayed. */
	rc = kernel_backend_reboot(kb);
	expect_rc(c->name, "journal", "remount", rc, 0);
	if (rc < 0)
		fprintf(stderr, "  %s\n", kb->err);
}

/* ---- Main ------------------------------------------------------------------------------------- */

static void run_config(const struct config *c)
{
	char inner[4200], image[64];
	snprintf(inner, sizeof(inner), "/tmp/fsynclab-kernel-%d-%s", (int)getpid(), c->name);
	snprintf(image, sizeof(image), "%s.img", c->name);
	struct kernel_backend_opts opts = {.fs = c->fs,
	                                   .fuse_mnt = fuse_mnt,
	                                   .image_name = image,
	                                   .inner_mnt = inner,
	                                   .mount_options = c->mount_options,
	                                   .btrfs_cow = c->cow};
	struct kernel_backend kb;
	double t0 = now_s();
	if (kernel_backend_setup(&opts, &kb) < 0) {
		fprintf(stderr, "FAIL %s: setup: %s\n", c->name, kb.err);
		failures++;
		return;
	}
	if (!kb.loop_direct_io) {
		fprintf(stderr, "FAIL %s: the loop device is not doing direct I/O on %s\n", c->name,
		        kb.image_path);
		failures++;
	}
	double t1 = now_s();
	case_fsyncgate(&kb, c);
	double t2 = now_s();
	if (kb.inner_mounted)
		case_errseq(&kb, c);
	if (kb.inner_mounted)
		case_enospc(&kb, c, -ENOSPC);
	if (kb.inner_mounted)
		case_powercut(&kb, c);
	double t3 = now_s();
	if (kb.inner_mounted)
		case_journal(&kb, c);
	double t4 = now_s();
	if (kernel_backend_teardown(&kb) < 0) {
		fprintf(stderr, "FAIL %s: teardown: %s\n", c->name, kb.err);
		failures++;
	}
	char image_path[4200];
	snprintf(image_path, sizeof(image_path), "%s/%s", fuse_mnt, image);
	if (unlink(image_path) < 0) {
		fprintf(stderr, "FAIL unlink %s: %s\n", image_path, strerror(errno));
		failures++;
	}
	printf("TIME %s setup %.2fs fsyncgate %.2fs errseq+enospc+powercut %.2fs journal %.2fs\n", c->name,
	       t1 - t0, t2 - t1, t3 - t2, t4 - t3);
}

int main(int argc, char **argv)
{
	if (geteuid() != 0 || access("/dev/loop-control", F_OK) != 0) {
		printf("SKIP: needs root and /dev/loop-control\n");
		return 77;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s FUSE_MNT [CONFIG...]   (an fsynclab --cache none mount)\n",
		        argv[0]);
		return 2;
	}
	fuse_mnt = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		bool wanted = argc == 2;
		for (int a = 2; a < argc; a++)
			wanted |= strcmp(argv[a], configs[i].name) == 0;
		if (wanted)
			run_config(&configs[i]);
	}
	printf("%s\n", failures ? "FAILED" : "all real-kernel fsync checks passed");
	return failures ? 1 : 0;
}
