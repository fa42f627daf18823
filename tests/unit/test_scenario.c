/*
 * test_scenario.c — the scenario loader: valid files build the documented model, invalid ones are
 * refused with exactly "FILE:LINE:COL: <what>; expected <form>", and every file of the catalogue
 * (scenarios/) loads cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scenario.h"

/* load - scenario_load_string on TEXT under the name "t.yaml". */
static int load(const char *text, struct scenario **sc, char *err, size_t errlen)
{
	return scenario_load_string("t.yaml", text, strlen(text), sc, err, errlen);
}

/* assert_refused - TEXT fails to load, and the message starts with PREFIX ("t.yaml:L:C: what"). */
static void assert_refused(const char *text, const char *prefix)
{
	struct scenario *sc = (struct scenario *)1;
	char err[1024] = "";
	int rc = load(text, &sc, err, sizeof(err));
	if (rc != -EINVAL || strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("rc %d, message\n  %s\nexpected it to start with\n  %s", rc, err, prefix);
	assert_null(sc);
	assert_non_null(strstr(err, "; expected "));
}

#define HEADER "name: t\nteaches: a story\nprofile: ext4-ordered\n"

static void minimal_wal_scenario_loads_with_defaults(void **state)
{
	(void)state;
	struct scenario *sc = NULL;
	char err[512] = "";
	assert_int_equal(
	    load(HEADER "target: wal\nsteps:\n  - append: 10\n  - reboot\n", &sc, err, sizeof(err)), 0);
	assert_string_equal(sc->name, "t");
	assert_int_equal(sc->target, SCENARIO_TARGET_WAL);
	assert_int_equal(sc->options.sync, SCENARIO_SYNC_ALWAYS);
	assert_int_equal(sc->options.sync_error, SCENARIO_SYNC_ERROR_PANIC);
	assert_int_equal(sc->options.block_size, 4096);
	assert_int_equal(sc->step_count, 2);
	assert_int_equal(sc->steps[0].kind, SCENARIO_STEP_APPEND);
	assert_int_equal(sc->steps[0].u.append.records, 10);
	assert_int_equal(sc->steps[0].u.append.size, 128);
	assert_int_equal(sc->steps[0].pos.line, 6);
	assert_int_equal(sc->steps[0].pos.col, 5);
	assert_string_equal(sc->steps[0].pos.file, "t.yaml");
	assert_int_equal(sc->steps[1].kind, SCENARIO_STEP_REBOOT);
	assert_int_equal(sc->steps[1].pos.line, 7);
	scenario_free(sc);
}

static void unknown_top_level_key_is_refused_at_the_key(void **state)
{
	(void)state;
	assert_refused(HEADER "target: wal\nsteeps:\n  - reboot\n",
	               "t.yaml:5:1: unknown key 'steeps' in a scenario");
}

/*
 * Every file in tests/unit/scenarios/invalid/ starts with "# error: LINE:COL: MESSAGE-PREFIX": the
 * loader must refuse it with exactly "PATH:LINE:COL: MESSAGE-PREFIX...", and say what it expected.
 */
static void invalid_files_are_refused_at_the_stated_position(void **state)
{
	(void)state;
	char **paths = NULL;
	size_t count = 0;
	char err[1024] = "";
	assert_int_equal(
	    scenario_list_dir(SCENARIO_TEST_DATA "/invalid", false, &paths, &count, err, sizeof(err)), 0);
	assert_true(count >= 60);
	int bad = 0;
	for (size_t i = 0; i < count; i++) {
		FILE *fp = fopen(paths[i], "r");
		assert_non_null(fp);
		char first[512] = "";
		assert_non_null(fgets(first, sizeof(first), fp));
		assert_int_equal(fclose(fp), 0);
		first[strcspn(first, "\n")] = '\0';
		assert_memory_equal(first, "# error: ", 9);
		char want[1024];
		snprintf(want, sizeof(want), "%s:%s", paths[i], first + 9);

		struct scenario *sc = (struct scenario *)1;
		int rc = scenario_load_file(paths[i], &sc, err, sizeof(err));
		if (rc != -EINVAL || sc != NULL || strncmp(err, want, strlen(want)) != 0 ||
		    strstr(err, "; expected ") == NULL) {
			print_error("%s:\n  got  (rc %d) %s\n  want %s...; expected ...\n", paths[i], rc, err,
			            want);
			bad++;
		}
	}
	scenario_list_free(paths, count);
	assert_int_equal(bad, 0);
}

static void missing_file_reports_the_open_error(void **state)
{
	(void)state;
	struct scenario *sc = (struct scenario *)1;
	char err[512] = "";
	assert_int_equal(scenario_load_file("/nonexistent/x.yaml", &sc, err, sizeof(err)), -ENOENT);
	assert_null(sc);
	assert_string_equal(err, "/nonexistent/x.yaml: No such file or directory");
}

static void options_are_parsed(void **state)
{
	(void)state;
	struct scenario *sc = NULL;
	char err[512] = "";
	const char *text =
	    HEADER "target: wal\noptions:\n  sync: batch:5ms\n  sync_error: retry\n  seed: 42\n"
	           "  block_size: 1024\n  writeback: never\n  legacy_errors: true\n"
	           "  record_size: 300\n  timeout: 2s\nsteps:\n  - append: 1\n";
	assert_int_equal(load(text, &sc, err, sizeof(err)), 0);
	assert_int_equal(sc->options.sync, SCENARIO_SYNC_BATCH);
	assert_int_equal(sc->options.batch_window_ns, 5000000);
	assert_int_equal(sc->options.sync_error, SCENARIO_SYNC_ERROR_RETRY);
	assert_int_equal(sc->options.seed, 42);
	assert_int_equal(sc->options.block_size, 1024);
	assert_true(sc->options.writeback_ns == INT64_MAX);
	assert_true(sc->options.legacy_errors);
	assert_int_equal(sc->options.timeout_ns, 2000000000LL);
	assert_int_equal(sc->steps[0].u.append.size, 300); /* the record_size default reaches the step */
	char buf[64];
	scenario_sync_format(&sc->options, buf, sizeof(buf));
	assert_string_equal(buf, "batch:5ms");
	scenario_free(sc);
}

static void inject_rule_becomes_the_control_protocol_object(void **state)
{
	(void)state;
	struct scenario *sc = NULL;
	char err[512] = "";
	const char *text =
	    HEADER "target: wal\noptions: {seed: 9}\nsteps:\n"
	           "  - inject: {op: writeback, path: \"wal/*\", blocks: [2, 5], errno: eio, after: 1,"
	           " times: 2, label: disk}\n"
	           "  - inject: {op: write, effect: delay:5ms, probability: 0.5}\n"
	           "  - clear: disk\n  - clear\n";
	assert_int_equal(load(text, &sc, err, sizeof(err)), 0);
	char *a = json_dumps(sc->steps[0].u.inject.rule, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(a, "{\"after\":1,\"blocks\":[2,5],\"errno\":\"EIO\",\"op\":\"writeback\","
	                       "\"path\":\"wal/*\",\"times\":2}");
	free(a);
	assert_string_equal(sc->steps[0].u.inject.label, "disk");
	char *b = json_dumps(sc->steps[1].u.inject.rule, JSON_SORT_KEYS | JSON_COMPACT);
	/* a probabilistic rule without its own seed takes the scenario's */
	assert_string_equal(
	    b, "{\"delay\":\"5ms\",\"effect\":\"delay\",\"op\":\"write\",\"probability\":0.5,\"seed\":9}");
	free(b);
	assert_null(sc->steps[1].u.inject.label);
	assert_string_equal(sc->steps[2].u.clear.label, "disk");
	assert_null(sc->steps[3].u.clear.label);
	scenario_free(sc);
}

static void results_and_shorthands(void **state)
{
	(void)state;
	struct scenario *sc = NULL;
	char err[512] = "";
	const char *text = HEADER "target: table\nsteps:\n"
	                          "  - update: {pages: 4, first: 2}\n"
	                          "  - checkpoint: EIO\n"
	                          "  - checkpoint: {expect: panic}\n"
	                          "  - fsync: error\n"
	                          "  - sync: any\n"
	                          "  - read: {page: 3, expect: old}\n"
	                          "  - read: {page: 1, bytes: \"ab\\0c\"}\n"
	                          "  - recover: {records: \">= 3\", tail: torn, corruption: 7}\n"
	                          "  - recover: EIO\n"
	                          "  - sleep: 1.5ms\n"
	                          "  - crash\n";
	assert_int_equal(load(text, &sc, err, sizeof(err)), 0);
	assert_int_equal(sc->step_count, 11);
	assert_int_equal(sc->steps[0].u.update.pages, 4);
	assert_int_equal(sc->steps[0].u.update.first, 2);
	assert_int_equal(sc->steps[1].kind, SCENARIO_STEP_CHECKPOINT);
	assert_int_equal(sc->steps[1].u.fsync.expect.kind, SCENARIO_RESULT_ERRNO);
	assert_int_equal(sc->steps[1].u.fsync.expect.err, EIO);
	assert_int_equal(sc->steps[2].u.fsync.expect.kind, SCENARIO_RESULT_PANIC);
	assert_int_equal(sc->steps[3].u.fsync.expect.kind, SCENARIO_RESULT_ERROR);
	assert_int_equal(sc->steps[4].kind, SCENARIO_STEP_SYNC);
	assert_int_equal(sc->steps[4].u.fsync.expect.kind, SCENARIO_RESULT_ANY);
	assert_int_equal(sc->steps[5].u.read.expect, SCENARIO_READ_OLD);
	assert_int_equal(sc->steps[5].u.read.page, 3);
	assert_int_equal(sc->steps[5].u.read.length, 4096);
	assert_int_equal(sc->steps[6].u.read.expect, SCENARIO_READ_BYTES);
	assert_int_equal(sc->steps[6].u.read.bytes_len, 4); /* the NUL byte is kept */
	assert_memory_equal(sc->steps[6].u.read.bytes, "ab\0c", 4);
	const struct scenario_recover *r = &sc->steps[7].u.recover;
	assert_true(r->has_records);
	assert_int_equal(r->records.op, SCENARIO_CMP_GE);
	assert_int_equal(r->records.value, 3);
	assert_int_equal(r->tail, SCENARIO_TAIL_TORN);
	assert_int_equal(r->corruption, SCENARIO_CORRUPTION_DETECTED);
	assert_true(r->has_corruption_at);
	assert_int_equal(r->corruption_at, 7);
	assert_int_equal(r->result.kind, SCENARIO_RESULT_ANY); /* expected corruption may refuse the open */
	assert_int_equal(sc->steps[8].u.recover.result.err, EIO);
	assert_int_equal(sc->steps[9].u.sleep.ns, 1500000);
	assert_null(sc->steps[10].u.crash.name);
	scenario_free(sc);
}

static void file_target_tracks_descriptors(void **state)
{
	(void)state;
	struct scenario *sc = NULL;
	char err[512] = "";
	const char *text = HEADER "target: file\noptions: {legacy_errors: true}\nsteps:\n"
	                          "  - open: {fd: a, path: data}\n"
	                          "  - open: {fd: b, path: data}\n"
	                          "  - write: {fd: a, offset: 4096, length: 4096}\n"
	                          "  - write: {path: other, bytes: hello}\n"
	                          "  - fsync: {fd: a, expect: EIO}\n"
	                          "  - fsync: {fd: b, datasync: true}\n"
	                          "    note: the legacy kernel forgot the error\n"
	                          "  - read: {fd: b, offset: 4096, expect: new}\n"
	                          "  - close: a\n"
	                          "  - close: {fd: b}\n"
	                          "  - open: {fd: a, path: data}\n";
	assert_int_equal(load(text, &sc, err, sizeof(err)), 0);
	assert_string_equal(sc->steps[0].u.open.fd, "a");
	assert_string_equal(sc->steps[0].u.open.path, "data");
	assert_int_equal(sc->steps[2].u.write.offset, 4096);
	assert_int_equal(sc->steps[2].u.write.length, 4096);
	assert_null(sc->steps[2].u.write.bytes);
	assert_null(sc->steps[3].u.write.fd);
	assert_string_equal(sc->steps[3].u.write.path, "other");
	assert_int_equal(sc->steps[3].u.write.length, 5);
	assert_int_equal(sc->steps[4].u.fsync.expect.err, EIO);
	assert_true(sc->steps[5].u.fsync.datasync);
	assert_string_equal(sc->steps[5].note, "the legacy kernel forgot the error");
	assert_int_equal(sc->steps[5].pos.line, 12);
	assert_int_equal(sc->steps[6].u.read.expect, SCENARIO_READ_NEW);
	assert_string_equal(sc->steps[6].u.read.fd, "b");
	assert_string_equal(sc->steps[9].u.open.fd, "a"); /* a name is free again after close */
	scenario_free(sc);
}

static void exec_target_commands(void **state)
{
	(void)state;
	struct scenario *sc = NULL;
	char err[512] = "";
	const char *text =
	    HEADER "target: exec\nsteps:\n"
	           "  - start: {command: \"./db --data .\", name: db, user: nobody, ready: \"^ready\","
	           " timeout: 5s}\n"
	           "  - exec: ./client put k v\n"
	           "  - exec: {command: ./client get k, status: nonzero, timeout: 2s}\n"
	           "  - wait: {pattern: \"checkpoint (done|failed)\", output: db}\n"
	           "  - wait: {pattern: PANIC, file: db.log, timeout: 1s}\n"
	           "  - stop: {name: db, signal: INT, status: 0}\n"
	           "  - start: sleep 100\n"
	           "  - crash: app\n"
	           "  - expect: {fault_hits: 0, fs_state: read-only}\n";
	assert_int_equal(load(text, &sc, err, sizeof(err)), 0);
	const struct scenario_start *st = &sc->steps[0].u.start;
	assert_string_equal(st->name, "db");
	assert_string_equal(st->user, "nobody");
	assert_string_equal(st->ready, "^ready");
	assert_int_equal(st->timeout_ns, 5000000000LL);
	assert_string_equal(sc->steps[1].u.exec.command, "./client put k v");
	assert_int_equal(sc->steps[1].u.exec.status.kind, SCENARIO_STATUS_EXACT);
	assert_int_equal(sc->steps[1].u.exec.status.code, 0);
	assert_int_equal(sc->steps[2].u.exec.status.kind, SCENARIO_STATUS_NONZERO);
	assert_string_equal(sc->steps[3].u.wait.output, "db");
	assert_string_equal(sc->steps[4].u.wait.file, "db.log");
	assert_int_equal(sc->steps[5].u.stop.signal, 2 /* SIGINT */);
	assert_int_equal(sc->steps[5].u.stop.status.code, 0);
	assert_string_equal(sc->steps[6].u.start.name, "app");
	assert_string_equal(sc->steps[7].u.crash.name, "app");
	const struct scenario_expect *e = &sc->steps[8].u.expect;
	assert_int_equal(e->count, 2);
	assert_int_equal(e->checks[1].metric, SCENARIO_METRIC_FS_STATE);
	assert_int_equal(e->checks[1].cmp.value, SCENARIO_FS_READ_ONLY);
	assert_int_equal(e->checks[1].pos.line, 14);
	assert_int_equal(e->checks[1].pos.col, 29);
	scenario_free(sc);
}

static void comparisons_hold_as_written(void **state)
{
	(void)state;
	struct scenario *sc = NULL;
	char err[512] = "";
	const char *text =
	    HEADER "target: wal\nsteps:\n"
	           "  - expect: {acked_lost: 0, durable_lost: \"<= 5\", acked: \">= 1\", records: \"< 3\","
	           " checksum_errors: \"> 0\", bad_records_returned: \"== 0\", loss_window: \"<= 5ms\","
	           " panicked: true, torn_tail: false}\n";
	assert_int_equal(load(text, &sc, err, sizeof(err)), 0);
	const struct scenario_check *c = sc->steps[0].u.expect.checks;
	assert_int_equal(sc->steps[0].u.expect.count, 9);
	assert_true(scenario_cmp_holds(&c[0].cmp, 0) && !scenario_cmp_holds(&c[0].cmp, 1));
	assert_true(scenario_cmp_holds(&c[1].cmp, 5) && !scenario_cmp_holds(&c[1].cmp, 6));
	assert_true(scenario_cmp_holds(&c[2].cmp, 1) && !scenario_cmp_holds(&c[2].cmp, 0));
	assert_true(scenario_cmp_holds(&c[3].cmp, 2) && !scenario_cmp_holds(&c[3].cmp, 3));
	assert_true(scenario_cmp_holds(&c[4].cmp, 1) && !scenario_cmp_holds(&c[4].cmp, 0));
	assert_true(scenario_cmp_holds(&c[5].cmp, 0) && !scenario_cmp_holds(&c[5].cmp, 1));
	assert_int_equal(c[6].metric, SCENARIO_METRIC_LOSS_WINDOW);
	assert_true(scenario_metric_is_duration(c[6].metric));
	assert_true(scenario_cmp_holds(&c[6].cmp, 5000000) && !scenario_cmp_holds(&c[6].cmp, 5000001));
	assert_true(scenario_metric_is_bool(c[7].metric));
	assert_int_equal(c[7].cmp.value, 1);
	assert_int_equal(c[8].cmp.value, 0);
	char buf[64];
	scenario_cmp_format(&c[6].cmp, true, buf, sizeof(buf));
	assert_string_equal(buf, "<= 5ms");
	scenario_cmp_format(&c[2].cmp, false, buf, sizeof(buf));
	assert_string_equal(buf, ">= 1");
	scenario_free(sc);
}

static void loss_window_bound_by_the_batch_window(void **state)
{
	(void)state;
	struct scenario *sc = NULL;
	char err[512] = "";
	const char *text = HEADER "target: wal\noptions: {sync: \"batch:5ms\"}\nsteps:\n"
	                          "  - expect: {loss_window: \"<= window\"}\n";
	assert_int_equal(load(text, &sc, err, sizeof(err)), 0);
	const struct scenario_check *c = &sc->steps[0].u.expect.checks[0];
	assert_true(c->cmp.window);
	assert_int_equal(c->cmp.value, 5000000);
	char buf[80];
	scenario_cmp_format(&c->cmp, true, buf, sizeof(buf));
	assert_string_equal(buf, "<= window (5ms + the longest fsync)");
	/* the window bound widens by the longest fsync; other comparisons ignore the slack */
	assert_false(scenario_cmp_holds_window(&c->cmp, 7000000, 0));
	assert_true(scenario_cmp_holds_window(&c->cmp, 7000000, 2000000));
	assert_false(scenario_cmp_holds_window(&c->cmp, 7000001, 2000000));
	struct scenario_cmp plain = {.op = SCENARIO_CMP_LE, .value = 5000000};
	assert_false(scenario_cmp_holds_window(&plain, 7000000, 2000000));
	scenario_free(sc);
	assert_refused(HEADER "target: wal\nsteps:\n  - expect: {loss_window: \"<= window\"}\n",
	               "t.yaml:6:28: loss_window '<= window' needs sync: batch:WINDOW in options");
	assert_refused(HEADER "target: wal\noptions: {sync: \"batch:5ms\"}\nsteps:\n"
	                      "  - expect: {loss_window: \">= window\"}\n",
	               "t.yaml:7:28: loss_window '>= window' is an upper bound");
}

static void reboot_and_crash_close_descriptors(void **state)
{
	(void)state;
	assert_refused(HEADER
	               "target: file\nsteps:\n  - open: {fd: a, path: f}\n  - reboot\n  - fsync: {fd: a}\n",
	               "t.yaml:8:17: descriptor 'a' is not open here");
	assert_refused(HEADER "target: file\nsteps:\n  - open: {fd: a, path: f}\n  - crash\n  - close: a\n",
	               "t.yaml:8:12: descriptor 'a' is not open here");
	assert_refused(HEADER "target: exec\nsteps:\n  - start: sleep 9\n  - reboot\n  - stop\n",
	               "t.yaml:8:5: command 'app' is not running here");
}

static void names_round_trip(void **state)
{
	(void)state;
	assert_string_equal(scenario_profile_name(SCENARIO_PROFILE_EXT4_DATA), "ext4-data");
	assert_string_equal(scenario_target_name(SCENARIO_TARGET_TABLE), "table");
	assert_string_equal(scenario_step_kind_name(SCENARIO_STEP_CHECKPOINT), "checkpoint");
	assert_string_equal(scenario_metric_name(SCENARIO_METRIC_DURABLE_LOST), "durable_lost");
	assert_string_equal(scenario_fs_state_name(SCENARIO_FS_SHUTDOWN), "shutdown");
	struct scenario_result r = {.kind = SCENARIO_RESULT_ERRNO, .err = ENOSPC};
	char buf[32];
	scenario_result_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "ENOSPC");
	r.kind = SCENARIO_RESULT_PANIC;
	scenario_result_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "panic");
}

/* Hostile inputs are refused cleanly, without crashing (the fuzzer explores the rest). */
static void hostile_inputs_are_refused(void **state)
{
	(void)state;
	struct scenario *sc = NULL;
	char err[512] = "";
	/* deep nesting */
	char deep[512];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof(deep), "name: t\nsteps: ");
	for (int i = 0; i < 100; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	assert_int_equal(load(deep, &sc, err, sizeof(err)), -EINVAL);
	assert_null(sc);
	/* NUL bytes in the input */
	const char nul[] = "name: t\0\nteaches: x\n";
	assert_int_equal(scenario_load_string("t.yaml", nul, sizeof(nul) - 1, &sc, err, sizeof(err)),
	                 -EINVAL);
	assert_null(sc);
	/* libfyaml 0.7.12 loops forever on "%\xd0" (a fuzzer finding): refused before it gets there */
	assert_int_equal(scenario_load_string("t.yaml", "%\xd0", 2, &sc, err, sizeof(err)), -EINVAL);
	assert_string_equal(
	    err, "t.yaml:1:1: YAML directives (%...) are not supported; expected the document itself");
	assert_int_equal(load("name: t\nteaches: caf\xc3\n", &sc, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.yaml:2:13: invalid UTF-8 byte 0xc3; expected UTF-8 text");
	assert_int_equal(
	    load("name: t\nteaches: \xc3\xa9t\xc3\xa9\n  x: \xed\xa0\x80\n", &sc, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
	                    "t.yaml:3:6: invalid UTF-8 byte 0xed; expected UTF-8 text"); /* a surrogate */
	/* a tiny error buffer truncates but does not overflow */
	char tiny[8];
	assert_int_equal(load("- x\n", &sc, tiny, sizeof(tiny)), -EINVAL);
	assert_int_equal(strlen(tiny), 7);
	/* two documents */
	assert_int_equal(load(HEADER "target: wal\nsteps: [reboot]\n---\nname: u\n", &sc, err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "more than one document"));
}

static void list_dir_sorts_and_recurses_only_when_asked(void **state)
{
	(void)state;
	char **paths = NULL;
	size_t count = 0;
	char err[512] = "";
	assert_int_equal(scenario_list_dir(SCENARIO_TEST_DATA, false, &paths, &count, err, sizeof(err)), 0);
	assert_int_equal(count, 0); /* only subfolders there */
	scenario_list_free(paths, count);
	assert_int_equal(scenario_list_dir(SCENARIO_TEST_DATA, true, &paths, &count, err, sizeof(err)), 0);
	assert_true(count > 60);
	for (size_t i = 1; i < count; i++)
		assert_true(strcmp(paths[i - 1], paths[i]) < 0);
	assert_non_null(strstr(paths[0], "/invalid/")); /* invalid/ sorts before valid/ */
	assert_non_null(strstr(paths[count - 1], "/valid/"));
	scenario_list_free(paths, count);
	assert_int_equal(scenario_list_dir("/nonexistent", false, &paths, &count, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent: No such file or directory");
}

/*
 * The core catalogue: at least 20 stories, every one loads, its name is its file name (so
 * `fsynclab run scenarios/NAME.yaml` and the report agree), names are unique, and each teaches.
 */
static void catalogue_loads_cleanly(void **state)
{
	(void)state;
	char **paths = NULL;
	size_t count = 0;
	char err[1024] = "";
	assert_int_equal(scenario_list_dir(SCENARIO_CATALOGUE, false, &paths, &count, err, sizeof(err)), 0);
	assert_true(count >= 20);
	int bad = 0;
	for (size_t i = 0; i < count; i++) {
		struct scenario *sc = NULL;
		if (scenario_load_file(paths[i], &sc, err, sizeof(err)) != 0) {
			print_error("%s\n", err);
			bad++;
			continue;
		}
		const char *base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
		size_t n = strlen(sc->name);
		if (strncmp(base, sc->name, n) != 0 || strcmp(base + n, ".yaml") != 0) {
			print_error("%s: name '%s' differs from the file name\n", paths[i], sc->name);
			bad++;
		}
		if (strlen(sc->teaches) < 200) {
			print_error("%s: teaches is %zu characters; a paragraph is expected\n", paths[i],
			            strlen(sc->teaches));
			bad++;
		}
		scenario_free(sc);
	}
	scenario_list_free(paths, count);
	assert_int_equal(bad, 0);
}

/* Subfolders (apps/, kernel/, ... added by other parts) load too, and no two scenarios share a name. */
static void whole_tree_loads_with_unique_names(void **state)
{
	(void)state;
	char **paths = NULL;
	size_t count = 0;
	char err[1024] = "";
	assert_int_equal(scenario_list_dir(SCENARIO_CATALOGUE, true, &paths, &count, err, sizeof(err)), 0);
	char **names = calloc(count, sizeof(*names));
	assert_non_null(names);
	int bad = 0;
	for (size_t i = 0; i < count; i++) {
		struct scenario *sc = NULL;
		if (scenario_load_file(paths[i], &sc, err, sizeof(err)) != 0) {
			print_error("%s\n", err);
			bad++;
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			if (names[k] != NULL && strcmp(names[k], sc->name) == 0) {
				print_error("%s: name '%s' is also %s's\n", paths[i], sc->name, paths[k]);
				bad++;
			}
		}
		names[i] = strdup(sc->name);
		assert_non_null(names[i]);
		scenario_free(sc);
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	scenario_list_free(paths, count);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(minimal_wal_scenario_loads_with_defaults),
	    cmocka_unit_test(unknown_top_level_key_is_refused_at_the_key),
	    cmocka_unit_test(invalid_files_are_refused_at_the_stated_position),
	    cmocka_unit_test(missing_file_reports_the_open_error),
	    cmocka_unit_test(options_are_parsed),
	    cmocka_unit_test(inject_rule_becomes_the_control_protocol_object),
	    cmocka_unit_test(results_and_shorthands),
	    cmocka_unit_test(file_target_tracks_descriptors),
	    cmocka_unit_test(exec_target_commands),
	    cmocka_unit_test(comparisons_hold_as_written),
	    cmocka_unit_test(loss_window_bound_by_the_batch_window),
	    cmocka_unit_test(reboot_and_crash_close_descriptors),
	    cmocka_unit_test(names_round_trip),
	    cmocka_unit_test(hostile_inputs_are_refused),
	    cmocka_unit_test(list_dir_sorts_and_recurses_only_when_asked),
	    cmocka_unit_test(catalogue_loads_cleanly),
	    cmocka_unit_test(whole_tree_loads_with_unique_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
