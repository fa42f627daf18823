/*
 * test_report.c — unit tests of the result model and the four report writers (text, JSON, JUnit,
 * HTML): each writer is fed a small hand-built run and its output is inspected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* sample_retry - a mismatched fsyncgate story with a loss, an awkward name and a reboot. */
static struct report_scenario *sample_retry(void)
{
	struct report_scenario *s = report_scenario_new("fsyncgate <retry> & \"loss\"");
	assert_non_null(s);
	assert_int_equal(report_set(&s->file, "scenarios/fsyncgate-retry.yaml"), 0);
	assert_int_equal(report_set(&s->teaches, "Retrying fsync after EIO reports success, but the page "
	                                         "was marked clean: the data is gone."),
	                 0);
	assert_int_equal(report_set(&s->profile, "ext4-ordered"), 0);
	assert_int_equal(report_set(&s->target, "table"), 0);
	assert_int_equal(report_set(&s->sync_policy, "always"), 0);
	assert_int_equal(report_set(&s->error_policy, "retry"), 0);
	assert_non_null(report_event_add(s, 0.5, REPORT_EV_WRITE, NULL, "update %d rows", 10));
	assert_non_null(report_event_add(s, 1.0, REPORT_EV_ACK, NULL, "ack lsn 1"));
	s->events[1].verbose = true;
	assert_non_null(report_event_add(s, 2.0, REPORT_EV_INJECT, "rule 1", "writeback EIO on *.dat"));
	assert_non_null(report_event_add(s, 3.0, REPORT_EV_ERROR, NULL, "checkpoint fsync → EIO"));
	assert_non_null(report_event_add(s, 4.0, REPORT_EV_FSYNC, NULL, "retry fsync → OK"));
	assert_non_null(report_event_add(s, 5.0, REPORT_EV_REBOOT, NULL, "power cut"));
	assert_non_null(report_event_add(s, 6.0, REPORT_EV_READ, NULL, "read → old data"));
	assert_int_equal(report_check_add(s, "loss", "0 acked lost", "3 acked lost", false), 0);
	s->m.acked = 10;
	s->m.lost = 3;
	s->m.rebooted = true;
	s->m.throughput = 1234.5;
	s->m.loss_window_ms = 2.5;
	s->duration_ms = 812;
	report_scenario_finish(s);
	return s;
}

/* sample_policy - a matched scenario measuring a sync policy. */
static struct report_scenario *sample_policy(const char *name, const char *policy, double tp, int64_t lost)
{
	struct report_scenario *s = report_scenario_new(name);
	assert_non_null(s);
	assert_int_equal(report_set(&s->sync_policy, policy), 0);
	assert_int_equal(report_set(&s->target, "wal"), 0);
	assert_non_null(report_event_add(s, 1, REPORT_EV_WRITE, NULL, "append 100"));
	assert_int_equal(report_check_add(s, "loss", "lost ≤ 5 ms", "lost 1.2 ms", true), 0);
	s->m.acked = 100;
	s->m.lost = lost;
	s->m.throughput = tp;
	s->m.rebooted = true;
	report_scenario_finish(s);
	return s;
}

static void sample_run(struct report_run *run)
{
	memset(run, 0, sizeof(*run));
	run->seed = 42;
	run->jobs = 2;
	run->total_ms = 3210;
	assert_int_equal(report_run_add(run, sample_retry()), 0);
	assert_int_equal(report_run_add(run, sample_policy("os-cut", "os", 90000, 100)), 0);
	assert_int_equal(report_run_add(run, sample_policy("always-cut", "always", 500, 0)), 0);
	assert_int_equal(report_run_add(run, sample_policy("batch-cut", "batch:5ms", 20000, 7)), 0);
	struct report_scenario *faulted = sample_policy("faulted-cut", "always", 100, 5);
	faulted->m.fault_hits = 1; /* a fault's loss is not the policy's cost */
	assert_int_equal(report_run_add(run, faulted), 0);
	struct report_scenario *skip = report_scenario_new("needs-root");
	assert_non_null(skip);
	skip->verdict = REPORT_SKIPPED;
	assert_int_equal(report_set(&skip->error, "not root"), 0);
	assert_int_equal(report_run_add(run, skip), 0);
}

/* render - write RUN with OPS into a malloc'd string. */
static char *render(const struct report_writer_ops *ops, const struct report_run *run, int verbosity,
                    bool colour)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	struct report_sink sink = {.ops = ops, .out = f, .verbosity = verbosity, .colour = colour};
	assert_int_equal(report_write_all(&sink, run), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_verdict_settles_from_checks(void **state)
{
	(void)state;
	struct report_scenario *s = report_scenario_new("x");
	assert_non_null(s);
	report_scenario_finish(s);
	assert_int_equal(s->verdict, REPORT_ERROR); /* no check: nothing proved */
	s->verdict = REPORT_MATCHED;
	assert_int_equal(report_check_add(s, "panic", "panic", "panic", true), 0);
	report_scenario_finish(s);
	assert_int_equal(s->verdict, REPORT_MATCHED);
	assert_int_equal(report_check_add(s, "loss", "0", "4", false), 0);
	report_scenario_finish(s);
	assert_int_equal(s->verdict, REPORT_MISMATCHED);
	assert_non_null(strstr(s->error, "loss: expected 0, observed 4"));
	s->verdict = REPORT_SKIPPED;
	report_scenario_finish(s);
	assert_int_equal(s->verdict, REPORT_SKIPPED);
	report_scenario_free(s);
}

static void test_policy_rows_ordered_safe_to_fast(void **state)
{
	(void)state;
	struct report_run run;
	sample_run(&run);
	struct report_policy_row *rows;
	int n = report_policy_rows(&run, &rows);
	assert_int_equal(n, 4); /* the skipped one measured nothing, the faulted one is left out */
	assert_string_equal(rows[0].s->name, "always-cut");
	assert_string_equal(rows[1].s->sync_policy, "always");
	assert_string_equal(rows[2].s->sync_policy, "batch:5ms");
	assert_string_equal(rows[3].s->sync_policy, "os");
	free(rows);
	report_run_free(&run);
}

static void test_text_narrates_and_summarises(void **state)
{
	(void)state;
	struct report_run run;
	sample_run(&run);
	char *out = render(&report_text_ops, &run, 0, false);
	assert_non_null(strstr(out, "checkpoint fsync → EIO"));
	assert_non_null(strstr(out, "power cut"));
	assert_null(strstr(out, "ack lsn 1")); /* verbose events only with -v */
	assert_non_null(strstr(out, "MISMATCHED"));
	assert_non_null(strstr(out, "✗ check loss: expected 0 acked lost, observed 3 acked lost"));
	assert_non_null(strstr(out, "6 scenarios: 4 matched, 1 mismatched, 0 error, 1 skipped"));
	assert_non_null(strstr(out, "total 3.2 s"));
	assert_non_null(strstr(out, "policy trade-off"));
	assert_null(strchr(out, '\033')); /* no colour unless asked */
	free(out);

	out = render(&report_text_ops, &run, 1, true);
	assert_non_null(strstr(out, "ack lsn 1"));
	assert_non_null(strstr(out, "rule 1")); /* detail */
	assert_non_null(strchr(out, '\033'));
	free(out);

	out = render(&report_text_ops, &run, -1, false);
	assert_null(strstr(out, "power cut")); /* -q: summary only */
	assert_non_null(strstr(out, "needs-root"));
	assert_non_null(strstr(out, "↳ not root")); /* why it did not match, even with -q */
	free(out);
	report_run_free(&run);
}

static void test_json_round_trips(void **state)
{
	(void)state;
	struct report_run run;
	sample_run(&run);
	char *out = render(&report_json_ops, &run, 0, false);
	json_error_t jerr;
	json_t *doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "summary"), "mismatched")),
	                 1);
	assert_int_equal(json_integer_value(json_object_get(doc, "seed")), 42);
	assert_int_equal(json_array_size(json_object_get(doc, "policies")), 4);
	json_t *first = json_array_get(json_object_get(doc, "scenarios"), 0);
	assert_true(json_is_null(json_object_get(json_object_get(first, "measures"), "fsyncs")));

	char err[128];
	struct report_scenario *back = report_scenario_from_json(first, err, sizeof(err));
	assert_non_null(back);
	const struct report_scenario *orig = run.scenarios[0];
	assert_string_equal(back->name, orig->name);
	assert_string_equal(back->teaches, orig->teaches);
	assert_int_equal(back->verdict, REPORT_MISMATCHED);
	assert_int_equal(back->n_events, orig->n_events);
	assert_true(back->events[1].verbose);
	assert_true(back->events[3].bad);
	assert_string_equal(back->events[2].detail, "rule 1");
	assert_int_equal(back->n_checks, 1);
	assert_false(back->checks[0].passed);
	assert_int_equal(back->m.lost, 3);
	assert_int_equal(back->m.fsyncs, -1);
	assert_true(back->m.loss_window_ms > 2.49 && back->m.loss_window_ms < 2.51);
	assert_true(back->m.rebooted);
	report_scenario_free(back);

	/* a malformed object is refused with a reason */
	json_object_set_new(first, "verdict", json_string("maybe"));
	assert_null(report_scenario_from_json(first, err, sizeof(err)));
	assert_non_null(strstr(err, "verdict"));
	json_decref(doc);
	free(out);
	report_run_free(&run);
}

static void test_junit_counts_and_escapes(void **state)
{
	(void)state;
	struct report_run run;
	sample_run(&run);
	char *out = render(&report_junit_ops, &run, 0, false);
	assert_non_null(strstr(
	    out, "<testsuites name=\"fsynclab\" tests=\"6\" failures=\"1\" errors=\"0\" skipped=\"1\""));
	assert_non_null(strstr(out, "name=\"fsyncgate &lt;retry&gt; &amp; &quot;loss&quot;\""));
	assert_non_null(
	    strstr(out, "<failure message=\"loss: expected 0 acked lost, observed 3 acked lost\""));
	assert_non_null(strstr(out, "<skipped message=\"not root\""));
	assert_non_null(strstr(out, "<system-out>"));
	assert_null(strstr(out, "<retry>")); /* never raw */
	free(out);
	report_run_free(&run);
}

static void test_html_self_contained_with_svg(void **state)
{
	(void)state;
	struct report_run run;
	sample_run(&run);
	char *out = render(&report_html_ops, &run, 0, false);
	assert_non_null(strstr(out, "<!DOCTYPE html>"));
	assert_non_null(strstr(out, "<svg class=\"timeline\""));
	assert_non_null(strstr(out, "stroke-dasharray")); /* the reboot line */
	assert_non_null(strstr(out, "checkpoint fsync → EIO"));
	assert_non_null(strstr(out, "id=\"policy-table\""));
	assert_non_null(strstr(out, "fsyncgate &lt;retry&gt; &amp; &quot;loss&quot;"));
	/* the policy table reads from safe to fast */
	char *a = strstr(out, "<td>always</td>"), *b = strstr(out, "<td>batch:5ms</td>"),
	     *o = strstr(out, "<td>os</td>");
	assert_true(a && b && o && a < b && b < o);
	/* no network fetch: no script, stylesheet link, image or URL other than the SVG namespace */
	assert_null(strstr(out, "<script"));
	assert_null(strstr(out, "<link"));
	assert_null(strstr(out, "<img"));
	assert_null(strstr(out, "url("));
	for (char *p = strstr(out, "http"); p; p = strstr(p + 1, "http"))
		assert_int_equal(strncmp(p, "http://www.w3.org/2000/svg", 26), 0);
	assert_null(strstr(out, "ack lsn 1")); /* verbose events stay out of the picture */
	free(out);
	report_run_free(&run);
}

static void test_writers_report_a_full_disk(void **state)
{
	(void)state;
	struct report_run run;
	sample_run(&run);
	const struct report_writer_ops *all[] = {&report_text_ops, &report_json_ops, &report_junit_ops,
	                                         &report_html_ops};
	for (size_t i = 0; i < 4; i++) {
		FILE *f = fopen("/dev/full", "w");
		assert_non_null(f);
		struct report_sink sink = {.ops = all[i], .out = f};
		assert_int_not_equal(report_write_all(&sink, &run), 0);
		fclose(f); /* the write error was already reported */
	}
	report_run_free(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verdict_settles_from_checks),
	    cmocka_unit_test(test_policy_rows_ordered_safe_to_fast),
	    cmocka_unit_test(test_text_narrates_and_summarises),
	    cmocka_unit_test(test_json_round_trips),
	    cmocka_unit_test(test_junit_counts_and_escapes),
	    cmocka_unit_test(test_html_self_contained_with_svg),
	    cmocka_unit_test(test_writers_report_a_full_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
