/*
 * test_pagecache.c — the emulated page cache's state machine on a real temporary backing file:
 * writes stay in memory until writeback, a failed writeback leaves the page in the profile's
 * state and the error on errseq, a power cut drops everything, data effects persist exactly
 * what they say. With threads: a page under writeback (its I/O held in flight by a `delay` rule)
 * makes writers wait, a power cut or fsync wait for it, and the background threshold wakes a
 * flusher instead of writing back on the writer's path.
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
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
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

static struct fixture *fixture_new_cfg(const char *profile, struct pagecache_config cfg)
{
	struct fixture *f = calloc(1, sizeof(*f));

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

static struct fixture *fixture_new(const char *profile, bool legacy)
{
	struct pagecache_config cfg = {.block_size = BS, .legacy_errors = legacy, .dirty_limit = 1u << 30};

	return fixture_new_cfg(profile, cfg);
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

/* ---- Writeback that runs outside the inode's lock ---- */

/* A writeback of the fixture's inode on its own thread (the flusher's, or another fsync's). */
struct wb_thread {
	pthread_t thread;
	struct fixture *f;
	int fd;
	int rc;
	struct pagecache_wb_result res;
};

static void *wb_thread_main(void *arg)
{
	struct wb_thread *w = arg;

	w->rc = pagecache_writeback_inode(&w->f->pc, &w->f->pi, w->fd, "f", &w->res);
	return NULL;
}

static void wb_thread_start(struct wb_thread *w, struct fixture *f, int fd)
{
	w->f = f;
	w->fd = fd;
	assert_int_equal(pthread_create(&w->thread, NULL, wb_thread_main, w), 0);
}

static void wb_thread_join(struct wb_thread *w)
{
	assert_int_equal(pthread_join(w->thread, NULL), 0);
}

/* Wait (up to 10 s) until N pages of the inode are under writeback. */
static void wait_under_writeback(struct fixture *f, size_t n)
{
	struct timespec ms = {.tv_nsec = 1000000};

	for (int i = 0; i < 10000 && pagecache_writeback_pages(&f->pi) < n; i++)
		nanosleep(&ms, NULL);
	assert_int_equal(pagecache_writeback_pages(&f->pi), n);
}

/*
 * Stable pages: a write to a page whose writeback is in flight waits for it (the disk gets the
 * data as it was when the writeback picked the page, never a mix), then dirties the page again
 * with the new data, which the next writeback persists.
 */
static void test_write_waits_for_page_under_writeback(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	struct wb_thread w;

	(void)state;
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"effect\":\"delay:300ms\",\"times\":1}");
	cache_write_block(f, 0, 'N');
	wb_thread_start(&w, f, f->fd);
	wait_under_writeback(f, 1);
	assert_int_equal(cache_byte(f, 0), 'N'); /* a read does not wait, and sees the page */
	cache_write_block(f, 0, 'M');            /* waits for the 300 ms writeback */
	assert_int_equal(pagecache_writeback_pages(&f->pi), 0);
	for (off_t off = 0; off < BS; off += 512)
		assert_int_equal(disk_byte(f, off), 'N');
	assert_int_equal(cache_byte(f, 0), 'M');
	assert_true(pagecache_has_dirty(&f->pi, pagecache_now_ns(), 0));
	assert_int_equal(atomic_load(&f->pc.dirty_bytes), BS);
	wb_thread_join(&w);
	assert_int_equal(w.rc, 0);
	assert_int_equal(w.res.written, 1);
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(disk_byte(f, BS - 1), 'M');
	assert_false(pagecache_has_pages(&f->pi));
	fixture_free(f);
}

/*
 * A power cut while a writeback is in flight: the page being written reaches the disk (the I/O
 * completes before the cut), the pages the writeback had not started on are lost, and nothing is
 * cached or counted afterwards.
 */
static void test_power_cut_during_writeback(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	struct wb_thread w;

	(void)state;
	for (uint64_t i = 0; i < 3; i++)
		disk_write_block(f, i, 'O');
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"effect\":\"delay:300ms\",\"times\":1}");
	for (uint64_t i = 0; i < 3; i++)
		cache_write_block(f, i, 'N');
	wb_thread_start(&w, f, f->fd);
	wait_under_writeback(f, 1); /* block 0 alone: its rule fired, blocks 1-2 come next */
	assert_true(pagecache_drop_all(&f->pc, &f->pi));
	assert_int_equal(disk_byte(f, 0), 'N');
	assert_int_equal(disk_byte(f, BS), 'O');
	assert_int_equal(disk_byte(f, 2 * BS), 'O');
	assert_false(pagecache_has_pages(&f->pi));
	assert_int_equal(atomic_load(&f->pc.dirty_bytes), 0);
	assert_int_equal(atomic_load(&f->pc.writeback_bytes), 0);
	wb_thread_join(&w);
	assert_int_equal(w.rc, 0);
	assert_int_equal(w.res.written, 1);
	assert_int_equal(cache_byte(f, BS), 'O');
	fixture_free(f);
}

/*
 * fsync while another writeback of the file is in flight: fsync's own writeback waits for it, so
 * a failure of that writeback (which started before the fsync) is on errseq when fsync checks.
 * The in-flight writeback fails for real: its descriptor is read-only (EBADF).
 */
static void test_fsync_reports_error_of_writeback_in_flight(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	struct wb_thread w;
	int rdonly = open(f->path, O_RDONLY);
	uint32_t since;

	(void)state;
	assert_true(rdonly >= 0);
	since = pagecache_file_sample(&f->pc, &f->pi);
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"effect\":\"delay:300ms\",\"times\":1}");
	cache_write_block(f, 0, 'N');
	wb_thread_start(&w, f, rdonly);
	wait_under_writeback(f, 1);
	/* The fsync: its writeback has nothing of its own to write, and waits. */
	pagecache_fsync_begin(&f->pc, &f->pi);
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", NULL), 0);
	assert_int_equal(pagecache_file_check(&f->pc, &f->pi, &since), -EBADF);
	wb_thread_join(&w);
	assert_int_equal(w.rc, -EBADF);
	assert_int_equal(w.res.failed, 1);
	assert_int_equal(cache_byte(f, 0), 'N'); /* ext4: FAILED, kept clean in memory */
	assert_int_equal(disk_size(f), 0);       /* nothing reached the disk */
	assert_false(pagecache_has_dirty(&f->pi, pagecache_now_ns(), 0));
	assert_int_equal(close(rdonly), 0);
	fixture_free(f);
}

/* Two writebacks of one file at once each take their own pages; all are written exactly once. */
static void test_concurrent_writebacks_share_the_pages(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	struct wb_thread w;
	struct pagecache_wb_result res;

	(void)state;
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"effect\":\"delay:200ms\",\"times\":1}");
	for (uint64_t i = 0; i < 8; i++)
		cache_write_block(f, i, (char)('a' + i));
	wb_thread_start(&w, f, f->fd);
	wait_under_writeback(f, 1);
	assert_int_equal(pagecache_writeback_inode(&f->pc, &f->pi, f->fd, "f", &res), 0);
	wb_thread_join(&w);
	assert_int_equal(w.res.written + res.written, 8);
	assert_int_equal(res.written, 7); /* the others, while block 0 was held up */
	for (uint64_t i = 0; i < 8; i++)
		assert_int_equal(disk_byte(f, (off_t)(i * BS)), 'a' + (int)i);
	assert_false(pagecache_has_pages(&f->pi));
	fixture_free(f);
}

/* A truncate blocks writeback around its change of the backing file: no late write extends it. */
static void test_truncate_waits_for_writeback_in_flight(void **state)
{
	struct fixture *f = fixture_new("ext4-ordered", false);
	struct wb_thread w;

	(void)state;
	add_rule(f, "{\"op\":\"writeback\",\"block\":1,\"effect\":\"delay:300ms\",\"times\":1}");
	cache_write_block(f, 0, 'a');
	cache_write_block(f, 1, 'b');
	cache_write_block(f, 2, 'c');
	wb_thread_start(&w, f, f->fd);
	wait_under_writeback(f, 2); /* blocks 0-1 in one batch (1 held up by its rule), block 2 next */
	pagecache_writeback_block(&f->pc, &f->pi);
	assert_int_equal(pagecache_writeback_pages(&f->pi), 0);
	assert_int_equal(ftruncate(f->fd, 100), 0);
	pagecache_truncate(&f->pc, &f->pi, 100);
	pagecache_writeback_unblock(&f->pc, &f->pi);
	wb_thread_join(&w);
	assert_int_equal(disk_size(f), 100);
	assert_int_equal(cache_byte(f, 99), 'a');
	assert_int_equal(cache_byte(f, 100), -1);
	assert_false(pagecache_has_dirty(&f->pi, pagecache_now_ns(), 0));
	fixture_free(f);
}

/* The background threshold's flusher: woken by a writer, it writes back on its own thread. */
struct bg_flusher {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wakes;       /* wake_background calls */
	bool go;         /* the test lets the flusher run */
	pthread_t waker; /* the thread that called wake_background */
};

static void bg_wake(void *arg)
{
	struct bg_flusher *b = arg;

	pthread_mutex_lock(&b->lock);
	b->wakes++;
	b->waker = pthread_self();
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

struct bg_thread {
	struct bg_flusher *b;
	struct fixture *f;
	int rc;
	unsigned written;
};

/* The flusher's loop, once: wait to be woken (and allowed), rearm, write back while over. */
static void *bg_thread_main(void *arg)
{
	struct bg_thread *t = arg;
	struct pagecache_wb_result res;

	pthread_mutex_lock(&t->b->lock);
	while (t->b->wakes == 0 || !t->b->go)
		pthread_cond_wait(&t->b->cond, &t->b->lock);
	pthread_mutex_unlock(&t->b->lock);
	pagecache_background_rearm(&t->f->pc);
	while (pagecache_over_background(&t->f->pc)) {
		t->rc = pagecache_writeback_inode(&t->f->pc, &t->f->pi, t->f->fd, "f", &res);
		if (t->rc < 0)
			break;
		t->written += res.written;
	}
	return NULL;
}

/*
 * Crossing the background threshold (4 pages here, limit 16) wakes the flusher from the writer's
 * write, once until it rearms; the write itself writes nothing back. The flusher's thread then
 * brings the dirty pages down, and the writer was never over the hard limit.
 */
static void test_background_threshold_wakes_flusher_off_the_writer_path(void **state)
{
	struct bg_flusher b = {.wakes = 0, .go = false};
	struct pagecache_config cfg = {.block_size = BS,
	                               .dirty_limit = 16 * BS,
	                               .dirty_background = 4 * BS,
	                               .wake_background = bg_wake,
	                               .wake_arg = &b};
	struct fixture *f;
	struct bg_thread t = {.b = &b};
	pthread_t thread;

	(void)state;
	assert_int_equal(pthread_mutex_init(&b.lock, NULL), 0);
	assert_int_equal(pthread_cond_init(&b.cond, NULL), 0);
	f = fixture_new_cfg("ext4-ordered", cfg);
	t.f = f;
	assert_int_equal(pthread_create(&thread, NULL, bg_thread_main, &t), 0);
	for (uint64_t i = 0; i < 4; i++)
		cache_write_block(f, i, 'x');
	assert_false(pagecache_over_background(&f->pc));
	assert_int_equal(b.wakes, 0);
	cache_write_block(f, 4, 'x'); /* 5 dirty pages > 4: the flusher is woken */
	cache_write_block(f, 5, 'x'); /* already woken: not again */
	pthread_mutex_lock(&b.lock);
	assert_int_equal(b.wakes, 1);
	assert_true(pthread_equal(b.waker, pthread_self()));
	pthread_mutex_unlock(&b.lock);
	assert_true(pagecache_over_background(&f->pc));
	assert_false(pagecache_over_limit(&f->pc));
	assert_int_equal(disk_size(f), 0); /* the writer wrote nothing back */
	pthread_mutex_lock(&b.lock);
	b.go = true;
	pthread_cond_broadcast(&b.cond);
	pthread_mutex_unlock(&b.lock);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(t.rc, 0);
	assert_int_equal(t.written, 6);
	assert_int_equal(disk_size(f), 6 * BS);
	assert_false(pagecache_over_background(&f->pc));
	/* Rearmed: the next crossing wakes it again. */
	for (uint64_t i = 6; i < 11; i++)
		cache_write_block(f, i, 'y');
	assert_int_equal(b.wakes, 2);
	fixture_free(f);
	pthread_cond_destroy(&b.cond);
	pthread_mutex_destroy(&b.lock);
}

/* Over the hard limit counts pages under writeback too (dirty + writeback, as the kernel does). */
static void test_hard_limit_counts_pages_under_writeback(void **state)
{
	struct pagecache_config cfg = {.block_size = BS, .dirty_limit = 2 * BS, .dirty_background = 8 * BS};
	struct fixture *f = fixture_new_cfg("ext4-ordered", cfg);
	struct wb_thread w;

	(void)state;
	add_rule(f, "{\"op\":\"writeback\",\"block\":0,\"effect\":\"delay:200ms\",\"times\":1}");
	cache_write_block(f, 0, 'a');
	wb_thread_start(&w, f, f->fd);
	wait_under_writeback(f, 1);
	cache_write_block(f, 1, 'b');
	cache_write_block(f, 2, 'c');
	assert_int_equal(atomic_load(&f->pc.dirty_bytes), 2 * BS); /* not over on dirty alone */
	assert_true(pagecache_over_limit(&f->pc));
	wb_thread_join(&w);
	assert_false(pagecache_over_limit(&f->pc));
	fixture_free(f);
}

/* A flusher that drains on every wake until stopped (for the writer throttle). */
struct drain_thread {
	struct bg_flusher *b;
	struct fixture *f;
	bool stop; /* protected by b->lock */
	int wakes_seen;
	int rc; /* the first writeback error */
};

static void *drain_thread_main(void *arg)
{
	struct drain_thread *t = arg;

	pthread_mutex_lock(&t->b->lock);
	for (;;) {
		while (!t->stop && t->b->wakes == t->wakes_seen)
			pthread_cond_wait(&t->b->cond, &t->b->lock);
		if (t->stop)
			break;
		t->wakes_seen = t->b->wakes;
		pthread_mutex_unlock(&t->b->lock);
		pagecache_background_rearm(&t->f->pc);
		if (!t->rc)
			t->rc = pagecache_writeback_inode(&t->f->pc, &t->f->pi, t->f->fd, "f", NULL);
		pthread_mutex_lock(&t->b->lock);
	}
	pthread_mutex_unlock(&t->b->lock);
	return NULL;
}

/*
 * The writer's throttle: under the dirty limit it returns at once; over it without a flusher it
 * says so (the caller writes back itself); over it with a flusher it wakes the flusher and waits
 * until the flusher's writeback brought the pages under the limit.
 */
static void test_balance_dirty_waits_for_the_flusher(void **state)
{
	struct bg_flusher b = {.wakes = 0};
	struct pagecache_config cfg = {.block_size = BS, .dirty_limit = 4 * BS, .dirty_background = 16 * BS};
	struct fixture *f;
	struct drain_thread t = {.b = &b};
	pthread_t thread;

	(void)state;
	assert_int_equal(pthread_mutex_init(&b.lock, NULL), 0);
	assert_int_equal(pthread_cond_init(&b.cond, NULL), 0);
	f = fixture_new_cfg("ext4-ordered", cfg);
	for (uint64_t i = 0; i < 4; i++)
		cache_write_block(f, i, 'x');
	assert_true(pagecache_balance_dirty(&f->pc)); /* at the limit, not over */
	cache_write_block(f, 4, 'x');
	assert_false(pagecache_balance_dirty(&f->pc)); /* over, and no flusher to wait for */
	assert_int_equal(disk_size(f), 0);

	f->pc.cfg.wake_background = bg_wake;
	f->pc.cfg.wake_arg = &b;
	t.f = f;
	assert_int_equal(pthread_create(&thread, NULL, drain_thread_main, &t), 0);
	assert_true(pagecache_balance_dirty(&f->pc)); /* wakes the flusher, waits for it */
	assert_false(pagecache_over_limit(&f->pc));
	assert_int_equal(disk_size(f), 5 * BS); /* written by the flusher's thread */
	assert_true(b.wakes >= 1);
	pthread_mutex_lock(&b.lock);
	t.stop = true;
	pthread_cond_broadcast(&b.cond);
	pthread_mutex_unlock(&b.lock);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(t.rc, 0);
	fixture_free(f);
	pthread_cond_destroy(&b.cond);
	pthread_mutex_destroy(&b.lock);
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
	    cmocka_unit_test(test_write_waits_for_page_under_writeback),
	    cmocka_unit_test(test_power_cut_during_writeback),
	    cmocka_unit_test(test_fsync_reports_error_of_writeback_in_flight),
	    cmocka_unit_test(test_concurrent_writebacks_share_the_pages),
	    cmocka_unit_test(test_truncate_waits_for_writeback_in_flight),
	    cmocka_unit_test(test_background_threshold_wakes_flusher_off_the_writer_path),
	    cmocka_unit_test(test_hard_limit_counts_pages_under_writeback),
	    cmocka_unit_test(test_balance_dirty_waits_for_the_flusher),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
