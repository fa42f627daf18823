/*
 * control.c — the control plane of a mounted fsynclab filesystem: where its Unix socket lives,
 * what each request does, and the thread that serves it. The protocol is in control.h.
 *
 * Security. The socket is the only way to inject faults, so it is the mounting user's alone: it
 * lives in a runtime directory that must be a real directory (not a symlink), owned by the user,
 * with no group or other permission bits (0700) — a directory someone else created or loosened is
 * refused, never "fixed" — and the socket itself is chmod 0600. As defence in depth, the server
 * also checks each peer's credentials (SO_PEERCRED) and answers anyone but the owner or root with
 * an error before closing.
 *
 * Naming. The socket of mount point MNT is "<name>-<hash>.sock", where hash is FNV-1a 64 of MNT's
 * absolute path and name is MNT's last component (sanitised, for people listing the directory).
 * The absolute path is realpath(dirname(MNT)) + "/" + basename(MNT): the mount point itself is
 * never stat'ed, so a dead FUSE mount (which answers ENOTCONN) still finds its socket.
 *
 * Serving. One thread runs a poll(2) loop over the listening socket, a stop pipe and up to
 * CONTROL_MAX_CLIENTS connections (non-blocking), so a client that connects and says nothing
 * cannot stall the others. Requests are handled one at a time, in arrival order, by
 * control_handle_request: one JSON object per line, one answer per line. Idle connections are
 * closed after CONTROL_IDLE_SECONDS.
 *
 * Not here: the pid file (control_socket_path names it; the daemon writes and removes it) and what
 * reboot/sync/status do (the daemon's handlers).
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"

#define CONTROL_MAX_CLIENTS  32         /* connections served at once; more wait in the backlog */
#define CONTROL_MAX_LINE     (1u << 20) /* longest request line accepted, bytes */
#define CONTROL_IDLE_SECONDS 60         /* a connection silent this long is closed */
#define CONTROL_NAME_PREFIX  24         /* characters of the mount's basename kept in the name */

/* ---- Where the socket lives ---- */

/* The runtime directory: created 0700 if missing; refused unless ours, a directory, and 0700. */
static int control_runtime_dir(char *dir, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (xdg != NULL && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode))
		n = snprintf(dir, len, "%s/fsynclab", xdg);
	else
		n = snprintf(dir, len, "/tmp/fsynclab-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "fsynclab: %s is not a directory; refusing to use it for control sockets\n",
		        dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		fprintf(stderr, "fsynclab: %s is owned by uid %u, not %u; refusing to use it\n", dir,
		        (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 077) != 0) {
		fprintf(stderr, "fsynclab: %s has mode %04o, not 0700; refusing to use it\n", dir,
		        (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* FNV-1a, 64 bits: a stable name for a path, not a security boundary (the directory is). */
static uint64_t control_fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* MNT's absolute path without stat'ing MNT itself (only its parent is resolved). Returns 0 or -errno. */
static int control_mount_abspath(const char *mnt, char *out, size_t len)
{
	char abs[PATH_MAX], parent[PATH_MAX];
	int n;

	if (mnt == NULL || *mnt == '\0')
		return -EINVAL;
	if (mnt[0] == '/') {
		n = snprintf(abs, sizeof(abs), "%s", mnt);
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		n = snprintf(abs, sizeof(abs), "%s/%s", cwd, mnt);
	}
	if (n < 0 || (size_t)n >= sizeof(abs))
		return -ENAMETOOLONG;
	/* Drop trailing "/", "." and "x/.." lexically: resolving them would stat the mount itself. */
	for (unsigned pending = 0;;) {
		size_t l = strlen(abs);
		while (l > 1 && abs[l - 1] == '/')
			abs[--l] = '\0';
		char *last = strrchr(abs, '/');
		const char *base = last + 1;
		if (*base == '\0')
			break; /* the root: "/.." is "/" */
		if (strcmp(base, "..") == 0)
			pending++;
		else if (strcmp(base, ".") != 0 && pending == 0)
			break;
		else if (strcmp(base, ".") != 0)
			pending--;
		last[last == abs ? 1 : 0] = '\0';
	}
	char *slash = strrchr(abs, '/');
	const char *base = slash + 1;
	if (*base == '\0') {
		n = snprintf(out, len, "/");
	} else {
		if (slash == abs) {
			strcpy(parent, "/");
		} else {
			*slash = '\0';
			char resolved[PATH_MAX];
			if (realpath(abs, resolved) == NULL)
				return -errno;
			memcpy(parent, resolved, sizeof(parent));
		}
		n = snprintf(out, len, "%s%s%s", parent, strcmp(parent, "/") == 0 ? "" : "/", base);
	}
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int control_socket_path(const char *mnt, char *sock, size_t socklen, char *pidfile, size_t pidlen)
{
	char dir[PATH_MAX], abs[PATH_MAX], name[CONTROL_NAME_PREFIX + 1];
	int rc;

	if ((rc = control_mount_abspath(mnt, abs, sizeof(abs))) < 0)
		return rc;
	if ((rc = control_runtime_dir(dir, sizeof(dir))) < 0)
		return rc;
	const char *base = strrchr(abs, '/') + 1;
	size_t i = 0;
	for (; i < CONTROL_NAME_PREFIX && base[i] != '\0'; i++) {
		char c = base[i];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		             c == '.' || c == '_' || c == '-';
		name[i] = plain ? c : '_';
	}
	name[i] = '\0';
	if (i == 0)
		strcpy(name, "root");
	uint64_t h = control_fnv1a64(abs);
	struct sockaddr_un sun;
	int n = snprintf(sock, socklen, "%s/%s-%016" PRIx64 ".sock", dir, name, h);
	if (n < 0 || (size_t)n >= socklen || (size_t)n >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	n = snprintf(pidfile, pidlen, "%s/%s-%016" PRIx64 ".pid", dir, name, h);
	if (n < 0 || (size_t)n >= pidlen)
		return -ENAMETOOLONG;
	return 0;
}

/* Fill SUN with PATH. Returns 0 or -ENAMETOOLONG. */
static int control_sockaddr(const char *path, struct sockaddr_un *sun)
{
	size_t n = strlen(path);
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (n >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, n + 1);
	return 0;
}

/* ---- Requests ---- */

/* {"ok":false,"error":MSG[,"errno":NAME]}; NULL only on ENOMEM. */
static json_t *control_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *control_error(int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote client bytes; JSON strings must be UTF-8, so keep printable ASCII only. */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	json_t *resp = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	if (resp != NULL && err > 0 &&
	    json_object_set_new(resp, "errno", json_string(errname_str(err))) < 0) {
		json_decref(resp);
		return NULL;
	}
	return resp;
}

static json_t *control_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *control_do_ping(const struct control_handlers *handlers, const char *mnt)
{
	json_t *resp = json_pack("{s:b,s:I}", "ok", 1, "pid", (json_int_t)getpid());
	if (resp == NULL)
		return NULL;
	if (mnt != NULL)
		json_object_set_new(resp, "mountpoint", json_string(mnt));
	if (handlers != NULL && handlers->status != NULL) {
		json_t *st = handlers->status(handlers->ctx);
		const char *keys[] = {"mountpoint", "backing"};
		for (size_t i = 0; i < 2 && json_is_object(st); i++) {
			json_t *v = json_object_get(st, keys[i]);
			if (json_is_string(v))
				json_object_set(resp, keys[i], v);
		}
		json_decref(st);
	}
	return resp;
}

static json_t *control_do_inject(json_t *req, struct fault_table *faults)
{
	char why[256] = "";
	json_t *rule = json_object_get(req, "rule");

	if (faults == NULL)
		return control_error(ENOTSUP, "this daemon has no fault table");
	if (!json_is_object(rule))
		return control_error(EINVAL, "inject needs a \"rule\" object");
	int64_t id = fault_table_add_json(faults, rule, why, sizeof(why));
	if (id < 0)
		return control_error((int)-id, "%s", why[0] ? why : strerror((int)-id));
	return json_pack("{s:b,s:I}", "ok", 1, "id", (json_int_t)id);
}

static json_t *control_do_clear(json_t *req, struct fault_table *faults)
{
	json_t *idv = json_object_get(req, "id");
	uint64_t id = 0;

	if (faults == NULL)
		return control_error(ENOTSUP, "this daemon has no fault table");
	if (idv != NULL) {
		if (!json_is_integer(idv) || json_integer_value(idv) <= 0)
			return control_error(EINVAL, "\"id\" must be an integer >= 1");
		id = (uint64_t)json_integer_value(idv);
	}
	int rc = fault_table_remove(faults, id);
	if (rc == -ENOENT)
		return control_error(ENOENT, "no rule %" PRIu64, id);
	if (rc < 0)
		return control_error(-rc, "clear: %s", strerror(-rc));
	return control_ok();
}

static json_t *control_do_status(struct fault_table *faults, const struct control_handlers *handlers,
                                 const char *mnt)
{
	json_t *st = NULL;

	if (handlers != NULL && handlers->status != NULL)
		st = handlers->status(handlers->ctx);
	if (st != NULL && !json_is_object(st)) {
		json_decref(st);
		return control_error(EIO, "the daemon's status is not an object");
	}
	if (st == NULL && (st = json_object()) == NULL)
		return NULL;
	if (mnt != NULL && json_object_get(st, "mountpoint") == NULL)
		json_object_set_new(st, "mountpoint", json_string(mnt));
	json_t *rules = faults != NULL ? fault_table_status_json(faults) : json_array();
	if (rules == NULL || json_object_set_new(st, "rules", rules) < 0) {
		json_decref(st);
		return NULL;
	}
	return json_pack("{s:b,s:o}", "ok", 1, "status", st);
}

/* reboot / sync: call the daemon's handler and report its result. */
static json_t *control_do_action(const char *cmd, int (*fn)(void *), void *ctx)
{
	if (fn == NULL)
		return control_error(ENOTSUP, "%s is not supported by this daemon", cmd);
	int rc = fn(ctx);
	if (rc < 0)
		return control_error(-rc, "%s failed: %s", cmd, strerror(-rc));
	return control_ok();
}

/* control_handle_request, knowing the mount point the server serves (NULL if unknown). */
static json_t *control_handle_request_at(const char *line, size_t len, struct fault_table *faults,
                                         const struct control_handlers *handlers, const char *mnt)
{
	json_error_t jerr;
	json_t *req, *resp;

	if (line == NULL)
		return control_error(EINVAL, "empty request");
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0)
		return control_error(EINVAL, "empty request");
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL)
		return control_error(EINVAL, "bad JSON at column %d: %s", jerr.column, jerr.text);
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	if (!json_is_object(req))
		resp = control_error(EINVAL, "a request must be a JSON object");
	else if (cmd == NULL)
		resp = control_error(EINVAL, "missing \"cmd\" (ping, inject, clear, status, reboot, sync)");
	else if (strcmp(cmd, "ping") == 0)
		resp = control_do_ping(handlers, mnt);
	else if (strcmp(cmd, "inject") == 0)
		resp = control_do_inject(req, faults);
	else if (strcmp(cmd, "clear") == 0)
		resp = control_do_clear(req, faults);
	else if (strcmp(cmd, "status") == 0)
		resp = control_do_status(faults, handlers, mnt);
	else if (strcmp(cmd, "reboot") == 0)
		resp = control_do_action("reboot", handlers ? handlers->reboot : NULL,
		                         handlers ? handlers->ctx : NULL);
	else if (strcmp(cmd, "sync") == 0)
		resp = control_do_action("sync", handlers ? handlers->sync : NULL,
		                         handlers ? handlers->ctx : NULL);
	else
		resp = control_error(EINVAL,
		                     "unknown cmd '%.64s' (ping, inject, clear, status, reboot, sync)", cmd);
	json_decref(req);
	return resp;
}

json_t *control_handle_request(const char *line, size_t len, struct fault_table *faults,
                               const struct control_handlers *handlers)
{
	return control_handle_request_at(line, len, faults, handlers, NULL);
}

/* ---- The server thread ---- */

struct control_conn {
	int fd;   /* -1 = free slot */
	char *in; /* bytes received, not yet a full line */
	size_t inlen, incap;
	char *out; /* answers not yet sent: out[outoff, outlen) */
	size_t outlen, outoff, outcap;
	bool eof; /* peer finished sending: close once out is drained */
	time_t last_active;
};

struct control_server {
	char mnt[PATH_MAX]; /* absolute mount point, for answers */
	char sock[PATH_MAX];
	int listen_fd;
	int stop_pipe[2]; /* a byte on [1] asks the thread to finish */
	dev_t sock_dev;   /* identity of the socket we bound, so stop unlinks only ours */
	ino_t sock_ino;
	pthread_t thread;
	struct fault_table *faults;
	struct control_handlers handlers;
	struct control_conn conns[CONTROL_MAX_CLIENTS]; /* touched by the server thread only */
};

static void control_conn_close(struct control_conn *c)
{
	if (c->fd >= 0 && close(c->fd) < 0)
		perror("fsynclab: control: close");
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Append LEN bytes to a growing buffer. Returns 0 or -ENOMEM. */
static int control_buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n > *cap) {
		size_t ncap = *cap ? *cap : 1024;
		while (ncap < *len + n)
			ncap *= 2;
		char *nb = realloc(*buf, ncap);
		if (nb == NULL)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

/* Queue RESP (consumed) as one line; a NULL RESP (ENOMEM) becomes a fixed error line. */
static int control_conn_answer(struct control_conn *c, json_t *resp)
{
	static const char nomem[] = "{\"ok\":false,\"error\":\"out of memory\",\"errno\":\"ENOMEM\"}\n";
	char *text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
	int rc;

	json_decref(resp);
	if (text == NULL)
		return control_buf_append(&c->out, &c->outlen, &c->outcap, nomem, sizeof(nomem) - 1);
	rc = control_buf_append(&c->out, &c->outlen, &c->outcap, text, strlen(text));
	free(text);
	if (rc == 0)
		rc = control_buf_append(&c->out, &c->outlen, &c->outcap, "\n", 1);
	return rc;
}

/* Handle every complete line in c->in (and, at EOF, a last unterminated one). */
static int control_conn_process(struct control_server *srv, struct control_conn *c)
{
	size_t start = 0;
	int rc = 0;

	for (;;) {
		char *nl = c->inlen > start ? memchr(c->in + start, '\n', c->inlen - start) : NULL;
		size_t end = nl ? (size_t)(nl - c->in) : c->inlen;
		if (nl == NULL && !(c->eof && end > start))
			break;
		bool blank = true;
		for (size_t i = start; i < end && blank; i++)
			blank = c->in[i] == ' ' || c->in[i] == '\t' || c->in[i] == '\r';
		if (!blank) {
			json_t *resp = control_handle_request_at(c->in + start, end - start, srv->faults,
			                                         &srv->handlers, srv->mnt);
			if ((rc = control_conn_answer(c, resp)) < 0)
				break;
		}
		start = nl ? end + 1 : end;
	}
	if (start > 0) {
		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
	}
	if (rc == 0 && c->inlen > CONTROL_MAX_LINE) {
		rc = control_conn_answer(
		    c, control_error(E2BIG, "request longer than %u bytes", CONTROL_MAX_LINE));
		c->inlen = 0;
		c->eof = true;
	}
	return rc;
}

/* Read what is there; returns 0, or -errno when the connection should be dropped. */
static int control_conn_read(struct control_server *srv, struct control_conn *c)
{
	char buf[16384];
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		if (n == 0) {
			c->eof = true;
			break;
		}
		if (control_buf_append(&c->in, &c->inlen, &c->incap, buf, (size_t)n) < 0)
			return -ENOMEM;
		if (c->inlen > CONTROL_MAX_LINE)
			break;
	}
	return control_conn_process(srv, c);
}

/* Send what is queued; returns 0, or -errno when the connection should be dropped. */
static int control_conn_write(struct control_conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

/* Accept one connection; peers other than the owner (or root) get an error line and are closed. */
static void control_accept(struct control_server *srv)
{
	int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
			perror("fsynclab: control: accept");
		return;
	}
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0 ||
	    (cred.uid != geteuid() && cred.uid != 0)) {
		static const char denied[] =
		    "{\"ok\":false,\"error\":\"permission denied\",\"errno\":\"EACCES\"}\n";
		if (send(fd, denied, sizeof(denied) - 1, MSG_NOSIGNAL) < 0) {
			/* best effort: the peer is refused either way */
		}
		if (close(fd) < 0)
			perror("fsynclab: control: close");
		return;
	}
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (srv->conns[i].fd < 0) {
			srv->conns[i].fd = fd;
			srv->conns[i].last_active = time(NULL);
			return;
		}
	}
	if (close(fd) < 0) /* unreachable: the listener is not polled when every slot is taken */
		perror("fsynclab: control: close");
}

static void *control_server_main(void *arg)
{
	struct control_server *srv = arg;
	struct pollfd pfd[CONTROL_MAX_CLIENTS + 2];
	int slot[CONTROL_MAX_CLIENTS + 2];

	for (;;) {
		nfds_t n = 0;
		int nconns = 0;
		pfd[n++] = (struct pollfd){.fd = srv->stop_pipe[0], .events = POLLIN};
		for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			struct control_conn *c = &srv->conns[i];
			if (c->fd < 0)
				continue;
			nconns++;
			short ev = c->outlen > c->outoff ? POLLOUT : 0;
			if (!c->eof)
				ev |= POLLIN;
			slot[n] = i;
			pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
		}
		nfds_t listen_idx = n;
		if (nconns < CONTROL_MAX_CLIENTS)
			pfd[n++] = (struct pollfd){.fd = srv->listen_fd, .events = POLLIN};
		int ready = poll(pfd, n, 1000);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			perror("fsynclab: control: poll");
			break;
		}
		if (pfd[0].revents != 0)
			break;
		time_t now = time(NULL);
		for (nfds_t k = 1; k < listen_idx; k++) {
			struct control_conn *c = &srv->conns[slot[k]];
			int rc = 0;
			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
				c->last_active = now;
				rc = control_conn_read(srv, c);
			}
			if (rc == 0 && c->outlen > c->outoff)
				rc = control_conn_write(c);
			if (rc < 0 || (c->eof && c->outlen == c->outoff) ||
			    now - c->last_active > CONTROL_IDLE_SECONDS)
				control_conn_close(c);
		}
		if (listen_idx < n && (pfd[listen_idx].revents & POLLIN))
			control_accept(srv);
	}
	return NULL;
}

/* Is something answering on SOCK? (a live daemon for the same mount) */
static bool control_socket_alive(const char *sock)
{
	struct sockaddr_un sun;
	bool alive;

	if (control_sockaddr(sock, &sun) < 0)
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	if (close(fd) < 0)
		perror("fsynclab: control: close");
	return alive;
}

int control_server_start(const char *mnt, struct fault_table *faults, const struct control_handlers *handlers,
                         struct control_server **out)
{
	char pidfile[PATH_MAX];
	struct sockaddr_un sun;
	struct stat st;
	int rc;

	*out = NULL;
	struct control_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->listen_fd = srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		srv->conns[i].fd = -1;
	srv->faults = faults;
	if (handlers != NULL)
		srv->handlers = *handlers;
	if ((rc = control_mount_abspath(mnt, srv->mnt, sizeof(srv->mnt))) < 0)
		goto out_err;
	if ((rc = control_socket_path(mnt, srv->sock, sizeof(srv->sock), pidfile, sizeof(pidfile))) < 0)
		goto out_err;
	if (lstat(srv->sock, &st) == 0) {
		if (control_socket_alive(srv->sock)) {
			fprintf(stderr, "fsynclab: a daemon already serves %s (%s)\n", srv->mnt, srv->sock);
			rc = -EADDRINUSE;
			goto out_err;
		}
		if (unlink(srv->sock) < 0 && errno != ENOENT) {
			rc = -errno;
			goto out_err;
		}
	}
	if (pipe2(srv->stop_pipe, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out_err;
	}
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0) {
		rc = -errno;
		goto out_err;
	}
	if ((rc = control_sockaddr(srv->sock, &sun)) < 0)
		goto out_err;
	if (bind(srv->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		goto out_err;
	}
	/* The 0700 directory already keeps others out; 0600 on the socket says the same twice. */
	if (chmod(srv->sock, 0600) < 0 || lstat(srv->sock, &st) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	srv->sock_dev = st.st_dev;
	srv->sock_ino = st.st_ino;
	if (listen(srv->listen_fd, 64) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	if ((rc = pthread_create(&srv->thread, NULL, control_server_main, srv)) != 0) {
		rc = -rc;
		goto out_unlink;
	}
	*out = srv;
	return 0;
out_unlink:
	if (unlink(srv->sock) < 0)
		perror("fsynclab: control: unlink");
out_err:
	if (srv->listen_fd >= 0 && close(srv->listen_fd) < 0)
		perror("fsynclab: control: close");
	for (int i = 0; i < 2; i++)
		if (srv->stop_pipe[i] >= 0 && close(srv->stop_pipe[i]) < 0)
			perror("fsynclab: control: close");
	free(srv);
	return rc;
}

void control_server_stop(struct control_server *srv)
{
	struct stat st;

	if (srv == NULL)
		return;
	while (write(srv->stop_pipe[1], "x", 1) < 0 && errno == EINTR) {
	}
	int rc = pthread_join(srv->thread, NULL);
	if (rc != 0)
		fprintf(stderr, "fsynclab: control: join: %s\n", strerror(rc));
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (srv->conns[i].fd >= 0)
			control_conn_close(&srv->conns[i]);
	if (close(srv->listen_fd) < 0)
		perror("fsynclab: control: close");
	/* Unlink only the socket we bound: a later daemon may have replaced a stale one. */
	if (lstat(srv->sock, &st) == 0 && st.st_dev == srv->sock_dev && st.st_ino == srv->sock_ino &&
	    unlink(srv->sock) < 0)
		perror("fsynclab: control: unlink");
	for (int i = 0; i < 2; i++)
		if (close(srv->stop_pipe[i]) < 0)
			perror("fsynclab: control: close");
	free(srv);
}
