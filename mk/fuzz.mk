# SPDX-License-Identifier: MIT
# Model-based fuzzing (tests/fuzz/): a driver that turns a byte string into
# sealloc calls on several caches and pools and checks every answer against
# a reference model.
#
#   make fuzz-programs            the plain driver, $(B)/fuzz/fuzz-plain
#   make fuzz FUZZ_SECONDS=N      libFuzzer (clang, ASan+UBSan) for N seconds,
#                                 starting from tests/fuzz/corpus; new inputs
#                                 go to $(B)/fuzz/corpus, crashes to
#                                 $(B)/fuzz/crashes/ (copy them into
#                                 tests/fuzz/regress/: suite 25 replays it)
#   make fuzz-corrupt CORRUPT_RUNS=N
#                                 the randomized corruption campaign
#                                 (tests/fuzz/corrupt.c), N runs per seed
#
# tests/suites/25-fuzz.sh (make test) replays the corpus and the regression
# inputs and runs the plain driver on fixed seeds for a fixed number of inputs.

FUZZ_B        := $(B)/fuzz
FUZZ_SRC      := tests/fuzz/driver.c tests/fuzz/model.c tests/fuzz/verify.c
FUZZ_DEPS     := $(FUZZ_SRC) $(wildcard tests/fuzz/*.h)
FUZZ_PLAIN    := $(FUZZ_B)/fuzz-plain
FUZZ_LF       := $(FUZZ_B)/fuzz-libfuzzer
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_LF_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -pthread $(filter-out -Werror,$(WARN)) \
                 -Iinclude -Isrc -Itests/fuzz -DSEALLOC_TESTING=1 -DSEALLOC_ASAN=1 \
                 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
TEST_DEBS     += clang libclang-rt-14-dev

CORRUPT       := $(FUZZ_B)/corrupt
CORRUPT_RUNS  ?= 20000

.PHONY: fuzz fuzz-programs fuzz-corrupt
fuzz-programs: $(FUZZ_PLAIN) $(CORRUPT)

$(CORRUPT): tests/fuzz/corrupt.c tests/fuzz/xorshift.h tests/unit/attacker.h $(TLIB_A)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -Itests/unit -Itests/fuzz tests/fuzz/corrupt.c -o $@ $(TLIB_A) -pthread

fuzz-corrupt: $(CORRUPT)
	for seed in 1 2 3 4; do $(CORRUPT) -s $$seed -n $(CORRUPT_RUNS) || exit 1; done

$(FUZZ_PLAIN): tests/fuzz/plain.c $(FUZZ_DEPS) $(TLIB_A)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -Itests/fuzz tests/fuzz/plain.c $(FUZZ_SRC) -o $@ $(TLIB_A) -pthread

# The library is compiled into the target with the fuzzer's coverage.
$(FUZZ_LF): tests/fuzz/libfuzzer.c $(FUZZ_DEPS) $(LIB_SRC) $(wildcard src/*.h) include/sealloc.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_LF_FLAGS) tests/fuzz/libfuzzer.c $(FUZZ_SRC) $(LIB_SRC) -o $@

fuzz: $(FUZZ_LF)
	mkdir -p $(FUZZ_B)/corpus $(FUZZ_B)/crashes
	ASAN_OPTIONS=handle_segv=0:allow_user_segv_handler=1 $(FUZZ_LF) \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=4096 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_B)/crashes/ $(FUZZ_B)/corpus tests/fuzz/corpus
