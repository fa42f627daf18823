/*
 * effects.c — data effects of fault rules, one section per effect.
 *
 * The interface is a table of `plan` functions (struct effect_ops): each takes the write an
 * operation wants to persist (bytes, length, offset) and fills an effect_plan saying which bytes
 * actually persist and where. The caller (writeback in pagecache.c, or a --cache none write in
 * ops_write.c) then performs exactly that plan. Keeping the effects here means the page cache never
 * switches on effect kinds, and an effect behaves the same in both cache modes.
 *
 * Effects and what persists:
 *   errno        nothing; the operation fails with the errno
 *   corrupt      everything, but one byte in each 512-byte sector is inverted
 *   torn         only the first k sectors, 1 <= k < sectors (a one-sector write persists nothing)
 *   lost         nothing, and success is reported
 *   misdirected  everything, one block away (the previous block, or the next for block 0)
 *   delay        everything, after sleeping
 * Which byte and how many sectors come from the firing's entropy, so a seeded run repeats.
 */
#include "effects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* splitmix64: a good 64-bit mix for deriving positions from the firing's entropy. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Sleep NS nanoseconds, resuming after signals. */
static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	while (ns > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void effect_corrupt(uint8_t *buf, size_t len, uint64_t entropy)
{
	for (size_t sector = 0; sector * EFFECT_SECTOR_SIZE < len; sector++) {
		size_t start = sector * EFFECT_SECTOR_SIZE;
		size_t n = len - start < EFFECT_SECTOR_SIZE ? len - start : EFFECT_SECTOR_SIZE;
		size_t at = start + (size_t)(mix64(entropy + sector) % n);

		buf[at] ^= 0xff;
	}
}

/* ---- Pass-through: the write persists as asked ---- */

/* Plans the write unchanged. Returns 0. */
static int plan_as_asked(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
                         uint32_t block_size, struct effect_plan *plan)
{
	(void)hit;
	(void)block_size;
	plan->offset = offset;
	plan->data = data;
	plan->len = len;
	return 0;
}

/* ---- errno: nothing persists, the operation fails ---- */

/* Returns -err (the rule's errno). */
static int plan_errno(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
                      uint32_t block_size, struct effect_plan *plan)
{
	(void)data;
	(void)len;
	(void)offset;
	(void)block_size;
	(void)plan;
	return -(hit->err > 0 ? hit->err : EIO);
}

/* ---- corrupt: everything persists, with bits flipped ---- */

/* Plans an altered copy. Returns 0 or -ENOMEM. */
static int plan_corrupt(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
                        uint32_t block_size, struct effect_plan *plan)
{
	(void)block_size;
	plan->scratch = malloc(len ? len : 1);
	if (!plan->scratch)
		return -ENOMEM;
	memcpy(plan->scratch, data, len);
	effect_corrupt(plan->scratch, len, hit->entropy);
	plan->offset = offset;
	plan->data = plan->scratch;
	plan->len = len;
	plan->diverged = len > 0;
	return 0;
}

/* ---- torn: only the first sectors persist ---- */

/* Plans a prefix of whole sectors. Returns 0. */
static int plan_torn(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
                     uint32_t block_size, struct effect_plan *plan)
{
	size_t sectors = (len + EFFECT_SECTOR_SIZE - 1) / EFFECT_SECTOR_SIZE;
	size_t keep = sectors > 1 ? 1 + (size_t)(mix64(hit->entropy) % (sectors - 1)) : 0;

	(void)block_size;
	plan->offset = offset;
	plan->data = data;
	plan->len = keep * EFFECT_SECTOR_SIZE < len ? keep * EFFECT_SECTOR_SIZE : len;
	plan->diverged = plan->len < len;
	return 0;
}

/* ---- lost: success reported, nothing persists ---- */

/* Plans nothing. Returns 0. */
static int plan_lost(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
                     uint32_t block_size, struct effect_plan *plan)
{
	(void)hit;
	plan->offset = offset;
	plan->data = data;
	plan->len = 0;
	plan->diverged = len > 0;
	(void)block_size;
	return 0;
}

/* ---- misdirected: everything persists, one block away ---- */

/* Plans the write at the neighbouring block. Returns 0. */
static int plan_misdirected(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
                            uint32_t block_size, struct effect_plan *plan)
{
	(void)hit;
	plan->offset = offset >= block_size ? offset - block_size : offset + block_size;
	plan->data = data;
	plan->len = len;
	plan->diverged = len > 0;
	return 0;
}

/* ---- delay: everything persists, late ---- */

/* Sleeps the rule's delay, then plans the write unchanged. Returns 0. */
static int plan_delay(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
                      uint32_t block_size, struct effect_plan *plan)
{
	sleep_ns(hit->delay_ns);
	return plan_as_asked(hit, data, len, offset, block_size, plan);
}

/* ---- The table ---- */

struct effect_ops {
	const char *name;
	/* fill *plan for a write of len bytes at offset; 0 or -errno */
	int (*plan)(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
	            uint32_t block_size, struct effect_plan *plan);
};

static const struct effect_ops effect_table[] = {
    [FAULT_EFFECT_ERRNO] = {"errno", plan_errno},
    [FAULT_EFFECT_CORRUPT] = {"corrupt", plan_corrupt},
    [FAULT_EFFECT_TORN] = {"torn", plan_torn},
    [FAULT_EFFECT_LOST] = {"lost", plan_lost},
    [FAULT_EFFECT_MISDIRECTED] = {"misdirected", plan_misdirected},
    [FAULT_EFFECT_DELAY] = {"delay", plan_delay},
};

static const struct effect_ops *effect_lookup(enum fault_effect_kind kind)
{
	if ((size_t)kind >= sizeof(effect_table) / sizeof(effect_table[0]) || !effect_table[kind].plan)
		return NULL;
	return &effect_table[kind];
}

int effect_plan_write(const struct fault_hit *hit, const void *data, size_t len, uint64_t offset,
                      uint32_t block_size, struct effect_plan *plan)
{
	const struct effect_ops *ops;

	memset(plan, 0, sizeof(*plan));
	if (!hit)
		return plan_as_asked(hit, data, len, offset, block_size, plan);
	ops = effect_lookup(hit->effect);
	if (!ops)
		return -EINVAL;
	return ops->plan(hit, data, len, offset, block_size, plan);
}

void effect_plan_release(struct effect_plan *plan)
{
	free(plan->scratch);
	plan->scratch = NULL;
}

int effect_apply_read(const struct fault_hit *hit, void *buf, size_t len)
{
	if (!hit)
		return 0;
	switch (hit->effect) {
	case FAULT_EFFECT_ERRNO:
		return -(hit->err > 0 ? hit->err : EIO);
	case FAULT_EFFECT_CORRUPT:
		effect_corrupt(buf, len, hit->entropy);
		return 0;
	case FAULT_EFFECT_DELAY:
		sleep_ns(hit->delay_ns);
		return 0;
	case FAULT_EFFECT_TORN:
	case FAULT_EFFECT_LOST:
	case FAULT_EFFECT_MISDIRECTED:
		return 0; /* write-side effects: a read is unaffected */
	}
	return 0;
}

const char *effect_name(enum fault_effect_kind kind)
{
	const struct effect_ops *ops = effect_lookup(kind);

	return ops ? ops->name : "?";
}
