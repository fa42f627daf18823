/*
 * test_checks.c — unit tests of the four checks (harness/checks.c): each check is fed observations
 * that must pass and observations that must fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "checks.h"

static struct report_scenario *fresh(void)
{
	struct report_scenario *s = report_scenario_new("t");
	assert_non_null(s);
	return s;
}

static void test_loss_counts_durable_and_window(void **state)
{
	(void)state;
	struct checks_ack acks[5] = {
	    {.lsn = 1, .t_ms = 10, .durable = true, .present = true},
	    {.lsn = 2, .t_ms = 20, .durable = true, .present = false},
	    {.lsn = 3, .t_ms = 30, .durable = false, .present = false},
	    {.lsn = 4, .t_ms = 40, .durable = false, .present = false},
	    {.lsn = 5, .t_ms = 45, .durable = false, .present = true},
	};
	struct checks_loss loss;
	checks_loss_measure(acks, 5, 50, &loss);
	assert_int_equal(loss.acked, 5);
	assert_int_equal(loss.lost, 3);
	assert_int_equal(loss.durable_lost, 1);
	assert_true(loss.window_ms > 29.9 && loss.window_ms < 30.1); /* 50 - 20 */
	assert_int_equal(loss.first_lost_lsn, 2);
	assert_int_equal(loss.last_lost_lsn, 4);

	for (size_t i = 0; i < 5; i++)
		acks[i].present = true;
	checks_loss_measure(acks, 5, 50, &loss);
	assert_int_equal(loss.lost, 0);
	assert_true(loss.window_ms == 0);
}

static void test_loss_window_bound_passes_and_fails(void **state)
{
	(void)state;
	struct report_scenario *s = fresh();
	struct checks_loss loss = {.acked = 100, .lost = 3, .window_ms = 6.0};
	assert_int_equal(checks_loss_window(s, &loss, 5.0, 1.5), 0); /* 6.0 <= 6.5 */
	assert_true(s->checks[0].passed);
	assert_int_equal(checks_loss_window(s, &loss, 5.0, 0.5), 0); /* 6.0 > 5.5 */
	assert_false(s->checks[1].passed);
	assert_non_null(strstr(s->checks[1].observed, "window 6.0 ms"));
	report_scenario_finish(s);
	assert_int_equal(s->verdict, REPORT_MISMATCHED);
	report_scenario_free(s);
}

static void test_panic_policy(void **state)
{
	(void)state;
	struct report_scenario *s = fresh();
	struct checks_panic_in in = {
	    .panic_policy = true, .sync_failed = true, .panicked = true, .recovered = true};
	assert_int_equal(checks_panic(s, &in), 0);
	assert_true(s->checks[0].passed);
	in.acks_after = 2; /* acknowledged after the failure: a broken panic */
	assert_int_equal(checks_panic(s, &in), 0);
	assert_false(s->checks[1].passed);
	in.acks_after = 0;
	in.durable_lost = 1; /* lost a durable record */
	assert_int_equal(checks_panic(s, &in), 0);
	assert_false(s->checks[2].passed);
	in.durable_lost = 0;
	in.panicked = false; /* kept going */
	assert_int_equal(checks_panic(s, &in), 0);
	assert_false(s->checks[3].passed);
	report_scenario_free(s);
}

static void test_retry_policy_names_the_loss(void **state)
{
	(void)state;
	struct report_scenario *s = fresh();
	struct checks_panic_in in = {.panic_policy = false,
	                             .sync_failed = true,
	                             .panicked = false,
	                             .acks_after = 5,
	                             .recovered = true,
	                             .durable_lost = 4,
	                             .first_lost_lsn = 7,
	                             .last_lost_lsn = 10};
	assert_int_equal(checks_panic(s, &in), 0);
	assert_true(s->checks[0].passed);
	assert_non_null(strstr(s->checks[0].observed, "4 durable lost (LSN 7..10)"));
	in.panicked = true; /* retry must not panic */
	assert_int_equal(checks_panic(s, &in), 0);
	assert_false(s->checks[1].passed);
	report_scenario_free(s);
}

static void test_checksum(void **state)
{
	(void)state;
	struct report_scenario *s = fresh();
	struct checks_checksum_in in = {.data_faults = 1, .reported = true};
	assert_int_equal(checks_checksum(s, &in), 0);
	assert_int_equal(s->n_checks, 2);
	assert_true(s->checks[0].passed && s->checks[1].passed);
	in.reported = false; /* injected damage went unnoticed */
	assert_int_equal(checks_checksum(s, &in), 0);
	assert_false(s->checks[3].passed);
	in.reported = true;
	in.bad_returned = 1; /* a damaged record handed out */
	assert_int_equal(checks_checksum(s, &in), 0);
	assert_false(s->checks[4].passed);
	in.bad_returned = 0;
	in.data_faults = 0; /* nothing injected: only the invariant */
	size_t before = s->n_checks;
	assert_int_equal(checks_checksum(s, &in), 0);
	assert_int_equal(s->n_checks, before + 1);
	in.data_faults = 2;
	in.reported = false;
	in.expectation_stated = true; /* the scenario says what recovery reports: no assumption */
	before = s->n_checks;
	assert_int_equal(checks_checksum(s, &in), 0);
	assert_int_equal(s->n_checks, before + 1);
	report_scenario_free(s);
}

static void test_read_classify(void **state)
{
	(void)state;
	uint8_t cur[16], prev[16], got[16], zero[16] = {0};
	memset(cur, 'B', sizeof(cur));
	memset(prev, 'A', sizeof(prev));
	memcpy(got, cur, 16);
	assert_int_equal(checks_read_classify(got, cur, prev, 16), CHECKS_READ_NEW);
	memcpy(got, prev, 16);
	assert_int_equal(checks_read_classify(got, cur, prev, 16), CHECKS_READ_OLD);
	assert_int_equal(checks_read_classify(zero, cur, prev, 16), CHECKS_READ_ZEROS);
	assert_int_equal(checks_read_classify(zero, cur, NULL, 16),
	                 CHECKS_READ_OLD); /* first write: old = zeros */
	got[3] ^= 1;
	assert_int_equal(checks_read_classify(got, cur, prev, 16), CHECKS_READ_OTHER);
	assert_string_equal(checks_read_class_name(CHECKS_READ_OLD), "old");
}

static void test_payload_verify_detects_any_flip(void **state)
{
	(void)state;
	uint8_t buf[100];
	uint64_t id = 0;
	checks_payload_fill(42, 777, buf, sizeof(buf));
	assert_true(checks_payload_verify(42, buf, sizeof(buf), &id));
	assert_int_equal(id, 777);
	assert_false(checks_payload_verify(43, buf, sizeof(buf), &id)); /* another seed */
	for (size_t i = 8; i < sizeof(buf); i += 13) {
		buf[i] ^= 0x10;
		assert_false(checks_payload_verify(42, buf, sizeof(buf), &id));
		buf[i] ^= 0x10;
	}
	buf[0] ^= 1; /* the id itself: claims another record, whose bytes differ */
	assert_false(checks_payload_verify(42, buf, sizeof(buf), &id));
	assert_false(checks_payload_verify(42, buf, 4, &id)); /* too short to carry an id */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loss_counts_durable_and_window),
	    cmocka_unit_test(test_loss_window_bound_passes_and_fails),
	    cmocka_unit_test(test_panic_policy),
	    cmocka_unit_test(test_retry_policy_names_the_loss),
	    cmocka_unit_test(test_checksum),
	    cmocka_unit_test(test_read_classify),
	    cmocka_unit_test(test_payload_verify_detects_any_flip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
