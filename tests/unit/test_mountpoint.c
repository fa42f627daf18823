/*
 * test_mountpoint.c — the mount point facts `fsynclab mount|umount` rely on: absolute paths
 * computed without touching the mount point, the mount table lookup, pid files and liveness
 * (a zombie counts as gone).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mountpoint.h"

static void test_abspath_does_not_need_the_mount_point(void **state)
{
	char cwd[PATH_MAX], out[PATH_MAX], want[PATH_MAX + 32];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	/* MNT itself need not exist (a dead mount cannot be stat'ed). */
	assert_int_equal(mountpoint_abspath("no-such-mnt-xyz", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/no-such-mnt-xyz", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(out, want);
	assert_int_equal(mountpoint_abspath("/tmp/no-such-mnt-xyz///", out, sizeof(out)), 0);
	assert_non_null(realpath("/tmp", cwd));
	snprintf(want, sizeof(want), "%s/no-such-mnt-xyz", cwd);
	assert_string_equal(out, want);
	assert_int_equal(mountpoint_abspath("/", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* Its parent must exist. */
	assert_int_equal(mountpoint_abspath("/no-such-dir-xyz/mnt", out, sizeof(out)), -ENOENT);
}

static void test_lookup_finds_root_and_not_a_plain_directory(void **state)
{
	char fstype[64] = "";

	(void)state;
	assert_int_equal(mountpoint_lookup("/", fstype, sizeof(fstype)), 1);
	assert_true(fstype[0] != '\0');
	assert_int_equal(mountpoint_lookup("/no-such-mnt-xyz", fstype, sizeof(fstype)), 0);
}

static void test_pid_file_and_liveness(void **state)
{
	char path[] = "/tmp/test_mountpoint.XXXXXX";
	int fd = mkstemp(path), status;
	pid_t child;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(mountpoint_read_pid(path), -EINVAL); /* empty */
	assert_true(dprintf(fd, "%ld\n", (long)getpid()) > 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(mountpoint_read_pid(path), getpid());
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mountpoint_read_pid(path), -ENOENT);

	assert_true(mountpoint_pid_alive(getpid()));
	assert_false(mountpoint_pid_alive(0));
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	/* Not yet reaped: a zombie, which has exited for our purposes. */
	for (int i = 0; i < 200 && mountpoint_pid_alive(child); i++)
		usleep(5000);
	assert_false(mountpoint_pid_alive(child));
	assert_int_equal(mountpoint_wait_exit(child, 100), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_false(mountpoint_pid_alive(child));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_abspath_does_not_need_the_mount_point),
	    cmocka_unit_test(test_lookup_finds_root_and_not_a_plain_directory),
	    cmocka_unit_test(test_pid_file_and_liveness),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
