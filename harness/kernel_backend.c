/*
 * kernel_backend.c — a real ext4/XFS/Btrfs on a loop device whose image lives on an fsynclab
 * mount. See kernel_backend.h for the model; this file is the mechanics, in the order a stack is
 * built: names and options, running mkfs, the loop device, mounting, block mapping (FIEMAP, and
 * Btrfs's chunk tree), reboot, teardown.
 *
 * Known limitations: one device per inner fs (no multi-device Btrfs); Btrfs block mapping handles
 * the single and DUP chunk profiles only (a DUP *data* chunk is refused: a write fault on one copy
 * would be tolerated by the other); `reboot` is a clean remount, not a power cut.
 */
#include "kernel_backend.h"

#include "control_client.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <endian.h>

/* ---- Names and options ------------------------------------------------------------------------ */

static const char *const fs_names[KERNEL_FS_COUNT] = {"ext4", "xfs", "btrfs"};

const char *kernel_fs_name(enum kernel_fs fs)
{
	return (unsigned)fs < KERNEL_FS_COUNT ? fs_names[fs] : "?";
}

int kernel_fs_parse(const char *name)
{
	for (int i = 0; name && i < KERNEL_FS_COUNT; i++)
		if (strcmp(name, fs_names[i]) == 0)
			return i;
	return -EINVAL;
}

uint64_t kernel_fs_min_image_size(enum kernel_fs fs)
{
	/* XFS refuses filesystems under 300 MiB; Btrfs wants ~114 MiB for single data + DUP metadata. */
	return fs == KERNEL_FS_XFS ? (320ull << 20) : (128ull << 20);
}

/* The generic mount(8) words that are flags, not data for the filesystem. */
static const struct {
	const char *word;
	unsigned long flag;
} mount_flag_words[] = {
    {"ro", MS_RDONLY},
    {"sync", MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC},
    {"noatime", MS_NOATIME},
    {"nodiratime", MS_NODIRATIME},
    {"relatime", MS_RELATIME},
    {"strictatime", MS_STRICTATIME},
    {"nodev", MS_NODEV},
    {"nosuid", MS_NOSUID},
    {"noexec", MS_NOEXEC},
};

int kernel_mount_options_parse(const char *options, unsigned long *flags, char *data, size_t datalen)
{
	*flags = 0;
	if (datalen == 0)
		return -ENAMETOOLONG;
	data[0] = '\0';
	if (!options)
		return 0;
	size_t used = 0;
	const char *p = options;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool is_flag = false;
		for (size_t i = 0; i < sizeof(mount_flag_words) / sizeof(mount_flag_words[0]); i++) {
			if (strlen(mount_flag_words[i].word) == len &&
			    strncmp(p, mount_flag_words[i].word, len) == 0) {
				*flags |= mount_flag_words[i].flag;
				is_flag = true;
			}
		}
		if (!is_flag && len > 0) {
			size_t need = len + (used ? 1 : 0);
			if (used + need + 1 > datalen)
				return -ENAMETOOLONG;
			if (used)
				data[used++] = ',';
			memcpy(data + used, p, len);
			used += len;
			data[used] = '\0';
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* set_err - record a one-line reason in kb->err and return ERR (negative errno). */
__attribute__((format(printf, 3, 4))) static int set_err(struct kernel_backend *kb, int err, const char *fmt,
                                                         ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(kb->err, sizeof(kb->err), fmt, ap);
	va_end(ap);
	return err;
}

/* ---- Running a command (mkfs) ---------------------------------------------------------------- */

/*
 * run_command - run ARGV (argv[0] looked up in PATH) with stdin from /dev/null and stdout+stderr
 * captured. Returns 0 when it exits 0; otherwise -EIO with the command and the last line of its
 * output in kb->err (-ENOENT when it could not be started).
 */
static int run_command(struct kernel_backend *kb, char *const argv[])
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return set_err(kb, -errno, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return set_err(kb, err, "fork: %s", strerror(-err));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(126);
		/* dmsetup: no udev in containers and VMs; the nodes are made by devtmpfs / dmsetup. */
		if (setenv("DM_DISABLE_UDEV", "1", 1) < 0)
			_exit(126);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	char out[4096];
	size_t used = 0;
	for (;;) {
		ssize_t n = read(pipefd[0], out + used, sizeof(out) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == sizeof(out) - 1) { /* keep the tail: slide the second half down */
			memmove(out, out + sizeof(out) / 2, used - sizeof(out) / 2);
			used -= sizeof(out) / 2;
		}
	}
	out[used] = '\0';
	close(pipefd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return set_err(kb, -errno, "waitpid %s: %s", argv[0], strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	while (used > 0 && (out[used - 1] == '\n' || out[used - 1] == ' '))
		out[--used] = '\0';
	char *last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return set_err(kb, code == 127 ? -ENOENT : -EIO, "%s failed (exit %d): %s", argv[0], code, last);
}

/* mkfs - format kb->loop_dev as kb->fs with the caller's extra options. */
static int mkfs(struct kernel_backend *kb, const char *extra)
{
	char *argv[64];
	int argc = 0;
	char *copy = NULL;
	switch (kb->fs) {
	case KERNEL_FS_EXT4:
		/* Initialise inode tables and journal now, so no background thread writes to the image
		 * during a test; no discard (it would become hole punches on the FUSE file). */
		argv[argc++] = "mkfs.ext4";
		argv[argc++] = "-q";
		argv[argc++] = "-F";
		argv[argc++] = "-b";
		argv[argc++] = "4096";
		argv[argc++] = "-E";
		argv[argc++] = "lazy_itable_init=0,lazy_journal_init=0,nodiscard";
		break;
	case KERNEL_FS_XFS:
		argv[argc++] = "mkfs.xfs";
		argv[argc++] = "-q";
		argv[argc++] = "-f";
		argv[argc++] = "-K";
		break;
	case KERNEL_FS_BTRFS:
		argv[argc++] = "mkfs.btrfs";
		argv[argc++] = "-q";
		argv[argc++] = "-f";
		argv[argc++] = "-K";
		break;
	default:
		return set_err(kb, -EINVAL, "unknown filesystem %d", (int)kb->fs);
	}
	if (extra && *extra) {
		copy = strdup(extra);
		if (!copy)
			return set_err(kb, -ENOMEM, "out of memory");
		char *save = NULL;
		for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
			if (argc >= 62) {
				free(copy);
				return set_err(kb, -E2BIG, "too many mkfs options: '%s'", extra);
			}
			argv[argc++] = w;
		}
	}
	argv[argc++] = kb->fs_dev;
	argv[argc] = NULL;
	int rc = run_command(kb, argv);
	free(copy);
	return rc;
}

/* ---- The loop device --------------------------------------------------------------------------- */

/* loop_read_dio - 1 when /sys says loop device NR does direct I/O, 0 when not, -errno if unknown. */
static int loop_read_dio(int nr)
{
	char path[64], buf[8] = "";
	snprintf(path, sizeof(path), "/sys/block/loop%d/loop/dio", nr);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	return buf[0] == '1';
}

/*
 * loop_attach - attach IMAGE_FD to a free loop device with direct I/O and autoclear (so a crashed
 * harness leaves no attached device once the inner fs is unmounted). Retries when another process
 * takes the free device first.
 */
static int loop_attach(struct kernel_backend *kb, int image_fd)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return set_err(kb, -errno, "/dev/loop-control: %s", strerror(errno));
	int rc = -EBUSY;
	for (int attempt = 0; attempt < 20; attempt++) {
		int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			rc = set_err(kb, -errno, "LOOP_CTL_GET_FREE: %s", strerror(errno));
			break;
		}
		char dev[32];
		snprintf(dev, sizeof(dev), "/dev/loop%d", nr);
		int fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			rc = set_err(kb, -errno, "%s: %s", dev, strerror(errno));
			break;
		}
		struct loop_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)image_fd;
		cfg.block_size = 512;
		cfg.info.lo_flags = LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR;
		/* Informational only (losetup -a shows it); a long path is cut, NUL-terminated by memset. */
		size_t name_len = strlen(kb->image_path);
		if (name_len > sizeof(cfg.info.lo_file_name) - 1)
			name_len = sizeof(cfg.info.lo_file_name) - 1;
		memcpy(cfg.info.lo_file_name, kb->image_path, name_len);
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) < 0) {
			int err = errno;
			close(fd);
			if (err == EBUSY)
				continue; /* someone else took it between GET_FREE and CONFIGURE */
			rc = set_err(kb, -err, "LOOP_CONFIGURE %s: %s", dev, strerror(err));
			break;
		}
		snprintf(kb->loop_dev, sizeof(kb->loop_dev), "%s", dev);
		kb->loop_fd = fd;
		int dio = loop_read_dio(nr);
		kb->loop_direct_io = dio == 1;
		rc = 0;
		break;
	}
	if (rc == -EBUSY)
		set_err(kb, rc, "no free loop device after 20 attempts");
	close(ctl);
	return rc;
}

/* still_ours - does sysfs file BACKING (a loop device's backing_file) still name IMAGE? A device
 * detached and already reused by someone else names another file. */
static bool still_ours(const char *backing, const char *image)
{
	char buf[PATH_MAX + 2];
	int fd = open(backing, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strncmp(buf, image, strlen(image)) == 0; /* may end in " (deleted)" */
}

/* loop_detach - LOOP_CLR_FD and close. The kernel defers the detach while the device is in use. */
static int loop_detach(struct kernel_backend *kb)
{
	if (kb->loop_fd < 0)
		return 0;
	int rc = 0;
	if (ioctl(kb->loop_fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO)
		rc = set_err(kb, -errno, "LOOP_CLR_FD %s: %s", kb->loop_dev, strerror(errno));
	if (close(kb->loop_fd) < 0 && rc == 0)
		rc = set_err(kb, -errno, "close %s: %s", kb->loop_dev, strerror(errno));
	kb->loop_fd = -1;
	/* When another process has the device open at that moment (a `losetup -a` or blkid of
	 * someone else), the kernel detaches it only at their last close: wait for that, up to 5 s,
	 * so that "nothing left behind" holds when teardown returns. */
	char backing[96];
	snprintf(backing, sizeof(backing), "/sys/block/%s/loop/backing_file", kb->loop_dev + strlen("/dev/"));
	for (int i = 0; i < 250 && still_ours(backing, kb->image_path); i++) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (still_ours(backing, kb->image_path) && rc == 0)
		rc = set_err(kb, -EBUSY, "%s is still attached 5 s after LOOP_CLR_FD (held open elsewhere)",
		             kb->loop_dev);
	kb->loop_dev[0] = '\0';
	return rc;
}

/* ---- Mounting ------------------------------------------------------------------------------- */

int kernel_backend_mount(struct kernel_backend *kb)
{
	if (kb->inner_mounted)
		return 0;
	if (mount(kb->fs_dev, kb->inner_mnt, kernel_fs_name(kb->fs), kb->mount_flags, kb->mount_data) < 0)
		return set_err(kb, -errno, "mount %s (%s, '%s') on %s: %s", kb->fs_dev,
		               kernel_fs_name(kb->fs), kb->mount_data, kb->inner_mnt, strerror(errno));
	kb->inner_mounted = true;
	struct statvfs sv;
	if (statvfs(kb->inner_mnt, &sv) < 0)
		return set_err(kb, -errno, "statvfs %s: %s", kb->inner_mnt, strerror(errno));
	kb->block_size = (uint32_t)sv.f_bsize;
	return 0;
}

int kernel_backend_unmount(struct kernel_backend *kb)
{
	if (!kb->inner_mounted)
		return 0;
	/* A process that just closed a file may still hold the fs for a moment: retry, then detach. */
	for (int attempt = 0; attempt < 20; attempt++) {
		if (umount2(kb->inner_mnt, 0) == 0) {
			kb->inner_mounted = false;
			return 0;
		}
		if (errno != EBUSY)
			return set_err(kb, -errno, "umount %s: %s", kb->inner_mnt, strerror(errno));
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	int err = -EBUSY;
	if (umount2(kb->inner_mnt, MNT_DETACH) == 0)
		kb->inner_mounted = false;
	return set_err(kb, err, "umount %s: busy for 2 s, detached lazily", kb->inner_mnt);
}

int kernel_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = write(fd, "3\n", 2) == 2 ? 0 : -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int kernel_backend_reboot(struct kernel_backend *kb)
{
	int rc = kernel_backend_unmount(kb);
	if (rc < 0)
		return rc;
	rc = kernel_drop_caches();
	if (rc < 0)
		return set_err(kb, rc, "drop_caches: %s", strerror(-rc));
	return kernel_backend_mount(kb);
}

/* ---- Power cut ---------------------------------------------------------------------------------- */

static int dm_drop_writes(struct kernel_backend *kb);

int kernel_backend_power_cut_begin(struct kernel_backend *kb)
{
	char msg[256];
	int64_t id;

	kb->cut_rule_id = 0;
	if (kb->dm_name[0])
		return dm_drop_writes(kb);
	json_t *rule = json_pack("{s:s, s:s, s:s}", "op", "write", "path", kb->image_name, "effect", "lost");
	if (!rule)
		return set_err(kb, -ENOMEM, "out of memory");
	id = control_client_inject(kb->fuse_mnt, rule, msg, sizeof(msg));
	json_decref(rule);
	if (id < 0)
		return set_err(kb, (int)id, "power cut: cannot arm the lost-writes rule: %s", msg);
	kb->cut_rule_id = id;
	return 0;
}

int kernel_backend_power_cut_finish(struct kernel_backend *kb)
{
	char msg[256];
	int rc;
	int unmount_rc = kernel_backend_unmount(kb);
	char reason[sizeof(kb->err)];
	memcpy(reason, kb->err, sizeof(reason));
	if (kb->dm_name[0])
		rc = kernel_dm_restore(kb);
	else
		rc = control_client_clear(kb->fuse_mnt, (uint64_t)kb->cut_rule_id, msg, sizeof(msg)) < 0
		         ? set_err(kb, -EIO, "power cut: cannot clear the lost-writes rule: %s", msg)
		         : 0;
	kb->cut_rule_id = 0;
	if (unmount_rc < 0) {
		memcpy(kb->err, reason, sizeof(reason));
		return unmount_rc;
	}
	if (rc < 0)
		return rc;
	rc = kernel_drop_caches();
	if (rc < 0)
		return set_err(kb, rc, "drop_caches: %s", strerror(-rc));
	return kernel_backend_mount(kb);
}

int kernel_backend_power_cut(struct kernel_backend *kb)
{
	int rc = kernel_backend_power_cut_begin(kb);

	return rc < 0 ? rc : kernel_backend_power_cut_finish(kb);
}

/* ---- Setup and teardown ------------------------------------------------------------------------ */

/*
 * set_nocow_dir - chattr +C on a Btrfs directory: files created in it afterwards inherit NOCOW, so
 * a rewrite stays in the block a rule was mapped to (see the header).
 */
static int set_nocow_dir(struct kernel_backend *kb, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return set_err(kb, -errno, "open %s: %s", dir, strerror(errno));
	int attr = 0, rc = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &attr) < 0) {
		rc = set_err(kb, -errno, "FS_IOC_GETFLAGS %s: %s", dir, strerror(errno));
	} else {
		attr |= FS_NOCOW_FL;
		if (ioctl(fd, FS_IOC_SETFLAGS, &attr) < 0)
			rc = set_err(kb, -errno, "chattr +C %s: %s", dir, strerror(errno));
	}
	close(fd);
	return rc;
}

static int dm_create(struct kernel_backend *kb);
static int dm_remove(struct kernel_backend *kb);

void kernel_backend_init(struct kernel_backend *kb)
{
	memset(kb, 0, sizeof(*kb));
	kb->loop_fd = -1;
}

int kernel_backend_setup(const struct kernel_backend_opts *opts, struct kernel_backend *kb)
{
	kernel_backend_init(kb);
	if ((unsigned)opts->fs >= KERNEL_FS_COUNT)
		return set_err(kb, -EINVAL, "unknown filesystem %d", (int)opts->fs);
	if (!opts->fuse_mnt || !opts->inner_mnt)
		return set_err(kb, -EINVAL, "fuse_mnt and inner_mnt are required");
	kb->fs = opts->fs;
	const char *name = opts->image_name ? opts->image_name : "disk.img";
	if (strchr(name, '/') || strlen(name) > NAME_MAX)
		return set_err(kb, -EINVAL, "image name '%s' must be a plain file name", name);
	snprintf(kb->image_name, sizeof(kb->image_name), "%s", name);
	snprintf(kb->fuse_mnt, sizeof(kb->fuse_mnt), "%s", opts->fuse_mnt);
	char fuse_abs[PATH_MAX];
	if (!realpath(opts->fuse_mnt, fuse_abs))
		return set_err(kb, -errno, "%s: %s", opts->fuse_mnt, strerror(errno));
	if ((size_t)snprintf(kb->image_path, sizeof(kb->image_path), "%s/%s", fuse_abs, name) >=
	        sizeof(kb->image_path) ||
	    (size_t)snprintf(kb->inner_mnt, sizeof(kb->inner_mnt), "%s", opts->inner_mnt) >=
	        sizeof(kb->inner_mnt))
		return set_err(kb, -ENAMETOOLONG, "path too long: '%s'", opts->fuse_mnt);
	int rc = kernel_mount_options_parse(opts->mount_options, &kb->mount_flags, kb->mount_data,
	                                    sizeof(kb->mount_data));
	if (rc < 0)
		return set_err(kb, rc, "mount options too long: '%s'", opts->mount_options);

	uint64_t size = opts->image_size ? opts->image_size : kernel_fs_min_image_size(kb->fs);
	int image_fd = open(kb->image_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (image_fd < 0)
		return set_err(kb, -errno, "create image %s: %s", kb->image_path, strerror(errno));
	if (ftruncate(image_fd, (off_t)size) < 0) {
		rc = set_err(kb, -errno, "size image %s to %llu bytes: %s", kb->image_path,
		             (unsigned long long)size, strerror(errno));
		close(image_fd);
		return rc;
	}
	rc = loop_attach(kb, image_fd);
	/* The loop device holds its own reference to the file now. */
	if (close(image_fd) < 0 && rc == 0)
		rc = set_err(kb, -errno, "close image: %s", strerror(errno));
	if (rc < 0)
		goto out_err;
	kb->dev_sectors = size / 512;
	snprintf(kb->fs_dev, sizeof(kb->fs_dev), "%s", kb->loop_dev);
	if (opts->device_mapper) {
		rc = dm_create(kb);
		if (rc < 0)
			goto out_err;
	}

	rc = mkfs(kb, opts->mkfs_options);
	if (rc < 0)
		goto out_err;

	struct stat st;
	if (stat(kb->inner_mnt, &st) < 0) {
		if (errno != ENOENT || mkdir(kb->inner_mnt, 0755) < 0) {
			rc = set_err(kb, -errno, "inner mount point %s: %s", kb->inner_mnt, strerror(errno));
			goto out_err;
		}
		kb->created_inner_mnt = true;
	} else if (!S_ISDIR(st.st_mode)) {
		rc = set_err(kb, -ENOTDIR, "inner mount point %s is not a directory", kb->inner_mnt);
		goto out_err;
	}
	rc = kernel_backend_mount(kb);
	if (rc < 0)
		goto out_err;
	kb->btrfs_cow = opts->btrfs_cow;
	if (kb->fs == KERNEL_FS_BTRFS && !kb->btrfs_cow) {
		rc = set_nocow_dir(kb, kb->inner_mnt);
		if (rc < 0)
			goto out_err;
	}
	/* Installed only now: a failed setup must leave the caller's FUSE mount alone. */
	kb->fuse_umount = opts->fuse_umount;
	kb->fuse_umount_ctx = opts->fuse_umount_ctx;
	return 0;

out_err:;
	char reason[sizeof(kb->err)];
	memcpy(reason, kb->err, sizeof(reason));
	kernel_backend_teardown(kb);
	memcpy(kb->err, reason, sizeof(reason));
	return rc;
}

int kernel_backend_teardown(struct kernel_backend *kb)
{
	int first = 0;
	char reason[sizeof(kb->err)] = "";
	int rc = kernel_backend_unmount(kb);
	if (rc < 0 && !first) {
		first = rc;
		memcpy(reason, kb->err, sizeof(reason));
	}
	rc = dm_remove(kb);
	if (rc < 0 && !first) {
		first = rc;
		memcpy(reason, kb->err, sizeof(reason));
	}
	rc = loop_detach(kb);
	if (rc < 0 && !first) {
		first = rc;
		memcpy(reason, kb->err, sizeof(reason));
	}
	if (kb->created_inner_mnt && !kb->inner_mounted) {
		if (rmdir(kb->inner_mnt) < 0 && errno != ENOENT && !first) {
			first = set_err(kb, -errno, "rmdir %s: %s", kb->inner_mnt, strerror(errno));
			memcpy(reason, kb->err, sizeof(reason));
		}
		kb->created_inner_mnt = false;
	}
	if (kb->fuse_umount) {
		int (*hook)(void *) = kb->fuse_umount;
		kb->fuse_umount = NULL;
		rc = hook(kb->fuse_umount_ctx);
		if (rc < 0 && !first) {
			first = set_err(kb, rc, "FUSE unmount: %s", strerror(-rc));
			memcpy(reason, kb->err, sizeof(reason));
		}
	}
	if (first)
		memcpy(kb->err, reason, sizeof(reason));
	return first;
}

/* ---- Files and block mapping ------------------------------------------------------------------ */

/* inner_path - kb->inner_mnt/REL into OUT; -ENAMETOOLONG or -EINVAL for an absolute/escaping REL. */
static int inner_path(struct kernel_backend *kb, const char *rel, char *out, size_t outlen)
{
	if (!rel || rel[0] == '/' || strstr(rel, ".."))
		return set_err(kb, -EINVAL, "file '%s' must be relative to the inner mount",
		               rel ? rel : "(null)");
	if ((size_t)snprintf(out, outlen, "%s/%s", kb->inner_mnt, rel) >= outlen)
		return set_err(kb, -ENAMETOOLONG, "path too long: '%s'", rel);
	return 0;
}

int kernel_backend_create_file(struct kernel_backend *kb, const char *rel)
{
	char path[PATH_MAX];
	int rc = inner_path(kb, rel, path, sizeof(path));
	if (rc < 0)
		return rc;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return set_err(kb, -errno, "create %s: %s", path, strerror(errno));
	if (kb->fs == KERNEL_FS_BTRFS && !kb->btrfs_cow) {
		/* chattr +C: must be set while the file is empty to take effect. */
		int attr = 0;
		if (ioctl(fd, FS_IOC_GETFLAGS, &attr) < 0) {
			rc = set_err(kb, -errno, "FS_IOC_GETFLAGS %s: %s", path, strerror(errno));
			close(fd);
			return rc;
		}
		attr |= FS_NOCOW_FL;
		if (ioctl(fd, FS_IOC_SETFLAGS, &attr) < 0) {
			rc = set_err(kb, -errno, "chattr +C %s: %s", path, strerror(errno));
			close(fd);
			return rc;
		}
	}
	return fd;
}

/* Chunk profiles that spread a logical range over several stripes: not mappable to one range. */
#define BTRFS_STRIPED_PROFILES                                                                               \
	(BTRFS_BLOCK_GROUP_RAID0 | BTRFS_BLOCK_GROUP_RAID1 | BTRFS_BLOCK_GROUP_RAID10 |                      \
	 BTRFS_BLOCK_GROUP_RAID5 | BTRFS_BLOCK_GROUP_RAID6 | BTRFS_BLOCK_GROUP_RAID1C3 |                     \
	 BTRFS_BLOCK_GROUP_RAID1C4)

/*
 * btrfs_logical_to_physical - find the chunk holding LOGICAL in the chunk tree of the Btrfs that
 * FD is on, and return the device offset of its first stripe. Needs CAP_SYS_ADMIN.
 */
static int btrfs_logical_to_physical(struct kernel_backend *kb, int fd, uint64_t logical, uint64_t *physical,
                                     struct kernel_extent *chunk_out)
{
	struct btrfs_ioctl_search_args args;
	memset(&args, 0, sizeof(args));
	struct btrfs_ioctl_search_key *sk = &args.key;
	sk->tree_id = BTRFS_CHUNK_TREE_OBJECTID;
	sk->min_objectid = sk->max_objectid = BTRFS_FIRST_CHUNK_TREE_OBJECTID;
	sk->min_type = sk->max_type = BTRFS_CHUNK_ITEM_KEY;
	sk->min_offset = 0;
	sk->max_offset = logical; /* chunk items are keyed by their logical start */
	sk->max_transid = UINT64_MAX;
	for (;;) {
		sk->nr_items = 512;
		if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &args) < 0)
			return set_err(kb, -errno, "BTRFS_IOC_TREE_SEARCH (chunk tree): %s", strerror(errno));
		if (sk->nr_items == 0)
			break;
		size_t off = 0;
		uint64_t last_offset = 0;
		for (uint32_t i = 0; i < sk->nr_items; i++) {
			struct btrfs_ioctl_search_header sh;
			if (off + sizeof(sh) > sizeof(args.buf))
				break;
			memcpy(&sh, args.buf + off, sizeof(sh));
			off += sizeof(sh);
			last_offset = sh.offset;
			if (sh.type == BTRFS_CHUNK_ITEM_KEY && sh.len >= sizeof(struct btrfs_chunk) &&
			    off + sh.len <= sizeof(args.buf)) {
				struct btrfs_chunk chunk;
				memcpy(&chunk, args.buf + off, sizeof(chunk));
				uint64_t start = sh.offset, length = le64toh(chunk.length);
				if (logical >= start && logical - start < length) {
					uint64_t type = le64toh(chunk.type);
					if (type & BTRFS_STRIPED_PROFILES)
						return set_err(kb, -EOPNOTSUPP,
						               "Btrfs chunk at %llu is striped/mirrored",
						               (unsigned long long)start);
					if ((type & BTRFS_BLOCK_GROUP_DUP) && (type & BTRFS_BLOCK_GROUP_DATA))
						return set_err(
						    kb, -EOPNOTSUPP,
						    "Btrfs data chunk at %llu is DUP: a fault on one copy is "
						    "absorbed by the other (mkfs with -d single)",
						    (unsigned long long)start);
					*physical = le64toh(chunk.stripe.offset) + (logical - start);
					if (chunk_out) {
						chunk_out->image_offset = le64toh(chunk.stripe.offset);
						chunk_out->length = length;
					}
					return 0;
				}
			}
			off += sh.len;
		}
		if (last_offset >= logical)
			break;
		sk->min_offset = last_offset + 1;
	}
	return set_err(kb, -ENOENT, "no Btrfs chunk holds logical address %llu", (unsigned long long)logical);
}

/* map_block - FIEMAP of one block, with FIEMAP_FLAG_SYNC when SYNC. */
static int map_block(struct kernel_backend *kb, const char *rel, uint64_t block, struct kernel_extent *out,
                     bool sync, struct kernel_extent *chunk_out)
{
	char path[PATH_MAX];
	int rc = inner_path(kb, rel, path, sizeof(path));
	if (rc < 0)
		return rc;
	if (!kb->inner_mounted || kb->block_size == 0)
		return set_err(kb, -ENOTCONN, "the inner filesystem is not mounted");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_err(kb, -errno, "open %s: %s", path, strerror(errno));

	union {
		struct fiemap fm;
		char bytes[sizeof(struct fiemap) + sizeof(struct fiemap_extent)];
	} req;
	memset(&req, 0, sizeof(req));
	uint64_t bs = kb->block_size;
	req.fm.fm_start = block * bs;
	req.fm.fm_length = bs;
	req.fm.fm_flags = sync ? FIEMAP_FLAG_SYNC : 0;
	req.fm.fm_extent_count = 1;
	if (ioctl(fd, FS_IOC_FIEMAP, &req.fm) < 0) {
		rc = set_err(kb, -errno, "FIEMAP %s: %s", path, strerror(errno));
		goto out;
	}
	const struct fiemap_extent *fe = &req.fm.fm_extents[0];
	uint64_t want = block * bs;
	if (req.fm.fm_mapped_extents == 0 || want < fe->fe_logical ||
	    want - fe->fe_logical >= fe->fe_length) {
		rc = set_err(kb, -ENODATA, "block %llu of %s is a hole (write and fsync it first)",
		             (unsigned long long)block, rel);
		goto out;
	}
	if (fe->fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_DATA_INLINE |
	                    FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_TAIL)) {
		rc = set_err(kb, -ENODATA,
		             "block %llu of %s has no block of its own on the device (fiemap flags 0x%x)",
		             (unsigned long long)block, rel, fe->fe_flags);
		goto out;
	}
	if (fe->fe_flags & (FIEMAP_EXTENT_ENCODED | FIEMAP_EXTENT_DATA_ENCRYPTED)) {
		rc = set_err(kb, -EOPNOTSUPP, "block %llu of %s is encoded (compressed or encrypted)",
		             (unsigned long long)block, rel);
		goto out;
	}
	uint64_t addr = fe->fe_physical + (want - fe->fe_logical);
	if (kb->fs == KERNEL_FS_BTRFS) {
		/* FIEMAP on Btrfs reports Btrfs logical addresses; the image needs device offsets. */
		rc = btrfs_logical_to_physical(kb, fd, addr, &addr, chunk_out);
		if (rc < 0)
			goto out;
	}
	out->image_offset = addr;
	out->length = bs;
	rc = 0;
out:
	if (close(fd) < 0 && rc == 0)
		rc = set_err(kb, -errno, "close %s: %s", path, strerror(errno));
	return rc;
}

/* ---- Device-mapper ------------------------------------------------------------------------------ */

int kernel_dm_available(void)
{
	int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* table_printf - snprintf into BUF, -ENAMETOOLONG when it does not fit. */
__attribute__((format(printf, 3, 4))) static int table_printf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int kernel_dm_table_linear(char *buf, size_t len, const char *dev, uint64_t dev_sectors)
{
	if (dev_sectors == 0)
		return -EINVAL;
	return table_printf(buf, len, "0 %llu linear %s 0", (unsigned long long)dev_sectors, dev);
}

int kernel_dm_table_error(char *buf, size_t len, const char *dev, uint64_t dev_sectors, uint64_t first,
                          uint64_t count)
{
	if (count == 0 || first >= dev_sectors || count > dev_sectors - first)
		return -EINVAL;
	uint64_t end = first + count;
	char head[128] = "", tail[128] = "";
	if (first > 0 &&
	    table_printf(head, sizeof(head), "0 %llu linear %s 0\n", (unsigned long long)first, dev) < 0)
		return -ENAMETOOLONG;
	if (end < dev_sectors &&
	    table_printf(tail, sizeof(tail), "\n%llu %llu linear %s %llu", (unsigned long long)end,
	                 (unsigned long long)(dev_sectors - end), dev, (unsigned long long)end) < 0)
		return -ENAMETOOLONG;
	return table_printf(buf, len, "%s%llu %llu error%s", head, (unsigned long long)first,
	                    (unsigned long long)count, tail);
}

int kernel_dm_table_flakey(char *buf, size_t len, const char *dev, uint64_t dev_sectors, const char *feature)
{
	if (dev_sectors == 0 || !feature || !*feature)
		return -EINVAL;
	/* Feature argument count: the feature word plus its parameters. */
	unsigned words = 0;
	bool in_word = false;
	for (const char *p = feature; *p; p++) {
		bool space = *p == ' ' || *p == '\t';
		if (!space && !in_word)
			words++;
		in_word = !space;
	}
	/* up interval 0, down interval 1 h: always down. */
	return table_printf(buf, len, "0 %llu flakey %s 0 0 3600 %u %s", (unsigned long long)dev_sectors, dev,
	                    words, feature);
}

/* dm_create - a linear dm device over the loop device; mkfs and mount then use it. */
static int dm_create(struct kernel_backend *kb)
{
	if (!kernel_dm_available())
		return set_err(kb, -ENODEV, KERNEL_DM_UNAVAILABLE);
	static unsigned counter;
	snprintf(kb->dm_name, sizeof(kb->dm_name), "fsynclab-%d-%u", (int)getpid(), counter++);
	char table[256];
	int rc = kernel_dm_table_linear(table, sizeof(table), kb->loop_dev, kb->dev_sectors);
	if (rc < 0)
		return set_err(kb, rc, "dm table too long");
	char *argv[] = {"dmsetup", "create", "--noudevsync", kb->dm_name, "--table", table, NULL};
	rc = run_command(kb, argv);
	if (rc < 0) {
		kb->dm_name[0] = '\0';
		return rc;
	}
	snprintf(kb->fs_dev, sizeof(kb->fs_dev), "/dev/mapper/%s", kb->dm_name);
	/* Without udev, dmsetup makes the node itself; wait briefly in case it lags. */
	for (int i = 0; i < 50 && access(kb->fs_dev, F_OK) != 0; i++) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (access(kb->fs_dev, F_OK) != 0)
		return set_err(kb, -ENOENT, "%s did not appear", kb->fs_dev);
	return 0;
}

/* dm_remove - remove KB's dm device (retrying while a just-unmounted fs still holds it). */
static int dm_remove(struct kernel_backend *kb)
{
	if (!kb->dm_name[0])
		return 0;
	char *argv[] = {"dmsetup", "remove", "--noudevsync", "--retry", kb->dm_name, NULL};
	int rc = run_command(kb, argv);
	if (rc == 0) {
		kb->dm_name[0] = '\0';
		snprintf(kb->fs_dev, sizeof(kb->fs_dev), "%s", kb->loop_dev);
	}
	return rc;
}

int kernel_dm_load(struct kernel_backend *kb, const char *table)
{
	if (!kb->dm_name[0])
		return set_err(kb, -EINVAL, "no dm device (set up with device_mapper)");
	char *suspend[] = {"dmsetup", "suspend", "--noudevsync", "--nolockfs", kb->dm_name, NULL};
	char *reload[] = {"dmsetup", "reload", "--noudevsync", kb->dm_name, "--table", (char *)table, NULL};
	char *resume[] = {"dmsetup", "resume", "--noudevsync", kb->dm_name, NULL};
	int rc = run_command(kb, suspend);
	if (rc < 0)
		return rc;
	rc = run_command(kb, reload);
	/* Resume in any case: a suspended device would hang every I/O of the inner fs. */
	char reason[sizeof(kb->err)];
	memcpy(reason, kb->err, sizeof(reason));
	int rc2 = run_command(kb, resume);
	if (rc < 0) {
		memcpy(kb->err, reason, sizeof(reason));
		return rc;
	}
	return rc2;
}

int kernel_dm_fail_extent(struct kernel_backend *kb, const struct kernel_extent *ext)
{
	char table[512];
	int rc = kernel_dm_table_error(table, sizeof(table), kb->loop_dev, kb->dev_sectors,
	                               ext->image_offset / 512, (ext->length + 511) / 512);
	if (rc < 0)
		return set_err(kb, rc, "extent [%llu, +%llu) is outside the device",
		               (unsigned long long)ext->image_offset, (unsigned long long)ext->length);
	return kernel_dm_load(kb, table);
}

/* dm_drop_writes - a flakey drop_writes table: writes are acknowledged and vanish. */
static int dm_drop_writes(struct kernel_backend *kb)
{
	char table[256];
	int rc = kernel_dm_table_flakey(table, sizeof(table), kb->loop_dev, kb->dev_sectors, "drop_writes");
	if (rc < 0)
		return set_err(kb, rc, "dm table too long");
	return kernel_dm_load(kb, table);
}

int kernel_dm_restore(struct kernel_backend *kb)
{
	char table[256];
	int rc = kernel_dm_table_linear(table, sizeof(table), kb->loop_dev, kb->dev_sectors);
	if (rc < 0)
		return set_err(kb, rc, "dm table too long");
	return kernel_dm_load(kb, table);
}

int kernel_backend_map_block(struct kernel_backend *kb, const char *rel, uint64_t block,
                             struct kernel_extent *out)
{
	return map_block(kb, rel, block, out, true, NULL);
}

int kernel_backend_map_block_nosync(struct kernel_backend *kb, const char *rel, uint64_t block,
                                    struct kernel_extent *out)
{
	return map_block(kb, rel, block, out, false, NULL);
}

int kernel_backend_map_chunk(struct kernel_backend *kb, const char *rel, uint64_t block,
                             struct kernel_extent *out)
{
	if (kb->fs != KERNEL_FS_BTRFS)
		return set_err(kb, -EINVAL, "data chunks are a Btrfs notion");
	struct kernel_extent ext;
	return map_block(kb, rel, block, &ext, true, out);
}
