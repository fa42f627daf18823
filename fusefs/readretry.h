/*
 * readretry.h — which FUSE READ requests are the kernel's retries of a read we failed.
 *
 * When a buffered read fails, the kernel re-reads page by page, in order, the pages the reader
 * still needs (filemap_read -> read_folio); a page fault re-reads the faulting page once. The read
 * path fails a request it takes for readahead without counting it (see lo_read in ops_read.c), and must
 * then recognise the retries, which are the requests that count. This table remembers, per file,
 * the runs of pages whose read we failed and which of them the kernel has retried. It is a memory of
 * what the kernel will do next, not a cache of data: small, bounded, and forgiving when it is wrong.
 *
 * Thread-safety: every function takes the table's own lock.
 */
#ifndef FSYNCLAB_READRETRY_H
#define FSYNCLAB_READRETRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Runs remembered at once, for all files; the least recently used run makes way for a new one. */
#define READ_RETRY_RUNS 64
/* Pages remembered per run: FUSE sends at most 256 pages per request (1 MiB of 4 KiB pages). */
#define READ_RETRY_RUN_PAGES 256

/* Pages [first, last] of file `file` failed; a set bit in `retried` = that page was retried. */
struct read_retry_run {
	uint64_t file; /* the file's identity (the caller's choice: backing dev/ino) */
	uint64_t first, last;
	uint64_t retried[READ_RETRY_RUN_PAGES / 64];
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
 * read_retry_expect - a read of pages [FIRST, LAST] of FILE failed: the pages stay in the kernel's
 * cache, not up to date, and its next request for each of them will be a one-page retry. A
 * multi-page run replaces the runs of FILE it overlaps (only its first READ_RETRY_RUN_PAGES pages
 * are remembered); a one-page run (a failed retry) sits beside the run it came from, whose other
 * pages may still be retried.
 */
void read_retry_expect(struct read_retry *rr, uint64_t file, uint64_t first, uint64_t last);

/*
 * read_retry_take - is a one-page read of PAGE of FILE a retry? It is when PAGE lies in a run and
 * has not been retried since: the in-order retry of a failed readahead, a page fault re-reading
 * just its page, or a later reader of a page the failed readahead left behind. Marks PAGE retried
 * (a run whose pages are all retried is forgotten). Returns true for a retry.
 */
bool read_retry_take(struct read_retry *rr, uint64_t file, uint64_t page);

/*
 * read_retry_forget - a readahead of pages [FIRST, LAST] of FILE reached us, so none of them was
 * in the kernel's cache: no retry of them is pending any more. Drops the runs it overlaps.
 */
void read_retry_forget(struct read_retry *rr, uint64_t file, uint64_t first, uint64_t last);

/* read_retry_clear - the kernel's cache was dropped as a whole (a power cut): forget every run. */
void read_retry_clear(struct read_retry *rr);

#endif
