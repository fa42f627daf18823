/*
 * scenario.h — the scenario language: the in-memory model of one scenario file and its loader.
 *
 * A scenario is a story told to a filesystem. It names what it teaches, the filesystem profile it
 * runs "on" (ext4-ordered, ext4-data, xfs, btrfs, keep-dirty), a target (the bundled WAL, its table
 * store, plain files, or any command), some options (sync policy, sync-error policy, seed, ...)
 * and a list of steps: a workload writes, a fault rule is armed, an fsync fails, the power is cut,
 * the log is recovered, and the outcome is checked. docs/scenarios.md is the reference for the
 * YAML; this header is the same schema as C structures.
 *
 * The loader is pure: it reads a file (or a string), validates it strictly against the schema and
 * builds a `struct scenario`, or refuses with one message
 *     FILE:LINE:COL: <what is wrong>; expected <the form>
 * and no side effect at all (nothing mounted, nothing written). Every step keeps its source
 * position so that the runner can say "scenarios/x.yaml:14:5: fsync expected EIO, got ok".
 *
 * Expected outcomes live in the model, next to the step that produces them: a `fsync` step says
 * `EIO`, a `read` says `old`, an `expect` step lists checks over what the run measured
 * (acknowledged records lost, loss window, panicked, checksum errors, ...). The runner
 * (harness/runner*.c, not here) executes steps in order and compares.
 *
 * What this module does not do: run anything, talk to a mount, or know how the WAL works.
 * Fault rules are validated with fault_rule_validate_json() (fusefs/faults.h) but not armed.
 */
#ifndef FSYNCLAB_SCENARIO_H
#define FSYNCLAB_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- Source positions ---------------------------------------------------------------------- */

/* Where something was written: 1-based line and column. `file` points at scenario->path. */
struct scenario_pos {
	const char *file;
	unsigned line;
	unsigned col;
};

/* ---- Scenario header: profile, target, options --------------------------------------------- */

/* The filesystem behaviour the mount emulates (DESIGN.md "Profiles"). */
enum scenario_profile {
	SCENARIO_PROFILE_EXT4_ORDERED, /* "ext4-ordered" */
	SCENARIO_PROFILE_EXT4_DATA,    /* "ext4-data": the error is reported by the *next* fsync */
	SCENARIO_PROFILE_XFS,          /* "xfs": metadata failure shuts the filesystem down */
	SCENARIO_PROFILE_BTRFS,        /* "btrfs": failed pages revert to what the disk has */
	SCENARIO_PROFILE_KEEP_DIRTY,   /* "keep-dirty": failed pages stay dirty, a retry can work */
	SCENARIO_PROFILE_COUNT
};

/* What the steps drive. */
enum scenario_target {
	SCENARIO_TARGET_WAL,   /* "wal": the bundled write-ahead log (append, fsync, recover) */
	SCENARIO_TARGET_TABLE, /* "table": the WAL's table store (update, checkpoint, recover) */
	SCENARIO_TARGET_FILE,  /* "file": plain POSIX calls on named descriptors (open, write, fsync) */
	SCENARIO_TARGET_EXEC,  /* "exec": any command — the user's own application */
	SCENARIO_TARGET_COUNT
};

/* The WAL's sync policy (DESIGN.md "wal"). */
enum scenario_sync_policy {
	SCENARIO_SYNC_ALWAYS, /* "always": durable before append returns */
	SCENARIO_SYNC_BATCH,  /* "batch:<window>": an fsync at most every window */
	SCENARIO_SYNC_OS,     /* "os": never fsync, the kernel (writeback) decides */
};

/* What the WAL does when an fsync fails. */
enum scenario_sync_error {
	SCENARIO_SYNC_ERROR_PANIC, /* "panic": refuse all further work (correct, the default) */
	SCENARIO_SYNC_ERROR_RETRY, /* "retry": try the fsync again (the fsyncgate bug) */
};

/* options: — every field has a default, so `options:` may be absent. */
struct scenario_options {
	enum scenario_sync_policy sync;      /* default always */
	int64_t batch_window_ns;             /* for SCENARIO_SYNC_BATCH, > 0 */
	enum scenario_sync_error sync_error; /* default panic */
	uint64_t seed;                       /* default 1; fault probabilities and data derive from it */
	uint32_t block_size;                 /* page/block size in bytes, power of two 512..65536; 4096 */
	int64_t writeback_ns;                /* background writeback interval; DURATION_NEVER = off; 30s */
	bool legacy_errors;                  /* pre-4.13 error reporting: first caller consumes; false */
	bool namespace_posix;                /* `namespace: posix`: only a directory fsync persists names
	                                        (docs/namespace.md); default `profile`, the profile's rule */
	bool namespace_durable;              /* `namespace: durable`: names durable at once, no undo */
	bool sync_directory;                 /* the WAL fsyncs its directory when it creates or removes a
	                                        segment; default true (false: for teaching) */
	uint32_t record_size;                /* default payload bytes per appended record; 128 */
	int64_t timeout_ns;                  /* the whole scenario's time limit; default 60s */
	struct scenario_pos pos;             /* of the `options` key, or of `name` when absent */
};

/* ---- Building blocks of steps ---------------------------------------------------------------- */

/*
 * The expected result of an operation (fsync, checkpoint, write, append, open, recover...):
 * `ok`, an errno name (`EIO`), `error` (any errno), `panic` (the writer stopped itself: the WAL's
 * panic policy, observed as the workload process exiting), or `any` (narrate only, never fails).
 */
enum scenario_result_kind {
	SCENARIO_RESULT_OK,
	SCENARIO_RESULT_ERRNO, /* exactly `err` */
	SCENARIO_RESULT_ERROR, /* any failure with an errno */
	SCENARIO_RESULT_PANIC,
	SCENARIO_RESULT_ANY,
};

struct scenario_result {
	enum scenario_result_kind kind;
	int err; /* positive errno, for SCENARIO_RESULT_ERRNO */
};

/* A comparison "== 3", "<= 5ms", ">= 1", "< 2", "> 0"; a bare number or `true`/`false` means ==. */
enum scenario_cmp_op {
	SCENARIO_CMP_EQ,
	SCENARIO_CMP_LE,
	SCENARIO_CMP_GE,
	SCENARIO_CMP_LT,
	SCENARIO_CMP_GT,
};

struct scenario_cmp {
	enum scenario_cmp_op op;
	int64_t value; /* a count, nanoseconds for durations, 0/1 for booleans, an enum for fs_state */
	bool window;   /* loss_window only, written "<= window": value is the batch window, and the bound
	                  the runner checks is value + the longest fsync it measured (a sync in flight at
	                  the power cut covers nothing) — the honest bound of batch:<w> */
};

/* scenario_cmp_holds - does `observed OP value` hold? (For a window bound, value alone: see
 * scenario_cmp_holds_window.) */
bool scenario_cmp_holds(const struct scenario_cmp *cmp, int64_t observed);

/*
 * scenario_cmp_holds_window - as scenario_cmp_holds, but a "<= window" bound (cmp->window) is
 * checked against value + SLACK_NS, where the runner passes the longest fsync it measured: the
 * honest bound of batch:<w>. Identical to scenario_cmp_holds for every other comparison.
 */
bool scenario_cmp_holds_window(const struct scenario_cmp *cmp, int64_t observed, int64_t slack_ns);

/* ---- Steps ----------------------------------------------------------------------------------- */

enum scenario_step_kind {
	/* workloads */
	SCENARIO_STEP_APPEND, /* wal: append N records (of S bytes) */
	SCENARIO_STEP_UPDATE, /* table: update N pages */
	SCENARIO_STEP_OPEN,   /* file: open a named descriptor */
	SCENARIO_STEP_WRITE,  /* file: write bytes through a descriptor (or a path) */
	SCENARIO_STEP_CLOSE,  /* file: close a named descriptor */
	/* faults */
	SCENARIO_STEP_INJECT, /* arm a fault rule (the keys `fsynclab inject` takes) */
	SCENARIO_STEP_CLEAR,  /* disarm one labelled rule, or all */
	/* durability */
	SCENARIO_STEP_FSYNC,      /* wal: sync the log; table: sync the log; file: fsync a descriptor */
	SCENARIO_STEP_SYNC,       /* write back every dirty page of the mount, like sync(1) */
	SCENARIO_STEP_CHECKPOINT, /* table: write pages, fsync them, truncate the log */
	/* observation */
	SCENARIO_STEP_READ, /* table: a page; file: a byte range; expect new | old | zeros | bytes */
	/* the bad day */
	SCENARIO_STEP_REBOOT,  /* power cut: cached pages dropped, workload and started commands killed */
	SCENARIO_STEP_CRASH,   /* kill the workload (or a started process) with SIGKILL */
	SCENARIO_STEP_RECOVER, /* wal/table: reopen and run recovery; expect records/tail/corruption */
	/* checks */
	SCENARIO_STEP_EXPECT, /* compare measured metrics (acked_lost, loss_window, panicked, ...) */
	/* commands (any target; the only workload of `exec`) */
	SCENARIO_STEP_START, /* start a long-running command, wait for its readiness pattern */
	SCENARIO_STEP_EXEC,  /* run a command to completion, check its exit status */
	SCENARIO_STEP_WAIT,  /* wait for a pattern in a file or in a started command's output */
	SCENARIO_STEP_STOP,  /* stop a started command (signal, then wait) */
	SCENARIO_STEP_SLEEP, /* let time pass (background writeback, batch windows) */
	SCENARIO_STEP_COUNT
};

/* append: N | {records: N, size: S, writers: W, interval: D, background: B, expect: R} */
struct scenario_append {
	uint64_t records;              /* >= 1 */
	uint32_t size;                 /* payload bytes per record; default options.record_size */
	uint32_t writers;              /* concurrent appenders (group commit); default 1 */
	int64_t interval_ns;           /* pause between appends of one writer; default 0 */
	bool background;               /* true: the next steps run while it appends; default false */
	struct scenario_result expect; /* default ok */
};

/* update: N | {pages: N, first: P, background: B, expect: R} */
struct scenario_update {
	uint64_t pages; /* >= 1 */
	uint64_t first; /* first page number; default 0 */
	bool background;
	struct scenario_result expect; /* default ok */
};

/* open: {fd: NAME, path: P, expect: R}  (read-write, created if missing) */
struct scenario_open {
	char *fd;   /* descriptor name, [a-z0-9_-]+ */
	char *path; /* relative to the mount */
	struct scenario_result expect;
};

/* write: {fd: NAME | path: P, offset: O, length: L | bytes: "...", expect: R} */
struct scenario_write {
	char *fd;   /* NULL when path is used (open, write, close) */
	char *path; /* NULL when fd is used */
	uint64_t offset;
	uint64_t length; /* bytes; when `bytes` is absent the runner generates data from the seed */
	uint8_t *bytes;  /* literal content or NULL; length == bytes_len then */
	size_t bytes_len;
	struct scenario_result expect;
};

/* close: NAME | {fd: NAME, expect: R} */
struct scenario_close {
	char *fd;
	struct scenario_result expect;
};

/* inject: {<rule keys>, label: NAME} */
struct scenario_inject {
	json_t *rule; /* the rule object as `fsynclab inject` / control.h takes it (owned) */
	char *label;  /* optional name for `clear: NAME`; NULL when absent */
};

/* clear | clear: LABEL */
struct scenario_clear {
	char *label; /* NULL = every rule; else a label given by an earlier inject step */
};

/*
 * fsync | fsync: R | {fd: NAME | path: P, datasync: B, expect: R}
 * Also used for SCENARIO_STEP_SYNC (`sync` | `sync: R`) and SCENARIO_STEP_CHECKPOINT
 * (`checkpoint` | `checkpoint: R`), which take only `expect`.
 */
struct scenario_fsync {
	char *fd;                      /* file target: the descriptor; NULL otherwise */
	char *path;                    /* file target alternative: open, fsync, close; NULL otherwise */
	bool datasync;                 /* fdatasync instead of fsync */
	struct scenario_result expect; /* default ok */
};

/* What a read expects to see. */
enum scenario_read_expect {
	SCENARIO_READ_NEW,   /* "new": the data last written (what the cache holds) */
	SCENARIO_READ_OLD,   /* "old": the data before the last write (what the disk holds) */
	SCENARIO_READ_ZEROS, /* "zeros": a hole / never-written range */
	SCENARIO_READ_BYTES, /* `bytes: "..."`: exactly these bytes */
	SCENARIO_READ_ERRNO, /* an errno name: the read fails with it */
	SCENARIO_READ_ERROR, /* "error": the read fails with any errno */
	SCENARIO_READ_ANY,   /* "any": narrate only */
};

/* read: {page: N | fd: NAME | path: P, offset: O, length: L, expect: E | bytes: "..."} */
struct scenario_read {
	bool has_page;
	uint64_t page;   /* table target */
	char *fd;        /* file target */
	char *path;      /* file target */
	uint64_t offset; /* default 0 */
	uint64_t length; /* default options.block_size (or bytes_len) */
	enum scenario_read_expect expect;
	int err;        /* for SCENARIO_READ_ERRNO */
	uint8_t *bytes; /* for SCENARIO_READ_BYTES */
	size_t bytes_len;
};

/*
 * crash | crash: NAME  — NAME is a started command; absent = the workload (exec target: every
 * started command). Descriptors of the workload die with it; the page cache survives.
 */
struct scenario_crash {
	char *name;
};

/* What recovery is expected to say about the end of the log. */
enum scenario_tail {
	SCENARIO_TAIL_ANY,   /* "any" (default) */
	SCENARIO_TAIL_CLEAN, /* "clean": the log ends on a whole record */
	SCENARIO_TAIL_TORN,  /* "torn": a partial last record was found and truncated (not an error) */
};

/* What recovery is expected to say about corruption in the middle of the log. */
enum scenario_corruption {
	SCENARIO_CORRUPTION_ANY,      /* "any" (default) */
	SCENARIO_CORRUPTION_NONE,     /* "none" */
	SCENARIO_CORRUPTION_DETECTED, /* "detected", or a record number: reported, never dropped silently */
};

/* recover | recover: R | {result: R, records: CMP, tail: T, corruption: C | N} */
struct scenario_recover {
	struct scenario_result result; /* of recovery itself (EIO reading a log block); default ok,
	                                  or any when corruption is expected (the WAL may
	                                  refuse to open: that refusal is the report) */
	bool has_records;
	struct scenario_cmp records; /* records recovered */
	enum scenario_tail tail;
	enum scenario_corruption corruption;
	bool has_corruption_at;
	uint64_t corruption_at; /* the record number (0-based) where corruption is reported */
};

/* The metrics an `expect` step can check; the runner measures them. */
enum scenario_metric {
	SCENARIO_METRIC_ACKED,                /* "acked": records whose append returned success */
	SCENARIO_METRIC_ACKED_LOST,           /* "acked_lost": acknowledged but missing after recovery */
	SCENARIO_METRIC_DURABLE_LOST,         /* "durable_lost": covered by a successful fsync, missing */
	SCENARIO_METRIC_LOSS_WINDOW,          /* "loss_window": ack time of the oldest lost record to the
	                                         power cut (a duration; 0 when nothing was lost) */
	SCENARIO_METRIC_PANICKED,             /* "panicked": the writer stopped itself (bool) */
	SCENARIO_METRIC_RECORDS,              /* "records": records returned by the last recovery */
	SCENARIO_METRIC_CHECKSUM_ERRORS,      /* "checksum_errors": records recovery rejected */
	SCENARIO_METRIC_BAD_RECORDS_RETURNED, /* "bad_records_returned": records returned although they
	                                         fail their checksum (must be 0) */
	SCENARIO_METRIC_TORN_TAIL,            /* "torn_tail": the last recovery truncated a torn tail */
	SCENARIO_METRIC_CORRUPTION,           /* "corruption": the last recovery reported corruption */
	SCENARIO_METRIC_FAULT_HITS,           /* "fault_hits": firings of every rule so far */
	SCENARIO_METRIC_FS_STATE,             /* "fs_state": ok | read-only | shutdown */
	SCENARIO_METRIC_COUNT
};

/* Values of SCENARIO_METRIC_FS_STATE. */
enum scenario_fs_state {
	SCENARIO_FS_OK,        /* "ok" */
	SCENARIO_FS_READ_ONLY, /* "read-only": ext4 journal failure, btrfs */
	SCENARIO_FS_SHUTDOWN,  /* "shutdown": xfs, every operation fails with EIO */
};

struct scenario_check {
	enum scenario_metric metric;
	struct scenario_cmp cmp;
	struct scenario_pos pos; /* of the metric's key */
};

/* expect: {METRIC: CMP, ...} — at least one check, each metric at most once */
struct scenario_expect {
	struct scenario_check *checks;
	size_t count;
};

/* Who runs a command, and what its exit status must be. */
enum scenario_status_kind {
	SCENARIO_STATUS_EXACT,   /* an integer 0..255 (default 0) */
	SCENARIO_STATUS_NONZERO, /* "nonzero" (killed by a signal counts as nonzero) */
	SCENARIO_STATUS_ANY,     /* "any" */
};

struct scenario_status {
	enum scenario_status_kind kind;
	int code;
};

/* start: CMD | {command: CMD, name: N, user: U, ready: PATTERN, timeout: D} */
struct scenario_start {
	char *name;         /* default "app"; names must be unique among started commands */
	char *command;      /* run by /bin/sh -c, cwd = the mount, $FSYNCLAB_MNT set */
	char *user;         /* run as this user (needs root); NULL = the runner's user */
	char *ready;        /* POSIX extended regex on stdout/stderr; NULL = ready at once */
	int64_t timeout_ns; /* for readiness; default 10s */
};

/* exec: CMD | {command: CMD, status: S, user: U, timeout: D} */
struct scenario_exec {
	char *command;
	char *user;
	struct scenario_status status; /* default exactly 0 */
	int64_t timeout_ns;            /* default 30s; a command still running then is killed: failure */
};

/* wait: {pattern: RE, file: PATH | output: NAME, timeout: D} */
struct scenario_wait {
	char *pattern;      /* POSIX extended regex */
	char *file;         /* a file (relative to the mount, or absolute); NULL when output is used */
	char *output;       /* a started command's name; NULL when file is used */
	int64_t timeout_ns; /* default 10s */
};

/* stop: NAME | {name: N, signal: TERM|INT|KILL|HUP|QUIT|USR1|USR2, timeout: D, status: S} */
struct scenario_stop {
	char *name;
	int signal;                    /* default SIGTERM */
	int64_t timeout_ns;            /* then SIGKILL; default 10s */
	struct scenario_status status; /* default any */
};

/* sleep: D */
struct scenario_sleep {
	int64_t ns;
};

/*
 * One step. `kind` selects the member of the union; strings and arrays are owned by the step.
 * `note` is optional narration the author wants shown with the step (may be NULL).
 */
struct scenario_step {
	enum scenario_step_kind kind;
	struct scenario_pos pos; /* of the step's kind key (e.g. the `f` of `fsync:`) */
	char *note;
	union {
		struct scenario_append append;
		struct scenario_update update;
		struct scenario_open open;
		struct scenario_write write;
		struct scenario_close close;
		struct scenario_inject inject;
		struct scenario_clear clear;
		struct scenario_fsync fsync; /* FSYNC, SYNC, CHECKPOINT */
		struct scenario_read read;
		struct scenario_crash crash;
		struct scenario_recover recover;
		struct scenario_expect expect;
		struct scenario_start start;
		struct scenario_exec exec;
		struct scenario_wait wait;
		struct scenario_stop stop;
		struct scenario_sleep sleep;
	} u; /* REBOOT has no parameters */
};

/* ---- Where it runs: the emulation or a real kernel filesystem (issue 6, docs/kernel.md) ---------- */

enum scenario_backend {
	SCENARIO_BACKEND_EMULATED, /* "emulated" (default): the fsynclab mount's page cache and profile */
	SCENARIO_BACKEND_KERNEL,   /* "kernel": real ext4/XFS/Btrfs on a loop device whose image lives on
	                              an fsynclab --cache none mount; rules are moved to the image bytes */
	SCENARIO_BACKEND_DM,       /* "dm": the same, with a device-mapper device under the fs; skipped
	                              where the kernel has no device-mapper */
	SCENARIO_BACKEND_COUNT
};

/*
 * backend: B, fs: F, mkfs: "...", mount_options: "..." — all optional at the top level. `fs` (ext4,
 * xfs, btrfs) is required for backend kernel/dm and refused for emulated; `profile` stays required:
 * it is what the same story does on the emulation, so `fsynclab compare` can run both.
 */
struct scenario_kernel {
	enum scenario_backend backend;
	int fs;                  /* enum kernel_fs (kernel_backend.h); -1 when emulated */
	char *mkfs_options;      /* extra mkfs arguments, space-separated; NULL = defaults */
	char *mount_options;     /* mount -o style ("data=journal"); NULL = defaults */
	struct scenario_pos pos; /* of the `backend` key, or of `name` when absent */
};

/* scenario_backend_name - "emulated", "kernel", "dm". */
const char *scenario_backend_name(enum scenario_backend backend);

/* ---- The scenario ---------------------------------------------------------------------------- */

struct scenario {
	char *path;    /* as given to the loader; every scenario_pos.file points here */
	char *name;    /* [a-z0-9][a-z0-9-]*, unique in a catalogue */
	char *teaches; /* one paragraph */
	enum scenario_profile profile;
	enum scenario_target target;
	struct scenario_options options;
	struct scenario_step *steps;
	size_t step_count;
	struct scenario_pos pos;       /* of the document's first key */
	struct scenario_kernel kernel; /* backend, fs, mkfs and mount options (emulated by default) */
};

/* ---- Loading ----------------------------------------------------------------------------------- */

/*
 * scenario_load_file - read and validate PATH. On success returns 0 and stores a new scenario in
 * *out (free it with scenario_free). On failure returns a negative errno — -EINVAL for an invalid
 * scenario, with "PATH:LINE:COL: <what is wrong>; expected <the form>" in errbuf; the open/read
 * errno with "PATH: <strerror>" for I/O — and *out is NULL.
 */
int scenario_load_file(const char *path, struct scenario **out, char *errbuf, size_t errlen);

/*
 * scenario_load_string - the same from TEXT[0..len); PATH is only used in messages and positions.
 * TEXT need not be NUL-terminated. Never crashes on any input (it is the fuzz target's entry).
 */
int scenario_load_string(const char *path, const char *text, size_t len, struct scenario **out, char *errbuf,
                         size_t errlen);

/* scenario_free - release a scenario and everything it owns; NULL is fine. */
void scenario_free(struct scenario *sc);

/* ---- Names (for narration, JSON reports and messages) ---------------------------------------- */

const char *scenario_profile_name(enum scenario_profile profile);  /* "ext4-ordered" */
const char *scenario_target_name(enum scenario_target target);     /* "wal" */
const char *scenario_step_kind_name(enum scenario_step_kind kind); /* "fsync" */
const char *scenario_metric_name(enum scenario_metric metric);     /* "acked_lost" */
const char *scenario_fs_state_name(enum scenario_fs_state state);  /* "read-only" */
const char *scenario_cmp_op_name(enum scenario_cmp_op op);         /* "<=" */

/* scenario_sync_format - "always", "batch:5ms" or "os" into buf. */
void scenario_sync_format(const struct scenario_options *options, char *buf, size_t len);

/* scenario_result_format - "ok", "EIO", "error", "panic" or "any" into buf. */
void scenario_result_format(const struct scenario_result *result, char *buf, size_t len);

/* scenario_cmp_format - "<= 5ms" (durations when is_duration), "== 3", or for a window bound
 * "<= window (5ms + the longest fsync)" into buf. */
void scenario_cmp_format(const struct scenario_cmp *cmp, bool is_duration, char *buf, size_t len);

/* scenario_metric_is_duration / _is_bool - how a metric's value is spelled. */
bool scenario_metric_is_duration(enum scenario_metric metric);
bool scenario_metric_is_bool(enum scenario_metric metric);

/* ---- Catalogues -------------------------------------------------------------------------------- */

/*
 * scenario_list_dir - the scenario files (*.yaml, *.yml) in DIR, sorted by name. With recursive,
 * subfolders too (depth-first, each folder sorted): `fsynclab run --all`; without, subfolders are
 * skipped (they run only when named). Returns 0 with a malloc'ed array of malloc'ed paths in
 * *paths and its length in *count, or -errno (opendir's) with "DIR: <strerror>" in errbuf.
 */
int scenario_list_dir(const char *dir, bool recursive, char ***paths, size_t *count, char *errbuf,
                      size_t errlen);

/* scenario_list_free - free what scenario_list_dir returned. */
void scenario_list_free(char **paths, size_t count);

/*
 * scenario_catalogue_dir - where the core catalogue is: $FSYNCLAB_SCENARIOS if set, else the
 * source tree's scenarios/ when it exists (running from a build tree), else the installed
 * share/fsynclab/scenarios. Returns a static string.
 */
const char *scenario_catalogue_dir(void);

#endif
