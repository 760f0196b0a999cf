/* SPDX-License-Identifier: MIT */
/*
 * test_pcre2.c - PCRE2 patterns compiled into a pool (adapters/pcre2_pool.h)
 * and sealed match exactly as patterns compiled with libc's malloc (through
 * the JIT where PCRE2 has one) over the ISO 3166-1 country list of the
 * iso-codes package; a store into a sealed pattern faults.
 */
#include "pcre2_pool.h"
#include "util.h"

static const char *const patterns[] = {
    "\"name\": \"([^\"]*(?:land|stan))\"",
    "\"alpha_3\": \"(?<code>[A-Z]{3})\"",
    "republic of (\\w+)",
};
#define NPAT (sizeof patterns / sizeof patterns[0])

/* Compile every pattern with ccx (NULL: libc), JIT them if possible. */
static bool compile_all(pcre2_compile_context *ccx, pcre2_code **code)
{
    for (size_t i = 0; i < NPAT; i++) {
        int err;
        PCRE2_SIZE off;
        code[i] = pcre2_compile((PCRE2_SPTR)patterns[i], PCRE2_ZERO_TERMINATED, PCRE2_CASELESS,
                                &err, &off, ccx);
        if (!code[i])
            return false;
        pcre2_jit_compile(code[i], PCRE2_JIT_COMPLETE);
    }
    return true;
}

/* Every first capture of every pattern over text, one a line, in out. */
static size_t match_all(pcre2_code **code, const char *text, size_t len, char *out, size_t cap)
{
    size_t used = 0, matches = 0;
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    for (size_t i = 0; i < NPAT; i++) {
        PCRE2_SIZE at = 0;
        while (pcre2_match(code[i], (PCRE2_SPTR)text, len, at, 0, md, NULL) > 1) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            used += (size_t)snprintf(out + used, cap - used, "%zu:%.*s\n", i,
                                     (int)(ov[3] - ov[2]), text + ov[2]);
            if (used >= cap)
                used = cap - 1;
            at = ov[1];
            matches++;
        }
    }
    pcre2_match_data_free(md);
    return matches;
}

static void pcre2_sealed_patterns_match_like_malloced_ones(void)
{
    size_t len;
    char *text = slurp(ISO_JSON "iso_3166-1.json", &len);
    if (!text)
        SKIP("iso-codes is not installed");
    static char want[1 << 16], got[1 << 16];
    pcre2_code *plain[NPAT], *sealed[NPAT];
    CHECK(compile_all(NULL, plain));
    size_t n = match_all(plain, text, len, want, sizeof want);

    seal_pool *pool = seal_pool_create("pcre2", 0);
    pcre2_general_context *gcx = pcre2_pool_context(pool);
    pcre2_compile_context *ccx = pcre2_compile_context_create(gcx);
    CHECK(gcx && ccx && compile_all(ccx, sealed));
    CHECK(seal_pool_seal(pool) == 0);
    uint32_t jit = 0;
    pcre2_config(PCRE2_CONFIG_JIT, &jit);
    for (size_t i = 0; i < NPAT; i++) {
        seal_pool_require(pool, sealed[i]);
        CHECK(seal_is_sealed(sealed[i]));
        size_t jit_size = 0;
        pcre2_pattern_info(sealed[i], PCRE2_INFO_JITSIZE, &jit_size);
        CHECK(!jit || jit_size > 0); /* matching below runs the JIT code */
    }
    CHECK(match_all(sealed, text, len, got, sizeof got) == n);
    CHECK(n > 200);
    CHECK(strcmp(want, got) == 0);
    CHECK(strstr(got, "0:Finland\n") && strstr(got, "1:FRA\n"));
    CHECK(store_faults(sealed[1], "pcre2"));

    for (size_t i = 0; i < NPAT; i++) {
        pcre2_code_free(plain[i]);
        pcre2_code_free(sealed[i]); /* freeing a sealed pattern never writes it */
    }
    pcre2_compile_context_free(ccx);
    pcre2_general_context_free(gcx);
    seal_pool_destroy(pool);
    free(text);
}

int main(void)
{
    RUN(pcre2_sealed_patterns_match_like_malloced_ones);
    return check_exit();
}
