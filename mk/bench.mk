# SPDX-License-Identifier: MIT
# Benchmarks (bench/): `make bench` installs the peers from Debian, builds
# one driver per allocator (each allocator in a process of its own) and the
# system-call comparisons, then bench/run.sh runs everything several times
# and prints the Markdown table of medians and ratios, also written to
# bench/results.md with bench/results.png. `make bench-programs` only
# builds. Benchmarks never run as timed tests (see tests/suites/80-bench-smoke.sh).

BENCH_DEBS    := gnuplot-nox libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev libsodium-dev
TEST_DEBS     += $(BENCH_DEBS)
BENCH_B       := $(B)/bench
BENCH_MALLOC  := glibc mimalloc jemalloc tcmalloc
BENCH_CALLOC  := $(BENCH_MALLOC:%=%-calloc)
BENCH_TOOLS   := seal wr reads free
BENCH_CFLAGS   = $(ALL_CFLAGS) -Ibench
BENCH_BIN     := $(BENCH_MALLOC:%=$(BENCH_B)/bench-alloc-%) $(BENCH_CALLOC:%=$(BENCH_B)/bench-alloc-%) \
                 $(BENCH_B)/bench-alloc-sealloc $(BENCH_B)/bench-alloc-sealloc-base \
                 $(BENCH_B)/bench-free-base $(BENCH_B)/bench-seal-base \
                 $(BENCH_B)/bench-alloc-libsodium $(BENCH_B)/bench-alloc-raw \
                 $(BENCH_TOOLS:%=$(BENCH_B)/bench-%)
BENCH_DRIVER  := $(BENCH_B)/obj/driver.o $(BENCH_B)/obj/util.o
PEER_LIBS_mimalloc := -lmimalloc
PEER_LIBS_jemalloc := -ljemalloc
PEER_LIBS_tcmalloc := -ltcmalloc_minimal

.PHONY: bench bench-programs
bench-programs: $(BENCH_BIN)

bench:
	scripts/ensure-deps $(BENCH_DEBS)
	$(MAKE) --no-print-directory bench-programs
	bench/run.sh $(BENCH_B)

$(BENCH_B)/obj/%.o: bench/%.c $(wildcard bench/*.h) include/sealloc.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -MMD -c $< -o $@

# The peer's library goes ahead of libc, so its malloc is the one bound.
$(BENCH_MALLOC:%=$(BENCH_B)/bench-alloc-%): $(BENCH_B)/bench-alloc-%: $(BENCH_DRIVER) $(BENCH_B)/obj/alloc_malloc.o
	$(CC) $(BENCH_CFLAGS) $^ -o $@ -Wl,--no-as-needed $(PEER_LIBS_$*) -Wl,--as-needed -ldl -pthread

# Each peer's calloc: zero-filled objects, sealloc's contract.
$(BENCH_B)/obj/alloc_calloc.o: bench/alloc_malloc.c bench/alloc.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -DBENCH_CALLOC=1 -MMD -c $< -o $@

$(BENCH_CALLOC:%=$(BENCH_B)/bench-alloc-%): $(BENCH_B)/bench-alloc-%-calloc: $(BENCH_DRIVER) $(BENCH_B)/obj/alloc_calloc.o
	$(CC) $(BENCH_CFLAGS) $^ -o $@ -Wl,--no-as-needed $(PEER_LIBS_$*) -Wl,--as-needed -ldl -pthread

$(BENCH_B)/bench-alloc-sealloc: $(BENCH_DRIVER) $(BENCH_B)/obj/alloc_sealloc.o $(LIB_A)
	$(CC) $(BENCH_CFLAGS) $^ -o $@ -pthread

$(BENCH_B)/bench-alloc-libsodium: $(BENCH_DRIVER) $(BENCH_B)/obj/alloc_sodium.o
	$(CC) $(BENCH_CFLAGS) $^ -o $@ -lsodium -pthread

$(BENCH_B)/bench-alloc-raw: $(BENCH_DRIVER) $(BENCH_B)/obj/alloc_raw.o
	$(CC) $(BENCH_CFLAGS) $^ -o $@ -pthread

# bench-seal times the library's own system calls (bench/seal.c).
SEAL_WRAPS := -Wl,--wrap=mprotect -Wl,--wrap=pwrite -Wl,--wrap=syscall
$(BENCH_B)/bench-seal: TOOL_LDFLAGS := $(SEAL_WRAPS)
$(BENCH_TOOLS:%=$(BENCH_B)/bench-%): $(BENCH_B)/bench-%: $(BENCH_B)/obj/%.o $(BENCH_B)/obj/util.o $(LIB_A)
	$(CC) $(BENCH_CFLAGS) $^ -o $@ $(TOOL_LDFLAGS) -pthread

# The library as it was before span records became read-only (the last
# commit before), built from this repository's history, never downloaded:
# bench-alloc-sealloc-base, bench-free-base and bench-seal-base are the
# sealloc driver, bench/free.c and bench/seal.c linked against it, so
# churn, build+seal, the free of a sealed object and the seal are measured
# before and after in one run. run.sh reads the
# revision from base/revision.
BENCH_BASE_REV := a9b5c53
BENCH_BASE     := $(BENCH_B)/base
BENCH_BASE_A   := $(BENCH_BASE)/$(B)/lib/libsealloc.a

$(BENCH_BASE_A):
	rm -rf $(BENCH_BASE) && mkdir -p $(BENCH_BASE)
	git archive -o $(BENCH_BASE).tar $(BENCH_BASE_REV)
	tar -xf $(BENCH_BASE).tar -C $(BENCH_BASE) && rm $(BENCH_BASE).tar
	$(MAKE) --no-print-directory -C $(BENCH_BASE) VARIANT=$(VARIANT) $(B)/lib/libsealloc.a
	echo $(BENCH_BASE_REV) >$(BENCH_BASE)/revision

$(BENCH_B)/obj/alloc_sealloc_base.o: bench/alloc_sealloc.c bench/alloc.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -DBENCH_SEALLOC_NAME='"sealloc@$(BENCH_BASE_REV)"' -MMD -c $< -o $@

$(BENCH_B)/bench-alloc-sealloc-base: $(BENCH_DRIVER) $(BENCH_B)/obj/alloc_sealloc_base.o $(BENCH_BASE_A)
	$(CC) $(BENCH_CFLAGS) $^ -o $@ -pthread

$(BENCH_B)/bench-free-base: $(BENCH_B)/obj/free.o $(BENCH_B)/obj/util.o $(BENCH_BASE_A)
	$(CC) $(BENCH_CFLAGS) $^ -o $@ -pthread

$(BENCH_B)/bench-seal-base: $(BENCH_B)/obj/seal.o $(BENCH_B)/obj/util.o $(BENCH_BASE_A)
	$(CC) $(BENCH_CFLAGS) $^ -o $@ $(SEAL_WRAPS) -pthread

-include $(wildcard $(BENCH_B)/obj/*.d)
