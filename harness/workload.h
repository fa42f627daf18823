/*
 * workload.h — the workload process: a child of the scenario runner that drives the bundled WAL,
 * its table store, or plain files on the fsynclab mount, one command at a time.
 *
 * Why a child process. The WAL's `panic` policy makes the writer stop: the child then exits with
 * WORKLOAD_EXIT_PANIC, so the runner sees the panic the moment it happens (waitpid). A `crash`
 * step kills the child at any point (SIGKILL), and a `reboot` freezes it (SIGSTOP, so no request
 * is in flight), cuts the power, then kills it: every acknowledgement it sent came before the cut.
 *
 * The conversation: two pipes, one JSON object per line each way.
 *   runner → child   commands, one at a time ({"op":"append",...}); the child answers each with
 *                    one {"ev":"done","rc":R,...} line (R = 0 or -errno), after any number of
 *                    event lines;
 *   child → runner   events as they happen:
 *     {"ev":"ack","lsn":L,"id":I,"t":T,"d":D}  record/update I acknowledged (append returned 0) at
 *                                               T ms; D = the log's durable LSN just after
 *     {"ev":"sync","ok":B,"err":"EIO","ms":M,"t":T,"what":"segment"}  every sync through the hook
 *     {"ev":"durable","lsn":D,"t":T}           the durable LSN moved (batch flusher)
 *     {"ev":"log","text":S,"t":T}              a line the WAL logged (e.g. "retrying fsync")
 *     {"ev":"rec","lsn":L,"id":I,"ok":B}       recover: a record recovery handed out, ok = its
 *                                               payload is exactly what record I was
 *     {"ev":"page","page":P,"id":I,"ok":B}     recover (table): page P holds update I (0: zeros)
 *     {"ev":"bgdone","rc":R,"count":N,"ms":M}  a background append finished
 * Commands (fields beyond "op" as the scenario step gives them):
 *     append  {records,size,writers,interval_ns,background,id_base}
 *     update  {pages,first,id_base}
 *     fsync   {} (wal/table: sync the log) | {fd|path, datasync} (file target)
 *     checkpoint {}
 *     open    {fd,path}     write {fd|path,offset,data(hex)}     close {fd}
 *     read    {fd|path,offset,length}        → done carries "data" (hex)
 *     recover {}            → rec/page events, done carries "report" {verdict,records,...}
 *     wait_bg {}            wait for a background append
 * A wal/table child opens its log lazily at the first command (recover opens it explicitly), so a
 * child started after a reboot runs recovery before it does anything else.
 *
 * Payloads are checks_payload_fill(seed, id, size): recovery verifies every record independently
 * of the WAL's own checksums.
 */
#ifndef FSYNCLAB_WORKLOAD_H
#define FSYNCLAB_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The child's exit status when the WAL panicked (refused further work after a failed sync). */
#define WORKLOAD_EXIT_PANIC 86
/* The child's exit status for a broken conversation (malformed command, pipe error). */
#define WORKLOAD_EXIT_PROTOCOL 87

enum workload_target {
	WORKLOAD_WAL,   /* the bundled log in <mnt>/wal */
	WORKLOAD_TABLE, /* the table store in <mnt>/table */
	WORKLOAD_FILE,  /* plain files under <mnt> */
};

struct workload_config {
	enum workload_target target;
	const char *mnt;         /* the mount point */
	const char *sync_policy; /* "always", "batch:5ms", "os" (wal_policy_parse) */
	int panic;               /* 1: error policy panic, 0: retry */
	uint64_t seed;           /* payloads */
	uint32_t page_size;      /* table page size (the mount's block size) */
	uint64_t table_pages;    /* pages in the table */
	int64_t t0_ns;           /* CLOCK_MONOTONIC time 0 of the scenario (event times are relative) */
	bool sync_directory;     /* the WAL fsyncs its directory at segment create/remove */
};

/* The runner's handle on a running workload child. */
struct workload {
	pid_t pid;
	int cmd_fd; /* write end: commands */
	int ev_fd;  /* read end: events */
};

/*
 * workload_spawn - fork a workload child for CFG. The child gets its own process group (a terminal
 * Ctrl-C reaches the runner, which then stops it) and never returns from this call. Returns 0 with
 * *w filled, or -errno.
 */
int workload_spawn(const struct workload_config *cfg, struct workload *w);

/* workload_now_ms - milliseconds since T0_NS on CLOCK_MONOTONIC. */
double workload_now_ms(int64_t t0_ns);

/* workload_clock_ns - CLOCK_MONOTONIC now, in nanoseconds. */
int64_t workload_clock_ns(void);

/* ---- Inside the child (workload_wal.c, workload_file.c) ---- */

struct workload_child; /* the child's state; private to workload*.c */

/* workload_hex_encode / _decode - lower-case hex of BUF; decode returns the byte count or -EINVAL. */
char *workload_hex_encode(const uint8_t *buf, size_t len);
ssize_t workload_hex_decode(const char *hex, uint8_t **out);

#endif
