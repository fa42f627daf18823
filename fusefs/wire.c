/*
 * wire.c — the tap on the raw FUSE protocol (see wire.h): asks for FUSE_HANDLE_KILLPRIV_V2 in
 * libfuse's INIT reply, remembers each request's kill-setuid/setgid flag for the thread that
 * processes it, and counts requests by opcode.
 *
 * libfuse 3.14 lets a filesystem supply its own read and writev for the session
 * (fuse_session_custom_io); both hooks call the real system call and only look at (or, for the
 * one INIT reply, amend) the bytes.
 */
#include "wire.h"

#include <errno.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define WIRE_MAX_OPCODE 64

static const char *const opcode_names[WIRE_MAX_OPCODE] = {
    [FUSE_LOOKUP] = "lookup",
    [FUSE_FORGET] = "forget",
    [FUSE_GETATTR] = "getattr",
    [FUSE_SETATTR] = "setattr",
    [FUSE_READLINK] = "readlink",
    [FUSE_SYMLINK] = "symlink",
    [FUSE_MKNOD] = "mknod",
    [FUSE_MKDIR] = "mkdir",
    [FUSE_UNLINK] = "unlink",
    [FUSE_RMDIR] = "rmdir",
    [FUSE_RENAME] = "rename",
    [FUSE_LINK] = "link",
    [FUSE_OPEN] = "open",
    [FUSE_READ] = "read",
    [FUSE_WRITE] = "write",
    [FUSE_STATFS] = "statfs",
    [FUSE_RELEASE] = "release",
    [FUSE_FSYNC] = "fsync",
    [FUSE_SETXATTR] = "setxattr",
    [FUSE_GETXATTR] = "getxattr",
    [FUSE_LISTXATTR] = "listxattr",
    [FUSE_REMOVEXATTR] = "removexattr",
    [FUSE_FLUSH] = "flush",
    [FUSE_INIT] = "init",
    [FUSE_OPENDIR] = "opendir",
    [FUSE_READDIR] = "readdir",
    [FUSE_RELEASEDIR] = "releasedir",
    [FUSE_FSYNCDIR] = "fsyncdir",
    [FUSE_GETLK] = "getlk",
    [FUSE_SETLK] = "setlk",
    [FUSE_SETLKW] = "setlkw",
    [FUSE_ACCESS] = "access",
    [FUSE_CREATE] = "create",
    [FUSE_INTERRUPT] = "interrupt",
    [FUSE_BMAP] = "bmap",
    [FUSE_DESTROY] = "destroy",
    [FUSE_IOCTL] = "ioctl",
    [FUSE_POLL] = "poll",
    [FUSE_NOTIFY_REPLY] = "notify_reply",
    [FUSE_BATCH_FORGET] = "batch_forget",
    [FUSE_FALLOCATE] = "fallocate",
    [FUSE_READDIRPLUS] = "readdirplus",
    [FUSE_RENAME2] = "rename2",
    [FUSE_LSEEK] = "lseek",
    [FUSE_COPY_FILE_RANGE] = "copy_file_range",
};

static _Atomic unsigned long request_count[WIRE_MAX_OPCODE];
static _Atomic unsigned long request_count_other;
static bool killpriv_wanted;
static _Atomic bool killpriv_offered;  /* the kernel's INIT request had the flag */
static _Atomic bool killpriv_accepted; /* our INIT reply asked for it */
static _Atomic uint64_t init_unique;   /* the INIT request's id, 0 = none seen */

/* The kill flag of the request this thread read last (and is now processing). */
static _Thread_local bool thread_kill_suidgid;

/* Look at one request: count it, note INIT and the kill flags. BUF holds N bytes. */
static void tap_inspect(const unsigned char *buf, size_t n)
{
	struct fuse_in_header in;
	const unsigned char *arg = buf + sizeof(in);
	size_t alen;

	thread_kill_suidgid = false;
	if (n < sizeof(in))
		return;
	memcpy(&in, buf, sizeof(in));
	alen = n - sizeof(in);
	if (in.opcode < WIRE_MAX_OPCODE)
		atomic_fetch_add_explicit(&request_count[in.opcode], 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&request_count_other, 1, memory_order_relaxed);

	switch (in.opcode) {
	case FUSE_INIT: {
		struct fuse_init_in init;

		if (alen >= offsetof(struct fuse_init_in, flags2)) {
			memset(&init, 0, sizeof(init));
			memcpy(&init, arg, offsetof(struct fuse_init_in, flags2));
			atomic_store(&killpriv_offered, (init.flags & FUSE_HANDLE_KILLPRIV_V2) != 0);
		}
		atomic_store(&init_unique, in.unique);
		break;
	}
	case FUSE_WRITE: {
		struct fuse_write_in w;

		if (alen >= offsetof(struct fuse_write_in, lock_owner)) {
			memcpy(&w, arg, offsetof(struct fuse_write_in, lock_owner));
			thread_kill_suidgid = (w.write_flags & FUSE_WRITE_KILL_SUIDGID) != 0;
		}
		break;
	}
	case FUSE_SETATTR: {
		uint32_t valid;

		if (alen >= sizeof(valid)) {
			memcpy(&valid, arg, sizeof(valid));
			thread_kill_suidgid = (valid & FATTR_KILL_SUIDGID) != 0;
		}
		break;
	}
	case FUSE_OPEN: {
		struct fuse_open_in o;

		if (alen >= sizeof(o)) {
			memcpy(&o, arg, sizeof(o));
			thread_kill_suidgid = (o.open_flags & FUSE_OPEN_KILL_SUIDGID) != 0;
		}
		break;
	}
	case FUSE_CREATE: {
		struct fuse_create_in c;

		if (alen >= sizeof(c)) {
			memcpy(&c, arg, sizeof(c));
			thread_kill_suidgid = (c.open_flags & FUSE_OPEN_KILL_SUIDGID) != 0;
		}
		break;
	}
	default:
		break;
	}
}

static ssize_t tap_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);

	(void)userdata;
	if (n > 0) {
		int saved = errno;

		tap_inspect(buf, (size_t)n);
		errno = saved;
	}
	return n;
}

/* The reply to INIT, with FUSE_HANDLE_KILLPRIV_V2 added to its flags. */
static ssize_t tap_write_init_reply(int fd, struct iovec *iov, int count)
{
	unsigned char init_out[256];
	struct iovec patched[8];
	uint32_t flags;
	size_t flags_at = offsetof(struct fuse_init_out, flags);

	if (count < 2 || count > 8 || iov[1].iov_len < flags_at + sizeof(flags) ||
	    iov[1].iov_len > sizeof(init_out))
		return writev(fd, iov, count);
	memcpy(init_out, iov[1].iov_base, iov[1].iov_len);
	memcpy(&flags, init_out + flags_at, sizeof(flags));
	flags |= FUSE_HANDLE_KILLPRIV_V2;
	memcpy(init_out + flags_at, &flags, sizeof(flags));
	memcpy(patched, iov, (size_t)count * sizeof(*iov));
	patched[1].iov_base = init_out;
	atomic_store(&killpriv_accepted, true);
	return writev(fd, patched, count);
}

static ssize_t tap_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	uint64_t pending = atomic_load(&init_unique);

	(void)userdata;
	if (pending && killpriv_wanted && atomic_load(&killpriv_offered) && count >= 1 &&
	    iov[0].iov_len >= sizeof(struct fuse_out_header)) {
		struct fuse_out_header out;

		memcpy(&out, iov[0].iov_base, sizeof(out));
		if (out.unique == pending && out.error == 0) {
			uint64_t expected = pending;

			if (atomic_compare_exchange_strong(&init_unique, &expected, 0))
				return tap_write_init_reply(fd, iov, count);
		}
	}
	return writev(fd, iov, count);
}

int wire_tap_install(struct fuse_session *se, bool want_killpriv)
{
	static const struct fuse_custom_io io = {.read = tap_read, .writev = tap_writev};
	int fd = fuse_session_fd(se);

	if (fd < 0)
		return -EBADF;
	killpriv_wanted = want_killpriv;
	return fuse_session_custom_io(se, &io, fd);
}

bool wire_killpriv_v2(void)
{
	return atomic_load(&killpriv_accepted);
}

bool wire_request_kill_suidgid(void)
{
	return thread_kill_suidgid;
}

json_t *wire_requests_json(void)
{
	json_t *o = json_object();
	unsigned long other = atomic_load_explicit(&request_count_other, memory_order_relaxed);

	if (!o)
		return NULL;
	for (int op = 0; op < WIRE_MAX_OPCODE; op++) {
		unsigned long n = atomic_load_explicit(&request_count[op], memory_order_relaxed);

		if (n == 0)
			continue;
		if (opcode_names[op]) {
			json_object_set_new(o, opcode_names[op], json_integer((json_int_t)n));
		} else {
			other += n;
		}
	}
	if (other)
		json_object_set_new(o, "other", json_integer((json_int_t)other));
	return o;
}
