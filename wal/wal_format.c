/*
 * wal_format.c — encode and decode segment headers and records, and scan one segment's bytes.
 *
 * This file knows the byte layout (see wal_format.h) and nothing about files, threads or policies.
 * The scan is the heart of recovery: it hands out consecutive valid records and then decides what
 * the first non-record is — zeros (the clean end of a preallocated or trimmed segment), or a bad
 * record. For a bad record it searches every later aligned offset for a valid record: if one exists
 * the damage is in the middle of the log (corruption), otherwise it is a torn tail.
 *
 * Known limit: a payload that itself contains a whole valid record with a higher LSN (a log stored
 * inside a log) can make a torn tail look like corruption. That errs on the loud side.
 */
#include "wal_format.h"
#include "wal.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void store32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void store64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

void wal_record_encode(void *dst, uint64_t lsn, const void *data, size_t len)
{
	uint8_t *p = dst;
	uint64_t fp = wal_record_footprint(len);

	store32(p + 8, (uint32_t)len);
	store32(p + 12, WAL_RECORD_MAGIC);
	store64(p + 16, lsn);
	if (len > 0)
		memcpy(p + WAL_RECORD_HEADER_SIZE, data, len);
	memset(p + WAL_RECORD_HEADER_SIZE + len, 0, fp - WAL_RECORD_HEADER_SIZE - len);
	store64(p, XXH3_64bits(p + 8, fp - 8));
}

int wal_record_decode(const void *buf, size_t avail, struct wal_record_view *out)
{
	const uint8_t *p = buf;

	if (avail < WAL_RECORD_HEADER_SIZE)
		return -ENODATA;
	uint32_t len = load32(p + 8);
	if (load32(p + 12) != WAL_RECORD_MAGIC || len > WAL_RECORD_MAX)
		return -EBADMSG;
	uint64_t fp = wal_record_footprint(len);
	if (fp > avail)
		return -ENODATA;
	if (XXH3_64bits(p + 8, fp - 8) != load64(p))
		return -EBADMSG;
	out->lsn = load64(p + 16);
	out->len = len;
	out->data = p + WAL_RECORD_HEADER_SIZE;
	out->footprint = fp;
	return 0;
}

void wal_segment_header_encode(void *dst, uint64_t first_lsn)
{
	uint8_t *p = dst;

	memcpy(p, WAL_SEGMENT_MAGIC, 8);
	store32(p + 8, WAL_SEGMENT_VERSION);
	store32(p + 12, WAL_SEGMENT_HEADER_SIZE);
	store64(p + 16, first_lsn);
	store64(p + 24, XXH3_64bits(p, 24));
}

int wal_segment_header_decode(const void *buf, size_t avail, uint64_t *first_lsn)
{
	const uint8_t *p = buf;

	if (avail < WAL_SEGMENT_HEADER_SIZE)
		return WAL_ETRUNCHDR;
	if (memcmp(p, WAL_SEGMENT_MAGIC, 8) != 0)
		return WAL_ENOTLOG;
	if (XXH3_64bits(p, 24) != load64(p + 24) || load32(p + 8) != WAL_SEGMENT_VERSION ||
	    load32(p + 12) != WAL_SEGMENT_HEADER_SIZE || load64(p + 16) == 0)
		return -EBADMSG;
	*first_lsn = load64(p + 16);
	return 0;
}

void wal_segment_name(uint64_t first_lsn, char *name)
{
	snprintf(name, WAL_SEGMENT_NAME_MAX, "%016" PRIx64 ".wal", first_lsn);
}

int wal_segment_name_parse(const char *name, uint64_t *first_lsn)
{
	uint64_t v = 0;

	if (strlen(name) != 20 || strcmp(name + 16, ".wal") != 0)
		return 0;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return 0;
		v = (v << 4) | d;
	}
	*first_lsn = v;
	return 1;
}

/* all_zero - 1 if BUF[0..LEN) holds only zero bytes. */
static int all_zero(const uint8_t *buf, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8)
		if (load64(buf + i) != 0)
			return 0;
	for (; i < len; i++)
		if (buf[i] != 0)
			return 0;
	return 1;
}

int wal_find_valid_record(const void *buf, size_t len, uint64_t from, uint64_t min_lsn)
{
	const uint8_t *p = buf;
	struct wal_record_view v;

	from = (from + WAL_RECORD_ALIGN - 1) & ~(uint64_t)(WAL_RECORD_ALIGN - 1);
	for (uint64_t q = from; q + WAL_RECORD_HEADER_SIZE <= len; q += WAL_RECORD_ALIGN) {
		if (load32(p + q + 12) != WAL_RECORD_MAGIC)
			continue;
		if (wal_record_decode(p + q, len - q, &v) == 0 && v.lsn >= min_lsn)
			return 1;
	}
	return 0;
}

/* describe_bad - fill SCAN's detail and bad_footprint for the non-record at P (AVAIL bytes). */
static void describe_bad(struct wal_segment_scan *scan, const uint8_t *p, size_t avail, int rc,
                         const struct wal_record_view *v, uint64_t expect)
{
	if (rc == 0) {
		scan->bad_footprint = v->footprint;
		snprintf(scan->detail, sizeof(scan->detail), "LSN %" PRIu64 " where %" PRIu64 " was expected",
		         v->lsn, expect);
		return;
	}
	if (avail < WAL_RECORD_HEADER_SIZE) {
		scan->bad_footprint = avail;
		snprintf(scan->detail, sizeof(scan->detail), "truncated record header (%zu of %u bytes)",
		         avail, WAL_RECORD_HEADER_SIZE);
		return;
	}
	uint32_t len = load32(p + 8);
	if (load32(p + 12) != WAL_RECORD_MAGIC) {
		scan->bad_footprint = 0;
		snprintf(scan->detail, sizeof(scan->detail), "bad record magic");
	} else if (len > WAL_RECORD_MAX) {
		scan->bad_footprint = 0;
		snprintf(scan->detail, sizeof(scan->detail), "absurd record length %" PRIu32, len);
	} else if (wal_record_footprint(len) > avail) {
		scan->bad_footprint = avail;
		snprintf(scan->detail, sizeof(scan->detail),
		         "truncated record (%zu bytes left, the header claims %" PRIu64 ")", avail,
		         wal_record_footprint(len));
	} else {
		scan->bad_footprint = wal_record_footprint(len);
		snprintf(scan->detail, sizeof(scan->detail), "checksum mismatch");
	}
}

int wal_segment_scan(const void *buf, size_t len, wal_segment_record_fn fn, void *arg,
                     struct wal_segment_scan *out)
{
	const uint8_t *p = buf;
	uint64_t first = 0;

	memset(out, 0, sizeof(*out));
	int rc = wal_segment_header_decode(buf, len, &first);
	if (rc < 0)
		return rc;
	uint64_t expect = first;
	uint64_t off = WAL_SEGMENT_HEADER_SIZE;
	out->first_lsn = first;
	while (off < len) {
		struct wal_record_view v;
		rc = wal_record_decode(p + off, len - off, &v);
		if (rc == 0 && v.lsn == expect) {
			if (fn != NULL) {
				int stop = fn(arg, &v, off);
				if (stop != 0) {
					out->next_lsn = expect;
					out->valid_end = off;
					return stop;
				}
			}
			off += v.footprint;
			expect++;
			out->records++;
			continue;
		}
		if (all_zero(p + off, len - off))
			break;
		out->bad = 1;
		describe_bad(out, p + off, len - off, rc, &v, expect);
		out->valid_after = wal_find_valid_record(buf, len, off, expect);
		break;
	}
	out->next_lsn = expect;
	out->valid_end = off;
	return 0;
}
