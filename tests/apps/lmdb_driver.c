/*
 * lmdb_driver.c — synchronous LMDB puts with acknowledgements, and a verify mode (protocol in
 * driver_common.h).
 *
 * Each key is its own write transaction; mdb_txn_commit() with the default environment flags
 * (no MDB_NOSYNC, no MDB_NOMETASYNC) writes the dirty pages, fdatasyncs the data file, then writes
 * the meta page through the O_DSYNC descriptor: a returned 0 is LMDB's promise of durability.
 * Options: --nolock (MDB_NOLOCK: no lock.mdb, for filesystems without shared writable mmap),
 * --writemap (MDB_WRITEMAP: data pages written through the mmap and msync).
 * Verify opens the environment read-only and reads every key; LMDB reports a damaged environment as
 * MDB_CORRUPTED, MDB_INVALID, MDB_VERSION_MISMATCH or MDB_PAGE_NOTFOUND.
 */
#include "driver_common.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "lmdb_driver";

/* is_corruption - whether an LMDB return code says the environment is damaged. */
static int is_corruption(int rc)
{
	return rc == MDB_CORRUPTED || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
	       rc == MDB_PAGE_NOTFOUND || rc == MDB_BAD_TXN;
}

/* put_all - the put mode. Returns the exit status. */
static int put_all(MDB_env *env, const struct driver_args *a)
{
	char key[DRIVER_KEY_MAX];
	char *val = malloc(a->value_size);
	int status = DRIVER_EXIT_OK;
	long n;

	if (val == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return DRIVER_EXIT_OPEN_FAILED;
	}
	for (n = a->start; n < a->start + a->count; n++) {
		MDB_txn *txn = NULL;
		MDB_dbi dbi;
		MDB_val k, v;
		int rc;

		driver_key(n, key);
		driver_value(n, a->value_size, val);
		k.mv_data = key;
		k.mv_size = strlen(key);
		v.mv_data = val;
		v.mv_size = a->value_size;
		rc = mdb_txn_begin(env, NULL, 0, &txn);
		if (rc == 0)
			rc = mdb_dbi_open(txn, NULL, 0, &dbi);
		if (rc == 0)
			rc = mdb_put(txn, dbi, &k, &v, 0);
		if (rc == 0) {
			rc = mdb_txn_commit(txn); /* frees txn whatever the result */
			txn = NULL;
		}
		if (txn != NULL)
			mdb_txn_abort(txn);
		if (rc == 0) {
			driver_ack(key);
			continue;
		}
		driver_fail(prog, key, mdb_strerror(rc));
		status = DRIVER_EXIT_COMMIT_FAIL;
		if (!a->keep_going)
			break;
	}
	free(val);
	return status;
}

/* verify_all - the verify mode. Returns the exit status. */
static int verify_all(MDB_env *env, const struct driver_args *a)
{
	struct driver_verify v = {0, 0, 0};
	char key[DRIVER_KEY_MAX];
	const char *corrupt = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	long n;
	int rc;

	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc != 0) {
		if (txn != NULL)
			mdb_txn_abort(txn);
		if (is_corruption(rc))
			return driver_verify_summary(&v, mdb_strerror(rc));
		fprintf(stderr, "%s: open %s: %s\n", prog, a->dir, mdb_strerror(rc));
		return DRIVER_EXIT_OPEN_FAILED;
	}
	for (n = a->start; n < a->start + a->count; n++) {
		MDB_val k, val;

		driver_key(n, key);
		k.mv_data = key;
		k.mv_size = strlen(key);
		rc = mdb_get(txn, dbi, &k, &val);
		if (rc == 0) {
			driver_verify_one(&v, n, a->value_size, 1, val.mv_data, val.mv_size);
		} else if (rc == MDB_NOTFOUND) {
			driver_verify_one(&v, n, a->value_size, 0, NULL, 0);
		} else {
			fprintf(stderr, "%s: get %s: %s\n", prog, key, mdb_strerror(rc));
			if (corrupt == NULL)
				corrupt = mdb_strerror(rc);
			driver_verify_one(&v, n, a->value_size, 0, NULL, 0);
		}
	}
	mdb_txn_abort(txn);
	return driver_verify_summary(&v, corrupt);
}

int main(int argc, char **argv)
{
	static const char *const valued[] = {"--mapsize", NULL};
	struct driver_args a;
	unsigned int flags = 0;
	size_t mapsize = 64u << 20;
	MDB_env *env = NULL;
	int i, rc, status;

	if (driver_parse_args(argc, argv, valued, &a) != 0)
		return DRIVER_EXIT_USAGE;
	for (i = 0; i < a.nextra; i++) {
		if (strcmp(a.extra[i], "--nolock") == 0) {
			flags |= MDB_NOLOCK;
		} else if (strcmp(a.extra[i], "--writemap") == 0) {
			flags |= MDB_WRITEMAP;
		} else if (strcmp(a.extra[i], "--mapsize") == 0) {
			char *end;

			mapsize = (size_t)strtoull(a.extra[++i], &end, 10) << 20;
			if (*end != '\0' || mapsize == 0) {
				fprintf(stderr, "%s: bad --mapsize (MiB): '%s'\n", prog, a.extra[i]);
				free(a.extra);
				return DRIVER_EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "%s: unknown option: '%s'\n", prog, a.extra[i]);
			free(a.extra);
			return DRIVER_EXIT_USAGE;
		}
	}
	if (a.verify) {
		flags |= MDB_RDONLY;
	} else if (driver_make_dir(prog, a.dir) != 0) {
		free(a.extra);
		return DRIVER_EXIT_OPEN_FAILED;
	}
	rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, mapsize);
	if (rc == 0)
		rc = mdb_env_open(env, a.dir, flags, 0664);
	if (rc != 0) {
		if (env != NULL)
			mdb_env_close(env);
		free(a.extra);
		if (a.verify && is_corruption(rc)) {
			struct driver_verify v = {0, 0, 0};

			return driver_verify_summary(&v, mdb_strerror(rc));
		}
		fprintf(stderr, "%s: open %s: %s\n", prog, a.dir, mdb_strerror(rc));
		return DRIVER_EXIT_OPEN_FAILED;
	}
	status = a.verify ? verify_all(env, &a) : put_all(env, &a);
	mdb_env_close(env);
	free(a.extra);
	return status;
}
