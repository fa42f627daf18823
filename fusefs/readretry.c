/*
 * readretry.c — recognising the kernel's retries of a failed read (see readretry.h).
 *
 * The model. A buffered read that misses the page cache reaches the filesystem as readahead: one
 * request for a run of pages. If that request fails, the pages stay in the kernel's cache, not
 * up to date, and filemap_read() re-reads the ones its reader needs with ->read_folio: one request
 * per page, in order, starting at the first page of the run, stopping at the first failure (or
 * when the reader has what it asked for). A page fault re-reads only the faulting page, once.
 * Pages the reader did not need stay behind, not up to date, and the next reader of them gets a
 * read_folio too, without a readahead before it.
 *
 * So a one-page request is a retry when its page was left not up to date by a failed request and
 * has not been retried since: a page of a failed run (the in-order retry, a page fault's retry of
 * its one page, or a later reader of a page the run left behind), or a page whose own retry failed. Anything else is taken for a first read, i.e.
 * readahead. A multi-page request is always readahead, and proves that its pages were not in the
 * kernel's cache: any retry remembered for them is stale and is dropped.
 *
 * What cannot be seen from here: a page evicted from the kernel's cache behind our back (memory
 * pressure, drop_caches, fadvise) while a retry of it was expected. The kernel's next one-page
 * request for it is then readahead but looks like the retry. Multi-page readahead clears such
 * memories; a one-page one does not. The table is bounded (READ_RETRY_RUNS): a forgotten run costs
 * at most one uncounted failure per page, never memory.
 */
#include "readretry.h"

#include <string.h>

/* Is RUN a live run of FILE that contains PAGE, not yet retried? */
static bool run_expects(const struct read_retry_run *run, uint64_t file, uint64_t page)
{
	if (run->used == 0 || run->file != file || page < run->first || page > run->last)
		return false;
	uint64_t i = page - run->first;
	return !(run->retried[i / 64] & (1ull << (i % 64)));
}

/* Is RUN a live run of FILE overlapping [FIRST, LAST]? */
static bool run_overlaps(const struct read_retry_run *run, uint64_t file, uint64_t first, uint64_t last)
{
	return run->used != 0 && run->file == file && run->first <= last && first <= run->last;
}

void read_retry_expect(struct read_retry *rr, uint64_t file, uint64_t first, uint64_t last)
{
	struct read_retry_run *slot = NULL;

	if (last < first)
		return;
	if (last - first >= READ_RETRY_RUN_PAGES)
		last = first + READ_RETRY_RUN_PAGES - 1;
	pthread_mutex_lock(&rr->lock);
	for (size_t i = 0; i < READ_RETRY_RUNS; i++) {
		struct read_retry_run *run = &rr->runs[i];

		/* A new readahead run replaces what it overlaps; a one-page run replaces only a one-page
		 * run (a failed retry leaves the other pages of its run to be retried later). */
		if (run_overlaps(run, file, first, last) && (last > first || run->first == run->last))
			run->used = 0;
		if (!slot || run->used < slot->used)
			slot = run;
	}
	*slot = (struct read_retry_run){.file = file, .first = first, .last = last, .used = ++rr->clock};
	pthread_mutex_unlock(&rr->lock);
}

bool read_retry_take(struct read_retry *rr, uint64_t file, uint64_t page)
{
	struct read_retry_run *found = NULL;

	pthread_mutex_lock(&rr->lock);
	/* The newest run first: a failed retry's one-page run is newer than the run it came from. */
	for (size_t i = 0; i < READ_RETRY_RUNS; i++) {
		struct read_retry_run *run = &rr->runs[i];

		if (run_expects(run, file, page) && (!found || run->used > found->used))
			found = run;
	}
	if (found) {
		uint64_t i = page - found->first, left = 0;

		found->retried[i / 64] |= 1ull << (i % 64);
		for (uint64_t k = 0; k <= found->last - found->first; k++)
			left += !(found->retried[k / 64] & (1ull << (k % 64)));
		found->used = left ? ++rr->clock : 0;
	}
	pthread_mutex_unlock(&rr->lock);
	return found != NULL;
}

void read_retry_forget(struct read_retry *rr, uint64_t file, uint64_t first, uint64_t last)
{
	pthread_mutex_lock(&rr->lock);
	for (size_t i = 0; i < READ_RETRY_RUNS; i++)
		if (run_overlaps(&rr->runs[i], file, first, last))
			rr->runs[i].used = 0;
	pthread_mutex_unlock(&rr->lock);
}

void read_retry_clear(struct read_retry *rr)
{
	pthread_mutex_lock(&rr->lock);
	for (size_t i = 0; i < READ_RETRY_RUNS; i++)
		rr->runs[i].used = 0;
	pthread_mutex_unlock(&rr->lock);
}
