/*
 * wire.h — a tap on the raw FUSE protocol between the kernel and libfuse: what libfuse 3.14
 * cannot express, negotiated and read straight off /dev/fuse.
 *
 * 1. FUSE_HANDLE_KILLPRIV_V2 (Linux 5.11+). libfuse 3.14 does not know the flag, so the kernel
 *    keeps asking getxattr("security.capability") before every write() — one extra round trip
 *    per write. With the flag the kernel marks the superblock SB_NOSEC and stops asking for files
 *    without privileges; in exchange the filesystem clears setuid/setgid itself on write,
 *    truncate and open(O_TRUNC) when the kernel says the caller lacks CAP_FSETID (the
 *    *_KILL_SUIDGID flags below), as the VFS would (ops_attrs.c does it: lo_kill_suidgid).
 * 2. Those per-request kill flags, which libfuse 3.14 drops: captured per thread when the request
 *    is read (libfuse's session loop reads and processes a request on the same thread).
 * 3. A count of the requests the kernel sent, by opcode, for `fsynclab status --json`.
 *
 * One FUSE session per process (the daemon serves one mount), so the tap's state is global.
 */
#ifndef FSYNCLAB_WIRE_H
#define FSYNCLAB_WIRE_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdbool.h>

#include <jansson.h>

/*
 * wire_tap_install - route SE's reads and replies through the tap. Call after
 * fuse_session_mount() and before the session loop. KILLPRIV_V2 is asked for only when WANT_KILLPRIV
 * is true and the kernel offers it. Returns 0 or -errno.
 */
int wire_tap_install(struct fuse_session *se, bool want_killpriv);

/* wire_killpriv_v2 - true once the kernel accepted FUSE_HANDLE_KILLPRIV_V2 for this session. */
bool wire_killpriv_v2(void);

/*
 * wire_request_kill_suidgid - for the request this thread is processing: the kernel asks the
 * filesystem to clear setuid/setgid (a WRITE with FUSE_WRITE_KILL_SUIDGID, a SETATTR with
 * FATTR_KILL_SUIDGID, an OPEN/CREATE with FUSE_OPEN_KILL_SUIDGID).
 */
bool wire_request_kill_suidgid(void);

/* wire_requests_json - {"write": N, "getxattr": M, ...}: requests received so far, by opcode. */
json_t *wire_requests_json(void);

#endif
