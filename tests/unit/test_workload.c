/*
 * test_workload.c — unit tests of the workload conversation's pieces that need no mount: the hex
 * form of data on the pipe, and the clock events are stamped with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

static void test_hex_round_trip(void **state)
{
	(void)state;
	uint8_t data[256];
	for (int i = 0; i < 256; i++)
		data[i] = (uint8_t)i;
	char *hex = workload_hex_encode(data, sizeof(data));
	assert_non_null(hex);
	assert_int_equal(strlen(hex), 512);
	assert_memory_equal(hex, "000102", 6);
	uint8_t *back = NULL;
	assert_int_equal(workload_hex_decode(hex, &back), 256);
	assert_memory_equal(back, data, sizeof(data));
	free(back);
	free(hex);
	assert_int_equal(workload_hex_decode("", &back), 0); /* empty data is data */
	free(back);
	assert_int_equal(workload_hex_decode("ABcd", &back), 2);
	assert_int_equal(back[0], 0xab);
	free(back);
}

static void test_hex_refuses_garbage(void **state)
{
	(void)state;
	uint8_t *back = (uint8_t *)"x";
	assert_int_equal(workload_hex_decode("abc", &back), -EINVAL); /* odd length */
	assert_null(back);
	assert_int_equal(workload_hex_decode("zz", &back), -EINVAL);
	assert_null(back);
}

static void test_clock_moves_forward(void **state)
{
	(void)state;
	int64_t t0 = workload_clock_ns();
	double a = workload_now_ms(t0);
	double b = workload_now_ms(t0);
	assert_true(a >= 0 && b >= a);
	assert_true(workload_now_ms(t0 - 2000000) >= 2.0); /* a t0 2 ms ago reads at least 2 ms */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hex_round_trip),
	    cmocka_unit_test(test_hex_refuses_garbage),
	    cmocka_unit_test(test_clock_moves_forward),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
