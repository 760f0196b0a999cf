/* SPDX-License-Identifier: MIT */
/*
 * config.c - sealed configuration: parse a "key = value" file into a pool,
 * seal it, serve lookups.
 *
 * Usage: config FILE [KEY...]   (prints every entry when no key is given)
 *
 * The whole configuration (the index array and every string) lives in one
 * pool; the index is sorted so lookups are a bsearch over sealed memory.
 * After seal_pool_seal() a stray write into any key or value faults, and
 * the lookups work exactly as before: reading sealed memory costs nothing.
 */
#include <sealloc.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    const char *key, *value;
};

struct config {
    size_t n;
    struct entry *entry; /* sorted by key */
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = 0;
    return s;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

/* Parse f into p; NULL after a message on a malformed line or no memory. */
static struct config *config_parse(seal_pool *p, FILE *f, const char *name)
{
    struct config *c = seal_pool_alloc(p, sizeof *c);
    char line[512];
    for (unsigned lineno = 1; c && fgets(line, sizeof line, f); lineno++) {
        char *key = trim(line), *eq = strchr(key, '=');
        if (*key == '#' || *key == 0)
            continue;
        if (!eq) {
            fprintf(stderr, "%s:%u: expected key = value\n", name, lineno);
            return NULL;
        }
        *eq = 0;
        struct entry *grown = seal_pool_realloc(p, c->entry, (c->n + 1) * sizeof *grown);
        if (!grown)
            return NULL;
        c->entry = grown;
        struct entry *e = &c->entry[c->n++];
        e->key = seal_pool_strdup(p, trim(key));
        e->value = seal_pool_strdup(p, trim(eq + 1));
        if (!e->key || !e->value)
            return NULL;
    }
    qsort(c->entry, c->n, sizeof *c->entry, by_key);
    return c;
}

static const char *config_get(const struct config *c, const char *key)
{
    struct entry want = {key, NULL};
    const struct entry *e = bsearch(&want, c->entry, c->n, sizeof *c->entry, by_key);
    return e ? e->value : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [KEY...]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f)
        return perror(argv[1]), 1;
    seal_pool *pool = seal_pool_create("config", 0);
    struct config *c = pool ? config_parse(pool, f, argv[1]) : NULL;
    fclose(f);
    if (!c || seal_pool_seal(pool) != 0)
        return perror("config"), 1;
    printf("config: %zu entries from %s, sealed: %s\n", c->n, argv[1],
           seal_is_sealed(c) && seal_is_sealed(c->entry) && seal_is_sealed(c->entry[0].value)
               ? "yes"
               : "NO");
    int missing = 0;
    for (int i = 2; i < argc; i++) {
        const char *v = config_get(c, argv[i]);
        printf("%s = %s\n", argv[i], v ? v : "(not set)");
        missing += !v;
    }
    for (size_t i = 0; argc == 2 && i < c->n; i++)
        printf("%s = %s\n", c->entry[i].key, c->entry[i].value);
    seal_pool_destroy(pool);
    return missing ? 3 : 0;
}
