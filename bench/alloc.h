/* SPDX-License-Identifier: MIT */
/*
 * alloc.h - the allocator under test, as bench/driver.c sees it.
 *
 * Exactly one implementation is linked into each bench-alloc-<name>
 * program (alloc_malloc.c once per malloc peer, alloc_sealloc.c,
 * alloc_sodium.c), so every allocator runs in a process of its own and
 * never shares an address space with another by accident.
 */
#ifndef BENCH_ALLOC_H
#define BENCH_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* The allocator's name as it appears in result keys ("glibc", "sealloc"...),
 * checked against the library that really provides it. */
const char *ba_name(void);

/* Whether the allocator write-protects what it hands out (sealloc, sodium). */
bool ba_protects(void);

/* Start a set of objects of `size` bytes (a cache for sealloc). */
void ba_init(size_t size);

void *ba_alloc(void);   /* NULL when the allocator gives up */
void ba_free(void *p);

/* Make one object read-only (libsodium's per-allocation protection);
 * 0, or -1 when the allocator gives up. No-op elsewhere. */
int ba_protect_one(void *p);

/* Make every object of the set read-only (sealloc's seal); 0 or -1. */
int ba_seal(void);

/* End the set: every object is freed (sealloc destroys the cache). */
void ba_fini(void **objs, size_t n);

#endif
