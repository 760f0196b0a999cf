/* SPDX-License-Identifier: MIT */
/*
 * owner.c - owner descriptors: creation, validation, the list of live
 * owners and the destroy quarantine (see owner.h).
 *
 * The owners list is a mapping of its own, read-only like the descriptors;
 * its address, size and count, the quarantine and the pinned-bytes count
 * are fields of the read-only globals (meta.h). They change under
 * `owners_lock`, the first lock in the order.
 */
#include "owner.h"

#include "lock.h"
#include "mechanism.h"
#include "meta.h"
#include "os.h"
#include "sealloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

const char *owner_kind(const struct sl_owner *o)
{
    return o->magic == OWNER_POOL ? "pool" : "cache";
}

void owner_fatal(const struct sl_owner *o, const char *call, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    struct sl_who who = {owner_kind(o), o->name};
    sl_report(&who, call, "%s", what);
}

int owner_check_flags(unsigned flags)
{
    if (flags & ~SL_VALID_FLAGS) {
        errno = EINVAL;
        return -1;
    }
    if ((flags & SEAL_PERMANENT) && !sl_os_has_mseal()) {
        errno = ENOTSUP;
        return -1;
    }
    if ((flags & (SEAL_PERMANENT | SEAL_WRITE_RARE)) == (SEAL_PERMANENT | SEAL_WRITE_RARE) &&
        !wr_supports_permanent()) {
        errno = ENOTSUP;
        return -1;
    }
    return 0;
}

static size_t desc_bytes(unsigned n_regions)
{
    return round_up(sizeof(struct sl_owner) + n_regions * sizeof(struct sl_region),
                    sl_os_page_size());
}

static size_t state_bytes(unsigned n_regions)
{
    return round_up(sizeof(struct sl_owner_state) + n_regions * sizeof(struct sl_cursor),
                    sl_os_page_size());
}

/* With the owners-list lock held: a descriptor slot, reserved on first
 * use; NULL + ENOMEM when every slot is taken. */
static unsigned char *slot_take(void)
{
    const struct sl_globals *g = SL_G;
    size_t i;
    if (g->n_owner_free > 0) {
        uint32_t n = g->n_owner_free - 1;
        i = g->owner_free[n];
        meta_globals_write(&SL_G->n_owner_free, &n, sizeof n); /* read under the lock only */
        return (unsigned char *)g->owner_base + i * OWNER_SLOT;
    }
    /* owner_validate() reads both without a lock: atomic stores. */
    if (g->owner_base == NULL) {
        void *base = sl_os_reserve((size_t)OWNER_SLOTS * OWNER_SLOT, -1);
        if (base == NULL)
            return NULL;
        __atomic_store_n(&meta_globals_begin()->owner_base, base, __ATOMIC_RELEASE);
        meta_globals_end();
    }
    if ((i = g->owner_used) == OWNER_SLOTS) {
        errno = ENOMEM;
        return NULL;
    }
    __atomic_store_n(&meta_globals_begin()->owner_used, i + 1, __ATOMIC_RELEASE);
    meta_globals_end();
    return (unsigned char *)g->owner_base + i * OWNER_SLOT;
}

/* With the owners-list lock held: the slot at map gives its memory back
 * and can be taken again (dropped, if the free list is full). */
static void slot_give_back(void *map)
{
    if (sl_os_discard(map, OWNER_SLOT, -1, 0) != 0)
        return; /* still mapped: leave it out of the free list */
    size_t i = (size_t)((unsigned char *)map - (unsigned char *)SL_G->owner_base) / OWNER_SLOT;
    struct sl_globals *g = meta_globals_begin();
    if (g->n_owner_free < sizeof g->owner_free / sizeof g->owner_free[0])
        g->owner_free[g->n_owner_free++] = (uint32_t)i;
    meta_globals_end();
}

struct sl_owner *owner_create(uint64_t magic, const char *name, unsigned flags, unsigned n_regions)
{
    size_t d = desc_bytes(n_regions), s = state_bytes(n_regions);
    /* [desc: read-only][state][guard...]: the read-only descriptor already
     * stops stray stores on its side; the rest of the slot stays reserved. */
    if (d + s + sl_os_page_size() > OWNER_SLOT) {
        errno = EINVAL;
        return NULL;
    }
    sl_lock(&owners_lock, NULL, "owners lock");
    unsigned char *map = slot_take();
    int err = errno;
    if (map != NULL && (sl_os_commit(map, d) != 0 || sl_os_commit(map + d, s) != 0)) {
        err = errno;
        slot_give_back(map);
        map = NULL;
    }
    sl_unlock(&owners_lock, NULL, "owners lock");
    if (map == NULL) {
        errno = err;
        return NULL;
    }
    struct sl_owner *o = (struct sl_owner *)map;
    struct sl_owner_state *st = (struct sl_owner_state *)(map + d);
    o->magic = magic;
    snprintf(o->name, sizeof o->name, "%s", name);
    o->who = (struct sl_who){owner_kind(o), o->name};
    o->flags = flags;
    o->st = st;
    o->map = map;
    o->n_regions = n_regions;
    bool write_rare = flags & SEAL_WRITE_RARE;
    for (unsigned i = 0; i < n_regions; i++) {
        o->regions[i] = (struct sl_region){
            .cls = i,
            .who = o->who,
            .owner = o,
            .permanent = flags & SEAL_PERMANENT,
            .write_rare = write_rare,
            .memfd = write_rare && wr_wants_memfd(),
            .pkey = write_rare ? wr_pkey() : -1,
            .home = o,
            .home_len = d,
        };
        st->cur[i].unit = UINT32_MAX;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    /* Critical sections are a few hundred instructions: spin a little
     * before sleeping. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&st->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    return o;
}

/* Room for one more owner in the list: it grows by doubling into a new
 * read-only mapping. 0, or -1. */
static int owners_reserve_slot(void)
{
    const struct sl_globals *g = SL_G;
    if ((g->n_owners + 1) * sizeof(struct sl_owner *) <= g->owners_bytes)
        return 0;
    size_t bytes = g->owners_bytes ? g->owners_bytes * 2 : round_up(4096, sl_os_page_size());
    struct sl_owner **grown = sl_os_reserve(bytes, -1);
    if (grown == NULL || sl_os_commit(grown, bytes) != 0) {
        if (grown != NULL)
            sl_os_release(grown, bytes);
        return -1;
    }
    if (g->owners != NULL)
        memcpy(grown, g->owners, g->n_owners * sizeof *grown);
    meta_close(grown, bytes);
    struct sl_owner **old = g->owners;
    size_t old_bytes = g->owners_bytes;
    struct sl_globals *w = meta_globals_begin();
    w->owners = grown;
    w->owners_bytes = bytes;
    meta_globals_end();
    if (old != NULL)
        sl_os_release(old, old_bytes);
    return 0;
}

/* Store o at index i of the owners list. */
static void owners_set(size_t i, struct sl_owner *o)
{
    meta_write(&SL_G->owners[i], &o, sizeof o);
}

/* The count is read under the owners-list lock only: one kernel-mediated
 * copy, no window. */
static void owners_count(size_t n)
{
    meta_globals_write(&SL_G->n_owners, &n, sizeof n);
}

int owner_publish(struct sl_owner *o)
{
    sl_lock(&owners_lock, NULL, "owners lock");
    int rc = owners_reserve_slot();
    if (rc == 0) {
        meta_close(o, desc_bytes(o->n_regions));
        size_t n = SL_G->n_owners;
        owners_set(n, o);
        owners_count(n + 1);
    } else {
        errno = ENOMEM;
    }
    sl_unlock(&owners_lock, NULL, "owners lock");
    return rc;
}

void owner_discard(struct sl_owner *o)
{
    int err = errno;
    for (unsigned i = 0; i < o->n_regions; i++)
        region_destroy(&o->regions[i]);
    pthread_mutex_destroy(&o->st->lock);
    sl_lock(&owners_lock, NULL, "owners lock");
    slot_give_back(o->map);
    sl_unlock(&owners_lock, NULL, "owners lock");
    errno = err;
}

void owner_invalid(const void *handle, uint64_t magic, const char *call)
{
    const struct sl_owner *o = handle;
    const char *kind = magic == OWNER_POOL ? "pool" : "cache";
    if (o == NULL)
        sl_fatal(call, kind, "(null)", "NULL handle");
    if (o->magic == OWNER_DEAD)
        sl_fatal(call, kind, o->name, "use of a destroyed %s", kind);
    sl_fatal(call, kind, "?", "%p is not a %s handle", handle, kind);
}

void owner_lock(struct sl_owner *o) { sl_lock(&o->st->lock, &o->who, "owner lock"); }
void owner_unlock(struct sl_owner *o) { sl_unlock(&o->st->lock, &o->who, "owner lock"); }

void owner_list_lock(void) { sl_lock(&owners_lock, NULL, "owners lock"); }
void owner_list_unlock(void) { sl_unlock(&owners_lock, NULL, "owners lock"); }

void owner_lock_reset(struct sl_owner *o) { sl_lock_reset(&o->st->lock); }
void owner_list_lock_reset(void) { sl_lock_reset(&owners_lock); }

struct sl_owner *owner_retire(struct sl_owner *o, size_t pinned)
{
    const struct sl_globals *g = SL_G;
    size_t n = g->n_owners;
    for (size_t i = 0; i < n; i++)
        if (g->owners[i] == o) {
            owners_set(i, g->owners[n - 1]);
            owners_count(n - 1);
            break;
        }
    size_t d = desc_bytes(o->n_regions);
    meta_open(o, d);
    o->magic = OWNER_DEAD;
    memset(o->regions, 0, o->n_regions * sizeof o->regions[0]);
    meta_close(o, d);
    struct sl_globals *w = meta_globals_begin();
    struct sl_owner *old = w->quarantine[w->quarantine_next];
    w->quarantine[w->quarantine_next] = o;
    w->quarantine_next = (w->quarantine_next + 1) % SL_QUARANTINE;
    w->pinned_after_destroy += pinned;
    meta_globals_end();
    return old;
}

void owner_release(struct sl_owner *old)
{
    if (old != NULL)
        slot_give_back(old->map);
}

bool owner_is_listed(const struct sl_owner *o)
{
    for (size_t i = 0; i < SL_G->n_owners; i++)
        if (SL_G->owners[i] == o)
            return true;
    return false;
}

void owner_for_each_locked(void (*fn)(struct sl_owner *, void *), void *ctx)
{
    for (size_t i = 0; i < SL_G->n_owners; i++)
        fn(SL_G->owners[i], ctx);
}

void owner_for_each(void (*fn)(struct sl_owner *, void *), void *ctx)
{
    sl_lock(&owners_lock, NULL, "owners lock");
    owner_for_each_locked(fn, ctx);
    sl_unlock(&owners_lock, NULL, "owners lock");
}

size_t owner_pinned_after_destroy(void)
{
    sl_lock(&owners_lock, NULL, "owners lock");
    size_t n = SL_G->pinned_after_destroy;
    sl_unlock(&owners_lock, NULL, "owners lock");
    return n;
}
