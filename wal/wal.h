/*
 * wal.h — libfsynclab-wal: the bundled write-ahead log and its small table store (public contract).
 *
 * The model, before the code
 * --------------------------
 * A log is a directory of segment files. Each segment starts with a 32-byte header (magic, version,
 * the LSN of its first record, a checksum) and holds records back to back, each 8-byte aligned:
 *
 *     [checksum u64][length u32][magic u32][lsn u64][payload: length bytes][zero padding to 8]
 *
 * The checksum is XXH3-64 over everything after it (header fields, payload and padding), so a flip of
 * any byte of a record is caught. LSNs start at 1 and grow by one per record, across segments.
 *
 * An append returns only once its record is in the kernel (in the page cache: it survives kill -9 of
 * the process). What a power cut may still lose depends on the sync policy:
 *
 *   always        nothing acknowledged: append returns after an fdatasync that covers the record.
 *                 Concurrent appenders (threads) share fdatasyncs (group commit: one leader syncs,
 *                 followers wait for a sync that covers their record).
 *   batch:<win>   at most the records of the last window (+ one fdatasync's latency): a background
 *                 flusher syncs at most once per window, and also when appends stop. If a busy
 *                 machine runs the flusher late (a quarter of a window), the next append syncs in
 *                 its place, so the loss stays under 1.25 windows + one fdatasync while appends go on.
 *   os            everything since the last wal_sync(): the log never syncs on its own.
 *
 * A failed fdatasync (or write) is handled by the error policy:
 *
 *   panic (default, correct)  the first failure is returned to the caller(s) it concerns, and from
 *                 then on every append and sync fails with WAL_ESHUTDOWN. The caller's duty: stop
 *                 acknowledging work and either exit, or wal_close() and wal_open() again — recovery
 *                 then shows what really reached the disk. After a failed fsync the kernel may have
 *                 marked the unwritten pages clean (fsyncgate), so retrying is never safe.
 *   retry (the fsyncgate bug, for teaching)  the error is logged and the sync retried; when a retry
 *                 "succeeds" the records count as durable, though the data may be gone.
 *
 * Every sync goes through one function, the sync hook (struct wal_options.sync_hook). By default it
 * calls fdatasync (files) or fsync (directories); tests replace it to inject failures without a
 * faulting mount. A real EIO from the filesystem (e.g. the fsynclab FUSE mount) takes the same path.
 *
 * Recovery (wal_open of an existing log) reads the segments in LSN order and classifies the end:
 *   clean       every byte after the last record is zero (or there is none);
 *   torn tail   the last record is incomplete or fails its checksum and no valid record follows it:
 *               expected after a crash; the tail is truncated and the log opens normally;
 *   corrupt     a bad record (or an LSN gap) followed by a valid record: acknowledged data was lost
 *               or damaged in the middle. wal_open refuses with WAL_ECORRUPT and fills the report.
 * No record that fails its checksum is ever handed to the caller.
 *
 * Threads: a struct wal may be used by many threads at once (append, sync, stats). wal_close() and
 * wal_truncate() must not race with other calls on the same log. A struct wal_table is serialised by
 * its own lock.
 *
 * Errors are negative errno values; wal_strerror() explains them, including the WAL_E* codes below.
 */
#ifndef FSYNCLAB_WAL_H
#define FSYNCLAB_WAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Error codes (negative errno values with a WAL-specific meaning) ---- */

#define WAL_ESHUTDOWN (-ESHUTDOWN)   /* the log panicked after a failed sync/write: exit or reopen */
#define WAL_ECORRUPT  (-EBADMSG)     /* mid-log corruption: a bad record followed by a valid one */
#define WAL_ENOTLOG   (-EMEDIUMTYPE) /* not a log: no segment files, or a file with a bad magic */
#define WAL_ETRUNCHDR (-ENODATA)     /* a segment file shorter than its 32-byte header */
#define WAL_ETOOBIG   (-EMSGSIZE)    /* a record larger than WAL_RECORD_MAX */

#define WAL_RECORD_MAX       (64u << 20) /* largest payload an append accepts (64 MiB) */
#define WAL_SEGMENT_NAME_MAX 32          /* bytes for a segment file name, NUL included */

/* ---- Options ---- */

/* When appended records are made durable; see the model above. */
enum wal_sync_policy {
	WAL_SYNC_ALWAYS = 0, /* durable before append returns (group commit among threads) */
	WAL_SYNC_BATCH,      /* background flusher, at most one sync per batch_window_ns */
	WAL_SYNC_OS,         /* never syncs on its own; wal_sync() on demand */
};

/* What a failed sync or write does to the log. */
enum wal_error_policy {
	WAL_ERROR_PANIC = 0, /* refuse all further appends/syncs with WAL_ESHUTDOWN (correct) */
	WAL_ERROR_RETRY,     /* log, retry the sync, carry on (the fsyncgate bug) */
};

/* How records reach the kernel. Both keep the process-crash guarantee. */
enum wal_io {
	WAL_IO_AUTO = 0, /* MMAP when the file system supports fallocate+mmap, else WRITE */
	WAL_IO_MMAP,     /* copy into a shared mapping of a preallocated segment (fastest) */
	WAL_IO_WRITE,    /* one pwrite per append: use this on an fsynclab FUSE mount, so every append
			    is a write request the fault rules see */
};

/* What a sync hook is asked to make durable. */
enum wal_sync_target {
	WAL_SYNC_SEGMENT = 0, /* a segment file (records): fdatasync */
	WAL_SYNC_DIRECTORY,   /* the log directory after creating/removing a segment: fsync */
	WAL_SYNC_DATAFILE,    /* the table store's data file at checkpoint: fdatasync */
};

/*
 * wal_sync_hook - the one door every sync goes through. Must return 0 or a negative errno, and may
 * be called from the flusher thread or any appending thread (never concurrently for one log).
 * ARG is wal_options.sync_hook_arg. A hook that wants the real sync calls wal_sync_fd().
 */
typedef int (*wal_sync_hook)(void *arg, int fd, enum wal_sync_target what);

/* wal_log_fn - receives one line (no newline) about an error the log handled (e.g. a retried sync). */
typedef void (*wal_log_fn)(void *arg, const char *msg);

struct wal_options {
	enum wal_sync_policy sync_policy;   /* default WAL_SYNC_ALWAYS */
	int64_t batch_window_ns;            /* WAL_SYNC_BATCH only: the window, > 0 (default 5 ms) */
	enum wal_error_policy error_policy; /* default WAL_ERROR_PANIC */
	unsigned retry_max;                 /* WAL_ERROR_RETRY: extra attempts after a failure (default 1) */
	uint64_t segment_size;              /* bytes per segment, >= 4096 (default 64 MiB); a record
					       larger than a segment gets a segment of its own */
	int sync_directory;                 /* fsync the directory after creating or removing a segment
					       (default 1; 0 only to teach what goes wrong without it) */
	enum wal_io io;                     /* default WAL_IO_AUTO */
	int create;                         /* create the directory / a new log if missing (default 1) */
	wal_sync_hook sync_hook;            /* NULL: wal_sync_fd */
	void *sync_hook_arg;
	wal_log_fn log_fn; /* NULL: lines go to stderr prefixed "wal: " */
	void *log_arg;
};

/* wal_options_init - fill O with the defaults documented above. */
void wal_options_init(struct wal_options *o);

/*
 * wal_policy_parse - parse "always", "os" or "batch:<duration>" (e.g. "batch:5ms").
 * Stores the policy and (for batch) the window in O. Returns 0, or -EINVAL for anything else.
 */
int wal_policy_parse(const char *text, struct wal_options *o);

/* wal_policy_format - write O's sync policy as wal_policy_parse accepts it ("batch:5ms"). */
void wal_policy_format(const struct wal_options *o, char *buf, size_t len);

/* wal_error_policy_parse - "panic" or "retry" into *out. Returns 0 or -EINVAL. */
int wal_error_policy_parse(const char *text, enum wal_error_policy *out);

/* wal_sync_fd - the default sync: fdatasync for files, fsync for directories; 0 or -errno. */
int wal_sync_fd(int fd, enum wal_sync_target what);

/* ---- Recovery report ---- */

enum wal_verdict {
	WAL_VERDICT_CLEAN = 0, /* nothing after the last valid record */
	WAL_VERDICT_TORN_TAIL, /* incomplete/bad last record, nothing valid after it (truncated) */
	WAL_VERDICT_CORRUPT,   /* bad record or LSN gap followed by a valid record */
};

/* wal_verdict_name - "clean", "torn-tail" or "corrupt" (the spelling of `wal dump --json`). */
const char *wal_verdict_name(enum wal_verdict v);

struct wal_recovery {
	enum wal_verdict verdict;
	uint64_t records;       /* valid records before the first bad one (what recovery hands out) */
	uint64_t first_lsn;     /* LSN of the first of them (0 when none) */
	uint64_t last_lsn;      /* LSN of the last of them (0 when none) */
	uint64_t next_lsn;      /* the LSN the next append gets */
	uint64_t bytes_scanned; /* bytes of segment files read */
	unsigned segments;      /* segment files found */
	/* For TORN_TAIL and CORRUPT: where the first bad record is. */
	uint64_t at_lsn;                    /* the LSN the bad record should have carried */
	char segment[WAL_SEGMENT_NAME_MAX]; /* its segment file name */
	uint64_t offset;                    /* its byte offset in that file */
	uint64_t truncated_bytes;           /* TORN_TAIL, wal_open only: bytes cut off the log */
	char detail[160];                   /* why it is bad, e.g. "checksum mismatch" */
};

/* ---- Records handed out by replay and inspection ---- */

struct wal_record {
	uint64_t lsn;        /* for a bad record: the LSN it should have carried */
	const void *data;    /* payload; valid only during the callback (NULL when bad) */
	size_t len;          /* payload bytes (0 when bad) */
	const char *segment; /* segment file name */
	uint64_t offset;     /* byte offset of the record in its segment */
	uint64_t footprint;  /* bytes the record occupies (header + payload + padding) */
	int checksum_ok;     /* 1 for every record replay hands out; 0 only for inspect's bad record */
};

/* wal_record_fn - called once per record; return 0 to go on, anything else stops the walk and is
 * returned by the walking function. */
typedef int (*wal_record_fn)(void *arg, const struct wal_record *rec);

/* ---- The log ---- */

struct wal;

/*
 * wal_open - open (recovering) or create the log in DIR.
 * OPTS may be NULL (defaults). REPORT may be NULL; when given it is filled in every case where the
 * segments could be read, including the WAL_ECORRUPT refusal.
 * Returns 0 and *out, or: WAL_ECORRUPT (mid-log corruption; nothing opened, see REPORT),
 * WAL_ENOTLOG / WAL_ETRUNCHDR (a segment file that is not ours), -ENOENT (DIR missing and
 * opts->create == 0), -EINVAL (bad options), or the errno of a failing system call.
 * A torn tail is not an error: it is truncated (REPORT says where and how much).
 */
int wal_open(const char *dir, const struct wal_options *opts, struct wal **out, struct wal_recovery *report);

/*
 * wal_append - append one record of LEN bytes (0 .. WAL_RECORD_MAX) and store its LSN in *lsn
 * (may be NULL). On 0 the record is acknowledged: in the kernel (survives a process crash), and
 * under WAL_SYNC_ALWAYS durable. Errors: WAL_ESHUTDOWN after a panic, the sync/write error itself
 * for the append(s) whose failure caused the panic (or under retry, when every retry failed),
 * WAL_ETOOBIG.
 */
int wal_append(struct wal *w, const void *data, size_t len, uint64_t *lsn);

/*
 * wal_sync - make every record appended so far durable (all policies). Returns 0, the sync error,
 * or WAL_ESHUTDOWN after a panic.
 */
int wal_sync(struct wal *w);

/*
 * wal_replay - hand every valid record with LSN >= FROM_LSN, in LSN order, to FN. Sees the records
 * recovered at open and those appended since. Returns 0, FN's non-zero return, or -errno.
 */
int wal_replay(struct wal *w, uint64_t from_lsn, wal_record_fn fn, void *arg);

/*
 * wal_truncate - drop the records with LSN <= UPTO_LSN that are no longer needed (after a
 * checkpoint). Whole segments are removed; when UPTO_LSN covers the current segment the log first
 * rolls over to a new empty one, so LSNs continue after a reopen. Directory fsynced per
 * sync_directory. Returns 0, -errno, or WAL_ESHUTDOWN.
 */
int wal_truncate(struct wal *w, uint64_t upto_lsn);

/* Counters; a snapshot, consistent under the log's lock. */
struct wal_stats {
	uint64_t appends;         /* records appended since open */
	uint64_t bytes;           /* payload bytes appended since open */
	uint64_t syncs;           /* calls to the sync hook for segment files */
	uint64_t sync_errors;     /* of those, how many failed */
	uint64_t next_lsn;        /* LSN the next append gets */
	uint64_t written_lsn;     /* last LSN in the kernel (acknowledged under os/batch) */
	uint64_t durable_lsn;     /* last LSN covered by a successful sync */
	int error;                /* the error that made the log panic, 0 while healthy */
	enum wal_io io;           /* the I/O mode actually in use */
	uint64_t batch_takeovers; /* batch: syncs an appender did because the flusher ran late */
};

/* wal_get_stats - fill S. */
void wal_get_stats(struct wal *w, struct wal_stats *s);

/* wal_error - 0 while healthy; after a panic, the first error (e.g. -EIO). */
int wal_error(struct wal *w);

/*
 * wal_close - sync (unless panicked), trim the current segment to its records, free everything.
 * Returns 0, the sync error, or WAL_ESHUTDOWN when the log had panicked. W is freed in every case.
 */
int wal_close(struct wal *w);

/*
 * wal_inspect - read-only walk over the log in DIR, like pg_waldump: FN gets every record recovery
 * would hand out and then, if there is one, the first bad record (checksum_ok == 0, data NULL).
 * Nothing is modified. REPORT (required) gets the verdict. Returns 0 when the log could be read
 * (whatever the verdict), FN's non-zero return, -ENOENT, -ENOTDIR, WAL_ENOTLOG, WAL_ETRUNCHDR,
 * or -errno.
 */
int wal_inspect(const char *dir, wal_record_fn fn, void *arg, struct wal_recovery *report);

/*
 * wal_strerror - a one-line message for ERR (negative errno or WAL_E*); never NULL.
 */
const char *wal_strerror(int err);

/* ---- The table store ----
 *
 * Fixed-size pages in a data file (DIR/table.dat), updates logged first in the log DIR/log/.
 * wal_table_update() appends a record (page, offset, bytes) under the log's sync policy, then
 * applies it to the in-memory page. wal_table_checkpoint() is PostgreSQL's checkpoint: sync the log,
 * write every dirty page to the data file, fdatasync the data file, and only then truncate the log.
 * If that fdatasync fails: under panic the table refuses further work (WAL_ESHUTDOWN) and the log
 * still holds the updates; under retry a retried fdatasync "succeeds" and the log is truncated —
 * fsyncgate: after a power cut the updates are neither in the data file nor in the log.
 * Opening replays the log over the data file.
 */

struct wal_table_options {
	uint32_t page_size;     /* bytes per page (default 4096) */
	uint64_t pages;         /* pages in the table (default 256) */
	struct wal_options wal; /* the log's options; its sync_hook also syncs the data file */
};

/* wal_table_options_init - the defaults above, with wal_options_init() for the log. */
void wal_table_options_init(struct wal_table_options *o);

struct wal_table;

/*
 * wal_table_open - open or create the table in DIR and replay its log. REPORT as for wal_open.
 * Returns 0 and *out, or the errors of wal_open, -EINVAL (bad options, or a log record that is
 * not a table update), -errno.
 */
int wal_table_open(const char *dir, const struct wal_table_options *o, struct wal_table **out,
                   struct wal_recovery *report);

/*
 * wal_table_update - log then apply: bytes DATA[0..LEN) at OFFSET in PAGE. *lsn (may be NULL) gets
 * the record's LSN. Returns 0 (acknowledged as wal_append), -EINVAL (out of range), or the log's error.
 */
int wal_table_update(struct wal_table *t, uint64_t page, uint32_t offset, const void *data, uint32_t len,
                     uint64_t *lsn);

/* wal_table_read - copy PAGE's current contents (page_size bytes) into BUF. 0 or -EINVAL. */
int wal_table_read(struct wal_table *t, uint64_t page, void *buf);

/*
 * wal_table_checkpoint - write dirty pages, fdatasync the data file, then truncate the log.
 * Returns 0, the sync/write error (panic: the table then refuses work), or WAL_ESHUTDOWN.
 */
int wal_table_checkpoint(struct wal_table *t);

/* wal_table_log - the table's log (for stats, wal_error). */
struct wal *wal_table_log(struct wal_table *t);

/* wal_table_close - close the log (syncing it) and the data file; no checkpoint. Frees T. */
int wal_table_close(struct wal_table *t);

#endif
