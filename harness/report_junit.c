/*
 * report_junit.c — JUnit XML (`fsynclab run --junit FILE`) for CI systems (GitLab, Jenkins,
 * GitHub test reporters).
 *
 * One <testsuite name="fsynclab"> with one <testcase> per scenario (classname "fsynclab.<target>",
 * name the scenario's name, time in seconds). MISMATCHED becomes <failure> whose message is the
 * first failed check and whose body lists every check; ERROR becomes <error>; SKIPPED <skipped>.
 * The timeline goes to <system-out>, so a CI page shows the story next to the verdict.
 */
#include "report.h"

#include <errno.h>

/* junit_case - one <testcase>. 0 or -EIO. */
static int junit_case(FILE *out, const struct report_scenario *s)
{
	int r = report_fprintf(out, "    <testcase classname=\"fsynclab.");
	if (r == 0)
		r = report_markup_escape(out, s->target ? s->target : "scenario");
	if (r == 0)
		r = report_fprintf(out, "\" name=\"");
	if (r == 0)
		r = report_markup_escape(out, s->name);
	if (r == 0)
		r = report_fprintf(out, "\" file=\"");
	if (r == 0)
		r = report_markup_escape(out, s->file);
	if (r == 0)
		r = report_fprintf(out, "\" time=\"%.3f\">\n", s->duration_ms / 1000.0);

	const char *tag = s->verdict == REPORT_MISMATCHED ? "failure"
	                  : s->verdict == REPORT_ERROR    ? "error"
	                  : s->verdict == REPORT_SKIPPED  ? "skipped"
	                                                  : NULL;
	if (r == 0 && tag) {
		r = report_fprintf(out, "      <%s message=\"", tag);
		if (r == 0)
			r = report_markup_escape(out, s->error ? s->error : report_verdict_name(s->verdict));
		if (r == 0)
			r = report_fprintf(out, "\" type=\"%s\">", report_verdict_name(s->verdict));
		for (size_t i = 0; r == 0 && i < s->n_checks; i++) {
			const struct report_check *c = &s->checks[i];
			char line[64];
			snprintf(line, sizeof(line), "%s check ", c->passed ? "ok" : "FAILED");
			r = report_markup_escape(out, line);
			if (r == 0)
				r = report_markup_escape(out, c->name);
			if (r == 0)
				r = report_markup_escape(out, ": expected ");
			if (r == 0)
				r = report_markup_escape(out, c->expected);
			if (r == 0)
				r = report_markup_escape(out, ", observed ");
			if (r == 0)
				r = report_markup_escape(out, c->observed);
			if (r == 0)
				r = report_markup_escape(out, "\n");
		}
		if (r == 0)
			r = report_fprintf(out, "</%s>\n", tag);
	}
	if (r == 0)
		r = report_fprintf(out, "      <system-out>");
	if (r == 0 && s->teaches) {
		r = report_markup_escape(out, s->teaches);
		if (r == 0)
			r = report_markup_escape(out, "\n\n");
	}
	for (size_t i = 0; r == 0 && i < s->n_events; i++) {
		const struct report_event *e = &s->events[i];
		char head[64];
		snprintf(head, sizeof(head), "%9.1f ms  %-7s ", e->t_ms, report_event_kind_name(e->kind));
		r = report_markup_escape(out, head);
		if (r == 0)
			r = report_markup_escape(out, e->text);
		if (r == 0 && e->detail) {
			r = report_markup_escape(out, " — ");
			if (r == 0)
				r = report_markup_escape(out, e->detail);
		}
		if (r == 0)
			r = report_markup_escape(out, "\n");
	}
	if (r == 0)
		r = report_fprintf(out, "</system-out>\n    </testcase>\n");
	return r;
}

/* junit_end - the whole document. 0 or -EIO. */
static int junit_end(struct report_sink *sink, const struct report_run *run)
{
	FILE *out = sink->out;
	size_t n = run->n_scenarios;
	size_t failures = report_run_count(run, REPORT_MISMATCHED),
	       errors = report_run_count(run, REPORT_ERROR), skipped = report_run_count(run, REPORT_SKIPPED);
	int r = report_fprintf(out,
	                       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                       "<testsuites name=\"fsynclab\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
	                       "skipped=\"%zu\" time=\"%.3f\">\n"
	                       "  <testsuite name=\"fsynclab\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
	                       "skipped=\"%zu\" time=\"%.3f\">\n"
	                       "    <properties><property name=\"seed\" value=\"%llu\"/></properties>\n",
	                       n, failures, errors, skipped, run->total_ms / 1000.0, n, failures, errors,
	                       skipped, run->total_ms / 1000.0, (unsigned long long)run->seed);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = junit_case(out, run->scenarios[i]);
	if (r == 0)
		r = report_fprintf(out, "  </testsuite>\n</testsuites>\n");
	return r;
}

const struct report_writer_ops report_junit_ops = {
    .name = "junit",
    .begin = NULL,
    .scenario = NULL,
    .end = junit_end,
};
