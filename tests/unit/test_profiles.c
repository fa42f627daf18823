/*
 * test_profiles.c — the profile table says what DESIGN.md's table says, and names parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "profiles.h"

static void test_every_listed_name_is_found(void **state)
{
	char names[128], *save = NULL;
	int count = 0;

	(void)state;
	strcpy(names, profile_names());
	for (char *n = strtok_r(names, "|", &save); n; n = strtok_r(NULL, "|", &save), count++) {
		const struct profile *p = profile_find(n);

		assert_non_null(p);
		assert_string_equal(p->name, n);
	}
	assert_int_equal(count, 5);
	assert_null(profile_find("ext5"));
	assert_null(profile_find(""));
	assert_null(profile_find(NULL));
	assert_string_equal(profile_default()->name, "ext4-ordered");
}

static void test_ext4_keeps_failed_page_clean_and_reports_now(void **state)
{
	const struct profile *p = profile_find("ext4-ordered");

	(void)state;
	assert_int_equal(p->page_fate, PAGE_FATE_FAILED_CLEAN);
	assert_false(p->report_on_next_fsync);
	assert_true(p->size_persists_on_failure);
	assert_int_equal(p->journal_fate, JOURNAL_FATE_READ_ONLY);
	assert_true(profile_find("ext4-data")->report_on_next_fsync);
}

static void test_xfs_shuts_down_on_journal_failure(void **state)
{
	(void)state;
	assert_int_equal(profile_find("xfs")->journal_fate, JOURNAL_FATE_SHUTDOWN);
	assert_int_equal(profile_find("xfs")->page_fate, PAGE_FATE_FAILED_CLEAN);
}

static void test_btrfs_reverts_and_does_not_persist_size(void **state)
{
	const struct profile *p = profile_find("btrfs");

	(void)state;
	assert_int_equal(p->page_fate, PAGE_FATE_REVERT);
	assert_false(p->size_persists_on_failure);
	assert_int_equal(p->journal_fate, JOURNAL_FATE_READ_ONLY);
}

static void test_keep_dirty_keeps_dirty(void **state)
{
	(void)state;
	assert_int_equal(profile_find("keep-dirty")->page_fate, PAGE_FATE_KEEP_DIRTY);
	assert_string_equal(page_fate_name(PAGE_FATE_KEEP_DIRTY), "keep-dirty");
	assert_string_equal(journal_fate_name(JOURNAL_FATE_SHUTDOWN), "shutdown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_listed_name_is_found),
	    cmocka_unit_test(test_ext4_keeps_failed_page_clean_and_reports_now),
	    cmocka_unit_test(test_xfs_shuts_down_on_journal_failure),
	    cmocka_unit_test(test_btrfs_reverts_and_does_not_persist_size),
	    cmocka_unit_test(test_keep_dirty_keeps_dirty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
