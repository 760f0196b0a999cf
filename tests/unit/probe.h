/*
 * probe.h - what the kernel thinks of an address, for the unit tests.
 *
 * page_read_only() asks the kernel to store one byte at p with read(2)
 * from /dev/zero: on a read-only (sealed) page that fails with EFAULT, on a
 * writable one it stores a zero. It shows the page-table state without a
 * faulting store, so it can run in the test process itself, from any
 * thread; use it only where a zero byte may be written.
 */
#ifndef SEALLOC_PROBE_H
#define SEALLOC_PROBE_H

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static inline int page_read_only(void *p)
{
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    errno = 0;
    int ro = read(fd, p, 1) == -1 && errno == EFAULT;
    close(fd);
    return ro;
}

#endif
