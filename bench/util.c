/* SPDX-License-Identifier: MIT */
/*
 * util.c - see util.h.
 */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bu_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bu_median_ratio(const double *a, const double *b, int n)
{
    double r[64];
    n = n < 64 ? n : 64;
    for (int i = 0; i < n; i++)
        r[i] = a[i] / b[i];
    return bu_median(r, n);
}

void bu_result(double value, const char *fmt, ...)
{
    char key[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    printf("R %s %.10g\n", key, value);
    fflush(stdout);
}

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

void bu_mem_read(struct bu_mem *m)
{
    m->rss = status_kib("VmRSS") * 1024;
    m->committed = m->lines = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        bu_die("/proc/self/maps");
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, inode;
        char perms[8], path[256] = "";
        m->lines++;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %255s", &lo, &hi, perms, &inode, path) < 4)
            continue;
        int anon = path[0] == 0 || strcmp(path, "[heap]") == 0 || strncmp(path, "/memfd:", 7) == 0;
        if (anon && strncmp(perms, "---", 3) != 0)
            m->committed += (long)(hi - lo);
    }
    fclose(f);
}

const char *bu_count_name(size_t n, char buf[24])
{
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        snprintf(buf, 24, "%zuMi", n >> 20);
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, 24, "%zuKi", n >> 10);
    else
        snprintf(buf, 24, "%zu", n);
    return buf;
}

size_t bu_parse_count(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (strcmp(end, "Ki") == 0)
        v <<= 10;
    else if (strcmp(end, "Mi") == 0)
        v <<= 20;
    else if (*end != 0 || end == s)
        bu_die("not a count: %s", s);
    return (size_t)v;
}

void bu_die(const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s%s\n", err ? ": " : "", err ? strerror(err) : "");
    exit(2);
}

size_t bu_huge_page_size(void)
{
    unsigned long bytes = 0;
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
    if (f != NULL) {
        if (fscanf(f, "%lu", &bytes) != 1)
            bytes = 0;
        fclose(f);
    }
    return bytes;
}
