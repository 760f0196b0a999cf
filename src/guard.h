/*
 * guard.h - always-on integrity checks and fatal reports.
 *
 * sl_mac() derives a check value from a per-process secret (random, kept in
 * a page that is read-only after start-up) and the fields that decide which
 * memory may become writable or be returned to the OS. Those fields live in
 * writable metadata; storing their check value beside them means that an
 * attacker who can write there, but cannot read the secret, cannot forge a
 * state that the library would act on: every use recomputes and compares.
 *
 * sl_fatal() is the one way the library reports misuse or corruption: one
 * line on stderr, "sealloc: <call>(<kind> \"<name>\"): <what>", then abort().
 */
#ifndef SEALLOC_GUARD_H
#define SEALLOC_GUARD_H

#include <stdint.h>

uint64_t sl_mac(uint64_t a, uint64_t b, uint64_t c);

__attribute__((noreturn, format(printf, 4, 5)))
void sl_fatal(const char *call, const char *kind, const char *name, const char *fmt, ...);

#endif
