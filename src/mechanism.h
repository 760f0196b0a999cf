/* SPDX-License-Identifier: MIT */
/*
 * mechanism.h - the write-rare mechanism chosen for this process.
 *
 * Chosen once per process: "memfd" by default (write-rare owners' pages
 * are memfd-backed; bulk writes go through pwrite(2) on the memfd, pointer
 * stores through a short-lived alias mapping), else "procmem" (pwrite(2)
 * on /proc/self/mem; no single-copy-atomic pointer store), else "none".
 * SEALLOC_WRITE_RARE=procmem picks procmem; SEALLOC_WRITE_RARE=pkey opts
 * in to "pkey" (a protection-key window private to the calling thread;
 * why it is not the default: writerare.c). Asking for one the system lacks
 * falls back to the default.
 *
 * The choice and the protection key are kept in the read-only globals
 * (meta.h): a forged choice cannot send a write through another path.
 */
#ifndef SEALLOC_MECHANISM_H
#define SEALLOC_MECHANISM_H

#include <stdbool.h>

enum wr_mechanism { WR_NONE, WR_PKEY, WR_MEMFD, WR_PROCMEM };

enum wr_mechanism wr_mechanism(void);

/* The protection key sealed write-rare pages are tagged with, or -1 when
 * the mechanism is not "pkey". */
int wr_pkey(void);

/* Whether write-rare owners' data must be memfd-backed. */
bool wr_wants_memfd(void);

/* Whether permanently sealed pages can still be written (for create). */
bool wr_supports_permanent(void);

#endif
