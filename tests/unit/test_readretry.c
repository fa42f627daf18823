/*
 * test_readretry.c — unit tests of fusefs/readretry.c: which one-page READ requests are the
 * kernel's retries of a read the filesystem failed (in-order retries of a readahead run, a page
 * fault's retry by the same reader, the retry of a one-page read), and what makes them stale.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "readretry.h"

enum { A = 100, B = 200, C = 300 }; /* reader pids */

static void test_readahead_run_is_retried_in_order_by_anyone(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 0, 7, A);
	for (uint64_t p = 0; p < 5; p++)
		assert_true(read_retry_take(&rr, 1, p, p % 2 ? B : C));
	assert_true(read_retry_take(&rr, 1, 5, B));
	assert_false(read_retry_take(&rr, 1, 5, B)); /* retried once: the next read of 5 is a new one */
	assert_false(read_retry_take(&rr, 2, 6, A)); /* another file */
}

static void test_page_ahead_is_a_retry_only_for_the_same_reader(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 0, 7, A);
	for (uint64_t p = 0; p < 4; p++)
		assert_true(read_retry_take(&rr, 1, p, A));
	assert_false(read_retry_take(&rr, 1, 5, B)); /* another reader, out of order: a new read */
	assert_true(read_retry_take(&rr, 1, 5, A));  /* the same reader skipping ahead (page fault) */
	assert_true(read_retry_take(&rr, 1, 6, B));  /* and the run goes on after it */
	assert_false(read_retry_take(&rr, 1, 3, A)); /* behind the run's next page: already retried */
}

static void test_one_page_run_is_retried_once(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 5, 5, A);
	assert_true(read_retry_take(&rr, 1, 5, B));
	assert_false(read_retry_take(&rr, 1, 5, B));
	assert_false(read_retry_take(&rr, 1, 5, A));
}

static void test_failed_retry_keeps_the_rest_of_its_run(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 0, 31, A);
	for (uint64_t p = 0; p <= 5; p++)
		assert_true(read_retry_take(&rr, 1, p, A));
	read_retry_expect(&rr, 1, 5, 5, A); /* the retry of 5 failed: it stays !uptodate */
	assert_true(read_retry_take(&rr, 1, 5, C));
	assert_true(read_retry_take(&rr, 1, 6, C));
}

static void test_new_readahead_makes_overlapping_runs_stale(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	read_retry_expect(&rr, 1, 0, 7, A);
	read_retry_expect(&rr, 1, 20, 20, A);
	read_retry_expect(&rr, 2, 0, 7, A);
	read_retry_forget(&rr, 1, 4, 11);
	assert_false(read_retry_take(&rr, 1, 0, A));
	assert_true(read_retry_take(&rr, 1, 20, B));
	assert_true(read_retry_take(&rr, 2, 0, B));
	/* a new failed readahead replaces the runs it overlaps */
	read_retry_expect(&rr, 2, 0, 3, A);
	read_retry_expect(&rr, 2, 2, 9, B);
	assert_false(read_retry_take(&rr, 2, 0, C));
	assert_true(read_retry_take(&rr, 2, 2, C));
}

static void test_table_is_bounded_least_recent_goes(void **state)
{
	(void)state;
	struct read_retry rr = READ_RETRY_INIT;
	for (uint64_t f = 1; f <= READ_RETRY_RUNS + 1; f++)
		read_retry_expect(&rr, f, 0, 1, A);
	assert_false(read_retry_take(&rr, 1, 0, A)); /* the oldest made way */
	for (uint64_t f = 2; f <= READ_RETRY_RUNS + 1; f++)
		assert_true(read_retry_take(&rr, f, 0, B));
	/* a run retried to its end is forgotten */
	assert_true(read_retry_take(&rr, 2, 1, B));
	assert_false(read_retry_take(&rr, 2, 1, B));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_readahead_run_is_retried_in_order_by_anyone),
	    cmocka_unit_test(test_page_ahead_is_a_retry_only_for_the_same_reader),
	    cmocka_unit_test(test_one_page_run_is_retried_once),
	    cmocka_unit_test(test_failed_retry_keeps_the_rest_of_its_run),
	    cmocka_unit_test(test_new_readahead_makes_overlapping_runs_stale),
	    cmocka_unit_test(test_table_is_bounded_least_recent_goes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
