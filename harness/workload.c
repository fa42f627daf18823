/*
 * workload.c — the workload process (see workload.h): spawning it, its command loop, the JSON-line
 * conversation with the runner, and the `file` target's plain POSIX operations (named descriptors,
 * pwrite, fsync/fdatasync, pread). The WAL and table commands live in workload_wal.c.
 *
 * What it does not do: decide anything. It performs what it is told and reports what happened;
 * the runner compares with the scenario's expectations.
 */
#include "workload.h"
#include "io_full.h"
#include "workload_child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"

/* ---- Clock and hex ---- */

int64_t workload_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double workload_now_ms(int64_t t0_ns)
{
	return (double)(workload_clock_ns() - t0_ns) / 1e6;
}

char *workload_hex_encode(const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *out = malloc(2 * len + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}

/* hexval - the value of hex digit C, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t workload_hex_decode(const char *hex, uint8_t **out)
{
	size_t n = strlen(hex);
	*out = NULL;
	if (n % 2)
		return -EINVAL;
	uint8_t *buf = malloc(n / 2 ? n / 2 : 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(buf);
			return -EINVAL;
		}
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = buf;
	return (ssize_t)(n / 2);
}

/* ---- The conversation ---- */

double workload_t(const struct workload_child *ch)
{
	return workload_now_ms(ch->cfg.t0_ns);
}

void workload_emit(struct workload_child *ch, json_t *obj)
{
	char *line = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (!line)
		_exit(WORKLOAD_EXIT_PROTOCOL);
	size_t len = strlen(line);
	line[len] = '\n'; /* the NUL becomes the line's end: len + 1 bytes to write */
	pthread_mutex_lock(&ch->emit_lock);
	size_t off = 0;
	while (off < len + 1) {
		ssize_t w = write(ch->ev_fd, line + off, len + 1 - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(WORKLOAD_EXIT_PROTOCOL); /* the runner is gone */
		off += (size_t)w;
	}
	pthread_mutex_unlock(&ch->emit_lock);
	free(line);
}

void workload_done(struct workload_child *ch, int rc, json_t *extra)
{
	json_t *o = json_pack("{s:s,s:i,s:f}", "ev", "done", "rc", rc, "t", workload_t(ch));
	if (o && extra)
		json_object_update(o, extra);
	json_decref(extra);
	workload_emit(ch, o);
}

/* ---- The file target ---- */

/* fd_find - the slot named NAME, or NULL. */
static struct workload_fd *fd_find(struct workload_child *ch, const char *name)
{
	for (int i = 0; name && i < WORKLOAD_MAX_FDS; i++)
		if (ch->fds[i].fd >= 0 && strcmp(ch->fds[i].name, name) == 0)
			return &ch->fds[i];
	return NULL;
}

/* full_path - MNT/REL into BUF. 0 or -ENAMETOOLONG. */
static int full_path(const struct workload_child *ch, const char *rel, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", ch->cfg.mnt, rel);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* open_rel - open REL under the mount read-write (created if missing); a directory read-only, so
 * that `fsync: {path: DIR}` is a directory fsync. fd or -errno. */
static int open_rel(const struct workload_child *ch, const char *rel)
{
	char path[PATH_MAX];
	int r = full_path(ch, rel, path, sizeof(path));
	if (r < 0)
		return r;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EISDIR)
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* descriptor - the fd the command names ("fd" or "path"); *temp says the caller closes it. */
static int descriptor(struct workload_child *ch, json_t *cmd, bool *temp)
{
	const char *name = json_string_value(json_object_get(cmd, "fd"));
	const char *path = json_string_value(json_object_get(cmd, "path"));
	*temp = false;
	if (name) {
		struct workload_fd *slot = fd_find(ch, name);
		return slot ? slot->fd : -EBADF;
	}
	if (path) {
		*temp = true;
		return open_rel(ch, path);
	}
	return -EINVAL;
}

/* close_temp - close a descriptor opened for one command; 0 or -errno (close's error counts:
 * a writeback error can surface there). */
static int close_temp(int fd, bool temp)
{
	if (!temp || fd < 0)
		return 0;
	return close(fd) < 0 ? -errno : 0;
}

static void file_open(struct workload_child *ch, json_t *cmd)
{
	const char *name = json_string_value(json_object_get(cmd, "fd"));
	const char *path = json_string_value(json_object_get(cmd, "path"));
	if (!name || !path || fd_find(ch, name) || strlen(name) >= sizeof(ch->fds[0].name)) {
		workload_done(ch, -EINVAL, NULL);
		return;
	}
	struct workload_fd *slot = NULL;
	for (int i = 0; i < WORKLOAD_MAX_FDS && !slot; i++)
		if (ch->fds[i].fd < 0)
			slot = &ch->fds[i];
	if (!slot) {
		workload_done(ch, -EMFILE, NULL);
		return;
	}
	int fd = open_rel(ch, path);
	if (fd >= 0) {
		snprintf(slot->name, sizeof(slot->name), "%s", name);
		slot->fd = fd;
	}
	workload_done(ch, fd < 0 ? fd : 0, NULL);
}

static void file_close(struct workload_child *ch, json_t *cmd)
{
	struct workload_fd *slot = fd_find(ch, json_string_value(json_object_get(cmd, "fd")));
	if (!slot) {
		workload_done(ch, -EBADF, NULL);
		return;
	}
	int r = close(slot->fd) < 0 ? -errno : 0;
	slot->fd = -1;
	workload_done(ch, r, NULL);
}

static void file_write(struct workload_child *ch, json_t *cmd)
{
	uint8_t *data = NULL;
	const char *hex = json_string_value(json_object_get(cmd, "data"));
	ssize_t len = hex ? workload_hex_decode(hex, &data) : -EINVAL;
	if (len < 0) {
		workload_done(ch, (int)len, NULL);
		return;
	}
	bool temp;
	int fd = descriptor(ch, cmd, &temp);
	int r = fd < 0 ? fd : 0;
	off_t off = (off_t)json_integer_value(json_object_get(cmd, "offset"));
	if (r == 0)
		r = io_pwrite_all(fd, data, (size_t)len, (uint64_t)off);
	int c = close_temp(fd, temp);
	free(data);
	workload_done(ch, r ? r : c, NULL);
}

static void file_fsync(struct workload_child *ch, json_t *cmd)
{
	bool temp;
	int fd = descriptor(ch, cmd, &temp);
	int r = fd < 0 ? fd : 0;
	if (r == 0) {
		int64_t t = workload_clock_ns();
		r = (json_is_true(json_object_get(cmd, "datasync")) ? fdatasync(fd) : fsync(fd)) < 0 ? -errno
		                                                                                     : 0;
		workload_emit(ch, json_pack("{s:s,s:b,s:s,s:f,s:f,s:s}", "ev", "sync", "ok", r == 0, "err",
		                            r ? errname_str(-r) : "", "ms",
		                            (double)(workload_clock_ns() - t) / 1e6, "t", workload_t(ch),
		                            "what", "file"));
	}
	int c = close_temp(fd, temp);
	workload_done(ch, r ? r : c, NULL);
}

/* file_read - pread a range and send it back in hex (works for every target). */
static void file_read(struct workload_child *ch, json_t *cmd)
{
	bool temp;
	json_int_t length = json_integer_value(json_object_get(cmd, "length"));
	if (length <= 0 || length > (64 << 20)) {
		workload_done(ch, -EINVAL, NULL);
		return;
	}
	int fd = descriptor(ch, cmd, &temp);
	if (fd < 0) {
		workload_done(ch, fd, NULL);
		return;
	}
	uint8_t *buf = calloc(1, (size_t)length);
	int r = buf ? 0 : -ENOMEM;
	off_t off = (off_t)json_integer_value(json_object_get(cmd, "offset"));
	ssize_t got = 0;
	while (r == 0 && got < length) {
		ssize_t n = pread(fd, buf + got, (size_t)(length - got), off + got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0)
			break; /* past the end: the rest reads as zeros (a hole) */
		else
			got += n;
	}
	int c = close_temp(fd, temp);
	json_t *extra = NULL;
	if (r == 0) {
		char *hex = workload_hex_encode(buf, (size_t)length);
		extra = hex ? json_pack("{s:s,s:I}", "data", hex, "got", (json_int_t)got) : NULL;
		free(hex);
		if (!extra)
			r = -ENOMEM;
	}
	free(buf);
	workload_done(ch, r ? r : c, extra);
}

/* ---- The command loop ---- */

/* read_line - the next line from FD into a growing buffer; NULL at EOF or error. */
static char *read_line(int fd)
{
	size_t cap = 256, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return NULL;
		}
		if (c == '\n') {
			buf[len] = '\0';
			return buf;
		}
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		buf[len++] = c;
	}
	free(buf);
	return NULL;
}

/* child_main - serve commands until the runner closes the command pipe. Never returns. */
static void child_main(struct workload_child *ch)
{
	for (;;) {
		char *line = read_line(ch->cmd_fd);
		if (!line)
			break;
		json_error_t jerr;
		json_t *cmd = json_loads(line, 0, &jerr);
		free(line);
		const char *op = json_string_value(json_object_get(cmd, "op"));
		if (!op)
			_exit(WORKLOAD_EXIT_PROTOCOL);
		if (strcmp(op, "read") == 0)
			file_read(ch, cmd);
		else if (ch->cfg.target != WORKLOAD_FILE)
			workload_wal_command(ch, op, cmd);
		else if (strcmp(op, "open") == 0)
			file_open(ch, cmd);
		else if (strcmp(op, "close") == 0)
			file_close(ch, cmd);
		else if (strcmp(op, "write") == 0)
			file_write(ch, cmd);
		else if (strcmp(op, "fsync") == 0)
			file_fsync(ch, cmd);
		else
			workload_done(ch, -EOPNOTSUPP, NULL);
		json_decref(cmd);
	}
	workload_wal_shutdown(ch);
	_exit(0);
}

int workload_spawn(const struct workload_config *cfg, struct workload *w)
{
	int cmd[2], ev[2];
	if (pipe2(cmd, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ev, O_CLOEXEC) < 0) {
		int e = -errno;
		close(cmd[0]);
		close(cmd[1]);
		return e;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(cmd[0]);
		close(cmd[1]);
		close(ev[0]);
		close(ev[1]);
		return e;
	}
	if (pid == 0) {
		/* The child: own process group (the runner decides when it dies), default signals. */
		if (setpgid(0, 0) < 0)
			_exit(WORKLOAD_EXIT_PROTOCOL);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		close(cmd[1]);
		close(ev[0]);
		static struct workload_child ch;
		ch.cfg = *cfg;
		ch.cmd_fd = cmd[0];
		ch.ev_fd = ev[1];
		pthread_mutex_init(&ch.emit_lock, NULL);
		for (int i = 0; i < WORKLOAD_MAX_FDS; i++)
			ch.fds[i].fd = -1;
		child_main(&ch);
	}
	close(cmd[0]);
	close(ev[1]);
	*w = (struct workload){.pid = pid, .cmd_fd = cmd[1], .ev_fd = ev[0]};
	return 0;
}
