/*
 * io_full.c — io_pwrite_all: pwrite(2) until the whole buffer is written; io_close_logged (see
 * io_full.h).
 */
#include "io_full.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

void io_close_logged(int fd)
{
	if (fd >= 0 && close(fd) != 0)
		fprintf(stderr, "fsynclab: close: %s\n", strerror(errno));
}
