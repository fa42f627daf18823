/*
 * checks.c — the four checks of checks.h: acknowledged-data loss (with the batch window bound),
 * PANIC-on-fsync-error, checksum detection, and the classification of reads; plus the
 * deterministic payloads that let the harness verify every record recovery returns.
 */
#include "checks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

/* ---- Acknowledged-data loss ---- */

void checks_loss_measure(const struct checks_ack *acks, size_t n, double t_cut_ms, struct checks_loss *out)
{
	*out = (struct checks_loss){.acked = (int64_t)n};
	double oldest = -1;
	for (size_t i = 0; i < n; i++) {
		if (acks[i].present)
			continue;
		out->lost++;
		if (acks[i].durable)
			out->durable_lost++;
		if (oldest < 0 || acks[i].t_ms < oldest)
			oldest = acks[i].t_ms;
		if (!out->first_lost_lsn || acks[i].lsn < out->first_lost_lsn)
			out->first_lost_lsn = acks[i].lsn;
		if (acks[i].lsn > out->last_lost_lsn)
			out->last_lost_lsn = acks[i].lsn;
	}
	out->window_ms = oldest < 0 ? 0 : t_cut_ms - oldest;
	if (out->window_ms < 0)
		out->window_ms = 0;
}

int checks_loss_window(struct report_scenario *s, const struct checks_loss *loss, double window_ms,
                       double longest_sync_ms)
{
	char exp[96], obs[96];
	double bound = window_ms + (longest_sync_ms > 0 ? longest_sync_ms : 0);
	snprintf(exp, sizeof(exp), "window <= %.1f ms (batch %.1f ms + longest fsync %.1f ms)", bound,
	         window_ms, longest_sync_ms > 0 ? longest_sync_ms : 0);
	snprintf(obs, sizeof(obs), "window %.1f ms (%lld of %lld acked lost)", loss->window_ms,
	         (long long)loss->lost, (long long)loss->acked);
	return report_check_add(s, "loss window", exp, obs, loss->window_ms <= bound);
}

/* ---- PANIC-on-fsync-error ---- */

int checks_panic(struct report_scenario *s, const struct checks_panic_in *in)
{
	char exp[128], obs[160];
	bool passed;
	int n = 0;
	if (in->panic_policy) {
		snprintf(exp, sizeof(exp), "writer stops at the first failed fsync%s",
		         in->recovered ? "; no acknowledged-durable record lost" : "");
		n = snprintf(obs, sizeof(obs), "%s; %lld acked after the failure",
		             in->panicked ? "stopped" : "carried on", (long long)in->acks_after);
		if (in->recovered)
			snprintf(obs + n, sizeof(obs) - (size_t)n, "; %lld durable lost",
			         (long long)in->durable_lost);
		passed = in->panicked && in->acks_after == 0 && (!in->recovered || in->durable_lost == 0);
	} else {
		snprintf(exp, sizeof(exp), "writer carries on after the failed fsync (retry)");
		n = snprintf(obs, sizeof(obs), "%s; %lld acked after the failure",
		             in->panicked ? "stopped" : "carried on", (long long)in->acks_after);
		if (in->recovered && in->durable_lost > 0)
			snprintf(obs + n, sizeof(obs) - (size_t)n, "; %lld durable lost (LSN %llu..%llu)",
			         (long long)in->durable_lost, (unsigned long long)in->first_lost_lsn,
			         (unsigned long long)in->last_lost_lsn);
		else if (in->recovered)
			snprintf(obs + n, sizeof(obs) - (size_t)n, "; none lost");
		passed = !in->panicked;
	}
	return report_check_add(s, "panic on fsync error", exp, obs, passed);
}

/* ---- Checksum detection ---- */

int checks_checksum(struct report_scenario *s, const struct checks_checksum_in *in)
{
	char obs[96];
	snprintf(obs, sizeof(obs), "%lld bad records returned", (long long)in->bad_returned);
	int r = report_check_add(s, "checksum: no bad record returned", "0 bad records returned", obs,
	                         in->bad_returned == 0);
	if (r < 0 || in->data_faults <= 0 || in->expectation_stated)
		return r;
	char exp[96];
	snprintf(exp, sizeof(exp), "reported (%lld data faults injected)", (long long)in->data_faults);
	return report_check_add(s, "checksum: injected damage reported", exp,
	                        in->reported ? "reported" : "not reported", in->reported);
}

/* ---- Reads ---- */

const char *checks_read_class_name(enum checks_read_class c)
{
	static const char *const names[] = {"new", "old", "zeros", "other"};
	return (unsigned)c < 4 ? names[c] : "?";
}

/* all_zero - every byte of BUF[0..len) is 0. */
static bool all_zero(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

enum checks_read_class checks_read_classify(const uint8_t *got, const uint8_t *cur, const uint8_t *prev,
                                            size_t len)
{
	if (cur && memcmp(got, cur, len) == 0)
		return CHECKS_READ_NEW;
	if (prev ? memcmp(got, prev, len) == 0 : all_zero(got, len))
		return CHECKS_READ_OLD;
	if (all_zero(got, len))
		return CHECKS_READ_ZEROS;
	return CHECKS_READ_OTHER;
}

/* ---- Payloads ---- */

void checks_payload_fill(uint64_t seed, uint64_t id, uint8_t *buf, size_t len)
{
	size_t i = 0;
	for (; i < 8 && i < len; i++)
		buf[i] = (uint8_t)(id >> (8 * i));
	uint64_t block = 0;
	while (i < len) {
		uint64_t key[2] = {id, block++};
		uint64_t h = XXH64(key, sizeof(key), seed);
		for (int k = 0; k < 8 && i < len; k++, i++)
			buf[i] = (uint8_t)(h >> (8 * k));
	}
}

bool checks_payload_verify(uint64_t seed, const uint8_t *buf, size_t len, uint64_t *id)
{
	if (len < 8)
		return false;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)buf[i] << (8 * i);
	*id = v;
	size_t i = 8;
	uint64_t block = 0;
	while (i < len) {
		uint64_t key[2] = {v, block++};
		uint64_t h = XXH64(key, sizeof(key), seed);
		for (int k = 0; k < 8 && i < len; k++, i++)
			if (buf[i] != (uint8_t)(h >> (8 * k)))
				return false;
	}
	return true;
}
