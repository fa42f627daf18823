/*
 * effects.h — what a firing fault rule does to data on its way to "the disk" (or back from it).
 * One small interface, one implementation per effect (see effects.c): given the bytes an
 * operation wants to persist, produce the bytes that actually persist, and where.
 */
#ifndef FSYNCLAB_EFFECTS_H
#define FSYNCLAB_EFFECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faults.h"

/* The sector size torn writes are counted in. */
#define EFFECT_SECTOR_SIZE 512

/* The outcome of applying an effect to one write: what lands on the medium, and where. */
struct effect_plan {
	uint64_t offset;     /* where the bytes land */
	const uint8_t *data; /* the bytes that land: the caller's buffer, or scratch */
	size_t len;          /* how many land (0 = nothing is persisted) */
	bool diverged;       /* the medium will differ from what the caller asked for */
	uint8_t *scratch;    /* an altered copy we own (corrupt); freed by effect_plan_release */
};

/*
 * effect_plan_write - apply HIT (NULL = no rule fired) to a write of LEN bytes of DATA at OFFSET.
 * Returns 0 with *PLAN filled, -err for an errno effect (nothing is to be written), -ENOMEM.
 * A delay effect sleeps here, then plans the write unchanged.
 */
int effect_plan_write(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
                      uint32_t block_size, struct effect_plan *plan);

/* effect_plan_release - free what a plan owns. */
void effect_plan_release(struct effect_plan *plan);

/*
 * effect_apply_read - apply HIT to LEN bytes just read into BUF: corrupt flips bits in place,
 * delay sleeps, an errno effect returns -err. Other effects do nothing on read. Returns 0 or -err.
 */
int effect_apply_read(const struct fault_hit *hit, void *buf, size_t len);

/* effect_corrupt - invert one byte in every 512-byte sector of BUF, chosen by ENTROPY. */
void effect_corrupt(uint8_t *buf, size_t len, uint64_t entropy);

/* effect_name - "errno", "corrupt", "torn", "lost", "misdirected", "delay". */
const char *effect_name(enum fault_effect_kind kind);

#endif
