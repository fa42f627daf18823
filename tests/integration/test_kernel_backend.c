/*
 * test_kernel_backend.c — the kernel backend's stack and block mapping on real ext4, XFS and Btrfs
 * (ctest label `kernel`; needs root and loop devices, exits 77 to skip otherwise).
 *
 * For each filesystem: build the stack with the image in DIR (argv[1], or a temporary directory
 * under /var/tmp removed at the end; any directory whose files accept O_DIRECT — an fsynclab
 * --cache none mount, or a plain directory), write a distinct pattern
 * into blocks 0..3 of a file, and check that kernel_backend_map_block() points at the image bytes
 * that hold each pattern (read back from the image file itself). Then reboot (unmount, drop caches,
 * mount) and check the data, tear down, and check that nothing is left: the inner fs is not in
 * /proc/mounts and the loop device has no backing file.
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

/* pattern - the byte written into block B of the test file. */
static unsigned char pattern(unsigned b)
{
	return (unsigned char)(0xA0 + b);
}

/* is_mounted - is MNT a mount point in /proc/mounts? */
static int is_mounted(const char *mnt)
{
	FILE *f = fopen("/proc/mounts", "r");
	if (!f)
		return -errno;
	char line[4096];
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		char dev[1024], dir[1024];
		if (sscanf(line, "%1023s %1023s", dev, dir) == 2 && strcmp(dir, mnt) == 0)
			found = 1;
	}
	fclose(f);
	return found;
}

/* loop_has_backing - does loop device DEV ("/dev/loopN") still have a backing file? */
static int loop_has_backing(const char *dev)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", dev + strlen("/dev/"));
	return access(path, F_OK) == 0;
}

static void test_fs(enum kernel_fs fs, const char *dir)
{
	char inner[4096], image_name[64], loop_dev[32] = "";
	snprintf(inner, sizeof(inner), "%s/inner-%s", dir, kernel_fs_name(fs));
	snprintf(image_name, sizeof(image_name), "%s.img", kernel_fs_name(fs));
	struct kernel_backend_opts opts = {
	    .fs = fs, .fuse_mnt = dir, .image_name = image_name, .inner_mnt = inner};
	struct kernel_backend kb;
	unsigned char *buf = NULL;
	int fd = -1, img = -1;
	int rc = kernel_backend_setup(&opts, &kb);
	CHECK(rc == 0, "%s: setup: %s", kernel_fs_name(fs), kb.err);
	snprintf(loop_dev, sizeof(loop_dev), "%s", kb.loop_dev);
	printf("%s: %s on %s (direct I/O %s), block size %u\n", kernel_fs_name(fs), kb.image_path,
	       kb.loop_dev, kb.loop_direct_io ? "on" : "off", kb.block_size);
	CHECK(kb.block_size == 4096, "block size %u", kb.block_size);
	CHECK(kb.loop_direct_io, "%s: the loop device refused direct I/O on %s", kernel_fs_name(fs),
	      kb.image_path);

	fd = kernel_backend_create_file(&kb, "data.bin");
	CHECK(fd >= 0, "create: %s", kb.err);
	buf = malloc(kb.block_size);
	CHECK(buf, "malloc");
	for (unsigned b = 0; b < 4; b++) {
		memset(buf, pattern(b), kb.block_size);
		CHECK(pwrite(fd, buf, kb.block_size, (off_t)b * kb.block_size) == (ssize_t)kb.block_size,
		      "pwrite");
	}
	CHECK(fsync(fd) == 0, "fsync: %s", strerror(errno));
	CHECK(close(fd) == 0, "close");
	fd = -1;

	img = open(kb.image_path, O_RDONLY);
	CHECK(img >= 0, "open image: %s", strerror(errno));
	uint64_t prev = 0;
	for (unsigned b = 0; b < 4; b++) {
		struct kernel_extent ext;
		rc = kernel_backend_map_block(&kb, "data.bin", b, &ext);
		CHECK(rc == 0, "map block %u: %s", b, kb.err);
		CHECK(ext.length == kb.block_size, "extent length %llu", (unsigned long long)ext.length);
		CHECK(pread(img, buf, ext.length, (off_t)ext.image_offset) == (ssize_t)ext.length,
		      "pread image");
		for (size_t i = 0; i < ext.length; i++)
			CHECK(buf[i] == pattern(b),
			      "%s: block %u maps to image offset %llu, which holds 0x%02x, not 0x%02x",
			      kernel_fs_name(fs), b, (unsigned long long)ext.image_offset, buf[i],
			      pattern(b));
		if (b == 0)
			printf("%s: block 0 of data.bin is image bytes [%llu, +%llu)\n", kernel_fs_name(fs),
			       (unsigned long long)ext.image_offset, (unsigned long long)ext.length);
		CHECK(b == 0 || ext.image_offset != prev, "two blocks map to one place");
		prev = ext.image_offset;
	}
	struct kernel_extent none;
	CHECK(kernel_backend_map_block(&kb, "data.bin", 100, &none) == -ENODATA,
	      "a hole must map to -ENODATA");
	CHECK(kernel_backend_map_block(&kb, "../escape", 0, &none) == -EINVAL,
	      "an escaping path must be refused");

	rc = kernel_backend_reboot(&kb);
	CHECK(rc == 0, "reboot: %s", kb.err);
	char path[4200];
	snprintf(path, sizeof(path), "%s/data.bin", inner);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0, "reopen after reboot: %s", strerror(errno));
	CHECK(pread(fd, buf, kb.block_size, 3 * (off_t)kb.block_size) == (ssize_t)kb.block_size, "read");
	CHECK(buf[0] == pattern(3) && buf[kb.block_size - 1] == pattern(3), "data after reboot");
out:
	if (fd >= 0)
		close(fd);
	if (img >= 0)
		close(img);
	free(buf);
	if (kernel_backend_teardown(&kb) < 0) {
		fprintf(stderr, "FAIL teardown: %s\n", kb.err);
		failures++;
	}
	if (is_mounted(inner) != 0) {
		fprintf(stderr, "FAIL %s still mounted after teardown\n", inner);
		failures++;
	}
	if (loop_dev[0] && loop_has_backing(loop_dev)) {
		fprintf(stderr, "FAIL %s still attached after teardown\n", loop_dev);
		failures++;
	}
	if (access(inner, F_OK) == 0) {
		fprintf(stderr, "FAIL %s left behind\n", inner);
		failures++;
	}
}

int main(int argc, char **argv)
{
	if (geteuid() != 0 || access("/dev/loop-control", F_OK) != 0) {
		printf("SKIP: needs root and /dev/loop-control\n");
		return 77;
	}
	char tmp[] = "/var/tmp/fsynclab-kb.XXXXXX";
	const char *dir = argc >= 2 ? argv[1] : mkdtemp(tmp);
	if (!dir) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	for (int a = 2; a < argc; a++) {
		if (kernel_fs_parse(argv[a]) < 0) {
			fprintf(stderr, "unknown filesystem '%s' (ext4, xfs, btrfs)\n", argv[a]);
			return 2;
		}
	}
	for (int i = 0; i < KERNEL_FS_COUNT; i++) {
		bool wanted = argc <= 2;
		for (int a = 2; a < argc; a++)
			wanted |= kernel_fs_parse(argv[a]) == i;
		if (!wanted)
			continue;
		test_fs((enum kernel_fs)i, dir);
		char image[4200];
		snprintf(image, sizeof(image), "%s/%s.img", dir, kernel_fs_name((enum kernel_fs)i));
		if (unlink(image) < 0 && errno != ENOENT) {
			fprintf(stderr, "FAIL unlink %s: %s\n", image, strerror(errno));
			failures++;
		}
	}
	if (dir == tmp && rmdir(tmp) < 0) {
		fprintf(stderr, "FAIL rmdir %s: %s\n", tmp, strerror(errno));
		failures++;
	}
	printf("%s\n", failures ? "FAILED" : "all kernel backend checks passed");
	return failures ? 1 : 0;
}
