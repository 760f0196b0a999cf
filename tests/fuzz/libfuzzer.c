/* SPDX-License-Identifier: MIT */
/*
 * libfuzzer.c - the libFuzzer entry point (make fuzz): each input is one
 * fuzz_one() run; a model disagreement aborts, which libFuzzer reports as
 * a crash and saves the input.
 */
#include "driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size);
    return 0;
}
