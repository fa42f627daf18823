/*
 * daemon.h — running one fsynclab filesystem: mount, serve FUSE requests on a thread pool,
 * serve the control socket, flush dirty pages in the background, and shut down cleanly.
 */
#ifndef FSYNCLAB_DAEMON_H
#define FSYNCLAB_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "profiles.h"

/* Everything `fsynclab mount` decides before the daemon starts. */
struct daemon_config {
	const char *backing;           /* the directory that plays the disk */
	const char *mnt;               /* the mount point */
	const struct profile *profile; /* failure behaviour */
	bool cache_emulate;            /* false: --cache none */
	uint32_t block_size;           /* page size of the emulated cache and of --block rules */
	int64_t writeback_interval_ns; /* dirty pages older than this are flushed; DURATION_NEVER */
	bool legacy_errors;            /* pre-4.13 error reporting */
	bool backing_sync;             /* fsync reaches the backing file (default on) */
	uint64_t dirty_limit;          /* bytes of dirty pages before writers write back */
	const char *mount_options;     /* extra comma-separated -o options (e.g. allow_other), or NULL */
	bool namespace_posix;          /* only a directory fsync persists names (namespace.h) */
	bool namespace_durable;        /* names are durable at once: no namespace journal */
};

/*
 * daemon_run - mount CFG->mnt and serve it until it is unmounted (or SIGINT/SIGTERM/SIGHUP).
 * When READY_FD >= 0, writes "ok\n" to it once the mount and the control socket are ready, or
 * "error: <reason>\n" if they could not be set up, then closes it. On the way out, dirty pages
 * are written back (rules still apply), the control socket and pid file are removed.
 * Returns 0 after a clean shutdown, 1 on failure.
 */
int daemon_run(const struct daemon_config *cfg, int ready_fd);

#endif
