/*
 * workload_wal.c — the workload process's WAL and table-store commands (see workload.h): append
 * (one or more writer threads, optionally in the background), update, fsync, checkpoint, recover.
 *
 * Every sync goes through this file's sync hook, which times it and reports it to the runner, so
 * the narration shows each fsync and its errno as it happens. Under the `panic` error policy a
 * failed operation that left the log panicked makes the child exit with WORKLOAD_EXIT_PANIC right
 * after it reported the result: the runner observes the writer stopping.
 *
 * The log lives in <mnt>/wal (wal target) or <mnt>/table with its log in <mnt>/table/log (table).
 * I/O mode WAL_IO_WRITE: every append is a write request the FUSE fault rules can see.
 */
#include "workload_child.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "errname.h"
#include "wal.h"

/* ---- Hooks: every sync and every log line reach the runner ---- */

static const char *sync_target_name(enum wal_sync_target what)
{
	return what == WAL_SYNC_DIRECTORY ? "directory" : what == WAL_SYNC_DATAFILE ? "datafile" : "segment";
}

/* sync_hook - the real sync, timed and reported. Returns its result unchanged. */
static int sync_hook(void *arg, int fd, enum wal_sync_target what)
{
	struct workload_child *ch = arg;
	int64_t t = workload_clock_ns();
	int r = wal_sync_fd(fd, what);
	workload_emit(ch, json_pack("{s:s,s:b,s:s,s:f,s:f,s:s}", "ev", "sync", "ok", r == 0, "err",
	                            r ? errname_str(-r) : "", "ms", (double)(workload_clock_ns() - t) / 1e6,
	                            "t", workload_t(ch), "what", sync_target_name(what)));
	return r;
}

/* log_hook - the WAL's own account of an error it handled (e.g. a retried sync). */
static void log_hook(void *arg, const char *msg)
{
	struct workload_child *ch = arg;
	workload_emit(ch, json_pack("{s:s,s:s,s:f}", "ev", "log", "text", msg, "t", workload_t(ch)));
}

/* ---- Opening ---- */

/* wal_opts - the log options from the child's configuration. 0 or -EINVAL. */
static int wal_opts(struct workload_child *ch, struct wal_options *o)
{
	wal_options_init(o);
	if (wal_policy_parse(ch->cfg.sync_policy, o) < 0)
		return -EINVAL;
	o->error_policy = ch->cfg.panic ? WAL_ERROR_PANIC : WAL_ERROR_RETRY;
	o->io = WAL_IO_WRITE;
	o->segment_size = 1 << 20;
	o->sync_directory = ch->cfg.sync_directory;
	o->sync_hook = sync_hook;
	o->sync_hook_arg = ch;
	o->log_fn = log_hook;
	o->log_arg = ch;
	return 0;
}

/* dir_of - the target's directory under the mount. */
static void dir_of(const struct workload_child *ch, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ch->cfg.mnt, ch->cfg.target == WORKLOAD_TABLE ? "table" : "wal");
}

/* report_json - the recovery report as the runner reads it. */
static json_t *report_json(const struct wal_recovery *rep)
{
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:s,s:I,s:I,s:s}", "verdict", wal_verdict_name(rep->verdict),
	                 "records", (json_int_t)rep->records, "first_lsn", (json_int_t)rep->first_lsn,
	                 "last_lsn", (json_int_t)rep->last_lsn, "at_lsn", (json_int_t)rep->at_lsn, "segment",
	                 rep->segment, "offset", (json_int_t)rep->offset, "truncated_bytes",
	                 (json_int_t)rep->truncated_bytes, "detail", rep->detail);
}

/* poller - under batch, report each move of the durable LSN (the flusher syncs on its own). */
static void *poller(void *arg)
{
	struct workload_child *ch = arg;
	uint64_t last = 0;
	while (!ch->stopping) {
		struct wal_stats st;
		wal_get_stats(ch->wal, &st);
		if (st.durable_lsn != last) {
			last = st.durable_lsn;
			workload_emit(ch, json_pack("{s:s,s:I,s:f}", "ev", "durable", "lsn", (json_int_t)last,
			                            "t", workload_t(ch)));
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* open_target - open (recovering) the log or table. REP gets the recovery report. 0 or -errno. */
static int open_target(struct workload_child *ch, struct wal_recovery *rep)
{
	char dir[PATH_MAX];
	dir_of(ch, dir, sizeof(dir));
	memset(rep, 0, sizeof(*rep));
	int r;
	if (ch->cfg.target == WORKLOAD_TABLE) {
		struct wal_table_options to;
		wal_table_options_init(&to);
		r = wal_opts(ch, &to.wal);
		to.page_size = ch->cfg.page_size;
		to.pages = ch->cfg.table_pages;
		if (r == 0)
			r = wal_table_open(dir, &to, &ch->table, rep);
		if (r == 0)
			ch->wal = wal_table_log(ch->table);
	} else {
		struct wal_options o;
		r = wal_opts(ch, &o);
		if (r == 0)
			r = wal_open(dir, &o, &ch->wal, rep);
	}
	if (r == 0 && strncmp(ch->cfg.sync_policy, "batch", 5) == 0 && !ch->poller_running)
		ch->poller_running = pthread_create(&ch->poller, NULL, poller, ch) == 0;
	return r;
}

/* ensure_open - open lazily; 0 or the open's error. */
static int ensure_open(struct workload_child *ch)
{
	struct wal_recovery rep;
	return ch->wal ? 0 : open_target(ch, &rep);
}

/* will_panic - under `panic`, did this failure leave the log (or table) refusing all work? */
static bool will_panic(struct workload_child *ch, int rc)
{
	if (!ch->cfg.panic || rc == 0 || !ch->wal)
		return false;
	return wal_error(ch->wal) != 0 || rc == WAL_ESHUTDOWN;
}

/* finish - report a command's result; under `panic` a failure that panicked the log then ends the
 * child with WORKLOAD_EXIT_PANIC (the done line says so first, so the runner waits for the exit). */
static void finish(struct workload_child *ch, int rc, json_t *extra, bool panics)
{
	if (panics) {
		if (!extra)
			extra = json_object();
		json_object_set_new(extra, "panic", json_true());
	}
	workload_done(ch, rc, extra);
	if (panics) {
		workload_emit(ch, json_pack("{s:s,s:s,s:f}", "ev", "panic", "err", errname_str(-rc), "t",
		                            workload_t(ch)));
		_exit(WORKLOAD_EXIT_PANIC);
	}
}

/* durable_lsn - the log's durable LSN now. */
static json_int_t durable_lsn(struct workload_child *ch)
{
	struct wal_stats st;
	wal_get_stats(ch->wal, &st);
	return (json_int_t)st.durable_lsn;
}

/* ---- append ---- */

struct append_job {
	struct workload_child *ch;
	uint64_t records, id_base;
	uint32_t size;
	int64_t interval_ns;
	atomic_uint_fast64_t next;  /* the next record index to claim */
	atomic_uint_fast64_t acked; /* appends that returned 0 */
	atomic_int first_error;     /* the first failure, 0 while none */
};

/* append_writer - one writer thread: claim indexes, append, acknowledge. */
static void *append_writer(void *arg)
{
	struct append_job *job = arg;
	struct workload_child *ch = job->ch;
	uint8_t *buf = malloc(job->size ? job->size : 1);
	if (!buf) {
		int zero = 0;
		atomic_compare_exchange_strong(&job->first_error, &zero, -ENOMEM);
		return NULL;
	}
	for (;;) {
		if (atomic_load(&job->first_error) || ch->stopping)
			break;
		uint64_t i = atomic_fetch_add(&job->next, 1);
		if (i >= job->records)
			break;
		uint64_t id = job->id_base + i, lsn = 0;
		checks_payload_fill(ch->cfg.seed, id, buf, job->size);
		int r = wal_append(ch->wal, buf, job->size, &lsn);
		if (r < 0) {
			int zero = 0;
			atomic_compare_exchange_strong(&job->first_error, &zero, r);
			break;
		}
		atomic_fetch_add(&job->acked, 1);
		workload_emit(ch, json_pack("{s:s,s:I,s:I,s:f,s:I}", "ev", "ack", "lsn", (json_int_t)lsn,
		                            "id", (json_int_t)id, "t", workload_t(ch), "d", durable_lsn(ch)));
		if (job->interval_ns > 0) {
			struct timespec ts = {job->interval_ns / 1000000000, job->interval_ns % 1000000000};
			nanosleep(&ts, NULL);
		}
	}
	free(buf);
	return NULL;
}

/* run_append - the whole append with W writers; returns the first error and fills the counters. */
static int run_append(struct append_job *job, unsigned writers, double *ms)
{
	int64_t t = workload_clock_ns();
	pthread_t th[64];
	unsigned started = 0;
	if (writers > 64)
		writers = 64;
	for (unsigned k = 1; k < writers; k++)
		if (pthread_create(&th[started], NULL, append_writer, job) == 0)
			started++;
	append_writer(job);
	for (unsigned k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	*ms = (double)(workload_clock_ns() - t) / 1e6;
	return atomic_load(&job->first_error);
}

static struct append_job bg_job; /* the one background append */
static unsigned bg_writers;

/* bg_main - a background append: report when it ends (or panic). */
static void *bg_main(void *arg)
{
	struct workload_child *ch = arg;
	double ms;
	int r = run_append(&bg_job, bg_writers, &ms);
	bool panics = will_panic(ch, r);
	workload_emit(ch, json_pack("{s:s,s:i,s:I,s:f,s:f,s:b}", "ev", "bgdone", "rc", r, "count",
	                            (json_int_t)atomic_load(&bg_job.acked), "ms", ms, "t", workload_t(ch),
	                            "panic", panics));
	if (panics) {
		workload_emit(ch, json_pack("{s:s,s:s,s:f}", "ev", "panic", "err", errname_str(-r), "t",
		                            workload_t(ch)));
		_exit(WORKLOAD_EXIT_PANIC);
	}
	return NULL;
}

static void cmd_append(struct workload_child *ch, json_t *cmd)
{
	if (ch->bg_running) { /* one append at a time: wait for the background one */
		pthread_join(ch->bg, NULL);
		ch->bg_running = false;
	}
	struct append_job *job = &bg_job, local;
	bool background = json_is_true(json_object_get(cmd, "background"));
	if (!background)
		job = &local;
	memset(job, 0, sizeof(*job));
	job->ch = ch;
	job->records = (uint64_t)json_integer_value(json_object_get(cmd, "records"));
	job->id_base = (uint64_t)json_integer_value(json_object_get(cmd, "id_base"));
	job->size = (uint32_t)json_integer_value(json_object_get(cmd, "size"));
	job->interval_ns = json_integer_value(json_object_get(cmd, "interval_ns"));
	unsigned writers = (unsigned)json_integer_value(json_object_get(cmd, "writers"));
	if (writers == 0)
		writers = 1;
	if (job->size < 8) {
		workload_done(ch, -EINVAL, NULL);
		return;
	}
	if (background) {
		bg_writers = writers;
		ch->bg_running = pthread_create(&ch->bg, NULL, bg_main, ch) == 0;
		workload_done(ch, ch->bg_running ? 0 : -EAGAIN, json_pack("{s:b}", "background", 1));
		return;
	}
	double ms;
	int r = run_append(job, writers, &ms);
	finish(ch, r,
	       json_pack("{s:I,s:f,s:I}", "count", (json_int_t)atomic_load(&job->acked), "ms", ms, "d",
	                 durable_lsn(ch)),
	       will_panic(ch, r));
}

/* ---- update (table) ---- */

static void cmd_update(struct workload_child *ch, json_t *cmd)
{
	uint64_t pages = (uint64_t)json_integer_value(json_object_get(cmd, "pages"));
	uint64_t first = (uint64_t)json_integer_value(json_object_get(cmd, "first"));
	uint64_t id_base = (uint64_t)json_integer_value(json_object_get(cmd, "id_base"));
	uint8_t *buf = malloc(ch->cfg.page_size);
	int r = buf ? 0 : -ENOMEM;
	uint64_t acked = 0;
	int64_t t = workload_clock_ns();
	for (uint64_t i = 0; r == 0 && i < pages; i++) {
		uint64_t page = (first + i) % ch->cfg.table_pages, id = id_base + i, lsn = 0;
		checks_payload_fill(ch->cfg.seed, id, buf, ch->cfg.page_size);
		r = wal_table_update(ch->table, page, 0, buf, ch->cfg.page_size, &lsn);
		if (r == 0) {
			acked++;
			workload_emit(ch,
			              json_pack("{s:s,s:I,s:I,s:I,s:f,s:I}", "ev", "ack", "lsn",
			                        (json_int_t)lsn, "id", (json_int_t)id, "page",
			                        (json_int_t)page, "t", workload_t(ch), "d", durable_lsn(ch)));
		}
	}
	free(buf);
	finish(ch, r,
	       json_pack("{s:I,s:f,s:I}", "count", (json_int_t)acked, "ms",
	                 (double)(workload_clock_ns() - t) / 1e6, "d", durable_lsn(ch)),
	       will_panic(ch, r));
}

/* ---- recover ---- */

/* emit_record - a record recovery handed out, verified against its payload id. */
static int emit_record(void *arg, const struct wal_record *rec)
{
	struct workload_child *ch = arg;
	if (!rec->checksum_ok)
		return 0; /* inspect's first bad record: recovery does not hand it out */
	uint64_t id = 0;
	bool ok = checks_payload_verify(ch->cfg.seed, rec->data, rec->len, &id);
	workload_emit(ch, json_pack("{s:s,s:I,s:I,s:b}", "ev", "rec", "lsn", (json_int_t)rec->lsn, "id",
	                            (json_int_t)id, "ok", ok));
	return 0;
}

static void cmd_recover(struct workload_child *ch)
{
	struct wal_recovery rep;
	if (ch->wal) { /* recovery is what opening does: this child already opened */
		workload_done(ch, -EALREADY, NULL);
		return;
	}
	int r = open_target(ch, &rep);
	if (r == 0 && ch->cfg.target == WORKLOAD_TABLE) {
		uint8_t *buf = malloc(ch->cfg.page_size);
		for (uint64_t p = 0; buf && p < ch->cfg.table_pages; p++) {
			if (wal_table_read(ch->table, p, buf) < 0)
				break;
			uint64_t id = 0;
			bool zero = true;
			for (uint32_t i = 0; i < ch->cfg.page_size && zero; i++)
				zero = buf[i] == 0;
			bool ok = zero || checks_payload_verify(ch->cfg.seed, buf, ch->cfg.page_size, &id);
			workload_emit(ch, json_pack("{s:s,s:I,s:I,s:b}", "ev", "page", "page", (json_int_t)p,
			                            "id", (json_int_t)(zero ? 0 : id), "ok", ok));
		}
		free(buf);
	} else if (r == 0) {
		r = wal_replay(ch->wal, 0, emit_record, ch);
	} else if (r == WAL_ECORRUPT && ch->cfg.target == WORKLOAD_WAL) {
		/* refused: still show what recovery would hand out before the bad record */
		char dir[PATH_MAX];
		struct wal_recovery rep2;
		dir_of(ch, dir, sizeof(dir));
		int ir = wal_inspect(dir, emit_record, ch, &rep2);
		if (ir < 0)
			log_hook(ch, "wal_inspect after a refused recovery failed");
	}
	workload_done(ch, r, json_pack("{s:o}", "report", report_json(&rep)));
}

/* ---- dispatch ---- */

void workload_wal_command(struct workload_child *ch, const char *op, json_t *cmd)
{
	if (strcmp(op, "recover") == 0) {
		cmd_recover(ch);
		return;
	}
	if (strcmp(op, "wait_bg") == 0) {
		if (ch->bg_running) {
			pthread_join(ch->bg, NULL);
			ch->bg_running = false;
		}
		workload_done(ch, 0, NULL);
		return;
	}
	int r = ensure_open(ch);
	if (r < 0) {
		workload_done(ch, r, NULL);
		return;
	}
	if (strcmp(op, "append") == 0) {
		cmd_append(ch, cmd);
	} else if (strcmp(op, "update") == 0 && ch->table) {
		cmd_update(ch, cmd);
	} else if (strcmp(op, "fsync") == 0) {
		r = wal_sync(ch->wal);
		finish(ch, r, json_pack("{s:I}", "d", durable_lsn(ch)), will_panic(ch, r));
	} else if (strcmp(op, "checkpoint") == 0 && ch->table) {
		r = wal_table_checkpoint(ch->table);
		/* under panic a failed checkpoint makes the table refuse further work */
		finish(ch, r, json_pack("{s:I}", "d", durable_lsn(ch)), r < 0 && ch->cfg.panic);
	} else {
		workload_done(ch, -EOPNOTSUPP, NULL);
	}
}

void workload_wal_shutdown(struct workload_child *ch)
{
	ch->stopping = true; /* the runner is gone: a background append stops at its next record */
	if (ch->bg_running)
		pthread_join(ch->bg, NULL);
	if (ch->poller_running)
		pthread_join(ch->poller, NULL);
}
