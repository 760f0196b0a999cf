/* SPDX-License-Identifier: MIT */
/*
 * guard.h - a keyed hash with a per-process secret.
 *
 * sl_mac() mixes three words with a random secret drawn at load time and
 * kept in the read-only globals block (meta.h), never behind a pointer the
 * program could redirect. It makes values an attacker cannot predict
 * without reading memory (the write-rare alias's random address). It does
 * not guard metadata: what decides protection is read-only (README
 * "Security"), so a check value would be a second line at most.
 */
#ifndef SEALLOC_GUARD_H
#define SEALLOC_GUARD_H

#include <stdint.h>

uint64_t sl_mac(uint64_t a, uint64_t b, uint64_t c);

#endif
