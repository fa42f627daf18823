/*
 * duration.c — parse and print human durations; see duration.h for the accepted spelling.
 */
#include "duration.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct duration_unit {
	const char *suffix;
	int64_t ns; /* nanoseconds in one unit */
};

static const struct duration_unit duration_units[] = {
    {"ns", 1LL}, {"us", 1000LL}, {"ms", 1000000LL}, {"s", 1000000000LL}, {"m", 60LL * 1000000000LL},
};

int duration_parse(const char *text, int allow_never, int64_t *out_ns)
{
	if (text == NULL || *text == '\0')
		return -EINVAL;
	if (strcmp(text, "never") == 0) {
		if (!allow_never)
			return -EINVAL;
		*out_ns = DURATION_NEVER;
		return 0;
	}
	if (!(text[0] >= '0' && text[0] <= '9') && text[0] != '.')
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	double value = strtod(text, &end);
	if (errno != 0 || end == text || !isfinite(value) || value < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strcmp(end, duration_units[i].suffix) != 0)
			continue;
		double ns = value * (double)duration_units[i].ns;
		if (ns >= 9.2e18)
			return -ERANGE;
		*out_ns = (int64_t)llround(ns);
		return 0;
	}
	return -EINVAL;
}

void duration_format(int64_t ns, char *buf, size_t len)
{
	if (ns == DURATION_NEVER) {
		snprintf(buf, len, "never");
		return;
	}
	for (size_t i = sizeof(duration_units) / sizeof(duration_units[0]); i-- > 0;) {
		int64_t unit = duration_units[i].ns;
		if (ns != 0 && ns % unit == 0) {
			snprintf(buf, len, "%lld%s", (long long)(ns / unit), duration_units[i].suffix);
			return;
		}
	}
	snprintf(buf, len, "%lldns", (long long)ns);
}
