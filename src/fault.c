/* SPDX-License-Identifier: MIT */
/*
 * fault.c - attribution of faults in sealed memory.
 *
 * seal_fault_handler_install() puts a SIGSEGV handler on an alternate stack
 * of its own (for the installing thread; other threads use theirs, if
 * any). For a fault inside an arena, the handler writes one line naming the
 * owner, the object index (cache) or the allocation's start address and
 * requested size (pool: a pointer the program can match with its own), the
 * offset inside the object and the address, using only write(2) and lock-free
 * lookups; then it passes the signal on exactly as if it had not been
 * there: to the handler installed before, or, for the default action, by
 * restoring it and returning so the faulting store runs again and kills
 * the process with SIGSEGV (core dump and exit status unchanged).
 */
#include "sealloc.h"

#include "lock.h"
#include "meta.h"
#include "object.h"
#include "os.h"
#include "registry.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

struct line {
    char buf[256];
    size_t len;
};

static void put(struct line *l, const char *s)
{
    while (*s && l->len < sizeof l->buf - 1)
        l->buf[l->len++] = *s++;
}

static void put_num(struct line *l, uint64_t v, unsigned base)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    if (base == 16)
        put(l, "0x");
    while (n > 0 && l->len < sizeof l->buf - 1)
        l->buf[l->len++] = tmp[--n];
}

static void describe(struct line *l, uintptr_t addr)
{
    bool pinned;
    registry_enter();
    struct sl_arena *a = registry_find(addr, &pinned);
    struct sl_obj obj;
    if (a == NULL) {
        if (pinned) {
            put(l, "sealloc: write to sealed memory of a destroyed permanent owner at ");
            put_num(l, addr, 16);
        }
    } else {
        const struct sl_who *who = &a->region->who;
        bool pool = who->kind[0] == 'p'; /* "pool" or "cache" */
        bool found = object_find(a, addr, &obj);
        put(l, found && obj.sealed ? "sealloc: write to sealed memory: " : "sealloc: fault in ");
        put(l, who->kind);
        put(l, " \"");
        put(l, who->name);
        put(l, "\"");
        if (found && pool) {
            put(l, " allocation ");
            put_num(l, obj.start, 16);
            put(l, " size ");
            put_num(l, obj.size, 10);
        } else if (found) {
            put(l, " object ");
            put_num(l, obj.index, 10);
        }
        if (found) {
            put(l, " offset ");
            put_num(l, addr - obj.start, 10);
            if (!obj.live)
                put(l, " (free slot)");
        } else {
            put(l, " (unused memory)");
        }
        put(l, " at ");
        put_num(l, addr, 16);
    }
    registry_exit();
}

static void on_segv(int sig, siginfo_t *info, void *ctx)
{
    int saved = errno;
    struct line l = {.len = 0};
    describe(&l, (uintptr_t)info->si_addr);
    if (l.len > 0) {
        l.buf[l.len++] = '\n';
        ssize_t w = write(STDERR_FILENO, l.buf, l.len);
        (void)w;
    }
    errno = saved;
    /* The handler chained to is read-only (meta.h): a forged one would be a
     * code pointer any data-only write could aim. */
    const struct sigaction *previous = &SL_G->fault_previous;
    if (previous->sa_flags & SA_SIGINFO) {
        previous->sa_sigaction(sig, info, ctx);
    } else if (previous->sa_handler != SIG_DFL && previous->sa_handler != SIG_IGN) {
        previous->sa_handler(sig);
    } else {
        /* Default action: restore it; the store faults again and the
         * kernel kills the process as it would have. */
        signal(SIGSEGV, SIG_DFL);
    }
}

int seal_fault_handler_install(void)
{
    sl_lock(&install_lock, NULL, "fault handler lock");
    int rc = 0;
    if (!SL_G->fault_installed) {
        size_t size = 64 * 1024;
        void *stack = sl_os_reserve(size, -1);
        if (stack == NULL || sl_os_commit(stack, size) != 0) {
            rc = -1;
        } else {
            stack_t ss = {.ss_sp = stack, .ss_size = size, .ss_flags = 0};
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = on_segv;
            sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
            sigemptyset(&sa.sa_mask);
            struct sigaction previous;
            if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGSEGV, &sa, &previous) != 0) {
                rc = -1;
            } else {
                struct sl_globals *g = meta_globals_begin();
                g->fault_previous = previous;
                g->fault_installed = true;
                meta_globals_end();
            }
        }
    }
    sl_unlock(&install_lock, NULL, "fault handler lock");
    return rc;
}
