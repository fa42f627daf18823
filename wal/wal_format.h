/*
 * wal_format.h — the on-disk format of a log segment: header, record encode/decode, and the scan
 * of one segment's bytes that recovery, `wal dump` and the fuzz target share.
 *
 * Internal to libfsynclab-wal (tests and the fuzz target include it too); users see wal.h.
 *
 * Segment header (32 bytes, little-endian):
 *     [magic "FSYNCWAL" 8][version u32 = 1][header size u32 = 32][first lsn u64][xxh3 of bytes 0..24 u64]
 * Record (8-byte aligned, little-endian):
 *     [checksum u64][length u32][magic u32 "RWL1"][lsn u64][payload][zeros to the next multiple of 8]
 *     checksum = XXH3-64 of every byte after it, up to the end of the padding.
 */
#ifndef FSYNCLAB_WAL_FORMAT_H
#define FSYNCLAB_WAL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define WAL_SEGMENT_MAGIC       "FSYNCWAL"  /* first 8 bytes of every segment */
#define WAL_SEGMENT_VERSION     1u          /* format version in the header */
#define WAL_SEGMENT_HEADER_SIZE 32u         /* bytes before the first record */
#define WAL_RECORD_HEADER_SIZE  24u         /* checksum, length, magic, lsn */
#define WAL_RECORD_MAGIC        0x314c5752u /* "RWL1": tells a record header from zeros/garbage */
#define WAL_RECORD_ALIGN        8u          /* records start at multiples of this */

/* wal_record_footprint - bytes a record with a LEN-byte payload occupies (header+payload+padding). */
static inline uint64_t wal_record_footprint(uint64_t len)
{
	return (WAL_RECORD_HEADER_SIZE + len + WAL_RECORD_ALIGN - 1) & ~(uint64_t)(WAL_RECORD_ALIGN - 1);
}

/* wal_record_encode - write the record (LSN, DATA[0..LEN)) into DST, which must hold
 * wal_record_footprint(LEN) bytes. */
void wal_record_encode(void *dst, uint64_t lsn, const void *data, size_t len);

/* A decoded record: points into the buffer it was decoded from. */
struct wal_record_view {
	uint64_t lsn;
	uint32_t len;
	const void *data;
	uint64_t footprint;
};

/*
 * wal_record_decode - decode the record at BUF (AVAIL bytes readable).
 * Returns 0 and fills *out when the record is whole and its checksum matches; -ENODATA when AVAIL
 * is too short for the header or for the length it claims; -EBADMSG for a bad magic, an absurd
 * length or a checksum mismatch.
 */
int wal_record_decode(const void *buf, size_t avail, struct wal_record_view *out);

/* wal_segment_header_encode - write a segment header for FIRST_LSN into DST (32 bytes). */
void wal_segment_header_encode(void *dst, uint64_t first_lsn);

/*
 * wal_segment_header_decode - check the header at BUF (AVAIL bytes). Returns 0 and *first_lsn,
 * WAL_ETRUNCHDR when AVAIL < 32, WAL_ENOTLOG for a wrong magic, -EBADMSG for a bad checksum or
 * version.
 */
int wal_segment_header_decode(const void *buf, size_t avail, uint64_t *first_lsn);

/* wal_segment_name - "<16 hex digits of FIRST_LSN>.wal" into NAME (WAL_SEGMENT_NAME_MAX bytes). */
void wal_segment_name(uint64_t first_lsn, char *name);

/* wal_segment_name_parse - 1 and *first_lsn if NAME is a segment file name, else 0. */
int wal_segment_name_parse(const char *name, uint64_t *first_lsn);

/* The outcome of scanning one segment's bytes. */
struct wal_segment_scan {
	uint64_t first_lsn;     /* from the header */
	uint64_t next_lsn;      /* LSN after the last valid record */
	uint64_t records;       /* valid records, in order from the header on */
	uint64_t valid_end;     /* offset just after the last valid record */
	int bad;                /* 1: non-zero bytes at valid_end that are not the next valid record */
	int valid_after;        /* 1: a valid record (LSN >= next_lsn) lies somewhere after valid_end */
	uint64_t bad_footprint; /* bytes the bad record claims (bounded by the buffer), 0 if unknown */
	char detail[120];       /* why the record at valid_end is bad */
};

/* wal_segment_record_fn - receives each valid record of a segment scan, in order; non-zero stops. */
typedef int (*wal_segment_record_fn)(void *arg, const struct wal_record_view *rec, uint64_t offset);

/*
 * wal_segment_scan - scan BUF (LEN bytes: a whole segment file). Valid consecutive records (LSNs
 * from the header's first LSN on) go to FN (may be NULL); the scan stops at the first thing that is
 * not the next record, classifies it (only zeros after it: the end; else bad, and looks for a valid
 * record after it), and fills *out. Returns 0, FN's non-zero return, or the header's error
 * (WAL_ETRUNCHDR, WAL_ENOTLOG, -EBADMSG).
 */
int wal_segment_scan(const void *buf, size_t len, wal_segment_record_fn fn, void *arg,
                     struct wal_segment_scan *out);

/*
 * wal_find_valid_record - 1 if a valid record with LSN >= MIN_LSN starts at an aligned offset in
 * BUF[from..len), else 0. (Used to tell a torn tail from mid-log corruption.)
 */
int wal_find_valid_record(const void *buf, size_t len, uint64_t from, uint64_t min_lsn);

#endif
