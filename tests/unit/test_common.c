/*
 * test_common.c — durations and errno names parse as documented, and bad spellings are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "duration.h"
#include "errname.h"

static void duration_parses_every_unit(void **state)
{
	(void)state;
	int64_t ns = 0;
	assert_int_equal(duration_parse("5ms", 0, &ns), 0);
	assert_int_equal(ns, 5000000);
	assert_int_equal(duration_parse("250us", 0, &ns), 0);
	assert_int_equal(ns, 250000);
	assert_int_equal(duration_parse("1.5s", 0, &ns), 0);
	assert_int_equal(ns, 1500000000LL);
	assert_int_equal(duration_parse("2m", 0, &ns), 0);
	assert_int_equal(ns, 120000000000LL);
	assert_int_equal(duration_parse("7ns", 0, &ns), 0);
	assert_int_equal(ns, 7);
}

static void duration_refuses_bad_spellings(void **state)
{
	(void)state;
	int64_t ns = 0;
	assert_int_equal(duration_parse("5", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("-5ms", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("5 ms", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("5msx", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("never", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("never", 1, &ns), 0);
	assert_true(ns == DURATION_NEVER);
	assert_int_equal(duration_parse("99999999999m", 0, &ns), -ERANGE);
}

static void duration_formats_shortest_exact(void **state)
{
	(void)state;
	char buf[32];
	duration_format(5000000, buf, sizeof(buf));
	assert_string_equal(buf, "5ms");
	duration_format(1500000, buf, sizeof(buf));
	assert_string_equal(buf, "1500us");
	duration_format(DURATION_NEVER, buf, sizeof(buf));
	assert_string_equal(buf, "never");
}

static void errname_round_trips(void **state)
{
	(void)state;
	assert_int_equal(errname_parse("EIO"), EIO);
	assert_int_equal(errname_parse("enospc"), ENOSPC);
	assert_int_equal(errname_parse("EBOGUS"), -EINVAL);
	assert_string_equal(errname_str(EDQUOT), "EDQUOT");
	assert_string_equal(errname_str(EROFS), "EROFS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(duration_parses_every_unit),
	    cmocka_unit_test(duration_refuses_bad_spellings),
	    cmocka_unit_test(duration_formats_shortest_exact),
	    cmocka_unit_test(errname_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
