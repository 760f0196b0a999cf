/* SPDX-License-Identifier: MIT */
/*
 * util.h - what every bench program shares: a clock, medians, a PRNG, the
 * result protocol and readers of /proc/self (RSS, mappings, committed bytes)
 * and sysfs (the huge page size).
 *
 * Protocol: a bench program prints one line "R <key> <value>" per measured
 * number (keys name the workload, the parameters and the allocator or
 * system call, e.g. "churn/64/1Ki/1T/mimalloc"), "I <key> <text>" for facts
 * the table quotes, and anything else as a comment. bench/run.sh takes the
 * median of each key over several processes.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

uint64_t bu_now_ns(void);

/* Median of v[0..n) (sorts v). */
double bu_median(double *v, int n);

/* Median of the paired ratios a[i] / b[i], i < n <= 64: robust to load
 * that changes between rounds, since each pair is measured back to back. */
double bu_median_ratio(const double *a, const double *b, int n);

/* xorshift64*: a fast, reproducible PRNG; *s must not be 0. */
static inline uint64_t bu_rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Print "R key value" (key built with printf formatting). */
void bu_result(double value, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Process memory as the kernel sees it. committed: bytes of anonymous or
 * memfd mappings that are not PROT_NONE (what the allocator has made
 * usable); lines: the number of mappings in /proc/self/maps. */
struct bu_mem {
    long rss;
    long committed;
    long lines;
};
void bu_mem_read(struct bu_mem *m);

/* "1Ki", "64Ki", "1Mi" or the plain number. */
const char *bu_count_name(size_t n, char buf[24]);

/* Parse a count with an optional Ki/Mi suffix; exits on garbage. */
size_t bu_parse_count(const char *s);

/* Bytes per transparent huge page (sysfs), or 0. */
size_t bu_huge_page_size(void);

/* Fatal error with errno text. */
__attribute__((noreturn, format(printf, 1, 2))) void bu_die(const char *fmt, ...);

#endif
