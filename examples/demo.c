/* SPDX-License-Identifier: MIT */
/*
 * demo.c - `make demo`: sealloc's whole idea in one run.
 *
 * Reads an access policy (rules, strings) into a write-rare pool and builds
 * a dispatch table of function pointers in a permanent cache, seals both,
 * prints the stats table, then lets two simulated memory-corruption bugs
 * (forked children with the fault handler installed) write into the sealed
 * data: each dies of SIGSEGV after one attribution line, and the parent's
 * policy is unchanged. Finally one rule is updated the legitimate way,
 * through write-rare. Exits 0 only if every step behaved as described.
 */
#include "child.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct policy *pol;
static struct dispatch *table;
static int failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        printf("  !! unexpected: %s\n", what);
        failures++;
    }
}

static void ask(const char *user, const char *path)
{
    const struct rule *r = policy_match(pol, user, path);
    printf("    %-7s %-22s -> %-13s (rule %td)\n", user, path,
           policy_decide(pol, table, user, path), r ? r - pol->rule : -1);
}

static void bug_flip_rule(void *arg)
{
    (void)arg;
    seal_fault_handler_install();
    *(volatile enum action *)&pol->rule[0].action = ACT_ALLOW; /* deny -> allow */
}

static void bug_hijack_dispatch(void *arg)
{
    (void)arg;
    seal_fault_handler_install();
    *(action_fn volatile *)&table->fn[ACT_DENY] = table->fn[ACT_ALLOW];
}

static void attack(const char *story, void (*bug)(void *))
{
    struct child_end end;
    printf("  %s\n", story);
    child_run(bug, NULL, &end);
    printf("    child's stderr: %s\n", end.err[0] ? end.err : "(nothing)");
    printf("    child:          %s\n", child_describe(&end));
    expect(end.signal == SIGSEGV && strstr(end.err, "sealloc: write to sealed memory"),
           "the child should die of SIGSEGV after the handler's line");
}

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "examples/data/policy.rules";
    printf("sealloc demo: sealing data a program builds at run time\n\n");

    printf("1. Build the policy from %s into a SEAL_WRITE_RARE pool\n", file);
    pol = policy_load(file, "policy", SEAL_WRITE_RARE);
    if (!pol)
        return 1;
    policy_print(pol, stdout);
    unsigned dflags = SEAL_PERMANENT;
    seal_cache *dcache = seal_cache_create("dispatch", sizeof(struct dispatch), 0, dflags);
    if (!dcache && errno == ENOTSUP) {
        printf("  (this kernel has no mseal(2): the dispatch table is sealed, not permanently)\n");
        dflags = 0;
        dcache = seal_cache_create("dispatch", sizeof(struct dispatch), 0, dflags);
    }
    table = dcache ? dispatch_create(dcache) : NULL;
    if (!table)
        return perror("dispatch table"), 1;
    printf("  dispatch table: %d function pointers (allow, deny, log) in cache \"dispatch\"%s\n\n",
           ACT_COUNT, dflags ? " (SEAL_PERMANENT)" : "");

    printf("2. Seal: seal_pool_seal(policy), seal_cache_seal(dispatch)\n");
    expect(policy_seal(pol) == 0 && seal_cache_seal(dcache) == 0, "seal");
    printf("  seal_is_sealed(rule 0) = %d, seal_is_sealed(dispatch) = %d\n",
           seal_is_sealed(&pol->rule[0]), seal_is_sealed(table));
    int zero = open("/dev/zero", O_RDONLY);
    ssize_t got = read(zero, &pol->rule[0], sizeof pol->rule[0]);
    printf("  even the kernel may not write it: read(/dev/zero -> rule 0) = %zd (%s)\n\n", got,
           got < 0 ? strerror(errno) : "no error");
    expect(got < 0 && errno == EFAULT, "read(2) into sealed memory should fail with EFAULT");
    close(zero);
    seal_stats_print(stdout);

    printf("\n3. Serve requests from the sealed policy\n");
    ask("alice", "/srv/www/index.html");
    ask("mallory", "/etc/shadow");
    printf("\n4. A memory-corruption bug strikes (simulated in a forked child with\n"
           "   seal_fault_handler_install())\n");
    attack("bug A: a stray write turns rule 0 (deny /etc/shadow) into allow", bug_flip_rule);
    printf("    (the rule array is one pool allocation; offset 0 is rule 0's .action)\n");
    attack("bug B: the classic overwrite, dispatch->fn[deny] = do_allow", bug_hijack_dispatch);
    printf("    (object 0 of the cache; offset %zu is fn[deny])\n",
           (size_t)ACT_DENY * sizeof(action_fn));
    printf("  the parent's policy is untouched:\n");
    ask("mallory", "/etc/shadow");

    printf("\n5. Update one rule the legitimate way: write-rare (mechanism: %s)\n",
           seal_write_rare_mechanism());
    struct rule *www = (struct rule *)policy_match(pol, "alice", "/srv/www/");
    printf("  before: rule %td limit %d/min\n", www - pol->rule, www->limit);
    int rc = SEAL_ASSIGN(www->limit, 1200);
    printf("  SEAL_ASSIGN(rule->limit, 1200) = %d\n", rc);
    printf("  after:  rule %td limit %d/min, still sealed: %d\n", www - pol->rule, www->limit,
           seal_is_sealed(&www->limit));
    expect(rc == 0 && www->limit == 1200 && seal_is_sealed(&www->limit), "write-rare update");
    int on_stack = 0;
    rc = seal_write(&on_stack, &rc, sizeof rc);
    printf("  the path is checked: seal_write(a stack variable) = %d (%s)\n", rc,
           strerror(errno));
    rc = SEAL_ASSIGN(table->fn[ACT_DENY], table->fn[ACT_ALLOW]);
    printf("  and honours the owner: SEAL_ASSIGN(dispatch->fn[deny], ...) = %d (%s)\n", rc,
           strerror(errno));
    expect(rc == -1 && errno == EPERM, "the dispatch cache is not write-rare");

    policy_destroy(pol);
    seal_cache_destroy(dcache);
    printf("\n%s\n", failures ? "demo FAILED" : "demo finished: every step behaved as described");
    return failures ? 1 : 0;
}
