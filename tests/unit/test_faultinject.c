/* SPDX-License-Identifier: MIT */
/*
 * test_faultinject.c - every os-layer call of a scripted workload, made to
 * fail in turn (sl_os_inject_failure), must surface as a documented error
 * or be absorbed, and must leave the library usable, consistent and
 * leak-free.
 *
 * The workload uses six owners at once (plain, write-rare and permanent
 * caches, write-rare and permanent pools): it creates them, fills
 * thousands of objects, seals, allocates again, writes rarely, frees
 * whole slabs (reclaim, pinning), reallocates a sealed allocation, seals
 * again, unseals two owners (teardown), writes and frees there, seals
 * them once more and destroys everything. Each call that fails must fail with NULL
 * or -1 and an errno the os layer can give (ENOMEM, EIO, EMFILE); it is
 * then retried once (the injected failure is one-shot) and must succeed.
 * After a failed seal, every object must be sealed exactly when its page is
 * read-only (asked of the kernel without a store), and the stats must
 * count exactly those objects as sealed; the same after a failed unseal
 * (no object is left unsealed on a read-only page). After a failed
 * write-rare the target must be unchanged. At the end every object holds
 * what was written, and once everything is destroyed no descriptor is left
 * open and no address space is left mapped but the pinned pages the stats
 * report. Each injection runs in a forked child of a parent that has
 * done the one-time initialisation.
 *
 * Two findings have tests of their own: a permanent seal whose mseal(2)
 * failed must still make the objects permanent when the seal is retried,
 * and an owner whose creation could not grow the list of owners must not
 * silently vanish from the stats (and from fork handling).
 */
#include "check.h"
#include "os.h"
#include "owner.h"
#include "sealloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#define MAX_OBJS 2600

struct obj {
    void *p;
    size_t size;
    int owner;           /* index in wl.owners */
    unsigned char fill;  /* every byte, except ... */
    uint64_t head;       /* ... the first 8 when head_set */
    bool head_set;
};

struct owner {
    const char *name;
    bool pool;
    void *h;
};

static struct {
    struct owner owners[6];
    int n_owners;
    struct obj objs[MAX_OBJS];
    int n_objs;
    int line; /* first failed expectation */
    const char *why;
} wl;

#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond) && !wl.line)                                                           \
            wl.line = __LINE__, wl.why = #cond;                                            \
    } while (0)

static bool os_errno(int e) { return e == ENOMEM || e == EIO || e == EMFILE; }

/* ---- what the kernel and the stats say ------------------------------------ */

/* 1 if the page holding p is writable, asked without a store of ours: the
 * kernel copies the byte p already holds onto itself through a pipe. */
static int writable(const void *p)
{
    static int pipe_fd[2] = {-1, -1};
    if (pipe_fd[0] < 0 && pipe(pipe_fd) != 0)
        abort();
    unsigned char b = *(const volatile unsigned char *)p;
    if (write(pipe_fd[1], &b, 1) != 1)
        abort();
    if (read(pipe_fd[0], (void *)(uintptr_t)p, 1) == 1)
        return 1;
    if (read(pipe_fd[0], &b, 1) != 1) /* drain */
        abort();
    return 0;
}

/* The "sealed" column of owner's stats row; -1 if it has no row. */
static long stats_sealed(const char *name)
{
    char *text = NULL, row[32];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    seal_stats_print(f);
    fclose(f);
    long sealed = -1;
    unsigned long long live, s;
    for (char *l = text; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (sscanf(l, "%*s %31s %*s %llu %llu", row, &live, &s) == 3 && strcmp(row, name) == 0)
            sealed = (long)s;
    free(text);
    return sealed;
}

/* Rows of the stats table: owners listed. */
static int stats_rows(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    seal_stats_print(f);
    fclose(f);
    int rows = 0;
    for (char *l = text; (l = strstr(l, "\ncache ")) != NULL; l++)
        rows++;
    free(text);
    return rows;
}

/* After a failed seal of owner k: sealed exactly where read-only. */
static void check_seal_state(int k)
{
    long sealed = 0;
    for (int i = 0; i < wl.n_objs; i++) {
        const struct obj *o = &wl.objs[i];
        if (o->owner != k)
            continue;
        int s = seal_is_sealed(o->p);
        EXPECT(s == !writable(o->p));
        EXPECT(s == seal_is_sealed((char *)o->p + o->size - 1));
        sealed += s;
    }
    EXPECT(stats_sealed(wl.owners[k].name) == sealed);
}

/* ---- the workload ------------------------------------------------------------ */

/* Evaluate expr until ok; a failure must carry an os errno, then the one
 * retry must succeed. after_failure runs between the two. */
#define RETRY(var, expr, ok, after_failure)                                                \
    for (int tries_ = 0;; tries_++) {                                                      \
        errno = 0;                                                                         \
        var = (expr);                                                                      \
        if (ok)                                                                            \
            break;                                                                         \
        EXPECT(tries_ == 0 && os_errno(errno));                                            \
        if (tries_ > 0 || !os_errno(errno))                                                \
            break;                                                                         \
        after_failure;                                                                     \
    }

static int add_owner(const char *name, bool pool, size_t size, unsigned flags)
{
    void *h;
    RETRY(h, pool ? (void *)seal_pool_create(name, flags) : (void *)seal_cache_create(name, size, 0, flags),
          h != NULL || errno == ENOTSUP, (void)0);
    if (h == NULL)
        return -1; /* no mechanism for permanent write-rare here */
    wl.owners[wl.n_owners] = (struct owner){name, pool, h};
    return wl.n_owners++;
}

static void fill(struct obj *o)
{
    memset(o->p, o->fill, o->size);
}

static void alloc_n(int k, int n, size_t size)
{
    if (k < 0)
        return;
    const struct owner *w = &wl.owners[k];
    for (int i = 0; i < n && wl.n_objs < MAX_OBJS; i++) {
        size_t want = w->pool ? 1 + (size_t)(i + 1) * 7919 % size : size;
        void *p;
        RETRY(p, w->pool ? seal_pool_alloc(w->h, want) : seal_cache_alloc(w->h), p != NULL, (void)0);
        if (p == NULL)
            return;
        struct obj *o = &wl.objs[wl.n_objs++];
        *o = (struct obj){p, want, k, (unsigned char)(wl.n_objs * 13 + k), 0, false};
        EXPECT(((unsigned char *)p)[0] == 0 && ((unsigned char *)p)[want - 1] == 0);
        fill(o);
    }
}

static void seal_owner(int k)
{
    if (k < 0)
        return;
    const struct owner *w = &wl.owners[k];
    int rc;
    RETRY(rc, w->pool ? seal_pool_seal(w->h) : seal_cache_seal(w->h), rc == 0, check_seal_state(k));
    for (int i = 0; i < wl.n_objs; i++)
        if (wl.objs[i].owner == k)
            EXPECT(seal_is_sealed(wl.objs[i].p) && !writable(wl.objs[i].p));
}

/* Unseal k (teardown), then write every object of it: after a failed
 * unseal too, sealed exactly where read-only. A permanent owner refuses
 * with EPERM and no system call. */
static void unseal_owner(int k, bool permanent)
{
    if (k < 0)
        return;
    const struct owner *w = &wl.owners[k];
    int rc;
    if (permanent) {
        errno = 0;
        rc = w->pool ? seal_pool_unseal(w->h) : seal_cache_unseal(w->h);
        EXPECT(rc == -1 && errno == EPERM);
        return;
    }
    RETRY(rc, w->pool ? seal_pool_unseal(w->h) : seal_cache_unseal(w->h), rc == 0, check_seal_state(k));
    for (int i = 0; i < wl.n_objs; i++) {
        struct obj *o = &wl.objs[i];
        if (o->owner != k)
            continue;
        EXPECT(!seal_is_sealed(o->p) && writable(o->p));
        o->fill ^= 0x5a;
        o->head_set = false;
        fill(o);
    }
}

static bool holds(const struct obj *o)
{
    const unsigned char *b = o->p;
    size_t from = 0;
    if (o->head_set && o->size >= 8) {
        if (memcmp(b, &o->head, 8) != 0)
            return false;
        from = 8;
    }
    for (size_t i = from; i < o->size; i++)
        if (b[i] != o->fill)
            return false;
    return true;
}

/* A write-rare update of the first 8 bytes of every step-th object of k. */
static void write_rare(int k, int step)
{
    for (int i = 0; k >= 0 && i < wl.n_objs; i += step) {
        struct obj *o = &wl.objs[i];
        if (o->owner != k || o->size < 8)
            continue;
        uint64_t v = 0x5ea1ed0000000000ull | (uint64_t)i;
        int rc;
        bool ptr = i % 2 && strcmp(seal_write_rare_mechanism(), "procmem") != 0;
        RETRY(rc, ptr ? seal_write_ptr(o->p, (void *)(uintptr_t)v) : seal_write(o->p, &v, 8),
              rc == 0, EXPECT(holds(o)));
        if (rc == 0)
            o->head = v, o->head_set = true;
    }
}

static void free_obj(int i)
{
    struct obj *o = &wl.objs[i];
    const struct owner *w = &wl.owners[o->owner];
    if (w->pool)
        seal_pool_free(w->h, o->p);
    else
        seal_cache_free(w->h, o->p);
    wl.objs[i] = wl.objs[--wl.n_objs];
}

/* Free the first n objects of k in allocation order: whole slabs. */
static void free_first(int k, int n)
{
    for (int i = 0; k >= 0 && i < wl.n_objs && n > 0;)
        if (wl.objs[i].owner == k)
            free_obj(i), n--;
        else
            i++;
}

static void realloc_first(int k)
{
    for (int i = 0; k >= 0 && i < wl.n_objs; i++) {
        struct obj *o = &wl.objs[i];
        if (o->owner != k)
            continue;
        void *p;
        RETRY(p, seal_pool_realloc(wl.owners[k].h, o->p, o->size + 5000), p != NULL,
              EXPECT(seal_pool_owns(wl.owners[k].h, o->p) && holds(o)));
        if (p == NULL)
            return;
        EXPECT(!seal_is_sealed(p) && ((unsigned char *)p)[o->size] == 0);
        o->p = p;
        o->size += 5000;
        fill(o);
        return;
    }
}

static void workload(void)
{
    memset(&wl, 0, sizeof wl);
    int plain = add_owner("fi-plain", false, 200, 0);
    int wr = add_owner("fi-wr", false, 48, SEAL_WRITE_RARE);
    int perm = add_owner("fi-perm", false, 1000, SEAL_PERMANENT);
    int permwr = add_owner("fi-permwr", false, 64, SEAL_PERMANENT | SEAL_WRITE_RARE);
    int pool = add_owner("fi-pool", true, 0, SEAL_WRITE_RARE);
    int ppool = add_owner("fi-ppool", true, 0, SEAL_PERMANENT);
    alloc_n(plain, 400, 200);
    alloc_n(wr, 300, 48);
    alloc_n(perm, 150, 1000);
    alloc_n(permwr, 50, 64);
    alloc_n(pool, 200, 100);
    alloc_n(pool, 2, 70000);
    alloc_n(ppool, 40, 64);
    for (int k = 0; k < wl.n_owners; k++)
        seal_owner(k);
    alloc_n(plain, 20, 200);
    alloc_n(pool, 20, 60);
    write_rare(wr, 23);
    write_rare(permwr, 5);
    write_rare(pool, 17);
    free_first(plain, 315); /* the first slab */
    free_first(perm, 150);
    free_first(ppool, 20);
    realloc_first(pool);
    free_first(pool, 100);
    for (int k = 0; k < wl.n_owners; k++)
        seal_owner(k);
    unseal_owner(plain, false);
    unseal_owner(pool, false);
    unseal_owner(perm, true);
    free_first(plain, 10);
    seal_owner(plain);
    seal_owner(pool);
    for (int i = 0; i < wl.n_objs; i++)
        EXPECT(holds(&wl.objs[i]));
    for (int k = 0; k < wl.n_owners; k++) {
        if (wl.owners[k].pool)
            seal_pool_destroy(wl.owners[k].h);
        else
            seal_cache_destroy(wl.owners[k].h);
    }
}

/* ---- leaks ------------------------------------------------------------------ */

/* Open descriptors, but for the library's own /proc/self/mem, which it
 * opens once, on first use, and keeps (meta.h): not a leak. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[300], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        target[len > 0 ? len : 0] = 0;
        n += !(len > 4 && strcmp(target + len - 4, "/mem") == 0);
    }
    closedir(d);
    return n;
}

static long vm_size_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmSize: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* ---- the sweep --------------------------------------------------------------- */

struct point {
    unsigned long fail_at;
};

/* Child: run the workload with call fail_at failing; exit 0 if all held,
 * 1 if not, 3 if the failure never happened (past the last call). */
static void run_point(void *arg)
{
    const struct point *pt = arg;
    int fds = open_fds();
    long vm = vm_size_kb();
    size_t pinned = owner_pinned_after_destroy();
    sl_os_inject_failure(pt->fail_at);
    workload();
    bool fired = pt->fail_at != 0 && sl_os_calls() >= pt->fail_at;
    sl_os_inject_failure(0);
    EXPECT(open_fds() == fds);
    long grown = vm_size_kb() - vm, pinned_kb = (long)((owner_pinned_after_destroy() - pinned) / 1024);
    if (grown != pinned_kb)
        fprintf(stderr, "address space grew by %ld KiB, %ld KiB of it pinned; ", grown, pinned_kb);
    EXPECT(grown == pinned_kb);
    if (wl.line) {
        fprintf(stderr, "line %d: %s\n", wl.line, wl.why);
        _exit(1);
    }
    _exit(fired ? 0 : 3);
}

/* Child: the os-layer calls of one workload, printed to stderr. */
static void count_calls(void *arg)
{
    (void)arg;
    sl_os_inject_failure(0);
    workload();
    fprintf(stderr, "%lu\n", sl_os_calls());
    _exit(wl.line == 0 ? 0 : 1);
}

static void every_call_of_the_workload_fails_cleanly(void)
{
    /* One-time initialisation out of the way, and the quarantine of
     * destroyed descriptors full of this workload's kinds (every destroy
     * then unmaps one of the same size as it keeps). */
    for (int i = 0; i < 12; i++)
        workload();
    /* Counted in a child, as the sweep runs: a fork child makes calls of
     * its own (it opens its own /proc/self/mem, meta.h). */
    struct death d;
    run_in_child(count_calls, NULL, &d);
    unsigned long calls = strtoul(d.err, NULL, 10);
    CHECK(d.status == 0 && calls > 0);
    struct point none = {0};
    run_in_child(run_point, &none, &d);
    CHECK(d.signal == 0 && d.status == 3);
    if (d.signal != 0 || d.status != 3)
        fprintf(stderr, "  without injection: signal %d status %d: %s", d.signal, d.status, d.err);
    unsigned long covered = 0, bad = 0;
    const char *only = getenv("FAULTINJECT_ONLY"); /* debugging: one call */
    for (unsigned long n = 1; n <= calls + 1; n++) {
        if (only != NULL && n != strtoul(only, NULL, 0))
            continue;
        struct point pt = {n};
        run_in_child(run_point, &pt, &d);
        if (d.signal == 0 && d.status == 0)
            covered++;
        else if (!(n == calls + 1 && d.signal == 0 && d.status == 3) && bad++ < 8)
            fprintf(stderr, "  os call %lu of %lu failing: signal %d status %d: %s", n, calls,
                    d.signal, d.status, d.err);
    }
    printf("faultinject: %lu of %lu os-layer calls of the workload failed in turn, all handled: %s\n",
           covered, calls, bad ? "no" : "yes");
    CHECK(bad == 0 && covered == calls);
}

/* ---- findings ---------------------------------------------------------------- */

/* A seal of a permanent cache whose mseal(2) failed returns -1; the seal
 * the caller retries must still make the objects permanent (contract 4:
 * mprotect on them fails with EPERM). */
static void seal_with_one_failure(void *arg)
{
    seal_cache *c = seal_cache_create("fi-mseal", 64, 0, SEAL_PERMANENT);
    char *p = seal_cache_alloc(c);
    sl_os_inject_failure(*(unsigned long *)arg);
    errno = 0;
    int rc = seal_cache_seal(c);
    sl_os_inject_failure(0);
    if (rc != 0 && (errno != ENOMEM || seal_cache_seal(c) != 0))
        _exit(1);
    size_t pg = sl_os_page_size();
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)(pg - 1));
    errno = 0;
    if (mprotect(page, pg, PROT_READ | PROT_WRITE) == 0 || errno != EPERM) {
        fprintf(stderr, "a permanent seal that succeeded on its retry left %p without mseal: "
                "mprotect made it writable", p);
        _exit(2);
    }
    _exit(0);
}

static void permanent_seal_redone_after_a_failed_mseal(void)
{
    if (!sl_os_has_mseal())
        SKIP("no mseal(2) on this kernel");
    for (unsigned long n = 1; n <= 3; n++) { /* the seal's mprotect, mseal, and after */
        struct death d;
        run_in_child(seal_with_one_failure, &n, &d);
        CHECK(d.signal == 0 && d.status == 0);
        if (d.signal != 0 || d.status != 0)
            fprintf(stderr, "  os call %lu of the seal failing: %s\n", n, d.err);
    }
}

#define LISTED 512 /* the first capacity of the owners list */

/* Create one more cache with call n failing: NULL + ENOMEM, or a cache
 * that the stats list. */
static void create_past_the_list(void *arg)
{
    sl_os_inject_failure(*(unsigned long *)arg);
    errno = 0;
    seal_cache *c = seal_cache_create("fi-listed", 32, 0, 0);
    sl_os_inject_failure(0);
    if (c == NULL)
        _exit(errno == ENOMEM ? 0 : 1);
    _exit(stats_sealed("fi-listed") == 0 ? 0 : 2);
}

static void owner_listed_when_the_list_cannot_grow(void)
{
    static seal_cache *many[LISTED];
    char name[32];
    for (int rows = stats_rows(); rows < LISTED; rows++) {
        snprintf(name, sizeof name, "fi-many-%d", rows);
        many[rows] = seal_cache_create(name, 32, 0, 0);
    }
    unsigned long bad = 0, n;
    for (n = 1; n < 12; n++) {
        struct death d;
        run_in_child(create_past_the_list, &n, &d);
        if (d.signal != 0 || d.status != 0) {
            bad++;
            fprintf(stderr, "  os call %lu failing: %s\n", n,
                    d.status == 2 ? "the cache was created but the stats do not list it"
                                  : "creation failed without ENOMEM");
        }
    }
    CHECK(bad == 0);
    for (int i = 0; i < LISTED; i++)
        seal_cache_destroy(many[i]);
}

int main(void)
{
    RUN(every_call_of_the_workload_fails_cleanly);
    RUN(permanent_seal_redone_after_a_failed_mseal);
    RUN(owner_listed_when_the_list_cannot_grow);
    return check_exit();
}
