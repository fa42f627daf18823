/*
 * test_shard.c — `--shard I/N` parses strictly, and the N shards split any list into disjoint
 * slices that cover it exactly once and differ in size by at most one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shard.h"

static void shard_parses_i_of_n(void **state)
{
	(void)state;
	struct shard s = {0, 0};
	assert_int_equal(shard_parse("1/1", &s), 0);
	assert_int_equal(s.index, 1);
	assert_int_equal(s.count, 1);
	assert_int_equal(shard_parse("3/4", &s), 0);
	assert_int_equal(s.index, 3);
	assert_int_equal(s.count, 4);
}

static void shard_refuses_bad_spellings(void **state)
{
	(void)state;
	const char *bad[] = {"",     "2",    "0/4", "5/4", "1/0",  "a/b",  "1/4x",
	                     "-1/4", "1//4", "/4",  "1/",  " 1/4", "1/4 ", "1/1000001"};
	struct shard s = {7, 9};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(shard_parse(bad[i], &s), -EINVAL);
		assert_int_equal(s.index, 7); /* untouched on error */
		assert_int_equal(s.count, 9);
	}
}

static void shards_are_disjoint_and_cover_everything(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 7; n++) {
		for (size_t len = 0; len <= 30; len++) {
			size_t owners[31] = {0};
			size_t smallest = SIZE_MAX, largest = 0;
			for (unsigned i = 1; i <= n; i++) {
				struct shard s = {i, n};
				size_t size = 0;
				for (size_t pos = 0; pos < len; pos++)
					if (shard_owns(&s, pos)) {
						owners[pos]++;
						size++;
					}
				smallest = size < smallest ? size : smallest;
				largest = size > largest ? size : largest;
			}
			for (size_t pos = 0; pos < len; pos++)
				assert_int_equal(owners[pos], 1);
			assert_true(largest - smallest <= 1);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shard_parses_i_of_n),
	    cmocka_unit_test(shard_refuses_bad_spellings),
	    cmocka_unit_test(shards_are_disjoint_and_cover_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
