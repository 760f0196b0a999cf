/* SPDX-License-Identifier: MIT */
/*
 * test_jansson.c - a jansson document loaded into a pool
 * (adapters/jansson_pool.h) and sealed reads, queries and dumps exactly as
 * one loaded with libc's malloc (the ISO 4217 currency list of iso-codes);
 * a store into it faults, and so does json_decref: jansson's reference
 * counts live inside the sealed values (see jansson_pool.h).
 */
#include "jansson_pool.h"
#include "util.h"

/* The name of the currency whose alpha_3 is code, or NULL. */
static const char *currency(const json_t *doc, const char *code)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "4217"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "alpha_3")), code) == 0)
            return json_string_value(json_object_get(c, "name"));
    }
    return NULL;
}

static void decref(void *doc)
{
    seal_fault_handler_install();
    json_decref(doc);
}

static void jansson_sealed_document_reads_like_a_malloced_one(void)
{
    char *text = slurp(ISO_JSON "iso_4217.json", NULL);
    if (!text)
        SKIP("iso-codes is not installed");
    json_error_t err;
    json_t *plain = jansson_pool_loads(NULL, text, 0, &err);
    seal_pool *pool = seal_pool_create("jansson", 0);
    json_t *sealed = jansson_pool_loads(pool, text, 0, &err);
    CHECK(plain && sealed && seal_pool_seal(pool) == 0);
    if (!plain || !sealed)
        return;
    CHECK(seal_is_sealed(sealed) && !seal_is_sealed(plain));

    char *want = json_dumps(plain, JSON_SORT_KEYS | JSON_COMPACT);
    char *got = json_dumps(sealed, JSON_SORT_KEYS | JSON_COMPACT);
    CHECK(want && got && strcmp(want, got) == 0);
    free(want);
    free(got);
    CHECK(json_array_size(json_object_get(sealed, "4217")) > 150);
    CHECK(json_equal(plain, sealed));
    const char *euro = currency(sealed, "EUR");
    CHECK(euro && strcmp(euro, "Euro") == 0 && seal_is_sealed(euro));

    CHECK(store_faults((void *)euro, "jansson"));
    CHECK(expect_death(decref, sealed, SIGSEGV, "pool \"jansson\""));
    json_decref(plain);
    seal_pool_destroy(pool); /* the way to drop a sealed document */
    free(text);
}

int main(void)
{
    jansson_pool_install();
    RUN(jansson_sealed_document_reads_like_a_malloced_one);
    return check_exit();
}
