/* SPDX-License-Identifier: MIT */
/*
 * driver.h - the fuzz driver shared by the libFuzzer target and the plain
 * driver: one byte string in, a sequence of sealloc calls out, each checked
 * against the model (model.h). A disagreement aborts with a "fuzz:" line.
 */
#ifndef SEALLOC_FUZZ_DRIVER_H
#define SEALLOC_FUZZ_DRIVER_H

#include "model.h"

#include <stddef.h>
#include <stdint.h>

/* Run the operations data encodes, then destroy everything they created. */
void fuzz_one(const uint8_t *data, size_t len);

/* verify.c: everything the library says about the model's state, checked
 * after every step (contents, owns, seal_is_sealed), and the stats rows. */
void verify_all(const struct fz_model *m);
void verify_stats(const struct fz_model *m);

#endif
