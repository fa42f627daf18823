/*
 * test_pagecache.c — the emulated page cache's state machine on a real temporary backing file:
 * writes stay in memory until writeback, a failed writeback leaves the page in the profile's
 * state and the error on errseq, a power cut drops everything, data effects persist exactly
 * what they say.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "effects.h"
#include "faults.h"
#include "pagecache.h"

#define BS 4096

struct fixture {
	char path[64];
	int fd;
	struct fault_table *faults;
	struct pagecache pc;
	struct pagecache_inode pi;
};

static struct fixture *fixture_new(const char *profile, bool legacy)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pagecache_config cfg = {.block_size = BS, .legacy_errors = legacy, .dirty_limit = 1u << 30};

	assert_non_null(f);
	strcpy(f->path, "/tmp/test_pagecache.XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	f->faults = fault_table_new(BS);
	assert_non_null(f->faults);
	cfg.faults = f->faults;
	cfg.profile = profile_find(profile);
	assert_non_null(cfg.profile);
	assert_int_equal(pagecache_init(&f->pc, &cfg), 0);
	assert_int_equal(pagecache_inode_init(&f->pi), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	pagecache_inode_fini(&f->pc, &f->pi);
	pagecache_fini(&f->pc);
	fault_table_free(f->faults);
	assert_int_equal(close(f->fd), 0);
	assert_int_equal(unlink(f->path), 0);
	free(f);
}

static void add_rule(struct fixture *f, const char *json)
{
	char err[256];
	json_error_t jerr;
	json_t *rule = json_loads(json, 0, &jerr);

	assert_non_null(rule);
	assert_true(fault_table_add_json(f->faults, rule, err, sizeof(err)) > 0);
	json_decref(rule);
}

static void fill(char *buf, char c, size_t n)
{
	memset(buf, c, n);
}

/* The backing file's byte at OFF (or -1 past its end). */
static int disk_byte(struct fixture *f, off_t off)
{
	unsigned char c;
	ssize_t n = pread(f->fd, &c, 1, off);

	assert_true(n >= 0);
	return n == 1 ? c : -1;
}

static off_t disk_size(struct fixture *f)
{
	struct stat st;

	assert_int_equal(fstat(f->fd, &st), 0);
	return st.st_size;
}

/* Write one block of C at block IDX through the cache. */
static void cache_write_block(struct fixture *f, uint64_t idx, char c)
{
	char buf[BS];

	fill(buf, c, BS);
	assert_int_equal(pagecache_write(&f->pc, &f->pi, f->fd, buf, BS, idx * BS), BS);
}

/* The cached view's byte at OFF. */
static int cache_byte(struct fixture *f, uint64_t off)
{
	unsigned char c;
	ssize_t n = pagecache_read(&f->pc, &f->pi, f->fd, &c, 1, off);

	assert_true(n >= 0);
	return n == 1 ? c : -1;
}

/* Put block IDX of C on disk directly (the durable old data). */
static void disk_write_block(struct fixture *f, uint64_t idx, char c)
{
	char buf[BS];

	fill(buf, c, BS);
	assert_int_equal(pwrite(f->fd, buf, BS, (off_t)(idx * BS)), BS);
}

static void test_write_stays_in_memory_until_writeback(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	struct pagecache_wb_result res;
	struct timespec mtime;
	struct stat st;

	(void)state;
	cache_write_block(f, 0, 'N');
	assert_int_equal(disk_size(f), 0);
	assert_int_equal(cache_byte(f, 0), 'N');
	assert_int_equal(pagecache_size(&f->pi, 0), BS);
	assert_true(pagecache_has_dirty(&f->pi, pagecache_now_ns(), 0));
	assert_true(pagecache_mtime(&f->pi, &mtime));
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", &res), 0);
	assert_int_equal(res.written, 1);
	assert_int_equal(disk_byte(f, 0), 'N');
	/* The write's time, not the writeback's, is the file's mtime on disk. */
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, mtime.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, mtime.tv_nsec);
	assert_false(pagecache_has_pages(&f->pi)); /* clean pages equal to disk are not kept */
	fixture_free(f);
}

static void test_power_cut_loses_unsynced_write(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);

	(void)state;
	disk_write_block(f, 0, 'O');
	cache_write_block(f, 0, 'N');
	assert_int_equal(cache_byte(f, 0), 'N');
	assert_true(pagecache_drop_all(&f->pc, &f->pi));
	assert_int_equal(cache_byte(f, 0), 'O');
	assert_int_equal(atomic_load(&f->pc.dirty_bytes), 0);
	fixture_free(f);
}

/* fsyncgate on ext4: EIO once, page kept clean with new data, disk old; the error once per file. */
static void test_ext4_failed_writeback_keeps_new_data_in_memory_only(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	struct pagecache_wb_result res;
	uint32_t a, b;

	(void)state;
	disk_write_block(f, 0, 'O');
	a = pagecache_file_sample(&f->pc, &f->pi);
	b = pagecache_file_sample(&f->pc, &f->pi);
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"errno\":\"EIO\",\"times\":1}");
	cache_write_block(f, 0, 'N');
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", &res), -EIO);
	assert_int_equal(res.failed, 1);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &a), -EIO);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &a), 0);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &b), -EIO);
	/* The retry writes nothing: the page is clean now. */
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", &res), 0);
	assert_int_equal(res.written, 0);
	assert_int_equal(cache_byte(f, 0), 'N');
	assert_int_equal(disk_byte(f, 0), 'O');
	pagecache_drop_all(&f->pc, &f->pi);
	assert_int_equal(cache_byte(f, 0), 'O');
	fixture_free(f);
}

static void test_keep_dirty_retry_succeeds(void **state)
{
	struct fixture *f = fixture_new("keep-dirty", false);
	uint32_t a;

	(void)state;
	disk_write_block(f, 0, 'O');
	a = pagecache_file_sample(&f->pc, &f->pi);
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"errno\":\"EIO\",\"times\":1}");
	cache_write_block(f, 0, 'N');
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), -EIO);
	assert_true(pagecache_has_dirty(&f->pi, pagecache_now_ns(), 0));
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &a), -EIO);
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &a), 0);
	assert_int_equal(disk_byte(f, 0), 'N');
	fixture_free(f);
}

static void test_btrfs_reverts_failed_page(void **state)
{
	struct fixture *f = fixture_new("btrfs", false);
	struct pagecache_wb_result res;

	(void)state;
	disk_write_block(f, 0, 'O');
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"errno\":\"EIO\",\"times\":1}");
	cache_write_block(f, 0, 'N');
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", &res), -EIO);
	assert_true(res.reverted);
	assert_int_equal(res.revert_start, 0);
	assert_int_equal(res.revert_end, BS);
	assert_int_equal(cache_byte(f, 0), 'O');
	fixture_free(f);
}

/* ext4 persists the size of a failed append (a block of zeros), btrfs does not. */
static void test_failed_append_size_per_profile(void **state)
{
	const char *profiles[] = {"ext4-ordered", "btrfs"};
	const off_t expect[] = {2 * BS, BS};

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct fixture *f = fixture_new(profiles[i], false);

		disk_write_block(f, 0, 'O');
		add_rule(f, "{\"op\":\"writeback\",\"block\":1,\"errno\":\"EIO\"}");
		cache_write_block(f, 1, 'N');
		assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), -EIO);
		assert_int_equal(disk_size(f), expect[i]);
		pagecache_drop_all(&f->pc, &f->pi);
		assert_int_equal(cache_byte(f, BS), i == 0 ? 0 : -1);
		fixture_free(f);
	}
}

static void test_ext4_data_reports_on_next_fsync(void **state)
{
	struct fixture *f = fixture_new("ext4-data", false);
	uint32_t a;

	(void)state;
	a = pagecache_file_sample(&f->pc, &f->pi);
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"errno\":\"EIO\",\"times\":1}");
	cache_write_block(f, 0, 'N');
	pagecache_fsync_begin(&f->pc, &f->pi);
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), -EIO);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &a), 0);
	pagecache_fsync_begin(&f->pc, &f->pi);
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &a), -EIO);
	fixture_free(f);
}

static void test_legacy_errors_first_caller_only(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", true);
	uint32_t a, b;

	(void)state;
	a = pagecache_file_sample(&f->pc, &f->pi);
	b = pagecache_file_sample(&f->pc, &f->pi);
	add_rule(f, "{\"op\":\"writeback\",\"errno\":\"EIO\",\"times\":1}");
	cache_write_block(f, 0, 'N');
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), -EIO);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &a), -EIO);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &b), 0);
	fixture_free(f);
}

static void test_torn_persists_a_prefix_of_sectors(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	int sectors_new = 0;

	(void)state;
	disk_write_block(f, 0, 'O');
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"effect\":\"torn\",\"times\":1}");
	cache_write_block(f, 0, 'N');
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(cache_byte(f, 0), 'N'); /* memory still has it all */
	for (int s = 0; s < BS / 512; s++) {
		int first = disk_byte(f, s * 512), last = disk_byte(f, s * 512 + 511);

		assert_int_equal(first, last); /* sectors are atomic */
		if (first == 'N') {
			assert_int_equal(sectors_new, s); /* a prefix */
			sectors_new++;
		}
	}
	assert_true(sectors_new >= 1 && sectors_new < BS / 512);
	pagecache_drop_all(&f->pc, &f->pi);
	assert_int_equal(cache_byte(f, BS - 1), 'O');
	fixture_free(f);
}

static void test_lost_persists_nothing_and_succeeds(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	uint32_t a;

	(void)state;
	disk_write_block(f, 0, 'O');
	a = pagecache_file_sample(&f->pc, &f->pi);
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"effect\":\"lost\"}");
	cache_write_block(f, 0, 'N');
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &a), 0);
	assert_int_equal(cache_byte(f, 0), 'N');
	assert_int_equal(disk_byte(f, 0), 'O');
	fixture_free(f);
}

static void test_corrupt_flips_one_byte_per_sector(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	unsigned char disk[BS];

	(void)state;
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"effect\":\"corrupt\"}");
	cache_write_block(f, 0, 'N');
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(pread(f->fd, disk, BS, 0), BS);
	for (int s = 0; s < BS / 512; s++) {
		int diff = 0;

		for (int i = 0; i < 512; i++)
			diff += disk[s * 512 + i] != 'N';
		assert_int_equal(diff, 1);
	}
	fixture_free(f);
}

static void test_misdirected_lands_on_neighbour(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);

	(void)state;
	disk_write_block(f, 0, 'A');
	disk_write_block(f, 1, 'B');
	add_rule(f, "{\"op\":\"writeback\",\"block\":1,\"effect\":\"misdirected\"}");
	cache_write_block(f, 1, 'N');
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(disk_byte(f, 0), 'N');
	assert_int_equal(disk_byte(f, BS), 'B');
	fixture_free(f);
}

/* Only the chosen block fails; its neighbours reach the disk in the same writeback. */
static void test_rule_on_one_block_spares_the_others(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	struct pagecache_wb_result res;

	(void)state;
	add_rule(f, "{\"op\":\"writeback\",\"block\":1,\"errno\":\"EIO\"}");
	for (int i = 0; i < 4; i++)
		cache_write_block(f, (uint64_t)i, (char)('a' + i));
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", &res), -EIO);
	assert_int_equal(res.written, 3);
	assert_int_equal(res.failed, 1);
	assert_int_equal(disk_byte(f, 0), 'a');
	assert_int_equal(disk_byte(f, BS), 0); /* ext4: size persisted, data not */
	assert_int_equal(disk_byte(f, 2 * BS), 'c');
	assert_int_equal(disk_byte(f, 3 * BS), 'd');
	fixture_free(f);
}

static void test_partial_write_merges_with_disk(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	char buf[BS * 2];

	(void)state;
	disk_write_block(f, 0, 'A');
	disk_write_block(f, 1, 'A');
	assert_int_equal(pagecache_write(&f->pc, &f->pi, f->fd, "XY", 2, BS - 1), 2);
	assert_int_equal(pagecache_read(&f->pc, &f->pi, f->fd, buf, sizeof(buf), 0), 2 * BS);
	assert_int_equal(buf[BS - 2], 'A');
	assert_int_equal(buf[BS - 1], 'X');
	assert_int_equal(buf[BS], 'Y');
	assert_int_equal(buf[BS + 1], 'A');
	/* Writing the end of a short file: the size grows, nothing on disk yet. */
	assert_int_equal(pagecache_write(&f->pc, &f->pi, f->fd, "Z", 1, 3 * BS), 1);
	assert_int_equal(pagecache_size(&f->pi, (uint64_t)disk_size(f)), 3 * BS + 1);
	assert_int_equal(cache_byte(f, 2 * BS + 5), 0);
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(disk_size(f), 3 * BS + 1);
	assert_int_equal(disk_byte(f, BS), 'Y');
	fixture_free(f);
}

/* A stat that read the backing file's size just before a writeback finished: that writeback grew the
 * disk to the cached size and stopped caching it, so the size read before is stale. The size must
 * still be the one applications wrote (a short size made the kernel shrink i_size: reads hit EOF). */
static void test_size_after_writeback_race(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);

	(void)state;
	assert_int_equal(pagecache_write(&f->pc, &f->pi, f->fd, "Z", 1, 3 * BS), 1);
	uint64_t stale = (uint64_t)disk_size(f); /* the stat's fstat, before the writeback */
	assert_int_equal(stale, 0);
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(disk_size(f), 3 * BS + 1);
	assert_int_equal(pagecache_size_fd(&f->pi, f->fd, stale), 3 * BS + 1);
	/* While the size is cached, the larger of the two wins, as pagecache_size() does. */
	assert_int_equal(pagecache_write(&f->pc, &f->pi, f->fd, "Z", 1, 5 * BS), 1);
	assert_int_equal(pagecache_size_fd(&f->pi, f->fd, (uint64_t)disk_size(f)), 5 * BS + 1);
	fixture_free(f);
}

static void test_truncate_drops_pages_past_the_end(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);

	(void)state;
	cache_write_block(f, 0, 'a');
	cache_write_block(f, 1, 'b');
	assert_int_equal(ftruncate(f->fd, 100), 0);
	pagecache_truncate(&f->pc, &f->pi, 100);
	assert_int_equal(atomic_load(&f->pc.dirty_bytes), BS);
	assert_int_equal(cache_byte(f, 99), 'a');
	assert_int_equal(cache_byte(f, 100), -1);
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(disk_size(f), 100);
	fixture_free(f);
}

static void test_status_lists_dirty_and_failed_pages(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	json_t *st;

	(void)state;
	assert_null(pagecache_inode_status_json(&f->pi, 0));
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"errno\":\"EIO\"}");
	cache_write_block(f, 0, 'a');
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), -EIO);
	cache_write_block(f, 2, 'c');
	st = pagecache_inode_status_json(&f->pi, 0);
	assert_non_null(st);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(st, "failed_pages"), 0)), 0);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(st, "dirty_pages"), 0)), 2);
	assert_int_equal(json_integer_value(json_object_get(st, "size")), 3 * BS);
	json_decref(st);
	st = pagecache_errors_json(&f->pc);
	assert_int_equal(json_array_size(st), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(st, 0), "errno")), "EIO");
	json_decref(st);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_stays_in_memory_until_writeback),
	    cmocka_unit_test(test_power_cut_loses_unsynced_write),
	    cmocka_unit_test(test_ext4_failed_writeback_keeps_new_data_in_memory_only),
	    cmocka_unit_test(test_keep_dirty_retry_succeeds),
	    cmocka_unit_test(test_btrfs_reverts_failed_page),
	    cmocka_unit_test(test_failed_append_size_per_profile),
	    cmocka_unit_test(test_ext4_data_reports_on_next_fsync),
	    cmocka_unit_test(test_legacy_errors_first_caller_only),
	    cmocka_unit_test(test_torn_persists_a_prefix_of_sectors),
	    cmocka_unit_test(test_lost_persists_nothing_and_succeeds),
	    cmocka_unit_test(test_corrupt_flips_one_byte_per_sector),
	    cmocka_unit_test(test_misdirected_lands_on_neighbour),
	    cmocka_unit_test(test_rule_on_one_block_spares_the_others),
	    cmocka_unit_test(test_partial_write_merges_with_disk),
	    cmocka_unit_test(test_size_after_writeback_race),
	    cmocka_unit_test(test_truncate_drops_pages_past_the_end),
	    cmocka_unit_test(test_status_lists_dirty_and_failed_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
