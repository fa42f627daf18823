/*
 * mountpoint.h — facts about a mount point that `fsynclab mount` and `fsynclab umount` need:
 * is something mounted there (and what), is the daemon that served it alive, and how to take
 * it away (cleanly, or lazily when the daemon is dead). Never touches the mount itself except
 * through stat, so a dead FUSE mount (ENOTCONN) is handled.
 */
#ifndef FSYNCLAB_MOUNTPOINT_H
#define FSYNCLAB_MOUNTPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* mountpoint_abspath - realpath(dirname(MNT)) + "/" + basename(MNT). Returns 0 or -errno. */
int mountpoint_abspath(const char *mnt, char *out, size_t len);

/*
 * mountpoint_lookup - whether ABS is a mount point in /proc/self/mountinfo; if so, its type
 * (e.g. "fuse.fsynclab") goes to FSTYPE. Returns 1 mounted, 0 not, -errno on failure.
 */
int mountpoint_lookup(const char *abs, char *fstype, size_t len);

/* mountpoint_read_pid - the pid in PIDFILE, or -errno (-ENOENT when there is none). */
long mountpoint_read_pid(const char *pidfile);

/* mountpoint_pid_alive - true when PID exists and is not a zombie. */
bool mountpoint_pid_alive(long pid);

/* mountpoint_unmount - unmount ABS (umount2 as root, fusermount3 -u otherwise); LAZY detaches.
 * Returns 0 or -errno (-EBUSY when in use). */
int mountpoint_unmount(const char *abs, bool lazy);

/* mountpoint_wait_exit - wait until PID is gone, at most TIMEOUT_MS. Returns 0 or -ETIMEDOUT. */
int mountpoint_wait_exit(long pid, int timeout_ms);

#endif
