/*
 * test_errseq.c — errseq semantics as Linux >= 4.13 has them (what xfstests generic/441 and
 * generic/487 check on real kernels), and the pre-4.13 legacy mode.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "errseq.h"

/* Every cursor sampled before an error sees it once, then 0. */
static void test_every_open_file_sees_error_once(void **state)
{
	errseq_t e = 0;
	uint32_t f1, f2, f3;

	(void)state;
	f1 = errseq_sample(&e);
	f2 = errseq_sample(&e);
	f3 = errseq_sample(&e);
	assert_int_equal(errseq_check_and_advance(&e, &f1), 0);
	errseq_set(&e, -EIO);
	assert_int_equal(errseq_check_and_advance(&e, &f1), -EIO);
	assert_int_equal(errseq_check_and_advance(&e, &f1), 0);
	assert_int_equal(errseq_check_and_advance(&e, &f2), -EIO);
	assert_int_equal(errseq_check_and_advance(&e, &f3), -EIO);
	assert_int_equal(errseq_check_and_advance(&e, &f2), 0);
	assert_int_equal(errseq_check_and_advance(&e, &f3), 0);
}

/* A file opened after an unseen error still sees it (generic/487); after it is seen, not. */
static void test_unseen_error_reaches_new_opener(void **state)
{
	errseq_t e = 0;
	uint32_t early, late, later;

	(void)state;
	early = errseq_sample(&e);
	errseq_set(&e, -EIO);
	late = errseq_sample(&e);
	assert_int_equal(errseq_check_and_advance(&e, &late), -EIO);
	later = errseq_sample(&e);
	assert_int_equal(errseq_check_and_advance(&e, &later), 0);
	assert_int_equal(errseq_check_and_advance(&e, &early), -EIO);
}

/* A second error after the first was seen is reported again, with its own errno. */
static void test_new_error_after_seen_is_reported(void **state)
{
	errseq_t e = 0;
	uint32_t f = errseq_sample(&e);

	(void)state;
	errseq_set(&e, -EIO);
	assert_int_equal(errseq_check_and_advance(&e, &f), -EIO);
	errseq_set(&e, -ENOSPC);
	assert_int_equal(errseq_check(&e, f), -ENOSPC);
	assert_int_equal(errseq_check_and_advance(&e, &f), -ENOSPC);
	assert_int_equal(errseq_check_and_advance(&e, &f), 0);
}

/* Two errors before anyone looked: the latest errno is reported, once. */
static void test_unseen_errors_collapse(void **state)
{
	errseq_t e = 0;
	uint32_t f = errseq_sample(&e);

	(void)state;
	errseq_set(&e, -EIO);
	errseq_set(&e, -ENOSPC);
	assert_int_equal(errseq_check_and_advance(&e, &f), -ENOSPC);
	assert_int_equal(errseq_check_and_advance(&e, &f), 0);
}

/* Bad values are ignored: errseq_set(0) and positive numbers do not record anything. */
static void test_invalid_errno_is_ignored(void **state)
{
	errseq_t e = 0;
	uint32_t f = errseq_sample(&e);

	(void)state;
	assert_int_equal(errseq_set(&e, 0), 0);
	assert_int_equal(errseq_set(&e, EIO), 0);
	assert_int_equal(errseq_set(&e, -5000), 0);
	assert_int_equal(errseq_check_and_advance(&e, &f), 0);
}

/* Legacy (pre-4.13): the first caller consumes the error, the others see nothing. */
static void test_legacy_first_caller_consumes(void **state)
{
	errseq_legacy_t flag = 0;

	(void)state;
	assert_int_equal(errseq_legacy_test_and_clear(&flag), 0);
	errseq_legacy_set(&flag, -EIO);
	assert_int_equal(errseq_legacy_test_and_clear(&flag), -EIO);
	assert_int_equal(errseq_legacy_test_and_clear(&flag), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_open_file_sees_error_once),
	    cmocka_unit_test(test_unseen_error_reaches_new_opener),
	    cmocka_unit_test(test_new_error_after_seen_is_reported),
	    cmocka_unit_test(test_unseen_errors_collapse),
	    cmocka_unit_test(test_invalid_errno_is_ignored),
	    cmocka_unit_test(test_legacy_first_caller_consumes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
