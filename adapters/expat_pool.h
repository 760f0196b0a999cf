/* SPDX-License-Identifier: MIT */
/*
 * expat_pool.h - an XML document tree in a sealable pool, built by expat.
 *
 * XML_ParserCreate_MM() takes a memory-handling suite (malloc, realloc,
 * free) without a context pointer, so the suite is sealloc's scope hooks
 * (seal_scope_push(3)). expat_pool_parse() pushes the pool, parses with
 * that suite, and builds a small element tree (names and attributes;
 * character data is not kept) from the same pool; the parser is freed before it returns, so
 * what stays in the pool is the tree, ready for seal_pool_seal().
 */
#ifndef SEALLOC_ADAPTERS_EXPAT_POOL_H
#define SEALLOC_ADAPTERS_EXPAT_POOL_H

#include <sealloc.h>
#include <stddef.h>

struct xml_node {
    const char *name;
    const char **attr; /* name, value, name, value, ..., NULL */
    struct xml_node *parent, *first_child, *last_child, *next;
};

/* Parse len bytes of XML into a tree allocated from pool (NULL: libc, every
 * name, attribute array and string a malloc'd block). The root element, or
 * NULL after a message on stderr (parse error, ENOMEM). */
struct xml_node *expat_pool_parse(seal_pool *pool, const char *buf, size_t len);

#endif
