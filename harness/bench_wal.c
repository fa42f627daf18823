/*
 * bench_wal.c — `fsynclab bench wal`: append throughput and latency of the bundled log, and the
 * same workload as a plain syscall loop for comparison. Prints figures; checks nothing.
 *
 *   fsynclab bench wal [--dir D] [--policy P] [--records N] [--size BYTES] [--writers K] [--json]
 *                      [--io auto|mmap|write] [--segment-size BYTES] [--raw] [--scan]
 *
 * --policy      always | batch:<duration> | os (default always)
 * --records     total records, split among the writers (default 2000 for always, else 200000)
 * --raw         instead of the log, K threads run the plain loop the policy stands for: pwrite of
 *               SIZE bytes at the end of one file, plus fdatasync after each one under `always`
 *               (no sync under `os`; `batch` is refused). The baseline for the log's figures.
 * --scan        afterwards, time a read-only recovery scan of the log (wal_inspect) from the page
 *               cache, best of three, and print its GB/s.
 * --dir         where the log goes (kept afterwards); default a fresh directory under $TMPDIR or
 *               /tmp, removed afterwards.
 *
 * Output: records, seconds, records/s, MB/s (payload), fsync count, p50/p99 append latency in µs.
 * --json prints one object: {"policy","writers","records","seconds","records_per_sec","mb_per_sec",
 * "fsyncs","p50_us","p99_us"} plus "cpu_seconds" (process CPU time during the run: on a shared
 * machine records/cpu_seconds is the steadier figure), and "scan_bytes","scan_seconds",
 * "scan_gb_per_sec" with --scan.
 * Every append's latency is taken with two clock_gettime calls (~40 ns, included in the figures).
 */
#include "commands.h"
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct bench {
	struct wal *w; /* the log (NULL with --raw) */
	int raw_fd;    /* --raw: the file */
	int raw_sync;  /* --raw: fdatasync after each pwrite */
	atomic_uint_fast64_t raw_off;
	atomic_uint_fast64_t raw_syncs;
	size_t size;         /* payload bytes per record */
	uint64_t per_writer; /* records each writer appends */
	uint64_t *lat_ns;    /* writers * per_writer latencies */
	atomic_int failed;   /* first error seen by a writer */
};

struct writer {
	struct bench *b;
	int id;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* cpu_ns - CPU time of the whole process (all threads), to read figures on a loaded machine. */
static int64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* raw_append - the baseline: one pwrite at the end of the file (+ fdatasync). 0 or -errno. */
static int raw_append(struct bench *b, const void *buf)
{
	uint64_t off = atomic_fetch_add(&b->raw_off, b->size);
	ssize_t n = pwrite(b->raw_fd, buf, b->size, (off_t)off);
	if (n < 0)
		return -errno;
	if ((size_t)n != b->size)
		return -EIO;
	if (b->raw_sync) {
		atomic_fetch_add(&b->raw_syncs, 1);
		if (fdatasync(b->raw_fd) < 0)
			return -errno;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	struct bench *b = wr->b;
	unsigned char *buf = malloc(b->size ? b->size : 1);
	if (buf == NULL) {
		atomic_store(&b->failed, -ENOMEM);
		return NULL;
	}
	memset(buf, 'a' + wr->id % 26, b->size);
	uint64_t *lat = b->lat_ns + (uint64_t)wr->id * b->per_writer;
	for (uint64_t i = 0; i < b->per_writer; i++) {
		memcpy(buf, &i, b->size < sizeof(i) ? b->size : sizeof(i));
		int64_t t0 = now_ns();
		int rc = b->w != NULL ? wal_append(b->w, buf, b->size, NULL) : raw_append(b, buf);
		lat[i] = (uint64_t)(now_ns() - t0);
		if (rc != 0) {
			int expected = 0;
			atomic_compare_exchange_strong(&b->failed, &expected, rc);
			break;
		}
	}
	free(buf);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int count_record(void *arg, const struct wal_record *r)
{
	(void)r;
	(*(uint64_t *)arg)++;
	return 0;
}

/* scan_log - best of three read-only scans of DIR. 0 or -errno. */
static int scan_log(const char *dir, uint64_t *bytes, double *seconds)
{
	*seconds = 0;
	for (int i = 0; i < 3; i++) {
		struct wal_recovery rep;
		uint64_t n = 0;
		int64_t t0 = now_ns();
		int rc = wal_inspect(dir, count_record, &n, &rep);
		double s = (double)(now_ns() - t0) / 1e9;
		if (rc != 0)
			return rc;
		*bytes = rep.bytes_scanned;
		if (i == 0 || s < *seconds)
			*seconds = s;
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: fsynclab bench wal [--dir D] [--policy always|batch:<dur>|os] [--records N]\n"
	        "                          [--size BYTES] [--writers K] [--json] [--io auto|mmap|write]\n"
	        "                          [--segment-size BYTES] [--raw] [--scan]\n");
}

/* parse_u64 - a positive decimal (optionally with K/M/G suffix, powers of 1024) or -EINVAL. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		v <<= 30, end++;
	if (*end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

int bench_wal(int argc, char **argv)
{
	const char *dir = NULL;
	uint64_t records = 0, size = 128, writers = 1, segment_size = 64u << 20;
	int json = 0, raw = 0, scan = 0;
	struct wal_options o;

	wal_options_init(&o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;
		int rc = 0;
		if (strcmp(a, "--json") == 0)
			json = 1, takes = 0;
		else if (strcmp(a, "--raw") == 0)
			raw = 1, takes = 0;
		else if (strcmp(a, "--scan") == 0)
			scan = 1, takes = 0;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (v == NULL && (strcmp(a, "--dir") == 0 || strcmp(a, "--policy") == 0 ||
		                         strcmp(a, "--records") == 0 || strcmp(a, "--size") == 0 ||
		                         strcmp(a, "--writers") == 0 || strcmp(a, "--io") == 0 ||
		                         strcmp(a, "--segment-size") == 0)) {
			fprintf(stderr, "fsynclab bench wal: %s needs a value\n", a);
			return 2;
		} else if (strcmp(a, "--dir") == 0)
			dir = v;
		else if (strcmp(a, "--policy") == 0) {
			rc = wal_policy_parse(v, &o);
		} else if (strcmp(a, "--records") == 0)
			rc = parse_u64(v, &records);
		else if (strcmp(a, "--size") == 0)
			rc = parse_u64(v, &size);
		else if (strcmp(a, "--writers") == 0)
			rc = parse_u64(v, &writers);
		else if (strcmp(a, "--segment-size") == 0)
			rc = parse_u64(v, &segment_size);
		else if (strcmp(a, "--io") == 0) {
			if (strcmp(v, "auto") == 0)
				o.io = WAL_IO_AUTO;
			else if (strcmp(v, "mmap") == 0)
				o.io = WAL_IO_MMAP;
			else if (strcmp(v, "write") == 0)
				o.io = WAL_IO_WRITE;
			else
				rc = -EINVAL;
		} else {
			fprintf(stderr, "fsynclab bench wal: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (rc != 0) {
			fprintf(stderr, "fsynclab bench wal: bad value '%s' for %s\n", v, a);
			return 2;
		}
		i += takes;
	}
	if (writers == 0 || writers > 1024 || size > WAL_RECORD_MAX || records > (1ull << 32)) {
		fprintf(stderr,
		        "fsynclab bench wal: --writers must be 1..1024, --size at most %u, "
		        "--records at most 2^32\n",
		        WAL_RECORD_MAX);
		return 2;
	}
	if (raw && o.sync_policy == WAL_SYNC_BATCH) {
		fprintf(stderr, "fsynclab bench wal: --raw has no batch loop; use --policy always or os\n");
		return 2;
	}
	if (records == 0)
		records = o.sync_policy == WAL_SYNC_ALWAYS ? 2000 : 200000;
	o.segment_size = segment_size;

	char *tmp = NULL;
	if (dir == NULL) {
		const char *base = getenv("TMPDIR");
		if (asprintf(&tmp, "%s/fsynclab-bench-wal.XXXXXX", base && *base ? base : "/tmp") < 0 ||
		    mkdtemp(tmp) == NULL) {
			fprintf(stderr, "fsynclab bench wal: cannot create a scratch directory: %s\n",
			        strerror(errno));
			free(tmp);
			return 1;
		}
		dir = tmp;
	}

	struct bench b;
	memset(&b, 0, sizeof(b));
	b.size = size;
	b.per_writer = records / writers;
	b.raw_fd = -1;
	atomic_init(&b.failed, 0);
	atomic_init(&b.raw_off, 0);
	atomic_init(&b.raw_syncs, 0);
	uint64_t total = b.per_writer * writers;
	int status = 0;
	b.lat_ns = calloc(total ? total : 1, sizeof(uint64_t));
	pthread_t *th = calloc(writers, sizeof(pthread_t));
	struct writer *wr = calloc(writers, sizeof(struct writer));
	if (b.lat_ns == NULL || th == NULL || wr == NULL) {
		fprintf(stderr, "fsynclab bench wal: out of memory\n");
		status = 1;
		goto out;
	}

	struct wal_stats before = {0}, after = {0};
	if (raw) {
		char *path = NULL;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "fsynclab bench wal: %s: %s\n", dir, strerror(errno));
			status = 1;
			goto out;
		}
		if (asprintf(&path, "%s/raw.dat", dir) < 0) {
			status = 1;
			goto out;
		}
		b.raw_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (b.raw_fd < 0)
			fprintf(stderr, "fsynclab bench wal: %s: %s\n", path, strerror(errno));
		free(path);
		if (b.raw_fd < 0) {
			status = 1;
			goto out;
		}
		b.raw_sync = o.sync_policy == WAL_SYNC_ALWAYS;
	} else {
		int rc = wal_open(dir, &o, &b.w, NULL);
		if (rc != 0) {
			fprintf(stderr, "fsynclab bench wal: %s: %s\n", dir, wal_strerror(rc));
			status = 1;
			goto out;
		}
		wal_get_stats(b.w, &before);
	}

	int64_t t0 = now_ns(), c0 = cpu_ns();
	for (uint64_t i = 0; i < writers; i++) {
		wr[i] = (struct writer){.b = &b, .id = (int)i};
		int rc = pthread_create(&th[i], NULL, writer_main, &wr[i]);
		if (rc != 0) {
			fprintf(stderr, "fsynclab bench wal: pthread_create: %s\n", strerror(rc));
			writers = i;
			status = 1;
			break;
		}
	}
	for (uint64_t i = 0; i < writers; i++)
		pthread_join(th[i], NULL);
	double seconds = (double)(now_ns() - t0) / 1e9;
	double cpu_seconds = (double)(cpu_ns() - c0) / 1e9;
	uint64_t fsyncs = 0;
	if (b.w != NULL) {
		wal_get_stats(b.w, &after);
		fsyncs = after.syncs - before.syncs;
		int rc = wal_close(b.w);
		b.w = NULL;
		if (rc != 0 && status == 0) {
			fprintf(stderr, "fsynclab bench wal: close: %s\n", wal_strerror(rc));
			status = 1;
		}
	} else {
		fsyncs = atomic_load(&b.raw_syncs);
	}
	int failed = atomic_load(&b.failed);
	if (failed != 0) {
		fprintf(stderr, "fsynclab bench wal: append failed: %s\n", wal_strerror(failed));
		status = 1;
		goto out;
	}
	if (status != 0)
		goto out;

	qsort(b.lat_ns, total, sizeof(uint64_t), cmp_u64);
	double p50 = total ? (double)b.lat_ns[total / 2] / 1000.0 : 0;
	double p99 =
	    total ? (double)b.lat_ns[(total * 99) / 100 < total ? (total * 99) / 100 : total - 1] / 1000.0
	          : 0;
	double rps = seconds > 0 ? (double)total / seconds : 0;
	double mbps = seconds > 0 ? (double)total * (double)size / seconds / 1e6 : 0;
	char pol[64];
	if (raw)
		snprintf(pol, sizeof(pol), "%s",
		         o.sync_policy == WAL_SYNC_ALWAYS ? "raw-pwrite+fdatasync" : "raw-pwrite");
	else
		wal_policy_format(&o, pol, sizeof(pol));

	uint64_t scan_bytes = 0;
	double scan_s = 0;
	if (scan && !raw) {
		int rc = scan_log(dir, &scan_bytes, &scan_s);
		if (rc != 0) {
			fprintf(stderr, "fsynclab bench wal: scan of %s: %s\n", dir, wal_strerror(rc));
			status = 1;
			goto out;
		}
	}
	if (json) {
		printf("{\"policy\":\"%s\",\"writers\":%" PRIu64 ",\"records\":%" PRIu64 ",\"seconds\":%.6f,"
		       "\"records_per_sec\":%.1f,\"mb_per_sec\":%.3f,\"fsyncs\":%" PRIu64 ",\"p50_us\":%.3f,"
		       "\"p99_us\":%.3f,\"cpu_seconds\":%.6f",
		       pol, writers, total, seconds, rps, mbps, fsyncs, p50, p99, cpu_seconds);
		if (scan && !raw)
			printf(",\"scan_bytes\":%" PRIu64 ",\"scan_seconds\":%.6f,\"scan_gb_per_sec\":%.3f",
			       scan_bytes, scan_s, scan_s > 0 ? (double)scan_bytes / scan_s / 1e9 : 0);
		printf("}\n");
	} else {
		printf("policy %s, %" PRIu64 " writer(s), %zu-byte records, in %s%s\n", pol, writers, b.size,
		       dir, tmp ? " (removed afterwards)" : "");
		printf("records %" PRIu64 "  seconds %.3f  records/s %.0f  MB/s %.2f  fsyncs %" PRIu64
		       "  p50 %.2f us  p99 %.2f us  cpu %.3f s\n",
		       total, seconds, rps, mbps, fsyncs, p50, p99, cpu_seconds);
		if (b.w == NULL && !raw && o.sync_policy == WAL_SYNC_BATCH)
			printf("syncs by appenders because the flusher ran late: %" PRIu64 "\n",
			       after.batch_takeovers - before.batch_takeovers);
		if (scan && !raw)
			printf("recovery scan: %" PRIu64
			       " bytes in %.4f s = %.2f GB/s (best of 3, page cache)\n",
			       scan_bytes, scan_s, scan_s > 0 ? (double)scan_bytes / scan_s / 1e9 : 0);
	}

out:
	if (b.w != NULL)
		wal_close(b.w);
	if (b.raw_fd >= 0)
		close(b.raw_fd);
	if (tmp != NULL) {
		if (nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
			fprintf(stderr, "fsynclab bench wal: could not remove %s\n", tmp);
		free(tmp);
	}
	free(b.lat_ns);
	free(th);
	free(wr);
	return status;
}
