/*
 * sqlite_driver.c — synchronous SQLite inserts with acknowledgements, and a verify mode (protocol in
 * driver_common.h). The database is DIR/test.db, table kv(k TEXT PRIMARY KEY, v BLOB).
 *
 * Options: --journal delete|truncate|persist|wal (journal_mode, default delete: the rollback
 * journal), --exclusive (locking_mode=EXCLUSIVE: in WAL mode the wal-index lives in heap memory, not
 * in a shared mmap of test.db-shm), --checkpoint N (WAL: wal_autocheckpoint in pages; default
 * SQLite's 1000), --synchronous full|extra (default full; EXTRA also fsyncs the directory after
 * deleting a rollback journal, which makes the commit itself durable). Each INSERT is its own
 * transaction and sqlite3_step() returning SQLITE_DONE is SQLite's promise of durability.
 * Verify opens the database, runs PRAGMA integrity_check (anything but "ok", or SQLITE_CORRUPT /
 * SQLITE_NOTADB from any statement, is reported as corruption), then reads every key.
 */
#include "driver_common.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "sqlite_driver";

/* is_corruption - whether a (primary) SQLite result code says the database is damaged. */
static int is_corruption(int rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/* describe - "message (extended code)" for DB's last error into BUF. */
static const char *describe(sqlite3 *db, char *buf, size_t size)
{
	snprintf(buf, size, "%s (extended code %d)", sqlite3_errmsg(db), sqlite3_extended_errcode(db));
	return buf;
}

/* exec_sql - run SQL; on error print it with WHAT and return the SQLite code. */
static int exec_sql(sqlite3 *db, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		fprintf(stderr, "%s: %s: %s (extended code %d)\n", prog, what, msg ? msg : sqlite3_errstr(rc),
		        sqlite3_extended_errcode(db));
		sqlite3_free(msg);
	}
	return rc;
}

/* put_all - the put mode. Returns the exit status. */
static int put_all(sqlite3 *db, const struct driver_args *a)
{
	char key[DRIVER_KEY_MAX], msg[512];
	char *val = malloc(a->value_size);
	int status = DRIVER_EXIT_OK;
	sqlite3_stmt *st = NULL;
	long n;

	if (val == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return DRIVER_EXIT_OPEN_FAILED;
	}
	if (exec_sql(db, "CREATE TABLE IF NOT EXISTS kv(k TEXT PRIMARY KEY, v BLOB)", "create table") !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)", -1, &st, NULL) !=
	        SQLITE_OK) {
		fprintf(stderr, "%s: prepare: %s\n", prog, describe(db, msg, sizeof(msg)));
		free(val);
		return DRIVER_EXIT_OPEN_FAILED;
	}
	for (n = a->start; n < a->start + a->count; n++) {
		int rc;

		driver_key(n, key);
		driver_value(n, a->value_size, val);
		rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_blob(st, 2, val, (int)a->value_size, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			driver_ack(key);
		} else {
			driver_fail(prog, key, describe(db, msg, sizeof(msg)));
			status = DRIVER_EXIT_COMMIT_FAIL;
		}
		if (sqlite3_reset(st) != SQLITE_OK && rc == SQLITE_DONE) {
			driver_fail(prog, key, describe(db, msg, sizeof(msg)));
			status = DRIVER_EXIT_COMMIT_FAIL;
		}
		if (status != DRIVER_EXIT_OK && !a->keep_going)
			break;
	}
	if (sqlite3_finalize(st) != SQLITE_OK && status == DRIVER_EXIT_OK)
		status = DRIVER_EXIT_COMMIT_FAIL;
	free(val);
	return status;
}

/* integrity - run PRAGMA integrity_check; NULL if "ok", else a malloc'ed message. */
static char *integrity(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	char msg[512];
	char *bad = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);

		if (row != NULL && strcmp(row, "ok") != 0 && bad == NULL)
			bad = strdup(row);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE && bad == NULL)
		bad = strdup(describe(db, msg, sizeof(msg)));
	sqlite3_finalize(st);
	return bad;
}

/* verify_all - the verify mode. Returns the exit status. */
static int verify_all(sqlite3 *db, const struct driver_args *a)
{
	struct driver_verify v = {0, 0, 0};
	char key[DRIVER_KEY_MAX], msg[512];
	char *corrupt = integrity(db);
	sqlite3_stmt *st = NULL;
	int status;
	long n;

	if (sqlite3_prepare_v2(db, "SELECT v FROM kv WHERE k = ?1", -1, &st, NULL) != SQLITE_OK) {
		int rc = sqlite3_extended_errcode(db);

		describe(db, msg, sizeof(msg));
		if (corrupt == NULL && is_corruption(rc))
			corrupt = strdup(msg);
		if (corrupt == NULL && strstr(msg, "no such table") != NULL) {
			/* An empty database: the table was never committed. Every key is missing. */
			for (n = a->start; n < a->start + a->count; n++)
				driver_verify_one(&v, n, a->value_size, 0, NULL, 0);
			return driver_verify_summary(&v, NULL);
		}
		if (corrupt == NULL) {
			fprintf(stderr, "%s: prepare: %s\n", prog, msg);
			return DRIVER_EXIT_OPEN_FAILED;
		}
		status = driver_verify_summary(&v, corrupt);
		free(corrupt);
		return status;
	}
	for (n = a->start; n < a->start + a->count; n++) {
		int rc;

		driver_key(n, key);
		rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			driver_verify_one(&v, n, a->value_size, 1, sqlite3_column_blob(st, 0),
			                  (size_t)sqlite3_column_bytes(st, 0));
		} else {
			if (rc != SQLITE_DONE) {
				describe(db, msg, sizeof(msg));
				fprintf(stderr, "%s: select %s: %s\n", prog, key, msg);
				if (corrupt == NULL)
					corrupt = strdup(msg);
			}
			driver_verify_one(&v, n, a->value_size, 0, NULL, 0);
		}
		sqlite3_reset(st); /* its result repeats the step's, handled above */
	}
	sqlite3_finalize(st);
	status = driver_verify_summary(&v, corrupt);
	free(corrupt);
	return status;
}

int main(int argc, char **argv)
{
	static const char *const valued[] = {"--journal", "--checkpoint", "--synchronous", NULL};
	const char *journal = "delete";
	const char *synchronous = "full";
	char path[4096], sql[128], msg[512];
	long checkpoint = -1;
	struct driver_args a;
	sqlite3 *db = NULL;
	int exclusive = 0;
	int i, rc, status;

	if (driver_parse_args(argc, argv, valued, &a) != 0)
		return DRIVER_EXIT_USAGE;
	for (i = 0; i < a.nextra; i++) {
		const char *opt = a.extra[i];

		if (strcmp(opt, "--exclusive") == 0) {
			exclusive = 1;
		} else if (strcmp(opt, "--journal") == 0) {
			journal = a.extra[++i];
			if (strcmp(journal, "delete") != 0 && strcmp(journal, "truncate") != 0 &&
			    strcmp(journal, "persist") != 0 && strcmp(journal, "wal") != 0) {
				fprintf(stderr, "%s: unknown journal mode: '%s'\n", prog, journal);
				free(a.extra);
				return DRIVER_EXIT_USAGE;
			}
		} else if (strcmp(opt, "--synchronous") == 0) {
			synchronous = a.extra[++i];
			if (strcmp(synchronous, "full") != 0 && strcmp(synchronous, "extra") != 0) {
				fprintf(stderr, "%s: unknown synchronous level: '%s'\n", prog, synchronous);
				free(a.extra);
				return DRIVER_EXIT_USAGE;
			}
		} else if (strcmp(opt, "--checkpoint") == 0) {
			char *end;

			checkpoint = strtol(a.extra[++i], &end, 10);
			if (*end != '\0' || checkpoint < 0) {
				fprintf(stderr, "%s: bad --checkpoint (pages): '%s'\n", prog, a.extra[i]);
				free(a.extra);
				return DRIVER_EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "%s: unknown option: '%s'\n", prog, opt);
			free(a.extra);
			return DRIVER_EXIT_USAGE;
		}
	}
	free(a.extra);
	if (!a.verify && driver_make_dir(prog, a.dir) != 0)
		return DRIVER_EXIT_OPEN_FAILED;
	snprintf(path, sizeof(path), "%s/test.db", a.dir);
	rc = sqlite3_open_v2(
	    path, &db, a.verify ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "%s: open %s: %s\n", prog, path,
		        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return DRIVER_EXIT_OPEN_FAILED;
	}
	sqlite3_extended_result_codes(db, 1);
	if (exclusive && exec_sql(db, "PRAGMA locking_mode=EXCLUSIVE", "locking_mode") != SQLITE_OK)
		goto out_open_failed;
	/* Verify keeps whatever journal mode the file records (a WAL database stays in WAL mode). */
	if (!a.verify) {
		snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s", journal);
		if (exec_sql(db, sql, "journal_mode") != SQLITE_OK)
			goto out_open_failed;
	}
	snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s", synchronous);
	if (exec_sql(db, sql, "synchronous") != SQLITE_OK)
		goto out_open_failed;
	if (checkpoint >= 0) {
		snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint=%ld", checkpoint);
		if (exec_sql(db, sql, "wal_autocheckpoint") != SQLITE_OK)
			goto out_open_failed;
	}
	status = a.verify ? verify_all(db, &a) : put_all(db, &a);
	rc = sqlite3_close(db);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "%s: close: %s\n", prog, sqlite3_errstr(rc));
		if (status == DRIVER_EXIT_OK)
			status = a.verify ? DRIVER_EXIT_OPEN_FAILED : DRIVER_EXIT_COMMIT_FAIL;
	}
	return status;

out_open_failed:
	rc = sqlite3_extended_errcode(db);
	describe(db, msg, sizeof(msg));
	sqlite3_close(db);
	if (a.verify && is_corruption(rc)) {
		struct driver_verify v = {0, 0, 0};

		return driver_verify_summary(&v, msg);
	}
	return DRIVER_EXIT_OPEN_FAILED;
}
