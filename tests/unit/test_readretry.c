/*
 * test_readretry.c — unit tests of fusefs/readretry.c: which one-page READ requests are the
 * kernel's retries of a read the filesystem failed (the pages of a failed readahead, each retried
 * once, in any order; the retry of a failed retry), and what makes them stale.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "readretry.h"

static void test_each_page_of_a_failed_run_is_retried_once(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 0, 7);
	for (uint64_t p = 0; p < 5; p++)
		assert_true(read_retry_take(&rr, 1, p));
	assert_false(read_retry_take(&rr, 1, 3)); /* retried: now up to date, a new read is readahead */
	assert_true(read_retry_take(&rr, 1, 7));  /* a page left behind, read later, out of order */
	assert_true(read_retry_take(&rr, 1, 5));
	assert_false(read_retry_take(&rr, 1, 8)); /* outside the run */
	assert_false(read_retry_take(&rr, 2, 6)); /* another file */
	assert_true(read_retry_take(&rr, 1, 6));
	assert_false(read_retry_take(&rr, 1, 6)); /* every page retried: the run is forgotten */
}

static void test_one_page_run_is_retried_once(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 5, 5);
	assert_true(read_retry_take(&rr, 1, 5));
	assert_false(read_retry_take(&rr, 1, 5));
}

static void test_failed_retry_is_expected_again_beside_its_run(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 0, 31);
	for (uint64_t p = 0; p <= 5; p++)
		assert_true(read_retry_take(&rr, 1, p));
	read_retry_expect(&rr, 1, 5, 5); /* the retry of 5 failed: it stays not up to date */
	assert_true(read_retry_take(&rr, 1, 5));
	assert_false(read_retry_take(&rr, 1, 5));
	assert_true(read_retry_take(&rr, 1, 6)); /* the rest of the run is still expected */
}

static void test_new_readahead_makes_overlapping_runs_stale(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 0, 7);
	read_retry_expect(&rr, 1, 20, 20);
	read_retry_expect(&rr, 2, 0, 7);
	read_retry_forget(&rr, 1, 4, 11);
	assert_false(read_retry_take(&rr, 1, 0));
	assert_true(read_retry_take(&rr, 1, 20));
	assert_true(read_retry_take(&rr, 2, 0));
	/* a new failed readahead replaces the runs it overlaps */
	read_retry_expect(&rr, 2, 0, 3);
	read_retry_expect(&rr, 2, 2, 9);
	assert_false(read_retry_take(&rr, 2, 0));
	assert_true(read_retry_take(&rr, 2, 2));
}

static void test_table_and_runs_are_bounded(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	for (uint64_t f = 1; f <= READ_RETRY_RUNS + 1; f++)
		read_retry_expect(&rr, f, 0, 1);
	assert_false(read_retry_take(&rr, 1, 0)); /* the least recently used made way */
	for (uint64_t f = 2; f <= READ_RETRY_RUNS + 1; f++)
		assert_true(read_retry_take(&rr, f, 0));
	/* a run longer than READ_RETRY_RUN_PAGES remembers its first pages only */
	read_retry_expect(&rr, 9, 0, 10 * READ_RETRY_RUN_PAGES);
	assert_true(read_retry_take(&rr, 9, READ_RETRY_RUN_PAGES - 1));
	assert_false(read_retry_take(&rr, 9, READ_RETRY_RUN_PAGES));
}

static void test_clear_forgets_every_run(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 0, 7);
	read_retry_expect(&rr, 2, 5, 5);
	read_retry_clear(&rr);
	assert_false(read_retry_take(&rr, 1, 3));
	assert_false(read_retry_take(&rr, 2, 5));
	read_retry_expect(&rr, 1, 0, 7);
	assert_true(read_retry_take(&rr, 1, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_page_of_a_failed_run_is_retried_once),
	    cmocka_unit_test(test_one_page_run_is_retried_once),
	    cmocka_unit_test(test_failed_retry_is_expected_again_beside_its_run),
	    cmocka_unit_test(test_new_readahead_makes_overlapping_runs_stale),
	    cmocka_unit_test(test_table_and_runs_are_bounded),
	    cmocka_unit_test(test_clear_forgets_every_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
