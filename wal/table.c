/*
 * table.c — the table store: fixed-size pages in a data file, every update logged first, and a
 * checkpoint shaped like PostgreSQL's (the place where fsyncgate actually bit).
 *
 * Layout of DIR:
 *     table.dat   pages * page_size bytes (a short file reads as zeros beyond its end)
 *     log/        the write-ahead log; each record is one update:
 *                 [page u64][offset u32][length u32][bytes]   (little-endian)
 *
 * The whole table lives in memory (pages are small and few: this is a teaching store, not a
 * database). An update appends its record and, once the log acknowledges it, applies it to the
 * in-memory page and marks the page dirty. Opening reads the data file and replays the log over it
 * (updates are idempotent byte writes, so replaying records already checkpointed is harmless).
 *
 * Checkpoint, in this order:
 *   1. sync the log (write-ahead rule: no page reaches the data file before its log record is durable);
 *   2. pwrite every dirty page into the data file;
 *   3. fdatasync the data file (through the log's sync hook and error policy);
 *   4. only then truncate the log.
 * If step 3 fails under panic, the table refuses further work and the log keeps the updates, so a
 * reopen recovers them. Under retry, a retried fdatasync "succeeds" (the kernel marked the failed
 * pages clean), step 4 drops the log, and after a power cut the updates are gone: fsyncgate.
 *
 * Known limits: one process, one thread at a time (a mutex serialises every call); no free-space map.
 */
#include "wal.h"
#include "io_full.h"
#include "wal_internal.h"

#include <endian.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TABLE_UPDATE_HEADER 16u /* page u64, offset u32, length u32 */

struct wal_table {
	pthread_mutex_t lock; /* serialises every call; protects everything below */
	uint32_t page_size;
	uint64_t pages;
	struct wal *log;
	int datafd;
	uint8_t *mem;   /* pages * page_size bytes: the current contents */
	uint8_t *dirty; /* one flag per page: updated since the last checkpoint */
	int error;      /* panic: the first checkpoint error; further calls get WAL_ESHUTDOWN */
};

void wal_table_options_init(struct wal_table_options *o)
{
	memset(o, 0, sizeof(*o));
	o->page_size = 4096;
	o->pages = 256;
	wal_options_init(&o->wal);
}

/* apply - copy an update into memory and mark its page dirty. */
static void apply(struct wal_table *t, uint64_t page, uint32_t offset, const void *data, uint32_t len)
{
	memcpy(t->mem + page * t->page_size + offset, data, len);
	t->dirty[page] = 1;
}

static int valid_range(const struct wal_table *t, uint64_t page, uint32_t offset, uint32_t len)
{
	return page < t->pages && offset <= t->page_size && len <= t->page_size - offset;
}

/* replay_update - wal_record_fn for open: decode one update record and apply it. */
static int replay_update(void *arg, const struct wal_record *r)
{
	struct wal_table *t = arg;
	uint64_t page;
	uint32_t offset, len;
	const uint8_t *p = r->data;

	if (r->len < TABLE_UPDATE_HEADER)
		return -EINVAL;
	memcpy(&page, p, 8);
	memcpy(&offset, p + 8, 4);
	memcpy(&len, p + 12, 4);
	page = le64toh(page);
	offset = le32toh(offset);
	len = le32toh(len);
	if (r->len != TABLE_UPDATE_HEADER + len || !valid_range(t, page, offset, len))
		return -EINVAL;
	apply(t, page, offset, p + TABLE_UPDATE_HEADER, len);
	return 0;
}

/* read_data_file - fill memory from the data file; bytes past its end stay zero. */
static int read_data_file(struct wal_table *t)
{
	uint64_t total = t->pages * t->page_size, off = 0;
	while (off < total) {
		ssize_t n = pread(t->datafd, t->mem + off, total - off, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		off += (uint64_t)n;
	}
	return 0;
}

static void table_free(struct wal_table *t)
{
	if (t->datafd >= 0)
		close(t->datafd);
	pthread_mutex_destroy(&t->lock);
	free(t->mem);
	free(t->dirty);
	free(t);
}

int wal_table_open(const char *dir, const struct wal_table_options *o, struct wal_table **out,
                   struct wal_recovery *report)
{
	struct wal_table_options defaults;
	char *path = NULL;
	int rc;

	if (report != NULL)
		memset(report, 0, sizeof(*report));
	if (o == NULL) {
		wal_table_options_init(&defaults);
		o = &defaults;
	}
	if (o->page_size == 0 || o->pages == 0 || o->pages > (1ull << 32) / o->page_size)
		return -EINVAL;
	if (o->wal.create && mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;

	struct wal_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->datafd = -1;
	t->page_size = o->page_size;
	t->pages = o->pages;
	t->mem = calloc(o->pages, o->page_size);
	t->dirty = calloc(o->pages, 1);
	if (t->mem == NULL || t->dirty == NULL) {
		rc = -ENOMEM;
		goto out_err;
	}
	if (asprintf(&path, "%s/table.dat", dir) < 0) {
		rc = -ENOMEM;
		goto out_err;
	}
	t->datafd = open(path, O_RDWR | O_CLOEXEC | (o->wal.create ? O_CREAT : 0), 0644);
	free(path);
	path = NULL;
	if (t->datafd < 0) {
		rc = -errno;
		goto out_err;
	}
	rc = read_data_file(t);
	if (rc < 0)
		goto out_err;
	if (asprintf(&path, "%s/log", dir) < 0) {
		rc = -ENOMEM;
		goto out_err;
	}
	rc = wal_open(path, &o->wal, &t->log, report);
	free(path);
	if (rc < 0)
		goto out_err;
	rc = wal_replay(t->log, 0, replay_update, t);
	if (rc != 0) {
		wal_close(t->log);
		goto out_err;
	}
	*out = t;
	return 0;

out_err:
	table_free(t);
	return rc;
}

int wal_table_update(struct wal_table *t, uint64_t page, uint32_t offset, const void *data, uint32_t len,
                     uint64_t *lsn)
{
	uint8_t small[TABLE_UPDATE_HEADER + 256];
	int rc;

	if (!valid_range(t, page, offset, len) || (len > 0 && data == NULL))
		return -EINVAL;
	uint8_t *rec = len <= 256 ? small : malloc(TABLE_UPDATE_HEADER + (size_t)len);
	if (rec == NULL)
		return -ENOMEM;
	uint64_t le_page = htole64(page);
	uint32_t le_off = htole32(offset), le_len = htole32(len);
	memcpy(rec, &le_page, 8);
	memcpy(rec + 8, &le_off, 4);
	memcpy(rec + 12, &le_len, 4);
	if (len > 0)
		memcpy(rec + TABLE_UPDATE_HEADER, data, len);

	pthread_mutex_lock(&t->lock);
	if (t->error != 0) {
		rc = WAL_ESHUTDOWN;
	} else {
		rc = wal_append(t->log, rec, TABLE_UPDATE_HEADER + (size_t)len, lsn);
		if (rc == 0)
			apply(t, page, offset, data, len);
	}
	pthread_mutex_unlock(&t->lock);
	if (rec != small)
		free(rec);
	return rc;
}

int wal_table_read(struct wal_table *t, uint64_t page, void *buf)
{
	if (page >= t->pages)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	memcpy(buf, t->mem + page * t->page_size, t->page_size);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* write_page - pwrite one whole page into the data file. 0 or -errno. */
static int write_page(struct wal_table *t, uint64_t page)
{
	return io_pwrite_all(t->datafd, t->mem + page * t->page_size, t->page_size, page * t->page_size);
}

int wal_table_checkpoint(struct wal_table *t)
{
	struct wal_stats st;
	int rc;

	pthread_mutex_lock(&t->lock);
	if (t->error != 0) {
		rc = WAL_ESHUTDOWN;
		goto out;
	}
	rc = wal_sync(t->log); /* 1. write-ahead: the log first */
	if (rc != 0)
		goto out_fail;
	wal_get_stats(t->log, &st);
	for (uint64_t p = 0; p < t->pages; p++) { /* 2. dirty pages into the data file */
		if (!t->dirty[p])
			continue;
		rc = write_page(t, p);
		if (rc != 0) {
			wal_fail(t->log, rc);
			goto out_fail;
		}
	}
	rc = wal_sync_other(t->log, t->datafd, WAL_SYNC_DATAFILE); /* 3. (retry may "succeed") */
	if (rc != 0)
		goto out_fail;
	memset(t->dirty, 0, t->pages);
	rc = wal_truncate(t->log, st.written_lsn); /* 4. only now may the log go */
	if (rc != 0)
		goto out_fail;
	goto out;

out_fail:
	if (wal_error(t->log) != 0 && t->error == 0)
		t->error = rc; /* panic: the log shut down too */
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

struct wal *wal_table_log(struct wal_table *t)
{
	return t->log;
}

int wal_table_close(struct wal_table *t)
{
	int rc = wal_close(t->log);
	if (close(t->datafd) < 0 && rc == 0)
		rc = -errno;
	t->datafd = -1;
	table_free(t);
	return rc;
}
