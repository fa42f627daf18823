/*
 * cmd_wal.c — `fsynclab wal dump DIR [--json]`: print a write-ahead log the way pg_waldump does.
 *
 * Lists every record recovery would hand out (LSN, segment, offset, bytes occupied, checksum
 * verdict), then the first bad record if there is one, then the verdict for the log: clean, torn
 * tail at LSN (expected after a crash; recovery truncates it) or corrupt at LSN (an error).
 * Read-only: the log is never modified (see wal_inspect()).
 *
 * Exit status: 0 clean or torn tail, 1 corruption or a log that cannot be read (missing directory,
 * not a log, truncated segment header), 2 bad usage.
 *
 * --json prints one object:
 *   {"records":[{"lsn":1,"segment":"0000000000000001.wal","offset":32,"length":152,"checksum_ok":true},...],
 *    "verdict":"clean"|"torn-tail"|"corrupt","at_lsn":N|null}
 * at_lsn is null for a clean log. The records are collected before anything is printed, so a log
 * that turns out unreadable half-way prints no partial JSON.
 */
#include "commands.h"
#include "wal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One listed record. */
struct dump_entry {
	uint64_t lsn;
	uint64_t offset;
	uint64_t length;
	uint32_t segment; /* index into dump.segments */
	int checksum_ok;
};

struct dump {
	struct dump_entry *entries;
	size_t n, cap;
	char (*segments)[WAL_SEGMENT_NAME_MAX];
	size_t nsegments, segments_cap;
	int oom;
};

/* collect - wal_record_fn: remember one record (and its segment name, interned). */
static int collect(void *arg, const struct wal_record *r)
{
	struct dump *d = arg;
	if (d->nsegments == 0 || strcmp(d->segments[d->nsegments - 1], r->segment) != 0) {
		if (d->nsegments == d->segments_cap) {
			size_t cap = d->segments_cap ? d->segments_cap * 2 : 16;
			void *n = realloc(d->segments, cap * sizeof(*d->segments));
			if (n == NULL)
				goto oom;
			d->segments = n;
			d->segments_cap = cap;
		}
		snprintf(d->segments[d->nsegments++], WAL_SEGMENT_NAME_MAX, "%s", r->segment);
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;
		struct dump_entry *n = realloc(d->entries, cap * sizeof(*n));
		if (n == NULL)
			goto oom;
		d->entries = n;
		d->cap = cap;
	}
	d->entries[d->n++] = (struct dump_entry){
	    .lsn = r->lsn,
	    .offset = r->offset,
	    .length = r->footprint,
	    .segment = (uint32_t)(d->nsegments - 1),
	    .checksum_ok = r->checksum_ok,
	};
	return 0;
oom:
	d->oom = 1;
	return -ENOMEM;
}

static void print_json(const struct dump *d, const struct wal_recovery *rep)
{
	printf("{\"records\":[");
	for (size_t i = 0; i < d->n; i++) {
		const struct dump_entry *e = &d->entries[i];
		printf("%s{\"lsn\":%" PRIu64 ",\"segment\":\"%s\",\"offset\":%" PRIu64 ",\"length\":%" PRIu64
		       ",\"checksum_ok\":%s}",
		       i ? "," : "", e->lsn, d->segments[e->segment], e->offset, e->length,
		       e->checksum_ok ? "true" : "false");
	}
	printf("],\"verdict\":\"%s\",\"at_lsn\":", wal_verdict_name(rep->verdict));
	if (rep->verdict == WAL_VERDICT_CLEAN)
		printf("null}\n");
	else
		printf("%" PRIu64 "}\n", rep->at_lsn);
}

static void print_text(const struct dump *d, const struct wal_recovery *rep, const char *dir)
{
	printf("log %s: %u segment file(s)\n", dir, rep->segments);
	for (size_t i = 0; i < d->n; i++) {
		const struct dump_entry *e = &d->entries[i];
		printf("lsn %-10" PRIu64 " segment %s  offset %-10" PRIu64 " length %-8" PRIu64
		       " checksum %s\n",
		       e->lsn, d->segments[e->segment], e->offset, e->length, e->checksum_ok ? "ok" : "BAD");
	}
	switch (rep->verdict) {
	case WAL_VERDICT_CLEAN:
		if (rep->records > 0)
			printf("verdict: clean (%" PRIu64 " records, LSN %" PRIu64 "..%" PRIu64 ")\n",
			       rep->records, rep->first_lsn, rep->last_lsn);
		else
			printf("verdict: clean (no records; the next LSN is %" PRIu64 ")\n", rep->next_lsn);
		break;
	case WAL_VERDICT_TORN_TAIL:
		printf("verdict: torn tail at LSN %" PRIu64 " (%s offset %" PRIu64 ": %s); %" PRIu64
		       " valid records before it. Expected after a crash: recovery truncates it.\n",
		       rep->at_lsn, rep->segment, rep->offset, rep->detail, rep->records);
		break;
	case WAL_VERDICT_CORRUPT:
		printf("verdict: CORRUPT at LSN %" PRIu64 " (%s offset %" PRIu64 ": %s); %" PRIu64
		       " valid records before it.\n",
		       rep->at_lsn, rep->segment, rep->offset, rep->detail, rep->records);
		break;
	}
}

static void usage(FILE *out)
{
	fprintf(out, "usage: fsynclab wal dump DIR [--json]\n"
	             "  Lists every record of the write-ahead log in DIR (LSN, segment, offset, length,\n"
	             "  checksum) and the verdict: clean, torn tail at LSN, or corrupt at LSN.\n"
	             "  Exit status: 0 clean or torn tail, 1 corrupt or unreadable, 2 bad usage.\n");
}

/* dump_log - the `dump` subcommand proper. */
static int dump_log(const char *dir, int json)
{
	struct dump d;
	struct wal_recovery rep;

	memset(&d, 0, sizeof(d));
	int rc = wal_inspect(dir, collect, &d, &rep);
	int status = 0;
	if (d.oom) {
		fprintf(stderr, "fsynclab wal dump: %s: out of memory listing the records\n", dir);
		status = 1;
	} else if (rc != 0) {
		if (rep.segment[0] != '\0')
			fprintf(stderr, "fsynclab wal dump: %s/%s: %s\n", dir, rep.segment,
			        rep.detail[0] ? rep.detail : wal_strerror(rc));
		else if (rc == WAL_ENOTLOG)
			fprintf(stderr, "fsynclab wal dump: %s: not a write-ahead log: %s\n", dir,
			        rep.detail[0] ? rep.detail : wal_strerror(rc));
		else
			fprintf(stderr, "fsynclab wal dump: %s: %s\n", dir, wal_strerror(rc));
		status = 1;
	} else {
		if (json)
			print_json(&d, &rep);
		else
			print_text(&d, &rep, dir);
		if (rep.verdict == WAL_VERDICT_CORRUPT) {
			fprintf(stderr,
			        "fsynclab wal dump: %s: corruption in the middle of the log at LSN %" PRIu64
			        " (%s offset %" PRIu64 ": %s)\n",
			        dir, rep.at_lsn, rep.segment, rep.offset, rep.detail);
			status = 1;
		}
	}
	free(d.entries);
	free(d.segments);
	return status;
}

int cmd_wal(int argc, char **argv)
{
	const char *dir = NULL;
	int json = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "dump") != 0) {
		fprintf(stderr, "fsynclab wal: unknown subcommand '%s' (expected dump)\n", argv[1]);
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "fsynclab wal dump: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		} else if (dir == NULL) {
			dir = argv[i];
		} else {
			fprintf(stderr, "fsynclab wal dump: unexpected argument '%s' (one DIR only)\n",
			        argv[i]);
			return 2;
		}
	}
	if (dir == NULL) {
		fprintf(stderr, "fsynclab wal dump: missing DIR\n");
		usage(stderr);
		return 2;
	}
	return dump_log(dir, json);
}
