/*
 * test_control.c — unit tests of fusefs/control.c (socket path and its directory checks, request
 * handling) and of harness/control_client.c + the inject/clear/status/reboot commands, end to end
 * against a control server started on a temporary mount path (no FUSE mount needed).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "commands.h"
#include "control.h"
#include "control_client.h"
#include "faults.h"

static char tmpdir[256];      /* XDG_RUNTIME_DIR for the tests, and home of the mount paths */
static char rundir[PATH_MAX]; /* tmpdir/fsynclab: the runtime directory control.c creates */
static char mnt[PATH_MAX];    /* tmpdir/mnt: a mount point that is never mounted */

/* ---- A fake daemon: handlers that count calls ---- */

struct fake_daemon {
	int reboots, syncs, statuses;
	int reboot_rc;
	bool partial_status; /* answer with only some fields */
};

static int fake_reboot(void *ctx)
{
	struct fake_daemon *d = ctx;
	d->reboots++;
	return d->reboot_rc;
}

static int fake_sync(void *ctx)
{
	struct fake_daemon *d = ctx;
	d->syncs++;
	return 0;
}

static json_t *fake_status(void *ctx)
{
	struct fake_daemon *d = ctx;
	d->statuses++;
	if (d->partial_status)
		return json_pack("{s:s}", "state", "shutdown");
	return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:[{s:s,s:i,s:[i,i,i,i],s:[i]}],s:[{s:s,s:s,s:s,s:i}]}",
	                 "mountpoint", "/m", "backing", "/b", "profile", "ext4-ordered", "cache", "emulate",
	                 "block_size", 4096, "state", "ok", "files", "path", "a.log", "size", 8192,
	                 "dirty_pages", 0, 1, 2, 5, "failed_pages", 3, "errors", "path", "a.log", "op",
	                 "writeback", "errno", "EIO", "block", 3);
}

static struct fake_daemon daemon_state;
static const struct control_handlers fake_handlers = {
    .ctx = &daemon_state, .reboot = fake_reboot, .sync = fake_sync, .status = fake_status};

static int setup_group(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fsynclab-test-control-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(rundir, sizeof(rundir), "%s/fsynclab", tmpdir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	return setenv("XDG_RUNTIME_DIR", tmpdir, 1);
}

static int teardown_group(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Handle the request spelled TEXT; returns the answer (asserts it is an object). */
static json_t *handle(const char *text, struct fault_table *t)
{
	json_t *resp = control_handle_request(text, strlen(text), t, &fake_handlers);
	assert_true(json_is_object(resp));
	return resp;
}

static bool is_ok(json_t *resp)
{
	return json_is_true(json_object_get(resp, "ok"));
}

/* ---- control_socket_path ---- */

static void test_socket_path_same_for_every_spelling_of_a_mount(void **state)
{
	(void)state;
	char s1[PATH_MAX], p1[PATH_MAX], s2[PATH_MAX], p2[PATH_MAX], link[PATH_MAX], cwd[PATH_MAX];
	assert_int_equal(control_socket_path(mnt, s1, sizeof(s1), p1, sizeof(p1)), 0);
	assert_true(strncmp(s1, rundir, strlen(rundir)) == 0);
	assert_non_null(strstr(s1, "/mnt-"));
	assert_string_equal(s1 + strlen(s1) - 5, ".sock");
	assert_string_equal(p1 + strlen(p1) - 4, ".pid");
	/* the runtime directory was created 0700 */
	struct stat st;
	assert_int_equal(lstat(rundir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);

	snprintf(link, sizeof(link), "%s/mnt/", tmpdir); /* trailing slash */
	assert_int_equal(control_socket_path(link, s2, sizeof(s2), p2, sizeof(p2)), 0);
	assert_string_equal(s1, s2);
	snprintf(link, sizeof(link), "%s//./mnt", tmpdir);
	assert_int_equal(control_socket_path(link, s2, sizeof(s2), p2, sizeof(p2)), 0);
	assert_string_equal(s1, s2);
	/* through a symlink to the parent */
	snprintf(link, sizeof(link), "%s/alias", tmpdir);
	assert_int_equal(symlink(tmpdir, link), 0);
	snprintf(link, sizeof(link), "%s/alias/mnt", tmpdir);
	assert_int_equal(control_socket_path(link, s2, sizeof(s2), p2, sizeof(p2)), 0);
	assert_string_equal(s1, s2);
	/* trailing "." and "x/.." are resolved without looking at the mount point (it may be dead) */
	snprintf(link, sizeof(link), "%s/mnt/./", tmpdir);
	assert_int_equal(control_socket_path(link, s2, sizeof(s2), p2, sizeof(p2)), 0);
	assert_string_equal(s1, s2);
	snprintf(link, sizeof(link), "%s/mnt/never/../.", tmpdir);
	assert_int_equal(control_socket_path(link, s2, sizeof(s2), p2, sizeof(p2)), 0);
	assert_string_equal(s1, s2);
	snprintf(link, sizeof(link), "%s/mnt/a/b/../..", tmpdir);
	assert_int_equal(control_socket_path(link, s2, sizeof(s2), p2, sizeof(p2)), 0);
	assert_string_equal(s1, s2);
	/* relative to the working directory, including "." itself */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(control_socket_path("mnt", s2, sizeof(s2), p2, sizeof(p2)), 0);
	assert_string_equal(s1, s2);
	assert_int_equal(mkdir("mnt", 0700), 0);
	assert_int_equal(chdir("mnt"), 0);
	assert_int_equal(control_socket_path(".", s2, sizeof(s2), p2, sizeof(p2)), 0);
	assert_string_equal(s1, s2);
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(rmdir("mnt"), 0);
	assert_int_equal(chdir(cwd), 0);
	/* another mount point, another socket */
	snprintf(link, sizeof(link), "%s/mnt2", tmpdir);
	assert_int_equal(control_socket_path(link, s2, sizeof(s2), p2, sizeof(p2)), 0);
	assert_true(strcmp(s1, s2) != 0);
	/* a mount point whose parent does not exist cannot be named */
	snprintf(link, sizeof(link), "%s/no/such/mnt", tmpdir);
	assert_int_equal(control_socket_path(link, s2, sizeof(s2), p2, sizeof(p2)), -ENOENT);
}

static void test_socket_path_refuses_loose_or_foreign_directory(void **state)
{
	(void)state;
	char s[PATH_MAX], p[PATH_MAX];
	assert_int_equal(control_socket_path(mnt, s, sizeof(s), p, sizeof(p)), 0);
	assert_int_equal(chmod(rundir, 0755), 0);
	assert_int_equal(control_socket_path(mnt, s, sizeof(s), p, sizeof(p)), -EPERM);
	assert_int_equal(chmod(rundir, 0700), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(rundir, 65534, 65534), 0);
		assert_int_equal(control_socket_path(mnt, s, sizeof(s), p, sizeof(p)), -EPERM);
		assert_int_equal(chown(rundir, 0, 0), 0);
	}
	/* a symlink in place of the directory is refused, even one pointing to a good directory */
	char real[PATH_MAX];
	snprintf(real, sizeof(real), "%s/real", tmpdir);
	assert_int_equal(rename(rundir, real), 0);
	assert_int_equal(symlink(real, rundir), 0);
	assert_int_equal(control_socket_path(mnt, s, sizeof(s), p, sizeof(p)), -ENOTDIR);
	assert_int_equal(unlink(rundir), 0);
	assert_int_equal(rename(real, rundir), 0);
	assert_int_equal(control_socket_path(mnt, s, sizeof(s), p, sizeof(p)), 0);
}

/* ---- control_handle_request ---- */

static void test_request_garbage_gets_an_error_not_a_crash(void **state)
{
	(void)state;
	struct fault_table *t = fault_table_new(4096);
	const char *bad[] = {
	    "", "\n", "nonsense", "{", "[]", "42", "{\"cmd\":7}", "{\"cmd\":\"launch\"}",
	    "{\"cmd\":\"inject\"}", "{\"cmd\":\"inject\",\"rule\":[]}", "{\"cmd\":\"clear\",\"id\":-3}",
	    "{\"cmd\":\"clear\",\"id\":\"1\"}", "{\"cmd\":\"ping\",\"cmd\":\"ping\"}",
	    "{\"cmd\":\"inject\",\"rule\":{\"op\":\"x\"}}",
	    /* found by the fuzzer: an error message quoting half a UTF-8 character */
	    "{\"cmd\":\"inject\",\"rule\":{\"op\":\"write\",\"errno\":\"EIO\",\"sequence\":\"w\xd8\x8fW\"}}",
	    "{\"cmd\":\"\xc3\xa9\xc3\xa9\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *resp = handle(bad[i], t);
		assert_false(is_ok(resp));
		assert_true(json_is_string(json_object_get(resp, "error")));
		json_decref(resp);
	}
	/* bytes with NULs and no terminator */
	const char raw[] = {'{', '"', 'c', 0, 'm', 'd', '"', (char)0xff};
	json_t *resp = control_handle_request(raw, sizeof(raw), t, &fake_handlers);
	assert_false(is_ok(resp));
	json_decref(resp);
	resp = control_handle_request(NULL, 0, t, NULL);
	assert_false(is_ok(resp));
	json_decref(resp);
	json_t *st = fault_table_status_json(t);
	assert_int_equal(json_array_size(st), 0); /* nothing got armed */
	json_decref(st);
	fault_table_free(t);
}

static void test_request_inject_clear_status(void **state)
{
	(void)state;
	struct fault_table *t = fault_table_new(4096);
	json_t *resp =
	    handle("{\"cmd\":\"inject\",\"rule\":{\"op\":\"writeback\",\"block\":0,\"errno\":\"EIO\"}}\n", t);
	assert_true(is_ok(resp));
	json_int_t id = json_integer_value(json_object_get(resp, "id"));
	assert_true(id > 0);
	json_decref(resp);
	struct fault_hit hit;
	assert_true(fault_table_check(t, FAULT_OP_WRITEBACK, "f", 0, 4096, &hit));

	resp = handle("{\"cmd\":\"inject\",\"rule\":{\"op\":\"write\",\"errno\":\"EIO\",\"nth\":0}}", t);
	assert_false(is_ok(resp));
	assert_non_null(strstr(json_string_value(json_object_get(resp, "error")), "nth"));
	assert_string_equal(json_string_value(json_object_get(resp, "errno")), "EINVAL");
	json_decref(resp);

	daemon_state = (struct fake_daemon){0};
	resp = handle("{\"cmd\":\"status\"}", t);
	assert_true(is_ok(resp));
	json_t *st = json_object_get(resp, "status");
	assert_string_equal(json_string_value(json_object_get(st, "profile")), "ext4-ordered");
	json_t *rules = json_object_get(st, "rules");
	assert_int_equal(json_array_size(rules), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rules, 0), "hits")), 1);
	assert_int_equal(daemon_state.statuses, 1);
	json_decref(resp);

	resp = handle("{\"cmd\":\"clear\",\"id\":999}", t);
	assert_false(is_ok(resp));
	assert_string_equal(json_string_value(json_object_get(resp, "errno")), "ENOENT");
	json_decref(resp);
	char text[64];
	snprintf(text, sizeof(text), "{\"cmd\":\"clear\",\"id\":%lld}", (long long)id);
	resp = handle(text, t);
	assert_true(is_ok(resp));
	json_decref(resp);
	assert_false(fault_table_check(t, FAULT_OP_WRITEBACK, "f", 0, 4096, &hit));
	resp = handle("{\"cmd\":\"clear\"}", t); /* clearing an empty table is fine */
	assert_true(is_ok(resp));
	json_decref(resp);
	fault_table_free(t);
}

static void test_request_reboot_sync_ping_call_the_daemon(void **state)
{
	(void)state;
	struct fault_table *t = fault_table_new(4096);
	daemon_state = (struct fake_daemon){0};
	json_t *resp = handle("{\"cmd\":\"reboot\"}", t);
	assert_true(is_ok(resp));
	json_decref(resp);
	resp = handle("{\"cmd\":\"sync\"}", t);
	assert_true(is_ok(resp));
	json_decref(resp);
	assert_int_equal(daemon_state.reboots, 1);
	assert_int_equal(daemon_state.syncs, 1);
	daemon_state.reboot_rc = -EBUSY;
	resp = handle("{\"cmd\":\"reboot\"}", t);
	assert_false(is_ok(resp));
	assert_string_equal(json_string_value(json_object_get(resp, "errno")), "EBUSY");
	json_decref(resp);
	resp = handle("{\"cmd\":\"ping\"}", t);
	assert_true(is_ok(resp));
	assert_int_equal(json_integer_value(json_object_get(resp, "pid")), getpid());
	assert_string_equal(json_string_value(json_object_get(resp, "backing")), "/b");
	json_decref(resp);
	/* a daemon without handlers refuses clearly */
	resp = control_handle_request("{\"cmd\":\"reboot\"}", 16, t, NULL);
	assert_false(is_ok(resp));
	assert_non_null(strstr(json_string_value(json_object_get(resp, "error")), "not supported"));
	json_decref(resp);
	fault_table_free(t);
}

/* ---- Server + client, end to end ---- */

static void test_client_without_daemon_says_so(void **state)
{
	(void)state;
	char err[256];
	char nowhere[PATH_MAX];
	snprintf(nowhere, sizeof(nowhere), "%s/unserved", tmpdir);
	assert_true(control_client_ping(nowhere, NULL, err, sizeof(err)) < 0);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "no fsynclab daemon for %s", nowhere);
	assert_string_equal(err, want);
	/* a mount point whose parent does not exist: the same message, with the reason */
	snprintf(nowhere, sizeof(nowhere), "%s/no/such/mnt", tmpdir);
	assert_true(control_client_status(nowhere, &(json_t *){NULL}, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "no fsynclab daemon for %s", nowhere);
	assert_true(strncmp(err, want, strlen(want)) == 0);
}

static void test_server_serves_the_client(void **state)
{
	(void)state;
	char err[256] = "", sock[PATH_MAX], pid[PATH_MAX];
	struct control_server *srv;
	struct fault_table *t = fault_table_new(4096);
	daemon_state = (struct fake_daemon){0};
	assert_int_equal(control_server_start(mnt, t, &fake_handlers, &srv), 0);
	assert_int_equal(control_socket_path(mnt, sock, sizeof(sock), pid, sizeof(pid)), 0);
	struct stat st;
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a second daemon for the same mount is refused */
	struct control_server *other;
	assert_int_equal(control_server_start(mnt, t, &fake_handlers, &other), -EADDRINUSE);

	json_t *info = NULL;
	assert_int_equal(control_client_ping(mnt, &info, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(info, "pid")), getpid());
	json_decref(info);

	json_t *rule = NULL;
	char *argv[] = {"--op",    "writeback", "--path",  "*.log", "--blocks=0-1",
	                "--errno", "EIO",       "--times", "1"};
	assert_int_equal(control_client_rule_from_argv(9, argv, &rule, err, sizeof(err)), 0);
	int64_t id = control_client_inject(mnt, rule, err, sizeof(err));
	json_decref(rule);
	assert_true(id > 0);
	/* armed by the time inject returned */
	struct fault_hit hit;
	assert_true(fault_table_check(t, FAULT_OP_WRITEBACK, "a.log", 4096, 4096, &hit));
	assert_int_equal(hit.rule_id, id);
	assert_false(fault_table_check(t, FAULT_OP_WRITEBACK, "a.log", 4096, 4096, &hit)); /* times 1 */

	json_t *status = NULL;
	assert_int_equal(control_client_status(mnt, &status, err, sizeof(err)), 0);
	json_t *r0 = json_array_get(json_object_get(status, "rules"), 0);
	assert_int_equal(json_integer_value(json_object_get(r0, "matches")), 2);
	assert_int_equal(json_integer_value(json_object_get(r0, "hits")), 1);
	assert_string_equal(json_string_value(json_object_get(status, "state")), "ok");
	json_decref(status);

	/* the daemon's refusal comes back with its reason */
	rule = json_pack("{s:s,s:s,s:s}", "op", "open", "effect", "torn", "path", "x");
	assert_int_equal(control_client_inject(mnt, rule, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "torn"));
	json_decref(rule);

	assert_int_equal(control_client_reboot(mnt, err, sizeof(err)), 0);
	assert_int_equal(control_client_sync(mnt, err, sizeof(err)), 0);
	assert_int_equal(daemon_state.reboots, 1);
	assert_int_equal(daemon_state.syncs, 1);
	assert_int_equal(control_client_clear(mnt, (uint64_t)id + 100, err, sizeof(err)), -ENOENT);
	assert_int_equal(control_client_clear(mnt, (uint64_t)id, err, sizeof(err)), 0);
	assert_int_equal(control_client_clear(mnt, 0, err, sizeof(err)), 0);

	control_server_stop(srv);
	assert_int_equal(lstat(sock, &st), -1); /* the socket is gone */
	assert_true(control_client_ping(mnt, NULL, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "no fsynclab daemon for"));
	fault_table_free(t);
}

/* A raw connection to the socket of MNT. */
static int raw_connect(void)
{
	char sock[PATH_MAX], pid[PATH_MAX];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	assert_int_equal(control_socket_path(mnt, sock, sizeof(sock), pid, sizeof(pid)), 0);
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Read N answer lines from FD into buf. */
static void raw_read_lines(int fd, int n, char *buf, size_t len)
{
	size_t got = 0;
	int lines = 0;
	while (lines < n && got < len - 1) {
		ssize_t r = read(fd, buf + got, len - 1 - got);
		assert_true(r > 0);
		for (ssize_t i = 0; i < r; i++)
			lines += buf[got + (size_t)i] == '\n';
		got += (size_t)r;
	}
	buf[got] = '\0';
}

static void test_server_silent_client_does_not_block_others_and_lines_pipeline(void **state)
{
	(void)state;
	char err[256], buf[4096];
	struct control_server *srv;
	struct fault_table *t = fault_table_new(4096);
	assert_int_equal(control_server_start(mnt, t, &fake_handlers, &srv), 0);
	int silent = raw_connect(); /* connects, says half a line, then nothing */
	assert_int_equal(write(silent, "{\"cmd\":", 7), 7);
	assert_int_equal(control_client_ping(mnt, NULL, err, sizeof(err)), 0);

	/* several requests on one connection, in one write, answered in order */
	int fd = raw_connect();
	const char *reqs = "{\"cmd\":\"ping\"}\n\n{\"cmd\":\"bogus\"}\n"
	                   "{\"cmd\":\"inject\",\"rule\":{\"op\":\"read\",\"errno\":\"EIO\"}}\n";
	assert_int_equal(write(fd, reqs, strlen(reqs)), (ssize_t)strlen(reqs));
	raw_read_lines(fd, 3, buf, sizeof(buf));
	char *l1 = buf, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	assert_true(strncmp(l1, "{\"ok\":true", 10) == 0);
	assert_true(strncmp(l2, "{\"ok\":false", 11) == 0);
	assert_true(strncmp(l3, "{\"ok\":true,\"id\":1}", 18) == 0 || strstr(l3, "\"id\":1") != NULL);
	/* a last request without a newline is answered when the client shuts its side */
	assert_int_equal(write(fd, "{\"cmd\":\"clear\"}", 15), 15);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	raw_read_lines(fd, 1, buf, sizeof(buf));
	assert_true(strncmp(buf, "{\"ok\":true}", 11) == 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(close(silent), 0);
	control_server_stop(srv);
	fault_table_free(t);
}

static void test_server_replaces_a_stale_socket(void **state)
{
	(void)state;
	char sock[PATH_MAX], pid[PATH_MAX], err[256];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	assert_int_equal(control_socket_path(mnt, sock, sizeof(sock), pid, sizeof(pid)), 0);
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(close(fd), 0); /* a dead daemon's socket file */
	struct control_server *srv;
	struct fault_table *t = fault_table_new(4096);
	assert_int_equal(control_server_start(mnt, t, NULL, &srv), 0);
	assert_int_equal(control_client_ping(mnt, NULL, err, sizeof(err)), 0);
	control_server_stop(srv);
	fault_table_free(t);
}

static void test_other_users_cannot_reach_the_socket(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* needs root to become another user */
	struct control_server *srv;
	struct fault_table *t = fault_table_new(4096);
	assert_int_equal(control_server_start(mnt, t, NULL, &srv), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char err[256];
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		json_t *rule = json_pack("{s:s,s:s}", "op", "write", "errno", "EIO");
		/* the runtime directory is 0700 root: nobody cannot even find out */
		_exit(control_client_inject(mnt, rule, err, sizeof(err)) < 0 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Defence in depth: even with the permissions opened up by mistake, the server checks the
	 * peer's credentials and refuses anyone but the owner. */
	char sock[PATH_MAX], pid[PATH_MAX];
	assert_int_equal(control_socket_path(mnt, sock, sizeof(sock), pid, sizeof(pid)), 0);
	assert_int_equal(chmod(tmpdir, 0711), 0);
	assert_int_equal(chmod(rundir, 0711), 0);
	assert_int_equal(chmod(sock, 0666), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char buf[256] = "";
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		memcpy(sun.sun_path, sock, strlen(sock) + 1);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			_exit(4);
		const char *req = "{\"cmd\":\"inject\",\"rule\":{\"op\":\"write\",\"errno\":\"EIO\"}}\n";
		if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
			/* the server may already have closed */
		}
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		_exit(strstr(buf, "permission denied") != NULL ? 0 : 5);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(chmod(tmpdir, 0700), 0);
	assert_int_equal(chmod(rundir, 0700), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	json_t *st = fault_table_status_json(t);
	assert_int_equal(json_array_size(st), 0);
	json_decref(st);
	control_server_stop(srv);
	fault_table_free(t);
}

/* ---- Rules from `fsynclab inject` options ---- */

/* Build from a space-separated option string; returns rc, the rule in *rule, the message in err. */
static int from_words(const char *words, json_t **rule, char *err, size_t errlen)
{
	char copy[512], *argv[32];
	int argc = 0;
	snprintf(copy, sizeof(copy), "%s", words);
	for (char *w = strtok(copy, " "); w != NULL && argc < 32; w = strtok(NULL, " "))
		argv[argc++] = w;
	err[0] = '\0';
	return control_client_rule_from_argv(argc, argv, rule, err, errlen);
}

static void test_rule_from_argv_builds_the_protocol_object(void **state)
{
	(void)state;
	char err[256];
	json_t *rule;
	assert_int_equal(
	    from_words("--op writeback --path *.log --blocks 2-5 --errno EIO --times 1 --after 2 "
	               "--sequence wxW --probability 0.25 --seed 9",
	               &rule, err, sizeof(err)),
	    0);
	json_t *want =
	    json_loads("{\"op\":\"writeback\",\"path\":\"*.log\",\"blocks\":[2,5],\"errno\":\"EIO\","
	               "\"times\":1,\"after\":2,\"sequence\":\"wxW\",\"probability\":0.25,\"seed\":9}",
	               0, NULL);
	assert_true(json_equal(rule, want));
	json_decref(want);
	json_decref(rule);
	assert_int_equal(from_words("--op=fsync --effect=delay:5ms --nth 3", &rule, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(rule, "effect")), "delay");
	assert_string_equal(json_string_value(json_object_get(rule, "delay")), "5ms");
	json_decref(rule);
	assert_int_equal(
	    from_words("--op write --offset 4k --length 512 --effect torn", &rule, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(rule, "offset")), 4096);
	json_decref(rule);
}

static void test_rule_from_argv_names_the_offending_word(void **state)
{
	(void)state;
	struct {
		const char *words, *word;
	} bad[] = {
	    {"--op wrte --errno EIO", "wrte"},
	    {"--op write --errno EIOO", "EIOO"},
	    {"--op write --effect melt", "melt"},
	    {"--op write --effect delay:5", "5"},
	    {"--op write --errno EIO --blok 3", "--blok"},
	    {"--op write --errno EIO --block x1", "x1"},
	    {"--op write --errno EIO --blocks 5-2", "5-2"},
	    {"--op write --errno EIO --blocks 5", "5"},
	    {"--op write --errno EIO --times -1", "-1"},
	    {"--op write --errno EIO --probability 2", "2"},
	    {"--op write --errno EIO --seed 3", "--seed"},
	    {"--op write --errno EIO --sequence wXw", "wXw"},
	    {"--op write --errno EIO --nth 0", "nth"},
	    {"--op write --errno EIO --op read", "--op"},
	    {"--op write --errno EIO --effect lost", "--effect"},
	    {"--op write --block 1 --blocks 1-2 --errno EIO", "--blocks"},
	    {"--op write --offset 1 --errno EIO", "--length"},
	    {"--op write", "--errno"},
	    {"--errno EIO", "--op"},
	    {"--op write --errno", "--errno"},
	    {"--op open --effect torn", "torn"},
	    {"--op write --errno EIO stray", "stray"},
	};
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *rule = NULL;
		int rc = from_words(bad[i].words, &rule, err, sizeof(err));
		if (rc != -EINVAL || strstr(err, bad[i].word) == NULL)
			fprintf(stderr, "'%s' -> %d '%s' (wanted '%s')\n", bad[i].words, rc, err,
			        bad[i].word);
		assert_int_equal(rc, -EINVAL);
		assert_null(rule);
		assert_non_null(strstr(err, bad[i].word));
	}
}

/* ---- The commands, with their exit codes ---- */

/* Run a command with stdout sent to FILE (so the test can read what it printed). */
static int run_cmd(int (*cmd)(int, char **), char **argv, char *out, size_t outlen)
{
	int argc = 0;
	while (argv[argc] != NULL)
		argc++;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/stdout", tmpdir);
	fflush(stdout);
	int saved = dup(1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	assert_true(dup2(fd, 1) == 1);
	int rc = cmd(argc, argv);
	fflush(stdout);
	assert_true(dup2(saved, 1) == 1);
	assert_int_equal(close(saved), 0);
	assert_int_equal(close(fd), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	assert_int_equal(fclose(f), 0);
	return rc;
}

static void test_commands_against_a_server(void **state)
{
	(void)state;
	char out[8192];
	struct control_server *srv;
	struct fault_table *t = fault_table_new(4096);
	daemon_state = (struct fake_daemon){0};
	assert_int_equal(control_server_start(mnt, t, &fake_handlers, &srv), 0);

	char *inject[] = {"inject",  mnt,   "--op",    "writeback", "--block", "0",
	                  "--errno", "EIO", "--times", "1",         NULL};
	assert_int_equal(run_cmd(cmd_inject, inject, out, sizeof(out)), 0);
	assert_string_equal(out, "1\n"); /* just the id */
	char *inject_mnt_last[] = {"inject", "--op", "read", "--errno", "ENOSPC", mnt, NULL};
	assert_int_equal(run_cmd(cmd_inject, inject_mnt_last, out, sizeof(out)), 0);
	assert_string_equal(out, "2\n");
	char *bad_inject[] = {"inject", mnt, "--op", "writeback", "--block", "zero", "--errno", "EIO", NULL};
	assert_int_equal(run_cmd(cmd_inject, bad_inject, out, sizeof(out)), 2);
	assert_string_equal(out, "");

	char *status[] = {"status", mnt, NULL};
	assert_int_equal(run_cmd(cmd_status, status, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "ext4-ordered"));
	assert_non_null(strstr(out, "#1"));
	assert_non_null(strstr(out, "writeback * block 0 -> EIO [times 1]"));
	assert_non_null(strstr(out, "dirty pages (4): 0-2,5"));
	assert_non_null(strstr(out, "failed pages (1): 3"));
	assert_non_null(strstr(out, "a.log writeback EIO block 3"));
	char *status_json[] = {"status", mnt, "--json", NULL};
	assert_int_equal(run_cmd(cmd_status, status_json, out, sizeof(out)), 0);
	json_t *st = json_loads(out, 0, NULL);
	assert_true(json_is_object(st));
	assert_int_equal(json_array_size(json_object_get(st, "rules")), 2);
	json_decref(st);
	daemon_state.partial_status = true; /* fields missing: still a summary */
	assert_int_equal(run_cmd(cmd_status, status, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "shutdown"));
	daemon_state.partial_status = false;

	char *clear_bad[] = {"clear", mnt, "one", NULL};
	assert_int_equal(run_cmd(cmd_clear, clear_bad, out, sizeof(out)), 2);
	char *clear_missing[] = {"clear", mnt, "77", NULL};
	assert_int_equal(run_cmd(cmd_clear, clear_missing, out, sizeof(out)), 1);
	char *clear1[] = {"clear", mnt, "1", NULL};
	assert_int_equal(run_cmd(cmd_clear, clear1, out, sizeof(out)), 0);
	json_t *rules = fault_table_status_json(t);
	assert_int_equal(json_array_size(rules), 1);
	json_decref(rules);
	char *clear_all[] = {"clear", mnt, NULL};
	assert_int_equal(run_cmd(cmd_clear, clear_all, out, sizeof(out)), 0);
	rules = fault_table_status_json(t);
	assert_int_equal(json_array_size(rules), 0);
	json_decref(rules);

	char *reboot[] = {"reboot", mnt, NULL};
	assert_int_equal(run_cmd(cmd_reboot, reboot, out, sizeof(out)), 0);
	assert_int_equal(daemon_state.reboots, 1);
	control_server_stop(srv);

	/* no daemon: exit 1 */
	assert_int_equal(run_cmd(cmd_reboot, reboot, out, sizeof(out)), 1);
	assert_int_equal(run_cmd(cmd_inject, inject, out, sizeof(out)), 1);
	assert_int_equal(run_cmd(cmd_status, status, out, sizeof(out)), 1);
	fault_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_socket_path_same_for_every_spelling_of_a_mount),
	    cmocka_unit_test(test_socket_path_refuses_loose_or_foreign_directory),
	    cmocka_unit_test(test_request_garbage_gets_an_error_not_a_crash),
	    cmocka_unit_test(test_request_inject_clear_status),
	    cmocka_unit_test(test_request_reboot_sync_ping_call_the_daemon),
	    cmocka_unit_test(test_client_without_daemon_says_so),
	    cmocka_unit_test(test_server_serves_the_client),
	    cmocka_unit_test(test_server_silent_client_does_not_block_others_and_lines_pipeline),
	    cmocka_unit_test(test_server_replaces_a_stale_socket),
	    cmocka_unit_test(test_other_users_cannot_reach_the_socket),
	    cmocka_unit_test(test_rule_from_argv_builds_the_protocol_object),
	    cmocka_unit_test(test_rule_from_argv_names_the_offending_word),
	    cmocka_unit_test(test_commands_against_a_server),
	};
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
