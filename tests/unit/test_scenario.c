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

static void catalogue_loads_cleanly(void **state)
{
	(void)state;
	char **paths = NULL;
	size_t count = 0;
	char err[1024] = "";
	assert_int_equal(scenario_list_dir(SCENARIO_CATALOGUE, false, &paths, &count, err, sizeof(err)), 0);
	assert_true(count >= 1);
	int bad = 0;
	for (size_t i = 0; i < count; i++) {
		struct scenario *sc = NULL;
		if (scenario_load_file(paths[i], &sc, err, sizeof(err)) != 0) {
			print_error("%s\n", err);
			bad++;
			continue;
		}
		scenario_free(sc);
	}
	scenario_list_free(paths, count);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(minimal_wal_scenario_loads_with_defaults),
	    cmocka_unit_test(unknown_top_level_key_is_refused_at_the_key),
	    cmocka_unit_test(catalogue_loads_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
