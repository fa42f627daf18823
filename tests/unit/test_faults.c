/*
 * test_faults.c — unit tests of fusefs/faults.c: rule validation, matching (op, path glob, byte
 * range overlap) and every trigger (after, nth, times, sequence, seeded probability), and probes
 * (fault_table_probe), which ask without counting.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "faults.h"

#define BS 4096

/* Add the rule spelled as JSON text; returns its id (asserts success). */
static int64_t add(struct fault_table *t, const char *text)
{
	char why[256] = "";
	json_error_t jerr;
	json_t *rule = json_loads(text, 0, &jerr);
	assert_non_null(rule);
	int64_t id = fault_table_add_json(t, rule, why, sizeof(why));
	if (id <= 0)
		fprintf(stderr, "rejected %s: %s\n", text, why);
	json_decref(rule);
	assert_true(id > 0);
	return id;
}

/* Validate the rule spelled as JSON text; returns the result and the reason. */
static int validate(const char *text, char *why, size_t len)
{
	json_error_t jerr;
	json_t *rule = json_loads(text, 0, &jerr);
	assert_non_null(rule);
	why[0] = '\0';
	int rc = fault_rule_validate_json(rule, why, len);
	json_decref(rule);
	return rc;
}

/* One call of OP on PATH for the whole file; true if a rule fires. */
static bool fires(struct fault_table *t, enum fault_op op, const char *path)
{
	struct fault_hit hit;
	return fault_table_check(t, op, path, 0, 0, &hit);
}

/* The firing pattern of N calls as a string of 'x' (fired) and 'w' (passed). */
static void pattern(struct fault_table *t, int n, char *out)
{
	for (int i = 0; i < n; i++)
		out[i] = fires(t, FAULT_OP_WRITE, "f") ? 'x' : 'w';
	out[n] = '\0';
}

static void test_op_names_round_trip(void **state)
{
	(void)state;
	for (int op = 0; op < FAULT_OP_COUNT; op++)
		assert_int_equal(fault_op_parse(fault_op_name((enum fault_op)op)), op);
	assert_int_equal(fault_op_parse("wrte"), -EINVAL);
	assert_int_equal(fault_op_parse("journal"), FAULT_OP_JOURNAL);
}

static void test_validation_accepts_well_formed_rules(void **state)
{
	(void)state;
	char why[256];
	const char *good[] = {
	    "{\"op\":\"writeback\",\"block\":0,\"errno\":\"EIO\",\"times\":1}",
	    "{\"op\":\"write\",\"path\":\"*.log\",\"blocks\":[2,5],\"errno\":\"ENOSPC\"}",
	    "{\"op\":\"read\",\"offset\":100,\"length\":10,\"effect\":\"corrupt\"}",
	    "{\"op\":\"fsync\",\"effect\":\"delay\",\"delay\":\"5ms\"}",
	    "{\"op\":\"fsync\",\"effect\":\"delay:250us\"}",
	    "{\"op\":\"writeback\",\"effect\":\"torn\",\"sequence\":\"wwxW\"}",
	    "{\"op\":\"journal\",\"errno\":\"eio\",\"after\":2,\"nth\":3}",
	    "{\"op\":\"write\",\"errno\":\"EIO\",\"probability\":0.5,\"seed\":42}",
	    "{\"op\":\"write\",\"errno\":\"EIO\",\"probability\":1}",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = validate(good[i], why, sizeof(why));
		if (rc != 0)
			fprintf(stderr, "%s: %s\n", good[i], why);
		assert_int_equal(rc, 0);
	}
}

static void test_validation_rejects_bad_rules_naming_the_word(void **state)
{
	(void)state;
	struct {
		const char *rule, *word;
	} bad[] = {
	    {"{\"op\":\"wrte\",\"errno\":\"EIO\"}", "wrte"},
	    {"{\"errno\":\"EIO\"}", "op"},
	    {"{\"op\":\"write\"}", "errno"},
	    {"{\"op\":\"write\",\"errno\":\"EBOGUS\"}", "EBOGUS"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"effect\":\"lost\"}", "errno"},
	    {"{\"op\":\"write\",\"effect\":\"melt\"}", "melt"},
	    {"{\"op\":\"open\",\"effect\":\"torn\"}", "torn"},
	    {"{\"op\":\"fsync\",\"effect\":\"delay\"}", "delay"},
	    {"{\"op\":\"fsync\",\"effect\":\"delay:5\"}", "5"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"blok\":1}", "blok"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"block\":1,\"blocks\":[1,2]}", "block"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"blocks\":[5,2]}", "blocks"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"block\":-1}", "block"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"offset\":5}", "length"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"offset\":5,\"length\":0}", "length"},
	    {"{\"op\":\"mkdir\",\"errno\":\"EIO\",\"block\":0}", "mkdir"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"nth\":0}", "nth"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"nth\":2,\"after\":2}", "nth"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"times\":1.5}", "times"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"sequence\":\"wXw\"}", "wXw"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"sequence\":\"wyx\"}", "y"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"sequence\":\"\"}", "sequence"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"probability\":1.5}", "probability"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"probability\":\"half\"}", "probability"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"seed\":3}", "seed"},
	    {"{\"op\":\"write\",\"errno\":\"EIO\",\"path\":7}", "path"},
	    {"[1,2]", "object"},
	};
	char why[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = validate(bad[i].rule, why, sizeof(why));
		if (rc != -EINVAL || strstr(why, bad[i].word) == NULL)
			fprintf(stderr, "%s -> %d '%s' (wanted '%s')\n", bad[i].rule, rc, why, bad[i].word);
		assert_int_equal(rc, -EINVAL);
		assert_non_null(strstr(why, bad[i].word));
	}
}

static void test_invalid_rule_arms_nothing(void **state)
{
	(void)state;
	struct fault_table *t = fault_table_new(BS);
	json_t *rule = json_pack("{s:s,s:s,s:i}", "op", "write", "errno", "EIO", "nth", 0);
	char why[128];
	assert_true(fault_table_add_json(t, rule, why, sizeof(why)) < 0);
	json_decref(rule);
	assert_false(fires(t, FAULT_OP_WRITE, "f"));
	json_t *st = fault_table_status_json(t);
	assert_int_equal(json_array_size(st), 0);
	json_decref(st);
	fault_table_free(t);
}

static void test_match_by_op(void **state)
{
	(void)state;
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"fsync\",\"errno\":\"EIO\"}");
	assert_false(fires(t, FAULT_OP_WRITE, "a"));
	assert_false(fires(t, FAULT_OP_FDATASYNC, "a"));
	assert_true(fires(t, FAULT_OP_FSYNC, "a"));
	fault_table_free(t);
}

static void test_match_by_path_glob(void **state)
{
	(void)state;
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"write\",\"path\":\"*.log\",\"errno\":\"EIO\"}");
	assert_true(fires(t, FAULT_OP_WRITE, "a.log"));
	assert_true(fires(t, FAULT_OP_WRITE, "dir/sub/b.log")); /* '*' crosses '/' */
	assert_false(fires(t, FAULT_OP_WRITE, "a.log.1"));
	assert_false(fires(t, FAULT_OP_WRITE, "a.txt"));
	fault_table_remove(t, 0);
	add(t, "{\"op\":\"write\",\"path\":\"/data/file\",\"errno\":\"EIO\"}"); /* leading '/' tolerated */
	assert_true(fires(t, FAULT_OP_WRITE, "data/file"));
	assert_false(fires(t, FAULT_OP_WRITE, "data/file2"));
	assert_false(fires(t, FAULT_OP_WRITE, "data"));
	fault_table_remove(t, 0);
	add(t, "{\"op\":\"write\",\"path\":\"wal/seg-[0-9]?\",\"errno\":\"EIO\"}");
	assert_true(fires(t, FAULT_OP_WRITE, "wal/seg-42"));
	assert_false(fires(t, FAULT_OP_WRITE, "wal/seg-x2"));
	assert_false(fires(t, FAULT_OP_WRITE, "wax/seg-42"));
	fault_table_remove(t, 0);
	/* path and block must both match */
	struct fault_hit hit;
	add(t, "{\"op\":\"write\",\"path\":\"db/*.log\",\"block\":1,\"errno\":\"EIO\"}");
	assert_true(fault_table_check(t, FAULT_OP_WRITE, "db/a.log", 4096, 10, &hit));
	assert_false(fault_table_check(t, FAULT_OP_WRITE, "db/a.txt", 4096, 10, &hit));
	assert_false(fault_table_check(t, FAULT_OP_WRITE, "db/a.log", 0, 10, &hit));
	assert_false(fault_table_check(t, FAULT_OP_WRITE, "dc/a.log", 4096, 10, &hit));
	fault_table_free(t);
}

static void test_match_by_block_and_byte_range_overlap(void **state)
{
	(void)state;
	struct fault_hit hit;
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"writeback\",\"block\":2,\"errno\":\"EIO\"}"); /* [8192, 12288) */
	assert_false(fault_table_check(t, FAULT_OP_WRITEBACK, "f", 0, 8192, &hit));
	assert_true(fault_table_check(t, FAULT_OP_WRITEBACK, "f", 0, 8193, &hit));
	assert_true(fault_table_check(t, FAULT_OP_WRITEBACK, "f", 12287, 1, &hit));
	assert_false(fault_table_check(t, FAULT_OP_WRITEBACK, "f", 12288, 4096, &hit));
	assert_true(fault_table_check(t, FAULT_OP_WRITEBACK, "f", 0, 0, &hit)); /* whole file */
	assert_true(fault_table_check(t, FAULT_OP_WRITEBACK, "f", UINT64_MAX - 1, 5, &hit) == false);
	fault_table_remove(t, 0);

	add(t, "{\"op\":\"write\",\"blocks\":[1,3],\"errno\":\"EIO\"}"); /* [4096, 16384) inclusive of 3 */
	assert_false(fault_table_check(t, FAULT_OP_WRITE, "f", 0, 4096, &hit));
	assert_true(fault_table_check(t, FAULT_OP_WRITE, "f", 16383, 1, &hit));
	assert_false(fault_table_check(t, FAULT_OP_WRITE, "f", 16384, 1, &hit));
	fault_table_remove(t, 0);

	add(t, "{\"op\":\"read\",\"offset\":100,\"length\":10,\"errno\":\"EIO\"}");
	assert_false(fault_table_check(t, FAULT_OP_READ, "f", 0, 100, &hit));
	assert_true(fault_table_check(t, FAULT_OP_READ, "f", 109, 1, &hit));
	assert_false(fault_table_check(t, FAULT_OP_READ, "f", 110, 1000, &hit));
	fault_table_free(t);

	/* block numbers use the table's block size */
	t = fault_table_new(512);
	add(t, "{\"op\":\"write\",\"block\":1,\"errno\":\"EIO\"}");
	assert_true(fault_table_check(t, FAULT_OP_WRITE, "f", 512, 1, &hit));
	assert_false(fault_table_check(t, FAULT_OP_WRITE, "f", 1024, 1, &hit));
	fault_table_free(t);
}

static void test_hit_carries_effect(void **state)
{
	(void)state;
	struct fault_hit hit;
	struct fault_table *t = fault_table_new(BS);
	int64_t a = add(t, "{\"op\":\"fsync\",\"errno\":\"ENOSPC\"}");
	int64_t b = add(t, "{\"op\":\"write\",\"effect\":\"delay:5ms\"}");
	int64_t c = add(t, "{\"op\":\"writeback\",\"effect\":\"torn\"}");
	assert_true(fault_table_check(t, FAULT_OP_FSYNC, "f", 0, 0, &hit));
	assert_int_equal(hit.rule_id, a);
	assert_int_equal(hit.effect, FAULT_EFFECT_ERRNO);
	assert_int_equal(hit.err, ENOSPC);
	assert_true(fault_table_check(t, FAULT_OP_WRITE, "f", 0, 1, &hit));
	assert_int_equal(hit.rule_id, b);
	assert_int_equal(hit.effect, FAULT_EFFECT_DELAY);
	assert_int_equal(hit.delay_ns, 5000000);
	assert_true(fault_table_check(t, FAULT_OP_WRITEBACK, "f", 0, 1, &hit));
	assert_int_equal(hit.rule_id, c);
	assert_int_equal(hit.effect, FAULT_EFFECT_TORN);
	uint64_t e1 = hit.entropy;
	assert_true(fault_table_check(t, FAULT_OP_WRITEBACK, "f", 0, 1, &hit));
	assert_true(hit.entropy != e1); /* differs per firing */
	fault_table_free(t);
}

static void test_no_condition_fires_always(void **state)
{
	(void)state;
	char got[16];
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\"}");
	pattern(t, 8, got);
	assert_string_equal(got, "xxxxxxxx");
	fault_table_free(t);
}

static void test_after_skips_first_matches(void **state)
{
	(void)state;
	char got[16];
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"after\":3}");
	pattern(t, 6, got);
	assert_string_equal(got, "wwwxxx");
	fault_table_free(t);
}

static void test_nth_fires_only_once(void **state)
{
	(void)state;
	char got[16];
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"nth\":3}");
	pattern(t, 8, got);
	assert_string_equal(got, "wwxwwwww");
	fault_table_free(t);
}

static void test_times_limits_firings(void **state)
{
	(void)state;
	char got[16];
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"times\":2}");
	pattern(t, 5, got);
	assert_string_equal(got, "xxwww");
	fault_table_remove(t, 0);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"times\":2,\"after\":1}");
	pattern(t, 5, got);
	assert_string_equal(got, "wxxww");
	fault_table_remove(t, 0);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"times\":0}"); /* 0 = unlimited */
	pattern(t, 5, got);
	assert_string_equal(got, "xxxxx");
	fault_table_free(t);
}

static void test_sequence_pattern(void **state)
{
	(void)state;
	char got[16];
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"sequence\":\"wwxw\"}");
	pattern(t, 8, got);
	assert_string_equal(got, "wwxwwwww"); /* past the end: pass */
	fault_table_remove(t, 0);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"sequence\":\"wwxX\"}");
	pattern(t, 8, got);
	assert_string_equal(got, "wwxxxxxx"); /* final capital repeats */
	fault_table_remove(t, 0);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"sequence\":\"xxW\"}");
	pattern(t, 8, got);
	assert_string_equal(got, "xxwwwwww");
	fault_table_remove(t, 0);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"sequence\":\"xwX\",\"after\":2}");
	pattern(t, 8, got);
	assert_string_equal(got, "wwxwxxxx"); /* the sequence starts after `after` */
	fault_table_remove(t, 0);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"sequence\":\"X\",\"times\":3}");
	pattern(t, 8, got);
	assert_string_equal(got, "xxxwwwww");
	fault_table_free(t);
}

static void test_probability_zero_never_one_always(void **state)
{
	(void)state;
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"probability\":0,\"seed\":1}");
	for (int i = 0; i < 100000; i++)
		assert_false(fires(t, FAULT_OP_WRITE, "f"));
	fault_table_remove(t, 0);
	add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"probability\":1.0,\"seed\":1}");
	for (int i = 0; i < 100000; i++)
		assert_true(fires(t, FAULT_OP_WRITE, "f"));
	fault_table_free(t);
}

/* Firing pattern of N draws for (p, seed) on a fresh table. */
static void draws(double p, long long seed, int n, char *out)
{
	char text[160];
	struct fault_table *t = fault_table_new(BS);
	snprintf(text, sizeof(text),
	         "{\"op\":\"write\",\"errno\":\"EIO\",\"probability\":%.17g,\"seed\":%lld}", p, seed);
	add(t, text);
	pattern(t, n, out);
	fault_table_free(t);
}

static void test_probability_same_seed_same_firings(void **state)
{
	(void)state;
	static char a[2001], b[2001], c[2001];
	draws(0.3, 1234, 2000, a);
	draws(0.3, 1234, 2000, b);
	draws(0.3, 1235, 2000, c);
	assert_string_equal(a, b);
	assert_true(strcmp(a, c) != 0);
	/* a lower p under the same seed fires on a subset of the calls */
	draws(0.1, 1234, 2000, c);
	for (int i = 0; i < 2000; i++)
		if (c[i] == 'x')
			assert_int_equal(a[i], 'x');
}

static void test_probability_rate_matches_p(void **state)
{
	(void)state;
	const int n = 100000;
	const double ps[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.9, 0.999};
	const long long seeds[] = {0, 7, 123456789};
	for (size_t s = 0; s < 3; s++) {
		for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
			struct fault_table *t = fault_table_new(BS);
			char text[160];
			snprintf(text, sizeof(text),
			         "{\"op\":\"write\",\"errno\":\"EIO\",\"probability\":%.17g,\"seed\":%lld}",
			         ps[i], seeds[s]);
			add(t, text);
			int hits = 0;
			for (int k = 0; k < n; k++)
				hits += fires(t, FAULT_OP_WRITE, "f");
			double rate = (double)hits / n;
			double sigma = sqrt(ps[i] * (1 - ps[i]) / n);
			if (fabs(rate - ps[i]) > 4.5 * sigma)
				fprintf(stderr, "p=%g seed=%lld rate=%g (sigma %g)\n", ps[i], seeds[s], rate,
				        sigma);
			assert_true(fabs(rate - ps[i]) <= 4.5 * sigma);
			json_t *st = fault_table_status_json(t);
			assert_int_equal(json_integer_value(json_object_get(json_array_get(st, 0), "hits")),
			                 hits);
			assert_int_equal(
			    json_integer_value(json_object_get(json_array_get(st, 0), "matches")), n);
			json_decref(st);
			fault_table_free(t);
		}
	}
}

static void test_first_firing_rule_wins_all_count(void **state)
{
	(void)state;
	struct fault_hit hit;
	struct fault_table *t = fault_table_new(BS);
	int64_t a = add(t, "{\"op\":\"write\",\"errno\":\"EIO\",\"nth\":2}");
	int64_t b = add(t, "{\"op\":\"write\",\"errno\":\"ENOSPC\"}");
	assert_true(fault_table_check(t, FAULT_OP_WRITE, "f", 0, 1, &hit));
	assert_int_equal(hit.rule_id, b);
	assert_true(fault_table_check(t, FAULT_OP_WRITE, "f", 0, 1, &hit));
	assert_int_equal(hit.rule_id, a);
	assert_int_equal(hit.err, EIO);
	json_t *st = fault_table_status_json(t);
	json_t *ra = json_array_get(st, 0), *rb = json_array_get(st, 1);
	assert_int_equal(json_integer_value(json_object_get(ra, "id")), a);
	assert_int_equal(json_integer_value(json_object_get(ra, "matches")), 2);
	assert_int_equal(json_integer_value(json_object_get(ra, "hits")), 1);
	assert_int_equal(json_integer_value(json_object_get(rb, "matches")), 2);
	assert_int_equal(json_integer_value(json_object_get(rb, "hits")), 1);
	assert_string_equal(json_string_value(json_object_get(ra, "op")), "write");
	json_decref(st);
	fault_table_free(t);
}

static void test_remove_by_id_and_all(void **state)
{
	(void)state;
	struct fault_table *t = fault_table_new(BS);
	int64_t a = add(t, "{\"op\":\"write\",\"errno\":\"EIO\"}");
	int64_t b = add(t, "{\"op\":\"read\",\"errno\":\"EIO\"}");
	assert_true(b > a);
	assert_int_equal(fault_table_remove(t, (uint64_t)a), 0);
	assert_int_equal(fault_table_remove(t, (uint64_t)a), -ENOENT);
	assert_false(fires(t, FAULT_OP_WRITE, "f"));
	assert_true(fires(t, FAULT_OP_READ, "f"));
	int64_t c = add(t, "{\"op\":\"write\",\"errno\":\"EIO\"}");
	assert_true(c > b); /* ids are never reused */
	assert_int_equal(fault_table_remove(t, 0), 0);
	assert_false(fires(t, FAULT_OP_READ, "f"));
	assert_false(fires(t, FAULT_OP_WRITE, "f"));
	assert_int_equal(fault_table_remove(t, 999), -ENOENT);
	fault_table_free(t);
}

/* May a read rule fail a read of block BLOCK of "f"? (a probe: counts nothing) */
static bool may_fail(struct fault_table *t, uint64_t block)
{
	return fault_table_probe(t, FAULT_OP_READ, "f", block * BS, BS, FAULT_PROBE_MAY_FAIL, NULL);
}

/* One counted read of block BLOCK of "f": 'x' when a rule fires, 'w' when not. */
static char read_block(struct fault_table *t, uint64_t block)
{
	struct fault_hit hit;
	return fault_table_check(t, FAULT_OP_READ, "f", block * BS, BS, &hit) ? 'x' : 'w';
}

/* The rule's "matches" and "hits" from status, as "M H". */
static void counters(struct fault_table *t, size_t index, char *out, size_t len)
{
	json_t *st = fault_table_status_json(t);
	json_t *r = json_array_get(st, index);
	snprintf(out, len, "%lld %lld", (long long)json_integer_value(json_object_get(r, "matches")),
	         (long long)json_integer_value(json_object_get(r, "hits")));
	json_decref(st);
}

static void test_probe_counts_nothing_and_keeps_the_trigger(void **state)
{
	(void)state;
	char got[16], cnt[32];
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":5,\"errno\":\"EIO\",\"nth\":2}");
	for (int i = 0; i < 10; i++)
		assert_true(may_fail(t, 5));
	counters(t, 0, cnt, sizeof(cnt));
	assert_string_equal(cnt, "0 0");
	/* Interleaved probes leave the pattern exactly as without them. */
	for (int i = 0; i < 4; i++) {
		assert_true(fault_table_probe(t, FAULT_OP_READ, "f", 0, 32 * BS, FAULT_PROBE_MATCH, NULL));
		got[i] = read_block(t, 5);
	}
	got[4] = '\0';
	assert_string_equal(got, "wxww");
	counters(t, 0, cnt, sizeof(cnt));
	assert_string_equal(cnt, "4 1");
	fault_table_free(t);
}

static void test_probe_may_fail_only_while_the_rule_can_fire(void **state)
{
	(void)state;
	struct fault_table *t = fault_table_new(BS);

	/* times: spent after its firings */
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":1,\"errno\":\"EIO\",\"times\":1}");
	assert_true(may_fail(t, 1));
	assert_int_equal(read_block(t, 1), 'x');
	assert_false(may_fail(t, 1));
	/* nth: dead once past it */
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":2,\"errno\":\"EIO\",\"nth\":2}");
	assert_int_equal(read_block(t, 2), 'w');
	assert_true(may_fail(t, 2));
	assert_int_equal(read_block(t, 2), 'x');
	assert_false(may_fail(t, 2));
	/* after: alive while still skipping */
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":3,\"errno\":\"EIO\",\"after\":3}");
	assert_true(may_fail(t, 3));
	/* sequence: alive while an 'x' is ahead or a capital X repeats */
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":4,\"errno\":\"EIO\",\"sequence\":\"wxw\",\"after\":"
	       "1}");
	assert_true(may_fail(t, 4));
	assert_int_equal(read_block(t, 4), 'w'); /* after */
	assert_int_equal(read_block(t, 4), 'w');
	assert_true(may_fail(t, 4));
	assert_int_equal(read_block(t, 4), 'x');
	assert_false(may_fail(t, 4));
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":6,\"errno\":\"EIO\",\"sequence\":\"wwW\"}");
	assert_false(may_fail(t, 6)); /* never fails at all */
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":7,\"errno\":\"EIO\",\"sequence\":\"wX\"}");
	for (int i = 0; i < 5; i++)
		read_block(t, 7);
	assert_true(may_fail(t, 7));
	/* probability: 0 never, anything above may */
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":8,\"errno\":\"EIO\",\"probability\":0}");
	assert_false(may_fail(t, 8));
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":9,\"errno\":\"EIO\",\"probability\":0.001,\"seed\":"
	       "1}");
	assert_true(may_fail(t, 9));
	/* data effects never "fail", but they match */
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":10,\"effect\":\"corrupt\"}");
	assert_false(may_fail(t, 10));
	assert_true(fault_table_probe(t, FAULT_OP_READ, "f", 10 * BS, BS, FAULT_PROBE_MATCH, NULL));
	/* range, path and op still decide the match */
	assert_false(may_fail(t, 11));
	assert_false(fault_table_probe(t, FAULT_OP_READ, "g", BS * 9, BS, FAULT_PROBE_MAY_FAIL, NULL));
	assert_false(fault_table_probe(t, FAULT_OP_WRITE, "f", BS * 9, BS, FAULT_PROBE_MAY_FAIL, NULL));
	/* spent rules still match */
	assert_true(fault_table_probe(t, FAULT_OP_READ, "f", BS, BS, FAULT_PROBE_MATCH, NULL));
	fault_table_free(t);
}

static void test_probe_reports_the_first_rule_that_may_fail(void **state)
{
	(void)state;
	struct fault_hit hit;
	struct fault_table *t = fault_table_new(BS);
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"blocks\":[0,9],\"effect\":\"corrupt\"}");
	add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":5,\"errno\":\"EIO\",\"times\":1}");
	int64_t c = add(t, "{\"op\":\"read\",\"path\":\"f\",\"block\":5,\"errno\":\"ENODATA\"}");
	assert_int_equal(read_block(t, 5), 'x'); /* corrupt (lowest id) fires; the EIO rule counts */
	assert_true(fault_table_probe(t, FAULT_OP_READ, "f", 0, 8 * BS, FAULT_PROBE_MAY_FAIL, &hit));
	assert_int_equal(hit.err, EIO); /* not spent: it counted but did not fire */
	fault_table_remove(t, 1);
	assert_int_equal(read_block(t, 5), 'x'); /* now the EIO rule fires and is spent */
	assert_true(fault_table_probe(t, FAULT_OP_READ, "f", 0, 8 * BS, FAULT_PROBE_MAY_FAIL, &hit));
	assert_int_equal(hit.rule_id, c);
	assert_int_equal(hit.effect, FAULT_EFFECT_ERRNO);
	assert_int_equal(hit.err, ENODATA);
	assert_false(fault_table_probe(NULL, FAULT_OP_READ, "f", 0, 0, FAULT_PROBE_MATCH, NULL));
	fault_table_free(t);
}

static void test_probe_leaves_seeded_draws_unchanged(void **state)
{
	(void)state;
	char plain[201], probed[201];
	const char *rule =
	    "{\"op\":\"read\",\"path\":\"f\",\"errno\":\"EIO\",\"probability\":0.3,\"seed\":42}";
	struct fault_table *a = fault_table_new(BS), *b = fault_table_new(BS);
	add(a, rule);
	add(b, rule);
	for (int i = 0; i < 200; i++) {
		plain[i] = read_block(a, (uint64_t)i);
		for (int k = 0; k < 3; k++)
			assert_true(may_fail(b, (uint64_t)i));
		probed[i] = read_block(b, (uint64_t)i);
	}
	plain[200] = probed[200] = '\0';
	assert_string_equal(plain, probed);
	assert_non_null(strchr(plain, 'x'));
	assert_non_null(strchr(plain, 'w'));
	fault_table_free(a);
	fault_table_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_op_names_round_trip),
	    cmocka_unit_test(test_validation_accepts_well_formed_rules),
	    cmocka_unit_test(test_validation_rejects_bad_rules_naming_the_word),
	    cmocka_unit_test(test_invalid_rule_arms_nothing),
	    cmocka_unit_test(test_match_by_op),
	    cmocka_unit_test(test_match_by_path_glob),
	    cmocka_unit_test(test_match_by_block_and_byte_range_overlap),
	    cmocka_unit_test(test_hit_carries_effect),
	    cmocka_unit_test(test_no_condition_fires_always),
	    cmocka_unit_test(test_after_skips_first_matches),
	    cmocka_unit_test(test_nth_fires_only_once),
	    cmocka_unit_test(test_times_limits_firings),
	    cmocka_unit_test(test_sequence_pattern),
	    cmocka_unit_test(test_probability_zero_never_one_always),
	    cmocka_unit_test(test_probability_same_seed_same_firings),
	    cmocka_unit_test(test_probability_rate_matches_p),
	    cmocka_unit_test(test_first_firing_rule_wins_all_count),
	    cmocka_unit_test(test_remove_by_id_and_all),
	    cmocka_unit_test(test_probe_counts_nothing_and_keeps_the_trigger),
	    cmocka_unit_test(test_probe_may_fail_only_while_the_rule_can_fire),
	    cmocka_unit_test(test_probe_reports_the_first_rule_that_may_fail),
	    cmocka_unit_test(test_probe_leaves_seeded_draws_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
