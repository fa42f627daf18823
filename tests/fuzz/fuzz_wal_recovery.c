/*
 * fuzz_wal_recovery.c — libFuzzer target: arbitrary bytes as a log segment must never crash
 * recovery, never make it read out of bounds, and never make it hand out a record that fails its
 * checksum (or, for a log built from known records, a record that differs from what was written).
 *
 * The first input byte picks a mode:
 *   even: raw — a valid segment header followed by the input as the body (so the fuzzer gets past
 *         the header check), scanned in memory and, every 8th input, through the files-on-disk path
 *         (wal_inspect, then wal_open + wal_replay, which may truncate a torn tail).
 *   odd:  structured — the input describes records (lengths and payload seeds) that are encoded
 *         validly, then damaged by the rest of the input (flip, zero, truncate, garbage); recovery
 *         must hand out only an unchanged prefix of the original records.
 */
#include "wal.h"
#include "wal_format.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v; /* the format is little-endian, as are the machines this runs on */
}

/* The original records of a structured input (payload = seed byte repeated). */
struct original {
	size_t n;
	uint32_t len[64];
	uint8_t seed[64];
};

struct check {
	const uint8_t *buf;
	size_t size;
	const struct original *orig; /* NULL in raw mode */
	uint64_t next_lsn;
};

/* check_view - a record handed out by the in-memory scan: in bounds, checksum holds, as written. */
static int check_view(void *arg, const struct wal_record_view *v, uint64_t offset)
{
	struct check *c = arg;
	if (offset + v->footprint > c->size || offset % WAL_RECORD_ALIGN != 0)
		abort();
	const uint8_t *rec = c->buf + offset;
	if (XXH3_64bits(rec + 8, v->footprint - 8) != load64(rec))
		abort(); /* a record failing its checksum was handed out */
	if (v->lsn != c->next_lsn)
		abort();
	if (c->orig != NULL) {
		uint64_t i = v->lsn - 1;
		if (i >= c->orig->n || v->len != c->orig->len[i])
			abort();
		for (uint32_t k = 0; k < v->len; k++)
			if (((const uint8_t *)v->data)[k] != c->orig->seed[i])
				abort();
	}
	c->next_lsn++;
	return 0;
}

/* check_record - the same for records handed out by the directory path (no buffer to look at). */
static int check_record(void *arg, const struct wal_record *r)
{
	struct check *c = arg;
	if (!r->checksum_ok)
		return 0; /* inspect's report of the bad record: carries no data */
	if (r->data == NULL && r->len > 0)
		abort();
	const uint8_t *hdr = (const uint8_t *)r->data - WAL_RECORD_HEADER_SIZE;
	if (XXH3_64bits(hdr + 8, r->footprint - 8) != load64(hdr))
		abort();
	if (r->lsn != c->next_lsn)
		abort();
	if (c->orig != NULL) {
		uint64_t i = r->lsn - 1;
		if (i >= c->orig->n || r->len != c->orig->len[i])
			abort();
		for (size_t k = 0; k < r->len; k++)
			if (((const uint8_t *)r->data)[k] != c->orig->seed[i])
				abort();
	}
	c->next_lsn++;
	return 0;
}

static char dir[64];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return ftw->level == 0 ? 0 : remove(p);
}

static int rm_all(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* cleanup - remove the scratch directory when libFuzzer exits. */
static void cleanup(void)
{
	if (dir[0] != '\0')
		nftw(dir, rm_all, 8, FTW_DEPTH | FTW_PHYS);
}

static int nosync(void *arg, int fd, enum wal_sync_target what)
{
	(void)arg;
	(void)fd;
	(void)what;
	return 0;
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* through_files - write BUF as segment 1 in a scratch directory and recover it from there. */
static void through_files(const uint8_t *buf, size_t size, const struct original *orig)
{
	char path[128];
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fsynclab-fuzz-wal.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(cleanup);
	}
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	snprintf(path, sizeof(path), "%s/0000000000000001.wal", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, size) != (ssize_t)size || close(fd) != 0)
		abort();

	struct wal_recovery rep;
	struct check c = {.orig = orig, .next_lsn = 1};
	int rc = wal_inspect(dir, check_record, &c, &rep);
	if (rc != 0)
		return;
	uint64_t inspected = rep.records;

	struct wal_options o;
	struct wal *w = NULL;
	wal_options_init(&o);
	o.sync_hook = nosync;
	o.log_fn = quiet;
	o.io = WAL_IO_WRITE;
	o.create = 0;
	rc = wal_open(dir, &o, &w, &rep);
	if (rc == 0) {
		if (rep.records != inspected)
			abort();
		c = (struct check){.orig = orig, .next_lsn = 1};
		if (wal_replay(w, 0, check_record, &c) != 0 || c.next_lsn != inspected + 1)
			abort();
		if (wal_append(w, "after", 5, NULL) != 0)
			abort();
		wal_close(w);
	} else if (rc == WAL_ECORRUPT && rep.verdict != WAL_VERDICT_CORRUPT) {
		abort();
	}
}

static void fuzz_raw(const uint8_t *data, size_t size, int files)
{
	size_t total = WAL_SEGMENT_HEADER_SIZE + size;
	uint8_t *buf = malloc(total ? total : 1);
	if (buf == NULL)
		abort();
	wal_segment_header_encode(buf, 1);
	memcpy(buf + WAL_SEGMENT_HEADER_SIZE, data, size);
	struct check c = {.buf = buf, .size = total, .next_lsn = 1};
	struct wal_segment_scan s;
	if (wal_segment_scan(buf, total, check_view, &c, &s) != 0)
		abort();
	/* Headerless and truncated variants must fail cleanly too. */
	wal_segment_scan(data, size, NULL, NULL, &s);
	if (files)
		through_files(buf, total, NULL);
	free(buf);
}

static void fuzz_structured(const uint8_t *data, size_t size)
{
	struct original orig = {.n = 0};
	size_t pos = 0;
	uint8_t nrec = size > 0 ? data[pos++] % 24 : 0;
	uint64_t total = WAL_SEGMENT_HEADER_SIZE;
	for (uint8_t i = 0; i < nrec && pos + 2 <= size; i++) {
		orig.len[i] = (uint32_t)(data[pos] % 200);
		orig.seed[i] = data[pos + 1];
		pos += 2;
		total += wal_record_footprint(orig.len[i]);
		orig.n++;
	}
	uint8_t *buf = calloc(1, total + 256);
	if (buf == NULL)
		abort();
	wal_segment_header_encode(buf, 1);
	uint64_t off = WAL_SEGMENT_HEADER_SIZE;
	uint8_t payload[200];
	for (size_t i = 0; i < orig.n; i++) {
		memset(payload, orig.seed[i], orig.len[i]);
		wal_record_encode(buf + off, i + 1, payload, orig.len[i]);
		off += wal_record_footprint(orig.len[i]);
	}
	size_t len = (size_t)total;
	int damaged = 0;
	/* Damage: (op, position, value) triples from the rest of the input. */
	while (pos + 3 <= size) {
		uint8_t op = data[pos] % 4;
		size_t at = ((size_t)data[pos + 1] << 8 | data[pos + 2]) % (len + 1);
		pos += 3;
		damaged = 1;
		if (op == 0 && at < len)
			buf[at] ^= (uint8_t)(1u << (data[pos - 1] & 7));
		else if (op == 1 && at < len)
			buf[at] = 0;
		else if (op == 2)
			len = at; /* torn: cut here */
		else if (op == 3 && len + 16 <= total + 256) {
			memset(buf + len, data[pos - 1] | 1, 16); /* garbage appended */
			len += 16;
		}
	}
	struct check c = {.buf = buf, .size = len, .orig = &orig, .next_lsn = 1};
	struct wal_segment_scan s;
	int rc = wal_segment_scan(buf, len, check_view, &c, &s);
	if (rc == 0 && !damaged && (s.records != orig.n || s.bad))
		abort(); /* undamaged: everything comes back */
	through_files(buf, len, &orig);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned runs;
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_raw(data + 1, size - 1, (runs++ % 8) == 0);
	else
		fuzz_structured(data + 1, size - 1);
	return 0;
}
