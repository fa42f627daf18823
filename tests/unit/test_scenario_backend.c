/*
 * test_scenario_backend.c — the scenario keys of the real-kernel backends (issue 6): backend, fs,
 * mkfs, mount_options — defaults, accepted forms, and the refusals with their positions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "kernel_backend.h"
#include "scenario.h"

#define HEADER "name: k\nteaches: a story\nprofile: ext4-ordered\ntarget: file\n"
#define STEPS  "steps:\n  - reboot\n"

static struct scenario *load(const char *text, int want_rc, char *err, size_t errlen)
{
	struct scenario *sc = NULL;
	int rc = scenario_load_string("k.yaml", text, strlen(text), &sc, err, errlen);
	if (rc != want_rc)
		fail_msg("load returned %d (want %d): %s", rc, want_rc, err);
	return sc;
}

static void emulated_is_the_default(void **state)
{
	(void)state;
	char err[512] = "";
	struct scenario *sc = load(HEADER STEPS, 0, err, sizeof(err));
	assert_int_equal(sc->kernel.backend, SCENARIO_BACKEND_EMULATED);
	assert_int_equal(sc->kernel.fs, -1);
	assert_null(sc->kernel.mkfs_options);
	assert_null(sc->kernel.mount_options);
	assert_string_equal(scenario_backend_name(sc->kernel.backend), "emulated");
	scenario_free(sc);
}

static void kernel_backend_with_fs_and_options(void **state)
{
	(void)state;
	char err[512] = "";
	struct scenario *sc = load(HEADER "backend: kernel\nfs: ext4\nmount_options: data=journal\n"
	                                  "mkfs: \"-O ^metadata_csum\"\n" STEPS,
	                           0, err, sizeof(err));
	assert_int_equal(sc->kernel.backend, SCENARIO_BACKEND_KERNEL);
	assert_int_equal(sc->kernel.fs, KERNEL_FS_EXT4);
	assert_string_equal(sc->kernel.mount_options, "data=journal");
	assert_string_equal(sc->kernel.mkfs_options, "-O ^metadata_csum");
	assert_int_equal(sc->kernel.pos.line, 5);
	scenario_free(sc);

	sc = load(HEADER "backend: dm\nfs: btrfs\n" STEPS, 0, err, sizeof(err));
	assert_int_equal(sc->kernel.backend, SCENARIO_BACKEND_DM);
	assert_int_equal(sc->kernel.fs, KERNEL_FS_BTRFS);
	scenario_free(sc);
}

static void kernel_backend_needs_fs(void **state)
{
	(void)state;
	char err[512] = "";
	struct scenario *sc = load(HEADER "backend: kernel\n" STEPS, -EINVAL, err, sizeof(err));
	assert_null(sc);
	assert_non_null(strstr(err, "needs 'fs'"));
}

static void unknown_fs_and_backend_are_named(void **state)
{
	(void)state;
	char err[512] = "";
	assert_null(load(HEADER "backend: kernel\nfs: zfs\n" STEPS, -EINVAL, err, sizeof(err)));
	assert_non_null(strstr(err, "k.yaml:6:5: unknown fs 'zfs'"));
	assert_null(load(HEADER "backend: qemu\n" STEPS, -EINVAL, err, sizeof(err)));
	assert_non_null(strstr(err, "k.yaml:5:10: unknown backend 'qemu'"));
}

static void fs_without_a_kernel_backend_is_refused(void **state)
{
	(void)state;
	char err[512] = "";
	assert_null(load(HEADER "fs: xfs\n" STEPS, -EINVAL, err, sizeof(err)));
	assert_non_null(strstr(err, "k.yaml:5:1: 'fs' applies to a real kernel filesystem"));
	assert_null(load(HEADER "mount_options: data=journal\n" STEPS, -EINVAL, err, sizeof(err)));
	assert_non_null(strstr(err, "'mount_options' applies"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(emulated_is_the_default),
	    cmocka_unit_test(kernel_backend_with_fs_and_options),
	    cmocka_unit_test(kernel_backend_needs_fs),
	    cmocka_unit_test(unknown_fs_and_backend_are_named),
	    cmocka_unit_test(fs_without_a_kernel_backend_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
