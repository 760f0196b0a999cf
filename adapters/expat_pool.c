/* SPDX-License-Identifier: MIT */
/*
 * expat_pool.c - expat's memory suite on the scope hooks, and the tree
 * builder (see expat_pool.h). The start handler copies each element's name
 * and attributes into the current scope; the end handler climbs back up.
 */
#include "expat_pool.h"


#include <expat.h>
#include <stdio.h>
#include <string.h>

struct build {
    XML_Parser parser;
    struct xml_node *root, *at; /* at: the innermost open element */
};

static const XML_Memory_Handling_Suite suite = {seal_scope_malloc, seal_scope_realloc,
                                                seal_scope_free};

static char *copy(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = seal_scope_malloc(n);
    return c ? memcpy(c, s, n) : NULL;
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attr)
{
    struct build *b = data;
    size_t n = 0;
    while (attr[n])
        n++;
    struct xml_node *e = seal_scope_malloc(sizeof *e);
    const char **a = seal_scope_malloc((n + 1) * sizeof *a);
    if (!e || !a || !(e->name = copy(name)))
        goto nomem;
    memset(&e->parent, 0, sizeof *e - offsetof(struct xml_node, parent));
    for (size_t i = 0; i < n; i++)
        if (!(a[i] = copy(attr[i])))
            goto nomem;
    a[n] = NULL;
    e->attr = a;
    e->parent = b->at;
    if (!b->at)
        b->root = e;
    else if (b->at->last_child)
        b->at->last_child = b->at->last_child->next = e;
    else
        b->at->first_child = b->at->last_child = e;
    b->at = e;
    return;
nomem:
    XML_StopParser(b->parser, XML_FALSE);
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
    struct build *b = data;
    (void)name;
    b->at = b->at->parent;
}

struct xml_node *expat_pool_parse(seal_pool *pool, const char *buf, size_t len)
{
    struct build b = {0};
    if (seal_scope_push(pool) != 0)
        return NULL;
    b.parser = XML_ParserCreate_MM(NULL, &suite, NULL);
    int ok = 0;
    if (b.parser) {
        XML_SetUserData(b.parser, &b);
        XML_SetElementHandler(b.parser, on_start, on_end);
        ok = XML_Parse(b.parser, buf, (int)len, XML_TRUE) == XML_STATUS_OK;
        if (!ok)
            fprintf(stderr, "expat: line %lu: %s\n", XML_GetCurrentLineNumber(b.parser),
                    XML_ErrorString(XML_GetErrorCode(b.parser)));
        XML_ParserFree(b.parser);
    }
    seal_scope_pop();
    return ok ? b.root : NULL;
}
