/* SPDX-License-Identifier: MIT */
/*
 * xorshift.h - the fixed pseudo-random sequence of the fuzz programs
 * (xorshift64): the same seed gives the same inputs on every machine.
 */
#ifndef SEALLOC_FUZZ_XORSHIFT_H
#define SEALLOC_FUZZ_XORSHIFT_H

#include <stdint.h>

static inline uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

#endif
