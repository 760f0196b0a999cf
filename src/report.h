/* SPDX-License-Identifier: MIT */
/*
 * report.h - the one way the library reports misuse or corruption.
 *
 * Every fatal report is one line on stderr, then abort():
 *
 *     sealloc: <call>(<kind> "<name>"): <what>
 *
 * Lower layers (region, slab, object) do not know the cache or pool they
 * serve; they hold a `struct sl_who` that the owner filled in at creation,
 * in its read-only descriptor, and hand it to sl_report(), which formats
 * "seal_<kind>_<call>" from it. Nothing here allocates or takes a lock.
 */
#ifndef SEALLOC_REPORT_H
#define SEALLOC_REPORT_H

/* Who a report is about: "cache" or "pool", and the owner's name. */
struct sl_who {
    const char *kind;
    const char *name;
};

__attribute__((noreturn, cold, format(printf, 4, 5)))
void sl_fatal(const char *call, const char *kind, const char *name, const char *fmt, ...);

/* sl_fatal() about w, for the call "seal_<kind>_<call>". */
__attribute__((noreturn, cold, format(printf, 3, 4)))
void sl_report(const struct sl_who *w, const char *call, const char *fmt, ...);

#endif
