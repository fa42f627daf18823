/*
 * passthrough_check.c — issue item 1: with no rules, an fsynclab mount is a faithful
 * passthrough. Usage: passthrough_check MNT BACKING. Exercises files, directories, rename, link,
 * symlink, unlink of open files, truncate, fallocate, xattrs, shared writable mmap, O_DIRECT,
 * flock and fcntl locks, statfs, with plain syscalls; prints the first mismatch and exits 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "passthrough_check: %s:%d: %s (errno %s)\n", __FILE__, __LINE__,     \
			        #cond, strerror(errno));                                                     \
			exit(1);                                                                             \
		}                                                                                            \
	} while (0)

static const char *mnt, *backing;

static char *P(const char *rel)
{
	static char bufs[8][4096];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, 4096, "%s/%s", mnt, rel);
	return b;
}

static char *BK(const char *rel)
{
	static char b[4096];

	snprintf(b, sizeof(b), "%s/%s", backing, rel);
	return b;
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	CHECK(write(fd, data, strlen(data)) == (ssize_t)strlen(data));
	CHECK(close(fd) == 0);
}

static void expect_file(const char *path, const char *data)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	CHECK(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	CHECK(n == (ssize_t)strlen(data));
	CHECK(memcmp(buf, data, (size_t)n) == 0);
	CHECK(close(fd) == 0);
}

static void files_and_directories(void)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int seen = 0;

	CHECK(mkdir(P("dir"), 0755) == 0);
	CHECK(mkdir(P("dir"), 0755) == -1 && errno == EEXIST);
	write_file(P("dir/a"), "alpha");
	write_file(P("dir/b"), "beta");
	expect_file(P("dir/a"), "alpha");
	CHECK(stat(P("dir/a"), &st) == 0 && st.st_size == 5 && S_ISREG(st.st_mode));
	CHECK(chmod(P("dir/a"), 0600) == 0 && stat(P("dir/a"), &st) == 0 && (st.st_mode & 0777) == 0600);
	d = opendir(P("dir"));
	CHECK(d);
	while ((e = readdir(d)))
		seen += strcmp(e->d_name, "a") == 0 || strcmp(e->d_name, "b") == 0;
	CHECK(closedir(d) == 0);
	CHECK(seen == 2);
	CHECK(rmdir(P("dir")) == -1 && errno == ENOTEMPTY);
	CHECK(stat(P("missing"), &st) == -1 && errno == ENOENT);
	CHECK(mkdir(P("empty"), 0755) == 0 && rmdir(P("empty")) == 0);
	CHECK(stat(BK("empty"), &st) == -1 && errno == ENOENT);
}

static void rename_link_symlink(void)
{
	struct stat st, st2;
	char buf[256];
	ssize_t n;

	CHECK(rename(P("dir/a"), P("dir/c")) == 0);
	expect_file(P("dir/c"), "alpha");
	CHECK(rename(P("dir/b"), P("dir/c")) == 0); /* over an existing name */
	expect_file(P("dir/c"), "beta");
	CHECK(rename(P("dir"), P("dir2")) == 0);
	CHECK(link(P("dir2/c"), P("hard")) == 0);
	CHECK(stat(P("hard"), &st) == 0 && st.st_nlink == 2);
	CHECK(stat(P("dir2/c"), &st2) == 0 && st2.st_ino == st.st_ino);
	expect_file(P("hard"), "beta");
	CHECK(symlink("dir2/c", P("rel")) == 0);
	expect_file(P("rel"), "beta");
	/* A link pointing out of BACKING is stored as a link, never followed by the daemon. */
	CHECK(symlink("/etc/hostname-fsynclab-missing", P("abs")) == 0);
	n = readlink(P("abs"), buf, sizeof(buf) - 1);
	CHECK(n > 0);
	buf[n] = '\0';
	CHECK(strcmp(buf, "/etc/hostname-fsynclab-missing") == 0);
	CHECK(lstat(BK("abs"), &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(lstat(P("abs"), &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(unlink(P("abs")) == 0 && unlink(P("rel")) == 0);
}

static void unlink_open_file_truncate_fallocate(void)
{
	char buf[8192];
	struct stat st;
	int fd = open(P("tmpfile"), O_RDWR | O_CREAT, 0644);

	CHECK(fd >= 0);
	CHECK(unlink(P("tmpfile")) == 0);
	CHECK(pwrite(fd, "ghost", 5, 0) == 5);
	CHECK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "ghost", 5) == 0);
	CHECK(fsync(fd) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0);
	CHECK(close(fd) == 0);

	fd = open(P("trunc"), O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0);
	memset(buf, 'x', sizeof(buf));
	CHECK(pwrite(fd, buf, 8192, 0) == 8192);
	CHECK(ftruncate(fd, 100) == 0 && fstat(fd, &st) == 0 && st.st_size == 100);
	CHECK(truncate(P("trunc"), 5000) == 0 && stat(P("trunc"), &st) == 0 && st.st_size == 5000);
	CHECK(pread(fd, buf, 8192, 0) == 5000 && buf[99] == 'x' && buf[100] == 0 && buf[4999] == 0);
	CHECK(fallocate(fd, 0, 0, 65536) == 0 && fstat(fd, &st) == 0 && st.st_size == 65536);
	memset(buf, 'y', sizeof(buf));
	CHECK(pwrite(fd, buf, 8192, 0) == 8192 && fsync(fd) == 0);
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096) == 0);
	CHECK(pread(fd, buf, 8192, 0) == 8192 && buf[4095] == 'y' && buf[4096] == 0 && buf[8191] == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 65536);
	CHECK(close(fd) == 0);
	/* O_TRUNC and O_APPEND */
	write_file(P("trunc"), "abc");
	fd = open(P("trunc"), O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "def", 3) == 3 && close(fd) == 0);
	expect_file(P("trunc"), "abcdef");
}

static void xattrs(void)
{
	char buf[64];
	ssize_t n;

	write_file(P("xa"), "x");
	if (setxattr(P("xa"), "user.fsynclab", "v1", 2, 0) != 0 && errno == ENOTSUP) {
		fprintf(stderr, "passthrough_check: backing has no user xattrs: skipped\n");
		return;
	}
	CHECK(getxattr(P("xa"), "user.fsynclab", buf, sizeof(buf)) == 2 && memcmp(buf, "v1", 2) == 0);
	n = listxattr(P("xa"), buf, sizeof(buf));
	CHECK(n > 0 && memmem(buf, (size_t)n, "user.fsynclab", 13));
	CHECK(getxattr(BK("xa"), "user.fsynclab", buf, sizeof(buf)) == 2);
	CHECK(removexattr(P("xa"), "user.fsynclab") == 0);
	CHECK(getxattr(P("xa"), "user.fsynclab", buf, sizeof(buf)) == -1 && errno == ENODATA);
}

static void mmap_shared_and_direct(void)
{
	char buf[8192], *map;
	void *al;
	int fd = open(P("mapped"), O_RDWR | O_CREAT, 0644);

	CHECK(fd >= 0 && ftruncate(fd, 8192) == 0);
	map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED);
	memset(map, 'm', 8192);
	CHECK(msync(map, 8192, MS_SYNC) == 0 && munmap(map, 8192) == 0);
	CHECK(close(fd) == 0);
	fd = open(P("mapped"), O_RDONLY);
	CHECK(fd >= 0 && pread(fd, buf, 8192, 0) == 8192 && buf[0] == 'm' && buf[8191] == 'm');
	CHECK(close(fd) == 0);

	CHECK(posix_memalign(&al, 4096, 8192) == 0);
	fd = open(P("direct"), O_RDWR | O_CREAT | O_DIRECT, 0644);
	CHECK(fd >= 0);
	memset(al, 'd', 8192);
	CHECK(pwrite(fd, al, 8192, 0) == 8192);
	memset(al, 0, 8192);
	CHECK(pread(fd, al, 8192, 0) == 8192 && ((char *)al)[8191] == 'd');
	CHECK(close(fd) == 0);
	free(al);
}

static void locks_and_statfs(void)
{
	struct statvfs a, b;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
	int fd1 = open(P("lock"), O_RDWR | O_CREAT, 0644), fd2 = open(P("lock"), O_RDWR), status;
	pid_t pid;

	CHECK(fd1 >= 0 && fd2 >= 0);
	CHECK(flock(fd1, LOCK_EX) == 0);
	CHECK(flock(fd2, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK);
	CHECK(flock(fd1, LOCK_UN) == 0 && flock(fd2, LOCK_EX | LOCK_NB) == 0);
	CHECK(fcntl(fd1, F_SETLK, &fl) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};

		_exit(fcntl(fd2, F_GETLK, &q) == 0 && q.l_type == F_WRLCK && q.l_pid == getppid() ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(close(fd1) == 0 && close(fd2) == 0);
	CHECK(statvfs(mnt, &a) == 0 && statvfs(backing, &b) == 0);
	CHECK(a.f_blocks == b.f_blocks && a.f_bsize == b.f_bsize);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: passthrough_check MNT BACKING\n");
		return 2;
	}
	mnt = argv[1];
	backing = argv[2];
	files_and_directories();
	rename_link_symlink();
	unlink_open_file_truncate_fallocate();
	xattrs();
	mmap_shared_and_direct();
	locks_and_statfs();
	printf("passthrough_check: all good on %s\n", mnt);
	return 0;
}
