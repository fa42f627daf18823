/*
 * checks.h — the four checks the harness performs on what a scenario run observed.
 *
 *   PANIC-on-fsync-error  under `panic` the writer stops at the first failed fsync (no record is
 *                         acknowledged after it) and, after reboot and recovery, every record it
 *                         acknowledged as durable is present. Under `retry` the writer carries on,
 *                         and the check names the acknowledged records that were lost.
 *   checksum detection    every injected data fault (corrupt, torn, lost, misdirected write) that
 *                         damaged the log is reported by recovery (torn tail or corruption); no
 *                         record failing its checksum is ever returned (the harness re-derives each
 *                         returned payload from its id and compares: an independent check).
 *   post-reboot reads     a read is classified as new / old / zeros / other against the harness's
 *                         shadow of what was written, and compared with what the step expected.
 *   acknowledged loss     acknowledged records missing after recovery: how many, how many of them
 *                         had been covered by a successful fsync, and the loss window: from the ack
 *                         time of the oldest lost record to the power cut. Under `batch:<w>` the
 *                         window is checked against w plus the longest fsync the run measured (a
 *                         sync that started before the cut and had not finished covers nothing).
 *
 * Each check function measures, decides, and appends its outcome to a report_scenario as a
 * report_check (expected / observed in words), so the narration and every report say the same.
 * The functions are pure over their inputs: the runner collects acknowledgements and recovery
 * results, these decide. Nothing here touches a mount.
 */
#ifndef FSYNCLAB_CHECKS_H
#define FSYNCLAB_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* One record the workload acknowledged (its append/update returned success). */
struct checks_ack {
	uint64_t lsn; /* the log sequence number the WAL gave it */
	uint64_t id;  /* payload id (wal) or update number (table): what recovery must give back */
	double t_ms;  /* when the acknowledgement reached the harness, since the scenario started */
	bool durable; /* a successful sync covered it before the power cut */
	bool present; /* filled by the runner after recovery: recovery returned it intact */
};

/* ---- Acknowledged-data loss ---- */

struct checks_loss {
	int64_t acked;        /* acknowledgements considered */
	int64_t lost;         /* of which missing after recovery */
	int64_t durable_lost; /* of which covered by a successful fsync (the fsyncgate signature) */
	double window_ms;     /* cut time - ack time of the oldest lost record; 0 when nothing lost */
	uint64_t first_lost_lsn, last_lost_lsn; /* 0 when nothing lost */
};

/* checks_loss_measure - count what ACKS[0..n) lost at a power cut at T_CUT_MS. */
void checks_loss_measure(const struct checks_ack *acks, size_t n, double t_cut_ms, struct checks_loss *out);

/*
 * checks_loss_window - the batch bound: passes when loss->window_ms <= window_ms + longest_sync_ms.
 * Appends the check "loss window" to S. Returns 0 or -ENOMEM.
 */
int checks_loss_window(struct report_scenario *s, const struct checks_loss *loss, double window_ms,
                       double longest_sync_ms);

/* ---- PANIC-on-fsync-error ---- */

struct checks_panic_in {
	bool panic_policy;    /* the WAL ran with error policy `panic` (else `retry`) */
	bool sync_failed;     /* at least one sync failed during the workload */
	bool panicked;        /* the writer stopped itself (the workload exited with the panic status) */
	int64_t acks_after;   /* acknowledgements that arrived after the first failed sync */
	bool recovered;       /* a recovery after the reboot was compared with the acknowledgements */
	int64_t durable_lost; /* acknowledged-durable records missing after recovery (if recovered) */
	uint64_t first_lost_lsn, last_lost_lsn; /* for the words of the retry outcome */
};

/*
 * checks_panic - appends the check "panic on fsync error" to S (only meaningful once a sync
 * failed: the caller calls it then). Under panic it passes when the writer panicked, acknowledged
 * nothing after the failure, and (if recovered) lost nothing acknowledged as durable. Under retry
 * it passes when the writer carried on (did not panic): the lesson is the loss it then shows.
 * Returns 0 or -ENOMEM.
 */
int checks_panic(struct report_scenario *s, const struct checks_panic_in *in);

/* ---- Checksum detection ---- */

struct checks_checksum_in {
	int64_t data_faults;     /* firings of corrupt/torn/lost/misdirected rules before recovery */
	bool reported;           /* recovery reported a torn tail or corruption, or rejected records */
	int64_t bad_returned;    /* records returned whose payload does not match its id */
	bool expectation_stated; /* the scenario said what recovery must report: detection not assumed */
};

/*
 * checks_checksum - appends "checksum: no bad record returned" (always) and, when data faults fired
 * and the scenario did not state its own expectation, "checksum: injected damage reported".
 * Returns 0 or -ENOMEM.
 */
int checks_checksum(struct report_scenario *s, const struct checks_checksum_in *in);

/* ---- Reads ---- */

enum checks_read_class {
	CHECKS_READ_NEW,   /* the bytes last written */
	CHECKS_READ_OLD,   /* the bytes before the last write */
	CHECKS_READ_ZEROS, /* all zero (a hole, or never written) */
	CHECKS_READ_OTHER, /* none of these: damaged or unexpected */
};

/* checks_read_class_name - "new", "old", "zeros", "other". */
const char *checks_read_class_name(enum checks_read_class c);

/*
 * checks_read_classify - compare GOT[0..len) with the shadow images: CUR (after the last write) and
 * PREV (before it; NULL = never written = zeros). New wins when new and old are the same bytes.
 */
enum checks_read_class checks_read_classify(const uint8_t *got, const uint8_t *cur, const uint8_t *prev,
                                            size_t len);

/* ---- Payloads: what makes "no bad record returned" an independent check ---- */

/* checks_payload_fill - the deterministic payload of record ID under SEED, LEN bytes (len >= 8
 * holds the id in its first 8 bytes, little-endian; the rest derives from seed and id). */
void checks_payload_fill(uint64_t seed, uint64_t id, uint8_t *buf, size_t len);

/* checks_payload_id - the id a payload claims, and whether its bytes are exactly
 * checks_payload_fill(seed, id, ..., len). Returns true when the payload is intact. */
bool checks_payload_verify(uint64_t seed, const uint8_t *buf, size_t len, uint64_t *id);

#endif
