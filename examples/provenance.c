/* SPDX-License-Identifier: MIT */
/*
 * provenance.c - seal_cache_require() in front of every use of a sealed
 * object.
 *
 * Sealing stops stores into the credentials, but the pointers that lead to
 * them (here task->cred) live in ordinary writable memory. An attacker who
 * cannot change a sealed object can still redirect such a pointer to a
 * forged copy. So every function that trusts a credential first calls
 * seal_cache_require(creds, c), which returns only for the start of a live,
 * sealed object of that cache: a forged copy on the heap, an object not
 * sealed yet, an interior pointer or a freed object all abort, each in its
 * own forked child below, and the genuine credential passes.
 */
#include "child.h"

#include <sealloc.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define CAP_REBOOT 0x1u

struct cred {
    unsigned uid;
    unsigned caps;
    char name[24];
};

struct task {
    const char *comm;
    const struct cred *cred; /* writable: the attacker's target */
};

static seal_cache *creds;

static int may_reboot(const struct cred *c)
{
    seal_cache_require(creds, c);
    return (c->caps & CAP_REBOOT) != 0;
}

static struct cred *cred_new(unsigned uid, unsigned caps, const char *name)
{
    struct cred *c = seal_cache_alloc(creds);
    if (!c)
        perror("seal_cache_alloc"), exit(1);
    c->uid = uid;
    c->caps = caps;
    snprintf(c->name, sizeof c->name, "%s", name);
    return c;
}

static struct task victim = {"webserver", NULL};

/* Each attack redirects victim.cred, then the server checks its rights. */
static void forged_copy(void *arg)
{
    struct cred *fake = malloc(sizeof *fake);
    memcpy(fake, arg, sizeof *fake);
    fake->caps = CAP_REBOOT;
    victim.cred = fake;
    printf("%d", may_reboot(victim.cred));
}

static void unsealed(void *arg)
{
    (void)arg;
    victim.cred = cred_new(0, CAP_REBOOT, "fresh"); /* allocated after the seal */
    printf("%d", may_reboot(victim.cred));
}

static void interior(void *arg)
{
    victim.cred = (const struct cred *)((const char *)arg + sizeof(unsigned));
    printf("%d", may_reboot(victim.cred));
}

static void freed(void *arg)
{
    seal_cache_free(creds, arg);
    victim.cred = arg;
    printf("%d", may_reboot(victim.cred));
}

int main(void)
{
    creds = seal_cache_create("creds", sizeof(struct cred), 0, 0);
    if (!creds)
        return perror("seal_cache_create"), 1;
    struct cred *root = cred_new(0, CAP_REBOOT, "root");
    struct cred *www = cred_new(33, 0, "www-data");
    if (seal_cache_seal(creds) != 0)
        return perror("seal_cache_seal"), 1;
    victim.cred = www;
    printf("provenance: %s runs as %s; may reboot: %d\n", victim.comm, victim.cred->name,
           may_reboot(victim.cred));
    printf("             root may reboot: %d\n", may_reboot(root));

    static const struct {
        const char *what;
        void (*attack)(void *);
    } attacks[] = {
        {"task->cred = a forged copy on the heap", forged_copy},
        {"task->cred = a credential not sealed yet", unsealed},
        {"task->cred = a pointer into the middle of one", interior},
        {"task->cred = a freed credential", freed},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        struct child_end end;
        child_run(attacks[i].attack, root, &end);
        printf("attack: %s\n  stderr: %s\n  child: %s\n", attacks[i].what, end.err,
               child_describe(&end));
        ok &= end.signal == SIGABRT && strncmp(end.err, "sealloc:", 8) == 0;
    }
    printf("after the attacks: %s may reboot: %d\n", victim.comm, may_reboot(victim.cred));
    seal_cache_destroy(creds);
    return ok ? 0 : 1;
}
