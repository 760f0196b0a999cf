/* SPDX-License-Identifier: MIT */
/*
 * dispatch.c - a sealed dispatch table: function pointers in a permanent
 * cache, protected against the classic overwrite.
 *
 * Each protocol registers a table of operations (like the kernel's
 * struct file_operations). The tables are objects of a SEAL_PERMANENT cache:
 * once sealed, no store can redirect a handler, and because the pages are
 * mseal(2)ed not even mprotect(2) can make them writable again. A forked
 * child plays the attacker: it overwrites admin's check_auth with a
 * function that lets everybody in, and dies of SIGSEGV instead.
 */
#include "child.h"

#include <sealloc.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct proto_ops {
    const char *name;
    int (*check_auth)(const char *user); /* 1: may use the protocol */
    const char *(*handle)(const char *request);
};

static int anyone(const char *user) { return user != NULL; }
static int only_root(const char *user) { return strcmp(user, "root") == 0; }
static const char *serve_page(const char *request) { return request[0] ? "200 page" : "404"; }
static const char *run_command(const char *request) { return request[0] ? "200 done" : "400"; }

static seal_cache *ops_cache;
static struct proto_ops *ops[2];

static struct proto_ops *ops_register(const char *name, int (*auth)(const char *),
                                      const char *(*handle)(const char *))
{
    struct proto_ops *o = seal_cache_alloc(ops_cache);
    if (o) {
        o->name = name;
        o->check_auth = auth;
        o->handle = handle;
    }
    return o;
}

static const char *dispatch(const struct proto_ops *o, const char *user, const char *req)
{
    return o->check_auth(user) ? o->handle(req) : "403 forbidden";
}

static void show(const char *user)
{
    for (int i = 0; i < 2; i++)
        printf("  %-5s as %-7s -> %s\n", ops[i]->name, user, dispatch(ops[i], user, "x"));
}

static void overwrite_handler(void *arg)
{
    (void)arg;
    seal_fault_handler_install();
    *(int (*volatile *)(const char *)) & ops[1]->check_auth = anyone;
}

static void unprotect_page(void *arg)
{
    (void)arg;
    void *page = (void *)((uintptr_t)ops[1] & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1));
    int rc = mprotect(page, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE);
    fprintf(stderr, "mprotect(PROT_WRITE) = %d (%s)", rc, rc ? strerror(errno) : "ok");
}

int main(void)
{
    unsigned flags = SEAL_PERMANENT;
    ops_cache = seal_cache_create("proto_ops", sizeof(struct proto_ops), 0, flags);
    if (!ops_cache && errno == ENOTSUP) {
        flags = 0; /* no mseal(2): sealed, but an mprotect could undo it */
        ops_cache = seal_cache_create("proto_ops", sizeof(struct proto_ops), 0, flags);
    }
    if (!ops_cache)
        return perror("seal_cache_create"), 1;
    ops[0] = ops_register("http", anyone, serve_page);
    ops[1] = ops_register("admin", only_root, run_command);
    if (!ops[0] || !ops[1] || seal_cache_seal(ops_cache) != 0)
        return perror("dispatch table"), 1;
    printf("dispatch: 2 operation tables in cache \"proto_ops\", sealed, permanent: %s\n",
           flags ? "yes" : "no (kernel without mseal)");
    show("mallory");

    struct child_end end;
    printf("attack: ops[admin]->check_auth = anyone\n");
    child_run(overwrite_handler, NULL, &end);
    printf("  child's stderr: %s\n  child: %s\n", end.err, child_describe(&end));
    int ok = end.signal == SIGSEGV;
    if (flags) {
        child_run(unprotect_page, NULL, &end);
        printf("attack: make the page writable again: %s\n", end.err);
        ok &= strstr(end.err, "Operation not permitted") != NULL;
    }
    printf("after the attacks:\n");
    show("mallory");
    ok &= strcmp(dispatch(ops[1], "mallory", "x"), "403 forbidden") == 0;
    seal_cache_destroy(ops_cache); /* permanent: the sealed pages stay, pinned */
    return ok ? 0 : 1;
}
