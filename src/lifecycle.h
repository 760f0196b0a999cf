/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.h - the conductor: seal, unseal, destroy and fork, each conducted from
 * above over the layers below (magazine, slab, region, registry, meta).
 *
 * Every call here goes down: the API calls in, this file quiesces the
 * magazines, hands the slab layer's census to the region layer's seal,
 * retires descriptors through the owner layer, and runs the fork handlers
 * that take every lock in the order of owner.h.
 */
#ifndef SEALLOC_LIFECYCLE_H
#define SEALLOC_LIFECYCLE_H

#include "owner.h"

/* Seal every region of o under its lock. 0 or -1 + errno. */
int lifecycle_seal(struct sl_owner *o);

/* Unseal every region of o under its lock (teardown): -1 + EPERM, with
 * nothing changed, for a permanent owner; else 0 or -1 + errno. */
int lifecycle_unseal(struct sl_owner *o);

/* Stop o's fast paths, release every region, and retire the descriptor
 * into the quarantine. */
void lifecycle_destroy(struct sl_owner *o);

#endif
