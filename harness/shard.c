/*
 * shard.c — parse `--shard I/N` and decide membership; see shard.h for the split rule.
 */
#include "shard.h"

#include <errno.h>
#include <stdlib.h>

#define SHARD_MAX 100000

/* parse_part - a decimal number from *p up to STOP; 0 and advances *p, or -EINVAL. */
static int parse_part(const char **p, char stop, unsigned *out)
{
	const char *s = *p;
	unsigned long v = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > SHARD_MAX)
			return -EINVAL;
		s++;
	}
	if (*s != stop)
		return -EINVAL;
	*out = (unsigned)v;
	*p = stop ? s + 1 : s;
	return 0;
}

int shard_parse(const char *text, struct shard *out)
{
	unsigned index = 0, count = 0;
	const char *p = text;
	if (text == NULL || parse_part(&p, '/', &index) < 0 || parse_part(&p, '\0', &count) < 0)
		return -EINVAL;
	if (count < 1 || index < 1 || index > count)
		return -EINVAL;
	out->index = index;
	out->count = count;
	return 0;
}

bool shard_owns(const struct shard *shard, size_t pos)
{
	return pos % shard->count == (size_t)(shard->index - 1);
}
