/*
 * wal_recover.c — read a log directory: list the segments, scan each (wal_format.c), and decide the
 * verdict for the whole log.
 *
 * The first "bad point" is either a bad record inside a segment or an LSN gap between two segments
 * (a segment that does not start where the previous one ended). Everything before it is handed out;
 * nothing after it ever is. The verdict is CORRUPT if any valid record exists after the bad point
 * (in the same segment or a later one), else TORN_TAIL; CLEAN when there is no bad point.
 *
 * A segment whose header is unreadable is an error (not a log / truncated header) while no bad point
 * has been met: segments are created under a temporary name and renamed only once their header is
 * synced, so a crash never leaves a half-written header behind. Past a bad point such a file only
 * counts as "no valid record".
 *
 * Segments are read with pread into memory (never mapped: see struct mapped), so a scan never
 * changes the log and a read error comes back as an error.
 */
#include "wal_internal.h"
#include "wal_format.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void wal_dir_scan_free(struct wal_dir_scan *s)
{
	free(s->segs);
	free(s->sizes);
	s->segs = NULL;
	s->sizes = NULL;
	s->nsegs = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* list_segments - fill S->segs with the first LSNs of the segment files in DIRFD, sorted. */
static int list_segments(int dirfd, struct wal_dir_scan *s)
{
	int fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	rewinddir(d);
	size_t cap = 0;
	struct dirent *de;
	int rc = 0;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		uint64_t first;
		if (!wal_segment_name_parse(de->d_name, &first))
			continue;
		if (s->nsegs == cap) {
			cap = cap ? cap * 2 : 16;
			uint64_t *n = realloc(s->segs, cap * sizeof(*n));
			if (n == NULL) {
				rc = -ENOMEM;
				break;
			}
			s->segs = n;
		}
		s->segs[s->nsegs++] = first;
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = -errno;
	closedir(d);
	if (rc == 0 && s->nsegs > 0) {
		qsort(s->segs, s->nsegs, sizeof(uint64_t), cmp_u64);
		s->sizes = calloc(s->nsegs, sizeof(uint64_t));
		if (s->sizes == NULL)
			rc = -ENOMEM;
	}
	return rc;
}

/*
 * A segment file's bytes, read into memory with pread. Not a mapping: mmap(MAP_POPULATE) of a file
 * whose read fails (a bad block, a FUSE read fault) does not fail in the kernel, it retries the
 * fault forever (seen on 6.18 over FUSE), and a plain mapping would turn the error into SIGBUS at the
 * first touch. pread reports the error as -EIO, which recovery must pass on.
 */
struct mapped {
	const uint8_t *buf;
	size_t len;
	uint8_t *heap; /* the allocation buf points into (NULL for an empty file) */
};

/* read_whole - read SIZE bytes of FD into a new allocation. 0 or -errno (the read's own error). */
static int read_whole(int fd, size_t size, struct mapped *m)
{
	m->heap = malloc(size);
	if (m->heap == NULL)
		return -ENOMEM;
	size_t off = 0;
	while (off < size) {
		ssize_t n = pread(fd, m->heap + off, size - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;
			free(m->heap);
			m->heap = NULL;
			return rc;
		}
		if (n == 0)
			break; /* shrank meanwhile: scan what is there */
		off += (size_t)n;
	}
	m->buf = m->heap;
	m->len = off;
	return 0;
}

/* map_segment - read segment FIRST of DIRFD; *size gets the file size. 0 or -errno. */
static int map_segment(int dirfd, uint64_t first, struct mapped *m, uint64_t *size)
{
	char name[WAL_SEGMENT_NAME_MAX];
	struct stat st;

	wal_segment_name(first, name);
	memset(m, 0, sizeof(*m));
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	*size = (uint64_t)st.st_size;
	int rc = 0;
	if (st.st_size > 0)
		rc = read_whole(fd, (size_t)st.st_size, m);
	close(fd);
	return rc;
}

static void unmap_segment(struct mapped *m)
{
	free(m->heap);
	memset(m, 0, sizeof(*m));
}

/* State shared with the per-record callback. */
struct scan_ctx {
	wal_record_fn fn;
	void *arg;
	uint64_t from_lsn;
	const char *segment;
};

static int scan_record(void *arg, const struct wal_record_view *v, uint64_t offset)
{
	struct scan_ctx *c = arg;
	if (c->fn == NULL || v->lsn < c->from_lsn)
		return 0;
	struct wal_record r = {
	    .lsn = v->lsn,
	    .data = v->data,
	    .len = v->len,
	    .segment = c->segment,
	    .offset = offset,
	    .footprint = v->footprint,
	    .checksum_ok = 1,
	};
	return c->fn(c->arg, &r);
}

static const char *header_problem(int rc)
{
	if (rc == WAL_ETRUNCHDR)
		return "truncated segment header";
	if (rc == WAL_ENOTLOG)
		return "not a log segment (bad magic)";
	return "segment header fails its checksum";
}

int wal_dir_scan(int dirfd, uint64_t from_lsn, uint64_t live_first, uint64_t live_len, int hand_bad,
                 wal_record_fn fn, void *arg, struct wal_dir_scan *out)
{
	memset(out, 0, sizeof(*out));
	struct wal_recovery *rep = &out->rep;
	int rc = list_segments(dirfd, out);
	if (rc < 0)
		return rc;
	rep->segments = (unsigned)out->nsegs;
	rep->next_lsn = 1;

	int bad = 0, valid_after = 0;
	uint64_t expect = 0, bad_footprint = 0;
	for (size_t i = 0; i < out->nsegs; i++) {
		char name[WAL_SEGMENT_NAME_MAX];
		struct mapped m;
		uint64_t first = out->segs[i];

		if (out->segs[i] > live_first)
			break;
		wal_segment_name(first, name);
		rc = map_segment(dirfd, first, &m, &out->sizes[i]);
		if (rc < 0)
			return rc;
		if (first == live_first && m.len > live_len)
			m.len = (size_t)live_len;
		rep->bytes_scanned += m.len;

		if (bad) {
			uint64_t hdr_first;
			if (wal_segment_header_decode(m.buf, m.len, &hdr_first) == 0 &&
			    wal_find_valid_record(m.buf, m.len, WAL_SEGMENT_HEADER_SIZE, rep->at_lsn))
				valid_after = 1;
			unmap_segment(&m);
			continue;
		}

		uint64_t hdr_first = 0;
		rc = wal_segment_header_decode(m.buf, m.len, &hdr_first);
		if (rc < 0) {
			snprintf(rep->segment, sizeof(rep->segment), "%s", name);
			if (rc == WAL_ETRUNCHDR)
				snprintf(rep->detail, sizeof(rep->detail), "%s (%zu of %u bytes)",
				         header_problem(rc), m.len, WAL_SEGMENT_HEADER_SIZE);
			else
				snprintf(rep->detail, sizeof(rep->detail), "%s", header_problem(rc));
			unmap_segment(&m);
			return rc;
		}
		if (hdr_first != first) {
			snprintf(rep->segment, sizeof(rep->segment), "%s", name);
			snprintf(rep->detail, sizeof(rep->detail),
			         "segment header says LSN %" PRIu64 " but the file name says %" PRIu64,
			         hdr_first, first);
			unmap_segment(&m);
			return -EBADMSG;
		}
		if (i > 0 && first != expect) {
			/* An LSN gap at a segment boundary: records are missing in between. */
			bad = 1;
			rep->at_lsn = expect;
			snprintf(rep->segment, sizeof(rep->segment), "%s", name);
			rep->offset = 0;
			snprintf(rep->detail, sizeof(rep->detail),
			         "LSN gap: segment starts at LSN %" PRIu64 ", %" PRIu64 " was expected",
			         first, expect);
			if (wal_find_valid_record(m.buf, m.len, WAL_SEGMENT_HEADER_SIZE, expect))
				valid_after = 1;
			unmap_segment(&m);
			continue;
		}

		struct scan_ctx ctx = {.fn = fn, .arg = arg, .from_lsn = from_lsn, .segment = name};
		struct wal_segment_scan s;
		rc = wal_segment_scan(m.buf, m.len, scan_record, &ctx, &s);
		unmap_segment(&m);
		if (rc != 0)
			return rc;
		if (i == 0)
			rep->first_lsn = s.records > 0 ? first : 0;
		rep->records += s.records;
		if (s.records > 0) {
			rep->last_lsn = s.next_lsn - 1;
			if (rep->first_lsn == 0)
				rep->first_lsn = first;
		}
		expect = s.next_lsn;
		rep->next_lsn = expect;
		out->keep = i + 1;
		out->keep_end = s.valid_end;
		if (s.bad) {
			bad = 1;
			valid_after = s.valid_after;
			bad_footprint = s.bad_footprint;
			rep->at_lsn = expect;
			snprintf(rep->segment, sizeof(rep->segment), "%s", name);
			rep->offset = s.valid_end;
			snprintf(rep->detail, sizeof(rep->detail), "%s", s.detail);
		}
	}
	if (!bad)
		rep->verdict = WAL_VERDICT_CLEAN;
	else
		rep->verdict = valid_after ? WAL_VERDICT_CORRUPT : WAL_VERDICT_TORN_TAIL;
	if (bad && valid_after)
		snprintf(rep->detail + strlen(rep->detail), sizeof(rep->detail) - strlen(rep->detail),
		         "; a valid record follows it");
	if (bad && hand_bad && fn != NULL) {
		struct wal_record r = {
		    .lsn = rep->at_lsn,
		    .data = NULL,
		    .len = 0,
		    .segment = rep->segment,
		    .offset = rep->offset,
		    .footprint = bad_footprint,
		    .checksum_ok = 0,
		};
		return fn(arg, &r);
	}
	return 0;
}

int wal_inspect(const char *dir, wal_record_fn fn, void *arg, struct wal_recovery *report)
{
	struct wal_dir_scan s;

	memset(report, 0, sizeof(*report));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int rc = wal_dir_scan(dfd, 0, WAL_NO_LIVE, 0, 1, fn, arg, &s);
	*report = s.rep;
	if (rc == 0 && s.nsegs == 0) {
		rc = WAL_ENOTLOG;
		snprintf(report->detail, sizeof(report->detail), "no segment files (*.wal) in the directory");
	}
	wal_dir_scan_free(&s);
	close(dfd);
	return rc;
}
