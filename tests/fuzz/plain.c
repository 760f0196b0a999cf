/* SPDX-License-Identifier: MIT */
/*
 * plain.c - the fuzz driver without libFuzzer.
 *
 *   fuzz-plain FILE...                 replay inputs (corpus, regressions)
 *   fuzz-plain -s SEED -n ITERATIONS   random inputs from a seeded generator
 *   fuzz-plain -s SEED -t SECONDS      the same, for a duration instead
 *
 * Random inputs are 1 to 4096 bytes of xorshift output, so a seed and an
 * iteration count name the same inputs on every machine. Prints one PASS
 * line per file or per seed; a model disagreement aborts (see driver.c)
 * after saving the input that found it to /tmp (replay it with the path).
 */
#include "driver.h"

#include "xorshift.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;

static uint64_t next(void) { return xorshift(&rng); }

static const uint8_t *current;
static size_t current_len;
static unsigned long long current_seed, current_it;

/* On a failed check, keep the input for a replay. Not async-signal-safe in
 * general, but the process is single-threaded and dying anyway. */
static void save_input(int sig)
{
    char path[96];
    snprintf(path, sizeof path, "/tmp/sealloc-fuzz-crash-%llu-%llu", current_seed, current_it);
    FILE *f = fopen(path, "wb");
    if (f != NULL && current != NULL) {
        fwrite(current, 1, current_len, f);
        fclose(f);
        fprintf(stderr, "fuzz: seed %llu iteration %llu; input saved: %s\n", current_seed,
                current_it, path);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static int replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("FAIL fuzz-replay %s: cannot open\n", path);
        return 1;
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    fuzz_one(buf, n);
    printf("PASS fuzz-replay %s\n", path);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long seed = 1, iterations = 0;
    double seconds = 0;
    int opt;
    while ((opt = getopt(argc, argv, "s:n:t:")) != -1) {
        if (opt == 's')
            seed = strtoull(optarg, NULL, 0);
        else if (opt == 'n')
            iterations = strtoull(optarg, NULL, 0);
        else if (opt == 't')
            seconds = strtod(optarg, NULL);
        else {
            fprintf(stderr, "usage: %s [-s seed] [-n iterations | -t seconds] [file...]\n", argv[0]);
            return 2;
        }
    }
    int rc = 0;
    for (int i = optind; i < argc; i++)
        rc |= replay(argv[i]);
    if (optind < argc && iterations == 0 && seconds == 0)
        return rc;
    if (iterations == 0 && seconds == 0)
        iterations = 200;
    signal(SIGABRT, save_input);
    rng = seed * 0x9e3779b97f4a7c15ull | 1;
    static uint8_t buf[4096];
    time_t end = time(NULL) + (time_t)seconds;
    unsigned long long it;
    for (it = 0; seconds > 0 ? time(NULL) < end : it < iterations; it++) {
        size_t len = 1 + next() % sizeof buf;
        for (size_t b = 0; b < len; b += 8) {
            uint64_t r = next();
            memcpy(buf + b, &r, len - b < 8 ? len - b : 8);
        }
        current = buf, current_len = len, current_seed = seed, current_it = it;
        fuzz_one(buf, len);
    }
    printf("PASS fuzz-seed-%llu: %llu inputs\n", seed, it);
    return rc;
}
