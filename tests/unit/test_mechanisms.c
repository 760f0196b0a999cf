/* SPDX-License-Identifier: MIT */
/*
 * test_mechanisms.c - each write-rare mechanism, one per process.
 *
 * The mechanism is chosen once per process, so the test re-runs itself
 * with SEALLOC_WRITE_RARE set to each name and checks, in that child:
 * which mechanism was chosen, that a sealed object is updated by
 * seal_write and stays sealed (a direct store still faults), that
 * permanently sealed write-rare objects are updatable too, and what
 * seal_write_ptr promises (atomic store, or ENOTSUP for procmem). The pkey
 * mechanism needs a CPU and kernel with protection keys; where pkey_alloc
 * fails it is skipped with the reason. Without SEALLOC_WRITE_RARE the
 * library uses memfd, on every CPU.
 */
#include "check.h"
#include "sealloc.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

static long *sealed_long(unsigned flags)
{
    seal_cache *c = seal_cache_create("mech", sizeof(long) * 4, 0, SEAL_WRITE_RARE | flags);
    if (c == NULL)
        return NULL;
    long *v = seal_cache_alloc(c);
    v[0] = 1;
    seal_cache_seal(c);
    return v;
}

static void store(void *p) { *(volatile long *)p = 99; }

/* Runs in the re-executed child: exit status 0 means every check held. */
static int check_mechanism(const char *want)
{
    int bad = 0;
    if (strcmp(seal_write_rare_mechanism(), want) != 0) {
        fprintf(stderr, "chose %s, wanted %s\n", seal_write_rare_mechanism(), want);
        return 2;
    }
    unsigned variants[] = {0, SEAL_PERMANENT};
    for (int i = 0; i < 2; i++) {
        long *v = sealed_long(variants[i]);
        bad |= v == NULL;
        if (v == NULL)
            continue;
        bad |= SEAL_ASSIGN(v[1], 42L) != 0 || v[1] != 42 || v[0] != 1 || v[2] != 0;
        bad |= seal_is_sealed(v) != 1;
        bad |= !expect_death(store, v + 1, SIGSEGV, NULL);
        int rc = seal_write_ptr(v + 2, v);
        if (strcmp(want, "procmem") == 0)
            bad |= rc != -1 || errno != ENOTSUP;
        else
            bad |= rc != 0 || v[2] != (long)(intptr_t)v;
    }
    return bad;
}

static void run_with(const char *mech)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "SEALLOC_WRITE_RARE=%s /proc/%d/exe --child %s", mech, getpid(), mech);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void memfd_mechanism(void) { run_with("memfd"); }
static void procmem_mechanism(void) { run_with("procmem"); }

static void pkey_mechanism(void)
{
    int key = pkey_alloc(0, 0);
    if (key < 0)
        SKIP("no protection keys here (pkey_alloc: %s)", strerror(errno));
    pkey_free(key);
    run_with("pkey");
}

/* memfd, unless SEALLOC_WRITE_RARE asks for procmem or opts in to pkey
 * (which needs protection keys): pkey is never chosen on its own. */
static void choice_follows_environment(void)
{
    const char *want = getenv("SEALLOC_WRITE_RARE");
    int key = pkey_alloc(0, PKEY_DISABLE_ACCESS);
    if (key >= 0)
        pkey_free(key);
    const char *expect = "memfd";
    if (want != NULL && strcmp(want, "procmem") == 0)
        expect = "procmem";
    else if (want != NULL && strcmp(want, "pkey") == 0 && key >= 0)
        expect = "pkey";
    CHECK(strcmp(seal_write_rare_mechanism(), expect) == 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return check_mechanism(argv[2]);
    RUN(choice_follows_environment);
    RUN(memfd_mechanism);
    RUN(procmem_mechanism);
    RUN(pkey_mechanism);
    return check_exit();
}
