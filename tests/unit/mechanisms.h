/* SPDX-License-Identifier: MIT */
/*
 * mechanisms.h - run a test program's tests under every write-rare
 * mechanism (include after check.h).
 *
 * The mechanism is chosen once, at load time, from SEALLOC_WRITE_RARE, so
 * each_mechanism() runs the tests with the library's own choice, then
 * starts the program again (in a run_in_child() child) under each other
 * mechanism, copying its PASS/FAIL/SKIP lines with the test names prefixed
 * by the mechanism ("procmem/cache_objects"). A mechanism this machine
 * lacks is reported as one SKIP line with the reason. With
 * SEALLOC_TEST_CHOICE_ONLY=1 in the environment only the library's choice
 * runs (tests/guest/init: the emulated CPU is slow, and the host runs the
 * others).
 */
#ifndef SEALLOC_MECHANISMS_H
#define SEALLOC_MECHANISMS_H

#include "sealloc.h"

static const char *mechanisms_self;

/* In the child: stdout joins the captured stderr; start again. */
static void mechanisms_exec(void *name)
{
    dup2(STDERR_FILENO, STDOUT_FILENO);
    setenv("SEALLOC_WRITE_RARE", name, 1);
    char *argv[] = {(char *)mechanisms_self, name, NULL};
    execv(mechanisms_self, argv);
    _exit(127);
}

static void mechanisms_rerun(const char *name)
{
    struct death d;
    run_in_child(mechanisms_exec, (void *)name, &d);
    int results = 0;
    for (char *line = strtok(d.err, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "PASS ", 5) == 0 || strncmp(line, "FAIL ", 5) == 0 ||
            strncmp(line, "SKIP ", 5) == 0) {
            printf("%.5s%s/%s\n", line, name, line + 5);
            results++;
        } else {
            printf("%s\n", line);
        }
    }
    if (d.signal != 0 || d.status != 0 || results == 0) {
        printf("FAIL %s: the run under SEALLOC_WRITE_RARE=%s ended with signal %d, status %d\n",
               name, name, d.signal, d.status);
        check_total_failed++;
    }
    fflush(stdout);
}

/* main() of a program whose tests run_all() runs; returns its exit code. */
static inline int each_mechanism(int argc, char **argv, void (*run_all)(void))
{
    const char *mine = seal_write_rare_mechanism();
    mechanisms_self = argv[0];
    if (argc > 1) {
        if (strcmp(argv[1], mine) != 0) {
            printf("SKIP all: this system has no \"%s\" write-rare mechanism (using %s)\n",
                   argv[1], mine);
            return 0;
        }
        printf("--- mechanism %s\n", mine);
        run_all();
        return check_exit();
    }
    printf("--- mechanism %s (the library's choice)\n", mine);
    run_all();
    if (getenv("SEALLOC_TEST_CHOICE_ONLY") != NULL)
        return check_exit();
    const char *all[] = {"pkey", "memfd", "procmem"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i], mine) != 0)
            mechanisms_rerun(all[i]);
    return check_exit();
}

#endif
