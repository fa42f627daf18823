/*
 * test_scenario_namespace.c — the scenario options that namespace durability added to the
 * scenario language (harness/scenario.c, additive): `namespace: profile|posix` and
 * `sync_directory: BOOL`, their defaults, and refusals naming the offending word and position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "scenario.h"

static int load(const char *options, struct scenario **sc, char *err, size_t errlen)
{
	char text[1024];

	snprintf(text, sizeof(text),
	         "name: t\nteaches: x\nprofile: ext4-ordered\ntarget: wal\n%s"
	         "steps:\n  - append: 1\n",
	         options);
	return scenario_load_string("t.yaml", text, strlen(text), sc, err, errlen);
}

static void test_defaults(void **state)
{
	struct scenario *sc = NULL;
	char err[512];

	(void)state;
	assert_int_equal(load("", &sc, err, sizeof(err)), 0);
	assert_false(sc->options.namespace_posix);
	assert_true(sc->options.sync_directory);
	scenario_free(sc);
}

static void test_posix_and_no_directory_sync(void **state)
{
	struct scenario *sc = NULL;
	char err[512];

	(void)state;
	assert_int_equal(load("options: {namespace: posix, sync_directory: false}\n", &sc, err, sizeof(err)),
	                 0);
	assert_true(sc->options.namespace_posix);
	assert_false(sc->options.sync_directory);
	scenario_free(sc);
	assert_int_equal(load("options: {namespace: profile}\n", &sc, err, sizeof(err)), 0);
	assert_false(sc->options.namespace_posix);
	assert_false(sc->options.namespace_durable);
	scenario_free(sc);
	assert_int_equal(load("options: {namespace: durable}\n", &sc, err, sizeof(err)), 0);
	assert_true(sc->options.namespace_durable);
	scenario_free(sc);
}

static void test_refusals_name_the_word(void **state)
{
	struct scenario *sc = NULL;
	char err[512];

	(void)state;
	assert_true(load("options: {namespace: strict}\n", &sc, err, sizeof(err)) < 0);
	assert_null(sc);
	assert_non_null(strstr(err, "t.yaml:5:22:"));
	assert_non_null(strstr(err, "'strict'"));
	assert_non_null(strstr(err, "posix"));
	assert_true(load("options: {sync_directory: maybe}\n", &sc, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "sync_directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_posix_and_no_directory_sync),
	    cmocka_unit_test(test_refusals_name_the_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
