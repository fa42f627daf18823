/*
 * report_text.c — the terminal narration of `fsynclab run`.
 *
 * Per scenario, as it finishes: a header (name, profile, target, policies), the lesson it
 * teaches, its timeline one event per line (time, kind, what happened), the checks, and the
 * verdict with the measured numbers. At the end: a summary table, the policy trade-off table
 * measured in this run, and the total time.
 *
 * Verbosity: -1 (-q) prints only the summary; 0 the key events; 1 (-v) every operation and each
 * event's detail. Colour (ANSI) only when the sink says so: the caller sets it for a terminal.
 */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- Colour ---- */

#define C_RESET "\033[0m"
#define C_BOLD  "\033[1m"
#define C_DIM   "\033[2m"
#define C_RED   "\033[31m"
#define C_GREEN "\033[32m"
#define C_YEL   "\033[33m"
#define C_BLUE  "\033[34m"
#define C_MAG   "\033[35m"
#define C_CYAN  "\033[36m"

/* col - the escape sequence CODE when colour is on, else "". */
static const char *col(const struct report_sink *sink, const char *code)
{
	return sink->colour ? code : "";
}

/* kind_colour - each event kind's colour in the narration. */
static const char *kind_colour(enum report_event_kind kind)
{
	switch (kind) {
	case REPORT_EV_ERROR:
	case REPORT_EV_PANIC:
	case REPORT_EV_CRASH:
		return C_RED;
	case REPORT_EV_REBOOT:
		return C_MAG;
	case REPORT_EV_FSYNC:
	case REPORT_EV_RECOVER:
		return C_GREEN;
	case REPORT_EV_INJECT:
		return C_YEL;
	case REPORT_EV_READ:
	case REPORT_EV_STATE:
		return C_CYAN;
	case REPORT_EV_WRITE:
	case REPORT_EV_ACK:
		return C_BLUE;
	default:
		return "";
	}
}

static const char *verdict_colour(enum report_verdict v)
{
	return v == REPORT_MATCHED ? C_GREEN : v == REPORT_SKIPPED ? C_YEL : C_RED;
}

/* upper - the verdict name in capitals, for the per-scenario verdict line. */
static const char *verdict_upper(enum report_verdict v)
{
	static const char *const names[] = {"MATCHED", "MISMATCHED", "ERROR", "SKIPPED"};
	return (unsigned)v < 4 ? names[v] : "?";
}

/* ---- Per scenario ---- */

/* wrap - print TEXT indented by INDENT, wrapped at WIDTH columns. 0 or -EIO. */
static int wrap(FILE *out, const char *text, const char *indent, size_t width)
{
	size_t col0 = strlen(indent), colnow = 0;
	int r = 0;
	const char *p = text;
	while (*p && r == 0) {
		while (*p == ' ' || *p == '\n')
			p++;
		size_t len = strcspn(p, " \n");
		if (!len)
			break;
		if (colnow == 0) {
			r = report_fprintf(out, "%s%.*s", indent, (int)len, p);
			colnow = col0 + len;
		} else if (colnow + 1 + len > width) {
			r = report_fprintf(out, "\n%s%.*s", indent, (int)len, p);
			colnow = col0 + len;
		} else {
			r = report_fprintf(out, " %.*s", (int)len, p);
			colnow += 1 + len;
		}
		p += len;
	}
	if (r == 0 && colnow)
		r = report_fprintf(out, "\n");
	return r;
}

/* measures_line - "acked 100, lost 12 (window 3.1 ms ≤ 5 ms), fsyncs 5" into BUF. */
static void measures_line(const struct report_measures *m, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
#define ADD(...)                                                                                             \
	do {                                                                                                 \
		if (n < len)                                                                                 \
			n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__);                                \
	} while (0)
	if (m->acked >= 0)
		ADD("acked %lld", (long long)m->acked);
	if (m->lost >= 0)
		ADD("%slost %lld", n ? ", " : "", (long long)m->lost);
	if (m->loss_window_ms >= 0) {
		ADD(" (window %.1f ms", m->loss_window_ms);
		if (m->window_limit_ms >= 0)
			ADD(", bound %.1f ms", m->window_limit_ms);
		ADD(")");
	}
	if (m->fsyncs >= 0)
		ADD("%sfsyncs %lld", n ? ", " : "", (long long)m->fsyncs);
	if (m->fsync_errors > 0)
		ADD(" (%lld failed)", (long long)m->fsync_errors);
	if (m->throughput >= 0)
		ADD("%s%.0f rec/s", n ? ", " : "", m->throughput);
	if (m->corruptions_reported > 0)
		ADD("%scorrupt reported %lld", n ? ", " : "", (long long)m->corruptions_reported);
#undef ADD
}

/* text_scenario - narrate one finished scenario. 0 or -EIO. */
static int text_scenario(struct report_sink *sink, const struct report_scenario *s)
{
	FILE *out = sink->out;
	int r = 0;
	if (sink->verbosity < 0)
		return 0;
	r = report_fprintf(out, "%s▶ %s%s", col(sink, C_BOLD), s->name, col(sink, C_RESET));
	if (r == 0 && s->profile)
		r = report_fprintf(out, "  %s%s", col(sink, C_DIM), s->profile);
	if (r == 0 && s->target)
		r = report_fprintf(out, " · %s", s->target);
	if (r == 0 && s->sync_policy)
		r = report_fprintf(out, " · sync %s", s->sync_policy);
	if (r == 0 && s->error_policy)
		r = report_fprintf(out, " · on fsync error %s", s->error_policy);
	if (r == 0)
		r = report_fprintf(out, "%s\n", col(sink, C_RESET));
	if (r == 0 && s->teaches && *s->teaches)
		r = wrap(out, s->teaches, "  ", 100);
	for (size_t i = 0; r == 0 && i < s->n_events; i++) {
		const struct report_event *e = &s->events[i];
		if (e->verbose && sink->verbosity < 1)
			continue;
		const char *c = e->bad ? C_RED : kind_colour(e->kind);
		r = report_fprintf(out, "  %s%9.1f ms%s  %s%-7s%s %s%s%s\n", col(sink, C_DIM), e->t_ms,
		                   col(sink, C_RESET), col(sink, c), report_event_kind_name(e->kind),
		                   col(sink, C_RESET), e->bad ? col(sink, C_RED) : "", e->text,
		                   e->bad ? col(sink, C_RESET) : "");
		if (r == 0 && e->detail && sink->verbosity >= 1)
			r = report_fprintf(out, "                         %s%s%s\n", col(sink, C_DIM),
			                   e->detail, col(sink, C_RESET));
	}
	for (size_t i = 0; r == 0 && i < s->n_checks; i++) {
		const struct report_check *c = &s->checks[i];
		r = report_fprintf(out, "  %s%s%s check %s: expected %s, observed %s\n",
		                   col(sink, c->passed ? C_GREEN : C_RED), c->passed ? "✓" : "✗",
		                   col(sink, C_RESET), c->name, c->expected, c->observed);
	}
	char mbuf[256];
	measures_line(&s->m, mbuf, sizeof(mbuf));
	if (r == 0)
		r = report_fprintf(out, "  %s%s%s%s in %.0f ms%s%s%s\n", col(sink, C_BOLD),
		                   col(sink, verdict_colour(s->verdict)), verdict_upper(s->verdict),
		                   col(sink, C_RESET), s->duration_ms, *mbuf ? "  (" : "", mbuf,
		                   *mbuf ? ")" : "");
	if (r == 0 && s->error && s->verdict != REPORT_MATCHED)
		r = report_fprintf(out, "  %s%s%s\n", col(sink, verdict_colour(s->verdict)), s->error,
		                   col(sink, C_RESET));
	if (r == 0)
		r = report_fprintf(out, "\n");
	if (r == 0 && fflush(out) != 0)
		r = -EIO;
	return r;
}

/* ---- Summary ---- */

/* num - an integer measure or "-" when not measured, into BUF. */
static const char *num(int64_t v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", (long long)v);
	return buf;
}

/* text_end - the summary table, the policy trade-off table, the total. 0 or -EIO/-ENOMEM. */
static int text_end(struct report_sink *sink, const struct report_run *run)
{
	FILE *out = sink->out;
	int r = report_fprintf(out, "%s%-36s %-10s %7s %6s %10s %8s%s\n", col(sink, C_BOLD), "scenario",
	                       "verdict", "acked", "lost", "window", "time", col(sink, C_RESET));
	for (size_t i = 0; r == 0 && i < run->n_scenarios; i++) {
		const struct report_scenario *s = run->scenarios[i];
		char a[32], l[32], w[32];
		if (s->m.loss_window_ms >= 0)
			snprintf(w, sizeof(w), "%.1f ms", s->m.loss_window_ms);
		else
			snprintf(w, sizeof(w), "-");
		r = report_fprintf(out, "%-36s %s%-10s%s %7s %6s %10s %6.2f s\n", s->name,
		                   col(sink, verdict_colour(s->verdict)), report_verdict_name(s->verdict),
		                   col(sink, C_RESET), num(s->m.acked, a, sizeof(a)),
		                   num(s->m.lost, l, sizeof(l)), w, s->duration_ms / 1000.0);
		if (r == 0 && s->verdict != REPORT_MATCHED && s->error)
			r = report_fprintf(out, "  %s↳ %s%s\n", col(sink, C_DIM), s->error,
			                   col(sink, C_RESET));
	}
	struct report_policy_row *rows = NULL;
	int n = report_policy_rows(run, &rows);
	if (n < 0)
		return r ? r : n;
	if (r == 0 && n > 0) {
		r = report_fprintf(
		    out, "\n%spolicy trade-off measured in this run%s\n%-14s %12s %7s %13s %10s  %s\n",
		    col(sink, C_BOLD), col(sink, C_RESET), "policy", "records/s", "acked", "lost on cut",
		    "window", "scenario");
		for (int i = 0; r == 0 && i < n; i++) {
			const struct report_scenario *s = rows[i].s;
			char w[32], t[32];
			if (s->m.loss_window_ms >= 0)
				snprintf(w, sizeof(w), "%.1f ms", s->m.loss_window_ms);
			else
				snprintf(w, sizeof(w), "-");
			if (s->m.throughput >= 0)
				snprintf(t, sizeof(t), "%.0f", s->m.throughput);
			else
				snprintf(t, sizeof(t), "-");
			r = report_fprintf(out, "%-14s %12s %7lld %13lld %10s  %s\n", s->sync_policy, t,
			                   (long long)s->m.acked, (long long)s->m.lost, w, s->name);
		}
	}
	free(rows);
	size_t ok = report_run_count(run, REPORT_MATCHED);
	if (r == 0)
		r = report_fprintf(out,
		                   "\n%s%zu scenario%s: %zu matched, %zu mismatched, %zu error, %zu "
		                   "skipped%s — total %.1f s\n",
		                   col(sink, ok == run->n_scenarios ? C_GREEN : C_RED), run->n_scenarios,
		                   run->n_scenarios == 1 ? "" : "s", ok,
		                   report_run_count(run, REPORT_MISMATCHED),
		                   report_run_count(run, REPORT_ERROR), report_run_count(run, REPORT_SKIPPED),
		                   col(sink, C_RESET), run->total_ms / 1000.0);
	return r;
}

const struct report_writer_ops report_text_ops = {
    .name = "text",
    .begin = NULL,
    .scenario = text_scenario,
    .end = text_end,
};
