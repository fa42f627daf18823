/*
 * cmd_umount.c — `fsynclab umount MNT`: a clean shutdown, as a real unmount. The kernel unmount
 * makes the daemon leave its loop and write back every dirty page (rules still apply); this
 * command returns once the daemon process has exited, so the backing directory then holds
 * exactly what was durably written. A busy mount is refused and stays mounted.
 */
#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "mountpoint.h"

#define UMOUNT_WAIT_MS (10 * 60 * 1000) /* writeback of a large cache over a slow disk */

int cmd_umount(int argc, char **argv)
{
	char abs[PATH_MAX], sock[PATH_MAX], pidfile[PATH_MAX], fstype[128] = "";
	struct stat st;
	long pid;
	int rc, mounted;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: fsynclab umount MNT\n");
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: fsynclab umount MNT\n");
		return 2;
	}
	rc = mountpoint_abspath(argv[1], abs, sizeof(abs));
	if (rc == 0)
		rc = control_socket_path(abs, sock, sizeof(sock), pidfile, sizeof(pidfile));
	if (rc < 0) {
		fprintf(stderr, "fsynclab umount: '%s': %s\n", argv[1], strerror(-rc));
		return 1;
	}
	mounted = mountpoint_lookup(abs, fstype, sizeof(fstype));
	if (mounted <= 0 || strcmp(fstype, "fuse.fsynclab") != 0) {
		fprintf(stderr, "fsynclab umount: '%s' is not an fsynclab mount\n", abs);
		return 1;
	}
	pid = mountpoint_read_pid(pidfile);
	if (stat(abs, &st) != 0 && errno == ENOTCONN) {
		/* The daemon is dead: nothing to write back, just detach. */
		rc = mountpoint_unmount(abs, true);
		if (rc < 0) {
			fprintf(stderr, "fsynclab umount: cannot detach dead mount '%s': %s\n", abs,
			        strerror(-rc));
			return 1;
		}
		fprintf(stderr, "fsynclab umount: '%s' had no daemon (killed?); detached\n", abs);
		return 0;
	}
	rc = mountpoint_unmount(abs, false);
	if (rc == -EBUSY) {
		fprintf(stderr,
		        "fsynclab umount: '%s' is busy (a process has a file or directory open there); "
		        "still mounted\n",
		        abs);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "fsynclab umount: cannot unmount '%s': %s\n", abs, strerror(-rc));
		return 1;
	}
	if (pid > 0 && mountpoint_wait_exit(pid, UMOUNT_WAIT_MS) < 0) {
		fprintf(stderr, "fsynclab umount: unmounted '%s', but daemon pid %ld is still writing back\n",
		        abs, pid);
		return 1;
	}
	return 0;
}
