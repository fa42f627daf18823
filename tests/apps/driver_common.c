/*
 * driver_common.c — command line, keys, values and output lines shared by the application drivers
 * (see driver_common.h for the protocol a test script relies on).
 */
#include "driver_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* parse_long - a non-negative decimal number, or -1 if WORD is not one. */
static long parse_long(const char *word)
{
	char *end;
	long v;

	if (word == NULL || *word == '\0')
		return -1;
	errno = 0;
	v = strtol(word, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -1;
	return v;
}

/* is_valued - whether driver option OPT takes a value (listed in VALUED). */
static int is_valued(const char *const *valued, const char *opt)
{
	for (; valued != NULL && *valued != NULL; valued++)
		if (strcmp(*valued, opt) == 0)
			return 1;
	return 0;
}

/* usage_error - print the usage error naming WORD; returns -EINVAL. */
static int usage_error(const char *prog, const char *what, const char *word)
{
	fprintf(stderr, "%s: %s: '%s'\n", prog, what, word ? word : "(missing)");
	fprintf(stderr,
	        "usage: %s put|verify DIR COUNT [--start S] [--value-size B] [--continue] [options]\n", prog);
	return -EINVAL;
}

int driver_parse_args(int argc, char **argv, const char *const *valued, struct driver_args *args)
{
	const char *prog = argc > 0 ? argv[0] : "driver";
	int i;

	memset(args, 0, sizeof(*args));
	args->value_size = 100;
	if (argc < 4)
		return usage_error(prog, "missing arguments", argc > 1 ? argv[argc - 1] : NULL);
	if (strcmp(argv[1], "put") == 0)
		args->verify = 0;
	else if (strcmp(argv[1], "verify") == 0)
		args->verify = 1;
	else
		return usage_error(prog, "unknown mode", argv[1]);
	args->dir = argv[2];
	args->count = parse_long(argv[3]);
	if (args->count < 0 || args->count > 999999)
		return usage_error(prog, "bad COUNT", argv[3]);
	args->extra = calloc((size_t)argc, sizeof(char *));
	if (args->extra == NULL)
		return -ENOMEM;
	for (i = 4; i < argc; i++) {
		const char *opt = argv[i];

		if (strcmp(opt, "--start") == 0 || strcmp(opt, "--value-size") == 0) {
			long v = parse_long(i + 1 < argc ? argv[i + 1] : NULL);

			if (v < 0)
				return usage_error(prog, "bad number after option",
				                   i + 1 < argc ? argv[i + 1] : opt);
			if (strcmp(opt, "--start") == 0)
				args->start = v;
			else if (v < 16 || v > (1L << 24))
				return usage_error(prog, "value size must be 16..16777216", argv[i + 1]);
			else
				args->value_size = (size_t)v;
			i++;
		} else if (strcmp(opt, "--continue") == 0) {
			args->keep_going = 1;
		} else if (strncmp(opt, "--", 2) == 0) {
			args->extra[args->nextra++] = argv[i];
			if (is_valued(valued, opt)) {
				if (i + 1 >= argc)
					return usage_error(prog, "option needs a value", opt);
				args->extra[args->nextra++] = argv[++i];
			}
		} else {
			return usage_error(prog, "unexpected argument", opt);
		}
	}
	if (args->start + args->count > 999999)
		return usage_error(prog, "keys beyond k999999", argv[3]);
	return 0;
}

int driver_make_dir(const char *prog, const char *dir)
{
	if (mkdir(dir, 0775) == 0 || errno == EEXIST)
		return 0;
	fprintf(stderr, "%s: mkdir %s: %s\n", prog, dir, strerror(errno));
	return -errno;
}

void driver_key(long n, char *buf)
{
	snprintf(buf, DRIVER_KEY_MAX, "k%06ld", n);
}

void driver_value(long n, size_t size, char *buf)
{
	char head[DRIVER_KEY_MAX + 1];
	size_t hlen, i;

	driver_key(n, head);
	hlen = strlen(head);
	head[hlen++] = '=';
	for (i = 0; i < size; i++)
		buf[i] = i < hlen ? head[i] : (char)('a' + (char)((n + (long)i) % 26));
}

void driver_ack(const char *key)
{
	if (printf("ack %s\n", key) < 0 || fflush(stdout) != 0) {
		perror("stdout");
		exit(DRIVER_EXIT_COMMIT_FAIL);
	}
}

void driver_fail(const char *prog, const char *key, const char *msg)
{
	fprintf(stderr, "%s: commit %s: %s\n", prog, key, msg);
	if (printf("fail %s: %s\n", key, msg) < 0 || fflush(stdout) != 0)
		perror("stdout");
}

void driver_verify_one(struct driver_verify *v, long n, size_t value_size, int found, const void *val,
                       size_t len)
{
	char key[DRIVER_KEY_MAX];
	const char *state = "missing";

	driver_key(n, key);
	if (found) {
		char *want = malloc(value_size);

		state = "wrong";
		if (want != NULL) {
			driver_value(n, value_size, want);
			if (len == value_size && memcmp(want, val, len) == 0)
				state = "present";
			free(want);
		}
	}
	if (strcmp(state, "present") == 0)
		v->present++;
	else if (strcmp(state, "wrong") == 0)
		v->wrong++;
	else
		v->missing++;
	printf("%s %s\n", state, key);
}

int driver_verify_summary(const struct driver_verify *v, const char *corrupt_msg)
{
	printf("verify present=%ld missing=%ld wrong=%ld corrupt=%s%s%s\n", v->present, v->missing, v->wrong,
	       corrupt_msg ? "yes" : "no", corrupt_msg ? ": " : "", corrupt_msg ? corrupt_msg : "");
	if (fflush(stdout) != 0) {
		perror("stdout");
		return DRIVER_EXIT_OPEN_FAILED;
	}
	return corrupt_msg ? DRIVER_EXIT_CORRUPT : DRIVER_EXIT_OK;
}
