/*
 * report.h — what a run of scenarios observed, and the writers that tell it.
 *
 * The result model. Running a scenario produces one `report_scenario`:
 *   - who it is: name, file, the `teaches` paragraph, profile, target, sync and error policies;
 *   - the verdict: MATCHED (observed == expected: a scenario demonstrating a bug expects the bug),
 *     MISMATCHED (some check disagreed), ERROR (the harness could not run it: mount failed, ...),
 *     SKIPPED (it cannot run here: not root, no FUSE, a missing command);
 *   - a timeline of events {t_ms, kind, text, detail}: the story the narration tells
 *     (write → dirty → fsync → EIO → page marked clean → retry OK → reboot → old data);
 *   - check results: name, expected, observed, passed;
 *   - measured numbers: records acknowledged, acknowledged records lost after reboot, the loss
 *     window in time, fsync count, throughput.
 * A `report_run` holds every scenario of one `fsynclab run` plus its seed and total time.
 *
 * The writers. One small interface, one file per device (the model is Redis's rio.c): a
 * `report_writer_ops` table of three methods, begin / scenario / end, filled by
 *   report_text.c   the terminal narration (colour only when asked: on a tty), summary table;
 *   report_json.c   one JSON document (also the wire form between a -j worker and the parent);
 *   report_junit.c  JUnit XML for CI systems;
 *   report_html.c   one self-contained page: each timeline drawn as inline SVG, plus the policy
 *                   trade-off table measured in the run.
 * `scenario` is called as each scenario finishes (in completion order under -j), so a streaming
 * writer (text) can narrate as the run goes; the document writers collect and write at `end`.
 *
 * Not thread-safe: one thread builds a result and one thread drives a writer.
 */
#ifndef FSYNCLAB_REPORT_H
#define FSYNCLAB_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

enum report_verdict {
	REPORT_MATCHED,    /* every check observed what the scenario expected */
	REPORT_MISMATCHED, /* at least one check disagreed with the expectation */
	REPORT_ERROR,      /* the harness failed to run the scenario (setup, I/O, timeout) */
	REPORT_SKIPPED,    /* the scenario cannot run on this machine (reason in `error`) */
};

/* What a timeline event is about; decides its colour, glyph and SVG marker. */
enum report_event_kind {
	REPORT_EV_INFO,    /* anything else worth saying */
	REPORT_EV_MOUNT,   /* a filesystem mounted or unmounted */
	REPORT_EV_WRITE,   /* the workload wrote/appended/updated records (pages now dirty) */
	REPORT_EV_ACK,     /* a record acknowledged durable (per record: verbose only) */
	REPORT_EV_INJECT,  /* a fault rule armed or cleared */
	REPORT_EV_FSYNC,   /* an fsync/checkpoint that succeeded */
	REPORT_EV_ERROR,   /* an operation failed (EIO, ENOSPC, ...) */
	REPORT_EV_STATE,   /* page/file state seen in the daemon: dirty, clean, failed */
	REPORT_EV_PANIC,   /* the writer panicked (refused further work, exited) */
	REPORT_EV_CRASH,   /* the workload process was killed */
	REPORT_EV_REBOOT,  /* power cut: every cached page dropped */
	REPORT_EV_READ,    /* a read and what it saw (new / old data) */
	REPORT_EV_RECOVER, /* recovery after the reboot and what it found */
	REPORT_EV_EXEC,    /* an exec-target command started, ran, matched or stopped */
	REPORT_EV_CHECK,   /* a check's outcome */
	REPORT_EV_KIND_COUNT
};

struct report_event {
	double t_ms;                 /* since the scenario started */
	enum report_event_kind kind; /* see above */
	bool bad;                    /* an error or a surprise: drawn red */
	bool verbose;                /* shown only with -v (every operation) */
	char *text;                  /* one line: "fsync → EIO" */
	char *detail;                /* optional (NULL): "rule 1 fired at block 3" */
};

struct report_check {
	char *name;     /* "panic", "checksum", "reads", "loss", "step 4 fsync", ... */
	char *expected; /* what the scenario expected, in words */
	char *observed; /* what the run observed, in the same words */
	bool passed;    /* expected agrees with observed */
};

/* Numbers measured by the run. -1 means "not measured" for every signed field. */
struct report_measures {
	int64_t acked;                /* records acknowledged durable to the workload's caller */
	int64_t lost;                 /* acknowledged records missing after reboot + recovery */
	int64_t recovered;            /* records recovery returned */
	int64_t fsyncs;               /* fsyncs issued by the workload (as the WAL counts them) */
	int64_t fsync_errors;         /* of which failed */
	int64_t corruptions_reported; /* corrupt records recovery reported */
	int64_t bad_records_returned; /* records returned whose checksum fails (must be 0) */
	double loss_window_ms;        /* acknowledgement time span of the lost records */
	double window_limit_ms;       /* batch:<w>: w, the bound the loss window is checked against */
	double throughput;            /* acknowledged records per second during the workload */
	int64_t fault_hits; /* firings of every fault rule (0: a clean run, e.g. a policy measure) */
	bool panicked;      /* the writer panicked */
	bool rebooted;      /* a power cut happened in this scenario */
};

struct report_scenario {
	char *name;
	char *file;         /* the scenario file, as named on the command line or found */
	char *teaches;      /* the one-paragraph lesson */
	char *profile;      /* "ext4-ordered", ... */
	char *target;       /* "wal", "table", "exec" */
	char *sync_policy;  /* "always", "batch:5ms", "os", or NULL for exec */
	char *error_policy; /* "panic", "retry", or NULL */
	enum report_verdict verdict;
	char *error; /* ERROR/SKIPPED: why; MISMATCHED: the first failed check in one line */
	double duration_ms;
	struct report_event *events;
	size_t n_events, cap_events;
	struct report_check *checks;
	size_t n_checks, cap_checks;
	struct report_measures m;
};

struct report_run {
	struct report_scenario **scenarios; /* in the order the scenarios were named */
	size_t n_scenarios, cap_scenarios;
	uint64_t seed;
	int jobs;
	double total_ms;
};

/* ---- The model ---- */

/* report_verdict_name - "matched", "mismatched", "error", "skipped". */
const char *report_verdict_name(enum report_verdict v);
/* report_verdict_parse - the inverse; -EINVAL for an unknown word. */
int report_verdict_parse(const char *name);
/* report_event_kind_name - "write", "fsync", "reboot", ... (stable: used in JSON and CSS). */
const char *report_event_kind_name(enum report_event_kind kind);
/* report_event_kind_parse - the inverse; -EINVAL for an unknown word. */
int report_event_kind_parse(const char *name);

/* report_scenario_new - an empty MATCHED result named NAME with every measure "not measured".
 * NULL on ENOMEM. */
struct report_scenario *report_scenario_new(const char *name);
void report_scenario_free(struct report_scenario *s);

/* report_set - replace the string *field with a copy of VALUE (NULL clears). 0 or -ENOMEM. */
int report_set(char **field, const char *value);

/* report_event_add - append an event (printf-style text; detail may be NULL). Returns the event
 * (owned by S) or NULL on ENOMEM. */
struct report_event *report_event_add(struct report_scenario *s, double t_ms, enum report_event_kind kind,
                                      const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* report_check_add - record a check outcome. passed is computed by the caller. 0 or -ENOMEM. */
int report_check_add(struct report_scenario *s, const char *name, const char *expected, const char *observed,
                     bool passed);

/* report_scenario_finish - settle the verdict from the checks: ERROR/SKIPPED stay as they are;
 * otherwise MISMATCHED (with `error` naming the first failed check) if any check failed, else
 * MATCHED. A scenario with no check at all is an ERROR ("no check ran"): nothing was proved. */
void report_scenario_finish(struct report_scenario *s);

/* report_run_add - append S to RUN (RUN owns it afterwards). 0 or -ENOMEM. */
int report_run_add(struct report_run *run, struct report_scenario *s);
/* report_run_free - free every scenario and the array (RUN itself belongs to the caller). */
void report_run_free(struct report_run *run);
/* report_run_count - how many scenarios have verdict V. */
size_t report_run_count(const struct report_run *run, enum report_verdict v);

/* One row of the policy trade-off table: a scenario that measured acknowledged loss on a power
 * cut under a sync policy. */
struct report_policy_row {
	const struct report_scenario *s; /* name, sync_policy, measures */
};
/* report_policy_rows - the rows of RUN's trade-off table (scenarios with a sync policy, a reboot,
 * acknowledged records, a measured loss and no fault fired: a policy's own cost, not a fault's),
 * ordered by policy then name. *out is malloc'd (free it); returns the
 * count or -ENOMEM. */
int report_policy_rows(const struct report_run *run, struct report_policy_row **out);

/* ---- JSON form (report_json.c): the document and the -j wire form ---- */

/* report_scenario_to_json - the scenario as a JSON object; NULL on ENOMEM. */
json_t *report_scenario_to_json(const struct report_scenario *s);
/* report_scenario_from_json - the inverse. NULL (and a reason in errbuf) on a malformed object. */
struct report_scenario *report_scenario_from_json(json_t *obj, char *errbuf, size_t errlen);
/* report_run_to_json - the whole run with summary counts and the policy table; NULL on ENOMEM. */
json_t *report_run_to_json(const struct report_run *run);

/* ---- Writers ---- */

struct report_sink;

/* The interface every writer fills. Each method returns 0 or a negative errno. */
struct report_writer_ops {
	const char *name; /* "text", "json", "junit", "html" */
	/* begin: the run starts (RUN has no scenario yet) */
	int (*begin)(struct report_sink *sink, const struct report_run *run);
	/* scenario: S has finished (called in completion order) */
	int (*scenario)(struct report_sink *sink, const struct report_scenario *s);
	/* end: every scenario is in RUN (in the order named), total_ms is set */
	int (*end)(struct report_sink *sink, const struct report_run *run);
};

struct report_sink {
	const struct report_writer_ops *ops;
	FILE *out;     /* where the writer writes; owned by the caller */
	int verbosity; /* text only: -1 quiet (summary only), 0 normal, 1 every operation */
	bool colour;   /* text only: ANSI colour (set it only when out is a terminal) */
};

extern const struct report_writer_ops report_text_ops;
extern const struct report_writer_ops report_json_ops;
extern const struct report_writer_ops report_junit_ops;
extern const struct report_writer_ops report_html_ops;

/* report_write_all - begin, every scenario, end: write a finished RUN with one writer.
 * 0 or the first negative errno (including a failed write or flush of sink->out). */
int report_write_all(struct report_sink *sink, const struct report_run *run);

/* report_markup_escape - write TEXT for HTML or XML: &, <, >, " and ' escaped, and control
 * characters other than tab and newline dropped (XML 1.0 cannot carry them). 0 or -EIO. */
int report_markup_escape(FILE *out, const char *text);

/* report_fprintf - fprintf that returns 0 or -EIO (writers chain it to never lose an error). */
int report_fprintf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
