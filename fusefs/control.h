/*
 * control.h — the control plane of a mounted fsynclab filesystem: a Unix socket served by the
 * daemon, spoken by harness/control_client.c (and so by `fsynclab inject|clear|status|reboot|umount`).
 *
 * Where: control_socket_path() — $XDG_RUNTIME_DIR/fsynclab or /tmp/fsynclab-<uid> (a 0700
 * directory owned by the user, checked before use), socket "<key>.sock" and pid file "<key>.pid",
 * where key identifies the mount point's absolute path (computed without touching the mount
 * itself, so it works while a dead mount answers ENOTCONN). The socket is mode 0600.
 *
 * Protocol: one JSON object per line each way.
 *   {"cmd":"ping"}                                -> {"ok":true,"pid":N,"mountpoint":..,"backing":..}
 *   {"cmd":"inject","rule":{...}}                 -> {"ok":true,"id":N}
 *   {"cmd":"clear"} / {"cmd":"clear","id":N}      -> {"ok":true}
 *   {"cmd":"status"}                              -> {"ok":true,"status":{...}}
 *   {"cmd":"reboot"}                              -> {"ok":true}  (power cut done when answered)
 *   {"cmd":"sync"}                                -> {"ok":true}  (write back everything, like sync(1))
 *   any failure                                   -> {"ok":false,"error":"one line"}
 * A rule object: {"op":"writeback","path":"*.log","block":0 | "blocks":[a,b] |
 *   "offset":X,"length":L, "errno":"EIO" | "effect":"corrupt|torn|lost|misdirected|delay",
 *   "delay":"5ms", "times":N, "after":N, "nth":N, "sequence":"wwxW", "probability":0.5, "seed":S}
 */
#ifndef FSYNCLAB_CONTROL_H
#define FSYNCLAB_CONTROL_H

#include <stddef.h>

#include <jansson.h>

#include "faults.h"

/* What the daemon lets the control plane do besides managing rules. Each returns 0 or -errno. */
struct control_handlers {
	void *ctx;
	int (*reboot)(void *ctx);     /* power cut */
	int (*sync)(void *ctx);       /* write back every dirty page */
	json_t *(*status)(void *ctx); /* pages, errors, profile...; merged with the rules */
};

struct control_server;

/*
 * control_socket_path - the socket and pid-file paths for mount point MNT (need not be mounted).
 * Creates the 0700 runtime directory if needed. Returns 0 or -errno.
 */
int control_socket_path(const char *mnt, char *sock, size_t socklen, char *pidfile, size_t pidlen);

/*
 * control_handle_request - parse one request line and produce the response object. Pure with
 * respect to the socket, so it can be unit-tested and fuzzed. Never crashes on any input.
 */
json_t *control_handle_request(const char *line, size_t len, struct fault_table *faults,
                               const struct control_handlers *handlers);

/* control_server_start - listen on the socket for MNT in a thread of its own. Returns 0 or -errno. */
int control_server_start(const char *mnt, struct fault_table *faults, const struct control_handlers *handlers,
                         struct control_server **out);
void control_server_stop(struct control_server *server);

#endif
