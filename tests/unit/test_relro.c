/* SPDX-License-Identifier: MIT */
/*
 * test_relro.c - the shared library's GOT is read-only once it is loaded.
 *
 * A data-only attacker who could write the library's GOT would swap its
 * calls (mprotect for munmap, a seal into a no-op) without touching any
 * metadata. libsealloc.so is linked with full RELRO (-z relro -z now): every
 * symbol is bound at load time and the GOT lies in the PT_GNU_RELRO
 * segment, which the loader makes read-only. The test loads the library of
 * its own build variant (argv[0]/../lib), finds that segment and the GOT
 * (DT_PLTGOT), and checks both in /proc/self/maps and with a store that
 * must fault.
 */
#include "attacker.h"
#include "check.h"

#include <dlfcn.h>
#include <elf.h>
#include <libgen.h>
#include <link.h>
#include <sys/wait.h>

static char so_path[4096];

struct found {
    uintptr_t relro_lo, relro_hi, got;
    bool bind_now;
};

static int find_library(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct found *f = arg;
    if (strstr(info->dlpi_name, "libsealloc.so") == NULL)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_RELRO) {
            f->relro_lo = info->dlpi_addr + ph->p_vaddr;
            f->relro_hi = f->relro_lo + ph->p_memsz;
        } else if (ph->p_type == PT_DYNAMIC) {
            for (const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
                 d->d_tag != DT_NULL; d++) {
                if (d->d_tag == DT_PLTGOT)
                    f->got = d->d_un.d_ptr; /* the loader relocated it */
                if ((d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_BIND_NOW)) ||
                    (d->d_tag == DT_FLAGS_1 && (d->d_un.d_val & DF_1_NOW)))
                    f->bind_now = true;
            }
        }
    }
    return 1;
}

static void store_to_got(void *got)
{
    signal(SIGSEGV, SIG_DFL);
    *(volatile uintptr_t *)got = 0;
}

static void got_is_read_only(void)
{
    void *h = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL);
    if (h == NULL) {
        fprintf(stderr, "  dlopen %s: %s\n", so_path, dlerror());
        return;
    }
    CHECK(dlsym(h, "seal_cache_create") != NULL);
    struct found f = {0};
    dl_iterate_phdr(find_library, &f);
    CHECK(f.bind_now);                          /* -z now */
    CHECK(f.relro_hi > f.relro_lo);             /* -z relro */
    CHECK(f.got >= f.relro_lo && f.got < f.relro_hi);
    CHECK(f.got != 0 && !page_writable((void *)f.got));
    CHECK(expect_death(store_to_got, (void *)f.got, SIGSEGV, NULL));
    dlclose(h);
}

int main(int argc, char **argv)
{
    (void)argc;
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(so_path, sizeof so_path, "%s/../lib/libsealloc.so", dirname(self));
    RUN(got_is_read_only);
    return check_exit();
}
