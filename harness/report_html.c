/*
 * report_html.c — the HTML report (`fsynclab run --html FILE`): one self-contained page.
 *
 * No network fetch of any kind: styles are inline, there is no script, no font, no image URL.
 * The page holds, in order:
 *   - the run summary (counts, total time, seed) and a summary table linking to each scenario;
 *   - the policy trade-off table measured in the run (policy, records/s, acknowledged records,
 *     acknowledged loss on power cut, loss window), with a bar per throughput;
 *   - per scenario: name, verdict, the lesson, the timeline drawn as inline SVG, the checks and
 *     the measured numbers.
 *
 * The SVG timeline: one row per event (key events; every operation would drown the story). Each
 * row has a dot on a shared time axis at the event's time, coloured by kind, and its text to the
 * right; a reboot also draws a dashed vertical line across the rows, so "before" and "after" the
 * power cut read at a glance.
 */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The most rows one timeline draws; the rest is summarised in a last row. */
#define SVG_MAX_ROWS 80
#define SVG_WIDTH    960 /* px */
#define SVG_AXIS_X0  70  /* where time 0 sits */
#define SVG_AXIS_W   280 /* px from time 0 to the scenario's last event */
#define SVG_TEXT_X   380 /* where event text starts */
#define SVG_ROW_H    20  /* px per event row */
#define SVG_TOP      34  /* px above the first row (axis labels) */

/* kind_fill - the SVG fill colour of each event kind (also used for the legend). */
static const char *kind_fill(enum report_event_kind kind, bool bad)
{
	if (bad)
		return "#d62728";
	switch (kind) {
	case REPORT_EV_REBOOT:
		return "#9467bd";
	case REPORT_EV_FSYNC:
	case REPORT_EV_RECOVER:
		return "#2ca02c";
	case REPORT_EV_INJECT:
		return "#ff7f0e";
	case REPORT_EV_READ:
	case REPORT_EV_STATE:
		return "#17becf";
	case REPORT_EV_WRITE:
	case REPORT_EV_ACK:
		return "#1f77b4";
	case REPORT_EV_CHECK:
		return "#8c564b";
	default:
		return "#7f7f7f";
	}
}

/* anchor - a scenario's element id: its index (names may hold anything). */
static int anchor(FILE *out, size_t i)
{
	return report_fprintf(out, "s%zu", i);
}

/* ---- The page head and the tables ---- */

static const char STYLE[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1000px;"
    "color:#222;background:#fff}\n"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}\n"
    "table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;"
    "text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".v-matched{color:#1a7f37;font-weight:600}.v-mismatched,.v-error{color:#cf222e;font-weight:600}"
    ".v-skipped{color:#9a6700;font-weight:600}\n"
    ".teaches{background:#f6f8fa;padding:8px 12px;border-left:3px solid #8c959f}\n"
    "svg.timeline{display:block;margin:8px 0;background:#fcfcfc;border:1px solid #eee}\n"
    "svg text{font:12px ui-monospace,monospace}\n"
    ".bar{display:inline-block;height:10px;background:#1f77b4;vertical-align:middle}\n"
    "li.fail{color:#cf222e}li.pass{color:#1a7f37}\n";

/* html_head - doctype, title, style, run summary. 0 or -EIO. */
static int html_head(FILE *out, const struct report_run *run)
{
	size_t ok = report_run_count(run, REPORT_MATCHED);
	char when[64] = "";
	time_t now = time(NULL);
	struct tm tm;
	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	char seed[32] = "each scenario's own"; /* 0: no --seed given */
	if (run->seed)
		snprintf(seed, sizeof(seed), "%llu", (unsigned long long)run->seed);
	int r = report_fprintf(
	    out,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<title>fsynclab report</title>\n<style>\n%s</style></head>\n<body>\n"
	    "<h1>fsynclab run</h1>\n<p id=\"summary\">%zu scenario%s: <span class=\"v-matched\">%zu "
	    "matched</span>, <span class=\"v-mismatched\">%zu mismatched</span>, %zu error, %zu "
	    "skipped &mdash; total %.1f s, seed %s, %d job%s, %s.</p>\n",
	    STYLE, run->n_scenarios, run->n_scenarios == 1 ? "" : "s", ok,
	    report_run_count(run, REPORT_MISMATCHED), report_run_count(run, REPORT_ERROR),
	    report_run_count(run, REPORT_SKIPPED), run->total_ms / 1000.0, seed, run->jobs,
	    run->jobs == 1 ? "" : "s", when);
	if (r == 0)
		r = report_fprintf(
		    out, "<table id=\"scenarios\"><tr><th>scenario</th><th>verdict</th><th>profile</th>"
		         "<th>acked</th><th>lost</th><th>time</th></tr>\n");
	for (size_t i = 0; r == 0 && i < run->n_scenarios; i++) {
		const struct report_scenario *s = run->scenarios[i];
		r = report_fprintf(out, "<tr><td><a href=\"#");
		if (r == 0)
			r = anchor(out, i);
		if (r == 0)
			r = report_fprintf(out, "\">");
		if (r == 0)
			r = report_markup_escape(out, s->name);
		if (r == 0)
			r = report_fprintf(out, "</a></td><td class=\"v-%s\">%s</td><td>",
			                   report_verdict_name(s->verdict), report_verdict_name(s->verdict));
		if (r == 0)
			r = report_markup_escape(out, s->profile ? s->profile : "-");
		char a[32] = "-", l[32] = "-";
		if (s->m.acked >= 0)
			snprintf(a, sizeof(a), "%lld", (long long)s->m.acked);
		if (s->m.lost >= 0)
			snprintf(l, sizeof(l), "%lld", (long long)s->m.lost);
		if (r == 0)
			r = report_fprintf(out,
			                   "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td "
			                   "class=\"n\">%.2f s</td></tr>\n",
			                   a, l, s->duration_ms / 1000.0);
	}
	if (r == 0)
		r = report_fprintf(out, "</table>\n");
	return r;
}

/* html_policies - the trade-off table measured in this run. 0, -EIO or -ENOMEM. */
static int html_policies(FILE *out, const struct report_run *run)
{
	struct report_policy_row *rows = NULL;
	int n = report_policy_rows(run, &rows);
	if (n < 0)
		return n;
	double max_tp = 0;
	for (int i = 0; i < n; i++)
		if (rows[i].s->m.throughput > max_tp)
			max_tp = rows[i].s->m.throughput;
	int r =
	    report_fprintf(out, "<h2 id=\"policies\">Sync policy trade-off (measured in this run)</h2>\n");
	if (r == 0 && n == 0)
		r = report_fprintf(
		    out, "<p>No scenario in this run measured acknowledged loss on a power cut.</p>\n");
	if (r == 0 && n > 0)
		r = report_fprintf(out,
		                   "<table id=\"policy-table\"><tr><th>policy</th><th>records/s</th><th></th>"
		                   "<th>acked</th><th>acked lost on power cut</th><th>loss window</th>"
		                   "<th>scenario</th></tr>\n");
	for (int i = 0; r == 0 && i < n; i++) {
		const struct report_scenario *s = rows[i].s;
		r = report_fprintf(out, "<tr><td>");
		if (r == 0)
			r = report_markup_escape(out, s->sync_policy);
		if (r == 0 && s->m.throughput >= 0)
			r = report_fprintf(out,
			                   "</td><td class=\"n\">%.0f</td><td><span class=\"bar\" "
			                   "style=\"width:%dpx\"></span>",
			                   s->m.throughput,
			                   max_tp > 0 ? (int)(120.0 * s->m.throughput / max_tp) : 0);
		else if (r == 0)
			r = report_fprintf(out, "</td><td class=\"n\">-</td><td>");
		if (r == 0)
			r = report_fprintf(
			    out, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">",
			    (long long)s->m.acked, (long long)s->m.lost);
		if (r == 0 && s->m.loss_window_ms >= 0)
			r = report_fprintf(out, "%.1f ms", s->m.loss_window_ms);
		if (r == 0)
			r = report_fprintf(out, "</td><td>");
		if (r == 0)
			r = report_markup_escape(out, s->name);
		if (r == 0)
			r = report_fprintf(out, "</td></tr>\n");
	}
	if (r == 0 && n > 0)
		r = report_fprintf(out, "</table>\n");
	free(rows);
	return r;
}

/* ---- The SVG timeline ---- */

/* html_timeline - SVG of S's key events (verbose ones left out). 0 or -EIO. */
static int html_timeline(FILE *out, const struct report_scenario *s)
{
	size_t rows = 0, hidden = 0;
	double tmin = -1, tmax = 0;
	for (size_t i = 0; i < s->n_events; i++) {
		if (s->events[i].verbose)
			continue;
		if (rows < SVG_MAX_ROWS) {
			rows++;
			if (tmin < 0 || s->events[i].t_ms < tmin)
				tmin = s->events[i].t_ms;
			if (s->events[i].t_ms > tmax)
				tmax = s->events[i].t_ms;
		} else {
			hidden++;
		}
	}
	/* the axis spans the story (setup time before the first event is not part of it) */
	double span = tmax - (tmin > 0 ? tmin : 0);
	if (tmin < 0)
		tmin = 0;
	if (span <= 0)
		span = 1;
	size_t height = SVG_TOP + (rows + (hidden ? 1 : 0)) * SVG_ROW_H + 10;
	int r = report_fprintf(
	    out,
	    "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
	    "viewBox=\"0 0 %d %zu\" role=\"img\" aria-label=\"timeline of ",
	    SVG_WIDTH, height, SVG_WIDTH, height);
	if (r == 0)
		r = report_markup_escape(out, s->name);
	if (r == 0)
		r = report_fprintf(out, "\">\n");
	/* The axis: first event, half way, last event, with their times. */
	for (int k = 0; r == 0 && k <= 2; k++) {
		double x = SVG_AXIS_X0 + SVG_AXIS_W * k / 2.0;
		r = report_fprintf(
		    out,
		    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%zu\" stroke=\"#e4e4e4\"/>"
		    "<text x=\"%.1f\" y=\"16\" text-anchor=\"middle\" fill=\"#666\">%.1f ms</text>\n",
		    x, SVG_TOP - 10, x, height - 6, x, tmin + span * k / 2.0);
	}
	size_t row = 0;
	for (size_t i = 0; r == 0 && i < s->n_events && row < rows; i++) {
		const struct report_event *e = &s->events[i];
		if (e->verbose)
			continue;
		double x = SVG_AXIS_X0 + SVG_AXIS_W * ((e->t_ms - tmin) / span);
		double y = SVG_TOP + row * SVG_ROW_H + SVG_ROW_H / 2.0;
		const char *fill = kind_fill(e->kind, e->bad);
		if (e->kind == REPORT_EV_REBOOT)
			r = report_fprintf(out,
			                   "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%zu\" stroke=\"%s\" "
			                   "stroke-width=\"2\" stroke-dasharray=\"5,3\"/>\n",
			                   x, SVG_TOP - 10, x, height - 6, fill);
		if (r == 0)
			r = report_fprintf(
			    out,
			    "<g class=\"ev ev-%s\"><title>%.3f ms</title>"
			    "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			    "stroke-opacity=\"0.35\" stroke-width=\"3\"/>"
			    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\"/>"
			    "<text x=\"%d\" y=\"%.1f\" fill=\"#555\" text-anchor=\"end\">%.1f</text>"
			    "<text x=\"%d\" y=\"%.1f\" fill=\"%s\" font-weight=\"600\">%s</text>"
			    "<text x=\"%d\" y=\"%.1f\" fill=\"#222\">",
			    report_event_kind_name(e->kind), e->t_ms, SVG_AXIS_X0, y, x, y, fill, x, y, fill,
			    SVG_AXIS_X0 - 10, y + 4, e->t_ms, SVG_TEXT_X, y + 4, fill,
			    report_event_kind_name(e->kind), SVG_TEXT_X + 70, y + 4);
		if (r == 0)
			r = report_markup_escape(out, e->text);
		if (r == 0)
			r = report_fprintf(out, "</text></g>\n");
		row++;
	}
	if (r == 0 && hidden)
		r = report_fprintf(out,
		                   "<text x=\"%d\" y=\"%.1f\" fill=\"#666\">… %zu more events (see the JSON "
		                   "report)</text>\n",
		                   SVG_TEXT_X, SVG_TOP + rows * SVG_ROW_H + SVG_ROW_H / 2.0 + 4, hidden);
	if (r == 0)
		r = report_fprintf(out, "</svg>\n");
	return r;
}

/* html_scenario_section - one scenario's section. 0 or -EIO. */
static int html_scenario_section(FILE *out, const struct report_scenario *s, size_t idx)
{
	int r = report_fprintf(out, "<section class=\"scenario\" id=\"");
	if (r == 0)
		r = anchor(out, idx);
	if (r == 0)
		r = report_fprintf(out, "\"><h2>");
	if (r == 0)
		r = report_markup_escape(out, s->name);
	if (r == 0)
		r = report_fprintf(out, " <span class=\"v-%s\">%s</span></h2>\n<p>",
		                   report_verdict_name(s->verdict), report_verdict_name(s->verdict));
	const char *labels[] = {"profile", "target", "sync", "on fsync error", "file"};
	const char *values[] = {s->profile, s->target, s->sync_policy, s->error_policy, s->file};
	for (size_t k = 0; r == 0 && k < 5; k++) {
		if (!values[k])
			continue;
		r = report_fprintf(out, "%s: <code>", labels[k]);
		if (r == 0)
			r = report_markup_escape(out, values[k]);
		if (r == 0)
			r = report_fprintf(out, "</code>&nbsp; ");
	}
	if (r == 0)
		r = report_fprintf(out, "%.0f ms</p>\n", s->duration_ms);
	if (r == 0 && s->teaches) {
		r = report_fprintf(out, "<p class=\"teaches\">");
		if (r == 0)
			r = report_markup_escape(out, s->teaches);
		if (r == 0)
			r = report_fprintf(out, "</p>\n");
	}
	if (r == 0 && s->error && s->verdict != REPORT_MATCHED) {
		r = report_fprintf(out, "<p class=\"v-%s\">", report_verdict_name(s->verdict));
		if (r == 0)
			r = report_markup_escape(out, s->error);
		if (r == 0)
			r = report_fprintf(out, "</p>\n");
	}
	if (r == 0 && s->n_events)
		r = html_timeline(out, s);
	if (r == 0 && s->n_checks)
		r = report_fprintf(out, "<ul class=\"checks\">\n");
	for (size_t i = 0; r == 0 && i < s->n_checks; i++) {
		const struct report_check *c = &s->checks[i];
		r = report_fprintf(out, "<li class=\"%s\">%s ", c->passed ? "pass" : "fail",
		                   c->passed ? "✓" : "✗");
		if (r == 0)
			r = report_markup_escape(out, c->name);
		if (r == 0)
			r = report_fprintf(out, ": expected <b>");
		if (r == 0)
			r = report_markup_escape(out, c->expected);
		if (r == 0)
			r = report_fprintf(out, "</b>, observed <b>");
		if (r == 0)
			r = report_markup_escape(out, c->observed);
		if (r == 0)
			r = report_fprintf(out, "</b></li>\n");
	}
	if (r == 0 && s->n_checks)
		r = report_fprintf(out, "</ul>\n");
	if (r == 0)
		r = report_fprintf(out, "</section>\n");
	return r;
}

/* html_end - the page. 0, -EIO or -ENOMEM. */
static int html_end(struct report_sink *sink, const struct report_run *run)
{
	FILE *out = sink->out;
	int r = html_head(out, run);
	if (r == 0)
		r = html_policies(out, run);
	for (size_t i = 0; r == 0 && i < run->n_scenarios; i++)
		r = html_scenario_section(out, run->scenarios[i], i);
	if (r == 0)
		r = report_fprintf(out, "</body></html>\n");
	return r;
}

const struct report_writer_ops report_html_ops = {
    .name = "html",
    .begin = NULL,
    .scenario = NULL,
    .end = html_end,
};
