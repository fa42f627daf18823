/*
 * report_json.c — the JSON form of a run (`fsynclab run --json FILE`), and of one scenario's
 * result: the same object travels from a -j worker process to the parent over a pipe.
 *
 * Document shape (version 1):
 *   {"version":1, "seed":S, "jobs":J, "total_ms":T,
 *    "summary":{"scenarios":N,"matched":..,"mismatched":..,"error":..,"skipped":..},
 *    "scenarios":[{"name","file","teaches","profile","target","sync_policy","error_policy",
 *                  "verdict","error","duration_ms",
 *                  "measures":{"acked","lost","recovered","fsyncs","fsync_errors",
 *                              "corruptions_reported","bad_records_returned","loss_window_ms",
 *                              "window_limit_ms","throughput","fault_hits","panicked","rebooted"},
 *                  "checks":[{"name","expected","observed","passed"}],
 *                  "timeline":[{"t_ms","kind","text","detail"?,"bad","verbose"}]}],
 *    "policies":[{"scenario","policy","throughput","acked","lost","loss_window_ms"}]}
 * A measure that was not measured is null. Strings that are unset are null.
 */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Building ---- */

/* str_or_null - a JSON string, or null for NULL. */
static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* int_measure - a JSON integer, or null for "not measured" (< 0). */
static json_t *int_measure(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

/* real_measure - a JSON real, or null for "not measured" (< 0). */
static json_t *real_measure(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *measures_to_json(const struct report_measures *m)
{
	return json_pack(
	    "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b}", "fault_hits", int_measure(m->fault_hits),
	    "acked", int_measure(m->acked), "lost", int_measure(m->lost), "recovered",
	    int_measure(m->recovered), "fsyncs", int_measure(m->fsyncs), "fsync_errors",
	    int_measure(m->fsync_errors), "corruptions_reported", int_measure(m->corruptions_reported),
	    "bad_records_returned", int_measure(m->bad_records_returned), "loss_window_ms",
	    real_measure(m->loss_window_ms), "window_limit_ms", real_measure(m->window_limit_ms),
	    "throughput", real_measure(m->throughput), "panicked", m->panicked, "rebooted", m->rebooted);
}

json_t *report_scenario_to_json(const struct report_scenario *s)
{
	json_t *checks = json_array(), *timeline = json_array();
	if (!checks || !timeline)
		goto out_err;
	for (size_t i = 0; i < s->n_checks; i++) {
		const struct report_check *c = &s->checks[i];
		if (json_array_append_new(checks, json_pack("{s:s,s:s,s:s,s:b}", "name", c->name, "expected",
		                                            c->expected, "observed", c->observed, "passed",
		                                            c->passed)) < 0)
			goto out_err;
	}
	for (size_t i = 0; i < s->n_events; i++) {
		const struct report_event *e = &s->events[i];
		json_t *ev = json_pack("{s:f,s:s,s:s,s:b,s:b}", "t_ms", e->t_ms, "kind",
		                       report_event_kind_name(e->kind), "text", e->text, "bad", e->bad,
		                       "verbose", e->verbose);
		if (ev && e->detail && json_object_set_new(ev, "detail", json_string(e->detail)) < 0) {
			json_decref(ev);
			goto out_err;
		}
		if (json_array_append_new(timeline, ev) < 0)
			goto out_err;
	}
	json_t *obj = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:f,s:o,s:o,s:o}", "name", s->name,
	                        "file", str_or_null(s->file), "teaches", str_or_null(s->teaches), "profile",
	                        str_or_null(s->profile), "target", str_or_null(s->target), "sync_policy",
	                        str_or_null(s->sync_policy), "error_policy", str_or_null(s->error_policy),
	                        "verdict", report_verdict_name(s->verdict), "error", str_or_null(s->error),
	                        "duration_ms", s->duration_ms, "measures", measures_to_json(&s->m), "checks",
	                        checks, "timeline", timeline);
	return obj;
out_err:
	json_decref(checks);
	json_decref(timeline);
	return NULL;
}

json_t *report_run_to_json(const struct report_run *run)
{
	json_t *arr = json_array(), *policies = json_array();
	struct report_policy_row *rows = NULL;
	if (!arr || !policies)
		goto out_err;
	for (size_t i = 0; i < run->n_scenarios; i++)
		if (json_array_append_new(arr, report_scenario_to_json(run->scenarios[i])) < 0)
			goto out_err;
	int n = report_policy_rows(run, &rows);
	if (n < 0)
		goto out_err;
	for (int i = 0; i < n; i++) {
		const struct report_scenario *s = rows[i].s;
		if (json_array_append_new(
		        policies, json_pack("{s:s,s:s,s:o,s:I,s:I,s:o}", "scenario", s->name, "policy",
		                            s->sync_policy, "throughput", real_measure(s->m.throughput),
		                            "acked", (json_int_t)s->m.acked, "lost", (json_int_t)s->m.lost,
		                            "loss_window_ms", real_measure(s->m.loss_window_ms))) < 0)
			goto out_err;
	}
	free(rows);
	return json_pack(
	    "{s:i,s:I,s:i,s:f,s:{s:I,s:I,s:I,s:I,s:I},s:o,s:o}", "version", 1, "seed", (json_int_t)run->seed,
	    "jobs", run->jobs, "total_ms", run->total_ms, "summary", "scenarios",
	    (json_int_t)run->n_scenarios, "matched", (json_int_t)report_run_count(run, REPORT_MATCHED),
	    "mismatched", (json_int_t)report_run_count(run, REPORT_MISMATCHED), "error",
	    (json_int_t)report_run_count(run, REPORT_ERROR), "skipped",
	    (json_int_t)report_run_count(run, REPORT_SKIPPED), "scenarios", arr, "policies", policies);
out_err:
	free(rows);
	json_decref(arr);
	json_decref(policies);
	return NULL;
}

/* ---- Parsing (the -j wire form) ---- */

/* get_str - copy string member KEY of OBJ into *out (null/absent → NULL). 0, -EINVAL or -ENOMEM. */
static int get_str(json_t *obj, const char *key, char **out)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -EINVAL;
	return report_set(out, json_string_value(v));
}

/* get_int - integer measure KEY (null/absent → -1). */
static int get_int(json_t *obj, const char *key, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		*out = -1;
		return 0;
	}
	if (!json_is_integer(v))
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

/* get_real - number measure KEY (null/absent → -1). */
static int get_real(json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		*out = -1;
		return 0;
	}
	if (!json_is_number(v))
		return -EINVAL;
	*out = json_number_value(v);
	return 0;
}

struct report_scenario *report_scenario_from_json(json_t *obj, char *errbuf, size_t errlen)
{
	const char *what = "not an object";
	struct report_scenario *s = NULL;
	if (!json_is_object(obj))
		goto out_err;
	what = "name";
	json_t *name = json_object_get(obj, "name");
	if (!json_is_string(name))
		goto out_err;
	s = report_scenario_new(json_string_value(name));
	if (!s)
		goto out_err;
	what = "strings";
	if (get_str(obj, "file", &s->file) < 0 || get_str(obj, "teaches", &s->teaches) < 0 ||
	    get_str(obj, "profile", &s->profile) < 0 || get_str(obj, "target", &s->target) < 0 ||
	    get_str(obj, "sync_policy", &s->sync_policy) < 0 ||
	    get_str(obj, "error_policy", &s->error_policy) < 0 || get_str(obj, "error", &s->error) < 0)
		goto out_err;
	what = "verdict";
	int v = report_verdict_parse(json_string_value(json_object_get(obj, "verdict")));
	if (v < 0)
		goto out_err;
	s->verdict = v;
	what = "duration_ms";
	if (get_real(obj, "duration_ms", &s->duration_ms) < 0)
		goto out_err;
	what = "measures";
	json_t *m = json_object_get(obj, "measures");
	if (!json_is_object(m) || get_int(m, "acked", &s->m.acked) < 0 ||
	    get_int(m, "lost", &s->m.lost) < 0 || get_int(m, "recovered", &s->m.recovered) < 0 ||
	    get_int(m, "fsyncs", &s->m.fsyncs) < 0 || get_int(m, "fsync_errors", &s->m.fsync_errors) < 0 ||
	    get_int(m, "corruptions_reported", &s->m.corruptions_reported) < 0 ||
	    get_int(m, "bad_records_returned", &s->m.bad_records_returned) < 0 ||
	    get_real(m, "loss_window_ms", &s->m.loss_window_ms) < 0 ||
	    get_real(m, "window_limit_ms", &s->m.window_limit_ms) < 0 ||
	    get_real(m, "throughput", &s->m.throughput) < 0 || get_int(m, "fault_hits", &s->m.fault_hits) < 0)
		goto out_err;
	s->m.panicked = json_is_true(json_object_get(m, "panicked"));
	s->m.rebooted = json_is_true(json_object_get(m, "rebooted"));
	what = "checks";
	json_t *checks = json_object_get(obj, "checks"), *c;
	size_t i;
	if (!json_is_array(checks))
		goto out_err;
	json_array_foreach(checks, i, c)
	{
		const char *cn = json_string_value(json_object_get(c, "name"));
		const char *ce = json_string_value(json_object_get(c, "expected"));
		const char *co = json_string_value(json_object_get(c, "observed"));
		if (!cn || !ce || !co ||
		    report_check_add(s, cn, ce, co, json_is_true(json_object_get(c, "passed"))) < 0)
			goto out_err;
	}
	what = "timeline";
	json_t *timeline = json_object_get(obj, "timeline"), *e;
	if (!json_is_array(timeline))
		goto out_err;
	json_array_foreach(timeline, i, e)
	{
		const char *text = json_string_value(json_object_get(e, "text"));
		int kind = report_event_kind_parse(json_string_value(json_object_get(e, "kind")));
		json_t *t = json_object_get(e, "t_ms");
		if (!text || kind < 0 || !json_is_number(t))
			goto out_err;
		struct report_event *ev =
		    report_event_add(s, json_number_value(t), kind,
		                     json_string_value(json_object_get(e, "detail")), "%s", text);
		if (!ev)
			goto out_err;
		ev->bad = json_is_true(json_object_get(e, "bad"));
		ev->verbose = json_is_true(json_object_get(e, "verbose"));
	}
	return s;
out_err:
	snprintf(errbuf, errlen, "malformed scenario result: %s", what);
	report_scenario_free(s);
	return NULL;
}

/* ---- Writer: one document at the end ---- */

/* json_end - dump the whole run, indented. 0 or -EIO/-ENOMEM. */
static int json_end(struct report_sink *sink, const struct report_run *run)
{
	json_t *doc = report_run_to_json(run);
	if (!doc)
		return -ENOMEM;
	int r = json_dumpf(doc, sink->out, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	json_decref(doc);
	if (r < 0)
		return -EIO;
	return report_fprintf(sink->out, "\n");
}

const struct report_writer_ops report_json_ops = {
    .name = "json",
    .begin = NULL,
    .scenario = NULL,
    .end = json_end,
};
