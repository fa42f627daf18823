/*
 * errseq.c — "has an error happened since I last looked?", answered once per looker.
 *
 * Modelled on Linux lib/errseq.c (Jeff Layton, 2017), which is how fsync reports writeback errors
 * since Linux 4.13. The story it fixes is fsyncgate: before 4.13 a writeback error was a single
 * flag on the file's mapping; the first fsync() caller, on any file descriptor, cleared it, and
 * every other process holding the file open was told "all is well" about data it had written and
 * that never reached the disk.
 *
 * An errseq_t is a 32-bit value split in three fields:
 *
 *   bits 0..11   the most recent errno (positive, <= MAX_ERRNO)
 *   bit  12      SEEN: somebody has reported the current error
 *   bits 13..31  a counter, bumped when a new error is recorded after the old one was seen
 *
 * The inode owns one errseq_t. Each open file samples it at open time (errseq_sample) and keeps
 * that value as its cursor. fsync() on the file compares the inode's value with the cursor
 * (errseq_check_and_advance): if they differ, an error happened since the file last looked, so
 * it is reported, the cursor is advanced and the SEEN bit is set. Every file open at the time of
 * the failure therefore sees the error exactly once.
 *
 * Why SEEN? Without it every new error would need to bump the counter, and the counter would wrap
 * quickly on a failing disk. With it, the counter only moves when the previous error has been
 * observed: errors nobody has looked at yet just overwrite the errno field.
 *
 * Sampling rule: a file opened after an error that nobody has seen starts from 0, not from the
 * current value, so it too reports the error (otherwise a process that opens, writes and fsyncs
 * after a background writeback failure would never learn of it). Once the error is SEEN, new
 * openers start past it.
 *
 * Known risk, as in Linux: the 19-bit counter can in theory wrap around to exactly a cursor's
 * value (2^19 seen errors between two fsyncs on one file) and hide an error. Accepted.
 *
 * Concurrency: all functions are lock-free with compare-and-swap; any thread may call them.
 */
#include "errseq.h"

/* The largest errno value that fits in the low bits. */
#define MAX_ERRNO 4095
/* Number of low bits holding the errno. */
#define ERRSEQ_SHIFT 12
/* The error in the low bits has been reported by somebody. */
#define ERRSEQ_SEEN (1u << ERRSEQ_SHIFT)
/* One step of the change counter (the bits above SEEN). */
#define ERRSEQ_CTR_INC (1u << (ERRSEQ_SHIFT + 1))

uint32_t errseq_set(errseq_t *eseq, int err)
{
	uint32_t cur, old, new;

	if (err >= 0 || err < -MAX_ERRNO)
		return 0;
	old = atomic_load(eseq);
	for (;;) {
		/* Clear the errno and SEEN bits, keep the counter, put in the new errno. */
		new = (old & ~(MAX_ERRNO | ERRSEQ_SEEN)) | (uint32_t)(-err);
		/* Only bump the counter if the previous error was seen (or there was none). */
		if (old & ERRSEQ_SEEN)
			new += ERRSEQ_CTR_INC;
		if (new == old) {
			cur = new;
			break;
		}
		cur = old;
		if (atomic_compare_exchange_weak(eseq, &cur, new)) {
			cur = new;
			break;
		}
		old = cur; /* raced with another setter: retry from what it wrote */
	}
	return cur;
}

uint32_t errseq_sample(errseq_t *eseq)
{
	uint32_t old = atomic_load(eseq);

	/* An unseen error is reported to new openers too: start them before it. */
	if (!(old & ERRSEQ_SEEN))
		old = 0;
	return old;
}

int errseq_check(errseq_t *eseq, uint32_t since)
{
	uint32_t cur = atomic_load(eseq);

	if (cur == since)
		return 0;
	return -(int)(cur & MAX_ERRNO);
}

int errseq_check_and_advance(errseq_t *eseq, uint32_t *since)
{
	uint32_t old, new;
	int err = 0;

	old = atomic_load(eseq);
	if (old != *since) {
		/* Mark it SEEN (so the next error bumps the counter), then report it. */
		new = old | ERRSEQ_SEEN;
		/*
		 * If the CAS loses a race with errseq_set, the newer error is left unseen and this
		 * cursor differs from it, so the next check reports it: nothing is lost (as Linux).
		 */
		if (new != old) {
			uint32_t expected = old;
			bool marked = atomic_compare_exchange_strong(eseq, &expected, new);
			if (!marked)
				new = old | ERRSEQ_SEEN; /* report what we read; the newer one comes next */
		}
		*since = new;
		err = -(int)(new &MAX_ERRNO);
	}
	return err;
}

void errseq_legacy_set(errseq_legacy_t *flag, int err)
{
	if (err < 0)
		atomic_store(flag, err);
}

int errseq_legacy_test_and_clear(errseq_legacy_t *flag)
{
	return atomic_exchange(flag, 0);
}
