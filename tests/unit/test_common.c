/*
 * test_common.c — durations and errno names parse as documented, and bad spellings are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "duration.h"
#include "errname.h"
#include "io_full.h"

static void duration_parses_every_unit(void **state)
{
	(void)state;
	int64_t ns = 0;
	assert_int_equal(duration_parse("5ms", 0, &ns), 0);
	assert_int_equal(ns, 5000000);
	assert_int_equal(duration_parse("250us", 0, &ns), 0);
	assert_int_equal(ns, 250000);
	assert_int_equal(duration_parse("1.5s", 0, &ns), 0);
	assert_int_equal(ns, 1500000000LL);
	assert_int_equal(duration_parse("2m", 0, &ns), 0);
	assert_int_equal(ns, 120000000000LL);
	assert_int_equal(duration_parse("7ns", 0, &ns), 0);
	assert_int_equal(ns, 7);
}

static void duration_refuses_bad_spellings(void **state)
{
	(void)state;
	int64_t ns = 0;
	assert_int_equal(duration_parse("5", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("-5ms", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("5 ms", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("5msx", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("never", 0, &ns), -EINVAL);
	assert_int_equal(duration_parse("never", 1, &ns), 0);
	assert_true(ns == DURATION_NEVER);
	assert_int_equal(duration_parse("99999999999m", 0, &ns), -ERANGE);
}

static void duration_formats_shortest_exact(void **state)
{
	(void)state;
	char buf[32];
	duration_format(5000000, buf, sizeof(buf));
	assert_string_equal(buf, "5ms");
	duration_format(1500000, buf, sizeof(buf));
	assert_string_equal(buf, "1500us");
	duration_format(DURATION_NEVER, buf, sizeof(buf));
	assert_string_equal(buf, "never");
}

static void errname_round_trips(void **state)
{
	(void)state;
	assert_int_equal(errname_parse("EIO"), EIO);
	assert_int_equal(errname_parse("enospc"), ENOSPC);
	assert_int_equal(errname_parse("EBOGUS"), -EINVAL);
	assert_string_equal(errname_str(EDQUOT), "EDQUOT");
	assert_string_equal(errname_str(EROFS), "EROFS");
}

/* io_pwrite_all writes every byte at the offset asked (1 MiB + 1, past a hole), and errors come
 * back as -errno: a descriptor opened read-only gives -EBADF. */
static void io_pwrite_all_writes_everything(void **state)
{
	char path[] = "/tmp/fsynclab-iofull.XXXXXX";
	size_t len = (1u << 20) + 1;
	unsigned char *in = malloc(len), *out = malloc(len);
	int fd = mkstemp(path), ro;

	(void)state;
	assert_non_null(in);
	assert_non_null(out);
	assert_true(fd >= 0);
	for (size_t i = 0; i < len; i++)
		in[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(io_pwrite_all(fd, in, len, 4096), 0);
	assert_int_equal(pread(fd, out, len, 4096), (ssize_t)len);
	assert_memory_equal(in, out, len);
	assert_int_equal(io_pwrite_all(fd, in, 0, 0), 0);
	ro = open(path, O_RDONLY);
	assert_true(ro >= 0);
	assert_int_equal(io_pwrite_all(ro, in, 1, 0), -EBADF);
	assert_int_equal(close(ro), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(unlink(path), 0);
	free(in);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(duration_parses_every_unit),
	    cmocka_unit_test(duration_refuses_bad_spellings),
	    cmocka_unit_test(duration_formats_shortest_exact),
	    cmocka_unit_test(errname_round_trips),
	    cmocka_unit_test(io_pwrite_all_writes_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
