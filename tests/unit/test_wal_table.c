/*
 * test_wal_table.c — the table store: updates logged first, checkpoint then recovery, and what a
 * failed checkpoint fdatasync does under panic (log kept, table stops) and retry (log dropped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wal_test_util.h"

static void table_options(struct wal_table_options *o, struct fault_hook *h, struct log_capture *log)
{
	wal_table_options_init(o);
	o->page_size = 512;
	o->pages = 16;
	o->wal.segment_size = 8192;
	o->wal.sync_hook = fault_hook_fn;
	o->wal.sync_hook_arg = h;
	o->wal.log_fn = quiet_log;
	o->wal.log_arg = log;
}

static uint64_t log_records(const char *dir)
{
	char *logdir = NULL;
	struct wal_recovery rep;
	assert_true(asprintf(&logdir, "%s/log", dir) > 0);
	assert_int_equal(wal_inspect(logdir, NULL, NULL, &rep), 0);
	free(logdir);
	return rep.records;
}

static void expect_page(struct wal_table *t, uint64_t page, unsigned char fill)
{
	unsigned char buf[512], want[512];
	memset(want, fill, sizeof(want));
	assert_int_equal(wal_table_read(t, page, buf), 0);
	assert_memory_equal(buf, want, sizeof(buf));
}

static void fill_page(struct wal_table *t, uint64_t page, unsigned char fill)
{
	unsigned char buf[512];
	memset(buf, fill, sizeof(buf));
	assert_int_equal(wal_table_update(t, page, 0, buf, sizeof(buf), NULL), 0);
}

static void checkpoint_then_recovery(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_table_options o;
	struct fault_hook h;
	struct log_capture log = {.lines = 0};
	struct wal_table *t = NULL;

	fault_hook_init(&h);
	table_options(&o, &h, &log);
	assert_int_equal(wal_table_open(dir, &o, &t, NULL), 0);
	for (uint64_t p = 0; p < 16; p++)
		fill_page(t, p, (unsigned char)(0x10 + p));
	/* A partial update lands at its offset. */
	assert_int_equal(wal_table_update(t, 3, 100, "abc", 3, NULL), 0);
	unsigned char buf[512];
	assert_int_equal(wal_table_read(t, 3, buf), 0);
	assert_memory_equal(buf + 100, "abc", 3);
	assert_int_equal(buf[99], 0x13);
	assert_int_equal(buf[103], 0x13);
	assert_int_equal(log_records(dir), 17);

	assert_int_equal(wal_table_checkpoint(t), 0);
	assert_int_equal(fault_hook_calls(&h, WAL_SYNC_DATAFILE), 1);
	assert_int_equal(log_records(dir), 0); /* truncated after the data file sync */
	fill_page(t, 5, 0xee);
	fill_page(t, 6, 0xdd);
	assert_int_equal(log_records(dir), 2);
	assert_int_equal(wal_table_close(t), 0);

	/* Reopen: data file (checkpointed pages) + log replay (pages 5 and 6). */
	struct wal_recovery rep;
	assert_int_equal(wal_table_open(dir, &o, &t, &rep), 0);
	assert_int_equal(rep.verdict, WAL_VERDICT_CLEAN);
	assert_int_equal(rep.records, 2);
	expect_page(t, 0, 0x10);
	expect_page(t, 15, 0x1f);
	expect_page(t, 5, 0xee);
	expect_page(t, 6, 0xdd);
	assert_int_equal(wal_table_read(t, 3, buf), 0);
	assert_memory_equal(buf + 100, "abc", 3);
	/* LSNs continue after the truncation. */
	uint64_t lsn = 0;
	assert_int_equal(wal_table_update(t, 0, 0, "z", 1, &lsn), 0);
	assert_int_equal(lsn, 20);
	assert_int_equal(wal_table_close(t), 0);
	scratch_free(dir);
}

static void bad_ranges_are_refused(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_table_options o;
	struct fault_hook h;
	struct wal_table *t = NULL;
	unsigned char buf[600];
	fault_hook_init(&h);
	table_options(&o, &h, NULL);
	memset(buf, 1, sizeof(buf));
	assert_int_equal(wal_table_open(dir, &o, &t, NULL), 0);
	assert_int_equal(wal_table_update(t, 16, 0, buf, 1, NULL), -EINVAL);
	assert_int_equal(wal_table_update(t, 0, 500, buf, 13, NULL), -EINVAL);
	assert_int_equal(wal_table_update(t, 0, 0, buf, 513, NULL), -EINVAL);
	assert_int_equal(wal_table_read(t, 16, buf), -EINVAL);
	assert_int_equal(log_records(dir), 0);
	assert_int_equal(wal_table_close(t), 0);
	scratch_free(dir);
}

static void failed_checkpoint_sync_under_panic_keeps_the_log(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_table_options o;
	struct fault_hook h;
	struct log_capture log = {.lines = 0};
	struct wal_table *t = NULL;

	fault_hook_init(&h);
	table_options(&o, &h, &log);
	assert_int_equal(wal_table_open(dir, &o, &t, NULL), 0);
	fill_page(t, 1, 0xaa);
	fill_page(t, 2, 0xbb);
	h.target = WAL_SYNC_DATAFILE;
	h.fail_from = 1;
	h.fail_count = 1;
	assert_int_equal(wal_table_checkpoint(t), -EIO);
	assert_int_equal(wal_error(wal_table_log(t)), -EIO);
	assert_int_equal(log_records(dir), 2); /* the log still holds the updates */
	unsigned char b = 1;
	assert_int_equal(wal_table_update(t, 3, 0, &b, 1, NULL), WAL_ESHUTDOWN);
	assert_int_equal(wal_table_checkpoint(t), WAL_ESHUTDOWN);
	assert_int_equal(wal_table_close(t), WAL_ESHUTDOWN);

	/* The caller's duty: reopen and recover. Both updates come back from the log. */
	h.fail_from = 0;
	assert_int_equal(wal_table_open(dir, &o, &t, NULL), 0);
	expect_page(t, 1, 0xaa);
	expect_page(t, 2, 0xbb);
	assert_int_equal(wal_table_checkpoint(t), 0);
	assert_int_equal(wal_table_close(t), 0);
	scratch_free(dir);
}

static void failed_checkpoint_sync_under_retry_drops_the_log(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_table_options o;
	struct fault_hook h;
	struct log_capture log = {.lines = 0};
	struct wal_table *t = NULL;

	fault_hook_init(&h);
	table_options(&o, &h, &log);
	o.wal.error_policy = WAL_ERROR_RETRY;
	assert_int_equal(wal_table_open(dir, &o, &t, NULL), 0);
	fill_page(t, 1, 0xaa);
	h.target = WAL_SYNC_DATAFILE;
	h.fail_from = 1;
	h.fail_count = 1; /* the retry "succeeds" */
	assert_int_equal(wal_table_checkpoint(t), 0);
	assert_int_equal(fault_hook_calls(&h, WAL_SYNC_DATAFILE), 2);
	assert_int_equal(wal_error(wal_table_log(t)), 0);
	/* fsyncgate: the only copy of the update is now the data file whose sync failed. */
	assert_int_equal(log_records(dir), 0);
	assert_non_null(strstr(log.last, "fsyncgate"));
	assert_int_equal(wal_table_close(t), 0);
	scratch_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(checkpoint_then_recovery),
	    cmocka_unit_test(bad_ranges_are_refused),
	    cmocka_unit_test(failed_checkpoint_sync_under_panic_keeps_the_log),
	    cmocka_unit_test(failed_checkpoint_sync_under_retry_drops_the_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
