/*
 * driver_common.h — what the application drivers (lmdb_driver, leveldb_driver, sqlite_driver) share:
 * their command line, the keys and values they write, their output lines and their exit statuses.
 *
 * Every driver is used the same way, so one test script can drive any of them:
 *
 *   DRIVER put DIR COUNT [--start S] [--value-size B] [--continue] [driver options]
 *       Writes keys S .. S+COUNT-1, one synchronous commit each. After each commit the library
 *       acknowledged it prints "ack KEY" and flushes stdout, so a test that kills the driver still
 *       knows every acknowledged write. A failed commit prints "fail KEY: <library error>" on stdout
 *       (and the same on stderr); without --continue the driver stops there, with --continue it goes
 *       on with the next key (to see whether the library refuses further work).
 *   DRIVER verify DIR COUNT [--start S] [--value-size B] [driver options]
 *       Opens the store and prints, for each key, "present KEY", "missing KEY" or "wrong KEY" (found
 *       with another value), then one summary line:
 *       "verify present=N missing=N wrong=N corrupt=yes|no[: <library message>]".
 *
 * Keys are "k" and six digits; a value is a deterministic function of its key and the value size.
 */
#ifndef FSYNCLAB_APPS_DRIVER_COMMON_H
#define FSYNCLAB_APPS_DRIVER_COMMON_H

#include <stddef.h>

/* Exit statuses, distinct so a test can tell what happened. */
#define DRIVER_EXIT_OK          0 /* every write acknowledged / store opened and read */
#define DRIVER_EXIT_USAGE       2 /* bad command line (the offending word is named) */
#define DRIVER_EXIT_OPEN_FAILED 3 /* the store could not be opened or created (not corruption) */
#define DRIVER_EXIT_COMMIT_FAIL 4 /* a commit failed (the library reported an error) */
#define DRIVER_EXIT_CORRUPT     5 /* verify: the library reported corruption */

#define DRIVER_KEY_MAX 16 /* "k" + 6 digits + NUL, with room */

/* The parsed common command line; driver-specific options are left in extra[]. */
struct driver_args {
	int verify;        /* 0: put, 1: verify */
	const char *dir;   /* data directory of the store */
	long count;        /* number of keys */
	long start;        /* first key number */
	size_t value_size; /* bytes per value (>= 16) */
	int keep_going;    /* --continue: keep putting after a failed commit */
	int nextra;        /* driver-specific options, in order */
	char **extra;
};

/*
 * driver_parse_args - parse argv into ARGS. Unknown "--x" options (and a value following them when
 * the option is listed in VALUED, a NULL-terminated list) are left in args->extra for the driver.
 * Returns 0, or prints a usage error naming the offending word and returns -EINVAL.
 */
int driver_parse_args(int argc, char **argv, const char *const *valued, struct driver_args *args);

/* driver_make_dir - create DIR (mode 0775) unless it exists. Returns 0 or -errno (reported on stderr). */
int driver_make_dir(const char *prog, const char *dir);

/* driver_key - the key for number N into BUF (at least DRIVER_KEY_MAX bytes). */
void driver_key(long n, char *buf);

/*
 * driver_value - the value for key number N, SIZE bytes, into BUF. The value starts with the key so
 * a misplaced value is recognisable; the rest is a pattern that depends on N.
 */
void driver_value(long n, size_t size, char *buf);

/* driver_ack - print "ack KEY" and flush stdout; exits with DRIVER_EXIT_COMMIT_FAIL if stdout fails. */
void driver_ack(const char *key);

/* driver_fail - print "fail KEY: MSG" on stdout (flushed) and "PROG: commit KEY: MSG" on stderr. */
void driver_fail(const char *prog, const char *key, const char *msg);

/* Counters of a verify run, and the summary line. */
struct driver_verify {
	long present, missing, wrong;
};

/*
 * driver_verify_one - compare what the store returned for key number N (FOUND, VAL of LEN bytes)
 * with the expected value, print the "present/missing/wrong KEY" line and count it in V.
 */
void driver_verify_one(struct driver_verify *v, long n, size_t value_size, int found, const void *val,
                       size_t len);

/*
 * driver_verify_summary - print the summary line. CORRUPT_MSG is NULL when the library reported no
 * corruption. Returns the exit status: DRIVER_EXIT_CORRUPT if CORRUPT_MSG, else DRIVER_EXIT_OK.
 */
int driver_verify_summary(const struct driver_verify *v, const char *corrupt_msg);

#endif
