/*
 * report.c — the result model of report.h: building a scenario's result (events, checks,
 * measures), settling its verdict, collecting a run, and the policy trade-off rows. The writers
 * live one per file (report_text.c, report_json.c, report_junit.c, report_html.c).
 */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const verdict_names[] = {
    [REPORT_MATCHED] = "matched",
    [REPORT_MISMATCHED] = "mismatched",
    [REPORT_ERROR] = "error",
    [REPORT_SKIPPED] = "skipped",
};

static const char *const kind_names[REPORT_EV_KIND_COUNT] = {
    [REPORT_EV_INFO] = "info",       [REPORT_EV_MOUNT] = "mount",   [REPORT_EV_WRITE] = "write",
    [REPORT_EV_ACK] = "ack",         [REPORT_EV_INJECT] = "inject", [REPORT_EV_FSYNC] = "fsync",
    [REPORT_EV_ERROR] = "error",     [REPORT_EV_STATE] = "state",   [REPORT_EV_PANIC] = "panic",
    [REPORT_EV_CRASH] = "crash",     [REPORT_EV_REBOOT] = "reboot", [REPORT_EV_READ] = "read",
    [REPORT_EV_RECOVER] = "recover", [REPORT_EV_EXEC] = "exec",     [REPORT_EV_CHECK] = "check",
};

const char *report_verdict_name(enum report_verdict v)
{
	if ((unsigned)v < sizeof(verdict_names) / sizeof(verdict_names[0]))
		return verdict_names[v];
	return "?";
}

int report_verdict_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(verdict_names) / sizeof(verdict_names[0]); i++)
		if (name && strcmp(name, verdict_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

const char *report_event_kind_name(enum report_event_kind kind)
{
	if ((unsigned)kind < REPORT_EV_KIND_COUNT)
		return kind_names[kind];
	return "?";
}

int report_event_kind_parse(const char *name)
{
	for (int i = 0; i < REPORT_EV_KIND_COUNT; i++)
		if (name && strcmp(name, kind_names[i]) == 0)
			return i;
	return -EINVAL;
}

struct report_scenario *report_scenario_new(const char *name)
{
	struct report_scenario *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (report_set(&s->name, name ? name : "?") < 0) {
		free(s);
		return NULL;
	}
	s->verdict = REPORT_MATCHED;
	s->m = (struct report_measures){
	    .acked = -1,
	    .lost = -1,
	    .recovered = -1,
	    .fsyncs = -1,
	    .fsync_errors = -1,
	    .corruptions_reported = -1,
	    .bad_records_returned = -1,
	    .loss_window_ms = -1,
	    .window_limit_ms = -1,
	    .throughput = -1,
	    .fault_hits = -1,
	};
	return s;
}

void report_scenario_free(struct report_scenario *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->file);
	free(s->teaches);
	free(s->profile);
	free(s->target);
	free(s->sync_policy);
	free(s->error_policy);
	free(s->error);
	for (size_t i = 0; i < s->n_events; i++) {
		free(s->events[i].text);
		free(s->events[i].detail);
	}
	free(s->events);
	for (size_t i = 0; i < s->n_checks; i++) {
		free(s->checks[i].name);
		free(s->checks[i].expected);
		free(s->checks[i].observed);
	}
	free(s->checks);
	free(s);
}

int report_set(char **field, const char *value)
{
	char *copy = NULL;
	if (value) {
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* grow - make room for one more element of SIZE bytes in *arr. 0 or -ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

struct report_event *report_event_add(struct report_scenario *s, double t_ms, enum report_event_kind kind,
                                      const char *detail, const char *fmt, ...)
{
	if (grow((void **)&s->events, &s->cap_events, s->n_events, sizeof(s->events[0])) < 0)
		return NULL;
	struct report_event *e = &s->events[s->n_events];
	*e = (struct report_event){.t_ms = t_ms, .kind = kind};
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&e->text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return NULL;
	if (detail && report_set(&e->detail, detail) < 0) {
		free(e->text);
		return NULL;
	}
	e->bad = kind == REPORT_EV_ERROR || kind == REPORT_EV_PANIC || kind == REPORT_EV_CRASH;
	s->n_events++;
	return e;
}

int report_check_add(struct report_scenario *s, const char *name, const char *expected, const char *observed,
                     bool passed)
{
	if (grow((void **)&s->checks, &s->cap_checks, s->n_checks, sizeof(s->checks[0])) < 0)
		return -ENOMEM;
	struct report_check *c = &s->checks[s->n_checks];
	*c = (struct report_check){.passed = passed};
	if (report_set(&c->name, name) < 0 || report_set(&c->expected, expected ? expected : "") < 0 ||
	    report_set(&c->observed, observed ? observed : "") < 0) {
		free(c->name);
		free(c->expected);
		free(c->observed);
		return -ENOMEM;
	}
	s->n_checks++;
	return 0;
}

void report_scenario_finish(struct report_scenario *s)
{
	if (s->verdict == REPORT_ERROR || s->verdict == REPORT_SKIPPED)
		return;
	for (size_t i = 0; i < s->n_checks; i++) {
		const struct report_check *c = &s->checks[i];
		if (!c->passed) {
			char *why = NULL;
			if (asprintf(&why, "%s: expected %s, observed %s", c->name, c->expected,
			             c->observed) < 0)
				why = NULL;
			free(s->error);
			s->error = why;
			s->verdict = REPORT_MISMATCHED;
			return;
		}
	}
	if (s->n_checks == 0) {
		s->verdict = REPORT_ERROR;
		if (report_set(&s->error, "no check ran: the scenario proved nothing") < 0)
			s->error = NULL;
		return;
	}
	s->verdict = REPORT_MATCHED;
}

int report_run_add(struct report_run *run, struct report_scenario *s)
{
	if (grow((void **)&run->scenarios, &run->cap_scenarios, run->n_scenarios, sizeof(run->scenarios[0])) <
	    0)
		return -ENOMEM;
	run->scenarios[run->n_scenarios++] = s;
	return 0;
}

void report_run_free(struct report_run *run)
{
	for (size_t i = 0; i < run->n_scenarios; i++)
		report_scenario_free(run->scenarios[i]);
	free(run->scenarios);
	run->scenarios = NULL;
	run->n_scenarios = run->cap_scenarios = 0;
}

size_t report_run_count(const struct report_run *run, enum report_verdict v)
{
	size_t n = 0;
	for (size_t i = 0; i < run->n_scenarios; i++)
		n += run->scenarios[i]->verdict == v;
	return n;
}

/* policy_rank - always < batch:* < os < anything else: the table reads from safe to fast. */
static int policy_rank(const char *p)
{
	if (strcmp(p, "always") == 0)
		return 0;
	if (strncmp(p, "batch", 5) == 0)
		return 1;
	if (strcmp(p, "os") == 0)
		return 2;
	return 3;
}

static int policy_row_cmp(const void *a, const void *b)
{
	const struct report_scenario *x = ((const struct report_policy_row *)a)->s;
	const struct report_scenario *y = ((const struct report_policy_row *)b)->s;
	int rx = policy_rank(x->sync_policy), ry = policy_rank(y->sync_policy);
	if (rx != ry)
		return rx - ry;
	if (x->m.window_limit_ms != y->m.window_limit_ms)
		return x->m.window_limit_ms < y->m.window_limit_ms ? -1 : 1;
	int c = strcmp(x->sync_policy, y->sync_policy);
	return c ? c : strcmp(x->name, y->name);
}

int report_policy_rows(const struct report_run *run, struct report_policy_row **out)
{
	*out = NULL;
	size_t n = 0;
	struct report_policy_row *rows = calloc(run->n_scenarios ? run->n_scenarios : 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < run->n_scenarios; i++) {
		const struct report_scenario *s = run->scenarios[i];
		if (s->sync_policy && s->m.rebooted && s->m.acked > 0 && s->m.lost >= 0 &&
		    s->m.fault_hits <= 0)
			rows[n++].s = s;
	}
	qsort(rows, n, sizeof(*rows), policy_row_cmp);
	*out = rows;
	return (int)n;
}

int report_fprintf(FILE *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(out, fmt, ap);
	va_end(ap);
	return r < 0 ? -EIO : 0;
}

/* report_markup_escape - see report.h: one escaper for the HTML and JUnit XML writers. */
int report_markup_escape(FILE *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
		int r;
		switch (*p) {
		case '&':
			r = fputs("&amp;", out);
			break;
		case '<':
			r = fputs("&lt;", out);
			break;
		case '>':
			r = fputs("&gt;", out);
			break;
		case '"':
			r = fputs("&quot;", out);
			break;
		case '\'':
			r = fputs("&#39;", out);
			break;
		default:
			if (*p < 0x20 && *p != '\n' && *p != '\t')
				continue;
			r = fputc(*p, out);
		}
		if (r == EOF)
			return -EIO;
	}
	return 0;
}

int report_write_all(struct report_sink *sink, const struct report_run *run)
{
	int r = sink->ops->begin ? sink->ops->begin(sink, run) : 0;
	for (size_t i = 0; r == 0 && i < run->n_scenarios; i++)
		r = sink->ops->scenario ? sink->ops->scenario(sink, run->scenarios[i]) : 0;
	if (r == 0 && sink->ops->end)
		r = sink->ops->end(sink, run);
	if (fflush(sink->out) != 0 && r == 0)
		r = -errno;
	if (ferror(sink->out) && r == 0)
		r = -EIO;
	return r;
}
