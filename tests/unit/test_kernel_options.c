/*
 * test_kernel_options.c — the pure parts of harness/kernel_backend.c: filesystem names, default
 * image sizes, splitting mount options into mount(2) flags and filesystem data, and the dmsetup
 * tables of the device-mapper backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include "kernel_backend.h"

static void fs_names_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < KERNEL_FS_COUNT; i++)
		assert_int_equal(kernel_fs_parse(kernel_fs_name((enum kernel_fs)i)), i);
	assert_int_equal(kernel_fs_parse("ext3"), -EINVAL);
	assert_int_equal(kernel_fs_parse(NULL), -EINVAL);
	assert_string_equal(kernel_fs_name(KERNEL_FS_BTRFS), "btrfs");
}

static void xfs_images_are_at_least_300_mib(void **state)
{
	(void)state;
	assert_true(kernel_fs_min_image_size(KERNEL_FS_XFS) >= (300ull << 20));
	assert_true(kernel_fs_min_image_size(KERNEL_FS_BTRFS) >= (114ull << 20));
}

static void mount_options_split_flags_from_data(void **state)
{
	(void)state;
	unsigned long flags;
	char data[64];
	assert_int_equal(kernel_mount_options_parse("data=journal,noatime,ro,errors=remount-ro", &flags, data,
	                                            sizeof(data)),
	                 0);
	assert_int_equal(flags, MS_NOATIME | MS_RDONLY);
	assert_string_equal(data, "data=journal,errors=remount-ro");

	assert_int_equal(kernel_mount_options_parse(NULL, &flags, data, sizeof(data)), 0);
	assert_int_equal(flags, 0);
	assert_string_equal(data, "");

	assert_int_equal(kernel_mount_options_parse(",sync,,", &flags, data, sizeof(data)), 0);
	assert_int_equal(flags, MS_SYNCHRONOUS);
	assert_string_equal(data, "");

	/* A word that merely starts like a flag is data. */
	assert_int_equal(kernel_mount_options_parse("rocket", &flags, data, sizeof(data)), 0);
	assert_int_equal(flags, 0);
	assert_string_equal(data, "rocket");
}

static void mount_options_too_long_are_refused(void **state)
{
	(void)state;
	unsigned long flags;
	char data[8];
	assert_int_equal(kernel_mount_options_parse("data=journal", &flags, data, sizeof(data)),
	                 -ENAMETOOLONG);
	assert_int_equal(kernel_mount_options_parse("a=1,b=2", &flags, data, sizeof(data)), 0);
	assert_string_equal(data, "a=1,b=2");
}

static void dm_error_table_fails_only_the_chosen_sectors(void **state)
{
	(void)state;
	char t[512];
	assert_int_equal(kernel_dm_table_error(t, sizeof(t), "/dev/loop3", 1000, 100, 8), 0);
	assert_string_equal(t, "0 100 linear /dev/loop3 0\n100 8 error\n108 892 linear /dev/loop3 108");
	/* At the very start and the very end there is no empty linear segment. */
	assert_int_equal(kernel_dm_table_error(t, sizeof(t), "/dev/loop3", 1000, 0, 8), 0);
	assert_string_equal(t, "0 8 error\n8 992 linear /dev/loop3 8");
	assert_int_equal(kernel_dm_table_error(t, sizeof(t), "/dev/loop3", 1000, 992, 8), 0);
	assert_string_equal(t, "0 992 linear /dev/loop3 0\n992 8 error");
	assert_int_equal(kernel_dm_table_error(t, sizeof(t), "/dev/loop3", 1000, 996, 8), -EINVAL);
	assert_int_equal(kernel_dm_table_error(t, sizeof(t), "/dev/loop3", 1000, 10, 0), -EINVAL);
	assert_int_equal(kernel_dm_table_error(t, 16, "/dev/loop3", 1000, 100, 8), -ENAMETOOLONG);
}

static void dm_flakey_table_is_always_down_with_its_feature(void **state)
{
	(void)state;
	char t[256];
	assert_int_equal(kernel_dm_table_flakey(t, sizeof(t), "/dev/loop0", 2048, "error_writes"), 0);
	assert_string_equal(t, "0 2048 flakey /dev/loop0 0 0 3600 1 error_writes");
	assert_int_equal(
	    kernel_dm_table_flakey(t, sizeof(t), "/dev/loop0", 2048, "corrupt_bio_byte 32 w 1 0"), 0);
	assert_string_equal(t, "0 2048 flakey /dev/loop0 0 0 3600 5 corrupt_bio_byte 32 w 1 0");
	assert_int_equal(kernel_dm_table_flakey(t, sizeof(t), "/dev/loop0", 2048, ""), -EINVAL);
	assert_int_equal(kernel_dm_table_linear(t, sizeof(t), "/dev/loop0", 2048), 0);
	assert_string_equal(t, "0 2048 linear /dev/loop0 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fs_names_round_trip),
	    cmocka_unit_test(xfs_images_are_at_least_300_mib),
	    cmocka_unit_test(mount_options_split_flags_from_data),
	    cmocka_unit_test(mount_options_too_long_are_refused),
	    cmocka_unit_test(dm_error_table_fails_only_the_chosen_sectors),
	    cmocka_unit_test(dm_flakey_table_is_always_down_with_its_feature),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
