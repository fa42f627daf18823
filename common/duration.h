/*
 * duration.h — parse and print human durations ("5ms", "250us", "2s", "1.5s", "never").
 *
 * Owns the one spelling of time that every part accepts on its command line and in scenarios:
 * a decimal number followed by a unit (ns, us, ms, s, m). A bare number is rejected, because
 * "5" could mean seconds to one user and milliseconds to another.
 */
#ifndef FSYNCLAB_DURATION_H
#define FSYNCLAB_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* The value duration_parse() stores for "never" (no periodic action). */
#define DURATION_NEVER INT64_MAX

/*
 * duration_parse - parse TEXT into nanoseconds.
 * Accepts "never" only when allow_never is non-zero. Returns 0 and stores *out_ns on success,
 * -EINVAL on a malformed value (no unit, unknown unit, negative, junk after the unit),
 * -ERANGE when the value does not fit in int64 nanoseconds.
 */
int duration_parse(const char *text, int allow_never, int64_t *out_ns);

/* duration_format - write NS as the shortest exact spelling ("5ms", "1500us", "never"). */
void duration_format(int64_t ns, char *buf, size_t len);

#endif
