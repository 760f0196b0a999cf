/* SPDX-License-Identifier: MIT */
/*
 * registry.h - address -> arena lookup for the whole process.
 *
 * The registry maps every arena's data range to its arena descriptor, and
 * keeps the ranges that destroyed permanent owners left pinned. It is the
 * root of trust for write-rare and fault attribution, so the table is a
 * sorted array in a mapping that is read-only except while the registry
 * lock holder changes it. Lookups take no lock and are async-signal-safe:
 * a sequence count (odd while a change is under way) tells a reader to
 * retry. A reader brackets its use of an arena it found with
 * registry_enter() and registry_exit(); an owner that unmaps an arena first
 * removes it and waits until no reader is inside (registry_remove()); new
 * readers hold back briefly meanwhile, so a stream of them cannot starve it.
 */
#ifndef SEALLOC_REGISTRY_H
#define SEALLOC_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_arena;

void registry_enter(void);
void registry_exit(void);

/* The arena containing addr (between enter and exit), or NULL; *pinned is
 * set when addr lies in memory a destroyed permanent owner left sealed. */
struct sl_arena *registry_find(uintptr_t addr, bool *pinned);

/* 0, or -1 + ENOMEM. arena NULL records a pinned remnant. */
int registry_add(uintptr_t base, size_t size, struct sl_arena *arena);

/* Remove an arena's entry and wait until no reader can still see it. */
void registry_remove(struct sl_arena *arena);

/* fork(2): hold the registry lock across it (lifecycle.c's atfork handlers).
 * In the child, the readers that other threads of the parent were in the
 * middle of are gone: registry_child_after_fork() forgets them too, or
 * registry_remove() would wait for them forever. */
void registry_lock_for_fork(void);
void registry_unlock_after_fork(void);
void registry_child_after_fork(void);

#endif
