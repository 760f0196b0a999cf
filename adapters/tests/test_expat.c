/* SPDX-License-Identifier: MIT */
/*
 * test_expat.c - an element tree built by expat with the pool memory suite
 * (adapters/expat_pool.h) and sealed equals the tree built with libc's
 * malloc, element for element and attribute for attribute (the ISO 639-2
 * language list of iso-codes); a store into it faults.
 */
#include "expat_pool.h"
#include "util.h"

/* Are the trees a and b equal (names, attributes, shape)? Counts nodes. */
static bool same_tree(const struct xml_node *a, const struct xml_node *b, size_t *nodes)
{
    for (; a && b; a = a->next, b = b->next, ++*nodes) {
        if (strcmp(a->name, b->name) != 0)
            return false;
        size_t i = 0;
        for (; a->attr[i] && b->attr[i]; i++)
            if (strcmp(a->attr[i], b->attr[i]) != 0)
                return false;
        if (a->attr[i] || b->attr[i] || !same_tree(a->first_child, b->first_child, nodes))
            return false;
    }
    return a == b;
}

/* The value of attribute `want` of the first child whose `key` is `value`. */
static const char *lookup(const struct xml_node *root, const char *key, const char *value,
                          const char *want)
{
    for (const struct xml_node *e = root->first_child; e; e = e->next) {
        const char *found = NULL, *result = NULL;
        for (size_t i = 0; e->attr[i]; i += 2) {
            if (strcmp(e->attr[i], key) == 0 && strcmp(e->attr[i + 1], value) == 0)
                found = e->attr[i + 1];
            if (strcmp(e->attr[i], want) == 0)
                result = e->attr[i + 1];
        }
        if (found)
            return result;
    }
    return NULL;
}

/* Free a tree built with libc (pool NULL), node by node. */
static void free_tree(struct xml_node *e)
{
    while (e) {
        struct xml_node *next = e->next;
        free_tree(e->first_child);
        for (size_t i = 0; e->attr[i]; i++)
            free((void *)e->attr[i]);
        free(e->attr);
        free((void *)e->name);
        free(e);
        e = next;
    }
}

static void expat_sealed_tree_equals_a_malloced_one(void)
{
    size_t len;
    char *xml = slurp(ISO_XML "iso_639-2.xml", &len);
    if (!xml)
        SKIP("iso-codes is not installed");
    struct xml_node *plain = expat_pool_parse(NULL, xml, len);
    seal_pool *pool = seal_pool_create("expat", 0);
    struct xml_node *sealed = expat_pool_parse(pool, xml, len);
    CHECK(plain && sealed && seal_pool_seal(pool) == 0);
    if (!plain || !sealed)
        return;
    CHECK(seal_is_sealed(sealed) && !seal_is_sealed(plain));
    size_t nodes = 0;
    CHECK(same_tree(plain, sealed, &nodes));
    CHECK(nodes > 400);
    CHECK(strcmp(sealed->name, "iso_639_entries") == 0);
    const char *french = lookup(sealed, "iso_639_1_code", "fr", "name");
    CHECK(french && strcmp(french, "French") == 0 && seal_is_sealed(french));

    CHECK(store_faults((void *)french, "expat"));
    CHECK(store_faults(&sealed->first_child->next, "expat"));
    seal_pool_destroy(pool);
    free_tree(plain);
    free(xml);
}

int main(void)
{
    RUN(expat_sealed_tree_equals_a_malloced_one);
    return check_exit();
}
