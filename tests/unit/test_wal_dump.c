/*
 * test_wal_dump.c — `fsynclab wal dump`: the JSON contract, the verdicts and exit codes, and bad
 * input (missing directory, not a log, truncated header, bad usage) giving a clear error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wal_test_util.h"
#include "commands.h"

#include <fcntl.h>
#include <jansson.h>

struct captured {
	int status;
	char *out;
	char *err;
};

static char *slurp_fd(int fd)
{
	off_t n = lseek(fd, 0, SEEK_END);
	assert_true(n >= 0);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)n, 0), (ssize_t)n);
	buf[n] = '\0';
	return buf;
}

/* run_wal - run cmd_wal(ARGV) with stdout and stderr captured into files. */
static struct captured run_wal(int argc, char **argv)
{
	struct captured c;
	char out_path[] = "/tmp/fsynclab-dump-out.XXXXXX", err_path[] = "/tmp/fsynclab-dump-err.XXXXXX";
	int out = mkstemp(out_path), err = mkstemp(err_path);
	assert_true(out >= 0 && err >= 0);
	unlink(out_path);
	unlink(err_path);
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(1), saved_err = dup(2);
	assert_true(saved_out >= 0 && saved_err >= 0);
	assert_true(dup2(out, 1) >= 0 && dup2(err, 2) >= 0);
	c.status = cmd_wal(argc, argv);
	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(saved_out, 1) >= 0 && dup2(saved_err, 2) >= 0);
	close(saved_out);
	close(saved_err);
	c.out = slurp_fd(out);
	c.err = slurp_fd(err);
	close(out);
	close(err);
	return c;
}

static void captured_free(struct captured *c)
{
	free(c->out);
	free(c->err);
}

static struct captured dump(const char *dir, int json)
{
	char *argv[] = {"wal", "dump", (char *)dir, "--json", NULL};
	return run_wal(json ? 4 : 3, argv);
}

static void make_log(const char *dir, int n)
{
	struct wal_options o;
	struct wal *w = NULL;
	wal_options_init(&o);
	o.sync_hook = nosync_hook;
	o.io = WAL_IO_WRITE;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	for (int i = 0; i < n; i++) {
		char rec[128];
		memset(rec, 'a' + i % 26, sizeof(rec));
		assert_int_equal(wal_append(w, rec, sizeof(rec), NULL), 0);
	}
	assert_int_equal(wal_close(w), 0);
}

static char *segment1(const char *dir)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/0000000000000001.wal", dir) > 0);
	return p;
}

static void corrupt_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char b;
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void json_contract_for_a_clean_log(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	make_log(dir, 3);
	struct captured c = dump(dir, 1);
	assert_int_equal(c.status, 0);
	json_error_t jerr;
	json_t *root = json_loads(c.out, 0, &jerr);
	assert_non_null(root);
	json_t *records = json_object_get(root, "records");
	assert_true(json_is_array(records));
	assert_int_equal(json_array_size(records), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_array_get(records, i);
		assert_int_equal(json_integer_value(json_object_get(r, "lsn")), (json_int_t)i + 1);
		assert_string_equal(json_string_value(json_object_get(r, "segment")), "0000000000000001.wal");
		assert_int_equal(json_integer_value(json_object_get(r, "offset")), 32 + 152 * (json_int_t)i);
		assert_int_equal(json_integer_value(json_object_get(r, "length")), 152);
		assert_true(json_is_true(json_object_get(r, "checksum_ok")));
	}
	assert_string_equal(json_string_value(json_object_get(root, "verdict")), "clean");
	assert_true(json_is_null(json_object_get(root, "at_lsn")));
	json_decref(root);
	captured_free(&c);

	c = dump(dir, 0);
	assert_int_equal(c.status, 0);
	assert_non_null(strstr(c.out, "verdict: clean (3 records, LSN 1..3)"));
	captured_free(&c);
	scratch_free(dir);
}

static void torn_tail_exits_zero_and_lists_the_bad_record(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	make_log(dir, 3);
	char *seg = segment1(dir);
	assert_int_equal(truncate(seg, 32 + 152 * 2 + 100), 0);
	struct captured c = dump(dir, 1);
	assert_int_equal(c.status, 0);
	json_error_t jerr;
	json_t *root = json_loads(c.out, 0, &jerr);
	assert_non_null(root);
	json_t *records = json_object_get(root, "records");
	assert_int_equal(json_array_size(records), 3);
	json_t *bad = json_array_get(records, 2);
	assert_true(json_is_false(json_object_get(bad, "checksum_ok")));
	assert_int_equal(json_integer_value(json_object_get(bad, "offset")), 32 + 152 * 2);
	assert_string_equal(json_string_value(json_object_get(root, "verdict")), "torn-tail");
	assert_int_equal(json_integer_value(json_object_get(root, "at_lsn")), 3);
	json_decref(root);
	captured_free(&c);
	free(seg);
	scratch_free(dir);
}

static void corruption_exits_nonzero_with_a_clear_message(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	make_log(dir, 4);
	char *seg = segment1(dir);
	corrupt_byte(seg, 32 + 152 + 60); /* inside record 2's payload */
	struct captured c = dump(dir, 1);
	assert_int_equal(c.status, 1);
	assert_non_null(strstr(c.out, "\"verdict\":\"corrupt\",\"at_lsn\":2}"));
	assert_non_null(strstr(c.err, "corruption"));
	assert_non_null(strstr(c.err, "LSN 2"));
	captured_free(&c);
	c = dump(dir, 0);
	assert_int_equal(c.status, 1);
	assert_non_null(strstr(c.out, "CORRUPT at LSN 2"));
	assert_non_null(strstr(c.out, "checksum BAD"));
	captured_free(&c);
	free(seg);
	scratch_free(dir);
}

static void bad_input_gives_a_clear_error(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	char *missing = NULL, *seg = segment1(dir), *file = NULL;
	struct captured c;
	assert_true(asprintf(&missing, "%s/no-such-dir", dir) > 0);

	c = dump(missing, 0); /* missing directory */
	assert_int_equal(c.status, 1);
	assert_non_null(strstr(c.err, missing));
	assert_non_null(strstr(c.err, "No such file or directory"));
	assert_string_equal(c.out, "");
	captured_free(&c);

	c = dump(dir, 1); /* an empty directory is not a log */
	assert_int_equal(c.status, 1);
	assert_non_null(strstr(c.err, "not a write-ahead log"));
	assert_string_equal(c.out, "");
	captured_free(&c);

	int fd = open(seg, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "FSYNCWAL", 8), 8); /* truncated header */
	close(fd);
	c = dump(dir, 1);
	assert_int_equal(c.status, 1);
	assert_non_null(strstr(c.err, "0000000000000001.wal: truncated segment header (8 of 32 bytes)"));
	assert_string_equal(c.out, "");
	captured_free(&c);

	fd = open(seg, O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\necho this is not a log segment\n", 41), 41);
	close(fd);
	c = dump(dir, 0);
	assert_int_equal(c.status, 1);
	assert_non_null(strstr(c.err, "not a log segment"));
	captured_free(&c);

	assert_true(asprintf(&file, "%s/plain", dir) > 0);
	fd = open(file, O_WRONLY | O_CREAT, 0644);
	close(fd);
	c = dump(file, 0); /* a file, not a directory */
	assert_int_equal(c.status, 1);
	assert_non_null(strstr(c.err, "Not a directory"));
	captured_free(&c);

	char *no_dir[] = {"wal", "dump", NULL};
	c = run_wal(2, no_dir);
	assert_int_equal(c.status, 2);
	assert_non_null(strstr(c.err, "missing DIR"));
	captured_free(&c);
	char *bad_opt[] = {"wal", "dump", dir, "--jsn", NULL};
	c = run_wal(4, bad_opt);
	assert_int_equal(c.status, 2);
	assert_non_null(strstr(c.err, "'--jsn'"));
	captured_free(&c);
	char *bad_sub[] = {"wal", "dupm", NULL};
	c = run_wal(2, bad_sub);
	assert_int_equal(c.status, 2);
	assert_non_null(strstr(c.err, "'dupm'"));
	captured_free(&c);

	free(file);
	free(missing);
	free(seg);
	scratch_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(json_contract_for_a_clean_log),
	    cmocka_unit_test(torn_tail_exits_zero_and_lists_the_bad_record),
	    cmocka_unit_test(corruption_exits_nonzero_with_a_clear_message),
	    cmocka_unit_test(bad_input_gives_a_clear_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
