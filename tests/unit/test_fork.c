/* SPDX-License-Identifier: MIT */
/*
 * test_fork.c - the library after fork(2): the child can allocate, seal,
 * free and write-rare; parent and child never see each other's changes to
 * write-rare objects (whose pages may be memfd-backed shared mappings, so
 * the child must get copies of its own), sealed or not; a fork while
 * another thread is inside the library leaves the child usable. Runs under
 * every write-rare mechanism (mechanisms.h).
 */
#include "check.h"
#include "mechanisms.h"
#include "probe.h"
#include "sealloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>

struct setting {
    long value;
    char label[24];
};

struct world {
    seal_cache *cache;
    seal_pool *pool;
    struct setting *sealed, *open;
    char *text;
};

static struct world make_world(unsigned flags)
{
    struct world w = {.cache = seal_cache_create("fork-cache", sizeof(struct setting), 0, flags),
                      .pool = seal_pool_create("fork-pool", flags)};
    w.sealed = seal_cache_alloc(w.cache);
    w.sealed->value = 1;
    strcpy(w.sealed->label, "original");
    w.text = seal_pool_strdup(w.pool, "parent text");
    seal_cache_seal(w.cache);
    seal_pool_seal(w.pool);
    w.open = seal_cache_alloc(w.cache); /* writable, but write-rare backed */
    w.open->value = 10;
    return w;
}

static void destroy_world(struct world *w)
{
    seal_cache_destroy(w->cache);
    seal_pool_destroy(w->pool);
}

/* Wait for a child; true if it exited with status 0. */
static bool child_ok(pid_t pid)
{
    int st;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void child_uses_the_library(void)
{
    struct world w = make_world(SEAL_WRITE_RARE);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        struct setting *mine = seal_cache_alloc(w.cache);
        bad |= mine == NULL || seal_is_sealed(mine);
        mine->value = 5;
        bad |= seal_cache_seal(w.cache) != 0 || !seal_is_sealed(mine) || !page_read_only(mine);
        bad |= SEAL_ASSIGN(mine->value, 6) != 0 || mine->value != 6;
        bad |= SEAL_ASSIGN(w.sealed->value, 7) != 0 || w.sealed->value != 7;
        bad |= seal_write(w.text, "child", 6) != 0 || strcmp(w.text, "child") != 0;
        seal_cache_free(w.cache, mine);
        char *s = seal_pool_strdup(w.pool, "child text");
        bad |= s == NULL || seal_pool_seal(w.pool) != 0 || !seal_is_sealed(s);
        seal_cache *fresh = seal_cache_create("child-cache", 16, 0, 0);
        bad |= fresh == NULL || seal_cache_alloc(fresh) == NULL || seal_cache_seal(fresh) != 0;
        seal_cache_destroy(fresh);
        destroy_world(&w);
        _exit(bad);
    }
    CHECK(child_ok(pid));
    CHECK(w.sealed->value == 1 && strcmp(w.sealed->label, "original") == 0);
    CHECK(strcmp(w.text, "parent text") == 0);
    destroy_world(&w);
}

/* Parent and child each change the same objects after the fork, in turn;
 * neither may see the other's values. */
static void changes_stay_in_their_process(void)
{
    struct world w = make_world(SEAL_WRITE_RARE);
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    fflush(NULL);
    pid_t pid = fork();
    char token = 0;
    if (pid == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        int bad = read(to_child[0], &token, 1) != 1; /* the parent has written */
        bad |= w.sealed->value != 1 || w.open->value != 10 || strcmp(w.text, "parent text") != 0;
        bad |= SEAL_ASSIGN(w.sealed->value, 3) != 0;
        w.open->value = 30;
        bad |= seal_write(w.text, "CHILD", 5) != 0;
        bad |= write(to_parent[1], "c", 1) != 1;
        bad |= read(to_child[0], &token, 1) != 1; /* the parent has looked */
        bad |= w.sealed->value != 3 || w.open->value != 30 || strncmp(w.text, "CHILD", 5) != 0;
        _exit(bad);
    }
    close(to_child[0]);
    close(to_parent[1]); /* a child that dies ends our reads */
    CHECK(SEAL_ASSIGN(w.sealed->value, 2) == 0);
    w.open->value = 20;
    CHECK(seal_write(w.text, "PARENT", 6) == 0);
    CHECK(write(to_child[1], "p", 1) == 1);
    CHECK(read(to_parent[0], &token, 1) == 1); /* the child has written */
    CHECK(w.sealed->value == 2 && w.open->value == 20 && strncmp(w.text, "PARENT", 6) == 0);
    CHECK(write(to_child[1], "p", 1) == 1);
    CHECK(child_ok(pid));
    CHECK(seal_is_sealed(w.sealed) && page_read_only(w.sealed));
    close(to_child[1]);
    close(to_parent[0]);
    destroy_world(&w);
}

/* A permanently sealed write-rare object cannot be given a private copy in
 * the child (mseal forbids remapping it): the child's write-rare either
 * lands in its own copy or is refused with EPERM, never in the parent. */
static void permanent_objects_after_fork(void)
{
    if (syscall(462, 0, 0, 0) != 0)
        SKIP("kernel without mseal(2)");
    struct world w = make_world(SEAL_PERMANENT | SEAL_WRITE_RARE);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        errno = 0;
        int rc = SEAL_ASSIGN(w.sealed->value, 9);
        bool ok = (rc == 0 && w.sealed->value == 9) || (rc == -1 && errno == EPERM);
        struct setting *mine = seal_cache_alloc(w.cache);
        ok = ok && mine != NULL && seal_cache_seal(w.cache) == 0 && SEAL_ASSIGN(mine->value, 4) == 0;
        _exit(!(ok && mine->value == 4));
    }
    CHECK(child_ok(pid));
    CHECK(w.sealed->value == 1);
    CHECK(SEAL_ASSIGN(w.sealed->value, 8) == 0 && w.sealed->value == 8);
    destroy_world(&w);
}

/* ---- fork while another thread is inside the library --------------------- */

struct busy {
    seal_cache *cache;
    long *sealed;
    atomic_bool stop;
};

/* Under the owner's lock, over and over. */
static void *keep_busy(void *arg)
{
    struct busy *b = arg;
    while (!atomic_load(&b->stop)) {
        void *p = seal_cache_alloc(b->cache);
        seal_cache_seal(b->cache);
        seal_cache_free(b->cache, p);
    }
    return NULL;
}

/* Inside the lock-free registry readers, over and over. */
static void *keep_looking(void *arg)
{
    struct busy *b = arg;
    for (long v = 0; !atomic_load(&b->stop); v++) {
        seal_is_sealed(b->sealed);
        seal_write(b->sealed, &v, sizeof v);
    }
    return NULL;
}

static void fork_while_busy(void)
{
    struct busy b = {.cache = seal_cache_create("busy", 96, 0, SEAL_WRITE_RARE)};
    b.sealed = seal_cache_alloc(b.cache);
    seal_cache_seal(b.cache);
    pthread_t t[2];
    pthread_create(&t[0], NULL, keep_busy, &b);
    pthread_create(&t[1], NULL, keep_looking, &b);
    int failures = 0;
    for (int i = 0; i < 50; i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(20); /* a deadlock ends the child instead of the test run */
            long *p = seal_cache_alloc(b.cache);
            int bad = p == NULL || seal_cache_seal(b.cache) != 0 || SEAL_ASSIGN(*p, 1) != 0 || *p != 1;
            seal_cache_free(b.cache, p);
            /* Destroying waits for registry readers: none is left in the child. */
            seal_cache_destroy(b.cache);
            seal_cache *mine = seal_cache_create("child", 8, 0, 0);
            bad |= seal_cache_alloc(mine) == NULL;
            seal_cache_destroy(mine);
            _exit(bad);
        }
        failures += !child_ok(pid);
    }
    atomic_store(&b.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(failures == 0);
    seal_cache_destroy(b.cache);
}

static void run_all(void)
{
    RUN(child_uses_the_library);
    RUN(changes_stay_in_their_process);
    RUN(permanent_objects_after_fork);
    RUN(fork_while_busy);
}

int main(int argc, char **argv) { return each_mechanism(argc, argv, run_all); }
