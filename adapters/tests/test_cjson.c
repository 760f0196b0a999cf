/* SPDX-License-Identifier: MIT */
/*
 * test_cjson.c - a cJSON document parsed into a pool (adapters/cjson_pool.h)
 * and sealed reads, queries and prints exactly as one parsed with libc's
 * malloc (the ISO 3166-1 country list of iso-codes); a store into it
 * faults; cJSON_Delete later, outside any scope, gives every node back to
 * the pool (the scope hooks find the pool by the pointer); a double free
 * aborts instead of reaching libc's free.
 */
#include "cjson_pool.h"
#include "util.h"

/* The name of the country whose alpha_2 is code, or NULL. */
static const char *country(const cJSON *doc, const char *code)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "3166-1"))
    {
        const cJSON *a2 = cJSON_GetObjectItemCaseSensitive(c, "alpha_2");
        if (cJSON_IsString(a2) && strcmp(a2->valuestring, code) == 0)
            return cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
    }
    return NULL;
}

static seal_pool *pool;
static cJSON *sealed;

static void free_twice(void *arg)
{
    cJSON_free(arg);
    cJSON_free(arg);
}

static uint64_t live(void)
{
    struct seal_stats s;
    return seal_pool_stats(pool, &s) == 0 ? s.live : UINT64_MAX;
}

static void cjson_sealed_document_reads_like_a_malloced_one(void)
{
    char *text = slurp(ISO_JSON "iso_3166-1.json", NULL);
    if (!text)
        SKIP("iso-codes is not installed");
    cJSON *plain = cjson_pool_parse(NULL, text);
    pool = seal_pool_create("cjson", 0);
    sealed = cjson_pool_parse(pool, text);
    CHECK(plain && sealed && seal_pool_seal(pool) == 0);
    if (!plain || !sealed)
        return;
    CHECK(seal_is_sealed(sealed) && !seal_is_sealed(plain));

    char *want = cJSON_PrintUnformatted(plain), *got = cJSON_PrintUnformatted(sealed);
    CHECK(want && got && strcmp(want, got) == 0);
    CHECK(!seal_is_sealed(got)); /* printed outside a scope: libc memory */
    cJSON_free(want);
    cJSON_free(got);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(sealed, "3166-1")) > 200);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(sealed, "3166-1")) ==
          cJSON_GetArraySize(cJSON_GetObjectItem(plain, "3166-1")));
    const char *france = country(sealed, "FR");
    CHECK(france && strcmp(france, "France") == 0 && seal_is_sealed(france));

    CHECK(store_faults((void *)france, "cjson"));
    CHECK(expect_death(free_twice, (void *)france, SIGABRT, "sealloc: seal_scope_free(pool \"cjson\"): "));
    CHECK(live() > 1000);
    CHECK(seal_scope_current() == NULL);
    cJSON_Delete(sealed); /* outside any scope: freed without writing it */
    CHECK(live() == 0 && !seal_is_sealed(france));
    cJSON_Delete(plain);
    seal_pool_destroy(pool);
    free(text);
}

int main(void)
{
    cjson_pool_install();
    RUN(cjson_sealed_document_reads_like_a_malloced_one);
    return check_exit();
}
