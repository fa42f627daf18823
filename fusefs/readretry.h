/*
 * readretry.h — which FUSE READ requests are the kernel's retries of a read we failed.
 *
 * When a buffered read fails, the kernel re-reads page by page, in order, the pages the reader
 * still needs (filemap_read -> read_folio); a page fault re-reads the faulting page once. The read
 * path fails a request it takes for readahead without counting it (see lo_read in ops.c), and must
 * then recognise the retries, which are the requests that count. This table remembers, per file,
 * the runs of pages whose read we failed and the next page the kernel will retry. It is a memory of
 * what the kernel will do next, not a cache of data: small, bounded, and forgiving when it is wrong.
 *
 * Thread-safety: every function takes the table's own lock.
 */
#ifndef FSYNCLAB_READRETRY_H
#define FSYNCLAB_READRETRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Runs remembered at once, for all files; the least recently used run makes way for a new one. */
#define READ_RETRY_RUNS 64

/* Pages [first, last] of file `file` failed for reader `pid`; `next` is the retry expected next. */
struct read_retry_run {
	uint64_t file; /* the file's identity (the caller's choice: backing dev/ino) */
	uint64_t first, last, next;
	pid_t pid;
	uint64_t used; /* table clock at the last use; 0 = free slot */
};

struct read_retry {
	pthread_mutex_t lock;
	/* protected by lock: */
	struct read_retry_run runs[READ_RETRY_RUNS];
	uint64_t clock;
};

#define READ_RETRY_INIT                                                                                      \
	{                                                                                                    \
		.lock = PTHREAD_MUTEX_INITIALIZER                                                            \
	}

/*
 * read_retry_expect - a read of pages [FIRST, LAST] of FILE by PID failed: the kernel will retry,
 * one page at a time from FIRST, the pages its reader needs. Replaces any run of FILE it overlaps.
 */
void read_retry_expect(struct read_retry *rr, uint64_t file, uint64_t first, uint64_t last, pid_t pid);

/*
 * read_retry_take - is a one-page read of PAGE of FILE by PID a retry? It is when PAGE is the next
 * page of a run (the in-order retry of a failed readahead, whoever reads it), or lies ahead in a
 * run failed for the same PID (a page fault re-reads just the faulting page). A retry moves the
 * run past PAGE (a run retried to its end is forgotten). Returns true for a retry.
 */
bool read_retry_take(struct read_retry *rr, uint64_t file, uint64_t page, pid_t pid);

/*
 * read_retry_forget - a readahead of pages [FIRST, LAST] of FILE reached us, so none of them was
 * in the kernel's cache: no retry of them is pending any more. Drops the runs it overlaps.
 */
void read_retry_forget(struct read_retry *rr, uint64_t file, uint64_t first, uint64_t last);

#endif
