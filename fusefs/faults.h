/*
 * faults.h — fault rules: what to match, what to do, when to fire. The contract between the
 * control plane (which adds and removes rules) and the filesystem operations (which ask, at each
 * operation, "does a rule fire here?").
 *
 * A rule is match + effect + trigger:
 *   match    an operation (FAULT_OP_*), an optional path glob relative to the mount root
 *            (fnmatch(3) with FNM_PATHNAME off: "*" matches across '/'), and an optional byte range
 *            [range_start, range_end) within the file. Block numbers from the command line are
 *            turned into byte ranges with the mount's block size when the rule is added.
 *   effect   an errno (FAULT_EFFECT_ERRNO), or a data effect: corrupt (flip bits of the data as
 *            persisted at writeback, or as returned on read), torn (only some 512-byte sectors
 *            of a page persist at writeback), lost (success reported, nothing persisted),
 *            misdirected (persisted at another block of the file), delay (added latency).
 *   trigger  decided per *matching* call, counted from 1:
 *              after N       the first N matches pass
 *              nth N         only the Nth match may fire
 *              sequence P    per match (after `after`): 'w' pass once, 'x' fail once; a final
 *                            capital ('W' or 'X') repeats forever; past the end: pass
 *              probability p with seed s: fires when a deterministic draw (seed, match number)
 *                            is < p; p = 0 never fires, p = 1 always fires
 *              times N       at most N firings in all (0 = unlimited)
 *            All given conditions must hold for a firing.
 *
 * Thread-safety: a fault_table is shared by all FUSE worker threads and the control thread;
 * every function here takes the table's own lock.
 */
#ifndef FSYNCLAB_FAULTS_H
#define FSYNCLAB_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum fault_op {
	FAULT_OP_WRITE,
	FAULT_OP_READ,
	FAULT_OP_FSYNC,
	FAULT_OP_FDATASYNC,
	FAULT_OP_WRITEBACK, /* writeback of chosen pages (at fsync or background flush) */
	FAULT_OP_JOURNAL,   /* the filesystem's metadata/journal commit performed by an fsync */
	FAULT_OP_OPEN,
	FAULT_OP_CREATE,
	FAULT_OP_RENAME,
	FAULT_OP_UNLINK,
	FAULT_OP_TRUNCATE,
	FAULT_OP_FALLOCATE,
	FAULT_OP_MKDIR,
	FAULT_OP_COUNT
};

enum fault_effect_kind {
	FAULT_EFFECT_ERRNO,
	FAULT_EFFECT_CORRUPT,
	FAULT_EFFECT_TORN,
	FAULT_EFFECT_LOST,
	FAULT_EFFECT_MISDIRECTED,
	FAULT_EFFECT_DELAY,
};

/* What a firing rule asks the operation to do. */
struct fault_hit {
	uint64_t rule_id;
	enum fault_effect_kind effect;
	int err;          /* positive errno, for FAULT_EFFECT_ERRNO */
	int64_t delay_ns; /* for FAULT_EFFECT_DELAY */
	uint64_t entropy; /* deterministic per firing (seed, match): which bits/sectors to damage */
};

struct fault_table;

/* fault_op_name / fault_op_parse - "writeback" <-> FAULT_OP_WRITEBACK; parse returns -EINVAL. */
const char *fault_op_name(enum fault_op op);
int fault_op_parse(const char *name);

/* fault_table_new - an empty table; block_size converts "block N" to bytes. NULL on ENOMEM. */
struct fault_table *fault_table_new(uint32_t block_size);
void fault_table_free(struct fault_table *table);

/*
 * fault_table_add_json - validate a rule given as a JSON object (the control protocol's form, see
 * control.h) and arm it. Returns the new rule id (> 0), or a negative errno with a one-line reason
 * in errbuf (e.g. "unknown op 'wrte'", "--nth and --times 0 ..."); nothing is armed on error.
 */
int64_t fault_table_add_json(struct fault_table *table, json_t *rule, char *errbuf, size_t errlen);

/*
 * fault_rule_validate_json - check a rule object without arming it (the scenario parser uses this
 * so that an invalid scenario is refused before anything is mounted). Returns 0, or -EINVAL with a
 * one-line reason in errbuf naming the offending key or value.
 */
int fault_rule_validate_json(json_t *rule, char *errbuf, size_t errlen);

/* fault_table_remove - disarm rule ID (0 = every rule). Returns 0 or -ENOENT. */
int fault_table_remove(struct fault_table *table, uint64_t id);

/*
 * fault_table_check - called by an operation before (or, for writeback, instead of) doing its
 * work. PATH is relative to the mount root without a leading '/' ("" for the root itself);
 * [offset, offset+length) is the byte range touched (length 0 = the whole file / not ranged).
 * Every matching rule counts the match; the first rule (lowest id) whose trigger fires fills *hit
 * and returns true. Returns false when nothing fires. Cheap when no rule is armed for OP.
 */
bool fault_table_check(struct fault_table *table, enum fault_op op, const char *path, uint64_t offset,
                       uint64_t length, struct fault_hit *hit);

/* What fault_table_probe asks about the rules matching a call. */
enum fault_probe {
	FAULT_PROBE_MATCH,    /* is there any rule matching it (live or spent)? */
	FAULT_PROBE_MAY_FAIL, /* is there a rule with an errno effect that can still fire on it? */
};

/*
 * fault_table_probe - ask about a call without making it: arguments as for fault_table_check.
 * "Can still fire" means on this match or a later one: a rule whose `times` are spent, that is
 * past its `nth`, past the end of a sequence with no repeating 'X' left, or has probability 0
 * cannot. Nothing changes: no match is counted, no hit recorded, no draw taken, so every rule
 * later fires on exactly the calls it would have fired on had the question not been asked.
 * Returns true and fills *HIT (may be NULL; entropy 0) from the first (lowest id) such rule.
 * The read path uses it to fail a readahead request without spending a trigger (docs/faults.md).
 */
bool fault_table_probe(struct fault_table *table, enum fault_op op, const char *path, uint64_t offset,
                       uint64_t length, enum fault_probe what, struct fault_hit *hit);

/* fault_table_status_json - every rule as given, with "id", "matches" and "hits" counters. */
json_t *fault_table_status_json(struct fault_table *table);

#endif
