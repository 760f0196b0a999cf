/*
 * owner.c - owner descriptors: creation, validation, protection, the list
 * of live owners, destruction with quarantine, and fork handling.
 *
 * The owners list and the quarantine are protected by `owners_lock`, the
 * first lock in the order (owner.h). At fork, the prepare handler takes
 * every lock the library has in that order, so the child starts with
 * consistent metadata; the child then gives write-rare owners private
 * copies of their memfd-backed pages (fork_child_privatize), since a shared
 * mapping would otherwise let the child and the parent write each other's
 * objects; the parent keeps the locks and waits until the child is done.
 */
#include "owner.h"

#include "guard.h"
#include "magazine.h"
#include "os.h"
#include "registry.h"
#include "sealloc.h"
#include "slab.h"
#include "writerare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define QUARANTINE 64

static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_owner **owners;   /* live owners, in a mapping of our own */
static size_t n_owners, cap_owners;
static struct sl_owner *quarantine[QUARANTINE];
static unsigned quarantine_next;
static size_t pinned_after_destroy;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

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
    char fn[48];
    snprintf(fn, sizeof fn, "seal_%s_%s", owner_kind(o), call);
    sl_fatal(fn, owner_kind(o), o->name, "%s", what);
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

static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);
static void fork_register(void) { pthread_atfork(fork_prepare, fork_parent, fork_child); }

struct sl_owner *owner_create(uint64_t magic, const char *name, unsigned flags, unsigned n_regions)
{
    pthread_once(&fork_once, fork_register);
    size_t pg = sl_os_page_size();
    size_t d = desc_bytes(n_regions), s = state_bytes(n_regions);
    /* [desc: read-only][state][guard]: the read-only descriptor already
     * stops stray stores on its side, so one guard page ends the mapping. */
    size_t total = d + s + pg;
    unsigned char *map = sl_os_reserve(total, -1);
    if (map == NULL)
        return NULL;
    struct sl_owner *o = (struct sl_owner *)map;
    struct sl_owner_state *st = (struct sl_owner_state *)(map + d);
    if (sl_os_commit(o, d) != 0 || sl_os_commit(st, s) != 0) {
        int err = errno;
        sl_os_release(map, total);
        errno = err;
        return NULL;
    }
    o->magic = magic;
    snprintf(o->name, sizeof o->name, "%s", name);
    o->flags = flags;
    o->memfd_backed = (flags & SEAL_WRITE_RARE) && wr_wants_memfd();
    o->pkey = (flags & SEAL_WRITE_RARE) ? wr_pkey() : -1;
    o->st = st;
    o->map = map;
    o->map_size = total;
    o->n_regions = n_regions;
    for (unsigned i = 0; i < n_regions; i++) {
        o->regions[i].cls = i;
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

/* The owners array grows by doubling in a mapping of its own. */
static int owners_reserve_slot(void)
{
    if (n_owners < cap_owners)
        return 0;
    size_t cap = cap_owners ? cap_owners * 2 : 512;
    size_t bytes = round_up(cap * sizeof *owners, sl_os_page_size());
    struct sl_owner **grown = sl_os_reserve(bytes, -1);
    if (grown == NULL || sl_os_commit(grown, bytes) != 0) {
        if (grown != NULL)
            sl_os_release(grown, bytes);
        return -1;
    }
    if (owners != NULL) {
        memcpy(grown, owners, n_owners * sizeof *owners);
        sl_os_release(owners, round_up(cap_owners * sizeof *owners, sl_os_page_size()));
    }
    owners = grown;
    cap_owners = bytes / sizeof *owners;
    return 0;
}

int owner_publish(struct sl_owner *o)
{
    pthread_mutex_lock(&owners_lock);
    int rc = owners_reserve_slot();
    if (rc == 0) {
        owner_protect(o);
        owners[n_owners++] = o;
    } else {
        errno = ENOMEM;
    }
    pthread_mutex_unlock(&owners_lock);
    return rc;
}

void owner_discard(struct sl_owner *o)
{
    int err = errno;
    for (unsigned i = 0; i < o->n_regions; i++)
        region_destroy(o, &o->regions[i]);
    pthread_mutex_destroy(&o->st->lock);
    sl_os_release(o->map, o->map_size);
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

void owner_unprotect(struct sl_owner *o)
{
    /* The descriptor is its own pages: the change splits and merges no
     * foreign mapping, so only an injected failure is plausible; retry. */
    size_t d = desc_bytes(o->n_regions);
    if (sl_os_commit(o, d) != 0 && sl_os_commit(o, d) != 0)
        owner_fatal(o, "update", "cannot make the descriptor writable");
}

void owner_protect(struct sl_owner *o)
{
    size_t d = desc_bytes(o->n_regions);
    if (sl_os_protect_ro(o, d) != 0 && sl_os_protect_ro(o, d) != 0)
        owner_fatal(o, "update", "cannot make the descriptor read-only");
}

void owner_lock(struct sl_owner *o) { pthread_mutex_lock(&o->st->lock); }
void owner_unlock(struct sl_owner *o) { pthread_mutex_unlock(&o->st->lock); }

void owner_list_lock(void) { pthread_mutex_lock(&owners_lock); }
void owner_list_unlock(void) { pthread_mutex_unlock(&owners_lock); }

int owner_seal(struct sl_owner *o)
{
    int rc = 0, err = 0;
    owner_lock(o);
    mag_quiesce(o, "seal");
    for (unsigned i = 0; i < o->n_regions; i++) {
        if (region_seal(o, &o->regions[i]) != 0)
            rc = -1, err = errno;
        if (o->regions[i].slots != 0)
            slab_after_seal(&o->regions[i], &o->st->cur[i]);
    }
    if (rc == 0)
        o->st->seals++;
    owner_unlock(o);
    if (rc != 0)
        errno = err;
    return rc;
}

void owner_destroy(struct sl_owner *o)
{
    pthread_mutex_lock(&owners_lock);
    for (size_t i = 0; i < n_owners; i++)
        if (owners[i] == o) {
            owners[i] = owners[--n_owners];
            break;
        }
    owner_lock(o);
    mag_detach_all(o);
    size_t pinned = 0;
    for (unsigned i = 0; i < o->n_regions; i++)
        pinned += region_destroy(o, &o->regions[i]);
    pinned_after_destroy += pinned;
    owner_unprotect(o);
    o->magic = OWNER_DEAD;
    memset(o->regions, 0, o->n_regions * sizeof o->regions[0]);
    owner_protect(o);
    owner_unlock(o);
    pthread_mutex_destroy(&o->st->lock);
    struct sl_owner *old = quarantine[quarantine_next];
    quarantine[quarantine_next] = o;
    quarantine_next = (quarantine_next + 1) % QUARANTINE;
    pthread_mutex_unlock(&owners_lock);
    if (old != NULL)
        sl_os_release(old->map, old->map_size);
}

void owner_for_each(void (*fn)(struct sl_owner *, void *), void *ctx)
{
    pthread_mutex_lock(&owners_lock);
    for (size_t i = 0; i < n_owners; i++)
        fn(owners[i], ctx);
    pthread_mutex_unlock(&owners_lock);
}

size_t owner_pinned_after_destroy(void)
{
    pthread_mutex_lock(&owners_lock);
    size_t n = pinned_after_destroy;
    pthread_mutex_unlock(&owners_lock);
    return n;
}

/* ---- fork ---------------------------------------------------------------- */

/* Until the child has its own copies, memfd-backed pages are shared: a
 * store the parent made after fork() returned would show in the child. So
 * the parent waits, still holding every lock, until the child says it is
 * done (or dies) through this pipe. */
static int fork_sync[2] = {-1, -1};

static void fork_prepare(void)
{
    pthread_mutex_lock(&owners_lock);
    bool shared = false;
    for (size_t i = 0; i < n_owners; i++) {
        owner_lock(owners[i]);
        mag_quiesce(owners[i], "fork"); /* no fast path is half done in the child */
        shared |= owners[i]->memfd_backed;
    }
    registry_lock_for_fork();
    if (!shared || pipe2(fork_sync, O_CLOEXEC) != 0)
        fork_sync[0] = fork_sync[1] = -1;
}

static void fork_parent(void)
{
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
    for (size_t i = n_owners; i-- > 0;)
        owner_unlock(owners[i]);
    pthread_mutex_unlock(&owners_lock);
}

/* Give each memfd-backed arena of o a new memfd holding a copy of its
 * pages, mapped over the old one with the same protections, except for
 * mseal'd spans, which cannot be remapped and stay shared with the parent
 * (write-rare refuses them in the child: see arena_privatize()). */
static void fork_child_privatize(struct sl_owner *o)
{
    for (unsigned ri = 0; ri < o->n_regions; ri++)
        for (unsigned ai = 0; ai < o->regions[ri].n_arenas; ai++)
            arena_privatize(o->regions[ri].arenas[ai]);
}

static void fork_child(void)
{
    sl_os_fork_child();
    registry_child_after_fork();
    mag_fork_child();
    for (size_t i = n_owners; i-- > 0;) {
        if (owners[i]->memfd_backed)
            fork_child_privatize(owners[i]);
        owner_unlock(owners[i]);
    }
    if (fork_sync[1] >= 0) {
        ssize_t w = write(fork_sync[1], "", 1);
        (void)w;
        close(fork_sync[0]);
        close(fork_sync[1]);
    }
    pthread_mutex_unlock(&owners_lock);
}
