/*
 * test_wal_recovery.c — recovery tells a torn tail (truncated, not an error) from mid-log corruption
 * (an error), every flipped byte is detected, no record failing its checksum is handed out, and a
 * process crash (no close) loses nothing that append acknowledged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wal_test_util.h"
#include "wal_format.h"

#include <fcntl.h>
#include <sys/wait.h>

static size_t small_size(uint64_t lsn)
{
	return (size_t)((lsn * 13) % 61);
}

/* make_log - a closed log of N records (payload fill_pattern(lsn), size SIZE_OF(lsn)) in DIR. */
static void make_log(const char *dir, uint64_t n, size_t (*size_of)(uint64_t), uint64_t segment_size,
                     enum wal_io io)
{
	struct wal_options o;
	struct wal *w = NULL;
	unsigned char buf[4096];
	wal_options_init(&o);
	o.sync_hook = nosync_hook;
	o.sync_policy = WAL_SYNC_OS;
	o.io = io;
	o.segment_size = segment_size;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	for (uint64_t lsn = 1; lsn <= n; lsn++) {
		size_t len = size_of(lsn);
		fill_pattern(buf, len, lsn);
		assert_int_equal(wal_append(w, buf, len, NULL), 0);
	}
	assert_int_equal(wal_close(w), 0);
}

static char *seg_path(const char *dir, uint64_t first)
{
	char name[WAL_SEGMENT_NAME_MAX], *p = NULL;
	wal_segment_name(first, name);
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	unsigned char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* poke - overwrite one byte of PATH in place (no truncate: cheap even on a busy disk). */
static void poke(const char *path, uint64_t off, unsigned char byte)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &byte, 1, (off_t)off), 1);
	assert_int_equal(close(fd), 0);
}

/* Checks every handed-out record against what was written; counts bad ones separately. */
struct verify {
	size_t (*size_of)(uint64_t);
	uint64_t next;
	uint64_t good;
	uint64_t bad;        /* records handed out with checksum_ok == 0 (inspect's last) */
	uint64_t mismatches; /* handed out as good but not what was written: must stay 0 */
};

static int verify_record(void *arg, const struct wal_record *r)
{
	struct verify *v = arg;
	unsigned char buf[4096];
	if (!r->checksum_ok) {
		v->bad++;
		return 0;
	}
	size_t len = v->size_of(r->lsn);
	fill_pattern(buf, len, r->lsn);
	if (v->bad > 0 || r->lsn != v->next || r->len != len || (len && memcmp(buf, r->data, len) != 0))
		v->mismatches++;
	v->next++;
	v->good++;
	return 0;
}

static void torn_tail_is_truncated_not_an_error(void **state)
{
	(void)state;
	const uint64_t n = 10;
	uint64_t last_fp = wal_record_footprint(small_size(n));
	uint64_t cuts[] = {1, 5, 8, 23, 24, last_fp - 1};
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		char *dir = scratch_dir();
		make_log(dir, n, small_size, 1 << 20, WAL_IO_WRITE);
		char *path = seg_path(dir, 1);
		size_t len;
		unsigned char *buf = read_file(path, &len);
		write_file(path, buf, len - cuts[c]);

		struct wal_options o;
		struct wal *w = NULL;
		struct wal_recovery rep;
		struct log_capture log = {.lines = 0};
		wal_options_init(&o);
		o.sync_hook = nosync_hook;
		o.log_fn = quiet_log;
		o.log_arg = &log;
		assert_int_equal(wal_open(dir, &o, &w, &rep), 0);
		assert_int_equal(rep.verdict, WAL_VERDICT_TORN_TAIL);
		assert_int_equal(rep.records, n - 1);
		assert_int_equal(rep.last_lsn, n - 1);
		assert_int_equal(rep.at_lsn, n);
		assert_string_equal(rep.segment, "0000000000000001.wal");
		assert_int_equal(rep.offset, len - last_fp);
		assert_int_equal(rep.truncated_bytes, last_fp - cuts[c]);
		assert_true(log.lines >= 1); /* the cut is reported, not silent */
		uint64_t lsn = 0;
		assert_int_equal(wal_append(w, "new", 3, &lsn), 0);
		assert_int_equal(lsn, n);
		assert_int_equal(wal_close(w), 0);
		assert_int_equal(wal_open(dir, &o, &w, &rep), 0);
		assert_int_equal(rep.verdict, WAL_VERDICT_CLEAN);
		assert_int_equal(rep.records, n);
		assert_int_equal(wal_close(w), 0);
		free(buf);
		free(path);
		scratch_free(dir);
	}
}

static void garbage_tail_is_torn_and_zero_tail_is_clean(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	make_log(dir, 5, small_size, 1 << 20, WAL_IO_WRITE);
	char *path = seg_path(dir, 1);
	size_t len;
	unsigned char *buf = read_file(path, &len);
	unsigned char *bigger = calloc(1, len + 4096);
	assert_non_null(bigger);
	memcpy(bigger, buf, len);
	struct wal_recovery rep;
	struct verify v = {.size_of = small_size, .next = 1};

	/* Zeros after the last record (a preallocated segment after a crash): clean. */
	write_file(path, bigger, len + 4096);
	assert_int_equal(wal_inspect(dir, verify_record, &v, &rep), 0);
	assert_int_equal(rep.verdict, WAL_VERDICT_CLEAN);
	assert_int_equal(v.good, 5);
	assert_int_equal(v.bad, 0);

	/* A half-written record header after it: torn tail. */
	memset(bigger + len, 0xab, 17);
	write_file(path, bigger, len + 4096);
	v = (struct verify){.size_of = small_size, .next = 1};
	assert_int_equal(wal_inspect(dir, verify_record, &v, &rep), 0);
	assert_int_equal(rep.verdict, WAL_VERDICT_TORN_TAIL);
	assert_int_equal(rep.at_lsn, 6);
	assert_int_equal(v.good, 5);
	assert_int_equal(v.bad, 1);
	assert_int_equal(v.mismatches, 0);
	free(bigger);
	free(buf);
	free(path);
	scratch_free(dir);
}

/* record_of - the LSN whose record holds byte OFF of a single-segment log (0: the header). */
static uint64_t record_of(uint64_t off, uint64_t n)
{
	uint64_t start = WAL_SEGMENT_HEADER_SIZE;
	if (off < start)
		return 0;
	for (uint64_t lsn = 1; lsn <= n; lsn++) {
		uint64_t fp = wal_record_footprint(small_size(lsn));
		if (off < start + fp)
			return lsn;
		start += fp;
	}
	return n + 1;
}

static void every_flipped_byte_is_detected(void **state)
{
	(void)state;
	const uint64_t n = 12;
	char *dir = scratch_dir();
	make_log(dir, n, small_size, 1 << 20, WAL_IO_WRITE);
	char *path = seg_path(dir, 1);
	size_t len;
	unsigned char *pristine = read_file(path, &len);
	static const unsigned char masks[] = {0x01, 0x80, 0xff};
	unsigned checked = 0;

	for (uint64_t off = 0; off < len; off++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			poke(path, off, pristine[off] ^ masks[m]);
			uint64_t hit = record_of(off, n);
			struct verify v = {.size_of = small_size, .next = 1};
			struct wal_recovery rep;
			int rc = wal_inspect(dir, verify_record, &v, &rep);
			poke(path, off, pristine[off]);
			assert_int_equal(v.mismatches, 0); /* never a bad record handed out as good */
			if (hit == 0) {
				assert_true(rc < 0); /* header damage: not readable as a log */
				continue;
			}
			assert_int_equal(rc, 0);
			assert_int_equal(rep.at_lsn, hit);
			assert_int_equal(v.good, hit - 1);
			assert_int_equal(v.bad, 1);
			if (hit < n)
				assert_int_equal(rep.verdict, WAL_VERDICT_CORRUPT);
			else
				assert_int_equal(rep.verdict, WAL_VERDICT_TORN_TAIL);
			checked++;
		}
		/* Through the real open path too, for a sample of offsets. */
		if (off % 11 == 0 && record_of(off, n) != 0) {
			struct wal_options o;
			struct wal *w = NULL;
			struct wal_recovery rep;
			struct log_capture log = {.lines = 0};
			wal_options_init(&o);
			o.sync_hook = nosync_hook;
			o.log_fn = quiet_log;
			o.log_arg = &log;
			poke(path, off, pristine[off] ^ 0x10);
			int rc = wal_open(dir, &o, &w, &rep);
			if (record_of(off, n) < n) {
				assert_int_equal(rc, WAL_ECORRUPT);
				assert_int_equal(rep.verdict, WAL_VERDICT_CORRUPT);
				assert_int_equal(rep.at_lsn, record_of(off, n));
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(rep.verdict, WAL_VERDICT_TORN_TAIL);
				assert_int_equal(wal_close(w), 0);
				write_file(path, pristine, len); /* open cut the torn tail */
			}
			poke(path, off, pristine[off]);
		}
	}
	assert_true(checked > 500);
	free(pristine);
	free(path);
	scratch_free(dir);
}

static void corruption_in_an_early_segment_is_detected(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	make_log(dir, 300, small_size, 4096, WAL_IO_MMAP);
	char *path = seg_path(dir, 1);
	size_t len;
	unsigned char *buf = read_file(path, &len);
	buf[len - 3] ^= 0x40; /* the last record of the first segment: valid records follow elsewhere */
	write_file(path, buf, len);
	struct wal_options o;
	struct wal *w = NULL;
	struct wal_recovery rep;
	wal_options_init(&o);
	o.sync_hook = nosync_hook;
	assert_int_equal(wal_open(dir, &o, &w, &rep), WAL_ECORRUPT);
	assert_int_equal(rep.verdict, WAL_VERDICT_CORRUPT);
	assert_string_equal(rep.segment, "0000000000000001.wal");
	assert_non_null(strstr(rep.detail, "checksum"));
	free(buf);
	free(path);
	scratch_free(dir);
}

static void missing_middle_segment_is_an_lsn_gap(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	make_log(dir, 300, small_size, 4096, WAL_IO_WRITE);
	struct wal_recovery rep;
	struct verify v = {.size_of = small_size, .next = 1};
	assert_int_equal(wal_inspect(dir, verify_record, &v, &rep), 0);
	assert_int_equal(rep.verdict, WAL_VERDICT_CLEAN);
	assert_true(rep.segments >= 4);
	/* Remove the second segment (its first LSN is the first segment's next LSN). */
	uint64_t second = 0;
	{
		struct verify first_only = {.size_of = small_size, .next = 1};
		(void)first_only;
		char *p1 = seg_path(dir, 1);
		size_t len;
		unsigned char *buf = read_file(p1, &len);
		struct wal_segment_scan s;
		assert_int_equal(wal_segment_scan(buf, len, NULL, NULL, &s), 0);
		second = s.next_lsn;
		free(buf);
		free(p1);
	}
	char *p2 = seg_path(dir, second);
	assert_int_equal(unlink(p2), 0);
	v = (struct verify){.size_of = small_size, .next = 1};
	assert_int_equal(wal_inspect(dir, verify_record, &v, &rep), 0);
	assert_int_equal(rep.verdict, WAL_VERDICT_CORRUPT);
	assert_int_equal(rep.at_lsn, second);
	assert_non_null(strstr(rep.detail, "LSN gap"));
	assert_int_equal(v.good, second - 1);
	assert_int_equal(v.mismatches, 0);
	free(p2);
	scratch_free(dir);
}

/* A torn end of one segment followed only by an empty (header-only) segment is a torn tail: the
 * empty segment goes, appends continue in the torn one, and the LSNs stay consecutive. */
static void torn_segment_followed_by_an_empty_one(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	make_log(dir, 200, small_size, 4096, WAL_IO_WRITE);
	char *p1 = seg_path(dir, 1);
	size_t len;
	unsigned char *buf = read_file(p1, &len);
	struct wal_segment_scan s;
	assert_int_equal(wal_segment_scan(buf, len, NULL, NULL, &s), 0);
	uint64_t second = s.next_lsn;
	assert_true(second > 2 && second <= 200);
	/* Cut the first segment inside its last record; the second becomes header-only. */
	write_file(p1, buf, len - 3);
	char *p2 = seg_path(dir, second);
	unsigned char *buf2 = read_file(p2, &len);
	write_file(p2, buf2, WAL_SEGMENT_HEADER_SIZE);
	/* Any later segment would hold valid records: remove them so that nothing valid follows. */
	for (uint64_t lsn = second + 1; lsn <= 201; lsn++) {
		char *p = seg_path(dir, lsn);
		unlink(p);
		free(p);
	}

	struct wal_options o;
	struct wal *w = NULL;
	struct wal_recovery rep;
	struct log_capture log = {.lines = 0};
	wal_options_init(&o);
	o.sync_hook = nosync_hook;
	o.log_fn = quiet_log;
	o.log_arg = &log;
	o.segment_size = 4096;
	assert_int_equal(wal_open(dir, &o, &w, &rep), 0);
	assert_int_equal(rep.verdict, WAL_VERDICT_TORN_TAIL);
	assert_int_equal(rep.at_lsn, second - 1);
	assert_int_equal(rep.records, second - 2);
	assert_int_equal(access(p2, F_OK), -1); /* the empty segment after the tear is gone */
	uint64_t lsn = 0;
	assert_int_equal(wal_append(w, "x", 1, &lsn), 0);
	assert_int_equal(lsn, second - 1);
	assert_int_equal(wal_close(w), 0);
	assert_int_equal(wal_open(dir, &o, &w, &rep), 0);
	assert_int_equal(rep.verdict, WAL_VERDICT_CLEAN);
	assert_int_equal(rep.records, second - 1);
	assert_int_equal(wal_close(w), 0);
	free(buf2);
	free(p2);
	free(buf);
	free(p1);
	scratch_free(dir);
}

static void process_crash_loses_no_acknowledged_record(void **state)
{
	(void)state;
	static const enum wal_io modes[] = {WAL_IO_MMAP, WAL_IO_WRITE};
	for (int m = 0; m < 2; m++) {
		char *dir = scratch_dir();
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct wal_options o;
			struct wal *w = NULL;
			unsigned char buf[64];
			wal_options_init(&o);
			o.sync_hook = nosync_hook;
			o.sync_policy = WAL_SYNC_OS;
			o.io = modes[m];
			o.segment_size = 65536;
			if (wal_open(dir, &o, &w, NULL) != 0)
				_exit(3);
			for (uint64_t lsn = 1; lsn <= 5000; lsn++) {
				size_t len = small_size(lsn);
				fill_pattern(buf, len, lsn);
				if (wal_append(w, buf, len, NULL) != 0)
					_exit(4);
			}
			_exit(0); /* no close, no sync: a crash right after the last acknowledgement */
		}
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		struct wal_options o;
		struct wal *w = NULL;
		struct wal_recovery rep;
		wal_options_init(&o);
		o.sync_hook = nosync_hook;
		assert_int_equal(wal_open(dir, &o, &w, &rep), 0);
		assert_int_equal(rep.verdict, WAL_VERDICT_CLEAN);
		assert_int_equal(rep.records, 5000);
		struct verify v = {.size_of = small_size, .next = 1};
		assert_int_equal(wal_replay(w, 1, verify_record, &v), 0);
		assert_int_equal(v.good, 5000);
		assert_int_equal(v.mismatches, 0);
		assert_int_equal(wal_close(w), 0);
		scratch_free(dir);
	}
}

static void inspect_refuses_what_is_not_a_log(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_recovery rep;
	char *path = NULL;
	assert_int_equal(wal_inspect(dir, NULL, NULL, &rep), WAL_ENOTLOG); /* empty directory */
	assert_true(asprintf(&path, "%s/0000000000000001.wal", dir) > 0);
	write_file(path, "FSYNCWAL\x01", 9);
	assert_int_equal(wal_inspect(dir, NULL, NULL, &rep), WAL_ETRUNCHDR);
	assert_string_equal(rep.segment, "0000000000000001.wal");
	assert_non_null(strstr(rep.detail, "9 of 32"));
	write_file(path, "this is a text file, not a log segment at all", 45);
	assert_int_equal(wal_inspect(dir, NULL, NULL, &rep), WAL_ENOTLOG);
	free(path);
	assert_true(asprintf(&path, "%s/missing", dir) > 0);
	assert_int_equal(wal_inspect(path, NULL, NULL, &rep), -ENOENT);
	free(path);
	scratch_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(torn_tail_is_truncated_not_an_error),
	    cmocka_unit_test(garbage_tail_is_torn_and_zero_tail_is_clean),
	    cmocka_unit_test(every_flipped_byte_is_detected),
	    cmocka_unit_test(corruption_in_an_early_segment_is_detected),
	    cmocka_unit_test(missing_middle_segment_is_an_lsn_gap),
	    cmocka_unit_test(torn_segment_followed_by_an_empty_one),
	    cmocka_unit_test(process_crash_loses_no_acknowledged_record),
	    cmocka_unit_test(inspect_refuses_what_is_not_a_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
