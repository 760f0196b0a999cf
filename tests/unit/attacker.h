/* SPDX-License-Identifier: MIT */
/*
 * attacker.h - the data-only attacker of README "Security", as tests play
 * it: it knows every address and can write any byte that /proc/self/maps
 * shows writable at that moment, and nothing else.
 *
 * forge() stores only if every byte of the target lies in a mapping that is
 * writable now, and says whether it did; a test then either shows the
 * library stopping the forged state (abort with a "sealloc:" message, a
 * fault on a read-only page) or shows the target was never writable.
 * page_writable() reads the same table for a check after the fact, and
 * store_faults() tries a store in a child.
 */
#ifndef SEALLOC_ATTACKER_H
#define SEALLOC_ATTACKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The permissions ("rw-p", ...) of the mapping holding addr, in perms[5];
 * false if addr is not mapped. */
static inline bool mapping_perms(uintptr_t addr, char perms[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi)
            found = true;
    }
    fclose(f);
    return found;
}

static inline bool page_writable(const void *p)
{
    char perms[5];
    return mapping_perms((uintptr_t)p, perms) && perms[1] == 'w';
}

static inline bool range_writable(const void *p, size_t n)
{
    return page_writable(p) && page_writable((const char *)p + n - 1);
}

/* Write n bytes of v at p if the attacker can; true if it did. */
static inline bool forge(void *p, const void *v, size_t n)
{
    if (!range_writable(p, n))
        return false;
    memcpy(p, v, n);
    return true;
}

/* Whether a store to p dies of SIGSEGV (tried in a forked child). */
static inline bool store_faults(void *p)
{
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile unsigned char *)p = 0xee;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
}

#define FORGE(lvalue, value)                                                       \
    ({                                                                             \
        __typeof__(lvalue) forged_value_ = (value);                                \
        forge((void *)&(lvalue), &forged_value_, sizeof forged_value_);            \
    })

#endif
