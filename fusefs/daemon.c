/*
 * daemon.c — one mounted fsynclab filesystem from start to clean shutdown.
 *
 * Start: resolve BACKING, build the fault table and the page cache, create the FUSE session
 * (never the writeback cache: see ops.c), mount, start the control server with our handlers
 * (reboot = power cut, sync = write back everything, status), write the pid file next to the
 * control socket, start the background flusher (age-based and dirty-threshold writeback), and
 * tell `fsynclab mount` we are ready.
 *
 * Run: libfuse's multi-threaded session loop until the kernel says the mount is gone (umount)
 * or a signal asks us to stop.
 *
 * Stop: the flusher stops; the session is unmounted and destroyed, which calls lo_destroy: every
 * dirty page is written back with the rules still armed, as a real unmount does; then the control
 * socket and the pid file go. `fsynclab umount` waits for this process to exit, so when it returns
 * the backing directory holds exactly what a clean shutdown persisted.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "duration.h"
#include "ops.h"
#include "wire.h"

/*
 * The background flusher, the emulation of the kernel's flusher threads: it writes back pages
 * dirty for longer than --writeback-interval (dirty_expire), and, woken by a writer whose write
 * took the dirty pages over the background threshold (dirty_background), writes back the oldest
 * inodes until they are below it again, so the writer does not pay for it (the writer is
 * throttled only over the dirty limit). Runs in emulate mode even with --writeback-interval never.
 */
struct flusher {
	struct fsl_fs *fs;
	int64_t interval_ns; /* DURATION_NEVER: no age-based writeback */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled to stop, or to write back in the background */
	bool stop;           /* protected by lock */
	bool woken;          /* protected by lock: a writer crossed the background threshold */
	bool running;
};

/* An absolute CLOCK_REALTIME time NS from now, for pthread_cond_timedwait. */
static struct timespec flusher_deadline(int64_t ns)
{
	struct timespec t = {0};

	if (clock_gettime(CLOCK_REALTIME, &t) != 0)
		return t;
	t.tv_nsec += ns % 1000000000;
	t.tv_sec += ns / 1000000000 + t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	return t;
}

/* The page cache's wake_background: a writer crossed the background threshold. */
static void flusher_wake(void *arg)
{
	struct flusher *fl = arg;

	pthread_mutex_lock(&fl->lock);
	fl->woken = true;
	pthread_cond_signal(&fl->cond);
	pthread_mutex_unlock(&fl->lock);
}

static void *flusher_main(void *arg)
{
	struct flusher *fl = arg;
	struct fsl_fs *fs = fl->fs;
	bool periodic = fl->interval_ns != DURATION_NEVER;
	/* Wake often enough that a page is written back soon after it expires. */
	int64_t tick = periodic ? fl->interval_ns / 4 : 1000000000;
	int64_t next_tick;

	if (tick < 5000000)
		tick = 5000000;
	if (tick > 1000000000)
		tick = 1000000000;
	next_tick = pagecache_now_ns() + tick;
	pthread_mutex_lock(&fl->lock);
	while (!fl->stop) {
		bool background;

		if (!fl->woken) {
			if (periodic) {
				struct timespec until = flusher_deadline(next_tick - pagecache_now_ns());

				pthread_cond_timedwait(&fl->cond, &fl->lock, &until);
			} else {
				pthread_cond_wait(&fl->cond, &fl->lock);
			}
		}
		if (fl->stop)
			break;
		background = fl->woken;
		fl->woken = false;
		pthread_mutex_unlock(&fl->lock);
		if (atomic_load(&fs->state) == FS_STATE_OK && background) {
			unsigned written = 0;

			/* Rearm first: a write during this pass wakes us for another one. */
			pagecache_background_rearm(&fs->pc);
			if (pagecache_over_background(&fs->pc) && fsl_writeback_background(fs, &written) < 0)
				fprintf(stderr, "fsynclab: background writeback: out of memory\n");
			if (written == 0 && pagecache_over_background(&fs->pc)) {
				/* Nothing could be written (failing pages stay dirty): no busy retry. */
				struct timespec until = flusher_deadline(100000000);

				pthread_mutex_lock(&fl->lock);
				while (!fl->stop && pthread_cond_timedwait(&fl->cond, &fl->lock, &until) == 0)
					;
				pthread_mutex_unlock(&fl->lock);
			}
		}
		if (periodic && pagecache_now_ns() >= next_tick) {
			next_tick = pagecache_now_ns() + tick;
			if (atomic_load(&fs->state) == FS_STATE_OK &&
			    fsl_writeback_all(fs, fl->interval_ns, false) < 0)
				fprintf(stderr, "fsynclab: background writeback: out of memory\n");
		}
		pthread_mutex_lock(&fl->lock);
	}
	pthread_mutex_unlock(&fl->lock);
	return NULL;
}

/* Start the flusher thread for FS and hand the page cache its wake-up. Returns 0 or -errno. */
static int flusher_start(struct flusher *fl, struct fsl_fs *fs, int64_t interval_ns)
{
	int rc;

	fl->fs = fs;
	fl->interval_ns = interval_ns;
	fl->stop = false;
	fl->woken = false;
	fl->running = false;
	if (interval_ns == DURATION_NEVER && !fs->cache_emulate)
		return 0;
	rc = pthread_mutex_init(&fl->lock, NULL);
	if (rc != 0)
		return -rc;
	rc = pthread_cond_init(&fl->cond, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&fl->lock);
		return -rc;
	}
	rc = pthread_create(&fl->thread, NULL, flusher_main, fl);
	if (rc != 0) {
		pthread_cond_destroy(&fl->cond);
		pthread_mutex_destroy(&fl->lock);
		return -rc;
	}
	fl->running = true;
	/* No FUSE request runs yet (the session loop starts later), so no writer reads these yet. */
	fs->pc.cfg.wake_arg = fl;
	fs->pc.cfg.wake_background = flusher_wake;
	return 0;
}

/* Stop the flusher (after the session loop: no writer can wake it any more). */
static void flusher_stop(struct flusher *fl)
{
	int rc;

	if (!fl->running)
		return;
	fl->fs->pc.cfg.wake_background = NULL;
	pthread_mutex_lock(&fl->lock);
	fl->stop = true;
	pthread_cond_signal(&fl->cond);
	pthread_mutex_unlock(&fl->lock);
	rc = pthread_join(fl->thread, NULL);
	if (rc != 0)
		fprintf(stderr, "fsynclab: join flusher: %s\n", strerror(rc));
	pthread_cond_destroy(&fl->cond);
	pthread_mutex_destroy(&fl->lock);
	fl->running = false;
}

/* ---- Control handlers ---- */

static int daemon_reboot(void *ctx)
{
	return fsl_reboot(ctx);
}

static int daemon_sync(void *ctx)
{
	struct fsl_fs *fs = ctx;

	if (atomic_load(&fs->state) != FS_STATE_OK || !fs->cache_emulate)
		return 0;
	return fsl_writeback_all(fs, 0, fs->backing_sync);
}

static json_t *daemon_status(void *ctx)
{
	return fsl_status_json(ctx);
}

/* ---- Readiness ---- */

/* Tell the waiting `fsynclab mount` how it went (once), then close the pipe. */
static void ready_report(int *ready_fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ready_report(int *ready_fd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	size_t len, done = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*ready_fd < 0) {
		if (strcmp(msg, "ok\n") != 0)
			fprintf(stderr, "fsynclab mount: %s", msg);
		return;
	}
	len = strlen(msg);
	while (done < len) {
		ssize_t n = write(*ready_fd, msg + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (close(*ready_fd) != 0)
		fprintf(stderr, "fsynclab: close ready pipe: %s\n", strerror(errno));
	*ready_fd = -1;
}

/* Write our pid to PIDFILE (atomically, via a temporary file). Returns 0 or -errno. */
static int pidfile_write(const char *pidfile)
{
	char tmp[PATH_MAX + 8], buf[32];
	int fd, n, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n)
		rc = -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, pidfile) != 0)
		rc = -errno;
	if (rc < 0 && unlink(tmp) != 0)
		fprintf(stderr, "fsynclab: unlink %s: %s\n", tmp, strerror(errno));
	return rc;
}

int daemon_run(const struct daemon_config *cfg, int ready_fd)
{
	struct fsl_fs *fs;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop_cfg = NULL;
	struct control_server *ctl = NULL;
	struct control_handlers handlers;
	struct flusher fl = {.running = false};
	struct pagecache_config pcc;
	char opts[PATH_MAX + 256], sock[PATH_MAX], pidfile[PATH_MAX];
	bool mounted = false, pid_written = false, signals = false;
	int rc, status = 1;

	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		ready_report(&ready_fd, "error: out of memory\n");
		return 1;
	}
	rc = fsl_fs_init(fs, cfg->backing);
	if (rc < 0) {
		ready_report(&ready_fd, "error: backing directory '%s': %s\n", cfg->backing, strerror(-rc));
		free(fs);
		return 1;
	}
	snprintf(fs->mnt, sizeof(fs->mnt), "%s", cfg->mnt);
	fs->cache_emulate = cfg->cache_emulate;
	fs->backing_sync = cfg->backing_sync;
	fs->profile = cfg->profile;
	fs->block_size = cfg->block_size;
	fs->timeout = 1.0;
	fs->faults = fault_table_new(cfg->block_size);
	pcc = (struct pagecache_config){
	    .block_size = cfg->block_size,
	    .profile = cfg->profile,
	    .faults = fs->faults,
	    .legacy_errors = cfg->legacy_errors,
	    .dirty_limit = cfg->dirty_limit,
	};
	if (!fs->faults || pagecache_init(&fs->pc, &pcc) < 0) {
		ready_report(&ready_fd, "error: cannot set up the page cache and fault table\n");
		fault_table_free(fs->faults);
		fsl_fs_fini(fs);
		free(fs);
		return 1;
	}
	rc = cfg->namespace_durable
	         ? 0
	         : fsl_namespace_start(fs, cfg->namespace_posix
	                                       ? NAMESPACE_RULE_POSIX
	                                       : namespace_rule_for_profile(cfg->profile->name));
	if (rc < 0) {
		ready_report(&ready_fd, "error: namespace journal in '%s': %s\n", cfg->backing,
		             strerror(-rc));
		goto out;
	}
	rc = control_socket_path(cfg->mnt, sock, sizeof(sock), pidfile, sizeof(pidfile));
	if (rc < 0) {
		ready_report(&ready_fd, "error: control socket path: %s\n", strerror(-rc));
		goto out;
	}

	/* fsname shows the backing directory in mount(8); subtype makes the type fuse.fsynclab. */
	snprintf(opts, sizeof(opts), "fsname=fsynclab,subtype=fsynclab%s%s", cfg->mount_options ? "," : "",
	         cfg->mount_options ? cfg->mount_options : "");
	if (fuse_opt_add_arg(&args, "fsynclab") != 0 || fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, opts) != 0) {
		ready_report(&ready_fd, "error: out of memory\n");
		goto out;
	}
	fs->se = fuse_session_new(&args, &fsl_ops, sizeof(fsl_ops), fs);
	if (!fs->se) {
		ready_report(&ready_fd, "error: cannot create the FUSE session (options '%s')\n", opts);
		goto out;
	}
	if (fuse_set_signal_handlers(fs->se) != 0) {
		ready_report(&ready_fd, "error: cannot install signal handlers\n");
		goto out;
	}
	signals = true;
	if (fuse_session_mount(fs->se, cfg->mnt) != 0) {
		ready_report(&ready_fd, "error: cannot mount on '%s' (is /dev/fuse usable? see the log)\n",
		             cfg->mnt);
		goto out;
	}
	mounted = true;
	rc = wire_tap_install(fs->se, true);
	if (rc < 0) {
		ready_report(&ready_fd, "error: FUSE protocol tap: %s\n", strerror(-rc));
		goto out;
	}
	handlers = (struct control_handlers){
	    .ctx = fs, .reboot = daemon_reboot, .sync = daemon_sync, .status = daemon_status};
	rc = control_server_start(cfg->mnt, fs->faults, &handlers, &ctl);
	if (rc < 0) {
		ready_report(&ready_fd, "error: control socket for '%s': %s\n", cfg->mnt, strerror(-rc));
		goto out;
	}
	rc = pidfile_write(pidfile);
	if (rc < 0) {
		ready_report(&ready_fd, "error: pid file '%s': %s\n", pidfile, strerror(-rc));
		goto out;
	}
	pid_written = true;
	rc = flusher_start(&fl, fs, cfg->writeback_interval_ns);
	if (rc < 0) {
		ready_report(&ready_fd, "error: background flusher: %s\n", strerror(-rc));
		goto out;
	}
	loop_cfg = fuse_loop_cfg_create();
	if (!loop_cfg) {
		ready_report(&ready_fd, "error: out of memory\n");
		goto out;
	}
	fuse_loop_cfg_set_clone_fd(loop_cfg, 0);
	fuse_loop_cfg_set_max_threads(loop_cfg, 16);
	fprintf(stderr, "fsynclab: pid %ld serving %s (backing %s, profile %s, cache %s)\n", (long)getpid(),
	        cfg->mnt, fs->backing, cfg->profile->name, cfg->cache_emulate ? "emulate" : "none");
	ready_report(&ready_fd, "ok\n");
	rc = fuse_session_loop_mt(fs->se, loop_cfg);
	status = rc < 0 ? 1 : 0;
	if (rc < 0)
		fprintf(stderr, "fsynclab: session loop: %s\n", strerror(-rc));
out:
	flusher_stop(&fl);
	if (mounted)
		fuse_session_unmount(fs->se);
	if (signals)
		fuse_remove_signal_handlers(fs->se);
	if (fs->se)
		fuse_session_destroy(fs->se); /* calls lo_destroy: the clean-shutdown writeback */
	fs->se = NULL;
	control_server_stop(ctl);
	if (pid_written && unlink(pidfile) != 0)
		fprintf(stderr, "fsynclab: unlink %s: %s\n", pidfile, strerror(errno));
	if (loop_cfg)
		fuse_loop_cfg_destroy(loop_cfg);
	fuse_opt_free_args(&args);
	if (ready_fd >= 0)
		ready_report(&ready_fd, "error: the daemon stopped before the mount was ready\n");
	fsl_fs_fini(fs);
	pagecache_fini(&fs->pc);
	fault_table_free(fs->faults);
	free(fs);
	fprintf(stderr, "fsynclab: pid %ld stopped (%s)\n", (long)getpid(), status == 0 ? "clean" : "failed");
	return status;
}
