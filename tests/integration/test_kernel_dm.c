/*
 * test_kernel_dm.c — the device-mapper backend of harness/kernel_backend.c on a real kernel
 * (label `kernel` on the host, and run inside the VM of kernel_vm.sh, whose Debian kernel has dm).
 *
 * Where /dev/mapper/control is missing it prints KERNEL_DM_UNAVAILABLE and exits 77 (skipped,
 * never passed). Otherwise, on ext4 over loop + a dm device:
 *   dm-error over block 0 of A: the fsync of A's rewrite fails with EIO, the retry returns 0, the
 *     page cache keeps the new data; B's fsync is unaffected; after restore + reboot A is old.
 *   flakey drop_writes: B's fsync returns 0, and after restore + reboot B holds its old data.
 *   power cut (kernel_backend_power_cut with dm: drop_writes while unmounting): an unsynced
 *     rewrite of A is gone after it.
 *   flakey error_writes: the fsync of B's rewrite fails with EIO.
 * Then teardown must leave no mount, no loop device and no dm device.
 */
#include "kernel_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                 \
			fprintf(stderr, __VA_ARGS__);                                                        \
			fprintf(stderr, "\n");                                                               \
			failures++;                                                                          \
			goto out;                                                                            \
		}                                                                                            \
	} while (0)

/* rewrite - open REL in the inner fs, fill its first block with C, fsync; returns 0 or -errno. */
static int rewrite(struct kernel_backend *kb, const char *rel, char c)
{
	char path[4200], buf[4096];
	snprintf(path, sizeof(path), "%s/%s", kb->inner_mnt, rel);
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	memset(buf, c, sizeof(buf));
	int rc = pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) ? 0 : -errno;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* fsync_again - a second fsync on a fresh descriptor of REL: 0 or -errno. */
static int fsync_again(struct kernel_backend *kb, const char *rel)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", kb->inner_mnt, rel);
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* first_byte - the first byte of REL as read now, or -errno. */
static int first_byte(struct kernel_backend *kb, const char *rel)
{
	char path[4200];
	unsigned char c;
	snprintf(path, sizeof(path), "%s/%s", kb->inner_mnt, rel);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, &c, 1, 0);
	int rc = n == 1 ? c : (n < 0 ? -errno : -ENODATA);
	close(fd);
	return rc;
}

/* dm_left - does `dmsetup ls` still list a device named NAME? */
static int dm_left(const char *name)
{
	char cmd[256], line[512];
	snprintf(cmd, sizeof(cmd), "DM_DISABLE_UDEV=1 dmsetup ls 2>/dev/null");
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	int found = 0;
	while (fgets(line, sizeof(line), p))
		if (strncmp(line, name, strlen(name)) == 0 &&
		    (line[strlen(name)] == '\t' || line[strlen(name)] == ' '))
			found = 1;
	pclose(p);
	return found;
}

int main(int argc, char **argv)
{
	if (geteuid() != 0 || access("/dev/loop-control", F_OK) != 0) {
		printf("SKIP: needs root and /dev/loop-control\n");
		return 77;
	}
	if (!kernel_dm_available()) {
		printf("SKIP: %s (/dev/mapper/control is missing)\n", KERNEL_DM_UNAVAILABLE);
		return 77;
	}
	char tmp[] = "/var/tmp/fsynclab-dm.XXXXXX";
	const char *dir = argc >= 2 ? argv[1] : mkdtemp(tmp);
	if (!dir) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	char inner[4200], dm_name[64] = "", loop_dev[32] = "";
	snprintf(inner, sizeof(inner), "%s/inner-dm", dir);
	struct kernel_backend_opts opts = {.fs = KERNEL_FS_EXT4,
	                                   .fuse_mnt = dir,
	                                   .image_name = "dm.img",
	                                   .image_size = 64ull << 20,
	                                   .inner_mnt = inner,
	                                   .device_mapper = true};
	struct kernel_backend kb;
	int fd = -1;
	int rc = kernel_backend_setup(&opts, &kb);
	CHECK(rc == 0, "setup: %s", kb.err);
	snprintf(dm_name, sizeof(dm_name), "%s", kb.dm_name);
	snprintf(loop_dev, sizeof(loop_dev), "%s", kb.loop_dev);
	printf("ext4 on %s over %s\n", kb.fs_dev, kb.loop_dev);
	for (const char *const *f = (const char *const[]){"A", "B", NULL}; *f; f++) {
		fd = kernel_backend_create_file(&kb, *f);
		CHECK(fd >= 0, "create %s: %s", *f, kb.err);
		close(fd);
		fd = -1;
		CHECK(rewrite(&kb, *f, **f) == 0, "initial write of %s", *f);
	}

	/* dm-error over A's block */
	struct kernel_extent ext;
	CHECK(kernel_backend_map_block(&kb, "A", 0, &ext) == 0, "map: %s", kb.err);
	CHECK(kernel_dm_fail_extent(&kb, &ext) == 0, "load error table: %s", kb.err);
	rc = rewrite(&kb, "A", 'N');
	CHECK(rc == -EIO, "dm-error: A's fsync returned %s, expected EIO", rc ? strerror(-rc) : "0");
	rc = fsync_again(&kb, "A");
	CHECK(rc == 0, "dm-error: A's retry returned %s, expected 0 (the error is reported once)",
	      strerror(-rc));
	CHECK(first_byte(&kb, "A") == 'N', "dm-error: the page cache should hold the new data");
	rc = rewrite(&kb, "B", 'b');
	CHECK(rc == 0, "dm-error: B's fsync returned %s, expected 0 (other blocks are not failed)",
	      strerror(-rc));
	CHECK(kernel_dm_restore(&kb) == 0, "restore: %s", kb.err);
	CHECK(kernel_backend_reboot(&kb) == 0, "reboot: %s", kb.err);
	rc = first_byte(&kb, "A");
	CHECK(rc == 'A', "dm-error: after reboot A should hold the old data, got %d", rc);
	printf("ok dm-error: EIO once, retry 0, new data cached, old data after reboot\n");

	/* flakey drop_writes */
	char table[512];
	CHECK(kernel_dm_table_flakey(table, sizeof(table), kb.loop_dev, kb.dev_sectors, "drop_writes") == 0,
	      "table");
	CHECK(kernel_dm_load(&kb, table) == 0, "load drop_writes: %s", kb.err);
	rc = rewrite(&kb, "B", 'D');
	CHECK(rc == 0, "drop_writes: fsync returned %s, expected 0", strerror(-rc));
	CHECK(kernel_dm_restore(&kb) == 0, "restore: %s", kb.err);
	CHECK(kernel_backend_reboot(&kb) == 0, "reboot: %s", kb.err);
	rc = first_byte(&kb, "B");
	CHECK(rc == 'b', "drop_writes: after reboot B should hold 'b', got %d", rc);
	printf("ok dm-flakey drop_writes: fsync 0, acknowledged data gone after reboot\n");

	/* power cut through dm (drop_writes while unmounting): an unsynced rewrite is gone */
	{
		char path[4200];
		snprintf(path, sizeof(path), "%s/A", kb.inner_mnt);
		int wfd = open(path, O_RDWR);
		char buf[4096];
		memset(buf, 'U', sizeof(buf));
		CHECK(wfd >= 0 && pwrite(wfd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf), "unsynced write");
		close(wfd);
		CHECK(kernel_backend_power_cut(&kb) == 0, "power cut: %s", kb.err);
		rc = first_byte(&kb, "A");
		CHECK(rc == 'A', "power cut: A should hold its synced data 'A', got %d", rc);
		printf("ok power cut (dm drop_writes): the unsynced rewrite is gone\n");
	}

	/* flakey error_writes (last: it may abort the journal) */
	CHECK(kernel_dm_table_flakey(table, sizeof(table), kb.loop_dev, kb.dev_sectors, "error_writes") == 0,
	      "table");
	CHECK(kernel_dm_load(&kb, table) == 0, "load error_writes: %s", kb.err);
	rc = rewrite(&kb, "B", 'E');
	CHECK(rc == -EIO, "error_writes: fsync returned %s, expected EIO", rc ? strerror(-rc) : "0");
	CHECK(kernel_dm_restore(&kb) == 0, "restore: %s", kb.err);
	printf("ok dm-flakey error_writes: fsync EIO\n");
out:
	if (fd >= 0)
		close(fd);
	if (kernel_backend_teardown(&kb) < 0) {
		fprintf(stderr, "FAIL teardown: %s\n", kb.err);
		failures++;
	}
	if (dm_name[0] && dm_left(dm_name)) {
		fprintf(stderr, "FAIL dm device %s left behind\n", dm_name);
		failures++;
	}
	char backing[128];
	snprintf(backing, sizeof(backing), "/sys/block/%s/loop/backing_file", loop_dev + 5);
	if (loop_dev[0] && access(backing, F_OK) == 0) {
		fprintf(stderr, "FAIL %s still attached\n", loop_dev);
		failures++;
	}
	char image[4200];
	snprintf(image, sizeof(image), "%s/dm.img", dir);
	if (unlink(image) < 0 && errno != ENOENT)
		failures++;
	if (dir == tmp && rmdir(tmp) < 0)
		failures++;
	printf("%s\n", failures ? "FAILED" : "all device-mapper checks passed");
	return failures ? 1 : 0;
}
