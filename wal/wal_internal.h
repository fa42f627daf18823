/*
 * wal_internal.h — what the files of libfsynclab-wal share and users do not see: the directory scan
 * behind recovery, replay and `wal dump`.
 */
#ifndef FSYNCLAB_WAL_INTERNAL_H
#define FSYNCLAB_WAL_INTERNAL_H

#include "wal.h"

#include <stdint.h>

/* The outcome of scanning a log directory. */
struct wal_dir_scan {
	struct wal_recovery rep; /* verdict, counts, where the first bad point is */
	uint64_t *segs;          /* first LSNs of every segment file, sorted */
	uint64_t *sizes;         /* their file sizes */
	size_t nsegs;
	size_t keep;       /* segments [0, keep) hold the log; later ones lie past a torn tail */
	uint64_t keep_end; /* bytes of valid log in segment keep-1 */
};

/* Passed as LIVE_FIRST when no segment is being appended to. */
#define WAL_NO_LIVE UINT64_MAX

/*
 * wal_dir_scan - read every segment in DIRFD in LSN order. Valid records with LSN >= FROM_LSN go to
 * FN (may be NULL); with HAND_BAD, the first bad record then goes to FN with checksum_ok 0.
 * The segment whose first LSN is LIVE_FIRST is read only up to LIVE_LEN bytes, and later ones are
 * ignored (a consistent view of a log being appended to). Returns 0 (OUT filled, whatever the
 * verdict; nsegs may be 0), FN's non-zero return, or a header error (WAL_ENOTLOG, WAL_ETRUNCHDR,
 * -EBADMSG) with OUT->rep.segment and .detail naming the file, or -errno.
 * Free OUT with wal_dir_scan_free() in every case.
 */
int wal_dir_scan(int dirfd, uint64_t from_lsn, uint64_t live_first, uint64_t live_len, int hand_bad,
                 wal_record_fn fn, void *arg, struct wal_dir_scan *out);

/* wal_dir_scan_free - release what wal_dir_scan allocated. */
void wal_dir_scan_free(struct wal_dir_scan *s);

/*
 * wal_sync_other - sync FD (e.g. the table's data file) through W's sync hook and error policy;
 * under panic a failure also shuts the log down. Returns 0 or the error.
 */
int wal_sync_other(struct wal *w, int fd, enum wal_sync_target what);

/* wal_fail - an I/O error RC outside the log's own files (e.g. a data file write): under panic the
 * log shuts down as for its own errors; under retry nothing changes. */
void wal_fail(struct wal *w, int rc);

#endif
