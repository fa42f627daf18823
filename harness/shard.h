/*
 * shard.h — `fsynclab run --shard I/N`: which scenarios belong to the I-th of N disjoint slices.
 *
 * The selected scenarios are listed in a stable order (command-line order, each directory sorted);
 * shard I of N takes every N-th of them starting with the I-th (round robin), so the N shards are
 * disjoint, together cover every scenario exactly once, and differ in size by at most one. Every
 * machine of a CI matrix or Kubernetes Indexed Job computes the same split from the same tree.
 */
#ifndef FSYNCLAB_SHARD_H
#define FSYNCLAB_SHARD_H

#include <stdbool.h>
#include <stddef.h>

struct shard {
	unsigned index; /* I, from 1 */
	unsigned count; /* N, >= 1; 1/1 (the default) selects everything */
};

/*
 * shard_parse - parse "I/N" (1 <= I <= N <= 100000, decimal, nothing else). Returns 0, or -EINVAL
 * (leaving *out untouched) for anything else, such as "0/4", "5/4", "2", "1/0", "a/b", "1/4x".
 */
int shard_parse(const char *text, struct shard *out);

/* shard_owns - whether the scenario at 0-based position POS of the stable list is in SHARD. */
bool shard_owns(const struct shard *shard, size_t pos);

#endif
