/* SPDX-License-Identifier: MIT */
/*
 * consumer.c - a program outside the tree, built only against what `make
 * install` put under a prefix (found through pkg-config), linked once with
 * the shared and once with the static library. It uses the public API the
 * way an application would and prints "consumer ok" when every step
 * behaved: a sealed object is read-only (a child that stores into it dies
 * of SIGSEGV), allocation goes on after the seal, write-rare updates work,
 * and misuse-free teardown finishes.
 */
#include <sealloc.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct policy {
    int max_sessions;
    char name[32];
};

static int fail(const char *what)
{
    fprintf(stderr, "consumer: %s\n", what);
    return 1;
}

int main(void)
{
    seal_cache *c = seal_cache_create("policies", sizeof(struct policy), 0, SEAL_WRITE_RARE);
    seal_pool *p = seal_pool_create("strings", 0);
    if (c == NULL || p == NULL)
        return fail("create");
    struct policy *pol = seal_cache_alloc(c);
    char *motd = seal_pool_strdup(p, "welcome");
    if (pol == NULL || motd == NULL)
        return fail("alloc");
    pol->max_sessions = 4;
    strcpy(pol->name, "default");
    if (seal_cache_seal(c) != 0 || seal_pool_seal(p) != 0)
        return fail("seal");
    if (!seal_is_sealed(pol) || !seal_is_sealed(motd))
        return fail("not sealed");
    seal_cache_require(c, pol);
    seal_pool_require(p, motd);

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        ((volatile struct policy *)pol)->max_sessions = 1000;
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV)
        return fail("a store into sealed memory did not fault");

    if (SEAL_ASSIGN(pol->max_sessions, 8) != 0 || pol->max_sessions != 8)
        return fail("write-rare");
    struct policy *later = seal_cache_alloc(c);
    if (later == NULL || seal_is_sealed(later))
        return fail("allocation after seal");
    later->max_sessions = 1;

    FILE *devnull = fopen("/dev/null", "w");
    seal_stats_print(devnull);
    fclose(devnull);
    seal_cache_free(c, pol);
    seal_pool_free(p, motd);
    seal_cache_destroy(c);
    seal_pool_destroy(p);
    printf("consumer ok (write-rare: %s)\n", seal_write_rare_mechanism());
    return 0;
}
