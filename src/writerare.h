/*
 * writerare.h - the write-rare mechanism chosen for this process.
 *
 * Chosen once, best first: "pkey" (a protection-key window private to the
 * calling thread), "memfd" (write-rare owners' pages are memfd-backed; bulk
 * writes go through pwrite(2) on the memfd, pointer stores through a
 * short-lived alias mapping), "procmem" (pwrite(2) on /proc/self/mem; no
 * single-copy-atomic pointer store), or "none".
 */
#ifndef SEALLOC_WRITERARE_H
#define SEALLOC_WRITERARE_H

#include <stdbool.h>

enum wr_mechanism { WR_NONE, WR_PKEY, WR_MEMFD, WR_PROCMEM };

enum wr_mechanism wr_mechanism(void);

/* Whether write-rare owners' data must be memfd-backed. */
bool wr_wants_memfd(void);

/* Whether permanently sealed pages can still be written (for create). */
bool wr_supports_permanent(void);

#endif
