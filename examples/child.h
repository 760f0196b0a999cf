/* SPDX-License-Identifier: MIT */
/*
 * child.h - run one function in a forked child and report how it ended.
 *
 * The examples simulate memory-corruption bugs; they do it in a child so the
 * example itself survives to show what happened. child_run() captures the
 * child's stderr (where the fault handler and misuse aborts write their one
 * line) and returns the signal that killed the child, or 0 if it exited.
 */
#ifndef EXAMPLES_CHILD_H
#define EXAMPLES_CHILD_H

#include <stddef.h>

struct child_end {
    int signal;     /* the signal that killed the child, 0 if it exited */
    int status;     /* its exit status otherwise */
    char err[1024]; /* what it wrote to stderr, without the last newline */
};

/* Run fn(arg) in a forked child (which exits 0 if fn returns); fill *end. */
void child_run(void (*fn)(void *), void *arg, struct child_end *end);

/* "killed by signal 11 (Segmentation fault)" or "exited with status 0". */
const char *child_describe(const struct child_end *end);

#endif
