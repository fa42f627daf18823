/*
 * io_full.h — write a whole buffer with pwrite(2): the loop every part needs (short writes and
 * EINTR retried; a write that makes no progress is an I/O error); and a close whose failure is
 * logged, for descriptors whose close has nothing left to report to anyone.
 */
#ifndef FSYNCLAB_IO_FULL_H
#define FSYNCLAB_IO_FULL_H

#include <stddef.h>
#include <stdint.h>

/* io_pwrite_all - write all LEN bytes of BUF to FD at OFF. Returns 0 or -errno (-EIO: no progress). */
int io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* io_close_logged - close FD (nothing for a negative FD); a failure is logged to stderr. */
void io_close_logged(int fd);

#endif
