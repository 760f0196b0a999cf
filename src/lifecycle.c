/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c - seal, unseal, destroy and fork (see lifecycle.h).
 *
 * Fork: the prepare handler takes every lock the library has, in the order
 * of owner.h, so the child starts with consistent metadata; the child then
 * replaces the parent's /proc/self/mem descriptor (meta.h) and gives
 * write-rare owners private copies of their memfd-backed pages
 * (arena_privatize()), since a shared mapping would otherwise let the
 * child and the parent write each other's objects; the parent keeps the
 * locks and waits until the child is done. Which owners exist and which
 * spans are sealed come from read-only state (the globals' owners list,
 * the arenas' control pages): nothing writable can make the child skip an
 * owner or map a sealed page writable.
 */
#include "lifecycle.h"

#include "lock.h"
#include "magazine.h"
#include "meta.h"
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Seal (or unseal) every region of o under its lock, the fast paths
 * stopped; a success is counted. 0, or -1 + the errno of the last failure
 * (every region is tried). */
static int change_regions(struct sl_owner *o, bool seal)
{
    int rc = 0, err = 0;
    owner_lock(o);
    mag_quiesce(o, seal ? "seal" : "unseal");
    for (unsigned i = 0; i < o->n_regions; i++) {
        struct sl_region *r = &o->regions[i];
        bool slab = r->slots != 0;
        if ((seal ? region_seal(r, slab ? slab_census : NULL)
                  : region_unseal(r, slab ? slab_reopen : NULL)) != 0)
            rc = -1, err = errno;
        if (seal && slab)
            slab_after_seal(r, &o->st->cur[i]);
    }
    if (rc == 0)
        ++*(seal ? &o->st->seals : &o->st->unseals);
    owner_unlock(o);
    if (rc != 0)
        errno = err;
    return rc;
}

int lifecycle_seal(struct sl_owner *o) { return change_regions(o, true); }

int lifecycle_unseal(struct sl_owner *o)
{
    /* The regions are in the read-only descriptor (owner.h): mseal'd pages
     * cannot become writable, so a permanent owner (all its regions are)
     * is refused whole. */
    if (o->regions[0].permanent) {
        errno = EPERM;
        return -1;
    }
    return change_regions(o, false);
}

void lifecycle_destroy(struct sl_owner *o)
{
    owner_list_lock();
    owner_lock(o);
    mag_detach_all(o);
    size_t pinned = 0;
    for (unsigned i = 0; i < o->n_regions; i++)
        pinned += region_destroy(&o->regions[i]);
    struct sl_owner_state *st = o->st;
    struct sl_owner *old = owner_retire(o, pinned);
    sl_unlock(&st->lock, NULL, "owner lock");
    pthread_mutex_destroy(&st->lock);
    owner_release(old);
    owner_list_unlock();
}

/* ---- fork ---------------------------------------------------------------- */

/* Until the child has its own copies, memfd-backed pages are shared: a
 * store the parent made after fork() returned would show in the child. So
 * the parent waits, still holding every lock, until the child says it is
 * done (or dies) through this pipe. */
static int fork_sync[2] = {-1, -1};

static void quiesce_for_fork(struct sl_owner *o, void *shared)
{
    owner_lock(o);
    mag_quiesce(o, "fork"); /* no fast path is half done in the child */
    *(bool *)shared |= o->regions[0].memfd;
}

static void fork_prepare(void)
{
    owner_list_lock();
    bool shared = false;
    owner_for_each_locked(quiesce_for_fork, &shared);
    registry_lock_for_fork();
    meta_lock_for_fork();
    if (!shared || pipe2(fork_sync, O_CLOEXEC) != 0)
        fork_sync[0] = fork_sync[1] = -1;
}

static void unlock_owner(struct sl_owner *o, void *ctx)
{
    (void)ctx;
    owner_unlock(o);
}

static void fork_parent(void)
{
    meta_unlock_after_fork();
    if (fork_sync[0] >= 0) {
        int err = errno;
        char done;
        close(fork_sync[1]);
        while (read(fork_sync[0], &done, 1) < 0 && errno == EINTR)
            continue;
        close(fork_sync[0]);
        errno = err;
    }
    registry_unlock_after_fork();
    owner_for_each_locked(unlock_owner, NULL);
    owner_list_unlock();
}

/* Give each memfd-backed arena of o a new memfd holding a copy of its
 * pages, mapped over the old one with the same protections, except for
 * mseal'd spans, which cannot be remapped and stay shared with the parent
 * (write-rare refuses them in the child: see arena_privatize()). */
static void privatize_and_unlock(struct sl_owner *o, void *ctx)
{
    (void)ctx;
    for (unsigned ri = 0; ri < o->n_regions; ri++)
        if (o->regions[ri].memfd)
            for (unsigned ai = 0; ai < o->regions[ri].n_arenas; ai++)
                arena_privatize(o->regions[ri].arenas[ai]);
    owner_lock_reset(o);
}

static void fork_child(void)
{
    meta_child_after_fork();
    registry_child_after_fork();
    mag_fork_child();
    owner_for_each_locked(privatize_and_unlock, NULL);
    if (fork_sync[1] >= 0) {
        ssize_t w = write(fork_sync[1], "", 1);
        (void)w;
        close(fork_sync[0]);
        close(fork_sync[1]);
    }
    owner_list_lock_reset();
}

__attribute__((constructor)) static void fork_register(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}
