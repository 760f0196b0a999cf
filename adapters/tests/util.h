/* SPDX-License-Identifier: MIT */
/*
 * util.h - what every adapter test needs on top of tests/harness/check.h:
 * read a Debian-shipped input file, and show that a store into sealed
 * memory faults (in a forked child, with the fault handler's line).
 */
#ifndef SEALLOC_ADAPTERS_TEST_UTIL_H
#define SEALLOC_ADAPTERS_TEST_UTIL_H

#include "check.h"

#include <sealloc.h>

#define ISO_JSON "/usr/share/iso-codes/json/"
#define ISO_XML "/usr/share/xml/iso-codes/"

/* The whole file, NUL-terminated, in malloc'd memory; *len its size. NULL
 * if it cannot be read. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = 0;
        if (len)
            *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

static void poke(void *addr)
{
    seal_fault_handler_install();
    *(volatile char *)addr ^= 1;
}

/* True if a store to addr dies of SIGSEGV with the handler naming pool. */
static inline bool store_faults(void *addr, const char *pool)
{
    char needle[128];
    snprintf(needle, sizeof needle, "sealloc: write to sealed memory: pool \"%s\"", pool);
    return expect_death(poke, addr, SIGSEGV, needle);
}

#endif
