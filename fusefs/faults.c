/*
 * faults.c — the fault table: rules that say which operation fails, where, how and when.
 *
 * The model. Every filesystem operation asks the table one question before it does its work:
 * "does a rule fire here?" (fault_table_check). A rule answers in three steps:
 *
 *   match    Is this call one of mine? The operation must be the rule's, the path (relative to the
 *            mount root) must match the rule's glob, and the byte range the call touches must overlap
 *            the rule's range. A call that matches is counted: its *match number* m = 1, 2, 3...
 *   trigger  Given m, do I fire? Each condition the rule was given must hold (they are ANDed):
 *              after N      m > N                      (the first N matches pass)
 *              nth N        m == N                     (only the Nth match may fire)
 *              sequence P   P[m - after - 1] is 'x'    ('w' passes, a final capital repeats forever,
 *                                                       past the end of P everything passes)
 *              probability  draw(seed, m) < p          (p = 0 never fires, p = 1 always fires)
 *              times N      hits so far < N            (0 = unlimited)
 *            A rule given no condition fires on every match.
 *   effect   What the operation must do: return an errno, or damage the data (corrupt, torn, lost,
 *            misdirected) or sleep (delay). The table only says so; the operation does it.
 *
 * Reproducibility. The probability draw is a pure function of (seed, match number): the m-th output
 * of splitmix64 started at the seed. It does not depend on timing, on other rules or on which thread
 * asked, so the same seed and the same sequence of matching calls fire on the same calls on every
 * run. The draw is a 53-bit uniform double in [0, 1) compared with "< p", which is what makes p = 0
 * never and p = 1 always fire. The per-firing `entropy` handed to data effects (which bits to flip,
 * which sectors survive a torn write) is derived the same way, from another stream of the same seed.
 *
 * Several rules matching one call: every matching rule counts the match (so `after`/`nth` count
 * calls, not firings), but only the first rule (lowest id) whose trigger fires records a hit and
 * decides the effect. A rule whose trigger would have fired behind it records nothing.
 *
 * Asking without calling. fault_table_probe answers "does any rule match this call?" or "could a
 * rule fail it with an errno, now or later?" without counting a match or taking a draw. The read
 * path needs this: the kernel's readahead asks for many blocks in one request and, when it fails,
 * re-reads only the pages the application wants, one by one. Failing the readahead must not spend
 * the trigger, or the application would never see the failure it asked for (see lo_read, ops_read.c).
 *
 * Cost. A table with no rule for an operation answers with one atomic load. Otherwise only that
 * operation's rules are scanned, under a read lock, cheapest test first (byte range, then the glob's
 * literal prefix, then fnmatch); only when some rule matches is the write lock taken to count and
 * decide. Measured: ~3 ns per check with no rule for the op, 0.25-0.55 us with 100 same-op rules that
 * match nothing (against >= 10 us for a FUSE request).
 *
 * Not here: what "corrupt" or "torn" does to a page (the daemon's writeback path), the control
 * protocol (control.c), and block size policy (the daemon passes it to fault_table_new).
 */
#include "faults.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "errname.h"

/* ---- Names ---- */

static const char *const fault_op_names[FAULT_OP_COUNT] = {
    [FAULT_OP_WRITE] = "write",         [FAULT_OP_READ] = "read",
    [FAULT_OP_FSYNC] = "fsync",         [FAULT_OP_FDATASYNC] = "fdatasync",
    [FAULT_OP_WRITEBACK] = "writeback", [FAULT_OP_JOURNAL] = "journal",
    [FAULT_OP_OPEN] = "open",           [FAULT_OP_CREATE] = "create",
    [FAULT_OP_RENAME] = "rename",       [FAULT_OP_UNLINK] = "unlink",
    [FAULT_OP_TRUNCATE] = "truncate",   [FAULT_OP_FALLOCATE] = "fallocate",
    [FAULT_OP_MKDIR] = "mkdir",
};

/* Each data effect, its spelling, and the operations on which it means something (bit i = op i). */
struct fault_effect_desc {
	const char *name;
	enum fault_effect_kind kind;
	unsigned ops; /* 0 = any operation */
};

#define OPBIT(op) (1u << (op))

static const struct fault_effect_desc fault_effects[] = {
    {"corrupt", FAULT_EFFECT_CORRUPT,
     OPBIT(FAULT_OP_READ) | OPBIT(FAULT_OP_WRITE) | OPBIT(FAULT_OP_WRITEBACK)},
    {"torn", FAULT_EFFECT_TORN, OPBIT(FAULT_OP_WRITE) | OPBIT(FAULT_OP_WRITEBACK)},
    {"lost", FAULT_EFFECT_LOST,
     OPBIT(FAULT_OP_WRITE) | OPBIT(FAULT_OP_WRITEBACK) | OPBIT(FAULT_OP_FSYNC) | OPBIT(FAULT_OP_FDATASYNC) |
         OPBIT(FAULT_OP_JOURNAL)},
    {"misdirected", FAULT_EFFECT_MISDIRECTED, OPBIT(FAULT_OP_WRITE) | OPBIT(FAULT_OP_WRITEBACK)},
    {"delay", FAULT_EFFECT_DELAY, 0},
};

/* Operations that touch a byte range of a file, and so accept block/blocks/offset in a rule. */
static const unsigned fault_ranged_ops = OPBIT(FAULT_OP_WRITE) | OPBIT(FAULT_OP_READ) |
                                         OPBIT(FAULT_OP_WRITEBACK) | OPBIT(FAULT_OP_TRUNCATE) |
                                         OPBIT(FAULT_OP_FALLOCATE);

const char *fault_op_name(enum fault_op op)
{
	if ((int)op < 0 || op >= FAULT_OP_COUNT)
		return "?";
	return fault_op_names[op];
}

int fault_op_parse(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	for (int i = 0; i < FAULT_OP_COUNT; i++)
		if (strcmp(name, fault_op_names[i]) == 0)
			return i;
	return -EINVAL;
}

/* ---- Deterministic draws ---- */

/* The n-th output of splitmix64 seeded with SEED (Steele, Lea, Flood 2014), computed directly. */
static uint64_t splitmix64_at(uint64_t seed, uint64_t n)
{
	uint64_t z = seed + n * 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* A uniform double in [0, 1) for match M of a rule seeded with SEED: 53 high bits of the draw. */
static double fault_draw(uint64_t seed, uint64_t m)
{
	return (double)(splitmix64_at(seed, m) >> 11) * 0x1.0p-53;
}

/* Salt separating the entropy stream from the probability stream of the same seed. */
#define FAULT_ENTROPY_SALT 0xD1B54A32D192ED03ull

/* ---- Rules ---- */

struct fault_rule {
	uint64_t id;
	enum fault_op op;
	char *glob;         /* NULL = every path */
	bool glob_literal;  /* no glob metacharacters: compare with strcmp */
	size_t glob_prefix; /* length of the literal text before the first metacharacter (quick reject) */
	bool ranged;
	uint64_t range_start, range_end; /* [start, end) in bytes, when ranged */
	enum fault_effect_kind effect;
	int err;          /* positive errno for FAULT_EFFECT_ERRNO */
	int64_t delay_ns; /* for FAULT_EFFECT_DELAY */
	uint64_t after, nth, times;
	char *sequence; /* NULL = no sequence condition */
	size_t sequence_len;
	bool has_probability;
	double probability;
	uint64_t seed;
	/* counters, protected by the table's lock (written only under the write lock) */
	uint64_t matches, hits;
	json_t *given; /* the rule object as given, for status */
};

/* A growing array of rules, sorted by id (ids only grow, so appending keeps it sorted). */
struct fault_rule_list {
	struct fault_rule **v;
	size_t n, cap;
};

struct fault_table {
	uint32_t block_size;
	pthread_rwlock_t lock;                        /* protects everything below but `armed` */
	struct fault_rule_list all;                   /* every rule: owns them; for status */
	struct fault_rule_list by_op[FAULT_OP_COUNT]; /* the same rules per operation: what check scans */
	uint64_t next_id;
	atomic_uint armed[FAULT_OP_COUNT]; /* by_op[op].n, readable without the lock (fast path) */
};

/* Append RULE to LIST. Returns 0 or -ENOMEM. */
static int fault_rule_list_push(struct fault_rule_list *list, struct fault_rule *rule)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct fault_rule **v = realloc(list->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		list->v = v;
		list->cap = cap;
	}
	list->v[list->n++] = rule;
	return 0;
}

/* Drop from LIST every rule with ID (0 = all); the rules themselves are not freed here. */
static void fault_rule_list_drop(struct fault_rule_list *list, uint64_t id)
{
	size_t kept = 0;
	for (size_t i = 0; i < list->n; i++)
		if (id != 0 && list->v[i]->id != id)
			list->v[kept++] = list->v[i];
	list->n = kept;
}

static void fault_rule_free(struct fault_rule *rule)
{
	if (rule == NULL)
		return;
	free(rule->glob);
	free(rule->sequence);
	json_decref(rule->given);
	free(rule);
}

/* errbuf printf that tolerates a NULL or empty buffer. */
static void fault_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fault_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (errbuf == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* Read KEY as a JSON integer >= MIN into *out. Returns 1 if present, 0 if absent, -EINVAL if bad. */
static int rule_get_uint(json_t *rule, const char *key, uint64_t min, uint64_t *out, char *errbuf,
                         size_t errlen)
{
	json_t *v = json_object_get(rule, key);
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min) {
		fault_err(errbuf, errlen, "'%s' must be an integer >= %" PRIu64, key, min);
		return -EINVAL;
	}
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

/* Read KEY as a non-empty JSON string. Returns 1 if present, 0 if absent, -EINVAL if bad. */
static int rule_get_string(json_t *rule, const char *key, const char **out, char *errbuf, size_t errlen)
{
	json_t *v = json_object_get(rule, key);
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		fault_err(errbuf, errlen, "'%s' must be a non-empty string", key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 1;
}

static const char *const fault_rule_keys[] = {
    "op",    "path",  "block", "blocks", "offset",   "length",      "errno", "effect",
    "delay", "times", "after", "nth",    "sequence", "probability", "seed",
};

/* Parse the range keys (block | blocks | offset+length) into rule. Returns 0 or -EINVAL. */
static int rule_parse_range(json_t *obj, uint32_t block_size, struct fault_rule *rule, char *errbuf,
                            size_t errlen)
{
	int has_block = json_object_get(obj, "block") != NULL;
	int has_blocks = json_object_get(obj, "blocks") != NULL;
	int has_offset = json_object_get(obj, "offset") != NULL;
	int has_length = json_object_get(obj, "length") != NULL;
	uint64_t first = 0, last = 0, offset = 0, length = 0;
	int rc;

	if (has_block + has_blocks + (has_offset || has_length) > 1) {
		fault_err(errbuf, errlen, "give only one of 'block', 'blocks', 'offset'+'length'");
		return -EINVAL;
	}
	if (has_block) {
		if ((rc = rule_get_uint(obj, "block", 0, &first, errbuf, errlen)) < 0)
			return rc;
		last = first;
	} else if (has_blocks) {
		json_t *v = json_object_get(obj, "blocks");
		json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
		if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(a) ||
		    !json_is_integer(b) || json_integer_value(a) < 0 ||
		    json_integer_value(b) < json_integer_value(a)) {
			fault_err(errbuf, errlen, "'blocks' must be [first, last] with 0 <= first <= last");
			return -EINVAL;
		}
		first = (uint64_t)json_integer_value(a);
		last = (uint64_t)json_integer_value(b);
	} else if (has_offset || has_length) {
		if (!has_offset || !has_length) {
			fault_err(errbuf, errlen, "'%s' needs '%s'", has_offset ? "offset" : "length",
			          has_offset ? "length" : "offset");
			return -EINVAL;
		}
		if ((rc = rule_get_uint(obj, "offset", 0, &offset, errbuf, errlen)) < 0)
			return rc;
		if ((rc = rule_get_uint(obj, "length", 1, &length, errbuf, errlen)) < 0)
			return rc;
		if (offset > UINT64_MAX - length) {
			fault_err(errbuf, errlen, "'offset' + 'length' overflows");
			return -EINVAL;
		}
		rule->ranged = true;
		rule->range_start = offset;
		rule->range_end = offset + length;
		return 0;
	} else {
		return 0;
	}
	if (last >= UINT64_MAX / block_size) {
		fault_err(errbuf, errlen, "block %" PRIu64 " is beyond any file", last);
		return -EINVAL;
	}
	rule->ranged = true;
	rule->range_start = first * block_size;
	rule->range_end = (last + 1) * block_size;
	return 0;
}

/* Parse "errno" or "effect" (+ "delay") into rule. Returns 0 or -EINVAL. */
static int rule_parse_effect(json_t *obj, struct fault_rule *rule, char *errbuf, size_t errlen)
{
	const char *errname = NULL, *effect = NULL, *delay = NULL;
	int rc;

	if ((rc = rule_get_string(obj, "errno", &errname, errbuf, errlen)) < 0)
		return rc;
	if ((rc = rule_get_string(obj, "effect", &effect, errbuf, errlen)) < 0)
		return rc;
	if ((rc = rule_get_string(obj, "delay", &delay, errbuf, errlen)) < 0)
		return rc;
	if (errname != NULL && effect != NULL) {
		fault_err(errbuf, errlen, "give 'errno' or 'effect', not both");
		return -EINVAL;
	}
	if (errname == NULL && effect == NULL) {
		fault_err(errbuf, errlen, "missing 'errno' or 'effect'");
		return -EINVAL;
	}
	if (errname != NULL) {
		int err = errname_parse(errname);
		if (err <= 0) {
			fault_err(errbuf, errlen, "unknown errno '%s'", errname);
			return -EINVAL;
		}
		if (delay != NULL) {
			fault_err(errbuf, errlen, "'delay' goes with effect 'delay' only");
			return -EINVAL;
		}
		rule->effect = FAULT_EFFECT_ERRNO;
		rule->err = err;
		return 0;
	}
	/* "delay:5ms" is accepted as a spelling of effect "delay" with delay "5ms". */
	char name[16];
	const char *colon = strchr(effect, ':');
	size_t namelen = colon ? (size_t)(colon - effect) : strlen(effect);
	if (namelen >= sizeof(name))
		namelen = sizeof(name) - 1;
	memcpy(name, effect, namelen);
	name[namelen] = '\0';
	const struct fault_effect_desc *desc = NULL;
	for (size_t i = 0; i < sizeof(fault_effects) / sizeof(fault_effects[0]); i++)
		if (strcmp(name, fault_effects[i].name) == 0 && (colon == NULL || namelen == strlen(name)))
			desc = &fault_effects[i];
	if (desc == NULL || (colon != NULL && desc->kind != FAULT_EFFECT_DELAY)) {
		fault_err(errbuf, errlen,
		          "unknown effect '%s' (corrupt, torn, lost, misdirected, delay:DURATION)", effect);
		return -EINVAL;
	}
	if (desc->ops != 0 && !(desc->ops & OPBIT(rule->op))) {
		fault_err(errbuf, errlen, "effect '%s' does not apply to op '%s'", desc->name,
		          fault_op_name(rule->op));
		return -EINVAL;
	}
	rule->effect = desc->kind;
	if (desc->kind != FAULT_EFFECT_DELAY) {
		if (delay != NULL) {
			fault_err(errbuf, errlen, "'delay' goes with effect 'delay' only");
			return -EINVAL;
		}
		return 0;
	}
	if (colon != NULL && delay != NULL) {
		fault_err(errbuf, errlen, "give the delay once ('delay:D' or 'delay')");
		return -EINVAL;
	}
	const char *spelled = colon ? colon + 1 : delay;
	if (spelled == NULL) {
		fault_err(errbuf, errlen, "effect 'delay' needs a duration ('delay:5ms')");
		return -EINVAL;
	}
	int64_t ns;
	if (duration_parse(spelled, 0, &ns) < 0 || ns <= 0) {
		fault_err(errbuf, errlen, "bad delay '%s' (e.g. 5ms, 250us)", spelled);
		return -EINVAL;
	}
	rule->delay_ns = ns;
	return 0;
}

/* Parse the trigger keys into rule. Returns 0 or -EINVAL. */
static int rule_parse_trigger(json_t *obj, struct fault_rule *rule, char *errbuf, size_t errlen)
{
	const char *seq = NULL;
	int rc;

	if ((rc = rule_get_uint(obj, "times", 0, &rule->times, errbuf, errlen)) < 0)
		return rc;
	if ((rc = rule_get_uint(obj, "after", 0, &rule->after, errbuf, errlen)) < 0)
		return rc;
	if ((rc = rule_get_uint(obj, "nth", 1, &rule->nth, errbuf, errlen)) < 0)
		return rc;
	if (rule->nth != 0 && rule->nth <= rule->after) {
		fault_err(errbuf, errlen, "'nth' %" PRIu64 " can never fire after skipping 'after' %" PRIu64,
		          rule->nth, rule->after);
		return -EINVAL;
	}
	if ((rc = rule_get_string(obj, "sequence", &seq, errbuf, errlen)) < 0)
		return rc;
	if (seq != NULL) {
		size_t n = strlen(seq);
		for (size_t i = 0; i < n; i++) {
			char c = seq[i];
			if (c != 'w' && c != 'x' && c != 'W' && c != 'X') {
				fault_err(errbuf, errlen, "bad 'sequence' '%s': '%c' is not w, x, W or X",
				          seq, c);
				return -EINVAL;
			}
			if ((c == 'W' || c == 'X') && i + 1 != n) {
				fault_err(errbuf, errlen,
				          "bad 'sequence' '%s': a capital may only end the pattern", seq);
				return -EINVAL;
			}
		}
		rule->sequence = strdup(seq);
		if (rule->sequence == NULL)
			return -ENOMEM;
		rule->sequence_len = n;
	}
	json_t *p = json_object_get(obj, "probability");
	if (p != NULL) {
		double v = json_number_value(p);
		if (!json_is_number(p) || !isfinite(v) || v < 0.0 || v > 1.0) {
			fault_err(errbuf, errlen, "'probability' must be a number in [0, 1]");
			return -EINVAL;
		}
		rule->has_probability = true;
		rule->probability = v;
	}
	if ((rc = rule_get_uint(obj, "seed", 0, &rule->seed, errbuf, errlen)) < 0)
		return rc;
	if (rc == 1 && p == NULL) {
		fault_err(errbuf, errlen, "'seed' goes with 'probability'");
		return -EINVAL;
	}
	return 0;
}

/*
 * rule_parse - validate OBJ and fill a new rule (id 0, counters 0). Returns 0 with *out set, or a
 * negative errno with a one-line reason in errbuf.
 */
static int rule_parse(json_t *obj, uint32_t block_size, struct fault_rule **out, char *errbuf, size_t errlen)
{
	const char *op = NULL, *path = NULL;
	const char *key;
	json_t *value;
	int rc;

	*out = NULL;
	if (!json_is_object(obj)) {
		fault_err(errbuf, errlen, "a rule must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(obj, key, value)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(fault_rule_keys) / sizeof(fault_rule_keys[0]); i++)
			known = known || strcmp(key, fault_rule_keys[i]) == 0;
		if (!known) {
			fault_err(errbuf, errlen, "unknown key '%.64s'", key);
			return -EINVAL;
		}
	}
	struct fault_rule *rule = calloc(1, sizeof(*rule));
	if (rule == NULL)
		return -ENOMEM;
	if ((rc = rule_get_string(obj, "op", &op, errbuf, errlen)) <= 0) {
		if (rc == 0)
			fault_err(errbuf, errlen, "missing 'op'");
		rc = -EINVAL;
		goto out_err;
	}
	int opnum = fault_op_parse(op);
	if (opnum < 0) {
		fault_err(errbuf, errlen, "unknown op '%.64s'", op);
		rc = -EINVAL;
		goto out_err;
	}
	rule->op = (enum fault_op)opnum;
	if ((rc = rule_get_string(obj, "path", &path, errbuf, errlen)) < 0)
		goto out_err;
	if (path != NULL) {
		while (*path == '/')
			path++;
		if (*path != '\0') {
			rule->glob = strdup(path);
			if (rule->glob == NULL) {
				rc = -ENOMEM;
				goto out_err;
			}
			rule->glob_literal = strpbrk(path, "*?[\\") == NULL;
			rule->glob_prefix = strcspn(path, "*?[\\");
		}
	}
	if ((rc = rule_parse_range(obj, block_size, rule, errbuf, errlen)) < 0)
		goto out_err;
	if (rule->ranged && !(fault_ranged_ops & OPBIT(rule->op))) {
		fault_err(errbuf, errlen, "op '%s' has no byte range: drop 'block'/'blocks'/'offset'", op);
		rc = -EINVAL;
		goto out_err;
	}
	if ((rc = rule_parse_effect(obj, rule, errbuf, errlen)) < 0)
		goto out_err;
	if ((rc = rule_parse_trigger(obj, rule, errbuf, errlen)) < 0)
		goto out_err;
	*out = rule;
	return 0;
out_err:
	if (rc == -ENOMEM)
		fault_err(errbuf, errlen, "out of memory");
	fault_rule_free(rule);
	return rc;
}

int fault_rule_validate_json(json_t *rule, char *errbuf, size_t errlen)
{
	struct fault_rule *parsed;
	int rc = rule_parse(rule, 4096, &parsed, errbuf, errlen);
	fault_rule_free(parsed);
	return rc;
}

/* ---- Matching and triggers ---- */

/* Does RULE match this call? Reads only the rule's immutable fields. */
static bool rule_matches(const struct fault_rule *rule, enum fault_op op, const char *path, uint64_t offset,
                         uint64_t length)
{
	if (rule->op != op)
		return false;
	if (rule->ranged && length != 0) {
		uint64_t end = offset > UINT64_MAX - length ? UINT64_MAX : offset + length;
		if (!(offset < rule->range_end && rule->range_start < end))
			return false;
	}
	if (rule->glob != NULL) {
		if (rule->glob_literal)
			return strcmp(rule->glob, path) == 0;
		if (strncmp(rule->glob, path, rule->glob_prefix) != 0)
			return false;
		return fnmatch(rule->glob, path, 0) == 0;
	}
	return true;
}

/* Does RULE fire on its match number rule->matches (already counted)? Caller holds the write lock. */
static bool rule_fires(const struct fault_rule *rule)
{
	uint64_t m = rule->matches;

	if (m <= rule->after)
		return false;
	if (rule->nth != 0 && m != rule->nth)
		return false;
	if (rule->times != 0 && rule->hits >= rule->times)
		return false;
	if (rule->sequence != NULL) {
		uint64_t k = m - rule->after - 1;
		char c;
		if (k < rule->sequence_len)
			c = rule->sequence[k];
		else
			c = rule->sequence[rule->sequence_len - 1];
		if (k >= rule->sequence_len && c != 'W' && c != 'X')
			return false; /* past the end without a repeating capital: pass */
		if (c == 'w' || c == 'W')
			return false;
	}
	if (rule->has_probability && !(fault_draw(rule->seed, m) < rule->probability))
		return false;
	return true;
}

/*
 * Can RULE still fire, on its next match or a later one? Reads the counters only, under (at
 * least) the read lock; draws nothing. A probability in (0, 1) may fire on some later match, so it
 * counts as "can" without looking at the draws (which would tell only about one match number).
 */
static bool rule_may_fire(const struct fault_rule *rule)
{
	uint64_t next = rule->matches + 1;

	if (rule->times != 0 && rule->hits >= rule->times)
		return false;
	if (rule->nth != 0 && next > rule->nth)
		return false;
	if (rule->has_probability && !(rule->probability > 0.0))
		return false;
	if (rule->sequence != NULL) {
		/* The letter for match `next` and every later one: is any of them a failure? */
		uint64_t k = next > rule->after ? next - rule->after - 1 : 0;
		char last = rule->sequence[rule->sequence_len - 1];

		if (last == 'X')
			return true;
		for (uint64_t i = k; i < rule->sequence_len; i++)
			if (rule->sequence[i] == 'x')
				return true;
		return false;
	}
	return true;
}

/* Fill *HIT for RULE firing on its match number M (HIT may be NULL). */
static void rule_fill_hit(const struct fault_rule *rule, uint64_t m, struct fault_hit *hit)
{
	if (hit == NULL)
		return;
	memset(hit, 0, sizeof(*hit));
	hit->rule_id = rule->id;
	hit->effect = rule->effect;
	hit->err = rule->err;
	hit->delay_ns = rule->delay_ns;
	hit->entropy = m ? splitmix64_at(rule->seed ^ FAULT_ENTROPY_SALT ^ rule->id, m) : 0;
}

/* ---- The table ---- */

struct fault_table *fault_table_new(uint32_t block_size)
{
	if (block_size == 0)
		return NULL;
	struct fault_table *table = calloc(1, sizeof(*table));
	if (table == NULL)
		return NULL;
	if (pthread_rwlock_init(&table->lock, NULL) != 0) {
		free(table);
		return NULL;
	}
	table->block_size = block_size;
	table->next_id = 1;
	for (int i = 0; i < FAULT_OP_COUNT; i++)
		atomic_init(&table->armed[i], 0);
	return table;
}

void fault_table_free(struct fault_table *table)
{
	if (table == NULL)
		return;
	for (size_t i = 0; i < table->all.n; i++)
		fault_rule_free(table->all.v[i]);
	free(table->all.v);
	for (int op = 0; op < FAULT_OP_COUNT; op++)
		free(table->by_op[op].v);
	pthread_rwlock_destroy(&table->lock);
	free(table);
}

int64_t fault_table_add_json(struct fault_table *table, json_t *rule_json, char *errbuf, size_t errlen)
{
	struct fault_rule *rule;
	int rc;

	if (table == NULL) {
		fault_err(errbuf, errlen, "no fault table");
		return -EINVAL;
	}
	if ((rc = rule_parse(rule_json, table->block_size, &rule, errbuf, errlen)) < 0)
		return rc;
	rule->given = json_deep_copy(rule_json);
	if (rule->given == NULL) {
		fault_rule_free(rule);
		fault_err(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_rwlock_wrlock(&table->lock);
	if (fault_rule_list_push(&table->all, rule) < 0) {
		pthread_rwlock_unlock(&table->lock);
		fault_rule_free(rule);
		fault_err(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	if (fault_rule_list_push(&table->by_op[rule->op], rule) < 0) {
		table->all.n--;
		pthread_rwlock_unlock(&table->lock);
		fault_rule_free(rule);
		fault_err(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	rule->id = table->next_id++;
	atomic_fetch_add(&table->armed[rule->op], 1);
	int64_t id = (int64_t)rule->id;
	pthread_rwlock_unlock(&table->lock);
	return id;
}

int fault_table_remove(struct fault_table *table, uint64_t id)
{
	int rc = -ENOENT;
	size_t kept = 0;

	if (table == NULL)
		return -EINVAL;
	pthread_rwlock_wrlock(&table->lock);
	if (id == 0)
		rc = 0;
	for (int op = 0; op < FAULT_OP_COUNT; op++) {
		fault_rule_list_drop(&table->by_op[op], id);
		atomic_store(&table->armed[op], (unsigned)table->by_op[op].n);
	}
	for (size_t i = 0; i < table->all.n; i++) {
		struct fault_rule *rule = table->all.v[i];
		if (id == 0 || rule->id == id) {
			fault_rule_free(rule);
			rc = 0;
		} else {
			table->all.v[kept++] = rule;
		}
	}
	table->all.n = kept;
	pthread_rwlock_unlock(&table->lock);
	return rc;
}

/* Any rule armed for OP (a lock-free look: most calls have none and stop here)? */
static bool op_armed(struct fault_table *table, enum fault_op op)
{
	return table != NULL && (int)op >= 0 && op < FAULT_OP_COUNT &&
	       atomic_load_explicit(&table->armed[op], memory_order_relaxed) != 0;
}

bool fault_table_check(struct fault_table *table, enum fault_op op, const char *path, uint64_t offset,
                       uint64_t length, struct fault_hit *hit)
{
	bool any = false, fired = false;

	if (!op_armed(table, op))
		return false;
	if (path == NULL)
		path = "";
	/* Fast path: most calls match no rule; find out under the shared lock. */
	pthread_rwlock_rdlock(&table->lock);
	const struct fault_rule_list *list = &table->by_op[op];
	for (size_t i = 0; i < list->n && !any; i++)
		any = rule_matches(list->v[i], op, path, offset, length);
	pthread_rwlock_unlock(&table->lock);
	if (!any)
		return false;
	/* Something matches: count and decide under the exclusive lock (the rules may have changed). */
	pthread_rwlock_wrlock(&table->lock);
	for (size_t i = 0; i < list->n; i++) {
		struct fault_rule *rule = list->v[i];
		if (!rule_matches(rule, op, path, offset, length))
			continue;
		rule->matches++;
		if (fired || !rule_fires(rule))
			continue;
		rule->hits++;
		fired = true;
		rule_fill_hit(rule, rule->matches, hit);
	}
	pthread_rwlock_unlock(&table->lock);
	return fired;
}

bool fault_table_probe(struct fault_table *table, enum fault_op op, const char *path, uint64_t offset,
                       uint64_t length, enum fault_probe what, struct fault_hit *hit)
{
	bool found = false;

	if (!op_armed(table, op))
		return false;
	if (path == NULL)
		path = "";
	/* The read lock suffices: counters are written only under the write lock. */
	pthread_rwlock_rdlock(&table->lock);
	const struct fault_rule_list *list = &table->by_op[op];
	for (size_t i = 0; i < list->n && !found; i++) {
		const struct fault_rule *rule = list->v[i];
		if (!rule_matches(rule, op, path, offset, length))
			continue;
		if (what == FAULT_PROBE_MAY_FAIL &&
		    (rule->effect != FAULT_EFFECT_ERRNO || !rule_may_fire(rule)))
			continue;
		found = true;
		rule_fill_hit(rule, 0, hit);
	}
	pthread_rwlock_unlock(&table->lock);
	return found;
}

json_t *fault_table_status_json(struct fault_table *table)
{
	json_t *out = json_array();
	if (out == NULL || table == NULL)
		return out;
	pthread_rwlock_rdlock(&table->lock);
	for (size_t i = 0; i < table->all.n; i++) {
		struct fault_rule *rule = table->all.v[i];
		json_t *obj = json_deep_copy(rule->given);
		bool ok = obj != NULL &&
		          json_object_set_new(obj, "id", json_integer((json_int_t)rule->id)) == 0 &&
		          json_object_set_new(obj, "matches", json_integer((json_int_t)rule->matches)) == 0 &&
		          json_object_set_new(obj, "hits", json_integer((json_int_t)rule->hits)) == 0;
		if (!ok)
			json_decref(obj);
		/* json_array_append_new takes the reference even when it fails */
		if (!ok || json_array_append_new(out, obj) < 0) {
			pthread_rwlock_unlock(&table->lock);
			json_decref(out);
			return NULL;
		}
	}
	pthread_rwlock_unlock(&table->lock);
	return out;
}
