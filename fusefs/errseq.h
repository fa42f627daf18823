/*
 * errseq.h — writeback error reporting, as Linux (>= 4.13) does it with errseq_t, plus the
 * pre-4.13 "first caller consumes the error" mode. Owns only the error cursor arithmetic; the
 * page cache records errors here and fsync asks here what to report.
 */
#ifndef FSYNCLAB_ERRSEQ_H
#define FSYNCLAB_ERRSEQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* An error sequence: the latest errno, a SEEN flag and a change counter packed in 32 bits. */
typedef _Atomic uint32_t errseq_t;

/*
 * errseq_set - record ERR (a negative errno, -4095..-1) in *ESEQ. Bumps the counter when the
 * previous value has been seen, so every sampler notices a new error. Returns the new value
 * (0 when ERR is not a valid errno, in which case nothing changes).
 */
uint32_t errseq_set(errseq_t *eseq, int err);

/*
 * errseq_sample - the cursor a new opener starts from. An error nobody has seen yet is NOT
 * included (returns 0 then), so a file opened after a failure but before anyone saw it will
 * still get the error on its first fsync.
 */
uint32_t errseq_sample(errseq_t *eseq);

/* errseq_check - the error that happened since cursor SINCE (negative errno), or 0. Read-only. */
int errseq_check(errseq_t *eseq, uint32_t since);

/*
 * errseq_check_and_advance - as errseq_check, and advance *SINCE to the current value, marking
 * the error SEEN. Each cursor therefore reports each error once: what fsync() does per open file.
 */
int errseq_check_and_advance(errseq_t *eseq, uint32_t *since);

/*
 * Pre-4.13 mode (--legacy-errors): one error flag per inode (AS_EIO / AS_ENOSPC). The first fsync
 * caller takes and clears it; every other open file sees 0.
 */
typedef _Atomic int errseq_legacy_t;

/* errseq_legacy_set - remember ERR (negative errno); a later error replaces an earlier one. */
void errseq_legacy_set(errseq_legacy_t *flag, int err);

/* errseq_legacy_test_and_clear - the pending error (negative errno) or 0, and clear it. */
int errseq_legacy_test_and_clear(errseq_legacy_t *flag);

#endif
