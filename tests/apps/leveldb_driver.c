/*
 * leveldb_driver.c — synchronous LevelDB puts with acknowledgements, and a verify mode, through
 * LevelDB's C API (leveldb/c.h). Protocol in driver_common.h.
 *
 * Puts use write options with sync=1: LevelDB appends the record to its log (*.log) and fsyncs the
 * log before leveldb_put() returns; an error string set by leveldb_put() is a failed commit.
 * Options: --write-buffer KIB (memtable size; small values force table files and compactions, so a
 * fault can hit an .ldb file or the MANIFEST too).
 * Verify opens with paranoid_checks=1 and reads with verify_checksums=1; any error LevelDB reports
 * while opening or reading is printed as the corruption message (LevelDB says "Corruption: ...").
 */
#include "driver_common.h"

#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "leveldb_driver";

/* put_all - the put mode. Returns the exit status. */
static int put_all(leveldb_t *db, const struct driver_args *a)
{
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	char key[DRIVER_KEY_MAX];
	char *val = malloc(a->value_size);
	int status = DRIVER_EXIT_OK;
	long n;

	if (val == NULL || wo == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		free(val);
		if (wo != NULL)
			leveldb_writeoptions_destroy(wo);
		return DRIVER_EXIT_OPEN_FAILED;
	}
	leveldb_writeoptions_set_sync(wo, 1);
	for (n = a->start; n < a->start + a->count; n++) {
		char *err = NULL;

		driver_key(n, key);
		driver_value(n, a->value_size, val);
		leveldb_put(db, wo, key, strlen(key), val, a->value_size, &err);
		if (err == NULL) {
			driver_ack(key);
			continue;
		}
		driver_fail(prog, key, err);
		leveldb_free(err);
		status = DRIVER_EXIT_COMMIT_FAIL;
		if (!a->keep_going)
			break;
	}
	leveldb_writeoptions_destroy(wo);
	free(val);
	return status;
}

/* verify_all - the verify mode. Returns the exit status. */
static int verify_all(leveldb_t *db, const struct driver_args *a)
{
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	struct driver_verify v = {0, 0, 0};
	char key[DRIVER_KEY_MAX];
	char *corrupt = NULL;
	int status;
	long n;

	if (ro == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return DRIVER_EXIT_OPEN_FAILED;
	}
	leveldb_readoptions_set_verify_checksums(ro, 1);
	for (n = a->start; n < a->start + a->count; n++) {
		char *err = NULL;
		size_t len = 0;
		char *val;

		driver_key(n, key);
		val = leveldb_get(db, ro, key, strlen(key), &len, &err);
		if (err != NULL) {
			fprintf(stderr, "%s: get %s: %s\n", prog, key, err);
			if (corrupt == NULL)
				corrupt = err;
			else
				leveldb_free(err);
		}
		driver_verify_one(&v, n, a->value_size, val != NULL, val, len);
		if (val != NULL)
			leveldb_free(val);
	}
	leveldb_readoptions_destroy(ro);
	status = driver_verify_summary(&v, corrupt);
	if (corrupt != NULL)
		leveldb_free(corrupt);
	return status;
}

int main(int argc, char **argv)
{
	static const char *const valued[] = {"--write-buffer", NULL};
	leveldb_options_t *opts;
	struct driver_args a;
	size_t write_buffer = 0;
	char *err = NULL;
	leveldb_t *db;
	int i, status;

	if (driver_parse_args(argc, argv, valued, &a) != 0)
		return DRIVER_EXIT_USAGE;
	for (i = 0; i < a.nextra; i++) {
		if (strcmp(a.extra[i], "--write-buffer") == 0) {
			char *end;

			write_buffer = (size_t)strtoull(a.extra[++i], &end, 10) << 10;
			if (*end != '\0' || write_buffer == 0) {
				fprintf(stderr, "%s: bad --write-buffer (KiB): '%s'\n", prog, a.extra[i]);
				free(a.extra);
				return DRIVER_EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "%s: unknown option: '%s'\n", prog, a.extra[i]);
			free(a.extra);
			return DRIVER_EXIT_USAGE;
		}
	}
	opts = leveldb_options_create();
	if (opts == NULL) {
		free(a.extra);
		return DRIVER_EXIT_OPEN_FAILED;
	}
	leveldb_options_set_create_if_missing(opts, !a.verify);
	leveldb_options_set_paranoid_checks(opts, 1);
	if (write_buffer != 0)
		leveldb_options_set_write_buffer_size(opts, write_buffer);
	db = leveldb_open(opts, a.dir, &err);
	if (db == NULL || err != NULL) {
		int corrupt = err != NULL && strstr(err, "Corruption") != NULL;

		if (a.verify && corrupt) {
			struct driver_verify v = {0, 0, 0};

			status = driver_verify_summary(&v, err);
		} else {
			fprintf(stderr, "%s: open %s: %s\n", prog, a.dir, err ? err : "unknown error");
			status = DRIVER_EXIT_OPEN_FAILED;
		}
		if (db != NULL)
			leveldb_close(db);
		leveldb_free(err);
		leveldb_options_destroy(opts);
		free(a.extra);
		return status;
	}
	status = a.verify ? verify_all(db, &a) : put_all(db, &a);
	leveldb_close(db);
	leveldb_options_destroy(opts);
	free(a.extra);
	return status;
}
