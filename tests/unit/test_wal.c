/*
 * test_wal.c — the log: record format, every sync policy, group commit, panic/retry through the
 * sync seam, rollover, truncation, reopen after a clean close.
 * (Recovery of damaged logs is in test_wal_recovery.c, the table store in test_wal_table.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wal_test_util.h"
#include "wal_format.h"

#include <dirent.h>
#include <stdatomic.h>
#include <time.h>

/* ---- Record format ---- */

static void record_roundtrips_at_every_size(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 7, 8, 9, 128, 4096, 1u << 20};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		uint64_t fp = wal_record_footprint(len);
		assert_int_equal(fp % WAL_RECORD_ALIGN, 0);
		assert_true(fp >= WAL_RECORD_HEADER_SIZE + len && fp < WAL_RECORD_HEADER_SIZE + len + 8);
		unsigned char *payload = malloc(len + 1);
		unsigned char *rec = malloc(fp);
		assert_non_null(payload);
		assert_non_null(rec);
		fill_pattern(payload, len, i + 1);
		wal_record_encode(rec, 1000 + i, payload, len);
		struct wal_record_view v;
		assert_int_equal(wal_record_decode(rec, fp, &v), 0);
		assert_int_equal(v.lsn, 1000 + i);
		assert_int_equal(v.len, len);
		assert_int_equal(v.footprint, fp);
		assert_memory_equal(v.data, payload, len);
		/* One byte short of the footprint: truncated, never a valid record. */
		assert_int_equal(wal_record_decode(rec, fp - 1, &v), -ENODATA);
		free(payload);
		free(rec);
	}
}

static void record_flip_of_any_byte_fails_decode(void **state)
{
	(void)state;
	unsigned char payload[37], rec[128];
	fill_pattern(payload, sizeof(payload), 7);
	uint64_t fp = wal_record_footprint(sizeof(payload));
	wal_record_encode(rec, 42, payload, sizeof(payload));
	for (uint64_t off = 0; off < fp; off++) {
		for (int bit = 0; bit < 8; bit++) {
			struct wal_record_view v;
			rec[off] ^= (unsigned char)(1u << bit);
			assert_int_not_equal(wal_record_decode(rec, fp, &v), 0);
			rec[off] ^= (unsigned char)(1u << bit);
		}
	}
	struct wal_record_view v;
	assert_int_equal(wal_record_decode(rec, fp, &v), 0);
}

static void segment_header_and_name_roundtrip(void **state)
{
	(void)state;
	unsigned char hdr[WAL_SEGMENT_HEADER_SIZE];
	uint64_t first = 0;
	wal_segment_header_encode(hdr, 77);
	assert_int_equal(wal_segment_header_decode(hdr, sizeof(hdr), &first), 0);
	assert_int_equal(first, 77);
	assert_int_equal(wal_segment_header_decode(hdr, 31, &first), WAL_ETRUNCHDR);
	hdr[20] ^= 1;
	assert_int_equal(wal_segment_header_decode(hdr, sizeof(hdr), &first), -EBADMSG);
	hdr[0] = 'X';
	assert_int_equal(wal_segment_header_decode(hdr, sizeof(hdr), &first), WAL_ENOTLOG);

	char name[WAL_SEGMENT_NAME_MAX];
	wal_segment_name(0x1234, name);
	assert_string_equal(name, "0000000000001234.wal");
	assert_int_equal(wal_segment_name_parse(name, &first), 1);
	assert_int_equal(first, 0x1234);
	assert_int_equal(wal_segment_name_parse("0000000000001234.wal.tmp", &first), 0);
	assert_int_equal(wal_segment_name_parse("000000000000123G.wal", &first), 0);
	assert_int_equal(wal_segment_name_parse("notes.txt", &first), 0);
}

static void policies_parse_and_format(void **state)
{
	(void)state;
	struct wal_options o;
	char buf[64];
	wal_options_init(&o);
	assert_int_equal(o.sync_policy, WAL_SYNC_ALWAYS);
	assert_int_equal(o.error_policy, WAL_ERROR_PANIC);
	assert_int_equal(wal_policy_parse("batch:5ms", &o), 0);
	assert_int_equal(o.sync_policy, WAL_SYNC_BATCH);
	assert_int_equal(o.batch_window_ns, 5000000);
	wal_policy_format(&o, buf, sizeof(buf));
	assert_string_equal(buf, "batch:5ms");
	assert_int_equal(wal_policy_parse("os", &o), 0);
	assert_int_equal(o.sync_policy, WAL_SYNC_OS);
	assert_int_equal(wal_policy_parse("always", &o), 0);
	assert_int_equal(o.sync_policy, WAL_SYNC_ALWAYS);
	assert_int_equal(wal_policy_parse("batch:", &o), -EINVAL);
	assert_int_equal(wal_policy_parse("batch:5", &o), -EINVAL);
	assert_int_equal(wal_policy_parse("batch:0ms", &o), -EINVAL);
	assert_int_equal(wal_policy_parse("sometimes", &o), -EINVAL);
	enum wal_error_policy ep;
	assert_int_equal(wal_error_policy_parse("retry", &ep), 0);
	assert_int_equal(ep, WAL_ERROR_RETRY);
	assert_int_equal(wal_error_policy_parse("panic", &ep), 0);
	assert_int_equal(ep, WAL_ERROR_PANIC);
	assert_int_equal(wal_error_policy_parse("ignore", &ep), -EINVAL);
	assert_string_equal(wal_verdict_name(WAL_VERDICT_TORN_TAIL), "torn-tail");
	assert_non_null(strstr(wal_strerror(WAL_ESHUTDOWN), "shut down"));
}

/* ---- Append, reopen, replay under every policy and I/O mode ---- */

struct expect_records {
	uint64_t next; /* LSN expected next */
	uint64_t seen;
	size_t (*size_of)(uint64_t lsn);
};

static size_t varied_size(uint64_t lsn)
{
	return (size_t)((lsn * 37) % 300);
}

static int check_record(void *arg, const struct wal_record *r)
{
	struct expect_records *e = arg;
	unsigned char buf[4096];
	size_t len = e->size_of(r->lsn);
	if (!r->checksum_ok || r->lsn != e->next || r->len != len)
		return -1;
	fill_pattern(buf, len, r->lsn);
	if (len > 0 && memcmp(buf, r->data, len) != 0)
		return -2;
	e->next++;
	e->seen++;
	return 0;
}

static void append_n(struct wal *w, uint64_t n, size_t (*size_of)(uint64_t))
{
	unsigned char buf[4096];
	struct wal_stats st;
	wal_get_stats(w, &st);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t lsn = 0, want = st.next_lsn + i;
		size_t len = size_of(want);
		fill_pattern(buf, len, want);
		assert_int_equal(wal_append(w, buf, len, &lsn), 0);
		assert_int_equal(lsn, want);
	}
}

static void reopen_and_check(const char *dir, struct wal_options *o, uint64_t n)
{
	struct wal *w = NULL;
	struct wal_recovery rep;
	assert_int_equal(wal_open(dir, o, &w, &rep), 0);
	assert_int_equal(rep.verdict, WAL_VERDICT_CLEAN);
	assert_int_equal(rep.records, n);
	assert_int_equal(rep.next_lsn, n + 1);
	struct expect_records e = {.next = 1, .size_of = varied_size};
	assert_int_equal(wal_replay(w, 1, check_record, &e), 0);
	assert_int_equal(e.seen, n);
	assert_int_equal(wal_close(w), 0);
}

static void run_policy(const char *policy, enum wal_io io)
{
	char *dir = scratch_dir();
	struct wal_options o;
	struct fault_hook h;
	struct wal *w = NULL;
	struct wal_stats st;

	fault_hook_init(&h);
	h.real = 1;
	wal_options_init(&o);
	assert_int_equal(wal_policy_parse(policy, &o), 0);
	o.io = io;
	o.segment_size = 16384;
	o.sync_hook = fault_hook_fn;
	o.sync_hook_arg = &h;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	unsigned after_open = fault_hook_calls(&h, WAL_SYNC_SEGMENT);
	append_n(w, 200, varied_size);
	wal_get_stats(w, &st);
	assert_int_equal(st.written_lsn, 200);
	assert_int_equal(st.appends, 200);
	if (o.sync_policy == WAL_SYNC_ALWAYS)
		assert_int_equal(st.durable_lsn, 200);
	assert_int_equal(wal_sync(w), 0);
	wal_get_stats(w, &st);
	assert_int_equal(st.durable_lsn, 200);
	assert_true(fault_hook_calls(&h, WAL_SYNC_SEGMENT) > after_open);
	assert_int_equal(wal_close(w), 0);
	reopen_and_check(dir, &o, 200);
	scratch_free(dir);
}

static void policy_always_mmap(void **state)
{
	(void)state;
	run_policy("always", WAL_IO_MMAP);
}
static void policy_always_write(void **state)
{
	(void)state;
	run_policy("always", WAL_IO_WRITE);
}
static void policy_batch_mmap(void **state)
{
	(void)state;
	run_policy("batch:1ms", WAL_IO_MMAP);
}
static void policy_batch_write(void **state)
{
	(void)state;
	run_policy("batch:1ms", WAL_IO_WRITE);
}
static void policy_os_mmap(void **state)
{
	(void)state;
	run_policy("os", WAL_IO_MMAP);
}
static void policy_os_write(void **state)
{
	(void)state;
	run_policy("os", WAL_IO_WRITE);
}

static void always_is_durable_when_append_returns(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_options o;
	struct fault_hook h;
	struct wal *w = NULL;

	fault_hook_init(&h);
	wal_options_init(&o);
	o.sync_hook = fault_hook_fn;
	o.sync_hook_arg = &h;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	for (int i = 0; i < 50; i++) {
		uint64_t lsn;
		unsigned before = fault_hook_calls(&h, WAL_SYNC_SEGMENT);
		assert_int_equal(wal_append(w, "x", 1, &lsn), 0);
		struct wal_stats st;
		wal_get_stats(w, &st);
		assert_true(st.durable_lsn >= lsn);
		assert_true(fault_hook_calls(&h, WAL_SYNC_SEGMENT) > before); /* one thread: a sync each */
	}
	assert_int_equal(wal_close(w), 0);
	scratch_free(dir);
}

static void os_never_syncs_until_asked(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_options o;
	struct fault_hook h;
	struct wal *w = NULL;
	struct wal_stats st;

	fault_hook_init(&h);
	wal_options_init(&o);
	o.sync_policy = WAL_SYNC_OS;
	o.sync_hook = fault_hook_fn;
	o.sync_hook_arg = &h;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	unsigned base = fault_hook_calls(&h, WAL_SYNC_SEGMENT);
	append_n(w, 1000, varied_size);
	assert_int_equal(fault_hook_calls(&h, WAL_SYNC_SEGMENT), base);
	wal_get_stats(w, &st);
	assert_int_equal(st.durable_lsn, 0);
	assert_int_equal(st.written_lsn, 1000);
	assert_int_equal(wal_sync(w), 0);
	assert_int_equal(fault_hook_calls(&h, WAL_SYNC_SEGMENT), base + 1);
	wal_get_stats(w, &st);
	assert_int_equal(st.durable_lsn, 1000);
	assert_int_equal(wal_close(w), 0);
	scratch_free(dir);
}

/* The batch flusher: syncs spaced by at least the window, and the last records synced although no
 * append follows them. */
struct timed_hook {
	pthread_mutex_t lock;
	int64_t times[4096];
	unsigned n;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int timed_hook_fn(void *arg, int fd, enum wal_sync_target what)
{
	struct timed_hook *t = arg;
	(void)fd;
	if (what != WAL_SYNC_SEGMENT)
		return 0;
	pthread_mutex_lock(&t->lock);
	if (t->n < 4096)
		t->times[t->n++] = mono_ns();
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static void batch_bound_holds_when_appends_stop(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_options o;
	struct timed_hook t = {.n = 0};
	struct wal *w = NULL;
	struct wal_stats st;
	const int64_t window = 20000000; /* 20 ms */

	pthread_mutex_init(&t.lock, NULL);
	wal_options_init(&o);
	o.sync_policy = WAL_SYNC_BATCH;
	o.batch_window_ns = window;
	o.sync_hook = timed_hook_fn;
	o.sync_hook_arg = &t;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	pthread_mutex_lock(&t.lock);
	unsigned base = t.n;
	pthread_mutex_unlock(&t.lock);
	/* Append for ~100 ms, then stop. */
	int64_t start = mono_ns();
	uint64_t n = 0;
	while (mono_ns() - start < 100000000) {
		append_n(w, 100, varied_size);
		n += 100;
	}
	int64_t stop = mono_ns();
	/* Within window + slack the flusher must have synced everything, with no further append. */
	while (mono_ns() - stop < 5 * window) {
		wal_get_stats(w, &st);
		if (st.durable_lsn == n)
			break;
		usleep(1000);
	}
	wal_get_stats(w, &st);
	assert_int_equal(st.durable_lsn, n);
	pthread_mutex_lock(&t.lock);
	unsigned syncs = t.n - base;
	/* At most one sync per window (spacing measured at sync start; 1 ms tolerance). */
	for (unsigned i = base + 1; i < t.n; i++)
		assert_true(t.times[i] - t.times[i - 1] >= window - 1000000);
	pthread_mutex_unlock(&t.lock);
	assert_true(syncs >= 2);
	assert_true(syncs <= 100000000 / window + 3);
	assert_int_equal(wal_close(w), 0);
	pthread_mutex_destroy(&t.lock);
	scratch_free(dir);
}

/* Backpressure: a batch append is not acknowledged while a record written more than 1.25 windows ago
 * is covered by no started sync. Here one sync stalls for 300 ms (a slow disk, or a flusher the
 * machine does not run); appends written after it began must stop being acknowledged long before it
 * ends — they wait for it and then sync themselves — instead of piling up unsynced for its whole
 * length. The 100 ms margin (20 windows) absorbs a loaded machine's scheduling delays. */
struct stall_hook {
	atomic_int armed;
	_Atomic int64_t began, ended;
};

static int stall_hook_fn(void *arg, int fd, enum wal_sync_target what)
{
	struct stall_hook *h = arg;
	int one = 1;
	if (what == WAL_SYNC_SEGMENT && atomic_compare_exchange_strong(&h->armed, &one, 0)) {
		atomic_store(&h->began, mono_ns());
		struct timespec ts = {0, 300000000};
		nanosleep(&ts, NULL);
		atomic_store(&h->ended, mono_ns());
	}
	return wal_sync_fd(fd, what);
}

static void batch_append_waits_for_a_stalled_sync(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_options o;
	struct stall_hook h = {.armed = 0, .began = 0, .ended = 0};
	struct wal *w = NULL;
	struct wal_stats st;
	unsigned char buf[64];

	wal_options_init(&o);
	o.sync_policy = WAL_SYNC_BATCH;
	o.batch_window_ns = 5000000; /* 5 ms */
	o.sync_hook = stall_hook_fn;
	o.sync_hook_arg = &h;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	fill_pattern(buf, sizeof(buf), 3);
	atomic_store(&h.armed, 1);
	int64_t start = mono_ns();
	uint64_t acked_in_stall = 0, acked = 0;
	while (mono_ns() - start < 600000000) {
		assert_int_equal(wal_append(w, buf, sizeof(buf), NULL), 0);
		acked++;
		int64_t now = mono_ns(), began = atomic_load(&h.began);
		if (began != 0 && atomic_load(&h.ended) == 0 && now - began > 100000000)
			acked_in_stall++;
		struct timespec ts = {0, 100000}; /* paced, like the catalogue's batch story */
		nanosleep(&ts, NULL);
	}
	assert_true(atomic_load(&h.ended) != 0); /* the stall happened */
	assert_int_equal(acked_in_stall, 0);
	wal_get_stats(w, &st);
	assert_int_equal(st.appends, acked);
	assert_int_equal(wal_close(w), 0);
	scratch_free(dir);
}

/* ---- Group commit ---- */

struct writer_arg {
	struct wal *w;
	int id;
	int n;
	int failures;
};

static size_t writer_size(uint64_t lsn)
{
	(void)lsn;
	return 16;
}

static void *writer_main(void *arg)
{
	struct writer_arg *a = arg;
	for (int i = 0; i < a->n; i++) {
		unsigned char rec[16];
		uint64_t lsn;
		memset(rec, 0, sizeof(rec));
		memcpy(rec, &a->id, sizeof(a->id));
		memcpy(rec + 4, &i, sizeof(i));
		if (wal_append(a->w, rec, sizeof(rec), &lsn) != 0) {
			a->failures++;
			continue;
		}
		struct wal_stats st;
		wal_get_stats(a->w, &st);
		if (st.durable_lsn < lsn) /* returned before a sync covered the record */
			a->failures++;
	}
	return NULL;
}

struct count_writers {
	int next[8];
	int bad;
	uint64_t n;
};

static int count_writer_record(void *arg, const struct wal_record *r)
{
	struct count_writers *c = arg;
	int id, i;
	if (r->len != 16)
		return -1;
	memcpy(&id, r->data, sizeof(id));
	memcpy(&i, (const char *)r->data + 4, sizeof(i));
	if (id < 0 || id >= 8 || c->next[id] != i)
		c->bad++;
	else
		c->next[id]++;
	c->n++;
	return 0;
}

static void group_commit_shares_syncs_among_threads(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_options o;
	struct fault_hook h;
	struct wal *w = NULL;
	pthread_t th[8];
	struct writer_arg args[8];

	fault_hook_init(&h);
	h.delay = 2000; /* a 2 ms "disk": followers pile up behind the leader */
	wal_options_init(&o);
	o.segment_size = 8192; /* rollovers happen during the run too */
	o.sync_hook = fault_hook_fn;
	o.sync_hook_arg = &h;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	unsigned base = fault_hook_calls(&h, WAL_SYNC_SEGMENT);
	for (int i = 0; i < 8; i++) {
		args[i] = (struct writer_arg){.w = w, .id = i, .n = 60};
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &args[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	unsigned syncs = fault_hook_calls(&h, WAL_SYNC_SEGMENT) - base;
	/* 480 appends; without sharing they would need 480 syncs. */
	assert_true(syncs < 480 / 2);
	assert_int_equal(wal_close(w), 0);

	struct count_writers c = {.n = 0};
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	assert_int_equal(wal_replay(w, 1, count_writer_record, &c), 0);
	assert_int_equal(c.n, 480);
	assert_int_equal(c.bad, 0);
	assert_int_equal(wal_close(w), 0);
	(void)writer_size;
	scratch_free(dir);
}

/* ---- Error policy through the sync seam ---- */

static void panic_stops_at_first_failed_sync(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_options o;
	struct fault_hook h;
	struct log_capture log = {.lines = 0};
	struct wal *w = NULL;

	fault_hook_init(&h);
	wal_options_init(&o);
	o.sync_hook = fault_hook_fn;
	o.sync_hook_arg = &h;
	o.log_fn = quiet_log;
	o.log_arg = &log;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	unsigned base = fault_hook_calls(&h, WAL_SYNC_SEGMENT);
	h.target = WAL_SYNC_SEGMENT;
	h.fail_from = base + 3; /* the third append's sync */
	h.fail_count = 1;
	assert_int_equal(wal_append(w, "a", 1, NULL), 0);
	assert_int_equal(wal_append(w, "b", 1, NULL), 0);
	assert_int_equal(wal_append(w, "c", 1, NULL), -EIO);
	assert_int_equal(wal_error(w), -EIO);
	unsigned calls = fault_hook_calls(&h, WAL_SYNC_SEGMENT);
	assert_int_equal(wal_append(w, "d", 1, NULL), WAL_ESHUTDOWN);
	assert_int_equal(wal_sync(w), WAL_ESHUTDOWN);
	assert_int_equal(wal_truncate(w, 1), WAL_ESHUTDOWN);
	assert_int_equal(fault_hook_calls(&h, WAL_SYNC_SEGMENT), calls); /* no sync after the panic */
	assert_true(log.lines >= 1);
	assert_non_null(strstr(log.last, "panic"));
	assert_int_equal(wal_close(w), WAL_ESHUTDOWN);

	/* Reopen and recover: the two acknowledged records are there (the third may be too). */
	struct wal_recovery rep;
	o.sync_hook = NULL;
	assert_int_equal(wal_open(dir, &o, &w, &rep), 0);
	assert_true(rep.records >= 2);
	assert_int_equal(wal_append(w, "e", 1, NULL), 0);
	assert_int_equal(wal_close(w), 0);
	scratch_free(dir);
}

static void panic_under_batch_refuses_later_appends(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_options o;
	struct fault_hook h;
	struct log_capture log = {.lines = 0};
	struct wal *w = NULL;

	fault_hook_init(&h);
	wal_options_init(&o);
	o.sync_policy = WAL_SYNC_BATCH;
	o.batch_window_ns = 1000000;
	o.sync_hook = fault_hook_fn;
	o.sync_hook_arg = &h;
	o.log_fn = quiet_log;
	o.log_arg = &log;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	h.target = WAL_SYNC_SEGMENT;
	h.fail_from = fault_hook_calls(&h, WAL_SYNC_SEGMENT) + 1; /* the flusher's first sync */
	h.fail_count = 1000;
	assert_int_equal(wal_append(w, "a", 1, NULL), 0);
	for (int i = 0; i < 2000 && wal_error(w) == 0; i++)
		usleep(1000);
	assert_int_equal(wal_error(w), -EIO);
	assert_int_equal(wal_append(w, "b", 1, NULL), WAL_ESHUTDOWN);
	assert_int_equal(wal_sync(w), WAL_ESHUTDOWN);
	assert_int_equal(wal_close(w), WAL_ESHUTDOWN);
	scratch_free(dir);
}

static void retry_carries_on_after_failed_sync(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_options o;
	struct fault_hook h;
	struct log_capture log = {.lines = 0};
	struct wal *w = NULL;
	struct wal_stats st;

	fault_hook_init(&h);
	wal_options_init(&o);
	o.error_policy = WAL_ERROR_RETRY;
	o.sync_hook = fault_hook_fn;
	o.sync_hook_arg = &h;
	o.log_fn = quiet_log;
	o.log_arg = &log;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	unsigned base = fault_hook_calls(&h, WAL_SYNC_SEGMENT);
	h.target = WAL_SYNC_SEGMENT;
	h.fail_from = base + 3;
	h.fail_count = 1; /* the retry succeeds */
	assert_int_equal(wal_append(w, "a", 1, NULL), 0);
	assert_int_equal(wal_append(w, "b", 1, NULL), 0);
	assert_int_equal(wal_append(w, "c", 1, NULL), 0); /* "succeeds": the fsyncgate bug */
	assert_int_equal(wal_append(w, "d", 1, NULL), 0);
	assert_int_equal(wal_error(w), 0);
	wal_get_stats(w, &st);
	assert_int_equal(st.durable_lsn, 4);
	assert_int_equal(st.sync_errors, 1);
	assert_non_null(strstr(log.last, "fsyncgate"));

	/* When every retry fails the append reports it, and the log still carries on. */
	h.fail_from = fault_hook_calls(&h, WAL_SYNC_SEGMENT) + 1;
	h.fail_count = 2;
	assert_int_equal(wal_append(w, "e", 1, NULL), -EIO);
	assert_int_equal(wal_append(w, "f", 1, NULL), 0);
	assert_int_equal(wal_error(w), 0);
	assert_int_equal(wal_close(w), 0);
	scratch_free(dir);
}

/* ---- Sizes, rollover, directory sync, truncate ---- */

static size_t big_and_empty(uint64_t lsn)
{
	return lsn % 2 == 0 ? (1u << 20) : 0;
}

static int check_big_and_empty(void *arg, const struct wal_record *r)
{
	uint64_t *n = arg;
	size_t want = big_and_empty(r->lsn);
	if (r->len != want || r->lsn != *n + 1)
		return -1;
	if (want > 0) {
		unsigned char *buf = malloc(want);
		if (buf == NULL)
			return -1;
		fill_pattern(buf, want, r->lsn);
		int same = memcmp(buf, r->data, want) == 0;
		free(buf);
		if (!same)
			return -2;
	}
	(*n)++;
	return 0;
}

static void empty_and_one_mib_records(void **state)
{
	(void)state;
	static const enum wal_io modes[] = {WAL_IO_MMAP, WAL_IO_WRITE};
	for (int m = 0; m < 2; m++) {
		char *dir = scratch_dir();
		struct wal_options o;
		struct wal *w = NULL;
		unsigned char *buf = malloc(1u << 20);
		assert_non_null(buf);
		wal_options_init(&o);
		o.sync_policy = WAL_SYNC_OS;
		o.io = modes[m];
		o.segment_size = 65536; /* smaller than one record: each big record gets its own */
		assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
		for (uint64_t lsn = 1; lsn <= 6; lsn++) {
			size_t len = big_and_empty(lsn);
			fill_pattern(buf, len, lsn);
			uint64_t got;
			assert_int_equal(wal_append(w, len ? buf : NULL, len, &got), 0);
			assert_int_equal(got, lsn);
		}
		assert_int_equal(wal_append(w, buf, WAL_RECORD_MAX + 1, NULL), WAL_ETOOBIG);
		assert_int_equal(wal_close(w), 0);
		struct wal_recovery rep;
		assert_int_equal(wal_open(dir, &o, &w, &rep), 0);
		assert_int_equal(rep.verdict, WAL_VERDICT_CLEAN);
		assert_int_equal(rep.records, 6);
		uint64_t n = 0;
		assert_int_equal(wal_replay(w, 1, check_big_and_empty, &n), 0);
		assert_int_equal(n, 6);
		assert_int_equal(wal_close(w), 0);
		free(buf);
		scratch_free(dir);
	}
}

static unsigned count_segments(const char *dir)
{
	DIR *d = opendir(dir);
	unsigned n = 0;
	struct dirent *de;
	uint64_t first;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += (unsigned)wal_segment_name_parse(de->d_name, &first);
	closedir(d);
	return n;
}

static void rollover_syncs_directory_unless_disabled(void **state)
{
	(void)state;
	for (int sync_dir = 1; sync_dir >= 0; sync_dir--) {
		char *dir = scratch_dir();
		struct wal_options o;
		struct fault_hook h;
		struct wal *w = NULL;
		fault_hook_init(&h);
		wal_options_init(&o);
		o.sync_policy = WAL_SYNC_OS;
		o.segment_size = 4096;
		o.sync_directory = sync_dir;
		o.sync_hook = fault_hook_fn;
		o.sync_hook_arg = &h;
		assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
		append_n(w, 300, varied_size);
		assert_int_equal(wal_close(w), 0);
		unsigned segs = count_segments(dir);
		assert_true(segs > 5);
		if (sync_dir)
			assert_true(fault_hook_calls(&h, WAL_SYNC_DIRECTORY) >= segs - 1);
		else
			assert_int_equal(fault_hook_calls(&h, WAL_SYNC_DIRECTORY), 0);
		reopen_and_check(dir, &o, 300);
		scratch_free(dir);
	}
}

static void truncate_drops_old_segments_and_lsns_continue(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	struct wal_options o;
	struct wal *w = NULL;
	struct wal_recovery rep;
	wal_options_init(&o);
	o.segment_size = 4096;
	o.sync_policy = WAL_SYNC_OS;
	assert_int_equal(wal_open(dir, &o, &w, NULL), 0);
	append_n(w, 200, varied_size);
	assert_true(count_segments(dir) > 3);
	assert_int_equal(wal_truncate(w, 200), 0);
	assert_int_equal(count_segments(dir), 1);
	append_n(w, 10, varied_size);
	assert_int_equal(wal_close(w), 0);
	assert_int_equal(wal_open(dir, &o, &w, &rep), 0);
	assert_int_equal(rep.verdict, WAL_VERDICT_CLEAN);
	assert_int_equal(rep.first_lsn, 201);
	assert_int_equal(rep.records, 10);
	assert_int_equal(rep.next_lsn, 211);
	struct expect_records e = {.next = 201, .size_of = varied_size};
	assert_int_equal(wal_replay(w, 0, check_record, &e), 0);
	assert_int_equal(e.seen, 10);
	/* A partial truncate keeps the segment that still holds needed records. */
	append_n(w, 200, varied_size);
	assert_int_equal(wal_truncate(w, 300), 0);
	e = (struct expect_records){.next = 0, .size_of = varied_size};
	struct wal_recovery r2;
	assert_int_equal(wal_close(w), 0);
	assert_int_equal(wal_open(dir, &o, &w, &r2), 0);
	assert_true(r2.first_lsn <= 301);
	assert_int_equal(r2.last_lsn, 410);
	e.next = r2.first_lsn;
	assert_int_equal(wal_replay(w, 0, check_record, &e), 0);
	assert_int_equal(e.next, 411);
	assert_int_equal(wal_close(w), 0);
	scratch_free(dir);
}

static void open_refuses_bad_options_and_missing_dir(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	char *missing = NULL;
	struct wal_options o;
	struct wal *w = NULL;
	assert_true(asprintf(&missing, "%s/nope", dir) > 0);
	wal_options_init(&o);
	o.create = 0;
	assert_int_equal(wal_open(missing, &o, &w, NULL), -ENOENT);
	assert_int_equal(wal_open(dir, &o, &w, NULL), WAL_ENOTLOG); /* exists but holds no log */
	wal_options_init(&o);
	o.segment_size = 100;
	assert_int_equal(wal_open(dir, &o, &w, NULL), -EINVAL);
	wal_options_init(&o);
	o.sync_policy = WAL_SYNC_BATCH;
	o.batch_window_ns = 0;
	assert_int_equal(wal_open(dir, &o, &w, NULL), -EINVAL);
	/* create (the default) makes the directory. */
	wal_options_init(&o);
	assert_int_equal(wal_open(missing, &o, &w, NULL), 0);
	assert_int_equal(wal_close(w), 0);
	free(missing);
	scratch_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(record_roundtrips_at_every_size),
	    cmocka_unit_test(record_flip_of_any_byte_fails_decode),
	    cmocka_unit_test(segment_header_and_name_roundtrip),
	    cmocka_unit_test(policies_parse_and_format),
	    cmocka_unit_test(policy_always_mmap),
	    cmocka_unit_test(policy_always_write),
	    cmocka_unit_test(policy_batch_mmap),
	    cmocka_unit_test(policy_batch_write),
	    cmocka_unit_test(policy_os_mmap),
	    cmocka_unit_test(policy_os_write),
	    cmocka_unit_test(always_is_durable_when_append_returns),
	    cmocka_unit_test(os_never_syncs_until_asked),
	    cmocka_unit_test(batch_bound_holds_when_appends_stop),
	    cmocka_unit_test(batch_append_waits_for_a_stalled_sync),
	    cmocka_unit_test(group_commit_shares_syncs_among_threads),
	    cmocka_unit_test(panic_stops_at_first_failed_sync),
	    cmocka_unit_test(panic_under_batch_refuses_later_appends),
	    cmocka_unit_test(retry_carries_on_after_failed_sync),
	    cmocka_unit_test(empty_and_one_mib_records),
	    cmocka_unit_test(rollover_syncs_directory_unless_disabled),
	    cmocka_unit_test(truncate_drops_old_segments_and_lsns_continue),
	    cmocka_unit_test(open_refuses_bad_options_and_missing_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
